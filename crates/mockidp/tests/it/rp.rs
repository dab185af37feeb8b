//! Section D: the provider misbehaves on purpose, and a real relying party
//! (the `openidconnect` crate, plus the checks a careful RP adds) rejects
//! or accepts exactly as the catalogue says.

use mockidp::{Algorithm, MockIdp, RpCase, Verdict};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, AuthorizationCodeHash, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, RedirectUrl, Scope,
    core::{
        CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims,
    },
};

use crate::{
    browser,
    flows::{REDIRECT, oidc_issuer},
    support::http,
};

async fn discover(idp: &MockIdp) -> Result<CoreProviderMetadata, String> {
    CoreProviderMetadata::discover_async(IssuerUrl::new(idp.issuer()).unwrap(), &http())
        .await
        .map_err(|err| format!("discovery: {err}"))
}

fn client(
    metadata: CoreProviderMetadata,
) -> CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".into()),
        Some(ClientSecret::new("web-secret".into())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap())
}

/// One login as a careful relying party does it; the first refusal is the error.
async fn login(client: &ReturnedClient, hybrid: bool) -> Result<(String, Option<openidconnect::RefreshToken>), String> {
    let flow = if hybrid {
        CoreAuthenticationFlow::Hybrid(vec![CoreResponseType::Code, CoreResponseType::IdToken])
    } else {
        CoreAuthenticationFlow::AuthorizationCode
    };
    let (url, _, nonce) = client
        .authorize_url(flow, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".into()))
        .add_extra_param("login_hint", "alice")
        .url();
    let answer = browser::get(url.as_str()).await;
    let location = answer.location.ok_or_else(|| format!("authorize: {}", answer.status))?;
    let query = location.split_once(if hybrid { '#' } else { '?' }).map(|(_, q)| q).unwrap_or_default();
    let params = browser::form_urlencoded_pairs(query);
    let code = AuthorizationCode::new(params.get("code").cloned().ok_or("no code")?);
    let verifier = client.id_token_verifier();
    if hybrid {
        let id_token: CoreIdToken =
            params.get("id_token").ok_or("no front-channel ID token")?.parse().map_err(|e| format!("{e}"))?;
        let claims = id_token.claims(&verifier, &nonce).map_err(|err| format!("front-channel ID token: {err}"))?;
        let expected = AuthorizationCodeHash::from_code(
            &code,
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&verifier).unwrap(),
        )
        .map_err(|err| format!("{err}"))?;
        if claims.code_hash() != Some(&expected) {
            return Err("c_hash does not match the code".into());
        }
    }
    let response =
        client.exchange_code(code).unwrap().request_async(&http()).await.map_err(|err| format!("token: {err}"))?;
    let id_token = response.extra_fields().id_token().ok_or("no ID token")?;
    let claims = id_token.claims(&verifier, &nonce).map_err(|err| format!("ID token: {err}"))?;
    let expected = AccessTokenHash::from_token(
        response.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&verifier).unwrap(),
    )
    .map_err(|err| format!("{err}"))?;
    if claims.access_token_hash() != Some(&expected) {
        return Err("at_hash does not match the access token".into());
    }
    let _: CoreUserInfoClaims = client
        .user_info(response.access_token().clone(), Some(claims.subject().clone()))
        .map_err(|err| format!("{err}"))?
        .request_async(&http())
        .await
        .map_err(|err| format!("userinfo: {err}"))?;
    Ok((claims.subject().to_string(), response.refresh_token().cloned()))
}

type ReturnedClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

async fn idp() -> MockIdp {
    MockIdp::builder().with_issuer("default", oidc_issuer(Algorithm::RS256)).start().await
}

/// Switches `case` on, runs one login, and checks the RP's outcome against the catalogue.
async fn check(case: RpCase, hybrid: bool) -> Result<(String, Option<openidconnect::RefreshToken>), String> {
    let idp = idp().await;
    idp.misbehave(case);
    let outcome = match discover(&idp).await {
        Ok(metadata) => login(&client(metadata), hybrid).await,
        Err(err) => Err(err),
    };
    match case.verdict() {
        Verdict::Reject => assert!(outcome.is_err(), "{case}: the relying party must refuse"),
        _ => assert!(outcome.is_ok(), "{case}: the relying party must accept: {outcome:?}"),
    }
    outcome
}

macro_rules! rejected {
    ($($name:ident => $case:ident, $hybrid:expr, $needle:literal;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let err = check(RpCase::$case, $hybrid).await.unwrap_err();
            assert!(err.contains($needle), "{}: {err}", RpCase::$case);
        }
    )*};
}

