"""客户 on the phone: a household's whole story (residents, what we know, requests, needs, visits,
renovation), the visit page for the morning and evening rounds, needs and the answers given, and
the planner of who to visit next."""
import datetime

from flask import Blueprint
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
from wtforms import TimeField
from wtforms.validators import InputRequired
from wtforms.validators import Optional

from .. import access
from .. import clock
from .. import customers as rules
from .. import estate as estate_rules
from .. import events
from .. import services as service_rules
from .. import tickets as ticket_rules
from ..customers import Need
from ..customers import Opinion
from ..customers import Visit
from ..customers import VisitHousehold
from ..db import PreparedIn
from ..estate import Household
from ..estate import Place
from ..estate import Resident
from ..estate import Zone
from ..estate import find_household
from ..estate import zone_of_building
from ..renovations import Renovation
from ..services import ServiceOrder
from ..tickets import Ticket
from ..users import User
from ..auth import roles
from ..web import estate
from ..web import render
from . import choices
from . import record_or_404
from . import tickets as ticket_views
from .estate import ResidentForm
from .figures import Filter
from .forms import ROOMS_HINT
from .forms import ROOM_HINT
from .forms import ROOM_INPUT
from .forms import TokenForm
from .forms import VersionForm
from .forms import form_page
from .forms import long_text
from .forms import making_page
from .forms import record_id
from .forms import text

bp = Blueprint("customers", __name__)

STAFF = ("supervisor", "assistant", "frontdesk")
VISITORS = ("supervisor", "assistant")
OPINION_ROWS = 3


def _household(household_id, change=False):
    return record_or_404(Household.live(), household_id, change=change)


def _households_typed(codes):
    """Households from what was typed ("1-1-101 1-1-102"), and the codes that match none."""
    found, missing = [], []
    for code in (codes or "").replace("，", " ").replace(",", " ").replace("、", " ").split():
        household = find_household(code[:30])
        (found.append(household) if household else missing.append(code[:30]))
    return found, missing


# The household

@bp.route("/customers/households/<int:household_id>")
@roles(*STAFF)
def household(household_id):
    """A household's whole story: residents, what we know, requests, needs, visits, renovation."""
    household = _household(household_id)
    visits = list(Visit.live().join(VisitHousehold).where(VisitHousehold.household == household)
                  .order_by(Visit.at.desc(), Visit.id.desc()).limit(20))
    opinions = {}
    for opinion in Opinion.select().where(Opinion.visit.in_([v.id for v in visits]) & (
            Opinion.household.is_null() | (Opinion.household == household))).order_by(Opinion.position):
        opinions.setdefault(opinion.visit_id, []).append(opinion)
    tickets = ticket_rules.cards(ticket_rules.with_card(Ticket.select()).where(
        (Ticket.household == household) & Ticket.voided_at.is_null()).order_by(Ticket.created_at.desc()).limit(30))
    return render("customers/household.html", household=household, title=household.code,
                  back=url_for("home.customers"), profile=rules.profile_of(household),
                  residents=list(Resident.of(household)), full_phones=access.may_see_phones(current_user, household),
                  zone=zone_of_building(household.building),
                  open_tickets=[t for t in tickets if t.state != "closed"],
                  past_tickets=[t for t in tickets if t.state == "closed"],
                  needs=list(Need.live().where(Need.household == household).order_by(Need.created_at.desc())),
                  visits=visits, opinions=opinions,
                  renovations=list(Renovation.live().where(Renovation.household == household)
                                   .order_by(Renovation.id.desc())),
                  orders=list(service_rules.cards().where(ServiceOrder.household == household)
                              .order_by(ServiceOrder.created_at.desc()).limit(20)),
                  timeline=events.timeline(household, limit=50))


@bp.route("/customers/households/<int:household_id>/residents", methods=["GET", "POST"])
@roles(*STAFF)
def resident_new(household_id):
    """登记住户 met on a visit or a call: name, phone (mobile or landline, checked), relation, notes."""
    household = _household(household_id, change=True)
    form = ResidentForm()
    here = url_for("customers.household", household_id=household.id)
    return form_page(form, lambda: estate_rules.add_resident(current_user, household, form.name.data,
                                                             form.phone.data or "", form.relation.data,
                                                             form.note.data or ""),
                     f"已登记住户 {form.name.data}", here, "customers/resident_new.html", household=household,
                     title="登记住户", back=here)


