"""The bare baseline: FastAPI + pydantic parsing the same intake body and echoing a small answer."""

from __future__ import annotations

from fastapi import FastAPI

from handoff.contract import HandoffIn

app = FastAPI()


@app.post("/v1/handoffs", status_code=201)
async def echo(body: HandoffIn) -> dict[str, object]:
    return {"id": body.conversation_id, "status": "queued", "transcript": len(body.transcript)}
