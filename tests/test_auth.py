"""Signing in and out: the session cookie, wrong passwords and lockout, `next`, own and reset
passwords signing other devices out, and CSRF on every state-changing request."""
import datetime
import re
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from conftest import FROZEN
from conftest import PASSWORD
from conftest import text
from kefu import create_app
from kefu import db
from kefu import users

NEW_PASSWORD = "fresh2026x"


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(FROZEN, tick=False)


def sign_in(client, username, password=PASSWORD, **kw):
    return client.post("/login", data={"username": username, "password": password}, **kw)


def field_error(response, field):
    """The message shown beside a field, or None."""
    match = re.search(rf'<p class="error" id="{field}-error"[^>]*>([^<]*)</p>', response.get_data(as_text=True))
    return match and match.group(1)


def input_value(response, field):
    match = re.search(rf'<input[^>]*\bname="{field}"[^>]*>', response.get_data(as_text=True))
    value = match and re.search(r'\bvalue="([^"]*)"', match.group(0))
    return value and value.group(1)


def stays_on_site(location):
    """Where a browser would go, read the lenient way browsers read it (backslash = slash)."""
    seen = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return urlsplit(urljoin("https://kefu.example/login", seen)).netloc == "kefu.example"


def signed_in(client):
    """True when the client's session still opens a signed-in page."""
    return client.get("/me").status_code == 200


# Signing in

def test_good_login_goes_to_today(client, people):
    response = sign_in(client, "assistant")
    assert response.status_code == 303
    assert response.location == "/"
    assert "今日" in text(client.get("/"))


def test_session_cookie_is_httponly_and_samesite_lax(client, people):
    cookie = sign_in(client, "assistant").headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_login_page_for_signed_in_user_goes_home(client, login):
    login("assistant")
    response = client.get("/login")
    assert response.status_code == 302 and response.location == "/"


def test_wrong_password_is_said_beside_the_field_and_username_kept(client, people):
    response = sign_in(client, "assistant", "wrong-password1")
    assert response.status_code == 422
    assert field_error(response, "password").startswith("用户名或密码错误")
    assert input_value(response, "username") == "assistant"
    assert input_value(response, "password") in (None, "")
    assert not signed_in(client)


def test_unknown_user_is_told_username_or_password_is_wrong(client, people):
    response = sign_in(client, "nobody", PASSWORD)
    assert response.status_code == 422
    assert field_error(response, "password") == users.SIGN_IN_FAILED
    assert input_value(response, "username") == "nobody"


@pytest.mark.parametrize("data, field, message", [
    ({"username": "", "password": PASSWORD}, "username", "请输入用户名"),
    ({"username": "assistant", "password": ""}, "password", "请输入密码"),
    ({"username": "a" * 41, "password": PASSWORD}, "username", "用户名过长"),
])
def test_login_form_checks(client, people, data, field, message):
    response = client.post("/login", data=data)
    assert response.status_code == 422
    assert field_error(response, field) == message


def test_surrounding_spaces_in_username_are_ignored(client, people):
    assert sign_in(client, "  assistant ").status_code == 303


def test_disabled_user_cannot_sign_in(client, people):
    users.User.update(active=False).where(users.User.id == people["assistant"].id).execute()
    response = sign_in(client, "assistant")
    assert response.status_code == 422
    assert "已停用" in field_error(response, "password")
    assert not signed_in(client)


# Lockout

def fail(client, times):
    for _ in range(times):
        response = sign_in(client, "assistant", "wrong-password1")
    return response


def test_a_sign_in_whose_twin_succeeded_meanwhile_is_not_refused(client, people, monkeypatch):
    """A double tap on 登录: the first sign-in clears its place's count while the second is between
    making that row and counting on it. The second still signs in."""
    claim = users._claim

    def twin_first(model, match, limit, now):
        if model is users.SignInLock and not getattr(twin_first, "done", False):
            twin_first.done = True
            users.SignInLock.delete().where(match).execute()  # the twin's success
        return claim(model, match, limit, now)

    monkeypatch.setattr(users, "_claim", twin_first)
    assert sign_in(client, "assistant").status_code == 303


def test_every_wrong_password_gets_the_same_message_with_the_lockout_rule(client, people):
    first, fourth = field_error(fail(client, 1), "password"), field_error(fail(client, 3), "password")
    assert first == fourth == users.SIGN_IN_FAILED
    assert "连续输错 5 次" in first and "锁定 15 分钟" in first


def test_five_wrong_passwords_lock_the_account_without_saying_so_on_the_page(client, people):
    assert field_error(fail(client, 5), "password") == users.SIGN_IN_FAILED
    assert people["assistant"].id in users.locks_now([people["assistant"].id])


