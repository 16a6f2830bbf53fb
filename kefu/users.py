"""People and teams: users with their roles, business units, passwords and sign-in lockout."""
import datetime
import secrets

import peewee
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from . import clock
from . import events
from . import limits
from .db import database
from .db import BaseModel
from .db import RuleError
from .db import VersionedMixin
from .db import VoidableMixin

# The timeline entry every sign-in through the sign-in page writes (imports read it: "never signed in").
SIGNED_IN = "登录"

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
IDLE_HOURS_RANGE = "空闲时限应在 1–720 小时之间"
MAX_DAYS_RANGE = "最长登录时间应在 1–90 天之间"
UNIT_MISSING = "业务块人员须选择所属业务块"
USERNAME_TAKEN = "该用户名已被使用"

ROLES = {
    "admin": "管理员",
    "supervisor": "客服主管",
    "assistant": "客户助理",
    "frontdesk": "前台",
    "unit": "业务块",
}

UNIT_KINDS = {
    "engineering": "工程维修",
    "cleaning": "保洁",
    "greening": "绿化",
    "security": "安保",
    "general": "综合服务",
}

# Who a wrong password locks out (the reasoning is at authenticate()).
MAX_FAILED_LOGINS = 5  # in a row from one place (an address, or a browser that has signed in before)
MAX_ACCOUNT_FAILURES = 20  # from browsers that have never signed in to the account, whatever their addresses
LOCKOUT = datetime.timedelta(minutes=15)
MIN_PASSWORD = 8


class Unit(VoidableMixin, VersionedMixin, BaseModel):
    """A business unit (业务块) that does the work: engineering, cleaning, greening, security…"""

    name = peewee.CharField(unique=True, max_length=40)
    kind = peewee.CharField(max_length=20)
    phone = peewee.CharField(default="", max_length=40)
    head = peewee.CharField(default="", max_length=40)

    @property
    def kind_label(self):
        return UNIT_KINDS.get(self.kind, self.kind)


class User(VoidableMixin, VersionedMixin, BaseModel):
    username = peewee.CharField(unique=True, max_length=40)
    display_name = peewee.CharField(max_length=40)
    phone = peewee.CharField(default="", max_length=40)
    role = peewee.CharField(max_length=20)
    unit = peewee.ForeignKeyField(Unit, null=True, backref="staff", on_delete="RESTRICT")
    password_hash = peewee.CharField()
    active = peewee.BooleanField(default=True)
    failed_logins = peewee.IntegerField(default=0)
    locked_until = peewee.DateTimeField(null=True)
    session_version = peewee.IntegerField(default=1)
    created_at = peewee.DateTimeField()

    @property
    def role_label(self):
        return ROLES.get(self.role, self.role)

    # Flask-Login's protocol, without importing Flask here.
    @property
    def is_authenticated(self):
        return True

    @property
    def is_active(self):
        return self.active and self.voided_at is None

    @property
    def is_anonymous(self):
        return False

    # The sign-in (SignIn.key) this user was signed in or loaded through; None for a user loaded
    # any other way.
    sign_in_key = None

    def session_id(self):
        # The session carries the version and the sign-in's key: changing the password or
        # disabling the user signs them out everywhere, and signing out ends the sign-in, so a
        # copy of the cookie taken before signs nobody in. Not named get_id: peewee's get_id()
        # must stay the primary key, which the timeline, versioned saves and voiding use.
        return f"{self.id}:{self.session_version}:{self.sign_in_key}"

    @classmethod
    def from_session_id(cls, value):
        try:
            user_id, version, key = str(value).split(":")
            user_id, version = int(user_id), int(version)
        except ValueError:
            return None
        user = next(iter(cls.raw(_SIGNED_IN_SQL + database.param, key)), None)
        if user is None or user.id != user_id or user.session_version != version or not user.is_active:
            return None
        user.sign_in_key = key
        return user

    def session_expired(self, idle, absolute, now=None):
        """True when the sign-in this user was loaded through has been unused for `idle` or open for
        `absolute` (timedeltas); it is then ended. Otherwise its last use is noted (every SEEN_EVERY)."""
        signed_in_at = getattr(self, "signed_in_at", None)
        if signed_in_at is None or not self.sign_in_key:
            return False
        now = now or clock.utcnow()
        signed_in_at = _stored_time(signed_in_at)
        seen_at = _stored_time(getattr(self, "seen_at", None)) or signed_in_at
        if now - signed_in_at >= absolute or now - seen_at >= idle:
            SignIn.delete().where(SignIn.key == self.sign_in_key).execute()
            self.sign_in_key = None
            return True
        if now - seen_at >= SEEN_EVERY:
            SignIn.update(last_seen_at=now).where(SignIn.key == self.sign_in_key).execute()
        return False

    @classmethod
    def active_with_role(cls, *roles):
        return (cls.live().where(cls.active & cls.role.in_(roles)).order_by(cls.display_name))


