"""The estate's patchy signal (basements, car parks), on a phone: a form sent while the connection is
down stays as typed with a note saying so, and sending it again once the signal is back makes one
record; a patrol check made without signal is kept on the phone and sent by itself when the signal
returns, counted for the time it was made, photos and all; and a check page opens without signal
from the phone's copy (the service worker's)."""
import re

import pytest
from playwright.sync_api import expect

from .conftest import new_phone_page
from .conftest import save_screenshot
from .test_foundation import heading
from .test_foundation import sign_in
from .test_foundation import tab
from .test_tickets import flash
from .test_tickets import jpeg
from .test_tickets import take_request
from .test_tickets import tickets_with

pytestmark = pytest.mark.browser


# The service worker fetches every check page the board lists, one request each, in the
# background: on a busy machine that takes longer than an assertion's usual five seconds.
KEEPING = 30_000


def expect_board_pages_kept(page):
    """The patrol board says the phone now keeps the check pages it lists."""
    expect(page.locator("#offline-pages")).to_contain_text(re.compile(r"手机上已保存 \d+ 个巡查页"),
                                                          timeout=KEEPING)


def offline(page_problems):
    """What the browser and htmx log when a request can't go out: expected here."""
    page_problems.allow(r"ERR_INTERNET_DISCONNECTED")
    page_problems.allow(r"htmx:(sendError|afterRequest)")


# The checks kept on the phone (app.js keeps them in IndexedDB): when made, by whom, photos.
KEPT = """() => new Promise((resolve, reject) => {
  const opening = indexedDB.open("kefu-offline", 1);
  opening.onupgradeneeded = () => opening.result.createObjectStore("checks", {keyPath: "key"});
  opening.onerror = () => reject(opening.error);
  opening.onsuccess = () => {
    const db = opening.result, request = db.transaction("checks").objectStore("checks").getAll();
    request.onerror = () => reject(request.error);
    request.onsuccess = () => {
      db.close();
      resolve(request.result.map(item => ({made: item.made, name: item.name, user: item.user,
                                           photos: (item.files || []).map(file => file[1].size)})));
    };
  };
})"""


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
    kept_on_phone = page.evaluate(KEPT)
    assert len(kept_on_phone) == 1 and kept_on_phone[0]["name"] == name and kept_on_phone[0]["photos"] == []
    made_at = kept_on_phone[0]["made"]
    page.wait_for_timeout(2500)  # it reaches the server a while after it was made

    page.context.set_offline(False)  # the browser says "online": the phone sends what it kept
    expect(kept).to_contain_text(f"已提交离线巡查：{name}")
    assert page.evaluate(KEPT) == []
    rows = live_server.query("SELECT at FROM \"check\" WHERE checkpoint_id = ? ORDER BY id", checkpoint_id)
    assert len(rows) == before + 1
    # Stored as naive UTC: the time the check was made on the phone, not when it arrived.
    assert str(rows[-1][0]).replace(" ", "T")[:19] == made_at[:19]
    note = live_server.query("SELECT note FROM event WHERE record_type = 'check' ORDER BY id DESC LIMIT 1")[0][0]
    assert "无信号时记录于" in note and "信号恢复后提交" in note


