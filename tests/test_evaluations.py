"""Assistant evaluations (岗位评估): the schedule from the start date — monthly for six months, then
quarterly, counted so month ends don't drift — what is due and overdue, the customer feedback measured
from the period's records (every figure a direct count of a hand-built period), the internal items
scored, the weighted total and grade, sign-off freezing the form, and the assistant's own comment —
the rules called directly, with the clock frozen in Shanghai time.
"""
import datetime
import json
import types

import pytest

from kefu import customers
from kefu import evaluations
from kefu import events
from kefu import tickets
from kefu import workorders
from kefu.customers import Visit
from kefu.db import StaleRecord
from kefu.evaluations import Evaluation
from kefu.evaluations import EvaluationError
from kefu.evaluations import EvaluationItem
from kefu.evaluations import EvaluationSettings
from kefu.evaluations import ServiceStart
from test_tickets import actions
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

M, Q = "monthly", "quarterly"

# The scores the supervisor gives in the tests below: weighted by the default items, 84.0.
SCORES = {"诉求响应与跟踪": 90, "现场品质监督": 80, "客户沟通与拜访": 70, "商铺与装修管理": 100,
          "工作记录与总结": 60, "例会参与": 100, "团队协作": 85}


def day(month, number, year=2026):
    return datetime.date(year, month, number)


def fresh(record):
    return type(record).get_by_id(record.id)


def start(w, started_on, who=None):
    """The supervisor records the day an assistant (张助理 unless told) started."""
    evaluations.set_start(w.supervisor, who or w.assistant, started_on)


def item(name):
    return EvaluationItem.get(EvaluationItem.name == name)


def scored(w, evaluation, scores=None, comment="", version=None):
    """The supervisor saves scores by item name (SCORES unless told; None leaves an item blank)."""
    scores = SCORES if scores is None else scores
    typed = {i.id: (scores.get(i.name), "") for i in EvaluationItem.ordered()}
    return evaluations.save_scores(w.supervisor, evaluation, evaluation.version if version is None else version,
                                   typed, comment)


def signed(w, evaluation, scores=None):
    evaluation = scored(w, evaluation, scores)
    return evaluations.sign_off(w.supervisor, evaluation, evaluation.version)


def opened(w, period_start, who=None):
    return evaluations.open_evaluation(w.supervisor, who or w.assistant, period_start)


def due_rows(today, users=None):
    return [(user.display_name, first, last, kind, evaluation.id if evaluation else None, overdue)
            for user, first, last, kind, evaluation, overdue in evaluations.due(today, users)]


# The schedule

def test_a_start_on_the_31st_counts_each_period_from_the_start_date_and_goes_quarterly_after_six_months():
    assert evaluations.periods(day(1, 31), day(1, 31, 2027)) == [
        (day(1, 31), day(2, 27), M),
        (day(2, 28), day(3, 30), M),
        (day(3, 31), day(4, 29), M),
        (day(4, 30), day(5, 30), M),
        (day(5, 31), day(6, 29), M),
        (day(6, 30), day(7, 30), M),
        (day(7, 31), day(10, 30), Q),
        (day(10, 31), day(1, 30, 2027), Q),
        (day(1, 31, 2027), day(4, 29, 2027), Q),
    ]


def test_a_start_mid_month_runs_from_the_15th_to_the_14th():
    assert evaluations.periods(day(3, 15), day(3, 15, 2027)) == [
        (day(3, 15), day(4, 14), M),
        (day(4, 15), day(5, 14), M),
        (day(5, 15), day(6, 14), M),
        (day(6, 15), day(7, 14), M),
        (day(7, 15), day(8, 14), M),
        (day(8, 15), day(9, 14), M),
        (day(9, 15), day(12, 14), Q),
        (day(12, 15), day(3, 14, 2027), Q),
        (day(3, 15, 2027), day(6, 14, 2027), Q),
    ]


def test_a_start_on_a_leap_day_keeps_to_the_29th_where_the_month_has_one():
    assert evaluations.periods(day(2, 29, 2024), day(3, 1, 2025)) == [
        (day(2, 29, 2024), day(3, 28, 2024), M),
        (day(3, 29, 2024), day(4, 28, 2024), M),
        (day(4, 29, 2024), day(5, 28, 2024), M),
        (day(5, 29, 2024), day(6, 28, 2024), M),
        (day(6, 29, 2024), day(7, 28, 2024), M),
        (day(7, 29, 2024), day(8, 28, 2024), M),
        (day(8, 29, 2024), day(11, 28, 2024), Q),
        (day(11, 29, 2024), day(2, 27, 2025), Q),
        (day(2, 28, 2025), day(5, 28, 2025), Q),
    ]


