"""A newcomer's first fifteen minutes (issue 22, "Done when"): from an empty server to a working
estate of 5,000 households with their residents, through the pages alone, timed.

The server is the browser tests' live server started empty, as `DEMO=0 make run` leaves it
(tests/browser/conftest.py LiveServer with KEFU_LIVE_EMPTY=1). Headless Chromium at a desk-sized
window (1280×800; `--phone` walks again at 390×844) walks what an administrator does, in the order the set-up
page offers: the one-time code → the first administrator → the estate's name and service hours →
50 buildings in one step → two zones of 25 buildings → two business units → the staff sheet, the
households sheet (5,000 rows) and the residents sheet (10,000 rows), each previewed then confirmed
→ an assistant signs in and sees 今日 → the front desk takes a request for a household in 一区,
picking the caller from the imported residents, and it lands on 一区's assistant's 今日.

Every tap, tick, pick and typed character is counted per step, with the wall time the pages and
the server took; a person's time is estimated from them with the model stated in MODEL. Writes
bench/results-newcomer.md.

    .venv/bin/python -m bench.newcomer            # desk (1280×800)
    .venv/bin/python -m bench.newcomer --phone    # and the same walk at 390×844 on a second server
"""
import argparse
import datetime
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
from urllib.parse import urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

# The person's time: each tap (a click, a tick, a pick from a list) with reading its label; each
# character typed, a Chinese one through a pinyin input method; reading a page seen for the first
# time; choosing a file in the system's file dialog counts as two taps (open the dialog, pick).
TAP_SECONDS = 3.0
LATIN_SECONDS = 0.5
CHINESE_SECONDS = 1.0
NEW_PAGE_SECONDS = 10.0
FILE_TAPS = 2
TARGET_SECONDS = 15 * 60

DESK = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
BUILDINGS = 50
UNITS, FLOORS, ROOMS = 2, 25, 2
ZONES = [("一区", range(1, 26)), ("二区", range(26, 51))]
PASSWORD = "cuihu2026"
ESTATE = {"name": "翠湖苑", "address": "上海市浦东新区翠湖路88号", "phone": "021-58880000",
          "start": "08:30", "end": "17:30"}
# The staff sheet the newcomer fills in (the import's template, five rows): username, name, role,
# zone or unit, mobile; no password, so the import makes one for each and shows it once.
STAFF = [("zhuguan", "周敏", "客服主管", "", "13800000001"),
         ("zhuli1", "刘洋", "客户助理", "一区", "13800000002"),
         ("zhuli2", "陈静", "客户助理", "二区", "13800000003"),
         ("qiantai", "王芳", "前台", "", "13800000004"),
         ("gongcheng", "张强", "业务块", "工程部", "13800000005")]
UNIT_ROWS = [("工程部", None), ("保洁部", "保洁")]  # (name, kind to pick; None keeps the first, 工程维修)
REQUEST = {"household": "12-1-0802", "description": "厨房水管漏水，楼下天花板渗水"}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国红玉梅志文辉丹萍鹏飞宇浩婷雪琳晨欣怡子涵"


# The company's spreadsheets

def _rooms():
    for building in range(1, BUILDINGS + 1):
        for unit in range(1, UNITS + 1):
            for floor in range(1, FLOORS + 1):
                for room in range(1, ROOMS + 1):
                    yield building, unit, f"{floor:02d}{room:02d}"


def _save(workbook, path):
    workbook.save(path)
    return path


