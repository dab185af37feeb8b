//! The token endpoint (RFC 6749 §3.2) and every grant it serves.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::{
    ErrorCode, OAuthError,
    authorize::resource_audience,
    form::{ClientAuth, Form, authenticate_client, read_form},
    issuer_of, request_base,
};
use crate::{
    Issuer, Provider,
    config::{ClientConfig, GrantType},
    store::{Authorization, DeviceStatus, PkceMethod, Redeemed},
    tokens::{Issue, TokenKind},
    users::Identity,
};

/// RFC 8693 §3 token type identifiers.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
const JWT_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:jwt";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// The authenticated client of a token request.
struct Caller<'a> {
    client_id: String,
    client: &'a ClientConfig,
    auth: ClientAuth,
}

/// `POST /{issuer}/token`.
pub async fn token(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    let issuer = issuer_of(&provider, &name)?;
    let form = read_form(&req, payload, provider.max_body_bytes()).await?;
    let grant_type = form.get("grant_type").ok_or_else(|| OAuthError::invalid_request("missing `grant_type`"))?;
    let (auth, client_id, client) = authenticate_client(&req, &form, &issuer)?;
    let caller = Caller { client_id, client, auth };

    let Some(grant) = GrantType::parse(grant_type) else {
        let served: Vec<&str> = GrantType::ALL.iter().map(|grant| grant.as_str()).collect();
        return Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            format!("grant type `{grant_type}` is not served, expected one of {}", served.join(", ")),
        ));
    };
    if !caller.client.grant_types.contains(&grant) {
        return Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            format!("client `{}` may not use the `{}` grant", caller.client_id, grant.as_str()),
        ));
    }
    let iss = issuer.issuer_url(&request_base(&req, &provider));
    let ctx = Context { provider: &provider, issuer: &issuer, iss, form: &form, caller: &caller };
    let body = match grant {
        GrantType::ClientCredentials => ctx.client_credentials()?,
        GrantType::AuthorizationCode => ctx.authorization_code()?,
        GrantType::RefreshToken => ctx.refresh_token()?,
        GrantType::Password => ctx.password()?,
        GrantType::DeviceCode => ctx.device_code()?,
        GrantType::TokenExchange => ctx.token_exchange()?,
        GrantType::JwtBearer => ctx.jwt_bearer()?,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body))
}

struct Context<'a> {
    provider: &'a Provider,
    issuer: &'a Issuer,
    iss: String,
    form: &'a Form,
    caller: &'a Caller<'a>,
}

fn invalid_grant(description: impl Into<String>) -> OAuthError {
    OAuthError::new(ErrorCode::InvalidGrant, description)
}