def test_the_seventh_period_is_the_first_quarter():
    found = evaluations.periods(day(3, 15), day(12, 14))
    assert [kind for _first, _last, kind in found] == [M] * 6 + [Q]
    sixth, seventh = found[5], found[6]
    assert (sixth[1] - sixth[0]).days + 1 == 31          # 08-15 … 09-14
    assert (seventh[0], seventh[1]) == (day(9, 15), day(12, 14))


@pytest.mark.parametrize("started_on", [day(1, 31), day(3, 15), day(2, 29, 2024), day(8, 31), day(12, 31, 2025),
                                        day(11, 30)])
def test_periods_follow_one_another_without_gap_or_overlap(started_on):
    found = evaluations.periods(started_on, started_on + datetime.timedelta(days=3 * 366))
    assert found[0][0] == started_on
    for (_first, last, _kind), (following, _last, _kind2) in zip(found, found[1:]):
        assert following == last + datetime.timedelta(days=1)
    assert all(first <= last for first, last, _kind in found)


def test_only_periods_starting_by_the_given_day_are_listed():
    assert evaluations.periods(day(3, 15), day(3, 14)) == []
    assert evaluations.periods(day(3, 15), day(3, 15)) == [(day(3, 15), day(4, 14), M)]
    assert len(evaluations.periods(day(3, 15), day(4, 14))) == 1
    assert len(evaluations.periods(day(3, 15), day(4, 15))) == 2


# What is due

def test_due_lists_ended_unsigned_periods_of_every_assistant_oldest_first(world):
    start(world, day(9, 10))
    start(world, day(8, 20), world.assistant2)
    assert due_rows(day(11, 27)) == [
        ("王助理", day(8, 20), day(9, 19), M, None, True),
        ("张助理", day(9, 10), day(10, 9), M, None, True),
        ("王助理", day(9, 20), day(10, 19), M, None, True),
        ("张助理", day(10, 10), day(11, 9), M, None, True),
        ("王助理", day(10, 20), day(11, 19), M, None, False),
    ]  # the periods running on 11-27 (11-10 …, 11-20 …) are not due yet


def test_an_assistant_without_a_start_date_has_nothing_due(world):
    start(world, day(10, 10))
    assert {row[0] for row in due_rows(day(11, 27))} == {"张助理"}
    assert due_rows(day(11, 27), [world.assistant2]) == []


def test_a_period_is_due_the_day_after_its_last_day(world):
    start(world, day(10, 10))
    assert due_rows(day(11, 9)) == []
    assert due_rows(day(11, 10)) == [("张助理", day(10, 10), day(11, 9), M, None, False)]


def test_a_period_is_overdue_only_after_fourteen_days(world):
    start(world, day(10, 10))
    assert due_rows(day(11, 23))[0][-1] is False   # 14 days after 11-09
    assert due_rows(day(11, 24))[0][-1] is True    # 15 days


def test_a_draft_stays_due_with_its_draft_and_a_signed_one_drops_out(world):
    start(world, day(9, 10))
    first = signed(world, opened(world, day(9, 10)))
    draft = opened(world, day(10, 10))
    assert first.is_signed
    assert due_rows(day(11, 27)) == [("张助理", day(10, 10), day(11, 9), M, draft.id, True)]


def test_a_voided_draft_no_longer_counts_for_its_period(world, traveller):
    start(world, day(5, 15))
    opened(world, day(6, 15))
    traveller.move_to(sh(11, 27, 11, 0))
    start(world, day(6, 1))   # the 06-15 period is gone; 06-01 … is due, without a draft
    assert [row[4] for row in due_rows(day(11, 27))] == [None] * 5


# The start date

@pytest.mark.parametrize("who", ["supervisor", "frontdesk", "engineer"])
def test_only_an_assistant_has_a_start_date(world, who):
    with pytest.raises(EvaluationError) as refused:
        start(world, day(5, 15), getattr(world, who))
    assert refused.value.field == "user" and "客户助理" in refused.value.message
    assert ServiceStart.select().count() == 0


@pytest.mark.parametrize("started_on, says", [(None, "请填写开始日期"), (day(11, 28), "不能晚于今天")])
def test_a_start_date_is_needed_and_not_in_the_future(world, started_on, says):
    with pytest.raises(EvaluationError) as refused:
        start(world, started_on)
    assert refused.value.field == "started_on" and says in refused.value.message
    assert evaluations.start_of(world.assistant) is None


