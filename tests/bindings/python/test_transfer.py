"""Import, export and backup through the generated Python API: plain-text exports refused
without the acknowledgement, round trips between two vaults with the same codes, wrong and
missing passwords as WrongPassword, automatic backups keeping the newest N."""

from __future__ import annotations

import os

import pytest

import countersign_ffi as cs
from conftest import RFC_TIME
from support import SEED_SHA1, AesGcmKeyStore, FixedClock, b32, hotp_uri, totp_uri


def second_client(tmp_path, name="b.db"):
    return cs.AuthenticatorClient.open(str(tmp_path / name), AesGcmKeyStore(), FixedClock(RFC_TIME))


def codes(client):
    out = []
    for row in client.codes():
        state = row.state
        if isinstance(state, cs.CodeState.TIMED):
            value = state.code.code
        elif isinstance(state, cs.CodeState.COUNTER_BASED):
            value = f"counter {state.counter}"
        else:
            value = repr(state)
        out.append((row.account.issuer, row.account.name, value))
    return out


@pytest.fixture
def populated(client):
    client.add_account_from_uri(totp_uri("SHA1", issuer="ACME", name="alice"))
    client.add_account_from_uri(totp_uri("SHA256", issuer="ACME", name="bob", digits=6))
    client.add_account_from_uri(hotp_uri(3))
    client.add_account_from_uri(f"otpauth://steam/Steam:gamer?secret={b32(SEED_SHA1)}")
    return client


def test_plaintext_export_needs_acknowledgement(populated):
    for fmt in (cs.ExportFormat.URIS, cs.ExportFormat.GOOGLE_QR):
        with pytest.raises(cs.CountersignError.InvalidInput) as e:
            populated.export_plaintext(fmt, False)
        assert e.value.field == "acknowledge_plaintext"


def test_uri_export_round_trip(populated, tmp_path):
    export = populated.export_plaintext(cs.ExportFormat.URIS, True)
    assert export.exported == 4 and len(export.payloads) == 1
    other = second_client(tmp_path)
    report = other.import_accounts(export.payloads[0].encode(), cs.ImportFormat.AUTO, None)
    assert report.format == cs.ImportFormat.URIS
    assert len(report.imported) == 4 and report.failed == [] and report.duplicates == []
    assert codes(other) == codes(populated)
    again = other.import_accounts(export.payloads[0].encode(), cs.ImportFormat.URIS, None)
    assert again.imported == [] and len(again.duplicates) == 4


def test_google_transfer_round_trip_skips_steam(populated, tmp_path):
    export = populated.export_plaintext(cs.ExportFormat.GOOGLE_QR, True)
    assert export.exported == 3
    assert [s.issuer for s in export.skipped] == ["Steam"]
    assert all(p.startswith("otpauth-migration://offline?data=") for p in export.payloads)
    other = second_client(tmp_path)
    report = other.import_transfer_links(export.payloads)
    assert report.format == cs.ImportFormat.GOOGLE
    assert len(report.imported) == 3 and report.missing_batches == []
    assert codes(other) == [c for c in codes(populated) if c[0] != "Steam"]


def test_backup_restore_and_password_errors(populated, tmp_path):
    backup = populated.create_backup("pass phrase")
    assert backup.accounts == 4 and backup.data[:8] == b"CSBACKUP"
    other = second_client(tmp_path)
    with pytest.raises(cs.CountersignError.WrongPassword) as e:
        other.restore_backup(backup.data, "wrong")
    assert e.value.missing is False
    with pytest.raises(cs.CountersignError.WrongPassword) as e:
        other.import_accounts(backup.data, cs.ImportFormat.AUTO, None)
    assert e.value.missing is True
    with pytest.raises(cs.CountersignError.InvalidInput):
        other.restore_backup(backup.data[:20], "pass phrase")
    assert other.list_accounts() == []
    report = other.restore_backup(backup.data, "pass phrase")
    assert len(report.imported) == 4
    assert codes(other) == codes(populated)


def test_save_and_auto_backup(populated, tmp_path):
    path = str(tmp_path / "one.csbak")
    saved = populated.save_backup(path, "pw")
    assert saved.path == path and saved.accounts == 4
    with pytest.raises(cs.CountersignError.Storage):
        populated.save_backup(path, "pw")
    folder = tmp_path / "auto"
    folder.mkdir()
    (folder / "keep-me.txt").write_text("not a backup")
    first = populated.auto_backup(str(folder), "pw", 1)
    second = populated.auto_backup(str(folder), "pw", 1)
    assert second.removed == [first.path]
    assert sorted(os.listdir(folder)) == sorted(["keep-me.txt", os.path.basename(second.path)])
    with pytest.raises(cs.CountersignError.InvalidInput):
        populated.auto_backup(str(folder), "pw", 0)


def test_foreign_file_with_bad_entries_is_reported(client):
    text = (
        "# list\n"
        f"otpauth://totp/ACME:alice?secret={b32(SEED_SHA1)}&issuer=ACME\n"
        "otpauth://totp/bad?secret=not*base32\n"
    ).encode()
    report = client.import_accounts(text, cs.ImportFormat.AUTO, None)
    assert len(report.imported) == 1
    assert [(f.index, "base32" in f.reason) for f in report.failed] == [(3, True)]
    with pytest.raises(cs.CountersignError.InvalidInput) as e:
        client.import_accounts(b"\x00\x01 nothing", cs.ImportFormat.AUTO, None)
    assert e.value.field == "format"
