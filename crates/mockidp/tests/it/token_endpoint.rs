//! Bad input at the token endpoint: the right status and RFC 6749 §5.2
//! error code, and no harm done.

use std::io::{Read as _, Write as _};

use mockidp::MockIdp;
use reqwest::{RequestBuilder, StatusCode, header};
use serde_json::Value;

use crate::support::{client_credentials, http};

const CLIENT: &str = "demo-client";
const SECRET: &str = "demo-secret";

/// What an error response said besides its status.
struct ErrorReply {
    www_authenticate: Option<String>,
}

/// Sends the request and checks status, `error` and the headers every
/// error response carries.
async fn expect_error(request: RequestBuilder, status: StatusCode, code: &str) -> ErrorReply {
    let response = request.send().await.expect("the server answers");
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let www_authenticate =
        response.headers().get(header::WWW_AUTHENTICATE).map(|value| value.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("an error body is JSON");
    assert_eq!(body["error"], code, "{body}");
    assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    ErrorReply { www_authenticate }
}

fn post(idp: &MockIdp) -> RequestBuilder {
    http().post(idp.token_endpoint())
}

#[tokio::test]
async fn client_secret_post_works_like_basic() {
    let idp = MockIdp::start().await;
    let response = post(&idp)
        .form(&[("grant_type", "client_credentials"), ("client_id", CLIENT), ("client_secret", SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
}

#[tokio::test]
async fn missing_grant_type_is_invalid_request() {
    let idp = MockIdp::start().await;
    expect_error(
        post(&idp).basic_auth(CLIENT, Some(SECRET)).form(&[("scope", "x")]),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn wrong_secret_is_invalid_client_with_a_basic_challenge() {
    let idp = MockIdp::start().await;
    let response = expect_error(
        post(&idp).basic_auth(CLIENT, Some("not-the-secret")).form(&[("grant_type", "client_credentials")]),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    )
    .await;
    let challenge = response.www_authenticate.expect("a 401 carries WWW-Authenticate");
    assert!(challenge.starts_with("Basic realm="), "{challenge}");
}

#[tokio::test]
async fn wrong_secret_in_the_body_is_invalid_client() {
    let idp = MockIdp::start().await;
    expect_error(
        post(&idp).form(&[("grant_type", "client_credentials"), ("client_id", CLIENT), ("client_secret", "nope")]),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    )
    .await;
}

#[tokio::test]
async fn missing_credentials_and_unknown_clients_are_invalid_client() {
    let idp = MockIdp::start().await;
    expect_error(post(&idp).form(&[("grant_type", "client_credentials")]), StatusCode::UNAUTHORIZED, "invalid_client")
        .await;
    expect_error(
        post(&idp).basic_auth("who", Some("ever")).form(&[("grant_type", "client_credentials")]),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    )
    .await;
    expect_error(
        post(&idp).header(header::AUTHORIZATION, "Basic !!!not-base64").form(&[("grant_type", "client_credentials")]),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    )
    .await;
    expect_error(
        post(&idp).bearer_auth("some-token").form(&[("grant_type", "client_credentials")]),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    )
    .await;
}

#[tokio::test]
async fn garbage_bodies_are_invalid_request() {
    let idp = MockIdp::start().await;
    let form = "application/x-www-form-urlencoded";
    for garbage in
        [&b"\x00\xff\xfe{{{"[..], b"grant_type=%FF%FE", br#"{"grant_type":"client_credentials"}"#, b"&&&==&="]
    {
        expect_error(
            post(&idp).basic_auth(CLIENT, Some(SECRET)).header(header::CONTENT_TYPE, form).body(garbage.to_vec()),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
}

#[tokio::test]
async fn repeated_parameters_and_two_auth_methods_are_invalid_request() {
    let idp = MockIdp::start().await;
    expect_error(
        post(&idp)
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[("grant_type", "client_credentials"), ("grant_type", "client_credentials")]),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    expect_error(
        post(&idp)
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[("grant_type", "client_credentials"), ("client_secret", SECRET)]),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn wrong_content_type_is_invalid_request() {
    let idp = MockIdp::start().await;
    expect_error(
        post(&idp).basic_auth(CLIENT, Some(SECRET)).json(&serde_json::json!({"grant_type": "client_credentials"})),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    expect_error(
        post(&idp).basic_auth(CLIENT, Some(SECRET)).body("grant_type=client_credentials"),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn oversized_body_is_413_with_an_oauth_error() {
    let idp = MockIdp::start().await;
    let padding = "x".repeat(70 * 1024);
    expect_error(
        post(&idp)
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[("grant_type", "client_credentials"), ("padding", &padding)]),
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn oversized_chunked_body_without_content_length_is_413() {
    let idp = MockIdp::start().await;
    let address = idp.address();
    // reqwest always knows the length of a buffered body; a raw socket
    // sends chunks with no Content-Length, so the limit is enforced while reading.
    let status_line = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(address).unwrap();
        let head = format!(
            "POST /default/token HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).unwrap();
        let chunk = "x".repeat(8 * 1024);
        for _ in 0..10 {
            // The server may close once it has seen enough; stop writing then.
            if socket.write_all(format!("{:x}\r\n{chunk}\r\n", chunk.len()).as_bytes()).is_err() {
                break;
            }
        }
        let _ = socket.write_all(b"0\r\n\r\n");
        let mut answer = String::new();
        let _ = socket.read_to_string(&mut answer);
        answer.lines().next().unwrap_or_default().to_owned()
    })
    .await
    .unwrap();
    assert_eq!(status_line, "HTTP/1.1 413 Payload Too Large");
}

#[tokio::test]
async fn unknown_grant_type_is_unsupported_grant_type() {
    let idp = MockIdp::start().await;
    expect_error(
        post(&idp).basic_auth(CLIENT, Some(SECRET)).form(&[("grant_type", "urn:example:made-up")]),
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    )
    .await;
}

#[tokio::test]
async fn scope_outside_the_clients_list_is_invalid_scope() {
    let idp = MockIdp::builder()
        .with_issuer("default", crate::support::issuer_with(mockidp::Algorithm::ES256, None))
        .start()
        .await;
    expect_error(
        post(&idp)
            .basic_auth("svc", Some("svc-secret"))
            .form(&[("grant_type", "client_credentials"), ("scope", "orders:read admin")]),
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    )
    .await;
}

#[tokio::test]
async fn a_client_without_the_grant_is_unauthorized_client() {
    let mut issuer = crate::support::issuer_with(mockidp::Algorithm::ES256, None);
    issuer.clients.get_mut("svc").unwrap().grant_types.clear();
    let idp = MockIdp::builder().with_issuer("default", issuer).start().await;
    expect_error(
        post(&idp).basic_auth("svc", Some("svc-secret")).form(&[("grant_type", "client_credentials")]),
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    )
    .await;
}

#[tokio::test]
async fn resource_sets_the_audience_and_must_be_absolute() {
    let idp = MockIdp::start().await;
    let response = post(&idp)
        .basic_auth(CLIENT, Some(SECRET))
        .form(&[("grant_type", "client_credentials"), ("resource", "https://api.example/orders")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let claims = crate::support::segment_json(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], "https://api.example/orders");

    expect_error(
        post(&idp)
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[("grant_type", "client_credentials"), ("resource", "orders")]),
        StatusCode::BAD_REQUEST,
        "invalid_target",
    )
    .await;
}

#[tokio::test]
async fn other_methods_and_unknown_issuers_get_json_errors() {
    let idp = MockIdp::start().await;
    expect_error(http().get(idp.token_endpoint()), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    expect_error(
        http()
            .post(format!("{}/nope/token", idp.uri()))
            .basic_auth(CLIENT, Some(SECRET))
            .form(&[("grant_type", "client_credentials")]),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn bad_input_harms_nothing() {
    let idp = MockIdp::start().await;
    let padding = "x".repeat(100 * 1024);
    for _ in 0..3 {
        let _ = post(&idp)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(vec![0xff; 512])
            .send()
            .await;
        let _ = post(&idp).basic_auth(CLIENT, Some(SECRET)).form(&[("padding", padding.as_str())]).send().await;
        let _ = post(&idp).basic_auth(CLIENT, Some("wrong")).form(&[("grant_type", "client_credentials")]).send().await;
    }
    let token = client_credentials(&idp.issuer(), CLIENT, SECRET, None).await;
    assert!(token["access_token"].is_string());
}
