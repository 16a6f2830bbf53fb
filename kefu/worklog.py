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
from .estate import current_tz as _tz
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
         "evaluation": "岗位评估", "meeting": "例会", "monthlysummary": "月度总结", "serviceitem": "服务项目",
         "callback": "回访", "followup": "回访", "licence": "营业执照", "urging": "督促记录", "communication": "商铺沟通",
         "building": "楼栋", "place": "公共部位", "zone": "管辖区域", "estate": "小区设置", "unitreview": "业务块评分"}
# The columns of a printed week's totals: what kinds of record each counts.
TOTALS = [("诉求", ("ticket",)), ("派工单", ("workorder",)), ("巡查", ("check", "finding", "checkpoint")),
          ("拜访与需求", ("visit", "need", "household", "serviceorder")),
          ("装修与商铺", ("renovation", "violation", "rectificationnotice", "referral", "shop", "shopnotice",
                      "inspection", "licence", "urging", "communication"))]


# Not work done: the notes show on their own, and signing in or changing one's password is the account's.
NOT_WORK = ("worknote", "user")


class WorklogError(RuleError):
    pass



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

    __slots__ = ("at", "kind", "action", "note", "record_type", "record_id", "subject", "entered_at")

    def __init__(self, event, tz):
        self.at = clock.to_local(event.at, tz)
        self.kind = KINDS.get(event.record_type, "其他")
        self.action, self.note = event.action, event.note
        self.record_type, self.record_id = event.record_type, event.record_id
        self.subject = ""
        self.entered_at = None  # when it was typed in, if not when it happened (a visit recorded later)


def entries(user, first, last):
    """What `user` did from day `first` to day `last` (estate-local), oldest first, bursts collapsed."""
    tz = _tz()
    start, _ = clock.day_bounds(first, tz)
    _, end = clock.day_bounds(last, tz)
    found, previous = [], None
    for event in (Event.select().where((Event.actor_id == user.id) & (Event.at >= start) & (Event.at < end)
                                       & Event.record_type.not_in(NOT_WORK))
                  .order_by(Event.at, Event.id)):
        if previous is not None and event.at - previous < BURST:
            previous = event.at
            continue
        previous = event.at
        found.append(Entry(event, tz))
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


def _subjects(entries):
    """Name what each entry was about (the request's number and place, the work order's number and
    its request, the checkpoint…), a few queries for a whole week; a visit takes the time it was made."""
    from .customers import Need
    from .customers import Visit
    from .renovations import RectificationNotice
    from .renovations import Renovation
    from .renovations import Violation
    from .services import ServiceOrder
    from .shops import Shop
    from .shops import ShopNotice
    from .tickets import Ticket
    from .workorders import WorkOrder
    from .patrols import Check
    from .patrols import Checkpoint
    from .patrols import Finding

    wanted = {}
    for entry in entries:
        wanted.setdefault(entry.record_type, set()).add(entry.record_id)
    labels = {}

    def fill(kind, query, label):
        ids = wanted.get(kind)
        if ids:
            for row in query.where(query.model.id.in_(list(ids))):
                labels[kind, row.id] = label(row)

    orders = {}
    if wanted.get("workorder"):
        orders = {o.id: o for o in WorkOrder.select(WorkOrder.id, WorkOrder.number, WorkOrder.source_type,
                                                    WorkOrder.source_id, WorkOrder.location)
                  .where(WorkOrder.id.in_(list(wanted["workorder"])))}
        wanted.setdefault("ticket", set())
        sources = {o.source_id for o in orders.values() if o.source_type == "ticket"}
        ticket_numbers = {t.id: t.number for t in Ticket.select(Ticket.id, Ticket.number).where(Ticket.id.in_(list(sources)))} \
            if sources else {}
        for order in orders.values():
            source = f"（诉求 {ticket_numbers[order.source_id]}）" if order.source_id in ticket_numbers \
                and order.source_type == "ticket" else ""
            labels["workorder", order.id] = f"{order.number}{source} {order.location}".strip()
    fill("ticket", Ticket.select(Ticket.id, Ticket.number, Ticket.location), lambda t: f"{t.number} {t.location}")
    fill("check", Check.select(Check.id, Checkpoint.name).join(Checkpoint), lambda c: c.checkpoint.name)
    fill("checkpoint", Checkpoint.select(Checkpoint.id, Checkpoint.name), lambda c: c.name)
    fill("finding", Finding.select(Finding.id, Finding.item_text, Checkpoint.name).join(
        Checkpoint, on=(Finding.checkpoint == Checkpoint.id)), lambda f: f"{f.checkpoint.name} {f.item_text}")
    fill("observation", Observation.select(Observation.id, Observation.where), lambda o: o.where)
    fill("serviceorder", ServiceOrder.select(ServiceOrder.id, ServiceOrder.number), lambda o: o.number)
    fill("need", Need.select(Need.id, Need.topic), lambda n: n.topic)
    fill("renovation", Renovation.select(Renovation.id, Renovation.household), lambda r: "")
    fill("violation", Violation.select(Violation.id, Violation.kind), lambda v: v.kind)
    fill("rectificationnotice", RectificationNotice.select(RectificationNotice.id, RectificationNotice.year,
                                                           RectificationNotice.serial), lambda n: n.number)
    fill("shopnotice", ShopNotice.select(ShopNotice.id, ShopNotice.year, ShopNotice.serial), lambda n: n.number)
    fill("shop", Shop.select(Shop.id, Shop.unit_no, Shop.name), lambda s: f"{s.unit_no} {s.name}")
    visits = {}
    if wanted.get("visit"):
        visits = {v.id: v for v in Visit.select(Visit.id, Visit.at, Visit.place, Visit.form)
                  .where(Visit.id.in_(list(wanted["visit"])))}
    tz = _tz()
    for entry in entries:
        entry.subject = labels.get((entry.record_type, entry.record_id), "")
        visit = visits.get(entry.record_id) if entry.record_type == "visit" else None
        if visit is not None:
            entry.subject = visit.place or visit.form
            happened = clock.to_local(visit.at, tz)
            if abs(happened - entry.at) > datetime.timedelta(minutes=10):
                entry.entered_at, entry.at = entry.at, happened
    return entries


