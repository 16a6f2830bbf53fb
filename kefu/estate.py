"""The estate: its settings, buildings, households (栋-单元-室), public places and zones."""
import contextlib
import contextvars
import datetime
import re

import peewee

from . import clock
from . import events
from .db import BaseModel
from .db import Prepared
from .db import checked_text
from .db import RuleError
from .db import VersionedMixin
from .db import VoidableMixin
from .db import database
from .users import UNIT_KINDS
from .users import Unit
from .users import User

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
ROOM_MISSING = "请填写房号"
VOID_REASON_MISSING = "请填写作废原因"

PLACE_KINDS = ["楼道", "电梯厅", "地库", "会所", "绿地", "道路", "出入口", "设施设备", "商业街", "其他"]
WEEKDAY_LABELS = ["一", "二", "三", "四", "五", "六", "日"]

MAX_UNITS = 12
MAX_FLOORS = 60
MAX_ROOMS_PER_FLOOR = 20
MAX_VOID_REASON = 200
UNITS_RANGE = f"单元数应在 1–{MAX_UNITS} 之间"
ROOMS_PER_FLOOR_RANGE = f"每层户数应在 1–{MAX_ROOMS_PER_FLOOR} 之间"


class EstateError(RuleError):
    pass


class Estate(VersionedMixin, BaseModel):
    """The one estate this installation serves, and its settings."""

    name = peewee.CharField(max_length=60, default="我的小区")
    timezone = peewee.CharField(default=clock.DEFAULT_TZ)
    service_start = peewee.TimeField(default=datetime.time(8, 0))
    service_end = peewee.TimeField(default=datetime.time(20, 0))
    service_weekdays = peewee.CharField(default="0123456")
    address = peewee.CharField(default="", max_length=200)
    phone = peewee.CharField(default="", max_length=40)
    # Nightly backup (migration 4): on or off, the local hour it runs, how many copies are kept.
    backup_nightly = peewee.BooleanField(default=False)
    backup_hour = peewee.IntegerField(default=3)
    backup_keep = peewee.IntegerField(default=14)
    # The letterhead of documents that leave the service centre (migration 14); the logo is the
    # estate's latest photo.
    company = peewee.CharField(default="", max_length=60)

    # Session timeouts (migration 12): signed out after this many hours unused, and this many days
    # after signing in.
    session_idle_hours = peewee.IntegerField(default=12)
    session_max_days = peewee.IntegerField(default=7)
    # Whether a resident's request link names their assistant (migration 21); otherwise 您的客户助理.
    resident_names = peewee.BooleanField(default=False)

    @classmethod
    def current(cls):
        """The estate's one row: read once per unit of work (a web request, a scheduled job; see
        `kept`), since nearly every rule asks for its time zone, often once per record."""
        kept = _KEPT.get()
        if kept is not None and "row" in kept:
            return kept["row"]
        estate = cls.by_id(1)
        if estate is None:
            estate = cls.create(id=1)
        if kept is not None:
            kept["row"] = estate
        return estate

    def save_versioned(self, *args, **kwargs):
        try:
            return super().save_versioned(*args, **kwargs)
        finally:
            kept = _KEPT.get()
            if kept is not None:
                kept.pop("row", None)  # read again, as saved, by what follows in this unit of work

    @property
    def tz(self):
        return clock.zone(self.timezone)

    @property
    def service_hours(self):
        return clock.ServiceHours(
            start=self.service_start, end=self.service_end,
            weekdays=frozenset(int(d) for d in self.service_weekdays),
        )

    @property
    def weekdays_label(self):
        days = sorted(int(d) for d in self.service_weekdays)
        if days == list(range(7)):
            return "每天"
        return "周" + "、".join(WEEKDAY_LABELS[d] for d in days)


_KEPT = contextvars.ContextVar("kefu_estate_kept", default=None)


@contextlib.contextmanager
def kept():
    """Within it, `Estate.current()` reads the row once (a web request or a scheduled job is one
    unit of work: a setting saved in it is read again after the save)."""
    token = _KEPT.set({})
    try:
        yield
    finally:
        _KEPT.reset(token)


