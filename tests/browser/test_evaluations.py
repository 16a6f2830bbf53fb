"""岗位评估 on the phone: the supervisor finds 刘洋's monthly evaluation due on 今日, opens it from his
schedule, reads the customer feedback measured from the period's records, scores every internal item
(a score over 100 is refused beside its item, everything typed kept), writes a comment and signs it
off; the printed form has both parts, the total and grade and her signature. 刘洋 then finds it
under 我的 → 我的评估, writes his own comment, and the printed form carries it.

The demo estate has 刘洋 four months (and a few days) into the assistant service model, his first two
monthly evaluations signed off and the later ones that ended still due.
"""
import re

import pytest
from playwright.sync_api import expect

from .test_foundation import heading
from .test_foundation import tab
from .test_renovations import away_from_midnight
from .test_renovations import pdf_text
from .test_renovations import phone_shot
from .test_tickets import flash
from .test_tickets import go_today
from .test_tickets import phone_of
from .test_tickets import section

pytestmark = pytest.mark.browser

# The demo's items (the manual's duties) and the scores the supervisor gives: 85.8 weighted.
SCORES = {"诉求响应与跟踪": 88, "现场品质监督": 85, "客户沟通与拜访": 90, "商铺与装修管理": 78,
          "工作记录与总结": 82, "例会参与": 86, "团队协作": 92}
NOTE = ("客户沟通与拜访", "本月独居老人全部上门走访")
COMMENT = "本月诉求响应及时，拜访扎实；装修巡查记录要再细一些，下月重点跟进商铺执照督办。"
OWN_COMMENT = "同意主管的评价，下月每次装修巡查都拍照留档，商铺执照逐户督办到位。"
FIGURE = re.compile(r"^(—|\d+(\.\d+)?(%| 件| 次| 条))$")
FIGURE_LABELS = ["受理诉求", "时限内响应率", "时限内解决率", "回访次数", "回访满意率（满意＋基本满意）",
                 "客户不满意（回访）", "拜访", "拜访中的表扬"]
GRADES = [(90, "优秀"), (80, "良好"), (60, "合格"), (0, "不合格")]


def cn_period(label):
    """"2026-10-22 至 2026-11-21" as the printed form writes it (without spaces): 2026年10月22日至2026年11月21日."""
    days = [tuple(int(part) for part in day.split("-")) for day in label.split(" 至 ")]
    return "至".join(f"{y}年{m}月{d}日" for y, m, d in days)


def figure(page, label):
    """The value beside `label` in the measured customer feedback."""
    row = page.locator("table.figures").first.locator("tr").filter(
        has=page.get_by_role("rowheader", name=label, exact=True))
    return row.locator("td").inner_text().strip()


def item_group(page, name):
    return page.get_by_role("group", name=re.compile(rf"^{re.escape(name)}（权重 \d+）$"))


