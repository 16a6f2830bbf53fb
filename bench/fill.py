"""Fill a database with a 5,000-household estate and years of ticket history, for the benchmark.

The schema is the app's own (`kefu.db.init`). Rows are written with `insert_many` in large
transactions rather than through the rule functions, which would take hours; each ticket's life
(intake, response, pause, dispatch, the unit's work, inspection, return visits, escalation by the
overdue sweep, reopening, cases, voiding) is simulated once and cut at "now", and every column the
app reads is filled the way the rules fill it: numbers such as KS20170301-004, deadlines in service
hours, states, timeline events with the rules' wording, notices, return visits and the trigram
index rows.

After the tickets come the patrols (现场品质监督): checkpoints in every zone (security posts, shops,
public places, renovations with their dates) on the app's seeded checklists, about a thousand checks
a day with their answers as `record_check` writes them, the "巡查" event of each, and 2 % of checks
with one 不合格 item: a finding fixed on the spot, sent to a unit as a 整改单 (a ZG work order) or kept
as an observation. Each checkpoint's last day (and last day inside the no-noise window) is set from
its checks, as `record_check` keeps it.

Each shop checkpoint belongs to a shop of the register, written as `shops.register` writes it (the
shop, its operator record, version 1, the checkpoint named "S-03 好邻居便利店（商铺3）" pointing back at
it, the "商铺登记" event), with a business licence recorded in the last year (长期, valid, running out
or expired) or none, and the urgings of the shops without a valid one.

Each day's tickets and checks come from random generators seeded by (seed, days before the end), so
the last year of the 10-year database is the same as the 1-year database: the benchmark compares the
same current workload on top of one or ten years of history.

    .venv/bin/python -m bench.fill --years 10          # build (or reuse) and print what it holds
"""
import argparse
import base64
import datetime
import json
import math
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from stdnum.cn import uscc  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from kefu import clock  # noqa: E402
from kefu import db  # noqa: E402
from kefu.estate import Building  # noqa: E402
from kefu.estate import Estate  # noqa: E402
from kefu.estate import Household  # noqa: E402
from kefu.estate import Place  # noqa: E402
from kefu.estate import Zone  # noqa: E402
from kefu.estate import ZoneAssistant  # noqa: E402
from kefu.estate import ZoneBuilding  # noqa: E402
from kefu.estate import room_number  # noqa: E402
from kefu.events import Event  # noqa: E402
from kefu.notices import Notice  # noqa: E402
from kefu.patrols import FINDING_STATES  # noqa: E402
from kefu.patrols import KINDS  # noqa: E402
from kefu.patrols import VIA  # noqa: E402
from kefu.patrols import Check  # noqa: E402
from kefu.patrols import Checklist  # noqa: E402
from kefu.patrols import Checkpoint  # noqa: E402
from kefu.patrols import Finding  # noqa: E402
from kefu.patrols import Observation  # noqa: E402
from kefu.patrols import PatrolRules  # noqa: E402
from kefu.sequences import Sequence  # noqa: E402
from kefu.shops import URGE_METHODS  # noqa: E402
from kefu.shops import Licence  # noqa: E402
from kefu.shops import Operator  # noqa: E402
from kefu.shops import Shop  # noqa: E402
from kefu.shops import ShopVersion  # noqa: E402
from kefu.shops import Urging  # noqa: E402
from kefu.shops import _snapshot as shop_snapshot  # noqa: E402
from kefu.tickets import STATES  # noqa: E402
from kefu.tickets import FollowUp  # noqa: E402
from kefu.tickets import Ticket  # noqa: E402
from kefu.tickets import TicketText  # noqa: E402
from kefu.tickets import Tier  # noqa: E402
from kefu.users import Unit  # noqa: E402
from kefu.users import User  # noqa: E402
from kefu.workorders import STATES as WO_STATES  # noqa: E402
from kefu.workorders import WorkOrder  # noqa: E402

DATA = os.path.join(ROOT, "bench", "data")
# Part of the cached file's name: bump it when the generated rows change, so old files aren't reused.
GENERATOR = 5
PASSWORD = "bench1234"

BUILDINGS = 50
UNITS_PER_BUILDING = 2
FLOORS = 25
ROOMS_PER_FLOOR = 2
BUILDINGS_PER_ZONE = 5
HOUSEHOLDS = BUILDINGS * UNITS_PER_BUILDING * FLOORS * ROOMS_PER_FLOOR

TZ = clock.zone()
LOCAL = datetime.timedelta(hours=8)  # Asia/Shanghai has had no daylight saving since 1991
SERVICE_START, SERVICE_END = 8, 20   # the estate's default service hours, every day

ZONE_NUMERALS = "一二三四五六七八九十"
UNITS = [
    ("工程部", "engineering", ["李建国", "王师傅", "张师傅"]),
    ("保洁部", "cleaning", ["王秀英", "刘阿姨"]),
    ("绿化部", "greening", ["赵志强", "钱师傅"]),
    ("安保部", "security", ["孙海涛", "周队长"]),
    ("综合服务部", "general", ["周丽", "吴敏"]),
]
ASSISTANT_NAMES = ["刘洋", "张婷", "王磊", "李娜", "陈晨", "杨帆", "赵敏", "黄磊", "周杰", "吴静"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
         "霞", "平", "刚", "桂英", "建华", "文", "华", "红", "玉兰", "志强", "海燕", "晓东"]
TITLES = ["先生", "女士", "阿姨", "老师", "师傅"]
GENERAL_PLACES = [("南门出入口", "出入口"), ("北门出入口", "出入口"), ("东门人行通道", "出入口"),
                  ("中心绿地", "绿地"), ("儿童游乐区", "绿地"), ("健身步道", "绿地"), ("会所", "会所"),
                  ("游泳池", "会所"), ("沿街商业街", "商业街"), ("地下车库 B1", "地库"), ("地下车库 B2", "地库"),
                  ("垃圾分类厢房", "设施设备"), ("水泵房", "设施设备"), ("配电房", "设施设备"), ("主干道", "道路"),
                  ("消防通道", "道路"), ("快递柜", "其他"), ("非机动车棚", "其他")]

CHANNELS = [("现场", 20), ("前台转交", 35), ("电话", 35), ("其他岗位", 5), ("拜访", 5)]
CATEGORIES = [("工程维修", 40), ("保洁", 12), ("绿化", 6), ("安保", 10), ("综合服务", 8), ("装修", 6),
              ("商铺", 2), ("投诉", 6), ("建议", 3), ("咨询", 5), ("其他", 2)]
TIERS = [("一般", 80), ("重要", 15), ("紧急", 5)]
UNIT_OF_CATEGORY = {"工程维修": "engineering", "保洁": "cleaning", "绿化": "greening", "安保": "security",
                    "综合服务": "general", "装修": "engineering", "商铺": "general", "投诉": "general",
                    "建议": "general", "咨询": "general", "其他": "general"}
SPEED = {"一般": 1.0, "重要": 0.45, "紧急": 0.1}

# What customers say, by category: (where in the home, what is wrong). Composed with a time and a
# detail, these give the trigram index varied text.
TEXT = {
    "工程维修": (["卫生间", "厨房", "阳台", "客厅", "主卧", "次卧", "书房", "入户门", "窗户", "空调外机位", "地漏", "楼道",
               "电梯", "屋顶", "外墙", "水表井", "储藏室", "车库"],
              ["水管漏水", "天花板渗水", "下水道堵塞", "马桶漏水", "水龙头滴水", "墙面开裂", "瓷砖空鼓", "插座没电",
               "灯不亮", "经常跳闸", "门锁损坏", "窗户关不严", "电梯停运", "电梯异响", "电梯按钮失灵", "水压太小",
               "没有热水", "防水层破损", "燃气表报警", "可视对讲不通", "暖气不热", "墙皮脱落", "地面返潮",
               "排风扇不转", "玻璃破裂"]),
    "保洁": (["楼道", "电梯轿厢", "地库", "单元门口", "楼梯间", "垃圾房", "消防通道", ""],
           ["有垃圾未清理", "有异味", "垃圾桶满溢", "积水严重", "有宠物粪便", "扶手积灰", "玻璃很脏", "贴满小广告",
            "有呕吐物", "地面油污", "蜘蛛网很多"]),
    "绿化": (["楼下", "窗外", "中心绿地", "小区道路旁", "单元门口", ""],
           ["树枝遮挡窗户", "草坪枯黄", "绿化带蚊虫多", "树木倾斜有危险", "灌木需要修剪", "落叶堆积", "有马蜂窝",
            "浇水管破裂", "草坪被踩坏"]),
    "安保": (["小区", "地库", "单元门", "楼道", "南门", "北门", ""],
           ["有陌生人进入", "车辆占用消防通道", "门禁卡失灵", "夜间噪音扰民", "发现高空抛物", "电动车在楼道充电",
            "监控看不清", "道闸不抬杆", "有人遛狗不牵绳", "快递被冒领"]),
    "综合服务": (["", "", "业主"],
             ["需要开具居住证明", "门禁卡补办", "停车位租赁咨询", "物业费发票开具", "代收快递", "钥匙寄存",
              "借用工具", "办理车辆登记"]),
    "装修": (["楼上", "隔壁", "对门", "楼下", ""],
           ["装修噪音超时施工", "装修垃圾堆放楼道", "装修申请办理", "拆改墙体有疑问", "装修污染电梯", "装修材料堵住通道",
            "装修工人抽烟"]),
    "商铺": (["沿街商铺", "底商", "餐饮店", ""],
           ["油烟扰民", "占道经营", "招牌松动", "门前垃圾堆放", "夜间营业噪音", "排水堵塞"]),
    "投诉": (["", "对", "多次"],
           ["维修师傅态度不好", "保安服务不到位", "物业费收费有疑问", "报修多次未解决", "邻居噪音严重", "保洁不及时",
            "前台接待不耐烦", "停车收费不合理"]),
    "建议": (["", "希望"],
           ["增加充电桩", "增设儿童游乐设施", "延长会所开放时间", "增加垃圾分类指导", "增加休息座椅", "加装电梯扶手",
            "在门口增设快递柜"]),
    "咨询": (["", "请问"],
           ["物业费标准", "装修管理规定", "停车收费标准", "水电费缴纳方式", "宠物登记办法", "房屋出租备案",
            "维修基金使用"]),
    "其他": (["", ""], ["捡到钥匙一串", "寻找走失宠物", "邻里纠纷协调", "房屋漏雨保险理赔", "借用会议室"]),
}
WHEN = ["", "", "", "今天早上", "昨晚", "最近一周", "下雨后", "这两天", "刚才", "每天晚上"]
DETAILS = ["已经持续两天", "影响到楼下住户", "客户要求今天处理", "客户上午在家", "下午三点后可以上门", "老人独居，请尽快",
           "之前报修过一次", "客户情绪比较激动", "请师傅带好工具", "晚上比较严重", "邻居也有同样问题", "请先电话联系",
           "客户在外地，家里有人", "小孩在家，注意安全", "已拍照", "希望周末处理"]
