"""On-site quality patrols (现场品质监督): checkpoints with QR stickers, checklists, checks, findings
that become rectification orders (整改单), observations, and what the day's coverage still owes.

A check belongs to the estate-local day it was made on. Coverage asks, per checkpoint, whether it
was checked within its interval (security posts, renovations and shops: the estate's daily rules;
public places: each its own interval), and for renovations whether a check fell inside the
no-noise window. The checkpoint keeps the last day it was checked (and checked inside the window)
so today's board reads one table; the history reads the checks.
"""
import datetime
import json
import secrets

import peewee

from . import clock
from . import events
from . import idempotency
from . import lifecycle
from . import uploads
from . import workorders
from .db import BaseModel
from .db import Prepared
from .db import flag
from .db import is_sqlite
from .db import RuleError
from .db import VersionedMixin
from .db import VoidableMixin
from .db import database
from .db import rows
from .estate import Household
from .estate import Place
from .estate import Zone
from .estate import current_tz as _tz
from .users import Unit
from .users import User

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
DAYS_RANGE = "应在 1–90 天之间"
FIX_NOTE_MISSING = "请写明当场如何解决"
OBSERVATION_MISSING = "请写明需关注的情况"
RESULT_MISSING = "请写明结果"

KINDS = {"security": "安保岗位", "public": "公共部位", "renovation": "装修户", "shop": "商铺"}
DAILY_KINDS = ("security", "renovation", "shop")
OFFLINE_HOURS = 24  # how long a phone may keep a check made without signal
CLOCK_SKEW = datetime.timedelta(minutes=5)  # a phone's clock a little ahead of the server's
ANSWERS = {"ok": "合格", "fail": "不合格", "na": "不适用"}
VIA = {"scan": "扫码", "list": "列表"}
FINDING_STATES = {"open": "待处理", "ordered": "整改中", "noticed": "已发整改通知书", "recorded": "已记为装修违规",
                  "observed": "需关注中", "done": "已整改", "fixed": "当场解决", "closed": "已了结"}
FINDING_OPEN = ("open", "ordered", "noticed", "recorded", "observed")
# What a finding can be handed on to (once, to one thing): its typed link's kinds, as record types.
HANDED_TO = {"workorder": "ordered", "shopnotice": "noticed", "violation": "recorded", "observation": "observed"}

# Seeded from the manual (三-2/3); the administrator edits them.
CHECKLISTS = [
    ("security", "安保岗位", "security", ["在岗在位", "着装规范", "交接班记录完整", "对讲机等设备完好", "岗位整洁",
                                       "来访登记"]),
    ("facility", "楼道及公共设施", "public", ["地面清洁", "墙面无污损", "照明正常", "消防设施完好", "无杂物堆放",
                                        "门窗完好"]),
    ("greenery", "绿化", "public", ["无死苗", "无杂草", "无病虫害", "修剪及时", "无垃圾"]),
    ("shop", "商铺", "shop", ["消防安全", "环境卫生", "铺面及物品摆放整齐", "无违章设摊", "无不良经营行为",
                            "油烟排放", "噪音", "招牌广告灯箱整洁及安全"]),
    ("renovation", "装修户", "renovation", ["施工时间符合规定", "无拆改承重结构", "装修垃圾及时清运", "公共部位已保护",
                                        "消防器材配备", "噪音控制", "施工人员证件"]),
]


# The steps whose photo the estate may require, per kind of record: "step:kind" → label.
PHOTO_STEPS = {
    "report:finding": "整改单报完成须附整改后照片",
    "inspect:finding": "整改单验收（复查）须拍照",
    "report:ticket": "诉求派工单报完成须附处理后照片",
    "recheck:renovation": "装修违规复查须拍照",
}


class PatrolError(RuleError):
    pass


class PatrolRules(VersionedMixin, BaseModel):
    """The estate's patrol rules (one row): the no-noise window and how often each kind is due."""

    quiet_start = peewee.TimeField(default=datetime.time(12, 0))
    quiet_end = peewee.TimeField(default=datetime.time(14, 0))
    security_days = peewee.IntegerField(default=1)
    renovation_days = peewee.IntegerField(default=1)
    shop_days = peewee.IntegerField(default=1)
    public_days = peewee.IntegerField(default=7)  # the interval a new public place starts with
    renovation_in_window = peewee.BooleanField(default=True)
    # Which steps need a photo (migration 17): keys of PHOTO_STEPS, comma-separated.
    photo_steps = peewee.CharField(max_length=200, default="report:finding",
                                   constraints=[peewee.SQL("DEFAULT 'report:finding'")])

    @classmethod
    def current(cls):
        return cls.by_id(1) or cls.create(id=1)

    def needs_photo(self, step):
        return step in self.photo_steps.split(",")

    def days_for(self, checkpoint):
        if checkpoint.kind == "public":
            return checkpoint.interval_days
        return getattr(self, f"{checkpoint.kind}_days")

    def in_window(self, local_time):
        return self.quiet_start <= local_time < self.quiet_end

    @property
    def window_label(self):
        return f"{self.quiet_start:%H:%M}–{self.quiet_end:%H:%M}"


class Checklist(VoidableMixin, VersionedMixin, BaseModel):
    code = peewee.CharField(max_length=20, unique=True)
    name = peewee.CharField(max_length=40)
    kind = peewee.CharField(max_length=12)  # the checkpoint kind it is meant for
    sort = peewee.IntegerField(default=0)

    def live_items(self):
        return (ChecklistItem.select().where((ChecklistItem.checklist == self) & ChecklistItem.voided_at.is_null())
                .order_by(ChecklistItem.sort, ChecklistItem.id))


