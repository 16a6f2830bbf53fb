"""On-site quality patrols: checkpoints and their stickers, checks by the estate-local day, the
no-noise window, intervals, findings that become rectification orders, observations, coverage and
its history — the rules called directly, with the clock frozen in Shanghai time.
"""
import datetime

import pytest

from kefu import access
from kefu import clock
from kefu import estate
from kefu import events
from kefu import patrols
from kefu import uploads
from kefu import workorders
from kefu.db import StaleRecord
from kefu.events import Event
from kefu.patrols import Check
from kefu.patrols import Checklist
from kefu.patrols import Finding
from kefu.patrols import Observation
from kefu.patrols import PatrolError
from kefu.patrols import PatrolRules
from kefu.workorders import WorkOrder
from test_tickets import actions
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)
from test_uploads import jpeg

CHECKLIST_OF = {"security": "security", "public": "facility", "renovation": "renovation", "shop": "shop"}
DEADLINE = sh(11, 28, 18, 0)


def day(month, number):
    return datetime.date(2026, month, number)


def checkpoint(w, kind, name, zone=None, **values):
    """A checkpoint in 一区 (or `zone`) with the manual's checklist for its kind."""
    return patrols.create_checkpoint(w.supervisor, kind=kind, name=name, zone=zone or w.zone,
                                     checklist=Checklist.get(code=CHECKLIST_OF[kind]), **values)


def items(point):
    return list(point.checklist.live_items())


def all_ok(point, **failed):
    """Every item 合格, except the items named in `failed` (item text → note) answered 不合格."""
    return {item.id: ("fail", failed[item.text]) if item.text in failed else ("ok", "") for item in items(point)}


def check(w, point, via="list", actor=None, answers=None, **values):
    made, created = patrols.record_check(actor or w.assistant, point, via, answers or all_ok(point), **values)
    assert created
    return made


def fresh(record):
    return type(record).get_by_id(record.id)


def board(w, on=None, zones=None):
    return patrols.coverage_today(zones or [w.zone.id], on)


def set_rules(w, **changes):
    rules = PatrolRules.current()
    values = {name: getattr(rules, name) for name in
              ("quiet_start", "quiet_end", "security_days", "renovation_days", "shop_days", "public_days")}
    values.update(changes)
    return patrols.update_rules(w.supervisor, rules.version, **values)


def failed_finding(w, text="照明正常", note="3楼灯不亮"):
    """An open finding from a 楼道 check in 一区."""
    point = checkpoint(w, "public", "1号楼楼道")
    check(w, point, answers=all_ok(point, **{text: note}))
    return Finding.get(Finding.checkpoint == point)


# The estate-local day

def test_a_check_just_before_and_one_just_after_midnight_fall_on_two_days(world, traveller):
    post = checkpoint(world, "security", "东门岗")
    traveller.move_to(sh(11, 27, 23, 50))
    late = check(world, post)
    assert fresh(late).day == day(11, 27)
    assert board(world, day(11, 27))["security"]["done"] == 1

    traveller.move_to(sh(11, 28, 0, 5))  # still 11-27 in UTC
    assert board(world)["security"]["owed"] == [post]
    early = check(world, post)
    assert fresh(early).day == day(11, 28)
    assert board(world)["security"]["owed"] == [] and board(world)["security"]["done"] == 1
    assert [c.day for c in patrols.history(post)] == [day(11, 28), day(11, 27)]


# Made without signal, sent later

