"""The page weight budget, for phones on patchy signal: the first load of 今日 (the page and every
stylesheet and script it references) is at most 60 KB over the wire and an htmx swap at most 5 KB,
both counted compressed as served. Text is compressed (brotli or gzip), photos and documents are
not; static URLs carry their content hash and are cached for a year, pages never."""
import gzip
import re

import brotli
import pytest
import time_machine
from flask import url_for

from conftest import FROZEN
from conftest import PASSWORD
from figures import show
from kefu import demo
from kefu import search
from kefu import tickets
from kefu.estate import Household
from kefu.users import User
from test_headers import places  # noqa: F401 (fixture)
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

FIRST_LOAD_BUDGET = 60 * 1024
SWAP_BUDGET = 5 * 1024
GZIP = {"Accept-Encoding": "gzip"}
SWAP = {**GZIP, "HX-Request": "true"}
YEAR = "public, max-age=31536000, immutable"


def fetch(client, url, headers=GZIP):
    """(response, the body as sent, the body decoded)."""
    with client.get(url, headers=headers) as response:
        sent = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    body = gzip.decompress(sent) if encoding == "gzip" else brotli.decompress(sent) if encoding == "br" else sent
    return response, sent, body


def assets(page):
    """The stylesheets, scripts and images a page makes the browser fetch."""
    links = re.findall(r'<link\b[^>]*\brel="stylesheet"[^>]*\bhref="([^"]+)"', page)
    return links + re.findall(r'<(?:script|img)\b[^>]*\bsrc="([^"]+)"', page)


def kb(size):
    return f"{size / 1024:5.1f} KB"


@pytest.fixture
def estate(app, client):
    """The demo estate (阳光花园) on this test's database, the clock at 10:00 on a Friday."""
    with time_machine.travel(FROZEN, tick=False):
        demo.build()
        yield app


def sign_in(client, username):
    client.post("/logout")
    response = client.post("/login", data={"username": username, "password": demo.PASSWORD})
    assert response.status_code == 303


def first_load(client):
    """[(what, bytes sent, bytes before compression)] for 今日 and what it references."""
    response, sent, body = fetch(client, "/")
    assert response.status_code == 200 and response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "no-store"
    loaded = [("今日 HTML", len(sent), len(body))]
    urls = assets(body.decode())
    assert len(urls) >= 3  # app.css, htmx, app.js
    for url in urls:
        asset, sent, body = fetch(client, url)
        assert asset.status_code == 200, url
        assert asset.headers.get("Content-Encoding") == "gzip", url
        assert asset.headers["Cache-Control"] == YEAR, url
        loaded.append((url.split("/")[-1], len(sent), len(body)))
    # app.js registers the service worker (the phone's copy of the check pages): fetched on the
    # first load too, and again (not cached) when the browser looks for a new version.
    worker, sent, body = fetch(client, "/sw.js")
    assert worker.status_code == 200 and worker.headers.get("Content-Encoding") == "gzip"
    loaded.append(("sw.js (service worker)", len(sent), len(body)))
    return loaded


def swaps(client, username):
    """[(what, bytes sent, bytes before compression)] for the htmx swaps this user makes most."""
    assistant = User.get(User.username == "zhuli1")
    # The 一区 request with the most others like it: 举一反三 at its longest.
    ticket = max(tickets.Ticket.select().where(tickets.Ticket.assignee == assistant).order_by(tickets.Ticket.id),
                 key=lambda t: len(search.similar(t)))
    household = Household.live().order_by(Household.id).first()
    urls = [("诉求 list, 全部 (a full page of cards)", "/tickets?state="),
            ("诉求 filtered (保洁)", "/tickets?category=保洁"),
            ("诉求 search (返臭味)", "/tickets?state=&q=返臭味"),
            ("诉求 更多筛选 panel", "/tickets/filters"),
            ("诉求 举一反三", f"/tickets/{ticket.id}/similar"),
            ("受理 residents picker", f"/tickets/residents?household={household.code}"),
            ("客户 household search (1-1)", "/customers?q=1-1")]
    measured = []
    for what, url in urls:
        response, sent, body = fetch(client, url, SWAP)
        assert response.status_code == 200, (username, url)
        assert b"<html" not in body, url
        assert "Accept-Encoding" in response.headers["Vary"] and "HX-Request" in response.headers["Vary"]
        if len(body) >= 500:  # smaller ones would grow with compression
            assert response.headers.get("Content-Encoding") == "gzip", url
        measured.append((what, len(sent), len(body)))
    return measured


