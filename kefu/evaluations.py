"""Evaluations of the customer assistants (岗位评估): the schedule — monthly for the first six months
in the assistant service model, quarterly after that — and the evaluation form in two parts:
customer feedback measured from the period's records, and the internal evaluation scored against
items the administrator keeps. A signed-off evaluation is frozen: its figures are stored, and later
changes to the records don't alter it.

Periods are computed from the date the assistant started, counted in whole months from that date
(a start on 31 January gives periods starting 31 January, 28 February, 31 March … each ending the
day before the next), so a changed start date reschedules every evaluation not yet done.
"""
import datetime
import functools
import json

import peewee
from dateutil.relativedelta import relativedelta

from . import clock
from . import events
from . import lifecycle
from . import meetings
from .callbacks import CallBack
from .customers import Opinion
from .customers import Visit
from .db import BaseModel
from .db import Prepared
from .db import RuleError
from .db import StaleRecord
from .db import VersionedMixin
from .db import VoidableMixin
from .db import checked_text
from .db import database
from .db import guarded
from .estate import current_tz as _tz
from .tickets import SATISFACTION
from .tickets import Ticket
from .tickets import answered_in_time
from .users import User

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
START_MISSING = "请填写开始日期"
NO_SUCH_PERIOD = "没有这个评估周期"
SIGNED_NO_CHANGE = "评估已签字确认，不能再修改"

MONTHLY_PERIODS = 6   # the first half-year is evaluated month by month…
QUARTER = 3           # …then quarter by quarter
OVERDUE_DAYS = 14     # an evaluation not done two weeks after its period ended is overdue
DEFAULT_ITEMS = [("诉求响应与跟踪", 20), ("现场品质监督", 20), ("客户沟通与拜访", 15), ("商铺与装修管理", 15),
                 ("工作记录与总结", 10), ("例会参与", 10), ("团队协作", 10)]
GRADES = [(90, "优秀"), (80, "良好"), (60, "合格"), (0, "不合格")]
KINDS = {"monthly": "月度评估", "quarterly": "季度评估"}


class EvaluationError(RuleError):
    pass



class ServiceStart(VersionedMixin, BaseModel):
    """The day an assistant started in the assistant service model: the schedule counts from it."""

    user = peewee.ForeignKeyField(User, unique=True, backref="+", on_delete="RESTRICT")
    started_on = peewee.DateField()


class EvaluationSettings(VersionedMixin, BaseModel):
    """How much the measured customer feedback weighs in the total (the internal items the rest)."""

    feedback_weight = peewee.IntegerField(default=40)

    @classmethod
    def current(cls):
        return cls.by_id(1) or cls.create(id=1)


class EvaluationItem(VoidableMixin, VersionedMixin, BaseModel):
    """An item of the internal evaluation, with its weight among the items."""

    name = peewee.CharField(max_length=30)
    weight = peewee.IntegerField()
    sort = peewee.IntegerField(default=0)

    @classmethod
    def ordered(cls):
        return cls.live().order_by(cls.sort, cls.id)


class Evaluation(VoidableMixin, VersionedMixin, BaseModel):
    """One evaluation of one assistant for one period: a draft until the supervisor signs it off."""

    user = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    period_start = peewee.DateField()
    period_end = peewee.DateField()  # the last day of the period
    kind = peewee.CharField(max_length=10)
    state = peewee.CharField(max_length=8, default="draft")
    scores = peewee.TextField(default="{}")      # item id → {"score", "note"} while a draft
    frozen = peewee.TextField(default="")        # everything the form shows, stored at sign-off
    total = peewee.FloatField(null=True)
    grade = peewee.CharField(max_length=6, default="")
    comment = peewee.TextField(default="")       # the supervisor's
    assistant_comment = peewee.TextField(default="")
    created_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    created_at = peewee.DateTimeField()
    signed_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    signed_at = peewee.DateTimeField(null=True)

    class Meta:
        # (state, signed_at): the latest signed off, newest first, without sorting every one ever signed.
        # (user, voided_at, period_start, state): the due list reads every live evaluation's key from
        # the index alone, not from rows that carry a signed form's frozen copy.
        indexes = ((("user", "period_start"), False), (("state", "period_end"), False),
                   (("state", "signed_at"), False), (("user", "voided_at", "period_start", "state"), False))

    @property
    def kind_label(self):
        return KINDS.get(self.kind, self.kind)

    @property
    def is_signed(self):
        return self.state == "signed"

    @property
    def period_label(self):
        return f"{self.period_start:%Y-%m-%d} 至 {self.period_end:%Y-%m-%d}"


