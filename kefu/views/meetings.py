"""例会: minutes of department and business-unit meetings — who attended, what was decided, and the
actions agreed, each a tap away from a request."""
import datetime

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from wtforms import DateField
from wtforms import SelectField
from wtforms.validators import InputRequired

from .. import clock
from .. import events
from .. import pdf
from .. import meetings as rules
from ..auth import roles
from ..db import RuleError
from ..db import StaleRecord
from ..meetings import Action
from ..meetings import Meeting
from ..tickets import Ticket
from ..users import ROLES
from ..users import User
from ..web import estate
from ..web import render
from . import choices
from . import record_or_404
from . import tickets as ticket_views
from .forms import MultiCheckboxField
from .forms import TokenForm
from .forms import long_text
from .forms import record_id
from .forms import making_page
from .forms import text

bp = Blueprint("meetings", __name__)

STAFF = ("supervisor", "assistant")


@bp.route("/meetings")
@roles(*STAFF)
def index():
    """例会: the latest minutes, newest first; those someone attended (?by=), of a kind (?kind=) and
    within days (?start=&end=) — the list an evaluation's figure counts."""
    query = Meeting.live()
    filters = []
    by = User.get_or_none(User.id == request.args.get("by", 0, type=record_id))
    if by is not None:
        query = query.where(Meeting.id.in_(rules.Attendance.select(rules.Attendance.meeting)
                                           .where(rules.Attendance.user == by.id)))
        filters.append(f"{by.display_name}参加的")
    if request.args.get("kind") in rules.KINDS:
        query = query.where(Meeting.kind == request.args["kind"])
        filters.append(request.args["kind"])
    for key, compare in (("start", lambda day: Meeting.day >= day), ("end", lambda day: Meeting.day <= day)):
        try:
            day = datetime.date.fromisoformat(request.args.get(key, "")[:10])
        except ValueError:
            continue
        query = query.where(compare(day))
        filters.append(("从 " if key == "start" else "到 ") + day.isoformat())
    return render("meetings/index.html", title="例会", meetings=list(query.order_by(Meeting.day.desc(),
                                                                                  Meeting.id.desc()).limit(200)),
                  filters=filters, back=url_for("home.index"))


class MeetingForm(TokenForm):
    day = DateField("日期", validators=[InputRequired("请填写会议日期")])
    kind = SelectField("类型", choices=choices((k, k) for k in rules.KINDS))
    topic = text("主题", 60)
    attendees = MultiCheckboxField("参会人员", coerce=int)
    decisions = long_text("会议决定", 2000, render_kw={"rows": 3})
    actions = long_text("行动事项（每行一项）", 3000, render_kw={"rows": 3})


@bp.route("/meetings/new", methods=["GET", "POST"])
@roles(*STAFF)
def new():
    """记录例会: the day, the kind, the topic, who attended, decisions and actions."""
    form = MeetingForm()
    people = list(User.live().where(User.active & User.role.in_(("supervisor", "assistant", "frontdesk", "unit")))
                  .order_by(User.role, User.display_name))
    form.attendees.choices = choices((u.id, f"{u.display_name}（{u.role_label}）") for u in people)
    if request.method == "GET":
        form.day.data = clock.today(estate().tz)
        form.attendees.data = [current_user.id]
    form.ensure_token()
    return making_page(
        form, lambda: rules.record_meeting(current_user, day=form.day.data, kind=form.kind.data,
                                           topic=form.topic.data,
                                           attendees=[u for u in people if u.id in (form.attendees.data or [])],
                                           decisions=form.decisions.data or "",
                                           actions=(form.actions.data or "").splitlines()),
        lambda meeting: ("已记录例会", "meetings.show", {"meeting_id": meeting.id}), "meetings/new.html",
        title="记录例会", back=url_for("meetings.index"))


def _show(meeting, status=200, errors=None, typed=None):
    """The minutes: each action an internal task (owner, day, done) or the request it became."""
    people = list(User.live().where(User.active & User.role.in_(("supervisor", "assistant")))
                  .order_by(User.role.desc(), User.display_name))
    return render("meetings/show.html", status=status, meeting=meeting, attendees=list(meeting.attendees()),
                  actions=list(meeting.actions.order_by(Action.position)), title=meeting.topic, people=people,
                  errors=errors or {}, typed=typed or {}, back=url_for("meetings.index"),
                  timeline=events.timeline(meeting))