def current_tz():
    """The estate's time zone: what every local day, deadline and printed time is counted in."""
    return Estate.current().tz


class Building(VoidableMixin, VersionedMixin, BaseModel):
    code = peewee.CharField(max_length=10)
    name = peewee.CharField(max_length=40)
    note = peewee.TextField(default="")

    class Meta:
        indexes = ((("code",), True),)

    @classmethod
    def ordered(cls):
        return cls.live().order_by(peewee.fn.LENGTH(cls.code), cls.code)


class Household(VoidableMixin, VersionedMixin, BaseModel):
    building = peewee.ForeignKeyField(Building, backref="households", on_delete="RESTRICT")
    unit_no = peewee.IntegerField()
    floor = peewee.IntegerField()
    room = peewee.CharField(max_length=10)
    code = peewee.CharField(max_length=30, index=True)
    area = peewee.DecimalField(null=True, max_digits=8, decimal_places=2)
    note = peewee.TextField(default="")

    class Meta:
        indexes = ((("building", "unit_no", "room"), True),)

    @classmethod
    def search(cls, text, limit=20):
        """Households whose 栋-单元-室 starts with what was typed (e.g. "3-2-15")."""
        text = normalize_code(text)
        query = cls.live().join(Building).where(Building.voided_at.is_null())
        parts = text.split("-")
        if len(parts) == 3 and parts[1].isdigit() and parts[2]:
            # The room typed with or without its leading zeros: 1-1-02 finds 1-1-0201 and 1-1-201.
            query = query.where(Building.code == parts[0], cls.unit_no == int(parts[1]),
                                peewee.fn.ltrim(cls.room, "0").startswith(parts[2].upper().lstrip("0")))
        elif text:
            query = query.where(cls.code.startswith(text))
        return query.order_by(peewee.fn.LENGTH(Building.code), Building.code, cls.unit_no, cls.floor, cls.room).limit(limit)


RELATIONS = ["业主", "配偶", "子女", "父母", "家属", "租户", "租户家属", "保姆", "其他"]
PHONE_PATTERN = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")


class Resident(VoidableMixin, VersionedMixin, BaseModel):
    """住户: a person living at a household (the customer issue adds more about them)."""

    household = peewee.ForeignKeyField(Household, backref="residents", on_delete="RESTRICT")
    name = peewee.CharField(max_length=40)
    phone = peewee.CharField(max_length=20, default="")
    relation = peewee.CharField(max_length=10, default="业主")
    note = peewee.CharField(max_length=200, default="")

    @classmethod
    def of(cls, household):
        return cls.live().where(cls.household == household).order_by(cls.id)


def clean_phone(phone):
    """A mainland mobile (13812345678) or landline (021-58880000) number, spaces removed; else an error."""
    phone = re.sub(r"[\s()（）]", "", phone or "")
    if phone and not PHONE_PATTERN.match(phone):
        raise EstateError("请填写 11 位手机号或带区号的座机号，如 13812345678、021-58880000", "phone")
    return phone


def mask_phone(phone):
    """138****1234 for a mobile, 021-****0000 for a landline: enough to recognise, not to dial."""
    if not phone:
        return ""
    if re.fullmatch(r"1\d{10}", phone):
        return f"{phone[:3]}****{phone[-4:]}"
    area, _, number = phone.rpartition("-")
    if area:
        return f"{area}-****{number[-4:]}"
    return f"{phone[:3]}****{phone[-4:]}"


def add_resident(actor, household, name, phone, relation, note=""):
    name = (name or "").strip()
    if not name:
        raise EstateError("请填写住户姓名", "name")
    if relation not in RELATIONS:
        raise EstateError("请选择与房屋的关系", "relation")
    phone = clean_phone(phone)
    if Resident.of(household).where((Resident.name == name[:40]) & (Resident.phone == phone)).exists():
        raise EstateError(f"{name} 已登记为该户住户", "name")  # a form sent twice adds one resident
    resident = Resident.create(household=household, name=name[:40], phone=phone, relation=relation,
                               note=(note or "").strip()[:200])
    events.record(actor, household, "登记住户", note=f"{resident.name}（{relation}）")
    return resident


