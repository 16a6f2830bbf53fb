"""Customer requests (客户诉求): intake, the response and resolution clocks, dispatch, pause,
escalation, return visits. Finding tickets and similar cases: kefu/search.py.

received 待响应 ──respond──▶ responded 已响应 ──dispatch──▶ in_progress 处理中
   └── resolve on the spot ─────────────────────────────▶ resolved 待回访 ◀── all orders accepted
resolved ── 满意/基本满意 ──▶ closed 已关闭;  不满意 ──▶ in_progress (reopened)
paused 已暂停 stops the resolution clock only; escalation is a flag on any open ticket.
"""
import datetime
import secrets

import peewee

from . import access
from . import callbacks
from . import clock
from . import escalations
from . import events
from . import idempotency
from . import lifecycle
from . import notices
from . import outbox
from . import sequences
from . import uploads
from . import words
from . import workorders
from .db import BaseModel
from .db import Prepared
from .db import rows
from .db import RuleError
from .db import VersionedMixin
from .db import VoidableMixin
from .db import database
from .estate import Building
from .estate import Estate
from .estate import Household
from .estate import Place
from .estate import VOID_REASON_MISSING
from .estate import Zone
from .estate import zone_of_building
from .estate import zone_of_place
from .users import User

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
DESCRIPTION_MISSING = "请描述客户反映的问题"
HANDLING_MISSING = "请说明是怎么处理的"
ESCALATION_REASON_MISSING = "请写明上报原因"
CLOSE_REASON_MISSING = "请填写关闭原因"
RESPONSE_LIMIT_RANGE = "响应时限应在 5–1440 分钟之间"
RESOLUTION_LIMIT_RANGE = "处理时限应在 1–720 小时之间"
SORT_RANGE = "排序应在 0–99 之间"

# 住户自助: the resident reported it themselves through a poster's QR code (kefu/residents.py); staff
# don't pick it on the intake page.
SELF_SERVICE = "住户自助"
CHANNELS = ["现场", "前台转交", "电话", "其他岗位", "拜访", SELF_SERVICE]
STAFF_CHANNELS = [c for c in CHANNELS if c != SELF_SERVICE]
CATEGORIES = ["工程维修", "保洁", "绿化", "安保", "综合服务", "装修", "商铺", "投诉", "建议", "咨询", "其他"]
# The business unit a category usually goes to.
CATEGORY_UNIT = {"工程维修": "engineering", "保洁": "cleaning", "绿化": "greening", "安保": "security",
                 "综合服务": "general", "装修": "engineering"}
RESPONSE_METHODS = ["电话", "上门", "现场"]
# Words that usually mean a category, tried in this order (the first category with a match wins):
# the intake page suggests it while the description is typed.
CATEGORY_WORDS = [
    ("投诉", ("投诉", "态度差", "不作为")),
    ("装修", ("装修", "施工", "电钻", "砸墙")),
    ("商铺", ("商铺", "店铺", "饭店", "餐馆", "油烟")),
    ("工程维修", ("漏水", "渗水", "水管", "水龙头", "堵", "电梯", "停电", "跳闸", "灯", "门禁", "对讲", "道闸",
              "水压", "没水", "维修", "坏了", "不亮", "插座", "下水", "马桶", "裂", "空调", "监控")),
    ("保洁", ("垃圾", "卫生", "清扫", "清运", "打扫", "脏", "异味", "臭", "保洁", "狗屎", "污渍", "蟑螂", "老鼠")),
    ("绿化", ("树", "草", "绿化", "修剪", "花", "浇水", "落叶", "虫")),
    ("安保", ("停车", "车位", "乱停", "陌生人", "被盗", "偷", "保安", "门岗", "吵架", "噪音", "放鞭炮", "外卖")),
    ("建议", ("建议", "希望", "能不能")),
    ("咨询", ("请问", "咨询", "怎么办理", "多少钱", "物业费", "什么时候")),
]
PAUSE_REASONS = ["等待客户", "等待配件", "等待第三方"]
FOLLOWUP_METHODS = callbacks.METHODS
SATISFACTION = callbacks.ANSWERS
UNREACHABLE = callbacks.UNREACHED_RESULT
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


