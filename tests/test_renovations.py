"""Renovation supervision: the register, the patrol checkpoint a started renovation becomes, violations
followed from 劝阻 to the numbered 整改通知书, its service and re-check, escalation, acceptance, the
archive and its search — the rules called directly, with the clock frozen in Shanghai time.
"""
import datetime

import peewee
import pytest

from kefu import patrols
from kefu import renovations
from kefu import uploads
from kefu.db import StaleRecord
from kefu.patrols import Checkpoint
from kefu.renovations import RectificationNotice
from kefu.renovations import Renovation
from kefu.renovations import RenovationError
from kefu.renovations import Violation
from test_tickets import SH
from test_tickets import actions
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)
from test_uploads import jpeg


def day(month, number):
    return datetime.date(2026, month, number)


def stored(moment):
    """An aware time as the database keeps it (naive UTC)."""
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def fresh(record):
    return type(record).get_by_id(record.id)


def register(w, household=None, actor=None, **values):
    """A renovation applied for (申请), by default for 1-1-101 in 一区."""
    fields = dict(owner_name="周先生", owner_phone="13800000001", company="美家装饰", foreman="钱工",
                  permit_number="ZX2026-015", planned_start=day(11, 27), planned_end=day(12, 20),
                  works=["水电改造", "吊顶"])
    fields.update(values)
    renovation, created = renovations.register(actor or w.assistant, household or w.home, **fields)
    assert created
    return renovation


def started(w, household=None, **values):
    renovation = register(w, household, **values)
    return renovations.start(w.assistant, renovation, renovation.version)


def violate(w, renovation, kind="超时施工", description="中午12:30仍在电钻施工", **values):
    violation, created = renovations.record_violation(w.assistant, renovation, kind, description, **values)
    assert created
    return violation


def issue(w, renovation, *violations, deadline=None):
    return renovations.issue_notice(w.assistant, renovation, list(violations), "立即停止违规施工，按规定时间作业",
                                    deadline or renovations.default_deadline())


def serve(w, notice, **values):
    values = values or {"served_to": "周先生"}
    return renovations.serve_notice(w.assistant, notice, **values)


def noticed(w, renovation=None, deadline=None):
    """A violation of a started renovation with its notice served: (renovation, violation, notice)."""
    renovation = renovation or started(w)
    violation = violate(w, renovation)
    notice = serve(w, issue(w, renovation, violation, deadline=deadline))
    return renovation, fresh(violation), notice


def renovation_board(w, zones=None):
    return patrols.coverage_today(zones or [w.zone.id])["renovation"]


def owed_ids(w, zones=None):
    return [c.id for c in renovation_board(w, zones)["owed"]]


# Notice numbers

def test_a_voided_notice_keeps_its_number_and_the_next_notice_gets_the_next_one(world):
    renovation = started(world)
    violation = violate(world, renovation)
    first = issue(world, renovation, violation)
    assert first.number == "〔2026〕第0001号"
    renovations.void_notice(world.assistant, first, "期限写错")
    assert fresh(first).is_voided
    second = issue(world, renovation, violation)
    assert second.number == "〔2026〕第0002号"
    assert [n.number for n in RectificationNotice.select().order_by(RectificationNotice.id)] == [
        "〔2026〕第0001号", "〔2026〕第0002号"]


def test_notice_numbers_start_again_at_the_shanghai_new_year_not_the_utc_one(world, traveller):
    renovation = started(world)
    violation = violate(world, renovation)
    assert issue(world, renovation, violation).number == "〔2026〕第0001号"
    traveller.move_to(datetime.datetime(2026, 12, 31, 23, 50, tzinfo=SH))
    assert issue(world, renovation, violation).number == "〔2026〕第0002号"
    traveller.move_to(datetime.datetime(2027, 1, 1, 0, 10, tzinfo=SH))  # still 2026 in UTC
    new_year = issue(world, renovation, violation)
    assert (new_year.year, new_year.serial, new_year.number) == (2027, 1, "〔2027〕第0001号")


