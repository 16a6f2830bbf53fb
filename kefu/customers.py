"""Customer communication (客户沟通): what the service centre knows of each household, the needs
residents voice (个性化需求) or let show (潜在需求) and the answer they were given, and the visits
(拜访) in the morning and evening windows, at weekends and on public holidays, with what was said.

Each opinion heard on a visit can become a request (a ticket) or a need, linked both ways.
"""
import datetime

import peewee

from . import callbacks
from . import clock
from . import events
from . import idempotency
from . import lifecycle
from .callbacks import CallBack
from .db import BaseModel
from .db import PreparedIn
from .db import RuleError
from .db import StaleRecord
from .db import VersionedMixin
from .db import VoidableMixin
from .db import database
from .db import guarded
from .estate import Household
from .estate import ROOM_MISSING
from .estate import Zone
from .estate import ZoneBuilding
from .estate import current_tz as _tz
from .estate import zone_of_building
from .tickets import Ticket
from .users import User

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
VISIT_FORM_MISSING = "请选择拜访形式"
VISIT_TIME_MISSING = "请填写拜访时间"
ANSWER_MISSING = "请选择答复"
NEED_KIND_MISSING = "请选择个性化需求或潜在需求"

FORMS = ["上门", "偶遇", "活动", "电话回访"]
OPINION_KINDS = ["服务需求", "建议", "意见", "表扬"]
NEED_KINDS = {"personal": "个性化需求", "latent": "潜在需求"}
NEED_SOURCES = ["拜访", "诉求", "电话", "其他"]
OUTCOMES = {"open": "待答复", "provide": "可提供", "decline": "不能提供", "study": "待研究"}
# What a need is about, so that needs across the estate group into patterns.
TOPICS = ["代购代办", "陪护照看", "家政保洁", "家电清洗", "家电维修", "上门开锁", "搬运", "代收快递", "健康关怀", "社区活动", "其他"]
MAX_OPINIONS = 8


class CustomerError(RuleError):
    pass


_text = CustomerError.checked




class VisitRules(VersionedMixin, BaseModel):
    """The recommended visit windows (one row): mornings and evenings, weekends and public holidays,
    and after how many weeks without a visit a household comes up in the planner."""

    morning_start = peewee.TimeField(default=datetime.time(7, 0))
    morning_end = peewee.TimeField(default=datetime.time(9, 0))
    evening_start = peewee.TimeField(default=datetime.time(18, 0))
    evening_end = peewee.TimeField(default=datetime.time(19, 0))
    weekends = peewee.BooleanField(default=True)
    holidays = peewee.BooleanField(default=True)
    stale_weeks = peewee.IntegerField(default=8)

    @classmethod
    def current(cls):
        return cls.by_id(1) or cls.create(id=1)

    def windows(self, moment, tz=None):
        """The windows an aware `moment` falls in, as the visit page names them, in the estate's zone
        (`tz`, read from the estate if not given): e.g. ["早间", "节假日（国庆节）"]. A 调休 Saturday is a
        working day, not a weekend; weekends and holidays count from the morning window's start to the
        evening window's end."""
        local = moment.astimezone(tz or _tz())
        time = local.time()
        found = []
        if self.morning_start <= time < self.morning_end:
            found.append("早间")
        if self.evening_start <= time < self.evening_end:
            found.append("晚间")
        kind, name = clock.day_kind(local.date())
        if not self.morning_start <= time < self.evening_end:  # not at night, even at weekends
            return found
        if kind == "holiday" and self.holidays:
            found.append(f"节假日（{name}）")
        elif kind == "weekend" and self.weekends:
            found.append("双休日")
        return found

    def now_label(self, moment=None, tz=None):
        """What the planner says about now: "现在是晚间拜访时段" or when the next window opens today."""
        moment = moment or clock.now()
        tz = tz or _tz()
        found = self.windows(moment, tz)
        if found:
            return "现在是" + "、".join(w.split("（")[0] for w in found) + "拜访时段"
        time = moment.astimezone(tz).time()
        if time < self.morning_start:
            return f"早间拜访时段 {self.morning_start:%H:%M}–{self.morning_end:%H:%M}"
        if time < self.evening_start:
            return f"晚间拜访时段 {self.evening_start:%H:%M}–{self.evening_end:%H:%M}"
        return "今天的拜访时段已过"


