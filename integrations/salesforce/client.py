"""One simple-salesforce client, its credentials, and the translation of its errors into typed ones.

Blocking: every method here runs in a worker thread (``asyncio.to_thread``), never on the event loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from handoff.crm import CrmRateLimited, CrmRejected, CrmUnavailable

log = logging.getLogger("baton.salesforce")
T = TypeVar("T")


class SalesforceDailyLimit(CrmRateLimited):
    """``403 REQUEST_LIMIT_EXCEEDED`` (no ``Retry-After``), or usage past the threshold in ``Sforce-Limit-Info``."""


class SalesforceSessionExpired(CrmUnavailable):
    """The access token expired and there are no credentials to log in again."""


@dataclass(frozen=True)
class SalesforceCredentials:
    """An access token + instance URL, or username/password/security token (SOAP login, refreshed on expiry)."""

    instance_url: str | None = None
    access_token: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    domain: str | None = None
    version: str = "59.0"

    @property
    def can_login(self) -> bool:
        return bool(self.username and self.password)


def _error_code(exc: SalesforceError) -> str:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", ""))
    return ""


class SalesforceGateway:
    """Calls simple-salesforce with the auth refreshed, the daily allowance watched, and errors typed.

    Args:
        creds: how to authenticate.
        timeout: seconds for one HTTP call (requests' timeout).
        limit_pause: how long the lane pauses once the daily allowance is (nearly) spent.
        limit_threshold: the share of the daily allowance after which Baton stops calling (0-1].
    """

    def __init__(self, creds: SalesforceCredentials, *, timeout: float = 20.0, limit_pause: float = 3600.0,
                 limit_threshold: float = 0.95, session: requests.Session | None = None) -> None:
        self.creds = creds
        self.timeout = timeout
        self.limit_pause = limit_pause
        self.limit_threshold = limit_threshold
        self._session = session
        self._sf: Salesforce | None = None
        self._lock = threading.Lock()
        self.calls = 0
        self.last_usage: tuple[int, int] | None = None
        self.last_error: str | None = None
        self._over_budget = False

    @property
    def version(self) -> str:
        return self.creds.version

    def _client(self, fresh: bool = False) -> Salesforce:
        with self._lock:
            if self._sf is None or fresh:
                c = self.creds
                if c.can_login:
                    self._sf = Salesforce(username=c.username, password=c.password,
                                          security_token=c.security_token or "", domain=c.domain,
                                          version=c.version, session=self._session)
                else:
                    self._sf = Salesforce(instance_url=c.instance_url, session_id=c.access_token, version=c.version,
                                          session=self._session)
            return self._sf

    def call(self, fn: Callable[[Salesforce], T]) -> T:
        """Run ``fn(sf)``; log in again once on an expired session; raise typed errors."""
        try:
            try:
                result = self._run(fn, self._client())
            except SalesforceExpiredSession:
                if not self.creds.can_login:
                    self.last_error = "access token expired"
                    raise SalesforceSessionExpired(
                        "the Salesforce access token expired; set a new SALESFORCE_ACCESS_TOKEN or use "
                        "username/password credentials", retry_after=300) from None
                log.info("Salesforce session expired; logging in again")
                result = self._run(fn, self._client(fresh=True))
        except SalesforceRefusedRequest as exc:
            if _error_code(exc) == "REQUEST_LIMIT_EXCEEDED":
                self.last_error = "daily API limit exceeded"
                raise SalesforceDailyLimit("Salesforce daily API limit exceeded", self.limit_pause) from None
            raise CrmRejected(f"Salesforce refused the request ({_error_code(exc) or exc.status})") from None
        except SalesforceMalformedRequest as exc:
            raise CrmRejected(f"Salesforce rejected the request: {exc.content!r}"[:500]) from None
        except SalesforceAuthenticationFailed as exc:
            self.last_error = f"login failed ({exc.code})"
            raise CrmUnavailable(f"Salesforce login failed: {exc.code}", retry_after=300) from None
        except SalesforceError as exc:  # 5xx and everything else the API answered
            self.last_error = f"HTTP {exc.status}"
            raise CrmUnavailable(f"Salesforce answered {exc.status}") from None
        except requests.RequestException as exc:
            self.last_error = type(exc).__name__
            raise CrmUnavailable(f"Salesforce unreachable: {type(exc).__name__}") from None
        self.last_error = None
        return result

    def _run(self, fn: Callable[[Salesforce], T], sf: Salesforce) -> T:
        self.calls += 1
        result = fn(sf)
        self._watch_usage(sf)
        return result

    def _watch_usage(self, sf: Salesforce) -> None:
        usage = (sf.api_usage or {}).get("api-usage")
        if usage is None:
            return
        self.last_usage = (int(usage.used), int(usage.total))
        if usage.total and usage.used >= self.limit_threshold * usage.total:
            log.warning("Salesforce API usage %s/%s is past %.0f%%: pausing", usage.used, usage.total,
                        self.limit_threshold * 100)
            # Written already; the *next* call waits. Raised by :meth:`check_budget` before each batch.
            self._over_budget = True

    def check_budget(self) -> None:
        """Raise :class:`SalesforceDailyLimit` when the last ``Sforce-Limit-Info`` said the allowance is spent."""
        if self._over_budget:
            used, total = self.last_usage or (0, 0)
            if total and used < self.limit_threshold * total:
                self._over_budget = False
                return
            self._over_budget = False  # look again after the pause: the allowance is a rolling 24 hours
            raise SalesforceDailyLimit(f"Salesforce API usage {used}/{total} is near the daily limit",
                                       self.limit_pause)

    def query_all(self, soql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        """Every record of a SOQL query (follows ``nextRecordsUrl``)."""
        return list(self.call(lambda sf: sf.query_all(soql, timeout=timeout or self.timeout))["records"])

    def restful(self, path: str, method: str, body: Any) -> Any:
        return self.call(lambda sf: sf.restful(path, method=method, json=body, timeout=self.timeout))
