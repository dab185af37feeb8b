//! A real relying party (the `openidconnect` crate) through the whole
//! authorization code flow, on two issuers with different keys.

use std::collections::BTreeMap;

use mockidp::{Algorithm, ClientConfig, GrantType, IssuerConfig, KeyConfig, LoginMode, MockIdp, UserConfig};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IntrospectionUrl, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenIntrospectionResponse,
    core::{CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata},
};
use serde_json::json;

use crate::{browser, support::http};

pub const REDIRECT: &str = "http://127.0.0.1:9/callback";

/// An issuer with users alice and bob, headless login, and a confidential
/// client `web` allowed the code and refresh grants.
pub fn oidc_issuer(alg: Algorithm) -> IssuerConfig {
    let web = ClientConfig {
        secret: Some("web-secret".into()),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec!["http://127.0.0.1:9/bye".into()],
        audience: vec!["api://orders".into()],
        rotate_refresh_tokens: true,
        ..ClientConfig::default()
    };
    let alice = UserConfig { claims: serde_json::from_value(json!({"roles": ["admin"]})).unwrap(), password: None };
    IssuerConfig {
        keys: vec![KeyConfig::generated(alg)],
        login: LoginMode::Auto,
        users: BTreeMap::from([("alice".into(), alice), ("bob".into(), UserConfig::default())]),
        clients: BTreeMap::from([("web".into(), web)]),
        ..IssuerConfig::default()
    }
}

async fn whole_flow(idp: &MockIdp, issuer_name: &str, alg: CoreJwsSigningAlgorithm) {
    let issuer_url = idp.issuer_url(issuer_name);
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer_url.clone()).unwrap(), &http())
        .await
        .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".into()),
        Some(ClientSecret::new("web-secret".into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
    .set_introspection_url(IntrospectionUrl::new(format!("{issuer_url}/introspect")).unwrap());

    // Authorization request with PKCE and a nonce; headless login as bob.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_extra_param("login_hint", "bob")
        .set_pkce_challenge(challenge)
        .url();
    let answer = browser::get(url.as_str()).await;
    assert_eq!(answer.status, 302, "{}", answer.body);
    let params = answer.redirect_params();
    assert_eq!(params["state"], *csrf.secret());
    assert_eq!(params["iss"], issuer_url, "RFC 9207 iss parameter");

    // Token request; the ID token is verified by the RP: signature, iss, aud, nonce.
    let response = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http())
        .await
        .expect("code exchange");
    let verifier = client.id_token_verifier().set_allowed_algs(vec![alg]);
    let id_token = response.extra_fields().id_token().expect("an ID token");
    let claims = id_token.claims(&verifier, &nonce).expect("the RP accepts the ID token");
    assert_eq!(claims.subject().as_str(), "bob");
    assert_eq!(claims.email().map(|e| e.as_str()), Some("bob@example.com"));
    let at_hash = AccessTokenHash::from_token(
        response.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&at_hash), "at_hash binds the access token");

    // UserInfo with the access token.
    let userinfo: openidconnect::core::CoreUserInfoClaims = client
        .user_info(response.access_token().clone(), Some(claims.subject().clone()))
        .unwrap()
        .request_async(&http())
        .await
        .expect("userinfo");
    assert_eq!(userinfo.email().map(|e| e.as_str()), Some("bob@example.com"));
    assert_eq!(userinfo.preferred_username().map(|u| u.as_str()), Some("bob"));

    // Refresh, with rotation: the new refresh token works, the old one is refused.
    let refresh_token = response.refresh_token().expect("a refresh token").clone();
    let refreshed =
        client.exchange_refresh_token(&refresh_token).unwrap().request_async(&http()).await.expect("refresh");
    let rotated = refreshed.refresh_token().expect("a rotated refresh token").clone();
    assert_ne!(rotated.secret(), refresh_token.secret());
    let refreshed_id = refreshed.extra_fields().id_token().expect("an ID token on refresh");
    let refreshed_claims = refreshed_id.claims(&verifier, |_: Option<&Nonce>| Ok(())).expect("refreshed ID token");
    assert_eq!(refreshed_claims.subject(), claims.subject());

    // Revocation of the refresh token ends the grant: introspection reports
    // its access token inactive.
    let access_token = refreshed.access_token().clone();
    let before = client.introspect(&access_token).request_async(&http()).await.expect("introspection");
    assert!(before.active(), "the access token is active before revocation");
    // openidconnect refuses a revocation URL without TLS (RFC 7009 §2), so
    // this one request is sent by hand, as the RP would send it.
    let revoked = http()
        .post(format!("{issuer_url}/revoke"))
        .basic_auth("web", Some("web-secret"))
        .form(&[("token", rotated.secret().as_str()), ("token_type_hint", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let after = client.introspect(&access_token).request_async(&http()).await.expect("introspection");
    assert!(!after.active(), "introspection must report the revoked grant's access token inactive");
    let refused = client.exchange_refresh_token(&rotated).unwrap().request_async(&http()).await;
    assert!(refused.is_err(), "a revoked refresh token must not refresh");
}

#[tokio::test]
async fn openidconnect_runs_the_code_flow_on_two_issuers_with_different_keys() {
    let idp = MockIdp::builder()
        .with_issuer("default", oidc_issuer(Algorithm::RS256))
        .with_issuer("partners", oidc_issuer(Algorithm::ES256))
        .start()
        .await;

    whole_flow(&idp, "default", CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256).await;
    whole_flow(&idp, "partners", CoreJwsSigningAlgorithm::EcdsaP256Sha256).await;
}

#[tokio::test]
async fn the_hybrid_flow_returns_an_id_token_bound_to_the_code_by_c_hash() {
    use openidconnect::{AuthorizationCodeHash, core::CoreResponseType};

    let idp = MockIdp::builder().with_issuer("default", oidc_issuer(Algorithm::ES256)).start().await;
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(idp.issuer()).unwrap(), &http()).await.unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".into()),
        Some(ClientSecret::new("web-secret".into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::Hybrid(vec![CoreResponseType::Code, CoreResponseType::IdToken]),
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .url();

    let answer = browser::get(url.as_str()).await;

    let location = answer.location.expect("a redirect");
    let fragment = location.split_once('#').expect("hybrid responses travel in the fragment").1;
    let params = browser::form_urlencoded_pairs(fragment);
    let id_token: openidconnect::core::CoreIdToken = params["id_token"].parse().unwrap();
    let verifier = client.id_token_verifier().set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let claims = id_token.claims(&verifier, &nonce).expect("the RP accepts the front-channel ID token");
    let code = AuthorizationCode::new(params["code"].clone());
    let expected = AuthorizationCodeHash::from_code(
        &code,
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.code_hash(), Some(&expected));

    let missing_nonce = browser::get(&url.as_str().replace(&format!("nonce={}", nonce.secret()), "x=1")).await;
    let fragment = missing_nonce.location.unwrap().split_once('#').unwrap().1.to_owned();
    assert_eq!(browser::form_urlencoded_pairs(&fragment)["error"], "invalid_request");
}
