"""Shop pages over HTTP: registering and updating with the history shown, the licence checked beside
its field, the unlicensed filter, urging, inspections, the printed register, zones."""
import io
import re

import pypdf

from conftest import html
from conftest import text
from kefu import shops
from kefu.shops import Shop
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

CODE = "91110108MA01KP2T6Y"


def form(world, **values):
    data = {"name": "好邻居便利店", "unit_no": "S-01", "business_type": "零售", "operator_name": "陈老板",
            "operator_phone": "13812345678", "state": "营业", "zone": str(world.zone.id), "token": "shop-1"}
    data.update(values)
    return data


def test_a_shop_is_registered_and_every_update_is_kept(world, as_user):
    client = as_user(world.assistant)
    missing = client.post("/shops/new", data=form(world, name=""))
    assert missing.status_code == 422 and re.search(r'id="name-error"[^>]*>请填写店名', html(missing))
    assert 'value="陈老板"' in html(missing) and Shop.select().count() == 0
    made = client.post("/shops/new", data=form(world))
    shop = Shop.get()
    assert made.location == f"/shops/{shop.id}"
    assert "0/1 商铺" in text(client.get("/patrols"))  # on today's patrol at once
    client.post(f"/shops/{shop.id}/edit", data=form(world, version="1", operator_name="王老板", state="停业"))
    page = text(client.get(f"/shops/{shop.id}"))
    assert "经营者：陈老板 → 王老板" in page and "状态：营业 → 停业" in page and "首次登记" in page
    assert "陈老板 13812345678 · 2026-11-27 起，至 2026-11-27" in page and "王老板" in page
    board = text(client.get("/patrols")).split("无噪音施工时段", 1)[1]  # below the kinds' entries
    assert "商铺" not in board.split("今天还要巡查")[0]  # 停业: off the patrol
    stale = client.post(f"/shops/{shop.id}/edit", data=form(world, version="1", name="别的店"))
    assert stale.status_code == 422 and "已被他人更新" in text(stale)


def test_a_licence_is_checked_beside_its_field_and_the_unlicensed_are_listed(world, as_user):
    client = as_user(world.assistant)
    client.post("/shops/new", data=form(world))
    client.post("/shops/new", data=form(world, name="佳洁洗衣店", unit_no="S-02", operator_name="李老板", token="2"))
    first, second = Shop.select().order_by(Shop.id)
    bad = client.post(f"/shops/{first.id}/licence", data={"credit_code": CODE[:-1] + "X", "holder": "好邻居便利店"})
    assert bad.status_code == 422
    assert re.search(r'id="credit_code-error"[^>]*>统一社会信用代码校验位不对', html(bad))
    assert f'value="{CODE[:-1]}X"' in html(bad)
    client.post(f"/shops/{first.id}/licence", data={"credit_code": CODE.lower(), "holder": "好邻居便利店",
                                                     "valid_until": "2027-06-30"})
    unlicensed = text(client.get("/shops?licence=unlicensed"))
    assert "佳洁洗衣店" in unlicensed and "好邻居便利店" not in unlicensed
    client.post(f"/shops/{second.id}/urge", data={"method": "上门", "said": "下周去办", "promised_on": "2026-12-04"})
    assert "承诺 12-04 前办好" in text(client.get(f"/shops/{second.id}"))
    assert "好邻居便利店" in text(client.get(f"/shops?q={CODE[:8]}"))  # found by its credit code


def test_an_inspection_is_on_every_shop_it_saw_and_the_register_prints(world, as_user):
    client = as_user(world.assistant)
    client.post("/shops/new", data=form(world))
    client.post("/shops/new", data=form(world, name="佳洁洗衣店", unit_no="S-02", operator_name="李老板", token="2"))
    first, second = Shop.select().order_by(Shop.id)
    shops.record_licence(world.assistant, first, CODE, "好邻居便利店")
    client.post("/shops/inspections/new", data={"body": "城管", "day": "2026-11-27", "token": "i-1",
                                                "shops": [str(first.id), str(second.id)], "findings": "门前堆放纸箱"})
    for shop in (first, second):
        assert "城管" in text(client.get(f"/shops/{shop.id}"))
    response = client.get("/shops/register.pdf")
    assert response.mimetype == "application/pdf"
    paper = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(response.data)).pages)
    for expected in ("商 铺 登 记 表", "S-01", "好邻居便利店", CODE, "长期", "S-02", "佳洁洗衣店", "无执照"):
        assert expected in paper, expected


def test_another_zones_assistant_cannot_open_the_shop(world, as_user):
    client = as_user(world.assistant)
    client.post("/shops/new", data=form(world))
    shop = Shop.get()
    other = as_user(world.assistant2)
    assert other.get(f"/shops/{shop.id}").status_code == 403
    assert "好邻居便利店" not in text(other.get("/shops"))


