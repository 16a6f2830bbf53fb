"""Where notifications go and how each kind of place is spoken to: the team's chat robots (企业微信,
钉钉, 飞书, a generic JSON webhook), phones through Web Push, and each person's choices (which kinds,
quiet hours).

The outbox (kefu/outbox.py) decides what is sent to whom and when; this module only knows the
addresses and the wire formats. Every send raises `SendError` on failure, saying whether trying
again could help; every request carries the message's idempotency key (the `X-Kefu-Message-Key`
header, and the `key` field where the body is ours), so a receiver can drop a repeat.
"""
import base64
import datetime
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request

import peewee

from . import clock
from .db import BaseModel
from .db import RuleError
from .db import VoidableMixin
from .db import database
from .estate import Zone
from .users import Unit
from .users import User

PLATFORMS = {"wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人", "feishu": "飞书群机器人", "webhook": "通用 JSON Webhook"}
# The robots that can @ a person by mobile number (飞书's custom bot @s only by its own user ids).
MENTIONS = ("wecom", "dingtalk", "webhook")
TIMEOUT = 10  # seconds for one HTTP request to a robot or a push service
KEY_HEADER = "X-Kefu-Message-Key"

# What a person can be told; the keys are what the outbox and the preferences store.
KINDS = {
    "ticket_new": "我区域的新诉求",
    "order_new": "派给本业务块的工单",
    "rejected": "验收不通过，需返工",
    "escalated": "上报给我的诉求",
    "response_soon": "响应时限还剩 15 分钟",
    "late": "超时提醒",
    "resident": "住户催办、评价不满意",
    "notice": "其他提醒",
}


class ChannelError(RuleError):
    pass


class SendError(Exception):
    """A delivery failed; `permanent` when sending it again can't help (the robot or subscription is gone)."""

    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.message = message[:500]
        self.permanent = permanent


