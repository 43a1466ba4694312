//! Google transfer links on arbitrary input: text links, and (first byte 0) raw protobuf
//! wrapped into a link, so the protobuf decoder is reached directly. Never a panic; every
//! account read must have a non-empty secret and produce a code.

#![no_main]

use countersign_core::transfer::google;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = match data.split_first() {
        Some((0, proto)) => {
            let b64 = data_encoding::BASE64.encode(proto);
            let link: String = url::form_urlencoded::byte_serialize(b64.as_bytes()).collect();
            google::parse_links(&[format!("otpauth-migration://offline?data={link}")])
        }
        _ => match google::parse_text(data) {
            Ok(p) => p,
            Err(_) => return,
        },
    };
    for a in &parsed.accounts {
        assert!(!a.account.secret().is_empty());
        assert!(a.account.code_at(1_700_000_000).is_ok());
    }
    for gap in &parsed.missing_batches {
        assert!(gap.missing.len() as u64 <= u64::from(gap.batch_size));
    }
});