RESPONSE_NOTES = ["已电话联系客户，约好上门时间", "已告知客户处理时限", "客户同意下午上门", "已安抚客户情绪", "已到现场查看",
                  "客户说明了具体位置", ""]
SPOT_NOTES = ["已现场处理，客户确认", "已向客户解释清楚", "已协调完成", "已登记并告知办理流程", "已现场清理完毕",
              "已联系相关方处理完毕"]
REPORT_NOTES = {
    "engineering": ["已更换水管接头，试水无渗漏", "已疏通管道，排水正常", "已更换灯具", "已更换门锁", "已重新做防水",
                    "已检修线路，恢复供电", "已调整窗户五金件", "电梯已维修恢复运行", "已更换阀门"],
    "cleaning": ["已清理完毕", "已消毒除味", "已清除小广告", "已清运垃圾"],
    "greening": ["已修剪树枝", "已补种草皮", "已喷药灭蚊", "已清除马蜂窝", "已扶正加固"],
    "security": ["已劝离", "已加强巡逻", "已重新授权门禁卡", "已挪车", "已调取监控并处理"],
    "general": ["已办理完毕", "已协调处理", "已回复客户", "已通知相关商户整改"],
}
REJECT_REASONS = ["仍有渗水", "现场未清理干净", "客户反映问题依旧", "修补处颜色不一致", "未按要求处理"]
UNHAPPY_WORDS = ["修好没两天又坏了", "师傅态度不好", "问题没有彻底解决", "拖得太久了", "现场没清理"]
PAUSE_NOTES = {"等待客户": "客户出差，下周回来", "等待配件": "配件需要厂家发货", "等待第三方": "需燃气公司上门"}
CASES = [("管道老化", "更换整段管道并回访", "排查同批次楼栋管道"),
         ("保洁排班不足", "调整排班并道歉", "增加高峰时段巡查"),
         ("沟通不及时", "主管上门沟通", "重要诉求每日告知进展")]


def _pick(rng, weighted):
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for value, weight in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


def _minutes(m):
    return datetime.timedelta(minutes=m)


def _hours(h):
    return datetime.timedelta(hours=h)


def _lognormal_hours(rng, median, spread=0.8, most=None):
    value = median * math.exp(rng.gauss(0, spread))
    return _hours(min(value, most) if most else value)


def due_after(start, minutes):
    """The app's service-hour deadline (kefu.tickets.due_after) for the default 08:00–20:00 every day.

    Equal to the app's own arithmetic (checked against it in `_check_due_after`), without
    reading the estate for every one of hundreds of thousands of deadlines.
    """
    local = start + LOCAL
    day = datetime.datetime(local.year, local.month, local.day)
    opens, closes = day + _hours(SERVICE_START), day + _hours(SERVICE_END)
    if local < opens:
        cursor = opens
    elif local >= closes:
        cursor = opens + _hours(24)
    else:
        cursor = local
    remaining = _minutes(minutes)
    while True:
        day = datetime.datetime(cursor.year, cursor.month, cursor.day)
        available = day + _hours(SERVICE_END) - cursor
        if remaining <= available:
            return cursor + remaining - LOCAL
        remaining -= available
        cursor = day + _hours(24 + SERVICE_START)


def _check_due_after():
    hours = clock.ServiceHours()
    rng = random.Random(7)
    for _ in range(500):
        start = datetime.datetime(2020, 1, 1) + _minutes(rng.randint(0, 60 * 24 * 400)) + \
            datetime.timedelta(seconds=rng.randint(0, 59))
        minutes = rng.choice([60, 24 * 60, 72 * 60, 4 * 60, rng.randint(1, 3000)])
        ours = due_after(start, minutes)
        theirs = clock.to_utc_naive(hours.add_working_minutes(clock.aware(start), minutes, TZ))
        assert ours == theirs, (start, minutes, ours, theirs)


def working_minutes_between(start, end):
    return clock.ServiceHours().working_minutes_between(clock.aware(start), clock.aware(end), TZ)


def local_text(moment, fmt="%m-%d %H:%M"):
    return (moment + LOCAL).strftime(fmt)


class World:
    """The estate's fixed rows and the counters that run across days."""

    def __init__(self, now):
        self.now = now
        self.ticket_id = 0
        self.order_id = 0
        self.ks = {}
        self.pd = {}
        self.rows = {name: [] for name in ("ticket", "text", "order", "event", "followup", "notice")}
        self.counts = {name: 0 for name in self.rows}

    def pd_number(self, at):
        day = (at + LOCAL).strftime("%Y%m%d")
        self.pd[day] = self.pd.get(day, 0) + 1
        return f"PD{day}-{self.pd[day]:03d}"


