//! Signing keys and the per-issuer key set.

use std::{fmt, sync::Arc};

use hmac::{Hmac, KeyInit, Mac};
use p256::ecdsa::signature::Signer as _;
use rsa::traits::PublicKeyParts;
use sha2::{Sha256, Sha384, Sha512};

use crate::{Algorithm, EcCurve, Error, ErrorKind, Jwk, JwkParams, JwkSet, KeyFamily, KeyId, OkpCurve, forge::b64url};

/// RSA modulus size for generated keys: the common size in production, and
/// the smallest RFC 7518 §3.3 allows.
const RSA_BITS: usize = 2048;

/// A private key with the id and algorithm it signs under.
///
/// An RSA key serves RS256/384/512 and PS256/384/512; its `alg` says which one
/// it is published for. HMAC keys are never published.
#[derive(Clone)]
pub struct SigningKey {
    kid: KeyId,
    alg: Algorithm,
    material: Arc<Material>,
}

pub(crate) enum Material {
    Rsa(Box<rsa::PrivateKey>),
    EcP256(p256::ecdsa::SigningKey),
    EcP384(p384::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
    Hmac(Vec<u8>),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("material", &"[redacted]")
            .finish()
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|err| Error::new(ErrorKind::InvalidKey, format!("the system RNG failed: {err}")))?;
    Ok(bytes)
}

impl SigningKey {
    /// Generates fresh key material for `alg`: RSA 2048, P-256, P-384,
    /// Ed25519, or a 256-bit random HMAC secret.
    ///
    /// The kid is the key's RFC 7638 thumbprint (for HMAC keys, `hmac-` and a
    /// random suffix), so it is stable for the key and unique between keys.
    ///
    /// RSA generation takes 0.1 to 0.9 s; see [`crate::KeyPool`] to pay it once per process.
    pub fn generate(alg: Algorithm) -> Result<Self, Error> {
        let material = match alg.family() {
            KeyFamily::Rsa => {
                let key = rsa::PrivateKey::new(&mut getrandom::SysRng, RSA_BITS)
                    .map_err(|err| Error::new(ErrorKind::InvalidKey, format!("RSA key generation failed: {err}")))?;
                Material::Rsa(Box::new(key))
            }
            KeyFamily::EcP256 => {
                Material::EcP256(generate_scalar(|bytes: &[u8; 32]| p256::ecdsa::SigningKey::from_slice(bytes).ok())?)
            }
            KeyFamily::EcP384 => {
                Material::EcP384(generate_scalar(|bytes: &[u8; 48]| p384::ecdsa::SigningKey::from_slice(bytes).ok())?)
            }
            KeyFamily::Ed25519 => Material::Ed25519(ed25519_dalek::SigningKey::from_bytes(&random_bytes::<32>()?)),
            // Printable, so a configuration export can carry it as a string.
            KeyFamily::Hmac => Material::Hmac(b64url(random_bytes::<32>()?).into_bytes()),
        };
        Self::from_material(alg, material)
    }

    /// An HMAC key with the given secret. An empty or short secret is
    /// accepted on purpose: the pitfall catalogue needs them.
    pub fn hmac(alg: Algorithm, secret: impl Into<Vec<u8>>) -> Result<Self, Error> {
        if alg.family() != KeyFamily::Hmac {
            return Err(Error::new(
                ErrorKind::KeyAlgorithmMismatch,
                format!("a shared secret signs only HS256, HS384 or HS512, not `{alg}`"),
            ));
        }
        Self::from_material(alg, Material::Hmac(secret.into()))
    }

    fn from_material(alg: Algorithm, material: Material) -> Result<Self, Error> {
        let mut key = Self { kid: KeyId::new(""), alg, material: Arc::new(material) };
        key.kid = match key.public_jwk() {
            Some(jwk) => KeyId::new(jwk.thumbprint()),
            None => KeyId::new(format!("hmac-{}", b64url(random_bytes::<9>()?))),
        };
        Ok(key)
    }

