"""Record-level access over HTTP: within a role that may use a page, the records of another zone,
unit or assistant are refused with 403 (a record that doesn't exist is 404), nothing changes, and
full phone numbers reach only those who call residents. Then the session: a new one at sign-in,
ended by signing out, by a password change elsewhere and by the administrator disabling the user.

test_access.py is the route × role table; this file is the step below it: the right role, the
wrong record.
"""
import datetime
import io
import re

import pytest
from flask import url_for
from PIL import Image

from conftest import PASSWORD
from conftest import html
from conftest import text
from kefu import clock
from kefu import customers
from kefu import estate
from kefu import evaluations
from kefu import events
from kefu import patrols
from kefu import tickets
from kefu import uploads
from kefu import users
from kefu import workorders
from kefu import worklog
from kefu.summaries import MonthlySummary
from kefu.tickets import Ticket
from kefu.workorders import WorkOrder
from test_tickets import intake
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

RESIDENT_PHONE = "13912345678"
CALLER_PHONE = "13800001111"
# Plausible values for every form a ticket or work-order step posts: a missing check would act.
FORM = {"version": "1", "method": "电话", "note": "越权操作", "reason": "越权操作", "verdict": "pass",
        "unit": "1", "instructions": "越权派工", "deadline": "2026-11-28T10:00", "until": "2026-11-28T10:00",
        "result": "satisfied", "satisfaction": "满意", "cause": "越权", "handling": "越权", "prevention": "越权",
        "action": "instruct", "text": "越权", "on_behalf": "越权"}


def jpeg():
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def photo_of(app, uploader):
    return uploads.store(app.config["PHOTOS"], uploader, jpeg())


def urls_of(app, blueprint, argument, value):
    """Every (method, url) of the blueprint's routes that take `argument`, filled with `value`:
    a route added later is checked without being listed here."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint.startswith(f"{blueprint}.") and rule.arguments == {argument}:
                for method in sorted(rule.methods & {"GET", "POST"}):
                    found.append((method, url_for(rule.endpoint, **{argument: value})))
    assert found, argument
    return found


def refused(client, method, url, data=None):
    """The status of a request that must be refused, its body closed."""
    with client.open(url, method=method, data=data if method == "POST" else None) as response:
        return response.status_code


def snapshot(record):
    """What a user would notice changed about a record: its fields and its timeline."""
    fresh = type(record).get_by_id(record.id)
    return dict(fresh.__data__), [e.action for e in events.timeline(fresh)]


@pytest.fixture
def dispatched(world):
    """A request in 一区 (1-1-101) with a photo, sent to 保洁部 as a work order."""
    ticket = intake(world, category="保洁", description="楼道有垃圾", customer_name="王先生",
                    customer_phone=CALLER_PHONE)
    ticket, order = tickets.dispatch(world.assistant, ticket, ticket.version, world.cleaning, "清理楼道",
                                     clock.now() + datetime.timedelta(hours=4))
    return ticket, order


# Another zone's request

# What anyone who may read a request opens: the page, its print, its similar cases (举一反三).
READING = ("tickets.show", "tickets.print_ticket", "tickets.similar_to")


def reading_and_steps(app, blueprint, argument, value, reading):
    """The blueprint's (method, url) for a record, split into the pages that read it and the rest."""
    with app.test_request_context():
        read = {url_for(endpoint, **{argument: value}) for endpoint in reading}
    routes = urls_of(app, blueprint, argument, value)
    return ([(m, u) for m, u in routes if m == "GET" and u in read],
            [(m, u) for m, u in routes if not (m == "GET" and u in read)])


def steps_offered(page, ticket):
    """The steps a ticket page links to (respond, dispatch, …), its similar cases aside."""
    return set(re.findall(rf'href="/tickets/{ticket.id}/(\w+)"', html(page))) - {"similar"}


