//! What the provider remembers between requests: codes, refresh tokens,
//! opaque tokens, device codes and revocations. In memory, per provider.

use std::collections::{HashMap, HashSet};

use mockidp_core::Claims;

use crate::users::Identity;

/// Identifies everything issued from one authorization, so that revoking
/// one part (a reused code, a revoked refresh token) can revoke all of it.
pub type GrantId = u64;

/// What a user (or a client) authorized.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The issuer's name.
    pub issuer: String,
    /// The client it was granted to.
    pub client_id: String,
    /// The signed-in user.
    pub identity: Identity,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The `nonce` of the authorization request.
    pub nonce: Option<String>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The `acr` requested through `acr_values`.
    pub acr: Option<String>,
    /// `aud` requested through `resource`.
    pub audience: Option<Vec<String>>,
}

/// PKCE code challenge method (RFC 7636 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceMethod {
    /// `S256`.
    S256,
    /// `plain`.
    Plain,
}

/// An authorization code.
#[derive(Debug, Clone)]
pub struct CodeRecord {
    /// What it grants.
    pub authorization: Authorization,
    /// The `redirect_uri` sent to the authorization endpoint, if any: the
    /// token request must repeat it (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    /// The PKCE challenge.
    pub challenge: Option<(String, PkceMethod)>,
    /// Expiry time.
    pub expires_at: i64,
    /// The grant family.
    pub grant_id: GrantId,
}

/// A refresh token.
#[derive(Debug, Clone)]
pub struct RefreshRecord {
    /// What it grants.
    pub authorization: Authorization,
    /// The grant family.
    pub grant_id: GrantId,
    /// Expiry time.
    pub expires_at: i64,
    /// False once rotated out or revoked.
    pub active: bool,
}

/// An opaque access token and the claims it stands for.
#[derive(Debug, Clone)]
pub struct OpaqueRecord {
    /// The issuer's name.
    pub issuer: String,
    /// Its claims, as a JWT would carry them.
    pub claims: Claims,
}

/// The state of a device authorization (RFC 8628).
#[derive(Debug, Clone)]
pub enum DeviceStatus {
    /// Waiting for the user.
    Pending,
    /// The user approved.
    Approved(Identity, i64),
    /// The user denied.
    Denied,
    /// Tokens were issued; the device code is spent.
    Used,
}

/// A device authorization.
#[derive(Debug, Clone)]
pub struct DeviceRecord {
    /// The issuer's name.
    pub issuer: String,
    /// The client that asked.
    pub client_id: String,
    /// Requested scopes.
    pub scopes: Vec<String>,
    /// The code the user types.
    pub user_code: String,
    /// Expiry time.
    pub expires_at: i64,
    /// Current minimum polling interval, in seconds.
    pub interval: i64,
    /// When the client last polled.
    pub last_poll: Option<i64>,
    /// Where the user got to.
    pub status: DeviceStatus,
}

#[derive(Debug, Default)]
struct Family {
    authorization: Option<Authorization>,
    access_jtis: Vec<(String, i64)>,
    refresh_tokens: Vec<String>,
    opaque_tokens: Vec<String>,
}

/// Everything remembered. Callers hold the provider's lock around it.
#[derive(Debug, Default)]
pub struct Store {
    next_grant: GrantId,
    codes: HashMap<String, CodeRecord>,
    spent_codes: HashMap<String, (GrantId, i64)>,
    refresh: HashMap<String, RefreshRecord>,
    opaque: HashMap<String, OpaqueRecord>,
    devices: HashMap<String, DeviceRecord>,
    user_codes: HashMap<String, String>,
    families: HashMap<GrantId, Family>,
    jti_grants: HashMap<String, (GrantId, i64)>,
    revoked_jtis: HashMap<String, i64>,
    inserts: u64,
}

/// What redeeming a code found.
#[derive(Debug)]
pub enum Redeemed {
    /// A valid, unused code: it is now spent.
    Fresh(Box<CodeRecord>),
    /// The code was already used; everything issued from it is now revoked.
    Reused,
    /// Expired.
    Expired,
    /// Never issued.
    Unknown,
}

impl Store {
    /// A new grant family.
    pub fn new_grant(&mut self, authorization: Option<Authorization>) -> GrantId {
        self.next_grant += 1;
        self.families.insert(self.next_grant, Family { authorization, ..Family::default() });
        self.next_grant
    }

    /// Stores an authorization code.
    pub fn insert_code(&mut self, code: String, record: CodeRecord, now: i64) {
        self.maybe_prune(now);
        self.codes.insert(code, record);
    }

    /// Redeems a code once. A second attempt revokes the whole grant
    /// (RFC 6749 §4.1.2: the code must not be used twice).
    pub fn redeem_code(&mut self, code: &str, now: i64) -> Redeemed {
        if let Some((grant_id, _)) = self.spent_codes.get(code).copied() {
            self.revoke_grant(grant_id);
            return Redeemed::Reused;
        }
        let Some(record) = self.codes.remove(code) else {
            return Redeemed::Unknown;
        };
        self.spent_codes.insert(code.to_owned(), (record.grant_id, record.expires_at));
        if record.expires_at <= now {
            return Redeemed::Expired;
        }
        Redeemed::Fresh(Box::new(record))
    }

    /// Remembers a JWT access token's `jti` as part of a grant.
    pub fn record_access(&mut self, grant_id: Option<GrantId>, jti: &str, exp: i64) {
        if let Some(grant_id) = grant_id {
            self.jti_grants.insert(jti.to_owned(), (grant_id, exp));
            if let Some(family) = self.families.get_mut(&grant_id) {
                family.access_jtis.push((jti.to_owned(), exp));
            }
        }
    }