def test_a_check_page_opens_without_signal_and_the_check_is_sent_with_its_photo_when_it_returns(
        browser, live_server, page_problems, tmp_path):
    offline(page_problems)
    page = new_phone_page(browser, live_server, page_problems, service_workers="allow")
    try:
        sign_in(page, "zhuli1")
        page.goto("/patrols")
        # With signal, the board has the phone keep the check pages it lists.
        expect_board_pages_kept(page)
        save_screenshot(page, "offline-board")
        card = page.locator(".checkpoint-card").nth(1)
        name = card.locator(".card-title").inner_text().strip()
        href = card.get_attribute("href")
        checkpoint_id = int(re.search(r"/checkpoints/(\d+)/check", href).group(1))
        card.click()
        heading(page, "现场巡查")
        served_token = page.locator("input[name=token]").input_value()
        page.goto("/patrols")
        before = live_server.query('SELECT COUNT(*) FROM "check" WHERE checkpoint_id = ?', checkpoint_id)[0][0]

        # In the basement: no signal for the page nor for the service worker.
        page.context.route("**/*", lambda route: route.abort("internetdisconnected"))
        page.context.set_offline(True)
        page.locator(f'a.checkpoint-card[href="{href}"]').click()
        heading(page, "现场巡查")
        expect(page.locator("#offline-copy")).to_contain_text(re.compile(r"没有信号：这是手机上保存的巡查页（\d+月\d+日 \d\d:\d\d 保存）"))
        expect(page.locator(".card-title").first).to_have_text(name)
        # A new one-time token: a second check from the same copy is a second check, not a repeat.
        token = page.locator("input[name=token]").input_value()
        assert token and token != served_token

        item = page.locator("fieldset.check-item").first
        item.get_by_label("不合格", exact=True).check()
        item.get_by_label("问题说明").fill("B2 消防通道堆放纸箱（石英信号）")
        item.locator("input[type=file]").set_input_files(jpeg(tmp_path / "b2.jpg", (90, 90, 90)))
        expect(item.locator(".photo-field")).to_contain_text("没有信号：照片还在手机上，保存时一起提交")
        page.get_by_role("button", name="保存巡查").click()
        kept = page.locator("#offline-note")
        expect(kept).to_contain_text(f"没有信号：这次巡查（{name}")
        expect(kept).to_contain_text("连同 1 张照片")
        save_screenshot(page, "offline-check-kept")
        kept_on_phone = page.evaluate(KEPT)
        assert len(kept_on_phone) == 1 and len(kept_on_phone[0]["photos"]) == 1 and kept_on_phone[0]["photos"][0] > 1000
        made_at = kept_on_phone[0]["made"]
        page.wait_for_timeout(2500)  # it reaches the server a while after it was made

        page.context.unroute("**/*")
        page.context.set_offline(False)
        expect(kept).to_contain_text(f"已提交离线巡查：{name}")
        assert page.evaluate(KEPT) == []
        rows = live_server.query('SELECT id, at FROM "check" WHERE checkpoint_id = ? ORDER BY id', checkpoint_id)
        assert len(rows) == before + 1
        assert str(rows[-1][1]).replace(" ", "T")[:19] == made_at[:19]
        findings = live_server.query("SELECT id, note FROM finding WHERE check_id = ?", rows[-1][0])
        assert [note for _id, note in findings] == ["B2 消防通道堆放纸箱（石英信号）"]
        photos = live_server.query("SELECT width FROM photo WHERE owner_type = 'finding' AND owner_id = ?",
                                   findings[0][0])
        assert len(photos) == 1 and photos[0][0] > 0

        # The static files the pages need are kept too, one version of each.
        static = page.evaluate("caches.open('kefu-static-v1').then(cache => cache.keys())"
                               ".then(keys => keys.map(request => new URL(request.url).pathname))")
        assert sorted(set(static)) == sorted(static) and "/static/css/app.css" in static and "/static/js/app.js" in static

        # The kept pages belong to whoever was signed in: signing out forgets them.
        kept_pages = "caches.open('kefu-check-pages-v1').then(cache => cache.keys()).then(keys => keys.length)"
        assert page.evaluate(kept_pages) > 0
        page.goto("/me")
        page.get_by_role("button", name="退出登录").click()
        expect(page.get_by_role("status")).to_have_text("已退出登录")
        assert page.evaluate(kept_pages) == 0
    finally:
        page.context.close()


def basement(page):
    """No signal for the page nor for the service worker."""
    page.context.route("**/*", lambda route: route.abort("internetdisconnected"))
    page.context.set_offline(True)


def surface(page):
    page.context.unroute("**/*")
    page.context.set_offline(False)


def user_id(live_server, username):
    return live_server.query('SELECT id FROM "user" WHERE username = ?', username)[0][0]


def checks_of(live_server, checkpoint_id):
    return live_server.query('SELECT by_id, via FROM "check" WHERE checkpoint_id = ? ORDER BY id', checkpoint_id)


