"""A resident who has never seen kefu (issue 21, "Done when"): from the poster in the lobby to a rated
request, on a phone, timed.

The server is the browser tests' live server with the demo estate (tests/browser/conftest.py
LiveServer). The supervisor prints 1号楼's lobby poster; the QR code is read off the printed PDF
(pdftoppm, then zxing-cpp) as a phone's camera reads the wall. Headless Chromium at 390×844, never
signed in, walks what the resident does: scan the code → fill the form (the room, what kind of
problem, a few words, one photo from the camera, name and mobile) → the private link → 催一下 → (the
zone's assistant handles it on the spot, through the staff pages, not counted) → open the link again
→ 评价这次服务 → 满意 with a few words. Once with JavaScript off (as a WeChat browser that blocks
scripts) and once with it on, each on a household of its own.

Every tap, swipe and typed character is counted per step, with the page loads, their server time
(the document's time to first byte) and the wall time the pages took; a person's time is estimated
from them with the model stated in MODEL (bench/newcomer.py's rates). Writes bench/results-resident.md.

    .venv/bin/python -m bench.resident
    .venv/bin/python -m bench.resident --shots /tmp/walk21    # and a screenshot of every step
"""
import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlparse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

from bench.newcomer import CHINESE_SECONDS  # noqa: E402  (the same person as the newcomer's)
from bench.newcomer import Hands  # noqa: E402
from bench.newcomer import LATIN_SECONDS  # noqa: E402
from bench.newcomer import NEW_PAGE_SECONDS  # noqa: E402
from bench.newcomer import TAP_SECONDS  # noqa: E402
from bench.newcomer import is_chinese  # noqa: E402
from bench.newcomer import machine  # noqa: E402
from bench.newcomer import minutes  # noqa: E402

TARGET_SECONDS = 2 * 60
PHONE = {"width": 390, "height": 844}
# What the phone does outside the page, in taps: WeChat's ＋ then 扫一扫 (pointing the camera is not a
# tap); the photo field's sheet → 拍照 → the shutter → 使用照片; WeChat's ··· → 收藏 to keep the link,
# and 我 → 收藏 → the link to open it again.
SCAN_TAPS = 2
CAMERA_TAPS = 4
KEEP_TAPS = 2
REOPEN_TAPS = 3
SLOWER = 2  # the sensitivity check: a person who taps, types and reads at half this speed
UPLINK_MBITS = 5  # a phone's 4G upload, for what the photo would add beyond this machine's loopback
DESCRIPTION = "厨房水槽下面的水管在滴水"
# Words are asked of 不满意 only (想说的话, 可不写); a 满意 resident who writes this much takes this much longer.
REMARK = "修好了，谢谢"


def camera_photo(path):
    """A photo as a phone's camera takes it: 4032×3024, a few MB of JPEG (noise, so it doesn't shrink)."""
    from PIL import Image

    noise = Image.effect_noise((1008, 756), 60).convert("RGB").resize((4032, 3024))
    tint = Image.new("RGB", noise.size, (90, 120, 160))
    Image.blend(noise, tint, 0.5).save(path, "JPEG", quality=92)
    return path


class Step:
    def __init__(self, label, outside=False):
        self.label = label
        self.outside = outside  # done in WeChat, not in the pages: counted, not timed
        self.taps = self.swipes = self.latin = self.chinese = self.pages = self.loads = 0
        self.server = 0.0
        self.wall = 0.0
        self.bytes = 0

    @property
    def typed(self):
        return self.latin + self.chinese

    def person(self, slower=1):
        return (slower * ((self.taps + self.swipes) * TAP_SECONDS + self.latin * LATIN_SECONDS
                          + self.chinese * CHINESE_SECONDS + self.pages * NEW_PAGE_SECONDS) + self.wall)


