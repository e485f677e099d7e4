"""The value checks every edge shares: time zones, working hours, control characters, free-form JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handoff.checks import check_free_form, check_hours, check_zone, clean_fields, clean_text, fit_text, zone
from handoff.decide.routing import _offset_hours, within_hours


@pytest.mark.parametrize("name", ["America", "Europe", "", "Mars/Olympus", "../etc/passwd", "UTC\x00", "x" * 300,
                                  "/etc/localtime", "America/"])
def test_names_that_are_not_zones_are_refused_without_raising_anything_else(name: str) -> None:
    assert zone(name) is None
    with pytest.raises(ValueError, match="is not an IANA time zone"):
        check_zone(name)


@pytest.mark.parametrize("name", ["UTC", "Europe/Berlin", "America/New_York", "America/Argentina/Buenos_Aires"])
def test_real_zones_pass(name: str) -> None:
    assert check_zone(name) == name and zone(name) is not None


def test_routing_survives_a_bad_zone_stored_before_validation_existed() -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert _offset_hours("America", now) is None  # ZoneInfo("America") raises IsADirectoryError
    assert within_hours("09:00-17:00", "Europe", now) is None
    assert _offset_hours("Asia/Tokyo", now) == 9.0


@pytest.mark.parametrize("hours", ["09:00-17:00", "22:00-06:00", "00:00-24:00", "08:30-12:45"])
def test_working_hours_that_exist(hours: str) -> None:
    assert check_hours(hours) == hours


@pytest.mark.parametrize("hours", ["25:99-17:00", "09:60-17:00", "24:00-08:00", "09:00-24:30", "9:00-17:00",
                                   "09:00-09:00", "09:00 - 17:00", "nine-five"])
def test_working_hours_that_do_not(hours: str) -> None:
    with pytest.raises(ValueError):
        check_hours(hours)


def test_clean_text_keeps_tab_newline_cr_and_removes_other_controls() -> None:
    assert clean_text("a\tb\nc\rd") == "a\tb\nc\rd"
    assert clean_text("nul\x00 bell\x07 esc\x1b[0m") == "nul bell esc[0m"
    assert clean_text("line1\x0bline2\x0cline3") == "line1\nline2\nline3"  # Word's line break, PDF page break
    assert clean_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert clean_text("plain é ✓ 😀") == "plain é ✓ 😀"


def test_clean_fields_is_shallow_and_covers_lists_and_string_maps() -> None:
    raw = {"text": "a\x00", "tags": ["x\x01", 3], "handles": {"sl\x00ack": "U\x00"}, "nested": {"deep": {"x": "\x00"}}}
    out = clean_fields(raw)
    assert out["text"] == "a" and out["tags"] == ["x", 3] and out["handles"] == {"slack": "U"}
    assert out["nested"] == {"deep": {"x": "\x00"}}  # a nested model (or free-form object) cleans itself
    assert clean_fields([1, 2]) == [1, 2]


def test_free_form_objects_are_cleaned_deeply_including_keys() -> None:
    out = check_free_form({"k\x00": ["v\x00", {"x": "y\x1f"}], "n": 1.5, "b": None})
    assert out == {"k": ["v", {"x": "y"}], "n": 1.5, "b": None}


def _nested(levels: int) -> dict[str, object]:
    value: dict[str, object] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _lists(levels: int) -> list[object]:
    value: list[object] = [1]
    for _ in range(levels - 1):
        value = [value]
    return value


def test_free_form_depth_is_capped_without_recursion() -> None:
    assert check_free_form(_nested(20)) == _nested(20)
    with pytest.raises(ValueError, match="nested deeper than 20 levels"):
        check_free_form(_nested(21))
    with pytest.raises(ValueError, match="nested deeper than 20 levels"):
        check_free_form(_nested(5000))  # far past Python's recursion limit: refused, not a RecursionError
    with pytest.raises(ValueError, match="nested deeper"):
        check_free_form({"l": _lists(20)})  # arrays count as levels too


def test_free_form_key_count_is_capped_across_all_objects() -> None:
    check_free_form({f"k{i}": {"x": i} for i in range(250)})  # 500 keys in all
    with pytest.raises(ValueError, match="more than 500 keys"):
        check_free_form({f"k{i}": {"x": i, "y": i} for i in range(200)})


def test_fit_text_cleans_and_cuts_crm_values() -> None:
    assert fit_text("Acme\x00 Ltd" + "x" * 300, 200) == ("Acme Ltd" + "x" * 300)[:200]
    assert fit_text("  \x00 ", 10) is None and fit_text(None, 10) is None
