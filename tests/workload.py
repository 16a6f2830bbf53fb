"""What the phones do in the crash and concurrency tests, and the audit of what reached the disk.

A `Phone` is one signed-in user writing through the real forms: requests taken with photos
(uploaded first, as the picker does, or sent with the form), patrol checks by sticker (a failed
item with its photo), visits. Each write carries its own one-time token and a unique text; when the
server acknowledges it (303 to the record, 200 for an upload) it goes into the `Ledger`. A request
cut off by a kill is sent again, same token, once the server is back.

`audit()` reads the database file directly: every acknowledged write is there, whole (its photos
attached, its findings, its events), once; nothing half-written; every photo row has its files.
"""
import collections
import contextlib
import io
import os
import re
import secrets
import sqlite3
import threading
import time
import traceback

from PIL import Image

from kefu import tickets as ticket_rules
from serverctl import NoAnswer

PATROLLED_KINDS = ("public", "security")


class Stopped(Exception):
    """The test is over: a phone stops at its next unanswered request."""


class Estate:
    """The demo estate's facts the phones need, read from the database before the server starts."""

    def __init__(self, database):
        with contextlib.closing(sqlite3.connect(database)) as db:
            self.households = collections.defaultdict(list)  # zone id -> household codes
            self.household_ids = {}
            for household_id, code, zone_id in db.execute(
                    "SELECT h.id, h.code, zb.zone_id FROM household h "
                    "JOIN zone_building zb ON zb.building_id = h.building_id WHERE h.voided_at IS NULL ORDER BY h.id"):
                self.households[zone_id].append(code)
                self.household_ids[code] = household_id
            self.checkpoints = collections.defaultdict(list)
            kinds = ",".join("?" * len(PATROLLED_KINDS))
            for token, zone_id in db.execute(
                    f'SELECT token, zone_id FROM checkpoint WHERE voided_at IS NULL AND kind IN ({kinds}) ORDER BY id',
                    PATROLLED_KINDS):
                self.checkpoints[zone_id].append(token)
            self.tiers = [row[0] for row in db.execute("SELECT id FROM tier WHERE voided_at IS NULL")]
            self.zone_of = dict(db.execute(
                'SELECT u.username, za.zone_id FROM zone_assistant za JOIN "user" u ON u.id = za.user_id'))
            self.baseline = {table: db.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"').fetchone()[0]
                             for table in ("ticket", "check", "visit", "photo", "event", "household_profile")}
        self.items = {}  # sticker token -> checklist item ids, read from its check page once
        self.zones = sorted(self.households)


def jpeg(rng, size=(160, 120)):
    """A small photo, different every time (a phone's camera, shrunk)."""
    image = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(40):
        image.putpixel((rng.randrange(size[0]), rng.randrange(size[1])), tuple(rng.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


class Ledger:
    """The writes the server acknowledged, and how the requests went."""

    def __init__(self):
        self.lock = threading.Lock()
        self.photos = {}   # photo id -> uploader
        self.tickets = {}  # token -> (ticket id, description, uploaded photo ids, photos sent with the form)
        self.checks = {}   # token -> (note, failed items, photo ids)
        self.visits = {}   # token -> (visit id, note)
        self.unanswered = 0
        self.unanswered_with_photo = 0  # the only requests that may leave photo files without a row
        self.resent = 0
        self.statuses = collections.Counter()
        self.unexpected = []  # (what, status, excerpt)

    def snapshot(self):
        with self.lock:
            return {"photos": dict(self.photos), "tickets": dict(self.tickets), "checks": dict(self.checks),
                    "visits": dict(self.visits)}

    def count(self):
        with self.lock:
            return len(self.tickets) + len(self.checks) + len(self.visits) + len(self.photos)

    def surprises(self):
        """Answers other than the form's success, as lines for a failure message."""
        with self.lock:
            return [f"{what} answered {status}: {text}" for what, status, text in self.unexpected]

    def answered(self, what, response, expected):
        with self.lock:
            self.statuses[response.status] += 1
            if response.status not in expected:
                self.unexpected.append((what, response.status, excerpt(response.text)))
                return False
            return True


def excerpt(html):
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)))
    return text.strip()[:600]


