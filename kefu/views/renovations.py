"""装修户 on the phone: the register, a renovation's page with its state, violations and their steps,
numbered rectification notices (A4, with a receipt slip), escalation with its dossier (A4), the
supervisor's open cases and the archive."""
import datetime

from flask import Blueprint
from flask import abort
from flask import request
from flask import url_for
from flask_login import current_user
from wtforms import DateField
from wtforms import DateTimeLocalField
from wtforms import IntegerField
from wtforms import RadioField
from wtforms import SelectField
from wtforms.validators import InputRequired
from wtforms.validators import NumberRange
from wtforms.validators import Optional

from .. import access
from .. import clock
from .. import events
from .. import patrols
from .. import pdf
from .. import renovations as rules
from .. import uploads
from ..auth import roles
from ..db import RuleError
from ..estate import find_household
from ..renovations import Referral
from ..renovations import RectificationNotice
from ..renovations import Renovation
from ..renovations import Violation
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
from .forms import ROOM_HINT
from .forms import ROOM_INPUT
from .forms import TokenForm
from .forms import VersionForm
from .forms import form_page
from .forms import long_text
from .forms import making_page
from .forms import show_error
from .forms import text

bp = Blueprint("renovations", __name__)


# The estate's clauses and templates (administrator)

@bp.route("/admin/renovation-terms", methods=["GET", "POST"])
@roles("admin")
def terms():
    """装修协议条款与整改要求: the clauses a violation cites, and what each type of violation is told to do."""
    clause_text = "\n".join(rules.clauses())
    demands = rules.demands()
    error = None
    if request.method == "POST":
        clause_text = request.form.get("clauses", "")[:20000]
        demands = {kind: request.form.get(f"demand-{i}", "")[:1000] for i, kind in enumerate(rules.VIOLATION_TYPES)}
        try:
            rules.save_terms(current_user, clause_text, demands)
            return done("已保存装修协议条款与整改要求", "renovations.terms")
        except RuleError as refused:
            error = refused
    context = dict(title="装修协议条款与整改要求", clause_text=clause_text, error=error, back=url_for("estate.index"),
                   demands=[(i, kind, demands[kind]) for i, kind in enumerate(rules.VIOLATION_TYPES)])
    return invalid("renovations/terms.html", **context) if error else render("renovations/terms.html", **context)

HANDLERS = ("supervisor", "assistant")


def _zone_ids():
    return access.work_zone_ids(current_user)


def _renovation(renovation_id):
    return record_or_404(Renovation.live(), renovation_id)


def _violation(violation_id):
    violation = Violation.get_or_none(Violation.id == violation_id)
    if violation is not None and violation.renovation.voided_at is not None:
        abort(404)
    return record_or_404(violation)


def _notice(notice_id):
    return record_or_404(RectificationNotice, notice_id)


photo_views.OWNER_ACCESS["renovation"] = photo_views.seen_with(Renovation)
photo_views.OWNER_ACCESS["violation"] = photo_views.seen_with(Violation)


# Lists

@bp.route("/renovations")
@roles(*HANDLERS)
def index():
    """装修户: active renovations in my zone with today's patrols, open violations, overdue notices."""
    zone_ids = _zone_ids()
    today = clock.today(estate().tz)
    q = request.args.get("q", "")[:30]
    active = list(rules.active_in(zone_ids))
    checkpoint = patrols.Checkpoint  # what a card shows of its daily patrol: the days last checked
    checkpoints = {c.id: c for c in checkpoint.select(checkpoint.id, checkpoint.last_day, checkpoint.last_window_day)
                   .where(checkpoint.id.in_([r.checkpoint_id for r in active if r.checkpoint_id]))}
    found = list(rules.search(zone_ids, q).limit(30)) if q.strip() else []
    return render("renovations/index.html", block="results", title="装修户", q=q, today=today, active=active,
                  checkpoints=checkpoints, violations=list(rules.open_violations(zone_ids).limit(50)),
                  overdue=list(rules.overdue_notices(zone_ids, today)), found=found,
                  patrol_rules=patrols.PatrolRules.current())


