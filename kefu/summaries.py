"""Monthly work summaries and case analysis (月度工作总结 / 案例分析): per assistant per month, a draft
prepared from the month's own records — requests by category and tier, the limits kept, satisfaction,
reopening, repeat requests at one place, patrol coverage, problems found by unit and how long they
took to close, visits in and out of the windows, needs and service orders — plus the month's cases
to pick from. The assistant writes the summary, the case analyses and the 品质监督解决方案; the
supervisor comments and signs off, which freezes the figures.
"""
import datetime
import json
from collections import Counter

import peewee
from dateutil.relativedelta import relativedelta

from . import clock
from . import lifecycle
from .access import zone_ids
from .customers import Need
from .customers import Visit
from .db import BaseModel
from .db import RuleError
from .db import VersionedMixin
from .db import checked_text
from .db import database
from .estate import current_tz as _tz
from .evaluations import measure
from .patrols import Finding
from .services import ServiceOrder
from .tickets import Ticket
from .tickets import Tier
from .trends import coverage
from .users import Unit
from .users import User
from .workorders import WorkOrder

STATES = {"draft": "草稿", "submitted": "已提交", "signed": "已签阅"}


class SummaryError(RuleError):
    pass



class MonthlySummary(VersionedMixin, BaseModel):
    user = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    month = peewee.DateField()  # its first day
    state = peewee.CharField(max_length=10, default="draft")
    summary = peewee.TextField(default="")
    solutions = peewee.TextField(default="")  # 品质监督解决方案
    cases = peewee.TextField(default="{}")    # ticket id → the assistant's analysis
    comment = peewee.TextField(default="")    # the supervisor's
    frozen = peewee.TextField(default="")
    signed_by = peewee.ForeignKeyField(User, null=True, backref="+", on_delete="RESTRICT")
    signed_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "month"), True), (("state",), False))

    @property
    def state_label(self):
        return STATES[self.state]

    @property
    def last_day(self):
        return self.month + relativedelta(months=1) - datetime.timedelta(days=1)

    @property
    def case_notes(self):
        return {int(k): v for k, v in json.loads(self.cases).items()}


MODELS = [MonthlySummary]

# What the assistant and the supervisor do with a month's summary.
SAVE, SUBMIT, SIGN, SEND_BACK = "save", "submit", "sign", "send_back"
MACHINE = lifecycle.Machine(MonthlySummary, "月度总结", STATES, [
    lifecycle.step(SAVE, "保存月度总结", ("draft", "submitted"), None, ("assistant",)),
    lifecycle.step(SUBMIT, "提交月度总结", ("draft", "submitted"), "submitted", ("assistant",)),
    lifecycle.step(SIGN, "签阅月度总结", "submitted", "signed", ("supervisor",)),
    lifecycle.step(SEND_BACK, "退回修改", "submitted", "draft", ("supervisor",)),
], open_states=("draft", "submitted"), error=SummaryError)
WRITE_BY_DAY = 5   # a month's summary is written by the 5th of the next month
SIGN_WITHIN_DAYS = 10  # and signed within ten days of the month's end


def write_due(month):
    """When the assistant's summary of `month` (its first day) is due: the end of the next month's 5th."""
    following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=WRITE_BY_DAY)  # next month's
    return clock.day_bounds(following, _tz())[1]


MACHINE.wait("summary.write", "月度总结", "draft", "assistant", lambda s: write_due(s.month), SUBMIT)
MACHINE.wait("summary.sign", "待签阅总结", "submitted", "supervisor",
             lambda s: write_due(s.month) + datetime.timedelta(days=SIGN_WITHIN_DAYS - WRITE_BY_DAY), SIGN)


NO_UNIT = "当场解决 / 需关注"  # the findings handed to no unit's work order


def findings_by_unit():
    """Findings, each with the name of the unit whose work order it was handed to (`unit_name`, None
    for none) — what 巡查问题（按处理业务块） groups by."""
    return (Finding.select(Finding, Unit.name.alias("unit_name"))
            .join(WorkOrder, peewee.JOIN.LEFT_OUTER, on=((Finding.handed_to == "workorder") & (Finding.handed_id == WorkOrder.id)))
            .join(Unit, peewee.JOIN.LEFT_OUTER, on=(WorkOrder.unit == Unit.id)))


def of_unit(name):
    """The condition on `findings_by_unit` for one of its groups (NO_UNIT: those handed to no unit)."""
    return Unit.name.is_null() if name == NO_UNIT else (Unit.name == name)


