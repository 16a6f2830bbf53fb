"""Accessibility on the phone: axe-core checks every main page, as each role sees it.

Each role signs in once, in a browser context of its own, and walks the pages it uses; axe-core
(node_modules/, from `npm ci`) checks each against WCAG 2.x A and AA and the best practices.
No page may have a serious or critical violation: an input without a label, text too faint to
read, a control a screen reader can't name, a positive tabindex that breaks the focus order.
On the long forms a keyboard walk checks what axe can't: each Tab goes forward, and the field it
lands on isn't hidden under the top bar, the tab bar or the save bar.

The app's CSP forbids inline scripts, so these contexts bypass it to inject axe.
"""
import os
import re
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest

from figures import show

from .conftest import PHONE
from .conftest import ROOT
from .conftest import WAIT_MS
from .test_foundation import sign_in

pytestmark = pytest.mark.browser

AXE = os.path.join(ROOT, "node_modules", "axe-core", "axe.min.js")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = ("critical", "serious")

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: `${v.help} (${v.helpUrl})`,
    nodes: v.nodes.map((n) => ({target: n.target.join(" ")}))}));
}"""


# Where a keyboard (or the phone keyboard's 下一项) walks every field: each must come after the one
# before (WCAG 2.4.3) and show clear of the top bar, the tab bar and the sticky save bar (2.4.11).
TAB_THROUGH = {("admin", "新建用户"), ("zhuli1", "受理诉求"), ("zhuli1", "回访"), ("zhuli1", "扫码巡查"),
               ("zhuli1", "记录拜访"), ("zhuli1", "编辑商铺"), ("zhuli1", "装修登记"), ("gongcheng", "报完成")}
MAX_TABS = 150

FOCUSED = """() => {
  const el = document.activeElement;
  const last = window.kefuLastFocus;
  if (!el || el === document.body || el === window.kefuFirstFocus) return null;
  if (el === last) return {same: true};  // Tab moves between a date's year, month and day
  window.kefuFirstFocus = window.kefuFirstFocus || el;
  window.kefuLastFocus = el;
  const r = el.getBoundingClientRect();
  const x = Math.min(Math.max(r.left + r.width / 2, 0), innerWidth - 1);
  const y = Math.min(Math.max(r.top + Math.min(r.height / 2, 20), 0), innerHeight - 1);
  const hit = document.elementFromPoint(x, y);
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (e.getAttribute("name") ? `[name="${e.getAttribute("name")}"]` : "")
    + (e.classList.length ? "." + [...e.classList].join(".") : "");
  const text = el.labels && el.labels.length ? el.labels[0].textContent : el.textContent;
  return {
    target: name(el) + " " + text.trim().slice(0, 20),
    backwards: !!last && !!(last.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING),
    obscured: r.width === 0 || !hit || !(el.contains(hit) || [...(el.labels || [])].some((l) => l.contains(hit))),
    cover: hit ? name(hit.closest(".topbar, .tabbar, .sticky-actions") || hit) : "nothing",
  };
}"""


@dataclass
class Link:
    """The first link whose path matches `pattern` on the page before, or on `start` (unchecked)."""
    pattern: str
    start: str = None


@dataclass
class Invalid:
    """The page before's form sent with only `fill` filled in, and re-shown with its errors."""
    fill: tuple = ()


@dataclass
class Scan:
    """The check page a checkpoint's QR sticker opens (/c/<token>), for the checkpoint before."""


