"""住户自助 over HTTP, signed out as a resident is: the poster's page, the report, the private link,
nudge and rating; what no public page may show; the staff's side (posters, the slip, answers,
verification, outages)."""
import datetime
import io
import re
import subprocess

import pytest
import zxingcpp
from PIL import Image

from conftest import PASSWORD
from conftest import html
from conftest import text
from kefu import clock
from kefu import estate
from kefu import residents
from kefu import tickets
from kefu import uploads
from kefu import users
from kefu import workorders
from kefu.residents import SelfReport
from kefu.tickets import Ticket
from test_patrols_http import pdf_text
from test_tickets import fresh
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)
from test_uploads import jpeg


@pytest.fixture
def resident(app, world):
    app.config["RESIDENT_MIN_FILL_SECONDS"] = 0
    return estate.add_resident(None, world.home, "王阿姨", "13812345678", "业主")


def signed_in(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 303
    return client


def form_of(page):
    """The hidden inputs of a page's form (token, started…)."""
    return dict(re.findall(r'<input[^>]*name="(\w+)"[^>]*type="hidden"[^>]*value="([^"]*)"', html(page))
                + re.findall(r'<input[^>]*type="hidden"[^>]*name="(\w+)"[^>]*value="([^"]*)"', html(page)))


def status(client, address):
    """The status of a GET whose body (a photo file) is read and closed."""
    with client.get(address) as response:
        response.get_data()
        return response.status_code


def send(client, address, *, photos=(), **fields):
    """Open a poster's form and send it as a resident fills it."""
    page = client.get(address + ("&" if "?" in address else "?") + "go=1")
    assert page.status_code == 200
    data = {**form_of(page), "kind": "repair", "description": "厨房水管漏水", "name": "王阿姨",
            "phone": "13812345678", **fields}
    if photos:
        data["photos"] = [(io.BytesIO(p), f"p{n}.jpg") for n, p in enumerate(photos)]
    return client.post(address, data=data, content_type="multipart/form-data")


def test_a_resident_reports_from_a_building_poster_and_follows_their_link(app, world, resident, client):
    response = send(client, f"/report/b/{world.b1.id}", room="1-101", photos=[jpeg()])
    assert response.status_code == 303
    ticket = Ticket.get()
    assert response.location == f"/s/{ticket.link_token}?new=1"
    assert (ticket.channel, ticket.location, ticket.customer_name) == ("住户自助", "1-1-101", "王阿姨")
    assert SelfReport.get().verified
    assert len(uploads.Photo.of(ticket)) == 1
    page = client.get(response.location)
    words = text(page)
    assert "已收到您的诉求" in words and "请 收藏或保存这个页面" in words and ticket.number in words
    assert "138****5678" in words and "13812345678" not in words
    assert "<script" not in html(page) and "tabbar" not in html(page)  # no scripts, no staff navigation
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    photo = uploads.Photo.of(ticket)[0]
    assert status(client, f"/s/{ticket.link_token}/photos/{photo.id}/thumb") == 200
    # The staff see it on the request page, with the link to copy and the slip to print.
    staff = signed_in(app, world.assistant).get(f"/tickets/{ticket.id}")
    assert "住户自助登记" in text(staff) and "已核实" in text(staff)
    assert f'value="http://localhost/s/{ticket.link_token}"' in html(staff)


@pytest.mark.parametrize("fields, field, message", [
    ({"room": ""}, "room", "请填写房号"),
    ({"room": "9-909"}, "room", "没有找到房号"),
    ({"kind": ""}, "kind", "请选择是什么问题"),
    ({"description": " "}, "description", "请说说具体情况"),
    ({"phone": "12345"}, "phone", "11 位手机号"),
])
def test_a_report_missing_something_comes_back_with_the_message_beside_the_field(world, resident, client, fields,
                                                                                  field, message):
    response = send(client, f"/report/b/{world.b1.id}", **{"room": "1-101", **fields})
    assert response.status_code == 422
    assert message in text(response)
    assert Ticket.select().count() == 0
    assert "厨房水管漏水" in html(response) or fields.get("description")  # what was typed is kept


def test_a_robot_filling_the_hidden_field_is_thanked_and_nothing_is_kept(world, resident, client):
    response = send(client, f"/report/b/{world.b1.id}", room="1-101", website="http://spam")
    assert response.status_code == 200 and "已提交" in text(response)
    assert Ticket.select().count() == 0


def test_a_form_sent_back_sooner_than_a_person_could_fill_it_is_refused(app, world, resident, client, traveller):
    app.config["RESIDENT_MIN_FILL_SECONDS"] = 3
    page = client.get(f"/report/b/{world.b1.id}")
    data = {**form_of(page), "room": "1-101", "kind": "repair", "description": "漏水", "name": "王阿姨",
            "phone": "13812345678"}
    response = client.post(f"/report/b/{world.b1.id}", data=data)
    assert response.status_code == 422 and "再点一次" in text(response)
    traveller.shift(datetime.timedelta(seconds=5))
    assert client.post(f"/report/b/{world.b1.id}", data=data).status_code == 303
    # Sent again with the same one-time token: still one request.
    assert client.post(f"/report/b/{world.b1.id}", data=data).status_code == 303
    assert Ticket.select().count() == 1


def test_one_household_is_limited_to_a_few_reports_an_hour(world, resident, client):
    for n in range(5):
        assert send(client, f"/report/b/{world.b1.id}", room="1-101", description=f"问题{n}").status_code == 303
    response = send(client, f"/report/b/{world.b1.id}", room="1-101", description="问题6")
    assert response.status_code == 429 and "提交太频繁" in text(response)
    assert send(client, f"/report/b/{world.b1.id}", room="1-201").status_code == 303  # the neighbour may


def test_the_estate_poster_takes_a_room_or_a_public_place(world, resident, client):
    place = estate.Place.create(name="1号楼地库", kind="地库", building=world.b1)
    assert send(client, "/report", room="1-1-201").status_code == 303
    assert send(client, "/report", room="", place=str(place.id), name="路人", phone="13900001111").status_code == 303
    a, b = Ticket.select().order_by(Ticket.id)
    assert (a.location, b.location) == ("1-1-201", "1号楼地库")
    assert not SelfReport.get(SelfReport.ticket == b).verified
    assert send(client, f"/report/p/{place.id}").status_code == 303
    assert Ticket.select().order_by(Ticket.id.desc()).first().location == "1号楼地库"


def test_nudge_rate_unhappy_and_see_it_reopened(app, world, resident, client, traveller):
    send(client, f"/report/b/{world.b1.id}", room="1-101")
    ticket = Ticket.get()
    link = f"/s/{ticket.link_token}"
    assert client.post(f"{link}/nudge").status_code == 303
    assert "已催办" in text(client.get(link))
    assert client.post(f"{link}/nudge").status_code == 303
    page = text(client.get(link))
    assert "已经催过了" in page and "12:00 以后可以再催" in page
    assistant = signed_in(app, world.assistant)
    assert "住户催办 1 次" in text(assistant.get(f"/tickets/{ticket.id}"))
    assert assistant.post(f"/tickets/{ticket.id}/answer", data={"answer": "师傅下午两点上门"}).status_code == 303
    assert "客户助理回复：师傅下午两点上门" in text(client.get(link))
    ticket = tickets.resolve_on_the_spot(world.assistant, fresh(ticket), fresh(ticket).version, "已更换水管")
    assert "评价这次服务" in text(client.get(link))
    response = client.post(f"{link}/rate", data={"result": "不满意"})
    assert response.status_code == 422 and "请告诉我们哪里还不满意" in text(response)
    assert "记录客户" not in text(response)  # the staff's wording stays with the staff
    assert client.post(f"{link}/rate", data={"result": "不满意", "words": "还在滴水"}).status_code == 303
    page = text(client.get(link))
    assert "已重新安排处理" in page and "您的评价：不满意，已重新处理" in page and "处理中" in page
    staff = text(assistant.get(f"/tickets/{ticket.id}"))
    assert "住户评价：不满意" in staff and "住户评价：不满意。客户说：还在滴水" in staff
    assert fresh(ticket).state == "in_progress"


def test_no_public_page_shows_another_households_data_or_a_staff_only_field(app, world, resident, client):
    """Walk every request's link and every poster page: each link shows its own request and nothing of
    another's; nothing shows staff names, internal notes, tiers or full phone numbers."""
    estate.add_resident(None, world.neighbour, "李大爷", "13700000000", "业主")
    send(client, f"/report/b/{world.b1.id}", room="1-101", description="王家厨房漏水", photos=[jpeg()])
    send(client, f"/report/b/{world.b1.id}", room="1-201", description="李家门锁坏了", name="李大爷",
         phone="13700000000", photos=[jpeg(color=(0, 0, 200))])
    mine, theirs = Ticket.select().order_by(Ticket.id)
    for ticket in (mine, theirs):
        responded = tickets.respond(world.assistant, ticket, ticket.version, "电话", "内部备注：客户难缠")
        tickets.dispatch(world.assistant, responded, responded.version, world.engineering, "派李师傅查看",
                         clock.utcnow() + datetime.timedelta(days=1))
    photos = {t.id: uploads.Photo.of(t)[0].id for t in (mine, theirs)}
    secrets = ["张助理", "李师傅", "内部备注", "派李师傅查看", "一般", "一区", "13812345678", "13700000000"]
    for ticket, other in ((mine, theirs), (theirs, mine)):
        page = text(client.get(f"/s/{ticket.link_token}"))
        assert ticket.description in page
        assert other.description not in page and other.customer_name not in page
        for secret in secrets:
            assert secret not in page, secret
        assert status(client, f"/s/{ticket.link_token}/photos/{photos[other.id]}/full") == 404
        assert status(client, f"/s/{ticket.link_token}/photos/{photos[ticket.id]}/full") == 200
    for token in ["a", "x" * 22, mine.link_token[:-1], mine.link_token.upper()]:
        for suffix in ("", "/rate", "/photos/1/thumb"):
            assert status(client, f"/s/{token}{suffix}") == 404
        assert client.post(f"/s/{token}/nudge").status_code in (404, 405)
    for address in ["/report", f"/report/b/{world.b1.id}", f"/report/b/{world.b2.id}"]:
        page = text(client.get(address))
        for secret in [mine.description, theirs.description, "王阿姨", "李大爷", *secrets]:
            assert secret not in page
    assert client.get("/report/b/999999").status_code == 404
    # The staff's photo route stays closed to the public.
    assert status(client, f"/photos/{photos[mine.id]}/thumb") == 302


def test_too_many_unknown_links_from_one_address_are_refused(app, client, world):
    app.config["RATE_LIMITS"] = {"link_miss": (3, 600)}
    statuses = [client.get(f"/s/guess{n}").status_code for n in range(5)]
    assert statuses == [404, 404, 404, 429, 429]
    # In the residents' own layout: no staff navigation, no scripts.
    page = client.get("/s/guess9")
    assert "请求过于频繁" in text(page) or "操作过于频繁" in text(page)
    assert "<script" not in html(page) and "回到今日" not in text(page)


def test_the_link_shows_no_details_thirty_days_after_closing(world, client, traveller):
    ticket = intake(world)
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "已修好")
    residents.rate(ticket, "满意")
    traveller.shift(datetime.timedelta(days=31))
    page = text(client.get(f"/s/{ticket.link_token}"))
    assert "已办结" in page and "卫生间天花板漏水" not in page


