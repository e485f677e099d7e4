"""The Teams app package an admin uploads: ``manifest.json`` (schema v1.11) and two icons, zipped at the root.

``python3 app.py teams package --base-url https://baton.example.com`` calls :func:`write_package`. Everything here
is built offline with the standard library: the manifest from :class:`PackageOptions`, the icons by a small RGBA
PNG encoder (zlib + struct). ``tests/teams/test_package.py`` validates the result against Microsoft's published
manifest schema kept in ``tests/conformance/teams/``.
"""

from __future__ import annotations

import io
import json
import math
import re
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from handoff.chat.commands import COMMAND_DESCRIPTIONS, COMMANDS

MANIFEST_VERSION = "1.11"
SCHEMA_URL = f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT = "#1F4FD8"  # the web pages' accent colour
COLOR_SIZE, OUTLINE_SIZE = 192, 32  # what Teams requires of color.png and outline.png
FILES = ("manifest.json", "color.png", "outline.png")
BOT_SCOPES = ("team", "personal", "groupchat")
# Fixed timestamps make the zip byte-for-byte reproducible from the same options.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# One Teams app id per bot: a name-based (v5) UUID of the bot's Microsoft App ID, so rebuilding the package
# updates the same app in Teams instead of adding a second one.
_APP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:baton:teams-app")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")

# What each command does, as the compose box lists it (title ≤ 32, description ≤ 128 characters).
class PackageError(ValueError):
    """An option the package cannot be built from; the message says which and why."""


@dataclass(frozen=True, slots=True)
class PackageOptions:
    """What the manifest is built from.

    Attributes:
        bot_app_id: the bot's Microsoft App ID (``TEAMS_APP_ID``), a GUID from the Entra app registration.
        base_url: the public HTTPS URL of the service; Teams reaches the bot at ``<base_url>/api/messages``.
        app_guid: the Teams app id; by default derived from ``bot_app_id`` (stable across rebuilds).
        app_version: the app's version (x.y.z); raise it for every re-upload. Defaults to Baton's version.
        developer: the developer (publisher) name shown in Teams.
        website: the developer's website; defaults to ``base_url``.
        privacy_url: the privacy statement; defaults to ``website``.
        terms_url: the terms of use; defaults to ``website``.
    """

    bot_app_id: str
    base_url: str
    app_guid: str | None = None
    app_version: str | None = None
    developer: str = "Baton"
    website: str | None = None
    privacy_url: str | None = None
    terms_url: str | None = None


def stable_app_guid(bot_app_id: str) -> str:
    """The Teams app id Baton derives from a bot's Microsoft App ID: the same input gives the same GUID."""
    return str(uuid.uuid5(_APP_NAMESPACE, bot_app_id.strip().lower()))