@bp.route("/renovations/cases")
@roles("supervisor")
def cases():
    """All open violation cases with their age, oldest first (the supervisor's view)."""
    return render("renovations/cases.html", title="装修违规案件", today=clock.today(estate().tz),
                  violations=list(rules.open_violations(_zone_ids())), back=url_for("renovations.index"),
                  age=rules.age_days)


# The register

class RegisterForm(TokenForm):
    household = text("房号", 30, render_kw={**ROOM_INPUT, "placeholder": "如 3-2-1502"}, description=ROOM_HINT)
    owner_name = text("业主姓名", 40)
    owner_phone = text("业主电话", 20, required=False, render_kw={"inputmode": "tel", "type": "tel"})
    company = text("施工单位", 60, required=False)
    foreman = text("施工负责人", 40, required=False)
    foreman_phone = text("负责人电话", 20, required=False, render_kw={"inputmode": "tel", "type": "tel"})
    workers = IntegerField("施工人数", validators=[Optional(), NumberRange(0, 200, rules.WORKERS_RANGE)],
                           render_kw={"inputmode": "numeric"})
    permit_number = text("装修许可/协议编号", 40, required=False)
    permit_date = DateField("签订日期", validators=[Optional()])
    planned_start = DateField("计划开工", validators=[InputRequired(rules.PLANNED_START_MISSING)])
    planned_end = DateField("计划完工", validators=[InputRequired("请填写计划完工日期")])
    deposit = IntegerField("装修押金（元）", validators=[Optional(), NumberRange(0, 1000000, rules.DEPOSIT_WRONG)],
                           render_kw={"inputmode": "numeric"})
    allowed_hours = text("允许施工时间", 80, required=False)
    works = MultiCheckboxField("装修项目", choices=choices((w, w) for w in rules.WORKS))
    note = long_text("备注", 1000, render_kw={"rows": 2})


@bp.route("/renovations/new", methods=["GET", "POST"])
@roles(*HANDLERS)
def new():
    """装修登记: household, owner, contractor, permit, dates, deposit, hours, works, agreement photos."""
    form = RegisterForm()
    photo_field = photo_views.PhotoField(label="协议及证件照片")
    if request.method == "GET":
        today = clock.today(estate().tz)
        form.planned_start.data, form.planned_end.data = today, today + datetime.timedelta(days=60)
        form.allowed_hours.data = "工作日 8:00–12:00、14:00–18:00"
        form.household.data = request.args.get("household", "")[:30]
    else:
        photo_field.collect()
    form.ensure_token()
    if form.validate_on_submit() and not photo_field.errors:
        household = find_household(form.household.data)
        if household is None:
            form.household.errors.append(f"没有房号“{form.household.data}”，请按 栋-单元-室 填写，如 3-2-1502")
        elif not access.may_change(current_user, household):
            form.household.errors.append("该房号不在您的管辖区域")
        else:
            try:
                renovation, created = rules.register(
                    current_user, household, owner_name=form.owner_name.data, owner_phone=form.owner_phone.data or "",
                    company=form.company.data or "", foreman=form.foreman.data or "",
                    foreman_phone=form.foreman_phone.data or "", workers=form.workers.data or 0,
                    permit_number=form.permit_number.data or "", permit_date=form.permit_date.data,
                    planned_start=form.planned_start.data, planned_end=form.planned_end.data,
                    deposit=form.deposit.data or 0, allowed_hours=form.allowed_hours.data or "",
                    works=form.works.data or [], note=form.note.data or "", token=form.token.data)
                if created:
                    uploads.attach(photo_field.photos, renovation)
                return done("已登记装修" if created else "这次登记已保存过，未重复登记", "renovations.show",
                            renovation_id=renovation.id)
            except RuleError as error:
                show_error(form, error)
    context = dict(form=form, photo_field=photo_field, title="装修登记", back=url_for("renovations.index"))
    if request.method == "POST":
        return invalid("renovations/new.html", **context)
    return render("renovations/new.html", **context)


