"""Monthly summaries: the draft's figures are counts of the month's records of that assistant; the
month's cases to analyse; the assistant writes and submits, the supervisor signs off, which freezes the
figures; the A4 print."""
import datetime
import io
import re

import pypdf
import pytest

from conftest import text
from kefu import customers
from kefu import patrols
from kefu import summaries
from kefu import tickets
from kefu.summaries import SummaryError
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

NOVEMBER = datetime.date(2026, 11, 1)


@pytest.fixture
def month(world, traveller):
    """November for 张助理: three requests at 1-1-101 (two 工程维修 一般, one 保洁 重要, one reopened, one a
    case), one of 王助理's and one of October's; a finding sent to 工程部 and closed; two visits, one at
    07:30; one need."""
    traveller.move_to(sh(10, 31, 23, 50))
    intake(world, description="十月的")
    traveller.move_to(sh(11, 2, 9, 0))
    first = intake(world, description="厨房漏水")
    intake(world, description="卫生间漏水")
    intake(world, category="保洁", tier=world.important, description="楼道垃圾", household=world.neighbour)
    intake(world, actor=world.assistant2, household=world.home2)
    first = tickets.respond(world.assistant, first, first.version, "电话", "")
    first = tickets.resolve_on_the_spot(world.assistant, first, first.version, "修好了")
    first = tickets.record_followup(world.assistant, first, first.version, "电话", "不满意", "又漏了")
    first = tickets.mark_case(world.assistant, first, first.version, "密封圈老化", "更换密封圈", "定期检查")
    traveller.move_to(sh(11, 3, 10, 0))
    point = patrols.create_checkpoint(world.supervisor, kind="public", name="1号楼 大堂", zone=world.zone,
                                      checklist=patrols.Checklist.get(patrols.Checklist.code == "facility"))
    answers = {i.id: ("ok", "") for i in point.checklist.live_items()}
    answers[next(iter(answers))] = ("fail", "地面积水")
    check, _ = patrols.record_check(world.assistant, point, "scan", answers)
    finding = check.findings.get()
    finding, order = patrols.raise_order(world.assistant, finding, finding.version, world.engineering, "拖干",
                                         sh(11, 4, 10, 0))
    from kefu import workorders
    order = workorders.accept(world.engineer, order, order.version)
    traveller.move_to(sh(11, 3, 14, 0))
    order = workorders.report_done(world.engineer, order, order.version, "已拖干")
    workorders.inspect(world.assistant, order, order.version, True)
    traveller.move_to(sh(11, 20, 19, 0))
    customers.record_visit(world.assistant, at=sh(11, 20, 7, 30), form="上门", households=[world.home],
                           opinions=[("建议", "多装路灯", None)])
    customers.record_visit(world.assistant, at=sh(11, 20, 15, 0), form="上门", households=[world.home],
                           opinions=[("表扬", "保洁很好", None)])
    customers.record_need(world.assistant, world.home, "代买药", "latent", "代购代办", "拜访")
    traveller.move_to(sh(11, 27, 10, 0))
    return first


def test_the_drafts_figures_count_the_months_records(world, month):
    figures = summaries.figures(world.assistant, NOVEMBER)
    assert figures["feedback"]["tickets"] == 3
    assert figures["by_category"] == {"工程维修": 2, "保洁": 1} and figures["by_tier"] == {"一般": 2, "重要": 1}
    assert (figures["reopened"], figures["reopen_rate"]) == (1, 33.3)
    assert figures["repeats"] == {"1-1-101": 2}
    assert figures["findings"] == {"工程部": {"count": 1, "closed": 1, "avg_hours": 4.0}}
    assert (figures["visits"], figures["visits_in_window"], figures["needs"], figures["service_orders"]) == (2, 1, 1, 0)
    assert [t.id for t in summaries.cases_of(world.assistant, NOVEMBER)] == [month.id]


