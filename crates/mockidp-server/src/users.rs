//! Users: their claims, with plausible fake values for the standard ones,
//! and which claims each scope releases (OpenID Connect Core §5.4).

use serde_json::{Map, Value, json};

use crate::config::UserConfig;

/// The standard claims each scope releases (OpenID Connect Core §5.4).
const SCOPE_CLAIMS: [(&str, &[&str]); 4] = [
    (
        "profile",
        &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
    ),
    ("email", &["email", "email_verified"]),
    ("address", &["address"]),
    ("phone", &["phone_number", "phone_number_verified"]),
];

const FAMILY_NAMES: [&str; 8] = ["Anderson", "Brown", "Garcia", "Johansen", "Kowalski", "Nakamura", "Okafor", "Silva"];

/// Whether `claim` is one of the standard claims a scope releases.
pub fn is_scoped_claim(claim: &str) -> bool {
    SCOPE_CLAIMS.iter().any(|(_, claims)| claims.contains(&claim))
}

/// A signed-in user: the subject and every claim the user has.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// The `sub`.
    pub sub: String,
    /// All claims but `sub`: standard ones (released per scope) and custom
    /// ones (always released).
    pub claims: Map<String, Value>,
}

impl Identity {
    /// A configured user: its claims over plausible defaults.
    pub fn from_user(name: &str, user: &UserConfig) -> Self {
        let mut claims = plausible_claims(name);
        for (claim, value) in &user.claims {
            claims.insert(claim.clone(), value.clone());
        }
        let sub = match claims.remove("sub") {
            Some(Value::String(sub)) => sub,
            _ => name.to_owned(),
        };
        Self { sub, claims }
    }

    /// A subject typed on the login page, with exactly the claims typed there.
    pub fn custom(sub: &str, mut claims: Map<String, Value>) -> Self {
        // The subject is the one typed; a `sub` among the claims would make
        // the ID token and userinfo disagree.
        claims.remove("sub");
        Self { sub: sub.to_owned(), claims }
    }

    /// The claims released for `scopes`: custom claims always, standard
    /// claims when their scope was granted.
    pub fn released(&self, scopes: &[String]) -> Map<String, Value> {
        self.claims
            .iter()
            .filter(|(claim, _)| {
                SCOPE_CLAIMS.iter().all(|(_, claims)| !claims.contains(&claim.as_str()))
                    || SCOPE_CLAIMS
                        .iter()
                        .any(|(scope, claims)| claims.contains(&claim.as_str()) && scopes.iter().any(|s| s == scope))
            })
            .map(|(claim, value)| (claim.clone(), value.clone()))
            .collect()
    }

    /// The claims that are not standard OpenID claims: roles, groups, tenant…
    pub fn custom_claims(&self) -> Map<String, Value> {
        self.claims
            .iter()
            .filter(|(claim, _)| !is_scoped_claim(claim))
            .map(|(claim, value)| (claim.clone(), value.clone()))
            .collect()
    }
}

/// Fake but plausible standard claims derived from a user name, the same
/// every time: `alice` is Alice Anderson, alice@example.com.
pub fn plausible_claims(name: &str) -> Map<String, Value> {
    let given = capitalize(name.split(['.', '_', '-', '@']).next().unwrap_or(name));
    let index = name.bytes().fold(0usize, |acc, byte| acc.wrapping_mul(31).wrapping_add(usize::from(byte)));
    let family = FAMILY_NAMES[index % FAMILY_NAMES.len()];
    let local: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')).collect();
    let local = if local.is_empty() { "user".to_owned() } else { local.to_ascii_lowercase() };
    let json = json!({
        "name": format!("{given} {family}"),
        "given_name": given,
        "family_name": family,
        "preferred_username": name,
        "email": format!("{local}@example.com"),
        "email_verified": true,
        "locale": "en-US",
        "zoneinfo": "Europe/Oslo",
        // 555-01xx numbers are reserved for fiction.
        "phone_number": format!("+1 555 01{:02}", index % 100),
        "phone_number_verified": false,
        "address": {
            "street_address": format!("{} Example Street", 1 + index % 99),
            "locality": "Springfield",
            "postal_code": "12345",
            "country": "US",
        },
        "updated_at": 1_700_000_000,
    });
    match json {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "User".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plausible_and_stable() {
        let alice = plausible_claims("alice");
        assert_eq!(alice["given_name"], "Alice");
        assert_eq!(alice["email"], "alice@example.com");
        assert_eq!(plausible_claims("alice"), alice);
    }

    #[test]
    fn scopes_release_standard_claims_custom_ones_always() {
        let mut user = UserConfig::default();
        user.claims.insert("roles".into(), json!(["admin"]));
        let identity = Identity::from_user("alice", &user);
        let none = identity.released(&[]);
        assert!(none.contains_key("roles"));
        assert!(!none.contains_key("email"));
        let email = identity.released(&["email".to_owned()]);
        assert!(email.contains_key("email") && email.contains_key("email_verified"));
        assert!(!email.contains_key("name"));
    }

    #[test]
    fn configured_sub_wins() {
        let mut user = UserConfig::default();
        user.claims.insert("sub".into(), json!("00u-alice"));
        assert_eq!(Identity::from_user("alice", &user).sub, "00u-alice");
    }
}
