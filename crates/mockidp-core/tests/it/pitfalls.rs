//! Every case is broken in exactly the named way and no other: strict
//! validation fails with the specific error, and relaxing exactly that one
//! check (or, where no library can, checking the bytes) shows the rest valid.

use std::sync::{Arc, OnceLock};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm as Jwa, DecodingKey, Validation, jwk::JwkSet};
use mockidp_core::{
    Algorithm, KeyPool, KeySet, SigningKey, SystemClock, b64url_decode,
    pitfall::{self, Forged, Hosted, PitfallContext, PitfallError, Verdict},
};
use serde_json::{Value, json};
use x509_cert::{Certificate, der::Decode as _, der::DecodePem as _};

const ISSUER: &str = "http://127.0.0.1:8080/default";
const OTHER_ISSUER: &str = "http://127.0.0.1:8080/partners";
const AUDIENCE: &str = "orders-api";
const HOSTED: &str = "http://127.0.0.1:9/_mockidp/pitfalls/default/t-1";

struct Fixture {
    /// RS256 signer plus a published ES256 key.
    keys: KeySet,
    /// A single RS256 key.
    single: KeySet,
    /// The other issuer's signing key.
    other: SigningKey,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rs = KeyPool::process().get("test/rs", Algorithm::RS256).unwrap();
        let es = KeyPool::process().get("test/es", Algorithm::ES256).unwrap();
        let mut keys = KeySet::new(rs.clone());
        keys.push(es);
        Fixture {
            keys,
            single: KeySet::new(rs),
            other: KeyPool::process().get("test/other", Algorithm::ES256).unwrap(),
        }
    })
}

fn context(keys: &KeySet) -> PitfallContext<'_> {
    let fixture = fixture();
    let mut ctx = PitfallContext::new(ISSUER, keys, AUDIENCE);
    ctx.scopes = vec!["orders:read".into(), "orders:write".into()];
    ctx.client_id = "web".into();
    ctx.other_issuer = Some((OTHER_ISSUER.into(), &fixture.other));
    ctx.hosted_url = Some(HOSTED.into());
    ctx.clock = Arc::new(SystemClock);
    ctx
}

fn forge(id: &str) -> Forged {
    pitfall::find(id).unwrap().forge(&context(&fixture().keys)).unwrap_or_else(|err| panic!("{err}"))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn jwks(keys: &KeySet) -> JwkSet {
    serde_json::from_value(serde_json::to_value(keys.jwks()).unwrap()).unwrap()
}

fn segment(token: &str, index: usize) -> Value {
    serde_json::from_slice(&b64url_decode(token.split('.').nth(index).unwrap()).unwrap()).unwrap()
}

fn header(token: &str) -> Value {
    segment(token, 0)
}

fn claims(token: &str) -> Value {
    segment(token, 1)
}

/// Strict validation as a careful resource server does it.
fn strict(alg: Jwa) -> Validation {
    let mut validation = Validation::new(alg);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.validate_nbf = true;
    validation
}

/// What a strict resource server trusting the issuer's JWKS says: the key
/// by `kid` (the signer when there is none), the algorithm pinned to RS256.
fn strict_outcome(token: &str) -> Result<Value, String> {
    strict_outcome_with(token, Jwa::RS256, strict(Jwa::RS256))
}

fn strict_outcome_with(token: &str, expected_alg: Jwa, validation: Validation) -> Result<Value, String> {
    let set = jwks(&fixture().keys);
    let kid = match jsonwebtoken::decode_header(token) {
        Ok(header) => header.kid,
        Err(err) => return Err(format!("{:?}", err.kind())),
    };
    let jwk = match &kid {
        Some(kid) => set.find(kid).ok_or_else(|| "KidNotFound".to_owned())?,
        None => set
            .keys
            .iter()
            .find(|jwk| jwk.common.key_algorithm.map(|a| a.to_string()) == Some(format!("{expected_alg:?}")))
            .unwrap(),
    };
    let key = DecodingKey::from_jwk(jwk).unwrap();
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|err| format!("{:?}", err.kind()))
}

fn kind(result: Result<Value, String>) -> String {
    result.expect_err("strict validation must refuse this token")
}