class Place(VoidableMixin, VersionedMixin, BaseModel):
    """A public place (公共部位): corridor, car park, clubhouse, lawn…"""

    # 120 (migration 19): room for a building's name before a place's own ("3号楼 大堂").
    name = peewee.CharField(max_length=120)
    kind = peewee.CharField(max_length=20)
    building = peewee.ForeignKeyField(Building, null=True, backref="places", on_delete="RESTRICT")
    note = peewee.TextField(default="")
    # The zone of a place outside the buildings (migration 17); a place in a building belongs to the
    # building's zone. Its index is made by that migration (made with the table, it would be made on a
    # database from before the column, on a column that isn't there yet).
    zone = peewee.DeferredForeignKey("Zone", null=True, backref="+", on_delete="RESTRICT", index=False)


def zone_of_place(place):
    """The zone a public place belongs to: its building's, or its own; None if neither has one."""
    found = zone_of_building(place.building) if place.building_id else None
    return found or (Zone.by_id(place.zone_id) if place.zone_id else None)


def place_zone_names():
    """{place id: its zone's name} for every live place that has one (for pickers and lists)."""
    by_building = {link.building_id: link.zone.name for link in ZoneBuilding.select(ZoneBuilding, Zone).join(Zone)}
    names = {z.id: z.name for z in Zone.live()}
    return {p.id: by_building.get(p.building_id) or names.get(p.zone_id)
            for p in Place.live() if by_building.get(p.building_id) or names.get(p.zone_id)}


class Zone(VoidableMixin, VersionedMixin, BaseModel):
    """A 管辖区域: a set of buildings looked after by one or more assistants."""

    name = peewee.CharField(max_length=40, unique=True)
    note = peewee.TextField(default="")

    @property
    def buildings(self):
        return (Building.live().join(ZoneBuilding).where(ZoneBuilding.zone == self)
                .order_by(peewee.fn.LENGTH(Building.code), Building.code))

    @property
    def assistants(self):
        return (User.select().join(ZoneAssistant).where(ZoneAssistant.zone == self)
                .order_by(User.display_name))

    @classmethod
    def of_assistant(cls, user):
        return cls.live().join(ZoneAssistant).where(ZoneAssistant.user == user)


class ZoneBuilding(BaseModel):
    zone = peewee.ForeignKeyField(Zone, backref="building_links", on_delete="CASCADE")
    building = peewee.ForeignKeyField(Building, unique=True, backref="zone_links", on_delete="CASCADE")


class ZoneAssistant(BaseModel):
    zone = peewee.ForeignKeyField(Zone, backref="assistant_links", on_delete="CASCADE")
    user = peewee.ForeignKeyField(User, backref="zone_links", on_delete="CASCADE")

    class Meta:
        indexes = ((("zone", "user"), True),)


MODELS = [Estate, Building, Household, Resident, Place, Zone, ZoneBuilding, ZoneAssistant]


def normalize_code(text):
    """Accept 3-2-1502 typed as 3－2－1502, 3 2 1502, 3栋2单元1502室 or 3/2/1502."""
    text = (text or "").strip()
    text = re.sub(r"[栋幢号楼单元室]+", "-", text)
    text = re.sub(r"[\s/－—_.·]+", "-", text)
    return re.sub(r"-+", "-", text).strip("-")[:30]


def household_code(building, unit_no, room):
    return f"{building.code}-{unit_no}-{room}"


def zone_of_building(building):
    link = ZoneBuilding.get_or_none(ZoneBuilding.building == building)
    return link.zone if link else None


def update_estate(actor, estate, expected_version, **values):
    if values["service_end"] <= values["service_start"]:
        raise EstateError("结束时间须晚于开始时间", "service_end")
    if not values["service_weekdays"]:
        raise EstateError("至少选择一天", "service_weekdays")
    before = {k: getattr(estate, k) for k in values}
    for key, value in values.items():
        setattr(estate, key, value)
    estate.save_versioned(expected_version, *values)
    diff = {k: (before[k], v) for k, v in values.items() if before[k] != v}
    if diff:
        events.record(actor, estate, "修改小区设置",
                      note="；".join(f"{SETTING_LABELS.get(k, k)}：{_setting_text(k, a)} → {_setting_text(k, b)}"
                                    for k, (a, b) in diff.items()))


