"""The administrator's set-up of the estate: settings, buildings and households, places, zones,
business units; and the building roster that staff read and print."""
import decimal

from flask import Blueprint
from flask import flash
from flask import request
from flask import url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import JOIN
from peewee import fn
from wtforms import BooleanField
from wtforms import IntegerField
from wtforms import SelectField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import TimeField
from wtforms.validators import InputRequired
from wtforms.validators import Length
from wtforms.validators import NumberRange
from wtforms.validators import Optional
from wtforms.validators import Regexp

from .. import clock
from .. import estate as rules
from .. import events
from .. import patrols
from .. import pdf
from .. import search
from .. import uploads
from ..auth import STAFF
from ..auth import roles
from ..db import RuleError
from ..db import StaleRecord
from ..db import contains
from ..estate import Building
from ..estate import Estate
from ..estate import Household
from ..estate import Place
from ..estate import Zone
from ..users import UNIT_KINDS
from ..users import Unit
from ..users import User
from ..web import done
from ..web import done_or_setup
from ..web import invalid
from ..web import render
from ..web import setup_step_next
from . import choices
from . import get_or_404
from . import photos as photo_views
from .forms import MultiCheckboxField
from .forms import VersionForm
from .forms import show_error
from .forms import text

bp = Blueprint("estate", __name__, url_prefix="/admin")
# The letterhead's logo: printed on paper that goes outside, so no secret.
photo_views.OWNER_ACCESS["estate"] = lambda user, owner_id: True


class EstateForm(VersionForm):
    name = text("小区名称", 60)
    address = text("地址", 200, required=False)
    phone = text("服务中心电话", 40, required=False, render_kw={"inputmode": "tel"})
    timezone = SelectField("时区", choices=choices([("Asia/Shanghai", "北京时间（Asia/Shanghai）"),
                                                  ("Asia/Urumqi", "乌鲁木齐（Asia/Urumqi）"),
                                                  ("Asia/Hong_Kong", "香港（Asia/Hong_Kong）")]))
    service_start = TimeField("服务中心上班", validators=[InputRequired("请填写上班时间")])
    service_end = TimeField("服务中心下班", validators=[InputRequired("请填写下班时间")])
    service_weekdays = MultiCheckboxField("服务日", choices=choices([(str(i), "周" + d) for i, d in enumerate(rules.WEEKDAY_LABELS)]))


class BuildingForm(VersionForm):
    code = text("楼栋编号", 10, render_kw={"inputmode": "numeric", "placeholder": "如 3"},
                 message="请填写楼栋编号")
    name = text("楼栋名称", 40, render_kw={"placeholder": "如 3号楼"})
    note = TextAreaField("备注", validators=[Optional(), Length(max=500, message="备注不能超过 500 个字")])

    def validate_code(self, field):
        if field.data and "-" in field.data:
            from wtforms.validators import ValidationError

            raise ValidationError("编号里不能有“-”，它用来分隔 栋-单元-室")


class HouseholdsForm(FlaskForm):
    units = IntegerField("单元数", validators=[InputRequired("请填写单元数"),
                                            NumberRange(1, rules.MAX_UNITS, rules.UNITS_RANGE)],
                         default=2, render_kw={"inputmode": "numeric"})
    floor_from = IntegerField("起始层", validators=[InputRequired("请填写起始层"), NumberRange(-5, rules.MAX_FLOORS, "楼层超出范围")],
                              default=1, render_kw={"inputmode": "numeric"})
    floor_to = IntegerField("最高层", validators=[InputRequired("请填写最高层"), NumberRange(-5, rules.MAX_FLOORS, "楼层超出范围")],
                            default=18, render_kw={"inputmode": "numeric"})
    rooms_per_floor = IntegerField("每层户数", validators=[InputRequired("请填写每层户数"),
                                                      NumberRange(1, rules.MAX_ROOMS_PER_FLOOR,
                                                                  rules.ROOMS_PER_FLOOR_RANGE)],
                                   default=2, render_kw={"inputmode": "numeric"})
    pad = BooleanField("室号补零写成四位（0201）")


class HouseholdForm(VersionForm):
    area = StringField("建筑面积（㎡）", validators=[Optional(), Regexp(r"^\d{1,5}(\.\d{1,2})?$", message="请填写数字，如 89.5")],
                       render_kw={"inputmode": "decimal"})
    note = TextAreaField("备注", validators=[Optional(), Length(max=500, message="备注不能超过 500 个字")])


