//! Known-answer tests from the RFCs, edge cases, and a property test against totp-rs.

use super::*;
use proptest::prelude::*;

fn secret(bytes: &[u8]) -> SecretBytes {
    SecretBytes::from_slice(bytes)
}

const RFC_SHA1: &[u8] = b"12345678901234567890";
const RFC_SHA256: &[u8] = b"12345678901234567890123456789012";
const RFC_SHA512: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

#[test]
fn rfc4226_appendix_d() {
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    for (counter, want) in expected.iter().enumerate() {
        let code = hotp(&secret(RFC_SHA1), Algorithm::Sha1, 6, counter as u64).unwrap();
        assert_eq!(code.as_str(), *want, "counter {counter}");
    }
}

#[test]
fn rfc6238_appendix_b_all_hashes() {
    let table: [(u64, &str, &str, &str); 6] = [
        (59, "94287082", "46119246", "90693936"),
        (1_111_111_109, "07081804", "68084774", "25091201"),
        (1_111_111_111, "14050471", "67062674", "99943326"),
        (1_234_567_890, "89005924", "91819424", "93441116"),
        (2_000_000_000, "69279037", "90698825", "38618901"),
        (20_000_000_000, "65353130", "77737706", "47863826"),
    ];
    for (t, sha1, sha256, sha512) in table {
        for (alg, key, want) in [
            (Algorithm::Sha1, RFC_SHA1, sha1),
            (Algorithm::Sha256, RFC_SHA256, sha256),
            (Algorithm::Sha512, RFC_SHA512, sha512),
        ] {
            let got = totp(&secret(key), alg, 8, 30, t).unwrap();
            assert_eq!(got.code.as_str(), want, "{alg} at {t}");
        }
    }
}

#[test]
fn window_and_next_code() {
    let g = Generator::decimal(Algorithm::Sha1, 8, &secret(RFC_SHA1)).unwrap();
    let at = g.at_time(30, 1_111_111_109).unwrap();
    assert_eq!(at.valid_from, 1_111_111_080);
    assert_eq!(at.valid_until, 1_111_111_110);
    // The next step's code is the one RFC 6238 lists for 1111111111.
    assert_eq!(at.next.as_ref().unwrap().as_str(), "14050471");
}

#[test]
fn far_future_and_end_of_time() {
    let g = Generator::decimal(Algorithm::Sha1, 6, &secret(RFC_SHA1)).unwrap();
    let w = g.at_time(30, u64::MAX).unwrap();
    assert_eq!(w.valid_until, u64::MAX, "saturates instead of wrapping");
    assert_eq!(w.valid_from, u64::MAX - u64::MAX % 30);
    let last = g.at_time(1, u64::MAX).unwrap();
    assert!(last.next.is_none(), "no step after the last one");
    assert_eq!(last.code.len(), 6);
    // Year 3000 works like any other instant.
    let y3000 = g.at_time(30, 32_503_680_000).unwrap();
    assert_eq!(y3000.valid_until - y3000.valid_from, 30);
}

#[test]
fn hotp_max_counter() {
    let code = hotp(&secret(RFC_SHA1), Algorithm::Sha1, 6, u64::MAX).unwrap();
    assert_eq!(code.len(), 6);
}

#[test]
fn rejects_bad_parameters() {
    let s = secret(RFC_SHA1);
    assert_eq!(
        hotp(&s, Algorithm::Sha1, 5, 0),
        Err(OtpError::InvalidDigits(5))
    );
    assert_eq!(
        hotp(&s, Algorithm::Sha1, 11, 0),
        Err(OtpError::InvalidDigits(11))
    );
    assert_eq!(
        totp(&s, Algorithm::Sha1, 6, 0, 10),
        Err(OtpError::InvalidPeriod)
    );
    assert_eq!(
        hotp(&secret(b""), Algorithm::Sha1, 6, 0),
        Err(OtpError::EmptySecret)
    );
}