class Tier(VoidableMixin, VersionedMixin, BaseModel):
    """诉求等级: the graded handling of 附件一, editable by the administrator."""

    name = peewee.CharField(max_length=20, unique=True)
    response_minutes = peewee.IntegerField(default=60)
    resolution_minutes = peewee.IntegerField()
    notify_supervisor = peewee.BooleanField(default=False)
    sort = peewee.IntegerField(default=0)

    @classmethod
    def live(cls):
        return cls.select().where(cls.voided_at.is_null()).order_by(cls.sort, cls.id)

    @staticmethod
    def hours_label(minutes):
        return f"{minutes // 60} 小时" if minutes % 60 == 0 else f"{minutes} 分钟"


class Ticket(VoidableMixin, VersionedMixin, BaseModel):
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
    # The request's private link for the resident (kefu/residents.py): unguessable, one per request.
    # Its unique index is made by migration 20 alone (on a fresh database too): declared here, the
    # start-up's create_tables would make it on an older table before the column exists.
    link_token = peewee.CharField(max_length=32, default=lambda: new_link_token(),
                                  constraints=[peewee.SQL("DEFAULT ''")])

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


def awaiting_response():
    """待响应: live tickets whose customer hasn't been contacted yet, whatever work is already under
    way (a ticket dispatched or paused before the call is still owed its response)."""
    return (Ticket.voided_at.is_null() & Ticket.responded_at.is_null()
            & Ticket.state.in_(("received", "in_progress", "paused")))


# The by-state indexes leave voided tickets out: a voided ticket keeps the state it had (mostly 受理),
# and every query by state asks for live tickets, so over the years the open states would otherwise
# drag along every voided ticket ever made. (assignee, created_at) serves an assistant's month: the
# evaluation, the monthly summary and the trends.
for _fields in (("zone", "state", "created_at"), ("state", "resolution_due"), ("state", "created_at"),
                ("assignee", "created_at")):
    Ticket.add_index(Ticket.index(*(getattr(Ticket, f) for f in _fields), where=Ticket.voided_at.is_null(),
                                  name="ticket_live_" + "_".join(_fields)))


MODELS = [Tier, Ticket]


def new_link_token():
    """A request's private link token: 128 bits, URL-safe."""
    return secrets.token_urlsafe(16)


def seed():
    """The default tiers on a new estate."""
    if not Tier.select().exists():
        for sort, (name, response, resolution, notify) in enumerate(DEFAULT_TIERS):
            Tier.create(name=name, response_minutes=response, resolution_minutes=resolution,
                        notify_supervisor=notify, sort=sort)


def save_tier(actor, tier, expected_version, *, name, response_minutes, resolution_minutes, notify_supervisor,
              sort=0):
    """Create a tier (`tier` None) or change one: its limits and who is told at intake."""
    name = TicketError.checked(name, 20, "名称", "name", required=True)
    if response_minutes is None or not 5 <= response_minutes <= 24 * 60:
        raise TicketError(RESPONSE_LIMIT_RANGE, "response_minutes")
    if resolution_minutes is None or not 60 <= resolution_minutes <= 24 * 30 * 60:
        raise TicketError(RESOLUTION_LIMIT_RANGE, "resolution_hours")
    if not 0 <= (sort or 0) <= 99:
        raise TicketError(SORT_RANGE, "sort")
    if Tier.select().where((Tier.name == name) & (Tier.id != (tier.id if tier else 0))).exists():
        raise TicketError("该等级名称已存在", "name")
    values = dict(name=name, response_minutes=response_minutes, resolution_minutes=resolution_minutes,
                  notify_supervisor=bool(notify_supervisor), sort=sort or 0)
    with database.atomic():
        if tier is None:
            tier = Tier.create(**values)
            events.record(actor, tier, "新建诉求等级", note=_tier_summary(tier))
            return tier
        before = _tier_summary(tier)
        for key, value in values.items():
            setattr(tier, key, value)
        tier.save_versioned(expected_version, *values)
        events.record(actor, tier, "修改诉求等级", note=f"{before} → {_tier_summary(tier)}")
    return tier


def _tier_summary(tier):
    return (f"{tier.name}：响应 {Tier.hours_label(tier.response_minutes)}，处理 "
            f"{Tier.hours_label(tier.resolution_minutes)}" + ("，通知主管" if tier.notify_supervisor else ""))


