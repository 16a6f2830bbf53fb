"""Work orders (派工单 / 整改单): one lifecycle for every order to a business unit.

dispatched 待接单 → working 处理中 → reported 待验收 → approved 已验收
                                      └─ rejected → rework 返工中 → reported …
Any open order can be cancelled 已撤销 with a reason.

A work order knows what raised it only by a typed reference (source_type, source_id); the
area that raised it listens for its changes through `on_change`.
"""
import datetime

import peewee

from . import clock
from . import events
from . import lifecycle
from . import outbox
from . import sequences
from . import uploads
from .db import BaseModel
from .db import Prepared
from .db import RuleError
from .db import VersionedMixin
from .db import database
from .estate import Estate
from .estate import Zone
from .users import Unit
from .users import User

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
INSTRUCTIONS_MISSING = "请写明要做什么"
DEADLINE_MISSING = "请填写完成时限"
REPORT_NOTE_MISSING = "请说明完成情况"
CANCEL_REASON_MISSING = "请填写撤销原因"

STATES = {
    "dispatched": "待接单",
    "working": "处理中",
    "reported": "待验收",
    "rework": "返工中",
    "approved": "已验收",
    "cancelled": "已撤销",
}
OPEN_STATES = ("dispatched", "working", "reported", "rework")
UNIT_TODO = ("dispatched", "working", "rework")


# The re-check (验收 / 复查) photo the estate asks for: written once, for work orders and renovations.
RECHECK_PHOTO_MISSING = "请拍一张复查时的照片"


class WorkOrderError(RuleError):
    pass


class WorkOrder(VersionedMixin, BaseModel):
    number = peewee.CharField(unique=True, max_length=20)
    source_type = peewee.CharField(max_length=20)
    source_id = peewee.IntegerField()
    unit = peewee.ForeignKeyField(Unit, backref="work_orders", on_delete="RESTRICT")
    zone = peewee.ForeignKeyField(Zone, null=True, backref="+", on_delete="RESTRICT", column_name="zone_id")
    location = peewee.CharField(max_length=120, default="")
    title = peewee.CharField(max_length=120, default="")
    instructions = peewee.TextField()
    deadline = peewee.DateTimeField()
    state = peewee.CharField(max_length=12, default="dispatched", index=True)
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()
    accepted_at = peewee.DateTimeField(null=True)
    reported_at = peewee.DateTimeField(null=True)
    report_note = peewee.TextField(default="")
    reported_by = peewee.CharField(default="", max_length=60)
    approved_at = peewee.DateTimeField(null=True)
    rework_count = peewee.IntegerField(default=0)
    rework_reason = peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])  # the last rejection's
    cancelled_at = peewee.DateTimeField(null=True)
    cancel_reason = peewee.TextField(default="")

    class Meta:
        indexes = (
            (("source_type", "source_id"), False),
            (("unit", "state", "deadline"), False),
            (("zone_id", "state", "reported_at"), False),
        )

    @property
    def state_label(self):
        return STATES[self.state]

    @property
    def is_open(self):
        return self.state in OPEN_STATES

    def is_late(self, now=None):
        now = now or clock.utcnow()
        return self.is_open and self.deadline < now

    @classmethod
    def of_source(cls, source_type, source_id):
        return cls.select().where((cls.source_type == source_type) & (cls.source_id == source_id)).order_by(cls.id)

    @classmethod
    def cards(cls):
        """Orders as a list card shows them: with `unit_name`."""
        return cls.select(cls, Unit.name.alias("unit_name")).join(Unit).objects()

    @classmethod
    def cards_of_source(cls, source_type, source_id):
        """A record's orders with their unit names, for listing."""
        return _CARDS_OF_SOURCE(source_type, source_id)

    @classmethod
    def queue_for_unit(cls, unit):
        """What a business unit still has to do, most urgent first."""
        return cls.cards().where((cls.unit == unit) & cls.state.in_(UNIT_TODO)).order_by(cls.deadline)

    @classmethod
    def awaiting_inspection(cls, zone_ids):
        return cls.cards().where((cls.state == "reported") & cls.zone_id.in_(zone_ids)).order_by(cls.reported_at)


