"""One hubspot-api-client, the properties Baton needs, and the translation of its errors into typed ones.

hubspot-api-client retries only idempotent methods through urllib3 (its default ``Retry``); the batch and
search calls Baton makes are POSTs, so 429s come back here and become :class:`~handoff.crm.CrmRateLimited`
with the ``Retry-After`` delay: the outbox pauses the HubSpot lane instead of a worker thread sleeping.
Blocking: every method here runs in a worker thread.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import hubspot
import urllib3
from hubspot.crm.properties import PropertyCreate

from handoff.crm import CrmRateLimited, CrmRejected, CrmUnavailable

log = logging.getLogger("baton.hubspot")
T = TypeVar("T")

TICKET_KEY = "baton_handoff_id"
NOTE_KEY = "baton_event_key"


class HubSpotConflict(CrmRejected):
    """409: a unique value (a Baton key) exists already — a replay; the caller switches to the upsert path."""


@dataclass(frozen=True)
class PropertySpec:
    object_type: str
    name: str
    label: str
    type: str
    field_type: str
    unique: bool = False


#: Created at first use when missing (needs the ``crm.schemas.*.write`` scopes; or create them by hand).
PROPERTIES = (
    PropertySpec("tickets", TICKET_KEY, "Baton handoff id", "string", "text", unique=True),
    PropertySpec("notes", NOTE_KEY, "Baton event key", "string", "text", unique=True),
    PropertySpec("contacts", "last_escalation_date", "Last escalation date", "datetime", "date"),
    PropertySpec("contacts", "total_escalations", "Total escalations", "number", "number"),
    PropertySpec("contacts", "avg_escalation_csat", "Average escalation CSAT", "number", "number"),
)


def _retry_after(exc: Any, default: float) -> float:
    headers = getattr(exc, "headers", None) or {}
    try:
        return max(0.0, float(headers.get("Retry-After")))
    except (TypeError, ValueError):
        return default


def _body(exc: Any) -> dict[str, Any]:
    try:
        parsed = json.loads(getattr(exc, "body", None) or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


class HubSpotGateway:
    """Calls the HubSpot client with typed errors, a per-call timeout, and the properties ensured once.

    Args:
        access_token: a private-app (or OAuth) access token.
        host: ``HUBSPOT_API_URL`` (tests point it at a local fake).
        timeout: seconds for one HTTP call.
        daily_pause: how long the lane pauses when the daily allowance is spent.
    """

    def __init__(self, access_token: str, host: str, *, timeout: float = 20.0, daily_pause: float = 3600.0) -> None:
        # No status retries inside urllib3: a 429 on a GET must come back as CrmRateLimited (the lane pauses),
        # not sleep Retry-After in a worker thread three times over. Connection retries stay (they are quick).
        retry = urllib3.Retry(total=2, connect=2, read=0, status=0, respect_retry_after_header=False)
        self.client = hubspot.Client.create(access_token=access_token, host=host.rstrip("/"), retry=retry)
        self.timeout = timeout
        self.daily_pause = daily_pause
        self.calls = 0
        self.last_error: str | None = None
        self._schema_ready = False
        self._lock = threading.Lock()

    def call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(client)``; HubSpot and transport errors become typed CRM errors."""
        self.calls += 1
        try:
            result = fn(self.client)
        except urllib3.exceptions.HTTPError as exc:
            self.last_error = type(exc).__name__
            raise CrmUnavailable(f"HubSpot unreachable: {type(exc).__name__}") from None
        except Exception as exc:
            status = getattr(exc, "status", None)
            if not isinstance(status, int):
                raise
            raise self._typed(exc, status) from None
        self.last_error = None
        return result

    def _typed(self, exc: Any, status: int) -> Exception:
        body = _body(exc)
        self.last_error = f"HTTP {status}"
        if status == 429:
            if body.get("policyName") == "DAILY":
                return CrmRateLimited("HubSpot daily limit reached", self.daily_pause)
            return CrmRateLimited("HubSpot rate limit", _retry_after(exc, 10.0))
        if status in (401, 403):
            return CrmUnavailable(f"HubSpot refused the token ({status}): {body.get('category', '')}", 300)
        if status >= 500 or status in (408, 423):
            return CrmUnavailable(f"HubSpot answered {status}")
        if status == 409:
            return HubSpotConflict(f"HubSpot conflict: {body.get('message', '')}"[:500])
        return CrmRejected(f"HubSpot rejected the request ({status}): {body.get('message', '')}"[:500])

    @property
    def kw(self) -> dict[str, Any]:
        return {"_request_timeout": self.timeout}

    def ensure_schema(self) -> None:
        """Create Baton's custom properties if the portal lacks them (once per process)."""
        with self._lock:
            if self._schema_ready:
                return
            for object_type in sorted({p.object_type for p in PROPERTIES}):
                existing = {p.name for p in self.call(
                    lambda c, t=object_type: c.crm.properties.core_api.get_all(t, **self.kw)).results}
                for spec in (p for p in PROPERTIES if p.object_type == object_type and p.name not in existing):
                    create = PropertyCreate(name=spec.name, label=spec.label, type=spec.type,
                                            field_type=spec.field_type, group_name=_group(object_type),
                                            has_unique_value=spec.unique)
                    try:
                        self.call(lambda c, t=object_type, pc=create: c.crm.properties.core_api.create(
                            t, property_create=pc, **self.kw))
                    except HubSpotConflict:  # created meanwhile by another process: fine
                        pass
                    log.info("created HubSpot property %s.%s", object_type, spec.name)
            self._schema_ready = True


def _group(object_type: str) -> str:
    return {"contacts": "contactinformation", "tickets": "ticketinformation", "notes": "noteinformation"}.get(
        object_type, "baton")