class ResidentForm(FlaskForm):
    name = text("姓名", 40)
    phone = text("电话", 20, required=False, render_kw={"inputmode": "tel", "placeholder": "13812345678"})
    relation = SelectField("关系", choices=choices((r, r) for r in rules.RELATIONS))
    note = text("备注", 200, required=False, render_kw={"placeholder": "如 独居老人、行动不便"})


class PlaceForm(VersionForm):
    name = text("名称", Place.name.max_length, render_kw={"placeholder": "如 3号楼 B1 地库"})
    kind = SelectField("类型", choices=choices([(k, k) for k in rules.PLACE_KINDS]))
    building = SelectField("所在楼栋", coerce=int)
    zone = SelectField("管辖区域", coerce=int, default=0, validate_choice=False)
    each_building = BooleanField("每栋楼各建一个（名称前自动加楼栋名，如 1号楼 大堂）")
    checkpoint = BooleanField("设为巡查点（客户助理按周期巡查，可打印二维码贴纸）")
    note = TextAreaField("说明", validators=[Optional(), Length(max=500, message="说明不能超过 500 个字")])


class ZoneForm(VersionForm):
    name = text("区域名称", 40, render_kw={"placeholder": "如 一区（1–4号楼）"})
    note = TextAreaField("备注", validators=[Optional(), Length(max=500, message="备注不能超过 500 个字")])
    building_codes = text("楼栋编号", 400, required=False, render_kw={"placeholder": "如 1-25 或 1,2,5-8"})
    buildings = MultiCheckboxField("包含楼栋", coerce=int)
    assistants = MultiCheckboxField("客户助理", coerce=int)


class UnitForm(VersionForm):
    name = text("名称", 40, render_kw={"placeholder": "如 工程部"})
    kind = SelectField("类别", choices=choices(UNIT_KINDS.items()))
    head = text("负责人", 40, required=False)
    phone = text("联系电话", 40, required=False, render_kw={"inputmode": "tel"})


def _stale(form):
    form.form_errors.append(StaleRecord.message)


def _search(query, q, *fields):
    q = (q or "").strip()[:40]
    if not q:
        return query
    condition = None
    for field in fields:
        clause = contains(field, q)
        condition = clause if condition is None else condition | clause
    return query.where(condition)


@bp.route("/")
@roles("admin")
def index():
    """设置: the administrator's menu."""
    return render("estate/index.html", title="小区设置", estate=Estate.current(), back=None)


def estate_form(estate):
    """The estate's name, timezone and service hours as a form (filled from the estate on GET),
    saved on a valid POST. Returns (form, saved); a refusal is beside its field. The settings page
    and the first-run step share it."""
    form = EstateForm(obj=estate)
    if request.method == "GET":
        form.service_weekdays.data = list(estate.service_weekdays)
        form.version.data = estate.version
    if form.validate_on_submit():
        try:
            rules.update_estate(current_user, estate, form.expected_version(), name=form.name.data,
                                address=form.address.data or "", phone=form.phone.data or "",
                                timezone=form.timezone.data, service_start=form.service_start.data,
                                service_end=form.service_end.data,
                                service_weekdays="".join(sorted(form.service_weekdays.data)))
            return form, True
        except rules.EstateError as error:
            show_error(form, error)
        except StaleRecord:
            _stale(form)
    return form, False


@bp.route("/estate", methods=["GET", "POST"])
@roles("admin")
def settings():
    """Estate name, timezone and service-centre hours."""
    estate = Estate.current()
    form, saved = estate_form(estate)
    if saved:
        return done("小区设置已保存", "estate.index")
    context = dict(form=form, title="小区信息与服务时间", back=url_for("estate.index"),
                   timeline=events.timeline(estate))
    if request.method == "POST":
        return invalid("estate/settings.html", **context)
    return render("estate/settings.html", **context)


class LetterheadForm(VersionForm):
    company = text("物业公司名称", 60, required=False)
    name = text("小区名称", 60)
    address = text("地址", 200, required=False)
    phone = text("服务电话", 40, required=False, render_kw={"inputmode": "tel"})
    drop_logo = BooleanField("删除现有标志")