/// The signature over `header.payload` verifies under `key` with `alg`.
fn signature_verifies(token: &str, key: &DecodingKey, alg: Jwa) -> bool {
    let (message, signature) = token.rsplit_once('.').unwrap();
    jsonwebtoken::crypto::verify(signature, message.as_bytes(), key, alg).unwrap_or(false)
}

fn signer_key() -> DecodingKey {
    let signer = fixture().keys.signer().unwrap().public_jwk().unwrap();
    DecodingKey::from_jwk(&serde_json::from_value(serde_json::to_value(signer).unwrap()).unwrap()).unwrap()
}

fn jwk_key(jwk: &mockidp_core::Jwk) -> DecodingKey {
    DecodingKey::from_jwk(&serde_json::from_value(serde_json::to_value(jwk).unwrap()).unwrap()).unwrap()
}

/// Everything about the claims is as in a valid token.
fn assert_claims_valid(claims: &Value) {
    assert_eq!(claims["iss"], ISSUER, "{claims}");
    assert_eq!(claims["aud"], AUDIENCE, "{claims}");
    assert_eq!(claims["sub"], "alice", "{claims}");
    assert_eq!(claims["client_id"], "web", "{claims}");
    assert_eq!(claims["scope"], "orders:read orders:write", "{claims}");
    assert!(claims["exp"].as_i64().unwrap() > now(), "{claims}");
    assert!(claims["iat"].as_i64().unwrap() <= now() + 1, "{claims}");
}

/// HMAC-SHA256 with the `hmac` crate directly: jsonwebtoken refuses empty secrets.
fn hs256_verifies(token: &str, secret: &[u8]) -> bool {
    let (message, signature) = token.rsplit_once('.').unwrap();
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(message.as_bytes());
    mac.verify_slice(&b64url_decode(signature).unwrap()).is_ok()
}

fn relaxed_hs256(token: &str, secret: &[u8]) -> Value {
    let mut validation = strict(Jwa::HS256);
    validation.algorithms = vec![Jwa::HS256];
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_secret(secret).unwrap(), &validation).unwrap().claims
}

// ---- A. Signature and algorithm -------------------------------------------------------------

#[test]
fn valid_verifies_under_strict_validation() {
    let forged = forge("valid");
    assert_claims_valid(&strict_outcome(&forged.token).unwrap());
    assert_eq!(header(&forged.token)["typ"], "at+jwt");
    assert_eq!(pitfall::find("valid").unwrap().verdict, Verdict::Accept);
}

fn assert_unsigned(id: &str, alg: &str) {
    let token = forge(id).token;
    // No library verifies `none`; the bytes are the test: three segments, the
    // last empty, the header naming this spelling, the claims valid.
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2], "");
    assert_eq!(header(&token), json!({"alg": alg, "typ": "at+jwt"}));
    assert_claims_valid(&claims(&token));
    assert!(strict_outcome(&token).is_err());
}

#[test]
fn alg_none() {
    assert_unsigned("alg-none", "none");
}

#[test]
fn alg_none_capitalized() {
    assert_unsigned("alg-none-capitalized", "None");
}

#[test]
fn alg_none_uppercase() {
    assert_unsigned("alg-none-uppercase", "NONE");
}

#[test]
fn alg_none_mixed() {
    assert_unsigned("alg-none-mixed", "nOnE");
}

#[test]
fn signature_stripped() {
    let token = forge("signature-stripped").token;
    assert!(token.ends_with('.'));
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(kind(strict_outcome(&token)), "InvalidSignature");
    assert_eq!(header(&token)["alg"], "RS256", "alg unchanged");
    assert_claims_valid(&claims(&token));
}

#[test]
fn signature_invalid() {
    let token = forge("signature-invalid").token;
    assert_eq!(kind(strict_outcome(&token)), "InvalidSignature");
    // Relaxed: only the signature is wrong; header and claims are the valid ones.
    assert_eq!(header(&token)["kid"], fixture().keys.signer().unwrap().kid().as_str());
    assert_claims_valid(&claims(&token));
    let signature = b64url_decode(token.rsplit('.').next().unwrap()).unwrap();
    assert_eq!(signature.len(), 256, "an RS256 signature's length");
}

