"""Tests of the fake HubSpot server, driven through the real hubspot-api-client 12.0.0."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hubspot import Client
from hubspot.crm.associations.v4 import AssociationSpec, BatchInputPublicAssociationMultiPost
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    PublicObjectSearchRequest,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.contacts.exceptions import UnauthorizedException
from hubspot.crm.properties import PropertyCreate
from hubspot.crm.tickets import ApiException as TicketsApiException
from hubspot.crm.tickets import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
)
from hubspot.crm.tickets.exceptions import NotFoundException, ServiceException
from urllib3.util.retry import Retry

from tests.fakes.hubspot_api import FakeHubSpot
from tests.fakes.hubspot_contract import contract_validator

EPOCH = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    """A started fake; fails the test if the fake ever produced an off-contract reply or crashed."""
    with FakeHubSpot() as server:
        yield server
        assert server.contract_violations == []
        assert server.server_errors == []


@pytest.fixture
def client(fake: FakeHubSpot) -> Client:
    """The real client pointed at the fake."""
    return Client.create(access_token=fake.access_token, host=fake.base_url)


def _body(exc: Exception) -> dict[str, Any]:
    return json.loads(exc.body)  # type: ignore[attr-defined]


def _ticket(client: Client, subject: str, **extra: str) -> Any:
    props = {"subject": subject, "hs_pipeline": "0", "hs_pipeline_stage": "1", **extra}
    return client.crm.tickets.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(properties=props, associations=[])
    )


def _search(**kwargs: Any) -> PublicObjectSearchRequest:
    return PublicObjectSearchRequest(**kwargs)


def test_contact_create_get_search_update_round_trip(fake: FakeHubSpot, client: Client) -> None:
    created = client.crm.contacts.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"email": "Ada@Example.com", "firstname": "Ada", "lastname": "Lovelace"}, associations=[]
        )
    )
    assert created.id.isdigit() and created.properties["email"] == "ada@example.com"

    by_email = client.crm.contacts.basic_api.get_by_id("ada@example.com", id_property="email")
    assert by_email.id == created.id and by_email.properties["firstname"] == "Ada"

    found = client.crm.contacts.search_api.do_search(
        public_object_search_request=_search(
            filter_groups=[{"filters": [{"propertyName": "email", "operator": "EQ", "value": "ADA@example.com"}]}],
            properties=["email", "phone"],
            limit=1,
        )
    )
    assert found.total == 1 and found.results[0].id == created.id
    assert found.results[0].properties["phone"] is None

    client.crm.contacts.basic_api.update(
        created.id, simple_public_object_input=SimplePublicObjectInput(properties={"phone": "+1 555"})
    )
    assert fake.contacts[created.id].properties["phone"] == "+1 555"
    assert fake.calls_count("PATCH", f"/crm/v3/objects/contacts/{created.id}") == 1


def test_duplicate_email_is_409_conflict_with_existing_id(fake: FakeHubSpot, client: Client) -> None:
    existing = fake.add_contact("ada@example.com", "Ada", "Lovelace")
    with pytest.raises(ContactsApiException) as info:
        client.crm.contacts.basic_api.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
                properties={"email": "ADA@example.com"}
            )
        )
    assert info.value.status == 409
    body = _body(info.value)
    assert body["category"] == "CONFLICT" and body["message"] == f"Contact already exists. Existing ID: {existing.id}"
    assert not list(contract_validator("Error").iter_errors(body))


def test_numeric_property_value_is_rejected(client: Client, fake: FakeHubSpot) -> None:
    contact = fake.add_contact("n@example.com")
    with pytest.raises(ContactsApiException) as info:
        client.crm.contacts.basic_api.update(contact.id, simple_public_object_input={"properties": {"firstname": 42}})
    assert info.value.status == 400 and _body(info.value)["category"] == "VALIDATION_ERROR"


def test_unknown_property_until_created(fake: FakeHubSpot, client: Client) -> None:
    contact = fake.add_contact("p@example.com")
    update = SimplePublicObjectInput(properties={"total_escalations": "1"})
    with pytest.raises(ContactsApiException) as info:
        client.crm.contacts.basic_api.update(contact.id, simple_public_object_input=update)
    body = _body(info.value)
    assert info.value.status == 400 and body["errors"][0]["code"] == "PROPERTY_DOESNT_EXIST"
    assert "total_escalations" not in {p.name for p in client.crm.properties.core_api.get_all("contacts").results}

    spec = PropertyCreate(
        name="total_escalations",
        label="Total escalations",
        type="number",
        field_type="number",
        group_name="contactinformation",
    )
    assert client.crm.properties.core_api.create("contacts", property_create=spec).name == "total_escalations"
    with pytest.raises(Exception) as dup:
        client.crm.properties.core_api.create("contacts", property_create=spec)
    assert dup.value.status == 409  # type: ignore[attr-defined]

    client.crm.contacts.basic_api.update(contact.id, simple_public_object_input=update)
    assert fake.contacts[contact.id].properties["total_escalations"] == "1"
    assert client.crm.properties.core_api.get_by_name("contacts", "total_escalations").type == "number"


def test_ticket_create_with_associations_and_default_pipeline(fake: FakeHubSpot, client: Client) -> None:
    pipeline = client.crm.pipelines.pipelines_api.get_all("tickets").results[0]
    assert pipeline.id == "0" and [s.id for s in pipeline.stages] == ["1", "2", "3", "4"]
    assert pipeline.stages[-1].metadata["ticketState"] == "CLOSED"

    contact = fake.add_contact("t@example.com")
    ticket = client.crm.tickets.basic_api.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={
                "subject": "Refund",
                "content": "help",
                "hs_pipeline": "0",
                "hs_pipeline_stage": "1",
                "hs_ticket_priority": "HIGH",
            },
            associations=[
                {
                    "to": {"id": contact.id},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 16}],
                }
            ],
        )
    )
    assert fake.tickets[ticket.id].properties["subject"] == "Refund"
    assert fake.associated_ids("tickets", ticket.id, "contacts") == [contact.id]
    assert fake.associated_ids("contacts", contact.id, "tickets") == [ticket.id]
    got = client.crm.tickets.basic_api.get_by_id(ticket.id, associations=["contacts"])
    assert [a.id for a in got.associations["contacts"].results] == [contact.id]

    for bad in (
        {"subject": "no stage"},
        {"subject": "x", "hs_pipeline_stage": "99"},
        {"subject": "x", "hs_pipeline_stage": "1", "hs_ticket_priority": "MEH"},
    ):
        with pytest.raises(TicketsApiException) as info:
            client.crm.tickets.basic_api.create(
                simple_public_object_input_for_create=SimplePublicObjectInputForCreate(properties=bad)
            )
        assert info.value.status == 400, bad


def test_notes_need_hs_timestamp_and_associate_by_default_and_label(fake: FakeHubSpot, client: Client) -> None:
    ticket = _ticket(client, "Chat escalated")
    contact = fake.add_contact("note@example.com")
    notes = client.crm.objects.notes.basic_api
    with pytest.raises(Exception) as info:
        notes.create(
            simple_public_object_input_for_create=SimplePublicObjectInputForCreate(properties={"hs_note_body": "hi"})
        )
    assert info.value.status == 400 and "hs_timestamp" in _body(info.value)["message"]  # type: ignore[attr-defined]

    note = notes.create(
        simple_public_object_input_for_create=SimplePublicObjectInputForCreate(
            properties={"hs_note_body": "<p>Transcript</p>", "hs_timestamp": "2024-05-01T12:00:00Z"}
        )
    )
    assert fake.notes[note.id].properties["hs_timestamp"] == "2024-05-01T12:00:00.000Z"

    v4 = client.crm.associations.v4
    default = v4.basic_api.create_default("notes", note.id, "tickets", ticket.id)
    assert {(r._from.id, r.to.id) for r in default.results} >= {(note.id, ticket.id)}
    labeled = v4.basic_api.create(
        "note",
        note.id,
        "contact",
        contact.id,
        association_spec=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=202)],
    )
    assert labeled.to_object_id == contact.id and labeled.labels == []
    page = v4.basic_api.get_page("tickets", ticket.id, "notes")
    assert [str(r.to_object_id) for r in page.results] == [note.id]
    assert page.results[0].association_types[0].type_id == 227
    assert fake.associated_ids("notes", note.id, "contacts") == [contact.id]

    with pytest.raises(Exception) as wrong:
        v4.basic_api.create(
            "notes",
            note.id,
            "contacts",
            contact.id,
            association_spec=[AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=16)],
        )
    assert wrong.value.status == 400  # type: ignore[attr-defined]

    batch = v4.batch_api.create(
        "notes",
        "contacts",
        batch_input_public_association_multi_post=BatchInputPublicAssociationMultiPost(
            inputs=[
                {
                    "from": {"id": note.id},
                    "to": {"id": "999"},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
                }
            ]
        ),
    )
    assert batch.num_errors == 1 and fake.calls[-1].status == 207


def test_note_batch_create_requires_hs_timestamp(client: Client) -> None:
    batch = client.crm.objects.notes.batch_api
    with pytest.raises(Exception) as info:
        batch.create(
            batch_input_simple_public_object_batch_input_for_create={"inputs": [{"properties": {"hs_note_body": "x"}}]}
        )
    assert info.value.status == 400  # type: ignore[attr-defined]
    done = batch.create(
        batch_input_simple_public_object_batch_input_for_create={
            "inputs": [{"properties": {"hs_note_body": "x", "hs_timestamp": "1714564800000"}}]
        }
    )
    assert done.status == "COMPLETE" and len(done.results) == 1


def test_batches_create_update_read_upsert_and_partial_failure(fake: FakeHubSpot, client: Client) -> None:
    batch = client.crm.tickets.batch_api
    created = batch.create(
        batch_input_simple_public_object_batch_input_for_create=BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[{"properties": {"subject": f"T{i}", "hs_pipeline_stage": "1"}} for i in range(3)]
        )
    )
    ids = sorted(r.id for r in created.results)
    assert fake.calls[-1].status == 201 and len(fake.tickets) == 3

    updated = batch.update(
        batch_input_simple_public_object_batch_input=BatchInputSimplePublicObjectBatchInput(
            inputs=[
                {"id": ids[0], "properties": {"hs_pipeline_stage": "4"}},
                {"id": "424242", "properties": {"subject": "x"}},
            ]
        )
    )
    assert fake.calls[-1].status == 207 and updated.num_errors == 1
    assert updated.errors[0].category == "OBJECT_NOT_FOUND" and updated.errors[0].context == {"ids": ["424242"]}
    assert (
        fake.tickets[ids[0]].properties["hs_pipeline_stage"] == "4" and "closed_date" in fake.tickets[ids[0]].properties
    )

    read = batch.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[{"id": i} for i in ids], properties=["subject"], properties_with_history=[]
        )
    )
    assert sorted(r.properties["subject"] for r in read.results) == ["T0", "T1", "T2"]

    fake.add_contact("old@example.com", "Old")
    upsert = client.crm.contacts.batch_api.upsert(
        batch_input_simple_public_object_batch_input_upsert=BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                {"id": "old@example.com", "idProperty": "email", "properties": {"firstname": "Renewed"}},
                {"id": "new@example.com", "idProperty": "email", "properties": {"firstname": "New"}},
            ]
        )
    )
    assert sorted((r.properties["email"], r.new) for r in upsert.results) == [
        ("new@example.com", True),
        ("old@example.com", False),
    ]

    with pytest.raises(TicketsApiException) as too_big:
        batch.create(
            batch_input_simple_public_object_batch_input_for_create={"inputs": [{"properties": {"subject": "x"}}] * 101}
        )
    assert too_big.value.status == 400 and len(fake.tickets) == 3


def test_search_for_closed_tickets_since_a_watermark(fake: FakeHubSpot, client: Client) -> None:
    fake.set_time(EPOCH)
    first, second, third = (fake.add_ticket(f"T{i}") for i in range(3))
    fake.advance(60)
    watermark = fake.now_ms()
    fake.advance(60)
    fake.close_ticket(third.id)
    fake.advance(60)
    fake.close_ticket(first.id)

    request = _search(
        filter_groups=[
            {
                "filters": [
                    {"propertyName": "hs_pipeline_stage", "operator": "EQ", "value": "4"},
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(watermark)},
                ]
            }
        ],
        sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        properties=["subject", "hs_pipeline_stage"],
        limit=1,
    )
    page = client.crm.tickets.search_api.do_search(public_object_search_request=request)
    assert page.total == 2 and [r.id for r in page.results] == [third.id] and page.paging.next.after == "1"
    request.after = page.paging.next.after
    page2 = client.crm.tickets.search_api.do_search(public_object_search_request=request)
    assert [r.id for r in page2.results] == [first.id] and page2.paging is None
    assert second.id not in {r.id for r in page.results + page2.results}

    iso_gt = _search(
        filter_groups=[
            {
                "filters": [
                    {
                        "propertyName": "hs_lastmodifieddate",
                        "operator": "GT",
                        "value": (EPOCH + timedelta(seconds=150)).isoformat(),
                    }
                ]
            }
        ],
        sorts=["-hs_lastmodifieddate"],
    )
    assert [r.id for r in client.crm.tickets.search_api.do_search(public_object_search_request=iso_gt).results] == [
        first.id
    ]
    assert not list(
        contract_validator("CollectionResponseWithTotalSimplePublicObject").iter_errors(fake.calls[-1].response)
    )

    for bad in (
        _search(limit=201),
        _search(filter_groups=[{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]),
    ):
        with pytest.raises(TicketsApiException) as info:
            client.crm.tickets.search_api.do_search(public_object_search_request=bad)
        assert info.value.status == 400


def test_search_index_lag_is_simulated(fake: FakeHubSpot, client: Client) -> None:
    fake.set_time(EPOCH)
    fake.search_index_delay = 5
    fake.add_contact("lag@example.com")
    request = _search(
        filter_groups=[{"filters": [{"propertyName": "email", "operator": "EQ", "value": "lag@example.com"}]}]
    )
    assert client.crm.contacts.search_api.do_search(public_object_search_request=request).total == 0
    fake.advance(5)
    assert client.crm.contacts.search_api.do_search(public_object_search_request=request).total == 1


def test_account_context_via_company_association(fake: FakeHubSpot, client: Client) -> None:
    company = fake.add_company("Acme", "acme.com", properties={"industry": "SOFTWARE"})
    contact = fake.add_contact("ceo@acme.com", "Wile", "Coyote", company="Acme")
    got = client.crm.contacts.basic_api.get_by_id(contact.id, associations=["companies"])
    assert {a.id for a in got.associations["companies"].results} == {company.id}
    account = client.crm.companies.basic_api.get_by_id(company.id, properties=["name", "domain", "industry"])
    assert account.properties["domain"] == "acme.com" and account.properties["industry"] == "SOFTWARE"
    found = client.crm.companies.search_api.do_search(
        public_object_search_request=_search(
            filter_groups=[{"filters": [{"propertyName": "domain", "operator": "EQ", "value": "acme.com"}]}]
        )
    )
    assert [r.id for r in found.results] == [company.id]
    labels = [(a.type_id, a.label) for a in fake.associations("contacts", contact.id, "companies")]
    assert (1, "Primary") in labels and (279, None) in labels


def test_bad_token_is_401(fake: FakeHubSpot) -> None:
    wrong = Client.create(access_token="pat-wrong", host=fake.base_url)
    with pytest.raises(UnauthorizedException) as info:
        wrong.crm.contacts.basic_api.get_page()
    assert info.value.status == 401 and _body(info.value)["category"] == "INVALID_AUTHENTICATION"


def test_missing_ticket_is_404(client: Client) -> None:
    with pytest.raises(NotFoundException) as info:
        client.crm.tickets.basic_api.get_by_id("123")
    assert info.value.status == 404 and _body(info.value)["category"] == "OBJECT_NOT_FOUND"


def test_rate_limit_answers_429_with_retry_after(fake: FakeHubSpot, client: Client) -> None:
    fake.rate_limit(2)
    search = client.crm.contacts.search_api
    search.do_search(public_object_search_request=_search())
    search.do_search(public_object_search_request=_search())
    with pytest.raises(ContactsApiException) as info:  # POST: urllib3 never retries it on its own
        search.do_search(public_object_search_request=_search())
    exc = info.value
    assert exc.status == 429 and int(exc.headers["Retry-After"]) >= 1
    assert (
        exc.headers["X-HubSpot-RateLimit-Secondly"] == "2"
        and exc.headers["X-HubSpot-RateLimit-Secondly-Remaining"] == "0"
    )
    assert _body(exc)["policyName"] == "SECONDLY" and _body(exc)["category"] == "RATE_LIMITS"


def test_default_client_silently_retries_get_on_429_with_retry_after(fake: FakeHubSpot, client: Client) -> None:
    # hubspot-api-client passes retries=None to urllib3, whose default Retry(3) honours Retry-After for GETs.
    fake.fail_next("/crm/v3/objects/contacts", 429, retry_after=0)
    client.crm.contacts.basic_api.get_page()
    assert [c.status for c in fake.calls] == [429, 200]


def test_client_with_retry_policy_retries_injected_429(fake: FakeHubSpot) -> None:
    retry = Retry(
        total=3, status_forcelist=[429], allowed_methods=None, backoff_factor=0, respect_retry_after_header=True
    )
    client = Client.create(access_token=fake.access_token, host=fake.base_url, retry=retry)
    fake.fail_next("/crm/v3/objects/contacts/search", 429, retry_after=0, times=2)
    client.crm.contacts.search_api.do_search(public_object_search_request=_search())
    assert [c.status for c in fake.calls] == [429, 429, 200]


def test_failure_injection_outage_and_lost_response(fake: FakeHubSpot, client: Client) -> None:
    fake.fail_next("/crm/v3/objects/tickets", 502, method="POST")
    with pytest.raises(ServiceException):
        _ticket(client, "first try")
    assert fake.tickets == {}
    _ticket(client, "second try")

    fake.fail_next("/crm/v3/objects/tickets", 504, commit=True)
    with pytest.raises(ServiceException):
        _ticket(client, "lost response")
    assert sorted(t.properties["subject"] for t in fake.tickets.values()) == ["lost response", "second try"]

    fake.outage()
    with pytest.raises(ServiceException) as info:
        client.crm.tickets.basic_api.get_page()
    assert info.value.status == 503
    fake.end_outage()
    assert len(client.crm.tickets.basic_api.get_page().results) == 2

    fake.exhaust_daily_limit()
    with pytest.raises(TicketsApiException) as daily:
        client.crm.tickets.basic_api.get_page()
    assert daily.value.status == 429 and _body(daily.value)["policyName"] == "DAILY"


def test_every_reply_matches_the_contract(fake: FakeHubSpot, client: Client) -> None:
    contact = fake.add_contact("c@example.com")
    ticket = _ticket(client, "Contract")
    client.crm.tickets.basic_api.update(ticket.id, simple_public_object_input={"properties": {"content": "x"}})
    client.crm.tickets.basic_api.get_by_id(ticket.id)
    client.crm.associations.v4.basic_api.create_default("tickets", ticket.id, "contacts", contact.id)
    client.crm.associations.v4.basic_api.get_page("tickets", ticket.id, "contacts")
    with pytest.raises(NotFoundException):
        client.crm.tickets.basic_api.get_by_id("1")
    expected = {
        ("POST", "/crm/v3/objects/tickets", 201): "SimplePublicObject",
        ("PATCH", f"/crm/v3/objects/tickets/{ticket.id}", 200): "SimplePublicObject",
        ("GET", f"/crm/v3/objects/tickets/{ticket.id}", 200): "SimplePublicObjectWithAssociations",
        (
            "PUT",
            f"/crm/v4/objects/tickets/{ticket.id}/associations/default/contacts/{contact.id}",
            200,
        ): "BatchResponsePublicDefaultAssociation",
        (
            "GET",
            f"/crm/v4/objects/tickets/{ticket.id}/associations/contacts",
            200,
        ): "CollectionResponseMultiAssociatedObjectWithLabel",
        ("GET", "/crm/v3/objects/tickets/1", 404): "Error",
    }
    assert len(fake.calls) == len(expected)
    for call in fake.calls:
        schema = expected[(call.method, call.path, call.status)]
        assert not list(contract_validator(schema).iter_errors(call.response)), (schema, call.response)
    create_body = fake.calls[0].body
    assert not list(contract_validator("SimplePublicObjectInputForCreate").iter_errors(create_body))
