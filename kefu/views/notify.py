"""通知: my own notification choices (kinds, quiet hours, this phone's Web Push), the administrator's
channels (group robots per zone or unit, the VAPID key) and the outbox with each delivery's state."""

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import jsonify
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TimeField
from wtforms.validators import Length
from wtforms.validators import Optional

from .. import channels
from .. import notify
from .. import outbox
from ..db import too_long
from ..auth import roles
from ..estate import Zone
from ..users import Unit
from ..web import done
from ..web import render
from . import choices
from . import get_or_404
from .forms import MultiCheckboxField
from .forms import form_page
from .forms import strip
from .forms import text

bp = Blueprint("notify", __name__)


@bp.record_once
def _start(state):
    """Listen to the machines and know the public address (the sender thread starts with the
    scheduler, in create_app)."""
    app = state.app
    notify.install()
    outbox.configure(app.config.get("PUBLIC_URL"))


@bp.teardown_app_request
def _wake_sender(exc):
    """The change's transaction is over: a message it queued is sent now, not at the next tick."""
    outbox.after_commit()


class PreferenceForm(FlaskForm):
    kinds = MultiCheckboxField("提醒我", choices=choices(list(channels.KINDS.items())), validate_choice=False)
    quiet_start = TimeField("免打扰开始", validators=[Optional()], format="%H:%M")
    quiet_end = TimeField("免打扰结束", validators=[Optional()], format="%H:%M")


@bp.route("/me/notify", methods=["GET", "POST"])
@login_required
def preferences():
    """我的通知: which kinds I'm told of, my quiet hours (紧急 still comes), and this phone's push."""
    saved = channels.preference(current_user)
    form = PreferenceForm()
    if request.method == "GET":
        form.kinds.data = [kind for kind in channels.KINDS if saved.wants(kind)]
        form.quiet_start.data, form.quiet_end.data = saved.quiet_start, saved.quiet_end
    return form_page(
        form, lambda: channels.save_preference(current_user, form.kinds.data or [], form.quiet_start.data,
                                               form.quiet_end.data),
        "通知设置已保存", url_for("notify.preferences"), "notify/preferences.html",
        title="通知设置", back=url_for("auth.me"), vapid_key=channels.vapid_keys().public_key,
        devices=list(channels.subscriptions(current_user)))


@bp.route("/me/notify/subscribe", methods=["POST"])
@login_required
def subscribe():
    """This browser's push subscription (sent by static/js/notify.js as JSON)."""
    data = request.get_json(silent=True) if request.is_json else {} if not request.content_length else None
    if not isinstance(data, dict):
        abort(400)  # not the page's script: the error page says so
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    try:
        channels.subscribe(current_user, str(data.get("endpoint") or ""), str(keys.get("p256dh") or ""),
                           str(keys.get("auth") or ""), device=device_label(request.user_agent.string))
    except channels.ChannelError as error:
        return jsonify(error=error.message, field=error.field), 422
    return jsonify(ok=True)


@bp.route("/me/notify/unsubscribe", methods=["POST"])
@login_required
def unsubscribe():
    """Stop pushing to one of my browsers (this one, or one listed on the page)."""
    data = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(data, dict) and not hasattr(data, "get"):
        abort(400)
    channels.unsubscribe(current_user, str(data.get("endpoint") or ""))
    if request.is_json:
        return jsonify(ok=True)
    return done("已关闭该设备的通知", "notify.preferences")