def test_written_submitted_signed_and_then_frozen(world, month):
    summary = summaries.summary_for(world.assistant, datetime.date(2026, 11, 15))
    assert summary.month == NOVEMBER and summaries.summary_for(world.assistant, NOVEMBER).id == summary.id
    with pytest.raises(SummaryError, match="助理提交后"):
        summaries.sign(world.supervisor, summary, summary.version, "好")
    with pytest.raises(SummaryError) as refused:
        summaries.save(world.assistant, summary, summary.version, "", "", {}, submit=True)
    assert refused.value.field == "summary"
    with pytest.raises(SummaryError, match="自己的"):
        summaries.save(world.assistant2, summary, summary.version, "总结", "方案", {})
    summary = summaries.save(world.assistant, summary, summary.version, "本月受理三件", "加强巡查",
                             {month.id: "密封圈老化导致返修", 999: "不是本月案例"}, submit=True)
    assert summary.state == "submitted" and summary.case_notes == {month.id: "密封圈老化导致返修"}
    summary = summaries.sign(world.supervisor, summary, summary.version, "总结到位")
    before = summaries.figures_of(summary)
    intake(world, description="签阅后又来一件")
    assert summaries.figures_of(summary) == before  # frozen
    assert summaries.figures(world.assistant, NOVEMBER)["feedback"]["tickets"] == 4
    with pytest.raises(SummaryError, match="已签阅"):
        summaries.save(world.assistant, summary, summary.version, "改", "改", {})


def test_a_month_not_begun_has_no_summary(world):
    with pytest.raises(SummaryError):
        summaries.summary_for(world.assistant, datetime.date(2026, 12, 1))


def test_the_assistant_writes_and_the_supervisor_signs_and_prints(world, month, as_user):
    mine = as_user(world.assistant)
    page = f"/summaries/{world.assistant.id}/2026-11"
    shown = text(mine.get(page))
    assert "受理诉求 3 件" in shown and "厨房漏水" in shown and "同一地点重复诉求" in shown
    refused = mine.post(page, data={"version": "1", "summary": "", "solutions": "", "submit": "1"})
    assert refused.status_code == 422 and "请填写工作总结" in text(refused)
    mine.post(page, data={"version": "1", "summary": "本月受理三件，一件返修", "solutions": "雨季前检查楼道排水",
                          f"case-{month.id}": "密封圈老化导致返修", "submit": "1"})
    assert as_user(world.assistant2).get(page).status_code == 403
    boss = as_user(world.supervisor)
    boss.post(page, data={"version": "2", "comment": "总结到位", "sign": "1"})
    paper = re.sub(r"\s+", "", "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(
        boss.get(f"{page}.pdf").data)).pages))
    for expected in ("客户助理月度工作总结", "张助理", "2026年11月1日至2026年11月30日", "受理诉求3件", "工程维修",
                     "本月受理三件，一件返修", "密封圈老化导致返修", "雨季前检查楼道排水", "总结到位", "刘主管"):
        assert expected in paper, expected


# Field polish (issue 23, item 25)

def test_a_case_analysis_starts_from_the_cases_own_cause_handling_and_prevention(world, month, as_user):
    from conftest import html
    page = html(as_user(world.assistant).get(f"/summaries/{world.assistant.id}/2026-11"))
    assert re.search(rf'name="case-{month.id}"[^>]*>原因：密封圈老化\n处理：更换密封圈\n预防：定期检查</textarea>', page)


def test_the_supervisor_sends_a_summary_back_with_a_note(world, month, as_user):
    from conftest import html
    page = f"/summaries/{world.assistant.id}/2026-11"
    as_user(world.assistant).post(page, data={"version": "1", "summary": "本月受理三件", "solutions": "加强巡查",
                                              "submit": "1"})
    boss = as_user(world.supervisor)
    assert "退回修改" in text(boss.get(page))
    empty = boss.post(page, data={"version": "2", "comment": "", "send_back": "1"})
    assert empty.status_code == 422 and re.search(r'id="comment-error"[^>]*>请填写退回意见', html(empty))
    sent = boss.post(page, data={"version": "2", "comment": "请补充返修的原因分析", "send_back": "1"})
    assert sent.status_code == 303
    summary = summaries.summary_for(world.assistant, NOVEMBER)
    assert summary.state == "draft"
    shown = text(as_user(world.assistant).get(page))
    assert "主管退回修改：请补充返修的原因分析" in shown and "提交主管" in shown
    assert "本月受理三件" in html(as_user(world.assistant).get(page))  # what was written stays