def test_another_zones_assistant_reads_a_request_but_takes_no_step(app, world, as_user, dispatched):
    ticket, _ = dispatched
    before = snapshot(ticket)
    client = as_user(world.assistant2)
    reading, steps = reading_and_steps(app, "tickets", "ticket_id", ticket.id, READING)
    assert len(reading) == 3 and len(steps) > 10
    assert {f"{m} {u}": refused(client, m, u) for m, u in reading} == {f"{m} {u}": 200 for m, u in reading}
    statuses = {f"{method} {url}": refused(client, method, url, FORM) for method, url in steps}
    assert {k: v for k, v in statuses.items() if v != 403} == {}
    assert snapshot(ticket) == before
    # Read only: no step offered, the caller's number masked, the order not a link.
    page = client.get(f"/tickets/{ticket.id}")
    assert "楼道有垃圾" in text(page) and steps_offered(page, ticket) == set()
    assert CALLER_PHONE not in html(page) and "138****1111" in text(page)
    assert "/workorders/" not in html(page)
    # Their lists stay their own work.
    assert ticket.number not in text(client.get("/tickets")) and ticket.number not in text(client.get("/"))
    own = as_user(world.assistant).get(f"/tickets/{ticket.id}")
    assert CALLER_PHONE in html(own) and "respond" in steps_offered(own, ticket)


def test_a_request_that_does_not_exist_is_not_found(world, as_user):
    client = as_user(world.assistant)
    assert client.get("/tickets/99999").status_code == 404
    assert client.post("/tickets/99999/respond", data=FORM).status_code == 404


# Another unit's work order

def test_another_unit_is_refused_every_page_and_step_of_a_work_order(app, world, as_user, dispatched):
    _, order = dispatched
    before = snapshot(order)
    engineer = as_user(world.engineer)
    statuses = {f"{method} {url}": refused(engineer, method, url, FORM)
                for method, url in urls_of(app, "workorders", "order_id", order.id)}
    assert {k: v for k, v in statuses.items() if v != 403} == {}
    assert snapshot(order) == before
    assert "清理楼道" not in text(engineer.get("/workorders")) and "清理楼道" not in text(engineer.get("/"))
    assert as_user(world.cleaner).get(f"/workorders/{order.id}").status_code == 200


def test_another_zones_assistant_is_refused_a_work_order(app, world, as_user, dispatched):
    _, order = dispatched
    before = snapshot(order)
    client = as_user(world.assistant2)
    statuses = {f"{method} {url}": refused(client, method, url, FORM)
                for method, url in urls_of(app, "workorders", "order_id", order.id)}
    assert {k: v for k, v in statuses.items() if v != 403} == {}
    assert snapshot(order) == before
    assert "清理楼道" not in text(client.get("/workorders"))


# Photos

def test_a_photo_is_served_only_to_those_who_may_see_its_record(app, world, as_user):
    ticket_photo = photo_of(app, world.assistant)
    ticket = intake(world, category="保洁", description="楼道有垃圾", photos=[ticket_photo])
    ticket, order = tickets.dispatch(world.assistant, ticket, ticket.version, world.cleaning, "清理楼道",
                                     clock.now() + datetime.timedelta(hours=4))
    order_photo = photo_of(app, world.cleaner)
    workorders.accept(world.cleaner, order, order.version)
    order = WorkOrder.get_by_id(order.id)
    workorders.report_done(world.cleaner, order, order.version, "已清理", photos=[order_photo])
    expected = {
        world.assistant: (200, 200), world.supervisor: (200, 200), world.cleaner: (200, 200),
        world.assistant2: (200, 200),  # another zone: reads the request, and so the order's photos
        world.engineer: (403, 403),  # another unit
        world.frontdesk: (200, 200),  # reads the request the order came from, and so the order's photos
    }
    seen = {}
    for user in expected:
        client = as_user(user)
        for size in ("full", "thumb"):
            seen[user, size] = tuple(refused(client, "GET", f"/photos/{photo.id}/{size}")
                                     for photo in (ticket_photo, order_photo))
    assert seen == {(user, size): statuses for user, statuses in expected.items() for size in ("full", "thumb")}
    assert as_user(world.assistant).get("/photos/99999/full").status_code == 404


def test_a_photo_of_another_zones_request_is_not_shown_in_any_page_it_can_open(app, world, as_user):
    photo = photo_of(app, world.assistant)
    intake(world, description="外墙渗水", photos=[photo])
    client = as_user(world.assistant2)
    for page in ("/", "/tickets", "/workorders"):
        assert f"/photos/{photo.id}/" not in html(client.get(page)), page


# Another assistant's evaluation, work record and monthly summary

def sign(supervisor, evaluation, score=88):
    """Score every item and sign the evaluation off."""
    scores = {item.id: (score, "") for item in evaluations.EvaluationItem.ordered()}
    evaluation = evaluations.save_scores(supervisor, evaluation, evaluation.version, scores, "继续保持")
    return evaluations.sign_off(supervisor, evaluation, evaluation.version)


