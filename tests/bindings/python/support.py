"""Shared helpers of the Python binding tests: RFC vectors, and Python implementations of the
foreign traits `KeyStore` and `Clock` exactly as a shell would write them."""

from __future__ import annotations

import base64
import os
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import countersign_ffi as cs


def b32(raw: bytes) -> str:
    """Unpadded base32, as authenticator URIs carry secrets."""
    return base64.b32encode(raw).decode("ascii").rstrip("=")


# RFC 6238 appendix B: the seeds are ASCII digits, 20/32/64 bytes for SHA1/SHA256/SHA512.
SEED_SHA1 = b"12345678901234567890"
SEED_SHA256 = b"12345678901234567890123456789012"
SEED_SHA512 = b"1234567890123456789012345678901234567890123456789012345678901234"
SEEDS = {"SHA1": SEED_SHA1, "SHA256": SEED_SHA256, "SHA512": SEED_SHA512}

RFC6238 = [
    # (time, SHA1, SHA256, SHA512)
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]
RFC6238_CASES = [
    (t, alg, code)
    for (t, c1, c256, c512) in RFC6238
    for (alg, code) in (("SHA1", c1), ("SHA256", c256), ("SHA512", c512))
]

# RFC 4226 appendix D, counters 0..9 with the 20-byte seed.
RFC4226 = [
    "755224", "287082", "359152", "969429", "338314",
    "254676", "287922", "162583", "399871", "520489",
]


def totp_uri(alg: str = "SHA1", issuer: str = "ACME", name: str = "alice@example.com",
             digits: int = 8, period: int = 30) -> str:
    return (f"otpauth://totp/{issuer}:{name}?secret={b32(SEEDS[alg])}&issuer={issuer}"
            f"&algorithm={alg}&digits={digits}&period={period}")


def hotp_uri(counter: int = 0, issuer: str = "Bank", name: str = "bob") -> str:
    return (f"otpauth://hotp/{issuer}:{name}?secret={b32(SEED_SHA1)}&issuer={issuer}"
            f"&counter={counter}")


class FixedClock(cs.Clock):
    """A clock the test sets; thread-safe because Rust may call it from any thread."""

    def __init__(self, now: int):
        super().__init__()
        self._now = now
        self._lock = threading.Lock()
        self.calls = 0

    def set(self, now: int) -> None:
        with self._lock:
            self._now = now

    def now_unix_seconds(self) -> int:
        with self._lock:
            self.calls += 1
            return self._now


class AesGcmKeyStore(cs.KeyStore):
    """What a shell's key store does, with a Python key-encryption key: AES-256-GCM over the data
    key, the store's kind as associated data. Failures can be injected per operation."""

    def __init__(self, kek: bytes | None = None, kind: str = "python-aes-gcm"):
        super().__init__()
        self.kek = kek if kek is not None else AESGCM.generate_key(bit_length=256)
        self._kind = kind
        self._lock = threading.Lock()
        self.wrap_calls = 0
        self.unwrap_calls = 0
        self.fail_wrap: BaseException | None = None
        self.fail_unwrap: BaseException | None = None
        self.unwrap_returns: object | None = None  # a replacement result (garbage tests)

    def kind(self) -> str:
        return self._kind

    def wrap(self, data_key: bytes) -> bytes:
        with self._lock:
            self.wrap_calls += 1
        assert isinstance(data_key, bytes) and len(data_key) == 32
        if self.fail_wrap is not None:
            raise self.fail_wrap
        nonce = os.urandom(12)
        return nonce + AESGCM(self.kek).encrypt(nonce, data_key, self._kind.encode())

    def unwrap(self, wrapped: bytes) -> bytes:
        with self._lock:
            self.unwrap_calls += 1
        if self.fail_unwrap is not None:
            raise self.fail_unwrap
        if self.unwrap_returns is not None:
            return self.unwrap_returns  # type: ignore[return-value]
        try:
            return AESGCM(self.kek).decrypt(wrapped[:12], wrapped[12:], self._kind.encode())
        except (InvalidTag, ValueError):
            raise cs.KeyStoreError.WrongKey()


def timed_code(entry: "cs.AccountCode") -> str:
    state = entry.state
    assert state.is_timed(), f"expected a timed code, got {state}"
    return state.code.code