def test_today_is_the_shanghai_day_for_the_start_date(world, traveller):
    traveller.move_to(sh(11, 28, 0, 30))  # still 11-27 in UTC
    start(world, day(11, 28))
    assert evaluations.start_of(world.assistant) == day(11, 28)


def test_setting_and_changing_the_start_date_shows_on_the_assistants_timeline(world):
    start(world, day(5, 15))
    start(world, day(6, 1))
    setting = [e for e in events.timeline(world.assistant) if e.action == "设置助理服务开始日期"]
    assert [(e.actor_name, e.note) for e in setting] == [("刘主管", "2026-05-15"),
                                                         ("刘主管", "2026-05-15 → 2026-06-01")]
    assert evaluations.start_of(world.assistant) == day(6, 1)


def test_changing_the_start_date_from_a_stale_form_is_refused(world):
    start(world, day(5, 15))
    evaluations.set_start(world.supervisor, world.assistant, day(6, 1), expected_version=1)
    with pytest.raises(StaleRecord):
        evaluations.set_start(world.supervisor, world.assistant, day(7, 1), expected_version=1)
    assert evaluations.start_of(world.assistant) == day(6, 1)


def test_a_new_start_date_voids_drafts_whose_period_is_gone_and_leaves_signed_ones(world, traveller):
    start(world, day(5, 15))
    done = signed(world, opened(world, day(5, 15)))
    gone = opened(world, day(6, 15))
    traveller.move_to(sh(11, 27, 11, 0))
    start(world, day(6, 1))
    gone = fresh(gone)
    assert gone.is_voided and "开始日期变更" in gone.void_reason
    assert actions(gone)[-1] == "作废"
    kept = fresh(done)
    assert not kept.is_voided and kept.is_signed
    assert (kept.total, kept.grade, kept.version, kept.period_end) == (done.total, done.grade, done.version,
                                                                      day(6, 14))
    assert evaluations.sheet(kept) == evaluations.sheet(done)


def test_a_new_start_date_keeps_a_draft_whose_period_is_unchanged(world):
    start(world, day(5, 15))
    draft = opened(world, day(8, 15))
    start(world, day(4, 15))   # 08-15 … 09-14 is still a monthly period (the fifth)
    assert not fresh(draft).is_voided
    assert evaluations.open_evaluation(world.supervisor, world.assistant, day(8, 15)).id == draft.id


def test_no_draft_is_left_with_a_period_the_new_start_date_no_longer_has(world):
    """From 05-10 the period starting 10-10 is the sixth month (10-10 … 11-09); from 04-10 it is the first
    quarter (10-10 … 2027-01-09). A draft made under the old date must not go on measuring the old days."""
    start(world, day(5, 10))
    draft = opened(world, day(10, 10))
    assert (draft.period_end, draft.kind) == (day(11, 9), M)
    start(world, day(4, 10))
    schedule = set(evaluations.periods(day(4, 10), day(11, 27)))
    live = [(e.period_start, e.period_end, e.kind)
            for e in Evaluation.live().where(Evaluation.user == world.assistant)]
    assert set(live) <= schedule, f"draft left with a period that no longer exists: {live}"


# Opening an evaluation

def test_opening_an_evaluation_makes_a_draft_for_the_period(world):
    start(world, day(1, 31))
    evaluation = opened(world, day(7, 31))
    assert (evaluation.period_start, evaluation.period_end, evaluation.kind) == (day(7, 31), day(10, 30), Q)
    assert (evaluation.kind_label, evaluation.period_label) == ("季度评估", "2026-07-31 至 2026-10-30")
    assert evaluation.state == "draft" and not evaluation.is_signed and evaluation.created_by == world.supervisor
    event = events.timeline(evaluation)[-1]
    assert (event.action, event.note) == ("开始评估", "张助理 季度评估 2026-07-31–2026-10-30")


def test_opening_twice_returns_the_same_draft(world):
    start(world, day(5, 15))
    first = opened(world, day(6, 15))
    again = opened(world, day(6, 15))
    assert again.id == first.id
    assert Evaluation.select().count() == 1
    assert actions(first) == ["开始评估"]


@pytest.mark.parametrize("period_start", [day(6, 16), day(5, 14), day(12, 15)])
def test_opening_a_period_the_schedule_does_not_have_is_refused(world, period_start):
    start(world, day(5, 15))   # 12-15 would be a period, but it hasn't begun
    with pytest.raises(EvaluationError) as refused:
        opened(world, period_start)
    assert refused.value.message == "没有这个评估周期"
    assert Evaluation.select().count() == 0