def test_a_check_kept_on_the_phone_overnight_counts_for_the_day_and_window_it_was_made(world, traveller):
    flat = checkpoint(world, "renovation", "1-1-101装修", household=world.home)
    made_at = clock.to_utc_naive(sh(11, 27, 12, 40))  # in the basement, inside the no-noise window
    traveller.move_to(sh(11, 28, 8, 15))  # the signal came back the next morning
    made = fresh(check(world, flat, made_at=made_at))
    assert (made.at, made.day, made.in_window) == (made_at, day(11, 27), True)
    assert board(world, day(11, 27))["renovation"]["window_done"] == 1
    assert board(world)["renovation"]["done"] == 0  # nothing for the 28th yet
    event = Event.get((Event.record_type == "check") & (Event.record_id == made.id))
    assert "无信号时记录于 12:40，信号恢复后提交" in event.note
    assert event.at == clock.to_utc_naive(sh(11, 28, 8, 15))  # the timeline says when it arrived


@pytest.mark.parametrize("made, arrived", [((11, 26, 8, 0), (11, 27, 8, 30)),  # more than 24 hours
                                           ((11, 27, 10, 30), (11, 27, 10, 0))])  # in the future
def test_a_check_kept_too_long_or_from_the_future_is_refused(world, traveller, made, arrived):
    post = checkpoint(world, "security", "东门岗")
    traveller.move_to(sh(*arrived))
    with pytest.raises(PatrolError, match="24 小时"):
        patrols.record_check(world.assistant, post, "scan", all_ok(post), made_at=clock.to_utc_naive(sh(*made)))
    assert Check.select().count() == 0


# The no-noise window

@pytest.mark.parametrize("hour, minute, in_window", [(10, 0, False), (12, 0, True), (12, 30, True),
                                                      (13, 59, True), (14, 0, False)])
def test_a_renovation_counts_for_the_quiet_window_only_when_checked_inside_it(world, traveller, hour, minute,
                                                                              in_window):
    flat = checkpoint(world, "renovation", "1-1-101装修", household=world.home)
    traveller.move_to(sh(11, 27, hour, minute))
    made = check(world, flat)
    renovation = board(world)["renovation"]
    assert fresh(made).in_window is in_window
    assert (renovation["total"], renovation["done"], renovation["owed"]) == (1, 1, [])
    assert renovation["window_done"] == int(in_window)
    assert renovation["window_owed"] == ([] if in_window else [flat])


def test_the_quiet_window_is_what_the_rules_say(world, traveller):
    traveller.move_to(sh(11, 27, 8, 0))
    rules = set_rules(world, quiet_start=datetime.time(9, 0), quiet_end=datetime.time(11, 0))
    assert rules.window_label == "09:00–11:00"
    assert PatrolRules.current().quiet_end == datetime.time(11, 0)
    morning = checkpoint(world, "renovation", "1-1-101装修")
    noon = checkpoint(world, "renovation", "1-1-201装修")
    traveller.move_to(sh(11, 27, 10, 0))
    check(world, morning)
    traveller.move_to(sh(11, 27, 12, 30))
    check(world, noon)
    renovation = board(world)["renovation"]
    assert renovation["done"] == 2
    assert renovation["window_done"] == 1 and renovation["window_owed"] == [noon]


@pytest.mark.parametrize("changes, field", [
    ({"quiet_start": datetime.time(14, 0), "quiet_end": datetime.time(14, 0)}, "quiet_end"),
    ({"quiet_start": datetime.time(14, 0), "quiet_end": datetime.time(12, 0)}, "quiet_end"),
    ({"security_days": 0}, "security_days"),
    ({"renovation_days": 91}, "renovation_days"),
    ({"shop_days": -1}, "shop_days"),
    ({"public_days": 91}, "public_days"),
])
def test_patrol_rules_refuse_a_backwards_window_and_intervals_outside_1_to_90(world, changes, field):
    with pytest.raises(PatrolError) as refused:
        set_rules(world, **changes)
    assert refused.value.field == field
    rules = PatrolRules.current()
    assert (rules.window_label, rules.security_days, rules.public_days, rules.version) == ("12:00–14:00", 1, 7, 1)