class Life:
    """One ticket: its ideal life is planned, then played up to `now`, filling rows as the rules would."""

    def __init__(self, world, rng, created, estate):
        self.w, self.rng, self.e = world, rng, estate
        self.plan = []
        self.orders = []
        self.world_now = world.now
        self.created = created
        self.round_start = created

    # Event rows and notices

    def event(self, at, actor, action, from_state="", to_state="", note="", record=None):
        record_type, record_id = ("workorder", record["id"]) if record is not None else ("ticket", self.t["id"])
        self.w.rows["event"].append((at, actor[0] if actor else None, actor[1] if actor else "系统",
                                     record_type, record_id, action, from_state, to_state, note, ""))

    def notice(self, at, users, text):
        for user in users:
            if at < self.world_now - datetime.timedelta(days=3) or self.rng.random() < 0.5:
                read = min(at + _lognormal_hours(self.rng, 3, 1.2), self.world_now)
            else:
                read = None
            self.w.rows["notice"].append((user[0], "ticket", self.t["id"], text[:300], at,
                                          read if read else None))

    def label(self):
        return STATES[self.t["state"]]

    def change(self, at, actor, action, to_state=None, note="", **fields):
        """One `_change`: bump the version, set fields and state, append the event."""
        before = self.label()
        self.t["version"] += 1
        if to_state:
            self.t["state"] = to_state
        self.t.update(fields)
        self.event(at, actor, action, before if to_state else "", self.label() if to_state else "", note)

    # Intake

    def intake(self):
        rng, e, w = self.rng, self.e, self.w
        category = _pick(rng, CATEGORIES)
        tier = _pick(rng, TIERS)
        channel = _pick(rng, CHANNELS)
        public = rng.random() < (0.5 if category in ("保洁", "绿化", "安保") else 0.08)
        if public:
            place = rng.choice(e["places"])
            household = None
            building = place["building"]
            zone = e["zone_of_building"][building] if building else rng.choice(e["zones"])
            location = place["name"]
            customer = "" if rng.random() < 0.5 else rng.choice(SURNAMES) + rng.choice(TITLES)
            subject = ""
        else:
            household = rng.choice(e["households"])
            place = None
            building = household["building"]
            zone = e["zone_of_building"][building]
            location = household["code"]
            customer = rng.choice(SURNAMES) + (rng.choice(GIVEN) if rng.random() < 0.4 else rng.choice(TITLES))
            subject = None
        subjects, problems = TEXT[category]
        if subject is None:
            subject = rng.choice(subjects)
        detail = "，".join(rng.sample(DETAILS, rng.choice((0, 1, 1, 2))))
        description = f"{rng.choice(WHEN)}{subject}{rng.choice(problems)}" + (f"，{detail}" if detail else "") + "。"
        assignee = e["assistant_of_zone"][zone]
        creator = e["frontdesk"][rng.randrange(len(e["frontdesk"]))] if channel == "前台转交" else assignee
        day = (self.created + LOCAL).strftime("%Y%m%d")
        w.ks[day] = w.ks.get(day, 0) + 1
        w.ticket_id += 1
        tier_row = e["tiers"][tier]
        self.tier = tier_row
        self.category = category
        self.assignee = assignee
        self.t = t = dict(
            id=w.ticket_id, number=f"KS{day}-{w.ks[day]:03d}", channel=channel, category=category,
            tier=tier_row["id"], household=household["id"] if household else None,
            place=place["id"] if place else None, building=building, zone=zone, location=location,
            customer_name=customer,
            customer_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}" if customer else "",
            description=description, state="received", assignee=assignee[0], created_by=creator[0],
            created_at=self.created, response_due=due_after(self.created, tier_row["response"]),
            responded_at=None, response_method="", resolution_due=due_after(self.created, tier_row["resolution"]),
            paused_at=None, paused_from="", pause_reason="", resolved_at=None, resolution_note="", followup_due=None,
            followup_attempts=0, satisfaction="", closed_at=None, close_reason="", reopen_count=0, escalation_level=0,
            escalated_at=None, escalation_reason="", is_case=False, case_cause="", case_handling="",
            case_prevention="", voided_at=None, void_reason="", version=1)
        handed = f"，转交 {assignee[1]}" if creator is not assignee else ""
        self.event(self.created, creator, "受理", to_state=STATES["received"],
                   note=f"{channel} · {category} · {tier} · {location}{handed}\n{description}")
        if tier_row["notify"]:
            self.notice(self.created, e["supervisors"], f"{tier}诉求 {t['number']}：{location} {description[:40]}")
        w.rows["text"].append((t["id"], " ".join([t["number"], location, customer, category, description])))

    # Planning the ideal life

    def at(self, moment, action, *args):
        self.plan.append((moment, len(self.plan), action, args))

    def plan_life(self):
        rng = self.rng
        t = self.created
        if rng.random() < 0.003:
            self.at(t + _minutes(rng.randint(3, 90)), self.void, rng.choice(["重复登记", "客户撤回", "登记错误"]))
            return
        late = rng.random() < 0.05
        responded = due_after(t, rng.randint(61, 200) if late else rng.randint(3, 55))
        self.at(responded, self.respond, rng.choice(["电话", "电话", "上门", "现场"]), rng.choice(RESPONSE_NOTES))
        t = responded
        if rng.random() < 0.015:
            raised = t + _lognormal_hours(rng, 3)
            self.at(raised, self.escalate, rng.choice(["客户要求赔偿，需主管协调", "涉及多个部门，需要协调",
                                                       "客户多次投诉，情绪激动"]))
            self.at(raised + _lognormal_hours(rng, 2), self.instruct, "请今天内上门沟通，结果报我")
        due = due_after(self.created, self.tier["resolution"])
        if rng.random() < 0.05:
            reason = rng.choice(list(PAUSE_NOTES))
            paused = t + _minutes(rng.randint(10, 180))
            resumed = paused + _lognormal_hours(rng, 20, 0.7, most=240)
            due = due_after(due, working_minutes_between(paused, resumed))
            self.at(paused, self.pause, reason)
            self.at(resumed, self.resume, due)
            t = resumed
        self.plan_round(t, due)

    def plan_round(self, t, due, first=True):
        rng = self.rng
        speed = SPEED[self.tier["name"]]
        self.at(due + _minutes(1), self.sweep)
        spot = 0.6 if UNIT_OF_CATEGORY[self.category] == "general" else 0.15
        if rng.random() < spot:
            done = t + _lognormal_hours(rng, 4 * speed)
            self.at(done, self.resolve_spot, rng.choice(SPOT_NOTES))
        else:
            count = 1 if not first else _pick(rng, [(1, 50), (2, 33), (3, 17)])
            kinds = [UNIT_OF_CATEGORY[self.category]] + rng.sample(["engineering", "cleaning", "general", "security"],
                                                                  count - 1)
            done = t
            for index, kind in enumerate(kinds):
                sent = t + _minutes(rng.randint(5, 60) + index * rng.randint(0, 120))
                deadline = min(due, sent + _hours(24))
                if deadline <= sent:
                    deadline = sent + _hours(4)
                order = {"kind": kind, "deadline": deadline}
                self.at(sent, self.dispatch, order)
                accepted = sent + _minutes(rng.randint(10, 180) * speed + 2)
                self.at(accepted, self.accept, order)
                reported = accepted + _lognormal_hours(rng, 10 * speed, 0.9, most=400)
                self.at(reported, self.report, order, rng.choice(REPORT_NOTES[kind]))
                if rng.random() < 0.08:
                    rejected = reported + _lognormal_hours(rng, 3, 0.7)
                    self.at(rejected, self.reject, order, rng.choice(REJECT_REASONS))
                    reported = rejected + _lognormal_hours(rng, 8 * speed, 0.8)
                    self.at(reported, self.report, order, "已返工：" + rng.choice(REPORT_NOTES[kind]))
                approved = reported + _lognormal_hours(rng, 3, 0.9, most=48)
                self.at(approved, self.approve, order)
                done = max(done, approved)
        self.plan_followups(done, first)

    def plan_followups(self, done, first):
        rng = self.rng
        visit = done + _lognormal_hours(rng, 5, 0.9, most=40)
        for attempt in range(1, 4):
            roll = rng.random()
            method = "电话" if rng.random() < 0.9 else "上门"
            if roll < 0.1:
                self.at(visit, self.followup, method, "未接通", "")
                if attempt == 3:
                    self.at(visit + _lognormal_hours(rng, 20, 0.6), self.close, f"{attempt} 次回访未接通")
                    return
                visit += _lognormal_hours(rng, 6, 0.6)
                continue
            if first and roll < 0.13:
                words = rng.choice(UNHAPPY_WORDS)
                self.at(visit, self.followup, method, "不满意", words)
                self.plan_round(visit + _minutes(30), due_after(visit, self.tier["resolution"]), first=False)
                return
            result = "满意" if rng.random() < 0.88 else "基本满意"
            self.at(visit, self.followup, method, result, "谢谢" if rng.random() < 0.3 else "")
            if rng.random() < 0.003:
                cause, handling, prevention = rng.choice(CASES)
                self.at(visit + _hours(rng.randint(24, 240)), self.mark_case, cause, handling, prevention)
            return

    def play(self):
        """Play the planned life up to now."""
        self.plan.sort(key=lambda step: (step[0], step[1]))
        for moment, _, action, args in self.plan:
            if moment > self.world_now:
                break
            action(moment, *args)
        w = self.w
        w.rows["ticket"].append(self.t)
        for order in self.orders:
            order.pop("kind")
            order.pop("unit_name")
            order.pop("staff")
            w.rows["order"].append(order)

    # The rules, as they change a ticket

    def void(self, at, reason):
        self.change(at, self.e["supervisors"][0], "作废", note=reason, voided_at=at, void_reason=reason)

    def respond(self, at, method, note):
        late = "（超时）" if at > self.t["response_due"] else ""
        self.change(at, self.assignee, "响应", "responded", note=f"{method}联系客户{late}：{note}".rstrip("："),
                    responded_at=at, response_method=method)

    def escalate(self, at, reason):
        if self.t["escalation_level"] or self.t["state"] == "closed":
            return
        self.change(at, self.assignee, "上报主管", note=reason, escalation_level=1, escalated_at=at,
                    escalation_reason=reason)
        self.notice(at, self.e["supervisors"], f"上报 {self.t['number']}：{self.t['location']} {reason[:60]}")

    def instruct(self, at, note):
        if self.t["state"] == "closed":
            return
        self.change(at, self.e["supervisors"][0], "主管批示", note=note)
        self.notice(at, [self.assignee], f"主管批示 {self.t['number']}：{note[:60]}")

    def pause(self, at, reason):
        self.change(at, self.assignee, "暂停", "paused", note=f"{reason}：{PAUSE_NOTES[reason]}",
                    paused_at=at, paused_from=self.t["state"], pause_reason=reason)

    def resume(self, at, due):
        minutes = working_minutes_between(self.t["paused_at"], at)
        self.change(at, self.assignee, "恢复处理", self.t["paused_from"] or "in_progress",
                    note=f"暂停 {int(minutes)} 分钟（服务时间），处理时限顺延至 {local_text(due)}",
                    resolution_due=due, paused_at=None, paused_from="", pause_reason="")

    def sweep(self, at):
        t = self.t
        if t["state"] not in ("received", "responded", "in_progress") or t["escalation_level"] or t["voided_at"]:
            return
        if at <= t["resolution_due"]:
            return
        self.change(at, None, "超时自动上报主管", note=f"超过处理时限（{local_text(t['resolution_due'])}）",
                    escalation_level=1, escalated_at=at, escalation_reason="超过处理时限")
        self.notice(at, self.e["supervisors"] + [self.assignee], f"超时自动上报 {t['number']}：{t['location']}")

    def resolve_spot(self, at, note):
        fields = dict(resolved_at=at, resolution_note=note, followup_due=at + _hours(24))
        if self.t["responded_at"] is None:
            fields.update(responded_at=at, response_method="现场")
        self.change(at, self.assignee, "现场处理完成", "resolved", note=note, **fields)

    def dispatch(self, at, order):
        unit = self.e["units"][order["kind"]]
        self.change(at, self.assignee, "派工", "in_progress", note=f"派给 {unit['name']}")
        self.w.order_id += 1
        instructions = self.t["description"]
        order.update(
            id=self.w.order_id, number=self.w.pd_number(at), source_type="ticket", source_id=self.t["id"],
            unit=unit["id"], zone_id=self.t["zone"], location=self.t["location"][:120],
            title=f"{self.category} · {self.t['description'][:40]}"[:120], instructions=instructions,
            deadline=order["deadline"], state="dispatched", created_by=self.assignee[0],
            created_at=at, accepted_at=None, reported_at=None, report_note="", reported_by="",
            approved_at=None, rework_count=0, cancelled_at=None, cancel_reason="", version=1,
            unit_name=unit["name"], staff=unit["staff"][self.rng.randrange(len(unit["staff"]))])
        self.orders.append(order)
        self.event(at, self.assignee, "派工", to_state=WO_STATES["dispatched"],
                   note=f"{unit['name']}：{instructions}（时限 {local_text(order['deadline'])}）", record=order)

    def move(self, at, actor, order, to_state, action, note="", **fields):
        """One `workorders._move`, with the ticket's listener noting it on the ticket."""
        before = WO_STATES[order["state"]]
        order["state"] = to_state
        order["version"] += 1
        order.update(fields)
        self.event(at, actor, action, before, WO_STATES[to_state], note, record=order)
        self.event(at, actor, f"派工单{action}", note=f"{order['number']} {order['unit_name']}" + (f"：{note}" if note else ""))

    def accept(self, at, order):
        if "id" in order:
            self.move(at, order["staff"], order, "working", "接单", accepted_at=at)

    def report(self, at, order, note):
        if "id" in order:
            self.move(at, order["staff"], order, "reported", "报完成", note, reported_at=at, report_note=note,
                      reported_by=order["staff"][1])

    def reject(self, at, order, reason):
        if "id" in order:
            self.move(at, self.assignee, order, "rework", "验收不通过", reason, rework_count=order["rework_count"] + 1)

    def approve(self, at, order):
        if "id" not in order:
            return
        self.move(at, self.assignee, order, "approved", "验收通过", approved_at=at)
        if self.t["state"] not in ("in_progress", "paused"):
            return
        if any(o["state"] in ("dispatched", "working", "reported", "rework") for o in self.orders):
            return
        accepted = [o for o in self.orders if o["state"] == "approved" and o["approved_at"] >= self.round_start]
        notes = "；".join(f"{o['unit_name']}：{o['report_note']}" for o in accepted)
        self.change(at, self.assignee, "处理完成", "resolved", note="派工单全部验收通过", resolved_at=at,
                    resolution_note=notes, followup_due=at + _hours(24))

    def followup(self, at, method, result, words):
        if self.t["state"] != "resolved":
            return
        self.w.rows["followup"].append((self.t["id"], at, self.assignee[0], method, result, words))
        note = f"{method}回访：{result}" + (f"。客户说：{words}" if words else "")
        if result == "未接通":
            self.change(at, self.assignee, "回访未接通", note=note, followup_attempts=self.t["followup_attempts"] + 1)
        elif result == "不满意":
            self.round_start = at
            self.change(at, self.assignee, "回访不满意，重新处理", "in_progress", note=note, satisfaction=result,
                        reopen_count=self.t["reopen_count"] + 1, resolved_at=None, followup_due=None,
                        resolution_due=due_after(at, self.tier["resolution"]))
        else:
            self.change(at, self.assignee, "回访后关闭", "closed", note=note, satisfaction=result, closed_at=at)

    def close(self, at, reason):
        if self.t["state"] == "resolved":
            self.change(at, self.e["supervisors"][0], "主管关闭", "closed", note=reason, closed_at=at,
                        close_reason=reason)

    def mark_case(self, at, cause, handling, prevention):
        self.change(at, self.assignee, "标记为案例", note=f"原因：{cause}\n处理：{handling}\n预防：{prevention}",
                    is_case=True, case_cause=cause, case_handling=handling, case_prevention=prevention)


