"""User accounts, kept by the administrator: roles, units, passwords, disabling."""
from flask import Blueprint
from flask import request
from flask import url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import HiddenField
from wtforms import PasswordField
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional
from wtforms.validators import Regexp
from wtforms.validators import ValidationError
from wtforms.widgets import PasswordInput

from .. import events
from .. import imports
from .. import users as rules
from .. import words
from ..auth import roles
from ..db import StaleRecord
from ..db import database
from ..estate import Zone
from ..estate import assign_zone
from ..users import ROLES
from ..users import Unit
from ..users import User
from ..web import done
from ..web import done_or_setup
from ..web import invalid
from ..web import render
from ..web import setup_step_next
from . import choices
from . import get_or_404
from .forms import show_error

bp = Blueprint("users", __name__, url_prefix="/admin/users")

_strip = [lambda v: v.strip() if isinstance(v, str) else v]


class UserForm(FlaskForm):
    version = HiddenField()
    display_name = StringField("姓名", filters=_strip, validators=[DataRequired("请填写姓名"),
                                                                 Length(max=40, message="姓名不能超过 40 个字")])
    role = SelectField("角色", choices=choices([("", "请选择")] + list(ROLES.items())))
    unit = SelectField("所属业务块", coerce=int, description="角色为业务块时必选")
    zone = SelectField("管辖区域", coerce=int, default=0, description="客户助理负责的区域")
    phone = StringField("手机", filters=_strip, render_kw={"inputmode": "tel"},
                        validators=[Optional(), Regexp(r"^[0-9+\- ]{5,20}$", message="请填写有效的电话号码")])
    active = BooleanField("账号启用", default=True)

    def validate_unit(self, field):
        # Checked with the other fields, so every message shows at once.
        if self.role.data == "unit" and not field.data:
            raise ValidationError(rules.UNIT_MISSING)


def _strong(form, field):
    try:
        rules.check_password_strength(field.data or "")
    except rules.UserError as error:
        raise ValidationError(error.message)


class NewUserForm(UserForm):
    username = StringField("用户名", filters=_strip, render_kw={"autocapitalize": "none", "autocomplete": "off"},
                           validators=[DataRequired("请填写用户名"), Length(max=40, message="用户名不能超过 40 个字符"),
                                       Regexp(r"^[A-Za-z0-9_.-]+$", message="用户名只能用字母、数字、下划线、点和横线")])
    # Kept in the form when another field is refused, so it isn't typed again.
    password = PasswordField("初始密码", render_kw={"autocomplete": "new-password"}, widget=PasswordInput(hide_value=False),
                             validators=[DataRequired("请设置初始密码"), Length(max=200, message="密码过长"), _strong])

    def validate_username(self, field):
        if field.data and User.select().where(User.username == field.data).exists():
            raise ValidationError(rules.USERNAME_TAKEN)


class ResetForm(FlaskForm):
    password = PasswordField("新密码", render_kw={"autocomplete": "new-password"},
                             validators=[DataRequired("请填写新密码"), Length(max=200, message="密码过长")])


def _with_units(form):
    form.unit.choices = choices([(0, "无")] + [(u.id, u.name) for u in Unit.live().order_by(Unit.kind, Unit.name)])
    form.zone.choices = choices([(0, "无")] + [(z.id, z.name) for z in Zone.live().order_by(Zone.name)])
    return form


def _zone(form):
    return Zone.get_or_none((Zone.id == form.zone.data) & Zone.voided_at.is_null()) if form.zone.data else None


def _unit(form):
    return Unit.get_or_none((Unit.id == form.unit.data) & Unit.voided_at.is_null()) if form.unit.data else None


@bp.route("")
@roles("admin")
def index():
    """All users, searchable by name, username or role."""
    q = request.args.get("q", "")[:40].strip()
    query = User.live().order_by(User.role, User.display_name)
    if q and words.is_pinyin(q):
        # Letters: a username, or a name in pinyin (zs, zhangsan).
        items = [u for u in query if q.lower() in u.username.lower() or words.name_matches(u.display_name, q)]
    elif q:
        role_keys = [key for key, label in ROLES.items() if q in label]
        items = list(query.where(User.display_name.contains(q) | User.username.contains(q) | User.role.in_(role_keys)))
    else:
        items = list(query)
    # Staff imports whose accounts haven't all signed in: their password sheet can be made again.
    batches = imports.import_batches(only_reissuable=True, limit=3)
    return render("users/index.html", block="results", title="用户管理", items=items, q=q, batches=batches,
                  locks=rules.locks_now([u.id for u in items]), back=url_for("estate.index"))


@bp.route("/new", methods=["GET", "POST"])
@roles("admin")
def new():
    """Create a user with a role and an initial password."""
    form = _with_units(NewUserForm())
    if form.validate_on_submit():
        try:
            with database.atomic():
                user = rules.create_user(current_user, form.username.data, form.display_name.data, form.role.data,
                                         form.password.data, unit=_unit(form), phone=form.phone.data or "")
                assign_zone(current_user, user, _zone(form))
            return done_or_setup(f"已创建用户 {user.display_name}", "users.index")
        except rules.UserError as error:
            show_error(form, error)
    context = dict(form=form, title="新建用户", back=setup_step_next() or url_for("users.index"))
    return invalid("users/form.html", **context) if request.method == "POST" else \
        render("users/form.html", **context)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@roles("admin")
def edit(user_id):
    """Edit a user's name, role, unit and whether the account is enabled."""
    user = get_or_404(User.live(), user_id)
    form = _with_units(UserForm(obj=user))
    if request.method == "GET":
        form.unit.data = user.unit_id or 0
        form.zone.data = next((z.id for z in Zone.of_assistant(user)), 0)
        form.version.data = user.version
    if form.validate_on_submit():
        try:
            version = int(form.version.data or 0)
            with database.atomic():
                rules.update_user(current_user, user, version, form.display_name.data, form.role.data, _unit(form),
                                  form.phone.data or "", form.active.data)
                assign_zone(current_user, user, _zone(form))
            return done("用户已保存", "users.index")
        except rules.UserError as error:
            show_error(form, error)
        except (StaleRecord, ValueError):
            form.form_errors.append(StaleRecord.message)
    context = dict(form=form, user=user, reset=ResetForm(), title=user.display_name,
                   timeline=events.timeline(user), back=url_for("users.index"))
    return invalid("users/form.html", **context) if request.method == "POST" else \
        render("users/form.html", **context)


@bp.route("/<int:user_id>/password", methods=["POST"])
@roles("admin")
def reset(user_id):
    """Set a new password for a user who forgot theirs; they are signed out everywhere."""
    user = get_or_404(User.live(), user_id)
    form = ResetForm()
    if form.validate_on_submit():
        try:
            rules.reset_password(current_user, user, form.password.data)
            return done(f"已重置 {user.display_name} 的密码", "users.edit", user_id=user.id)
        except rules.UserError as error:
            form.password.errors.append(error.message)
    edit_form = _with_units(UserForm(obj=user))
    edit_form.unit.data = user.unit_id or 0
    edit_form.zone.data = next((z.id for z in Zone.of_assistant(user)), 0)
    edit_form.version.data = user.version
    return invalid("users/form.html", form=edit_form, user=user, reset=form, title=user.display_name,
                   timeline=events.timeline(user), back=url_for("users.index"))