@bp.route("/renovations/<int:renovation_id>")
@roles(*HANDLERS)
def show(renovation_id):
    """A renovation: its register entry, today's patrols, violations, notices, referrals, timeline."""
    renovation = _renovation(renovation_id)
    checkpoint = patrols.Checkpoint.get_or_none(patrols.Checkpoint.id == renovation.checkpoint_id) \
        if renovation.checkpoint_id else None
    today = clock.today(estate().tz)
    return render("renovations/show.html", renovation=renovation, title=renovation.household.code,
                  back=url_for("renovations.index"), checkpoint=checkpoint, today=today,
                  violations=list(renovation.violations.where(Violation.voided_at.is_null()).order_by(Violation.at.desc())),
                  notices=list(renovation.notices.order_by(RectificationNotice.issued_at.desc())),
                  referrals=list(renovation.referrals.order_by(Referral.sent_at.desc())),
                  documents=list(uploads.Photo.of(renovation)), timeline=events.timeline(renovation),
                  state_form=VersionForm(version=renovation.version), patrol_rules=patrols.PatrolRules.current())


class StateForm(VersionForm):
    reason = long_text("说明", 500, render_kw={"rows": 2})


_STATE_ACTIONS = {
    "start": ("开工（开始每日巡查）", lambda r, f: rules.start(current_user, r, f.expected_version())),
    "pause": ("暂停施工", lambda r, f: rules.pause(current_user, r, f.expected_version(), f.reason.data or "")),
    "finish": ("完工", lambda r, f: rules.finish(current_user, r, f.expected_version(), note=f.reason.data or "")),
    "accept": ("验收", lambda r, f: rules.accept(current_user, r, f.expected_version(), f.reason.data or "")),
    "archive": ("归档", lambda r, f: rules.archive(current_user, r, f.expected_version())),
}


@bp.route("/renovations/<int:renovation_id>/<any(start, pause, finish, accept, archive):action>",
          methods=["GET", "POST"])
@roles(*HANDLERS)
def change(renovation_id, action):
    """开工 / 暂停 / 完工 / 验收 / 归档, each asked once in words."""
    renovation = _renovation(renovation_id)
    label, apply = _STATE_ACTIONS[action]
    form = StateForm()
    if request.method == "GET":
        form.version.data = renovation.version
    here = url_for("renovations.show", renovation_id=renovation.id)
    return form_page(form, lambda: apply(renovation, form), f"已{label.split('（')[0]}", here,
                     "renovations/change.html", renovation=renovation, action=action, label=label, title=label,
                     back=here)


# Violations

class ViolationForm(TokenForm):
    kind = RadioField("违规类型", choices=choices((k, k) for k in rules.VIOLATION_TYPES),
                      validators=[InputRequired(rules.VIOLATION_KIND_MISSING)])
    at = DateTimeLocalField("发现时间", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                            validators=[InputRequired("请填写发现时间")])
    description = long_text("违规情况", 1000, required=True, message="请写明违规情况", render_kw={"rows": 3})
    # The estate's own clauses (设置 → 装修协议条款与整改要求); any text is kept as sent.
    clause = SelectField("违反的协议条款", validate_choice=False)


def _violation_form(renovation, finding=None):
    form = ViolationForm()
    form.clause.choices = choices([("", "不引用条款")] + [(c, c) for c in rules.clauses()])
    photo_field = photo_views.PhotoField(label="现场照片")
    tz = estate().tz
    if request.method == "GET":
        form.at.data = clock.now().astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        if finding is not None:
            # Written for the owner, with the type and the clause the failed item points at.
            form.kind.data = rules.type_for_item(finding.item_text)
            form.description.data = rules.owner_wording(finding.item_text, finding.note)
            form.clause.data = rules.clause_for(form.kind.data, finding.item_text)
            form.at.data = clock.to_local(finding.created_at, tz).replace(tzinfo=None, second=0, microsecond=0)
    else:
        photo_field.collect()
    form.ensure_token()
    if form.validate_on_submit() and not photo_field.errors:
        photos = list(photo_field.photos)
        try:
            violation, created = rules.record_violation(
                current_user, renovation, form.kind.data, form.description.data, form.clause.data or "",
                at=form.at.data.replace(tzinfo=tz), photos=photos, finding=finding, token=form.token.data)
            return done("已记录违规，请劝阻并视情况发整改通知书" if created else "这条违规已记录过",
                        "renovations.violation", violation_id=violation.id)
        except RuleError as error:
            show_error(form, error)
    context = dict(form=form, photo_field=photo_field, renovation=renovation, finding=finding, title="记录违规",
                   back=url_for("renovations.show", renovation_id=renovation.id),
                   finding_photos=list(uploads.Photo.of(finding)) if finding else [])
    if request.method == "POST":
        return invalid("renovations/violation_new.html", **context)
    return render("renovations/violation_new.html", **context)


