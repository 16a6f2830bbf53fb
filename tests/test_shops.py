"""The shop register: credit codes, dated versions and operators over time, the daily patrol a trading
shop is owed, the unlicensed and expiring lists by the estate-local day, urging, notices, government
inspections and search — the rules called directly, with the clock frozen in Shanghai time.
"""
import datetime
import json

import pytest
from stdnum.cn import uscc

from kefu import patrols
from kefu import shops
from kefu.db import StaleRecord
from kefu.patrols import Checkpoint
from kefu.shops import Communication
from kefu.shops import Inspection
from kefu.shops import Licence
from kefu.shops import Operator
from kefu.shops import Shop
from kefu.shops import ShopError
from kefu.shops import ShopVersion
from kefu.shops import Urging
from test_tickets import actions
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

CODE = "91110108MA01KP2T6Y"
OTHER_CODE = "91310115MA1H7B2K0J"
EDITABLE = ("name", "unit_no", "business_type", "operator_name", "operator_phone", "property_owner", "opened_on",
            "state", "zone", "note")


def day(month, number, year=2026):
    return datetime.date(year, month, number)


def fresh(record):
    return type(record).get_by_id(record.id)


def register(w, actor=None, **values):
    """A 营业 noodle shop at S-101 in 一区 unless told otherwise."""
    fields = dict(name="老王面馆", unit_no="S-101", business_type="餐饮", operator_name="王建国",
                  operator_phone="13900000001", zone=w.zone)
    fields.update(values)
    shop, created = shops.register(actor or w.assistant, **fields)
    assert created
    return shop


def edit(w, shop, version=None, **changes):
    """The shop's edit form sent back with `changes`."""
    values = {name: getattr(shop, name) for name in EDITABLE}
    values.update(changes)
    return shops.update(w.assistant, shop, shop.version if version is None else version, **values)


def licence(w, shop, valid_until=None, code=CODE, holder=None):
    holder = holder or f"{shop.name}（个体工商户）"
    return shops.record_licence(w.assistant, shop, code, holder, valid_until=valid_until)


def shop_board(w, zones=None):
    return patrols.coverage_today(zones or [w.zone.id])["shop"]


def names(pairs):
    return [pair[0].name for pair in pairs]


# Credit codes

def test_the_sample_code_is_a_valid_credit_code():
    assert uscc.is_valid(CODE) and uscc.is_valid(OTHER_CODE)


@pytest.mark.parametrize("code, says", [
    ("91110108MA01KP2T6", ["18 位", "17 位"]),
    ("91110108MA01KP2T6YY", ["18 位", "19 位"]),
    ("91110108IA01KP2T6Y", ["不含 I、O、Z、S、V"]),
    ("91110108MA01KP2O6Y", ["不含 I、O、Z、S、V"]),
    ("91110108MA01KP2Z6Y", ["不含 I、O、Z、S、V"]),
    ("91110108MA01KP2S6Y", ["不含 I、O、Z、S、V"]),
    ("91110108MA01KP2V6Y", ["不含 I、O、Z、S、V"]),
    ("91110108MA01KP2T60", ["校验位"]),
    ("", ["请填写"]),
])
def test_an_invalid_credit_code_is_refused_saying_why(world, code, says):
    shop = register(world)
    with pytest.raises(ShopError) as refused:
        licence(world, shop, code=code)
    assert refused.value.field == "credit_code"
    for words in says:
        assert words in refused.value.message
    assert Licence.select().count() == 0


def test_a_valid_code_typed_in_lower_case_with_spaces_is_stored_upper_cased(world):
    shop = register(world)
    recorded = licence(world, shop, code=" 91110108ma01 kp2t6y ")
    assert fresh(recorded).credit_code == CODE
    assert shops.licence_of(shop) == recorded
    assert actions(shop)[-1] == "登记营业执照"


# Versions and operators

def test_a_registered_shop_has_version_1_and_its_first_operator(world):
    shop = register(world, opened_on=day(3, 1))
    first = ShopVersion.get(ShopVersion.shop == shop)
    assert (first.number, first.change_list, first.by_id) == (1, [], world.assistant.id)
    snapshot = json.loads(first.snapshot)
    assert snapshot["name"] == "老王面馆" and snapshot["zone"] == "一区" and snapshot["opened_on"] == "2026-03-01"
    assert [(o.name, o.since, o.until) for o in shop.operators] == [("王建国", day(3, 1), None)]
    assert actions(shop)[0] == "商铺登记"