#[test]
fn claims_tampered() {
    let token = forge("claims-tampered").token;
    assert_eq!(kind(strict_outcome(&token)), "InvalidSignature");
    let claims = claims(&token);
    assert_eq!(claims["sub"], "mallory");
    assert_eq!(claims["roles"], json!(["admin"]));
}

fn assert_key_confusion(id: &str, secret: String) {
    let token = forge(id).token;
    assert_eq!(kind(strict_outcome(&token)), "InvalidAlgorithm");
    // Relaxed: accept HS256 with the public key's bytes as the secret.
    assert_claims_valid(&relaxed_hs256(&token, secret.as_bytes()));
    assert_eq!(header(&token)["kid"], fixture().keys.signer().unwrap().kid().as_str());
}

#[test]
fn alg_confusion_hs256_with_the_spki_pem() {
    let signer = fixture().keys.signer().unwrap();
    let pem = signer.public_spki_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n") && pem.ends_with("-----END PUBLIC KEY-----\n"));
    assert_key_confusion("alg-confusion-hs256", pem);
}

#[test]
fn alg_confusion_hs256_with_the_pkcs1_pem() {
    let pem = fixture().keys.signer().unwrap().public_pkcs1_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN RSA PUBLIC KEY-----\n"));
    assert_key_confusion("alg-confusion-hs256-pkcs1", pem);
}

#[test]
fn alg_confusion_hs256_with_the_jwk_json() {
    let jwk = serde_json::to_string(&fixture().keys.signer().unwrap().public_jwk().unwrap()).unwrap();
    assert_key_confusion("alg-confusion-hs256-jwk", jwk);
}

#[test]
fn hmac_empty_secret() {
    let token = forge("hmac-empty-secret").token;
    assert_eq!(kind(strict_outcome(&token)), "InvalidAlgorithm");
    assert_eq!(header(&token)["alg"], "HS256");
    assert!(hs256_verifies(&token, b""), "signed with the empty secret");
    assert!(!hs256_verifies(&token, b"x"));
    assert_claims_valid(&claims(&token));
}

#[test]
fn hmac_weak_secret() {
    let token = forge("hmac-weak-secret").token;
    assert_eq!(kind(strict_outcome(&token)), "InvalidAlgorithm");
    assert_claims_valid(&relaxed_hs256(&token, b"secret"));
}

#[test]
fn ecdsa_psychic_signature() {
    let token = forge("ecdsa-psychic-signature").token;
    let es_kid = fixture().keys.for_alg(Algorithm::ES256).unwrap().kid().as_str();
    assert_eq!(header(&token), json!({"alg": "ES256", "typ": "at+jwt", "kid": es_kid}));
    assert_eq!(b64url_decode(token.rsplit('.').next().unwrap()).unwrap(), vec![0u8; 64], "r = s = 0");
    assert!(strict_outcome_with(&token, Jwa::ES256, strict(Jwa::ES256)).is_err());
    assert_claims_valid(&claims(&token));
}

#[test]
fn ecdsa_psychic_signature_needs_an_es256_key() {
    let err = pitfall::find("ecdsa-psychic-signature").unwrap().forge(&context(&fixture().single)).unwrap_err();
    assert!(matches!(err, PitfallError::NotApplicable { .. }), "{err}");
}

#[test]
fn alg_key_mismatch() {
    let token = forge("alg-key-mismatch").token;
    assert_eq!(header(&token)["alg"], "PS256");
    assert_eq!(kind(strict_outcome(&token)), "InvalidAlgorithm");
    // Relaxed: allow PS256 with the same published key.
    let mut relaxed = strict(Jwa::PS256);
    relaxed.algorithms = vec![Jwa::PS256];
    assert_claims_valid(&jsonwebtoken::decode::<Value>(&token, &signer_key(), &relaxed).unwrap().claims);
}

#[test]
fn alg_key_mismatch_es256() {
    let forged = forge("alg-key-mismatch-es256");
    assert_eq!(header(&forged.token)["alg"], "ES256");
    assert_eq!(header(&forged.token)["kid"], fixture().keys.signer().unwrap().kid().as_str(), "names the RSA key");
    assert_eq!(kind(strict_outcome(&forged.token)), "InvalidAlgorithm");
    let attacker = jwk_key(forged.signing_key.as_ref().unwrap());
    assert!(jsonwebtoken::decode::<Value>(&forged.token, &attacker, &strict(Jwa::ES256)).is_ok());
}