class ChecklistItem(VoidableMixin, BaseModel):
    checklist = peewee.ForeignKeyField(Checklist, backref="items", on_delete="RESTRICT")
    text = peewee.CharField(max_length=60)
    sort = peewee.IntegerField(default=0)


class Checkpoint(VoidableMixin, VersionedMixin, BaseModel):
    """巡查点: a place the assistant must check, with its sticker's token."""

    kind = peewee.CharField(max_length=12)
    # 120 (migration 19): a place's name whole, or a shop's "铺位号 店名（商铺id）" (kefu/shops.py).
    name = peewee.CharField(max_length=120)
    zone = peewee.ForeignKeyField(Zone, backref="checkpoints", on_delete="RESTRICT")
    place = peewee.ForeignKeyField(Place, null=True, backref="checkpoints", on_delete="RESTRICT")
    household = peewee.ForeignKeyField(Household, null=True, backref="checkpoints", on_delete="RESTRICT")
    unit = peewee.ForeignKeyField(Unit, null=True, backref="checkpoints", on_delete="RESTRICT")
    checklist = peewee.ForeignKeyField(Checklist, backref="checkpoints", on_delete="RESTRICT")
    interval_days = peewee.IntegerField(default=1)
    token = peewee.CharField(max_length=40, unique=True)
    note = peewee.TextField(default="")
    # A renovation or shop register entry this checkpoint stands for (filled by those areas).
    source_type = peewee.CharField(max_length=20, default="")
    source_id = peewee.IntegerField(null=True)
    active_from = peewee.DateField(null=True)
    active_until = peewee.DateField(null=True)
    last_day = peewee.DateField(null=True)
    last_window_day = peewee.DateField(null=True)
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("zone", "kind"), False), (("source_type", "source_id"), False))


    @property
    def kind_label(self):
        return KINDS.get(self.kind, self.kind)

    def active_on(self, day, tz):
        """Whether the checkpoint is owed checks on `day` (it existed, wasn't voided, is in its dates)."""
        if clock.to_local(self.created_at, tz).date() > day:
            return False
        if self.voided_at is not None and clock.to_local(self.voided_at, tz).date() <= day:
            return False
        if self.active_from is not None and day < self.active_from:
            return False
        return self.active_until is None or day <= self.active_until

    def covered_on(self, day, rules):
        """Checked within its interval, counting back from `day` (today's board)."""
        return self.last_day is not None and (day - self.last_day).days < rules.days_for(self)

    def window_covered_on(self, day):
        return self.last_window_day == day


# The coverage board reads every live checkpoint of a zone; this index holds all it reads, so the
# board never touches the table itself (a zone keeps every renovation it ever had).
Checkpoint.add_index(Checkpoint.index(
    Checkpoint.zone, Checkpoint.kind, Checkpoint.last_day, Checkpoint.last_window_day, Checkpoint.interval_days,
    Checkpoint.active_from, Checkpoint.active_until, Checkpoint.created_at, where=Checkpoint.voided_at.is_null(),
    name="checkpoint_live_board"))


def checks_on_days(first, last):
    """Checks made on the local days `first` to `last`. A check's day is the estate's local date of its
    time; the time's bounds (a day wider on each side) let the database read each checkpoint's checks
    of those days by its (checkpoint, at) index instead of its whole history."""
    tz = _tz()
    low = clock.day_bounds(first - datetime.timedelta(days=1), tz)[0]
    high = clock.day_bounds(last + datetime.timedelta(days=1), tz)[1]
    return (Check.day >= first) & (Check.day <= last) & (Check.at >= low) & (Check.at < high)


class Check(BaseModel):
    """巡查记录: one filled checklist at one checkpoint."""

    checkpoint = peewee.ForeignKeyField(Checkpoint, backref="checks", on_delete="RESTRICT")
    by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    at = peewee.DateTimeField()
    day = peewee.DateField()
    via = peewee.CharField(max_length=6)
    in_window = peewee.BooleanField(default=False)
    # [[item_id, item text as it read then, answer, note], …]: the checklist may change later.
    answers = peewee.TextField(default="[]")
    failed = peewee.IntegerField(default=0)
    note = peewee.TextField(default="")

    class Meta:
        indexes = ((("checkpoint", "at"), False), (("by", "day"), False), (("day", "checkpoint"), False))

    @property
    def answer_rows(self):
        return [{"item_id": i, "text": t, "answer": a, "label": ANSWERS.get(a, a), "note": n}
                for i, t, a, n in json.loads(self.answers or "[]")]

    @property
    def via_label(self):
        return VIA.get(self.via, self.via)


class Finding(VersionedMixin, BaseModel):
    """问题: one 不合格 item of a check, followed until it is fixed."""

    check = peewee.ForeignKeyField(Check, backref="findings", on_delete="RESTRICT")
    checkpoint = peewee.ForeignKeyField(Checkpoint, backref="findings", on_delete="RESTRICT")
    zone = peewee.ForeignKeyField(Zone, backref="+", on_delete="RESTRICT")
    item_text = peewee.CharField(max_length=60)
    note = peewee.TextField(default="")
    state = peewee.CharField(max_length=10, default="open")
    # The one thing the finding was handed on to: a record type of HANDED_TO and its id.
    handed_to = peewee.CharField(max_length=20, default="", constraints=[peewee.SQL("DEFAULT ''")])
    handed_id = peewee.IntegerField(null=True)
    resolution = peewee.TextField(default="")
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()
    resolved_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("zone", "state", "created_at"), False), (("checkpoint", "state", "created_at"), False),
                   (("state", "created_at"), False))  # the supervisor's open findings, every zone

    @property
    def state_label(self):
        return FINDING_STATES.get(self.state, self.state)

    @property
    def is_open(self):
        return self.state in FINDING_OPEN

    @property
    def work_order_id(self):
        return self.handed_id if self.handed_to == "workorder" else None

    @property
    def description(self):
        """What the work order and the printed 整改单 say the problem is."""
        return f"{self.checkpoint.name}：{self.item_text}不合格" + (f"，{self.note}" if self.note else "")


