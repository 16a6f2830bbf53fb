"""Bringing an estate in from the company's spreadsheets: households, residents, shops and staff.

A file (.xlsx, .xls or .csv in UTF-8 or GBK) is first *planned*: every row is read, checked and
compared with what is on record, giving the rows that are new, changed and unchanged, every row
that can't be taken (its line number and the reason) and the records the file no longer lists.
Nothing is written until `apply`, which plans again inside one transaction and writes all of it or
nothing. Each record is found by its natural key (household by 栋-单元-室, resident by household +
name, shop by 铺位号, user by username), so importing the same file twice changes nothing, and a
record missing from the file is only listed: voiding stays a person's decision.

`export` writes a register in the same columns, so export → edit in Excel → import is a round trip.
"""
import csv
import dataclasses
import datetime
import decimal
import io
import re
import secrets
import unicodedata

import peewee

from . import clock
from . import customers
from . import estate
from . import events
from . import shops
from . import users
from .db import RuleError
from .db import database
from .db import missing
from .db import too_long
from .estate import Building
from .estate import Household
from .estate import Resident
from .estate import Zone
from .estate import room_key
from .estate import ZoneAssistant
from .users import Unit
from .users import User

# The timeline entry of an account a staff file made; the batches are read back from it.
IMPORTED = "导入用户"

MAX_ROWS = 50_000
HEADER_SEARCH_ROWS = 10  # a title line or two above the header row is common in company sheets
SHOWN_MISSING = 200

# Which reader takes .xlsx: both were measured on a 10,000-row residents file (bench/imports.py).
XLSX_READER = "calamine"


class ImportFileError(RuleError):
    """The file as a whole can't be read (wrong type, no header row, a required column missing)."""


class RowError(ValueError):
    """One row can't be taken; the message is shown beside its line number."""


class ImportRefused(RuleError):
    """`apply` found rows it can't take (the data changed since the preview): nothing was written."""

    def __init__(self, plan):
        super().__init__(f"有 {len(plan.refused)} 行不能导入，未写入任何数据")
        self.plan = plan


@dataclasses.dataclass
class Column:
    key: str
    header: str
    aliases: tuple = ()
    required: bool = False
    example: object = ""

    @property
    def names(self):
        return (self.header, *self.aliases)


@dataclasses.dataclass
class Row:
    line: int
    key: tuple
    label: str
    values: dict
    record: object = None
    changes: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Plan:
    kind: str
    filename: str
    new: list = dataclasses.field(default_factory=list)
    changed: list = dataclasses.field(default_factory=list)
    unchanged: list = dataclasses.field(default_factory=list)
    refused: list = dataclasses.field(default_factory=list)  # (line, reason)
    missing: list = dataclasses.field(default_factory=list)  # labels of records not in the file
    ignored_headers: list = dataclasses.field(default_factory=list)
    rows_read: int = 0
    spec: object = None  # the kind's instance that read the register for this plan

    @property
    def can_apply(self):
        return not self.refused and bool(self.new or self.changed)


# Reading files

def read_table(filename, data, reader=None):
    """The first sheet of an .xlsx/.xls file or a .csv file as lists of cell values."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if extension == "csv":
        return _read_csv(data)
    if extension in ("xlsx", "xlsm", "xls"):
        reader = reader or (XLSX_READER if extension != "xls" else "calamine")
        try:
            return _read_calamine(data) if reader == "calamine" else _read_openpyxl(data)
        except Exception:
            raise ImportFileError("这个文件打不开，请确认它是 Excel 文件（.xlsx）", "file")
    raise ImportFileError("只能导入 .xlsx、.xls 或 .csv 文件", "file")


def _read_calamine(data):
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)


def _read_openpyxl(data):
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def decode_text(data):
    """UTF-8 (with or without BOM) when it decodes as such, else GBK (GB18030, its superset)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportFileError("无法识别文件编码，请在 Excel 里另存为 CSV（UTF-8）或 .xlsx", "file")


def _read_csv(data):
    return list(csv.reader(io.StringIO(decode_text(data), newline="")))


