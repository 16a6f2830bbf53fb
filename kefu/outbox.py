"""The outbox (通知发件箱): every notification is a row written in the same transaction as the change
that caused it, then delivered by a sender, with retries, once.

- `tell(...)` queues a message for each person (to each of their browsers, by Web Push) and for each
  group robot of the record's zone or unit, inside the caller's transaction: a change rolled back
  queues nothing. Each message has an idempotency key (kind, record, occasion, audience) that the
  schema keeps unique, so the same occasion told twice — a job run twice, a request resent — queues once.
- One `Delivery` row per message and channel target, with its state (待发送 / 发送中 / 已送达 / 失败重试
  / 放弃), attempts, next try and last error; the administrator sees them (设置 → 通知发件箱).
- `drain()` claims due deliveries one by one with a guarded UPDATE (state and claim token in the WHERE),
  so of two workers or threads exactly one sends a delivery; sends outside any transaction; records
  the outcome; a failure is tried again after 30 s, 1, 2, 4 … minutes (at most an hour apart), and
  after MAX_ATTEMPTS tries it is given up (放弃).
- Sending starts right after the change commits (the web request's teardown wakes this process's
  sender thread) and, as a fallback, on the sender thread's own poll and the scheduler's job: a
  request taken at the front desk reaches the phone in seconds, not at the next 30-second tick.

Crashes: a delivery is written before it is sent and marked sent after, so a server killed between
the commit and the send sends it when it is back (nothing is lost). A server killed in the middle
of the HTTP request leaves the delivery 发送中; after LEASE it is claimed again and sent again, so
that one edge is at-least-once: the receiver may get it twice, with the same key in the
X-Kefu-Message-Key header (and the body's `key` for the generic webhook and Web Push, whose service
worker shows one notification per key), by which it can drop the repeat.
"""
import datetime
import hashlib
import logging
import os
import secrets
import threading

import peewee

from . import channels
from . import clock
from .db import BaseModel
from .db import database
from .estate import Estate
from .users import User

log = logging.getLogger(__name__)

STATES = {"pending": "待发送", "sending": "发送中", "sent": "已送达", "retry": "失败重试", "given_up": "放弃"}
DUE_STATES = ("pending", "retry")
MAX_ATTEMPTS = 8
FIRST_RETRY = datetime.timedelta(seconds=30)
LONGEST_WAIT = datetime.timedelta(hours=1)
LEASE = datetime.timedelta(minutes=2)  # a delivery 发送中 longer than this died with its process
POLL_SECONDS = 5  # the sender thread looks anyway this often (messages queued by another process's job)
BATCH = 50

# Where a record's page is, by record type, for the link in a message.
LINKS = {"ticket": "/tickets/{id}", "workorder": "/workorders/{id}", "serviceorder": "/services/{id}",
         "need": "/needs/{id}", "shopnotice": "/shops/notices/{id}", "rectificationnotice": "/renovations/notices/{id}",
         "finding": "/patrols/findings/{id}", "violation": "/renovations/violations/{id}",
         "escalation": "/escalations/{id}"}

_public_url = {"value": ""}


def configure(public_url):
    """The address phones use (PUBLIC_URL): links in messages start with it."""
    _public_url["value"] = (public_url or "").rstrip("/")


class Message(BaseModel):
    key = peewee.CharField(max_length=200, unique=True)
    kind = peewee.CharField(max_length=20)
    record_type = peewee.CharField(max_length=20, default="")
    record_id = peewee.IntegerField(null=True)
    user = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="CASCADE")
    robot = peewee.ForeignKeyField(channels.Robot, null=True, backref="+", on_delete="CASCADE")
    text = peewee.CharField(max_length=500)
    link = peewee.CharField(max_length=500, default="")
    urgent = peewee.BooleanField(default=False)
    mobiles = peewee.CharField(max_length=400, default="")
    created_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("created_at",), False),)

    @property
    def kind_label(self):
        return channels.KINDS.get(self.kind, self.kind)


class Delivery(BaseModel):
    message = peewee.ForeignKeyField(Message, backref="deliveries", on_delete="CASCADE")
    channel = peewee.CharField(max_length=12)  # webpush, or the robot's platform
    target_id = peewee.IntegerField()  # the PushSubscription's or the Robot's id
    state = peewee.CharField(max_length=10, default="pending")
    attempts = peewee.IntegerField(default=0)
    next_try_at = peewee.DateTimeField()
    claim = peewee.CharField(max_length=32, default="")
    claimed_at = peewee.DateTimeField(null=True)
    sent_at = peewee.DateTimeField(null=True)
    last_error = peewee.CharField(max_length=500, default="")

    class Meta:
        indexes = (
            (("state", "next_try_at"), False),
            (("message", "channel", "target_id"), True),
        )

    @property
    def state_label(self):
        return STATES.get(self.state, self.state)

    @property
    def channel_label(self):
        return "Web Push" if self.channel == "webpush" else channels.PLATFORMS.get(self.channel, self.channel)


MODELS = [Message, Delivery]


