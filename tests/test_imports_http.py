"""设置 → 导入 over HTTP: only the administrator; upload previews and writes nothing; confirm writes all;
a refused row blocks the import with its line shown; templates and exports download."""
import io
import re
from urllib.parse import unquote

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
    password = re.search(r"用户名 gc9 .*?初始密码 (\S+)", body).group(1)
    client.post("/logout")
    assert client.post("/login", data={"username": "gc9", "password": password}).status_code == 303


def test_registers_link_to_their_export(client, login, building):
    login("admin")
    assert "/admin/import/households/export.xlsx" in client.get("/admin/buildings").get_data(as_text=True)
    assert "/admin/import/users/export.xlsx" in client.get("/admin/users").get_data(as_text=True)


STAFF = "姓名,用户名,角色,管辖区域或业务块\r\n陈师傅,gc9,业务块,工程部\r\n周前台,qt9,前台,\r\n"


def _sheet(body):
    """{username: password} read off a password sheet's slips."""
    return dict(re.findall(r"用户名 (\S+) .*?初始密码 (\S+)", body))


def test_the_initial_password_sheet_prints_one_slip_per_person(app, client, login, people, unit):
    login("admin")
    url = upload(client, "users", STAFF, "人员.csv").headers["Location"]
    # A double tap on 确认导入 sends one request (htmx drops the second while the first is on its way).
    assert 'hx-sync="this:drop"' in client.get(url).get_data(as_text=True)
    page = client.post(url)
    body = text(page)
    assert "打印初始密码单" in body and 'data-print' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    # htmx keeps no copy of the page in the browser's history cache.
    assert 'hx-history="false"' in page.get_data(as_text=True)
    assert page.get_data(as_text=True).count('class="slip"') == 2
    assert re.search(r"姓名 陈师傅 用户名 gc9 角色 业务块 业务块 工程部 初始密码 \S+", body)
    assert re.search(r"姓名 周前台 用户名 qt9 角色 前台 初始密码 \S+", body)
    # The app offers (doesn't force) a change of password: the slip says where.
    assert "登录后请在“我的 → 修改密码”里改成自己的密码" in body
    assert body.count("登录地址 http://localhost/login") == 2
    passwords = _sheet(body)
    assert set(passwords) == {"gc9", "qt9"}
    # Nowhere on the server or in the session cookie.
    import os
    folder = os.path.join(app.instance_path, "imports")
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "rb") as handle:
            assert passwords["gc9"].encode() not in handle.read()
    cookie = client.get_cookie("session").value
    session = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert passwords["gc9"] not in repr(session)

    # Reloading the result (or coming back to it) says why the passwords are gone and what to do.
    again = client.get(url, follow_redirects=True)
    assert "初始密码只显示一次" in text(again)
    assert "为从未登录的 2 个账号重新生成初始密码" in text(again)


def test_a_lost_sheet_is_made_again_for_accounts_never_signed_in(client, login, people, unit):
    login("admin")
    first = _sheet(text(client.post(upload(client, "users", STAFF, "人员.csv").headers["Location"])))
    client.post("/logout")
    assert client.post("/login", data={"username": "gc9", "password": first["gc9"]}).status_code == 303
    login("admin")

    listing = client.get("/admin/users")
    assert "人员.csv" in text(listing) and "1 个从未登录" in text(listing)
    link = re.search(r'href="([^"]+)"[^>]*>重新生成初始密码', listing.get_data(as_text=True)).group(1)
    confirm = client.get(link)
    assert confirm.status_code == 200
    assert "周前台（qt9）" in text(confirm) and "陈师傅（gc9） 已登录过" in text(confirm)
    assert "为从未登录的 1 个账号重新生成初始密码" in text(confirm)

    sheet = client.post(link)
    assert sheet.status_code == 200
    again = _sheet(text(sheet))
    assert list(again) == ["qt9"] and again["qt9"] != first["qt9"]
    assert "打印初始密码单" in text(sheet)
    qt9 = people["admin"].__class__.get(username="qt9")
    timeline = text(client.get(f"/admin/users/{qt9.id}"))
    assert "重新生成初始密码" in timeline and "导入文件 人员.csv 的账号，从未登录" in timeline
    assert "重新生成初始密码" in text(client.get("/admin/audit?kind=accounts"))  # the administrators' audit log
    client.post("/logout")
    assert client.post("/login", data={"username": "qt9", "password": first["qt9"]}).status_code != 303
    assert client.post("/login", data={"username": "qt9", "password": again["qt9"]}).status_code == 303

    login("admin")
    done = client.post(link)  # everyone has signed in now
    assert done.status_code == 422 and "都已登录过" in text(done)
    assert client.get("/admin/import/users/accounts/not-a-batch").status_code == 404
    login("supervisor")
    assert client.get(link).status_code == 403 and client.post(link).status_code == 403


