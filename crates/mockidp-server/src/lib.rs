//! The mockidp provider: configuration, run-time state and the actix-web
//! HTTP surface. The `mockidp` binary is a thin CLI over this crate.
//!
//! It is a test tool: it hands out tokens to anyone who asks. It binds
//! `127.0.0.1` unless told otherwise.

pub mod backchannel;
pub mod config;
pub mod embedded;
pub mod faults;
pub mod http;
pub mod mint;
pub mod pitfalls;
mod provider;
pub mod recorder;
pub mod scan;
mod store;
mod tokens;
mod users;

pub use config::{Config, ConfigError, LoadConfig, Overrides};
pub use http::{ServerOptions, routes, serve};
pub use provider::{Issuer, Provider, Switch};
/// The provider clock type, for the helper.
pub mod provider_clock {
    pub use crate::provider::ClockControl;
}
pub use recorder::RecordedRequest;
pub use tokens::Issue;
pub use users::Identity;
