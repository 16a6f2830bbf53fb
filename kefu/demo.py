"""The demo estate 阳光花园, created on first start in demo mode (never otherwise)."""
import datetime

from . import estate
from . import users
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

        estate.set_zone(admin, None, 1, "一区（1–4号楼）", "", [buildings[c].id for c in "1234"], [zhuli1.id])
        estate.set_zone(admin, None, 1, "二区（5–8号楼）", "", [buildings[c].id for c in "5678"], [zhuli2.id])
        return {"admin": admin, "supervisor": supervisor}
