"""The filters a summary's or an evaluation's figure puts on a list: whose records (?by= a person's id)
and which days (?start=&end=, estate-local). A value that isn't one is ignored and the page says so."""
import datetime

from flask import request
from flask_login import current_user

from .. import access
from .. import clock
from ..users import User
from ..web import estate
from .forms import record_ids

MOST_ROWS = 500  # a month of one person's records is far fewer


class Filter:
    """What `?by=&start=&end=` asked for, as far as it makes sense: `person`, `start`, `end` (dates or
    None) and `problems` (what was ignored, in words)."""

    def __init__(self, args=None, whose="{}记录"):
        args = request.args if args is None else args
        self.whose = whose
        self.problems = []
        self.person = None
        raw = (args.get("by") or "").strip()[:20]
        if raw:
            ids = record_ids([raw]) if raw.isascii() and raw.isdigit() else []
            self.person = User.get_or_none(User.id == ids[0]) if ids else None
            if self.person is None:
                self.problems.append(f"没有编号为“{raw}”的人员，已忽略")
        self.start = self._day(args, "start", "开始日期")
        self.end = self._day(args, "end", "结束日期")
        if self.start and self.end and self.end < self.start:
            self.problems.append("结束日期早于开始日期，已忽略结束日期")
            self.end = None

    def _day(self, args, key, label):
        raw = (args.get(key) or "").strip()[:20]
        if not raw:
            return None
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            self.problems.append(f"{label}“{raw}”不是有效日期（格式 2026-11-01），已忽略")
            return None

    @property
    def active(self):
        return self.person is not None or self.start is not None or self.end is not None

    @property
    def label(self):
        """What the list is narrowed to, in words: 张助理记录 · 2026-11-01 至 2026-11-30."""
        parts = []
        if self.person is not None:
            parts.append(self.whose.format(self.person.display_name))
        if self.start and self.end:
            parts.append(f"{self.start:%Y-%m-%d} 至 {self.end:%Y-%m-%d}")
        elif self.start:
            parts.append(f"{self.start:%Y-%m-%d} 起")
        elif self.end:
            parts.append(f"至 {self.end:%Y-%m-%d}")
        return " · ".join(parts)

    def apply(self, query, model, by_column, at_column):
        """`query` narrowed to the person's records (`by_column`, if any) made in the days (`at_column`), and,
        for an assistant, to their zones; every state."""
        tz = estate().tz
        if self.person is not None and by_column is not None:
            query = query.where(by_column == self.person.id)
        if self.start is not None:
            query = query.where(at_column >= clock.day_bounds(self.start, tz)[0])
        if self.end is not None:
            query = query.where(at_column < clock.day_bounds(self.end, tz)[1])
        if current_user.role == "assistant":
            query = query.where(model.zone.in_(access.zone_ids(current_user)))
        return query.order_by(at_column.desc(), model.id.desc()).limit(MOST_ROWS)
