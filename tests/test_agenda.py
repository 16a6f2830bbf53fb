"""The agenda: every item waiting on a person appears for them and leaves when done; lateness is one
rule (the supervisor's counts, the 只看超时 list and the escalations agree); every lateness escalates
once; escalations have their own states. The clock is frozen (test_tickets' world and traveller)."""
import datetime

from test_tickets import fresh
from test_tickets import intake
from conftest import text
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

from kefu import agenda
from kefu import clock
from kefu import escalations
from kefu import events
from kefu import services
from kefu import tickets
from kefu import workorders
from kefu.escalations import Escalation
from kefu.estate import ZoneAssistant


def kinds(user, ref=None):
    return [i.kind for i in agenda.agenda(user) if ref is None or i.ref == ref]


def test_a_request_waits_on_its_assistant_step_by_step_and_leaves_when_closed(world, traveller):
    ticket = intake(world)
    ref = ("ticket", ticket.id)
    assert kinds(world.assistant, ref) == ["ticket.respond"]
    assert kinds(world.assistant2, ref) == [] and kinds(world.frontdesk, ref) == []
    item = next(i for i in agenda.agenda(world.assistant) if i.ref == ref)
    assert (item.group, item.action, item.due) == ("待响应", "响应客户", ticket.response_due)
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "电话", "马上安排")
    assert kinds(world.assistant, ref) == ["ticket.handle"]
    ticket, order = tickets.dispatch(world.assistant, ticket, ticket.version, world.engineering, "换水管",
                                     clock.now() + datetime.timedelta(hours=4))
    assert kinds(world.assistant, ref) == ["ticket.follow"]
    assert kinds(world.engineer, ("workorder", order.id)) == ["workorder.accept"]
    assert kinds(world.cleaner, ("workorder", order.id)) == []
    order = workorders.accept(world.engineer, order, order.version)
    assert kinds(world.engineer, ("workorder", order.id)) == ["workorder.do"]
    order = workorders.report_done(world.engineer, order, order.version, "已更换")
    assert kinds(world.engineer, ("workorder", order.id)) == []
    assert kinds(world.assistant, ("workorder", order.id)) == ["workorder.inspect"]
    order = workorders.inspect(world.assistant, order, order.version, True)
    assert kinds(world.assistant, ("workorder", order.id)) == []
    assert kinds(world.assistant, ref) == ["ticket.callback"]
    ticket = fresh(ticket)
    tickets.record_followup(world.assistant, ticket, ticket.version, "电话", "满意")
    assert kinds(world.assistant, ref) == []


def test_a_rework_shows_the_rejection_reason_on_the_units_card(world, traveller):
    ticket = intake(world)
    ticket, order = tickets.dispatch(world.assistant, ticket, ticket.version, world.engineering, "修灯",
                                     clock.now() + datetime.timedelta(hours=4))
    order = workorders.report_done(world.engineer, order, order.version, "已修好")
    workorders.inspect(world.assistant, order, order.version, False, "灯罩未装回")
    item = next(i for i in agenda.agenda(world.engineer) if i.ref == ("workorder", order.id))
    assert item.kind == "workorder.redo" and "灯罩未装回" in item.detail


def test_a_service_waiting_for_its_call_back_is_on_the_assistants_agenda(world, traveller):
    item = services.ServiceItem.create(name="上门开锁", unit=world.engineering, charged=True, fee="50元/次")
    order, _ = services.create_order(world.assistant, world.home, item, "门锁打不开", charged=True,
                                     fee_told="50元/次", customer_name="张先生")
    ref = ("serviceorder", order.id)
    assert kinds(world.assistant, ref) == ["service.agree"]
    services.ServiceOrder.update(state="callback", agreed_at=clock.utcnow()).where(
        services.ServiceOrder.id == order.id).execute()
    assert kinds(world.assistant, ref) == ["service.callback"]
    assert kinds(world.assistant2, ref) == []


