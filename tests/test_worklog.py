"""The work record: an assistant's day compiled from what they did (one line per action, however many
timelines it touched), by the Shanghai day, with their notes and the day's 需关注; printable per day
and per week; each assistant sees only their own."""
import datetime
import io
import re

import pypdf
import pytest

from conftest import html
from conftest import text
from kefu import customers
from kefu import patrols
from kefu import worklog
from kefu.worklog import WorklogError
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

DAY = datetime.date(2026, 11, 27)


def test_the_day_lists_what_was_done_once_each_in_order(world, traveller):
    traveller.move_to(sh(11, 27, 8, 5))
    customers.record_visit(world.assistant, at=sh(11, 27, 7, 40), form="上门", households=[world.home],
                           opinions=[("意见", "楼道灯不亮", None)])  # on the visit's and the household's timelines
    traveller.move_to(sh(11, 27, 9, 30))
    ticket = intake(world, description="卫生间漏水")
    traveller.move_to(sh(11, 27, 9, 45))
    intake(world, actor=world.assistant2, description="别人的诉求", household=world.home2)
    record = worklog.day_record(world.assistant, DAY)
    assert [(e.at.strftime("%H:%M"), e.kind, e.action) for e in record["entries"]] == [
        ("08:05", "拜访", "拜访"), ("09:30", "诉求", "受理")]
    assert record["entries"][1].record_id == ticket.id and "卫生间漏水" in record["entries"][1].note


def test_the_day_is_the_shanghai_day(world, traveller):
    traveller.move_to(sh(11, 26, 23, 50))
    intake(world, description="昨晚的")
    traveller.move_to(sh(11, 27, 0, 10))
    intake(world, description="今天凌晨的")
    assert [e.note.split("\n")[-1] for e in worklog.entries(world.assistant, DAY, DAY)] == ["今天凌晨的"]


def test_notes_and_the_days_observations_join_the_record(world, traveller):
    worklog.add_note(world.assistant, DAY, "参加部门例会，讨论装修巡查安排")
    patrols.observe(world.assistant, world.zone, "3号楼外墙瓷砖空鼓", "3号楼东侧")
    patrols.observe(world.assistant2, world.zone2, "别的区域", "2号楼")
    record = worklog.day_record(world.assistant, DAY)
    assert [n.text for n in record["notes"]] == ["参加部门例会，讨论装修巡查安排"]
    assert [o.what for o in record["observations"]] == ["3号楼外墙瓷砖空鼓"]
    assert all(e.record_type != "worknote" for e in record["entries"])


@pytest.mark.parametrize("day, words, field", [(DAY + datetime.timedelta(days=1), "明天的", "day"), (DAY, " ", "text")])
def test_a_note_needs_words_and_a_day_not_in_the_future(world, day, words, field):
    with pytest.raises(WorklogError) as refused:
        worklog.add_note(world.assistant, day, words)
    assert refused.value.field == field


def test_the_week_runs_monday_to_sunday():
    assert worklog.week_of(DAY) == [datetime.date(2026, 11, 23) + datetime.timedelta(days=n) for n in range(7)]


def test_an_assistant_keeps_their_record_and_the_supervisor_reads_and_prints_it(world, as_user, traveller):
    traveller.move_to(sh(11, 25, 10, 0))
    intake(world, description="周三的漏水")
    traveller.move_to(sh(11, 27, 10, 0))
    intake(world, description="周五的漏水")
    mine = as_user(world.assistant)
    assert mine.get("/worklog").location == f"/worklog/{world.assistant.id}/2026-11-27"
    page = f"/worklog/{world.assistant.id}/2026-11-27"
    empty = mine.post(page, data={"text": ""})
    assert empty.status_code == 422 and "请写下要记录的内容" in text(empty)
    mine.post(page, data={"text": "与工程部沟通漏水维修方案"})
    shown = text(mine.get(page))
    assert "10:00 诉求 受理" in shown and "周五的漏水" in shown and "与工程部沟通漏水维修方案" in shown
    assert as_user(world.assistant2).get(page).status_code == 403
    boss = as_user(world.supervisor)
    assert "张助理" in text(boss.get("/worklog"))
    assert 'name="text"' not in html(boss.get(page))  # the supervisor reads; the notes are the assistant's
    week = boss.get(f"/worklog/{world.assistant.id}/2026-11-27.pdf?week=1")
    paper = re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(week.data)).pages))
    for expected in ("客户助理工作记录", "张助理", "2026年11月23日至2026年11月29日", "周三的漏水", "周五的漏水",
                     "与工程部沟通漏水维修方案", "客服主管审阅"):
        assert expected in paper, expected


def test_signing_in_is_not_work(world, as_user):
    as_user(world.assistant)
    assert worklog.entries(world.assistant, DAY, DAY) == []


def test_the_record_has_a_date_picker_that_opens_the_day_picked(world, as_user):
    mine = as_user(world.assistant)
    record = f"/worklog/{world.assistant.id}"
    page = html(mine.get(f"{record}/2026-11-27"))
    form = re.search(r'<form[^>]*method="get"[^>]*>.*?</form>', page, re.S).group(0)
    assert f'action="{record}"' in form
    picker = re.search(r'<input[^>]*type="date"[^>]*>', form).group(0)
    assert all(part in picker for part in ('name="day"', 'value="2026-11-27"', 'max="2026-11-27"'))
    picked = mine.get(record, query_string={"day": "2026-11-03"})
    assert picked.status_code in (302, 303) and picked.location == f"{record}/2026-11-03"
    assert "11月3日" in text(mine.get(picked.location)) or "2026年11月3日" in text(mine.get(picked.location))
    for bad, message in [("2026-12-01", "不能选今天以后的日期"), ("", "请选择日期"), ("11/03", "请选择日期")]:
        refused = mine.get(record, query_string={"day": bad})
        assert refused.status_code == 422
        assert re.search(rf'<p class="error" id="day-error"[^>]*>{message}</p>', html(refused)), bad
    assert as_user(world.assistant2).get(record, query_string={"day": "2026-11-03"}).status_code == 403
    boss = as_user(world.supervisor)
    assert boss.get(record, query_string={"day": "2026-11-03"}).location == f"{record}/2026-11-03"