class Observation(VoidableMixin, VersionedMixin, BaseModel):
    """需关注 / 异常情况: something to keep an eye on, listed until closed."""

    zone = peewee.ForeignKeyField(Zone, backref="+", on_delete="RESTRICT")
    checkpoint = peewee.ForeignKeyField(Checkpoint, null=True, backref="observations", on_delete="RESTRICT")
    finding = peewee.ForeignKeyField(Finding, null=True, backref="observations", on_delete="RESTRICT")
    what = peewee.TextField()
    where = peewee.CharField(max_length=120)
    follow_up_by = peewee.DateField(null=True)
    state = peewee.CharField(max_length=8, default="open")
    close_note = peewee.TextField(default="")
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()
    closed_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("zone", "state", "follow_up_by"), False),)

    @property
    def state_label(self):
        return "已关闭" if self.state == "closed" else "关注中"


MODELS = [PatrolRules, Checklist, ChecklistItem, Checkpoint, Check, Finding, Observation]

CLOSE_OBSERVATION = "close"
OBSERVATIONS = lifecycle.Machine(Observation, "需关注", {"open": "关注中", "closed": "已关闭"}, [
    lifecycle.step(CLOSE_OBSERVATION, "关闭需关注", "open", "closed", ("assistant", "supervisor")),
], open_states=("open",), error=PatrolError)


def seed():
    """The manual's checklists, once; the administrator edits them afterwards."""
    PatrolRules.current()
    if Checklist.select().exists():
        return
    with database.atomic():
        for sort, (code, name, kind, items) in enumerate(CHECKLISTS):
            checklist = Checklist.create(code=code, name=name, kind=kind, sort=sort)
            for n, text in enumerate(items):
                ChecklistItem.create(checklist=checklist, text=text, sort=n)



def local_day(moment_utc, tz=None):
    """The estate-local day of a stored (naive UTC) moment."""
    return clock.to_local(moment_utc, tz or _tz()).date()


# Checklists

def checklists():
    return list(Checklist.live().order_by(Checklist.sort, Checklist.id))


def add_item(actor, checklist, text):
    text = (text or "").strip()
    if not text:
        raise PatrolError("请填写检查项", "text")
    if len(text) > 60:
        raise PatrolError("检查项不能超过 60 个字", "text")
    if any(item.text == text for item in checklist.live_items()):
        raise PatrolError("该检查项已存在", "text")
    last = checklist.live_items().order_by(ChecklistItem.sort.desc()).first()
    with database.atomic():
        item = ChecklistItem.create(checklist=checklist, text=text, sort=(last.sort + 1) if last else 0)
        events.record(actor, checklist, "新增检查项", note=text)
    return item


def rename_item(actor, item, text):
    text = (text or "").strip()
    if not text:
        raise PatrolError("请填写检查项", "text")
    if len(text) > 60:
        raise PatrolError("检查项不能超过 60 个字", "text")
    with database.atomic():
        before = item.text
        ChecklistItem.update(text=text).where(ChecklistItem.id == item.id).execute()
        events.record(actor, item.checklist, "修改检查项", note=f"{before} → {text}")


def move_item(actor, item, step):
    """Move an item up (-1) or down (+1) its checklist."""
    items = list(item.checklist.live_items())
    index = next(i for i, it in enumerate(items) if it.id == item.id)
    other = index + step
    if not 0 <= other < len(items):
        return
    items[index], items[other] = items[other], items[index]
    with database.atomic():
        for sort, it in enumerate(items):
            ChecklistItem.update(sort=sort).where(ChecklistItem.id == it.id).execute()


def void_item(actor, item):
    if item.checklist.live_items().count() <= 1:
        raise PatrolError("检查表至少要保留一项")
    with database.atomic():
        ChecklistItem.update(voided_at=clock.utcnow(), void_reason="管理员删除").where(
            ChecklistItem.id == item.id).execute()
        events.record(actor, item.checklist, "删除检查项", note=item.text)


def update_rules(actor, expected_version, **values):
    """Change the no-noise window and the daily rules."""
    rules = PatrolRules.current()
    if values["quiet_start"] >= values["quiet_end"]:
        raise PatrolError("结束时间须晚于开始时间", "quiet_end")
    for name in ("security_days", "renovation_days", "shop_days", "public_days"):
        if not 1 <= values[name] <= 90:
            raise PatrolError(DAYS_RANGE, name)
    if "photo_steps" in values:
        values["photo_steps"] = ",".join(step for step in PHOTO_STEPS if step in (values["photo_steps"] or ()))
    for name, value in values.items():
        setattr(rules, name, value)
    with database.atomic():
        rules.save_versioned(expected_version, *values)
        events.record(actor, rules, "修改巡查规则",
                      note=f"无噪音施工时段 {rules.window_label}；安保岗位每 {rules.security_days} 天、装修户每 "
                           f"{rules.renovation_days} 天、商铺每 {rules.shop_days} 天至少一次；公共部位默认每 "
                           f"{rules.public_days} 天；须拍照："
                           + ("、".join(PHOTO_STEPS[s] for s in rules.photo_steps.split(",") if s in PHOTO_STEPS) or "无"))
    return rules


