"""The push surface as far as it works without a server: the async machinery (uniffi futures on
the library's tokio runtime, awaited from asyncio) and the synchronous helpers. Push flows
against the reference server are in test_push_server.py."""

from __future__ import annotations

import asyncio

import pytest

import countersign_ffi as cs


def test_async_call_without_push_accounts_returns_nothing(client):
    assert asyncio.run(client.pending_challenges()) == []


def test_many_async_calls_at_once(client):
    async def main():
        return await asyncio.gather(*(client.pending_challenges() for _ in range(20)))

    assert asyncio.run(main()) == [[]] * 20


def test_async_and_sync_calls_interleave(client):
    from support import totp_uri

    async def main():
        task = asyncio.ensure_future(client.pending_challenges())
        client.add_account_from_uri(totp_uri())
        return await task

    assert asyncio.run(main()) == []
    assert len(client.list_accounts()) == 1


@pytest.mark.parametrize("payload", ["", "garbage", "openpush://", "https://example.com/activate"])
def test_activation_host_rejects_what_is_not_an_activation(client, payload):
    with pytest.raises(cs.CountersignError.InvalidInput):
        client.activation_host(payload)


def test_unknown_challenge_has_no_account(client):
    assert client.account_for_challenge("no-such-challenge") is None


def test_network_options_accept_a_record(client):
    client.set_network_options(cs.NetworkOptions(extra_ca_pem=None, allow_insecure_loopback=True))
    client.set_network_options(cs.NetworkOptions(extra_ca_pem=None, allow_insecure_loopback=False))
    assert asyncio.run(client.pending_challenges()) == []


def test_bad_extra_ca_is_invalid_input(client):
    """Today set_network_options takes any bytes and the next network call fails; either place
    is acceptable here, as long as it is InvalidInput and the options can be fixed."""
    with pytest.raises(cs.CountersignError.InvalidInput):
        client.set_network_options(
            cs.NetworkOptions(extra_ca_pem=b"not a pem", allow_insecure_loopback=False)
        )
        asyncio.run(client.pending_challenges())
    client.set_network_options(cs.NetworkOptions(extra_ca_pem=None, allow_insecure_loopback=False))
    assert asyncio.run(client.pending_challenges()) == []


# --- privacyIDEA push tokens (the parts that need no privacyIDEA server; the flows against a
# real privacyIDEA 3.14 are tests/harness/tests/e2e_privacyidea.rs) ---

def pipush_link(url: str = "https%3A//pi.example.org/ttype/push", **extra: str) -> str:
    params = {
        "url": url, "ttl": "10", "issuer": "ACME", "enrollment_credential": "0123abcd",
        "v": "1", "serial": "PIPU0000ABCD", "sslverify": "0", "poll_only": "True",
    }
    params.update(extra)
    return "otpauth://pipush/alice%40acme?" + "&".join(f"{k}={v}" for k, v in params.items())


def test_privacyidea_link_is_read_offline(client):
    info = client.privacyidea_link(pipush_link())
    assert (info.host, info.issuer, info.label, info.serial) == (
        "pi.example.org", "ACME", "alice@acme", "PIPU0000ABCD")
    assert info.ttl_minutes == 10
    assert info.server_disables_tls_check is True
    assert client.activation_host(pipush_link()) == "pi.example.org"
    # The enrolment secret is never echoed back.
    assert "0123abcd" not in repr(info)


def test_privacyidea_link_errors_are_typed(client):
    with pytest.raises(cs.CountersignError.InvalidInput):
        client.privacyidea_link(pipush_link(v="2"))
    with pytest.raises(cs.CountersignError.SecurityCheckFailed):
        client.privacyidea_link(pipush_link(url="http%3A//pi.example.org/ttype/push"))
    # Loopback servers only in the explicit test mode.
    loopback = pipush_link(url="http%3A//127.0.0.1%3A9/ttype/push")
    with pytest.raises(cs.CountersignError.SecurityCheckFailed):
        client.privacyidea_link(loopback)
    client.set_network_options(cs.NetworkOptions(extra_ca_pem=None, allow_insecure_loopback=True))
    assert client.privacyidea_link(loopback).host == "127.0.0.1"


class Stages(cs.EnrollmentProgress):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_stage(self, stage):
        self.seen.append(stage)


def test_privacyidea_enrolment_reports_progress_and_stores_nothing_when_unreachable(client):
    import socket

    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client.set_network_options(cs.NetworkOptions(extra_ca_pem=None, allow_insecure_loopback=True))
    stages = Stages()
    link = pipush_link(url=f"http%3A//127.0.0.1%3A{port}/ttype/push")
    with pytest.raises(cs.CountersignError.Network):
        asyncio.run(client.enroll_privacyidea(link, None, None, stages))
    assert stages.seen == [cs.EnrollmentStage.GENERATING_KEY, cs.EnrollmentStage.REGISTERING]
    assert client.list_accounts() == []


def test_privacyidea_link_older_than_its_ttl_is_refused(client, clock):
    client.set_network_options(cs.NetworkOptions(extra_ca_pem=None, allow_insecure_loopback=True))
    link = pipush_link(url="http%3A//127.0.0.1%3A9/ttype/push", ttl="1")
    scanned = clock.now_unix_seconds() - 120
    with pytest.raises(cs.CountersignError.InvalidInput):
        asyncio.run(client.enroll_privacyidea(link, None, scanned, None))
    assert client.list_accounts() == []
