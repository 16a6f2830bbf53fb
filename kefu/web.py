"""What every view shares: rendering full pages or htmx blocks, filters, errors, headers, compression."""
import datetime
import hashlib
import os
import re
import stat

import jinja2

from flask import current_app
from flask import flash
from flask import g
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import send_from_directory
from flask import url_for
from flask_compress import Compress
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2_fragments.flask import render_block
from markupsafe import Markup
from markupsafe import escape
from werkzeug.exceptions import SecurityError
from werkzeug.routing import IntegerConverter
from werkzeug.security import safe_join

from . import access
from . import clock
from . import htmx
from . import limits
from .estate import Estate
from .estate import mask_phone
from .estate import roster_count
from .idempotency import TokenReused

NAV = [
    # (endpoint, label, icon, roles)
    ("home.index", "今日", "today", ("admin", "supervisor", "assistant", "frontdesk", "unit")),
    ("tickets.index", "诉求", "ticket", ("supervisor", "assistant", "frontdesk")),
    ("patrols.index", "巡视", "patrol", ("supervisor", "assistant")),
    ("home.customers", "客户", "customer", ("supervisor", "assistant", "frontdesk")),
    ("estate.index", "设置", "settings", ("admin",)),
    ("auth.me", "我的", "me", ("admin", "supervisor", "assistant", "frontdesk", "unit")),
]

CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")

compress = Compress()
COMPRESSION = {
    # Text only: photos, PDFs and .xlsx are compressed already.
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/javascript", "application/javascript",
                           "application/json", "text/plain", "image/svg+xml"],
    # Phone browsers send br over HTTPS; gzip for the rest.
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    # At the package's default (4) brotli is larger than gzip here; 5 is smaller in the same time.
    "COMPRESS_BR_LEVEL": 5,
}

STATIC_CACHE = "public, max-age=31536000, immutable"
_FINGERPRINTS = {}


def static_fingerprint(folder, filename):
    """The first 12 hex digits of a static file's SHA-256 (None if there is no such file).

    Kept per file and read again only when the file is replaced, resized or modified.
    """
    path = safe_join(folder, filename)
    try:
        info = os.stat(path) if path else None
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode):
        return None
    key = (info.st_ino, info.st_mtime_ns, info.st_size)
    known = _FINGERPRINTS.get(path)
    if known and known[0] == key:
        return known[1]
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()[:12]
    _FINGERPRINTS[path] = (key, digest)
    return digest


def estate():
    if "estate" not in g:
        g.estate = Estate.current()
    return g.estate


def _client():
    """Whom a limit counts: the address, and for a signed-in request the user at it too (a dozen phones
    of an office behind one address each have their own share; a script with one account has one)."""
    address = limits.place(request.remote_addr)
    return f"{address}+{current_user.id}" if current_user.is_authenticated else address


def within_limit(kind):
    """Count one request of `kind` (kefu.limits) from this client; False past the limit. The limits
    are kefu.limits.LIMITS, or the app's RATE_LIMITS where it sets some."""
    return limits.hit(kind, _client(), {**limits.LIMITS, **current_app.config.get("RATE_LIMITS", {})})


def limit_reached(kind):
    """True when this client has used up `kind` for now (nothing counted)."""
    return limits.over(kind, _client(), {**limits.LIMITS, **current_app.config.get("RATE_LIMITS", {})})


class NoPublicAddress(Exception):
    """An absolute URL was needed, PUBLIC_URL is not set and the request's Host is not trusted."""


def _loopback(host):
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return name.strip("[]") in ("localhost", "127.0.0.1", "::1")


def external_url(endpoint, **values):
    """The absolute URL of a page, for what leaves the browser (QR stickers, links in messages).

    It starts with PUBLIC_URL when that is set. Without it the request's own address is used only when
    its Host is one the app trusts (TRUSTED_HOSTS, or a loopback name on the demo): a forged Host header
    never becomes an address printed for residents or staff."""
    public = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if public:
        return public + url_for(endpoint, **values)
    if current_app.config.get("TRUSTED_HOSTS") or _loopback(request.host):
        return url_for(endpoint, _external=True, **values)
    raise NoPublicAddress()


# Endpoints of pages for the public (residents), whose errors show in the public layout.
PUBLIC_ENDPOINTS = set()


