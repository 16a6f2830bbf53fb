"""The assistant's work record (客户助理工作记录): each day compiled from what they did — every change
they made is already on the timeline — in time order, with their own notes and the day's 需关注 /
异常情况. Nothing is typed twice.
"""
import datetime

import peewee

from . import clock
from . import events
from .access import zone_ids
from .db import BaseModel
from .db import RuleError
from .db import checked_text
from .db import database
from .estate import Estate
from .events import Event
from .meetings import attended
from .patrols import Observation
from .users import User

# Changes made in one tap land on several timelines within a moment (a visit and its households, a
# work order and its request): a burst by the same person shows once, as its first event.
BURST = datetime.timedelta(seconds=2)
# What each kind of record is called in the work record.
KINDS = {"ticket": "诉求", "workorder": "派工单", "check": "巡查", "finding": "巡查问题", "observation": "需关注",
         "checkpoint": "巡查点", "renovation": "装修", "violation": "装修违规", "rectificationnotice": "整改通知书",
         "referral": "上报", "shop": "商铺", "shopnotice": "商铺整改通知书", "inspection": "政府检查",
         "visit": "拜访", "need": "客户需求", "serviceorder": "个性化服务", "household": "客户", "worknote": "工作记录",
         "evaluation": "岗位评估", "meeting": "例会"}


# Not work done: the notes show on their own, and signing in or changing one's password is the account's.
NOT_WORK = ("worknote", "user")


class WorklogError(RuleError):
    pass


def _tz():
    return Estate.current().tz


class WorkNote(BaseModel):
    """What the assistant adds to the day's record in their own words."""

    user = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    day = peewee.DateField()
    text = peewee.TextField()
    at = peewee.DateTimeField()

    class Meta:
        indexes = ((("user", "day"), False),)


MODELS = [WorkNote]


def add_note(actor, day, text):
    """A note on one's own record for `day` (today or a day before)."""
    text = checked_text(text, 1000, "记录内容", "text", required=True, error=WorklogError)
    if day is None or day > clock.today(_tz()):
        raise WorklogError("不能给以后的日子写记录", "day")
    with database.atomic():
        note = WorkNote.create(user=actor, day=day, text=text, at=clock.utcnow())
        events.record(actor, note, "工作记录", note=text)
    return note


class Entry:
    """One line of the record: when, what kind of record, what was done, the note, and the record."""

    __slots__ = ("at", "kind", "action", "note", "record_type", "record_id")

    def __init__(self, event):
        self.at = clock.to_local(event.at, _tz())
        self.kind = KINDS.get(event.record_type, event.record_type)
        self.action, self.note = event.action, event.note
        self.record_type, self.record_id = event.record_type, event.record_id


def entries(user, first, last):
    """What `user` did from day `first` to day `last` (estate-local), oldest first, bursts collapsed."""
    start, _ = clock.day_bounds(first, _tz())
    _, end = clock.day_bounds(last, _tz())
    found, previous = [], None
    for event in (Event.select().where((Event.actor_id == user.id) & (Event.at >= start) & (Event.at < end)
                                       & Event.record_type.not_in(NOT_WORK))
                  .order_by(Event.at, Event.id)):
        if previous is not None and event.at - previous < BURST:
            previous = event.at
            continue
        previous = event.at
        found.append(Entry(event))
    return found


def day_record(user, day):
    """Everything the day's record shows."""
    start, end = clock.day_bounds(day, _tz())
    return {
        "entries": entries(user, day, day),
        "notes": list(WorkNote.select().where((WorkNote.user == user) & (WorkNote.day == day)).order_by(WorkNote.at)),
        "meetings": attended(user, day, day),
        "observations": list(Observation.select().where(
            Observation.zone.in_(zone_ids(user)) & (Observation.created_at >= start)
            & (Observation.created_at < end)).order_by(Observation.created_at)),
    }


def week_of(day):
    """Monday to Sunday of the week `day` is in."""
    monday = day - datetime.timedelta(days=day.weekday())
    return [monday + datetime.timedelta(days=n) for n in range(7)]
