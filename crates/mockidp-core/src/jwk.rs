//! JSON Web Keys (RFC 7517) with public parameters only.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::forge::b64url;

/// One public JSON Web Key (RFC 7517 §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// The key-type specific parameters, including `kty` (RFC 7517 §4.1).
    #[serde(flatten)]
    pub params: JwkParams,
    /// Intended use, `sig` for every key mockidp publishes (RFC 7517 §4.2).
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// The algorithm the key is for (RFC 7517 §4.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// The key id (RFC 7517 §4.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// The parameters of each key type (RFC 7518 §6, RFC 8037 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kty")]
pub enum JwkParams {
    /// An RSA public key: modulus and exponent, base64url big-endian (RFC 7518 §6.3.1).
    #[serde(rename = "RSA")]
    Rsa {
        /// Modulus.
        n: String,
        /// Public exponent.
        e: String,
    },
    /// An elliptic-curve public key (RFC 7518 §6.2.1).
    #[serde(rename = "EC")]
    Ec {
        /// The curve.
        crv: EcCurve,
        /// X coordinate.
        x: String,
        /// Y coordinate.
        y: String,
    },
    /// An octet key pair public key, Ed25519 here (RFC 8037 §2).
    #[serde(rename = "OKP")]
    Okp {
        /// The curve.
        crv: OkpCurve,
        /// The public key.
        x: String,
    },
}

/// The NIST curves mockidp signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EcCurve {
    /// P-256, for ES256.
    #[serde(rename = "P-256")]
    P256,
    /// P-384, for ES384.
    #[serde(rename = "P-384")]
    P384,
}

/// The CFRG curves mockidp signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OkpCurve {
    /// Ed25519, for EdDSA.
    Ed25519,
}

impl Jwk {
    /// The RFC 7638 thumbprint: SHA-256 over the required members in
    /// lexicographic order, base64url-encoded.
    pub fn thumbprint(&self) -> String {
        let canonical = match &self.params {
            JwkParams::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            JwkParams::Ec { crv, x, y } => {
                let crv = match crv {
                    EcCurve::P256 => "P-256",
                    EcCurve::P384 => "P-384",
                };
                format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
            JwkParams::Okp { x, .. } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        };
        b64url(Sha256::digest(canonical.as_bytes()))
    }
}

/// A JWK Set document, as served at `jwks_uri` (RFC 7517 §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example key of RFC 7638 §3.1 and the thumbprint the RFC gives for it.
    #[test]
    fn thumbprint_matches_rfc_7638_example() {
        let jwk = Jwk {
            params: JwkParams::Rsa {
                n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into(),
                e: "AQAB".into(),
            },
            use_: None,
            alg: Some("RS256".into()),
            kid: Some("2011-04-29".into()),
        };
        assert_eq!(jwk.thumbprint(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn serialises_kty_and_use() {
        let jwk = Jwk {
            params: JwkParams::Okp { crv: OkpCurve::Ed25519, x: "abc".into() },
            use_: Some("sig".into()),
            alg: Some("EdDSA".into()),
            kid: Some("k1".into()),
        };
        let json = serde_json::to_value(&jwk).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "abc", "use": "sig", "alg": "EdDSA", "kid": "k1"})
        );
    }
}