def update_visit_rules(actor, expected_version, **values):
    """Change the visit windows, whether weekends and holidays count, and the planner's weeks."""
    rules = VisitRules.current()
    if values["morning_start"] >= values["morning_end"]:
        raise CustomerError("结束时间须晚于开始时间", "morning_end")
    if values["evening_start"] >= values["evening_end"]:
        raise CustomerError("结束时间须晚于开始时间", "evening_end")
    if values["morning_end"] > values["evening_start"]:
        raise CustomerError("晚间时段须在早间时段之后", "evening_start")
    if not 1 <= (values["stale_weeks"] or 0) <= 52:
        raise CustomerError("应在 1–52 周之间", "stale_weeks")
    for name, value in values.items():
        setattr(rules, name, value)
    with database.atomic():
        rules.save_versioned(expected_version, *values)
        events.record(actor, rules, "修改拜访时段",
                      note=f"早间 {rules.morning_start:%H:%M}–{rules.morning_end:%H:%M}，晚间 {rules.evening_start:%H:%M}–"
                           f"{rules.evening_end:%H:%M}；双休日{'算' if rules.weekends else '不算'}、节假日"
                           f"{'算' if rules.holidays else '不算'}；{rules.stale_weeks} 周未拜访列入计划")
    return rules


class HouseholdProfile(VersionedMixin, BaseModel):
    """What the service centre knows of a household beyond its residents (notes stay on Household)."""

    household = peewee.ForeignKeyField(Household, unique=True, backref="+", on_delete="RESTRICT")
    moved_in_on = peewee.DateField(null=True)
    contact_time = peewee.CharField(max_length=40, default="")
    tags = peewee.CharField(max_length=120, default="")  # "独居老人、行动不便"
    updated_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    updated_at = peewee.DateTimeField(null=True)

    @property
    def tag_list(self):
        return [t for t in self.tags.split("、") if t]


class Visit(VoidableMixin, BaseModel):
    """拜访 / 访谈: a visit to one or more households or a chat where residents gather."""

    zone = peewee.ForeignKeyField(Zone, backref="+", on_delete="RESTRICT")
    at = peewee.DateTimeField()
    form = peewee.CharField(max_length=10)
    place = peewee.CharField(max_length=60, default="")
    note = peewee.TextField(default="")
    windows = peewee.CharField(max_length=60, default="")  # as tagged when recorded, "早间、双休日"
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("zone", "at"), False), (("created_by", "at"), False))

    @property
    def window_list(self):
        return [w for w in self.windows.split("、") if w]

    def households(self):
        return (Household.select().join(VisitHousehold).where(VisitHousehold.visit == self)
                .order_by(Household.code))

    @property
    def where(self):
        codes = self.__dict__.get("_codes")  # read for a whole list at once by `with_codes`
        if codes is None:
            codes = [h.code for h in self.households()]
        return "、".join(codes + ([self.place] if self.place else []))


def with_codes(visits):
    """The visits, each with its households' codes (in the order `households()` gives them) read in
    one query for the lot, so a list's cards don't query once each for `where`."""
    visits = list(visits)
    codes = {visit.id: [] for visit in visits}
    if codes:
        for visit_id, code in _CODES.cursor(list(codes)):
            codes[visit_id].append(code)
    for visit in visits:
        visit._codes = codes[visit.id]
    return visits


class HouseholdLastVisit(BaseModel):
    """Each household's latest visit (of those not voided), so the planner finds who hasn't been
    visited for weeks with one lookup a household rather than by going through every visit ever made.

    Derived data, kept by the database itself: triggers on visit_household and visit (migration 7)
    update it whatever writes the visits (the app, an import, a move between databases); nothing
    writes it otherwise. A household never visited has no row."""

    household_id = peewee.IntegerField(primary_key=True)
    at = peewee.DateTimeField()

    class Meta:
        table_name = "household_last_visit"