class TooManyRequests(Exception):
    """Answered with 429 and the 操作过于频繁 page (see init_app)."""


def render(template, block=None, status=200, **context):
    """The whole page, or only `block` when htmx asks for a targeted swap."""
    if block and htmx and not htmx.boosted and not htmx.history_restore_request:
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.headers["Vary"] = "HX-Request"
    return response


def invalid(template, block=None, **context):
    """A form with errors: re-rendered with everything typed, status 422 (htmx swaps it)."""
    return render(template, block=block, status=422, **context)


def done(message, endpoint, **values):
    """Success after a POST: flash, then 303 to the next page."""
    if message:
        flash(message, "success")
    return redirect(url_for(endpoint, **values), code=303)


def setup_step_next():
    """The first-run set-up step a form was opened from (?next=/setup/zones), else None: saving the
    form goes back to that step rather than leaving the set-up. Only a set-up step is honoured."""
    target = request.args.get("next", "")
    return target if re.fullmatch(r"/setup/[a-z]{1,20}", target) else None


def done_or_setup(message, endpoint, **values):
    """done(), or back to the set-up step the form was opened from."""
    target = setup_step_next()
    if target is None:
        return done(message, endpoint, **values)
    if message:
        flash(message, "success")
    return redirect(target, code=303)


def local_time(value, fmt="%m-%d %H:%M"):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return clock.to_local(value, estate().tz).strftime(fmt)
    return value.strftime(fmt)


def cn_date(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = clock.to_local(value, estate().tz).date()
    return clock.format_cn_date(value)


def cn_datetime(value):
    """A stored time as documents print it: 2026年11月27日 11:57."""
    if value is None:
        return ""
    local = clock.to_local(value, estate().tz)
    return f"{clock.format_cn_date(local.date())} {local:%H:%M}"


def nl2br(value):
    return Markup("<br>").join(escape(value or "").split("\n"))


# Pages outside the home blueprint light up the tab of the area they belong to.
TAB_OF_BLUEPRINT = {"estate": "estate.index", "users": "estate.index", "auth": "auth.me", "tickets": "tickets.index",
                    "workorders": "home.index", "patrols": "patrols.index", "renovations": "patrols.index",
                    "shops": "patrols.index", "customers": "home.customers",
                    "services": "home.customers", "evaluations": "auth.me",
                    "worklog": "auth.me", "exports": "home.index", "meetings": "auth.me",
                    "trends": "home.index", "summaries": "auth.me", "system": "estate.index", "notify": "estate.index"}
# Set-up pages that live in another area's blueprint but belong under 设置.
TAB_OF_ENDPOINT = {"tickets.tiers": "estate.index", "tickets.tier": "estate.index", "tickets.tier_new": "estate.index",
                   "patrols.rules_edit": "estate.index", "patrols.checklists": "estate.index",
                   "patrols.checklist": "estate.index", "services.items": "estate.index",
                   "services.item": "estate.index", "services.item_new": "estate.index",
                   "customers.visit_rules": "estate.index", "evaluations.items": "estate.index",
                   "notify.preferences": "auth.me"}


WARN_BEFORE = datetime.timedelta(minutes=15)


def duration_text(delta):
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} 分钟"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} 小时 {minutes} 分" if minutes else f"{hours} 小时"
    return f"{hours // 24} 天 {hours % 24} 小时"


def due_status(due, now=None):
    """A deadline as (css class, word, text): 正常 / 即将超时 (under 15 min) / 已超时."""
    if due is None:
        return ("badge-off", "", "")
    now = now or clock.utcnow()
    left = due - now
    if left.total_seconds() < 0:
        return ("badge-late", "已超时", f"超时 {duration_text(left)}")
    if left <= WARN_BEFORE:
        return ("badge-warn", "即将超时", f"剩 {duration_text(left)}")
    return ("badge-ok", "正常", f"剩 {duration_text(left)}")


def countdown(due, label=""):
    """A live deadline badge: colour and word (正常 / 即将超时 / 已超时); app.js keeps it ticking."""
    if due is None:
        return ""
    css, word, text = due_status(due)
    prefix = f"{escape(label)} · " if label else ""
    return Markup(f'<span class="badge countdown {css}" data-due="{iso_utc(due)}">{prefix}<b>{word}</b> '
                  f'<span class="left">{text}</span></span>')


