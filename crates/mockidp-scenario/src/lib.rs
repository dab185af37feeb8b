//! Scenario files: the provider setup and the cases a downstream API must
//! get right, checked into an API's repository and run by `mockidp scan`.
//!
//! ```yaml
//! target:
//!   url: http://127.0.0.1:3000
//!   audience: orders-api
//! requests:
//!   orders: { path: /orders, scopes: [orders:read] }
//! cases:
//!   - group: all
//! ```
//!
//! [`Scenario::parse`] checks everything before anything runs and reports
//! mistakes as `file:line:column: message`; [`Scenario::plan`] expands groups
//! into the concrete cases; [`report`] renders results as a table, JSON or
//! JUnit XML.

mod model;
pub mod report;

pub use model::*;