def test_a_period_still_running_cannot_be_evaluated_yet(world):
    start(world, day(5, 15))   # the quarter 11-15 … 2027-02-14 is under way on 11-27
    with pytest.raises(EvaluationError) as refused:
        opened(world, day(11, 15))
    assert refused.value.message == "本期到 2027-02-14 才结束，结束后再评估"
    assert Evaluation.select().count() == 0


def test_an_assistant_without_a_start_date_cannot_be_evaluated(world):
    with pytest.raises(EvaluationError) as refused:
        opened(world, day(6, 15))
    assert "开始日期" in refused.value.message
    assert Evaluation.select().count() == 0


# The measured customer feedback: one period (10-15 … 11-14) built by hand

FIRST, LAST = day(10, 15), day(11, 14)
EXPECTED = {
    "tickets": 4,                   # A, B, C, D
    "responded_on_time": 3,         # A, B, C; D answered late
    "response_rate": 75.0,
    "resolved": 3,                  # A (by work order), B (after a 不满意 reopening), C; D still open
    "resolved_on_time": 2,          # A, B; C past its four hours
    "resolution_rate": 66.7,
    "followups": 4,                 # 满意 (A), 不满意 and 基本满意 (B), 满意 (C); B's 未接通 not counted
    "satisfied": 3,
    "unhappy": 1,
    "satisfaction_rate": 75.0,
    "visits": 2,
    "praise": 1,
    "meetings_attended": 0,
    "meetings_held": 0,
    "feedback_score": 72.2,         # (75.0 + 66.7 + 75.0) / 3 = 72.23
}


def _visit(w, at, opinions, actor=None, household=None):
    made, created = customers.record_visit(actor or w.assistant, at=at, form="上门",
                                           households=[household or w.home],
                                           opinions=[(kind, text, None) for kind, text in opinions])
    assert created
    return made