def _key(kind, record_type, record_id, occasion, audience):
    key = f"{kind}:{record_type}:{record_id}:{occasion}:{audience}"
    # It travels as an HTTP header: ASCII, and short.
    if len(key) > 200 or not key.isascii():
        key = f"{kind}:{record_type}:{record_id}:{hashlib.sha256(key.encode()).hexdigest()[:32]}:{audience}"
    return key


def link_of(record, link=None):
    """The absolute link a message carries: `link` (a path or an address), else the record's page."""
    if link is None:
        pattern = LINKS.get(type(record).__name__.lower())
        link = pattern.format(id=record.get_id()) if pattern and record is not None else "/"
    if link.startswith("/"):
        link = _public_url["value"] + link
    return link


def tell(kind, record, text, *, users=(), zone_id=None, unit_id=None, urgent=False, occasion="", link=None,
         actor=None, now=None):
    """Queue a notification about `record`, inside the caller's transaction (call it where the change
    is written, so a rollback queues nothing).

    kind: one of channels.KINDS ("ticket_new", "order_new", "rejected", "escalated", "response_soon",
      "late", "notice"); each person may turn kinds off on their 通知 page.
    record: the model instance it is about (its type and id go into the key and, for tickets and work
      orders, the link).
    text: the message, short, in Chinese.
    users: the people told (each by Web Push on every browser they subscribed; their mobiles are @-ed
      in the robots' messages where the platform can).
    zone_id / unit_id: the robots of this zone / unit get it too (and the robots set for every message).
    urgent: 紧急 — comes through a person's quiet hours.
    occasion: what makes this telling distinct from another of the same kind about the same record
      (the rework round, the escalation level, the deadline that passed); the same (kind, record,
      occasion) told twice queues once.
    link: a path ("/notices/3") or an address; by default the record's page.
    actor: whoever made the change is not told of it on their own phone (the robots still are).

    Returns the number of messages queued now (0 when all of them were queued before)."""
    now = now or clock.utcnow()
    record_type = type(record).__name__.lower() if record is not None else ""
    record_id = record.get_id() if record is not None else None
    address = link_of(record, link)
    text = (text or "").strip()[:500]
    people = _distinct(users)
    told = [user for user in people if actor is None or user.id != actor.id]
    tz = Estate.current().tz
    queued = 0
    for user in told:
        wanted = channels.preference(user)
        if not wanted.wants(kind):
            continue
        targets = [("webpush", s.id) for s in channels.subscriptions(user)]
        if not targets:
            continue
        later = None if urgent else wanted.quiet_until(now, tz)
        queued += _queue(_key(kind, record_type, record_id, occasion, f"u{user.id}"), targets, later or now,
                         kind=kind, record_type=record_type, record_id=record_id, user=user.id, text=text,
                         link=address, urgent=urgent, created_at=now)
    mobiles = ",".join(m for m in (_mobile(u) for u in told) if m)
    for robot in channels.Robot.serving(zone_id, unit_id):
        queued += _queue(_key(kind, record_type, record_id, occasion, f"r{robot.id}"), [(robot.platform, robot.id)],
                         now, kind=kind, record_type=record_type, record_id=record_id, robot=robot.id, text=text,
                         link=address, urgent=urgent, mobiles=mobiles[:400], created_at=now)
    if queued:
        _pending.flag = True
    return queued


def test_robot(robot, now=None):
    """Queue a test message for one robot (the administrator checks its address and secret; the result
    shows in the outbox like any other delivery)."""
    now = now or clock.utcnow()
    text = f"客服系统测试消息：{robot.name}（{robot.scope_label}）已接通。"
    _queue(_key("notice", "robot", robot.id, f"test{now:%Y%m%d%H%M%S%f}", f"r{robot.id}"),
           [(robot.platform, robot.id)], now, kind="notice", record_type="robot", record_id=robot.id,
           robot=robot.id, text=text, link=link_of(None, "/"), created_at=now)
    _pending.flag = True


def _distinct(users):
    seen, people = set(), []
    for user in users:
        if user is not None and user.id not in seen and user.active and user.voided_at is None:
            seen.add(user.id)
            people.append(user)
    return people


def _mobile(user):
    digits = "".join(c for c in (user.phone or "") if c.isdigit())
    return digits if len(digits) == 11 and digits.startswith("1") else ""


def _queue(key, targets, due, **fields):
    """One message with its deliveries, unless its key was queued before (then nothing). A savepoint,
    so a repeat's IntegrityError leaves the caller's transaction whole (PostgreSQL's too)."""
    if Message.select().where(Message.key == key).exists():
        return 0
    try:
        with database.atomic():
            message = Message.create(key=key, **fields)
            Delivery.insert_many([{"message": message.id, "channel": channel, "target_id": target,
                                   "next_try_at": due} for channel, target in targets]).execute()
    except peewee.IntegrityError:
        return 0
    return 1


# ---- sending

def backoff(attempts):
    """How long to wait after the `attempts`-th failed try."""
    return min(LONGEST_WAIT, FIRST_RETRY * (2 ** max(attempts - 1, 0)))


def _due(now):
    stale = now - LEASE
    return ((Delivery.state.in_(DUE_STATES) & (Delivery.next_try_at <= now))
            | ((Delivery.state == "sending") & (Delivery.claimed_at < stale)))