class VisitHousehold(BaseModel):
    visit = peewee.ForeignKeyField(Visit, backref="household_links", on_delete="CASCADE")
    household = peewee.ForeignKeyField(Household, backref="+", on_delete="RESTRICT")

    class Meta:
        indexes = ((("visit", "household"), True), (("household", "visit"), False))
        # Its triggers write HouseholdLastVisit: that table comes first (created, and copied when an
        # estate moves, before these rows, whose copies then leave it as it is).
        depends_on = [HouseholdLastVisit]


_CODES = PreparedIn(VisitHousehold, lambda visit_ids: VisitHousehold.select(VisitHousehold.visit, Household.code)
                    .join(Household).where(VisitHousehold.visit.in_(visit_ids))
                    .order_by(VisitHousehold.visit, Household.code))


class Opinion(BaseModel):
    """One thing said on a visit, typed; it can become a request or a need, linked back."""

    visit = peewee.ForeignKeyField(Visit, backref="opinions", on_delete="CASCADE")
    position = peewee.IntegerField()
    kind = peewee.CharField(max_length=6)
    text = peewee.TextField()
    household = peewee.ForeignKeyField(Household, null=True, backref="+", on_delete="RESTRICT")
    ticket = peewee.ForeignKeyField(Ticket, null=True, backref="+", on_delete="RESTRICT", column_name="ticket_id")
    need = peewee.DeferredForeignKey("Need", null=True, backref="+", on_delete="RESTRICT", column_name="need_id")

    class Meta:
        indexes = ((("visit", "position"), True),)


class Need(VoidableMixin, VersionedMixin, BaseModel):
    """A personal or latent need, and the answer the customer was given."""

    household = peewee.ForeignKeyField(Household, backref="+", on_delete="RESTRICT")
    zone = peewee.ForeignKeyField(Zone, backref="+", on_delete="RESTRICT")
    kind = peewee.CharField(max_length=10)
    topic = peewee.CharField(max_length=10)
    what = peewee.TextField()
    source = peewee.CharField(max_length=6)
    opinion = peewee.ForeignKeyField(Opinion, null=True, backref="+", on_delete="RESTRICT")
    ticket = peewee.ForeignKeyField(Ticket, null=True, backref="+", on_delete="RESTRICT", column_name="ticket_id")
    outcome = peewee.CharField(max_length=10, default="open")
    reason = peewee.TextField(default="")    # why it can't be provided, or what is being looked into
    reaction = peewee.TextField(default="")  # how the customer took a no (已安抚 …)
    decided_at = peewee.DateTimeField(null=True)
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("zone", "outcome", "created_at"), False), (("household", "created_at"), False),
                   (("kind", "topic"), False), (("outcome", "created_at"), False))

    @property
    def kind_label(self):
        return NEED_KINDS.get(self.kind, self.kind)

    @property
    def outcome_label(self):
        return OUTCOMES.get(self.outcome, self.outcome)


MODELS = [VisitRules, HouseholdProfile, Visit, HouseholdLastVisit, VisitHousehold, Opinion, Need]

# A need is answered (可提供 / 不能提供 / 待研究); one 待研究 is answered again once looked into.
ANSWER = "answer"
NEEDS = lifecycle.Machine(Need, "需求", OUTCOMES, [
    lifecycle.step(ANSWER, "答复需求", ("open", "study"), ("provide", "decline", "study"), ("assistant", "supervisor")),
], open_states=("open", "study"), error=CustomerError, state_field="outcome")
ANSWER_WITHIN = datetime.timedelta(days=1)  # the customer hears yes, no or 待研究 within a day
NEEDS.wait("need.answer", "待答复需求", ("open", "study"), "assistant", lambda n: n.created_at + ANSWER_WITHIN, ANSWER)


# Households

def profile_of(household):
    """The household's profile (an unsaved blank one if nothing was recorded yet)."""
    return HouseholdProfile.get_or_none(HouseholdProfile.household == household) or \
        HouseholdProfile(household=household, version=0)