class ProfileForm(VersionForm):
    moved_in_on = DateField("入住日期", validators=[Optional()])
    contact_time = text("方便联系的时间", 40, required=False)
    tags = text("标签", 120, required=False, description="用空格或顿号隔开，如 独居老人 行动不便")
    note = long_text("备注", 1000, render_kw={"rows": 2})


@bp.route("/customers/households/<int:household_id>/profile", methods=["GET", "POST"])
@roles(*STAFF)
def profile(household_id):
    """入住日期, 方便联系的时间, tags and notes."""
    household = _household(household_id, change=True)
    current = rules.profile_of(household)
    form = ProfileForm()
    form.contact_time.render_kw = {"placeholder": "如 工作日晚上 7 点后"}
    if request.method == "GET":
        form.moved_in_on.data, form.contact_time.data = current.moved_in_on, current.contact_time
        form.tags.data, form.note.data, form.version.data = " ".join(current.tag_list), household.note, current.version
    here = url_for("customers.household", household_id=household.id)
    tags = (form.tags.data or "").replace("、", " ").replace("，", " ").replace(",", " ").split()
    return form_page(form, lambda: rules.update_profile(current_user, household, form.expected_version(),
                                                        form.moved_in_on.data, form.contact_time.data or "", tags,
                                                        form.note.data or ""),
                     "已更新客户资料", here, "customers/profile.html", household=household, title="客户资料",
                     back=here)


# Visits

_RECENT_VISITS = PreparedIn(Visit, lambda zone_ids: Visit.live().where(Visit.zone.in_(zone_ids))
                            .order_by(Visit.at.desc(), Visit.id.desc()).limit(20))


@bp.route("/visits")
@roles(*VISITORS)
def visits():
    """拜访: who to visit now (open needs, recent 不满意, not visited for weeks) and my recent visits."""
    zone_ids = access.work_zone_ids(current_user)
    recent = rules.with_codes(_RECENT_VISITS(zone_ids))
    return render("customers/visits.html", title="拜访", plan=rules.planner(zone_ids, tz=estate().tz), recent=recent,
                  back=url_for("home.customers"))


@bp.route("/visits/list")
@roles(*VISITORS)
def visit_list():
    """拜访记录: the visits of my zones, by assistant (?by=), period (?start=&end=), in or out of the
    recommended windows (?window=in|out) and with an opinion of a kind (?kind=表扬) — the list an
    evaluation's or a summary's figure counts."""
    zone_ids = access.work_zone_ids(current_user)
    tz = estate().tz
    args = {key: request.args.get(key, "")[:20] for key in ("by", "start", "end", "window", "kind")}
    query = Visit.live().where(Visit.zone.in_(zone_ids))
    people = list(User.select().where(User.id.in_(Visit.select(Visit.created_by).where(Visit.zone.in_(zone_ids))))
                  .order_by(User.display_name))
    by = next((p for p in people if str(p.id) == args["by"]), None)
    if by is not None:
        query = query.where(Visit.created_by == by.id)
    for key, bound in (("start", 0), ("end", 1)):
        try:
            day = datetime.date.fromisoformat(args[key]) if args[key] else None
        except ValueError:
            day, args[key] = None, ""
        if day is not None:
            moment = clock.day_bounds(day, tz)[bound]
            query = query.where(Visit.at >= moment if key == "start" else Visit.at < moment)
    if args["window"] == "in":
        query = query.where(Visit.windows != "")
    elif args["window"] == "out":
        query = query.where(Visit.windows == "")
    if args["kind"] in rules.OPINION_KINDS:
        query = query.where(Visit.id.in_(Opinion.select(Opinion.visit).where(Opinion.kind == args["kind"])))
    found = rules.with_codes(query.order_by(Visit.at.desc(), Visit.id.desc()).limit(500))
    said = {}
    for opinion in Opinion.select().where(Opinion.visit.in_([v.id for v in found])).order_by(Opinion.position):
        said.setdefault(opinion.visit_id, []).append(opinion)
    # With ?kind=, the opinions of that kind as well as the visits: what an evaluation's 表扬 counts.
    of_kind = sum(1 for opinions in said.values() for o in opinions if o.kind == args["kind"]) \
        if args["kind"] in rules.OPINION_KINDS else None
    return render("customers/visit_list.html", title="拜访记录", visits=found, said=said, people=people, by=by,
                  names={p.id: p.display_name for p in people},
                  args=args, kinds=rules.OPINION_KINDS, of_kind=of_kind, back=url_for("customers.visits"))


