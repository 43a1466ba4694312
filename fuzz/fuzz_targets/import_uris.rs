//! The URI-list importer and format detection on arbitrary input: never a panic, line numbers
//! within the text, and every account read survives format → parse.

#![no_main]

use countersign_core::transfer::{sniff, uris};
use countersign_core::uri::OtpAccount;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sniff(data);
    let Ok(parsed) = uris::parse_bytes(data) else {
        return;
    };
    let lines = data.split(|b| *b == b'\n').count();
    for f in &parsed.failures {
        assert!(f.index >= 1 && f.index <= lines);
    }
    for a in &parsed.accounts {
        assert!(a.index >= 1 && a.index <= lines);
        let again = OtpAccount::parse(&a.account.to_uri()).expect("formatted URI must parse");
        assert_eq!(again.secret(), a.account.secret());
    }
});
