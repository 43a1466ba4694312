//! The otpauth parser on arbitrary input: it must never panic, and whatever it accepts must
//! survive a format → parse round trip with the same parameters and codes.

#![no_main]

use countersign_core::uri::OtpAccount;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(account) = OtpAccount::parse(text) else {
        return;
    };
    let again = OtpAccount::parse(&account.to_uri()).expect("formatted URI must parse");
    assert_eq!(account.kind(), again.kind());
    assert_eq!(account.algorithm(), again.algorithm());
    assert_eq!(account.digits(), again.digits());
    assert_eq!(account.secret(), again.secret());
    assert_eq!(account.issuer(), again.issuer());
    assert_eq!(account.account_name(), again.account_name());
    assert_eq!(account.extra_parameters(), again.extra_parameters());
    let at = 1_700_000_000;
    assert_eq!(
        account.code_at(at).map(|c| c.code),
        again.code_at(at).map(|c| c.code)
    );
});
