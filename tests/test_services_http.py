"""Service pages over HTTP: the administrator's catalogue, an order taken from a need with the fee
told kept and refusals beside their fields, the time, the work, the call-back and the rework."""
from conftest import field_errors
from conftest import html
from conftest import text
from kefu import customers
from kefu import services
from kefu import workorders
from kefu.services import ServiceItem
from kefu.services import ServiceOrder
from kefu.workorders import WorkOrder
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)


def test_the_administrator_keeps_the_catalogue(world, as_user):
    from kefu import users
    admin = users.create_user(None, "admin", "管理员", "admin", "secret123")
    client = as_user(admin)
    data = {"name": "家政保洁", "unit": str(world.cleaning.id), "charged": "paid", "fee": "", "duration": "约 2 小时"}
    missing = client.post("/admin/services/new", data=data)
    assert missing.status_code == 422 and field_errors(missing, "fee") == ["请填写收费标准"]
    assert 'value="约 2 小时"' in html(missing)
    client.post("/admin/services/new", data=dict(data, fee="40元/小时"))
    item = ServiceItem.get()
    assert "家政保洁" in text(client.get("/admin/services")) and "40元/小时" in text(client.get("/admin/services"))
    client.post(f"/admin/services/{item.id}", data=dict(data, fee="45元/小时", version="1"))
    assert ServiceItem.get_by_id(item.id).fee == "45元/小时"


def test_an_order_from_a_need_runs_to_a_satisfied_call_back_through_a_rework(world, as_user):
    item = services.save_item(world.supervisor, name="上门开锁", unit=world.engineering, charged=True, fee="50元/次")
    need, _ = customers.record_need(world.assistant, world.home, "钥匙锁在屋里", "personal", "上门开锁", "电话")
    client = as_user(world.assistant)
    form = client.get(f"/services/new?need={need.id}")
    assert 'value="1-1-101"' in html(form) and "钥匙锁在屋里" in html(form) and "50元/次" in text(form)
    data = {"household": "1-1-101", "item": str(item.id), "request": "钥匙锁在屋里", "charged": "paid",
            "fee_told": "", "agreed_at": "2026-11-27T11:00", "token": "o-1"}
    refused = client.post(f"/services/new?need={need.id}", data=data)
    assert refused.status_code == 422 and field_errors(refused, "fee_told") == ["请填写告知的收费标准"]
    made = client.post(f"/services/new?need={need.id}", data=dict(data, fee_told="50元/次"))
    order = ServiceOrder.get()
    assert made.location == f"/services/{order.id}" and order.need_id == need.id
    page = text(client.get(f"/services/{order.id}"))
    assert "已告知客户：收费，50元/次" in page and "约定 11-27 11:00" in page and "派工给工程部" in page
    client.post(f"/services/{order.id}", data={"step": "dispatch", "dispatch-version": "1"})
    work = WorkOrder.get()
    for step in ("accept", "report", "inspect"):
        work = WorkOrder.get_by_id(work.id)
        if step == "accept":
            workorders.accept(world.engineer, work, work.version)
        elif step == "report":
            workorders.report_done(world.engineer, work, work.version, "已开锁")
        else:
            workorders.inspect(world.assistant, work, work.version, True)
    assert "质量回访" in text(client.get(f"/services/{order.id}"))
    version = str(ServiceOrder.get_by_id(order.id).version)
    unhappy = client.post(f"/services/{order.id}", data={"step": "callback", "callback-version": version,
                                                         "callback-method": "电话", "callback-result": "不满意"})
    assert unhappy.status_code == 422 and field_errors(unhappy, "callback-words")
    client.post(f"/services/{order.id}", data={"step": "callback", "callback-version": version, "callback-method": "电话",
                                               "callback-result": "不满意", "callback-words": "门锁被撬坏了"})
    page = text(client.get(f"/services/{order.id}"))
    assert "不满意待返工" in page and "返工 1" in page and "门锁被撬坏了" in page
    assert "派工给工程部" in page  # offered again for the rework
    assert "个性化服务" in text(client.get(f"/customers/households/{world.home.id}"))