impl Context<'_> {
    fn issue(&self, scopes: Vec<String>, authorization: Option<Authorization>) -> Issue<'_> {
        Issue {
            issuer: self.issuer,
            issuer_url: self.iss.clone(),
            client_id: &self.caller.client_id,
            client: self.caller.client,
            scopes,
            audience: None,
            authorization,
            grant_id: None,
            with_refresh_token: false,
            extra_claims: Map::new(),
            params: self.form.pairs().to_vec(),
            issued_token_type: None,
            is_refresh: false,
        }
    }

    fn may_refresh(&self) -> bool {
        self.caller.client.grant_types.contains(&GrantType::RefreshToken)
    }

    /// Requested scopes, checked against the client's allowed list.
    fn requested_scopes(&self) -> Result<Vec<String>, OAuthError> {
        let scopes: Vec<String> = self
            .form
            .get("scope")
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let client = self.caller.client;
        if !client.scopes.is_empty()
            && let Some(denied) = scopes.iter().find(|s| *s != "openid" && !client.scopes.contains(s))
        {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                format!(
                    "client `{}` may not request scope `{denied}` (allowed: {})",
                    self.caller.client_id,
                    client.scopes.join(" ")
                ),
            ));
        }
        Ok(scopes)
    }

    fn audience(&self) -> Result<Option<Vec<String>>, OAuthError> {
        resource_audience(self.form).map_err(|description| OAuthError::new(ErrorCode::InvalidTarget, description))
    }

    fn confidential_only(&self, grant: &str) -> Result<(), OAuthError> {
        if matches!(self.caller.auth, ClientAuth::None { .. }) {
            return Err(OAuthError::new(
                ErrorCode::UnauthorizedClient,
                format!("the {grant} grant is for confidential clients only"),
            ));
        }
        Ok(())
    }

    /// RFC 6749 §4.4.
    fn client_credentials(&self) -> Result<Value, OAuthError> {
        self.confidential_only("client_credentials")?;
        let mut issue = self.issue(self.requested_scopes()?, None);
        issue.audience = self.audience()?;
        self.provider.issue(issue)
    }

    /// RFC 6749 §4.1.3, with PKCE (RFC 7636 §4.6).
    fn authorization_code(&self) -> Result<Value, OAuthError> {
        let code = self.form.get("code").ok_or_else(|| OAuthError::invalid_request("missing `code`"))?;
        let record = match self.provider.store().redeem_code(code, self.provider.now_for(&self.issuer.name)) {
            Redeemed::Fresh(record) => record,
            Redeemed::Reused => {
                return Err(invalid_grant(
                    "the authorization code was already used; every token issued from it is now revoked",
                ));
            }
            Redeemed::Expired => return Err(invalid_grant("the authorization code expired")),
            Redeemed::Unknown => return Err(invalid_grant("unknown authorization code")),
        };
        if record.authorization.issuer != self.issuer.name || record.authorization.client_id != self.caller.client_id {
            return Err(invalid_grant("the authorization code was issued to another client"));
        }
        if let Some(expected) = &record.redirect_uri
            && self.form.get("redirect_uri") != Some(expected.as_str())
        {
            return Err(invalid_grant("`redirect_uri` differs from the one in the authorization request"));
        }
        let verifier = self.form.get("code_verifier");
        match (&record.challenge, verifier) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(invalid_grant(
                    "`code_verifier` sent, but the authorization request had no `code_challenge`",
                ));
            }
            (Some(_), None) => {
                return Err(invalid_grant("missing `code_verifier` (the authorization request used PKCE)"));
            }
            (Some((challenge, method)), Some(verifier)) => {
                let well_formed = (43..=128).contains(&verifier.len())
                    && verifier.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
                if !well_formed {
                    return Err(invalid_grant(
                        "`code_verifier` must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 section 4.1)",
                    ));
                }
                let computed = match method {
                    PkceMethod::S256 => mockidp_core::b64url(Sha256::digest(verifier.as_bytes())),
                    PkceMethod::Plain => verifier.to_owned(),
                };
                if !mockidp_core::ClientSecret::new(challenge.clone()).matches(&computed) {
                    return Err(invalid_grant("`code_verifier` does not match the `code_challenge`"));
                }
            }
        }
        let scopes = record.authorization.scopes.clone();
        let mut issue = self.issue(scopes, Some(record.authorization.clone()));
        issue.audience = record.authorization.audience.clone();
        issue.grant_id = Some(record.grant_id);
        issue.with_refresh_token = self.may_refresh();
        self.provider.issue(issue)
    }

    /// RFC 6749 §6, with optional rotation.
    fn refresh_token(&self) -> Result<Value, OAuthError> {
        let token =
            self.form.get("refresh_token").ok_or_else(|| OAuthError::invalid_request("missing `refresh_token`"))?;
        let requested = self.requested_scopes()?;
        let now = self.provider.now_for(&self.issuer.name);
        let rotate = self.caller.client.rotate_refresh_tokens;
        // Check and retire under one lock: two refreshes racing with one
        // token must not both win.
        let (record, scopes) = {
            let mut store = self.provider.store();
            let record = store
                .refresh(token)
                .filter(|record| record.authorization.issuer == self.issuer.name)
                .cloned()
                .ok_or_else(|| invalid_grant("unknown refresh token"))?;
            if record.authorization.client_id != self.caller.client_id {
                return Err(invalid_grant("the refresh token was issued to another client"));
            }
            if !record.active {
                // A rotated-out token used again may be stolen: end the whole
                // grant (OAuth 2.0 Security BCP, RFC 9700 section 4.14.2).
                store.revoke_grant(record.grant_id);
                return Err(invalid_grant("the refresh token was revoked or rotated out; the grant is now revoked"));
            }
            if record.expires_at <= now {
                return Err(invalid_grant("the refresh token expired"));
            }
            let scopes = if requested.is_empty() {
                record.authorization.scopes.clone()
            } else {
                if let Some(extra) = requested.iter().find(|s| !record.authorization.scopes.contains(s)) {
                    return Err(OAuthError::new(
                        ErrorCode::InvalidScope,
                        format!("scope `{extra}` was not granted originally (RFC 6749 section 6)"),
                    ));
                }
                requested
            };
            if rotate {
                store.retire_refresh(token);
            }
            (record, scopes)
        };
        let mut issue = self.issue(scopes, Some(record.authorization.clone()));
        issue.audience = record.authorization.audience.clone();
        issue.grant_id = Some(record.grant_id);
        issue.with_refresh_token = rotate;
        issue.is_refresh = true;
        let mut body = self.provider.issue(issue)?;
        if !rotate && let Value::Object(map) = &mut body {
            map.insert("refresh_token".into(), json!(token));
        }
        Ok(body)
    }

    /// RFC 6749 §4.3: legacy; a client must list it explicitly.
    fn password(&self) -> Result<Value, OAuthError> {
        let username = self.form.get("username").ok_or_else(|| OAuthError::invalid_request("missing `username`"))?;
        let password = self.form.get("password").ok_or_else(|| OAuthError::invalid_request("missing `password`"))?;
        let user = self.issuer.user(username).filter(|user| {
            user.password.as_deref().is_some_and(|expected| mockidp_core::ClientSecret::new(expected).matches(password))
        });
        if user.is_none() {
            return Err(invalid_grant("wrong username or password"));
        }
        let identity = self.issuer.identity(username).ok_or_else(|| invalid_grant("wrong username or password"))?;
        let scopes = self.requested_scopes()?;
        let authorization = self.authorization(identity, scopes.clone(), None)?;
        let mut issue = self.issue(scopes, Some(authorization));
        issue.with_refresh_token = self.may_refresh();
        self.provider.issue(issue)
    }

    fn authorization(
        &self,
        identity: Identity,
        scopes: Vec<String>,
        nonce: Option<String>,
    ) -> Result<Authorization, OAuthError> {
        Ok(Authorization {
            issuer: self.issuer.name.clone(),
            client_id: self.caller.client_id.clone(),
            identity,
            scopes,
            nonce,
            auth_time: self.provider.now_for(&self.issuer.name),
            acr: None,
            audience: self.audience()?,
        })
    }

    /// RFC 8628 §3.4 and §3.5.
    fn device_code(&self) -> Result<Value, OAuthError> {
        let device_code =
            self.form.get("device_code").ok_or_else(|| OAuthError::invalid_request("missing `device_code`"))?;
        // Validate everything else before the device code is spent.
        self.audience()?;
        let now = self.provider.now_for(&self.issuer.name);
        let (identity, auth_time, scopes) = {
            let mut store = self.provider.store();
            let record = store.device_mut(device_code).ok_or_else(|| invalid_grant("unknown device code"))?;
            if record.issuer != self.issuer.name || record.client_id != self.caller.client_id {
                return Err(invalid_grant("the device code was issued to another client"));
            }
            if record.expires_at <= now {
                return Err(OAuthError::new(ErrorCode::ExpiredToken, "the device code expired; start over"));
            }
            let too_soon = record.last_poll.is_some_and(|last| now - last < record.interval);
            record.last_poll = Some(now);
            match &record.status {
                DeviceStatus::Pending if too_soon => {
                    record.interval += 5;
                    return Err(OAuthError::new(
                        ErrorCode::SlowDown,
                        format!("polling too fast; wait at least {} seconds between requests", record.interval),
                    ));
                }
                DeviceStatus::Pending => {
                    return Err(OAuthError::new(ErrorCode::AuthorizationPending, "the user has not finished yet"));
                }
                DeviceStatus::Denied => {
                    return Err(OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"));
                }
                DeviceStatus::Used => {
                    return Err(invalid_grant("the device code was already used"));
                }
                DeviceStatus::Approved(identity, auth_time) => {
                    let approved = (identity.clone(), *auth_time, record.scopes.clone());
                    record.status = DeviceStatus::Used;
                    approved
                }
            }
        };
        let mut authorization = self.authorization(identity, scopes.clone(), None)?;
        authorization.auth_time = auth_time;
        let mut issue = self.issue(scopes, Some(authorization));
        issue.with_refresh_token = self.may_refresh();
        self.provider.issue(issue)
    }

    /// RFC 8693: a token for the subject of `subject_token`, optionally on
    /// behalf of `actor_token`'s subject.
    fn token_exchange(&self) -> Result<Value, OAuthError> {
        let subject_token =
            self.form.get("subject_token").ok_or_else(|| OAuthError::invalid_request("missing `subject_token`"))?;
        let subject_type = self
            .form
            .get("subject_token_type")
            .ok_or_else(|| OAuthError::invalid_request("missing `subject_token_type`"))?;
        if ![ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, ID_TOKEN_TYPE].contains(&subject_type) {
            return Err(OAuthError::invalid_request(format!(
                "subject_token_type `{subject_type}` is not supported, expected `{ACCESS_TOKEN_TYPE}`, `{JWT_TOKEN_TYPE}` or `{ID_TOKEN_TYPE}`"
            )));
        }
        let opaque = self.caller.client.access_token_format == crate::config::AccessTokenFormat::Opaque;
        let issued_token_type = match self.form.get("requested_token_type") {
            None | Some(ACCESS_TOKEN_TYPE) => ACCESS_TOKEN_TYPE,
            Some(JWT_TOKEN_TYPE) if !opaque => JWT_TOKEN_TYPE,
            Some(JWT_TOKEN_TYPE) => {
                return Err(OAuthError::invalid_request(format!(
                    "client `{}` is issued opaque access tokens, not `{JWT_TOKEN_TYPE}`",
                    self.caller.client_id
                )));
            }
            Some(other) => {
                return Err(OAuthError::invalid_request(format!(
                    "requested_token_type `{other}` is not supported, expected `{ACCESS_TOKEN_TYPE}` or `{JWT_TOKEN_TYPE}`"
                )));
            }
        };
        let kind = if subject_type == ID_TOKEN_TYPE { TokenKind::Id } else { TokenKind::Access };
        // RFC 8693 §2.2.2: an invalid subject or actor token is `invalid_request`.
        let subject = self
            .provider
            .active_token(self.issuer, subject_token, kind)
            .ok_or_else(|| OAuthError::invalid_request("`subject_token` is not an active token of this issuer"))?;
        let sub = subject.sub.clone().ok_or_else(|| OAuthError::invalid_request("`subject_token` has no `sub`"))?;
        let mut extra = Map::new();
        match (self.form.get("actor_token"), self.form.get("actor_token_type")) {
            (Some(actor_token), Some(_)) => {
                let actor = self.provider.active_claims(self.issuer, actor_token).ok_or_else(|| {
                    OAuthError::invalid_request("`actor_token` is not an active token of this issuer")
                })?;
                let actor_sub = actor.sub.ok_or_else(|| OAuthError::invalid_request("`actor_token` has no `sub`"))?;
                // RFC 8693 section 4.1: earlier actors nest inside the current one.
                let mut act = json!({ "sub": actor_sub });
                if let Some(previous) = subject.extra.get("act") {
                    act["act"] = previous.clone();
                }
                extra.insert("act".into(), act);
            }
            (Some(_), None) => {
                return Err(OAuthError::invalid_request("`actor_token` without `actor_token_type`"));
            }
            (None, Some(_)) => {
                return Err(OAuthError::invalid_request("`actor_token_type` without `actor_token`"));
            }
            (None, None) => {}
        }
        let mut scopes = self.requested_scopes()?;
        if scopes.is_empty()
            && let Some(Value::String(scope)) = subject.extra.get("scope")
        {
            // Inherited scopes still pass this client's allowed list.
            let allowed = &self.caller.client.scopes;
            scopes = scope
                .split(' ')
                .filter(|s| !s.is_empty() && (allowed.is_empty() || allowed.iter().any(|a| a == s)))
                .map(str::to_owned)
                .collect();
        }
        let identity = self.issuer.identity_by_sub(&sub).unwrap_or_else(|| Identity::custom(&sub, Map::new()));
        let mut authorization = self.authorization(identity, scopes.clone(), None)?;
        authorization.auth_time =
            subject.extra.get("auth_time").and_then(Value::as_i64).unwrap_or(authorization.auth_time);
        // An exchanged token is an access token; it carries no ID token.
        scopes.retain(|scope| scope != "openid");
        let mut issue = self.issue(scopes, Some(authorization));
        issue.audience = self.audience()?;
        issue.extra_claims = extra;
        issue.issued_token_type = Some(issued_token_type);
        self.provider.issue(issue)
    }

    /// RFC 7523 §2.1: a JWT assertion signed by an issuer of this server,
    /// whose `aud` names this issuer or its token endpoint.
    fn jwt_bearer(&self) -> Result<Value, OAuthError> {
        let assertion = self.form.get("assertion").ok_or_else(|| OAuthError::invalid_request("missing `assertion`"))?;
        let now = self.provider.now_for(&self.issuer.name);
        let names = self.provider.issuer_names();
        let claims = names
            .iter()
            .filter_map(|name| self.provider.issuer(name))
            .find_map(|issuer| issuer.active_keys(now).verify_compact(assertion).ok())
            // An access token is not an assertion, even with the right `aud`.
            .filter(|(header, _)| !header.typ.as_deref().is_some_and(|typ| typ.eq_ignore_ascii_case("at+jwt")))
            .map(|(_, claims)| claims)
            .ok_or_else(|| invalid_grant("the assertion is not signed by a key of this server"))?;
        match claims.exp {
            None => return Err(invalid_grant("the assertion has no `exp` (RFC 7523 §3)")),
            Some(exp) if exp <= now => return Err(invalid_grant("the assertion expired")),
            Some(_) => {}
        }
        let token_endpoint = format!("{}/token", self.iss);
        if !claims.aud.as_ref().is_some_and(|aud| aud.contains(&self.iss) || aud.contains(&token_endpoint)) {
            return Err(invalid_grant(format!(
                "the assertion's `aud` must name this issuer (`{}`) or its token endpoint (`{token_endpoint}`)",
                self.iss
            )));
        }
        if claims.iss.is_none() {
            return Err(invalid_grant("the assertion has no `iss` (RFC 7523 section 3)"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now) {
            return Err(invalid_grant("the assertion is not valid yet (`nbf`)"));
        }
        let sub = claims.sub.clone().ok_or_else(|| invalid_grant("the assertion has no `sub`"))?;
        let scopes = self.requested_scopes()?;
        let identity = self.issuer.identity_by_sub(&sub).unwrap_or_else(|| Identity::custom(&sub, Map::new()));
        let authorization = self.authorization(identity, scopes.clone(), None)?;
        let mut issue = self.issue(scopes.into_iter().filter(|s| s != "openid").collect(), Some(authorization));
        issue.audience = self.audience()?;
        self.provider.issue(issue)
    }
}
