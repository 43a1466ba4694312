"""AuthenticatorClient with a Python KeyStore and Clock: every method, the RFC codes through the
vault, lock / unlock, and the errors each method can return."""

from __future__ import annotations

import os

import pytest

import countersign_ffi as cs
from conftest import RFC_TIME
from support import (
    RFC4226,
    RFC6238,
    AesGcmKeyStore,
    FixedClock,
    hotp_uri,
    timed_code,
    totp_uri,
)


def add_rfc_accounts(client):
    ids = {}
    for alg in ("SHA1", "SHA256", "SHA512"):
        added = client.add_account_from_uri(totp_uri(alg, issuer=f"I-{alg}", name=f"n-{alg}"))
        ids[alg] = added.account.id
    return ids


def test_open_creates_an_unlocked_vault(client, vault_path, key_store, clock):
    assert os.path.exists(vault_path)
    assert client.vault_path() == vault_path
    assert not client.is_locked()
    assert client.list_accounts() == []
    assert client.codes() == []
    assert key_store.wrap_calls == 1


def test_add_account_returns_entry_and_info(client, clock):
    added = client.add_account_from_uri(totp_uri("SHA256", issuer="ACME", name="alice"))
    assert isinstance(added, cs.AddedAccount)
    entry = added.account
    assert entry.kind == cs.AccountKind.OATH
    assert entry.issuer == "ACME"
    assert entry.name == "alice"
    assert entry.position == 0
    assert entry.groups == []
    assert entry.icon is None
    assert entry.created_at == RFC_TIME  # from the Python clock
    assert entry.last_used_at is None
    assert added.info.algorithm == "SHA256"
    assert added.info.secret_bits == 256
    assert client.account_info(entry.id) == added.info


def test_codes_through_the_python_clock_match_rfc6238(client, clock):
    ids = add_rfc_accounts(client)
    for (t, c1, c256, c512) in RFC6238:
        clock.set(t)
        by_id = {row.account.id: row for row in client.codes()}
        expected = {ids["SHA1"]: c1, ids["SHA256"]: c256, ids["SHA512"]: c512}
        for account_id, code in expected.items():
            row = by_id[account_id]
            assert timed_code(row) == code, (t, account_id)
            state = row.state
            assert state.otp_type == cs.OtpType.TOTP
            assert state.period == 30
            assert state.code.valid_from == t - t % 30
            assert state.code.valid_until == state.code.valid_from + 30
    assert clock.calls >= len(RFC6238)


def test_codes_at_ignores_the_clock(client, clock):
    ids = add_rfc_accounts(client)
    clock.set(0)
    rows = client.codes_at(59)
    assert [timed_code(r) for r in rows] == ["94287082", "46119246", "90693936"]
    assert [r.account.id for r in rows] == [ids["SHA1"], ids["SHA256"], ids["SHA512"]]


def test_hotp_next_codes_follow_rfc4226_and_persist(client, vault_path, key_store, clock):
    hid = client.add_account_from_uri(hotp_uri(counter=0)).account.id
    (row,) = client.codes()
    assert row.state == cs.CodeState.COUNTER_BASED(counter=0)
    for counter in range(5):
        got = client.next_hotp(hid)
        assert isinstance(got, cs.HotpCode)
        assert (got.counter, got.code) == (counter, RFC4226[counter])
    (row,) = client.codes()
    assert row.state.is_counter_based() and row.state.counter == 5
    assert client.account_info(hid).counter == 5
    assert client.list_accounts()[0].last_used_at == RFC_TIME
    # The counter survives a reopen.
    del client
    again = cs.AuthenticatorClient.open(vault_path, key_store, clock)
    assert again.next_hotp(hid).code == RFC4226[5]


def test_hotp_starting_counter_from_uri(client):
    hid = client.add_account_from_uri(hotp_uri(counter=8)).account.id
    assert client.next_hotp(hid).code == RFC4226[8]
    assert client.next_hotp(hid).code == RFC4226[9]


def test_next_hotp_on_a_totp_account_is_unsupported(client):
    tid = client.add_account_from_uri(totp_uri()).account.id
    with pytest.raises(cs.CountersignError.Unsupported):
        client.next_hotp(tid)


def test_hotp_counter_at_maximum_is_a_typed_error(client):
    hid = client.add_account_from_uri(hotp_uri(counter=2**64 - 1)).account.id
    with pytest.raises(cs.CountersignError.Unsupported):
        client.next_hotp(hid)
    # Nothing was handed out and the account is still readable.
    assert client.account_info(hid).counter == 2**64 - 1


