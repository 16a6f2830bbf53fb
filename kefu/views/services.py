"""个性化服务 on the phone: a service order taken from a need or directly (what the customer was told
about the fee, recorded), its time agreed and confirmed, the work sent to the unit, the quality
call-back; and the catalogue the administrator keeps."""
from flask import Blueprint
from flask import request
from flask import url_for
from flask_login import current_user
from wtforms import BooleanField
from wtforms import DateTimeLocalField
from wtforms import DecimalField
from wtforms import RadioField
from wtforms import SelectField
from wtforms.validators import InputRequired
from wtforms.validators import Optional

from .. import access
from .. import callbacks
from .. import clock
from .. import events
from .. import pdf
from .. import services as rules
from ..auth import roles
from ..customers import Need
from ..estate import ROOM_MISSING
from ..estate import find_household
from ..services import ServiceItem
from ..services import ServiceOrder
from ..users import Unit
from ..web import estate
from ..web import render
from ..workorders import WorkOrder
from . import choices
from . import get_or_404
from . import record_or_404
from . import workorders as workorder_views
from .figures import Filter
from .forms import ROOM_HINT
from .forms import ROOM_INPUT
from .forms import TokenForm
from .forms import VersionForm
from .forms import form_page
from .forms import long_text
from .forms import making_page
from .forms import record_id
from .forms import text

bp = Blueprint("services", __name__)

HANDLERS = ("supervisor", "assistant")
MINUTES = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def _local(form_value):
    return form_value.replace(tzinfo=estate().tz) if form_value else None


def _order(order_id):
    return record_or_404(ServiceOrder, order_id, change=request.method == "POST")


def _order_source(work):
    order = ServiceOrder.get_or_none(ServiceOrder.id == work.source_id)
    if order is None:
        return None
    return workorder_views.Source(
        kind="个性化服务", reference=order.number,
        description=f"{order.item.name}：{order.request}（{'收费 ' + order.fee_told if order.charged else '免费'}）",
        url=url_for("services.show", service_id=order.id), photos=[],
        visible=lambda user: access.may_see(user, order), customer_name=order.customer_name)


workorder_views.SOURCES["service"] = _order_source


@bp.route("/services")
@roles(*HANDLERS)
def index():
    """个性化服务: open orders of my zones, those waiting for me first. With ?by=&start=&end= (a
    summary's figure): every order that person took in those days."""
    narrowed = Filter()
    if narrowed.active:
        found = list(narrowed.apply(rules.cards(), ServiceOrder, ServiceOrder.created_by, ServiceOrder.created_at))
        return render("services/index.html", title="个性化服务", orders=found, narrowed=narrowed,
                      back=url_for("services.index"))
    return render("services/index.html", title="个性化服务", orders=rules.open_in(access.work_zone_ids(current_user)),
                  narrowed=narrowed, back=url_for("home.customers"))


class OrderForm(TokenForm):
    household = text("房号（栋-单元-室）", 30, render_kw=ROOM_INPUT, description=ROOM_HINT,
                     message=ROOM_MISSING)
    customer_name = text("客户姓名", 40, required=False)
    item = SelectField("服务项目", coerce=int)
    request = long_text("服务内容", 500, required=True, message="请写明客户要什么服务", render_kw={"rows": 2})
    charged = RadioField("已告知客户", choices=choices([("free", "免费"), ("paid", "收费")]),
                         validators=[InputRequired("请选择告知客户的是免费还是收费")])
    fee_told = text("告知的收费标准", 60, required=False)
    agreed_at = DateTimeLocalField("约定时间", format=MINUTES, validators=[Optional()])
    needs_confirmation = BooleanField("时间需业务块确认")
    fee_differs = BooleanField("与目录不同，按告知的办理")


