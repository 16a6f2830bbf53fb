"""Fill a database with a 5,000-household estate and years of history in every area, for the benchmark.

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

Each renovation checkpoint belongs to a renovation of the register (`renovations`): registered (申请)
1–5 days before it starts, with the owner, the contractor (or 自装), a permit numbered per year
(ZX2026-017), planned dates, deposit, allowed hours and works; started (开工) on its first day, which
makes its checkpoint as `renovations.start` does (named "3-2-1502 装修（登记17）", pointing back at the
entry, owed from that day and open-ended until finished); finished (完工) on its last day, accepted
(验收) a few days later once its violations are closed, and mostly archived (归档). About 8 are under
way in each zone on any day (about 420 registered a year) and a few have registered but not started.
40 % of the patrol findings at a renovation and a neighbour's complaint at 12 % of renovations become
violations (about 220 a year): 劝阻 and closed for most, the others an 整改通知书 numbered per year from
the app's one series (〔2026〕第0064号), served (拒签 before a witness now and then), re-checked after its
deadline and closed, or reported by the supervisor to the 居委会, 业委会 or 房地办 (about 23 a year)
and closed after its reply.

Customer communication (`customers`, `services`): the service catalogue and 6 % of households with a
profile (独居老人, 有婴幼儿 …), from before the data; two or three visits a working day by each assistant
(0–2 at weekends, a community activity now and then), in the morning and evening windows mostly,
tagged with the windows as `VisitRules.windows` tags them (checked against it), each with one to three
opinions and the visit's and households' events (about 7,400 visits a year); every request taken on a
visit (channel 拜访) has its visit just before it, the opinion linked to it as `link_ticket` links
them. Service needs said on a visit become needs (and a latent need is noted now and then at a tagged
household), answered 可提供, 不能提供 or 待研究 and later (about 580 a year); 可提供 becomes a service
order (FW20261127-003), as do about two a day taken directly (about 1,070 a year): the time agreed
(confirmed by the unit for 家电清洗), the PD work order to the unit accepted, reported and inspected, the
call-back, 不满意 sending it round again; a few cancelled.

The assistants (`meetings`, `evaluations`, `summaries`): the weekly department meeting with its minutes
and attendance, the business units' in the first week of each month, a special one now and then; each
assistant's start in the assistant service model (about 9¾ years before the end; zhuli9 14 months,
zhuli10 4 months) and every evaluation since, monthly for six months then quarterly, scored and signed
off a few working days after the period (a unit head scoring 团队协作 in a quarter of them); a monthly
summary of every whole month, submitted in the first days of the next and signed off. What a signed
evaluation or summary stores is what `evaluations.sheet` and `summaries.figures` compute from the
records, run once every record is in (the summaries' patrol coverage counted from the checks as they
are made, checked against `trends.coverage`): the figures as of the end of the data rather than of
the signing, a difference only for records changed after the signing.

Each day's tickets, checks and visits come from random generators seeded by (seed, days before the
end), each renovation from the day it starts, each evaluation, summary and meeting from its period, so
the last year of the 10-year database is the same as the 1-year database: the benchmark compares the
same current workload on top of one or ten years of history. Compared by content (ids differ): the
same visits, needs, service orders, renovations, violations, notices (with their numbers), referrals,
meetings, evaluations and summaries in the last year of both, but for the first weeks (a request or a
renovation begun before the 1-year database's first day, the return visits of the first month).

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

from dateutil.relativedelta import relativedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from stdnum.cn import uscc  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from kefu import clock  # noqa: E402
from kefu import db  # noqa: E402
from kefu import evaluations as evaluation_rules  # noqa: E402
from kefu import summaries as summary_rules  # noqa: E402
from kefu import trends  # noqa: E402
from kefu import words  # noqa: E402
from kefu.callbacks import CallBack  # noqa: E402
from kefu.customers import NEED_KINDS  # noqa: E402
from kefu.customers import OUTCOMES as NEED_OUTCOMES  # noqa: E402
from kefu.customers import HouseholdProfile  # noqa: E402
from kefu.customers import Need  # noqa: E402
from kefu.customers import Opinion  # noqa: E402
from kefu.customers import Visit  # noqa: E402
from kefu.customers import VisitHousehold  # noqa: E402
from kefu.customers import VisitRules  # noqa: E402
from kefu.demo import ACTIVITIES  # noqa: E402
from kefu.demo import ASKED  # noqa: E402
from kefu.demo import COMPLAINTS  # noqa: E402
from kefu.demo import GARBAGE_CLAUSE  # noqa: E402
from kefu.demo import HOURS_CLAUSE  # noqa: E402
from kefu.demo import PRAISES  # noqa: E402
from kefu.demo import PUBLIC_CLAUSE  # noqa: E402
from kefu.demo import SERVICE_ITEMS  # noqa: E402
from kefu.demo import SUGGESTIONS  # noqa: E402
from kefu.demo import TAG_SAYINGS  # noqa: E402
from kefu.demo import VISIT_NOTES  # noqa: E402
from kefu.estate import Building  # noqa: E402
from kefu.estate import Estate  # noqa: E402
from kefu.estate import Household  # noqa: E402
from kefu.estate import Place  # noqa: E402
from kefu.estate import Zone  # noqa: E402
from kefu.estate import ZoneAssistant  # noqa: E402
from kefu.estate import ZoneBuilding  # noqa: E402
from kefu.estate import room_number  # noqa: E402
from kefu.evaluations import KINDS as EVALUATION_KINDS  # noqa: E402
from kefu.evaluations import Evaluation  # noqa: E402
from kefu.evaluations import EvaluationItem  # noqa: E402
from kefu.evaluations import EvaluationSettings  # noqa: E402
from kefu.evaluations import ServiceStart  # noqa: E402
from kefu.evaluations import UnitReview  # noqa: E402
from kefu.events import Event  # noqa: E402
from kefu.meetings import Action  # noqa: E402
from kefu.meetings import Attendance  # noqa: E402
from kefu.meetings import Meeting  # noqa: E402
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
from kefu.renovations import CONSEQUENCE  # noqa: E402
from kefu.renovations import STATES as RENOVATION_STATES  # noqa: E402
from kefu.renovations import VIOLATION_STATES  # noqa: E402
from kefu.renovations import WORKS  # noqa: E402
from kefu.renovations import NoticeViolation  # noqa: E402
from kefu.renovations import RectificationNotice  # noqa: E402
from kefu.renovations import Referral  # noqa: E402
from kefu.renovations import Renovation  # noqa: E402
from kefu.renovations import Violation  # noqa: E402
from kefu.sequences import Sequence  # noqa: E402
from kefu.services import STATES as SERVICE_STATES  # noqa: E402
from kefu.services import ServiceItem  # noqa: E402
from kefu.services import ServiceOrder  # noqa: E402
from kefu.shops import URGE_METHODS  # noqa: E402
from kefu.shops import Licence  # noqa: E402
from kefu.shops import Operator  # noqa: E402
from kefu.shops import Shop  # noqa: E402
from kefu.shops import ShopVersion  # noqa: E402
from kefu.shops import Urging  # noqa: E402
from kefu.shops import _snapshot as shop_snapshot  # noqa: E402
from kefu.summaries import MonthlySummary  # noqa: E402
from kefu.tickets import STATES  # noqa: E402
from kefu.tickets import Ticket  # noqa: E402
from kefu.tickets import Tier  # noqa: E402
from kefu.users import Unit  # noqa: E402
from kefu.users import User  # noqa: E402
from kefu.workorders import STATES as WO_STATES  # noqa: E402
from kefu.workorders import WorkOrder  # noqa: E402

DATA = os.path.join(ROOT, "bench", "data")
# Part of the cached file's name: bump it when the generated rows change, so old files aren't reused.
GENERATOR = 7
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
        # Requests taken from what was said on a visit (channel 拜访), by (local day, zone): the visits
        # are written after the tickets, each just before its request.
        self.visit_tickets = {}

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
            case_prevention="", voided_at=None, void_reason="", version=1,
            link_token=f"{rng.getrandbits(128):032x}")
        handed = f"，转交 {assignee[1]}" if creator is not assignee else ""
        self.event(self.created, creator, "受理", to_state=STATES["received"],
                   note=f"{channel} · {category} · {tier} · {location}{handed}\n{description}")
        if tier_row["notify"]:
            self.notice(self.created, e["supervisors"], f"{tier}诉求 {t['number']}：{location} {description[:40]}")
        w.rows["text"].append((t["id"], " ".join([t["number"], location, customer, category, description])))
        if channel == "拜访" and household is not None:
            w.visit_tickets.setdefault(((self.created + LOCAL).date(), zone), []).append(dict(
                id=t["id"], number=t["number"], created=self.created, household=household["id"],
                category=category, description=description))

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


def _order_values(order):
    """A generated work order's row in ORDER_FIELDS order: a foreign key may be given by its column
    name (zone_id), and a field the generator doesn't set takes its default (rework_reason)."""
    return (order["id"], *(_field_value(WorkOrder._meta.fields[name], order) for name in ORDER_FIELDS))


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
REGISTER_AHEAD = 5         # registered 1–5 days before it starts
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
        # The renovation register behind the renovation checkpoints (see `plan_renovations`), the
        # findings at renovations (some become violations) and, per (zone, day ordinal), how many daily
        # checkpoints were checked (the monthly summaries' coverage).
        self.register_plan, self.renovation_findings, self.daily_checked = [], [], {}

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
            token=_token(rng), note="", source_type=source[0], source_id=source[1], active_from=active_from,
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
        last year are the same in every database. Starts go back far enough to cover the first day, and
        further for the households still renovating (a household has one renovation at a time: the
        register refuses a second, so a planned one goes to the next household of the zone that is free).

        Each is registered (申请) 1–5 days before it starts, and started (开工) on its first day, which
        makes its checkpoint, as `renovations.start` does: named with the register entry's id, pointing
        back at it, owed from that day and open-ended until the renovation is finished (完工) on its last
        day. Those due to start in the next days are registered only. Permits are numbered per year in the
        order registered, counting the renovations that ended before the data begins: planning starts on
        1 January, so every database numbers a renovation alike."""
        longest = RENOVATION_DAYS[1]
        households, position = {}, {}
        for h in self.e["households"]:
            homes = households.setdefault(self.e["zone_of_building"][h["building"]], [])
            position[h["id"]] = len(homes)
            homes.append(h)
        busy, planned, registrations = {}, [], []
        horizon = (self.first_day - datetime.timedelta(days=2 * longest + REGISTER_AHEAD)).replace(month=1, day=1)
        for before in range((self.end_day - horizon).days, -REGISTER_AHEAD - 1, -1):
            rng = random.Random(f"{self.seed}:{PATROL_SEED}:renovation:{before}")
            start = self.end_day - datetime.timedelta(days=before)
            for zone in self.e["zones"]:
                if rng.random() >= RENOVATION_START:
                    continue
                length = rng.randint(*RENOVATION_DAYS)
                household = rng.choice(households[zone])
                registered = rng.randint(1, 5)
                until = start + datetime.timedelta(days=length - 1)
                homes, index = households[zone], position[household["id"]]
                applied_on = start - datetime.timedelta(days=registered)
                while busy.get(homes[index]["id"], datetime.date.min) >= applied_on:
                    index = (index + 1) % len(homes)
                household = homes[index]
                busy[household["id"]] = until
                token_rng = random.Random(f"{self.seed}:{PATROL_SEED}:renovation:{before}:{zone}")
                created = (datetime.datetime.combine(applied_on, datetime.time(15)) - LOCAL
                           + datetime.timedelta(seconds=token_rng.randint(0, 7200),
                                                microseconds=token_rng.randint(1, 999999)))
                if created > self.now:
                    continue
                registrations.append((created, zone, before))
                if until < self.first_day:
                    continue
                planned.append(dict(before=before, zone=zone, household=household, start=start, until=until,
                                    created=created, token_rng=token_rng,
                                    assistant=self.e["assistant_of_zone"][zone]))
        # The register's ids in the order the renovations were registered; the permits' numbers.
        for rid, r in enumerate(sorted(planned, key=lambda r: (r["created"], r["zone"])), 1):
            r["rid"] = rid
        permits, counted = {}, {}
        for created, zone, before in sorted(registrations):
            year = (created + LOCAL).year
            counted[year] = counted.get(year, 0) + 1
            permits[before, zone] = f"ZX{year}-{counted[year]:03d}"
        for r in planned:
            r["permit"] = permits[r["before"], r["zone"]]
        for r in planned:  # in the order they start (then zone): the checkpoints' order
            rng = random.Random(f"{self.seed}:{PATROL_SEED}:register:{r['before']}:{r['zone']}")
            r["rng"] = rng
            started = (datetime.datetime.combine(r["start"], datetime.time(7, 30)) - LOCAL
                       + datetime.timedelta(seconds=rng.randint(0, 1799), microseconds=rng.randint(1, 999999)))
            finished = (datetime.datetime.combine(r["until"], datetime.time(18)) - LOCAL
                        + datetime.timedelta(seconds=rng.randint(0, 1799), microseconds=rng.randint(1, 999999)))
            r["started"] = started if started <= self.now else None
            r["finished"] = finished if finished <= self.now else None
            r["cp"] = None
            if r["started"] is not None:
                household = r["household"]
                cp = self.checkpoint(
                    "renovation", f"{household['code']} 装修（登记{r['rid']}）", r["zone"], "renovation",
                    "engineering", household=household["id"], created_at=started, created_by=r["assistant"],
                    active_from=r["start"], active_until=r["until"] if r["finished"] else None,
                    rng=r["token_rng"], key=(1, -r["before"], r["zone"]), source=("renovation", r["rid"]))
                cp["until"] = r["until"]  # checked to its last day, whether finished by now or not
                self.renovations.append(cp)
                r["cp"] = cp
            self.register_plan.append(r)

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
        daily = {}  # daily checkpoints checked today → their zone
        for seconds, _, cp in planned:
            if seconds > limit:
                break
            if cp["kind"] != "public":
                daily[cp["id"]] = cp["zone"]
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
        for zone in daily.values():
            self.daily_checked[zone, ordinal] = self.daily_checked.get((zone, ordinal), 0) + 1
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
                           note=note, state="open", handed_to="", handed_id=None, resolution="", created_by=assistant[0],
                           created_at=at, resolved_at=None, version=1)
            self.event(at, assistant, "finding", finding_id, "巡查发现问题", "", FINDING_STATES["open"], description)
            if cp["kind"] == "renovation":  # some become violations of the renovation (see Register)
                self.renovation_findings.append((day, cp, finding))
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
                    finding.update(state="observed", handed_to="observation", version=2)
                    self.event(handled, assistant, "finding", finding_id, "转为需关注", FINDING_STATES["open"],
                               FINDING_STATES["observed"], resolution)
                    observation = dict(zone=cp["zone"], checkpoint=cp["id"], finding=finding_id, what=description,
                                       where=cp["name"], follow_up_by=day + datetime.timedelta(days=7), state="open",
                                       close_note="", created_by=assistant[0], created_at=handled, closed_at=None,
                                       voided_at=None, void_reason="", version=1)
                    self.observation_id += 1
                    observation_id = observation["id"] = self.observation_id
                    self.rows["observation"].append(observation)
                    finding.update(handed_id=observation_id)
                    self.event(handled, assistant, "observation", observation_id, "记录需关注", "", "关注中",
                               f"{cp['name']}：{description}")
                    if closed <= now:
                        observation.update(state="closed", close_note=close_note, closed_at=closed, version=2)
                        self.event(closed, assistant, "observation", observation_id, "关闭需关注", "关注中", "已关闭",
                                   close_note)
                        finding.update(state="closed", resolution=close_note, resolved_at=closed, version=3)
                        self.event(closed, assistant, "finding", finding_id, "需关注已关闭", FINDING_STATES["observed"],
                                   FINDING_STATES["closed"], close_note)
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
        f.update(state="ordered", handed_to="workorder", handed_id=order_id, version=2)
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
        _insert(WorkOrder, [WorkOrder.id] + fields, [_order_values(o) for o in rows["order"]])
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


# The areas after the patrols: customer communication (visits, needs, personal services), the
# renovation register behind the renovation checkpoints, and the assistants' meetings, evaluations and
# monthly summaries. Each writes rows and events as its rules do; each day (or period) from a generator
# seeded by its place in time, so the last year is again the same in every database.

VISITS_WORKDAY = [2, 2, 3]   # visits a day by each assistant on a working day…
VISITS_REST = [0, 1, 1, 2]   # …and at weekends and on public holidays
OUT_OF_WINDOW = [(10, 30), (15, 0), (14, 20), (16, 10), (11, 0)]  # a visit outside the windows, now and then
OPINIONS = [("表扬", 30), ("建议", 30), ("意见", 25), ("服务需求", 15)]
ENCOUNTER_PLACES = ["中心绿地", "快递柜旁", "南门出入口", "北门出入口", "会所门口", "地库电梯口", "儿童游乐区", "单元门口"]
PROFILE_SHARE = 0.06         # households with a profile (tags such as 独居老人)
PROFILE_TAGS = [("独居老人", 30), ("有婴幼儿", 25), ("养宠物", 20), ("租户", 15), ("行动不便", 10)]
CONTACT_TIMES = ["工作日晚上 7 点后", "周末全天", "上午 9–11 点", "下午 3 点后", "随时可以", "请先微信联系"]
NEED_FROM_OPINION = 0.6      # a service need said on a visit that is written down as a need
LATENT_SHARE = 0.06          # a visit to a tagged household that notes a latent need
# Needs residents say: (topic, what they said, the need as written down, the service item or None).
NEEDS = [
    ("代购代办", "腿脚不方便，想请人帮忙买点菜和日用品", "每周代买一次蔬菜和日用品", "代购代办"),
    ("代购代办", "手机上交物业费不会弄，每次都得跑一趟服务中心", "代缴物业费、水电费", "代购代办"),
    ("家电清洗", "家里空调好几年没洗了，开起来有股味道", "上门清洗空调挂机两台", "家电清洗"),
    ("家电清洗", "油烟机吸力越来越小，想请人来洗一下", "上门清洗油烟机", "家电清洗"),
    ("家政保洁", "过年前想请人来家里做个大扫除", "上门大扫除一次，约 4 小时", "家政保洁"),
    ("家政保洁", "刚装修完，家里到处是灰，想请人打扫", "装修后开荒保洁", "家政保洁"),
    ("搬运", "有个旧衣柜想搬到楼下，一个人搬不动", "旧衣柜搬到楼下大件垃圾点", "搬运"),
    ("代收快递", "白天上班不在家，快递能不能先放服务中心", "快递代收，下班后到前台取", "代收快递"),
    ("其他", "阳台上的花草长虫了，不知道怎么弄", "阳台绿植除虫、修剪", "绿植养护"),
    ("陪护照看", "老伴住院了，白天家里只有我一个人，有点担心", "每天上午上门看望一次", None),
    ("健康关怀", "小区里能不能定期有人来量量血压", "定期上门测量血压", None),
    ("社区活动", "孩子放假在家，希望周末有些亲子活动", "周末组织亲子活动", None),
    ("家电维修", "热水器老是打不着火，不知道找谁修", "热水器上门维修", None),
    ("陪护照看", "家里老人腿脚不好，想有人陪着在小区里转转", "周末陪老人在小区散步", None),
]
# Latent needs an assistant notes at a tagged household: tag → [(topic, what, service item or None)].
LATENT = {
    "独居老人": [("代购代办", "独居，子女不在身边，买菜、配药不方便", "代购代办"), ("健康关怀", "独居老人，需定期关注身体状况", None)],
    "行动不便": [("陪护照看", "行动不便，出门需要有人陪同", None), ("搬运", "行动不便，大件物品搬运有困难", "搬运")],
    "有婴幼儿": [("社区活动", "家有婴幼儿，关注亲子活动和游乐设施", None), ("家政保洁", "家有婴幼儿，家务繁重", "家政保洁")],
    "养宠物": [("其他", "养犬，关注宠物便便箱和遛狗区域", None)],
    "租户": [("家电维修", "租户，房东联系不上时家电坏了无人修", None), ("代收快递", "租户白天上班，快递常无人签收", "代收快递")],
}
NEED_STUDIES = {
    "陪护照看": "与社区养老服务站联系，看能否安排志愿者定期上门", "健康关怀": "与社区卫生服务中心联系，看能否每月上门量血压",
    "社区活动": "列入下季度社区活动计划，与业委会商量场地", "家电维修": "联系品牌售后，看能否签约上门维修",
}
NEED_DECLINES = [("服务中心暂无这项服务的专业人员", "客户表示理解，会另找专业机构"),
                 ("该项服务涉及安全责任，服务中心不能提供", "已安抚，客户表示理解"),
                 ("人手不足，暂时无法安排", "客户有些失望，已留意后续能否提供"),
                 ("超出物业服务范围", "已推荐附近的正规服务商，客户满意")]
DIRECT_SERVICE = 0.22        # a service order taken directly (a call, the front desk) in a zone on a day
DIRECT_ITEMS = [("上门开锁", 10), ("管道疏通", 20), ("家政保洁", 18), ("家电清洗", 20), ("代收快递", 5),
                ("代购代办", 5), ("搬运", 12), ("绿植养护", 10)]
SERVICE_REQUESTS = {
    "上门开锁": ["钥匙锁在家里了，请尽快上门开锁", "入户门锁打不开，钥匙插不进去", "防盗门反锁了，老人在外面进不去"],
    "管道疏通": ["厨房水槽下水很慢，基本堵住了", "卫生间马桶堵了", "洗衣机排水口反水"],
    "家政保洁": ["家里做一次大扫除", "每周一次日常保洁，两小时", "擦窗户和纱窗"],
    "家电清洗": ["清洗空调挂机两台", "清洗油烟机", "清洗空调挂机一台和油烟机"],
    "代收快递": ["出差一周，快递请代收", "有一个大件快递下午到，家里没人"],
    "代购代办": ["代买降压药，医保卡已交前台", "代缴本季度水电费", "代买米和油送上门"],
    "搬运": ["旧沙发搬到楼下大件垃圾点", "几箱书搬到地下室储藏间", "新买的衣柜从楼下搬上楼"],
    "绿植养护": ["阳台几盆花长虫了", "绿萝换盆、修剪"],
}
SERVICE_REPORTS = {
    "上门开锁": ["已核对身份证件，开锁完成", "已核对住户登记信息后开锁，锁具正常"],
    "管道疏通": ["已疏通下水管道，排水正常", "已疏通马桶，试冲正常", "已清理排水口杂物，不再反水"],
    "家政保洁": ["保洁完成，客户已查看", "已完成擦窗及地面清洁"],
    "家电清洗": ["已拆洗空调挂机并试机正常", "已拆洗油烟机，吸力恢复"],
    "代收快递": ["已代收快递，已短信通知客户", "快递已放前台，客户已取走"],
    "代购代办": ["已代购并送货上门", "已代缴费用，票据已交客户"],
    "搬运": ["已搬运到指定地点", "已搬运完毕，楼道已清扫"],
    "绿植养护": ["已修剪并喷药除虫", "已换盆修剪"],
}
SERVICE_REJECTS = ["客户反映还有点堵", "现场没有清理干净", "客户说还有异味", "有一处没有处理到"]
SERVICE_CANCELS = ["客户自己处理好了", "客户临时出差，不需要了", "客户找了别家", "重复登记"]
CALLBACK_WORDS = {"满意": ["师傅很专业，谢谢", "很及时", "", "", ""], "基本满意": ["来得有点晚", "价格有点贵", ""],
                  "不满意": ["没弄干净，还得再来一趟", "用了两天又堵了", "师傅态度不好"]}

COMPANIES = ["好家装饰", "金螳螂家装", "美家装饰", "鑫达装饰", "宏图装饰", "东易日盛", "业之峰装饰", "沪佳装饰", "安居装潢",
             "百姓装潢", "聚美装饰", "一品装饰"]
DEPOSITS = [2000, 3000, 3000, 5000, 5000, 10000]
ALLOWED_HOURS = "工作日 8:00–12:00、14:00–18:00"
FINISH_NOTES = ["施工队报完工，已撤场", "已完工，公共部位保护已拆除", "", ""]
ACCEPT_NOTES = ["验收合格：拆改与登记图纸一致，公共部位无损坏，装修押金按协议退还",
                "验收合格，押金已退还", "验收合格：无违规拆改，楼道已清理干净，押金退还"]
VIOLATION_FROM_FINDING = 0.4  # a patrol finding at a renovation also recorded as a violation
DIRECT_VIOLATION = 0.12       # a renovation with a violation reported by a neighbour
ITEM_VIOLATIONS = {"施工时间符合规定": "超时施工", "无拆改承重结构": "违规拆改", "装修垃圾及时清运": "垃圾乱堆",
                   "噪音控制": "噪音扰民"}  # other items are 其他
CLAUSES = {"超时施工": HOURS_CLAUSE, "噪音扰民": HOURS_CLAUSE, "垃圾乱堆": GARBAGE_CLAUSE, "占用公共部位": PUBLIC_CLAUSE,
           "违规拆改": "《装修管理服务协议》第四条：不得拆改承重结构、破坏防水层"}
DIRECT_VIOLATIONS = [("噪音扰民", "周末上午电钻声很大，楼下住户投诉", 9), ("超时施工", "晚上七点后仍在切割瓷砖，邻居反映", 19),
                     ("超时施工", "午休时段仍在敲墙，楼上住户投诉", 12), ("垃圾乱堆", "装修垃圾堆放在单元门口，未按时清运", 16),
                     ("占用公共部位", "瓷砖和水泥堆放在电梯厅，影响通行", 10), ("违规拆改", "邻居反映疑似在拆改承重墙", 14)]
DISSUADE_OUTCOMES = ["已当场劝阻，施工队停止作业", "已劝阻，施工负责人承诺立即整改", "已当面告知施工负责人，对方答应当天处理",
                     "已电话告知业主，业主表示会督促施工队"]
CLOSE_NOTES = ["复查已整改到位，结案", "次日复查未再发现，结案", "施工队已按要求整改，结案"]
DEMANDS = {"超时施工": "严格遵守允许施工时间，午休及节假日不得进行产生噪音的施工",
           "噪音扰民": "严格遵守允许施工时间，控制施工噪音",
           "垃圾乱堆": "立即清运楼道内的装修垃圾；今后装修垃圾须袋装并于当天清运至指定堆放点",
           "占用公共部位": "立即将堆放在公共部位的装修材料搬入户内，恢复公共部位畅通",
           "违规拆改": "立即停止拆改承重结构，恢复原状，并提交结构安全鉴定"}
DEFAULT_DEMAND = "请立即停止违规行为，并在期限内整改完毕，恢复原状。"
ITEM_DEMANDS = {"公共部位已保护": "立即对电梯轿厢、楼道等公共部位做好成品保护，损坏的照价赔偿",
                "消防器材配备": "施工现场须配备有效的灭火器，动火作业须办理动火审批",
                "施工人员证件": "施工人员须办理装修出入证后方可进场施工"}
WITNESSES = ["孙海涛（安保部）", "周队长（安保部）"]
RECHECK_OK = ["已整改到位", "复查时已清理完毕", "已停止违规施工，现场恢复"]
RECHECK_NOT = ["复查时仍未整改", "材料仍堆放在公共部位", "仍在违规时段施工"]
BODY_WEIGHTS = [("居委会", 50), ("业委会", 30), ("区房屋土地管理局相关办事处", 20)]
REPLIES = {"居委会": "居委会已上门约谈业主，业主同意三日内整改完毕", "业委会": "业委会已书面提醒业主，要求按协议整改",
           "区房屋土地管理局相关办事处": "房地办已派员现场检查，责令施工单位限期整改"}

MEETING_TOPICS = [
    ("周例会：上周诉求回顾", "上周诉求均在时限内响应；回访不满意的由主管跟进。", ["整理上周案例，下次例会分享"]),
    ("周例会：装修巡查", "装修户每天须在午休无噪音时段内巡查一次，发现超时施工当场劝阻。", ["核对各区装修户的施工许可有效期"]),
    ("周例会：商铺执照", "无照经营的商铺每周督促一次，月底仍未办理的上报。", []),
    ("周例会：早晚拜访", "早 7–9 点、晚 18–19 点拜访，独居老人每两周至少拜访一次。", ["汇总独居老人代购需求"]),
    ("周例会：个性化服务", "收费项目按服务项目标准告知客户，并在服务单上记录。", []),
    ("周例会：季节性工作", "入冬前检查各楼栋水管保温；雨季前排查雨水管。", ["通知工程部检查屋面水箱保温"]),
    ("周例会：公共部位", "楼道杂物每周清理一次，堆放不清的发整改单。", []),
    ("周例会：回访满意度", "回访满意率保持在 95% 以上，不满意的 24 小时内上门。", ["回访不满意名单交主管"]),
]
UNIT_TOPICS = [("与业务块协调返工", "整改单验收不通过的，业务块须在 24 小时内返工。", ["工程部复核地库照明线路"]),
               ("与业务块协调派工时限", "紧急诉求派工后 30 分钟内接单。", []),
               ("与业务块协调保洁排班", "高峰时段增加楼道和电梯的保洁频次。", ["保洁部调整周末排班"])]
SPECIAL_TOPICS = [("专题会议：消防安全检查", "各区配合安保部做好消防设施检查。", ["检查各楼栋灭火器有效期"]),
                  ("专题会议：台风防汛", "台风来临前加固招牌、清理雨水口。", ["地库挡水板就位"]),
                  ("专题会议：春节值班安排", "春节期间每天安排一名客户助理值班。", [])]

EVALUATION_LAUNCH_DAYS = 3560   # the assistant service model began about 9 3/4 years before the end…
LATE_STARTS = {8: 14, 9: 4}     # …but zhuli9 started in it 14 months ago and zhuli10 4 months ago
EVALUATION_REVIEW = 0.25        # a unit head asked to score 团队协作
EVALUATION_OWN_COMMENT = 0.3
EVALUATION_COMMENTS = ["诉求响应及时，回访到位；现场巡查记录可以更细一些。", "拜访工作扎实，客户表扬多；工作记录偶有补录，建议当天记当天。",
                       "装修管理把关严格，违规施工能及时制止并留存证据。", "商铺执照督办完成率高，整改通知书送达规范。",
                       "本期表现稳定，能独立处理复杂投诉。", "诉求跟踪有几件超过时限未回复，要设好提醒。",
                       "例会汇报条理清楚，团队协作积极。", "巡查覆盖率高，发现的问题当天派单，闭环及时。"]
ITEM_NOTES = {"现场品质监督": "装修巡查未按要求拍照留档", "客户沟通与拜访": "独居老人全部走访", "工作记录与总结": "月度总结按时提交",
              "诉求响应与跟踪": "个别诉求超时响应", "商铺与装修管理": "违规施工制止及时"}
OWN_COMMENTS = ["同意主管的评价，下期改进。", "感谢主管的肯定，会继续努力。", "巡查记录会按要求补齐照片。"]
SUMMARY_TEXTS = ["本月以现场巡查和早晚拜访为主：安保岗位、商铺和装修户每天巡查，发现的问题当天派整改单或当场解决。",
                 "本月诉求以工程维修为主，均按时限响应；回访不满意的已重新处理并再次回访。",
                 "本月拜访以独居老人和新入住住户为主，收集的需求已逐条答复。",
                 "本月装修户较多，午休时段施工时有发生，已加强无噪音时段巡查。",
                 "本月商铺执照督办按周进行，无照经营的已发整改通知。"]
SOLUTIONS = ["装修户午休时段施工：巡查时间固定在 12:00–14:00，发现即劝阻并拍照，两次以上的发整改通知书。",
             "地库照明：请工程部按季度巡检灯具，巡查表增加地库照明一项。",
             "楼道杂物：每周五集中清理一次，长期堆放的通知业主限期搬走。",
             "绿化带垃圾：与保洁部商定每天早晚各巡一次。"]
SUMMARY_COMMENTS = ["总结实在，下月继续保持。", "巡查发现的问题闭环及时，值得肯定。", "案例分析到位，可在例会上分享。",
                    "拜访数量达标，需求答复要更及时。", "请把独居老人的需求汇总成方案。"]


def _utc(day, hour, minute=0):
    """A local time on `day` (the minutes may run past the hour), as naive UTC."""
    return datetime.datetime.combine(day, datetime.time()) + datetime.timedelta(hours=hour, minutes=minute) - LOCAL


def _micro(rng):
    """Seconds and microseconds as the app's clock writes them."""
    return datetime.timedelta(seconds=rng.randint(0, 59), microseconds=rng.randint(1, 999999))


