"""Jinja templates and the one sandboxed environment that renders them.

Edges (``bot/``, ``integrations/``) render through :class:`Renderer`; the domain hands over facts, not text.
JSON templates get every interpolated string through the ``json`` filter, so user text cannot break out.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateNotFound
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES_DIR = Path(__file__).resolve().parent
DEFAULT_LOCALE = "en"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def mrkdwn_escape(value: Any) -> str:
    """Escape the three characters Slack's mrkdwn treats as control: ``&``, ``<``, ``>``."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(value: Any, limit: int, ellipsis: str = "…") -> str:
    s = str(value)
    return s if len(s) <= limit else s[: max(0, limit - len(ellipsis))] + ellipsis


def duration(seconds: Any) -> str:
    """``75`` → ``1m 15s``; ``3600`` → ``1h 0m``."""
    s = max(0, int(float(seconds)))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m}m {s}s" if s else f"{m}m"
    h, m = divmod(m, 60)
    return f"{h}h {m}m"


class Renderer:
    """Renders templates by name (``customer/en/escalated.txt.j2``, ``slack/card.json.j2``)."""

    def __init__(self, root: Path = TEMPLATES_DIR) -> None:
        self.root = root
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(root)), undefined=StrictUndefined, autoescape=False,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False,
            auto_reload=False,  # templates ship with the code; no stat() per render
        )
        self.env.filters.update(json=_json, mrkdwn=mrkdwn_escape, truncate_to=truncate, duration=duration)

    def text(self, template: str, /, **context: Any) -> str:
        return self.env.get_template(template).render(**context).strip()

    def json(self, template: str, /, **context: Any) -> Any:
        return json.loads(self.env.get_template(template).render(**context))

    def customer_text(self, kind: str, locale: str, **facts: Any) -> str:
        """The customer-facing message ``kind`` in the customer's language, falling back to English.

        Callers with a queue use :func:`templates.customer.customer_text`, which also names the team in the
        language the text is written in.
        """
        for loc in _locale_chain(locale):
            try:
                return self.text(f"customer/{loc}/{kind}.txt.j2", **facts)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(f"customer/{DEFAULT_LOCALE}/{kind}.txt.j2")

    def customer_locale(self, locale: str) -> str:
        """The locale customer texts for ``locale`` are written in: ``es-MX`` → ``es``, ``fr`` → ``en`` (no
        French templates), so every word of one message — the team's name too — is in one language."""
        return _customer_locale(self.root, locale)


@lru_cache(maxsize=256)
def _customer_locale(root: Path, locale: str) -> str:
    return next((loc for loc in _locale_chain(locale) if (root / "customer" / loc).is_dir()), DEFAULT_LOCALE)


def locale_chain(locale: str) -> tuple[str, ...]:
    """``es_MX`` → ``("es-mx", "es", "en")``: the locales tried for ``locale``, most specific first."""
    return _locale_chain(locale)


@lru_cache(maxsize=256)
def _locale_chain(locale: str) -> tuple[str, ...]:
    norm = locale.replace("_", "-").lower()
    chain = [norm]
    if "-" in norm:
        chain.append(norm.split("-", 1)[0])
    if DEFAULT_LOCALE not in chain:
        chain.append(DEFAULT_LOCALE)
    return tuple(chain)