def test_two_notices_cannot_share_a_number(world):
    renovation = started(world)
    notice = issue(world, renovation, violate(world, renovation))
    with pytest.raises(peewee.IntegrityError):
        RectificationNotice.create(renovation=renovation, year=notice.year, serial=notice.serial, clauses="重号",
                                   demand="重号", deadline=notice.deadline, issued_by=world.assistant,
                                   issued_at=notice.issued_at)
    assert RectificationNotice.select().count() == 1


def test_a_refused_notice_uses_up_no_number(world):
    renovation = started(world)
    violation = violate(world, renovation)
    with pytest.raises(RenovationError):
        issue(world, renovation, violation, deadline=day(11, 26))
    assert issue(world, renovation, violation).number == "〔2026〕第0001号"


# Re-checks

def test_a_recheck_before_the_notice_is_served_is_refused(world):
    renovation = started(world)
    violation = violate(world, renovation)
    issue(world, renovation, violation)
    with pytest.raises(RenovationError, match="送达后才能复查"):
        renovations.recheck(world.assistant, violation, violation.version, True, "已停工")
    assert fresh(violation).state == "open" and fresh(violation).recheck_at is None


def test_a_recheck_dated_before_the_notice_was_served_is_refused(world, traveller):
    traveller.move_to(sh(11, 27, 14, 0))
    renovation, violation, notice = noticed(world)
    assert notice.served_at == stored(sh(11, 27, 14, 0))
    traveller.move_to(sh(11, 28, 10, 0))
    with pytest.raises(RenovationError) as refused:
        renovations.recheck(world.assistant, violation, violation.version, True, "已整改", at=sh(11, 27, 13, 0))
    assert refused.value.field == "at"
    assert fresh(violation).state_label == "已发整改通知"


@pytest.mark.parametrize("complied, state, label", [(True, "complied", "复查已整改"),
                                                    (False, "not_complied", "复查未整改")])
def test_a_recheck_after_service_records_whether_they_complied(world, traveller, complied, state, label):
    renovation, violation, notice = noticed(world)
    traveller.move_to(sh(11, 28, 15, 0))
    rechecked = renovations.recheck(world.assistant, violation, violation.version, complied, "现场复查",
                                    at=sh(11, 28, 14, 30))
    assert (rechecked.state, rechecked.state_label) == (state, label)
    assert rechecked.recheck_complied is complied and rechecked.recheck_note == "现场复查"
    assert rechecked.recheck_at == stored(sh(11, 28, 14, 30))


# Escalation

def test_escalating_without_a_served_notice_needs_the_reason_why(world):
    renovation = started(world)
    violation = violate(world, renovation)
    issue(world, renovation, violation)  # issued, never served
    with pytest.raises(RenovationError) as refused:
        renovations.escalate(world.assistant, renovation, "业委会", "违规拆改，劝阻无效", [violation])
    assert refused.value.field == "reason_without_notice"
    assert fresh(violation).state == "open" and list(fresh(renovation).referrals) == []

    referral = renovations.escalate(world.assistant, renovation, "业委会", "违规拆改，劝阻无效", [violation],
                                    reason_without_notice="业主避而不见，无法送达")
    assert referral.reason_without_notice == "业主避而不见，无法送达"
    assert fresh(violation).state_label == "已上报"


def test_escalating_after_a_served_notice_goes_through_and_the_reply_is_kept(world, traveller):
    renovation, violation, notice = noticed(world)
    other = violate(world, renovation, "垃圾乱堆", "楼道堆放装修垃圾")
    referral = renovations.escalate(world.assistant, renovation, "区房屋土地管理局相关办事处", "逾期未整改，请协助处理",
                                    [violation, other])
    assert (referral.body, referral.sent_at, referral.reason_without_notice) == (
        "区房屋土地管理局相关办事处", stored(sh(11, 27, 10, 0)), "")
    assert {v.state for v in Violation.select()} == {"escalated"}
    assert "上报" in actions(renovation) and actions(violation)[-1] == "上报"

    traveller.move_to(sh(12, 2, 9, 0))
    replied = renovations.record_reply(world.assistant, referral, "已责令施工单位恢复原状")
    assert replied.reply == "已责令施工单位恢复原状" and replied.reply_at == stored(sh(12, 2, 9, 0))


# Coverage