def test_patrol_rules_changed_by_someone_else_meanwhile_are_not_overwritten(world):
    rules = PatrolRules.current()
    set_rules(world, security_days=2)
    with pytest.raises(StaleRecord):
        patrols.update_rules(world.supervisor, rules.version, quiet_start=rules.quiet_start,
                             quiet_end=rules.quiet_end, security_days=3, renovation_days=1, shop_days=1,
                             public_days=7)
    assert PatrolRules.current().security_days == 2


# Intervals

@pytest.mark.parametrize("days_later, covered", [(6, True), (7, False)])
def test_a_public_place_stays_covered_for_its_interval_then_falls_due(world, traveller, days_later, covered):
    hall = checkpoint(world, "public", "1号楼大堂", interval_days=7)
    check(world, hall)
    traveller.shift(datetime.timedelta(days=days_later))
    public = board(world)["public"]
    assert public["total"] == 1
    assert public["owed"] == ([] if covered else [hall])


def test_a_public_place_starts_with_the_estates_default_interval(world):
    set_rules(world, public_days=14)
    assert checkpoint(world, "public", "中心花园").interval_days == 14
    with pytest.raises(PatrolError) as refused:
        checkpoint(world, "public", "北门花坛", interval_days=91)
    assert refused.value.field == "interval_days"


def test_security_posts_are_due_daily_until_the_rules_allow_two_days(world, traveller):
    post = checkpoint(world, "security", "东门岗", interval_days=7)  # only public places keep their own
    check(world, post)
    traveller.move_to(sh(11, 28, 10, 0))
    assert board(world)["security"]["owed"] == [post]
    set_rules(world, security_days=2)
    assert board(world)["security"]["owed"] == []
    traveller.move_to(sh(11, 29, 10, 0))
    assert board(world)["security"]["owed"] == [post]


def test_a_checkpoint_name_is_unique_within_its_zone(world):
    checkpoint(world, "security", "东门岗")
    with pytest.raises(PatrolError) as refused:
        checkpoint(world, "security", "东门岗")
    assert refused.value.field == "name"
    assert checkpoint(world, "security", "东门岗", zone=world.zone2).zone_id == world.zone2.id


def test_a_checkpoint_moved_to_another_zone_moves_to_that_assistants_board(world):
    post = checkpoint(world, "security", "东门岗")
    stale_version = post.version
    patrols.update_checkpoint(world.supervisor, post, post.version, name="东门岗", zone=world.zone2,
                              checklist=post.checklist, unit=None, interval_days=None, note="")
    assert board(world)["security"]["total"] == 0
    assert board(world, zones=[world.zone2.id])["security"]["owed"] == [post]
    assert access.may_change(world.assistant2, fresh(post)) and not access.may_change(world.assistant, fresh(post))
    with pytest.raises(StaleRecord):
        patrols.update_checkpoint(world.supervisor, fresh(post), stale_version, name="北门岗", zone=world.zone,
                                  checklist=post.checklist, unit=None, interval_days=None, note="")
    assert fresh(post).name == "东门岗"


# Stickers

def test_a_sticker_opens_its_checkpoint_until_the_checkpoint_is_voided(world):
    post = checkpoint(world, "security", "东门岗")
    assert patrols.by_token(post.token) == post
    estate.void(world.supervisor, post, "岗位撤销")
    assert patrols.by_token(post.token) is None
    with pytest.raises(PatrolError):
        patrols.record_check(world.assistant, fresh(post), "scan", all_ok(post))
    assert Check.select().count() == 0


def test_a_new_sticker_retires_the_old_code(world):
    post = checkpoint(world, "security", "东门岗")
    old = post.token
    renewed = patrols.new_sticker(world.supervisor, post)
    assert renewed.token != old
    assert patrols.by_token(old) is None
    assert patrols.by_token(renewed.token) == post
    assert "重新生成二维码" in actions(post)


