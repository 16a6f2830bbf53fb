"""Hostile input: every state-changing route, posted generated junk as every role, never answers 5xx.

One app serves a temp copy of the demo estate; each (route, role) starts from a fresh copy, so what
one route stores or voids never hides another's records. URL parameters are filled with demo records
the role may see (the way test_access.py fills its table), so requests reach the handlers. Each
form's fields are read from the page that shows it; hypothesis fills them from empty, huge, control
characters, lone surrogates and invalid UTF-8 sent raw, emoji, markup, SQL, wrong types, numbers and
dates out of range, a field missing or sent twice, urlencoded or multipart, with and without htmx.
A refusal says why in words (beside the field for a 422), typed markup comes back escaped, and a
forged or missing CSRF token gets 400 with 页面已过期. Photos that aren't photos are refused at the
upload route and in a form, nothing stored (test_uploads.py checks the same by content at the rule).
The figures print at the end of the run. KEFU_SOAK=1 (`make soak`) tries 100 examples per case,
KEFU_SOAK=N N (300 take hours on a two-core machine).
"""
import collections
import datetime
import io
import os
import re
import shutil
import struct
import traceback
import zipfile
import zlib
from html.parser import HTMLParser
from urllib.parse import quote_from_bytes
from urllib.parse import urljoin
from urllib.parse import urlsplit

import openpyxl
import pytest
import time_machine
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import seed
from hypothesis import settings
from hypothesis import strategies as st
from PIL import Image

import pgtest
from conftest import FROZEN
from conftest import text
from figures import show
from kefu import channels
from kefu import escalations
from kefu import clock
from kefu import create_app
from kefu import customers
from kefu import db
from kefu import demo
from kefu import estate
from kefu import evaluations
from kefu import imports
from kefu import meetings
from kefu import patrols
from kefu import renovations
from kefu import residents
from kefu import services
from kefu import shops
from kefu import summaries
from kefu import tickets
from kefu import uploads
from kefu import users
from kefu import words
from kefu import workorders
from kefu.views import register
from test_access import ACCESS
from test_access import ANYONE

pytestmark = pytest.mark.skipif(bool(pgtest.URL),
                                reason="its demo estate is a SQLite file whatever the run (copied for each example): "
                                "on PostgreSQL it would repeat the SQLite run's work")

SOAK = int(os.environ.get("KEFU_SOAK") or 0)  # 1: 100 examples per route and role; N > 1: N
EXAMPLES = (100 if SOAK == 1 else SOAK) or 12  # per (route, role) the view lets in
EXAMPLES_REFUSED = 20 if SOAK else 2  # a role the view refuses before it reads the form

STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")


def _served():
    """'METHOD /rule' → the roles its view admits, for every state-changing route the views declare."""
    app = Flask("kefu-routes")
    register(app)
    return {f"{method} {rule.rule}": getattr(app.view_functions[rule.endpoint], "allowed_roles", ANYONE)
            for rule in app.url_map.iter_rules() for method in sorted(rule.methods & set(STATE_CHANGING))}


SERVED = _served()
ROUTES = sorted(SERVED)
# Demo logins per role (password demo.PASSWORD); None is a visitor who hasn't signed in.
USERNAMES = {"admin": "admin", "supervisor": "zhuguan", "assistant": "zhuli1", "frontdesk": "qiantai",
             "unit": "gongcheng"}
ROLES = [*USERNAMES, None]


class Huge(str):
    """A long value that prints short in hypothesis' report of a failing example."""

    def __repr__(self):
        return f"{self[:1]!r} * {len(self)}"


XSS = '<script>alert("kefu-xss")</script>'
XSS_ATTR = '"><img src=x onerror=alert("kefu-xss")>'
RAW_MARKUP = ('<script>alert("kefu-xss")', '<img src=x onerror=alert("kefu-xss")')
ESCAPED = "&lt;script&gt;alert(&#34;kefu-xss&#34;)"

HOSTILE = [
    "", " ", "\u3000\t\r\n ",
    Huge("x" * 100_000), Huge("长" * 100_000),
    "\x00", "a\x00b", "\x01\x02\x07\x08\x0b\x0c\x1b[31m\x7f", "\x85\u2028\u2029\u202e\ufeff\u200b", "行一\r\n行二\r行三",
    "\ud800", "a\udfffb",  # lone surrogates, sent as their (invalid) UTF-8 bytes
    b"\xff\xfe", b"\xc3\x28", b"\xc0\xaf", b"\xe2\x82", b"\xed\xa0\x80", b"caf\xe9",
    "😀", "👨‍👩‍👧‍👦🏳️‍🌈", "e\u0301\u0334\u0321", "𠀀𪚥",
    XSS, XSS_ATTR, "{{ 7*7 }}", "{% if 1 %}x{% endif %}", "<b>粗</b>&amp;&lt;", "javascript:alert(1)",
    "'; DROP TABLE ticket; --", "1 OR 1=1", "%' OR '1'='1", '" OR ""="', "_%*", "\\",
    "-1", "0", "1", "3.5", "1e309", "NaN", "inf", "-0", "0x10", " 7 ", "²", "١٢", "٣",
    "99999999999999999999999", "9223372036854775808", "-9223372036854775809", "2147483648",
    "2026-02-30", "0001-01-01", "9999-12-31", "10000-01-01", "2026-13-01", "27/11/2026",
    "0001-01-01T00:00", "9999-12-31T23:59", "2026-11-27T25:61", "2026-11-27 10:00",
    "25:00", "23:59", "12:60", "2026-11", "0000-00",
]
TYPED = {
    "date": ["2026-11-27", "2026-02-29", "1900-01-01", "0001-01-01", "9999-12-31", "2026-1-1", "20261127"],
    "datetime-local": ["2026-11-27T10:00", "0001-01-01T00:00", "9999-12-31T23:59", "2026-11-27T10:00:60",
                       "1970-01-01T00:00", "2026-11-27T10:00:00"],
    "time": ["08:00", "00:00", "23:59", "24:00", "8", "08:00:00"],
    "month": ["2026-11", "0001-01", "9999-12", "2026-00"],
    "number": ["-1", "0", "1", "100", "1e9", "99999999999999999999999", "-9223372036854775809", "²"],
}