class UnitReview(BaseModel):
    """The supervisor asks a business-unit head to score some items (e.g. 团队协作) of an evaluation;
    their scores stand beside the supervisor's on the form."""

    evaluation = peewee.ForeignKeyField(Evaluation, backref="reviews", on_delete="CASCADE")
    reviewer = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    items = peewee.TextField()                 # [item id, …] asked about
    scores = peewee.TextField(default="{}")    # item id → {"score", "note"}
    asked_at = peewee.DateTimeField()
    answered_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("reviewer", "answered_at"), False), (("evaluation", "reviewer"), True))

    @property
    def item_ids(self):
        return json.loads(self.items)


MODELS = [ServiceStart, EvaluationSettings, EvaluationItem, Evaluation, UnitReview]

SCORE, SIGN, COMMENT = "score", "sign", "comment"
MACHINE = lifecycle.Machine(Evaluation, "评估", {"draft": "草稿", "signed": "已确认"}, [
    lifecycle.step(SCORE, "评分", "draft", None, ("supervisor",)),
    lifecycle.step(SIGN, "签字确认", "draft", "signed", ("supervisor",)),
    lifecycle.step(COMMENT, "本人意见", "signed", None, ("assistant",)),
], open_states=("draft",), error=EvaluationError)
COMMENT_WITHIN_DAYS = 30  # the assistant's own comment is asked for during the month after the period


def _comment_owed(evaluation):
    return not evaluation.assistant_comment and \
        (clock.today(_tz()) - evaluation.period_end).days <= OVERDUE_DAYS + COMMENT_WITHIN_DAYS


def comment_candidates():
    """The evaluations that may still wait for their assistant's comment (the agenda's query; the wait's
    own rule decides): none written yet, the period ended within the time a comment is asked for."""
    oldest = clock.today(_tz()) - datetime.timedelta(days=OVERDUE_DAYS + COMMENT_WITHIN_DAYS)
    return Evaluation.select().where((Evaluation.assistant_comment == "") & (Evaluation.period_end >= oldest))


MACHINE.wait("evaluation.comment", "本人意见", "signed", "assistant", None, COMMENT, when=_comment_owed)


def seed():
    """The manual's duties as the default items, once."""
    if not EvaluationItem.select().exists():
        for sort, (name, weight) in enumerate(DEFAULT_ITEMS, 1):
            EvaluationItem.create(name=name, weight=weight, sort=sort)


# The schedule

def periods(started_on, until):
    """(first day, last day, kind) of every period that starts on or before `until`: six monthly
    periods, then quarterly ones, each counted from the start date so month ends don't drift."""
    return list(_schedule(started_on, until))


@functools.lru_cache(maxsize=512)
def _schedule(started_on, until):
    """`periods` as a tuple, remembered: the due list asks for every assistant's schedule, years of
    periods each, on every look at the supervisor's 今日, with the same start dates and the same day."""
    found, index = [], 0
    start = started_on
    while start <= until:
        if index < MONTHLY_PERIODS:
            after, kind = index + 1, "monthly"
        else:
            after, kind = MONTHLY_PERIODS + (index - MONTHLY_PERIODS + 1) * QUARTER, "quarterly"
        following = started_on + relativedelta(months=after)  # the next period's first day
        found.append((start, following - datetime.timedelta(days=1), kind))
        start = following
        index += 1
    return tuple(found)