#[test]
fn untrusted_key() {
    let forged = forge("untrusted-key");
    assert_eq!(header(&forged.token)["kid"], fixture().keys.signer().unwrap().kid().as_str());
    assert_eq!(kind(strict_outcome(&forged.token)), "InvalidSignature");
    let attacker = jwk_key(forged.signing_key.as_ref().unwrap());
    assert_claims_valid(&jsonwebtoken::decode::<Value>(&forged.token, &attacker, &strict(Jwa::RS256)).unwrap().claims);
}

#[test]
fn key_from_other_issuer() {
    let token = forge("key-from-other-issuer").token;
    assert_eq!(kind(strict_outcome(&token)), "KidNotFound");
    // Relaxed: keys from the other issuer's JWKS are accepted for this `iss`.
    let other = jwk_key(&fixture().other.public_jwk().unwrap());
    let claims = jsonwebtoken::decode::<Value>(&token, &other, &strict(Jwa::ES256)).unwrap().claims;
    assert_eq!(claims["iss"], ISSUER);
    assert_claims_valid(&claims);
}

#[test]
fn key_from_other_issuer_needs_another_issuer() {
    let keys = &fixture().keys;
    let mut ctx = context(keys);
    ctx.other_issuer = None;
    let err = pitfall::find("key-from-other-issuer").unwrap().forge(&ctx).unwrap_err();
    assert!(matches!(err, PitfallError::NotApplicable { .. }));
}

#[test]
fn embedded_jwk() {
    let token = forge("embedded-jwk").token;
    assert_eq!(kind(strict_outcome(&token)), "KidNotFound");
    let embedded: jsonwebtoken::jwk::Jwk = serde_json::from_value(header(&token)["jwk"].clone()).unwrap();
    let key = DecodingKey::from_jwk(&embedded).unwrap();
    assert_claims_valid(&jsonwebtoken::decode::<Value>(&token, &key, &strict(Jwa::RS256)).unwrap().claims);
}

#[test]
fn jku_injection() {
    let forged = forge("jku-injection");
    assert_eq!(header(&forged.token)["jku"], format!("{HOSTED}/jwks.json"));
    assert_eq!(kind(strict_outcome(&forged.token)), "KidNotFound");
    let Some(Hosted::Jwks(hosted)) = &forged.hosted else { panic!("the attacker JWKS is hosted") };
    let hosted: JwkSet = serde_json::from_str(hosted).unwrap();
    let kid = header(&forged.token)["kid"].as_str().unwrap().to_owned();
    let key = DecodingKey::from_jwk(hosted.find(&kid).unwrap()).unwrap();
    assert_claims_valid(&jsonwebtoken::decode::<Value>(&forged.token, &key, &strict(Jwa::RS256)).unwrap().claims);
}

/// The public key inside a certificate, as jsonwebtoken takes it.
fn certificate_key(certificate: &Certificate) -> DecodingKey {
    let spki = &certificate.tbs_certificate().subject_public_key_info();
    DecodingKey::from_rsa_der(spki.subject_public_key.raw_bytes())
}

#[test]
fn x5u_injection() {
    let forged = forge("x5u-injection");
    assert_eq!(header(&forged.token)["x5u"], format!("{HOSTED}/cert.pem"));
    assert!(header(&forged.token).get("kid").is_none());
    assert_eq!(kind(strict_outcome(&forged.token)), "InvalidSignature");
    let Some(Hosted::Certificate(pem)) = &forged.hosted else { panic!("the attacker certificate is hosted") };
    let certificate = Certificate::from_pem(pem.as_bytes()).unwrap();
    let claims = jsonwebtoken::decode::<Value>(&forged.token, &certificate_key(&certificate), &strict(Jwa::RS256))
        .unwrap()
        .claims;
    assert_claims_valid(&claims);
}

