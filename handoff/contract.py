"""The intake contract: what an AI widget or back-end posts to ``POST /v1/handoffs`` and ``/v1/evaluate``.

The models validate shape and value ranges; size limits (how many transcript turns, how long a turn) are
configurable and checked separately by :func:`check_limits`, because they answer 413, not 422.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    field_validator,
    model_validator,
)

from handoff.callbacks import valid_callback_url
from handoff.checks import check_free_form, check_hours, check_zone, clean_fields
from handoff.errors import PayloadTooLarge

_EMAIL = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"']{1,255}\.[^@\s<>\"'.]{1,63}$")
_CODE = r"^[a-z][a-z0-9_]{0,63}$"

ShortText = Annotated[str, Field(max_length=200)]
#: A free-form JSON object: strings cleaned, at most 20 levels deep and 500 keys in all (see ``handoff.checks``).
FreeForm = Annotated[dict[str, Any], BeforeValidator(check_free_form)]
#: An IANA time zone name, checked by :func:`handoff.checks.check_zone` (API bodies and ``BATON_CONFIG`` alike).
Zone = Annotated[str, Field(max_length=64, description="an IANA time zone, e.g. Europe/Berlin"),
                 AfterValidator(check_zone)]
#: Working hours ``HH:MM-HH:MM`` checked by :func:`handoff.checks.check_hours`.
WorkingHours = Annotated[str, Field(max_length=11, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
                                    description="HH:MM-HH:MM in the agent's time zone; overnight spans allowed"),
                         AfterValidator(check_hours)]


class CleanModel(BaseModel):
    """A request body part whose strings are cleaned of control characters before validation.

    NUL and the other C0 controls except tab, newline and carriage return are removed (vertical tab and form
    feed become newlines), so they never reach the store; a field that is empty or malformed after that is
    refused by its own rule (422).
    """

    #: Fields not cleaned: a control character there makes the value invalid (422), not merely dirty.
    raw_fields: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _clean(cls, data: Any) -> Any:
        return clean_fields(data, cls.raw_fields)


class _Strict(CleanModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class CustomerIn(_Strict):
    """Who is waiting. Only ``name`` or ``email`` is needed; the rest sharpens priority and routing."""

    id: ShortText | None = Field(default=None, description="the widget's own customer id, if any")
    name: ShortText | None = None
    email: Annotated[str, Field(max_length=320, json_schema_extra={"pattern": f"^$|{_EMAIL.pattern}"},
                                description="an email address (an empty string counts as none)")] | None = None
    company: ShortText | None = None
    plan: Annotated[str, Field(max_length=64)] = "free"
    account_value: Annotated[StrictFloat, Field(ge=0, le=1e12)] = 0.0
    vip: StrictBool = False
    locale: Annotated[str, Field(max_length=35, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")] = "en"
    timezone: Zone | None = None
    tenure_days: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
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


class Turn(_Strict):
    """One message of the AI conversation, oldest first."""

    role: Literal["customer", "ai", "agent", "system"]
    text: str
    ts: datetime | None = None
    confidence: Annotated[StrictFloat, Field(ge=0, le=1)] | None = None


class AIContext(_Strict):
    """What the AI knew when it gave up: its summary, its guess at intent, how sure it was."""

    summary: Annotated[str, Field(max_length=5000)] | None = None
    intent: Annotated[str, Field(max_length=64)] | None = None
    confidence: Annotated[StrictFloat, Field(ge=0, le=1)] | None = None
    kb_hits: Annotated[StrictInt, Field(ge=0, le=1_000_000)] | None = None
    attempted_steps: Annotated[list[Annotated[str, Field(max_length=500)]], Field(max_length=50)] = []
    entities: FreeForm = Field(default={}, description="free-form facts; at most 20 levels deep and 500 keys")
    customer_rating: Annotated[StrictInt, Field(ge=1, le=5)] | None = Field(
        default=None, description="an in-chat rating the customer gave the AI, 1-5"
    )


class TriggerIn(_Strict):
    """Why the widget escalated, when it already knows. Recorded; can raise urgency, never lower it."""

    reason: Annotated[str, Field(max_length=64, pattern=_CODE)]
    detail: Annotated[str, Field(max_length=1000)] | None = None


class Technical(BaseModel):
    """Browser, OS, error messages; free-form beyond those (at most 20 levels deep and 500 keys)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    browser: ShortText | None = None
    os: ShortText | None = None
    errors: Annotated[list[Annotated[str, Field(max_length=2000)]], Field(max_length=50)] = []

    @model_validator(mode="before")
    @classmethod
    def _free_form(cls, data: Any) -> Any:
        return check_free_form(data) if isinstance(data, dict) else data


class IntakeWarning(BaseModel):
    """Something the body lacks that Baton accepted anyway, and what it costs."""

    field: str
    code: str
    message: str


class ConversationIn(_Strict):
    """The body of ``POST /v1/evaluate``: a conversation, no side effects.

    Only ``conversation_id`` is required. A body without a customer name or email, or with an empty
    transcript, is **accepted** — an anonymous visitor who presses "talk to a person" before typing still
    deserves a human — and the answer's ``warnings`` say what is missing and what that costs.
    """

    source: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] = "widget"
    conversation_id: Annotated[str, Field(min_length=1, max_length=200)]
    customer: CustomerIn = CustomerIn()
    transcript: list[Turn] = []
    ai: AIContext = AIContext()
    technical: Technical | None = None

    def warnings(self) -> list[IntakeWarning]:
        """What this conversation lacks that agents or integrations will miss (empty when nothing)."""
        out: list[IntakeWarning] = []
        c = self.customer
        if not (c.name or c.email or c.id):
            out.append(IntakeWarning(
                field="customer", code="anonymous_customer",
                message="no customer name, email or id: agents cannot greet or recognise the customer, and CRM "
                        "lookup and email follow-up are off"))
        if not self.transcript:
            out.append(IntakeWarning(
                field="transcript", code="empty_transcript",
                message="the transcript is empty: agents see no conversation, and the decision rests on ai, "
                        "trigger and customer alone"))
        return out


class HandoffIn(ConversationIn):
    """The body of ``POST /v1/handoffs``."""

    raw_fields: ClassVar[frozenset[str]] = frozenset({"callback_url"})

    trigger: TriggerIn | None = None
    callback_url: Annotated[str, Field(max_length=2000, description="where signed customer webhooks go: a public "
                                       "http(s) URL (see docs/security.md)"),
                            AfterValidator(valid_callback_url)] | None = None


@lru_cache(maxsize=256)
def max_length(model: type[BaseModel], name: str) -> int | None:
    """The longest string ``model.name`` accepts, as published in its JSON schema (``maxLength``).

    Edges that fill the same column (CRM enrichment) use it, and a test holds it against the column lengths.
    """
    prop = model.model_json_schema()["properties"][name]
    limits = [p["maxLength"] for p in (prop, *prop.get("anyOf", ())) if "maxLength" in p]
    return min(limits) if limits else None


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