class VisitForm(TokenForm):
    households = text("房号", 120, required=False, render_kw=ROOM_INPUT, description=ROOMS_HINT)
    place = text("或地点", 60, required=False, render_kw={"list": "visit-places"})
    at = DateTimeLocalField("时间", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                            validators=[InputRequired(rules.VISIT_TIME_MISSING)])
    # Not named "form" in the HTML: inputs named "form" hide the form element's own .form from htmx.
    form = RadioField("形式", choices=choices((f, f) for f in rules.FORMS), default="上门",
                      validators=[InputRequired(rules.VISIT_FORM_MISSING)], name="visit_form")
    zone = SelectField("管辖区域", coerce=int, default=0, validate_choice=False)
    note = long_text("其他情况", 1000, render_kw={"rows": 2})
    opinions = HiddenField()  # where the rules' messages about the opinion rows go


def _opinion_rows():
    """The opinion rows as typed: [(kind, text)], at least OPINION_ROWS of them."""
    count = max(OPINION_ROWS, min(rules.MAX_OPINIONS, request.values.get("rows", 0, type=int)))
    rows = [(request.form.get(f"kind-{n}", "意见"), request.form.get(f"text-{n}", "")) for n in range(1, count + 1)]
    return rows


@bp.route("/visits/new", methods=["GET", "POST"])
@roles(*VISITORS)
def visit_new():
    """记拜访: who or where, when (tagged with the visit windows), how, and what was said."""
    form = VisitForm()
    zones = list(Zone.live().where(Zone.id.in_(access.work_zone_ids(current_user))).order_by(Zone.name))
    form.zone.choices = choices([(0, "按房号自动确定")] + [(z.id, z.name) for z in zones])
    if len(zones) == 1:  # the page doesn't ask (see the template): the one zone, whatever comes back
        form.zone.process(None, zones[0].id)
    tz = estate().tz
    if request.method == "GET":
        form.at.data = clock.now().astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        if request.args.get("household"):
            form.households.data = request.args["household"][:30]
    form.ensure_token()
    rows = _opinion_rows()
    at = form.at.data.replace(tzinfo=tz) if form.at.data else None
    windows = rules.VisitRules.current().windows(at) if at else []

    def make():
        households, missing = _households_typed(form.households.data)
        if missing:
            raise rules.CustomerError(f"没有房号“{'、'.join(missing)}”，请按 栋-单元-室 填写", "households")
        zone = next((z for z in zones if z.id == form.zone.data), None)
        return rules.record_visit(current_user, at=at, form=form.form.data, households=households,
                                  place=form.place.data or "", zone=None if households else zone,
                                  opinions=[(kind, words, None) for kind, words in rows], note=form.note.data or "",
                                  token=form.token.data)[0]

    return making_page(form, make, lambda visit: ("已记录拜访", "customers.visit", {"visit_id": visit.id}),
                       "customers/visit_new.html", rows=rows, kinds=rules.OPINION_KINDS, windows=windows,
                       rules=rules.VisitRules.current(),
                       places=[p.name for p in Place.live().order_by(Place.name)], title="记录拜访",
                       back=url_for("customers.visits"))


@bp.route("/visits/window")
@roles(*VISITORS)
def visit_window():
    """The window badge of the time being typed on the visit page."""
    try:
        at = datetime.datetime.fromisoformat(request.args.get("at", "")[:19]).replace(tzinfo=estate().tz)
    except ValueError:
        at = None
    return render("customers/_window.html", windows=rules.VisitRules.current().windows(at) if at else [],
                  rules=rules.VisitRules.current())


def _visit(visit_id):
    return record_or_404(Visit.live(), visit_id)