def test_another_assistants_evaluation_is_refused(world, as_user):
    evaluations.set_start(world.supervisor, world.assistant, datetime.date(2026, 9, 1))
    evaluation = evaluations.open_evaluation(world.supervisor, world.assistant, datetime.date(2026, 10, 1))
    before = snapshot(evaluation)
    other = as_user(world.assistant2)
    for method, url, data in [
        ("GET", f"/evaluations/{evaluation.id}", None),
        ("POST", f"/evaluations/{evaluation.id}", {"version": "1", "comment": "越权", "sign": "1"}),
        ("GET", f"/evaluations/{evaluation.id}.pdf", None),
        ("POST", f"/evaluations/{evaluation.id}/comment", {"assistant_comment": "越权"}),
        ("POST", f"/evaluations/{evaluation.id}/ask", {"reviewer": str(world.engineer.id)}),
        ("GET", f"/evaluations/staff/{world.assistant.id}", None),
    ]:
        assert refused(other, method, url, data) == 403, url
    assert snapshot(evaluation) == before
    assert "张助理" not in text(other.get("/evaluations"))
    sign(world.supervisor, evaluation)
    assert as_user(world.assistant).get(f"/evaluations/{evaluation.id}").status_code == 200


def test_another_assistants_work_record_is_refused(world, as_user):
    worklog.add_note(world.assistant, datetime.date(2026, 11, 27), "与工程部沟通漏水方案")
    page = f"/worklog/{world.assistant.id}/2026-11-27"
    other = as_user(world.assistant2)
    for method, url in [("GET", page), ("GET", f"{page}.pdf"), ("GET", f"{page}.pdf?week=1"),
                        ("GET", f"/worklog/{world.assistant.id}/2026-11-26"), ("POST", page)]:
        assert refused(other, method, url, {"text": "越权记录"}) == 403, url
    assert "与工程部沟通漏水方案" not in text(other.get(f"/worklog/{world.assistant2.id}/2026-11-27"))
    shown = text(as_user(world.assistant).get(page))
    assert "与工程部沟通漏水方案" in shown and "越权记录" not in shown
    assert refused(other, "GET", "/worklog/99999/2026-11-27") == 404


def test_another_assistants_monthly_summary_is_refused(world, as_user):
    page = f"/summaries/{world.assistant.id}/2026-11"
    other = as_user(world.assistant2)
    for method, url, data in [
        ("GET", page, None), ("GET", f"{page}.pdf", None),
        ("POST", page, {"version": "1", "summary": "越权", "solutions": "越权", "submit": "1"}),
        ("POST", page, {"version": "1", "comment": "越权", "sign": "1"}),
    ]:
        assert refused(other, method, url, data) == 403, url
    assert MonthlySummary.select().where(MonthlySummary.user == world.assistant.id).count() == 0
    assert "张助理" not in text(other.get("/summaries"))
    assert as_user(world.assistant).get(page).status_code == 200


# Phone numbers

def test_a_business_unit_never_gets_a_households_phone_numbers(world, as_user, dispatched):
    _, order = dispatched
    estate.add_resident(None, world.home, "王建国", RESIDENT_PHONE, "业主")
    cleaner = as_user(world.cleaner)
    for method, url in [
        ("GET", f"/customers/households/{world.home.id}"),
        ("GET", f"/customers/households/{world.home.id}/residents"),
        ("POST", f"/customers/households/{world.home.id}/residents"),
        ("GET", "/tickets/residents?household=1-1-101"),
        ("GET", "/admin/households/lookup?q=1-1-101"),
        ("GET", f"/admin/buildings/{world.b1.id}/roster"),
        ("GET", f"/admin/households/{world.home.id}"),
    ]:
        assert refused(cleaner, method, url, {"name": "张三", "phone": "13700000000", "relation": "业主"}) == 403, url
    for page in ("/", "/workorders", f"/workorders/{order.id}", "/me"):
        assert RESIDENT_PHONE not in html(cleaner.get(page)), page
    # The caller's number is on the order: the unit rings to arrange the visit.
    assert CALLER_PHONE in html(cleaner.get(f"/workorders/{order.id}"))


