"""上报: the supervisor's queue (待处理 first, then those in hand), one escalation's page with its
steps, and 设置 → 超时宽限 (how long each kind of lateness waits before it goes up)."""
from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user

from .. import escalations as rules
from .. import events
from ..auth import roles
from ..db import RuleError
from ..db import StaleRecord
from ..escalations import Escalation
from ..users import User
from ..web import invalid
from ..web import render
from .forms import record_id
from .home import item_url

bp = Blueprint("escalations", __name__)


@bp.route("/escalations")
@roles("supervisor")
def index():
    """Every open escalation, 待处理 first; the last 20 resolved below."""
    open_ = list(Escalation.select().where(Escalation.state.in_(rules.OPEN)).order_by(Escalation.created_at))
    done = list(Escalation.select().where(Escalation.state == "resolved").order_by(Escalation.resolved_at.desc())
                .limit(20))
    return render("escalations/index.html", title="上报", pending=[e for e in open_ if e.state == "pending"],
                  handled=[e for e in open_ if e.state != "pending"], done=done, link=_link)


def _link(escalation):
    """The page of what the escalation is about."""
    return item_url(rules.item_ref(escalation))


@bp.route("/escalations/<int:escalation_id>", methods=["GET", "POST"])
@roles("supervisor")
def show(escalation_id):
    """One escalation: what went late or was sent up, and the supervisor's 批示 / 转派 / 接手 / 已解决.
    A request's escalation is handled on the request's page, where the same steps move it."""
    escalation = Escalation.get_or_none(Escalation.id == escalation_id) or abort(404)
    errors, typed = {}, {}
    if request.method == "POST":
        typed = request.form
        try:
            version = record_id(request.form.get("version", 0))
            step = request.form.get("step", "")
            if step == "instruct":
                rules.instruct(current_user, escalation, version, request.form.get("note", ""))
                message = "已批示，已通知该区域的客户助理"
            elif step == "reassign":
                chosen = request.form.get("assignee", "")
                person = User.get_or_none(User.id == int(chosen)) if chosen.isascii() and chosen.isdigit() else None
                rules.reassign(current_user, escalation, version, person, request.form.get("note", ""))
                message = "已转派"
            elif step == "take_over":
                rules.take_over(current_user, escalation, version)
                message = "已接手"
            elif step == "resolve":
                rules.resolve(current_user, escalation, version, request.form.get("note", ""))
                message = "已标为已解决"
            else:
                raise rules.EscalationError("请选择要做的处理：批示、转派、接手或已解决")
            flash(message, "success")
            return redirect(url_for("escalations.show", escalation_id=escalation.id), code=303)
        except RuleError as error:
            errors[error.field or "form"] = error.message
        except (StaleRecord, ValueError):
            errors["form"] = StaleRecord.message
    context = dict(title=f"上报 {escalation.number}", escalation=escalation, errors=errors, typed=typed,
                   record_url=_link(escalation), timeline=events.timeline(escalation),
                   assistants=list(User.active_with_role("assistant")),
                   steps=[s.action for s in rules.MACHINE.allowed(escalation, current_user)],
                   kind_label=rules.GRACE.get(escalation.kind, ("上报主管",))[0], back=url_for("escalations.index"))
    if errors:
        return invalid("escalations/show.html", **context)
    return render("escalations/show.html", **context)


@bp.route("/admin/lateness", methods=["GET", "POST"])
@roles("admin", "supervisor")
def grace():
    """设置 → 超时宽限: minutes past the deadline before each kind goes up to the supervisor."""
    current = rules.LatenessRules.current()
    errors, typed = {}, {}
    if request.method == "POST":
        typed = request.form
        try:
            rules.save_grace(request.form, record_id(request.form.get("version", 0)))
            flash("已保存超时宽限", "success")
            return redirect(url_for("escalations.grace"), code=303)
        except RuleError as error:
            errors[error.field or "form"] = error.message
        except (StaleRecord, ValueError):
            errors["form"] = StaleRecord.message
    minutes = current.minutes()
    context = dict(title="超时宽限", rules=current, rows=[(kind, label, minutes[kind]) for kind, (label, _d) in
                                                         rules.GRACE.items()], errors=errors, typed=typed)
    if errors:
        return invalid("escalations/grace.html", **context)
    return render("escalations/grace.html", **context)