class SignIn(BaseModel):
    """One signed-in session of a user, from the sign-in page until signing out, or until it has
    been idle or open too long (the estate's session settings)."""

    user = peewee.ForeignKeyField(User, backref="sign_ins", on_delete="CASCADE")
    key = peewee.CharField(unique=True, max_length=64)
    created_at = peewee.DateTimeField()
    # When it was last used (migration 12), written at most every SEEN_EVERY: the idle timeout.
    last_seen_at = peewee.DateTimeField(null=True)


class SignInLock(BaseModel):
    """Wrong passwords for one account from one place (migration 19): an address (an IPv6 /64), or a
    browser that has signed in to the account before (its known-device key). MAX_FAILED_LOGINS in a row
    lock that place, and only that place, out of the account for LOCKOUT."""

    user = peewee.ForeignKeyField(User, backref="sign_in_locks", on_delete="CASCADE")
    place = peewee.CharField(max_length=120)
    failed_logins = peewee.IntegerField(default=0)
    locked_until = peewee.DateTimeField(null=True)
    last_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("user", "place"), True),)


class FailedSignIn(BaseModel):
    """Failed sign-ins with a username that doesn't exist, one row per day and address with a count
    (migration 12): a scan of made-up names adds a count, not an audit row per try."""

    day = peewee.DateField()
    source = peewee.CharField(max_length=64)
    count = peewee.IntegerField(default=0)
    last_name = peewee.CharField(max_length=40, default="")
    first_at = peewee.DateTimeField()
    last_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("day", "source"), True),)


# The user of a live sign-in, in one query: this runs on every signed-in request.
_SIGNED_IN_SQL = (f'SELECT "u".*, "s"."created_at" AS "signed_in_at", "s"."last_seen_at" AS "seen_at" '
                  f'FROM "{SignIn._meta.table_name}" AS "s" '
                  f'JOIN "{User._meta.table_name}" AS "u" ON "u"."id" = "s"."user_id" WHERE "s"."key" = ')

MODELS = [Unit, User, SignIn, SignInLock, FailedSignIn]

# Session timeouts' defaults (the estate's settings hold the ones in force): signed out after 12 hours
# without a request, and 7 days after signing in whatever the use.
IDLE_HOURS = 12
MAX_DAYS = 7
SEEN_EVERY = datetime.timedelta(minutes=5)


class UserError(RuleError):
    pass


# scrypt, werkzeug's default KDF; tests swap in a cheaper method to stay fast.
PASSWORD_METHOD = "scrypt"


def hash_password(password):
    return generate_password_hash(password, method=PASSWORD_METHOD)


def check_password_strength(password):
    if len(password) < MIN_PASSWORD:
        raise UserError(f"密码至少 {MIN_PASSWORD} 位", "password")
    if password.isdigit() or password.isalpha():
        raise UserError("密码需同时包含字母和数字", "password")


def create_user(actor, username, display_name, role, password, unit=None, phone="",
                check_strength=True):
    if role not in ROLES:
        raise UserError("请选择角色", "role")
    if role == "unit" and unit is None:
        raise UserError(UNIT_MISSING, "unit")
    if check_strength:
        check_password_strength(password)
    if User.select().where(User.username == username).exists():
        raise UserError(USERNAME_TAKEN, "username")
    user = User.create(
        username=username, display_name=display_name, role=role, phone=phone,
        unit=unit if role == "unit" else None, password_hash=hash_password(password),
        created_at=clock.utcnow(),
    )
    events.record(actor, user, "创建用户", to_state=user.role_label)
    return user


