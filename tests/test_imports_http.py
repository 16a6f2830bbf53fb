"""设置 → 导入 over HTTP: only the administrator; upload previews and writes nothing; confirm writes all;
a refused row blocks the import with its line shown; templates and exports download."""
import io
import re

import pytest

from conftest import FROZEN
from conftest import field_errors
from conftest import text
from kefu import estate
from kefu import imports

RESIDENTS = "房号,姓名,手机,关系\r\n1-1-0101,张三,13812345678,业主\r\n1-1-102,李四,,配偶\r\n"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(FROZEN, tick=False)


@pytest.fixture
def building(people):
    made = estate.create_building(people["admin"], "1", "1号楼")
    estate.bulk_create_households(people["admin"], made, 1, 1, 2, 2)
    return made


def upload(client, kind, content, filename="住户.csv"):
    data = content.encode("gbk") if isinstance(content, str) else content
    return client.post(f"/admin/import/{kind}", data={f"{kind}-file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


@pytest.mark.parametrize("role", ["supervisor", "assistant", "frontdesk", "unit"])
def test_only_the_administrator_imports(client, login, building, role):
    login(role)
    assert client.get("/admin/import").status_code == 403
    assert upload(client, "residents", RESIDENTS).status_code == 403
    assert client.get("/admin/import/residents/template.xlsx").status_code == 403
    assert client.get("/admin/import/residents/export.xlsx").status_code == 403


def test_upload_previews_then_confirm_writes(client, login, building):
    login("admin")
    response = upload(client, "residents", RESIDENTS)
    assert response.status_code == 303
    preview_url = response.headers["Location"]
    page = client.get(preview_url)
    assert page.status_code == 200
    assert re.search(r"2 新增 0 更新 0 未变 0 不能导入", text(page))
    assert "确认导入：新增 2，更新 0" in text(page)
    assert estate.Resident.select().count() == 0

    done = client.post(preview_url)
    assert done.status_code == 303
    assert [r.name for r in estate.Resident.live().order_by(estate.Resident.id)] == ["张三", "李四"]
    assert "已导入 住户.csv：新增 2，更新 0，未变 0" in text(client.get(done.headers["Location"]))
    assert client.post(preview_url).status_code == 303  # a second tap finds it done, adds nobody
    assert estate.Resident.select().count() == 2

    household = estate.Household.get(estate.Household.code == "1-1-101")
    assert "导入文件 住户.csv 第 2 行" in text(client.get(f"/admin/households/{household.id}"))

    again = client.get(upload(client, "residents", RESIDENTS).headers["Location"])
    assert re.search(r"0 新增 0 更新 2 未变", text(again))
    assert "都已在系统中" in text(again)


def test_refused_rows_shown_with_line_numbers_and_no_confirm(client, login, building):
    login("admin")
    bad = RESIDENTS + "1-1-909,王五,12345,业主\r\n1-1-101,张三,,业主\r\n"
    page = client.get(upload(client, "residents", bad).headers["Location"])
    body = text(page)
    assert "第 4 行 没有房号 1-1-909" in body
    assert "第 5 行 与第 2 行重复（1-1-101 张三）" in body
    assert "确认导入" not in body


def test_a_file_that_cannot_be_read_gets_its_message_beside_the_field(client, login, building):
    login("admin")
    response = upload(client, "residents", "姓名,年龄\r\n张三,30\r\n")
    assert response.status_code == 422
    assert field_errors(response, "residents-file") == ["没有找到表头行：第一行应是列名，如 房号、姓名、手机、关系"]
    response = upload(client, "residents", b"x", filename="a.txt")
    assert field_errors(response, "residents-file") == ["只能导入 .xlsx、.xls 或 .csv 文件"]
    response = client.post("/admin/import/residents", data={}, content_type="multipart/form-data")
    assert field_errors(response, "residents-file") == ["请选择要导入的文件"]


def test_an_unknown_or_done_upload_asks_for_the_file_again(client, login, people, building):
    login("admin")
    url = upload(client, "residents", RESIDENTS).headers["Location"]
    for other in (url.replace("/residents/", "/households/"), "/admin/import/residents/not-a-real-token-xx"):
        response = client.get(other, follow_redirects=True)
        assert "这个文件已导入或已过期，请重新上传" in text(response)
    assert client.get("/admin/import/nothing").status_code in (404, 405)


def test_template_and_export_download(client, login, building):
    login("admin")
    template = client.get("/admin/import/residents/template.xlsx")
    assert template.status_code == 200
    assert imports.read_table("t.xlsx", template.data)[0] == ["房号", "姓名", "手机", "关系", "标签", "备注"]
    client.post(upload(client, "residents", RESIDENTS).headers["Location"])
    exported = client.get("/admin/import/residents/export.xlsx")
    rows = [[imports.cell_text(c) for c in row] for row in imports.read_table("e.xlsx", exported.data)]
    assert rows[1:] == [["1-1-101", "张三", "13812345678", "业主", "", ""], ["1-1-102", "李四", "", "配偶", "", ""]]


def test_imported_staff_get_initial_passwords_shown_once(client, login, people, unit):
    login("admin")
    url = upload(client, "users", "姓名,用户名,角色,业务块\r\n陈师傅,gc9,业务块,工程部\r\n", "人员.csv").headers["Location"]
    page = client.post(url)
    assert page.status_code == 200
    body = text(page)
    assert "已导入 人员.csv：新增 1，更新 0，未变 0" in body and "只在这里显示这一次" in body
    password = re.search(r"gc9 陈师傅 (\S+)", body).group(1)
    client.post("/logout")
    assert client.post("/login", data={"username": "gc9", "password": password}).status_code == 303


def test_registers_link_to_their_export(client, login, building):
    login("admin")
    assert "/admin/import/households/export.xlsx" in client.get("/admin/buildings").get_data(as_text=True)
    assert "/admin/import/users/export.xlsx" in client.get("/admin/users").get_data(as_text=True)
