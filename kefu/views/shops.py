"""商铺 on the phone: the register (filtered, searched), registering and editing a shop with its
history, the business licence, urging the unlicensed, notices given to operators, government
inspections, and the A4 register for inspectors."""
from flask import Blueprint
from flask import abort
from flask import request
from flask import url_for
from flask_login import current_user
from wtforms import DateField
from wtforms import RadioField
from wtforms import SelectField
from wtforms.validators import InputRequired
from wtforms.validators import Optional

from .. import access
from .. import clock
from .. import events
from .. import patrols
from .. import pdf
from .. import shops as rules
from .. import uploads
from ..auth import roles
from ..db import Prepared
from ..db import RuleError
from ..db import StaleRecord
from ..estate import Zone
from ..shops import Inspection
from ..shops import Shop
from ..shops import ShopNotice
from ..web import done
from ..web import estate
from ..web import invalid
from ..web import render
from . import choices
from . import patrols as patrol_views
from . import photos as photo_views
from . import record_or_404
from . import rectification as notice_views
from .forms import MultiCheckboxField
from .forms import TokenForm
from .forms import VersionForm
from .forms import form_page
from .forms import long_text
from .forms import making_page
from .forms import only_choice
from .forms import show_error
from .forms import text

bp = Blueprint("shops", __name__)

HANDLERS = ("supervisor", "assistant")


def _zone_ids():
    return access.work_zone_ids(current_user)


def _shop(shop_id):
    return record_or_404(Shop.live(), shop_id)


photo_views.OWNER_ACCESS["shop"] = photo_views.seen_with(Shop)
photo_views.OWNER_ACCESS["licence"] = photo_views.seen_with(rules.Licence)
photo_views.OWNER_ACCESS["inspection"] = photo_views.seen_with(Inspection)


def _shop_answers(checkpoint, items):
    """A shop that doesn't cook starts its check with 油烟排放 answered 不适用."""
    shop = rules.for_checkpoint(checkpoint)
    if shop is None or shop.food:
        return {}
    return {item.id: "na" for item in items if item.text == "油烟排放"}


patrol_views.DEFAULT_ANSWERS["shop"] = _shop_answers


def _list_back():
    """The register as it was filtered when the user left it (`?back=/shops?licence=…`), so 返回 and a
    saved 督促 come back to it; only the register's own address is taken."""
    target = request.args.get("back", "")[:300]
    if target == "/shops" or target.startswith("/shops?"):
        return target
    return None


@bp.route("/shops")
@roles(*HANDLERS)
def index():
    """商铺: the register, by state, type and licence status, searched by name, operator or credit code."""
    zone_ids = _zone_ids()
    args = {key: request.args.get(key, "")[:40] for key in ("q", "state", "type", "licence")}
    rows = rules.search(zone_ids, args["q"], args["state"], args["type"], args["licence"])
    unlicensed, expiring = rules.licence_summary(zone_ids)
    # The unlicensed and expiring shops carry their latest urging: what was said, the day promised.
    urgings = rules.last_urgings([shop.id for shop, _licence, status in rows
                                  if status in ("none", "expired", "expiring")])
    here = url_for("shops.index", **{k: v for k, v in args.items() if v})
    return render("shops/index.html", block="results", title="商铺", rows=rows, args=args, urgings=urgings,
                  here=here, overdue=rules.promise_overdue,
                  back=url_for("patrols.index"), states=rules.STATES, types=rules.TYPES, labels=rules.STATUS_LABELS,
                  unlicensed=unlicensed, expiring=expiring,
                  to_recheck=rules.notices_to_recheck(zone_ids), today=clock.today(estate().tz),
                  notice_labels=rules.NOTICE_STATES)


class ShopForm(VersionForm, TokenForm):
    name = text("店名", 60)
    unit_no = text("铺位号", 20, render_kw={"placeholder": "如 商业街 S-03"})
    # One tap on the phone (chips), not a select's two.
    business_type = RadioField("经营类型", choices=choices((t, t) for t in rules.TYPES),
                               validators=[InputRequired(rules.TYPE_MISSING)])
    operator_name = text("经营者", 40)
    operator_phone = text("经营者电话", 20, required=False, render_kw={"inputmode": "tel", "type": "tel"})
    property_owner = text("产权人（与经营者不同时填）", 60, required=False)
    opened_on = DateField("开业日期", validators=[Optional()])
    state = SelectField("状态", choices=choices((s, s) for s in rules.STATES))
    zone = SelectField("管辖区域", coerce=int)
    note = long_text("备注", 1000, render_kw={"rows": 2})
    transfer_on = DateField("转让日期", validators=[Optional()], description="更换经营者（转让）时填：新经营者从哪天起经营，不填为今天")


