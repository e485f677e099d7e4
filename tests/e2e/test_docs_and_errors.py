"""/docs works offline; the OpenAPI document names every error answer; 500 logs and DB errors carry no values."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from bot.web import errors

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_local_assets_and_each_answers(eclient: Any, page: str) -> None:
    r = await eclient.get(page, headers={"Authorization": ""})
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""", r.text)
    found = [a or b for a, b in urls]
    assert found, r.text
    assert all(u.startswith("/") and not u.startswith("//") for u in found), found
    assert "cdn" not in r.text.lower() and "https://" not in r.text
    for u in found:
        asset = await eclient.get(u, headers={"Authorization": ""})
        assert asset.status_code == 200 and len(asset.content) > 0, u


async def test_every_operation_documents_its_errors_with_the_one_schema(eclient: Any) -> None:
    spec = (await eclient.get("/openapi.json")).json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    ops = [(path, method, op) for path, item in spec["paths"].items() for method, op in item.items()]
    v1 = [(p, m, o) for p, m, o in ops if p.startswith("/v1")]
    assert len(v1) >= 20
    for path, method, op in v1:
        want = {"401", "404", "422", "429", "503"} | ({"409", "413", "415"} if "requestBody" in op else set())
        assert want <= set(op["responses"]), (method, path, sorted(op["responses"]))
        for code in want:
            assert op["responses"][code]["content"]["application/json"]["schema"] == ERROR_REF, (method, path, code)
    customer = {p for p, _, _ in v1 if re.search(r"/(status|messages|csat|callback)$", p)}
    assert len(customer) == 4


async def test_the_contract_publishes_patterns_and_strict_types(eclient: Any) -> None:
    schemas = (await eclient.get("/openapi.json")).json()["components"]["schemas"]
    email = schemas["CustomerIn"]["properties"]["email"]["anyOf"][0]
    assert email["pattern"].startswith("^$|") and email["maxLength"] == 320
    assert re.fullmatch(email["pattern"], "sarah@techcompany.com") and not re.fullmatch(email["pattern"], "nope")
    assert schemas["AIContext"]["properties"]["kb_hits"]["anyOf"][0]["type"] == "integer"
    assert schemas["EscalateBody"]["properties"]["warm"]["type"] == "boolean"
    assert schemas["CustomerIn"]["properties"]["locale"]["maxLength"] == 35
    assert "warnings" in schemas["IntakeOut"]["properties"]
    assert "Intake decisions" in (await eclient.get("/openapi.json")).json()["info"]["description"]


async def test_an_unexpected_error_logs_types_and_places_never_messages(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    errors.install(app)
    email, params = "-".join(["sarah", "techcompany"]), "|".join(["Sarah Chen", "transcript text"])

    @app.get("/boom")
    async def boom() -> None:
        try:
            raise KeyError(email)  # the source line is logged; the value is not
        except KeyError as exc:
            raise RuntimeError(params) from exc

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        with caplog.at_level(logging.ERROR, logger="baton.web"):
            r = await c.get("/boom")
    assert r.status_code == 500 and r.json()["error"] == "internal_error"
    text = caplog.text
    assert "builtins.RuntimeError" in text and "builtins.KeyError" in text and "in boom" in text
    assert email not in text and "Sarah Chen" not in text and "transcript text" not in text


async def test_database_errors_never_carry_bound_parameters(db_url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from handoff.store.db import create_engine

    engine = create_engine(db_url)
    secret = "sarah.secret@techcompany.com"
    try:
        with pytest.raises(DBAPIError) as caught:
            async with engine.begin() as conn:
                # On both backends: a NOT NULL column left empty, with the secret bound alongside.
                await conn.execute(text("INSERT INTO customers (id, email, created_at, updated_at) "
                                        "VALUES (:id, :email, NULL, NULL)"), {"id": "cu_x", "email": secret})
    finally:
        await engine.dispose()
    message = str(caught.value)
    assert secret not in message and "hidden" in message
