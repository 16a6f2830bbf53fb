"""Meetings (例会): department and business-unit meetings — the day, who attended, what was decided
and the actions agreed. Attendance shows in each attendee's work record and in their evaluation.

An action is an internal task (内部任务) of the department: someone owns it, maybe by a day, and it is
done with a note — it has no customer, no one-hour clock and no place in the satisfaction figures.
When it is a customer's matter after all, it can become a request instead, linked back.

    待办 ──完成──▶ 已完成
      └──转为诉求──▶ 已转为诉求
"""

import peewee

from . import clock
from . import events
from . import lifecycle
from .db import BaseModel
from .db import VersionedMixin
from .db import RuleError
from .db import VoidableMixin
from .db import checked_text
from .db import database
from .db import Prepared
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


ACTION_STATES = {"open": "待办", "done": "已完成", "ticket": "已转为诉求"}


class Action(VersionedMixin, BaseModel):
    """A thing agreed at the meeting: an internal task with its owner and day, or the request it became."""

    meeting = peewee.ForeignKeyField(Meeting, backref="actions", on_delete="CASCADE")
    position = peewee.IntegerField()
    text = peewee.TextField()
    ticket = peewee.ForeignKeyField(Ticket, null=True, backref="+", on_delete="RESTRICT", column_name="ticket_id")
    # Indexed by migration 18 (an index made with the table would come before the column on an old database).
    owner = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT", column_name="owner_id",
                                   index=False)
    due_on = peewee.DateField(null=True)
    state = peewee.CharField(max_length=10, default="open")
    done_note = peewee.TextField(default="")
    done_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("meeting", "position"), True),)

    @property
    def state_label(self):
        return ACTION_STATES.get(self.state, self.state)

    @property
    def is_open(self):
        return self.state == "open"


MODELS = [Meeting, Attendance, Action]

ASSIGN, DONE, TO_TICKET = "assign", "done", "to_ticket"
_STAFF = ("supervisor", "assistant")
ACTIONS = lifecycle.Machine(Action, "行动事项", ACTION_STATES, [
    lifecycle.step(ASSIGN, "指定负责人", "open", None, _STAFF),
    lifecycle.step(DONE, "完成", "open", "done", _STAFF),
    lifecycle.step(TO_TICKET, "转为诉求", "open", "ticket", _STAFF),
], open_states=("open",), error=MeetingError)


def _owner_of(line, attendees, default):
    """"王助理：整理案例" → (王助理, "整理案例") when the line starts with an attendee's name; else the
    line as it is, owned by `default`."""
    for user in attendees:
        for mark in ("：", ":", " "):
            if line.startswith(user.display_name + mark):
                return user, line[len(user.display_name) + 1:].strip() or line
    return default, line


def record_meeting(actor, *, day, kind, topic, attendees, decisions="", actions=()):
    """Minutes of a meeting: the day (not after today), the kind, the topic, who attended, decisions
    and actions (one per line, each an internal task owned by the attendee whose name starts the line,
    else by whoever records the meeting)."""
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
        for position, line in enumerate(actions, 1):
            owner, text = _owner_of(line, attendees, actor)
            Action.create(meeting=meeting, position=position, text=text, owner=owner)
        events.record(actor, meeting, "会议纪要", note=f"{day:%m-%d} {kind}：{topic}；参会 "
                                                       + "、".join(u.display_name for u in attendees))
    return meeting


def assign(actor, action, expected_version, owner, due_on=None):
    """Who owns an open action, and by which day (none: no day set)."""
    if owner is None or not owner.is_active or owner.role not in _STAFF:
        raise MeetingError("请选择负责人", "owner")
    if due_on is not None and due_on < action.meeting.day:
        raise MeetingError("完成期限不能早于会议日期", "due_on")
    with database.atomic():
        fresh = ACTIONS.transition(actor, action, expected_version, ASSIGN, owner=owner.id, due_on=due_on,
                                   note=f"{action.text} → {owner.display_name}"
                                        + (f"，{due_on:%m-%d} 前完成" if due_on else ""))
        events.record(actor, action.meeting, "指定负责人", note=f"{action.text} → {owner.display_name}"
                      + (f"，{due_on:%m-%d} 前完成" if due_on else ""))
    return fresh


def complete(actor, action, expected_version, note=""):
    """完成 an action, saying what was done."""
    note = checked_text(note, 500, "完成情况", "done_note", error=MeetingError)
    with database.atomic():
        fresh = ACTIONS.transition(actor, action, expected_version, DONE, note=note, done_note=note,
                                   done_at=clock.utcnow())
        events.record(actor, action.meeting, "行动事项完成", note=action.text + (f"：{note}" if note else ""))
    return fresh


def link_ticket(actor, action, ticket):
    """The request an open action became instead of an internal task (once)."""
    with database.atomic():
        guarded(Action.update(ticket_id=ticket.id, state="ticket", version=Action.version + 1).where(
            (Action.id == action.id) & Action.ticket_id.is_null() & (Action.state == "open")),
            MeetingError("这项行动已转为诉求或已完成"))
        events.record(actor, action, "转为诉求", from_state="待办", to_state="已转为诉求", note=ticket.number)
        events.record(actor, action.meeting, "行动转为诉求", note=f"{action.text} → {ticket.number}")
        events.record(actor, ticket, "来自例会", note=f"{action.meeting.day:%m-%d} {action.meeting.kind}：{action.text}")


def attended(user, first, last):
    """The meetings `user` attended from day `first` to `last`."""
    return list(Meeting.live().join(Attendance).where((Attendance.user == user) & (Meeting.day >= first)
                                                      & (Meeting.day <= last)).order_by(Meeting.day))


def held(first, last, kinds=("部门例会",)):
    """How many meetings of `kinds` were held from `first` to `last`."""
    return Meeting.live().where((Meeting.day >= first) & (Meeting.day <= last) & Meeting.kind.in_(kinds)).count()


_OPEN_OF = Prepared(Action, lambda user_id: Action.select(
    Action, Meeting.day.alias("meeting_day"), Meeting.kind.alias("meeting_kind"),
    Meeting.topic.alias("meeting_topic")).join(Meeting)
                    .where((Action.owner == user_id) & (Action.state == "open") & Meeting.voided_at.is_null())
                    .order_by(Action.due_on.asc(nulls="last"), Meeting.day, Action.position), -1)


def owed(user, now):
    """The open meeting actions `user` owns, as agenda Items: due at the end of their day, if they have one."""
    from .agenda import Item  # the agenda reads areas; importing it here keeps the layers one way

    tz = _tz()
    items = []
    for action in _OPEN_OF(user.id):
        day = Meeting.day.python_value(action.meeting_day)  # a column beside the action's own: as stored
        items.append(Item(kind="meeting.action", group="例会行动", ref=("meeting", action.meeting_id), title=action.text,
                          due=clock.day_bounds(action.due_on, tz)[1] if action.due_on else None, action="完成",
                          detail=f"{day:%m-%d} {action.meeting_kind}「{action.meeting_topic}」"
                                 + (f" · {action.due_on:%m-%d} 前完成" if action.due_on else "")))
    return items


def open_actions(meeting_ids=None):
    """Open actions, oldest meeting first, each with its meeting."""
    query = Action.select(Action, Meeting).join(Meeting).where((Action.state == "open") & Meeting.voided_at.is_null())
    if meeting_ids is not None:
        query = query.where(Meeting.id.in_(meeting_ids))
    return list(query.order_by(Meeting.day, Action.position))