@bp.route("/letterhead", methods=["GET", "POST"])
@roles("admin")
def letterhead():
    """打印抬头: what the notices, dossiers, registers and confirmations carry at their top."""
    estate = Estate.current()
    form = LetterheadForm(obj=estate)
    photo_field = photo_views.PhotoField(label="标志（可选）", hint="上传后打印在外发文件的左上角；再次上传即替换。")
    if request.method == "GET":
        form.version.data = estate.version
    else:
        photo_field.collect()
    if form.validate_on_submit() and not photo_field.errors:
        try:
            rules.update_letterhead(current_user, estate, form.expected_version(),
                                    logo=photo_field.photos[-1] if photo_field.photos else None,
                                    drop_logo=form.drop_logo.data, company=form.company.data, name=form.name.data,
                                    address=form.address.data, phone=form.phone.data)
            return done("打印抬头已保存", "estate.index")
        except rules.EstateError as error:
            show_error(form, error)
        except StaleRecord:
            _stale(form)
    context = dict(form=form, photo_field=photo_field, logo=rules.logo_of(estate), title="打印抬头",
                   back=url_for("estate.index"), timeline=events.timeline(estate))
    if request.method == "POST":
        return invalid("estate/letterhead.html", **context)
    return render("estate/letterhead.html", **context)


# Buildings and households

@bp.route("/buildings")
@roles("admin")
def buildings():
    """All buildings with their household counts."""
    q = request.args.get("q", "")
    query = (Building.ordered().select(Building, fn.COUNT(Household.id).alias("household_count"))
             .join(Household, join_type=JOIN.LEFT_OUTER,
                   on=((Household.building == Building.id) & Household.voided_at.is_null()))
             .group_by(Building.id))
    items = list(_search(query, q, Building.code, Building.name))
    zones = {link.building_id: link.zone for link in rules.ZoneBuilding.select(rules.ZoneBuilding, Zone).join(Zone)}
    households, residents = rules.find_in_register(q)
    return render("estate/buildings.html", block="results", title="楼栋与房号", items=items, q=q,
                  zones=zones, households=households, residents=residents, back=url_for("estate.index"))


@bp.route("/buildings/new", methods=["GET", "POST"])
@roles("admin")
def building_new():
    """Add a building."""
    form = BuildingForm()
    if form.validate_on_submit():
        try:
            building = rules.create_building(current_user, form.code.data, form.name.data, form.note.data or "")
            return done(f"已新建 {building.name}，接下来批量生成房号", "estate.building", building_id=building.id)
        except rules.EstateError as error:
            show_error(form, error)
    context = dict(form=form, title="新建楼栋", back=url_for("estate.buildings"))
    return invalid("estate/building_form.html", **context) if request.method == "POST" else \
        render("estate/building_form.html", **context)


@bp.route("/buildings/<int:building_id>")
@roles("admin")
def building(building_id):
    """A building: its households by unit and floor, bulk creation, edit, void."""
    building = get_or_404(Building.live(), building_id)
    return render("estate/building.html", title=building.name, building=building,
                  roster=rules.roster(building), form=HouseholdsForm(),
                  zone=rules.zone_of_building(building), timeline=events.timeline(building),
                  back=url_for("estate.buildings"))


@bp.route("/buildings/<int:building_id>/edit", methods=["GET", "POST"])
@roles("admin")
def building_edit(building_id):
    """Rename or renumber a building; its households' 栋-单元-室 follow."""
    building = get_or_404(Building.live(), building_id)
    form = BuildingForm(obj=building)
    if request.method == "GET":
        form.version.data = building.version
    if form.validate_on_submit():
        try:
            rules.update_building(current_user, building, form.expected_version(), form.code.data,
                                  form.name.data, form.note.data or "")
            return done("楼栋已保存", "estate.building", building_id=building.id)
        except rules.EstateError as error:
            show_error(form, error)
        except StaleRecord:
            _stale(form)
    context = dict(form=form, title=f"修改 {building.name}", building=building,
                   back=url_for("estate.building", building_id=building.id))
    return invalid("estate/building_form.html", **context) if request.method == "POST" else \
        render("estate/building_form.html", **context)


@bp.route("/buildings/<int:building_id>/households", methods=["POST"])
@roles("admin")
def households_create(building_id):
    """Bulk-create a building's households: units × floors × rooms per floor."""
    building = get_or_404(Building.live(), building_id)
    form = HouseholdsForm()
    if form.validate_on_submit():
        try:
            created, skipped = rules.bulk_create_households(
                current_user, building, form.units.data, form.floor_from.data, form.floor_to.data,
                form.rooms_per_floor.data, pad=form.pad.data)
            message = f"已生成 {created} 户" + (f"，{skipped} 户已存在未改动" if skipped else "")
            return done(message, "estate.building", building_id=building.id)
        except rules.EstateError as error:
            show_error(form, error)
    return invalid("estate/building.html", title=building.name, building=building, roster=rules.roster(building),
                   form=form, zone=rules.zone_of_building(building), timeline=events.timeline(building),
                   back=url_for("estate.buildings"))