def _shop_form(shop=None):
    form = ShopForm()
    zones = list(Zone.live().where(Zone.id.in_(_zone_ids())).order_by(Zone.name))
    form.zone.choices = choices([(z.id, z.name) for z in zones])
    only_choice(form.zone)
    if request.method == "GET" and shop is not None:
        for name in ("name", "unit_no", "business_type", "operator_name", "operator_phone", "property_owner",
                     "opened_on", "state", "note"):
            getattr(form, name).data = getattr(shop, name)
        form.zone.data, form.version.data = shop.zone_id, shop.version
    return form, zones


def _fields(form, zones):
    return dict(name=form.name.data, unit_no=form.unit_no.data, business_type=form.business_type.data,
                operator_name=form.operator_name.data, operator_phone=form.operator_phone.data or "",
                property_owner=form.property_owner.data or "", opened_on=form.opened_on.data, state=form.state.data,
                zone=next((z for z in zones if z.id == form.zone.data), None), note=form.note.data or "")


@bp.route("/shops/new", methods=["GET", "POST"])
@roles(*HANDLERS)
def new():
    """商铺登记: one page — name, 铺位号, type, operator, owner, opening date, state, frontage photos."""
    form, zones = _shop_form()
    photo_field = photo_views.PhotoField(label="门面照片")
    if request.method == "POST":
        photo_field.collect()
    form.ensure_token()
    if form.validate_on_submit() and not photo_field.errors:
        try:
            shop, created = rules.register(current_user, photos=photo_field.photos, token=form.token.data,
                                           **_fields(form, zones))
            return done(f"已登记 {shop.unit_no} {shop.name}" if created else "这次登记已保存过，未重复登记",
                        "shops.show", shop_id=shop.id)
        except RuleError as error:
            show_error(form, error)
    context = dict(form=form, photo_field=photo_field, title="商铺登记", back=url_for("shops.index"), shop=None)
    if request.method == "POST":
        return invalid("shops/form.html", **context)
    return render("shops/form.html", **context)


@bp.route("/shops/<int:shop_id>/edit", methods=["GET", "POST"])
@roles(*HANDLERS)
def edit(shop_id):
    """更新登记: every change is kept as a dated version; a new operator starts a new record."""
    shop = _shop(shop_id)
    form, zones = _shop_form(shop)
    here = url_for("shops.show", shop_id=shop.id)
    operator = shop.operator_name

    def apply():
        changed = rules.update(current_user, shop, form.expected_version(), transfer_on=form.transfer_on.data,
                               **_fields(form, zones))
        if changed.operator_name != operator:  # 转让: the new operator's licence comes next
            return done(f"已更新登记。经营者已变更为{changed.operator_name}，请登记新经营者的营业执照",
                        "shops.licence", shop_id=shop.id)
        return done("已更新登记，原来的情况保留在变更记录里", "shops.show", shop_id=shop.id)

    return _edit_page(form, apply, shop, here)


def _edit_page(form, apply, shop, here):
    """The edit form: on a valid POST `apply()` answers where to go next; otherwise the form again."""
    context = dict(form=form, shop=shop, title="更新登记", back=here, photo_field=None)
    if form.validate_on_submit():
        try:
            return apply()
        except RuleError as error:
            show_error(form, error)
        except StaleRecord as error:
            form.form_errors.append(error.message)
    if request.method == "POST":
        return invalid("shops/form.html", **context)
    return render("shops/form.html", **context)


@bp.route("/shops/<int:shop_id>")
@roles(*HANDLERS)
def show(shop_id):
    """A shop's card: licence, open problems, last patrol, urgings, notices, inspections, history."""
    shop = _shop(shop_id)
    licence = rules.licence_of(shop)
    checkpoint = patrols.Checkpoint.by_id(shop.checkpoint_id) if shop.checkpoint_id else None
    findings = _OPEN_FINDINGS(shop.checkpoint_id) if shop.checkpoint_id else []
    back = _list_back()
    return render("shops/show.html", shop=shop, title=shop.name, back=back or url_for("shops.index"), licence=licence,
                  list_back=back, mismatch=rules.licence_mismatch(shop, licence) if shop.state != "空置" else "",
                  licence_state=rules.shop_status(shop, licence), labels=rules.STATUS_LABELS, checkpoint=checkpoint,
                  findings=findings, photos=list(uploads.Photo.of(shop)),
                  licence_photos=list(uploads.Photo.of(licence)) if licence else [],
                  versions=_VERSIONS(shop.id), operators=_OPERATORS(shop.id), urgings=_URGINGS(shop.id),
                  communications=_COMMUNICATIONS(shop.id), inspections=_INSPECTIONS(shop.id),
                  notices=_NOTICES(shop.id), notice_labels=rules.NOTICE_STATES,
                  timeline=events.timeline(shop), today=clock.today(estate().tz))


