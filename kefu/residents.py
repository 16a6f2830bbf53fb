"""住户自助: the residents' own way in, with nothing to install.

A QR poster (a building's lobby, a public place, the whole estate) opens a public report form; the
request lands as a front-desk intake would (channel 住户自助, the response clock running), taken by the
residents' actor, a user row no one signs in with. A reporter whose name and mobile match a registered
resident of the household is 已核实; anyone else waits on the front desk's agenda to be confirmed by
phone.

Every request, however it came in, has a private link (tickets.Ticket.link_token). Through it the
resident follows it in plain words, nudges it (催一下, once every NUDGE_EVERY) and, once resolved,
rates it: that rating is the return visit (callbacks.record, method 住户评价), so 不满意 reopens the
request exactly as a return visit would. The zone's assistant answers nudges and ratings.

An outage (停水停电公告) is posted by the supervisor for some buildings; the public pages show it first
and requests about it are linked to it; ending it resolves the linked requests together, with one
message, their return visits falling due together.
"""
import datetime
import secrets

import peewee
from werkzeug.security import generate_password_hash

from . import access
from . import agenda
from . import callbacks
from . import clock
from . import events
from . import lifecycle
from . import notices
from . import outbox
from . import tickets
from . import workorders
from .db import BaseModel
from .db import Kept
from .db import Prepared
from .db import RuleError
from .db import VersionedMixin
from .db import VoidableMixin
from .db import checked_text
from .db import database
from .db import guarded
from .estate import Building
from .estate import Resident
from .estate import clean_phone
from .estate import current_tz as _tz
from .tickets import Ticket
from .uploads import Photo
from .users import User

NUDGE_EVERY = datetime.timedelta(hours=2)
# A nudge or a 不满意 rating is answered within this, as a request is responded to.
ANSWER_WITHIN = datetime.timedelta(hours=1)
# The link stops showing details this long after the request closed.
DETAILS_KEPT = datetime.timedelta(days=30)
MAX_PHOTOS = 4
RESIDENT_USERNAME = "__residents__"
RESIDENT_ROLE = "resident"

# What a resident picks, in plain words → the request's category.
KINDS = [
    ("repair", "东西坏了要修（水电、门窗、电梯、管道）", "工程维修"),
    ("clean", "卫生、垃圾", "保洁"),
    ("green", "绿化、树木", "绿化"),
    ("safety", "安全、门禁、停车", "安保"),
    ("complaint", "投诉", "投诉"),
    ("suggest", "建议", "建议"),
    ("ask", "咨询、其他", "咨询"),
]
CATEGORY_OF = {code: category for code, _label, category in KINDS}

# A request's state, as a resident reads it.
PLAIN_STATES = {"received": "已收到", "responded": "处理中", "in_progress": "处理中", "paused": "处理中",
                "resolved": "已处理，请您评价", "closed": "已办结"}
PAUSE_PLAIN = {"等待客户": "等您方便时处理", "等待配件": "等待配件", "等待第三方": "等待相关单位"}


# Refusals that the forms (kefu/views/residents.py) show beside their fields as well: written once, here.
KIND_MISSING = "请选择是什么问题"
RATING_MISSING = "请选择满意、基本满意或不满意"
UNHAPPY_WORDS_MISSING = "请告诉我们哪里还不满意，我们好重新处理"
NOTHING_TO_ANSWER = "住户没有待回复的催办或评价"
OUTAGE_START_MISSING = "请填写停水停电的开始时间"
OUTAGE_ENDED = "该公告已结束"


def too_many_photos():
    return f"最多 {MAX_PHOTOS} 张照片"


class ResidentError(RuleError):
    pass


class SelfReport(BaseModel):
    """A request a resident made themselves: whether the reporter is a registered resident."""

    ticket = peewee.ForeignKeyField(Ticket, unique=True, backref="+", on_delete="RESTRICT")
    verified = peewee.BooleanField(default=False)
    # How: "match" (name and mobile of a registered resident) or "phone" (the front desk called).
    verified_how = peewee.CharField(max_length=10, default="")
    verified_at = peewee.DateTimeField(null=True)
    verified_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("verified", "created_at"), False),)


