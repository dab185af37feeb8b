//! Issuing tokens: access tokens (JWT or opaque), ID tokens, refresh tokens.

use mockidp_core::{Audience, Claims, TokenBuilder, b64url, rp::RpCase};
use serde_json::{Map, Value, json};

use crate::{
    Issuer, Provider,
    config::{AccessTokenFormat, ClaimMapping, ClientConfig},
    http::{ErrorCode, OAuthError},
    store::{Authorization, GrantId, OpaqueRecord, RefreshRecord},
};

/// Claims that identify and bound a token: user claims and claim mappings
/// never replace them (a client's configured claims may, on purpose).
const PROTECTED: [&str; 12] =
    ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "azp", "nonce", "auth_time", "at_hash", "c_hash"];

/// A random, URL-safe token of `n_bytes` bytes of entropy.
pub fn random_token(n_bytes: usize) -> String {
    let mut bytes = vec![0u8; n_bytes];
    // The OS RNG failing is a broken machine; a predictable token would be
    // worse than a crash of this one request.
    getrandom::fill(&mut bytes).expect("the system RNG works");
    b64url(bytes)
}

/// What to issue and to whom.
#[derive(Debug)]
pub struct Issue<'a> {
    /// The issuer.
    pub issuer: &'a Issuer,
    /// Its identifier, the `iss`.
    pub issuer_url: String,
    /// The client.
    pub client_id: &'a str,
    /// Its configuration.
    pub client: &'a ClientConfig,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// `aud` from `resource` / `audience`, overriding the client's.
    pub audience: Option<Vec<String>>,
    /// The user's authorization; `None` for a client acting for itself.
    pub authorization: Option<Authorization>,
    /// The grant family to record tokens under (a refresh keeps its family).
    pub grant_id: Option<GrantId>,
    /// Whether to issue a refresh token.
    pub with_refresh_token: bool,
    /// Claims added to the access token (`act` for token exchange, assertion claims…).
    pub extra_claims: Map<String, Value>,
    /// The request's parameters, for claim mappings.
    pub params: Vec<(String, String)>,
    /// `issued_token_type` for token exchange (RFC 8693 §2.2.1).
    pub issued_token_type: Option<&'static str>,
    /// Whether this is a refresh (for `rp-refresh-changed-claims`).
    pub is_refresh: bool,
}

