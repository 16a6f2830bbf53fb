"""巡视 on the phone: today's coverage board, the check page opened from a sticker's QR code or
the list, findings turned into rectification orders, observations, the printed stickers and
day record; the supervisor's coverage weeks; the administrator's checkpoints, checklists and rules."""
import datetime
import functools
import hashlib
import io

import segno
from PIL import Image
from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import jsonify
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from wtforms import BooleanField
from wtforms import DateField
from wtforms import DateTimeLocalField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import TimeField
from wtforms.validators import InputRequired
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from .. import access
from .. import clock
from .. import events
from .. import patrols as rules
from .. import pdf
from .. import summaries as summary_rules
from .. import trends as trend_rules
from .. import uploads
from ..auth import roles
from ..db import RuleError
from ..db import StaleRecord
from ..estate import Place
from ..estate import Zone
from ..estate import find_household
from ..estate import void as void_record
from ..patrols import Check
from ..patrols import Checklist
from ..patrols import ChecklistItem
from ..patrols import Checkpoint
from ..patrols import Finding
from ..patrols import Observation
from ..users import Unit
from ..users import User
from ..workorders import WorkOrder
from ..workorders import default_deadline
from ..web import done
from ..web import estate
from ..web import external_url
from ..web import invalid
from ..web import render
from . import choices
from . import photos as photo_views
from . import record_or_404
from . import workorders as workorder_views
from .figures import Filter
from .forms import MultiCheckboxField
from .forms import ROOM_INPUT
from .forms import TokenForm
from .forms import VersionForm
from .forms import form_page
from .forms import long_text
from .forms import only_choice
from .forms import record_id
from .forms import record_ids
from .forms import show_error
from .forms import text

bp = Blueprint("patrols", __name__)

PATROLLERS = ("supervisor", "assistant")
# More ways on for a finding, by what its checkpoint stands for: {source_type: (label, endpoint, step)};
# the renovation register adds "记为装修违规".
FINDING_ACTIONS = {}
# The pages of a finding's own steps.
FINDING_PAGES = {"order": ("派整改单给业务块", "patrols.finding_order"), "fix": ("当场已解决", "patrols.finding_fix"),
                 "watch": ("转为需关注", "patrols.finding_watch")}
# source_type → fn(finding) giving [(label, url)] of the records made from a finding (notices, violations).
FINDING_LINKS = {}
# Answers a check page starts with, by what the checkpoint stands for: {source_type: function(checkpoint,
# items) -> {item id: answer}}; the shop register answers 油烟排放 不适用 for shops that don't cook.
DEFAULT_ANSWERS = {}
VIEWERS = ("admin", "supervisor", "assistant")
HISTORY_PAGE = 20
OWED_SHOWN = 30  # owed checkpoints listed per kind on the board, most overdue first
COVERAGE_DAYS = 31  # the most days the supervisor's coverage page counts at once (a month)


# Access (the rules: kefu/access.py)

def _checkpoint(checkpoint_id, check=False):
    """A live checkpoint (with its zone, checklist, unit and household names) the current user may
    see, and with check=True patrol; `can_check` says whether they may."""
    checkpoint = record_or_404(rules.with_names(checkpoint_id), change=check)
    checkpoint.can_check = current_user.role in PATROLLERS and access.may_change(current_user, checkpoint)
    return checkpoint


def _finding(finding_id, change=False):
    return record_or_404(Finding, finding_id, change=change)


def _observation(observation_id, change=False):
    return record_or_404(Observation.live(), observation_id, change=change)


def _finding_photo_access(user, finding_id):
    """A finding's photos: its zone's people, and a unit holding a rectification order for it."""
    if user.role == "unit":
        return WorkOrder.select().where((WorkOrder.source_type == "finding") & (WorkOrder.source_id == finding_id)
                                        & (WorkOrder.unit == user.unit_id)).exists()
    return photo_views.seen_with(Finding)(user, finding_id)


photo_views.OWNER_ACCESS["finding"] = _finding_photo_access
photo_views.OWNER_ACCESS["observation"] = photo_views.seen_with(Observation)


def _finding_source(order):
    finding = Finding.get_or_none(Finding.id == order.source_id)
    if finding is None:
        return None
    return workorder_views.Source(
        kind="巡查问题", reference=finding.checkpoint.name, description=finding.description,
        url=url_for("patrols.finding", finding_id=finding.id), photos=list(uploads.Photo.of(finding)),
        visible=lambda user: access.may_see(user, finding))


workorder_views.SOURCES["finding"] = _finding_source


# The board

@bp.route("/patrols")
@roles(*PATROLLERS)
def index():
    """巡视: what today's rules still require in my zone, open findings and observations."""
    zones = list(Zone.live().order_by(Zone.name)) if current_user.role == "supervisor" \
        else list(Zone.of_assistant(current_user).order_by(Zone.name))
    chosen = request.args.get("zone", type=int)
    zone_ids = [z.id for z in zones if not chosen or z.id == chosen]
    today = clock.today(estate().tz)
    return render("patrols/index.html", title="现场巡视", zones=zones, chosen=chosen, today=today,
                  sticker_digest=sticker_digest,
                  board=rules.coverage_today(zone_ids, today, owed_limit=OWED_SHOWN),
                  patrol_rules=rules.PatrolRules.current(),
                  findings=rules.open_findings(zone_ids, 30), observations=rules.open_observations(zone_ids, 30))


