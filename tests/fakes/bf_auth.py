"""Fake Bot Framework identity services: channel-token signing keys (OpenID metadata + JWKS), an Entra token endpoint.

Two local servers stand in for Microsoft's identity endpoints so that authentication runs for real in tests:

* **Channel → bot** (inbound). Azure Bot Service signs a JWT for every activity it POSTs to the bot. The bot finds
  the signing keys through ``https://login.botframework.com/v1/.well-known/openidconfiguration`` → ``jwks_uri``; each
  key carries ``endorsements`` (the channel ids it may sign for). :class:`FakeBotFrameworkAuth` serves the same two
  documents over HTTP (:attr:`openid_metadata_url`) from an RS256 key pair and mints channel tokens with
  :meth:`channel_token` — valid, expired, for another audience, from another issuer, or signed by a key that is not
  published. Claims follow MicrosoftDocs/bot-docs ``rest-api/bot-framework-rest-connector-authentication.md``
  ("Connector to Bot: example JWT components"): ``iss=https://api.botframework.com``, ``aud=<app id>``, ``serviceurl``,
  ``nbf``/``exp``.
* **Bot → connector** (outbound). The bot gets an OAuth 2.0 client-credentials token
  (``scope=https://api.botframework.com/.default``) and sends it as ``Authorization: Bearer`` to the Bot Connector.
  MSAL only talks to an ``https`` authority, so this server speaks TLS with a self-signed certificate for 127.0.0.1:
  point ``REQUESTS_CA_BUNDLE`` (the variable ``requests``, hence MSAL, reads) at :attr:`ca_file`. The authority is
  :attr:`authority`; MSAL discovers ``{authority}/v2.0/.well-known/openid-configuration`` and POSTs to its
  ``token_endpoint``. The issued token is a JWT like Entra's (``iss=https://sts.windows.net/<tenant>/``,
  ``aud=https://api.botframework.com``, ``appid``); :meth:`verify_bot_token` is what the fake connector calls.

Nothing here logs; secrets are compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import ssl
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm

from tests.fakes.slack_http import SlackHTTPServer

__all__ = ["BF_ISSUER", "BOT_SCOPE", "FakeBotFrameworkAuth", "RsaKey", "TokenRequest"]

BF_ISSUER = "https://api.botframework.com"
BOT_SCOPE = "https://api.botframework.com/.default"
BOT_AUDIENCE = "https://api.botframework.com"


@dataclass(frozen=True)
class RsaKey:
    """An RS256 signing key with its key id and the channels it is endorsed for."""

    kid: str
    private: rsa.RSAPrivateKey
    endorsements: tuple[str, ...] = ("msteams",)

    @classmethod
    def generate(cls, endorsements: tuple[str, ...] = ("msteams",)) -> RsaKey:
        return cls(kid=uuid.uuid4().hex, private=rsa.generate_private_key(public_exponent=65537, key_size=2048),
                   endorsements=endorsements)  # fmt: skip

    def jwk(self) -> dict[str, Any]:
        """The public JWK as login.botframework.com publishes it (with ``endorsements``)."""
        data = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256", "endorsements": list(self.endorsements)}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid, "x5t": self.kid})


@dataclass(frozen=True)
class TokenRequest:
    """One call to the token endpoint, secrets left out."""

    tenant: str
    grant_type: str
    client_id: str
    scope: str
    status: int


@dataclass
class _State:
    channel_keys: list[RsaKey]
    entra_key: RsaKey
    token_requests: list[TokenRequest] = field(default_factory=list)
    metadata_fetches: int = 0
    jwks_fetches: int = 0


class _TLSServer(SlackHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that does not trust the certificate aborts the handshake: expected in tests, not an error."""