#[test]
fn x5c_self_signed() {
    let token = forge("x5c-self-signed").token;
    assert_eq!(kind(strict_outcome(&token)), "InvalidSignature");
    let chain = header(&token)["x5c"].as_array().unwrap().clone();
    assert_eq!(chain.len(), 1);
    let der = STANDARD.decode(chain[0].as_str().unwrap()).unwrap();
    let certificate = Certificate::from_der(&der).unwrap();
    assert_eq!(certificate.tbs_certificate().issuer(), certificate.tbs_certificate().subject(), "self-signed");
    let claims =
        jsonwebtoken::decode::<Value>(&token, &certificate_key(&certificate), &strict(Jwa::RS256)).unwrap().claims;
    assert_claims_valid(&claims);
}

#[test]
fn kid_unknown() {
    let token = forge("kid-unknown").token;
    assert_eq!(kind(strict_outcome(&token)), "KidNotFound");
    assert_claims_valid(&jsonwebtoken::decode::<Value>(&token, &signer_key(), &strict(Jwa::RS256)).unwrap().claims);
}

fn assert_hmac_kid(id: &str, kid: &str, secret: &[u8]) {
    let token = forge(id).token;
    assert_eq!(header(&token)["kid"], kid);
    assert_eq!(header(&token)["alg"], "HS256");
    assert!(strict_outcome(&token).is_err());
    assert!(hs256_verifies(&token, secret), "signed with {secret:?}");
    assert_claims_valid(&claims(&token));
}

#[test]
fn kid_path_traversal() {
    assert_hmac_kid("kid-path-traversal", "../../../../../../dev/null", b"");
}

#[test]
fn kid_sql_injection() {
    assert_hmac_kid("kid-sql-injection", "x' UNION SELECT '1';--", b"1");
    assert_claims_valid(&relaxed_hs256(&forge("kid-sql-injection").token, b"1"));
}

#[test]
fn kid_command_injection() {
    let token = forge("kid-command-injection").token;
    assert_eq!(header(&token)["kid"], "|sleep 5");
    assert_eq!(kind(strict_outcome(&token)), "KidNotFound");
    assert_claims_valid(&jsonwebtoken::decode::<Value>(&token, &signer_key(), &strict(Jwa::RS256)).unwrap().claims);
    assert_eq!(pitfall::find("kid-command-injection").unwrap().watch, Some(pitfall::Watch::Latency));
}

#[test]
fn kid_empty() {
    assert_hmac_kid("kid-empty", "", b"");
}

#[test]
fn kid_absent_single_key_is_accepted_under_strict_validation() {
    let keys = &fixture().single;
    let token = pitfall::find("kid-absent-single-key").unwrap().forge(&context(keys)).unwrap().token;
    assert!(header(&token).get("kid").is_none());
    let only = jwks(keys);
    assert_eq!(only.keys.len(), 1);
    let key = DecodingKey::from_jwk(&only.keys[0]).unwrap();
    assert_claims_valid(&jsonwebtoken::decode::<Value>(&token, &key, &strict(Jwa::RS256)).unwrap().claims);
    assert_eq!(pitfall::find("kid-absent-single-key").unwrap().verdict, Verdict::Accept);
    // With two published keys the case does not apply.
    assert!(pitfall::find("kid-absent-single-key").unwrap().forge(&context(&fixture().keys)).is_err());
}

#[test]
fn crit_unknown() {
    let token = forge("crit-unknown").token;
    assert_eq!(header(&token)["crit"], json!(["x-unknown"]));
    assert_eq!(header(&token)["x-unknown"], json!(true));
    assert_eq!(kind(strict_outcome(&token)), "InvalidToken", "jsonwebtoken refuses unknown crit");
    // Only `crit` is wrong: the signature verifies and the claims are valid.
    assert!(signature_verifies(&token, &signer_key(), Jwa::RS256));
    assert_claims_valid(&claims(&token));
}

#[test]
fn cty_unexpected() {
    let token = forge("cty-unexpected").token;
    assert_eq!(header(&token)["cty"], "JWT");
    // jsonwebtoken does not look at `cty`: the rest is valid.
    assert_claims_valid(&strict_outcome(&token).unwrap());
}

// ---- B. Claims -------------------------------------------------------------------------------