def households_sheet(folder, rng):
    """业主档案 as the company keeps it: a title line, then 楼号 / 单元 / 房间号 (zero-padded) /
    建筑面积 / 交房日期 / 备注."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("房屋")
    sheet.append([f"{ESTATE['name']} 房屋清单（{datetime.date.today():%Y年%m月}）"])
    sheet.append(["楼号", "单元", "房间号", "建筑面积", "交房日期", "备注"])
    rows = 0
    for building, unit, room in _rooms():
        area = rng.choice([89.5, 92.0, 108.6, 120.0, 136.25, 143.8])
        moved_in = datetime.date(2016, 6, 1) + datetime.timedelta(days=rng.randrange(0, 3000))
        note = rng.choice(["", "", "", "", "朝南", "已装修", "空置"])
        sheet.append([building, unit, room, area, moved_in, note])
        rows += 1
    return _save(workbook, os.path.join(folder, "翠湖苑房屋清单.xlsx")), rows


def _name(rng, taken):
    while True:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        if name not in taken:
            taken.add(name)
            return name


def _phone(rng):
    if rng.random() < 0.08:
        return f"021-5{rng.randrange(0, 10 ** 7):07d}"
    if rng.random() < 0.03:
        return ""
    return rng.choice(["139", "138", "135", "186", "158", "177"]) + f"{rng.randrange(0, 10 ** 8):08d}"


def residents_sheet(folder, rng):
    """住户名册: two people per household, 房屋编号 written 12-1-0802, relations as the company
    writes them (户主, 妻子, 儿子, 租客…), a few 独居老人."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("住户")
    sheet.append(["房屋编号", "姓名", "联系电话", "与业主关系", "特殊情况"])
    rows = 0
    for building, unit, room in _rooms():
        code = f"{building}-{unit}-{room}"
        taken = set()
        tenant = rng.random() < 0.12
        first = ("户主" if rng.random() < 0.5 else "业主") if not tenant else "租客"
        second = rng.choice(["妻子", "丈夫", "儿子", "女儿", "父亲", "母亲", "家属"]) if not tenant else "租客"
        for relation in (first, second):
            tag = "独居老人" if rng.random() < 0.01 else ""
            sheet.append([code, _name(rng, taken), _phone(rng), relation, tag])
            rows += 1
    return _save(workbook, os.path.join(folder, "翠湖苑住户名册.xlsx")), rows


def staff_sheet(folder):
    """The import's template filled in with five rows (what the newcomer types in Excel)."""
    import openpyxl

    from kefu import imports

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("人员账号")
    sheet.append(imports.headers("users"))
    for row in STAFF:
        sheet.append(list(row) + [""])
    return _save(workbook, os.path.join(folder, "人员账号.xlsx"))


# Counting what the person does

def is_chinese(char):
    return ord(char) >= 0x2E80


class Step:
    def __init__(self, label):
        self.label = label
        self.taps = 0
        self.latin = 0
        self.chinese = 0
        self.pages = 0
        self.wall = 0.0
        self.offline = False  # done in Excel, not in the pages

    @property
    def typed(self):
        return self.latin + self.chinese

    @property
    def person(self):
        return (self.taps * TAP_SECONDS + self.latin * LATIN_SECONDS + self.chinese * CHINESE_SECONDS
                + self.pages * NEW_PAGE_SECONDS + self.wall)


class Hands:
    """What a person does on a page, each tap and typed character counted against `self.step`."""

    def count_text(self, text):
        for char in text:
            if is_chinese(char):
                self.step.chinese += 1
            else:
                self.step.latin += 1

    def type(self, locator, text):
        locator.fill(text)
        self.count_text(text)

    def tap(self, locator):
        locator.click()
        self.step.taps += 1

    def check(self, locator):
        locator.check()
        self.step.taps += 1


class Walk(Hands):
    """The pages a newcomer goes through, with every action counted against the current step."""

    def __init__(self, page=None):
        self.page = page
        self.steps = []
        self.seen = set()
        self.step = None
        self.started = None

    # steps
    def begin(self, label):
        self.end()
        self.step = Step(label)
        self.steps.append(self.step)
        print(f"{time.strftime('%H:%M:%S')} {label}", file=sys.stderr, flush=True)
        self.started = time.perf_counter()
        if self.page is not None:
            self.look()

    def offline(self, label, taps, typed):
        """Work done in Excel, between two pages: counted, not timed."""
        self.end()
        self.step = Step(label)
        self.step.offline = True
        self.step.taps = taps
        self.count_text(typed)
        self.steps.append(self.step)

    def end(self):
        if self.step is not None and self.started is not None:
            self.step.wall = time.perf_counter() - self.started
        self.started = None

    def on(self, page):
        self.page = page
        return self

    # what the person sees
    def look(self):
        """A page the person hasn't seen before costs its reading allowance."""
        path = urlparse(self.page.url).path
        if not path or self.page.url == "about:blank":
            return
        # Per person (each signs in a browser context of their own): the front desk's 今日 is new to it.
        kind = (id(self.page.context), re.sub(r"/[A-Za-z0-9_-]{16,}$", "/<token>", re.sub(r"/\d+", "/<id>", path)))
        if kind not in self.seen:
            self.seen.add(kind)
            self.step.pages += 1

    def settle(self):
        self.page.wait_for_load_state()
        self.look()

    # what the person does, beyond Hands
    def select(self, locator, **option):
        locator.select_option(**option)
        self.step.taps += 1

    def file(self, locator, path):
        locator.set_input_files(path)
        self.step.taps += FILE_TAPS

    def address(self, url, typed):
        """The person types an address into the browser's bar."""
        self.page.goto(url)
        self.count_text(typed)
        self.settle()


