"""Renovation supervision (装修户): the register, violations followed step by step (劝阻 → 整改通知书
served → re-check → 上报 → closed and archived), numbered rectification notices, escalation to the
owners' committee, residents' committee or district housing office, and the archive.

An active renovation is a daily checkpoint of the patrols (the renovation checklist) from its
start to its end; finishing it ends the checkpoint from the day after.
"""
import datetime

import peewee

from . import clock
from . import events
from . import idempotency
from . import lifecycle
from . import patrols
from . import rectification
from . import uploads
from . import workorders
from .db import BaseModel
from .db import RuleError
from .db import VersionedMixin
from .db import VoidableMixin
from .db import database
from .db import guarded
from .estate import Household
from .estate import ROOM_MISSING
from .estate import Zone
from .estate import current_tz as _tz
from .estate import zone_of_building
from .users import Unit
from .users import User

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
WORKERS_RANGE = "施工人数应在 0–200 之间"
PLANNED_START_MISSING = "请填写计划开工日期"
DEPOSIT_WRONG = "押金金额不正确"
VIOLATION_KIND_MISSING = "请选择违规类型"
REPLY_RECORDED = "答复已记录"

STATES = {"applied": "申请", "active": "在施工", "paused": "暂停", "finished": "已完工", "accepted": "已验收"}
WORKS = ["水电改造", "拆改非承重墙", "封阳台", "铺贴地砖墙砖", "吊顶", "厨卫改造", "门窗更换", "油漆涂料", "其他"]
VIOLATION_TYPES = ["超时施工", "违规拆改", "垃圾乱堆", "占用公共部位", "噪音扰民", "其他"]
BODIES = ["业委会", "居委会", "区房屋土地管理局相关办事处"]
VIOLATION_STATES = {
    "open": "待处理", "dissuaded": "已劝阻", "noticed": "已发整改通知", "complied": "复查已整改",
    "not_complied": "复查未整改", "escalated": "已上报", "closed": "已结案",
}
CONSEQUENCE = ("逾期未整改的，服务中心将汇总相关材料上报业主委员会、居民委员会及区房屋土地管理局相关办事处处理，"
               "由此产生的一切后果由业主及施工单位承担。")


# The estate's decoration-agreement clauses and a 整改要求 per violation type, until the administrator
# writes the estate's own (设置 → 装修协议条款与整改要求).
DEFAULT_CLAUSES = [
    "《装修管理服务协议》第三条：装修施工时间为工作日8:00–12:00、14:00–18:00，双休日及法定节假日不得进行产生噪音的施工",
    "《装修管理服务协议》第四条：不得拆改房屋承重结构、抗震结构，不得擅自改变房屋外立面",
    "《装修管理服务协议》第五条：装修垃圾应袋装，当日清运至指定地点，不得堆放在楼道等公共部位",
    "《装修管理服务协议》第六条：施工期间应对电梯、楼道等公共部位做好保护，不得占用公共部位",
    "《装修管理服务协议》第七条：施工现场应配备消防器材，严禁违规动火",
    "《装修管理服务协议》第八条：施工人员须办理出入证件，佩证上岗",
    "《装修管理服务协议》第九条：施工中应控制噪音，中午12:00–14:00不得进行产生噪音的施工",
]
DEFAULT_DEMANDS = {
    "超时施工": "请严格按规定的施工时间施工，立即停止规定时间以外的施工。",
    "违规拆改": "请立即停止拆改，在期限内恢复原状，并提交有资质单位出具的房屋安全鉴定。",
    "垃圾乱堆": "请在期限内将装修垃圾袋装清运至指定地点，并清扫干净。",
    "占用公共部位": "请在期限内清理所占用的公共部位，恢复原状，并做好公共部位的保护。",
    "噪音扰民": "请立即停止产生噪音的施工，噪音作业只在规定的时间内进行。",
    "其他": "请立即停止违规行为，并在期限内整改完毕。",
}
# The words of a checklist item that name a violation type (the first type matched wins).
TYPE_WORDS = [("超时施工", ("施工时间", "超时")), ("违规拆改", ("拆改", "承重")), ("垃圾乱堆", ("垃圾",)),
              ("占用公共部位", ("公共部位", "占用")), ("噪音扰民", ("噪音", "噪声"))]


class RenovationError(RuleError):
    pass


_text = RenovationError.checked