def update_profile(actor, household, expected_version, moved_in_on=None, contact_time="", tags=(), note=""):
    """入住日期, 方便联系的时间, tags (独居老人 …) and the household's notes, every change on its timeline."""
    if moved_in_on is not None and moved_in_on > clock.today(_tz()):
        raise CustomerError("入住日期不能晚于今天", "moved_in_on")
    contact_time = _text(contact_time, 40, "方便联系的时间", "contact_time")
    tags = [t.strip() for t in tags if t and t.strip()]
    if any(len(t) > 10 for t in tags):
        raise CustomerError("每个标签不超过 10 个字", "tags")
    tags = "、".join(dict.fromkeys(tags))
    if len(tags) > 120:
        raise CustomerError("标签太多了", "tags")
    note = _text(note, 1000, "备注", "note")
    profile = profile_of(household)
    before = (profile.moved_in_on, profile.contact_time, profile.tags, household.note)
    after = (moved_in_on, contact_time, tags, note)
    labels = ("入住日期", "方便联系的时间", "标签", "备注")
    changes = [f"{label}：{old or '—'} → {new or '—'}" for label, old, new in zip(labels, before, after) if old != new]
    if not changes:
        raise CustomerError("没有改动")
    now = clock.utcnow()
    with database.atomic():
        if profile.id is None:
            if expected_version != 0:
                raise StaleRecord()
            try:
                with database.atomic():
                    HouseholdProfile.create(household=household, moved_in_on=moved_in_on, contact_time=contact_time,
                                            tags=tags, updated_by=actor, updated_at=now)
            except peewee.IntegrityError:
                raise StaleRecord()
        else:
            guarded(HouseholdProfile.update(moved_in_on=moved_in_on, contact_time=contact_time, tags=tags,
                                            updated_by=actor, updated_at=now, version=HouseholdProfile.version + 1)
                    .where((HouseholdProfile.id == profile.id) & (HouseholdProfile.version == expected_version)))
        if note != household.note:
            Household.update(note=note, version=Household.version + 1).where(Household.id == household.id).execute()
        events.record(actor, household, "更新客户资料", note="；".join(changes))
    return profile_of(Household.get_by_id(household.id))


# Visits

def record_visit(actor, *, at, form, households=(), place="", opinions=(), note="", zone=None, token=None):
    """A visit: when, how, to which households or where; what was said, each opinion typed
    (服务需求 / 建议 / 意见 / 表扬) and, when several households were there, whose it was.
    `opinions` is [(kind, text, household or None)]. Returns (visit, created)."""
    households = list({h.id: h for h in households}.values())
    if any(h.voided_at is not None for h in households):
        raise CustomerError("房号已作废", "households")
    place = _text(place, 60, "地点", "place")
    if not households and not place:
        raise CustomerError("请填写拜访的房号或地点", "households")
    if form not in FORMS:
        raise CustomerError(VISIT_FORM_MISSING, "form")
    now = clock.now()
    if at is None:
        raise CustomerError(VISIT_TIME_MISSING, "at")
    if at > now:
        raise CustomerError("拜访时间不能晚于现在", "at")
    if at < now - datetime.timedelta(days=30):
        raise CustomerError("只能补记 30 天内的拜访", "at")
    said = []
    for kind, text, household in opinions:
        text = (text or "").strip()
        if not text:
            continue
        if kind not in OPINION_KINDS:
            raise CustomerError("请为每条意见选择类型", "opinions")
        if len(text) > 500:
            raise CustomerError("每条意见不超过 500 个字", "opinions")
        if household is not None and household.id not in {h.id for h in households}:
            raise CustomerError("意见所属的房号不在这次拜访里", "opinions")
        said.append((kind, text, household or (households[0] if len(households) == 1 else None)))
    if len(said) > MAX_OPINIONS:
        raise CustomerError(f"一次最多记 {MAX_OPINIONS} 条意见", "opinions")
    note = _text(note, 1000, "其他情况", "note")
    if not said and not note:
        raise CustomerError("请记下住户说了什么（意见或其他情况）", "opinions")
    if zone is None:
        zone = next((z for z in (zone_of_building(h.building) for h in households) if z is not None), None)
    if zone is None:
        raise CustomerError("请选择管辖区域", "zone")
    windows = VisitRules.current().windows(at)
    with database.atomic():
        earlier = idempotency.claim(token, Visit)
        if earlier is not None:
            return Visit.get_by_id(earlier.record_id), False
        visit = Visit.create(zone=zone, at=clock.to_utc_naive(at), form=form, place=place, note=note,
                             windows="、".join(windows), created_by=actor, created_at=clock.utcnow())
        for household in households:
            VisitHousehold.create(visit=visit, household=household)
        for position, (kind, text, household) in enumerate(said, 1):
            Opinion.create(visit=visit, position=position, kind=kind, text=text, household=household)
        summary = f"{form} · {visit.where}" + (f" · {'、'.join(windows)}" if windows else "")
        events.record(actor, visit, "拜访", note=summary + "".join(f"\n{k}：{t}" for k, t, _h in said)
                      + (f"\n{note}" if note else ""))
        # A visit written down later says on the household's timeline when it happened.
        later = clock.now() - at > datetime.timedelta(minutes=10)
        when = f"\n拜访于 {clock.to_local(at, _tz()):%Y-%m-%d %H:%M}" if later else ""
        for household in households:
            events.record(actor, household, "拜访", note=f"{form}" + (f" · {'、'.join(windows)}" if windows else "")
                          + when
                          + "".join(f"\n{k}：{t}" for k, t, h in said if h is None or h.id == household.id))
        idempotency.remember(token, visit)
    return visit, True


