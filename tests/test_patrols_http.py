"""Patrol pages over HTTP: the board per role and zone, the check page from a sticker or the list,
refusals beside the item, findings into rectification orders, stickers and the day record on
paper, the supervisor's coverage weeks and the administrator's checklists and rules."""
import datetime
import io
import os
import re
import subprocess

import pypdf
import pytest
import zxingcpp
from PIL import Image

from conftest import PASSWORD
from conftest import html
from conftest import text
from kefu import ROOT
from kefu import clock
from kefu import estate
from kefu import patrols
from kefu import scheduler
from kefu import tickets
from kefu import uploads
from kefu import users
from kefu.patrols import Check
from kefu.patrols import Checkpoint
from kefu.patrols import Checklist
from kefu.patrols import Finding
from kefu.workorders import WorkOrder
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)
from test_uploads import jpeg


@pytest.fixture
def post(world):
    """A public place in 一区 (保洁部) and a security post in 二区."""
    post = patrols.create_checkpoint(world.supervisor, kind="public", name="1号楼大堂", zone=world.zone,
                                     checklist=Checklist.get(code="facility"), unit=world.cleaning)
    world.gate2 = patrols.create_checkpoint(world.supervisor, kind="security", name="二区北门岗", zone=world.zone2,
                                            checklist=Checklist.get(code="security"))
    return post


def answers(point, **failed):
    """Form fields answering every item 合格 except those named (item text → note)."""
    data = {}
    for item in point.checklist.live_items():
        data[f"answer-{item.id}"] = "fail" if item.text in failed else "ok"
        if item.text in failed:
            data[f"note-{item.id}"] = failed[item.text]
    return data


def item_id(point, label):
    return next(item.id for item in point.checklist.live_items() if item.text == label)


def pdf_text(response):
    assert response.mimetype == "application/pdf"
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(response.data)).pages)


def test_the_board_shows_what_today_still_requires_in_my_zone_only(world, post, as_user):
    client = as_user(world.assistant)
    board = text(client.get("/patrols"))
    assert "0/1 公共部位 未完成" in board and "1号楼大堂" in board and "二区北门岗" not in board
    assert "公共部位还有 1 处未巡查" in text(client.get("/"))  # and on 今日, until it is done
    client.post(f"/c/{post.token}", data=answers(post))
    board = text(client.get("/patrols"))
    assert "1/1 公共部位 已完成" in board and "今天要求的巡查都已完成" in board
    assert "公共部位还有" not in text(client.get("/"))
    supervisor = text(as_user(world.supervisor).get("/patrols"))
    assert "1号楼大堂" not in supervisor and "二区北门岗" in supervisor and "0/1 安保岗位" in supervisor


def test_a_scan_is_marked_as_such_and_a_pick_from_the_list_is_not(world, post, as_user):
    client = as_user(world.assistant)
    scanned = client.post(f"/c/{post.token}", data=answers(post))
    assert scanned.status_code == 303 and scanned.location == "/patrols"
    client.post(f"/patrols/checkpoints/{post.id}/check", data=answers(post))
    assert [c.via for c in Check.select().order_by(Check.id)] == ["scan", "list"]
    history = text(client.get(f"/patrols/checkpoints/{post.id}"))
    assert history.count("扫码") == 1 and history.count("列表") == 1


def test_a_failed_item_without_a_note_is_refused_beside_it_with_everything_kept(world, post, as_user):
    client = as_user(world.assistant)
    data = answers(post, 照明正常="")
    data["note"] = "大堂门口有积水"
    response = client.post(f"/c/{post.token}", data=data)
    page = html(response)
    assert response.status_code == 422 and Check.select().count() == 0
    lights = item_id(post, "照明正常")
    assert re.search(rf'id="item-{lights}-error"[^>]*>请写明问题<', page)
    assert re.search(rf'name="answer-{lights}" value="fail" checked', page)  # the tap is kept
    assert "大堂门口有积水" in page