def test_an_assistant_given_a_zone_owes_its_waits_at_once_and_nothing_once_it_is_taken_away(world, traveller):
    # The agenda keeps each source's statement per user and zones: a change of zones is a new one.
    item = services.ServiceItem.create(name="上门开锁", unit=world.engineering, charged=True, fee="50元/次")
    order, _ = services.create_order(world.assistant, world.home, item, "门锁打不开", charged=True,
                                     fee_told="50元/次", customer_name="张先生")
    ref = ("serviceorder", order.id)
    assert kinds(world.assistant2, ref) == []
    link = ZoneAssistant.create(zone=order.zone_id, user=world.assistant2)
    assert kinds(world.assistant2, ref) == ["service.agree"]
    link.delete_instance()
    assert kinds(world.assistant2, ref) == []


def test_lateness_is_one_rule_the_supervisor_the_list_and_the_badges_agree(world, traveller, as_user):
    late = intake(world, tier=world.urgent, description="电梯困人")
    traveller.shift(datetime.timedelta(minutes=30))
    on_time = intake(world)
    traveller.move_to(clock.aware(late.response_due) + datetime.timedelta(minutes=1))
    now = clock.utcnow()
    late_items = agenda.late(now)
    assert [i.ref for i in late_items] == [("ticket", late.id)]
    assert [i.ref for i in agenda.agenda(world.assistant) if i.late(now)] == [("ticket", late.id)]
    listed = tickets.Ticket.select().where(tickets.late_where(now) & tickets.Ticket.voided_at.is_null())
    assert [t.id for t in listed] == [late.id]
    assert on_time.id not in [t.id for t in listed]
    desk = text(as_user(world.supervisor).get("/"))
    assert "超时（1）" in desk and "电梯困人" in desk


def test_every_lateness_escalates_once_after_its_grace_and_ends_when_done(world, traveller):
    ticket = intake(world, description="楼道灯不亮")
    grace = escalations.LatenessRules.current().minutes()["ticket.respond"]
    traveller.move_to(clock.aware(ticket.response_due) + datetime.timedelta(minutes=grace - 1))
    assert escalations.sweep() == []
    traveller.move_to(clock.aware(ticket.response_due) + datetime.timedelta(minutes=grace + 1))
    made = escalations.sweep()
    assert [(e.kind, e.ref_type, e.ref_id, e.state) for e in made] == [("ticket.respond", "ticket", ticket.id, "pending")]
    assert escalations.sweep() == []  # once
    assert fresh(ticket).escalation_level == 1
    assert [e.action for e in events.timeline(fresh(ticket))].count("超时自动上报主管") == 1
    pending = [i for i in agenda.agenda(world.supervisor) if i.kind == "escalation.pending"]
    assert [i.ref for i in pending] == [("ticket", ticket.id)]
    ticket = tickets.instruct(world.supervisor, fresh(ticket), fresh(ticket).version, "先电话安抚")
    escalation = Escalation.get_by_id(made[0].id)
    assert escalation.state == "instructed"
    assert [i.kind for i in agenda.agenda(world.supervisor) if i.ref == ("ticket", ticket.id)] == ["escalation.handled"]
    tickets.respond(world.assistant, ticket, ticket.version, "电话", "已联系")
    escalations.sweep()
    assert Escalation.get_by_id(made[0].id).state == "resolved"
    assert not [i for i in agenda.agenda(world.supervisor) if i.ref == ("ticket", ticket.id)]


def test_an_escalation_by_hand_is_pending_until_the_supervisor_acts(world, traveller):
    ticket = intake(world)
    tickets.escalate(world.assistant, ticket, ticket.version, "客户要求赔偿")
    (escalation,) = Escalation.select()
    assert (escalation.kind, escalation.state, escalation.by_id) == ("ticket.escalate", "pending", world.assistant.id)
    ticket = fresh(ticket)
    tickets.reassign(world.supervisor, ticket, ticket.version, world.supervisor)
    assert Escalation.get_by_id(escalation.id).state == "taken"


def test_grace_is_set_per_kind_and_bad_values_are_refused(world, traveller):
    rules = escalations.LatenessRules.current()
    minutes = rules.minutes()
    minutes["ticket.respond"] = 0
    escalations.save_grace(minutes, rules.version)
    assert escalations.LatenessRules.current().minutes()["ticket.respond"] == 0
    minutes["ticket.respond"] = "abc"
    try:
        escalations.save_grace(minutes, escalations.LatenessRules.current().version)
    except escalations.EscalationError as error:
        assert error.field == "ticket.respond" and "分钟" in str(error)
    else:
        raise AssertionError("a grace that isn't a number was saved")


