"""Markup typed into text fields, read back in Chromium: shown as the words typed, never run. The CSP
listener (conftest.REPORT_CSP) fails the test on any violation, which is what markup let through would
cause (an inline handler or script the policy blocks); a dialog or a flag set by a payload fails it too.
"""
import secrets

import pytest
from playwright.sync_api import expect

from .test_foundation import sign_in

PAYLOADS = [
    '<script>window.__xss=1</script>',
    '"><img src=x onerror="window.__xss=1">',
    "<svg onload=window.__xss=1>",
    "</textarea><script>window.__xss=1</script>",
    "' onmouseover='window.__xss=1' x='",
    "javascript:window.__xss=1",
    "{{ 7*7 }}{% raw %}",
]


def csrf(page):
    return page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")


def first_option(page, name):
    return page.locator(f'select[name="{name}"] option').evaluate_all(
        "(options) => options.map((o) => o.value).filter((v) => v && v !== '0')")[0]


@pytest.fixture
def watched(page):
    """The page, with every dialog recorded (and dismissed)."""
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    return page


def test_markup_in_a_request_and_a_need_is_shown_as_typed_and_never_runs(watched, live_server):
    page = watched
    sign_in(page, "zhuli1")
    marker = secrets.token_hex(3)
    made = []
    for n, payload in enumerate(PAYLOADS):
        page.goto("/tickets/new")
        form = {"channel": "现场", "category": "工程维修", "tier": first_option(page, "tier"), "household": "1-1-101",
                "place": "0", "zone": "0", "customer_name": payload[:40], "customer_phone": "13812345678",
                "description": f"{marker}-{n} {payload}", "token": f"xss-{marker}-{n}"}
        response = page.request.post("/tickets/new", form=form, headers={"X-CSRFToken": csrf(page)},
                                     max_redirects=0)
        assert response.status == 303, response.text()[:500]
        made.append(response.headers["location"])
        need = page.request.post("/needs/new", form={"household": "1-1-101", "what": f"{marker}-{n} {payload}",
                                                     "kind": "personal", "topic": "家政保洁", "source": "拜访",
                                                     "token": f"xss-need-{marker}-{n}"},
                                 headers={"X-CSRFToken": csrf(page)}, max_redirects=0)
        assert need.status == 303, need.text()[:500]
        made.append(need.headers["location"])
    pages = made + ["/", "/tickets", "/needs", f"/tickets?q={marker}", "/workorders"]
    for url in pages:
        page.goto(url)
        page.mouse.move(100, 300)
        assert page.evaluate("window.__xss") is None, url
    # The words come back as typed, on the request's own page.
    page.goto(made[0])
    expect(page.get_by_text(f"{marker}-0 {PAYLOADS[0]}", exact=True)).to_be_visible()
    page.goto(made[2 * (len(PAYLOADS) - 1)])
    assert "{{ 7*7 }}" in page.inner_text("body") and "49" not in page.inner_text("main")
    assert page.dialogs == []


def test_a_search_with_markup_shows_it_as_typed(watched):
    page = watched
    sign_in(page, "zhuli1")
    for payload in PAYLOADS[:3]:
        page.goto("/tickets?q=" + payload.replace("#", ""))
        assert page.evaluate("window.__xss") is None
    assert page.dialogs == []