def _stored_time(value):
    """A time from a raw query: SQLite gives the stored text, PostgreSQL a datetime."""
    if isinstance(value, str):
        return datetime.datetime.fromisoformat(value)
    return value


# What every failed sign-in says, whether the username exists, the password was wrong or the account
# is locked: the page tells nobody which usernames are real, nor that an account is locked.
SIGN_IN_FAILED = (f"用户名或密码错误。连续输错 {MAX_FAILED_LOGINS} 次，账号将锁定 "
                  f"{int(LOCKOUT.total_seconds() // 60)} 分钟")


def _claim(model, match, limit, now):
    """Count one sign-in try against a lock's row (`model`: User for the account, SignInLock for a place)
    before the password is checked, in one UPDATE, so simultaneous tries can't all pass the count: the
    try that reaches `limit` locks at once (a right password on it still signs in and clears the lock).
    Returns the tries so far, or None while locked (the password is then not checked at all)."""
    # Every expression sees the row as it was: after a lock has run out, the count starts again at 1.
    tries = peewee.Case(None, [(model.locked_until.is_null(False), 1)], model.failed_logins + 1)
    with database.atomic():
        claimed = (model.update(failed_logins=tries,
                                locked_until=peewee.Case(None, [(tries >= limit, now + LOCKOUT)], None))
                   .where(match & (model.locked_until.is_null() | (model.locked_until <= now)))
                   .execute())
        if claimed != 1:
            return None
        return model.select(model.failed_logins).where(match).scalar()


def _claim_place(user, place, now):
    match = (SignInLock.user == user.id) & (SignInLock.place == place)
    for _ in range(3):
        SignInLock.insert(user=user.id, place=place, last_at=now).on_conflict_ignore().execute()
        SignInLock.update(last_at=now).where(match).execute()
        tries = _claim(SignInLock, match, MAX_FAILED_LOGINS, now)
        # No row to claim: a sign-in from the same place (a double tap) succeeded meanwhile and cleared
        # it. That is not a lock: count this try on a fresh row.
        if tries is not None or SignInLock.select().where(match).exists():
            return tries
    return tries


def new_device_key():
    """The key a browser keeps (in a signed cookie) once it has signed in to an account."""
    return secrets.token_urlsafe(16)


def device_for(username, devices):
    """The known-device key `devices` ({user id: key}, from the browser's cookie) holds for the account
    named `username`, or None."""
    if not devices:
        return None
    user_id = User.select(User.id).where(User.username == username).scalar()
    return devices.get(user_id) if user_id is not None else None


def note_unknown_name(username, source, now=None):
    """A failed sign-in with a username that doesn't exist: counted on the day's row of its address."""
    from .estate import Estate

    now = now or clock.utcnow()
    day = clock.to_local(now, Estate.current().tz).date()
    (FailedSignIn.insert(day=day, source=(source or "")[:64], count=1, last_name=username[:40], first_at=now,
                         last_at=now)
     .on_conflict(conflict_target=[FailedSignIn.day, FailedSignIn.source],
                  preserve=[FailedSignIn.last_name, FailedSignIn.last_at],
                  update={FailedSignIn.count: FailedSignIn.count + 1})
     .execute())