def claim(delivery_id, now=None):
    """Take one due delivery for sending: the guarded UPDATE that only one worker wins. Returns the
    claim token, or None when it is not due or another worker took it."""
    now = now or clock.utcnow()
    token = secrets.token_hex(8)
    taken = (Delivery.update(state="sending", claim=token, claimed_at=now, attempts=Delivery.attempts + 1)
             .where((Delivery.id == delivery_id) & _due(now)).execute())
    return token if taken == 1 else None


def drain(now=None, limit=BATCH):
    """Send every delivery due now (up to `limit`); returns how many reached their receiver.
    Each is claimed, sent outside any transaction, and its outcome recorded."""
    if os.environ.get("KEFU_OUTBOX_SEND", "1") == "0":
        return 0
    sent = 0
    now = now or clock.utcnow()
    due = [d.id for d in Delivery.select(Delivery.id).where(_due(now)).order_by(Delivery.next_try_at).limit(limit)]
    for delivery_id in due:
        token = claim(delivery_id, now)
        if token is None:
            continue
        if _send(delivery_id, token):
            sent += 1
    return sent


def _send(delivery_id, token):
    delivery = Delivery.get_by_id(delivery_id)
    message = Message.get_by_id(delivery.message_id)
    try:
        if delivery.channel == "webpush":
            subscription = channels.PushSubscription.get_or_none(channels.PushSubscription.id == delivery.target_id)
            if subscription is None or subscription.voided_at is not None:
                raise channels.SendError("该浏览器已关闭通知", permanent=True)
            channels.send_push(subscription, {"title": message.kind_label, "body": message.text, "url": message.link,
                                              "urgent": message.urgent}, message.key, urgent=message.urgent)
        else:
            robot = channels.Robot.get_or_none(channels.Robot.id == delivery.target_id)
            if robot is None or robot.voided_at is not None:
                raise channels.SendError("机器人已停用", permanent=True)
            channels.send_robot(robot, message.text, message.link,
                                [m for m in message.mobiles.split(",") if m], message.key)
    except channels.SendError as error:
        _failed(delivery, token, error)
        return False
    except Exception as error:  # a bug in a transport must not stop the others; recorded, tried again
        log.exception("outbox delivery %s failed", delivery_id)
        _failed(delivery, token, channels.SendError(f"{type(error).__name__}: {error}"))
        return False
    Delivery.update(state="sent", sent_at=clock.utcnow(), last_error="").where(
        (Delivery.id == delivery_id) & (Delivery.claim == token)).execute()
    return True


def _failed(delivery, token, error):
    now = clock.utcnow()
    attempts = delivery.attempts
    give_up = error.permanent or attempts >= MAX_ATTEMPTS
    if error.permanent and delivery.channel == "webpush":
        channels.PushSubscription.update(voided_at=now, void_reason="推送服务已注销该订阅").where(
            (channels.PushSubscription.id == delivery.target_id) & channels.PushSubscription.voided_at.is_null()).execute()
    Delivery.update(state="given_up" if give_up else "retry", last_error=error.message,
                    next_try_at=now if give_up else now + backoff(attempts)).where(
        (Delivery.id == delivery.id) & (Delivery.claim == token)).execute()


# ---- waking the sender

_wake = threading.Event()
_pending = threading.local()


def wake():
    """Have this process's sender look now."""
    _wake.set()


def after_commit():
    """Called once the change's transaction has ended (a web request's teardown): wakes the sender when
    this thread queued something. After a rollback there is nothing to find, and it goes back to sleep."""
    if getattr(_pending, "flag", False):
        _pending.flag = False
        _wake.set()


def start_sender(poll=POLL_SECONDS):
    """The sender thread of this process: drains when woken, and every `poll` seconds anyway."""
    def loop():
        try:
            import pywebpush  # noqa: F401 - loaded here, not during the first message's send
        except ImportError:
            pass
        while True:
            _wake.wait(poll)
            _wake.clear()
            try:
                with database.connection_context():
                    while drain() >= BATCH:
                        pass
            except Exception:
                log.exception("outbox sender failed")

    thread = threading.Thread(target=loop, name="kefu-outbox", daemon=True)
    thread.start()
    return thread


# ---- what the administrator sees

def deliveries(state=None, limit=100):
    """The newest deliveries with their messages, for the outbox page."""
    query = (Delivery.select(Delivery, Message, User, channels.Robot).join(Message)
             .join(User, peewee.JOIN.LEFT_OUTER, on=(Message.user == User.id)).switch(Message)
             .join(channels.Robot, peewee.JOIN.LEFT_OUTER, on=(Message.robot == channels.Robot.id))
             .order_by(Message.created_at.desc(), Delivery.id.desc()).limit(limit))
    if state in STATES:
        query = query.where(Delivery.state == state)
    return list(query)


def counts():
    """How many deliveries are in each state."""
    rows = Delivery.select(Delivery.state, peewee.fn.COUNT(Delivery.id).alias("n")).group_by(Delivery.state).tuples()
    found = dict(rows)
    return {state: found.get(state, 0) for state in STATES}
