"""Bringing an estate in from spreadsheets: headers in any order, GBK and UTF-8 CSV, every refused
row with its line number, idempotent re-import, all or nothing, export → import as a round trip."""
import datetime
import decimal
import io

import openpyxl
import pytest

from conftest import FROZEN
from kefu import customers
from kefu import estate
from kefu import imports
from kefu import shops
from kefu import users
from kefu.db import RuleError
from kefu.events import Event

GOOD_CODE = "91310115MA1H7GXX83"  # checked below with python-stdnum; see test_credit_code_check_digit


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(FROZEN, tick=False)


@pytest.fixture
def admin(people):
    return people["admin"]


@pytest.fixture
def building(admin):
    made = estate.create_building(admin, "1", "1号楼")
    estate.bulk_create_households(admin, made, 2, 1, 3, 2)  # 1-1-101 … 1-2-302
    return made


def xlsx(rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding="utf-8"):
    return "\r\n".join(",".join(str(c) for c in row) for row in rows).encode(encoding)


def refused(plan):
    return dict(plan.refused)


def test_credit_code_check_digit():
    assert shops.check_credit_code(GOOD_CODE) == GOOD_CODE


# Households

def test_households_headers_in_any_order_with_padded_rooms(app, admin, building):
    data = xlsx([["小区业主档案"],  # a title line above the header row
                 ["备注", "室号", "面积", "单元", "楼栋", "入住日期"],
                 ["朝南", "0201", 89.5, 1, "1号楼", datetime.date(2020, 5, 1)],
                 ["", "0501", "", 1, "1", ""],
                 ["", "101", "", "2", "1栋", ""]])
    plan = imports.plan("households", "档案.xlsx", data)
    assert not plan.refused
    assert [r.label for r in plan.new] == ["1-1-0501"]  # 0201 is room 201, generated already
    assert [r.label for r in plan.changed] == ["1-1-201"]
    assert plan.changed[0].changes == {"建筑面积": ["", "89.5"], "入住日期": ["", "2020-05-01"], "备注": ["", "朝南"]}
    assert [r.label for r in plan.unchanged] == ["1-2-101"]
    assert estate.Household.live().count() == 12  # nothing written by the preview

    imports.apply(admin, "households", "档案.xlsx", data)
    room = estate.Household.get(estate.Household.code == "1-1-201")
    assert room.area == decimal.Decimal("89.5") and room.note == "朝南"
    profile = customers.HouseholdProfile.get(customers.HouseholdProfile.household == room)
    assert profile.moved_in_on == datetime.date(2020, 5, 1)
    new = estate.Household.get(estate.Household.code == "1-1-0501")
    assert new.floor == 5
    notes = [e.note for e in Event.select().where((Event.record_type == "household") & (Event.record_id == new.id))]
    assert notes == ["导入文件 档案.xlsx 第 4 行"]

    again = imports.plan("households", "档案.xlsx", data)
    assert (len(again.new), len(again.changed), len(again.unchanged)) == (0, 0, 3)


@pytest.mark.parametrize("row, reason", [
    (["9", "1", "101"], "没有 9 号楼"),
    (["1", "一", "101"], "单元“一”应是 1–99 的数字"),
    (["1", "1", "十楼"], "室号“十楼”应是数字"),
    (["1", "1", ""], "请填写完整的 栋-单元-室"),
    (["1", "1", "12"], "看不出楼层"),
    (["1", "1", "301", "", "八十"], "面积“八十”应是数字"),
    (["1", "1", "301", "", "", "明年"], "日期“明年”看不懂"),
])
def test_households_refusals_by_line(app, admin, building, row, reason):
    data = csv_bytes([["楼栋", "单元", "室号", "楼层", "面积", "入住日期"], ["1", "1", "101"], row])
    plan = imports.plan("households", "a.csv", data)
    assert list(refused(plan)) == [3]
    assert reason in refused(plan)[3]


def test_duplicate_within_file_names_the_first_line(app, admin, building):
    data = csv_bytes([["楼栋", "单元", "室号"], ["1", "1", "101"], ["1", "1", "0101"]])
    assert refused(imports.plan("households", "a.csv", data)) == {3: "与第 2 行重复（1-1-101）"}


