"""Trends: twelve months per assistant — response within the limit, return-visit satisfaction,
coverage of the daily checkpoints, reopen rate — each a direct count of the month's records; kept and
recounted hourly; drawn as SVG with the figures in a table."""
import datetime
import re

from conftest import html
from conftest import text
from kefu import patrols
from kefu import tickets
from kefu import trends
from test_tickets import intake
from test_tickets import resolved
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)


def series(figures, name, metric):
    return next(p for p in figures["people"] if p["name"] == name)["metrics"][metric]


def test_twelve_months_end_with_this_one():
    assert [f"{m:%Y-%m}" for m in trends.months(datetime.date(2026, 11, 27))] == \
        [f"2025-{n:02d}" for n in (12,)] + [f"2026-{n:02d}" for n in range(1, 12)]


def test_each_figure_counts_the_months_records(world, traveller):
    # November: two requests of 张助理 — one answered in time, one late and reopened after 不满意.
    traveller.move_to(sh(11, 3, 9, 0))
    in_time = tickets.respond(world.assistant, (t := intake(world)), t.version, "电话", "")
    traveller.move_to(sh(11, 4, 9, 0))
    late = intake(world)
    traveller.move_to(sh(11, 4, 11, 30))
    late = tickets.respond(world.assistant, late, late.version, "电话", "")
    late = tickets.resolve_on_the_spot(world.assistant, late, late.version, "修好了")
    late = tickets.record_followup(world.assistant, late, late.version, "电话", "不满意", "又坏了")
    in_time = tickets.resolve_on_the_spot(world.assistant, in_time, in_time.version, "修好了")
    tickets.record_followup(world.assistant, in_time, in_time.version, "电话", "满意")
    # October: one of 王助理's, none of 张助理's.
    traveller.move_to(sh(10, 15, 9, 0))
    intake(world, actor=world.assistant2, household=world.home2)
    # A security post in 一区 from 11-20, checked on 11-21 and 11-23 of the eight days to the 27th.
    traveller.move_to(sh(11, 20, 8, 0))
    post = patrols.create_checkpoint(world.supervisor, kind="security", name="南门岗", zone=world.zone,
                                     checklist=patrols.Checklist.get(patrols.Checklist.code == "security"))
    for day in (21, 23):
        traveller.move_to(sh(11, day, 9, 0))
        patrols.record_check(world.assistant, post, "scan",
                             {i.id: ("ok", "") for i in post.checklist.live_items()})
    traveller.move_to(sh(11, 27, 10, 0))
    figures = trends.count()
    assert figures["months"][-2:] == ["2026-10", "2026-11"]
    assert series(figures, "张助理", "response")[-2:] == [None, 50.0]
    assert series(figures, "张助理", "satisfaction")[-1] == 50.0
    assert series(figures, "张助理", "reopen")[-1] == 50.0
    assert series(figures, "张助理", "coverage")[-2:] == [None, 25.0]
    assert series(figures, "王助理", "response")[-2:] == [0.0, None]


def test_the_count_is_kept_and_recounted_the_next_day(world, traveller):
    first, counted = trends.current()
    intake(world)
    again, counted_again = trends.current()
    assert (again, counted_again) == (first, counted)  # the same hour: the kept count
    traveller.move_to(sh(11, 28, 8, 0))
    _figures, counted_next = trends.current()
    assert counted_next > counted


def test_the_page_draws_each_metric_with_its_figures(world, as_user, traveller):
    tickets.respond(world.assistant, (t := intake(world)), t.version, "电话", "")
    page = as_user(world.supervisor).get("/trends")
    body = html(page)
    assert body.count("<svg viewBox=") == 4 and "<circle" in body
    assert re.search(r'aria-label="时限内响应率折线图', body)
    assert "张助理" in text(page) and "100.0%" in text(page) and "11月" in text(page)


def test_the_current_month_is_drawn_as_partial(world, as_user, traveller):
    """This month so far is not a month: its point is hollow, the line into it dashed, and the
    table and the legend say up to which day it counts."""
    traveller.move_to(sh(10, 20, 10, 0))
    tickets.respond(world.assistant, (t := intake(world)), t.version, "电话", "")
    traveller.move_to(sh(11, 27, 10, 0))
    tickets.respond(world.assistant, (t := intake(world)), t.version, "电话", "")
    page = as_user(world.supervisor).get("/trends")
    svg = re.search(r"<svg viewBox=.*?</svg>", html(page), re.S).group(0)  # 时限内响应率
    assert len(re.findall(r'<circle[^>]*class="chart-partial"', svg)) == 1  # November's, hollow
    assert len(re.findall(r'<line[^>]*class="chart-partial"', svg)) == 1  # October → November, dashed
    assert "<polyline" not in svg  # no solid line runs into the partial month
    assert "2026-11（至 27 日）" in text(page) and "本月至 27 日，未满一个月" in text(page)
