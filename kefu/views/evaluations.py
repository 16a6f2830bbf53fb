"""岗位评估 at the supervisor's desk: who is due, each assistant's schedule from their start date, the
evaluation form (measured customer feedback, the internal items scored, sign-off) printed on A4, and
the assistant's own comment; the administrator keeps the items and their weights."""
import datetime

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from wtforms import DateField
from wtforms.validators import InputRequired

from .. import clock
from .. import evaluations as rules
from .. import events
from .. import pdf
from ..auth import roles
from ..db import RuleError
from ..db import StaleRecord
from ..evaluations import Evaluation
from ..evaluations import EvaluationItem
from ..evaluations import EvaluationSettings
from ..users import User
from ..web import done
from ..web import estate
from ..web import invalid
from ..web import render
from . import assistant_or_404
from . import record_or_404
from .forms import VersionForm
from .forms import form_page
from .forms import record_id
from .forms import record_ids

bp = Blueprint("evaluations", __name__)

FIGURES = [  # (key, label, unit) as the form and the PDF show the measured feedback
    ("tickets", "受理诉求", "件"), ("response_rate", "时限内响应率", "%"), ("resolution_rate", "时限内解决率", "%"),
    ("followups", "回访次数", "次"), ("satisfaction_rate", "回访满意率（满意＋基本满意）", "%"),
    ("unhappy", "客户不满意（回访）", "次"), ("visits", "拜访", "次"), ("praise", "拜访中的表扬", "条"),
    ("meetings_attended", "参加例会", "次"), ("meetings_held", "本期部门例会", "次"),
]


def figure_links(user, first, last):
    """Where each figure of `user`'s days `first`…`last` comes from: the filtered list it counts."""
    period = {"start": first.isoformat(), "end": last.isoformat()}
    tickets = url_for("tickets.index", assignee=user.id, **period, state="")
    visits = url_for("customers.visit_list", by=user.id, **period)
    answered = url_for("tickets.followups", assignee=user.id, **period)
    return {"tickets": tickets,
            "response_rate": url_for("tickets.index", assignee=user.id, **period, state="", late_response=1),
            "resolution_rate": url_for("tickets.index", assignee=user.id, **period, state="", resolved=1),
            "followups": answered, "satisfaction_rate": answered,
            "unhappy": url_for("tickets.followups", assignee=user.id, **period, result="不满意"),
            "reopened": tickets, "visits": visits,
            "visits_in_window": url_for("customers.visit_list", by=user.id, **period, window="in"),
            "praise": url_for("customers.visit_list", by=user.id, **period, kind="表扬"),
            "meetings_attended": url_for("meetings.index", by=user.id, **period),
            "meetings_held": url_for("meetings.index", kind="部门例会", **period),
            "category": lambda name: url_for("tickets.index", assignee=user.id, **period, state="", category=name)}


def _evaluation(evaluation_id):
    """The supervisor sees every evaluation; an assistant their own once signed off."""
    return record_or_404(Evaluation.live(), evaluation_id, change=request.method == "POST")


@bp.route("/evaluations")
@roles("supervisor", "assistant")
def index():
    """评估: the supervisor's due list and the assistants' schedules; an assistant's own evaluations."""
    if current_user.role == "assistant":
        mine = list(Evaluation.live().where((Evaluation.user == current_user.id) & (Evaluation.state == "signed"))
                    .order_by(Evaluation.period_start.desc()))
        return render("evaluations/mine.html", title="我的评估", evaluations=mine, back=url_for("auth.me"))
    assistants = list(User.active_with_role("assistant"))
    starts = {row.user_id: row.started_on for row in rules.ServiceStart.select()}
    # What a card shows, its assistant's name with it (not a query a card; not the stored forms); those
    # signed at the same moment by period and as made, as they came before.
    signed = list(Evaluation.select(Evaluation.id, Evaluation.user, Evaluation.kind, Evaluation.period_start,
                                    Evaluation.period_end, Evaluation.total, Evaluation.grade, User.id,
                                    User.display_name)
                  .join(User, on=Evaluation.user)
                  .where(Evaluation.voided_at.is_null() & (Evaluation.state == "signed"))
                  .order_by(Evaluation.signed_at.desc(), Evaluation.period_end, Evaluation.id).limit(20))
    return render("evaluations/index.html", title="岗位评估",
                  due=rules.due(today=clock.today(estate().tz), users=assistants, starts=starts),
                  assistants=assistants, starts=starts, signed=signed, back=url_for("home.index"))


class StartForm(VersionForm):
    started_on = DateField("开始客户助理服务模式的日期", validators=[InputRequired(rules.START_MISSING)])


