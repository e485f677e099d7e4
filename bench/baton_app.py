"""Baton's real app, built from the environment, for ``uvicorn bench.baton_app:app`` in benchmarks."""

from __future__ import annotations

from app import build, create_app
from settings import load_settings

app = create_app(build(load_settings()))
