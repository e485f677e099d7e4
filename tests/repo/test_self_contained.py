"""A clone passes its own tests with nothing beside it: no file reads the folder beside the checkout, and collection
finds every file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A path out of the repository into the steering folder, in any spelling a reader would use.
# The folder's name is spelled once, so this file itself names no path outside the clone.
STEERING = "".join(("sha", "red"))
OUTSIDE = re.compile(rf"(\.\./{STEERING}|/work/{STEERING}|parent\s*/\s*[\"']{STEERING}[\"']"
                     rf"|[\"']{STEERING}/conformance)")
TEXT_SUFFIXES = {".py", ".sh", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".json", ".j2", ".js", ".html", ""}


def _repo_files() -> list[Path]:
    """The files a clone has: tracked plus untracked-but-not-ignored (the change under test)."""
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines() if line and (ROOT / line).is_file()]


def test_no_file_reads_outside_the_repository() -> None:
    offenders = []
    for path in _repo_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("tests/conformance/") or path.suffix not in TEXT_SUFFIXES or path == Path(__file__):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{rel}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1)
                      if OUTSIDE.search(line)]
    assert offenders == [], "files reaching outside the clone:\n" + "\n".join(offenders)


@pytest.mark.slow
def test_collection_from_a_copy_with_nothing_beside_it(tmp_path: Path) -> None:
    """Copy the clone's files alone into an empty folder and collect the whole suite there: nothing is missing."""
    clone = tmp_path / "lonely" / "baton"
    for path in _repo_files():
        target = clone / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    assert not (clone.parent / STEERING).exists()
    env = {k: v for k, v in os.environ.items() if k != "BATON_CONFORMANCE_DIR"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    tail = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == 0, tail
    assert "error" not in proc.stdout.splitlines()[-1].lower(), tail
    assert "FileNotFoundError" not in proc.stdout + proc.stderr, tail
    # The copy's modules were collected, not this checkout's.
    assert str(ROOT / "tests") not in proc.stdout, tail
