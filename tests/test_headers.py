"""Security headers on every kind of response (pages for each role, htmx partials, PDFs, static files,
photos, spreadsheets, error pages, redirects, the sign-in page), pages that run under the
Content-Security-Policy (no inline script, style or handler; htmx without eval), and the session
cookie marked Secure exactly when the request came over HTTPS, X-Forwarded-Proto counting only
behind a trusted proxy."""
import datetime
import io
import json
import re

import flask
import pytest
from flask import url_for
from PIL import Image

from conftest import PASSWORD
from kefu import clock
from kefu import create_app
from kefu import db
from kefu import estate
from kefu import tickets
from kefu import uploads
from kefu import users
from test_tickets import intake
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

UNSAFE = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "'wasm-unsafe-eval'", "data:", "*", "http:", "https:")


def policy(response):
    """The Content-Security-Policy as {directive: [sources]}."""
    header = response.headers.get("Content-Security-Policy", "")
    parts = (part.split() for part in header.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


def header_problems(response):
    """What is missing or unsafe in a response's security headers ({} when all is well)."""
    csp = policy(response)
    problems = {}
    if csp.get("default-src") != ["'self'"]:
        problems["default-src"] = csp.get("default-src")
    for directive in ("script-src", "style-src"):
        sources = csp.get(directive, csp.get("default-src", []))
        if not sources or any(source in UNSAFE for source in sources):
            problems[directive] = sources
    for directive, wanted in (("frame-ancestors", ["'none'"]), ("object-src", ["'none'"]),
                              ("base-uri", ["'self'"]), ("form-action", ["'self'"])):
        if csp.get(directive) != wanted:
            problems[directive] = csp.get(directive)
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems["X-Content-Type-Options"] = response.headers.get("X-Content-Type-Options")
    if response.headers.get("Referrer-Policy") not in ("same-origin", "no-referrer", "strict-origin"):
        problems["Referrer-Policy"] = response.headers.get("Referrer-Policy")
    if response.headers.get("X-Frame-Options") != "DENY":
        problems["X-Frame-Options"] = response.headers.get("X-Frame-Options")
    return problems


def inline_code(body):
    """Markup the policy would block: inline scripts and styles, event-handler attributes, javascript: links."""
    found = [m.group(0)[:80] for m in re.finditer(r"<script\b(?![^>]*\bsrc=)[^>]*>", body)]
    found += [m.group(0)[:80] for m in re.finditer(r"<style\b[^>]*>", body)]
    for tag in re.findall(r"<[a-zA-Z][^>]*>", body):
        if re.search(r"""\s(on[a-z]+|style)\s*=|=\s*["']?\s*javascript:""", tag, re.I):
            found.append(tag[:80])
    return found


def jpeg():
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def sign_in(client, user, **kw):
    return client.post("/login", data={"username": user.username, "password": PASSWORD}, **kw)


@pytest.fixture
def places(app, world):
    """A request in 一区 with a photo, sent to 保洁部, and an administrator."""
    photo = uploads.store(app.config["PHOTOS"], world.assistant, jpeg())
    ticket = intake(world, description="楼道有垃圾", photos=[photo])
    ticket, order = tickets.dispatch(world.assistant, ticket, ticket.version, world.cleaning, "清理楼道",
                                     clock.now() + datetime.timedelta(hours=4))
    estate.add_resident(None, world.home, "王建国", "13912345678", "业主")
    admin = users.create_user(None, "admin", "管理员", "admin", PASSWORD)

    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/_broken", view_func=broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production: the 500 page
    return dict(ticket=ticket, order=order, photo=photo, admin=admin)


def fetch(client, url, method="GET", **kw):
    """A response with its body read and its file closed."""
    with client.open(url, method=method, **kw) as response:
        response.get_data()
        return response


# Every kind of response

def responses(app, world, places, as_user):
    """One response of every kind: {what: response}."""
    ticket, order, photo = places["ticket"], places["order"], places["photo"]
    got = {}
    anonymous = app.test_client()
    got["login page"] = fetch(anonymous, "/login")
    got["login refused (422)"] = fetch(anonymous, "/login", "POST", data={"username": "x", "password": "wrong"})
    got["redirect to sign in (302)"] = fetch(anonymous, "/tickets")
    got["htmx sent to sign in (401)"] = fetch(anonymous, "/tickets", headers={"HX-Request": "true"})
    got["static css"] = fetch(anonymous, "/static/css/app.css")
    got["static js"] = fetch(anonymous, "/static/js/app.js")
    got["static htmx"] = fetch(anonymous, "/static/vendor/htmx-2.0.11.min.js")
    got["missing static file (404)"] = fetch(anonymous, "/static/nothing.js")
    for role, user in (("admin", places["admin"]), ("supervisor", world.supervisor), ("assistant", world.assistant),
                       ("frontdesk", world.frontdesk), ("unit", world.cleaner)):
        client = as_user(user)
        got[f"today, {role}"] = fetch(client, "/")
        got[f"我的, {role}"] = fetch(client, "/me")
        got[f"boosted page, {role}"] = fetch(client, "/me", headers={"HX-Request": "true", "HX-Boosted": "true"})
    client = as_user(world.supervisor)
    got["ticket page"] = fetch(client, f"/tickets/{ticket.id}")
    got["htmx partial"] = fetch(client, "/tickets?category=保洁", headers={"HX-Request": "true"})
    got["household page"] = fetch(client, f"/customers/households/{world.home.id}")
    got["ticket PDF"] = fetch(client, f"/tickets/{ticket.id}.pdf")
    got["photo"] = fetch(client, f"/photos/{photo.id}/full")
    got["photo thumbnail"] = fetch(client, f"/photos/{photo.id}/thumb")
    got["xlsx export"] = fetch(client, "/exports", "POST", data={"first": "2026-11-01", "last": "2026-11-30",
                                                                 "token": "x"})
    got["form refused (422)"] = fetch(client, "/exports", "POST", data={"first": "", "last": "", "token": "y"})
    got["not found (404)"] = fetch(client, "/tickets/99999")
    got["no such page (404)"] = fetch(client, "/no-such-page")
    got["htmx not found (404)"] = fetch(client, "/tickets/99999", headers={"HX-Request": "true"})
    got["not allowed (405)"] = fetch(client, "/logout")
    got["server error (500)"] = fetch(client, "/_broken")
    got["signed-in login page redirect (302)"] = fetch(client, "/login")
    got["redirect after a form (303)"] = fetch(client, f"/tickets/{ticket.id}/void", "POST", data={"reason": ""})
    unit = as_user(world.cleaner)
    got["forbidden (403)"] = fetch(unit, "/tickets")
    got["htmx forbidden (403)"] = fetch(unit, "/tickets", headers={"HX-Request": "true"})
    got["work order PDF, unit"] = fetch(unit, f"/workorders/{order.id}.pdf")
    got["signed out (303)"] = fetch(unit, "/logout", "POST")
    return got


EXPECTED = {
    "login page": (200, "text/html"), "login refused (422)": (422, "text/html"),
    "redirect to sign in (302)": (302, None), "htmx sent to sign in (401)": (401, None),
    "static css": (200, "text/css"), "static js": (200, "text/javascript"), "static htmx": (200, "text/javascript"),
    "missing static file (404)": (404, "text/html"),
    "ticket page": (200, "text/html"), "htmx partial": (200, "text/html"), "household page": (200, "text/html"),
    "ticket PDF": (200, "application/pdf"), "photo": (200, "image/jpeg"), "photo thumbnail": (200, "image/jpeg"),
    "xlsx export": (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "form refused (422)": (422, "text/html"),
    "not found (404)": (404, "text/html"), "no such page (404)": (404, "text/html"),
    "htmx not found (404)": (404, "text/html"), "not allowed (405)": (405, "text/html"),
    "server error (500)": (500, "text/html"),
    "signed-in login page redirect (302)": (302, None), "redirect after a form (303)": (303, None),
    "forbidden (403)": (403, "text/html"), "htmx forbidden (403)": (403, "text/html"),
    "work order PDF, unit": (200, "application/pdf"), "signed out (303)": (303, None),
    **{f"{page}, {role}": (200, "text/html") for role in ("admin", "supervisor", "assistant", "frontdesk", "unit")
       for page in ("today", "我的", "boosted page")},
}


@pytest.fixture
def every_response(app, world, places, as_user):
    return responses(app, world, places, as_user)


def test_every_kind_of_response_carries_every_security_header(every_response):
    # First, that the sweep covers what it says: each response is the kind its name says.
    seen = {what: (r.status_code, r.mimetype if EXPECTED[what][1] else None) for what, r in every_response.items()}
    assert seen == EXPECTED
    assert "<html" not in every_response["htmx partial"].get_data(as_text=True)
    assert "HX-Request" in every_response["htmx partial"].headers["Vary"]
    assert every_response["htmx sent to sign in (401)"].headers["HX-Redirect"].startswith("/login")
    problems = {what: header_problems(response) for what, response in every_response.items()}
    assert {what: found for what, found in problems.items() if found} == {}
    assert every_response["today, assistant"].headers["Cache-Control"] == "no-store"
    assert every_response["photo"].headers["Cache-Control"].startswith("private")


def test_pages_hold_nothing_the_policy_would_block(every_response):
    pages = {what: r.get_data(as_text=True) for what, r in every_response.items() if r.mimetype == "text/html"}
    assert len(pages) > 20
    assert {what: found for what, found in ((w, inline_code(body)) for w, body in pages.items()) if found} == {}


def test_the_policy_allows_no_inline_script_or_eval(client):
    response = client.get("/login")
    csp = policy(response)
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    header = response.headers["Content-Security-Policy"]
    assert "unsafe" not in header and "nonce-" not in header and "sha256-" not in header


def test_htmx_is_configured_without_eval(client):
    page = client.get("/login").get_data(as_text=True)
    meta = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", page)
    config = json.loads(meta.group(1))
    assert config["allowEval"] is False and config["allowScriptTags"] is False
    assert config["includeIndicatorStyles"] is False  # htmx would otherwise add an inline <style>
    assert re.search(r'<script src="/static/vendor/htmx-2\.0\.11\.min\.js\?v=[0-9a-f]{12}" defer></script>', page)


# The session cookie

def set_cookies(response):
    """{name: the Set-Cookie header} of a response."""
    return {value.split("=", 1)[0]: value for value in response.headers.getlist("Set-Cookie")}


def flags(cookie):
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


@pytest.mark.parametrize("base_url, secure", [("http://localhost", False), ("https://localhost", True)])
def test_session_cookie_is_secure_over_https_only(client, world, base_url, secure):
    page = client.get("/login", base_url=base_url)
    signed = sign_in(client, world.assistant, base_url=base_url)
    assert signed.status_code == 303
    cookie = set_cookies(signed)["session"]
    assert ("secure" in flags(cookie)) is secure
    assert {"httponly", "samesite", "path"} <= flags(cookie) and "SameSite=Lax" in cookie
    assert client.get("/me", base_url=base_url).status_code == 200
    signed_out = set_cookies(client.post("/logout", base_url=base_url))["session"]
    assert ("secure" in flags(signed_out)) is secure
    assert page.status_code == 200


def test_no_remember_cookie_is_ever_set(client, world):
    signed = sign_in(client, world.assistant, base_url="https://localhost")
    # Besides the session, only the known-device cookie, which signs nobody in (kefu/views/auth.py).
    assert set(set_cookies(signed)) == {"session", "kefu_device"}
    device = set_cookies(signed)["kefu_device"]
    assert {"secure", "httponly", "samesite", "path"} <= flags(device) and "SameSite=Lax" in device
    assert "remember_token" not in set_cookies(client.post("/logout", base_url="https://localhost"))
    assert client.get("/me", base_url="https://localhost").status_code != 200


@pytest.fixture(params=[False, True], ids=["direct", "behind a trusted proxy"])
def proxied(request, tmp_path, traveller):
    """An app with TRUST_PROXY off or on, and a route that says how it sees the request."""
    app = create_app({"TESTING": True, "INSTANCE": str(tmp_path), "WTF_CSRF_ENABLED": False,
                      "DATABASE": str(tmp_path / "test.sqlite3"), "PHOTOS": str(tmp_path / "photos"),
                      "TRUST_PROXY": request.param})

    @app.route("/_how_seen")
    def how_seen():
        return {"secure": flask.request.is_secure, "url": url_for("auth.login", _external=True)}

    db.database.connect(reuse_if_open=True)
    user = users.create_user(None, "zhuli1", "张助理", "assistant", PASSWORD)
    yield app, user, request.param
    if not db.database.is_closed():
        db.database.close()


HTTPS_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "kefu.example.com", "X-Forwarded-For": "203.0.113.9"}


def test_forwarded_https_counts_only_behind_a_trusted_proxy(proxied):
    app, user, trusted = proxied
    client = app.test_client()
    seen = client.get("/_how_seen", headers=HTTPS_PROXY).get_json()
    signed = sign_in(client, user, headers=HTTPS_PROXY)
    assert signed.status_code == 303
    secure = "secure" in flags(set_cookies(signed)["session"])
    if trusted:
        assert seen == {"secure": True, "url": "https://kefu.example.com/login"}
        assert secure
    else:
        assert seen == {"secure": False, "url": "http://localhost/login"}
        assert not secure


def test_a_trusted_proxy_without_forwarded_https_gets_no_secure_cookie(proxied):
    app, user, _ = proxied
    client = app.test_client()
    assert "secure" not in flags(set_cookies(sign_in(client, user))["session"])
    assert "secure" in flags(set_cookies(sign_in(app.test_client(), user, base_url="https://localhost"))["session"])


def test_headers_are_there_behind_a_proxy_too(proxied):
    app, user, _ = proxied
    client = app.test_client()
    assert header_problems(client.get("/login", headers=HTTPS_PROXY)) == {}
    sign_in(client, user, headers=HTTPS_PROXY)
    assert header_problems(client.get("/", headers=HTTPS_PROXY)) == {}


def test_the_service_worker_is_served_from_the_root_and_looked_for_again_on_every_visit(client):
    """The worker keeping the check pages on the phone answers for every page only if it comes from
    the root; a phone must not keep an old one (a fixed one would otherwise wait a day to arrive)."""
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    assert "kefu-check-pages" in body and 'addEventListener("fetch"' in body
