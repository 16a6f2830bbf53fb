"""The foundation as a person sees it on a phone: sign-in and tabs, estate set-up, photos,
the printed roster, household search and signing out.

Tests in this module share one demo estate and run in file order; the ones that need an earlier
test's data create it themselves when run alone.
"""
import io
import os
import re
import subprocess

import pytest
from PIL import ExifTags
from PIL import Image
from playwright.sync_api import expect
from pypdf import PdfReader

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

PASSWORD = "demo1234"

TABS = {
    "admin": ["今日", "设置", "我的"],
    "zhuguan": ["今日", "诉求", "巡视", "客户", "我的"],
    "zhuli1": ["今日", "诉求", "巡视", "客户", "我的"],
    "zhuli2": ["今日", "诉求", "巡视", "客户", "我的"],
    "qiantai": ["今日", "诉求", "客户", "我的"],
    "gongcheng": ["今日", "我的"],
    "baojie": ["今日", "我的"],
    "lvhua": ["今日", "我的"],
    "anbao": ["今日", "我的"],
    "zonghe": ["今日", "我的"],
}
SCREENSHOT_TODAY = ("admin", "zhuli1", "zhuguan", "qiantai", "gongcheng")

# Elements sticking out past the right edge, unless an ancestor clips them on purpose.
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return true;
    }
    return false;
  };
  return [...document.body.querySelectorAll("*")]
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.right > width + 1; })
    .filter((el) => !clipped(el))
    .map((el) => el.tagName.toLowerCase() + (el.className ? "." + el.className : "") + " " +
                 (el.textContent || "").trim().slice(0, 30));
}"""


def sign_in(page, username, password=PASSWORD):
    """Sign in through the login form and land on 今日."""
    page.context.clear_cookies()
    page.goto("/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("今日")


def tab(page, label):
    """Tap a bottom tab."""
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=label).click()


def heading(page, text):
    expect(page.get_by_role("heading", level=1)).to_have_text(text)


def field(page, label):
    """The form field block (label, input, hint, errors) of the input labelled `label`."""
    return page.locator(".field").filter(has=page.get_by_label(label, exact=True))


def open_settings(page, item):
    tab(page, "设置")
    heading(page, "小区设置")
    page.get_by_role("link", name=item).click()


def create_building(page, code, name):
    """设置 → 楼栋与房号 → ＋ 新建; ends on the new building's page."""
    open_settings(page, "楼栋与房号")
    heading(page, "楼栋与房号")
    page.get_by_role("link", name="＋ 新建").click()
    heading(page, "新建楼栋")
    page.get_by_label("楼栋编号").fill(code)
    page.get_by_label("楼栋名称").fill(name)
    page.get_by_role("button", name="保存").click()
    heading(page, name)


def ensure_building_9(page):
    """9号楼 from test_admin_creates_building_and_households, made here if that test didn't run."""
    open_settings(page, "楼栋与房号")
    heading(page, "楼栋与房号")
    if page.get_by_role("link", name=re.compile("^9号楼")).count() == 0:
        create_building(page, "9", "9号楼")
        page.get_by_label("最高层").fill("6")
        page.get_by_role("button", name="生成房号").click()
        expect(page.get_by_role("status")).to_contain_text("已生成")


