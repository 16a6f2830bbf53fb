"""A new estate from DEMO=0 to imported households with residents, through the pages alone, on a
phone (390×844) and on a desktop screen: the one-time code from the terminal, the first
administrator, the estate, buildings in bulk, a zone, then the households, residents and staff files
previewed and imported, each import returning to the set-up step; the staff's initial passwords
print as A4 cut-out slips, and a lost sheet is made again from the users list."""
import os
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from .conftest import CHROMIUM_ARGS  # noqa: F401 (the browser fixture launches with them)
from .conftest import LiveServer
from .conftest import PageProblems
from .conftest import REPORT_CSP
from .conftest import SCREENSHOTS
from .conftest import save_screenshot

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live_server(tmp_path_factory):
    """An empty estate as `DEMO=0 make run` leaves it (one per test: the first administrator is made once)."""
    os.environ["KEFU_LIVE_EMPTY"] = "1"
    try:
        server = LiveServer(str(tmp_path_factory.mktemp("empty")))
    finally:
        os.environ.pop("KEFU_LIVE_EMPTY", None)
    yield server
    server.stop()


@pytest.fixture
def page_problems(live_server):
    return PageProblems(live_server)


def files(folder):
    households = os.path.join(folder, "房号.csv")
    with open(households, "w", encoding="gbk", newline="") as handle:
        handle.write("楼栋,单元,室号,建筑面积,入住日期\r\n1,1,0101,89.5,2020-05-01\r\n1,1,0102,92,\r\n2,1,0901,120,\r\n")
    residents = os.path.join(folder, "住户.csv")
    with open(residents, "w", encoding="gbk", newline="") as handle:
        handle.write("房号,姓名,联系电话,关系,标签\r\n1-1-101,张建国,13812345678,户主,独居老人\r\n"
                     "1-1-0102,李秀英,021-58880000,业主,\r\n1-1-0102,王小明,,子女,\r\n2-1-0901,陈静,13900001111,租客,\r\n")
    staff = os.path.join(folder, "人员.csv")
    with open(staff, "w", encoding="gbk", newline="") as handle:
        # The zone as the company's sheet writes it: without its parenthetical.
        handle.write("姓名,用户名,角色,管辖区域或业务块,手机\r\n李助理,zhuli1,客户助理,一区,13812345678\r\n"
                     "周前台,qiantai,前台,,\r\n")
    return households, residents, staff