def test_missing_column_refuses_the_file(app, admin, building):
    with pytest.raises(imports.ImportFileError, match="缺少列：室号"):
        imports.plan("households", "a.csv", csv_bytes([["楼栋", "单元", "面积"], ["1", "1", "80"]]))


def test_not_a_spreadsheet(app, admin):
    with pytest.raises(imports.ImportFileError, match="只能导入"):
        imports.plan("households", "a.pdf", b"%PDF")


# Residents

RESIDENTS = [["房号", "姓名", "联系电话", "关系", "标签"],
             ["1-1-0201", "张三", "13812345678", "户主", "独居老人"],
             ["1-1-201", "李四", "021-58880000", "妻子", ""],
             ["1-2-302", "王五", "", "租客", ""]]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-8-sig"])
def test_residents_from_csv_in_gbk_or_utf8(app, admin, building, encoding):
    plan = imports.plan("residents", "住户.csv", csv_bytes(RESIDENTS, encoding))
    assert not plan.refused
    assert [(r.label, r.values["relation"]) for r in plan.new] == [
        ("1-1-201 张三", "业主"), ("1-1-201 李四", "配偶"), ("1-2-302 王五", "租户")]


def test_residents_import_is_idempotent_and_lists_who_left(app, admin, building):
    data = csv_bytes(RESIDENTS, "gbk")
    imports.apply(admin, "residents", "住户.csv", data)
    room = estate.Household.get(estate.Household.code == "1-1-201")
    assert [(r.name, r.phone, r.relation) for r in estate.Resident.of(room)] == [
        ("张三", "13812345678", "业主"), ("李四", "021-58880000", "配偶")]
    assert customers.HouseholdProfile.get(customers.HouseholdProfile.household == room).tag_list == ["独居老人"]
    timeline = [e.note for e in Event.select().where((Event.record_type == "household") & (Event.record_id == room.id))
                .order_by(Event.id) if e.action == "导入住户"]
    assert timeline == ["张三（业主）· 导入文件 住户.csv 第 2 行", "李四（配偶）· 导入文件 住户.csv 第 3 行"]
    count = Event.select().count()

    again = imports.plan("residents", "住户.csv", data)
    assert (len(again.new), len(again.changed), len(again.unchanged)) == (0, 0, 3)
    nothing = imports.apply(admin, "residents", "住户.csv", data)
    assert not nothing.new and not nothing.changed
    assert Event.select().count() == count

    changed = csv_bytes(RESIDENTS[:2] + [["1-1-201", "李四", "13900000000", "妻子", ""]], "gbk")
    plan = imports.plan("residents", "住户2.csv", changed)
    assert [r.changes for r in plan.changed] == [{"电话": ["021-58880000", "13900000000"]}]
    assert plan.missing == ["1-2-302 王五"]
    imports.apply(admin, "residents", "住户2.csv", changed)
    assert estate.Resident.live().count() == 3  # 王五 left the file, not the register


@pytest.mark.parametrize("row, reason", [
    (["1-1-9901", "赵六", "", "业主", ""], "没有房号 1-1-9901"),
    (["1-1", "赵六", "", "业主", ""], "不是 栋-单元-室 的写法"),
    (["1-1-201", "赵六", "1381234567", "业主", ""], "电话“1381234567”不是 11 位手机号"),
    (["1-1-201", "赵六", "58880000", "业主", ""], "带区号的座机号"),
    (["1-1-201", "赵六", "", "朋友", ""], "关系“朋友”应是"),
    (["1-1-201", "", "", "业主", ""], "请填写姓名"),
])
def test_resident_refusals_by_line(app, admin, building, row, reason):
    plan = imports.plan("residents", "a.csv", csv_bytes(RESIDENTS + [row]))
    assert list(refused(plan)) == [5]
    assert reason in refused(plan)[5]