def sticker_digest(checkpoint):
    """What the board tells the phone of a checkpoint's sticker: enough for the service worker to
    answer a scan of it without signal (it hashes the scanned address alike), not the address itself
    (with it, a pick from the list could pass for a scan)."""
    return hashlib.sha256(checkpoint.token.encode()).hexdigest()


@bp.route("/patrols/offline/session")
@roles(*PATROLLERS)
def offline_session():
    """Who is signed in and this session's form token, for the phone sending the checks it kept
    without signal (the page it runs in may be older than the sign-in)."""
    response = jsonify(user=current_user.id, csrf=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/offline")
def offline():
    """The app's own no-signal page: what the phone shows for a page it hasn't kept (sw.js fetches it
    signed out, so it names nobody)."""
    return render("patrols/offline.html", title="没有信号")


# Checkpoints

class CheckpointForm(VersionForm):
    kind = SelectField("类型", choices=choices(rules.KINDS.items()))
    name = text("名称", Checkpoint.name.max_length, render_kw={"placeholder": "如 3号楼大堂、东门岗"})
    zone = SelectField("管辖区域", coerce=int)
    checklist = SelectField("检查表", coerce=int)
    unit = SelectField("责任业务块", coerce=int)
    place = SelectField("对应公共部位", coerce=int)
    household = text("装修户房号", 30, required=False, render_kw={**ROOM_INPUT, "placeholder": "如 3-2-1502"})
    interval_days = IntegerField("巡查周期（天）", validators=[Optional(), NumberRange(1, 90, rules.DAYS_RANGE)],
                                 render_kw={"inputmode": "numeric"})
    note = long_text("备注", 500, render_kw={"rows": 2})


def _checkpoint_choices(form):
    zones = Zone.live().where(Zone.id.in_(access.work_zone_ids(current_user))).order_by(Zone.name)
    form.zone.choices = choices([(0, "请选择")] + [(z.id, z.name) for z in zones])
    form.checklist.choices = choices([(c.id, c.name) for c in rules.checklists()])
    form.unit.choices = choices([(0, "无")] + [(u.id, f"{u.name}（{u.kind_label}）")
                                              for u in Unit.live().order_by(Unit.kind, Unit.name)])
    form.place.choices = choices([(0, "无")] + [(p.id, p.name) for p in Place.live().order_by(Place.name)])
    if current_user.role == "assistant":
        form.kind.choices = choices([("public", rules.KINDS["public"])])
        form.checklist.choices = choices([(c.id, c.name) for c in rules.checklists() if c.kind == "public"])


@bp.route("/patrols/checkpoints")
@roles(*VIEWERS)
def checkpoints():
    """巡查点: every checkpoint of my zones (all for the supervisor and administrator), by kind."""
    kind = request.args.get("kind", "")
    query = (Checkpoint.select(Checkpoint, Zone).join(Zone).switch(Checkpoint)
             .where(Checkpoint.voided_at.is_null() & Checkpoint.zone.in_(access.work_zone_ids(current_user))))
    if kind in rules.KINDS:
        query = query.where(Checkpoint.kind == kind)
    zone = request.args.get("zone", type=record_id)
    if zone:
        query = query.where(Checkpoint.zone == zone)
    items = list(query.order_by(Zone.name, Checkpoint.kind, Checkpoint.name))
    return render("patrols/checkpoints.html", title="巡查点", items=items, kind=kind, zone=zone,
                  zones=list(Zone.live().where(Zone.id.in_(access.work_zone_ids(current_user))).order_by(Zone.name)),
                  back=url_for("patrols.index") if current_user.role != "admin" else url_for("estate.index"))


@bp.route("/patrols/checkpoints/new", methods=["GET", "POST"])
@roles("admin", "assistant")
def checkpoint_new():
    """New checkpoint: the administrator any kind; an assistant a public place in their zone, on the spot."""
    form = CheckpointForm()
    _checkpoint_choices(form)
    if request.method == "GET":
        kind = request.args.get("kind", "public")
        form.kind.data = kind if kind in rules.KINDS and current_user.role == "admin" else "public"
        form.interval_days.data = rules.PatrolRules.current().public_days
        default = Checklist.get_or_none(Checklist.kind == form.kind.data)
        form.checklist.data = default.id if default else None
        zones = access.zone_ids(current_user)
        form.zone.data = zones[0] if len(zones) == 1 else 0
    if form.validate_on_submit():
        household = None
        if form.household.data:
            household = find_household(form.household.data)
            if household is None:
                form.household.errors.append(f"没有房号“{form.household.data}”，请按 栋-单元-室 填写")
        if form.kind.data == "renovation" and not form.household.data:
            form.household.errors.append("装修户请填写房号")
        if not form.household.errors:
            zone = Zone.live().where(Zone.id == form.zone.data).first()
            if zone is not None and zone.id not in access.work_zone_ids(current_user):
                zone = None
            try:
                checkpoint = rules.create_checkpoint(
                    current_user, kind=form.kind.data, name=form.name.data, zone=zone,
                    checklist=Checklist.live().where(Checklist.id == form.checklist.data).first(),
                    unit=Unit.live().where(Unit.id == form.unit.data).first() if form.unit.data else None,
                    place=Place.live().where(Place.id == form.place.data).first() if form.place.data else None,
                    household=household, interval_days=form.interval_days.data, note=form.note.data or "")
                return done(f"已新建巡查点“{checkpoint.name}”", "patrols.checkpoint", checkpoint_id=checkpoint.id)
            except RuleError as error:
                show_error(form, error)
    context = dict(form=form, title="新建巡查点", back=url_for("patrols.checkpoints"), checkpoint=None)
    if request.method == "POST":
        return invalid("patrols/checkpoint_form.html", **context)
    return render("patrols/checkpoint_form.html", **context)


@bp.route("/patrols/checkpoints/<int:checkpoint_id>/edit", methods=["GET", "POST"])
@roles("admin")
def checkpoint_edit(checkpoint_id):
    """Edit a checkpoint's name, zone, checklist, responsible unit and interval."""
    checkpoint = _checkpoint(checkpoint_id)
    form = CheckpointForm(obj=None)
    _checkpoint_choices(form)
    # A checkpoint keeps its kind and place; the edit page doesn't show them, so they aren't checked.
    del form.kind, form.place, form.household
    if request.method == "GET":
        form.version.data = checkpoint.version
        form.name.data, form.zone.data = checkpoint.name, checkpoint.zone_id
        form.checklist.data, form.unit.data = checkpoint.checklist_id, checkpoint.unit_id or 0
        form.interval_days.data = checkpoint.interval_days
        form.note.data = checkpoint.note
    here = url_for("patrols.checkpoint", checkpoint_id=checkpoint.id)
    return form_page(form, lambda: rules.update_checkpoint(
        current_user, checkpoint, form.expected_version(), name=form.name.data,
        zone=Zone.live().where(Zone.id == form.zone.data).first(),
        checklist=Checklist.live().where(Checklist.id == form.checklist.data).first(),
        unit=Unit.live().where(Unit.id == form.unit.data).first() if form.unit.data else None,
        interval_days=form.interval_days.data, note=form.note.data or ""),
        "巡查点已保存", here, "patrols/checkpoint_form.html", checkpoint=checkpoint, title="修改巡查点", back=here)


@bp.route("/patrols/checkpoints/<int:checkpoint_id>")
@roles(*VIEWERS)
def checkpoint(checkpoint_id):
    """A checkpoint: its state today, its checks newest first (paged), open findings, set-up timeline."""
    checkpoint = _checkpoint(checkpoint_id)
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100000))
    checks = list(rules.history(checkpoint, HISTORY_PAGE + 1, (page - 1) * HISTORY_PAGE))
    today = clock.today(estate().tz)
    patrol_rules = rules.PatrolRules.current()
    return render("patrols/checkpoint.html", block="history", checkpoint=checkpoint, title=checkpoint.name,
                  back=url_for("patrols.checkpoints"), checks=checks[:HISTORY_PAGE], page=page,
                  more=len(checks) > HISTORY_PAGE, today=today, patrol_rules=patrol_rules,
                  covered=checkpoint.covered_on(today, patrol_rules),
                  findings=list(checkpoint.findings.where(Finding.state.in_(rules.FINDING_OPEN))
                                .order_by(Finding.created_at.desc()).limit(20)),
                  timeline=events.timeline(checkpoint), can_check=checkpoint.can_check)