def cell_text(value):
    """A cell as text: 201.0 → "201", a date → 2020-05-01, None → ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(decimal.Decimal(repr(value)).normalize(), "f")
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


def _header_name(text):
    text = re.sub(r"[\s*＊:：]", "", cell_text(text))
    return re.sub(r"[（(][^）)]*[）)]$", "", text)


def map_headers(kind, table):
    """(header row index, {column key: cell index}, ignored headers): the header row is the first of
    the top rows naming at least two known columns; names are matched in any order."""
    spec = KINDS[kind]
    lookup = {_header_name(name): column.key for column in spec.columns for name in column.names}
    for index, row in enumerate(table[:HEADER_SEARCH_ROWS]):
        found, ignored = {}, []
        for position, cell in enumerate(row):
            key = lookup.get(_header_name(cell))
            if key is not None and key not in found:
                found[key] = position
            elif cell_text(cell):
                ignored.append(cell_text(cell))
        if len(found) >= 2:
            missing = [c.header for c in spec.columns if c.required and c.key not in found
                       and not any(set(group) <= set(found) for group in spec.alternatives.get(c.key, ()))]
            if missing:
                raise ImportFileError(f"缺少列：{'、'.join(missing)}（表头可用的名称见模板）", "file")
            return index, found, ignored
    raise ImportFileError(f"没有找到表头行：第一行应是列名，如 {'、'.join(c.header for c in spec.columns[:4])}", "file")


def parse_date(text):
    """2020-05-01, 2020/5/1, 2020.5.1, 2020年5月1日, 20200501 or an Excel day number; None for blank."""
    text = cell_text(text)
    if not text:
        return None
    if re.fullmatch(r"\d{5}", text):  # an Excel serial day left unformatted
        return datetime.date(1899, 12, 30) + datetime.timedelta(days=int(text))
    match = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:\s.*)?", text) or \
        re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
    if match:
        try:
            return datetime.date(*map(int, match.groups()))
        except ValueError:
            pass
    raise RowError(f"日期“{text}”看不懂，请写成 2020-05-01")


# Zones and units by the names a company sheet writes

_DASHES = re.compile(r"[\u2010-\u2015\u2212\uff0d~\uff5e\u301c]")
_PARENTHETICAL = re.compile(r"\([^()]*\)")
SHOWN_NAMES = 20


def name_key(text):
    """A name as compared: full-width letters, digits and brackets made half-width (NFKC), dashes
    made one, spaces dropped, case ignored: 一区（1–4号楼） and 一区 (1-4号楼) are the same."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", "", _DASHES.sub("-", text)).casefold()


def _bare_key(key):
    """A name_key without its parenthetical: 一区(1-4号楼) → 一区."""
    return _PARENTHETICAL.sub("", key)


class Names:
    """Finds a zone or a unit by what a sheet writes: its name exactly; or the same after name_key;
    or, with the parenthetical left out on either side, the only one of that name. Two that fit, or
    none, refuse the row, naming the ones that exist."""

    def __init__(self, records, label):
        self.label = label
        self.records = sorted(records, key=lambda r: r.name)
        self.exact = {r.name: r for r in self.records}
        self.full, self.bare = {}, {}
        for record in self.records:
            key = name_key(record.name)
            self.full.setdefault(key, []).append(record)
            self.bare.setdefault(_bare_key(key), []).append(record)

    def __len__(self):
        return len(self.records)

    def only(self):
        return self.records[0] if len(self.records) == 1 else None

    def find(self, text):
        text = (text or "").strip()
        if text in self.exact:
            return self.exact[text]
        key = name_key(text)
        found = self.full.get(key, [])
        if len(found) != 1:
            written_bare = _bare_key(key)
            # One side without a parenthetical: 一区 is 一区（1–4号楼）; 一区（5–8号楼） is not.
            found = [r for r in self.bare.get(written_bare, [])
                     if written_bare == key or _bare_key(name_key(r.name)) == name_key(r.name)]
        if len(found) == 1:
            return found[0]
        if found:
            raise RowError(f"{self.label}“{text}”不止一个：{'、'.join(r.name for r in found)}，请写全名")
        if not self.records:
            raise RowError(f"没有{self.label}“{text}”：还没有建{self.label}")
        names = "、".join(r.name for r in self.records[:SHOWN_NAMES])
        more = f" 等 {len(self.records)} 个" if len(self.records) > SHOWN_NAMES else ""
        raise RowError(f"没有{self.label}“{text}”：现有 {names}{more}")


# Households' addresses

def parse_address(code="", building="", unit="", room=""):
    """(building text, unit number, room) from a 栋-单元-室 code or from its three parts."""
    if not (building or unit) and room and len(estate.normalize_code(room).split("-")) == 3:
        code = room  # a 房号 column holding the whole 栋-单元-室
    if code:
        parts = estate.normalize_code(code).split("-")
        if len(parts) != 3:
            raise RowError(f"房号“{code}”不是 栋-单元-室 的写法，如 3-2-1502")
        building, unit, room = parts
    building = re.sub(r"(号楼|号|栋|幢|座)$", "", building.strip())
    unit = re.sub(r"(单元|号)$", "", unit.strip())
    room = re.sub(r"室$", "", room.strip()).upper()
    if not building or not unit or not room:
        raise RowError("请填写完整的 栋-单元-室")
    if not re.fullmatch(r"\d{1,2}", unit) or int(unit) < 1:
        raise RowError(f"单元“{unit}”应是 1–99 的数字")
    if not re.fullmatch(r"B?\d{1,6}[A-Z]?", room):
        raise RowError(f"室号“{room}”应是数字，如 1502 或 0201")
    return building, int(unit), room


def floor_of(room):
    """Room 1502 is on floor 15, 0201 on floor 2, B101 on B1 (-1)."""
    digits = re.sub(r"[^0-9]", "", room)
    key = digits.lstrip("0")
    if len(key) < 3:
        return None
    floor = int(key[:-2])
    return -floor if room.startswith("B") else floor


class Buildings:
    """Finds a building by what a sheet writes: its code (3), its name (3号楼) or 3栋."""

    def __init__(self):
        self.by = {}
        for building in Building.live():
            for text in (building.code, building.name, building.code.lstrip("0")):
                self.by.setdefault(text, building)

    def find(self, text):
        building = self.by.get(text) or self.by.get(text.lstrip("0"))
        if building is None:
            raise RowError(f"没有 {text} 号楼：请先在“楼栋与房号”里建好楼栋")
        return building


