"""The tabs: 今日 for each role, and the 诉求 / 巡视 / 客户 entry pages."""
import datetime

from flask import Blueprint
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from peewee import JOIN
from peewee import fn

from .. import clock
from .. import evaluations
from .. import patrols
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
from ..web import estate
from ..web import render
from ..workorders import WorkOrder

bp = Blueprint("home", __name__)


def _zone_summary(zones, assistant=None):
    """(zone, buildings, household count, assistants) per zone, buildings in code order.

    For an assistant: their zones with household counts. For everyone else: every zone with its
    assistants. One prepared query each way, plus one for the assistants.
    """
    buildings, counts, assistants = {}, {}, {}
    rows = _MY_ZONE_BUILDINGS(assistant.id) if assistant is not None else _ZONE_BUILDINGS()
    for link in rows:
        buildings.setdefault(link.zone_id, []).append(link)
        if assistant is not None:
            counts[link.zone_id] = counts.get(link.zone_id, 0) + link.household_count
    if assistant is None:
        for link in _ZONE_ASSISTANTS():
            assistants.setdefault(link.zone_id, []).append(link.display_name)
    return [(zone, buildings.get(zone.id, []), counts.get(zone.id, 0) if assistant else None,
             assistants.get(zone.id, []) if assistant is None else None) for zone in zones]


def _zone_buildings(with_counts):
    """Each live building of a live zone as (zone_id, id, name, code[, household_count])."""
    columns = [ZoneBuilding.zone, Building.id, Building.name, Building.code]
    query = ZoneBuilding.select(*columns).join(Building).join_from(ZoneBuilding, Zone)
    if with_counts:
        query = (ZoneBuilding.select(*columns, fn.COUNT(Household.id).alias("household_count")).join(Building)
                 .join_from(ZoneBuilding, Zone)
                 .join_from(Building, Household, JOIN.LEFT_OUTER, on=((Household.building == Building.id)
                                                                      & Household.voided_at.is_null()))
                 .group_by(ZoneBuilding.zone, Building.id))
    return (query.where(Building.voided_at.is_null() & Zone.voided_at.is_null())
            .order_by(fn.LENGTH(Building.code), Building.code))


_ZONE_BUILDINGS = Prepared(Building, lambda: _zone_buildings(False).objects())
_MY_ZONE_BUILDINGS = Prepared(Building, lambda user_id: _zone_buildings(True).where(ZoneBuilding.zone.in_(
    ZoneAssistant.select(ZoneAssistant.zone).where(ZoneAssistant.user == user_id))).objects(), -1)
_ZONE_ASSISTANTS = Prepared(User, lambda: ZoneAssistant.select(ZoneAssistant.zone, User.display_name).join(User)
                            .order_by(User.display_name).objects())


@bp.route("/")
@roles("admin", "supervisor", "assistant", "frontdesk", "unit")
def index():
    """今日: what this person has to do today."""
    context = {"title": "今日"}
    if current_user.role == "admin":
        context["counts"] = {
            "楼栋": Building.live().count(), "房号": Household.live().count(), "公共部位": Place.live().count(),
            "区域": Zone.live().count(), "业务块": Unit.live().count(), "用户": User.live().where(User.active).count(),
        }
        context["zoneless"] = (Building.live().join(ZoneBuilding, join_type=JOIN.LEFT_OUTER,
                                                    on=(ZoneBuilding.building == Building.id))
                               .where(ZoneBuilding.id.is_null()).count())
    elif current_user.role == "assistant":
        context.update(_assistant_today())
    elif current_user.role == "supervisor":
        context.update(_supervisor_today())
    elif current_user.role == "frontdesk":
        start, end = clock.day_bounds(clock.today(estate().tz), estate().tz)
        context["logged"] = tickets.cards(tickets.with_card(Ticket.live().where(
            (Ticket.created_by == current_user) & (Ticket.created_at >= start) & (Ticket.created_at < end)))
            .order_by(Ticket.created_at.desc()))
    elif current_user.role == "unit":
        context["todo"] = list(WorkOrder.queue_for_unit(current_user.unit_id))
        context["reviews"] = evaluations.waiting_for(current_user)
        context["waiting"] = list(WorkOrder.cards().where((WorkOrder.unit == current_user.unit_id)
                                                           & (WorkOrder.state == "reported")))
    if current_user.role in ("assistant", "supervisor"):
        context["notices"] = list(Notice.unread(current_user, 8))
    return render(f"home/today_{current_user.role}.html", **context)


def _assistant_today():
    """What an assistant owes today: responses, inspections, return visits, work in hand."""
    zones = list(Zone.of_assistant(current_user))
    zone_ids = [z.id for z in zones]
    # One query for every open ticket of mine, sorted into the day's lists here.
    open_tickets = tickets.cards(tickets.with_card(tickets.visible_to(current_user, zone_ids=zone_ids))
                                 .where(Ticket.state.in_(tickets.OPEN)))
    to_respond = sorted((t for t in open_tickets if t.state == "received"), key=lambda t: t.response_due)
    to_follow = sorted((t for t in open_tickets if t.state == "resolved"), key=lambda t: t.followup_due)
    in_hand = sorted((t for t in open_tickets if t.state in ("responded", "in_progress", "paused")),
                     key=lambda t: t.resolution_due)
    return {
        "patrol_board": patrols.coverage_today(zone_ids, lists=False) if zone_ids else {},
        "zones": _zone_summary(zones, assistant=current_user),
        "to_respond": to_respond,
        "to_inspect": list(WorkOrder.awaiting_inspection(zone_ids)),
        "to_follow": to_follow,
        "in_hand": in_hand,
    }


DESK_LIMIT = 20  # cards per list on the supervisor's 今日; the rest are a tap away in the list


def _supervisor_today():
    """The supervisor's desk: escalations with their age, late tickets, visits that can't be made,
    each assistant's patrol coverage (kept, recounted every ten minutes) and evaluations due."""
    # One query for everything on the desk, sorted into its lists here.
    wanted = list(_DESK(clock.utcnow()))
    coverage, coverage_counted_at = trends.coverage_now()
    return {
        "coverage": coverage,
        "coverage_counted_at": coverage_counted_at,
        "zones": _zone_summary(list(Zone.live().order_by(Zone.name))),
        "escalated": sorted((t for t in wanted if t.escalation_level > 0), key=lambda t: t.escalated_at),
        "desk_limit": DESK_LIMIT,
        "late": sorted((t for t in wanted if t.escalation_level == 0 and t.state != "resolved"),
                       key=lambda t: t.resolution_due),
        "unreachable": [t for t in wanted if t.state == "resolved"
                        and t.followup_attempts >= tickets.UNREACHABLE_TRIES],
        "open_orders": WorkOrder.select().where(WorkOrder.state.in_(workorders.OPEN_STATES)).count(),
        "evaluations": evaluations.due(),
    }


def _desk(now):
    """Open tickets the supervisor must see: escalated, late and not escalated, or not reachable."""
    escalated = Ticket.escalation_level > 0
    late = (Ticket.escalation_level == 0) & (
        ((Ticket.state == "received") & (Ticket.response_due < now))
        | (Ticket.state.in_(("responded", "in_progress")) & (Ticket.resolution_due < now)))
    unreachable = (Ticket.state == "resolved") & (Ticket.followup_attempts >= tickets.UNREACHABLE_TRIES)
    return tickets.with_card(Ticket.live().where(Ticket.state.in_(tickets.OPEN) & (escalated | late | unreachable)))


_DESK = Prepared(Ticket, _desk, datetime.datetime(1901, 2, 3, 4, 5, 6))


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
