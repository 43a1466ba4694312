"""AuthenticatorClient.open_desktop with the built-in key stores that work headless:
DesktopKeyStore.PASSPHRASE_FILE (Argon2id) and DesktopKeyStore.EPHEMERAL. The OS keyring and
kernel keyring variants need a Secret Service / session keyring and are left to the harness."""

from __future__ import annotations

import pytest

import countersign_ffi as cs
from support import RFC4226, FixedClock, hotp_uri, timed_code, totp_uri


@pytest.fixture
def passphrase_file(tmp_path):
    path = tmp_path / "passphrase"
    path.write_text("correct horse battery staple\nthis second line is ignored\n")
    return path


def test_desktop_key_store_variants_compare():
    a = cs.DesktopKeyStore.PASSPHRASE_FILE(path="/x")
    assert a == cs.DesktopKeyStore.PASSPHRASE_FILE(path="/x")
    assert a != cs.DesktopKeyStore.PASSPHRASE_FILE(path="/y")
    assert a.is_passphrase_file() and not a.is_ephemeral()
    assert cs.DesktopKeyStore.EPHEMERAL().is_ephemeral()
    assert cs.DesktopKeyStore.OS_KEYRING(service="s").is_os_keyring()
    assert cs.DesktopKeyStore.KERNEL_KEYRING(service="s").is_kernel_keyring()


def test_passphrase_file_vault_round_trip(tmp_path, passphrase_file):
    path = str(tmp_path / "vault.db")
    store = cs.DesktopKeyStore.PASSPHRASE_FILE(path=str(passphrase_file))
    client = cs.AuthenticatorClient.open_desktop(path, store, FixedClock(59))
    client.add_account_from_uri(totp_uri())
    hid = client.add_account_from_uri(hotp_uri()).account.id
    assert client.next_hotp(hid).code == RFC4226[0]
    assert client.check_vault().key_store == "passphrase-argon2id"
    client.lock()
    with pytest.raises(cs.CountersignError.VaultLocked):
        client.codes()
    client.unlock()
    del client

    # Reopen: only the first line of the file counts, so a changed second line is fine.
    passphrase_file.write_text("correct horse battery staple\nsomething else\n")
    again = cs.AuthenticatorClient.open_desktop(path, store, FixedClock(59))
    assert timed_code(again.codes()[0]) == "94287082"
    assert again.next_hotp(hid).code == RFC4226[1]


def test_wrong_passphrase_is_key_store_unavailable(tmp_path, passphrase_file):
    path = str(tmp_path / "vault.db")
    store = cs.DesktopKeyStore.PASSPHRASE_FILE(path=str(passphrase_file))
    cs.AuthenticatorClient.open_desktop(path, store, None).add_account_from_uri(totp_uri())
    before = open(path, "rb").read()
    passphrase_file.write_text("not the passphrase\n")
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable):
        cs.AuthenticatorClient.open_desktop(path, store, None)
    assert open(path, "rb").read() == before


def test_missing_or_empty_passphrase_file_is_typed(tmp_path):
    path = str(tmp_path / "vault.db")
    missing = cs.DesktopKeyStore.PASSPHRASE_FILE(path=str(tmp_path / "nope"))
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable) as e:
        cs.AuthenticatorClient.open_desktop(path, missing, None)
    assert "nope" in e.value.detail
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(cs.CountersignError):
        cs.AuthenticatorClient.open_desktop(path, cs.DesktopKeyStore.PASSPHRASE_FILE(path=str(empty)), None)
    assert not (tmp_path / "vault.db").exists()


def test_ephemeral_vault_lives_as_long_as_its_key(tmp_path):
    path = str(tmp_path / "vault.db")
    client = cs.AuthenticatorClient.open_desktop(path, cs.DesktopKeyStore.EPHEMERAL(), FixedClock(59))
    client.add_account_from_uri(totp_uri())
    assert client.check_vault().key_store == "memory"
    client.lock()
    client.unlock()  # the same process still holds the key
    assert timed_code(client.codes()[0]) == "94287082"
    # A new ephemeral store has a new key: the file cannot be opened with it.
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable):
        cs.AuthenticatorClient.open_desktop(path, cs.DesktopKeyStore.EPHEMERAL(), None)


def test_rewrap_from_ephemeral_to_passphrase_file(tmp_path, passphrase_file):
    path = str(tmp_path / "vault.db")
    client = cs.AuthenticatorClient.open_desktop(path, cs.DesktopKeyStore.EPHEMERAL(), FixedClock(59))
    client.add_account_from_uri(totp_uri())
    store = cs.DesktopKeyStore.PASSPHRASE_FILE(path=str(passphrase_file))
    client.rewrap_desktop(store)
    del client
    again = cs.AuthenticatorClient.open_desktop(path, store, FixedClock(59))
    assert timed_code(again.codes()[0]) == "94287082"