@functools.lru_cache(maxsize=512)
def _ended(started_on, today):
    """The periods of `_schedule` that ended before `today`."""
    return tuple(period for period in _schedule(started_on, today) if period[1] < today)


def start_of(user):
    row = ServiceStart.get_or_none(ServiceStart.user == user)
    return row.started_on if row else None


def set_start(actor, user, started_on, expected_version=None):
    """Record or change the start date. Evaluations not yet signed whose period no longer exists are
    voided; signed ones keep theirs."""
    if user.role != "assistant":
        raise EvaluationError("只有客户助理有评估周期", "user")
    if started_on is None:
        raise EvaluationError(START_MISSING, "started_on")
    if started_on > clock.today(_tz()):
        raise EvaluationError("开始日期不能晚于今天", "started_on")
    row = ServiceStart.get_or_none(ServiceStart.user == user)
    with database.atomic():
        if row is None:
            ServiceStart.create(user=user, started_on=started_on)
            before = None
        else:
            before = row.started_on
            guarded(ServiceStart.update(started_on=started_on, version=ServiceStart.version + 1)
                    .where((ServiceStart.id == row.id)
                           & (ServiceStart.version == (row.version if expected_version is None
                                                       else expected_version))))
        kept = set(periods(started_on, clock.today(_tz()) + relativedelta(years=5)))
        for draft in Evaluation.live().where((Evaluation.user == user) & (Evaluation.state == "draft")):
            if (draft.period_start, draft.period_end, draft.kind) not in kept:
                Evaluation.update(voided_at=clock.utcnow(), void_reason="开始日期变更，评估周期重排",
                                  version=Evaluation.version + 1).where(Evaluation.id == draft.id).execute()
                events.record(actor, draft, "作废", note="开始日期变更，评估周期重排")
        events.record(actor, user, "设置助理服务开始日期",
                      note=f"{before:%Y-%m-%d} → {started_on:%Y-%m-%d}" if before else f"{started_on:%Y-%m-%d}")


def _active_assistants():
    return User.active_with_role("assistant")


# The due list's reads, their SQL written once (the supervisor's 今日 shows the list on every look):
# the active assistants with their start dates; each live evaluation's key columns (not the forms: a
# signed one carries its frozen copy); and the live evaluations not signed, whole (found by
# their state: the few drafts, not every evaluation an assistant ever had).
_ASSISTANTS = Prepared(User, lambda: _active_assistants().select(User, ServiceStart.started_on)
                       .join(ServiceStart, peewee.JOIN.LEFT_OUTER, on=(ServiceStart.user == User.id)))
_KEYS = Prepared(Evaluation, lambda: Evaluation.select(Evaluation.id, Evaluation.user, Evaluation.period_start,
                                                       Evaluation.state)
                 .where(Evaluation.voided_at.is_null()
                        & Evaluation.user.in_(_active_assistants().select(User.id).order_by())))
_DRAFTS = Prepared(Evaluation, lambda: Evaluation.select().where(
    Evaluation.voided_at.is_null() & Evaluation.state.in_([s for s in MACHINE.states if s != "signed"])
    & Evaluation.user.in_(_active_assistants().select(User.id).order_by())))