@bp.route("/patrols/checkpoints/<int:checkpoint_id>/void", methods=["POST"])
@roles("admin")
def checkpoint_void(checkpoint_id):
    """作废 a checkpoint: its sticker stops opening anything; its checks stay on record."""
    checkpoint = _checkpoint(checkpoint_id)
    try:
        void_record(current_user, checkpoint, request.form.get("reason", ""))
    except RuleError as error:
        flash(error.message, "error")
        return redirect(url_for("patrols.checkpoint", checkpoint_id=checkpoint.id), code=303)
    return done(f"已作废巡查点“{checkpoint.name}”，其二维码不再可用", "patrols.checkpoints")


@bp.route("/patrols/checkpoints/<int:checkpoint_id>/sticker", methods=["POST"])
@roles("admin")
def checkpoint_sticker(checkpoint_id):
    """A new sticker code for a lost or copied sticker; the old one stops working."""
    checkpoint = rules.new_sticker(current_user, _checkpoint(checkpoint_id))
    return done("已生成新二维码，请打印新贴纸换上，旧贴纸已失效", "patrols.checkpoint", checkpoint_id=checkpoint.id)


# Checking

class CheckForm(TokenForm):
    note = long_text("其他情况", 1000, render_kw={"rows": 2, "placeholder": "选填：现场其他需要记录的情况"})


def _made_at(value):
    """When a check kept on the phone without signal was made (the page's script sends it with the
    check once the signal is back), as naive UTC; None for a check sent at once."""
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value[:40])
        if moment.tzinfo is None:
            raise ValueError(value)
        return clock.to_utc_naive(moment)
    except (ValueError, OverflowError):
        raise rules.PatrolError("离线保存的巡查时间无法识别，请重新巡查")


