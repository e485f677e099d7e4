"""The signed customer webhook: each customer-facing event is POSTed to the handoff's ``callback_url``.

Delivered by the outbox (at least once, in order per handoff, never blocking anything else), by id: the event
is rendered at delivery time in customer wording, exactly as the widget shows it. Retries: timeouts, connection
errors, 408, 429 (honouring ``Retry-After``) and 5xx come back later with backoff; any other 4xx is permanent
(dead-lettered, visible with ``python3 app.py outbox dead``), and so is a target the callback policy refuses (a
host name resolving to a private address: no attempt is spent retrying it).

At least once means a crash between the receiver's answer and our bookkeeping re-sends the item: every webhook
carries ``Baton-Delivery-Id``, derived from the outbox item's idempotency key, so it is the same on every retry
and after any restart, and receivers dedupe on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from email.utils import parsedate_to_datetime

import httpx

from handoff.callbacks import CallbackPolicy, CallbackRefused
from handoff.models import Event
from handoff.outbox import OutboxItem, PermanentFailure, RetryLater
from handoff.services.customer import CustomerSide
from handoff.updates import CUSTOMER_KINDS
from integrations.webhooks.guard import GuardedTransport, Resolver, system_resolver
from integrations.webhooks.signing import HEADER, sign
from templates import Renderer
from templates.customer import QueueLabels, event_json

log = logging.getLogger("baton.webhooks")
USER_AGENT = "Baton-Webhooks/1"
DELIVERY_HEADER = "Baton-Delivery-Id"


def delivery_id(idempotency_key: str) -> str:
    """The stable id of one webhook delivery: the same for every retry and restart of one outbox item."""
    return "dlv_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    v = value.strip()
    if v.isdigit():
        return float(v)
    try:
        return max(0.0, (parsedate_to_datetime(v) - now).total_seconds())
    except (TypeError, ValueError):
        return None


class WebhookDestination:
    """Outbox destination ``customer_webhook``."""

    name = "customer_webhook"

    def __init__(self, side: CustomerSide, renderer: Renderer, labels: QueueLabels, secret: bytes, *,
                 clock: Callable[[], datetime], timeout: float = 10.0, policy: CallbackPolicy | None = None,
                 resolver: Resolver = system_resolver) -> None:
        self.side = side
        self.renderer = renderer
        self.labels = labels
        self.secret = secret
        self.clock = clock
        # Every connection is checked against the callback policy where the socket is opened (guard.py).
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False,
                                        transport=GuardedTransport(policy or CallbackPolicy(), resolver),
                                        headers={"User-Agent": USER_AGENT})

    def subscribes(self, event: Event) -> bool:
        return event.kind in CUSTOMER_KINDS

    async def aclose(self) -> None:
        await self.client.aclose()

    async def deliver(self, item: OutboxItem) -> None:
        event_id = item.payload.get("event_id")
        found = await self.side.event(int(event_id)) if event_id is not None else None
        if found is None:
            return
        handoff, ce = found
        if not handoff.callback_url:
            return  # this handoff asked for no webhook: nothing to send
        body = json.dumps(event_json(self.renderer, event_id=ce.id, handoff_id=handoff.id, at=ce.at, locale=ce.locale,
                                     message=ce.message, queue_labels=self.labels),
                          ensure_ascii=False, separators=(",", ":")).encode()
        now = self.clock()
        headers = {"Content-Type": "application/json", HEADER: sign(self.secret, body, int(now.timestamp())),
                   DELIVERY_HEADER: delivery_id(item.idempotency_key), "Baton-Event-Id": str(ce.id),
                   "Baton-Event-Type": ce.message.type, "Idempotency-Key": item.idempotency_key}
        try:
            r = await self.client.post(handoff.callback_url, content=body, headers=headers)
        except CallbackRefused as exc:
            raise PermanentFailure(f"callback_url refused: {exc}") from None
        except httpx.InvalidURL as exc:
            raise PermanentFailure(f"callback_url is not a valid URL: {exc}") from None
        except httpx.TimeoutException as exc:
            raise RetryLater(f"webhook timed out: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise RetryLater(f"webhook unreachable: {type(exc).__name__}") from None
        if r.status_code < 300:
            return
        where = f"webhook answered HTTP {r.status_code}"
        if r.status_code in (408, 429) or r.status_code >= 500:
            raise RetryLater(where, retry_after=retry_after_seconds(r.headers.get("Retry-After"), now))
        raise PermanentFailure(f"{where}: {r.text[:200]}")
