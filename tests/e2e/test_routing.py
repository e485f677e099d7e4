"""Routing and rules as the service applies them: suggestions, auto-assign, lead flags, safe reloads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app import ROOT, build, create_app, sync_agents
from tests.conftest import API_KEY, make_settings
from tests.support.factories import intake_body

AGENTS = """
queues:
  technical: {lead: lee}
  billing: {}
  accounts: {}
  sales: {}
  general: {}
agents:
  - {id: emma, display_name: Emma, tier: L2, skills: [technical, wordpress, api], capacity: 3, languages: [en]}
  - {id: raj, display_name: Raj, tier: L1, skills: [billing], capacity: 3, languages: [en, es]}
  - {id: lee, display_name: Lee, tier: L3, skills: [technical], capacity: 2, languages: [en], status: away}
"""


def _config(tmp_path: Path, mode: str) -> Path:
    rules = (ROOT / "config" / "rules.yaml").read_text().replace("mode: suggest", f"mode: {mode}")
    (tmp_path / "rules.yaml").write_text(rules)
    cfg = tmp_path / "baton.yaml"
    cfg.write_text(AGENTS + f"rules: {tmp_path / 'rules.yaml'}\n")
    return cfg


@pytest.fixture
async def api(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    mode = getattr(request, "param", "suggest")
    rt = build(make_settings(db_url, BATON_CONFIG=str(_config(tmp_path, mode))), with_log=False)
    await sync_agents(rt)
    transport = httpx.ASGITransport(app=create_app(rt, run_dispatcher=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://t",
                                 headers={"Authorization": f"Bearer {API_KEY}"}) as c:
        yield c, rt, tmp_path
    await rt.engine.dispose()


WP = intake_body(transcript=[
    {"role": "customer", "text": "The widget stopped loading after the WordPress update, console shows a CSP error"},
    {"role": "ai", "text": "Try clearing your cache.", "confidence": 0.55}],
    ai={"intent": "technical", "confidence": 0.55, "kb_hits": 0})


async def test_the_best_fitting_agent_is_suggested_with_its_reasons(api: Any) -> None:
    c, _, _ = api
    r = await c.post("/v1/handoffs", json=WP)
    assert r.status_code == 201
    rec = (await c.get(f"/v1/handoffs/{r.json()['id']}")).json()
    assert rec["queue"] == "technical" and rec["status"] == "queued"
    assert rec["suggested_agent_id"] == "emma"
    created = rec["timeline"][0]["data"]
    assert created["suggested_agent_id"] == "emma" and created["rules_version"] == rec["rules_version"]
    assert any(x["code"].startswith("routing") for x in rec["reasons"]), rec["reasons"]


@pytest.mark.parametrize("api", ["assign"], indirect=True)
async def test_assign_mode_gives_the_handoff_to_the_best_agent(api: Any) -> None:
    c, _, _ = api
    r = await c.post("/v1/handoffs", json=WP)
    body = r.json()
    rec = (await c.get(f"/v1/handoffs/{body['id']}")).json()
    assert rec["status"] == "claimed" and rec["claimed_by"] == "emma", rec["reasons"]
    claimed = rec["timeline"][1]
    assert claimed["kind"] == "claimed" and claimed["actor"] == "system"
    assert claimed["data"]["assigned_to"] == "emma" and "auto-assigned" in claimed["reason"]


async def test_an_invalid_rules_reload_is_refused_and_the_old_rules_stay(api: Any) -> None:
    c, rt, tmp = api
    before = rt.engine_rules.version
    rules_file = tmp / "rules.yaml"
    good = rules_file.read_text()
    rules_file.write_text(good.replace("threshold: 0.8", "threshold: 7"))
    r = await c.post("/v1/admin/rules/reload")
    assert r.status_code == 422 and "routing.threshold" in r.json()["message"]
    assert rt.engine_rules.version == before
    assert (await c.post("/v1/evaluate", json=WP)).json()["rules_version"] == before
    rules_file.write_text(good.replace("threshold: 0.8", "threshold: 0.75"))
    r = await c.post("/v1/admin/rules/reload")
    assert r.status_code == 200 and r.json()["rules_version"] != before
    assert (await c.post("/v1/evaluate", json=WP)).json()["rules_version"] == r.json()["rules_version"]


async def test_evaluate_creates_nothing_and_explains(api: Any) -> None:
    c, _, _ = api
    r = await c.post("/v1/evaluate", json={k: v for k, v in WP.items() if k != "trigger"})
    d = r.json()
    assert d["escalate"] is True and d["urgency"] == "immediate" and d["queue"] == "technical"
    assert d["why"] and d["reasons"] and "specialist" in d["suggested_customer_message"]
    calm = intake_body(transcript=[{"role": "customer", "text": "How do I change my avatar?"},
                                   {"role": "ai", "text": "Settings → Profile → Avatar.", "confidence": 0.95},
                                   {"role": "customer", "text": "Found it, thanks!"}],
                       ai={"intent": "general", "confidence": 0.95, "kb_hits": 2})
    d = (await c.post("/v1/evaluate", json=calm)).json()
    assert d["escalate"] is False and d["urgency"] == "none" and d["suggested_customer_message"] == ""
    assert (await c.get("/v1/handoffs")).json()["items"] == []
