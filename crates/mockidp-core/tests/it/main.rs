//! Tests of the pitfall catalogue: every case broken in exactly one way,
//! judged by an independent verifier (jsonwebtoken).

mod catalogue;
mod pitfalls;