def test_an_edit_adds_a_version_with_what_changed_and_keeps_the_old_one(world, traveller):
    shop = register(world)
    traveller.move_to(sh(11, 28, 9, 0))
    shop = edit(world, fresh(shop), name="王记面馆", note="招牌已换")
    versions = list(ShopVersion.select().where(ShopVersion.shop == shop).order_by(ShopVersion.number))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].change_list == [("店名", ["老王面馆", "王记面馆"]), ("备注", ["", "招牌已换"])]
    assert json.loads(versions[0].snapshot)["name"] == "老王面馆"
    assert json.loads(versions[1].snapshot)["name"] == "王记面馆"
    assert json.loads(versions[1].snapshot)["operator_name"] == "王建国"
    assert versions[1].at == datetime.datetime(2026, 11, 28, 1, 0)
    assert fresh(shop).name == "王记面馆" and fresh(shop).version == 2
    assert actions(shop)[-1] == "修改商铺"


@pytest.mark.parametrize("changes, field", [
    ({"name": "  "}, "name"),
    ({"operator_name": ""}, "operator_name"),
    ({"business_type": "网吧"}, "business_type"),
    ({"state": "倒闭"}, "state"),
    ({"opened_on": day(11, 28)}, "opened_on"),
])
def test_a_refused_edit_saves_nothing(world, changes, field):
    shop = register(world)
    with pytest.raises(ShopError) as refused:
        edit(world, fresh(shop), **changes)
    assert refused.value.field == field
    assert fresh(shop).name == "老王面馆" and fresh(shop).version == 1
    assert ShopVersion.select().count() == 1 and Operator.select().count() == 1


def test_an_edit_to_a_unit_number_another_shop_has_is_refused(world):
    register(world)
    other = register(world, name="便民超市", unit_no="S-102", business_type="零售", operator_name="李红")
    with pytest.raises(ShopError) as refused:
        edit(world, fresh(other), unit_no="S-101")
    assert refused.value.field == "unit_no"
    assert fresh(other).unit_no == "S-102" and ShopVersion.select().count() == 2


def test_an_edit_from_a_stale_version_is_refused(world):
    shop = register(world)
    edit(world, fresh(shop), name="王记面馆")
    with pytest.raises(StaleRecord):
        edit(world, fresh(shop), version=1, operator_phone="13900000009")
    assert fresh(shop).operator_phone == "13900000001" and fresh(shop).version == 2
    assert ShopVersion.select().count() == 2


def test_an_edit_that_changes_nothing_is_refused(world):
    shop = register(world)
    with pytest.raises(ShopError, match="没有改动"):
        edit(world, fresh(shop))
    assert fresh(shop).version == 1 and ShopVersion.select().count() == 1


def test_a_new_operator_closes_the_old_record_and_the_old_name_stays_in_history(world, traveller):
    shop = register(world, opened_on=day(3, 1))
    traveller.move_to(sh(12, 1, 0, 10))  # still 11-30 in UTC
    shop = edit(world, fresh(shop), operator_name="陈小梅", operator_phone="13700000002")
    assert [(o.name, o.phone, o.since, o.until) for o in Operator.select().order_by(Operator.id)] == [
        ("王建国", "13900000001", day(3, 1), day(12, 1)), ("陈小梅", "13700000002", day(12, 1), None)]
    change = ShopVersion.get(ShopVersion.number == 2).change_list
    assert ("经营者", ["王建国", "陈小梅"]) in change
    assert json.loads(ShopVersion.get(ShopVersion.number == 1).snapshot)["operator_name"] == "王建国"


def test_an_edit_that_keeps_the_operator_keeps_the_operator_record(world):
    shop = register(world)
    edit(world, fresh(shop), note="门头维修")
    assert [(o.name, o.until) for o in Operator.select()] == [("王建国", None)]


# The daily patrol

