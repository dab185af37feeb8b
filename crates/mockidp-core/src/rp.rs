//! Relying-party cases (section D of the catalogue): switches that make the
//! provider misbehave in one way, to test applications that log users in.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::pitfall::Verdict;

macro_rules! rp_cases {
    ($( $variant:ident = $id:literal, $verdict:ident, $behaviour:literal, $test:literal; )*) => {
        /// A provider misbehaviour from section D of `docs/spec/PITFALLS.md`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RpCase {
            $(
                #[doc = $behaviour]
                $variant,
            )*
        }

        impl RpCase {
            /// Every case.
            pub const ALL: &'static [RpCase] = &[$(RpCase::$variant),*];

            /// The stable id.
            pub fn id(self) -> &'static str {
                match self { $(RpCase::$variant => $id,)* }
            }

            /// What a correct relying party does.
            pub fn verdict(self) -> Verdict {
                match self { $(RpCase::$variant => Verdict::$verdict,)* }
            }

            /// What the provider does.
            pub fn behaviour(self) -> &'static str {
                match self { $(RpCase::$variant => $behaviour,)* }
            }

            /// The OpenID Foundation RP test it corresponds to.
            pub fn conformance_test(self) -> &'static str {
                match self { $(RpCase::$variant => $test,)* }
            }
        }
    };
}

rp_cases! {
    IdTokenBadSignature = "rp-id-token-bad-signature", Reject, "The ID token's signature is corrupted.", "rp-id_token-bad-sig-rs256/es256/hs256";
    IdTokenWrongNonce = "rp-id-token-wrong-nonce", Reject, "The ID token's `nonce` differs from the request's.", "rp-nonce-invalid";
    IdTokenMissingIat = "rp-id-token-missing-iat", Reject, "The ID token has no `iat`.", "rp-id_token-iat";
    IdTokenWrongIss = "rp-id-token-wrong-iss", Reject, "The ID token's `iss` differs from discovery's.", "rp-id_token-issuer-mismatch";
    IdTokenWrongAud = "rp-id-token-wrong-aud", Reject, "The ID token's `aud` is another client.", "rp-id_token-aud";
    IdTokenMissingAud = "rp-id-token-missing-aud", Reject, "The ID token has no `aud`.", "rp-id_token-aud";
    IdTokenMissingSub = "rp-id-token-missing-sub", Reject, "The ID token has no `sub`.", "rp-id_token-sub";
    IdTokenBadAtHash = "rp-id-token-bad-at-hash", Reject, "The ID token's `at_hash` does not match the access token.", "rp-id_token-bad-at_hash";
    IdTokenBadCHash = "rp-id-token-bad-c-hash", Reject, "The hybrid flow's ID token has a `c_hash` that does not match the code.", "rp-id_token-bad-c_hash";
    KidAbsentSingleJwks = "rp-kid-absent-single-jwks", Accept, "The ID token has no `kid`; the JWKS holds one key.", "rp-id_token-kid-absent-single-jwks";
    KidAbsentMultipleJwks = "rp-kid-absent-multiple-jwks", Reject, "The ID token has no `kid`; the JWKS holds several keys (rejecting or trying all is correct).", "rp-id_token-kid-absent-multiple-jwks";
    SigningKeyRotation = "rp-signing-key-rotation", Accept, "Tokens are signed with a new key, published alongside the old one.", "rp-key-rotation-op-sign-key";
    JwksUnparseableKey = "rp-jwks-unparseable-key", Accept, "The JWKS also holds a key of an unknown `kty`.", "oidcc-client-test-ignores-unparseable-key-in-jwks";
    UserinfoWrongSub = "rp-userinfo-wrong-sub", Reject, "Userinfo's `sub` differs from the ID token's.", "rp-userinfo-bad-sub-claim";
    RefreshChangedClaims = "rp-refresh-changed-claims", Reject, "The ID token from a refresh has another `sub`.", "oidcc-client-test-refresh-token-invalid-*";
    DiscoveryIssuerMismatch = "rp-discovery-issuer-mismatch", Reject, "Discovery's `issuer` differs from the URL it was fetched from.", "rp-discovery-issuer-not-matching-config";
    JwksUriChanges = "rp-jwks-uri-changes", Accept, "Discovery names a new `jwks_uri` on every fetch.", "rp-discovery-jwks_uri-keys";
    JwksUnavailable = "rp-jwks-unavailable", Reject, "The JWKS answers 500 (fail closed).", "user requests of the mock anchors";
    LogoutTokenAlgNone = "rp-logout-token-alg-none", Reject, "The back-channel logout token is unsigned (`alg: none`).", "rp-backchannel-rpinitlogout-lt-alg-none";
    LogoutTokenWrongAlg = "rp-logout-token-wrong-alg", Reject, "The back-channel logout token is signed HS256 with a guessable secret.", "rp-backchannel-rpinitlogout-lt-wrong-alg";
    LogoutTokenNoEvent = "rp-logout-token-no-event", Reject, "The back-channel logout token has no `events` claim.", "rp-backchannel-rpinitlogout-lt-no-event";
    LogoutTokenWrongEvent = "rp-logout-token-wrong-event", Reject, "The back-channel logout token's event is not the logout event.", "rp-backchannel-rpinitlogout-lt-wrong-event";
    LogoutTokenWithNonce = "rp-logout-token-with-nonce", Reject, "The back-channel logout token carries a `nonce`, which it must not.", "rp-backchannel-rpinitlogout-lt-with-nonce";
    LogoutTokenWrongAud = "rp-logout-token-wrong-aud", Reject, "The back-channel logout token's `aud` is another client.", "rp-backchannel-rpinitlogout-lt-wrong-aud";
    LogoutTokenWrongIss = "rp-logout-token-wrong-iss", Reject, "The back-channel logout token's `iss` is another issuer.", "rp-backchannel-rpinitlogout-lt-wrong-iss";
}

