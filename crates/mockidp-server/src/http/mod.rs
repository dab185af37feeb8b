//! The HTTP surface: routes, handlers and the server itself.

mod admin;
mod authorize;
mod device;
mod error;
mod form;
mod html;
mod introspection;
mod logout;
mod metadata;
mod token;
mod userinfo;

use std::{net::TcpListener, sync::Arc};

use actix_web::{
    App, HttpRequest, HttpResponse, HttpServer,
    dev::Server,
    middleware::{Logger, NormalizePath},
    web::{self, ServiceConfig},
};
use serde_json::json;

pub use error::{ErrorCode, OAuthError};
pub use metadata::ProviderMetadata;

use crate::Provider;

/// Paths under this prefix belong to mockidp itself, never to an issuer.
pub const RESERVED_PREFIX: &str = "_mockidp";

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Worker threads.
    pub workers: usize,
    /// Stop gracefully on SIGINT/SIGTERM; off when embedded in tests.
    pub handle_signals: bool,
    /// Seconds to let requests in flight finish on shutdown.
    pub shutdown_timeout_secs: u64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self { workers: 2, handle_signals: true, shutdown_timeout_secs: 5 }
    }
}

/// Starts serving `provider` on an already bound `listener`. The returned
/// [`Server`] must be polled (awaited or spawned) to run.
pub fn serve(listener: TcpListener, provider: Arc<Provider>, options: &ServerOptions) -> std::io::Result<Server> {
    let data = web::Data::from(provider);
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap_fn(crate::faults::inject)
            .wrap_fn(record_request)
            // `/default/` and `//default//jwks` reach `/default/...`: client
            // libraries disagree about trailing slashes on issuers.
            .wrap(NormalizePath::trim())
            // `%U` leaves the query out: it can carry `id_token_hint` or a user code.
            .wrap(
                Logger::new("%{method}xi %U %s %Dms").custom_request_replace("method", |req| req.method().to_string()),
            )
            .configure(routes)
    })
    .workers(options.workers)
    .shutdown_timeout(options.shutdown_timeout_secs)
    .listen(listener)?;
    if !options.handle_signals {
        server = server.disable_signals();
    }
    Ok(server.run())
}