def test_rename_reorder_groups_mark_used_delete(client, clock):
    a = client.add_account_from_uri(totp_uri(issuer="A", name="a")).account.id
    b = client.add_account_from_uri(totp_uri(issuer="B", name="b")).account.id
    c = client.add_account_from_uri(hotp_uri(issuer="C", name="c")).account.id
    assert [e.id for e in client.list_accounts()] == [a, b, c]

    client.rename_account(a, "Alpha", "alice")
    client.rename_account(b, None, "bob")
    entries = {e.id: e for e in client.list_accounts()}
    assert (entries[a].issuer, entries[a].name) == ("Alpha", "alice")
    assert (entries[b].issuer, entries[b].name) == (None, "bob")
    assert client.account_info(a).issuer == "Alpha"

    client.reorder_accounts([c, a, b])
    listed = client.list_accounts()
    assert [e.id for e in listed] == [c, a, b]
    assert [e.position for e in listed] == [0, 1, 2]
    assert [r.account.id for r in client.codes()] == [c, a, b]

    client.set_account_groups(a, ["Work", "Finance"])
    client.set_account_groups(b, ["Work"])
    entries = {e.id: e for e in client.list_accounts()}
    assert sorted(entries[a].groups) == ["Finance", "Work"]
    assert entries[b].groups == ["Work"]
    client.set_account_groups(a, [])
    assert {e.id: e for e in client.list_accounts()}[a].groups == []

    clock.set(RFC_TIME + 100)
    client.mark_used(b)
    assert {e.id: e for e in client.list_accounts()}[b].last_used_at == RFC_TIME + 100

    client.delete_account(a)
    assert [e.id for e in client.list_accounts()] == [c, b]
    with pytest.raises(cs.CountersignError.NotFound):
        client.account_info(a)

    report = client.check_vault()
    assert isinstance(report, cs.VaultReport)
    assert report.database_ok
    assert report.database_messages == []
    assert report.accounts_checked == 2
    assert report.unreadable == []
    assert report.schema_version >= 1
    assert report.key_store == "python-aes-gcm"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.account_info(999),
        lambda c: c.next_hotp(999),
        lambda c: c.rename_account(999, None, "x"),
        lambda c: c.set_account_groups(999, ["g"]),
        lambda c: c.mark_used(999),
        lambda c: c.delete_account(999),
    ],
    ids=["account_info", "next_hotp", "rename", "groups", "mark_used", "delete"],
)
def test_unknown_account_is_not_found(client, call):
    with pytest.raises(cs.CountersignError.NotFound) as e:
        call(client)
    assert "999" in e.value.detail


def test_invalid_arguments_are_invalid_input(client):
    a = client.add_account_from_uri(totp_uri(name="a")).account.id
    b = client.add_account_from_uri(totp_uri(name="b")).account.id
    for order in ([a], [a, a], [a, b, 12345], []):
        with pytest.raises(cs.CountersignError.InvalidInput):
            client.reorder_accounts(order)
    with pytest.raises(cs.CountersignError.InvalidInput):
        client.set_account_groups(a, [""])
    with pytest.raises(cs.CountersignError.InvalidInput):
        client.add_account_from_uri("otpauth://totp/x?digits=6")
    with pytest.raises(cs.CountersignError.Unsupported):
        client.add_account_from_uri("otpauth-migration://offline?data=AAAA")
    # Nothing of the above changed the vault.
    assert [e.id for e in client.list_accounts()] == [a, b]


def test_lock_then_codes_raise_vault_locked_then_unlock(client, key_store):
    ids = add_rfc_accounts(client)
    hid = client.add_account_from_uri(hotp_uri()).account.id
    unwraps_before = key_store.unwrap_calls
    client.lock()
    assert client.is_locked()
    for call in (
        lambda: client.codes(),
        lambda: client.codes_at(59),
        lambda: client.next_hotp(hid),
        lambda: client.account_info(ids["SHA1"]),
        lambda: client.add_account_from_uri(totp_uri(name="late")),
        lambda: client.check_vault(),
    ):
        with pytest.raises(cs.CountersignError.VaultLocked):
            call()
    # The list is available while locked (names only, nothing secret).
    assert len(client.list_accounts()) == 4
    client.rename_account(ids["SHA1"], "Renamed", "while-locked")

    client.unlock()
    assert key_store.unwrap_calls == unwraps_before + 1
    assert not client.is_locked()
    assert [timed_code(r) for r in client.codes_at(59)[:3]] == ["94287082", "46119246", "90693936"]
    assert client.next_hotp(hid).code == RFC4226[0]
    # lock twice is harmless; unlock twice is harmless.
    client.lock()
    client.lock()
    client.unlock()
    client.unlock()
    assert not client.is_locked()


def test_reopen_with_same_python_store_keeps_accounts(vault_path, key_store, clock):
    first = cs.AuthenticatorClient.open(vault_path, key_store, clock)
    ids = add_rfc_accounts(first)
    hid = first.add_account_from_uri(hotp_uri()).account.id
    first.next_hotp(hid)
    first.set_account_groups(ids["SHA256"], ["Work"])
    before = first.list_accounts()
    del first

    # A new store object with the same key, as after an app restart.
    same = AesGcmKeyStore(kek=key_store.kek)
    second = cs.AuthenticatorClient.open(vault_path, same, FixedClock(59))
    assert same.unwrap_calls == 1 and same.wrap_calls == 0
    assert second.list_accounts() == before
    assert [timed_code(r) for r in second.codes()[:3]] == ["94287082", "46119246", "90693936"]
    assert second.next_hotp(hid) == cs.HotpCode(code=RFC4226[1], counter=1)
    assert second.check_vault().accounts_checked == 4


