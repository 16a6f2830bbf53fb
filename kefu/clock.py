"""The app's one clock: now() in UTC, conversion to the estate's zone, and service-hour arithmetic.

Times are stored as naive UTC. Tests freeze `now()` with time-machine.
"""
import contextlib
import dataclasses
import datetime
import functools
import zoneinfo

import holidays

UTC = datetime.timezone.utc
DEFAULT_TZ = "Asia/Shanghai"


_set_to = None


def now():
    """The current time, timezone-aware, in UTC."""
    if _set_to is not None:
        return _set_to
    return datetime.datetime.now(UTC)


@contextlib.contextmanager
def set_to(moment):
    """Run a block as if it were `moment`: for building the demo estate's history, not for serving."""
    global _set_to
    previous, _set_to = _set_to, moment.astimezone(UTC)
    try:
        yield
    finally:
        _set_to = previous


def utcnow():
    """The current time as stored in the database: naive UTC."""
    return now().replace(tzinfo=None)


def zone(name=None):
    return zoneinfo.ZoneInfo(name or DEFAULT_TZ)


def aware(dt):
    """A stored naive-UTC datetime made timezone-aware."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def to_local(dt, tz):
    """A stored (naive UTC) or aware datetime in the estate's zone."""
    if dt is None:
        return None
    return aware(dt).astimezone(tz)


def to_utc_naive(dt):
    return dt.astimezone(UTC).replace(tzinfo=None)


def today(tz):
    """Today's date in the estate's zone."""
    return now().astimezone(tz).date()


def day_bounds(day, tz):
    """The [start, end) of a local calendar day, as naive UTC, for querying stored times."""
    # The calendar's first and last days can't be moved to UTC (a day typed as 0001-01-01 into a
    # URL or a filter): they are read as their neighbours, which find the same nothing.
    day = datetime.date.fromordinal(min(max(day.toordinal(), 2), datetime.date.max.toordinal() - 1))
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return to_utc_naive(start), to_utc_naive(end)


@functools.lru_cache(maxsize=1)
def _china():
    # Public holidays and the weekend days worked in their place (调休), from the holidays package.
    return holidays.China(language="zh_CN")


def _holiday_name(name):
    """"清明节（补假）" → 清明节; a rest day swapped for a working weekend → 调休休息日."""
    if "调休" in name:
        return "调休休息日"
    return name.split("（")[0]


def day_kind(day):
    """What kind of day `day` is in mainland China: ("holiday", "国庆节"), ("weekend", ""),
    ("workday", "调休上班") for a weekend day worked in place of a holiday, or ("workday", "").
    A weekend inside a holiday break (the Sunday of the Spring Festival week) is that holiday."""
    china = _china()
    name = china.get(day)
    if name:
        return "holiday", _holiday_name(name)
    if day.weekday() < 5:
        return "workday", ""
    if china.is_working_day(day):
        return "workday", "调休上班"
    for step in (-1, 1):  # the break this weekend belongs to, if any
        other = day + datetime.timedelta(days=step)
        while other.weekday() >= 5 and not china.is_working_day(other) and not china.get(other):
            other += datetime.timedelta(days=step)
        if china.get(other) and abs((other - day).days) <= 2:
            return "holiday", _holiday_name(china.get(other))
    return "weekend", ""


@dataclasses.dataclass(frozen=True)
class ServiceHours:
    """When the service centre is open: the same hours on each open weekday (0 = Monday)."""

    start: datetime.time = datetime.time(8, 0)
    end: datetime.time = datetime.time(20, 0)
    weekdays: frozenset = frozenset(range(7))

    def open_span(self, day, tz):
        """The open interval of a local day as aware datetimes, or None if closed that day."""
        if day.weekday() not in self.weekdays or self.end <= self.start:
            return None
        return (datetime.datetime.combine(day, self.start, tzinfo=tz),
                datetime.datetime.combine(day, self.end, tzinfo=tz))

    def is_open(self, moment, tz):
        local = aware(moment).astimezone(tz)
        span = self.open_span(local.date(), tz)
        return span is not None and span[0] <= local < span[1]

    def add_working_minutes(self, start, minutes, tz):
        """The moment `minutes` of open time after `start` (aware, UTC).

        Time outside service hours doesn't count: a request logged at 19:50 with a 60-minute
        limit is due at 08:50 the next open day.
        """
        remaining = datetime.timedelta(minutes=minutes)
        cursor = aware(start).astimezone(tz)
        for _ in range(3660):  # at most ten years of closed days
            span = self.open_span(cursor.date(), tz)
            if span is not None:
                begin = max(cursor, span[0])
                if begin < span[1]:
                    available = span[1] - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            next_day = cursor.date() + datetime.timedelta(days=1)
            cursor = datetime.datetime.combine(next_day, datetime.time.min, tzinfo=tz)
        raise ValueError("service hours never open")

    def working_minutes_between(self, start, end, tz):
        """Open minutes elapsed between two moments (0 if end is before start)."""
        start, end = aware(start).astimezone(tz), aware(end).astimezone(tz)
        total = datetime.timedelta()
        day = start.date()
        while day <= end.date():
            span = self.open_span(day, tz)
            if span is not None:
                lo, hi = max(start, span[0]), min(end, span[1])
                if hi > lo:
                    total += hi - lo
            day += datetime.timedelta(days=1)
        return total.total_seconds() / 60


def format_cn_date(day):
    """A date as printed on documents: 2026年11月27日."""
    return f"{day.year}年{day.month}月{day.day}日"