def test_the_supervisor_evaluates_an_assistant_and_prints_the_form(phones, shot, page_problems):
    page_problems.allow(r"status of 422")  # the score of 120, refused on purpose
    away_from_midnight()
    zhuguan = phone_of(phones, "zhuguan")

    # 今日: 刘洋's monthly evaluation is due; the card leads to his schedule.
    desk = section(zhuguan, "到期的岗位评估")
    due = desk.filter(has_text="刘洋 · 月度评估")
    expect(due.first).to_be_visible()
    card = due.last  # the period that ended last
    period = card.locator(".card-meta").inner_text().strip()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d 至 \d{4}-\d\d-\d\d", period), period
    expect(card.locator(".countdown")).to_be_visible()
    card.click()
    heading(zhuguan, "刘洋")
    expect(zhuguan.get_by_label("开始客户助理服务模式的日期")).to_have_value(re.compile(r"^\d{4}-\d\d-\d\d$"))
    row = zhuguan.locator(".card").filter(has_text=f"月度评估 · {period}")
    expect(row.locator(".badge")).to_have_text("待评估")
    expect(zhuguan.locator(".card .badge").filter(has_text=re.compile(r"^\d+(\.\d)? 分 · "))).to_have_count(2)
    phone_shot(zhuguan, shot, "evaluation-schedule")
    row.get_by_role("button", name="开始评估").click()

    # The form: the period's customer feedback, measured.
    heading(zhuguan, "月度评估")
    head = zhuguan.locator(".panel").first
    expect(head).to_contain_text("刘洋 · 月度评估")
    expect(head).to_contain_text(period)
    expect(head.locator(".badge")).to_have_text("草稿")
    for label in FIGURE_LABELS:
        assert FIGURE.match(figure(zhuguan, label)), (label, figure(zhuguan, label))
    feedback = figure(zhuguan, "客户反馈得分")
    assert re.fullmatch(r"\d+(\.\d)?|—（本期无可计量数据）", feedback), feedback
    weight = int(re.search(r"权重 (\d+)%", zhuguan.get_by_role("heading", name=re.compile("^一、客户反馈")).inner_text())[1])

    # Every item scored, one of them over 100: refused beside that item, everything typed kept.
    legends = [re.fullmatch(r"(.+)（权重 (\d+)）", text).groups()
               for text in zhuguan.locator("fieldset.score-item legend").all_inner_texts()]
    assert [name for name, _weight in legends] == list(SCORES), legends
    weights = {name: int(weight) for name, weight in legends}
    first = next(iter(SCORES))
    for name, score in SCORES.items():
        item_group(zhuguan, name).get_by_label("分数（0–100）").fill("120" if name == first else str(score))
    item_group(zhuguan, NOTE[0]).get_by_label("说明").fill(NOTE[1])
    zhuguan.get_by_label("主管评语").fill(COMMENT)
    zhuguan.get_by_role("button", name="签字确认").click()
    expect(zhuguan.locator(".form-errors")).to_contain_text(f"有 1 项分数需要改正：{first}")
    refused = item_group(zhuguan, first)
    expect(refused.get_by_label("分数（0–100）")).to_be_focused()
    expect(refused.get_by_role("alert")).to_have_text(f"“{first}”的分数应在 0–100 之间")
    expect(refused.get_by_label("分数（0–100）")).to_have_attribute("aria-invalid", "true")
    expect(refused.get_by_label("分数（0–100）")).to_have_value("120")
    for name, score in list(SCORES.items())[1:]:
        expect(item_group(zhuguan, name).get_by_label("分数（0–100）")).to_have_value(str(score))
        expect(item_group(zhuguan, name).get_by_role("alert")).to_have_count(0)
    expect(item_group(zhuguan, NOTE[0]).get_by_label("说明")).to_have_value(NOTE[1])
    expect(zhuguan.get_by_label("主管评语")).to_have_value(COMMENT)
    expect(head.locator(".badge")).to_have_text("草稿")

    refused.get_by_label("分数（0–100）").fill(str(SCORES[first]))
    phone_shot(zhuguan, shot, "evaluation-scored")
    zhuguan.get_by_role("button", name="签字确认").click()
    # Irreversible: asked once more, in words, with the total; the scores are saved meanwhile.
    expect(zhuguan.get_by_role("heading", name="确认签字？")).to_be_visible()
    expect(zhuguan.get_by_text("签字确认后不能再修改", exact=False)).to_be_visible()
    expect(head.locator(".badge")).to_have_text("草稿")
    phone_shot(zhuguan, shot, "evaluation-confirm")
    zhuguan.get_by_role("button", name="确认签字").click()
    flash(zhuguan, "已签字确认，可以打印评估表")

    # Signed: the total and grade, as the weights make them; the form is now read-only.
    internal = round(sum(weights[name] * score for name, score in SCORES.items()) / sum(weights.values()), 1)
    total = internal if feedback.startswith("—") else \
        round((weight * float(feedback) + (100 - weight) * internal) / 100, 1)  # as the rules compute it
    grade = next(label for floor, label in GRADES if total >= floor)
    expect(head.locator(".badge")).to_have_text("已签字确认")
    expect(head.locator(".score-line")).to_have_text(f"{total} 分 · {grade}")
    expect(zhuguan.get_by_role("rowheader", name="内部评价得分")).to_be_visible()
    expect(zhuguan.get_by_role("row", name=re.compile("^内部评价得分"))).to_contain_text(str(internal))
    expect(zhuguan.get_by_text(f"主管评语：{COMMENT}")).to_be_visible()
    expect(zhuguan.get_by_role("button", name="签字确认")).to_have_count(0)
    expect(zhuguan.get_by_text("助理尚未填写。")).to_be_visible()
    phone_shot(zhuguan, shot, "evaluation-signed")

    # The printed form: who, when, both parts, the total and grade, and the supervisor's signature.
    printed = zhuguan.get_by_role("link", name="打印评估表").get_attribute("href")
    paper = pdf_text(zhuguan, printed, "evaluation-form")
    for expected in ("客户助理岗位评估表", "刘洋", cn_period(period), *SCORES, NOTE[1], "客户反馈得分", str(total), grade,
                     COMMENT, "客服主管签字陈敏", "被评估人签字"):
        assert expected in paper, expected
    assert OWN_COMMENT not in paper

    # It's off the supervisor's desk.
    go_today(zhuguan)
    expect(section(zhuguan, "到期的岗位评估").filter(has_text=period)).to_have_count(0)

    # 刘洋 finds it under 我的 → 我的评估 and writes his own comment.
    zhuli = phone_of(phones, "zhuli1")
    tab(zhuli, "我的")
    zhuli.get_by_role("link", name="我的评估").click()
    heading(zhuli, "我的评估")
    mine = zhuli.locator("a.card").filter(has_text=period)
    expect(mine.locator(".badge")).to_have_text(f"{total} 分 · {grade}")
    expect(mine).to_contain_text("待填写本人意见")
    mine.click()
    heading(zhuli, "月度评估")
    expect(zhuli.locator(".panel").first.locator(".score-line")).to_have_text(f"{total} 分 · {grade}")
    zhuli.get_by_label("本人意见").fill(OWN_COMMENT)
    zhuli.get_by_role("button", name="提交本人意见").click()
    flash(zhuli, "已填写本人意见")
    expect(zhuli.locator("xpath=//h2[normalize-space()='本人意见']/following-sibling::p[1]")).to_have_text(OWN_COMMENT)
    expect(zhuli.get_by_role("button", name="提交本人意见")).to_have_count(0)
    phone_shot(zhuli, shot, "evaluation-own-comment")

    paper = pdf_text(zhuli, zhuli.get_by_role("link", name="打印评估表").get_attribute("href"), "evaluation-form-commented")
    for expected in ("刘洋", cn_period(period), str(total), grade, COMMENT, OWN_COMMENT, "客服主管签字陈敏"):
        assert expected in paper, expected


