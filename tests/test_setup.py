"""First run without the demo: nothing written before a refusal at start; the one-time code; the first
administrator with every form error at once; the set-up steps, skippable and revisitable; several
buildings of one layout in one step, rooms padded or not, the same room either way."""
import html as html_module
import os
import re

import pytest

from conftest import FROZEN
from conftest import field_errors
from conftest import input_value
from conftest import text
from kefu import create_app
from kefu import estate
from kefu import setup
from kefu import users
from test_tickets import traveller  # noqa: F401  (fixture)
from test_tickets import world  # noqa: F401  (fixture)


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(FROZEN, tick=False)


@pytest.fixture
def empty_app(app):
    app.config["DEMO"] = False
    return app


def test_no_secret_key_refuses_before_writing_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO", "0")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE": str(instance), "DATABASE": str(instance / "k.sqlite3"), "SCHEDULER": False})
    result = app.test_cli_runner().invoke(args=["serve"])
    assert result.exit_code == 1 and "SECRET_KEY" in result.output
    assert app.test_client().get("/").status_code == 503
    assert not instance.exists()
    # The command-line tasks still open (and make) the database when asked.
    result = app.test_cli_runner().invoke(args=["create-admin", "--username", "boss", "--name", "老板",
                                                "--password", "abc12345"])
    assert result.exit_code == 0, result.output
    assert (instance / "k.sqlite3").exists()


def test_every_page_leads_to_setup_until_an_administrator_exists(empty_app, client):
    assert client.get("/").headers["Location"].endswith("/setup")
    assert client.get("/login").headers["Location"].endswith("/setup")
    page = client.get("/setup")
    assert page.status_code == 200 and "一次性设置码" in text(page)
    assert len(setup.code(empty_app.instance_path)) == 8


def test_first_admin_shows_every_error_at_once_and_keeps_the_password(empty_app, client):
    response = client.post("/setup", data={"code": "00000000", "username": "bad name", "display_name": "",
                                           "password": "short1", "confirm": "short2"})
    assert response.status_code == 422
    assert field_errors(response, "username") == ["用户名只能用字母、数字、下划线、点和横线"]
    assert field_errors(response, "display_name") == ["请填写姓名"]
    assert field_errors(response, "password") == ["密码至少 8 位"]
    assert field_errors(response, "confirm") == ["两次输入的密码不一致"]
    assert input_value(response, "password") == "short1"
    response = client.post("/setup", data={"code": "00000000", "username": "admin", "display_name": "管理员",
                                           "password": "abc12345", "confirm": "abc12345"})
    assert field_errors(response, "code") == ["设置码不对：请看启动服务的终端里打印的 8 位数字"]
    assert not users.User.select().exists()