def age(since, now=None):
    """How long ago, e.g. 3 小时 20 分."""
    return duration_text((now or clock.utcnow()) - since) if since else ""


def ago(since, now=None):
    """When, looking back: 刚刚 under a minute, else 5 分钟前, 3 小时 20 分前."""
    if not since:
        return ""
    delta = (now or clock.utcnow()) - since
    return "刚刚" if delta < datetime.timedelta(minutes=1) else f"{duration_text(delta)}前"


def iso_utc(value):
    return clock.aware(value).isoformat() if value else ""


def nav_items():
    """The bottom tabs this user's role can use, with the current one marked."""
    if not current_user.is_authenticated:
        return []
    current = request.endpoint or ""
    current = TAB_OF_ENDPOINT.get(current) or TAB_OF_BLUEPRINT.get(current.split(".")[0], current)
    return [(endpoint, label, icon, endpoint == current)
            for endpoint, label, icon, roles in NAV if current_user.role in roles]


def agenda_count():
    """The number on the 今日 tab: what waits on the signed-in person (kept until something changes)."""
    from . import agenda
    if not current_user.is_authenticated:
        return 0
    if g.get("agenda_owed") is not None:
        return g.agenda_owed  # 今日 itself: the count of the items it lists, whatever changed since
    return agenda.count(current_user)


_ID_URLS = {}


def id_url(endpoint, **ids):
    """url_for for routes that take only integer ids, for links repeated down a list.

    The shape of each URL is built by url_for once; after that a link costs a string format,
    where url_for would cost a few microseconds per card.
    """
    key = (request.script_root, endpoint, *ids)
    shape = _ID_URLS.get(key)
    if shape is None:
        markers = {name: 990000001 + n for n, name in enumerate(ids)}
        shape = url_for(endpoint, **markers).replace("%", "%%")
        for name, marker in markers.items():
            shape = shape.replace(str(marker), f"%({name})d")
        _ID_URLS[key] = shape
    return shape % ids


# The largest id a database column holds (a signed 64-bit integer).
MAX_ID = 2 ** 63 - 1