def test_an_open_shop_is_owed_a_daily_patrol_in_its_zone(world):
    shop = register(world)
    point = Checkpoint.get_by_id(shop.checkpoint_id)
    assert (point.kind, point.zone_id, point.checklist.code) == ("shop", world.zone.id, "shop")
    assert shops.for_checkpoint(point) == shop
    assert shop_board(world)["total"] == 1 and shop_board(world)["owed"] == [point]
    assert shop_board(world, [world.zone2.id])["total"] == 0


@pytest.mark.parametrize("closed", ["停业", "空置"])
def test_a_closed_shop_drops_out_of_coverage_and_comes_back_when_it_reopens(world, traveller, closed):
    shop = register(world)
    shop = edit(world, fresh(shop), state=closed)
    assert shop_board(world)["total"] == 0 and shop_board(world)["owed"] == []
    traveller.move_to(sh(11, 29, 10, 0))
    assert shop_board(world)["total"] == 0
    shop = edit(world, fresh(shop), state="营业")
    assert shop_board(world)["total"] == 1
    assert [c.id for c in shop_board(world)["owed"]] == [shop.checkpoint_id]
    assert Checkpoint.select().count() == 1


def test_a_shop_being_fitted_out_stays_on_the_patrol(world):
    shop = register(world)
    shop = edit(world, fresh(shop), state="装修中")
    assert shop_board(world)["total"] == 1
    assert [c.id for c in shop_board(world)["owed"]] == [shop.checkpoint_id]


def test_a_shop_moved_to_another_zone_is_owed_there(world):
    shop = register(world)
    edit(world, fresh(shop), zone=world.zone2)
    assert shop_board(world)["total"] == 0
    assert [c.id for c in shop_board(world, [world.zone2.id])["owed"]] == [shop.checkpoint_id]


def test_a_shop_registered_empty_is_not_patrolled_until_it_opens(world):
    shop = register(world, state="空置")
    assert shop.checkpoint_id is None and shop_board(world)["total"] == 0
    shop = edit(world, fresh(shop), state="营业")
    assert shop_board(world)["total"] == 1


# Unlicensed and expiring

def test_the_licence_is_valid_through_its_last_shanghai_day(world, traveller):
    shop = register(world)
    licence(world, shop, valid_until=day(11, 30))
    traveller.move_to(sh(11, 30, 23, 50))
    assert shops.unlicensed([world.zone.id]) == []
    assert names(shops.expiring([world.zone.id])) == ["老王面馆"]
    assert shops.licence_status(shops.licence_of(shop)) == "expiring"
    traveller.move_to(sh(12, 1, 0, 10))  # still 11-30 in UTC
    assert names(shops.unlicensed([world.zone.id])) == ["老王面馆"]
    assert shops.expiring([world.zone.id]) == []
    assert shops.licence_status(shops.licence_of(shop)) == "expired"
    assert [row[2] for row in shops.search([world.zone.id], licence="unlicensed")] == ["expired"]


def test_a_trading_shop_without_a_licence_is_unlicensed_but_an_empty_one_is_not(world):
    register(world)
    register(world, name="空铺", unit_no="S-102", business_type="其他", operator_name="物业", state="空置")
    shut = register(world, name="停业花店", unit_no="S-103", business_type="零售", operator_name="孙丽", state="停业")
    assert [(s.name, lic) for s, lic in shops.unlicensed([world.zone.id])] == [("老王面馆", None), (shut.name, None)]


def test_a_licence_with_no_end_date_is_valid(world, traveller):
    shop = register(world)
    licence(world, shop, valid_until=None)
    traveller.move_to(sh(12, 31, 10, 0))
    assert shops.unlicensed([world.zone.id]) == [] and shops.expiring([world.zone.id]) == []
    assert shops.licence_status(shops.licence_of(shop)) == "valid"


def test_the_newest_licence_counts(world, traveller):
    shop = register(world)
    licence(world, shop, valid_until=day(11, 1))
    assert names(shops.unlicensed([world.zone.id])) == ["老王面馆"]
    traveller.move_to(sh(11, 27, 11, 0))
    renewed = licence(world, shop, valid_until=day(11, 26, 2031), code=OTHER_CODE)
    assert shops.unlicensed([world.zone.id]) == []
    assert shops.licence_of(shop) == renewed
    assert [row[1] for row in shops.search([world.zone.id], licence="valid")] == [renewed]


