"""Domain errors. Each edge translates them once: HTTP status, Slack ephemeral, Teams message."""

from __future__ import annotations

import math


class DomainError(Exception):
    """Base of every error the domain raises on purpose. ``code`` is stable and machine-readable."""

    code = "domain_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConversationExists(Exception):
    """A unit of work's new handoff was not written: its conversation has a handoff already (the intake then
    answers with that one). Nothing of the unit of work was written."""


class NotFound(DomainError):
    code = "not_found"


class IllegalTransition(DomainError):
    """The action does not apply to the handoff in its current state (HTTP 409)."""

    code = "illegal_transition"


class AlreadyClaimed(IllegalTransition):
    code = "already_claimed"


class NotHolder(IllegalTransition):
    """Only the agent who holds the claim may do this."""

    code = "not_holder"


class InvalidCommand(DomainError):
    """A command whose fields are well-formed but make no sense (unknown queue, ...) (HTTP 422)."""

    code = "invalid_command"


class CallbackNotAllowed(InvalidCommand):
    """A ``callback_url`` aimed at a loopback, private, link-local or otherwise non-public target (HTTP 422)."""

    code = "callback_url_not_allowed"


class PayloadTooLarge(DomainError):
    code = "payload_too_large"


class ConcurrentUpdate(DomainError):
    """Someone else changed the handoff between our read and our write; the service retries."""

    code = "concurrent_update"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    """A valid credential used outside its scope (an ``intake`` key on an agent action) (HTTP 403)."""

    code = "forbidden"


class StoreUnavailable(DomainError):
    """The database cannot be reached right now (HTTP 503): nothing was written, the caller may retry."""

    code = "store_unavailable"


class RateLimited(DomainError):
    """Over a configured rate or concurrency limit (HTTP 429); ``retry_after`` seconds until a retry may pass."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float, **details: object) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(message, retry_after=seconds, **details)
        self.retry_after = seconds