_KINDS_OF_DAYS = {}


def _day_kind(day):
    kind = _KINDS_OF_DAYS.get(day)
    if kind is None:
        kind = _KINDS_OF_DAYS[day] = clock.day_kind(day)
    return kind


def _workday(day):
    """`day`, or the first working day after it."""
    while _day_kind(day)[0] != "workday":
        day += datetime.timedelta(days=1)
    return day


def _working_time(moment):
    """`moment`, moved into the service centre's day (8:00–19:00 local): a later hour goes to the next
    morning, keeping its minutes."""
    local = moment + LOCAL
    if local.hour < 8:
        return moment + datetime.timedelta(hours=8 - local.hour)
    if local.hour >= 19:
        return moment + datetime.timedelta(hours=24 + 9 - local.hour)
    return moment


def _windows(at):
    """`VisitRules.windows` with the default rules, for a naive-UTC moment (checked against the app's
    own in `_check_windows`)."""
    local = at + LOCAL
    time_ = local.time()
    found = []
    if datetime.time(7) <= time_ < datetime.time(9):
        found.append("早间")
    if datetime.time(18) <= time_ < datetime.time(19):
        found.append("晚间")
    if not datetime.time(7) <= time_ < datetime.time(19):
        return found
    kind, name = _day_kind(local.date())
    if kind == "holiday":
        found.append(f"节假日（{name}）")
    elif kind == "weekend":
        found.append("双休日")
    return found


