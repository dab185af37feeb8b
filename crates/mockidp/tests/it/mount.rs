//! The provider mounted on a wiremock `MockServer` the test already uses.

use jsonwebtoken::Algorithm as Jwa;
use mockidp::MockIdp;
use openidconnect::{IssuerUrl, core::CoreProviderMetadata};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::path};

use crate::support::{client_credentials, http, verify_with_jwks};

#[tokio::test]
async fn the_provider_lives_beside_the_tests_other_mocks() {
    let server = MockServer::start().await;
    Mock::given(path("/payments/health")).respond_with(ResponseTemplate::new(204)).mount(&server).await;

    let idp = MockIdp::builder().mount(&server).await;

    assert_eq!(idp.issuer(), format!("{}/default", server.uri()));
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(idp.issuer()).unwrap(), &http())
        .await
        .expect("discovery through the mock server");
    assert_eq!(metadata.token_endpoint().unwrap().as_str(), format!("{}/default/token", server.uri()));

    let token = client_credentials(&idp.issuer(), "demo-client", "demo-secret", None).await;
    let claims = verify_with_jwks(token["access_token"].as_str().unwrap(), &idp.issuer(), Jwa::RS256, "demo-api").await;
    assert_eq!(claims["iss"], idp.issuer(), "`iss` names the mock server");

    // The test's own mock still answers, and an unknown client still gets the provider's error.
    assert_eq!(http().get(format!("{}/payments/health", server.uri())).send().await.unwrap().status(), 204);
    let refused = http()
        .post(idp.token_endpoint())
        .basic_auth("nobody", Some("x"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().contains_key("www-authenticate"));

    // Pitfall material is reachable through the mock server too.
    let jku = idp.pitfall("jku-injection").unwrap();
    assert!(jku.hosted_url().unwrap().starts_with(&server.uri()));
    assert_eq!(http().get(jku.hosted_url().unwrap()).send().await.unwrap().status(), 200);
    assert_eq!(jku.fetches(), 1);
}