def as_bytes(value):
    """A value as it goes on the wire: text as UTF-8, lone surrogates included (invalid UTF-8)."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


# The demo estate, once, and a fresh copy of it for every (route, role)

class Env:
    def __init__(self, app, csrf_app, pristine, ids, cookies):
        self.app, self.csrf_app, self.pristine, self.ids, self.cookies = app, csrf_app, pristine, ids, cookies
        self.folder = os.path.dirname(pristine)
        self.work, self.copies, self.fields = None, 0, {}

    def fresh(self):
        """Bind the database to a new copy of the demo estate.

        Each copy gets a new file: a request that raised leaves its connection open until the
        traceback is freed, and SQLite shares lock and WAL state between the connections of a
        process to one file, so a copy written over the old file would read stale state."""
        if not db.database.is_closed():
            db.database.close()
        previous = self.work
        self.copies += 1
        self.work = f"{self.folder}/work-{self.copies}.sqlite3"
        shutil.copyfile(self.pristine, self.work)
        db.database.init(self.work, pragmas=db.PRAGMAS)
        for suffix in ("", "-wal", "-shm"):
            if previous and os.path.exists(previous + suffix):
                os.remove(previous + suffix)

    def client(self, role, app=None):
        client = (app or self.app).test_client()
        if role is not None:
            client.set_cookie("session", self.cookies[role])
        return client


FIGURES = {"cases": set(), "routes": set(), "roles": set(), "examples": 0, "requests": 0, "5xx": 0,
           "statuses": collections.Counter(), "escaped": 0, "csrf": 0, "uploads": 0, "formless": set()}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    # The clock stands still at FROZEN for the whole module, as for every other test.
    clock_stopped = time_machine.travel(FROZEN, tick=False)
    clock_stopped.start()
    folder = tmp_path_factory.mktemp("hostile")
    pristine = str(folder / "demo.sqlite3")
    config = {"TESTING": True, "INSTANCE": str(folder), "DATABASE": pristine, "PHOTOS": str(folder / "photos"),
              "WTF_CSRF_ENABLED": False, "SCHEDULER": False}
    app = create_app(config)
    with db.database.connection_context():
        demo.build()
        ids = _records()
    cookies = {}
    for role, username in USERNAMES.items():
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": demo.PASSWORD})
        assert response.status_code == 303, username
        cookies[role] = client.get_cookie("session").value
    # The same database and signing key; only CSRF protection differs.
    csrf_app = create_app({**config, "WTF_CSRF_ENABLED": True})
    if not db.database.is_closed():
        db.database.close()
    made = Env(app, csrf_app, pristine, ids, cookies)
    yield made
    if not db.database.is_closed():
        db.database.close()
    clock_stopped.stop()
    _show_figures()


def _show_figures():
    f = FIGURES
    if not f["requests"]:
        return
    roles = len(f["roles"])
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(f["statuses"].items()))
    show(f"hostile input: {len(f['routes'])} state-changing routes × {roles} roles = {len(f['cases'])} cases, "
         f"{f['examples']} examples ({EXAMPLES} generated per case the view admits, {EXAMPLES_REFUSED} otherwise, "
         f"+ the form filled in plainly and with markup), {f['requests']} requests: 5xx = {f['5xx']}\n"
         f"  CSRF: {f['csrf']} forged or missing tokens refused with 400 页面已过期; uploads: {f['uploads']} disguised, "
         f"bomb, oversize and empty files refused, nothing stored; typed markup shown escaped on {f['escaped']} pages\n"
         f"  statuses: {statuses}; cases posting guessed fields (no form on a page): {len(f['formless'])}")


def _records():
    """Demo records per URL parameter, each one the role meant for the route may see and act on,
    plus the few states the demo lacks (a request not yet responded to, a paused one, …)."""
    assistant = users.User.get(users.User.username == USERNAMES["assistant"])
    today = clock.today(estate.Estate.current().tz)
    unit_user = users.User.get(users.User.username == USERNAMES["unit"])
    colleague = users.User.get(users.User.username == "zhuli2")
    zone = estate.Zone.of_assistant(assistant).get()
    Ticket, WorkOrder, Finding = tickets.Ticket, workorders.WorkOrder, patrols.Finding
    mine = Ticket.live().where(Ticket.zone == zone)
    household = (estate.Household.live().join(estate.ZoneBuilding, on=(
        estate.ZoneBuilding.building == estate.Household.building))
        .where(estate.ZoneBuilding.zone == zone).order_by(estate.Household.id).first())
    resident = estate.add_resident(assistant, household, "王先生", "13812345678", "业主")
    tier = tickets.Tier.get(tickets.Tier.name == "一般")
    received, _ = tickets.create(assistant, channel="现场", category="工程维修", tier=tier,
                                 description="卫生间天花板漏水", household=household)
    paused, _ = tickets.create(assistant, channel="现场", category="工程维修", tier=tier,
                               description="楼道灯不亮", household=household)
    paused = tickets.respond(assistant, paused, paused.version, "上门", "")
    paused = tickets.pause(assistant, paused, paused.version, tickets.PAUSE_REASONS[0], "")
    in_progress = mine.where(Ticket.state == "in_progress", Ticket.escalation_level == 0).first()
    orders = WorkOrder.select().where(WorkOrder.zone_id == zone.id, WorkOrder.unit == unit_user.unit_id)

    renovation = (renovations.Renovation.live().where(renovations.Renovation.zone == zone,
                                                      renovations.Renovation.state == "active")
                  .order_by(renovations.Renovation.id.desc()).first())
    violation, _ = renovations.record_violation(assistant, renovation, "超时施工", "午休时间电钻施工")
    # A notice not yet served (its 送达 form and its void), and a referral not yet answered.
    noticed, _ = renovations.record_violation(assistant, renovation, "占用公共部位", "楼道堆放建材")
    notice = renovations.issue_notice(assistant, renovation, [noticed], "立即清理",
                                      today + datetime.timedelta(days=3))
    referred, _ = renovations.record_violation(assistant, renovation, "违规拆改", "拆除承重墙")
    referral = renovations.escalate(assistant, renovation, renovations.BODIES[0], "请协助处理",
                                    [referred], reason_without_notice="业主拒绝开门")
    # An open finding at the renovation, so it can also be recorded as a violation.
    checkpoint = patrols.Checkpoint.get_by_id(renovation.checkpoint_id)
    answers = {item.id: ("ok", "") for item in checkpoint.checklist.live_items()}
    answers[next(iter(answers))] = ("fail", "午休时间施工")
    renovation_check, _ = patrols.record_check(assistant, checkpoint, "scan", answers)
    shop = shops.Shop.live().where(shops.Shop.zone == zone).first()
    shop_notice, _ = shops.issue_notice(assistant, shop, "清理门前堆物", today + datetime.timedelta(days=3),
                                        problem="门前堆放纸箱")
    served_shop_notice = shops.ShopNotice.select().join(shops.Shop).where(
        shops.Shop.zone == zone, shops.ShopNotice.served_at.is_null(False)).first()
    submitted = summaries.MonthlySummary.get(summaries.MonthlySummary.state == "submitted")
    open_findings = Finding.select().join(patrols.Checkpoint).where(Finding.zone == zone, Finding.state == "open")

    period = next(start for start, end, kind in reversed(evaluations.periods(evaluations.start_of(assistant), today))
                  if end < today and not evaluations.Evaluation.live().where(
            evaluations.Evaluation.user == assistant, evaluations.Evaluation.period_start == start).exists())
    evaluation = evaluations.open_evaluation(users.User.get(users.User.role == "supervisor"), assistant, period)
    review = evaluations.ask_unit(assistant, evaluation, unit_user,
                                  list(evaluations.EvaluationItem.ordered())[-1:])
    public_checkpoint = patrols.Checkpoint.live().where(patrols.Checkpoint.zone == zone,
                                                        patrols.Checkpoint.kind == "public").first()
    # 住户自助: an outage at the household's building, a resolved request to rate, an unverified self-report.
    supervisor = users.User.get(users.User.role == "supervisor")
    outage = residents.post_outage(supervisor, kind="停水", title="水箱清洗", detail="", advice="",
                                   starts_at=clock.utcnow(), until=clock.utcnow() + datetime.timedelta(hours=4),
                                   buildings=[household.building])
    unverified = residents.SelfReport.select().where(~residents.SelfReport.verified).first().ticket
    nudged = residents.Nudge.select().where(residents.Nudge.answered_at.is_null()).first().ticket
    return {
        "kind": "b", "record_id": household.building_id, "outage_id": outage.id,
        "POST /s/<token>/nudge": {"token": received.link_token},
        "POST /s/<token>/rate": {"token": mine.where(Ticket.state == "resolved").first().link_token},
        "POST /tickets/<int:ticket_id>/verify": {"ticket_id": unverified.id},
        "POST /tickets/<int:ticket_id>/answer": {"ticket_id": nudged.id},
        "POST /tickets/<int:ticket_id>/outage": {"ticket_id": received.id},
        "building_id": household.building_id, "household_id": household.id, "resident_id": resident.id,
        "place_id": estate.Place.live().first().id, "zone_id": zone.id, "unit_id": unit_user.unit_id,
        "user_id": colleague.id, "tier_id": tier.id, "group_id": words.Synonym.live().first().id, "item_id": services.ServiceItem.live().first().id,
        "checklist_id": patrols.Checklist.get(patrols.Checklist.code == "facility").id,
        "checkpoint_id": public_checkpoint.id, "token": public_checkpoint.token,
        "finding_id": open_findings.first().id,
        "observation_id": patrols.Observation.live().where(patrols.Observation.zone == zone,
                                                          patrols.Observation.state == "open").first().id,
        "ticket_id": in_progress.id, "order_id": orders.where(WorkOrder.state == "working").first().id,
        "renovation_id": renovation.id, "action": "pause", "violation_id": violation.id,
        "notice_id": notice.id, "referral_id": referral.id,
        "shop_id": shop.id,
        "robot_id": channels.add_robot(None, name="一区群", platform="wecom", url="https://example.com/hook?key=k").id,
        "need_id": customers.Need.live().where(customers.Need.zone == zone,
                                               customers.Need.outcome == "open").first().id,
        "service_id": services.ServiceOrder.select().where(services.ServiceOrder.zone == zone,
                                                           services.ServiceOrder.state.in_(services.OPEN)).first().id,
        "evaluation_id": evaluation.id, "review_id": review.id,
        "action_id": meetings.Action.select().where(meetings.Action.state == "open").first().id,
        "day": today.isoformat(), "month": f"{today:%Y-%m}",
        # A staff import whose accounts have never signed in (its password sheet can be made again).
        "key": imports.apply(None, "users", "人员.csv", "姓名,用户名,角色\r\n导入甲,import1,前台\r\n".encode()).batch,
        "escalation_id": escalations.Escalation.select().where(escalations.Escalation.ref_type != "ticket",
                                                               escalations.Escalation.state == "pending").first().id,
        # Routes that need a record in another state than the parameter's default.
        "POST /tickets/<int:ticket_id>/respond": {"ticket_id": received.id},
        "POST /tickets/<int:ticket_id>/dispatch": {"ticket_id": mine.where(Ticket.state == "responded").first().id},
        "POST /tickets/<int:ticket_id>/resume": {"ticket_id": paused.id},
        "POST /tickets/<int:ticket_id>/followup": {"ticket_id": mine.where(Ticket.state == "resolved").first().id},
        "POST /tickets/<int:ticket_id>/close": {"ticket_id": mine.where(Ticket.state == "resolved").first().id},
        "POST /tickets/<int:ticket_id>/case": {"ticket_id": mine.where(Ticket.state == "closed").first().id},
        "POST /tickets/<int:ticket_id>/supervise": {
            "ticket_id": mine.where(Ticket.state == "in_progress", Ticket.escalation_level == 1).first().id},
        "POST /workorders/<int:order_id>/accept": {
            "order_id": orders.where(WorkOrder.state == "dispatched").first().id},
        "POST /workorders/<int:order_id>/inspect": {"order_id": orders.where(WorkOrder.state == "reported").first().id},
        "POST /patrols/findings/<int:finding_id>/shop-notice": {
            "finding_id": open_findings.where(patrols.Checkpoint.kind == "shop").first().id},
        "POST /patrols/findings/<int:finding_id>/violation": {"finding_id": renovation_check.findings.get().id},
        "POST /shops/notices/<int:notice_id>": {"notice_id": shop_notice.id},
        "POST /shops/notices/<int:notice_id>/recheck": {"notice_id": served_shop_notice.id},
        "POST /shops/notices/<int:notice_id>/void": {"notice_id": shop_notice.id},
        "POST /evaluations/staff/<int:user_id>": {"user_id": assistant.id},
        # An assistant comments on their own evaluation once it is signed off (a draft isn't theirs to open).
        "POST /evaluations/<int:evaluation_id>/comment": {"evaluation_id": evaluations.Evaluation.get(
            evaluations.Evaluation.user == assistant, evaluations.Evaluation.state == "signed").id},
        "POST /summaries/<int:user_id>/<month>": {"user_id": submitted.user_id, "month": f"{submitted.month:%Y-%m}"},
        "POST /worklog/<int:user_id>/<day>": {"user_id": assistant.id},
        "POST /admin/import/<kind>": {"kind": "residents"},
        "POST /admin/import/<kind>/<token>": {"kind": "residents", "token": "t" * 24},
        "POST /setup/<step>": {"step": "buildings"},
    }


def url_of(key, ids):
    method, rule = key.split(" ", 1)
    values = {**ids, **ids.get(key, {})}
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def allowed(key, role):
    """Whether the route is meant for the role: test_access.py's table, else the view's own roles."""
    who = ACCESS.get(key, SERVED[key])
    return who is ANYONE or (role is not None and role in who)


def admitted(key, role):
    """Whether the view lets the role in at all (it may still refuse the record: 403 or 404)."""
    who = SERVED[key]
    return who is ANYONE or (role is not None and role in who)


# The fields of a form, read from the page that shows it

class _Forms(HTMLParser):
    """Every <form method=post>: its action and its fields (name → kind, values the page offers)."""

    def __init__(self, base):
        super().__init__(convert_charrefs=True)
        self.base, self.forms, self._form, self._select, self._textarea = base, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._form = (urlsplit(urljoin(self.base, a.get("action") or self.base)).path, {})
                self.forms.append(self._form)
            return
        if tag == "option":
            if self._select is not None:
                self._select.append(a.get("value", ""))
            return
        name = a.get("name")
        if tag in ("input", "button") and a.get("hx-post") and name:
            # The photo picker uploads on its own (hx-post), with the ids already uploaded and its
            # hx-vals; those fields post to that URL.
            path = urlsplit(urljoin(self.base, a["hx-post"])).path
            suffix = name.removeprefix("photos")
            self.forms.append((path, {name: ("file", []), f"photo_ids{suffix}": ("hidden", []),
                                      "photo_suffix": ("hidden", [suffix]), "photo_label": ("hidden", ["照片"])}))
        if self._form is None or not name:
            return
        fields = self._form[1]
        if tag == "input" and a.get("type") == "file" and name.startswith("photos"):
            fields.setdefault("photo_ids" + name.removeprefix("photos"), ("hidden", []))
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "reset", "image") and "value" not in a:
                return
            values = fields.setdefault(name, (kind, []))[1]
            if a.get("value", "") != "":
                values.append(a["value"])
            if a.get("inputmode") == "numeric":
                fields[name] = ("number", values)
        elif tag == "button":
            fields.setdefault(name, ("button", []))[1].append(a.get("value", ""))
        elif tag == "select":
            self._select = fields.setdefault(name, ("select", []))[1]
        elif tag == "textarea":
            self._textarea = fields.setdefault(name, ("textarea", []))[1]

    def handle_data(self, data):
        if self._textarea is not None and data.strip():
            self._textarea.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


# Where the form for a route that has no page of its own is shown.
FORM_PAGES = {
    "POST /logout": ["/me"],
    "POST /notices/read": ["/"],
    "POST /photos": ["/tickets/new", "/patrols/observations/new", "/admin/places/new", "/workorders/{order_id}/report"],
    "POST /admin/residents/<int:resident_id>/void": ["/admin/households/{household_id}"],
    "POST /evaluations/open": ["/evaluations/staff/{assistant}", "/evaluations"],
    "POST /evaluations/<int:evaluation_id>/ask": ["/evaluations/{evaluation_id}"],
    "POST /evaluations/<int:evaluation_id>/comment": ["/evaluations/{evaluation_id}"],
    "POST /renovations/notices/<int:notice_id>/void": ["/renovations/notices/{notice_id}"],
    "POST /workorders/<int:order_id>/accept": ["/workorders/{order_id}"],
    "POST /admin/synonyms/<int:group_id>/void": ["/admin/synonyms/{group_id}"],
}


def _candidates(key, path, ids):
    pages = [page.format(assistant=ids["POST /evaluations/staff/<int:user_id>"]["user_id"], **{
        k: v for k, v in ids.items() if not isinstance(v, dict)}) for page in FORM_PAGES.get(key, [])]
    parts = path.rstrip("/").split("/")
    pages += ["/".join(parts[:n]) or "/" for n in range(len(parts), 1, -1)]
    return pages


def discover(env, key, role, client):
    """{field name: (kind, values offered)} of the form(s) that post to the route, read as `role`."""
    cache_key = (key, role if admitted(key, role) else "any")
    if cache_key in env.fields:
        return env.fields[cache_key]
    path = url_of(key, env.ids)
    fields, seen = {}, False
    if admitted(key, role):
        for page in _candidates(key, path, env.ids):
            response = client.get(page)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            parser = _Forms(page)
            parser.feed(response.get_data(as_text=True))
            for action, found in parser.forms:
                if action == path:
                    seen = True
                    for name, (kind, values) in found.items():
                        fields.setdefault(name, (kind, []))[1].extend(values)
            if seen:
                break
    fields.pop("csrf_token", None)
    if not fields:  # a form of a button alone, or none found: fields such forms often have
        fields = {"reason": ("textarea", []), "note": ("textarea", []), "version": ("hidden", [])}
    if admitted(key, role) and not seen:
        FIGURES["formless"].add((key, role))
    env.fields[cache_key] = fields
    return fields


# Generated requests

def values_for(kind, offered):
    pools = [st.sampled_from(HOSTILE),
             st.text(st.characters(codec=None, exclude_categories=()), max_size=30)]
    if kind in TYPED:
        pools.append(st.sampled_from(TYPED[kind]))
    if offered:
        pools.append(st.sampled_from(offered))
    return st.one_of(*pools)


PLAUSIBLE = {"date": "2026-11-20", "datetime-local": "2026-11-28T10:00", "time": "09:00", "month": "2026-10",
             "number": "1", "tel": "13812345678"}
# Text inputs whose name says what they hold.
BY_NAME = [("phone", "13812345678"), ("household", "1-1-101"), ("date", "2026-11-20"), ("day", "2026-11-20"),
           ("deadline", "2026-11-30"), ("start", "2026-11-20"), ("end", "2026-11-30"), ("month", "2026-10")]


def plausible(name, kind, offered):
    """What a user would likely send, most likely first: a real option the page offers, the value
    it shows, something ordinary for the kind or name of input, or nothing."""
    real = [value for value in offered if value.strip() not in ("", "0")]
    if kind in ("select", "radio", "checkbox", "hidden", "button", "file"):
        return real[:3] or offered[:1] or [""]
    if real:
        return real[:1]
    named = [value for word, value in BY_NAME if word in name]
    return [*named[:1], PLAUSIBLE.get(kind, "测试内容"), ""]


def baseline(fields, markup=False):
    """The form filled as a user would (`markup`: a script tag in every textarea, or in every
    text input when there are none)."""
    pairs = []
    free_text = None if any(kind == "textarea" for kind, _ in fields.values()) else "text"
    for name, (kind, offered) in sorted(fields.items()):
        if kind == "file":
            continue
        value = plausible(name, kind, offered)[0]
        if markup and kind == (free_text or "textarea"):
            value = XSS
        pairs.append((name, value))
    return pairs, [], "urlencoded", False


@st.composite
def payloads(draw, fields):
    """(pairs, files, encoding, htmx). Either one field hostile and the rest as a user would fill
    them (so the request gets past the form into the rules), or every field hostile; a hostile
    field may be missing or sent two or three times."""
    pairs, files = [], []
    names = sorted(fields)
    target = draw(st.sampled_from([*names, None])) if names else None
    for name in names:
        kind, offered = fields[name]
        if target is not None and name != target:
            if kind != "file":
                pairs.append((name, draw(st.sampled_from(plausible(name, kind, offered)))))
            continue
        times = draw(st.sampled_from([1, 1, 1, 0, 2, 3]))
        for _ in range(times):
            if kind == "file":
                content = draw(st.sampled_from([b"", b"%PDF-1.4 junk", b"<svg onload=alert(1)>", b"\x89PNG\r\n"]))
                files.append((name, draw(st.sampled_from(["a.jpg", "", "../../etc/passwd", XSS])), content))
            else:
                pairs.append((name, draw(values_for(kind, offered))))
    if draw(st.booleans()):
        pairs.append((draw(st.sampled_from(["id", "role", "zone", "state", "__proto__", XSS])),
                      draw(st.sampled_from(HOSTILE))))
    encoding = draw(st.sampled_from(["urlencoded", "multipart", "raw"]))
    if files:
        encoding = "multipart"
    return pairs, files, encoding, draw(st.booleans())


def encode(pairs, files, encoding):
    """The request body and its content type, built by hand so invalid bytes go out as they are."""
    if encoding == "multipart":
        boundary = b"kefu-hostile-boundary-7MA4YWxkTrZu0gW"
        body = b""
        for name, value in pairs:
            body += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + as_bytes(name)
                     + b'"\r\n\r\n' + as_bytes(value) + b"\r\n")
        for name, filename, content in files:
            body += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="' + as_bytes(name)
                     + b'"; filename="' + as_bytes(filename).replace(b'"', b"%22")
                     + b'"\r\nContent-Type: image/jpeg\r\n\r\n' + content + b"\r\n")
        body += b"--" + boundary + b"--\r\n"
        return body, "multipart/form-data; boundary=" + boundary.decode()
    parts = []
    for name, value in pairs:
        data = as_bytes(value)
        if encoding == "raw":
            # Only the separators escaped: every other byte goes into the body as it is.
            data = data.replace(b"%", b"%25").replace(b"&", b"%26").replace(b"=", b"%3D").replace(b"+", b"%2B")
        else:
            data = quote_from_bytes(data, safe="").encode()
        parts.append(quote_from_bytes(as_bytes(name), safe="").encode() + b"=" + data)
    return b"&".join(parts), "application/x-www-form-urlencoded"


def send(client, method, url, body=None, content_type=None, headers=None):
    """One request; an exception escaping the app counts as a 5xx, with its traceback."""
    FIGURES["requests"] += 1
    failure = None
    try:
        response = client.open(url, method=method, data=body, content_type=content_type, headers=headers or {})
        response.get_data()
        response.close()
    except Exception:
        failure = traceback.format_exc()
    if failure:
        # Raised outside the except block, so the request's frames (and its database cursor) are freed.
        FIGURES["5xx"] += 1
        raise AssertionError(f"{method} {url} raised:\n{failure}")
    FIGURES["statuses"][response.status_code] += 1
    if response.status_code >= 500:
        FIGURES["5xx"] += 1
    return response


def has_message(response):
    """A refusal carries a message: an element marked role=alert (beside the field or above the
    form), for an error page its visible text, for a JSON answer its "error"."""
    body = response.get_data(as_text=True)
    if response.is_json:  # an endpoint for the page's own script (push subscriptions): its words in "error"
        answer = response.get_json(silent=True)
        return isinstance(answer, dict) and str(answer.get("error") or "").strip() != ""
    if response.status_code == 422:
        return re.search(r'(role="alert"|class="(error|flash flash-error|form-errors)")[^>]*>\s*(<p>\s*)?[^<\s]',
                         body) is not None
    return text(response).strip() != ""


def check(response, what):
    status = response.status_code
    assert status < 500, f"{what}: HTTP {status}\n{text(response)[:500]}"
    if response.mimetype == "text/html":
        body = response.get_data(as_text=True)
        for raw in RAW_MARKUP:
            assert raw not in body, f"{what}: typed markup came back unescaped"
    if status == 401 and response.headers.get("HX-Redirect"):
        return  # a signed-out htmx request: htmx follows the header to the login page
    if 400 <= status < 500:
        assert has_message(response), f"{what}: HTTP {status} without a message"


# The tests

def test_every_state_changing_route_is_covered(env):
    served = {f"{method} {rule.rule}" for rule in env.app.url_map.iter_rules()
              for method in rule.methods & set(STATE_CHANGING)}
    assert served == set(ROUTES), "a route registered outside kefu.views.register"


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role or "signed-out")
@pytest.mark.parametrize("key", ROUTES)
def test_hostile_form_input_never_fails_the_server(env, key, role):
    env.fresh()
    method = key.split(" ", 1)[0]
    url = url_of(key, env.ids)
    fields = discover(env, key, role, env.client(role))
    meant = allowed(key, role)
    outcomes = collections.Counter()
    FIGURES["cases"].add((key, role))
    FIGURES["routes"].add(key)
    FIGURES["roles"].add(role)

    @example(baseline(fields, markup=True))
    @example(baseline(fields))
    @seed(zlib.crc32(f"{key} {role}".encode()))
    @settings(max_examples=EXAMPLES if admitted(key, role) else EXAMPLES_REFUSED, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(payloads(fields))
    def post(payload):
        pairs, files, encoding, htmx = payload
        FIGURES["examples"] += 1
        client = env.client(role)
        body, content_type = encode(pairs, files, encoding)
        headers = {"HX-Request": "true"} if htmx else {}
        what = f"{key} as {role or 'signed out'} ({encoding}{', htmx' if htmx else ''})"
        response = send(client, method, url, body, content_type, headers)
        check(response, what)
        outcomes[response.status_code] += 1
        if response.status_code in (302, 303) and response.location:
            page = send(client, "GET", response.location, headers=headers)
            check(page, f"{what} → GET {response.location}")
            if page.mimetype == "text/html" and ESCAPED in page.get_data(as_text=True):
                FIGURES["escaped"] += 1

    post()
    if role is None and SERVED[key] is not ANYONE:
        assert set(outcomes) <= {302, 401}, outcomes  # to the login page
    elif not admitted(key, role):
        assert set(outcomes) == {403}, outcomes
    elif meant:
        assert set(outcomes) - {403, 404}, f"{key} never reached its handler as {role}: {outcomes}"


# A forged or missing CSRF token

def csrf_token(client):
    """The CSRF token of the client's session, as the page gives it to htmx."""
    for url in ("/me", "/login"):  # signed in, signed out
        found = re.search(r'"X-CSRFToken": "([^"]+)"', client.get(url).get_data(as_text=True))
        if found:
            return found.group(1)
    raise AssertionError("no CSRF token on the page")


