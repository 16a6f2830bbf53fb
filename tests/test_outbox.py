"""The outbox: messages written in the change's own transaction, one per occasion, delivered to the
team's chat robots in each platform's format (checked against the platforms' documented signing),
retried with backoff, given up after the last try, claimed by one sender only — and a server killed
between the commit and the send sends the message once when it is back."""
import base64
import datetime
import hashlib
import hmac
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from urllib.parse import quote_plus

import pytest

import pgtest
import serverctl
from kefu import channels
from kefu import notify
from kefu import outbox
from kefu import tickets
from kefu import workorders
from kefu.db import database
from kefu.outbox import Delivery
from kefu.outbox import Message
from kefu.users import User
from receiver import Receiver
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

PUBLIC = "https://kefu.example.com"
MOBILE = "13800001111"


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def w(world):
    outbox.configure(PUBLIC)
    User.update(phone=MOBILE).where(User.id == world.assistant.id).execute()
    world.assistant = User.get_by_id(world.assistant.id)
    yield world
    outbox.configure("")


def robot(receiver, platform, path, secret="", **scope):
    return channels.add_robot(None, name=f"{platform}群", platform=platform, url=receiver.url(path), secret=secret,
                              **scope)


def states():
    return sorted((d.channel, d.state, d.attempts) for d in Delivery.select())


# Each platform's format, checked by its documented algorithm