def _estate(now):
    """The estate, its people and units; returns what the ticket generator picks from."""
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    created = now - datetime.timedelta(days=3660 * 2)
    Estate.create(id=1, name="远景花园", address="上海市闵行区远景路 1 号", phone="021-64000000")

    def user(username, name, role, unit=None):
        row = User.create(username=username, display_name=name, role=role, unit=unit, password_hash=password_hash,
                          phone="", created_at=created)
        return (row.id, row.display_name)

    admin = user("admin", "系统管理员", "admin")
    supervisors = [user("zhuguan", "陈敏", "supervisor")]
    frontdesk = [user("qiantai", "黄佳", "frontdesk"), user("qiantai2", "林芳", "frontdesk")]
    assistants = [user(f"zhuli{i + 1}", name, "assistant") for i, name in enumerate(ASSISTANT_NAMES)]
    units = {}
    for name, kind, staff in UNITS:
        unit = Unit.create(name=name, kind=kind, head=staff[0], phone="13800000000")
        units[kind] = {"id": unit.id, "name": name,
                       "staff": [user(f"{kind}{i + 1}", person, "unit", unit) for i, person in enumerate(staff)]}

    Building.insert_many([{"code": str(n), "name": f"{n}号楼"} for n in range(1, BUILDINGS + 1)]).execute()
    buildings = {b.code: b.id for b in Building.select()}
    rows = []
    for n in range(1, BUILDINGS + 1):
        for unit_no in range(1, UNITS_PER_BUILDING + 1):
            for floor in range(1, FLOORS + 1):
                for index in range(1, ROOMS_PER_FLOOR + 1):
                    room = room_number(floor, index)
                    rows.append((buildings[str(n)], unit_no, floor, room, f"{n}-{unit_no}-{room}"))
    fields = [Household.building, Household.unit_no, Household.floor, Household.room, Household.code]
    for start in range(0, len(rows), 2000):
        Household.insert_many(rows[start:start + 2000], fields=fields).execute()
    households = [{"id": h.id, "building": h.building_id, "code": h.code} for h in Household.select()]

    place_rows = [{"name": name, "kind": kind, "building": None} for name, kind in GENERAL_PLACES]
    for n in range(1, BUILDINGS + 1):
        place_rows.append({"name": f"{n}号楼 电梯厅", "kind": "电梯厅", "building": buildings[str(n)]})
        place_rows.append({"name": f"{n}号楼 楼道", "kind": "楼道", "building": buildings[str(n)]})
    Place.insert_many(place_rows).execute()
    places = [{"id": p.id, "name": p.name, "building": p.building_id} for p in Place.select()]

    zones, zone_of_building, assistant_of_zone = [], {}, {}
    for z in range(BUILDINGS // BUILDINGS_PER_ZONE):
        first, last = z * BUILDINGS_PER_ZONE + 1, (z + 1) * BUILDINGS_PER_ZONE
        zone = Zone.create(name=f"{ZONE_NUMERALS[z]}区（{first}–{last}号楼）")
        zones.append(zone.id)
        for n in range(first, last + 1):
            ZoneBuilding.create(zone=zone, building=buildings[str(n)])
            zone_of_building[buildings[str(n)]] = zone.id
        ZoneAssistant.create(zone=zone, user=assistants[z][0])
        assistant_of_zone[zone.id] = assistants[z]
    tiers = {t.name: {"id": t.id, "name": t.name, "response": t.response_minutes, "resolution": t.resolution_minutes,
                      "notify": t.notify_supervisor} for t in Tier.select()}
    return {"admin": admin, "supervisors": supervisors, "frontdesk": frontdesk, "assistants": assistants,
            "units": units, "households": households, "places": places, "zones": zones,
            "zone_of_building": zone_of_building, "assistant_of_zone": assistant_of_zone, "tiers": tiers}


HOUR_WEIGHTS = [0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 3, 4, 4, 3.5, 2.5, 3, 3.5, 3.5, 3, 3, 3.5, 3, 2, 1.2, 0.6, 0.3]
HOURS = list(enumerate(HOUR_WEIGHTS))

TICKET_FIELDS = [f for f in Ticket._meta.sorted_field_names if f != "id"]
ORDER_FIELDS = [f for f in WorkOrder._meta.sorted_field_names if f != "id"]


def _day(world, estate, seed, per_year, days_before_end, end):
    """Generate one local day's tickets, `days_before_end` days before the end."""
    rng = random.Random(f"{seed}:{days_before_end}")
    local_day = (end + LOCAL).date() - datetime.timedelta(days=days_before_end)
    season = 1 + 0.2 * math.sin((local_day.timetuple().tm_yday - 100) / 365.25 * 2 * math.pi)
    weekend = 0.85 if local_day.weekday() >= 5 else 1.05
    count = int(per_year / 365.25 * season * weekend * rng.uniform(0.75, 1.25) + 0.5)
    starts = []
    midnight = datetime.datetime.combine(local_day, datetime.time()) - LOCAL
    for _ in range(count):
        hour = _pick(rng, HOURS)
        # Microseconds as the app's clock writes them (peewee reads those without a failed parse first).
        starts.append(midnight + _hours(hour) + datetime.timedelta(seconds=rng.randint(0, 3599),
                                                                     microseconds=rng.randint(0, 999999)))
    starts.sort()
    for start in starts:
        if start > world.now:
            break
        life = Life(world, rng, start, estate)
        life.intake()
        life.plan_life()
        life.play()


# Patrols (现场品质监督): checkpoints in every zone and about a thousand checks a day.

PATROL_SEED = "patrol"
SECURITY_POSTS = ["入口岗", "巡逻岗", "地库岗"]
# Each zone's shops along the street: (what the name ends with, 经营类型); 餐饮 ones have a kitchen, so
# 油烟排放 applies to them (and is 不适用 elsewhere, as the check page starts it).
SHOPS = [("便利店", "零售"), ("小吃店", "餐饮"), ("理发店", "美容美发"), ("大药房", "药店"), ("面包房", "餐饮"),
         ("洗衣店", "其他")]
SHOP_BRANDS = ["好邻居", "惠民", "阳光", "老街坊", "金谷", "百姓", "康乐", "佳家", "邻里", "晨光", "福满", "鑫源"]
SHOP_SCOPES = {"零售": "日用百货、预包装食品销售", "餐饮": "餐饮服务（小型餐馆）", "美容美发": "理发服务、生活美容服务",
               "药店": "药品零售、第二类医疗器械销售", "其他": "洗烫服务、日用百货销售"}
# Licence status of the shops, by share: none (urged a few times), expired (urged too), running out
# within 30 days, valid for years, 长期 (no end date).
SHOP_LICENCES = [("none", 0.1), ("expired", 0.05), ("expiring", 0.07), ("valid", 0.38), ("long", 0.4)]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the characters a 统一社会信用代码 may hold
URGE_SAID = ["材料在准备，下周去市场监管局办", "已在网上提交申请，等审核", "房东的产权证明还没给，催一下", "这个月生意忙，月底去办",
             "已经办好了，过两天拿执照来登记", "不清楚要什么材料，已告知办理流程"]
ZONE_PUBLIC = [(name, "facility") for name in ("地库 A 区", "地库 B 区", "地库 C 区", "地库 D 区", "垃圾分类厢房 1",
                                               "垃圾分类厢房 2", "消防通道", "非机动车棚", "主干道")] + \
    [("儿童游乐区", "greenery")] + [(f"绿化带 {n}", "greenery") for n in range(1, 9)]
PUBLIC_BLOCK = 4           # each public place is checked on one day of every 4 (its interval is 7)…
PUBLIC_SKIP = 3            # …except in about 3 % of blocks, when it is missed
RENOVATION_START = 0.1     # a renovation starts in a zone on 1 day in 10…
RENOVATION_DAYS = (30, 120)  # …and lasts 30–120 days: about 7.5 active per zone
FAIL_RATE = 0.02           # checks with one 不合格 item
FAIL_NOTES = {
    "在岗在位": ["岗位无人，离岗约十分钟", "交接班时段岗位空缺"], "着装规范": ["未佩戴工牌", "未按规定着装"],
    "交接班记录完整": ["交接班记录未填写", "记录缺少签名"], "对讲机等设备完好": ["对讲机电量不足", "手电筒损坏"],
    "岗位整洁": ["岗亭内杂物堆放", "岗亭地面有烟头"], "来访登记": ["来访人员未登记", "登记信息不全"],
    "地面清洁": ["地面有垃圾未清理", "地面有污渍"], "墙面无污损": ["墙面有小广告", "墙面有涂鸦"],
    "照明正常": ["声控灯不亮", "应急灯损坏"], "消防设施完好": ["灭火器压力不足", "消防栓箱门损坏"],
    "无杂物堆放": ["楼道堆放纸箱", "楼道停放电动车"], "门窗完好": ["防火门闭门器损坏", "窗户玻璃破裂"],
    "无死苗": ["灌木有死苗需补种"], "无杂草": ["草坪杂草较多"], "无病虫害": ["树木有虫害"], "修剪及时": ["绿篱未修剪"],
    "无垃圾": ["绿化带内有垃圾"], "消防安全": ["灭火器过期", "店内电线私拉乱接"], "环境卫生": ["门前有垃圾"],
    "铺面及物品摆放整齐": ["货物堆放凌乱"], "无违章设摊": ["门口占道摆摊"], "无不良经营行为": ["价格未明码标价"],
    "油烟排放": ["油烟净化器未开启"], "噪音": ["音响声音过大"], "招牌广告灯箱整洁及安全": ["灯箱破损", "招牌松动"],
    "施工时间符合规定": ["午休时段施工"], "无拆改承重结构": ["疑似拆改承重墙，已要求停工"],
    "装修垃圾及时清运": ["装修垃圾堆放楼道"], "公共部位已保护": ["电梯未做保护"], "消防器材配备": ["现场未配备灭火器"],
    "噪音控制": ["噪音过大"], "施工人员证件": ["施工人员未办出入证"],
}
CLEANING_ITEMS = {"地面清洁", "墙面无污损", "无杂物堆放"}
UNIT_OF_CHECKLIST = {"security": "security", "greenery": "greening", "shop": "general", "renovation": "engineering"}
FIXED_NOTES = ["已当场整改，复查合格", "已提醒相关人员，当场纠正", "已现场清理", "已当面要求整改并确认"]
OBSERVATION_CLOSE_NOTES = ["已复查，情况已改善", "持续关注两周未再出现", "已整改完毕"]
CHECK_FIELDS = ["id", "checkpoint", "by", "at", "day", "via", "in_window", "answers", "failed", "note"]
CHECKPOINT_FIELDS = [f for f in Checkpoint._meta.sorted_field_names]
FINDING_FIELDS = [f for f in Finding._meta.sorted_field_names]
OBSERVATION_FIELDS = [f for f in Observation._meta.sorted_field_names]
EVENT_FIELDS = [Event.at, Event.actor_id, Event.actor_name, Event.record_type, Event.record_id, Event.action,
                Event.from_state, Event.to_state, Event.note, Event.data]


def _mix(*values):
    """A small deterministic integer hash (Python's own hash of a str changes between runs)."""
    x = 0x811C9DC5
    for value in values:
        x = ((x ^ (value & 0xFFFFFFFF)) * 0x01000193) & 0xFFFFFFFF
        x ^= x >> 15
        x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
        x ^= x >> 12
    return x


def _token(rng):
    return base64.urlsafe_b64encode(rng.getrandbits(128).to_bytes(16, "big")).decode().rstrip("=")


class Patrols:
    """The checkpoints and the state that runs across days while the checks are generated."""

    def __init__(self, world, estate, seed, days, end):
        self.w, self.e, self.seed = world, estate, seed
        self.now = world.now
        self.end_day = (end + LOCAL).date()
        self.first_day = self.end_day - datetime.timedelta(days=days - 1)
        rules = PatrolRules.current()
        self.window = (rules.quiet_start.hour * 3600 + rules.quiet_start.minute * 60,
                       rules.quiet_end.hour * 3600 + rules.quiet_end.minute * 60)
        self.checklists = {}
        for checklist in Checklist.select():
            items = [(item.id, item.text) for item in checklist.live_items()]
            self.checklists[checklist.code] = {"id": checklist.id, "name": checklist.name, "items": items}
        self.zone_names = {z.id: z.name for z in Zone.select()}
        self.rows = {name: [] for name in ("check", "event", "finding", "order", "observation")}
        self.counts = {name: 0 for name in self.rows}
        self.check_id = self.finding_id = self.observation_id = 0
        self.zg = {}
        self.last_day, self.last_window_day = {}, {}
        self.checkpoints = []  # rows, in id order
        self.security, self.shops, self.public, self.renovations = [], [], [], []
        # The shop register's rows (model instances, written with the checkpoints).
        self.register = {model: [] for model in (Shop, ShopVersion, Operator, Licence, Urging)}
        self.active, self.next_renovation = [], 0
        self.scheduled, self.public_by_phase, self.started = {}, {}, False

    # The checkpoints

    def checkpoint(self, kind, name, zone, checklist, unit=None, place=None, household=None, interval=1,
                   created_at=None, created_by=None, active_from=None, active_until=None, rng=None, na=(), key=None,
                   source=("", None)):
        cl = self.checklists[checklist]
        unit_row = self.e["units"][unit] if unit else None
        created_by = created_by or self.e["admin"]
        created_at = created_at or self.now - datetime.timedelta(days=3660 * 2)
        cp = {"id": len(self.checkpoints) + 1, "kind": kind, "name": name, "zone": zone, "checklist": checklist,
              "assistant": self.e["assistant_of_zone"][zone], "from": active_from, "until": active_until,
              "key": key or (0, len(self.checkpoints) + 1, 0)}
        # Every item 合格 (or 不适用 where it doesn't apply, such as 油烟排放 at a shop without a kitchen),
        # as record_check writes it; a failed check rewrites one item.
        cp["answers"] = [[item_id, text, "na" if text in na else "ok", ""] for item_id, text in cl["items"]]
        cp["ok_json"] = json.dumps(cp["answers"], ensure_ascii=False)
        # The timeline note of a check with every item 合格, by (via, inside the no-noise window).
        quiet = "（无噪音时段内）" if kind == "renovation" else ""
        cp["ok_notes"] = {(via, window): f"{name}：{label}巡查，全部合格" + (quiet if window else "")
                          for via, label in VIA.items() for window in (False, True)}
        self.checkpoints.append(dict(
            id=cp["id"], kind=kind, name=name, zone=zone, place=place, household=household,
            unit=unit_row["id"] if unit_row else None, checklist=cl["id"], interval_days=interval,
            token=_token(rng), note="", source_type="renovation" if kind == "renovation" else source[0],
            source_id=cp["id"] if kind == "renovation" else source[1], active_from=active_from,
            active_until=active_until, last_day=None, last_window_day=None, created_by=created_by[0],
            created_at=created_at, voided_at=None, void_reason="", version=1))
        note = f"{KINDS[kind]} · {self.zone_names[zone]} · {cl['name']}" \
            + (f" · 责任：{unit_row['name']}" if unit_row else "")
        self.event(created_at, created_by, "checkpoint", cp["id"], "新建巡查点", "", "", note)
        return cp

    def fixed(self):
        """Security posts, shops and public places: the same rows, in the same order, in every database."""
        rng = random.Random(f"{self.seed}:{PATROL_SEED}:checkpoints")
        places = {p["name"]: p["id"] for p in self.e["places"]}
        buildings_of_zone = {}
        for building, zone in self.e["zone_of_building"].items():
            buildings_of_zone.setdefault(zone, []).append(building)
        code_of_building = {h["building"]: h["code"].split("-")[0] for h in self.e["households"]}
        for index, zone in enumerate(self.e["zones"]):
            numeral = ZONE_NUMERALS[index]
            for post in SECURITY_POSTS:
                self.security.append(self.checkpoint("security", f"{numeral}区 {post}", zone, "security", "security",
                                                     rng=rng))
            for n, (ending, business_type) in enumerate(SHOPS):
                self.shops.append(self.shop(index * len(SHOPS) + n + 1, ending, business_type, zone, rng))
            for building in sorted(buildings_of_zone[zone]):
                code = code_of_building[building]
                for unit_no in range(1, UNITS_PER_BUILDING + 1):
                    prefix = f"{code}号楼 {unit_no}单元"
                    names = [(f"{prefix} 大堂", f"{code}号楼 电梯厅"), (f"{prefix} 电梯厅", f"{code}号楼 电梯厅"),
                             (f"{prefix} 楼梯间", f"{code}号楼 楼道"), (f"{prefix} 负一层 通道", f"{code}号楼 楼道")]
                    names += [(f"{prefix} {floor}层 楼道", f"{code}号楼 楼道") for floor in range(1, FLOORS + 1)]
                    names += [(f"{prefix} 屋面", None)]
                    for name, place in names:
                        self.public.append(self.checkpoint("public", name, zone, "facility", "cleaning",
                                                           place=places.get(place), interval=7, rng=rng))
            for name, checklist in ZONE_PUBLIC:
                unit = "greening" if checklist == "greenery" else "cleaning"
                self.public.append(self.checkpoint("public", f"{numeral}区 {name}", zone, checklist, unit,
                                                   interval=7, rng=rng))
        for cp in self.public:
            self.public_by_phase.setdefault(cp["id"] % PUBLIC_BLOCK, []).append(cp)

    def shop(self, number, ending, business_type, zone, token_rng):
        """One shop as `shops.register` writes it: the Shop, its operator record, version 1, the
        checkpoint `_follow_state` opens for it (named with the shop's id, pointing back at it) and the
        "商铺登记" event; then its licence (or none, and urgings), all within the last year. The shop's
        own generator leaves the checkpoints' tokens as they were."""
        rng = random.Random(f"{self.seed}:{PATROL_SEED}:shop:{number}")
        assistant = self.e["assistant_of_zone"][zone]
        created = self.now - datetime.timedelta(days=3660 * 2)
        opened = (created + LOCAL).date()
        shop_id, checkpoint_id = len(self.register[Shop]) + 1, len(self.checkpoints) + 1
        shop = Shop(id=shop_id, name=f"{rng.choice(SHOP_BRANDS)}{ending}", unit_no=f"S-{number:02d}",
                    business_type=business_type, operator_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                    operator_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}", opened_on=opened,
                    state="营业", zone=Zone(id=zone, name=self.zone_names[zone]), place=None,
                    checkpoint_id=checkpoint_id, created_by=assistant[0], created_at=created)
        self.register[Shop].append(shop)
        self.register[Operator].append(Operator(shop=shop_id, name=shop.operator_name, phone=shop.operator_phone,
                                                since=opened))
        self.register[ShopVersion].append(ShopVersion(
            shop=shop_id, number=1, at=created, by=assistant[0], changes="{}",
            snapshot=json.dumps(shop_snapshot(shop), ensure_ascii=False)))
        cp = self.checkpoint("shop", f"{shop.unit_no} {shop.name}（商铺{shop_id}）", zone, "shop", rng=token_rng,
                             created_by=assistant, active_from=opened, source=("shop", shop_id),
                             na=() if shop.food else ("油烟排放",))
        assert cp["id"] == checkpoint_id
        self.event(created, assistant, "shop", shop_id, "商铺登记", "", "",
                   f"{shop.unit_no} {shop.name} · {shop.business_type} · {shop.state}")
        status = _pick(rng, SHOP_LICENCES)
        if status != "none":
            recorded = datetime.datetime.combine(self.end_day - datetime.timedelta(days=rng.randint(60, 330)),
                                                 datetime.time(9)) - LOCAL + datetime.timedelta(
                seconds=rng.randint(0, 8 * 3600))
            valid_until = {"long": None, "valid": self.end_day + datetime.timedelta(days=rng.randint(60, 1800)),
                           "expiring": self.end_day + datetime.timedelta(days=rng.randint(1, 28)),
                           "expired": self.end_day - datetime.timedelta(days=rng.randint(3, 50))}[status]
            code = "92310112MA" + "".join(rng.choice(USCC_ALPHABET) for _ in range(7))
            code += uscc.calc_check_digit(code)
            self.register[Licence].append(Licence(
                shop=shop_id, credit_code=code, holder=shop.name, scope=SHOP_SCOPES[business_type],
                valid_until=valid_until, recorded_by=assistant[0], recorded_at=recorded))
            self.event(recorded, assistant, "shop", shop_id, "登记营业执照", "", "",
                       f"{code} {shop.name} · 有效期至 {valid_until:%Y-%m-%d}" if valid_until else
                       f"{code} {shop.name} · 长期有效")
        if status in ("none", "expired"):
            # Urged one to three times: over the last 90 days, or since the licence ran out; in the daytime.
            first = self.end_day - datetime.timedelta(days=90) if status == "none" else valid_until
            span = (self.end_day - first).days - 1
            for offset in sorted(rng.sample(range(1, span + 1), min(span, rng.randint(1, 3)))):
                at = datetime.datetime.combine(first + datetime.timedelta(days=offset), datetime.time(9)) - LOCAL \
                    + datetime.timedelta(seconds=rng.randint(0, 8 * 3600))
                method, said = rng.choice(URGE_METHODS), rng.choice(URGE_SAID)
                day = (at + LOCAL).date()
                promised = day + datetime.timedelta(days=rng.randint(3, 30)) if rng.random() < 0.6 else None
                self.register[Urging].append(Urging(shop=shop_id, at=at, method=method, by=assistant[0], said=said,
                                                    promised_on=promised))
                self.event(at, assistant, "shop", shop_id, "督促办理营业执照", "", "",
                           f"{method}：{said}" + (f"（承诺 {promised:%m-%d} 前办好）" if promised else ""))
        return cp

    def plan_renovations(self, days):
        """Renovations by the day they start, each from its own day's generator: the ones active in the
        last year are the same in every database. Starts go back far enough to cover the first day."""
        longest = RENOVATION_DAYS[1]
        households = {}
        for h in self.e["households"]:
            households.setdefault(self.e["zone_of_building"][h["building"]], []).append(h)
        for before in range(days - 1 + longest, -1, -1):
            rng = random.Random(f"{self.seed}:{PATROL_SEED}:renovation:{before}")
            start = self.end_day - datetime.timedelta(days=before)
            for zone in self.e["zones"]:
                if rng.random() >= RENOVATION_START:
                    continue
                length = rng.randint(*RENOVATION_DAYS)
                household = rng.choice(households[zone])
                registered = rng.randint(1, 5)
                token_rng = random.Random(f"{self.seed}:{PATROL_SEED}:renovation:{before}:{zone}")
                until = start + datetime.timedelta(days=length - 1)
                if until < self.first_day:
                    continue
                assistant = self.e["assistant_of_zone"][zone]
                created = (datetime.datetime.combine(start - datetime.timedelta(days=registered), datetime.time(15))
                           - LOCAL + datetime.timedelta(seconds=token_rng.randint(0, 7200),
                                                        microseconds=token_rng.randint(1, 999999)))
                if created > self.now:
                    continue
                self.renovations.append(self.checkpoint(
                    "renovation", f"{household['code']} 装修（{start:%Y-%m-%d} 起）", zone, "renovation",
                    "engineering", household=household["id"], created_at=created, created_by=assistant,
                    active_from=start, active_until=until, rng=token_rng, key=(1, -before, zone)))

    # The checks

    def schedule_public(self, ordinal, checkpoints):
        """Public places: time runs in blocks of PUBLIC_BLOCK days, shifted by the checkpoint's id; each
        block has one check on a day picked by a hash of (checkpoint, block), a few blocks none. Without
        state carried from day to day, every database has the same checks in the same days. Called on
        the first day for every place, then each day for the places whose block starts that day."""
        scheduled = self.scheduled
        for cp in checkpoints:
            position = ordinal + cp["id"]
            block = position // PUBLIC_BLOCK
            h = _mix(self.seed, cp["id"], block)
            if (h >> 8) % 100 < PUBLIC_SKIP:
                continue
            picked = block * PUBLIC_BLOCK + h % PUBLIC_BLOCK
            if picked >= position:
                scheduled.setdefault(picked - cp["id"], []).append(cp)

    def day(self, before):
        """One local day's checks, from a generator seeded by the day: the same in every database."""
        rng = random.Random(f"{self.seed}:{PATROL_SEED}:{before}")
        day = self.end_day - datetime.timedelta(days=before)
        midnight = datetime.datetime.combine(day, datetime.time()) - LOCAL
        ordinal = day.toordinal()
        start, end = self.window
        planned = []
        for cp in self.security:
            if rng.random() < 0.97:
                planned.append((8 * 3600 + rng.random() * 4 * 3600, cp))
            if rng.random() < 0.97:
                planned.append((13 * 3600 + rng.random() * 5 * 3600, cp))
            if rng.random() < 0.5:  # the evening round
                planned.append((18 * 3600 + rng.random() * 2 * 3600, cp))
        for cp in self.shops:
            if rng.random() < 0.95:
                planned.append((9 * 3600 + rng.random() * 9 * 3600, cp))
        # Renovations in the order they started (then zone): the same list on this day in every database.
        while self.next_renovation < len(self.renovations) and self.renovations[self.next_renovation]["from"] <= day:
            self.active.append(self.renovations[self.next_renovation])
            self.next_renovation += 1
        self.active = [cp for cp in self.active if cp["until"] >= day]
        for cp in self.active:
            if rng.random() >= 0.95:
                continue
            if rng.random() < 0.65:
                planned.append((start + rng.random() * (end - start), cp))
            else:
                planned.append((8 * 3600 + rng.random() * 10 * 3600, cp))
                if rng.random() < 0.25:
                    planned.append((start + rng.random() * (end - start), cp))
        if not self.started:
            self.started = True
            self.schedule_public(ordinal, self.public)
        else:
            self.schedule_public(ordinal, self.public_by_phase[-ordinal % PUBLIC_BLOCK])
        for cp in sorted(self.scheduled.pop(ordinal, ()), key=lambda cp: cp["id"]):
            planned.append((8 * 3600 + rng.random() * 10 * 3600, cp))
        # In time order (the ids grow with time, as the app's would); ties can't happen in practice.
        planned = sorted((seconds, cp["key"], cp) for seconds, cp in planned)
        day_text = day.isoformat()
        rows, events, last_day, last_window_day = self.rows["check"], self.rows["event"], self.last_day, \
            self.last_window_day
        failures = []
        limit = (self.now - midnight).total_seconds()
        check_id = self.check_id
        random_ = rng.random
        delta = datetime.timedelta
        for seconds, _, cp in planned:
            if seconds > limit:
                break
            via = "scan" if random_() < 0.85 else "list"
            in_window = start <= seconds < end
            check_id += 1
            assistant, cp_id = cp["assistant"], cp["id"]
            at = midnight + delta(seconds=seconds)
            if random_() < FAIL_RATE:
                answers = [list(row) for row in cp["answers"]]
                row = rng.choice([row for row in answers if row[2] == "ok"])
                row[2], row[3] = "fail", rng.choice(FAIL_NOTES.get(row[1], ["不符合要求"]))
                text, failed = json.dumps(answers, ensure_ascii=False), 1
                self.finding_id += 1
                failures.append((self.finding_id, check_id, cp, at, row[1], row[3]))
                note = f"{cp['name']}：{VIA[via]}巡查，1 项不合格：{row[1]}" + \
                    ("（无噪音时段内）" if in_window and cp["kind"] == "renovation" else "")
            else:
                text, failed, note = cp["ok_json"], 0, cp["ok_notes"][via, in_window]
            at_text = at.isoformat(" ")
            rows.append((check_id, cp_id, assistant[0], at_text, day_text, via, int(in_window), text, failed, ""))
            # As record_check files it: on the check, so the checkpoint's timeline keeps to its set-up.
            events.append((at_text, assistant[0], assistant[1], "check", check_id, "巡查", "", "", note, ""))
            last_day[cp_id] = day_text
            if in_window:
                last_window_day[cp_id] = day_text
        self.check_id = check_id
        self.findings(rng, failures, day)

    def findings(self, rng, failures, day):
        """What became of each 不合格 item: solved on the spot, a 整改单 to the unit, or kept under
        observation; played up to now like a ticket's life."""
        now = self.now
        orders = []
        for finding_id, check_id, cp, at, item, note in failures:
            assistant = cp["assistant"]
            description = f"{cp['name']}：{item}不合格" + (f"，{note}" if note else "")
            finding = dict(id=finding_id, check=check_id, checkpoint=cp["id"], zone=cp["zone"], item_text=item,
                           note=note, state="open", work_order_id=None, resolution="", created_by=assistant[0],
                           created_at=at, resolved_at=None, version=1)
            self.event(at, assistant, "finding", finding_id, "巡查发现问题", "", FINDING_STATES["open"], description)
            roll = rng.random()
            handled = at + _minutes(rng.randint(5, 120))
            if roll < 0.45:
                resolution = rng.choice(FIXED_NOTES)
                if handled <= now:
                    finding.update(state="fixed", resolution=resolution, resolved_at=handled, version=2)
                    self.event(handled, assistant, "finding", finding_id, "当场解决", FINDING_STATES["open"],
                               FINDING_STATES["fixed"], resolution)
            elif roll < 0.92:
                checklist = cp["checklist"]
                if checklist == "facility":
                    kind = "cleaning" if item in CLEANING_ITEMS else "engineering"
                else:
                    kind = UNIT_OF_CHECKLIST[checklist]
                unit = self.e["units"][kind]
                order = {"unit": unit, "finding": finding, "description": description, "where": cp["name"],
                         "assistant": assistant, "sent": handled, "hours": rng.choice((24, 24, 48, 72)),
                         "accepted": handled + _minutes(rng.randint(10, 180)),
                         "staff": unit["staff"][rng.randrange(len(unit["staff"]))],
                         "report": rng.choice(REPORT_NOTES[kind])}
                order["reported"] = order["accepted"] + _lognormal_hours(rng, 8, 0.9, most=60)
                order["approved"] = order["reported"] + _lognormal_hours(rng, 3, 0.9, most=48)
                if handled <= now:
                    orders.append(order)
            else:
                resolution = "持续关注，" + rng.choice(["已提醒责任方", "待复查", "已告知业主"])
                closed = handled + datetime.timedelta(days=rng.randint(3, 20), minutes=rng.randint(0, 600))
                close_note = rng.choice(OBSERVATION_CLOSE_NOTES)
                if handled <= now:
                    finding.update(state="observed", resolution=resolution, resolved_at=handled, version=2)
                    self.event(handled, assistant, "finding", finding_id, "转为需关注", FINDING_STATES["open"],
                               FINDING_STATES["observed"], resolution)
                    observation = dict(zone=cp["zone"], checkpoint=cp["id"], finding=finding_id, what=description,
                                       where=cp["name"], follow_up_by=day + datetime.timedelta(days=7), state="open",
                                       close_note="", created_by=assistant[0], created_at=handled, closed_at=None,
                                       voided_at=None, void_reason="", version=1)
                    self.observation_id += 1
                    observation_id = observation["id"] = self.observation_id
                    self.rows["observation"].append(observation)
                    self.event(handled, assistant, "observation", observation_id, "记录需关注", "", "关注中",
                               f"{cp['name']}：{description}")
                    if closed <= now:
                        observation.update(state="closed", close_note=close_note, closed_at=closed, version=2)
                        self.event(closed, assistant, "observation", observation_id, "关闭需关注", "关注中", "已关闭",
                                   close_note)
            self.rows["finding"].append(finding)
        # Numbers are claimed in the order the 整改单 are sent (all on the day of the check).
        orders.sort(key=lambda o: o["sent"])
        for o in orders:
            self.order(o)

    def order(self, o):
        now, f, unit, assistant = self.now, o["finding"], o["unit"], o["assistant"]
        self.w.order_id += 1
        order_id = self.w.order_id
        sent = o["sent"]
        stamp = (sent + LOCAL).strftime("%Y%m%d")
        self.zg[stamp] = self.zg.get(stamp, 0) + 1
        number = f"ZG{stamp}-{self.zg[stamp]:03d}"
        deadline = sent + _hours(o["hours"])
        row = dict(id=order_id, number=number, source_type="finding", source_id=f["id"], unit=unit["id"],
                   zone_id=f["zone"], location=o["where"][:120], title="整改单",
                   instructions=o["description"], deadline=deadline, state="dispatched", created_by=assistant[0],
                   created_at=sent, accepted_at=None, reported_at=None, report_note="", reported_by="",
                   approved_at=None, rework_count=0, cancelled_at=None, cancel_reason="", version=1)
        self.event(sent, assistant, "workorder", order_id, "派工", "", WO_STATES["dispatched"],
                   f"{unit['name']}：{o['description']}（时限 {local_text(deadline)}）")
        f.update(state="ordered", work_order_id=order_id, version=2)
        self.event(sent, assistant, "finding", f["id"], "派整改单", FINDING_STATES["open"], FINDING_STATES["ordered"],
                   f"{number} → {unit['name']}")
        staff = o["staff"]
        if o["accepted"] <= now:
            row.update(state="working", accepted_at=o["accepted"], version=2)
            self.event(o["accepted"], staff, "workorder", order_id, "接单", WO_STATES["dispatched"],
                       WO_STATES["working"], "")
            self.event(o["accepted"], staff, "finding", f["id"], "整改单接单", "", "", "")
        if o["reported"] <= now:
            row.update(state="reported", reported_at=o["reported"], report_note=o["report"], reported_by=staff[1],
                       version=3)
            self.event(o["reported"], staff, "workorder", order_id, "报完成", WO_STATES["working"],
                       WO_STATES["reported"], o["report"])
            self.event(o["reported"], staff, "finding", f["id"], "整改单报完成", "", "", o["report"])
        if o["approved"] <= now:
            row.update(state="approved", approved_at=o["approved"], version=4)
            self.event(o["approved"], assistant, "workorder", order_id, "验收通过", WO_STATES["reported"],
                       WO_STATES["approved"], "")
            f.update(state="done", resolved_at=o["approved"], resolution=o["report"], version=3)
            self.event(o["approved"], assistant, "finding", f["id"], "整改验收通过", FINDING_STATES["ordered"],
                       FINDING_STATES["done"], f"{number} 已验收")
        self.rows["order"].append(row)

    def event(self, at, actor, record_type, record_id, action, from_state, to_state, note):
        self.rows["event"].append((at.isoformat(" ") if isinstance(at, datetime.datetime) else at, actor[0],
                                   actor[1], record_type, record_id, action, from_state, to_state, note, ""))

    # Writing

    def write_checkpoints(self):
        fields = [getattr(Checkpoint, f) for f in CHECKPOINT_FIELDS]
        _insert(Checkpoint, fields, [tuple(c[f] for f in CHECKPOINT_FIELDS) for c in self.checkpoints])
        for model, records in self.register.items():  # parents first
            fields = [f for f in model._meta.sorted_fields if f.name != "id" or model is Shop]
            _insert(model, fields, [tuple(r.__data__.get(f.name) for f in fields) for r in records])

    def flush(self):
        rows = self.rows
        # Checks and their events are already in the stored form (text dates, 0/1): no conversion.
        _insert_raw(Check, [getattr(Check, f) for f in CHECK_FIELDS], rows["check"])
        _insert(Finding, [getattr(Finding, f) for f in FINDING_FIELDS],
                [tuple(f[name] for name in FINDING_FIELDS) for f in rows["finding"]])
        fields = [getattr(WorkOrder, f) for f in ORDER_FIELDS]
        _insert(WorkOrder, [WorkOrder.id] + fields, [tuple(o[f] for f in ["id"] + ORDER_FIELDS) for o in rows["order"]])
        _insert(Observation, [getattr(Observation, f) for f in OBSERVATION_FIELDS],
                [tuple(o[name] for name in OBSERVATION_FIELDS) for o in rows["observation"]])
        _insert_raw(Event, EVENT_FIELDS, rows["event"])
        for name, items in rows.items():
            self.counts[name] += len(items)
            items.clear()

    def finish(self):
        """Each checkpoint's last day (and last day inside the no-noise window), as record_check keeps them."""
        db.database.cursor().executemany(
            'UPDATE "checkpoint" SET "last_day" = ?, "last_window_day" = ? WHERE "id" = ?',
            [(self.last_day.get(c["id"]), self.last_window_day.get(c["id"]), c["id"]) for c in self.checkpoints
             if c["id"] in self.last_day])


