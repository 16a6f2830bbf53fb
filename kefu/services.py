"""Personal services (个性化服务): the catalogue the administrator keeps (服务项目: who does it, free or
charged and at what standard, how long it takes) and the service orders made from a need or
directly.

An order records what the customer was told — 收费与否 and the standard — so it can be shown later,
and the time agreed with them (and, when the unit must confirm it, the confirmed time and when the
customer was told). Only then does the work go to the unit as a work order. After the unit's work is
accepted comes the quality call-back: 满意 / 基本满意 close the order; 不满意 sends it back for the
work to be put right, round after round, exactly as a request's return visit does.

    待约时间 → 待确认时间 → 待派工 → 处理中 → 待回访 → 已完成
                                      ↑            │ 不满意
                                      └── 返工 ◀───┘
"""
import datetime
import decimal

import peewee

from . import callbacks
from . import clock
from . import events
from . import idempotency
from . import lifecycle
from . import sequences
from . import workorders
from . import customers
from .customers import Need
from .customers import answer_need
from .db import BaseModel
from .db import RuleError
from .db import VersionedMixin
from .db import VoidableMixin
from .db import database
from .estate import Household
from .estate import ROOM_MISSING
from .estate import Zone
from .estate import current_tz as _tz
from .estate import zone_of_building
from .users import Unit
from .users import User

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
AGREED_AT_MISSING = "请填写约定时间"
CONFIRMED_AT_MISSING = "请填写业务块确认的时间"
TOLD_AT_MISSING = "请填写告知客户的时间"

STATES = {"unscheduled": "待约时间", "unconfirmed": "待确认时间", "scheduled": "待派工", "working": "处理中",
          "callback": "待回访", "rework": "不满意待返工", "closed": "已完成", "cancelled": "已取消"}
OPEN = ("unscheduled", "unconfirmed", "scheduled", "working", "callback", "rework")
RESULTS = callbacks.RESULTS
CALLBACK_METHODS = callbacks.METHODS
DONE_WITHIN_HOURS = 4  # a service order's work is due this long after the agreed time
COLLECT_METHODS = ["现金", "微信", "支付宝", "计入物业费", "未收取"]
MAX_AMOUNT = 100000


PAYMENT_MISSING = "请选择收款方式"


class ServiceError(RuleError):
    pass


_text = ServiceError.checked




class ServiceItem(VoidableMixin, VersionedMixin, BaseModel):
    """服务项目: e.g. 上门开锁, 50元/次, 工程部, 约半小时."""

    name = peewee.CharField(max_length=30)
    unit = peewee.ForeignKeyField(Unit, backref="+", on_delete="RESTRICT")
    charged = peewee.BooleanField(default=False)
    fee = peewee.CharField(max_length=40, default="")  # the standard: 50元/次, 40元/小时
    duration = peewee.CharField(max_length=20, default="")
    note = peewee.TextField(default="")

    @property
    def fee_label(self):
        return self.fee if self.charged else "免费"


class ServiceOrder(VersionedMixin, BaseModel):
    number = peewee.CharField(unique=True, max_length=20)
    household = peewee.ForeignKeyField(Household, backref="+", on_delete="RESTRICT")
    zone = peewee.ForeignKeyField(Zone, backref="+", on_delete="RESTRICT", index=False)  # (zone, state) serves it
    item = peewee.ForeignKeyField(ServiceItem, backref="+", on_delete="RESTRICT")
    need = peewee.ForeignKeyField(Need, null=True, backref="+", on_delete="RESTRICT")
    request = peewee.TextField()
    customer_name = peewee.CharField(max_length=40, default="")
    # What the customer was told, as they were told it.
    charged = peewee.BooleanField()
    fee_told = peewee.CharField(max_length=60, default="")
    told_at = peewee.DateTimeField()
    agreed_at = peewee.DateTimeField(null=True)
    needs_confirmation = peewee.BooleanField(default=False)
    confirmed_at = peewee.DateTimeField(null=True)        # the time the unit confirmed
    customer_told_at = peewee.DateTimeField(null=True)    # when the customer heard the confirmed time
    state = peewee.CharField(max_length=12, default="unscheduled")
    work_order = peewee.ForeignKeyField(workorders.WorkOrder, null=True, backref="+", on_delete="RESTRICT",
                                        column_name="work_order_id")
    rework_count = peewee.IntegerField(default=0)
    # What was actually collected, and how (a charge that differs from what was told is on the timeline).
    collected = peewee.DecimalField(max_digits=10, decimal_places=2, null=True)
    collected_how = peewee.CharField(max_length=10, default="")
    collected_at = peewee.DateTimeField(null=True)
    result = peewee.CharField(max_length=6, default="")
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()
    closed_at = peewee.DateTimeField(null=True)
    cancel_reason = peewee.TextField(default="")

    class Meta:
        indexes = ((("zone", "state"), False), (("household", "created_at"), False),
                   (("state",), False))  # the supervisor's open orders, every zone

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    @property
    def time(self):
        """The time the service happens: the confirmed one when there is one."""
        return self.confirmed_at or self.agreed_at

    @property
    def is_open(self):
        return self.state in OPEN


