"""Domain errors → HTTP status, in one place. Bad input never becomes a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from handoff.errors import (
    ConcurrentUpdate,
    DomainError,
    Forbidden,
    IllegalTransition,
    InvalidCommand,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    StoreUnavailable,
    Unauthorized,
)

log = logging.getLogger("baton.web")

_STATUS: list[tuple[type[DomainError], int]] = [
    (NotFound, 404),
    (IllegalTransition, 409),
    (ConcurrentUpdate, 409),
    (InvalidCommand, 422),
    (PayloadTooLarge, 413),
    (Unauthorized, 401),
    (Forbidden, 403),
    (RateLimited, 429),
    (StoreUnavailable, 503),
]


def status_for(exc: DomainError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def headers_for(exc: DomainError) -> dict[str, str] | None:
    """The headers an error answer carries: how to authenticate, or when to come back."""
    if isinstance(exc, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, StoreUnavailable):
        return {"Retry-After": "5"}
    return None


def error_body(code: str, message: str, **extra: object) -> dict[str, object]:
    return {"error": code, "message": message, **extra}


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, details=exc.details), status_code=status_for(exc),
                            headers=headers_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(first["loc"][1:] if first["loc"][:1] == ["body"] else first["loc"])
        return JSONResponse(error_body("validation_error", f"{where}: {first['msg']}" if where else str(first["msg"]),
                                       errors=errors), status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(error_body("internal_error", "something went wrong on our side; nothing was lost"),
                            status_code=500)
