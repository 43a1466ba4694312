"""Calls from several Python threads at once. ctypes releases the GIL for the duration of each
call, so these really run concurrently in Rust, and the Python KeyStore / Clock callbacks are
re-entered from several threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import countersign_ffi as cs
from support import RFC4226, AesGcmKeyStore, FixedClock, hotp_uri, timed_code, totp_uri

THREADS = 8


def run_together(n: int, fn):
    """Runs fn(i) on n threads that start at the same moment; re-raises the first failure."""
    barrier = threading.Barrier(n)

    def body(i):
        barrier.wait(timeout=30)
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return [f.result(timeout=90) for f in [pool.submit(body, i) for i in range(n)]]


def hotp_by_counter():
    """Codes of the RFC 4226 seed for counters beyond the RFC's ten, via the vault-less API."""
    cache = {}

    def code(counter):
        if counter not in cache:
            cache[counter] = cs.code_for_uri(hotp_uri(), 0, counter).code
        return cache[counter]

    return code


def test_codes_and_next_hotp_concurrently(client, clock):
    client.add_account_from_uri(totp_uri("SHA1"))
    client.add_account_from_uri(totp_uri("SHA512", name="big"))
    hid = client.add_account_from_uri(hotp_uri()).account.id
    clock.set(59)
    per_thread = 25

    def work(i):
        issued, seen = [], []
        for _ in range(per_thread):
            if i % 2:
                issued.append(client.next_hotp(hid))
            else:
                rows = client.codes()
                seen.append((timed_code(rows[0]), timed_code(rows[1])))
        return issued, seen

    results = run_together(THREADS, work)
    issued = [h for r in results for h in r[0]]
    seen = [s for r in results for s in r[1]]
    counters = sorted(h.counter for h in issued)
    # Every counter handed out exactly once, none skipped.
    assert counters == list(range(len(issued)))
    code = hotp_by_counter()
    assert all(h.code == code(h.counter) for h in issued)
    assert all(h.code == RFC4226[h.counter] for h in issued if h.counter < 10)
    assert set(seen) == {("94287082", "90693936")}
    (_, _, hotp_row) = client.codes()
    assert hotp_row.state.counter == len(issued)


def test_two_clients_on_one_vault_never_hand_out_a_counter_twice(vault_path, key_store, clock):
    """Two AuthenticatorClient objects (two SQLite connections) on the same file, as an app and
    its widget extension would have: HOTP counters stay unique across both."""
    a = cs.AuthenticatorClient.open(vault_path, key_store, clock)
    hid = a.add_account_from_uri(hotp_uri()).account.id
    b = cs.AuthenticatorClient.open(vault_path, AesGcmKeyStore(kek=key_store.kek), clock)

    def work(i):
        client = a if i % 2 else b
        return [client.next_hotp(hid).counter for _ in range(20)]

    counters = sorted(c for r in run_together(THREADS, work) for c in r)
    assert counters == list(range(THREADS * 20))


def test_concurrent_callbacks_into_python(populated_many):
    """unlock() calls the Python key store; codes() calls the Python clock. Do both from many
    threads while another thread locks; every call either works or says VaultLocked."""
    client, key_store, clock = populated_many
    stop = threading.Event()
    outcomes = {"ok": 0, "locked": 0}
    guard = threading.Lock()

    def locker():
        while not stop.is_set():
            client.lock()

    t = threading.Thread(target=locker)
    t.start()
    try:

        def work(i):
            for _ in range(30):
                try:
                    if i % 3 == 0:
                        client.unlock()
                    else:
                        rows = client.codes()
                        assert [timed_code(r) for r in rows] == ["94287082"] * len(rows)
                    with guard:
                        outcomes["ok"] += 1
                except cs.CountersignError.VaultLocked:
                    with guard:
                        outcomes["locked"] += 1

        run_together(THREADS, work)
    finally:
        stop.set()
        t.join(timeout=30)
    assert outcomes["ok"] + outcomes["locked"] == THREADS * 30
    assert key_store.unwrap_calls > 0 and clock.calls > 0
    client.unlock()
    assert len(client.codes()) == 5


def test_concurrent_failing_callbacks(populated_many):
    """A key store that fails on every other call, hammered from several threads: each caller
    gets its own typed answer; nothing crashes or deadlocks."""
    client, key_store, _ = populated_many
    counter = {"n": 0}
    guard = threading.Lock()
    real_unwrap = key_store.unwrap

    def flaky_unwrap(wrapped):
        with guard:
            counter["n"] += 1
            n = counter["n"]
        if n % 2:
            raise cs.KeyStoreError.Locked()
        return real_unwrap(wrapped)

    key_store.unwrap = flaky_unwrap  # type: ignore[method-assign]
    client.lock()

    def work(i):
        got = []
        for _ in range(20):
            try:
                client.unlock()
                got.append("ok")
            except cs.CountersignError.KeyStoreLocked:
                got.append("locked")
        return got

    results = [x for r in run_together(THREADS, work) for x in r]
    assert results.count("ok") + results.count("locked") == THREADS * 20
    assert results.count("locked") >= 1 and results.count("ok") >= 1


def test_many_clients_in_parallel(tmp_path):
    """Separate vaults opened and used on separate threads at the same time."""

    def work(i):
        store, clock = AesGcmKeyStore(), FixedClock(59)
        client = cs.AuthenticatorClient.open(str(tmp_path / f"v{i}.db"), store, clock)
        client.add_account_from_uri(totp_uri())
        hid = client.add_account_from_uri(hotp_uri()).account.id
        codes = [client.next_hotp(hid).code for _ in range(3)]
        return timed_code(client.codes()[0]), codes

    for totp, hotp in run_together(THREADS, work):
        assert totp == "94287082"
        assert hotp == RFC4226[:3]



@pytest.fixture
def populated_many(client, key_store, clock):
    clock.set(59)
    for i in range(5):
        client.add_account_from_uri(totp_uri(name=f"user{i}"))
    return client, key_store, clock