def update_letterhead(actor, estate, expected_version, logo=None, drop_logo=False, **values):
    """打印抬头: the company, estate, address and service phone printed on outgoing documents, and an
    optional logo (a new one replaces the old, which is voided, as is the old one when dropped)."""
    from . import uploads

    values = {k: (v or "").strip() for k, v in values.items()}
    if not values.get("name"):
        raise EstateError("请填写小区名称", "name")
    before = {k: getattr(estate, k) for k in values}
    with database.atomic():
        for key, value in values.items():
            setattr(estate, key, value)
        estate.save_versioned(expected_version, *values)
        notes = [f"{SETTING_LABELS.get(k, k)}：{before[k] or '—'} → {v or '—'}" for k, v in values.items() if before[k] != v]
        old = logo_of(estate)
        if old is not None and (logo or drop_logo):
            uploads.Photo.update(voided_at=clock.utcnow(), void_reason="更换标志" if logo else "删除标志").where(
                uploads.Photo.id == old.id).execute()
        if logo:
            uploads.attach([logo], estate)
            notes.append("标志：已更换" if old is not None else "标志：已上传")
        elif drop_logo and old is not None:
            notes.append("标志：已删除")
        if notes:
            events.record(actor, estate, "修改打印抬头", note="；".join(notes))


def logo_of(estate):
    """The logo on the letterhead, or None."""
    from . import uploads

    photos = list(uploads.Photo.of(estate))
    return photos[-1] if photos else None


SETTING_LABELS = {"company": "公司名称", "name": "小区名称", "address": "地址", "phone": "服务中心电话", "timezone": "时区",
                  "service_start": "上班", "service_end": "下班", "service_weekdays": "服务日"}


def _setting_text(key, value):
    """A setting as the timeline shows it: 08:00, 周一、周二, or — for nothing."""
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    if key == "service_weekdays":
        return "、".join("周" + WEEKDAY_LABELS[int(d)] for d in value) or "—"
    return value or "—"


def create_building(actor, code, name, note=""):
    if Building.select().where(Building.code == code).exists():
        raise EstateError("该楼栋编号已存在", "code")
    building = Building.create(code=code, name=name, note=note)
    events.record(actor, building, "新建楼栋", note=name)
    return building


def update_building(actor, building, expected_version, code, name, note):
    clash = Building.select().where((Building.code == code) & (Building.id != building.id)).exists()
    if clash:
        raise EstateError("该楼栋编号已存在", "code")
    old_code = building.code
    before = (building.code, building.name)
    building.code, building.name, building.note = code, name, note
    with Building._meta.database.atomic():
        building.save_versioned(expected_version, "code", "name", "note")
        if code != old_code:
            # Only the 栋 part of every 栋-单元-室 changes; one statement, nothing else touched.
            (Household.update(code=peewee.Value(code).concat("-").concat(Household.unit_no).concat("-").concat(Household.room))
             .where(Household.building == building).execute())
    events.record(actor, building, "修改楼栋", note=f"{before[0]} {before[1]} → {code} {name}")


def room_number(floor, index, pad=False):
    """Room 2 on floor 15 is 1502; floors below ground are written B1, B2. With `pad`, rooms are
    written as the company writes them, four digits: 0201."""
    if floor < 0:
        return f"B{-floor}{index:02d}"
    return f"{floor:02d}{index:02d}" if pad else f"{floor}{index:02d}"


def room_key(room):
    """0201 and 201 are the same room."""
    return (room or "").upper().lstrip("0") or "0"