MODELS = [ServiceItem, ServiceOrder]


# The catalogue

def save_item(actor, item=None, expected_version=0, *, name, unit, charged, fee="", duration="", note=""):
    """Add a service to the catalogue, or change one (the change is on its timeline)."""
    name = _text(name, 30, "服务名称", "name", required=True)
    if unit is None or unit.voided_at is not None:
        raise ServiceError("请选择负责的业务块", "unit")
    fee = _text(fee, 40, "收费标准", "fee", required=bool(charged))
    duration = _text(duration, 20, "所需时间", "duration")
    note = _text(note, 500, "说明", "note")
    taken = ServiceItem.live().where(ServiceItem.name == name)
    if item is not None:
        taken = taken.where(ServiceItem.id != item.id)
    if taken.exists():
        raise ServiceError(f"已有服务项目“{name}”", "name")
    values = dict(name=name, unit=unit, charged=bool(charged), fee=fee if charged else "", duration=duration,
                  note=note)
    summary = f"{name} · {unit.name} · {fee if charged else '免费'}" + (f" · {duration}" if duration else "")
    with database.atomic():
        if item is None:
            item = ServiceItem.create(**values)
            events.record(actor, item, "新增服务项目", note=summary)
        else:
            for key, value in values.items():
                setattr(item, key, value)
            item.save_versioned(expected_version, *values)
            events.record(actor, item, "修改服务项目", note=summary)
    return item


# Orders

AGREE, CONFIRM, DISPATCH, WORK_DONE, WORK_CANCELLED, CANCEL = (
    "agree", "confirm", "dispatch", "work_done", "work_cancelled", "cancel")
CLOSE, REOPEN, UNREACHED = callbacks.CLOSE, callbacks.REOPEN, callbacks.UNREACHED
_HANDLERS = ("assistant", "supervisor")

MACHINE = lifecycle.Machine(ServiceOrder, "服务单", STATES, [
    lifecycle.step(AGREE, "约定时间", ("unscheduled", "unconfirmed", "scheduled"), ("unconfirmed", "scheduled"),
                   _HANDLERS),
    lifecycle.step(CONFIRM, "确认时间", "unconfirmed", "scheduled", _HANDLERS),
    lifecycle.step(DISPATCH, "派工", ("scheduled", "rework"), "working", _HANDLERS),
    lifecycle.step(WORK_DONE, "服务完成，待回访", "working", "callback"),
    lifecycle.step(WORK_CANCELLED, "派工撤销", "working", "scheduled"),
    lifecycle.step(CLOSE, "回访后完成", "callback", "closed", _HANDLERS),
    lifecycle.step(REOPEN, "回访不满意，返工", "callback", "rework", _HANDLERS),
    lifecycle.step(UNREACHED, "回访未接通", "callback", None, _HANDLERS),
    lifecycle.step(CANCEL, "取消服务", ("unscheduled", "unconfirmed", "scheduled", "callback", "rework"), "cancelled",
                   _HANDLERS),
], open_states=OPEN, error=ServiceError)

AGREE_WITHIN = datetime.timedelta(hours=1)      # the customer is called back with a time within the hour
CALLBACK_WITHIN = datetime.timedelta(hours=24)  # and asked how it went within a day of the work