# Checkpoints

def _new_token():
    return secrets.token_urlsafe(16)


def create_checkpoint(actor, *, kind, name, zone, checklist, unit=None, place=None, household=None,
                      interval_days=None, note="", source_type="", source_id=None, active_from=None,
                      active_until=None):
    """A new checkpoint with a fresh sticker token."""
    if kind not in KINDS:
        raise PatrolError("请选择巡查点类型", "kind")
    rules = PatrolRules.current()
    interval_days = (interval_days or rules.public_days) if kind == "public" else getattr(rules, f"{kind}_days")
    name = _checked_fields(None, kind, name, zone, checklist, unit, interval_days)
    with database.atomic():
        checkpoint = Checkpoint.create(
            kind=kind, name=name, zone=zone, checklist=checklist, unit=unit, place=place, household=household,
            interval_days=interval_days, token=_new_token(), note=(note or "").strip(), source_type=source_type,
            source_id=source_id, active_from=active_from, active_until=active_until, created_by=actor,
            created_at=clock.utcnow())
        events.record(actor, checkpoint, "新建巡查点",
                      note=f"{checkpoint.kind_label} · {zone.name} · {checklist.name}"
                           + (f" · 责任：{unit.name}" if unit else ""))
    return checkpoint


def _checked_fields(checkpoint, kind, name, zone, checklist, unit, interval_days):
    """Refuse what a checkpoint can't be saved with; returns the trimmed name."""
    name = (name or "").strip()
    if not name:
        raise PatrolError("请填写巡查点名称", "name")
    if len(name) > Checkpoint.name.max_length:
        raise PatrolError(f"名称不能超过 {Checkpoint.name.max_length} 个字", "name")
    if zone is None or zone.voided_at is not None:
        raise PatrolError("请选择管辖区域", "zone")
    if checklist is None or checklist.voided_at is not None:
        raise PatrolError("请选择检查表", "checklist")
    if unit is not None and unit.voided_at is not None:
        raise PatrolError("请选择责任业务块", "unit")
    if kind == "public" and not 1 <= (interval_days or 0) <= 90:
        raise PatrolError("巡查周期应在 1–90 天之间", "interval_days")
    same_name = Checkpoint.live().where((Checkpoint.zone == zone) & (Checkpoint.name == name))
    if checkpoint is not None:
        same_name = same_name.where(Checkpoint.id != checkpoint.id)
    if same_name.exists():
        raise PatrolError("本区域已有同名巡查点", "name")
    return name


def update_checkpoint(actor, checkpoint, expected_version, *, name, zone, checklist, unit, interval_days, note):
    name = _checked_fields(checkpoint, checkpoint.kind, name, zone, checklist, unit, interval_days)
    before = _summary(checkpoint)
    checkpoint.name, checkpoint.zone, checkpoint.checklist, checkpoint.unit = name, zone, checklist, unit
    checkpoint.note = (note or "").strip()
    if checkpoint.kind == "public":
        checkpoint.interval_days = interval_days
    with database.atomic():
        checkpoint.save_versioned(expected_version, "name", "zone", "checklist", "unit", "note", "interval_days")
        events.record(actor, checkpoint, "修改巡查点", note=f"{before} → {_summary(checkpoint)}")
    return checkpoint


def _summary(checkpoint):
    unit = checkpoint.unit.name if checkpoint.unit_id else "无"
    every = f" · 每 {checkpoint.interval_days} 天" if checkpoint.kind == "public" else ""
    return f"{checkpoint.name} · {checkpoint.zone.name} · {checkpoint.checklist.name} · 责任：{unit}{every}"


def new_sticker(actor, checkpoint):
    """Replace a lost or copied sticker: the old code stops working."""
    with database.atomic():
        Checkpoint.update(token=_new_token(), version=Checkpoint.version + 1).where(
            Checkpoint.id == checkpoint.id).execute()
        events.record(actor, checkpoint, "重新生成二维码", note="旧贴纸作废")
    return Checkpoint.get_by_id(checkpoint.id)


def by_token(token):
    """The live checkpoint a sticker's code stands for, or None (a voided checkpoint opens nothing)."""
    if not token or len(token) > 40:
        return None
    return Checkpoint.live().where(Checkpoint.token == token).first()


# Checks

