//! Self-signed X.509 certificates for `x5u-injection` and `x5c-self-signed`.

use std::{str::FromStr, time::Duration};

use x509_cert::{
    TbsCertificate,
    builder::{Builder, CertificateBuilder, profile::BuilderProfile},
    der::{Encode, EncodePem, pem::LineEnding},
    ext::Extension,
    name::Name,
    serial_number::SerialNumber,
    spki::SubjectPublicKeyInfoOwned,
    spki::SubjectPublicKeyInfoRef,
    time::Validity,
};

use crate::{SigningKey, key::Material};

/// A self-signed certificate for `key`, as DER and as PEM. RSA and NIST
/// curve keys only.
pub fn self_signed(key: &SigningKey) -> Result<(Vec<u8>, String), String> {
    let subject = Name::from_str("CN=mockidp attacker,O=mockidp pitfall catalogue").map_err(|e| e.to_string())?;
    let profile = SelfSigned(subject);
    let serial = SerialNumber::from(1u32);
    let validity = Validity::from_now(Duration::from_secs(365 * 24 * 3600)).map_err(|e| e.to_string())?;
    let certificate = match key.material() {
        Material::Rsa(private) => {
            let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private.as_ref().clone());
            let spki = SubjectPublicKeyInfoOwned::from_key(&private.to_public_key()).map_err(|e| e.to_string())?;
            let builder = CertificateBuilder::new(profile, serial, validity, spki).map_err(|e| e.to_string())?;
            builder.build::<_, rsa::pkcs1v15::Signature>(&signer).map_err(|e| e.to_string())?
        }
        Material::EcP256(private) => {
            let spki = SubjectPublicKeyInfoOwned::from_key(private.verifying_key()).map_err(|e| e.to_string())?;
            let builder = CertificateBuilder::new(profile, serial, validity, spki).map_err(|e| e.to_string())?;
            builder.build::<_, p256::ecdsa::DerSignature>(private).map_err(|e| e.to_string())?
        }
        Material::EcP384(private) => {
            let spki = SubjectPublicKeyInfoOwned::from_key(private.verifying_key()).map_err(|e| e.to_string())?;
            let builder = CertificateBuilder::new(profile, serial, validity, spki).map_err(|e| e.to_string())?;
            builder.build::<_, p384::ecdsa::DerSignature>(private).map_err(|e| e.to_string())?
        }
        _ => return Err("certificates are made for RSA, P-256 and P-384 keys only".into()),
    };
    let der = certificate.to_der().map_err(|e| e.to_string())?;
    let pem = certificate.to_pem(LineEnding::LF).map_err(|e| e.to_string())?;
    Ok((der, pem))
}

/// The simplest profile: issuer = subject, no extensions. The CA/B Forum
/// profiles demand attributes an attacker's certificate has no use for.
struct SelfSigned(Name);

impl BuilderProfile for SelfSigned {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.0.clone()
    }

    fn build_extensions(
        &self,
        _: SubjectPublicKeyInfoRef<'_>,
        _: SubjectPublicKeyInfoRef<'_>,
        _: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(Vec::new())
    }
}
