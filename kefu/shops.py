"""The shop register (商铺): shops with every change kept as a dated version, operators over time,
business licences (统一社会信用代码 checked), urging the unlicensed, notices given to operators,
government inspections, and the daily shop patrol.

A shop that is open (营业) or being fitted out (装修中) is a daily checkpoint of the patrols; a shop
that becomes 空置 or 停业 drops out of coverage from that day.
"""
import datetime
import json

import peewee
from stdnum import exceptions as number_errors
from stdnum.cn import uscc

from . import clock
from . import events
from . import idempotency
from . import patrols
from . import rectification
from . import uploads
from .db import BaseModel
from .db import Kept
from .db import RuleError
from .db import VersionedMixin
from .db import VoidableMixin
from .db import database
from .estate import Place
from .estate import Zone
from .estate import current_tz as _tz
from .users import User

STATES = ["营业", "装修中", "空置", "停业"]
PATROLLED = ("营业", "装修中")
TYPES = ["餐饮", "零售", "美容美发", "药店", "教育培训", "其他"]
URGE_METHODS = ["上门", "电话", "书面通知"]
# Today's inspecting bodies (工商 became 市场监管 in 2018; 市容监察 is 城管's): older records keep their words.
BODIES = ["市场监管", "城管", "消防", "环卫", "卫生健康", "生态环境", "公安", "其他"]
EXPIRING_DAYS = 30
NOTICE_CLAUSES = "《商业街商铺经营管理规定》及商铺经营管理协议"
NOTICE_CONSEQUENCE = ("逾期未整改的，服务中心将报请市场监管、城管、消防、环卫等相关部门依法处理，"
                      "由此产生的一切后果由经营者承担。")
# What a notice asks for, by the patrol item that failed (the assistant edits it before issuing).
DEMANDS = {
    "消防安全": "请立即清理消防通道及疏散出口，配齐并保持灭火器等消防器材完好有效，严禁违规用火用电。",
    "环境卫生": "请立即清理店内外垃圾及污水，垃圾分类定点投放，保持门前三包区域整洁。",
    "铺面及物品摆放整齐": "请立即将店外摆放的物品收回店内，不得占用公共通道及人行道经营。",
    "无违章设摊": "请立即撤除违章设置的摊点，不得在店外设摊经营。",
    "无不良经营行为": "请立即停止不良经营行为，诚信经营，不得扰乱公共秩序。",
    "油烟排放": "请立即清洗并正常开启油烟净化设施，确保油烟经处理后达标排放，不得直排。",
    "噪音": "请立即降低经营噪音，不得使用高音喇叭招揽顾客，夜间经营不得影响居民休息。",
    "招牌广告灯箱整洁及安全": "请立即清洁并加固招牌、广告及灯箱，破损的及时修复，确保安全。",
}
DEFAULT_DEMAND = "请于期限内整改到位。"
NOTICE_STATES = {"voided": "已作废", "unserved": "待送达", "served": "待复查", "overdue": "逾期待复查",
                 "complied": "复查已整改", "not_complied": "复查未整改"}
# What a version records, with the labels the shop page shows.
FIELDS = {"name": "店名", "unit_no": "铺位号", "business_type": "经营类型", "operator_name": "经营者",
          "operator_phone": "经营者电话", "property_owner": "产权人", "opened_on": "开业日期", "state": "状态",
          "zone": "管辖区域", "note": "备注"}


TYPE_MISSING = "请选择经营类型"


class ShopError(RuleError):
    pass


_text = ShopError.checked


class Shop(VoidableMixin, VersionedMixin, BaseModel):
    name = peewee.CharField(max_length=60)
    unit_no = peewee.CharField(max_length=20)
    business_type = peewee.CharField(max_length=10)
    operator_name = peewee.CharField(max_length=40)
    operator_phone = peewee.CharField(max_length=20, default="")
    property_owner = peewee.CharField(max_length=60, default="")
    opened_on = peewee.DateField(null=True)
    state = peewee.CharField(max_length=6, default="营业")
    zone = peewee.ForeignKeyField(Zone, backref="+", on_delete="RESTRICT")
    place = peewee.ForeignKeyField(Place, null=True, backref="+", on_delete="RESTRICT")
    note = peewee.TextField(default="")
    checkpoint = peewee.ForeignKeyField(patrols.Checkpoint, null=True, backref="+", on_delete="RESTRICT",
                                        column_name="checkpoint_id")
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("zone", "state"), False), (("unit_no",), False))

    @property
    def food(self):
        """Food shops: the fumes item of the checklist applies."""
        return self.business_type == "餐饮"


