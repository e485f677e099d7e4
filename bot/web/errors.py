"""Every error answer of the HTTP edge, in one place and one shape: ``{"error": code, "message": ..., ...}``.

Domain errors map to their status; malformed requests (not JSON, wrong ``Content-Type``, an unknown route or
method) are named plainly; anything unexpected is a 500 whose log names the exception types and code
locations but never their messages — a database driver's message can carry the bound values of a statement.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic_core import PydanticUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from bot.web.schemas import ErrorOut
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
JSON_TYPES = ("application/json",)


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


def _is_json(content_type: str | None) -> bool:
    main = (content_type or "").split(";")[0].strip().lower()
    return main in JSON_TYPES or (main.startswith("application/") and main.endswith("+json"))


def _line_col(doc: object, pos: int) -> str:
    if not isinstance(doc, str):
        return f"at character {pos}"
    line = doc.count("\n", 0, pos) + 1
    col = pos - (doc.rfind("\n", 0, pos) + 1) + 1
    return f"at line {line}, column {col}"


def validation_response(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming the first bad field; 415 when the body was not sent as JSON; a plain sentence for bad JSON."""
    raw = exc.errors()
    first_raw = raw[0] if raw else {}
    if first_raw.get("type") == "json_invalid":
        loc = first_raw.get("loc", ())
        pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else 0
        reason = (first_raw.get("ctx") or {}).get("error", "malformed")
        return JSONResponse(error_body("invalid_json", f"request body is not valid JSON: {reason} "
                                                       f"{_line_col(exc.body, pos)}"), status_code=422)
    whole_body = [e for e in raw if tuple(e.get("loc", ())) == ("body",)]
    if whole_body:
        content_type = request.headers.get("content-type")
        sent = exc.body is not PydanticUndefined and exc.body not in (None, b"", "")
        if sent and not _is_json(content_type):
            got = f"got {content_type!r}" if content_type else "no Content-Type header was sent"
            return JSONResponse(error_body("unsupported_media_type",
                                           f"send the body as JSON with 'Content-Type: application/json' ({got})"),
                                status_code=415)
        if not sent:
            return JSONResponse(error_body("validation_error",
                                           "the request needs a JSON body ('Content-Type: application/json'); "
                                           "send {} when no field applies"), status_code=422)
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")).removeprefix("Value error, "),
         "type": e.get("type", "")}
        for e in raw
    ]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"][1:] if first["loc"][:1] == ["body"] else first["loc"])
    if whole_body and first["loc"] == ["body"]:
        first = {**first, "msg": f"the body must be a JSON object ({first['msg']})"}
    return JSONResponse(error_body("validation_error", f"{where}: {first['msg']}" if where else str(first["msg"]),
                                   errors=errors), status_code=422)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path (routers share paths: GET and POST /v1/handoffs)."""
    routes = request.app.router.routes
    base = {"type": "http", "path": request.scope["path"], "root_path": request.scope.get("root_path", ""),
            "headers": [], "query_string": b""}
    found = [m for m in _METHODS if any(r.matches({**base, "method": m})[0] is Match.FULL for r in routes)]
    return [*found, "OPTIONS"] if found else []


def http_error_response(request: Request, exc: StarletteHTTPException) -> Response:
    """404 and 405 from the router, in the error shape; ``OPTIONS`` lists the methods the path really has."""
    if exc.status_code == 405:
        allow = ", ".join(allowed_methods(request))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        return JSONResponse(error_body("method_not_allowed", f"{request.method} is not served at {request.url.path};"
                                                             f" this path answers {allow}"),
                            status_code=405, headers={"Allow": allow})
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI's "There was an error parsing the body": JSON must be UTF-8 text.
        return JSONResponse(error_body("invalid_json", "request body is not valid JSON: it is not UTF-8 text"),
                            status_code=422)
    if exc.status_code == 404:
        return JSONResponse(error_body("not_found", f"no route {request.method} {request.url.path}; "
                                                    "the API is described at /docs"), status_code=404)
    detail = exc.detail if isinstance(exc.detail, str) else "the request was refused"
    return JSONResponse(error_body(f"http_{exc.status_code}", detail), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


def describe_without_values(exc: BaseException) -> str:
    """The exception chain as types and code locations only: no message, no arguments, no SQL parameters."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        parts.append(f"{kind.__module__}.{kind.__qualname__} (message withheld)\n")
        parts.extend(traceback.format_list(traceback.extract_tb(current.__traceback__)))
        current = current.__cause__ or current.__context__
    return "".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message, details=exc.details), status_code=status_for(exc),
                            headers=headers_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return http_error_response(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        route = getattr(request.scope.get("route"), "path", "?")
        log.error("unhandled error in %s %s\n%s", request.method, route, describe_without_values(exc))
        return JSONResponse(error_body("internal_error", "something went wrong on our side; nothing was lost"),
                            status_code=500)

    document_errors(app)


# ------------------------------------------------------------------------------------------------- OpenAPI

_ERROR_DOCS: dict[int, str] = {
    401: "no or unknown API key (or customer token)",
    404: "no such handoff, agent or route",
    409: "the action does not apply in the handoff's current state (the reason is named)",
    413: "the body or a transcript is over a configured limit",
    415: "the body was not sent as 'Content-Type: application/json'",
    422: "a field, path or query parameter is invalid (each problem named); nothing was written",
    429: "too many requests; retry after the Retry-After seconds",
    503: "the database is unreachable; nothing was written, retry after Retry-After",
}
_WITH_BODY_ONLY = {409, 413, 415}


def document_errors(app: FastAPI) -> None:
    """Document the error answers on every operation, with the one error schema (``ErrorOut``)."""
    generate = app.openapi  # FastAPI's own generator; it caches into app.openapi_schema, patched once below

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorOut"] = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        ref = {"$ref": "#/components/schemas/ErrorOut"}
        for path, item in schema.get("paths", {}).items():
            for op in item.values():
                responses = op.setdefault("responses", {})
                has_body = "requestBody" in op
                for status, text in _ERROR_DOCS.items():
                    if (status in _WITH_BODY_ONLY and not has_body) or (status != 422 and not path.startswith("/v1")):
                        continue
                    key = str(status)
                    if key == "422" or key not in responses:
                        responses[key] = {"description": text, "content": {"application/json": {"schema": ref}}}
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