def due(today=None, users=None, starts=None):
    """Evaluations whose period has ended and that aren't signed off, oldest first:
    [(user, first day, last day, kind, draft or None, overdue)]. `users`: the active assistants, and
    `starts`: {user id: start date}, if the caller has read them already."""
    today = today or clock.today(_tz())
    if users is None:
        users = _ASSISTANTS()
        starts = {user.id: ServiceStart.started_on.python_value(user.started_on)
                  for user in users if user.started_on is not None}
    elif starts is None:
        starts = {row.user_id: row.started_on for row in ServiceStart.select()}
    # Each period's evaluation, the last made if more than one: (id, state). Rows as the driver gives
    # them, each stored day converted once (years of quarterly periods share their days across
    # assistants): building a model instance a row took longer than the query.
    # In the index's order (no sort): the last made is the one with the larger id.
    done, days = {}, {}
    for evaluation_id, user_id, stored, state in _KEYS.cursor():
        day = days.get(stored)
        if day is None:
            day = days[stored] = Evaluation.period_start.python_value(stored)
        held = done.get((user_id, day))
        if held is None or held[0] < evaluation_id:
            done[(user_id, day)] = (evaluation_id, state)
    drafts = {row.id: row for row in _DRAFTS()}
    found = []
    for user in users:
        started_on = starts.get(user.id)
        if started_on is None:
            continue
        for start, end, kind in _ended(started_on, today):
            evaluation_id, state = done.get((user.id, start), (None, None))
            if state == "signed":
                continue
            draft = drafts.get(evaluation_id)
            found.append((user, start, end, kind, draft, (today - end).days > OVERDUE_DAYS))
    return sorted(found, key=lambda row: (row[2], row[0].display_name))


# Customer feedback, measured

def _bounds(first, last):
    start, _ = clock.day_bounds(first, _tz())
    _, end = clock.day_bounds(last, _tz())
    return start, end


def _rate(part, whole):
    return round(100 * part / whole, 1) if whole else None


def measure(user, first, last):
    """The customer-feedback figures of `user` for the days `first`…`last` (estate-local)."""
    start, end = _bounds(first, last)
    tickets = list(Ticket.select().where((Ticket.assignee == user) & Ticket.voided_at.is_null()
                                         & (Ticket.created_at >= start) & (Ticket.created_at < end)))
    on_time = sum(1 for t in tickets if answered_in_time(t))
    resolved = [t for t in tickets if t.resolved_at is not None]
    resolved_on_time = sum(1 for t in resolved if t.resolved_at <= t.resolution_due)
    answers = [f.result for f in CallBack.select(CallBack.result).join(Ticket, on=CallBack.of(Ticket))
               .where((Ticket.assignee == user) & Ticket.voided_at.is_null() & (CallBack.at >= start)
                      & (CallBack.at < end) & CallBack.result.in_(SATISFACTION))]
    satisfied = sum(1 for a in answers if a in ("满意", "基本满意"))
    visits = Visit.live().where((Visit.created_by == user) & (Visit.at >= start) & (Visit.at < end))
    praise = (Opinion.select().join(Visit).where(
        (Visit.created_by == user) & Visit.voided_at.is_null() & (Visit.at >= start) & (Visit.at < end)
        & (Opinion.kind == "表扬")).count())
    figures = {
        "tickets": len(tickets),
        "responded_on_time": on_time,
        "response_rate": _rate(on_time, len(tickets)),
        "resolved": len(resolved),
        "resolved_on_time": resolved_on_time,
        "resolution_rate": _rate(resolved_on_time, len(resolved)),
        "followups": len(answers),
        "satisfied": satisfied,
        "unhappy": len(answers) - satisfied,
        "satisfaction_rate": _rate(satisfied, len(answers)),
        "visits": visits.count(),
        "praise": praise,
        "meetings_attended": len(meetings.attended(user, first, last)),
        "meetings_held": meetings.held(first, last),
    }
    rates = [figures[k] for k in ("satisfaction_rate", "response_rate", "resolution_rate") if figures[k] is not None]
    figures["feedback_score"] = round(sum(rates) / len(rates), 1) if rates else None
    return figures


# The form

def grade_of(total):
    return next(label for floor, label in GRADES if total >= floor)