class Robot(VoidableMixin, BaseModel):
    """A group robot (or a webhook) that gets the messages about one zone, one unit, or everything."""

    name = peewee.CharField(max_length=40)
    platform = peewee.CharField(max_length=12)
    url = peewee.CharField(max_length=500)
    secret = peewee.CharField(max_length=200, default="")
    zone = peewee.ForeignKeyField(Zone, null=True, backref="+", on_delete="RESTRICT")
    unit = peewee.ForeignKeyField(Unit, null=True, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()

    @property
    def platform_label(self):
        return PLATFORMS.get(self.platform, self.platform)

    @property
    def scope_label(self):
        if self.zone_id:
            return f"区域：{self.zone.name}"
        if self.unit_id:
            return f"业务块：{self.unit.name}"
        return "全部消息"

    @classmethod
    def serving(cls, zone_id=None, unit_id=None):
        """The live robots that hear about a record of this zone or unit (and those that hear everything)."""
        scope = cls.zone.is_null() & cls.unit.is_null()
        if zone_id:
            scope |= cls.zone == zone_id
        if unit_id:
            scope |= cls.unit == unit_id
        return cls.live().where(scope).order_by(cls.id)


class PushSubscription(VoidableMixin, BaseModel):
    """One browser's Web Push subscription (its endpoint and keys), for one person."""

    user = peewee.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    endpoint = peewee.CharField(max_length=800, unique=True)
    p256dh = peewee.CharField(max_length=200)
    auth = peewee.CharField(max_length=100)
    device = peewee.CharField(max_length=120, default="")
    created_at = peewee.DateTimeField()


class Preference(BaseModel):
    """A person's choices: the kinds they don't want, and quiet hours (紧急 still comes through)."""

    user = peewee.ForeignKeyField(User, unique=True, backref="+", on_delete="CASCADE")
    muted = peewee.CharField(max_length=200, default="")  # kind codes, comma-separated
    quiet_start = peewee.TimeField(null=True)
    quiet_end = peewee.TimeField(null=True)

    @property
    def muted_kinds(self):
        return {kind for kind in self.muted.split(",") if kind}

    def wants(self, kind):
        return kind not in self.muted_kinds

    def quiet_until(self, now_utc, tz):
        """The end of the quiet hours (naive UTC) when `now_utc` falls in them, else None."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return None
        local = clock.to_local(now_utc, tz)
        start, end, at = self.quiet_start, self.quiet_end, local.time()
        inside = (start <= at < end) if start < end else (at >= start or at < end)
        if not inside:
            return None
        day = local.date() if (start < end or at < end) else local.date() + datetime.timedelta(days=1)
        ends = datetime.datetime.combine(day, end, tzinfo=local.tzinfo)
        return clock.to_utc_naive(ends)


class PushKeys(BaseModel):
    """The estate's VAPID key pair, made once (kefu/channels.py `vapid_keys`)."""

    private_pem = peewee.TextField()
    public_key = peewee.CharField(max_length=120)  # the browser's applicationServerKey, base64url
    created_at = peewee.DateTimeField()


MODELS = [Robot, PushSubscription, Preference, PushKeys]


def seed():
    """The VAPID keys, made once when the estate's database is made."""
    if not PushKeys.select().exists():
        private_pem, public_key = _new_vapid_keys()
        PushKeys.create(private_pem=private_pem, public_key=public_key, created_at=clock.utcnow())


def _new_vapid_keys():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    raw = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return pem, base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def vapid_keys():
    keys = PushKeys.select().order_by(PushKeys.id).first()
    if keys is None:
        seed()
        keys = PushKeys.select().order_by(PushKeys.id).first()
    return keys


# ---- the administrator's robots

def _checked_robot(name, platform, url, secret, zone, unit):
    name = RuleError.checked(name, 40, "名称", "name", required=True)
    if platform not in PLATFORMS:
        raise ChannelError("请选择类型", "platform")
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ChannelError("请填写机器人的 Webhook 地址（以 https:// 开头）", "url")
    if len(url) > 500:
        raise ChannelError("地址不能超过 500 个字符", "url")
    secret = (secret or "").strip()
    if len(secret) > 200:
        raise ChannelError("密钥不能超过 200 个字符", "secret")
    if platform == "webhook" and not secret:
        raise ChannelError("通用 Webhook 须设置签名密钥，接收方据此确认消息来自本系统", "secret")
    if zone is not None and unit is not None:
        raise ChannelError("一个机器人只属于一个区域或一个业务块", "scope")
    return dict(name=name, platform=platform, url=url, secret=secret, zone=zone, unit=unit)


def add_robot(actor, *, name, platform, url, secret="", zone=None, unit=None):
    """Add a group robot for a zone, a unit or (neither) every message."""
    values = _checked_robot(name, platform, url, secret, zone, unit)
    return Robot.create(created_at=clock.utcnow(), **values)


def update_robot(actor, robot, *, name, platform, url, secret="", zone=None, unit=None):
    values = _checked_robot(name, platform, url, secret, zone, unit)
    Robot.update(values).where(Robot.id == robot.id).execute()
    return Robot.get_by_id(robot.id)


def stop_robot(actor, robot, reason="停用"):
    """A robot is stopped (voided), not deleted: the outbox still names it."""
    Robot.update(voided_at=clock.utcnow(), void_reason=(reason or "停用")[:200]).where(
        (Robot.id == robot.id) & Robot.voided_at.is_null()).execute()


# ---- a person's own choices

def preference(user):
    return Preference.get_or_none(Preference.user == user.id) or Preference(user=user.id)


def save_preference(user, wanted_kinds, quiet_start=None, quiet_end=None):
    """Keep which kinds `user` wants and their quiet hours (both or neither)."""
    unknown = set(wanted_kinds) - set(KINDS)
    if unknown:
        raise ChannelError("未知的提醒类型", "kinds")
    if (quiet_start is None) != (quiet_end is None):
        raise ChannelError("免打扰时段请填写开始和结束时间", "quiet_start" if quiet_start is None else "quiet_end")
    if quiet_start is not None and quiet_start == quiet_end:
        raise ChannelError("免打扰的开始和结束时间不能相同", "quiet_end")
    muted = ",".join(kind for kind in KINDS if kind not in wanted_kinds)
    with database.atomic():
        Preference.insert(user=user.id, muted=muted, quiet_start=quiet_start, quiet_end=quiet_end).on_conflict(
            conflict_target=[Preference.user],
            update={Preference.muted: muted, Preference.quiet_start: quiet_start,
                    Preference.quiet_end: quiet_end}).execute()
    return preference(user)


def subscribe(user, endpoint, p256dh, auth, device=""):
    """Keep a browser's push subscription for `user` (a browser passed to another person moves with it)."""
    endpoint = (endpoint or "").strip()
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.netloc or len(endpoint) > 800:
        raise ChannelError("推送地址无效", "endpoint")
    for value, label in ((p256dh, "p256dh"), (auth, "auth")):
        try:
            _b64decode(value or "")
        except ValueError:
            raise ChannelError("推送密钥无效", label) from None
        if not value or len(value) > 200:
            raise ChannelError("推送密钥无效", label)
    now = clock.utcnow()
    with database.atomic():
        PushSubscription.insert(user=user.id, endpoint=endpoint, p256dh=p256dh, auth=auth, device=(device or "")[:120],
                                created_at=now).on_conflict(
            conflict_target=[PushSubscription.endpoint],
            update={PushSubscription.user: user.id, PushSubscription.p256dh: p256dh, PushSubscription.auth: auth,
                    PushSubscription.device: (device or "")[:120], PushSubscription.voided_at: None,
                    PushSubscription.void_reason: ""}).execute()
    return PushSubscription.get(PushSubscription.endpoint == endpoint)


def unsubscribe(user, endpoint, reason="本人关闭"):
    PushSubscription.update(voided_at=clock.utcnow(), void_reason=reason).where(
        (PushSubscription.user == user.id) & (PushSubscription.endpoint == (endpoint or "").strip())
        & PushSubscription.voided_at.is_null()).execute()


def subscriptions(user):
    return PushSubscription.live().where(PushSubscription.user == user.id).order_by(PushSubscription.id)


def _b64decode(value):
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError) as error:
        raise ValueError(str(error)) from None


