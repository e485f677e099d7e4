"""Business time: weekends, holidays, split days, DST, 24:00, and add/between as inverses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handoff.config import ConfigError, parse_config
from handoff.sla.calendar import Calendar, Calendars
from handoff.sla.config import BusinessHours

OFFICE = Calendar.from_config(BusinessHours(timezone="Europe/Berlin",
                                            weekly={d: ["09:00-12:00", "13:00-17:00"]
                                                    for d in ("mon", "tue", "wed", "thu", "fri")},
                                            holidays=[date(2026, 12, 25)]))


def berlin(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


def test_a_friday_afternoon_clock_continues_on_monday_morning() -> None:
    friday_4pm = berlin(2026, 12, 4, 16)
    assert OFFICE.add(friday_4pm, 3600) == berlin(2026, 12, 4, 17)  # exactly the last hour of the week
    assert OFFICE.add(friday_4pm, 2 * 3600) == berlin(2026, 12, 7, 10)  # one hour on Friday, one on Monday
    assert OFFICE.between(friday_4pm, berlin(2026, 12, 7, 10)) == 2 * 3600
    assert not OFFICE.is_open(berlin(2026, 12, 5, 11))  # Saturday
    assert OFFICE.next_open(berlin(2026, 12, 5, 11)) == berlin(2026, 12, 7, 9)


def test_the_lunch_break_and_a_holiday_do_not_count() -> None:
    assert OFFICE.add(berlin(2026, 12, 2, 11, 30), 3600) == berlin(2026, 12, 2, 13, 30)
    assert not OFFICE.is_open(berlin(2026, 12, 2, 12, 30))
    # Thursday 24 Dec 16:00 + 2 h: one hour that day, Christmas (a Friday) is a holiday, the rest on Monday 28th.
    assert OFFICE.add(berlin(2026, 12, 24, 16), 2 * 3600) == berlin(2026, 12, 28, 10)
    assert OFFICE.next_open(berlin(2026, 12, 24, 18)) == berlin(2026, 12, 28, 9)
    assert OFFICE.next_close(berlin(2026, 12, 24, 16)) == berlin(2026, 12, 24, 17)
    assert OFFICE.next_close(berlin(2026, 12, 24, 18)) is None


def test_a_span_is_local_wall_time_across_daylight_saving_changes() -> None:
    # Berlin moves to summer time on 29 March 2026: 09:00 local is 08:00 UTC before, 07:00 UTC after.
    assert berlin(2026, 3, 27, 9) == datetime(2026, 3, 27, 8, tzinfo=UTC)
    assert OFFICE.next_open(berlin(2026, 3, 28, 12)) == datetime(2026, 3, 30, 7, tzinfo=UTC)
    assert OFFICE.between(berlin(2026, 3, 27, 9), berlin(2026, 3, 30, 17)) == 2 * 7 * 3600
    night = Calendar.from_config(BusinessHours(timezone="Europe/Berlin", weekly={"sun": ["01:00-04:00"]}))
    # 02:00-03:00 does not exist on 29 March: that Sunday's span holds two hours of wall time.
    assert night.between(berlin(2026, 3, 29, 0), berlin(2026, 3, 29, 5)) == 2 * 3600
    assert night.between(berlin(2026, 10, 25, 0), berlin(2026, 10, 25, 5)) == 4 * 3600  # and four in October


def test_24_7_equals_wall_time_and_24_00_closes_at_midnight() -> None:
    always = Calendar.always()
    t = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert always.add(t, 10 * 86400 + 7) == t + timedelta(days=10, seconds=7)
    late = Calendar.from_config(BusinessHours(timezone="UTC", weekly={"mon": ["20:00-24:00"]}))
    monday = datetime(2026, 6, 1, 22, tzinfo=UTC)
    assert late.add(monday, 7200) == datetime(2026, 6, 2, 0, tzinfo=UTC)
    assert late.add(monday, 7201) == datetime(2026, 6, 8, 20, 0, 1, tzinfo=UTC)


def test_months_of_business_time_are_quick_and_exact() -> None:
    start = berlin(2026, 1, 5, 9)
    end = OFFICE.add(start, 60 * 7 * 3600)  # sixty working days
    assert OFFICE.between(start, end) == pytest.approx(60 * 7 * 3600)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
       st.floats(min_value=0, max_value=40 * 86400, allow_nan=False))
def test_between_is_the_inverse_of_add(start: datetime, seconds: float) -> None:
    t = start.replace(tzinfo=UTC)
    assert OFFICE.between(t, OFFICE.add(t, seconds)) == pytest.approx(seconds, abs=1e-6)


def test_queues_have_their_own_hours_or_the_default_and_no_open_hours_is_refused() -> None:
    cfg = parse_config({"business_hours": {"timezone": "UTC", "weekly": {"mon": ["08:00-09:00"]}},
                        "queues": {"technical": {"hours": {"timezone": "Asia/Tokyo",
                                                           "weekly": {"tue": ["09:00-10:00"]}}},
                                   "billing": {}}})
    cals = Calendars(cfg)
    assert cals.for_queue("billing").next_open(datetime(2026, 6, 2, 0, tzinfo=UTC)) == \
        datetime(2026, 6, 8, 8, tzinfo=UTC)
    assert cals.for_queue("technical").next_open(datetime(2026, 6, 1, 0, tzinfo=UTC)) == \
        datetime(2026, 6, 2, 0, tzinfo=UTC)  # 09:00 in Tokyo
    with pytest.raises(ConfigError, match="no open hours"):
        parse_config({"business_hours": {"weekly": {}}})
    with pytest.raises(ConfigError, match="not a span"):
        parse_config({"business_hours": {"weekly": {"mon": ["17:00-09:00"]}}})