def bulk_create_households(actor, building, units, floor_from, floor_to, rooms_per_floor, pad=False):
    """Create every 单元 × 楼层 × 室 of a building; rooms that exist already (written with or without
    leading zeros) are kept as they are.

    Returns (created, skipped).
    """
    if not 1 <= units <= MAX_UNITS:
        raise EstateError(UNITS_RANGE, "units")
    if not (-5 <= floor_from <= MAX_FLOORS and -5 <= floor_to <= MAX_FLOORS):
        raise EstateError(f"楼层应在 -5–{MAX_FLOORS} 之间", "floor_to")
    if floor_to < floor_from:
        raise EstateError("最高层不能低于起始层", "floor_to")
    if not 1 <= rooms_per_floor <= MAX_ROOMS_PER_FLOOR:
        raise EstateError(ROOMS_PER_FLOOR_RANGE, "rooms_per_floor")
    existing = {(h.unit_no, room_key(h.room)) for h in Household.select(Household.unit_no, Household.room)
                .where(Household.building == building)}
    rows = []
    for unit_no in range(1, units + 1):
        for floor in range(floor_from, floor_to + 1):
            if floor == 0:
                continue
            for index in range(1, rooms_per_floor + 1):
                room = room_number(floor, index, pad)
                if (unit_no, room_key(room)) in existing:
                    continue
                rows.append({"building": building.id, "unit_no": unit_no, "floor": floor, "room": room,
                             "code": household_code(building, unit_no, room)})
    total = units * sum(1 for f in range(floor_from, floor_to + 1) if f != 0) * rooms_per_floor
    with Household._meta.database.atomic():
        for start in range(0, len(rows), 500):
            Household.insert_many(rows[start:start + 500]).execute()
        if rows:
            events.record(actor, building, "批量生成房号",
                          note=f"{units} 个单元 × {floor_from}–{floor_to} 层 × 每层 {rooms_per_floor} 户："
                               f"新增 {len(rows)} 户，已存在 {total - len(rows)} 户")
    return len(rows), total - len(rows)


def assign_zone(actor, user, zone):
    """An assistant's zone as the user form sets it: that zone only (or none); other roles have none."""
    zone = zone if user.role == "assistant" else None
    before = {link.zone_id for link in ZoneAssistant.select().where(ZoneAssistant.user == user.id)}
    after = {zone.id} if zone is not None else set()
    if before == after:
        return
    with Zone._meta.database.atomic():
        ZoneAssistant.delete().where(ZoneAssistant.user == user.id).execute()
        if zone is not None:
            ZoneAssistant.create(zone=zone, user=user.id)
        for zone_id in before ^ after:
            changed = Zone.by_id(zone_id)
            events.record(actor, changed, "设置区域范围",
                          note=f"客户助理 {user.display_name}：{'加入' if zone_id in after else '移出'}")


# Public places and business units: the checks and messages of their forms.

def _place_values(name, kind, building, note, zone=None):
    if kind not in PLACE_KINDS:
        raise EstateError("请选择类型", "kind")
    if building is not None and building.voided_at is not None:
        raise EstateError("该楼栋已作废", "building")
    if building is not None and zone_of_building(building) is not None:
        zone = None  # the building's zone
    elif zone is None:
        zones = list(Zone.live().limit(2))
        if len(zones) == 1:
            zone = zones[0]  # the estate's only zone
        elif zones:
            raise EstateError("不属于某栋楼的公共部位，请选择管辖区域" if building is None else
                              f"{building.name}不在任何管辖区域里，请选择管辖区域", "zone")
    return dict(name=checked_text(name, Place.name.max_length, "名称", "name", required=True, error=EstateError), kind=kind,
                building=building, zone=zone, note=checked_text(note, 500, "说明", "note", error=EstateError))


def create_places(actor, name, kind, building=None, note="", each_building=False, zone=None):
    """A public place, or with `each_building` the same place in every building in one step, each
    named after its building ("3号楼 大堂"). A place outside the zoned buildings needs a `zone` (the
    only zone when there is one). Returns the places made."""
    if each_building:
        _place_values(name, kind, building, note, zone or Zone.live().first())
        buildings = list(Building.ordered())
        if not buildings:
            raise EstateError("还没有楼栋", "each_building")
        longest = max(buildings, key=lambda b: len(b.name))
        if len(f"{longest.name} {name.strip()}") > Place.name.max_length:
            raise EstateError(f"加上楼栋名称（如“{longest.name}”）后超过 {Place.name.max_length} 个字，请写短一些", "name")
        values = [_place_values(f"{b.name} {name.strip()}", kind, b, note, zone) for b in buildings]
    else:
        values = [_place_values(name, kind, building, note, zone)]
    made = []
    with Place._meta.database.atomic():
        for value in values:
            place = Place.create(**value)
            events.record(actor, place, "新建公共部位", note=f"{place.kind} · {place.name}")
            made.append(place)
    return made