def _check_page(checkpoint, via, action):
    """The checklist of one checkpoint: one tap per item, notes and photos on 不合格, saved at once."""
    form = CheckForm()
    items = list(checkpoint.checklist.live_items())
    answers, item_errors, photo_fields = {}, {}, {}
    for item in items:
        photo_fields[item.id] = photo_views.PhotoField(f"-{item.id}", label="问题照片", hint="")
    if request.method == "POST":
        for item in items:
            answers[item.id] = (request.form.get(f"answer-{item.id}", ""), request.form.get(f"note-{item.id}", "")[:500])
            photo_fields[item.id].collect()
        if form.validate_on_submit() and not any(f.errors for f in photo_fields.values()):
            try:
                check, created = rules.record_check(
                    current_user, checkpoint, via, answers, note=form.note.data or "",
                    photos={item_id: field.photos for item_id, field in photo_fields.items()
                            if answers.get(item_id, ("",))[0] == "fail"},
                    token=form.token.data, made_at=_made_at(request.form.get("made_at")))
                if not created:
                    uploads.discard(current_app.config["PHOTOS"],
                                    [photo for field in photo_fields.values() for photo in field.photos])
                failed = f"，{check.failed} 项不合格已记为问题" if check.failed else "，全部合格"
                flash(("已保存巡查" + failed) if created else "这次巡查已保存过，未重复记录", "success")
                if check.failed == 1 and created:
                    return redirect(url_for("patrols.finding", finding_id=check.findings.get().id), code=303)
                if check.failed and created:
                    return redirect(url_for("patrols.check_show", check_id=check.id), code=303)
                return redirect(url_for("patrols.index"), code=303)
            except rules.PatrolError as error:
                item_errors = getattr(error, "items", {})
                if not item_errors:
                    form.form_errors.append(error.message)
    else:
        preset = DEFAULT_ANSWERS.get(checkpoint.source_type, lambda checkpoint, items: {})(checkpoint, items)
        answers = {item.id: (preset.get(item.id, "ok"), "") for item in items}
    form.ensure_token()
    context = dict(form=form, checkpoint=checkpoint, items=items, answers=answers, item_errors=item_errors,
                   photo_fields=photo_fields, via=via, action=action, title="现场巡查",
                   back=url_for("patrols.checkpoint", checkpoint_id=checkpoint.id),
                   patrol_rules=rules.PatrolRules.current(), now=clock.now().astimezone(estate().tz))
    if request.method == "POST":
        return invalid("patrols/check.html", **context)
    return render("patrols/check.html", **context)


@bp.route("/c/<token>", methods=["GET", "POST"])
@roles(*PATROLLERS)
def scan(token):
    """A sticker's QR code: the checkpoint's check page, the check marked as made on the spot."""
    checkpoint = rules.by_token(token)
    if checkpoint is None:
        return render("patrols/unknown_sticker.html", title="二维码无效", status=404)
    record_or_404(checkpoint, change=True)
    return _check_page(checkpoint, "scan", url_for("patrols.scan", token=token))


@bp.route("/patrols/checkpoints/<int:checkpoint_id>/check", methods=["GET", "POST"])
@roles(*PATROLLERS)
def check(checkpoint_id):
    """The same check page picked from a list (not proof of presence)."""
    checkpoint = _checkpoint(checkpoint_id, check=True)
    return _check_page(checkpoint, "list", url_for("patrols.check", checkpoint_id=checkpoint.id))


@bp.route("/patrols/checks/<int:check_id>")
@roles(*VIEWERS)
def check_show(check_id):
    """One saved check with every answer."""
    record = record_or_404(Check, check_id)
    return render("patrols/check_show.html", record=record, title=f"巡查记录：{record.checkpoint.name}",
                  back=url_for("patrols.checkpoint", checkpoint_id=record.checkpoint_id),
                  findings=list(record.findings.order_by(Finding.id)))


# Findings

class OrderForm(VersionForm):
    unit = SelectField("责任业务块", coerce=int)
    instructions = long_text("整改要求", 1000, required=True, message="请写明整改要求", render_kw={"rows": 3})
    deadline = DateTimeLocalField("整改时限", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                  validators=[InputRequired("请填写整改时限")])


class FixForm(VersionForm):
    note = long_text("当场如何解决", 500, required=True, message=rules.FIX_NOTE_MISSING, render_kw={"rows": 2})


class WatchForm(VersionForm):
    follow_up_by = DateField("跟进日期", validators=[Optional()])
    note = long_text("说明", 500, render_kw={"rows": 2})


@bp.route("/patrols/findings")
@roles("supervisor", "assistant")
def findings():
    """巡查问题 as a summary's figure counts them: found in an assistant's zones (?assistant=), in the days
    (?start=&end=), handed to a unit's work order (?unit=工程部) or to none (?unit=none), only those closed
    (?closed=1); read-only cards."""
    narrowed = Filter({"by": request.args.get("assistant"), "start": request.args.get("start"),
                       "end": request.args.get("end")}, whose="{}的区域")
    unit = (request.args.get("unit") or "").strip()[:40]
    unit = summary_rules.NO_UNIT if unit == "none" else unit
    zone_ids = access.zone_ids(narrowed.person) if narrowed.person is not None \
        else access.work_zone_ids(current_user)
    query = summary_rules.findings_by_unit().where(Finding.zone.in_(zone_ids))
    if unit:
        query = query.where(summary_rules.of_unit(unit))
    closed = request.args.get("closed") == "1"
    if closed:
        query = query.where(Finding.resolved_at.is_null(False))
    query = narrowed.apply(query, Finding, None, Finding.created_at)
    found = list(query.select_extend(Checkpoint.name.alias("checkpoint_name"))
                 .join_from(Finding, Checkpoint).objects())
    return render("patrols/findings.html", title="巡查问题", findings=found, narrowed=narrowed, unit=unit, closed=closed,
                  back=url_for("patrols.index"))


