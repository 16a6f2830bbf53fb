"""Customer requests (客户诉求): intake, the response and resolution clocks, dispatch, pause,
escalation, return visits, similar cases.

received 待响应 ──respond──▶ responded 已响应 ──dispatch──▶ in_progress 处理中
   └── resolve on the spot ─────────────────────────────▶ resolved 待回访 ◀── all orders accepted
resolved ── 满意/基本满意 ──▶ closed 已关闭;  不满意 ──▶ in_progress (reopened)
paused 已暂停 stops the resolution clock only; escalation is a flag on any open ticket.
"""
import datetime
import functools
import operator
import re

import peewee
from playhouse.sqlite_ext import FTS5Model
from playhouse.sqlite_ext import SearchField

from . import access
from . import clock
from . import events
from . import idempotency
from . import notices
from . import scheduler
from . import sequences
from . import uploads
from . import workorders
from .db import BaseModel
from .db import Prepared
from .db import contains
from .db import flag
from .db import is_sqlite
from .db import rows
from .db import RuleError
from .db import StaleRecord
from .db import database
from .estate import Building
from .estate import Estate
from .estate import Household
from .estate import Place
from .estate import Zone
from .estate import zone_of_building
from .users import User

CHANNELS = ["现场", "前台转交", "电话", "其他岗位", "拜访"]
CATEGORIES = ["工程维修", "保洁", "绿化", "安保", "综合服务", "装修", "商铺", "投诉", "建议", "咨询", "其他"]
# The business unit a category usually goes to.
CATEGORY_UNIT = {"工程维修": "engineering", "保洁": "cleaning", "绿化": "greening", "安保": "security",
                 "综合服务": "general", "装修": "engineering"}
RESPONSE_METHODS = ["电话", "上门", "现场"]
PAUSE_REASONS = ["等待客户", "等待配件", "等待第三方"]
FOLLOWUP_METHODS = ["电话", "上门"]
SATISFACTION = ["满意", "基本满意", "不满意"]
UNREACHABLE = "未接通"
UNREACHABLE_TRIES = 3
FOLLOWUP_WITHIN = datetime.timedelta(hours=24)

STATES = {
    "received": "待响应",
    "responded": "已响应",
    "in_progress": "处理中",
    "paused": "已暂停",
    "resolved": "待回访",
    "closed": "已关闭",
}
OPEN = ("received", "responded", "in_progress", "paused", "resolved")
WORKING = ("received", "responded", "in_progress")
ESCALATION_LEVELS = {0: "", 1: "已上报主管", 2: "已上报经理"}

DEFAULT_TIERS = [
    # name, response minutes, resolution minutes, tell the supervisor at intake
    ("一般", 60, 72 * 60, False),
    ("重要", 60, 24 * 60, False),
    ("紧急", 60, 4 * 60, True),
]


class TicketError(RuleError):
    pass


class Tier(BaseModel):
    """诉求等级: the graded handling of 附件一, editable by the administrator."""

    name = peewee.CharField(max_length=20, unique=True)
    response_minutes = peewee.IntegerField(default=60)
    resolution_minutes = peewee.IntegerField()
    notify_supervisor = peewee.BooleanField(default=False)
    sort = peewee.IntegerField(default=0)
    voided_at = peewee.DateTimeField(null=True)
    void_reason = peewee.TextField(default="")
    version = peewee.IntegerField(default=1)

    @classmethod
    def live(cls):
        return cls.select().where(cls.voided_at.is_null()).order_by(cls.sort, cls.id)

    @staticmethod
    def hours_label(minutes):
        return f"{minutes // 60} 小时" if minutes % 60 == 0 else f"{minutes} 分钟"


