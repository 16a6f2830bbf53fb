"""One patrol as the assistant walks it on a phone: a new public-place checkpoint and its printed
QR sticker, the sticker scanned, two items failed with photos, one finding sent to the cleaning
unit as a rectification order (整改单) and the other fixed on the spot; the unit reports the
work done, the assistant accepts it, and today's coverage on the 巡视 board goes up by one.

The demo estate has checkpoints of its own (and may gain more); ours carries a made-up word.
"""
import io
import os
import re
import subprocess
from urllib.parse import urlparse

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader

from .conftest import SCREENSHOTS
from .test_foundation import heading
from .test_foundation import tab
from .test_tickets import flash
from .test_tickets import inspect
from .test_tickets import jpeg
from .test_tickets import open_order
from .test_tickets import phone_of
from .test_tickets import report_done

pytestmark = pytest.mark.browser

MARKER = "琉璃松鼠"
CHECKPOINT = f"2号楼 楼道（{MARKER}）"
LIGHTS = "照明正常"
CLUTTER = "无杂物堆放"


def public_coverage(page):
    """The 巡视 board's 公共部位 count as (done, total)."""
    stat = page.get_by_label("今日覆盖").locator(".stat").filter(has_text="公共部位")
    expect(stat).to_have_count(1)
    done, total = stat.locator("b").inner_text().split("/")
    return int(done), int(total)


def owed_public(page):
    """The cards listed under 今天还要巡查 → 公共部位."""
    return page.get_by_role("region", name="公共部位未巡查").locator(".checkpoint-card")


def item(page, text):
    """The check page's fieldset of the checklist item `text` (its legend reads "3. 照明正常")."""
    return page.get_by_role("group", name=re.compile(rf"^\d+\. {text}$"))


def fail_item(page, text, note, photo):
    group = item(page, text)
    group.get_by_label("不合格", exact=True).check()
    group.get_by_label("问题说明").fill(note)
    group.get_by_label("问题照片", exact=True).set_input_files(photo)
    # The upload goes at once (htmx) and the picker comes back with its thumbnail.
    expect(group.get_by_role("img", name="已上传的问题照片 1")).to_be_visible()


def sticker_sheet(page, href):
    """Download the sticker PDF behind `href`, keep page 1 as a PNG; return (its text without
    whitespace, the QR payloads read off the PNG)."""
    response = page.request.get(href)
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body()))
    assert len(reader.pages) == 1
    text = re.sub(r"\s+", "", reader.pages[0].extract_text())
    os.makedirs(SCREENSHOTS, exist_ok=True)
    pdf_path = os.path.join(SCREENSHOTS, "patrol-stickers.pdf")
    with open(pdf_path, "wb") as handle:
        handle.write(response.body())
    # What a phone camera would see: the printed page as an image.
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-f", "1", "-l", "1", "-singlefile", pdf_path,
                    os.path.join(SCREENSHOTS, "patrol-stickers")], check=True, timeout=30)
    with Image.open(os.path.join(SCREENSHOTS, "patrol-stickers.png")) as image:
        codes = [code.text for code in zxingcpp.read_barcodes(image.convert("RGB"))]
    return text, codes