def test_another_zones_assistant_gets_masked_numbers_in_the_intake_picker(world, as_user):
    estate.add_resident(None, world.home, "王建国", RESIDENT_PHONE, "业主")
    resident = estate.Resident.get()
    other = as_user(world.assistant2)
    picker = html(other.get("/tickets/residents?household=1-1-101"))
    assert "王建国（业主）139****5678" in picker and RESIDENT_PHONE not in picker
    # Picking the resident still records the number on the request, without showing it.
    made = other.post("/tickets/new", data={
        "channel": "电话", "category": "工程维修", "tier": str(world.normal.id), "household": "1-1-101",
        "place": "0", "zone": "0", "customer_name": "", "customer_phone": "", "resident": str(resident.id),
        "description": "厨房水管漏水", "token": "t-1"})
    assert made.status_code == 303
    assert Ticket.get().customer_phone == RESIDENT_PHONE
    for user in (world.assistant, world.frontdesk, world.supervisor):
        assert f"王建国（业主）{RESIDENT_PHONE}" in html(as_user(user).get("/tickets/residents?household=1-1-101"))


# The session

def cookie_of(client):
    cookie = client.get_cookie("session")
    return cookie and cookie.value


def with_cookie(app, value):
    """A second browser holding a copy of a session cookie."""
    copy = app.test_client()
    copy.set_cookie("session", value)
    return copy


def signed_in(client):
    return client.get("/me").status_code == 200


def sign_in(client, user, password=PASSWORD):
    return client.post("/login", data={"username": user.username, "password": password})


def test_signing_in_starts_a_new_session(app, client, world):
    client.get("/login")
    client.post("/login", data={"username": world.assistant.username, "password": "wrong-password1"})
    before = cookie_of(client)
    assert before  # a session exists before signing in (the flash and the CSRF token live there)
    assert sign_in(client, world.assistant).status_code == 303
    after = cookie_of(client)
    assert after and after != before
    assert signed_in(client)
    assert not signed_in(with_cookie(app, before))  # the cookie from before the sign-in stays signed out
    assert signed_in(with_cookie(app, after))


def test_signing_in_again_starts_another_session(app, client, world):
    sign_in(client, world.assistant)
    first = cookie_of(client)
    client.post("/logout")
    sign_in(client, world.assistant)
    assert cookie_of(client) != first
    assert not signed_in(with_cookie(app, first))


def test_a_cookie_copied_before_signing_out_no_longer_signs_in(app, client, world):
    sign_in(client, world.assistant)
    copied = cookie_of(client)
    assert signed_in(with_cookie(app, copied))
    response = client.post("/logout")
    assert response.status_code == 303 and response.location == "/login"
    assert not signed_in(client)
    stolen = with_cookie(app, copied)
    gone = stolen.get("/tickets")
    assert gone.status_code == 302 and gone.location.startswith("/login")
    assert stolen.post("/tickets/new", data={"description": "x"}).status_code == 302


def test_signing_out_leaves_my_other_devices_signed_in(app, client, world):
    phone = app.test_client()
    sign_in(phone, world.assistant)
    sign_in(client, world.assistant)
    client.post("/logout")
    assert signed_in(phone)


def test_a_password_change_signs_out_my_other_sessions_and_their_copies(app, client, world):
    phone = app.test_client()
    sign_in(phone, world.assistant)
    phone_cookie = cookie_of(phone)
    sign_in(client, world.assistant)
    desk_cookie = cookie_of(client)
    response = client.post("/me/password", data={"current": PASSWORD, "password": "fresh2026x",
                                                 "confirm": "fresh2026x"})
    assert response.status_code == 303
    assert signed_in(client)
    assert not signed_in(phone) and not signed_in(with_cookie(app, phone_cookie))
    assert not signed_in(with_cookie(app, desk_cookie))  # the old cookie of this browser too
    assert signed_in(with_cookie(app, cookie_of(client)))