def test_earlier_months_are_listed(world, traveller, as_user):
    traveller.move_to(sh(9, 10, 10, 0))
    summary = summaries.summary_for(world.assistant, datetime.date(2026, 8, 1))
    summaries.save(world.assistant, summary, summary.version, "八月总结", "方案", {}, submit=True)
    traveller.move_to(sh(11, 27, 10, 0))
    page = text(as_user(world.assistant).get("/summaries"))
    months = re.findall(r"2026年(\d\d)月", page)
    assert months == ["11", "10", "09", "08"]  # newest first, the months between kept
    assert "已提交" in page


def test_the_summarys_figures_link_to_the_lists_they_count(world, month, as_user):
    from conftest import html
    from test_evaluations_http import _links
    links = _links(html(as_user(world.supervisor).get(f"/summaries/{world.assistant.id}/2026-11")))
    period = "start=2026-11-01&end=2026-11-30"
    assert links["3 件"] == f"/tickets?assignee={world.assistant.id}&{period}&state="
    assert links["2 次"] == f"/visits/list?by={world.assistant.id}&{period}"
    assert links["1"] == f"/visits/list?by={world.assistant.id}&{period}&window=in"
    assert links["工程维修 2 件"] == f"/tickets?assignee={world.assistant.id}&{period}&state=&category=工程维修"


def _listed(page, path):
    """The ids of the records of `path` (/tickets, /needs…) a list page links to."""
    return sorted({int(n) for n in re.findall(rf'href="{path}/(\d+)"', page)})


def test_each_figure_of_a_summary_lists_exactly_the_records_it_counts(world, month, as_user, traveller):
    from conftest import html
    from kefu import services
    from test_evaluations_http import _links
    # Beside the month's own: others' records and other months', none of which a figure counts.
    traveller.move_to(sh(10, 30, 10, 0))
    customers.record_need(world.assistant, world.home, "十月的需求", "personal", "代购代办", "拜访")
    traveller.move_to(sh(11, 25, 10, 0))
    lock = services.save_item(world.supervisor, name="上门开锁", unit=world.engineering, charged=False,
                              fee="", duration="约半小时")
    mine, _ = services.create_order(world.assistant, world.home, lock, "钥匙锁在屋里了", charged=False)
    services.create_order(world.assistant2, world.home2, lock, "王的开锁", charged=False)
    customers.record_need(world.assistant2, world.home2, "王的需求", "personal", "代购代办", "拜访")
    point = patrols.Checkpoint.get(patrols.Checkpoint.name == "1号楼 大堂")
    answers = {i.id: ("ok", "") for i in point.checklist.live_items()}
    answers[next(iter(answers))] = ("fail", "灯不亮")
    check, _ = patrols.record_check(world.assistant, point, "list", answers)
    unhanded = check.findings.get()
    guard = patrols.create_checkpoint(world.supervisor, kind="security", name="1号岗", zone=world.zone,
                                      checklist=patrols.Checklist.get(patrols.Checklist.code == "security"))
    patrols.record_check(world.assistant, guard, "scan", {i.id: ("ok", "") for i in guard.checklist.live_items()})
    traveller.move_to(sh(11, 27, 10, 0))
    boss = as_user(world.supervisor)
    page = html(boss.get(f"/summaries/{world.assistant.id}/2026-11"))
    links = _links(page)
    start, end = sh(11, 1, 0, 0), sh(12, 1, 0, 0)
    theirs = tickets.Ticket.select().where((tickets.Ticket.assignee == world.assistant)
                                           & (tickets.Ticket.created_at >= start) & (tickets.Ticket.created_at < end))

    def ids(query):
        return sorted(r.id for r in query)

    general = html(boss.get(links["一般 2 件"]))
    assert _listed(general, "/tickets") == ids(theirs.where(tickets.Ticket.tier == world.normal))
    important = html(boss.get(links["重要 1 件"]))
    assert _listed(important, "/tickets") == ids(theirs.where(tickets.Ticket.tier == world.important))
    repeated = html(boss.get(links["1-1-101 2 次"]))
    assert _listed(repeated, "/tickets") == ids(theirs.where(tickets.Ticket.location == "1-1-101"))
    reopened = html(boss.get(links["1 件"]))
    assert _listed(reopened, "/tickets") == [month.id]
    needs = html(boss.get(links["1 项"]))
    assert _listed(needs, "/needs") == ids(customers.Need.select().where(customers.Need.what == "代买药"))
    assert "张助理" in text(boss.get(links["1 项"])) and "十月的需求" not in needs and "王的需求" not in needs
    orders = html(boss.get(links["1 单"]))
    assert _listed(orders, "/services") == [mine.id] and "王的开锁" not in orders
    by_href = {}
    for one in re.findall(r'<a class="figure-link"[^>]*>.*?</a>', page):
        by_href.update({href: label for label, href in _links(one).items()})

    def link(fragment):
        found = [href for href in by_href if fragment in href and ("closed=1" in href) == ("closed=1" in fragment)]
        assert len(found) == 1, (fragment, found)
        return found[0]

    sent = html(boss.get(link("unit=工程部")))
    handed = patrols.Finding.select().where(patrols.Finding.handed_to == "workorder")
    assert _listed(sent, "/patrols/findings") == ids(handed)
    kept = html(boss.get(link("unit=none")))
    assert _listed(kept, "/patrols/findings") == [unhanded.id]
    # 已关闭 N 个 opens the closed ones of the same row, as many as it says.
    closed_href = link("unit=none&closed=1")
    closed = html(boss.get(closed_href))
    done = [f.id for f in patrols.Finding.select().where(patrols.Finding.id == unhanded.id)
            if f.resolved_at is not None]
    assert _listed(closed, "/patrols/findings") == done
    assert by_href[closed_href] == f"{len(done)} 个" and "已关闭" in text(boss.get(closed_href))
    figures = summaries.figures(world.assistant, NOVEMBER)
    covered = text(boss.get(link("/patrols/coverage")))
    assert by_href[link("/patrols/coverage")] == f"{figures['coverage']}%"
    assert "张助理" in covered and "王助理" not in covered and "11-01" in covered and "11-27" in covered
    assert f"{figures['coverage']}%" in covered


