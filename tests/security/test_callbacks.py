"""SSRF through ``callback_url`` (issue #10.8): shape at intake, literal targets at intake (422), resolved targets at
delivery (dead-lettered at once), connections pinned to the checked address, and ``Baton-Delivery-Id``."""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from handoff.callbacks import CallbackPolicy, CallbackRefused, IPAddress
from handoff.contract import HandoffIn
from tests.customer.conftest import CONFIG, KEY, customer_settings
from tests.customer.webhook_receiver import webhook_receiver
from tests.support.factories import intake_body

SECRET = "whsec_test_" + "s" * 24


@pytest.mark.parametrize(("url", "why"), [
    ("http://a\u0002b/", "'\\x02'"),
    ("http://example.com/\u0000", "'\\x00'"),
    ("http://exa mple.com/", "' '"),
    ("http://example.com/a\u00a0b", "'\\xa0'"),
    ("ftp://example.com/x", "only http"),
    ("javascript:alert(1)", "only http"),
    ("https://user:pw@example.com/", "user info"),
    ("https://@example.com/", "user info"),
    ("http:///path", "no host"),
    ("http://exa_mple.com/", "not a valid host name"),
    ("http://example.com:99999/", "not a valid URL"),
    ("http://2130706433/", "usual form (127.0.0.1)"),
    ("http://0x7f.1/", "usual form (127.0.0.1)"),
])
def test_malformed_callback_urls_are_refused_by_the_contract(url: str, why: str) -> None:
    with pytest.raises(ValidationError) as exc:
        HandoffIn.model_validate(intake_body(callback_url=url))
    err = next(e for e in exc.value.errors() if e["loc"] == ("callback_url",))
    assert why in err["msg"]


@pytest.mark.parametrize(("host", "kind"), [
    ("127.0.0.1", "loopback"), ("[::1]", "loopback"), ("localhost", "loopback name"),
    ("api.localhost", "loopback name"), ("169.254.169.254", "link-local"), ("[fe80::1]", "link-local"),
    ("10.1.2.3", "private"), ("192.168.0.10", "private"), ("172.16.5.4", "private"), ("[fd00::1]", "private"),
    ("100.64.0.1", "non-public"), ("224.0.0.251", "multicast"), ("0.0.0.0", "unspecified"),
    ("240.0.0.1", "reserved"), ("[::ffff:10.0.0.1]", "private"),
])
def test_non_public_literal_targets_are_refused_at_intake(host: str, kind: str) -> None:
    with pytest.raises(CallbackRefused, match=kind):
        CallbackPolicy().check_intake(f"http://{host}:8080/hook")


def test_public_targets_and_host_names_pass_intake() -> None:
    policy = CallbackPolicy()
    for url in ("https://widget.example.com/hooks/baton", "http://93.184.216.34/x", "https://[2606:4700::1111]/"):
        policy.check_intake(url)


def test_the_allow_list_takes_hosts_and_networks() -> None:
    policy = CallbackPolicy.parse(" hooks.corp.internal , 10.0.0.0/8,127.0.0.1 ")
    policy.check_intake("http://10.20.30.40/x")
    policy.check_intake("http://127.0.0.1:9000/x")
    policy.check_intake("https://hooks.corp.internal/x")
    with pytest.raises(CallbackRefused, match=re.escape("192.168.1.1 is a private address")):
        policy.check_intake("http://192.168.1.1/")
    with pytest.raises(CallbackRefused, match=re.escape("127.0.0.2 is a loopback")):
        policy.check_intake("http://127.0.0.2/")
    corp = ipaddress.ip_address("172.16.0.9")
    policy.check_resolved("hooks.corp.internal", [corp])  # a named host is trusted whatever it resolves to
    with pytest.raises(CallbackRefused, match=re.escape("other.corp resolves to 172.16.0.9, which is a private")):
        policy.check_resolved("other.corp", [ipaddress.ip_address("8.8.8.8"), corp])  # one bad address is enough
    with pytest.raises(ValueError, match="neither a host name nor"):
        CallbackPolicy.parse("10.0.0.0/8, not a host!")