MACHINE.wait("service.agree", "待约时间", "unscheduled", "assistant", lambda o: o.told_at + AGREE_WITHIN, AGREE)
MACHINE.wait("service.confirm", "待确认时间", "unconfirmed", "assistant", "agreed_at", CONFIRM)
MACHINE.wait("service.dispatch", "待派工", "scheduled", "assistant", lambda o: o.time, DISPATCH)
MACHINE.wait("service.callback", "待回访", "callback", "assistant",
             lambda o: (o.time or o.told_at) + datetime.timedelta(hours=DONE_WITHIN_HOURS) + CALLBACK_WITHIN, CLOSE,
             label="回访客户")
MACHINE.wait("service.rework", "返工", "rework", "assistant", None, DISPATCH)


def _change(actor, order, expected_version, action, **kwargs):
    return MACHINE.transition(actor, order, expected_version, action, **kwargs)


def _utc(moment):
    return clock.to_utc_naive(clock.aware(moment)) if moment is not None else None


def _schedule_state(agreed_at, needs_confirmation, confirmed_at=None):
    if agreed_at is None:
        return "unscheduled"
    if needs_confirmation and confirmed_at is None:
        return "unconfirmed"
    return "scheduled"


def _plain(fee):
    return "".join((fee or "").split())


def fee_difference(item, charged, fee_told):
    """How what the customer is told differs from the catalogue, or "" when it doesn't."""
    if item is None or charged is None:
        return ""
    if charged and not item.charged:
        return f"服务项目“{item.name}”在目录中是免费的，告知客户的却是收费"
    if not charged and item.charged:
        return f"服务项目“{item.name}”在目录中收费（{item.fee}），告知客户的却是免费"
    if charged and _plain(fee_told) and _plain(fee_told) != _plain(item.fee):
        return f"告知客户的收费“{fee_told}”与目录不同：目录中的收费标准是 {item.fee}"
    return ""


def create_order(actor, household, item, request, *, charged, fee_told="", agreed_at=None, needs_confirmation=False,
                 customer_name="", need=None, token=None, differs_confirmed=True):
    """个性化服务单: the service, what the customer asked for, what they were told (收费与否 and the
    standard — recorded now, so it is provable later) and the time agreed if there is one yet. What
    was told unlike the catalogue is said on the timeline; `differs_confirmed=False` (the intake
    page's first answer) refuses it instead, for the assistant to confirm.
    From a need, the need is answered 可提供. Returns (order, created)."""
    if household is None or household.voided_at is not None:
        raise ServiceError(ROOM_MISSING, "household")
    if item is None or item.voided_at is not None:
        raise ServiceError("请选择服务项目", "item")
    request = _text(request, 500, "服务内容", "request", required=True)
    customer_name = _text(customer_name, 40, "客户姓名", "customer_name")
    fee_told = _text(fee_told, 60, "告知的收费标准", "fee_told", required=bool(charged))
    if charged is None:
        raise ServiceError("请选择是否告知收费", "charged")
    if agreed_at is not None and _utc(agreed_at) < clock.utcnow() - datetime.timedelta(minutes=5):
        raise ServiceError("约定时间不能早于现在", "agreed_at")
    zone = zone_of_building(household.building)
    if zone is None:
        raise ServiceError("该房号不属于任何管辖区域", "household")
    if need is not None and (need.household_id != household.id or need.outcome not in ("open", "study", "provide")):
        raise ServiceError("这条需求不能转为服务单", "need")
    differs = fee_difference(item, charged, fee_told)
    if differs and not differs_confirmed:
        # Told the customer something the catalogue doesn't say: the page asks once more, deliberately.
        raise ServiceError(f"{differs}。请核对；确实如此的，勾选“与目录不同，按告知的办理”后再受理", "fee_differs")
    now = clock.utcnow()
    with database.atomic():
        earlier = idempotency.claim(token, ServiceOrder)
        if earlier is not None:
            return ServiceOrder.get_by_id(earlier.record_id), False
        if need is not None and need.outcome != "provide":
            need = answer_need(actor, need, need.version, "provide")
        order = ServiceOrder.create(
            number=sequences.daily_number("FW", clock.today(_tz())), household=household, zone=zone, item=item,
            need=need, request=request, customer_name=customer_name, charged=bool(charged),
            fee_told=fee_told if charged else "", told_at=now, agreed_at=_utc(agreed_at),
            needs_confirmation=bool(needs_confirmation),
            state=_schedule_state(agreed_at, needs_confirmation), created_by=actor, created_at=now)
        told = (f"已告知收费：{fee_told}" if charged else "已告知免费") \
            + (f"（与目录不同（目录：{item.fee_label}））" if differs else "")
        when = f"；约定 {clock.to_local(order.agreed_at, _tz()):%m-%d %H:%M}" if order.agreed_at else ""
        events.record(actor, order, "受理服务", to_state=order.state_label,
                      note=f"{item.name}：{request}；{told}{when}" + ("（需业务块确认时间）" if needs_confirmation else ""))
        events.record(actor, household, "个性化服务", note=f"{order.number} {item.name}：{request}")
        idempotency.remember(token, order)
    return order, True