def test_a_started_renovation_is_owed_a_daily_patrol_in_its_zone(world):
    renovation = register(world)
    assert renovation_board(world)["total"] == 0
    renovation = renovations.start(world.assistant, renovation, renovation.version)
    point = Checkpoint.get_by_id(renovation.checkpoint_id)
    assert (point.kind, point.zone_id, point.household_id, point.checklist.code) == (
        "renovation", world.zone.id, world.home.id, "renovation")
    assert renovations.for_checkpoint(point) == renovation
    assert owed_ids(world) == [point.id]
    assert renovation_board(world, [world.zone2.id])["total"] == 0


def test_a_finished_renovation_is_still_owed_on_its_last_day_but_not_the_next(world, traveller):
    renovation = started(world)
    traveller.move_to(sh(12, 5, 16, 0))
    renovation = renovations.finish(world.assistant, renovation, renovation.version, note="已完工")
    assert renovation.finished_on == day(12, 5)
    assert owed_ids(world) == [renovation.checkpoint_id]
    traveller.move_to(sh(12, 6, 10, 0))
    assert renovation_board(world)["total"] == 0 and owed_ids(world) == []


def test_a_paused_renovation_is_owed_on_the_pause_day_only_until_work_resumes(world, traveller):
    renovation = started(world)
    traveller.move_to(sh(11, 28, 10, 0))
    renovation = renovations.pause(world.assistant, renovation, renovation.version, "业主出差，停工一周")
    assert renovation.state_label == "暂停"
    assert owed_ids(world) == [renovation.checkpoint_id]
    traveller.move_to(sh(11, 29, 10, 0))
    assert renovation_board(world)["total"] == 0

    traveller.move_to(sh(12, 3, 10, 0))
    resumed = renovations.start(world.assistant, renovation, renovation.version)
    assert resumed.state_label == "在施工" and resumed.checkpoint_id == renovation.checkpoint_id
    assert resumed.started_on == day(11, 27)
    assert owed_ids(world) == [renovation.checkpoint_id]
    assert Checkpoint.select().count() == 1
    assert actions(resumed) == ["装修登记", "开工", "暂停施工", "恢复施工"]


def test_finishing_a_paused_renovation_does_not_put_it_back_on_the_patrol_board(world, traveller):
    renovation = started(world)
    renovation = renovations.pause(world.assistant, renovation, renovation.version, "停工待料")
    traveller.move_to(sh(11, 30, 10, 0))
    assert renovation_board(world)["total"] == 0
    renovations.finish(world.assistant, renovation, renovation.version)
    assert renovation_board(world)["total"] == 0


def test_a_renovation_running_past_its_planned_end_stays_on_the_patrol_board_until_finished(world, traveller):
    renovation = started(world, planned_end=day(12, 5))
    traveller.move_to(sh(12, 8, 10, 0))
    assert fresh(renovation).state_label == "在施工"
    assert owed_ids(world) == [renovation.checkpoint_id]


def test_a_household_renovating_again_gets_a_new_patrol_checkpoint(world, traveller):
    first = started(world)
    first = renovations.finish(world.assistant, first, first.version)
    first = renovations.accept(world.assistant, first, first.version)
    traveller.move_to(sh(12, 10, 10, 0))
    second = started(world, owner_name="周太太", planned_start=day(12, 10), planned_end=day(12, 31))
    assert second.state_label == "在施工" and second.checkpoint_id != first.checkpoint_id
    assert owed_ids(world) == [second.checkpoint_id]
    # Named as the assistant says it, no register number; the second time, with the month it starts.
    code = first.household.code
    assert patrols.Checkpoint.get_by_id(first.checkpoint_id).name == f"{code} 装修"
    assert patrols.Checkpoint.get_by_id(second.checkpoint_id).name == f"{code} 装修（2026年12月起）"


# The register

@pytest.mark.parametrize("values, field", [
    ({"owner_name": ""}, "owner_name"),
    ({"owner_name": "   "}, "owner_name"),
    ({"planned_start": day(12, 1), "planned_end": day(11, 30)}, "planned_end"),
    ({"works": ["水电改造", "装空调"]}, "works"),
    ({"workers": 201}, "workers"),
])
def test_a_registration_needs_an_owner_sensible_dates_and_known_works(world, values, field):
    with pytest.raises(RenovationError) as refused:
        register(world, **values)
    assert refused.value.field == field
    assert Renovation.select().count() == 0


