"""The estate's patchy signal (basements, car parks), on a phone: a form sent while the connection is
down stays as typed with a note saying so, and sending it again once the signal is back makes one
record; a patrol check made without signal is kept on the phone and sent by itself when the signal
returns, counted for the time it was made."""
import re

import pytest
from playwright.sync_api import expect

from .test_foundation import heading
from .test_foundation import sign_in
from .test_tickets import flash
from .test_tickets import take_request
from .test_tickets import tickets_with

pytestmark = pytest.mark.browser


def offline(page_problems):
    """What the browser and htmx log when a request can't go out: expected here."""
    page_problems.allow(r"ERR_INTERNET_DISCONNECTED")
    page_problems.allow(r"htmx:(sendError|afterRequest)")


def test_a_request_sent_without_signal_is_kept_and_sent_once_when_the_signal_returns(page, page_problems):
    offline(page_problems)
    sign_in(page, "qiantai")
    typed = "地下车库B2照明全灭（石英刺猬）"
    take_request(page, typed)
    page.context.set_offline(True)
    page.get_by_role("button", name="受理").click()
    expect(page.get_by_role("alert").filter(has_text="网络连接中断，内容没有提交")).to_be_visible()
    expect(page.get_by_label("客户反映的问题")).to_have_value(typed)  # nothing typed is lost
    heading(page, "受理诉求")
    page.context.set_offline(False)
    page.get_by_role("button", name="受理").click()
    flash(page, "已受理")
    heading(page, re.compile(r"^KS\d{8}-\d{3}$"))
    expect(page.locator("#send-error")).to_have_count(0)
    expect(tickets_with(page, "石英刺猬")).to_have_count(1)


def test_a_patrol_check_without_signal_is_kept_on_the_phone_and_sent_when_the_signal_returns(
        page, page_problems, live_server):
    offline(page_problems)
    sign_in(page, "zhuli1")
    page.goto("/patrols")
    card = page.locator(".checkpoint-card").first
    name = card.locator(".card-title").inner_text().strip()
    card.click()
    heading(page, "现场巡查")
    action = page.locator("form[data-offline=check]").get_attribute("action")
    checkpoint_id = int(re.search(r"/checkpoints/(\d+)/check", action).group(1))
    before = live_server.query("SELECT COUNT(*) FROM \"check\" WHERE checkpoint_id = ?", checkpoint_id)[0][0]

    page.context.set_offline(True)
    page.get_by_role("button", name="保存巡查").click()
    kept = page.locator("#offline-note")
    expect(kept).to_contain_text("没有信号：这次巡查")
    expect(kept).to_contain_text("已保存在手机上，信号恢复后自动提交")
    made_at = page.evaluate("JSON.parse(localStorage.getItem('kefu-offline-checks'))[0].made")
    page.wait_for_timeout(2500)  # it reaches the server a while after it was made

    page.context.set_offline(False)  # the browser says "online": the phone sends what it kept
    expect(kept).to_contain_text(f"已提交离线巡查：{name}")
    assert page.evaluate("JSON.parse(localStorage.getItem('kefu-offline-checks'))") == []
    rows = live_server.query("SELECT at FROM \"check\" WHERE checkpoint_id = ? ORDER BY id", checkpoint_id)
    assert len(rows) == before + 1
    # Stored as naive UTC: the time the check was made on the phone, not when it arrived.
    assert str(rows[-1][0]).replace(" ", "T")[:19] == made_at[:19]
    note = live_server.query("SELECT note FROM event WHERE record_type = 'check' ORDER BY id DESC LIMIT 1")[0][0]
    assert "无信号时记录于" in note and "信号恢复后提交" in note