def test_the_poster_carries_the_buildings_report_address_in_its_qr_code(app, world, tmp_path):
    app.config["PUBLIC_URL"] = "https://kefu.example.com"
    response = signed_in(app, world.supervisor).get(f"/residents/posters.pdf?building={world.b1.id}")
    words = pdf_text(response)
    assert "扫码报事报修" in words and "1号楼" in words
    path = tmp_path / "poster.pdf"
    path.write_bytes(response.data)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(path), str(tmp_path / "page")], check=True)
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))]
    assert decoded == [f"https://kefu.example.com/report/b/{world.b1.id}"]


def test_the_intake_slip_prints_the_requests_link(app, world):
    app.config["PUBLIC_URL"] = "https://kefu.example.com"
    ticket = intake(world, channel="电话", customer_name="王阿姨")
    words = pdf_text(signed_in(app, world.frontdesk).get(f"/tickets/{ticket.id}/slip.pdf"))
    assert "客户诉求受理回执" in words and ticket.number in words
    assert f"kefu.example.com/s/{ticket.link_token}" in words.replace("\n", "")


def test_the_front_desk_confirms_an_unverified_report_by_phone(app, world, resident, client):
    send(client, f"/report/b/{world.b1.id}", room="1-101", name="路人", phone="13900001111")
    ticket = Ticket.get()
    desk = signed_in(app, world.frontdesk)
    assert "未核实" in text(desk.get(f"/tickets/{ticket.id}"))
    assert desk.post(f"/tickets/{ticket.id}/verify").status_code == 303
    page = text(desk.get(f"/tickets/{ticket.id}"))
    assert "已核实" in page and "电话核实住户" in page