def test_a_household_with_an_unfinished_renovation_cannot_register_another(world):
    register(world)
    with pytest.raises(RenovationError) as refused:
        register(world, owner_name="周太太")
    assert refused.value.field == "household" and "未完工" in refused.value.message
    assert register(world, world.neighbour).household_id == world.neighbour.id
    assert Renovation.select().count() == 2


def test_the_same_submit_token_twice_registers_one_renovation(world):
    values = dict(owner_name="周先生", planned_start=day(11, 27), planned_end=day(12, 20), token="reg-1")
    first, created = renovations.register(world.assistant, world.home, **values)
    again, created_again = renovations.register(world.assistant, world.home, **values)
    assert created and not created_again
    assert again.id == first.id and Renovation.select().count() == 1


def test_a_registration_is_filed_under_its_households_zone(world):
    renovation = register(world, world.home2)
    assert renovation.zone_id == world.zone2.id and renovation.state_label == "申请"
    assert renovation.work_list == ["水电改造", "吊顶"]
    with pytest.raises(RenovationError) as refused:
        register(world, world.nowhere)
    assert refused.value.field == "household"


# The lifecycle

def test_a_renovation_is_accepted_and_archived_only_once_its_violations_are_closed(world, traveller):
    renovation = register(world)
    renovation = renovations.start(world.assistant, renovation, renovation.version)
    assert (renovation.state, renovation.started_on) == ("active", day(11, 27))
    violation = violate(world, renovation)
    traveller.move_to(sh(12, 20, 17, 0))
    renovation = renovations.finish(world.assistant, renovation, renovation.version)
    assert renovation.state_label == "已完工"

    with pytest.raises(RenovationError, match="未结案"):
        renovations.accept(world.supervisor, renovation, renovation.version)
    with pytest.raises(RenovationError, match="未结案"):
        renovations.archive(world.supervisor, renovation, renovation.version)
    assert fresh(renovation).state == "finished" and fresh(renovation).archived_at is None

    renovations.close_violation(world.assistant, violation, violation.version, "已恢复原状")
    renovation = renovations.accept(world.supervisor, renovation, renovation.version, note="验收合格")
    assert renovation.state_label == "已验收"
    renovation = renovations.archive(world.supervisor, renovation, renovation.version)
    assert renovation.archived_at == stored(sh(12, 20, 17, 0))
    with pytest.raises(RenovationError):
        renovations.archive(world.supervisor, renovation, renovation.version)
    assert actions(renovation) == ["装修登记", "开工", "记录违规", "完工", "验收", "归档"]


def test_a_renovation_is_accepted_only_after_it_is_finished(world):
    renovation = started(world)
    with pytest.raises(RenovationError):
        renovations.accept(world.supervisor, renovation, renovation.version)
    assert fresh(renovation).state == "active"


def test_a_renovation_changed_by_someone_else_meanwhile_is_not_overwritten(world):
    renovation = started(world)
    paused = renovations.pause(world.assistant, renovation, renovation.version, "停工待料")
    with pytest.raises(StaleRecord):
        renovations.finish(world.assistant2, renovation, renovation.version)
    assert fresh(renovation).state == "paused" and fresh(renovation).finished_on is None
    with pytest.raises(StaleRecord):
        renovations.archive(world.supervisor, paused, renovation.version)
    assert fresh(renovation).archived_at is None


# Violations

@pytest.mark.parametrize("kind, description, values, field", [
    ("", "中午施工", {}, "kind"),
    ("乱扔杂物", "中午施工", {}, "kind"),
    ("超时施工", "  ", {}, "description"),
    ("超时施工", "中午施工", {"at": sh(11, 27, 11, 0)}, "at"),
])
def test_a_violation_needs_a_known_kind_a_description_and_a_time_not_in_the_future(world, kind, description,
                                                                                  values, field):
    renovation = started(world)
    with pytest.raises(RenovationError) as refused:
        renovations.record_violation(world.assistant, renovation, kind, description, **values)
    assert refused.value.field == field
    assert Violation.select().count() == 0