def test_an_intake_reaches_each_robot_of_the_zone_in_its_platforms_format(w, receiver):
    robot(receiver, "wecom", "/cgi-bin/webhook/send?key=KEY1", zone=w.zone)
    robot(receiver, "dingtalk", "/robot/send?access_token=TOKEN", secret="SECdingsecret", zone=w.zone)
    robot(receiver, "feishu", "/open-apis/bot/v2/hook/HOOK", secret="feishusecret", zone=w.zone)
    robot(receiver, "webhook", "/hooks/kefu", secret="shared-secret", zone=w.zone)
    robot(receiver, "wecom", "/cgi-bin/webhook/send?key=OTHERZONE", zone=w.zone2)

    ticket = intake(w, actor=w.frontdesk, channel="前台转交", description="卫生间天花板漏水")
    assert outbox.drain() == 4
    got = {r.path: r for r in receiver.wait_for(4)}
    link = f"{PUBLIC}/tickets/{ticket.id}"
    now_s = int(sh(11, 27, 10).timestamp())

    wecom = got["/cgi-bin/webhook/send"]
    assert wecom.query["key"] == ["KEY1"]
    body = wecom.json()
    assert body["msgtype"] == "text"
    assert body["text"]["mentioned_mobile_list"] == [MOBILE]
    assert ticket.number in body["text"]["content"] and link in body["text"]["content"]
    assert "卫生间天花板漏水" in body["text"]["content"]
    assert len(body["text"]["content"].encode()) <= 2048

    ding = got["/robot/send"]
    stamp = ding.query["timestamp"][0]
    assert int(stamp) == now_s * 1000  # milliseconds
    expected = base64.b64encode(hmac.new(b"SECdingsecret", f"{stamp}\nSECdingsecret".encode(), hashlib.sha256).digest())
    assert ding.query["sign"] == [expected.decode()]  # parse_qs undid the URL-encoding
    assert f"sign={quote_plus(expected)}" in ding.raw_query
    body = ding.json()
    assert body["msgtype"] == "text" and body["at"]["atMobiles"] == [MOBILE]
    assert f"@{MOBILE}" in body["text"]["content"] and link in body["text"]["content"]

    feishu = got["/open-apis/bot/v2/hook/HOOK"]
    body = feishu.json()
    assert body["timestamp"] == str(now_s)  # seconds
    key = f"{body['timestamp']}\nfeishusecret".encode()
    assert body["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert body["msg_type"] == "text" and link in body["content"]["text"]

    generic = got["/hooks/kefu"]
    body = generic.json()
    signed = hmac.new(b"shared-secret", generic.headers["X-Kefu-Timestamp"].encode() + b"." + generic.body,
                      hashlib.sha256).hexdigest()
    assert generic.headers["X-Kefu-Signature"] == f"sha256={signed}"
    assert body["link"] == link and body["mobiles"] == [MOBILE]
    assert body["key"] == generic.headers["X-Kefu-Message-Key"]

    assert {r.headers["X-Kefu-Message-Key"] for r in got.values()} == {m.key for m in Message.select()}
    assert states() == [("dingtalk", "sent", 1), ("feishu", "sent", 1), ("webhook", "sent", 1), ("wecom", "sent", 1)]


def test_a_work_order_and_its_rejection_reach_the_units_robot(w, receiver):
    robot(receiver, "wecom", "/unit?key=ENG", unit=w.engineering)
    robot(receiver, "wecom", "/unit?key=CLEAN", unit=w.cleaning)
    ticket = intake(w)
    ticket, order = tickets.dispatch(w.assistant, ticket, ticket.version, w.engineering, "更换灯管",
                                     sh(11, 27, 16))
    order = workorders.accept(w.engineer, order, order.version)
    order = workorders.report_done(w.engineer, order, order.version, "已更换")
    workorders.inspect(w.assistant, order, order.version, False, "灯罩未装回")
    outbox.drain()
    texts = [(r.query["key"][0], r.json()["text"]["content"]) for r in receiver.wait_for(2)]
    assert [key for key, _ in texts] == ["ENG", "ENG"]
    assert texts[0][1].startswith(f"新派工单 {order.number}") and f"{PUBLIC}/workorders/{order.id}" in texts[0][1]
    assert texts[1][1].startswith(f"验收不通过 {order.number}：灯罩未装回")


def test_an_escalation_reaches_the_robot_that_hears_everything(w, receiver):
    robot(receiver, "wecom", "/all?key=ALL")
    ticket = intake(w)
    tickets.escalate(w.assistant, ticket, ticket.version, "业主情绪激动")
    outbox.drain()
    contents = [r.json()["text"]["content"] for r in receiver.wait_for(2)]
    assert contents[0].startswith(f"一般诉求 {ticket.number}")
    assert contents[1].startswith(f"上报 {ticket.number}") and "业主情绪激动" in contents[1]


def test_a_residents_nudge_and_unhappy_rating_reach_the_zones_group_once_each(w, receiver, traveller):
    from kefu import residents
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    robot(receiver, "wecom", "/other?key=O", zone=w.zone2)
    ticket = intake(w, description="厨房水管漏水")
    outbox.drain()
    receiver.wait_for(1)  # the intake itself
    residents.nudge(ticket)
    traveller.shift(datetime.timedelta(hours=2))
    residents.nudge(tickets.Ticket.get_by_id(ticket.id))
    ticket = tickets.Ticket.get_by_id(ticket.id)
    ticket = tickets.resolve_on_the_spot(w.assistant, ticket, ticket.version, "已修好")
    residents.rate(ticket, "不满意", "还在滴水")
    assert outbox.drain() == 3
    got = receiver.wait_for(4)[1:]
    assert {r.path for r in got} == {"/z"}
    contents = [r.json()["text"]["content"] for r in got]
    assert [c.split(" ")[0] for c in contents] == ["住户催办", "住户催办", "住户评价不满意"]
    assert all(ticket.number in c and f"{PUBLIC}/tickets/{ticket.id}" in c for c in contents)
    assert "还在滴水" in contents[2]
    assert got[0].json()["text"]["mentioned_mobile_list"] == [MOBILE]  # the request's assistant


# Idempotency and transactions

def test_the_same_occasion_told_twice_queues_one_message(w, receiver):
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    ticket = intake(w)
    first = outbox.tell("late", ticket, "已超时 响应", users=[w.assistant], zone_id=w.zone.id, occasion="response")
    again = outbox.tell("late", ticket, "已超时 响应", users=[w.assistant], zone_id=w.zone.id, occasion="response")
    other = outbox.tell("late", ticket, "已超时 处理", users=[w.assistant], zone_id=w.zone.id, occasion="resolution")
    assert (first, again, other) == (1, 0, 1)
    assert Message.select().where(Message.kind == "late").count() == 2
    outbox.drain()
    assert outbox.drain() == 0
    assert len(receiver.wait_for(3)) == 3  # the intake, and each lateness once


def test_a_change_rolled_back_queues_nothing(w, receiver):
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    with pytest.raises(RuntimeError):
        with database.atomic():
            intake(w)
            assert Message.select().count() == 1  # written inside the transaction…
            raise RuntimeError("the change fails after the message was written")
    assert Message.select().count() == 0 and Delivery.select().count() == 0  # …and gone with it
    assert outbox.drain() == 0
    assert receiver.requests == []


def test_fifteen_minutes_left_on_the_response_clock_is_told_once(w, receiver, traveller):
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    ticket = intake(w, actor=w.frontdesk)  # due 11:00
    answered = intake(w, actor=w.frontdesk)
    tickets.respond(w.assistant, answered, answered.version, "电话", "已联系")
    Delivery.update(state="sent").execute()
    traveller.move_to(sh(11, 27, 10, 44))
    assert notify.warn_response_due() == 0
    traveller.move_to(sh(11, 27, 10, 46))
    assert notify.warn_response_due() == 1
    traveller.move_to(sh(11, 27, 10, 50))
    assert notify.warn_response_due() == 0
    outbox.drain()
    got = receiver.wait_for(1)
    assert len(got) == 1
    assert got[0].json()["text"]["content"].startswith(f"还剩 14 分钟须响应 {ticket.number}")
    assert got[0].json()["text"]["mentioned_mobile_list"] == [MOBILE]


# Retries, backoff, giving up

def test_a_failing_robot_is_tried_again_later_each_time_longer_then_given_up(w, receiver, traveller):
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    receiver.answer(500, {"errcode": -1, "errmsg": "system busy"})
    intake(w)
    waits = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        assert outbox.drain() == 0
        delivery = Delivery.get()
        assert delivery.attempts == attempt and "HTTP 500" in delivery.last_error
        if attempt == outbox.MAX_ATTEMPTS:
            break
        assert delivery.state == "retry"
        wait = delivery.next_try_at - datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        waits.append(wait.total_seconds())
        traveller.shift(wait - datetime.timedelta(seconds=1))
        assert outbox.drain() == 0 and Delivery.get().attempts == attempt  # not yet due
        traveller.shift(datetime.timedelta(seconds=1))
    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert Delivery.get().state == "given_up"
    traveller.shift(datetime.timedelta(hours=5))
    assert outbox.drain() == 0 and len(receiver.requests) == outbox.MAX_ATTEMPTS


def test_a_robot_that_refuses_in_its_answer_is_a_failure_and_recovers_when_it_accepts(w, receiver, traveller):
    robot(receiver, "dingtalk", "/robot/send?access_token=T", secret="SECx", zone=w.zone)
    receiver.answer(200, {"errcode": 310000, "errmsg": "sign not match"})
    intake(w)
    outbox.drain()
    delivery = Delivery.get()
    assert (delivery.state, delivery.attempts) == ("retry", 1)
    assert "310000" in delivery.last_error and "sign not match" in delivery.last_error
    receiver.answer(200, {"errcode": 0, "errmsg": "ok"})
    traveller.shift(datetime.timedelta(seconds=30))
    assert outbox.drain() == 1
    delivery = Delivery.get()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("sent", 2, "")


def test_a_dead_network_keeps_the_message_until_it_is_back(w, receiver, traveller):
    dead = channels.add_robot(None, name="断网", platform="wecom", url="http://127.0.0.1:9/x?key=K", zone=w.zone)
    intake(w)
    outbox.drain()
    delivery = Delivery.get()
    assert delivery.state == "retry" and "连接失败" in delivery.last_error
    channels.Robot.update(url=receiver.url("/x?key=K")).where(channels.Robot.id == dead.id).execute()
    traveller.shift(datetime.timedelta(seconds=30))
    assert outbox.drain() == 1 and len(receiver.wait_for(1)) == 1


def test_a_stopped_robot_gets_nothing_more(w, receiver):
    stopped = robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    intake(w)
    channels.stop_robot(None, stopped)
    outbox.drain()
    delivery = Delivery.get()
    assert delivery.state == "given_up" and delivery.last_error == "机器人已停用"
    intake(w)
    assert Delivery.select().count() == 1 and receiver.requests == []


# One sender per delivery

def test_of_two_senders_only_one_claims_a_delivery(w, receiver):
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    intake(w)
    delivery = Delivery.get()
    assert outbox.claim(delivery.id) is not None
    assert outbox.claim(delivery.id) is None


@pytest.mark.skipif(bool(pgtest.URL), reason="threads on one SQLite file; PostgreSQL claims are row locks")
def test_two_threads_draining_at_once_send_each_message_once(w, receiver, tmp_path):
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    for _ in range(6):
        intake(w)
    receiver.reply = lambda request: (time.sleep(0.05), (200, {"errcode": 0}))[1]
    database.close()
    start = threading.Barrier(2)
    sent = []

    def sender():
        with database.connection_context():
            start.wait()
            sent.append(outbox.drain())

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    database.connect(reuse_if_open=True)
    assert sum(sent) == 6
    assert len(receiver.wait_for(6)) == 6
    assert sorted(r.headers["X-Kefu-Message-Key"] for r in receiver.requests) == sorted(m.key for m in Message.select())


def test_a_delivery_left_sending_by_a_dead_process_is_sent_again_after_the_lease(w, receiver, traveller):
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    intake(w)
    assert outbox.claim(Delivery.get().id) is not None  # …and the process dies mid-send
    assert outbox.drain() == 0
    traveller.shift(outbox.LEASE + datetime.timedelta(seconds=1))
    assert outbox.drain() == 1
    delivery = Delivery.get()
    assert (delivery.state, delivery.attempts) == ("sent", 2)


# The administrator's pages

def test_the_admin_sees_each_delivery_with_its_state_attempts_and_last_error(w, receiver, client, as_user):
    admin = User.create(username="admin", display_name="管理员", role="admin", created_at=datetime.datetime(2026, 1, 1),
                        password_hash=User.get_by_id(w.assistant.id).password_hash)
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    receiver.answer(500, "busy")
    ticket = intake(w)
    outbox.drain()
    as_user(admin)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "失败重试" in page and "尝试 1 次" in page and "HTTP 500" in page and ticket.number in page
    assert client.get("/admin/outbox?state=sent").get_data(as_text=True).count("outbox-row") == 0
    assert client.get("/admin/outbox?state=bogus").status_code == 404
    as_user(w.assistant)
    assert client.get("/admin/outbox").status_code == 403


def test_the_admin_adds_a_robot_for_a_zone_and_bad_input_is_told_beside_the_field(w, client, as_user):
    admin = User.create(username="admin", display_name="管理员", role="admin", created_at=datetime.datetime(2026, 1, 1),
                        password_hash=User.get_by_id(w.assistant.id).password_hash)
    as_user(admin)
    bad = client.post("/admin/notify/robots/new", data={"name": "一区群", "platform": "webhook", "url": "not a url",
                                                        "secret": "", "scope": f"zone:{w.zone.id}"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert "请填写机器人的 Webhook 地址" in page
    missing_secret = client.post("/admin/notify/robots/new", data={
        "name": "一区群", "platform": "webhook", "url": "https://example.com/hook", "scope": f"zone:{w.zone.id}"})
    assert missing_secret.status_code == 422 and "须设置签名密钥" in missing_secret.get_data(as_text=True)
    bogus_scope = client.post("/admin/notify/robots/new", data={
        "name": "一区群", "platform": "wecom", "url": "https://example.com/hook", "scope": "zone:99999"})
    assert bogus_scope.status_code == 422 and "请选择区域或业务块" in bogus_scope.get_data(as_text=True)
    made = client.post("/admin/notify/robots/new", data={
        "name": "一区群", "platform": "dingtalk", "url": "https://oapi.example.com/robot/send?access_token=x",
        "secret": "SECabc", "scope": f"zone:{w.zone.id}"})
    assert made.status_code == 303
    page = client.get("/admin/notify").get_data(as_text=True)
    assert "一区群" in page and "钉钉群机器人" in page and "区域：一区" in page and "SECabc" not in page
    saved = channels.Robot.get(channels.Robot.name == "一区群")
    edited = client.post(f"/admin/notify/robots/{saved.id}", data={
        "name": "一区客服群", "platform": "dingtalk", "url": saved.url, "secret": "", "scope": ""})
    assert edited.status_code == 303
    assert channels.Robot.get_by_id(saved.id).secret == "SECabc"  # left empty: kept
    assert client.post(f"/admin/notify/robots/{saved.id}/test").status_code == 303
    tested = Delivery.get()
    assert (tested.channel, tested.target_id, tested.state) == ("dingtalk", saved.id, "pending")
    assert "测试消息" in tested.message.text and "测试消息" in client.get("/admin/outbox").get_data(as_text=True)
    assert client.post(f"/admin/notify/robots/{saved.id}/stop").status_code == 303
    assert channels.Robot.get_by_id(saved.id).is_voided
    assert "已停用" in client.get("/admin/notify").get_data(as_text=True)


# A crash between the commit and the send

@pytest.mark.crash
@pytest.mark.skipif(bool(pgtest.URL), reason="serves the instance's own SQLite file")
def test_a_server_killed_between_commit_and_send_delivers_once_when_restarted(tmp_path, monkeypatch, receiver):
    instance = tmp_path / "instance"
    # Built in a process of its own: this one's database binding (and any sender thread another test
    # left in it) never touches the served instance.
    code = "import sys; sys.path.insert(0, 'tests'); import test_outbox; test_outbox._small_estate(*sys.argv[1:])"
    made = subprocess.run([sys.executable, "-c", code, str(instance), receiver.url("/cgi-bin/webhook/send?key=CRASH")],
                          cwd=serverctl.ROOT, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    extra = {"KEFU_OUTBOX_SEND": "0", "PUBLIC_URL": PUBLIC, "TRUSTED_HOSTS": "127.0.0.1,localhost"}
    original = serverctl._env
    monkeypatch.setattr(serverctl, "_env", lambda *args, **kw: {**original(*args, **kw), **extra})
    server = serverctl.Server(str(instance), str(tmp_path))
    try:
        server.start()  # its senders don't run: the message stays between commit and send
        desk = serverctl.Client(server).sign_in("qiantai")
        fields = [("token", "crash-1"), ("origin", ""), ("channel", "前台转交"), ("category", "工程维修"),
                  ("tier", str(_one(server.database, "SELECT id FROM tier WHERE name = '一般'"))),
                  ("household", "1-1-101"), ("place", "0"), ("zone", "0"), ("resident", "0"),
                  ("customer_name", "王先生"), ("customer_phone", ""), ("description", "门口积水")]
        answer = desk.post("/tickets/new", fields)
        assert answer.status == 303, answer.text[:1000]
        assert _one(server.database, "SELECT state FROM delivery") == "pending"
        time.sleep(1.0)
        assert receiver.requests == []
        server.kill()  # SIGKILL, the message committed and not sent
        del extra["KEFU_OUTBOX_SEND"]
        server.start()
        got = receiver.wait_for(1, timeout=30)
        assert len(got) == 1
        time.sleep(outbox.POLL_SECONDS + 2)  # each worker's sender has looked again since
        assert len(receiver.requests) == 1
        assert "门口积水" in got[0].json()["text"]["content"]
        assert _one(server.database, "SELECT state || ' ' || attempts FROM delivery") == "sent 1"
    finally:
        server.close()


def _one(path, sql):
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchone()[0]


def _small_estate(instance, robot_url):
    """An instance folder with one zone, its assistant, the front desk and a 企业微信 robot."""
    from kefu import create_app
    from kefu import db
    from kefu import estate
    from kefu import users

    os.makedirs(instance, exist_ok=True)
    create_app({"TESTING": True, "INSTANCE": instance, "DATABASE": os.path.join(instance, "kefu.sqlite3"),
                "SCHEDULER": False})
    with db.database.connection_context():
        users.create_user(None, "admin", "管理员", "admin", serverctl.PASSWORD)
        users.create_user(None, "qiantai", "陈前台", "frontdesk", serverctl.PASSWORD)
        assistant = users.create_user(None, "zhuli1", "张助理", "assistant", serverctl.PASSWORD)
        building = estate.create_building(None, "1", "1号楼")
        estate.bulk_create_households(None, building, 1, 1, 2, 2)
        zone = estate.set_zone(None, None, 1, "一区", "", [building.id], [assistant.id])
        channels.add_robot(None, name="一区群", platform="wecom", url=robot_url, zone=zone)
    db.database.close()


def test_messages_are_short_json_safe_chinese(w, receiver):
    robot(receiver, "webhook", "/h", secret="s", zone=w.zone)
    intake(w, description="很长的描述" * 100)
    outbox.drain()
    body = json.loads(receiver.wait_for(1)[0].body)
    assert len(body["text"]) < 80


def test_a_paused_request_still_gets_its_response_warning(w, receiver, traveller):
    robot(receiver, "wecom", "/z?key=Z", zone=w.zone)
    ticket = intake(w, actor=w.frontdesk)
    tickets.pause(w.assistant, ticket, ticket.version, tickets.PAUSE_REASONS[0])
    traveller.move_to(sh(11, 27, 10, 50))
    assert notify.warn_response_due() == 1