def record_check(actor, checkpoint, via, answers, note="", photos=None, token=None, made_at=None):
    """Save one filled checklist. `answers` maps item id → (answer, note); every 不合格 item becomes a
    finding (its note is required) with the photos given for it in `photos` (item id → [Photo]).

    `made_at` (naive UTC): when a check filled in without signal was really made, the phone having
    kept it until the signal came back. The check counts for that time (its day, the no-noise
    window); its timeline says when it arrived. At most OFFLINE_HOURS old, never in the future.

    Returns (check, created): a resent form returns the check made the first time.
    """
    if checkpoint.voided_at is not None:
        raise PatrolError("该巡查点已作废")
    if via not in VIA:
        raise PatrolError("来源无效")
    items = list(checkpoint.checklist.live_items())
    rows, errors = [], {}
    for item in items:
        answer, item_note = answers.get(item.id, ("", ""))
        item_note = (item_note or "").strip()[:500]
        if answer not in ANSWERS:
            errors[item.id] = "请选择合格、不合格或不适用"
        elif answer == "fail" and not item_note:
            errors[item.id] = "请写明问题"
        rows.append([item.id, item.text, answer, item_note])
    if errors:
        error = PatrolError("有检查项未填好", "answers")
        error.items = errors
        raise error
    photos = photos or {}
    received = clock.utcnow()
    now = received if made_at is None else made_at
    if not received - datetime.timedelta(hours=OFFLINE_HOURS) <= now <= received + CLOCK_SKEW:
        raise PatrolError(f"离线保存的巡查只能在 {OFFLINE_HOURS} 小时内提交，这次的时间不对，请重新巡查", "made_at")
    tz = _tz()
    local = clock.to_local(now, tz)
    rules = PatrolRules.current()
    with database.atomic():
        earlier = idempotency.claim(token, Check)
        if earlier is not None:
            return Check.get_by_id(earlier.record_id), False
        failed = [row for row in rows if row[2] == "fail"]
        check = Check.create(checkpoint=checkpoint, by=actor, at=now, day=local.date(), via=via,
                             in_window=rules.in_window(local.time().replace(tzinfo=None)),
                             answers=json.dumps(rows, ensure_ascii=False), failed=len(failed),
                             note=(note or "").strip()[:1000])
        for item_id, text, _, item_note in failed:
            finding = Finding.create(check=check, checkpoint=checkpoint, zone=checkpoint.zone_id, item_text=text,
                                     note=item_note, created_by=actor, created_at=now)
            item_photos = list(photos.get(item_id, ()))
            uploads.attach(item_photos, finding)
            events.record(actor, finding, "巡查发现问题", to_state=finding.state_label, note=finding.description,
                          **({"photo_ids": [p.id for p in item_photos]} if item_photos else {}))
        last = {Checkpoint.last_day: check.day}
        if check.in_window:
            last[Checkpoint.last_window_day] = check.day
        # Only forward: a check can't move the last day back.
        Checkpoint.update(last).where((Checkpoint.id == checkpoint.id)
                                      & (Checkpoint.last_day.is_null() | (Checkpoint.last_day <= check.day))).execute()
        # On the check itself: the checkpoint's own timeline keeps to its set-up (its checks are its history).
        events.record(actor, check, "巡查", note=f"{checkpoint.name}：{check.via_label}巡查，"
                      + (f"{len(failed)} 项不合格：{'、'.join(r[1] for r in failed)}" if failed else "全部合格")
                      + ("（无噪音时段内）" if check.in_window and checkpoint.kind == "renovation" else "")
                      + (f"；无信号时记录于 {local:%H:%M}，信号恢复后提交" if made_at is not None else ""))
        idempotency.remember(token, check)
    return check, True


def history(checkpoint, limit=20, offset=0):
    """A checkpoint's checks, newest first, with who made them (by_name)."""
    return _HISTORY(checkpoint.id, limit, offset)


_HISTORY = Prepared(Check, lambda checkpoint_id, limit, offset: (
    Check.select(Check, User.display_name.alias("by_name")).join(User, on=(Check.by == User.id))
    .where(Check.checkpoint == checkpoint_id).order_by(Check.at.desc(), Check.id.desc()).limit(limit).offset(offset)),
    -1, -2, -3)


def with_names(checkpoint_id):
    """One live checkpoint with zone_name, checklist_name, unit_name and household_code, or None."""
    return next(iter(_WITH_NAMES(checkpoint_id)), None)


_WITH_NAMES = Prepared(Checkpoint, lambda checkpoint_id: (
    Checkpoint.select(Checkpoint, Zone.name.alias("zone_name"), Checklist.name.alias("checklist_name"),
                      Unit.name.alias("unit_name"), Household.code.alias("household_code"))
    .join_from(Checkpoint, Zone).join_from(Checkpoint, Checklist)
    .join_from(Checkpoint, Unit, peewee.JOIN.LEFT_OUTER).join_from(Checkpoint, Household, peewee.JOIN.LEFT_OUTER)
    .where((Checkpoint.id == checkpoint_id) & Checkpoint.voided_at.is_null())), -1)


# Findings

ORDER, FIX, WATCH, NOTICE, RECORD_VIOLATION, SETTLE, RETURN = (
    "order", "fix", "watch", "notice", "record_violation", "settle", "return")
_PATROLLERS = ("assistant", "supervisor")

FINDINGS = lifecycle.Machine(Finding, "问题", FINDING_STATES, [
    lifecycle.step(ORDER, "派整改单", "open", "ordered", _PATROLLERS),
    lifecycle.step(FIX, "当场解决", "open", "fixed", _PATROLLERS),
    lifecycle.step(WATCH, "转为需关注", "open", "observed", _PATROLLERS),
    lifecycle.step(NOTICE, "开具整改通知书", "open", "noticed", _PATROLLERS),
    lifecycle.step(RECORD_VIOLATION, "记为装修违规", "open", "recorded", _PATROLLERS),
    # What it was handed to ended: done (accepted, complied) or settled otherwise; or it came back.
    lifecycle.step(SETTLE, "了结", ("ordered", "noticed", "recorded", "observed"), ("done", "closed")),
    lifecycle.step(RETURN, "退回待处理", ("ordered", "noticed", "recorded", "observed"), "open"),
], open_states=FINDING_OPEN, error=PatrolError)
HAND_OFF_WITHIN = datetime.timedelta(days=1)  # a problem found on patrol is handed on within the day
FINDINGS.wait("finding.hand_off", "待处理问题", "open", "assistant", lambda f: f.created_at + HAND_OFF_WITHIN)

_HAND_OFF = {"workorder": ORDER, "shopnotice": NOTICE, "violation": RECORD_VIOLATION, "observation": WATCH}


