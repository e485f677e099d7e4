"""Login endpoints of the fake org and session bookkeeping.

simple-salesforce 1.12 logs in with ``username/password/security_token`` through the SOAP
partner API (``POST https://{domain}.salesforce.com/services/Soap/u/{version}``, answer parsed for
``sessionId``/``serverUrl``, faults for ``sf:exceptionCode``), and with ``consumer_key/consumer_secret``
through the OAuth 2.0 username-password flow (``POST .../services/oauth2/token``). Both are faked.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.salesforce_org import Org

_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {message}</faultstring>
<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>
<sf:exceptionMessage>{message}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>
</soapenv:Envelope>"""

_LOGIN_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><loginResponse><result>
<metadataServerUrl>{instance}/services/Soap/m/{version}/{org_id}</metadataServerUrl>
<passwordExpired>false</passwordExpired><sandbox>false</sandbox>
<serverUrl>{instance}/services/Soap/u/{version}/{org_id}</serverUrl>
<sessionId>{session}</sessionId><userId>{user_id}</userId>
<userInfo><organizationId>{org_id}</organizationId><userEmail>{username}</userEmail>
<userFullName>{username}</userFullName><userId>{user_id}</userId><userName>{username}</userName></userInfo>
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""

_BAD_LOGIN = "Invalid username, password, security token; or user locked out."


@dataclass
class SfUser:
    """A user who can log in."""

    username: str
    password: str
    security_token: str
    user_id: str


class AuthService:
    """Users, connected apps and live session ids of the fake org."""

    def __init__(self, org: Org, instance_url: str, version: str, session_id: str) -> None:
        self.org = org
        self.instance_url = instance_url
        self.version = version
        self.users: dict[str, SfUser] = {}
        self.connected_apps: dict[str, str] = {"fake-consumer-key": "fake-consumer-secret"}
        self.sessions: set[str] = {session_id}
        self.logins: list[str] = []
        self._serial = itertools.count(1)

    def add_user(self, username: str, password: str, security_token: str, user_id: str) -> SfUser:
        """Register a login."""
        user = SfUser(username, password, security_token, user_id)
        self.users[username.lower()] = user
        return user

    def new_session(self) -> str:
        """Issue and remember a fresh session id (``00D...!AQ...``)."""
        session = f"{self.org.org_id[:15]}!AQ{next(self._serial):04d}.{secrets.token_urlsafe(24)}"
        self.sessions.add(session)
        return session

    def authorized(self, headers: dict[str, str]) -> bool:
        """True when the ``Authorization: Bearer|OAuth <session>`` header names a live session."""
        value = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, token = value.partition(" ")
        return scheme in ("Bearer", "OAuth") and token in self.sessions

    def _check(self, username: str, secret: str) -> SfUser | None:
        user = self.users.get(username.lower())
        if user is None:
            return None
        accepted = {user.password + user.security_token} | ({user.password} if not user.security_token else set())
        return user if secret in accepted else None

    def soap_login(self, body: str) -> tuple[int, dict[str, str], str]:
        """``POST /services/Soap/u/{version}``: a partner-API ``login`` call."""
        headers = {"Content-Type": "text/xml; charset=utf-8"}
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return 500, headers, _FAULT.format(code="INVALID_LOGIN", message="Malformed SOAP request")
        values = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in root.iter()}
        user = self._check(values.get("username", ""), values.get("password", ""))
        if user is None:
            return 500, headers, _FAULT.format(code="INVALID_LOGIN", message=escape(_BAD_LOGIN))
        self.logins.append(user.username)
        return (
            200,
            headers,
            _LOGIN_OK.format(
                instance=self.instance_url,
                version=self.version,
                org_id=self.org.org_id[:15],
                session=escape(self.new_session()),
                user_id=user.user_id[:15],
                username=escape(user.username),
            ),
        )

    def oauth_token(self, body: str, headers: dict[str, str]) -> tuple[int, dict[str, str], str]:
        """``POST /services/oauth2/token``: username-password and client-credentials flows."""
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
        json_headers = {"Content-Type": "application/json;charset=UTF-8"}

        def fail(error: str, description: str) -> tuple[int, dict[str, str], str]:
            return 400, json_headers, json.dumps({"error": error, "error_description": description})

        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if auth.startswith("Basic "):
            client_id, _, client_secret = base64.b64decode(auth[6:]).decode().partition(":")
        grant = form.get("grant_type")
        if grant not in ("password", "client_credentials"):
            return fail("unsupported_grant_type", "grant type not supported")
        if client_id not in self.connected_apps:
            return fail("invalid_client_id", "client identifier invalid")
        if self.connected_apps[client_id] != client_secret:
            return fail("invalid_client", "invalid client credentials")
        if grant == "password":
            user = self._check(form.get("username", ""), form.get("password", ""))
            if user is None:
                return fail("invalid_grant", "authentication failure")
        else:
            user = next(iter(self.users.values()))
        self.logins.append(user.username)
        payload: dict[str, Any] = {
            "access_token": self.new_session(),
            "instance_url": self.instance_url,
            "id": f"https://login.salesforce.com/id/{self.org.org_id}/{user.user_id}",
            "token_type": "Bearer",
            "issued_at": str(int(self.org.clock_ms())),
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        return 200, json_headers, json.dumps(payload)