def test_a_resent_check_is_saved_once(world, post, as_user):
    client = as_user(world.assistant)
    data = answers(post, 照明正常="灯不亮")
    data["token"] = "check-form-1"
    first = client.post(f"/c/{post.token}", data=data)
    again = client.post(f"/c/{post.token}", data=data)
    assert first.status_code == again.status_code == 303
    assert Check.select().count() == 1 and Finding.select().count() == 1
    assert "未重复记录" in text(client.get("/patrols"))


def test_a_failed_item_keeps_its_photos_on_its_finding(world, post, as_user, tmp_path):
    client = as_user(world.assistant)
    lights = item_id(post, "照明正常")
    data = answers(post, 照明正常="灯不亮")
    data[f"photos-{lights}"] = (io.BytesIO(jpeg()), "a.jpg")
    response = client.post(f"/c/{post.token}", data=data, content_type="multipart/form-data")
    finding = Finding.get()
    assert response.location == f"/patrols/findings/{finding.id}"  # one problem: straight to it
    assert len(list(uploads.Photo.of(finding))) == 1
    assert 'alt="问题照片 1"' in html(client.get(response.location))


def test_the_service_worker_keeps_exactly_the_check_pages(world, post, as_user):
    """The phone keeps a copy of the check pages (static/js/sw.js) by matching their paths: the QR
    code's address and the one picked from a list, as the app writes them, and nothing else."""
    with open(os.path.join(ROOT, "static", "js", "sw.js"), encoding="utf-8") as handle:
        pattern = re.search(r"var CHECK_PAGE = /(.+)/;", handle.read()).group(1)
    check_page = re.compile(pattern.replace("\\/", "/"))
    board = html(as_user(world.assistant).get("/patrols"))
    listed = re.findall(r'<a class="card checkpoint-card" href="([^"]+)"', board)
    assert listed and all(check_page.fullmatch(href) for href in listed)
    assert check_page.fullmatch(f"/c/{post.token}")
    for other in ("/patrols", f"/patrols/checkpoints/{post.id}", f"/c/{post.token}/x", "/tickets/1", "/login"):
        assert not check_page.fullmatch(other), other


def test_a_voided_checkpoints_sticker_opens_nothing(world, post, as_user):
    client = as_user(world.assistant)
    assert client.get(f"/c/{post.token}").status_code == 200
    estate.void(world.supervisor, post, "大堂改造，取消该点")
    gone = client.get(f"/c/{post.token}")
    assert gone.status_code == 404 and "这个二维码已失效" in text(gone)
    assert client.post(f"/c/{post.token}", data=answers(post)).status_code == 404
    assert client.get("/c/not-a-real-token").status_code == 404


def test_another_zones_assistant_can_neither_check_nor_see(world, post, as_user):
    client = as_user(world.assistant2)
    assert client.get(f"/c/{post.token}").status_code == 403
    assert client.post(f"/c/{post.token}", data=answers(post)).status_code == 403
    assert client.get(f"/patrols/checkpoints/{post.id}").status_code == 403
    assert "1号楼大堂" not in text(client.get("/patrols/checkpoints"))


def test_an_assistant_adds_a_public_place_in_their_zone_only(world, as_user):
    client = as_user(world.assistant)
    form = html(client.get("/patrols/checkpoints/new"))
    kinds = re.search(r'<select[^>]*name="kind".*?</select>', form, re.S).group(0)
    assert "公共部位" in kinds and "安保岗位" not in kinds
    fields = {"kind": "public", "name": "1号楼地库入口", "zone": str(world.zone.id),
              "checklist": str(Checklist.get(code="facility").id), "unit": "0", "place": "0", "interval_days": "3"}
    made = client.post("/patrols/checkpoints/new", data=fields)
    assert made.status_code == 303
    point = patrols.Checkpoint.get(patrols.Checkpoint.name == "1号楼地库入口")
    assert (point.kind, point.zone_id, point.interval_days) == ("public", world.zone.id, 3)
    refused = client.post("/patrols/checkpoints/new", data=dict(fields, kind="security", name="偷偷加的岗"))
    assert refused.status_code == 422
    other_zone = client.post("/patrols/checkpoints/new", data=dict(fields, zone=str(world.zone2.id), name="别区"))
    assert other_zone.status_code == 422 and "不是有效的选择" in text(other_zone)  # not offered to them
    assert patrols.Checkpoint.select().count() == 1


