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


def pct(value: Any, digits: int = 1) -> str:
    """A fraction as a percentage (``0.125`` → ``12.5%``); ``—`` when there is none."""
    return "—" if value is None else f"{float(value) * 100:.{digits}f}%"


def signed_pct(value: Any) -> str:
    """A relative change (``0.12`` → ``+12%``, ``-0.05`` → ``-5%``); ``—`` when there is none."""
    if value is None:
        return "—"
    v = float(value) * 100
    text = f"{abs(v):.0f}%" if abs(v) >= 10 else f"{abs(v):.1f}%"
    return ("+" if v > 0 else "-" if v < 0 else "±") + text


def span(seconds: Any) -> str:
    """:func:`duration`, or ``—`` when there is none."""
    return "—" if seconds is None else duration(seconds)


def num(value: Any) -> str:
    return "—" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


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
        self.env.filters.update(json=_json, mrkdwn=mrkdwn_escape, truncate_to=truncate, duration=duration, pct=pct,
                                signed_pct=signed_pct, span=span, num=num)

    def text(self, template: str, /, **context: Any) -> str:
        return self.env.get_template(template).render(**context).strip()

    def json(self, template: str, /, **context: Any) -> Any:
        return json.loads(self.env.get_template(template).render(**context))

    def report(self, facts: Any, markup: str = "plain") -> str:
        """The daily or weekly report (``facts["report"]``) as text in ``markup``: plain, slack or teams."""
        return self.text(f"reports/{facts['report']}.txt.j2", f=facts, markup=markup)

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
