"""Signed customer webhooks: ``webhook_integration(settings, rt)`` when ``BATON_WEBHOOK_SECRET`` is set."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.webhooks.destination import DELIVERY_HEADER, WebhookDestination, delivery_id
from integrations.webhooks.signing import HEADER, sign, verify


@dataclass
class WebhookIntegration:
    destination: WebhookDestination
    name: str = "customer_webhooks"
    destinations: list[Any] = field(default_factory=list)

    def mount(self, app: Any) -> None:
        return None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.destination.aclose()

    def readiness(self) -> tuple[bool, str]:
        return True, "signed with BATON_WEBHOOK_SECRET (Baton-Signature: t=…,v1=…)"


def webhook_integration(settings: Any, rt: Any) -> WebhookIntegration | None:
    """The signed webhook destination; None (off) without ``BATON_WEBHOOK_SECRET``.

    The secret is required rather than generated: a receiver must know it to verify anything, so a
    made-up one would only produce webhooks nobody can trust.
    """
    from handoff.services.customer import CustomerSide
    from templates import Renderer

    secret = getattr(settings, "webhook_secret", None)
    if secret is None or not secret.get_secret_value():
        return None
    side = CustomerSide(rt.deps, rt.waits, rt.conversation)
    dest = WebhookDestination(side, Renderer(), rt.labels, secret.get_secret_value().encode(), clock=rt.deps.now,
                              policy=rt.callbacks)
    return WebhookIntegration(destination=dest, destinations=[dest])


__all__ = ["DELIVERY_HEADER", "HEADER", "WebhookDestination", "WebhookIntegration", "delivery_id", "sign", "verify",
           "webhook_integration"]
