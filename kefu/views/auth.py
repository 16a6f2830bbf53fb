"""Signing in and out, and the 我的 page: profile and own password."""
from urllib.parse import urlsplit

from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_login import login_user
from flask_login import logout_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import Length

from .. import estate as estate_rules
from .. import users
from ..web import done
from ..web import invalid
from ..web import limit_reached
from ..web import render
from ..web import within_limit

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=40, message="用户名过长")],
                           render_kw={"autocomplete": "username", "autocapitalize": "none"})
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=200, message="密码过长")],
                             render_kw={"autocomplete": "current-password"})


class PasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码")],
                            render_kw={"autocomplete": "current-password"})
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=200, message="密码过长")],
                             render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("再输一次新密码", validators=[DataRequired("请再输一次新密码"),
                                                   EqualTo("password", "两次输入的新密码不一致")],
                            render_kw={"autocomplete": "new-password"})


def _safe_next(target):
    """Only follow `next` within this site."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# The known-device cookie: the accounts this browser has signed in to, each with its key
# (users.new_device_key), signed with SECRET_KEY so it can't be made up. It outlives sign-out: it says
# "this is the owner's usual phone" to the lockout (users.authenticate), and nothing else.
DEVICE_COOKIE = "kefu_device"
DEVICE_DAYS = 365
DEVICE_ACCOUNTS = 8  # a shared desk computer remembers the last few people who signed in on it


def _device_signer():
    return URLSafeSerializer(current_app.secret_key, salt="kefu-known-device")


def _known_devices():
    """{user id: key} from this browser's known-device cookie; {} when it has none or it was tampered."""
    try:
        pairs = _device_signer().loads(request.cookies.get(DEVICE_COOKIE, ""))
        return {int(user_id): str(key) for user_id, key in pairs[:DEVICE_ACCOUNTS]}
    except (BadSignature, TypeError, ValueError):
        return {}


def _remember_device(response, user, devices):
    key = devices.get(user.id) or users.new_device_key()
    pairs = [[user.id, key]] + [[i, k] for i, k in devices.items() if i != user.id]
    response.set_cookie(DEVICE_COOKIE, _device_signer().dumps(pairs[:DEVICE_ACCOUNTS]),
                        max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=request.is_secure or current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in page."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    devices = _known_devices()
    known = request.method == "POST" and users.device_for((form.username.data or "").strip(), devices)
    if request.method == "POST" and not known and limit_reached("signin"):
        # Too many failed sign-ins from this address: no password is checked until the window ends,
        # except from a browser that has signed in to the account named before.
        form.validate_on_submit()
        form.password.errors = ["登录失败次数过多，请过一段时间再试"]
        return render("auth/login.html", status=429, form=form, title="登录")
    if form.validate_on_submit():
        user, error = users.authenticate(form.username.data.strip(), form.password.data,
                                         source=request.remote_addr or "", devices=devices)
        if user is not None:
            session.clear()  # a fresh session at every sign-in
            login_user(users.sign_in(user))
            return _remember_device(
                redirect(_safe_next(request.args.get("next")) or url_for("home.index"), code=303), user, devices)
        if not known:
            within_limit("signin")  # a failed sign-in, counted against this address
        form.password.errors.append(error)
    status = 422 if request.method == "POST" else 200
    return render("auth/login.html", status=status, form=form, title="登录")


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out and forget the session; a copy of its cookie no longer signs anyone in."""
    if current_user.is_authenticated:
        users.sign_out(current_user)
    logout_user()
    session.clear()
    return done("已退出登录", "auth.login")


@bp.route("/me")
@login_required
def me():
    """我的: who I am, my zone or unit, my password, and the admin's settings."""
    zones = list(estate_rules.Zone.of_assistant(current_user)) if current_user.role == "assistant" else []
    return render("auth/me.html", title="我的", zones=zones)


@bp.route("/me/password", methods=["GET", "POST"])
@login_required
def password():
    """Change my own password; other devices are signed out."""
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            users.change_password(current_user, form.current.data, form.password.data)
        except users.UserError as error:
            getattr(form, error.field if error.field in ("current", "password") else "password").errors.append(error.message)
        else:
            # The new session version into this session's cookie; this sign-in goes on.
            login_user(current_user._get_current_object())
            return done("密码已修改，其他设备上的登录已失效", "auth.me")
    if request.method == "POST":
        return invalid("auth/password.html", form=form, title="修改密码", back=url_for("auth.me"))
    return render("auth/password.html", form=form, title="修改密码", back=url_for("auth.me"))
