"""kefu: the customer assistant's phone tool and the supervisor's desk."""
import os
import secrets

import flask
from flask import Flask
from flask import g
from flask import has_request_context
from flask import request
from flask.sessions import SecureCookieSessionInterface
from flask_htmx import HTMX
from flask_wtf.csrf import CSRFProtect
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.utils import cached_property

from . import db

csrf = CSRFProtect()
htmx = HTMX()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _without_nuls(values):
    if not any("\x00" in value for value in values.values()):
        return values
    return ImmutableMultiDict([(key, value.replace("\x00", "")) for key, value in values.items(multi=True)])


class Args(ImmutableMultiDict):
    """The query string, where `args.get(name, type=int)` gives the default for a number no id or count
    column can hold (the database driver would raise OverflowError)."""

    def get(self, key, default=None, type=None):
        value = super().get(key, default, type)
        if type is int and isinstance(value, int) and not -2 ** 63 <= value < 2 ** 63:
            return default
        return value


class Request(flask.Request):
    """NUL characters are dropped from what a browser sends (query and form). No one types them, and
    PostgreSQL can't store them in text, so both databases get the same text."""

    @cached_property
    def args(self):
        return Args(_without_nuls(super().args).items(multi=True))

    def _load_form_data(self):
        super()._load_form_data()
        self.form = _without_nuls(self.form)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its cookie marked Secure whenever the request came over HTTPS.

    Behind a proxy, X-Forwarded-Proto only counts with TRUST_PROXY (ProxyFix); without it a
    forged header can't make the app think the request was secure.
    """

    def get_cookie_secure(self, app):
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)

    def save_session(self, app, session, response):
        # A static file is the same for everyone and never changes the session. Flask-Login reads
        # the session on every response, which would add Vary: Cookie, and a phone would then fetch
        # its cached stylesheet again whenever the cookie changes (after every flash message).
        if has_request_context() and request.endpoint == "static":
            return
        super().save_session(app, session, response)


def _truthy(value):
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


def create_app(test_config=None):
    """Build the app; `test_config` overrides settings (tests pass a temp instance folder)."""
    instance = os.path.abspath(os.environ.get("KEFU_INSTANCE") or os.path.join(ROOT, "instance"))
    if test_config and "INSTANCE" in test_config:
        instance = test_config["INSTANCE"]
    app = Flask(__name__, instance_path=instance,
                template_folder=os.path.join(ROOT, "templates"),
                static_folder=os.path.join(ROOT, "static"))
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY"),
        DEMO=_truthy(os.environ.get("DEMO", "1")),
        # A SQLite file in the instance folder, or PostgreSQL when DATABASE_URL=postgresql://… is set.
        DATABASE=os.environ.get("DATABASE_URL") or os.path.join(instance, "kefu.sqlite3"),
        PHOTOS=os.path.join(instance, "photos"),
        BACKUPS=os.environ.get("BACKUP_DIR") or os.path.join(instance, "backups"),
        MAX_CONTENT_LENGTH=80 * 1024 * 1024,
        MAX_FORM_MEMORY_SIZE=2 * 1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        WTF_I18N_ENABLED=False,  # WTForms' bundled Chinese messages, see views/__init__.py
        TRUST_PROXY=_truthy(os.environ.get("TRUST_PROXY", "0")),
        # The address phones use (printed into QR stickers), e.g. https://kefu.example.com: every
        # absolute URL the app writes starts with it (kefu.web.external_url), whatever Host a request says.
        PUBLIC_URL=os.environ.get("PUBLIC_URL", ""),
        # The host names requests may carry (comma-separated; ".example.com" takes its subdomains); any
        # other Host gets 400. Unset, with PUBLIC_URL set: its host and the loopback names.
        TRUSTED_HOSTS=[h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()] or None,
        # Whom to tell of a security problem (an e-mail address, a phone number or an https:// page;
        # several comma-separated), published at /.well-known/security.txt.
        SECURITY_CONTACT=os.environ.get("SECURITY_CONTACT", ""),
    )
    if test_config:
        app.config.update(test_config)
    _trusted_hosts(app)
    _secret_key(app)
    # Flask-Login's remember cookie is never set (login_user is not asked to remember).
    app.session_interface = SessionInterface()
    app.request_class = Request

    if app.config.get("SECRET_KEY_MISSING"):
        # Refused before anything is written: no instance folder, no database file. The command-line
        # tasks that need the database open it themselves (kefu/cli.py, open_database).
        app.config["MIGRATED"] = []
    else:
        os.makedirs(instance, exist_ok=True)
        app.config["MIGRATED"] = db.init(app.config["DATABASE"], durable=not app.config.get("TESTING"))
    from . import backup

    backup.configure(app.config["DATABASE"], app.config["PHOTOS"], app.config["BACKUPS"])

    from .estate import kept as estate_kept

    @app.before_request
    def _connect():
        db.database.connect(reuse_if_open=True)
        g.estate_kept = estate_kept()
        g.estate_kept.__enter__()

    @app.teardown_request
    def _close(exc):
        held = g.pop("estate_kept", None)
        if held is not None:
            try:
                held.__exit__(None, None, None)
            except ValueError:  # set in another context (a streamed response's generator)
                pass
        if db.database.obj is not None and not db.database.is_closed():
            db.database.close()

    csrf.init_app(app)
    htmx.init_app(app)
    from .auth import login_manager

    login_manager.init_app(app)
    if app.config["TRUST_PROXY"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    from . import web

    web.init_app(app)
    from .views import register

    register(app)
    from . import words

    words.segmenter()  # the dictionary loads once per process, at start rather than on the first search
    from . import cli

    cli.init_app(app)
    if app.config.get("SCHEDULER", not app.config.get("TESTING")) and not app.config.get("SECRET_KEY_MISSING"):
        from . import outbox
        from . import scheduler

        scheduler.start()
        if os.environ.get("KEFU_OUTBOX_SEND", "1") != "0":  # 0: the crash test's server that must not send
            outbox.start_sender()
    return app


LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "::1"]


def _trusted_hosts(app):
    """With PUBLIC_URL and no TRUSTED_HOSTS, requests must name the public host (or a loopback one, for
    checks run on the server itself)."""
    from urllib.parse import urlsplit

    public = urlsplit(app.config.get("PUBLIC_URL") or "").hostname
    if public and not app.config.get("TRUSTED_HOSTS"):
        app.config["TRUSTED_HOSTS"] = [public, *LOOPBACK_HOSTS]


SECRET_KEY_MISSING = (
    "SECRET_KEY 未设置：正式部署（DEMO=0）必须设置 SECRET_KEY 环境变量，例如\n"
    "  export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')\n"
    "SECRET_KEY is not set: a real deployment (DEMO=0) must set it.")


def open_database(app):
    """Make sure the instance folder and the database exist (the factory skips them when it refuses
    to serve for want of a SECRET_KEY; the command-line tasks still need them)."""
    if app.config.get("SECRET_KEY_MISSING") and not app.config.get("DATABASE_OPENED"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["MIGRATED"] = db.init(app.config["DATABASE"])
        app.config["DATABASE_OPENED"] = True


def _secret_key(app):
    """Demo mode keeps a generated key in the instance folder; a real deployment must set one.

    Without one the app serves nothing but a notice (and `serve` refuses to start), while the
    command-line tasks such as create-admin still work.
    """
    if app.config["SECRET_KEY"]:
        return
    if app.config.get("TESTING"):
        app.config["SECRET_KEY"] = "test"
        return
    if not app.config["DEMO"]:
        app.config["SECRET_KEY_MISSING"] = True

        @app.before_request
        def refuse():
            return SECRET_KEY_MISSING, 503, {"Content-Type": "text/plain; charset=utf-8"}

        return
    os.makedirs(app.instance_path, exist_ok=True)
    path = os.path.join(app.instance_path, "demo_secret_key")
    if not os.path.exists(path):
        with open(path, "w") as handle:
            handle.write(secrets.token_hex(32))
    with open(path) as handle:
        app.config["SECRET_KEY"] = handle.read().strip()
