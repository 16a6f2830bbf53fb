"""住户自助, the rules with the clock frozen: a resident's report lands as a front-desk intake,
verification by name and mobile, nudge spacing, the rating as the return visit, outages resolving
their requests together, and what each person owes on the agenda."""
import datetime

import pytest
import time_machine

from kefu import agenda
from kefu import callbacks
from kefu import clock
from kefu import estate
from kefu import residents
from kefu import tickets
from kefu.tickets import Ticket
from test_tickets import fresh
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)


@pytest.fixture
def home_resident(world):
    return estate.add_resident(None, world.home, "王阿姨", "13812345678", "业主")


def report(w, **values):
    fields = dict(kind="repair", description="厨房水管漏水", name="王阿姨", phone="13812345678", household=w.home)
    fields.update(values)
    return residents.report(**fields)


def utc(moment):
    return clock.to_utc_naive(moment)


def kinds(user, now=None):
    return [(item.kind, item.ref) for item in residents.owed(user, now)]


# Reporting and verification

def test_a_report_lands_as_a_front_desk_intake_with_the_response_clock_running(world, home_resident):
    ticket = report(world)
    assert ticket.channel == "住户自助" and ticket.state == "received"
    assert ticket.category == "工程维修" and ticket.location == "1-1-101"
    assert ticket.assignee_id == world.assistant.id
    assert ticket.response_due == tickets.due_after(ticket.created_at, 60)
    assert len(ticket.link_token) >= 20
    assert residents.by_token(ticket.link_token).id == ticket.id


def test_name_and_mobile_of_a_registered_resident_verify_the_report(world, home_resident):
    assert residents.self_report_of(report(world)).verified
    # The right mobile at another household, or another name: not verified.
    assert not residents.self_report_of(report(world, household=world.neighbour)).verified
    assert not residents.self_report_of(report(world, name="王先生")).verified


def test_an_unverified_report_waits_on_the_front_desk_until_confirmed_by_phone(world, home_resident):
    stranger = report(world, name="路人", phone="13900001111")
    report(world)  # verified: not on the list
    assert kinds(world.frontdesk) == [("ticket.verify", ("ticket", stranger.id))]
    item = residents.owed(world.frontdesk)[0]
    assert isinstance(item, agenda.Item) and item.action == "电话核实" and item.number == stranger.number
    residents.verify(world.frontdesk, stranger)
    assert kinds(world.frontdesk) == []
    with pytest.raises(residents.ResidentError):
        residents.verify(world.frontdesk, stranger)


@pytest.mark.parametrize("field, values", [
    ("kind", {"kind": "nonsense"}),
    ("description", {"description": " "}),
    ("name", {"name": ""}),
    ("phone", {"phone": "12345"}),
    ("room", {"household": None}),
])
def test_a_report_missing_something_is_refused_beside_the_field(world, field, values):
    with pytest.raises(residents.ResidentError) as refused:
        report(world, **values)
    assert refused.value.field == field
    assert Ticket.select().count() == 0


def test_staff_do_not_pick_the_self_service_channel_but_it_is_a_channel(world):
    assert "住户自助" in tickets.CHANNELS and "住户自助" not in tickets.STAFF_CHANNELS


def test_every_request_has_its_own_link_however_it_came_in(world):
    a, b = intake(world), intake(world, channel="电话")
    assert a.link_token and b.link_token and a.link_token != b.link_token
    assert residents.by_token("x" * 22) is None and residents.by_token("") is None


# Nudges

