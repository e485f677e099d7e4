"""The Teams app package: a manifest valid against Microsoft's published v1.11 schema, two PNG icons of the sizes
Teams requires, exactly three files at the zip's root, and the ``app.py teams package`` command as an admin runs it.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from bot.teams.package import (
    COLOR_SIZE,
    FILES,
    OUTLINE_SIZE,
    PackageError,
    PackageOptions,
    build_manifest,
    color_icon,
    outline_icon,
    package_bytes,
    stable_app_guid,
    write_package,
)
from handoff.chat.commands import COMMANDS
from tests.support.conformance import conformance_path

ROOT = Path(__file__).resolve().parents[2]
BOT_ID = "2d3f6a4e-1111-4222-8333-944455556666"
BASE = "https://baton.example.com"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(conformance_path("teams", "MicrosoftTeams.schema.v1.11.json").read_text(encoding="utf-8"))


def _errors(schema: dict[str, Any], manifest: dict[str, Any]) -> list[str]:
    validator = Draft4Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


def _manifest(**overrides: Any) -> dict[str, Any]:
    return build_manifest(PackageOptions(**{"bot_app_id": BOT_ID, "base_url": BASE, **overrides}))


# --- the schema copy ---------------------------------------------------------------------------------------------


def test_the_stored_schema_is_the_published_v1_11_file(schema: dict[str, Any]) -> None:
    text = conformance_path("teams", "MicrosoftTeams.schema.v1.11.json").read_text(encoding="utf-8")
    assert len(text) == 34_072  # the size of the published file, byte for byte (ASCII only)
    assert schema["properties"]["manifestVersion"]["const"] == "1.11"
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    Draft4Validator.check_schema(schema)


# --- the manifest ------------------------------------------------------------------------------------------------


def test_the_manifest_validates_against_the_published_schema(schema: dict[str, Any]) -> None:
    manifest = _manifest()
    assert _errors(schema, manifest) == []
    # Draft-04 ignores `const` and the schema never applies its own `semver` definition nor demands https
    # (its httpsUrl pattern allows http), so those rules are checked here.
    assert manifest["manifestVersion"] == schema["properties"]["manifestVersion"]["const"]
    assert re.match(schema["definitions"]["semver"]["pattern"], manifest["version"])
    assert all(u.startswith("https://") for u in manifest["developer"].values() if u.startswith("http"))
    bot = manifest["bots"][0]
    assert bot["botId"] == BOT_ID and bot["scopes"] == ["team", "personal", "groupchat"]
    for listing in bot["commandLists"]:
        assert [c["title"] for c in listing["commands"]] == list(COMMANDS)
    assert sorted(s for lst in bot["commandLists"] for s in lst["scopes"]) == ["groupchat", "personal", "team"]
    assert manifest["validDomains"] == ["baton.example.com"]
    assert manifest["developer"]["websiteUrl"] == BASE
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}


def test_developer_urls_and_version_come_from_the_options(schema: dict[str, Any]) -> None:
    manifest = _manifest(base_url="https://support.example.org:8443/baton/", website="https://example.org",
                         privacy_url="https://example.org/privacy", terms_url="https://example.org/terms",
                         developer="Example Ltd", app_version="2.3.4")
    assert _errors(schema, manifest) == []
    assert manifest["developer"] == {"name": "Example Ltd", "websiteUrl": "https://example.org",
                                     "privacyUrl": "https://example.org/privacy",
                                     "termsOfUseUrl": "https://example.org/terms"}
    assert manifest["version"] == "2.3.4"
    assert manifest["validDomains"] == ["support.example.org:8443"]


def test_the_app_id_is_stable_per_bot_and_can_be_given() -> None:
    first = _manifest()["id"]
    assert _manifest()["id"] == first == stable_app_guid(BOT_ID) == stable_app_guid(BOT_ID.upper())
    assert first != BOT_ID
    assert _manifest(bot_app_id="3e4f7b5f-2222-4333-9444-a55566667777")["id"] != first
    given = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert _manifest(app_guid=given.upper())["id"] == given


@pytest.mark.parametrize("base_url", [
    "http://baton.example.com", "baton.example.com", "https://", "ftp://baton.example.com",
    "https://user:pw@baton.example.com", "https://baton.example.com/?x=1", "https://baton.example.com/#top",
])
def test_a_base_url_that_is_not_plain_https_is_refused(base_url: str) -> None:
    with pytest.raises(PackageError, match="--base-url"):
        _manifest(base_url=base_url)


@pytest.mark.parametrize(("overrides", "says"), [
    ({"bot_app_id": "baton-bot"}, "TEAMS_APP_ID must be a GUID"),
    ({"app_guid": "not-a-guid"}, "--app-guid must be a GUID"),
    ({"app_version": "1.2"}, "x.y.z"),
    ({"app_version": "01.2.3"}, "x.y.z"),
    ({"website": "http://example.org"}, "--website must be an https"),
    ({"privacy_url": "http://example.org/privacy"}, "--privacy-url must be an https"),
    ({"terms_url": "example.org/terms"}, "--terms-url must be an https"),
    ({"developer": "D" * 33}, "1 to 32 characters"),
    ({"developer": "  "}, "1 to 32 characters"),
])
def test_bad_options_are_refused_with_the_reason(overrides: dict[str, str], says: str) -> None:
    with pytest.raises(PackageError, match=re.escape(says)):
        _manifest(**overrides)


def test_the_validator_catches_a_broken_manifest(schema: dict[str, Any]) -> None:
    """The schema check is not vacuous: each breakage Teams would refuse is reported at its path."""
    manifest = _manifest()
    manifest["bots"][0]["commandLists"][0]["commands"][0]["title"] = "t" * 40
    manifest["bots"][0]["botId"] = "baton-bot"
    manifest["description"]["short"] = "d" * 81
    manifest["icons"]["extra"] = "x.png"
    del manifest["accentColor"]
    errors = _errors(schema, manifest)
    assert any(e.startswith("bots/0/commandLists/0/commands/0/title: ") and "too long" in e for e in errors), errors
    assert any(e.startswith("bots/0/botId: ") and "does not match" in e for e in errors), errors
    assert any(e.startswith("description/short: ") and "too long" in e for e in errors), errors
    assert any(e.startswith("icons: ") and "'extra'" in e for e in errors), errors
    assert any("'accentColor' is a required property" in e for e in errors), errors
    assert len(errors) == 5, errors


# --- the icons ---------------------------------------------------------------------------------------------------


def _read_png(data: bytes) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    """A reader independent of the encoder: signature, chunk CRCs, IHDR, then the pixels of an 8-bit RGBA image."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body), f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    kinds = [k for k, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and b"IDAT" in kinds
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    stride = 1 + 4 * width
    assert len(raw) == height * stride
    rows = []
    for y in range(height):
        line = raw[y * stride:(y + 1) * stride]
        assert line[0] == 0  # filter None
        rows.append([tuple(line[1 + 4 * x:5 + 4 * x]) for x in range(width)])
    return width, height, rows


