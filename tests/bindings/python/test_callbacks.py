"""Foreign callbacks that fail: every KeyStoreError variant, arbitrary Python exceptions, garbage
results, a wrong store, and a Clock that raises. Each must surface as a typed error in Python;
none may crash the process, and none may damage or delete the vault."""

from __future__ import annotations

import os

import pytest

import countersign_ffi as cs
from support import AesGcmKeyStore, FixedClock, hotp_uri, timed_code, totp_uri

KEYSTORE_ERRORS = [
    pytest.param(lambda: cs.KeyStoreError.Locked(), cs.CountersignError.KeyStoreLocked, id="Locked"),
    pytest.param(
        lambda: cs.KeyStoreError.Unavailable("no keystore service"),
        cs.CountersignError.KeyStoreUnavailable,
        id="Unavailable",
    ),
    pytest.param(lambda: cs.KeyStoreError.WrongKey(), cs.CountersignError.KeyStoreUnavailable, id="WrongKey"),
    pytest.param(
        lambda: cs.KeyStoreError.Failed("hardware said no"),
        cs.CountersignError.KeyStoreUnavailable,
        id="Failed",
    ),
    pytest.param(lambda: RuntimeError("bug in the shell"), cs.CountersignError.KeyStoreUnavailable, id="RuntimeError"),
    pytest.param(lambda: KeyError("missing"), cs.CountersignError.KeyStoreUnavailable, id="KeyError"),
    pytest.param(lambda: ZeroDivisionError(), cs.CountersignError.KeyStoreUnavailable, id="ZeroDivisionError"),
]


@pytest.fixture
def populated(vault_path, key_store, clock):
    client = cs.AuthenticatorClient.open(vault_path, key_store, clock)
    client.add_account_from_uri(totp_uri())
    client.add_account_from_uri(hotp_uri())
    return client


def vault_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize("make_error, expected", KEYSTORE_ERRORS)
def test_unwrap_failure_on_unlock_is_typed(populated, key_store, make_error, expected):
    populated.lock()
    key_store.fail_unwrap = make_error()
    with pytest.raises(expected) as e:
        populated.unlock()
    assert e.value.detail
    assert populated.is_locked()
    with pytest.raises(cs.CountersignError.VaultLocked):
        populated.codes()
    assert len(populated.list_accounts()) == 2
    # The store recovers (user authenticated): unlock works and codes are back.
    key_store.fail_unwrap = None
    populated.unlock()
    assert len(populated.codes()) == 2


@pytest.mark.parametrize("make_error, expected", KEYSTORE_ERRORS)
def test_unwrap_failure_on_open_is_typed_and_keeps_the_file(populated, vault_path, key_store, clock, make_error, expected):
    del populated
    before = vault_bytes(vault_path)
    key_store.fail_unwrap = make_error()
    with pytest.raises(expected):
        cs.AuthenticatorClient.open(vault_path, key_store, clock)
    assert vault_bytes(vault_path) == before
    key_store.fail_unwrap = None
    assert len(cs.AuthenticatorClient.open(vault_path, key_store, clock).codes()) == 2


@pytest.mark.parametrize("make_error, expected", KEYSTORE_ERRORS)
def test_wrap_failure_on_create_is_typed_and_creates_nothing(tmp_path, key_store, clock, make_error, expected):
    path = str(tmp_path / "new" / "vault.db")
    key_store.fail_wrap = make_error()
    with pytest.raises(expected):
        cs.AuthenticatorClient.open(path, key_store, clock)
    assert not os.path.exists(path)
    leftovers = os.listdir(tmp_path / "new") if os.path.isdir(tmp_path / "new") else []
    assert leftovers == []


@pytest.mark.parametrize("make_error, expected", KEYSTORE_ERRORS)
def test_wrap_failure_on_rewrap_keeps_the_old_store(populated, vault_path, key_store, clock, make_error, expected):
    target = AesGcmKeyStore(kind="python-target")
    target.fail_wrap = make_error()
    with pytest.raises(expected):
        populated.rewrap(target)
    assert populated.check_vault().key_store == "python-aes-gcm"
    del populated
    assert len(cs.AuthenticatorClient.open(vault_path, key_store, clock).codes()) == 2


@pytest.mark.parametrize(
    "garbage",
    [b"", b"\x00", bytes(31), bytes(32), os.urandom(32), bytes(33), os.urandom(4096)],
    ids=["empty", "1", "31-zero", "32-zero", "32-random", "33", "4096"],
)
def test_unwrap_returning_garbage_is_key_store_unavailable(populated, vault_path, key_store, clock, garbage):
    populated.lock()
    key_store.unwrap_returns = garbage
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable):
        populated.unlock()
    assert populated.is_locked()
    key_store.unwrap_returns = None
    populated.unlock()
    assert len(populated.codes()) == 2


@pytest.mark.parametrize("bad", ["a string", 42, None, [1, 2, 3]], ids=["str", "int", "None", "list"])
def test_unwrap_returning_the_wrong_python_type_is_typed(populated, key_store, bad):
    populated.lock()

    def wrong_type(wrapped):
        return bad

    key_store.unwrap = wrong_type  # type: ignore[method-assign]
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable):
        populated.unlock()
    assert populated.is_locked()


def test_wrong_key_store_is_key_store_unavailable(populated, vault_path, clock):
    del populated
    before = vault_bytes(vault_path)
    # Same kind, different key: the AEAD fails, the store says WrongKey.
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable):
        cs.AuthenticatorClient.open(vault_path, AesGcmKeyStore(), clock)
    # Different kind: refused before the store is asked anything.
    other = AesGcmKeyStore(kind="someone-else")
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable) as e:
        cs.AuthenticatorClient.open(vault_path, other, clock)
    assert "python-aes-gcm" in e.value.detail and "someone-else" in e.value.detail
    assert other.unwrap_calls == 0
    # A built-in store that holds a different key.
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable):
        cs.AuthenticatorClient.open_desktop(vault_path, cs.DesktopKeyStore.EPHEMERAL(), clock)
    assert vault_bytes(vault_path) == before