def test_all_or_nothing_when_the_last_row_goes_bad_before_confirming(app, admin, building):
    data = csv_bytes(RESIDENTS)
    assert not imports.plan("residents", "a.csv", data).refused
    estate.void(admin, estate.Household.get(estate.Household.code == "1-2-302"), "录错了")  # after the preview
    with pytest.raises(imports.ImportRefused) as refusal:
        imports.apply(admin, "residents", "a.csv", data)
    assert refused(refusal.value.plan) == {4: "没有房号 1-2-302：请先生成或导入房号"}
    assert estate.Resident.select().count() == 0


def test_all_or_nothing_when_writing_fails_late(app, admin, building, monkeypatch):
    count = Event.select().count()
    original = imports._events_insert

    def fail(rows):
        original(rows)
        raise RuntimeError("disk full")

    monkeypatch.setattr(imports, "_events_insert", fail)
    with pytest.raises(RuntimeError):
        imports.apply(admin, "residents", "a.csv", csv_bytes(RESIDENTS))
    assert estate.Resident.select().count() == 0
    assert customers.HouseholdProfile.select().count() == 0
    assert Event.select().count() == count


# Shops

@pytest.fixture
def zone(admin, building):
    return estate.set_zone(admin, None, 0, "一区", "", [building.id], [])


SHOPS = [["店名", "铺位号", "经营者", "电话", "类型", "统一社会信用代码", "有效期至"],
         ["好邻居便利店", "S-101", "王五", "13912345678", "零售", GOOD_CODE, "2030-12-31"],
         ["小面馆", "S-102", "赵六", "", "餐饮", "", ""]]


def test_shops_import_and_reimport(app, admin, zone):
    plan = imports.plan("shops", "商铺.xlsx", xlsx(SHOPS))
    assert not plan.refused and len(plan.new) == 2
    imports.apply(admin, "shops", "商铺.xlsx", xlsx(SHOPS))
    shop = shops.Shop.get(shops.Shop.unit_no == "S-101")
    assert (shop.name, shop.zone.name, shop.state, shop.checkpoint_id is not None) == ("好邻居便利店", "一区", "营业", True)
    assert shops.licence_of(shop).valid_until == datetime.date(2030, 12, 31)
    again = imports.plan("shops", "商铺.xlsx", xlsx(SHOPS))
    assert (len(again.new), len(again.changed), len(again.unchanged)) == (0, 0, 2)


@pytest.mark.parametrize("row, reason", [
    (["坏码店", "S-103", "钱七", "", "零售", GOOD_CODE[:-1] + "4", ""], "校验位不对"),
    (["坏码店", "S-103", "钱七", "", "零售", "123", ""], "应为 18 位"),
    (["坏码店", "S-103", "钱七", "", "网吧", "", ""], "经营类型“网吧”"),
    (["坏码店", "S-101", "钱七", "", "零售", "", ""], "与第 2 行重复"),
])
def test_shop_refusals_by_line(app, admin, zone, row, reason):
    plan = imports.plan("shops", "a.xlsx", xlsx(SHOPS + [row]))
    assert list(refused(plan)) == [4]
    assert reason in refused(plan)[4]


# Users

def test_users_import_with_zone_and_unit(app, admin, zone, unit):
    data = csv_bytes([["姓名", "用户名", "角色", "管辖区域或业务块", "手机"],
                      ["李助理", "zhuli9", "客户助理", "一区", "13812345678"],
                      ["陈师傅", "gc9", "业务块", "工程部", ""],
                      ["无名", "bad name", "前台", "", ""],
                      ["周", "zhou", "保安", "", ""]])
    plan = imports.plan("users", "人员.csv", data)
    assert refused(plan) == {4: "用户名“bad name”只能用字母、数字、下划线、点和横线（不超过 40 个）",
                             5: "角色“保安”应是 管理员/客服主管/客户助理/前台/业务块 之一"}
    good = csv_bytes([["姓名", "用户名", "角色", "管辖区域或业务块", "手机"],
                      ["李助理", "zhuli9", "客户助理", "一区", "13812345678"],
                      ["陈师傅", "gc9", "业务块", "工程部", ""]])
    result = imports.apply(admin, "users", "人员.csv", good)
    assert [(p["username"], p["role"], p["place"]) for p in result.passwords] == [
        ("zhuli9", "客户助理", "一区"), ("gc9", "业务块", "工程部")]
    assistant = users.User.get(users.User.username == "zhuli9")
    assert [z.name for z in estate.Zone.of_assistant(assistant)] == ["一区"]
    assert users.User.get(users.User.username == "gc9").unit_id == unit.id
    again = imports.plan("users", "人员.csv", good)
    assert (len(again.new), len(again.changed)) == (0, 0)


