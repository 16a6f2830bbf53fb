"""Customer requests on the phone: intake, the ticket page and each action on it, the list,
cases, printing; and the administrator's tiers."""
import dataclasses
import typing

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from wtforms import BooleanField
from wtforms import DateField
from wtforms import DateTimeLocalField
from wtforms import HiddenField
from wtforms import IntegerField
from wtforms import RadioField
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from .. import access
from .. import callbacks
from .. import clock
from .. import events
from .. import notices
from .. import pdf
from .. import search
from .. import tickets as rules
from .. import uploads
from .. import workorders
from ..auth import roles
from ..callbacks import CallBack
from ..db import RuleError
from ..db import Kept
from ..db import Shapes
from ..db import is_sqlite
from ..db import rows
from ..db import StaleRecord
from ..estate import Place
from ..estate import Resident
from ..estate import VOID_REASON_MISSING
from ..estate import Zone
from ..estate import find_household
from ..estate import nearest_households
from ..estate import normalize_code
from ..estate import place_zone_names
from ..estate import mask_phone
from ..tickets import Ticket
from ..tickets import Tier
from ..users import Unit
from ..users import User
from ..web import done
from ..web import estate
from ..web import invalid
from ..web import render
from . import choices
from . import get_or_404
from . import record_or_404
from . import photos as photo_views
from .figures import Filter
from .figures import MOST_ROWS
from .forms import ROOM_HINT
from .forms import ROOM_INPUT
from .forms import TokenForm
from .forms import VersionForm
from .forms import form_page
from .forms import long_text
from .forms import record_id
from .forms import record_ids
from .forms import show_error
from .forms import text

bp = Blueprint("tickets", __name__)

PAGE_SIZE = 20
OTHERS_CAP = 20
HANDLERS = ("supervisor", "assistant")
READERS = ("supervisor", "assistant", "frontdesk")


def _can_see_ticket_photo(user, ticket_id):
    ticket = Ticket.get_or_none(Ticket.id == ticket_id)
    if ticket is None:
        return False
    if user.role == "unit":
        return workorders.WorkOrder.of_source("ticket", ticket.id).where(
            workorders.WorkOrder.unit == user.unit_id).exists()
    return access.may_see(user, ticket)


photo_views.OWNER_ACCESS["ticket"] = _can_see_ticket_photo


# Forms

# Where a request can come from besides the intake page itself: kind → Origin. `?from=<kind>-<id>`
# on the intake page fills the form from that record, and the ticket is linked to it when made.
@dataclasses.dataclass
class Origin:
    find: typing.Callable    # id → the record (or None)
    prefill: typing.Callable  # (form, record) → None
    describe: typing.Callable  # record → what the page says the request comes from
    link: typing.Callable     # (actor, record, ticket) → None, inside the ticket's transaction
    back: typing.Callable = None  # record → the page the intake's 返回 goes to (the record's own)


ORIGINS = {}
# What a ticket came from, shown as a link at the top of its page: fn(ticket) → (label, url) or None.
SOURCE_LINKS = []


def _origin():
    """(kind, record) named by the form's or the URL's `from`, or (None, None)."""
    value = (request.form.get("origin") if request.method == "POST" else request.args.get("from")) or ""
    kind, _, number = value.partition("-")
    if kind in ORIGINS and record_ids([number]):
        record = ORIGINS[kind].find(record_id(number))
        if record is not None:
            return kind, record
    return None, None


class IntakeForm(TokenForm):
    origin = HiddenField()
    channel = SelectField("来源", choices=choices((c, c) for c in rules.STAFF_CHANNELS))
    category = SelectField("类别", choices=choices([("", "请选择")] + [(c, c) for c in rules.CATEGORIES]))
    tier = SelectField("等级", coerce=int)
    household = text("房号（栋-单元-室）", 30, required=False, description=ROOM_HINT,
                     render_kw={**ROOM_INPUT, "placeholder": "如 3-2-1502", "list": "household-options"})
    place = SelectField("或公共部位", coerce=int)
    zone = SelectField("管辖区域", coerce=int)
    resident = SelectField("从住户中选择", coerce=int, validate_choice=False)
    customer_name = text("客户姓名", 40, required=False)
    customer_phone = text("联系电话", 40, required=False, render_kw={"inputmode": "tel", "autocomplete": "off"})
    description = long_text("客户反映的问题", 2000, required=True, message=rules.DESCRIPTION_MISSING,
                            render_kw={"rows": 4, "placeholder": "时间、地点、现象、客户的要求"})

    def validate_customer_phone(self, field):
        if field.data and not all(ch.isdigit() or ch in "+- " for ch in field.data):
            from wtforms.validators import ValidationError

            raise ValidationError("电话只能包含数字、空格、+ 和 -")


class RespondForm(VersionForm):
    method = SelectField("响应方式", choices=choices((m, m) for m in rules.RESPONSE_METHODS))
    note = long_text("沟通内容", 1000, render_kw={"rows": 3, "placeholder": "和客户约好的时间、说明的情况"})


class ResolveForm(VersionForm):
    note = long_text("处理情况", 2000, required=True, message=rules.HANDLING_MISSING, render_kw={"rows": 4})


NOT_CONTACTED = "none"


