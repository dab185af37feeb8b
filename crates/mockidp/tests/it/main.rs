//! End-to-end tests of the provider through the test helper: real socket,
//! real keys, real JWTs, checked by independent verifiers.

mod browser;
mod discovery;
mod flows;
mod helper;
mod login;
mod support;
mod token_endpoint;
mod verify;