class BoundedInt(IntegerConverter):
    """`<int:…>` in every route: a number beyond what an id column holds is no page (404), not an
    OverflowError from the database driver."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max, signed=signed)


def may_see(record, kind=None):
    """Whether the signed-in user may open `record`: a page links only what its reader may open."""
    return access.may_see(current_user, record, kind)


def may_change(record, kind=None):
    return access.may_change(current_user, record, kind)


class _LoudUndefined(jinja2.Undefined):
    """Undefined that may be tested (`{% if x %}`) but not printed."""

    def __str__(self):
        self._fail_with_undefined_error()


def init_app(app):
    # Before the blueprints are registered: each rule picks its converter when it is added.
    app.url_map.converters["int"] = BoundedInt
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["cn_date"] = cn_date
    app.jinja_env.filters["cn_datetime"] = cn_datetime
    app.jinja_env.filters["nl2br"] = nl2br
    app.jinja_env.filters["roster_count"] = roster_count
    app.jinja_env.filters["iso_utc"] = iso_utc
    app.jinja_env.filters["masked"] = mask_phone
    # Globals rather than context: macros imported without context use them too.
    app.jinja_env.globals.update(due_status=due_status, age=age, ago=ago, countdown=countdown, id_url=id_url,
                                 may_see=may_see, may_change=may_change, agenda_count=agenda_count)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    if app.config.get("TESTING"):
        # Printing a misspelt or missing name fails the test instead of printing nothing.
        app.jinja_env.undefined = _LoudUndefined
    for key, value in COMPRESSION.items():
        app.config.setdefault(key, value)
    # Registered before the hooks below, so it runs after them and compresses what they finished.
    compress.init_app(app)

    @app.context_processor
    def shell():
        return {"nav_items": nav_items, "current_estate": estate}

    @app.url_defaults
    def fingerprint_static(endpoint, values):
        """url_for('static', ...) carries the file's content hash (?v=): a changed file gets a new URL."""
        if endpoint == "static" and "v" not in values:
            version = static_fingerprint(app.static_folder, values.get("filename") or "")
            if version:
                values["v"] = version

    @app.route("/sw.js")
    def service_worker():
        """The service worker keeping the patrol check pages on the phone (static/js/sw.js), served
        from the root so it may answer for every page; checked for a new version on each visit."""
        with open(os.path.join(app.static_folder, "js", "sw.js"), "rb") as handle:
            response = make_response(handle.read())
        response.mimetype = "text/javascript"
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Service-Worker-Allowed"] = "/"
        return response

    @app.route("/favicon.ico")
    def favicon():
        """The tab icon, where browsers look for it by themselves (the pages name their icons too)."""
        return send_from_directory(os.path.join(app.static_folder, "icons"), "favicon.ico",
                                   mimetype="image/vnd.microsoft.icon", max_age=7 * 24 * 3600)

    @app.before_request
    def whole_static_file():
        """Static files come whole: Flask-Compress would compress a byte range as if it were the file."""
        if request.endpoint == "static":
            request.environ.pop("HTTP_RANGE", None)

    @app.after_request
    def static_file(response):
        """A static file asked for by its current hash never changes under that URL: keep it a year."""
        if request.endpoint != "static":
            return response
        response.headers["Accept-Ranges"] = "none"
        if response.status_code == 200 and response.direct_passthrough:
            # Read it whole (the files are small): Flask-Compress compresses a file it streams
            # without ever closing it, and in one piece it can set Content-Length.
            response.direct_passthrough = False
            response.make_sequence()
        if response.status_code in (200, 304):
            version = request.args.get("v")
            filename = (request.view_args or {}).get("filename") or ""
            if version and version == static_fingerprint(app.static_folder, filename):
                response.headers["Cache-Control"] = STATIC_CACHE
        return response

    @app.after_request
    def headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("X-Frame-Options", "DENY")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def error_page(status, title, message):
        # Residents' public pages keep their own layout for errors too (kefu/views/residents.py).
        template = "residents/error.html" if request.endpoint in PUBLIC_ENDPOINTS else "error.html"
        response = make_response(render_template(template, status=status, title=title, message=message),
                                 status)
        if htmx:
            # Show errors in place of the target rather than dropping the response.
            response.headers["HX-Retarget"] = "#main"
            response.headers["HX-Reswap"] = "innerHTML"
        return response

    @app.errorhandler(403)
    def forbidden(error):
        return error_page(403, "无权访问", "您的账号没有查看或操作此页面的权限。")

    @app.errorhandler(404)
    def not_found(error):
        return error_page(404, "页面不存在", "您要找的页面或记录不存在，或已被作废。")

    @app.errorhandler(405)
    def not_allowed(error):
        return error_page(405, "操作无效", "请从页面上的按钮进行此操作。")

    @app.errorhandler(413)
    def too_large(error):
        return error_page(413, "上传内容太大", "照片或表单内容超过了允许的大小，请减少照片数量后重试。")

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_page(400, "页面已过期", "页面停留时间过长或已在别处登录，请刷新页面后重新提交。")

    @app.errorhandler(TooManyRequests)
    @app.errorhandler(429)
    def too_many(error):
        response = error_page(429, "操作过于频繁", "短时间内的请求太多，请过几分钟再试。")
        response.headers["Retry-After"] = "60"
        return response

    @app.errorhandler(SecurityError)
    def untrusted_host(error):
        # No page can be built for a host the app doesn't serve (its URLs need one): words only.
        return "请求的主机名不受信任（Host not trusted）", 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.errorhandler(NoPublicAddress)
    def no_public_address(error):
        return error_page(503, "未设置系统地址",
                          "打印二维码等需要写入网址的内容前，管理员须在服务器上设置 PUBLIC_URL（手机访问本系统的地址）。")

    @app.errorhandler(TokenReused)
    def token_reused(error):
        return error_page(400, "表单无效", "这份表单已用于另一项登记，没有保存。请重新打开要填写的页面再提交。")

    @app.errorhandler(400)
    def bad_request(error):
        return error_page(400, "请求无效", "提交的内容无法识别，请刷新页面后重试。")

    @app.errorhandler(500)
    def server_error(error):
        return error_page(500, "系统出错", "操作没有完成，请稍后重试；如果一直出现，请联系管理员。")