class DispatchForm(VersionForm):
    # Shown only while the response is owed: the call made before dispatching counts as the response.
    contacted = RadioField("已联系客户？", choices=choices([(m, m) for m in rules.RESPONSE_METHODS]
                                                      + [(NOT_CONTACTED, "暂未联系")]),
                           validators=[Optional()], validate_choice=False)
    unit = SelectField("业务块", coerce=int)
    instructions = long_text("要做什么", 1000, required=True, message=workorders.INSTRUCTIONS_MISSING,
                             render_kw={"rows": 3})
    deadline = DateTimeLocalField("完成时限", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                  validators=[InputRequired(workorders.DEADLINE_MISSING)])


class PauseForm(VersionForm):
    reason = SelectField("暂停原因", choices=choices((r, r) for r in rules.PAUSE_REASONS))
    note = long_text("说明", 500, render_kw={"rows": 2})


class EscalateForm(VersionForm):
    reason = long_text("上报原因", 1000, required=True, message=rules.ESCALATION_REASON_MISSING,
                       render_kw={"rows": 3, "placeholder": "为什么无法解决或协调，需要主管做什么"})


class FollowUpForm(VersionForm):
    method = SelectField("回访方式", choices=choices((m, m) for m in rules.FOLLOWUP_METHODS))
    result = RadioField("客户评价", choices=choices([(s, s) for s in rules.SATISFACTION]
                                                   + [(rules.UNREACHABLE, "未接通")]),
                        validators=[InputRequired("请选择客户评价")], validate_choice=False)
    words = long_text("客户原话", 1000, render_kw={"rows": 3})


class CloseForm(VersionForm):
    reason = long_text("关闭原因", 500, required=True, message=rules.CLOSE_REASON_MISSING,
                       render_kw={"rows": 2, "placeholder": "如 三次回访未接通"})


class CaseForm(VersionForm):
    cause = long_text("原因", 1000, required=True, message="请写原因", render_kw={"rows": 3})
    handling = long_text("处理", 1000, required=True, message="请写处理经过", render_kw={"rows": 3})
    prevention = long_text("预防", 1000, required=True, message="请写以后如何预防、举一反三", render_kw={"rows": 3})


class SuperviseForm(VersionForm):
    action = SelectField("主管处理", choices=choices([("instruct", "批示意见"), ("reassign", "转派给客户助理"),
                                                   ("takeover", "我来接手"), ("manager", "上报经理")]))
    assignee = SelectField("转派给", coerce=int)
    note = long_text("意见 / 说明", 1000, render_kw={"rows": 3})


class VoidForm(VersionForm):
    reason = long_text("作废原因", 500, required=True, message=VOID_REASON_MISSING, render_kw={"rows": 2})


class TierForm(VersionForm):
    name = text("名称", 20)
    response_minutes = IntegerField("响应时限（分钟）", validators=[
        InputRequired("请填写响应时限"), NumberRange(5, 24 * 60, rules.RESPONSE_LIMIT_RANGE)],
        render_kw={"inputmode": "numeric"})
    resolution_hours = IntegerField("处理时限（小时，按服务时间计）", validators=[
        InputRequired("请填写处理时限"), NumberRange(1, 24 * 30, rules.RESOLUTION_LIMIT_RANGE)],
        render_kw={"inputmode": "numeric"})
    notify_supervisor = BooleanField("受理时立即通知客服主管")
    sort = IntegerField("排序", default=0, validators=[Optional(), NumberRange(0, 99, rules.SORT_RANGE)],
                        render_kw={"inputmode": "numeric"})


class FilterForm(TokenForm):
    """The list's filters; they live in the URL so a filtered list can be bookmarked."""

    class Meta:
        csrf = False

    state = SelectField("状态", choices=choices([("open", "未关闭"), ("", "全部")] + list(rules.STATES.items())),
                        default="open", validate_choice=False)
    category = SelectField("类别", choices=choices([("", "全部类别")] + [(c, c) for c in rules.CATEGORIES]),
                           validate_choice=False)
    tier = SelectField("等级", coerce=int, validate_choice=False)
    zone = SelectField("区域", coerce=int, validate_choice=False)
    assignee = SelectField("客户助理", coerce=int, validate_choice=False)
    unit = SelectField("业务块", coerce=int, validate_choice=False)
    start = DateField("从", validators=[Optional()])
    end = DateField("到", validators=[Optional()])
    q = text("关键词", 40, required=False, render_kw={"placeholder": "描述、房号、客户、单号", "type": "search"})
    overdue = BooleanField("只看超时")
    escalated = BooleanField("只看已上报")
    # Set by a summary's or an evaluation's figure links only (同一地点重复诉求, 重开): not among the panel's fields.
    location = text("地点", 120, required=False)
    reopened = BooleanField("只看重开过的")
    resolved = BooleanField("只看已解决的")
    late_response = BooleanField("只看未按时响应的")


def _int_choice(form_field, pairs, empty_label):
    form_field.choices = choices([(0, empty_label)] + list(pairs))


def _version(form, record):
    if request.method == "GET":
        form.version.data = record.version
    return form


def _ticket(ticket_id, act=False):
    """A live ticket the current user may see (and, with act=True, change)."""
    return record_or_404(rules.with_people_by_id(ticket_id), change=act)


def _action(ticket, form, template, title, apply, message, ready=True, **extra):
    """Run one ticket action from its form page, then back to the ticket."""
    here = url_for("tickets.show", ticket_id=ticket.id)
    return form_page(form, apply, message, here, template, ready=ready, ticket=ticket, title=title, back=here,
                     **extra)


# Intake