@bp.route("/buildings/<int:building_id>/void", methods=["POST"])
@roles("admin")
def building_void(building_id):
    """Void a building (kept on record)."""
    building = get_or_404(Building.live(), building_id)
    return _void(building, "estate.building", {"building_id": building.id}, f"{building.name} 已作废",
                 "estate.buildings", {})


@bp.route("/households/<int:household_id>", methods=["GET", "POST"])
@roles("admin")
def household(household_id):
    """One household: area and notes; void it if it was created by mistake."""
    household = get_or_404(Household.live(), household_id)
    form = HouseholdForm(obj=household) if request.method == "POST" else _household_form(household)
    if form.validate_on_submit():
        before = (household.area, household.note)
        # Optional() lets "   " through unvalidated; a blank area is no area.
        household.area = str(form.area.data or "").strip() or None
        household.note = form.note.data or ""
        try:
            household.save_versioned(form.expected_version(), "area", "note")
        except StaleRecord:
            form.form_errors.append(StaleRecord.message)
        else:
            events.record(current_user, household, "修改房号信息",
                          note=f"面积：{before[0] or '—'} → {household.area or '—'}；"
                               f"备注：{before[1] or '—'} → {household.note or '—'}")
            return done(f"{household.code} 已保存", "estate.building", building_id=household.building_id)
    return _household_page(household, form=form)


def _household_page(household, form=None, resident_form=None):
    context = dict(form=form or _household_form(household),
                   resident_form=resident_form or ResidentForm(prefix="resident", formdata=None),
                   household=household, residents=list(rules.Resident.of(household)), title=household.code,
                   timeline=events.timeline(household), back=url_for("estate.building", building_id=household.building_id))
    return invalid("estate/household.html", **context) if request.method == "POST" else \
        render("estate/household.html", **context)


def _household_form(household):
    form = HouseholdForm(obj=household, formdata=None)
    form.version.data = household.version
    if household.area is not None:
        form.area.data = format(decimal.Decimal(str(household.area)).normalize(), "f")  # 89.50 → 89.5
    return form


@bp.route("/households/<int:household_id>/residents", methods=["POST"])
@roles("admin")
def resident_add(household_id):
    """Register a resident of a household."""
    household = get_or_404(Household.live(), household_id)
    form = ResidentForm(prefix="resident")
    if form.validate_on_submit():
        try:
            resident = rules.add_resident(current_user, household, form.name.data, form.phone.data or "",
                                          form.relation.data, form.note.data or "")
            return done(f"已登记住户 {resident.name}", "estate.household", household_id=household.id)
        except rules.EstateError as error:
            show_error(form, error)
    return _household_page(household, resident_form=form)


@bp.route("/residents/<int:resident_id>/void", methods=["POST"])
@roles("admin")
def resident_void(resident_id):
    """Void a resident who moved out or was registered by mistake."""
    resident = get_or_404(rules.Resident.live(), resident_id)
    return _void(resident, "estate.household", {"household_id": resident.household_id},
                 f"住户 {resident.name} 已作废", "estate.household", {"household_id": resident.household_id})


@bp.route("/households/<int:household_id>/void", methods=["POST"])
@roles("admin")
def household_void(household_id):
    """Void a household created by mistake."""
    household = get_or_404(Household.live(), household_id)
    return _void(household, "estate.household", {"household_id": household.id}, f"{household.code} 已作废",
                 "estate.building", {"building_id": household.building_id})


@bp.route("/households/lookup")
@roles(*STAFF)
def household_lookup():
    """Typing-to-pick for 栋-单元-室: the matching households as options."""
    q = request.args.get("q", request.args.get("household", ""))[:30]
    return render("estate/_household_options.html", households=search.households(q, limit=15))


@bp.route("/buildings/<int:building_id>/roster")
@roles(*STAFF)
def roster(building_id):
    """A building's household roster on screen (栋 · 单元 · 楼层 · 室)."""
    building = get_or_404(Building.live(), building_id)
    return render("estate/roster.html", title=f"{building.name} 花名册", building=building,
                  roster=rules.roster(building), back=request.referrer and url_for("home.customers"))