# The shop card's lists, each one query written once (building them cost more than running them).
def _of_shop(model, newest_first):
    """The shop's rows of `model`, newest first by `newest_first`."""
    return Prepared(model, lambda shop_id: model.select().where(model.shop == shop_id).order_by(newest_first.desc()), -1)


_OPEN_FINDINGS = Prepared(patrols.Finding, lambda checkpoint_id: patrols.Finding.select().where(
    (patrols.Finding.checkpoint == checkpoint_id) & patrols.Finding.state.in_(patrols.FINDING_OPEN))
    .order_by(patrols.Finding.created_at.desc()), -1)
_VERSIONS = _of_shop(rules.ShopVersion, rules.ShopVersion.number)
_OPERATORS = _of_shop(rules.Operator, rules.Operator.since)
_URGINGS = _of_shop(rules.Urging, rules.Urging.at)
_COMMUNICATIONS = _of_shop(rules.Communication, rules.Communication.at)
_NOTICES = _of_shop(ShopNotice, ShopNotice.issued_at)
_INSPECTIONS = Prepared(Inspection, lambda shop_id: Inspection.select().join(rules.InspectionShop).where(
    rules.InspectionShop.shop == shop_id).order_by(Inspection.day.desc()), -1)


class LicenceForm(VersionForm):
    credit_code = text("统一社会信用代码", 30, render_kw={"autocapitalize": "characters", "autocomplete": "off"})
    holder = text("执照名称", 60)
    operator = text("经营者 / 法定代表人", 40, required=False, description="执照上写的经营者或法定代表人")
    scope = long_text("经营范围", 1000, render_kw={"rows": 2})
    valid_until = DateField("有效期至", validators=[Optional()], description="长期有效的不填")


@bp.route("/shops/<int:shop_id>/licence", methods=["GET", "POST"])
@roles(*HANDLERS)
def licence(shop_id):
    """营业执照: the credit code (checked), holder, scope, valid until, a photo of the copy."""
    shop = _shop(shop_id)
    form = LicenceForm()
    photo_field = photo_views.PhotoField(label="执照复印件照片")
    if request.method == "GET":
        form.holder.data, form.operator.data = shop.name, shop.operator_name
    else:
        photo_field.collect()
    here = url_for("shops.show", shop_id=shop.id)
    return form_page(form, lambda: rules.record_licence(current_user, shop, form.credit_code.data, form.holder.data,
                                                        form.scope.data or "", form.valid_until.data,
                                                        photo_field.photos, operator=form.operator.data or ""),
                     "已登记营业执照", here, "shops/licence.html", ready=not photo_field.errors, shop=shop,
                     photo_field=photo_field, title="营业执照", back=here)


class UrgeForm(VersionForm):
    method = SelectField("督促方式", choices=choices((m, m) for m in rules.URGE_METHODS))
    said = long_text("经营者怎么说", 500, required=True, message="请写明经营者的答复", render_kw={"rows": 2})
    promised_on = DateField("承诺办好日期", validators=[Optional()])


@bp.route("/shops/<int:shop_id>/urge", methods=["GET", "POST"])
@roles(*HANDLERS)
def urge(shop_id):
    """督促办照: when, how, what the operator said, the date they promised."""
    shop = _shop(shop_id)
    form = UrgeForm()
    here = _list_back() or url_for("shops.show", shop_id=shop.id)
    return form_page(form, lambda: rules.urge(current_user, shop, form.method.data, form.said.data,
                                              form.promised_on.data), f"已记录督促 {shop.unit_no} {shop.name}", here,
                     "shops/urge.html", shop=shop, title="督促办理营业执照", back=here,
                     last=rules.last_urgings([shop.id]).get(shop.id))


class CommunicationForm(VersionForm):
    topic = text("宣传内容", 40, render_kw={"placeholder": "如 消防宣传、垃圾分类、油烟整治"})
    receiver = text("接收人", 40)
    note = long_text("说明", 500, render_kw={"rows": 2})


