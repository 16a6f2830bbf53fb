"""Every printed document kind, fetched from the demo estate: shared by tests/test_prints.py and
`make prints` (which runs this file and writes each kind's pages as PNG into prints/).

A kind is a name, the role that prints it, how to find the record in the demo estate, and how many
pages it may take. Each has three variants: as the demo has it, with every long text made long, and
with many photos attached to what it prints.
"""
import dataclasses
import datetime
import io
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

LONG = ("装修施工噪音超出规定时段，且多次在楼道内堆放建筑垃圾，影响其他住户正常通行与休息，"
        "经劝阻后仍未改正，") * 6
CLAUSE = "《装修管理服务协议》第五条第三款：施工时间为工作日 8:00–12:00、14:00–18:00，节假日不得进行产生噪音的施工"
PHOTOS = 9


@dataclasses.dataclass
class Kind:
    code: str          # file name
    title: str         # what the document says at the top
    role: str          # the demo login that prints it
    find: object       # (app) -> URL, inside an app context
    pages: tuple       # (fewest, most) pages as the demo has it
    keep: tuple = ()   # texts that must all be on one page (a block that never splits)
    landscape: bool = False
    outside: bool = False   # goes outside the service centre: carries the letterhead and a seal space
    draft: bool = False     # unsigned in the demo: carries the 草稿 mark
    long: object = None     # (record) -> None: makes its texts long
    photos: object = None   # (record) -> owner records to attach photos to


def _users():
    from kefu.users import User

    return {u.username: u for u in User.select()}


def _renovation_notice():
    from kefu.renovations import RectificationNotice

    # The notice with the most violations, served: its slip shows who signed.
    notices = [n for n in RectificationNotice.select().where(RectificationNotice.voided_at.is_null())]
    return max(notices, key=lambda n: (n.is_served, n.violations().count(), n.id))


def _shop_notice():
    from kefu.shops import ShopNotice

    return ShopNotice.select().where(ShopNotice.voided_at.is_null()).order_by(ShopNotice.id.desc()).get()


def _referral():
    from kefu.renovations import Referral

    return Referral.select().order_by(Referral.id).get()


def _ticket():
    from kefu.tickets import Ticket
    from kefu.workorders import WorkOrder

    ordered = WorkOrder.select(WorkOrder.source_id).where((WorkOrder.source_type == "ticket")
                                                          & (WorkOrder.rework_count > 0))
    return Ticket.select().where(Ticket.id.in_(ordered)).order_by(Ticket.id).get()


def _outage():
    from kefu.residents import Outage

    return Outage.live().order_by(Outage.id).get()


def _outage_model():
    from kefu.residents import Outage

    return Outage


def _order(source_type):
    from kefu.workorders import WorkOrder

    return (WorkOrder.select().where((WorkOrder.source_type == source_type) & (WorkOrder.state == "approved"))
            .order_by(WorkOrder.rework_count.desc(), WorkOrder.id).get())


def _service_order():
    """A personal service's work order (派工单 from 个性化服务), the furthest along there is."""
    from kefu.workorders import WorkOrder

    return (WorkOrder.select().where(WorkOrder.source_type == "service")
            .order_by((WorkOrder.state == "approved").desc(), WorkOrder.rework_count.desc(), WorkOrder.id).get())


def _summary(signed):
    from kefu.summaries import MonthlySummary

    query = MonthlySummary.select().where(MonthlySummary.signed_at.is_null(not signed))
    return query.order_by(MonthlySummary.month.desc()).get()


def _evaluation(signed):
    from kefu import evaluations
    from kefu.evaluations import Evaluation

    if not signed and not Evaluation.live().where(Evaluation.signed_at.is_null()).exists():
        # The demo signs every evaluation off: open the next one due, as the supervisor would.
        for user in (_users()["zhuli1"], _users()["zhuli2"]):
            done = {e.period_start for e in Evaluation.live().where(Evaluation.user == user)}
            for start, end, _kind in evaluations.periods(evaluations.start_of(user), _today()):
                if start not in done and end < _today():
                    return evaluations.open_evaluation(_users()["zhuguan"], user, start)
    query = Evaluation.select().where(Evaluation.voided_at.is_null() & Evaluation.signed_at.is_null(not signed))
    return query.order_by(Evaluation.period_start.desc()).get()


def _today():
    from kefu import clock
    from kefu.estate import Estate

    return clock.today(Estate.current().tz)


def _workday():
    """Yesterday, or the last weekday before it (a full day of patrols and work)."""
    day = _today() - datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day -= datetime.timedelta(days=1)
    return day


def _meeting():
    from kefu.meetings import Meeting

    return Meeting.live().order_by(Meeting.day.desc()).get()