class Nudge(BaseModel):
    """催一下: a resident's reminder on their open request, and the assistant's answer."""

    ticket = peewee.ForeignKeyField(Ticket, backref="+", on_delete="RESTRICT")
    at = peewee.DateTimeField()
    answer = peewee.TextField(default="")
    answered_at = peewee.DateTimeField(null=True)
    answered_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")

    class Meta:
        indexes = ((("ticket", "at"), False), (("answered_at",), False))


class Rating(BaseModel):
    """A resident's rating through their link (the return visit itself is the CallBack it points at),
    and the assistant's answer."""

    ticket = peewee.ForeignKeyField(Ticket, backref="+", on_delete="RESTRICT")
    callback = peewee.ForeignKeyField(callbacks.CallBack, unique=True, backref="+", on_delete="RESTRICT")
    at = peewee.DateTimeField()
    result = peewee.CharField(max_length=10)
    answer = peewee.TextField(default="")
    answered_at = peewee.DateTimeField(null=True)
    answered_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")

    class Meta:
        indexes = ((("ticket", "at"), False), (("result", "answered_at"), False))


OUTAGE_KINDS = ["停水", "停电", "停气", "电梯停运", "其他"]
OUTAGE_STATES = {"posted": "公告中", "ended": "已结束"}


class Outage(VoidableMixin, VersionedMixin, BaseModel):
    """停水停电公告: what, where (OutageBuilding), from/until, what to do; ended with one message."""

    kind = peewee.CharField(max_length=10)
    title = peewee.CharField(max_length=60)
    detail = peewee.TextField(default="")
    advice = peewee.TextField(default="")
    starts_at = peewee.DateTimeField()
    until = peewee.DateTimeField()
    state = peewee.CharField(max_length=10, default="posted")
    posted_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    posted_at = peewee.DateTimeField()
    ended_at = peewee.DateTimeField(null=True)
    end_message = peewee.TextField(default="")

    class Meta:
        indexes = ((("state", "starts_at"), False),)

    @property
    def state_label(self):
        return OUTAGE_STATES[self.state]


class OutageBuilding(BaseModel):
    outage = peewee.ForeignKeyField(Outage, backref="building_links", on_delete="CASCADE")
    building = peewee.ForeignKeyField(Building, backref="+", on_delete="RESTRICT")

    class Meta:
        indexes = ((("outage", "building"), True), (("building",), False))


class OutageTicket(BaseModel):
    """A request explained by an outage: resolved with it when it ends."""

    outage = peewee.ForeignKeyField(Outage, backref="ticket_links", on_delete="RESTRICT")
    ticket = peewee.ForeignKeyField(Ticket, unique=True, backref="+", on_delete="RESTRICT")
    linked_at = peewee.DateTimeField()


MODELS = [SelfReport, Nudge, Rating, Outage, OutageBuilding, OutageTicket]

END, VOID = "end", "void"
OUTAGE_MACHINE = lifecycle.Machine(Outage, "公告", OUTAGE_STATES, [
    lifecycle.step(END, "结束公告", "posted", "ended", ("supervisor",)),
    lifecycle.step(VOID, "作废公告", "posted", None, ("supervisor",)),
], open_states=("posted",), error=ResidentError)


# The residents' actor

def actor():
    """The user residents act as (the timeline's 住户): made on first use, never able to sign in
    (inactive, voided so no staff list shows it, a password no one knows)."""
    user = User.get_or_none(User.username == RESIDENT_USERNAME)
    if user is not None:
        return user
    now = clock.utcnow()
    try:
        with database.atomic():
            return User.create(username=RESIDENT_USERNAME, display_name="住户", role=RESIDENT_ROLE,
                               password_hash=generate_password_hash(secrets.token_hex(32)), active=False,
                               created_at=now, voided_at=now, void_reason="住户自助的系统账号，不能登录")
    except peewee.IntegrityError:
        return User.get(User.username == RESIDENT_USERNAME)


# Reporting

def verify_match(household, name, phone):
    """Whether `name` and `phone` are those of a registered resident of `household` (for a public
    place, of any household)."""
    query = Resident.live().where((Resident.name == name) & (Resident.phone == phone))
    if household is not None:
        query = query.where(Resident.household == household)
    return query.exists()