_CARDS_OF_SOURCE = Prepared(WorkOrder, lambda source_type, source_id: WorkOrder.cards().where(
    (WorkOrder.source_type == source_type) & (WorkOrder.source_id == source_id)).order_by(WorkOrder.id), "ticket", -1)


MODELS = [WorkOrder]

# The typed names of the steps, for the areas that listen.
ACCEPT, REPORT, APPROVE, REJECT, CANCEL = "accept", "report", "approve", "reject", "cancel"

MACHINE = lifecycle.Machine(WorkOrder, "派工单", STATES, [
    lifecycle.step(ACCEPT, "接单", "dispatched", "working", roles=("unit",)),
    lifecycle.step(REPORT, "报完成", ("dispatched", "working", "rework"), "reported",
                   roles=("unit", "assistant", "supervisor")),
    lifecycle.step(APPROVE, "验收通过", "reported", "approved", roles=("assistant", "supervisor")),
    lifecycle.step(REJECT, "验收不通过", "reported", "rework", roles=("assistant", "supervisor")),
    lifecycle.step(CANCEL, "撤销派工", OPEN_STATES, "cancelled", roles=("assistant", "supervisor")),
], open_states=OPEN_STATES, error=WorkOrderError)

INSPECT_WITHIN = datetime.timedelta(hours=4)  # a reported order is inspected the same half-day

MACHINE.wait("workorder.accept", "待接单", "dispatched", "unit", "deadline", ACCEPT)
MACHINE.wait("workorder.do", "处理中", "working", "unit", "deadline", REPORT)
MACHINE.wait("workorder.redo", "返工中", "rework", "unit", "deadline", REPORT)
MACHINE.wait("workorder.inspect", "待验收", "reported", "assistant",
             lambda o: o.reported_at + INSPECT_WITHIN, APPROVE)

_listeners = {}


def on_change(source_type, listener):
    """Register `listener(change)` for the orders raised by one kind of record: called inside the
    transaction of each of their changes, with the order as `change.record`."""
    _listeners[source_type] = listener


def _route(change):
    listener = _listeners.get(change.record.source_type)
    if listener is not None:
        listener(change)


MACHINE.listen(_route)


def _move(actor, order, expected_version, action, note="", photos=(), **fields):
    photos = list(photos)
    with database.atomic():
        order = MACHINE.transition(actor, order, expected_version, action, note=note,
                                   photo_ids=[p.id for p in photos], **fields)
        uploads.attach(photos, order)
    return order


def default_deadline(now=None):
    """A day of service time from now (aware, in the estate's zone): the same time on the next open
    day, or the end of the next open day when the service centre is closed now. Never a time the
    unit's supervisor can't be reached (now + 24 h at 23:27 gave 23:27)."""
    estate = Estate.current()
    hours, tz = estate.service_hours, estate.tz
    span = (datetime.datetime.combine(datetime.date.min, hours.end)
            - datetime.datetime.combine(datetime.date.min, hours.start))
    due = hours.add_working_minutes(now or clock.now(), max(span.total_seconds() / 60, 1), tz)
    return due.astimezone(tz).replace(second=0, microsecond=0)


def check_in_service_hours(deadline, error=None):
    """Refuse a deadline (aware) outside the service centre's hours, its end included."""
    estate = Estate.current()
    local = clock.aware(deadline).astimezone(estate.tz)
    span = estate.service_hours.open_span(local.date(), estate.tz)
    if span is None or not span[0] <= local <= span[1]:
        raise (error or WorkOrderError)(
            f"整改时限应在服务时间内（{estate.weekdays_label} {estate.service_start:%H:%M}–{estate.service_end:%H:%M}）"
            .replace("（每天 ", "（"), "deadline")