@bp.route("/patrols/findings/<int:finding_id>")
@roles(*VIEWERS)
def finding(finding_id):
    """A finding: what was wrong, its photos, and the three ways on (order, fix on the spot, watch)."""
    finding = _finding(finding_id)
    order = WorkOrder.cards().where(WorkOrder.id == finding.work_order_id).first() \
        if finding.work_order_id else None
    pages = dict(FINDING_PAGES)
    extra = FINDING_ACTIONS.get(finding.checkpoint.source_type)
    if extra:
        pages[extra[2]] = extra[:2]
    # The ways on are the steps the rules allow this user now: none once the finding was handed on.
    actions = [(pages[s.action][0], url_for(pages[s.action][1], finding_id=finding.id))
               for s in rules.FINDINGS.allowed(finding, current_user) if s.action in pages] \
        if access.may_change(current_user, finding) else []
    links = FINDING_LINKS.get(finding.checkpoint.source_type, lambda finding: [])(finding)
    if finding.handed_to == "observation":
        watched = Observation.get_by_id(finding.handed_id)
        links = [(f"需关注（{watched.state_label}）", url_for("patrols.observation", observation_id=watched.id)),
                 *links]
    return render("patrols/finding.html", finding=finding, order=order, title="巡查问题", actions=actions,
                  links=links, back=url_for("patrols.index") if current_user.role in PATROLLERS
                  else url_for("patrols.checkpoint", checkpoint_id=finding.checkpoint_id),
                  photos=list(uploads.Photo.of(finding)),
                  timeline=events.timeline(finding))


def handed_elsewhere(finding, record_type):
    """Opening a hand-off's form for a finding that can't go on to it (handed on already): back to the
    finding, saying why; None when it can."""
    refused = rules.hand_off_refusal(current_user, finding, record_type)
    if refused and request.method == "GET":
        flash(refused, "error")
        return redirect(url_for("patrols.finding", finding_id=finding.id), code=303)
    return None


def _finding_action(finding_id):
    finding = _finding(finding_id, change=True)
    if finding.state != "open" and request.method == "GET":
        flash(f"该问题当前为“{finding.state_label}”", "error")
        return finding, redirect(url_for("patrols.finding", finding_id=finding.id), code=303)
    return finding, None


@bp.route("/patrols/findings/<int:finding_id>/order", methods=["GET", "POST"])
@roles(*PATROLLERS)
def finding_order(finding_id):
    """整改单: the finding to its checkpoint's responsible unit, with a deadline."""
    finding, gone = _finding_action(finding_id)
    if gone:
        return gone
    form = OrderForm()
    form.unit.choices = choices([(0, "请选择")] + [(u.id, f"{u.name}（{u.kind_label}）")
                                                 for u in Unit.live().order_by(Unit.kind, Unit.name)])
    tz = estate().tz
    if request.method == "GET":
        form.version.data = finding.version
        form.unit.data = finding.checkpoint.unit_id or 0
        form.instructions.data = f"请整改：{finding.item_text}不合格" + (f"（{finding.note}）" if finding.note else "")
        form.deadline.data = default_deadline().replace(tzinfo=None)
    deadline = form.deadline.data.replace(tzinfo=tz) if form.deadline.data else None
    here = url_for("patrols.finding", finding_id=finding.id)
    return form_page(form, lambda: rules.raise_order(
        current_user, finding, form.expected_version(), Unit.live().where(Unit.id == form.unit.data).first(),
        form.instructions.data, deadline), "已派整改单，业务块会在手机上看到", here, "patrols/finding_order.html",
        finding=finding, title="派整改单", back=here)


@bp.route("/patrols/findings/<int:finding_id>/fix", methods=["GET", "POST"])
@roles(*PATROLLERS)
def finding_fix(finding_id):
    """当场解决: the assistant fixed it there and then."""
    finding, gone = _finding_action(finding_id)
    if gone:
        return gone
    form = FixForm()
    if request.method == "GET":
        form.version.data = finding.version
    here = url_for("patrols.finding", finding_id=finding.id)
    return form_page(form, lambda: rules.fix_on_the_spot(current_user, finding, form.expected_version(),
                                                         form.note.data), "已记录当场解决", here,
                     "patrols/finding_fix.html", finding=finding, title="当场解决", back=here)


@bp.route("/patrols/findings/<int:finding_id>/watch", methods=["GET", "POST"])
@roles(*PATROLLERS)
def finding_watch(finding_id):
    """转为需关注: not work for a unit now, but watched until closed."""
    finding, gone = _finding_action(finding_id)
    if gone:
        return gone
    form = WatchForm()
    if request.method == "GET":
        form.version.data = finding.version
        form.follow_up_by.data = clock.today(estate().tz) + datetime.timedelta(days=3)
    here = url_for("patrols.finding", finding_id=finding.id)
    return form_page(form, lambda: rules.to_observation(current_user, finding, form.expected_version(),
                                                        form.follow_up_by.data, form.note.data or ""),
                     "已转为需关注，跟进到关闭为止", here, "patrols/finding_watch.html", finding=finding,
                     title="转为需关注", back=here)