def test_disabling_a_user_sends_every_session_of_theirs_to_sign_in(app, client, world):
    phone, desk = app.test_client(), app.test_client()
    sign_in(phone, world.assistant)
    sign_in(desk, world.assistant)
    admin = users.create_user(None, "admin", "管理员", "admin", PASSWORD)
    sign_in(client, admin)
    assistant = users.User.get_by_id(world.assistant.id)
    response = client.post(f"/admin/users/{assistant.id}", data={
        "version": assistant.version, "display_name": assistant.display_name, "role": "assistant",
        "unit": 0, "phone": ""})  # 账号启用 left unticked
    assert response.status_code == 303
    for device in (phone, desk):
        page = device.get("/tickets")
        assert page.status_code == 302 and page.location == "/login?next=/tickets"
        partial = device.get("/tickets", headers={"HX-Request": "true"})
        assert partial.status_code == 401 and partial.headers["HX-Redirect"].startswith("/login")
    # Enabled again, the old sessions stay ended: signing in is needed.
    assistant = users.User.get_by_id(assistant.id)
    client.post(f"/admin/users/{assistant.id}", data={
        "version": assistant.version, "display_name": assistant.display_name, "role": "assistant",
        "unit": 0, "phone": "", "active": "y"})
    assert users.User.get_by_id(assistant.id).active
    assert not signed_in(phone)
    assert sign_in(phone, world.assistant).status_code == 303 and signed_in(phone)


@pytest.mark.parametrize("value", ["", "1", "1:1", "abc:1:key", "1:x:key", "1:1:", "1:1:nokey", "1:1:a:b"])
def test_a_forged_session_id_signs_nobody_in(app, world, value):
    forged = app.test_client()
    with forged.session_transaction() as session:
        session["_user_id"] = value
    assert not signed_in(forged)


def test_another_users_sign_in_key_does_not_sign_in_as_me(app, client, world):
    sign_in(client, world.assistant2)
    with client.session_transaction() as session:
        _, version, key = session["_user_id"].split(":")
        session["_user_id"] = f"{world.assistant.id}:{version}:{key}"
    assert not signed_in(client)


# One's own evaluation before it is signed off

def test_an_assistant_cannot_open_their_own_evaluation_until_it_is_signed_off(world, as_user):
    evaluations.set_start(world.supervisor, world.assistant, datetime.date(2026, 9, 1))
    evaluation = evaluations.open_evaluation(world.supervisor, world.assistant, datetime.date(2026, 10, 1))
    item = evaluations.EvaluationItem.ordered().first()
    evaluation = evaluations.save_scores(world.supervisor, evaluation, evaluation.version,
                                         {item.id: (55, "待观察")}, "草稿评语")
    own = as_user(world.assistant)
    for method, url in [("GET", f"/evaluations/{evaluation.id}"), ("GET", f"/evaluations/{evaluation.id}.pdf"),
                        ("POST", f"/evaluations/{evaluation.id}/comment")]:
        assert refused(own, method, url, {"assistant_comment": "提前看到"}) == 403, url
    assert "草稿评语" not in text(own.get("/evaluations"))
    sign(world.supervisor, evaluations.Evaluation.get_by_id(evaluation.id))
    page = own.get(f"/evaluations/{evaluation.id}")
    assert page.status_code == 200 and "继续保持" in text(page)
    assert f"/evaluations/{evaluation.id}" in html(own.get("/evaluations"))


# A household of another zone: its history read, its profile not changed

def household_history(world):
    """A request, a need and a visit with an opinion at 1-1-101 (一区)."""
    ticket = intake(world, description="阳台推拉门关不严", customer_phone=CALLER_PHONE)
    visit, _ = customers.record_visit(world.assistant, at=clock.now() - datetime.timedelta(hours=2), form="上门",
                                      households=[world.home], opinions=[("建议", "希望增加儿童游乐设施", None)])
    need, _ = customers.record_need(world.assistant, world.home, "每周上门保洁", "personal", "家政保洁", "拜访")
    return ticket, visit, need


def test_another_zones_assistant_cannot_change_a_households_profile_or_residents(world, as_user):
    home = world.home
    profile_before = snapshot(customers.profile_of(home)) if customers.profile_of(home).id else None
    other = as_user(world.assistant2)
    form = {"version": "0", "moved_in_on": "2020-01-01", "contact_time": "越权", "tags": "越权", "note": "越权"}
    assert refused(other, "POST", f"/customers/households/{home.id}/profile", form) == 403
    assert refused(other, "GET", f"/customers/households/{home.id}/profile") == 403
    assert refused(other, "POST", f"/customers/households/{home.id}/residents",
                   {"name": "越权", "phone": "13700000000", "relation": "业主"}) == 403
    assert customers.profile_of(home).contact_time != "越权"
    assert (snapshot(customers.profile_of(home)) if customers.profile_of(home).id else None) == profile_before
    assert estate.Resident.select().where(estate.Resident.name == "越权").count() == 0
    # The household page offers them neither.
    page = html(other.get(f"/customers/households/{home.id}"))
    assert f"/customers/households/{home.id}/profile" not in page
    assert f"/customers/households/{home.id}/residents" not in page
    # The zone's own assistant changes it.
    own = as_user(world.assistant)
    assert own.post(f"/customers/households/{home.id}/profile", data={**form, "contact_time": "晚上 7 点后"}
                    ).status_code == 303
    assert customers.profile_of(home).contact_time == "晚上 7 点后"