def test_a_voided_licence_does_not_count(world):
    shop = register(world)
    recorded = licence(world, shop, valid_until=None)
    Licence.update(voided_at=datetime.datetime(2026, 11, 27, 2, 0), void_reason="录错").where(
        Licence.id == recorded.id).execute()
    assert names(shops.unlicensed([world.zone.id])) == ["老王面馆"]


def test_expiring_lists_licences_running_out_within_30_days_soonest_first(world):
    for unit_no, name, until in [("S-101", "甲店", day(12, 20)), ("S-102", "乙店", day(12, 5)),
                                 ("S-103", "丙店", day(12, 27)), ("S-104", "丁店", day(12, 28)),
                                 ("S-105", "戊店", day(11, 27))]:
        licence(world, register(world, name=name, unit_no=unit_no, business_type="零售", operator_name="店主"),
                valid_until=until)
    assert names(shops.expiring([world.zone.id])) == ["戊店", "乙店", "甲店", "丙店"]
    assert shops.unlicensed([world.zone.id]) == []
    assert [row[0].name for row in shops.search([world.zone.id], licence="expiring")] == [
        "甲店", "乙店", "丙店", "戊店"]  # the register's own order: by unit number


# Register

def test_a_unit_number_is_registered_once(world):
    register(world)
    with pytest.raises(ShopError) as refused:
        shops.register(world.assistant, name="新店", unit_no="S-101", business_type="零售", operator_name="李红",
                       zone=world.zone)
    assert refused.value.field == "unit_no" and "S-101" in refused.value.message
    assert Shop.select().count() == 1


@pytest.mark.parametrize("values, field", [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"operator_name": ""}, "operator_name"),
    ({"unit_no": ""}, "unit_no"),
    ({"business_type": "网吧"}, "business_type"),
    ({"state": "倒闭"}, "state"),
    ({"zone": None}, "zone"),
    ({"opened_on": day(11, 28)}, "opened_on"),
])
def test_a_registration_needs_a_name_an_operator_and_known_values(world, values, field):
    fields = dict(name="老王面馆", unit_no="S-101", business_type="餐饮", operator_name="王建国", zone=world.zone)
    fields.update(values)
    with pytest.raises(ShopError) as refused:
        shops.register(world.assistant, **fields)
    assert refused.value.field == field
    assert Shop.select().count() == 0 and Checkpoint.select().count() == 0


def test_opening_today_is_allowed_by_the_shanghai_day(world, traveller):
    traveller.move_to(sh(11, 28, 0, 10))  # still 11-27 in UTC
    shop = register(world, opened_on=day(11, 28))
    assert fresh(shop).opened_on == day(11, 28)


def test_the_same_token_twice_returns_the_first_shop(world):
    first, created = shops.register(world.assistant, name="老王面馆", unit_no="S-101", business_type="餐饮",
                                    operator_name="王建国", zone=world.zone, token="tok-shop")
    again, created_again = shops.register(world.assistant, name="老王面馆", unit_no="S-101", business_type="餐饮",
                                          operator_name="王建国", zone=world.zone, token="tok-shop")
    assert created and not created_again and again.id == first.id
    assert Shop.select().count() == 1 and ShopVersion.select().count() == 1 and Checkpoint.select().count() == 1
    assert actions(first) == ["商铺登记"]


# Urging, notices, inspections

@pytest.mark.parametrize("values, field", [
    ({"method": "微信"}, "method"),
    ({"said": "  "}, "said"),
    ({"promised_on": day(11, 26)}, "promised_on"),
    ({"at": sh(11, 27, 10, 5)}, "at"),
])
def test_an_urging_needs_a_method_what_was_said_and_a_sensible_promise(world, values, field):
    shop = register(world)
    fields = dict(method="上门", said="下周去办", promised_on=day(12, 5))
    fields.update(values)
    with pytest.raises(ShopError) as refused:
        shops.urge(world.assistant, shop, **fields)
    assert refused.value.field == field
    assert Urging.select().count() == 0