@pytest.fixture
def period(world, traveller):
    """张助理's tickets, call-backs and visits of 10-15 … 11-14, and records that must not count."""
    w, t = world, types.SimpleNamespace()

    def at(month, number, hour, minute=0):
        traveller.move_to(sh(month, number, hour, minute))

    # A: answered in time, resolved by 工程部's work order in time, 满意.
    at(10, 20, 10)
    t.a = intake(w, description="卫生间漏水")
    at(10, 20, 10, 30)
    t.a = tickets.respond(w.assistant, t.a, t.a.version, "电话", "")
    t.a, order = tickets.dispatch(w.assistant, t.a, t.a.version, w.engineering, "修水管", sh(10, 20, 18))
    at(10, 20, 11)
    order = workorders.accept(w.engineer, order, order.version)
    at(10, 20, 14)
    order = workorders.report_done(w.engineer, order, order.version, "已更换水管")
    at(10, 20, 14, 30)
    workorders.inspect(w.assistant, order, order.version, True)
    t.a = fresh(t.a)
    assert t.a.state == "resolved"
    at(10, 21, 10)
    t.a = tickets.record_followup(w.assistant, t.a, t.a.version, "电话", "满意")

    # B: answered in time; not reached, then 不满意 (reopened), put right in time, then 基本满意.
    at(10, 22, 10)
    t.b = intake(w, description="楼道灯不亮")
    at(10, 22, 10, 45)
    t.b = tickets.respond(w.assistant, t.b, t.b.version, "电话", "")
    at(10, 22, 11)
    t.b = tickets.resolve_on_the_spot(w.assistant, t.b, t.b.version, "更换灯泡")
    at(10, 22, 12)
    t.b = tickets.record_followup(w.assistant, t.b, t.b.version, "电话", "未接通")
    at(10, 22, 15)
    t.b = tickets.record_followup(w.assistant, t.b, t.b.version, "电话", "不满意", "灯还是闪")
    at(10, 23, 10)
    t.b = tickets.resolve_on_the_spot(w.assistant, t.b, t.b.version, "更换镇流器")
    at(10, 23, 16)
    t.b = tickets.record_followup(w.assistant, t.b, t.b.version, "上门", "基本满意")

    # C: urgent, answered in time, resolved an hour past its 14:00 limit, 满意.
    at(10, 25, 10)
    t.c = intake(w, tier=w.urgent, description="单元门坏了")
    at(10, 25, 10, 20)
    t.c = tickets.respond(w.assistant, t.c, t.c.version, "上门", "")
    at(10, 25, 15)
    t.c = tickets.resolve_on_the_spot(w.assistant, t.c, t.c.version, "修好门锁")
    at(10, 26, 9)
    t.c = tickets.record_followup(w.assistant, t.c, t.c.version, "电话", "满意")

    # D: taken at 23:30 on the last day (counts), answered after its 09:00 limit the next morning.
    at(11, 14, 23, 30)
    t.d = intake(w, description="邻居噪音")
    at(11, 15, 9, 30)
    t.d = tickets.respond(w.assistant, t.d, t.d.version, "电话", "")

    # Not counted: 王助理's ticket, answered late and 不满意.
    at(10, 20, 11)
    t.other = intake(w, w.assistant2, household=w.home2, description="绿化带积水")
    at(10, 20, 12, 30)
    t.other = tickets.respond(w.assistant2, t.other, t.other.version, "电话", "")
    t.other = tickets.resolve_on_the_spot(w.assistant2, t.other, t.other.version, "疏通")
    at(10, 21, 11)
    t.other = tickets.record_followup(w.assistant2, t.other, t.other.version, "电话", "不满意", "还有积水")

    # Not counted: 张助理's tickets of 23:50 the day before the period and 00:10 the day after, both late.
    at(10, 14, 23, 50)
    t.before = intake(w, description="前一天的诉求")
    at(10, 15, 9, 30)
    t.before = tickets.respond(w.assistant, t.before, t.before.version, "电话", "")
    at(11, 15, 0, 10)
    t.after = intake(w, description="后一天的诉求")
    at(11, 15, 10)
    t.after = tickets.respond(w.assistant, t.after, t.after.version, "电话", "")

    # Not counted: a voided ticket in the period, answered late and 不满意 before it was voided.
    at(10, 28, 10)
    t.voided = intake(w, description="录重复了")
    at(10, 28, 12)
    t.voided = tickets.respond(w.assistant, t.voided, t.voided.version, "电话", "")
    t.voided = tickets.resolve_on_the_spot(w.assistant, t.voided, t.voided.version, "处理了")
    at(10, 28, 15)
    t.voided = tickets.record_followup(w.assistant, t.voided, t.voided.version, "电话", "不满意", "没处理好")
    at(10, 28, 16)
    t.voided = tickets.void(w.supervisor, t.voided, t.voided.version, "重复录入")

    # Visits: two of 张助理's in the period (one praise), and some that don't count.
    at(10, 20, 19)
    _visit(w, sh(10, 20, 18, 30), [("表扬", "张助理很热心"), ("建议", "楼道灯太暗")])
    at(11, 14, 23, 45)
    _visit(w, sh(11, 14, 23, 30), [("意见", "电梯太慢")])
    at(10, 14, 23, 55)
    _visit(w, sh(10, 14, 23, 50), [("表扬", "前一天的表扬")])
    at(11, 15, 8)
    _visit(w, sh(11, 15, 0, 10), [("表扬", "后一天的表扬")])
    at(10, 21, 19)
    _visit(w, sh(10, 21, 18, 30), [("表扬", "王助理很好")], actor=w.assistant2, household=w.home2)
    at(10, 30, 19)
    cancelled = _visit(w, sh(10, 30, 18, 30), [("表扬", "记错了")])
    Visit.update(voided_at=cancelled.at, void_reason="记错了").where(Visit.id == cancelled.id).execute()

    traveller.move_to(sh(11, 20, 10))
    return t


def test_every_feedback_figure_is_a_count_of_the_periods_records(world, period):
    assert evaluations.measure(world.assistant, FIRST, LAST) == EXPECTED


def test_the_other_assistants_figures_are_their_own(world, period):
    figures = evaluations.measure(world.assistant2, FIRST, LAST)
    # answered late, and reopened by the 不满意 call-back: not resolved any more
    assert (figures["tickets"], figures["responded_on_time"], figures["resolved"], figures["resolution_rate"]) == \
        (1, 0, 0, None)
    assert (figures["followups"], figures["unhappy"], figures["satisfaction_rate"]) == (1, 1, 0.0)
    assert (figures["visits"], figures["praise"]) == (1, 1)
    assert figures["feedback_score"] == 0.0


def test_the_period_bounds_are_shanghai_days(world, traveller):
    for moment in (sh(10, 14, 23, 59), sh(10, 15, 0, 0), sh(11, 14, 23, 59), sh(11, 15, 0, 0)):
        traveller.move_to(moment)
        intake(world)
        _visit(world, moment, [("表扬", "好")])
    figures = evaluations.measure(world.assistant, FIRST, LAST)
    assert (figures["tickets"], figures["visits"], figures["praise"]) == (2, 2, 2)


