"""Every link a page offers opens for the one who sees it.

Signed in as each demo login on the demo estate (阳光花园, the clock at 10:00 on a Friday), the crawl
starts at 今日, follows every link, every htmx load and every GET form's action the page shows, and
fails on a 403 or 404 behind any of them, and on a 5xx anywhere. It is bounded: at most PER_PATTERN
addresses of one shape (/tickets/N, /customers/households/N…) and PAGES in all per login, so it
reaches every kind of page without opening all 416 households. PDFs are fetched like pages (their
templates rendered, access checked) but not laid out: WeasyPrint is stood in for, its own tests are
in test_pdf.py.
"""
import collections
import html
import re
import time
from html.parser import HTMLParser
from urllib.parse import urlencode
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest
import time_machine

import pgtest
from conftest import FROZEN
from kefu import create_app
from kefu import db
from kefu import demo
from kefu import pdf

pytestmark = pytest.mark.skipif(bool(pgtest.URL),
                                reason="its demo estate is a SQLite file whatever the run: "
                                "on PostgreSQL it would repeat the SQLite run's work")

# One login per role, and the second assistant (the other zone's records are the ones at risk),
# and two business units (a unit sees only its own orders).
LOGINS = ["admin", "zhuguan", "zhuli1", "zhuli2", "qiantai", "gongcheng", "baojie"]
PAGES = 300  # per login
PER_PATTERN = 10  # addresses of one shape fetched per login
SKIP_PATHS = ("/static/", "/logout", "/sw.js")


class Links(HTMLParser):
    """The addresses a page offers: <a href>, hx-get, and GET forms' actions with their fields' values."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = []  # (url, htmx?)
        self.form = None  # [action, fields] of the GET form being read

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.found.append((attrs["href"], False))
        if attrs.get("hx-get"):
            self.found.append((attrs["hx-get"], True))
        if tag == "form" and (attrs.get("method") or "get").lower() == "get":
            self.form = [attrs.get("action") or "", []]
        elif tag == "form":
            self.form = None
        if self.form is not None and tag in ("input", "select", "textarea") and attrs.get("name"):
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            if tag == "input":
                self.form[1].append((attrs["name"], attrs.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form" and self.form is not None:
            action, fields = self.form
            self.found.append((action + ("?" + urlencode(fields) if fields else ""), False))
            self.form = None


def pattern(path):
    return re.sub(r"\d+", "N", path)


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    stopped = time_machine.travel(FROZEN, tick=False)
    stopped.start()
    folder = tmp_path_factory.mktemp("crawl")
    app = create_app({"TESTING": True, "INSTANCE": str(folder), "DATABASE": str(folder / "demo.sqlite3"),
                      "PHOTOS": str(folder / "photos"), "WTF_CSRF_ENABLED": False, "SCHEDULER": False,
                      # As a deployment sets it: the sticker sheet refuses to print without it.
                      "PUBLIC_URL": "http://localhost"})
    with db.database.connection_context():
        demo.build()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf, "HTML", NoLayout)
        yield app
    if not db.database.is_closed():
        db.database.close()
    stopped.stop()


class NoLayout:
    """WeasyPrint's HTML, without the layout: the crawl checks who may open a PDF, not how it looks."""

    def __init__(self, string, base_url=None, url_fetcher=None):
        assert "</html>" in string

    def write_pdf(self, cache=None):
        return b"%PDF-1.7 (not laid out)"


def crawl(app, username):
    """{problem: [where it was offered]} for one login, and how many addresses were fetched."""
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": demo.PASSWORD}).status_code == 303
    queue = collections.deque([("/", "登录后", False)])
    seen, shapes, problems, fetched = {"/"}, collections.Counter(), collections.defaultdict(list), 0
    while queue and fetched < PAGES:
        url, offered_on, htmx = queue.popleft()
        path = urlsplit(url).path
        shape = pattern(path) + ("?" if urlsplit(url).query else "")
        limit = PER_PATTERN
        if shapes[shape] >= limit:
            continue
        shapes[shape] += 1
        fetched += 1
        with client.get(url, headers={"HX-Request": "true"} if htmx else {}) as response:
            body = response.get_data()
            status = response.status_code
            kind = response.headers.get("Content-Type", "")
        if status in (403, 404) or status >= 500:
            problems[f"{status} {url}"].append(offered_on)
            continue
        if status in (301, 302, 303):
            location = urlsplit(urljoin("http://localhost" + url, response.location))
            assert location.path != "/login", f"{username} signed out by {url}"
            address = location.path + (f"?{location.query}" if location.query else "")
            if address not in seen:
                seen.add(address)
                queue.append((address, url, False))
            continue
        assert status in (200, 204), f"{status} {url}"
        if "text/html" not in kind:
            continue
        parser = Links()
        parser.feed(body.decode())
        for link, is_htmx in parser.found:
            link = html.unescape(link)
            target = urlsplit(urljoin("http://localhost" + url, link))
            if target.netloc != "localhost" or target.scheme not in ("http", "https"):
                continue  # tel:, mailto:, another site
            address = target.path + (f"?{target.query}" if target.query else "")
            if target.path.startswith(SKIP_PATHS) or address in seen:
                continue
            seen.add(address)
            queue.append((address, url, is_htmx))
    return problems, fetched, shapes


@pytest.mark.parametrize("username", LOGINS)
def test_every_link_offered_opens(demo_app, username):
    started = time.perf_counter()
    problems, fetched, shapes = crawl(demo_app, username)
    report = {problem: sorted(set(where))[:3] for problem, where in problems.items()}
    assert fetched > 20, shapes  # the crawl went somewhere
    listed = "\n".join(f"  {problem}  (offered on {', '.join(where)})" for problem, where in sorted(report.items()))
    assert not report, f"{len(report)} links refused ({fetched} pages in {time.perf_counter() - started:.1f} s):\n{listed}"
