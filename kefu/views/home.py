"""The tabs: 今日 for each role, and the 诉求 / 巡视 / 客户 entry pages."""
import datetime

from flask import Blueprint
from flask import g
from flask import make_response
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from peewee import JOIN
from peewee import fn

from .. import agenda
from .. import clock
from .. import search
from .. import tickets
from .. import trends
from .. import workorders
from ..auth import roles
from ..db import Prepared
from ..notices import Notice
from ..estate import Building
from ..estate import Household
from ..estate import Place
from ..estate import Zone
from ..estate import ZoneAssistant
from ..estate import ZoneBuilding
from ..users import Unit
from ..users import User
from ..tickets import Ticket
from ..web import ago
from ..web import estate
from ..web import id_url
from ..web import render
from ..workorders import WorkOrder

bp = Blueprint("home", __name__)


def _my_zones(zones, assistant):
    """An assistant's zones: (zone, buildings in code order, household count) each, from one prepared
    query (the buildings are the chips that open each roster)."""
    buildings, counts = {}, {}
    for link in _MY_ZONE_BUILDINGS(assistant.id):
        buildings.setdefault(link.zone_id, []).append(link)
        counts[link.zone_id] = counts.get(link.zone_id, 0) + link.household_count
    return [(zone, buildings.get(zone.id, []), counts.get(zone.id, 0)) for zone in zones]


def _all_zones():
    """Every zone for the supervisor's desk: (zone with its building_count, its assistants' names).
    Who covers what, in a line a zone; the buildings and their rosters are under 客户."""
    assistants = {}
    for link in _ZONE_ASSISTANTS():
        assistants.setdefault(link.zone_id, []).append(link.display_name)
    return [(zone, assistants.get(zone.id, [])) for zone in _ZONES_WITH_COUNTS()]


_MY_ZONE_BUILDINGS = Prepared(Building, lambda user_id: (
    ZoneBuilding.select(ZoneBuilding.zone, Building.id, Building.name, Building.code,
                        fn.COUNT(Household.id).alias("household_count"))
    .join(Building).join_from(ZoneBuilding, Zone)
    .join_from(Building, Household, JOIN.LEFT_OUTER, on=((Household.building == Building.id)
                                                         & Household.voided_at.is_null()))
    .where(Building.voided_at.is_null() & Zone.voided_at.is_null() & ZoneBuilding.zone.in_(
        ZoneAssistant.select(ZoneAssistant.zone).where(ZoneAssistant.user == user_id)))
    .group_by(ZoneBuilding.zone, Building.id)
    .order_by(fn.LENGTH(Building.code), Building.code).objects()), -1)
_ZONES_WITH_COUNTS = Prepared(Zone, lambda: (
    Zone.select(Zone, fn.COUNT(Building.id).alias("building_count"))
    .join(ZoneBuilding, JOIN.LEFT_OUTER, on=(ZoneBuilding.zone == Zone.id))
    .join(Building, JOIN.LEFT_OUTER, on=((ZoneBuilding.building == Building.id) & Building.voided_at.is_null()))
    .where(Zone.voided_at.is_null()).group_by(Zone.id).order_by(Zone.name)))
_ZONE_ASSISTANTS = Prepared(User, lambda: ZoneAssistant.select(ZoneAssistant.zone, User.display_name).join(User)
                            .order_by(User.display_name).objects())


# Where an agenda item's reference opens.
_PAGES = {"ticket": ("tickets.show", "ticket_id"), "workorder": ("workorders.show", "order_id"),
          "serviceorder": ("services.show", "service_id"), "need": ("customers.need", "need_id"),
          "shopnotice": ("shops.notice", "notice_id"), "rectificationnotice": ("renovations.notice", "notice_id"),
          "finding": ("patrols.finding", "finding_id"), "violation": ("renovations.violation", "violation_id"),
          "evaluation": ("evaluations.show", "evaluation_id"), "staff": ("evaluations.staff", "user_id"),
          "review": ("evaluations.review", "review_id"), "meeting": ("meetings.show", "meeting_id"),
          "shop": ("shops.show", "shop_id"), "escalation": ("escalations.show", "escalation_id"),
          "outage": ("residents.outage", "outage_id")}


def item_url(ref):
    kind, ident = ref
    if kind == "summary":
        user_id, month = str(ident).split("/", 1)
        return url_for("summaries.show", user_id=int(user_id), month=month)
    if kind == "patrols":
        return url_for("patrols.index") + f"#{ident}"
    page = _PAGES.get(kind)
    if page is None or not isinstance(ident, int):
        return url_for("home.index")
    return id_url(page[0], **{page[1]: ident})


def notice_url(notice):
    """Where a notice opens: its record's page (an escalation's record, for a late item's notice)."""
    return item_url((notice.record_type, notice.record_id))


def card_meta(item, show_who=False):
    """An agenda card's small line: how long ago it was sent up, its number or holder, and (for the
    supervisor) whose it is."""
    parts = ((ago(item.since) + "上报") if item.since else "", item.meta or item.number,
             item.who if show_who else "")
    return " · ".join(part for part in parts if part)