def test_another_zones_assistant_reads_a_households_history_the_same_on_every_page(world, as_user):
    ticket, visit, need = household_history(world)
    other = as_user(world.assistant2)
    page = other.get(f"/customers/households/{world.home.id}")
    shown = text(page)
    assert "阳台推拉门关不严" in shown and "每周上门保洁" in shown and "希望增加儿童游乐设施" in shown
    # Every one of them opens from the household page, read only.
    for url, words in [(f"/tickets/{ticket.id}", "阳台推拉门关不严"), (f"/needs/{need.id}", "每周上门保洁"),
                       (f"/visits/{visit.id}", "希望增加儿童游乐设施")]:
        assert url in html(page), url
        opened = other.get(url)
        assert opened.status_code == 200 and words in text(opened), url
    assert "答复客户" not in text(other.get(f"/needs/{need.id}"))
    assert steps_offered(other.get(f"/tickets/{ticket.id}"), ticket) == set()
    # … and never changed.
    before = snapshot(need), snapshot(ticket)
    assert refused(other, "POST", f"/needs/{need.id}", {"version": str(need.version), "outcome": "provide"}) == 403
    assert refused(other, "POST", f"/tickets/{ticket.id}/respond", FORM) == 403
    assert (snapshot(need), snapshot(ticket)) == before


# Links only to what the reader may open

def test_the_front_desk_sees_a_requests_work_orders_and_a_households_visits_without_links_it_cannot_open(
        world, as_user, dispatched):
    ticket, order = dispatched
    _, visit, _ = household_history(world)
    desk = as_user(world.frontdesk)
    page = desk.get(f"/tickets/{ticket.id}")
    assert "清理楼道" in text(page) and f"/workorders/{order.id}" not in html(page)
    assert desk.get(f"/workorders/{order.id}").status_code == 403
    home = desk.get(f"/customers/households/{world.home.id}")
    assert "希望增加儿童游乐设施" in text(home) and f"/visits/{visit.id}" not in html(home)
    assert desk.get(f"/visits/{visit.id}").status_code == 403
    # Those who may open them get the links.
    assert f"/workorders/{order.id}" in html(as_user(world.assistant).get(f"/tickets/{ticket.id}"))
    assert f"/visits/{visit.id}" in html(as_user(world.assistant).get(f"/customers/households/{world.home.id}"))


def test_the_administrator_reads_a_finding_without_links_to_the_board_or_its_work_order(world, as_user):
    admin = users.create_user(None, "admin", "管理员", "admin", PASSWORD)
    checklist = patrols.Checklist.get(patrols.Checklist.code == "facility")
    checkpoint = patrols.create_checkpoint(admin, kind="public", name="1号楼地库", zone=world.zone,
                                           checklist=checklist, unit=world.cleaning)
    answers = {item.id: ("ok", "") for item in checklist.live_items()}
    answers[next(iter(answers))] = ("fail", "地面积水")
    check, _ = patrols.record_check(world.assistant, checkpoint, "list", answers)
    finding = check.findings.get()
    finding, order = patrols.raise_order(world.assistant, finding, finding.version, world.cleaning, "清理积水",
                                         clock.now() + datetime.timedelta(hours=4))
    client = as_user(admin)
    page = client.get(f"/patrols/findings/{finding.id}")
    assert page.status_code == 200 and "清理积水" in text(page)
    assert f"/workorders/{order.id}" not in html(page) and 'href="/patrols"' not in html(page)
    assert client.get(f"/workorders/{order.id}").status_code == 403 and client.get("/patrols").status_code == 403
    assert f'href="/patrols/checkpoints/{checkpoint.id}"' in html(page)  # 返回 goes where they may go
    assert f"/workorders/{order.id}" in html(as_user(world.assistant).get(f"/patrols/findings/{finding.id}"))