def staff(*rows):
    return csv_bytes([["姓名", "用户名", "角色", "管辖区域或业务块"], *rows])


@pytest.fixture
def zones(admin):
    """Zones named as an estate names them: with a parenthetical, full-width or half-width."""
    return [estate.set_zone(admin, None, 0, name, "", [], [])
            for name in ("一区（1–4号楼）", "二区(5-8号楼)", "Ｃ3区", "东区（一期）", "东区（二期）")]


@pytest.mark.parametrize("written, zone", [
    ("一区（1–4号楼）", "一区（1–4号楼）"),
    ("一区", "一区（1–4号楼）"),
    (" 一区 ", "一区（1–4号楼）"),
    ("一区(1-4号楼)", "一区（1–4号楼）"),
    ("一区 （1-4号楼）", "一区（1–4号楼）"),
    ("二区", "二区(5-8号楼)"),
    ("二区（5－8号楼）", "二区(5-8号楼)"),
    ("C3区", "Ｃ3区"),
    ("ｃ３区", "Ｃ3区"),
    ("东区(二期)", "东区（二期）"),
])
def test_a_staff_zone_is_found_as_the_company_sheet_writes_it(app, admin, zones, written, zone):
    plan = imports.plan("users", "人员.csv", staff(["李助理", "zhuli9", "客户助理", written]))
    assert not plan.refused
    assert plan.new[0].values["zone"].name == zone


@pytest.mark.parametrize("written, reason", [
    ("东区", "管辖区域“东区”不止一个：东区（一期）、东区（二期），请写全名"),
    ("三区", "没有管辖区域“三区”：现有 一区（1–4号楼）、东区（一期）、东区（二期）、二区(5-8号楼)、Ｃ3区"),
    ("一区（5-8号楼）", "没有管辖区域“一区（5-8号楼）”"),
])
def test_an_ambiguous_or_unknown_zone_is_refused_with_the_zones_that_exist(app, admin, zones, written, reason):
    plan = imports.plan("users", "人员.csv", staff(["王助理", "zhuli8", "客户助理", "一区"],
                                                   ["李助理", "zhuli9", "客户助理", written]))
    assert list(refused(plan)) == [3]
    assert reason in refused(plan)[3]


def test_a_unit_is_found_the_same_way(app, admin, unit):
    users.Unit.create(name="保洁部（外包）", kind="cleaning")
    plan = imports.plan("users", "人员.csv", staff(["陈师傅", "gc9", "业务块", "工程部 "],
                                                   ["刘阿姨", "bj1", "业务块", "保洁部"],
                                                   ["赵师傅", "ab1", "业务块", "安保部"]))
    assert [r.values["unit"].name for r in plan.new] == ["工程部", "保洁部（外包）"]
    assert refused(plan) == {4: "没有业务块“安保部”：现有 保洁部（外包）、工程部"}


def test_a_shop_zone_is_found_the_same_way(app, admin, zones):
    rows = [SHOPS[0] + ["管辖区域"], SHOPS[1] + ["东区(二期)"], SHOPS[2] + ["一区"]]
    plan = imports.plan("shops", "商铺.xlsx", xlsx(rows))
    assert not plan.refused
    assert [r.values["zone"].name for r in plan.new] == ["东区（二期）", "一区（1–4号楼）"]


# Initial passwords: made by the import, shown once, made again for accounts that never signed in

def test_initial_passwords_are_easy_to_copy_and_strong_enough(app):
    for _ in range(200):
        password = imports.initial_password()
        users.check_password_strength(password)
        assert not set(password) & set("0O1lIo")