class Phone:
    """One signed-in user writing through the forms. `up` (an Event) is set while the server serves:
    a request that got no answer waits for it and is sent again. Without `up`, no answer is an error."""

    def __init__(self, client, estate, ledger, rng, kinds, up=None, stop=None):
        self.client, self.estate, self.ledger, self.rng, self.kinds = client, estate, ledger, rng, kinds
        self.up, self.stop = up, stop or threading.Event()
        self.zone = estate.zone_of.get(client.username)

    def run(self, deadline=None):
        """Write until told to stop (or until `deadline`, a time.monotonic() value)."""
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            getattr(self, self.rng.choice(self.kinds))()

    def _send(self, request, photo=False):
        """`request()` until it gets an answer, resending after a kill. `photo`: it carries a file."""
        attempt = 0
        while True:
            try:
                response = request()
                if attempt:
                    with self.ledger.lock:
                        self.ledger.resent += 1
                return response
            except NoAnswer:
                with self.ledger.lock:
                    self.ledger.unanswered += 1
                    self.ledger.unanswered_with_photo += photo
                if self.up is None:
                    raise
                if self.stop.is_set():
                    raise Stopped()
                attempt += 1
                while not self.up.wait(0.5):
                    if self.stop.is_set():
                        raise Stopped()

    def _token(self):
        return secrets.token_urlsafe(12)

    def _household(self):
        zone = self.zone or self.rng.choice(self.estate.zones)
        return self.rng.choice(self.estate.households[zone])

    def upload(self, suffix=""):
        """Pick a photo: the picker uploads it at once and keeps its id for the form."""
        data = jpeg(self.rng)
        response = self._send(lambda: self.client.post(
            "/photos", [("photo_suffix", suffix), ("photo_label", "照片")],
            files=[(f"photos{suffix}", "IMG.jpg", data)],
            htmx=True, label="POST /photos"), photo=True)
        if not self.ledger.answered("upload", response, (200,)):
            return None
        ids = re.findall(rf'name="photo_ids{re.escape(suffix)}" value="(\d+)"', response.text)
        assert len(ids) == 1, f"upload answered {ids!r}"
        with self.ledger.lock:
            self.ledger.photos[int(ids[0])] = self.client.username
        return int(ids[0])

    def ticket(self):
        """受理: a request with photos picked before sending (and sometimes one sent with the form)."""
        token = self._token()
        description = f"压测诉求 {token}：楼道灯不亮，门口有积水"
        photo_ids = [i for i in (self.upload() for _ in range(self.rng.choice((0, 1, 1, 2)))) if i]
        files = [("photos", "IMG_direct.jpg", jpeg(self.rng))] if self.rng.random() < 0.25 else None
        fields = [("token", token), ("origin", ""), ("channel", self.rng.choice(ticket_rules.STAFF_CHANNELS)),
                  ("category", self.rng.choice(ticket_rules.CATEGORIES)), ("tier", self.rng.choice(self.estate.tiers)),
                  ("household", self._household()), ("place", "0"), ("zone", "0"), ("resident", "0"),
                  ("customer_name", "王先生"), ("customer_phone", "13800000000"), ("description", description)]
        fields += [("photo_ids", i) for i in photo_ids]
        response = self._send(lambda: self.client.post("/tickets/new", fields, files=files, label="POST /tickets/new"),
                              photo=bool(files))
        ticket_id = response.location_id(r"/tickets/(\d+)")
        if self.ledger.answered("ticket", response, (303,)) and ticket_id:
            with self.ledger.lock:
                self.ledger.tickets[token] = (ticket_id, description, photo_ids, len(files or ()))
        return ticket_id

    def _items(self, sticker):
        if sticker not in self.estate.items:
            page = self._send(lambda: self.client.get(f"/c/{sticker}", label="GET /c/<token>"))
            assert page.status == 200, f"check page answered {page.status}"
            items = re.findall(r'name="answer-(\d+)"', page.text)
            self.estate.items[sticker] = list(dict.fromkeys(int(i) for i in items))
        return self.estate.items[sticker]

    def check(self):
        """扫码巡查: every item 合格, or one 不合格 with its note and (mostly) a photo."""
        zone = self.zone or self.rng.choice(self.estate.zones)
        sticker = self.rng.choice(self.estate.checkpoints[zone])
        items = self._items(sticker)
        token = self._token()
        note = f"压测巡查 {token}"
        failed = self.rng.choice(items) if self.rng.random() < 0.4 else None
        fields = [("token", token), ("note", note)]
        for item in items:
            fields += [(f"answer-{item}", "fail" if item == failed else "ok"),
                       (f"note-{item}", f"地面破损 {token}" if item == failed else "")]
        photo_ids = []
        if failed and self.rng.random() < 0.7:
            photo = self.upload(f"-{failed}")
            if photo:
                photo_ids.append(photo)
                fields.append((f"photo_ids-{failed}", photo))
        response = self._send(lambda: self.client.post(f"/c/{sticker}", fields, label="POST /c/<token>"))
        if self.ledger.answered("check", response, (303,)):
            with self.ledger.lock:
                self.ledger.checks[token] = (note, 1 if failed else 0, photo_ids)

    def visit(self):
        """记拜访: open the page (it fills in the time), one household, one opinion."""
        page = self._send(lambda: self.client.get("/visits/new", label="GET /visits/new"))
        assert page.status == 200, f"visit page answered {page.status}"
        at = re.search(r'<input[^>]*name="at"[^>]*value="([^"]+)"', page.text).group(1)
        token = self._token()
        note = f"压测拜访 {token}"
        fields = [("token", token), ("households", self._household()), ("place", ""), ("at", at),
                  ("visit_form", "上门"), ("zone", "0"), ("note", note), ("opinions", ""),
                  ("kind-1", "意见"), ("text-1", f"电梯按钮失灵 {token}")]
        response = self._send(lambda: self.client.post("/visits/new", fields, label="POST /visits/new"))
        visit_id = response.location_id(r"/visits/(\d+)")
        if self.ledger.answered("visit", response, (303,)) and visit_id:
            with self.ledger.lock:
                self.ledger.visits[token] = (visit_id, note)