def test_sticker_codes_are_long_random_and_not_the_id(world):
    first = checkpoint(world, "security", "东门岗")
    second = checkpoint(world, "security", "西门岗")
    assert len(first.token) >= 20 and len(second.token) >= 20
    assert first.token != second.token
    assert str(first.id) not in (first.token, second.token)
    assert patrols.by_token(str(first.id)) is None
    assert patrols.by_token("") is None and patrols.by_token("x" * 41) is None


# Zones

def test_an_assistant_sees_and_checks_only_their_own_zones_checkpoints(world):
    mine = checkpoint(world, "security", "1号楼门岗")
    theirs = checkpoint(world, "security", "2号楼门岗", zone=world.zone2)
    own_board = board(world, zones=access.zone_ids(world.assistant))
    other_board = board(world, zones=access.zone_ids(world.assistant2))
    assert own_board["security"]["owed"] == [mine] and own_board["security"]["total"] == 1
    assert other_board["security"]["owed"] == [theirs] and other_board["security"]["total"] == 1
    assert access.may_change(world.assistant, mine) and not access.may_change(world.assistant, theirs)
    assert access.may_change(world.assistant2, theirs) and not access.may_change(world.assistant2, mine)
    assert access.may_change(world.supervisor, mine) and access.may_change(world.supervisor, theirs)
    assert not access.may_change(world.frontdesk, mine) and not access.may_change(world.engineer, mine)


# Checks

def test_every_failed_item_needs_a_note_and_nothing_is_saved_without_it(world):
    post = checkpoint(world, "security", "东门岗")
    first, second, third = items(post)[:3]
    answers = all_ok(post)
    answers[first.id] = ("fail", "  ")
    answers[second.id] = ("fail", "未着制服")
    del answers[third.id]
    with pytest.raises(PatrolError) as refused:
        patrols.record_check(world.assistant, post, "scan", answers, token="form-1")
    assert refused.value.items == {first.id: "请写明问题", third.id: "请选择合格、不合格或不适用"}
    assert (Check.select().count(), Finding.select().count()) == (0, 0)
    assert fresh(post).last_day is None

    answers[first.id] = ("fail", "岗位无人")
    answers[third.id] = ("na", "")
    made, created = patrols.record_check(world.assistant, post, "scan", answers, token="form-1")
    assert created and made.failed == 2


def test_each_failed_item_becomes_one_finding_with_its_photos(world, tmp_path):
    post = checkpoint(world, "security", "东门岗")
    folder = str(tmp_path / "patrol-photos")
    empty_post, uniform, stray = (uploads.store(folder, world.assistant, jpeg()) for _ in range(3))
    made = check(world, post, answers=all_ok(post, 在岗在位="岗位无人", 着装规范="未着制服"),
                 photos={items(post)[0].id: [empty_post, uniform]})
    findings = list(Finding.select().order_by(Finding.id))
    assert [(f.item_text, f.note, f.state_label) for f in findings] == [
        ("在岗在位", "岗位无人", "待处理"), ("着装规范", "未着制服", "待处理")]
    assert all(f.check_id == made.id and f.zone_id == world.zone.id for f in findings)
    assert [p.id for p in uploads.Photo.of(findings[0])] == [empty_post.id, uniform.id]
    assert uploads.Photo.of(findings[1]) == []
    assert fresh(stray).owner_id is None
    assert findings[0].description == "东门岗：在岗在位不合格，岗位无人"
    assert {f.id for f in patrols.open_findings([world.zone.id])} == {f.id for f in findings}
    assert list(patrols.open_findings([world.zone2.id])) == []


def test_the_same_submit_token_twice_records_one_check(world):
    post = checkpoint(world, "security", "东门岗")
    answers = all_ok(post, 在岗在位="岗位无人")
    first, created = patrols.record_check(world.assistant, post, "scan", answers, token="check-1")
    again, created_again = patrols.record_check(world.assistant, post, "scan", answers, token="check-1")
    assert created and not created_again
    assert again.id == first.id
    assert (Check.select().count(), Finding.select().count()) == (1, 1)


