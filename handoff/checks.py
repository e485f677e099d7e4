"""Value checks shared by every edge (HTTP API, ``BATON_CONFIG``, rules file, CRM enrichment) and the domain.

One function per kind of value, so an API body, a config file and a CRM answer are held to the same rule:

- :func:`zone` / :func:`check_zone`: an IANA time zone name (``"America"`` is a directory, not a zone).
- :func:`check_hours`: working hours ``"HH:MM-HH:MM"`` with real clock values (``24:00`` may end a span).
- :func:`clean_text`: no NUL or other C0 control characters (tab, newline, carriage return stay) and no lone
  UTF-16 surrogates — neither PostgreSQL nor a UTF-8 encoder can store them.
- :func:`clean_fields` / :func:`check_free_form`: the same for request bodies, shallow for typed models and deep
  (with caps on nesting depth and number of keys) for free-form objects such as ``ai.entities``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Vertical tab and form feed are line breaks in text pasted from word processors: keep them as newlines.
_BREAKS = re.compile("[\x0b\x0c]")
_DROP = re.compile("[\x00-\x08\x0e-\x1f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]|24):([0-5]\d)$")

FREE_FORM_MAX_DEPTH = 20
FREE_FORM_MAX_KEYS = 500


@lru_cache(maxsize=1024)
def zone(name: str | None) -> ZoneInfo | None:
    """The time zone called ``name``, or None when there is no such IANA zone (never raises)."""
    if not name or _UNSAFE.search(name) or len(name) > 64:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: "America" is a directory of the zone database (IsADirectoryError), not a zone.
        return None


def check_zone(name: str) -> str:
    """``name`` if it is an IANA time zone (``Europe/Berlin``, ``UTC``).

    Raises:
        ValueError: naming the value, for any name that is not a zone.
    """
    if zone(name) is None:
        raise ValueError(f"{name!r} is not an IANA time zone (like 'Europe/Berlin' or 'UTC')")
    return name


def check_hours(value: str) -> str:
    """``value`` if it is working hours ``HH:MM-HH:MM`` (00:00-23:59, ``24:00`` as an end; overnight allowed).

    Raises:
        ValueError: for anything else, e.g. ``25:99-17:00``.
    """
    m = _HOURS.match(value)
    if m is None or (m.group(3) == "24" and m.group(4) != "00"):
        raise ValueError(f"{value!r} is not working hours like '09:00-17:30' (hours 00-23, minutes 00-59)")
    if value[:5] == value[6:]:
        raise ValueError(f"{value!r} starts and ends at the same time")
    return value


def clean_text(value: str) -> str:
    """``value`` without C0 control characters other than tab, newline and carriage return.

    Vertical tab and form feed become newlines; NUL and the other controls are removed; a lone surrogate
    becomes U+FFFD. Text that needs none of this is returned as it is (the common case costs one scan).
    """
    if not _UNSAFE.search(value):
        return value
    return _SURROGATE.sub("\ufffd", _DROP.sub("", _BREAKS.sub("\n", value)))


def fit_text(value: str | None, max_length: int) -> str | None:
    """A string from outside (a CRM answer) made storable: cleaned, trimmed, cut to ``max_length``; None if empty."""
    if value is None:
        return None
    text = clean_text(value).strip()[:max_length].rstrip()
    return text or None


def clean_fields(data: Any, keep: frozenset[str] = frozenset()) -> Any:
    """A request model's raw input with :func:`clean_text` applied to its own strings (except the ``keep`` ones).

    Shallow on purpose: string fields, lists of strings and string-to-string maps of this model. Nested models
    clean their own fields; free-form objects are cleaned deeply by :func:`check_free_form`. ``keep``: fields whose
    control characters mean the value is wrong, not dirty (a URL), so their own validator refuses them.
    """
    if not isinstance(data, Mapping):
        return data
    out: dict[Any, Any] = {}
    for key, value in data.items():
        if key in keep:
            out[key] = value
        elif isinstance(value, str):
            value = clean_text(value)
        elif isinstance(value, list):
            value = [clean_text(v) if isinstance(v, str) else v for v in value]
        elif isinstance(value, Mapping):
            value = {clean_text(k) if isinstance(k, str) else k: clean_text(v) if isinstance(v, str) else v
                     for k, v in value.items()}
        out[clean_text(key) if isinstance(key, str) else key] = value
    return out


def check_free_form(value: Any, *, max_depth: int = FREE_FORM_MAX_DEPTH,
                    max_keys: int = FREE_FORM_MAX_KEYS) -> Any:
    """A free-form JSON value (``ai.entities``, ``technical``) made safe to store, or a ValueError.

    Every string (keys included) goes through :func:`clean_text`. Objects and arrays may nest ``max_depth``
    levels; all objects together may hold ``max_keys`` keys. Iterative, so a body nested 900 levels deep is
    refused at level ``max_depth + 1`` instead of exhausting the stack.

    Raises:
        ValueError: naming the path where the value went too deep, or the number of keys.
    """
    keys = 0
    root: list[Any] = [None]
    # Each entry: (source container, destination container, key in destination, depth, path).
    stack: list[tuple[Any, Any, Any, int, str]] = [(value, root, 0, 0, "")]
    while stack:
        src, dst, slot, depth, path = stack.pop()
        if isinstance(src, str):
            dst[slot] = clean_text(src)
        elif isinstance(src, Mapping) or isinstance(src, list):
            if depth >= max_depth:
                raise ValueError(f"nested deeper than {max_depth} levels at {path or 'the top'}")
            if isinstance(src, Mapping):
                keys += len(src)
                if keys > max_keys:
                    raise ValueError(f"more than {max_keys} keys in all")
                obj: dict[Any, Any] = {}
                dst[slot] = obj
                for k, v in src.items():
                    name = clean_text(k) if isinstance(k, str) else k
                    obj[name] = None
                    stack.append((v, obj, name, depth + 1, f"{path}.{name}" if path else str(name)))
            else:
                arr: list[Any] = [None] * len(src)
                dst[slot] = arr
                for i, v in enumerate(src):
                    stack.append((v, arr, i, depth + 1, f"{path}[{i}]"))
        else:
            dst[slot] = src
    return root[0]
