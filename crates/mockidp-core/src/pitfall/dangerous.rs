//! Forging broken tokens. Everything here emits something deliberately
//! wrong; every entry point is named `insecure_*` so a search finds them all.
//!
//! Tokens that `jsonwebtoken` or the [`TokenBuilder`] cannot produce (no
//! signature, a duplicated JSON member, bad base64, a claim of the wrong
//! type) are assembled from bytes here.

use base64::{Engine as _, engine::general_purpose::STANDARD};
use serde_json::{Map, Value, json};

use super::{Forged, Hosted, PitfallContext, PitfallError, x509};
use crate::{Algorithm, Audience, JwkSet, KeyFamily, KeyPool, SigningKey, TokenBuilder, b64url, b64url_decode};

/// One hour, ten minutes, a year: the offsets the catalogue uses.
const TEN_MINUTES: i64 = 600;
const ONE_YEAR: i64 = 365 * 24 * 3600;
/// The target size of `oversized`.
const OVERSIZED_BYTES: usize = 64 * 1024;

type Result<T> = std::result::Result<T, PitfallError>;

/// Forges the case `id` for `ctx`.
pub fn insecure_forge(id: &str, ctx: &PitfallContext<'_>) -> Result<Forged> {
    let pitfall = super::find(id)?;
    let forge = Forge { id: pitfall.id, ctx, attacker: std::cell::RefCell::new(None) };
    let (token, hosted) = match pitfall.id {
        "valid" => (forge.sign(forge.valid()?)?, None),
        "alg-none" => (forge.insecure_unsigned("none")?, None),
        "alg-none-capitalized" => (forge.insecure_unsigned("None")?, None),
        "alg-none-uppercase" => (forge.insecure_unsigned("NONE")?, None),
        "alg-none-mixed" => (forge.insecure_unsigned("nOnE")?, None),
        "signature-stripped" => {
            let token = forge.sign(forge.valid()?)?;
            let (signing_input, _) = token.rsplit_once('.').expect("a signed token has three segments");
            (format!("{signing_input}."), None)
        }
        "signature-invalid" => (forge.insecure_corrupt_signature()?, None),
        "claims-tampered" => (forge.insecure_tamper_claims()?, None),
        "alg-confusion-hs256" => (forge.insecure_key_confusion(Encoding::Spki)?, None),
        "alg-confusion-hs256-pkcs1" => (forge.insecure_key_confusion(Encoding::Pkcs1)?, None),
        "alg-confusion-hs256-jwk" => (forge.insecure_key_confusion(Encoding::Jwk)?, None),
        "hmac-empty-secret" => (forge.insecure_hmac(b"", None)?, None),
        "hmac-weak-secret" => (forge.insecure_hmac(b"secret", None)?, None),
        "ecdsa-psychic-signature" => (forge.insecure_psychic_signature()?, None),
        "alg-key-mismatch" => (forge.insecure_alg_key_mismatch()?, None),
        "alg-key-mismatch-es256" => (forge.insecure_es256_on_rsa_kid()?, None),
        "untrusted-key" => {
            let signer = forge.signer()?;
            let attacker = forge.attacker("untrusted", signer.alg())?;
            (forge.sign(forge.valid_with(&attacker).with_kid(Some(signer.kid().as_str())))?, None)
        }
        "key-from-other-issuer" => {
            let (_, key) = forge.ctx.other_issuer.as_ref().ok_or_else(|| {
                forge.not_applicable(
                    "no second issuer: this case needs another issuer on the same server that the API also trusts"
                        .to_owned(),
                )
            })?;
            (forge.sign(forge.valid_with(key))?, None)
        }
        "embedded-jwk" => (forge.insecure_embedded_jwk()?, None),
        "jku-injection" => forge.insecure_jku()?,
        "x5u-injection" => forge.insecure_x5u()?,
        "x5c-self-signed" => (forge.insecure_x5c()?, None),
        "kid-unknown" => (forge.sign(forge.valid()?.with_kid(Some("mockidp-unknown-kid")))?, None),
        "kid-path-traversal" => (forge.insecure_hmac(b"", Some("../../../../../../dev/null"))?, None),
        "kid-sql-injection" => (forge.insecure_hmac(b"1", Some("x' UNION SELECT '1';--"))?, None),
        "kid-command-injection" => (forge.sign(forge.valid()?.with_kid(Some("|sleep 5")))?, None),
        "kid-empty" => (forge.insecure_hmac(b"", Some(""))?, None),
        "kid-absent-single-key" => {
            let published = forge.ctx.keys.jwks().keys.len();
            if published != 1 {
                return Err(
                    forge.not_applicable(format!("the JWKS holds {published} keys; this case needs exactly one"))
                );
            }
            (forge.sign(forge.valid()?.with_kid(None))?, None)
        }
        "crit-unknown" => {
            let builder =
                forge.valid()?.with_header_param("crit", json!(["x-unknown"])).map_err(|e| forge.failed(e))?;
            let builder = builder.with_header_param("x-unknown", json!(true)).map_err(|e| forge.failed(e))?;
            (forge.sign(builder)?, None)
        }
        "cty-unexpected" => {
            (forge.sign(forge.valid()?.with_header_param("cty", json!("JWT")).map_err(|e| forge.failed(e))?)?, None)
        }
        "expired" => (forge.sign(forge.with_times(forge.now() - TEN_MINUTES - forge.ctx.lifetime_secs, None)?)?, None),
        "expired-within-leeway" => {
            (forge.sign(forge.with_times(forge.now() - 20 - forge.ctx.lifetime_secs, None)?)?, None)
        }
        "not-yet-valid" => (forge.sign(forge.with_times(forge.now(), Some(forge.now() + TEN_MINUTES))?)?, None),
        "issued-in-future" => (forge.sign(forge.with_times(forge.now() + TEN_MINUTES, None)?)?, None),
        "exp-missing" => (forge.sign(forge.valid()?.without_claim("exp"))?, None),
        "lifetime-excessive" => {
            let now = forge.now();
            let builder = forge.valid()?.with_claim("iat", json!(now)).map_err(|e| forge.failed(e))?;
            (forge.sign(builder.with_claim("exp", json!(now + ONE_YEAR)).map_err(|e| forge.failed(e))?)?, None)
        }
        "iss-wrong" => (forge.sign(forge.valid()?.with_issuer(forge.wrong_issuer()))?, None),
        "iss-missing" => (forge.sign(forge.valid()?.without_claim("iss"))?, None),
        "iss-trailing-slash" => {
            let issuer = &forge.ctx.issuer;
            let other = match issuer.strip_suffix('/') {
                Some(without) => without.to_owned(),
                None => format!("{issuer}/"),
            };
            (forge.sign(forge.valid()?.with_issuer(other))?, None)
        }
        "aud-wrong" => (forge.sign(forge.valid()?.with_audience(Audience::one(forge.other_audience(1))))?, None),
        "aud-missing" => (forge.sign(forge.valid()?.without_claim("aud"))?, None),
        "aud-array-without-target" => {
            let audiences = vec![forge.other_audience(1), forge.other_audience(2)];
            (forge.sign(forge.valid()?.with_audience(Audience::Many(audiences)))?, None)
        }
        "sub-missing" => (forge.sign(forge.valid()?.without_claim("sub"))?, None),
        "id-token-as-access-token" => (forge.insecure_id_token()?, None),
        "typ-not-at-jwt" => (forge.sign(forge.valid()?.with_typ("JWT"))?, None),
        "scope-insufficient" => (forge.insecure_scope_insufficient()?, None),
        "subject-other-user" => (forge.sign(forge.valid()?.with_subject(forge.ctx.other_subject.clone()))?, None),
        "claim-type-confusion" => {
            let exp = forge.valid_claims()?["exp"].as_i64().unwrap_or_default();
            (forge.insecure_claim("exp", json!(exp.to_string()))?, None)
        }
        "claim-type-confusion-aud-number" => (forge.insecure_claim("aud", json!(12345))?, None),
        "claim-type-confusion-sub-null" => (forge.insecure_claim("sub", Value::Null)?, None),
        "claim-type-confusion-boolean" => (forge.insecure_claim("exp", json!(true))?, None),
        "duplicate-claims" => (forge.insecure_duplicate_sub()?, None),
        "malformed-segments" => {
            let token = forge.sign(forge.valid()?)?;
            let (signing_input, _) = token.rsplit_once('.').expect("three segments");
            (signing_input.to_owned(), None)
        }
        "malformed-segments-four" => (format!("{}.{}", forge.sign(forge.valid()?)?, b64url(b"extra")), None),
        "malformed-base64" => {
            let token = forge.sign(forge.valid()?)?;
            let (_, rest) = token.split_once('.').expect("three segments");
            (format!("eyJ!!!not*base64url$$$.{rest}"), None)
        }
        "malformed-json" => {
            let token = forge.sign(forge.valid()?)?;
            let (_, rest) = token.split_once('.').expect("three segments");
            (format!("{}.{rest}", b64url(br#"{"alg":"RS256","typ":"at+jwt""#)), None)
        }
        "not-a-jwt" => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| forge.failed(e))?;
            (format!("mockidp-opaque-{}", b64url(bytes)), None)
        }
        "empty-bearer" => (String::new(), None),
        "oversized" => (forge.insecure_oversized()?, None),
        other => unreachable!("catalogue case `{other}` has no forger (a test checks every id)"),
    };
    Ok(Forged { id: pitfall.id, token, hosted, signing_key: forge.attacker.into_inner() })
}

/// The encodings of a public key used as an HMAC secret.
enum Encoding {
    Spki,
    Pkcs1,
    Jwk,
}

struct Forge<'c, 'k> {
    id: &'static str,
    ctx: &'c PitfallContext<'k>,
    /// The public half of the unpublished key a case signed with, if any.
    attacker: std::cell::RefCell<Option<crate::Jwk>>,
}

impl Forge<'_, '_> {
    fn failed(&self, err: impl std::fmt::Display) -> PitfallError {
        PitfallError::Forge { id: self.id, message: err.to_string() }
    }

    fn not_applicable(&self, reason: String) -> PitfallError {
        PitfallError::NotApplicable { id: self.id, reason }
    }

    fn now(&self) -> i64 {
        self.ctx.clock.now()
    }

    fn signer(&self) -> Result<&SigningKey> {
        self.ctx.keys.signer().ok_or_else(|| self.not_applicable("the issuer has no keys".into()))
    }

    /// A key nobody trusts, the same for the whole process per purpose.
    fn attacker(&self, purpose: &str, alg: Algorithm) -> Result<SigningKey> {
        let key = KeyPool::process().get(&format!("pitfall/{purpose}"), alg).map_err(|e| self.failed(e))?;
        *self.attacker.borrow_mut() = key.public_jwk();
        Ok(key)
    }

    /// The valid token's builder, signed by the issuer's signer.
    fn valid(&self) -> Result<TokenBuilder> {
        Ok(self.valid_with(self.signer()?))
    }

    /// The valid token's builder, signed by `key`.
    fn valid_with(&self, key: &SigningKey) -> TokenBuilder {
        let ctx = self.ctx;
        let mut builder = TokenBuilder::new(key)
            .with_typ("at+jwt")
            .with_clock(ctx.clock.clone())
            .with_lifetime_secs(ctx.lifetime_secs)
            .with_issuer(ctx.issuer.clone())
            .with_subject(ctx.subject.clone())
            .with_audience(Audience::one(ctx.audience.clone()));
        builder.claims_mut().extra.insert("client_id".into(), json!(ctx.client_id));
        if !ctx.scopes.is_empty() {
            builder = builder.with_scope(ctx.scopes.join(" "));
        }
        builder
    }

    fn valid_claims(&self) -> Result<Map<String, Value>> {
        let claims = self.valid()?.finished_claims().map_err(|e| self.failed(e))?;
        match serde_json::to_value(claims).map_err(|e| self.failed(e))? {
            Value::Object(map) => Ok(map),
            _ => unreachable!("claims serialise to an object"),
        }
    }

    fn valid_header(&self) -> Result<Value> {
        let signer = self.signer()?;
        Ok(json!({ "alg": signer.alg().as_str(), "typ": "at+jwt", "kid": signer.kid().as_str() }))
    }

    fn sign(&self, builder: TokenBuilder) -> Result<String> {
        builder.sign().map_err(|e| self.failed(e))
    }

    /// Valid claims with `iat` (and `exp` one lifetime later) and optionally `nbf`.
    fn with_times(&self, iat: i64, nbf: Option<i64>) -> Result<TokenBuilder> {
        let mut builder = self.valid()?.with_claim("iat", json!(iat)).map_err(|e| self.failed(e))?;
        let start = nbf.unwrap_or(iat);
        builder = builder.with_claim("exp", json!(start + self.ctx.lifetime_secs)).map_err(|e| self.failed(e))?;
        if let Some(nbf) = nbf {
            builder = builder.with_claim("nbf", json!(nbf)).map_err(|e| self.failed(e))?;
        }
        Ok(builder)
    }

    /// `header.payload.signature` from raw JSON, signed by `key` with `alg`.
    fn insecure_assemble(&self, header: &Value, payload: &[u8], key: &SigningKey, alg: Algorithm) -> Result<String> {
        let header = serde_json::to_vec(header).map_err(|e| self.failed(e))?;
        let signing_input = format!("{}.{}", b64url(header), b64url(payload));
        let signature = key.sign_as(alg, signing_input.as_bytes()).map_err(|e| self.failed(e))?;
        Ok(format!("{signing_input}.{}", b64url(signature)))
    }

    /// The valid claims under an unsigned header with this spelling of `none`.
    fn insecure_unsigned(&self, none: &str) -> Result<String> {
        let header = serde_json::to_vec(&json!({ "alg": none, "typ": "at+jwt" })).map_err(|e| self.failed(e))?;
        let payload = serde_json::to_vec(&self.valid_claims()?).map_err(|e| self.failed(e))?;
        Ok(format!("{}.{}.", b64url(header), b64url(payload)))
    }

    fn insecure_corrupt_signature(&self) -> Result<String> {
        let token = self.sign(self.valid()?)?;
        let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
        let mut bytes = b64url_decode(signature).expect("our own signature is base64url");
        // Flip a bit in the middle: the length stays right, the value does not.
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        Ok(format!("{signing_input}.{}", b64url(bytes)))
    }

    fn insecure_tamper_claims(&self) -> Result<String> {
        let token = self.sign(self.valid()?)?;
        let mut parts: Vec<&str> = token.split('.').collect();
        let mut claims = self.decode_claims(parts[1])?;
        claims.insert("sub".into(), json!(self.ctx.other_subject));
        claims.insert("roles".into(), json!(["admin"]));
        let tampered = b64url(serde_json::to_vec(&claims).map_err(|e| self.failed(e))?);
        parts[1] = &tampered;
        Ok(parts.join("."))
    }

    fn decode_claims(&self, segment: &str) -> Result<Map<String, Value>> {
        let bytes = b64url_decode(segment).ok_or_else(|| self.failed("payload is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|e| self.failed(e))
    }

    /// The first RSA key of the issuer, else its signer.
    fn public_key_for_confusion(&self) -> Result<&SigningKey> {
        let keys = self.ctx.keys.keys();
        match keys.iter().find(|key| key.alg().family() == KeyFamily::Rsa) {
            Some(key) => Ok(key),
            None => self.signer(),
        }
    }

    fn insecure_key_confusion(&self, encoding: Encoding) -> Result<String> {
        let key = self.public_key_for_confusion()?;
        let secret = match encoding {
            Encoding::Spki => key.public_spki_pem(),
            Encoding::Pkcs1 => key.public_pkcs1_pem(),
            Encoding::Jwk => key.public_jwk().and_then(|jwk| serde_json::to_string(&jwk).ok()),
        }
        .ok_or_else(|| {
            self.not_applicable(format!(
                "the issuer has no public key in this encoding (its signer is `{}`)",
                key.alg()
            ))
        })?;
        let hmac = SigningKey::hmac(Algorithm::HS256, secret.into_bytes()).map_err(|e| self.failed(e))?;
        // The kid names the public key, as an attacker would: a vulnerable
        // library finds that key and uses its bytes as the HMAC secret.
        self.sign(self.valid_with(&hmac).with_kid(Some(key.kid().as_str())))
    }

    fn insecure_hmac(&self, secret: &[u8], kid: Option<&str>) -> Result<String> {
        let hmac = SigningKey::hmac(Algorithm::HS256, secret.to_vec()).map_err(|e| self.failed(e))?;
        self.sign(self.valid_with(&hmac).with_kid(kid))
    }

    fn insecure_psychic_signature(&self) -> Result<String> {
        let key = self.ctx.keys.for_alg(Algorithm::ES256).ok_or_else(|| {
            self.not_applicable("the issuer publishes no ES256 key; add one to its `keys`".to_owned())
        })?;
        let header = json!({ "alg": "ES256", "typ": "at+jwt", "kid": key.kid().as_str() });
        let header = serde_json::to_vec(&header).map_err(|e| self.failed(e))?;
        let payload = serde_json::to_vec(&self.valid_claims()?).map_err(|e| self.failed(e))?;
        Ok(format!("{}.{}.{}", b64url(header), b64url(payload), b64url([0u8; 64])))
    }

    fn rsa_key(&self) -> Result<&SigningKey> {
        self.ctx
            .keys
            .keys()
            .iter()
            .find(|key| key.alg().family() == KeyFamily::Rsa)
            .ok_or_else(|| self.not_applicable("the issuer publishes no RSA key; add one to its `keys`".to_owned()))
    }

    fn insecure_alg_key_mismatch(&self) -> Result<String> {
        let key = self.rsa_key()?;
        // PS256 on a key published for RS*; RS256 on a key published for PS*.
        let other = if key.alg().as_str().starts_with("RS") { Algorithm::PS256 } else { Algorithm::RS256 };
        self.sign(self.valid_with(key).with_alg(other))
    }

    fn insecure_es256_on_rsa_kid(&self) -> Result<String> {
        let rsa = self.rsa_key()?;
        let attacker = self.attacker("es256-on-rsa", Algorithm::ES256)?;
        self.sign(self.valid_with(&attacker).with_kid(Some(rsa.kid().as_str())))
    }

    /// An attacker key of the signer's family (ES256 when the signer is HMAC).
    fn attacker_like_signer(&self, purpose: &str) -> Result<SigningKey> {
        let alg = self.signer()?.alg();
        self.attacker(purpose, if alg.is_symmetric() { Algorithm::ES256 } else { alg })
    }

    fn insecure_embedded_jwk(&self) -> Result<String> {
        let attacker = self.attacker_like_signer("embedded-jwk")?;
        let jwk =
            serde_json::to_value(attacker.public_jwk().expect("an asymmetric key")).map_err(|e| self.failed(e))?;
        self.sign(self.valid_with(&attacker).with_header_param("jwk", jwk).map_err(|e| self.failed(e))?)
    }

    fn hosted_url(&self) -> Result<&str> {
        self.ctx.hosted_url.as_deref().ok_or_else(|| {
            self.not_applicable(
                "no URL to host the attacker's material at (use the provider, not the bare catalogue)".into(),
            )
        })
    }

    fn insecure_jku(&self) -> Result<(String, Option<Hosted>)> {
        let url = format!("{}/jwks.json", self.hosted_url()?);
        let attacker = self.attacker_like_signer("jku")?;
        let jwks = JwkSet { keys: vec![attacker.public_jwk().expect("an asymmetric key")] };
        let jwks = serde_json::to_string(&jwks).map_err(|e| self.failed(e))?;
        let token =
            self.sign(self.valid_with(&attacker).with_header_param("jku", json!(url)).map_err(|e| self.failed(e))?)?;
        Ok((token, Some(Hosted::Jwks(jwks))))
    }

    /// An attacker key that can carry a certificate: the signer's family
    /// when that is RSA or a NIST curve, else ES256.
    fn certificate_key(&self, purpose: &str) -> Result<SigningKey> {
        let alg = self.signer()?.alg();
        let alg = match alg.family() {
            KeyFamily::Rsa | KeyFamily::EcP256 | KeyFamily::EcP384 => alg,
            KeyFamily::Ed25519 | KeyFamily::Hmac => Algorithm::ES256,
        };
        self.attacker(purpose, alg)
    }

    fn insecure_x5u(&self) -> Result<(String, Option<Hosted>)> {
        let url = format!("{}/cert.pem", self.hosted_url()?);
        let attacker = self.certificate_key("x5u")?;
        let (_, pem) = x509::self_signed(&attacker).map_err(|e| self.failed(e))?;
        let builder = self
            .valid_with(&attacker)
            .with_kid(None)
            .with_header_param("x5u", json!(url))
            .map_err(|e| self.failed(e))?;
        Ok((self.sign(builder)?, Some(Hosted::Certificate(pem))))
    }

    fn insecure_x5c(&self) -> Result<String> {
        let attacker = self.certificate_key("x5c")?;
        let (der, _) = x509::self_signed(&attacker).map_err(|e| self.failed(e))?;
        let builder = self
            .valid_with(&attacker)
            .with_kid(None)
            .with_header_param("x5c", json!([STANDARD.encode(der)]))
            .map_err(|e| self.failed(e))?;
        self.sign(builder)
    }

    fn wrong_issuer(&self) -> String {
        match &self.ctx.other_issuer {
            Some((url, _)) => url.clone(),
            None => format!("{}-other", self.ctx.issuer.trim_end_matches('/')),
        }
    }

    fn other_audience(&self, n: usize) -> String {
        format!("{}-other-{n}", self.ctx.audience)
    }

    fn insecure_id_token(&self) -> Result<String> {
        let ctx = self.ctx;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| self.failed(e))?;
        let mut builder = TokenBuilder::new(self.signer()?)
            .with_clock(ctx.clock.clone())
            .with_lifetime_secs(ctx.lifetime_secs)
            .with_issuer(ctx.issuer.clone())
            .with_subject(ctx.subject.clone())
            .with_audience(Audience::one(ctx.client_id.clone()))
            .without_claim("jti");
        let claims = builder.claims_mut();
        claims.extra.insert("azp".into(), json!(ctx.client_id));
        claims.extra.insert("auth_time".into(), json!(self.now()));
        claims.extra.insert("nonce".into(), json!(b64url(nonce)));
        self.sign(builder)
    }

    fn insecure_scope_insufficient(&self) -> Result<String> {
        let ctx = self.ctx;
        let required = match (&ctx.required_scope, ctx.scopes.last()) {
            (Some(required), _) => required.clone(),
            (None, Some(last)) => last.clone(),
            (None, None) => {
                return Err(self.not_applicable("no scope to leave out: give the endpoint's required scope".into()));
            }
        };
        let remaining: Vec<&String> = ctx.scopes.iter().filter(|scope| **scope != required).collect();
        let mut builder = self.valid()?;
        builder.claims_mut().extra.remove("scope");
        if !remaining.is_empty() {
            builder = builder.with_scope(remaining.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
        }
        self.sign(builder)
    }

    /// The valid token with one claim replaced by raw JSON of the wrong type.
    fn insecure_claim(&self, name: &str, value: Value) -> Result<String> {
        let mut claims = self.valid_claims()?;
        claims.insert(name.to_owned(), value);
        let payload = serde_json::to_vec(&claims).map_err(|e| self.failed(e))?;
        let signer = self.signer()?;
        self.insecure_assemble(&self.valid_header()?, &payload, signer, signer.alg())
    }

    /// The valid payload with `sub` a second time, naming another user.
    fn insecure_duplicate_sub(&self) -> Result<String> {
        let claims = self.valid_claims()?;
        let mut payload = serde_json::to_string(&claims).map_err(|e| self.failed(e))?;
        payload.pop(); // the closing brace
        payload.push_str(&format!(",\"sub\":{}}}", json!(self.ctx.other_subject)));
        let signer = self.signer()?;
        self.insecure_assemble(&self.valid_header()?, payload.as_bytes(), signer, signer.alg())
    }

    fn insecure_oversized(&self) -> Result<String> {
        // base64url grows text by 4/3; leave room for the other claims.
        let padding = "x".repeat(OVERSIZED_BYTES * 3 / 4 - 1024);
        let builder = self.valid()?.with_claim("padding", json!(padding)).map_err(|e| self.failed(e))?;
        self.sign(builder)
    }
}