def _intake_form():
    form = IntakeForm()
    form.tier.choices = choices((t.id, t.name) for t in Tier.live())
    zone_names = place_zone_names()
    form.place.choices = choices([(0, "不是公共部位")] + [
        (p.id, f"{p.name}（{p.kind}）· {zone_names.get(p.id, '未划区域')}")
        for p in Place.live().order_by(Place.kind, Place.name)])
    zones = list(Zone.live().order_by(Zone.name))
    form.zone.choices = choices([(0, "按位置自动确定")] + [(z.id, z.name) for z in zones])
    form.resident.choices = _resident_choices(form.household.data or request.args.get("household", ""))
    if request.method == "GET":
        form.ensure_token()
        if not form.channel.data or form.channel.data == rules.STAFF_CHANNELS[0]:
            # The front desk mostly answers the phone; an assistant mostly sees it on the spot.
            form.channel.data = "电话" if current_user.role == "frontdesk" else "现场"
        if request.args.get("household"):
            form.household.data = request.args["household"][:30]
        kind, record = _origin()
        if record is not None:
            form.origin.data = f"{kind}-{record.id}"
            ORIGINS[kind].prefill(form, record)
            form.resident.choices = _resident_choices(form.household.data or "")
    return form


def _household_of(code):
    return find_household((code or "")[:30])


def room_miss(code):
    """For a 房号 typed in full that names no household: (what to say, [nearest codes]); else None."""
    code = (code or "").strip()[:30]
    if not code or _household_of(code) is not None:
        return None
    meant, nearest = nearest_households(code)
    if meant is not None:
        return f"没有房号 {code}，是不是 {meant.code}？", [meant.code]
    if not nearest:
        return (f"没有房号 {code}，请按 栋-单元-室 填写，如 3-2-1502", []) if len(normalize_code(code).split("-")) == 3 \
            else None
    return f"没有房号 {code}，最接近的：", [h.code for h in nearest]


def _resident_choices(code):
    household = _household_of(code)
    residents = list(Resident.of(household)) if household else []
    label = "不是登记住户 / 手动填写" if residents else ("该房号还没有登记住户" if household else
                                                   "房号不存在" if (code or "").strip() else "先填房号")
    full = not residents or access.may_see_phones(current_user, household)
    # data-name / data-phone let app.js fill the customer fields as soon as one is picked. A masked
    # number stays out of data-phone: saving fills it in from the resident.
    return [SelectChoice(0, label)] + [
        SelectChoice(r.id, f"{r.name}（{r.relation}）{r.phone if full else mask_phone(r.phone)}",
                     render_kw={"data-name": r.name, "data-phone": r.phone if full else ""})
        for r in residents]


@bp.route("/tickets/residents")
@roles(*READERS)
def residents():
    """The residents of the household being typed on the intake page, to pick the customer from."""
    form = IntakeForm(formdata=None)
    form.resident.choices = _resident_choices(request.args.get("household", ""))
    return render("tickets/_resident.html", form=form, miss=room_miss(request.args.get("household", "")))


@bp.route("/tickets/new", methods=["GET", "POST"])
@roles(*READERS)
def new():
    """受理: one page to take a customer's request."""
    form = _intake_form()
    photo_field = photo_views.PhotoField()
    if request.method == "POST":
        photo_field.collect()
        form.ensure_token()
    household = None
    if form.household.data:
        household = find_household(form.household.data)
    origin_kind, origin = _origin()
    if form.validate_on_submit() and not photo_field.errors:
        if form.household.data and household is None:
            miss = room_miss(form.household.data)
            nearest = f"，最接近的：{'、'.join(miss[1])}" if miss and miss[1] else ""
            form.household.errors.append(f"没有房号“{form.household.data}”{nearest}；请按 栋-单元-室 填写，如 3-2-1502")
        else:
            place = Place.live().where(Place.id == form.place.data).first() if form.place.data else None
            zone = Zone.live().where(Zone.id == form.zone.data).first() if form.zone.data else None
            if zone is None and current_user.role == "assistant":
                zone = Zone.of_assistant(current_user).first()
            resident = Resident.of(household).where(Resident.id == form.resident.data).first() \
                if household and record_ids([form.resident.data]) else None
            if resident is not None:
                form.customer_name.data = form.customer_name.data or resident.name
                form.customer_phone.data = form.customer_phone.data or resident.phone
            try:
                ticket, created = rules.create(
                    current_user, channel=form.channel.data, category=form.category.data,
                    tier=Tier.get_or_none(Tier.id == form.tier.data), description=form.description.data,
                    household=household, place=place, zone=zone, customer_name=form.customer_name.data or "",
                    customer_phone=form.customer_phone.data or "", photos=photo_field.photos, token=form.token.data,
                    then=(lambda ticket: ORIGINS[origin_kind].link(current_user, origin, ticket)) if origin else None)
                holder = f"，已转交 {ticket.assignee.display_name}" if ticket.assignee and \
                    ticket.assignee_id != current_user.id else ""
                message = f"已受理 {ticket.number}{holder}" if created else f"{ticket.number} 已受理过，未重复登记"
                return done(message, "tickets.show", ticket_id=ticket.id)
            except RuleError as error:
                show_error(form, error)
    if origin is None and request.method == "GET":
        origin_kind, origin = _origin()
    origin_back = ORIGINS[origin_kind].back(origin) if origin is not None and ORIGINS[origin_kind].back else None
    context = dict(form=form, photo_field=photo_field, title="受理诉求", back=origin_back or url_for("tickets.index"),
                   miss=room_miss(form.household.data) if form.household.data else None,
                   origin=ORIGINS[origin_kind].describe(origin) if origin else None,
                   similar=_similar_typed(household, form.place.data, form.category.data, form.description.data)
                   if request.method == "POST" else [])
    if request.method == "POST":
        return invalid("tickets/new.html", **context)
    return render("tickets/new.html", **context)