def test_an_urging_after_midnight_is_dated_by_the_shanghai_day(world, traveller):
    shop = register(world)
    traveller.move_to(sh(11, 28, 0, 10))  # still 11-27 in UTC
    with pytest.raises(ShopError):
        shops.urge(world.assistant, shop, "电话", "明天办", promised_on=day(11, 27))
    urging = shops.urge(world.assistant, shop, "电话", "今天就去办", promised_on=day(11, 28))
    assert fresh(urging).at == datetime.datetime(2026, 11, 27, 16, 10)


def test_an_urging_shows_in_the_shop_timeline(world):
    shop = register(world)
    shops.urge(world.assistant, shop, "上门", "下周去办", promised_on=day(12, 5))
    assert actions(shop)[-1] == "督促办理营业执照"
    assert [(u.method, u.said, u.promised_on) for u in shop.urgings] == [("上门", "下周去办", day(12, 5))]


@pytest.mark.parametrize("values, field", [({"topic": ""}, "topic"), ({"receiver": " "}, "receiver"),
                                           ({"at": sh(11, 27, 10, 5)}, "at")])
def test_a_communication_needs_a_topic_and_a_receiver(world, values, field):
    shop = register(world)
    fields = dict(topic="消防宣传", receiver="王建国")
    fields.update(values)
    with pytest.raises(ShopError) as refused:
        shops.communicate(world.assistant, shop, **fields)
    assert refused.value.field == field
    assert Communication.select().count() == 0


def test_a_communication_shows_in_the_shop_timeline(world):
    shop = register(world)
    shops.communicate(world.assistant, shop, "油烟整治", "王建国", note="发放告知书")
    assert actions(shop)[-1] == "宣传沟通"
    assert [(c.topic, c.receiver) for c in shop.communications] == [("油烟整治", "王建国")]


@pytest.mark.parametrize("values, field", [
    ({"body": "税务"}, "body"),
    ({"day": day(11, 28)}, "day"),
    ({"day": None}, "day"),
    ({"shops": []}, "shops"),
    ({"findings": " "}, "findings"),
])
def test_an_inspection_needs_a_known_body_a_past_day_shops_and_findings(world, values, field):
    shop = register(world)
    fields = dict(body="消防", day=day(11, 27), shops=[shop], findings="灭火器过期")
    fields.update(values)
    with pytest.raises(ShopError) as refused:
        shops.record_inspection(world.assistant, **fields)
    assert refused.value.field == field
    assert Inspection.select().count() == 0


def test_an_inspection_of_two_shops_shows_on_both(world, traveller):
    noodles = register(world)
    market = register(world, name="便民超市", unit_no="S-102", business_type="零售", operator_name="李红")
    traveller.move_to(sh(11, 28, 0, 10))  # still 11-27 in UTC: the 28th is today, not the future
    inspection = shops.record_inspection(world.assistant, "市场监管", day(11, 28), [market, noodles], "价签不全",
                                         follow_up="三日内补齐")
    assert [s.name for s in inspection.shops()] == ["老王面馆", "便民超市"]
    assert actions(noodles)[-1] == "市场监管检查" and actions(market)[-1] == "市场监管检查"
    assert actions(inspection) == ["市场监管检查"]


# Search

@pytest.fixture
def register_of(world):
    """Three shops in 一区 (one licensed, one expiring, one without) and one in 二区."""
    noodles = register(world)
    licence(world, noodles, valid_until=None)
    salon = register(world, name="美丽发廊", unit_no="S-102", business_type="美容美发", operator_name="赵美丽",
                     state="装修中")
    licence(world, salon, valid_until=day(12, 10), code=OTHER_CODE)
    register(world, name="便民超市", unit_no="S-103", business_type="零售", operator_name="李红")
    far = register(world, name="二区面馆", unit_no="T-201", business_type="餐饮", operator_name="王建国",
                   zone=world.zone2)
    licence(world, far, valid_until=None, code="92440300L12345678R")
    return world


def found(w, **terms):
    return [row[0].name for row in shops.search([w.zone.id], **terms)]


@pytest.mark.parametrize("text, expected", [
    ("面馆", ["老王面馆"]),
    ("王建国", ["老王面馆"]),
    ("赵美丽", ["美丽发廊"]),
    ("S-103", ["便民超市"]),
    ("T-201", []),
    (CODE, ["老王面馆"]),
    ("91310115ma1h", ["美丽发廊"]),
    ("92440300L12345678R", []),
    ("", ["老王面馆", "美丽发廊", "便民超市"]),
])
def test_search_by_name_operator_unit_and_credit_code_within_my_zones(register_of, text, expected):
    assert found(register_of, text=text) == expected


