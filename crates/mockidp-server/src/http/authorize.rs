//! The authorization endpoint (RFC 6749 §4.1, OpenID Connect Core §3.1.2)
//! and its login page.

use actix_web::{
    HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use serde_json::Map;

use super::{
    form::{Form, parse_form, read_form},
    html::{self, escape},
    issuer_of, request_base,
};
use crate::{
    Issuer, Provider,
    config::{ClientConfig, GrantType, LoginMode},
    store::{Authorization, CodeRecord, PkceMethod},
    tokens::random_token,
    users::Identity,
};

/// The parameters of an authorization request that mockidp reads.
const PARAMS: [&str; 14] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "login_hint",
    "prompt",
    "acr_values",
    "resource",
    "max_age",
];

/// Where errors and codes go once client and redirect URI are trusted.
struct Reply {
    redirect_uri: String,
    state: Option<String>,
    mode: ResponseMode,
    iss: String,
}

/// How the response travels back (OAuth 2.0 Multiple Response Types §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl Reply {
    fn send(&self, mut params: Vec<(String, String)>) -> HttpResponse {
        if let Some(state) = &self.state {
            params.push(("state".into(), state.clone()));
        }
        // RFC 9207: tell the client which issuer answered (mix-up defence).
        params.push(("iss".into(), self.iss.clone()));
        let separator = match self.mode {
            ResponseMode::FormPost => return html::form_post(&self.redirect_uri, &params),
            ResponseMode::Fragment => '#',
            ResponseMode::Query if self.redirect_uri.contains('?') => '&',
            ResponseMode::Query => '?',
        };
        let query: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        HttpResponse::Found()
            .insert_header((header::LOCATION, format!("{}{separator}{query}", self.redirect_uri)))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish()
    }

    fn error(&self, code: &str, description: &str) -> HttpResponse {
        self.send(vec![("error".into(), code.into()), ("error_description".into(), description.into())])
    }
}

/// A request that passed client and redirect URI checks.
struct Validated<'a> {
    client_id: String,
    client: &'a ClientConfig,
    reply: Reply,
    form: Form,
}

/// `GET /{issuer}/authorize`.
pub async fn get(req: HttpRequest, name: web::Path<String>, provider: web::Data<Provider>) -> HttpResponse {
    let Ok(issuer) = issuer_of(&provider, &name) else {
        return html::error_page(StatusCode::NOT_FOUND, "not_found", &format!("no issuer `{name}` on this server"));
    };
    let form = match parse_form(req.query_string().as_bytes()) {
        Ok(form) => form,
        Err(err) => {
            return html::error_page(StatusCode::BAD_REQUEST, "invalid_request", err.description());
        }
    };
    authorize(&req, &provider, &issuer, form, None).await
}

/// `POST /{issuer}/authorize`: an authorization request sent as a form, or
/// the login page's answer.
pub async fn post(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    provider: web::Data<Provider>,
) -> HttpResponse {
    let Ok(issuer) = issuer_of(&provider, &name) else {
        return html::error_page(StatusCode::NOT_FOUND, "not_found", &format!("no issuer `{name}` on this server"));
    };
    let form = match read_form(&req, payload, provider.max_body_bytes()).await {
        Ok(form) => form,
        Err(err) => {
            return html::error_page(StatusCode::BAD_REQUEST, "invalid_request", err.description());
        }
    };
    let login = form.get("mockidp_login").is_some().then(|| LoginAnswer::from_form(&form));
    authorize(&req, &provider, &issuer, form, login).await
}

/// What the login page sent back.
struct LoginAnswer {
    deny: bool,
    user: Option<String>,
    sub: Option<String>,
    claims: Option<String>,
}

impl LoginAnswer {
    fn from_form(form: &Form) -> Self {
        Self {
            deny: form.get("action") == Some("deny"),
            user: form.get("user").map(str::to_owned),
            sub: form.get("sub").map(str::to_owned),
            claims: form.get("claims").map(str::to_owned),
        }
    }
}