@bp.route("/tickets/similar")
@roles(*READERS)
def similar():
    """举一反三 while typing: earlier tickets like the one being taken."""
    household = find_household(request.args.get("household", "")[:30])
    category, description = request.args.get("category", "")[:10], request.args.get("description", "")[:300]
    return render("tickets/_similar.html", similar=_similar_typed(
        household, request.args.get("place", 0, type=record_id), category, description),
        suggest="" if category in rules.CATEGORIES else rules.suggest_category(description))


def _similar_typed(household, place_id, category, description):
    place = Place.live().where(Place.id == place_id).first() if place_id and record_ids([place_id]) else None
    building = household.building_id if household else (place.building_id if place else None)
    # Five on the intake page: the button stays a short scroll away.
    return search.similar(household=household, place=place, building=building, category=category or "",
                          text=description or "", viewer=current_user, limit=5)


# The ticket

def _steps(ticket):
    """The steps the user may take on the ticket now (tickets.MACHINE): the page offers only these."""
    if not access.may_change(current_user, ticket):
        return set()
    return {step.action for step in rules.MACHINE.allowed(ticket, current_user)}


@bp.route("/tickets/<int:ticket_id>")
@roles(*READERS)
def show(ticket_id):
    """A ticket at a glance: state, holder, what's due next, the actions, the whole timeline."""
    ticket = _ticket(ticket_id)
    notices.mark_read(current_user, ticket)
    orders = list(workorders.WorkOrder.cards_of_source("ticket", ticket.id))
    sources = [link for link in (source(ticket) for source in SOURCE_LINKS) if link]
    return render("tickets/show.html", ticket=ticket, title=ticket.number, back=url_for("tickets.index"),
                  sources=sources,
                  orders=orders, followups=list(rules.followups_of(ticket)),
                  photos=list(uploads.Photo.of(ticket)), timeline=events.timeline(ticket, limit=500),
                  can_act=access.may_change(current_user, ticket), steps=_steps(ticket),
                  full_phone=access.may_see_phones(current_user, ticket),
                  open_orders=[o for o in orders if o.is_open], void_form=VoidForm(version=ticket.version))


@bp.route("/tickets/<int:ticket_id>/similar")
@roles(*READERS)
def similar_to(ticket_id):
    """举一反三 for one ticket; the ticket page loads it after the page itself."""
    ticket = _ticket(ticket_id)
    return render("tickets/_similar.html", similar=search.similar(ticket, viewer=current_user), folded=True)


@bp.route("/tickets/<int:ticket_id>/respond", methods=["GET", "POST"])
@roles(*HANDLERS)
def respond(ticket_id):
    """响应: record the contact with the customer (phone, visit, on site)."""
    ticket = _ticket(ticket_id, act=True)
    form = _version(RespondForm(), ticket)
    return _action(ticket, form, "tickets/respond.html", "响应客户",
                   lambda: rules.respond(current_user, ticket, form.expected_version(), form.method.data,
                                         form.note.data or ""), "已记录响应")


@bp.route("/tickets/<int:ticket_id>/resolve", methods=["GET", "POST"])
@roles(*HANDLERS)
def resolve(ticket_id):
    """现场处理: resolve directly with a note and photos."""
    ticket = _ticket(ticket_id, act=True)
    form = _version(ResolveForm(), ticket)
    photo_field = photo_views.PhotoField()
    if request.method == "POST":
        photo_field.collect()
    return _action(ticket, form, "tickets/resolve.html", "现场处理完成",
                   lambda: rules.resolve_on_the_spot(current_user, ticket, form.expected_version(), form.note.data,
                                                     photo_field.photos),
                   "已处理完成，请按时回访", ready=not photo_field.errors, photo_field=photo_field)


def _default_unit(ticket):
    kind = rules.CATEGORY_UNIT.get(ticket.category)
    unit = Unit.live().where(Unit.kind == kind).first() if kind else None
    return unit.id if unit else 0


@bp.route("/tickets/<int:ticket_id>/dispatch", methods=["GET", "POST"])
@roles(*HANDLERS)
def dispatch(ticket_id):
    """派工: an order to a business unit with instructions and a deadline."""
    ticket = _ticket(ticket_id, act=True)
    form = _version(DispatchForm(), ticket)
    form.unit.choices = choices([(0, "请选择")] + [(u.id, f"{u.name}（{u.kind_label}）")
                                                 for u in Unit.live().order_by(Unit.kind, Unit.name)])
    tz = estate().tz
    if request.method == "GET":
        form.unit.data = _default_unit(ticket)
        default_due = min(clock.to_local(ticket.resolution_due, tz), workorders.default_deadline())
        form.deadline.data = default_due.replace(tzinfo=None, second=0, microsecond=0)
        form.instructions.data = rules.dispatch_text(ticket)
    deadline = form.deadline.data.replace(tzinfo=tz) if form.deadline.data else None
    owed = ticket.responded_at is None

    def apply():
        if owed and form.contacted.data not in (*rules.RESPONSE_METHODS, NOT_CONTACTED):
            raise RuleError("请选择是否已联系客户", "contacted")
        rules.dispatch(current_user, ticket, form.expected_version(),
                       Unit.live().where(Unit.id == form.unit.data).first(), form.instructions.data, deadline,
                       contacted=form.contacted.data if owed and form.contacted.data != NOT_CONTACTED else None)

    return _action(ticket, form, "tickets/dispatch.html", "派工", apply,
                   "已派工，业务块会在手机上看到" + ("，请记得响应客户" if owed and form.contacted.data == NOT_CONTACTED
                                                   else ""), owed=owed)