def phone_problem(phone):
    """Why a reporter's mobile can't be used to call them back, or "" (spaces and dashes allowed)."""
    phone = (phone or "").replace(" ", "").replace("-", "")
    if not (len(phone) == 11 and phone.isdigit() and phone.startswith("1")):
        return "请填写 11 位手机号，方便我们联系您"
    return ""


def report(*, kind, description, name, phone, household=None, place=None, photos=(), outage=None, token=None):
    """A resident's own request: checked, then taken as a front-desk intake would be (a form sent twice
    with its one-time `token` makes one). Returns the ticket."""
    if kind not in CATEGORY_OF:
        raise ResidentError(KIND_MISSING, "kind")
    if household is None and place is None:
        raise ResidentError("请填写房号", "room")
    description = checked_text(description, 500, "问题描述", "description", required=True, error=ResidentError)
    name = checked_text(name, 20, "您的称呼", "name", required=True, error=ResidentError)
    problem = phone_problem(phone)
    if problem:
        raise ResidentError(problem, "phone")
    phone = clean_phone((phone or "").replace(" ", "").replace("-", ""))
    if len(photos) > MAX_PHOTOS:
        raise ResidentError(too_many_photos(), "photos")
    tier = tickets.Tier.live().first()
    who = actor()
    now = clock.utcnow()
    matched = verify_match(household, name, phone)
    with database.atomic():
        ticket, created = tickets.create(who, channel=tickets.SELF_SERVICE, category=CATEGORY_OF[kind], tier=tier,
                                         description=description, household=household, place=place,
                                         customer_name=name, customer_phone=phone, photos=list(photos), token=token)
        if not created:
            return ticket
        SelfReport.create(ticket=ticket, verified=matched, verified_how="match" if matched else "",
                          verified_at=now if matched else None, created_at=now)
        if outage is not None and outage.state == "posted" and outage_covers(outage, ticket):
            # Reported from the outage's notice: linked, to be resolved with it (another building's
            # request stays on its own).
            link_outage(who, ticket, outage)
    return ticket


def verify(actor_user, ticket, note=""):
    """The front desk confirmed by phone that the reporter is who they say."""
    report_row = SelfReport.get_or_none(SelfReport.ticket == ticket)
    if report_row is None:
        raise ResidentError("这不是住户自助登记的诉求")
    if report_row.verified:
        raise ResidentError("已核实过")
    now = clock.utcnow()
    with database.atomic():
        guarded(SelfReport.update(verified=True, verified_how="phone", verified_at=now, verified_by=actor_user)
                .where((SelfReport.id == report_row.id) & ~SelfReport.verified), ResidentError("已核实过"))
        events.record(actor_user, ticket, "电话核实住户", note=(note or "").strip()[:200])
    return SelfReport.get_by_id(report_row.id)


def self_report_of(ticket):
    return SelfReport.get_or_none(SelfReport.ticket == ticket)


# The private link

def by_token(token):
    """The live request a link's token names, or None."""
    if not token or len(token) > 32:
        return None
    return Ticket.live().where(Ticket.link_token == token).first()


def details_shown(ticket, now=None):
    """False once the request has been closed for DETAILS_KEPT: the link then says only that."""
    now = now or clock.utcnow()
    return not (ticket.state == "closed" and ticket.closed_at and now - ticket.closed_at > DETAILS_KEPT)


def plain_state(ticket):
    return PLAIN_STATES[ticket.state]


def stage(ticket):
    """Which of 已收到 / 处理中 / 已办结 the request is at (0, 1, 2), for the resident's progress bar."""
    if ticket.state == "received":
        return 0
    return 2 if ticket.state in ("resolved", "closed") else 1