#[test]
fn expired() {
    let token = forge("expired").token;
    assert_eq!(kind(strict_outcome(&token)), "ExpiredSignature");
    let mut relaxed = strict(Jwa::RS256);
    relaxed.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(&token, &signer_key(), &relaxed).unwrap().claims;
    let exp = claims["exp"].as_i64().unwrap();
    assert!((now() - 605..=now() - 595).contains(&exp), "ten minutes ago: {exp}");
}

#[test]
fn expired_within_leeway_verifies_with_the_usual_leeway() {
    let token = forge("expired-within-leeway").token;
    let claims = strict_outcome(&token).expect("60 s of leeway accept it");
    assert!(claims["exp"].as_i64().unwrap() < now());
    let mut no_leeway = strict(Jwa::RS256);
    no_leeway.leeway = 0;
    assert_eq!(kind(strict_outcome_with(&token, Jwa::RS256, no_leeway)), "ExpiredSignature");
    assert_eq!(pitfall::find("expired-within-leeway").unwrap().verdict, Verdict::Warn);
}

#[test]
fn not_yet_valid() {
    let token = forge("not-yet-valid").token;
    assert_eq!(kind(strict_outcome(&token)), "ImmatureSignature");
    let mut relaxed = strict(Jwa::RS256);
    relaxed.validate_nbf = false;
    assert!(jsonwebtoken::decode::<Value>(&token, &signer_key(), &relaxed).is_ok());
}

#[test]
fn issued_in_future() {
    let token = forge("issued-in-future").token;
    // jsonwebtoken does not check `iat`; the bytes show the one defect.
    let claims = strict_outcome(&token).unwrap();
    assert!(claims["iat"].as_i64().unwrap() >= now() + 590, "{claims}");
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
}

#[test]
fn exp_missing() {
    let token = forge("exp-missing").token;
    assert_eq!(kind(strict_outcome(&token)), "MissingRequiredClaim(\"exp\")");
    let mut relaxed = strict(Jwa::RS256);
    relaxed.set_required_spec_claims(&["iss", "aud", "sub"]);
    relaxed.validate_exp = false;
    assert!(jsonwebtoken::decode::<Value>(&token, &signer_key(), &relaxed).is_ok());
}

#[test]
fn lifetime_excessive_is_valid_but_a_year_long() {
    let claims = strict_outcome(&forge("lifetime-excessive").token).unwrap();
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 365 * 24 * 3600);
    assert_eq!(pitfall::find("lifetime-excessive").unwrap().verdict, Verdict::Warn);
}

fn relaxed_issuer(token: &str, issuer: &str) -> Value {
    let mut relaxed = strict(Jwa::RS256);
    relaxed.set_issuer(&[issuer]);
    jsonwebtoken::decode::<Value>(token, &signer_key(), &relaxed).unwrap().claims
}

#[test]
fn iss_wrong() {
    let token = forge("iss-wrong").token;
    assert_eq!(kind(strict_outcome(&token)), "InvalidIssuer");
    assert_eq!(relaxed_issuer(&token, OTHER_ISSUER)["iss"], OTHER_ISSUER);
}

#[test]
fn iss_missing() {
    let token = forge("iss-missing").token;
    assert_eq!(kind(strict_outcome(&token)), "MissingRequiredClaim(\"iss\")");
    let mut relaxed = Validation::new(Jwa::RS256);
    relaxed.set_audience(&[AUDIENCE]);
    relaxed.set_required_spec_claims(&["exp", "aud", "sub"]);
    assert!(jsonwebtoken::decode::<Value>(&token, &signer_key(), &relaxed).is_ok());
}

#[test]
fn iss_trailing_slash() {
    let token = forge("iss-trailing-slash").token;
    assert_eq!(kind(strict_outcome(&token)), "InvalidIssuer");
    assert_eq!(relaxed_issuer(&token, &format!("{ISSUER}/"))["iss"], format!("{ISSUER}/"));
}

fn relaxed_audience(token: &str, audience: &str) -> Value {
    let mut relaxed = strict(Jwa::RS256);
    relaxed.set_audience(&[audience]);
    jsonwebtoken::decode::<Value>(token, &signer_key(), &relaxed).unwrap().claims
}

