"""上报: what went up to the supervisor, whether an assistant sent it or the lateness rule did.

One rule for lateness: anything on anyone's agenda past its deadline, plus the grace set for its
kind under 设置, escalates to the supervisor once (one row per record, kind and deadline, so a
second sweep or a second worker adds nothing). An escalation has its own life — 待处理 → 已批示 /
已转派 / 已接手 → 已解决 — and the supervisor's queue shows first those that need them now
(待处理). It ends by itself when what was late is no longer waiting (the response was given, the
order inspected); an escalated request's ends when the request is resolved, closed or voided.
"""
import json

import peewee

from . import agenda
from . import clock
from . import events
from . import lifecycle
from . import notices
from . import scheduler
from .db import BaseModel
from .db import Prepared
from .db import RuleError
from .db import StaleRecord
from .db import VersionedMixin
from .db import database
from .users import User

STATES = {"pending": "待处理", "instructed": "已批示", "reassigned": "已转派", "taken": "已接手",
          "resolved": "已解决"}
OPEN = ("pending", "instructed", "reassigned", "taken")

# The kinds of lateness, as 设置 lists them, with the grace each gets by default (minutes). The
# resolution deadline escalates at once, as it always did; a missed response after a quarter hour.
GRACE = {
    "ticket.respond": ("诉求响应", 15),
    "ticket.handle": ("诉求处理（已响应未派工）", 0),
    "ticket.follow": ("诉求处理时限", 0),
    "ticket.callback": ("诉求回访", 60),
    "workorder.accept": ("派工单接单", 30),
    "workorder.do": ("派工单完成时限", 30),
    "workorder.redo": ("返工完成时限", 30),
    "workorder.inspect": ("派工单验收", 60),
    "service.agree": ("个性化服务约时间", 30),
    "service.confirm": ("个性化服务确认时间", 30),
    "service.dispatch": ("个性化服务派工", 30),
    "service.callback": ("个性化服务回访", 120),
    "need.answer": ("需求答复", 120),
    "notice.serve": ("整改通知书送达", 240),
    "notice.recheck": ("整改通知书复查", 240),
    "finding.hand_off": ("巡查问题处理", 240),
    "summary.write": ("月度总结", 1440),
}
NOT_ESCALATED = ("patrol.", "evaluation.", "summary.sign", "violation.escalated", "escalation.")


class EscalationError(RuleError):
    pass


class Escalation(VersionedMixin, BaseModel):
    """One thing sent up to the supervisor: which record, why, and where it stands."""

    kind = peewee.CharField(max_length=30)       # the wait that went late, or "ticket.escalate" (by hand)
    ref_type = peewee.CharField(max_length=30)
    ref_id = peewee.IntegerField()
    due = peewee.DateTimeField()                 # the deadline that passed (by hand: when it was sent)
    title = peewee.CharField(max_length=160)
    who = peewee.CharField(max_length=60, default="")  # whose it was: a zone or a unit
    reason = peewee.TextField(default="")
    state = peewee.CharField(max_length=12, default="pending")
    by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")  # None: the lateness rule
    created_at = peewee.DateTimeField()
    handled_at = peewee.DateTimeField(null=True)
    note = peewee.TextField(default="")          # the supervisor's last word on it
    resolved_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("ref_type", "ref_id", "kind", "due"), True), (("state", "created_at"), False))

    @property
    def state_label(self):
        return STATES[self.state]

    @property
    def number(self):
        return f"SB{self.id:06d}"


class LatenessRules(VersionedMixin, BaseModel):
    """The grace each kind of lateness gets before it goes up (one row; minutes per kind as JSON)."""

    grace = peewee.TextField(default="{}")

    @classmethod
    def current(cls):
        return cls.get_or_none(cls.id == 1) or cls.create(id=1)

    def minutes(self):
        stored = json.loads(self.grace or "{}")
        return {kind: int(stored.get(kind, default)) for kind, (_label, default) in GRACE.items()}


MODELS = [Escalation, LatenessRules]

INSTRUCT, REASSIGN, TAKE_OVER, RESOLVE = "instruct", "reassign", "take_over", "resolve"
MACHINE = lifecycle.Machine(Escalation, "上报", STATES, [
    lifecycle.step(INSTRUCT, "主管批示", OPEN, "instructed", ("supervisor",)),
    lifecycle.step(REASSIGN, "转派", OPEN, "reassigned", ("supervisor",)),
    lifecycle.step(TAKE_OVER, "主管接手", OPEN, "taken", ("supervisor",)),
    lifecycle.step(RESOLVE, "已解决", OPEN, "resolved", ("supervisor",)),
], open_states=OPEN, error=EscalationError)
MACHINE.wait("escalation.pending", "上报待处理", "pending", "supervisor", "created_at", INSTRUCT)
MACHINE.wait("escalation.handled", "已批示跟进", ("instructed", "reassigned", "taken"), "supervisor")


