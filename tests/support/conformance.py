"""Where the vendor schemas and documented limits live: ``tests/conformance/`` inside this repository.

A clone must pass its own tests with nothing beside it, so every test, fake and benchmark reads conformance
data from here. ``BATON_CONFORMANCE_DIR`` may point at another copy (an override, never a requirement).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_CONFORMANCE = Path(__file__).resolve().parents[1] / "conformance"


def conformance_dir() -> Path:
    """The conformance folder: ``BATON_CONFORMANCE_DIR`` when set, else the repository's copy."""
    override = os.environ.get("BATON_CONFORMANCE_DIR")
    return Path(override) if override else REPO_CONFORMANCE


def conformance_path(*parts: str) -> Path:
    """One file of the conformance data; a missing file fails loudly with the path it looked for.

    Raises:
        FileNotFoundError: the file is not in the conformance folder.
    """
    path = conformance_dir().joinpath(*parts)
    if not path.is_file():
        raise FileNotFoundError(f"conformance file missing: {path} (see tests/conformance/README.md)")
    return path