def _households_by_key():
    return {(h.building_id, h.unit_no, room_key(h.room)): h
            for h in Household.select(Household.id, Household.building, Household.unit_no, Household.room,
                                      Household.floor, Household.code, Household.area, Household.note)
            .where(Household.voided_at.is_null())}


def _address_of(row):
    return parse_address(row.get("code", ""), row.get("building", ""), row.get("unit", ""), row.get("room", ""))


# Checks shared by the kinds

def check_phone(text):
    text = cell_text(text)
    try:
        return estate.clean_phone(text)
    except estate.EstateError:
        raise RowError(f"电话“{text}”不是 11 位手机号或带区号的座机号（如 021-58880000）")


def _limit(value, size, label, required=False):
    if required and not value:
        raise RowError(missing(label))
    if len(value) > size:
        raise RowError(too_long(label, size))
    return value


def _area(text):
    if not text:
        return None
    text = text.replace("㎡", "").replace("平方米", "").replace("平米", "").strip()
    if not re.fullmatch(r"\d{1,5}(\.\d{1,2})?", text):
        raise RowError(f"面积“{text}”应是数字，如 89.5")
    return decimal.Decimal(text)


def _decimal_text(value):
    if value is None or value == "":
        return ""
    return format(decimal.Decimal(str(value)).normalize(), "f")


RELATION_WORDS = {"户主": "业主", "产权人": "业主", "房东": "业主", "妻子": "配偶", "丈夫": "配偶", "妻": "配偶",
                  "夫": "配偶", "爱人": "配偶", "儿子": "子女", "女儿": "子女", "子": "子女", "女": "子女",
                  "父亲": "父母", "母亲": "父母", "租客": "租户", "承租人": "租户", "亲属": "家属", "家人": "家属",
                  "": "业主"}


def _relation(text):
    relation = RELATION_WORDS.get(text, text)
    if relation not in estate.RELATIONS:
        raise RowError(f"关系“{text}”应是 {'/'.join(estate.RELATIONS)} 之一")
    return relation


def _tags(text):
    tags = [t for t in re.split(r"[、,，;；/\s]+", text) if t]
    if any(len(t) > 10 for t in tags):
        raise RowError("每个标签不超过 10 个字")
    return tags


def _events_insert(rows):
    for start in range(0, len(rows), 500):
        events.Event.insert_many(rows[start:start + 500]).execute()


def _event(actor, record_type, record_id, action, note):
    return {"at": clock.utcnow(), "actor_id": actor.id if actor else None,
            "actor_name": actor.display_name if actor else "系统", "record_type": record_type,
            "record_id": record_id, "action": action, "from_state": "", "to_state": "", "note": note, "data": ""}


def _source(plan, row):
    return f"导入文件 {plan.filename} 第 {row.line} 行"


# Households

class HouseholdKind:
    label = "房号"
    columns = [
        Column("building", "楼栋", ("楼号", "栋", "幢", "楼栋号", "楼栋编号", "楼宇"), True, "1"),
        Column("unit", "单元", ("单元号",), True, "1"),
        Column("room", "室号", ("室", "房号", "房间号", "门牌号", "户号"), True, "0201"),
        Column("code", "栋-单元-室", ("房屋编号", "完整房号", "房屋"), False, ""),
        Column("floor", "楼层", ("层", "所在楼层"), False, "2"),
        Column("area", "建筑面积", ("面积", "建筑面积㎡", "房屋面积"), False, "89.5"),
        Column("moved_in_on", "入住日期", ("入住时间", "交房日期", "入伙日期"), False, "2020-05-01"),
        Column("note", "备注", ("说明",), False, "朝南"),
    ]
    # A whole 栋-单元-室 column stands in for the three.
    alternatives = {"building": [("code",)], "unit": [("code",)], "room": [("code",)]}
    example_column_skip = {"code"}

    def prepare(self):
        self.buildings = Buildings()
        self.existing = _households_by_key()
        self.profiles = {p.household_id: p for p in customers.HouseholdProfile.select()}

    def read(self, cells):
        building_text, unit_no, room = _address_of(cells)
        building = self.buildings.find(building_text)
        floor_text = cells.get("floor", "")
        if floor_text:
            if not re.fullmatch(r"-?\d{1,2}|B\d", floor_text.upper()):
                raise RowError(f"楼层“{floor_text}”应是数字")
            floor = -int(floor_text[1:]) if floor_text.upper().startswith("B") else int(floor_text)
        else:
            floor = floor_of(room)
            if floor is None:
                raise RowError(f"室号“{room}”看不出楼层，请填写楼层")
        values = {"building": building, "unit_no": unit_no, "room": room, "floor": floor,
                  "area": _area(cells.get("area", "")), "moved_in_on": parse_date(cells.get("moved_in_on", "")),
                  "note": _limit(cells.get("note", ""), 500, "备注")}
        key = (building.id, unit_no, room_key(room))
        existing = self.existing.get(key)
        return key, existing.code if existing else estate.household_code(building, unit_no, room), values

    def compare(self, key, values):
        household = self.existing.get(key)
        if household is None:
            return None, {}
        profile = self.profiles.get(household.id)
        before = {"楼层": str(household.floor), "建筑面积": _decimal_text(household.area),
                  "入住日期": str(profile.moved_in_on or "") if profile else "", "备注": household.note}
        after = {"楼层": str(values["floor"]), "建筑面积": _decimal_text(values["area"]),
                 "入住日期": str(values["moved_in_on"] or ""), "备注": values["note"]}
        # A blank cell leaves what is on record alone (a sheet without 面积 doesn't clear it).
        changes = {k: [before[k], after[k]] for k in after if after[k] and before[k] != after[k]}
        return household, changes

    def missing(self, seen):
        return [h.code for key, h in self.existing.items() if key not in seen]

    def write(self, actor, plan):
        made = []
        now = clock.utcnow()
        for row in plan.new:
            v = row.values
            household_id = Household.insert(
                building=v["building"].id, unit_no=v["unit_no"], floor=v["floor"], room=v["room"], code=row.label,
                area=v["area"], note=v["note"]).execute()
            if v["moved_in_on"]:
                customers.HouseholdProfile.insert(household=household_id, moved_in_on=v["moved_in_on"],
                                                  updated_by=actor.id if actor else None, updated_at=now).execute()
            made.append(_event(actor, "household", household_id, "导入房号", _source(plan, row)))
        for row in plan.changed:
            v, household = row.values, row.record
            update = {Household.floor: v["floor"], Household.version: Household.version + 1}
            if v["area"] is not None:
                update[Household.area] = v["area"]
            if v["note"]:
                update[Household.note] = v["note"]
            Household.update(update).where(Household.id == household.id).execute()
            if v["moved_in_on"]:
                _set_profile(household.id, actor, now, moved_in_on=v["moved_in_on"])
            made.append(_event(actor, "household", household.id, "导入更新房号",
                               _source(plan, row) + "：" + _changes_text(row.changes)))
        _events_insert(made)

    def export_rows(self):
        profiles = {p.household_id: p for p in customers.HouseholdProfile.select()}
        query = (Household.select(Household, Building).join(Building)
                 .where(Household.voided_at.is_null() & Building.voided_at.is_null())
                 .order_by(peewee.fn.LENGTH(Building.code), Building.code, Household.unit_no, Household.floor,
                           Household.room))
        for h in query:
            profile = profiles.get(h.id)
            yield [h.building.code, h.unit_no, h.room, "", h.floor, _decimal_text(h.area),
                   profile.moved_in_on if profile and profile.moved_in_on else "", h.note]


