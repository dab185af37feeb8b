//! Server-rendered pages: login, device verification, logout, errors.
//! No scripts but the one-line form_post auto-submit; every value escaped.

use actix_web::{HttpResponse, http::StatusCode};

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#222}\
.warn{background:#fff3cd;border:1px solid #e0c060;padding:.5rem .75rem;border-radius:4px;font-size:.9rem}\
.error{background:#f8d7da;border:1px solid #d08080;padding:.5rem .75rem;border-radius:4px}\
fieldset{border:1px solid #ccc;border-radius:4px;margin:1rem 0}button{margin:.25rem .25rem .25rem 0;padding:.4rem .9rem}\
input[type=text],textarea{width:100%;box-sizing:border-box;font-family:monospace}code{background:#eee;padding:0 .2rem}";

/// A whole page around `body` (already-escaped HTML).
pub fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>{title}</title><style>{STYLE}</style></head><body><h1>{title}</h1>\
<p class=\"warn\">mockidp is a mock identity provider for tests. It signs in anyone; never use it in production.</p>{body}</body></html>",
        title = escape(title),
    );
    HttpResponse::build(status)
        .insert_header(("content-type", "text/html; charset=utf-8"))
        .insert_header(("cache-control", "no-store"))
        .insert_header(("x-frame-options", "DENY"))
        .insert_header((
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action *; script-src 'unsafe-inline'",
        ))
        .body(html)
}

/// An error shown to the user instead of a redirect: used when the client or
/// the redirect URI cannot be trusted (RFC 6749 §4.1.2.1).
pub fn error_page(status: StatusCode, code: &str, description: &str) -> HttpResponse {
    page(
        status,
        "Request refused",
        &format!(
            "<p class=\"error\"><strong><code>{}</code></strong>: {}</p>\
<p>mockidp did not redirect back to the application, because the request could not be trusted to name where to go.</p>",
            escape(code),
            escape(description)
        ),
    )
}

/// Hidden inputs carrying `params` through a form.
pub fn hidden_inputs(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(name, value)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", escape(name), escape(value)))
        .collect()
}

/// The OAuth 2.0 Form Post Response Mode page: posts `params` to `action`.
pub fn form_post(action: &str, params: &[(String, String)]) -> HttpResponse {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Submit</title></head>\
<body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">{}\
<noscript><button type=\"submit\">Continue</button></noscript></form></body></html>",
        escape(action),
        hidden_inputs(params)
    );
    HttpResponse::Ok()
        .insert_header(("content-type", "text/html; charset=utf-8"))
        .insert_header(("cache-control", "no-store"))
        .body(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_that_could_break_out() {
        assert_eq!(escape(r#"<script>"x"&'y'</script>"#), "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;");
    }
}
