"""Customer requests: intake, the response and resolution clocks, pause, escalation, return visits,
access and search — the rules called directly, with the clock frozen in Shanghai time.

The `world` fixture (an estate, two zones, the people, two units) is shared with
test_workorders.py.
"""
import datetime
import types

import pytest
import time_machine

from conftest import PASSWORD
from kefu import access
from kefu import clock
from kefu import estate
from kefu import events
from kefu import scheduler
from kefu import search
from kefu import tickets
from kefu import users
from kefu.callbacks import CallBack
from kefu.db import StaleRecord
from kefu.notices import Notice
from kefu.tickets import Ticket
from kefu.tickets import TicketError
from kefu.tickets import Tier

SH = clock.zone("Asia/Shanghai")
START = datetime.datetime(2026, 11, 27, 10, 0, tzinfo=SH)  # a Friday, mid-morning in Shanghai


def sh(month, day, hour, minute=0, second=0):
    """A Shanghai wall-clock time in 2026."""
    return datetime.datetime(2026, month, day, hour, minute, second, tzinfo=SH)


def local(value):
    """A stored time as the assistant reads it, Shanghai wall clock."""
    return clock.to_local(value, SH).replace(tzinfo=None)


def wall(month, day, hour, minute=0):
    return datetime.datetime(2026, month, day, hour, minute)


# The world

def _user(username, name, role, unit=None):
    return users.create_user(None, username, name, role, PASSWORD, unit=unit)