def _agenda_context(now, current=None):
    current = current or agenda.stamp(now)
    # The signed-in user itself, not Flask-Login's proxy: the agenda reads its role, id and zones for
    # every source, and each read through the proxy looks the user up again.
    user = current_user._get_current_object()
    items = agenda.agenda_kept(user, now, current)
    g.agenda_owed = len(items)  # the tab's count, from the same list (not looked up again)
    return {"items": items, "groups": agenda.grouped(items, now), "item_url": item_url, "notice_url": notice_url,
            "fold": agenda.fold, "now": now, "stamp": current, "show_who": user.role == "supervisor",
            "card_meta": card_meta}


@bp.route("/")
@roles("admin", "supervisor", "assistant", "frontdesk", "unit")
def index():
    """今日: everything waiting on this person, most urgent first."""
    context = {"title": "今日"}
    now = clock.utcnow()
    if current_user.role == "admin":
        context["counts"] = {
            "楼栋": Building.live().count(), "房号": Household.live().count(), "公共部位": Place.live().count(),
            "区域": Zone.live().count(), "业务块": Unit.live().count(), "用户": User.live().where(User.active).count(),
        }
        context["zoneless"] = (Building.live().join(ZoneBuilding, join_type=JOIN.LEFT_OUTER,
                                                    on=(ZoneBuilding.building == Building.id))
                               .where(ZoneBuilding.id.is_null()).count())
        return render("home/today_admin.html", **context)
    current = agenda.stamp(now)  # one look at the timeline for the page and its tab count
    context.update(_agenda_context(now, current))
    if current_user.role == "assistant":
        zones = list(Zone.of_assistant(current_user))
        context["zones"] = _my_zones(zones, current_user)
    elif current_user.role == "supervisor":
        context.update(_supervisor_today(now, current))
    elif current_user.role == "frontdesk":
        start, end = clock.day_bounds(clock.today(estate().tz), estate().tz)
        context["logged"] = tickets.cards(tickets.with_card(Ticket.live().where(
            (Ticket.created_by == current_user) & (Ticket.created_at >= start) & (Ticket.created_at < end)))
            .order_by(Ticket.created_at.desc()))
    if current_user.role in ("assistant", "supervisor"):
        context["notices"] = list(Notice.unread(current_user, 8))
    return render(f"home/today_{current_user.role}.html", **context)


@bp.route("/today/live")
@roles("supervisor", "assistant", "frontdesk", "unit")
def live():
    """An open 今日 asks every few seconds whether anything changed. Unchanged (the same stamp): 204
    at the cost of one index lookup. Changed: the agenda drawn again, with its new stamp and count."""
    now = clock.utcnow()
    current = agenda.stamp(now)
    if request.args.get("stamp") == current:
        return "", 204
    context = _agenda_context(now, current)
    response = make_response(render("home/_agenda.html", **context))
    response.headers["X-Agenda-Count"] = str(len(context["items"]))
    response.headers["X-Agenda-Stamp"] = current
    response.headers["X-Agenda-Alert"] = "1" if _alerting(context["items"], now) else "0"
    response.headers["Cache-Control"] = "no-store"
    return response


ALERT_WITHIN = datetime.timedelta(minutes=15)


def _alerting(items, now):
    """Whether the phone may sound: a 紧急 item, or a response clock under 15 minutes."""
    return any(i.urgent or (i.kind == "ticket.respond" and i.due is not None and i.due - now < ALERT_WITHIN)
               for i in items)


_OPEN_ORDERS = Prepared(WorkOrder, lambda: WorkOrder.select(fn.COUNT(WorkOrder.id)).where(
    WorkOrder.state.in_(workorders.OPEN_STATES)))
DESK_LIMIT = 20  # cards per list on the supervisor's 今日; the rest are a tap away in the list


def _supervisor_today(now, current):
    """The supervisor's desk beside the agenda: what is late anywhere (the one lateness rule), each
    assistant's patrol coverage (kept, recounted every ten minutes), open work orders."""
    coverage, coverage_counted_at = trends.coverage_now()
    late = agenda.late_kept(now, current)
    return {
        "coverage": coverage,
        "coverage_counted_at": coverage_counted_at,
        "zones": _all_zones(),
        "late": late,
        "desk_limit": DESK_LIMIT,
        "open_orders": _OPEN_ORDERS.cursor().fetchone()[0],
    }


@bp.route("/notices/read", methods=["POST"])
@roles("supervisor", "assistant")
def notices_read():
    """Mark all my notices read."""
    Notice.update(read_at=clock.utcnow()).where((Notice.user == current_user) & Notice.read_at.is_null()).execute()
    return redirect(url_for("home.index"), code=303)


@bp.route("/customers")
@roles("supervisor", "assistant", "frontdesk")
def customers():
    """客户: find a household by 栋-单元-室, or open a building's roster."""
    q = request.args.get("q", "")[:30]
    households = search.households(q, limit=30) if q.strip() else []
    buildings = (Building.ordered().select(Building, fn.COUNT(Household.id).alias("household_count"))
                 .join(Household, join_type=JOIN.LEFT_OUTER,
                       on=((Household.building == Building.id) & Household.voided_at.is_null()))
                 .group_by(Building.id))
    return render("home/customers.html", block="results", title="客户", q=q, households=households,
                  buildings=list(buildings))
