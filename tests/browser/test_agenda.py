"""Live 今日 at 390×844: the assistant's open 今日 shows a request the front desk takes, without a
reload, with the count on the tab and in the title; the supervisor's 今日 lists the late and the
escalated; a unit sees its rework's reason on top of the card."""
import re

import pytest
from playwright.sync_api import expect

from .test_foundation import heading
from .test_tickets import phone_of
from .test_tickets import section
from .test_tickets import take_request

pytestmark = pytest.mark.browser

MARKER = "紫藤信鸽"


def test_the_assistants_open_today_shows_a_new_request_without_a_reload(phones, shot):
    zhuli = phone_of(phones, "zhuli1")
    heading(zhuli, "今日")
    before = int(zhuli.locator("#agenda").get_attribute("data-count"))
    expect(zhuli.locator(".tab-count")).to_have_text(str(before))
    zhuli.evaluate("window.__notReloaded = true")

    desk = phone_of(phones, "qiantai")
    take_request(desk, f"楼道灯一直闪（{MARKER}）")
    desk.get_by_role("button", name="受理").click()
    expect(desk.get_by_role("status")).to_contain_text("已转交")

    card = section(zhuli, "待响应").filter(has_text=MARKER)
    expect(card).to_have_count(1, timeout=20000)
    assert zhuli.evaluate("window.__notReloaded") is True
    expect(zhuli.locator(".tab-count")).to_have_text(str(before + 1))
    expect(zhuli).to_have_title(re.compile(rf"^\({before + 1}\) "))
    expect(card.locator(".countdown")).to_contain_text("正常")
    expect(card.locator(".step-badge")).to_contain_text("响应")
    shot(zhuli, "today-assistant-live")
    card.click()
    heading(zhuli, re.compile(r"KS\d{8}-\d{3}"))


def test_the_supervisors_today_puts_escalations_first_and_counts_the_late(phones, shot):
    desk = phone_of(phones, "zhuguan")
    heading(desk, "今日")
    first = desk.locator("#agenda h2").first
    expect(first).to_contain_text("上报待处理")
    late = desk.locator(".stats .stat").nth(1)
    count = int(late.locator("b").inner_text())
    expect(section(desk, "超时").locator(".countdown.badge-late").first).to_be_visible()
    assert count >= 1
    shot(desk, "today-supervisor")