@pytest.mark.parametrize("via, label", [("scan", "扫码"), ("list", "列表")])
def test_a_check_remembers_whether_the_sticker_was_scanned(world, via, label):
    post = checkpoint(world, "security", "东门岗")
    made = fresh(check(world, post, via=via))
    assert (made.via, made.via_label) == (via, label)


def test_a_check_from_an_unknown_source_is_refused(world):
    post = checkpoint(world, "security", "东门岗")
    with pytest.raises(PatrolError):
        patrols.record_check(world.assistant, post, "guess", all_ok(post))
    assert Check.select().count() == 0


# Findings

def test_a_rectification_order_goes_to_the_unit_and_the_finding_follows_it(world, traveller):
    finding = failed_finding(world)
    finding, order = patrols.raise_order(world.assistant, finding, finding.version, world.engineering,
                                         "更换3楼楼道灯", DEADLINE)
    assert order.number == "ZG20261127-001" and order.title == "整改单"
    assert (order.source_type, order.source_id, order.unit, order.zone_id) == (
        "finding", finding.id, world.engineering, world.zone.id)
    assert order.location == "1号楼楼道"
    assert finding.state_label == "整改中" and finding.work_order_id == order.id
    assert [f.id for f in patrols.open_findings([world.zone.id])] == [finding.id]

    traveller.move_to(sh(11, 27, 14, 0))
    order = workorders.report_done(world.engineer, order, order.version, "已换灯泡")
    order = workorders.inspect(world.assistant, order, order.version, False, "灯还是不亮")
    assert fresh(finding).state_label == "整改中"

    traveller.move_to(sh(11, 27, 16, 0))
    order = workorders.report_done(world.engineer, order, order.version, "更换镇流器，已亮")
    order = workorders.inspect(world.assistant, order, order.version, True)
    finding = fresh(finding)
    assert order.state_label == "已验收"
    assert finding.state_label == "已整改" and finding.resolution == "更换镇流器，已亮"
    assert finding.resolved_at == sh(11, 27, 16, 0).astimezone(datetime.timezone.utc).replace(tzinfo=None)
    assert list(patrols.open_findings([world.zone.id])) == []
    assert actions(finding) == ["巡查发现问题", "派整改单", "整改单报完成", "整改单验收不通过", "整改单报完成",
                                "整改验收通过"]


def test_cancelling_the_rectification_order_reopens_the_finding(world):
    finding = failed_finding(world)
    finding, order = patrols.raise_order(world.assistant, finding, finding.version, world.engineering,
                                         "更换3楼楼道灯", DEADLINE)
    workorders.cancel(world.assistant, order, order.version, "派错业务块")
    finding = fresh(finding)
    assert finding.state_label == "待处理" and finding.work_order_id is None
    finding, again = patrols.raise_order(world.assistant, finding, finding.version, world.cleaning,
                                         "清理灯罩", DEADLINE)
    assert again.number == "ZG20261127-002" and again.unit == world.cleaning
    assert finding.state_label == "整改中" and finding.work_order_id == again.id


def test_a_finding_is_sent_to_rectification_only_once(world):
    finding = failed_finding(world)
    stale = finding
    ordered, order = patrols.raise_order(world.assistant, finding, finding.version, world.engineering,
                                         "更换3楼楼道灯", DEADLINE)
    with pytest.raises(PatrolError):
        patrols.raise_order(world.assistant2, ordered, ordered.version, world.cleaning, "再派一次", DEADLINE)
    with pytest.raises(StaleRecord):
        patrols.raise_order(world.assistant2, stale, stale.version, world.cleaning, "再派一次", DEADLINE)
    assert [o.id for o in WorkOrder.select()] == [order.id]
    assert fresh(finding).work_order_id == order.id