def _flush(world):
    """Write the rows gathered so far, parents first."""
    rows = world.rows
    if rows["ticket"]:
        fields = [getattr(Ticket, f) for f in TICKET_FIELDS]
        data = [tuple(t[f] for f in ["id"] + TICKET_FIELDS) for t in rows["ticket"]]
        _insert(Ticket, [Ticket.id] + fields, data)
    if rows["order"]:
        fields = [getattr(WorkOrder, f) for f in ORDER_FIELDS]
        data = [tuple(o[f] for f in ["id"] + ORDER_FIELDS) for o in rows["order"]]
        _insert(WorkOrder, [WorkOrder.id] + fields, data)
    _insert(TicketText, [TicketText.rowid, TicketText.content], rows["text"])
    _insert(Event, [Event.at, Event.actor_id, Event.actor_name, Event.record_type, Event.record_id, Event.action,
                    Event.from_state, Event.to_state, Event.note, Event.data], rows["event"])
    _insert(FollowUp, [FollowUp.ticket, FollowUp.at, FollowUp.by, FollowUp.method, FollowUp.result, FollowUp.words],
            rows["followup"])
    _insert(Notice, [Notice.user, Notice.record_type, Notice.record_id, Notice.text, Notice.created_at,
                     Notice.read_at], rows["notice"])
    for name, items in rows.items():
        world.counts[name] += len(items)
        items.clear()


