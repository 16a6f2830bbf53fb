"""Personal services: the catalogue, what the customer was told kept on the order, no work before a
time is agreed (and confirmed when it must be), the unit's work coming back for the quality call-back,
and 不满意 sending the work back until the customer is satisfied — rules called directly, frozen clock."""
import datetime

import pytest

from kefu import callbacks
from kefu import customers
from kefu import services
from kefu import workorders
from kefu.db import StaleRecord
from kefu.services import ServiceError
from kefu.services import ServiceOrder
from kefu.workorders import WorkOrder
from test_tickets import actions
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)


@pytest.fixture
def lock(world):
    return services.save_item(world.supervisor, name="上门开锁", unit=world.engineering, charged=True, fee="50元/次",
                              duration="约半小时")


def fresh(record):
    return type(record).get_by_id(record.id)


def order_for(w, item, agreed_at=None, charged=True, fee_told="50元/次", **kw):
    order, created = services.create_order(w.assistant, w.home, item, "钥匙锁在屋里了", charged=charged,
                                           fee_told=fee_told, agreed_at=agreed_at, **kw)
    assert created
    return order


def work_of(order):
    return WorkOrder.get_by_id(fresh(order).work_order_id)


def unit_finishes(w, order, note="已开锁，客户确认"):
    work = work_of(order)
    work = workorders.accept(w.engineer, work, work.version)
    work = workorders.report_done(w.engineer, work, work.version, note)
    workorders.inspect(w.assistant, work, work.version, True)
    return fresh(order)


# The catalogue

def test_a_charged_service_needs_its_fee_standard(world):
    with pytest.raises(ServiceError) as refused:
        services.save_item(world.supervisor, name="家政保洁", unit=world.cleaning, charged=True, fee="")
    assert refused.value.field == "fee"
    free = services.save_item(world.supervisor, name="代收快递", unit=world.cleaning, charged=False, fee="10元")
    assert (free.fee, free.fee_label) == ("", "免费")


def test_a_service_name_is_used_once_and_an_edit_is_versioned(world, lock):
    with pytest.raises(ServiceError) as refused:
        services.save_item(world.supervisor, name="上门开锁", unit=world.engineering, charged=False)
    assert refused.value.field == "name"
    changed = services.save_item(world.supervisor, lock, lock.version, name="上门开锁", unit=world.engineering,
                                 charged=True, fee="60元/次")
    assert changed.fee == "60元/次" and actions(changed) == ["新增服务项目", "修改服务项目"]
    with pytest.raises(StaleRecord):
        services.save_item(world.supervisor, fresh(lock), 1, name="上门开锁", unit=world.engineering, charged=True,
                           fee="70元/次")


# Taking the order

def test_the_order_keeps_what_the_customer_was_told(world, lock, traveller):
    order = order_for(world, lock)
    assert order.number == "FW20261127-001" and order.state == "unscheduled"
    assert (order.charged, order.fee_told, order.told_at) == (True, "50元/次", datetime.datetime(2026, 11, 27, 2, 0))
    assert order.zone_id == world.zone.id
    services.save_item(world.supervisor, lock, lock.version, name="上门开锁", unit=world.engineering, charged=True,
                       fee="80元/次")
    assert fresh(order).fee_told == "50元/次"  # the fee told stays as it was told


@pytest.mark.parametrize("values, field", [
    ({"charged": True, "fee_told": ""}, "fee_told"),
    ({"agreed_at": sh(11, 27, 8, 0)}, "agreed_at"),
])
def test_an_order_needs_the_fee_told_and_a_time_not_in_the_past(world, lock, values, field):
    fields = dict(charged=False, fee_told="")
    fields.update(values)
    with pytest.raises(ServiceError) as refused:
        services.create_order(world.assistant, world.home, lock, "钥匙锁在屋里了", **fields)
    assert refused.value.field == field
    assert ServiceOrder.select().count() == 0


def test_an_order_from_a_need_answers_it_可提供(world, lock):
    need, _ = customers.record_need(world.assistant, world.home, "常把钥匙锁在家里", "personal", "上门开锁", "拜访")
    order = order_for(world, lock, need=need)
    assert order.need_id == need.id and fresh(need).outcome == "provide"
    declined, _ = customers.record_need(world.assistant, world.home, "想装防盗门", "personal", "其他", "拜访")
    declined = customers.answer_need(world.assistant, declined, declined.version, "decline", "不做安装", "已安抚")
    with pytest.raises(ServiceError) as refused:
        order_for(world, lock, need=declined)
    assert refused.value.field == "need"


def test_the_same_token_twice_takes_one_order(world, lock):
    first, _ = services.create_order(world.assistant, world.home, lock, "开锁", charged=False, token="s-1")
    again, created = services.create_order(world.assistant, world.home, lock, "开锁", charged=False, token="s-1")
    assert (again.id, created, ServiceOrder.select().count()) == (first.id, False, 1)


# The time, then the work

def test_no_work_is_sent_before_a_time_is_agreed(world, lock):
    order = order_for(world, lock)
    with pytest.raises(ServiceError, match="还没有约定好服务时间"):
        services.dispatch(world.assistant, order, order.version)
    assert WorkOrder.select().count() == 0
    order = services.agree_time(world.assistant, order, order.version, sh(11, 27, 15, 0))
    order = services.dispatch(world.assistant, order, order.version)
    work = work_of(order)
    assert order.state == "working" and work.unit_id == world.engineering.id
    assert "上门开锁：钥匙锁在屋里了（约定 11-27 15:00，收费 50元/次）" == work.instructions
    assert work.deadline == datetime.datetime(2026, 11, 27, 11, 0)  # four hours after the agreed time