rejected! {
    id_token_bad_signature => IdTokenBadSignature, false, "ID token";
    id_token_wrong_nonce => IdTokenWrongNonce, false, "nonce";
    // openidconnect refuses these while parsing the token response: `iat` and `sub` are required fields.
    id_token_missing_iat => IdTokenMissingIat, false, "token: Failed to parse";
    id_token_wrong_iss => IdTokenWrongIss, false, "issuer";
    id_token_wrong_aud => IdTokenWrongAud, false, "ID token";
    id_token_missing_aud => IdTokenMissingAud, false, "ID token";
    id_token_missing_sub => IdTokenMissingSub, false, "token: Failed to parse";
    id_token_bad_at_hash => IdTokenBadAtHash, false, "at_hash";
    id_token_bad_c_hash => IdTokenBadCHash, true, "c_hash";
    userinfo_wrong_sub => UserinfoWrongSub, false, "userinfo";
    discovery_issuer_mismatch => DiscoveryIssuerMismatch, false, "discovery";
    jwks_unavailable => JwksUnavailable, false, "discovery";
}

#[tokio::test]
async fn kid_absent_with_a_single_key_is_accepted() {
    check(RpCase::KidAbsentSingleJwks, false).await.unwrap();
}

#[tokio::test]
async fn an_unparseable_jwks_key_is_ignored() {
    check(RpCase::JwksUnparseableKey, false).await.unwrap();
}

#[tokio::test]
async fn a_new_jwks_uri_on_every_discovery_is_followed() {
    let idp = idp().await;
    idp.misbehave(RpCase::JwksUriChanges);
    let first = discover(&idp).await.unwrap();
    let second = discover(&idp).await.unwrap();
    assert_ne!(first.jwks_uri(), second.jwks_uri(), "the URI changes");
    login(&client(second), false).await.expect("the discovered URI serves the keys");
}

#[tokio::test]
async fn kid_absent_with_several_keys_names_no_key() {
    let idp = idp().await;
    idp.misbehave(RpCase::KidAbsentMultipleJwks);
    let metadata = discover(&idp).await.unwrap();
    assert_eq!(metadata.jwks().keys().len(), 2, "a decoy key is published beside the signer");
    // Rejecting and trying every key are both correct; openidconnect refuses.
    let outcome = login(&client(metadata), false).await;
    assert!(outcome.is_err(), "{outcome:?}");
}

#[tokio::test]
async fn after_a_signing_key_rotation_a_refetched_jwks_accepts() {
    let idp = idp().await;
    let stale = client(discover(&idp).await.unwrap());
    login(&stale, false).await.expect("the first login");

    idp.misbehave(RpCase::SigningKeyRotation);

    let err = login(&stale, false).await.expect_err("a JWKS fetched before the rotation lacks the new key");
    assert!(err.contains("ID token"), "{err}");
    let fresh = discover(&idp).await.unwrap();
    assert_eq!(fresh.jwks().keys().len(), 2, "the old key stays published beside the new one");
    login(&client(fresh), false).await.expect("a relying party that refetched the JWKS accepts");
}

#[tokio::test]
async fn a_refresh_that_changes_the_subject_is_refused() {
    let idp = idp().await;
    let client = client(discover(&idp).await.unwrap());
    let (subject, refresh_token) = login(&client, false).await.unwrap();

    idp.misbehave(RpCase::RefreshChangedClaims);
    let refreshed =
        client.exchange_refresh_token(&refresh_token.unwrap()).unwrap().request_async(&http()).await.unwrap();
    let id_token = refreshed.extra_fields().id_token().unwrap();
    let claims = id_token.claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(())).unwrap();

    // OpenID Connect Core §12.2: a refreshed ID token's `sub` must not change.
    assert_ne!(claims.subject().as_str(), subject, "a careful RP compares and refuses");
}

#[tokio::test]
async fn a_switch_for_the_next_request_only_runs_out() {
    let idp = idp().await;
    idp.misbehave_with("default", mockidp::Switch { case: RpCase::IdTokenWrongNonce, client_id: None, times: Some(1) });
    let client = client(discover(&idp).await.unwrap());
    assert!(login(&client, false).await.is_err());
    assert!(login(&client, false).await.is_ok(), "the switch was for one request");
}

#[tokio::test]
async fn a_switch_for_another_client_leaves_this_one_alone() {
    let idp = idp().await;
    idp.misbehave_with(
        "default",
        mockidp::Switch { case: RpCase::IdTokenWrongNonce, client_id: Some("other".into()), times: None },
    );
    assert!(login(&client(discover(&idp).await.unwrap()), false).await.is_ok());
}