def steps(ticket):
    """The request's steps in plain words, oldest first: (when, words). Read from typed columns and
    records (never the staff timeline's notes): no staff names, no internal remarks."""
    made = [(ticket.created_at, "已收到您的诉求")]
    if ticket.responded_at:
        made.append((ticket.responded_at, "客户助理已联系您" if ticket.response_method != "现场" else "客户助理已到现场"))
    for order in workorders.WorkOrder.select(workorders.WorkOrder, workorders.Unit).join(workorders.Unit).where(
            (workorders.WorkOrder.source_type == "ticket") & (workorders.WorkOrder.source_id == ticket.id)):
        made.append((order.created_at, f"已安排{order.unit.kind_label}处理"))
        if order.approved_at:
            made.append((order.approved_at, f"{order.unit.kind_label}已完成，客户助理已验收"))
    if ticket.state == "paused" and ticket.paused_at:
        made.append((ticket.paused_at, f"暂时{PAUSE_PLAIN.get(ticket.pause_reason, '等待中')}"))
    for back in callbacks.CallBack.select().where((callbacks.CallBack.record_type == "ticket")
                                                  & (callbacks.CallBack.record_id == ticket.id)):
        if back.result == callbacks.UNREACHED_RESULT:
            continue
        who = "您的评价" if back.method == callbacks.RESIDENT_METHOD else "回访"
        again = "，已重新处理" if back.result == callbacks.UNHAPPY else ""
        made.append((back.at, f"{who}：{back.result}{again}"))
    if ticket.resolved_at:
        made.append((ticket.resolved_at, "已处理完成"))
    if ticket.closed_at:
        made.append((ticket.closed_at, "已办结"))
    for nudge in Nudge.select().where(Nudge.ticket == ticket):
        made.append((nudge.at, "您催了一下"))
        if nudge.answered_at:
            made.append((nudge.answered_at, f"客户助理回复：{nudge.answer}"))
    for rating in Rating.select().where((Rating.ticket == ticket) & Rating.answered_at.is_null(False)):
        made.append((rating.answered_at, f"客户助理回复：{rating.answer}"))
    link = OutageTicket.get_or_none(OutageTicket.ticket == ticket)
    if link is not None:
        made.append((link.linked_at, f"与{link.outage.kind}公告合并处理：{link.outage.title}"))
    seen, unique = set(), []
    for when, words in sorted(made, key=lambda s: s[0]):
        if (when, words) not in seen:
            seen.add((when, words))
            unique.append((when, words))
    return unique


def photos(ticket):
    """(the resident's own photos, the photos after the work): taken at intake, or later on the
    request or on its accepted work orders."""
    own, after = [], []
    for photo in Photo.of(ticket):
        (own if photo.created_at <= ticket.created_at else after).append(photo)
    orders = [o.id for o in workorders.WorkOrder.of_source("ticket", ticket.id)
              if o.state == "approved"]
    if orders:
        after += list(Photo.live().where((Photo.owner_type == "workorder") & Photo.owner_id.in_(orders))
                      .order_by(Photo.id))
    return own, after


def photo_of(ticket, photo_id):
    """A photo the request's link may show, or None."""
    own, after = photos(ticket)
    return next((p for p in own + after if p.id == photo_id), None)


def contact(ticket):
    """Whom the resident calls: the assistant's mobile (their name only if the estate chooses), else
    the service centre's phone."""
    from .estate import Estate

    show_names = Estate.current().resident_names
    holder = ticket.assignee
    phone = holder.phone if holder is not None and holder.phone else ""
    label = f"客户助理 {holder.display_name}" if holder is not None and show_names else "您的客户助理"
    return {"label": label if phone else "客户服务中心", "phone": phone or Estate.current().phone}


def show_names(actor_user, estate, expected_version, show):
    """Whether residents' links name their assistant (设置, the administrator's choice)."""
    before = estate.resident_names
    estate.resident_names = bool(show)
    estate.save_versioned(expected_version, "resident_names")
    if before != estate.resident_names:
        words = {True: "显示", False: "不显示"}
        events.record(actor_user, estate, "修改小区设置",
                      note=f"住户链接上客户助理的姓名：{words[before]} → {words[estate.resident_names]}")
    return estate


# Nudges

NUDGEABLE = ("received", "responded", "in_progress", "paused")


def next_nudge_at(ticket):
    """When the resident may nudge again (None: now, if the request is still being worked on)."""
    last = Nudge.select(peewee.fn.MAX(Nudge.at)).where(Nudge.ticket == ticket).scalar()
    if last is None:
        return None
    if isinstance(last, str):
        last = datetime.datetime.fromisoformat(last)
    return last + NUDGE_EVERY


