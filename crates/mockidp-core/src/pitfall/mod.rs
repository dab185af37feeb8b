//! The pitfall catalogue: tokens each broken in exactly one way.
//!
//! Every case has a stable id (the ones of `docs/spec/PITFALLS.md`), the rule
//! it breaks, references and the verdict a correct API reaches. Everything
//! else about each token is valid: signed by a published key, with the right
//! `iss`, `aud`, `exp` and `typ`, unless that is the one thing the case
//! breaks. Otherwise a scan gives wrong answers: an "expired" token with a
//! bad signature is rejected even by an API that never checks `exp`.
//!
//! The forging code lives in [`dangerous`]; every function that emits a
//! broken token is named `insecure_*`.

pub mod dangerous;
mod x509;

use std::{fmt, sync::Arc};

use serde::Serialize;

use crate::{Clock, KeySet, SigningKey};

/// What a correct resource server does with the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
    Reject,
    /// 403 `insufficient_scope`, or 404 for another user's object.
    Forbid,
    /// A 2xx: the control and positive cases.
    Accept,
    /// Acceptable, but worth reporting.
    Warn,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Reject => "reject",
            Verdict::Forbid => "forbid",
            Verdict::Accept => "accept",
            Verdict::Warn => "warn",
        })
    }
}

/// The section of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// A. Signature and algorithm.
    Signature,
    /// B. Claims.
    Claims,
    /// C. Malformed.
    Malformed,
}

impl Section {
    /// The heading in the docs.
    pub fn title(self) -> &'static str {
        match self {
            Section::Signature => "A. Signature and algorithm",
            Section::Claims => "B. Claims",
            Section::Malformed => "C. Malformed",
        }
    }
}

/// Something a scan must watch besides the status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Watch {
    /// Whether the API fetched the URL the token's header names (SSRF).
    HeaderUrlFetch,
    /// How long the API took to answer.
    Latency,
}

/// One case of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pitfall {
    /// Stable, kebab-case id.
    pub id: &'static str,
    /// The section.
    pub section: Section,
    /// A one-line title.
    pub title: &'static str,
    /// What mockidp emits.
    pub emits: &'static str,
    /// The rule it breaks and how a correct API responds.
    pub rule: &'static str,
    /// References: RFC sections, CVEs, OWASP items.
    pub refs: &'static [&'static str],
    /// What a correct API does.
    pub verdict: Verdict,
    /// What else a scan must watch.
    pub watch: Option<Watch>,
    /// A one-line fix hint for an API that gets the case wrong.
    pub fix: &'static str,
}

/// Why a case could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PitfallError {
    /// No such id.
    #[error("unknown pitfall `{id}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    Unknown {
        /// The id asked for.
        id: String,
        /// The closest known id.
        suggestion: Option<String>,
    },
    /// The case needs something this issuer lacks (an EC key, a second issuer…).
    #[error("pitfall `{id}` does not apply here: {reason}")]
    NotApplicable {
        /// The case.
        id: &'static str,
        /// What is missing.
        reason: String,
    },
    /// Signing or serialising failed.
    #[error("pitfall `{id}` could not be forged: {message}")]
    Forge {
        /// The case.
        id: &'static str,
        /// What failed.
        message: String,
    },
}

/// Everything a case needs to forge its token.
#[derive(Debug, Clone)]
pub struct PitfallContext<'a> {
    /// The issuer identifier (`iss`).
    pub issuer: String,
    /// The issuer's keys; the signer signs valid tokens.
    pub keys: &'a KeySet,
    /// The audience the target API expects.
    pub audience: String,
    /// The subject of valid tokens.
    pub subject: String,
    /// The scopes of valid tokens.
    pub scopes: Vec<String>,
    /// `client_id` of valid tokens.
    pub client_id: String,
    /// Another user, for `subject-other-user`.
    pub other_subject: String,
    /// The scope `scope-insufficient` leaves out; the last of `scopes` when unset.
    pub required_scope: Option<String>,
    /// Another issuer the API may also trust, with its published signing
    /// key, for `key-from-other-issuer`.
    pub other_issuer: Option<(String, &'a SigningKey)>,
    /// A URL the provider serves attacker material under, for `jku-injection`
    /// and `x5u-injection`: `{hosted_url}/jwks.json` and `{hosted_url}/cert.pem`.
    pub hosted_url: Option<String>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Lifetime of valid tokens, in seconds.
    pub lifetime_secs: i64,
}

