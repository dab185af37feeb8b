//! A per-process pool of generated keys.

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
};

use crate::{Algorithm, Error, SigningKey};

/// Generates each key once per process and hands out the same key for the
/// same `(slot, alg)` afterwards.
///
/// RSA generation costs 0.1 to 0.9 s; a test binary that starts fifty
/// providers would otherwise spend most of its time on primes. Slots are
/// names chosen by the caller (the server uses the issuer name and the key's
/// position), so two issuers of one provider never share a key, while two
/// providers in one test binary reuse theirs. Callers that need keys nobody
/// else has use [`SigningKey::generate`] directly.
#[derive(Debug, Default)]
pub struct KeyPool {
    keys: Mutex<HashMap<(String, Algorithm), SigningKey>>,
}

impl KeyPool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// The pool shared by everything in this process.
    pub fn process() -> &'static KeyPool {
        static POOL: OnceLock<KeyPool> = OnceLock::new();
        POOL.get_or_init(KeyPool::new)
    }

    /// The key for `(slot, alg)`, generated on first use.
    pub fn get(&self, slot: &str, alg: Algorithm) -> Result<SigningKey, Error> {
        let key = (slot.to_owned(), alg);
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        // Generate outside the lock so other slots are not held up; if two
        // threads race for one slot, the first insert wins and both get it.
        let generated = SigningKey::generate(alg)?;
        Ok(self.lock().entry(key).or_insert(generated).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, Algorithm), SigningKey>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_slot_same_key_other_slot_other_key() {
        let pool = KeyPool::new();
        let a = pool.get("a", Algorithm::ES256).unwrap();
        let again = pool.get("a", Algorithm::ES256).unwrap();
        let b = pool.get("b", Algorithm::ES256).unwrap();
        assert_eq!(a.kid(), again.kid());
        assert_ne!(a.kid(), b.kid());
    }
}