def _read_passwords(page):
    """{username: password} off the initial password sheet's slips."""
    passwords = {}
    for slip in page.locator(".slip").all():
        passwords[slip.locator("code").first.inner_text().strip()] = slip.locator(".slip-password").inner_text().strip()
    return passwords


def walk_setup(walk, server, context, files, expect):
    """The administrator's part: the one-time code to the last import."""
    page = context.new_page()
    walk.on(page)
    host = urlparse(server.url).netloc

    walk.begin("打开网址，输入终端里的一次性设置码，建管理员")
    walk.address("/", host)
    expect(page).to_have_url(f"{server.url}/setup")
    with open(os.path.join(server.instance, "setup-code")) as handle:
        code = handle.read().strip()
    with open(server.log_path, errors="replace") as handle:
        assert code in handle.read(), "the terminal prints the one-time code"
    walk.type(page.get_by_label("一次性设置码"), code)
    walk.type(page.get_by_label("姓名"), "王经理")
    walk.type(page.get_by_label("密码", exact=True), PASSWORD)
    walk.type(page.get_by_label("再输一次密码"), PASSWORD)
    walk.tap(page.get_by_role("button", name="创建管理员并开始设置"))
    expect(page.get_by_text("管理员已创建，接下来设置小区")).to_be_visible()
    walk.settle()

    walk.begin("小区名称、地址、电话与服务时间")
    walk.type(page.get_by_label("小区名称"), ESTATE["name"])
    walk.type(page.get_by_label("地址"), ESTATE["address"])
    walk.type(page.get_by_label("服务中心电话"), ESTATE["phone"])
    page.get_by_label("服务中心上班").fill(ESTATE["start"])
    page.get_by_label("服务中心下班").fill(ESTATE["end"])
    walk.count_text(ESTATE["start"].replace(":", "") + ESTATE["end"].replace(":", ""))  # a time field takes 4 digits
    walk.tap(page.get_by_role("button", name="保存，下一步"))
    expect(page).to_have_url(f"{server.url}/setup/buildings")
    walk.settle()

    walk.begin(f"楼栋：{BUILDINGS} 栋一次建好（{UNITS} 单元 × {FLOORS} 层 × 每层 {ROOMS} 户，室号补零）")
    walk.type(page.get_by_label("楼栋编号"), f"1-{BUILDINGS}")
    if page.get_by_label("每栋单元数").input_value() != str(UNITS):
        walk.type(page.get_by_label("每栋单元数"), str(UNITS))
    if page.get_by_label("每层户数").input_value() != str(ROOMS):
        walk.type(page.get_by_label("每层户数"), str(ROOMS))
    walk.type(page.get_by_label("最高层"), str(FLOORS))
    walk.check(page.get_by_label("室号补零写成四位（0201）"))
    walk.tap(page.get_by_role("button", name="新建这些楼栋和房号"))
    expect(page.get_by_text(f"已新建 {BUILDINGS} 栋楼、{BUILDINGS * UNITS * FLOORS * ROOMS} 户")).to_be_visible(timeout=60000)
    walk.settle()
    walk.tap(page.get_by_role("link", name=re.compile(r"下一步$")))
    expect(page).to_have_url(f"{server.url}/setup/zones")
    walk.settle()

    walk.begin(f"管辖区域：{len(ZONES)} 个，各 {len(ZONES[0][1])} 栋")
    for name, numbers in ZONES:
        if urlparse(page.url).path == "/setup/zones":
            walk.tap(page.get_by_role("link", name="＋ 新建管辖区域"))
        else:  # saving a zone left the set-up for the zones list
            walk.tap(page.locator(".top-action", has_text="新建"))
        expect(page.get_by_label("区域名称")).to_be_visible()
        walk.settle()
        walk.type(page.get_by_label("区域名称"), name)
        codes = page.get_by_label("楼栋编号", exact=True)
        if codes.count():  # typed as a range
            walk.type(codes, f"{numbers[0]}-{numbers[-1]}")
        else:  # one tick per building
            buildings = page.get_by_role("group", name="包含楼栋")
            for number in numbers:
                walk.check(buildings.get_by_label(f"{number}号楼", exact=True))
        walk.tap(page.get_by_role("button", name="保存", exact=True))
        expect(page.get_by_text("管辖区域已保存")).to_be_visible()
        walk.settle()
    if urlparse(page.url).path != "/setup/zones":
        # Nothing on the zones list leads back to the set-up: the person types its address.
        walk.address("/setup/zones", host + "/setup/zones")
    walk.tap(page.get_by_role("link", name="下一步", exact=True))
    expect(page).to_have_url(f"{server.url}/setup/units")
    walk.settle()

    walk.begin(f"业务块：{len(UNIT_ROWS)} 个")
    for name, kind in UNIT_ROWS:
        if urlparse(page.url).path == "/setup/units":
            walk.tap(page.get_by_role("link", name="＋ 新建业务块"))
        else:
            walk.tap(page.locator(".top-action", has_text="新建"))
        expect(page.get_by_label("名称", exact=True)).to_be_visible()
        walk.settle()
        walk.type(page.get_by_label("名称", exact=True), name)
        if kind:
            walk.select(page.get_by_label("类别", exact=True), label=kind)
        walk.tap(page.get_by_role("button", name="保存", exact=True))
        expect(page.get_by_text("业务块已保存")).to_be_visible()
        walk.settle()
    if urlparse(page.url).path != "/setup/units":
        walk.address("/setup/units", host + "/setup/units")
    walk.tap(page.get_by_role("link", name="下一步", exact=True))
    expect(page).to_have_url(f"{server.url}/setup/users")
    walk.settle()

    walk.begin("人员账号：这一步说可在下一步用 Excel 导入 → 下一步（导入的一步，列出四种表）")
    walk.tap(page.get_by_role("link", name="下一步", exact=True))
    expect(page).to_have_url(f"{server.url}/setup/import")
    expect(page.get_by_role("link", name="导入房号", exact=True)).to_be_visible()
    walk.settle()

    # 下载模板, open it in Excel, type the rows, save it.
    walk.offline(f"在 Excel 里填人员账号表（下载模板，填 {len(STAFF)} 行）", 3, "".join("".join(r) for r in STAFF))

    passwords = {}
    for kind, label, path, counts in files:
        walk.begin(f"导入{label}：{os.path.basename(path)}（{counts['rows']:,} 行），预览，确认")
        # From the set-up step: each import opens with its own panel, and returns to the step when done.
        walk.tap(page.get_by_role("link", name=f"导入{label}", exact=True))
        walk.settle()
        walk.file(page.locator(f"#{kind}-file"), path)
        walk.tap(page.get_by_role("button", name=f"上传并预览{label}"))
        expect(page.locator("#count-refused")).to_have_text("0", timeout=120000)
        for key in ("new", "changed"):
            expect(page.locator(f"#count-{key}")).to_have_text(str(counts[key]))
        walk.settle()
        walk.tap(page.get_by_role("button", name=f"确认导入：新增 {counts['new']}，更新 {counts['changed']}"))
        expect(page.get_by_text(f"已导入 {os.path.basename(path)}：新增 {counts['new']}，更新 {counts['changed']}"))\
            .to_be_visible(timeout=120000)
        walk.settle()
        if kind == "users":
            expect(page.get_by_role("heading", name="新账号的初始密码")).to_be_visible()
            walk.step.pages += 1  # the password sheet, shown at the preview's address
            passwords = _read_passwords(page)
            walk.tap(page.get_by_role("link", name="返回设置向导", exact=True))
            walk.settle()
        expect(page).to_have_url(f"{server.url}/setup/import")
    walk.end()
    page.close()
    return passwords