def _service():
    from kefu.services import ServiceOrder

    return ServiceOrder.select().where(ServiceOrder.agreed_at.is_null(False)).order_by(ServiceOrder.id.desc()).get()


def _long_notice(notice):
    from kefu.renovations import Violation

    type(notice).update(demand=LONG, clauses=CLAUSE).where(type(notice).id == notice.id).execute()
    ids = [v.id for v in notice.violations()] if hasattr(notice, "violations") else []
    Violation.update(description=LONG, clause=CLAUSE).where(Violation.id.in_(ids)).execute()
    if hasattr(type(notice), "problem"):
        type(notice).update(problem=LONG).where(type(notice).id == notice.id).execute()


def _notice_photo_owners(notice):
    if hasattr(notice, "violations"):
        return list(notice.violations())
    from kefu import shops

    finding = shops.finding_of(notice)
    return [finding] if finding else []


def _long_text(model, **fields):
    def make_long(record):
        model_class = model()
        model_class.update(**fields).where(model_class.id == record.id).execute()
    return make_long


def _ticket_model():
    from kefu.tickets import Ticket

    return Ticket


def _order_model():
    from kefu.workorders import WorkOrder

    return WorkOrder


def _summary_model():
    from kefu.summaries import MonthlySummary

    return MonthlySummary


def _long_referral(referral):
    from kefu.renovations import Violation

    ids = [v.id for v in referral.renovation.violations]
    Violation.update(description=LONG, clause=CLAUSE, recheck_note=LONG[:200]).where(Violation.id.in_(ids)).execute()


def _long_worklog(day_url):
    def make_long(_record):
        from kefu import worklog
        from kefu.worklog import WorkNote

        user = _users()["zhuli1"]
        first = worklog.week_of(_workday())[0] if "week" in day_url else _workday()
        for i in range(4):
            WorkNote.create(user=user, day=first, text=LONG[:300], at=datetime.datetime.combine(
                first, datetime.time(3 + i)))
    return make_long


def _long_meeting(meeting):
    from kefu.meetings import Meeting

    Meeting.update(decisions="\n".join([LONG[:150]] * 6)).where(Meeting.id == meeting.id).execute()


def _long_service(order):
    from kefu.services import ServiceOrder

    ServiceOrder.update(request=LONG[:400]).where(ServiceOrder.id == order.id).execute()


def _long_evaluation(evaluation):
    from kefu.evaluations import Evaluation

    Evaluation.update(comment=LONG[:400], assistant_comment=LONG[:300]).where(Evaluation.id == evaluation.id).execute()


def _long_shops(_record):
    from kefu.shops import Shop

    Shop.update(name="兰州正宗牛肉拉面馆（阳光花园沿街店）").where(Shop.id.in_(
        Shop.select(Shop.id).order_by(Shop.id).limit(5))).execute()


def _long_cases(_record):
    from kefu.tickets import Ticket

    Ticket.update(case_cause=LONG[:300], case_handling=LONG[:400], case_prevention=LONG[:200]).where(Ticket.is_case).execute()


def _long_checkpoints(_record):
    from kefu.patrols import Checkpoint

    Checkpoint.update(name="兰州正宗牛肉拉面馆（阳光花园沿街店）").where(Checkpoint.kind == "shop").execute()


def _self(record):
    return [record]


def _url(endpoint, **values):
    from flask import url_for

    return url_for(endpoint, **values)