def test_the_color_icon_is_a_192_png_in_full_colour() -> None:
    width, height, rows = _read_png(color_icon())
    assert (width, height) == (COLOR_SIZE, COLOR_SIZE) == (192, 192)
    pixels = [p for row in rows for p in row]
    assert all(p[3] == 255 for p in pixels)  # opaque
    assert rows[0][0] == (0x1F, 0x4F, 0xD8, 255)  # the accent background
    assert rows[96][96] == (255, 255, 255, 255)  # the baton across the middle
    assert len(set(pixels)) > 2  # anti-aliased edges, not a two-colour bitmap


def test_the_outline_icon_is_a_32_png_white_on_transparent() -> None:
    width, height, rows = _read_png(outline_icon())
    assert (width, height) == (OUTLINE_SIZE, OUTLINE_SIZE) == (32, 32)
    pixels = [p for row in rows for p in row]
    assert all(p[:3] == (255, 255, 255) for p in pixels)  # white only
    assert rows[0][0][3] == 0 and rows[16][16][3] == 255
    assert sum(p[3] == 0 for p in pixels) > len(pixels) // 2  # mostly transparent


# --- the zip -----------------------------------------------------------------------------------------------------


def test_the_zip_holds_exactly_the_manifest_and_icons_at_its_root(schema: dict[str, Any]) -> None:
    data = package_bytes(PackageOptions(bot_app_id=BOT_ID, base_url=BASE))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert zf.namelist() == list(FILES) == ["manifest.json", "color.png", "outline.png"]
        assert not any(i.is_dir() or "/" in i.filename for i in zf.infolist())
        manifest = json.loads(zf.read("manifest.json"))
        assert _errors(schema, manifest) == []
        assert _read_png(zf.read(manifest["icons"]["color"]))[:2] == (192, 192)
        assert _read_png(zf.read(manifest["icons"]["outline"]))[:2] == (32, 32)
    assert package_bytes(PackageOptions(bot_app_id=BOT_ID, base_url=BASE)) == data  # reproducible