async fn authorize(
    req: &HttpRequest,
    provider: &Provider,
    issuer: &Issuer,
    form: Form,
    login: Option<LoginAnswer>,
) -> HttpResponse {
    let iss = issuer.issuer_url(&request_base(req, provider));
    let request = match validate_client(issuer, form, iss) {
        Ok(request) => request,
        Err(page) => return *page,
    };
    let reply = &request.reply;
    let form = &request.form;

    // From here on the redirect URI is trusted: errors go back to the client.
    let hybrid = match form.get("response_type").map(response_type_words).as_deref() {
        Some(["code"]) => false,
        // The hybrid flow: an ID token with `c_hash` comes back with the code.
        Some(["code", "id_token"]) => true,
        Some(_) => {
            return reply.error(
                "unsupported_response_type",
                &format!(
                    "response_type `{}` is not served, expected `code` or `code id_token`",
                    form.get("response_type").unwrap_or_default()
                ),
            );
        }
        None => return reply.error("invalid_request", "missing `response_type`"),
    };
    if hybrid && reply.mode == ResponseMode::Query {
        return reply.error(
            "invalid_request",
            "the hybrid flow must not return tokens in the query; use `fragment` or `form_post`",
        );
    }
    if hybrid && !form.get("scope").unwrap_or_default().split(' ').any(|s| s == "openid") {
        return reply.error("invalid_scope", "the hybrid flow returns an ID token: the `openid` scope is required");
    }
    if hybrid && form.get("nonce").is_none() {
        return reply.error("invalid_request", "the hybrid flow requires a `nonce` (OpenID Connect Core §3.3.2.11)");
    }
    if !request.client.grant_types.contains(&GrantType::AuthorizationCode) {
        return reply.error(
            "unauthorized_client",
            &format!("client `{}` may not use the authorization code grant", request.client_id),
        );
    }
    let scopes: Vec<String> =
        form.get("scope").unwrap_or_default().split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    if !request.client.scopes.is_empty()
        && let Some(denied) = scopes.iter().find(|s| *s != "openid" && !request.client.scopes.contains(s))
    {
        return reply
            .error("invalid_scope", &format!("client `{}` may not request scope `{denied}`", request.client_id));
    }
    let challenge = match pkce_challenge(form, request.client) {
        Ok(challenge) => challenge,
        Err(description) => return reply.error("invalid_request", &description),
    };
    let audience = match resource_audience(form) {
        Ok(audience) => audience,
        Err(description) => return reply.error("invalid_target", &description),
    };

    let identity = match (issuer.config.login, login) {
        (_, Some(answer)) if answer.deny => {
            return reply.error("access_denied", "the user denied the request");
        }
        (_, Some(answer)) => {
            match issuer.sign_in(answer.user.as_deref(), answer.sub.as_deref(), answer.claims.as_deref()) {
                Ok(identity) => identity,
                Err(message) => return login_page(issuer, &request, Some(&message)),
            }
        }
        (LoginMode::Auto, None) => headless_identity(issuer, form.get("login_hint")),
        (LoginMode::Form, None) if form.get("prompt") == Some("none") => {
            return reply
                .error("login_required", "prompt=none, but this issuer shows a login page (set login = \"auto\")");
        }
        (LoginMode::Form, None) => return login_page(issuer, &request, None),
    };

    let now = provider.now_for(&issuer.name);
    let authorization = Authorization {
        issuer: issuer.name.clone(),
        client_id: request.client_id.clone(),
        identity,
        scopes,
        nonce: form.get("nonce").map(str::to_owned),
        auth_time: now,
        acr: form.get("acr_values").and_then(|values| values.split(' ').next()).map(str::to_owned),
        audience,
    };
    let code = random_token(32);
    let mut store = provider.store();
    let grant_id = store.new_grant(Some(authorization.clone()));
    let lifetime = i64::try_from(issuer.config.code_lifetime_secs).unwrap_or(i64::MAX);
    store.insert_code(
        code.clone(),
        CodeRecord {
            authorization: authorization.clone(),
            redirect_uri: form.get("redirect_uri").map(str::to_owned),
            challenge,
            expires_at: now.saturating_add(lifetime),
            grant_id,
        },
        now,
    );
    drop(store);
    let mut params = vec![("code".to_owned(), code.clone())];
    if hybrid {
        match provider.front_channel_id_token(
            issuer,
            &reply.iss,
            &request.client_id,
            request.client,
            &authorization,
            &code,
        ) {
            Ok(id_token) => params.push(("id_token".into(), id_token)),
            Err(err) => return reply.error("server_error", err.description()),
        }
    }
    reply.send(params)
}

/// Checks client and redirect URI; a failure is an error page, never a redirect.
fn validate_client(issuer: &Issuer, form: Form, iss: String) -> Result<Validated<'_>, Box<HttpResponse>> {
    let refuse =
        |description: String| Err(Box::new(html::error_page(StatusCode::BAD_REQUEST, "invalid_request", &description)));
    let Some(client_id) = form.get("client_id").map(str::to_owned) else {
        return refuse("missing `client_id`".into());
    };
    let Some(client) = issuer.client(&client_id) else {
        return refuse(format!("unknown client `{client_id}`"));
    };
    let redirect_uri = match (form.get("redirect_uri"), client.redirect_uris.as_slice()) {
        (Some(uri), registered) if registered.iter().any(|r| r == uri) => uri.to_owned(),
        (Some(uri), []) => {
            return refuse(format!(
                "`redirect_uri` `{uri}` is not registered: client `{client_id}` has no redirect URIs"
            ));
        }
        (Some(uri), registered) => {
            return refuse(format!(
                "`redirect_uri` `{uri}` is not registered for client `{client_id}` (registered: {}); URIs are compared exactly",
                registered.join(", ")
            ));
        }
        (None, [only]) => only.clone(),
        (None, []) => return refuse(format!("client `{client_id}` has no redirect URIs")),
        (None, _) => {
            return refuse(format!("client `{client_id}` has several redirect URIs: send `redirect_uri`"));
        }
    };
    let hybrid = form.get("response_type").map(response_type_words).is_some_and(|words| words.contains(&"id_token"));
    let mode = match form.get("response_mode") {
        None if hybrid => ResponseMode::Fragment,
        None | Some("query") => ResponseMode::Query,
        Some("fragment") => ResponseMode::Fragment,
        Some("form_post") => ResponseMode::FormPost,
        Some(other) => {
            return refuse(format!(
                "response_mode `{other}` is not served, expected `query`, `fragment` or `form_post`"
            ));
        }
    };
    let reply = Reply { redirect_uri, state: form.get("state").map(str::to_owned), mode, iss };
    Ok(Validated { client_id, client, reply, form })
}