def test_a_time_the_unit_must_confirm_waits_for_the_confirmation_and_the_customer_being_told(world, lock):
    order = order_for(world, lock, agreed_at=sh(11, 28, 9, 0), needs_confirmation=True)
    assert order.state == "unconfirmed"
    with pytest.raises(ServiceError, match="还没有约定好服务时间"):
        services.dispatch(world.assistant, order, order.version)
    with pytest.raises(ServiceError) as refused:
        services.confirm_time(world.assistant, order, order.version, sh(11, 28, 10, 0), sh(11, 27, 11, 0))
    assert refused.value.field == "customer_told_at"  # not yet: it is 10:00
    order = services.confirm_time(world.assistant, order, order.version, sh(11, 28, 10, 0), sh(11, 27, 9, 55))
    assert order.state == "scheduled" and order.time == datetime.datetime(2026, 11, 28, 2, 0)
    assert "确认时间" in actions(order)


def test_the_unit_accepted_work_waits_for_the_call_back(world, lock):
    order = order_for(world, lock, agreed_at=sh(11, 27, 11, 0))
    order = services.dispatch(world.assistant, order, order.version)
    order = unit_finishes(world, order)
    assert order.state == "callback" and "服务完成，待回访" in actions(order)


def test_不满意_sends_the_work_back_until_the_customer_is_satisfied(world, lock):
    order = services.dispatch(world.assistant, (o := order_for(world, lock, agreed_at=sh(11, 27, 11, 0))), o.version)
    order = unit_finishes(world, order)
    with pytest.raises(ServiceError) as refused:
        services.call_back(world.assistant, order, order.version, "电话", "不满意", "")
    assert refused.value.field == "words"
    order = services.call_back(world.assistant, order, order.version, "电话", "不满意", "锁芯被撬坏了，要求换新")
    assert (order.state, order.rework_count) == ("rework", 1)
    order = services.dispatch(world.assistant, order, order.version, "更换锁芯，不另收费")
    assert work_of(order).instructions == "更换锁芯，不另收费"
    order = unit_finishes(world, order, "已换新锁芯")
    order = services.call_back(world.assistant, order, order.version, "上门", "满意")
    assert (order.state, order.result, order.closed_at is not None) == ("closed", "满意", True)
    assert [c.result for c in callbacks.of_record(order)] == ["不满意", "满意"]
    assert WorkOrder.select().count() == 2


def test_a_call_back_only_after_the_work_is_accepted(world, lock):
    order = order_for(world, lock, agreed_at=sh(11, 27, 11, 0))
    with pytest.raises(ServiceError, match="不能回访"):
        services.call_back(world.assistant, order, order.version, "电话", "满意")


def test_a_cancelled_work_order_puts_the_service_back_to_be_dispatched(world, lock):
    order = services.dispatch(world.assistant, (o := order_for(world, lock, agreed_at=sh(11, 27, 11, 0))), o.version)
    with pytest.raises(ServiceError, match="请先撤销派工"):
        services.cancel(world.assistant, order, order.version, "客户自己找了锁匠")
    work = work_of(order)
    workorders.cancel(world.assistant, work, work.version, "派错业务块")
    assert fresh(order).state == "scheduled" and fresh(order).work_order_id is None
    order = services.cancel(world.assistant, fresh(order), fresh(order).version, "客户自己找了锁匠")
    assert order.state == "cancelled" and order.cancel_reason == "客户自己找了锁匠"


def test_two_people_changing_the_order_at_once_dont_both_win(world, lock):
    order = order_for(world, lock)
    services.agree_time(world.assistant, order, order.version, sh(11, 27, 15, 0))
    with pytest.raises(StaleRecord):
        services.agree_time(world.supervisor, order, order.version, sh(11, 27, 16, 0))


def test_open_orders_put_the_ones_waiting_for_the_assistant_first(world, lock):
    later = order_for(world, lock, agreed_at=sh(11, 28, 9, 0))
    unscheduled = order_for(world, lock)
    to_call = services.dispatch(world.assistant, (o := order_for(world, lock, agreed_at=sh(11, 27, 11, 0))), o.version)
    to_call = unit_finishes(world, to_call)
    services.create_order(world.assistant2, world.home2, lock, "开锁", charged=False)
    assert [o.id for o in services.open_in([world.zone.id])] == [to_call.id, unscheduled.id, later.id]


def test_a_不满意_call_back_puts_the_household_on_the_visit_planner(world, lock):
    order = services.dispatch(world.assistant, (o := order_for(world, lock, agreed_at=sh(11, 27, 11, 0))), o.version)
    order = unit_finishes(world, order)
    assert world.home not in customers.planner([world.zone.id])["unhappy"]
    services.call_back(world.assistant, order, order.version, "电话", "不满意", "锁芯被撬坏了")
    assert customers.planner([world.zone.id])["unhappy"] == [world.home]
    assert customers.planner([world.zone2.id])["unhappy"] == []
