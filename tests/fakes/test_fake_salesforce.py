"""Tests of the fake Salesforce org, driven through the real simple-salesforce 1.12."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from tests.fakes.salesforce_api import FakeSalesforce
from tests.fakes.salesforce_contract import conformance_dir, contract_validator

V = "/services/data/v59.0"


@pytest.fixture
def fake() -> Iterator[FakeSalesforce]:
    """An active fake; fails the test if it ever produced an off-contract reply."""
    with FakeSalesforce() as org:
        yield org
        assert org.contract_violations == []


@pytest.fixture
def sf(fake: FakeSalesforce) -> Salesforce:
    """simple-salesforce with a session id (the "direct" auth path)."""
    return Salesforce(instance_url="https://fake.my.salesforce.com", session_id=fake.session_id)


def _valid(def_name: str, body: Any) -> bool:
    return not list(contract_validator(def_name).iter_errors(body))


def _code(exc: Exception) -> str:
    return str(exc.content[0]["errorCode"])  # type: ignore[attr-defined]


def test_escaped_soql_finds_obrien_and_escaped_injection_finds_nothing(fake: FakeSalesforce, sf: Salesforce) -> None:
    obrien = fake.add_contact("o'brien@x.com", "O'Brien")
    fake.add_contact("someone@x.com", "Else")
    found = sf.query(format_soql("SELECT Id, Email FROM Contact WHERE Email = {} LIMIT 1", "o'brien@x.com"))
    assert [r["Id"] for r in found["records"]] == [obrien] and _valid("QueryResult", found)
    injected = sf.query(format_soql("SELECT Id FROM Contact WHERE Email = {}", "a' OR Email != '"))
    assert injected["totalSize"] == 0 and injected["records"] == []
    backslash = sf.query(format_soql("SELECT Id FROM Contact WHERE LastName = {}", "O'Brien\\"))
    assert backslash["totalSize"] == 0


def test_unescaped_soql_never_returns_all_rows(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.add_contact("a@x.com", "A")
    fake.add_contact("b@x.com", "B")
    payload = "a' OR Email != '"
    for soql in (
        f"SELECT Id FROM Contact WHERE Email = '{payload}'",
        f"SELECT Id FROM Contact WHERE Email = '{payload}' AND LastName = 'A'",
        "SELECT Id FROM Contact WHERE Email = 'x' OR Email LIKE '%'",
        "SELECT Id FROM Contact WHERE Email = 'o'brien@x.com'",
        "SELECT Id FROM Contact WHERE 'a' = 'a'",
        'SELECT Id FROM Contact WHERE Email = "a@x.com"',
        "SELECT Id FROM Contact WHERE Email = 'unterminated",
    ):
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query(soql)
        assert _code(info.value) == "MALFORMED_QUERY", soql


def test_soql_operators_relationships_ordering_and_types(fake: FakeSalesforce, sf: Salesforce) -> None:
    acme = fake.add_account("Acme")
    ada = fake.add_contact("ada@acme.com", "Lovelace", "Ada", account_id=acme)
    fake.add_contact("bob@else.com", "Builder")
    fake.add_case("Printer on fire", handoff_id="h-1", ContactId=ada, Priority="High")
    fake.add_case("Slow", handoff_id="h-2", Priority="Low")
    rows = sf.query("SELECT Id, Email, Account.Name FROM Contact WHERE Account.Name = 'acme' ORDER BY Email")["records"]
    assert [(r["Email"], r["Account"]["Name"]) for r in rows] == [("ada@acme.com", "Acme")]
    assert sf.query("SELECT Email FROM Contact WHERE Account.Name = null")["records"][0]["Email"] == "bob@else.com"
    assert [r["Email"] for r in sf.query("SELECT Email FROM Contact ORDER BY Email DESC LIMIT 1")["records"]] == [
        "bob@else.com"
    ]
    assert (
        sf.query("SELECT Id FROM Case WHERE Priority IN ('High','Medium') AND Subject LIKE 'print%'")["totalSize"] == 1
    )
    assert sf.query("SELECT Id FROM Case WHERE NOT (Priority = 'High')")["totalSize"] == 1
    assert (
        sf.query("SELECT Contact.Email FROM Case WHERE Baton_Handoff_Id__c = 'h-1'")["records"][0]["Contact"]["Email"]
        == "ada@acme.com"
    )
    assert sf.query("SELECT COUNT() FROM Case WHERE IsClosed = false") == {"totalSize": 2, "done": True, "records": []}
    since = datetime(2000, 1, 1, tzinfo=UTC)
    assert sf.query(format_soql("SELECT Id FROM Case WHERE CreatedDate > {}", since))["totalSize"] == 2
    assert sf.query("SELECT Id FROM Case WHERE CreatedDate = LAST_N_DAYS:1")["totalSize"] == 2
    for soql, code in (
        ("SELECT Id FROM Case WHERE CreatedDate > '2000-01-01T00:00:00Z'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Id FROM Case WHERE Id = 'not-an-id'", "INVALID_QUERY_FILTER_OPERATOR"),
        ("SELECT Nope__c FROM Case", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
        ("SELECT Id FROM Case WHERE Priority = 'High' AND Subject = 'x' OR Subject = 'y'", "MALFORMED_QUERY"),
    ):
        with pytest.raises(SalesforceMalformedRequest) as info:
            sf.query(soql)
        assert _code(info.value) == code, soql


def test_query_paging_follows_next_records_url() -> None:
    with FakeSalesforce(query_batch_size=2) as fake:
        for i in range(5):
            fake.add_case(f"Case {i}")
        sf = fake.client()
        first = sf.query("SELECT Id FROM Case")
        assert first["done"] is False and first["totalSize"] == 5 and first["nextRecordsUrl"].startswith(f"{V}/query/")
        assert len(sf.query_all("SELECT Id, Subject FROM Case ORDER BY Subject")["records"]) == 5


def test_case_create_get_update_delete_round_trip(fake: FakeSalesforce, sf: Salesforce) -> None:
    contact = fake.add_contact("c@x.com", "C")
    body = {
        "Subject": "Escalation",
        "Description": "Customer asked for a human",
        "Origin": "Web",
        "ContactId": contact,
        "Baton_Handoff_Id__c": "h-42",
    }
    assert _valid("CaseFields", body)
    saved = sf.Case.create(body)
    assert saved["success"] is True and saved["id"].startswith("500") and _valid("SaveResult", saved)
    case = sf.Case.get(saved["id"])
    assert case["Status"] == "New" and case["CaseNumber"] and case["attributes"]["type"] == "Case"
    assert sf.Case.update(saved["id"], {"Status": "Closed"}) == 204
    assert fake.cases[saved["id"]]["IsClosed"] is True and fake.cases[saved["id"]]["ClosedDate"]
    assert sf.Case.get(saved["id"][:15])["Id"] == saved["id"]
    comment = sf.CaseComment.create({"ParentId": saved["id"], "CommentBody": "Agent note", "IsPublished": False})
    assert [c["Id"] for c in fake.comments_for(saved["id"])] == [comment["id"]]
    post = sf.FeedItem.create({"ParentId": saved["id"], "Body": "Handed off by Baton"})
    assert fake.feed_items[post["id"]]["Type"] == "TextPost" and post["id"].startswith("0D5")
    assert sf.Case.delete(saved["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Case.get(saved["id"])
    assert sf.query_all(f"SELECT Id FROM Case WHERE Id = '{saved['id']}'", include_deleted=True)["totalSize"] == 1


def test_upsert_by_external_id_created_then_updated(fake: FakeSalesforce, sf: Salesforce) -> None:
    first = sf.Case.upsert("Baton_Handoff_Id__c/h-1", {"Subject": "Refund"}, raw_response=True)
    assert first.status_code == 201 and first.json()["created"] is True and _valid("UpsertResult", first.json())
    second = sf.Case.upsert("Baton_Handoff_Id__c/h-1", {"Subject": "Refund (updated)"}, raw_response=True)
    assert second.status_code == 200 and second.json()["created"] is False and second.json()["id"] == first.json()["id"]
    assert fake.case_by_handoff("h-1")["Subject"] == "Refund (updated)" and len(fake.cases) == 1
    assert sf.Case.get_by_custom_id("Baton_Handoff_Id__c", "h-1")["Id"] == first.json()["id"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Case.upsert("Subject/h-1", {"Subject": "x"})
    fake.add_field("Case", "Legacy_Id__c", external_id=True)  # external ids need not be unique
    fake.add_case("dup a", Legacy_Id__c="L1")
    fake.add_case("dup b", Legacy_Id__c="L1")
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Case.upsert("Legacy_Id__c/L1", {"Subject": "x"})


def test_write_validation_errors(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.add_case("taken", handoff_id="dup")
    cases: list[tuple[Any, dict[str, Any], str]] = [
        (sf.Contact, {"Email": "x@y.com"}, "REQUIRED_FIELD_MISSING"),
        (sf.Case, {"Subject": "x", "Bogus__c": "1"}, "INVALID_FIELD"),
        (sf.Case, {"Subject": "x", "CaseNumber": "1"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
        (sf.Case, {"Subject": "x" * 256}, "STRING_TOO_LONG"),
        (sf.Case, {"Subject": "x", "Status": "Bogus"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        (sf.Case, {"Subject": "x", "ContactId": "nope"}, "MALFORMED_ID"),
        (sf.Case, {"Subject": "x", "SuppliedEmail": "not-an-email"}, "INVALID_EMAIL_ADDRESS"),
        (sf.Case, {"Subject": "x", "IsEscalated": "yes"}, "JSON_PARSER_ERROR"),
        (sf.Case, {"Subject": "x", "Baton_Handoff_Id__c": "DUP"}, "DUPLICATE_VALUE"),
    ]
    for sobject, body, code in cases:
        with pytest.raises(SalesforceMalformedRequest) as info:
            sobject.create(body)
        assert _code(info.value) == code and _valid("ErrorList", info.value.content), body
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Case.update("500000000000000AAA", {"Subject": "x"})
    assert _code(missing.value) == "NOT_FOUND"


def test_sobject_collections_create_update_upsert_all_or_none(fake: FakeSalesforce, sf: Salesforce) -> None:
    request = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Case"}, "Subject": "a", "Baton_Handoff_Id__c": "h-a"},
            {"attributes": {"type": "Case"}, "Subject": "b", "Status": "Bogus"},
        ],
    }
    assert _valid("SObjectCollectionsWriteRequest", request)
    results = sf.restful("composite/sobjects", method="POST", json=request)
    assert [r["success"] for r in results] == [True, False] and _valid("SObjectCollectionsResult", results)
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"

    all_or_none = {
        "allOrNone": True,
        "records": [{"attributes": {"type": "Case"}, "Subject": "c"}, request["records"][1]],
    }
    rolled = sf.restful("composite/sobjects", method="POST", json=all_or_none)
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK" and len(fake.cases) == 1

    update = {"records": [{"attributes": {"type": "Case"}, "Id": results[0]["id"], "Status": "Working"}]}
    assert sf.restful("composite/sobjects", method="PATCH", json=update)[0]["success"] is True
    assert fake.cases[results[0]["id"]]["Status"] == "Working"

    upsert = {
        "records": [{"attributes": {"type": "Case"}, "Baton_Handoff_Id__c": h, "Subject": h} for h in ("h-a", "h-b")]
    }
    upserted = sf.restful("composite/sobjects/Case/Baton_Handoff_Id__c", method="PATCH", json=upsert)
    assert [r["created"] for r in upserted] == [False, True] and len(fake.cases) == 2

    too_many = {"records": [{"attributes": {"type": "Case"}, "Subject": str(i)} for i in range(201)]}
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.restful("composite/sobjects", method="POST", json=too_many)
    assert _code(info.value) == "EXCEEDED_ID_LIMIT" and len(fake.cases) == 2


def test_composite_references_limits_and_rollback(fake: FakeSalesforce, sf: Salesforce) -> None:
    request = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"{V}/sobjects/Case", "referenceId": "newCase", "body": {"Subject": "c"}},
            {
                "method": "POST",
                "url": f"{V}/sobjects/CaseComment",
                "referenceId": "note",
                "body": {"ParentId": "@{newCase.id}", "CommentBody": "transcript"},
            },
            {"method": "GET", "url": f"{V}/sobjects/Case/@{{newCase.id}}?fields=CaseNumber", "referenceId": "read"},
        ],
    }
    assert _valid("CompositeRequest", request)
    answer = sf.restful("composite", method="POST", json=request)
    assert _valid("CompositeResponse", answer)
    statuses = [r["httpStatusCode"] for r in answer["compositeResponse"]]
    assert statuses == [201, 201, 200] and answer["compositeResponse"][2]["body"]["CaseNumber"]
    assert len(fake.cases) == 1 and len(fake.case_comments) == 1

    request["compositeRequest"][1]["body"]["CommentBody"] = "x" * 4001
    failed = sf.restful("composite", method="POST", json=request)["compositeResponse"]
    assert [r["httpStatusCode"] for r in failed] == [400, 400, 400]
    assert (
        failed[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
        and failed[1]["body"][0]["errorCode"] == "STRING_TOO_LONG"
    )
    assert len(fake.cases) == 1 and len(fake.case_comments) == 1

    for bad in (
        {"compositeRequest": [{"method": "GET", "url": f"{V}/limits", "referenceId": "bad-ref"}]},
        {"compositeRequest": [{"method": "GET", "url": f"{V}/limits", "referenceId": f"r{i}"} for i in range(26)]},
    ):
        with pytest.raises(SalesforceMalformedRequest):
            sf.restful("composite", method="POST", json=bad)


def test_expired_session_and_daily_limit(fake: FakeSalesforce, sf: Salesforce) -> None:
    sf.query("SELECT Id FROM Case")
    assert sf.api_usage["api-usage"].used == 1 and sf.api_usage["api-usage"].total == 15000
    assert fake.calls[-1].status == 200 and sf.limits()["DailyApiRequests"]["Remaining"] == 15000 - 2
    fake.expire_session()
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT Id FROM Case")
    assert _code(expired.value) == "INVALID_SESSION_ID"
    fake.new_session()
    sf = fake.client()
    fake.exhaust_daily_limit()
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Case")
    assert refused.value.status == 403 and _code(refused.value) == "REQUEST_LIMIT_EXCEEDED"
    raw = requests.get(f"{fake.base_url}limits", headers={"Authorization": f"Bearer {sf.session_id}"}, timeout=5)
    assert raw.status_code == 403 and "Retry-After" not in raw.headers
    assert raw.headers["Sforce-Limit-Info"] == "api-usage=15000/15000"


def test_outage_and_injected_failures(fake: FakeSalesforce, sf: Salesforce) -> None:
    fake.outage()
    with pytest.raises(SalesforceGeneralError) as down:
        sf.query("SELECT Id FROM Case")
    assert down.value.status == 503
    fake.end_outage()
    fake.fail_next("sobjects/Case", 500, method="POST")
    with pytest.raises(SalesforceGeneralError):
        sf.Case.create({"Subject": "lost"})
    assert fake.cases == {}
    fake.fail_next("sobjects/Case", 502, method="POST", commit=True)
    with pytest.raises(SalesforceGeneralError):
        sf.Case.create({"Subject": "committed"})
    assert [c["Subject"] for c in fake.cases.values()] == ["committed"]
    assert fake.calls_count("POST", "sobjects/Case") == 2


def test_username_password_security_token_login_uses_soap_and_refreshes(fake: FakeSalesforce) -> None:
    sf = Salesforce(username="integration@baton.example", password="password123", security_token="SECURITYTOKEN")
    assert sf.sf_instance == "fake.my.salesforce.com" and fake.logins == ["integration@baton.example"]
    assert fake.calls[0].url == "https://login.salesforce.com/services/Soap/u/59.0"
    fake.add_case("after login")
    fake.expire_session()
    assert sf.query("SELECT Subject FROM Case")["records"][0]["Subject"] == "after login"
    assert len(fake.logins) == 2 and [c.status for c in fake.calls[-3:]] == [401, 200, 200]
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username="integration@baton.example", password="wrong", security_token="SECURITYTOKEN")
    assert info.value.code == "INVALID_LOGIN"
    sandbox = Salesforce(
        username="integration@baton.example", password="password123", security_token="SECURITYTOKEN", domain="test"
    )
    assert sandbox.sf_instance == "fake.my.salesforce.com"


def test_oauth_username_password_flow(fake: FakeSalesforce) -> None:
    fake.add_user("oauth@baton.example", "pw", "TOK")
    sf = Salesforce(
        username="oauth@baton.example",
        password="pwTOK",
        consumer_key="fake-consumer-key",
        consumer_secret="fake-consumer-secret",
    )
    assert sf.query("SELECT Id FROM Case")["totalSize"] == 0 and fake.logins == ["oauth@baton.example"]
    assert fake.calls[0].path == "/services/oauth2/token" and fake.calls[0].body == (
        "grant_type=password&client_id=fake-consumer-key&client_secret=fake-consumer-secret"
        "&username=oauth%40baton.example&password=pwTOK"
    )
    for key, secret, password, code in (
        ("nope", "x", "pwTOK", "invalid_client_id"),
        ("fake-consumer-key", "fake-consumer-secret", "pw", "invalid_grant"),
    ):
        with pytest.raises(SalesforceAuthenticationFailed) as info:
            Salesforce(username="oauth@baton.example", password=password, consumer_key=key, consumer_secret=secret)
        assert info.value.code == code


def _postman_templates() -> list[tuple[set[str], re.Pattern[str]]]:
    """(methods, path regex) per template; a description line like ``HEAD, GET, PATCH`` widens the methods."""
    folder = conformance_dir() / "salesforce" / "postman-salesforce-apis"
    templates = []
    for path in sorted(Path(folder).glob("*/*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        url = spec["url"].split("?")[0].replace("{{_endpoint}}", "").replace("{{url}}{{site}}", "")
        url = re.sub(r"<[A-Z_]+>", "[^/]+", url.replace("{{version}}", r"\d+\.\d")).rstrip("/")
        listed = re.findall(r"^([A-Z]+(?:, [A-Z]+)+)$", spec.get("description") or "", re.MULTILINE)
        methods = {spec["method"], *(m for line in listed for m in line.split(", "))}
        templates.append((methods, re.compile(f"^{url}/?$")))
    return templates


def test_recorded_calls_match_postman_templates(fake: FakeSalesforce, sf: Salesforce) -> None:
    case_id = sf.Case.create({"Subject": "postman"})["id"]
    sf.Case.get(case_id)
    sf.Case.update(case_id, {"Subject": "p2"})
    sf.Case.upsert("Baton_Handoff_Id__c/h-9", {"Subject": "p3"})
    sf.Case.describe()
    sf.query("SELECT Id FROM Case")
    sf.limits()
    sf.restful(
        "composite/sobjects", method="POST", json={"records": [{"attributes": {"type": "Case"}, "Subject": "c"}]}
    )
    sf.Case.delete(case_id)
    templates = _postman_templates()
    for call in fake.calls:
        assert any(call.method in m and p.match(call.path) for m, p in templates), (call.method, call.path)
