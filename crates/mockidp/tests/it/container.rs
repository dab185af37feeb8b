//! The image in a real Docker engine (feature `testcontainers`). Needs the
//! engine running and the image built: `cargo xtask docker`, as `.ci/run` does.

use jsonwebtoken::Algorithm as Jwa;
use mockidp::testcontainers::{MockIdpImage, PORT};
use testcontainers::runners::AsyncRunner;

use crate::support::{client_credentials, verify_with_jwks};

#[tokio::test]
async fn the_image_serves_tokens_its_jwks_verifies() {
    let container = MockIdpImage::default()
        .with_env("MOCKIDP_ISSUERS__DEFAULT__ACCESS_TOKEN_LIFETIME_SECS", "120")
        .start()
        .await
        .expect("this test needs a Docker engine and the image: run `cargo xtask docker` first");
    let port = container.get_host_port_ipv4(PORT).await.unwrap();
    let issuer = format!("http://127.0.0.1:{port}/default");

    let response = client_credentials(&issuer, "demo-client", "demo-secret", None).await;

    assert_eq!(response["expires_in"], 120, "environment variables configure the container");
    let claims = verify_with_jwks(response["access_token"].as_str().unwrap(), &issuer, Jwa::RS256, "demo-api").await;
    assert_eq!(claims["client_id"], "demo-client");
    let health = reqwest::get(format!("http://127.0.0.1:{port}/_mockidp/health")).await.unwrap();
    assert_eq!(health.status(), 200);
}
