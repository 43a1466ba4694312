//! Importing 1,000 accounts into a vault, each in a group (an Aegis or 2FAS file with groups):
//! one `add_oath` + `set_groups` per account, as the importer did before, against one
//! `add_oath_batch`, as it does now. The vault runs `synchronous = FULL`, so each commit is a
//! durable write; the difference is mostly those writes, which cost far more on a phone's
//! flash than on this machine. Prints medians of interleaved runs (a fresh vault file each,
//! created before the clock starts) and the ratio; asserts nothing about wall time.
//!
//! Run: `cargo bench -p countersign-core --bench import_batch`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // bench code: fail loudly

mod common;

use countersign_core::crypto::SecretBytes;
use countersign_core::platform::{KeyStore, MemoryKeyStore};
use countersign_core::vault::{BatchEntry, BatchOutcome, Vault};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCOUNTS: usize = 1_000;
const RUNS: usize = 5;
const AT: u64 = 1_700_000_000;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn KeyStore> =
        Arc::new(MemoryKeyStore::from_key(SecretBytes::from_slice(&[0x42u8; 32])).unwrap());
    let accounts = common::accounts(ACCOUNTS);
    let groups: Vec<Vec<String>> = (0..ACCOUNTS)
        .map(|i| vec![format!("Group {}", i % 7)])
        .collect();

    let mut one_by_one = Vec::new();
    let mut batched = Vec::new();
    for run in 0..RUNS {
        let vault =
            Vault::create(&dir.path().join(format!("single{run}.db")), store.clone()).unwrap();
        let t = Instant::now();
        for (a, g) in accounts.iter().zip(&groups) {
            let id = vault.add_oath(a, AT).unwrap();
            vault.set_groups(id, g).unwrap();
        }
        one_by_one.push(t.elapsed());
        assert_eq!(vault.list().unwrap().len(), ACCOUNTS);

        let vault =
            Vault::create(&dir.path().join(format!("batch{run}.db")), store.clone()).unwrap();
        let entries: Vec<BatchEntry<'_>> = accounts
            .iter()
            .zip(&groups)
            .map(|(account, groups)| BatchEntry { account, groups })
            .collect();
        let t = Instant::now();
        let out = vault.add_oath_batch(&entries, AT).unwrap();
        batched.push(t.elapsed());
        assert!(out.iter().all(|o| matches!(
            o,
            BatchOutcome::Added {
                groups_refused: None,
                ..
            }
        )));
        assert_eq!(vault.list().unwrap().len(), ACCOUNTS);
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (single, batch) = (median(&mut one_by_one), median(&mut batched));
    println!("import of {ACCOUNTS} accounts with groups, median of {RUNS} interleaved runs:");
    println!(
        "  add_oath + set_groups each (2 commits an account): {:>9.1} ms",
        single.as_secs_f64() * 1e3
    );
    println!(
        "  add_oath_batch (1 commit):                         {:>9.1} ms",
        batch.as_secs_f64() * 1e3
    );
    println!(
        "  ratio: {:.1}x faster",
        single.as_secs_f64() / batch.as_secs_f64()
    );
}