def printed_day(user, day):
    """A day of the record as paper shows it: one list in time order (what was done, each naming its
    request, order or place; the notes; the 需关注 raised in the zone, each once), and the day's totals."""
    record = day_record(user, day)
    tz = _tz()
    # A subject the note already starts with (a check's note names its checkpoint; a finding's says
    # "会所：门窗完好不合格" under the subject 会所 门窗完好) is said once.
    lines = [(e.at, e.kind, e.action, "" if _said(e.note, e.subject) else e.subject, e.note, e.entered_at)
             for e in _subjects(record["entries"])]
    seen = {e.record_id for e in record["entries"] if e.record_type == "observation"}
    lines += [(clock.to_local(n.at, tz), "补充记录", "工作记录", "", n.text, None) for n in record["notes"]]
    lines += [(clock.to_local(o.created_at, tz), "需关注", "巡查发现需关注", o.where, o.what, None)
              for o in record["observations"] if o.id not in seen]
    lines.sort(key=lambda line: line[0])
    lines = _runs_of_clean_checks(lines)
    counts = {label: sum(1 for e in record["entries"] if e.record_type in kinds) for label, kinds in TOTALS}
    counts["其他"] = len(record["entries"]) - sum(counts.values())
    return {"lines": lines, "meetings": record["meetings"], "counts": counts, "total": len(record["entries"]),
            "notes": len(record["notes"])}


def _said(note, subject):
    """Whether `note` starts by saying `subject`, spaces and colons aside."""
    def bare(text):
        return text.replace(" ", "").replace("：", "")
    return bare(note).startswith(bare(subject))


def _runs_of_clean_checks(lines):
    """Three or more checks in a row that found nothing wrong read as one line (巡查 13 处 10:14–11:09,
    全部合格: the places): a morning round is one thing done, and the week stays a few pages."""
    merged, run = [], []

    def flush():
        if len(run) >= 3:
            names = "、".join(line[4].rsplit("：", 1)[0] for line in run)
            merged.append((run[0][0], "巡查", f"巡查 {len(run)} 处（{run[0][0]:%H:%M}–{run[-1][0]:%H:%M}）", "",
                           f"全部合格：{names}", None))
        else:
            merged.extend(run)
        run.clear()

    for line in lines:
        if line[2] == "巡查" and line[4].endswith("全部合格") and "：" in line[4]:
            run.append(line)
            continue
        flush()
        merged.append(line)
    flush()
    return merged


def week_of(day):
    """Monday to Sunday of the week `day` is in."""
    monday = day - datetime.timedelta(days=day.weekday())
    return [monday + datetime.timedelta(days=n) for n in range(7)]
