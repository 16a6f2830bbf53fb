"""住户自助 on the web: the public pages a poster's QR code and a request's private link open (no
sign-in, their own small layout, no scripts), and the staff's side: posters, the intake slip with the
link, answering residents, verifying self-reports, outages."""
import datetime

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import request
from flask import session
from flask import url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer
from wtforms import DateTimeLocalField
from wtforms import HiddenField
from wtforms import RadioField
from wtforms import SelectField
from wtforms import StringField
from wtforms.validators import InputRequired

from .. import access
from .. import callbacks
from .. import clock
from .. import limits
from .. import pdf
from .. import residents as rules
from .. import tickets
from .. import uploads
from .. import web
from ..auth import roles
from ..db import RuleError
from ..db import StaleRecord
from ..estate import Building
from ..estate import Place
from ..estate import find_household
from ..estate import mask_phone
from ..estate import normalize_code
from ..residents import Outage
from ..tickets import Ticket
from ..web import done
from ..web import estate
from ..web import external_url
from ..web import NoPublicAddress
from ..web import render
from ..web import within_limit
from . import choices
from . import get_or_404
from . import record_or_404
from .forms import MultiCheckboxField
from .forms import TokenForm
from .forms import VersionForm
from .forms import form_page
from .forms import long_text
from .forms import record_ids
from .forms import show_error
from .forms import text

bp = Blueprint("residents", __name__)

READERS = ("supervisor", "assistant", "frontdesk", "admin")
web.PUBLIC_ENDPOINTS.update(f"residents.{name}" for name in ("report", "follow", "nudge", "rate", "photo"))
HANDLERS = ("supervisor", "assistant")
PUBLIC_LAYOUT = "residents/public_base.html"


def _serializer():
    return URLSafeTimedSerializer(current_app.secret_key, salt="residents-report-started")


def _min_fill():
    return current_app.config.get("RESIDENT_MIN_FILL_SECONDS", 3)


def _limits():
    return {**limits.LIMITS, **current_app.config.get("RATE_LIMITS", {})}