# Each role's pages in the order a person would reach them.
SIGNED_OUT = "signed out"
PAGES = {
    SIGNED_OUT: [
        ("登录", "/login"),
        ("登录（密码错误）", Invalid(fill=(("用户名", "admin"), ("密码", "wrong-password")))),
    ],
    "admin": [
        ("今日", "/"),
        ("设置", "/admin/"),
        ("小区信息与服务时间", "/admin/estate"),
        ("楼栋与房号", "/admin/buildings"),
        ("楼栋", Link(r"/admin/buildings/\d+")),
        ("房屋", Link(r"/admin/households/\d+")),
        ("新建楼栋", "/admin/buildings/new"),
        ("新建楼栋（未填）", Invalid()),
        ("公共部位", "/admin/places"),
        ("新建公共部位", "/admin/places/new"),
        ("管辖区域", "/admin/zones"),
        ("区域", Link(r"/admin/zones/\d+")),
        ("业务块", "/admin/units"),
        ("业务块", Link(r"/admin/units/\d+")),
        ("用户管理", "/admin/users"),
        ("用户", Link(r"/admin/users/\d+")),
        ("新建用户", "/admin/users/new"),
        ("新建用户（未填）", Invalid()),
        ("诉求等级与时限", "/admin/tiers"),
        ("诉求等级", Link(r"/admin/tiers/\d+")),
        ("巡查点与二维码贴纸", "/patrols/checkpoints"),
        ("新建巡查点", "/patrols/checkpoints/new"),
        ("巡查检查表", "/admin/checklists"),
        ("检查表", Link(r"/admin/checklists/\d+")),
        ("巡查规则", "/admin/patrol-rules"),
        ("个性化服务项目", "/admin/services"),
        ("拜访时段", "/admin/visit-rules"),
        ("岗位评估项目", "/admin/evaluation-items"),
        ("备份与恢复", "/admin/backups"),
        ("审计日志", "/admin/audit"),
        ("我的", "/me"),
        ("修改密码", "/me/password"),
        ("修改密码（未填）", Invalid()),
    ],
    "zhuguan": [
        ("今日", "/"),
        ("诉求", "/tickets"),
        ("诉求", Link(r"/tickets/\d+", start="/tickets?state=in_progress")),
        ("督办", Link(r"/tickets/\d+/supervise")),
        ("案例", "/tickets/cases"),
        ("巡视", "/patrols"),
        ("巡视记录", "/patrols/coverage"),
        ("客户", "/customers"),
        ("拜访", "/visits"),
        ("商铺", "/shops"),
        ("装修户", "/renovations"),
        ("违规案件", "/renovations/cases"),
        ("违规", Link(r"/renovations/violations/\d+")),
        ("岗位评估", "/evaluations"),
        ("评估", Link(r"/evaluations/\d+")),
        ("评估（员工）", Link(r"/evaluations/staff/\d+")),
        ("工作记录", "/worklog"),
        ("一天的工作记录", Link(r"/worklog/\d+/[\d-]+")),
        ("趋势", "/trends"),
        ("月度工作总结", "/summaries"),
        ("月度工作总结", Link(r"/summaries/\d+/[\d-]+")),
        ("例会", "/meetings"),
        ("例会", Link(r"/meetings/\d+", start="/meetings")),
        ("新建例会", "/meetings/new"),
        ("导出", "/exports"),
        ("我的", "/me"),
    ],
    "zhuli1": [
        ("今日", "/"),
        ("花名册", Link(r"/admin/buildings/\d+/roster")),
        ("诉求（待响应）", Link(r"/tickets/\d+", start="/")),
        ("诉求", "/tickets"),
        ("诉求（处理中）", Link(r"/tickets/\d+", start="/tickets?state=in_progress")),
        ("派工", Link(r"/tickets/\d+/dispatch")),
        ("诉求（已处理）", Link(r"/tickets/\d+", start="/tickets?state=resolved")),
        ("回访", Link(r"/tickets/\d+/followup")),
        ("受理诉求", "/tickets/new"),
        ("受理诉求（未填）", Invalid()),
        ("巡视", "/patrols"),
        ("巡视问题", Link(r"/patrols/findings/\d+")),
        ("派整改单", Link(r"/patrols/findings/\d+/order")),
        ("巡查点", Link(r"/patrols/checkpoints/\d+", start="/patrols/checkpoints")),
        ("扫码巡查", Scan()),
        ("记录观察", "/patrols/observations/new"),
        ("客户", "/customers?q=3-2-1502"),
        ("房屋", Link(r"/customers/households/\d+")),
        ("登记住户", Link(r"/customers/households/\d+/residents")),
        ("客户资料", Link(r"/customers/households/\d+/profile", start="/customers/households/1")),
        ("拜访", "/visits"),
        ("拜访记录", Link(r"/visits/\d+")),
        ("记录拜访", "/visits/new"),
        ("记录拜访（未填）", Invalid()),
        ("客户需求", "/needs"),
        ("客户需求", Link(r"/needs/\d+")),
        ("记录需求", "/needs/new"),
        ("个性化服务", "/services"),
        ("个性化服务", Link(r"/services/\d+")),
        ("商铺", "/shops"),
        ("整改通知书（商铺）", Link(r"/shops/notices/\d+")),
        ("商铺", Link(r"/shops/\d+", start="/shops")),
        ("编辑商铺", Link(r"/shops/\d+/edit")),
        ("装修户", "/renovations"),
        ("装修户", Link(r"/renovations/\d+")),
        ("登记违规", Link(r"/renovations/\d+/violations/new")),
        ("登记违规（未填）", Invalid()),
        ("装修登记", "/renovations/new"),
        ("我的评估", "/evaluations"),
        ("工作记录", "/worklog"),
        ("我的", "/me"),
    ],
    "qiantai": [
        ("今日", "/"),
        ("诉求", "/tickets"),
        ("受理诉求", "/tickets/new"),
        ("客户", "/customers"),
    ],
    "gongcheng": [
        ("今日", "/"),
        ("派工单", "/workorders"),
        ("派工单", Link(r"/workorders/\d+")),
        ("报完成", Link(r"/workorders/\d+/report")),
        ("报完成（未填）", Invalid()),
    ],
}


