"""住户自助 on a phone at 390×844, never signed in and with JavaScript off: the QR code read off the
printed 1号楼 poster opens the report form; the resident reports with a photo, lands on their private
link, nudges it; the assistant resolves it; the resident rates 不满意 and sees it reopened, and the
assistant's request page shows the rating to answer."""
import os
import subprocess

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from .conftest import PHONE
from .conftest import WAIT_MS
from .conftest import SCREENSHOTS
from .test_foundation import heading
from .test_tickets import jpeg
from .test_tickets import phone_of

pytestmark = pytest.mark.browser

DESCRIPTION = "厨房水槽下面的水管在滴水（琉璃松鼠）"


def poster_address(page, href):
    """Download the poster PDF behind `href`, print page 1 to a PNG as a camera would see the wall,
    and read the QR code off it."""
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    os.makedirs(SCREENSHOTS, exist_ok=True)
    pdf_path = os.path.join(SCREENSHOTS, "resident-poster.pdf")
    with open(pdf_path, "wb") as handle:
        handle.write(response.body())
    subprocess.run(["pdftoppm", "-png", "-r", "120", "-f", "1", "-l", "1", "-singlefile", pdf_path,
                    os.path.join(SCREENSHOTS, "resident-poster")], check=True, timeout=30)
    with Image.open(os.path.join(SCREENSHOTS, "resident-poster.png")) as image:
        codes = [code.text for code in zxingcpp.read_barcodes(image.convert("RGB"))]
    assert len(codes) == 1, codes
    return codes[0]


@pytest.fixture
def resident_phone(browser, live_server):
    """A phone with JavaScript off, in a context of its own, never signed in."""
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  base_url=live_server.url, java_script_enabled=False, service_workers="block")
    context.set_default_timeout(WAIT_MS)
    yield context.new_page()
    context.close()


def test_a_resident_reports_from_a_poster_follows_nudges_and_rates_it_unhappy(phones, resident_phone, shot,
                                                                             live_server, tmp_path):
    # The supervisor prints 1号楼's lobby poster.
    boss = phone_of(phones, "zhuguan")
    boss.goto("/me")
    boss.get_by_role("link", name="住户自助：扫码海报与停水停电公告").click()
    heading(boss, "住户自助")
    href = boss.get_by_role("link", name="1号楼 大堂海报").get_attribute("href")
    address = poster_address(boss, href)
    assert address.startswith(live_server.url + "/report/b/"), address

    # The resident scans it.
    me = resident_phone
    me.goto(address)
    heading(me, "扫码报事报修")
    expect(me.locator("nav")).to_have_count(0)  # no staff navigation
    me.get_by_label("1号楼 的 单元-室号").fill("1-101")
    me.get_by_label("东西坏了要修（水电、门窗、电梯、管道）").check()
    me.get_by_label("说说具体情况").fill(DESCRIPTION)
    me.get_by_label("照片（可不拍，最多 4 张）").set_input_files(jpeg(tmp_path / "leak.jpg", (60, 90, 160)))
    me.get_by_label("您的称呼").fill("小陈")
    me.get_by_label("手机号").fill("13611119999")
    shot(me, "resident-report")
    me.wait_for_timeout(4000)  # a person takes longer than the form's time-to-fill check
    me.get_by_role("button", name="提交").click()
    heading(me, "我的诉求")
    expect(me.get_by_text("已收到您的诉求").first).to_be_visible()
    expect(me.get_by_text(DESCRIPTION)).to_be_visible()
    expect(me.get_by_role("img", name="您拍的照片 1")).to_be_visible()
    token = me.url.split("/s/")[1].split("?")[0]
    link = f"/s/{token}"
    expect(me.locator(".r-link")).to_have_text(live_server.url + link)
    shot(me, "resident-link")

    # 催一下, within the first screen (no scrolling past the steps and photos), then not again at once.
    button = me.get_by_role("button", name="催一下").bounding_box()
    assert button["y"] + button["height"] <= PHONE["height"], button
    me.get_by_role("button", name="催一下").click()
    expect(me.get_by_role("status")).to_have_text("已催办，客户助理会尽快联系您")
    expect(me.get_by_role("button", name="催一下")).to_have_count(0)
    expect(me.get_by_text("已经催过了")).to_be_visible()

    # The assistant sees the self-report and the nudge on the request, and handles it on the spot.
    ticket_id = live_server.query("SELECT id FROM ticket WHERE link_token = ?", token)[0][0]
    zhuli = phone_of(phones, "zhuli1")
    zhuli.goto(f"/tickets/{ticket_id}")
    panel = zhuli.get_by_role("region", name="住户链接")
    expect(panel).to_contain_text("住户自助登记")
    expect(panel).to_contain_text("未核实")
    expect(panel).to_contain_text("住户催办 1 次")
    zhuli.get_by_role("link", name="现场处理完成").click()
    zhuli.get_by_label("处理情况").fill("更换了水槽下的软管")
    zhuli.get_by_role("button", name="处理完成").click()
    expect(zhuli.locator(".ticket-head .badge")).to_have_text("待回访")

    # The resident rates it 不满意 through the link: the return visit, and the request is reopened.
    me.goto(link)
    expect(me.locator(".r-state")).to_have_text("已处理，请您评价")
    rating = me.get_by_role("region", name="评价这次服务")  # on the link itself, first thing
    rating.get_by_label("不满意").check()
    rating.get_by_role("button", name="提交评价").click()  # no words: asked for them, nothing lost
    heading(me, "评价这次服务")
    expect(me.get_by_role("alert")).to_have_text("请告诉我们哪里还不满意，我们好重新处理")
    expect(me.get_by_label("不满意")).to_be_checked()
    me.get_by_label("想说的话").fill("还是在滴水")
    shot(me, "resident-rate")
    me.get_by_role("button", name="提交评价").click()
    heading(me, "我的诉求")
    expect(me.get_by_role("status")).to_contain_text("已重新安排处理")
    expect(me.locator(".r-progress [aria-current=step]")).to_have_text("处理中")
    expect(me.locator(".r-state")).to_have_count(0)  # the step says it; not said twice
    expect(me.get_by_text("您的评价：不满意，已重新处理")).to_be_visible()

    zhuli.reload()
    expect(zhuli.locator(".ticket-head .badge")).to_have_text("处理中")
    expect(zhuli.get_by_role("region", name="住户链接")).to_contain_text("住户评价：不满意")
    expect(zhuli.get_by_text("住户评价：不满意。客户说：还是在滴水")).to_be_visible()
    shot(zhuli, "resident-ticket-staff")
    # On 刘洋's 今日: the 不满意 rating waits for his answer, a tap from the request.
    zhuli.goto("/")
    rating = zhuli.locator(f'#agenda a.agenda-item[data-kind="ticket.rating"][href="/tickets/{ticket_id}"]')
    expect(rating).to_have_count(1)
    shot(zhuli, "resident-rating-on-today")
    rating.click()
    expect(zhuli.locator(".ticket-head .badge")).to_have_text("处理中")
    zhuli.get_by_role("link", name="回复住户").click()
    zhuli.get_by_label("回复住户").fill("明早九点带师傅上门再查")
    zhuli.get_by_role("button", name="回复住户").click()
    expect(zhuli.get_by_role("status")).to_contain_text("已回复住户")  # saved before the resident looks
    zhuli.goto("/")
    expect(zhuli.locator(f'#agenda a.agenda-item[data-kind="ticket.rating"][href="/tickets/{ticket_id}"]')) \
        .to_have_count(0)  # answered: off the agenda
    me.reload()
    expect(me.get_by_text("客户助理回复：明早九点带师傅上门再查")).to_be_visible()