def _set_profile(household_id, actor, now, **values):
    updated = (customers.HouseholdProfile.update(updated_by=actor.id if actor else None, updated_at=now,
                                                 version=customers.HouseholdProfile.version + 1, **values)
               .where(customers.HouseholdProfile.household == household_id).execute())
    if not updated:
        customers.HouseholdProfile.insert(household=household_id, updated_by=actor.id if actor else None,
                                          updated_at=now, **values).execute()


def _changes_text(changes):
    return "；".join(f"{k}：{a or '—'} → {b or '—'}" for k, (a, b) in changes.items())


# Residents

class ResidentKind:
    label = "住户"
    columns = [
        Column("code", "房号", ("栋-单元-室", "房屋编号", "房屋", "完整房号", "住址"), True, "1-1-0201"),
        Column("name", "姓名", ("住户姓名", "业主姓名", "客户姓名", "名字", "住户"), True, "张三"),
        Column("phone", "手机", ("手机号", "手机号码", "联系电话", "电话", "联系方式", "固定电话", "电话号码"), False,
               "13812345678"),
        Column("relation", "关系", ("与房屋关系", "与业主关系", "身份", "住户类型", "类别"), False, "业主"),
        Column("tags", "标签", ("特殊情况", "关注", "住户标签"), False, "独居老人"),
        Column("note", "备注", ("说明",), False, ""),
        Column("building", "楼栋", ("楼号", "栋", "幢"), False, ""),
        Column("unit", "单元", ("单元号",), False, ""),
        Column("room", "室号", ("室", "房间号", "门牌号"), False, ""),
    ]
    alternatives = {"code": [("building", "unit", "room")]}
    example_column_skip = {"building", "unit", "room"}

    def prepare(self):
        self.buildings = Buildings()
        self.households = _households_by_key()
        self.existing = {(r.household_id, r.name): r for r in
                         Resident.select(Resident.id, Resident.household, Resident.name, Resident.phone,
                                         Resident.relation, Resident.note).where(Resident.voided_at.is_null())}
        self.tags = {p.household_id: set(p.tag_list) for p in customers.HouseholdProfile.select(
            customers.HouseholdProfile.household, customers.HouseholdProfile.tags)}
        self.codes = {h.id: h.code for h in self.households.values()}

    def read(self, cells):
        building_text, unit_no, room = _address_of(cells)
        building = self.buildings.find(building_text)
        household = self.households.get((building.id, unit_no, room_key(room)))
        if household is None:
            raise RowError(f"没有房号 {building.code}-{unit_no}-{room}：请先生成或导入房号")
        name = _limit(cells.get("name", ""), 40, "姓名", required=True)
        values = {"household": household, "name": name, "phone": check_phone(cells.get("phone", "")),
                  "relation": _relation(cells.get("relation", "")), "tags": _tags(cells.get("tags", "")),
                  "note": _limit(cells.get("note", ""), 200, "备注")}
        return (household.id, name), f"{household.code} {name}", values

    def compare(self, key, values):
        resident = self.existing.get(key)
        missing_tags = [t for t in values["tags"] if t not in self.tags.get(key[0], set())]
        if resident is None:
            return None, {}
        changes = {}
        for label, field in (("电话", "phone"), ("关系", "relation"), ("备注", "note")):
            if values[field] and values[field] != getattr(resident, field):
                changes[label] = [getattr(resident, field), values[field]]
        if missing_tags:
            changes["标签"] = ["", "、".join(missing_tags)]
        return resident, changes

    def missing(self, seen):
        return [f"{self.codes.get(household_id, '?')} {name}" for (household_id, name) in self.existing
                if (household_id, name) not in seen]

    def write(self, actor, plan):
        made = []
        now = clock.utcnow()
        tags = {}
        rows = [{"household": row.values["household"].id, "name": row.values["name"], "phone": row.values["phone"],
                 "relation": row.values["relation"], "note": row.values["note"]} for row in plan.new]
        for start in range(0, len(rows), 500):
            Resident.insert_many(rows[start:start + 500]).execute()
        for row in plan.new:
            v = row.values
            made.append(_event(actor, "household", v["household"].id, "导入住户",
                               f"{v['name']}（{v['relation']}）· {_source(plan, row)}"))
            tags.setdefault(v["household"].id, []).extend(v["tags"])
        for row in plan.changed:
            v, resident = row.values, row.record
            update = {Resident.version: Resident.version + 1}
            for field in ("phone", "relation", "note"):
                if v[field]:
                    update[getattr(Resident, field)] = v[field]
            Resident.update(update).where(Resident.id == resident.id).execute()
            made.append(_event(actor, "household", v["household"].id, "导入更新住户",
                               f"{v['name']}：{_changes_text(row.changes)} · {_source(plan, row)}"))
            tags.setdefault(v["household"].id, []).extend(v["tags"])
        for household_id, added in tags.items():
            have = self.tags.get(household_id, set())
            new_tags = [t for t in dict.fromkeys(added) if t not in have]
            if new_tags:
                old = [t for t in self._profile_tags(household_id)]
                merged = "、".join(dict.fromkeys(old + new_tags))[:120]
                _set_profile(household_id, actor, now, tags=merged)
        _events_insert(made)

    def _profile_tags(self, household_id):
        profile = customers.HouseholdProfile.get_or_none(customers.HouseholdProfile.household == household_id)
        return profile.tag_list if profile else []

    def export_rows(self):
        tags = {p.household_id: p.tags for p in customers.HouseholdProfile.select()}
        query = (Resident.select(Resident, Household).join(Household).join(Building)
                 .where(Resident.voided_at.is_null() & Household.voided_at.is_null() & Building.voided_at.is_null())
                 .order_by(peewee.fn.LENGTH(Building.code), Building.code, Household.unit_no, Household.floor,
                           Household.room, Resident.id))
        for r in query:
            yield [r.household.code, r.name, r.phone, r.relation, tags.get(r.household_id, ""), r.note, "", "", ""]