class Renovation(VoidableMixin, VersionedMixin, BaseModel):
    """装修登记: one household's renovation, from the application to the acceptance."""

    household = peewee.ForeignKeyField(Household, backref="renovations", on_delete="RESTRICT")
    zone = peewee.ForeignKeyField(Zone, backref="+", on_delete="RESTRICT", index=False)  # (zone, state) serves it
    owner_name = peewee.CharField(max_length=40)
    owner_phone = peewee.CharField(max_length=20, default="")
    company = peewee.CharField(max_length=60, default="")
    foreman = peewee.CharField(max_length=40, default="")
    foreman_phone = peewee.CharField(max_length=20, default="")
    workers = peewee.IntegerField(default=0)
    permit_number = peewee.CharField(max_length=40, default="")
    permit_date = peewee.DateField(null=True)
    planned_start = peewee.DateField()
    planned_end = peewee.DateField()
    deposit = peewee.IntegerField(default=0)  # 元
    allowed_hours = peewee.CharField(max_length=80, default="")
    works = peewee.TextField(default="")  # 、-separated, from WORKS
    state = peewee.CharField(max_length=10, default="applied")
    started_on = peewee.DateField(null=True)
    finished_on = peewee.DateField(null=True)
    checkpoint = peewee.ForeignKeyField(patrols.Checkpoint, null=True, backref="+", on_delete="RESTRICT",
                                        column_name="checkpoint_id")
    note = peewee.TextField(default="")
    archived_at = peewee.DateTimeField(null=True)
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("zone", "state"), False), (("household", "created_at"), False))

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    @property
    def work_list(self):
        return [w for w in self.works.split("、") if w]


class Violation(VoidableMixin, VersionedMixin, BaseModel):
    """违规: one breach of the rules, the contract or the agreement, followed until closed."""

    # Declared with the database's own default, as migration 8 added it.
    void_reason = peewee.TextField(default="", constraints=[peewee.SQL("DEFAULT ''")])

    renovation = peewee.ForeignKeyField(Renovation, backref="violations", on_delete="RESTRICT")
    zone = peewee.ForeignKeyField(Zone, backref="+", on_delete="RESTRICT", index=False)  # (zone, state) serves it
    kind = peewee.CharField(max_length=10)
    at = peewee.DateTimeField()
    description = peewee.TextField()
    clause = peewee.TextField(default="")
    finding = peewee.ForeignKeyField(patrols.Finding, null=True, backref="+", on_delete="RESTRICT",
                                     column_name="finding_id")
    state = peewee.CharField(max_length=12, default="open")
    dissuaded_at = peewee.DateTimeField(null=True)
    dissuade_outcome = peewee.TextField(default="")
    recheck_at = peewee.DateTimeField(null=True)
    recheck_complied = peewee.BooleanField(null=True)
    recheck_note = peewee.TextField(default="")
    closed_at = peewee.DateTimeField(null=True)
    close_note = peewee.TextField(default="")
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    class Meta:
        # (state): those in one state across the estate (awaiting the re-check after a notice) without
        # going through every violation ever recorded.
        indexes = ((("zone", "state"), False), (("renovation", "at"), False), (("state",), False))

    @property
    def state_label(self):
        return VIOLATION_STATES.get(self.state, self.state)

    @property
    def is_open(self):
        return self.state != "closed"


class RectificationNotice(rectification.NoticeMixin, BaseModel):
    """整改通知书 served on the household and contractor."""

    renovation = peewee.ForeignKeyField(Renovation, backref="notices", on_delete="RESTRICT")
    consequence = peewee.TextField(default=CONSEQUENCE)

    class Meta:
        indexes = ((("year", "serial"), True), (("state",), False))  # the notices still waiting

    def violations(self):
        return (Violation.select().join(NoticeViolation).where(NoticeViolation.notice == self)
                .order_by(Violation.at))