def open_evaluation(actor, user, period_start):
    """The evaluation of `user` for the period starting `period_start` (a draft made on first open)."""
    started_on = start_of(user)
    if started_on is None:
        raise EvaluationError("请先设置该助理的服务开始日期")
    period = next(((s, e, k) for s, e, k in periods(started_on, clock.today(_tz())) if s == period_start), None)
    if period is None:
        raise EvaluationError(NO_SUCH_PERIOD)
    if period[1] >= clock.today(_tz()):
        raise EvaluationError(f"本期到 {period[1]:%Y-%m-%d} 才结束，结束后再评估")
    with database.atomic():
        existing = Evaluation.live().where((Evaluation.user == user) & (Evaluation.period_start == period_start))
        found = existing.first()
        if found is not None:
            return found
        evaluation = Evaluation.create(user=user, period_start=period[0], period_end=period[1], kind=period[2],
                                       created_by=actor, created_at=clock.utcnow())
        events.record(actor, evaluation, "开始评估", note=f"{user.display_name} {KINDS[period[2]]} "
                                                          f"{period[0]:%Y-%m-%d}–{period[1]:%Y-%m-%d}")
    return evaluation


def _internal(scores, items):
    """[(item, score, note)] and the weighted internal score (None until every item is scored)."""
    rows = [(item, scores.get(str(item.id), {}).get("score"), scores.get(str(item.id), {}).get("note", ""))
            for item in items]
    weights = sum(item.weight for item in items)
    if not weights or any(score is None for _item, score, _note in rows):
        return rows, None
    return rows, round(sum(item.weight * score for item, score, _note in rows) / weights, 1)


def totals(feedback_score, internal_score, feedback_weight):
    """The total out of 100 and its grade (None while a part is missing; the feedback part counts
    as the internal score when the period had nothing to measure)."""
    if internal_score is None:
        return None, ""
    if feedback_score is None:
        total = internal_score
    else:
        total = round((feedback_weight * feedback_score + (100 - feedback_weight) * internal_score) / 100, 1)
    return total, grade_of(total)


def save_scores(actor, evaluation, expected_version, scores, comment=""):
    """The supervisor's scores (0–100 per item, a note each) and comment, while a draft."""
    if evaluation.is_signed and evaluation.voided_at is None:
        raise EvaluationError(SIGNED_NO_CHANGE)
    refused = MACHINE.refusal(evaluation, SCORE, actor.role)
    if refused:
        raise EvaluationError(refused)
    items = list(EvaluationItem.ordered())
    out_of_range = score_errors(scores, items)
    if out_of_range:
        field, message = next(iter(out_of_range.items()))
        raise EvaluationError(message, field)
    cleaned = {}
    for item in items:
        score, note = scores.get(item.id, (None, ""))
        note = checked_text(note, 200, f"“{item.name}”的说明", f"note-{item.id}", error=EvaluationError)
        cleaned[str(item.id)] = {"score": score, "note": note}
    comment = checked_text(comment, 1000, "主管评语", "comment", error=EvaluationError)
    if cleaned == json.loads(evaluation.scores) and comment == evaluation.comment:
        # Nothing changed since the last save (signing off after 保存评分): no second 评分 on the timeline.
        if evaluation.version != expected_version:
            raise StaleRecord()
        return evaluation
    with database.atomic():
        return MACHINE.transition(actor, evaluation, expected_version, SCORE, note="；".join(
            f"{item.name} {cleaned[str(item.id)]['score'] if cleaned[str(item.id)]['score'] is not None else '—'}"
            for item in items), scores=json.dumps(cleaned, ensure_ascii=False), comment=comment)


def score_errors(scores, items):
    """{field: message} for every score outside 0–100 ({item id: (score, note)}), in the items' order."""
    errors = {}
    for item in items:
        score, _note = scores.get(item.id, (None, ""))
        if score is not None and not 0 <= score <= 100:
            errors[f"score-{item.id}"] = f"“{item.name}”的分数应在 0–100 之间"
    return errors


def sheet(evaluation):
    """Everything the form shows: the frozen copy once signed, else measured and scored now."""
    if evaluation.is_signed and evaluation.frozen:
        return json.loads(evaluation.frozen)
    items = list(EvaluationItem.ordered())
    rows, internal_score = _internal(json.loads(evaluation.scores), items)
    figures = measure(evaluation.user, evaluation.period_start, evaluation.period_end)
    weight = EvaluationSettings.current().feedback_weight
    total, grade = totals(figures["feedback_score"], internal_score, weight)
    return {"figures": figures, "items": [{"id": item.id, "name": item.name, "weight": item.weight, "score": score,
                                           "note": note} for item, score, note in rows],
            "internal_score": internal_score, "feedback_weight": weight, "total": total, "grade": grade,
            "reviews": reviews_of(evaluation)}