SETUP = "/setup/import"


def test_imports_opened_from_the_setup_walk_lead_back_to_it(client, login, people, unit, building):
    login("admin")
    step = client.get(SETUP).get_data(as_text=True)
    links = [unquote(link.replace("&amp;", "&")) for link in re.findall(r'href="(/admin/import\?[^"]+)"', step)]
    assert len(links) == 4 and all("next=/setup/import" in link for link in links)
    index = client.get(links[1])
    body = unquote(index.get_data(as_text=True))
    assert 'href="/setup/import"' in body and "返回设置向导" in text(index)
    assert 'action="/admin/import/residents?next=/setup/import"' in body

    response = client.post("/admin/import/residents?next=%2Fsetup%2Fimport",
                           data={"residents-file": (io.BytesIO(RESIDENTS.encode("gbk")), "住户.csv")},
                           content_type="multipart/form-data")
    preview_url = unquote(response.headers["Location"])
    assert preview_url.endswith("?next=/setup/import")
    preview = client.get(preview_url)
    assert "返回设置向导" in text(preview) and 'href="/setup/import"' in preview.get_data(as_text=True)
    assert f'action="{preview_url}"' in unquote(preview.get_data(as_text=True))
    done = client.post(preview_url)
    assert done.status_code == 303 and done.headers["Location"].endswith(SETUP)
    assert "已导入 住户.csv：新增 2" in text(client.get(SETUP))

    # A file refused as a whole keeps the way back too.
    bad = client.post("/admin/import/residents?next=%2Fsetup%2Fimport",
                      data={"residents-file": (io.BytesIO(b"x"), "a.txt")}, content_type="multipart/form-data")
    assert bad.status_code == 422 and "返回设置向导" in text(bad)

    sheet = client.post(client.post("/admin/import/users?next=%2Fsetup%2Fimport",
                                    data={"users-file": (io.BytesIO(STAFF.encode("gbk")), "人员.csv")},
                                    content_type="multipart/form-data").headers["Location"])
    assert "打印初始密码单" in text(sheet) and 'href="/setup/import"' in sheet.get_data(as_text=True)


def test_outside_the_setup_walk_nothing_leads_to_it(client, login, people, building):
    login("admin")
    for url in ("/admin/import", "/admin/import?next=https://example.com/setup/import"):
        page = client.get(url)
        assert "返回设置向导" not in text(page) and "/setup/" not in page.get_data(as_text=True)
    done = client.post(upload(client, "residents", RESIDENTS).headers["Location"])
    assert done.headers["Location"].endswith("/admin/import")


def test_a_zone_the_sheet_gets_wrong_is_shown_with_its_line(client, login, people):
    login("admin")
    for name in ("东区（一期）", "东区（二期）"):
        estate.set_zone(people["admin"], None, 0, name, "", [], [])
    page = client.get(upload(client, "users", "姓名,用户名,角色,管辖区域\r\n李助理,zhuli9,客户助理,东区(一期)\r\n"
                                              "王助理,zhuli8,客户助理,东区\r\n", "人员.csv").headers["Location"])
    assert page.status_code == 200
    assert "第 3 行 管辖区域“东区”不止一个：东区（一期）、东区（二期），请写全名" in text(page)