#[test]
fn aud_wrong() {
    let token = forge("aud-wrong").token;
    assert_eq!(kind(strict_outcome(&token)), "InvalidAudience");
    assert_eq!(relaxed_audience(&token, "orders-api-other-1")["aud"], "orders-api-other-1");
}

#[test]
fn aud_missing() {
    let token = forge("aud-missing").token;
    assert_eq!(kind(strict_outcome(&token)), "MissingRequiredClaim(\"aud\")");
    let mut relaxed = strict(Jwa::RS256);
    relaxed.validate_aud = false;
    relaxed.set_required_spec_claims(&["exp", "iss", "sub"]);
    assert!(jsonwebtoken::decode::<Value>(&token, &signer_key(), &relaxed).is_ok());
}

#[test]
fn aud_array_without_target() {
    let token = forge("aud-array-without-target").token;
    assert_eq!(claims(&token)["aud"], json!(["orders-api-other-1", "orders-api-other-2"]));
    assert_eq!(kind(strict_outcome(&token)), "InvalidAudience");
    relaxed_audience(&token, "orders-api-other-2");
}

#[test]
fn sub_missing() {
    let token = forge("sub-missing").token;
    assert_eq!(kind(strict_outcome(&token)), "MissingRequiredClaim(\"sub\")");
    let mut relaxed = strict(Jwa::RS256);
    relaxed.set_required_spec_claims(&["exp", "iss", "aud"]);
    assert!(jsonwebtoken::decode::<Value>(&token, &signer_key(), &relaxed).is_ok());
}

#[test]
fn id_token_as_access_token() {
    let token = forge("id-token-as-access-token").token;
    assert_eq!(header(&token)["typ"], "JWT");
    assert_eq!(kind(strict_outcome(&token)), "InvalidAudience");
    let claims = relaxed_audience(&token, "web");
    assert_eq!(claims["azp"], "web");
    assert!(claims["nonce"].is_string());
    assert_eq!(claims["sub"], "alice");
}

#[test]
fn typ_not_at_jwt() {
    let token = forge("typ-not-at-jwt").token;
    assert_eq!(header(&token)["typ"], "JWT");
    // jsonwebtoken does not check `typ`: everything else is the valid token.
    assert_claims_valid(&strict_outcome(&token).unwrap());
}

#[test]
fn scope_insufficient() {
    let claims = strict_outcome(&forge("scope-insufficient").token).unwrap();
    assert_eq!(claims["scope"], "orders:read", "orders:write left out");
    assert_eq!(pitfall::find("scope-insufficient").unwrap().verdict, Verdict::Forbid);
}

#[test]
fn subject_other_user() {
    let claims = strict_outcome(&forge("subject-other-user").token).unwrap();
    assert_eq!(claims["sub"], "mallory");
    assert_eq!(claims["aud"], AUDIENCE);
}

fn assert_claim_type(id: &str, claim: &str, value: &Value) {
    let token = forge(id).token;
    assert_eq!(&claims(&token)[claim], value, "{id}");
    assert!(strict_outcome(&token).is_err(), "{id}");
    // The signature is real: only the claim's type is wrong.
    assert!(signature_verifies(&token, &signer_key(), Jwa::RS256), "{id}");
}

#[test]
fn claim_type_confusion_exp_string() {
    let token = forge("claim-type-confusion").token;
    assert!(claims(&token)["exp"].as_str().unwrap().parse::<i64>().unwrap() > now());
    assert_claim_type("claim-type-confusion", "exp", &claims(&token)["exp"]);
}

#[test]
fn claim_type_confusion_aud_number() {
    assert_claim_type("claim-type-confusion-aud-number", "aud", &json!(12345));
}

#[test]
fn claim_type_confusion_sub_null() {
    let token = forge("claim-type-confusion-sub-null").token;
    assert!(claims(&token).as_object().unwrap().contains_key("sub"));
    assert_claim_type("claim-type-confusion-sub-null", "sub", &Value::Null);
}

#[test]
fn claim_type_confusion_boolean() {
    assert_claim_type("claim-type-confusion-boolean", "exp", &json!(true));
}