class Walk(Hands):
    """What the resident does, counted against the current step; the page loads and their server
    time seen through the browser."""

    def __init__(self, page, shots=None, tag=""):
        self.page = page
        self.steps = []
        self.step = None
        self.seen = set()
        self.started = None
        self.waited = 0.0
        self.shots, self.tag, self.shot_no = shots, tag, 0
        page.on("requestfinished", self._finished)

    def _finished(self, request):
        if self.step is None:
            return
        try:
            sizes = request.sizes()
        except Exception:  # the page moved on before its size could be read
            sizes = {}
        self.step.bytes += sizes.get("responseBodySize", 0) + sizes.get("responseHeadersSize", 0)
        if request.resource_type == "document":
            timing = request.timing
            self.step.loads += 1
            if timing["responseStart"] >= 0 and timing["requestStart"] >= 0:
                self.step.server += (timing["responseStart"] - timing["requestStart"]) / 1000

    def begin(self, label):
        self.end()
        self.step = Step(label)
        self.steps.append(self.step)
        self.started, self.waited = time.perf_counter(), 0.0
        print(f"{time.strftime('%H:%M:%S')} {self.tag} {label}", file=sys.stderr, flush=True)

    def outside(self, label, taps):
        self.end()
        self.step = Step(label, outside=True)
        self.step.taps = taps
        self.steps.append(self.step)

    def end(self):
        if self.step is not None and self.started is not None:
            self.step.wall = time.perf_counter() - self.started - self.waited
        self.started = None

    def wait(self, seconds):
        """A pause the person's own typing already covers (the form's time-to-fill check): not counted."""
        before = time.perf_counter()
        self.page.wait_for_timeout(seconds * 1000)
        self.waited += time.perf_counter() - before

    def settle(self, name):
        """The page has loaded: read if new (its kind, tokens and ids taken out), swiped to its end,
        photographed."""
        self.page.wait_for_load_state()
        path = re.sub(r"/[A-Za-z0-9_-]{16,}", "/<token>", re.sub(r"/\d+", "/<id>", urlparse(self.page.url).path))
        if path not in self.seen:
            self.seen.add(path)
            self.step.pages += 1
        self.shoot(name)

    def swipe_to(self, locator):
        """Read down to `locator` (the last thing the person uses on the page): one swipe a screen past
        the first. (Playwright measures the page in a world of its own, so this works with the page's
        JavaScript off too.)"""
        bottom = locator.evaluate("e => e.getBoundingClientRect().bottom + window.scrollY")
        self.step.swipes += max(0, math.ceil(bottom / PHONE["height"]) - 1)

    def shoot(self, name):
        if not self.shots:
            return
        self.shot_no += 1
        self.page.screenshot(path=os.path.join(self.shots, f"{self.tag}-{self.shot_no:02d}-{name}.png"),
                             full_page=True)

    def type(self, locator, text):
        """Tap into the field, then type."""
        self.tap(locator)
        super().type(locator, text)


def poster_address(server, browser, shots):
    """The supervisor prints 1号楼's lobby poster; the code read off the printed page."""
    import zxingcpp
    from PIL import Image

    context = browser.new_context(base_url=server.url)
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("用户名", exact=True).fill("zhuguan")
        page.get_by_label("密码", exact=True).fill("demo1234")
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{server.url}/")
        building = server.query("SELECT id FROM building WHERE code = '1'")[0][0]
        response = page.request.get(f"/residents/posters.pdf?building={building}")
        assert response.ok and response.headers["content-type"] == "application/pdf"
        folder = tempfile.mkdtemp(prefix="kefu-bench-poster-")
        try:
            pdf = os.path.join(folder, "poster.pdf")
            with open(pdf, "wb") as handle:
                handle.write(response.body())
            subprocess.run(["pdftoppm", "-png", "-r", "120", "-singlefile", pdf, os.path.join(folder, "poster")],
                           check=True, timeout=60)
            png = os.path.join(folder, "poster.png")
            if shots:
                shutil.copyfile(png, os.path.join(shots, "poster.png"))
            with Image.open(png) as image:
                codes = [code.text for code in zxingcpp.read_barcodes(image.convert("RGB"))]
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        context.close()
    assert len(codes) == 1, codes
    return codes[0]


def resident_of(server, nth):
    """(room as the resident says it, name, mobile) of a registered resident with a mobile in 1号楼, in a
    household of its own for each `nth`."""
    rows = server.query(
        "SELECT h.unit_no, h.room, r.name, r.phone FROM resident r JOIN household h ON h.id = r.household_id "
        "JOIN building b ON b.id = h.building_id WHERE b.code = '1' AND r.id IN (SELECT MIN(id) FROM resident "
        "WHERE voided_at IS NULL AND phone LIKE '1%' AND length(phone) = 11 GROUP BY household_id) "
        "ORDER BY h.id DESC LIMIT 1 OFFSET ?", nth)
    unit, room, name, phone = rows[0]
    return f"{unit}-{room.lstrip('0')}", name, phone


