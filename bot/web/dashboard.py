"""``/dashboard``: the support lead's page, never open to the world.

A browser signs in once with an API key (agent or admin scope) on ``/dashboard/login``; the key is exchanged
for a session cookie (:meth:`handoff.services.keys.ApiKeys.session`: signed, HttpOnly, SameSite=Strict, 12 hours,
void once the key is revoked). Scripts and tools may send ``Authorization: Bearer <key>`` instead. The page, its
data (``data.json``, ``data.csv``) and every asset are served from this process (``/static``: Chart.js is
vendored, no CDN), under a Content-Security-Policy that allows nothing else.
"""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Header, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.web import errors
from bot.web.analytics import From, GroupBy, To, to_csv
from bot.web.auth import KeyAuth
from handoff.auth import Principal, Scope
from handoff.errors import Unauthorized
from handoff.services.analytics import DASHBOARD_GROUPS, Analytics

STATIC = Path(__file__).resolve().parent / "static"
COOKIE = "baton_session"
SESSION = timedelta(hours=12)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


def install(app: FastAPI, analytics: Analytics, auth: KeyAuth) -> None:
    """Mount ``/static`` and the dashboard routes on ``app``."""
    keys = auth.keys

    async def principal(request: Request, authorization: str | None) -> Principal | None:
        if authorization:
            try:
                found = await auth.check_key(authorization)
            except Unauthorized:
                return None
        else:
            found = await keys.from_session(request.cookies.get(COOKIE))
        return found if found is not None and found.allows(Scope.AGENT) else None

    login_html = (STATIC / "dashboard" / "login.html").read_text(encoding="utf-8")  # read once, at start

    def login_page(message: str | None = None, status: int = 200) -> HTMLResponse:
        page = login_html
        if message:
            page = page.replace("<!--error-->", f'<p class="login-error" role="alert">{html.escape(message)}</p>')
        return HTMLResponse(page, status_code=status, headers=HEADERS)

    @app.get("/dashboard", include_in_schema=False)
    async def bare() -> RedirectResponse:
        return RedirectResponse("/dashboard/", status_code=308)

    @app.get("/dashboard/", include_in_schema=False)
    async def page(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
        if await principal(request, authorization) is None:
            return login_page()
        return FileResponse(STATIC / "dashboard" / "index.html", headers=HEADERS)

    @app.post("/dashboard/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=5)
        presented = (form.get("key") or [""])[0].strip()
        found = await keys.session(presented, SESSION) if presented and len(presented) <= 512 else None
        if found is None:
            return login_page("That key is unknown or revoked.", status=401)
        who, token = found
        if not who.allows(Scope.AGENT):
            return login_page(f"A key with scope '{who.scope.value}' cannot open the dashboard; use an agent or "
                              "admin key.", status=403)
        out = RedirectResponse("/dashboard/", status_code=303, headers=HEADERS)
        out.set_cookie(COOKIE, token, max_age=int(SESSION.total_seconds()), path="/dashboard", httponly=True,
                       samesite="strict", secure=request.url.scheme == "https")
        return out

    @app.post("/dashboard/logout", include_in_schema=False)
    async def logout() -> Response:
        out = RedirectResponse("/dashboard/", status_code=303, headers=HEADERS)
        out.delete_cookie(COOKIE, path="/dashboard")
        return out

    def refused() -> JSONResponse:
        return JSONResponse(errors.error_body("unauthorized", "sign in at /dashboard/ or send an API key"),
                            status_code=401, headers=HEADERS)

    @app.get("/dashboard/data.json", include_in_schema=False)
    async def data(request: Request, authorization: Annotated[str | None, Header()] = None,
                   start: From = None, end: To = None) -> Any:
        if await principal(request, authorization) is None:
            return refused()
        try:
            period = analytics.period(start, end)
        except ValueError as exc:
            return JSONResponse(errors.error_body("invalid_query", str(exc)), status_code=422, headers=HEADERS)
        return JSONResponse(await analytics.dashboard(period), headers=HEADERS)

    @app.get("/dashboard/data.csv", include_in_schema=False)
    async def data_csv(request: Request, authorization: Annotated[str | None, Header()] = None,
                       start: From = None, end: To = None, group_by: GroupBy = None) -> Response:
        if await principal(request, authorization) is None:
            return refused()
        try:
            groups = [g for g in (group_by or ",".join(DASHBOARD_GROUPS)).split(",") if g]
            report = await analytics.report(analytics.period(start, end), groups)
        except ValueError as exc:
            return JSONResponse(errors.error_body("invalid_query", str(exc)), status_code=422, headers=HEADERS)
        name = f"baton-dashboard-{report['period']['from'][:10]}.csv"
        return Response(to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
