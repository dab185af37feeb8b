use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Error, ErrorKind};

/// A JWS algorithm mockidp signs with, by its JWA name (RFC 7518 §3.1, RFC 8037 §3.1).
///
/// `none` is deliberately absent: unsigned tokens exist only in the pitfall
/// catalogue, which assembles them from bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// Ed25519 (RFC 8037).
    EdDSA,
}

/// The kind of key material an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFamily {
    /// A shared secret.
    Hmac,
    /// An RSA key pair; one key serves RS* and PS*.
    Rsa,
    /// An EC key pair on P-256.
    EcP256,
    /// An EC key pair on P-384.
    EcP384,
    /// An Ed25519 key pair.
    Ed25519,
}

impl Algorithm {
    /// Every algorithm, in the order the JWA lists them.
    pub const ALL: [Algorithm; 12] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// The JWA name, as it appears in the `alg` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// The key material this algorithm signs with.
    pub fn family(self) -> KeyFamily {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => KeyFamily::Hmac,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => KeyFamily::Rsa,
            Algorithm::ES256 => KeyFamily::EcP256,
            Algorithm::ES384 => KeyFamily::EcP384,
            Algorithm::EdDSA => KeyFamily::Ed25519,
        }
    }

    /// The left half of this algorithm's hash of `value`, base64url: the
    /// `at_hash` and `c_hash` of OpenID Connect Core §3.1.3.6 and §3.3.2.11.
    /// EdDSA (Ed25519) uses SHA-512.
    pub fn half_hash(self, value: &str) -> String {
        use sha2::{Digest, Sha256, Sha384, Sha512};
        let digest: Vec<u8> = match self {
            Algorithm::HS256 | Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => {
                Sha256::digest(value.as_bytes()).to_vec()
            }
            Algorithm::HS384 | Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => {
                Sha384::digest(value.as_bytes()).to_vec()
            }
            Algorithm::HS512 | Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => {
                Sha512::digest(value.as_bytes()).to_vec()
            }
        };
        crate::b64url(&digest[..digest.len() / 2])
    }

    /// True for the HMAC algorithms, whose keys are never published.
    pub fn is_symmetric(self) -> bool {
        self.family() == KeyFamily::Hmac
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if let Some(alg) = Algorithm::ALL.into_iter().find(|alg| alg.as_str() == name) {
            return Ok(alg);
        }
        let hint = match Algorithm::ALL.into_iter().find(|alg| alg.as_str().eq_ignore_ascii_case(name)) {
            Some(alg) => format!(" (did you mean `{alg}`? names are case-sensitive)"),
            None => String::new(),
        };
        let expected: Vec<&str> = Algorithm::ALL.iter().map(|alg| alg.as_str()).collect();
        Err(Error::new(
            ErrorKind::UnknownAlgorithm,
            format!("unknown algorithm `{name}`, expected one of {}{hint}", expected.join(", ")),
        ))
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl schemars::JsonSchema for Algorithm {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Algorithm".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|alg| alg.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": names, "description": "A JWS algorithm (RFC 7518)" })
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
        }
    }

    #[test]
    fn wrong_case_gets_a_hint() {
        let err = "rs256".parse::<Algorithm>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnknownAlgorithm);
        assert!(err.to_string().contains("did you mean `RS256`?"), "{err}");
    }

    // OpenID Connect Core §A.3 example: access token and its at_hash (RS256).
    #[test]
    fn at_hash_matches_the_openid_example() {
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        assert_eq!(Algorithm::RS256.half_hash(token), "77QmUPtjPfzWtF2AnpK9RQ");
    }

    #[test]
    fn none_is_not_an_algorithm_here() {
        assert!("none".parse::<Algorithm>().is_err());
    }
}