def test_locked_account_refuses_even_the_right_password(client, people, time_machine):
    fail(client, 5)
    time_machine.shift(datetime.timedelta(minutes=5))
    response = sign_in(client, "assistant")
    assert response.status_code == 422
    assert field_error(response, "password") == users.SIGN_IN_FAILED
    assert not signed_in(client)


def test_lock_lifts_after_fifteen_minutes(client, people, time_machine):
    fail(client, 5)
    time_machine.shift(datetime.timedelta(minutes=14, seconds=30))
    assert sign_in(client, "assistant").status_code == 422
    time_machine.shift(datetime.timedelta(minutes=1))
    assert sign_in(client, "assistant").status_code == 303


def test_after_a_lock_runs_out_the_count_starts_again(client, people, time_machine):
    fail(client, 5)
    time_machine.shift(datetime.timedelta(minutes=16))
    fail(client, 4)
    assert sign_in(client, "assistant").status_code == 303


def test_lockout_is_on_the_users_timeline(client, login, people):
    fail(client, 5)
    login("admin")
    page = text(client.get(f"/admin/users/{people['assistant'].id}"))
    assert "登录失败" in page and "账号锁定" in page and "连续 5 次密码错误" in page


def test_a_good_login_resets_the_count(client, people):
    fail(client, 4)
    assert sign_in(client, "assistant").status_code == 303
    client.post("/logout")
    fail(client, 4)
    assert sign_in(client, "assistant").status_code == 303


# Where to go after signing in

@pytest.mark.parametrize("target", ["/admin/buildings?q=3", "/me/password"])
def test_next_is_followed_within_the_site(client, people, target):
    response = client.post("/login", query_string={"next": target},
                           data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 303
    assert response.location == target


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example",
    "/\t/evil.example/", "javascript:alert(1)", "evil.example",
])
def test_next_to_another_site_is_refused(client, people, target):
    response = client.post("/login", query_string={"next": target},
                           data={"username": "admin", "password": PASSWORD})
    assert response.status_code == 303
    assert stays_on_site(response.location)


def test_login_form_keeps_next_for_the_second_try(client, people):
    response = client.post("/login?next=/me", data={"username": "admin", "password": "wrong-password1"})
    assert 'action="/login?next=/me"' in response.get_data(as_text=True)


# Own password

def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post("/me/password", data={"current": current, "password": new,
                                             "confirm": new if confirm is None else confirm})


@pytest.mark.parametrize("current, new, confirm, field, message", [
    ("wrong-password1", NEW_PASSWORD, NEW_PASSWORD, "current", "当前密码不正确"),
    (PASSWORD, NEW_PASSWORD, "other2026x", "confirm", "两次输入的新密码不一致"),
    (PASSWORD, "abc123", "abc123", "password", "密码至少 8 位"),
    (PASSWORD, "12345678", "12345678", "password", "密码需同时包含字母和数字"),
    (PASSWORD, "abcdefgh", "abcdefgh", "password", "密码需同时包含字母和数字"),
    ("", NEW_PASSWORD, NEW_PASSWORD, "current", "请输入当前密码"),
])
def test_change_password_refusals(client, login, current, new, confirm, field, message):
    login("assistant")
    response = change(client, current, new, confirm)
    assert response.status_code == 422
    assert field_error(response, field) == message
    client.post("/logout")
    assert sign_in(client, "assistant").status_code == 303  # old password still works


def test_change_password_keeps_me_signed_in_with_the_new_one(client, login):
    login("assistant")
    response = change(client)
    assert response.status_code == 303 and response.location == "/me"
    assert "密码已修改" in text(client.get("/me"))
    client.post("/logout")
    assert sign_in(client, "assistant").status_code == 422
    assert sign_in(client, "assistant", NEW_PASSWORD).status_code == 303


def test_change_password_signs_out_my_other_devices(app, client, login):
    other = app.test_client()
    sign_in(other, "assistant")
    login("assistant")
    change(client)
    assert signed_in(client)
    assert not signed_in(other)


def test_admin_reset_signs_the_user_out_everywhere(app, client, login, people):
    phone = app.test_client()
    sign_in(phone, "assistant")
    login("admin")
    response = client.post(f"/admin/users/{people['assistant'].id}/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 303
    assert not signed_in(phone)
    assert sign_in(phone, "assistant", NEW_PASSWORD).status_code == 303


def test_disabling_a_user_signs_them_out_at_once(app, client, login, people):
    phone = app.test_client()
    sign_in(phone, "assistant")
    assert signed_in(phone)
    login("admin")
    assistant = people["assistant"]
    response = client.post(f"/admin/users/{assistant.id}", data={
        "version": assistant.version, "display_name": assistant.display_name, "role": "assistant",
        "unit": 0, "phone": ""})  # the 账号启用 box left unticked
    assert response.status_code == 303
    assert not signed_in(phone)


# Signing out

def test_logout_is_post_only(client, login):
    login("assistant")
    response = client.get("/logout")
    assert response.status_code == 405
    assert "操作无效" in text(response)
    assert signed_in(client)


def test_logout_clears_the_session(client, login):
    login("assistant")
    response = client.post("/logout")
    assert response.status_code == 303 and response.location == "/login"
    assert "已退出登录" in text(client.get("/login"))
    assert not signed_in(client)


# CSRF

@pytest.fixture
def csrf_app(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE": str(tmp_path), "WTF_CSRF_ENABLED": True,
                      "DATABASE": str(tmp_path / "test.sqlite3"), "PHOTOS": str(tmp_path / "photos")})
    db.database.connect(reuse_if_open=True)
    users.create_user(None, "admin", "管理员甲", "admin", PASSWORD)
    yield app
    if not db.database.is_closed():
        db.database.close()