def suggest_category(description):
    """The category a description's words suggest, or "" when none does."""
    description = description or ""
    for category, keys in CATEGORY_WORDS:
        if any(key in description for key in keys):
            return category
    return ""


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
    return callbacks.of_record(ticket)


def with_people_by_id(ticket_id):
    """One ticket (voided or not) with the names its page shows, or None."""
    return next(iter(_WITH_PEOPLE(ticket_id)), None)


_WITH_PEOPLE = Prepared(Ticket, lambda ticket_id: with_people(Ticket.select()).where(Ticket.id == ticket_id), -1)


# Changing a ticket

# The typed names of a ticket's steps.
RESPOND, RESOLVE, DISPATCH, ORDERS_DONE, PAUSE, RESUME = "respond", "resolve", "dispatch", "orders_done", "pause", "resume"
ESCALATE, ESCALATE_MANAGER, AUTO_ESCALATE, INSTRUCT, REASSIGN, TAKE_OVER = (
    "escalate", "escalate_manager", "auto_escalate", "instruct", "reassign", "take_over")
UNREACHED, REOPEN, CLOSE = callbacks.UNREACHED, callbacks.REOPEN, callbacks.CLOSE
SUPERVISOR_CLOSE, MARK_CASE, VOID = "supervisor_close", "mark_case", "void"
_HANDLERS = ("assistant", "supervisor")
# A return visit's answer may also come from the resident, rating through their own link.
_RATERS = (*_HANDLERS, "resident")

MACHINE = lifecycle.Machine(Ticket, "诉求", STATES, [
    lifecycle.step(RESPOND, "响应", ("received", "in_progress", "paused"), ("responded", None), _HANDLERS),
    # Dispatching again while in progress (a second unit, or after 不满意) leaves the state as it is.
    lifecycle.step(DISPATCH, "派工", WORKING, ("in_progress", None), _HANDLERS),
    lifecycle.step(RESOLVE, "现场处理完成", WORKING, "resolved", _HANDLERS),
    lifecycle.step(PAUSE, "暂停", WORKING, "paused", _HANDLERS),
    lifecycle.step(RESUME, "恢复处理", "paused", WORKING, _HANDLERS),
    lifecycle.step(ORDERS_DONE, "处理完成", "in_progress", "resolved"),
    lifecycle.step(UNREACHED, "回访未接通", "resolved", None, _HANDLERS),
    lifecycle.step(CLOSE, "回访后关闭", "resolved", "closed", _RATERS),
    lifecycle.step(REOPEN, "回访不满意，重新处理", "resolved", "in_progress", _RATERS),
    lifecycle.step(SUPERVISOR_CLOSE, "主管关闭", "resolved", "closed", ("supervisor",)),
    lifecycle.step(ESCALATE, "上报主管", OPEN, None, _HANDLERS),
    lifecycle.step(ESCALATE_MANAGER, "上报经理", OPEN, None, ("supervisor",)),
    lifecycle.step(AUTO_ESCALATE, "超时自动上报主管", OPEN, None),
    lifecycle.step(INSTRUCT, "主管批示", OPEN, None, ("supervisor",)),
    lifecycle.step(REASSIGN, "转派", OPEN, None, ("supervisor",)),
    lifecycle.step(TAKE_OVER, "主管接手", OPEN, None, ("supervisor",)),
    lifecycle.step(MARK_CASE, "标记为案例", tuple(STATES), None, _HANDLERS),
    lifecycle.step(VOID, "作废", OPEN, None, ("supervisor",)),
], open_states=OPEN, error=TicketError)

# Who owes a request's next step, and by when (the agenda reads these).
MACHINE.wait("ticket.respond", "待响应", ("received", "in_progress", "paused"), "assistant", "response_due", RESPOND,
             when=lambda t: t.responded_at is None, label="响应客户")
MACHINE.wait("ticket.handle", "待处理", "responded", "assistant", "resolution_due", DISPATCH)
MACHINE.wait("ticket.follow", "处理中", ("in_progress", "paused"), "assistant",
             lambda t: None if t.state == "paused" else t.resolution_due,
             when=lambda t: t.responded_at is not None or t.state == "paused")
MACHINE.wait("ticket.callback", "待回访", "resolved", "assistant", "followup_due", CLOSE, label="回访客户")