def save_grace(minutes_by_kind, expected_version):
    """设置: the grace per kind, in minutes (0–10080, a week)."""
    rules = LatenessRules.current()
    cleaned = {}
    for kind, (label, _default) in GRACE.items():
        value = minutes_by_kind.get(kind)
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise EscalationError(f"{label}：请填写分钟数", kind) from None
        if not 0 <= value <= 10080:
            raise EscalationError(f"{label}：宽限在 0 到 10080 分钟（一周）之间", kind)
        cleaned[kind] = value
    rules.grace = json.dumps(cleaned)
    rules.save_versioned(expected_version, "grace")
    return rules


def escalated(actor, record, kind, title, reason, who=""):
    """An escalation by hand (上报主管), inside the caller's transaction."""
    now = clock.utcnow()
    return Escalation.create(kind=kind, ref_type=events.record_key(record)[0], ref_id=record.get_id(), due=now,
                             title=title[:160], who=who[:60], reason=reason, by=actor, created_at=now)


def of_record(record):
    """The open escalations of one record."""
    ref_type, ref_id = events.record_key(record)
    return Escalation.select().where((Escalation.ref_type == ref_type) & (Escalation.ref_id == ref_id)
                                     & Escalation.state.in_(OPEN))


def follow(record, action, actor=None):
    """Move a record's open escalations along with what the supervisor did to the record itself
    (批示, 转派, 接手) or end them (`RESOLVE`, when the record is dealt with)."""
    for escalation in of_record(record):
        if MACHINE.refusal(escalation, action) is None:
            MACHINE.transition(actor, escalation, escalation.version, action, as_system=actor is None,
                               handled_at=clock.utcnow() if action != RESOLVE else escalation.handled_at,
                               resolved_at=clock.utcnow() if action == RESOLVE else None)


def sweep(now=None):
    """The lateness rule (the scheduler runs it every minute): escalate each late item once its
    grace has passed; end the automatic escalations whose item is no longer waiting. Returns the
    escalations made."""
    now = now or clock.utcnow()
    grace = LatenessRules.current().minutes()
    waiting = agenda.everyone(now)
    made = []
    for item in waiting:
        if item.due is None or item.kind.startswith(NOT_ESCALATED):
            continue
        if item.due + _minutes(grace.get(item.kind, 0)) > now:
            continue
        ref_type, ref_id = _ref(item)
        key = ((Escalation.ref_type == ref_type) & (Escalation.ref_id == ref_id) & (Escalation.kind == item.kind)
               & (Escalation.due == item.due))
        if Escalation.select().where(key).exists():
            continue  # escalated once already
        with database.atomic():
            inserted = (Escalation.insert(kind=item.kind, ref_type=ref_type, ref_id=ref_id, due=item.due,
                                          title=item.title[:160], who=item.who[:60], reason=_reason(item, now),
                                          created_at=now)
                        .on_conflict_ignore().execute())
            # Another worker may have been first (the unique key ignored this one): then it is theirs.
            escalation = Escalation.get_or_none(key)
            if escalation is None or escalation.id != inserted:
                continue
            events.record(None, escalation, "超时自动上报主管", to_state=STATES["pending"], note=escalation.reason)
            for listener in _listeners:
                listener(escalation, item)
            made.append(escalation)
    if made:
        from . import outbox
        outbox.wake()  # the scheduler's thread: the sender needn't wait for its next poll
    still = {(item.kind, *_ref(item)) for item in waiting}
    for escalation in Escalation.select().where(Escalation.state.in_(OPEN) & Escalation.by.is_null()):
        if (escalation.kind, escalation.ref_type, escalation.ref_id) not in still:
            try:
                with database.atomic():
                    MACHINE.transition(None, escalation, escalation.version, RESOLVE, as_system=True, resolved_at=now,
                                       note="已不再超时等待")
            except (StaleRecord, EscalationError):
                continue
    return made


_listeners = []


def on_escalate(listener):
    """`listener(escalation, item)` runs inside the transaction that escalates a late item."""
    _listeners.append(listener)


def _minutes(count):
    import datetime
    return datetime.timedelta(minutes=count)


