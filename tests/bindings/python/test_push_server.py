"""Async calls against the real reference server (tests/server, started here as a subprocess on
a loopback port with its generated CA): activation from the QR payload and from the typed code
+ URL, "Verify Now" with the number, a sign-in approved with the number, a denial, a fraud
report, the offline code of a push account accepted by the server, and the live watches and
logger of the bindings. The server binary comes from `cargo build -p countersign-server`
(tests/bindings/run.sh builds it; COUNTERSIGN_SERVER_BIN overrides the path)."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import queue
import ssl
import subprocess
import threading
import urllib.request

import pytest

import countersign_ffi as cs

ROOT = pathlib.Path(__file__).resolve().parents[3]


class Server:
    def __init__(self, data: pathlib.Path):
        binary = os.environ.get("COUNTERSIGN_SERVER_BIN") or str(
            ROOT / "target" / "debug" / "countersign-server")
        if not os.path.exists(binary):
            pytest.fail(f"no server binary at {binary}: cargo build -p countersign-server")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--data", str(data)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.kill()
            pytest.fail("the server did not start")
        info = json.loads(line)
        self.base = info["base_url"]
        self.ca_path = info["ca_pem"]
        self.ca = pathlib.Path(self.ca_path).read_bytes()
        self.token = pathlib.Path(info["admin_token_file"]).read_text().strip()
        self.ctx = ssl.create_default_context(cafile=self.ca_path)

    def admin(self, method: str, path: str, body: dict | None = None) -> dict:
        req = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        # The opener ignores proxy and CA variables from the environment.
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self.ctx))
        with opener.open(req, timeout=30) as r:
            raw = r.read()
        return json.loads(raw) if raw else {}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "server")
    yield s
    s.stop()


@pytest.fixture
def phone(tmp_path, key_store, server):
    # The system clock: the server checks times.
    c = cs.AuthenticatorClient.open(str(tmp_path / "phone.db"), key_store, None)
    c.set_network_options(cs.NetworkOptions(extra_ca_pem=server.ca, allow_insecure_loopback=True))
    return c


DEVICE = cs.DeviceDescription(name="pytest phone", platform="linux", app_version="0")
POLL = cs.PushTarget(provider="none", token="")


async def activate_and_confirm(server: Server, phone, user: str, typed: bool) -> int:
    server.admin("POST", "/admin/users", {"user": user})
    e = server.admin("POST", "/admin/enrollments", {"user": user})
    assert phone.activation_host(e["qr_payload"]) == "127.0.0.1"
    assert phone.activation_host_for_code(e["code"], e["url"]) == "127.0.0.1"
    if typed:
        act = await phone.activate_with_code(e["code"], e["url"], DEVICE, POLL)
    else:
        act = await phone.activate_from_payload(e["qr_payload"], DEVICE, POLL)
    assert server.admin("GET", f"/admin/enrollments/{e['enrollment_id']}")["status"] != "waiting"
    status = phone.push_account_status(act.account_id)
    assert (status.protocol, status.active, status.host) == ("openpush", False, "127.0.0.1")
    assert status.confirm_by == act.confirm_by
    number = server.admin("POST", f"/admin/enrollments/{e['enrollment_id']}/verify")["number"]
    [c] = await phone.pending_challenges()
    assert c.kind == cs.ChallengeKind.ACTIVATION
    out = await phone.answer_challenge(
        act.account_id, c.challenge_id, cs.Decision.APPROVE(number=number, option=None))
    assert out == cs.Outcome.APPROVED()
    assert server.admin("GET", f"/admin/enrollments/{e['enrollment_id']}")["status"] == "active"
    assert phone.push_account_status(act.account_id).active is True
    return act.account_id


def signin(server: Server, user: str) -> dict:
    return server.admin("POST", "/admin/signins", {
        "user": user, "app": "Payroll", "ip": "203.0.113.7", "location": "Lyon, FR",
        "client": "Firefox on Linux"})


@pytest.mark.parametrize("typed", [False, True])
def test_activation_then_approve_with_the_number(server, phone, typed):
    async def main():
        account = await activate_and_confirm(server, phone, "py-alice", typed)
        s = signin(server, "py-alice")
        [c] = await phone.pending_challenges()
        assert (c.app, c.ip, c.location, c.protocol) == (
            "Payroll", "203.0.113.7", "Lyon, FR", "openpush")
        assert c.number_length == len(s["number"])
        out = await phone.answer_challenge(
            account, c.challenge_id, cs.Decision.APPROVE(number=s["number"], option=None))
        assert out == cs.Outcome.APPROVED()
        assert server.admin("GET", f"/admin/signins/{s['signin_id']}")["state"] == "approved"

    asyncio.run(main())


def test_deny_fraud_and_wrong_number_are_recorded(server, phone):
    async def main():
        account = await activate_and_confirm(server, phone, "py-bob", False)
        s = signin(server, "py-bob")
        [c] = await phone.pending_challenges()
        wrong = "0" * len(s["number"]) if s["number"] != "0" * len(s["number"]) else "1" * len(s["number"])
        out = await phone.answer_challenge(
            account, c.challenge_id, cs.Decision.APPROVE(number=wrong, option=None))
        assert out == cs.Outcome.DENIED(reason="wrong_number")
        s = signin(server, "py-bob")
        [c] = await phone.pending_challenges()
        assert await phone.answer_challenge(account, c.challenge_id, cs.Decision.DENY()) == \
            cs.Outcome.DENIED(reason=None)
        assert server.admin("GET", f"/admin/signins/{s['signin_id']}")["state"] == "denied"
        s = signin(server, "py-bob")
        [c] = await phone.pending_challenges()
        assert c.fraud_report
        assert await phone.answer_challenge(account, c.challenge_id, cs.Decision.REPORT_FRAUD()) == \
            cs.Outcome.FRAUD()
        assert server.admin("GET", f"/admin/signins/{s['signin_id']}")["state"] == "fraud"
        assert server.admin("GET", "/admin/users/py-bob")["fraud_blocked"] is True
        # Answered: a second answer is refused.
        with pytest.raises(cs.CountersignError.ChallengeClosed):
            await phone.answer_challenge(account, c.challenge_id, cs.Decision.DENY())

    asyncio.run(main())


def test_offline_code_of_a_push_account_is_accepted_by_the_server(server, phone):
    async def main():
        account = await activate_and_confirm(server, phone, "py-carol", False)
        [row] = [r for r in phone.codes() if r.account.id == account]
        assert isinstance(row.state, cs.CodeState.TIMED)
        code = row.state.code

        def valid(c):
            return server.admin("POST", "/admin/otp/verify", {"user": "py-carol", "code": c})["valid"]

        # "Verify Now" already spent this time step's code, so the current one may be refused
        # as reused; then the next one (inside the server's window) must be accepted.
        assert valid(code.code) or valid(code.next_code)
        wrong = next(c for c in ("000000", "111111", "222222") if c not in (code.code, code.next_code))
        assert valid(wrong) is False

    asyncio.run(main())


def test_calls_from_several_threads_at_once(server, phone):
    async def setup():
        return await activate_and_confirm(server, phone, "py-dave", False)

    asyncio.run(setup())
    results, errors = [], []

    def worker():
        try:
            results.append(asyncio.run(phone.pending_challenges()))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and results == [[]] * 8


class Pending(cs.ChallengesListener):
    def __init__(self):
        super().__init__()
        self.q = queue.Queue()

    def on_challenges(self, challenges):
        self.q.put(("list", challenges))

    def on_error(self, error):
        self.q.put(("error", error))


def test_watch_challenges_delivers_a_new_sign_in(server, phone):
    async def setup():
        return await activate_and_confirm(server, phone, "py-erin", False)

    account = asyncio.run(setup())
    listener = Pending()
    sub = phone.watch_challenges(listener, 2)
    try:
        kind, first = listener.q.get(timeout=20)
        assert (kind, first) == ("list", [])
        s = signin(server, "py-erin")
        kind, got = listener.q.get(timeout=20)
        assert kind == "list" and [c.account_id for c in got] == [account]
        assert got[0].number_length == len(s["number"])
    finally:
        sub.cancel()
    assert sub.is_cancelled()


class Codes(cs.CodesListener):
    def __init__(self):
        super().__init__()
        self.q = queue.Queue()

    def on_codes(self, codes):
        self.q.put(codes)

    def on_error(self, error):
        self.q.put(error)


def test_watch_codes_and_the_logger(tmp_path, key_store, clock):
    lines = []

    class Lines(cs.Logger):
        def log(self, level, target, message):
            lines.append((level, target, message))

    cs.set_logger(Lines(), cs.LogLevel.DEBUG)
    try:
        from support import totp_uri
        c = cs.AuthenticatorClient.open(str(tmp_path / "w.db"), key_store, clock)
        c.add_account_from_uri(totp_uri())
        listener = Codes()
        sub = c.watch_codes(listener)
        first = listener.q.get(timeout=10)
        assert len(first) == 1 and isinstance(first[0].state, cs.CodeState.TIMED)
        code = first[0].state.code.code
        clock.set(clock.now_unix_seconds() + 30)
        nxt = listener.q.get(timeout=10)
        assert nxt[0].state.code.valid_from == first[0].state.code.valid_until
        sub.cancel()
        assert any("added account" in m for _, _, m in lines), lines
        assert all(code not in m for _, _, m in lines)
    finally:
        cs.set_logger(None, cs.LogLevel.DEBUG)


def test_decode_image_needs_no_vault(tmp_path):
    with pytest.raises(cs.CountersignError.InvalidInput):
        cs.decode_image(b"not an image", False)
