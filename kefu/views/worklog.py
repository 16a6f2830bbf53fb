"""工作记录: an assistant's day compiled from what they did, with their notes and the day's 需关注,
printable per day and per week; the supervisor reads anyone's."""
import datetime

from flask import Blueprint
from flask import abort
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user

from .. import access
from .. import clock
from .. import pdf
from .. import worklog as rules
from ..auth import roles
from ..users import User
from ..web import estate
from ..web import render
from . import assistant_or_404
from . import record_or_404
from .forms import form_page
from .forms import long_text
from .forms import VersionForm

bp = Blueprint("worklog", __name__)


def _person_and_day(user_id, day):
    """The assistant whose record it is (an assistant reads only their own) and the day."""
    user = assistant_or_404(user_id, own=True)
    try:
        day = datetime.date.fromisoformat(day)
    except ValueError:
        abort(404)
    if not datetime.date.min < day < datetime.date.max:
        abort(404)  # the page links the days either side
    return user, day


@bp.route("/worklog")
@roles("supervisor", "assistant")
def index():
    """An assistant goes straight to today's record; the supervisor picks an assistant."""
    today = clock.today(estate().tz)
    if current_user.role == "assistant":
        return redirect(url_for("worklog.day", user_id=current_user.id, day=today.isoformat()))
    return render("worklog/index.html", title="工作记录", assistants=list(User.active_with_role("assistant")),
                  today=today, back=url_for("home.index"))


class NoteForm(VersionForm):
    text = long_text("补充记录", 1000, required=True, message="请写下要记录的内容",
                     render_kw={"rows": 2, "placeholder": "如 参加部门例会；与工程部沟通 3 号楼漏水处理方案"})


def _day_page(user, day):
    """What a day's page shows beside its note form."""
    today = clock.today(estate().tz)
    return dict(user=user, day=day, record=rules.day_record(user, day), today=today,
                previous=(day - datetime.timedelta(days=1)).isoformat(),
                following=(day + datetime.timedelta(days=1)).isoformat() if day < today else None,
                mine=user.id == current_user.id, title=f"工作记录 {day:%m-%d}",
                back=url_for("worklog.index") if current_user.role == "supervisor" else url_for("home.index"))


@bp.route("/worklog/<int:user_id>/<day>", methods=["GET", "POST"])
@roles("supervisor", "assistant")
def day(user_id, day):
    """One day of an assistant's record: what they did, in order; their notes; the day's 需关注."""
    user, day = _person_and_day(user_id, day)
    form = NoteForm()
    here = url_for("worklog.day", user_id=user.id, day=day.isoformat())
    if request.method == "POST":
        record_or_404(access.WorkRecord(user), change=True, kind="WorkRecord")
    return form_page(form, lambda: rules.add_note(current_user, day, form.text.data), "已加入工作记录", here,
                     "worklog/day.html", **_day_page(user, day))


@bp.route("/worklog/<int:user_id>")
@roles("supervisor", "assistant")
def pick(user_id):
    """The record's date picker: the day picked, or today's page with the picker saying why not."""
    user = assistant_or_404(user_id, own=True)
    today = clock.today(estate().tz)
    if "day" not in request.args:  # the record itself, not the picker: today's page
        return redirect(url_for("worklog.day", user_id=user.id, day=today.isoformat()))
    picked = request.args.get("day", "")[:20]
    try:
        day = datetime.date.fromisoformat(picked)
    except ValueError:
        error = "请选择日期"
    else:
        if day <= today:
            return redirect(url_for("worklog.day", user_id=user.id, day=day.isoformat()))
        error = "不能选今天以后的日期"
    return render("worklog/day.html", status=422, form=NoteForm(), pick_error=error, picked=picked,
                  **_day_page(user, today))


@bp.route("/worklog/<int:user_id>/<day>.pdf")
@roles("supervisor", "assistant")
def day_pdf(user_id, day):
    """客户助理工作记录 on A4: the day, or with ?week=1 the week (Monday to Sunday) it is in."""
    user, day = _person_and_day(user_id, day)
    days = rules.week_of(day) if request.args.get("week") else [day]
    today = clock.today(estate().tz)
    records = [(d, rules.printed_day(user, d)) for d in days if d <= today]
    name = f"工作记录-{user.display_name}-{days[0]:%Y%m%d}" + (f"-{days[-1]:%Y%m%d}" if len(days) > 1 else "")
    return pdf.response("worklog/print.html", f"{name}.pdf", user=user, records=records, days=days,
                        columns=[label for label, _kinds in rules.TOTALS])