def test_an_outage_is_shown_first_and_its_requests_end_with_it(app, world, resident, client, traveller):
    supervisor = signed_in(app, world.supervisor)
    response = supervisor.post("/residents/outages/new", data={
        "kind": "停水", "title": "1号楼水箱清洗", "buildings": [str(world.b1.id)],
        "starts_at": "2026-11-27T09:00", "until": "2026-11-27T15:00", "advice": "请提前储水"})
    assert response.status_code == 303
    outage = residents.Outage.get()
    first = client.get(f"/report/b/{world.b1.id}")
    assert "1号楼水箱清洗" in text(first) and "不用再报" in text(first) and 'name="description"' not in html(first)
    assert "1号楼水箱清洗" not in text(client.get(f"/report/b/{world.b2.id}"))
    assert send(client, f"/report/b/{world.b1.id}?outage={outage.id}", room="1-101",
                outage=str(outage.id)).status_code == 303
    ticket = Ticket.get()
    assert residents.outage_of(ticket).id == outage.id
    assert "1号楼水箱清洗" in text(client.get(f"/s/{ticket.link_token}"))
    notice = pdf_text(supervisor.get(f"/residents/outages/{outage.id}.pdf"))
    assert "停水公告" in notice.replace(" ", "") and "请提前储水" in notice
    response = supervisor.post(f"/residents/outages/{outage.id}/end",
                               data={"version": str(outage.version), "message": "已恢复供水"})
    assert response.status_code == 303
    assert fresh(ticket).state == "resolved"
    assert "1 件关联诉求已处理完成" in text(supervisor.get(response.location))
    assert "评价这次服务" in text(client.get(f"/s/{ticket.link_token}"))
    assistant = signed_in(app, world.assistant)
    assert assistant.post(f"/residents/outages/{outage.id}/callbacks",
                          data={"method": "电话", f"result-{ticket.id}": "满意"}).status_code == 303
    assert fresh(ticket).state == "closed"