@pytest.mark.parametrize("terms, expected", [
    ({"state": "装修中"}, ["美丽发廊"]),
    ({"state": "营业"}, ["老王面馆", "便民超市"]),
    ({"business_type": "餐饮"}, ["老王面馆"]),
    ({"business_type": "零售"}, ["便民超市"]),
    ({"licence": "unlicensed"}, ["便民超市"]),
    ({"licence": "valid"}, ["老王面馆"]),
    ({"licence": "expiring"}, ["美丽发廊"]),
    ({"text": "王建国", "licence": "valid"}, ["老王面馆"]),
])
def test_search_filters_by_state_type_and_licence_status(register_of, terms, expected):
    assert found(register_of, **terms) == expected


def test_the_unlicensed_filter_agrees_with_the_unlicensed_list(register_of):
    register(register_of, name="空铺", unit_no="S-104", business_type="其他", operator_name="物业", state="空置")
    assert found(register_of, licence="unlicensed") == names(shops.unlicensed([register_of.zone.id])) == ["便民超市"]


def test_the_other_zone_sees_only_its_own_shops(register_of):
    w = register_of
    assert [row[0].name for row in shops.search([w.zone2.id], text="王建国")] == ["二区面馆"]
    assert [row[0].name for row in shops.search([w.zone2.id], text=CODE)] == []
    assert shops.search([], text="面馆") == []
    assert names(shops.unlicensed([w.zone2.id])) == []


# Rectification notices

def fail_patrol(w, shop, item="油烟排放", note="油烟直排，净化器未开"):
    """A patrol of the shop with `item` 不合格: returns its finding."""
    checkpoint = Checkpoint.get_by_id(shop.checkpoint_id)
    answers = {i.id: ("fail", note) if i.text == item else ("ok", "") for i in checkpoint.checklist.live_items()}
    check, _ = patrols.record_check(w.assistant, checkpoint, "scan", answers)
    return check.findings.get()


def notice_for(w, shop, finding=None, deadline=None, **kw):
    notice, created = shops.issue_notice(w.assistant, shop, kw.pop("demand", "请开启油烟净化器"),
                                         deadline or day(11, 30), finding=finding, **kw)
    assert created
    return notice


def test_a_failed_item_becomes_a_numbered_notice_and_the_finding_waits_for_it(world):
    shop = register(world)
    finding = fail_patrol(world, shop)
    notice = notice_for(world, shop, finding)
    assert notice.number == "〔2026〕第0001号"
    assert notice.problem == "油烟排放不合格，油烟直排，净化器未开"
    assert notice.clauses == shops.NOTICE_CLAUSES and "经营者承担" in notice.consequence
    assert fresh(finding).state == "noticed" and fresh(finding).is_open
    assert notice.status() == "unserved"
    assert "开具整改通知书" in actions(shop) and "开具整改通知书" in actions(finding)


def test_shop_and_renovation_notices_share_one_yearly_series(world):
    from kefu import renovations
    shop = register(world)
    assert notice_for(world, shop, problem="门前堆放纸箱").number == "〔2026〕第0001号"
    renovation, _ = renovations.register(world.assistant, world.home, owner_name="王先生",
                                         planned_start=day(11, 27), planned_end=day(12, 27))
    renovation = renovations.start(world.assistant, renovation, renovation.version)
    violation, _ = renovations.record_violation(world.assistant, renovation, "超时施工", "午休电钻")
    assert renovations.issue_notice(world.assistant, renovation, [violation], "停止",
                                    day(11, 30)).number == "〔2026〕第0002号"
    assert notice_for(world, shop, problem="招牌破损").number == "〔2026〕第0003号"