def test_the_live_today_answers_204_until_something_changes(world, traveller, as_user):
    client = as_user(world.assistant)
    page = client.get("/")
    stamp = page.get_data(as_text=True).split('data-stamp="')[1].split('"')[0]
    assert client.get(f"/today/live?stamp={stamp}").status_code == 204
    intake(world, actor=world.frontdesk, description="水管爆了")
    changed = client.get(f"/today/live?stamp={stamp}")
    assert changed.status_code == 200 and "水管爆了" in changed.get_data(as_text=True)
    assert changed.headers["X-Agenda-Count"] == "1"


def test_the_today_tab_shows_the_count(world, traveller, as_user):
    intake(world)
    intake(world)
    page = as_user(world.assistant).get("/").get_data(as_text=True)
    assert 'class="tab-count" aria-hidden="true">2</b>' in page and page.count('class="tab-count"') == 1


def test_a_long_group_folds_what_can_wait_and_keeps_the_pressing_in_sight(world, traveller, as_user):
    handled = []
    for n in range(8):
        ticket = intake(world, description=f"可稍后{n}号")
        handled.append(tickets.respond(world.assistant, ticket, ticket.version, "电话", "已安排"))
    for n in range(2):
        intake(world, description=f"刚到{n}号")  # a response due within the hour: never folded
    html = as_user(world.assistant).get("/").get_data(as_text=True)
    head, folded = html.split('<details class="agenda-more"', 1)
    folded = folded.split("</details>", 1)[0]
    assert "<h2>待处理（8）</h2>" in head
    assert sum(f"可稍后{n}号" in head for n in range(8)) == 5
    assert sum(f"可稍后{n}号" in folded for n in range(8)) == 3
    assert "刚到0号" in head and "刚到1号" in head
    first = min(t.resolution_due for t in handled[5:])
    assert "还有 3 项可稍后处理" in folded
    assert f"最早 {clock.to_local(first, world.estate.tz):%m-%d %H:%M} 到期" in folded
    # Once late, nothing is folded: all eight are in sight.
    traveller.shift(max(t.resolution_due for t in handled) - clock.utcnow() + datetime.timedelta(minutes=1))
    html = as_user(world.assistant).get("/").get_data(as_text=True)
    assert "agenda-more" not in html.split('id="agenda"', 1)[1]
    assert all(f"可稍后{n}号" in html for n in range(8))


def test_the_late_list_read_through_the_database_is_the_late_part_of_everything_waiting(world, traveller):
    # Some late, some not: requests at each step, a work order, a service waiting for its call-back.
    first = intake(world)
    first = tickets.respond(world.assistant, first, first.version, "电话", "马上安排")
    first, order = tickets.dispatch(world.assistant, first, first.version, world.engineering, "换水管",
                                    clock.now() + datetime.timedelta(hours=2))
    traveller.shift(datetime.timedelta(hours=3))
    intake(world, description="楼道灯不亮")  # due in an hour: not late
    for hours in (1, 30, 24 * 9):
        traveller.shift(datetime.timedelta(hours=hours))
        now = clock.utcnow()
        expected = sorted((i for i in agenda.everyone(now) if i.late(now)), key=lambda i: (i.due, i.kind, str(i.ref)))
        got = agenda.late(now)
        assert [(i.kind, i.ref, i.due) for i in got] == [(i.kind, i.ref, i.due) for i in expected]
    assert {i.kind for i in got} >= {"ticket.follow", "ticket.respond"}


def test_escalations_waiting_for_the_supervisor_are_never_folded(world, traveller):
    items = [agenda.Item(kind="escalation.act", group="上报待处理", ref=("escalation", n), title=f"上报{n}",
                         rank=-1) for n in range(8)]
    items += [agenda.Item(kind="meeting.action", group="例会行动", ref=("meeting", n), title=f"行动{n}")
              for n in range(8)]
    now = clock.utcnow()
    shown, folded = agenda.fold(items[:8], now)
    assert (len(shown), folded) == (8, [])
    shown, folded = agenda.fold(items[8:], now)
    assert (len(shown), len(folded)) == (5, 3)  # no clock: what can wait folds