def test_the_link_names_the_assistant_only_if_the_estate_chooses(app, world, client):
    users_phone = world.assistant
    users_phone.phone = "13900000011"
    users_phone.save()
    ticket = intake(world)
    page = text(client.get(f"/s/{ticket.link_token}"))
    assert "您的客户助理" in page and "13900000011" in page and "张助理" not in page
    admin = users.create_user(None, "admin", "管理员", "admin", PASSWORD)
    response = signed_in(app, admin).post("/residents/settings", data={
        "version": str(estate.Estate.current().version), "resident_names": "1"})
    assert response.status_code == 303
    assert "客户助理 张助理" in text(client.get(f"/s/{ticket.link_token}"))


def test_more_than_four_photos_are_refused_and_the_four_kept(world, resident, client):
    response = send(client, f"/report/b/{world.b1.id}", room="1-101",
                    photos=[jpeg(color=(n * 40, 0, 0)) for n in range(5)])
    assert response.status_code == 422
    assert "最多 4 张照片" in text(response) and "已收到 4 张照片，不用重新选择" in text(response)
    assert Ticket.select().count() == 0
    # Sent again without choosing them again: the request carries the four.
    assert send(client, f"/report/b/{world.b1.id}", room="1-101").status_code == 303
    assert len(uploads.Photo.of(Ticket.get())) == 4


