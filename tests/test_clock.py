"""The clock: UTC storage, the estate's zone, day bounds and service-hour arithmetic."""
import datetime

import pytest
import time_machine

from kefu import clock

SH = clock.zone("Asia/Shanghai")
UTC = datetime.timezone.utc
HOURS = clock.ServiceHours()  # every day 08:00–20:00


def sh(*args):
    return datetime.datetime(*args, tzinfo=SH)


def test_now_is_frozen_and_utc():
    with time_machine.travel(sh(2026, 11, 27, 23, 50), tick=False):
        assert clock.now() == sh(2026, 11, 27, 23, 50)
        assert clock.now().tzinfo == UTC
        assert clock.utcnow() == datetime.datetime(2026, 11, 27, 15, 50)
        assert clock.today(SH) == datetime.date(2026, 11, 27)


def test_today_follows_the_estate_zone_not_utc():
    # 00:10 in Shanghai is still the previous day in UTC.
    with time_machine.travel(sh(2026, 11, 28, 0, 10), tick=False):
        assert clock.today(SH) == datetime.date(2026, 11, 28)
        assert clock.now().date() == datetime.date(2026, 11, 27)


def test_day_bounds_are_local_midnights_in_utc():
    start, end = clock.day_bounds(datetime.date(2026, 11, 27), SH)
    assert start == datetime.datetime(2026, 11, 26, 16, 0)
    assert end == datetime.datetime(2026, 11, 27, 16, 0)


def test_stored_time_is_shown_in_local_time():
    stored = datetime.datetime(2026, 11, 27, 15, 50)  # naive UTC
    assert clock.to_local(stored, SH) == sh(2026, 11, 27, 23, 50)


@pytest.mark.parametrize("start, minutes, due", [
    (sh(2026, 11, 27, 10, 0), 60, sh(2026, 11, 27, 11, 0)),       # inside hours
    (sh(2026, 11, 27, 19, 30), 60, sh(2026, 11, 28, 8, 30)),      # across the end of hours
    (sh(2026, 11, 27, 23, 50), 60, sh(2026, 11, 28, 9, 0)),       # logged at night
    (sh(2026, 11, 28, 0, 10), 60, sh(2026, 11, 28, 9, 0)),        # after midnight
    (sh(2026, 11, 27, 6, 0), 30, sh(2026, 11, 27, 8, 30)),        # before opening
    (sh(2026, 11, 27, 10, 0), 72 * 60, sh(2026, 12, 3, 10, 0)),   # 72 working hours = 6 days of 12 h
    (sh(2026, 11, 27, 20, 0), 0, sh(2026, 11, 28, 8, 0)),         # at closing: starts next morning
])
def test_deadline_counts_only_service_hours(start, minutes, due):
    assert HOURS.add_working_minutes(start, minutes, SH) == due


def test_closed_weekdays_are_skipped():
    weekdays_only = clock.ServiceHours(weekdays=frozenset(range(5)))
    friday_evening = sh(2026, 11, 27, 19, 30)  # a Friday
    assert weekdays_only.add_working_minutes(friday_evening, 60, SH) == sh(2026, 11, 30, 8, 30)


def test_working_minutes_between_skips_the_night():
    assert HOURS.working_minutes_between(sh(2026, 11, 27, 19, 30), sh(2026, 11, 28, 8, 30), SH) == 60
    assert HOURS.working_minutes_between(sh(2026, 11, 28, 9, 0), sh(2026, 11, 27, 9, 0), SH) == 0


def test_is_open():
    assert HOURS.is_open(sh(2026, 11, 27, 8, 0), SH)
    assert not HOURS.is_open(sh(2026, 11, 27, 20, 0), SH)
    assert not HOURS.is_open(sh(2026, 11, 27, 7, 59), SH)


def test_never_open_hours_refuse_instead_of_looping():
    closed = clock.ServiceHours(weekdays=frozenset())
    with pytest.raises(ValueError):
        closed.add_working_minutes(sh(2026, 11, 27, 10, 0), 60, SH)


def test_documents_date_format():
    assert clock.format_cn_date(datetime.date(2026, 11, 27)) == "2026年11月27日"