def test_the_summary_print_carries_no_links(world, month, as_user):
    printed = as_user(world.supervisor).get(f"/summaries/{world.assistant.id}/2026-11.pdf")
    assert printed.status_code == 200 and b"/URI" not in printed.data


@pytest.mark.parametrize("path", ["/needs?by=abc&start=2026-13-01", "/services?by=abc&end=2026-02-30",
                                  "/patrols/findings?assistant=abc&start=x&unit=", "/patrols/coverage?by=abc&start=2026-13-01",
                                  "/tickets?location=&reopened=x"])
def test_a_bad_filter_is_ignored_or_said_never_a_server_error(world, as_user, path):
    assert as_user(world.supervisor).get(path).status_code in (200, 422)


def test_what_a_filtered_list_ignored_is_said_and_it_goes_back_to_the_whole_list(world, as_user):
    boss = as_user(world.supervisor)
    needs = text(boss.get("/needs?by=abc&start=2026-13-01"))
    assert "没有编号为“abc”的人员，已忽略" in needs and "开始日期“2026-13-01”不是有效日期" in needs
    assert "待答复 / 待研究" in needs  # nothing left to narrow by: the usual list
    narrowed = text(boss.get(f"/needs?by={world.assistant.id}"))
    assert "只看：张助理记录" in narrowed and "看全部待答复的需求" in narrowed
    covered = text(boss.get("/patrols/coverage?by=abc&start=2026-13-01"))
    assert "没有编号为“abc”的客户助理" in covered and "开始日期“2026-13-01”不是有效日期" in covered
    long = text(boss.get("/patrols/coverage?start=2026-01-01&end=2026-11-27"))
    assert "一次最多看 31 天，已从 2026-10-28 起" in long and "10-27" not in long


def test_an_assistant_following_their_own_figures_sees_their_zones_only(world, month, as_user):
    from conftest import html
    from kefu import services
    lock = services.save_item(world.supervisor, name="上门开锁", unit=world.engineering, charged=False,
                              fee="", duration="约半小时")
    services.create_order(world.assistant2, world.home2, lock, "王的开锁", charged=False)
    mine = as_user(world.assistant)
    period = "start=2026-11-01&end=2026-11-30"
    assert "王的开锁" not in text(mine.get(f"/services?by={world.assistant2.id}&{period}"))
    assert "代买药" in text(mine.get(f"/needs?by={world.assistant.id}&{period}"))
    summary = html(mine.get(f"/summaries/{world.assistant.id}/2026-11"))
    assert "/needs?" in summary and "/patrols/coverage" not in summary  # the coverage weeks are the supervisor's
