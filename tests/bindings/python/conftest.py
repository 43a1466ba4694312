"""Fixtures of the Python binding tests. The generated module is found in
$COUNTERSIGN_BINDINGS_DIR/python (default: tests/bindings/generated/python, written by
bindings/scripts/generate.sh), with the library next to it."""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

_generated = pathlib.Path(
    os.environ.get("COUNTERSIGN_BINDINGS_DIR")
    or pathlib.Path(__file__).resolve().parent.parent / "generated"
) / "python"
if not (_generated / "countersign_ffi.py").is_file():
    raise pytest.UsageError(
        f"no generated Python bindings in {_generated}: run bindings/scripts/generate.sh "
        "(or tests/bindings/run.sh) first"
    )
sys.path.insert(0, str(_generated))

import countersign_ffi as cs  # noqa: E402

from support import AesGcmKeyStore, FixedClock  # noqa: E402

# 2009-02-13T23:31:30Z, an RFC 6238 test time (its 30-second step starts at 1234567890 - 0).
RFC_TIME = 1234567890


@pytest.fixture
def vault_path(tmp_path: pathlib.Path) -> str:
    return str(tmp_path / "vault.db")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(RFC_TIME)


@pytest.fixture
def key_store() -> AesGcmKeyStore:
    return AesGcmKeyStore()


@pytest.fixture
def client(vault_path: str, key_store: AesGcmKeyStore, clock: FixedClock) -> "cs.AuthenticatorClient":
    return cs.AuthenticatorClient.open(vault_path, key_store, clock)