# Shops

class ShopKind:
    label = "商铺"
    columns = [
        Column("unit_no", "铺位号", ("铺位", "商铺编号", "商铺号", "门牌号"), True, "S-101"),
        Column("name", "店名", ("商铺名称", "店铺名称", "名称", "招牌"), True, "好邻居便利店"),
        Column("business_type", "经营类型", ("类型", "业态", "经营业态"), False, "零售"),
        Column("state", "状态", ("经营状态",), False, "营业"),
        Column("operator_name", "经营者", ("经营者姓名", "负责人", "联系人", "经营人"), True, "王五"),
        Column("operator_phone", "经营者电话", ("联系电话", "电话", "手机", "经营者手机"), False, "13912345678"),
        Column("zone", "管辖区域", ("区域",), False, ""),
        Column("credit_code", "统一社会信用代码", ("信用代码", "营业执照号", "执照号码", "营业执照编号"), False,
               "91310115MA1H7GXX83"),
        Column("holder", "执照名称", ("营业执照名称", "执照上的名称"), False, "上海好邻居商贸有限公司"),
        Column("valid_until", "执照有效期", ("有效期至", "营业执照有效期", "有效期", "执照到期"), False, "2030-12-31"),
        Column("note", "备注", ("说明",), False, ""),
    ]
    alternatives = {}
    example_column_skip = set()

    def prepare(self):
        self.existing = {s.unit_no: s for s in shops.Shop.live().select(shops.Shop, Zone).join(Zone)}
        self.zones = Names(Zone.live(), "管辖区域")
        self.licences = {}
        for licence in shops.Licence.live().order_by(shops.Licence.recorded_at, shops.Licence.id):
            self.licences[licence.shop_id] = licence

    def read(self, cells):
        unit_no = _limit(cells.get("unit_no", ""), 20, "铺位号", required=True)
        business_type = cells.get("business_type", "") or "其他"
        if business_type not in shops.TYPES:
            raise RowError(f"经营类型“{business_type}”应是 {'/'.join(shops.TYPES)} 之一")
        state = cells.get("state", "") or "营业"
        if state not in shops.STATES:
            raise RowError(f"状态“{state}”应是 {'/'.join(shops.STATES)} 之一")
        zone_name = cells.get("zone", "")
        if zone_name:
            zone = self.zones.find(zone_name)
        elif unit_no in self.existing:
            zone = self.existing[unit_no].zone
        elif self.zones.only() is not None:
            zone = self.zones.only()
        else:
            raise RowError("请填写管辖区域" if self.zones else "还没有管辖区域：请先建好管辖区域")
        code = cells.get("credit_code", "")
        if code:
            try:
                code = shops.check_credit_code(code)
            except shops.ShopError as error:
                raise RowError(error.message)
        values = {"unit_no": unit_no, "name": _limit(cells.get("name", ""), 60, "店名", required=True),
                  "business_type": business_type, "state": state,
                  "operator_name": _limit(cells.get("operator_name", ""), 40, "经营者", required=True),
                  "operator_phone": check_phone(cells.get("operator_phone", "")), "zone": zone,
                  "note": _limit(cells.get("note", ""), 1000, "备注"), "credit_code": code,
                  "holder": _limit(cells.get("holder", ""), 60, "执照名称"),
                  "valid_until": parse_date(cells.get("valid_until", ""))}
        return (unit_no,), f"{unit_no} {values['name']}", values

    def _fields(self, values):
        return {k: values[k] for k in ("name", "unit_no", "business_type", "operator_name", "operator_phone",
                                       "state", "zone", "note")}

    def compare(self, key, values):
        shop = self.existing.get(key[0])
        if shop is None:
            return None, {}
        changes = {}
        for field, label in shops.FIELDS.items():
            if field not in values or (field == "note" and not values["note"]):
                continue
            before, after = getattr(shop, field), values[field]
            if field == "zone":
                before, after = shop.zone.name, after.name
            if (before or "") != (after or ""):
                changes[label] = [before, after]
        licence = self.licences.get(shop.id)
        if values["credit_code"] and (licence is None or licence.credit_code != values["credit_code"]
                                      or licence.valid_until != values["valid_until"]):
            changes["营业执照"] = [licence.credit_code if licence else "", values["credit_code"]]
        return shop, changes

    def missing(self, seen):
        return [f"{s.unit_no} {s.name}" for unit_no, s in self.existing.items() if (unit_no,) not in seen]

    def write(self, actor, plan):
        for row in plan.new:
            shop, _ = shops.register(actor, **self._fields(row.values))
            self._licence(actor, shop, row.values)
            events.record(actor, shop, "导入商铺", note=_source(plan, row))
        for row in plan.changed:
            shop = row.record
            fields = self._fields(row.values)
            if not fields["note"]:
                fields["note"] = shop.note
            if any(label != "营业执照" for label in row.changes):
                shops.update(actor, shop, shop.version, **fields)
            if "营业执照" in row.changes:
                self._licence(actor, shop, row.values)
            events.record(actor, shop, "导入更新商铺", note=_source(plan, row))

    def _licence(self, actor, shop, values):
        if values["credit_code"]:
            shops.record_licence(actor, shop, values["credit_code"], values["holder"] or values["name"],
                                 valid_until=values["valid_until"])

    def export_rows(self):
        licences = {}
        for licence in shops.Licence.live().order_by(shops.Licence.recorded_at, shops.Licence.id):
            licences[licence.shop_id] = licence
        for s in shops.Shop.live().select(shops.Shop, Zone).join(Zone).order_by(shops.Shop.unit_no):
            licence = licences.get(s.id)
            yield [s.unit_no, s.name, s.business_type, s.state, s.operator_name, s.operator_phone, s.zone.name,
                   licence.credit_code if licence else "", licence.holder if licence else "",
                   licence.valid_until if licence and licence.valid_until else "", s.note]