def test_a_violation_is_filed_in_its_renovations_zone_with_its_photos(world, tmp_path):
    renovation = started(world, world.home2)
    photo = uploads.store(str(tmp_path / "photos"), world.assistant2, jpeg())
    violation = violate(world, renovation, "违规拆改", "拆除阳台窗下墙", clause="管理规约第十条",
                        at=sh(11, 27, 9, 30), photos=[photo])
    assert (violation.zone_id, violation.state_label, violation.at) == (
        world.zone2.id, "待处理", stored(sh(11, 27, 9, 30)))
    assert [p.id for p in uploads.Photo.of(violation)] == [photo.id]


def test_dissuading_needs_the_outcome(world):
    renovation = started(world)
    violation = violate(world, renovation)
    with pytest.raises(RenovationError) as refused:
        renovations.dissuade(world.assistant, violation, violation.version, " ")
    assert refused.value.field == "outcome" and fresh(violation).state == "open"
    dissuaded = renovations.dissuade(world.assistant, violation, violation.version, "工人已停止电钻")
    assert dissuaded.state_label == "已劝阻" and dissuaded.dissuade_outcome == "工人已停止电钻"
    assert dissuaded.dissuaded_at == stored(sh(11, 27, 10, 0))


def test_a_notice_needs_a_violation_of_this_renovation(world):
    renovation = started(world)
    elsewhere = started(world, world.neighbour, owner_name="吴女士")
    theirs = violate(world, elsewhere)
    for chosen in ([], [theirs]):
        with pytest.raises(RenovationError) as refused:
            renovations.issue_notice(world.assistant, renovation, chosen, "立即停止", day(11, 30))
        assert refused.value.field == "violations"
    assert RectificationNotice.select().count() == 0


@pytest.mark.parametrize("deadline", [day(11, 26), None])
def test_a_notice_deadline_cannot_be_missing_or_already_past(world, deadline):
    renovation = started(world)
    violation = violate(world, renovation)
    with pytest.raises(RenovationError) as refused:
        renovations.issue_notice(world.assistant, renovation, [violation], "立即停止", deadline)
    assert refused.value.field == "deadline"
    assert RectificationNotice.select().count() == 0


def test_a_notice_may_be_due_today(world):
    renovation = started(world)
    violation = violate(world, renovation)
    notice = renovations.issue_notice(world.assistant, renovation, [violation], "立即停止", day(11, 27))
    assert notice.deadline == day(11, 27) and notice.violations().get() == violation
    assert notice.consequence == renovations.CONSEQUENCE


@pytest.mark.parametrize("values, field", [
    ({"served_to": ""}, "served_to"),
    ({"served_to": "", "refused": True}, "witness"),
    ({"served_to": "", "refused": True, "witness": "  "}, "witness"),
])
def test_serving_a_notice_needs_who_signed_or_a_witness_to_the_refusal(world, values, field):
    renovation = started(world)
    violation = violate(world, renovation)
    notice = issue(world, renovation, violation)
    with pytest.raises(RenovationError) as refused:
        serve(world, notice, **values)
    assert refused.value.field == field
    assert not fresh(notice).is_served and fresh(violation).state == "open"


@pytest.mark.parametrize("values", [{"served_to": "周先生"}, {"refused": True, "witness": "保安孙某"}])
def test_a_served_notice_puts_its_violations_under_notice(world, values):
    renovation = started(world)
    first = violate(world, renovation)
    second = violate(world, renovation, "垃圾乱堆", "楼道堆放装修垃圾")
    second = renovations.dissuade(world.assistant, second, second.version, "答应下午清运")
    untouched = violate(world, renovation, "噪音扰民", "晚上施工")
    served = serve(world, issue(world, renovation, first, second), **values)
    assert served.is_served and served.served_at == stored(sh(11, 27, 10, 0))
    assert served.refused is bool(values.get("refused"))
    assert [fresh(v).state_label for v in (first, second, untouched)] == ["已发整改通知", "已发整改通知", "待处理"]