def test_a_bad_allow_list_stops_the_start(sqlite_url: str) -> None:
    from app import build
    from tests.conftest import make_settings

    with pytest.raises(ValueError, match="BATON_CALLBACK_ALLOW"):
        build(make_settings(sqlite_url, BATON_CALLBACK_ALLOW="hooks_internal"), integrations=[], with_log=False)


async def test_intake_answers_422_and_writes_nothing(client: Any) -> None:
    r = await client.post("/v1/handoffs", json=intake_body(callback_url="http://169.254.169.254/latest/meta-data"))
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "callback_url_not_allowed" and body["details"] == {"field": "callback_url"}
    assert body["message"].startswith("callback_url: 169.254.169.254 is a link-local address")
    bad = await client.post("/v1/handoffs", json=intake_body(callback_url="http://a\u0002b/"))
    assert bad.status_code == 422 and bad.json()["error"] == "validation_error"
    assert "callback_url" in bad.json()["message"]
    assert (await client.get("/v1/handoffs")).json()["items"] == []
    ok = await client.post("/v1/handoffs", json=intake_body(callback_url="https://widget.example.com/hooks"))
    assert ok.status_code == 201


# ------------------------------------------------------------------------------------------- delivery time


class FakeDns:
    """A resolver answering from a table (each call pops the next answer when a list of answers is given)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.calls.append(host)
        seq = self.answers.get(host)
        if not seq:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answer = seq.pop(0) if len(seq) > 1 else seq[0]
        return [ipaddress.ip_address(a) for a in answer]


@pytest.fixture
async def hooked(db_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """A runtime whose webhook destination resolves with :class:`FakeDns`; 127.0.0.1 is allowed."""
    from app import build, sync_agents
    from bot.web.customer import customer_integration
    from handoff.services.customer import CustomerSide
    from handoff.services.waits import WaitTimes
    from integrations.webhooks import WebhookDestination, WebhookIntegration
    from templates import Renderer
    from tests.support.clients import asgi_client

    dns = FakeDns({})

    def webhooks(settings: Any, rt: Any) -> WebhookIntegration:
        side = CustomerSide(rt.deps, WaitTimes(rt.deps), rt.conversation)
        dest = WebhookDestination(side, Renderer(), rt.labels, SECRET.encode(), clock=rt.deps.now, policy=rt.callbacks,
                                  resolver=dns)
        return WebhookIntegration(destination=dest, destinations=[dest])

    cfg = tmp_path / "fast.yaml"
    cfg.write_text(CONFIG)
    rt = build(customer_settings(db_url, str(cfg), BATON_CALLBACK_ALLOW="127.0.0.1"),
               integrations=[customer_integration, webhooks], with_log=False)
    await sync_agents(rt)
    async with asgi_client(rt) as c:
        try:
            yield rt, c, dns
        finally:
            for integ in rt.integrations:
                await integ.stop()
            await rt.engine.dispose()


async def _webhook_items(rt: Any) -> list[Any]:
    async with rt.deps.uow(read_only=True) as uow:
        return [i for i in await uow.outbox.list(status=None, limit=100) if i.destination == "customer_webhook"]


async def test_a_name_resolving_to_a_private_address_is_dead_lettered_without_retries(hooked: Any) -> None:
    rt, client, dns = hooked
    dns.answers["hooks.shop.test"] = [["10.0.0.7"]]
    with webhook_receiver() as rec:
        port = rec.url.rsplit(":", 1)[1].split("/")[0]
        r = await client.post("/v1/handoffs", json=intake_body(callback_url=f"http://hooks.shop.test:{port}/h"),
                              headers=KEY)
        assert r.status_code == 201  # a host name is checked where it is connected to, not at intake
        await rt.dispatcher.drain_once()
        assert rec.requests == []
    [item] = await _webhook_items(rt)
    assert item.status.value == "dead" and item.attempts <= 1
    assert item.last_error == ("permanent: callback_url refused: hooks.shop.test resolves to 10.0.0.7, which is a "
                               "private address; callbacks go to public addresses only (allow it with "
                               "BATON_CALLBACK_ALLOW)")


async def test_the_connection_goes_to_the_checked_address_and_each_connection_is_rechecked(hooked: Any) -> None:
    rt, client, dns = hooked
    # First answer: loopback (allowed here); then the name "rebinds" to the cloud metadata address.
    dns.answers["hooks.shop.test"] = [["127.0.0.1"], ["169.254.169.254"]]
    dest = next(d for d in rt.destinations if d.name == "customer_webhook")
    with webhook_receiver() as rec:
        port = rec.url.rsplit(":", 1)[1].split("/")[0]
        h = (await client.post("/v1/handoffs", json=intake_body(callback_url=f"http://hooks.shop.test:{port}/h"),
                               headers=KEY)).json()
        await client.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
        first, second = sorted(await _webhook_items(rt), key=lambda i: i.id)
        await dest.deliver(first)  # ".test" names never resolve for real: the request went where FakeDns said
        assert len(rec.requests) == 1 and rec.requests[0].headers["Host"] == f"hooks.shop.test:{port}"
        with pytest.raises(Exception, match=re.escape("169.254.169.254, which is a link-local address")):
            await dest.deliver(second)
        assert len(rec.requests) == 1
    assert dns.calls == ["hooks.shop.test", "hooks.shop.test"]


async def test_a_name_that_does_not_resolve_is_retried_later(hooked: Any) -> None:
    from handoff.outbox import RetryLater

    rt, client, _ = hooked
    await client.post("/v1/handoffs", json=intake_body(callback_url="https://nowhere.shop.test/h"), headers=KEY)
    [item] = await _webhook_items(rt)
    dest = next(d for d in rt.destinations if d.name == "customer_webhook")
    with pytest.raises(RetryLater, match="unreachable"):
        await dest.deliver(item)


async def test_delivery_id_is_stable_across_retries_and_restarts_and_distinct_per_item(hooked: Any) -> None:
    from handoff.services.customer import CustomerSide
    from handoff.services.waits import WaitTimes
    from integrations.webhooks import DELIVERY_HEADER, WebhookDestination, delivery_id
    from templates import Renderer

    rt, client, _ = hooked
    with webhook_receiver() as rec:
        rec.script = [(503, {})]
        h = (await client.post("/v1/handoffs", json=intake_body(callback_url=rec.url), headers=KEY)).json()
        await client.post(f"/v1/handoffs/{h['id']}/claim", json={"agent_id": "emma"}, headers=KEY)
        first, second = sorted(await _webhook_items(rt), key=lambda i: i.id)
        dest = next(d for d in rt.destinations if d.name == "customer_webhook")
        with pytest.raises(Exception, match="503"):
            await dest.deliver(first)
        await dest.deliver(first)  # the retry
        # "After a restart": a new destination (new process) delivering the same stored item.
        again = WebhookDestination(CustomerSide(rt.deps, WaitTimes(rt.deps), rt.conversation), Renderer(), rt.labels,
                                   SECRET.encode(), clock=rt.deps.now, policy=rt.callbacks)
        try:
            await again.deliver(first)
            await again.deliver(second)
        finally:
            await again.aclose()
    ids = [r.headers[DELIVERY_HEADER] for r in rec.requests]
    assert ids[:3] == [delivery_id(first.idempotency_key)] * 3
    assert ids[3] == delivery_id(second.idempotency_key) != ids[0]
    assert ids[0].startswith("dlv_") and first.idempotency_key not in ids[0]
    assert [json.loads(r.body)["type"] for r in rec.requests] == ["queued"] * 3 + ["agent_joined"]