# Staff users

ROLE_WORDS = {**{label: key for key, label in users.ROLES.items()}, "主管": "supervisor", "助理": "assistant",
              "客服助理": "assistant", "前台客服": "frontdesk"}


class UserKind:
    label = "用户"
    columns = [
        Column("username", "用户名", ("账号", "登录名", "工号"), True, "zhuli3"),
        Column("display_name", "姓名", ("名字", "员工姓名"), True, "李四"),
        Column("role", "角色", ("岗位", "职务"), True, "客户助理"),
        Column("place", "管辖区域或业务块", ("管辖区域", "业务块", "所属业务块", "部门", "区域"), False, "一区"),
        Column("phone", "手机", ("手机号", "手机号码", "联系电话", "电话"), False, "13812345678"),
        Column("password", "初始密码", ("密码",), False, ""),
    ]
    alternatives = {}
    example_column_skip = set()

    def prepare(self):
        self.existing = {u.username: u for u in User.live()}
        self.zones = Names(Zone.live(), "管辖区域")
        self.units = Names(Unit.live(), "业务块")
        self.links = {(link.user_id, link.zone_id) for link in ZoneAssistant.select()}

    def read(self, cells):
        username = cells.get("username", "")
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", username):
            raise RowError(f"用户名“{username}”只能用字母、数字、下划线、点和横线（不超过 40 个）")
        role = ROLE_WORDS.get(cells.get("role", ""))
        if role is None:
            raise RowError(f"角色“{cells.get('role', '')}”应是 {'/'.join(users.ROLES.values())} 之一")
        place = cells.get("place", "")
        zone = unit = None
        if role == "unit":
            if not place:
                raise RowError("业务块人员须填写所属业务块")
            unit = self.units.find(place)
        elif role == "assistant" and place:
            zone = self.zones.find(place)
        password = cells.get("password", "")
        if password:
            try:
                users.check_password_strength(password)
            except users.UserError as error:
                raise RowError(error.message)
        phone = check_phone(cells.get("phone", ""))
        values = {"username": username, "display_name": _limit(cells.get("display_name", ""), 40, "姓名", True),
                  "role": role, "zone": zone, "unit": unit, "phone": phone, "password": password}
        return (username,), f"{username} {values['display_name']}", values

    def compare(self, key, values):
        user = self.existing.get(key[0])
        if user is None:
            return None, {}
        changes = {}
        if values["display_name"] != user.display_name:
            changes["姓名"] = [user.display_name, values["display_name"]]
        if values["role"] != user.role:
            changes["角色"] = [user.role_label, users.ROLES[values["role"]]]
        if (values["unit"].id if values["unit"] else None) != user.unit_id and values["role"] == "unit":
            changes["业务块"] = ["", values["unit"].name]
        if values["phone"] and values["phone"] != user.phone:
            changes["手机"] = [user.phone, values["phone"]]
        if values["zone"] is not None and (user.id, values["zone"].id) not in self.links:
            changes["管辖区域"] = ["", values["zone"].name]
        return user, changes

    def missing(self, seen):
        return [f"{u.username} {u.display_name}" for name, u in self.existing.items() if (name,) not in seen]

    def write(self, actor, plan):
        plan.passwords = []
        # The accounts this file made, for a sheet made again later (import_batches).
        plan.batch = secrets.token_hex(6)
        for row in plan.new:
            v = row.values
            password = v["password"] or initial_password()
            user = users.create_user(actor, v["username"], v["display_name"], v["role"], password, unit=v["unit"],
                                     phone=v["phone"], check_strength=False)
            if not v["password"]:
                place = v["zone"].name if v["zone"] else v["unit"].name if v["unit"] else ""
                plan.passwords.append(_slip(user, password, place))
            self._zone(actor, user, v)
            events.record(actor, user, IMPORTED, note=_source(plan, row), batch=plan.batch, file=plan.filename)
        for row in plan.changed:
            v, user = row.values, row.record
            if set(row.changes) - {"管辖区域"}:
                try:
                    users.update_user(actor, user, user.version, v["display_name"], v["role"], v["unit"],
                                      v["phone"] or user.phone, user.active)
                except users.UserError as error:
                    raise ImportRowFailed(row.line, error.message)
            self._zone(actor, user, v)
            events.record(actor, user, "导入更新用户", note=_source(plan, row) + "：" + _changes_text(row.changes))

    def _zone(self, actor, user, values):
        zone = values["zone"]
        if zone is not None and (user.id, zone.id) not in self.links:
            ZoneAssistant.insert(zone=zone.id, user=user.id).on_conflict_ignore().execute()
            events.record(actor, zone, "设置区域范围", note=f"导入：客户助理 {user.display_name}")

    def export_rows(self):
        zones = {}
        for link in ZoneAssistant.select(ZoneAssistant, Zone).join(Zone).where(Zone.voided_at.is_null()):
            zones.setdefault(link.user_id, link.zone.name)
        units = {u.id: u.name for u in Unit.select()}
        for u in User.live().order_by(User.role, User.username):
            place = units.get(u.unit_id, "") if u.role == "unit" else zones.get(u.id, "")
            yield [u.username, u.display_name, users.ROLES[u.role], place, u.phone, ""]