def _https(name: str, url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise PackageError(f"{name} must be an https:// URL with a host name (Teams refuses anything else): {url!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise PackageError(f"{name} must carry no user name, password, query or fragment: {url!r}")
    return url.strip().rstrip("/")


def _guid(name: str, value: str) -> str:
    if not _GUID.match(value.strip()):
        raise PackageError(f"{name} must be a GUID like 00000000-0000-0000-0000-000000000000, got {value!r}")
    return value.strip().lower()


def _version(value: str | None) -> str:
    if value is None:
        try:
            value = metadata.version("baton")
        except metadata.PackageNotFoundError:
            value = "1.0.0"
    if not _SEMVER.match(value):
        raise PackageError(f"the app version must be x.y.z (three numbers, as Teams requires), got {value!r}")
    return value


def build_manifest(options: PackageOptions) -> dict[str, Any]:
    """The ``manifest.json`` content for these options (manifest schema v1.11).

    Raises:
        PackageError: an id that is not a GUID, a URL that is not https, a version that is not x.y.z, a developer
            name longer than Teams allows.
    """
    bot_id = _guid("TEAMS_APP_ID", options.bot_app_id)
    app_id = _guid("--app-guid", options.app_guid) if options.app_guid else stable_app_guid(bot_id)
    base = _https("--base-url", options.base_url)
    website = _https("--website", options.website) if options.website else base
    developer = options.developer.strip()
    if not 0 < len(developer) <= 32:
        raise PackageError(f"the developer name must have 1 to 32 characters, got {len(developer)}")
    host = urlsplit(base).netloc
    return {
        "$schema": SCHEMA_URL,
        "manifestVersion": MANIFEST_VERSION,
        "version": _version(options.app_version),
        "id": app_id,
        "developer": {
            "name": developer,
            "websiteUrl": website,
            "privacyUrl": _https("--privacy-url", options.privacy_url) if options.privacy_url else website,
            "termsOfUseUrl": _https("--terms-url", options.terms_url) if options.terms_url else website,
        },
        "name": {"short": "Baton", "full": "Baton: escalations from AI support"},
        "description": {
            "short": "Claim and resolve customer escalations from your AI support assistant",
            "full": ("Baton posts a card for every conversation your AI support assistant hands to a person: "
                     "priority, the customer's issue, what was tried and why it escalated. Claim a card to take "
                     "the conversation, reply in its thread to talk to the customer (start with note: to keep a "
                     "reply internal), transfer, escalate or resolve it from the card. Message the bot queue, mine, "
                     "next, status or stats to work the queue; help in a channel prints the channel's id for "
                     "mapping a queue to it."),
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": ACCENT,
        "bots": [{
            "botId": bot_id,
            "scopes": list(BOT_SCOPES),
            "isNotificationOnly": False,
            "supportsFiles": False,
            "commandLists": [{"scopes": [scope], "commands": [{"title": name, "description": COMMAND_DESCRIPTIONS[name]}
                                                              for name in COMMANDS]} for scope in BOT_SCOPES],
        }],
        "validDomains": [host],
    }


# --- icons: a tiny RGBA PNG encoder and one drawing (a relay baton: a diagonal capsule) -------------------------

Pixel = tuple[int, int, int, int]


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An 8-bit RGBA PNG (colour type 6, no interlace) whose pixel (x, y) is ``pixel(x, y)``."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type 0 (None) for every scanline
        for x in range(width):
            rows.extend(pixel(x, y))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
            + chunk(b"IEND", b""))


def _baton_coverage(size: int, x: int, y: int) -> float:
    """How much of pixel (x, y) the baton covers (0..1), anti-aliased by its distance to the capsule's edge."""
    u, v = (x + 0.5) / size, (y + 0.5) / size
    ax, ay, bx, by, radius = 0.27, 0.73, 0.73, 0.27, 0.11
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy)))
    distance = math.hypot(u - (ax + t * dx), v - (ay + t * dy))
    return max(0.0, min(1.0, (radius - distance) * size + 0.5))


def color_icon() -> bytes:
    """``color.png``: 192x192, the baton in white on an opaque accent-coloured square."""
    r, g, b = (int(ACCENT[i:i + 2], 16) for i in (1, 3, 5))

    def pixel(x: int, y: int) -> Pixel:
        c = _baton_coverage(COLOR_SIZE, x, y)
        return (round(r + (255 - r) * c), round(g + (255 - g) * c), round(b + (255 - b) * c), 255)

    return png(COLOR_SIZE, COLOR_SIZE, pixel)


def outline_icon() -> bytes:
    """``outline.png``: 32x32, the baton in white on transparent (Teams requires white and transparency only)."""
    return png(OUTLINE_SIZE, OUTLINE_SIZE,
               lambda x, y: (255, 255, 255, round(255 * _baton_coverage(OUTLINE_SIZE, x, y))))


def package_bytes(options: PackageOptions) -> bytes:
    """The zip Teams takes: exactly ``manifest.json``, ``color.png`` and ``outline.png`` at its root, no folders.

    Raises:
        PackageError: see :func:`build_manifest`.
    """
    manifest = json.dumps(build_manifest(options), indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in zip(FILES, (manifest, color_icon(), outline_icon()), strict=True):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return out.getvalue()


def write_package(options: PackageOptions, out: Path) -> Path:
    """Build the package and write it to ``out`` (replaced whole: a half-written zip is never left behind).

    Raises:
        PackageError: see :func:`build_manifest`.
    """
    data = package_bytes(options)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_bytes(data)
    partial.replace(out)
    return out.resolve()


def next_steps(options: PackageOptions, out: Path) -> list[str]:
    """What an admin does with the zip, printed by the CLI after writing it."""
    base = _https("--base-url", options.base_url)
    return [
        f"wrote {out} ({', '.join(FILES)})",
        "next steps:",
        f"  1. Azure Bot (the registration of TEAMS_APP_ID): messaging endpoint {base}/api/messages; "
        "enable the Microsoft Teams channel",
        "  2. upload the zip: Teams admin center → Teams apps → Manage apps → Upload new app "
        "(or in Teams: Apps → Manage your apps → Upload an app → Upload a custom app)",
        "  3. add Baton to each team whose channels take handoffs; in a channel, @Baton help prints its id",
        "  4. map each queue to its channel in the config file: queues.<queue>.channels.teams: \"19:…@thread.tacv2\" "
        "(TEAMS_DEFAULT_CHANNEL takes the rest)",
        "  5. rebuilding later? raise --app-version so Teams takes the update",
    ]