@bp.route("/shops/<int:shop_id>/communicate", methods=["GET", "POST"])
@roles(*HANDLERS)
def communicate(shop_id):
    """沟通 / 宣传教育 given to the operator."""
    shop = _shop(shop_id)
    form = CommunicationForm()
    if request.method == "GET":
        form.receiver.data = shop.operator_name
    here = url_for("shops.show", shop_id=shop.id)
    return form_page(form, lambda: rules.communicate(current_user, shop, form.topic.data, form.receiver.data,
                                                     form.note.data or ""), "已记录宣传沟通", here,
                     "shops/communicate.html", shop=shop, title="宣传沟通", back=here)


class InspectionForm(TokenForm):
    body = SelectField("检查单位", choices=choices((b, b) for b in rules.BODIES))
    day = DateField("检查日期", validators=[InputRequired("请填写检查日期")])
    shops = MultiCheckboxField("被检查的商铺", coerce=int)
    findings = long_text("检查情况", 2000, required=True, message="请写明检查情况", render_kw={"rows": 3})
    follow_up = long_text("后续跟进", 1000, render_kw={"rows": 2})


@bp.route("/shops/inspections/new", methods=["GET", "POST"])
@roles(*HANDLERS)
def inspection_new():
    """政府检查: the body, the day, the shops visited, findings, follow-up, photos."""
    form = InspectionForm()
    candidates = list(Shop.live().where(Shop.zone.in_(_zone_ids())).order_by(Shop.unit_no))
    form.shops.choices = choices((s.id, f"{s.unit_no} {s.name}") for s in candidates)
    photo_field = photo_views.PhotoField(label="检查文书照片")
    if request.method == "GET":
        form.day.data = clock.today(estate().tz)
        wanted = request.args.get("shop", type=int)
        form.shops.data = [wanted] if wanted else []
    else:
        photo_field.collect()
    form.ensure_token()
    return making_page(
        form, lambda: rules.record_inspection(current_user, form.body.data, form.day.data,
                                              [s for s in candidates if s.id in (form.shops.data or [])],
                                              form.findings.data, form.follow_up.data or "", photo_field.photos),
        lambda inspection: ("已记录政府检查", "shops.inspection", {"inspection_id": inspection.id}),
        "shops/inspection_new.html", ready=not photo_field.errors, photo_field=photo_field, title="记录政府检查",
        back=url_for("shops.index"))


@bp.route("/shops/inspections/<int:inspection_id>")
@roles(*HANDLERS)
def inspection(inspection_id):
    """One government inspection and the shops it saw."""
    record = record_or_404(Inspection, inspection_id)
    return render("shops/inspection.html", inspection=record, shops=list(record.shops()),
                  photos=list(uploads.Photo.of(record)), title=f"{record.body}检查", back=url_for("shops.index"))


@bp.route("/shops/register.pdf")
@roles(*HANDLERS)
def register_pdf():
    """The A4 register (landscape) of every shop in my zones, or one zone (?zone=), with its licence,
    open notices and inspections, for the inspectors' visits."""
    zone_ids = _zone_ids()
    chosen = request.args.get("zone", type=int)
    if chosen:
        zone_ids = [z for z in zone_ids if z == chosen]
    rows = rules.search(zone_ids)
    zones = list(Zone.live().where(Zone.id.in_(zone_ids)).order_by(Zone.name))
    return pdf.response("shops/register_print.html", "商铺登记表.pdf", rows=rows, labels=rules.STATUS_LABELS,
                        today=clock.today(estate().tz), zones=zones, estate_total=Shop.live().count(),
                        extras=rules.register_extras([shop.id for shop, _l, _s in rows]))


# Rectification notices

def _notice(notice_id):
    return record_or_404(ShopNotice, notice_id)


class ShopNoticeForm(VersionForm, TokenForm):
    problem = long_text("存在的问题", 1000, required=True, message="请写明存在的问题", render_kw={"rows": 2})
    demand = long_text("整改要求", 1000, required=True, message="请写明整改要求", render_kw={"rows": 3})
    clauses = long_text("违反的规定或协议条款", 1000, render_kw={"rows": 2})
    deadline = DateField("整改期限", validators=[InputRequired("请填写整改期限")])


def _notice_form(shop, finding=None):
    form = ShopNoticeForm()
    if request.method == "GET":
        if finding is not None:
            form.version.data = finding.version
            form.problem.data = f"{finding.item_text}不合格" + (f"，{finding.note}" if finding.note else "")
        form.demand.data = rules.DEMANDS.get(finding.item_text if finding else "", rules.DEFAULT_DEMAND)
        form.clauses.data = rules.NOTICE_CLAUSES
        form.deadline.data = rules.default_deadline()
    form.ensure_token()
    back = url_for("patrols.finding", finding_id=finding.id) if finding else url_for("shops.show", shop_id=shop.id)
    return making_page(
        form, lambda: rules.issue_notice(current_user, shop, form.demand.data, form.deadline.data,
                                         form.clauses.data or "", finding=finding, problem=form.problem.data,
                                         expected_version=form.expected_version() if finding else None,
                                         token=form.token.data)[0],
        lambda notice: (f"已开具 {notice.number}，请打印送达", "shops.notice", {"notice_id": notice.id}),
        "shops/notice_new.html", shop=shop, finding=finding, title="开具整改通知书", back=back)


