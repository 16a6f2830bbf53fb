"""举一反三 and the list's search on a phone (390×844), on the demo estate: the front desk types a
leak in the car park and sees the car park's history and the leaks above 受理; a search for 电梯
covers every state and counts the closed ones."""
import re

from playwright.sync_api import expect

from .test_foundation import heading
from .test_foundation import sign_in
from .test_foundation import tab


def test_the_front_desk_sees_the_places_history_and_the_leaks_above_the_button(page, shot):
    sign_in(page, "qiantai")
    page.goto("/tickets/new")
    heading(page, "受理诉求")
    page.get_by_label("类别", exact=True).select_option("工程维修")
    page.get_by_label("或公共部位").select_option(label="地下车库 B1（地库）· 二区（5–8号楼）")
    page.get_by_label("客户反映的问题").press_sequentially("地库B区漏水", delay=40)
    panel = page.locator("#similar")
    expect(panel.get_by_role("heading", name="类似诉求（举一反三）")).to_be_visible()
    # The car park's own history (the demo's B1 lights), and the leaks elsewhere.
    expect(panel.locator(".card").filter(has_text="同一位置").first).to_be_visible()
    expect(panel.locator(".card").filter(has_text="地下车库 B1").first).to_be_visible()
    expect(panel.locator(".card").filter(has_text=re.compile("漏水|渗水")).first).to_be_visible()
    panel_box = panel.bounding_box()
    button_box = page.get_by_role("button", name="受理").bounding_box()
    assert panel_box["y"] + panel_box["height"] <= button_box["y"]
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "ticket-intake-similar")

    # The list's search looks through every state and counts each.
    tab(page, "诉求")
    heading(page, "客户诉求")
    page.get_by_label("关键词").fill("电梯")
    page.get_by_role("button", name="搜索").click()
    counts = page.get_by_role("status").filter(has_text="已关闭")
    expect(counts).to_be_visible()
    closed = int(re.search(r"已关闭 (\d+)", counts.inner_text()).group(1))
    assert closed >= 1
    expect(page.get_by_role("link", name="全部")).to_have_class(re.compile(r"\bon\b"))
    expect(page.locator(".ticket-card").filter(has_text="已关闭").first).to_be_visible()
    shot(page, "ticket-search-all-states")