class ShopVersion(BaseModel):
    """One dated version of a shop: who changed what from → to, and the whole record as it then was."""

    shop = peewee.ForeignKeyField(Shop, backref="versions", on_delete="RESTRICT")
    number = peewee.IntegerField()
    at = peewee.DateTimeField()
    by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    changes = peewee.TextField(default="{}")  # {label: [from, to]}
    snapshot = peewee.TextField()

    class Meta:
        indexes = ((("shop", "number"), True),)

    @property
    def change_list(self):
        return list(json.loads(self.changes).items())


class Operator(BaseModel):
    """经营者 over time: a shop that changes hands starts a new record and keeps the old ones."""

    shop = peewee.ForeignKeyField(Shop, backref="operators", on_delete="RESTRICT")
    name = peewee.CharField(max_length=40)
    phone = peewee.CharField(max_length=20, default="")
    since = peewee.DateField()
    until = peewee.DateField(null=True)

    class Meta:
        indexes = ((("shop", "since"), False),)


class Licence(VoidableMixin, BaseModel):
    """营业执照: credit code, holder, scope, valid until (None: 长期), a photo of the copy."""

    shop = peewee.ForeignKeyField(Shop, backref="licences", on_delete="RESTRICT")
    credit_code = peewee.CharField(max_length=18)
    holder = peewee.CharField(max_length=60)
    operator = peewee.CharField(max_length=40, default="")  # 经营者 / 法定代表人 on the licence
    scope = peewee.TextField(default="")
    valid_until = peewee.DateField(null=True)
    recorded_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    recorded_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("shop", "recorded_at"), False), (("credit_code",), False))


class Urging(BaseModel):
    """督促记录: urging an unlicensed shop to get its licence."""

    shop = peewee.ForeignKeyField(Shop, backref="urgings", on_delete="RESTRICT")
    at = peewee.DateTimeField()
    method = peewee.CharField(max_length=10)
    by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    said = peewee.TextField()
    promised_on = peewee.DateField(null=True)

    class Meta:
        indexes = ((("shop", "at"), False),)


class Communication(BaseModel):
    """沟通 / 宣传教育: a notice given to an operator (消防宣传, 垃圾分类, 油烟整治 …)."""

    shop = peewee.ForeignKeyField(Shop, backref="communications", on_delete="RESTRICT")
    at = peewee.DateTimeField()
    topic = peewee.CharField(max_length=40)
    receiver = peewee.CharField(max_length=40)
    note = peewee.TextField(default="")
    by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")

    class Meta:
        indexes = ((("shop", "at"), False),)


class Inspection(BaseModel):
    """政府检查: a body's visit, the shops it saw, what it found and what follows."""

    body = peewee.CharField(max_length=10)
    day = peewee.DateField()
    findings = peewee.TextField()
    follow_up = peewee.TextField(default="")
    by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    def shops(self):
        return Shop.select().join(InspectionShop).where(InspectionShop.inspection == self).order_by(Shop.unit_no)