@bp.route("/renovations/<int:renovation_id>/violations/new", methods=["GET", "POST"])
@roles(*HANDLERS)
def violation_new(renovation_id):
    """记录违规 directly: type, when, what, the clause broken, photos."""
    return _violation_form(_renovation(renovation_id))


@bp.route("/patrols/findings/<int:finding_id>/violation", methods=["GET", "POST"])
@roles(*HANDLERS)
def violation_from_finding(finding_id):
    """A patrol finding at a renovation recorded as a violation (its photos come along)."""
    finding = patrols.Finding.get_or_none(patrols.Finding.id == finding_id)
    if finding is None:
        abort(404)
    renovation = rules.for_checkpoint(finding.checkpoint)
    if renovation is None or renovation.voided_at is not None:
        abort(404)
    return patrol_views.handed_elsewhere(finding, "violation") or _violation_form(_renovation(renovation.id), finding)


patrol_views.FINDING_ACTIONS["renovation"] = ("记为装修违规（劝阻、整改通知）", "renovations.violation_from_finding",
                                             patrols.RECORD_VIOLATION)
patrol_views.FINDING_LINKS["renovation"] = lambda finding: [
    (f"装修违规：{v.kind}（{v.state_label}）", url_for("renovations.violation", violation_id=v.id))
    for v in Violation.live().where(Violation.finding_id == finding.id).order_by(Violation.at)
    if access.may_see(current_user, v)]


class OutcomeForm(VersionForm):
    outcome = long_text("劝阻结果", 500, required=True, message="请写明劝阻结果", render_kw={"rows": 2})


class RecheckForm(VersionForm):
    complied = RadioField("复查结果", choices=choices([("yes", "已整改"), ("no", "未整改")]),
                          validators=[InputRequired("请选择复查结果")])
    note = long_text("复查情况", 500, required=True, message="请写明复查情况", render_kw={"rows": 2})


class CloseForm(VersionForm):
    note = long_text("结案说明", 500, required=True, message="请写明结案说明", render_kw={"rows": 2})


@bp.route("/renovations/violations/<int:violation_id>")
@roles(*HANDLERS)
def violation(violation_id):
    """A violation and each step taken, with the next one offered."""
    violation = _violation(violation_id)
    return render("renovations/violation.html", violation=violation, renovation=violation.renovation,
                  title=f"违规：{violation.kind}", back=url_for("renovations.show", renovation_id=violation.renovation_id),
                  photos=rules.photos_of(violation), notices=rules.notices_of(violation),
                  timeline=events.timeline(violation))


def _violation_step(violation_id, form_class, template, title, apply, message, ready=True, **extra):
    violation = _violation(violation_id)
    form = form_class()
    if request.method == "GET":
        form.version.data = violation.version
    here = url_for("renovations.violation", violation_id=violation.id)
    return form_page(form, lambda: apply(violation, form), message, here, template, ready=ready, violation=violation,
                     title=title, back=here, **extra)


@bp.route("/renovations/violations/<int:violation_id>/dissuade", methods=["GET", "POST"])
@roles(*HANDLERS)
def dissuade(violation_id):
    """劝阻, with what came of it."""
    return _violation_step(violation_id, OutcomeForm, "renovations/step_dissuade.html", "劝阻",
                           lambda v, f: rules.dissuade(current_user, v, f.expected_version(), f.outcome.data),
                           "已记录劝阻")