def test_a_scanned_checkpoint_fails_two_items_and_one_is_rectified(phones, shot, live_server, tmp_path):
    dark = jpeg(tmp_path / "dark.jpg", (40, 40, 60))
    boxes = jpeg(tmp_path / "boxes.jpg", (150, 110, 70))
    relit = jpeg(tmp_path / "relit.jpg", (240, 220, 120))

    # The assistant adds a public place in her zone, on the spot.
    zhuli = phone_of(phones, "zhuli1")
    tab(zhuli, "巡视")
    heading(zhuli, "现场巡视")
    zhuli.get_by_role("link", name="新增公共部位巡查点").click()
    heading(zhuli, "新建巡查点")
    expect(zhuli.get_by_label("类型").locator("option")).to_have_text(["公共部位"])
    expect(zhuli.get_by_label("管辖区域").locator("option:checked")).to_have_text("一区（1–4号楼）")
    zhuli.get_by_label("名称").fill(CHECKPOINT)
    zhuli.get_by_label("检查表").select_option(label="楼道及公共设施")
    zhuli.get_by_label("责任业务块").select_option(label="保洁部（保洁）")
    zhuli.get_by_role("button", name="保存").click()
    flash(zhuli, f"已新建巡查点“{CHECKPOINT}”")
    heading(zhuli, CHECKPOINT)
    checkpoint_id = re.search(r"/patrols/checkpoints/(\d+)$", zhuli.url).group(1)
    expect(zhuli.get_by_text("未巡查", exact=True)).to_be_visible()

    # Its sticker: the printed QR code is the scan address with a token, not the checkpoint's id.
    sticker = zhuli.get_by_role("link", name="贴纸")
    href = sticker.get_attribute("href")
    assert href == f"/patrols/stickers.pdf?checkpoint={checkpoint_id}"
    text, codes = sticker_sheet(zhuli, href)
    for expected in (CHECKPOINT.replace(" ", ""), "阳光花园", "公共部位", "一区", "扫码", "共1张"):
        assert expected in text, expected
    assert len(codes) == 1, codes
    scan_url = codes[0]
    match = re.fullmatch(re.escape(live_server.url) + r"/c/([A-Za-z0-9_-]{16,40})", scan_url)
    assert match, scan_url
    assert match.group(1) != checkpoint_id

    # Today's board owes it a check.
    tab(zhuli, "巡视")
    heading(zhuli, "现场巡视")
    done, total = public_coverage(zhuli)
    assert done < total
    expect(owed_public(zhuli).filter(has_text=CHECKPOINT)).to_have_count(1)
    shot(zhuli, "patrol-board")

    # The sticker scanned: the check page, marked as made on the spot, every item 合格 to start.
    zhuli.goto(scan_url)
    heading(zhuli, "现场巡查")
    expect(zhuli.locator(".panel").first).to_contain_text("扫码巡查")
    expect(item(zhuli, "地面清洁").get_by_label("合格", exact=True)).to_be_checked()
    expect(item(zhuli, LIGHTS).get_by_label("问题说明")).to_be_hidden()
    fail_item(zhuli, LIGHTS, "三楼楼道顶灯不亮，晚上一片黑", dark)
    fail_item(zhuli, CLUTTER, "五楼楼道堆了纸箱，挡住消防通道", boxes)
    expect(item(zhuli, "地面清洁").get_by_label("问题说明")).to_be_hidden()
    shot(zhuli, "patrol-check")
    zhuli.get_by_role("button", name="保存巡查").click()

    # Two problems: the check opens with both listed, each a tap away.
    flash(zhuli, "2 项不合格")
    heading(zhuli, f"巡查记录：{CHECKPOINT}")
    problems = zhuli.get_by_role("heading", name="这次发现的问题（2）")
    expect(problems).to_be_visible()
    zhuli.locator(".card").filter(has_text=LIGHTS).click()
    heading(zhuli, "巡查问题")
    finding = zhuli.locator(".panel").first
    expect(finding).to_contain_text(f"{CHECKPOINT} · {LIGHTS}")
    expect(finding.locator(".badge")).to_have_text("待处理")
    photo = zhuli.get_by_role("img", name="问题照片 1")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    finding_url = zhuli.url
    shot(zhuli, "patrol-finding")

    # 整改单 to the place's responsible unit, requirement written from the finding.
    zhuli.get_by_role("link", name="派整改单给业务块").click()
    heading(zhuli, "派整改单")
    expect(zhuli.get_by_label("责任业务块").locator("option:checked")).to_have_text("保洁部（保洁）")
    expect(zhuli.get_by_label("整改要求")).to_have_value(f"请整改：{LIGHTS}不合格（三楼楼道顶灯不亮，晚上一片黑）")
    expect(zhuli.get_by_label("整改时限")).to_have_value(re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d"))
    zhuli.get_by_role("button", name="派整改单").click()
    flash(zhuli, "已派整改单")
    heading(zhuli, "巡查问题")
    expect(zhuli.locator(".panel").first.locator(".badge")).to_have_text("整改中")
    card = zhuli.locator(".wo-card")
    expect(card).to_contain_text("保洁部")
    order = re.search(r"ZG\d{8}-\d{3}", card.inner_text()).group()
    expect(zhuli.get_by_role("link", name="派整改单给业务块")).to_have_count(0)

    # The other finding was sorted out there and then.
    zhuli.get_by_role("link", name="这次巡查（共 2 个问题）").click()
    heading(zhuli, f"巡查记录：{CHECKPOINT}")
    zhuli.locator(".card").filter(has_text=CLUTTER).click()
    heading(zhuli, "巡查问题")
    expect(zhuli.locator(".panel").first).to_contain_text(f"{CHECKPOINT} · {CLUTTER}")
    zhuli.get_by_role("link", name="当场已解决").click()
    heading(zhuli, "当场解决")
    zhuli.get_by_label("当场如何解决").fill("叫来住户当场搬走纸箱")
    zhuli.get_by_role("button", name="记录当场解决").click()
    flash(zhuli, "已记录当场解决")
    expect(zhuli.locator(".panel").first.locator(".badge")).to_have_text("当场解决")
    expect(zhuli.locator(".panel").first).to_contain_text("处理：叫来住户当场搬走纸箱")

    # The board: one more public place covered, and ours no longer owed.
    tab(zhuli, "巡视")
    heading(zhuli, "现场巡视")
    assert public_coverage(zhuli) == (done + 1, total)
    expect(owed_public(zhuli).filter(has_text=CHECKPOINT)).to_have_count(0)

    # The cleaning unit finds the 整改单 on 今日, with the finding's photo, and does the work.
    unit = phone_of(phones, "baojie")
    open_order(unit, order, "待接单")
    expect(unit.locator(".panel").first).to_contain_text(f"{LIGHTS}不合格")
    # 问题照片会一并带给业务块: the unit may see the finding's photo, not just its frame.
    photo = unit.get_by_role("img", name="现场照片 1")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)") > 0, \
        "the unit can't load the finding's photo"
    unit.get_by_role("button", name="接单").click()
    flash(unit, "已接单")
    report_done(unit, "更换三楼楼道顶灯灯管，已亮", photo=relit)

    # The assistant accepts it; the finding is 已整改.
    open_order(zhuli, order, "待验收")
    inspect(zhuli, "合格")
    flash(zhuli, "验收通过")
    zhuli.get_by_role("link", name=CHECKPOINT).click()
    heading(zhuli, "巡查问题")
    assert urlparse(zhuli.url).path == urlparse(finding_url).path
    expect(zhuli.locator(".panel").first.locator(".badge")).to_have_text("已整改")
    expect(zhuli.locator(".panel").first).to_contain_text("处理：更换三楼楼道顶灯灯管，已亮")
    expect(zhuli.locator(".wo-card")).to_contain_text("已验收")

    # The day's printed patrol record tells both.
    response = zhuli.request.get("/patrols/record.pdf")
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    record = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages))
    for expected in ("现场巡查记录", "刘洋", CHECKPOINT.replace(" ", ""), f"{LIGHTS}不合格", "已整改",
                     f"{CLUTTER}不合格", "当场解决", "叫来住户当场搬走纸箱"):
        assert expected in record, expected
    pdf_path = os.path.join(SCREENSHOTS, "patrol-record.pdf")
    with open(pdf_path, "wb") as out:
        out.write(response.body())
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", pdf_path,
                    os.path.join(SCREENSHOTS, "patrol-record")], check=True, timeout=30)