def test_a_finding_becomes_a_rectification_order_the_unit_sees_with_its_photo(world, post, as_user, tmp_path):
    client = as_user(world.assistant)
    lights = item_id(post, "照明正常")
    data = answers(post, 照明正常="灯不亮")
    data[f"photos-{lights}"] = (io.BytesIO(jpeg()), "a.jpg")
    client.post(f"/c/{post.token}", data=data, content_type="multipart/form-data")
    finding = Finding.get()
    form = html(client.get(f"/patrols/findings/{finding.id}/order"))
    assert re.search(rf'<option selected value="{world.cleaning.id}">', form)  # the checkpoint's unit
    bad = client.post(f"/patrols/findings/{finding.id}/order",
                      data={"version": "1", "unit": str(world.cleaning.id), "instructions": "",
                            "deadline": "2026-11-28T18:00"})
    assert bad.status_code == 422 and "请写明整改要求" in text(bad)
    client.post(f"/patrols/findings/{finding.id}/order",
                data={"version": "1", "unit": str(world.cleaning.id), "instructions": "更换大堂灯管",
                      "deadline": "2026-11-28T18:00"})
    order = WorkOrder.get()
    assert order.number.startswith("ZG") and order.source_type == "finding"
    cleaner = as_user(world.cleaner)
    page = text(cleaner.get(f"/workorders/{order.id}"))
    assert "来自巡查问题 1号楼大堂" in page and "照明正常不合格，灯不亮" in page
    photo = uploads.Photo.of(Finding.get())[0]
    with cleaner.get(f"/photos/{photo.id}/thumb") as response:
        assert response.status_code == 200
    paper = pdf_text(cleaner.get(f"/workorders/{order.id}.pdf"))
    assert "整 改 单" in paper and "巡查发现" in paper and "更换大堂灯管" in paper
    with as_user(world.engineer).get(f"/photos/{photo.id}/thumb") as response:
        assert response.status_code == 403  # another unit


