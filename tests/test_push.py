"""Web Push to a person's phone: the browser's subscription kept through the 通知设置 page, the
payload encrypted for that browser (decrypted here with its keys, as the browser would), signed with
the estate's VAPID key; a push service that says the subscription is gone ends it; a person's kinds
and quiet hours are kept, and 紧急 comes through the quiet hours."""
import base64
import datetime
import json
import os

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from kefu import channels
from kefu import outbox
from kefu.outbox import Delivery
from kefu.outbox import Message
from receiver import Receiver
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

PUBLIC = "https://kefu.example.com"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """What a browser keeps for a push subscription: its P-256 key pair and auth secret."""

    def __init__(self, endpoint):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription(self):
        public = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                    serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64(public), "auth": b64(self.auth)}}

    def read(self, request):
        """The notification's payload, decrypted as the browser does (RFC 8291, aes128gcm)."""
        assert request.headers["Content-Encoding"] == "aes128gcm"
        return json.loads(http_ece.decrypt(request.body, private_key=self.key, auth_secret=self.auth,
                                           version="aes128gcm"))


@pytest.fixture
def push():
    with Receiver() as running:
        running.answer(201, b"")
        yield running


@pytest.fixture
def w(world):
    outbox.configure(PUBLIC)
    yield world
    outbox.configure("")


@pytest.fixture
def phone(w, push, client, as_user):
    """The assistant's phone, subscribed through the 通知设置 page."""
    browser = Browser(push.url("/push/v2/assistant-phone"))
    as_user(w.assistant)
    answer = client.post("/me/notify/subscribe", json=browser.subscription())
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return browser


def test_a_new_request_reaches_the_assistants_phone_encrypted_for_it_and_signed(w, push, phone):
    ticket = intake(w, actor=w.frontdesk)
    assert outbox.drain() == 1
    [request] = push.wait_for(1)
    assert request.path == "/push/v2/assistant-phone"
    payload = phone.read(request)
    assert payload["title"] == "我区域的新诉求"
    assert payload["body"].startswith(f"一般诉求 {ticket.number}：1-1-101")
    assert payload["url"] == f"{PUBLIC}/tickets/{ticket.id}"
    assert payload["key"] == Message.get().key == request.headers["X-Kefu-Message-Key"]
    assert int(request.headers["Ttl"]) > 0 and request.headers["Urgency"] == "normal"
    # VAPID (RFC 8292): a JWT for the push service's origin, signed ES256 with the estate's key.
    scheme, _, params = request.headers["Authorization"].partition(" ")
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert scheme == "vapid" and fields["k"] == channels.vapid_keys().public_key
    header, claims, signature = fields["t"].split(".")
    assert json.loads(unb64(claims))["aud"] == push.url("")
    raw = unb64(signature)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
    public.verify(encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
                  f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))


def test_the_vapid_keys_are_made_once_and_the_page_hands_the_browser_the_public_one(w, client, as_user):
    first = channels.vapid_keys()
    channels.seed()
    assert channels.PushKeys.select().count() == 1
    as_user(w.assistant)
    page = client.get("/me/notify").get_data(as_text=True)
    assert f'data-vapid-key="{first.public_key}"' in page
    assert len(unb64(first.public_key)) == 65  # an uncompressed P-256 point, as applicationServerKey wants


def test_a_subscription_the_push_service_says_is_gone_ends(w, push, phone):
    push.answer(410, b"")
    intake(w, actor=w.frontdesk)
    outbox.drain()
    delivery = Delivery.get()
    assert delivery.state == "given_up" and "410" in delivery.last_error
    assert channels.subscriptions(w.assistant).count() == 0
    intake(w, actor=w.frontdesk)
    assert Delivery.select().count() == 1


def test_unsubscribing_stops_the_pushes(w, push, phone, client):
    assert client.post("/me/notify/unsubscribe", json={"endpoint": phone.endpoint}).status_code == 200
    intake(w, actor=w.frontdesk)
    assert Delivery.select().count() == 0