def _check_windows(start_day):
    rules = VisitRules.current()
    rng = random.Random(11)
    for _ in range(400):
        at = _utc(start_day + datetime.timedelta(days=rng.randint(0, 3700)), rng.randint(5, 21), rng.randint(0, 59))
        theirs = rules.windows(clock.aware(at))
        assert _windows(at) == theirs, (at, _windows(at), theirs)


def _write(model, records):
    """Rows given as dicts keyed by the model's field names, every field (the id included)."""
    fields = model._meta.sorted_fields
    _insert(model, fields, [tuple(_field_value(field, r) for field in fields) for r in records])


def _field_value(field, record):
    """A generated row's value for `field`: by its name, by its column's (zone_id for `zone`), or its
    default when the generator doesn't set it."""
    if field.column_name in record:  # a foreign key by its column: the generator may keep its plan under the name
        return record[field.column_name]
    if field.name in record:
        return record[field.name]
    return field.default() if callable(field.default) else field.default


class Area:
    """What the areas after the patrols share: their rows by table, counts, and the timeline."""

    TABLES = ()

    def __init__(self, world, estate, seed, days, end):
        self.w, self.e, self.seed = world, estate, seed
        self.now = world.now
        self.end_day = (end + LOCAL).date()
        self.first_day = self.end_day - datetime.timedelta(days=days - 1)
        self.rows = {name: [] for name in self.TABLES + ("event",)}
        self.counts = {name: 0 for name in self.rows}
        self.code = {h["id"]: h["code"] for h in estate["households"]}
        self.homes = {}
        for h in estate["households"]:
            self.homes.setdefault(estate["zone_of_building"][h["building"]], []).append(h)

    def event(self, at, actor, record_type, record_id, action, from_state="", to_state="", note=""):
        """A timeline event; `note` may be a function, for words known only later (a notice's number)."""
        self.rows["event"].append((at, actor[0] if actor else None, actor[1] if actor else "系统", record_type,
                                   record_id, action, from_state, to_state, note, ""))

    def write(self, *tables):
        """Write the rows gathered so far (parents first, in `tables` order), then the events."""
        for name, model in tables:
            _write(model, self.rows[name])
        events = [row[:8] + ((row[8]() if callable(row[8]) else row[8]), row[9]) for row in self.rows["event"]]
        _insert(Event, EVENT_FIELDS, events)
        for name, items in self.rows.items():
            self.counts[name] += len(items)
            items.clear()