def test_a_shop_that_does_not_cook_starts_its_check_with_fumes_not_applicable(world, as_user):
    client = as_user(world.assistant)
    client.post("/shops/new", data=form(world))
    client.post("/shops/new", data=form(world, name="老王面馆", unit_no="S-02", business_type="餐饮", token="2"))
    item = next(i for i in shops.patrols.Checklist.get(code="shop").live_items() if i.text == "油烟排放")
    for shop, fumes in zip(list(Shop.select().order_by(Shop.id)), ("na", "ok")):
        page = html(client.get(f"/patrols/checkpoints/{shop.checkpoint_id}/check"))
        assert re.search(rf'name="answer-{item.id}" value="{fumes}" checked', page), shop.name


def test_a_failed_fumes_check_becomes_a_notice_served_printed_and_rechecked(world, as_user, traveller):
    import datetime
    client = as_user(world.assistant)
    client.post("/shops/new", data=form(world, name="老王面馆", business_type="餐饮"))
    shop = Shop.get()
    checkpoint = shops.patrols.Checkpoint.get_by_id(shop.checkpoint_id)
    answers = {i.id: ("fail", "油烟直排") if i.text == "油烟排放" else ("ok", "")
               for i in checkpoint.checklist.live_items()}
    check, _ = shops.patrols.record_check(world.assistant, checkpoint, "scan", answers)
    finding = check.findings.get()
    finding_page = html(client.get(f"/patrols/findings/{finding.id}"))
    assert f'href="/patrols/findings/{finding.id}/shop-notice"' in finding_page and "开整改通知书给商铺" in finding_page
    new = client.get(f"/patrols/findings/{finding.id}/shop-notice")
    assert "油烟排放不合格，油烟直排" in text(new) and shops.DEMANDS["油烟排放"] in text(new)
    data = {"problem": "油烟排放不合格，油烟直排", "demand": shops.DEMANDS["油烟排放"], "deadline": "2026-11-26",
            "clauses": "", "version": str(finding.version), "token": "n-1"}
    late = client.post(f"/patrols/findings/{finding.id}/shop-notice", data=data)
    assert late.status_code == 422 and re.search(r'id="deadline-error"[^>]*>整改期限不能早于今天', html(late))
    made = client.post(f"/patrols/findings/{finding.id}/shop-notice", data=dict(data, deadline="2026-11-30"))
    notice = shops.ShopNotice.get()
    assert made.location == f"/shops/notices/{notice.id}"
    again = client.post(f"/patrols/findings/{finding.id}/shop-notice", data=dict(data, deadline="2026-11-30"))
    assert again.location == f"/shops/notices/{notice.id}" and shops.ShopNotice.select().count() == 1
    refused = client.post(f"/shops/notices/{notice.id}", data={"refused": "refused", "at": "2026-11-27T10:00"})
    assert refused.status_code == 422 and re.search(r'id="witness-error"[^>]*>拒签须填写见证人', html(refused))
    client.post(f"/shops/notices/{notice.id}", data={"refused": "signed", "served_to": "王老板",
                                                      "at": "2026-11-27T10:00"})
    page = text(client.get(f"/shops/notices/{notice.id}"))
    assert "待复查" in page and "签收人 王老板" in page and "复查整改情况" in page
    paper = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(
        client.get(f"/shops/notices/{notice.id}.pdf").data)).pages)
    for expected in ("整 改 通 知 书", "〔2026〕第0001号", "S-01 老王面馆 经营者 陈老板", "油烟排放",
                     "油烟直排", "2026年11月30日", "签收回执", "经营者"):
        assert expected in paper, expected
    traveller.shift(datetime.timedelta(days=4))
    assert "逾期待复查" in text(client.get("/shops"))
    client.post(f"/shops/notices/{notice.id}/recheck", data={"complied": "yes", "note": "净化器已开启"})
    assert "复查已整改" in text(client.get(f"/shops/{shop.id}"))
    assert "已整改" in text(client.get(f"/patrols/findings/{finding.id}"))
    assert f'href="/shops/notices/{notice.id}"' in html(client.get(f"/patrols/findings/{finding.id}"))


# Field polish (issue 23, items 13–16)

def test_a_unit_number_taken_in_another_zone_says_which_shop_and_zone(world, as_user):
    as_user(world.assistant2).post("/shops/new", data=form(world, name="川味小馆", zone=str(world.zone2.id)))
    client = as_user(world.assistant)
    taken = client.post("/shops/new", data=form(world, token="shop-2"))
    assert taken.status_code == 422
    assert re.search(r'id="unit_no-error"[^>]*>铺位 S-01 已登记为“川味小馆”（二区，王助理负责）', html(taken))


