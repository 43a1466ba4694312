//! The backup reader on arbitrary input: the header parser (with its KDF bounds, never running
//! the KDF) and the decrypted-content reader. Never a panic; an accepted header is within the
//! documented bounds.

#![no_main]

use countersign_core::transfer::backup;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = backup::read_header(data) {
        assert!(h.cost.memory_kib <= backup::MAX_MEMORY_KIB);
        assert!(h.cost.iterations <= backup::MAX_ITERATIONS);
        assert!(h.cost.parallelism <= backup::MAX_LANES);
        assert!(h.header_len <= data.len());
    }
    if let Ok(parsed) = backup::read_content(data) {
        for a in &parsed.accounts {
            assert!(!a.account.secret().is_empty());
        }
    }
});