def sign_in(walk, page, server, username, password, expect):
    walk.address("/login", urlparse(server.url).netloc)
    walk.type(page.get_by_label("用户名", exact=True), username)
    walk.type(page.get_by_label("密码", exact=True), password)
    walk.tap(page.get_by_role("button", name="登录"))
    expect(page.get_by_role("heading", level=1)).to_have_text("今日")
    walk.settle()


def walk_check(walk, server, browser, viewport, passwords, expect):
    """The estate works: 一区's assistant signs in to 今日; the front desk takes a request for a
    household in 一区, the caller picked from the imported residents; it lands on the assistant's 今日."""
    contexts = []

    def person():
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      base_url=server.url, service_workers="block")
        context.set_default_timeout(20000)
        contexts.append(context)
        return context.new_page()

    try:
        assistant, desk = person(), person()
        name = dict((row[0], row[1]) for row in STAFF)
        walk.on(assistant).begin("检查：一区的客户助理用初始密码登录，看到今日")
        sign_in(walk, assistant, server, "zhuli1", passwords["zhuli1"], expect)
        expect(assistant.get_by_text("尚未分配管辖区域")).to_have_count(0)

        walk.on(desk).begin(f"检查：前台登录，受理 {REQUEST['household']} 的诉求（从导入的住户中选来电人）")
        sign_in(walk, desk, server, "qiantai", passwords["qiantai"], expect)
        walk.tap(desk.get_by_role("link", name="受理客户诉求"))
        expect(desk.get_by_role("heading", level=1)).to_have_text("受理诉求")
        walk.settle()
        picker = desk.get_by_label("房号（栋-单元-室）")
        picker.press_sequentially(REQUEST["household"], delay=20)
        walk.count_text(REQUEST["household"])
        residents = desk.get_by_label("从住户中选择")
        expect(residents.locator("option")).to_have_count(3)  # 请选择 and the household's two residents
        caller = residents.locator("option").nth(1).inner_text()
        walk.select(residents, index=1)
        expect(desk.get_by_label("客户姓名")).to_have_value(caller.split("（")[0])
        walk.type(desk.get_by_label("客户反映的问题"), REQUEST["description"])
        category = desk.get_by_label("类别", exact=True)
        desk.wait_for_timeout(600)  # the suggested category follows the words
        if category.input_value() != "工程维修":
            walk.select(category, label="工程维修")
        walk.tap(desk.get_by_role("button", name="受理", exact=True))
        expect(desk.get_by_role("status")).to_contain_text(f"，已转交 {name['zhuli1']}")
        number = desk.get_by_role("heading", level=1).inner_text()
        ticket = urlparse(desk.url).path
        walk.settle()

        walk.on(assistant).begin("检查：这条诉求出现在一区客户助理的今日")
        assistant.reload()  # or it arrives by itself on an open 今日; a reload is the sure way
        walk.step.taps += 1
        expect(assistant.locator(f"main a[href='{ticket}']").or_(assistant.get_by_text(number)).first).to_be_visible()
        walk.settle()
        walk.end()
        return number, caller
    except Exception:
        _failed(walk, server)  # while the page is still open
        raise
    finally:
        for context in contexts:
            context.close()