def ask_unit(actor, evaluation, reviewer, items):
    """Ask a business unit's staff member to score `items` of a draft evaluation."""
    if evaluation.is_signed or evaluation.voided_at is not None:
        raise EvaluationError("只有未签字的评估可以请业务块评分")
    if reviewer is None or reviewer.role != "unit" or not reviewer.is_active:
        raise EvaluationError("请选择业务块人员", "reviewer")
    items = [item for item in items if item.voided_at is None]
    if not items:
        raise EvaluationError("请选择要评分的项目", "items")
    with database.atomic():
        try:
            with database.atomic():
                review = UnitReview.create(evaluation=evaluation, reviewer=reviewer, items=json.dumps(
                    [item.id for item in items]), asked_at=clock.utcnow())
        except peewee.IntegrityError:
            raise EvaluationError(f"已请 {reviewer.display_name} 评分", "reviewer")
        events.record(actor, evaluation, "请业务块评分",
                      note=f"{reviewer.display_name}：" + "、".join(item.name for item in items))
    return review


def answer_review(actor, review, scores):
    """The unit's scores (0–100, a note each) for the items asked, once, before the sign-off."""
    if actor.id != review.reviewer_id:
        raise EvaluationError("只能填写请您评分的项目")
    if review.answered_at is not None:
        raise EvaluationError("已经评过分了")
    if review.evaluation.is_signed:
        raise EvaluationError("评估已签字确认")
    names = {item.id: item.name for item in EvaluationItem.select().where(EvaluationItem.id.in_(review.item_ids))}
    cleaned = {}
    for item_id in review.item_ids:
        score, note = scores.get(item_id, (None, ""))
        if score is None or not 0 <= score <= 100:
            raise EvaluationError(f"“{names.get(item_id, '')}”请打 0–100 分", f"score-{item_id}")
        cleaned[str(item_id)] = {"score": score, "note": checked_text(note, 200, "说明", f"note-{item_id}",
                                                                     error=EvaluationError)}
    with database.atomic():
        guarded(UnitReview.update(scores=json.dumps(cleaned, ensure_ascii=False), answered_at=clock.utcnow()).where(
            (UnitReview.id == review.id) & UnitReview.answered_at.is_null()), EvaluationError("已经评过分了"))
        events.record(actor, review.evaluation, "业务块评分", note="；".join(
            f"{names.get(int(k), k)} {v['score']}" for k, v in cleaned.items()))
    return UnitReview.get_by_id(review.id)


def reviews_of(evaluation):
    """[{"reviewer", "unit", "answered", "scores": [{"name", "score", "note"}]}] for the form."""
    items = {item.id: item.name for item in EvaluationItem.select()}
    found = []
    for review in evaluation.reviews.order_by(UnitReview.asked_at):
        scores = json.loads(review.scores)
        found.append({"reviewer": review.reviewer.display_name,
                      "unit": review.reviewer.unit.name if review.reviewer.unit else "",
                      "answered": review.answered_at is not None,
                      "scores": [{"name": items.get(item_id, ""), **scores.get(str(item_id), {"score": None, "note": ""})}
                                 for item_id in review.item_ids]})
    return found


def waiting_for(reviewer):
    return list(UnitReview.select().join(Evaluation).where(
        (UnitReview.reviewer == reviewer) & UnitReview.answered_at.is_null() & (Evaluation.state == "draft")
        & Evaluation.voided_at.is_null()).order_by(UnitReview.asked_at))