def hand_off_refusal(actor, finding, record_type):
    """Why `finding` can't be handed on to a record of `record_type` now, or None."""
    refused = FINDINGS.refusal(finding, _HAND_OFF[record_type], actor.role)
    if refused and finding.handed_to and finding.state in FINDING_OPEN:
        step = FINDINGS.step(_HAND_OFF[record_type])
        return f"该问题已移交（{finding.state_label}），一个问题只移交一次，不能再{step.label}"
    return refused


def hand_off(actor, finding, expected_version, record, note=""):
    """The finding goes on to `record` (a work order, a shop's notice, a renovation violation, an
    observation), once: a second hand-off while one is live is refused. Call inside the transaction
    that makes `record`."""
    record_type, record_id = events.record_key(record)
    return FINDINGS.transition(actor, finding, expected_version, _HAND_OFF[record_type], note=note,
                               handed_to=record_type, handed_id=record_id)


def handed(record):
    """The live finding handed on to `record`, or None."""
    record_type, record_id = events.record_key(record)
    return Finding.get_or_none((Finding.handed_to == record_type) & (Finding.handed_id == record_id)
                               & Finding.state.in_(FINDING_OPEN[1:]))


def settle(actor, record, label, done, note=""):
    """What a finding was handed on to has ended: `done` (the work accepted, the notice complied with)
    makes it 已整改, otherwise 已了结; the same for every kind of hand-off."""
    finding = handed(record)
    if finding is None:
        return None
    return FINDINGS.transition(actor, finding, finding.version, SETTLE, to="done" if done else "closed", label=label,
                               as_system=True, note=note, resolution=note, resolved_at=clock.utcnow())


def give_back(actor, record, label, note=""):
    """What a finding was handed on to won't deal with it (cancelled, voided, not complied with): the
    finding is 待处理 again, for its next step."""
    finding = handed(record)
    if finding is None:
        return None
    return FINDINGS.transition(actor, finding, finding.version, RETURN, label=label, as_system=True, note=note,
                               handed_to="", handed_id=None)


def raise_order(actor, finding, expected_version, unit, instructions, deadline):
    """整改单: the finding goes to the responsible unit as a work order, inspected until done."""
    refused = hand_off_refusal(actor, finding, "workorder")
    if refused:
        raise PatrolError(refused)
    if isinstance(deadline, datetime.datetime):
        workorders.check_in_service_hours(deadline, PatrolError)
    with database.atomic():
        order = workorders.dispatch(actor, finding, "finding", unit, instructions, deadline,
                                    zone_id=finding.zone_id, location=finding.checkpoint.name, title="整改单",
                                    prefix="ZG")
        finding = hand_off(actor, finding, expected_version, order, note=f"{order.number} → {unit.name}")
    return finding, order


def fix_on_the_spot(actor, finding, expected_version, note):
    note = (note or "").strip()
    if not note:
        raise PatrolError(FIX_NOTE_MISSING, "note")
    with database.atomic():
        return FINDINGS.transition(actor, finding, expected_version, FIX, note=note, resolution=note,
                                   resolved_at=clock.utcnow())


def to_observation(actor, finding, expected_version, follow_up_by=None, note=""):
    """Keep watching instead of ordering work: the finding goes on to an observation, and is settled
    when the observation is closed."""
    refused = hand_off_refusal(actor, finding, "observation")
    if refused:
        raise PatrolError(refused)
    with database.atomic():
        what = f"{finding.item_text}不合格" + (f"，{finding.note}" if finding.note else "")
        observation = observe(actor, finding.checkpoint.zone, what, finding.checkpoint.name, follow_up_by,
                              checkpoint=finding.checkpoint, finding=finding)
        finding = hand_off(actor, finding, expected_version, observation, note=(note or "").strip())
    return finding, observation


def _order_needs_photo(order, step):
    return PatrolRules.current().needs_photo(f"{step}:{order.source_type}")


workorders.PHOTO_RULES.append(_order_needs_photo)


def _on_work_order(change):
    """A rectification order's result comes back to its finding."""
    order = change.record
    if change.action == workorders.APPROVE:
        settle(change.actor, order, "整改验收通过", True, note=order.report_note or f"{order.number} 已验收")
    elif change.action == workorders.CANCEL:
        give_back(change.actor, order, "整改单撤销", note=change.note)
    else:
        finding = handed(order)
        if finding is not None:
            events.record(change.actor, finding, f"整改单{change.label}", note=change.note,
                          **({"photo_ids": list(change.photo_ids)} if change.photo_ids else {}))


workorders.on_change("finding", _on_work_order)


def open_findings(zone_ids, limit=None):
    """Findings still being dealt with in these zones, newest first, each with checkpoint_name."""
    query = (Finding.select(Finding, Checkpoint.name.alias("checkpoint_name")).join(Checkpoint)
             .where(Finding.zone.in_(zone_ids) & Finding.state.in_(FINDING_OPEN))
             .order_by(Finding.created_at.desc()).limit(limit))
    return rows(Finding, database.execute(query))


# Observations

def observe(actor, zone, what, where, follow_up_by=None, checkpoint=None, finding=None, photos=(), token=None):
    """Record something to keep an eye on; listed until closed (one made from a finding shows the
    finding's photos). Returns the observation (the first one again for a resent form)."""
    what = (what or "").strip()
    where = (where or "").strip()
    if zone is None or zone.voided_at is not None:
        raise PatrolError("请选择管辖区域", "zone")
    if not what:
        raise PatrolError(OBSERVATION_MISSING, "what")
    if not where:
        raise PatrolError("请写明位置", "where")
    if len(where) > 120:
        raise PatrolError("位置不能超过 120 个字", "where")
    if follow_up_by is not None and follow_up_by < clock.today(_tz()):
        raise PatrolError("跟进日期不能早于今天", "follow_up_by")
    with database.atomic():
        earlier = idempotency.claim(token, Observation)
        if earlier is not None:
            return Observation.get_by_id(earlier.record_id)
        observation = Observation.create(zone=zone, checkpoint=checkpoint, finding=finding, what=what, where=where,
                                         follow_up_by=follow_up_by, created_by=actor, created_at=clock.utcnow())
        photos = list(photos)
        uploads.attach(photos, observation)
        events.record(actor, observation, "记录需关注", to_state=observation.state_label, note=f"{where}：{what}",
                      **({"photo_ids": [p.id for p in photos]} if photos else {}))
        idempotency.remember(token, observation)
    return observation