def _failed(walk, server):
    """Where the walk stopped: a screenshot and the server's last lines (once)."""
    if getattr(walk, "failed", False):
        return
    walk.failed = True
    shot = os.path.join(tempfile.gettempdir(), "kefu-newcomer-failure.png")
    try:
        walk.page.screenshot(path=shot, full_page=True)
        print(f"stopped at {walk.page.url} in “{walk.step.label if walk.step else ''}”; screenshot {shot}",
              file=sys.stderr)
    except Exception as error:  # the page may be gone
        print(f"no screenshot: {error}", file=sys.stderr)
    with open(server.log_path, errors="replace") as handle:
        print(handle.read()[-3000:], file=sys.stderr)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
        cpu = model or cpu
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} cores (shared; load average at the start {load}), Python "
            f"{platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}, Chromium headless")


def minutes(seconds):
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


def totals(walk):
    """(set-up steps, check steps, set-up person's seconds, total person's seconds)."""
    setup = [s for s in walk.steps if not s.label.startswith("检查")]
    check = [s for s in walk.steps if s.label.startswith("检查")]
    setup_total = sum(s.person for s in setup)
    return setup, check, setup_total, setup_total + sum(s.person for s in check)


def report(walk, viewport, sizes, number, caller, about, phone=None):
    setup, check, setup_total, total = totals(walk)
    lines = [
        "# A newcomer's first fifteen minutes (issue 22)",
        "",
        f"From an empty server (`DEMO=0`, the first-run set-up page) to a working estate of "
        f"{sizes['households']:,} households and {sizes['residents']:,} residents, through the pages alone, "
        f"in headless Chromium at {viewport['width']}×{viewport['height']}. Written by "
        "`.venv/bin/python -m bench.newcomer` (bench/newcomer.py); don't edit by hand.",
        "",
        f"Machine: {about}. The server is the browser tests' live server (one process, threaded, SQLite; "
        "password hashing made cheap for tests, so sign-ins and new accounts take a little longer on a real server).",
        "",
        "## The walk",
        "",
        "| step | pages s | taps | typed (Latin + 中文) | new pages | person's time |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def row(s):
        wall = "—（Excel）" if s.offline else f"{s.wall:.1f}"
        return (f"| {s.label} | {wall} | {s.taps} | {s.typed} ({s.latin} + {s.chinese}) | {s.pages} | "
                f"{minutes(s.person)} |")

    lines += [row(s) for s in setup]
    lines.append(f"| **set-up total** | {sum(s.wall for s in setup):.1f} | {sum(s.taps for s in setup)} | "
                 f"{sum(s.typed for s in setup)} | {sum(s.pages for s in setup)} | **{minutes(setup_total)}** |")
    lines += [row(s) for s in check]
    lines.append(f"| **total with the check** | {sum(s.wall for s in walk.steps):.1f} | "
                 f"{sum(s.taps for s in walk.steps)} | {sum(s.typed for s in walk.steps)} | "
                 f"{sum(s.pages for s in walk.steps)} | **{minutes(total)}** |")
    lines += [
        "",
        "## The model",
        "",
        f"A person's time for a step = its pages' wall time (the person waits for them) + {TAP_SECONDS:g} s per tap "
        f"(a click, a tick or a pick from a list, reading its label included; choosing a file in the file "
        f"dialog is {FILE_TAPS} taps) + {LATIN_SECONDS:g} s per Latin letter or digit typed + "
        f"{CHINESE_SECONDS:g} s per Chinese character (pinyin input) + {NEW_PAGE_SECONDS:g} s to read each page "
        "seen for the first time (counted in the step whose tap opens it). A time field counts 4 digits. "
        "The pages' seconds are the wall time from the first action of a step to its last page shown (the "
        "browser, the server and the test driver together). The company's households and residents "
        "sheets are taken as they are (title line, the company's own column names: 楼号 / 房间号 written 0802 / "
        "交房日期, 房屋编号 / 与业主关系 with 户主, 妻子, 租客…): the import recognises them, so nothing is "
        "retyped. The staff sheet is typed into the import's template (the Excel row above; its headers "
        "come with the template); its initial passwords are made by the import and read off the page once. "
        "Not counted: starting the server (`DEMO=0 SECRET_KEY=… make run`), Excel opening a file, handing "
        "the initial passwords to the staff.",
        "",
        "## What was checked",
        "",
        f"- {sizes['households']:,} households updated with area and move-in date from the company's sheet, "
        f"{sizes['residents']:,} residents new, {len(STAFF)} staff accounts new (assistants in their zones), "
        "no row refused.",
        "- 一区's assistant signed in with the password the import showed and saw 今日 (with a zone).",
        f"- The front desk typed {REQUEST['household']}, picked the caller ({caller}) from the imported "
        f"residents, and its request {number} was handed to 一区's assistant and shown on the assistant's 今日.",
        "",
    ]
    if phone is not None:
        p_setup, p_check, p_setup_total, p_total = totals(phone)
        lines += [
            "## The same walk at 390×844",
            "",
            f"On a second fresh server: pages {sum(s.wall for s in phone.steps):.1f} s, "
            f"{sum(s.taps for s in phone.steps)} taps, {sum(s.typed for s in phone.steps)} characters typed; "
            f"set-up {minutes(p_setup_total)}, with the check {minutes(p_total)}.",
            "",
        ]
    lines += [
        "## Verdict",
        "",
        f"Set-up {minutes(setup_total)}; with the check {minutes(total)}: "
        + (f"**under fifteen minutes** ({total / TARGET_SECONDS:.0%} of the target)." if total <= TARGET_SECONDS
           else f"**over fifteen minutes** ({total / TARGET_SECONDS:.0%} of the target)."),
    ]
    return "\n".join(lines) + "\n"


def walk_once(viewport, files, sizes, keep=False):
    """The whole walk on a fresh empty server: (walk, request number, caller, problems seen)."""
    from playwright.sync_api import expect
    from playwright.sync_api import sync_playwright

    from browser.conftest import CHROMIUM
    from browser.conftest import CHROMIUM_ARGS
    from browser.conftest import REPORT_CSP
    from browser.conftest import LiveServer

    folder = tempfile.mkdtemp(prefix="kefu-bench-newcomer-server-")
    os.environ["KEFU_LIVE_EMPTY"] = "1"
    try:
        server = LiveServer(folder)
    finally:
        os.environ.pop("KEFU_LIVE_EMPTY", None)
    errors = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                              base_url=server.url, service_workers="block")
                context.set_default_timeout(20000)
                context.add_init_script(REPORT_CSP)
                context.on("page", lambda p: p.on("pageerror", lambda e: errors.append(f"JS error: {e}")))
                walk = Walk()
                try:
                    passwords = walk_setup(walk, server, context, files, expect)
                    context.close()
                    number, caller = walk_check(walk, server, browser, viewport, passwords, expect)
                except Exception:
                    _failed(walk, server)
                    raise
            finally:
                browser.close()
        with open(server.log_path, errors="replace") as handle:
            log = handle.read()
        if "Traceback" in log:
            errors.append("server traceback:\n" + log[log.index("Traceback"):][:3000])
        counts = server.query("SELECT (SELECT COUNT(*) FROM household), (SELECT COUNT(*) FROM resident), "
                              "(SELECT COUNT(*) FROM \"user\" WHERE role != 'admin')")[0]
        assert tuple(counts) == (sizes["households"], sizes["residents"], len(STAFF)), counts
    finally:
        server.stop()
        if keep:
            print("kept:", folder, file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return walk, number, caller, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phone", action="store_true", help="also walk at 390×844 on a second server")
    parser.add_argument("--keep", action="store_true", help="keep the servers' folders (prints where)")
    args = parser.parse_args(argv)

    about = machine()
    folder = tempfile.mkdtemp(prefix="kefu-bench-newcomer-")
    try:
        rng = random.Random(22)
        households, household_rows = households_sheet(folder, rng)
        residents, resident_rows = residents_sheet(folder, rng)
        staff = staff_sheet(folder)
        files = [("households", "房号", households, {"rows": household_rows, "new": 0, "changed": household_rows}),
                 ("residents", "住户", residents, {"rows": resident_rows, "new": resident_rows, "changed": 0}),
                 ("users", "人员账号", staff, {"rows": len(STAFF), "new": len(STAFF), "changed": 0})]
        sizes = {"households": household_rows, "residents": resident_rows}
        walk, number, caller, errors = walk_once(DESK, files, sizes, args.keep)
        phone = None
        if args.phone:
            print("— the same walk at 390×844 —", file=sys.stderr)
            phone, _, _, phone_errors = walk_once(PHONE, files, sizes, args.keep)
            errors += phone_errors
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if errors:
        print("\n".join(errors), file=sys.stderr)
    text = report(walk, DESK, sizes, number, caller, about, phone)
    print(text)
    with open(os.path.join(ROOT, "bench", "results-newcomer.md"), "w", encoding="utf-8") as handle:
        handle.write(text)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