class FakeBotFrameworkAuth:
    """Local OpenID/JWKS for channel tokens (HTTP) and an Entra-like token endpoint (HTTPS). Thread-safe."""

    def __init__(self, app_id: str = "00000000-baton-test-app", app_password: str = "baton-test-secret", *,
                 tenant_id: str = "botframework.com", token_lifetime: int = 3600) -> None:  # fmt: skip
        self.app_id, self.app_password, self.tenant_id = app_id, app_password, tenant_id
        self.token_lifetime = token_lifetime
        self._state = _State(channel_keys=[RsaKey.generate()], entra_key=RsaKey.generate(endorsements=()))
        self.unlisted_key = RsaKey.generate()  # signs tokens whose key is not in the JWKS
        self._lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="baton-bf-auth-")
        self._cert_file, self._key_file = _self_signed_cert(Path(self._tmp.name))
        self._http: SlackHTTPServer | None = None
        self._https: SlackHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.internal_errors: list[Exception] = []

    # ------------------------------------------------------------------------------------ lifecycle
    def start(self) -> FakeBotFrameworkAuth:
        if self._http is None:
            self._http = SlackHTTPServer(self._dispatch_openid, ("127.0.0.1", 0))
            self._https = _TLSServer(self._dispatch_entra, ("127.0.0.1", 0))
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self._cert_file, self._key_file)
            self._https.socket = ctx.wrap_socket(self._https.socket, server_side=True, do_handshake_on_connect=False)
            for server in (self._http, self._https):
                thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                                          name=f"FakeBotFrameworkAuth:{server.server_address[1]}")  # fmt: skip
                thread.start()
                self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._http, self._https):
            if server is not None:
                server.shutdown()
                server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._http = self._https = None
        self._threads.clear()

    def close(self) -> None:
        """Stop and delete the certificate files."""
        self.stop()
        self._tmp.cleanup()

    def __enter__(self) -> FakeBotFrameworkAuth:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ addresses
    @property
    def openid_metadata_url(self) -> str:
        """The ``TEAMS_OPENID_METADATA_URL`` for the bot (same path as login.botframework.com's)."""
        return f"{self._base(self._http, 'http')}/v1/.well-known/openidconfiguration"

    @property
    def jwks_uri(self) -> str:
        return f"{self._base(self._http, 'http')}/v1/.well-known/keys"

    @property
    def authority(self) -> str:
        """The ``TEAMS_AUTHORITY`` for the bot: ``https://127.0.0.1:PORT/<tenant>``."""
        return f"{self._base(self._https, 'https')}/{self.tenant_id}"

    @property
    def ca_file(self) -> str:
        """PEM file of the token endpoint's self-signed certificate (for ``REQUESTS_CA_BUNDLE``)."""
        return str(self._cert_file)

    @staticmethod
    def _base(server: SlackHTTPServer | None, scheme: str) -> str:
        if server is None:
            raise RuntimeError("FakeBotFrameworkAuth is not started")
        return f"{scheme}://127.0.0.1:{server.server_address[1]}"

    # ------------------------------------------------------------------------------------ channel tokens (inbound)
    @property
    def channel_key(self) -> RsaKey:
        """The key currently published first in the JWKS."""
        with self._lock:
            return self._state.channel_keys[0]

    def rotate_channel_key(self, *, keep_old: bool = False) -> RsaKey:
        """Publish a new signing key (first); drop the old ones unless ``keep_old``."""
        key = RsaKey.generate()
        with self._lock:
            self._state.channel_keys = [key, *self._state.channel_keys] if keep_old else [key]
        return key

    def channel_token(self, service_url: str, *, audience: str | None = None, issuer: str = BF_ISSUER,
                      lifetime: int = 3600, issued_at: float | None = None, key: RsaKey | None = None,
                      **extra: Any) -> str:  # fmt: skip
        """A Bot Framework channel token as Azure Bot Service sends it. ``issued_at`` in the past → expired token."""
        now = int(time.time() if issued_at is None else issued_at)
        claims = {"serviceurl": service_url, "nbf": now - 5, "exp": now + lifetime, "iss": issuer,
                  "aud": self.app_id if audience is None else audience, **extra}  # fmt: skip
        return (key or self.channel_key).sign(claims)

    # ------------------------------------------------------------------------------------ bot tokens (outbound)
    def verify_bot_token(self, token: str) -> dict[str, Any]:
        """Check a bearer token the bot sent to the connector: signed by our Entra key, for the Bot Framework
        audience, this app, not expired. Raises ``jwt.InvalidTokenError`` otherwise."""
        claims: dict[str, Any] = jwt.decode(token, self._state.entra_key.private.public_key(), algorithms=["RS256"],
                                            audience=BOT_AUDIENCE, issuer=self._entra_issuer,
                                            options={"require": ["exp", "iss", "aud"]})  # fmt: skip
        if claims.get("appid") != self.app_id:
            raise jwt.InvalidTokenError("token issued to another app")
        return claims

    def bot_token(self, *, lifetime: int | None = None) -> str:
        """A token as the endpoint would issue it (for driving the fake connector without a bot)."""
        now = int(time.time())
        return self._state.entra_key.sign({"aud": BOT_AUDIENCE, "iss": self._entra_issuer, "appid": self.app_id,
                                           "tid": self.tenant_id, "nbf": now - 5, "iat": now,
                                           "exp": now + (self.token_lifetime if lifetime is None else lifetime)})

    @property
    def _entra_issuer(self) -> str:
        return f"https://sts.windows.net/{self.tenant_id}/"

    @property
    def token_requests(self) -> list[TokenRequest]:
        with self._lock:
            return list(self._state.token_requests)

    @property
    def jwks_fetches(self) -> int:
        with self._lock:
            return self._state.jwks_fetches

    # ------------------------------------------------------------------------------------ HTTP
    def _dispatch_openid(self, verb: str, path: str, headers: dict[str, str],
                         body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:  # fmt: skip
        route = urlsplit(path).path
        if verb == "GET" and route == "/v1/.well-known/openidconfiguration":
            with self._lock:
                self._state.metadata_fetches += 1
            return 200, {}, {"issuer": BF_ISSUER, "authorization_endpoint": "https://invalid.botframework.com",
                             "jwks_uri": self.jwks_uri, "id_token_signing_alg_values_supported": ["RS256"],
                             "token_endpoint_auth_methods_supported": ["private_key_jwt"]}  # fmt: skip
        if verb == "GET" and route == "/v1/.well-known/keys":
            with self._lock:
                self._state.jwks_fetches += 1
                keys = [k.jwk() for k in self._state.channel_keys]
            return 200, {}, {"keys": keys}
        return 404, {}, {"error": "not_found"}

    def _dispatch_entra(self, verb: str, path: str, headers: dict[str, str],
                        body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:  # fmt: skip
        try:
            return self._entra(verb, urlsplit(path).path, body)
        except Exception as exc:  # a crash in the fake must fail the test, not hang the client
            self.internal_errors.append(exc)
            return 500, {}, {"error": "fake_crashed"}

    def _entra(self, verb: str, route: str, body: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        parts = route.strip("/").split("/")
        tenant = parts[0] if parts else ""
        base = f"{self._base(self._https, 'https')}/{tenant}"
        if tenant != self.tenant_id:
            return 400, {}, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."}
        if verb == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            return 200, {}, {"issuer": f"{base}/v2.0", "token_endpoint": f"{base}/oauth2/v2.0/token",
                             "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                             "jwks_uri": f"{base}/discovery/v2.0/keys",
                             "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                             "response_types_supported": ["code", "id_token", "token"]}  # fmt: skip
        if verb == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
            status, payload = self._token(form)
            with self._lock:
                self._state.token_requests.append(TokenRequest(tenant, form.get("grant_type", ""),
                                                               form.get("client_id", ""), form.get("scope", ""),
                                                               status))  # fmt: skip
            return status, {}, payload
        return 404, {}, {"error": "not_found"}

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"}
        if form.get("client_id") != self.app_id:
            return 400, {"error": "unauthorized_client", "error_description": "AADSTS700016: Application not found."}
        if not hmac.compare_digest(form.get("client_secret", "").encode(), self.app_password.encode()):
            return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret."}
        if BOT_SCOPE not in form.get("scope", "").split():
            return 400, {"error": "invalid_scope", "error_description": "AADSTS70011: The provided scope is invalid."}
        return 200, {"token_type": "Bearer", "expires_in": self.token_lifetime, "ext_expires_in": self.token_lifetime,
                     "access_token": self.bot_token()}


def _self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 / localhost, valid for a day; returns (cert PEM, key PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "baton-fake-login")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                    x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_file, key_file

