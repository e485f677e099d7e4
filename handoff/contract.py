"""The intake contract: what an AI widget or back-end posts to ``POST /v1/handoffs`` and ``/v1/evaluate``.

The models validate shape and value ranges; size limits (how many transcript turns, how long a turn) are
configurable and checked separately by :func:`check_limits`, because they answer 413, not 422.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from handoff.callbacks import valid_callback_url
from handoff.errors import PayloadTooLarge

_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"']{1,255}\.[^@\s<>\"'.]{1,63}$")
_CODE = r"^[a-z][a-z0-9_]{0,63}$"

ShortText = Annotated[str, Field(max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class CustomerIn(_Strict):
    """Who is waiting. Only ``name`` or ``email`` is needed; the rest sharpens priority and routing."""

    id: ShortText | None = Field(default=None, description="the widget's own customer id, if any")
    name: ShortText | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    company: ShortText | None = None
    plan: Annotated[str, Field(max_length=64)] = "free"
    account_value: Annotated[float, Field(ge=0, le=1e12)] = 0.0
    vip: bool = False
    locale: Annotated[str, Field(pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")] = "en"
    timezone: Annotated[str, Field(max_length=64)] | None = None
    tenure_days: Annotated[int, Field(ge=0, le=100_000)] | None = None
    flags: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=50)] = []

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        if not _EMAIL.match(v):
            raise ValueError("not an email address")
        return v.lower()

    @field_validator("plan")
    @classmethod
    def _plan(cls, v: str) -> str:
        return v.lower()

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {v!r}") from exc
        return v


class Turn(_Strict):
    """One message of the AI conversation, oldest first."""

    role: Literal["customer", "ai", "agent", "system"]
    text: str
    ts: datetime | None = None
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None


class AIContext(_Strict):
    """What the AI knew when it gave up: its summary, its guess at intent, how sure it was."""

    summary: Annotated[str, Field(max_length=5000)] | None = None
    intent: Annotated[str, Field(max_length=64)] | None = None
    confidence: Annotated[float, Field(ge=0, le=1)] | None = None
    kb_hits: Annotated[int, Field(ge=0)] | None = None
    attempted_steps: Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=50)] = []
    entities: dict[str, Any] = {}
    customer_rating: Annotated[int, Field(ge=1, le=5)] | None = Field(
        default=None, description="an in-chat rating the customer gave the AI, 1-5"
    )


class TriggerIn(_Strict):
    """Why the widget escalated, when it already knows. Recorded; can raise urgency, never lower it."""

    reason: Annotated[str, Field(pattern=_CODE)]
    detail: Annotated[str, Field(max_length=1000)] | None = None


class Technical(BaseModel):
    """Browser, OS, error messages; free-form beyond those."""

    model_config = ConfigDict(extra="allow", frozen=True)
    browser: ShortText | None = None
    os: ShortText | None = None
    errors: Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=50)] = []


class ConversationIn(_Strict):
    """The body of ``POST /v1/evaluate``: a conversation, no side effects."""

    source: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = "widget"
    conversation_id: Annotated[str, Field(min_length=1, max_length=200)]
    customer: CustomerIn = CustomerIn()
    transcript: list[Turn] = []
    ai: AIContext = AIContext()
    technical: Technical | None = None


class HandoffIn(ConversationIn):
    """The body of ``POST /v1/handoffs``."""

    trigger: TriggerIn | None = None
    callback_url: Annotated[str, Field(max_length=2000, description="where signed customer webhooks go: a public "
                                       "http(s) URL (see docs/security.md)"),
                            AfterValidator(valid_callback_url)] | None = None


def check_limits(body: ConversationIn, *, max_messages: int, max_message_chars: int) -> None:
    """Refuse a conversation past the configured size limits.

    Raises:
        PayloadTooLarge: naming the limit and the offending field.
    """
    if len(body.transcript) > max_messages:
        raise PayloadTooLarge(
            f"transcript has {len(body.transcript)} messages; the limit is {max_messages}", field="transcript"
        )
    for i, turn in enumerate(body.transcript):
        if len(turn.text) > max_message_chars:
            raise PayloadTooLarge(
                f"transcript[{i}].text has {len(turn.text)} characters; the limit is {max_message_chars}",
                field=f"transcript.{i}.text",
            )