def test_a_nudge_goes_on_the_assistants_agenda_and_can_come_again_after_two_hours(world, traveller):
    ticket = report(world)
    residents.nudge(ticket)
    assert ("ticket.nudged", ("ticket", ticket.id)) in kinds(world.assistant)
    assert kinds(world.assistant2) == []
    traveller.shift(datetime.timedelta(hours=1, minutes=59))
    with pytest.raises(residents.ResidentError, match="12:00 以后可以再催"):
        residents.nudge(fresh(ticket))
    traveller.shift(datetime.timedelta(minutes=1))
    residents.nudge(fresh(ticket))
    # Two nudges, one item; answering clears it and the answer is on the resident's steps.
    assert kinds(world.assistant).count(("ticket.nudged", ("ticket", ticket.id))) == 1
    assert residents.answer(world.assistant, fresh(ticket), "师傅下午两点上门") == 2
    assert kinds(world.assistant) == []
    assert "客户助理回复：师傅下午两点上门" in [words for _at, words in residents.steps(fresh(ticket))]


def test_a_resolved_request_is_not_nudged(world):
    ticket = intake(world)
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "已修好")
    with pytest.raises(residents.ResidentError, match="不用再催"):
        residents.nudge(ticket)


# The rating is the return visit

def test_a_satisfied_rating_closes_the_request_as_a_return_visit(world):
    ticket = intake(world)
    with pytest.raises(residents.ResidentError):
        residents.rate(ticket, "满意")  # not resolved yet
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "已修好")
    ticket = residents.rate(ticket, "满意")
    assert ticket.state == "closed" and ticket.satisfaction == "满意"
    visits = callbacks.of_record(ticket)
    assert [(v.method, v.result, v.by_name) for v in visits] == [("住户评价", "满意", "住户")]
    with pytest.raises(residents.ResidentError, match="已经评价过"):
        residents.rate(ticket, "满意")


def test_an_unhappy_rating_reopens_the_request_and_waits_for_the_assistants_answer(world, traveller):
    ticket = intake(world)
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "已修好")
    with pytest.raises(residents.ResidentError, match="请告诉我们哪里还不满意") as refused:
        residents.rate(ticket, "不满意", " ")  # words are needed, as on a call, asked in the resident's words
    assert refused.value.field == "words"
    traveller.shift(datetime.timedelta(hours=1))
    ticket = residents.rate(fresh(ticket), "不满意", "还在滴水")
    assert ticket.state == "in_progress" and ticket.reopen_count == 1 and ticket.resolved_at is None
    assert ticket.resolution_due == tickets.due_after(clock.utcnow(), world.normal.resolution_minutes)
    assert ("ticket.rating", ("ticket", ticket.id)) in kinds(world.assistant)
    residents.answer(world.assistant, ticket, "明早九点再派师傅")
    assert kinds(world.assistant) == []


def test_without_a_rating_the_return_visit_stays_on_the_assistants_agenda(world, home_resident, traveller):
    ticket = report(world)
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "已修好")
    callback = ("ticket.callback", ("ticket", ticket.id))

    def owed_now():
        return {(item.kind, item.ref): item for item in agenda.agenda(world.assistant)}

    assert callback in owed_now()
    traveller.shift(datetime.timedelta(hours=24, minutes=1))  # the resident never rated it
    item = owed_now()[callback]
    assert item.due < clock.utcnow()  # late, as any return visit not made
    residents.rate(fresh(ticket), "基本满意")
    assert callback not in owed_now()


def test_a_staff_form_cannot_claim_to_be_the_residents_rating(world):
    ticket = intake(world)
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "已修好")
    with pytest.raises(tickets.TicketError, match="回访方式"):
        tickets.record_followup(world.assistant, ticket, ticket.version, callbacks.RESIDENT_METHOD, "满意")


def test_the_link_stops_showing_details_thirty_days_after_closing(world, traveller):
    ticket = intake(world)
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "已修好")
    ticket = residents.rate(ticket, "满意")
    traveller.shift(datetime.timedelta(days=30))
    assert residents.details_shown(ticket)
    traveller.shift(datetime.timedelta(minutes=1))
    assert not residents.details_shown(ticket)