def _public(template, status=200, **context):
    response = render(template, status=status, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


# The report form

class ReportForm(TokenForm):
    room = text("房号", 30, required=False, render_kw={"autocomplete": "off", "inputmode": "text"})
    place = SelectField("或者：公共区域", coerce=int, validate_choice=False)
    kind = RadioField("是什么问题", choices=choices((code, label) for code, label, _c in rules.KINDS),
                      validators=[InputRequired(rules.KIND_MISSING)])
    description = long_text("说说具体情况", 500, required=True, message="请说说具体情况",
                            render_kw={"rows": 4, "placeholder": "例如：厨房水槽下面的水管在滴水"})
    name = text("您的称呼", 20, message="请填写您的称呼", render_kw={"autocomplete": "name"})
    phone = text("手机号", 20, message="请填写手机号，方便我们联系您",
                 render_kw={"inputmode": "tel", "autocomplete": "tel", "type": "tel"})
    # Not for people: hidden by the stylesheet and from screen readers; a form that fills it is a robot's.
    website = StringField("网址", render_kw={"autocomplete": "off", "tabindex": "-1"})
    started = HiddenField()
    outage = HiddenField()


def _where(kind, record_id):
    """(building, place) of a poster: the estate's (None, None), a building's, a public place's."""
    if kind == "b":
        building = Building.live().where(Building.id == record_id).first()
        if building is None:
            abort(404)
        return building, None
    if kind == "p":
        place = Place.live().where(Place.id == record_id).first()
        if place is None:
            abort(404)
        return place.building, place
    return None, None


def _outage_of_form(value, building):
    ids = record_ids([value]) if value else []
    if not ids:
        return None
    outage = Outage.live().where((Outage.id == ids[0]) & (Outage.state == "posted")).first()
    if outage is None:
        return None
    if building is not None and outage.id not in {o.id for o in rules.current_outages(building)}:
        return None
    return outage


def _pending_photos():
    """The photos this browser has sent for a report not yet made (kept in its session, so a form
    sent back with a message keeps them, and no one else's upload can be named)."""
    ids = record_ids(session.get("resident_photos", []))[:rules.MAX_PHOTOS]
    if not ids:
        return []
    return list(uploads.Photo.live().where(uploads.Photo.id.in_(ids) & uploads.Photo.owner_id.is_null())
                .order_by(uploads.Photo.id))


def _collect_photos(errors):
    kept = _pending_photos()
    who = None
    for upload in request.files.getlist("photos"):
        if not upload or not upload.filename and not upload.content_length:
            continue
        if len(kept) >= rules.MAX_PHOTOS:
            errors.append(rules.too_many_photos())
            break
        if not within_limit("upload"):
            errors.append("上传过于频繁，请过几分钟再试")
            break
        data = upload.read(uploads.MAX_BYTES + 1)
        who = who or rules.actor()
        try:
            kept.append(uploads.store(current_app.config["PHOTOS"], who, data))
        except uploads.PhotoError as error:
            errors.append(f"{(upload.filename or '照片')[:40]}：{error.message}")
    session["resident_photos"] = [p.id for p in kept]
    return kept


def _in_building(building, typed):
    """The 栋-单元-室 of a room typed on a building's poster: 单元-室, or the whole code with this
    building's number in front (1-2-1802, 1栋2单元1802), as people who know their address write it."""
    parts = normalize_code(typed).split("-")
    if len(parts) == 3 and parts[0] == building.code:
        return "-".join(parts)
    return f"{building.code}-{typed}"


def _problems(form, photo_errors):
    """(anchor, message) of every field's refusal, in the form's order: the summary at its top."""
    found = []
    for field, anchor in ((form.room, "room"), (form.kind, "kind-0"), (form.description, "description"),
                          (form.name, "name"), (form.phone, "phone")):
        found += [(anchor, message) for message in field.errors]
    return found + [("photos", message) for message in photo_errors]


def _too_fast(form):
    """True when the form came back sooner than a person could fill it (or without its signed start)."""
    try:
        _value, started = _serializer().loads(form.started.data or "", max_age=12 * 3600, return_timestamp=True)
    except BadSignature:
        return True
    elapsed = (datetime.datetime.now(datetime.timezone.utc) - started).total_seconds()
    return elapsed < _min_fill()


@bp.route("/report", methods=["GET", "POST"], defaults={"kind": "e", "record_id": 0})
@bp.route("/report/<any(b, p):kind>/<int:record_id>", methods=["GET", "POST"])
def report(kind, record_id):
    """The page a poster's QR code opens: any outage here first, then where / what / who."""
    building, place = _where(kind, record_id)
    here = url_for("residents.report", kind=kind, record_id=record_id) if kind != "e" else url_for("residents.report")
    outages = rules.current_outages(building) if kind != "e" else rules.current_outages()
    form = ReportForm()
    form.place.choices = choices([(0, "不是公共区域")] + [(p.id, p.name) for p in
                                                    Place.live().order_by(Place.kind, Place.name)])
    outage = _outage_of_form(form.outage.data if request.method == "POST" else request.args.get("outage", ""),
                             building)
    if request.method == "GET" and outages and not request.args.get("go"):
        return _public("residents/outages_first.html", outages=outages, here=here, title="扫码报事报修",
                       place=place, building=building)
    if request.method == "GET":
        form.ensure_token()
        form.started.data = _serializer().dumps("r")
        if outage is not None:
            form.outage.data = str(outage.id)
            form.kind.data = "repair"
            form.description.data = f"{outage.kind}：{outage.title}"
        return _public("residents/report.html", form=form, kind=kind, building=building, place=place,
                       outage=outage, here=here, title="扫码报事报修", photo_errors=[], pending=_pending_photos())
    form.ensure_token()
    if form.website.data:
        # A robot filled the field people never see: thanked, nothing kept.
        return _public("residents/thanks.html", title="已提交")
    photo_errors = []
    kept = _collect_photos(photo_errors)
    context = dict(form=form, kind=kind, building=building, place=place, outage=outage, here=here,
                   title="扫码报事报修", photo_errors=photo_errors, pending=kept)
    household, chosen_place = None, place
    # Every field is checked in one round, the room and the mobile too: an old resident shouldn't have
    # to send the form three times to learn three things.
    valid = form.validate_on_submit()
    if kind == "e" and form.place.data:
        chosen_place = Place.live().where(Place.id == form.place.data).first()
    if chosen_place is None:
        code = (form.room.data or "").strip()
        if kind == "b" and code:
            code = _in_building(building, code)
        household = find_household(code) if code else None
        if household is None:
            form.room.errors.append("请填写房号，如 " + ("2-1502（单元-室）" if kind == "b" else "3-2-1502（栋-单元-室）")
                                    if not code else f"没有找到房号“{form.room.data}”，请核对")
    if form.phone.data and not form.phone.errors and rules.phone_problem(form.phone.data):
        form.phone.errors.append(rules.phone_problem(form.phone.data))
    context["problems"] = _problems(form, photo_errors)
    if valid and not context["problems"]:
        if _too_fast(form):
            form.form_errors.append("请核对填写的内容，再点一次“提交”")
            form.started.data = _serializer().dumps("r")
        elif not within_limit("report") or (
                household is not None and not limits.hit("report_household", f"household:{household.id}",
                                                         _limits())):
            form.form_errors.append(f"提交太频繁了，请稍后再试，或拨打服务电话 {estate().phone or ''}".rstrip())
            return _public("residents/report.html", status=429, **context)
        else:
            try:
                ticket = rules.report(kind=form.kind.data, description=form.description.data,
                                      name=form.name.data, phone=form.phone.data, household=household,
                                      place=chosen_place, photos=kept, outage=outage, token=form.token.data)
            except RuleError as error:
                show_error(form, error)
                context["problems"] = _problems(form, photo_errors)
            else:
                session.pop("resident_photos", None)
                return redirect(url_for("residents.follow", token=ticket.link_token, new=1), code=303)
    if not form.started.data:
        form.started.data = _serializer().dumps("r")
    return _public("residents/report.html", status=422, **context)


# The private link

def _by_token(token):
    ticket = rules.by_token(token)
    if ticket is None:
        if not within_limit("link_miss"):
            abort(429)
        abort(404)
    return ticket


def _link_of(ticket):
    """The request's private link, absolute where the app knows its public address."""
    try:
        return external_url("residents.follow", token=ticket.link_token)
    except NoPublicAddress:
        return url_for("residents.follow", token=ticket.link_token)


@bp.route("/s/<token>")
def follow(token):
    """A request's private link: where it is in plain words, its steps, the photos, whom to call."""
    ticket = _by_token(token)
    now = clock.utcnow()
    if not rules.details_shown(ticket, now):
        return _public("residents/closed_long_ago.html", ticket=ticket, title="诉求已办结")
    own, after = rules.photos(ticket)
    again = rules.next_nudge_at(ticket)
    return _public("residents/follow.html", ticket=ticket, title="我的诉求", steps=rules.steps(ticket),
                   stage=rules.stage(ticket), plain_state=rules.plain_state(ticket), own=own, after=after,
                   contact=rules.contact(ticket), outage=rules.outage_of(ticket), link=_link_of(ticket),
                   may_nudge=ticket.state in rules.NUDGEABLE and (again is None or now >= again),
                   nudge_again=again if again and now < again else None, nudgeable=ticket.state in rules.NUDGEABLE,
                   may_rate=rules.may_rate(ticket), rate_form=RateForm() if rules.may_rate(ticket) else None,
                   new=bool(request.args.get("new")),
                   masked_phone=mask_phone(ticket.customer_phone), csrf_form=FlaskForm())


@bp.route("/s/<token>/nudge", methods=["POST"])
def nudge(token):
    """催一下."""
    ticket = _by_token(token)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    if not within_limit("nudge"):
        abort(429)
    try:
        rules.nudge(ticket)
        session["resident_flash"] = "已催办，客户助理会尽快联系您"
    except RuleError as error:
        session["resident_flash"] = error.message
    return redirect(url_for("residents.follow", token=token), code=303)


class RateForm(FlaskForm):
    result = RadioField("您对这次处理满意吗", choices=choices((r, r) for r in callbacks.ANSWERS),
                        validators=[InputRequired(rules.RATING_MISSING)])
    words = long_text("想说的话", 500, render_kw={"rows": 3, "placeholder": "不满意的话，请告诉我们哪里还没做好"})


@bp.route("/s/<token>/rate", methods=["GET", "POST"])
def rate(token):
    """The resident's rating: the return visit itself."""
    ticket = _by_token(token)
    if not rules.details_shown(ticket):
        abort(404)
    form = RateForm()
    context = dict(form=form, ticket=ticket, title="评价这次服务")
    if not rules.may_rate(ticket):
        return redirect(url_for("residents.follow", token=token), code=303)
    if form.validate_on_submit():
        try:
            updated = rules.rate(ticket, form.result.data, form.words.data or "")
        except RuleError as error:
            show_error(form, error)
        except StaleRecord as error:
            form.form_errors.append(error.message)
        else:
            session["resident_flash"] = "谢谢您的评价" if updated.state == "closed" else \
                "谢谢您告诉我们，已重新安排处理，客户助理会联系您"
            return redirect(url_for("residents.follow", token=token), code=303)
    return _public("residents/rate.html", status=422 if request.method == "POST" else 200, **context)


@bp.route("/s/<token>/photos/<int:photo_id>/<any(full, thumb):size>")
def photo(token, photo_id, size):
    """A photo of this request (the resident's own or after the work), through its link only."""
    from flask import send_file

    ticket = _by_token(token)
    found = rules.photo_of(ticket, photo_id) if rules.details_shown(ticket) else None
    if found is None:
        abort(404)
    path = uploads.file_path(current_app.config["PHOTOS"], found, thumb=(size == "thumb"))
    response = send_file(path, mimetype="image/jpeg", max_age=0, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.app_context_processor
def resident_flash():
    def take():
        return session.pop("resident_flash", None)
    return {"resident_flash": take}


# Staff: posters

@bp.route("/residents")
@roles(*READERS)
def index():
    """住户自助: the posters to print and the outages."""
    buildings = list(Building.live().order_by(Building.id))
    places = list(Place.live().order_by(Place.kind, Place.name))
    posted = list(Outage.live().where(Outage.state == "posted").order_by(Outage.starts_at))
    ended = list(Outage.live().where(Outage.state == "ended").order_by(Outage.ended_at.desc()).limit(10))
    unverified = rules.owed(current_user) if current_user.role == "frontdesk" else []
    return render("residents/index.html", title="住户自助", buildings=buildings, places=places, posted=posted,
                  ended=ended, unverified=unverified, back=url_for("auth.me"))


@bp.route("/residents/settings", methods=["POST"])
@roles("admin")
def settings():
    """Whether residents' links name their assistant."""
    from ..estate import Estate

    form = VersionForm()
    if form.validate_on_submit():
        try:
            rules.show_names(current_user, Estate.current(), form.expected_version(),
                             request.form.get("resident_names") == "1")
            return done("已保存", "residents.index")
        except StaleRecord as error:
            from flask import flash

            flash(error.message, "error")
    return redirect(url_for("residents.index"), code=303)


def _poster_items():
    """(label, where, address) of the posters asked for: ?building=, ?place=, ?estate=1, or all."""
    items = []
    wanted_b = record_ids(request.args.getlist("building"))
    wanted_p = record_ids(request.args.getlist("place"))
    everything = not (wanted_b or wanted_p or request.args.get("estate"))
    if everything or request.args.get("estate"):
        items.append(("全小区", "", external_url("residents.report")))
    for building in Building.live().order_by(Building.id):
        if everything or building.id in wanted_b:
            items.append((building.name, "楼栋大堂", external_url("residents.report", kind="b", record_id=building.id)))
    for place in Place.live().order_by(Place.kind, Place.name):
        if everything or place.id in wanted_p:
            items.append((place.name, place.kind, external_url("residents.report", kind="p", record_id=place.id)))
    return items


def shown_address(address):
    """An address as printed for typing: without its scheme (phones add it)."""
    return address.split("://", 1)[-1]


def qr_svg(address, scale=1):
    import segno

    return segno.make(address, error="m").png_data_uri(scale=scale, border=2)


@bp.route("/residents/posters.pdf")
@roles(*READERS)
def posters():
    """The QR posters, one A4 page each: the estate's, a building lobby's, a public place's."""
    if not current_app.config.get("PUBLIC_URL"):
        from flask import render_template

        page = render_template("error.html", status=409, title="无法打印二维码海报",
                               message="二维码里要写入住户手机能打开的公开地址，但服务器还没有设置。请在启动服务前设置环境变量 "
                                       "PUBLIC_URL（例如 PUBLIC_URL=https://kefu.example.com），重启服务后再打印。")
        return page, 409
    items = _poster_items()
    if not items:
        abort(404)
    return pdf.response("residents/posters_print.html", "报事报修二维码海报.pdf",
                        posters=[(label, where, shown_address(address), qr_svg(address))
                                 for label, where, address in items])


# Staff: one request

@bp.route("/tickets/<int:ticket_id>/slip.pdf")
@roles(*READERS)
def slip(ticket_id):
    """受理回执: what was taken, by when we answer, and the request's private link as a QR code."""
    ticket = record_or_404(tickets.with_people_by_id(ticket_id))
    link = _link_of(ticket)
    return pdf.response("residents/slip_print.html", f"{ticket.number}-回执.pdf", ticket=ticket,
                        link=shown_address(link),
                        qr=qr_svg(link) if link.startswith("http") else "", contact=rules.contact(ticket))


class AnswerForm(FlaskForm):
    answer = long_text("回复住户", 300, required=True, message="请填写回复",
                       render_kw={"rows": 3, "placeholder": "住户会在自己的链接上看到，如：师傅下午两点上门"})


@bp.route("/tickets/<int:ticket_id>/answer", methods=["GET", "POST"])
@roles(*HANDLERS)
def answer(ticket_id):
    """回复住户: answers the resident's nudges and rating on their link."""
    ticket = record_or_404(tickets.with_people_by_id(ticket_id), change=True)
    form = AnswerForm()
    nudges, ratings = rules.waiting_answer(ticket)
    here = url_for("tickets.show", ticket_id=ticket.id)
    return form_page(form, lambda: rules.answer(current_user, ticket, form.answer.data), "已回复住户", here,
                     "residents/answer.html", ticket=ticket, nudges=nudges, ratings=ratings, title="回复住户",
                     back=here, closed=None if (nudges or ratings) else rules.NOTHING_TO_ANSWER)


@bp.route("/tickets/<int:ticket_id>/verify", methods=["POST"])
@roles("frontdesk", "supervisor")
def verify(ticket_id):
    """前台电话核实 a self-reported request's reporter."""
    ticket = record_or_404(Ticket, ticket_id)
    form = FlaskForm()
    if form.validate_on_submit():
        try:
            rules.verify(current_user, ticket, request.form.get("note", "")[:200])
            return done("已核实住户", "tickets.show", ticket_id=ticket.id)
        except RuleError as error:
            from flask import flash

            flash(error.message, "error")
    return redirect(url_for("tickets.show", ticket_id=ticket.id), code=303)


@bp.route("/tickets/<int:ticket_id>/outage", methods=["POST"])
@roles(*HANDLERS)
def link_outage(ticket_id):
    """Link a request to the outage that explains it."""
    from flask import flash

    ticket = record_or_404(Ticket, ticket_id, change=True)
    ids = record_ids([request.form.get("outage", "")])
    outage = Outage.live().where(Outage.id == ids[0]).first() if ids else None
    if outage is None:
        flash("请选择公告", "error")
    else:
        try:
            rules.link_outage(current_user, ticket, outage)
            flash("已关联公告，公告结束时一并处理完成", "success")
        except RuleError as error:
            flash(error.message, "error")
    return redirect(url_for("tickets.show", ticket_id=ticket.id), code=303)


def ticket_panel(ticket):
    """What the ticket page shows about the resident's side: the link, verification, waiting answers."""
    report_row = rules.self_report_of(ticket)
    nudges, ratings = rules.waiting_answer(ticket)
    outage = rules.outage_of(ticket)
    outages = [] if outage or not ticket.is_open or not ticket.building_id else \
        [o for o in rules.current_outages(Building.get_by_id(ticket.building_id))]
    return {"link": _link_of(ticket), "report": report_row, "nudges": nudges, "ratings": ratings,
            "outage": outage, "outages": outages}


@bp.app_context_processor
def panel_helper():
    return {"resident_panel": ticket_panel}


# Staff: outages

class OutageForm(FlaskForm):
    kind = SelectField("类型", choices=choices((k, k) for k in rules.OUTAGE_KINDS))
    title = text("标题", 60, render_kw={"placeholder": "如：5号楼二次供水水箱清洗"})
    buildings = MultiCheckboxField("涉及楼栋", coerce=int, validate_choice=False)
    starts_at = DateTimeLocalField("开始", format="%Y-%m-%dT%H:%M", validators=[InputRequired(rules.OUTAGE_START_MISSING)])
    until = DateTimeLocalField("预计结束", format="%Y-%m-%dT%H:%M", validators=[InputRequired("请填写预计结束时间")])
    detail = long_text("说明", 1000, render_kw={"rows": 3})
    advice = long_text("住户须知", 1000, render_kw={"rows": 3, "placeholder": "如：请提前储水，恢复供水后先放水 1 分钟"})


def _utc(local, field):
    """A typed local time as stored (naive UTC); a year no outage has is refused beside its field."""
    if local is None:
        return None
    if not 2000 <= local.year <= 2100:
        raise rules.ResidentError("请填写正确的时间", field)
    return clock.to_utc_naive(local.replace(tzinfo=estate().tz))


@bp.route("/residents/outages/new", methods=["GET", "POST"])
@roles("supervisor")
def outage_new():
    """发布停水停电公告."""
    form = OutageForm()
    form.buildings.choices = choices((b.id, b.name) for b in Building.live().order_by(Building.id))
    if request.method == "GET":
        start = clock.now().astimezone(estate().tz).replace(second=0, microsecond=0, tzinfo=None)
        form.starts_at.data, form.until.data = start, start + datetime.timedelta(hours=4)
    made = {}

    def apply():
        made["outage"] = rules.post_outage(
            current_user, kind=form.kind.data, title=form.title.data, detail=form.detail.data or "",
            advice=form.advice.data or "", starts_at=_utc(form.starts_at.data, "starts_at"), until=_utc(form.until.data, "until"),
            buildings=list(Building.live().where(Building.id.in_(record_ids(form.buildings.data or [])))))

    response = form_page(form, apply, "已发布公告，住户扫码即可看到", url_for("residents.index"),
                         "residents/outage_form.html", title="发布停水停电公告", back=url_for("residents.index"))
    if "outage" in made:
        return redirect(url_for("residents.outage", outage_id=made["outage"].id), code=303)
    return response


def _outage(outage_id):
    return get_or_404(Outage.live(), outage_id)


@bp.route("/residents/outages/<int:outage_id>")
@roles(*READERS)
def outage(outage_id):
    """One outage: where, when, the requests linked to it."""
    item = _outage(outage_id)
    linked = [t for t in rules.linked_tickets(item) if access.may_see(current_user, t)]
    buildings = [link.building for link in item.building_links]
    return render("residents/outage.html", outage=item, linked=linked, buildings=buildings, title="停水停电公告",
                  back=url_for("residents.index"), version_form=VersionForm(version=item.version),
                  may_end=rules.OUTAGE_MACHINE.may(item, rules.END, current_user),
                  callback_methods=callbacks.METHODS, results=callbacks.RESULTS)


class EndForm(VersionForm):
    message = long_text("结束说明（发给每位报修住户）", 500, required=True, message="请填写结束说明",
                        render_kw={"rows": 3, "placeholder": "如：15:00 已恢复供水，请先放水 1 分钟"})


@bp.route("/residents/outages/<int:outage_id>/end", methods=["GET", "POST"])
@roles("supervisor")
def outage_end(outage_id):
    """结束公告: the linked requests are resolved together with one message."""
    item = _outage(outage_id)
    form = EndForm()
    if request.method == "GET":
        form.version.data = item.version
    here = url_for("residents.outage", outage_id=item.id)
    result = {}

    def apply():
        result["r"] = rules.end_outage(current_user, item, form.expected_version(), form.message.data)

    response = form_page(form, apply, "公告已结束", here, "residents/outage_end.html", outage=item,
                         linked=rules.linked_tickets(item), title="结束公告", back=here,
                         closed=None if item.state == "posted" else rules.OUTAGE_ENDED)
    if "r" in result:
        _outage_row, resolved, left = result["r"]
        from flask import flash

        session.pop("_flashes", None)
        flash(f"公告已结束，{len(resolved)} 件关联诉求已处理完成，请回访"
              + (f"；{len(left)} 件未能处理：" + "；".join(f"{t.number} {why}" for t, why in left) if left else ""),
              "success")
    return response


@bp.route("/residents/outages/<int:outage_id>/callbacks", methods=["POST"])
@roles(*HANDLERS)
def outage_callbacks(outage_id):
    """One batch of return visits for an ended outage's requests."""
    from flask import flash

    item = _outage(outage_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    answers = {}
    for ticket in rules.linked_tickets(item):
        result = request.form.get(f"result-{ticket.id}", "")
        if result and access.may_change(current_user, ticket):
            answers[ticket.id] = (request.form.get("method", "电话"), result,
                                  request.form.get(f"words-{ticket.id}", "")[:500])
    made, refused = rules.batch_callbacks(current_user, item, answers)
    flash(f"已记录 {len(made)} 件回访" + ("；" + "；".join(f"{t.number}：{why}" for t, why in refused) if refused else ""),
          "success" if not refused else "error")
    return redirect(url_for("residents.outage", outage_id=item.id), code=303)


@bp.route("/residents/outages/<int:outage_id>.pdf")
@roles(*READERS)
def outage_pdf(outage_id):
    """The A4 notice for the lobby boards, with the QR code of the building's poster link."""
    item = _outage(outage_id)
    buildings = [link.building for link in item.building_links]
    try:
        address = external_url("residents.report", kind="b", record_id=buildings[0].id) if len(buildings) == 1 \
            else external_url("residents.report")
        qr = qr_svg(address)
    except NoPublicAddress:
        address, qr = "", ""
    return pdf.response("residents/outage_print.html", f"{item.kind}公告.pdf", outage=item, buildings=buildings,
                        address=shown_address(address), qr=qr)