@bp.route("/tickets/<int:ticket_id>/pause", methods=["GET", "POST"])
@roles(*HANDLERS)
def pause(ticket_id):
    """暂停: stop the resolution clock while waiting."""
    ticket = _ticket(ticket_id, act=True)
    form = _version(PauseForm(), ticket)
    return _action(ticket, form, "tickets/pause.html", "暂停处理",
                   lambda: rules.pause(current_user, ticket, form.expected_version(), form.reason.data,
                                       form.note.data or ""), "已暂停，处理时限暂停计时")


@bp.route("/tickets/<int:ticket_id>/resume", methods=["POST"])
@roles(*HANDLERS)
def resume(ticket_id):
    """恢复处理."""
    ticket = _ticket(ticket_id, act=True)
    form = VersionForm()
    try:
        form.validate_on_submit()
        rules.resume(current_user, ticket, form.expected_version())
        flash("已恢复处理，处理时限已顺延", "success")
    except (rules.TicketError, StaleRecord) as error:
        flash(error.message, "error")
    return redirect(url_for("tickets.show", ticket_id=ticket.id), code=303)


@bp.route("/tickets/<int:ticket_id>/escalate", methods=["GET", "POST"])
@roles(*HANDLERS)
def escalate(ticket_id):
    """上报主管."""
    ticket = _ticket(ticket_id, act=True)
    form = _version(EscalateForm(), ticket)
    return _action(ticket, form, "tickets/escalate.html", "上报主管",
                   lambda: rules.escalate(current_user, ticket, form.expected_version(), form.reason.data),
                   "已上报客服主管")


@bp.route("/tickets/<int:ticket_id>/followup", methods=["GET", "POST"])
@roles(*HANDLERS)
def followup(ticket_id):
    """回访: the customer's verdict closes or reopens the ticket."""
    ticket = _ticket(ticket_id, act=True)
    form = _version(FollowUpForm(), ticket)
    if request.method == "GET":
        form.method.data = "电话"
    messages = {"满意": "回访满意，诉求已关闭", "基本满意": "回访基本满意，诉求已关闭",
                "不满意": "客户不满意，诉求已重新打开，请安排整改", rules.UNREACHABLE: "已记录未接通，请稍后再回访"}
    return _action(ticket, form, "tickets/followup.html", "回访",
                   lambda: rules.record_followup(current_user, ticket, form.expected_version(), form.method.data,
                                                 form.result.data, form.words.data or ""),
                   messages.get(form.result.data, "已记录回访"))


@bp.route("/tickets/<int:ticket_id>/close", methods=["GET", "POST"])
@roles("supervisor")
def close(ticket_id):
    """The supervisor closes a resolved ticket with a reason."""
    ticket = _ticket(ticket_id, act=True)
    form = _version(CloseForm(), ticket)
    if request.method == "GET" and ticket.followup_attempts >= rules.UNREACHABLE_TRIES:
        form.reason.data = f"{ticket.followup_attempts} 次回访未接通"
    return _action(ticket, form, "tickets/close.html", "主管关闭",
                   lambda: rules.close_by_supervisor(current_user, ticket, form.expected_version(), form.reason.data),
                   "诉求已关闭")


@bp.route("/tickets/<int:ticket_id>/case", methods=["GET", "POST"])
@roles(*HANDLERS)
def case(ticket_id):
    """案例: mark a ticket as a case with its analysis."""
    ticket = _ticket(ticket_id, act=True)
    form = _version(CaseForm(), ticket)
    if request.method == "GET" and ticket.is_case:
        form.cause.data, form.handling.data, form.prevention.data = \
            ticket.case_cause, ticket.case_handling, ticket.case_prevention
    return _action(ticket, form, "tickets/case.html", "案例分析",
                   lambda: rules.mark_case(current_user, ticket, form.expected_version(), form.cause.data,
                                           form.handling.data, form.prevention.data), "已保存为案例")


@bp.route("/tickets/<int:ticket_id>/supervise", methods=["GET", "POST"])
@roles("supervisor")
def supervise(ticket_id):
    """The supervisor on an escalated ticket: instructions, reassign, take over, or up to the manager."""
    ticket = _ticket(ticket_id, act=True)
    form = _version(SuperviseForm(), ticket)
    form.assignee.choices = choices([(0, "请选择")] + [(u.id, u.display_name)
                                                      for u in User.active_with_role("assistant")])

    def apply():
        note = form.note.data or ""
        if form.action.data == "instruct":
            rules.instruct(current_user, ticket, form.expected_version(), note)
        elif form.action.data == "reassign":
            assignee = User.get_or_none(User.id == form.assignee.data) if form.assignee.data else None
            rules.reassign(current_user, ticket, form.expected_version(), assignee, note)
        elif form.action.data == "takeover":
            rules.reassign(current_user, ticket, form.expected_version(), current_user, note)
        else:
            rules.escalate(current_user, ticket, form.expected_version(), note, level=2)

    labels = {"instruct": "已批示", "reassign": "已转派", "takeover": "已由您接手", "manager": "已上报经理"}
    return _action(ticket, form, "tickets/supervise.html", "主管处理", apply, labels.get(form.action.data, "已保存"))


