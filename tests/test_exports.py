"""The Excel export: a sheet per kind of record with Chinese headers, only the chosen days (by the
Shanghai calendar), times in the estate's wall clock, and a range refused beside its field."""
import datetime
import io

import openpyxl
import pytest

from conftest import field_errors
from kefu import customers
from kefu import exports
from kefu import patrols
from kefu import shops
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)


def book(response):
    return openpyxl.load_workbook(io.BytesIO(response.data))


def rows(sheet):
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_the_workbook_holds_the_chosen_days_of_every_kind(world, as_user, traveller):
    traveller.move_to(sh(11, 1, 0, 5))
    inside = intake(world, description="十一月一日凌晨")
    traveller.move_to(sh(10, 31, 23, 55))
    intake(world, description="十月的最后五分钟")
    traveller.move_to(sh(11, 20, 9, 0))
    customers.record_visit(world.assistant, at=sh(11, 20, 7, 30), form="上门", households=[world.home],
                           opinions=[("表扬", "保洁很干净", None)])
    shop, _ = shops.register(world.assistant, name="老王面馆", unit_no="S-101", business_type="餐饮",
                             operator_name="王建国", zone=world.zone)
    checkpoint = patrols.Checkpoint.get_by_id(shop.checkpoint_id)
    patrols.record_check(world.assistant, checkpoint, "scan",
                         {i.id: ("ok", "") for i in checkpoint.checklist.live_items()})
    traveller.move_to(sh(11, 27, 10, 0))
    client = as_user(world.supervisor)
    response = client.post("/exports", data={"first": "2026-11-01", "last": "2026-11-30", "token": "x"})
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "20261101-20261130.xlsx" in response.headers["Content-Disposition"].encode("latin-1").decode("utf-8")
    workbook = book(response)
    assert workbook.sheetnames == ["诉求", "派工单", "巡查", "拜访", "商铺"]
    tickets = rows(workbook["诉求"])
    assert tickets[0][:4] == ["编号", "受理时间", "来源", "类别"]
    assert [row[0] for row in tickets[1:]] == [inside.number]
    assert tickets[1][1] == datetime.datetime(2026, 11, 1, 0, 5) and tickets[1][7] == "十一月一日凌晨"
    checks = rows(workbook["巡查"])
    assert checks[1][1:6] == ["S-101 老王面馆", "商铺", "一区", "张助理", "扫码"]
    visits = rows(workbook["拜访"])
    assert visits[0][4:6] == ["时段", "在建议时段内"]
    assert visits[1][:7] == [datetime.datetime(2026, 11, 20, 7, 30), "上门", "1-1-101", None, "早间", "是", "张助理"]
    assert visits[1][8] == "表扬：保洁很干净"
    assert rows(workbook["商铺"])[1][:4] == ["S-101", "老王面馆", "餐饮", "王建国"]


@pytest.mark.parametrize("first, last, field", [
    ("2026-11-30", "2026-11-01", "last"),
    ("2025-01-01", "2026-11-01", "last"),
])
def test_a_range_backwards_or_over_a_year_is_refused_beside_its_field(world, as_user, first, last, field):
    response = as_user(world.supervisor).post("/exports", data={"first": first, "last": last, "token": "x"})
    assert response.status_code == 422 and field_errors(response, field)


def test_an_empty_range_still_gives_every_sheet_its_headers(world, tmp_path):
    path = tmp_path / "empty.xlsx"
    exports.workbook(datetime.date(2026, 1, 1), datetime.date(2026, 1, 31), path)
    workbook = openpyxl.load_workbook(path)
    assert all(len(rows(workbook[name])) == 1 for name in ("诉求", "派工单", "巡查", "拜访"))


def test_a_work_order_carries_its_request_number_and_every_sheet_has_a_frozen_header_with_filters(world, tmp_path,
                                                                                                   traveller):
    from kefu import tickets
    traveller.move_to(sh(11, 20, 9, 0))
    ticket = intake(world)
    ticket = tickets.respond(world.assistant, ticket, ticket.version, "上门", "")
    tickets.dispatch(world.assistant, ticket, ticket.version, world.engineering, "换水管",
                     datetime.datetime(2026, 11, 21, 9, 0, tzinfo=datetime.timezone.utc))
    customers.record_visit(world.assistant, at=sh(11, 20, 8, 59) - datetime.timedelta(hours=2), form="偶遇", households=[world.home],
                           opinions=[("建议", "多种些花", None)])
    traveller.move_to(sh(11, 27, 10, 0))
    path = tmp_path / "book.xlsx"
    exports.workbook(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30), path)
    workbook = openpyxl.load_workbook(path)
    orders = rows(workbook["派工单"])
    assert orders[0][1] == "诉求编号" and orders[1][1] == ticket.number
    visits = rows(workbook["拜访"])
    assert visits[1][4:6] == [None, "否"]  # no window: an empty tag, and 否
    for name in workbook.sheetnames:
        sheet = workbook[name]
        assert sheet.freeze_panes == "A2", name
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), name