def test_a_voided_notice_keeps_its_number_and_frees_the_finding(world):
    shop = register(world)
    finding = fail_patrol(world, shop)
    notice = notice_for(world, shop, finding)
    with pytest.raises(ShopError) as refused:
        shops.void_notice(world.assistant, notice, "  ")
    assert refused.value.field == "reason"
    shops.void_notice(world.assistant, notice, "期限写错")
    assert fresh(notice).status() == "voided" and fresh(finding).state == "open"
    again = notice_for(world, shop, fresh(finding))
    assert again.number == "〔2026〕第0002号"
    shops.serve_notice(world.assistant, again, served_to="王建国")
    with pytest.raises(ShopError, match="已送达的通知书不能作废"):
        shops.void_notice(world.assistant, fresh(again), "不要了")


def test_the_new_year_starts_the_series_again_by_the_shanghai_day(world, traveller):
    import zoneinfo
    shanghai = zoneinfo.ZoneInfo("Asia/Shanghai")
    shop = register(world)
    traveller.move_to(datetime.datetime(2026, 12, 31, 23, 50, tzinfo=shanghai))
    assert notice_for(world, shop, problem="门前堆放纸箱", deadline=day(1, 3, 2027)).number == "〔2026〕第0001号"
    traveller.move_to(datetime.datetime(2027, 1, 1, 0, 10, tzinfo=shanghai))  # still 2026-12-31 in UTC
    assert notice_for(world, shop, problem="招牌破损", deadline=day(1, 3, 2027)).number == "〔2027〕第0001号"


@pytest.mark.parametrize("values, field", [
    ({"demand": " "}, "demand"),
    ({"problem": ""}, "problem"),
    ({"deadline": day(11, 26)}, "deadline"),
])
def test_a_notice_needs_a_problem_a_demand_and_a_deadline_from_today(world, values, field):
    shop = register(world)
    fields = {"demand": "请整改", "problem": "门前堆放纸箱", "deadline": day(11, 27)}
    fields.update(values)
    with pytest.raises(ShopError) as refused:
        shops.issue_notice(world.assistant, shop, fields.pop("demand"), fields.pop("deadline"), **fields)
    assert refused.value.field == field
    assert shops.ShopNotice.select().count() == 0


def test_a_notice_comes_only_from_an_open_finding_of_the_same_shop(world):
    shop = register(world)
    other = register(world, name="佳洁洗衣店", unit_no="S-102", business_type="其他")
    finding = fail_patrol(world, shop)
    with pytest.raises(ShopError, match="不是该商铺的"):
        shops.issue_notice(world.assistant, other, "请整改", day(11, 30), finding=finding)
    patrols.fix_on_the_spot(world.assistant, finding, finding.version, "已当场关闭油烟机旁的门")
    with pytest.raises(ShopError, match="当场解决"):
        shops.issue_notice(world.assistant, shop, "请整改", day(11, 30), finding=fresh(finding))


def test_the_same_token_twice_issues_one_notice(world):
    shop = register(world)
    finding = fail_patrol(world, shop)
    first, created = shops.issue_notice(world.assistant, shop, "请整改", day(11, 30), finding=finding, token="t-1")
    again, created_again = shops.issue_notice(world.assistant, shop, "请整改", day(11, 30), finding=fresh(finding),
                                              token="t-1")
    assert (created, created_again, again.id) == (True, False, first.id)
    assert shops.ShopNotice.select().count() == 1


def test_serving_needs_a_signer_or_a_witness_and_a_time_after_issue(world, traveller):
    shop = register(world)
    notice = notice_for(world, shop, problem="门前堆放纸箱")
    with pytest.raises(ShopError) as refused:
        shops.serve_notice(world.assistant, notice, refused=True)
    assert refused.value.field == "witness"
    with pytest.raises(ShopError) as refused:
        shops.serve_notice(world.assistant, notice, served_to="王建国", at=sh(11, 27, 9, 0))
    assert refused.value.field == "at"
    traveller.shift(datetime.timedelta(minutes=20))
    served = shops.serve_notice(world.assistant, notice, refused=True, witness="保安 李四")
    assert (served.refused, served.witness, served.status()) == (True, "保安 李四", "served")
    assert "送达整改通知书" in actions(shop)
    with pytest.raises(ShopError, match="已送达"):
        shops.serve_notice(world.assistant, served, served_to="王建国")


