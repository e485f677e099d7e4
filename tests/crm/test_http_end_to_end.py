"""Through HTTP: the real app (lifespan starts the dispatcher and the CRM pollers), both CRMs at once."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from app import build, create_app
from integrations.hubspot.integration import hubspot_integration
from integrations.salesforce.integration import salesforce_integration
from tests.conftest import API_KEY, make_settings
from tests.crm.conftest import EMAIL, hs_env, sf_env
from tests.fakes.hubspot_api import FakeHubSpot
from tests.fakes.salesforce_api import FakeSalesforce
from tests.support.factories import intake_body
from tests.support.server import serve_in_thread


def wait_for(check: Callable[[], bool], seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def test_intake_over_http_reaches_both_crms_and_a_crm_close_resolves(
        db_url: str, sf: FakeSalesforce, hs: FakeHubSpot) -> None:
    settings = make_settings(db_url, CRM_POLL_SECONDS="0.2", **sf_env(sf), **hs_env(hs))
    rt = build(settings, integrations=[salesforce_integration, hubspot_integration], with_log=False)
    app = create_app(rt)
    with serve_in_thread(app) as base, httpx.Client(base_url=base, headers={"Authorization": f"Bearer {API_KEY}"},
                                                   timeout=10) as client:
        created = client.post("/v1/handoffs", json=intake_body(customer={"email": EMAIL}))
        assert created.status_code == 201
        hid = created.json()["id"]
        wait_for(lambda: sf.case_by_handoff(hid) is not None and any(
            t.properties.get("baton_handoff_id") == hid for t in hs.tickets.values()))
        ready = client.get("/readyz").json()
        assert "salesforce" in str(ready) and "hubspot" in str(ready)
        assert client.post(f"/v1/handoffs/{hid}/claim", json={"agent_id": "emma"}).status_code == 200
        wait_for(lambda: (sf.case_by_handoff(hid) or {}).get("Status") == "Working")
        sf.update_record("Case", sf.case_by_handoff(hid)["Id"], Status="Closed")  # type: ignore[index]
        wait_for(lambda: client.get(f"/v1/handoffs/{hid}").json()["status"] == "resolved")
        wait_for(lambda: next(t for t in hs.tickets.values()
                              if t.properties.get("baton_handoff_id") == hid).properties["hs_pipeline_stage"] == "4")