def test_a_rectification_order_with_a_past_deadline_is_refused_and_the_finding_stays_open(world):
    finding = failed_finding(world)
    with pytest.raises(workorders.WorkOrderError) as refused:
        patrols.raise_order(world.assistant, finding, finding.version, world.engineering, "换灯",
                            sh(11, 27, 9, 0))
    assert refused.value.field == "deadline"
    assert fresh(finding).state_label == "待处理" and WorkOrder.select().count() == 0


def test_fixing_a_finding_on_the_spot_needs_a_note(world):
    finding = failed_finding(world)
    with pytest.raises(PatrolError) as refused:
        patrols.fix_on_the_spot(world.assistant, finding, finding.version, "  ")
    assert refused.value.field == "note" and fresh(finding).state_label == "待处理"
    fixed = patrols.fix_on_the_spot(world.assistant, finding, finding.version, "已通知保安换灯泡，现已亮")
    assert fixed.state_label == "当场解决" and fixed.resolution == "已通知保安换灯泡，现已亮"
    assert list(patrols.open_findings([world.zone.id])) == []


def test_a_finding_can_be_kept_under_observation_instead(world):
    finding = failed_finding(world)
    finding, observation = patrols.to_observation(world.assistant, finding, finding.version, day(12, 1),
                                                  "等灯具到货")
    # Watching is a hand-off like the others: the finding stays open while the observation does.
    assert finding.state_label == "需关注中" and finding.is_open
    assert (finding.handed_to, finding.handed_id) == ("observation", observation.id)
    assert observation.state_label == "关注中" and observation.finding_id == finding.id
    assert observation.checkpoint_id == finding.checkpoint_id and observation.zone_id == world.zone.id
    assert observation.where == "1号楼楼道" and observation.what == "照明正常不合格，3楼灯不亮"  # the name is its where
    assert [o.id for o in patrols.open_observations([world.zone.id])] == [observation.id]
    patrols.close_observation(world.assistant, observation, observation.version, "灯具到货已换上")
    finding = fresh(finding)
    assert finding.state_label == "已了结" and not finding.is_open and finding.resolution == "灯具到货已换上"
    assert [e.action for e in events.timeline(finding)][-1] == "需关注已关闭"


def test_a_finding_turned_into_an_observation_needs_a_follow_up_no_earlier_than_today(world):
    finding = failed_finding(world)
    with pytest.raises(PatrolError) as refused:
        patrols.to_observation(world.assistant, finding, finding.version, day(11, 26))
    assert refused.value.field == "follow_up_by"
    assert fresh(finding).state_label == "待处理" and Observation.select().count() == 0


def test_a_finding_already_sent_for_rectification_cannot_be_closed_on_the_spot(world):
    finding = failed_finding(world)
    finding, order = patrols.raise_order(world.assistant, finding, finding.version, world.engineering,
                                         "更换3楼楼道灯", DEADLINE)
    with pytest.raises(PatrolError):
        patrols.fix_on_the_spot(world.assistant, finding, finding.version, "已修好")
    with pytest.raises(PatrolError):
        patrols.to_observation(world.assistant, finding, finding.version)
    assert fresh(finding).state_label == "整改中" and Observation.select().count() == 0


# Observations

@pytest.mark.parametrize("what, where, follow_up_by, field", [
    ("", "2号楼北侧", None, "what"),
    ("外墙瓷砖松动", "  ", None, "where"),
    ("外墙瓷砖松动", "2号楼北侧", day(11, 26), "follow_up_by"),
])
def test_an_observation_says_what_and_where_and_follows_up_no_earlier_than_today(world, what, where,
                                                                                  follow_up_by, field):
    with pytest.raises(PatrolError) as refused:
        patrols.observe(world.assistant, world.zone, what, where, follow_up_by)
    assert refused.value.field == field
    assert Observation.select().count() == 0


def test_an_observation_may_be_followed_up_today(world):
    observation = patrols.observe(world.assistant, world.zone, "外墙瓷砖松动", "1号楼北侧", day(11, 27))
    assert observation.follow_up_by == day(11, 27) and observation.state_label == "关注中"