@bp.route("/meetings/<int:meeting_id>")
@roles(*STAFF)
def show(meeting_id):
    """The minutes, with each action's owner, day and state."""
    return _show(record_or_404(Meeting.live(), meeting_id))


def _live_action(action_id):
    action = _action(action_id)
    if action is None:
        abort(404)
    return action


def _action_step(action_id, apply, message):
    """A step on one action from the minutes' page: done → back to the minutes; refused → the page
    again (422) with the message beside that action's field."""
    action = _live_action(action_id)
    version = request.form.get("version", 0, type=record_id)
    try:
        apply(action, version)
    except RuleError as error:
        field = f"{error.field or 'form'}-{action.id}"
        return _show(action.meeting, 422, {field: error.message}, {**request.form, "action": action.id})
    except StaleRecord as error:
        return _show(action.meeting, 422, {f"form-{action.id}": error.message})
    flash(message, "success")
    return redirect(url_for("meetings.show", meeting_id=action.meeting_id), code=303)


@bp.route("/meetings/actions/<int:action_id>/assign", methods=["POST"])
@roles(*STAFF)
def action_assign(action_id):
    """Who owns an action, and by which day."""
    owner = User.live().where(User.id == request.form.get("owner", 0, type=record_id)).first()
    due_on = None
    try:
        due_on = datetime.date.fromisoformat(request.form.get("due_on", "")) if request.form.get("due_on") else None
    except ValueError:
        pass
    return _action_step(action_id, lambda action, version: rules.assign(current_user, action, version, owner, due_on),
                        "已指定负责人")


@bp.route("/meetings/actions/<int:action_id>/done", methods=["POST"])
@roles(*STAFF)
def action_done(action_id):
    """完成 an action, with what was done."""
    return _action_step(action_id, lambda action, version: rules.complete(current_user, action, version,
                                                                         request.form.get("done_note", "")),
                        "行动事项已完成")


@bp.route("/meetings/<int:meeting_id>.pdf")
@roles(*STAFF)
def minutes_pdf(meeting_id):
    """会议纪要 on A4 with its sign-in sheet (签到表) on a page of its own."""
    meeting = Meeting.live().where(Meeting.id == meeting_id).first()
    if meeting is None:
        abort(404)
    actions = list(meeting.actions.order_by(Action.position))
    return pdf.response("meetings/show_print.html", f"会议纪要-{meeting.day:%Y%m%d}-{meeting.topic}.pdf",
                        meeting=meeting, attendees=list(meeting.attendees()), roles=ROLES,
                        actions=actions, tickets={t.id: t.number for t in Ticket.select(Ticket.id, Ticket.number)
                                                  .where(Ticket.id.in_([a.ticket_id for a in actions if a.ticket_id]))})


def _action(action_id):
    """An action of a live meeting, or None."""
    action = Action.get_or_none(Action.id == action_id)
    return action if action is not None and action.meeting.voided_at is None else None


def _prefill(form, action):
    form.channel.data = "其他岗位"
    form.description.data = action.text


ticket_views.ORIGINS["action"] = ticket_views.Origin(
    find=lambda action_id: next((a for a in [_action(action_id)] if a is not None and a.is_open), None),
    prefill=_prefill,
    describe=lambda action: f"{action.meeting.day:%m-%d} {action.meeting.kind}「{action.meeting.topic}」：{action.text}",
    link=rules.link_ticket, back=lambda action: url_for("meetings.show", meeting_id=action.meeting_id))


def _from_meeting(ticket):
    """The meeting whose action a request was made from, as the request's page links back to it."""
    action = Action.select(Action, Meeting).join(Meeting).where(
        (Action.ticket == ticket.id) & Meeting.voided_at.is_null()).first()
    if action is None or current_user.role not in STAFF:
        return None
    return (f"来自例会：{action.meeting.day:%m-%d} {action.meeting.topic}",
            url_for("meetings.show", meeting_id=action.meeting_id))


ticket_views.SOURCE_LINKS.append(_from_meeting)