def test_the_supervisor_sees_each_assistants_days_and_the_admin_sets_the_rules(phones, shot):
    boss = phone_of(phones, "zhuguan")
    tab(boss, "巡视")
    heading(boss, "现场巡视")
    boss.get_by_role("link", name="巡查覆盖（按人按天）").click()
    heading(boss, "巡查覆盖")
    person = boss.get_by_role("region", name="刘洋")
    days = person.locator("details.coverage-day")
    expect(days).to_have_count(7)
    expect(days.first).to_contain_text("安保")
    missed = person.locator("details.has-misses").first  # the demo's two weeks have a few misses
    missed.locator("summary").click()
    expect(missed).to_contain_text("未巡：")
    shot(boss, "patrol-coverage")

    admin = phone_of(phones, "admin")
    tab(admin, "设置")
    admin.get_by_role("link", name="巡查规则（无噪音时段、每日要求）").click()
    heading(admin, "巡查规则")
    expect(admin.get_by_label("无噪音施工时段 开始")).to_have_value("12:00")
    shot(admin, "patrol-rules")
    admin.get_by_role("link", name="检查表").click()
    heading(admin, "检查表")
    admin.get_by_role("link").filter(has_text="商铺").first.click()
    heading(admin, "商铺")
    expect(admin.locator(".checklist-items input[name=text]").first).to_have_value("消防安全")
    shot(admin, "patrol-checklist")


UNIT_LOGINS = {"工程部": "gongcheng", "保洁部": "baojie", "绿化部": "lvhua", "安保部": "anbao", "综合服务部": "zonghe"}