impl Provider {
    /// Issues tokens and returns the RFC 6749 §5.1 response body.
    pub fn issue(&self, issue: Issue<'_>) -> Result<Value, OAuthError> {
        let issuer = issue.issuer;
        let now = self.now_for(&issuer.name);
        let config = &issuer.config;
        let key = issuer.signer_for(issue.client);
        let grant_id = match issue.grant_id {
            Some(grant_id) => Some(grant_id),
            None if issue.authorization.is_some() || issue.with_refresh_token => {
                Some(self.store().new_grant(issue.authorization.clone()))
            }
            None => None,
        };
        let subject = issue.authorization.as_ref().map_or(issue.client_id, |a| a.identity.sub.as_str());
        let scope = issue.scopes.join(" ");
        // Mappings see the token request's parameters and, for grants whose
        // scope was fixed earlier (a code, a refresh token), the granted scope.
        let mut params = issue.params.clone();
        if !params.iter().any(|(name, _)| name == "scope") {
            params.push(("scope".to_owned(), scope.clone()));
        }
        // A client authenticated with HTTP Basic has no `client_id` in the form.
        if !params.iter().any(|(name, _)| name == "client_id") {
            params.push(("client_id".to_owned(), issue.client_id.to_owned()));
        }
        let mapped = mapped_claims(&config.claim_mappings, &params, issue.client_id, subject, &scope);

        // The access token.
        let audience = issue.audience.clone().unwrap_or_else(|| {
            if issue.client.audience.is_empty() {
                vec![config.default_audience.clone()]
            } else {
                issue.client.audience.clone()
            }
        });
        let access_lifetime = secs(config.access_token_lifetime_secs);
        let mut access = TokenBuilder::new(key)
            .with_typ("at+jwt")
            .with_clock(self.clock_for(&issuer.name))
            .with_lifetime_secs(access_lifetime)
            .with_issuer(issue.issuer_url.clone())
            .with_subject(subject)
            .with_audience(Audience::from_list(audience));
        {
            let claims = access.claims_mut();
            let mut add = |name: &str, value: Value| {
                if let Err(err) = claims.set(name, value) {
                    log::warn!("claim `{name}` skipped: {err}");
                }
            };
            for (name, value) in &issue.client.claims {
                add(name, value.clone());
            }
            if let Some(authorization) = &issue.authorization {
                for (name, value) in authorization.identity.custom_claims() {
                    if !PROTECTED.contains(&name.as_str()) {
                        add(&name, value);
                    }
                }
                add("auth_time", json!(authorization.auth_time));
                if let Some(acr) = &authorization.acr {
                    add("acr", json!(acr));
                }
            }
            for (name, value) in
                mapped.iter().filter(|(name, _)| !PROTECTED.contains(&name.as_str())).chain(&issue.extra_claims)
            {
                add(name, value.clone());
            }
            add("client_id", json!(issue.client_id));
            if !scope.is_empty() {
                add("scope", json!(scope));
            }
        }
        let access_claims = access.finished_claims().map_err(signing_failed)?;
        let access_token = match issue.client.access_token_format {
            AccessTokenFormat::Jwt => access.with_claims(access_claims.clone()).sign().map_err(signing_failed)?,
            AccessTokenFormat::Opaque => random_token(32),
        };
        {
            let mut store = self.store();
            match issue.client.access_token_format {
                AccessTokenFormat::Jwt => {
                    if let Some(jti) = &access_claims.jti {
                        store.record_access(grant_id, jti, access_claims.exp.unwrap_or(now));
                    }
                }
                AccessTokenFormat::Opaque => {
                    if let Some(jti) = &access_claims.jti {
                        store.record_access(grant_id, jti, access_claims.exp.unwrap_or(now));
                    }
                    store.insert_opaque(
                        access_token.clone(),
                        OpaqueRecord { issuer: issuer.name.clone(), claims: access_claims.clone() },
                        grant_id,
                        now,
                    );
                }
            }
        }

        let mut response = Map::new();
        response.insert("access_token".into(), json!(access_token));
        response.insert("token_type".into(), json!("Bearer"));
        response.insert("expires_in".into(), json!(access_lifetime));
        if !scope.is_empty() {
            response.insert("scope".into(), json!(scope));
        }
        if let Some(issued_token_type) = issue.issued_token_type {
            response.insert("issued_token_type".into(), json!(issued_token_type));
        }

        // The ID token, for a user's authorization that includes `openid`.
        if let Some(authorization) = &issue.authorization
            && issue.scopes.iter().any(|s| s == "openid")
        {
            // Relying-party cases: each switched-on case breaks one thing.
            let rp = |case: RpCase| self.misbehaves(issuer, Some(issue.client_id), case, false);
            let mut sub = authorization.identity.sub.clone();
            if issue.is_refresh && rp(RpCase::RefreshChangedClaims) {
                sub.push_str("-changed");
            }
            let mut id = TokenBuilder::new(key)
                .with_clock(self.clock_for(&issuer.name))
                .with_lifetime_secs(secs(config.id_token_lifetime_secs))
                .with_issuer(issue.issuer_url.clone())
                .with_subject(sub)
                .with_audience(Audience::one(issue.client_id))
                .without_claim("jti");
            let claims = id.claims_mut();
            let released = authorization.identity.released(&issue.scopes).into_iter().chain(mapped);
            for (name, value) in released.filter(|(name, _)| !PROTECTED.contains(&name.as_str())) {
                if let Err(err) = claims.set(&name, value) {
                    log::warn!("ID token claim `{name}` skipped: {err}");
                }
            }
            claims.extra.insert("auth_time".into(), json!(authorization.auth_time));
            claims.extra.insert("azp".into(), json!(issue.client_id));
            let hashed = if rp(RpCase::IdTokenBadAtHash) { "not-the-access-token" } else { access_token.as_str() };
            claims.extra.insert("at_hash".into(), json!(key.alg().half_hash(hashed)));
            claims.extra.insert("amr".into(), json!(["pwd"]));
            if let Some(nonce) = &authorization.nonce {
                let nonce = if rp(RpCase::IdTokenWrongNonce) { format!("{nonce}-other") } else { nonce.clone() };
                claims.extra.insert("nonce".into(), json!(nonce));
            }
            if let Some(acr) = &authorization.acr {
                claims.extra.insert("acr".into(), json!(acr));
            }
            if rp(RpCase::IdTokenWrongIss) {
                id = id.with_issuer(format!("{}-other", issue.issuer_url));
            }
            if rp(RpCase::IdTokenWrongAud) {
                id = id.with_audience(Audience::one(format!("{}-other", issue.client_id)));
            }
            for (case, claim) in [
                (RpCase::IdTokenMissingAud, "aud"),
                (RpCase::IdTokenMissingSub, "sub"),
                (RpCase::IdTokenMissingIat, "iat"),
            ] {
                if rp(case) {
                    id = id.without_claim(claim);
                }
            }
            // "Single" holds only while one key is published; "multiple"
            // publishes a decoy beside the signer for as long as the token lives.
            if rp(RpCase::KidAbsentSingleJwks) && issuer.active_keys(now).jwks().keys.len() == 1 {
                id = id.with_kid(None);
            }
            if rp(RpCase::KidAbsentMultipleJwks) {
                id = id.with_kid(None);
                let lifetime = secs(config.id_token_lifetime_secs);
                self.publish_decoy(&issuer.name, now.saturating_add(lifetime));
            }
            let mut id_token = id.sign().map_err(signing_failed)?;
            if rp(RpCase::IdTokenBadSignature) {
                id_token = corrupt_signature(&id_token);
            }
            response.insert("id_token".into(), json!(id_token));
        }

        // The refresh token.
        if issue.with_refresh_token
            && let (Some(authorization), Some(grant_id)) = (issue.authorization, grant_id)
        {
            let refresh_token = random_token(32);
            self.store().insert_refresh(
                refresh_token.clone(),
                RefreshRecord {
                    authorization,
                    grant_id,
                    expires_at: now.saturating_add(secs(config.refresh_token_lifetime_secs)),
                    active: true,
                },
                now,
            );
            response.insert("refresh_token".into(), json!(refresh_token));
        }
        Ok(Value::Object(response))
    }