def authenticate(username, password, source="", devices=None):
    """Check a sign-in. Returns (user, None) or (None, message). `source` (the client's address)
    goes into the audit log with every attempt on a real account; tries of names that don't exist are
    counted per day and address (FailedSignIn). `devices` ({user id: key}) are the known-device keys the
    browser holds: it has signed in to those accounts before (new_device_key, kept in a signed cookie).

    Who a wrong password locks out. A lock on the whole account would let anyone lock the administrator
    or a colleague out at will, from anywhere, with five wrong passwords. So:
    - Wrong passwords count per place: the address (an IPv6 /64), or the known device. MAX_FAILED_LOGINS
      in a row lock that place out of the account for LOCKOUT; the owner elsewhere signs in as usual.
    - A browser that has signed in to the account before is a place of its own, whatever its address:
      a stranger on the office's Wi-Fi (one address for all) can't lock out the owner's usual phone.
    - Guessing spread over many addresses is caught by the account's own count, of wrong passwords from
      browsers that have never signed in to it: MAX_ACCOUNT_FAILURES lock the account for LOCKOUT to
      every such browser. Known devices still sign in, so even a botnet can't keep the owner out.
    - The per-address limit across accounts (kefu/limits.py, "signin") is applied by the sign-in page
      to browsers that don't hold a key for the account named.
    One address then gets MAX_FAILED_LOGINS guesses at an account per LOCKOUT; any number of addresses
    together MAX_ACCOUNT_FAILURES, plus what the owner's devices are (they are not the attacker's).

    Every failure gets the same message (SIGN_IN_FAILED), locked or not.
    """
    user = User.get_or_none(User.username == username)
    now = clock.utcnow()
    where = f"来自 {source}" if source else ""
    if user is None:
        # Same work as a real check, so timing doesn't reveal which usernames exist.
        check_password_hash(_DUMMY_HASH, password)
        note_unknown_name(username, source, now)
        return None, SIGN_IN_FAILED
    device = (devices or {}).get(user.id)
    place = f"device:{device}" if device else f"address:{limits.place(source)}"
    # The place first: once it is locked its tries no longer count against the account.
    tries = _claim_place(user, place, now)
    account_tries = None if device or tries is None else _claim(User, User.id == user.id, MAX_ACCOUNT_FAILURES, now)
    if tries is None or (not device and account_tries is None):
        check_password_hash(_DUMMY_HASH, password)
        return None, SIGN_IN_FAILED
    if not check_password_hash(user.password_hash, password):
        events.record(None, user, "登录失败", note="；".join(filter(None, [
            f"第 {tries} 次", where, "已登录过的设备" if device else ""])))
        minutes = int(LOCKOUT.total_seconds() // 60)
        if tries >= MAX_FAILED_LOGINS:
            events.record(None, user, "账号锁定", note=(
                f"连续 {tries} 次密码错误：{'这台登录过的设备' if device else '该地址'} {minutes} 分钟内不能登录"))
        if account_tries is not None and account_tries >= MAX_ACCOUNT_FAILURES:
            events.record(None, user, "账号锁定", note=(
                f"未登录过的设备共 {account_tries} 次密码错误：{minutes} 分钟内只有登录过的设备能登录"))
        return None, SIGN_IN_FAILED
    SignInLock.delete().where((SignInLock.user == user.id) & (SignInLock.place == place)).execute()
    # The account's count starts again, but a lock other places earned runs its time out (a known
    # device signing in doesn't give a guesser elsewhere a fresh set of tries).
    clear = User.id == user.id
    if device:
        clear &= User.locked_until.is_null() | (User.locked_until <= now)
    User.update(failed_logins=0, locked_until=None).where(clear).execute()
    if not user.is_active:
        return None, "该账号已停用，请联系管理员"
    user.failed_logins, user.locked_until = 0, None
    events.record(user, user, SIGNED_IN, note=where)
    return user, None


def locks_now(user_ids, now=None):
    """{user id: until when} for the accounts among `user_ids` that are locked now, wholly or from some
    place (the latest time), for the administrator's list of users."""
    now = now or clock.utcnow()
    found = {}
    rows = list(User.select(User.id, User.locked_until).where(User.id.in_(user_ids) & (User.locked_until > now))
                .tuples())
    rows += list(SignInLock.select(SignInLock.user, SignInLock.locked_until)
                 .where(SignInLock.user.in_(user_ids) & (SignInLock.locked_until > now)).tuples())
    for user_id, until in rows:
        found[user_id] = max(found.get(user_id, until), until)
    return found


def clear_old_locks(now=None):
    """Forget the places whose last try was more than a day ago. Returns the rows removed."""
    cutoff = (now or clock.utcnow()) - datetime.timedelta(days=1)
    return SignInLock.delete().where(SignInLock.last_at < cutoff).execute()


def sign_in(user):
    """Start a sign-in for `user` (who has just authenticated); its key goes into the session."""
    user.sign_in_key = secrets.token_urlsafe(32)
    now = clock.utcnow()
    SignIn.create(user=user.id, key=user.sign_in_key, created_at=now, last_seen_at=now)
    return user


def sign_out(user):
    """End the sign-in `user` was loaded through; their other devices stay signed in."""
    if user.sign_in_key:
        SignIn.delete().where(SignIn.key == user.sign_in_key).execute()
        user.sign_in_key = None


def _sign_out_elsewhere(user):
    """End every sign-in of `user` but the one `user` was loaded through (if any)."""
    SignIn.delete().where((SignIn.user == user.id) & (SignIn.key != (user.sign_in_key or ""))).execute()


def change_password(user, current, new):
    if not check_password_hash(user.password_hash, current):
        raise UserError("当前密码不正确", "current")
    check_password_strength(new)
    _set_password(user, new)
    events.record(user, user, "修改密码")


def reset_password(actor, user, new, action="重置密码", note=""):
    check_password_strength(new)
    _set_password(user, new)
    events.record(actor, user, action, note=note)


def _set_password(user, new):
    user.password_hash = hash_password(new)
    user.session_version += 1
    user.failed_logins, user.locked_until = 0, None
    User.update(password_hash=user.password_hash, session_version=user.session_version,
                failed_logins=0, locked_until=None).where(User.id == user.id).execute()
    SignInLock.delete().where(SignInLock.user == user.id).execute()
    _sign_out_elsewhere(user)


def update_user(actor, user, expected_version, display_name, role, unit, phone, active):
    if role not in ROLES:
        raise UserError("请选择角色", "role")
    if role == "unit" and unit is None:
        raise UserError(UNIT_MISSING, "unit")
    if actor.id == user.id and (role != "admin" or not active):
        raise UserError("不能取消自己的管理员权限或停用自己", "role")
    before = {"姓名": user.display_name, "角色": user.role_label, "业务块": user.unit.name if user.unit else "",
              "电话": user.phone, "状态": "启用" if user.active else "停用"}
    was_active = user.active
    user.display_name, user.role, user.phone, user.active = display_name, role, phone, active
    user.unit = unit if role == "unit" else None
    user.save_versioned(expected_version, "display_name", "role", "phone", "active", "unit")
    if was_active and not active:
        # Signed out everywhere at once.
        User.update(session_version=User.session_version + 1).where(User.id == user.id).execute()
        SignIn.delete().where(SignIn.user == user.id).execute()
    after = {"姓名": user.display_name, "角色": user.role_label, "业务块": user.unit.name if user.unit else "",
             "电话": user.phone, "状态": "启用" if user.active else "停用"}
    diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if diff:
        # Role and status changes get their own names, for the audit log.
        action = ("更改角色" if "角色" in diff else "停用账号" if not active and was_active
                  else "启用账号" if active and not was_active else "修改用户")
        events.record(actor, user, action, note="；".join(f"{k}：{a or '—'} → {b or '—'}" for k, (a, b) in diff.items()))
    return user


def random_password():
    return secrets.token_urlsafe(9)


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def update_session_settings(actor, estate, expected_version, idle_hours, max_days):
    """Set how long a sign-in may go unused (hours) and how long it may last at all (days)."""
    if not 1 <= idle_hours <= 24 * 30:
        raise UserError(IDLE_HOURS_RANGE, "session_idle_hours")
    if not 1 <= max_days <= 90:
        raise UserError(MAX_DAYS_RANGE, "session_max_days")
    if idle_hours > max_days * 24:
        raise UserError("空闲时限不能长于最长登录时间", "session_idle_hours")
    before = (estate.session_idle_hours, estate.session_max_days)
    estate.session_idle_hours, estate.session_max_days = idle_hours, max_days
    estate.save_versioned(expected_version, "session_idle_hours", "session_max_days")
    if before != (idle_hours, max_days):
        events.record(actor, estate, "修改登录时限", note=f"空闲 {idle_hours} 小时后、登录 {max_days} 天后须重新登录")