def answered_in_time(ticket):
    """Whether a request's response came by its deadline (trends and evaluations count these; a
    response never given was not in time): the ticket.respond wait, looked back on."""
    return ticket.responded_at is not None and ticket.responded_at <= ticket.response_due


def not_answered_in_time_where():
    """The requests whose response did not come by its deadline, as a query condition: the ones an
    evaluation's 时限内响应率 leaves out (`answered_in_time`'s complement)."""
    return Ticket.responded_at.is_null() | (Ticket.responded_at > Ticket.response_due)


def late_where(now):
    """The requests with a wait above past its deadline, as a query condition (lists' 只看超时)."""
    unanswered = awaiting_response()
    return ((unanswered & (Ticket.response_due < now))
            | (~unanswered & Ticket.state.in_(("responded", "in_progress")) & (Ticket.resolution_due < now))
            | ((Ticket.state == "resolved") & (Ticket.followup_due < now)))


def _change(actor, ticket, expected_version, action, **kwargs):
    return MACHINE.transition(actor, ticket, expected_version, action, **kwargs)


def locate(household=None, place=None, zone=None):
    """Where a ticket is and whose zone it falls in: (building, zone, location text)."""
    if household is not None:
        building = household.building
        return building, zone_of_building(building) or zone, household.code
    if place is not None:
        return place.building, zone_of_place(place) or zone, place.name
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
        raise TicketError(DESCRIPTION_MISSING, "description")
    building, ticket_zone, location = locate(household, place, zone)
    if ticket_zone is None:
        raise TicketError("该位置不属于任何管辖区域，请选择区域", "zone")
    now = clock.utcnow()
    # An assistant's own report of a public place, with no customer to answer: nobody awaits a response.
    own_report = (channel == "现场" and place is not None and household is None and actor.role in _HANDLERS
                  and not (customer_name or "").strip() and not (customer_phone or "").strip())
    responded = dict(state="responded", responded_at=now, response_method="现场") if own_report else {}
    with database.atomic():
        earlier = idempotency.claim(token, Ticket)
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
            resolution_due=due_after(now, tier.resolution_minutes), **responded,
        )
        idempotency.remember(token, ticket)
        words.add(ticket.id, _search_text(ticket))
        uploads.attach(list(photos), ticket)
        handed = f"，转交 {assignee.display_name}" if assignee is not None and assignee.id != actor.id else ""
        own = "，自行发现，没有要联系的客户，视为已响应" if own_report else ""
        events.record(actor, ticket, "受理", to_state=ticket.state_label,
                      note=f"{channel} · {category} · {tier.name} · {location}{handed}{own}\n{description}",
                      **({"photo_ids": [p.id for p in photos]} if photos else {}))
        if tier.notify_supervisor:
            notices.tell(User.active_with_role("supervisor"), ticket,
                         f"{tier.name}诉求 {ticket.number}：{location} {description[:40]}")
        elif assignee is None:
            notices.tell(User.active_with_role("supervisor"), ticket,
                         f"无人负责 {ticket.number}：{ticket_zone.name} 没有客户助理，请安排")
        outbox.tell("ticket_new", ticket, f"{tier.name}诉求 {ticket.number}：{location} {description[:40]}", zone_id=ticket_zone.id, urgent=tier.notify_supervisor, actor=actor, users=[*ticket_zone.assistants, *(User.active_with_role("supervisor") if tier.notify_supervisor or assignee is None else [])])
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
    return _change(actor, ticket, expected_version, RESPOND, to=to_state,
                   note=f"{method}联系客户{late}：{(note or '').strip()}".rstrip("："),
                   responded_at=now, response_method=method)


def resolve_on_the_spot(actor, ticket, expected_version, note, photos=()):
    """Handled directly (现场处理): resolved with a note and photos, the return visit falls due."""
    note = (note or "").strip()
    if not note:
        raise TicketError(HANDLING_MISSING, "note")
    if _open_orders(ticket):
        raise TicketError("还有未完成的派工单，请先验收或撤销")
    now = clock.utcnow()
    fields = dict(resolved_at=now, resolution_note=note, followup_due=now + FOLLOWUP_WITHIN)
    if ticket.responded_at is None:
        fields.update(responded_at=now, response_method="现场")
    with database.atomic():
        ticket = _change(actor, ticket, expected_version, RESOLVE, note=note, photo_ids=[p.id for p in photos],
                         **fields)
        uploads.attach(list(photos), ticket)
    return ticket


