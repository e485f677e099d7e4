"""HubSpot end to end: the real hubspot-api-client against FakeHubSpot (local HTTP), the real dispatcher."""

from __future__ import annotations

from typing import Any

from tests.crm.lifecycle import create, dispatcher, drain, live, timeline_kinds
from tests.fakes.hubspot_api import FakeHubSpot


def notes_of(hs: FakeHubSpot, ticket_id: str) -> list[Any]:
    notes = [hs.notes[n] for n in hs.associated_ids("tickets", ticket_id, "notes")]
    return sorted(notes, key=lambda n: (n.properties["hs_timestamp"], event_id(n)))


def event_id(note: Any) -> int:
    return int(note.properties["baton_event_key"].split(":")[1])


async def test_one_lifecycle_makes_one_ticket_with_every_note_in_order(hs_rt: Any, hs: FakeHubSpot) -> None:
    rt = hs_rt
    d = dispatcher(rt)
    hid = await create(rt)
    await drain(d)
    await live(rt, hid, drain_between=d)
    await drain(d)
    tickets = [t for t in hs.tickets.values() if t.properties.get("baton_handoff_id") == hid]
    assert len(tickets) == 1
    ticket = tickets[0]
    assert ticket.properties["hs_pipeline_stage"] == "4" and ticket.properties["hs_ticket_priority"]
    contact = next(iter(hs.contacts.values()))
    assert hs.associated_ids("tickets", ticket.id, "contacts") == [contact.id]
    assert hs.associated_ids("tickets", ticket.id, "companies") == [next(iter(hs.companies))]
    notes = notes_of(hs, ticket.id)
    expected = await timeline_kinds(rt, hid)
    assert [event_id(n) for n in notes] == [i for i, _ in expected]
    assert len(hs.notes) == len(expected)
    assert all(hs.associated_ids("notes", n.id, "contacts") == [contact.id] for n in notes)
    assert "it&#39;s &lt;broken&gt; &amp; &#34;odd&#34;" in notes[4].properties["hs_note_body"]
    props = contact.properties
    assert props["total_escalations"] == "1" and props["avg_escalation_csat"] == "4.0"
    assert props["last_escalation_date"]
    view = await rt.queries.handoff(hid)
    assert view.customer.company == "Acme Ltd" and view.customer.account_value == 250000


async def test_a_batchs_bookkeeping_is_one_read_and_one_write(hs_rt: Any, hs: FakeHubSpot) -> None:
    """The sync's record of what it wrote (``external_refs``) costs a fixed number of statements per batch, not
    two per handoff: a long bookkeeping transaction was the longest open transaction of the 10,000-handoff run."""
    from tests.support.statements import statements

    rt = hs_rt
    d = dispatcher(rt)
    hids = [await create(rt) for _ in range(12)]
    with statements(rt.engine, touching="external_refs") as seen:
        await drain(d)
    tickets = {t.properties.get("baton_handoff_id") for t in hs.tickets.values()}
    assert set(hids) <= tickets
    writes = [s for s in seen if s == "INSERT"]
    assert 0 < len(writes) <= 6, seen  # per batch: contact refs (enrichment), pending marks, results
