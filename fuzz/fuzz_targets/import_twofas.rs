//! The 2FAS importer on arbitrary input, without a password (plain backups are read in full;
//! encrypted ones are parsed up to the password).

#![no_main]

use countersign_core::transfer::{TransferError, twofas};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match twofas::parse(data, None) {
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