def test_a_file_that_is_not_a_photo_is_refused_beside_the_field_and_nothing_typed_is_lost(world, resident, client):
    response = send(client, f"/report/b/{world.b1.id}", room="1-101", photos=[b"not a picture at all"])
    assert response.status_code == 422
    assert "不是有效的图片文件" in text(response)
    assert "厨房水管漏水" in html(response) and 'value="1-101"' in html(response)
    assert Ticket.select().count() == 0


def test_one_address_is_limited_to_a_few_reports_an_hour_whatever_the_household(app, world, resident, client):
    app.config["RATE_LIMITS"] = {"report": (2, 3600)}
    assert send(client, f"/report/b/{world.b1.id}", room="1-101").status_code == 303
    assert send(client, f"/report/b/{world.b1.id}", room="1-201").status_code == 303
    response = send(client, "/report", room="2-1-101")
    assert response.status_code == 429 and "提交太频繁" in text(response)
    assert Ticket.select().count() == 2


def test_the_link_shows_the_photos_after_the_work_once_it_is_accepted(app, world, client):
    ticket = intake(world)
    responded = tickets.respond(world.assistant, ticket, ticket.version, "电话", "")
    ticket, order = tickets.dispatch(world.assistant, responded, responded.version, world.engineering, "换水管",
                                     clock.utcnow() + datetime.timedelta(days=1))
    order = workorders.accept(world.engineer, order, order.version)
    after = uploads.store(app.config["PHOTOS"], world.engineer, jpeg(color=(0, 160, 0)))
    order = workorders.report_done(world.engineer, order, order.version, "已更换", photos=[after])
    link = f"/s/{ticket.link_token}"
    # Reported done but not yet checked by the assistant: not shown.
    assert "处理后的照片" not in text(client.get(link))
    assert status(client, f"{link}/photos/{after.id}/thumb") == 404
    workorders.inspect(world.assistant, order, order.version, True)
    page = client.get(link)
    assert "处理后的照片" in text(page) and "工程维修已完成，客户助理已验收" in text(page)
    assert status(client, f"{link}/photos/{after.id}/thumb") == 200