def test_a_served_notice_cannot_be_served_again_or_voided(world):
    renovation, violation, notice = noticed(world)
    with pytest.raises(RenovationError, match="已送达"):
        serve(world, notice, served_to="周太太")
    with pytest.raises(RenovationError, match="不能作废"):
        renovations.void_notice(world.assistant, notice, "写错了")
    notice = fresh(notice)
    assert notice.served_to == "周先生" and not notice.is_voided


def test_a_voided_notice_cannot_be_served(world):
    renovation = started(world)
    violation = violate(world, renovation)
    notice = issue(world, renovation, violation)
    renovations.void_notice(world.assistant, notice, "期限写错")
    with pytest.raises(RenovationError, match="已作废"):
        serve(world, fresh(notice))
    assert fresh(violation).state == "open"


# Lists

def test_the_register_is_searchable_by_room_owner_company_and_permit_even_when_archived(world):
    home = register(world)
    neighbour = register(world, world.neighbour, owner_name="吴女士", company="", permit_number="ZX2026-016")
    register(world, world.home2, owner_name="周女士")  # 二区
    neighbour = renovations.start(world.assistant, neighbour, neighbour.version)
    neighbour = renovations.finish(world.assistant, neighbour, neighbour.version)
    neighbour = renovations.accept(world.supervisor, neighbour, neighbour.version)
    neighbour = renovations.archive(world.supervisor, neighbour, neighbour.version)

    def found(text, archived=None):
        return {r.id for r in renovations.search([world.zone.id], text, archived=archived)}

    assert found("101") == {home.id}
    assert found("周") == {home.id}
    assert found("美家") == {home.id}
    assert found("ZX2026-016") == {neighbour.id}
    assert found("吴女士") == {neighbour.id}
    assert found("") == {home.id, neighbour.id}
    assert found("", archived=True) == {neighbour.id}
    assert found("", archived=False) == {home.id}
    assert found("吴", archived=False) == set()


def test_overdue_notices_are_served_ones_past_their_deadline_still_awaiting_the_recheck(world, traveller):
    renovation, violation, notice = noticed(world, deadline=day(11, 29))
    unserved = issue(world, renovation, violate(world, renovation, "垃圾乱堆", "楼道堆放装修垃圾"),
                     deadline=day(11, 29))
    *_, elsewhere = noticed(world, started(world, world.home2), deadline=day(11, 29))

    traveller.move_to(sh(11, 29, 18, 0))
    assert list(renovations.overdue_notices([world.zone.id])) == []
    traveller.move_to(sh(11, 30, 9, 0))
    assert list(renovations.overdue_notices([world.zone.id])) == [notice]
    assert list(renovations.overdue_notices([world.zone2.id])) == [elsewhere]
    assert unserved not in renovations.overdue_notices([world.zone.id, world.zone2.id])

    renovations.recheck(world.assistant, violation, violation.version, True, "已整改")
    assert list(renovations.overdue_notices([world.zone.id])) == []


def test_open_violations_lists_only_open_ones_in_the_given_zones(world):
    renovation = started(world)
    first = violate(world, renovation, at=sh(11, 27, 8, 0))
    closed = violate(world, renovation, "垃圾乱堆", "楼道堆放装修垃圾")
    renovations.close_violation(world.assistant, closed, closed.version, "已清运")
    second = violate(world, renovation, "噪音扰民", "晚上施工", at=sh(11, 27, 9, 0))
    elsewhere = violate(world, started(world, world.home2))
    assert [v.id for v in renovations.open_violations([world.zone.id])] == [first.id, second.id]
    assert [v.id for v in renovations.open_violations([world.zone2.id])] == [elsewhere.id]


# The dossier