@pytest.mark.parametrize("username", ["zhuli1", "zhuguan"], ids=["assistant", "supervisor"])
def test_today_first_load_and_htmx_swaps_stay_within_budget(estate, client, username):
    sign_in(client, username)
    loaded = first_load(client)
    swapped = swaps(client, username)
    total = sum(sent for _, sent, _ in loaded)
    show("\n".join([
        f"page weight, {username}, gzip as served (budget: first load {kb(FIRST_LOAD_BUDGET)}, swap {kb(SWAP_BUDGET)}):",
        *(f"  {kb(sent)} ({kb(raw)} uncompressed)  {what}" for what, sent, raw in loaded),
        f"  {kb(total)} ({kb(sum(raw for _, _, raw in loaded))} uncompressed)  first load of 今日 in all",
        *(f"  {kb(sent)} ({kb(raw)} uncompressed)  htmx swap: {what}" for what, sent, raw in swapped)]))
    assert total <= FIRST_LOAD_BUDGET
    assert {what: sent for what, sent, _ in swapped if sent > SWAP_BUDGET} == {}


def test_static_urls_carry_the_content_hash_and_change_with_the_file(app, client, tmp_path):
    app.static_folder = str(tmp_path / "static")
    (tmp_path / "static").mkdir()
    style = tmp_path / "static" / "site.css"
    style.write_text("body { color: black }")
    with app.test_request_context():
        first = url_for("static", filename="site.css")
        style.write_text("body { color: teal }")
        second = url_for("static", filename="site.css")
        missing = url_for("static", filename="nothing.css")
    assert re.fullmatch(r"/static/site\.css\?v=[0-9a-f]{12}", first)
    assert second != first and second.startswith("/static/site.css?v=")
    assert missing == "/static/nothing.css"
    # Only the current hash is kept for a year; an old or absent one is checked every time.
    assert fetch(client, second)[0].headers["Cache-Control"] == YEAR
    assert fetch(client, first)[0].headers["Cache-Control"] == "no-cache"
    assert fetch(client, "/static/site.css")[0].headers["Cache-Control"] == "no-cache"


def test_static_files_are_the_same_for_everyone(client, people):
    assert client.post("/login", data={"username": "assistant", "password": PASSWORD}).status_code == 303
    page = client.get("/").get_data(as_text=True)
    for url in assets(page):
        response, _, _ = fetch(client, url)
        # Vary: Cookie would make the phone fetch the file again each time its cookie changes.
        assert response.headers["Vary"] == "Accept-Encoding", url
        assert "Set-Cookie" not in response.headers, url


def test_text_is_compressed_with_brotli_or_gzip_as_the_browser_accepts(client):
    url = re.search(r'href="(/static/css/app\.css[^"]*)"', client.get("/login").get_data(as_text=True)).group(1)
    plain, original, _ = fetch(client, url, {})
    assert "Content-Encoding" not in plain.headers  # a client that asks for nothing gets it as it is
    for accept, encoding in (("gzip", "gzip"), ("gzip, deflate, br, zstd", "br")):
        response, sent, body = fetch(client, url, {"Accept-Encoding": accept})
        assert response.headers["Content-Encoding"] == encoding
        assert body == original and len(sent) < len(original) / 2
    ranged, _, body = fetch(client, url, {"Accept-Encoding": "br", "Range": "bytes=0-999"})
    assert ranged.status_code == 200 and body == original  # whole, never a compressed slice
    page, sent, body = fetch(client, "/login", {"Accept-Encoding": "br"})
    assert page.headers["Content-Encoding"] == "br" and b"<html" in body and len(sent) < len(body)


def test_photos_and_documents_are_not_compressed_again(client, world, places, as_user):
    as_user(world.supervisor)
    for url in (f"/photos/{places['photo'].id}/full", f"/photos/{places['photo'].id}/thumb",
                f"/tickets/{places['ticket'].id}.pdf"):
        response, sent, _ = fetch(client, url)
        assert response.status_code == 200 and len(sent) > 0, url
        assert "Content-Encoding" not in response.headers, url
