"""Export for the company's own reporting: requests, work orders, patrol checks, visits and shops of
a date range as one Excel workbook (.xlsx), a sheet each, with Chinese headers.

The workbook is written row by row (openpyxl's write-only mode), so a long range doesn't have to fit
in memory as cells.
"""
import datetime
import re

import peewee
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from . import clock
from . import shops
from .customers import Opinion
from .customers import Visit
from .customers import VisitHousehold
from .db import RuleError
from .estate import Household
from .estate import Zone
from .estate import current_tz as _tz
from .patrols import KINDS as CHECKPOINT_KINDS
from .patrols import Check
from .patrols import Checkpoint
from .tickets import Ticket
from .tickets import Tier
from .users import Unit
from .users import User
from .workorders import WorkOrder

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
FIRST_MISSING = "请填写开始日期"
LAST_MISSING = "请填写结束日期"

MAX_DAYS = 366
# Characters XML 1.0 doesn't allow, which a pasted text may hold: openpyxl refuses the control ones,
# and writes U+FFFE/U+FFFF into a file Excel then calls corrupt.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# What makes a spreadsheet read a cell as a formula (or, pasted on, as the start of one): such a text is
# written as a text cell, so a request described as =HYPERLINK(…) stays the words the resident said.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ExportError(RuleError):
    pass



def _local(moment):
    """A stored time as Excel shows it: the estate's wall clock, without a zone (Excel has none)."""
    return clock.to_local(moment, _tz()).replace(tzinfo=None) if moment else None


def _tickets(start, end):
    yield ["编号", "受理时间", "来源", "类别", "等级", "位置", "客户", "客户反映的问题", "状态", "负责人", "响应时间",
           "响应超时", "解决时间", "解决超时", "回访满意度", "重开次数", "上报", "作废"]
    holder = User.alias()
    query = (Ticket.select(Ticket, Tier.name.alias("tier_name"), holder.display_name.alias("holder_name"))
             .join(Tier).join_from(Ticket, holder, peewee.JOIN.LEFT_OUTER, on=(Ticket.assignee == holder.id))
             .where((Ticket.created_at >= start) & (Ticket.created_at < end)).order_by(Ticket.created_at).objects())
    for t in query:
        yield [t.number, _local(t.created_at), t.channel, t.category, t.tier_name, t.location, t.customer_name,
               t.description, t.state_label, t.holder_name or "", _local(t.responded_at),
               "是" if t.responded_at and t.responded_at > t.response_due else "否", _local(t.resolved_at),
               "是" if t.resolved_at and t.resolved_at > t.resolution_due else "否", t.satisfaction,
               t.reopen_count, "是" if t.escalation_level else "否", "是" if t.voided_at else "否"]


def _orders(start, end):
    yield ["编号", "诉求编号", "派工时间", "类型", "业务块", "位置", "内容", "完成时限", "状态", "接单时间", "报完成时间",
           "验收时间", "返工次数"]
    query = (WorkOrder.select(WorkOrder, Unit.name.alias("unit_name"), Ticket.number.alias("ticket_number")).join(Unit)
             .join_from(WorkOrder, Ticket, peewee.JOIN.LEFT_OUTER,
                        on=((WorkOrder.source_type == "ticket") & (WorkOrder.source_id == Ticket.id)))
             .where((WorkOrder.created_at >= start) & (WorkOrder.created_at < end)).order_by(WorkOrder.created_at)
             .objects())
    for o in query:
        yield [o.number, o.ticket_number or "", _local(o.created_at), o.title or "派工单", o.unit_name, o.location,
               o.instructions,
               _local(o.deadline), o.state_label, _local(o.accepted_at), _local(o.reported_at), _local(o.approved_at),
               o.rework_count]


def _checks(start, end):
    yield ["巡查时间", "巡查点", "类型", "区域", "巡查人", "方式", "不合格项", "备注"]
    query = (Check.select(Check.at, Check.via, Check.failed, Check.note, Checkpoint.name.alias("point"),
                          Checkpoint.kind.alias("kind"), Zone.name.alias("zone_name"),
                          User.display_name.alias("who"))
             .join(Checkpoint).join(Zone).join_from(Check, User)
             .where((Check.at >= start) & (Check.at < end)).order_by(Check.at).dicts())
    for c in query:
        yield [_local(Check.at.python_value(c["at"])), c["point"], CHECKPOINT_KINDS.get(c["kind"], c["kind"]),
               c["zone_name"], c["who"], "扫码" if c["via"] == "scan" else "列表", c["failed"], c["note"]]