# Observations

class ObservationForm(TokenForm):
    zone = SelectField("管辖区域", coerce=int)
    where = text("位置", 120, render_kw={"placeholder": "如 5号楼地库入口"})
    what = long_text("需关注的情况", 1000, required=True, message=rules.OBSERVATION_MISSING,
                     render_kw={"rows": 3})
    follow_up_by = DateField("跟进日期", validators=[Optional()])


class CloseForm(VersionForm):
    note = long_text("结果", 500, required=True, message=rules.RESULT_MISSING, render_kw={"rows": 2})


@bp.route("/patrols/observations/new", methods=["GET", "POST"])
@roles(*PATROLLERS)
def observation_new():
    """记录需关注: what, where, a photo, follow up by when."""
    form = ObservationForm()
    zones = list(Zone.live().where(Zone.id.in_(access.work_zone_ids(current_user))).order_by(Zone.name))
    form.zone.choices = choices([(z.id, z.name) for z in zones])
    only_choice(form.zone)
    photo_field = photo_views.PhotoField()
    if request.method == "GET":
        form.follow_up_by.data = clock.today(estate().tz) + datetime.timedelta(days=3)
        form.where.data = request.args.get("where", "")[:120]
    else:
        photo_field.collect()
    form.ensure_token()
    if form.validate_on_submit() and not photo_field.errors:
        try:
            observation = rules.observe(current_user, next((z for z in zones if z.id == form.zone.data), None),
                                        form.what.data, form.where.data, form.follow_up_by.data,
                                        photos=photo_field.photos, token=form.token.data)
            return done("已记录需关注，关闭前会一直列在巡视页", "patrols.observation", observation_id=observation.id)
        except RuleError as error:
            show_error(form, error)
    context = dict(form=form, photo_field=photo_field, title="记录需关注", back=url_for("patrols.index"))
    if request.method == "POST":
        return invalid("patrols/observation_new.html", **context)
    return render("patrols/observation_new.html", **context)


@bp.route("/patrols/observations/<int:observation_id>", methods=["GET", "POST"])
@roles(*VIEWERS)
def observation(observation_id):
    """One observation; closing it with the result."""
    observation = _observation(observation_id, change=request.method == "POST")
    form = CloseForm()
    if request.method == "GET":
        form.version.data = observation.version
    here = url_for("patrols.observation", observation_id=observation.id)
    photos = list(uploads.Photo.of(observation))
    if observation.finding_id:
        photos += list(uploads.Photo.of(observation.finding))
    return form_page(form, lambda: rules.close_observation(current_user, observation, form.expected_version(),
                                                           form.note.data), "已关闭", here,
                     "patrols/observation.html", closed=None if observation.state == "open" else "该需关注已关闭",
                     observation=observation,
                     photos=photos, timeline=events.timeline(observation), title="需关注",
                     back=url_for("patrols.index") if current_user.role in PATROLLERS else url_for("home.index"))


# Printing

def _sticker_items(zone_ids, kind):
    """The checkpoints to print stickers for: live, and not ended (a finished renovation's door needs
    no sticker any more)."""
    today = clock.today(estate().tz)
    query = (Checkpoint.select(Checkpoint, Zone).join(Zone).switch(Checkpoint)
             .where(Checkpoint.voided_at.is_null() & Checkpoint.zone.in_(zone_ids)
                    & (Checkpoint.active_until.is_null() | (Checkpoint.active_until >= today))))
    if kind in rules.KINDS:
        query = query.where(Checkpoint.kind == kind)
    return list(query.order_by(Zone.name, Checkpoint.kind, Checkpoint.name))


def sticker_url(checkpoint):
    """What a sticker's QR code says: the scan address with the checkpoint's token, on the public
    address (a sheet printed from an office PC must still open on phones; see web.external_url)."""
    return external_url("patrols.scan", token=checkpoint.token)


@functools.lru_cache(maxsize=16384)
def _qr_image(address):
    """A sticker's QR code: (its lasting address for the document, a PNG of one grey pixel a module,
    which the sheet scales up unsmoothed). Drawn far faster than SVG, and a checkpoint's code never
    changes, so each is made once a process (about 1 KB each: room for every checkpoint of a large
    estate). Eight-bit grey, as the PDF stores it: WeasyPrint takes the PNG as it is (a one-bit one it
    converts and encodes again, every sheet)."""
    image = segno.make(address, error="m")
    out = io.BytesIO()
    image.save(out, kind="png", scale=1, border=2)
    grey = io.BytesIO()
    Image.open(io.BytesIO(out.getvalue())).convert("L").save(grey, format="PNG")
    name = hashlib.sha256(address.encode()).hexdigest()[:32]
    return f"{pdf.LASTING}qr/{name}.png", grey.getvalue()