def test_a_transfer_takes_effect_on_its_day_and_asks_for_the_new_operators_licence(world, as_user, traveller):
    client = as_user(world.assistant)
    client.post("/shops/new", data=form(world, opened_on="2026-01-05"))
    shop = Shop.get()
    client.post(f"/shops/{shop.id}/licence", data={"credit_code": CODE, "holder": "好邻居便利店", "operator": "陈老板"})
    edit_page = text(client.get(f"/shops/{shop.id}/edit"))
    assert "转让日期" in edit_page
    late = client.post(f"/shops/{shop.id}/edit", data=form(world, version="1", operator_name="王老板",
                                                           transfer_on="2026-12-01"))
    assert late.status_code == 422 and re.search(r'id="transfer_on-error"[^>]*>转让日期不能晚于今天', html(late))
    moved = client.post(f"/shops/{shop.id}/edit", data=form(world, version="1", operator_name="王老板",
                                                            transfer_on="2026-11-20"))
    assert moved.location == f"/shops/{shop.id}/licence"  # on to the new operator's licence
    licence_page = text(client.get(moved.location))
    assert "经营者已变更为王老板，请登记新经营者的营业执照" in licence_page
    page = text(client.get(f"/shops/{shop.id}"))
    assert "陈老板 13812345678 · 2026-01-05 起，至 2026-11-20" in page and "王老板 13812345678 · 2026-11-20 起" in page
    assert "执照经营者是陈老板，不是现经营者王老板" in page
    client.post(f"/shops/{shop.id}/licence", data={"credit_code": CODE, "holder": "好邻居便利店", "operator": "王老板"})
    assert "不是现经营者" not in text(client.get(f"/shops/{shop.id}"))


def test_the_unlicensed_list_shows_the_last_urging_and_promises_past_due(world, as_user, traveller):
    import datetime
    client = as_user(world.assistant)
    client.post("/shops/new", data=form(world))
    client.post("/shops/new", data=form(world, name="佳洁洗衣店", unit_no="S-02", operator_name="李老板", token="2"))
    first, second = Shop.select().order_by(Shop.id)
    client.post(f"/shops/{first.id}/urge", data={"method": "电话", "said": "下周去办", "promised_on": "2026-11-30"})
    client.post(f"/shops/{second.id}/urge", data={"method": "上门", "said": "材料还没齐"})
    traveller.shift(datetime.timedelta(days=5))  # 12-02: the promise of 11-30 has passed
    listing = client.get("/shops?licence=unlicensed")
    page = html(listing)
    assert re.search(r'class="[^"]*overdue[^"]*"[^>]*>承诺 11-30 前办好，已过期', page)
    assert "11-27 电话督促：下周去办" in text(listing) and "11-27 上门督促：材料还没齐" in text(listing)
    urge_link = f'/shops/{first.id}/urge?back=/shops?licence%3Dunlicensed'
    assert urge_link in page.replace("&amp;", "&")
    form_page = client.get(urge_link)
    assert 'href="/shops?licence=unlicensed"' in html(form_page)  # 返回 keeps the filter
    done = client.post(urge_link, data={"method": "电话", "said": "明天就去", "promised_on": "2026-12-03"})
    assert done.location == "/shops?licence=unlicensed"
    shop_page = client.get(f"/shops/{first.id}?back=/shops?licence%3Dunlicensed")
    assert 'href="/shops?licence=unlicensed"' in html(shop_page)
    assert 'href="/shops?licence=unlicensed"' not in html(client.get(f"/shops/{first.id}?back=https://evil.example/"))


def test_licence_promises_and_expiries_are_owed_by_the_zones_assistant(world, traveller):
    import datetime
    first = shops.register(world.assistant, name="好邻居便利店", unit_no="S-01", business_type="零售",
                           operator_name="陈老板", zone=world.zone)[0]
    second = shops.register(world.assistant, name="佳洁洗衣店", unit_no="S-02", business_type="零售",
                            operator_name="李老板", zone=world.zone)[0]
    shops.record_licence(world.assistant, second, CODE, "佳洁洗衣店", valid_until=datetime.date(2026, 12, 10))
    shops.urge(world.assistant, first, "电话", "下周去办", promised_on=datetime.date(2026, 11, 30))
    now = shops.clock.now()
    assert shops.owed(world.assistant, now) == [] or all(i.kind != "shop.promise" for i in shops.owed(world.assistant, now))
    traveller.shift(datetime.timedelta(days=5))
    items = shops.owed(world.assistant, shops.clock.now())
    kinds = {item.kind: item for item in items}
    assert kinds["shop.promise"].ref == ("shop", first.id) and "承诺 11-30" in kinds["shop.promise"].detail
    assert kinds["shop.promise"].late(shops.clock.utcnow())
    assert kinds["shop.licence"].ref == ("shop", second.id) and "12-10 到期" in kinds["shop.licence"].detail
    assert shops.owed(world.assistant2, shops.clock.now()) == []


def test_checkpoint_names_carry_no_internal_numbers_and_bodies_are_todays(world, as_user):
    client = as_user(world.assistant)
    client.post("/shops/new", data=form(world, name="川味小馆", unit_no="S-04"))
    shop = Shop.get()
    assert shops.patrols.Checkpoint.get_by_id(shop.checkpoint_id).name == "S-04 川味小馆"
    page = text(client.get("/shops/inspections/new"))
    for body in ("市场监管", "城管", "消防", "环卫"):
        assert body in page
    assert "工商" not in page
    assert "工商" not in shops.NOTICE_CONSEQUENCE
    refused = client.post("/shops/inspections/new", data={"body": "工商", "day": "2026-11-27", "token": "i",
                                                          "shops": [str(shop.id)], "findings": "查执照"})
    assert refused.status_code == 422
