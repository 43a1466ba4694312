"""The vault-less functions: parse_account_uri and code_for_uri, with every error variant they can
return, and the RFC 4226 / RFC 6238 vectors through the FFI."""

from __future__ import annotations

import pytest

import countersign_ffi as cs
from support import RFC4226, RFC6238_CASES, SEED_SHA1, b32, hotp_uri, totp_uri


# ---------------------------------------------------------------------------------------------
# parse_account_uri


def test_parse_totp_describes_the_account_without_the_secret():
    uri = totp_uri("SHA256", issuer="ACME", name="alice@example.com", digits=8, period=60)
    info = cs.parse_account_uri(uri)
    assert isinstance(info, cs.AccountInfo)
    assert info.otp_type == cs.OtpType.TOTP
    assert info.issuer == "ACME"
    assert info.account_name == "alice@example.com"
    assert info.algorithm == "SHA256"
    assert info.digits == 8
    assert info.period == 60
    assert info.counter is None
    assert info.secret_bits == 256
    assert info.image is None
    assert info.warnings == []
    # The record has no field that could carry the secret.
    assert b32(b"12345678901234567890123456789012") not in repr(info)


def test_parse_hotp_defaults():
    info = cs.parse_account_uri(f"otpauth://hotp/bob?secret={b32(SEED_SHA1)}&counter=7")
    assert info.otp_type == cs.OtpType.HOTP
    assert info.issuer is None
    assert info.account_name == "bob"
    assert info.algorithm == "SHA1"
    assert info.digits == 6
    assert info.period is None
    assert info.counter == 7
    assert info.secret_bits == 160


def test_parse_steam_and_image():
    info = cs.parse_account_uri(
        f"otpauth://totp/Steam:gamer?secret={b32(SEED_SHA1)}&issuer=Steam&encoder=steam"
        "&image=https%3A%2F%2Fexample.com%2Ficon.png"
    )
    assert info.image == "https://example.com/icon.png"
    assert info.otp_type in (cs.OtpType.STEAM, cs.OtpType.TOTP)
    steam = cs.parse_account_uri(f"otpauth://steam/Steam:gamer?secret={b32(SEED_SHA1)}")
    assert steam.otp_type == cs.OtpType.STEAM
    assert steam.digits == 5


def test_parse_reports_guesses_as_warnings():
    # Lower-case and spaced secrets are accepted (real QR codes have them) and reported.
    spaced = " ".join(b32(SEED_SHA1).lower()[i:i + 4] for i in range(0, 32, 4))
    info = cs.parse_account_uri(f"otpauth://totp/x?secret={spaced.replace(' ', '%20')}")
    assert info.secret_bits == 160
    assert all(isinstance(w, str) for w in info.warnings)


@pytest.mark.parametrize(
    "uri, field",
    [
        ("otpauth://totp/x", "secret"),
        ("otpauth://totp/x?secret=", "secret"),
        ("otpauth://totp/x?secret=GEZ1", "secret"),
        ("otpauth://totp/x?secret=A", "secret"),
        ("otpauth://totp/x?secret=GEZDGNBV&algorithm=FOO", "algorithm"),
        ("otpauth://totp/x?secret=GEZDGNBV&algorithm=MD5", "algorithm"),
        ("otpauth://totp/x?secret=GEZDGNBV&digits=5", "digits"),
        ("otpauth://totp/x?secret=GEZDGNBV&digits=eleven", "digits"),
        ("otpauth://totp/x?secret=GEZDGNBV&period=0", "period"),
        ("otpauth://hotp/x?secret=GEZDGNBV&counter=-1", "counter"),
        ("otpauth://hotp/x?secret=GEZDGNBV&counter=18446744073709551616", "counter"),
        ("otpauth://", "type"),
        ("otpauth://foo/x?secret=GEZDGNBV", "type"),
    ],
)
def test_parse_invalid_input_names_the_field(uri, field):
    with pytest.raises(cs.CountersignError.InvalidInput) as e:
        cs.parse_account_uri(uri)
    assert e.value.field == field
    assert e.value.detail
    # Typed errors are also the base class, so a shell can catch them all at once.
    assert isinstance(e.value, cs.CountersignError)