class Staff:
    """The zone's assistant on the staff pages (not counted: the resident's time is measured)."""

    def __init__(self, browser, server, username):
        self.context = browser.new_context(viewport=PHONE, base_url=server.url, service_workers="block")
        self.context.set_default_timeout(20000)
        self.page = self.context.new_page()
        self.page.goto("/login")
        self.page.get_by_label("用户名", exact=True).fill(username)
        self.page.get_by_label("密码", exact=True).fill("demo1234")
        self.page.get_by_role("button", name="登录").click()
        self.page.wait_for_url(f"{server.url}/")

    def sees(self, ticket_id, *words):
        self.page.goto(f"/tickets/{ticket_id}")
        shown = self.page.locator("main").inner_text()
        missing = [w for w in words if w not in shown]
        assert not missing, f"the ticket page doesn't show {missing}"

    def resolve(self, ticket_id, expect):
        self.page.goto(f"/tickets/{ticket_id}")
        self.page.get_by_role("link", name="现场处理完成").click()
        self.page.get_by_label("处理情况").fill("更换了水槽下的软管，试水不漏")
        self.page.get_by_role("button", name="处理完成").click()
        expect(self.page.locator(".ticket-head .badge")).to_have_text("待回访")


def walk_once(browser, server, address, js, nth, shots, expect):
    """The resident's walk on a phone of their own; returns (walk, the request's number)."""
    room, name, phone = resident_of(server, nth)
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  base_url=server.url, java_script_enabled=js, service_workers="block",
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(20000)
    photo = camera_photo(os.path.join(tempfile.mkdtemp(prefix="kefu-bench-photo-"), "IMG_0001.jpg"))
    page = context.new_page()
    walk = Walk(page, shots, "js-on" if js else "js-off")
    walk.photo_bytes = os.path.getsize(photo)
    staff = Staff(browser, server, "zhuli1")
    try:
        walk.begin("扫海报上的二维码（微信 ＋ → 扫一扫），报修页打开")
        walk.step.taps += SCAN_TAPS
        page.goto(address)
        expect(page.get_by_role("heading", level=1)).to_have_text("扫码报事报修")
        walk.settle("report")
        opened = time.perf_counter()

        walk.begin(f"填写：单元-室 {room}、是什么问题、说明、拍一张照片、称呼、手机号，提交")
        walk.swipe_to(page.get_by_role("button", name="提交"))
        walk.type(page.get_by_label("1号楼 的 单元-室号"), room)
        walk.check(page.get_by_label("东西坏了要修（水电、门窗、电梯、管道）"))
        walk.type(page.get_by_label("说说具体情况"), DESCRIPTION)
        page.get_by_label("照片（可不拍，最多 4 张）").set_input_files(photo)
        walk.step.taps += CAMERA_TAPS
        walk.type(page.get_by_label("您的称呼"), name)
        walk.type(page.get_by_label("手机号"), phone)
        walk.shoot("report-filled")
        # The form refuses what comes back sooner than a person could fill it (3 s): a person takes longer.
        walk.wait(max(0.0, 3.5 - (time.perf_counter() - opened)))
        walk.tap(page.get_by_role("button", name="提交"))
        expect(page.get_by_role("heading", level=1)).to_have_text("我的诉求")
        expect(page.get_by_text("已收到您的诉求").first).to_be_visible()
        walk.settle("link-new")
        token = urlparse(page.url).path.split("/s/")[1]
        ticket_id, number = server.query("SELECT id, number FROM ticket WHERE link_token = ?", token)[0]
        link = f"/s/{token}"

        walk.outside("收藏这个页面（微信 ··· → 收藏）", KEEP_TAPS)

        walk.begin("读到页底（进度、编号、联系电话），催一下")
        walk.swipe_to(page.get_by_role("button", name="催一下"))
        walk.tap(page.get_by_role("button", name="催一下"))
        expect(page.get_by_role("status")).to_have_text("已催办，客户助理会尽快联系您")
        walk.settle("nudged")
        walk.end()
        staff.sees(ticket_id, "住户自助登记", "已核实", "住户催办 1 次")
        staff.resolve(ticket_id, expect)

        walk.outside("再打开这个链接（微信 我 → 收藏 → 链接）", REOPEN_TAPS)
        walk.begin("链接显示“已处理，请您评价”：选“满意”，提交评价")
        page.goto(link)
        expect(page.locator(".r-state")).to_have_text("已处理，请您评价")
        walk.settle("resolved")
        rating = page.get_by_role("region", name="评价这次服务")
        walk.swipe_to(rating.get_by_role("button", name="提交评价"))
        walk.check(rating.get_by_label("满意", exact=True))
        walk.shoot("rate-filled")
        walk.tap(page.get_by_role("button", name="提交评价"))
        expect(page.get_by_role("status")).to_have_text("谢谢您的评价")
        expect(page.locator(".r-progress [aria-current=step]")).to_have_text("已办结")
        walk.settle("rated")
        walk.end()
        staff.sees(ticket_id, "已关闭", "住户评价：满意")
    finally:
        walk.end()
        staff.context.close()
        context.close()
        shutil.rmtree(os.path.dirname(photo), ignore_errors=True)
    return walk, number