# Initial passwords: shown once, never stored; made again for an import's accounts never signed in

PASSWORD_LETTERS = "abcdefghjkmnpqrstuvwxyz"  # no i, l, o: nothing to mistake for 1 or 0 on paper
PASSWORD_DIGITS = "23456789"
PASSWORD_LENGTH = 10
REISSUED = "重新生成初始密码"


def initial_password():
    """Ten lower-case letters and digits, at least two of each, none that read alike (0/o, 1/l/i)."""
    while True:
        password = "".join(secrets.choice(PASSWORD_LETTERS + PASSWORD_DIGITS) for _ in range(PASSWORD_LENGTH))
        digits = sum(c in PASSWORD_DIGITS for c in password)
        if 2 <= digits <= PASSWORD_LENGTH - 2:
            return password


def _slip(user, password, place):
    """One person's line on the initial password sheet (never stored)."""
    return {"username": user.username, "display_name": user.display_name, "role": user.role_label,
            "place_label": "业务块" if user.role == "unit" else "管辖区域", "place": place, "password": password}


def _place_of(user):
    if user.role == "unit":
        return user.unit.name if user.unit_id else ""
    return "、".join(z.name for z in Zone.of_assistant(user).order_by(Zone.name))


@dataclasses.dataclass
class ImportBatch:
    """The accounts one staff file made."""
    key: str
    filename: str
    at: datetime.datetime
    accounts: list
    never_signed_in: list


def signed_in(user_ids):
    """The ids among `user_ids` of accounts that have ever signed in: a 登录 on their timeline (every
    sign-in through the sign-in page writes one), or a sign-in open now."""
    user_ids = list(user_ids)
    if not user_ids:
        return set()
    found = {row[0] for row in events.Event.select(events.Event.record_id).where(
        (events.Event.record_type == "user") & events.Event.record_id.in_(user_ids)
        & (events.Event.action == users.SIGNED_IN)).tuples()}
    found |= {row[0] for row in users.SignIn.select(users.SignIn.user).where(users.SignIn.user.in_(user_ids)).tuples()}
    return found