@pytest.mark.parametrize(
    "uri",
    [
        "https://example.com/",
        "otpauth://totp/x?secret=GEZDGNBV&secret=GEZDGNBV",
        "otpauth://totp/%FF?secret=GEZDGNBV",
        "otpauth://totp/x?secret=GEZDGNBV&" + "a" * 100_000,
    ],
)
def test_parse_invalid_input_without_a_field(uri):
    with pytest.raises(cs.CountersignError.InvalidInput) as e:
        cs.parse_account_uri(uri)
    assert e.value.field is None
    assert e.value.detail


@pytest.mark.parametrize(
    "uri",
    [
        "otpauth-migration://offline?data=CjEKCkhlbGxvId6tvu8SGG",
        "otpauth://pipush/x?secret=GEZDGNBV",
        "otpauth://motp/x?secret=GEZDGNBV",
        "motp://x?secret=abc",
        "pia://x",
        "phonefactor://activate_account?code=1",
    ],
)
def test_parse_unsupported(uri):
    with pytest.raises(cs.CountersignError.Unsupported) as e:
        cs.parse_account_uri(uri)
    assert e.value.detail


def test_error_messages_never_contain_the_secret():
    secret = b32(SEED_SHA1)
    for uri in (
        f"otpauth://totp/x?secret={secret}&digits=99",
        f"otpauth://totp/x?secret={secret}&algorithm=MD4",
        f"otpauth://totp/x?secret={secret}1",
    ):
        with pytest.raises(cs.CountersignError) as e:
            cs.parse_account_uri(uri)
        assert secret not in str(e.value) and secret not in repr(e.value)


# ---------------------------------------------------------------------------------------------
# code_for_uri


@pytest.mark.parametrize("at, alg, expected", RFC6238_CASES)
def test_code_for_uri_rfc6238(at, alg, expected):
    info = cs.code_for_uri(totp_uri(alg), at, None)
    assert isinstance(info, cs.CodeInfo)
    assert info.code == expected
    assert info.valid_from == at - at % 30
    assert info.valid_until == info.valid_from + 30
    # next_code is the code of the following step.
    assert info.next_code == cs.code_for_uri(totp_uri(alg), info.valid_until, None).code


@pytest.mark.parametrize("counter, expected", list(enumerate(RFC4226)))
def test_code_for_uri_rfc4226_with_counter(counter, expected):
    info = cs.code_for_uri(hotp_uri(), 0, counter)
    assert info.code == expected
    assert (info.valid_from, info.valid_until) == (0, 0)
    if counter + 1 < len(RFC4226):
        assert info.next_code == RFC4226[counter + 1]


def test_code_for_uri_hotp_uses_the_uri_counter_by_default():
    assert cs.code_for_uri(hotp_uri(counter=4), 0, None).code == RFC4226[4]


def test_code_for_uri_steam_alphabet():
    code = cs.code_for_uri(f"otpauth://steam/s?secret={b32(SEED_SHA1)}", 59, None).code
    assert len(code) == 5
    assert set(code) <= set("23456789BCDFGHJKMNPQRTVWXY")


def test_code_for_uri_extremes_do_not_crash():
    # Far-future time, counter at its maximum: a code or a typed error, never a crash.
    cs.code_for_uri(totp_uri(), 2**64 - 1, None)
    cs.code_for_uri(hotp_uri(), 0, 2**64 - 1)


def test_code_for_uri_rejects_bad_uri_with_typed_error():
    with pytest.raises(cs.CountersignError.InvalidInput) as e:
        cs.code_for_uri("otpauth://totp/x?secret=GEZDGNBV&digits=12", 0, None)
    assert e.value.field == "digits"


def test_unsigned_arguments_are_checked_on_the_python_side():
    with pytest.raises((TypeError, ValueError, OverflowError)):
        cs.code_for_uri(totp_uri(), -1, None)
    with pytest.raises((TypeError, ValueError, OverflowError)):
        cs.code_for_uri(hotp_uri(), 0, 2**64)