# ---- signing (each platform's documented algorithm)

def dingtalk_sign(secret, timestamp_ms):
    """钉钉 加签: base64 of HMAC-SHA256 keyed with the secret over f"{timestamp}\\n{secret}", URL-encoded;
    the timestamp in milliseconds. (open.dingtalk.com, 自定义机器人安全设置 · 加签; the same steps are
    quoted in apifox.com/apidoc/docs-site/467052/doc-3550006.)"""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def feishu_sign(secret, timestamp_s):
    """飞书 签名校验: base64 of HMAC-SHA256 keyed with f"{timestamp}\\n{secret}" over an empty message (the
    reverse of 钉钉); the timestamp in seconds, both sent in the body. (open.feishu.cn, 自定义机器人使用指南
    · 签名校验; its Python sample is quoted in createh5.com/post/277.html.)"""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_signature(secret, timestamp_s, body):
    """The generic webhook's X-Kefu-Signature: hex HMAC-SHA256 keyed with the secret over
    f"{timestamp}." + body (the timestamp sent as X-Kefu-Timestamp), so a replayed old body can be refused."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256).hexdigest()


# ---- the wire formats

def robot_request(robot, text, link, mobiles, key, now=None):
    """(url, body bytes, headers) for one message to `robot`."""
    mobiles = [m for m in mobiles if m] if robot.platform in MENTIONS else []
    url, headers = robot.url, {"Content-Type": "application/json; charset=utf-8", KEY_HEADER: key}
    now = now if now is not None else time.time()
    if robot.platform == "wecom":
        # 企业微信群机器人 (developer.work.weixin.qq.com/document/path/91770): text content ≤ 2048 bytes,
        # @ by mobile through mentioned_mobile_list.
        content = _fit(f"{text}\n{link}", 2048)
        body = {"msgtype": "text", "text": {"content": content, "mentioned_mobile_list": mobiles}}
    elif robot.platform == "dingtalk":
        # 钉钉自定义机器人: the @ shows only if the text names the mobile too (at.atMobiles).
        mention = " ".join(f"@{m}" for m in mobiles)
        body = {"msgtype": "text", "text": {"content": _fit(f"{text}\n{link}" + (f"\n{mention}" if mention else ""), 18000)},
                "at": {"atMobiles": mobiles, "isAtAll": False}}
        if robot.secret:
            stamp = int(now * 1000)
            url += ("&" if "?" in url else "?") + f"timestamp={stamp}&sign={dingtalk_sign(robot.secret, stamp)}"
    elif robot.platform == "feishu":
        # 飞书自定义机器人: body ≤ 20 KB; 5 a second and 100 a minute per robot.
        body = {"msg_type": "text", "content": {"text": _fit(f"{text}\n{link}", 18000)}}
        if robot.secret:
            stamp = int(now)
            body = {"timestamp": str(stamp), "sign": feishu_sign(robot.secret, stamp), **body}
    else:
        body = {"key": key, "text": text, "link": link, "mobiles": mobiles}
    data = json.dumps(body, ensure_ascii=False).encode()
    if robot.platform == "webhook":
        stamp = str(int(now))
        headers.update({"X-Kefu-Timestamp": stamp, "X-Kefu-Signature": webhook_signature(robot.secret, stamp, data)})
    return url, data, headers


def _fit(text, limit):
    """`text` cut to `limit` UTF-8 bytes."""
    data = text.encode()
    return text if len(data) <= limit else data[:limit - 3].decode(errors="ignore") + "…"


def send_robot(robot, text, link, mobiles, key):
    """POST one message to a robot; raises SendError. The platforms answer 200 with an error code in
    the body when they refuse (a wrong signature, a rate limit): that is a failure too."""
    url, data, headers = robot_request(robot, text, link, mobiles, key)
    status, answer = _post(url, data, headers)
    if status >= 300:
        raise SendError(f"HTTP {status}：{answer[:200]}", permanent=status in (400, 401, 403, 404, 410))
    if robot.platform != "webhook":
        try:
            reply = json.loads(answer or "{}")
        except ValueError:
            reply = {}
        code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
        if code not in (0, None):
            raise SendError(f"{robot.platform_label}拒收：{code} {reply.get('errmsg') or reply.get('msg') or ''}"[:300])


def _post(url, data, headers):
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, response.read(64 * 1024).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read(4096).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise SendError(f"连接失败：{getattr(error, 'reason', error)}") from None


def send_push(subscription, payload, key, urgent=False, ttl=24 * 3600):
    """Encrypt `payload` (a dict, sent as JSON) for one browser and hand it to its push service,
    signed with the estate's VAPID key; raises SendError (permanent when the subscription is gone)."""
    from py_vapid import Vapid
    from pywebpush import WebPushException
    from pywebpush import webpush

    keys = vapid_keys()
    try:
        webpush({"endpoint": subscription.endpoint, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
                data=json.dumps({**payload, "key": key}, ensure_ascii=False),
                vapid_private_key=Vapid.from_pem(keys.private_pem.encode()),
                vapid_claims={"sub": "mailto:kefu@localhost"}, ttl=ttl, timeout=TIMEOUT,
                # Topic: a push service holding an undelivered message replaces it with a repeat of the same key.
                headers={KEY_HEADER: key, "Topic": _topic(key), "Urgency": "high" if urgent else "normal"})
    except WebPushException as error:
        status = getattr(error.response, "status_code", None)
        raise SendError(f"推送服务拒收：{status or ''} {str(error)[:200]}", permanent=status in (404, 410)) from None
    except Exception as error:  # requests' connection errors, a bad key: recorded, tried again
        raise SendError(f"推送失败：{type(error).__name__} {str(error)[:200]}") from None


def _topic(key):
    """A Web Push Topic (≤ 32 URL-safe characters) from a message key."""
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()[:24]).decode()