def test_a_period_with_nothing_to_measure_has_no_rates_and_no_feedback_score(world):
    figures = evaluations.measure(world.assistant, FIRST, LAST)
    assert figures == {"tickets": 0, "responded_on_time": 0, "response_rate": None, "resolved": 0,
                       "resolved_on_time": 0, "resolution_rate": None, "followups": 0, "satisfied": 0,
                       "unhappy": 0, "satisfaction_rate": None, "visits": 0, "praise": 0, "meetings_attended": 0,
                       "meetings_held": 0, "feedback_score": None}


def test_the_feedback_score_averages_only_the_rates_there_are(world, traveller):
    traveller.move_to(sh(10, 20, 10))
    ticket = intake(world)
    traveller.move_to(sh(10, 20, 11, 30))  # due 11:00
    tickets.respond(world.assistant, ticket, ticket.version, "电话", "")
    figures = evaluations.measure(world.assistant, FIRST, LAST)
    assert (figures["response_rate"], figures["resolution_rate"], figures["satisfaction_rate"]) == (0.0, None, None)
    assert figures["feedback_score"] == 0.0


# The total and the grade

@pytest.mark.parametrize("total, grade", [
    (100, "优秀"), (90, "优秀"), (89.9, "良好"), (80, "良好"), (79.9, "合格"), (60, "合格"), (59.9, "不合格"),
    (0, "不合格"),
])
def test_the_grade_goes_by_90_80_and_60(total, grade):
    assert evaluations.grade_of(total) == grade


@pytest.mark.parametrize("feedback, internal, weight, expected", [
    (90.0, 90.0, 40, (90.0, "优秀")),
    (100.0, 83.4, 40, (90.0, "优秀")),      # 40 + 50.04 = 90.04
    (100.0, 83.2, 40, (89.9, "良好")),      # 40 + 49.92 = 89.92
    (80.0, 80.0, 40, (80.0, "良好")),
    (75.0, 83.0, 40, (79.8, "合格")),       # 30 + 49.8
    (60.0, 60.0, 40, (60.0, "合格")),
    (50.0, 66.0, 40, (59.6, "不合格")),     # 20 + 39.6
    (72.2, 84.0, 40, (79.3, "合格")),       # 28.88 + 50.4 = 79.28
    (100.0, 50.0, 0, (50.0, "不合格")),     # the feedback weighing nothing
    (100.0, 50.0, 100, (100.0, "优秀")),    # the feedback weighing everything
])
def test_the_total_weighs_the_feedback_against_the_internal_score(feedback, internal, weight, expected):
    assert evaluations.totals(feedback, internal, weight) == expected


@pytest.mark.parametrize("internal, expected", [
    (90.0, (90.0, "优秀")), (59.9, (59.9, "不合格")), (84.0, (84.0, "良好")),
])
def test_with_nothing_measured_the_total_is_the_internal_score(internal, expected):
    assert evaluations.totals(None, internal, 40) == expected


def test_there_is_no_total_until_every_item_is_scored():
    assert evaluations.totals(80.0, None, 40) == (None, "")
    assert evaluations.totals(None, None, 40) == (None, "")


# Scoring

@pytest.fixture
def draft(world, period):
    start(world, day(5, 15))
    return opened(world, FIRST)


def test_the_draft_form_shows_the_periods_figures_and_the_weighted_total(world, draft):
    evaluation = scored(world, draft, comment="  响应及时，拜访要加强  ")
    form = evaluations.sheet(evaluation)
    assert form["figures"] == EXPECTED
    assert [(row["name"], row["weight"], row["score"]) for row in form["items"]] == [
        (name, weight, SCORES[name]) for name, weight in evaluations.DEFAULT_ITEMS]
    assert (form["internal_score"], form["feedback_weight"], form["total"], form["grade"]) == (84.0, 40, 79.3, "合格")
    assert evaluation.comment == "响应及时，拜访要加强"


def test_an_item_left_blank_leaves_no_internal_score_and_no_total(world, draft):
    evaluation = scored(world, draft, {**SCORES, "例会参与": None})
    form = evaluations.sheet(evaluation)
    assert (form["internal_score"], form["total"], form["grade"]) == (None, None, "")
    assert [row["score"] for row in form["items"] if row["name"] == "例会参与"] == [None]


@pytest.mark.parametrize("score", [0, 100, 59.5])
def test_a_score_from_0_to_100_is_kept(world, draft, score):
    evaluation = scored(world, draft, {**SCORES, "团队协作": score})
    assert json.loads(evaluation.scores)[str(item("团队协作").id)] == {"score": score, "note": ""}
    assert evaluation.version == draft.version + 1