@pytest.fixture
def traveller():
    """Time stands still at START; tests move it with shift()/move_to()."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(app, traveller):
    """An estate open 08:00–20:00 every day: zone 一区 (1号楼, 张助理), zone 二区 (2号楼, 王助理),
    9号楼 in no zone, a supervisor, a front desk, 工程部 and 保洁部 with a worker each."""
    est = estate.Estate.current()
    estate.Estate.update(timezone="Asia/Shanghai", service_start=datetime.time(8, 0),
                         service_end=datetime.time(20, 0), service_weekdays="0123456").execute()
    w = types.SimpleNamespace(estate=est)
    w.assistant = _user("zhuli1", "张助理", "assistant")
    w.assistant2 = _user("zhuli2", "王助理", "assistant")
    w.supervisor = _user("zhuguan", "刘主管", "supervisor")
    w.frontdesk = _user("qiantai", "陈前台", "frontdesk")
    w.engineering = users.Unit.create(name="工程部", kind="engineering")
    w.cleaning = users.Unit.create(name="保洁部", kind="cleaning")
    w.engineer = _user("gongcheng", "李师傅", "unit", unit=w.engineering)
    w.cleaner = _user("baojie", "赵阿姨", "unit", unit=w.cleaning)
    w.b1 = estate.create_building(None, "1", "1号楼")
    w.b2 = estate.create_building(None, "2", "2号楼")
    w.b9 = estate.create_building(None, "9", "9号楼")
    for building in (w.b1, w.b2, w.b9):
        estate.bulk_create_households(None, building, 1, 1, 2, 2)
    w.home = estate.Household.get(estate.Household.code == "1-1-101")
    w.neighbour = estate.Household.get(estate.Household.code == "1-1-201")
    w.home2 = estate.Household.get(estate.Household.code == "2-1-101")
    w.nowhere = estate.Household.get(estate.Household.code == "9-1-101")
    w.zone = estate.set_zone(None, None, 1, "一区", "", [w.b1.id], [w.assistant.id])
    w.zone2 = estate.set_zone(None, None, 1, "二区", "", [w.b2.id], [w.assistant2.id])
    w.normal, w.important, w.urgent = (Tier.get(Tier.name == name) for name in ("一般", "重要", "紧急"))
    return w


def intake(w, actor=None, **values):
    """Take a request with sensible defaults; returns the ticket."""
    fields = dict(channel="现场", category="工程维修", tier=w.normal, description="卫生间天花板漏水",
                  household=w.home)
    fields.update(values)
    ticket, created = tickets.create(actor or w.assistant, **fields)
    assert created
    return ticket


def fresh(ticket):
    return Ticket.get_by_id(ticket.id)


def actions(record):
    return [e.action for e in events.timeline(record)]


def notices_of(user):
    return [n.text for n in Notice.unread(user)]


def test_default_tiers_are_seeded(world):
    assert [(t.name, t.response_minutes, t.resolution_minutes, t.notify_supervisor) for t in Tier.live()] == [
        ("一般", 60, 72 * 60, False), ("重要", 60, 24 * 60, False), ("紧急", 60, 4 * 60, True)]


# Intake

def test_numbers_count_up_within_a_day(world):
    first, second = intake(world), intake(world)
    assert (first.number, second.number) == ("KS20261127-001", "KS20261127-002")


def test_numbers_follow_the_shanghai_day_not_the_utc_day(world, traveller):
    traveller.move_to(sh(11, 27, 23, 50))
    late_night = intake(world)
    traveller.move_to(sh(11, 28, 0, 10))  # still 11-27 in UTC
    after_midnight = intake(world)
    assert late_night.number == "KS20261127-001"
    assert after_midnight.number == "KS20261128-001"


def test_the_same_submit_token_twice_creates_one_ticket(world):
    first, created = tickets.create(world.assistant, channel="电话", category="保洁", tier=world.normal,
                                    description="楼道有垃圾", household=world.home, token="tok-1")
    again, created_again = tickets.create(world.assistant, channel="电话", category="保洁", tier=world.normal,
                                          description="楼道有垃圾", household=world.home, token="tok-1")
    assert created and not created_again
    assert again.id == first.id and again.number == "KS20261127-001"
    assert Ticket.select().count() == 1
    assert actions(first) == ["受理"]
    assert intake(world).number == "KS20261127-002"  # the resend used up no number


def test_frontdesk_intake_goes_to_the_zones_assistant(world):
    ticket = intake(world, world.frontdesk, channel="前台转交")
    assert ticket.assignee == world.assistant
    assert ticket.zone == world.zone and ticket.building == world.b1 and ticket.location == "1-1-101"
    assert ticket.created_by == world.frontdesk
    assert "转交 张助理" in events.timeline(ticket)[0].note
    assert ticket in tickets.visible_to(world.assistant)


def test_an_assistants_own_intake_is_theirs(world):
    newcomer = _user("zhuli3", "丁助理", "assistant")  # sorts before 张助理
    estate.set_zone(None, world.zone, world.zone.version, "一区", "", [world.b1.id],
                    [world.assistant.id, newcomer.id])
    assert estate.Zone.get_by_id(world.zone.id).assistants.first() == newcomer
    ticket = intake(world, world.assistant)
    assert ticket.assignee == world.assistant
    assert "转交" not in events.timeline(ticket)[0].note


def test_an_assistants_intake_in_another_zone_goes_to_that_zones_assistant(world):
    ticket = intake(world, world.assistant, household=world.home2)
    assert ticket.zone == world.zone2 and ticket.assignee == world.assistant2


def test_an_urgent_intake_tells_every_active_supervisor(world):
    second = _user("zhuguan2", "孙主管", "supervisor")
    retired = _user("zhuguan3", "钱主管", "supervisor")
    users.User.update(active=False).where(users.User.id == retired.id).execute()
    ticket = intake(world, tier=world.urgent, description="电梯困人")
    for supervisor in (world.supervisor, second):
        unread = list(Notice.unread(supervisor))
        assert len(unread) == 1
        assert unread[0].record_id == ticket.id and ticket.number in unread[0].text and "紧急" in unread[0].text
    assert notices_of(retired) == []
    assert notices_of(world.assistant) == []


def test_a_normal_intake_tells_no_supervisor(world):
    intake(world, tier=world.normal)
    intake(world, tier=world.important)
    assert notices_of(world.supervisor) == []


def test_a_household_outside_every_zone_needs_a_zone(world):
    with pytest.raises(TicketError) as refused:
        intake(world, household=world.nowhere)
    assert refused.value.field == "zone" and "不属于任何管辖区域" in refused.value.message
    assert Ticket.select().count() == 0
    ticket = intake(world, world.frontdesk, household=world.nowhere, zone=world.zone2)
    assert ticket.zone == world.zone2 and ticket.assignee == world.assistant2


@pytest.mark.parametrize("values, field", [
    ({"description": ""}, "description"),
    ({"description": "   "}, "description"),
    ({"channel": ""}, "channel"),
    ({"channel": "微信"}, "channel"),
    ({"category": ""}, "category"),
    ({"tier": None}, "tier"),
    ({"household": None}, "household"),
])
def test_an_incomplete_intake_is_refused_naming_the_field(world, values, field):
    with pytest.raises(TicketError) as refused:
        intake(world, **values)
    assert refused.value.field == field and refused.value.message
    assert Ticket.select().count() == 0


# Deadlines

@pytest.mark.parametrize("taken, due", [
    (sh(11, 27, 10, 0), wall(11, 27, 11, 0)),     # inside hours
    (sh(11, 27, 19, 30), wall(11, 28, 8, 30)),    # across closing time
    (sh(11, 27, 23, 50), wall(11, 28, 9, 0)),     # at night
    (sh(11, 28, 0, 10), wall(11, 28, 9, 0)),      # after midnight
    (sh(11, 28, 7, 0), wall(11, 28, 9, 0)),       # before opening
    (sh(11, 27, 20, 0), wall(11, 28, 9, 0)),      # at closing time
])
def test_response_is_due_sixty_service_minutes_after_intake(world, traveller, taken, due):
    traveller.move_to(taken)
    assert local(intake(world).response_due) == due


@pytest.mark.parametrize("tier, taken, due", [
    ("urgent", sh(11, 27, 18, 0), wall(11, 28, 10, 0)),      # 2 h today + 2 h tomorrow
    ("urgent", sh(11, 27, 10, 0), wall(11, 27, 14, 0)),
    ("important", sh(11, 27, 10, 0), wall(11, 29, 10, 0)),   # 24 service hours = two 12-hour days
    ("normal", sh(11, 27, 10, 0), wall(12, 3, 10, 0)),       # 72 service hours
    ("urgent", sh(11, 27, 22, 0), wall(11, 28, 12, 0)),
])
def test_resolution_is_due_after_the_tiers_service_hours(world, traveller, tier, taken, due):
    traveller.move_to(taken)
    assert local(intake(world, tier=getattr(world, tier)).resolution_due) == due


def test_responding_in_time_stops_the_response_clock(world, traveller):
    ticket = intake(world)
    traveller.move_to(sh(11, 27, 10, 45))
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "电话", "已约下午上门")
    traveller.move_to(sh(11, 27, 15, 0))  # long after the limit
    assert ticket.state_label == "已响应" and ticket.response_method == "电话"
    assert not ticket.response_late()
    last = events.timeline(ticket)[-1]
    assert (last.action, last.from_state, last.to_state) == ("响应", "待响应", "已响应")
    assert "超时" not in last.note and "已约下午上门" in last.note


def test_responding_after_the_limit_is_late(world, traveller):
    ticket = intake(world)
    traveller.move_to(sh(11, 27, 11, 1))
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "上门", "")
    assert ticket.response_late()
    assert "超时" in events.timeline(ticket)[-1].note


def test_an_unanswered_ticket_turns_late_at_its_due_time(world, traveller):
    ticket = intake(world)
    traveller.move_to(sh(11, 27, 11, 0))
    assert not ticket.response_late()
    traveller.shift(1)
    assert ticket.response_late()
    assert ticket.next_due()[0] == "响应客户"


@pytest.mark.parametrize("paused, resumed, due", [
    (sh(11, 27, 11, 0), sh(11, 27, 13, 0), wall(11, 29, 12, 0)),    # two hours in the day
    (sh(11, 27, 19, 0), sh(11, 28, 9, 0), wall(11, 29, 12, 0)),     # 1 h before closing + 1 h after opening
    (sh(11, 27, 19, 30), sh(11, 28, 8, 30), wall(11, 29, 11, 0)),
    (sh(11, 27, 21, 0), sh(11, 28, 7, 0), wall(11, 29, 10, 0)),     # paused only while closed: no change
])
def test_a_pause_moves_the_resolution_deadline_by_the_service_time_paused(world, traveller, paused, resumed, due):
    ticket = intake(world, tier=world.important)
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "电话", "")
    assert local(ticket.resolution_due) == wall(11, 29, 10, 0)
    traveller.move_to(paused)
    ticket = tickets.pause(world.assistant, ticket, ticket.version, "等待配件", "水管配件下周到")
    assert ticket.state_label == "已暂停"
    traveller.move_to(resumed)
    ticket = tickets.resume(world.assistant, ticket, ticket.version)
    assert ticket.state_label == "已响应"  # back where it was
    assert local(ticket.resolution_due) == due
    assert f"{due:%m-%d %H:%M}" in events.timeline(ticket)[-1].note


def test_a_pause_never_stops_the_response_clock(world, traveller):
    ticket = intake(world)
    traveller.move_to(sh(11, 27, 10, 20))
    ticket = tickets.pause(world.assistant, ticket, ticket.version, "等待客户")
    traveller.move_to(sh(11, 27, 11, 30))
    assert ticket.response_late()
    traveller.move_to(sh(11, 27, 12, 0))
    ticket = tickets.resume(world.assistant, ticket, ticket.version)
    assert ticket.state_label == "待响应"
    assert local(ticket.response_due) == wall(11, 27, 11, 0)  # not moved by the pause
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "电话", "")
    assert ticket.response_late()


def test_a_paused_ticket_is_not_late_for_resolution(world, traveller):
    ticket = intake(world, tier=world.urgent)  # due 14:00
    traveller.move_to(sh(11, 27, 13, 0))
    ticket = tickets.pause(world.assistant, ticket, ticket.version, "等待第三方")
    traveller.move_to(sh(11, 27, 15, 0))
    assert not ticket.resolution_late()
    ticket = tickets.resume(world.assistant, ticket, ticket.version)
    assert local(ticket.resolution_due) == wall(11, 27, 16, 0)
    assert not ticket.resolution_late()
    traveller.move_to(sh(11, 27, 16, 1))
    assert ticket.resolution_late()


def test_a_pause_needs_one_of_the_reasons(world):
    ticket = intake(world)
    with pytest.raises(TicketError) as refused:
        tickets.pause(world.assistant, ticket, ticket.version, "")
    assert refused.value.field == "reason"


# Two people at once

def test_of_two_people_responding_at_once_the_second_is_told_to_refresh(world):
    seen_by_assistant = fresh(intake(world))
    seen_by_supervisor = fresh(seen_by_assistant)
    tickets.respond(world.assistant, seen_by_assistant, seen_by_assistant.version, "电话", "")
    with pytest.raises(StaleRecord) as lost:
        tickets.respond(world.supervisor, seen_by_supervisor, seen_by_supervisor.version, "上门", "")
    assert lost.value.message == "已被他人更新，请刷新后再试"
    ticket = fresh(seen_by_assistant)
    assert ticket.response_method == "电话"
    assert actions(ticket).count("响应") == 1


def test_an_old_version_is_refused_even_when_the_state_still_fits(world):
    ticket = intake(world)
    old = ticket.version
    tickets.escalate(world.assistant, ticket, ticket.version, "业主情绪激动")
    with pytest.raises(StaleRecord):
        tickets.respond(world.assistant, ticket, old, "电话", "")
    assert fresh(ticket).state_label == "待响应"


# Illegal moves

def open_order(w, ticket):
    ticket = tickets.respond(w.assistant, ticket, ticket.version, "电话", "")
    return tickets.dispatch(w.assistant, ticket, ticket.version, w.engineering, "修水管", sh(11, 27, 18, 0))


def test_resolving_on_the_spot_with_an_open_work_order_is_refused(world):
    ticket, _ = open_order(world, intake(world))
    with pytest.raises(TicketError) as refused:
        tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "已处理")
    assert "未完成的派工单" in refused.value.message
    assert fresh(ticket).state_label == "处理中"


def test_the_supervisor_cannot_close_a_ticket_with_an_open_work_order(world):
    ticket, _ = open_order(world, intake(world))
    with pytest.raises(TicketError) as refused:
        tickets.close_by_supervisor(world.supervisor, ticket, ticket.version, "客户联系不上")
    assert "未完成的派工单" in refused.value.message
    assert fresh(ticket).state_label == "处理中"


def resolved(w, **values):
    ticket = intake(w, **values)
    ticket = tickets.respond(w.assistant, ticket, ticket.version, "上门", "")
    return tickets.resolve_on_the_spot(w.assistant, ticket, ticket.version, "更换了灯泡")


@pytest.mark.parametrize("who", ["assistant", "frontdesk"])
def test_only_a_supervisor_closes_a_ticket_directly(world, who):
    ticket = resolved(world)
    with pytest.raises(TicketError) as refused:
        tickets.close_by_supervisor(getattr(world, who), ticket, ticket.version, "三次未接通")
    assert "只有客服主管" in refused.value.message
    assert fresh(ticket).state_label == "待回访"


def test_a_return_visit_before_the_work_is_done_is_refused(world):
    ticket = intake(world)
    with pytest.raises(TicketError) as refused:
        tickets.record_followup(world.assistant, ticket, ticket.version, "电话", "满意")
    assert "不能回访" in refused.value.message
    assert CallBack.select().count() == 0


def test_escalating_twice_to_the_supervisor_is_refused(world):
    ticket = intake(world)
    ticket = tickets.escalate(world.assistant, ticket, ticket.version, "需要协调物业公司")
    with pytest.raises(TicketError) as refused:
        tickets.escalate(world.assistant, ticket, ticket.version, "再报一次")
    assert "已经上报主管" in refused.value.message
    assert actions(ticket).count("上报主管") == 1


def test_responding_twice_is_refused(world):
    ticket = intake(world)
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "电话", "")
    with pytest.raises(TicketError) as refused:
        tickets.respond(world.assistant, ticket, ticket.version, "电话", "")
    assert "已响应" in refused.value.message


def test_voiding_needs_a_reason_and_keeps_the_ticket(world):
    ticket = intake(world)
    with pytest.raises(TicketError) as refused:
        tickets.void(world.supervisor, ticket, ticket.version, "  ")
    assert refused.value.field == "reason"
    ticket = tickets.void(world.supervisor, ticket, ticket.version, "重复录入")
    assert ticket.void_reason == "重复录入" and not ticket.is_open
    assert ticket not in tickets.visible_to(world.supervisor)
    assert Ticket.select().count() == 1
    with pytest.raises(TicketError) as again:
        tickets.respond(world.assistant, ticket, ticket.version, "电话", "")
    assert "作废" in again.value.message


# Escalation

def test_escalating_puts_the_ticket_before_the_supervisor(world):
    ticket = intake(world)
    ticket = tickets.escalate(world.assistant, ticket, ticket.version, "业主要求赔偿")
    assert ticket.escalation_level == 1 and ticket.escalation_reason == "业主要求赔偿"
    assert tickets.ESCALATION_LEVELS[ticket.escalation_level] == "已上报主管"
    queue = tickets.visible_to(world.supervisor).where(Ticket.escalation_level >= 1)
    assert list(queue) == [ticket]
    assert any(ticket.number in text for text in notices_of(world.supervisor))
    assert ticket.state_label == "待响应"  # escalation is a flag, the work goes on


def test_escalating_needs_a_reason(world):
    ticket = intake(world)
    with pytest.raises(TicketError) as refused:
        tickets.escalate(world.assistant, ticket, ticket.version, "")
    assert refused.value.field == "reason"


def test_the_supervisor_escalates_on_to_the_manager_on_the_timeline(world):
    ticket = intake(world)
    ticket = tickets.escalate(world.assistant, ticket, ticket.version, "协调不了")
    ticket = tickets.escalate(world.supervisor, ticket, ticket.version, "涉及赔偿，请经理定夺", level=2)
    assert ticket.escalation_level == 2
    last = events.timeline(ticket)[-1]
    assert (last.action, last.actor_name, last.note) == ("上报经理", "刘主管", "涉及赔偿，请经理定夺")
    with pytest.raises(TicketError):
        tickets.escalate(world.supervisor, ticket, ticket.version, "再报", level=2)


def answered(world, ticket):
    """The response given, so only the resolution limit is left to be late."""
    return tickets.respond(world.assistant, ticket, ticket.version, "电话", "已联系")


def test_the_sweep_escalates_only_open_tickets_past_their_limit(world, traveller):
    late = answered(world, intake(world, tier=world.urgent, description="单元门坏了"))        # due 14:00
    paused = answered(world, intake(world, tier=world.urgent, description="等配件"))
    paused = tickets.pause(world.assistant, paused, paused.version, "等待配件")
    done = resolved(world, tier=world.urgent)
    done = tickets.record_followup(world.assistant, done, done.version, "电话", "满意")
    already = answered(world, intake(world, tier=world.urgent, description="已上报过"))
    already = tickets.escalate(world.assistant, already, already.version, "先报了")
    voided = intake(world, tier=world.urgent, description="录错了")
    tickets.void(world.supervisor, voided, voided.version, "重复")
    in_time = answered(world, intake(world, tier=world.normal))
    traveller.move_to(sh(11, 27, 14, 1))
    assert tickets.sweep(clock.utcnow()) == 2  # late, and the one escalated by hand: its own lateness
    assert fresh(late).escalation_level == 1
    assert "超时" in fresh(late).escalation_reason
    for other in (paused, done, voided, in_time):
        assert fresh(other).escalation_level == 0
    assert fresh(already).escalation_level == 1 and actions(already).count("上报主管") == 1
    event = events.timeline(late)[-1]
    assert (event.action, event.actor_name) == ("超时自动上报主管", "系统")
    assert any(late.number in text for text in notices_of(world.assistant))
    from kefu import agenda
    assert ("ticket", late.id) in [i.ref for i in agenda.agenda(world.supervisor) if i.kind == "escalation.pending"]
    assert tickets.sweep(clock.utcnow()) == 0
    assert actions(late).count("超时自动上报主管") == 1


def test_the_scheduler_runs_the_sweep_once_per_interval(world, traveller):
    first = answered(world, intake(world, tier=world.urgent))      # due 14:00
    traveller.move_to(sh(11, 27, 10, 30))
    second = answered(world, intake(world, tier=world.urgent))     # due 14:30
    traveller.move_to(sh(11, 27, 14, 29, 40))
    assert "escalations.sweep" in scheduler.run_due(clock.utcnow())
    assert fresh(first).escalation_level == 1 and fresh(second).escalation_level == 0
    traveller.move_to(sh(11, 27, 14, 30, 10))                     # second is now late, but only 30 s passed
    assert "escalations.sweep" not in scheduler.run_due(clock.utcnow())
    assert fresh(second).escalation_level == 0
    traveller.move_to(sh(11, 27, 14, 30, 40))
    assert "escalations.sweep" in scheduler.run_due(clock.utcnow())
    assert fresh(second).escalation_level == 1
    assert actions(first).count("超时自动上报主管") == 1


# Return visits

def test_a_resolved_ticket_falls_due_for_a_return_visit_within_a_day(world):
    ticket = resolved(world)
    assert ticket.state_label == "待回访"
    assert local(ticket.followup_due) == wall(11, 28, 10, 0)
    assert ticket.next_due() == ("回访客户", ticket.followup_due)


@pytest.mark.parametrize("result", ["满意", "基本满意"])
def test_a_satisfied_customer_closes_the_ticket(world, traveller, result):
    ticket = resolved(world)
    traveller.move_to(sh(11, 27, 16, 0))
    ticket = tickets.record_followup(world.assistant, ticket, ticket.version, "电话", result, "师傅很专业")
    assert ticket.state_label == "已关闭" and ticket.satisfaction == result
    assert local(ticket.closed_at) == wall(11, 27, 16, 0)
    visit = CallBack.get((CallBack.record_type == "ticket") & (CallBack.record_id == ticket.id))
    assert (visit.method, visit.result, visit.words, visit.by) == ("电话", result, "师傅很专业", world.assistant)
    assert ticket.next_due() is None and tickets.outcome(ticket) == f"已关闭 · {result}"


def test_an_unsatisfied_customer_needs_their_words_recorded(world):
    ticket = resolved(world)
    with pytest.raises(TicketError) as refused:
        tickets.record_followup(world.assistant, ticket, ticket.version, "电话", "不满意", " ")
    assert refused.value.field == "words"
    assert fresh(ticket).state_label == "待回访" and CallBack.select().count() == 0


def test_an_unsatisfied_customer_reopens_the_ticket_with_a_new_deadline(world, traveller):
    ticket = resolved(world, tier=world.urgent)
    traveller.move_to(sh(11, 27, 18, 0))
    ticket = tickets.record_followup(world.assistant, ticket, ticket.version, "上门", "不满意", "还在漏")
    assert ticket.state_label == "处理中" and ticket.reopen_count == 1
    assert local(ticket.resolution_due) == wall(11, 28, 10, 0)   # 4 service hours from 18:00
    assert ticket.resolved_at is None and ticket.followup_due is None
    last = events.timeline(ticket)[-1]
    assert (last.from_state, last.to_state) == ("待回访", "处理中") and "还在漏" in last.note


def test_three_unanswered_calls_then_the_supervisor_closes(world, traveller):
    ticket = resolved(world)
    for attempt in (1, 2, 3):
        traveller.shift(datetime.timedelta(hours=1))
        ticket = tickets.record_followup(world.assistant, ticket, ticket.version, "电话", "未接通")
        assert ticket.state_label == "待回访" and ticket.followup_attempts == attempt
    ticket = tickets.close_by_supervisor(world.supervisor, ticket, ticket.version, "三次回访未接通")
    assert ticket.state_label == "已关闭" and ticket.close_reason == "三次回访未接通"
    assert ticket.satisfaction == ""
    assert CallBack.select().where(CallBack.result == "未接通").count() == 3
    assert events.timeline(ticket)[-1].actor_name == "刘主管"


def test_the_supervisor_must_give_a_reason_to_close(world):
    ticket = resolved(world)
    with pytest.raises(TicketError) as refused:
        tickets.close_by_supervisor(world.supervisor, ticket, ticket.version, "")
    assert refused.value.field == "reason"


# Who may see and act

def test_an_assistant_of_another_zone_reads_but_neither_lists_nor_acts_until_handed_over(world):
    ticket = intake(world)
    outsider = world.assistant2
    assert access.may_see(outsider, ticket) and not access.may_change(outsider, ticket)  # 举一反三
    assert ticket not in tickets.visible_to(outsider)
    ticket = tickets.reassign(world.supervisor, ticket, ticket.version, outsider, "张助理休假")
    assert ticket.assignee == outsider
    assert access.may_see(outsider, ticket) and access.may_change(outsider, ticket)
    assert list(tickets.visible_to(outsider)) == [ticket]
    assert any(ticket.number in text for text in notices_of(outsider))
    assert "张助理 → 王助理" in events.timeline(ticket)[-1].note


def test_the_front_desk_sees_every_ticket_but_acts_on_none(world):
    ticket = intake(world, household=world.home2)
    assert access.may_see(world.frontdesk, ticket) and not access.may_change(world.frontdesk, ticket)
    assert ticket in tickets.visible_to(world.frontdesk)


def test_unit_staff_see_no_tickets(world):
    ticket = intake(world)
    assert not access.may_see(world.engineer, ticket) and not access.may_change(world.engineer, ticket)
    assert list(tickets.visible_to(world.engineer)) == []


def test_the_supervisor_sees_and_acts_everywhere(world):
    ticket = intake(world, household=world.home2)
    assert access.may_see(world.supervisor, ticket) and access.may_change(world.supervisor, ticket)


def test_reassigning_to_someone_who_cannot_hold_tickets_is_refused(world):
    ticket = intake(world)
    with pytest.raises(TicketError) as refused:
        tickets.reassign(world.supervisor, ticket, ticket.version, world.engineer)
    assert refused.value.field == "assignee"


# Cases

def test_only_tickets_marked_as_cases_are_listed(world):
    case = resolved(world, description="水管老化漏水")
    intake(world, description="水管老化漏水第二次")
    with pytest.raises(TicketError) as refused:
        tickets.mark_case(world.assistant, case, case.version, "管材老化", "更换水管", "")
    assert refused.value.field == "prevention"
    assert list(search.cases()) == []
    case = tickets.mark_case(world.assistant, case, case.version, "管材老化", "更换水管", "每年检查一次")
    assert case.is_case
    assert list(search.cases()) == [case]
    assert list(search.cases("老化漏水")) == [case]
    assert list(search.cases("漏水")) == [case]
    assert list(search.cases("电梯")) == []
    assert "预防：每年检查一次" in events.timeline(case)[-1].note


def test_dispatching_before_the_call_keeps_the_response_clock_running(world, traveller):
    """Work may start before the customer is called; the response still has to be recorded."""
    ticket = intake(world)
    ticket, _order = tickets.dispatch(world.assistant, ticket, ticket.version, world.engineering, "先去看看",
                                      clock.now() + datetime.timedelta(hours=4))
    assert ticket.next_due()[0] == "响应客户"
    traveller.shift(datetime.timedelta(minutes=90))
    assert ticket.response_late()
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "电话", "已告知师傅在路上")
    assert ticket.state == "in_progress"
    assert ticket.responded_at is not None and ticket.response_late()
    assert ticket.next_due()[0] == "处理完成"


# Tiers (the administrator's)

@pytest.mark.parametrize("values, field, message", [
    ({"name": ""}, "name", "请填写名称"),
    ({"name": "重要"}, "name", "该等级名称已存在"),
    ({"response_minutes": 4}, "response_minutes", "响应时限应在 5–1440 分钟之间"),
    ({"resolution_minutes": 30}, "resolution_hours", "处理时限应在 1–720 小时之间"),
    ({"sort": 100}, "sort", "排序应在 0–99 之间"),
])
def test_a_tier_is_refused_beside_the_field(world, values, field, message):
    fields = dict(name="特急", response_minutes=30, resolution_minutes=120, notify_supervisor=True, sort=3)
    fields.update(values)
    with pytest.raises(TicketError) as refused:
        tickets.save_tier(world.supervisor, None, 0, **fields)
    assert (refused.value.field, refused.value.message) == (field, message)


def test_a_tier_edited_twice_from_the_same_page_keeps_the_first_edit(world):
    tier = tickets.save_tier(world.supervisor, world.urgent, world.urgent.version, name="紧急", response_minutes=30,
                             resolution_minutes=120, notify_supervisor=True)
    assert (tier.response_minutes, tier.version) == (30, 2)
    with pytest.raises(StaleRecord):
        tickets.save_tier(world.supervisor, world.urgent, 1, name="紧急", response_minutes=45, resolution_minutes=120,
                          notify_supervisor=True)
    assert Tier.get_by_id(world.urgent.id).response_minutes == 30
    assert [e.action for e in events.timeline(tier)] == ["修改诉求等级"]