@pytest.mark.parametrize("key", ROUTES)
def test_forged_or_missing_csrf_token_is_refused_in_words(env, key):
    env.fresh()
    role = next((role for role in ROLES if allowed(key, role)), None)
    method, url = key.split(" ", 1)[0], url_of(key, env.ids)
    pairs = baseline(discover(env, key, role, env.client(role)))[0]
    stranger = csrf_token(env.client("admin" if role != "admin" else "unit", env.csrf_app))

    def post(token, headers=None):
        client = env.client(role, env.csrf_app)
        sent = pairs + ([("csrf_token", token)] if token is not None else [])
        return send(client, method, url, *encode(sent, [], "urlencoded"), headers or {})

    @example(token=None, in_header=False)  # missing
    @example(token=stranger, in_header=False)  # valid, but another session's
    @example(token=stranger, in_header=True)
    @seed(zlib.crc32(key.encode()))
    @settings(max_examples=EXAMPLES_REFUSED, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(token=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=60), st.just(stranger[:-2] + "xx")),
           in_header=st.booleans())
    def refused(token, in_header):
        if in_header and isinstance(token, str) and token.isascii() and token.isprintable():
            response = post(None, {"X-CSRFToken": token, "HX-Request": "true"})
        else:
            response = post(token)
        check(response, f"{key} with CSRF token {token!r}")
        assert response.status_code == 400 and "页面已过期" in text(response), response.status_code
        FIGURES["csrf"] += 1

    refused()
    # The same request with the session's own token gets past the check: the token was the reason.
    own = env.client(role, env.csrf_app)
    response = send(own, method, url, *encode(pairs + [("csrf_token", csrf_token(own))], [], "urlencoded"))
    check(response, f"{key} with the session's CSRF token")
    assert response.status_code != 400 or "页面已过期" not in text(response)


