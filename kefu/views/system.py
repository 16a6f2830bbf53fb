"""The administrator's safety pages: backups (the nightly switch, the copies kept, one now), the
sign-in time limits, and the audit log (sign-ins, failed sign-ins, role and account changes, exports,
backups); and /.well-known/security.txt, whom to tell of a security problem."""
import datetime
import os

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms.validators import InputRequired
from wtforms.validators import NumberRange

from .. import backup as backups
from .. import clock
from .. import events
from .. import users as user_rules
from ..auth import roles
from ..db import RuleError
from ..db import StaleRecord
from ..estate import Estate
from ..events import Event
from ..web import done
from ..web import invalid
from ..web import render
from . import choices
from .forms import VersionForm
from .forms import show_error

bp = Blueprint("system", __name__)


class BackupForm(VersionForm):
    backup_nightly = BooleanField("每晚自动备份")
    backup_hour = SelectField("备份时间", choices=choices([(str(h), f"{h:02d}:00") for h in range(24)]), coerce=int,
                              validate_choice=False)
    backup_keep = IntegerField("保留最近几份", validators=[InputRequired("请填写保留份数"),
                                                      NumberRange(1, 365, backups.KEEP_RANGE)],
                               render_kw={"inputmode": "numeric"})


class SessionForm(VersionForm):
    session_idle_hours = IntegerField("空闲多久后须重新登录（小时）", validators=[
        InputRequired("请填写小时数"), NumberRange(1, 720, user_rules.IDLE_HOURS_RANGE)],
        render_kw={"inputmode": "numeric"})
    session_max_days = IntegerField("登录后最长有效（天）", validators=[
        InputRequired("请填写天数"), NumberRange(1, 90, user_rules.MAX_DAYS_RANGE)],
        render_kw={"inputmode": "numeric"})


@bp.route("/admin/sessions", methods=["GET", "POST"])
@roles("admin")
def sessions():
    """登录时限: a sign-in ends after so many hours unused, and so many days after signing in."""
    estate = Estate.current()
    form = SessionForm(obj=estate)
    if request.method == "GET":
        form.version.data = estate.version
    elif form.validate_on_submit():
        try:
            user_rules.update_session_settings(current_user, estate, form.expected_version(),
                                               form.session_idle_hours.data, form.session_max_days.data)
            return done("登录时限已保存", "estate.index")
        except RuleError as error:
            show_error(form, error)
        except StaleRecord:
            form.form_errors.append(StaleRecord.message)
    context = dict(form=form, title="登录时限", back=url_for("estate.index"))
    if request.method == "POST":
        return invalid("system/sessions.html", **context)
    return render("system/sessions.html", **context)


@bp.route("/admin/backups", methods=["GET", "POST"])
@roles("admin")
def backups_page():
    """备份: the nightly switch and the copies in the backup folder."""
    estate = Estate.current()
    form = BackupForm(obj=estate)
    if request.method == "GET":
        form.version.data = estate.version
    elif form.validate_on_submit():
        try:
            backups.update_settings(current_user, estate, form.expected_version(), form.backup_nightly.data,
                                    form.backup_hour.data, form.backup_keep.data)
            return done("备份设置已保存", "system.backups_page")
        except RuleError as error:
            show_error(form, error)
        except StaleRecord:
            form.form_errors.append(StaleRecord.message)
    dest = current_app.config["BACKUPS"]
    context = dict(form=form, title="备份与恢复", back=url_for("estate.index"), dest=dest,
                   copies=[(name, manifest, _size(os.path.join(dest, name))) for name, manifest
                           in backups.list_backups(dest)],
                   now_form=FlaskForm(), timeline=events.timeline(estate))
    if request.method == "POST":
        return invalid("system/backups.html", **context)
    return render("system/backups.html", **context)


def _size(folder):
    """Bytes a backup folder holds (hard-linked photos counted once per backup)."""
    total = 0
    for root, _dirs, files in os.walk(folder):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