def test_passwords_made_again_only_for_the_import_accounts_never_signed_in(app, admin, unit, zones):
    result = imports.apply(admin, "users", "人员.csv", staff(["李助理", "zhuli9", "客户助理", "一区"],
                                                             ["陈师傅", "gc9", "业务块", "工程部"],
                                                             ["周前台", "qt9", "前台", ""]))
    first = {p["username"]: p["password"] for p in result.passwords}
    assert users.authenticate("gc9", first["gc9"])[0] is not None  # 陈师傅 has signed in
    imports.apply(admin, "users", "其他.csv", staff(["吴主管", "zg9", "客服主管", ""]))

    batch = imports.import_batches()[-1]
    assert (batch.filename, [u.username for u in batch.accounts]) == ("人员.csv", ["zhuli9", "gc9", "qt9"])
    assert [u.username for u in batch.never_signed_in] == ["zhuli9", "qt9"]

    sheet = imports.reissue_passwords(admin, batch.key)
    assert [(p["username"], p["display_name"], p["role"], p["place"]) for p in sheet] == [
        ("zhuli9", "李助理", "客户助理", "一区（1–4号楼）"), ("qt9", "周前台", "前台", "")]
    again = {p["username"]: p["password"] for p in sheet}
    assert users.authenticate("zhuli9", first["zhuli9"])[0] is None
    assert users.authenticate("gc9", first["gc9"])[0] is not None  # untouched
    made_again = Event.select().where(Event.action == "重新生成初始密码")
    assert sorted(e.note for e in made_again) == ["导入文件 人员.csv 的账号，从未登录"] * 2
    assert not any(again["qt9"] in (e.note + e.data) for e in Event.select())

    # zhuli9 has now signed in too: only 周前台 is left; then nobody.
    assert users.authenticate("zhuli9", again["zhuli9"])[0] is not None
    assert [u.username for u in imports.import_batch(batch.key).never_signed_in] == ["qt9"]
    assert users.authenticate("qt9", again["qt9"])[0] is not None
    with pytest.raises(RuleError, match="都已登录过"):
        imports.reissue_passwords(admin, batch.key)
    assert imports.import_batch("no-such-batch") is None


# Export → import round trip

@pytest.mark.parametrize("kind", ["households", "residents", "shops", "users"])
def test_export_then_import_is_a_round_trip(app, admin, zone, unit, kind):
    imports.apply(admin, "households", "h.csv", csv_bytes([["楼栋", "单元", "室号", "面积", "入住日期", "备注"],
                                                           ["1", "1", "0201", "89.5", "2020-5-1", "朝南"]]))
    imports.apply(admin, "residents", "r.csv", csv_bytes(RESIDENTS))
    imports.apply(admin, "shops", "s.xlsx", xlsx(SHOPS))
    imports.apply(admin, "users", "u.csv", csv_bytes([["姓名", "用户名", "角色", "管辖区域或业务块", "手机"],
                                                      ["李助理", "zhuli9", "客户助理", "一区", "13812345678"]]))
    exported = imports.export(kind)
    table = imports.read_table("x.xlsx", exported)
    assert table[0] == imports.headers(kind)
    again = imports.plan(kind, "导出.xlsx", exported)
    assert not again.refused and not again.new and not again.changed and not again.missing
    texts = [[imports.cell_text(c) for c in row] for row in table[1:]]
    if kind == "residents":
        assert ["1-1-201", "张三", "13812345678", "业主", "独居老人", ""] in texts
    if kind == "households":
        assert ["1", "1", "201", "2", "89.5", "2020-05-01", "朝南"] in texts
    if kind == "shops":
        assert ["S-101", "好邻居便利店", "零售", "营业", "王五", "13912345678", "一区", GOOD_CODE, "好邻居便利店",
                "2030-12-31", ""] in texts
    if kind == "users":
        assert ["zhuli9", "李助理", "客户助理", "一区", "13812345678", ""] in texts


def test_template_has_chinese_headers_and_an_example_row(app):
    for kind in imports.KINDS:
        table = imports.read_table("t.xlsx", imports.template(kind))
        assert table[0] == imports.headers(kind) and len(table) == 2