def test_another_zones_assistant_cannot_open_the_order(world, as_user):
    item = services.save_item(world.supervisor, name="代收快递", unit=world.cleaning, charged=False)
    order, _ = services.create_order(world.assistant, world.home, item, "代收快递", charged=False)
    assert as_user(world.assistant2).get(f"/services/{order.id}").status_code == 403


# Field polish (issue 23, items 17 and 18)

def test_a_fee_that_differs_from_the_catalogue_is_warned_then_what_was_collected_is_kept(world, as_user):
    import re
    item = services.save_item(world.supervisor, name="疏通下水道", unit=world.engineering, charged=False)
    client = as_user(world.assistant)
    data = {"household": "1-1-101", "item": str(item.id), "request": "厨房下水慢", "charged": "paid",
            "fee_told": "30元/次", "token": "o-1"}
    warned = client.post("/services/new", data=data)
    assert warned.status_code == 422 and ServiceOrder.select().count() == 0
    assert "服务项目“疏通下水道”在目录中是免费的，告知客户的却是收费" in text(warned)
    assert 'name="fee_differs"' in html(warned)  # a second, deliberate answer
    made = client.post("/services/new", data=dict(data, fee_differs="y"))
    order = ServiceOrder.get()
    assert made.location == f"/services/{order.id}"
    assert any("与目录不同（目录：免费）" in e.note for e in services.events.timeline(order))
    page = client.get(f"/services/{order.id}")
    assert "与目录不同" in text(page) and "记录实收费用" in text(page)
    bad = client.post(f"/services/{order.id}", data={"step": "collect", "collect-version": "1",
                                                     "collect-amount": "-5", "collect-how": "微信"})
    assert bad.status_code == 422 and re.search(r'id="collect-amount-error"[^>]*>实收金额应在 0–100000 元之间', html(bad))
    client.post(f"/services/{order.id}", data={"step": "collect", "collect-version": "1", "collect-amount": "30",
                                               "collect-how": "微信"})
    order = ServiceOrder.get_by_id(order.id)
    assert order.collected == 30 and order.collected_how == "微信"
    page = client.get(f"/services/{order.id}")
    assert "实收 30.00 元 · 微信" in text(page) and 'name="collect-amount"' not in html(page)


def test_a_fee_told_as_the_catalogue_says_needs_no_second_answer(world, as_user):
    item = services.save_item(world.supervisor, name="上门开锁", unit=world.engineering, charged=True, fee="50元/次")
    client = as_user(world.assistant)
    made = client.post("/services/new", data={"household": "1-1-101", "item": str(item.id), "request": "锁坏了",
                                              "charged": "paid", "fee_told": "50 元/次", "token": "o-1"})
    assert made.status_code == 303
    cheaper = client.post("/services/new", data={"household": "1-1-101", "item": str(item.id), "request": "锁坏了",
                                                 "charged": "paid", "fee_told": "30元/次", "token": "o-2"})
    assert cheaper.status_code == 422 and "目录中的收费标准是 50元/次" in text(cheaper)


def test_once_a_time_is_agreed_the_page_offers_to_change_it(world, as_user):
    item = services.save_item(world.supervisor, name="家电清洗", unit=world.cleaning, charged=False)
    client = as_user(world.assistant)
    client.post("/services/new", data={"household": "1-1-101", "item": str(item.id), "request": "洗空调",
                                       "charged": "free", "token": "o-1"})
    order = ServiceOrder.get()
    first = html(client.get(f"/services/{order.id}"))
    assert "保存约定时间" in first and "改约时间" not in first
    client.post(f"/services/{order.id}", data={"step": "time", "time-version": "1", "time-agreed_at": "2026-11-28T09:00"})
    page = html(client.get(f"/services/{order.id}"))
    assert "<summary" in page and "改约时间" in page and "保存约定时间" not in page
    assert 'value="2026-11-28T09:00"' in page  # the agreed time to change from, not an empty field
    assert page.index("派工") < page.index("改约时间")  # the next step first, the change folded below