def _insert(model, fields, rows):
    """`insert_many` for many rows: peewee writes the statement and converts each value with the
    field's `db_value`, sqlite3 runs it for every row (peewee building one huge statement per
    batch took 85% of the build time)."""
    if not rows:
        return
    sql, _ = model.insert_many(rows[:1], fields=fields).sql()
    convert = [field.db_value for field in fields]
    db.database.cursor().executemany(sql, ([to_db(value) for to_db, value in zip(convert, row)] for row in rows))


BULK = (Event, Check)  # tables whose indexes are built after the rows are in


def _insert_raw(model, fields, rows):
    """`_insert` for rows already in the stored form (dates as text, booleans as 0/1): millions of
    checks and their events, where converting every value would take longer than writing it."""
    if not rows:
        return
    sql, _ = model.insert_many(rows[:1], fields=fields).sql()
    db.database.cursor().executemany(sql, rows)


def default_end():
    """Today at 10:30 in the estate's zone, as naive UTC: the data's "now" (the bench freezes the clock there)."""
    local = datetime.datetime.now(datetime.timezone.utc) + LOCAL
    return datetime.datetime(local.year, local.month, local.day, 10, 30) - LOCAL


def schema_fingerprint():
    """A short hash of the app's tables, columns and indexes: a cached database is rebuilt when they change."""
    import hashlib
    import importlib

    from kefu.db import SCHEMA_MODULES

    tables = []
    for name in SCHEMA_MODULES:
        for model in importlib.import_module(f"kefu.{name}").MODELS:
            # The indexes too: one added to the app would otherwise be built on every working copy of a
            # cached database (minutes for the 3.6 million checks) instead of once, with the rows.
            indexes = sorted(db.database.get_sql_context().sql(query).query()[0]
                             for query in model._schema._create_indexes(safe=True))
            tables.append((model._meta.table_name, [f.column_name for f in model._meta.sorted_fields], indexes))
    return hashlib.sha1(repr(sorted(tables)).encode()).hexdigest()[:8]