@bp.route("/evaluations/staff/<int:user_id>", methods=["GET", "POST"])
@roles("supervisor")
def staff(user_id):
    """One assistant's schedule, computed from the start date (which can be set or corrected here)."""
    user = assistant_or_404(user_id)
    row = rules.ServiceStart.get_or_none(rules.ServiceStart.user == user)
    form = StartForm()
    if request.method == "GET" and row is not None:
        form.started_on.data, form.version.data = row.started_on, row.version
    here = url_for("evaluations.staff", user_id=user.id)
    today = clock.today(estate().tz)
    schedule = []
    if row is not None:
        existing = {e.period_start: e for e in Evaluation.live().where(Evaluation.user == user)}
        schedule = [(start, end, kind, existing.get(start)) for start, end, kind in
                    rules.periods(row.started_on, today + datetime.timedelta(days=92))]
    return form_page(form, lambda: rules.set_start(current_user, user, form.started_on.data,
                                                   form.expected_version() if row else None),
                     "已保存开始日期，评估周期已按新日期排好", here, "evaluations/staff.html", user=user, row=row,
                     schedule=list(reversed(schedule)), today=today, kinds=rules.KINDS, title=user.display_name,
                     back=url_for("evaluations.index"), timeline=events.timeline(user, limit=20))


@bp.route("/evaluations/open", methods=["POST"])
@roles("supervisor")
def open_one():
    """Open (or continue) the evaluation of an assistant for a period."""
    user = User.live().where((User.id == request.form.get("user", 0, type=record_id))
                             & (User.role == "assistant")).first()
    try:
        if user is None:
            raise ValueError
        period_start = datetime.date.fromisoformat(request.form.get("period", ""))
        evaluation = rules.open_evaluation(current_user, user, period_start)
    except (ValueError, RuleError) as error:
        flash(getattr(error, "message", rules.NO_SUCH_PERIOD), "error")
        return redirect(url_for("evaluations.staff", user_id=user.id) if user else url_for("evaluations.index"),
                        code=303)
    return redirect(url_for("evaluations.show", evaluation_id=evaluation.id), code=303)


def _scores_from(form, items):
    """{item id: (score or None, note)} as typed, and the fields that aren't numbers."""
    scores, errors = {}, {}
    for item in items:
        raw = (form.get(f"score-{item.id}") or "").strip()
        score = None
        if raw:
            try:
                score = float(raw)
                score = int(score) if score.is_integer() else score  # 88, not 88.0
            except ValueError:
                errors[f"score-{item.id}"] = "请填写 0–100 的分数"
        scores[item.id] = (score, form.get(f"note-{item.id}", ""))
    return scores, errors


@bp.route("/evaluations/<int:evaluation_id>", methods=["GET", "POST"])
@roles("supervisor", "assistant")
def show(evaluation_id):
    """The form: the period's measured customer feedback, the internal items to score, comments,
    sign-off; once signed, the stored copy."""
    evaluation = _evaluation(evaluation_id)
    here = url_for("evaluations.show", evaluation_id=evaluation.id)
    errors, typed, confirming = {}, None, False
    if request.method == "POST" and "confirm_sign" in request.form:
        # The second, deliberate answer to 签字确认: the scores were saved when it was asked.
        if current_user.role != "supervisor":
            abort(403)
        try:
            rules.sign_off(current_user, evaluation, request.form.get("version", 0, type=record_id))
            flash("已签字确认，可以打印评估表", "success")
            return redirect(here, code=303)
        except RuleError as error:
            errors[error.field or "form"] = error.message
        except StaleRecord:
            errors["form"] = StaleRecord.message
    elif request.method == "POST":
        if current_user.role != "supervisor":
            abort(403)
        items = list(EvaluationItem.ordered())
        scores, errors = _scores_from(request.form, items)
        errors.update({k: v for k, v in rules.score_errors(scores, items).items() if k not in errors})
        errors = {f"score-{item.id}": errors[f"score-{item.id}"] for item in items if f"score-{item.id}" in errors}
        if evaluation.is_signed:  # the page now shows the signed copy, without the fields to mark
            errors = {"form": rules.SIGNED_NO_CHANGE}
        typed = {"scores": {str(item.id): {"score": request.form.get(f"score-{item.id}", ""),
                                           "note": request.form.get(f"note-{item.id}", "")} for item in items},
                 "comment": request.form.get("comment", "")}
        if not errors:
            try:
                version = record_id(request.form.get("version", 0))
                saved = rules.save_scores(current_user, evaluation, version, scores, request.form.get("comment", ""))
                if "sign" not in request.form:
                    flash("评分已保存", "success")
                    return redirect(here, code=303)
                # 签字确认 is irreversible: the page asks once more, in words, with the total.
                evaluation, typed, confirming = saved, None, True
                refused = rules.sign_off_refusal(evaluation)
                if refused:
                    confirming = False
                    errors[refused[1] or "form"] = refused[0]
            except RuleError as error:
                errors[error.field or "form"] = error.message
            except (StaleRecord, ValueError):
                errors["form"] = StaleRecord.message
    current = rules.sheet(evaluation)
    if typed is not None:  # what was typed, kept beside the messages
        for row in current["items"]:
            row.update({k: v for k, v in typed["scores"].get(str(row["id"]), {}).items()})
    wrong_scores = [row for row in current["items"] if f"score-{row['id']}" in errors]
    context = dict(evaluation=evaluation, sheet=current, figures=FIGURES, errors=errors, confirming=confirming,
                   links=figure_links(evaluation.user, evaluation.period_start, evaluation.period_end),
                   wrong_scores=wrong_scores,
                   unit_people=list(User.active_with_role("unit")) if current_user.role == "supervisor" else [],
                   all_items=list(EvaluationItem.ordered()),
                   comment=typed["comment"] if typed else evaluation.comment, title=evaluation.kind_label,
                   back=url_for("evaluations.staff", user_id=evaluation.user_id)
                   if current_user.role == "supervisor" else url_for("evaluations.index"),
                   timeline=events.timeline(evaluation))
    if errors:
        return invalid("evaluations/show.html", **context)
    return render("evaluations/show.html", **context)