def test_a_sticker_scanned_without_signal_opens_its_checkpoints_kept_page_as_a_scan(
        browser, live_server, page_problems):
    """The board listed the checkpoint (its check page kept); the phone's camera then opens the
    sticker's own address in the basement. Anything never kept shows the app's no-signal page."""
    offline(page_problems)
    page_problems.allow(r"status of 503")  # the no-signal page says so
    page = new_phone_page(browser, live_server, page_problems, service_workers="allow")
    try:
        sign_in(page, "zhuli1")
        page.goto("/patrols")
        expect_board_pages_kept(page)
        card = page.locator(".checkpoint-card").nth(2)
        name = card.locator(".card-title").inner_text().strip()
        checkpoint_id = int(card.get_attribute("data-checkpoint"))
        token = live_server.query("SELECT token FROM checkpoint WHERE id = ?", checkpoint_id)[0][0]
        before = len(checks_of(live_server, checkpoint_id))

        basement(page)
        page.goto(f"/c/{token}")  # what the camera opens
        heading(page, "现场巡查")
        expect(page.locator("#offline-copy")).to_contain_text("没有信号：这是手机上保存的巡查页")
        expect(page.locator(".card-title").first).to_have_text(name)
        expect(page.locator(".check-via")).to_have_text("扫码巡查")
        assert page.locator("form[data-offline=check]").get_attribute("action") == f"/c/{token}"
        page.get_by_role("button", name="保存巡查").click()
        expect(page.locator("#offline-note")).to_contain_text(f"没有信号：这次巡查（{name}")

        page.goto("/tickets")  # never kept: the app's own page, not the browser's
        heading(page, "没有信号")
        expect(page.locator("#pending-checks")).to_contain_text(name)
        save_screenshot(page, "offline-no-signal-page")

        surface(page)
        page.goto("/patrols")
        expect(page.locator("#offline-note")).to_contain_text(f"已提交离线巡查：{name}")
        assert checks_of(live_server, checkpoint_id)[before:] == [(user_id(live_server, "zhuli1"), "scan")]
    finally:
        page.context.close()


def sign_in_here(page, username):
    """Sign in on the sign-in page already shown (an in-app page change, no reload)."""
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill("demo1234")
    page.get_by_role("button", name="登录").click()
    heading(page, "今日")


def sign_out_here(page):
    tab(page, "我的")
    page.get_by_role("button", name="退出登录").click()
    heading(page, "登录")


def test_kept_checks_go_out_as_whoever_signs_in_without_a_reload_and_sign_out_warns_of_them(
        page, page_problems, live_server):
    offline(page_problems)
    page_problems.allow(r"ERR_FAILED")
    sign_in(page, "zhuli1")  # the sign-in itself is an in-app page change
    tab(page, "巡视")
    page.locator(".checkpoint-card").first.click()
    heading(page, "现场巡查")
    form = page.locator("form[data-offline=check]")
    action = form.get_attribute("action")
    checkpoint_id = int(form.get_attribute("data-checkpoint"))
    before = len(checks_of(live_server, checkpoint_id))
    page.context.set_offline(True)
    page.get_by_role("button", name="保存巡查").click()
    expect(page.locator("#offline-note")).to_contain_text("已保存在手机上")
    assert [item["user"] for item in page.evaluate(KEPT)] == [str(user_id(live_server, "zhuli1"))]

    # The signal is back but too weak for the check to go (its sending fails); 我的 opens.
    page.route(f"**{action}", lambda route: route.abort("failed"))
    page.context.set_offline(False)
    tab(page, "我的")
    expect(page.locator("#pending-at-logout")).to_contain_text("手机上还有 1 条离线巡查没有提交")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="退出登录").click()
    heading(page, "登录")
    assert "还有 1 条离线巡查没有提交" in asked[0]
    page.unroute(f"**{action}")

    # Someone else signs in on the phone: it isn't theirs to send.
    sign_in_here(page, "zhuli2")
    page.wait_for_timeout(1500)
    assert len(checks_of(live_server, checkpoint_id)) == before and len(page.evaluate(KEPT)) == 1
    sign_out_here(page)  # nothing of theirs pending: no question asked

    # Its maker signs back in (no reload): it goes, with this session's form token.
    sign_in_here(page, "zhuli1")
    expect(page.locator("#offline-note")).to_contain_text("已提交离线巡查")
    assert page.evaluate(KEPT) == []
    assert checks_of(live_server, checkpoint_id)[before:] == [(user_id(live_server, "zhuli1"), "list")]

    # Kept again; the signal comes back while the phone sleeps in a pocket (its sending fails); the
    # screen coming back on sends it, with no page change.
    tab(page, "巡视")
    page.locator(".checkpoint-card").first.click()
    heading(page, "现场巡查")
    page.context.set_offline(True)
    page.get_by_role("button", name="保存巡查").click()
    expect(page.locator("#offline-note")).to_contain_text("已保存在手机上")
    sent_by = page.locator("form[data-offline=check]").count()  # the form gave way
    assert sent_by == 0
    page.route("**/check", lambda route: route.abort("failed"))
    page.route("**/c/*", lambda route: route.abort("failed"))
    page.context.set_offline(False)
    page.wait_for_timeout(1000)
    assert len(page.evaluate(KEPT)) == 1
    page.unroute("**/check")
    page.unroute("**/c/*")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator("#offline-note")).to_contain_text("已提交离线巡查")
    assert page.evaluate(KEPT) == []


