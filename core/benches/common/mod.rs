//! Helpers shared by the core's benchmarks.

/// `n` deterministic 20-byte secrets (xorshift), so every run measures the same work.
pub fn secrets(n: usize) -> Vec<[u8; 20]> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            let mut s = [0u8; 20];
            for b in &mut s {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            s
        })
        .collect()
}

/// `n` TOTP accounts over [`secrets`] with distinct names and 37 issuers.
#[allow(dead_code)] // not every bench uses it
pub fn accounts(n: usize) -> Vec<countersign_core::uri::OtpAccount> {
    use countersign_core::crypto::SecretBytes;
    use countersign_core::otp::{Algorithm, OtpKind};
    secrets(n)
        .iter()
        .enumerate()
        .map(|(i, s)| {
            countersign_core::uri::OtpAccount::new(
                OtpKind::Totp { period: 30 },
                Algorithm::Sha1,
                6,
                SecretBytes::from_slice(s),
                Some(format!("Issuer {}", i % 37)),
                format!("user{i}@example.org"),
            )
            .expect("a valid account")
        })
        .collect()
}
