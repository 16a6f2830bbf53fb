"""Work orders on the phone: a unit's queue, accepting and reporting done with photos; the
assistant's inspection (accept or send back), recording on a unit's behalf; the printed 派工单."""
from flask import Blueprint
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from wtforms import RadioField
from wtforms.validators import AnyOf
from wtforms.validators import InputRequired

from .. import access
from .. import clock
from .. import events
from .. import pdf
from .. import tickets
from .. import uploads
from .. import workorders as rules
from ..auth import roles
from ..db import RuleError
from ..db import StaleRecord
from ..estate import mask_phone
from ..workorders import WorkOrder
from ..web import render
from . import choices
from . import photos as photo_views
from . import record_or_404
from .forms import VersionForm
from .forms import form_page
from .forms import long_text
from .forms import text

bp = Blueprint("workorders", __name__, url_prefix="/workorders")

WORKERS = ("supervisor", "assistant", "unit")


def _can_see_photo(user, order_id):
    """A work order's photos: whoever may see the order, or the record it came from."""
    order = WorkOrder.get_or_none(WorkOrder.id == order_id)
    if order is None:
        return False
    if access.may_see(user, order):
        return True
    source = _source(order)
    return source is not None and source.visible(user)


photo_views.OWNER_ACCESS["workorder"] = _can_see_photo


class ReportForm(VersionForm):
    note = long_text("完成情况", 1000, required=True, message=rules.REPORT_NOTE_MISSING, render_kw={"rows": 3})
    on_behalf = text("代谁登记", 60, required=False,
                     render_kw={"placeholder": "如 工程部 李师傅 电话告知已完成"})


class InspectForm(VersionForm):
    verdict = RadioField("验收结果", choices=choices([("pass", "合格"), ("fail", "不合格，返工")]),
                         validators=[InputRequired("请选择验收结果"), AnyOf(("pass", "fail"), "请选择验收结果")],
                         validate_choice=False)
    reason = long_text("说明", 1000, render_kw={"rows": 3, "placeholder": "不合格时写明要返工什么"})


class CancelForm(VersionForm):
    reason = long_text("撤销原因", 500, required=True, message=rules.CANCEL_REASON_MISSING, render_kw={"rows": 2})


def _order(order_id):
    return record_or_404(WorkOrder, order_id, change=request.method == "POST")


class Source:
    """What raised an order, as the order's pages show it: a request, a patrol finding…"""

    def __init__(self, kind, reference, description, url, photos, visible, customer_name="", customer_phone=""):
        self.kind, self.reference, self.description, self.url = kind, reference, description, url
        self.photos, self.visible = photos, visible
        self.customer_name, self.customer_phone = customer_name, customer_phone


def _ticket_source(order):
    ticket = tickets.Ticket.get_or_none(tickets.Ticket.id == order.source_id)
    if ticket is None:
        return None
    return Source("诉求", ticket.number, ticket.description, url_for("tickets.show", ticket_id=ticket.id),
                  list(uploads.Photo.of(ticket)), lambda user: access.may_see(user, ticket),
                  ticket.customer_name, ticket.customer_phone)


# {source_type: function(order) -> Source or None}; each area that raises orders registers its own.
SOURCES = {"ticket": _ticket_source}


def _source(order):
    """The record that raised the order, for showing its details. A unit has the customer's number
    only while its order is open: once accepted or cancelled, on screen and on the printed 派工单,
    it is masked (138****1234)."""
    load = SOURCES.get(order.source_type)
    source = load(order) if load is not None else None
    if source is not None and current_user.is_authenticated and current_user.role == "unit" \
            and not order.is_open:
        source.customer_phone = mask_phone(source.customer_phone)
    return source


def _source_photos(order):
    source = _source(order)
    return source.photos if source is not None else []


@bp.route("")
@roles(*WORKERS)
def index():
    """派工单: a unit's queue; for assistants, the orders waiting for their inspection."""
    if current_user.role == "unit":
        todo = list(WorkOrder.queue_for_unit(current_user.unit_id))
        waiting = list(WorkOrder.cards().where((WorkOrder.unit == current_user.unit_id)
                                               & (WorkOrder.state == "reported")).order_by(WorkOrder.reported_at))
        recent = list(WorkOrder.cards().where((WorkOrder.unit == current_user.unit_id)
                                               & (WorkOrder.state == "approved"))
                      .order_by(WorkOrder.approved_at.desc()).limit(10))
    else:
        query = WorkOrder.cards()
        if current_user.role == "assistant":
            query = query.where(WorkOrder.zone_id.in_(access.zone_ids(current_user)))
        todo = list(query.where(WorkOrder.state == "reported").order_by(WorkOrder.reported_at))
        waiting = list(query.where(WorkOrder.state.in_(rules.UNIT_TODO)).order_by(WorkOrder.deadline).limit(50))
        recent = []
    return render("workorders/index.html", title="派工单", todo=todo, waiting=waiting, recent=recent,
                  now=clock.utcnow())