def photo_with_gps(path):
    """A small JPEG carrying GPS coordinates in its EXIF, like a phone camera's."""
    image = Image.new("RGB", (640, 480), (30, 120, 200))
    for x in range(0, 640, 40):
        image.paste((240, 200, 40), (x, 0, x + 20, 480))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (31.0, 13.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (121.0, 32.0, 15.0)
    image.save(path, "JPEG", exif=exif)
    with Image.open(path) as saved:
        assert saved.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture really has GPS
    return path


def test_sign_in_shows_the_tabs_of_each_role(page, shot):
    for username, tabs in TABS.items():
        sign_in(page, username)
        # 今日 carries the count of what waits on this person.
        expect(page.get_by_role("navigation", name="主导航").get_by_role("link")).to_have_text(
            [re.compile(rf"^\s*{tab}\s*(\d+\s*)?$") for tab in tabs])
        expect(page.get_by_role("navigation", name="主导航").get_by_role("link", name="今日", exact=True)) \
            .to_have_attribute("aria-current", "page")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, username
        assert page.evaluate(OVERFLOWING) == [], username
        if username in SCREENSHOT_TODAY:
            shot(page, f"today-{username}")


def test_wrong_password_is_explained_beside_the_field(page, page_problems, shot):
    page_problems.allow(r"status of 422")
    page.goto("/login")
    page.get_by_label("用户名", exact=True).fill("zhuli2")
    page.get_by_label("密码", exact=True).fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    password = field(page, "密码")
    expect(password.get_by_role("alert")).to_contain_text("用户名或密码错误")
    expect(page.get_by_label("密码", exact=True)).to_have_accessible_description(re.compile("用户名或密码错误"))
    expect(page.get_by_label("用户名", exact=True)).to_have_value("zhuli2")
    heading(page, "登录")
    shot(page, "login-wrong-password")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    heading(page, "今日")


def test_admin_creates_building_and_households(page, page_problems, shot):
    page_problems.allow(r"status of 422")
    sign_in(page, "admin")
    create_building(page, "9", "9号楼")
    expect(page.get_by_role("status")).to_have_text("已新建 9号楼，接下来批量生成房号")
    expect(page.get_by_text("还没有房号")).to_be_visible()

    page.get_by_label("单元数").fill("2")
    page.get_by_label("每层户数").fill("2")
    page.get_by_label("起始层").fill("6")
    page.get_by_label("最高层").fill("1")
    page.get_by_role("button", name="生成房号").click()
    expect(field(page, "最高层").get_by_role("alert")).to_have_text("最高层不能低于起始层")
    expect(page.get_by_label("起始层")).to_have_value("6")
    expect(page.get_by_label("最高层")).to_have_value("1")
    expect(page.get_by_label("单元数")).to_have_value("2")
    shot(page, "building-households-error")

    page.get_by_label("起始层").fill("1")
    page.get_by_label("最高层").fill("6")
    page.get_by_role("button", name="生成房号").click()
    expect(page.get_by_role("status")).to_have_text("已生成 24 户")
    expect(page.get_by_role("link", name="602", exact=True)).to_have_count(2)  # 1 单元 and 2 单元
    expect(page.get_by_role("heading", name="2 单元")).to_be_visible()
    expect(page.locator("dl")).to_contain_text("24 户")
    shot(page, "building-households")

    page.get_by_role("link", name="返回").click()
    heading(page, "楼栋与房号")
    expect(page.get_by_role("link", name=re.compile("^9号楼"))).to_contain_text("24 户")


def test_building_added_to_zone_shows_on_assistants_today(page, shot):
    sign_in(page, "admin")
    ensure_building_9(page)
    open_settings(page, "管辖区域")
    heading(page, "管辖区域")
    page.get_by_role("link", name=re.compile("^一区")).click()
    heading(page, re.compile("^一区"))
    page.get_by_label("9号楼").check()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("管辖区域已保存")
    expect(page.get_by_role("link", name=re.compile("^一区"))).to_contain_text("9号楼")
    shot(page, "zones")

    sign_in(page, "zhuli1")
    zone = page.locator(".card").filter(has_text="一区")
    expect(zone.get_by_role("link", name="9号楼")).to_be_visible()
    shot(page, "today-zhuli1-with-9")


def test_a_photo_picked_before_the_page_finished_loading_is_still_uploaded(page, tmp_path):
    """On a slow signal the scripts arrive last: a photo picked before then goes up once they do."""
    sign_in(page, "admin")
    held = []
    page.route(re.compile(r"/static/vendor/htmx-[0-9.]+\.min\.js"), lambda route: held.append(route))
    page.goto("/admin/places/new", wait_until="commit")
    picker = page.get_by_label("照片", exact=True)
    picker.set_input_files(str(photo_with_gps(tmp_path / "early.jpg")))
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the page asked for htmx"
    assert page.evaluate("typeof window.htmx") == "undefined"  # the pick came before htmx listened
    for route in held:
        route.continue_()
    expect(page.get_by_role("img", name="已上传的照片 1")).to_be_visible()


def test_a_photo_picked_while_a_re_shown_form_settles_is_uploaded_once(page, page_problems, tmp_path):
    """A 422 answer swaps the form back in; htmx takes over its new fields a moment later. A photo
    picked in that moment still goes up, and only once."""
    page_problems.allow(r"status of 422")
    sign_in(page, "admin")
    page.goto("/admin/places/new")
    heading(page, "新建公共部位")
    page.evaluate("htmx.config.defaultSettleDelay = 1500")  # widen the moment so the test can hit it
    uploads = []
    page.on("request", lambda request: uploads.append(request) if request.method == "POST"
            and request.url.endswith("/photos") else None)
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("请填写名称")).to_be_visible()
    page.get_by_label("照片", exact=True).set_input_files(str(photo_with_gps(tmp_path / "late.jpg")))
    expect(page.get_by_role("img", name="已上传的照片 1")).to_be_visible(timeout=10000)
    page.wait_for_timeout(1700)
    assert len(uploads) == 1


