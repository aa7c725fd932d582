"""Server-side request forgery: which targets are refused, at registration and again at every
delivery (DNS rebinding), and that the HTTP client connects only to vetted addresses
(contract 8.1). Names resolve through a fake resolver; nothing here leaves the machine."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.test_utils import TestClient, TestServer

from fortytwo import keys
from fortytwo.app import create_app
from fortytwo.webhooks.targets import (
    TargetRefused,
    Targets,
    VettingResolver,
    is_public_address,
)
from tests.conftest import FakeClock, make_account, make_settings
from tests.webhook_receiver import FakeDns, Receiver, add_hook, deliveries, emit, settle

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:4700::1111"


@pytest.fixture
def dns() -> FakeDns:
    return FakeDns({
        "public.example.com": [PUBLIC_V4],
        "public6.example.com": [PUBLIC_V6],
        "internal.example.com": ["10.0.0.5"],
        "metadata.example.com": ["169.254.169.254"],
        "mixed.example.com": [PUBLIC_V4, "192.168.0.10"],
        "loop6.example.com": ["::1"],
        "mapped.example.com": ["::ffff:127.0.0.1"],
        "rebind.example.com": [PUBLIC_V4],
    })


@pytest.fixture
def app(settings, clock, dns):
    app = create_app(settings, clock=clock)
    app[keys.WEBHOOK_RESOLVE] = dns
    return app


REFUSED = [
    ("http://public.example.com/hook", "not_https"),
    ("http://93.184.216.34/hook", "not_https"),
    ("https://127.0.0.1/hook", "private_address"),
    ("https://127.8.9.10:8443/hook", "private_address"),
    ("https://10.0.0.1/hook", "private_address"),
    ("https://10.255.255.255/hook", "private_address"),
    ("https://172.16.0.1/hook", "private_address"),
    ("https://172.31.255.254/hook", "private_address"),
    ("https://192.168.1.1/hook", "private_address"),
    ("https://169.254.169.254/latest/meta-data", "private_address"),
    ("https://100.64.0.1/hook", "private_address"),
    ("https://0.0.0.0/hook", "private_address"),
    ("https://224.0.0.1/hook", "private_address"),
    ("https://239.255.255.250/hook", "private_address"),
    ("https://240.0.0.1/hook", "private_address"),
    ("https://255.255.255.255/hook", "private_address"),
    ("https://198.18.0.1/hook", "private_address"),
    ("https://[::1]/hook", "private_address"),
    ("https://[::]/hook", "private_address"),
    ("https://[fc00::1]/hook", "private_address"),
    ("https://[fd12:3456::1]/hook", "private_address"),
    ("https://[fe80::1]/hook", "private_address"),
    ("https://[fec0::1]/hook", "private_address"),
    ("https://[ff02::1]/hook", "private_address"),
    ("https://[::ffff:127.0.0.1]/hook", "private_address"),
    ("https://[::ffff:10.0.0.1]/hook", "private_address"),
    ("https://[::ffff:169.254.169.254]/hook", "private_address"),
    ("https://[::127.0.0.1]/hook", "private_address"),
    ("https://[64:ff9b::10.0.0.1]/hook", "private_address"),
    ("https://[2002:7f00:1::]/hook", "private_address"),
    ("https://internal.example.com/hook", "private_address"),
    ("https://metadata.example.com/hook", "private_address"),
    ("https://mixed.example.com/hook", "private_address"),
    ("https://loop6.example.com/hook", "private_address"),
    ("https://mapped.example.com/hook", "private_address"),
    ("https://localhost/hook", "private_address"),
    ("https://api.localhost/hook", "private_address"),
    ("https://unknown.example.com/hook", "unresolvable"),
    ("https://127.1/hook", "invalid"),
    ("https://0x7f000001/hook", "invalid"),
]


@pytest.mark.parametrize("url, reason", REFUSED)
async def test_refused_targets(client, account, url, reason):
    resp = await client.post("/v1/webhooks", json={"url": url, "events": ["booking_created"]}, headers=account.auth)
    payload = await resp.json()
    assert resp.status == 422, payload
    assert payload["error"]["code"] == "invalid_webhook_url"
    assert payload["error"]["details"]["reason"] == reason


@pytest.mark.parametrize(
    "url",
    [
        "https://public.example.com/hook",
        "https://public6.example.com/hook",
        "https://93.184.216.34:8443/hook",
        "https://[2606:4700::1111]/hook",
        "https://[::ffff:93.184.216.34]/hook",
    ],
)
async def test_public_targets_are_accepted(client, account, url):
    resp = await client.post("/v1/webhooks", json={"url": url, "events": ["booking_created"]}, headers=account.auth)
    assert resp.status == 201, await resp.text()


async def test_patch_is_checked_the_same_way(client, account):
    hook = await add_hook(client, account, "https://public.example.com/hook")
    for url, reason in [("https://internal.example.com/x", "private_address"), ("http://public.example.com/x", "not_https")]:
        resp = await client.patch(f"/v1/webhooks/{hook['id']}", json={"url": url}, headers=account.auth)
        payload = await resp.json()
        assert resp.status == 422 and payload["error"]["details"]["reason"] == reason


async def test_a_name_that_turns_private_after_registration_is_refused_at_delivery(client, app, account, dns):
    receiver = await Receiver().start()
    try:
        url = f"https://rebind.example.com:{receiver.port}/hook"
        hook = await add_hook(client, account, url)
        dns.table["rebind.example.com"] = ["127.0.0.1"]  # the attacker's DNS changes its answer

        await emit(app, account.org_id)
        await settle(app)
        [row] = await deliveries(app, hook["id"])
        assert row["status"] == "pending" and row["attempt"] == 1 and row["status_code"] is None
        assert "private_address" in row["error"]

        resp = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=account.auth)
        data = (await resp.json())["data"]
        assert resp.status == 200 and data["status_code"] is None and "private_address" in data["error"]

        dns.table["rebind.example.com"] = []
        resp = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=account.auth)
        assert "unresolvable" in (await resp.json())["data"]["error"]
        assert receiver.requests == []
    finally:
        await receiver.stop()


async def test_a_private_literal_stored_while_allowed_is_refused_once_not_allowed(tmp_path):
    receiver = await Receiver().start()
    clock = FakeClock()
    try:
        allowed = make_settings(tmp_path, webhooks={"allow_private_targets": True})
        app = create_app(allowed, clock=clock)
        async with TestClient(TestServer(app)) as client:
            ada = await make_account(app)
            hook = await add_hook(client, ada, receiver.url)
        strict = make_settings(tmp_path)
        app = create_app(strict, clock=clock)
        async with TestClient(TestServer(app)):
            await emit(app, ada.org_id)
            await settle(app)
            [row] = await deliveries(app, hook["id"])
            assert row["status_code"] is None and "not_https" in row["error"]
        assert receiver.requests == []
    finally:
        await receiver.stop()


async def test_the_client_resolver_hands_over_only_vetted_addresses():
    dns = FakeDns({"ok.example.com": [PUBLIC_V4, PUBLIC_V6], "bad.example.com": [PUBLIC_V4, "10.1.1.1"]})
    resolver = VettingResolver(Targets(dns, allow_private=False))
    results = await resolver.resolve("ok.example.com", 443)
    assert [(r["host"], r["family"], r["hostname"]) for r in results] == [
        (PUBLIC_V4, socket.AF_INET, "ok.example.com"),
        (PUBLIC_V6, socket.AF_INET6, "ok.example.com"),
    ]
    with pytest.raises(TargetRefused) as info:
        await resolver.resolve("bad.example.com", 443)
    assert info.value.error.reason == "private_address"
    with pytest.raises(TargetRefused):
        await resolver.resolve("nothing.example.com", 443)
    lenient = VettingResolver(Targets(dns, allow_private=True))
    assert [r["host"] for r in await lenient.resolve("bad.example.com", 443)] == [PUBLIC_V4, "10.1.1.1"]


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True), ("93.184.216.34", True), ("2606:4700::1111", True),
        ("::ffff:8.8.8.8", True), ("127.0.0.1", False), ("10.0.0.1", False),
        ("172.16.5.4", False), ("192.168.0.1", False), ("169.254.1.1", False),
        ("100.64.0.1", False), ("100.127.255.255", False), ("0.0.0.0", False),
        ("224.0.0.251", False), ("192.0.2.1", False), ("::1", False), ("::", False),
        ("fc00::1", False), ("fe80::1", False), ("ff05::1", False), ("fec0::1", False),
        ("::ffff:192.168.1.1", False), ("::ffff:100.64.0.1", False), ("::10.0.0.1", False),
        ("64:ff9b::7f00:1", False), ("2002:a00:1::", False), ("2001:db8::1", False),
    ],
)
def test_public_address_rule(address, public):
    assert is_public_address(ipaddress.ip_address(address)) is public