def nudge(ticket, now=None):
    """催一下: once every NUDGE_EVERY while the request is being worked on; it goes on the assistant's
    agenda until answered, and tells them now."""
    now = now or clock.utcnow()
    if ticket.state not in NUDGEABLE or ticket.voided_at is not None:
        raise ResidentError("这件诉求已处理完成，不用再催了")
    again = next_nudge_at(ticket)
    if again is not None and now < again:
        local = clock.to_local(again, _tz())
        raise ResidentError(f"已经催过了，{local:%H:%M} 以后可以再催")
    who = actor()
    with database.atomic():
        row = Nudge.create(ticket=ticket, at=now)
        events.record(who, ticket, "住户催一下")
        if ticket.assignee is not None:
            notices.tell([ticket.assignee], ticket, f"住户催办 {ticket.number}：{ticket.location}")
        _push(ticket, f"住户催办 {ticket.number}：{ticket.location} {ticket.description[:30]}", f"nudge{row.id}")
    return row


# Ratings: the return visit

def may_rate(ticket):
    return ticket.state == "resolved" and ticket.voided_at is None


def rate(ticket, result, words=""):
    """The resident's rating of a resolved request: the return visit itself (满意/基本满意 close it,
    不满意 reopens it for another round, as a call would). Returns the ticket as it is now."""
    if result not in callbacks.ANSWERS:
        raise ResidentError(RATING_MISSING, "result")
    if not may_rate(ticket):
        raise ResidentError("这件诉求现在不能评价" if ticket.state != "closed" else "您已经评价过了，谢谢")
    if result == callbacks.UNHAPPY and not (words or "").strip():
        # The return visit needs them too; asked here in the resident's words, not the staff's.
        raise ResidentError(UNHAPPY_WORDS_MISSING, "words")
    who = actor()
    with database.atomic():
        updated = tickets.record_followup(who, ticket, ticket.version, callbacks.RESIDENT_METHOD, result, words)
        back = (callbacks.CallBack.select().where((callbacks.CallBack.record_type == "ticket")
                                                  & (callbacks.CallBack.record_id == ticket.id))
                .order_by(callbacks.CallBack.id.desc()).first())
        Rating.create(ticket=ticket, callback=back, at=back.at, result=result)
        if result == callbacks.UNHAPPY and updated.assignee is not None:
            notices.tell([updated.assignee], updated, f"住户评价不满意 {ticket.number}：{(words or '')[:40]}")
        if result == callbacks.UNHAPPY:
            rating = Rating.select().where(Rating.ticket == ticket).order_by(Rating.id.desc()).first()
            _push(updated, f"住户评价不满意 {ticket.number}：{ticket.location} {(words or '')[:30]}",
                  f"rating{rating.id}")
    return updated


def _push(ticket, text, occasion):
    """Tell whoever answers the resident (the request's assistant, else the zone's) on their phone and
    in the zone's chat group, in the caller's transaction."""
    from .estate import Zone

    users = [ticket.assignee] if ticket.assignee_id else []
    if not users and ticket.zone_id:
        users = list(Zone.get_by_id(ticket.zone_id).assistants)
    outbox.tell("resident", ticket, text, users=users, zone_id=ticket.zone_id, occasion=occasion)


def ratings_of(ticket):
    return list(Rating.select().where(Rating.ticket == ticket).order_by(Rating.at))


# Answers to the resident

def waiting_answer(ticket):
    """The nudges and ratings of a request still unanswered: (nudges, ratings)."""
    return (list(Nudge.select().where((Nudge.ticket == ticket) & Nudge.answered_at.is_null()).order_by(Nudge.at)),
            list(Rating.select().where((Rating.ticket == ticket) & Rating.answered_at.is_null()).order_by(Rating.at)))


def answer(actor_user, ticket, text):
    """The assistant's answer to the resident, shown on their link: it answers every nudge and rating
    of the request still waiting. Returns how many it answered."""
    text = checked_text(text, 300, "回复", "answer", required=True, error=ResidentError)
    nudges, ratings = waiting_answer(ticket)
    if not nudges and not ratings:
        raise ResidentError(NOTHING_TO_ANSWER)
    now = clock.utcnow()
    with database.atomic():
        count = (Nudge.update(answer=text, answered_at=now, answered_by=actor_user)
                 .where(Nudge.id.in_([n.id for n in nudges]) & Nudge.answered_at.is_null()).execute())
        count += (Rating.update(answer=text, answered_at=now, answered_by=actor_user)
                  .where(Rating.id.in_([r.id for r in ratings]) & Rating.answered_at.is_null()).execute())
        if count == 0:
            raise ResidentError("已有人回复过了")
        events.record(actor_user, ticket, "回复住户", note=text)
    return count