def test_default_clock_is_the_system_clock(vault_path, key_store):
    import time

    client = cs.AuthenticatorClient.open(vault_path, key_store, None)
    added = client.add_account_from_uri(totp_uri())
    now = int(time.time())
    assert abs(added.account.created_at - now) <= 5
    (row,) = client.codes()
    assert row.state.code.valid_from <= now + 5 < row.state.code.valid_until + 30


def test_rewrap_to_another_python_store(client, vault_path, clock):
    add_rfc_accounts(client)
    other = AesGcmKeyStore(kind="python-other")
    client.rewrap(other)
    assert other.wrap_calls == 1 and other.unwrap_calls == 1  # the rewrap verifies the round trip
    assert client.check_vault().key_store == "python-other"
    del client
    reopened = cs.AuthenticatorClient.open(vault_path, AesGcmKeyStore(kek=other.kek, kind="python-other"), clock)
    assert len(reopened.codes()) == 3


def test_rewrap_that_does_not_round_trip_is_refused(client, vault_path, key_store, clock):
    add_rfc_accounts(client)
    liar = AesGcmKeyStore(kind="python-liar")
    liar.unwrap_returns = bytes(32)
    with pytest.raises(cs.CountersignError.KeyStoreUnavailable):
        client.rewrap(liar)
    # The vault still opens with the original store.
    assert client.check_vault().key_store == "python-aes-gcm"
    del client
    assert len(cs.AuthenticatorClient.open(vault_path, key_store, clock).codes()) == 3


def test_rewrap_while_locked_is_vault_locked(client):
    client.lock()
    with pytest.raises(cs.CountersignError.VaultLocked):
        client.rewrap(AesGcmKeyStore(kind="python-other"))


def test_rewrap_to_desktop_ephemeral(client):
    add_rfc_accounts(client)
    client.rewrap_desktop(cs.DesktopKeyStore.EPHEMERAL())
    assert client.check_vault().key_store == "memory"
    client.lock()
    client.unlock()
    assert len(client.codes()) == 3


def test_tampered_account_is_unreadable_and_storage_corrupt(vault_path, key_store, clock):
    """Flip one byte of an account's sealed blob behind the vault's back: that account (and
    only it) becomes unreadable, with its id in the error and the report."""
    import sqlite3

    client = cs.AuthenticatorClient.open(vault_path, key_store, clock)
    victim = client.add_account_from_uri(totp_uri(name="victim")).account.id
    hotp = client.add_account_from_uri(hotp_uri(name="hotp-victim")).account.id
    fine = client.add_account_from_uri(totp_uri(name="fine")).account.id
    del client

    con = sqlite3.connect(vault_path)
    for account_id in (victim, hotp):
        (blob,) = con.execute("SELECT sealed FROM accounts WHERE id = ?", (account_id,)).fetchone()
        tampered = bytearray(blob)
        tampered[len(tampered) // 2] ^= 0x01
        con.execute("UPDATE accounts SET sealed = ? WHERE id = ?", (bytes(tampered), account_id))
    con.commit()
    con.close()

    client = cs.AuthenticatorClient.open(vault_path, key_store, clock)
    rows = {r.account.id: r for r in client.codes_at(59)}
    assert rows[victim].state == cs.CodeState.UNREADABLE()
    assert rows[hotp].state.is_unreadable()
    assert timed_code(rows[fine]) == "94287082"
    for call in (lambda: client.account_info(victim), lambda: client.next_hotp(hotp)):
        with pytest.raises(cs.CountersignError.StorageCorrupt) as e:
            call()
        assert e.value.account_id in (victim, hotp)
    report = client.check_vault()
    assert report.database_ok
    assert sorted(report.unreadable) == sorted([victim, hotp])
    assert report.accounts_checked == 3
    # Nothing was deleted.
    assert len(client.list_accounts()) == 3


def test_vault_from_a_newer_version_is_unsupported(vault_path, key_store, clock):
    import sqlite3

    client = cs.AuthenticatorClient.open(vault_path, key_store, clock)
    del client
    con = sqlite3.connect(vault_path)
    con.execute("PRAGMA user_version = 9999")
    con.commit()
    con.close()
    with pytest.raises(cs.CountersignError.Unsupported) as e:
        cs.AuthenticatorClient.open(vault_path, key_store, clock)
    assert "9999" in e.value.detail


def make_foreign_sqlite(path):
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()


def test_sqlite_file_without_a_vault_is_storage_corrupt(tmp_path, key_store, clock):
    path = tmp_path / "other.db"
    make_foreign_sqlite(path)
    with pytest.raises(cs.CountersignError.StorageCorrupt) as e:
        cs.AuthenticatorClient.open(str(path), key_store, clock)
    assert e.value.account_id is None
    assert path.exists()


def test_sqlite_file_without_a_vault_is_left_byte_for_byte(tmp_path, key_store, clock):
    path = tmp_path / "other.db"
    make_foreign_sqlite(path)
    before = path.read_bytes()
    with pytest.raises(cs.CountersignError.StorageCorrupt):
        cs.AuthenticatorClient.open(str(path), key_store, clock)
    assert path.read_bytes() == before