class Worker(threading.Thread):
    """A thread running `loop`; an exception is kept for the test to report (not printed and lost)."""

    def __init__(self, name, loop):
        super().__init__(name=name, daemon=True)
        self.loop = loop
        self.error = None

    def run(self):
        try:
            self.loop()
        except Stopped:
            pass
        except BaseException:  # noqa: BLE001 - reported by the test
            self.error = traceback.format_exc()


def _rows(db, sql, *args):
    return db.execute(sql, args).fetchall()


def audit(database, photos, acked, baseline):
    """What the database file holds against what was acknowledged. Returns (problems, figures)."""
    problems = []
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        db.execute("BEGIN")  # one snapshot for every query below
        integrity = _rows(db, "PRAGMA integrity_check")
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:10]}")
        dangling = _rows(db, "PRAGMA foreign_key_check")
        if dangling:
            problems.append(f"foreign_key_check: {dangling[:10]}")
        tokens = {token: (kind, record_id) for token, kind, record_id in
                  _rows(db, "SELECT token, record_type, record_id FROM submit_token")}
        tickets = dict(_rows(db, "SELECT id, description FROM ticket WHERE id > ?", baseline["ticket"]))
        checks = {i: (note, failed) for i, note, failed in
                  _rows(db, 'SELECT id, note, failed FROM "check" WHERE id > ?', baseline["check"])}
        visits = dict(_rows(db, "SELECT id, note FROM visit WHERE id > ?", baseline["visit"]))
        findings = collections.defaultdict(list)
        for check_id, finding_id in _rows(db, "SELECT check_id, id FROM finding WHERE check_id > ?", baseline["check"]):
            findings[check_id].append(finding_id)
        photo_rows = _rows(db, "SELECT id, owner_type, owner_id, name FROM photo")
        events = collections.Counter((kind, record_id, action) for kind, record_id, action in _rows(
            db, "SELECT record_type, record_id, action FROM event WHERE id > ?", baseline["event"]))
        searchable = {row[0] for row in _rows(db, "SELECT rowid FROM ticket_search WHERE rowid > ?", baseline["ticket"])}
        opinions = collections.Counter(row[0] for row in _rows(db, "SELECT visit_id FROM opinion WHERE visit_id > ?",
                                                               baseline["visit"]))
        db.rollback()

    photo_ids = {row[0] for row in photo_rows}
    attached = collections.defaultdict(set)
    for photo_id, owner_type, owner_id, _name in photo_rows:
        if owner_id is not None:
            attached[(owner_type, owner_id)].add(photo_id)

    lost = []
    for photo_id in acked["photos"]:
        if photo_id not in photo_ids:
            lost.append(f"photo {photo_id}")
    for token, (ticket_id, description, uploaded, direct) in acked["tickets"].items():
        if tickets.get(ticket_id) != description or tokens.get(token) != ("ticket", ticket_id):
            lost.append(f"ticket {ticket_id} ({description})")
            continue
        have = attached[("ticket", ticket_id)]
        if not set(uploaded) <= have or len(have) != len(uploaded) + direct:
            problems.append(f"ticket {ticket_id}: photos {sorted(have)}, sent {uploaded} + {direct} with the form")
    for token, (note, failed, photo_list) in acked["checks"].items():
        kind, check_id = tokens.get(token, (None, None))
        if kind != "check" or checks.get(check_id, (None,))[0] != note:
            lost.append(f"check {check_id} ({note})")
            continue
        if checks[check_id][1] != failed:
            problems.append(f"check {check_id}: failed {checks[check_id][1]}, sent {failed}")
        have = set().union(*(attached[("finding", f)] for f in findings[check_id])) if findings[check_id] else set()
        if have != set(photo_list):
            problems.append(f"check {check_id}: finding photos {sorted(have)}, sent {photo_list}")
    for token, (visit_id, note) in acked["visits"].items():
        if visits.get(visit_id) != note or tokens.get(token) != ("visit", visit_id):
            lost.append(f"visit {visit_id} ({note})")
    if lost:
        problems.append(f"{len(lost)} acknowledged writes missing: {lost[:20]}")

    # Nothing half-written, acknowledged or not: each record made in the test is whole.
    for ticket_id in tickets:
        if not events[("ticket", ticket_id, "受理")] or ticket_id not in searchable:
            problems.append(f"ticket {ticket_id} without its 受理 event or search entry")
    for check_id, (_note, failed) in checks.items():
        if len(findings[check_id]) != failed or not events[("check", check_id, "巡查")]:
            problems.append(f"check {check_id}: {len(findings[check_id])} findings for {failed} failed, "
                            f"{events[('check', check_id, '巡查')]} 巡查 events")
    for visit_id in visits:
        if opinions[visit_id] != 1 or not events[("visit", visit_id, "拜访")]:
            problems.append(f"visit {visit_id}: {opinions[visit_id]} opinions, no 拜访 event")
    for label, texts in (("ticket", tickets.values()), ("check", [n for n, _ in checks.values()]),
                         ("visit", visits.values())):
        twice = [text for text, n in collections.Counter(texts).items() if n > 1]
        if twice:
            problems.append(f"{label}s made twice from one form: {twice[:5]}")
    missing_files = [name for _id, _type, _owner, name in photo_rows if not photo_files_exist(photos, name)]
    if missing_files:
        problems.append(f"{len(missing_files)} photo rows without their files: {missing_files[:10]}")

    figures = {"tickets": len(acked["tickets"]), "checks": len(acked["checks"]), "visits": len(acked["visits"]),
               "uploads": len(acked["photos"]), "lost": len(lost), "photo rows": len(photo_rows)}
    return problems, figures


def photo_files_exist(folder, name):
    return all(_exists(folder, name + suffix) for suffix in (".jpg", ".thumb.jpg"))


def _exists(folder, filename):
    return os.path.exists(os.path.join(folder, filename))


def orphan_files(database, folder):
    """Files in the photo folder that no photo row names (and unfinished .tmp files)."""
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as db:
        names = {row[0] for row in db.execute("SELECT name FROM photo")}
    found = os.listdir(folder) if os.path.isdir(folder) else []
    return sorted(f for f in found if f.endswith(".tmp") or f.split(".")[0] not in names)