impl<'a> PitfallContext<'a> {
    /// A context with defaults: subject `alice`, other subject `mallory`,
    /// client `mockidp`, no scopes, one-hour lifetime, the system clock.
    pub fn new(issuer: impl Into<String>, keys: &'a KeySet, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            keys,
            audience: audience.into(),
            subject: "alice".into(),
            scopes: Vec::new(),
            client_id: "mockidp".into(),
            other_subject: "mallory".into(),
            required_scope: None,
            other_issuer: None,
            hosted_url: None,
            clock: Arc::new(crate::SystemClock),
            lifetime_secs: 3600,
        }
    }
}

/// Material a case needs the provider to serve (the attacker's JWKS or certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosted {
    /// Serve this JWKS JSON at `{hosted_url}/jwks.json`.
    Jwks(String),
    /// Serve this PEM certificate at `{hosted_url}/cert.pem`.
    Certificate(String),
}

/// A forged case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forged {
    /// The case.
    pub id: &'static str,
    /// What to send as the bearer token (may be empty, for `empty-bearer`).
    pub token: String,
    /// What the provider must serve for it.
    pub hosted: Option<Hosted>,
    /// The public key of the unpublished key it was signed with, when it
    /// was (an attacker's key): what a vulnerable API ends up trusting.
    pub signing_key: Option<crate::Jwk>,
}

/// Every case, in catalogue order.
pub fn catalogue() -> &'static [Pitfall] {
    &CATALOGUE
}

/// The case with `id`, or an error with the closest id.
pub fn find(id: &str) -> Result<&'static Pitfall, PitfallError> {
    if let Some(pitfall) = CATALOGUE.iter().find(|p| p.id == id) {
        return Ok(pitfall);
    }
    let suggestion = CATALOGUE
        .iter()
        .map(|p| (strsim::levenshtein(id, p.id), p.id))
        .filter(|(distance, _)| *distance <= (id.len() / 3).max(2))
        .min()
        .map(|(_, id)| id.to_owned());
    Err(PitfallError::Unknown { id: id.to_owned(), suggestion })
}

impl Pitfall {
    /// Forges this case's token for `ctx`.
    pub fn forge(&self, ctx: &PitfallContext<'_>) -> Result<Forged, PitfallError> {
        dangerous::insecure_forge(self.id, ctx)
    }
}

/// The catalogue as a Markdown page, the source of `docs/pitfalls.md`.
pub fn markdown() -> String {
    let mut out = String::from(
        "# The pitfall catalogue\n\n\
<!-- Generated from crates/mockidp-core/src/pitfall/mod.rs by `cargo xtask docs`; a test fails when this file is stale. -->\n\n\
Each case is a token broken in exactly one way; everything else about it is valid.\n\
Verdicts: `reject` = 401 `invalid_token`; `forbid` = 403 `insufficient_scope` (or 404); `accept` = 2xx; `warn` = acceptable but reported.\n",
    );
    for section in [Section::Signature, Section::Claims, Section::Malformed] {
        out.push_str(&format!(
            "\n## {}\n\n| id | title | what mockidp emits | verdict | refs | fix |\n|---|---|---|---|---|---|\n",
            section.title()
        ));
        for p in CATALOGUE.iter().filter(|p| p.section == section) {
            let watch = match p.watch {
                Some(Watch::HeaderUrlFetch) => ", and no fetch",
                Some(Watch::Latency) => ", latency measured",
                None => "",
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {}{} | {} | {} |\n",
                p.id,
                p.title,
                p.emits.replace('|', "\\|"),
                p.verdict,
                watch,
                if p.refs.is_empty() { "—".to_owned() } else { p.refs.join("; ") },
                p.fix
            ));
        }
    }
    out
}