@bp.route("/buildings/<int:building_id>/roster.pdf")
@roles(*STAFF)
def roster_pdf(building_id):
    """The roster as an A4 PDF for the front desk's folder."""
    building = get_or_404(Building.live(), building_id)
    grouped = rules.roster(building)
    count = rules.roster_count(grouped)
    residents = {}
    for resident in (rules.Resident.live().join(Household).where(Household.building == building)
                     .order_by(rules.Resident.id)):
        residents.setdefault(resident.household_id, []).append(f"{resident.name}（{resident.relation}）")
    return pdf.response("estate/roster_print.html", f"{building.name}花名册.pdf", building=building,
                        roster=grouped, household_count=count,
                        residents={k: "、".join(v) for k, v in residents.items()},
                        document_no=f"HMC-{building.code}-{clock.today(Estate.current().tz):%Y%m%d}")


# Public places

def _place_form(place=None):
    form = PlaceForm(obj=place)
    form.building.choices = choices([(0, "不属于某栋楼")] + [(b.id, b.name) for b in Building.ordered()])
    form.zone.choices = choices([(0, "请选择")] + [(z.id, z.name) for z in Zone.live().order_by(Zone.name)])
    if request.method == "GET" and place is not None:
        form.building.data = place.building_id or 0
        form.zone.data = place.zone_id or 0
        form.version.data = place.version
    return form


@bp.route("/places")
@roles("admin")
def places():
    """Public places: corridors, car parks, lawns, the clubhouse…"""
    q = request.args.get("q", "")
    items = list(_search(Place.live().order_by(Place.kind, Place.name), q, Place.name, Place.kind))
    zone_names = rules.place_zone_names()
    unzoned = Zone.live().exists() and sum(1 for p in Place.live().select(Place.id) if p.id not in zone_names)
    return render("estate/places.html", block="results", title="公共部位", items=items, q=q,
                  zone_names=zone_names, unzoned=unzoned,
                  back=url_for("estate.index"))


@bp.route("/places/new", methods=["GET", "POST"])
@bp.route("/places/<int:place_id>", methods=["GET", "POST"])
@roles("admin")
def place(place_id=None):
    """Create or edit a public place, with photos."""
    place = get_or_404(Place.live(), place_id) if place_id else None
    form = _place_form(place)
    photo_field = photo_views.PhotoField()
    if request.method == "POST":
        photo_field.collect()
    if form.validate_on_submit() and not photo_field.errors:
        building = Building.get_or_none(Building.id == form.building.data) if form.building.data else None
        zone = Zone.live().where(Zone.id == form.zone.data).first() if form.zone.data else None
        try:
            with Place._meta.database.atomic():
                if place is None:
                    made = rules.create_places(current_user, form.name.data, form.kind.data, building,
                                               form.note.data or "", each_building=form.each_building.data, zone=zone)
                else:
                    made = [rules.update_place(current_user, place, form.expected_version(), form.name.data,
                                               form.kind.data, building, form.note.data or "", zone=zone)]
                if form.checkpoint.data:
                    patrols.place_checkpoints(current_user, made)
                if photo_field.photos:
                    uploads.attach(photo_field.photos, made[0])
                    events.record(current_user, made[0], "添加照片", note=f"{len(photo_field.photos)} 张")
            return done(f"已新建 {len(made)} 个公共部位" if len(made) > 1 else "公共部位已保存", "estate.places")
        except RuleError as error:
            show_error(form, error)
        except StaleRecord:
            _stale(form)
    place_checkpoint = patrols.Checkpoint.live().where(patrols.Checkpoint.place == place.id).first() if place else None
    context = dict(form=form, place=place, photo_field=photo_field, title=place.name if place else "新建公共部位",
                   place_checkpoint=place_checkpoint,
                   existing_photos=list(uploads.Photo.of(place)) if place else [],
                   timeline=events.timeline(place) if place else [], back=url_for("estate.places"))
    return invalid("estate/place.html", **context) if request.method == "POST" else \
        render("estate/place.html", **context)


@bp.route("/places/<int:place_id>/void", methods=["POST"])
@roles("admin")
def place_void(place_id):
    """Void a public place."""
    place = get_or_404(Place.live(), place_id)
    return _void(place, "estate.place", {"place_id": place.id}, f"{place.name} 已作废", "estate.places", {})


# Zones

def _zone_form(zone=None):
    form = ZoneForm(obj=zone)
    form.buildings.choices = choices([(b.id, b.name) for b in Building.ordered()])
    form.assistants.choices = choices([(u.id, u.display_name) for u in User.active_with_role("assistant")])
    if request.method == "GET" and zone is not None:
        form.buildings.data = [link.building_id for link in zone.building_links]
        form.assistants.data = [link.user_id for link in zone.assistant_links]
        form.version.data = zone.version
    return form


