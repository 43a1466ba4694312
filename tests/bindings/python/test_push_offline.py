"""The push surface as far as it works without a server: the async machinery (uniffi futures on
the library's tokio runtime, awaited from asyncio) and the synchronous helpers. Push flows
against the reference server are not tested here yet."""

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