def close_observation(actor, observation, expected_version, note):
    note = (note or "").strip()
    if not note:
        raise PatrolError(RESULT_MISSING, "note")
    with database.atomic():
        observation = OBSERVATIONS.transition(actor, observation, expected_version, CLOSE_OBSERVATION, note=note,
                                              close_note=note, closed_at=clock.utcnow())
        settle(actor, observation, "需关注已关闭", False, note=note)
    return observation


def open_observations(zone_ids, limit=None):
    """Observations still open in these zones, the soonest follow-up first."""
    query = (Observation.live().where(Observation.zone.in_(zone_ids) & (Observation.state == "open"))
             .order_by(Observation.follow_up_by.is_null(), Observation.follow_up_by, Observation.created_at)
             .limit(limit))
    return rows(Observation, database.execute(query))


# Coverage

GROUPS = [("security", "安保岗位"), ("renovation", "装修户"), ("shop", "商铺"), ("public", "公共部位")]
_BOARD_FIELDS = ("id", "kind", "name", "zone", "interval_days", "last_day", "last_window_day", "created_at",
                 "voided_at", "active_from", "active_until", "token")


def coverage_today(zone_ids, day=None, owed_limit=None, lists=True):
    """What the rules still require on `day` (today) in these zones, per kind:
    {kind: {"label", "total", "done", "owed": [checkpoints], "window_done", "window_owed", …}}.

    Public places count as owed when they fall due (not checked within their interval). Counting is
    done in SQL and only owed checkpoints are fetched (the most overdue first, at most `owed_limit`
    a kind; none with lists=False): after years a zone holds hundreds of places and every renovation
    ever registered.
    """
    tz = _tz()
    day = day or clock.today(tz)
    rules = PatrolRules.current()
    board = {kind: {"label": label, "total": 0, "done": 0, "owed": [], "owed_count": 0, "window_done": 0,
                    "window_owed": []} for kind, label in GROUPS}
    board["renovation"]["window_rule"] = rules.renovation_in_window
    if not zone_ids:
        return board
    since = [day - datetime.timedelta(days=getattr(rules, f"{kind}_days") - 1) for kind in DAILY_KINDS]
    zone_ids = list(zone_ids)
    # The day as a Julian day number: a public place is covered if julianday(last_day) > it − interval.
    values = (*zone_ids, day, day.toordinal() + 1721424.5, *since, clock.day_bounds(day, tz)[1])
    for row in _board_query("counts", len(zone_ids))(*values):
        group = board[row.kind]
        done = row.done or 0
        group.update(total=row.total, done=done, owed_count=row.total - done, window_done=row.window_done or 0)
    if not lists:
        return board
    query = _board_query("owed_window" if rules.renovation_in_window else "owed", len(zone_ids))
    for checkpoint in query(*values):
        group = board[checkpoint.kind]
        if not checkpoint.covered and (owed_limit is None or len(group["owed"]) < owed_limit):
            group["owed"].append(checkpoint)
        if checkpoint.kind == "renovation" and rules.renovation_in_window and checkpoint.last_window_day != day:
            group["window_owed"].append(checkpoint)
    return board


def _board_terms(zone_ids, day, day_julian, security_since, renovation_since, shop_since, day_end):
    """The board's shared pieces: which checkpoints are owed on `day`, and whether each is covered."""
    since = {"security": security_since, "renovation": renovation_since, "shop": shop_since}
    if is_sqlite():
        last_julian = peewee.fn.julianday(Checkpoint.last_day)
    else:  # PostgreSQL's Julian day number counts from noon, SQLite's julianday() from midnight
        last_julian = peewee.Cast(peewee.fn.to_char(Checkpoint.last_day, "J"), "integer") - 0.5
    covered = peewee.Case(Checkpoint.kind, [(kind, flag(Checkpoint.last_day >= since[kind])) for kind in DAILY_KINDS],
                          flag(last_julian > day_julian - Checkpoint.interval_days))
    owed_today = (Checkpoint.voided_at.is_null()
                  & Checkpoint.zone.in_(zone_ids)
                  & (Checkpoint.created_at < day_end)
                  & (Checkpoint.active_from.is_null() | (Checkpoint.active_from <= day))
                  & (Checkpoint.active_until.is_null() | (Checkpoint.active_until >= day)))
    in_window = flag(Checkpoint.last_window_day == day)
    return covered, owed_today, in_window


def _board_counts(*values):
    covered, owed_today, in_window = _board_terms(*values)
    return (Checkpoint.select(Checkpoint.kind, peewee.fn.COUNT(Checkpoint.id).alias("total"),
                              peewee.fn.SUM(covered).alias("done"), peewee.fn.SUM(in_window).alias("window_done"))
            .where(owed_today).group_by(Checkpoint.kind))