KINDS = [
    Kind("renovation-notice", "整 改 通 知 书", "zhuli1",
         lambda: (_renovation_notice(), _url("renovations.notice_pdf", notice_id=_renovation_notice().id)),
         (1, 1), keep=("盖章", "✂", "签收回执", "签收人", "签收日期", "拒签时见证人", "送达时间"), outside=True,
         long=_long_notice, photos=_notice_photo_owners),
    Kind("shop-notice", "整 改 通 知 书", "zhuli2",
         lambda: (_shop_notice(), _url("shops.notice_pdf", notice_id=_shop_notice().id)),
         (1, 1), keep=("盖章", "✂", "签收回执", "签收人", "签收日期", "拒签时见证人", "送达时间"), outside=True,
         long=_long_notice, photos=_notice_photo_owners),
    Kind("referral-dossier", "情况报告", "zhuli1",
         lambda: (_referral(), _url("renovations.dossier_pdf", referral_id=_referral().id)),
         (2, 4), keep=("经办客户助理：", "客服主管："), outside=True, long=_long_referral, photos=lambda r: list(r.renovation.violations)),
    Kind("stickers", "巡查点二维码", "zhuguan",
         lambda: (None, _url("patrols.stickers")), (4, 4), long=_long_checkpoints),
    Kind("patrol-record", "现场巡查记录", "zhuli1",
         lambda: (None, _url("patrols.record_pdf", day=_workday().isoformat())), (1, 2), landscape=True,
         keep=("客户助理签字：", "客服主管审核：")),
    Kind("household-roster", "住户花名册", "qiantai",
         lambda: (None, _url("estate.roster_pdf", building_id=1)), (2, 6), landscape=True, outside=True,
         keep=("制表人：", "核对人：", "盖章")),
    Kind("shop-register", "商铺登记表", "zhuguan",
         lambda: (None, _url("shops.register_pdf")), (1, 3), landscape=True, outside=True, long=_long_shops,
         keep=("客户助理：", "客服主管：", "盖章")),
    Kind("worklog-day", "客户助理工作记录", "zhuli1",
         lambda: (None, _url("worklog.day_pdf", user_id=_users()["zhuli1"].id, day=_workday().isoformat())),
         (1, 3), keep=("客户助理：", "客服主管审阅："), long=_long_worklog("day")),
    Kind("worklog-week", "客户助理工作记录", "zhuli1",
         lambda: (None, _url("worklog.day_pdf", user_id=_users()["zhuli1"].id, day=_workday().isoformat(),
                             week=1)), (2, 12), keep=("客户助理：", "客服主管审阅："), long=_long_worklog("week")),
    Kind("ticket", "客户诉求处理记录", "zhuli1",
         lambda: (_ticket(), _url("tickets.print_ticket", ticket_id=_ticket().id)), (1, 3), keep=("客户助理：", "客服主管："),
         long=_long_text(_ticket_model, description=LONG), photos=_self),
    Kind("work-order", "派 工 单", "zhuli1",
         lambda: (_order("ticket"), _url("workorders.print_order", order_id=_order("ticket").id)), (1, 2),
         keep=("作业人员签字", "验收签字"),
         long=_long_text(_order_model, instructions=LONG, report_note=LONG[:200]), photos=_self),
    Kind("service-work-order", "派 工 单", "zhuli1",
         lambda: (_service_order(), _url("workorders.print_order", order_id=_service_order().id)), (1, 2),
         keep=("作业人员签字", "验收签字"),
         long=_long_text(_order_model, instructions=LONG, report_note=LONG[:200]), photos=_self),
    Kind("rectification-order", "整 改 单", "zhuli1",
         lambda: (_order("finding"), _url("workorders.print_order", order_id=_order("finding").id)), (1, 2),
         keep=("作业人员签字", "验收签字"),
         long=_long_text(_order_model, instructions=LONG, report_note=LONG[:200]), photos=_self),
    Kind("monthly-summary", "客户助理月度工作总结", "zhuguan",
         lambda: (_summary(True), _url("summaries.show_pdf", user_id=_summary(True).user_id,
                                       month=f"{_summary(True).month:%Y-%m}")), (1, 3),
         keep=("客户助理签字", "客服主管签字"),
         long=_long_text(_summary_model, summary="\n".join([LONG[:200]] * 4), solutions="\n".join([LONG[:150]] * 3))),
    Kind("monthly-summary-draft", "客户助理月度工作总结", "zhuguan",
         lambda: (_summary(False), _url("summaries.show_pdf", user_id=_summary(False).user_id,
                                        month=f"{_summary(False).month:%Y-%m}")), (1, 3), draft=True,
         keep=("客户助理签字", "客服主管签字")),
    Kind("evaluation", "客户助理岗位评估表", "zhuguan",
         lambda: (_evaluation(True), _url("evaluations.form_pdf", evaluation_id=_evaluation(True).id)), (1, 2),
         keep=("被评估人签字", "客服主管签字", "经理签字"), long=_long_evaluation),
    Kind("evaluation-draft", "客户助理岗位评估表", "zhuguan",
         lambda: (_evaluation(False), _url("evaluations.form_pdf", evaluation_id=_evaluation(False).id)), (1, 2),
         draft=True, keep=("被评估人签字", "客服主管签字", "经理签字")),
    Kind("meeting-minutes", "会议纪要", "zhuguan",
         lambda: (_meeting(), _url("meetings.minutes_pdf", meeting_id=_meeting().id)), (2, 3),
         keep=("记录人：", "主持人："), long=_long_meeting),
    Kind("service-confirmation", "服务确认单", "zhuli1",
         lambda: (_service(), _url("services.confirmation_pdf", service_id=_service().id)), (1, 1),
         keep=("已向客户说明", "客户确认", "盖章"), outside=True, long=_long_service),
    Kind("case-booklet", "案例汇编", "zhuguan",
         lambda: (None, _url("tickets.cases_pdf")), (2, 40), long=_long_cases),
    Kind("resident-posters", "扫码报事报修", "zhuguan",
         lambda: (None, _url("residents.posters")), (21, 21)),
    Kind("intake-slip", "客户诉求受理回执", "qiantai",
         lambda: (_ticket(), _url("residents.slip", ticket_id=_ticket().id)), (1, 1),
         keep=("查看进度", "受理人", "盖章"), outside=True, long=_long_text(_ticket_model, description=LONG)),
    Kind("outage-notice", "停水公告", "zhuguan",
         lambda: (_outage(), _url("residents.outage_pdf", outage_id=_outage().id)), (1, 1), outside=True, keep=("盖章",),
         long=_long_text(_outage_model, detail=LONG, advice=LONG[:200])),
]