def test_the_code_creates_the_administrator_once_then_the_steps(empty_app, client):
    code = setup.code(empty_app.instance_path)
    response = client.post("/setup", data={"code": code, "username": "boss", "display_name": "王经理",
                                           "password": "abc12345", "confirm": "abc12345"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/setup/estate")
    assert users.User.get(users.User.username == "boss").role == "admin"
    assert not os.path.exists(os.path.join(empty_app.instance_path, setup.CODE_FILE))
    assert client.get("/setup").headers["Location"].endswith("/setup/estate")

    page = client.get("/setup/estate")
    assert "1. 小区信息与服务时间" in text(page) and "跳过，下一步" in text(page)
    response = client.post("/setup/estate", data={"name": "翠湖苑", "timezone": "Asia/Shanghai",
                                                  "service_start": "08:30", "service_end": "20:00",
                                                  "service_weekdays": list("0123456"), "version": "1"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/setup/buildings")
    assert estate.Estate.current().name == "翠湖苑"

    response = client.post("/setup/buildings", data={"codes": "1-3", "name_pattern": "{n}号楼", "units": "2",
                                                     "floor_from": "1", "floor_to": "18", "rooms_per_floor": "2",
                                                     "pad": "y"})
    assert response.status_code == 303
    page = text(client.get(response.headers["Location"]))
    assert "已新建 3 栋楼、216 户" in page
    assert "跳过，下一步" not in page and "下一步" in page  # buildings made: nothing skipped
    assert [b.name for b in estate.Building.ordered()] == ["1号楼", "2号楼", "3号楼"]
    assert estate.Household.get(estate.Household.code == "2-1-0201").floor == 2
    for step in ("zones", "units", "users", "import"):
        assert client.get(f"/setup/{step}").status_code == 200
    assert "完成设置" in text(client.get("/setup/import"))


def test_setup_steps_are_for_the_administrator(client, login):
    login("assistant")
    assert client.get("/setup/estate").status_code == 403


def test_bulk_buildings_refuse_taken_codes(people):
    admin = people["admin"]
    estate.create_building(admin, "2", "2号楼")
    with pytest.raises(estate.EstateError, match="已有这些楼栋：2"):
        estate.bulk_create_buildings(admin, "1-3", "{n}号楼", 1, 1, 2, 2)
    assert estate.Building.select().count() == 1
    with pytest.raises(estate.EstateError, match="不是有效的范围"):
        estate.bulk_create_buildings(admin, "5-3", "{n}号楼", 1, 1, 2, 2)


def test_padded_and_plain_room_numbers_are_the_same_room(people):
    admin = people["admin"]
    building = estate.create_building(admin, "1", "1号楼")
    estate.bulk_create_households(admin, building, 1, 1, 3, 2)  # 1-1-101 … 1-1-302
    assert estate.find_household("1-1-0201").code == "1-1-201"
    assert estate.find_household("1栋1单元0201室").code == "1-1-201"
    assert [h.code for h in estate.Household.search("1-1-02")] == ["1-1-201", "1-1-202"]
    created, skipped = estate.bulk_create_households(admin, building, 1, 1, 4, 2, pad=True)
    assert (created, skipped) == (2, 6)  # only floor 4 is new: 0401, 0402
    assert estate.find_household("1-1-401").code == "1-1-0401"


def test_the_buildings_search_finds_households_rooms_and_residents(client, login, people):
    admin = login("admin")
    building = estate.create_building(admin, "1", "1号楼")
    estate.bulk_create_households(admin, building, 2, 17, 18, 1, pad=True)  # 1-1-1701 … 1-2-1801
    household = estate.Household.get(estate.Household.code == "1-1-1801")
    estate.add_resident(admin, household, "张建国", "13812345678", "配偶")
    by_code = text(client.get("/admin/buildings?q=1-1-1801"))
    assert "房号 1-1-1801" in by_code
    assert "房号 1-1-1801 1-2-1801" in text(client.get("/admin/buildings?q=1801"))
    assert "住户 张建国 1-1-1801 · 配偶" in text(client.get("/admin/buildings?q=张建"))
    assert "没有找到“李”" in text(client.get("/admin/buildings?q=李"))


def test_one_place_per_building_in_one_step_made_checkpoints(client, login, people):
    from kefu import patrols

    admin = login("admin")
    for code in ("1", "2", "3"):
        estate.create_building(admin, code, f"{code}号楼")
    response = client.post("/admin/places/new", data={"name": "大堂", "kind": "楼道", "building": "0",
                                                      "each_building": "y", "checkpoint": "y"})
    assert field_errors(response, "checkpoint") == [
        "1号楼 大堂 不在任何管辖区域里，不能设为巡查点：请先在“管辖区域”里划入它的楼栋"]
    assert not estate.Place.select().exists()  # all or nothing
    estate.set_zone(admin, None, 0, "一区", "", [b.id for b in estate.Building.ordered()], [])
    response = client.post("/admin/places/new", data={"name": "大堂", "kind": "楼道", "building": "0",
                                                      "each_building": "y", "checkpoint": "y"})
    assert response.status_code == 303
    assert "已新建 3 个公共部位" in text(client.get(response.headers["Location"]))
    assert [(p.name, p.building.code) for p in estate.Place.live().order_by(estate.Place.id)] == [
        ("1号楼 大堂", "1"), ("2号楼 大堂", "2"), ("3号楼 大堂", "3")]
    checkpoints = list(patrols.Checkpoint.live().order_by(patrols.Checkpoint.id))
    assert [(c.name, c.kind, c.zone.name, c.checklist.code) for c in checkpoints] == [
        (f"{n}号楼 大堂", "public", "一区", "facility") for n in (1, 2, 3)]
    page = text(client.get("/patrols/checkpoints"))
    assert "打印这些二维码贴纸（3）" in page


def test_no_checkpoints_no_sticker_link_to_a_missing_page(client, login, people):
    login("admin")
    page = text(client.get("/patrols/checkpoints"))
    assert "打印这些二维码贴纸" not in page and "没有二维码贴纸可打印" in page


def test_unit_rules_refuse_a_taken_name_and_voiding_with_staff(client, login, people, unit):
    admin = login("admin")
    with pytest.raises(estate.EstateError, match="该名称已存在"):
        estate.save_unit(admin, None, 0, "工程部", "engineering")
    response = client.post("/admin/units/new", data={"name": "工程部", "kind": "engineering"})
    assert field_errors(response, "name") == ["该名称已存在"]
    with pytest.raises(estate.EstateError, match=estate.UNIT_HAS_STAFF):
        estate.void_unit(admin, unit, "撤销")
    response = client.post(f"/admin/units/{unit.id}/void", data={"reason": "撤销"}, follow_redirects=True)
    assert estate.UNIT_HAS_STAFF in text(response)


def test_intake_takes_the_room_as_the_company_writes_it(world, as_user):
    from kefu.tickets import Ticket
    from test_tickets_http import intake_form

    client = as_user(world.frontdesk)
    response = client.post("/tickets/new", data=intake_form(world, household="1-1-0101"))
    assert response.status_code == 303
    assert Ticket.get().household.code == "1-1-101"


def test_the_room_grid_shows_households_with_residents(client, login, people):
    admin = login("admin")
    building = estate.create_building(admin, "1", "1号楼")
    estate.bulk_create_households(admin, building, 1, 1, 1, 2)
    household = estate.Household.get(estate.Household.code == "1-1-101")
    response = client.post(f"/admin/households/{household.id}/residents",
                           data={"resident-name": "张三", "resident-relation": "父母"}, follow_redirects=True)
    assert "已登记住户 张三" in text(response)
    assert '<details class="panel" open>' in response.get_data(as_text=True)  # the panel stays open for the next
    page = text(client.get(f"/admin/buildings/{building.id}"))
    assert "101 （已登记住户） 102" in page


def _link(response, label):
    """The href of the link labelled `label` on a page."""
    match = re.search(rf'<a [^>]*href="([^"]+)"[^>]*>{re.escape(label)}</a>', response.get_data(as_text=True))
    assert match, f"no link {label}"
    return html_module.unescape(match.group(1))


def test_a_zone_unit_or_account_made_from_a_setup_step_returns_to_that_step(client, login, people):
    login("admin")
    forms = [("zones", "＋ 新建管辖区域", {"name": "一区"}, "管辖区域已保存"),
             ("units", "＋ 新建业务块", {"name": "保洁部", "kind": "cleaning"}, "业务块已保存"),
             ("users", "＋ 新建人员账号", {"username": "zhuli9", "display_name": "刘洋", "role": "assistant",
                                      "unit": "0", "zone": "0", "password": "abc12345"}, "已创建用户 刘洋")]
    for step, label, data, message in forms:
        form_url = _link(client.get(f"/setup/{step}"), label)
        page = client.get(form_url)
        assert page.status_code == 200
        # The form posts where it was opened, so saving knows the step it came from.
        action = re.search(r'<form method="post"(?: action="([^"]*)")?', page.get_data(as_text=True)).group(1)
        response = client.post(html_module.unescape(action) if action else form_url, data=data)
        assert response.status_code == 303 and response.headers["Location"].endswith(f"/setup/{step}"), step
        assert message in text(client.get(response.headers["Location"]))
    # Only a set-up step: any other address is ignored.
    response = client.post("/admin/zones/new?next=https://example.com/setup/zones", data={"name": "二区"})
    assert response.headers["Location"].endswith("/admin/zones")


def test_a_zone_takes_its_buildings_by_their_codes(client, login, people):
    """Fifty buildings in two zones: 1-25 typed once rather than twenty-five ticks."""
    admin = login("admin")
    made, _ = estate.bulk_create_buildings(admin, "1-6", "{n}号楼", 1, 1, 2, 1)
    sixth = made[-1]
    assert "楼栋编号" in text(client.get("/admin/zones/new"))
    response = client.post("/admin/zones/new", data={"name": "一区", "building_codes": "1-3，5",
                                                     "buildings": [str(sixth.id)]})
    assert response.status_code == 303
    zone = estate.Zone.get(estate.Zone.name == "一区")
    assert sorted(b.name for b in zone.buildings) == ["1号楼", "2号楼", "3号楼", "5号楼", "6号楼"]
    response = client.post("/admin/zones/new", data={"name": "二区", "building_codes": "4, 9"})
    assert response.status_code == 422
    assert field_errors(response, "building_codes") == ["没有这些楼栋：9"]
    response = client.post("/admin/zones/new", data={"name": "二区", "building_codes": "3-4"})
    assert response.status_code == 422 and "已属于其他区域：3号楼（一区）" in text(response)
    assert not estate.Zone.select().where(estate.Zone.name == "二区").exists()