def agree_time(actor, order, expected_version, agreed_at):
    """约定时间 with the customer (or a new one)."""
    if agreed_at is None:
        raise ServiceError(AGREED_AT_MISSING, "agreed_at")
    if _utc(agreed_at) < clock.utcnow() - datetime.timedelta(minutes=5):
        raise ServiceError("约定时间不能早于现在", "agreed_at")
    state = _schedule_state(agreed_at, order.needs_confirmation)
    with database.atomic():
        before = f"{clock.to_local(order.agreed_at, _tz()):%m-%d %H:%M} → " if order.agreed_at else ""
        return _change(actor, order, expected_version, AGREE, to=state, label="改约时间" if before else None,
                       note=f"{before}{clock.to_local(agreed_at, _tz()):%m-%d %H:%M}", agreed_at=_utc(agreed_at),
                       confirmed_at=None, customer_told_at=None)


def confirm_time(actor, order, expected_version, confirmed_at, customer_told_at):
    """The unit confirmed the time (maybe a different one) and the customer was told."""
    if confirmed_at is None:
        raise ServiceError(CONFIRMED_AT_MISSING, "confirmed_at")
    if customer_told_at is None:
        raise ServiceError(TOLD_AT_MISSING, "customer_told_at")
    if _utc(customer_told_at) > clock.utcnow():
        raise ServiceError("告知客户的时间不能晚于现在", "customer_told_at")
    if order.agreed_at is None:
        raise ServiceError("请先与客户约定时间")
    with database.atomic():
        return _change(actor, order, expected_version, CONFIRM,
                       note=f"业务块确认 {clock.to_local(confirmed_at, _tz()):%m-%d %H:%M}，"
                            f"{clock.to_local(customer_told_at, _tz()):%m-%d %H:%M} 已告知客户",
                       confirmed_at=_utc(confirmed_at), customer_told_at=_utc(customer_told_at))


def dispatch(actor, order, expected_version, instructions=""):
    """The work to the item's unit as a work order, due four hours after the agreed time (a long
    clean takes that). Not before the time is agreed (and confirmed, when it must be)."""
    if order.state in ("unscheduled", "unconfirmed") or order.time is None:
        raise ServiceError("还没有约定好服务时间，不能派工")
    instructions = (instructions or "").strip() or f"{order.item.name}：{order.request}（约定 " \
        f"{clock.to_local(order.time, _tz()):%m-%d %H:%M}，{'收费 ' + order.fee_told if order.charged else '免费'}）"
    due = max(clock.aware(order.time), clock.now()) + datetime.timedelta(hours=DONE_WITHIN_HOURS)
    with database.atomic():
        work = workorders.dispatch(actor, order, "service", order.item.unit, instructions, due, zone_id=order.zone_id,
                                   location=order.household.code, title=f"个性化服务 {order.item.name}")
        return _change(actor, order, expected_version, DISPATCH,
                       note=f"{work.number} → {order.item.unit.name}", work_order_id=work.id)


