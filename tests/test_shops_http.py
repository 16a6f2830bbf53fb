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
    client.post("/shops/inspections/new", data={"body": "市容监察", "day": "2026-11-27", "token": "i-1",
                                                "shops": [str(first.id), str(second.id)], "findings": "门前堆放纸箱"})
    for shop in (first, second):
        assert "市容监察" in text(client.get(f"/shops/{shop.id}"))
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