@bp.route("/admin/backups/now", methods=["POST"])
@roles("admin")
def backup_now():
    """Back up now, into the same folder as the nightly copies."""
    try:
        folder = backups.backup(current_app.config["DATABASE"], current_app.config["PHOTOS"],
                                current_app.config["BACKUPS"])
    except (backups.BackupError, OSError) as error:
        flash(f"备份失败：{getattr(error, 'message', error)}", "error")
        return redirect(url_for("system.backups_page"), code=303)
    events.record(current_user, Estate.current(), "备份", note=os.path.basename(folder))
    return done(f"已备份：{os.path.basename(folder)}", "system.backups_page")


# The audit log: what the administrator reads when something went wrong.

AUDIT = {
    "signin": ("登录", ("登录", "登录失败", "账号锁定")),
    "accounts": ("账号与角色", ("创建用户", "更改角色", "停用账号", "启用账号", "修改用户", "修改密码", "重置密码",
                              "重新生成初始密码")),
    "data": ("导出与备份", ("导出", "备份", "自动备份", "恢复备份", "修改备份设置")),
}
AUDIT_PAGE = 50


@bp.route("/admin/audit")
@roles("admin")
def audit():
    """审计日志: newest first, by kind, a page at a time."""
    kind = request.args.get("kind", "")
    actions = AUDIT[kind][1] if kind in AUDIT else tuple(a for _label, group in AUDIT.values() for a in group)
    try:
        page = max(1, min(int(request.args.get("page", 1)), 10_000))
    except ValueError:
        page = 1
    rows = list(Event.select().where(Event.action.in_(actions)).order_by(Event.at.desc(), Event.id.desc())
                .limit(AUDIT_PAGE + 1).offset((page - 1) * AUDIT_PAGE))
    names = _record_names(rows[:AUDIT_PAGE])
    # Tries of usernames that don't exist, a row per day and address (the last two weeks, on the first page).
    unknown = list(user_rules.FailedSignIn.select().order_by(user_rules.FailedSignIn.day.desc(),
                                                             user_rules.FailedSignIn.count.desc()).limit(50)) \
        if page == 1 and kind in ("", "signin") else []
    return render("system/audit.html", title="审计日志", back=url_for("estate.index"), kinds=AUDIT, kind=kind,
                  rows=[(event, names.get((event.record_type, event.record_id), "")) for event in rows[:AUDIT_PAGE]],
                  unknown=unknown, page=page, more=len(rows) > AUDIT_PAGE)


def _record_names(rows):
    """Whom each event is about: the account's name and username."""
    from ..users import User

    ids = {event.record_id for event in rows if event.record_type == "user"}
    found = {("user", u.id): f"{u.display_name}（{u.username}）" for u in User.select().where(User.id.in_(ids))} \
        if ids else {}
    return found


def security_contacts(value):
    """The URIs of SECURITY_CONTACT (comma- or space-separated): an e-mail address becomes mailto:, a
    phone number tel:, and an https:// page (a form, a GitHub advisory page) stays as it is."""
    contacts = []
    for item in value.replace(",", " ").split():
        if item.startswith(("https://", "mailto:", "tel:")):
            contacts.append(item)
        elif "@" in item:
            contacts.append(f"mailto:{item}")
        elif item.lstrip("+").replace("-", "").isdigit():
            contacts.append(f"tel:{item}")
    return contacts


@bp.route("/.well-known/security.txt")
def security_txt():
    """Whom to tell of a security problem, as RFC 9116 asks: the deployment's SECURITY_CONTACT. Without
    one there is nobody to name, so 404 (README, "Reporting a problem")."""
    contacts = security_contacts(current_app.config.get("SECURITY_CONTACT", ""))
    if not contacts:
        abort(404)
    # Expires is required and should be under a year ahead: the file is written from the settings
    # in force, so it is renewed whenever it is read.
    expires = (clock.utcnow() + datetime.timedelta(days=180)).replace(hour=0, minute=0, second=0, microsecond=0)
    lines = [f"Contact: {contact}" for contact in contacts]
    lines.append(f"Expires: {expires:%Y-%m-%dT%H:%M:%S}Z")
    lines.append("Preferred-Languages: zh, en")
    public = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    if public:
        lines.append(f"Canonical: {public}{url_for('system.security_txt')}")
    return "\n".join(lines) + "\n", 200, {"Content-Type": "text/plain; charset=utf-8"}