def test_the_work_record_opens_the_day_picked_and_trends_show_this_month_as_partial(phones, shot, page_problems):
    import datetime
    from zoneinfo import ZoneInfo
    away_from_midnight()
    zhuli = phone_of(phones, "zhuli1")
    zhuli.goto("/worklog")
    today = datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    heading(zhuli, f"工作记录 {today:%m-%d}")
    picked = today - datetime.timedelta(days=9)
    zhuli.get_by_label("查看哪一天").fill(picked.isoformat())
    zhuli.get_by_role("button", name="查看").click()
    heading(zhuli, f"工作记录 {picked:%m-%d}")
    expect(zhuli.get_by_label("查看哪一天")).to_have_value(picked.isoformat())
    phone_shot(zhuli, shot, "worklog-date-picker")

    zhuguan = phone_of(phones, "zhuguan")
    zhuguan.goto("/trends")
    heading(zhuguan, "趋势")
    chart = zhuguan.locator("section.chart").first
    expect(chart.locator(".chart-partial-note")).to_have_text(f"本月至 {today.day} 日，未满一个月")
    expect(chart.locator("circle.chart-partial")).not_to_have_count(0)
    phone_shot(zhuguan, shot, "trends-partial-month")


def test_the_supervisors_desk_figures_lead_to_their_lists_summaries_go_back_and_meeting_actions_are_tasks(
        phones, shot, page_problems):
    import datetime
    from zoneinfo import ZoneInfo
    away_from_midnight()
    today = datetime.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    zhuguan = phone_of(phones, "zhuguan")

    # A signed evaluation's 拜访 figure opens the visits it counts.
    tab(zhuguan, "我的")
    zhuguan.get_by_role("link", name="岗位评估").click()
    heading(zhuguan, "岗位评估")
    zhuguan.locator("a.card").filter(has_text="刘洋 · 月度评估").first.click()
    heading(zhuguan, "月度评估")
    visits = figure(zhuguan, "拜访")
    zhuguan.locator("table.figures").first.locator("tr").filter(
        has=zhuguan.get_by_role("rowheader", name="拜访", exact=True)).get_by_role("link").click()
    heading(zhuguan, "拜访记录")
    expect(zhuguan.get_by_role("heading", level=2)).to_have_text(f"拜访（{visits.split()[0]}）")
    expect(zhuguan.get_by_label("客户助理")).to_have_value(re.compile(r"^\d+$"))
    phone_shot(zhuguan, shot, "visit-list-from-figure")
    zhuguan.go_back()
    heading(zhuguan, "月度评估")
    followups = figure(zhuguan, "回访次数")
    zhuguan.locator("table.figures").first.locator("tr").filter(
        has=zhuguan.get_by_role("rowheader", name="回访次数", exact=True)).get_by_role("link").click()
    heading(zhuguan, "回访记录")
    expect(zhuguan.get_by_role("heading", level=2)).to_have_text(f"回访（{followups.split()[0]}）")
    expect(zhuguan.locator("a.card")).to_have_count(int(followups.split()[0]))
    phone_shot(zhuguan, shot, "followups-from-figure")

    # 张婷's summary of last month waits for her: the supervisor sends it back with a note.
    tab(zhuguan, "我的")
    zhuguan.get_by_role("link", name="月度工作总结").click()
    heading(zhuguan, "月度工作总结")
    zhuguan.locator("a.card").filter(has_text=f"{last_month:%Y年%m月}").filter(has_text="已提交").click()
    heading(zhuguan, f"{last_month:%Y年%m月}工作总结")
    zhuguan.get_by_label("主管评语 / 退回意见").fill("请补充地库照明问题的原因分析和下月计划")
    zhuguan.get_by_role("button", name="退回修改").click()
    flash(zhuguan, "已退回 张婷 修改")
    expect(zhuguan.locator(".sent-back")).to_contain_text("请补充地库照明问题的原因分析和下月计划")

    zhangting = phone_of(phones, "zhuli2")
    tab(zhangting, "我的")
    zhangting.get_by_role("link", name="月度工作总结").click()
    mine = zhangting.locator("a.card").filter(has_text=f"{last_month:%Y年%m月}")
    expect(mine.locator(".badge")).to_have_text("草稿")
    mine.click()
    expect(zhangting.locator(".sent-back")).to_have_text("主管退回修改：请补充地库照明问题的原因分析和下月计划")
    expect(zhangting.get_by_role("button", name="提交主管")).to_be_visible()
    phone_shot(zhangting, shot, "summary-sent-back")

    # 刘洋 has last month's draft to finish, his earlier months listed below it.
    liuyang = phone_of(phones, "zhuli1")
    tab(liuyang, "我的")
    liuyang.get_by_role("link", name="月度工作总结").click()
    heading(liuyang, "月度工作总结")
    before = (last_month - datetime.timedelta(days=1)).replace(day=1)
    months = liuyang.locator("a.card .card-title").all_inner_texts()
    assert months[:3] == [f"{today:%Y年%m月}", f"{last_month:%Y年%m月}", f"{before:%Y年%m月}"], months
    expect(liuyang.locator("a.card").filter(has_text=f"{before:%Y年%m月}").locator(".badge")).to_have_text("已签阅")
    draft = liuyang.locator("a.card").filter(has_text=f"{last_month:%Y年%m月}")
    expect(draft.locator(".badge")).to_have_text("草稿")
    draft.click()
    expect(liuyang.get_by_label("工作总结")).to_have_value(re.compile("上月以现场巡查和早晚拜访为主"))
    for area in liuyang.get_by_label("分析（原因、处理、预防）").all():
        expect(area).to_have_value(re.compile(r"^原因：.*\n处理：.*\n预防："))
    phone_shot(liuyang, shot, "summary-draft")

    # On the same month's summary, the supervisor's every figure opens the list it counts.
    zhuguan.goto(liuyang.url)
    heading(zhuguan, f"{last_month:%Y年%m月}工作总结")
    needs_row = zhuguan.locator("table.figures").first.locator("tr").filter(
        has=zhuguan.get_by_role("rowheader", name="客户需求 / 个性化服务", exact=True))
    needs_link = needs_row.get_by_role("link", name=re.compile(r"^\d+ 项$"))
    box = needs_link.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44, box
    counted = int(needs_link.inner_text().split()[0])
    needs_link.click()
    heading(zhuguan, "客户需求")
    expect(zhuguan.locator(".filtered")).to_contain_text("刘洋记录")
    expect(zhuguan.get_by_role("heading", level=2)).to_have_text(f"需求（{counted}）")
    phone_shot(zhuguan, shot, "needs-from-summary-figure")
    zhuguan.go_back()
    tier_link = zhuguan.get_by_role("link", name=re.compile(r"^一般 \d+ 件$"))
    counted = int(tier_link.inner_text().split()[1])
    tier_link.click()
    heading(zhuguan, "客户诉求")
    expect(zhuguan.locator("#results a.card")).to_have_count(min(counted, 20))
    zhuguan.go_back()
    zhuguan.locator("table.figures").first.locator("tr").filter(
        has=zhuguan.get_by_role("rowheader", name="巡查覆盖率（每日巡查点）", exact=True)).get_by_role("link").click()
    heading(zhuguan, "巡查覆盖")
    expect(zhuguan.locator("section.coverage-person")).to_have_count(1)
    expect(zhuguan.locator("section.coverage-person .card-title")).to_have_text("刘洋")
    phone_shot(zhuguan, shot, "coverage-from-summary-figure")
    zhuguan.go_back()
    unit_row = zhuguan.locator("table.figures").nth(1).locator("tr").first
    found, closed = unit_row.get_by_role("link").nth(0), unit_row.get_by_role("link").nth(1)
    counted, closed_count = int(found.inner_text().split()[0]), int(closed.inner_text().split()[0])
    found.click()
    heading(zhuguan, "巡查问题")
    expect(zhuguan.locator("a.card")).to_have_count(counted)
    phone_shot(zhuguan, shot, "findings-from-summary-figure")
    zhuguan.go_back()
    unit_row.get_by_role("link").nth(1).click()  # 已关闭 N 个: the closed ones of the same row
    heading(zhuguan, "巡查问题")
    expect(zhuguan.locator("h2").first).to_contain_text("已关闭")
    expect(zhuguan.locator("a.card")).to_have_count(closed_count)

    # A meeting's action is an internal task of its owner, done with a note.
    tab(zhuguan, "我的")
    zhuguan.get_by_role("link", name="例会").click()
    zhuguan.get_by_role("link", name="＋ 记录").click()
    heading(zhuguan, "记录例会")
    zhuguan.get_by_label("主题").fill("周例会：冬季巡查")
    zhuguan.get_by_role("checkbox", name=re.compile("^刘洋")).check()
    zhuguan.get_by_label("行动事项（每行一项）").fill("刘洋：整理上月案例，下周例会分享\n检查地库照明巡查表")
    zhuguan.get_by_role("button", name="保存会议纪要").click()
    flash(zhuguan, "已记录例会")
    task = zhuguan.get_by_role("region", name="行动事项 1")
    expect(task).to_contain_text("内部任务 · 刘洋 · 待办")
    expect(zhuguan.get_by_role("region", name="行动事项 2")).to_contain_text("内部任务 · 陈敏 · 待办")
    meeting_url = zhuguan.url
    phone_shot(zhuguan, shot, "meeting-actions")
    liuyang.goto(meeting_url)
    mine = liuyang.get_by_role("region", name="行动事项 1")
    mine.get_by_label("完成情况").fill("已整理 3 个案例")
    mine.get_by_role("button", name="完成").click()
    flash(liuyang, "行动事项已完成")
    expect(liuyang.get_by_role("region", name="行动事项 1")).to_contain_text("已整理 3 个案例")
    expect(liuyang.get_by_role("region", name="行动事项 1").locator(".badge")).to_have_text("已完成")
