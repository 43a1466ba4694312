//! Deriving a key from a passphrase: Argon2id, with its cost stored beside the salt so it can be
//! raised later without breaking existing vaults.

use super::SecretBytes;
use crate::{Error, Result};
use argon2::{Algorithm, Argon2, Params, Version};

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Cost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Argon2Cost {
    /// The default for key stores: 64 MiB, 3 passes, 1 lane (above OWASP's 19 MiB / 2 floor,
    /// about a quarter of a second on a phone-class core).
    pub const DEFAULT: Self = Self {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// The least we accept when reading stored parameters (OWASP's floor), so a tampered
    /// header cannot downgrade the derivation to something trivially brute-forced.
    pub const MINIMUM: Self = Self {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// The most we accept from a stored header (bounds memory a hostile file can demand).
    pub const MAXIMUM_MEMORY_KIB: u32 = 1024 * 1024;
}

/// Derives 32 bytes from `passphrase` and `salt` with Argon2id v1.3.
pub fn argon2id(passphrase: &[u8], salt: &[u8], cost: Argon2Cost) -> Result<SecretBytes> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, Some(32))
        .map_err(|_| Error::Crypto("Argon2id parameters out of range"))?;
    let mut out = vec![0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, salt, &mut out)
        .map_err(|_| Error::Crypto("Argon2id derivation failed"))?;
    Ok(SecretBytes::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_salted() {
        let cost = Argon2Cost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let a = argon2id(b"pw", b"saltsaltsaltsalt", cost).unwrap();
        let b = argon2id(b"pw", b"saltsaltsaltsalt", cost).unwrap();
        let c = argon2id(b"pw", b"SALTSALTSALTSALT", cost).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 32);
    }
}