def link_ticket(actor, opinion, ticket):
    """The request made from an opinion: linked both ways, once."""
    with database.atomic():
        guarded(Opinion.update(ticket_id=ticket.id).where((Opinion.id == opinion.id) & Opinion.ticket_id.is_null()),
                CustomerError("这条意见已转为诉求"))
        events.record(actor, opinion.visit, "意见转为诉求", note=f"{opinion.kind}：{opinion.text} → {ticket.number}")
        events.record(actor, ticket, "来自拜访", note=f"{clock.to_local(opinion.visit.at, _tz()):%m-%d %H:%M} "
                                                    f"{opinion.visit.form}：{opinion.text}")
        if ticket.household_id is not None:
            events.record(actor, ticket.household, "拜访意见转为诉求", note=f"{ticket.number}：{opinion.text}")


# Needs

def record_need(actor, household, what, kind, topic, source, opinion=None, ticket=None, token=None):
    """A need, from a visit's opinion, a request, a call, or anything else. Returns (need, created)."""
    if household is None or household.voided_at is not None:
        raise CustomerError(ROOM_MISSING, "household")
    what = _text(what, 500, "需求内容", "what", required=True)
    if kind not in NEED_KINDS:
        raise CustomerError(NEED_KIND_MISSING, "kind")
    if topic not in TOPICS:
        raise CustomerError("请选择需求类别", "topic")
    if source not in NEED_SOURCES:
        raise CustomerError("请选择来源", "source")
    zone = zone_of_building(household.building)
    if zone is None:
        raise CustomerError("该房号不属于任何管辖区域", "household")
    with database.atomic():
        earlier = idempotency.claim(token, Need)
        if earlier is not None:
            return Need.get_by_id(earlier.record_id), False
        need = Need.create(household=household, zone=zone, kind=kind, topic=topic, what=what, source=source,
                           opinion=opinion, ticket_id=ticket.id if ticket is not None else None,
                           created_by=actor, created_at=clock.utcnow())
        if opinion is not None:
            guarded(Opinion.update(need_id=need.id).where((Opinion.id == opinion.id) & Opinion.need_id.is_null()),
                    CustomerError("这条意见已记为需求"))
            events.record(actor, opinion.visit, "意见记为需求", note=f"{opinion.text} → {NEED_KINDS[kind]}：{what}")
        events.record(actor, need, "记录需求", to_state=need.outcome_label,
                      note=f"{NEED_KINDS[kind]} · {topic} · 来源 {source}：{what}")
        events.record(actor, household, "记录需求", note=f"{NEED_KINDS[kind]}：{what}")
        idempotency.remember(token, need)
    return need, True


def already_answered(need):
    return f"该需求已答复“{need.outcome_label}”"


