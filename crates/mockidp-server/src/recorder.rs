//! The log of requests the provider received, secrets redacted, for tests
//! and the admin API.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

/// How many requests are kept; older ones are dropped first.
pub const CAPACITY: usize = 1000;

/// Parameters whose values are never recorded.
const SECRET_PARAMS: [&str; 14] = [
    "user_code",
    "client_secret",
    "password",
    "code",
    "code_verifier",
    "refresh_token",
    "token",
    "assertion",
    "subject_token",
    "actor_token",
    "device_code",
    "access_token",
    "id_token_hint",
    "client_assertion",
];

/// The value recorded in place of a secret.
pub const REDACTED: &str = "[redacted]";

/// One request as the provider saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Query parameters, secrets redacted.
    pub query: BTreeMap<String, String>,
    /// Form parameters of the body, secrets redacted.
    pub form: BTreeMap<String, String>,
    /// The client that presented itself (HTTP Basic user or `client_id`), if any.
    pub client_id: Option<String>,
    /// The response status.
    pub status: u16,
    /// When, in seconds since the epoch by the provider's clock.
    pub at: i64,
}

/// Form parameters a handler parsed, stored in the request's extensions
/// for the recorder.
#[derive(Debug, Clone, Default)]
pub struct ParsedForm(pub Vec<(String, String)>);

/// The client id a request presented.
#[derive(Debug, Clone)]
pub struct PresentedClient(pub String);

/// Redacts the values of secret parameters.
pub fn redact<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(name, value)| {
            let value = if SECRET_PARAMS.contains(&name) { REDACTED } else { value };
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// A bounded log of requests.
#[derive(Debug, Default)]
pub struct Recorder {
    requests: VecDeque<RecordedRequest>,
}

impl Recorder {
    /// Appends a request, dropping the oldest beyond [`CAPACITY`].
    pub fn push(&mut self, request: RecordedRequest) {
        if self.requests.len() == CAPACITY {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
    }

    /// Every request kept, oldest first.
    pub fn all(&self) -> Vec<RecordedRequest> {
        self.requests.iter().cloned().collect()
    }

    /// Forgets every request.
    pub fn clear(&mut self) {
        self.requests.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        let form = redact([("grant_type", "authorization_code"), ("code", "abc"), ("client_secret", "s")]);
        assert_eq!(form["grant_type"], "authorization_code");
        assert_eq!(form["code"], REDACTED);
        assert_eq!(form["client_secret"], REDACTED);
    }

    #[test]
    fn the_log_is_bounded() {
        let mut recorder = Recorder::default();
        for at in 0..(CAPACITY as i64 + 5) {
            recorder.push(RecordedRequest {
                method: "GET".into(),
                path: "/".into(),
                query: BTreeMap::new(),
                form: BTreeMap::new(),
                client_id: None,
                status: 200,
                at,
            });
        }
        let all = recorder.all();
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0].at, 5);
    }
}