# Outages

def _building_ids(outage):
    return [link.building_id for link in outage.building_links]


def current_outages(building=None, now=None):
    """Outages posted and not ended, for one building (or all), soonest first."""
    query = Outage.live().where(Outage.state == "posted")
    if building is not None:
        query = query.where(Outage.id.in_(OutageBuilding.select(OutageBuilding.outage)
                                          .where(OutageBuilding.building == building)))
    return list(query.order_by(Outage.starts_at, Outage.id))


def post_outage(actor_user, *, kind, title, detail, advice, starts_at, until, buildings):
    """Post an announcement for some buildings."""
    if kind not in OUTAGE_KINDS:
        raise ResidentError("请选择类型", "kind")
    title = checked_text(title, 60, "标题", "title", required=True, error=ResidentError)
    detail = checked_text(detail, 1000, "说明", "detail", error=ResidentError)
    advice = checked_text(advice, 1000, "住户须知", "advice", error=ResidentError)
    if starts_at is None:
        raise ResidentError(OUTAGE_START_MISSING, "starts_at")
    if until is None or until <= starts_at:
        raise ResidentError("结束时间应晚于开始时间", "until")
    buildings = [b for b in buildings if b is not None and b.voided_at is None]
    if not buildings:
        raise ResidentError("请选择涉及的楼栋", "buildings")
    now = clock.utcnow()
    with database.atomic():
        outage = Outage.create(kind=kind, title=title, detail=detail, advice=advice, starts_at=starts_at,
                               until=until, posted_by=actor_user, posted_at=now)
        for building in buildings:
            OutageBuilding.create(outage=outage, building=building)
        events.record(actor_user, outage, "发布公告", to_state=OUTAGE_STATES["posted"],
                      note=f"{kind}：{title}（{'、'.join(b.name for b in buildings)}）")
    return outage


def outage_covers(outage, ticket):
    return ticket.building_id is not None and ticket.building_id in _building_ids(outage)


def link_outage(actor_user, ticket, outage):
    """Link a request to the outage that explains it (once; the outage must cover its building)."""
    if outage.state != "posted" or outage.voided_at is not None:
        raise ResidentError(OUTAGE_ENDED)
    if not outage_covers(outage, ticket):
        raise ResidentError("该诉求不在公告涉及的楼栋")
    if OutageTicket.select().where(OutageTicket.ticket == ticket).exists():
        raise ResidentError("该诉求已关联公告")
    with database.atomic():
        OutageTicket.create(outage=outage, ticket=ticket, linked_at=clock.utcnow())
        events.record(actor_user, ticket, "关联公告", note=f"{outage.kind}：{outage.title}")
    return outage


def linked_tickets(outage):
    return list(Ticket.select().join(OutageTicket, on=(OutageTicket.ticket == Ticket.id))
                .where(OutageTicket.outage == outage).order_by(Ticket.id))


def outage_of(ticket):
    link = OutageTicket.get_or_none(OutageTicket.ticket == ticket)
    return link.outage if link else None


def end_outage(actor_user, outage, expected_version, message):
    """End an outage: every linked request still being worked on is resolved with the one message,
    through the request's own lifecycle, so their return visits fall due together. Returns (outage,
    resolved tickets, tickets left as they were with why)."""
    message = checked_text(message, 500, "结束说明", "message", required=True, error=ResidentError)
    resolved, left = [], []
    with database.atomic():
        outage = OUTAGE_MACHINE.transition(actor_user, outage, expected_version, END, note=message,
                                           ended_at=clock.utcnow(), end_message=message)
        for ticket in linked_tickets(outage):
            if ticket.voided_at is not None or ticket.state not in NUDGEABLE:
                continue
            try:
                with database.atomic():
                    if ticket.state == "paused":
                        ticket = tickets.resume(actor_user, ticket, ticket.version, as_system=True)
                    ticket = tickets.resolve_on_the_spot(actor_user, ticket, ticket.version,
                                                         f"{outage.kind}已结束：{message}")
                resolved.append(ticket)
            except (RuleError, peewee.IntegrityError) as error:
                left.append((ticket, getattr(error, "message", str(error))))
    return outage, resolved, left


