"""The demo estate 阳光花园, created on first start in demo mode (never otherwise)."""
import datetime
import random

from . import clock
from . import estate
from . import notices
from . import tickets
from . import users
from . import workorders
from .db import database

PASSWORD = "demo1234"

LOGINS = [
    ("admin", "管理员"),
    ("zhuguan", "客服主管"),
    ("zhuli1", "客户助理 · 一区（1–4号楼）"),
    ("zhuli2", "客户助理 · 二区（5–8号楼）"),
    ("qiantai", "前台"),
    ("gongcheng", "工程部"),
    ("baojie", "保洁部"),
    ("lvhua", "绿化部"),
    ("anbao", "安保部"),
    ("zonghe", "综合服务部"),
]

UNITS = [
    ("工程部", "engineering", "李建国", "13800000001", "gongcheng", "李师傅"),
    ("保洁部", "cleaning", "王秀英", "13800000002", "baojie", "王阿姨"),
    ("绿化部", "greening", "赵志强", "13800000003", "lvhua", "赵师傅"),
    ("安保部", "security", "孙海涛", "13800000004", "anbao", "孙队长"),
    ("综合服务部", "general", "周丽", "13800000005", "zonghe", "周丽"),
]

PLACES = [
    ("南门出入口", "出入口", None),
    ("北门出入口", "出入口", None),
    ("中心绿地", "绿地", None),
    ("儿童游乐区", "绿地", None),
    ("会所", "会所", None),
    ("沿街商业街", "商业街", None),
    ("地下车库 B1", "地库", None),
    ("垃圾分类厢房", "设施设备", None),
    ("1号楼 电梯厅", "电梯厅", "1"),
    ("3号楼 楼道", "楼道", "3"),
    ("5号楼 电梯厅", "电梯厅", "5"),
    ("7号楼 楼道", "楼道", "7"),
]


def build():
    """Create 阳光花园: 8 buildings (416 households), 2 zones, 12 places, 5 units, 10 users."""
    with database.atomic():
        home = estate.Estate.current()
        home.name = "阳光花园"
        home.address = "上海市浦东新区阳光路 88 号"
        home.phone = "021-58880000"
        home.service_start = datetime.time(8, 0)
        home.service_end = datetime.time(20, 0)
        home.save()

        admin = users.create_user(None, "admin", "系统管理员", "admin", PASSWORD)
        supervisor = users.create_user(admin, "zhuguan", "陈敏", "supervisor", PASSWORD, phone="13900000010")
        zhuli1 = users.create_user(admin, "zhuli1", "刘洋", "assistant", PASSWORD, phone="13900000011")
        zhuli2 = users.create_user(admin, "zhuli2", "张婷", "assistant", PASSWORD, phone="13900000012")
        users.create_user(admin, "qiantai", "黄佳", "frontdesk", PASSWORD, phone="13900000013")
        for name, kind, head, phone, username, staff_name in UNITS:
            unit = users.Unit.create(name=name, kind=kind, head=head, phone=phone)
            users.create_user(admin, username, staff_name, "unit", PASSWORD, unit=unit)

        buildings = {}
        for number in range(1, 9):
            building = estate.create_building(admin, str(number), f"{number}号楼")
            floors = 18 if number <= 4 else 11
            rooms = 2 if number <= 4 else 2
            units_count = 2 if number <= 4 else 1 if number in (7, 8) else 2
            estate.bulk_create_households(admin, building, units_count, 1, floors, rooms)
            buildings[str(number)] = building

        for name, kind, building_code in PLACES:
            estate.Place.create(name=name, kind=kind, building=buildings.get(building_code))

        _residents()
        estate.set_zone(admin, None, 1, "一区（1–4号楼）", "", [buildings[c].id for c in "1234"], [zhuli1.id])
        estate.set_zone(admin, None, 1, "二区（5–8号楼）", "", [buildings[c].id for c in "5678"], [zhuli2.id])
    with database.atomic():
        build_tickets()
    return {"admin": admin, "supervisor": supervisor}


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "伟", "芳", "志强", "丽", "海涛", "敏", "军", "静", "晓东", "桂兰", "磊", "娟", "文华"]