def checkpoint_token(live_server, checkpoint_id):
    """The sticker's token, which only the printed QR code carries (test_patrols decodes one)."""
    return live_server.query("SELECT token FROM checkpoint WHERE id = ?", checkpoint_id)[0][0]


# Every link and button a thumb taps: at least 44×44 CSS px (an inline link in a sentence too; its
# padding may reach into the lines around it).
TARGET = 44
SMALL_TARGETS = """(least) => [...document.querySelectorAll("a[href], button, summary")].filter((el) => {
  const r = el.getBoundingClientRect(), style = getComputedStyle(el);
  if (!r.width || !r.height || style.visibility === "hidden" || el.closest("[hidden], .visually-hidden")) return false;
  return r.width < least - 0.5 || r.height < least - 0.5;
}).map((el) => {
  const r = el.getBoundingClientRect();
  return {target: `${el.tagName.toLowerCase()}${el.className ? "." + el.className.split(" ").join(".") : ""} `
    + `"${el.textContent.trim().slice(0, 16)}" ${Math.round(r.width)}×${Math.round(r.height)}`};
})"""


def check(page, where, found):
    """Run axe on the page as it stands, and measure its tap targets; add the violations, each
    tagged with where it was."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=AXE)
    for violation in page.evaluate(RUN_AXE, TAGS):
        found.append((where, violation))
    small = page.evaluate(SMALL_TARGETS, TARGET)
    if small:
        found.append((where, {"id": "kefu-target-size", "impact": "serious", "nodes": small,
                              "help": f"A link or button must be at least {TARGET}×{TARGET} px to tap"}))


def tab_through(page, where, found):
    """Press Tab from the top to the end of the page (or round to the start); add the fields
    that come before the one focused last, or sit under a bar. Return how many Tabs it took."""
    page.evaluate("() => { document.activeElement.blur(); window.kefuFirstFocus = window.kefuLastFocus = null; }")
    backwards, obscured = [], []
    tabs = 0
    while tabs < MAX_TABS:
        page.keyboard.press("Tab")
        tabs += 1
        focused = page.evaluate(FOCUSED)
        if focused is None:
            break
        if focused.get("same"):
            continue
        if focused["backwards"]:
            backwards.append({"target": focused["target"]})
        if focused["obscured"]:
            obscured.append({"target": f"{focused['target']} (under {focused['cover']})"})
    if backwards:
        found.append((where, {"id": "kefu-focus-order", "impact": "serious", "nodes": backwards,
                              "help": "Tab must move forward through the page (WCAG 2.4.3)"}))
    if obscured:
        found.append((where, {"id": "kefu-focus-not-obscured", "impact": "serious", "nodes": obscured,
                              "help": "A focused field must show clear of the fixed bars (WCAG 2.4.11)"}))
    return tabs


def visit(page, path):
    response = page.goto(path)
    assert response.ok, f"{path}: HTTP {response.status}"


def link_on(page, pattern):
    hrefs = page.eval_on_selector_all("body > :not(nav) a[href]", "links => links.map((a) => a.getAttribute('href'))")
    for href in hrefs:
        if re.fullmatch(pattern, urlparse(href).path):
            return href
    pytest.fail(f"no link matching {pattern} on {page.url}")


def send_invalid(page, fill):
    """Send the page's main form with validation in the browser off, and wait for its errors."""
    form = page.locator("main form[method=post]").first
    for label, value in fill:
        form.get_by_label(label, exact=True).fill(value)
    page.evaluate("document.querySelectorAll('form').forEach((f) => { f.noValidate = true; })")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        form.locator("button[type=submit]").last.click()
    assert answer.value.status == 422, f"{page.url}: expected 422, got {answer.value.status}"
    page.locator("main .error, main .flash-error").first.wait_for()