@bp.route("/zones")
@roles("admin")
def zones():
    """Zones (管辖区域) with their buildings and assistants."""
    items = list(Zone.live().order_by(Zone.name))
    return render("estate/zones.html", title="管辖区域", items=items, back=url_for("estate.index"))


@bp.route("/zones/new", methods=["GET", "POST"])
@bp.route("/zones/<int:zone_id>", methods=["GET", "POST"])
@roles("admin")
def zone(zone_id=None):
    """Create or edit a zone: which buildings, which assistants."""
    zone = get_or_404(Zone.live(), zone_id) if zone_id else None
    form = _zone_form(zone)
    if form.validate_on_submit():
        try:
            buildings = list(form.buildings.data or [])
            if form.building_codes.data:
                buildings = list(dict.fromkeys(buildings + rules.building_ids_by_codes(form.building_codes.data)))
            rules.set_zone(current_user, zone, form.expected_version(), form.name.data, form.note.data or "",
                           buildings, form.assistants.data or [])
            return done_or_setup("管辖区域已保存", "estate.zones")
        except rules.EstateError as error:
            show_error(form, error)
        except StaleRecord:
            _stale(form)
    context = dict(form=form, zone=zone, title=zone.name if zone else "新建管辖区域",
                   timeline=events.timeline(zone) if zone else [], back=setup_step_next() or url_for("estate.zones"))
    return invalid("estate/zone.html", **context) if request.method == "POST" else \
        render("estate/zone.html", **context)


@bp.route("/zones/<int:zone_id>/void", methods=["POST"])
@roles("admin")
def zone_void(zone_id):
    """Void a zone; its buildings become free to join another."""
    zone = get_or_404(Zone.live(), zone_id)
    response = _void(zone, "estate.zone", {"zone_id": zone.id}, f"{zone.name} 已作废", "estate.zones", {})
    if zone.is_voided:
        rules.ZoneBuilding.delete().where(rules.ZoneBuilding.zone == zone).execute()
    return response


# Business units

@bp.route("/units")
@roles("admin")
def units():
    """Business units (业务块) and their staff."""
    items = list(Unit.live().order_by(Unit.kind, Unit.name))
    staff = {}
    for user in User.live().where(User.role == "unit").order_by(User.display_name):
        staff.setdefault(user.unit_id, []).append(user)
    return render("estate/units.html", title="业务块", items=items, staff=staff, back=url_for("estate.index"))


@bp.route("/units/new", methods=["GET", "POST"], endpoint="unit_new")
@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@roles("admin")
def unit(unit_id=None):
    """Create or edit a business unit."""
    unit = get_or_404(Unit.live(), unit_id) if unit_id else None
    form = UnitForm(obj=unit)
    if request.method == "GET" and unit is not None:
        form.version.data = unit.version
    if form.validate_on_submit():
        try:
            rules.save_unit(current_user, unit, form.expected_version(), form.name.data, form.kind.data,
                            form.head.data or "", form.phone.data or "")
            return done_or_setup("业务块已保存", "estate.units")
        except rules.EstateError as error:
            show_error(form, error)
        except StaleRecord:
            _stale(form)
    staff = list(User.live().where((User.role == "unit") & (User.unit == unit))) if unit else []
    context = dict(form=form, unit=unit, staff=staff, title=unit.name if unit else "新建业务块",
                   timeline=events.timeline(unit) if unit else [], back=setup_step_next() or url_for("estate.units"))
    return invalid("estate/unit.html", **context) if request.method == "POST" else \
        render("estate/unit.html", **context)


@bp.route("/units/<int:unit_id>/void", methods=["POST"])
@roles("admin")
def unit_void(unit_id):
    """Void a business unit that has no active staff."""
    unit = get_or_404(Unit.live(), unit_id)
    return _void(unit, "estate.unit", {"unit_id": unit.id}, f"{unit.name} 已作废", "estate.units", {},
                 rule=rules.void_unit)


def _void(record, back_endpoint, back_values, message, next_endpoint, next_values, rule=rules.void):
    try:
        rule(current_user, record, request.form.get("reason", ""))
    except rules.EstateError as error:
        flash(error.message, "error")
        return done(None, back_endpoint, **back_values)
    return done(message, next_endpoint, **next_values)