def answer_need(actor, need, expected_version, outcome, reason="", reaction=""):
    """The answer given: 可提供 (a service follows), 不能提供 (the reason told, and how the customer
    took it), or 待研究 (what is being looked into). A 待研究 need can be answered again."""
    if outcome not in ("provide", "decline", "study"):
        raise CustomerError(ANSWER_MISSING, "outcome")
    if need.voided_at is None and need.outcome not in ("open", "study"):
        raise CustomerError(already_answered(need))
    refused = NEEDS.refusal(need, ANSWER, actor.role)
    if refused:
        raise CustomerError(refused)
    reason = _text(reason, 500, "原因", "reason", required=outcome in ("decline", "study"))
    reaction = _text(reaction, 200, "客户反应", "reaction", required=outcome == "decline")
    with database.atomic():
        if not reason and need.outcome == "study":
            reason = need.reason  # what was looked into stays with the answer
        note = {"provide": "可以提供", "decline": f"不能提供：{reason}；客户：{reaction}",
                "study": f"待研究：{reason}"}[outcome]
        fresh = NEEDS.transition(actor, need, expected_version, ANSWER, to=outcome, note=note, reason=reason,
                                 reaction=reaction, decided_at=clock.utcnow())
        events.record(actor, need.household, "答复需求", note=f"{need.what} → {note}")
    return fresh


def needs_in(zone_ids, outcomes=("open", "study"), limit=200):
    """The needs of these zones in `outcomes`, newest first, each with its household (one query)."""
    return list(Need.select(Need, Household).join(Household)
                .where(Need.voided_at.is_null() & Need.zone.in_(zone_ids) & Need.outcome.in_(outcomes))
                .order_by(Need.created_at.desc()).limit(limit))


def latent_patterns(zone_ids):
    """Latent needs across the zones grouped by topic, with how many households and which tags they
    share, biggest first: [(topic, households, {tag: households})] — "3 户独居老人希望代购"."""
    rows = (Need.select(Need.topic, Need.household, HouseholdProfile.tags)
            .join(HouseholdProfile, peewee.JOIN.LEFT_OUTER, on=(HouseholdProfile.household == Need.household))
            .where(Need.zone.in_(zone_ids) & (Need.kind == "latent") & Need.voided_at.is_null()
                   & (Need.outcome != "decline")).tuples())
    groups = {}
    for topic, household_id, tags in rows:
        households, tag_counts = groups.setdefault(topic, (set(), {}))
        if household_id in households:
            continue
        households.add(household_id)
        for tag in (tags or "").split("、"):
            if tag:
                tag_counts[tag] = tag_counts.get(tag, 0) + 1
    found = [(topic, len(households), dict(sorted(tags.items(), key=lambda t: -t[1])))
             for topic, (households, tags) in groups.items()]
    return sorted(found, key=lambda g: (-g[1], TOPICS.index(g[0]) if g[0] in TOPICS else 99))


# The planner

# What the planner reads of a household, all its cards show: which one, and its 房号.
CARD = (Household.id, Household.code)


def still_unhappy(model, zone_ids, since):
    """The records of `model` (Ticket, ServiceOrder) in the zones whose latest answer on a call-back
    since `since` was 不满意 — a later 满意 / 基本满意 on the same record means it was put right —
    as [(household id, when it was said, the words)]."""
    rows = (CallBack.select(CallBack.record_id, CallBack.at, CallBack.result, CallBack.words, model.household)
            .join(model, on=CallBack.of(model))
            .where(model.zone.in_(zone_ids) & model.household.is_null(False) & (CallBack.at >= since)
                   & CallBack.result.in_(callbacks.ANSWERS))
            .order_by(CallBack.at, CallBack.id).tuples())
    latest = {}
    for record_id, at, result, words, household_id in rows:
        latest[record_id] = (household_id, CallBack.at.python_value(at), result, words)
    return [(household_id, at, words) for household_id, at, result, words in latest.values()
            if result == callbacks.UNHAPPY]


# Where a customer can say 不满意: name → fn(zone_ids, since) giving [(household id, when, words)] of the
# records still unhappy (see still_unhappy). The personal services add theirs.
UNHAPPY = {"requests": lambda zone_ids, since: still_unhappy(Ticket, zone_ids, since)}


