use std::fmt;

/// An error from the core: a key that cannot sign, a bad algorithm name, a
/// claims value that does not serialise.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// What went wrong, for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An algorithm name that is not one of the JWA names mockidp signs with.
    UnknownAlgorithm,
    /// The key material cannot produce the requested algorithm (an EC key asked for RS256).
    KeyAlgorithmMismatch,
    /// Key material that could not be parsed or generated.
    InvalidKey,
    /// The header or claims could not be serialised to JSON.
    Serialization,
    /// The signing operation itself failed.
    Signing,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl fmt::Display) -> Self {
        Self { kind, message: message.to_string() }
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
}
