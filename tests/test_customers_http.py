"""Customer pages over HTTP: the household's story with phone numbers masked for those who don't
call residents (in the HTML, not only on screen), the visit page with its window tag and opinions
kept on a refusal, an opinion turned into a request and a need, and answering a need."""
import re

import pytest

from conftest import field_errors
from conftest import html
from conftest import text
from kefu import customers
from kefu import estate
from kefu.customers import Need
from kefu.customers import Opinion
from kefu.customers import Visit
from kefu.tickets import Ticket
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

PHONE = "13812341234"


def test_phone_numbers_reach_only_those_who_call_residents(world, as_user):
    estate.add_resident(None, world.home, "王建国", PHONE, "业主")
    estate.add_resident(None, world.home, "王家电话", "021-58880000", "家属")
    page = f"/customers/households/{world.home.id}"
    for user in (world.assistant, world.supervisor, world.frontdesk):
        body = html(as_user(user).get(page))
        assert f'href="tel:{PHONE}"' in body and "021-58880000" in body, user.username
    other_zone = html(as_user(world.assistant2).get(page))
    assert PHONE not in other_zone and "58880000" not in other_zone
    assert "138****1234" in other_zone and "021-****0000" in other_zone


def test_a_morning_visit_with_two_opinions_is_tagged_and_kept(world, as_user, traveller):
    traveller.move_to(sh(11, 27, 7, 30))
    client = as_user(world.assistant)
    page = client.get(f"/visits/new?household={world.home.code}")
    assert 'value="1-1-101"' in html(page) and "早间" in text(page) and "在建议拜访时段内" in text(page)
    data = {"households": "1-1-101 1-1-999", "at": "2026-11-27T07:30", "visit_form": "上门", "token": "v-1",
            "kind-1": "意见", "text-1": "楼道灯晚上不亮", "kind-2": "服务需求", "text-2": "想请人每周上门打扫一次",
            "kind-3": "意见", "text-3": ""}
    wrong = client.post("/visits/new", data=data)
    assert wrong.status_code == 422 and "没有房号“1-1-999”" in " ".join(field_errors(wrong, "households"))
    assert "楼道灯晚上不亮" in html(wrong) and "想请人每周上门打扫一次" in html(wrong)
    assert Visit.select().count() == 0
    made = client.post("/visits/new", data=dict(data, households="1-1-101"))
    visit = Visit.get()
    assert made.location == f"/visits/{visit.id}" and visit.window_list == ["早间"]
    again = client.post("/visits/new", data=dict(data, households="1-1-101"))
    assert again.location == f"/visits/{visit.id}" and Visit.select().count() == 1
    shown = text(client.get(f"/visits/{visit.id}"))
    assert "早间" in shown and "楼道灯晚上不亮" in shown and "转为诉求" in shown and "记为需求" in shown
    assert "楼道灯晚上不亮" in text(client.get(f"/customers/households/{world.home.id}"))


def test_a_visit_outside_the_windows_says_so(world, as_user, traveller):
    traveller.move_to(sh(11, 27, 10, 0))  # a Friday morning after 9
    client = as_user(world.assistant)
    assert "不在建议时段" in text(client.get("/visits/window?at=2026-11-27T10:00"))
    assert "早间" in text(client.get("/visits/window?at=2026-11-27T07:45"))
    assert "双休日" in text(client.get("/visits/window?at=2026-11-28T10:00"))
    assert "不在建议时段" in text(client.get("/visits/window?at=2026-02-14T10:00"))  # 调休: a working Saturday
    assert "不在建议时段" in text(client.get("/visits/window?at=nonsense"))


def test_nothing_said_is_refused_beside_the_opinions(world, as_user):
    client = as_user(world.assistant)
    refused = client.post("/visits/new", data={"households": "1-1-101", "at": "2026-11-27T09:50", "visit_form": "偶遇",
                                               "token": "v-2"})
    assert refused.status_code == 422 and field_errors(refused, "opinions") == ["请记下住户说了什么（意见或其他情况）"]


def visit_with(world, *opinions):
    visit, _ = customers.record_visit(world.assistant, at=sh(11, 27, 7, 40), form="上门", households=[world.home],
                                      opinions=[(kind, words, None) for kind, words in opinions])
    return visit, list(visit.opinions.order_by(Opinion.position))


