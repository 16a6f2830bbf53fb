"""Work orders: dispatch → accept → report done → inspect (reject → rework) → accepted, and how a
ticket resolves when all its orders are accepted. The rules called directly, clock frozen."""
import datetime

import pytest

from kefu import events
from kefu import tickets
from kefu import workorders
from kefu.db import StaleRecord
from kefu.tickets import Ticket
from kefu.workorders import WorkOrder
from kefu.workorders import WorkOrderError
from test_tickets import actions
from test_tickets import fresh
from test_tickets import intake
from test_tickets import local
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import wall
from test_tickets import world  # noqa: F401 (fixture)

TONIGHT = sh(11, 27, 18, 0)


def responded(w, **values):
    ticket = intake(w, **values)
    return tickets.respond(w.assistant, ticket, ticket.version, "电话", "")


def dispatched(w, ticket=None, unit=None, instructions="更换卫生间上水管", deadline=TONIGHT):
    """(ticket, order): a responded ticket with one order sent to 工程部 (or `unit`)."""
    ticket = ticket if ticket is not None else responded(w)
    return tickets.dispatch(w.assistant, ticket, ticket.version, unit or w.engineering, instructions, deadline)


def reported(w, order, note="已更换水管", actor=None):
    order = workorders.accept(actor or w.engineer, order, order.version)
    return workorders.report_done(actor or w.engineer, order, order.version, note)


def approved(w, order, note="已更换水管"):
    order = reported(w, order, note)
    return workorders.inspect(w.assistant, order, order.version, True)


def test_dispatch_sends_an_order_to_the_unit_and_puts_the_ticket_in_progress(world):
    ticket, order = dispatched(world)
    assert order.state_label == "待接单" and order.number == "PD20261127-001"
    assert order.unit == world.engineering and order.zone_id == world.zone.id
    assert order.location == "1-1-101" and local(order.deadline) == wall(11, 27, 18, 0)
    assert (order.source_type, order.source_id) == ("ticket", ticket.id)
    assert ticket.state_label == "处理中"
    assert list(WorkOrder.queue_for_unit(world.engineering)) == [order]


def test_one_order_from_dispatch_to_acceptance_resolves_the_ticket(world, traveller):
    ticket, order = dispatched(world)
    traveller.move_to(sh(11, 27, 11, 0))
    order = workorders.accept(world.engineer, order, order.version)
    assert order.state_label == "处理中" and local(order.accepted_at) == wall(11, 27, 11, 0)
    traveller.move_to(sh(11, 27, 14, 0))
    order = workorders.report_done(world.engineer, order, order.version, "已更换上水管")
    assert order.state_label == "待验收" and order.reported_by == "李师傅"
    assert list(WorkOrder.awaiting_inspection([world.zone.id])) == [order]
    assert fresh(ticket).state_label == "处理中"

    with pytest.raises(WorkOrderError) as refused:
        workorders.inspect(world.assistant, order, order.version, False, "  ")
    assert refused.value.field == "reason"
    order = workorders.inspect(world.assistant, order, order.version, False, "接口还在渗水")
    assert order.state_label == "返工中" and order.rework_count == 1
    assert list(WorkOrder.queue_for_unit(world.engineering)) == [order]
    assert fresh(ticket).state_label == "处理中"

    traveller.move_to(sh(11, 27, 16, 0))
    order = workorders.report_done(world.engineer, order, order.version, "重新缠生料带，已不渗")
    assert order.state_label == "待验收" and order.rework_count == 1
    order = workorders.inspect(world.assistant, order, order.version, True)
    assert order.state_label == "已验收" and local(order.approved_at) == wall(11, 27, 16, 0)

    ticket = fresh(ticket)
    assert ticket.state_label == "待回访"
    assert local(ticket.resolved_at) == wall(11, 27, 16, 0)
    assert local(ticket.followup_due) == wall(11, 28, 16, 0)
    assert "重新缠生料带" in ticket.resolution_note
    assert actions(order) == ["派工", "接单", "报完成", "验收不通过", "报完成", "验收通过"]
    assert actions(ticket)[-3:] == ["派工单报完成", "派工单验收通过", "处理完成"]
    rejected = [e for e in events.timeline(ticket) if e.action == "派工单验收不通过"]
    assert len(rejected) == 1 and "接口还在渗水" in rejected[0].note