def dispatch(actor, ticket, expected_version, unit, instructions, deadline, contacted=None, contact_note=""):
    """Send a work order to a business unit; the ticket is in progress until every order is accepted.
    `contacted`: how the customer was reached before it (a response method), recorded as the response
    in the same step; None leaves the response owed."""
    again = ticket.state == "in_progress"
    reopened = again and ticket.reopen_count > 0 and not _open_orders(ticket)
    with database.atomic():
        if contacted is not None and ticket.responded_at is None:
            ticket = respond(actor, ticket, expected_version, contacted, contact_note)
            expected_version = ticket.version
        ticket = _change(actor, ticket, expected_version, DISPATCH, to=None if again else "in_progress",
                         label="回访不满意后重新派工" if reopened else ("追加派工" if again else None),
                         note=f"派给 {unit.name if unit else '—'}：{(instructions or '').strip()[:60]}")
        order = workorders.dispatch(actor, ticket, "ticket", unit, instructions, deadline, zone_id=ticket.zone_id,
                                    location=ticket.location, title=f"{ticket.category} · {ticket.description[:40]}")
    return ticket, order


def dispatch_text(ticket):
    """What a new work order should say: the request, or after a 不满意 return visit the customer's
    own words about what is still wrong (the first order already had the original description)."""
    if ticket.state == "in_progress" and ticket.reopen_count and not _open_orders(ticket):
        record_type, record_id = callbacks.record_key(ticket)
        unhappy = callbacks.CallBack.select(callbacks.CallBack.words).where(
            (callbacks.CallBack.record_type == record_type) & (callbacks.CallBack.record_id == record_id)
            & (callbacks.CallBack.result == callbacks.UNHAPPY)).order_by(callbacks.CallBack.at.desc()).first()
        if unhappy is not None and unhappy.words:
            return f"回访不满意：{unhappy.words}（原诉求：{ticket.description}）"
    return ticket.description


def _open_orders(ticket):
    return workorders.WorkOrder.of_source("ticket", ticket.id).where(
        workorders.WorkOrder.state.in_(workorders.OPEN_STATES)).exists()


def _on_work_order(change):
    """A work order changed: note it on the ticket; when the last one is accepted, resolve the ticket."""
    order, actor = change.record, change.actor
    ticket = Ticket.get_by_id(order.source_id)
    events.record(actor, ticket, f"派工单{change.label}", note=f"{order.number} {order.unit.name}"
                  + (f"：{change.note}" if change.note else ""),
                  **({"photo_ids": list(change.photo_ids)} if change.photo_ids else {}))
    if change.action in (workorders.APPROVE, workorders.CANCEL) and ticket.state in ("in_progress", "paused") \
            and not _open_orders(ticket):
        accepted = workorders.WorkOrder.of_source("ticket", ticket.id).where(
            (workorders.WorkOrder.state == "approved") & (workorders.WorkOrder.approved_at >= (ticket_round_start(ticket))))
        if accepted.exists():
            if ticket.state == "paused":
                # The work is done: the pause ends here, so the deadline moves on by the time paused.
                ticket = resume(actor, ticket, ticket.version, as_system=True)
            now = clock.utcnow()
            notes = "；".join(f"{o.unit.name}：{o.report_note}" for o in accepted)
            _change(actor, ticket, ticket.version, ORDERS_DONE, as_system=True, note="派工单全部验收通过", resolved_at=now, resolution_note=notes,
                    followup_due=now + FOLLOWUP_WITHIN)


def ticket_round_start(ticket):
    """When the current round of work began: intake, or the last 不满意 reopening."""
    return callbacks.last_unhappy(ticket) or ticket.created_at


workorders.on_change("ticket", _on_work_order)


def pause(actor, ticket, expected_version, reason, note=""):
    """Stop the resolution clock while waiting on the customer, parts or a third party."""
    if reason not in PAUSE_REASONS:
        raise TicketError("请选择暂停原因", "reason")
    return _change(actor, ticket, expected_version, PAUSE,
                   note=f"{reason}{('：' + note.strip()) if note and note.strip() else ''}",
                   paused_at=clock.utcnow(), paused_from=ticket.state, pause_reason=reason)