def test_closing_an_observation_needs_a_note_and_the_latest_version(world):
    observation = patrols.observe(world.assistant, world.zone, "外墙瓷砖松动", "1号楼北侧")
    with pytest.raises(PatrolError) as refused:
        patrols.close_observation(world.assistant, observation, observation.version, " ")
    assert refused.value.field == "note"
    closed = patrols.close_observation(world.assistant, observation, observation.version, "工程部已修复")
    assert closed.state_label == "已关闭" and closed.close_note == "工程部已修复"
    with pytest.raises(StaleRecord):
        patrols.close_observation(world.assistant2, observation, observation.version, "再关一次")
    assert fresh(observation).close_note == "工程部已修复"


def test_open_observations_lists_only_open_ones_in_the_given_zones(world):
    later = patrols.observe(world.assistant, world.zone, "井盖松动", "1号楼东侧", day(12, 5))
    sooner = patrols.observe(world.assistant, world.zone, "外墙瓷砖松动", "1号楼北侧", day(11, 30))
    closed = patrols.observe(world.assistant, world.zone, "路灯不亮", "1号楼南侧")
    patrols.close_observation(world.assistant, closed, closed.version, "已修复")
    elsewhere = patrols.observe(world.assistant2, world.zone2, "树枝折断", "2号楼西侧")
    assert [o.id for o in patrols.open_observations([world.zone.id])] == [sooner.id, later.id]
    assert [o.id for o in patrols.open_observations([world.zone2.id])] == [elsewhere.id]
    assert {o.id for o in patrols.open_observations([world.zone.id, world.zone2.id])} == {
        sooner.id, later.id, elsewhere.id}


# Coverage history

def test_coverage_history_counts_each_day_from_the_checks(world, traveller):
    one = checkpoint(world, "security", "1号岗")
    two = checkpoint(world, "security", "2号岗")
    checkpoint(world, "security", "二区岗", zone=world.zone2)
    lobby = checkpoint(world, "public", "1号楼大堂")  # every 7 days: covered by a check within them
    check(world, one, via="scan")

    traveller.move_to(sh(11, 28, 0, 10))  # still 11-27 in UTC
    three = checkpoint(world, "security", "3号岗")
    estate.void(world.supervisor, two, "岗位撤销")
    traveller.move_to(sh(11, 28, 10, 0))
    check(world, one, via="list")
    check(world, three, via="scan")
    check(world, three, via="list")

    traveller.move_to(sh(11, 29, 10, 0))
    weeks = patrols.coverage_history([world.zone.id], day(11, 26), day(11, 29))
    assert list(weeks) == [day(11, 26), day(11, 27), day(11, 28), day(11, 29)]
    security = {d: weeks[d]["groups"]["security"] for d in weeks}
    assert security[day(11, 26)] == {"total": 0, "done": 0, "missed": [], "scanned": 0}
    assert security[day(11, 27)] == {"total": 2, "done": 1, "missed": ["2号岗"], "scanned": 1}
    assert security[day(11, 28)] == {"total": 2, "done": 2, "missed": [], "scanned": 1}
    assert security[day(11, 29)] == {"total": 2, "done": 0, "missed": ["1号岗", "3号岗"], "scanned": 0}
    assert set(weeks[day(11, 27)]["groups"]) == {"security", "renovation", "shop", "public"}
    assert weeks[day(11, 29)]["groups"]["public"] == {"total": 1, "done": 0, "missed": ["1号楼大堂"], "scanned": 0}
    assert weeks[day(11, 29)]["missed"]["public"] == [lobby]
    check(world, lobby)
    weeks = patrols.coverage_history([world.zone.id], day(11, 29), day(12, 6))
    assert [weeks[d]["groups"]["public"]["done"] for d in weeks] == [1] * 7 + [0]