@bp.route("/renovations/violations/<int:violation_id>/recheck", methods=["GET", "POST"])
@roles(*HANDLERS)
def recheck(violation_id):
    """复查 after the notice's deadline: complied or not, with photos of what was seen."""
    photo_field = photo_views.PhotoField(label="复查照片")
    if patrols.PatrolRules.current().needs_photo("recheck:renovation"):
        photo_field.label = "复查照片（必拍）"
    if request.method == "POST":
        photo_field.collect()

    def apply(violation, form):
        try:
            rules.recheck(current_user, violation, form.expected_version(), form.complied.data == "yes",
                          form.note.data, photos=photo_field.photos)
        except RuleError as refused:
            if refused.field == "photos":
                photo_field.errors.append(refused.message)
            raise

    return _violation_step(violation_id, RecheckForm, "renovations/step_recheck.html", "复查", apply,
                           "已记录复查结果", ready=not photo_field.errors, photo_field=photo_field)


@bp.route("/renovations/violations/<int:violation_id>/close", methods=["GET", "POST"])
@roles(*HANDLERS)
def close(violation_id):
    """结案."""
    return _violation_step(violation_id, CloseForm, "renovations/step_close.html", "结案",
                           lambda v, f: rules.close_violation(current_user, v, f.expected_version(), f.note.data),
                           "已结案")


# Notices

class NoticeForm(VersionForm):
    violations = MultiCheckboxField("针对的违规", coerce=int)
    demand = long_text("整改要求", 1000, required=True, message="请写明整改要求", render_kw={"rows": 3})
    clauses = long_text("违反的规定或协议条款", 1000, render_kw={"rows": 2})
    deadline = DateField("整改期限", validators=[InputRequired("请填写整改期限")])


@bp.route("/renovations/<int:renovation_id>/notices/new", methods=["GET", "POST"])
@roles(*HANDLERS)
def notice_new(renovation_id):
    """开具整改通知书 for one or more open violations."""
    renovation = _renovation(renovation_id)
    open_ones = list(renovation.violations.where(Violation.voided_at.is_null() &Violation.state.in_(("open", "dissuaded", "not_complied",
                                                                       "noticed"))).order_by(Violation.at))
    form = NoticeForm()
    form.violations.choices = choices((v.id, f"{v.kind}：{v.description[:30]}") for v in open_ones)
    if request.method == "GET":
        wanted = request.args.get("violation", type=int)
        form.violations.data = [wanted] if wanted else [v.id for v in open_ones]
        form.deadline.data = rules.default_deadline()
        form.demand.data = rules.demand_for([v for v in open_ones if v.id in form.violations.data])
    return making_page(
        form, lambda: rules.issue_notice(current_user, renovation,
                                         [v for v in open_ones if v.id in (form.violations.data or [])],
                                         form.demand.data, form.deadline.data, form.clauses.data or ""),
        lambda notice: (f"已开具 {notice.number}，请打印送达", "renovations.notice", {"notice_id": notice.id}),
        "renovations/notice_new.html", renovation=renovation, title="开具整改通知书",
        back=url_for("renovations.show", renovation_id=renovation.id))


@bp.route("/renovations/notices/<int:notice_id>", methods=["GET", "POST"])
@roles(*HANDLERS)
def notice(notice_id):
    """A notice: print it, record it served (签收 or 拒签 with a witness)."""
    notice = _notice(notice_id)
    return notice_views.serve_page(
        notice, lambda *args, **kw: rules.serve_notice(current_user, *args, **kw),
        url_for("renovations.notice", notice_id=notice.id), "renovations/notice.html", "如 业主 王先生 / 施工负责人 李师傅",
        violations=list(notice.violations()), timeline=events.timeline(notice), today=clock.today(estate().tz),
        back=url_for("renovations.show", renovation_id=notice.renovation_id))


@bp.route("/renovations/notices/<int:notice_id>/void", methods=["POST"])
@roles(*HANDLERS)
def notice_void(notice_id):
    """作废 an unserved notice issued in error; its number is not given out again."""
    notice = _notice(notice_id)
    return notice_views.void_notice(notice, lambda *args: rules.void_notice(current_user, *args),
                                    url_for("renovations.notice", notice_id=notice.id), "renovations.show",
                                    renovation_id=notice.renovation_id)