def test_write_package_leaves_an_existing_file_alone_when_the_options_are_bad(tmp_path: Path) -> None:
    out = tmp_path / "baton-teams.zip"
    out.write_bytes(b"previous build")
    with pytest.raises(PackageError):
        write_package(PackageOptions(bot_app_id=BOT_ID, base_url="http://baton.example.com"), out)
    assert out.read_bytes() == b"previous build"
    assert write_package(PackageOptions(bot_app_id=BOT_ID, base_url=BASE), out) == out.resolve()
    assert zipfile.is_zipfile(out) and [p.name for p in tmp_path.iterdir()] == ["baton-teams.zip"]


# --- the command line --------------------------------------------------------------------------------------------


def _cli(tmp_path: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEAMS_", "SALESFORCE_", "HUBSPOT_",
                                                                       "BATON_"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}", **env_extra})
    return subprocess.run([sys.executable, "app.py", "teams", "package", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_the_cli_writes_a_valid_package_and_says_what_to_do_next(tmp_path: Path, schema: dict[str, Any]) -> None:
    out = tmp_path / "pkg" / "baton-teams.zip"
    r = _cli(tmp_path, "--base-url", BASE, "--out", str(out), "--app-version", "1.0.3",
             TEAMS_APP_ID=BOT_ID, TEAMS_APP_PASSWORD="not-a-real-secret")
    assert r.returncode == 0, r.stdout + r.stderr
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["manifest.json", "color.png", "outline.png"]
        manifest = json.loads(zf.read("manifest.json"))
    assert _errors(schema, manifest) == []
    assert manifest["version"] == "1.0.3" and manifest["bots"][0]["botId"] == BOT_ID
    assert f"wrote {out.resolve()}" in r.stdout
    assert f"{BASE}/api/messages" in r.stdout and "Upload a custom app" in r.stdout
    assert "queues.<queue>.channels.teams" in r.stdout
    assert "not-a-real-secret" not in r.stdout + r.stderr


@pytest.mark.slow
def test_the_cli_refuses_without_teams_app_id_or_with_an_http_url(tmp_path: Path) -> None:
    out = tmp_path / "baton-teams.zip"
    r = _cli(tmp_path, "--base-url", BASE, "--out", str(out))
    assert r.returncode != 0 and "TEAMS_APP_ID is not set" in r.stderr, r.stderr
    r = _cli(tmp_path, "--base-url", "http://baton.example.com", "--out", str(out),
             TEAMS_APP_ID=BOT_ID, TEAMS_APP_PASSWORD="not-a-real-secret")
    assert r.returncode != 0 and "--base-url must be an https:// URL" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