def _board_owed(window_rule):
    def build(*values):
        covered, owed_today, in_window = _board_terms(*values)
        wanted = covered == 0
        if window_rule:
            wanted = wanted | ((Checkpoint.kind == "renovation") & (in_window == 0))
        return (Checkpoint.select(*(getattr(Checkpoint, name) for name in _BOARD_FIELDS), covered.alias("covered"))
                .where(owed_today & wanted)
                .order_by(Checkpoint.kind, Checkpoint.last_day.is_null(False), Checkpoint.last_day, Checkpoint.name))
    return build


# Built by peewee once per query and number of zones (the CASE alone costs more to build than to run).
_BOARD_BUILDERS = {"counts": _board_counts, "owed": _board_owed(False), "owed_window": _board_owed(True)}
_BOARD_QUERIES = {}


def _board_query(name, zone_count):
    key = (name, zone_count)
    if key not in _BOARD_QUERIES:
        build = _BOARD_BUILDERS[name]
        example = (*range(-1, -zone_count - 1, -1), datetime.date(1901, 1, 1), -0.25, datetime.date(1901, 1, 2),
                   datetime.date(1901, 1, 3), datetime.date(1901, 1, 4), datetime.datetime(1901, 1, 5, 1, 2, 3))
        _BOARD_QUERIES[key] = Prepared(Checkpoint, lambda *values: build(list(values[:zone_count]),
                                                                         *values[zone_count:]), *example)
    return _BOARD_QUERIES[key]


COVERAGE_KINDS = (*DAILY_KINDS, "public")


def coverage_history(zone_ids, first_day, last_day):
    """Coverage per day from the checks themselves (the supervisor's weeks), public places included
    (covered on a day when checked within their interval ending that day):
    {day: {"groups": {kind: {"total", "done", "missed": [names], "scanned"}}, "window": {...},
    "missed": {kind or "window": [the checkpoints missed]}}}."""
    tz = _tz()
    rules = PatrolRules.current()
    checkpoints = list(Checkpoint.select().where(Checkpoint.zone.in_(zone_ids) & Checkpoint.kind.in_(COVERAGE_KINDS))
                       .order_by(Checkpoint.name))
    ids = [c.id for c in checkpoints]
    checked, windowed, scanned = set(), set(), set()
    if ids:
        # A check made before the first day still covers it within the checkpoint's interval.
        since = first_day - datetime.timedelta(days=max(rules.days_for(c) for c in checkpoints) - 1)
        rows = (Check.select(Check.checkpoint, Check.day, peewee.fn.MAX(flag(Check.in_window)).alias("window"),
                             peewee.fn.MAX(flag(Check.via == "scan")).alias("scan"))
                .where(checks_on_days(since, last_day) & Check.checkpoint.in_(ids))
                .group_by(Check.checkpoint, Check.day).tuples())
        for checkpoint_id, day, window, scan in rows:
            day = Check.day.python_value(day)  # the field's own converter, as each database gives the day
            checked.add((checkpoint_id, day))
            if window:
                windowed.add((checkpoint_id, day))
            if scan:
                scanned.add((checkpoint_id, day))
    result = {}
    day = first_day
    while day <= last_day:
        groups = {kind: {"total": 0, "done": 0, "missed": [], "scanned": 0} for kind in COVERAGE_KINDS}
        points = {kind: [] for kind in (*COVERAGE_KINDS, "window")}
        window = {"total": 0, "done": 0, "missed": []}
        for checkpoint in checkpoints:
            if not checkpoint.active_on(day, tz):
                continue
            group = groups[checkpoint.kind]
            group["total"] += 1
            if rules.days_for(checkpoint) > 1:
                # Not a daily rule: covered if checked in the interval ending that day.
                done = any((checkpoint.id, day - datetime.timedelta(days=n)) in checked
                           for n in range(rules.days_for(checkpoint)))
            else:
                done = (checkpoint.id, day) in checked
            if done:
                group["done"] += 1
                group["scanned"] += (checkpoint.id, day) in scanned
            else:
                group["missed"].append(checkpoint.name)
                points[checkpoint.kind].append(checkpoint)
            if checkpoint.kind == "renovation" and rules.renovation_in_window:
                window["total"] += 1
                if (checkpoint.id, day) in windowed:
                    window["done"] += 1
                else:
                    window["missed"].append(checkpoint.name)
                    points["window"].append(checkpoint)
        result[day] = {"groups": groups, "window": window, "missed": points}
        day += datetime.timedelta(days=1)
    return result


def checks_of_day(user, day):
    """An assistant's checks on one day, in time order (for the printed patrol record)."""
    return (Check.select(Check, Checkpoint).join(Checkpoint)
            .where((Check.by == user.id) & (Check.day == day)).order_by(Check.at))


def place_checkpoints(actor, places):
    """Public places made patrol checkpoints, as the administrator chose on the place form: each in
    its building's zone (or the only zone), with the greenery or the public-facilities checklist. A
    place that is a checkpoint already is left as it is. Returns the checkpoints made."""
    from .estate import zone_of_place

    zones = list(Zone.live())
    made = []
    for place in places:
        if Checkpoint.live().where(Checkpoint.place == place.id).exists():
            continue
        zone = zone_of_place(place)
        if zone is None and len(zones) == 1:
            zone = zones[0]
        if zone is None:
            raise PatrolError(f"{place.name} 不在任何管辖区域里，不能设为巡查点：" + (
                "请先在“管辖区域”里划入它的楼栋" if place.building_id else "请先为它选好管辖区域"),
                              "checkpoint")
        checklist = Checklist.get(Checklist.code == ("greenery" if place.kind == "绿地" else "facility"))
        made.append(create_checkpoint(actor, kind="public", name=place.name, zone=zone, checklist=checklist,
                                      place=place))
    return made