def test_store_that_lies_about_the_key_is_caught(vault_path, clock):
    """A store that 'unwraps' to some other 32-byte key: the vault's key check refuses it."""
    store = AesGcmKeyStore()
    cs.AuthenticatorClient.open(vault_path, store, clock).add_account_from_uri(totp_uri())
    store.unwrap_returns = b"\x42" * 32
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable):
        cs.AuthenticatorClient.open(vault_path, store, clock)


def test_exception_text_reaches_the_error_message(populated, key_store):
    populated.lock()
    key_store.fail_unwrap = cs.KeyStoreError.Unavailable("keystore daemon gone")
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable) as e:
        populated.unlock()
    assert "keystore daemon gone" in e.value.detail
    key_store.fail_unwrap = ValueError("shell bug 1234")
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable) as e:
        populated.unlock()
    assert "shell bug 1234" in e.value.detail


def test_raising_clock_is_an_error_not_a_crash(vault_path, key_store):
    """Clock.now_unix_seconds has no error type: a raising clock becomes a Rust panic that uniffi
    turns into InternalError. Either that or a CountersignError is acceptable; a crash is not."""

    class BrokenClock(cs.Clock):
        def __init__(self):
            super().__init__()
            self.broken = False

        def now_unix_seconds(self) -> int:
            if self.broken:
                raise RuntimeError("clock source gone")
            return 59

    clock = BrokenClock()
    client = cs.AuthenticatorClient.open(vault_path, key_store, clock)
    client.add_account_from_uri(totp_uri())
    clock.broken = True
    with pytest.raises((cs.InternalError, cs.CountersignError)):
        client.codes()
    with pytest.raises((cs.InternalError, cs.CountersignError)):
        client.add_account_from_uri(totp_uri(name="second"))
    # The client is still usable afterwards.
    clock.broken = False
    assert timed_code(client.codes()[0]) == "94287082"
    assert len(client.list_accounts()) == 1
    assert client.codes_at(59)[0].state.code.code == "94287082"


def test_clock_returning_nonsense_is_an_error_not_a_crash(vault_path, key_store):
    """A negative time from a Python clock: uniffi's Python callback glue does not range-check
    return values (-5 arrives as 2**64 - 5). Whatever the vault makes of it, no crash, and the
    client keeps working."""

    class NegativeClock(cs.Clock):
        def now_unix_seconds(self) -> int:
            return -5

    client = cs.AuthenticatorClient.open(vault_path, key_store, NegativeClock())
    try:
        client.add_account_from_uri(totp_uri())
        client.codes()
    except (cs.InternalError, cs.CountersignError):
        pass
    if not client.list_accounts():
        client.add_account_from_uri(hotp_uri())
    assert client.codes_at(59)
    assert client.check_vault().database_ok


def test_raising_kind_is_an_error_not_a_crash(tmp_path, clock):
    """KeyStore.kind has no error type either (see test_raising_clock...)."""

    class NoKind(AesGcmKeyStore):
        def kind(self) -> str:
            raise RuntimeError("no kind")

    path = str(tmp_path / "vault.db")
    with pytest.raises((cs.InternalError, cs.CountersignError)):
        cs.AuthenticatorClient.open(path, NoKind(), clock)
    assert not os.path.exists(path)


def test_raising_kind_leaves_no_temporary_file(tmp_path, clock):
    class NoKind(AesGcmKeyStore):
        def kind(self) -> str:
            # The core asks for the kind once, before wrapping or creating anything.
            raise RuntimeError("no kind")

    with pytest.raises((cs.InternalError, cs.CountersignError)):
        cs.AuthenticatorClient.open(str(tmp_path / "vault.db"), NoKind(), clock)
    assert os.listdir(tmp_path) == []


def test_wrong_argument_types_fail_in_python(client):
    with pytest.raises(TypeError):
        cs.AuthenticatorClient.open("/tmp/x.db", object(), None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        cs.AuthenticatorClient.open("/tmp/x.db", AesGcmKeyStore(), object())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.rename_account("1", None, "x")  # type: ignore[arg-type]


def test_a_failed_call_leaves_no_state_behind(populated, key_store):
    """Many failing unlocks in a row (a user cancelling the prompt) neither leak nor wedge."""
    populated.lock()
    key_store.fail_unwrap = cs.KeyStoreError.Locked()
    for _ in range(200):
        with pytest.raises(cs.CountersignError.KeyStoreLocked):
            populated.unlock()
    key_store.fail_unwrap = None
    populated.unlock()
    assert len(populated.codes()) == 2


def test_vault_path_that_is_not_a_vault_is_reported(tmp_path, key_store, clock):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises((cs.CountersignError.StorageCorrupt, cs.CountersignError.Storage)):
        cs.AuthenticatorClient.open(str(junk), key_store, clock)
    assert junk.read_bytes() == b"this is not sqlite" * 100
    directory = tmp_path / "a-directory"
    directory.mkdir()
    with pytest.raises(cs.CountersignError):
        cs.AuthenticatorClient.open(str(directory), key_store, clock)


def test_create_refuses_a_store_that_cannot_unwrap_its_own_blob(tmp_path, clock):
    class WriteOnly(AesGcmKeyStore):
        def wrap(self, data_key: bytes) -> bytes:
            return b"not a wrapped key"

    with pytest.raises(cs.CountersignError.KeyStoreUnavailable):
        cs.AuthenticatorClient.open(str(tmp_path / "vault.db"), WriteOnly(), clock)