def import_batches(only_reissuable=False, limit=None):
    """The staff imports that made accounts, newest first; with only_reissuable, those with an account
    still live, enabled and never signed in."""
    grouped = {}
    for event in (events.Event.select().where((events.Event.action == IMPORTED) & (events.Event.record_type == "user"))
                  .order_by(events.Event.id)):
        details = event.details
        if "batch" in details:
            batch = grouped.setdefault(details["batch"], {"file": details.get("file", ""), "at": event.at, "ids": []})
            batch["ids"].append(event.record_id)
    result = []
    for key, found in reversed(grouped.items()):
        by_id = {u.id: u for u in User.live().where(User.id.in_(found["ids"]))}
        accounts = [by_id[i] for i in found["ids"] if i in by_id]
        seen = signed_in(by_id)
        waiting = [u for u in accounts if u.active and u.id not in seen]
        if only_reissuable and not waiting:
            continue
        result.append(ImportBatch(key=key, filename=found["file"], at=found["at"], accounts=accounts,
                                  never_signed_in=waiting))
        if limit and len(result) >= limit:
            break
    return result


def import_batch(key):
    """One staff import by its key, or None."""
    if not re.fullmatch(r"[0-9a-f]{12}", key or ""):
        return None
    return next((b for b in import_batches() if b.key == key), None)


def reissue_passwords(actor, key):
    """New initial passwords for the accounts of an import that have never signed in, each on its
    timeline; returns the sheet's lines (shown once, never stored)."""
    with database.atomic():
        batch = import_batch(key)
        if batch is None:
            raise RuleError("没有这次导入")
        if not batch.never_signed_in:
            raise RuleError("这次导入的账号都已登录过，不用重新生成；个别人忘了密码，请在其账号页重置密码")
        sheet = []
        for user in batch.never_signed_in:
            password = initial_password()
            users.reset_password(actor, user, password, action=REISSUED,
                                 note=f"导入文件 {batch.filename} 的账号，从未登录")
            sheet.append(_slip(user, password, _place_of(user)))
    return sheet


class ImportRowFailed(RuleError):
    def __init__(self, line, message):
        super().__init__(f"第 {line} 行：{message}（未写入任何数据）")


# Each plan makes its own instance: what it reads of the register stays with that plan, so two
# administrators (two threads of a worker) importing at once don't share it.
KINDS = {"households": HouseholdKind, "residents": ResidentKind, "shops": ShopKind, "users": UserKind}
KIND_LABELS = {"households": "房号", "residents": "住户", "shops": "商铺", "users": "人员账号"}


def plan(kind, filename, data, reader=None):
    """Read and check a file against what is on record; writes nothing."""
    spec = KINDS[kind]()
    table = read_table(filename, data, reader)
    header_index, positions, ignored = map_headers(kind, table)
    if len(table) - header_index - 1 > MAX_ROWS:
        raise ImportFileError(f"一次最多导入 {MAX_ROWS} 行，请分成几个文件", "file")
    spec.prepare()
    result = Plan(kind=kind, filename=filename, ignored_headers=ignored, spec=spec)
    seen = {}
    for index in range(header_index + 1, len(table)):
        raw = table[index]
        cells = {key: cell_text(raw[pos]) if pos < len(raw) else "" for key, pos in positions.items()}
        if not any(cells.values()):
            continue
        line = index + 1
        result.rows_read += 1
        try:
            key, label, values = spec.read(cells)
            if key in seen:
                raise RowError(f"与第 {seen[key]} 行重复（{label}）")
            seen[key] = line
            record, changes = spec.compare(key, values)
        except RowError as error:
            result.refused.append((line, str(error)))
            continue
        row = Row(line=line, key=key, label=label, values=values, record=record, changes=changes)
        if record is None:
            result.new.append(row)
        elif changes:
            result.changed.append(row)
        else:
            result.unchanged.append(row)
    result.missing = spec.missing(seen)
    if not result.rows_read:
        raise ImportFileError("表头下面没有数据行", "file")
    return result


def apply(actor, kind, filename, data, reader=None):
    """Plan the file again and write it in one transaction: every row or none. Returns the plan."""
    with database.atomic():
        result = plan(kind, filename, data, reader)
        if result.refused:
            raise ImportRefused(result)
        result.spec.write(actor, result)
    return result


# Templates and exports

def headers(kind):
    return [c.header for c in KINDS[kind].columns if c.key not in KINDS[kind].example_column_skip]


def _visible(kind, row):
    skip = KINDS[kind].example_column_skip
    return [value for column, value in zip(KINDS[kind].columns, row) if column.key not in skip]


def template(kind):
    """An .xlsx with the Chinese headers and one example row."""
    example = [c.example for c in KINDS[kind].columns]
    return _xlsx(kind, [_visible(kind, example)])


def export(kind):
    """The register in the import's columns, as .xlsx."""
    return _xlsx(kind, [_visible(kind, row) for row in KINDS[kind]().export_rows()])


def _xlsx(kind, rows):
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(KIND_LABELS[kind])
    sheet.append(headers(kind))
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value if value != "" else None)
            if isinstance(value, datetime.date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, str):
                cell.number_format = "@"  # text: 0201 and phone numbers keep their leading zeros
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