def update_place(actor, place, expected_version, name, kind, building, note, zone=None):
    values = _place_values(name, kind, building, note, zone)
    before = f"{place.kind} · {place.name}"
    for key, value in values.items():
        setattr(place, key, value)
    place.save_versioned(expected_version, *values)
    events.record(actor, place, "修改公共部位", note=f"{before} → {place.kind} · {place.name}")
    return place


UNIT_HAS_STAFF = "该业务块还有在用的人员账号，请先停用或调整他们的业务块"


def save_unit(actor, unit, expected_version, name, kind, head="", phone=""):
    """Create (unit None) or edit a business unit; names are unique."""
    name = checked_text(name, 40, "名称", "name", required=True, error=EstateError)
    if kind not in UNIT_KINDS:
        raise EstateError("请选择类别", "kind")
    if Unit.select().where((Unit.name == name) & (Unit.id != (unit.id if unit else 0))).exists():
        raise EstateError("该名称已存在", "name")
    values = dict(name=name, kind=kind, head=checked_text(head, 40, "负责人", "head", error=EstateError),
                  phone=checked_text(phone, 40, "联系电话", "phone", error=EstateError))
    if unit is None:
        unit = Unit.create(**values)
        events.record(actor, unit, "新建业务块", note=f"{unit.kind_label} · {unit.name}")
        return unit
    before = f"{unit.kind_label} · {unit.name} · {unit.head} {unit.phone}"
    for key, value in values.items():
        setattr(unit, key, value)
    unit.save_versioned(expected_version, *values)
    events.record(actor, unit, "修改业务块", note=f"{before} → {unit.kind_label} · {unit.name} · {unit.head} {unit.phone}")
    return unit


def void_unit(actor, unit, reason):
    """Void a business unit that has no active staff."""
    if User.live().where((User.unit == unit) & User.active).exists():
        raise EstateError(UNIT_HAS_STAFF, "reason")
    void(actor, unit, reason)


MAX_BULK_BUILDINGS = 100


def parse_building_codes(text):
    """Building codes typed as a list and ranges: "1-10", "1,2,5-8", "A1 A2"."""
    codes = []
    for part in re.split(r"[,，、;；\s]+", (text or "").strip()):
        if not part:
            continue
        span = re.fullmatch(r"(\d{1,4})[-~－—到至](\d{1,4})", part)
        if span:
            first, last = int(span.group(1)), int(span.group(2))
            if last < first or last - first >= MAX_BULK_BUILDINGS:
                raise EstateError(f"“{part}”不是有效的范围", "codes")
            codes.extend(str(n) for n in range(first, last + 1))
        elif re.fullmatch(r"[0-9A-Za-z]{1,10}", part):
            codes.append(part)
        else:
            raise EstateError(f"“{part}”不是楼栋编号（字母或数字，不含“-”）", "codes")
    if not codes:
        raise EstateError("请填写楼栋编号，如 1-10 或 1,2,5", "codes")
    if len(codes) > MAX_BULK_BUILDINGS:
        raise EstateError(f"一次最多 {MAX_BULK_BUILDINGS} 栋", "codes")
    return list(dict.fromkeys(codes))


def building_ids_by_codes(text, field="building_codes"):
    """The live buildings typed as codes and ranges ("1-25", "1,2,5-8"), for a zone of many buildings."""
    try:
        codes = parse_building_codes(text)
    except EstateError as error:
        raise EstateError(error.message, field)
    found = {b.code: b.id for b in Building.live().where(Building.code.in_(codes))}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise EstateError(f"没有这些楼栋：{'、'.join(unknown)}", field)
    return [found[code] for code in codes]