#[test]
fn duplicate_claims() {
    let token = forge("duplicate-claims").token;
    let payload = String::from_utf8(b64url_decode(token.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(payload.matches("\"sub\":").count(), 2, "{payload}");
    assert!(payload.ends_with(",\"sub\":\"mallory\"}"), "{payload}");
    assert!(signature_verifies(&token, &signer_key(), Jwa::RS256), "signed over the duplicated bytes");
}

// ---- C. Malformed ----------------------------------------------------------------------------

#[test]
fn malformed_segments() {
    let two = forge("malformed-segments").token;
    assert_eq!(two.split('.').count(), 2);
    assert_eq!(kind(strict_outcome(&two)), "InvalidToken");
    let four = forge("malformed-segments-four").token;
    assert_eq!(four.split('.').count(), 4);
    assert!(strict_outcome(&four).is_err());
}

#[test]
fn malformed_base64() {
    let token = forge("malformed-base64").token;
    assert!(b64url_decode(token.split('.').next().unwrap()).is_none());
    assert!(kind(strict_outcome(&token)).starts_with("Base64"));
}

#[test]
fn malformed_json() {
    let token = forge("malformed-json").token;
    let header = b64url_decode(token.split('.').next().unwrap()).unwrap();
    assert!(serde_json::from_slice::<Value>(&header).is_err());
    assert!(kind(strict_outcome(&token)).starts_with("Json"));
}

#[test]
fn not_a_jwt() {
    let token = forge("not-a-jwt").token;
    assert!(!token.contains('.') && token.len() > 20);
    assert_eq!(kind(strict_outcome(&token)), "InvalidToken");
}

#[test]
fn empty_bearer() {
    assert_eq!(forge("empty-bearer").token, "");
}

#[test]
fn oversized() {
    let token = forge("oversized").token;
    assert!((60 * 1024..=66 * 1024).contains(&token.len()), "{} bytes", token.len());
    assert_claims_valid(&strict_outcome(&token).unwrap());
}

// ---- The whole catalogue ---------------------------------------------------------------------

#[test]
fn every_case_forges_or_says_why_not() {
    let keys = &fixture().keys;
    for case in pitfall::catalogue() {
        match case.forge(&context(keys)) {
            Ok(forged) => assert_eq!(forged.id, case.id),
            Err(PitfallError::NotApplicable { id, .. }) => assert_eq!(id, "kid-absent-single-key"),
            Err(err) => panic!("{}: {err}", case.id),
        }
    }
}

/// The cross-check of "exactly one way": every case that is a parsable JWT
/// keeps `iss`, `aud`, `sub` and a future `exp` unless that claim is what it breaks.
#[test]
fn no_case_breaks_a_claim_it_is_not_about() {
    let about = |id: &str, claim: &str| match claim {
        "iss" => id.starts_with("iss-"),
        "aud" => id.starts_with("aud-") || id == "id-token-as-access-token" || id == "claim-type-confusion-aud-number",
        "sub" => id.starts_with("sub-") || id == "claim-type-confusion-sub-null",
        "exp" => {
            id.starts_with("expired")
                || id == "exp-missing"
                || id == "claim-type-confusion"
                || id == "claim-type-confusion-boolean"
        }
        _ => false,
    };
    let mut checked = 0;
    for case in pitfall::catalogue() {
        let Ok(forged) = case.forge(&context(&fixture().keys)) else { continue };
        let Some(payload) = forged.token.split('.').nth(1).and_then(b64url_decode) else { continue };
        let Ok(claims) = serde_json::from_slice::<Value>(&payload) else { continue };
        let id = case.id;
        if !about(id, "iss") {
            assert_eq!(claims["iss"], ISSUER, "{id}");
        }
        if !about(id, "aud") {
            assert_eq!(claims["aud"], AUDIENCE, "{id}");
        }
        if !about(id, "sub") && !matches!(id, "subject-other-user" | "claims-tampered" | "duplicate-claims") {
            assert_eq!(claims["sub"], "alice", "{id}");
        }
        if !about(id, "exp") {
            assert!(claims["exp"].as_i64().is_some_and(|exp| exp > now()), "{id}");
        }
        checked += 1;
    }
    assert!(checked > 45, "only {checked} cases were checked");
}
