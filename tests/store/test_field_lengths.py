"""The API's string limits equal (or undercut) the store's column lengths, for every stored field.

A value the API accepts but a ``varchar(n)`` refuses is a 500 on PostgreSQL (SQLite does not check lengths), so
this walks every string field of every request model, config model and path parameter: each must be mapped to
the column it fills (and fit it) or be listed as stored unbounded (``Text``/JSON). A new field fails the walk
until someone says where it goes.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Column, String, Text

from bot.web import schemas
from bot.web.customer import CallbackBody, CsatBody, MessageBody
from handoff import contract
from handoff.config import AgentConfig, BatonConfig, QueueConfig
from handoff.store import tables as t

# (model, field) → the columns its value is written to.
STORED: dict[tuple[type[BaseModel], str], tuple[Column[Any], ...]] = {
    (contract.CustomerIn, "id"): (t.customers.c.external_id,),
    (contract.CustomerIn, "name"): (t.customers.c.name,),
    (contract.CustomerIn, "email"): (t.customers.c.email,),
    (contract.CustomerIn, "company"): (t.customers.c.company,),
    (contract.CustomerIn, "plan"): (t.customers.c.plan,),
    (contract.CustomerIn, "locale"): (t.customers.c.locale, t.handoffs.c.locale),
    (contract.CustomerIn, "timezone"): (t.customers.c.timezone,),
    (contract.ConversationIn, "source"): (t.handoffs.c.source,),
    (contract.ConversationIn, "conversation_id"): (t.handoffs.c.conversation_id,),
    (contract.HandoffIn, "callback_url"): (t.handoffs.c.callback_url,),
    (contract.TriggerIn, "reason"): (t.handoffs.c.trigger_reason,),
    (contract.TriggerIn, "detail"): (t.handoffs.c.trigger_detail,),
    (contract.Turn, "text"): (t.messages.c.text,),
    (contract.AIContext, "summary"): (t.handoffs.c.summary,),
    (schemas.ClaimBody, "agent_id"): (t.agents.c.id, t.handoffs.c.claimed_by, t.events.c.actor_id),
    (schemas.TransferBody, "to_queue"): (t.handoffs.c.queue,),
    (schemas.TransferBody, "to_agent"): (t.agents.c.id, t.handoffs.c.suggested_agent_id),
    (schemas.TransferBody, "note"): (t.events.c.reason,),
    (schemas.ReleaseBody, "reason"): (t.events.c.reason,),
    (schemas.ResolveBody, "outcome"): (t.handoffs.c.outcome,),
    (schemas.ResolveBody, "note"): (t.events.c.reason,),
    (schemas.NoteBody, "text"): (t.events.c.reason, t.messages.c.text),
    (schemas.AgentIn, "display_name"): (t.agents.c.display_name,),
    (schemas.AgentIn, "timezone"): (t.agents.c.timezone,),
    (schemas.AgentIn, "working_hours"): (t.agents.c.working_hours,),
    (MessageBody, "text"): (t.messages.c.text,),
    (CsatBody, "comment"): (t.csat_responses.c.comment,),
    (AgentConfig, "id"): (t.agents.c.id,),
    (AgentConfig, "display_name"): (t.agents.c.display_name,),
    (AgentConfig, "timezone"): (t.agents.c.timezone,),
    (AgentConfig, "working_hours"): (t.agents.c.working_hours,),
    (QueueConfig, "display_name"): (t.queues.c.display_name,),
    (QueueConfig, "lead"): (t.queues.c.lead,),
    (QueueConfig, "backup"): (t.handoffs.c.queue,),  # an SLA breach re-routes there
    (QueueConfig, "backup_agent"): (t.handoffs.c.suggested_agent_id,),
}
# Strings that live inside JSON columns or event data (no length limit in the store) or are not stored at all.
UNBOUNDED = {
    (contract.AIContext, "intent"), (contract.Technical, "browser"), (contract.Technical, "os"),
    (schemas.EscalateBody, "summary"), (schemas.EscalateBody, "hypothesis"), (schemas.EscalateBody, "customer_impact"),
    (schemas.ReasonBody, "reason"), (CallbackBody, "channel"), (CallbackBody, "contact"), (CallbackBody, "note"),
    (BatonConfig, "rules"), (QueueConfig, "supervisor"),  # named in breach events' data
}
# Fields whose value was already counted under another model (inherited or the same type).
SAME_AS = {
    (schemas.ReleaseBody, "agent_id"), (schemas.TransferBody, "agent_id"), (schemas.EscalateBody, "agent_id"),
    (schemas.ResolveBody, "agent_id"), (schemas.ReasonBody, "agent_id"), (schemas.AgentBody, "agent_id"),
    (schemas.NoteBody, "agent_id"), (contract.HandoffIn, "source"), (contract.HandoffIn, "conversation_id"),
}
MODELS: list[type[BaseModel]] = [
    contract.CustomerIn, contract.Turn, contract.AIContext, contract.TriggerIn, contract.Technical,
    contract.ConversationIn, contract.HandoffIn, schemas.ClaimBody, schemas.ReleaseBody, schemas.TransferBody,
    schemas.EscalateBody, schemas.ResolveBody, schemas.ReasonBody, schemas.AgentBody, schemas.NoteBody,
    schemas.AgentIn, MessageBody, CsatBody, CallbackBody, AgentConfig, QueueConfig, BatonConfig,
]


def _is_string(prop: dict[str, Any]) -> bool:
    return prop.get("type") == "string" or any(p.get("type") == "string" for p in prop.get("anyOf", ()))


def _string_fields(model: type[BaseModel]) -> list[str]:
    props = model.model_json_schema()["properties"]
    return [name for name, prop in props.items() if _is_string(prop) and "enum" not in prop and "$ref" not in prop
            and "format" not in prop and not any("enum" in p or "format" in p for p in prop.get("anyOf", ()))]


def _column_length(col: Column[Any]) -> int | None:
    if isinstance(col.type, Text) or not isinstance(col.type, String):
        return None
    return col.type.length


@pytest.mark.parametrize(("key", "columns"), list(STORED.items()),
                         ids=[f"{m.__name__}.{f}" for m, f in STORED])
def test_each_stored_field_fits_its_columns(key: tuple[type[BaseModel], str], columns: tuple[Column[Any], ...]) -> None:
    model, field = key
    api = contract.max_length(model, field)
    for col in columns:
        store = _column_length(col)
        if store is not None:
            assert api is not None, f"{model.__name__}.{field} has no max_length but {col} is varchar({store})"
            assert api <= store, f"{model.__name__}.{field} accepts {api} characters; {col} holds {store}"


def test_every_string_field_of_every_request_model_is_accounted_for() -> None:
    known = set(STORED) | UNBOUNDED | SAME_AS
    missing = [f"{m.__name__}.{f}" for m in MODELS for f in _string_fields(m) if (m, f) not in known]
    assert missing == [], f"say which column these fill (STORED) or that they are unbounded: {missing}"


def test_path_parameters_fit_their_columns() -> None:
    from app import build, create_app
    from tests.conftest import make_settings

    rt = build(make_settings("sqlite:///unused-never-opened.db"), with_log=False, integrations=[])
    spec = create_app(rt, run_dispatcher=False).openapi()
    param = next(p for p in spec["paths"]["/v1/agents/{agent_id}"]["put"]["parameters"] if p["name"] == "agent_id")
    assert param["schema"]["maxLength"] <= (_column_length(t.agents.c.id) or 0)


def test_queue_names_in_the_config_fit_the_queue_column() -> None:
    from handoff.config import ConfigError, parse_config

    with pytest.raises(ConfigError, match="queues"):
        parse_config({"queues": {"q" * 65: {}}})
    assert _column_length(t.queues.c.name) == 64