def test_place_with_photo(page, page_problems, shot, tmp_path):
    page_problems.allow(r"status of 422")
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("这不是照片 just text")
    photo = photo_with_gps(tmp_path / "gate.jpg")

    sign_in(page, "admin")
    open_settings(page, "公共部位")
    heading(page, "公共部位")
    page.get_by_role("link", name="＋ 新建").click()
    heading(page, "新建公共部位")
    page.get_by_label("名称", exact=True).fill("9号楼 地库入口")
    page.get_by_label("管辖区域").select_option(label="二区（5–8号楼）")  # a place outside the buildings needs one
    picker = page.get_by_label("照片", exact=True)

    picker.set_input_files(str(not_a_photo))
    photos = page.locator("#photo-field")
    expect(photos.get_by_role("alert")).to_contain_text("notes.jpg：不是有效的图片文件")
    expect(page.get_by_label("名称", exact=True)).to_have_value("9号楼 地库入口")
    shot(page, "place-photo-error")

    page.get_by_label("照片", exact=True).set_input_files(str(photo))
    thumbnail = page.get_by_role("img", name="已上传的照片 1")
    expect(thumbnail).to_be_visible()
    expect(photos.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_label("名称", exact=True)).to_have_value("9号楼 地库入口")
    assert thumbnail.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)") > 0
    assert thumbnail.bounding_box()["width"] >= 80  # big enough to tell which photo it is
    shot(page, "place-photo-uploaded")

    page.get_by_role("button", name="保存").click()
    expect(page.get_by_role("status")).to_have_text("公共部位已保存")
    page.get_by_role("link", name=re.compile("^9号楼 地库入口")).click()
    heading(page, "9号楼 地库入口")
    saved = page.get_by_role("img", name="9号楼 地库入口 照片 1")
    expect(saved).to_be_visible()
    saved.evaluate("img => img.decode()")
    assert saved.evaluate("img => img.decode().then(() => img.naturalWidth, () => 0)") > 0
    expect(page.get_by_text("添加照片")).to_be_visible()  # on the timeline
    shot(page, "place-with-photo")

    # The stored photo lost its location: the GPS data never leaves the phone's upload.
    full = page.request.get(page.get_by_role("link").filter(has=saved).get_attribute("href"))
    assert full.headers["content-type"] == "image/jpeg"
    stored = Image.open(io.BytesIO(full.body()))
    assert stored.size == (640, 480)
    assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_roster_pdf(page, shot):
    sign_in(page, "zhuli1")
    tab(page, "客户")
    heading(page, "客户")
    page.get_by_role("link", name=re.compile("^1号楼")).click()
    heading(page, "1号楼 花名册")
    expect(page.get_by_text("1号楼 · 共 72 户")).to_be_visible()
    shot(page, "roster")

    link = page.get_by_role("link", name="打印 PDF")
    response = page.request.get(link.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, "roster-1.pdf")
    with open(path, "wb") as handle:
        handle.write(response.body())

    reader = PdfReader(path)
    first = reader.pages[0].extract_text()
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    for expected in ("阳光花园", "1号楼", "住户花名册", "1802", "101", "第1页"):
        assert expected in text, (expected, first)
    assert f"共{len(reader.pages)}页" in text
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", path,
                    os.path.join(SCREENSHOTS, "roster-1-page1")], check=True, timeout=30)


def test_household_search_is_live(page, shot):
    sign_in(page, "qiantai")
    tab(page, "客户")
    heading(page, "客户")
    page.evaluate("window.kefuSamePage = true")
    page.get_by_role("searchbox").press_sequentially("3-2-15", delay=20)
    results = page.locator("#results")
    expect(results.get_by_role("link", name=re.compile("^3-2-1501"))).to_be_visible()
    expect(results.get_by_role("link", name=re.compile("^3-2-1502"))).to_be_visible()
    expect(results.get_by_role("link", name=re.compile(r"^\d+-\d+-\d+"))).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/customers\?q=3-2-15$"))
    assert page.evaluate("window.kefuSamePage") is True  # no reload: htmx swapped the results
    shot(page, "customers-search")


def test_sign_out(page):
    sign_in(page, "zhuli1")
    tab(page, "我的")
    heading(page, "我的")
    page.get_by_role("button", name="退出登录").click()
    heading(page, "登录")
    expect(page.get_by_role("status")).to_have_text("已退出登录")
    expect(page.get_by_role("navigation", name="主导航")).to_have_count(0)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    heading(page, "登录")
    expect(page.get_by_label("用户名", exact=True)).to_be_visible()