def _ref(item):
    """(ref_type, ref_id) of an item: a record's, or for a month's summary ("summary/2026-11", user id)."""
    kind, ident = item.ref
    if isinstance(ident, int):
        return kind, ident
    owner, _, rest = str(ident).partition("/")
    return f"{kind}/{rest}", int(owner)


def item_ref(escalation):
    kind, _, rest = escalation.ref_type.partition("/")
    return (kind, f"{escalation.ref_id}/{rest}") if rest else (kind, escalation.ref_id)


def _reason(item, now):
    late = int((now - item.due).total_seconds() // 60)
    days, rest = divmod(late, 24 * 60)
    hours, minutes = divmod(rest, 60)
    span = f"{days} 天 {hours} 小时" if days else f"{hours} 小时 {minutes} 分" if hours else f"{minutes} 分钟"
    return f"{item.group}超时 {span}" + (f"（{item.action}）" if item.action else "")


_OPEN_QUEUE = Prepared(Escalation, lambda: Escalation.select().where(Escalation.state.in_(OPEN))
                       .order_by(Escalation.created_at))


def owed(user, now):
    """The supervisor's queue, as agenda items: 待处理 first (by age), then those in hand."""
    found = []
    for escalation in _OPEN_QUEUE():
        wait = "escalation.pending" if escalation.state == "pending" else "escalation.handled"
        found.append(agenda.Item(
            kind=wait, group="上报待处理" if escalation.state == "pending" else "上报·已批示跟进",
            ref=("ticket", escalation.ref_id) if escalation.ref_type == "ticket" else ("escalation", escalation.id),
            title=escalation.title, since=escalation.created_at,
            detail=f"{escalation.reason} · {escalation.state_label}", due=None, rank=-1 if escalation.state == "pending" else 0,
            action="批示" if escalation.state == "pending" else "", role="supervisor", who=escalation.who,
            number=escalation.number))
    return found


# The supervisor's steps on an escalation of anything but a request (a request's escalation moves
# with the request's own 批示 / 转派 / 接手 on its page). The record's zone is told.

def record_of(escalation):
    """The record an escalation is about, or None (a month's summary not yet begun)."""
    models = {source.machine.model.__name__.lower(): source.machine.model for source in agenda.sources()}
    model = models.get(escalation.ref_type)
    return model.get_or_none(model._meta.primary_key == escalation.ref_id) if model else None


def _tell_zone(escalation, text, users=None):
    from . import access
    from .estate import ZoneAssistant
    record = record_of(escalation)
    if users is None:
        zone_id = access.zone_of(record) if record is not None else None
        users = list(User.select().join(ZoneAssistant, on=(ZoneAssistant.user == User.id))
                     .where(ZoneAssistant.zone == zone_id)) if zone_id else []
    notices.tell(users, record if record is not None else escalation, text)
    if record is not None:
        events.record(None, record, "主管处理上报", note=text)


def instruct(actor, escalation, expected_version, note):
    note = (note or "").strip()
    if not note:
        raise EscalationError("请填写批示", "note")
    with database.atomic():
        escalation = MACHINE.transition(actor, escalation, expected_version, INSTRUCT, note=note, handled_at=clock.utcnow())
        # The supervisor's last word, beside the timeline's line (the step's own `note` is the timeline's).
        Escalation.update(note=note).where(Escalation.id == escalation.id).execute()
        _tell_zone(escalation, f"主管批示（{escalation.title}）：{note[:60]}")
    return Escalation.get_by_id(escalation.id)


def reassign(actor, escalation, expected_version, assistant, note=""):
    if assistant is None or assistant.role != "assistant" or not assistant.is_active:
        raise EscalationError("请选择客户助理", "assignee")
    note = (note or "").strip()
    with database.atomic():
        escalation = MACHINE.transition(actor, escalation, expected_version, REASSIGN,
                                        note=f"转派给 {assistant.display_name}" + (f"：{note}" if note else ""),
                                        handled_at=clock.utcnow())
        _tell_zone(escalation, f"主管转派给您（{escalation.title}）" + (f"：{note[:60]}" if note else ""), [assistant])
    return escalation


def take_over(actor, escalation, expected_version):
    with database.atomic():
        escalation = MACHINE.transition(actor, escalation, expected_version, TAKE_OVER, handled_at=clock.utcnow())
        _tell_zone(escalation, f"主管已接手（{escalation.title}）")
    return escalation


def resolve(actor, escalation, expected_version, note=""):
    return MACHINE.transition(actor, escalation, expected_version, RESOLVE, note=(note or "").strip(),
                              resolved_at=clock.utcnow())


scheduler.job("escalations.sweep", 60)(sweep)