@bp.route("/tickets/<int:ticket_id>/void", methods=["POST"])
@roles("supervisor")
def void(ticket_id):
    """Void a ticket logged by mistake (e.g. a duplicate)."""
    ticket = _ticket(ticket_id, act=True)
    form = VoidForm()
    if not form.validate_on_submit():
        flash(VOID_REASON_MISSING, "error")
        return redirect(url_for("tickets.show", ticket_id=ticket.id), code=303)
    try:
        rules.void(current_user, ticket, form.expected_version(), form.reason.data)
        flash(f"{ticket.number} 已作废", "success")
    except (rules.TicketError, StaleRecord) as error:
        flash(error.message, "error")
    return redirect(url_for("tickets.show", ticket_id=ticket.id), code=303)


@bp.route("/tickets/<int:ticket_id>.pdf")
@roles(*READERS)
def print_ticket(ticket_id):
    """The ticket's full record with its timeline, on A4."""
    ticket = _ticket(ticket_id)
    orders = list(workorders.WorkOrder.cards_of_source("ticket", ticket.id))
    return pdf.response("tickets/show_print.html", f"{ticket.number}.pdf", ticket=ticket, orders=orders,
                        followups=list(rules.followups_of(ticket)),
                        photos=list(uploads.Photo.of(ticket)), timeline=events.timeline(ticket, limit=1000),
                        photo_path=photo_views.file_url, full_phone=access.may_see_phones(current_user, ticket))


# Lists

FILTER_KEYS = ("category", "tier", "zone", "assignee", "unit", "start", "end", "overdue", "escalated", "location",
               "reopened", "resolved", "late_response")


def _filter_form(with_choices=True):
    """The list's filters from the URL; the options of its selects only when they will be shown."""
    form = FilterForm(request.args, meta={"csrf": False})
    if "state" not in request.args:
        form.state.data = "open"
    for field in (form.tier, form.zone, form.assignee, form.unit):
        if field.data and not record_ids([field.data]):
            field.data = 0  # no record has that id (too large for SQLite to look up)
    if not with_choices:
        return form
    # Only the columns an option needs: these four run on every filtered list.
    _int_choice(form.tier, Tier.select(Tier.id, Tier.name).where(Tier.voided_at.is_null())
                .order_by(Tier.sort, Tier.id).tuples(), "全部等级")
    _int_choice(form.zone, Zone.select(Zone.id, Zone.name).where(Zone.voided_at.is_null())
                .order_by(Zone.name).tuples(), "全部区域")
    _int_choice(form.assignee, User.select(User.id, User.display_name)
                .where(User.voided_at.is_null() & User.active & User.role.in_(("assistant", "supervisor")))
                .order_by(User.display_name).tuples(), "全部人员")
    _int_choice(form.unit, Unit.select(Unit.id, Unit.name).where(Unit.voided_at.is_null())
                .order_by(Unit.kind).tuples(), "全部业务块")
    return form


def filtered(form, user, text=None):
    """The ticket query for a filter form, narrowed to what the user may see, newest first
    (`text`: the form's words already parsed, if they were)."""
    query = narrowed(form, user)
    state = form.state.data
    if state == "open":
        query = query.where(Ticket.state.in_(rules.OPEN))
    elif state == "received":
        query = query.where(rules.awaiting_response())  # 待响应 until the customer is contacted
    elif state in rules.STATES:
        query = query.where(Ticket.state == state)
    text = text if text is not None else (form.q.data or "").strip()
    if text and (state == "open" or state in rules.OPEN):
        # Open tickets are few: test each against the word index rather than walk its matches.
        return search.only_among(query, text)
    return search.newest_matching(query, text)


def narrowed(form, user, query=None):
    """Every filter of the form but the state and the words, on what the user may see."""
    query = rules.visible_to(user) if query is None else query
    if form.category.data in rules.CATEGORIES:
        query = query.where(Ticket.category == form.category.data)
    for field, column in ((form.tier, Ticket.tier), (form.zone, Ticket.zone), (form.assignee, Ticket.assignee)):
        if field.data:
            query = query.where(column == field.data)
    if form.unit.data:
        query = query.where(Ticket.id.in_(
            workorders.WorkOrder.select(workorders.WorkOrder.source_id).where(
                (workorders.WorkOrder.source_type == "ticket") & (workorders.WorkOrder.unit == form.unit.data))))
    tz = estate().tz
    if form.start.data:
        query = query.where(Ticket.created_at >= clock.day_bounds(form.start.data, tz)[0])
    if form.end.data:
        query = query.where(Ticket.created_at < clock.day_bounds(form.end.data, tz)[1])
    now = clock.utcnow()
    if form.overdue.data:
        query = query.where(rules.late_where(now))
    if form.escalated.data:
        query = query.where(Ticket.escalation_level > 0)
    if form.location.data:
        query = query.where(Ticket.location == form.location.data)
    if form.reopened.data:
        query = query.where(Ticket.reopen_count > 0)
    if form.resolved.data:
        query = query.where(Ticket.resolved_at.is_null(False))
    if form.late_response.data:
        query = query.where(rules.not_answered_in_time_where())
    return query