class InspectionShop(BaseModel):
    inspection = peewee.ForeignKeyField(Inspection, backref="links", on_delete="CASCADE")
    shop = peewee.ForeignKeyField(Shop, backref="inspection_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("inspection", "shop"), True),)


class ShopNotice(rectification.NoticeMixin, BaseModel):
    """整改通知书 to a shop's operator, usually for a failed item of the daily patrol, re-checked
    after its deadline."""

    shop = peewee.ForeignKeyField(Shop, backref="notices", on_delete="RESTRICT")
    finding = peewee.ForeignKeyField(patrols.Finding, null=True, backref="+", on_delete="RESTRICT",
                                     column_name="finding_id")
    problem = peewee.TextField()
    consequence = peewee.TextField(default=NOTICE_CONSEQUENCE)
    recheck_at = peewee.DateTimeField(null=True)
    recheck_complied = peewee.BooleanField(null=True)
    recheck_note = peewee.TextField(default="")

    class Meta:
        indexes = ((("year", "serial"), True), (("shop", "issued_at"), False))

    def status(self, today=None):
        """The notice as its list shows it: the stored state, with 逾期 for a served one past its deadline."""
        if self.voided_at is not None:
            return "voided"
        if not self.is_served:
            return "unserved"
        if self.recheck_at is not None:
            return "complied" if self.recheck_complied else "not_complied"
        return "overdue" if self.deadline < (today or clock.today(_tz())) else "served"

    @property
    def state_label(self):
        return NOTICE_STATES[self.status()]


MODELS = [Shop, ShopVersion, Operator, Licence, Urging, Communication, Inspection, InspectionShop, ShopNotice]




def check_credit_code(code):
    """The 18-character 统一社会信用代码, upper-cased, or ShopError saying what is wrong with it."""
    code = (code or "").strip().upper().replace(" ", "")
    if not code:
        raise ShopError("请填写统一社会信用代码", "credit_code")
    try:
        return uscc.validate(code)
    except number_errors.InvalidLength:
        raise ShopError(f"统一社会信用代码应为 18 位，现在是 {len(code)} 位", "credit_code")
    except number_errors.InvalidFormat:
        raise ShopError("统一社会信用代码只含数字和大写字母（不含 I、O、Z、S、V）", "credit_code")
    except number_errors.InvalidChecksum:
        raise ShopError("统一社会信用代码校验位不对，请核对执照上的号码", "credit_code")
    except number_errors.ValidationError:
        raise ShopError("统一社会信用代码格式不对，请核对执照上的号码", "credit_code")


def _snapshot(shop):
    return {name: (str(getattr(shop, name)) if getattr(shop, name) is not None else "")
            if name != "zone" else shop.zone.name for name in FIELDS}


def _values(name, unit_no, business_type, operator_name, operator_phone="", property_owner="", opened_on=None,
            state="营业", zone=None, note=""):
    if business_type not in TYPES:
        raise ShopError(TYPE_MISSING, "business_type")
    if state not in STATES:
        raise ShopError("请选择状态", "state")
    if zone is None or zone.voided_at is not None:
        raise ShopError("请选择管辖区域", "zone")
    if opened_on is not None and opened_on > clock.today(_tz()):
        raise ShopError("开业日期不能晚于今天", "opened_on")
    return dict(name=_text(name, 60, "店名", "name", required=True),
                unit_no=_text(unit_no, 20, "铺位号", "unit_no", required=True), business_type=business_type,
                operator_name=_text(operator_name, 40, "经营者", "operator_name", required=True),
                operator_phone=_text(operator_phone, 20, "经营者电话", "operator_phone"),
                property_owner=_text(property_owner, 60, "产权人", "property_owner"), opened_on=opened_on,
                state=state, zone=zone, note=_text(note, 1000, "备注", "note"))


def _version(actor, shop, changes):
    number = (ShopVersion.select(peewee.fn.MAX(ShopVersion.number)).where(ShopVersion.shop == shop).scalar() or 0) + 1
    ShopVersion.create(shop=shop, number=number, at=clock.utcnow(), by=actor,
                       changes=json.dumps(changes, ensure_ascii=False), snapshot=json.dumps(_snapshot(shop),
                                                                                         ensure_ascii=False))


def _refuse_taken(unit_no, shop=None):
    """A 铺位号 another live shop holds: the message says which shop, in which zone, whose it is."""
    query = Shop.live().where(Shop.unit_no == unit_no)
    if shop is not None:
        query = query.where(Shop.id != shop.id)
    taken = query.first()
    if taken is None:
        return
    people = "、".join(u.display_name for u in taken.zone.assistants)
    raise ShopError(f"铺位 {unit_no} 已登记为“{taken.name}”（{taken.zone.name}" + (f"，{people}负责" if people else "")
                    + "），请核对铺位号", "unit_no")


def register(actor, *, photos=(), place=None, token=None, **fields):
    """登记 a shop: version 1, its first operator record, and a daily checkpoint if it is open.
    Returns (shop, created)."""
    values = _values(**fields)
    with database.atomic():
        earlier = idempotency.claim(token, Shop)
        if earlier is not None:
            return Shop.get_by_id(earlier.record_id), False
        _refuse_taken(values["unit_no"])
        shop = Shop.create(place=place, created_by=actor, created_at=clock.utcnow(), **values)
        Operator.create(shop=shop, name=shop.operator_name, phone=shop.operator_phone,
                        since=shop.opened_on or clock.today(_tz()))
        _version(actor, shop, {})
        uploads.attach(list(photos), shop)
        _follow_state(actor, shop)
        events.record(actor, shop, "商铺登记", note=f"{shop.unit_no} {shop.name} · {shop.business_type} · {shop.state}")
        idempotency.remember(token, shop)
    return shop, True


def update(actor, shop, expected_version, transfer_on=None, **fields):
    """Change a shop's record: a new dated version keeps what it was; a new operator (转让) starts a
    new operator record from the day it took effect (`transfer_on`, today if not given); 空置 / 停业
    take it off the daily patrol, 营业 / 装修中 put it back."""
    values = _values(**fields)
    today = clock.today(_tz())
    if values["operator_name"] != shop.operator_name:
        transfer_on = transfer_on or today
        if transfer_on > today:
            raise ShopError("转让日期不能晚于今天", "transfer_on")
        current = current_operator(shop)
        if current is not None and transfer_on < current.since:
            raise ShopError(f"转让日期不能早于原经营者开始经营的日期（{current.since:%Y-%m-%d}）", "transfer_on")
    _refuse_taken(values["unit_no"], shop)
    before = _snapshot(shop)
    old_operator = shop.operator_name
    draft = Shop(**shop.__data__)  # the caller's shop changes only once the edit is saved
    for name, value in values.items():
        setattr(draft, name, value)
    after = _snapshot(draft)
    changes = {FIELDS[k]: [before[k], after[k]] for k in FIELDS if before[k] != after[k]}
    if not changes:
        raise ShopError("没有改动")
    with database.atomic():
        draft.save_versioned(expected_version, *values)
        shop.__data__.update(draft.__data__)
        shop.__rel__ = dict(draft.__rel__)  # the new zone object, not the cached old one
        _version(actor, shop, changes)
        if shop.operator_name != old_operator:
            Operator.update(until=transfer_on).where((Operator.shop == shop) & Operator.until.is_null()).execute()
            Operator.create(shop=shop, name=shop.operator_name, phone=shop.operator_phone, since=transfer_on)
        _follow_state(actor, shop)
        events.record(actor, shop, "修改商铺", note="；".join(f"{k}：{v[0] or '空'} → {v[1] or '空'}"
                                                          for k, v in changes.items())
                      + (f"；{transfer_on:%Y-%m-%d} 起转让" if shop.operator_name != old_operator else ""))
    return shop


def current_operator(shop):
    return Operator.select().where((Operator.shop == shop) & Operator.until.is_null()).order_by(
        Operator.since.desc(), Operator.id.desc()).first()


def checkpoint_name(shop, suffix=""):
    """The shop's checkpoint name as the assistant says it, 铺位号 店名, within the characters a
    checkpoint's name holds: a long shop name is shortened with … (the register keeps it whole)."""
    prefix = f"{shop.unit_no} "
    room = patrols.Checkpoint.name.max_length - len(prefix) - len(suffix)
    name = shop.name if len(shop.name) <= room else shop.name[:room - 1] + "…"
    return prefix + name + suffix


def _follow_state(actor, shop):
    """Keep the shop's patrol checkpoint in step with its state and zone."""
    today = clock.today(_tz())
    checkpoint = patrols.Checkpoint.get_or_none(patrols.Checkpoint.id == shop.checkpoint_id) \
        if shop.checkpoint_id else None
    if shop.state in PATROLLED:
        if checkpoint is None:
            name = checkpoint_name(shop)
            if patrols.Checkpoint.live().where((patrols.Checkpoint.zone == shop.zone)
                                               & (patrols.Checkpoint.name == name)).exists():
                name = checkpoint_name(shop, f"（{today:%Y年%m月}登记）")  # an earlier shop of the same name
            checkpoint = patrols.create_checkpoint(
                actor, kind="shop", name=name, zone=shop.zone,
                checklist=patrols.Checklist.get(patrols.Checklist.code == "shop"), place=shop.place,
                source_type="shop", source_id=shop.id, active_from=today)
            Shop.update(checkpoint_id=checkpoint.id).where(Shop.id == shop.id).execute()
            shop.checkpoint_id = checkpoint.id
        else:
            patrols.Checkpoint.update(active_until=None, zone=shop.zone,
                                      name=checkpoint_name(shop)).where(
                patrols.Checkpoint.id == checkpoint.id).execute()
    elif checkpoint is not None:
        # Off the patrol from today: the day it closed is not owed either.
        patrols.Checkpoint.update(active_until=today - datetime.timedelta(days=1)).where(
            (patrols.Checkpoint.id == checkpoint.id)
            & (patrols.Checkpoint.active_until.is_null()
               | (patrols.Checkpoint.active_until >= today))).execute()


def for_checkpoint(checkpoint):
    if checkpoint.source_type != "shop" or checkpoint.source_id is None:
        return None
    return Shop.get_or_none(Shop.id == checkpoint.source_id)


# Licences

def record_licence(actor, shop, credit_code, holder, scope="", valid_until=None, photos=(), operator=""):
    """A business licence seen and copied, with the 经营者 / 法定代表人 it names; the newest live one
    is the shop's licence."""
    code = check_credit_code(credit_code)
    holder = _text(holder, 60, "执照名称", "holder", required=True)
    operator = _text(operator, 40, "执照上的经营者", "operator")
    scope = _text(scope, 1000, "经营范围", "scope")
    with database.atomic():
        licence = Licence.create(shop=shop, credit_code=code, holder=holder, operator=operator, scope=scope,
                                 valid_until=valid_until, recorded_by=actor, recorded_at=clock.utcnow())
        photos = list(photos)
        uploads.attach(photos, licence)
        events.record(actor, shop, "登记营业执照",
                      note=f"{code} {holder} · 有效期至 {valid_until:%Y-%m-%d}" if valid_until else
                      f"{code} {holder} · 长期有效", **({"photo_ids": [p.id for p in photos]} if photos else {}))
    return licence


def licence_of(shop):
    return Licence.live().where(Licence.shop == shop).order_by(Licence.recorded_at.desc(), Licence.id.desc()).first()


def licence_mismatch(shop, licence):
    """Why the shop's licence may not be its operator's, or "": the licence names someone else, or
    (naming no one) was recorded before the present operator took over."""
    if licence is None:
        return ""
    if licence.operator:
        if licence.operator != shop.operator_name:
            return f"执照经营者是{licence.operator}，不是现经营者{shop.operator_name}，请登记新执照"
        return ""
    current = current_operator(shop)
    if current is not None and clock.to_local(licence.recorded_at, _tz()).date() < current.since:
        return f"执照登记于 {current.since:%Y-%m-%d} 转让之前，请核对是否为现经营者{shop.operator_name}的执照"
    return ""


def licence_status(licence, day=None):
    """'none', 'expired', 'expiring' (within EXPIRING_DAYS) or 'valid' on `day` (estate-local): a
    licence is valid through its last day."""
    day = day or clock.today(_tz())
    if licence is None:
        return "none"
    if licence.valid_until is None:
        return "valid"
    if licence.valid_until < day:
        return "expired"
    if licence.valid_until <= day + datetime.timedelta(days=EXPIRING_DAYS):
        return "expiring"
    return "valid"


STATUS_LABELS = {"none": "无执照", "expired": "执照过期", "expiring": "即将到期", "valid": "执照有效", "vacant": "空置"}


def shop_status(shop, licence, day=None):
    """The licence status as the register shows it: an empty unit (空置) without a valid licence
    needs none, and says 空置 rather than 无执照."""
    status = licence_status(licence, day)
    return "vacant" if shop.state == "空置" and status in ("none", "expired") else status


def _latest_licences(shops):
    """{shop id: its latest live licence} for the shops a query selects (the query as a subquery: a
    zone's hundred shops as a hundred parameters cost more to write out than to look up)."""
    latest = {}
    for licence in _licences_of(shops):
        latest[licence.shop_id] = licence
    return latest


def _licences_of(shops):
    """The live licences of the shops a query selects, oldest recorded first."""
    return Licence.live().where(Licence.shop.in_(shops.select(Shop.id).order_by())).order_by(Licence.recorded_at,
                                                                                              Licence.id)


_BUILT = Kept()  # the trading shops of some zones and their licences: statements per list of zones


def _with_status(zone_ids, day):
    zone_ids = tuple(zone_ids)

    def trading():
        return Shop.live().where(Shop.zone.in_(zone_ids) & (Shop.state != "空置"))
    shops = _BUILT.rows(("shops", zone_ids), Shop, lambda: trading().order_by(Shop.unit_no))
    latest = {}
    if shops:
        for licence in _BUILT.rows(("licences", zone_ids), Licence, lambda: _licences_of(trading())):
            latest[licence.shop_id] = licence
    return [(shop, latest.get(shop.id), licence_status(latest.get(shop.id), day)) for shop in shops]


def licence_summary(zone_ids, day=None):
    """(how many trade unlicensed, the expiring ones soonest first) from one look at the register."""
    day = day or clock.today(_tz())
    rows = _with_status(zone_ids, day)
    expiring_ones = sorted(((shop, licence) for shop, licence, status in rows if status == "expiring"),
                           key=lambda pair: pair[1].valid_until)
    return sum(1 for _shop, _licence, status in rows if status in ("none", "expired")), expiring_ones


def unlicensed(zone_ids, day=None):
    """Shops trading without a valid licence on `day` (none, or expired), with their licence if any."""
    day = day or clock.today(_tz())
    return [(shop, licence) for shop, licence, status in _with_status(zone_ids, day) if status in ("none", "expired")]


def expiring(zone_ids, day=None):
    """Shops whose licence runs out within EXPIRING_DAYS, soonest first."""
    day = day or clock.today(_tz())
    found = [(shop, licence) for shop, licence, status in _with_status(zone_ids, day) if status == "expiring"]
    return sorted(found, key=lambda pair: pair[1].valid_until)


def urge(actor, shop, method, said, promised_on=None, at=None):
    """督促记录: when, how, who, what the operator said, the date they promised."""
    if method not in URGE_METHODS:
        raise ShopError("请选择督促方式", "method")
    said = _text(said, 500, "经营者答复", "said", required=True)
    now = clock.utcnow()
    at = clock.to_utc_naive(clock.aware(at)) if at is not None else now
    if at > now:
        raise ShopError("督促时间不能晚于现在", "at")
    if promised_on is not None and promised_on < clock.to_local(at, _tz()).date():
        raise ShopError("承诺办理日期不能早于督促当天", "promised_on")
    with database.atomic():
        urging = Urging.create(shop=shop, at=at, method=method, by=actor, said=said, promised_on=promised_on)
        events.record(actor, shop, "督促办理营业执照", note=f"{method}：{said}"
                      + (f"（承诺 {promised_on:%m-%d} 前办好）" if promised_on else ""))
    return urging


def last_urgings(shop_ids):
    """{shop id: its latest urging} for the shops listed."""
    latest = {}
    shop_ids = tuple(shop_ids)

    def newest_of_each():
        newest = (Urging.select(Urging.shop, peewee.fn.MAX(Urging.at).alias("at"))
                  .where(Urging.shop.in_(list(shop_ids))).group_by(Urging.shop))
        return (Urging.select().join(newest, on=((Urging.shop == newest.c.shop_id) & (Urging.at == newest.c.at)))
                .order_by(Urging.at, Urging.id))
    if shop_ids:
        for urging in _BUILT.rows(("urgings", shop_ids), Urging, newest_of_each):
            latest[urging.shop_id] = urging
    return latest


def promise_overdue(urging, day=None):
    """The operator's promised day has passed (the shop still being without a valid licence)."""
    return urging is not None and urging.promised_on is not None and urging.promised_on < (day or clock.today(_tz()))


def owed(user, now):
    """What the assistant of a shop's zone owes on licences (agenda Items): a promise to get one that
    has passed its day (督促 again), and a licence that has run out or runs out within
    EXPIRING_DAYS (remind the operator to renew) — each due at the end of its day."""
    from .agenda import Item  # the agenda reads areas; importing it here keeps the layers one way

    if user.role != "assistant":
        return []
    zone_ids = [z.id for z in _BUILT.rows(("zones", user.id), Zone, lambda: Zone.of_assistant(user))]
    if not zone_ids:
        return []
    tz = _tz()
    day = clock.to_local(now, tz).date()
    rows = _with_status(zone_ids, day)
    urgings = last_urgings([shop.id for shop, _licence, status in rows if status in ("none", "expired")])
    items = []
    for shop, licence, status in rows:
        title = f"{shop.unit_no} {shop.name}"
        urging = urgings.get(shop.id)
        if status in ("none", "expired") and promise_overdue(urging, day):
            items.append(Item(kind="shop.promise", group="商铺执照", ref=("shop", shop.id), title=title,
                              due=clock.day_bounds(urging.promised_on, tz)[1], action="督促",
                              detail=f"{shop.operator_name}承诺 {urging.promised_on:%m-%d} 前办好执照，已过期"))
        elif status in ("expired", "expiring"):
            when = "已于" if status == "expired" else ""
            items.append(Item(kind="shop.licence", group="商铺执照", ref=("shop", shop.id), title=title,
                              due=clock.day_bounds(licence.valid_until, tz)[1], action="督促",
                              detail=f"营业执照{when} {licence.valid_until:%m-%d} 到期，请提醒经营者换证"))
    return items


def communicate(actor, shop, topic, receiver, note="", at=None):
    """沟通 / 宣传教育 given to the operator."""
    topic = _text(topic, 40, "宣传内容", "topic", required=True)
    receiver = _text(receiver, 40, "接收人", "receiver", required=True)
    note = _text(note, 500, "说明", "note")
    now = clock.utcnow()
    at = clock.to_utc_naive(clock.aware(at)) if at is not None else now
    if at > now:
        raise ShopError("时间不能晚于现在", "at")
    with database.atomic():
        record = Communication.create(shop=shop, at=at, topic=topic, receiver=receiver, note=note, by=actor)
        events.record(actor, shop, "宣传沟通", note=f"{topic} · 接收人 {receiver}" + (f" · {note}" if note else ""))
    return record


def record_inspection(actor, body, day, shops, findings, follow_up="", photos=()):
    """政府检查: the body, the day, the shops it saw (each keeps a link), findings and follow-up."""
    if body not in BODIES:
        raise ShopError("请选择检查单位", "body")
    if day is None or day > clock.today(_tz()):
        raise ShopError("检查日期不能晚于今天", "day")
    shops = list({shop.id: shop for shop in shops}.values())
    if not shops:
        raise ShopError("请选择被检查的商铺", "shops")
    findings = _text(findings, 2000, "检查情况", "findings", required=True)
    follow_up = _text(follow_up, 1000, "后续跟进", "follow_up")
    with database.atomic():
        inspection = Inspection.create(body=body, day=day, findings=findings, follow_up=follow_up, by=actor,
                                       created_at=clock.utcnow())
        for shop in shops:
            InspectionShop.create(inspection=inspection, shop=shop)
            events.record(actor, shop, f"{body}检查", note=findings)
        photos = list(photos)
        uploads.attach(photos, inspection)
        events.record(actor, inspection, f"{body}检查", note=f"{len(shops)} 家商铺：{findings}",
                      **({"photo_ids": [p.id for p in photos]} if photos else {}))
    return inspection


def search(zone_ids, text="", state="", business_type="", licence=""):
    """The register filtered by state, type and licence status, searched by name, operator or credit code."""
    day = clock.today(_tz())
    query = Shop.live().where(Shop.zone.in_(zone_ids))
    if state in STATES:
        query = query.where(Shop.state == state)
    if business_type in TYPES:
        query = query.where(Shop.business_type == business_type)
    text = (text or "").strip()
    if text:
        by_code = Licence.select(Licence.shop).where(Licence.voided_at.is_null() & Licence.credit_code.contains(
            text.upper()))
        query = query.where(Shop.name.contains(text) | Shop.operator_name.contains(text) | Shop.unit_no.contains(text)
                            | Shop.id.in_(by_code))
    shops = list(query.order_by(Shop.unit_no))
    latest = _latest_licences(query) if shops else {}
    rows = [(shop, latest.get(shop.id), shop_status(shop, latest.get(shop.id), day)) for shop in shops]
    if licence == "unlicensed":  # as the unlicensed list: an empty unit needs no licence
        rows = [row for row in rows if row[2] in ("none", "expired")]
    elif licence in ("valid", "expiring"):
        rows = [row for row in rows if row[2] == licence]
    return rows


def register_extras(shop_ids):
    """What the printed register adds to each shop: its notices still open (not voided, not re-checked
    as complied) and the government inspections that saw it, latest first."""
    extras = {shop_id: {"notices": [], "inspections": []} for shop_id in shop_ids}
    if not shop_ids:
        return extras
    for notice in (ShopNotice.live().where(ShopNotice.shop.in_(shop_ids)
                                           & (ShopNotice.recheck_complied.is_null() | ~ShopNotice.recheck_complied))
                   .order_by(ShopNotice.issued_at)):
        extras[notice.shop_id]["notices"].append(notice)
    for link in (InspectionShop.select(InspectionShop, Inspection).join(Inspection)
                 .where(InspectionShop.shop.in_(shop_ids)).order_by(Inspection.day.desc())):
        extras[link.shop_id]["inspections"].append(link.inspection)
    return extras


# Rectification notices

def issue_notice(actor, shop, demand, deadline, clauses="", finding=None, problem="", expected_version=None,
                 token=None):
    """整改通知书 to the operator, numbered in the service centre's yearly series; from a patrol
    finding at this shop (which then waits for the re-check) or for a problem written down.
    Returns (notice, created): a form sent twice issues one notice."""
    with database.atomic():
        earlier = idempotency.claim(token, ShopNotice)
        if earlier is not None:
            return ShopNotice.get_by_id(earlier.record_id), False
        if shop.voided_at is not None:
            raise ShopError("该商铺已作废")
        if finding is not None:
            if finding.checkpoint_id != shop.checkpoint_id:
                raise ShopError("这个问题不是该商铺的")
            refused = patrols.hand_off_refusal(actor, finding, "shopnotice")
            if refused:
                raise ShopError(refused)
            problem = problem or f"{finding.item_text}不合格" + (f"，{finding.note}" if finding.note else "")
        problem = _text(problem, 1000, "存在的问题", "problem", required=True)
        demand = _text(demand, 1000, "整改要求", "demand", required=True)
        clauses = _text(clauses, 1000, "违反的规定或协议条款", "clauses") or NOTICE_CLAUSES
        rectification.check_deadline(deadline, _tz(), ShopError)
        issued_at, year, serial = rectification.numbered(_tz())
        notice = ShopNotice.create(shop=shop, finding_id=finding.id if finding is not None else None,
                                   problem=problem, year=year, serial=serial, clauses=clauses, demand=demand,
                                   deadline=deadline, issued_by=actor, issued_at=issued_at)
        if finding is not None:
            patrols.hand_off(actor, finding, finding.version if expected_version is None else expected_version,
                             notice, note=notice.number)
        events.record(actor, notice, "开具整改通知书", note=f"{notice.number}：{problem}；{demand}（期限 {deadline:%m-%d}）")
        events.record(actor, shop, "开具整改通知书", note=f"{notice.number}：{problem}")
        idempotency.remember(token, notice)
    return notice, True


def finding_of(notice):
    return patrols.Finding.get_or_none(patrols.Finding.id == notice.finding_id) if notice.finding_id else None


MACHINE = rectification.machine(ShopNotice, ShopError, rechecked=True)


def serve_notice(actor, notice, served_to="", refused=False, witness="", at=None):
    """送达 to the operator (签收, or 拒签 before a witness)."""
    with database.atomic():
        who = rectification.serve(MACHINE, actor, notice, served_to, refused, witness, at)
        events.record(actor, notice.shop, "送达整改通知书", note=f"{notice.number}，{who}")
    return ShopNotice.get_by_id(notice.id)


def recheck_notice(actor, notice, complied, note, at=None):
    """复查: 整改到位 closes the patrol finding; not done puts it back to 待处理 for the next step
    (another notice, a work order, a report to the authorities)."""
    note = _text(note, 500, "复查情况", "note", required=True)
    if notice.recheck_at is not None:
        raise ShopError("该通知书已复查")
    if notice.voided_at is not None or not notice.is_served:
        raise ShopError("整改通知书送达后才能复查")
    now = clock.utcnow()
    at = clock.to_utc_naive(clock.aware(at)) if at is not None else now
    if at > now:
        raise ShopError("复查时间不能晚于现在", "at")
    if at < notice.served_at:
        raise ShopError("复查时间不能早于通知书送达时间", "at")
    result = "已整改" if complied else "未整改"
    with database.atomic():
        MACHINE.transition(actor, notice, notice.version, rectification.RECHECK,
                           to="complied" if complied else "not_complied", label=f"复查：{result}", note=note,
                           recheck_at=at, recheck_complied=bool(complied), recheck_note=note)
        events.record(actor, notice.shop, f"复查：{result}", note=f"{notice.number}，{note}")
        if complied:
            patrols.settle(actor, notice, f"复查：{result}", True, note=f"{notice.number}，{note}")
        else:
            patrols.give_back(actor, notice, f"复查：{result}", note=f"{notice.number}，{note}")
    return ShopNotice.get_by_id(notice.id)


def void_notice(actor, notice, reason):
    """作废 an unserved notice issued in error; its number is not given out again and its finding
    goes back to 待处理."""
    with database.atomic():
        rectification.void(MACHINE, actor, notice, reason)
        events.record(actor, notice.shop, "作废整改通知书", note=f"{notice.number}：{reason.strip()}")
        patrols.give_back(actor, notice, "整改通知书作废", note=f"{notice.number} 作废")


def notices_to_recheck(zone_ids):
    """Served notices not yet re-checked, soonest deadline first (overdue ones first of all), each
    with its shop."""
    return list(ShopNotice.select(ShopNotice, Shop).join(Shop)
                .where(ShopNotice.voided_at.is_null() & Shop.zone.in_(zone_ids)
                       & ShopNotice.served_at.is_null(False) & ShopNotice.recheck_at.is_null())
                .order_by(ShopNotice.deadline, ShopNotice.id))


def default_deadline(days=3):
    return clock.today(_tz()) + datetime.timedelta(days=days)
