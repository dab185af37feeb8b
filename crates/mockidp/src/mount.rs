//! Mounting the provider on a wiremock `MockServer`: the test's own mock
//! server then answers discovery, JWKS, token, authorize, userinfo… of the
//! provider, beside whatever else the test mocks there. Requests are
//! forwarded to a provider running as usual, whose URLs all name the mock
//! server.

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::path_regex};

use crate::{MockIdp, MockIdpBuilder, StartError};

/// Headers that describe the connection, not the message: not forwarded.
const HOP_BY_HOP: [&str; 5] = ["host", "content-length", "connection", "transfer-encoding", "keep-alive"];

/// Forwards a request to the provider and returns its answer as is (no
/// redirects followed: a 302 from the authorization endpoint stays a 302).
struct Forward {
    provider: String,
    agent: ureq::Agent,
}

impl Respond for Forward {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = request.url.query().map(|q| format!("?{q}")).unwrap_or_default();
        let url = format!("{}{}{query}", self.provider, request.url.path());
        let mut builder = ureq::http::Request::builder().method(request.method.as_str()).uri(&url);
        for (name, value) in &request.headers {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                builder = builder.header(name.as_str(), value.as_bytes());
            }
        }
        let forwarded = builder
            .body(request.body.clone())
            .map_err(|err| err.to_string())
            .and_then(|request| self.agent.run(request).map_err(|err| format!("mockidp did not answer: {err}")));
        let mut response = match forwarded {
            Ok(response) => response,
            Err(err) => return ResponseTemplate::new(502).set_body_string(err),
        };
        let mut template = ResponseTemplate::new(response.status().as_u16());
        for (name, value) in response.headers() {
            if !HOP_BY_HOP.contains(&name.as_str()) {
                template = template.insert_header(name.as_str(), value.as_bytes());
            }
        }
        template.set_body_bytes(response.body_mut().read_to_vec().unwrap_or_default())
    }
}

impl MockIdpBuilder {
    /// Starts the provider and mounts every issuer's endpoints on `server`:
    /// `{server.uri()}/{issuer}/…`, the `/.well-known/…/{issuer}` documents
    /// and `/_mockidp/…`. Issuer URLs, endpoints and `iss` all name `server`.
    ///
    /// ```no_run
    /// # async fn example() {
    /// let server = wiremock::MockServer::start().await;
    /// let idp = mockidp::MockIdp::builder().mount(&server).await;
    /// assert!(idp.issuer().starts_with(&server.uri()));
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// If it cannot start; [`MockIdpBuilder::try_mount`] returns why instead.
    pub async fn mount(self, server: &MockServer) -> MockIdp {
        match self.try_mount(server).await {
            Ok(idp) => idp,
            Err(err) => panic!("{err}"),
        }
    }

    /// Like [`MockIdpBuilder::mount`], returning why it could not start.
    pub async fn try_mount(self, server: &MockServer) -> Result<MockIdp, StartError> {
        let names: Vec<String> = self.config.issuers.keys().cloned().collect();
        let idp = self.try_start_behind(Some(server.uri())).await?;
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
        for name in names {
            let escaped = regex_escape(&name);
            let pattern = format!("^(/{escaped}(/.*)?|/\\.well-known/[^/]+/{escaped})$");
            Mock::given(path_regex(pattern))
                .respond_with(Forward { provider: idp.server.uri().to_owned(), agent: agent.clone() })
                .named(format!("mockidp issuer `{name}`"))
                .mount(server)
                .await;
        }
        // The admin API and the pitfall material (`jku`/`x5u` URLs name the server too).
        Mock::given(path_regex("^/_mockidp/.*$"))
            .respond_with(Forward { provider: idp.server.uri().to_owned(), agent })
            .named("mockidp admin API and pitfall material")
            .mount(server)
            .await;
        Ok(idp)
    }
}

fn regex_escape(text: &str) -> String {
    text.chars().flat_map(|c| if c.is_ascii_alphanumeric() || c == '_' { vec![c] } else { vec!['\\', c] }).collect()
}