@bp.route("/evaluations/<int:evaluation_id>/ask", methods=["POST"])
@roles("supervisor")
def ask(evaluation_id):
    """请业务块评分: a unit's staff member scores the items chosen."""
    evaluation = _evaluation(evaluation_id)
    reviewer = User.live().where((User.id == request.form.get("reviewer", 0, type=record_id))
                                 & (User.role == "unit")).first()
    chosen = set(record_ids(request.form.getlist("items")))
    try:
        rules.ask_unit(current_user, evaluation, reviewer,
                       [item for item in EvaluationItem.ordered() if item.id in chosen])
    except RuleError as error:
        flash(error.message, "error")
    else:
        flash(f"已请 {reviewer.display_name} 评分，对方会在手机上看到", "success")
    return redirect(url_for("evaluations.show", evaluation_id=evaluation.id), code=303)


@bp.route("/evaluations/reviews/<int:review_id>", methods=["GET", "POST"])
@roles("unit")
def review(review_id):
    """A business unit's scores for the items the supervisor asked about."""
    review = record_or_404(rules.UnitReview, review_id)
    items = list(EvaluationItem.select().where(EvaluationItem.id.in_(review.item_ids)).order_by(EvaluationItem.sort))
    errors = {}
    if request.method == "POST":
        scores, errors = _scores_from(request.form, items)
        if not errors:
            try:
                rules.answer_review(current_user, review, scores)
                return done("已提交评分，谢谢", "home.index")
            except RuleError as error:
                errors[error.field or "form"] = error.message
    context = dict(review=review, evaluation=review.evaluation, items=items, errors=errors, typed=request.form,
                   title="请您评分", back=url_for("home.index"))
    if errors:
        return invalid("evaluations/review.html", **context)
    return render("evaluations/review.html", **context)


@bp.route("/evaluations/<int:evaluation_id>/comment", methods=["POST"])
@roles("assistant")
def comment(evaluation_id):
    """本人意见 on one's own signed evaluation."""
    evaluation = _evaluation(evaluation_id)
    try:
        rules.comment_as_assistant(current_user, evaluation, request.form.get("assistant_comment", ""))
    except RuleError as error:
        flash(error.message, "error")
    else:
        flash("已填写本人意见", "success")
    return redirect(url_for("evaluations.show", evaluation_id=evaluation.id), code=303)


@bp.route("/evaluations/<int:evaluation_id>.pdf")
@roles("supervisor", "assistant")
def form_pdf(evaluation_id):
    """客户助理岗位评估表 on A4: both parts, the total and grade, comments, signature and date lines."""
    evaluation = _evaluation(evaluation_id)
    return pdf.response("evaluations/print.html",
                        f"岗位评估表-{evaluation.user.display_name}-{evaluation.period_start:%Y%m%d}.pdf",
                        evaluation=evaluation, sheet=rules.sheet(evaluation), figures=FIGURES)


# The items (设置)

@bp.route("/admin/evaluation-items", methods=["GET", "POST"])
@roles("admin")
def items():
    """评估项目: the internal items and their weights, and the weight of the measured feedback."""
    settings = EvaluationSettings.current()
    items = list(EvaluationItem.ordered())
    errors = {}
    if request.method == "POST":
        try:
            rows = [(item, request.form.get(f"name-{item.id}", ""), request.form.get(f"weight-{item.id}", ""),
                     f"remove-{item.id}" in request.form) for item in items]
            rules.update_items(current_user, rows, request.form.get("new_name", ""), request.form.get("new_weight", ""),
                         request.form.get("feedback_weight", ""), request.form.get("version", 0, type=record_id))
            return done("评估项目已保存", "evaluations.items")
        except RuleError as error:
            errors[error.field or "form"] = error.message
        except StaleRecord:
            errors["form"] = StaleRecord.message
    context = dict(items=items, settings=settings, errors=errors, form_values=request.form, title="评估项目",
                   back=url_for("estate.index"), timeline=events.timeline(settings))
    if errors:
        return invalid("evaluations/items.html", **context)
    return render("evaluations/items.html", **context)