@bp.route("/patrols/findings/<int:finding_id>/shop-notice", methods=["GET", "POST"])
@roles(*HANDLERS)
def notice_from_finding(finding_id):
    """A failed item of a shop's patrol: 整改通知书 to the operator, the problem filled in."""
    finding = record_or_404(patrols.Finding, finding_id, change=True)
    shop = rules.for_checkpoint(finding.checkpoint)
    if shop is None or shop.voided_at is not None:
        abort(404)
    return patrol_views.handed_elsewhere(finding, "shopnotice") or _notice_form(shop, finding)


patrol_views.FINDING_ACTIONS["shop"] = ("开整改通知书给商铺", "shops.notice_from_finding", patrols.NOTICE)
patrol_views.FINDING_LINKS["shop"] = lambda finding: [
    (f"整改通知书 {n.number}（{n.state_label}）", url_for("shops.notice", notice_id=n.id))
    for n in ShopNotice.select().where(ShopNotice.finding_id == finding.id).order_by(ShopNotice.issued_at)
    if access.may_see(current_user, n)]


@bp.route("/shops/<int:shop_id>/notices/new", methods=["GET", "POST"])
@roles(*HANDLERS)
def notice_new(shop_id):
    """整改通知书 for a problem seen outside the patrol checklist (or after a government inspection)."""
    return _notice_form(_shop(shop_id))


@bp.route("/shops/notices/<int:notice_id>", methods=["GET", "POST"])
@roles(*HANDLERS)
def notice(notice_id):
    """A shop's notice: print it, record it served, then re-check it."""
    notice = _notice(notice_id)
    finding = rules.finding_of(notice)
    return notice_views.serve_page(
        notice, lambda *args, **kw: rules.serve_notice(current_user, *args, **kw),
        url_for("shops.notice", notice_id=notice.id), "shops/notice.html", "如 经营者 张老板 / 店长 李女士",
        shop=notice.shop, finding=finding, timeline=events.timeline(notice),
        today=clock.today(estate().tz), back=url_for("shops.show", shop_id=notice.shop_id))


class NoticeRecheckForm(VersionForm):
    complied = RadioField("复查结果", choices=choices([("yes", "已整改"), ("no", "未整改")]),
                          validators=[InputRequired("请选择复查结果")])
    note = long_text("复查情况", 500, required=True, message="请写明复查情况", render_kw={"rows": 2})


@bp.route("/shops/notices/<int:notice_id>/recheck", methods=["GET", "POST"])
@roles(*HANDLERS)
def notice_recheck(notice_id):
    """复查: 已整改 closes the patrol problem; 未整改 puts it back to 待处理 for the next step."""
    notice = _notice(notice_id)
    form = NoticeRecheckForm()
    here = url_for("shops.notice", notice_id=notice.id)
    return form_page(form, lambda: rules.recheck_notice(current_user, notice, form.complied.data == "yes",
                                                        form.note.data),
                     "已记录复查", here, "shops/notice_recheck.html", notice=notice, shop=notice.shop,
                     title="复查整改", back=here)


@bp.route("/shops/notices/<int:notice_id>/void", methods=["POST"])
@roles(*HANDLERS)
def notice_void(notice_id):
    """作废 an unserved notice issued in error; its number is not given out again."""
    notice = _notice(notice_id)
    return notice_views.void_notice(notice, lambda *args: rules.void_notice(current_user, *args),
                                    url_for("shops.notice", notice_id=notice.id), "shops.show",
                                    shop_id=notice.shop_id)


@bp.route("/shops/notices/<int:notice_id>.pdf")
@roles(*HANDLERS)
def notice_pdf(notice_id):
    """整改通知书 on A4, addressed to the operator, with the problem, photos and a receipt slip."""
    notice = _notice(notice_id)
    finding = rules.finding_of(notice)
    return pdf.response("shops/notice_print.html", f"整改通知书{notice.year}-{notice.serial:04d}.pdf",
                        notice=notice, shop=notice.shop, finding=finding,
                        photos=list(uploads.Photo.of(finding)) if finding else [], photo_path=photo_views.file_url)