def path_for(years, per_year=12000, seed=1):
    return os.path.join(DATA, f"kefu-g{GENERATOR}-{schema_fingerprint()}-{HOUSEHOLDS}hh-{years}y-{per_year}pa-s{seed}"
                              ".sqlite3")


def build(path, years, per_year=12000, seed=1, end=None, quiet=False):
    """Build the database at `path`; returns its description (also written beside it as JSON)."""
    _check_due_after()
    end = end or default_end()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = path + ".partial"
    for leftover in (partial, partial + "-wal", partial + "-shm"):
        if os.path.exists(leftover):
            os.remove(leftover)
    started = time.perf_counter()
    db.init(partial)
    database = db.database
    database.connect(reuse_if_open=True)
    # Building only: nothing here needs to survive a crash, the file is renamed when complete.
    database.execute_sql("PRAGMA synchronous = OFF")
    database.execute_sql("PRAGMA cache_size = -200000")
    # The big tables get their indexes at the end, built at once from sorted rows: inserting millions of
    # rows into them one by one took twice as long. The CREATE INDEX statements are the app's own.
    for model in BULK:
        for _, name, unique, origin, _ in database.execute_sql(
                f'PRAGMA index_list("{model._meta.table_name}")').fetchall():
            if origin == "c" and not unique:
                database.execute_sql(f'DROP INDEX "{name}"')
    with database.atomic():
        estate = _estate(end)
    world = World(end)
    days = int(round(years * 365.25))
    for days_before_end in range(days - 1, -1, -1):
        _day(world, estate, seed, per_year, days_before_end, end)
        if days_before_end % 30 == 0:
            with database.atomic():
                _flush(world)
            if not quiet:
                print(f"\r  {days - days_before_end}/{days} days, {world.counts['ticket']} tickets, "
                      f"{time.perf_counter() - started:.0f} s", end="", file=sys.stderr, flush=True)
    with database.atomic():
        _flush(world)
    tickets_done = time.perf_counter()
    patrols = Patrols(world, estate, seed, days, end)
    with database.atomic():
        patrols.fixed()
        patrols.plan_renovations(days)
        patrols.write_checkpoints()
    for days_before_end in range(days - 1, -1, -1):
        patrols.day(days_before_end)
        if days_before_end % 30 == 0:
            with database.atomic():
                patrols.flush()
            if not quiet:
                print(f"\r  patrols: {days - days_before_end}/{days} days, {patrols.counts['check']} checks, "
                      f"{time.perf_counter() - started:.0f} s", end="", file=sys.stderr, flush=True)
    with database.atomic():
        patrols.flush()
        patrols.finish()
        Sequence.insert_many([(f"KS{day}", n) for day, n in world.ks.items()]
                             + [(f"PD{day}", n) for day, n in world.pd.items()]
                             + [(f"ZG{day}", n) for day, n in patrols.zg.items()],
                             fields=[Sequence.key, Sequence.value]).execute()
    patrols_done = time.perf_counter()
    with database.atomic():
        for model in BULK:
            model._schema.create_indexes(safe=True)
    indexes_done = time.perf_counter()
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    seconds = time.perf_counter() - started
    if not quiet:
        print(file=sys.stderr)
    counts = {"households": HOUSEHOLDS, "tickets": world.counts["ticket"],
              "work_orders": world.counts["order"] + patrols.counts["order"],
              "events": world.counts["event"] + patrols.counts["event"], "followups": world.counts["followup"],
              "notices": world.counts["notice"], "checkpoints": len(patrols.checkpoints),
              "renovations": len(patrols.renovations), "checks": patrols.counts["check"],
              "findings": patrols.counts["finding"], "rectification_orders": patrols.counts["order"],
              "observations": patrols.counts["observation"], "shops": len(patrols.register[Shop]),
              "licences": len(patrols.register[Licence]), "urgings": len(patrols.register[Urging])}
    os.replace(partial, path)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(partial + suffix):
            os.remove(partial + suffix)
    meta = {"path": os.path.relpath(path, ROOT), "years": years, "tickets_per_year": per_year, "seed": seed,
            "end_utc": end.isoformat(), "end_local": (end + LOCAL).isoformat(), "counts": counts,
            "build_seconds": round(seconds, 1), "patrol_seconds": round(patrols_done - tickets_done, 1),
            "index_seconds": round(indexes_done - patrols_done, 1),
            "built_at": datetime.datetime.now().isoformat(timespec="seconds"),
            "size_mb": round(os.path.getsize(path) / 2 ** 20, 1), "nproc": os.cpu_count()}
    with open(path + ".json", "w") as handle:
        json.dump(meta, handle, ensure_ascii=False, indent=2)
    return meta


def ensure(years, per_year=12000, seed=1, rebuild=False, quiet=False):
    """The database for these parameters, built unless a complete one is cached. Returns its description."""
    path = path_for(years, per_year, seed)
    if not rebuild and os.path.exists(path) and os.path.exists(path + ".json"):
        with open(path + ".json") as handle:
            meta = json.load(handle)
        meta["reused"] = True
        return meta
    if not quiet:
        print(f"building {os.path.relpath(path, ROOT)} ({years} years × {per_year} tickets)…", file=sys.stderr)
    meta = build(path, years, per_year, seed, quiet=quiet)
    meta["reused"] = False
    return meta


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--per-year", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild", action="store_true", help="build even if a cached database exists")
    args = parser.parse_args(argv)
    for years in args.years:
        meta = ensure(years, args.per_year, args.seed, rebuild=args.rebuild)
        print(json.dumps(meta, ensure_ascii=False))


if __name__ == "__main__":
    main()