def bulk_create_buildings(actor, codes_text, name_pattern, units, floor_from, floor_to, rooms_per_floor, pad=False):
    """Several buildings of one layout in one step, each with its households. Names follow the
    pattern with {n} for the code ("{n}号楼"). Returns (buildings, households created)."""
    codes = parse_building_codes(codes_text)
    pattern = (name_pattern or "{n}号楼").strip()
    if "{n}" not in pattern:
        raise EstateError("名称里要有 {n}，代表楼栋编号，如 {n}号楼", "name_pattern")
    taken = [b.code for b in Building.select().where(Building.code.in_(codes))]
    if taken:
        raise EstateError(f"已有这些楼栋：{'、'.join(taken)}", "codes")
    names = [pattern.replace("{n}", code) for code in codes]
    if any(len(name) > 40 for name in names):
        raise EstateError("楼栋名称不能超过 40 个字", "name_pattern")
    made, created = [], 0
    with Building._meta.database.atomic():
        for code, name in zip(codes, names):
            building = create_building(actor, code, name)
            created += bulk_create_households(actor, building, units, floor_from, floor_to, rooms_per_floor, pad)[0]
            made.append(building)
    return made, created


def find_household(text):
    """The live household a typed 栋-单元-室 names, leading zeros or not (1-1-0201 is 1-1-201)."""
    parts = normalize_code(text).split("-")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    found = _HOUSEHOLD_AT(parts[0], int(parts[1]), room_key(parts[2]))
    return found[0] if found else None


# Built once: the intake page asks it at every keystroke of 举一反三.
_HOUSEHOLD_AT = Prepared(Household, lambda code, unit_no, room: (
    Household.live().join(Building)
    .where(Building.code == code, Building.voided_at.is_null(), Household.unit_no == unit_no,
           peewee.fn.ltrim(Household.room, "0") == room).limit(1)), "\x00code", -55_555, "\x00room")


def _room_floor_index(room):
    """(floor, room on the floor) of a room number such as 1502, B101 or 0201; None if it isn't one."""
    room = room_key(room)
    below = room.startswith("B")
    digits = room[1:] if below else room
    if not digits.isdigit() or len(digits) < 3:
        return None
    floor, index = int(digits[:-2]), int(digits[-2:])
    return (-floor if below else floor), index


def nearest_households(text, limit=3):
    """What a mistyped 房号 probably meant: (the household typed without separators, or None;
    the nearest rooms of the building and unit typed, nearest floor first). 32501 is read as 3-2-501."""
    typed = normalize_code(text)
    if typed.isdigit() and len(typed) >= 5:
        # Digits run together: the building, then a one-digit unit, then the room.
        for cut in range(1, len(typed) - 3):
            found = find_household(f"{typed[:cut]}-{typed[cut]}-{typed[cut + 1:]}")
            if found is not None:
                return found, []
        return None, []
    parts = typed.split("-")
    if len(parts) != 3:
        return None, []
    building = Building.live().where(Building.code == parts[0]).first()
    if building is None:
        return None, []
    wanted = _room_floor_index(parts[2])
    unit_no = int(parts[1]) if parts[1].isdigit() else None
    candidates = list(Household.live().where(Household.building == building))

    def distance(household):
        index = (_room_floor_index(household.room) or (household.floor, 0))[1]
        far = (abs(household.floor - wanted[0]), abs(index - wanted[1])) if wanted else (0, 0)
        return (household.unit_no != unit_no, *far, household.unit_no, household.room)

    return None, sorted(candidates, key=distance)[:limit]