@bp.route("/patrols/stickers.pdf")
@roles(*VIEWERS)
def stickers():
    """An A4 sheet of QR stickers (12 a page) for a zone or a kind, or one checkpoint."""
    zone_ids = access.work_zone_ids(current_user)
    zone = request.args.get("zone", type=int)
    if zone:
        zone_ids = [z for z in zone_ids if z == zone]
    items = _sticker_items(zone_ids, request.args.get("kind", ""))
    one = request.args.get("checkpoint", type=int)
    if one:
        items = [c for c in items if c.id == one]
    if not items:
        abort(404)
    if not current_app.config.get("PUBLIC_URL"):
        # Without it the codes would hold whatever host this request came in on (127.0.0.1 on the
        # office PC, or a forged Host header): stickers that open nothing on a phone.
        page = render_template("error.html", status=409, title="无法打印二维码贴纸",
                               message="二维码里要写入手机能打开的公开地址，但服务器还没有设置。请在启动服务前设置环境变量 "
                                       "PUBLIC_URL（例如 PUBLIC_URL=https://kefu.example.com，即助理手机上打开本系统的地址），"
                                       "重启服务后再打印。")
        return page, 409
    codes = [_qr_image(sticker_url(c)) for c in items]
    return pdf.response("patrols/stickers_print.html", "巡查点二维码.pdf",
                        stickers=[(c, address) for c, (address, _png) in zip(items, codes)],
                        lasting_images=dict(codes))


@bp.route("/patrols/record.pdf")
@roles(*PATROLLERS)
def record_pdf():
    """The day's patrol record of an assistant (mine; the supervisor picks whose), for the work record."""
    tz = estate().tz
    try:
        day = datetime.date.fromisoformat(request.args.get("day", "")) if request.args.get("day") else clock.today(tz)
    except ValueError:
        abort(404)
    person = current_user
    if current_user.role == "supervisor" and request.args.get("user", type=int):
        person = User.get_or_none((User.id == request.args.get("user", type=int)) & (User.role == "assistant"))
        if person is None:
            abort(404)
    zone_ids = access.zone_ids(person)
    checks = list(rules.checks_of_day(person, day))
    start, end = clock.day_bounds(day, tz)
    findings = {}
    for finding in Finding.select().where(Finding.check.in_([c.id for c in checks])).order_by(Finding.id):
        findings.setdefault(finding.check_id, []).append(finding)
    observations = list(Observation.live().where((Observation.created_by == person.id)
                                                 & (Observation.created_at >= start) & (Observation.created_at < end))
                        .order_by(Observation.created_at))
    coverage = rules.coverage_history(zone_ids, day, day)[day] if zone_ids else None
    return pdf.response("patrols/record_print.html", f"巡查记录-{person.display_name}-{day:%Y%m%d}.pdf",
                        person=person, day=day, checks=checks, findings=findings, observations=observations,
                        coverage=coverage, zones=list(Zone.select().where(Zone.id.in_(zone_ids))))


# The supervisor's weeks

@bp.route("/patrols/coverage")
@roles("supervisor")
def coverage():
    """Coverage per assistant per day for a week, with what was missed. With ?by= (an assistant) and
    ?start= (a summary's 巡查覆盖率): that assistant's days from `start` to `end` (at most COVERAGE_DAYS),
    with the share of the daily checkpoints' days checked as the summary counts it."""
    tz = estate().tz
    today = clock.today(tz)
    problems = []
    try:
        end = min(datetime.date.fromisoformat(request.args["end"]), today) if request.args.get("end") else today
    except ValueError:
        end = today
        problems.append(f"结束日期“{request.args['end'][:20]}”不是有效日期，已按今天")
    start = end - datetime.timedelta(days=6)
    if request.args.get("start"):
        try:
            start = min(datetime.date.fromisoformat(request.args["start"]), end)
        except ValueError:
            problems.append(f"开始日期“{request.args['start'][:20]}”不是有效日期，已按结束日期前 7 天")
        if end - start >= datetime.timedelta(days=COVERAGE_DAYS):
            start = end - datetime.timedelta(days=COVERAGE_DAYS - 1)
            problems.append(f"一次最多看 {COVERAGE_DAYS} 天，已从 {start:%Y-%m-%d} 起")
    assistants = User.live().where((User.role == "assistant") & User.active).order_by(User.display_name)
    person = None
    if request.args.get("by"):
        ids = record_ids([request.args["by"][:20]])
        person = User.live().where((User.role == "assistant") & (User.id == ids[0])).first() if ids else None
        if person is None:
            problems.append(f"没有编号为“{request.args['by'][:20]}”的客户助理，已列出全部")
        else:
            assistants = [person]
    people = []
    for one in assistants:
        zone_ids = access.zone_ids(one)
        if zone_ids:
            days = rules.coverage_history(zone_ids, start, end)
            people.append((one, sorted(days.items(), reverse=True)))
    narrowed = person is not None or bool(request.args.get("start"))
    step = (end - start).days + 1 if narrowed else 7
    keep = {"by": person.id} if person is not None else {}
    return render("patrols/coverage.html", title="巡查覆盖", people=people, start=start, end=end, today=today,
                  person=person, problems=problems, keep=keep, step=step,
                  daily_rate=trend_rules.coverage(person, start, end) if person is not None else None,
                  earlier=end - datetime.timedelta(days=step),
                  later=min(end + datetime.timedelta(days=step), today) if end < today else None,
                  kinds=[(k, rules.KINDS[k]) for k in rules.COVERAGE_KINDS], back=url_for("patrols.index"))