class Customers(Area):
    """Visits (拜访), the needs heard and answered, and personal service orders (个性化服务) with their
    work orders and call-backs."""

    TABLES = ("item", "profile", "visit", "visit_household", "opinion", "need", "service", "order", "callback")

    def __init__(self, world, estate, seed, days, end):
        super().__init__(world, estate, seed, days, end)
        self.visit_id = self.opinion_id = self.need_id = self.service_id = 0
        self.fw, self.items, self.tags, self.tagged = {}, {}, {}, {}

    def flush(self):
        self.write(("item", ServiceItem), ("profile", HouseholdProfile), ("visit", Visit),
                   ("visit_household", VisitHousehold), ("opinion", Opinion), ("need", Need),
                   ("order", WorkOrder), ("service", ServiceOrder), ("callback", CallBack))

    def fixed(self):
        """The service catalogue, the visit rules and the households' profiles: the same rows in every
        database, from before its first day."""
        created = self.now - datetime.timedelta(days=3660 * 2)
        VisitRules.current()
        _check_windows(self.end_day - datetime.timedelta(days=3700))
        admin = self.e["admin"]
        for n, (name, kind, charged, fee, duration, note) in enumerate(SERVICE_ITEMS, 1):
            unit = self.e["units"][kind]
            self.items[name] = dict(id=n, name=name, unit=unit, charged=charged, fee=fee if charged else "")
            self.rows["item"].append(dict(id=n, voided_at=None, void_reason="", version=1, name=name, unit=unit["id"],
                                          charged=charged, fee=fee if charged else "", duration=duration, note=note))
            self.event(created + datetime.timedelta(minutes=n), admin, "serviceitem", n, "新增服务项目",
                       note=f"{name} · {unit['name']} · {fee if charged else '免费'}"
                            + (f" · {duration}" if duration else ""))
        rng = random.Random(f"{self.seed}:profiles")
        for zone in self.e["zones"]:
            assistant = self.e["assistant_of_zone"][zone]
            for h in self.homes[zone]:
                if rng.random() >= PROFILE_SHARE:
                    continue
                tags = [_pick(rng, PROFILE_TAGS)]
                if rng.random() < 0.2:
                    tags = list(dict.fromkeys(tags + [_pick(rng, PROFILE_TAGS)]))
                contact = rng.choice(CONTACT_TIMES) if rng.random() < 0.7 else ""
                at = created + datetime.timedelta(days=rng.randint(1, 300), minutes=rng.randint(0, 600)) + _micro(rng)
                moved_in = (at + LOCAL).date() - datetime.timedelta(days=rng.randint(30, 3000))
                self.rows["profile"].append(dict(id=len(self.rows["profile"]) + 1, version=1, household=h["id"],
                                                 moved_in_on=moved_in, contact_time=contact, tags="、".join(tags),
                                                 updated_by=assistant[0], updated_at=at))
                changes = [f"入住日期：— → {moved_in}"] + ([f"方便联系的时间：— → {contact}"] if contact else []) \
                    + [f"标签：— → {'、'.join(tags)}"]
                self.event(at, assistant, "household", h["id"], "更新客户资料", note="；".join(changes))
                self.tags[h["id"]] = tags
                self.tagged.setdefault(zone, []).append(h)

    # A day

    def day(self, before):
        """One local day's visits (with what came of them) and directly taken service orders in every zone."""
        rng = random.Random(f"{self.seed}:visit:{before}")
        day = self.end_day - datetime.timedelta(days=before)
        rest = _day_kind(day)[0] != "workday"
        for zone in self.e["zones"]:
            assistant = self.e["assistant_of_zone"][zone]
            taken = []
            for ticket in self.w.visit_tickets.get((day, zone), ()):
                self.ticket_visit(rng, zone, assistant, ticket, taken)
            activity = False
            for _ in range(rng.choice(VISITS_REST if rest else VISITS_WORKDAY)):
                at = self.slot(rng, day, rest, taken)
                if at is None:
                    continue
                taken.append(at)
                hour = (at + LOCAL).hour
                if rest and not activity and hour >= 14 and rng.random() < 0.5:
                    activity = True
                    place, note = rng.choice(ACTIVITIES)
                    homes = rng.sample(self.homes[zone], 3)
                    said = [self.saying(rng, h["id"], assistant)[:3] + (h["id"],) for h in homes]
                    self.visit(rng, zone, assistant, at, "活动", [h["id"] for h in homes], place, said, note)
                    continue
                tagged = self.tagged.get(zone)
                home = rng.choice(tagged) if tagged and rng.random() < 0.4 else rng.choice(self.homes[zone])
                if hour < 9 and rng.random() < 0.6:
                    form = "偶遇"
                elif hour >= 18 or (not rest and not _windows(at)):
                    form = rng.choice(["上门", "上门", "电话回访"])
                else:
                    form = rng.choice(["上门", "上门", "偶遇"])
                place = rng.choice(ENCOUNTER_PLACES) if form == "偶遇" else ""
                said = []
                for _n in range(rng.choice([1, 1, 2, 2, 3])):
                    words = self.saying(rng, home["id"], assistant)
                    if words[1] not in [s[1] for s in said]:
                        said.append(words + (None,))
                homes = [] if form == "偶遇" and rng.random() < 0.3 else [home["id"]]
                notes = VISIT_NOTES[form]
                note = rng.choice(notes) if notes and rng.random() < 0.3 else ""
                self.visit(rng, zone, assistant, at, form, homes, place, said, note)
            if rng.random() < DIRECT_SERVICE:
                item = _pick(rng, DIRECT_ITEMS)
                at = _utc(day, rng.randint(8, 18), rng.randint(0, 59)) + _micro(rng)
                household = rng.choice(self.homes[zone])["id"]
                self.order(rng, at, zone, assistant, household, item, rng.choice(SERVICE_REQUESTS[item]))

    def slot(self, rng, day, rest, taken):
        """A visit time on `day` (to the minute, as typed): in the morning or evening window on a working
        day (a quarter of them late morning or mid-afternoon), 9 to 5 at weekends; clear of the others."""
        for _ in range(12):
            if rest:
                at = _utc(day, rng.choice([9, 10, 14, 15, 16]), rng.randint(0, 50))
            elif rng.random() < 0.25:
                hour, minute = rng.choice(OUT_OF_WINDOW)
                at = _utc(day, hour, minute) + datetime.timedelta(minutes=rng.randint(0, 15))
            elif rng.random() < 0.45:
                at = _utc(day, 7, 5) + datetime.timedelta(minutes=rng.randint(0, 95))
            else:
                at = _utc(day, 18, rng.randint(0, 45))
            if all(abs(at - other) >= datetime.timedelta(minutes=25) for other in taken):
                return at
        return None

    def saying(self, rng, household, assistant, needs=True):
        """(kind, text, need or None): what a tagged household's tag makes it say now and then, else
        praise, a suggestion, a complaint or a service need."""
        tags = self.tags.get(household)
        if tags and rng.random() < 0.3:
            kind, text = rng.choice(TAG_SAYINGS[rng.choice(tags)])
            return kind, text.format(who="小" + assistant[1][0]), None
        kind = _pick(rng, OPINIONS)
        if kind == "服务需求":
            if needs and rng.random() < 0.5:
                need = rng.choice(NEEDS)
                return kind, need[1], need
            return kind, rng.choice(ASKED), None
        return kind, rng.choice({"表扬": PRAISES, "建议": SUGGESTIONS, "意见": COMPLAINTS}[kind]), None

    def ticket_visit(self, rng, zone, assistant, ticket, taken):
        """The visit a request was heard on (channel 拜访), recorded just before the request was taken,
        and the opinion linked to it as `customers.link_ticket` links them."""
        at = ticket["created"] - datetime.timedelta(minutes=rng.randint(10, 40))
        at = at.replace(second=0, microsecond=0)
        if (at + LOCAL).hour < 7:
            return
        form = _pick(rng, [("上门", 70), ("偶遇", 20), ("电话回访", 10)])
        place = rng.choice(ENCOUNTER_PLACES) if form == "偶遇" else ""
        kind = {"投诉": "意见", "建议": "建议"}.get(ticket["category"], "意见" if rng.random() < 0.6 else "服务需求")
        said = [(kind, ticket["description"][:500], None, None)]
        if rng.random() < 0.3:
            said.append(self.saying(rng, ticket["household"], assistant, needs=False) + (None,))
        made = self.visit(rng, zone, assistant, at, form, [ticket["household"]], place, said, "",
                          until=ticket["created"])
        if made is None:
            return
        taken.append(at)
        visit_id, opinions = made
        opinion = opinions[0]
        opinion["ticket_id"] = ticket["id"]
        linked = ticket["created"]
        self.event(linked, assistant, "visit", visit_id, "意见转为诉求",
                   note=f"{opinion['kind']}：{opinion['text']} → {ticket['number']}")
        self.event(linked, assistant, "ticket", ticket["id"], "来自拜访",
                   note=f"{at + LOCAL:%m-%d %H:%M} {form}：{opinion['text']}")
        self.event(linked, assistant, "household", ticket["household"], "拜访意见转为诉求",
                   note=f"{ticket['number']}：{opinion['text']}")

    def visit(self, rng, zone, assistant, at, form, households, place, said, note, until=None):
        """One visit as `customers.record_visit` writes it, recorded a few minutes after it (before `until`),
        and the needs written down from it. `said`: [(kind, text, need or None, household or None)].
        Returns (visit id, opinion rows), or None if it isn't recorded yet."""
        created = at + datetime.timedelta(minutes=rng.randint(3, 25)) + _micro(rng)
        if until is not None and created >= until:
            created = until - datetime.timedelta(seconds=rng.randint(20, 90))
        if created > self.now:
            return None
        self.visit_id += 1
        visit_id = self.visit_id
        windows = _windows(at)
        where = "、".join(sorted(self.code[h] for h in households) + ([place] if place else []))
        self.rows["visit"].append(dict(id=visit_id, voided_at=None, void_reason="", zone=zone, at=at, form=form,
                                       place=place, note=note, windows="、".join(windows), created_by=assistant[0],
                                       created_at=created))
        for household in households:
            self.rows["visit_household"].append(dict(id=None, visit=visit_id, household=household))
        opinions = []
        for position, (kind, text, need, owner) in enumerate(said, 1):
            self.opinion_id += 1
            opinions.append(dict(id=self.opinion_id, visit=visit_id, position=position, kind=kind, text=text,
                                 household=owner or (households[0] if len(households) == 1 else None), ticket_id=None,
                                 need_id=None, need=need))
        self.rows["opinion"] += opinions
        tagged = f" · {'、'.join(windows)}" if windows else ""
        self.event(created, assistant, "visit", visit_id, "拜访",
                   note=f"{form} · {where}{tagged}" + "".join(f"\n{o['kind']}：{o['text']}" for o in opinions)
                   + (f"\n{note}" if note else ""))
        for household in households:
            self.event(created, assistant, "household", household, "拜访",
                       note=form + tagged + "".join(f"\n{o['kind']}：{o['text']}" for o in opinions
                                                    if o["household"] is None or o["household"] == household))
        for opinion in opinions:
            if opinion["need"] and opinion["household"] and rng.random() < NEED_FROM_OPINION:
                topic, _said, what, item = opinion["need"]
                self.need(rng, created + datetime.timedelta(minutes=rng.randint(1, 6)), zone, assistant,
                          opinion["household"], "personal", topic, what, item, opinion)
        if until is None:
            tagged_homes = [h for h in households if h in self.tags]
            if tagged_homes and rng.random() < LATENT_SHARE:
                household = tagged_homes[0]
                topic, what, item = rng.choice(LATENT[rng.choice(self.tags[household])])
                self.need(rng, created + datetime.timedelta(minutes=rng.randint(2, 9)), zone, assistant, household,
                          "latent", topic, what, item)
        return visit_id, opinions

    # Needs

    def need(self, rng, at, zone, assistant, household, kind, topic, what, item, opinion=None):
        """A need as `customers.record_need` writes it, and its answer (可提供 with a service order, 不能提供,
        or 待研究 and later one of those), each when it came."""
        if at > self.now:
            return
        self.need_id += 1
        need = dict(id=self.need_id, voided_at=None, void_reason="", version=1, household=household, zone=zone,
                    kind=kind, topic=topic, what=what, source="拜访", opinion=opinion["id"] if opinion else None,
                    ticket_id=None, outcome="open", reason="", reaction="", decided_at=None, created_by=assistant[0],
                    created_at=at)
        self.rows["need"].append(need)
        if opinion is not None:
            opinion["need_id"] = need["id"]
            self.event(at, assistant, "visit", opinion["visit"], "意见记为需求",
                       note=f"{opinion['text']} → {NEED_KINDS[kind]}：{what}")
        self.event(at, assistant, "need", need["id"], "记录需求", to_state=NEED_OUTCOMES["open"],
                   note=f"{NEED_KINDS[kind]} · {topic} · 来源 拜访：{what}")
        self.event(at, assistant, "household", household, "记录需求", note=f"{NEED_KINDS[kind]}：{what}")
        answered = _working_time(at + _lognormal_hours(rng, 8, 1.0, most=96))
        if item:
            outcome = _pick(rng, [("provide", 70), ("study", 15), ("decline", 15)])
        else:
            outcome = _pick(rng, [("decline", 45), ("study", 45), ("provide", 10)])
        if outcome == "study":
            self.answer(need, answered, assistant, "study", NEED_STUDIES.get(topic, "与相关业务块商量能否提供"))
            answered = _working_time(answered + datetime.timedelta(days=rng.randint(3, 30), hours=rng.randint(0, 6)))
            outcome = "provide" if rng.random() < (0.6 if item else 0.3) else "decline"
        if outcome == "provide" and item:
            request = what if rng.random() < 0.5 else rng.choice(SERVICE_REQUESTS[item])
            self.order(rng, answered, zone, assistant, household, item, request, need)
        elif outcome == "provide":
            self.answer(need, answered, assistant, "provide")
        else:
            reason, reaction = rng.choice(NEED_DECLINES)
            self.answer(need, answered, assistant, "decline", reason, reaction)

    def answer(self, need, at, assistant, outcome, reason="", reaction=""):
        """`customers.answer_need`; a 待研究 need keeps what was looked into when answered again."""
        if at > self.now:
            return False
        before = NEED_OUTCOMES[need["outcome"]]
        if not reason and need["outcome"] == "study":
            reason = need["reason"]
        need.update(outcome=outcome, reason=reason, reaction=reaction, decided_at=at, version=need["version"] + 1)
        note = {"provide": "可以提供", "decline": f"不能提供：{reason}；客户：{reaction}", "study": f"待研究：{reason}"}[outcome]
        self.event(at, assistant, "need", need["id"], "答复需求", before, NEED_OUTCOMES[outcome], note)
        self.event(at, assistant, "household", need["household"], "答复需求", note=f"{need['what']} → {note}")
        return True

    # Service orders

    def appointment(self, rng, after):
        """A time agreed with the customer: on the hour or half past, 9–16, today or in the next days."""
        day = (after + LOCAL).date() + datetime.timedelta(days=rng.choice([0, 1, 1, 2, 3]))
        at = _utc(day, rng.randint(9, 16), rng.choice([0, 30]))
        return at if at > after + datetime.timedelta(hours=1) else at + datetime.timedelta(days=1)

    def change(self, order, at, actor, action, to_state=None, note="", **fields):
        """`services._change`: the version, the fields and state, the event."""
        before = SERVICE_STATES[order["state"]]
        order["version"] += 1
        if to_state:
            order["state"] = to_state
        order.update(fields)
        self.event(at, actor, "serviceorder", order["id"], action, before if to_state else "",
                   SERVICE_STATES[order["state"]] if to_state else "", note)

    def order(self, rng, at, zone, assistant, household, name, request, need=None):
        """A service order as `services.create_order` writes it (answering its need 可提供), then its life
        played up to now: the time agreed (and confirmed by the unit where it must be), the work order to
        the unit, its work and inspection, the call-back — 不满意 sends it back for a second round — or a
        cancellation."""
        if at > self.now:
            return
        if need is not None:
            self.answer(need, at, assistant, "provide")
        item = self.items[name]
        confirm, urgent = name == "家电清洗", name == "上门开锁"
        if urgent:
            agreed, later = at + datetime.timedelta(minutes=rng.randint(20, 45)), None
        elif rng.random() < 0.7:
            agreed, later = self.appointment(rng, at), None
        else:
            agreed_on = _working_time(at + datetime.timedelta(hours=rng.uniform(1, 20)))
            agreed, later = None, (agreed_on, self.appointment(rng, agreed_on))
        stamp = (at + LOCAL).strftime("%Y%m%d")
        self.fw[stamp] = self.fw.get(stamp, 0) + 1
        self.service_id += 1
        state = "unscheduled" if agreed is None else ("unconfirmed" if confirm else "scheduled")
        order = dict(id=self.service_id, version=1, number=f"FW{stamp}-{self.fw[stamp]:03d}", household=household,
                     zone=zone, item=item["id"], need=need["id"] if need else None, request=request,
                     customer_name=rng.choice(SURNAMES) + rng.choice(TITLES), charged=item["charged"],
                     fee_told=item["fee"], told_at=at, agreed_at=agreed, needs_confirmation=confirm,
                     confirmed_at=None, customer_told_at=None, state=state, work_order_id=None, rework_count=0,
                     result="", created_by=assistant[0], created_at=at, closed_at=None, cancel_reason="")
        self.rows["service"].append(order)
        told = f"已告知收费：{item['fee']}" if item["charged"] else "已告知免费"
        when = f"；约定 {agreed + LOCAL:%m-%d %H:%M}" if agreed else ""
        self.event(at, assistant, "serviceorder", order["id"], "受理服务", to_state=SERVICE_STATES[state],
                   note=f"{name}：{request}；{told}{when}" + ("（需业务块确认时间）" if confirm else ""))
        self.event(at, assistant, "household", household, "个性化服务", note=f"{order['number']} {name}：{request}")
        t = at
        if later is not None:
            t, agreed = later
            if t > self.now:
                return
            self.change(order, t, assistant, "约定时间", "unconfirmed" if confirm else "scheduled",
                        note=f"{agreed + LOCAL:%m-%d %H:%M}", agreed_at=agreed, confirmed_at=None,
                        customer_told_at=None)
        if confirm:
            told_at = t + datetime.timedelta(minutes=rng.randint(60, 360)) + _micro(rng)
            t = told_at + datetime.timedelta(minutes=rng.randint(0, 5))
            if t > self.now:
                return
            confirmed = agreed if rng.random() < 0.7 else agreed + datetime.timedelta(hours=rng.choice([1, 2]))
            self.change(order, t, assistant, "确认时间", "scheduled",
                        note=f"业务块确认 {confirmed + LOCAL:%m-%d %H:%M}，{told_at + LOCAL:%m-%d %H:%M} 已告知客户",
                        confirmed_at=confirmed, customer_told_at=told_at)
        time_ = order["confirmed_at"] or order["agreed_at"]
        if rng.random() < 0.04:
            t = t + datetime.timedelta(hours=rng.uniform(1, 20))
            if t <= self.now:
                reason = rng.choice(SERVICE_CANCELS)
                self.change(order, t, assistant, "取消服务", "cancelled", note=reason, cancel_reason=reason, closed_at=t)
            return
        if urgent:
            sent = at + datetime.timedelta(minutes=rng.randint(2, 8))
        else:
            sent = _working_time(max(t + datetime.timedelta(minutes=rng.randint(5, 30)),
                                     time_ - datetime.timedelta(hours=rng.uniform(1, 18))))
        for second_round in (False, True):
            if sent > self.now:
                return
            work, staff = self.dispatch(rng, order, sent, assistant, item, time_)
            accepted = sent + datetime.timedelta(minutes=rng.randint(5, 60))
            if accepted > self.now:
                return
            self.move(order, work, accepted, staff, "working", "接单", accepted_at=accepted)
            reported = max(time_, accepted) + datetime.timedelta(minutes=rng.randint(30, 180))
            if reported > self.now:
                return
            note = rng.choice(SERVICE_REPORTS[name])
            self.move(order, work, reported, staff, "reported", "报完成", note, reported_at=reported, report_note=note,
                      reported_by=staff[1])
            if rng.random() < 0.05:
                rejected = reported + datetime.timedelta(minutes=rng.randint(30, 240))
                if rejected > self.now:
                    return
                self.move(order, work, rejected, assistant, "rework", "验收不通过", rng.choice(SERVICE_REJECTS),
                          rework_count=work["rework_count"] + 1)
                reported = rejected + datetime.timedelta(hours=rng.uniform(2, 24))
                if reported > self.now:
                    return
                note = "已返工：" + rng.choice(SERVICE_REPORTS[name])
                self.move(order, work, reported, staff, "reported", "报完成", note, reported_at=reported,
                          report_note=note, reported_by=staff[1])
            approved = reported + datetime.timedelta(minutes=rng.randint(20, 360))
            if approved > self.now:
                return
            self.move(order, work, approved, assistant, "approved", "验收通过", approved_at=approved)
            called = _working_time(approved + datetime.timedelta(hours=rng.uniform(2, 30)))
            if called > self.now:
                return
            result = _pick(rng, [("满意", 85), ("基本满意", 11)] + ([] if second_round else [("不满意", 4)]))
            method = _pick(rng, [("电话", 85), ("上门", 10), ("微信", 5)])
            words = rng.choice(CALLBACK_WORDS[result])
            self.rows["callback"].append(dict(id=None, record_type="serviceorder", record_id=order["id"], at=called,
                                              by=assistant[0], method=method, result=result, words=words))
            note = f"{method}回访：{result}" + (f"。客户说：{words}" if words else "")
            if result != "不满意":
                self.change(order, called, assistant, "回访后完成", "closed", note=note, result=result, closed_at=called)
                return
            self.change(order, called, assistant, "回访不满意，返工", "rework", note=note, result=result,
                        rework_count=order["rework_count"] + 1)
            sent = _working_time(called + datetime.timedelta(hours=rng.uniform(1, 24)))

    def dispatch(self, rng, order, at, assistant, item, time_):
        """`services.dispatch`: a work order (PD…) to the item's unit, due four hours after the agreed time."""
        unit = item["unit"]
        staff = unit["staff"][rng.randrange(len(unit["staff"]))]
        fee = "收费 " + order["fee_told"] if order["charged"] else "免费"
        instructions = f"{item['name']}：{order['request']}（约定 {time_ + LOCAL:%m-%d %H:%M}，{fee}）"
        deadline = max(time_, at) + datetime.timedelta(hours=4)
        self.w.order_id += 1
        work = dict(id=self.w.order_id, number=self.w.pd_number(at), source_type="service", source_id=order["id"],
                    unit=unit["id"], zone_id=order["zone"], location=self.code[order["household"]],
                    title=f"个性化服务 {item['name']}", instructions=instructions, deadline=deadline,
                    state="dispatched", created_by=assistant[0], created_at=at, accepted_at=None, reported_at=None,
                    report_note="", reported_by="", approved_at=None, rework_count=0, cancelled_at=None,
                    cancel_reason="", version=1)
        self.rows["order"].append(work)
        self.event(at, assistant, "workorder", work["id"], "派工", "", WO_STATES["dispatched"],
                   f"{unit['name']}：{instructions}（时限 {deadline + LOCAL:%m-%d %H:%M}）")
        self.change(order, at, assistant, "派工", "working", note=f"{work['number']} → {unit['name']}",
                    work_order_id=work["id"])
        return work, staff

    def move(self, order, work, at, actor, to_state, action, note="", **fields):
        """`workorders._move`, with the service order's listener: 验收通过 → 待回访, else a note on it."""
        before = WO_STATES[work["state"]]
        work["state"] = to_state
        work["version"] += 1
        work.update(fields)
        self.event(at, actor, "workorder", work["id"], action, before, WO_STATES[to_state], note)
        if action == "验收通过":
            self.change(order, at, actor, "服务完成，待回访", "callback", note=f"{work['number']} 已验收")
        else:
            self.event(at, actor, "serviceorder", order["id"], f"派工单{action}", note=note)