def test_the_sticker_sheet_carries_each_checkpoints_scan_address(app, world, post, as_user, tmp_path):
    second = patrols.create_checkpoint(world.supervisor, kind="public", name="1号楼地库", zone=world.zone,
                                       checklist=Checklist.get(code="facility"))
    ended = patrols.create_checkpoint(world.supervisor, kind="public", name="3-1-502 装修户", zone=world.zone,
                                      checklist=Checklist.get(code="facility"))
    Checkpoint.update(active_until=datetime.date(2026, 11, 20)).where(Checkpoint.id == ended.id).execute()
    app.config["PUBLIC_URL"] = "https://kefu.example.com/"
    response = as_user(world.assistant).get("/patrols/stickers.pdf")
    words = pdf_text(response)
    assert "1号楼大堂" in words and "1号楼地库" in words and "二区北门岗" not in words and "扫码" in words
    assert "3-1-502" not in words  # ended (a finished renovation): no sticker
    path = tmp_path / "stickers.pdf"
    path.write_bytes(response.data)
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(tmp_path / "page")], check=True)
    decoded = sorted(r.text for r in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png")))
    assert decoded == sorted(f"https://kefu.example.com/c/{p.token}" for p in (post, second))


def test_the_day_record_lists_the_checks_findings_and_misses(world, post, as_user):
    gate = patrols.create_checkpoint(world.supervisor, kind="security", name="一区东门岗", zone=world.zone,
                                     checklist=Checklist.get(code="security"))
    client = as_user(world.assistant)
    client.post(f"/c/{post.token}", data=answers(post, 照明正常="灯不亮"))
    client.post("/patrols/observations/new", data={"zone": str(world.zone.id), "where": "1号楼外墙",
                                                   "what": "瓷砖空鼓", "follow_up_by": "2026-11-30", "token": "o1"})
    paper = pdf_text(client.get("/patrols/record.pdf?day=2026-11-27"))
    for expected in ("现场巡查记录", "张助理", "2026年11月27日", "1号楼大堂", "照明正常不合格", "灯不亮",
                     "一区东门岗", "瓷砖空鼓", "客户助理签字"):
        assert expected in paper, expected
    assert gate.name in paper.split("未巡查")[1]  # the post nobody checked is listed as missed
    supervisor = as_user(world.supervisor)
    assert "张助理" in pdf_text(supervisor.get(f"/patrols/record.pdf?user={world.assistant.id}&day=2026-11-27"))


def test_the_supervisor_sees_who_covered_what_each_day(world, post, as_user, time_machine):
    gate = patrols.create_checkpoint(world.supervisor, kind="security", name="一区东门岗", zone=world.zone,
                                     checklist=Checklist.get(code="security"))
    client = as_user(world.assistant)
    client.post(f"/c/{gate.token}", data=answers(gate))
    client.post(f"/c/{post.token}", data=answers(post))  # the lobby, due every 7 days
    time_machine.move_to(sh(11, 29, 10, 0), tick=False)
    page = text(as_user(world.supervisor).get("/patrols/coverage"))
    person = page.split("张助理", 1)[1].split("王助理", 1)[0]
    assert "11-29 日 安保 0/1 公共 1/1 今天还差 1" in person and "安保岗位还未巡：一区东门岗" in person
    assert "11-28 六 安保 0/1 公共 1/1 漏 1" in person and "安保岗位未巡：一区东门岗" in person
    assert "11-27 五 安保 1/1 公共 1/1 全覆盖" in person and "安保岗位扫码 1/1" in person
    assert as_user(world.assistant).get("/patrols/coverage").status_code == 403


def test_the_supervisors_today_shows_each_assistants_coverage_no_more_than_a_minute_old(world, post, as_user,
                                                                                        time_machine):
    gate = patrols.create_checkpoint(world.supervisor, kind="security", name="一区东门岗", zone=world.zone,
                                     checklist=Checklist.get(code="security"))
    time_machine.move_to(sh(11, 28, 10, 0), tick=False)  # nobody checked the gate nor the lobby on the 27th
    supervisor = as_user(world.supervisor)
    desk = text(supervisor.get("/")).split("巡查覆盖", 1)[1]
    zhang, wang = desk.split("张助理", 1)[1].split("王助理", 1)
    assert "昨日漏查 2 处" in zhang and "今日已查 0/2 · 昨日漏查：1号楼大堂、一区东门岗" in zhang  # public places too
    assert "昨日漏查 1 处" in wang and "二区北门岗" in wang and "统计于 10:00" in desk
    assert f'href="/patrols/coverage#p{world.assistant.id}"' in html(supervisor.get("/"))
    as_user(world.assistant).post(f"/c/{gate.token}", data=answers(gate))
    supervisor = as_user(world.supervisor)
    time_machine.move_to(sh(11, 28, 10, 0, 50), tick=False)
    assert "今日已查 0/2" in text(supervisor.get("/"))  # the kept count, under a minute old
    time_machine.move_to(sh(11, 28, 10, 1, 1), tick=False)
    desk = text(supervisor.get("/"))
    assert "今日已查 1/2" in desk and "统计于 10:01" in desk
    time_machine.move_to(sh(11, 29, 9, 0), tick=False)  # the next day, before the scheduler's next count
    zhang = text(supervisor.get("/")).split("巡查覆盖", 1)[1].split("张助理", 1)[1].split("王助理", 1)[0]
    assert "昨日漏查 1 处" in zhang and "1号楼大堂" in zhang and "今日已查 0/2" in zhang


def test_the_supervisor_taps_a_day_to_see_each_checkpoint_missed(world, post, as_user, time_machine):
    time_machine.move_to(sh(11, 28, 10, 0), tick=False)
    supervisor = as_user(world.supervisor)
    week = html(supervisor.get("/patrols/coverage"))
    assert f'href="/patrols/coverage/2026-11-27#p{world.assistant.id}"' in week
    assert "公共 0/1" in text(supervisor.get("/patrols/coverage"))
    day = supervisor.get("/patrols/coverage/2026-11-27")
    zhang = text(day).split("张助理", 1)[1].split("王助理", 1)[0]
    assert "漏查 1 处" in zhang and "公共部位未巡（1） 1号楼大堂 · 从未巡查" in zhang
    assert f'href="/patrols/checkpoints/{post.id}"' in html(day)
    assert "安保岗位未巡（1） 二区北门岗" in text(day).split("王助理", 1)[1]
    assert supervisor.get("/patrols/coverage/nonsense").status_code == 404
    assert as_user(world.assistant).get("/patrols/coverage/2026-11-27").status_code == 403
    assert 'href="/patrols/coverage"' in html(as_user(world.supervisor).get("/trends"))


def test_the_administrator_edits_checklists_and_rules(world, post, as_user):
    admin = as_user(users.create_user(None, "admin", "管理员", "admin", PASSWORD))
    settings = html(admin.get("/admin/"))
    for page in ("/admin/tiers", "/patrols/checkpoints", "/admin/checklists", "/admin/patrol-rules"):
        assert f'href="{page}"' in settings, page  # every set-up page is reachable from 设置
    checklist = Checklist.get(code="facility")
    added = admin.post(f"/admin/checklists/{checklist.id}", data={"action": "add", "text": "电梯按钮完好"})
    assert added.status_code == 303
    duplicate = admin.post(f"/admin/checklists/{checklist.id}", data={"action": "add", "text": "电梯按钮完好"})
    assert duplicate.status_code == 422 and "该检查项已存在" in text(duplicate)
    assert "电梯按钮完好" in text(as_user(world.assistant).get(f"/c/{post.token}"))
    admin = as_user(users.User.get(users.User.username == "admin"))
    rules = patrols.PatrolRules.current()
    bad = admin.post("/admin/patrol-rules", data={"version": str(rules.version), "quiet_start": "14:00",
                                                  "quiet_end": "12:00", "security_days": "1", "renovation_days": "1",
                                                  "shop_days": "1", "public_days": "7"})
    assert bad.status_code == 422 and "结束时间须晚于开始时间" in text(bad) and 'value="14:00"' in html(bad)
    good = admin.post("/admin/patrol-rules", data={"version": str(rules.version), "quiet_start": "11:30",
                                                   "quiet_end": "13:30", "security_days": "1", "renovation_days": "1",
                                                   "shop_days": "1", "public_days": "5", "renovation_in_window": "y"})
    assert good.status_code == 303
    assert patrols.PatrolRules.current().window_label == "11:30–13:30"
    assert "无噪音施工时段 11:30–13:30" in text(as_user(world.assistant).get("/patrols"))


def test_an_observation_is_listed_until_closed(world, as_user):
    client = as_user(world.assistant)
    missing = client.post("/patrols/observations/new", data={"zone": str(world.zone.id), "where": "", "what": "x",
                                                             "token": "o1"})
    assert missing.status_code == 422 and "请填写位置" in text(missing)
    made = client.post("/patrols/observations/new", data={"zone": str(world.zone.id), "where": "1号楼外墙",
                                                          "what": "瓷砖空鼓", "follow_up_by": "2026-11-30",
                                                          "token": "o2"})
    assert made.status_code == 303
    assert "瓷砖空鼓" in text(client.get("/patrols"))
    observation = patrols.Observation.get()
    client.post(made.location, data={"version": str(observation.version), "note": "物业已修补"})
    assert "瓷砖空鼓" not in text(client.get("/patrols"))
    assert "结果：物业已修补" in text(client.get(made.location))


def test_a_check_sent_after_the_signal_came_back_counts_for_when_it_was_made(world, post, as_user, time_machine):
    client = as_user(world.assistant)
    garbled = client.post(f"/c/{post.token}", data=dict(answers(post), token="off1", made_at="昨天中午"))
    assert garbled.status_code == 422 and "离线保存的巡查时间无法识别" in text(garbled)
    time_machine.move_to(sh(11, 27, 11, 30), tick=False)
    sent = client.post(f"/c/{post.token}", data=dict(answers(post), token="off2", made_at="2026-11-27T02:40:00.000Z"))
    assert sent.status_code == 303
    made = Check.get(Check.checkpoint == post)
    assert made.at.isoformat() == "2026-11-27T02:40:00"  # 10:40 in Shanghai, not 11:30 when it arrived
    again = client.post(f"/c/{post.token}", data=dict(answers(post), token="off2", made_at="2026-11-27T02:40:00.000Z"))
    assert again.status_code == 303 and Check.select().count() == 1  # sent twice: kept once


def test_a_check_resent_with_its_photo_leaves_no_second_copy_of_the_photo(world, post, as_user, app):
    """The phone resends a check whose first sending arrived (the answer was lost in the basement):
    the server keeps one check, and the photo that came again is dropped, not left unattached."""
    client = as_user(world.assistant)
    lights = item_id(post, "照明正常")

    def send():
        data = dict(answers(post, 照明正常="灯不亮"), token="offline-photo-1")
        data[f"photos-{lights}"] = (io.BytesIO(jpeg()), "a.jpg")
        return client.post(f"/c/{post.token}", data=data, content_type="multipart/form-data")

    assert send().status_code == 303 and send().status_code == 303
    assert Check.select().count() == 1
    assert [(p.owner_type, p.owner_id) for p in uploads.Photo.select()] == [("finding", Finding.get().id)]
    assert len([name for name in os.listdir(app.config["PHOTOS"]) if name.endswith(".thumb.jpg")]) == 1


def test_the_board_names_each_listed_checkpoint_for_the_phone_without_giving_away_its_sticker(world, post, as_user):
    """The board lists check pages; the phone also answers a scan of their stickers without signal,
    so each card carries the checkpoint and a digest of its sticker address (not the address, which
    would make a pick from the list pass for a scan)."""
    import hashlib
    board = html(as_user(world.assistant).get("/patrols"))
    card = re.search(r'<a class="card checkpoint-card"[^>]*>', board).group(0)
    assert f'data-checkpoint="{post.id}"' in card
    assert f'data-sticker="{hashlib.sha256(post.token.encode()).hexdigest()}"' in card
    assert post.token not in board


def test_the_phone_learns_who_is_signed_in_before_sending_what_it_kept(world, post, client, as_user):
    """The pending checks go out as whoever is signed in now, with this session's form token."""
    signed_out = client.get("/patrols/offline/session")
    assert signed_out.status_code == 302 and signed_out.location.startswith("/login")
    as_user(world.assistant)
    now = client.get("/patrols/offline/session")
    assert now.status_code == 200 and now.json["user"] == world.assistant.id and now.json["csrf"]
    assert "no-store" in now.headers["Cache-Control"]


def test_the_check_page_says_whose_it_is_and_the_estates_time_zone(world, post, as_user):
    page = html(as_user(world.assistant).get(f"/c/{post.token}"))
    form = re.search(r'<form[^>]*data-offline="check"[^>]*>', page).group(0)
    assert f'data-user="{world.assistant.id}"' in form and f'data-checkpoint="{post.id}"' in form
    assert 'data-tz="Asia/Shanghai"' in page


def test_the_no_signal_page_is_the_apps_own_and_names_nobody(world, client):
    page = client.get("/offline")
    assert page.status_code == 200
    assert "没有信号" in text(page) and "data-user" not in html(page)


# Issue 23: patrols and renovations, as a newcomer walked them

def test_a_rectification_orders_deadline_falls_inside_service_hours(world, post, as_user, traveller):
    traveller.move_to(sh(11, 27, 23, 27))  # the 08:00–20:00 service centre is closed
    client = as_user(world.assistant)
    client.post(f"/c/{post.token}", data=answers(post, 照明正常="灯不亮"))
    finding = Finding.get()
    form = html(client.get(f"/patrols/findings/{finding.id}/order"))
    assert 'value="2026-11-28T20:00"' in form  # a full service day, not 23:27 tomorrow
    late = client.post(f"/patrols/findings/{finding.id}/order", data={
        "version": "1", "unit": str(world.cleaning.id), "instructions": "换灯", "deadline": "2026-11-28T22:30"})
    assert late.status_code == 422 and "整改时限应在服务时间内（08:00–20:00）" in text(late)
    traveller.move_to(sh(11, 28, 10, 5))
    form = html(client.get(f"/patrols/findings/{finding.id}/order"))
    assert 'value="2026-11-29T10:05"' in form


def test_a_checklist_offers_all_passed_in_one_tap_and_the_board_a_way_to_each_kind(world, post, as_user):
    client = as_user(world.assistant)
    form = html(client.get(f"/patrols/checkpoints/{post.id}/check"))
    assert "data-all-ok" in form and "全部合格" in form
    assert form.index("全部合格") < form.index('name="answer-')  # before the first item
    board = html(client.get("/patrols"))
    tiles = board[board.index('class="patrol-areas"'):board.index("</nav>", board.index('class="patrol-areas"'))]
    for href in ("/shops", "/renovations", "/patrols/checkpoints?kind=public"):
        assert f'href="{href}"' in tiles
    assert board.index('class="patrol-areas"') < board.index("今天还要巡查")
    assert "到期 0/1" in text(client.get("/patrols"))


def test_a_rectification_order_is_reported_done_with_an_after_photo(world, post, as_user):
    client = as_user(world.assistant)
    client.post(f"/c/{post.token}", data=answers(post, 照明正常="灯不亮"))
    finding = Finding.get()
    client.post(f"/patrols/findings/{finding.id}/order", data={
        "version": "1", "unit": str(world.cleaning.id), "instructions": "换灯", "deadline": "2026-11-28T18:00"})
    order = WorkOrder.get()
    cleaner = as_user(world.cleaner)
    assert "整改后的照片（必拍）" in text(cleaner.get(f"/workorders/{order.id}/report"))
    bare = cleaner.post(f"/workorders/{order.id}/report", data={"version": str(order.version), "note": "已换"})
    assert bare.status_code == 422 and "请拍一张整改后的照片再报完成" in text(bare)
    done = cleaner.post(f"/workorders/{order.id}/report", data={
        "version": str(order.version), "note": "已换", "photos": (io.BytesIO(jpeg()), "after.jpg")},
        content_type="multipart/form-data")
    assert done.status_code == 303 and WorkOrder.get().state == "reported"
    # The re-check takes photos too; the administrator may require one there as well.
    admin = as_user(users.create_user(None, "admin", "管理员", "admin", PASSWORD))
    page = text(admin.get("/admin/patrol-rules"))
    assert "整改单报完成须附整改后照片" in page and "装修违规复查须拍照" in page
    rules_now = patrols.PatrolRules.current()
    admin.post("/admin/patrol-rules", data={
        "version": str(rules_now.version), "quiet_start": "12:00", "quiet_end": "14:00", "security_days": "1",
        "renovation_days": "1", "shop_days": "1", "public_days": "7", "renovation_in_window": "y",
        "photo_steps": ["report:finding", "inspect:finding"]})
    assert patrols.PatrolRules.current().photo_steps == "report:finding,inspect:finding"
    client = as_user(world.assistant)
    order = WorkOrder.get()
    assert "复查照片（必拍）" in text(client.get(f"/workorders/{order.id}/inspect"))
    bare = client.post(f"/workorders/{order.id}/inspect", data={"version": str(order.version), "verdict": "pass"})
    assert bare.status_code == 422 and "请拍一张复查时的照片" in text(bare)
    passed = client.post(f"/workorders/{order.id}/inspect", data={
        "version": str(order.version), "verdict": "pass", "photos": (io.BytesIO(jpeg()), "seen.jpg")},
        content_type="multipart/form-data")
    assert passed.status_code == 303 and WorkOrder.get().state == "approved"
    assert len(uploads.Photo.of(WorkOrder.get())) == 2


def test_a_requests_work_order_needs_no_photo_unless_the_estate_says_so(world, as_user):
    ticket, order = tickets.dispatch(world.assistant, intake(world), 1, world.engineering, "换水管",
                                     clock.now() + datetime.timedelta(hours=4))
    engineer = as_user(world.engineer)
    assert "必拍" not in text(engineer.get(f"/workorders/{order.id}/report"))
    assert engineer.post(f"/workorders/{order.id}/report", data={"version": str(order.version),
                                                                  "note": "已换"}).status_code == 303