_SHAPES = Shapes()
_ZONE_NAMES = Kept()  # an assistant's zones' names, per set of zone ids


def _runner(form, user, filtering):
    """How the list's statements run, as `run(name, build, words)`: `build(words)` gives the query.

    A plain list or search (no filter but the state) keeps each statement per shape: its SQL follows
    from the role, the user and their zones, the state, the page and the shape of the words, and on
    SQLite the words go in as parameters (search.Query.values), so the next search of the same shape
    runs without peewee writing its SQL again (about a fifth of a search page's time at ten years).
    A list with other filters (dates, the clock for 超时), or a search on PostgreSQL (a word's
    synonyms change the number of its parameters there), is built each time."""
    if filtering or not is_sqlite():
        return search.run_now
    base = (user.role, user.id, tuple(access.zone_ids(user)), form.state.data)

    def run(name, build, words):
        words = search.parse(words)
        return _SHAPES.cursor(base + (name, words.shape), lambda *values: build(words.with_values(values)),
                              words.values())
    return run


def _counts(form, text, run=None):
    """未关闭 N · 已关闭 M for a search: [(state filter, label, count, capped)]."""
    counts = search.state_counts(narrowed(form, current_user), text, run)
    open_count = sum(count for state, _label, count, _capped in counts if state in rules.OPEN)
    closed = [(state, label, count, capped) for state, label, count, capped in counts if state == "closed"]
    return ([("open", "未关闭", open_count, False)] if open_count else []) + closed


def _beyond_my_zones(form, text):
    """For an assistant's search: (their zones' names, a function of the words giving the matching
    tickets of other zones, read-only) — their list is limited to their zones, and the page says so."""
    if current_user.role != "assistant" or not text:
        return None
    zone_ids = tuple(access.zone_ids(current_user))
    names = [zone.name for zone in _ZONE_NAMES.rows(zone_ids, Zone, lambda: Zone.select(Zone.name).where(
        Zone.id.in_(zone_ids)).order_by(Zone.name))] if zone_ids else []
    others = Ticket.live().where(Ticket.assignee.is_null() | (Ticket.assignee != current_user.id))
    if zone_ids:
        others = others.where(Ticket.zone.not_in(zone_ids))
    others = narrowed(form, current_user, others)
    return names, lambda words: search.newest_matching(others, words)


# The name behind each filter that holds an id: one scalar sub-select per filter in use.
_FILTER_NAMES = {
    "tier": (Tier, Tier.name), "zone": (Zone, Zone.name), "assignee": (User, User.display_name),
    "unit": (Unit, Unit.name),
}


def _active_filters(form, args):
    """(label, URL without that filter) for each filter in use, shown as chips above the list."""
    ids = {key: getattr(form, key).data for key in _FILTER_NAMES if getattr(form, key).data}
    names = {}
    if ids:
        param = rules.Ticket._meta.database.param
        sql = ", ".join(f'(SELECT "{column.column_name}" FROM "{model._meta.table_name}" WHERE "id" = {param})'
                        for model, column in (_FILTER_NAMES[key] for key in ids))
        names = dict(zip(ids, rules.Ticket._meta.database.execute_sql(f"SELECT {sql}", list(ids.values())).fetchone()))
    labels = {
        "category": form.category.data if form.category.data in rules.CATEGORIES else None,
        **{key: names.get(key) or "（无此项）" for key in ids},
        "start": form.start.data and f"{form.start.data:%Y-%m-%d} 起",
        "end": form.end.data and f"至 {form.end.data:%Y-%m-%d}",
        "overdue": form.overdue.data and form.overdue.label.text,
        "escalated": form.escalated.data and form.escalated.label.text,
        "location": form.location.data and f"地点：{form.location.data}",
        "reopened": form.reopened.data and form.reopened.label.text,
        "resolved": form.resolved.data and form.resolved.label.text,
        "late_response": form.late_response.data and form.late_response.label.text,
    }
    return [(label, url_for("tickets.index", **{k: v for k, v in args.items() if k != key}))
            for key, label in labels.items() if label]