@bp.route("/services/new", methods=["GET", "POST"])
@roles(*HANDLERS)
def new():
    """受理个性化服务: the service, what the customer was told about the fee, the time agreed."""
    form = OrderForm()
    items = list(ServiceItem.live().order_by(ServiceItem.name))
    form.item.choices = choices([(0, "请选择")] + [(i.id, f"{i.name}（{i.fee_label}）") for i in items])
    need = Need.live().where(Need.id == request.values.get("need", 0, type=record_id)).first()
    if not access.may_change(current_user, need):
        need = None
    if request.method == "GET":
        if need is not None:
            form.household.data, form.request.data = need.household.code, need.what
        elif request.args.get("household"):
            form.household.data = request.args["household"][:30]
    form.fee_told.render_kw = {"placeholder": "如 50元/次"}
    form.ensure_token()

    def make():
        household = find_household(form.household.data or "")
        if household is None:
            raise rules.ServiceError(f"没有房号“{form.household.data}”，请按 栋-单元-室 填写", "household")
        item = next((i for i in items if i.id == form.item.data), None)
        return rules.create_order(current_user, household, item, form.request.data,
                                  charged=form.charged.data == "paid", fee_told=form.fee_told.data or "",
                                  agreed_at=_local(form.agreed_at.data),
                                  needs_confirmation=form.needs_confirmation.data,
                                  customer_name=form.customer_name.data or "", need=need, token=form.token.data,
                                  differs_confirmed=bool(form.fee_differs.data))[0]

    return making_page(form, make, lambda order: (f"已受理 {order.number}", "services.show", {"service_id": order.id}),
                       "services/new.html", need=need, items=items, title="受理个性化服务",
                       back=url_for("customers.need", need_id=need.id) if need else url_for("services.index"))


class TimeForm(VersionForm):
    agreed_at = DateTimeLocalField("约定时间", format=MINUTES, validators=[InputRequired(rules.AGREED_AT_MISSING)])


class ConfirmForm(VersionForm):
    confirmed_at = DateTimeLocalField("业务块确认的时间", format=MINUTES,
                                      validators=[InputRequired(rules.CONFIRMED_AT_MISSING)])
    customer_told_at = DateTimeLocalField("告知客户的时间", format=MINUTES,
                                          validators=[InputRequired(rules.TOLD_AT_MISSING)])


class DispatchForm(VersionForm):
    instructions = long_text("派工说明", 1000, render_kw={"rows": 2})


class CallBackForm(VersionForm):
    method = SelectField("回访方式", choices=choices((m, m) for m in rules.CALLBACK_METHODS))
    result = RadioField("客户评价", choices=choices((r, r) for r in rules.RESULTS),
                        validators=[InputRequired("请选择客户评价")])
    words = long_text("客户怎么说", 500, render_kw={"rows": 2})


class CancelForm(VersionForm):
    reason = text("取消原因", 200)


class CollectForm(VersionForm):
    amount = DecimalField("实收金额（元）", places=2, validators=[InputRequired("请填写实收金额，没收的填 0")],
                          render_kw={"inputmode": "decimal"})
    how = RadioField("收款方式", choices=choices((m, m) for m in rules.COLLECT_METHODS),
                     validators=[InputRequired(rules.PAYMENT_MISSING)])


STEPS = {
    # step: (form, rule(order, form), message, states it is offered in)
    "time": (TimeForm, lambda o, f: rules.agree_time(current_user, o, f.expected_version(), _local(f.agreed_at.data)),
             "已约定时间", ("unscheduled", "unconfirmed", "scheduled")),
    "confirm": (ConfirmForm, lambda o, f: rules.confirm_time(current_user, o, f.expected_version(),
                                                             _local(f.confirmed_at.data),
                                                             _local(f.customer_told_at.data)),
                "已记录确认时间", ("unconfirmed",)),
    "dispatch": (DispatchForm, lambda o, f: rules.dispatch(current_user, o, f.expected_version(),
                                                           f.instructions.data or ""),
                 "已派工，业务块会在手机上看到", ("scheduled", "rework")),
    "callback": (CallBackForm, lambda o, f: rules.call_back(current_user, o, f.expected_version(), f.method.data,
                                                            f.result.data, f.words.data or ""),
                 "已记录回访", ("callback",)),
    "collect": (CollectForm, lambda o, f: rules.record_collected(current_user, o, f.expected_version(), f.amount.data,
                                                                 f.how.data),
                "已记录实收费用", ("unscheduled", "unconfirmed", "scheduled", "working", "callback", "rework", "closed")),
    "cancel": (CancelForm, lambda o, f: rules.cancel(current_user, o, f.expected_version(), f.reason.data),
               "已取消服务", ("unscheduled", "unconfirmed", "scheduled", "callback", "rework")),
}


