//! App passwords (the enrolment page's last step): generated server-side, shown once, stored
//! only as an Argon2id hash (`argon2id$v=19$m=…,t=…,p=…$salt$hash`, via the core's KDF).

use countersign_core::crypto::{Argon2Cost, argon2id, constant_time_eq, random_bytes};
use countersign_core::openpush::encoding::{b64, unb64};
use zeroize::Zeroizing;

/// Letters and digits without look-alikes.
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";

/// A new app password (`xxxx-xxxx-xxxx-xxxx`, 80 bits) and its stored hash.
pub(crate) fn generate() -> countersign_core::Result<(Zeroizing<String>, String)> {
    let raw = random_bytes(16)?;
    let mut pw = Zeroizing::new(String::with_capacity(19));
    for (i, b) in raw.expose().iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            pw.push('-');
        }
        pw.push(char::from(ALPHABET[usize::from(b & 31)]));
    }
    let hash = hash(&pw)?;
    Ok((pw, hash))
}

fn hash(password: &str) -> countersign_core::Result<String> {
    let cost = Argon2Cost::MINIMUM;
    let salt = random_bytes(16)?;
    let h = argon2id(password.as_bytes(), salt.expose(), cost)?;
    Ok(format!(
        "argon2id$v=19$m={},t={},p={}${}${}",
        cost.memory_kib,
        cost.iterations,
        cost.parallelism,
        b64(salt.expose()),
        b64(h.expose())
    ))
}

/// Checks `password` against a stored hash (constant-time comparison of the derived key).
pub(crate) fn verify(stored: &str, password: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [alg, _v, params, salt, expected] = parts.as_slice() else {
        return false;
    };
    if *alg != "argon2id" {
        return false;
    }
    let mut cost = Argon2Cost::MINIMUM;
    for kv in params.split(',') {
        match kv.split_once('=') {
            Some(("m", v)) => cost.memory_kib = v.parse().unwrap_or(0),
            Some(("t", v)) => cost.iterations = v.parse().unwrap_or(0),
            Some(("p", v)) => cost.parallelism = v.parse().unwrap_or(0),
            _ => return false,
        }
    }
    if cost.memory_kib < Argon2Cost::MINIMUM.memory_kib
        || cost.memory_kib > Argon2Cost::MAXIMUM_MEMORY_KIB
        || cost.iterations < Argon2Cost::MINIMUM.iterations
        || cost.parallelism == 0
    {
        return false;
    }
    let (Ok(salt), Ok(expected)) = (unb64(salt, "salt"), unb64(expected, "hash")) else {
        return false;
    };
    argon2id(password.as_bytes(), &salt, cost)
        .is_ok_and(|h| constant_time_eq(h.expose(), &expected))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn generate_and_verify() {
        let (pw, h) = generate().unwrap();
        assert_eq!(pw.len(), 19);
        assert!(h.starts_with("argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!h.contains(pw.as_str()));
        assert!(verify(&h, &pw));
        assert!(!verify(&h, "aaaa-bbbb-cccc-dddd"));
        assert!(!verify("garbage", &pw));
    }
}