def form_token(response):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True)).group(1)


def header_token(response):
    return re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', response.get_data(as_text=True)).group(1)


def test_post_without_token_is_refused_as_expired(csrf_app):
    client = csrf_app.test_client()
    client.get("/login")
    response = sign_in(client, "admin")
    assert response.status_code == 400
    assert "页面已过期" in text(response)
    assert client.get("/me").status_code == 302


def test_token_from_the_form_is_accepted(csrf_app):
    client = csrf_app.test_client()
    token = form_token(client.get("/login"))
    response = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303


def test_token_in_htmx_header_is_accepted(csrf_app):
    client = csrf_app.test_client()
    token = form_token(client.get("/login"))
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    token = header_token(client.get("/admin/buildings/new"))
    response = client.post("/admin/buildings/new", data={"code": "3", "name": "3号楼"},
                           headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code == 303


def test_signed_in_post_without_token_changes_nothing(csrf_app):
    client = csrf_app.test_client()
    token = form_token(client.get("/login"))
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    response = client.post("/admin/buildings/new", data={"code": "3", "name": "3号楼"})
    assert response.status_code == 400
    assert "页面已过期" in text(response)
    assert "3号楼" not in text(client.get("/admin/buildings"))


def test_logout_needs_a_token(csrf_app):
    client = csrf_app.test_client()
    token = form_token(client.get("/login"))
    client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert client.post("/logout").status_code == 400
    assert client.get("/me").status_code == 200
    token = form_token(client.get("/me"))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/me").status_code == 302


# Bad input on the sign-in and password forms

BAD_VALUES = {
    "long": "长" * 10_000,
    "empty": "",
    "spaces": "   ",
    "emoji": "🏠🔧😀",
    "markup": "<script>alert(1)</script>",
    "nul": "a\x00b",
    "controls": "a\x01\x07\x1b\x7fb",
    "number": "12345",
}
FORMS = {
    "login": ("/login", {"username": "assistant", "password": PASSWORD}),
    "password": ("/me/password", {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
}


def refusal_problem(response):
    """None when the form came back with a message beside a field, and no markup ran."""
    if response.status_code != 422:
        return f"HTTP {response.status_code}"
    if '<p class="error"' not in response.get_data(as_text=True):
        return "no message"
    if "<script>alert" in response.get_data(as_text=True):
        return "markup not escaped"
    return None


def open_form(client, login, form):
    login("assistant")
    if form == "login":
        client.post("/logout")
    return FORMS[form]


@pytest.mark.parametrize("form", list(FORMS))
def test_bad_values_are_refused_with_a_message(client, login, form):
    url, valid = open_form(client, login, form)
    problems = {f"{field}={bad}": refusal_problem(client.post(url, data={**valid, field: value}))
                for bad, value in BAD_VALUES.items() for field in valid}
    assert {k: v for k, v in problems.items() if v} == {}


@pytest.mark.parametrize("form", list(FORMS))
def test_missing_duplicated_and_non_utf8_fields_are_refused(client, login, form):
    url, valid = open_form(client, login, form)
    problems = {}
    for field in valid:
        problems[f"without {field}"] = refusal_problem(client.post(
            url, data={k: v for k, v in valid.items() if k != field}))
        body = urlencode({**valid, field: "RAW"}).encode().replace(f"{field}=RAW".encode(), field.encode() + b"=\xff\xfe")
        problems[f"{field}=\\xff\\xfe"] = refusal_problem(client.post(
            url, data=body, content_type="application/x-www-form-urlencoded"))
    twice = MultiDict([(k, "<script>alert(1)</script>") for k in valid] + list(valid.items()))
    problems["every field twice, markup first"] = refusal_problem(client.post(url, data=twice))
    assert {k: v for k, v in problems.items() if v} == {}


def test_markup_typed_as_username_is_shown_as_text(client, people):
    response = sign_in(client, "<script>alert(1)</script>")
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in response.get_data(as_text=True)