    /// Loads a private key from PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`)
    /// for `alg`: RSA for RS*/PS*, P-256 for ES256, P-384 for ES384, Ed25519
    /// for EdDSA. The kid is the key's thumbprint unless set afterwards.
    pub fn from_pkcs8_pem(alg: Algorithm, pem: &str) -> Result<Self, Error> {
        use pkcs8::DecodePrivateKey;
        let invalid = |err: &dyn fmt::Display| {
            Error::new(ErrorKind::InvalidKey, format!("not a PKCS#8 PEM private key for `{alg}`: {err}"))
        };
        let material = match alg.family() {
            KeyFamily::Rsa => Material::Rsa(Box::new(rsa::PrivateKey::from_pkcs8_pem(pem).map_err(|e| invalid(&e))?)),
            KeyFamily::EcP256 => {
                Material::EcP256(p256::ecdsa::SigningKey::from_pkcs8_pem(pem).map_err(|e| invalid(&e))?)
            }
            KeyFamily::EcP384 => {
                Material::EcP384(p384::ecdsa::SigningKey::from_pkcs8_pem(pem).map_err(|e| invalid(&e))?)
            }
            KeyFamily::Ed25519 => {
                Material::Ed25519(ed25519_dalek::SigningKey::from_pkcs8_pem(pem).map_err(|e| invalid(&e))?)
            }
            KeyFamily::Hmac => {
                return Err(Error::new(
                    ErrorKind::KeyAlgorithmMismatch,
                    format!("`{alg}` keys are secrets, not PEM keys"),
                ));
            }
        };
        Self::from_material(alg, material)
    }

    /// The private key as PKCS#8 PEM, so a configuration can reproduce it;
    /// `None` for HMAC keys, whose secret is the key.
    pub fn to_pkcs8_pem(&self) -> Option<String> {
        use pkcs8::{EncodePrivateKey, LineEnding};
        let pem = match &*self.material {
            Material::Rsa(key) => key.to_pkcs8_pem(LineEnding::LF),
            Material::EcP256(key) => key.to_pkcs8_pem(LineEnding::LF),
            Material::EcP384(key) => key.to_pkcs8_pem(LineEnding::LF),
            Material::Ed25519(key) => key.to_pkcs8_pem(LineEnding::LF),
            Material::Hmac(_) => return None,
        };
        pem.ok().map(|pem| pem.to_string())
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), LF line
    /// endings; `None` for HMAC keys.
    pub fn public_spki_pem(&self) -> Option<String> {
        use pkcs8::{EncodePublicKey, LineEnding};
        match &*self.material {
            Material::Rsa(key) => key.as_public_key().to_public_key_pem(LineEnding::LF).ok(),
            Material::EcP256(key) => key.verifying_key().to_public_key_pem(LineEnding::LF).ok(),
            Material::EcP384(key) => key.verifying_key().to_public_key_pem(LineEnding::LF).ok(),
            Material::Ed25519(key) => key.verifying_key().to_public_key_pem(LineEnding::LF).ok(),
            Material::Hmac(_) => None,
        }
    }

    /// An RSA public key as PKCS#1 PEM (`-----BEGIN RSA PUBLIC KEY-----`);
    /// `None` for other keys.
    pub fn public_pkcs1_pem(&self) -> Option<String> {
        use rsa::pkcs1::{EncodeRsaPublicKey, LineEnding};
        match &*self.material {
            Material::Rsa(key) => key.as_public_key().to_pkcs1_pem(LineEnding::LF).ok(),
            _ => None,
        }
    }

    /// The same key under another kid.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<KeyId>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The same key material published for another algorithm of its family
    /// (an RSA key as PS256 instead of RS256).
    pub fn with_alg(mut self, alg: Algorithm) -> Result<Self, Error> {
        self.check_compatible(alg)?;
        self.alg = alg;
        Ok(self)
    }

    /// The key id.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// The algorithm the key signs and is published with.
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The shared secret, for HMAC keys only.
    pub fn hmac_secret(&self) -> Option<&[u8]> {
        match &*self.material {
            Material::Hmac(secret) => Some(secret),
            _ => None,
        }
    }

    /// The public half as a JWK with `use: sig`, `alg` and `kid`; `None` for
    /// HMAC keys, which must never be published.
    pub fn public_jwk(&self) -> Option<Jwk> {
        let params = match &*self.material {
            Material::Rsa(key) => JwkParams::Rsa { n: b64url(key.n_bytes()), e: b64url(key.e_bytes()) },
            Material::EcP256(key) => {
                let point = key.verifying_key().to_sec1_point(false);
                JwkParams::Ec {
                    crv: EcCurve::P256,
                    x: b64url(point.x().expect("an uncompressed point has x")),
                    y: b64url(point.y().expect("an uncompressed point has y")),
                }
            }
            Material::EcP384(key) => {
                let point = key.verifying_key().to_sec1_point(false);
                JwkParams::Ec {
                    crv: EcCurve::P384,
                    x: b64url(point.x().expect("an uncompressed point has x")),
                    y: b64url(point.y().expect("an uncompressed point has y")),
                }
            }
            Material::Ed25519(key) => {
                JwkParams::Okp { crv: OkpCurve::Ed25519, x: b64url(key.verifying_key().as_bytes()) }
            }
            Material::Hmac(_) => return None,
        };
        Some(Jwk {
            params,
            use_: Some("sig".to_owned()),
            alg: Some(self.alg.as_str().to_owned()),
            kid: Some(self.kid.as_str().to_owned()),
        })
    }