def test_the_dossier_holds_each_violation_with_its_photos_notices_and_the_referrals(world, tmp_path):
    renovation = started(world)
    photo = uploads.store(str(tmp_path / "photos"), world.assistant, jpeg())
    violation = violate(world, renovation, "违规拆改", "拆除阳台窗下墙", at=sh(11, 27, 8, 0), photos=[photo])
    other = violate(world, renovation, "垃圾乱堆", "楼道堆放装修垃圾", at=sh(11, 27, 9, 0))
    voided = issue(world, renovation, violation)
    renovations.void_notice(world.assistant, voided, "期限写错")
    notice = serve(world, issue(world, renovation, violation))
    referral = renovations.escalate(world.assistant, renovation, "居委会", "拒不整改", [fresh(violation)])

    dossier = renovations.dossier(fresh(renovation))
    assert dossier["renovation"] == renovation
    assert [(v.id, [p.id for p in photos], [n.number for n in notices])
            for v, photos, notices in dossier["violations"]] == [
        (violation.id, [photo.id], [notice.number]), (other.id, [], [])]
    assert [n.id for n in dossier["notices"]] == [notice.id]
    assert [(r.id, r.body) for r in dossier["referrals"]] == [(referral.id, "居委会")]


# A patrol finding handed on to a violation

def renovation_finding(w):
    """A started renovation whose daily check failed 施工时间 (its first item): (renovation, finding)."""
    from test_patrols import all_ok
    from test_patrols import check

    renovation = started(w)
    point = Checkpoint.get_by_id(renovation.checkpoint_id)
    first = point.checklist.live_items()[0].text
    check(w, point, answers=all_ok(point, **{first: "12:40 仍在电钻"}))
    return renovation, patrols.Finding.get(patrols.Finding.checkpoint == point)


def test_a_finding_recorded_as_a_violation_leaves_pending_and_cannot_be_recorded_twice(world):
    renovation, finding = renovation_finding(world)
    violation = violate(world, renovation, finding=finding)
    finding = fresh(finding)
    assert finding.state_label == "已记为装修违规"
    assert (finding.handed_to, finding.handed_id) == ("violation", violation.id)
    with pytest.raises(RenovationError) as again:
        violate(world, renovation, finding=finding)
    assert again.value.message == "该问题已移交（已记为装修违规），一个问题只移交一次，不能再记为装修违规"
    assert Violation.select().count() == 1
    # Nor can it then go to a unit or be kept under watch: it was handed on once.
    with pytest.raises(patrols.PatrolError):
        patrols.to_observation(world.assistant, finding, finding.version)


def test_a_finding_recorded_as_a_violation_closes_when_the_violation_is_closed(world, traveller):
    renovation, finding = renovation_finding(world)
    violation = violate(world, renovation, finding=finding)
    violation = renovations.dissuade(world.assistant, violation, violation.version, "已停止")
    assert [f.id for f in patrols.open_findings([world.zone.id])] == [finding.id]  # 已记为装修违规, still open
    renovations.close_violation(world.assistant, violation, violation.version, "已劝阻，未再犯")
    finding = fresh(finding)
    assert finding.state_label == "已了结" and finding.resolution == "已劝阻，未再犯"
    assert patrols.open_findings([world.zone.id]) == []
    assert [e.action for e in patrols.events.timeline(finding)][-2:] == ["记为装修违规", "违规结案"]


def test_a_notice_waits_for_its_recheck_on_the_agenda_and_leaves_once_every_violation_is_rechecked(world, traveller):
    from kefu import agenda
    renovation, violation, notice = noticed(world)

    def waiting():
        return [i.kind for i in agenda.agenda(world.assistant) if i.ref == ("rectificationnotice", notice.id)]

    traveller.move_to(sh(11, 30, 18, 0))  # past the notice's deadline
    assert waiting() == ["notice.recheck"]
    renovations.recheck(world.assistant, violation, violation.version, True, "已停工整改")
    assert waiting() == []
    assert fresh(notice).state == "complied"


def test_notices_left_waiting_by_the_earlier_version_are_settled_by_migration_24(world, traveller):
    from kefu import migrations
    from kefu.renovations import RectificationNotice
    renovation, violation, notice = noticed(world)
    _, other, left = noticed(world, renovation)
    traveller.move_to(sh(11, 30, 18, 0))
    renovations.recheck(world.assistant, violation, violation.version, False, "仍在施工")
    # As the earlier version left it: the violation re-checked, its notice still 已送达.
    RectificationNotice.update(state="served").where(RectificationNotice.id == notice.id).execute()
    migrations.renovation_notices_settled_by_their_violations()
    assert fresh(notice).state == "not_complied"
    assert fresh(left).state == "served"  # its violation still waits for the re-check