class Register(Area):
    """The renovation register (装修登记) behind the renovation checkpoints: each renovation registered,
    started, finished, accepted and archived; violations found on its patrols or reported by neighbours,
    followed as the rules follow them (劝阻, 整改通知书 numbered per year and served, 复查, 上报 with the
    body's reply, 结案)."""

    TABLES = ("renovation", "violation", "notice", "notice_violation", "referral")

    def __init__(self, world, estate, seed, days, end, patrols):
        super().__init__(world, estate, seed, days, end)
        self.patrols = patrols
        self.notice_series = {}

    def flush(self):
        self.write(("renovation", Renovation), ("violation", Violation), ("notice", RectificationNotice),
                   ("notice_violation", NoticeViolation), ("referral", Referral))

    def build(self):
        plan = self.patrols.register_plan
        renovations, by_checkpoint = {}, {}
        for r in plan:
            renovations[r["rid"]] = self.renovation(r)
            if r["cp"] is not None:
                by_checkpoint[r["cp"]["id"]] = r
        # Violations: from patrol findings, and reported directly; followed in the order recorded.
        found, findings = [], {}
        for day, cp, finding in self.patrols.renovation_findings:
            findings[finding["id"]] = finding
            rng = random.Random(f"{self.seed}:violation:{(self.end_day - day).days}:{cp['key']}:{finding['item_text']}")
            if rng.random() >= VIOLATION_FROM_FINDING:
                continue
            r = by_checkpoint[cp["id"]]
            item, note = finding["item_text"], finding["note"]
            kind = ITEM_VIOLATIONS.get(item, "其他")
            found.append((finding["created_at"] + datetime.timedelta(minutes=rng.randint(10, 60)) + _micro(rng), r,
                          finding["created_at"], kind, f"{item}不合格" + (f"，{note}" if note else ""),
                          CLAUSES.get(kind, ""), finding["id"], ITEM_DEMANDS.get(item), rng))
        for r in plan:
            rng = r["rng"]
            if r["started"] is None or rng.random() >= DIRECT_VIOLATION:
                continue
            kind, description, hour = rng.choice(DIRECT_VIOLATIONS)
            day = r["start"] + datetime.timedelta(days=rng.randint(0, (r["until"] - r["start"]).days))
            at = _utc(day, hour, rng.randint(0, 50))
            found.append((at + datetime.timedelta(minutes=rng.randint(10, 60)) + _micro(rng), r, at, kind,
                          description, CLAUSES.get(kind, ""), None, None, rng))
        closed = {}
        for recorded, r, at, kind, description, clause, finding_id, demand, rng in sorted(found, key=lambda v: v[:1]):
            if recorded > self.now or at < r["started"] or (r["finished"] and at > r["finished"]):
                continue
            when = self.violation(r, recorded, at, kind, description, clause, finding_id,
                                  demand or DEMANDS.get(kind, DEFAULT_DEMAND), rng)
            if finding_id is not None:  # the finding went on to its violation, and ends with it
                findings[finding_id].update(state="closed" if when else "recorded", handed_to="violation",
                                            handed_id=self.rows["violation"][-1]["id"], resolved_at=when, version=2)
            closed.setdefault(r["rid"], []).append(when)
        # Notices are numbered in the order issued, per estate year, from one series that never goes back.
        for notice in sorted(self.rows["notice"], key=lambda n: n["issued_at"]):
            year = (notice["issued_at"] + LOCAL).year
            self.notice_series[year] = self.notice_series.get(year, 0) + 1
            notice.update(year=year, serial=self.notice_series[year])
        for r in plan:
            self.accept(r, renovations[r["rid"]], closed.get(r["rid"], []))

    def renovation(self, r):
        """Registered as `renovations.register` writes it, started (its checkpoint made in the plan) and
        finished on its last day."""
        rng = r["rng"]
        household, assistant = r["household"], r["assistant"]
        owner = rng.choice(SURNAMES) + rng.choice(GIVEN)
        contractor = rng.random() < 0.85
        company = rng.choice(COMPANIES) if contractor else ""
        foreman = (rng.choice(SURNAMES) + rng.choice(["师傅", "工", ""] + GIVEN[:6])) if contractor else ""
        length = (r["until"] - r["start"]).days + 1
        planned_end = r["start"] + datetime.timedelta(days=max(14, length - 1 + rng.randint(-15, 10)))
        works = rng.sample(WORKS[:-1], rng.randint(2, 5))
        row = dict(id=r["rid"], voided_at=None, void_reason="", version=1, household=household["id"], zone=r["zone"],
                   owner_name=owner, owner_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                   company=company, foreman=foreman,
                   foreman_phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}" if contractor else "",
                   workers=rng.randint(2, 8) if contractor else rng.randint(1, 2), permit_number=r["permit"],
                   permit_date=(r["created"] + LOCAL).date(), planned_start=r["start"], planned_end=planned_end,
                   deposit=rng.choice(DEPOSITS), allowed_hours=ALLOWED_HOURS,
                   works="、".join(w for w in WORKS if w in works), state="applied", started_on=None,
                   finished_on=None, checkpoint_id=None, note="", archived_at=None, created_by=assistant[0],
                   created_at=r["created"])
        self.rows["renovation"].append(row)
        r["row"] = row
        self.event(r["created"], assistant, "renovation", r["rid"], "装修登记", to_state=RENOVATION_STATES["applied"],
                   note=f"{household['code']} {owner} · {company or '自装'} · "
                        f"{r['start']:%m-%d} 至 {planned_end:%m-%d}")
        finish_note = rng.choice(FINISH_NOTES)
        if r["started"] is not None:
            self.move(row, r["started"], assistant, "active", "开工", started_on=r["start"],
                      checkpoint_id=r["cp"]["id"])
        if r["finished"] is not None:
            self.move(row, r["finished"], assistant, "finished", "完工", finish_note, finished_on=r["until"])
        return row

    def move(self, row, at, actor, to_state, action, note="", **fields):
        """`renovations._move`."""
        before = RENOVATION_STATES[row["state"]]
        row.update(state=to_state, version=row["version"] + 1, **fields)
        self.event(at, actor, "renovation", row["id"], action, before, RENOVATION_STATES[to_state], note)

    def accept(self, r, row, closed):
        """验收 some days after it finished, once every violation is closed, and then 归档."""
        rng = random.Random(f"{self.seed}:{PATROL_SEED}:accept:{r['before']}:{r['zone']}")
        if r["finished"] is None or None in closed:
            return
        day = r["until"] + datetime.timedelta(days=rng.randint(1, 7))
        if closed:
            day = max(day, (max(closed) + LOCAL).date() + datetime.timedelta(days=rng.randint(0, 2)))
        accepted = _utc(_workday(day), 10, rng.randint(0, 90)) + _micro(rng)
        archived = accepted + datetime.timedelta(days=rng.randint(0, 5), minutes=rng.randint(5, 120))
        if accepted > self.now:
            return
        self.move(row, accepted, r["assistant"], "accepted", "验收", rng.choice(ACCEPT_NOTES))
        if rng.random() < 0.85 and archived <= self.now:
            row.update(archived_at=archived, version=row["version"] + 1)
            self.event(archived, r["assistant"], "renovation", row["id"], "归档")

    def step(self, violation, at, actor, to_state, action, note="", **fields):
        """`renovations._step`."""
        before = VIOLATION_STATES[violation["state"]]
        violation.update(state=to_state, version=violation["version"] + 1, **fields)
        self.event(at, actor, "violation", violation["id"], action, before, VIOLATION_STATES[to_state], note)

    def violation(self, r, recorded, at, kind, description, clause, finding_id, demand, rng):
        """One violation from `renovations.record_violation` on, played up to now: 劝阻 and closed once
        stopped; or an 整改通知书 served (拒签 before a witness now and then), re-checked after its deadline
        and closed, or, not complied with, reported by the supervisor to an outside body and closed after
        its reply. Returns when it was closed (None while open)."""
        now, assistant, supervisor = self.now, r["assistant"], self.e["supervisors"][0]
        row = r["row"]
        violation = dict(id=len(self.rows["violation"]) + self.counts["violation"] + 1, version=1,
                         renovation=row["id"], zone=r["zone"], kind=kind, at=at, description=description,
                         clause=clause, finding_id=finding_id, state="open", dissuaded_at=None, dissuade_outcome="",
                         recheck_at=None, recheck_complied=None, recheck_note="", closed_at=None, close_note="",
                         created_by=assistant[0], created_at=recorded)
        self.rows["violation"].append(violation)
        self.event(recorded, assistant, "violation", violation["id"], "记录违规", to_state=VIOLATION_STATES["open"],
                   note=f"{kind}：{description}" + (f"（{clause}）" if clause else ""))
        self.event(recorded, assistant, "renovation", row["id"], "记录违规", note=f"{kind}：{description}")
        t = recorded + datetime.timedelta(minutes=rng.randint(2, 20))
        if t > now:
            return None
        outcome = rng.choice(DISSUADE_OUTCOMES)
        self.step(violation, t, assistant, "dissuaded", "劝阻", outcome, dissuaded_at=t, dissuade_outcome=outcome)
        if rng.random() < 0.62:
            t = _working_time(t + datetime.timedelta(hours=rng.uniform(2, 48)))
            if t > now:
                return None
            note = rng.choice(CLOSE_NOTES)
            self.step(violation, t, assistant, "closed", "结案", note, closed_at=t, close_note=note)
            return t
        # 整改通知书
        issued = _working_time(t + datetime.timedelta(hours=rng.uniform(1, 30)))
        if issued > now:
            return None
        deadline = (issued + LOCAL).date() + datetime.timedelta(days=rng.randint(1, 5))
        notice = dict(id=len(self.rows["notice"]) + 1, voided_at=None, void_reason="", year=None, serial=None,
                      clauses=clause or "《装修管理服务协议》及小区装修管理规定", demand=demand, deadline=deadline,
                      issued_by=assistant[0], issued_at=issued, served_at=None, served_to="", refused=False, witness="",
                      renovation=row["id"], consequence=CONSEQUENCE, state="issued", version=1)
        self.rows["notice"].append(notice)
        self.rows["notice_violation"].append(dict(id=None, notice=notice["id"], violation=violation["id"]))

        def number():
            return f"〔{notice['year']}〕第{notice['serial']:04d}号"

        self.event(issued, assistant, "rectificationnotice", notice["id"], "开具整改通知书",
                   note=lambda: f"{number()}：{demand}（期限 {deadline:%m-%d}）")
        self.event(issued, assistant, "renovation", row["id"], "开具整改通知书", note=number)
        served = issued + datetime.timedelta(minutes=rng.randint(10, 120))
        refused = rng.random() < 0.1
        served_to = "" if refused else (f"施工负责人 {row['foreman']}" if row["foreman"] else f"业主 {row['owner_name']}")
        witness = rng.choice(WITNESSES) if refused else ""
        if served > now:
            return None
        served = served.replace(second=0, microsecond=0)  # typed to the minute
        notice.update(served_at=served, served_to=served_to, refused=refused, witness=witness, state="served",
                      version=2)
        who = f"拒签，见证人 {witness}" if refused else f"签收人 {served_to}"
        self.event(served, assistant, "rectificationnotice", notice["id"], "送达整改通知书", note=who)
        self.step(violation, served, assistant, "noticed", "送达整改通知书",
                  lambda: f"{number()}，{who}，期限 {deadline:%m-%d}")
        # 复查 on or after the deadline
        t = _utc(deadline + datetime.timedelta(days=rng.choice([0, 0, 1, 2])), rng.randint(9, 16), rng.randint(0, 59))
        t += _micro(rng)
        if t > now:
            return None
        complied = rng.random() < 0.78
        note = rng.choice(RECHECK_OK if complied else RECHECK_NOT)
        self.step(violation, t, assistant, "complied" if complied else "not_complied",
                  "复查：已整改" if complied else "复查：未整改", note, recheck_at=t, recheck_complied=complied,
                  recheck_note=note)
        # Its one violation re-checked, the notice is settled with it (renovations._settle_notices).
        notice.update(state="complied" if complied else "not_complied", version=3)
        self.event(t, assistant, "rectificationnotice", notice["id"], "复查：已整改" if complied else "复查：未整改",
                   note="违规 1 项均已复查或处理")
        if complied:
            t = _working_time(t + datetime.timedelta(hours=rng.uniform(0.5, 48)))
            if t > now:
                return None
            note = rng.choice(CLOSE_NOTES)
            self.step(violation, t, assistant, "closed", "结案", note, closed_at=t, close_note=note)
            return t
        # 上报 by the supervisor, the body's reply, then 结案
        sent = _utc(_workday((t + LOCAL).date() + datetime.timedelta(days=rng.randint(1, 3))), 9,
                    rng.randint(0, 120)) + _micro(rng)
        if sent > now:
            return None
        body = _pick(rng, BODY_WEIGHTS)
        referral = dict(id=len(self.rows["referral"]) + 1, renovation=row["id"], body=body, sent_at=sent,
                        letter=(f"本小区 {r['household']['code']} 业主{row['owner_name']}"
                                f"{('委托' + row['company']) if row['company'] else ''}进行装修施工期间，存在违规行为。"
                                "服务中心已进行劝阻并送达整改通知书，但至今仍未整改到位。现将相关材料（装修登记、违规记录及照片、"
                                "整改通知书及送达记录、复查情况）一并呈报，恳请贵单位依法依规予以处理。\n特此函告。"),
                        reason_without_notice="", reply="", reply_at=None, created_by=supervisor[0])
        self.rows["referral"].append(referral)
        self.step(violation, sent, supervisor, "escalated", "上报", f"上报{body}")
        self.event(sent, supervisor, "referral", referral["id"], "上报", note=f"{body}：1 项违规")
        self.event(sent, supervisor, "renovation", row["id"], "上报", note=body)
        replied = _working_time(sent + datetime.timedelta(days=rng.randint(2, 10), hours=rng.uniform(0, 6)))
        if replied > now:
            return None
        referral.update(reply=REPLIES[body], reply_at=replied)
        self.event(replied, supervisor, "referral", referral["id"], "收到答复", note=REPLIES[body])
        t = _working_time(replied + datetime.timedelta(days=rng.randint(1, 4), hours=rng.uniform(0, 3)))
        if t > now:
            return None
        note = f"经{body}协调，已整改到位，结案"
        self.step(violation, t, assistant, "closed", "结案", note, closed_at=t, close_note=note)
        return t


