//! The token forge: assembles and signs compact JWS tokens.

use std::sync::Arc;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::{Algorithm, Audience, Claims, Clock, Error, ErrorKind, Header, SigningKey, SystemClock};

/// base64url without padding (RFC 7515 §2).
pub fn b64url(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` if it is not.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Builds one signed JWT: any header parameter, any claim, any key.
///
/// Unless told otherwise, `sign` fills in `iat` (now), `exp` (now + the
/// lifetime, one hour by default) and a random `jti`; [`TokenBuilder::without_claim`]
/// keeps one of them out. Time comes from the injected [`Clock`].
#[derive(Debug, Clone)]
#[must_use = "a TokenBuilder does nothing until `.sign()`"]
pub struct TokenBuilder {
    key: SigningKey,
    alg: Algorithm,
    header: Header,
    claims: Claims,
    lifetime_secs: i64,
    clock: Arc<dyn Clock>,
    omitted: Vec<String>,
}

impl TokenBuilder {
    /// A builder signing with `key` under its own algorithm and kid, `typ: JWT`, no claims.
    pub fn new(key: &SigningKey) -> Self {
        Self {
            key: key.clone(),
            alg: key.alg(),
            header: Header {
                alg: key.alg().as_str().to_owned(),
                typ: Some("JWT".to_owned()),
                kid: Some(key.kid().as_str().to_owned()),
                ..Header::default()
            },
            claims: Claims::new(),
            lifetime_secs: 3600,
            clock: Arc::new(SystemClock),
            omitted: Vec::new(),
        }
    }

    /// Signs with another algorithm the key supports; sets the header `alg` to match.
    pub fn with_alg(mut self, alg: Algorithm) -> Self {
        self.alg = alg;
        self.header.alg = alg.as_str().to_owned();
        self
    }

    /// Replaces the whole header. `sign` signs it as given, `alg` included.
    pub fn with_header(mut self, header: Header) -> Self {
        self.header = header;
        self
    }

    /// The header, for changes the other methods do not cover.
    pub fn header_mut(&mut self) -> &mut Header {
        &mut self.header
    }

    /// Sets `typ` (`at+jwt` for RFC 9068 access tokens).
    pub fn with_typ(mut self, typ: impl Into<String>) -> Self {
        self.header.typ = Some(typ.into());
        self
    }

    /// Sets or, with `None`, removes `kid`.
    pub fn with_kid(mut self, kid: Option<&str>) -> Self {
        self.header.kid = kid.map(str::to_owned);
        self
    }

    /// Sets any header parameter by name (`jku`, `crit`, `x-custom`, …);
    /// registered names land in their typed field.
    pub fn with_header_param(mut self, name: &str, value: Value) -> Result<Self, Error> {
        let mut object = match serde_json::to_value(&self.header) {
            Ok(Value::Object(object)) => object,
            _ => unreachable!("a header serialises to an object"),
        };
        object.insert(name.to_owned(), value);
        self.header = serde_json::from_value(Value::Object(object))
            .map_err(|err| Error::new(ErrorKind::Serialization, format!("header parameter `{name}`: {err}")))?;
        Ok(self)
    }

    /// Replaces the claims.
    pub fn with_claims(mut self, claims: Claims) -> Self {
        self.claims = claims;
        self
    }

    /// The claims, for changes the other methods do not cover.
    pub fn claims_mut(&mut self) -> &mut Claims {
        &mut self.claims
    }

    /// Sets `iss`.
    pub fn with_issuer(mut self, iss: impl Into<String>) -> Self {
        self.claims.iss = Some(iss.into());
        self
    }

    /// Sets `sub`.
    pub fn with_subject(mut self, sub: impl Into<String>) -> Self {
        self.claims.sub = Some(sub.into());
        self
    }

    /// Sets `aud`.
    pub fn with_audience(mut self, aud: Audience) -> Self {
        self.claims.aud = Some(aud);
        self
    }

    /// Sets `scope`, space-separated (RFC 8693 §4.2).
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.claims.extra.insert("scope".to_owned(), Value::String(scope.into()));
        self
    }

    /// Sets any claim by name; registered names land in their typed field.
    pub fn with_claim(mut self, name: &str, value: Value) -> Result<Self, Error> {
        self.claims
            .set(name, value)
            .map_err(|err| Error::new(ErrorKind::Serialization, format!("claim `{name}`: {err}")))?;
        self.omitted.retain(|omitted| omitted != name);
        Ok(self)
    }

    /// Removes a claim and keeps `sign` from filling it in again.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self.omitted.push(name.to_owned());
        self
    }

    /// The lifetime `sign` uses for `exp` when it is not set, in seconds.
    pub fn with_lifetime_secs(mut self, lifetime_secs: i64) -> Self {
        self.lifetime_secs = lifetime_secs;
        self
    }

    /// Where "now" comes from.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The claims as they will be signed, defaults filled in.
    pub fn finished_claims(&self) -> Result<Claims, Error> {
        let mut claims = self.claims.clone();
        let now = self.clock.now();
        let keep = |name: &str| !self.omitted.iter().any(|omitted| omitted == name);
        if claims.iat.is_none() && keep("iat") {
            claims.iat = Some(now);
        }
        if claims.exp.is_none() && keep("exp") {
            claims.exp = Some(claims.iat.unwrap_or(now).saturating_add(self.lifetime_secs));
        }
        if claims.jti.is_none() && keep("jti") {
            let mut id = [0u8; 16];
            getrandom::fill(&mut id)
                .map_err(|err| Error::new(ErrorKind::Signing, format!("the system RNG failed: {err}")))?;
            claims.jti = Some(b64url(id));
        }
        Ok(claims)
    }

    /// Serialises, signs and returns the compact JWS `header.payload.signature`.
    pub fn sign(self) -> Result<String, Error> {
        let claims = self.finished_claims()?;
        let header = serde_json::to_vec(&self.header)
            .map_err(|err| Error::new(ErrorKind::Serialization, format!("header: {err}")))?;
        let payload = serde_json::to_vec(&claims)
            .map_err(|err| Error::new(ErrorKind::Serialization, format!("claims: {err}")))?;
        let signing_input = format!("{}.{}", b64url(header), b64url(payload));
        let signature = self.key.sign_as(self.alg, signing_input.as_bytes())?;
        Ok(format!("{signing_input}.{}", b64url(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedClock;
    use serde_json::json;

    fn decode_segment(token: &str, index: usize) -> Value {
        let segment = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&b64url_decode(segment).unwrap()).unwrap()
    }

    #[test]
    fn fills_times_from_the_clock() {
        let key = SigningKey::generate(Algorithm::HS256).unwrap();
        let token =
            TokenBuilder::new(&key).with_clock(Arc::new(FixedClock(1_000))).with_lifetime_secs(60).sign().unwrap();
        let claims = decode_segment(&token, 1);
        assert_eq!(claims["iat"], json!(1_000));
        assert_eq!(claims["exp"], json!(1_060));
        assert_eq!(claims["jti"].as_str().unwrap().len(), 22);
    }

    #[test]
    fn without_claim_stays_out() {
        let key = SigningKey::generate(Algorithm::HS256).unwrap();
        let token = TokenBuilder::new(&key).without_claim("exp").sign().unwrap();
        let claims = decode_segment(&token, 1);
        assert!(claims.get("exp").is_none());
        assert!(claims.get("iat").is_some());
    }

    #[test]
    fn header_params_of_any_kind() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let token = TokenBuilder::new(&key)
            .with_typ("at+jwt")
            .with_header_param("jku", json!("http://127.0.0.1/jwks"))
            .unwrap()
            .with_header_param("crit", json!(["x-custom"]))
            .unwrap()
            .with_header_param("x-custom", json!(1))
            .unwrap()
            .sign()
            .unwrap();
        let header = decode_segment(&token, 0);
        assert_eq!(header["typ"], json!("at+jwt"));
        assert_eq!(header["jku"], json!("http://127.0.0.1/jwks"));
        assert_eq!(header["crit"], json!(["x-custom"]));
        assert_eq!(header["x-custom"], json!(1));
        assert_eq!(header["kid"], json!(key.kid().as_str()));
    }
}