def test_a_check_saved_without_signal_is_kept_once_and_listed_on_the_board_in_the_estates_time(
        browser, live_server, page_problems, tmp_path):
    """The phone's clock is set to London; the estate is in Shanghai."""
    import datetime
    from zoneinfo import ZoneInfo
    offline(page_problems)
    page = new_phone_page(browser, live_server, page_problems, service_workers="allow", timezone_id="Europe/London")
    try:
        sign_in(page, "zhuli1")
        page.goto("/patrols")
        expect_board_pages_kept(page)
        card = page.locator(".checkpoint-card").nth(1)
        name = card.locator(".card-title").inner_text().strip()
        checkpoint_id = card.get_attribute("data-checkpoint")
        before = len(checks_of(live_server, int(checkpoint_id)))

        basement(page)
        card.click()
        heading(page, "现场巡查")
        item = page.locator("fieldset.check-item").first
        item.get_by_label("不合格", exact=True).check()
        item.get_by_label("问题说明").fill("B1 排水沟盖板缺失（石英时区）")
        item.locator("input[type=file]").set_input_files(jpeg(tmp_path / "b1.jpg", (60, 90, 60)))
        thumb = item.get_by_role("img", name="离线选的照片 1")
        expect(thumb).to_be_visible()
        assert thumb.get_attribute("src").startswith("blob:")
        page.get_by_role("button", name="保存巡查").dblclick()  # a second tap
        expect(page.locator("#offline-note")).to_contain_text("已保存在手机上")
        expect(page.get_by_role("button", name="保存巡查")).to_have_count(0)
        kept = page.evaluate(KEPT)
        assert len(kept) == 1
        shanghai = datetime.datetime.fromisoformat(kept[0]["made"].replace("Z", "+00:00")).astimezone(
            ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
        expect(page.locator("#offline-note")).to_contain_text(f"（{name}，{shanghai}）")

        page.get_by_role("link", name="返回巡视").click()
        copy = page.locator("#offline-copy")
        expect(copy).to_contain_text("没有信号：这是手机上保存的巡视页")
        # When it was kept, by the estate's clock (a minute or two ago in Shanghai, not in London).
        month, day_, hour, minute = map(int, re.search(r"（(\d+)月(\d+)日 (\d\d):(\d\d) 保存）", copy.inner_text()).groups())
        now = datetime.datetime.now(ZoneInfo("Asia/Shanghai"))
        kept_at = now.replace(month=month, day=day_, hour=hour, minute=minute)
        assert datetime.timedelta(0) <= now - kept_at <= datetime.timedelta(minutes=3), (kept_at, now)
        pending = page.locator("#pending-checks")
        expect(pending).to_contain_text(f"{name} · {shanghai} · 1 张照片")
        expect(page.locator(f'a.checkpoint-card[data-checkpoint="{checkpoint_id}"] .badge')).to_have_text("已巡查（待提交）")
        save_screenshot(page, "offline-board-pending")

        surface(page)
        expect(page.locator("#offline-note")).to_contain_text(f"已提交离线巡查：{name}（记录于 {shanghai}）")
        expect(pending).to_be_hidden()
        assert len(checks_of(live_server, int(checkpoint_id))) == before + 1
    finally:
        page.context.close()
