"""The tabs: 今日 for each role, and the 诉求 / 巡视 / 客户 entry pages."""
from flask import Blueprint
from flask import request
from flask_login import current_user
from peewee import JOIN
from peewee import fn

from ..auth import roles
from ..estate import Building
from ..estate import Household
from ..estate import Place
from ..estate import Zone
from ..estate import ZoneBuilding
from ..users import Unit
from ..users import User
from ..web import render

bp = Blueprint("home", __name__)


def _zone_summary(zones):
    """Buildings and households per zone, counted in one query."""
    counts = dict(Household.live().join(ZoneBuilding, on=(Household.building == ZoneBuilding.building))
                  .where(ZoneBuilding.zone.in_([z.id for z in zones]))
                  .group_by(ZoneBuilding.zone).select(ZoneBuilding.zone, fn.COUNT(Household.id)).tuples())
    return [(zone, list(zone.buildings), counts.get(zone.id, 0)) for zone in zones]


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
        context["zones"] = _zone_summary(list(Zone.of_assistant(current_user)))
    elif current_user.role == "supervisor":
        context["zones"] = _zone_summary(list(Zone.live().order_by(Zone.name)))
    return render(f"home/today_{current_user.role}.html", **context)


@bp.route("/tickets")
@roles("supervisor", "assistant", "frontdesk")
def tickets():
    """诉求: the request list (filled by the customer-request feature)."""
    return render("home/tickets.html", title="客户诉求")


@bp.route("/patrols")
@roles("supervisor", "assistant")
def patrols():
    """巡视: today's patrol coverage (filled by the patrol feature)."""
    return render("home/patrols.html", title="现场巡视")


@bp.route("/customers")
@roles("supervisor", "assistant", "frontdesk")
def customers():
    """客户: find a household by 栋-单元-室, or open a building's roster."""
    q = request.args.get("q", "")[:30]
    households = list(Household.search(q, limit=30)) if q.strip() else []
    buildings = (Building.ordered().select(Building, fn.COUNT(Household.id).alias("household_count"))
                 .join(Household, join_type=JOIN.LEFT_OUTER,
                       on=((Household.building == Building.id) & Household.voided_at.is_null()))
                 .group_by(Building.id))
    return render("home/customers.html", block="results", title="客户", q=q, households=households,
                  buildings=list(buildings))