def test_an_opinion_becomes_a_request_linked_both_ways(world, as_user):
    visit, (lamp, _cleaning) = visit_with(world, ("意见", "楼道灯晚上不亮"), ("服务需求", "每周上门打扫"))
    client = as_user(world.assistant)
    form = client.get(f"/tickets/new?from=opinion-{lamp.id}")
    assert "楼道灯晚上不亮" in html(form) and 'value="1-1-101"' in html(form) and "来自" in text(form)
    assert re.search(r'<option selected value="拜访">|<option value="拜访" selected>', html(form))
    tier = world.normal.id
    made = client.post("/tickets/new", data={"origin": f"opinion-{lamp.id}", "channel": "拜访", "category": "工程维修",
                                             "tier": str(tier), "household": "1-1-101", "place": "0", "zone": "0",
                                             "resident": "0", "description": "楼道灯晚上不亮", "token": "t-1"})
    ticket = Ticket.get()
    assert made.location == f"/tickets/{ticket.id}"
    assert Opinion.get_by_id(lamp.id).ticket_id == ticket.id
    assert f"诉求 {ticket.number}" in text(client.get(f"/visits/{visit.id}"))
    assert "来自拜访" in text(client.get(f"/tickets/{ticket.id}"))


def test_an_opinion_becomes_a_need_answered_with_a_reason_and_the_customers_reaction(world, as_user):
    visit, (_lamp, cleaning) = visit_with(world, ("意见", "楼道灯晚上不亮"), ("服务需求", "每周上门打扫"))
    client = as_user(world.assistant)
    form = client.get(f"/needs/new?opinion={cleaning.id}")
    assert "每周上门打扫" in html(form) and 'value="1-1-101"' in html(form)
    missing = client.post(f"/needs/new?opinion={cleaning.id}", data={
        "household": "1-1-101", "what": "每周上门打扫", "kind": "personal", "topic": "", "source": "拜访", "token": "n"})
    assert missing.status_code == 422 and field_errors(missing, "topic")
    made = client.post(f"/needs/new?opinion={cleaning.id}", data={
        "household": "1-1-101", "what": "每周上门打扫", "kind": "personal", "topic": "家政保洁", "source": "拜访",
        "token": "n"})
    need = Need.get()
    assert made.location == f"/needs/{need.id}" and Opinion.get_by_id(cleaning.id).need_id == need.id
    half = client.post(f"/needs/{need.id}", data={"version": "1", "outcome": "decline", "reason": "暂无保洁人手"})
    assert half.status_code == 422 and field_errors(half, "reaction")
    assert 'value="decline" checked' in html(half) or 'checked value="decline"' in html(half) or \
        re.search(r'value="decline"[^>]*checked|checked[^>]*value="decline"', html(half))
    client.post(f"/needs/{need.id}", data={"version": "1", "outcome": "decline", "reason": "暂无保洁人手",
                                           "reaction": "已安抚，客户表示理解"})
    page = text(client.get(f"/needs/{need.id}"))
    assert "不能提供" in page and "已安抚，客户表示理解" in page and "答复客户" not in page
    assert "需求：不能提供" in text(client.get(f"/visits/{visit.id}"))


def test_the_planner_lists_who_to_visit(world, as_user):
    customers.update_profile(world.assistant, world.neighbour, 0, tags=["独居老人"])
    customers.record_need(world.assistant, world.home, "想找人代购药品", "latent", "代购代办", "拜访")
    page = text(as_user(world.assistant).get("/visits"))
    assert "有未答复的需求 1-1-101 想找人代购药品" in page
    stale = page.split("周以上未拜访")[1]
    assert stale.index("1-1-201") < stale.index("1-1-102")  # tagged households first
    assert "2-1-101" not in page  # another zone's


