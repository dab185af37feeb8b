//! Checking signatures of tokens this provider issued, for introspection,
//! userinfo, revocation and token exchange.
//!
//! This is the provider checking its own output. Tests never use it: they
//! verify with jsonwebtoken, an independent implementation.

use hmac::{Hmac, KeyInit, Mac};
use p256::ecdsa::signature::Verifier as _;
use sha2::{Sha256, Sha384, Sha512};

use crate::{Algorithm, Claims, Header, KeySet, SigningKey, b64url_decode};

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Not three base64url segments of JSON.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// `alg` is not one mockidp signs with, or differs from the key's.
    #[error("algorithm `{0}` is not accepted")]
    Algorithm(String),
    /// No key matches the `kid` (or, without one, the algorithm).
    #[error("no key for this token")]
    UnknownKey,
    /// The signature does not verify.
    #[error("invalid signature")]
    Signature,
}

impl SigningKey {
    /// Whether `signature` over `signing_input` verifies under this key
    /// with `alg`. An algorithm the key is not for never verifies.
    pub fn verify(&self, alg: Algorithm, signing_input: &[u8], signature: &[u8]) -> bool {
        use crate::key::Material;
        if alg != self.alg() {
            return false;
        }
        match (self.material(), alg) {
            (Material::Rsa(key), Algorithm::RS256) => {
                key.as_public_key().pkcs1v15_verify::<Sha256>(signing_input, signature).is_ok()
            }
            (Material::Rsa(key), Algorithm::RS384) => {
                key.as_public_key().pkcs1v15_verify::<Sha384>(signing_input, signature).is_ok()
            }
            (Material::Rsa(key), Algorithm::RS512) => {
                key.as_public_key().pkcs1v15_verify::<Sha512>(signing_input, signature).is_ok()
            }
            (Material::Rsa(key), Algorithm::PS256) => {
                key.as_public_key().pss_verify::<Sha256>(signing_input, signature).is_ok()
            }
            (Material::Rsa(key), Algorithm::PS384) => {
                key.as_public_key().pss_verify::<Sha384>(signing_input, signature).is_ok()
            }
            (Material::Rsa(key), Algorithm::PS512) => {
                key.as_public_key().pss_verify::<Sha512>(signing_input, signature).is_ok()
            }
            (Material::EcP256(key), _) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verifying_key().verify(signing_input, &sig).is_ok()),
            (Material::EcP384(key), _) => p384::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verifying_key().verify(signing_input, &sig).is_ok()),
            (Material::Ed25519(key), _) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verifying_key().verify(signing_input, &sig).is_ok()),
            (Material::Hmac(secret), Algorithm::HS256) => hmac_verify::<Hmac<Sha256>>(secret, signing_input, signature),
            (Material::Hmac(secret), Algorithm::HS384) => hmac_verify::<Hmac<Sha384>>(secret, signing_input, signature),
            (Material::Hmac(secret), _) => hmac_verify::<Hmac<Sha512>>(secret, signing_input, signature),
            (Material::Rsa(_), _) => false,
        }
    }
}

fn hmac_verify<M: Mac + KeyInit>(secret: &[u8], message: &[u8], tag: &[u8]) -> bool {
    let Ok(mut mac) = <M as KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(message);
    mac.verify_slice(tag).is_ok()
}

impl KeySet {
    /// Verifies a compact JWS signed by one of these keys and returns its
    /// header and claims. Only the signature is checked; the caller checks
    /// `exp`, `iss` and whatever else it needs.
    pub fn verify_compact(&self, token: &str) -> Result<(Header, Claims), VerifyError> {
        let mut segments = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(VerifyError::Malformed("expected three segments"));
        };
        let header_json = b64url_decode(header).ok_or(VerifyError::Malformed("header is not base64url"))?;
        let header: Header =
            serde_json::from_slice(&header_json).map_err(|_| VerifyError::Malformed("header is not a JOSE header"))?;
        let alg: Algorithm = header.alg.parse().map_err(|_| VerifyError::Algorithm(header.alg.clone()))?;
        let signature = b64url_decode(signature).ok_or(VerifyError::Malformed("signature is not base64url"))?;
        let signing_input = &token[..header_len(token, payload)];
        let candidates: Vec<&SigningKey> = match &header.kid {
            Some(kid) => self.keys().iter().filter(|key| key.kid().as_str() == kid).collect(),
            None => self.keys().iter().filter(|key| key.alg() == alg).collect(),
        };
        if candidates.is_empty() {
            return Err(VerifyError::UnknownKey);
        }
        if let Some(key) = candidates.iter().find(|key| key.alg() != alg)
            && header.kid.is_some()
        {
            return Err(VerifyError::Algorithm(format!("{alg} (key `{}` is {})", key.kid(), key.alg())));
        }
        if !candidates.iter().any(|key| key.verify(alg, signing_input.as_bytes(), &signature)) {
            return Err(VerifyError::Signature);
        }
        let payload = b64url_decode(payload).ok_or(VerifyError::Malformed("payload is not base64url"))?;
        let claims: Claims =
            serde_json::from_slice(&payload).map_err(|_| VerifyError::Malformed("payload is not a JSON claims set"))?;
        Ok((header, claims))
    }
}

/// Length of `header.payload` within `token`.
fn header_len(token: &str, payload: &str) -> usize {
    token.find('.').map_or(0, |dot| dot + 1 + payload.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TokenBuilder;

    #[test]
    fn own_tokens_verify_for_every_algorithm() {
        for alg in Algorithm::ALL {
            let key = SigningKey::generate(alg).unwrap();
            let set = KeySet::new(key.clone());
            let token = TokenBuilder::new(&key).with_subject("alice").sign().unwrap();
            let (_, claims) = set.verify_compact(&token).unwrap_or_else(|err| panic!("{alg}: {err}"));
            assert_eq!(claims.sub.as_deref(), Some("alice"));
        }
    }

    #[test]
    fn tampering_and_foreign_keys_fail() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let set = KeySet::new(key.clone());
        let token = TokenBuilder::new(&key).with_subject("alice").sign().unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = crate::b64url(br#"{"sub":"mallory"}"#);
        assert_eq!(set.verify_compact(&parts.join(".")), Err(VerifyError::Signature));

        let other = SigningKey::generate(Algorithm::ES256).unwrap().with_kid(key.kid().clone());
        let forged = TokenBuilder::new(&other).sign().unwrap();
        assert_eq!(set.verify_compact(&forged), Err(VerifyError::Signature));
        assert!(matches!(set.verify_compact("a.b"), Err(VerifyError::Malformed(_))));
    }

    #[test]
    fn an_algorithm_other_than_the_keys_is_refused() {
        let key = SigningKey::generate(Algorithm::RS256).unwrap();
        let set = KeySet::new(key.clone());
        let token = TokenBuilder::new(&key).with_alg(Algorithm::PS256).sign().unwrap();
        assert!(matches!(set.verify_compact(&token), Err(VerifyError::Algorithm(_))));
    }
}