class Ticket(BaseModel):
    number = peewee.CharField(unique=True, max_length=20)
    channel = peewee.CharField(max_length=10)
    category = peewee.CharField(max_length=10)
    tier = peewee.ForeignKeyField(Tier, backref="tickets", on_delete="RESTRICT")
    household = peewee.ForeignKeyField(Household, null=True, backref="tickets", on_delete="RESTRICT")
    place = peewee.ForeignKeyField(Place, null=True, backref="tickets", on_delete="RESTRICT")
    building = peewee.ForeignKeyField(Building, null=True, backref="tickets", on_delete="RESTRICT")
    zone = peewee.ForeignKeyField(Zone, null=True, backref="tickets", on_delete="RESTRICT")
    location = peewee.CharField(max_length=120)
    customer_name = peewee.CharField(max_length=40, default="")
    customer_phone = peewee.CharField(max_length=40, default="")
    description = peewee.TextField()
    state = peewee.CharField(max_length=12, default="received")
    assignee = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()
    response_due = peewee.DateTimeField()
    responded_at = peewee.DateTimeField(null=True)
    response_method = peewee.CharField(max_length=10, default="")
    resolution_due = peewee.DateTimeField()
    paused_at = peewee.DateTimeField(null=True)
    paused_from = peewee.CharField(max_length=12, default="")
    pause_reason = peewee.CharField(max_length=40, default="")
    resolved_at = peewee.DateTimeField(null=True)
    resolution_note = peewee.TextField(default="")
    followup_due = peewee.DateTimeField(null=True)
    followup_attempts = peewee.IntegerField(default=0)
    satisfaction = peewee.CharField(max_length=10, default="")
    closed_at = peewee.DateTimeField(null=True)
    close_reason = peewee.TextField(default="")
    reopen_count = peewee.IntegerField(default=0)
    escalation_level = peewee.IntegerField(default=0)
    escalated_at = peewee.DateTimeField(null=True)
    escalation_reason = peewee.TextField(default="")
    is_case = peewee.BooleanField(default=False)
    case_cause = peewee.TextField(default="")
    case_handling = peewee.TextField(default="")
    case_prevention = peewee.TextField(default="")
    voided_at = peewee.DateTimeField(null=True)
    void_reason = peewee.TextField(default="")
    version = peewee.IntegerField(default=1)

    class Meta:
        indexes = (
            (("assignee", "state"), False),
            (("household", "created_at"), False),
            (("building", "category", "created_at"), False),
            (("escalation_level", "state"), False),
            (("created_at",), False),
            (("is_case", "created_at"), False),
        )

    @property
    def state_label(self):
        return STATES[self.state]

    @property
    def is_open(self):
        return self.state in OPEN and self.voided_at is None

    @classmethod
    def live(cls):
        return cls.select().where(cls.voided_at.is_null())

    def response_late(self, now=None):
        now = now or clock.utcnow()
        return (self.responded_at or now) > self.response_due

    def resolution_late(self, now=None):
        """Late for resolution: past due while work is still owed (a pause stops the clock)."""
        now = now or clock.utcnow()
        if self.state in ("paused", "closed") or self.voided_at:
            return False
        if self.state == "resolved":
            return self.resolved_at > self.resolution_due
        return now > self.resolution_due

    def next_due(self, now=None):
        """(what is due next, by when) for the ticket page and lists."""
        if self.voided_at is not None or self.state == "closed":
            return None
        if self.responded_at is None and self.state in ("received", "in_progress", "paused"):
            return ("响应客户", self.response_due)
        if self.state == "paused":
            return (f"暂停中（{self.pause_reason}），恢复后继续处理", None)
        if self.state == "resolved":
            return ("回访客户", self.followup_due)
        return ("处理完成", self.resolution_due)


# The by-state indexes leave voided tickets out: a voided ticket keeps the state it had (mostly 受理),
# and every query by state asks for live tickets, so over the years the open states would otherwise
# drag along every voided ticket ever made. (assignee, created_at) serves an assistant's month: the
# evaluation, the monthly summary and the trends.
for _fields in (("zone", "state", "created_at"), ("state", "resolution_due"), ("state", "created_at"),
                ("assignee", "created_at")):
    Ticket.add_index(Ticket.index(*(getattr(Ticket, f) for f in _fields), where=Ticket.voided_at.is_null(),
                                  name="ticket_live_" + "_".join(_fields)))


class FollowUp(BaseModel):
    """回访: the call or visit after the work, and what the customer said."""

    ticket = peewee.ForeignKeyField(Ticket, backref="followups", on_delete="RESTRICT")
    at = peewee.DateTimeField()
    by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    method = peewee.CharField(max_length=10)
    result = peewee.CharField(max_length=10)
    words = peewee.TextField(default="")

    class Meta:
        # (result, at): the 不满意 of the last weeks (the visit planner) without every return visit ever made.
        indexes = ((("ticket", "at"), False), (("result", "at"), False))


class TicketText(FTS5Model):
    """Full-text index of a ticket's words (trigram: matches any Chinese substring of 3+ characters)."""

    content = SearchField()

    class Meta:
        database = database
        options = {"tokenize": "trigram", "content": ""}


class TicketWords(BaseModel):
    """PostgreSQL's TicketText: the same words in a plain table, found by substring (LIKE '%…%',
    which a pg_trgm index serves; migration 6)."""

    rowid = peewee.IntegerField(primary_key=True)
    content = peewee.TextField()

    class Meta:
        table_name = "tickettext"
        postgres_only = True


TicketText._meta.sqlite_only = True

MODELS = [Tier, Ticket, FollowUp, TicketText, TicketWords]


def _words():
    return TicketText if is_sqlite() else TicketWords