def test_a_buildings_poster_shows_its_outage_first(resident_phone, shot, live_server):
    """The demo's water cut at 5号楼: its poster shows the notice before the form, and reporting from
    the notice links the request to it."""
    building_id = live_server.query("SELECT id FROM building WHERE code = '5'")[0][0]
    me = resident_phone
    me.goto(f"/report/b/{building_id}")
    heading(me, "扫码报事报修")
    expect(me.get_by_text("不用再报")).to_be_visible()
    expect(me.get_by_role("heading", name="5号楼二次供水水箱清洗")).to_be_visible()
    expect(me.get_by_label("说说具体情况")).to_have_count(0)
    shot(me, "resident-outage")
    me.get_by_role("link", name="不是这个问题，我要报修").click()
    expect(me.get_by_label("说说具体情况")).to_be_visible()


def test_the_public_pages_have_no_serious_accessibility_violations(browser, live_server, page_problems):
    """axe-core (as tests/browser/test_accessibility.py runs it) and the 44 px targets on the poster's
    form, the form sent back with its messages, a request's link and its rating page."""
    from .test_accessibility import BLOCKING
    from .test_accessibility import check
    from .test_accessibility import describe
    from .test_accessibility import send_invalid

    page_problems.allow(r"status of 422")
    token = live_server.query("SELECT t.link_token FROM ticket t JOIN self_report s ON s.ticket_id = t.id "
                              "WHERE t.state = 'resolved' ORDER BY t.id LIMIT 1")
    token = token[0][0] if token else live_server.query("SELECT link_token FROM ticket ORDER BY id LIMIT 1")[0][0]
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    found = []
    try:
        for where, path in [("海报（公告在先）", "/report"), ("扫码报事报修", "/report?go=1"), ("未填", None),
                            ("我的诉求", f"/s/{token}"), ("评价", f"/s/{token}/rate")]:
            if path is None:
                send_invalid(page, ())
            else:
                assert page.goto(path).ok, path
            check(page, f"住户 {where} {page.url}", found)
    finally:
        context.close()
    blocking = [(where, v) for where, v in found if v["impact"] in BLOCKING]
    assert not blocking, "\n".join(describe(where, v) for where, v in blocking)
