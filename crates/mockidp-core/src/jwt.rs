//! JWT header and claims, named after RFC 7515 §4.1 and RFC 7519 §4.1.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Seconds since the Unix epoch (RFC 7519 §2).
pub type NumericDate = i64;

/// The JOSE header of a JWS (RFC 7515 §4.1). Any other parameter goes in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Algorithm (RFC 7515 §4.1.1). A string, not an enum, so the pitfall
    /// catalogue can write `none` or `nOnE`.
    pub alg: String,
    /// Media type of the whole JWS (RFC 7515 §4.1.9): `JWT`, or `at+jwt` for access tokens (RFC 9068 §2.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Key id (RFC 7515 §4.1.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Content type of the payload (RFC 7515 §4.1.10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cty: Option<String>,
    /// JWK Set URL (RFC 7515 §4.1.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jku: Option<String>,
    /// An embedded public key (RFC 7515 §4.1.3), kept as raw JSON so any key can be embedded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwk: Option<Value>,
    /// X.509 URL (RFC 7515 §4.1.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5u: Option<String>,
    /// X.509 certificate chain, base64 DER (RFC 7515 §4.1.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// X.509 SHA-1 thumbprint (RFC 7515 §4.1.7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    /// X.509 SHA-256 thumbprint (RFC 7515 §4.1.8).
    #[serde(rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
    /// Critical extensions the recipient must understand (RFC 7515 §4.1.11).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crit: Option<Vec<String>>,
    /// Every other header parameter.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `aud` is one string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, serialised as a string.
    One(String),
    /// Several audiences, serialised as an array.
    Many(Vec<String>),
}

impl Audience {
    /// A single audience.
    pub fn one(audience: impl Into<String>) -> Self {
        Audience::One(audience.into())
    }

    /// A single string for one audience, an array otherwise.
    pub fn from_list(mut audiences: Vec<String>) -> Self {
        if audiences.len() == 1 { Audience::One(audiences.remove(0)) } else { Audience::Many(audiences) }
    }

    /// Whether `audience` is among them.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Audience::One(one) => one == audience,
            Audience::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

/// JWT claims (RFC 7519 §4.1); anything else goes in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer (RFC 7519 §4.1.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject (RFC 7519 §4.1.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience (RFC 7519 §4.1.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiration time (RFC 7519 §4.1.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<NumericDate>,
    /// Not before (RFC 7519 §4.1.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<NumericDate>,
    /// Issued at (RFC 7519 §4.1.6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<NumericDate>,
    /// JWT id (RFC 7519 §4.1.7).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Every other claim: `scope`, `client_id`, `nonce`, custom claims.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Claims {
    /// No claims at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `iss`.
    #[must_use]
    pub fn with_iss(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }

    /// Sets `sub`.
    #[must_use]
    pub fn with_sub(mut self, sub: impl Into<String>) -> Self {
        self.sub = Some(sub.into());
        self
    }

    /// Sets `aud`.
    #[must_use]
    pub fn with_aud(mut self, aud: Audience) -> Self {
        self.aud = Some(aud);
        self
    }

    /// Sets any claim by name; the registered names land in their typed
    /// field, so no claim can be serialised twice.
    pub fn set(&mut self, name: &str, value: Value) -> Result<(), serde_json::Error> {
        let mut object = match serde_json::to_value(&*self)? {
            Value::Object(object) => object,
            _ => unreachable!("claims serialise to an object"),
        };
        object.insert(name.to_owned(), value);
        *self = serde_json::from_value(Value::Object(object))?;
        Ok(())
    }

    /// Removes a claim by name; returns whether it was present.
    pub fn remove(&mut self, name: &str) -> bool {
        match name {
            "iss" => self.iss.take().is_some(),
            "sub" => self.sub.take().is_some(),
            "aud" => self.aud.take().is_some(),
            "exp" => self.exp.take().is_some(),
            "nbf" => self.nbf.take().is_some(),
            "iat" => self.iat.take().is_some(),
            "jti" => self.jti.take().is_some(),
            other => self.extra.remove(other).is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_routes_registered_names_to_their_fields() {
        let mut claims = Claims::new();
        claims.set("exp", json!(42)).unwrap();
        claims.set("role", json!("admin")).unwrap();
        assert_eq!(claims.exp, Some(42));
        assert_eq!(claims.extra["role"], json!("admin"));
        assert_eq!(serde_json::to_string(&claims).unwrap(), r#"{"exp":42,"role":"admin"}"#);
    }

    #[test]
    fn set_refuses_a_wrong_type_for_a_registered_claim() {
        let mut claims = Claims::new();
        assert!(claims.set("exp", json!("tomorrow")).is_err());
        assert_eq!(claims, Claims::new());
    }

    #[test]
    fn audience_serialises_as_string_or_array() {
        assert_eq!(serde_json::to_value(Audience::from_list(vec!["a".into()])).unwrap(), json!("a"));
        assert_eq!(serde_json::to_value(Audience::from_list(vec!["a".into(), "b".into()])).unwrap(), json!(["a", "b"]));
    }
}