macro_rules! cases {
    ($( $id:literal, $section:ident, $verdict:ident, $watch:expr, $title:literal, $emits:literal, $rule:literal, [$($r:literal),*], $fix:literal; )*) => {
        static CATALOGUE: [Pitfall; cases!(@count $($id)*)] = [
            $( Pitfall {
                id: $id,
                section: Section::$section,
                verdict: Verdict::$verdict,
                watch: $watch,
                title: $title,
                emits: $emits,
                rule: $rule,
                refs: &[$($r),*],
                fix: $fix,
            }, )*
        ];
    };
    (@count) => { 0 };
    (@count $head:literal $($tail:literal)*) => { 1 + cases!(@count $($tail)*) };
}

cases! {
    // A. Signature and algorithm.
    "valid", Signature, Accept, None, "The control",
        "a correct token for the target; run first and last", "a valid token must be accepted", [], "accept tokens signed by the issuer's published keys";
    "alg-none", Signature, Reject, None, "alg none",
        "header `alg: none`, real claims, empty signature", "unsigned tokens must be rejected", ["RFC 8725 §3.1", "CVE-2015-9235"], "pin the accepted algorithms; never accept `none`";
    "alg-none-capitalized", Signature, Reject, None, "alg None",
        "header `alg: None`, real claims, empty signature", "unsigned tokens must be rejected, whatever the case of `none`", ["RFC 8725 §3.1", "CVE-2015-9235"], "pin the accepted algorithms; compare `alg` exactly";
    "alg-none-uppercase", Signature, Reject, None, "alg NONE",
        "header `alg: NONE`, real claims, empty signature", "unsigned tokens must be rejected, whatever the case of `none`", ["RFC 8725 §3.1", "CVE-2015-9235"], "pin the accepted algorithms; compare `alg` exactly";
    "alg-none-mixed", Signature, Reject, None, "alg nOnE",
        "header `alg: nOnE`, real claims, empty signature", "unsigned tokens must be rejected, whatever the case of `none`", ["RFC 8725 §3.1", "CVE-2015-9235"], "pin the accepted algorithms; compare `alg` exactly";
    "signature-stripped", Signature, Reject, None, "Signature stripped",
        "`header.payload.` with the signature removed, `alg` unchanged", "a token without a signature must be rejected", ["CVE-2020-28042"], "require and verify the signature segment";
    "signature-invalid", Signature, Reject, None, "Signature corrupted",
        "a correct token whose signature bytes are corrupted", "the signature must verify", ["RFC 7515 §5.2"], "verify the signature before reading claims";
    "claims-tampered", Signature, Reject, None, "Claims tampered",
        "claims changed after signing (`sub` another user, `roles: [admin]`), original signature kept", "the signature covers the claims", ["OWASP API2"], "verify the signature over the received bytes";
    "alg-confusion-hs256", Signature, Reject, None, "Key confusion: RSA public key as HMAC secret (SPKI PEM)",
        "`alg: HS256` signed with HMAC whose secret is the issuer's public key as SPKI PEM", "the algorithm must come from the key, not the token", ["RFC 8725 §2.1", "RFC 8725 §3.1", "CVE-2016-10555"], "pin the algorithm per key; never use a public key as an HMAC secret";
    "alg-confusion-hs256-pkcs1", Signature, Reject, None, "Key confusion: RSA public key as HMAC secret (PKCS#1 PEM)",
        "`alg: HS256` signed with HMAC whose secret is the issuer's RSA public key as PKCS#1 PEM", "the algorithm must come from the key, not the token", ["RFC 8725 §2.1", "CVE-2016-10555"], "pin the algorithm per key; never use a public key as an HMAC secret";
    "alg-confusion-hs256-jwk", Signature, Reject, None, "Key confusion: public JWK as HMAC secret",
        "`alg: HS256` signed with HMAC whose secret is the issuer's published JWK as JSON", "the algorithm must come from the key, not the token", ["RFC 8725 §2.1", "CVE-2016-10555"], "pin the algorithm per key; never use a public key as an HMAC secret";
    "hmac-empty-secret", Signature, Reject, None, "HMAC with an empty secret",
        "HS256 signed with an empty secret", "tokens must be signed by a trusted key", ["CVE-2019-20933"], "refuse HMAC unless you configured the secret; never an empty one";
    "hmac-weak-secret", Signature, Reject, None, "HMAC with a dictionary secret",
        "HS256 signed with the secret `secret`", "tokens must be signed by a trusted key", ["RFC 8725 §3.5"], "refuse HMAC unless you configured a strong secret";
    "ecdsa-psychic-signature", Signature, Reject, None, "Psychic ECDSA signature",
        "ES256 token whose signature is r = s = 0", "an ECDSA signature with r or s zero is invalid", ["CVE-2022-21449"], "use a verifier that rejects r = 0 or s = 0 (patched JDK, maintained JOSE library)";
    "alg-key-mismatch", Signature, Reject, None, "Algorithm differs from the key's",
        "PS256 signature on the RSA key published for RS256", "the token's `alg` must be the one the key is for", ["RFC 8725 §3.1"], "take the algorithm from the JWK's `alg`, not from the token";
    "alg-key-mismatch-es256", Signature, Reject, None, "ES256 header naming an RSA key",
        "header `alg: ES256` naming the RSA key's kid, signed by a P-256 key", "the token's `alg` must be the one the key is for", ["RFC 8725 §3.1"], "take the algorithm from the JWK's `alg`, not from the token";
    "untrusted-key", Signature, Reject, None, "Signed by an unknown key under a known kid",
        "validly formed, signed by a key not in the JWKS, with the signer's kid", "the signature must verify under the published key", ["RFC 7515"], "verify with the key the kid names; fail when it does not verify";
    "key-from-other-issuer", Signature, Reject, None, "Another issuer's key",
        "`iss` this issuer, signed with another trusted issuer's published key", "the key must belong to the token's issuer", ["RFC 8725 §3.8"], "look keys up in the JWKS of the token's own issuer";
    "embedded-jwk", Signature, Reject, None, "Key embedded in the header",
        "attacker key in the `jwk` header, token signed with it", "keys come from configuration, never from the token", ["CVE-2018-0114"], "ignore the `jwk` header";
    "jku-injection", Signature, Reject, Some(Watch::HeaderUrlFetch), "JWKS URL in the header",
        "`jku` points at an attacker JWKS hosted by mockidp, token signed with the attacker key", "never fetch keys from a URL in the token", ["RFC 8725 §3.10", "OWASP API7"], "ignore `jku`; fetch keys only from the configured jwks_uri";
    "x5u-injection", Signature, Reject, Some(Watch::HeaderUrlFetch), "Certificate URL in the header",
        "`x5u` points at an attacker certificate hosted by mockidp, token signed with its key", "never fetch keys from a URL in the token", ["RFC 8725 §3.10"], "ignore `x5u`";
    "x5c-self-signed", Signature, Reject, None, "Self-signed certificate chain in the header",
        "self-signed certificate in `x5c`, token signed with its key", "a certificate chain must end at a trusted anchor", ["RFC 7515 §4.1.6"], "ignore `x5c`, or validate the chain against your trust anchors";
    "kid-unknown", Signature, Reject, None, "Unknown kid",
        "kid not in the JWKS, signed by the real key", "a kid that names no published key must not verify", [], "refetch the JWKS once on an unknown kid, then reject";
    "kid-path-traversal", Signature, Reject, None, "kid path traversal",
        "kid `../../../../../../dev/null`, HS256 signed with an empty key", "the kid is data, never a file path", ["RFC 8725 §3.10"], "look kids up in the JWKS only";
    "kid-sql-injection", Signature, Reject, None, "kid SQL injection",
        "kid `x' UNION SELECT '1';--`, HS256 signed with `1`", "the kid is data, never SQL", ["RFC 8725 §3.10"], "look kids up in the JWKS only; never build queries from them";
    "kid-command-injection", Signature, Reject, Some(Watch::Latency), "kid command injection",
        "kid `|sleep 5`, signed by the real key", "the kid is data, never a command; a slow answer is a finding", ["RFC 8725 §3.10"], "look kids up in the JWKS only; never pass them to a shell";
    "kid-empty", Signature, Reject, None, "Empty kid",
        "`kid: \"\"`, HS256 signed with an empty key", "an empty kid names no key", [], "reject tokens whose kid names no published key";
    "kid-absent-single-key", Signature, Accept, None, "No kid, one published key",
        "no kid while the JWKS holds exactly one key", "with a single key, a missing kid is fine", ["OpenID RP rp-id_token-kid-absent-single-jwks"], "use the only key when there is exactly one";
    "crit-unknown", Signature, Reject, None, "Unknown critical header",
        "`crit: [\"x-unknown\"]` with that header present, signed by the real key", "unknown critical extensions must be rejected", ["RFC 7515 §4.1.11"], "reject tokens whose `crit` lists anything you do not understand";
    "cty-unexpected", Signature, Reject, None, "Unexpected content type",
        "`cty: JWT` (a nested token) on a plain access token, signed by the real key", "an access token is not a nested JWT", ["RFC 8725 §2.8"], "reject unexpected `cty` values";
    // B. Claims.
    "expired", Claims, Reject, None, "Expired",
        "`exp` ten minutes in the past", "expired tokens must be rejected", ["RFC 7519 §4.1.4"], "check `exp` with a small leeway";
    "expired-within-leeway", Claims, Warn, None, "Expired within leeway",
        "`exp` 20 s in the past", "a small clock leeway is normal; report its size", [], "keep the leeway under a minute";
    "not-yet-valid", Claims, Reject, None, "Not yet valid",
        "`nbf` ten minutes ahead", "tokens must not be used before `nbf`", ["RFC 7519 §4.1.5"], "check `nbf`";
    "issued-in-future", Claims, Reject, None, "Issued in the future",
        "`iat` ten minutes ahead", "a token cannot be issued in the future", ["RFC 7519 §4.1.6"], "reject `iat` beyond now plus leeway";
    "exp-missing", Claims, Reject, None, "No exp",
        "no `exp`", "access tokens must expire", ["RFC 9068 §2.2"], "require `exp`";
    "lifetime-excessive", Claims, Warn, None, "Lifetime of a year",
        "`exp` a year ahead", "short-lived tokens limit the damage of a leak", ["RFC 8725 §3.10"], "cap the accepted lifetime";
    "iss-wrong", Claims, Reject, None, "Wrong issuer",
        "another issuer's URL in `iss`, signed by the real key", "`iss` must be the expected issuer", ["RFC 8725 §3.8"], "check `iss` exactly";
    "iss-missing", Claims, Reject, None, "No iss",
        "no `iss`", "access tokens must name their issuer", ["RFC 9068 §2.2"], "require `iss`";
    "iss-trailing-slash", Claims, Reject, None, "Issuer with a trailing slash",
        "the issuer with a trailing `/` added", "issuers are compared exactly", ["OIDC Core §3.1.3.7"], "compare `iss` as an exact string";
    "aud-wrong", Claims, Reject, None, "Another API's audience",
        "`aud` another API", "`aud` must name this API", ["RFC 8725 §3.9"], "check `aud`";
    "aud-missing", Claims, Reject, None, "No aud",
        "no `aud`", "access tokens must name their audience", ["RFC 9068 §2.2"], "require `aud`";
    "aud-array-without-target", Claims, Reject, None, "Audience array without this API",
        "`aud` an array of other audiences", "one of the audiences must be this API", ["RFC 7519 §4.1.3"], "check that `aud` contains this API";
    "sub-missing", Claims, Reject, None, "No sub",
        "no `sub`", "access tokens must name their subject", ["RFC 9068 §2.2"], "require `sub`";
    "id-token-as-access-token", Claims, Reject, None, "ID token as access token",
        "a real ID token for the same user (`typ: JWT`, `aud` the client id, `nonce`)", "ID tokens are for clients, not APIs", ["RFC 9068 §4", "RFC 8725 §3.11"], "accept only `typ: at+jwt` with this API's audience";
    "typ-not-at-jwt", Claims, Reject, None, "typ JWT instead of at+jwt",
        "the valid access token with `typ: JWT`", "RFC 9068 access tokens carry `typ: at+jwt` (warn if the API does not claim RFC 9068)", ["RFC 9068 §4"], "require `typ: at+jwt`";
    "scope-insufficient", Claims, Forbid, None, "Missing scope",
        "a valid token without the scope the endpoint needs", "the endpoint must check scopes", ["RFC 6750 §3.1", "OWASP API5"], "check the scope and answer 403 `insufficient_scope`";
    "subject-other-user", Claims, Forbid, None, "Another user's token",
        "a valid token for another user than the object's owner", "objects belong to their owners", ["OWASP API1"], "check that `sub` owns the object";
    "claim-type-confusion", Claims, Reject, None, "exp as a string",
        "`exp` as a string of digits, signed by the real key", "registered claims have fixed types", ["RFC 7519 §4.1.4", "jwt_tool claim fuzzing"], "deserialise claims strictly; reject wrong types";
    "claim-type-confusion-aud-number", Claims, Reject, None, "aud as a number",
        "`aud` as a number, signed by the real key", "registered claims have fixed types", ["RFC 7519 §4.1.3"], "deserialise claims strictly; reject wrong types";
    "claim-type-confusion-sub-null", Claims, Reject, None, "sub null",
        "`sub: null`, signed by the real key", "registered claims have fixed types", ["RFC 7519 §4.1.2"], "deserialise claims strictly; reject wrong types";
    "claim-type-confusion-boolean", Claims, Reject, None, "exp as a boolean",
        "`exp: true`, signed by the real key", "registered claims have fixed types", ["RFC 7519 §4.1.4"], "deserialise claims strictly; reject wrong types";
    "duplicate-claims", Claims, Reject, None, "Duplicate claim",
        "`sub` twice in the payload, the second another user, signed by the real key", "JSON with duplicate names must be rejected", ["RFC 8725 §3.7"], "use a JSON parser that rejects duplicate member names";
    // C. Malformed.
    "malformed-segments", Malformed, Reject, None, "Two segments",
        "`header.payload` without a second dot", "a JWS has three segments", [], "reject tokens that are not three segments";
    "malformed-segments-four", Malformed, Reject, None, "Four segments",
        "a valid token with a fourth segment appended", "a JWS has three segments", [], "reject tokens that are not three segments";
    "malformed-base64", Malformed, Reject, None, "Not base64url",
        "a header segment with characters outside base64url", "segments are base64url", [], "reject undecodable segments with 401, not 500";
    "malformed-json", Malformed, Reject, None, "Not JSON",
        "a header segment that decodes to something other than JSON", "the header is a JSON object", [], "reject unparsable tokens with 401, not 500";
    "not-a-jwt", Malformed, Reject, None, "Not a JWT",
        "a random opaque string", "an opaque string is not a JWT", [], "reject with 401, not 500";
    "empty-bearer", Malformed, Reject, None, "Empty bearer",
        "`Authorization: Bearer ` with nothing after it", "a missing token is no token", ["RFC 6750 §3"], "reject with 401 and a `WWW-Authenticate` challenge";
    "oversized", Malformed, Reject, Some(Watch::Latency), "64 KiB token",
        "a validly signed token of 64 KiB (a huge claim)", "handle huge tokens without harm", [], "limit header sizes; reject or handle quickly";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut ids: Vec<&str> = CATALOGUE.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "duplicate ids");
        for id in ids {
            assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{id}");
        }
    }

    #[test]
    fn unknown_ids_get_a_suggestion() {
        let err = find("alg-nnone").unwrap_err();
        assert_eq!(err.to_string(), "unknown pitfall `alg-nnone` (did you mean `alg-none`?)");
        assert_eq!(find("zzzzzzzzzzzz").unwrap_err().to_string(), "unknown pitfall `zzzzzzzzzzzz`");
    }
}
