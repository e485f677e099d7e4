"""The customer's words, without a database: team names per locale, the agent's name, the quote, who is on shift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from handoff.config import parse_config
from handoff.eta import CustomerWait, TeamPresence, WaitEstimate, customer_wait, team_presence, wait_facts
from handoff.eta.estimator import HORIZON_S
from handoff.models import Actor, Agent, AgentStatus, Event, EventKind, Handoff, Priority, Status, Surface, Tier
from handoff.services.customer import public_names
from handoff.shifts import Shift, current_or_next_shift, next_shift_start, within_hours
from handoff.updates import MessageContext, excerpt, message_for
from templates import Renderer
from templates.customer import QueueLabels, customer_text, text_for

T0 = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # a Tuesday, 04:00 in Madrid


def handoff(queue: str = "sales", locale: str = "es") -> Handoff:
    return Handoff(id="ho_1", source="widget", conversation_id="c1", customer_id="cu_1", status=Status.QUEUED,
                   priority=Priority.MEDIUM, queue=queue, topic=queue, tier=Tier.L1, trigger_reason="x",
                   created_at=T0, updated_at=T0, sla_due_at=T0 + timedelta(hours=1), customer_token="t" * 43,
                   locale=locale)


def render(template: str, locale: str, labels: QueueLabels, **facts: object) -> str:
    base = {"name": "Ana", "position": 2, **wait_facts(None)}
    return customer_text(Renderer(), labels, template, locale, {**base, **facts})


# ------------------------------------------------------------------------------------------------ queue labels


def test_default_queues_are_named_in_the_customers_language() -> None:
    labels = QueueLabels(parse_config({}).queues)  # the five default queues, no display names
    es = render("escalated", "es-MX", labels, queue="sales")
    assert "un especialista de Ventas" in es and "sales" not in es  # was: "un especialista de sales"
    assert "Facturación" in render("wait_update", "es", labels, queue="billing")
    en = render("escalated", "en", labels, queue="accounts")
    assert "connecting you with an Accounts specialist" in en  # and the article fits the name
    assert labels.label("technical", "es") == "Soporte técnico" and labels.label("general", "en") == "Support"


def test_configured_labels_win_and_a_renamed_queue_keeps_its_own_name() -> None:
    cfg = parse_config({"queues": {
        "billing": {"display_name": "Payments & Refunds", "labels": {"es": "Pagos y reembolsos"}},
        "sales": {"display_name": "Plans & Pricing"},  # renamed, no translation given
        "general": {"display_name": "general"},  # still the default name: the built-in translation applies
    }})
    labels = QueueLabels(cfg.queues)
    assert labels.label("billing", "es") == "Pagos y reembolsos" and labels.label("billing", "en") == \
        "Payments & Refunds"
    assert labels.label("sales", "es") == "Plans & Pricing"  # never the translation of another name ("Ventas")
    assert labels.label("general", "es") == "Atención al cliente"
    assert labels.label("vip-desk", "es") == "vip-desk"  # unknown queue: its id


def test_a_bad_label_locale_is_refused_with_the_key_named() -> None:
    from handoff.config import ConfigError

    with pytest.raises(ConfigError, match=r"queues\.billing\.labels"):
        parse_config({"queues": {"billing": {"labels": {"not a locale": "x"}}}})


def test_the_team_name_is_in_the_language_the_text_is_written_in() -> None:
    labels = QueueLabels(parse_config({}).queues)
    french = render("escalated", "fr", labels, queue="billing")  # no French templates: all English, team too
    assert "a Billing specialist" in french and "Facturation" not in french


# ------------------------------------------------------------------------------------------------ the agent


def intro(agents: list[Agent], about: str | None, locale: str = "en") -> str:
    ctx = MessageContext(handoff("billing", locale), "Ana Ruiz", public_names(agents), about)
    msg = message_for(Event("ho_1", EventKind.CLAIMED, Actor.agent(agents[0].id), Surface.SLACK, T0,
                            data={"queue": "billing"}), ctx)
    assert msg is not None
    return text_for(Renderer(), msg, locale, QueueLabels())


def test_the_introduction_uses_the_display_name_never_a_raw_id() -> None:
    assert intro([Agent(id="U0EMMA", display_name="Emma Stone")], None).startswith("Hi Ana, I'm Emma Stone from")
    raw = intro([Agent(id="U0EMMA", display_name="U0EMMA")], None)  # registered on first use from Slack
    assert "U0EMMA" not in raw and raw.startswith("Hi Ana, I'm a specialist from Billing")
    es = intro([Agent(id="U0EMMA", display_name="U0EMMA")], None, "es")
    assert "U0EMMA" not in es and es.startswith("Hola Ana, soy un especialista del equipo de Facturación")
    assert Agent(id="emma", display_name="Emma").public_name == "Emma"


def test_the_quote_of_the_first_message_ends_at_a_word() -> None:
    first = ("My invoice for November shows the annual plan charged twice and the refund I was promised "
             "never arrived")
    quote = excerpt(first)
    assert quote is not None and quote.endswith("…") and len(quote) <= 80
    assert first.startswith(quote[:-1]) and first[len(quote) - 1] == " "  # cut just before a space: a whole word
    text = intro([Agent(id="emma", display_name="Emma")], quote)
    assert f"“{quote}”" in text and "promis…" not in text
    assert excerpt("  short\n question ") == "short question"
    assert excerpt("x" * 200) == "x" * 79 + "…"  # one endless word (a URL): no boundary to find
    assert excerpt(None) is None and excerpt("   ") is None


# ------------------------------------------------------------------------------------------------ on shift


def agent(aid: str = "emma", hours: str | None = "09:00-17:00", status: AgentStatus = AgentStatus.AVAILABLE,
          skills: tuple[str, ...] = ("billing",), tz: str | None = "Europe/Madrid") -> Agent:
    return Agent(id=aid, display_name=aid.title(), skills=skills, status=status, working_hours=hours, timezone=tz)


def test_outside_working_hours_nobody_is_on_shift_and_the_next_start_is_known() -> None:
    p = team_presence([agent(), agent("raj", "10:00-18:00")], "billing", T0)
    assert p == TeamPresence(0, datetime(2026, 11, 24, 8, 0, tzinfo=UTC))  # 09:00 Madrid, the earlier of the two
    assert team_presence([agent()], "billing", T0 + timedelta(hours=6)).on_shift == 1  # 10:00 Madrid


def test_offline_inside_hours_waits_for_the_next_shift_and_other_queues_do_not_count() -> None:
    noon = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    p = team_presence([agent(status=AgentStatus.OFFLINE), agent("lee", skills=("technical",))], "billing", noon)
    assert p == TeamPresence(0, datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    assert team_presence([agent(status=AgentStatus.AWAY)], "billing", noon).on_shift == 1  # away: back soon
    assert team_presence([agent(hours=None, status=AgentStatus.OFFLINE)], "billing", noon) == TeamPresence(0)
    assert team_presence([agent(hours=None)], "billing", noon).on_shift == 1  # no schedule: status decides


def test_queue_business_hours_plug_in_as_openings() -> None:
    noon = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    closed = [Shift(datetime(2026, 11, 24, 14, 0, tzinfo=UTC), datetime(2026, 11, 24, 15, 0, tzinfo=UTC))]
    p = team_presence([agent()], "billing", noon, openings=closed)
    assert p == TeamPresence(0, datetime(2026, 11, 24, 14, 0, tzinfo=UTC))


def test_shifts_overnight_and_to_midnight() -> None:
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    night = current_or_next_shift("22:00-06:00", "UTC", late)
    assert night is not None and night.starts_at <= late < night.ends_at
    assert night.ends_at == datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert within_hours("22:00-06:00", "UTC", late) is True and within_hours("09:00-24:00", "UTC", late) is True
    nxt = next_shift_start("22:00-06:00", "UTC", late)
    assert nxt is not None and nxt.starts_at == datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
    assert current_or_next_shift("25:00-26:00", "UTC", late) is None and within_hours("x", "UTC", late) is None
    assert current_or_next_shift("09:00-17:00", "Mars/Olympus", late) is None


# ------------------------------------------------------------------------------------------------ the one value


def test_only_an_honest_number_is_given() -> None:
    ok = customer_wait(WaitEstimate(300, 200, 420, "medium", False, ""), TeamPresence(2), T0)
    assert ok is not None and (ok.state, ok.seconds, ok.low, ok.high) == ("estimate", 300, 200, 420)
    wide = customer_wait(WaitEstimate(900, 60, 3000, "low", True, ""), TeamPresence(1), T0)
    assert wide is not None and (wide.state, wide.seconds) == ("longer_than_usual", None)
    horizon = customer_wait(WaitEstimate(HORIZON_S, HORIZON_S, HORIZON_S, "low", False, ""), TeamPresence(1), T0)
    assert horizon is not None and horizon.seconds is None  # 14,400 s is "no idea", never a number
    nobody = customer_wait(WaitEstimate(600, 300, 900, "medium", False, ""), TeamPresence(0), T0)
    assert nobody is not None and nobody.state == "nobody_on_shift" and nobody.seconds is None
    assert customer_wait(None, TeamPresence(1), T0) is None


def test_back_at_is_told_in_the_customers_zone_with_the_right_day() -> None:
    at, back = datetime(2026, 11, 24, 23, 30, tzinfo=UTC), datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    est = WaitEstimate(HORIZON_S, HORIZON_S, HORIZON_S, "low", True, "")
    utc = wait_facts(customer_wait(est, TeamPresence(0, back), at, None))
    assert (utc["back_day"], utc["back_time"], utc["back_zone"]) == ("tomorrow", "08:00", "UTC")
    tokyo = wait_facts(customer_wait(est, TeamPresence(0, back), at, "Asia/Tokyo"))
    assert (tokyo["back_day"], tokyo["back_time"], tokyo["back_zone"]) == ("today", "17:00", "Asia/Tokyo")
    bogus = customer_wait(est, TeamPresence(0, back), at, "Not/AZone")
    assert bogus is not None and bogus.zone == "UTC"
    friday = wait_facts(CustomerWait("nobody_on_shift", None, None, None, "low", at,
                                     datetime(2026, 11, 27, 8, 0, tzinfo=UTC)))
    labels = QueueLabels()
    assert "we're back on Friday at 08:00 UTC" in render("wait_update", "en", labels, queue="billing", **friday)
    assert "volvemos el viernes a las 08:00 (UTC)" in render("wait_update", "es", labels, queue="billing", **friday)


def test_an_update_stored_before_the_wait_state_existed_still_reads_right() -> None:
    labels = QueueLabels()
    old = {"wait_seconds": 14400, "longer_than_usual": True}  # the facts an older build stored
    text = render("wait_update", "en", labels, queue="billing", **old)
    assert "longer than usual" in text and "14400" not in text


def test_duck_typed_queue_config_is_enough() -> None:
    labels = QueueLabels({"billing": SimpleNamespace(display_name=None, labels={"es_MX": "Cobros"})})
    assert labels.label("billing", "es-mx") == "Cobros" and labels.label("billing", "es") == "Facturación"