def _residents():
    """An owner for most households, and a family member or tenant for some."""
    rng = random.Random(7)
    rows = []
    for household in estate.Household.live():
        if rng.random() < .1:
            continue  # not yet registered
        for relation in ["业主"] + (["家属"] if rng.random() < .3 else []) + (["租户"] if rng.random() < .1 else []):
            rows.append({"household": household.id, "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                         "phone": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}", "relation": relation,
                         "note": "独居老人" if relation == "业主" and rng.random() < .04 else ""})
    for start in range(0, len(rows), 300):
        estate.Resident.insert_many(rows[start:start + 300]).execute()


# Three weeks of requests, in every state a real desk would have.

PROBLEMS = [
    ("工程维修", "厨房水管接口漏水，橱柜下面都是水"),
    ("工程维修", "卫生间地漏返臭味，晚上特别明显"),
    ("工程维修", "入户门锁芯卡住，钥匙拧不动"),
    ("工程维修", "客厅顶灯不亮，换了灯泡还是不亮"),
    ("工程维修", "楼道感应灯坏了，晚上一片黑"),
    ("工程维修", "电梯按钮失灵，按了没反应"),
    ("工程维修", "阳台雨水管堵塞，下雨时往外溢水"),
    ("工程维修", "外墙渗水，卧室墙面发霉"),
    ("保洁", "楼道里有宠物粪便没人清理"),
    ("保洁", "地库入口垃圾桶满了溢出来"),
    ("保洁", "电梯轿厢地面有油污，很滑"),
    ("保洁", "楼下草坪有装修垃圾堆了两天"),
    ("绿化", "楼前的香樟树枝挡住窗户，要求修剪"),
    ("绿化", "中心绿地有死苗，一片枯黄"),
    ("绿化", "草坪杂草太多，有蚊虫"),
    ("安保", "夜里有外卖电动车在小区里飞快骑行"),
    ("安保", "地库有陌生人车辆长期占用业主车位"),
    ("安保", "单元门禁坏了，门一直关不上"),
    ("综合服务", "想办理车位月租，问需要什么材料"),
    ("综合服务", "快递柜满了，快递放在门口丢了"),
    ("投诉", "楼上装修周末早上七点就开始打电钻"),
    ("投诉", "邻居在楼道堆放杂物占用消防通道"),
    ("建议", "希望儿童游乐区加装遮阳棚"),
    ("咨询", "物业费发票怎么开，能不能开电子发票"),
]
CUSTOMERS = ["王先生", "李女士", "张阿姨", "刘先生", "陈女士", "杨先生", "赵阿姨", "黄先生", "周女士", "吴先生"]

# How each demo request goes, by its age in days: [(path, weight)].
PATHS_TODAY = [("received", 3), ("responded", 2), ("dispatched", 2), ("on_the_spot", 1)]
PATHS_YESTERDAY = [("dispatched", 2), ("reported", 2), ("resolved", 3), ("paused", 1), ("escalated", 1),
                   ("rework_open", 1), ("closed", 2)]
YESTERDAY_FIRST = ["paused", "escalated", "resolved", "rework_open"]
PATHS_THIS_WEEK = [("dispatched", 1), ("reported", 1), ("closed", 6), ("rework", 1), ("escalated", 1),
                   ("reopened", 1), ("unreachable", 1)]
PATHS_OLDER = [("closed", 10), ("rework", 3), ("reopened", 2), ("on_the_spot", 3), ("unreachable", 1)]


def _paths(back):
    return PATHS_TODAY if back == 0 else PATHS_YESTERDAY if back == 1 else \
        PATHS_THIS_WEEK if back <= 5 else PATHS_OLDER


def _at(day, hour, minute):
    tz = estate.Estate.current().tz
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=tz)