def test_the_steps_name_no_staff_and_carry_no_internal_notes(world):
    ticket = intake(world)
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "电话", "客户脾气急，内部备注")
    ticket, _order = tickets.dispatch(world.assistant, ticket, ticket.version, world.engineering, "查上层",
                                      sh(11, 28, 10))
    words = " ".join(w for _at, w in residents.steps(fresh(ticket)))
    assert "已收到您的诉求" in words and "客户助理已联系您" in words and "已安排工程维修处理" in words
    for secret in ("张助理", "内部备注", "查上层", "李师傅"):
        assert secret not in words


# Outages

def test_ending_an_outage_resolves_its_requests_together_through_their_lifecycle(world, traveller):
    outage = residents.post_outage(world.supervisor, kind="停水", title="1号楼二次供水水箱清洗",
                                   detail="", advice="请提前储水", starts_at=utc(sh(11, 27, 9)), until=utc(sh(11, 27, 15)),
                                   buildings=[world.b1])
    assert [o.id for o in residents.current_outages(world.b1)] == [outage.id]
    assert residents.current_outages(world.b2) == []
    a = report(world, outage=outage)
    b = intake(world, household=world.neighbour)
    residents.link_outage(world.assistant, b, outage)
    b = tickets.pause(world.assistant, fresh(b), fresh(b).version, "等待第三方")
    elsewhere = report(world, household=world.home2, outage=outage)  # from the notice, but not in 1号楼
    assert residents.outage_of(elsewhere) is None
    other = intake(world, household=world.home2)
    with pytest.raises(residents.ResidentError, match="不在公告涉及的楼栋"):
        residents.link_outage(world.assistant, other, outage)
    assert ("outage.end", ("outage", outage.id)) not in kinds(world.supervisor)
    traveller.shift(datetime.timedelta(hours=5, minutes=1))
    assert ("outage.end", ("outage", outage.id)) in kinds(world.supervisor)
    outage, resolved, left = residents.end_outage(world.supervisor, outage, outage.version, "15:00 已恢复供水")
    assert outage.state == "ended" and left == []
    assert sorted(t.id for t in resolved) == sorted([a.id, b.id])
    for ticket in (fresh(a), fresh(b)):
        assert ticket.state == "resolved" and ticket.resolution_note == "停水已结束：15:00 已恢复供水"
        assert ticket.followup_due == resolved[0].followup_due  # the return visits fall due together
    assert fresh(other).state == "received"
    assert residents.current_outages(world.b1) == []
    # One batch of return visits.
    done, refused = residents.batch_callbacks(world.assistant, outage, {a.id: ("电话", "满意", ""),
                                                                        b.id: ("电话", "基本满意", "")})
    assert refused == [] and {t.state for t in done} == {"closed"}


# The demo estate

def test_the_demo_estate_shows_every_part_of_the_residents_own_link(app):
    from kefu import demo
    from kefu.users import User

    with time_machine.travel(datetime.datetime(2026, 11, 27, 3, 0, tzinfo=datetime.timezone.utc), tick=False):
        demo.build()
        reports = list(residents.SelfReport.select())
        assert {r.verified for r in reports} == {True, False}
        assert any(r.verified_how == "phone" for r in reports) and any(r.verified_how == "match" for r in reports)
        assert all(r.ticket.channel == "住户自助" for r in reports)
        desk, zhuli1 = User.get(User.username == "qiantai"), User.get(User.username == "zhuli1")
        assert "ticket.verify" in [item.kind for item in residents.owed(desk)]
        nudges = list(residents.Nudge.select())
        assert {n.answered_at is None for n in nudges} == {True, False}
        assert "ticket.nudged" in [item.kind for item in residents.owed(zhuli1)]
        ratings = {r.result: r for r in residents.Rating.select()}
        assert ratings["满意"].ticket.state == "closed"
        unhappy = ratings["不满意"].ticket
        assert unhappy.state == "in_progress" and unhappy.reopen_count == 1 and ratings["不满意"].answer
        (outage,) = residents.current_outages()
        linked = residents.linked_tickets(outage)
        assert {t.channel for t in linked} == {"住户自助", "电话"}
        assert [b.building.code for b in outage.building_links] == ["5"]