def test_the_assistant_registers_a_resident_met_on_a_visit_once(world, as_user):
    client = as_user(world.assistant)
    data = {"name": "李阿姨", "phone": "1381234", "relation": "家属", "note": "行动不便"}
    wrong = client.post(f"/customers/households/{world.home.id}/residents", data=data)
    assert wrong.status_code == 422 and "11 位手机号" in " ".join(field_errors(wrong, "phone"))
    assert 'value="李阿姨"' in html(wrong)
    client.post(f"/customers/households/{world.home.id}/residents", data=dict(data, phone="13912345678"))
    twice = client.post(f"/customers/households/{world.home.id}/residents", data=dict(data, phone="13912345678"))
    assert twice.status_code == 422 and estate.Resident.of(world.home).count() == 1
    assert "李阿姨" in text(client.get(f"/customers/households/{world.home.id}"))
    assert as_user(world.assistant2).get(f"/customers/households/{world.home.id}/residents").status_code == 403


def test_the_administrator_moves_the_evening_window_and_visits_follow(world, as_user):
    from kefu import users
    admin = users.create_user(None, "admin", "管理员", "admin", "secret123")
    client = as_user(admin)
    data = {"version": "0", "morning_start": "07:00", "morning_end": "09:00", "evening_start": "19:00",
            "evening_end": "18:00", "weekends": "y", "holidays": "y", "stale_weeks": "8"}
    refused = client.post("/admin/visit-rules", data=data)
    assert refused.status_code == 422 and field_errors(refused, "evening_end") == ["结束时间须晚于开始时间"]
    version = str(customers.VisitRules.current().version)
    client.post("/admin/visit-rules", data=dict(data, version=version, evening_end="20:00"))
    assert customers.VisitRules.current().windows(sh(11, 27, 19, 30)) == ["晚间"]
    assert "修改拜访时段" in text(client.get("/admin/visit-rules"))


def test_a_request_is_recorded_as_a_need_of_its_household(world, as_user):
    from test_tickets import intake
    ticket = intake(world, description="家里老人行动不便，希望有人定期上门看看")
    client = as_user(world.assistant)
    assert f'href="/needs/new?ticket={ticket.id}"' in html(client.get(f"/tickets/{ticket.id}"))
    form = client.get(f"/needs/new?ticket={ticket.id}")
    assert 'value="1-1-101"' in html(form) and "希望有人定期上门看看" in html(form) and "来自诉求" in text(form)
    client.post(f"/needs/new?ticket={ticket.id}", data={"household": "1-1-101", "what": "定期上门看望老人",
                                                        "kind": "latent", "topic": "健康关怀", "source": "诉求",
                                                        "token": "n-t"})
    need = Need.get()
    assert need.ticket_id == ticket.id and need.kind == "latent"
    assert "来自诉求" in text(client.get(f"/needs/{need.id}"))


def test_latent_needs_show_as_patterns_on_the_needs_page(world, as_user):
    for code in ("1-1-101", "1-1-102", "1-1-201"):
        household = estate.Household.get(estate.Household.code == code)
        customers.update_profile(world.assistant, household, 0, tags=["独居老人"])
        customers.record_need(world.assistant, household, "希望有人代买菜", "latent", "代购代办", "拜访")
    page = text(as_user(world.assistant).get("/needs"))
    assert "代购代办 ：3 户（其中独居老人 3 户）" in page  # (the tag around the topic leaves a space)
    assert "2-1-101" not in page


HOUSEHOLD_PAGES = [("assistant", "/tickets/new", "household"), ("frontdesk", "/tickets/new", "household"),
                   ("assistant", "/needs/new", "household"), ("assistant", "/services/new", "household"),
                   ("assistant", "/renovations/new", "household"), ("assistant", "/visits/new", "households"),
                   ("frontdesk", "/", "q"), ("assistant", "/customers", "q")]


@pytest.mark.parametrize("who, path, name", HOUSEHOLD_PAGES)
def test_the_room_field_opens_a_keyboard_with_the_separators_and_says_which_work(world, as_user, who, path, name):
    """A number pad (decimal, numeric, tel) has no "-" nor space on an iPhone: the room field opens
    the text keyboard, whose number layer has both on iPhones and Android phones alike, and the
    field says which separators work."""
    page = html(as_user(getattr(world, who)).get(path))
    tag = re.search(rf'<input[^>]*\bname="{name}"[^>]*>', page).group(0)
    assert 'inputmode="text"' in tag
    if name == "households":  # several rooms, one space between them
        assert "栋、单元、室之间用“-”或“.”隔开，多户用空格隔开" in page
    elif name == "q":
        assert "3-2-1502、3 2 1502 或 3.2.1502" in tag
    else:
        assert "栋、单元、室之间用“-”、空格或“.”隔开" in text(as_user(getattr(world, who)).get(path))