def dispatch(actor, source, source_type, unit, instructions, deadline, zone_id=None, location="", title="",
             prefix="PD"):
    """Send an order to a unit. `deadline` is an aware datetime or naive UTC; numbers are PD… for
    派工单 and ZG… for 整改单 (`prefix`)."""
    instructions = (instructions or "").strip()
    if not instructions:
        raise WorkOrderError(INSTRUCTIONS_MISSING, "instructions")
    if unit is None or unit.voided_at is not None:
        raise WorkOrderError("请选择业务块", "unit")
    deadline_utc = clock.to_utc_naive(clock.aware(deadline)) if isinstance(deadline, datetime.datetime) else None
    if deadline_utc is None:
        raise WorkOrderError(DEADLINE_MISSING, "deadline")
    now = clock.utcnow()
    if deadline_utc <= now:
        raise WorkOrderError("完成时限须晚于现在", "deadline")
    with database.atomic():
        order = WorkOrder.create(
            number=sequences.daily_number(prefix, clock.today(Estate.current().tz)),
            source_type=source_type, source_id=source.get_id(), unit=unit, zone_id=zone_id,
            location=location[:120], title=title[:120], instructions=instructions, deadline=deadline_utc,
            created_by=actor, created_at=now,
        )
        events.record(actor, order, "派工", to_state=order.state_label,
                      note=f"{unit.name}：{instructions}（时限 {clock.to_local(deadline_utc, Estate.current().tz):%m-%d %H:%M}）")
        outbox.tell("order_new", order, f"新派工单 {order.number}：{order.location} {instructions[:40]}", unit_id=unit.id, actor=actor, users=User.live().where(User.active & (User.unit == unit.id)))
    return order


def accept(actor, order, expected_version):
    """The unit takes the order."""
    return _move(actor, order, expected_version, ACCEPT, accepted_at=clock.utcnow())


# Who says a step needs a photo: callables (order, step "report" or "inspect") → bool, added by the
# areas that keep such settings (the patrol rules say it for rectification orders).
PHOTO_RULES = []


def photo_required(order, step):
    """Whether `step` on `order` must come with a photo, as the estate's settings say."""
    return any(rule(order, step) for rule in PHOTO_RULES)


def report_done(actor, order, expected_version, note, on_behalf="", photos=(), photo_required=False):
    """The unit reports the work done with after-photos, or the assistant records it on behalf of the
    unit's worker who said so (by phone, say), naming them. `photo_required`: refuse it without one."""
    note = (note or "").strip()
    if not note:
        raise WorkOrderError(REPORT_NOTE_MISSING, "note")
    if photo_required and not photos:
        raise WorkOrderError("请拍一张整改后的照片再报完成", "photos")
    on_behalf = (on_behalf or "").strip()
    if actor.role != "unit" and not on_behalf:
        raise WorkOrderError("请写明代哪位业务块人员登记，如 工程部 李师傅", "on_behalf")
    if actor.role == "unit":
        on_behalf = ""
    reporter = on_behalf or actor.display_name
    text = note if not on_behalf else f"{note}（{actor.display_name} 代 {on_behalf} 登记）"
    return _move(actor, order, expected_version, REPORT, note=text, photos=photos, reported_at=clock.utcnow(),
                 report_note=note, reported_by=reporter)


def inspect(actor, order, expected_version, passed, reason="", photos=(), photo_required=False):
    """The assistant checks the result: accept it, or reject it with a reason (rework counted)."""
    if photo_required and not photos:
        raise WorkOrderError(RECHECK_PHOTO_MISSING, "photos")
    if passed:
        return _move(actor, order, expected_version, APPROVE, note=(reason or "").strip(), photos=photos,
                     approved_at=clock.utcnow())
    reason = (reason or "").strip()
    if not reason:
        raise WorkOrderError("请写明退回原因，业务块才知道要返工什么", "reason")
    return _move(actor, order, expected_version, REJECT, note=reason, photos=photos,
                 rework_count=WorkOrder.rework_count + 1, rework_reason=reason)


def cancel(actor, order, expected_version, reason):
    reason = (reason or "").strip()
    if not reason:
        raise WorkOrderError(CANCEL_REASON_MISSING, "reason")
    return _move(actor, order, expected_version, CANCEL, note=reason, cancelled_at=clock.utcnow(),
                 cancel_reason=reason)