def _open_needs(zone_ids, limit):
    # Needs recorded at the same moment in the order SQLite gives them (by zone, answer, then as
    # recorded), spelled out so PostgreSQL gives the same.
    return (Household.select(*CARD, Need.what.alias("need_what"))
            .join(Need, on=(Need.household == Household.id))
            .where(Need.zone.in_(zone_ids) & Need.outcome.in_(("open", "study")) & Need.voided_at.is_null())
            .order_by(Need.created_at, Need.zone, Need.outcome, Need.id).limit(limit))


def _stale(zone_ids, cutoff, limit):
    """The households of the zones not visited since `cutoff` (or never), tagged ones first, then the
    longest unvisited: each household's latest visit looked up (HouseholdLastVisit), not counted."""
    last = HouseholdLastVisit.at
    in_zones = Household.building.in_(ZoneBuilding.select(ZoneBuilding.building).where(ZoneBuilding.zone.in_(zone_ids)))
    return (Household.select(*CARD, last.alias("last_visit"), HouseholdProfile.tags)
            .join(HouseholdLastVisit, peewee.JOIN.LEFT_OUTER, on=(HouseholdLastVisit.household_id == Household.id))
            .join_from(Household, HouseholdProfile, peewee.JOIN.LEFT_OUTER,
                       on=(HouseholdProfile.household == Household.id))
            .where(in_zones & Household.voided_at.is_null() & (last.is_null() | (last < cutoff)))
            .order_by((HouseholdProfile.tags.is_null() | (HouseholdProfile.tags == "")),
                      last.asc(nulls="first"), Household.code)
            .limit(limit))


# The planner's reads, their SQL written once per number of zones (the page is opened all day). The
# examples stand for the moment and the limit, unlike any constant of the queries.
_MOMENT, _LIMIT = datetime.datetime(1901, 2, 3, 4, 5, 6), 987654
_OPEN_NEEDS = PreparedIn(Household, _open_needs, _LIMIT)
_STALE = PreparedIn(Household, _stale, _MOMENT, _LIMIT)
def planner(zone_ids, today=None, limit=15, tz=None):
    """Who to visit: households with an open need, those who said 不满意 in the last 30 days (on a
    request's return visit or a service's call-back), and those not visited for the configured number of weeks (tagged households first, then
    the longest unvisited). Each a list of households, read as far as the cards show them (CARD), with
    what the part adds (`need_what`; `last_visit` and `tags`). `tz`: the estate's (read if not given)."""
    tz = tz or _tz()
    today = today or clock.today(tz)
    rules = VisitRules.current()
    open_needs = _OPEN_NEEDS(zone_ids, limit)
    since = clock.to_utc_naive(datetime.datetime.combine(today - datetime.timedelta(days=30), datetime.time.min,
                                                         tzinfo=tz))
    latest = {}  # household id → (when, words) of its latest 不满意 not yet put right
    for source in UNHAPPY.values():
        for household_id, at, words in source(zone_ids, since):
            if household_id not in latest or at > latest[household_id][0]:
                latest[household_id] = (at, words)
    chosen = sorted(latest, key=lambda household_id: latest[household_id][0], reverse=True)[:limit]
    found = {h.id: h for h in Household.select(*CARD).where(Household.id.in_(chosen))} if chosen else {}
    unhappy = []
    for household_id in chosen:
        household = found[household_id]
        household.unhappy_at, household.unhappy_words = latest[household_id]
        unhappy.append(household)
    cutoff = clock.to_utc_naive(datetime.datetime.combine(today - datetime.timedelta(weeks=rules.stale_weeks),
                                                          datetime.time.min, tzinfo=tz))
    stale = _STALE(zone_ids, cutoff, limit)
    for household in stale:  # as a datetime whichever way the driver returned it
        household.last_visit = Visit.at.python_value(household.last_visit)
    return {"needs": open_needs, "unhappy": unhappy, "stale": stale, "now": rules.now_label(tz=tz),
            "weeks": rules.stale_weeks}
