"""First run without the demo (DEMO=0): the first administrator, made with the one-time code the
server printed, then the set-up steps: estate → buildings → zones → units → users → import. Each
step can be skipped and opened again from the step bar."""
from flask import Blueprint
from flask import current_app
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from flask_login import login_user
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms import IntegerField
from wtforms import PasswordField
from wtforms import StringField
from wtforms.validators import DataRequired
from wtforms.validators import EqualTo
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Regexp
from wtforms.validators import ValidationError
from wtforms.widgets import PasswordInput

from .. import estate as estate_rules
from .. import imports
from .. import setup as rules
from .. import users
from ..auth import roles
from ..estate import Building
from ..estate import Estate
from ..estate import Zone
from ..users import Unit
from ..users import User
from ..web import done
from ..web import invalid
from ..web import render
from .estate import estate_form
from .forms import show_error

bp = Blueprint("setup", __name__, url_prefix="/setup")

_strip = [lambda v: v.strip() if isinstance(v, str) else v]
# What a signed-out visitor may still reach while the estate has no administrator.
OPEN_ENDPOINTS = {"setup.first_admin", "static", "service_worker", "web.service_worker", "system.security_txt"}


def _strong(form, field):
    try:
        users.check_password_strength(field.data or "")
    except users.UserError as error:
        raise ValidationError(error.message)


class FirstAdminForm(FlaskForm):
    code = StringField("一次性设置码", filters=_strip, render_kw={"inputmode": "numeric", "autocomplete": "one-time-code"},
                       validators=[DataRequired("请填写终端里打印的设置码")])
    username = StringField("管理员用户名", default="admin", filters=_strip,
                           render_kw={"autocapitalize": "none", "autocomplete": "username"},
                           validators=[DataRequired("请填写用户名"), Length(max=40, message="用户名不能超过 40 个字符"),
                                       Regexp(r"^[A-Za-z0-9_.-]+$", message="用户名只能用字母、数字、下划线、点和横线")])
    display_name = StringField("姓名", default="管理员", filters=_strip,
                               validators=[DataRequired("请填写姓名"), Length(max=40, message="姓名不能超过 40 个字")])
    # Kept in the form when another field is refused, so it isn't typed twice.
    password = PasswordField("密码", render_kw={"autocomplete": "new-password"}, widget=PasswordInput(hide_value=False),
                             validators=[DataRequired("请设置密码"), Length(max=200, message="密码过长"), _strong])
    confirm = PasswordField("再输一次密码", render_kw={"autocomplete": "new-password"}, widget=PasswordInput(hide_value=False),
                            validators=[EqualTo("password", message="两次输入的密码不一致")])


class BuildingsForm(FlaskForm):
    codes = StringField("楼栋编号", filters=_strip, render_kw={"placeholder": "如 1-10 或 1,2,5-8"},
                        validators=[DataRequired("请填写楼栋编号，如 1-10")])
    name_pattern = StringField("楼栋名称", default="{n}号楼", filters=_strip,
                               validators=[DataRequired("请填写楼栋名称的写法，如 {n}号楼")])
    units = IntegerField("每栋单元数", default=2, render_kw={"inputmode": "numeric"},
                         validators=[InputRequired("请填写单元数"),
                                     NumberRange(1, estate_rules.MAX_UNITS, estate_rules.UNITS_RANGE)])
    floor_from = IntegerField("起始层", default=1, render_kw={"inputmode": "numeric"},
                              validators=[InputRequired("请填写起始层"), NumberRange(-5, estate_rules.MAX_FLOORS, "楼层超出范围")])
    floor_to = IntegerField("最高层", default=18, render_kw={"inputmode": "numeric"},
                            validators=[InputRequired("请填写最高层"), NumberRange(-5, estate_rules.MAX_FLOORS, "楼层超出范围")])
    rooms_per_floor = IntegerField("每层户数", default=2, render_kw={"inputmode": "numeric"},
                                   validators=[InputRequired("请填写每层户数"),
                                               NumberRange(1, estate_rules.MAX_ROOMS_PER_FLOOR,
                                                           estate_rules.ROOMS_PER_FLOOR_RANGE)])
    pad = BooleanField("室号补零写成四位（0201）")


def init_app(app):
    @app.before_request
    def first_run():
        """With DEMO=0 and no administrator yet, every page leads to the set-up page."""
        if app.config.get("DEMO") or app.config.get("SETUP_DONE") or app.config.get("SECRET_KEY_MISSING"):
            return None
        if request.endpoint in OPEN_ENDPOINTS or request.endpoint is None:
            return None
        if rules.needs_setup():
            return redirect(url_for("setup.first_admin"))
        app.config["SETUP_DONE"] = True
        return None


@bp.route("", methods=["GET", "POST"])
def first_admin():
    """Create the first administrator with the one-time code from the terminal."""
    if not rules.needs_setup():
        return redirect(url_for("setup.step", step="estate") if current_user.is_authenticated
                        and current_user.role == "admin" else url_for("auth.login"))
    instance = current_app.instance_path
    code = rules.code(instance)
    current_app.logger.warning("首次设置：一次性设置码 %s（在浏览器打开 /setup 输入）", code)
    form = FirstAdminForm()
    if form.validate_on_submit():
        try:
            user = rules.create_first_admin(instance, form.code.data, form.username.data, form.display_name.data,
                                            form.password.data)
        except (rules.SetupError, users.UserError) as error:
            show_error(form, error)
        else:
            login_user(users.sign_in(user))
            return done("管理员已创建，接下来设置小区", "setup.step", step="estate")
    context = dict(form=form, title="首次设置", back=None)
    return invalid("setup/first_admin.html", **context) if request.method == "POST" else \
        render("setup/first_admin.html", **context)


@bp.route("/<step>", methods=["GET", "POST"])
@roles("admin")
def step(step):
    """One set-up step, with the bar of all steps above it."""
    keys = [key for key, _ in rules.STEPS]
    if step not in keys:
        return redirect(url_for("setup.step", step="estate"))
    following = rules.next_step(step)
    next_url = url_for("setup.step", step=following) if following else url_for("home.index")
    context = dict(steps=rules.STEPS, current=step, next_url=next_url, title="首次设置：" + dict(rules.STEPS)[step],
                   back=None)
    if step == "estate":
        form, saved = estate_form(Estate.current())
        if saved:
            return redirect(next_url, code=303)
        context["form"] = form
    elif step == "buildings":
        form = BuildingsForm()
        if form.validate_on_submit():
            try:
                made, created = estate_rules.bulk_create_buildings(
                    current_user, form.codes.data, form.name_pattern.data, form.units.data, form.floor_from.data,
                    form.floor_to.data, form.rooms_per_floor.data, pad=form.pad.data)
                return done(f"已新建 {len(made)} 栋楼、{created} 户", "setup.step", step="buildings")
            except estate_rules.EstateError as error:
                show_error(form, error)
        context.update(form=form, buildings=list(Building.ordered()))
    elif step == "zones":
        context["zones"] = list(Zone.live().order_by(Zone.name))
    elif step == "units":
        context["units"] = list(Unit.live().order_by(Unit.kind, Unit.name))
    elif step == "users":
        context["people"] = list(User.live().order_by(User.role, User.display_name))
    elif step == "import":
        context["import_kinds"] = imports.KIND_LABELS
    if request.method == "POST" and "form" in context:
        return invalid("setup/step.html", **context)
    return render("setup/step.html", **context)