def walk(page, live_server, role, pages, found, counted):
    """Visit each of the role's pages in turn and check it, counting pages and Tab presses."""
    for name, target in pages:
        if isinstance(target, str):
            visit(page, target)
        elif isinstance(target, Link):
            if target.start:
                visit(page, target.start)
            visit(page, link_on(page, target.pattern))
        elif isinstance(target, Invalid):
            send_invalid(page, target.fill)
        elif isinstance(target, Scan):
            checkpoint_id = re.search(r"/patrols/checkpoints/(\d+)", page.url).group(1)
            visit(page, "/c/" + checkpoint_token(live_server, checkpoint_id))
        where = f"{role} {name} {urlparse(page.url).path}"
        check(page, where, found)
        counted[role] += 1
        if (role, name) in TAB_THROUGH:
            counted["forms tabbed through"] += 1
            counted["tabs"] += tab_through(page, where, found)


def describe(where, violation):
    nodes = "\n".join(f"      {n['target']}" for n in violation["nodes"][:8])
    more = len(violation["nodes"]) - 8
    return (f"  {where}: {violation['id']} ({violation['impact']}) {violation['help']}\n{nodes}"
            + (f"\n      … and {more} more" if more > 0 else ""))


def test_no_serious_or_critical_violations_on_any_main_page(browser, live_server, page_problems):
    assert os.path.exists(AXE), f"{AXE} is missing: run `npm ci` (package.json pins axe-core)"
    page_problems.allow(r"status of 422")
    started = time.monotonic()
    found = []
    counted = Counter()
    for role, pages in PAGES.items():
        context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      base_url=live_server.url, bypass_csp=True)
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        page.on("pageerror", page_problems.on_pageerror)
        page.on("console", page_problems.on_console)
        try:
            if role != SIGNED_OUT:
                sign_in(page, role)
            walk(page, live_server, role, pages, found, counted)
        finally:
            context.close()

    impacts = Counter(violation["impact"] for _, violation in found)
    blocking = [(where, v) for where, v in found if v["impact"] in BLOCKING]
    show("\n".join([
        f"accessibility: {sum(counted[role] for role in PAGES)} pages checked for {len(PAGES)} roles "
        f"({', '.join(f'{role} {counted[role]}' for role in PAGES)}), "
        f"{counted['tabs']} Tab presses on {counted['forms tabbed through']} forms, "
        f"{time.monotonic() - started:.0f} s; violations: "
        + ", ".join(f"{impact} {impacts[impact]}" for impact in ("critical", "serious", "moderate", "minor")),
        *(f"  {where}: {violation['id']} ({violation['impact']}) {violation['help']}"
          for where, violation in found if violation["impact"] not in BLOCKING)]))
    assert not blocking, ("serious or critical accessibility violations:\n"
                          + "\n".join(describe(where, v) for where, v in blocking))


def test_inline_links_are_targets_a_thumb_can_hit(browser, live_server, page_problems):
    """The links inside a sentence — the notice's number and the body a case went to (居委会, 业委会…)
    on a violation, a shop's name on its notice — are 44×44 px targets like every button."""
    violation = live_server.query(
        "SELECT v.id FROM violation v JOIN notice_violation nv ON nv.violation_id = v.id "
        "JOIN referral r ON r.renovation_id = v.renovation_id ORDER BY v.id LIMIT 1")[0][0]
    shop_notice = live_server.query("SELECT id FROM shop_notice ORDER BY id LIMIT 1")
    context = browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=live_server.url)
    page = context.new_page()
    page.on("pageerror", page_problems.on_pageerror)
    try:
        sign_in(page, "zhuguan")
        measured = []
        for path in [f"/renovations/violations/{violation}"] + [f"/shops/notices/{row[0]}" for row in shop_notice]:
            visit(page, path)
            inline = page.locator("main a:not([class])")
            assert inline.count(), path
            for n in range(inline.count()):
                box = inline.nth(n).bounding_box()
                measured.append((path, inline.nth(n).inner_text().strip(), box["width"] >= TARGET - 0.5,
                                 box["height"] >= TARGET - 0.5))
        assert [m for m in measured if not (m[2] and m[3])] == []
        names = [text for _path, text, _w, _h in measured]
        assert any(re.search(r"第\d+号", name) for name in names), names  # a notice's number
        assert any(name in ("业委会", "居委会", "区房屋土地管理局办事处") for name in names), names
    finally:
        context.close()