def test_a_bad_subscription_is_refused_with_a_message(w, client, as_user):
    as_user(w.assistant)
    answer = client.post("/me/notify/subscribe", json={"endpoint": "javascript:alert(1)", "keys": {}})
    assert answer.status_code == 422 and answer.get_json()["error"] == "推送地址无效"
    answer = client.post("/me/notify/subscribe", json={"endpoint": "https://push.example.com/x",
                                                       "keys": {"p256dh": "!!", "auth": "x"}})
    assert answer.status_code == 422 and answer.get_json()["error"] == "推送密钥无效"
    assert client.post("/me/notify/subscribe", data="not json").status_code == 400


def test_quiet_hours_hold_a_message_until_they_end_and_urgent_comes_through(w, push, phone, client, traveller):
    answer = client.post("/me/notify", data={"kinds": list(channels.KINDS), "quiet_start": "22:00",
                                             "quiet_end": "07:00"})
    assert answer.status_code == 303
    traveller.move_to(sh(11, 27, 23, 0))
    normal = intake(w, actor=w.frontdesk)
    urgent = intake(w, actor=w.frontdesk, tier=w.urgent, description="电梯困人")
    assert outbox.drain() == 1
    [first] = push.wait_for(1)
    assert phone.read(first)["body"].startswith(f"紧急诉求 {urgent.number}") and first.headers["Urgency"] == "high"
    held = Delivery.get(Delivery.state == "pending")
    assert held.next_try_at == datetime.datetime(2026, 11, 27, 23, 0)  # 07:00 in Shanghai
    traveller.move_to(sh(11, 28, 6, 59))
    assert outbox.drain() == 0
    traveller.move_to(sh(11, 28, 7, 0))
    assert outbox.drain() == 1
    assert phone.read(push.wait_for(2)[1])["body"].startswith(f"一般诉求 {normal.number}")


def test_a_kind_turned_off_is_not_pushed(w, push, phone, client):
    wanted = [kind for kind in channels.KINDS if kind != "ticket_new"]
    assert client.post("/me/notify", data={"kinds": wanted}).status_code == 303
    intake(w, actor=w.frontdesk)
    assert Message.select().count() == 0
    page = client.get("/me/notify").get_data(as_text=True)
    assert 'value="ticket_new"' in page and 'value="ticket_new" checked' not in page


@pytest.mark.parametrize("fields, field, message", [
    ({"quiet_start": "22:00"}, "quiet_end", "免打扰时段请填写开始和结束时间"),
    ({"quiet_start": "22:00", "quiet_end": "22:00"}, "quiet_end", "免打扰的开始和结束时间不能相同"),
    ({"quiet_start": "25:99", "quiet_end": "07:00"}, "quiet_start", None),
])
def test_bad_quiet_hours_are_told_beside_the_field(w, client, as_user, fields, field, message):
    as_user(w.assistant)
    answer = client.post("/me/notify", data={"kinds": ["ticket_new"], **fields})
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    if message:
        assert message in page


def test_my_page_lists_each_phone_by_a_short_name_and_closes_one(w, push, client, as_user):
    as_user(w.assistant)
    browser = Browser(push.url("/push/v2/android"))
    agent = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/131.0.0.0 Mobile Safari/537.36")
    assert client.post("/me/notify/subscribe", json=browser.subscription(),
                       headers={"User-Agent": agent}).status_code == 200
    page = client.get("/me/notify").get_data(as_text=True)
    assert "Android · Chrome" in page and "关闭这台设备的通知" in page
    closed = client.post("/me/notify/unsubscribe", data={"endpoint": browser.endpoint})
    assert closed.status_code == 303
    assert "Android · Chrome" not in client.get("/me/notify").get_data(as_text=True)


def test_a_request_i_take_myself_is_not_pushed_to_my_own_phone(w, push, phone):
    intake(w, actor=w.assistant)
    assert Message.select().count() == 0
    intake(w, actor=w.frontdesk)
    assert Message.select().count() == 1