@bp.route("/visits/<int:visit_id>")
@roles(*VISITORS)
def visit(visit_id):
    """A visit and what was said, each opinion a tap away from a request or a need."""
    visit = _visit(visit_id)
    opinions = list(visit.opinions.order_by(Opinion.position))
    tickets = {t.id: t for t in Ticket.select().where(Ticket.id.in_([o.ticket_id for o in opinions if o.ticket_id]))}
    needs = {n.id: n for n in Need.select().where(Need.id.in_([o.need_id for o in opinions if o.need_id]))}
    return render("customers/visit.html", visit=visit, opinions=opinions, tickets=tickets, needs=needs,
                  households=list(visit.households()), title="拜访记录", back=url_for("customers.visits"),
                  timeline=events.timeline(visit))


def _opinion(opinion_id):
    opinion = Opinion.get_or_none(Opinion.id == opinion_id)
    if opinion is None or opinion.visit.voided_at is not None:
        return None
    if not access.may_change(current_user, opinion):
        return None
    return opinion


def _prefill_ticket(form, opinion):
    form.channel.data = "拜访"
    form.category.data = {"建议": "建议", "意见": "投诉"}.get(opinion.kind, "")
    if opinion.household is not None:
        form.household.data = opinion.household.code
    form.description.data = opinion.text


ticket_views.ORIGINS["opinion"] = ticket_views.Origin(
    find=_opinion, prefill=_prefill_ticket,
    describe=lambda opinion: f"{clock.to_local(opinion.visit.at, estate().tz):%m-%d %H:%M} {opinion.visit.form}拜访 · "
                             f"{opinion.kind}：{opinion.text}",
    link=rules.link_ticket, back=lambda opinion: url_for("customers.visit", visit_id=opinion.visit_id))


def _from_visit(ticket):
    """The visit a request was made from, as the request's page links back to it."""
    opinion = Opinion.select(Opinion, Visit).join(Visit).where(
        (Opinion.ticket == ticket.id) & Visit.voided_at.is_null()).first()
    if opinion is None or not access.may_see(current_user, opinion.visit):
        return None
    return (f"来自拜访：{clock.to_local(opinion.visit.at, estate().tz):%m-%d %H:%M} {opinion.visit.form}",
            url_for("customers.visit", visit_id=opinion.visit_id))


ticket_views.SOURCE_LINKS.append(_from_visit)


# Needs

@bp.route("/needs")
@roles(*STAFF)
def needs():
    """需求: those still to answer, and the latent needs across my zones grouped so patterns show.
    With ?by=&start=&end= (a summary's figure): every need that person recorded in those days."""
    narrowed = Filter()
    if narrowed.active:
        found = list(narrowed.apply(Need.select(Need, Household).join(Household).where(Need.voided_at.is_null()),
                                    Need, Need.created_by, Need.created_at))
        return render("customers/needs.html", title="客户需求", needs=found, patterns=[], narrowed=narrowed,
                      back=url_for("customers.needs"))
    zone_ids = access.work_zone_ids(current_user)
    return render("customers/needs.html", title="客户需求", needs=rules.needs_in(zone_ids),
                  patterns=rules.latent_patterns(zone_ids), narrowed=narrowed, back=url_for("home.customers"))


class NeedForm(TokenForm):
    household = text("房号（栋-单元-室）", 30, render_kw=ROOM_INPUT, description=ROOM_HINT,
                     message=estate_rules.ROOM_MISSING)
    what = long_text("需求内容", 500, required=True, message="请写明客户的需求", render_kw={"rows": 3})
    kind = RadioField("类型", choices=choices(rules.NEED_KINDS.items()), default="personal",
                      validators=[InputRequired(rules.NEED_KIND_MISSING)])
    topic = SelectField("类别", choices=choices([("", "请选择")] + [(t, t) for t in rules.TOPICS]))
    source = SelectField("来源", choices=choices((s, s) for s in rules.NEED_SOURCES))


