"""Trends for the supervisor: month by month and assistant by assistant, the share of requests
answered within the limit, return-visit satisfaction, patrol coverage of the daily checkpoints, and
the share of requests reopened.

The twelve months take a while to count over years of records, so the figures are kept in one row,
recounted by the scheduler every hour (and on the first visit if none are kept yet); the page says
when they were counted.

The supervisor's 今日 shows every assistant's patrol coverage so far today and what they missed
yesterday. Counting every zone on each visit to 今日 is too slow for the page, so that count is kept
in a second row, recounted by the scheduler every minute (and on a visit when it is older than that).
"""
import datetime
import json

import peewee
from dateutil.relativedelta import relativedelta

from . import clock
from . import scheduler
from .callbacks import ANSWERS
from .callbacks import CallBack
from .access import zone_ids
from .db import BaseModel
from .db import Prepared
from .db import database
from .estate import current_tz as _tz
from .patrols import DAILY_KINDS
from .patrols import Check
from .patrols import Checkpoint
from .patrols import checks_on_days
from .patrols import coverage_history
from .patrols import coverage_today
from .tickets import Ticket
from .tickets import answered_in_time
from .users import User

MONTHS = 12
REFRESH = 3600
TRENDS_ROW, COVERAGE_ROW = 1, 2
COVERAGE_REFRESH = 60
COVERAGE_STALE = COVERAGE_REFRESH  # older than this (the scheduler off or behind): count on the visit
MISSED_NAMES = 5
METRICS = [("response", "时限内响应率"), ("satisfaction", "回访满意率"), ("coverage", "巡查覆盖率"),
           ("reopen", "重开率")]



class TrendCache(BaseModel):
    """A kept count: when, and the figures. Row TRENDS_ROW the trends, row COVERAGE_ROW the desk's coverage."""

    counted_at = peewee.DateTimeField()
    figures = peewee.TextField()


MODELS = [TrendCache]


def months(today, count=MONTHS):
    """The first days of the last `count` months, oldest first, this month last."""
    first = today.replace(day=1)
    return [first - relativedelta(months=n) for n in range(count - 1, -1, -1)]


def _rate(part, whole):
    return round(100 * part / whole, 1) if whole else None


def coverage(user, first, last):
    """Checkpoint-days of the daily kinds in the assistant's zones that were checked, of those owed."""
    zones = zone_ids(user)
    if not zones:
        return None
    tz = _tz()
    points = list(Checkpoint.select().where(Checkpoint.zone.in_(zones) & Checkpoint.kind.in_(DAILY_KINDS)))
    owed = {(p.id, first + datetime.timedelta(days=n)) for p in points
            for n in range((last - first).days + 1) if p.active_on(first + datetime.timedelta(days=n), tz)}
    if not owed:
        return None
    checked = set(Check.select(Check.checkpoint, Check.day).where(
        Check.checkpoint.in_([p.id for p in points]) & checks_on_days(first, last)).tuples())
    return _rate(len(owed & checked), len(owed))


def count(today=None):
    """{"months": ["2026-01", …], "people": [{"name", "metrics": {metric: [value or None per month]}}]}."""
    today = today or clock.today(_tz())
    starts = months(today)
    people = []
    for user in User.active_with_role("assistant"):
        series = {key: [] for key, _label in METRICS}
        for first in starts:
            last = min(first + relativedelta(months=1) - datetime.timedelta(days=1), today)
            start, _ = clock.day_bounds(first, _tz())
            _, end = clock.day_bounds(last, _tz())
            tickets = list(Ticket.select(Ticket.responded_at, Ticket.response_due, Ticket.reopen_count)
                           .where((Ticket.assignee == user) & Ticket.voided_at.is_null()
                                  & (Ticket.created_at >= start) & (Ticket.created_at < end)))
            on_time = sum(1 for t in tickets if answered_in_time(t))
            answers = [a for (a,) in CallBack.select(CallBack.result).join(Ticket, on=CallBack.of(Ticket)).where(
                (Ticket.assignee == user) & (CallBack.at >= start) & (CallBack.at < end)
                & CallBack.result.in_(ANSWERS)).tuples()]
            series["response"].append(_rate(on_time, len(tickets)))
            series["satisfaction"].append(_rate(sum(1 for a in answers if a != "不满意"), len(answers)))
            series["coverage"].append(coverage(user, first, last))
            series["reopen"].append(_rate(sum(1 for t in tickets if t.reopen_count), len(tickets)))
        people.append({"name": user.display_name, "metrics": series})
    return {"months": [f"{m:%Y-%m}" for m in starts], "people": people}


def _keep(row_id, figures):
    figures = json.dumps(figures, ensure_ascii=False)
    now = clock.utcnow()
    with database.atomic():
        TrendCache.insert(id=row_id, counted_at=now, figures=figures).on_conflict(
            conflict_target=[TrendCache.id], update={TrendCache.counted_at: now, TrendCache.figures: figures}).execute()


_KEPT_ROW = Prepared(TrendCache, lambda row_id: TrendCache.select().where(TrendCache.id == row_id), -1)


def _kept(row_id, recount, max_age=None):
    """(figures, counted_at) of a kept row, counted now if there is none, it's from an earlier day,
    or (with max_age, in seconds) it's older than that."""
    row = next(iter(_KEPT_ROW(row_id)), None)
    now = clock.utcnow()
    if (row is None or clock.to_local(row.counted_at, _tz()).date() != clock.today(_tz())
            or (max_age is not None and (now - row.counted_at).total_seconds() > max_age)):
        recount()
        row = TrendCache.get_by_id(row_id)
    return json.loads(row.figures), row.counted_at


def refresh():
    """Count again and keep the figures."""
    _keep(TRENDS_ROW, count())


scheduler.job("trends.refresh", REFRESH)(refresh)


def current():
    """(figures, counted_at): the kept count, made now if there is none or it's from an earlier day."""
    return _kept(TRENDS_ROW, refresh)


def count_coverage(today=None):
    """Every active assistant's coverage of their zones: today so far (every kind, as on their board)
    and yesterday's misses of the daily kinds (counted as on the coverage page), with the first few names.

    [{"user_id", "name", "done", "total", "missed": n, "missed_names": [...]}], assistants without a
    zone left out."""
    today = today or clock.today(_tz())
    yesterday = today - datetime.timedelta(days=1)
    people = []
    for user in User.active_with_role("assistant"):
        zones = zone_ids(user)
        if not zones:
            continue
        board = coverage_today(zones, day=today, lists=False)
        missed = []
        for day in coverage_history(zones, yesterday, yesterday).values():
            for group in day["groups"].values():
                missed += group["missed"]
            missed += day["window"]["missed"]  # a renovation not checked in the no-noise window
        people.append({"user_id": user.id, "name": user.display_name,
                       "done": sum(group["done"] for group in board.values()),
                       "total": sum(group["total"] for group in board.values()),
                       "missed": len(missed), "missed_names": sorted(set(missed))[:MISSED_NAMES]})
    return people


def refresh_coverage():
    """Count every assistant's coverage again and keep it."""
    _keep(COVERAGE_ROW, count_coverage())


scheduler.job("trends.coverage", COVERAGE_REFRESH)(refresh_coverage)


def coverage_now():
    """(people, counted_at): the kept coverage count, counted now if it's missing or stale."""
    return _kept(COVERAGE_ROW, refresh_coverage, max_age=COVERAGE_STALE)
