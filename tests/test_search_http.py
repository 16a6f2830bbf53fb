"""Search and 举一反三 over HTTP, per role: the intake panel above 受理, the list's search across
every state with its counts and its zone limit said, the synonyms under 设置, pinyin in the pickers."""
import re

import pytest

from conftest import PASSWORD
from conftest import html
from conftest import text
from kefu import estate
from kefu import tickets
from kefu import users
from kefu import words
from kefu.tickets import Ticket
from test_tickets import intake
from test_tickets import traveller  # noqa: F401  (fixture)
from test_tickets import world  # noqa: F401  (fixture)


@pytest.fixture
def admin(world):
    return users.create_user(None, "admin", "管理员", "admin", PASSWORD)


@pytest.fixture
def garage(world):
    return estate.Place.create(name="地下车库 B1", kind="地库")


def test_the_similar_panel_sits_above_the_intake_button_and_waits_for_the_typing(world, as_user):
    page = html(as_user(world.frontdesk).get("/tickets/new"))
    panel = page.index('id="similar"')
    button = re.search(r'<button[^>]*type="submit"[^>]*>\s*受理', page).start()
    assert panel < button
    section = re.search(r'<section id="similar"[^>]*>', page).group(0)
    assert 'hx-trigger="' in section and "delay:" in section and 'hx-sync="this:queue last"' in section
    assert "from:#place" in section and "from:#description" in section


def test_the_front_desk_sees_the_same_place_and_the_leaks_while_typing(world, as_user, garage, traveller):
    import datetime

    b1 = intake(world, household=None, place=garage, zone=world.zone, description="顶板渗水，车上都是水渍")
    tickets.resolve_on_the_spot(world.assistant, b1, b1.version, "疏通了顶板排水")
    leak = intake(world, world.assistant2, household=world.home2, description="厨房水管接口漏水")
    intake(world, household=world.home2, category="绿化", description="草坪需要修剪")
    traveller.shift(datetime.timedelta(days=3))
    client = as_user(world.frontdesk)
    page = text(client.get(f"/tickets/similar?place={garage.id}&category=工程维修&description=地库B区漏水",
                           headers={"HX-Request": "true"}))
    assert "同一位置" in page and "3 天前" in page and "疏通了顶板排水" in page
    assert "厨房水管接口漏水" in page and "草坪需要修剪" not in page
    assert page.index("顶板渗水") < page.index("厨房水管接口漏水")
    assert "重复诉求" in page
    # 张助理 of 一区 sees 二区's leak too, read-only: no link to a page they may not open.
    panel = html(as_user(world.assistant).get(
        f"/tickets/similar?place={garage.id}&category=工程维修&description=地库B区漏水", headers={"HX-Request": "true"}))
    assert f'href="/tickets/{leak.id}"' not in panel and "二区 · 只读" in text_of(panel)
    assert f'href="/tickets/{b1.id}"' in panel


def text_of(page):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_the_ticket_page_panel_gives_reasons_and_the_case_analysis(world, as_user):
    old = intake(world, description="卫生间水管漏水，楼下天花板滴水")
    old = tickets.resolve_on_the_spot(world.assistant, old, old.version, "更换了水管接头")
    tickets.mark_case(world.assistant, old, old.version, "接头老化", "更换接头", "同批次接头排查")
    new = intake(world, description="厨房水管漏水")
    folded = text(as_user(world.assistant).get(f"/tickets/{new.id}/similar", headers={"HX-Request": "true"}))
    assert "类似诉求（举一反三）· 1 条" in folded
    assert "重复诉求 · 同一房号" in folded and "更换了水管接头" in folded
    assert "案例" in folded and "接头老化" in folded


def test_the_list_search_covers_every_state_and_counts_each(world, as_user):
    intake(world, description="电梯按钮失灵")
    for _ in range(3):
        closed = intake(world, description="电梯异响")
        Ticket.update(state="closed").where(Ticket.id == closed.id).execute()
    intake(world, description="楼道有垃圾没人清理", category="保洁")
    client = as_user(world.supervisor)
    page = text(client.get("/tickets?q=电梯"))
    assert page.count("电梯异响") == 3 and "电梯按钮失灵" in page and "楼道有垃圾" not in page
    assert "未关闭 1 · 已关闭 3" in page
    assert 'class="chip on" href="/tickets?q=%E7%94%B5%E6%A2%AF&amp;state="' in html(client.get("/tickets?q=电梯"))
    only_open = text(client.get("/tickets?q=电梯&state=open"))
    assert "电梯异响" not in only_open and "电梯按钮失灵" in only_open
    assert "电梯异响" not in text(client.get("/tickets"))  # no words: open ones, as before
    words_in_any_order = text(client.get("/tickets?q=清理 垃圾"))
    assert "楼道有垃圾没人清理" in words_in_any_order