@bp.route("/needs/new", methods=["GET", "POST"])
@roles(*STAFF)
def need_new():
    """记录需求: from a visit's opinion, a request, a call — or anything else."""
    form = NeedForm()
    opinion = _opinion(request.values.get("opinion", 0, type=record_id))
    ticket = Ticket.get_or_none(Ticket.id == request.values.get("ticket", 0, type=record_id))
    if ticket is not None and (ticket.household_id is None or not access.may_see(current_user, ticket)):
        ticket = None
    if request.method == "GET":
        form.ensure_token()
        if request.args.get("household"):
            form.household.data = request.args["household"][:30]
        if opinion is not None:
            form.what.data, form.source.data = opinion.text, "拜访"
            if opinion.household is not None:
                form.household.data = opinion.household.code
        if ticket is not None:
            form.household.data, form.what.data, form.source.data = ticket.household.code, ticket.description, "诉求"
        if current_user.role == "frontdesk":
            form.source.data = "电话"
    form.ensure_token()

    def make():
        household = find_household(form.household.data or "")
        if household is None:
            raise rules.CustomerError(f"没有房号“{form.household.data}”，请按 栋-单元-室 填写", "household")
        return rules.record_need(current_user, household, form.what.data, form.kind.data, form.topic.data,
                                 form.source.data, opinion=opinion, ticket=ticket, token=form.token.data)[0]

    return making_page(form, make, lambda need: ("已记录需求，请答复客户", "customers.need", {"need_id": need.id}),
                       "customers/need_new.html", opinion=opinion, ticket=ticket, title="记录需求",
                       back=url_for("customers.visit", visit_id=opinion.visit_id) if opinion
                       else url_for("tickets.show", ticket_id=ticket.id) if ticket else url_for("customers.needs"))


def _need(need_id):
    """A need; answering it (a POST) is for those who may change it."""
    return record_or_404(Need.live(), need_id, change=request.method == "POST")


class AnswerForm(VersionForm):
    outcome = RadioField("答复", choices=choices([("provide", "可提供"), ("decline", "不能提供"), ("study", "待研究")]),
                         validators=[InputRequired(rules.ANSWER_MISSING)])
    reason = long_text("原因 / 研究什么", 500, render_kw={"rows": 2})
    reaction = text("客户反应", 200, required=False)


@bp.route("/needs/<int:need_id>", methods=["GET", "POST"])
@roles(*STAFF)
def need(need_id):
    """A need and the answer given: 可提供, 不能提供 (why, and how the customer took it), 待研究."""
    need = _need(need_id)
    form = AnswerForm()
    form.reaction.render_kw = {"placeholder": "如 已安抚，客户表示理解"}
    if request.method == "GET":
        form.version.data = need.version
    here = url_for("customers.need", need_id=need.id)
    return form_page(form, lambda: rules.answer_need(current_user, need, form.expected_version(), form.outcome.data,
                                                     form.reason.data or "", form.reaction.data or ""),
                     "已记录答复", here, "customers/need.html", need=need,
                     closed=None if need.outcome in ("open", "study") else rules.already_answered(need),
                     title=need.kind_label, back=url_for("customers.household", household_id=need.household_id),
                     visit=need.opinion.visit if need.opinion_id and need.opinion.visit.voided_at is None
                     and current_user.role in VISITORS else None,
                     orders=list(service_rules.cards().where(ServiceOrder.need == need).order_by(ServiceOrder.id)),
                     timeline=events.timeline(need))


# Settings

class VisitRulesForm(VersionForm):
    morning_start = TimeField("早间拜访 开始", validators=[InputRequired("请填写开始时间")])
    morning_end = TimeField("结束", validators=[InputRequired("请填写结束时间")])
    evening_start = TimeField("晚间拜访 开始", validators=[InputRequired("请填写开始时间")])
    evening_end = TimeField("结束", validators=[InputRequired("请填写结束时间")])
    weekends = BooleanField("双休日算建议拜访时段")
    holidays = BooleanField("法定节假日算建议拜访时段（调休上班的周末不算）")
    stale_weeks = IntegerField("几周未拜访的住户列入拜访计划", validators=[InputRequired("请填写周数")])


@bp.route("/admin/visit-rules", methods=["GET", "POST"])
@roles("admin")
def visit_rules():
    """拜访时段: the recommended windows and the planner's weeks."""
    current = rules.VisitRules.current()
    form = VisitRulesForm(obj=current if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = current.version
    names = ("morning_start", "morning_end", "evening_start", "evening_end", "weekends", "holidays", "stale_weeks")
    return form_page(form, lambda: rules.update_visit_rules(current_user, form.expected_version(),
                                                            **{n: getattr(form, n).data for n in names}),
                     "拜访时段已保存", url_for("customers.visit_rules"), "customers/visit_rules.html",
                     title="拜访时段", back=url_for("estate.index"), timeline=events.timeline(current))
