"""Meetings: minutes with attendees, decisions and actions; an action becomes a request linked both
ways; attendance shows in each attendee's work record."""
import datetime
import re

import pytest

from conftest import html
from conftest import text
from kefu import meetings
from kefu import worklog
from kefu.meetings import Action
from kefu.meetings import Meeting
from kefu.meetings import MeetingError
from kefu.tickets import Ticket
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

DAY = datetime.date(2026, 11, 27)


@pytest.mark.parametrize("values, field", [
    ({"kind": "茶话会"}, "kind"), ({"day": DAY + datetime.timedelta(days=1)}, "day"), ({"topic": " "}, "topic"),
    ({"attendees": []}, "attendees"),
])
def test_minutes_need_a_kind_a_day_a_topic_and_attendees(world, values, field):
    fields = dict(day=DAY, kind="部门例会", topic="周例会", attendees=[world.assistant])
    fields.update(values)
    with pytest.raises(MeetingError) as refused:
        meetings.record_meeting(world.supervisor, **fields)
    assert refused.value.field == field and Meeting.select().count() == 0


def test_attendance_shows_in_each_attendees_record(world):
    meetings.record_meeting(world.supervisor, day=DAY, kind="部门例会", topic="周例会",
                            attendees=[world.assistant, world.assistant, world.assistant2])
    assert [m.topic for m in worklog.day_record(world.assistant, DAY)["meetings"]] == ["周例会"]
    assert worklog.day_record(world.supervisor, DAY)["meetings"] == []
    assert meetings.held(DAY, DAY) == 1 and len(meetings.attended(world.assistant2, DAY, DAY)) == 1


def test_an_action_becomes_a_request_linked_both_ways(world, as_user):
    client = as_user(world.supervisor)
    made = client.post("/meetings/new", data={"day": "2026-11-27", "kind": "部门例会", "topic": "周例会",
                                              "attendees": [str(world.assistant.id), str(world.supervisor.id)],
                                              "decisions": "加强装修巡查", "actions": "清理3号楼地库杂物\n\n更换2号楼门禁",
                                              "token": "m-1"})
    meeting = Meeting.get()
    assert made.location == f"/meetings/{meeting.id}"
    first, second = Action.select().order_by(Action.position)
    assert (first.text, second.text) == ("清理3号楼地库杂物", "更换2号楼门禁")
    form = client.get(f"/tickets/new?from=action-{first.id}")
    assert "清理3号楼地库杂物" in html(form) and "周例会" in text(form)
    client.post("/tickets/new", data={"origin": f"action-{first.id}", "channel": "其他岗位", "category": "保洁",
                                      "tier": str(world.normal.id), "household": "1-1-101", "place": "0",
                                      "zone": str(world.zone.id), "resident": "0", "description": "清理3号楼地库杂物",
                                      "token": "t-1"})
    ticket = Ticket.get()
    assert Action.get_by_id(first.id).ticket_id == ticket.id
    assert "已转为诉求" in text(client.get(f"/meetings/{meeting.id}")) and "来自例会" in text(client.get(f"/tickets/{ticket.id}"))
    assert re.search(rf'href="/meetings/{meeting.id}"[^>]*>来自例会', html(client.get(f"/tickets/{ticket.id}")))


def test_minutes_without_attendees_are_refused_beside_the_field(world, as_user):
    response = as_user(world.supervisor).post("/meetings/new", data={"day": "2026-11-27", "kind": "部门例会",
                                                                     "topic": "周例会", "token": "m-2"})
    assert response.status_code == 422 and "请选择参会人员" in text(response)
    assert 'value="周例会"' in html(response) and Meeting.select().count() == 0


def test_an_action_is_an_internal_task_owned_and_done_not_a_request(world, as_user, traveller):
    client = as_user(world.supervisor)
    client.post("/meetings/new", data={"day": "2026-11-27", "kind": "部门例会", "topic": "周例会",
                                       "attendees": [str(world.assistant.id), str(world.supervisor.id)],
                                       "actions": "张助理：整理十月案例\n检查地库照明", "token": "m-1"})
    meeting = Meeting.get()
    mine, supervisors = Action.select().order_by(Action.position)
    assert (mine.text, mine.owner_id, supervisors.owner_id) == ("整理十月案例", world.assistant.id, world.supervisor.id)
    assert Ticket.select().count() == 0  # no request, no one-hour clock, not in the satisfaction figures
    page = text(client.get(f"/meetings/{meeting.id}"))
    assert "内部任务 · 张助理 · 待办" in page and "内部任务 · 刘主管 · 待办" in page and "转为诉求" in page
    bad = client.post(f"/meetings/actions/{mine.id}/assign", data={"owner": str(world.assistant.id),
                                                                   "due_on": "2026-11-20", "version": "1"})
    assert bad.status_code == 422 and re.search(r'id="due_on-\d+-error"[^>]*>完成期限不能早于会议日期', html(bad))
    client.post(f"/meetings/actions/{mine.id}/assign", data={"owner": str(world.assistant.id),
                                                            "due_on": "2026-12-01", "version": "1"})
    [item] = meetings.owed(world.assistant, meetings.clock.now())
    assert (item.kind, item.ref, item.title) == ("meeting.action", ("meeting", meeting.id), "整理十月案例")
    assert "12-01 前完成" in item.detail and not item.late(meetings.clock.utcnow())
    traveller.shift(datetime.timedelta(days=5))
    assert meetings.owed(world.assistant, meetings.clock.now())[0].late(meetings.clock.utcnow())
    helper = as_user(world.assistant)
    done = helper.post(f"/meetings/actions/{mine.id}/done", data={"done_note": "已整理 3 个案例", "version": "2"})
    assert done.location == f"/meetings/{meeting.id}"
    assert meetings.owed(world.assistant, meetings.clock.now()) == []
    page = text(helper.get(f"/meetings/{meeting.id}"))
    assert "已完成" in page and "已整理 3 个案例" in page
    again = helper.post(f"/meetings/actions/{mine.id}/done", data={"done_note": "", "version": "2"})
    assert again.status_code == 422


def test_the_meetings_list_filters_by_attendee_kind_and_days(world, as_user):
    meetings.record_meeting(world.supervisor, day=DAY, kind="部门例会", topic="周例会", attendees=[world.assistant])
    meetings.record_meeting(world.supervisor, day=DAY - datetime.timedelta(days=30), kind="部门例会", topic="上月例会",
                            attendees=[world.assistant])
    meetings.record_meeting(world.supervisor, day=DAY, kind="专题会议", topic="防汛", attendees=[world.assistant2])
    client = as_user(world.supervisor)
    mine = text(client.get(f"/meetings?by={world.assistant.id}&start=2026-11-01&end=2026-11-30"))
    assert "周例会" in mine and "上月例会" not in mine and "防汛" not in mine and "1 次" in mine
    held = text(client.get("/meetings?kind=部门例会&start=2026-10-01&end=2026-11-30"))
    assert "周例会" in held and "上月例会" in held and "防汛" not in held