    /// Signs `signing_input` (the ASCII `header.payload`) with the key's own algorithm.
    pub fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, Error> {
        self.sign_as(self.alg, signing_input)
    }

    /// Signs with another algorithm of the key's family (RS256 key, PS256 signature).
    pub fn sign_as(&self, alg: Algorithm, signing_input: &[u8]) -> Result<Vec<u8>, Error> {
        self.check_compatible(alg)?;
        let failed = |err: &dyn fmt::Display| Error::new(ErrorKind::Signing, format!("{alg} signing failed: {err}"));
        match (&*self.material, alg) {
            (Material::Rsa(key), Algorithm::RS256) => key.pkcs1v15_sign::<Sha256>(signing_input),
            (Material::Rsa(key), Algorithm::RS384) => key.pkcs1v15_sign::<Sha384>(signing_input),
            (Material::Rsa(key), Algorithm::RS512) => key.pkcs1v15_sign::<Sha512>(signing_input),
            (Material::Rsa(key), Algorithm::PS256) => key.pss_sign::<Sha256>(signing_input),
            (Material::Rsa(key), Algorithm::PS384) => key.pss_sign::<Sha384>(signing_input),
            (Material::Rsa(key), Algorithm::PS512) => key.pss_sign::<Sha512>(signing_input),
            (Material::EcP256(key), _) => {
                let signature: p256::ecdsa::Signature = key.sign(signing_input);
                return Ok(signature.to_vec());
            }
            (Material::EcP384(key), _) => {
                let signature: p384::ecdsa::Signature = key.sign(signing_input);
                return Ok(signature.to_vec());
            }
            (Material::Ed25519(key), _) => return Ok(key.sign(signing_input).to_bytes().to_vec()),
            (Material::Hmac(secret), Algorithm::HS256) => {
                return Ok(hmac::<Sha256>(secret, signing_input));
            }
            (Material::Hmac(secret), Algorithm::HS384) => {
                return Ok(hmac::<Sha384>(secret, signing_input));
            }
            (Material::Hmac(secret), _) => return Ok(hmac::<Sha512>(secret, signing_input)),
            (Material::Rsa(_), _) => {
                unreachable!("check_compatible admits only RS* and PS* for RSA keys")
            }
        }
        .map_err(|err| failed(&err))
    }

    pub(crate) fn material(&self) -> &Material {
        &self.material
    }

    fn family(&self) -> KeyFamily {
        match &*self.material {
            Material::Rsa(_) => KeyFamily::Rsa,
            Material::EcP256(_) => KeyFamily::EcP256,
            Material::EcP384(_) => KeyFamily::EcP384,
            Material::Ed25519(_) => KeyFamily::Ed25519,
            Material::Hmac(_) => KeyFamily::Hmac,
        }
    }

    fn check_compatible(&self, alg: Algorithm) -> Result<(), Error> {
        if alg.family() == self.family() {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::KeyAlgorithmMismatch,
            format!("key `{}` is {:?} material and cannot sign `{alg}`", self.kid, self.family()),
        ))
    }
}