def _later(moment, minutes):
    return moment + datetime.timedelta(minutes=minutes)


def build_tickets(days=21, seed=20261127):
    """Requests over the last `days` days, made through the real rules at their real times."""
    rng = random.Random(seed)
    tz = estate.Estate.current().tz
    today = clock.today(tz)
    people = {u.username: u for u in users.User.select()}
    units = {u.kind: u for u in users.Unit.live()}
    tiers = {t.name: t for t in tickets.Tier.live()}
    households = list(estate.Household.live().order_by(estate.Household.id))
    places = list(estate.Place.live())
    case_count = 0
    for back in range(days, -1, -1):
        day = today - datetime.timedelta(days=back)
        count = rng.randint(4, 6) if back <= 5 else rng.randint(2, 3)
        for index in range(count):
            start = _at(day, rng.randint(8, 17), rng.choice([5, 12, 20, 33, 41, 48, 56]))
            if back == 0:
                # Today's requests came in between opening time and a few minutes ago.
                opening, latest = _at(day, 8, 0), clock.now().astimezone(tz) - datetime.timedelta(minutes=10)
                if latest <= opening:
                    continue
                start = opening + (latest - opening) * rng.random()
            category, text = rng.choice(PROBLEMS)
            tier = tiers["紧急"] if "电梯" in text or "漏水" in text and rng.random() < .3 else \
                tiers["重要"] if category == "投诉" else tiers["一般"]
            on_household = category not in ("绿化", "安保") or rng.random() < .3
            household = rng.choice(households) if on_household else None
            place = None if on_household else rng.choice(places)
            channel = rng.choice(["前台转交", "前台转交", "电话", "现场", "拜访"])
            path = _pick(rng, _paths(back))
            if back == 1 and index < len(YESTERDAY_FIRST):
                path = YESTERDAY_FIRST[index]  # so every state shows up on the demo
            ticket = _play(rng, start, path, channel, category, tier, text, household, place, people, units)
            if ticket is not None and ticket.state == "closed" and case_count < 3 and rng.random() < .25:
                case_count += 1
                with clock.set_to(_later(clock.aware(ticket.closed_at), 30)):
                    tickets.mark_case(ticket.assignee, ticket, ticket.version, f"{text[:12]}，属同类问题中较典型的一例",
                                      "当天响应并派工，业务块处理后客户助理现场验收，回访客户满意",
                                      "同楼栋同类设施列入每周巡查，提前发现隐患")
        # The app's scheduler would have escalated late requests as the days went by.
        evening = min(_at(day, 20, 0), clock.now())
        with clock.set_to(evening):
            tickets.sweep()
    # The supervisor has read the notices of earlier days.
    notices.Notice.update(read_at=clock.utcnow()).where(
        notices.Notice.created_at < clock.day_bounds(today, tz)[0]).execute()


def _pick(rng, paths):
    return rng.choices([p for p, _ in paths], weights=[w for _, w in paths])[0]