    /// The ID token the hybrid flow returns from the authorization endpoint:
    /// `c_hash` binds it to the code (OpenID Connect Core §3.3.2.11).
    pub fn front_channel_id_token(
        &self,
        issuer: &Issuer,
        issuer_url: &str,
        client_id: &str,
        client: &ClientConfig,
        authorization: &Authorization,
        code: &str,
    ) -> Result<String, OAuthError> {
        let key = issuer.signer_for(client);
        let mut id = TokenBuilder::new(key)
            .with_clock(self.clock_for(&issuer.name))
            .with_lifetime_secs(secs(issuer.config.id_token_lifetime_secs))
            .with_issuer(issuer_url)
            .with_subject(authorization.identity.sub.clone())
            .with_audience(Audience::one(client_id))
            .without_claim("jti");
        let claims = id.claims_mut();
        claims.extra.insert("auth_time".into(), json!(authorization.auth_time));
        claims.extra.insert("azp".into(), json!(client_id));
        let hashed = if self.misbehaves(issuer, Some(client_id), RpCase::IdTokenBadCHash, false) {
            "not-the-code"
        } else {
            code
        };
        claims.extra.insert("c_hash".into(), json!(key.alg().half_hash(hashed)));
        if let Some(nonce) = &authorization.nonce {
            claims.extra.insert("nonce".into(), json!(nonce));
        }
        if let Some(acr) = &authorization.acr {
            claims.extra.insert("acr".into(), json!(acr));
        }
        id.sign().map_err(signing_failed)
    }

    /// The claims of an access token this issuer issued that is still good:
    /// its signature (or opaque record), `typ: at+jwt`, `iss`, `exp`, `nbf`,
    /// not revoked.
    pub fn active_claims(&self, issuer: &Issuer, token: &str) -> Option<Claims> {
        self.active_token(issuer, token, TokenKind::Access)
    }