def _has_words(text):
    """The search-index rows whose words contain `text`."""
    if is_sqlite():
        return TicketText.match(_quote(text))
    escaped = text.replace("\x00", "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return TicketWords.content.ilike(f"%{escaped}%")


def seed():
    """The default tiers on a new estate."""
    if not Tier.select().exists():
        for sort, (name, response, resolution, notify) in enumerate(DEFAULT_TIERS):
            Tier.create(name=name, response_minutes=response, resolution_minutes=resolution,
                        notify_supervisor=notify, sort=sort)


# Deadlines

def _hours():
    estate = Estate.current()
    return estate.service_hours, estate.tz


def due_after(start, minutes):
    """`minutes` of service-centre time after `start` (naive UTC in, naive UTC out)."""
    hours, tz = _hours()
    return clock.to_utc_naive(hours.add_working_minutes(clock.aware(start), minutes, tz))


# Lists (who may open or change one ticket: kefu/access.py)

def visible_to(user, query=None, zone_ids=None):
    """Narrow a ticket query to the user's work: an assistant's zones and what they hold, everything
    for the supervisor and the front desk (an assistant's zone ids may be passed in)."""
    query = query if query is not None else Ticket.live()
    if user.role == "assistant":
        zones = zone_ids if zone_ids is not None else access.zone_ids(user)
        # "+ 0" keeps SQLite from answering this OR through the zone and assignee indexes, which
        # fetches and sorts every ticket the zone ever had; it reads the state or intake-time
        # index instead and stops when the page is full (bench/README.md).
        return query.where(Ticket.zone.in_(zones) | ((Ticket.assignee + 0) == user.id)) if zones else \
            query.where(Ticket.assignee == user)
    if user.role in ("supervisor", "frontdesk"):
        return query
    return query.where(Ticket.id == 0)


# What a ticket card in a list shows; selecting only these keeps list queries cheap to build.
CARD_FIELDS = ("id", "number", "location", "category", "description", "state", "voided_at", "tier",
               "assignee", "escalation_level", "reopen_count", "responded_at", "response_due",
               "resolution_due", "followup_due", "pause_reason", "resolved_at", "satisfaction",
               "close_reason", "created_at", "escalated_at", "escalation_reason", "is_case",
               "resolution_note", "followup_attempts")


_CARD_TIER = Tier.alias("card_tier")
_CARD_HOLDER = User.alias("card_holder")
# The card's columns as one ready-made piece of SQL: peewee would otherwise rebuild ~30 column
# references on every list (the main table is always "t1"); rows come back converted by column name.
_CARD_SQL = peewee.SQL(", ".join(f'"t1"."{getattr(Ticket, name).column_name}"' for name in CARD_FIELDS)
                       + ', "card_tier"."name" AS "tier_name", "card_holder"."display_name" AS "assignee_name"')


def with_card(query):
    """A ticket query that fetches just what a ticket card shows: its columns, tier_name, assignee_name."""
    return (query.select(_CARD_SQL)
            .join_from(Ticket, _CARD_TIER, peewee.JOIN.LEFT_OUTER, on=(Ticket.tier == _CARD_TIER.id))
            .join_from(Ticket, _CARD_HOLDER, peewee.JOIN.LEFT_OUTER, on=(Ticket.assignee == _CARD_HOLDER.id))
            .objects())


def cards(query):
    """Run a `with_card` query: the tickets, built directly from the rows."""
    return rows(Ticket, database.execute(query))


_PAGE_TIER, _PAGE_ZONE = Tier.alias("page_tier"), Zone.alias("page_zone")
_PAGE_CREATOR, _PAGE_HOLDER = User.alias("page_creator"), User.alias("page_holder")
_PAGE_SQL = peewee.SQL('"t1".*, "page_tier"."name" AS "tier_name", "page_zone"."name" AS "zone_name", '
                       '"page_creator"."display_name" AS "created_by_name", '
                       '"page_holder"."display_name" AS "assignee_name"')


def with_people(query):
    """A ticket query that also fetches the names the ticket page shows: tier_name, zone_name,
    created_by_name, assignee_name (one ready-made selection, as for cards)."""
    return (query.select(_PAGE_SQL)
            .join_from(Ticket, _PAGE_TIER, on=(Ticket.tier == _PAGE_TIER.id))
            .join_from(Ticket, _PAGE_ZONE, peewee.JOIN.LEFT_OUTER, on=(Ticket.zone == _PAGE_ZONE.id))
            .join_from(Ticket, _PAGE_CREATOR, on=(Ticket.created_by == _PAGE_CREATOR.id))
            .join_from(Ticket, _PAGE_HOLDER, peewee.JOIN.LEFT_OUTER, on=(Ticket.assignee == _PAGE_HOLDER.id))
            .objects())


def followups_of(ticket):
    """A ticket's return visits, oldest first, each with `by_name`."""
    return _FOLLOWUPS(ticket.id)


_FOLLOWUPS = Prepared(FollowUp, lambda ticket_id: FollowUp.select(FollowUp, User.display_name.alias("by_name"))
                      .join(User, on=(FollowUp.by == User.id)).where(FollowUp.ticket == ticket_id)
                      .order_by(FollowUp.at), -1)


def with_people_by_id(ticket_id):
    """One ticket (voided or not) with the names its page shows, or None."""
    return next(iter(_WITH_PEOPLE(ticket_id)), None)


_WITH_PEOPLE = Prepared(Ticket, lambda ticket_id: with_people(Ticket.select()).where(Ticket.id == ticket_id), -1)


# Changing a ticket

def _change(actor, ticket, expected_version, allowed, action, to_state=None, note="", photo_ids=(), **fields):
    """Apply one change if the ticket is in an allowed state at the version the user saw.

    The state and version are checked in the UPDATE itself, so of two people acting at once
    exactly one wins and the other gets StaleRecord ("已被他人更新，请刷新").
    """
    if ticket.voided_at is not None:
        raise TicketError("该诉求已作废")
    if ticket.state not in allowed:
        raise TicketError(f"诉求当前为“{ticket.state_label}”，不能{action}")
    values = {Ticket.version: Ticket.version + 1}
    if to_state:
        values[Ticket.state] = to_state
    for name, value in fields.items():
        values[getattr(Ticket, name)] = value
    updated = (Ticket.update(values)
               .where((Ticket.id == ticket.id) & (Ticket.version == expected_version)
                      & Ticket.state.in_(allowed) & Ticket.voided_at.is_null())
               .execute())
    if updated != 1:
        raise StaleRecord()
    from_label = ticket.state_label
    ticket = Ticket.get_by_id(ticket.id)
    extra = {"photo_ids": list(photo_ids)} if photo_ids else {}
    events.record(actor, ticket, action, from_state=from_label if to_state else "",
                  to_state=ticket.state_label if to_state else "", note=note, **extra)
    return ticket


def locate(household=None, place=None, zone=None):
    """Where a ticket is and whose zone it falls in: (building, zone, location text)."""
    if household is not None:
        building = household.building
        return building, zone_of_building(building) or zone, household.code
    if place is not None:
        building = place.building
        found = zone_of_building(building) if building is not None else None
        return building, found or zone, place.name
    return None, zone, ""


def create(actor, *, channel, category, tier, description, household=None, place=None, zone=None,
           customer_name="", customer_phone="", photos=(), token=None, then=None):
    """Take a request. Returns (ticket, created): a resent form returns the ticket made the first time.
    `then(ticket)` runs inside the same transaction (e.g. linking the visit the request came from)."""
    description = (description or "").strip()
    if channel not in CHANNELS:
        raise TicketError("请选择来源渠道", "channel")
    if category not in CATEGORIES:
        raise TicketError("请选择类别", "category")
    if tier is None or tier.voided_at is not None:
        raise TicketError("请选择等级", "tier")
    if household is None and place is None:
        raise TicketError("请填写房号或选择公共部位", "household")
    if not description:
        raise TicketError("请描述客户反映的问题", "description")
    building, ticket_zone, location = locate(household, place, zone)
    if ticket_zone is None:
        raise TicketError("该位置不属于任何管辖区域，请选择区域", "zone")
    now = clock.utcnow()
    with database.atomic():
        earlier = idempotency.claim(token)
        if earlier is not None:
            return Ticket.get_by_id(earlier.record_id), False
        assignee = actor if access.in_zone(actor, ticket_zone.id) else \
            ticket_zone.assistants.first()
        ticket = Ticket.create(
            number=sequences.daily_number("KS", clock.today(Estate.current().tz)),
            channel=channel, category=category, tier=tier, household=household, place=place,
            building=building, zone=ticket_zone, location=location,
            customer_name=(customer_name or "").strip(), customer_phone=(customer_phone or "").strip(),
            description=description, assignee=assignee, created_by=actor, created_at=now,
            response_due=due_after(now, tier.response_minutes),
            resolution_due=due_after(now, tier.resolution_minutes),
        )
        idempotency.remember(token, ticket)
        words = _words()
        words.insert({words.rowid: ticket.id, words.content: _search_text(ticket)}).execute()
        uploads.attach(list(photos), ticket)
        handed = f"，转交 {assignee.display_name}" if assignee is not None and assignee.id != actor.id else ""
        events.record(actor, ticket, "受理", to_state=ticket.state_label,
                      note=f"{channel} · {category} · {tier.name} · {location}{handed}\n{description}",
                      **({"photo_ids": [p.id for p in photos]} if photos else {}))
        if tier.notify_supervisor:
            notices.tell(User.active_with_role("supervisor"), ticket,
                         f"{tier.name}诉求 {ticket.number}：{location} {description[:40]}")
        elif assignee is None:
            notices.tell(User.active_with_role("supervisor"), ticket,
                         f"无人负责 {ticket.number}：{ticket_zone.name} 没有客户助理，请安排")
        if then is not None:
            then(ticket)
    return ticket, True


def _search_text(ticket):
    return " ".join([ticket.number, ticket.location, ticket.customer_name, ticket.category, ticket.description])


def respond(actor, ticket, expected_version, method, note):
    """Record the contact with the customer; this stops the response clock."""
    if method not in RESPONSE_METHODS:
        raise TicketError("请选择响应方式", "method")
    if ticket.responded_at is not None:
        raise TicketError("该诉求已响应，无需重复记录")
    now = clock.utcnow()
    late = "（超时）" if now > ticket.response_due else ""
    # Work may already be under way (dispatched or paused before the call); the response
    # clock runs until the contact is recorded either way.
    to_state = "responded" if ticket.state == "received" else None
    return _change(actor, ticket, expected_version, ("received", "in_progress", "paused"), "响应", to_state,
                   note=f"{method}联系客户{late}：{(note or '').strip()}".rstrip("："),
                   responded_at=now, response_method=method)


def resolve_on_the_spot(actor, ticket, expected_version, note, photos=()):
    """Handled directly (现场处理): resolved with a note and photos, the return visit falls due."""
    note = (note or "").strip()
    if not note:
        raise TicketError("请说明是怎么处理的", "note")
    if _open_orders(ticket):
        raise TicketError("还有未完成的派工单，请先验收或撤销")
    now = clock.utcnow()
    fields = dict(resolved_at=now, resolution_note=note, followup_due=now + FOLLOWUP_WITHIN)
    if ticket.responded_at is None:
        fields.update(responded_at=now, response_method="现场")
    with database.atomic():
        ticket = _change(actor, ticket, expected_version, WORKING, "现场处理完成", "resolved", note=note,
                         photo_ids=[p.id for p in photos], **fields)
        uploads.attach(list(photos), ticket)
    return ticket


def dispatch(actor, ticket, expected_version, unit, instructions, deadline):
    """Send a work order to a business unit; the ticket is in progress until every order is accepted."""
    with database.atomic():
        ticket = _change(actor, ticket, expected_version, WORKING, "派工", "in_progress",
                         note=f"派给 {unit.name if unit else '—'}")
        order = workorders.dispatch(actor, ticket, "ticket", unit, instructions, deadline, zone_id=ticket.zone_id,
                                    location=ticket.location, title=f"{ticket.category} · {ticket.description[:40]}")
    return ticket, order


def _open_orders(ticket):
    return workorders.WorkOrder.of_source("ticket", ticket.id).where(
        workorders.WorkOrder.state.in_(workorders.OPEN_STATES)).exists()


def _on_work_order(actor, order, action, note, photo_ids=()):
    """A work order changed: note it on the ticket; when the last one is accepted, resolve the ticket."""
    ticket = Ticket.get_by_id(order.source_id)
    if action == "派工":
        return
    events.record(actor, ticket, f"派工单{action}", note=f"{order.number} {order.unit.name}"
                  + (f"：{note}" if note else ""), **({"photo_ids": list(photo_ids)} if photo_ids else {}))
    if action in ("验收通过", "撤销派工") and ticket.state in ("in_progress", "paused") and not _open_orders(ticket):
        accepted = workorders.WorkOrder.of_source("ticket", ticket.id).where(
            (workorders.WorkOrder.state == "approved") & (workorders.WorkOrder.approved_at >= (ticket_round_start(ticket))))
        if accepted.exists():
            if ticket.state == "paused":
                # The work is done: the pause ends here, so the deadline moves on by the time paused.
                ticket = resume(actor, ticket, ticket.version)
            now = clock.utcnow()
            notes = "；".join(f"{o.unit.name}：{o.report_note}" for o in accepted)
            _change(actor, ticket, ticket.version, ("in_progress",), "处理完成", "resolved",
                    note="派工单全部验收通过", resolved_at=now, resolution_note=notes,
                    followup_due=now + FOLLOWUP_WITHIN)


def ticket_round_start(ticket):
    """When the current round of work began: intake, or the last 不满意 reopening."""
    last_reopen = (FollowUp.select(FollowUp.at).where((FollowUp.ticket == ticket) & (FollowUp.result == "不满意"))
                   .order_by(FollowUp.at.desc()).first())
    return last_reopen.at if last_reopen else ticket.created_at


workorders.on_change("ticket", _on_work_order)


def pause(actor, ticket, expected_version, reason, note=""):
    """Stop the resolution clock while waiting on the customer, parts or a third party."""
    if reason not in PAUSE_REASONS:
        raise TicketError("请选择暂停原因", "reason")
    return _change(actor, ticket, expected_version, WORKING, "暂停", "paused",
                   note=f"{reason}{('：' + note.strip()) if note and note.strip() else ''}",
                   paused_at=clock.utcnow(), paused_from=ticket.state, pause_reason=reason)


def resume(actor, ticket, expected_version):
    """Restart the resolution clock; the deadline moves on by the service time spent paused."""
    if ticket.state != "paused" or ticket.paused_at is None:
        # e.g. a second tap on 恢复处理: refuse before reading paused_at, which is empty.
        raise TicketError(f"诉求当前为“{ticket.state_label}”，不能恢复处理")
    hours, tz = _hours()
    now = clock.utcnow()
    paused_minutes = hours.working_minutes_between(clock.aware(ticket.paused_at), clock.aware(now), tz)
    new_due = due_after(ticket.resolution_due, paused_minutes)
    return _change(actor, ticket, expected_version, ("paused",), "恢复处理", ticket.paused_from or "in_progress",
                   note=f"暂停 {int(paused_minutes)} 分钟（服务时间），处理时限顺延至 "
                        f"{clock.to_local(new_due, tz):%m-%d %H:%M}",
                   resolution_due=new_due, paused_at=None, paused_from="", pause_reason="")


def escalate(actor, ticket, expected_version, reason, level=1):
    """上报: to the supervisor (level 1) or on to the manager (level 2)."""
    reason = (reason or "").strip()
    if not reason:
        raise TicketError("请写明上报原因", "reason")
    if level <= ticket.escalation_level:
        raise TicketError("该诉求已经上报" + ("经理" if ticket.escalation_level == 2 else "主管"))
    if level == 2 and actor.role != "supervisor":
        raise TicketError("上报经理由客服主管进行")
    to = "经理" if level == 2 else "主管"
    with database.atomic():
        ticket = _change(actor, ticket, expected_version, OPEN, f"上报{to}", note=reason,
                         escalation_level=level, escalated_at=clock.utcnow(), escalation_reason=reason)
        if level == 1:
            notices.tell(User.active_with_role("supervisor").where(User.id != actor.id), ticket,
                         f"上报 {ticket.number}：{ticket.location} {reason[:60]}")
    return ticket


def sweep(now=None):
    """Escalate every ticket past its resolution limit (the app's scheduler calls this). Returns how many."""
    now = now or clock.utcnow()
    late = list(Ticket.live().where(Ticket.state.in_(WORKING) & (Ticket.resolution_due < now)
                                    & (Ticket.escalation_level == 0)))
    count = 0
    for ticket in late:
        try:
            with database.atomic():
                escalated = _change(None, ticket, ticket.version, WORKING, "超时自动上报主管",
                                    note=f"超过处理时限（{clock.to_local(ticket.resolution_due, Estate.current().tz):%m-%d %H:%M}）",
                                    escalation_level=1, escalated_at=now, escalation_reason="超过处理时限")
                recipients = list(User.active_with_role("supervisor"))
                if escalated.assignee is not None:
                    recipients.append(escalated.assignee)
                notices.tell(recipients, escalated, f"超时自动上报 {ticket.number}：{ticket.location}")
                count += 1
        except (StaleRecord, TicketError):
            continue  # someone acted on it meanwhile; the next sweep looks again
    return count


def instruct(actor, ticket, expected_version, note):
    """The supervisor's instructions on an escalated ticket."""
    note = (note or "").strip()
    if not note:
        raise TicketError("请填写处理意见", "note")
    ticket = _change(actor, ticket, expected_version, OPEN, "主管批示", note=note)
    if ticket.assignee is not None and ticket.assignee_id != actor.id:
        notices.tell([ticket.assignee], ticket, f"主管批示 {ticket.number}：{note[:60]}")
    return ticket


def reassign(actor, ticket, expected_version, assignee, note=""):
    """Hand the ticket to another assistant (or, taking it over, to the supervisor)."""
    if assignee is None or assignee.role not in ("assistant", "supervisor") or not assignee.is_active:
        raise TicketError("请选择客户助理", "assignee")
    if assignee.id == ticket.assignee_id:
        raise TicketError(f"该诉求已由 {assignee.display_name} 负责", "assignee")
    action = "主管接手" if assignee.id == actor.id else "转派"
    before = ticket.assignee.display_name if ticket.assignee else "无"
    ticket = _change(actor, ticket, expected_version, OPEN, action,
                     note=f"{before} → {assignee.display_name}" + (f"：{note.strip()}" if note and note.strip() else ""),
                     assignee=assignee)
    if assignee.id != actor.id:
        notices.tell([assignee], ticket, f"{actor.display_name} 转派给您 {ticket.number}：{ticket.location}")
    return ticket


def record_followup(actor, ticket, expected_version, method, result, words=""):
    """回访. 满意/基本满意 close the ticket; 不满意 reopens it for a new round; 未接通 is counted."""
    if method not in FOLLOWUP_METHODS:
        raise TicketError("请选择回访方式", "method")
    if result not in SATISFACTION + [UNREACHABLE]:
        raise TicketError("请选择回访结果", "result")
    words = (words or "").strip()
    if result == "不满意" and not words:
        raise TicketError("请记录客户不满意的地方，以便重新处理", "words")
    now = clock.utcnow()
    with database.atomic():
        if ticket.state != "resolved":
            raise TicketError(f"诉求当前为“{ticket.state_label}”，不能回访")
        FollowUp.create(ticket=ticket, at=now, by=actor, method=method, result=result, words=words)
        note = f"{method}回访：{result}" + (f"。客户说：{words}" if words else "")
        if result == UNREACHABLE:
            return _change(actor, ticket, expected_version, ("resolved",), "回访未接通", note=note,
                           followup_attempts=Ticket.followup_attempts + 1)
        if result == "不满意":
            return _change(actor, ticket, expected_version, ("resolved",), "回访不满意，重新处理", "in_progress",
                           note=note, satisfaction=result, reopen_count=Ticket.reopen_count + 1,
                           resolved_at=None, followup_due=None,
                           resolution_due=due_after(now, ticket.tier.resolution_minutes))
        return _change(actor, ticket, expected_version, ("resolved",), "回访后关闭", "closed", note=note,
                       satisfaction=result, closed_at=now)


def close_by_supervisor(actor, ticket, expected_version, reason):
    """The supervisor closes a resolved ticket without a satisfied customer (e.g. unreachable three times)."""
    reason = (reason or "").strip()
    if actor.role != "supervisor":
        raise TicketError("只有客服主管可以直接关闭诉求")
    if not reason:
        raise TicketError("请填写关闭原因", "reason")
    if _open_orders(ticket):
        raise TicketError("还有未完成的派工单，不能关闭")
    return _change(actor, ticket, expected_version, ("resolved",), "主管关闭", "closed", note=reason,
                   closed_at=clock.utcnow(), close_reason=reason)


def mark_case(actor, ticket, expected_version, cause, handling, prevention):
    """Mark a ticket as a case (案例) with its analysis: 原因 / 处理 / 预防."""
    cause, handling, prevention = (v.strip() for v in (cause or "", handling or "", prevention or ""))
    if not (cause and handling and prevention):
        missing = "cause" if not cause else "handling" if not handling else "prevention"
        raise TicketError("原因、处理、预防三项都要写", missing)
    if ticket.voided_at is not None:
        raise TicketError("该诉求已作废")
    action = "更新案例分析" if ticket.is_case else "标记为案例"
    updated = (Ticket.update(is_case=True, case_cause=cause, case_handling=handling, case_prevention=prevention,
                             version=Ticket.version + 1)
               .where((Ticket.id == ticket.id) & (Ticket.version == expected_version)).execute())
    if updated != 1:
        raise StaleRecord()
    ticket = Ticket.get_by_id(ticket.id)
    events.record(actor, ticket, action,
                  note=f"原因：{cause}\n处理：{handling}\n预防：{prevention}")
    return ticket


def void(actor, ticket, expected_version, reason):
    """Void a ticket logged by mistake (e.g. a duplicate). It stays on record."""
    reason = (reason or "").strip()
    if not reason:
        raise TicketError("请填写作废原因", "reason")
    if _open_orders(ticket):
        raise TicketError("还有未完成的派工单，请先撤销")
    with database.atomic():
        ticket = _change(actor, ticket, expected_version, OPEN, "作废", note=reason,
                         voided_at=clock.utcnow(), void_reason=reason)
    return ticket


# Finding tickets

def search_ids(text, limit=None):
    """Ids of tickets whose words contain `text` (FTS5 trigram; instr() for 1–2 characters)."""
    text = (text or "").strip()
    if not text:
        return None
    if len(text) >= 3:
        words = _words()
        return words.select(words.rowid).where(_has_words(text))
    return Ticket.select(Ticket.id).where(_contains(text))


def _contains(text):
    return (contains(Ticket.description, text) | contains(Ticket.location, text)
            | contains(Ticket.customer_name, text) | contains(Ticket.number, text))


def newest_matching(query, text):
    """Narrow a ticket query to tickets whose words contain `text` (if any), newest first.

    Candidates are read newest first and reading stops when the page is full, so a search costs
    about the same after ten years as after one: 3+ characters walk the trigram index backwards by
    rowid (a ticket's id grows with its intake time), 1–2 characters walk the intake-time index
    testing instr(). When other filters leave few tickets (only open ones, say), test those against
    `search_ids` instead.
    """
    text = (text or "").strip()
    if len(text) >= 3:
        words = _words()
        return (query.join_from(Ticket, words, on=(words.rowid == Ticket.id))
                .where(_has_words(text)).order_by(words.rowid.desc()))
    query = query.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    return query.where(_contains(text)) if text else query


def _quote(text):
    # Without its NULs: one inside a quoted FTS5 term ends the query ("unterminated string").
    return '"' + text.replace("\x00", "").replace('"', '""') + '"'


def similar(ticket=None, *, household=None, building=None, category=None, text="", limit=5):
    """举一反三: earlier tickets at the same household, in the same building and category, or with
    similar words — each with how it ended."""
    exclude = ticket.id if ticket is not None else 0
    if ticket is not None:
        household, building, category, text = ticket.household, ticket.building, ticket.category, ticket.description
    groups = []
    base = Ticket.live().where(Ticket.id != exclude)
    if ticket is not None:
        base = base.where((Ticket.created_at < ticket.created_at)
                          | ((Ticket.created_at == ticket.created_at) & (Ticket.id < ticket.id)))
    if household is not None:
        groups.append(("同一房号", list(base.where(Ticket.household == household)
                                       .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))))
    if building is not None and category:
        query = base.where((Ticket.building == building) & (Ticket.category == category))
        if household is not None:
            query = query.where((Ticket.household != household) | Ticket.household.is_null())
        groups.append((f"同楼栋 · {category}", list(query.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit))))
    grams = _trigrams(text)
    if grams:
        seen = {t.id for _, items in groups for t in items}
        # Rank only the most recent earlier tickets sharing a piece of wording: ranking every match
        # in ten years' history took 50 ms a view (bench/README.md).
        words = _words()
        if is_sqlite():
            pool = (TicketText.select(TicketText.rowid.alias("id"), TicketText.bm25().alias("score"))
                    .where(TicketText.match(" OR ".join(_quote(g) for g in grams))))
        else:  # the more of the pieces a ticket shares, the better (bm25 scores are lower for better)
            shared = [_has_words(g) for g in grams]
            pool = (TicketWords.select(TicketWords.rowid.alias("id"),
                                       functools.reduce(operator.sub, (flag(one) for one in shared), peewee.Value(0)).alias("score"))
                    .where(functools.reduce(operator.or_, shared)))
        pool = pool.order_by(words.rowid.desc()).limit(SIMILAR_POOL)
        if ticket is not None:
            pool = pool.where(words.rowid < ticket.id)
        pool = pool.alias("pool")
        ids = [row[0] for row in peewee.Select([pool], [pool.c.id]).order_by(pool.c.score)
               .limit(limit + 10).bind(database).tuples()]
        matches = [t for t in base.where(Ticket.id.in_(ids)) if t.id not in seen] if ids else []
        matches.sort(key=lambda t: ids.index(t.id))
        groups.append(("相似描述", matches[:limit]))
    return [(label, items) for label, items in groups if items]


# How many of the latest earlier tickets sharing wording with a ticket are ranked for 相似描述.
SIMILAR_POOL = 1000

_PUNCTUATION = re.compile(r"[\s，。、；：！？,.;:!?（）()“”\"'《》【】\-—…]+")


def _trigrams(text, most=24):
    """Distinct 3-character pieces of a description, for an OR query on the trigram index."""
    grams = []
    for piece in _PUNCTUATION.split(text or ""):
        for i in range(len(piece) - 2):
            gram = piece[i:i + 3]
            if gram not in grams:
                grams.append(gram)
    return grams[:most]


def outcome(ticket):
    """How a ticket ended, in a few words, for similar-case lists."""
    if ticket.voided_at:
        return "已作废"
    if ticket.state == "closed":
        return f"已关闭 · {ticket.satisfaction or ticket.close_reason or '—'}"
    return ticket.state_label


def cases(text="", limit=50, offset=0):
    query = Ticket.live().where(Ticket.is_case)
    ids = search_ids(text)
    if ids is not None:
        query = query.where(Ticket.id.in_(ids))
    return query.order_by(Ticket.created_at.desc()).limit(limit).offset(offset)


scheduler.job("tickets.escalate_overdue", 60)(sweep)