def report(walks, about, address):
    remark = TAP_SECONDS + sum(CHINESE_SECONDS if is_chinese(c) else LATIN_SECONDS for c in REMARK)
    photo = max(w.photo_bytes for _l, w, _n in walks)
    upload = photo * 8 / (UPLINK_MBITS * 1_000_000)
    lines = [
        "# A resident who has never seen kefu (issue 21)",
        "",
        "From the QR poster in 1号楼's lobby to a rated request, on a phone (headless Chromium at 390×844, "
        "never signed in), with JavaScript off as in a WeChat browser that blocks scripts, and on. Written by "
        "`.venv/bin/python -m bench.resident` (bench/resident.py); don't edit by hand.",
        "",
        f"Machine: {about}. The server is the browser tests' live server with the demo estate (one process, "
        "threaded, SQLite) on the same machine: no mobile network in the page times.",
        "",
        f"The poster was printed by the supervisor (/residents/posters.pdf) and its QR code read off the "
        f"printed page with zxing-cpp: `{urlparse(address).path}`.",
        "",
    ]
    for label, walk, number in walks:
        steps = walk.steps
        total = sum(s.person() for s in steps)
        lines += [
            f"## {label} (request {number})",
            "",
            "| step | page loads | server s | pages s | taps + swipes | typed (Latin + 中文) | new pages "
            "| person's time |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for s in steps:
            pages = "—（微信）" if s.outside else f"{s.wall:.1f}"
            lines.append(f"| {s.label} | {s.loads} | {s.server:.2f} | {pages} | {s.taps} + {s.swipes} | "
                         f"{s.typed} ({s.latin} + {s.chinese}) | {s.pages} | {minutes(s.person())} |")
        lines.append(
            f"| **total** | {sum(s.loads for s in steps)} | {sum(s.server for s in steps):.2f} | "
            f"{sum(s.wall for s in steps):.1f} | {sum(s.taps for s in steps)} + {sum(s.swipes for s in steps)} | "
            f"{sum(s.typed for s in steps)} ({sum(s.latin for s in steps)} + {sum(s.chinese for s in steps)}) | "
            f"{sum(s.pages for s in steps)} | **{minutes(total)}** |")
        lines += ["", f"Bytes the phone received: {sum(s.bytes for s in steps) / 1024:,.0f} KB (the photo goes the "
                      f"other way: a 4032×3024 camera JPEG). At half the speed (every tap, character and first "
                      f"reading taking {SLOWER}× as long): {minutes(sum(s.person(SLOWER) for s in steps))}.", ""]
    off = sum(s.person() for s in walks[0][1].steps)
    worst = max(sum(s.person() for s in w.steps) for _l, w, _n in walks)
    slow = max(sum(s.person(SLOWER) for s in w.steps) for _l, w, _n in walks)
    lines += [
        "## The model",
        "",
        f"bench/newcomer.py's person: a step's time = the wall time its pages took (the person waits for them) + "
        f"{TAP_SECONDS:g} s per tap or swipe (reading its label included) + {LATIN_SECONDS:g} s per digit or Latin "
        f"letter typed + {CHINESE_SECONDS:g} s per Chinese character (pinyin input) + {NEW_PAGE_SECONDS:g} s to "
        "read each page seen for the first time (the link seen again once resolved, with its rating on top, is "
        f"not counted again, as newcomer.py counts no page seen before; counting it adds {NEW_PAGE_SECONDS:g} s). "
        "Counted as taps: tapping into each field before typing; "
        f"scanning the code in WeChat ({SCAN_TAPS}: ＋, 扫一扫); taking the photo ({CAMERA_TAPS}: the field, 拍照, "
        f"the shutter, 使用照片); keeping the link ({KEEP_TAPS}: ···, 收藏) and opening it again "
        f"({REOPEN_TAPS}: 我, 收藏, the link). A swipe is counted for each screen (844 px) past the first "
        "down to the last thing the person uses on a page (the form's 提交, the link's 催一下, 提交评价). "
        "The rating is 满意 without words: the form asks words of 不满意 only (想说的话（满意可不写）); a resident "
        f"who adds “{REMARK}” takes {remark:.0f} s more. The photo is a {photo / 1_000_000:.1f} MB camera JPEG "
        f"sent over the loopback: over a {UPLINK_MBITS} Mbit/s 4G upload it would take {upload:.0f} s more. "
        "The server seconds are each page's document from request to first byte (the photo's upload and "
        "processing included); the pages' seconds are the wall time of the step's actions in the browser, less the pause the script makes so that the form's "
        "3-second time-to-fill check is met (a person's typing takes far longer). Not counted: walking to "
        "the poster, pointing the camera, waiting for the assistant.",
        "",
        "## What was checked",
        "",
        "- The request landed as 住户自助 with the photo, 已核实 (the name and mobile of a registered resident of "
        "the household), and the assistant's request page showed 住户自助登记, 已核实 and 住户催办 1 次.",
        "- After the assistant handled it on the spot (staff pages, not counted), the link said 已处理，请您评价; "
        "the rating closed it (已办结), and the request page showed 已关闭 and 住户评价：满意.",
        "",
        "## Verdict",
        "",
        f"With JavaScript off {minutes(off)}; the slower of the two walks {minutes(worst)}: "
        + (f"**under two minutes** ({worst / TARGET_SECONDS:.0%} of the target)" if worst <= TARGET_SECONDS
           else f"**over two minutes** ({worst / TARGET_SECONDS:.0%} of the target)")
        + f". Over 4G, the photo's upload added: {minutes(worst + upload)}; with a remark on the rating and the "
        f"resolved link read as a new page as well: {minutes(worst + upload + remark + NEW_PAGE_SECONDS)}. "
        f"At half the speed: {minutes(slow)}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", help="save a screenshot of every step into this folder")
    args = parser.parse_args(argv)
    from playwright.sync_api import expect
    from playwright.sync_api import sync_playwright

    from browser.conftest import CHROMIUM
    from browser.conftest import CHROMIUM_ARGS
    from browser.conftest import LiveServer

    if args.shots:
        os.makedirs(args.shots, exist_ok=True)
    about = machine()
    folder = tempfile.mkdtemp(prefix="kefu-bench-resident-")
    server = LiveServer(folder)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                address = poster_address(server, browser, args.shots)
                assert address.startswith(server.url + "/report/b/"), address
                walks = []
                for js, nth in ((False, 0), (True, 1)):
                    walk, number = walk_once(browser, server, address, js, nth, args.shots, expect)
                    walks.append(("JavaScript off" if not js else "JavaScript on", walk, number))
            finally:
                browser.close()
        with open(server.log_path, errors="replace") as handle:
            log = handle.read()
        if "Traceback" in log:
            print("server traceback:\n" + log[log.index("Traceback"):][:3000], file=sys.stderr)
            return 1
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    text = report(walks, about, address)
    print(text)
    with open(os.path.join(ROOT, "bench", "results-resident.md"), "w", encoding="utf-8") as handle:
        handle.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