@bp.route("/<int:order_id>")
@roles(*WORKERS)
def show(order_id):
    """One work order: what, where, by when, photos, and the next step for whoever is looking."""
    order = _order(order_id)
    source = _source(order)
    return render("workorders/show.html", order=order, title=order.number, source=source,
                  source_photos=source.photos if source else [], photos=list(uploads.Photo.of(order)),
                  timeline=events.timeline(order), now=clock.utcnow(),
                  steps={step.action for step in rules.MACHINE.allowed(order, current_user)},
                  back=source.url if source and source.visible(current_user) else url_for("workorders.index"))


def _after(order, message):
    flash(message, "success")
    return redirect(url_for("workorders.show", order_id=order.id), code=303)


@bp.route("/<int:order_id>/accept", methods=["POST"])
@roles("unit")
def accept(order_id):
    """接单."""
    order = _order(order_id)
    form = VersionForm()
    form.validate_on_submit()
    try:
        rules.accept(current_user, order, form.expected_version())
    except (rules.WorkOrderError, StaleRecord) as error:
        flash(error.message, "error")
        return redirect(url_for("workorders.show", order_id=order.id), code=303)
    return _after(order, "已接单")


def _form_page(order, form, template, title, apply, message, ready=True, **extra):
    """Run one work-order step from its form page, then back to the order."""
    here = url_for("workorders.show", order_id=order.id)
    return form_page(form, apply, message, here, template, ready=ready, order=order, title=title, back=here,
                     **extra)


@bp.route("/<int:order_id>/report", methods=["GET", "POST"])
@roles(*WORKERS)
def report(order_id):
    """报完成: the unit (or the assistant on its behalf) reports the work done, with after-photos."""
    order = _order(order_id)
    form = ReportForm()
    if request.method == "GET":
        form.version.data = order.version
    photo_field = photo_views.PhotoField()
    if request.method == "POST":
        photo_field.collect()

    required = rules.photo_required(order, "report")
    if required:
        photo_field.label, photo_field.hint = "整改后的照片（必拍）", "报完成须附整改后的照片。" + photo_field.hint

    def apply():
        try:
            rules.report_done(current_user, order, form.expected_version(), form.note.data, form.on_behalf.data or "",
                              photos=photo_field.photos, photo_required=required)
        except RuleError as refused:
            if refused.field != "photos":
                raise
            photo_field.errors.append(refused.message)
            raise RuleError(refused.message) from None

    return _form_page(order, form, "workorders/report.html", "报完成", apply, "已报完成，等待客户助理验收",
                      ready=not photo_field.errors, photo_field=photo_field)


@bp.route("/<int:order_id>/inspect", methods=["GET", "POST"])
@roles("supervisor", "assistant")
def inspect(order_id):
    """验收: accept the work, or send it back with what is still wrong."""
    order = _order(order_id)
    form = InspectForm()
    if request.method == "GET":
        form.version.data = order.version
    passed = form.verdict.data == "pass"
    photo_field = photo_views.PhotoField(label="复查照片")
    required = rules.photo_required(order, "inspect")
    if required:
        photo_field.label = "复查照片（必拍）"
    if request.method == "POST":
        photo_field.collect()

    def apply():
        if required and not photo_field.photos:
            photo_field.errors.append(rules.RECHECK_PHOTO_MISSING)
            raise RuleError(rules.RECHECK_PHOTO_MISSING)
        rules.inspect(current_user, order, form.expected_version(), passed, form.reason.data or "",
                      photos=photo_field.photos)

    return _form_page(order, form, "workorders/inspect.html", "验收", apply,
                      "验收通过" if passed else "已退回业务块返工", ready=not photo_field.errors,
                      photos=list(uploads.Photo.of(order)), photo_field=photo_field,
                      source=_source(order), source_photos=_source_photos(order))


@bp.route("/<int:order_id>/cancel", methods=["GET", "POST"])
@roles("supervisor", "assistant")
def cancel(order_id):
    """撤销派工 with a reason."""
    order = _order(order_id)
    form = CancelForm()
    if request.method == "GET":
        form.version.data = order.version
    return _form_page(order, form, "workorders/cancel.html", "撤销派工",
                      lambda: rules.cancel(current_user, order, form.expected_version(), form.reason.data),
                      "派工单已撤销")


@bp.route("/<int:order_id>.pdf")
@roles(*WORKERS)
def print_order(order_id):
    """The A4 派工单 for a unit that works on paper."""
    order = _order(order_id)
    return pdf.response("workorders/show_print.html", f"{order.number}.pdf", order=order, source=_source(order),
                        source_photos=_source_photos(order), photos=list(uploads.Photo.of(order)),
                        photo_path=photo_views.file_url, timeline=events.timeline(order))