def test_coverage_history_follows_a_two_day_rule(world, traveller):
    set_rules(world, security_days=2)
    post = checkpoint(world, "security", "1号岗")
    check(world, post)
    weeks = patrols.coverage_history([world.zone.id], day(11, 27), day(11, 29))
    assert [weeks[d]["groups"]["security"]["done"] for d in weeks] == [1, 1, 0]
    assert weeks[day(11, 29)]["groups"]["security"]["missed"] == [post.name]


def test_coverage_history_shows_renovations_missed_in_the_quiet_window(world, traveller):
    morning = checkpoint(world, "renovation", "1-1-101装修")
    noon = checkpoint(world, "renovation", "1-1-201装修")
    check(world, morning)
    traveller.move_to(sh(11, 27, 12, 30))
    check(world, noon)
    window = patrols.coverage_history([world.zone.id], day(11, 27), day(11, 27))[day(11, 27)]["window"]
    assert window == {"total": 2, "done": 1, "missed": ["1-1-101装修"]}


# Checklists

def test_the_manuals_checklists_are_seeded_once(world):
    texts = {c.code: (c.name, [i.text for i in c.live_items()]) for c in patrols.checklists()}
    assert list(texts) == ["security", "facility", "greenery", "shop", "renovation"]
    assert texts["security"][0] == "安保岗位" and texts["security"][1][0] == "在岗在位"
    assert texts["shop"][0] == "商铺" and "招牌广告灯箱整洁及安全" in texts["shop"][1]
    assert texts["renovation"][0] == "装修户"
    assert texts["greenery"][0] == "绿化" and {"无死苗", "无杂草"} <= set(texts["greenery"][1])
    assert texts["facility"][0] == "楼道及公共设施" and "消防设施完好" in texts["facility"][1]
    patrols.seed()
    assert Checklist.select().count() == 5
    assert len(items(checkpoint(world, "security", "东门岗"))) == 6


def test_editing_a_checklist_leaves_earlier_checks_as_they_read_then(world, traveller):
    post = checkpoint(world, "security", "东门岗")
    made = check(world, post, answers=all_ok(post, 着装规范="未着制服"))
    before = fresh(made).answer_rows
    assert [(r["text"], r["label"], r["note"]) for r in before[:2]] == [
        ("在岗在位", "合格", ""), ("着装规范", "不合格", "未着制服")]

    traveller.move_to(sh(11, 28, 9, 0))
    security = post.checklist
    first, second, third = items(post)[:3]
    patrols.rename_item(world.supervisor, second, "着装规范、佩戴工牌")
    patrols.void_item(world.supervisor, third)
    patrols.add_item(world.supervisor, security, "消防通道畅通")
    patrols.move_item(world.supervisor, first, +1)

    assert fresh(made).answer_rows == before
    assert [i.text for i in security.live_items()] == [
        "着装规范、佩戴工牌", "在岗在位", "对讲机等设备完好", "岗位整洁", "来访登记", "消防通道畅通"]
    later = check(world, post)
    assert [r["text"] for r in fresh(later).answer_rows][:2] == ["着装规范、佩戴工牌", "在岗在位"]


@pytest.mark.parametrize("text, message", [("", "请填写检查项"), ("在岗在位", "该检查项已存在"),
                                           ("长" * 61, "检查项不能超过 60 个字")])
def test_a_checklist_item_needs_a_new_short_text(world, text, message):
    security = Checklist.get(code="security")
    with pytest.raises(PatrolError, match=message):
        patrols.add_item(world.supervisor, security, text)
    assert security.live_items().count() == 6


def test_a_checklist_keeps_at_least_one_item(world):
    greenery = Checklist.get(code="greenery")
    *others, last = greenery.live_items()
    for item in others:
        patrols.void_item(world.supervisor, item)
    with pytest.raises(PatrolError):
        patrols.void_item(world.supervisor, last)
    assert [i.text for i in greenery.live_items()] == [last.text]