    /// Like [`Provider::active_claims`] for `kind` of token.
    pub fn active_token(&self, issuer: &Issuer, token: &str, kind: TokenKind) -> Option<Claims> {
        let now = self.now_for(&issuer.name);
        if let Some(record) = self.store().opaque(token) {
            return (kind != TokenKind::Id
                && record.issuer == issuer.name
                && record.claims.exp.is_none_or(|exp| exp > now))
            .then(|| record.claims.clone());
        }
        let (header, claims) = issuer.active_keys(now).verify_compact(token).ok()?;
        let is_access = header.typ.as_deref().is_some_and(|typ| typ.eq_ignore_ascii_case("at+jwt"));
        let wanted = match kind {
            TokenKind::Access => is_access,
            TokenKind::Id => !is_access,
            TokenKind::Any => true,
        };
        if !wanted || claims.exp.is_none_or(|exp| exp <= now) || claims.nbf.is_some_and(|nbf| nbf > now) {
            return None;
        }
        // The issuer's own tokens name it; which host they were fetched
        // through does not matter.
        let iss_ok = claims.iss.as_deref().is_some_and(|iss| {
            issuer.config.issuer_url.as_deref().map(|url| url.trim_end_matches('/')) == Some(iss)
                || iss.ends_with(&format!("/{}", issuer.name))
        });
        if !iss_ok {
            return None;
        }
        if let Some(jti) = &claims.jti
            && self.store().is_revoked(jti)
        {
            return None;
        }
        Some(claims)
    }
}

/// Which tokens a check accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Access tokens: `typ: at+jwt`, or opaque.
    Access,
    /// ID tokens.
    Id,
    /// Either.
    Any,
}

/// The same token with one bit of its signature flipped.
fn corrupt_signature(token: &str) -> String {
    let Some((signing_input, signature)) = token.rsplit_once('.') else { return token.to_owned() };
    let mut bytes = mockidp_core::b64url_decode(signature).unwrap_or_default();
    if let Some(first) = bytes.first_mut() {
        *first ^= 0x01;
    }
    format!("{signing_input}.{}", b64url(bytes))
}

fn signing_failed(err: mockidp_core::Error) -> OAuthError {
    log::error!("signing a token failed: {err}");
    OAuthError::new(ErrorCode::ServerError, "the token could not be signed; see the mockidp log")
}

fn secs(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The claims of every mapping the request matches, templates filled in.
fn mapped_claims(
    mappings: &[ClaimMapping],
    params: &[(String, String)],
    client_id: &str,
    sub: &str,
    scope: &str,
) -> Map<String, Value> {
    let mut out = Map::new();
    for mapping in mappings {
        let values: Vec<&str> = params
            .iter()
            .filter(|(name, _)| *name == mapping.param)
            .flat_map(|(_, value)| {
                if mapping.param == "scope" { value.split(' ').collect::<Vec<_>>() } else { vec![value.as_str()] }
            })
            .collect();
        let Some(matched) = values.iter().find(|value| mapping.equals == "*" || **value == mapping.equals) else {
            continue;
        };
        for (name, value) in &mapping.claims {
            out.insert(name.clone(), fill_template(value, client_id, sub, scope, matched));
        }
    }
    out
}

fn fill_template(value: &Value, client_id: &str, sub: &str, scope: &str, param: &str) -> Value {
    match value {
        Value::String(text) => Value::String(
            text.replace("${client_id}", client_id)
                .replace("${sub}", sub)
                .replace("${scope}", scope)
                .replace("${param}", param),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| fill_template(v, client_id, sub, scope, param)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter().map(|(k, v)| (k.clone(), fill_template(v, client_id, sub, scope, param))).collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_match_scope_tokens_and_fill_templates() {
        let mapping = ClaimMapping {
            param: "scope".into(),
            equals: "admin".into(),
            claims: serde_json::from_value(json!({"role": "admin-of-${client_id}", "tags": ["${param}"]})).unwrap(),
        };
        let params = vec![("scope".to_owned(), "openid admin".to_owned())];
        let claims = mapped_claims(std::slice::from_ref(&mapping), &params, "web", "alice", "openid admin");
        assert_eq!(claims["role"], json!("admin-of-web"));
        assert_eq!(claims["tags"], json!(["admin"]));
        let none = mapped_claims(&[mapping], &[("scope".into(), "openid administrator".into())], "web", "a", "");
        assert!(none.is_empty());
    }
}