def test_with_two_orders_the_ticket_resolves_only_after_both_are_accepted(world):
    ticket, plumbing = dispatched(world)
    ticket, cleaning = dispatched(world, ticket, world.cleaning, "清理卫生间积水")
    assert ticket.state_label == "处理中"
    approved(world, plumbing)
    assert fresh(ticket).state_label == "处理中"
    cleaning = workorders.accept(world.cleaner, cleaning, cleaning.version)
    cleaning = workorders.report_done(world.cleaner, cleaning, cleaning.version, "已清理")
    workorders.inspect(world.assistant, cleaning, cleaning.version, True)
    ticket = fresh(ticket)
    assert ticket.state_label == "待回访"
    assert "工程部" in ticket.resolution_note and "保洁部" in ticket.resolution_note


def test_cancelling_the_last_open_order_resolves_when_another_was_accepted(world):
    ticket, plumbing = dispatched(world)
    ticket, cleaning = dispatched(world, ticket, world.cleaning, "清理积水")
    approved(world, plumbing)
    cleaning = workorders.cancel(world.assistant, cleaning, cleaning.version, "业主已自行清理")
    assert cleaning.state_label == "已撤销" and cleaning.cancel_reason == "业主已自行清理"
    assert fresh(ticket).state_label == "待回访"


def test_cancelling_the_only_order_leaves_the_ticket_in_progress(world):
    ticket, order = dispatched(world)
    workorders.cancel(world.assistant, order, order.version, "派错了业务块")
    ticket = fresh(ticket)
    assert ticket.state_label == "处理中"
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "助理现场处理")
    assert ticket.state_label == "待回访"


def test_cancelling_needs_a_reason(world):
    _, order = dispatched(world)
    with pytest.raises(WorkOrderError) as refused:
        workorders.cancel(world.assistant, order, order.version, "")
    assert refused.value.field == "reason"


def test_the_assistant_records_done_on_the_units_behalf(world):
    ticket, order = dispatched(world)
    order = workorders.report_done(world.assistant, order, order.version, "电话告知已完成", on_behalf="工程部 李师傅")
    assert order.state_label == "待验收" and order.reported_by == "工程部 李师傅"
    assert order.report_note == "电话告知已完成"
    note = events.timeline(order)[-1].note
    assert "张助理" in note and "工程部 李师傅" in note and "电话告知已完成" in note
    ticket_note = events.timeline(ticket)[-1].note
    assert "张助理" in ticket_note and "工程部 李师傅" in ticket_note


def inspect_waiting(w, order):
    workorders.inspect(w.assistant, order, order.version, True)


def accept_twice(w, order):
    order = workorders.accept(w.engineer, order, order.version)
    workorders.accept(w.engineer, order, order.version)


def report_cancelled(w, order):
    order = workorders.cancel(w.assistant, order, order.version, "重复派工")
    workorders.report_done(w.engineer, order, order.version, "已完成")


def reject_accepted(w, order):
    order = approved(w, order)
    workorders.inspect(w.assistant, order, order.version, False, "还是不行")


@pytest.mark.parametrize("move, state", [
    (inspect_waiting, "待接单"),
    (accept_twice, "处理中"),
    (report_cancelled, "已撤销"),
    (reject_accepted, "已验收"),
])
def test_an_illegal_move_is_refused_with_a_message(world, move, state):
    _, order = dispatched(world)
    with pytest.raises(WorkOrderError) as refused:
        move(world, order)
    assert f"派工单当前为“{state}”" in refused.value.message
    assert WorkOrder.get_by_id(order.id).state_label == state


@pytest.mark.parametrize("deadline", [sh(11, 27, 9, 0), sh(11, 27, 10, 0), None])
def test_a_deadline_not_in_the_future_is_refused_and_nothing_changes(world, deadline):
    ticket = responded(world)
    with pytest.raises(WorkOrderError) as refused:
        tickets.dispatch(world.assistant, ticket, ticket.version, world.engineering, "修水管", deadline)
    assert refused.value.field == "deadline"
    assert WorkOrder.select().count() == 0
    assert fresh(ticket).state_label == "已响应" and fresh(ticket).version == ticket.version
    assert "派工" not in actions(ticket)