class NoticeViolation(BaseModel):
    notice = peewee.ForeignKeyField(RectificationNotice, backref="links", on_delete="CASCADE")
    violation = peewee.ForeignKeyField(Violation, backref="notice_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("notice", "violation"), True),)


class Referral(BaseModel):
    """上报: the case reported to an outside body, with the dossier, and their reply."""

    renovation = peewee.ForeignKeyField(Renovation, backref="referrals", on_delete="RESTRICT")
    body = peewee.CharField(max_length=30)
    sent_at = peewee.DateTimeField()
    letter = peewee.TextField()
    reason_without_notice = peewee.TextField(default="")
    reply = peewee.TextField(default="")
    reply_at = peewee.DateTimeField(null=True)
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")

    class Meta:
        indexes = ((("renovation", "sent_at"), False),)


class RenovationTerm(BaseModel):
    """The estate's own wording (migration 17): key "clauses" (one clause a line) or "demand:<type>"."""

    key = peewee.CharField(max_length=30, unique=True)
    text = peewee.TextField(default="")


MODELS = [Renovation, Violation, RectificationNotice, NoticeViolation, Referral, RenovationTerm]

_HANDLERS = ("assistant", "supervisor")
START, RESTART, PAUSE, FINISH, ACCEPT, ARCHIVE = "start", "restart", "pause", "finish", "accept", "archive"
RENOVATION = lifecycle.Machine(Renovation, "装修", STATES, [
    lifecycle.step(START, "开工", "applied", "active", _HANDLERS),
    lifecycle.step(RESTART, "恢复施工", "paused", "active", _HANDLERS),
    lifecycle.step(PAUSE, "暂停施工", "active", "paused", _HANDLERS),
    lifecycle.step(FINISH, "完工", ("active", "paused"), "finished", _HANDLERS),
    lifecycle.step(ACCEPT, "验收", "finished", "accepted", _HANDLERS),
    lifecycle.step(ARCHIVE, "归档", tuple(STATES), None, _HANDLERS),
], open_states=("applied", "active", "paused", "finished"), error=RenovationError)

DISSUADE, NOTICE_SERVED, RECHECK, ESCALATE, CLOSE = "dissuade", "notice_served", "recheck", "escalate", "close"
VIOLATION = lifecycle.Machine(Violation, "违规", VIOLATION_STATES, [
    lifecycle.step(DISSUADE, "劝阻", "open", "dissuaded", _HANDLERS),
    lifecycle.step(NOTICE_SERVED, "送达整改通知书", ("open", "dissuaded", "not_complied"), "noticed", _HANDLERS),
    lifecycle.step(RECHECK, "复查", "noticed", ("complied", "not_complied"), _HANDLERS),
    lifecycle.step(ESCALATE, "上报", ("open", "dissuaded", "noticed", "not_complied"), "escalated", _HANDLERS),
    lifecycle.step(CLOSE, "结案", ("open", "dissuaded", "noticed", "complied", "not_complied", "escalated"), "closed",
                   _HANDLERS),
], open_states=tuple(s for s in VIOLATION_STATES if s != "closed"), error=RenovationError)

NOTICE = rectification.machine(RectificationNotice, RenovationError, rechecked=True)


def _settle_notices(change):
    """A renovation's notice is re-checked through its violations: once none of them waits for its
    复查 any more (re-checked, reported or closed), the notice is settled — 复查已整改 when every one
    was put right, else 复查未整改 — and leaves the 待复查 list."""
    if change.action not in (RECHECK, ESCALATE, CLOSE):
        return
    for notice in notices_of(change.record):
        if notice.state != "served":
            continue
        states = [v.state for v in Violation.select(Violation.state).join(NoticeViolation)
                  .where(NoticeViolation.notice == notice)]
        if "noticed" in states:
            continue
        complied = all(state in ("complied", "closed") for state in states)
        NOTICE.transition(change.actor, notice, notice.version, rectification.RECHECK, as_system=True,
                          to="complied" if complied else "not_complied",
                          label="复查：已整改" if complied else "复查：未整改",
                          note=f"违规 {len(states)} 项均已复查或处理")


VIOLATION.listen(_settle_notices)

# A violation waits on the assistant until dissuaded, noticed or closed; once escalated, on the supervisor.
VIOLATION.wait("violation.follow", "待处理违规", ("open", "dissuaded", "not_complied", "complied"), "assistant")
VIOLATION.wait("violation.escalated", "上报的违规", "escalated", "supervisor", None, CLOSE)




# The register

def register(actor, household, *, owner_name, owner_phone="", company="", foreman="", foreman_phone="", workers=0,
             permit_number="", permit_date=None, planned_start, planned_end, deposit=0, allowed_hours="",
             works=(), note="", token=None):
    """登记 a renovation (申请). Returns (renovation, created)."""
    if household is None or household.voided_at is not None:
        raise RenovationError(ROOM_MISSING, "household")
    zone = zone_of_building(household.building_id)
    if zone is None:
        raise RenovationError("该房号不属于任何管辖区域", "household")
    values = dict(
        owner_name=_text(owner_name, 40, "业主姓名", "owner_name", required=True),
        owner_phone=_text(owner_phone, 20, "业主电话", "owner_phone"),
        company=_text(company, 60, "施工单位", "company"), foreman=_text(foreman, 40, "施工负责人", "foreman"),
        foreman_phone=_text(foreman_phone, 20, "负责人电话", "foreman_phone"),
        permit_number=_text(permit_number, 40, "装修许可/协议编号", "permit_number"),
        allowed_hours=_text(allowed_hours, 80, "允许施工时间", "allowed_hours"), note=_text(note, 1000, "备注", "note"))
    if planned_start is None:
        raise RenovationError(PLANNED_START_MISSING, "planned_start")
    if planned_end is None or planned_end < planned_start:
        raise RenovationError("计划完工日期不能早于开工日期", "planned_end")
    if not 0 <= (workers or 0) <= 200:
        raise RenovationError(WORKERS_RANGE, "workers")
    if not 0 <= (deposit or 0) <= 1000000:
        raise RenovationError(DEPOSIT_WRONG, "deposit")
    unknown = [w for w in works if w not in WORKS]
    if unknown:
        raise RenovationError("请从列表中选择装修项目", "works")
    with database.atomic():
        earlier = idempotency.claim(token, Renovation)
        if earlier is not None:
            return Renovation.get_by_id(earlier.record_id), False
        if Renovation.live().where((Renovation.household == household)
                                   & Renovation.state.in_(("applied", "active", "paused"))).exists():
            raise RenovationError("该房号已有未完工的装修登记", "household")
        renovation = Renovation.create(household=household, zone=zone, workers=workers or 0, deposit=deposit or 0,
                                       permit_date=permit_date, planned_start=planned_start, planned_end=planned_end,
                                       works="、".join(works), created_by=actor, created_at=clock.utcnow(), **values)
        events.record(actor, renovation, "装修登记", to_state=renovation.state_label,
                      note=f"{household.code} {values['owner_name']} · {values['company'] or '自装'} · "
                           f"{planned_start:%m-%d} 至 {planned_end:%m-%d}")
        idempotency.remember(token, renovation)
    return renovation, True


def start(actor, renovation, expected_version, day=None):
    """开工: the renovation becomes a daily checkpoint of the zone's patrols until it is finished or
    paused (a renovation running past its planned end is still patrolled)."""
    day = day or clock.today(_tz())
    with database.atomic():
        checkpoint = None
        if renovation.checkpoint_id:
            checkpoint = patrols.Checkpoint.get_or_none(patrols.Checkpoint.id == renovation.checkpoint_id)
        if checkpoint is None:
            # Named as the assistant says it; a household renovating again years later (its earlier
            # checkpoint still named so) gets the month this one starts.
            name = f"{renovation.household.code} 装修"
            if patrols.Checkpoint.live().where((patrols.Checkpoint.zone == renovation.zone)
                                               & (patrols.Checkpoint.name == name)).exists():
                name += f"（{renovation.planned_start:%Y年%m月}起）"
            checkpoint = patrols.create_checkpoint(
                actor, kind="renovation", name=name,
                zone=renovation.zone, checklist=patrols.Checklist.get(patrols.Checklist.code == "renovation"),
                unit=Unit.live().where(Unit.kind == "engineering").first(),
                household=renovation.household, source_type="renovation", source_id=renovation.id,
                active_from=day, active_until=None)
        else:
            patrols.Checkpoint.update(active_until=None).where(patrols.Checkpoint.id == checkpoint.id).execute()
        return RENOVATION.transition(actor, renovation, expected_version,
                                     START if renovation.state == "applied" else RESTART, started_on=renovation.started_on or day, checkpoint_id=checkpoint.id)


def pause(actor, renovation, expected_version, reason):
    """暂停: no daily patrol is owed while the works stand still."""
    reason = _text(reason, 500, "暂停原因", "reason", required=True)
    with database.atomic():
        _end_checkpoint(renovation, clock.today(_tz()))
        return RENOVATION.transition(actor, renovation, expected_version, PAUSE, note=reason)


def finish(actor, renovation, expected_version, day=None, note=""):
    """完工: the renovation drops out of the patrol coverage from the day after."""
    day = day or clock.today(_tz())
    with database.atomic():
        _end_checkpoint(renovation, day)
        return RENOVATION.transition(actor, renovation, expected_version, FINISH, note=_text(note, 500, "说明", "note"), finished_on=day)


def accept(actor, renovation, expected_version, note=""):
    """验收: the renovation is accepted; its open violations must be closed first."""
    if _open_violations(renovation).exists():
        raise RenovationError("还有未结案的违规，不能验收")
    with database.atomic():
        return RENOVATION.transition(actor, renovation, expected_version, ACCEPT, note=_text(note, 500, "说明", "note"))


def _end_checkpoint(renovation, day):
    """Owed through `day`, not after (never lengthens: finishing a paused renovation keeps it off)."""
    if renovation.checkpoint_id:
        patrols.Checkpoint.update(active_until=day).where(
            (patrols.Checkpoint.id == renovation.checkpoint_id)
            & (patrols.Checkpoint.active_until.is_null() | (patrols.Checkpoint.active_until > day))).execute()


def _open_violations(renovation):
    return Violation.live().where((Violation.renovation == renovation) & (Violation.state != "closed"))


def for_checkpoint(checkpoint):
    """The renovation a patrol checkpoint stands for, or None."""
    if checkpoint.source_type != "renovation" or checkpoint.source_id is None:
        return None
    return Renovation.get_or_none(Renovation.id == checkpoint.source_id)


# Violations

def record_violation(actor, renovation, kind, description, clause="", at=None, photos=(), finding=None, token=None):
    """A violation found on a patrol (from its finding) or recorded directly. Returns (violation, created)."""
    if renovation.voided_at is not None or renovation.state == "accepted":
        raise RenovationError("该装修已验收或作废，不能再记录违规")
    if kind not in VIOLATION_TYPES:
        raise RenovationError(VIOLATION_KIND_MISSING, "kind")
    description = _text(description, 1000, "违规情况", "description", required=True)
    clause = _text(clause, 500, "违反的规定或协议条款", "clause")
    now = clock.utcnow()
    at = clock.to_utc_naive(clock.aware(at)) if at is not None else now
    if at > now:
        raise RenovationError("发现时间不能晚于现在", "at")
    with database.atomic():
        earlier = idempotency.claim(token, Violation)
        if earlier is not None:
            return Violation.get_by_id(earlier.record_id), False
        if finding is not None:
            refused = patrols.hand_off_refusal(actor, finding, "violation")
            if refused:
                raise RenovationError(refused)
        violation = Violation.create(renovation=renovation, zone=renovation.zone_id, kind=kind, at=at,
                                     description=description, clause=clause, finding=finding,
                                     created_by=actor, created_at=now)
        if finding is not None:
            patrols.hand_off(actor, finding, finding.version, violation, note=f"{kind}：{description}")
        photos = list(photos)
        uploads.attach(photos, violation)
        events.record(actor, violation, "记录违规", to_state=violation.state_label,
                      note=f"{kind}：{description}" + (f"（{clause}）" if clause else ""),
                      **({"photo_ids": [p.id for p in photos]} if photos else {}))
        events.record(actor, renovation, "记录违规", note=f"{kind}：{description}")
        idempotency.remember(token, violation)
    return violation, True


def dissuade(actor, violation, expected_version, outcome):
    """劝阻: told them to stop, and what they said or did."""
    outcome = _text(outcome, 500, "劝阻结果", "outcome", required=True)
    with database.atomic():
        return VIOLATION.transition(actor, violation, expected_version, DISSUADE, note=outcome,
                     dissuaded_at=clock.utcnow(), dissuade_outcome=outcome)


def issue_notice(actor, renovation, violations, demand, deadline, clauses=""):
    """整改通知书: numbered 〔year〕第NNNN号 from a counter that never goes back (a voided notice keeps
    its number), for one or more open violations of this renovation."""
    violations = [v for v in violations if v.renovation_id == renovation.id]
    if not violations:
        raise RenovationError("请选择通知书针对的违规", "violations")
    if any(v.state in ("closed", "complied", "escalated") for v in violations):
        raise RenovationError("已结案、已整改或已上报的违规不能再发通知书", "violations")
    demand = _text(demand, 1000, "整改要求", "demand", required=True)
    clauses = _text(clauses, 1000, "违反的规定或协议条款", "clauses") or "；".join(
        v.clause for v in violations if v.clause) or "《装修管理服务协议》及小区装修管理规定"
    rectification.check_deadline(deadline, _tz(), RenovationError)
    with database.atomic():
        issued_at, year, serial = rectification.numbered(_tz())
        notice = RectificationNotice.create(renovation=renovation, year=year, serial=serial, clauses=clauses,
                                            demand=demand, deadline=deadline, issued_by=actor, issued_at=issued_at)
        for violation in violations:
            NoticeViolation.create(notice=notice, violation=violation)
        events.record(actor, notice, "开具整改通知书", note=f"{notice.number}：{demand}（期限 {deadline:%m-%d}）")
        events.record(actor, renovation, "开具整改通知书", note=notice.number)
    return notice


def serve_notice(actor, notice, served_to="", refused=False, witness="", at=None):
    """送达: who received it and when, or 拒签 with a witness. Its violations await re-check."""
    with database.atomic():
        who = rectification.serve(NOTICE, actor, notice, served_to, refused, witness, at)
        for violation in notice.violations():
            if VIOLATION.may(violation, NOTICE_SERVED, actor):
                VIOLATION.transition(actor, violation, violation.version, NOTICE_SERVED, note=f"{notice.number}，{who}，期限 {notice.deadline:%m-%d}")
    return RectificationNotice.get_by_id(notice.id)


def void_notice(actor, notice, reason):
    """A notice issued in error is voided; its number is not given out again."""
    with database.atomic():
        rectification.void(NOTICE, actor, notice, reason)


def recheck(actor, violation, expected_version, complied, note, at=None, photos=()):
    """复查 after the notice: complied (整改到位) or not, with photos of what was seen (required when the
    patrol rules say so). A re-check can't precede its notice."""
    note = _text(note, 500, "复查情况", "note", required=True)
    photos = list(photos)
    if not photos and patrols.PatrolRules.current().needs_photo("recheck:renovation"):
        raise RenovationError(workorders.RECHECK_PHOTO_MISSING, "photos")
    served = [n for n in notices_of(violation) if n.is_served]
    if not served:
        raise RenovationError("整改通知书送达后才能复查")
    now = clock.utcnow()
    at = clock.to_utc_naive(clock.aware(at)) if at is not None else now
    if at > now:
        raise RenovationError("复查时间不能晚于现在", "at")
    if at < max(n.served_at for n in served):
        raise RenovationError("复查时间不能早于通知书送达时间", "at")
    with database.atomic():
        violation = VIOLATION.transition(actor, violation, expected_version, RECHECK,
                                         to="complied" if complied else "not_complied",
                                         label="复查：已整改" if complied else "复查：未整改", note=note, recheck_at=at,
                                         recheck_complied=bool(complied), recheck_note=note,
                                         photo_ids=[p.id for p in photos])
        uploads.attach(photos, violation)
        return violation


def photos_of(violation):
    """A violation's photos, with those of the patrol finding it was recorded from."""
    photos = list(uploads.Photo.of(violation))
    if violation.finding_id:
        photos += list(uploads.Photo.of(patrols.Finding.get_by_id(violation.finding_id)))
    return photos


def notices_of(violation):
    return list(RectificationNotice.live().join(NoticeViolation)
                .where(NoticeViolation.violation == violation).order_by(RectificationNotice.issued_at))


def escalate(actor, renovation, body, letter, violations, reason_without_notice=""):
    """上报: the case goes to an outside body with its dossier. Needs a served notice among the
    reported violations, or a recorded reason why there is none."""
    if body not in BODIES:
        raise RenovationError("请选择上报单位", "body")
    letter = _text(letter, 3000, "上报函", "letter", required=True)
    reason_without_notice = _text(reason_without_notice, 500, "未发通知书的原因", "reason_without_notice")
    violations = [v for v in violations if v.renovation_id == renovation.id
                  and v.state not in ("closed", "complied", "escalated")]
    if not violations:
        raise RenovationError("请选择要上报的违规（已整改、已上报或已结案的除外）", "violations")
    served = any(n.is_served for v in violations for n in notices_of(v))
    if not served and not reason_without_notice:
        raise RenovationError("上报前须已送达整改通知书，或写明未能送达的原因", "reason_without_notice")
    now = clock.utcnow()
    with database.atomic():
        referral = Referral.create(renovation=renovation, body=body, sent_at=now, letter=letter,
                                   reason_without_notice=reason_without_notice, created_by=actor)
        for violation in violations:
            VIOLATION.transition(actor, violation, violation.version, ESCALATE, note=f"上报{body}")
        events.record(actor, referral, "上报", note=f"{body}：{len(violations)} 项违规")
        events.record(actor, renovation, "上报", note=body)
    return referral


def record_reply(actor, referral, reply):
    """The body's answer, recorded once."""
    reply = _text(reply, 1000, "答复", "reply", required=True)
    with database.atomic():
        guarded(Referral.update(reply=reply, reply_at=clock.utcnow())
                .where((Referral.id == referral.id) & Referral.reply_at.is_null()), RenovationError(REPLY_RECORDED))
        events.record(actor, referral, "收到答复", note=reply)
    return Referral.get_by_id(referral.id)


def close_violation(actor, violation, expected_version, note):
    """结案: the violation is settled (complied, or dealt with by the body it went to)."""
    note = _text(note, 500, "结案说明", "note", required=True)
    with database.atomic():
        violation = VIOLATION.transition(actor, violation, expected_version, CLOSE, note=note,
                                         closed_at=clock.utcnow(), close_note=note)
        patrols.settle(actor, violation, "违规结案", violation.recheck_complied is True, note=note)
        return violation


def archive(actor, renovation, expected_version):
    """归档: every violation closed, the case is kept on file (and stays searchable)."""
    if _open_violations(renovation).exists():
        raise RenovationError("还有未结案的违规，不能归档")
    if renovation.archived_at is not None:
        raise RenovationError("已归档")
    with database.atomic():
        return RENOVATION.transition(actor, renovation, expected_version, ARCHIVE, archived_at=clock.utcnow())


# Lists

def active_in(zone_ids):
    """Renovations not yet finished in these zones, with their households (one query)."""
    return (Renovation.select(Renovation, Household).join(Household)
            .where(Renovation.voided_at.is_null() & Renovation.zone.in_(zone_ids)
                   & Renovation.state.in_(("applied", "active", "paused")))
            .order_by(Renovation.state, Renovation.planned_end))


def open_violations(zone_ids):
    """Violations not yet closed in these zones, oldest first, with renovation and household."""
    # "Not closed" as the states either side of it, so the (zone, state) index finds the open ones
    # rather than every violation the zones ever had; those found at the same moment by zone, state
    # and as recorded, as they came before.
    not_closed = (Violation.state < "closed") | (Violation.state > "closed")
    return (Violation.select(Violation, Renovation, Household).join(Renovation).join(Household)
            .where(Violation.zone.in_(zone_ids) & not_closed)
            .order_by(Violation.at, Violation.zone, Violation.state, Violation.id))


def overdue_notices(zone_ids, today=None):
    """Served notices past their deadline whose violations still await the re-check."""
    today = today or clock.today(_tz())
    zone_ids = list(zone_ids)
    # Found from the violations awaiting the re-check (few, by the state index), not from every notice
    # of the zones' renovations ever: "+ 0" keeps SQLite from starting at the renovations' zone index.
    return (RectificationNotice.select(RectificationNotice, Renovation, Household).join(Renovation).join(Household)
            .where(RectificationNotice.voided_at.is_null() & (Renovation.zone + 0).in_(zone_ids)
                   & RectificationNotice.served_at.is_null(False)
                   & (RectificationNotice.deadline < today)
                   & RectificationNotice.id.in_(NoticeViolation.select(NoticeViolation.notice).join(Violation)
                                                .where(Violation.state == "noticed")))
            # Those due the same day in the order the list has always given them: of one zone by
            # renovation, then as issued; of several zones as issued.
            .order_by(RectificationNotice.deadline, *([Renovation.id] if len(set(zone_ids)) == 1 else []),
                      RectificationNotice.id))


def search(zone_ids, text="", archived=None):
    """The register, current and archived, by 房号, owner, company or permit number."""
    query = (Renovation.select(Renovation, Household).join(Household)
             .where(Renovation.voided_at.is_null() & Renovation.zone.in_(zone_ids)))
    text = (text or "").strip()
    if text:
        query = query.where((Household.code.contains(text)) | Renovation.owner_name.contains(text)
                            | Renovation.company.contains(text) | Renovation.permit_number.contains(text))
    if archived is True:
        query = query.where(Renovation.archived_at.is_null(False))
    elif archived is False:
        query = query.where(Renovation.archived_at.is_null())
    return query.order_by(Renovation.created_at.desc())


def age_days(moment, today=None):
    today = today or clock.today(_tz())
    return (today - clock.to_local(moment, _tz()).date()).days


def dossier(renovation, as_of=None):
    """Everything the escalation dossier prints: the record, violations with photos, notices with their
    service, re-checks, referrals. With `as_of` (the referral's time) it is the case as it was sent:
    nothing recorded later, each violation in the state it then had (a later 已结案 would contradict
    the letter above it)."""
    violations = list(renovation.violations.where(Violation.voided_at.is_null()).order_by(Violation.at))
    notices = list(RectificationNotice.live().where(RectificationNotice.renovation == renovation)
                   .order_by(RectificationNotice.issued_at))
    referrals = list(renovation.referrals.order_by(Referral.sent_at))
    states = {}
    if as_of is not None:
        violations = [v for v in violations if v.at <= as_of]
        notices = [n for n in notices if n.issued_at <= as_of]
        referrals = [r for r in referrals if r.sent_at <= as_of]
        for event in (events.Event.select().where((events.Event.record_type == "violation")
                                                   & events.Event.record_id.in_([v.id for v in violations])
                                                   & (events.Event.at <= as_of) & (events.Event.to_state != ""))
                      .order_by(events.Event.at, events.Event.id)):
            states[event.record_id] = event.to_state
    rows = []
    for v in violations:
        its_notices = [n for n in notices_of(v) if as_of is None or n.issued_at <= as_of]
        rows.append((v, photos_of(v), its_notices))
    return {
        "renovation": renovation,
        "violations": rows,
        "states": {v.id: states.get(v.id, v.state_label) for v, _p, _n in rows},
        "as_of": as_of,
        "notices": notices,
        "referrals": referrals,
        "documents": list(uploads.Photo.of(renovation)),
    }


def letter_for(renovation, violations):
    """A cover letter that names the case: each breach with its day and the clause it breaks, the
    dissuasion, the notices and how they were served, the re-check; the body's name goes above it."""
    tz = _tz()

    def day(moment):
        return clock.format_cn_date(clock.to_local(moment, tz).date())

    company = f"委托{renovation.company}" if renovation.company else ""
    lines = [f"本小区 {renovation.household.code} 业主{renovation.owner_name}{company}进行装修施工，"
             f"服务中心现场巡查发现下列违规行为："]
    for n, v in enumerate(violations, 1):
        text = f"{n}. {day(v.at)}，{v.kind}：{v.description.rstrip('。')}"
        if v.clause:
            text += f"，违反{v.clause}"
        if v.dissuaded_at:
            text += f"；当场劝阻，{v.dissuade_outcome or '未予改正'}"
        for notice in notices_of(v):
            if notice.is_served:
                how = f"拒签，{notice.witness}见证" if notice.refused else f"{notice.served_to}签收"
                text += f"；{day(notice.served_at)}送达整改通知书{notice.number}（{how}），限{clock.format_cn_date(notice.deadline)}前整改"
            else:
                text += f"；已开具整改通知书{notice.number}"
        if v.recheck_at:
            text += f"；{day(v.recheck_at)}复查，{'已整改' if v.recheck_complied else '仍未整改'}"
        lines.append(text + "。")
    lines.append("现将装修登记、违规记录及照片、整改通知书及送达记录、复查情况一并呈报，恳请贵单位依法依规予以处理。")
    lines.append("特此函告。")
    return "\n".join(lines)


# The estate's clauses and templates

def clauses():
    """The estate's decoration-agreement clauses, in its order."""
    row = RenovationTerm.get_or_none(RenovationTerm.key == "clauses")
    return [line for line in (row.text.splitlines() if row else DEFAULT_CLAUSES) if line.strip()]


def demands():
    """{violation type: its 整改要求 template}."""
    kept = {t.key.split(":", 1)[1]: t.text for t in RenovationTerm.select().where(RenovationTerm.key.startswith("demand:"))}
    return {kind: kept.get(kind) or DEFAULT_DEMANDS.get(kind, DEFAULT_DEMANDS["其他"]) for kind in VIOLATION_TYPES}


def save_terms(actor, clause_text, demand_texts):
    """The administrator's clauses (one a line) and templates ({type: text}); an empty template goes
    back to the default."""
    lines = [line.strip() for line in (clause_text or "").splitlines() if line.strip()]
    if not lines:
        raise RenovationError("请至少写一条协议条款", "clauses")
    if any(len(line) > 300 for line in lines):
        raise RenovationError("每条条款不能超过 300 个字", "clauses")
    with database.atomic():
        for key, value in [("clauses", "\n".join(lines))] + [
                (f"demand:{kind}", _text(demand_texts.get(kind, ""), 500, f"{kind}的整改要求", "demands"))
                for kind in VIOLATION_TYPES]:
            RenovationTerm.insert(key=key, text=value).on_conflict(
                conflict_target=[RenovationTerm.key], update={RenovationTerm.text: value}).execute()
        events.record(actor, RenovationTerm.get(RenovationTerm.key == "clauses"), "修改装修协议条款与整改要求",
                      note=f"{len(lines)} 条条款")


def type_for_item(item_text):
    """The violation type a failed checklist item names ("施工时间符合规定" → 超时施工), else 其他."""
    for kind, words in TYPE_WORDS:
        if any(word in item_text for word in words):
            return kind
    return "其他"


def owner_wording(item_text, note=""):
    """A failed checklist item as the owner reads it: "施工时间符合规定" → "施工时间不符合规定：<note>"."""
    text = item_text.strip()
    if "符合" in text and "不符合" not in text:
        text = text.replace("符合", "不符合", 1)
    elif text.startswith("无"):
        text = "发现" + text[1:]
    elif "已" in text:
        text = text.replace("已", "未", 1)
    elif "及时" in text:
        text = text.replace("及时", "未及时", 1)
    else:
        text += "不到位"
    return f"{text}：{note.strip()}" if note and note.strip() else text


def _pairs(text):
    return {text[i:i + 2] for i in range(len(text) - 1)}


def clause_for(kind, item_text=""):
    """The estate's clause that best fits a violation (sharing the most words with its type's words and
    the item), or "" when none shares any."""
    words = dict(TYPE_WORDS).get(kind, ())
    wanted = set().union(*(_pairs(w) for w in words), _pairs(item_text)) if words or item_text else set()
    scored = [(len(wanted & _pairs(c)), -i, c) for i, c in enumerate(clauses())]
    best = max(scored, default=(0, 0, ""))
    return best[2] if best[0] >= 2 else ""


def demand_for(violations):
    """The 整改要求 for a notice: each violation type's template, once each."""
    templates = demands()
    return "".join(dict.fromkeys(templates[v.kind] for v in violations if v.kind in templates)) or \
        DEFAULT_DEMANDS["其他"]


def default_deadline(days=3):
    return clock.today(_tz()) + datetime.timedelta(days=days)