def resume(actor, ticket, expected_version, as_system=False):
    """Restart the resolution clock; the deadline moves on by the service time spent paused."""
    if ticket.paused_at is None:
        # e.g. a second tap on 恢复处理: refuse before reading paused_at, which is empty.
        raise TicketError(MACHINE.refusal(ticket, RESUME) or f"诉求当前为“{ticket.state_label}”，不能恢复处理")
    hours, tz = _hours()
    now = clock.utcnow()
    paused_minutes = hours.working_minutes_between(clock.aware(ticket.paused_at), clock.aware(now), tz)
    new_due = due_after(ticket.resolution_due, paused_minutes)
    return _change(actor, ticket, expected_version, RESUME, to=ticket.paused_from or "in_progress",
                   as_system=as_system, note=f"暂停 {int(paused_minutes)} 分钟（服务时间），处理时限顺延至 "
                        f"{clock.to_local(new_due, tz):%m-%d %H:%M}",
                   resolution_due=new_due, paused_at=None, paused_from="", pause_reason="")


def escalate(actor, ticket, expected_version, reason, level=1):
    """上报: to the supervisor (level 1) or on to the manager (level 2)."""
    reason = (reason or "").strip()
    if not reason:
        raise TicketError(ESCALATION_REASON_MISSING, "reason")
    if level <= ticket.escalation_level:
        raise TicketError("该诉求已经上报" + ("经理" if ticket.escalation_level == 2 else "主管"))
    if level == 2 and actor.role != "supervisor":
        raise TicketError("上报经理由客服主管进行")
    with database.atomic():
        ticket = _change(actor, ticket, expected_version, ESCALATE_MANAGER if level == 2 else ESCALATE, note=reason,
                         escalation_level=level, escalated_at=clock.utcnow(), escalation_reason=reason)
        if level == 1:
            escalations.escalated(actor, ticket, "ticket.escalate", f"{ticket.location} · {ticket.category}", reason,
                                  who=ticket.zone.name if ticket.zone_id else "")
            notices.tell(User.active_with_role("supervisor").where(User.id != actor.id), ticket,
                         f"上报 {ticket.number}：{ticket.location} {reason[:60]}")
    return ticket


def _late_request_escalated(escalation, item):
    """The lateness rule escalated one of a request's waits: the request shows it too (上报 badge,
    its timeline, its holder told), once, unless it is escalated already."""
    if escalation.ref_type != "ticket":
        return
    ticket = Ticket.get_by_id(escalation.ref_id)
    if ticket.escalation_level or MACHINE.refusal(ticket, AUTO_ESCALATE) is not None:
        return
    escalated = _change(None, ticket, ticket.version, AUTO_ESCALATE, as_system=True,
                        note=f"{escalation.reason}（时限 {clock.to_local(item.due, Estate.current().tz):%m-%d %H:%M}）",
                        escalation_level=1, escalated_at=escalation.created_at, escalation_reason=escalation.reason)
    if escalated.assignee is not None:
        notices.tell([escalated.assignee], escalated, f"超时自动上报 {ticket.number}：{ticket.location}")


escalations.on_escalate(_late_request_escalated)


def sweep(now=None):
    """The lateness rule (escalations.sweep) as the requests see it: how many requests it escalated."""
    return sum(1 for e in escalations.sweep(now) if e.ref_type == "ticket")


_ESCALATION_FOLLOWS = {INSTRUCT: escalations.INSTRUCT, REASSIGN: escalations.REASSIGN,
                       TAKE_OVER: escalations.TAKE_OVER, RESOLVE: escalations.RESOLVE,
                       ORDERS_DONE: escalations.RESOLVE, SUPERVISOR_CLOSE: escalations.RESOLVE,
                       CLOSE: escalations.RESOLVE, VOID: escalations.RESOLVE}


def _escalations_follow(change):
    """An escalated request's escalations move with what is done to the request."""
    action = _ESCALATION_FOLLOWS.get(change.action)
    if action is not None:
        escalations.follow(change.record, action, None if action == escalations.RESOLVE else change.actor)


MACHINE.listen(_escalations_follow)