def figures(user, month):
    """The month's figures of `user`, each a count of the records."""
    last = month + relativedelta(months=1) - datetime.timedelta(days=1)
    start, _ = clock.day_bounds(month, _tz())
    _, end = clock.day_bounds(last, _tz())
    feedback = measure(user, month, last)
    tickets = list(Ticket.select(Ticket, Tier.name.alias("tier_name")).join(Tier)
                   .where((Ticket.assignee == user) & Ticket.voided_at.is_null() & (Ticket.created_at >= start)
                          & (Ticket.created_at < end)).objects())
    places = Counter(t.location for t in tickets)
    findings = list(findings_by_unit().where(Finding.zone.in_(zone_ids(user)) & (Finding.created_at >= start)
                                             & (Finding.created_at < end)).objects())
    by_unit = {}
    for finding in findings:
        name = finding.unit_name or NO_UNIT
        entry = by_unit.setdefault(name, {"count": 0, "closed": 0, "hours": 0.0})
        entry["count"] += 1
        if finding.resolved_at is not None:
            entry["closed"] += 1
            entry["hours"] += (finding.resolved_at - finding.created_at).total_seconds() / 3600
    visits = list(Visit.live().where((Visit.created_by == user) & (Visit.at >= start) & (Visit.at < end)))
    needs = Need.live().where((Need.created_by == user) & (Need.created_at >= start) & (Need.created_at < end))
    orders = ServiceOrder.select().where((ServiceOrder.created_by == user) & (ServiceOrder.created_at >= start)
                                         & (ServiceOrder.created_at < end))
    return {
        "feedback": feedback,
        "by_category": dict(Counter(t.category for t in tickets).most_common()),
        "by_tier": dict(Counter(t.tier_name for t in tickets).most_common()),
        "reopened": sum(1 for t in tickets if t.reopen_count),
        "reopen_rate": round(100 * sum(1 for t in tickets if t.reopen_count) / len(tickets), 1) if tickets else None,
        "repeats": {place: n for place, n in places.most_common() if n > 1},
        "coverage": coverage(user, month, min(last, clock.today(_tz()))),
        "findings": {name: {"count": e["count"], "closed": e["closed"],
                            "avg_hours": round(e["hours"] / e["closed"], 1) if e["closed"] else None}
                     for name, e in sorted(by_unit.items(), key=lambda item: -item[1]["count"])},
        "visits": len(visits),
        "visits_in_window": sum(1 for v in visits if v.windows),
        "needs": needs.count(),
        "service_orders": orders.count(),
    }


def cases_of(user, month):
    """The month's requests of `user` marked as cases (案例), to pick from."""
    last = month + relativedelta(months=1) - datetime.timedelta(days=1)
    start, _ = clock.day_bounds(month, _tz())
    _, end = clock.day_bounds(last, _tz())
    return list(Ticket.select().where((Ticket.assignee == user) & Ticket.is_case & Ticket.voided_at.is_null()
                                      & (Ticket.created_at >= start) & (Ticket.created_at < end))
                .order_by(Ticket.created_at))


def summary_for(user, month):
    """The summary of `user` for `month`: the stored one, or an empty draft not yet stored (opening a
    page writes nothing; the first save stores it). Only a month that has begun."""
    month = month.replace(day=1)
    if month > clock.today(_tz()):
        raise SummaryError("这个月还没有开始")
    found = MonthlySummary.get_or_none((MonthlySummary.user == user) & (MonthlySummary.month == month))
    return found if found is not None else MonthlySummary(user=user, month=month)


def _stored(summary):
    """The draft's row, made by its first save (or by whoever saved it first)."""
    if summary.id is not None:
        return summary
    try:
        with database.atomic():
            return MonthlySummary.create(user=summary.user, month=summary.month)
    except peewee.IntegrityError:
        return MonthlySummary.get((MonthlySummary.user == summary.user) & (MonthlySummary.month == summary.month))


def save(actor, summary, expected_version, text, solutions, cases, submit=False):
    """The assistant writes (and may submit) the summary, the 品质监督解决方案 and case analyses
    ({ticket id: analysis} of the month's cases)."""
    if actor.id != summary.user_id:
        raise SummaryError("只能填写自己的月度总结")
    if summary.state == "signed":
        raise SummaryError("主管已签阅，不能再修改")
    text = checked_text(text, 5000, "工作总结", "summary", required=submit, error=SummaryError)
    solutions = checked_text(solutions, 3000, "品质监督解决方案", "solutions", required=submit, error=SummaryError)
    allowed = {t.id for t in cases_of(summary.user, summary.month)}
    notes = {}
    for ticket_id, analysis in cases.items():
        analysis = checked_text(analysis, 2000, "案例分析", f"case-{ticket_id}", error=SummaryError)
        if analysis and ticket_id in allowed:
            notes[str(ticket_id)] = analysis
    summary = _stored(summary)
    with database.atomic():
        return MACHINE.transition(actor, summary, expected_version, SUBMIT if submit else SAVE,
                                  note=f"{summary.month:%Y年%m月}，案例分析 {len(notes)} 篇", summary=text,
                                  solutions=solutions, cases=json.dumps(notes, ensure_ascii=False))


def sign(actor, summary, expected_version, comment):
    """The supervisor's comment and 签阅, once submitted: the figures are stored as they are now."""
    if summary.state != "submitted":
        raise SummaryError("助理提交后才能签阅")
    comment = checked_text(comment, 2000, "主管评语", "comment", required=True, error=SummaryError)
    frozen = json.dumps(figures(summary.user, summary.month), ensure_ascii=False)
    with database.atomic():
        return MACHINE.transition(actor, summary, expected_version, SIGN, note=comment, comment=comment,
                                  frozen=frozen, signed_by=actor, signed_at=clock.utcnow())


def send_back(actor, summary, expected_version, note):
    """The supervisor sends a submitted summary back to its assistant, saying what to change."""
    if summary.state != "submitted":
        raise SummaryError("助理提交后才能退回")
    note = checked_text(note, 1000, "退回意见", "comment", required=True, error=SummaryError)
    with database.atomic():
        return MACHINE.transition(actor, summary, expected_version, SEND_BACK, note=note, comment=note)


def figures_of(summary):
    """The stored figures once signed; the month's records counted now before that."""
    return json.loads(summary.frozen) if summary.frozen else figures(summary.user, summary.month)