def _play(rng, start, path, channel, category, tier, text, household, place, people, units):
    """Take one request through the rules along `path`, each step at a plausible moment."""
    taker = people["qiantai"] if channel == "前台转交" else None
    moment = start
    with clock.set_to(moment):
        building = household.building if household else (place.building if place else None)
        zone = estate.zone_of_building(building) if building else None
        zone = zone or estate.Zone.live().order_by(estate.Zone.id).first()
        assistant = zone.assistants.first()
        resident = estate.Resident.of(household).first() if household else None
        name, phone = (resident.name, resident.phone) if resident else \
            (rng.choice(CUSTOMERS), f"139{rng.randint(10000000, 99999999)}") if household else ("", "")
        ticket, _ = tickets.create(taker or assistant, channel=channel, category=category, tier=tier,
                                   description=text, household=household, place=place, zone=zone,
                                   customer_name=name, customer_phone=phone)
    actor = ticket.assignee or assistant
    now = clock.now()

    def step(minutes, action):
        nonlocal moment, ticket
        moment = _later(moment, minutes)
        if moment > now:
            return False
        with clock.set_to(moment):
            ticket = action() or tickets.Ticket.get_by_id(ticket.id)
        return True

    def followup(result, words="处理得挺及时"):
        step(rng.randint(60, 600), lambda: tickets.record_followup(actor, ticket, ticket.version, "电话",
                                                                   result, words))

    if path == "received":
        return ticket
    if path == "on_the_spot":
        step(rng.randint(10, 50), lambda: tickets.resolve_on_the_spot(actor, ticket, ticket.version,
                                                                     "现场查看后当场处理，客户确认"))
        followup("满意")
        return ticket
    if not step(rng.randint(8, 55) if path != "escalated" else 70,
                lambda: tickets.respond(actor, ticket, ticket.version, rng.choice(["电话", "上门"]),
                                        "已联系客户，约定处理时间")):
        return ticket
    if path == "responded":
        return ticket
    unit = units.get(tickets.CATEGORY_UNIT.get(category, "general"), units["general"])
    staff = users.User.live().where((users.User.unit == unit) & (users.User.role == "unit")).first()
    order = None

    def dispatch():
        nonlocal order
        deadline = clock.aware(ticket.resolution_due)
        _t, order = tickets.dispatch(actor, ticket, ticket.version, unit, f"请处理：{text}", deadline)
        return _t

    if not step(rng.randint(5, 30), dispatch):
        return ticket
    if path == "escalated":
        step(60, lambda: tickets.escalate(actor, ticket, ticket.version, "业主要求赔偿损失，超出客户助理权限"))
        return ticket
    if path == "paused":
        step(30, lambda: tickets.pause(actor, ticket, ticket.version, "等待配件", "配件需要厂家订货，预计三天"))
        return ticket
    if path == "dispatched":
        return ticket
    order_ref = {"order": order}

    def work(note):
        current = workorders.WorkOrder.get_by_id(order_ref["order"].id)
        if current.state == "dispatched":
            current = workorders.accept(staff, current, current.version)
        workorders.report_done(staff, current, current.version, note)

    def inspect(passed, reason=""):
        current = workorders.WorkOrder.get_by_id(order_ref["order"].id)
        workorders.inspect(actor, current, current.version, passed, reason)

    if not step(rng.randint(60, 300), lambda: work("已处理完毕")):
        return ticket
    if path == "reported":
        return ticket
    if path in ("rework", "rework_open"):
        step(40, lambda: inspect(False, "现场复查仍有问题，需要返工"))
        if path == "rework_open":
            return ticket
        step(rng.randint(60, 240), lambda: work("已返工处理"))
    step(rng.randint(20, 90), lambda: inspect(True))
    if path == "resolved":
        return ticket
    if path == "reopened":
        followup("不满意", "修好了但是地上弄得很脏，没人清理")
        if ticket.state != "in_progress":
            return ticket
        cleaning = units["cleaning"]
        cleaner = users.User.live().where(users.User.unit == cleaning).first()

        def clean_order():
            nonlocal order
            _t, order = tickets.dispatch(actor, ticket, ticket.version, cleaning, "维修后现场清理",
                                         _later(clock.now(), 240))
            order_ref["order"] = order
            return _t

        step(20, clean_order)
        staff = cleaner
        step(90, lambda: work("已清理干净"))
        step(30, lambda: inspect(True))
    if path == "unreachable":
        for _ in range(tickets.UNREACHABLE_TRIES):
            step(rng.randint(120, 600), lambda: tickets.record_followup(actor, ticket, ticket.version, "电话",
                                                                        tickets.UNREACHABLE))
        step(600, lambda: tickets.close_by_supervisor(people["zhuguan"], ticket, ticket.version,
                                                      "三次回访未接通，客户已出差"))
        return ticket
    followup(rng.choice(["满意", "满意", "基本满意"]))
    return ticket