@pytest.mark.parametrize("score", [-1, 100.5, 101])
def test_a_score_outside_0_to_100_is_refused_beside_its_item(world, draft, score):
    with pytest.raises(EvaluationError) as refused:
        scored(world, draft, {**SCORES, "团队协作": score})
    assert refused.value.field == f"score-{item('团队协作').id}" and "团队协作" in refused.value.message
    assert fresh(draft).version == draft.version and json.loads(fresh(draft).scores) == {}


def test_a_note_over_200_characters_is_refused_beside_its_item(world, draft):
    typed = {i.id: (80, "说" * 201 if i.name == "例会参与" else "") for i in EvaluationItem.ordered()}
    with pytest.raises(EvaluationError) as refused:
        evaluations.save_scores(world.supervisor, draft, draft.version, typed)
    assert refused.value.field == f"note-{item('例会参与').id}"


def test_scoring_from_a_stale_form_is_refused(world, draft):
    scored(world, draft)
    with pytest.raises(StaleRecord):
        scored(world, draft, {**SCORES, "团队协作": 10}, version=draft.version)
    assert json.loads(fresh(draft).scores)[str(item("团队协作").id)]["score"] == 85


def test_scores_show_on_the_evaluations_timeline(world, draft):
    scored(world, draft, {**SCORES, "团队协作": None})
    event = events.timeline(draft)[-1]
    assert (event.action, event.actor_name) == ("评分", "刘主管")
    assert "诉求响应与跟踪 90" in event.note and "团队协作 —" in event.note


def test_a_signed_evaluation_cannot_be_scored_again(world, draft):
    evaluation = signed(world, draft)
    with pytest.raises(EvaluationError) as refused:
        scored(world, evaluation, {**SCORES, "团队协作": 0})
    assert "已签字确认" in refused.value.message
    assert fresh(evaluation).version == evaluation.version


# Signing off

def test_signing_off_stores_the_total_and_grade_on_the_timeline(world, draft, traveller):
    traveller.move_to(sh(11, 21, 9))
    evaluation = signed(world, draft)
    assert evaluation.is_signed and (evaluation.total, evaluation.grade) == (79.3, "合格")
    assert evaluation.signed_by == world.supervisor
    event = events.timeline(evaluation)[-1]
    assert (event.action, event.to_state, event.note) == ("签字确认", "已确认", "总分 79.3，合格")


def test_signing_off_with_an_item_unscored_is_refused_naming_it(world, draft):
    evaluation = scored(world, draft, {**SCORES, "工作记录与总结": None, "团队协作": None})
    with pytest.raises(EvaluationError) as refused:
        evaluations.sign_off(world.supervisor, evaluation, evaluation.version)
    assert "工作记录与总结" in refused.value.message
    assert refused.value.field == f"score-{item('工作记录与总结').id}"
    assert not fresh(evaluation).is_signed


def test_a_signed_evaluation_keeps_its_figures_whatever_changes_afterwards(world, draft, traveller):
    evaluation = scored(world, draft)
    before = evaluations.sheet(evaluation)
    evaluation = evaluations.sign_off(world.supervisor, evaluation, evaluation.version)

    traveller.move_to(sh(11, 1, 10))                      # another ticket in the period, answered late
    late = intake(world, description="补录的诉求")
    traveller.move_to(sh(11, 1, 12))
    tickets.respond(world.assistant, late, late.version, "电话", "")
    traveller.move_to(sh(11, 22, 10))
    EvaluationItem.update(weight=50).where(EvaluationItem.name == "团队协作").execute()
    EvaluationSettings.current()
    EvaluationSettings.update(feedback_weight=60).where(EvaluationSettings.id == 1).execute()
    assert evaluations.measure(world.assistant, FIRST, LAST)["tickets"] == 5   # the records did change

    after = fresh(evaluation)
    assert evaluations.sheet(after) == before
    assert (after.total, after.grade) == (79.3, "合格")


def test_a_draft_is_measured_afresh_until_signed(world, draft, traveller):
    evaluation = scored(world, draft)
    traveller.move_to(sh(11, 1, 10))
    late = intake(world, description="补录的诉求")
    traveller.move_to(sh(11, 1, 12))
    tickets.respond(world.assistant, late, late.version, "电话", "")
    form = evaluations.sheet(fresh(evaluation))
    assert (form["figures"]["tickets"], form["figures"]["response_rate"]) == (5, 60.0)