class Staff(Area):
    """The assistants' meetings (例会), evaluations (岗位评估) and monthly summaries (月度工作总结)."""

    TABLES = ("start", "meeting", "attendance", "action", "evaluation", "review", "summary")

    def __init__(self, world, estate, seed, days, end, patrols):
        super().__init__(world, estate, seed, days, end)
        self.patrols = patrols
        self.assistants = estate["assistants"]
        self.supervisor = estate["supervisors"][0]
        self.heads = [unit["staff"][0] for unit in estate["units"].values()]
        self.zone_of = {assistant[0]: zone for zone, assistant in estate["assistant_of_zone"].items()}
        self.signed = []  # (evaluation row, when signed, the assistant's comment and when)

    # Meetings

    def meetings(self):
        """The department meeting every week (on its first working day), the business units' in the first
        week of each month, a special meeting now and then; minutes kept by the supervisor that evening."""
        people = [("assistant", a) for a in self.assistants] + [("frontdesk", f) for f in self.e["frontdesk"]] \
            + [("supervisor", self.supervisor)] + [("unit", h) for h in self.heads]
        monday = self.first_day + datetime.timedelta(days=(7 - self.first_day.weekday()) % 7)
        while monday <= self.end_day:
            rng = random.Random(f"{self.seed}:meeting:{(self.end_day - monday).days}")
            week = [monday + datetime.timedelta(days=n) for n in range(5)]
            workdays = [d for d in week if _day_kind(d)[0] == "workday"]
            if workdays:
                topic, decisions, actions = rng.choice(MEETING_TOPICS)
                chosen = [p for p in people if p[0] == "supervisor" or (p[0] == "assistant" and rng.random() < 0.95)
                          or (p[0] == "frontdesk" and rng.random() < 0.3)]
                self.meeting(rng, workdays[0], "部门例会", topic, decisions, actions, chosen)
                if monday.day <= 7 and len(workdays) > 1:
                    topic, decisions, actions = rng.choice(UNIT_TOPICS)
                    chosen = [p for p in people if p[0] in ("supervisor", "unit")
                              or (p[0] == "assistant" and rng.random() < 0.9)]
                    self.meeting(rng, workdays[min(2, len(workdays) - 1)], "业务块例会", topic, decisions, actions,
                                 chosen)
                if rng.random() < 0.08:
                    topic, decisions, actions = rng.choice(SPECIAL_TOPICS)
                    chosen = [p for p in people if p[0] in ("supervisor", "assistant")
                              or (p[0] == "unit" and rng.random() < 0.5)]
                    self.meeting(rng, workdays[-1], "专题会议", topic, decisions, actions, chosen)
            monday += datetime.timedelta(days=7)

    def meeting(self, rng, day, kind, topic, decisions, actions, attendees):
        """`meetings.record_meeting`: attendees in the order the page lists them (by role, then name)."""
        created = _utc(day, 17, 30) + datetime.timedelta(minutes=rng.randint(0, 60)) + _micro(rng)
        if created > self.now:
            return
        meeting_id = len(self.rows["meeting"]) + self.counts["meeting"] + 1
        attendees = sorted(attendees, key=lambda p: (p[0], p[1][1]))
        self.rows["meeting"].append(dict(id=meeting_id, voided_at=None, void_reason="", day=day, kind=kind, topic=topic,
                                         decisions=decisions, created_by=self.supervisor[0], created_at=created))
        for _role, person in attendees:
            self.rows["attendance"].append(dict(id=None, meeting=meeting_id, user=person[0]))
        for position, text in enumerate(actions, 1):
            self.rows["action"].append(dict(id=None, meeting=meeting_id, position=position, text=text, ticket_id=None))
        self.event(created, self.supervisor, "meeting", meeting_id, "会议纪要",
                   note=f"{day:%m-%d} {kind}：{topic}；参会 " + "、".join(p[1][1] for p in attendees))

    def write_meetings(self):
        self.write(("meeting", Meeting), ("attendance", Attendance), ("action", Action))

    # Evaluations

    def evaluations(self):
        """Each assistant's start in the assistant service model and every evaluation since, scored and
        signed off by the supervisor a few working days after its period ended (a unit head asked to
        score 团队协作 now and then, the assistant's own comment after some); the periods that ended
        lately are left due, or drafts. Written as drafts; `sign_evaluations` signs them."""
        EvaluationSettings.current()
        items = [(item.id, item.name) for item in EvaluationItem.ordered()]
        launch = (self.end_day - datetime.timedelta(days=EVALUATION_LAUNCH_DAYS)).replace(day=1)
        for index, assistant in enumerate(self.assistants):
            started = launch
            if index in LATE_STARTS:
                started = self.end_day - relativedelta(months=LATE_STARTS[index]) - datetime.timedelta(days=5)
            self.rows["start"].append(dict(id=index + 1, version=1, user=assistant[0], started_on=started))
            self.event(_utc(started, 9) + datetime.timedelta(minutes=index), self.supervisor, "user", assistant[0],
                       "设置助理服务开始日期", note=f"{started:%Y-%m-%d}")
            level = 78 + (index * 7) % 11
            for start, end, kind in evaluation_rules.periods(started, self.end_day):
                if end >= self.end_day:
                    continue
                self.evaluation(random.Random(f"{self.seed}:evaluation:{index}:{(self.end_day - start).days}"),
                                assistant, items, start, end, kind, level + min(6, (start - started).days // 365))
        self.write(("start", ServiceStart), ("evaluation", Evaluation), ("review", UnitReview))

    def evaluation(self, rng, assistant, items, start, end, kind, level):
        opened = _utc(_workday(end + datetime.timedelta(days=rng.randint(2, 12))), 15, rng.randint(0, 40)) + _micro(rng)
        if opened > self.now:
            return
        evaluation_id = len(self.rows["evaluation"]) + 1
        scores = {}
        noted = rng.choice([name for _id, name in items]) if rng.random() < 0.3 else None
        for item_id, name in items:
            score = max(60, min(98, level + rng.randint(-6, 6)))
            scores[str(item_id)] = {"score": score, "note": ITEM_NOTES.get(name, "") if name == noted else ""}
        comment = rng.choice(EVALUATION_COMMENTS)
        row = dict(id=evaluation_id, voided_at=None, void_reason="", version=1, user=assistant[0], period_start=start,
                   period_end=end, kind=kind, state="draft", scores="{}", frozen="", total=None, grade="", comment="",
                   assistant_comment="", created_by=self.supervisor[0], created_at=opened, signed_by=None,
                   signed_at=None)
        self.rows["evaluation"].append(row)
        self.event(opened, self.supervisor, "evaluation", evaluation_id, "开始评估",
                   note=f"{assistant[1]} {EVALUATION_KINDS[kind]} {start:%Y-%m-%d}–{end:%Y-%m-%d}")
        t = opened
        if rng.random() < EVALUATION_REVIEW:
            reviewer = rng.choice(self.heads)
            team = items[-1]  # 团队协作
            asked = opened + datetime.timedelta(minutes=rng.randint(3, 15))
            answered = _utc(_workday((asked + LOCAL).date() + datetime.timedelta(days=1)), 10, rng.randint(0, 90)) \
                + _micro(rng)
            score = max(60, min(98, level + rng.randint(-4, 6)))
            review = dict(id=len(self.rows["review"]) + 1, evaluation=evaluation_id, reviewer=reviewer[0],
                          items=json.dumps([team[0]]), scores="{}", asked_at=asked, answered_at=None)
            if asked > self.now:
                return
            self.rows["review"].append(review)
            self.event(asked, self.supervisor, "evaluation", evaluation_id, "请业务块评分", note=f"{reviewer[1]}：{team[1]}")
            if answered > self.now:
                return
            review.update(scores=json.dumps({str(team[0]): {"score": score, "note": ""}}, ensure_ascii=False),
                          answered_at=answered)
            self.event(answered, reviewer, "evaluation", evaluation_id, "业务块评分", note=f"{team[1]} {score}")
            t = answered + datetime.timedelta(minutes=rng.randint(30, 180))
        saved = t + datetime.timedelta(minutes=rng.randint(20, 45))
        if saved > self.now:
            return
        row.update(scores=json.dumps(scores, ensure_ascii=False), comment=comment, version=2)
        self.event(saved, self.supervisor, "evaluation", evaluation_id, "评分",
                   note="；".join(f"{name} {scores[str(item_id)]['score']}" for item_id, name in items))
        signed = saved + datetime.timedelta(minutes=rng.randint(2, 10))
        own = _utc(_workday((signed + LOCAL).date() + datetime.timedelta(days=rng.randint(1, 3))), 9,
                   rng.randint(0, 59)) + _micro(rng)
        comment_own = rng.choice(OWN_COMMENTS) if rng.random() < EVALUATION_OWN_COMMENT else ""
        if signed <= self.now:
            self.signed.append((evaluation_id, assistant, signed, comment_own if own <= self.now else "", own))

    def sign_evaluations(self):
        """`evaluations.sign_off`: the form as `evaluations.sheet` makes it from the database (the period's
        measured feedback, the scores, the weights, the unit's scores), stored with the total and grade."""
        for evaluation_id, assistant, signed, own_comment, own_at in self.signed:
            current = evaluation_rules.sheet(Evaluation.get_by_id(evaluation_id))
            version = 3 + (1 if own_comment else 0)
            Evaluation.update(state="signed", frozen=json.dumps(current, ensure_ascii=False), total=current["total"],
                              grade=current["grade"], signed_by=self.supervisor[0], signed_at=signed,
                              assistant_comment=own_comment, version=version).where(
                Evaluation.id == evaluation_id).execute()
            self.event(signed, self.supervisor, "evaluation", evaluation_id, "签字确认", to_state="已确认",
                       note=f"总分 {current['total']}，{current['grade']}")
            if own_comment:
                self.event(own_at, assistant, "evaluation", evaluation_id, "本人意见", note=own_comment)
        self.write()

    # Monthly summaries

    def coverage(self, user, first, last):
        """`trends.coverage` from what the patrols wrote: per day, the zone's daily checkpoints owed (3 security
        posts, 6 shops, the renovations between their first and last day) and those checked. Checked against
        the app's own count in `summaries`."""
        zone = self.zone_of.get(user.id)
        if zone is None:
            return None
        owed = checked = 0
        for ordinal in range(first.toordinal(), last.toordinal() + 1):
            owed += self.owed.get((zone, ordinal), 0)
            checked += self.patrols.daily_checked.get((zone, ordinal), 0)
        return round(100 * checked / owed, 1) if owed else None

    def summaries(self):
        """Every assistant's summary of every whole month of the data: written and submitted in the first
        days of the next month, signed off by the supervisor a few days later, its figures then stored as
        `summaries.sign` stores them (`summaries.figures`, its coverage counted as above)."""
        self.owed = {}
        fixed = len(SECURITY_POSTS) + len(SHOPS)
        for zone in self.e["zones"]:
            for ordinal in range(self.first_day.toordinal(), self.end_day.toordinal() + 1):
                self.owed[zone, ordinal] = fixed
        for cp in self.patrols.renovations:
            first = max(cp["from"], self.first_day).toordinal()
            for ordinal in range(first, min(cp["until"], self.end_day).toordinal() + 1):
                self.owed[cp["zone"], ordinal] += 1
        users = {u.id: u for u in User.select().where(User.role == "assistant")}
        this_month = self.end_day.replace(day=1)
        checked_months = [this_month - relativedelta(months=n) for n in (1, 7)]
        for month in checked_months:
            if month >= self.first_day:
                user = users[self.assistants[0][0]]
                last = month + relativedelta(months=1) - datetime.timedelta(days=1)
                ours, theirs = self.coverage(user, month, last), trends.coverage(user, month, last)
                assert ours == theirs, ("coverage", month, ours, theirs)
        month = self.first_day.replace(day=1)
        if month < self.first_day:
            month += relativedelta(months=1)
        original = summary_rules.coverage
        summary_rules.coverage = self.coverage
        try:
            while month < this_month:
                for index, assistant in enumerate(self.assistants):
                    rng = random.Random(f"{self.seed}:summary:{index}:{(self.end_day - month).days}")
                    self.summary(rng, users[assistant[0]], assistant, month)
                month += relativedelta(months=1)
        finally:
            summary_rules.coverage = original
        self.write(("summary", MonthlySummary))

    def summary(self, rng, user, assistant, month):
        following = month + relativedelta(months=1)
        saved = _utc(following - datetime.timedelta(days=rng.randint(1, 3)), 17, rng.randint(0, 59)) + _micro(rng)
        submitted = _utc(_workday(following + datetime.timedelta(days=rng.randint(0, 4))), 16, rng.randint(0, 90)) \
            + _micro(rng)
        signed = _utc(_workday((submitted + LOCAL).date() + datetime.timedelta(days=rng.randint(1, 5))), 10,
                      rng.randint(0, 110)) + _micro(rng)
        draft_first = rng.random() < 0.5
        text = "".join(rng.sample(SUMMARY_TEXTS, 2))
        solutions = rng.choice(SOLUTIONS)
        comment = rng.choice(SUMMARY_COMMENTS)
        start = saved if draft_first else submitted
        if start > self.now:
            return
        cases = {str(t.id): f"原因：{t.case_cause}；处理：{t.case_handling}；预防：{t.case_prevention}"
                 for t in summary_rules.cases_of(user, month)[:3]}
        row = dict(id=len(self.rows["summary"]) + 1, version=1, user=assistant[0], month=month, state="draft",
                   summary="", solutions="", cases="{}", comment="", frozen="", signed_by=None, signed_at=None)
        self.rows["summary"].append(row)
        if draft_first:
            row.update(summary=text, solutions=solutions, cases=json.dumps(cases, ensure_ascii=False), version=2)
            self.event(saved, assistant, "monthlysummary", row["id"], "保存月度总结",
                       note=f"{month:%Y年%m月}，案例分析 {len(cases)} 篇")
        if submitted > self.now:
            return
        row.update(summary=text, solutions=solutions, cases=json.dumps(cases, ensure_ascii=False), state="submitted",
                   version=row["version"] + 1)
        self.event(submitted, assistant, "monthlysummary", row["id"], "提交月度总结",
                   note=f"{month:%Y年%m月}，案例分析 {len(cases)} 篇")
        if signed > self.now:
            return
        row.update(state="signed", comment=comment, signed_by=self.supervisor[0], signed_at=signed,
                   frozen=json.dumps(summary_rules.figures(user, month), ensure_ascii=False),
                   version=row["version"] + 1)
        self.event(signed, self.supervisor, "monthlysummary", row["id"], "签阅月度总结", note=comment)


def _flush(world):
    """Write the rows gathered so far, parents first."""
    rows = world.rows
    if rows["ticket"]:
        fields = [getattr(Ticket, f) for f in TICKET_FIELDS]
        data = [tuple(t[f] for f in ["id"] + TICKET_FIELDS) for t in rows["ticket"]]
        _insert(Ticket, [Ticket.id] + fields, data)
    if rows["order"]:
        fields = [getattr(WorkOrder, f) for f in ORDER_FIELDS]
        _insert(WorkOrder, [WorkOrder.id] + fields, [_order_values(o) for o in rows["order"]])
    index = words.TicketSearch
    _insert(index, [index.rowid, index.words, index.chars],
            [(r["rowid"], r["words"], r["chars"]) for r in (words.index_row(i, text) for i, text in rows["text"])])
    _insert(Event, [Event.at, Event.actor_id, Event.actor_name, Event.record_type, Event.record_id, Event.action,
                    Event.from_state, Event.to_state, Event.note, Event.data], rows["event"])
    _insert(CallBack, [CallBack.record_id, CallBack.at, CallBack.by, CallBack.method, CallBack.result, CallBack.words,
                       CallBack.record_type], [(*row, "ticket") for row in rows["followup"]])
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


def _day_by_day(days, one_day, flush, counted, started, quiet, label=""):
    """Each day of the data, oldest first (`one_day(days before the end)`), the rows written out every 30
    days, with a progress line saying how far and what is `counted` so far."""
    for days_before_end in range(days - 1, -1, -1):
        one_day(days_before_end)
        if days_before_end % 30 == 0:
            with db.database.atomic():
                flush()
            if not quiet:
                print(f"\r  {label}{days - days_before_end}/{days} days, {counted()}, "
                      f"{time.perf_counter() - started:.0f} s", end="", file=sys.stderr, flush=True)


def schema_fingerprint():
    """A short hash of the app's tables, columns and indexes: a cached database is rebuilt when they change."""
    import hashlib
    import peewee

    # Where the models' database is a proxy bound only when a database is opened, the SQL is written
    # for an unopened SQLite database (the bench's), as it would be once bound to the bench file.
    if isinstance(db.database, peewee.DatabaseProxy) and db.database.obj is None:
        db.database.initialize(peewee.SqliteDatabase(None))
    tables = []
    for model in db.all_models():
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
    _day_by_day(days, lambda before_end: _day(world, estate, seed, per_year, before_end, end),
                lambda: _flush(world), lambda: f"{world.counts['ticket']} tickets", started, quiet)
    with database.atomic():
        _flush(world)
    tickets_done = time.perf_counter()
    patrols = Patrols(world, estate, seed, days, end)
    with database.atomic():
        patrols.fixed()
        patrols.plan_renovations(days)
        patrols.write_checkpoints()
    _day_by_day(days, patrols.day, patrols.flush, lambda: f"{patrols.counts['check']} checks", started, quiet,
                "patrols: ")
    with database.atomic():
        patrols.flush()
        patrols.finish()
    patrols_done = time.perf_counter()
    customers = Customers(world, estate, seed, days, end)
    with database.atomic():
        customers.fixed()
    _day_by_day(days, customers.day, customers.flush, lambda: f"{customers.counts['visit']} visits", started,
                quiet, "visits: ")
    register = Register(world, estate, seed, days, end, patrols)
    staff = Staff(world, estate, seed, days, end, patrols)
    with database.atomic():
        customers.flush()
        register.build()
        register.flush()
        staff.meetings()
        staff.write_meetings()
        _insert(Sequence, [Sequence.key, Sequence.value],
                [(f"KS{day}", n) for day, n in world.ks.items()] + [(f"PD{day}", n) for day, n in world.pd.items()]
                + [(f"ZG{day}", n) for day, n in patrols.zg.items()]
                + [(f"FW{day}", n) for day, n in customers.fw.items()]
                + [(f"renovation-notice-{year}", n) for year, n in register.notice_series.items()])
    areas_done = time.perf_counter()
    with database.atomic():
        for model in BULK:
            model._schema.create_indexes(safe=True)
    indexes_done = time.perf_counter()
    # The evaluations and summaries signed off store what the app measures from the records: measured
    # here, through the app's own functions, once every record is in and indexed.
    with clock.set_to(end.replace(tzinfo=datetime.timezone.utc)), database.atomic():
        staff.evaluations()
        staff.sign_evaluations()
        staff.summaries()
    staff_done = time.perf_counter()
    database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.close()
    seconds = time.perf_counter() - started
    if not quiet:
        print(file=sys.stderr)
    counts = {"households": HOUSEHOLDS, "tickets": world.counts["ticket"],
              "work_orders": world.counts["order"] + patrols.counts["order"] + customers.counts["order"],
              "events": sum(area.counts["event"] for area in (world, patrols, customers, register, staff)),
              "followups": world.counts["followup"], "notices": world.counts["notice"],
              "checkpoints": len(patrols.checkpoints), "checks": patrols.counts["check"],
              "findings": patrols.counts["finding"], "rectification_orders": patrols.counts["order"],
              "observations": patrols.counts["observation"], "shops": len(patrols.register[Shop]),
              "licences": len(patrols.register[Licence]), "urgings": len(patrols.register[Urging]),
              "visits": customers.counts["visit"], "opinions": customers.counts["opinion"],
              "needs": customers.counts["need"], "service_orders": customers.counts["service"],
              "service_callbacks": customers.counts["callback"], "profiles": customers.counts["profile"],
              "renovations": register.counts["renovation"], "renovation_checkpoints": len(patrols.renovations),
              "violations": register.counts["violation"], "renovation_notices": register.counts["notice"],
              "referrals": register.counts["referral"], "meetings": staff.counts["meeting"],
              "evaluations": staff.counts["evaluation"], "evaluations_signed": len(staff.signed),
              "summaries": staff.counts["summary"]}
    os.replace(partial, path)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(partial + suffix):
            os.remove(partial + suffix)
    meta = {"path": os.path.relpath(path, ROOT), "years": years, "tickets_per_year": per_year, "seed": seed,
            "end_utc": end.isoformat(), "end_local": (end + LOCAL).isoformat(), "counts": counts,
            "build_seconds": round(seconds, 1), "patrol_seconds": round(patrols_done - tickets_done, 1),
            "areas_seconds": round(areas_done - patrols_done, 1), "index_seconds": round(indexes_done - areas_done, 1),
            "staff_seconds": round(staff_done - indexes_done, 1),
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