def _forms(order, posted=None, form=None):
    """The forms the order's state offers, the posted one as it came back."""
    made = {}
    now = clock.now().astimezone(estate().tz).replace(tzinfo=None, second=0, microsecond=0)
    for step, (form_class, _rule, _message, states) in STEPS.items():
        if order.state not in states or (step == "collect" and order.collected_at is not None):
            continue
        if step == posted:
            made[step] = form
            continue
        blank = form_class(formdata=None, prefix=step)
        blank.version.data = order.version
        if step == "confirm":
            blank.confirmed_at.data = clock.to_local(order.agreed_at, estate().tz).replace(tzinfo=None)
            blank.customer_told_at.data = now
        if step == "time" and order.agreed_at is not None:  # 改约: from the time agreed
            blank.agreed_at.data = clock.to_local(order.agreed_at, estate().tz).replace(tzinfo=None)
        if step == "collect" and not order.charged:
            blank.amount.data = 0
        made[step] = blank
    return made


@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
@roles(*HANDLERS)
def show(service_id):
    """A service order: what was asked and told, the time, the work, the call-back — and the next step."""
    order = _order(service_id)
    step = request.form.get("step", "") if request.method == "POST" else ""
    here = url_for("services.show", service_id=order.id)
    context = dict(order=order, title=order.number, back=url_for("services.index"),
                   differs=rules.fee_difference(order.item, order.charged, order.fee_told),
                   works=list(WorkOrder.cards_of_source("service", order.id)),
                   callbacks=callbacks.of_record(order), timeline=events.timeline(order))
    if step not in STEPS:
        return render("services/show.html", forms=_forms(order), **context)
    form_class, rule, message, states = STEPS[step]
    form = form_class(prefix=step)
    return form_page(form, lambda: rule(order, form), message, here, "services/show.html",
                     closed=None if order.state in states and not (step == "collect" and order.collected_at)
                     else f"该服务单当前为“{order.state_label}”，这一步已不能操作",
                     forms=_forms(order, step, form), **context)


@bp.route("/services/<int:service_id>/confirmation.pdf")
@roles(*HANDLERS)
def confirmation_pdf(service_id):
    """服务确认单: what the resident asked for, the fee they were told, the agreed time and who does
    it, for the resident to sign and keep a copy of."""
    order = _order(service_id)
    works = list(WorkOrder.cards_of_source("service", order.id))
    return pdf.response("services/confirmation_print.html", f"服务确认单-{order.number}.pdf", order=order,
                        work=works[-1] if works else None)


# The catalogue (设置)

class ItemForm(VersionForm):
    name = text("服务名称", 30)
    unit = SelectField("负责的业务块", coerce=int)
    charged = RadioField("收费", choices=choices([("free", "免费"), ("paid", "收费")]), default="free",
                         validators=[InputRequired("请选择")])
    fee = text("收费标准", 40, required=False, description="收费时必填，如 50元/次、40元/小时")
    duration = text("所需时间", 20, required=False, description="如 约半小时")
    note = long_text("说明", 500, render_kw={"rows": 2})


@bp.route("/admin/services")
@roles("admin")
def items():
    """服务项目: what the service centre offers, who does it, free or at what fee."""
    return render("services/items.html", title="服务项目", items=list(ServiceItem.live().order_by(ServiceItem.name)),
                  back=url_for("estate.index"))


@bp.route("/admin/services/new", methods=["GET", "POST"], endpoint="item_new")
@bp.route("/admin/services/<int:item_id>", methods=["GET", "POST"])
@roles("admin")
def item(item_id=None):
    """Add or change a service of the catalogue."""
    item = get_or_404(ServiceItem.live(), item_id) if item_id else None
    form = ItemForm()
    units = list(Unit.live().order_by(Unit.name))
    form.unit.choices = choices([(0, "请选择")] + [(u.id, u.name) for u in units])
    if request.method == "GET" and item is not None:
        form.name.data, form.unit.data, form.fee.data = item.name, item.unit_id, item.fee
        form.charged.data = "paid" if item.charged else "free"
        form.duration.data, form.note.data, form.version.data = item.duration, item.note, item.version
    return form_page(form, lambda: rules.save_item(
        current_user, item, form.expected_version(), name=form.name.data,
        unit=next((u for u in units if u.id == form.unit.data), None), charged=form.charged.data == "paid",
        fee=form.fee.data or "", duration=form.duration.data or "", note=form.note.data or ""),
        "服务项目已保存", url_for("services.items"), "services/item.html", item=item,
        title=item.name if item else "新增服务项目", back=url_for("services.items"))