def sign_off(actor, evaluation, expected_version):
    """签字确认: every item scored; the figures, scores, weights and total are stored as they are now."""
    if evaluation.is_signed and evaluation.voided_at is None:
        raise EvaluationError("评估已签字确认")
    refused = MACHINE.refusal(evaluation, SIGN, actor.role)
    if refused:
        raise EvaluationError(refused)
    current = sheet(evaluation)
    refused = sign_off_refusal(evaluation, current)
    if refused:
        raise EvaluationError(*refused)
    with database.atomic():
        return MACHINE.transition(actor, evaluation, expected_version, SIGN,
                                  note=f"总分 {current['total']}，{current['grade']}",
                                  frozen=json.dumps(current, ensure_ascii=False), total=current["total"],
                                  grade=current["grade"], signed_by=actor, signed_at=clock.utcnow())


def sign_off_refusal(evaluation, current=None):
    """(message, field) saying why the evaluation can't be signed off yet, or None."""
    current = current or sheet(evaluation)
    if not current["items"]:
        return "还没有评估项目，请管理员先设置", None
    if current["internal_score"] is None:
        missing = next(row for row in current["items"] if row["score"] is None)
        return f"还有项目没有评分：{missing['name']}", f"score-{missing['id']}"
    return None


def comment_as_assistant(actor, evaluation, comment):
    """The assistant's own comment on their evaluation (本人意见), once it is signed off."""
    if actor.id != evaluation.user_id:
        raise EvaluationError("只能对自己的评估填写意见")
    if not evaluation.is_signed:
        raise EvaluationError("主管签字确认后才能填写本人意见")
    comment = checked_text(comment, 1000, "本人意见", "assistant_comment", required=True, error=EvaluationError)
    if evaluation.assistant_comment:
        raise EvaluationError("本人意见已填写")
    with database.atomic():
        return MACHINE.transition(actor, evaluation, evaluation.version, COMMENT, note=comment,
                                  assistant_comment=comment)


# The items

def _whole(value, label, field, low, high):
    try:
        number = int(str(value).strip())
    except ValueError:
        raise EvaluationError(f"{label}请填写整数", field)
    if not low <= number <= high:
        raise EvaluationError(f"{label}应在 {low}–{high} 之间", field)
    return number


def update_items(actor, rows, new_name, new_weight, feedback_weight, expected_version):
    """Rename, reweigh, remove and add items, and set the feedback's weight — all or nothing."""
    settings = EvaluationSettings.current()
    weight = _whole(feedback_weight, "客户反馈的权重", "feedback_weight", 0, 100)
    changes = []
    with database.atomic():
        for item, name, item_weight, remove in rows:
            if remove:
                EvaluationItem.update(voided_at=clock.utcnow(), void_reason="管理员删除").where(
                    EvaluationItem.id == item.id).execute()
                changes.append(f"删除 {item.name}")
                continue
            name = (name or "").strip()
            if not name or len(name) > 30:
                raise EvaluationError("项目名称不能为空，不超过 30 个字", f"name-{item.id}")
            item_weight = _whole(item_weight, f"“{name}”的权重", f"weight-{item.id}", 1, 100)
            if (name, item_weight) != (item.name, item.weight):
                EvaluationItem.update(name=name, weight=item_weight, version=EvaluationItem.version + 1).where(
                    EvaluationItem.id == item.id).execute()
                changes.append(f"{item.name} {item.weight} → {name} {item_weight}")
        if (new_name or "").strip():
            name = new_name.strip()[:30]
            item_weight = _whole(new_weight, "新项目的权重", "new_weight", 1, 100)
            EvaluationItem.create(name=name, weight=item_weight, sort=len(rows) + 1)
            changes.append(f"新增 {name} {item_weight}")
        if not EvaluationItem.live().exists():
            raise EvaluationError("至少保留一个评估项目")
        if weight != settings.feedback_weight:
            changes.append(f"客户反馈权重 {settings.feedback_weight}% → {weight}%")
        guarded(EvaluationSettings.update(feedback_weight=weight, version=EvaluationSettings.version + 1)
                .where((EvaluationSettings.id == settings.id) & (EvaluationSettings.version == expected_version)))
        events.record(actor, settings, "修改评估项目", note="；".join(changes) or "未改动")
