#!/usr/bin/env python3
"""One-command set-up for newcomers and CI. Needs Python 3.12+ somewhere on the machine and access to PyPI.

    python3 dev.py run     # create .venv, install Baton, run the service on http://127.0.0.1:8000
    python3 dev.py test    # create .venv, install Baton + test tools, check the architecture, run every test

Extra arguments go to the underlying command: ``python3 dev.py test -k claim -x``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def _run(cmd: list[str], **kw: object) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)  # type: ignore[arg-type]


def _installed(extras: str) -> bool:
    """True when .venv holds this pyproject.toml's dependencies (the ``dev`` install includes the base one)."""
    project = (ROOT / "pyproject.toml").read_bytes()
    for have in dict.fromkeys((extras, "dev")):
        stamp = VENV / f".baton-installed-{have or 'base'}"
        if stamp.exists() and stamp.read_text() == hashlib.sha256(project + have.encode()).hexdigest():
            return True
    return False


MIN_PYTHON = (3, 12)  # the Microsoft 365 Agents SDK (Teams) needs 3.12


def _version(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([python, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    parts = out.stdout.split()
    return (int(parts[0]), int(parts[1])) if out.returncode == 0 and len(parts) == 2 else None


def find_python() -> str:
    """An interpreter new enough for Baton: this one, a ``python3.1x`` on PATH, or one that pyenv installed."""
    if sys.version_info[:2] >= MIN_PYTHON:
        return sys.executable
    candidates = [shutil.which(f"python3.{minor}") for minor in range(15, MIN_PYTHON[1] - 1, -1)]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(p) for p in sorted((pyenv_root / "versions").glob("3.*/bin/python3"), reverse=True)]
    for candidate in filter(None, candidates):
        found = _version(candidate)
        if found is not None and found >= MIN_PYTHON:
            return candidate
    sys.exit(f"Baton needs Python {'.'.join(map(str, MIN_PYTHON))} or newer (the Teams SDK requires it); this is "
             f"{sys.version.split()[0]} and no newer python3.x was found on PATH or under pyenv")


def ensure_env(extras: str) -> None:
    if PY.exists() and (_version(str(PY)) or (0, 0)) < MIN_PYTHON:
        print(f"{VENV} was made with an older Python; making it again", flush=True)
        shutil.rmtree(VENV)
    if not PY.exists():
        python = find_python()
        print(f"creating virtualenv in {VENV} with {python}", flush=True)
        if python == sys.executable:
            venv.EnvBuilder(with_pip=True).create(VENV)
        elif _run([python, "-m", "venv", VENV]) != 0:
            sys.exit(f"creating the virtualenv with {python} failed")
    if _installed(extras):
        return
    spec = f".[{extras}]" if extras else "."
    rc = _run([PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-e", spec])
    if rc != 0:
        sys.exit(f"installing dependencies failed (pip exit code {rc})")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    (VENV / f".baton-installed-{extras or 'base'}").write_text(digest)


def in_venv() -> bool:
    """Is this interpreter the project's .venv (however it was reached: a symlink, an activated shell)?"""
    try:
        return Path(sys.prefix).resolve() == VENV.resolve()
    except OSError:
        return False


def reexec_in_venv(script: Path, argv: list[str]) -> None:
    """Run ``script`` inside .venv when started by another Python: ``python3 app.py …`` works from a fresh clone.

    Creates and fills .venv first when needed. ``BATON_NO_VENV=1`` (or an interpreter that already is .venv)
    skips it — for installs that put Baton's dependencies somewhere else on purpose.
    """
    if in_venv() or os.environ.get("BATON_NO_VENV"):
        return
    ensure_env("")
    _exec([PY, script, *argv])


def _exec(cmd: list[object]) -> None:
    """Become ``cmd`` (POSIX): Ctrl-C and SIGTERM then reach the service itself, so nothing is left orphaned."""
    args = [str(c) for c in cmd]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.chdir(ROOT)
        os.execv(args[0], args)
    sys.exit(subprocess.call(args, cwd=ROOT))


def cmd_run(args: list[str]) -> int:
    ensure_env("")
    print("+", PY, "app.py", *(args or ["serve"]), flush=True)
    _exec([PY, ROOT / "app.py", *(args or ["serve"])])  # returns only where exec is not available
    return 0


def ensure_browser() -> None:
    """Headless Chromium + chromedriver for the widget's browser test (Debian packages; installed as root).

    Without root or apt-get the test skips and says why (under CI=true it fails instead).
    """
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return
    if os.name != "posix" or not shutil.which("apt-get") or os.geteuid() != 0:
        print("note: chromium/chromedriver missing and cannot be installed here (needs root + apt-get); "
              "the browser test will be skipped", flush=True)
        return
    print("installing chromium + chromium-driver for the browser test", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if _run(["apt-get", "update", "-qq"], env=env) != 0 or _run(
            ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"], env=env) != 0:
        print("note: installing chromium failed; the browser test will be skipped", flush=True)


def cmd_test(args: list[str]) -> int:
    ensure_env("dev")
    ensure_browser()
    checks = [
        ([BIN / "lint-imports"], "architecture contracts (import-linter)"),
        ([PY, "-m", "ruff", "check", "."], "lint (ruff)"),
        ([PY, "-m", "mypy"], "types (mypy --strict on handoff/)"),
    ]
    if not args:
        for cmd, what in checks:
            print(f"== {what}", flush=True)
            if _run(cmd) != 0:
                return 1
    # The whole suite runs in parallel worker processes (pytest-xdist; BATON_TEST_WORKERS, default 4: most tests
    # wait on servers and clocks, so more workers than cores pays). Given arguments, pytest runs them as asked.
    workers = os.environ.get("BATON_TEST_WORKERS", "4")
    parallel = ["-n", workers] if not args and workers not in ("", "0", "1") else []
    print(f"== tests (pytest: SQLite and PostgreSQL{f', {workers} workers' if parallel else ''})", flush=True)
    rc = _run([PY, "-m", "pytest", *parallel, *args])
    if rc == 5:
        print("pytest collected no tests: that is a failure here", file=sys.stderr)
        return 1
    return rc


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        print(__doc__)
        return 2
    return {"run": cmd_run, "test": cmd_test}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