def import_new(page, label, kind, path, filename, count):
    """From the set-up's import step: 导入<label>, upload, preview `count` new rows, confirm."""
    page.get_by_role("link", name=f"导入{label}", exact=True).click()
    page.locator(f"#{kind}-file").set_input_files(path)
    page.get_by_role("button", name=f"上传并预览{label}").click()
    expect(page.locator("#count-new")).to_have_text(str(count))
    page.get_by_role("button", name=f"确认导入：新增 {count}，更新 0").click()
    expect(page.get_by_text(f"已导入 {filename}：新增 {count}，更新 0，未变 0")).to_be_visible()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_from_an_empty_server_to_households_with_residents(browser, live_server, page_problems, tmp_path, viewport):
    context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  base_url=live_server.url, service_workers="block")
    context.set_default_timeout(15000)
    page = context.new_page()
    page.add_init_script(REPORT_CSP)
    page.on("pageerror", page_problems.on_pageerror)
    page.on("console", page_problems.on_console)
    page_problems.allow(r"422")
    try:
        page.goto("/")
        expect(page).to_have_url(f"{live_server.url}/setup")
        with open(os.path.join(live_server.instance, "setup-code")) as handle:
            code = handle.read().strip()  # what the terminal printed
        page.get_by_label("一次性设置码").fill(code)
        page.get_by_label("姓名").fill("王经理")
        page.get_by_label("密码", exact=True).fill("short")
        page.get_by_label("再输一次密码").fill("short")
        page.get_by_role("button", name="创建管理员并开始设置").click()
        expect(page.get_by_text("密码至少 8 位")).to_be_visible()
        page.get_by_label("密码", exact=True).fill("cuihu2026")
        page.get_by_label("再输一次密码").fill("cuihu2026")
        page.get_by_role("button", name="创建管理员并开始设置").click()

        expect(page.get_by_text("管理员已创建，接下来设置小区")).to_be_visible()
        page.get_by_label("小区名称").fill("翠湖苑")
        page.get_by_role("button", name="保存，下一步").click()

        expect(page).to_have_url(f"{live_server.url}/setup/buildings")
        page.get_by_label("楼栋编号").fill("1-2")
        page.get_by_label("最高层").fill("10")
        page.get_by_label("室号补零写成四位（0201）").check()
        page.get_by_role("button", name="新建这些楼栋和房号").click()
        expect(page.get_by_text("已新建 2 栋楼、80 户")).to_be_visible()
        name = "phone" if viewport == PHONE else "desktop"
        page.get_by_role("link", name="3. 管辖区域").click()
        page.get_by_role("link", name="＋ 新建管辖区域").click()
        page.get_by_label("区域名称").fill("一区（1号楼）")
        page.get_by_label("楼栋编号", exact=True).fill("1")
        page.get_by_role("button", name="保存", exact=True).click()
        expect(page.get_by_text("管辖区域已保存")).to_be_visible()
        page.get_by_role("link", name="6. 导入住户等").click()
        expect(page).to_have_url(f"{live_server.url}/setup/import")
        expect(page.get_by_role("link", name="导入人员账号", exact=True)).to_be_visible()
        page.wait_for_load_state()
        save_screenshot(page, f"setup-import-step-{name}")

        households, residents, staff = files(str(tmp_path))
        page.get_by_role("link", name="导入房号", exact=True).click()
        expect(page.get_by_role("link", name="‹ 返回设置向导")).to_be_visible()
        save_screenshot(page, f"imports-index-from-setup-{name}")
        page.locator("#households-file").set_input_files(households)
        page.get_by_role("button", name="上传并预览房号").click()
        expect(page.locator("#count-changed")).to_have_text("3")
        expect(page.locator("#count-refused")).to_have_text("0")
        expect(page.get_by_role("link", name="‹ 返回设置向导")).to_be_visible()
        page.get_by_role("button", name="确认导入：新增 0，更新 3").click()
        expect(page.get_by_text("已导入 房号.csv：新增 0，更新 3，未变 0")).to_be_visible()
        expect(page).to_have_url(f"{live_server.url}/setup/import")  # back on the set-up step

        import_new(page, "住户", "residents", residents, "住户.csv", 4)
        expect(page).to_have_url(f"{live_server.url}/setup/import")

        import_new(page, "人员账号", "users", staff, "人员.csv", 2)
        slips = page.locator(".slip")
        expect(slips).to_have_count(2)
        expect(slips.first).to_contain_text("李助理")
        expect(slips.first).to_contain_text("一区（1号楼）")
        expect(slips.first).to_contain_text("修改密码")
        password = slips.first.locator(".slip-password").inner_text()
        expect(page.get_by_role("button", name="打印初始密码单（2 人）")).to_be_visible()
        save_screenshot(page, f"imports-password-sheet-{name}")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], "no sideways scrolling"
        # Printed: A4, the app's bars and buttons gone, each person's slip whole.
        page.emulate_media(media="print")
        assert not page.locator(".tabbar").is_visible() and not page.locator(".topbar").is_visible()
        assert page.locator(".sheet-head").is_visible()
        os.makedirs(SCREENSHOTS, exist_ok=True)
        pdf = os.path.join(SCREENSHOTS, f"imports-password-sheet-{name}.pdf")
        page.pdf(path=pdf, format="A4", print_background=True)
        page.emulate_media(media="screen")
        printed = PdfReader(pdf)
        words = printed.pages[0].extract_text()
        assert len(printed.pages) == 1 and "初始密码单" in words and password in words and "今日" not in words
        page.get_by_role("link", name="返回设置向导", exact=True).click()
        expect(page).to_have_url(f"{live_server.url}/setup/import")

        # The sheet lost: from the users list, new passwords for the accounts never signed in.
        page.goto("/admin/users")
        expect(page.get_by_text("导入的账号：人员.csv")).to_be_visible()
        save_screenshot(page, f"users-import-batch-{name}")
        page.get_by_role("link", name="重新生成初始密码").click()
        save_screenshot(page, f"imports-reissue-confirm-{name}")
        page.get_by_role("button", name="为从未登录的 2 个账号重新生成初始密码").click()
        expect(page.get_by_text("已为 2 个从未登录的账号重新生成初始密码")).to_be_visible()
        again = page.locator(".slip").first.locator(".slip-password").inner_text()
        assert again != password

        # 李助理 signs in with the new one.
        helper = browser.new_context(viewport=viewport, locale="zh-CN", base_url=live_server.url,
                                     service_workers="block")
        try:
            other = helper.new_page()
            other.goto("/login")
            other.get_by_label("用户名", exact=True).fill("zhuli1")
            other.get_by_label("密码", exact=True).fill(again)
            other.get_by_role("button", name="登录").click()
            expect(other).to_have_url(f"{live_server.url}/")
        finally:
            helper.close()

        # The household's own page shows its residents and where they came from.
        page.goto("/admin/buildings")
        page.get_by_role("link", name="1号楼").first.click()
        page.locator("#u1").get_by_role("link", name=re.compile(r"^0102")).click()
        expect(page.get_by_text("李秀英", exact=True)).to_be_visible()
        expect(page.get_by_text("王小明", exact=True)).to_be_visible()
        expect(page.get_by_text("导入文件 住户.csv 第 3 行").first).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], "no sideways scrolling"
    finally:
        context.close()
    rows = live_server.query("SELECT h.code, r.name, r.relation FROM resident r JOIN household h ON h.id = r.household_id "
                             "ORDER BY r.id")
    assert [tuple(r) for r in rows] == [("1-1-0101", "张建国", "业主"), ("1-1-0102", "李秀英", "业主"),
                                        ("1-1-0102", "王小明", "子女"), ("2-1-0901", "陈静", "租户")]