@bp.route("/tickets")
@roles(*READERS)
def index():
    """诉求: every request I may see, filtered by state, category, tier, zone, people, dates, words.

    Filters in use show as chips above the list; the full panel (with the options of its selects)
    comes only when 更多筛选 is opened, so a filtered list costs no more than a plain one.
    """
    filtering = any(key in request.args for key in FILTER_KEYS)
    show_filters = "more" in request.args
    form = _filter_form(with_choices=show_filters)
    form.validate()
    text = (form.q.data or "").strip()
    if text:
        text = search.parse(text)  # once, with the estate's synonyms, for the list, its counts and the note
    if text and "state" not in request.args:
        form.state.data = ""  # a search looks through every state unless one is chosen
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 10000))
    args = {k: v for k, v in request.args.items() if k not in ("page", "more")}
    user = current_user._get_current_object()
    run = _runner(form, user, filtering)
    beyond = _beyond_my_zones(form, text)
    if beyond is not None and request.args.get("others"):
        # Other zones' matches, read-only: what the similar panel would show of them.
        found = list(beyond[1](text).limit(PAGE_SIZE))
        return render("tickets/index.html", block="results", title="客户诉求", form=form, items=[], others=found,
                      page=1, more=False, args=args, now=clock.utcnow(), filtering=filtering, counts=[],
                      beyond=None, show_filters=show_filters, active=_active_filters(form, args) if filtering else [])
    offset = (page - 1) * PAGE_SIZE
    items = rows(Ticket, run(("list", offset), lambda words: rules.with_card(filtered(form, user, words))
                             .limit(PAGE_SIZE + 1).offset(offset), text))
    more = len(items) > PAGE_SIZE
    counts = _counts(form, text, run) if text else []
    # A person's requests over some days (what an evaluation's or a summary's figure opens): the number
    # the figure said, as the list counts it, above pages of twenty.
    total = filtered(form, user, text).count() if form.assignee.data and (form.start.data or form.end.data) else None
    elsewhere = None
    if beyond is not None:
        # Counted up to OTHERS_CAP ("20+"): the note is a pointer, not a figure worth reading history for.
        elsewhere = (beyond[0], len(list(run("others", lambda words: beyond[1](words).select(Ticket.id)
                                                 .limit(OTHERS_CAP + 1), text))))
    return render("tickets/index.html", block="results", title="客户诉求", form=form, items=items[:PAGE_SIZE],
                  page=page, more=more, args=args, now=clock.utcnow(), filtering=filtering, counts=counts,
                  beyond=elsewhere, others=None, show_filters=show_filters, total=total,
                  active=_active_filters(form, args) if filtering else [])


@bp.route("/tickets/filters")
@roles(*READERS)
def filters():
    """The full filter panel, fetched when 更多筛选 is opened (the list itself doesn't pay for it)."""
    form = _filter_form()
    form.validate()
    return render("tickets/_filters.html", form=form)


@bp.route("/tickets/followups")
@roles(*READERS)
def followups():
    """回访记录 as an evaluation counts them: the answered return visits (not 未接通) made in the days
    (?start=&end=) on the requests an assistant holds (?assignee=), only the 不满意 ones with
    ?result=不满意; each card opens its request."""
    narrowed = Filter({"by": request.args.get("assignee"), "start": request.args.get("start"),
                       "end": request.args.get("end")}, whose="{}的诉求")
    unhappy = request.args.get("result") == callbacks.UNHAPPY
    query = (CallBack.select(CallBack, Ticket.id.alias("ticket_id"), Ticket.number.alias("ticket_number"),
                             Ticket.location.alias("ticket_location"), Ticket.description.alias("ticket_description"))
             .join(Ticket, on=CallBack.of(Ticket))
             .where(Ticket.voided_at.is_null()
                    & (CallBack.result == callbacks.UNHAPPY if unhappy else CallBack.result.in_(callbacks.ANSWERS))))
    query = rules.visible_to(current_user, query)
    if narrowed.person is not None:
        query = query.where(Ticket.assignee == narrowed.person.id)
    tz = estate().tz
    if narrowed.start is not None:
        query = query.where(CallBack.at >= clock.day_bounds(narrowed.start, tz)[0])
    if narrowed.end is not None:
        query = query.where(CallBack.at < clock.day_bounds(narrowed.end, tz)[1])
    found = list(query.order_by(CallBack.at.desc(), CallBack.id.desc()).limit(MOST_ROWS).objects())
    return render("tickets/followups.html", title="回访记录", items=found, narrowed=narrowed, unhappy=unhappy,
                  back=url_for("tickets.index"))


@bp.route("/tickets/cases")
@roles(*READERS)
def cases():
    """案例: tickets marked as cases, with their analysis; searchable."""
    q = request.args.get("q", "")[:40]
    return render("tickets/cases.html", block="results", title="案例", q=q, items=list(search.cases(q)),
                  back=url_for("tickets.index"))


@bp.route("/tickets/cases.pdf")
@roles(*READERS)
def cases_pdf():
    """案例汇编: every case with its analysis as a booklet for training; customers are not named."""
    items = list(search.cases(limit=500))
    return pdf.response("tickets/cases_print.html", "案例汇编.pdf", items=items, today=clock.today(estate().tz))


# Tiers (administrator)

@bp.route("/admin/tiers")
@roles("admin")
def tiers():
    """诉求等级 and their limits."""
    return render("tickets/tiers.html", title="诉求等级", items=list(Tier.live()), back=url_for("estate.index"))


@bp.route("/admin/tiers/new", methods=["GET", "POST"], endpoint="tier_new")
@bp.route("/admin/tiers/<int:tier_id>", methods=["GET", "POST"])
@roles("admin")
def tier(tier_id=None):
    """Create or edit a tier: response and resolution limits, who is told at intake."""
    tier = get_or_404(Tier.live(), tier_id) if tier_id else None
    form = TierForm(obj=tier)
    if request.method == "GET" and tier is not None:
        form.version.data = tier.version
        form.resolution_hours.data = tier.resolution_minutes // 60

    def apply():
        rules.save_tier(current_user, tier, form.expected_version() if tier else 0, name=form.name.data,
                        response_minutes=form.response_minutes.data,
                        resolution_minutes=form.resolution_hours.data * 60,
                        notify_supervisor=form.notify_supervisor.data, sort=form.sort.data or 0)

    return form_page(form, apply, "诉求等级已保存", url_for("tickets.tiers"), "tickets/tier.html", tier=tier,
                     title=tier.name if tier else "新建诉求等级", back=url_for("tickets.tiers"),
                     timeline=events.timeline(tier) if tier else [])


@bp.app_context_processor
def ticket_helpers():
    return {"outcome": rules.outcome}