def test_every_poster_is_one_a4_page_with_the_phone_and_a_code_that_opens_its_own_form(app, world, tmp_path):
    app.config["PUBLIC_URL"] = "https://kefu.example.com"
    place = estate.Place.create(name="1号楼地库", kind="地库", building=world.b1)
    current = estate.Estate.current()
    current.phone = "021-58880000"
    current.save()
    response = signed_in(app, world.supervisor).get("/residents/posters.pdf")
    assert response.status_code == 200
    path = tmp_path / "posters.pdf"
    path.write_bytes(response.data)
    subprocess.run(["pdftoppm", "-png", "-r", "80", str(path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    expected = (["https://kefu.example.com/report"]
                + [f"https://kefu.example.com/report/b/{b.id}"
                   for b in estate.Building.live().order_by(estate.Building.id)]
                + [f"https://kefu.example.com/report/p/{place.id}"])
    assert [[r.text for r in zxingcpp.read_barcodes(Image.open(p))] for p in pages] == [[a] for a in expected]
    words = pdf_text(response)
    assert words.count("扫码报事报修") == len(pages) == len(expected)
    assert words.count("评价\n服务电话 021-58880000") == len(pages)  # on the poster, beside the footer's
    assert "全小区" in words and "1号楼 · 楼栋大堂" in words and "1号楼地库 · 地库" in words
    assert words.count(f"{current.name}\n扫码报事报修") == len(pages)


@pytest.mark.parametrize("buildings, opens", [(["b1"], "/report/b/{b1}"), (["b1", "b2"], "/report")])
def test_the_outage_notice_carries_the_code_of_its_buildings_poster(app, world, tmp_path, buildings, opens):
    app.config["PUBLIC_URL"] = "https://kefu.example.com"
    outage = residents.post_outage(world.supervisor, kind="停电", title="配电房检修", detail="", advice="请关好电器",
                                   starts_at=clock.utcnow(), until=clock.utcnow() + datetime.timedelta(hours=3),
                                   buildings=[getattr(world, b) for b in buildings])
    response = signed_in(app, world.supervisor).get(f"/residents/outages/{outage.id}.pdf")
    assert "停电公告" in pdf_text(response).replace(" ", "")
    path = tmp_path / "notice.pdf"
    path.write_bytes(response.data)
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(path), str(tmp_path / "page")], check=True)
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))]
    assert decoded == ["https://kefu.example.com" + opens.format(b1=world.b1.id)]


def test_a_resolved_requests_link_asks_for_the_rating_on_the_page_itself(world, client):
    ticket = intake(world)
    link = f"/s/{ticket.link_token}"
    assert 'name="result"' not in html(client.get(link))
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "已修好")
    page = client.get(link)
    assert "评价这次服务" in text(page) and f'action="{link}/rate"' in html(page)
    assert html(page).count('name="result"') == 3
    assert client.post(f"{link}/rate", data={**form_of(page), "result": "满意"}).status_code == 303
    page = client.get(link)
    assert "谢谢您的评价" in text(page) and 'name="result"' not in html(page)
    assert fresh(ticket).state == "closed"


@pytest.mark.parametrize("typed", ["1-1-101", "1栋1单元101", "1-101"])
def test_a_buildings_poster_takes_the_room_with_or_without_the_building(world, resident, client, typed):
    assert send(client, f"/report/b/{world.b1.id}", room=typed).status_code == 303
    assert Ticket.get().location == "1-1-101"


def test_an_empty_form_says_everything_missing_at_once_with_a_summary_at_the_top(world, resident, client):
    page = client.get(f"/report/b/{world.b1.id}")
    response = client.post(f"/report/b/{world.b1.id}", data=form_of(page))
    assert response.status_code == 422
    words = text(response)
    messages = ["请填写房号", "请选择是什么问题", "请说说具体情况", "请填写您的称呼", "请填写手机号"]
    for message in messages:
        assert message in words, message
    # Seen without scrolling: how many, each a link down to its field.
    summary = html(response).split('class="r-summary', 1)[1].split("</div>", 1)[0]
    assert "还有 5 处要改" in summary
    assert all(f'href="#{field}"' in summary for field in ("room", "kind-0", "description", "name", "phone"))


def test_a_wrong_room_and_a_short_mobile_are_both_shown_in_one_round(world, resident, client):
    response = send(client, f"/report/b/{world.b1.id}", room="2-9999", phone="1381234")
    assert response.status_code == 422
    assert "没有找到房号“2-9999”" in text(response) and "请填写 11 位手机号" in text(response)