@pytest.mark.parametrize("typed", ["3-2-1502", "3 2 1502", "3.2.1502", " 3 - 2 - 1502 "])
def test_every_separator_the_hint_names_finds_the_room(typed):
    assert estate.normalize_code(typed) == "3-2-1502"


# Field polish (issue 23, items 19–21)

def test_the_planner_says_when_and_what_the_unhappy_household_said(world, as_user, traveller):
    from kefu import tickets
    traveller.move_to(sh(11, 20, 10, 0))
    ticket, _ = tickets.create(world.assistant, channel="现场", category="工程维修", tier=world.normal,
                               description="下水道堵", household=world.home)
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "上门", "")
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "疏通了")
    tickets.record_followup(world.assistant, ticket, ticket.version, "电话", "不满意", "还是有点堵")
    traveller.move_to(sh(11, 27, 10, 0))
    page = text(as_user(world.assistant).get("/visits"))
    assert "近 30 天回访不满意 1-1-101 11-20 不满意：还是有点堵" in page


def test_a_request_and_a_need_made_from_a_visit_link_back_to_it(world, as_user):
    visit, (lamp, cleaning) = visit_with(world, ("意见", "楼道灯晚上不亮"), ("服务需求", "每周上门打扫"))
    client = as_user(world.assistant)
    form = html(client.get(f"/tickets/new?from=opinion-{lamp.id}"))
    assert f'class="back" href="/visits/{visit.id}"' in form or re.search(rf'href="/visits/{visit.id}"[^>]*>[^<]*返回', form)
    client.post("/tickets/new", data={"origin": f"opinion-{lamp.id}", "channel": "拜访", "category": "工程维修",
                                      "tier": str(world.normal.id), "household": "1-1-101", "place": "0", "zone": "0",
                                      "resident": "0", "description": "楼道灯晚上不亮", "token": "t-1"})
    ticket = Ticket.get()
    assert re.search(rf'href="/visits/{visit.id}"[^>]*>来自拜访', html(client.get(f"/tickets/{ticket.id}")))
    client.post(f"/needs/new?opinion={cleaning.id}", data={
        "household": "1-1-101", "what": "每周上门打扫", "kind": "personal", "topic": "家政保洁", "source": "拜访",
        "token": "n"})
    need = Need.get()
    assert re.search(rf'href="/visits/{visit.id}"[^>]*>来自拜访', html(client.get(f"/needs/{need.id}")))
    # The visit page isn't kept in the browser's history cache: going back shows what it became.
    visit_page = html(client.get(f"/visits/{visit.id}"))
    assert 'hx-history="false"' in visit_page and f"诉求 {ticket.number}" in text(client.get(f"/visits/{visit.id}"))


def test_the_household_shows_a_visit_at_its_time_and_the_services_call_backs(world, as_user, traveller):
    from kefu import services
    from kefu import workorders
    traveller.move_to(sh(11, 27, 10, 0))
    customers.record_visit(world.assistant, at=sh(11, 27, 7, 40), form="上门", households=[world.home],
                           opinions=[("表扬", "保安很负责", None)])
    item = services.save_item(world.supervisor, name="家电清洗", unit=world.cleaning, charged=False)
    order, _ = services.create_order(world.assistant, world.home, item, "洗空调", charged=False,
                                     agreed_at=sh(11, 27, 11, 0))
    order = services.dispatch(world.assistant, order, order.version)
    work = workorders.WorkOrder.get()
    work = workorders.accept(world.cleaner, work, work.version)
    work = workorders.report_done(world.cleaner, work, work.version, "洗好了")
    workorders.inspect(world.assistant, work, work.version, True)
    order = services.ServiceOrder.get_by_id(order.id)
    services.call_back(world.assistant, order, order.version, "电话", "满意", "洗得很干净")
    page = text(as_user(world.assistant).get(f"/customers/households/{world.home.id}"))
    timeline = page.split("时间线")[1]
    assert re.search(r"拜访 上门.*拜访于 2026-11-27 07:40", timeline)
    assert "个性化服务回访 满意" in timeline and "家电清洗：洗得很干净" in timeline
