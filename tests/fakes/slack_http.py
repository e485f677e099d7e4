"""HTTP plumbing for the fake Slack Web API: a threaded HTTP/1.1 server and Slack-style argument parsing
(query string, ``application/x-www-form-urlencoded``, ``application/json`` and ``multipart/form-data``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl

from tests.fakes.slack_state import SlackError

__all__ = ["JSON_FIELDS", "Dispatch", "SlackHTTPServer", "parse_args"]

#: Arguments Slack accepts as JSON strings in form-encoded requests.
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


Dispatch = Callable[[str, str, dict[str, str], bytes], tuple[int, dict[str, str], dict[str, Any]]]


class SlackHTTPServer(ThreadingHTTPServer):
    """A threaded HTTP/1.1 server answering every request with ``dispatch(verb, path, headers, body)``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default backlog of 5 stalls bursts of concurrent clients by ~1 s (SYN retry)

    def __init__(self, dispatch: Dispatch, address: tuple[str, int]) -> None:
        self.dispatch = dispatch
        super().__init__(address, _Handler)


class ServedFake:
    """A fake vendor API served by :class:`SlackHTTPServer` in a daemon thread on 127.0.0.1.

    Subclasses set ``self._address`` and implement ``_dispatch(verb, path, headers, body)``; they get
    ``start``/``stop`` (idempotent), use as a context manager, and ``port``.
    """

    _address: tuple[str, int]
    _server: SlackHTTPServer | None = None
    _thread: threading.Thread | None = None

    def _dispatch(self, verb: str, path: str, headers: dict[str, str], body: bytes
                  ) -> tuple[int, dict[str, str], dict[str, Any]]:
        raise NotImplementedError

    def start(self) -> Self:
        """Bind to an ephemeral port on 127.0.0.1 and serve in a daemon thread."""
        if self._server is None:
            self._server = SlackHTTPServer(self._dispatch, self._address)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name=f"{type(self).__name__}:{self.port}", daemon=True)  # fmt: skip
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server, self._thread = None, None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as aiohttp and urllib expect
    timeout = 30  # idle keep-alive sockets close after this
    server: SlackHTTPServer

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:  # the Bot Connector fake shares this server (update activity)
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self, verb: str) -> None:
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra_headers, payload = self.server.dispatch(verb, self.path, headers, body)
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in extra_headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request logging."""


def _parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    msg = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    out: dict[str, Any] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        raw = part.get_payload(decode=True)
        raw = raw if isinstance(raw, bytes) else b""
        if name:
            out[str(name)] = raw if part.get_filename() else raw.decode("utf-8")
    return out


def parse_args(query: str, content_type: str, body: bytes) -> tuple[dict[str, Any], str | None]:
    """Merge query-string and body arguments; returns ``(args, token sent as an argument)``."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    ctype = content_type.split(";")[0].strip().lower()
    if body and ctype == "application/json":
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SlackError("invalid_json") from exc
        if not isinstance(data, dict):
            raise SlackError("json_not_object")
        token = args.pop("token", None)  # Slack ignores a token inside a JSON body; only the query counts
        args.update(data)
        args.pop("token", None)
        return args, token
    if body and ctype == "multipart/form-data":
        args.update(_parse_multipart(content_type, body))
    elif body and ctype in ("application/x-www-form-urlencoded", ""):
        try:
            args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False))
        except UnicodeDecodeError as exc:
            raise SlackError("invalid_charset") from exc
    elif body:
        raise SlackError("invalid_form_data")
    for key in JSON_FIELDS:  # form senders JSON-encode these; decode so the call log holds real objects
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key])
            except json.JSONDecodeError:
                pass  # left as a string: the method answers invalid_blocks_format / invalid_arguments
    return args, args.pop("token", None)