#[test]
fn ten_digits_is_the_whole_truncated_value() {
    // RFC 4226 Appendix D lists the truncated decimal values; counter 0 is 1284755224.
    let code = hotp(&secret(RFC_SHA1), Algorithm::Sha1, 10, 0).unwrap();
    assert_eq!(code.as_str(), "1284755224");
    let nine = hotp(&secret(RFC_SHA1), Algorithm::Sha1, 9, 0).unwrap();
    assert_eq!(nine.as_str(), "284755224");
}

#[test]
fn steam_code_shape() {
    let code = steam(&secret(RFC_SHA1), 30, 1_700_000_000).unwrap();
    assert_eq!(code.code.len(), 5);
    assert!(
        code.code
            .as_str()
            .bytes()
            .all(|b| STEAM_ALPHABET.contains(&b))
    );
}

fn reference(alg: Algorithm) -> totp_rs::Algorithm {
    match alg {
        Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
        Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
        Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
    }
}

fn any_algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::Sha1),
        Just(Algorithm::Sha256),
        Just(Algorithm::Sha512)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Our TOTP equals totp-rs's (an independent HMAC implementation: RustCrypto) for random
    /// secrets, times, periods, algorithms and 6–9 digits (totp-rs panics at 10).
    #[test]
    fn totp_matches_totp_rs(
        key in proptest::collection::vec(any::<u8>(), 1..80),
        at in any::<u64>(),
        period in 1u64..100_000,
        digits in 6u8..=9,
        alg in any_algorithm(),
    ) {
        let ours = totp(&secret(&key), alg, digits, period, at).unwrap();
        let theirs = totp_rs::Builder::new()
            .with_algorithm(reference(alg))
            .with_digits(digits)
            .with_step_duration(period)
            .with_secret(key.clone())
            .build_noncompliant()
            .generate(at)
            .to_string();
        prop_assert_eq!(ours.code.as_str(), theirs.as_str());
    }

    /// HOTP is TOTP with a 1-second step at "time" = counter, which totp-rs computes for us.
    #[test]
    fn hotp_matches_totp_rs(
        key in proptest::collection::vec(any::<u8>(), 1..80),
        counter in any::<u64>(),
        digits in 6u8..=9,
        alg in any_algorithm(),
    ) {
        let ours = hotp(&secret(&key), alg, digits, counter).unwrap();
        let theirs = totp_rs::Builder::new()
            .with_algorithm(reference(alg))
            .with_digits(digits)
            .with_step_duration(1)
            .with_secret(key.clone())
            .build_noncompliant()
            .generate(counter)
            .to_string();
        prop_assert_eq!(ours.as_str(), theirs.as_str());
    }

    /// Ten digits: the 31-bit value itself, zero-padded; nine digits are its last nine.
    #[test]
    fn ten_digits_extends_nine(
        key in proptest::collection::vec(any::<u8>(), 1..64),
        counter in any::<u64>(),
    ) {
        let ten = hotp(&secret(&key), Algorithm::Sha1, 10, counter).unwrap();
        let nine = hotp(&secret(&key), Algorithm::Sha1, 9, counter).unwrap();
        prop_assert_eq!(&ten.as_str()[1..], nine.as_str());
        prop_assert!(ten.as_str().parse::<u64>().unwrap() <= 0x7fff_ffff);
    }

    /// Steam matches totp-rs's Steam implementation.
    #[test]
    fn steam_matches_totp_rs(
        key in proptest::collection::vec(any::<u8>(), 1..64),
        at in any::<u64>(),
    ) {
        let ours = steam(&secret(&key), 30, at).unwrap();
        let theirs = totp_rs::Builder::new_steam()
            .with_secret(key.clone())
            .build_noncompliant()
            .generate(at)
            .to_string();
        prop_assert_eq!(ours.code.as_str(), theirs.as_str());
    }
}