fn hmac<D>(secret: &[u8], message: &[u8]) -> Vec<u8>
where
    D: hmac::digest::block_api::EagerHash,
    Hmac<D>: KeyInit + Mac,
{
    let mut mac = <Hmac<D> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Draws random scalars until one is a valid private key (all but a
/// negligible fraction are).
fn generate_scalar<const N: usize, K>(make: impl Fn(&[u8; N]) -> Option<K>) -> Result<K, Error> {
    for _ in 0..16 {
        if let Some(key) = make(&random_bytes::<N>()?) {
            return Ok(key);
        }
    }
    Err(Error::new(ErrorKind::InvalidKey, "the system RNG kept producing invalid EC scalars"))
}

/// The keys of one issuer: one signs, all asymmetric ones are published.
///
/// Keeping retired keys published for a grace period is how rotation works
/// without breaking verifiers that cached the old JWKS.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<SigningKey>,
    signer: usize,
}

impl KeySet {
    /// A key set whose only key is also the signer.
    pub fn new(signer: SigningKey) -> Self {
        Self { keys: vec![signer], signer: 0 }
    }

    /// Adds a key that is published but does not sign.
    pub fn push(&mut self, key: SigningKey) {
        self.keys.push(key);
    }

    /// Removes the key with `kid` unless it is the signer; returns whether it did.
    pub fn remove(&mut self, kid: &KeyId) -> bool {
        let Some(index) = self.keys.iter().position(|key| key.kid() == kid) else { return false };
        if index == self.signer {
            return false;
        }
        self.keys.remove(index);
        if index < self.signer {
            self.signer -= 1;
        }
        true
    }

    /// The keys without those `keep` rejects; the signer is always kept.
    pub fn filtered(&self, keep: impl Fn(&SigningKey) -> bool) -> KeySet {
        let signer = self.signer().map(|key| key.kid().clone());
        let keys: Vec<SigningKey> =
            self.keys.iter().filter(|key| Some(key.kid()) == signer.as_ref() || keep(key)).cloned().collect();
        let signer = keys.iter().position(|key| Some(key.kid()) == signer.as_ref()).unwrap_or(0);
        KeySet { keys, signer }
    }

    /// Makes the key with `kid` the signer. Returns false if there is no such key.
    pub fn set_signer(&mut self, kid: &KeyId) -> bool {
        match self.keys.iter().position(|key| key.kid() == kid) {
            Some(index) => {
                self.signer = index;
                true
            }
            None => false,
        }
    }

    /// The key new tokens are signed with, or `None` for an empty set.
    pub fn signer(&self) -> Option<&SigningKey> {
        self.keys.get(self.signer)
    }

    /// The key with `kid`.
    pub fn get(&self, kid: &KeyId) -> Option<&SigningKey> {
        self.keys.iter().find(|key| key.kid() == kid)
    }

    /// The first key that signs `alg`.
    pub fn for_alg(&self, alg: Algorithm) -> Option<&SigningKey> {
        self.keys.iter().find(|key| key.alg() == alg)
    }

    /// Every key, signer or not.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The public JWKS document: asymmetric keys only.
    pub fn jwks(&self) -> JwkSet {
        JwkSet { keys: self.keys.iter().filter_map(SigningKey::public_jwk).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_keys_are_never_published() {
        let key = SigningKey::hmac(Algorithm::HS256, b"secret".to_vec()).unwrap();
        assert!(key.public_jwk().is_none());
        let mut set = KeySet::new(SigningKey::generate(Algorithm::ES256).unwrap());
        set.push(key);
        assert_eq!(set.jwks().keys.len(), 1);
    }

    #[test]
    fn published_jwk_has_no_private_parts() {
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
            let jwk = serde_json::to_value(SigningKey::generate(alg).unwrap().public_jwk().unwrap()).unwrap();
            for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                assert!(jwk.get(private).is_none(), "{alg} JWK leaks `{private}`: {jwk}");
            }
        }
    }

    #[test]
    fn pkcs8_pem_round_trips_every_asymmetric_family() {
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
            let key = SigningKey::generate(alg).unwrap();
            let pem = key.to_pkcs8_pem().unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{alg}");
            let loaded = SigningKey::from_pkcs8_pem(alg, &pem).unwrap();
            assert_eq!(loaded.public_jwk(), key.public_jwk(), "{alg}");
        }
        assert!(SigningKey::from_pkcs8_pem(Algorithm::ES256, "garbage").is_err());
    }

    #[test]
    fn kid_is_the_thumbprint() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let jwk = key.public_jwk().unwrap();
        assert_eq!(key.kid().as_str(), jwk.thumbprint());
    }

    #[test]
    fn ec_key_refuses_rsa_algorithm() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let err = key.sign_as(Algorithm::RS256, b"x").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeyAlgorithmMismatch);
        assert!(SigningKey::hmac(Algorithm::RS256, b"x".to_vec()).is_err());
    }

    #[test]
    fn signature_sizes_match_the_algorithm() {
        let cases = [
            (Algorithm::ES256, 64),
            (Algorithm::ES384, 96),
            (Algorithm::EdDSA, 64),
            (Algorithm::HS256, 32),
            (Algorithm::HS384, 48),
            (Algorithm::HS512, 64),
        ];
        for (alg, len) in cases {
            assert_eq!(SigningKey::generate(alg).unwrap().sign(b"a.b").unwrap().len(), len, "{alg}");
        }
    }
}