def test_searches_of_the_same_shape_one_after_another_each_find_their_own(world, as_user):
    """The list keeps its statements per shape (one word, two words, a room number…) and runs them with
    each search's own words: the second search of a shape must not see the first one's matches."""
    intake(world, description="电梯按钮失灵")
    intake(world, description="厨房水管漏水")
    intake(world, world.assistant2, household=world.home2, description="阳台漏水")
    closed = intake(world, description="电梯异响")
    Ticket.update(state="closed").where(Ticket.id == closed.id).execute()
    client = as_user(world.assistant)
    for _ in range(2):
        lift = text(client.get("/tickets?q=电梯"))
        assert "电梯按钮失灵" in lift and "电梯异响" in lift and "漏水" not in lift
        assert "未关闭 1 · 已关闭 1" in lift and "其他区域也没有" in lift
        leak = text(client.get("/tickets?q=漏水"))
        assert "厨房水管漏水" in leak and "电梯" not in leak and "阳台漏水" not in leak
        assert "“漏水”： 未关闭 1 只搜索" in leak and "其他区域另有 1 条" in leak
        two = text(client.get("/tickets?q=水管 漏水"))
        assert "厨房水管漏水" in two and "电梯" not in two
        none = text(client.get("/tickets?q=水管 电梯"))
        assert "没有符合条件的诉求" in none
        room = world.home.code.split("-")[-1]
        by_room = text(client.get(f"/tickets?q=电梯 {room}"))
        assert "电梯按钮失灵" in by_room and "漏水" not in by_room
        assert "没有符合条件的诉求" in text(client.get("/tickets?q=电梯 99999"))
        assert "电梯按钮失灵" in text(client.get('/tickets?q="按钮失灵"'))
        assert "没有符合条件的诉求" in text(client.get('/tickets?q="按钮异响"'))
        assert "厨房水管漏水" in text(client.get("/tickets?q=漏水&page=1"))


def test_an_assistants_search_says_it_is_limited_to_their_zone_and_offers_the_rest(world, as_user):
    intake(world, world.assistant2, household=world.home2, description="阳台漏水")
    intake(world, world.assistant2, household=world.home2, description="卫生间渗水")
    client = as_user(world.assistant)
    page = text(client.get("/tickets?q=漏水"))
    assert "没有符合条件的诉求" in page
    assert "只搜索了您管辖的区域（一区）" in page and "其他区域另有 2 条" in page
    others = client.get("/tickets?q=漏水&others=1")
    assert "阳台漏水" in text(others) and "卫生间渗水" in text(others) and "只读" in text(others)
    assert not re.search(r'href="/tickets/\d+"', html(others))
    supervisor = text(as_user(world.supervisor).get("/tickets?q=漏水"))
    assert "阳台漏水" in supervisor and "只搜索了您管辖的区域" not in supervisor


# Synonyms (设置)

def test_the_administrator_edits_the_synonyms_and_search_follows(world, as_user, admin):
    intake(world, description="井盖松动，踩上去会响")
    client = as_user(admin)
    page = text(client.get("/admin/synonyms"))
    assert "漏水 渗水 滴水 返水" in page
    refused = client.post("/admin/synonyms/new", data={"words": "窨井"})
    assert refused.status_code == 422 and "请至少写两个词" in text(refused)
    assert client.post("/admin/synonyms/new", data={"words": "窨井、井盖"}).status_code == 303
    group = words.Synonym.get(words.Synonym.words == "窨井 井盖")
    assert "井盖松动" in text(as_user(world.supervisor).get("/tickets?q=窨井"))
    client = as_user(admin)
    edited = client.post(f"/admin/synonyms/{group.id}", data={"words": "窨井 井盖 下水井", "version": "1"})
    assert edited.status_code == 303 and words.Synonym.get_by_id(group.id).words == "窨井 井盖 下水井"
    stale = client.post(f"/admin/synonyms/{group.id}", data={"words": "窨井 井盖", "version": "1"})
    assert stale.status_code == 422 and "已被他人更新" in text(stale)
    voided = client.post(f"/admin/synonyms/{group.id}/void", data={"reason": "不需要了", "version": "2"})
    assert voided.status_code == 303 and words.Synonym.get_by_id(group.id).voided_at is not None
    assert "井盖松动" not in text(as_user(world.supervisor).get("/tickets?q=窨井"))


@pytest.mark.parametrize("who", ["assistant", "supervisor", "frontdesk", "engineer"])
def test_only_the_administrator_edits_synonyms(world, as_user, who):
    assert as_user(getattr(world, who)).get("/admin/synonyms").status_code == 403


# Pinyin in the pickers

def test_a_household_is_found_by_its_residents_name_in_pinyin(world, as_user):
    estate.Resident.create(household=world.neighbour, name="张三", phone="13800000000")
    estate.Resident.create(household=world.home2, name="李四", phone="13800000001")
    client = as_user(world.frontdesk)
    for typed in ("zs", "zhangsan", "ZhangSan", "张三"):
        options = html(client.get(f"/admin/households/lookup?q={typed}"))
        assert 'value="1-1-201"' in options and "张三" in options and "2-1-101" not in options, typed
    assert "1-1-201" in text(client.get("/customers?q=zs"))


def test_staff_are_found_by_pinyin_in_the_user_list(world, as_user, admin):
    page = text(as_user(admin).get("/admin/users?q=zzl"))
    assert "张助理" in page and "王助理" not in page


def test_a_state_chosen_on_a_chip_is_kept_by_the_search_box(world, as_user):
    client = as_user(world.supervisor)
    assert 'name="state"' not in html(client.get("/tickets"))
    assert '<input type="hidden" name="state" value="">' in html(client.get("/tickets?state="))
    assert '<input type="hidden" name="state" value="closed">' in html(client.get("/tickets?state=closed"))