def test_an_order_without_instructions_is_refused(world):
    ticket = responded(world)
    with pytest.raises(WorkOrderError) as refused:
        tickets.dispatch(world.assistant, ticket, ticket.version, world.engineering, " ", TONIGHT)
    assert refused.value.field == "instructions"
    assert fresh(ticket).state_label == "已响应"


def test_a_units_queue_never_shows_another_units_orders(world):
    ticket, plumbing = dispatched(world)
    ticket, cleaning = dispatched(world, ticket, world.cleaning, "清理积水")
    _, leak = dispatched(world, responded(world, household=world.home2), deadline=sh(11, 27, 16, 0))
    assert list(WorkOrder.queue_for_unit(world.engineering)) == [leak, plumbing]  # most urgent first
    assert list(WorkOrder.queue_for_unit(world.cleaning)) == [cleaning]
    reported(world, leak)
    assert list(WorkOrder.queue_for_unit(world.engineering)) == [plumbing]  # waiting for inspection: off the queue


def test_of_two_inspections_at_once_the_second_is_told_to_refresh(world):
    ticket, order = dispatched(world)
    order = reported(world, order)
    seen_twice = WorkOrder.get_by_id(order.id)
    workorders.inspect(world.assistant, order, order.version, True)
    with pytest.raises(StaleRecord) as lost:
        workorders.inspect(world.supervisor, seen_twice, seen_twice.version, False, "不合格")
    assert lost.value.message == "已被他人更新，请刷新后再试"
    order = WorkOrder.get_by_id(order.id)
    assert order.state_label == "已验收" and order.rework_count == 0
    assert actions(order).count("验收通过") == 1 and "验收不通过" not in actions(order)
    assert fresh(ticket).state_label == "待回访"


def test_after_an_unsatisfied_visit_only_the_new_rounds_work_resolves_the_ticket(world, traveller):
    ticket, order = dispatched(world)
    approved(world, order)
    ticket = fresh(ticket)
    traveller.shift(datetime.timedelta(hours=2))
    ticket = tickets.record_followup(world.assistant, ticket, ticket.version, "电话", "不满意", "还在滴水")
    assert ticket.state_label == "处理中"
    traveller.shift(datetime.timedelta(minutes=10))
    ticket, extra = dispatched(world, ticket, world.cleaning, "清理", deadline=sh(11, 28, 18, 0))
    workorders.cancel(world.assistant, extra, extra.version, "不需要了")
    ticket = fresh(ticket)
    assert ticket.state_label == "处理中"  # the first round's accepted order doesn't count again
    ticket, redo = dispatched(world, ticket, deadline=sh(11, 28, 18, 0))
    approved(world, redo, "更换整段水管")
    ticket = fresh(ticket)
    assert ticket.state_label == "待回访" and ticket.reopen_count == 1
    ticket = tickets.record_followup(world.assistant, ticket, ticket.version, "电话", "满意")
    assert ticket.state_label == "已关闭"


def test_a_ticket_paused_or_resolved_cannot_be_dispatched(world):
    ticket = responded(world)
    ticket = tickets.pause(world.assistant, ticket, ticket.version, "等待客户")
    with pytest.raises(tickets.TicketError) as refused:
        tickets.dispatch(world.assistant, ticket, ticket.version, world.engineering, "修", TONIGHT)
    assert "已暂停" in refused.value.message
    assert WorkOrder.select().count() == 0
    assert Ticket.get_by_id(ticket.id).state_label == "已暂停"


def test_accepting_the_last_order_while_paused_ends_the_pause_and_resolves(world, traveller):
    ticket, order = dispatched(world)                       # 一般: due 12-03 10:00
    traveller.move_to(sh(11, 27, 11, 0))
    ticket = tickets.pause(world.assistant, ticket, ticket.version, "等待配件")
    traveller.move_to(sh(11, 27, 13, 0))
    approved(world, order)
    ticket = fresh(ticket)
    assert ticket.state_label == "待回访"
    assert local(ticket.resolution_due) == wall(12, 3, 12, 0)  # moved on by the two paused hours
    assert not ticket.resolution_late()
    assert actions(ticket)[-2:] == ["恢复处理", "处理完成"]