/// Middleware: appends every request but mockidp's own (`/_mockidp/…`) to
/// the provider's request log, secrets redacted.
fn record_request<S>(
    req: actix_web::dev::ServiceRequest,
    service: &S,
) -> impl std::future::Future<Output = Result<actix_web::dev::ServiceResponse, actix_web::Error>> + use<S>
where
    S: actix_web::dev::Service<
            actix_web::dev::ServiceRequest,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        >,
{
    use actix_web::HttpMessage as _;

    use crate::recorder::{ParsedForm, PresentedClient, RecordedRequest, redact};

    let provider =
        (!req.path().starts_with("/_mockidp/")).then(|| req.app_data::<web::Data<Provider>>().cloned()).flatten();
    let method = req.method().to_string();
    let path = req.path().to_owned();
    let query_pairs: Vec<(String, String)> =
        form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let call = service.call(req);
    async move {
        let response = call.await?;
        if let Some(provider) = provider {
            let extensions = response.request().extensions();
            let form = extensions
                .get::<ParsedForm>()
                .map(|form| redact(form.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
                .unwrap_or_default();
            let query = redact(query_pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            let client_id = extensions
                .get::<PresentedClient>()
                .map(|client| client.0.clone())
                .or_else(|| form.get("client_id").cloned())
                .or_else(|| query.get("client_id").cloned());
            drop(extensions);
            let status = response.status().as_u16();
            provider.recorder().push(RecordedRequest {
                method,
                path,
                query,
                form,
                client_id,
                status,
                at: provider.now(),
            });
        }
        Ok(response)
    }
}

/// Registers every route; usable in any actix `App`.
pub fn routes(config: &mut ServiceConfig) {
    config
        .route("/", web::get().to(index))
        .route("/_mockidp/health", web::get().to(health))
        .route("/_mockidp/pitfalls/{fetch_id}/{file}", web::get().to(hosted_pitfall_material))
        .configure(admin::routes)
        .route("/.well-known/oauth-authorization-server/{issuer}", web::get().to(metadata::discovery))
        .route("/.well-known/openid-configuration/{issuer}", web::get().to(metadata::discovery))
        .route("/{issuer}/.well-known/openid-configuration", web::get().to(metadata::discovery))
        .route("/{issuer}/.well-known/oauth-authorization-server", web::get().to(metadata::discovery))
        .route("/{issuer}/jwks", web::get().to(metadata::jwks))
        .route("/{issuer}/jwks/{rotated}", web::get().to(metadata::jwks_elsewhere))
        .service(
            web::resource("/{issuer}/authorize")
                .route(web::get().to(authorize::get))
                .route(web::post().to(authorize::post))
                .default_service(web::to(|| async { method_not_allowed("GET, POST") })),
        )
        .service(post_only("/{issuer}/token", token::token))
        .service(post_only("/{issuer}/introspect", introspection::introspect))
        .service(post_only("/{issuer}/revoke", introspection::revoke))
        .service(post_only("/{issuer}/device_authorization", device::authorize))
        .service(
            web::resource("/{issuer}/device")
                .route(web::get().to(device::page))
                .route(web::post().to(device::answer))
                .default_service(web::to(|| async { method_not_allowed("GET, POST") })),
        )
        .service(
            web::resource("/{issuer}/userinfo")
                .route(web::get().to(userinfo::userinfo))
                .route(web::post().to(userinfo::userinfo))
                .default_service(web::to(|| async { method_not_allowed("GET, POST") })),
        )
        .service(
            web::resource("/{issuer}/end_session")
                .route(web::get().to(logout::get))
                .route(web::post().to(logout::post))
                .default_service(web::to(|| async { method_not_allowed("GET, POST") })),
        )
        .default_service(web::to(not_found));
}

/// A resource that answers POST with `handler` and anything else with 405.
fn post_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path).route(web::post().to(handler)).default_service(web::to(|| async { method_not_allowed("POST") }))
}

async fn index(req: HttpRequest, provider: web::Data<Provider>) -> HttpResponse {
    let base = request_base(&req, &provider);
    let issuers: Vec<String> = provider
        .issuer_names()
        .iter()
        .filter_map(|name| provider.issuer(name))
        .map(|issuer| issuer.issuer_url(&base))
        .collect();
    HttpResponse::Ok().json(json!({
        "service": "mockidp",
        "warning": "a mock identity provider for tests: it hands out tokens to anyone who asks, never use it in production",
        "issuers": issuers,
    }))
}

/// The attacker JWKS or certificate a `jku-injection` / `x5u-injection`
/// token names; every fetch is counted, because fetching it is the finding.
async fn hosted_pitfall_material(
    path: web::Path<(String, String)>,
    provider: web::Data<Provider>,
) -> Result<HttpResponse, OAuthError> {
    use mockidp_core::pitfall::Hosted;
    let (fetch_id, file) = path.into_inner();
    let jwks = match file.as_str() {
        "jwks.json" => true,
        "cert.pem" => false,
        _ => return Err(OAuthError::new(ErrorCode::NotFound, format!("no pitfall material `{file}`"))),
    };
    match provider.hosting().fetch(&fetch_id, jwks) {
        Some(Hosted::Jwks(body)) => Ok(HttpResponse::Ok().content_type("application/jwk-set+json").body(body)),
        Some(Hosted::Certificate(pem)) => {
            Ok(HttpResponse::Ok().content_type("application/pem-certificate-chain").body(pem))
        }
        None => Err(OAuthError::new(ErrorCode::NotFound, format!("no pitfall material `{fetch_id}/{file}`"))),
    }
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

fn method_not_allowed(allowed: &'static str) -> HttpResponse {
    let mut response = actix_web::ResponseError::error_response(&OAuthError::new(
        ErrorCode::MethodNotAllowed,
        format!("this endpoint accepts {allowed} only"),
    ));
    response
        .headers_mut()
        .insert(actix_web::http::header::ALLOW, actix_web::http::header::HeaderValue::from_static(allowed));
    response
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, OAuthError> {
    Err(OAuthError::new(ErrorCode::NotFound, format!("no endpoint at `{}`", req.path())))
}

/// The issuer named in the path, or a 404 naming it.
fn issuer_of(provider: &Provider, name: &str) -> Result<Arc<crate::Issuer>, OAuthError> {
    provider.issuer(name).ok_or_else(|| OAuthError::unknown_issuer(name))
}

/// The base URL of a request: the configured public URL, or scheme and
/// host as the client sent them (`Forwarded` / `X-Forwarded-*` honoured).
fn request_base(req: &HttpRequest, provider: &Provider) -> String {
    let info = req.connection_info();
    provider.base_url(info.scheme(), info.host())
}