BY_CODE = {k.code: k for k in KINDS}


def jpeg(index, size=(1200, 900)):
    """A photo's bytes: a coloured field with a number, so pages differ."""
    from PIL import Image
    from PIL import ImageDraw

    image = Image.new("RGB", size, ((index * 70) % 255, (index * 130) % 255, 180))
    ImageDraw.Draw(image).rectangle((100, 100, 400, 300), fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def attach_photos(app, owners, count=PHOTOS):
    """Attach `count` photos to each of `owners` (the demo has none)."""
    from kefu import uploads
    from kefu.users import User

    uploader = User.select().order_by(User.id).get()
    for owner in owners:
        for i in range(count):
            uploads.attach([uploads.store(app.config["PHOTOS"], uploader, jpeg(i))], owner)


def prepare(app, kind, variant):
    """Change the demo estate for a variant and return the URL of the document to print."""
    record, url = kind.find()
    if variant == "long" and kind.long:
        kind.long(record)
        record, url = kind.find()
    if variant == "photos" and kind.photos:
        attach_photos(app, kind.photos(record))
    return url


def variants(kind):
    return ["demo"] + (["long"] if kind.long else []) + (["photos"] if kind.photos else [])


def build_demo(folder):
    """The demo estate in a new instance folder (as `flask demo` makes it)."""
    from kefu import create_app
    from kefu import db
    from kefu import demo

    app = create_app({"TESTING": True, "INSTANCE": folder, "SCHEDULER": False, "WTF_CSRF_ENABLED": False,
                      "DATABASE": os.path.join(folder, "kefu.sqlite3"), "PHOTOS": os.path.join(folder, "photos"),
                      "PUBLIC_URL": "https://kefu.example.cn"})
    with app.app_context(), db.database.connection_context():
        demo.build()
    db.database.close()
    return os.path.join(folder, "kefu.sqlite3")


def open_app(folder, template_db, **config):
    """An app on a copy of the demo database in `folder`."""
    from kefu import create_app

    os.makedirs(folder, exist_ok=True)
    database = os.path.join(folder, "kefu.sqlite3")
    shutil.copyfile(template_db, database)
    settings = {"TESTING": True, "INSTANCE": folder, "SCHEDULER": False, "WTF_CSRF_ENABLED": False,
                "DATABASE": database, "PHOTOS": os.path.join(folder, "photos"),
                "PUBLIC_URL": "https://kefu.example.cn"}
    settings.update(config)
    return create_app(settings)


def fetch(app, kind, variant="demo"):
    """The PDF bytes of one kind and variant, printed by its role."""
    from kefu import db
    from kefu import demo

    with app.test_request_context():
        db.database.connect(reuse_if_open=True)
        url = prepare(app, kind, variant)
        db.database.close()
    client = app.test_client()
    signed_in = client.post("/login", data={"username": kind.role, "password": demo.PASSWORD})
    assert signed_in.status_code == 303, kind.role
    response = client.get(url)
    assert response.status_code == 200, (kind.code, url, response.status_code)
    assert response.mimetype == "application/pdf"
    return response.data


def main(out="prints"):
    """`make prints`: every kind and variant as PDF and PNG pages in `out/`."""
    import tempfile

    out = os.path.join(ROOT, out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    work = tempfile.mkdtemp(prefix="kefu-prints-")
    try:
        template = build_demo(os.path.join(work, "demo"))
        for kind in KINDS:
            for variant in variants(kind):
                app = open_app(os.path.join(work, f"{kind.code}-{variant}"), template)
                name = f"{kind.code}-{variant}"
                data = fetch(app, kind, variant)
                with open(os.path.join(out, name + ".pdf"), "wb") as handle:
                    handle.write(data)
                subprocess.run(["pdftoppm", "-png", "-r", "60", os.path.join(out, name + ".pdf"),
                                os.path.join(out, name)], check=True)
                print(f"{name}.pdf")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"打印样张已写入 {out}/")


if __name__ == "__main__":
    main(*sys.argv[1:])