impl fmt::Display for RpCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for RpCase {
    type Err = String;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        if let Some(case) = RpCase::ALL.iter().find(|case| case.id() == id) {
            return Ok(*case);
        }
        let hint = RpCase::ALL
            .iter()
            .map(|case| (strsim::levenshtein(id, case.id()), case.id()))
            .filter(|(distance, _)| *distance <= (id.len() / 3).max(2))
            .min()
            .map(|(_, best)| format!(" (did you mean `{best}`?)"))
            .unwrap_or_default();
        Err(format!("unknown relying-party case `{id}`{hint}"))
    }
}

impl Serialize for RpCase {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl<'de> Deserialize<'de> for RpCase {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for RpCase {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RpCase".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let ids: Vec<&str> = RpCase::ALL.iter().map(|case| case.id()).collect();
        schemars::json_schema!({ "type": "string", "enum": ids })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_d_id_of_the_spec_is_a_case() {
        let spec = include_str!("../../../docs/spec/PITFALLS.md");
        let section_d = spec.split("## D.").nth(1).unwrap();
        for row in section_d.lines().filter(|line| line.starts_with("| `")) {
            for (index, id) in row.split('`').enumerate() {
                if index % 2 == 1 && id.starts_with("rp-") && !id.contains('*') && !id.contains(' ') {
                    assert!(id.parse::<RpCase>().is_ok(), "{id} is not a case");
                }
                // `rp-logout-token-*` stands for the defects the row lists.
                if index % 2 == 1 && id == "rp-logout-token-*" {
                    let defects = RpCase::ALL.iter().filter(|case| case.id().starts_with("rp-logout-token-")).count();
                    assert_eq!(
                        defects, 7,
                        "alg none, wrong alg, no event, wrong event, with nonce, wrong aud, wrong iss"
                    );
                }
            }
        }
    }

    #[test]
    fn ids_round_trip_and_misspellings_get_a_hint() {
        for case in RpCase::ALL {
            assert_eq!(case.id().parse::<RpCase>().unwrap(), *case);
        }
        assert_eq!(
            "rp-id-token-wrong-nonse".parse::<RpCase>().unwrap_err(),
            "unknown relying-party case `rp-id-token-wrong-nonse` (did you mean `rp-id-token-wrong-nonce`?)"
        );
    }
}