/// The words of a `response_type`, sorted: their order does not matter.
fn response_type_words(response_type: &str) -> Vec<&str> {
    let mut words: Vec<&str> = response_type.split(' ').filter(|w| !w.is_empty()).collect();
    words.sort_unstable();
    words
}

fn pkce_challenge(form: &Form, client: &ClientConfig) -> Result<Option<(String, PkceMethod)>, String> {
    let Some(challenge) = form.get("code_challenge") else {
        if client.require_pkce {
            return Err("this client must use PKCE: send `code_challenge` and `code_challenge_method=S256`".into());
        }
        if form.get("code_challenge_method").is_some() {
            return Err("`code_challenge_method` without `code_challenge`".into());
        }
        return Ok(None);
    };
    let method = match form.get("code_challenge_method") {
        None | Some("plain") if client.require_pkce => {
            return Err("this client must use PKCE with `code_challenge_method=S256`".into());
        }
        None | Some("plain") => PkceMethod::Plain,
        Some("S256") => PkceMethod::S256,
        Some(other) => {
            return Err(format!("code_challenge_method `{other}` is not supported, expected `S256` or `plain`"));
        }
    };
    let well_formed = (43..=128).contains(&challenge.len())
        && challenge.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return Err("`code_challenge` must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.2)".into());
    }
    Ok(Some((challenge.to_owned(), method)))
}

/// `aud` from RFC 8707 `resource` parameters.
pub fn resource_audience(form: &Form) -> Result<Option<Vec<String>>, String> {
    let resources = form.all("resource");
    for resource in &resources {
        let absolute = resource.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
        });
        if !absolute || resource.contains('#') {
            return Err(format!("`resource` must be an absolute URI without a fragment, found `{resource}`"));
        }
    }
    let mut audience: Vec<String> = resources.into_iter().map(str::to_owned).collect();
    audience.extend(form.all("audience").into_iter().map(str::to_owned));
    Ok((!audience.is_empty()).then_some(audience))
}

/// Headless login: the `login_hint` user (by name or `sub`), a custom
/// subject named by the hint, or the default user.
fn headless_identity(issuer: &Issuer, login_hint: Option<&str>) -> Identity {
    match login_hint {
        Some(hint) => issuer
            .identity(hint)
            .or_else(|| issuer.identity_by_sub(hint))
            .unwrap_or_else(|| Identity::custom(hint, Map::new())),
        None => issuer.default_identity().unwrap_or_else(|| Identity::custom("user", Map::new())),
    }
}

fn login_page(issuer: &Issuer, request: &Validated<'_>, message: Option<&str>) -> HttpResponse {
    let carried: Vec<(String, String)> = PARAMS
        .iter()
        .flat_map(|name| request.form.all(name).into_iter().map(|value| ((*name).to_owned(), value.to_owned())))
        .chain(std::iter::once(("mockidp_login".to_owned(), "1".to_owned())))
        .collect();
    let hidden = html::hidden_inputs(&carried);
    let users: String = issuer
        .config
        .users
        .keys()
        .map(|name| format!("<button type=\"submit\" name=\"user\" value=\"{0}\">{0}</button>", escape(name)))
        .collect();
    let users = if users.is_empty() { "<p>No users are configured for this issuer.</p>".to_owned() } else { users };
    let error = message.map_or(String::new(), |m| format!("<p class=\"error\">{}</p>", escape(m)));
    let body = format!(
        "{error}<p>Client <code>{client}</code> asks to sign you in to issuer <code>{issuer}</code>.</p>\
<form method=\"post\">{hidden}<fieldset><legend>Sign in as a configured user</legend>{users}</fieldset></form>\
<form method=\"post\">{hidden}<fieldset><legend>Or as any subject</legend>\
<label>Subject (<code>sub</code>)<input type=\"text\" name=\"sub\" required></label>\
<label>Claims (JSON object)<textarea name=\"claims\" rows=\"5\">{{}}</textarea></label>\
<button type=\"submit\">Sign in</button></fieldset></form>\
<form method=\"post\">{hidden}<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button></form>",
        client = escape(&request.client_id),
        issuer = escape(&issuer.name),
    );
    let status = if message.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    html::page(status, "Sign in", &body)
}
