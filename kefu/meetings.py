"""Meetings (例会): department and business-unit meetings — the day, who attended, what was decided
and the actions agreed. An action can become a request or a work order, linked back. Attendance
shows in each attendee's work record and in their evaluation.
"""
import peewee

from . import clock
from . import events
from .db import BaseModel
from .db import RuleError
from .db import VoidableMixin
from .db import checked_text
from .db import database
from .db import guarded
from .estate import current_tz as _tz
from .tickets import Ticket
from .users import User

KINDS = ["部门例会", "业务块例会", "专题会议"]


class MeetingError(RuleError):
    pass



class Meeting(VoidableMixin, BaseModel):
    day = peewee.DateField(index=True)
    kind = peewee.CharField(max_length=10)
    topic = peewee.CharField(max_length=60)
    decisions = peewee.TextField(default="")
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    def attendees(self):
        return (User.select().join(Attendance, on=(Attendance.user == User.id))
                .where(Attendance.meeting == self).order_by(User.display_name))


class Attendance(BaseModel):
    meeting = peewee.ForeignKeyField(Meeting, backref="attendance", on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")

    class Meta:
        indexes = ((("meeting", "user"), True), (("user", "meeting"), False))


class Action(BaseModel):
    """A thing agreed at the meeting, and the request or work order it became."""

    meeting = peewee.ForeignKeyField(Meeting, backref="actions", on_delete="CASCADE")
    position = peewee.IntegerField()
    text = peewee.TextField()
    ticket = peewee.ForeignKeyField(Ticket, null=True, backref="+", on_delete="RESTRICT", column_name="ticket_id")

    class Meta:
        indexes = ((("meeting", "position"), True),)


MODELS = [Meeting, Attendance, Action]


def record_meeting(actor, *, day, kind, topic, attendees, decisions="", actions=()):
    """Minutes of a meeting: the day (not after today), the kind, the topic, who attended, decisions
    and actions (one per line)."""
    if kind not in KINDS:
        raise MeetingError("请选择会议类型", "kind")
    if day is None or day > clock.today(_tz()):
        raise MeetingError("会议日期不能晚于今天", "day")
    topic = checked_text(topic, 60, "会议主题", "topic", required=True, error=MeetingError)
    decisions = checked_text(decisions, 2000, "会议决定", "decisions", error=MeetingError)
    attendees = list({u.id: u for u in attendees}.values())
    if not attendees:
        raise MeetingError("请选择参会人员", "attendees")
    actions = [a.strip() for a in actions if a and a.strip()]
    if any(len(a) > 500 for a in actions):
        raise MeetingError("每项行动不超过 500 个字", "actions")
    with database.atomic():
        meeting = Meeting.create(day=day, kind=kind, topic=topic, decisions=decisions, created_by=actor,
                                 created_at=clock.utcnow())
        for user in attendees:
            Attendance.create(meeting=meeting, user=user)
        for position, text in enumerate(actions, 1):
            Action.create(meeting=meeting, position=position, text=text)
        events.record(actor, meeting, "会议纪要", note=f"{day:%m-%d} {kind}：{topic}；参会 "
                                                       + "、".join(u.display_name for u in attendees))
    return meeting


def link_ticket(actor, action, ticket):
    """The request an action became (once)."""
    with database.atomic():
        guarded(Action.update(ticket_id=ticket.id).where((Action.id == action.id) & Action.ticket_id.is_null()),
                MeetingError("这项行动已转为诉求"))
        events.record(actor, action.meeting, "行动转为诉求", note=f"{action.text} → {ticket.number}")
        events.record(actor, ticket, "来自例会", note=f"{action.meeting.day:%m-%d} {action.meeting.kind}：{action.text}")


def attended(user, first, last):
    """The meetings `user` attended from day `first` to `last`."""
    return list(Meeting.live().join(Attendance).where((Attendance.user == user) & (Meeting.day >= first)
                                                      & (Meeting.day <= last)).order_by(Meeting.day))


def held(first, last, kinds=("部门例会",)):
    """How many meetings of `kinds` were held from `first` to `last`."""
    return Meeting.live().where((Meeting.day >= first) & (Meeting.day <= last) & Meeting.kind.in_(kinds)).count()