@bp.route("/patrols/coverage/<day>")
@roles("supervisor")
def coverage_day(day):
    """One day's coverage, assistant by assistant: each checkpoint missed, public places included,
    counted as the page is asked for."""
    tz = estate().tz
    today = clock.today(tz)
    try:
        day = min(datetime.date.fromisoformat(day), today)
    except ValueError:
        abort(404)
    people = []
    for person in User.live().where((User.role == "assistant") & User.active).order_by(User.display_name):
        zone_ids = access.zone_ids(person)
        if zone_ids:
            people.append((person, rules.coverage_history(zone_ids, day, day)[day]))
    return render("patrols/coverage_day.html", title=f"{day:%m-%d} 巡查覆盖", people=people, day=day, today=today,
                  counted_at=clock.utcnow(), kinds=[(k, rules.KINDS[k]) for k in rules.COVERAGE_KINDS],
                  earlier=day - datetime.timedelta(days=1), later=day + datetime.timedelta(days=1) if day < today else None,
                  back=url_for("patrols.coverage", end=day.isoformat()))


# Administration: checklists and rules

class ItemForm(VersionForm):
    text = text("检查项", 60)


class RulesForm(VersionForm):
    quiet_start = TimeField("无噪音施工时段 开始", validators=[InputRequired("请填写开始时间")])
    quiet_end = TimeField("结束", validators=[InputRequired("请填写结束时间")])
    security_days = IntegerField("安保岗位 每几天至少一次", validators=[InputRequired("请填写天数")])
    renovation_days = IntegerField("装修户 每几天至少一次", validators=[InputRequired("请填写天数")])
    shop_days = IntegerField("商铺 每几天至少一次", validators=[InputRequired("请填写天数")])
    public_days = IntegerField("公共部位 默认巡查周期（天）", validators=[InputRequired("请填写天数")])
    renovation_in_window = BooleanField("装修户每天须在无噪音时段内巡查一次")
    photo_steps = MultiCheckboxField("须拍照的步骤", choices=choices(rules.PHOTO_STEPS.items()))


@bp.route("/admin/patrol-rules", methods=["GET", "POST"])
@roles("admin")
def rules_edit():
    """巡查规则: the no-noise window and how often each kind of checkpoint is due."""
    current = rules.PatrolRules.current()
    form = RulesForm(obj=current if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = current.version
        form.photo_steps.data = current.photo_steps.split(",")
    names = ("quiet_start", "quiet_end", "security_days", "renovation_days", "shop_days", "public_days",
             "renovation_in_window", "photo_steps")
    return form_page(form, lambda: rules.update_rules(current_user, form.expected_version(),
                                                      **{n: getattr(form, n).data for n in names}),
                     "巡查规则已保存", url_for("patrols.rules_edit"), "patrols/rules.html", title="巡查规则",
                     back=url_for("estate.index"), timeline=events.timeline(current))


@bp.route("/admin/checklists")
@roles("admin")
def checklists():
    """检查表: one per kind of place, each a list of items answered 合格 / 不合格 / 不适用."""
    return render("patrols/checklists.html", title="检查表", items=rules.checklists(), back=url_for("estate.index"))


@bp.route("/admin/checklists/<int:checklist_id>", methods=["GET", "POST"])
@roles("admin")
def checklist(checklist_id):
    """A checklist's items: add, rename, move, remove. Earlier checks keep the wording they had."""
    checklist = Checklist.live().where(Checklist.id == checklist_id).first()
    if checklist is None:
        abort(404)
    form = ItemForm()
    here = url_for("patrols.checklist", checklist_id=checklist.id)
    if request.method == "POST":
        action = request.form.get("action", "add")
        item = ChecklistItem.get_or_none((ChecklistItem.id == request.form.get("item", type=record_id))
                                         & (ChecklistItem.checklist == checklist) & ChecklistItem.voided_at.is_null())
        try:
            if action in ("up", "down", "remove", "rename") and item is None:
                raise rules.PatrolError("该检查项已不存在")
            if action in ("up", "down"):
                rules.move_item(current_user, item, -1 if action == "up" else 1)
                return redirect(here, code=303)
            if action == "remove":
                rules.void_item(current_user, item)
                return done(f"已删除检查项“{item.text}”", "patrols.checklist", checklist_id=checklist.id)
            if action == "rename":
                rules.rename_item(current_user, item, request.form.get("text", ""))
                return done("检查项已修改", "patrols.checklist", checklist_id=checklist.id)
            if form.validate_on_submit():
                rules.add_item(current_user, checklist, form.text.data)
                return done("已新增检查项", "patrols.checklist", checklist_id=checklist.id)
        except RuleError as error:
            show_error(form, error)
        except StaleRecord as error:
            form.form_errors.append(error.message)
    context = dict(form=form, checklist=checklist, items=list(checklist.live_items()), title=checklist.name,
                   back=url_for("patrols.checklists"), timeline=events.timeline(checklist))
    if request.method == "POST":
        return invalid("patrols/checklist.html", **context)
    return render("patrols/checklist.html", **context)
