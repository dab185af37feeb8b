//! End-to-end tests of the provider through the test helper: real socket,
//! real keys, real JWTs, checked by independent verifiers.

mod admin;
mod backchannel;
mod browser;
#[cfg(feature = "testcontainers")]
mod container;
mod discovery;
mod expectations;
mod faults;
mod flows;
mod grants;
mod helper;
mod login;
#[cfg(feature = "wiremock")]
mod mount;
mod negative;
mod pitfalls;
mod rp;
mod scan;
mod support;
mod token_endpoint;
mod verify;