# Photos that aren't what their name says, too big, or empty

def disguised_files():
    """(file name, bytes) the upload must refuse: each a .jpg that isn't a photo it can take."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("photo.jpg", b"\xff\xd8\xff\xe0 not really")
    small = io.BytesIO()
    Image.new("1", (200, 200)).save(small, "PNG")
    bomb = bytearray(small.getvalue())  # the same PNG, its header now declaring 20000 × 20000 pixels
    bomb[16:24] = struct.pack(">II", 20000, 20000)
    bomb[29:33] = struct.pack(">I", zlib.crc32(bytes(bomb[12:29])))
    gif = io.BytesIO()
    Image.new("RGB", (10, 10), "red").save(gif, "GIF")
    return {
        "pdf": ("invoice.jpg", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF"),
        "zip": ("archive.jpg", archive.getvalue()),
        "html": ("page.jpg", b"<!doctype html><html><body><script>alert(1)</script></body></html>"),
        "svg": ("drawing.jpg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'),
        "gif": ("animated.jpg", gif.getvalue()),
        "bomb": ("huge.png", bytes(bomb)),
        "oversize": ("big.jpg", b"\xff\xd8\xff\xe0" + b"\0" * uploads.MAX_BYTES),
        "empty": ("empty.jpg", b""),
    }


FILES = disguised_files()


def stored_photos(env):
    folder = env.app.config["PHOTOS"]
    return uploads.Photo.select().count(), sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@pytest.mark.parametrize("route", ["POST /photos", "POST /patrols/observations/new"])
@pytest.mark.parametrize("kind", FILES)
def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(env, kind, route):
    """The upload widget's own route and a form that carries its photos: 422, the file named with
    the reason beside the photo field, no Photo row and no file on disk (test_uploads.py checks
    the same by content at the rule)."""
    env.fresh()
    name, content = FILES[kind]
    method, url = route.split(" ", 1)[0], url_of(route, env.ids)
    fields = {n: f for n, f in discover(env, route, "assistant", env.client("assistant")).items() if f[0] != "file"}
    before, observations = stored_photos(env), patrols.Observation.select().count()
    response = send(env.client("assistant"), method, url,
                    *encode(baseline(fields)[0], [("photos", name, content)], "multipart"), {"HX-Request": "true"})
    check(response, f"{route} with {kind}")
    assert response.status_code == 422
    assert re.search(rf'<p class="error"[^>]*>[^<]*{re.escape(name)}：[^<]+</p>', response.get_data(as_text=True)), \
        text(response)[:300]
    assert stored_photos(env) == before
    assert patrols.Observation.select().count() == observations
    FIGURES["uploads"] += 1


# Typed markup, stored, comes back as text

STORED = [
    # route, role, the fields given markup, the lists that show one of them
    ("POST /tickets/new", "assistant", ["description", "customer_name"], ["/tickets"]),
    ("POST /patrols/observations/new", "assistant", ["what", "where"], ["/patrols"]),
    ("POST /needs/new", "assistant", ["what"], ["/needs"]),
    ("POST /shops/new", "assistant", ["name", "operator_name", "note"], ["/shops"]),
    ("POST /meetings/new", "supervisor", ["topic", "decisions", "actions"], ["/meetings"]),
]


@pytest.mark.parametrize("key, role, names, lists", STORED)
def test_stored_markup_is_shown_escaped(env, key, role, names, lists):
    env.fresh()
    client = env.client(role)
    pairs = [(name, XSS if name in names else value) for name, value in baseline(discover(env, key, role, client))[0]]
    response = send(client, "POST", url_of(key, env.ids), *encode(pairs, [], "urlencoded"))
    check(response, key)
    assert response.status_code == 303, text(response)[:500]
    for page_url in [response.location, *lists]:
        page = send(client, "GET", page_url)
        check(page, f"{key} → {page_url}")
        assert ESCAPED in page.get_data(as_text=True), page_url
        FIGURES["escaped"] += 1


def test_stored_control_characters_still_show_print_and_export(env):
    """Text pasted with control characters in it is kept; the pages, the printed record and the
    .xlsx export that carry it still work."""
    env.fresh()
    client = env.client("assistant")
    fields = discover(env, "POST /tickets/new", "assistant", client)
    typed = {"description": "漏水\x00\x01\x08\x0b\x1b[31m\x7f\ufffe 厨房", "customer_name": "王\x1f先生"}
    pairs = [(name, typed.get(name, value)) for name, value in baseline(fields)[0]]
    response = send(client, "POST", "/tickets/new", *encode(pairs, [], "urlencoded"))
    assert response.status_code == 303, text(response)[:500]
    for url in [response.location, response.location + ".pdf", "/tickets", "/"]:
        check(send(client, "GET", url), url)
    supervisor = env.client("supervisor")
    today = clock.today(estate.Estate.current().tz).isoformat()
    export = send(supervisor, "POST", "/exports", *encode([("first", today), ("last", today)], [], "urlencoded"))
    assert export.status_code == 200 and export.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(export.get_data()))["诉求"]
    assert any("漏水" in str(cell.value) and "厨房" in str(cell.value) for row in sheet.iter_rows() for cell in row)