def _on_work_order(change):
    """The unit's work comes back to its service order: accepted → 待回访; cancelled → 待派工 again."""
    work, actor = change.record, change.actor
    order = ServiceOrder.get_or_none(ServiceOrder.id == work.source_id)
    if order is None or order.work_order_id != work.id or order.state != "working":
        return
    if change.action == workorders.APPROVE:
        _change(actor, order, order.version, WORK_DONE, as_system=True, note=f"{work.number} 已验收")
    elif change.action == workorders.CANCEL:
        _change(actor, order, order.version, WORK_CANCELLED, as_system=True, note=change.note, work_order_id=None)
    else:
        events.record(actor, order, f"派工单{change.label}", note=change.note,
                      **({"photo_ids": list(change.photo_ids)} if change.photo_ids else {}))


workorders.on_change("service", _on_work_order)


def call_back(actor, order, expected_version, method, result, words=""):
    """质量回访 (callbacks.py): 满意 / 基本满意 complete the order; 不满意 (with what was wrong) sends it
    back for the work to be put right — dispatched again until the customer is satisfied; 未接通 is counted."""
    with database.atomic():
        fresh = callbacks.record(actor, MACHINE, order, expected_version, method, result, words, error=ServiceError,
                                 fields={callbacks.CLOSE: dict(result=result, closed_at=clock.utcnow()),
                                         callbacks.REOPEN: dict(result=result,
                                                                rework_count=ServiceOrder.rework_count + 1)})
        # The household's story has the call-back too, as it has the request's return visits.
        events.record(actor, order.household, "个性化服务回访", to_state=result,
                      note=f"{order.number} {order.item.name}" + (f"：{words.strip()}" if words and words.strip() else ""))
    return fresh


def record_collected(actor, order, expected_version, amount, how):
    """实收费用: what the customer actually paid for the service and how (现金, 微信 … or 未收取), once;
    a charge on an order told free, or an amount unlike the fee told, is said on the timeline."""
    if amount is None or not 0 <= amount <= MAX_AMOUNT:
        raise ServiceError(f"实收金额应在 0–{MAX_AMOUNT} 元之间", "amount")
    if how not in COLLECT_METHODS:
        raise ServiceError(PAYMENT_MISSING, "how")
    if how == "未收取" and amount:
        raise ServiceError("未收取的，实收金额填 0", "amount")
    if order.collected_at is not None:
        raise ServiceError("实收费用已记录")
    if order.state == "cancelled":
        raise ServiceError("服务已取消")
    amount = round(decimal.Decimal(amount), 2)
    note = f"实收 {amount} 元 · {how}"
    if amount and not order.charged:
        note += "（告知客户的是免费）"
    elif order.charged and order.fee_told:
        note += f"（告知的收费标准 {order.fee_told}）"
    with database.atomic():
        order.collected, order.collected_how, order.collected_at = amount, how, clock.utcnow()
        order.save_versioned(expected_version, "collected", "collected_how", "collected_at")
        events.record(actor, order, "记录实收费用", note=note)
    return ServiceOrder.get_by_id(order.id)


def cancel(actor, order, expected_version, reason):
    """The customer no longer wants it (or it was taken by mistake); an open work order must go first."""
    reason = _text(reason, 200, "取消原因", "reason", required=True)
    if order.state == "working":
        raise ServiceError("派工单还在处理中，请先撤销派工")
    with database.atomic():
        return _change(actor, order, expected_version, CANCEL, note=reason,
                       cancel_reason=reason, closed_at=clock.utcnow())


customers.UNHAPPY["services"] = lambda zone_ids, since: customers.still_unhappy(ServiceOrder, zone_ids, since)


def open_in(zone_ids):
    """Open orders of these zones, the ones that need the assistant first (to call back, to rework,
    to schedule), then by time."""
    order = peewee.Case(ServiceOrder.state, [("callback", 0), ("rework", 1), ("unscheduled", 2), ("unconfirmed", 3),
                                             ("scheduled", 4)], 5)
    return list(cards().where(ServiceOrder.zone.in_(zone_ids) & ServiceOrder.state.in_(OPEN))
                .order_by(order, ServiceOrder.agreed_at.asc(nulls="last"), ServiceOrder.id))


def cards():
    """Service orders with what their cards show (the household and the service) in one query."""
    return ServiceOrder.select(ServiceOrder, Household, ServiceItem).join(Household).join_from(
        ServiceOrder, ServiceItem)