    /// Stores an opaque access token.
    pub fn insert_opaque(&mut self, token: String, record: OpaqueRecord, grant_id: Option<GrantId>, now: i64) {
        self.maybe_prune(now);
        if let Some(family) = grant_id.and_then(|id| self.families.get_mut(&id)) {
            family.opaque_tokens.push(token.clone());
        }
        self.opaque.insert(token, record);
    }

    /// An opaque token's record.
    pub fn opaque(&self, token: &str) -> Option<&OpaqueRecord> {
        self.opaque.get(token)
    }

    /// Stores a refresh token.
    pub fn insert_refresh(&mut self, token: String, record: RefreshRecord, now: i64) {
        self.maybe_prune(now);
        if let Some(family) = self.families.get_mut(&record.grant_id) {
            family.refresh_tokens.push(token.clone());
        }
        self.refresh.insert(token, record);
    }

    /// A refresh token's record.
    pub fn refresh(&self, token: &str) -> Option<&RefreshRecord> {
        self.refresh.get(token)
    }

    /// Marks a refresh token as used up (rotation).
    pub fn retire_refresh(&mut self, token: &str) {
        if let Some(record) = self.refresh.get_mut(token) {
            record.active = false;
        }
    }

    /// Revokes everything issued under a grant.
    pub fn revoke_grant(&mut self, grant_id: GrantId) {
        let Some(family) = self.families.get(&grant_id) else {
            return;
        };
        let jtis = family.access_jtis.clone();
        let refresh = family.refresh_tokens.clone();
        let opaque = family.opaque_tokens.clone();
        for (jti, exp) in jtis {
            self.revoked_jtis.insert(jti, exp);
        }
        for token in refresh {
            self.retire_refresh(&token);
        }
        for token in opaque {
            self.opaque.remove(&token);
        }
    }

    /// Revokes one JWT access token by `jti`.
    pub fn revoke_jti(&mut self, jti: &str, exp: i64) {
        self.revoked_jtis.insert(jti.to_owned(), exp);
    }

    /// Revokes one opaque access token.
    pub fn revoke_opaque(&mut self, token: &str) -> bool {
        self.opaque.remove(token).is_some()
    }

    /// Whether a `jti` was revoked.
    pub fn is_revoked(&self, jti: &str) -> bool {
        self.revoked_jtis.contains_key(jti)
    }

    /// The authorization a JWT access token was issued under, by `jti`.
    pub fn authorization_of_jti(&self, jti: &str) -> Option<&Authorization> {
        let (grant_id, _) = self.jti_grants.get(jti)?;
        self.families.get(grant_id)?.authorization.as_ref()
    }

    /// Stores a device authorization under its device code.
    pub fn insert_device(&mut self, device_code: String, record: DeviceRecord, now: i64) {
        self.maybe_prune(now);
        self.user_codes.insert(record.user_code.clone(), device_code.clone());
        self.devices.insert(device_code, record);
    }

    /// A device authorization by device code.
    pub fn device_mut(&mut self, device_code: &str) -> Option<&mut DeviceRecord> {
        self.devices.get_mut(device_code)
    }

    /// A device authorization by the code the user typed.
    pub fn device_by_user_code(&mut self, user_code: &str) -> Option<&mut DeviceRecord> {
        let device_code = self.user_codes.get(user_code)?;
        self.devices.get_mut(device_code)
    }

    /// Every user code in use, to avoid handing one out twice.
    pub fn user_codes(&self) -> HashSet<&str> {
        self.user_codes.keys().map(String::as_str).collect()
    }

    /// Drops what expired long ago, every 64 inserts, so a long-running dev
    /// server does not grow without bound.
    fn maybe_prune(&mut self, now: i64) {
        self.inserts += 1;
        if !self.inserts.is_multiple_of(64) {
            return;
        }
        // Keep spent codes a while after expiry so reuse is still detected.
        let horizon = now - 3600;
        self.codes.retain(|_, record| record.expires_at > horizon);
        self.spent_codes.retain(|_, (_, expires_at)| *expires_at > horizon);
        self.refresh.retain(|_, record| record.expires_at > horizon);
        self.opaque.retain(|_, record| record.claims.exp.is_none_or(|exp| exp > horizon));
        self.revoked_jtis.retain(|_, exp| *exp > horizon);
        let expired: Vec<String> = self
            .devices
            .iter()
            .filter(|(_, record)| record.expires_at <= horizon)
            .map(|(code, _)| code.clone())
            .collect();
        for code in expired {
            if let Some(record) = self.devices.remove(&code) {
                self.user_codes.remove(&record.user_code);
            }
        }
        self.jti_grants.retain(|_, (_, exp)| *exp > horizon);
        // A family lives while anything issued under it may still be used.
        let live: HashSet<GrantId> = self
            .codes
            .values()
            .map(|record| record.grant_id)
            .chain(self.spent_codes.values().map(|(grant_id, _)| *grant_id))
            .chain(self.refresh.values().map(|record| record.grant_id))
            .chain(self.jti_grants.values().map(|(grant_id, _)| *grant_id))
            .collect();
        self.families.retain(|grant_id, family| {
            family.access_jtis.retain(|(_, exp)| *exp > horizon);
            family.opaque_tokens.retain(|token| self.opaque.contains_key(token));
            live.contains(grant_id) || !family.opaque_tokens.is_empty()
        });
    }
}