def test_a_recheck_needs_the_notice_served_and_happens_once(world, traveller):
    shop = register(world)
    finding = fail_patrol(world, shop)
    notice = notice_for(world, shop, finding)
    with pytest.raises(ShopError, match="送达后才能复查"):
        shops.recheck_notice(world.assistant, notice, True, "已整改")
    notice = shops.serve_notice(world.assistant, notice, served_to="王建国")
    with pytest.raises(ShopError) as refused:
        shops.recheck_notice(world.assistant, notice, True, "")
    assert refused.value.field == "note"
    with pytest.raises(ShopError) as refused:
        shops.recheck_notice(world.assistant, notice, True, "已整改", at=sh(11, 27, 9, 0))
    assert refused.value.field == "at"
    traveller.move_to(sh(11, 30, 10, 0))
    done = shops.recheck_notice(world.assistant, notice, True, "净化器已开启，油烟正常")
    assert done.status() == "complied" and fresh(finding).state == "done"
    assert fresh(finding).resolution == f"{notice.number}，净化器已开启，油烟正常"
    with pytest.raises(ShopError, match="已复查"):
        shops.recheck_notice(world.assistant, done, False, "又直排了")


def test_not_complied_puts_the_finding_back_for_a_second_notice(world, traveller):
    shop = register(world)
    finding = fail_patrol(world, shop)
    notice = shops.serve_notice(world.assistant, notice_for(world, shop, finding), served_to="王建国")
    traveller.move_to(sh(12, 1, 10, 0))
    assert notice.status() == "overdue"
    assert [n.id for n in shops.notices_to_recheck([world.zone.id])] == [notice.id]
    shops.recheck_notice(world.assistant, notice, False, "仍在直排")
    assert fresh(finding).state == "open" and fresh(notice).status() == "not_complied"
    assert shops.notices_to_recheck([world.zone.id]) == []
    second = notice_for(world, shop, fresh(finding), deadline=day(12, 3), demand="限期安装油烟净化器")
    assert second.number == "〔2026〕第0002号" and fresh(finding).state == "noticed"


def test_notices_to_recheck_are_those_of_my_zones_served_and_open(world):
    mine = register(world)
    theirs = register(world, name="二区小吃", unit_no="S-201", zone=world.zone2)
    unserved = notice_for(world, mine, problem="门前堆放纸箱")
    later = shops.serve_notice(world.assistant, notice_for(world, mine, problem="招牌破损", deadline=day(12, 5)),
                               served_to="王建国")
    sooner = shops.serve_notice(world.assistant, notice_for(world, mine, problem="灯箱不亮", deadline=day(11, 28)),
                                served_to="王建国")
    shops.serve_notice(world.assistant, notice_for(world, theirs, problem="占道经营"), served_to="二区老板")
    assert [n.id for n in shops.notices_to_recheck([world.zone.id])] == [sooner.id, later.id]
    assert unserved.id not in [n.id for n in shops.notices_to_recheck([world.zone.id, world.zone2.id])]


def test_an_empty_unit_is_listed_as_vacant_not_unlicensed(world):
    register(world, name="空铺", unit_no="S-120", business_type="其他", state="空置")
    [(shop, licence, status)] = shops.search([world.zone.id])
    assert (shop.name, licence, status) == ("空铺", None, "vacant")
    assert shops.STATUS_LABELS[status] == "空置"
    assert shops.search([world.zone.id], licence="unlicensed") == []


def test_the_summary_agrees_with_the_unlicensed_and_expiring_lists(world):
    bare = register(world)
    soon = register(world, name="佳洁洗衣店", unit_no="S-102", business_type="其他")
    licence(world, soon, valid_until=day(12, 10))
    count, expiring = shops.licence_summary([world.zone.id])
    assert count == len(shops.unlicensed([world.zone.id])) == 1 and shops.unlicensed([world.zone.id])[0][0] == bare
    assert expiring == shops.expiring([world.zone.id]) and [s.name for s, _l in expiring] == ["佳洁洗衣店"]


def test_migration_18_drops_the_internal_numbers_from_checkpoint_names(world):
    from kefu import migrations
    shop = register(world)
    Checkpoint.update(name=f"S-101 老王面馆（商铺{shop.id}）").where(Checkpoint.id == shop.checkpoint_id).execute()
    migrations.shops_services_meeting_tasks()  # runs again safely: every step checks what is there
    assert Checkpoint.get_by_id(shop.checkpoint_id).name == "S-101 老王面馆"