def instruct(actor, ticket, expected_version, note):
    """The supervisor's instructions on an escalated ticket."""
    note = (note or "").strip()
    if not note:
        raise TicketError("请填写处理意见", "note")
    ticket = _change(actor, ticket, expected_version, INSTRUCT, note=note)
    if ticket.assignee is not None and ticket.assignee_id != actor.id:
        notices.tell([ticket.assignee], ticket, f"主管批示 {ticket.number}：{note[:60]}")
    return ticket


def reassign(actor, ticket, expected_version, assignee, note=""):
    """Hand the ticket to another assistant (or, taking it over, to the supervisor)."""
    if assignee is None or assignee.role not in ("assistant", "supervisor") or not assignee.is_active:
        raise TicketError("请选择客户助理", "assignee")
    if assignee.id == ticket.assignee_id:
        raise TicketError(f"该诉求已由 {assignee.display_name} 负责", "assignee")
    action = TAKE_OVER if assignee.id == actor.id else REASSIGN
    before = ticket.assignee.display_name if ticket.assignee else "无"
    ticket = _change(actor, ticket, expected_version, action,
                     note=f"{before} → {assignee.display_name}" + (f"：{note.strip()}" if note and note.strip() else ""),
                     assignee=assignee)
    if assignee.id != actor.id:
        notices.tell([assignee], ticket, f"{actor.display_name} 转派给您 {ticket.number}：{ticket.location}")
    return ticket


def record_followup(actor, ticket, expected_version, method, result, words=""):
    """回访 (callbacks.py): 满意/基本满意 close the ticket; 不满意 reopens it for a new round, its
    resolution clock started again; 未接通 is counted."""
    now = clock.utcnow()
    return callbacks.record(actor, MACHINE, ticket, expected_version, method, result, words, error=TicketError, fields={
        callbacks.CLOSE: dict(satisfaction=result, closed_at=now),
        callbacks.REOPEN: dict(satisfaction=result, reopen_count=Ticket.reopen_count + 1, resolved_at=None,
                               followup_due=None, resolution_due=due_after(now, ticket.tier.resolution_minutes)),
        callbacks.UNREACHED: dict(followup_attempts=Ticket.followup_attempts + 1)})


def close_by_supervisor(actor, ticket, expected_version, reason):
    """The supervisor closes a resolved ticket without a satisfied customer (e.g. unreachable three times)."""
    reason = (reason or "").strip()
    if actor.role != "supervisor":
        raise TicketError("只有客服主管可以直接关闭诉求")
    if not reason:
        raise TicketError(CLOSE_REASON_MISSING, "reason")
    if _open_orders(ticket):
        raise TicketError("还有未完成的派工单，不能关闭")
    return _change(actor, ticket, expected_version, SUPERVISOR_CLOSE, note=reason,
                   closed_at=clock.utcnow(), close_reason=reason)


def mark_case(actor, ticket, expected_version, cause, handling, prevention):
    """Mark a ticket as a case (案例) with its analysis: 原因 / 处理 / 预防."""
    cause, handling, prevention = (v.strip() for v in (cause or "", handling or "", prevention or ""))
    if not (cause and handling and prevention):
        missing = "cause" if not cause else "handling" if not handling else "prevention"
        raise TicketError("原因、处理、预防三项都要写", missing)
    return _change(actor, ticket, expected_version, MARK_CASE, label="更新案例分析" if ticket.is_case else None,
                   note=f"原因：{cause}\n处理：{handling}\n预防：{prevention}", is_case=True, case_cause=cause,
                   case_handling=handling, case_prevention=prevention)


def void(actor, ticket, expected_version, reason):
    """Void a ticket logged by mistake (e.g. a duplicate). It stays on record."""
    reason = (reason or "").strip()
    if not reason:
        raise TicketError(VOID_REASON_MISSING, "reason")
    if _open_orders(ticket):
        raise TicketError("还有未完成的派工单，请先撤销")
    with database.atomic():
        ticket = _change(actor, ticket, expected_version, VOID, note=reason,
                         voided_at=clock.utcnow(), void_reason=reason)
    return ticket


def outcome(ticket):
    """How a ticket ended, in a few words, for similar-case lists."""
    if ticket.voided_at:
        return "已作废"
    if ticket.state == "closed":
        return f"已关闭 · {ticket.satisfaction or ticket.close_reason or '—'}"
    return ticket.state_label


