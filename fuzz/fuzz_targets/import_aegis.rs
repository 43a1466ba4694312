//! The Aegis importer on arbitrary input, without a password (plain vaults are read in full;
//! encrypted ones are parsed and their slots and KDF bounds checked, up to the password).

#![no_main]

use countersign_core::transfer::{TransferError, aegis};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match aegis::parse(data, None) {
        Ok(parsed) => {
            for a in &parsed.accounts {
                assert!(!a.account.secret().is_empty());
            }
        }
        Err(TransferError::WrongPassword | TransferError::Tampered) => {
            panic!("no password was given")
        }
        Err(_) => {}
    }
});
