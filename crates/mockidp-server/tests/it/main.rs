//! Tests of the server crate: configuration loading and the `mockidp` binary.

mod cli;
mod config;
