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
from . import sequences
from . import uploads
from .db import BaseModel
from .db import Prepared
from .db import RuleError
from .db import StaleRecord
from .db import database
from .estate import Estate
from .users import Unit
from .users import User

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


class WorkOrderError(RuleError):
    pass


class WorkOrder(BaseModel):
    number = peewee.CharField(unique=True, max_length=20)
    source_type = peewee.CharField(max_length=20)
    source_id = peewee.IntegerField()
    unit = peewee.ForeignKeyField(Unit, backref="work_orders", on_delete="RESTRICT")
    zone_id = peewee.IntegerField(null=True, index=True)
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
    cancelled_at = peewee.DateTimeField(null=True)
    cancel_reason = peewee.TextField(default="")
    version = peewee.IntegerField(default=1)

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

_listeners = {}


def on_change(source_type, listener):
    """Register `listener(actor, order, action, note, photo_ids)`, called inside the transaction of each change."""
    _listeners[source_type] = listener


def _notify(actor, order, action, note="", photo_ids=()):
    listener = _listeners.get(order.source_type)
    if listener is not None:
        listener(actor, order, action, note, photo_ids)


def _move(actor, order, expected_version, allowed, to_state, action, note="", photos=(), **fields):
    """Change state if the order is still in an allowed state at the version the user saw."""
    if order.state not in allowed:
        raise WorkOrderError(f"派工单当前为“{order.state_label}”，不能{action}")
    now = clock.utcnow()
    values = {WorkOrder.state: to_state, WorkOrder.version: WorkOrder.version + 1}
    for name, value in fields.items():
        values[getattr(WorkOrder, name)] = now if value is clock.utcnow else value
    with database.atomic():
        updated = (WorkOrder.update(values)
                   .where((WorkOrder.id == order.id) & (WorkOrder.version == expected_version)
                          & WorkOrder.state.in_(allowed))
                   .execute())
        if updated != 1:
            raise StaleRecord()
        from_state = order.state_label
        order = WorkOrder.get_by_id(order.id)
        photo_ids = [p.id for p in photos]
        uploads.attach(list(photos), order)
        events.record(actor, order, action, from_state=from_state, to_state=order.state_label, note=note,
                      **({"photo_ids": photo_ids} if photo_ids else {}))
        _notify(actor, order, action, note, photo_ids)
    return order


def dispatch(actor, source, source_type, unit, instructions, deadline, zone_id=None, location="", title="",
             prefix="PD"):
    """Send an order to a unit. `deadline` is an aware datetime or naive UTC; numbers are PD… for
    派工单 and ZG… for 整改单 (`prefix`)."""
    instructions = (instructions or "").strip()
    if not instructions:
        raise WorkOrderError("请写明要做什么", "instructions")
    if unit is None or unit.voided_at is not None:
        raise WorkOrderError("请选择业务块", "unit")
    deadline_utc = clock.to_utc_naive(clock.aware(deadline)) if isinstance(deadline, datetime.datetime) else None
    if deadline_utc is None:
        raise WorkOrderError("请填写完成时限", "deadline")
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
        _notify(actor, order, "派工", instructions)
    return order


def accept(actor, order, expected_version):
    """The unit takes the order."""
    return _move(actor, order, expected_version, ("dispatched",), "working", "接单",
                 accepted_at=clock.utcnow)


def report_done(actor, order, expected_version, note, on_behalf="", photos=()):
    """The unit reports the work done with after-photos (or the assistant records it on the unit's behalf)."""
    note = (note or "").strip()
    if not note:
        raise WorkOrderError("请说明完成情况", "note")
    on_behalf = (on_behalf or "").strip()
    reporter = on_behalf or actor.display_name
    text = note if not on_behalf else f"{note}（{actor.display_name} 代 {on_behalf} 登记）"
    return _move(actor, order, expected_version, ("dispatched", "working", "rework"), "reported", "报完成",
                 note=text, photos=photos, reported_at=clock.utcnow, report_note=note, reported_by=reporter)


def inspect(actor, order, expected_version, passed, reason=""):
    """The assistant checks the result: accept it, or reject it with a reason (rework counted)."""
    if passed:
        return _move(actor, order, expected_version, ("reported",), "approved", "验收通过",
                     note=(reason or "").strip(), approved_at=clock.utcnow)
    reason = (reason or "").strip()
    if not reason:
        raise WorkOrderError("请写明退回原因，业务块才知道要返工什么", "reason")
    return _move(actor, order, expected_version, ("reported",), "rework", "验收不通过", note=reason,
                 rework_count=WorkOrder.rework_count + 1)


def cancel(actor, order, expected_version, reason):
    reason = (reason or "").strip()
    if not reason:
        raise WorkOrderError("请填写撤销原因", "reason")
    return _move(actor, order, expected_version, OPEN_STATES, "cancelled", "撤销派工", note=reason,
                 cancelled_at=clock.utcnow, cancel_reason=reason)