@bp.route("/renovations/notices/<int:notice_id>.pdf")
@roles(*HANDLERS)
def notice_pdf(notice_id):
    """整改通知书 on A4: number, addressees, violations with dates and photos, clauses, deadline,
    consequence, seal line and a receipt slip."""
    notice = _notice(notice_id)
    violations = list(notice.violations())
    return pdf.response("renovations/notice_print.html", f"整改通知书{notice.year}-{notice.serial:04d}.pdf",
                        notice=notice, renovation=notice.renovation, violations=violations,
                        photos=[p for v in violations for p in rules.photos_of(v)], photo_path=photo_views.file_url)


# Escalation

class EscalateForm(VersionForm):
    body = SelectField("上报单位", choices=choices((b, b) for b in rules.BODIES))
    violations = MultiCheckboxField("上报的违规", coerce=int)
    letter = long_text("上报函", 3000, required=True, message="请填写上报函", render_kw={"rows": 6})
    reason_without_notice = long_text("未送达整改通知书的原因", 500, render_kw={"rows": 2},
                                      description="已送达整改通知书的可不填")


@bp.route("/renovations/<int:renovation_id>/escalate", methods=["GET", "POST"])
@roles(*HANDLERS)
def escalate(renovation_id):
    """上报 to the owners' committee, the residents' committee or the district housing office."""
    renovation = _renovation(renovation_id)
    open_ones = list(renovation.violations.where(Violation.voided_at.is_null() & (Violation.state != "closed")).order_by(Violation.at))
    form = EscalateForm()
    form.violations.choices = choices((v.id, f"{v.kind}：{v.description[:30]}（{v.state_label}）") for v in open_ones)
    if request.method == "GET":
        form.violations.data = [v.id for v in open_ones if v.state in ("not_complied", "noticed", "dissuaded")] or \
            [v.id for v in open_ones]
        form.letter.data = rules.letter_for(renovation, [v for v in open_ones if v.id in form.violations.data])
    return making_page(
        form, lambda: rules.escalate(current_user, renovation, form.body.data, form.letter.data,
                                     [v for v in open_ones if v.id in (form.violations.data or [])],
                                     form.reason_without_notice.data or ""),
        lambda referral: (f"已上报{referral.body}，请打印上报材料", "renovations.referral",
                          {"referral_id": referral.id}),
        "renovations/escalate.html", renovation=renovation, title="上报",
        back=url_for("renovations.show", renovation_id=renovation.id))


class ReplyForm(VersionForm):
    reply = long_text("答复", 1000, required=True, message="请填写答复", render_kw={"rows": 3})


@bp.route("/renovations/referrals/<int:referral_id>", methods=["GET", "POST"])
@roles(*HANDLERS)
def referral(referral_id):
    """A referral: the dossier to print, and the body's reply when it comes."""
    referral = Referral.get_or_none(Referral.id == referral_id)
    if referral is None:
        abort(404)
    renovation = _renovation(referral.renovation_id)
    form = ReplyForm()
    here = url_for("renovations.referral", referral_id=referral.id)
    return form_page(form, lambda: rules.record_reply(current_user, referral, form.reply.data), "已记录答复", here,
                     "renovations/referral.html", closed=rules.REPLY_RECORDED if referral.reply_at else None,
                     referral=referral, renovation=renovation,
                     title=f"上报{referral.body}", timeline=events.timeline(referral),
                     back=url_for("renovations.show", renovation_id=renovation.id))


@bp.route("/renovations/referrals/<int:referral_id>.pdf")
@roles(*HANDLERS)
def dossier_pdf(referral_id):
    """上报材料: the cover letter, the register entry, every violation with photos, every notice with
    its service record, the re-checks."""
    referral = Referral.get_or_none(Referral.id == referral_id)
    if referral is None:
        abort(404)
    renovation = _renovation(referral.renovation_id)
    return pdf.response("renovations/dossier_print.html", f"上报材料-{renovation.household.code}.pdf",
                        referral=referral, photo_path=photo_views.file_url,
                        **rules.dossier(renovation, as_of=referral.sent_at))