def test_signing_twice_is_refused(world, draft):
    evaluation = signed(world, draft)
    with pytest.raises(EvaluationError) as refused:
        evaluations.sign_off(world.supervisor, evaluation, evaluation.version)
    assert "已签字确认" in refused.value.message
    assert actions(evaluation).count("签字确认") == 1


def test_signing_off_from_a_stale_form_is_refused(world, draft):
    seen = scored(world, draft)
    scored(world, seen, {**SCORES, "团队协作": 50})
    with pytest.raises(StaleRecord):
        evaluations.sign_off(world.supervisor, seen, seen.version)
    assert not fresh(seen).is_signed


def test_a_draft_voided_by_a_new_start_date_cannot_be_scored(world, draft):
    """The supervisor has the 10-15 form open when the start date is corrected to 06-01: the period is
    gone and the draft voided, so the scores the form sends back must be refused."""
    seen = scored(world, draft)
    start(world, day(6, 1))
    assert fresh(seen).is_voided
    with pytest.raises((EvaluationError, StaleRecord)):
        scored(world, seen, {**SCORES, "团队协作": 50})
    assert json.loads(fresh(seen).scores)[str(item("团队协作").id)]["score"] == 85


def test_a_draft_voided_by_a_new_start_date_cannot_be_signed(world, draft):
    seen = scored(world, draft)
    start(world, day(6, 1))
    assert fresh(seen).is_voided
    with pytest.raises((EvaluationError, StaleRecord)):
        evaluations.sign_off(world.supervisor, seen, seen.version)
    assert not fresh(seen).is_signed


# The assistant's own comment

def test_the_assistant_comments_on_their_signed_evaluation(world, draft):
    evaluation = signed(world, draft)
    evaluation = evaluations.comment_as_assistant(world.assistant, evaluation, "  会加强拜访  ")
    assert evaluation.assistant_comment == "会加强拜访"
    event = events.timeline(evaluation)[-1]
    assert (event.action, event.actor_name, event.note) == ("本人意见", "张助理", "会加强拜访")
    with pytest.raises(EvaluationError, match="本人意见已填写"):  # said once, not overwritten
        evaluations.comment_as_assistant(world.assistant, evaluation, "改口了")
    assert Evaluation.get_by_id(evaluation.id).assistant_comment == "会加强拜访"


@pytest.mark.parametrize("who", ["supervisor", "assistant2"])
def test_only_the_assistant_evaluated_comments_as_themselves(world, draft, who):
    evaluation = signed(world, draft)
    with pytest.raises(EvaluationError) as refused:
        evaluations.comment_as_assistant(getattr(world, who), evaluation, "意见")
    assert "自己" in refused.value.message
    assert fresh(evaluation).assistant_comment == ""


def test_the_assistant_comments_only_after_sign_off(world, draft):
    with pytest.raises(EvaluationError) as refused:
        evaluations.comment_as_assistant(world.assistant, draft, "意见")
    assert "签字确认后" in refused.value.message
    assert fresh(draft).assistant_comment == ""


@pytest.mark.parametrize("comment", ["", "   ", None])
def test_the_assistants_comment_needs_words(world, draft, comment):
    evaluation = signed(world, draft)
    with pytest.raises(EvaluationError) as refused:
        evaluations.comment_as_assistant(world.assistant, evaluation, comment)
    assert refused.value.field == "assistant_comment"


# The items

def test_the_default_items_are_the_manuals_seven_duties_weighing_100(world):
    found = [(i.name, i.weight) for i in EvaluationItem.ordered()]
    assert found == [("诉求响应与跟踪", 20), ("现场品质监督", 20), ("客户沟通与拜访", 15), ("商铺与装修管理", 15),
                     ("工作记录与总结", 10), ("例会参与", 10), ("团队协作", 10)]
    assert sum(weight for _name, weight in found) == 100
    assert EvaluationSettings.current().feedback_weight == 40


def test_seeding_again_adds_nothing(world):
    evaluations.seed()
    assert EvaluationItem.select().count() == 7


def test_meetings_attended_and_held_count_the_periods_department_meetings(world, traveller):
    from kefu import meetings
    for month, kind, people in ((10, "部门例会", [world.assistant, world.assistant2]),
                                (10, "部门例会", [world.assistant2]), (10, "业务块例会", [world.assistant]),
                                (9, "部门例会", [world.assistant])):
        meetings.record_meeting(world.supervisor, day=datetime.date(2026, month, 20), kind=kind, topic="例会",
                                attendees=people)
    figures = evaluations.measure(world.assistant, datetime.date(2026, 10, 1), datetime.date(2026, 10, 31))
    assert (figures["meetings_attended"], figures["meetings_held"]) == (2, 2)