def _visits(start, end):
    yield ["拜访时间", "形式", "房号", "地点", "时段", "在建议时段内", "客户助理", "意见条数", "住户说的"]
    visits = list(Visit.select(Visit, User.display_name.alias("who")).join(User, on=(Visit.created_by == User.id))
                  .where(Visit.voided_at.is_null() & (Visit.at >= start) & (Visit.at < end)).order_by(Visit.at)
                  .objects())
    ids = [v.id for v in visits]
    codes, said = {}, {}
    for link in (VisitHousehold.select(VisitHousehold.visit, Household.code).join(Household)
                 .where(VisitHousehold.visit.in_(ids)).tuples()):
        codes.setdefault(link[0], []).append(link[1])
    for opinion in Opinion.select().where(Opinion.visit.in_(ids)).order_by(Opinion.position):
        said.setdefault(opinion.visit_id, []).append(f"{opinion.kind}：{opinion.text}")
    for v in visits:
        yield [_local(v.at), v.form, "、".join(codes.get(v.id, [])), v.place, v.windows, "是" if v.windows else "否", v.who,
               len(said.get(v.id, [])), "\n".join(said.get(v.id, []))]


def _shops(_start, end):
    yield ["铺位号", "店名", "经营类型", "经营者", "经营者电话", "产权人", "状态", "统一社会信用代码", "执照有效期至",
           "执照状态"]
    day = clock.to_local(end, _tz()).date() - datetime.timedelta(days=1)
    for shop, licence, status in shops.search([z.id for z in Zone.live()]):
        yield [shop.unit_no, shop.name, shop.business_type, shop.operator_name, shop.operator_phone,
               shop.property_owner, shop.state, licence.credit_code if licence else "",
               (licence.valid_until if licence.valid_until else "长期") if licence else "",
               shops.STATUS_LABELS[shops.shop_status(shop, licence, day)]]


SHEETS = [("诉求", _tickets), ("派工单", _orders), ("巡查", _checks), ("拜访", _visits), ("商铺", _shops)]
WIDTHS = {"诉求": [16, 17, 8, 9, 6, 16, 9, 40], "派工单": [16, 16, 17, 10, 10, 16, 40, 17], "巡查": [17, 28, 9, 14, 9],
          "拜访": [17, 7, 16, 12, 12, 8, 9, 8, 50], "商铺": [8, 16, 9, 9, 13, 10, 7, 21, 12, 9]}


def check_range(first, last):
    if first is None:
        raise ExportError(FIRST_MISSING, "first")
    if last is None:
        raise ExportError(LAST_MISSING, "last")
    if first.year < 1900:
        raise ExportError("开始日期超出范围", "first")
    if last.year > 2999:
        raise ExportError("结束日期超出范围", "last")
    if last < first:
        raise ExportError("结束日期不能早于开始日期", "last")
    if (last - first).days >= MAX_DAYS:
        raise ExportError(f"一次最多导出 {MAX_DAYS} 天", "last")


def _cell(sheet, value):
    """A value as the sheet gets it: text cleaned for XML, and never a formula."""
    if not isinstance(value, str):
        return value
    value = NOT_XML.sub("", value)
    if not value.startswith(FORMULA_START):
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"
    cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    return cell


def workbook(first, last, path):
    """Write the days `first`…`last` (estate-local) to an .xlsx file at `path`."""
    check_range(first, last)
    start, _ = clock.day_bounds(first, _tz())
    _, end = clock.day_bounds(last, _tz())
    book = Workbook(write_only=True)
    for title, rows in SHEETS:
        sheet = book.create_sheet(title)
        for column, width in enumerate(WIDTHS.get(title, []), 1):
            sheet.column_dimensions[chr(64 + column)].width = width
        sheet.freeze_panes = "A2"
        count, width = 0, 0
        for row in rows(start, end):
            sheet.append([_cell(sheet, value) for value in row])
            count, width = count + 1, max(width, len(row))
        sheet.auto_filter.ref = f"A1:{get_column_letter(width)}{max(count, 2)}"  # filters on the header row
    book.save(path)