def device_label(agent):
    """"Android · Chrome", "iPhone · Safari": enough to tell one's phones apart on the page."""
    systems = (("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("HarmonyOS", "鸿蒙"),
               ("Windows", "Windows"), ("Mac OS", "Mac"), ("Linux", "Linux"))
    browsers = (("MicroMessenger", "微信"), ("EdgA", "Edge"), ("Edg/", "Edge"), ("HuaweiBrowser", "华为浏览器"),
                ("MiuiBrowser", "小米浏览器"), ("UCBrowser", "UC"), ("QQBrowser", "QQ浏览器"), ("Firefox", "Firefox"),
                ("Chrome", "Chrome"), ("Safari", "Safari"))
    system = next((label for mark, label in systems if mark in agent), "")
    browser = next((label for mark, label in browsers if mark in agent), "")
    return " · ".join(part for part in (system, browser) if part) or "浏览器"


class RobotForm(FlaskForm):
    name = text("名称", 40, render_kw={"placeholder": "如 一区客服群"})
    platform = SelectField("类型", choices=choices(list(channels.PLATFORMS.items())))
    url = StringField("Webhook 地址", filters=[strip],
                      validators=[Length(max=channels.Robot.url.max_length,
                                         message=too_long("Webhook 地址", channels.Robot.url.max_length))],
                      render_kw={"inputmode": "url", "autocomplete": "off", "spellcheck": "false"})
    secret = PasswordField("签名密钥（加签 / 签名校验，可不填）", filters=[strip],
                           validators=[Length(max=channels.Robot.secret.max_length,
                                              message=too_long("签名密钥", channels.Robot.secret.max_length))],
                           render_kw={"autocomplete": "off"})
    scope = SelectField("发到这个群的消息", validate_choice=False)


def _scopes():
    return ([("", "全部消息（如主管群）")]
            + [(f"zone:{z.id}", f"区域：{z.name}") for z in Zone.live().order_by(Zone.name)]
            + [(f"unit:{u.id}", f"业务块：{u.name}") for u in Unit.live().order_by(Unit.name)])


def _scope(value):
    """(zone, unit) from the scope select; an unknown value is refused beside the field."""
    kind, _, number = (value or "").partition(":")
    if not kind:
        return None, None
    model = {"zone": Zone, "unit": Unit}.get(kind)
    record = model.live().where(model.id == int(number)).first() if model and number.isdigit() else None
    if record is None:
        raise channels.ChannelError("请选择区域或业务块", "scope")
    return (record, None) if kind == "zone" else (None, record)


@bp.route("/admin/notify")
@roles("admin")
def channels_page():
    """通知渠道: the group robots and Web Push."""
    robots = list(channels.Robot.select().order_by(channels.Robot.voided_at.is_null(False), channels.Robot.id))
    return render("notify/channels.html", title="通知渠道", back=url_for("estate.index"), robots=robots,
                  vapid_key=channels.vapid_keys().public_key, public_url=current_app.config.get("PUBLIC_URL"),
                  counts=outbox.counts())


@bp.route("/admin/notify/robots/new", methods=["GET", "POST"])
@roles("admin")
def robot_new():
    """Add a group robot."""
    form = RobotForm()
    form.scope.choices = choices(_scopes())

    def add():
        zone, unit = _scope(form.scope.data)
        channels.add_robot(current_user, name=form.name.data, platform=form.platform.data, url=form.url.data,
                           secret=form.secret.data, zone=zone, unit=unit)

    return form_page(form, add, "机器人已添加", url_for("notify.channels_page"), "notify/robot.html",
                     title="添加群机器人", back=url_for("notify.channels_page"), robot=None)


@bp.route("/admin/notify/robots/<int:robot_id>", methods=["GET", "POST"])
@roles("admin")
def robot_edit(robot_id):
    """Change a robot (its secret is kept when the field is left empty)."""
    robot = get_or_404(channels.Robot.live(), robot_id)
    form = RobotForm(obj=robot)
    form.scope.choices = choices(_scopes())
    if request.method == "GET":
        form.scope.data = f"zone:{robot.zone_id}" if robot.zone_id else f"unit:{robot.unit_id}" if robot.unit_id else ""

    def save():
        zone, unit = _scope(form.scope.data)
        channels.update_robot(current_user, robot, name=form.name.data, platform=form.platform.data, url=form.url.data,
                              secret=form.secret.data or robot.secret, zone=zone, unit=unit)

    return form_page(form, save, "机器人已保存", url_for("notify.channels_page"), "notify/robot.html",
                     title=robot.name, back=url_for("notify.channels_page"), robot=robot)


@bp.route("/admin/notify/robots/<int:robot_id>/stop", methods=["POST"])
@roles("admin")
def robot_stop(robot_id):
    """Stop a robot (kept on record; its deliveries waiting are given up when their turn comes)."""
    robot = get_or_404(channels.Robot.live(), robot_id)
    channels.stop_robot(current_user, robot)
    return done(f"已停用 {robot.name}", "notify.channels_page")


@bp.route("/admin/notify/robots/<int:robot_id>/test", methods=["POST"])
@roles("admin")
def robot_test(robot_id):
    """Send the robot a test message through the outbox; its delivery shows there."""
    robot = get_or_404(channels.Robot.live(), robot_id)
    outbox.test_robot(robot)
    return done(f"测试消息已发往 {robot.name}，送达与否见下方", "notify.outbox_page")


@bp.route("/admin/outbox")
@roles("admin")
def outbox_page():
    """通知发件箱: each delivery with its state, attempts and last error."""
    state = request.args.get("state") or None
    if state is not None and state not in outbox.STATES:
        abort(404)
    return render("notify/outbox.html", title="通知发件箱", back=url_for("estate.index"), state=state,
                  states=outbox.STATES, counts=outbox.counts(), rows=outbox.deliveries(state))