def find_in_register(text, limit=20):
    """What a search of 楼栋与房号 finds besides buildings: households by 栋-单元-室 (leading zeros or
    not) or by room number alone (1801), and residents by name or phone. ([], []) for no text."""
    text = (text or "").strip()[:40]
    if not text:
        return [], []
    code = normalize_code(text)
    if "-" in code:
        households = list(Household.search(code, limit=limit))
    elif re.fullmatch(r"[0-9A-Za-z]{3,6}", text):
        households = list(Household.live().join(Building).where(
            Building.voided_at.is_null(), peewee.fn.ltrim(Household.room, "0") == room_key(text))
            .order_by(peewee.fn.LENGTH(Building.code), Building.code, Household.unit_no).limit(limit))
    else:
        households = []
    residents = list(Resident.select(Resident, Household).join(Household).where(
        Resident.voided_at.is_null(), Household.voided_at.is_null(), Resident.name.contains(text) | (Resident.phone == text))
        .order_by(Household.code, Resident.id).limit(limit)) if not re.fullmatch(r"[\d-]{1,6}", text) else []
    return households, residents


def roster(building):
    """A building's live households grouped as {unit_no: {floor: [household, …]}}, top floor first."""
    grouped = {}
    occupied = {r.household_id for r in Resident.select(Resident.household).join(Household)
                .where(Household.building == building, Resident.voided_at.is_null())}
    for household in (Household.live().where(Household.building == building)
                      .order_by(Household.unit_no, Household.floor.desc(), Household.room)):
        household.has_residents = household.id in occupied
        grouped.setdefault(household.unit_no, {}).setdefault(household.floor, []).append(household)
    return grouped


def roster_count(grouped):
    return sum(len(rooms) for floors in grouped.values() for rooms in floors.values())


def void(actor, record, reason):
    """Void a record with a reason; it stays in the database and on the timeline."""
    if not reason.strip():
        raise EstateError(VOID_REASON_MISSING, "reason")
    if len(reason) > MAX_VOID_REASON:
        raise EstateError(f"作废原因不能超过 {MAX_VOID_REASON} 个字", "reason")
    if record.voided_at is not None:
        raise EstateError("该记录已作废", "reason")
    type(record).update(voided_at=clock.utcnow(), void_reason=reason).where(
        type(record)._meta.primary_key == record.get_id()).execute()
    record.voided_at, record.void_reason = clock.utcnow(), reason
    events.record(actor, record, "作废", note=reason)


def set_zone(actor, zone, expected_version, name, note, building_ids, assistant_ids):
    """Save a zone with its buildings and assistants. A building belongs to one zone only."""
    clash = Zone.select().where((Zone.name == name) & (Zone.id != (zone.id if zone else 0))).exists()
    if clash:
        raise EstateError("该区域名称已存在", "name")
    taken = (ZoneBuilding.select(ZoneBuilding, Zone, Building).join(Zone).switch(ZoneBuilding).join(Building)
             .where(ZoneBuilding.building.in_(building_ids) & (Zone.voided_at.is_null())))
    if zone is not None:
        taken = taken.where(ZoneBuilding.zone != zone)
    taken = list(taken)
    if taken:
        names = "、".join(f"{link.building.name}（{link.zone.name}）" for link in taken)
        raise EstateError(f"已属于其他区域：{names}", "buildings")
    with Zone._meta.database.atomic():
        if zone is None:
            zone = Zone.create(name=name, note=note)
            events.record(actor, zone, "新建区域", note=name)
            before_b, before_a = set(), set()
        else:
            zone.name, zone.note = name, note
            zone.save_versioned(expected_version, "name", "note")
            before_b = {link.building_id for link in zone.building_links}
            before_a = {link.user_id for link in zone.assistant_links}
        ZoneBuilding.delete().where(ZoneBuilding.zone == zone).execute()
        ZoneBuilding.insert_many([{"zone": zone.id, "building": b} for b in building_ids]).execute() \
            if building_ids else None
        ZoneAssistant.delete().where(ZoneAssistant.zone == zone).execute()
        ZoneAssistant.insert_many([{"zone": zone.id, "user": u} for u in assistant_ids]).execute() \
            if assistant_ids else None
        if before_b != set(building_ids) or before_a != set(assistant_ids):
            b_names = "、".join(b.name for b in Building.select().where(Building.id.in_(building_ids))) or "无"
            a_names = "、".join(u.display_name for u in User.select().where(User.id.in_(assistant_ids))) or "无"
            events.record(actor, zone, "设置区域范围", note=f"楼栋：{b_names}；客户助理：{a_names}")
    return zone