def void_outage(actor_user, outage, expected_version, reason):
    reason = checked_text(reason, 200, "作废原因", "reason", required=True, error=ResidentError)
    return OUTAGE_MACHINE.transition(actor_user, outage, expected_version, VOID, note=reason,
                                     voided_at=clock.utcnow(), void_reason=reason)


def batch_callbacks(actor_user, outage, answers):
    """One batch of return visits for an ended outage's requests: {ticket_id: (method, result, words)}.
    Each goes through the request's return visit; returns (done, [(ticket, why)])."""
    done, refused = [], []
    for ticket in linked_tickets(outage):
        if ticket.id not in answers or ticket.state != "resolved":
            continue
        method, result, words = answers[ticket.id]
        try:
            with database.atomic():
                done.append(tickets.record_followup(actor_user, ticket, ticket.version, method, result, words))
        except RuleError as error:
            refused.append((ticket, error.message))
    return done, refused


# The agenda

_POSTED_PAST = Prepared(Outage, lambda now: Outage.live().where((Outage.state == "posted") & (Outage.until < now)),
                        datetime.datetime(1901, 1, 1, 0, 0, 1))


def owed(user, now=None):
    """What residents wait on from `user`, as agenda items: for the zone's assistant (or whoever holds
    the request) the nudges and the 不满意 ratings to answer; for the front desk the self-reports to
    confirm by phone; for the supervisor, outages past their end time still posted."""
    now = now or clock.utcnow()
    items = []
    if user.role in ("assistant", "supervisor"):
        for nudge in _waiting(Nudge, user, Ticket.state.in_(NUDGEABLE)):
            items.append(agenda.Item(kind="ticket.nudged", group="住户催办", ref=("ticket", nudge.ticket_id),
                                     title=f"{nudge.location} {nudge.description[:20]}",
                                     due=nudge.at + ANSWER_WITHIN, action="回复住户",
                                     detail=f"住户催了一下（{clock.to_local(nudge.at, _tz()):%H:%M}）",
                                     number=nudge.number))
        for rating in _waiting(Rating, user, Rating.result == callbacks.UNHAPPY):
            items.append(agenda.Item(kind="ticket.rating", group="住户评价不满意", ref=("ticket", rating.ticket_id),
                                     title=f"{rating.location} {rating.description[:20]}",
                                     due=rating.at + ANSWER_WITHIN, action="回复住户",
                                     detail="住户评价：不满意，已重新处理", number=rating.number))
    if user.role == "frontdesk":
        waiting = (SelfReport.select(SelfReport, Ticket).join(Ticket)
                   .where(~SelfReport.verified & Ticket.voided_at.is_null() & Ticket.state.in_(tickets.OPEN))
                   .order_by(SelfReport.created_at))
        for row in waiting:
            ticket = row.ticket
            items.append(agenda.Item(kind="ticket.verify", group="住户自助待核实", ref=("ticket", ticket.id),
                                     title=f"{ticket.location} {ticket.customer_name}",
                                     due=ticket.response_due, action="电话核实",
                                     detail=f"{ticket.category} · {ticket.description[:20]}", number=ticket.number))
    if user.role == "supervisor":
        for outage in _POSTED_PAST(now):
            items.append(agenda.Item(kind="outage.end", group="停水停电公告", ref=("outage", outage.id),
                                     title=f"{outage.kind}：{outage.title}", due=outage.until, action="结束公告"))
    return items


_BUILT = Kept()  # the statements of _waiting, per kind, role, user and zones


def _waiting(model, user, condition):
    """The `model` rows (Nudge or Rating) unanswered on the requests `user` holds (an assistant: their
    zones' too), the first of each request, with the request's location, description and number."""
    key = (model.__name__, user.role, user.id, tuple(access.zone_ids(user)))

    def build():
        mine = tickets.visible_to(user) if user.role == "assistant" else Ticket.live().where(Ticket.assignee == user)
        return (model.select(model, Ticket.location, Ticket.description, Ticket.number).join(Ticket)
                .where(model.answered_at.is_null() & model.ticket.in_(mine.select(Ticket.id))
                       & Ticket.voided_at.is_null() & condition)
                .order_by(model.at))
    seen, found = set(), []
    for row in _BUILT.rows(key, model, build):
        if row.ticket_id not in seen:
            seen.add(row.ticket_id)
            found.append(row)
    return found