def test_a_newcomers_patrol_from_the_top_of_the_board_to_the_days_misses(phones, shot, tmp_path, page_problems):
    """Issue 23 items 8–11 at 390×844: each kind a tap from the top of 巡视, 全部合格 in one tap, a
    rectification order due inside service hours and reported done with its photo, the supervisor's day."""
    after = jpeg(tmp_path / "after.jpg", (230, 230, 200))
    zhuli = phone_of(phones, "zhuli1")
    tab(zhuli, "巡视")
    heading(zhuli, "现场巡视")
    areas = zhuli.get_by_role("navigation", name="巡视分类")
    expect(areas.get_by_role("link")).to_have_count(3)
    box = areas.bounding_box()
    assert box["y"] < 200 and all(b["height"] >= 44 for b in (l.bounding_box() for l in areas.get_by_role("link").all()))
    shot(zhuli, "patrol-board-areas")
    areas.get_by_role("link", name=re.compile("^商铺")).click()
    heading(zhuli, "商铺")
    zhuli.go_back()
    heading(zhuli, "现场巡视")

    # A public place due today: 全部合格 in one tap, then the one exception.
    card = owed_public(zhuli).first
    name = card.locator(".card-title").inner_text()
    card.click()
    heading(zhuli, "现场巡查")
    first = zhuli.locator("fieldset.check-item").first
    first.get_by_label("不适用", exact=True).check()
    zhuli.get_by_role("button", name=re.compile("^全部合格")).click()
    radios = zhuli.locator('fieldset.check-item input[value="ok"]')
    assert radios.count() >= 4 and all(r.is_checked() for r in radios.all())
    group = zhuli.locator("fieldset.check-item").nth(1)
    text = group.locator("legend").inner_text().split(". ", 1)[1]
    group.get_by_label("不合格", exact=True).check()
    group.get_by_label("问题说明").fill("一块地砖松动")
    shot(zhuli, "patrol-check-all-ok")
    zhuli.get_by_role("button", name="保存巡查").click()
    heading(zhuli, "巡查问题")
    expect(zhuli.locator(".panel").first).to_contain_text(f"{name} · {text}")

    # The rectification order's deadline is inside the service hours (08:00–20:00).
    zhuli.get_by_role("link", name="派整改单给业务块").click()
    heading(zhuli, "派整改单")
    deadline = zhuli.get_by_label("整改时限").input_value()
    assert "08:00" <= deadline[-5:] <= "20:00", deadline
    unit_name = zhuli.get_by_label("责任业务块").locator("option:checked").inner_text().split("（")[0]
    if unit_name == "请选择":
        zhuli.get_by_label("责任业务块").select_option(label="工程部（工程维修）")
        unit_name = "工程部"
    zhuli.get_by_role("button", name="派整改单").click()
    flash(zhuli, "已派整改单")
    order = re.search(r"ZG\d{8}-\d{3}", zhuli.locator(".wo-card").inner_text()).group()

    # 报完成 needs the photo of the work done.
    page_problems.allow(r"status of 422")
    unit = phone_of(phones, UNIT_LOGINS[unit_name])
    open_order(unit, order, "待接单")
    unit.get_by_role("button", name="接单").click()
    flash(unit, "已接单")
    unit.get_by_role("link", name="报完成", exact=True).click()
    heading(unit, "报完成")
    expect(unit.get_by_text("整改后的照片（必拍）")).to_be_visible()
    unit.get_by_label("完成情况").fill("已重新铺贴地砖")
    unit.get_by_role("button", name="报完成").click()
    expect(unit.locator(".photo-field").get_by_role("alert")).to_contain_text("请拍一张整改后的照片再报完成")
    unit.get_by_label("整改后的照片（必拍）", exact=True).set_input_files(after)
    expect(unit.get_by_role("img", name="已上传的整改后的照片（必拍） 1")).to_be_visible()
    unit.get_by_role("button", name="报完成").click()
    flash(unit, "已报完成")

    # The supervisor taps a day to see what was missed, public places included.
    boss = phone_of(phones, "zhuguan")
    boss.goto("/patrols/coverage")
    heading(boss, "巡查覆盖")
    day = boss.locator("details.coverage-day.has-misses").first
    day.locator("summary").click()  # the day opens on its misses, and on the page of them
    day.get_by_role("link", name=re.compile("漏查的巡查点$")).click()
    heading(boss, re.compile(r"^\d\d-\d\d 巡查覆盖$"))
    expect(boss.get_by_role("heading", name=re.compile("未巡")).first).to_be_visible()
    missed = boss.locator(".link-list a").first
    expect(missed).to_be_visible()
    assert missed.bounding_box()["height"] >= 44
    shot(boss, "patrol-coverage-day")
    missed.click()
    expect(boss.get_by_role("heading", level=1)).not_to_have_text("巡查覆盖")
