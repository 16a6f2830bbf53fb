"""设置 → 导入: bring households, residents, shops and staff in from the company's spreadsheets.

Upload → preview (nothing written) → confirm (all or nothing). The uploaded file waits in the
instance folder between the preview and the confirmation, under a random name known only to the
administrator's page; once imported only a note that it was (no data, no password) stays, and
everything goes after two days.

A staff file's initial passwords are shown once, on the page that answers the confirmation, as a
sheet of slips to print and cut; they are never stored. A lost sheet is made again, with new
passwords, for the accounts of that import that have never signed in.

Opened from the first-run set-up (?next=/setup/import), every page keeps a way back to it and a
finished import returns there.
"""
import json
import os
import re
import secrets
import time

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import flash
from flask import request
from flask import send_file
from flask import url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField

from .. import clock
from .. import events
from .. import imports as rules
from ..auth import roles
from ..estate import Estate
from ..web import done
from ..web import done_or_setup
from ..web import external_url
from ..web import NoPublicAddress
from ..web import render
from ..web import setup_step_next

bp = Blueprint("imports", __name__, url_prefix="/admin/import")

MAX_FILE = 30 * 1024 * 1024
KEEP_SECONDS = 2 * 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,40}")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HINTS = {
    "households": "楼栋须已建好。室号写 0201 或 201 都是同一户；已有的房号按 栋-单元-室 更新面积、入住日期、备注。",
    "residents": "房号须已存在（先生成或导入房号）。同一房号下的同名住户视为同一人，更新电话、关系；标签如 独居老人 记到该户。",
    "shops": "按铺位号更新；填了统一社会信用代码的会校验并登记营业执照。只有一个管辖区域时可不填区域。",
    "users": "按用户名更新。不填初始密码的，导入后生成初始密码，只显示一次，可打印成每人一张的密码条。"
             "客户助理可填管辖区域，业务块人员须填所属业务块：写名称即可，括号里的说明可写可不写。",
}


class UploadForm(FlaskForm):
    file = FileField("选择文件（.xlsx 或 .csv）", render_kw={"accept": ".xlsx,.xls,.csv"})


def _folder():
    folder = os.path.join(current_app.instance_path, "imports")
    os.makedirs(folder, exist_ok=True)
    return folder


def _kind_or_404(kind):
    if kind not in rules.KINDS:
        abort(404)
    return kind


def _meta(token, kind):
    """What is known of an upload of this administrator's: its kind, file name and, once imported,
    that it was (and a staff file's batch); None for a token that isn't theirs or has gone."""
    if not _TOKEN.fullmatch(token):
        return None
    try:
        with open(os.path.join(_folder(), token) + ".json") as handle:
            meta = json.load(handle)
    except (OSError, ValueError):
        return None
    if meta.get("kind") != kind or meta.get("user") != current_user.id:
        return None
    return meta


def _data(token):
    try:
        with open(os.path.join(_folder(), token) + ".data", "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _imported(token, meta, batch):
    """The file is gone; a note that it was imported stays, so coming back to its page says so."""
    try:
        os.remove(os.path.join(_folder(), token) + ".data")
    except OSError:
        pass
    with open(os.path.join(_folder(), token) + ".json", "w") as handle:
        json.dump({**meta, "done": True, "batch": batch}, handle)


def _forget(token):
    for suffix in (".json", ".data"):
        try:
            os.remove(os.path.join(_folder(), token + suffix))
        except OSError:
            pass


def _sweep():
    folder, now = _folder(), time.time()
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        try:
            if now - os.path.getmtime(path) > KEEP_SECONDS:
                os.remove(path)
        except OSError:
            pass


def _index(forms=None, status=200, kind=None):
    setup = setup_step_next()
    context = dict(title="导入", kinds=rules.KIND_LABELS, hints=HINTS, headers={k: rules.headers(k) for k in rules.KINDS},
                   forms=forms or {k: UploadForm(prefix=k, formdata=None) for k in rules.KINDS},
                   back=setup or url_for("estate.index"), opened=kind, setup=setup)
    return render("imports/index.html", status=status, **context)


@bp.route("")
@roles("admin")
def index():
    """The four kinds of file, each with its template, an export of what is on record and an upload."""
    return _index(kind=request.args.get("kind"))


@bp.route("/<kind>/template.xlsx")
@roles("admin")
def template(kind):
    """A blank file with the Chinese headers and one example row."""
    _kind_or_404(kind)
    return _xlsx(rules.template(kind), f"{rules.KIND_LABELS[kind]}导入模板.xlsx")


@bp.route("/<kind>/export.xlsx")
@roles("admin")
def export(kind):
    """What is on record, in the import's own columns (edit it in Excel and import it back)."""
    _kind_or_404(kind)
    data = rules.export(kind)
    events.record(current_user, Estate.current(), "导出", note=f"{rules.KIND_LABELS[kind]}（导入格式）")
    return _xlsx(data, f"{rules.KIND_LABELS[kind]}.xlsx")


def _xlsx(data, filename):
    import io

    return send_file(io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=filename)


@bp.route("/<kind>", methods=["POST"])
@roles("admin")
def upload(kind):
    """Take a file and show what importing it would do."""
    _kind_or_404(kind)
    forms = {k: UploadForm(prefix=k, formdata=None) for k in rules.KINDS}
    form = forms[kind] = UploadForm(prefix=kind)
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read(MAX_FILE + 1) if upload else b""
        filename = os.path.basename((upload.filename if upload else "") or "")[:120]
        if not upload or not filename:
            form.file.errors.append("请选择要导入的文件")
        elif not data:
            form.file.errors.append("文件是空的")
        elif len(data) > MAX_FILE:
            form.file.errors.append(f"文件超过 {MAX_FILE // 1024 // 1024} MB，请分成几个文件")
        else:
            try:
                rules.plan(kind, filename, data)
            except rules.ImportFileError as error:
                form.file.errors.append(error.message)
            else:
                _sweep()
                token = secrets.token_urlsafe(18)
                path = os.path.join(_folder(), token)
                with open(path + ".data", "wb") as handle:
                    handle.write(data)
                with open(path + ".json", "w") as handle:
                    json.dump({"kind": kind, "filename": filename, "user": current_user.id}, handle)
                return done(None, "imports.preview", kind=kind, token=token, next=setup_step_next())
    return _index(forms, status=422, kind=kind)


@bp.route("/<kind>/<token>", methods=["GET", "POST"])
@roles("admin")
def preview(kind, token):
    """What the file would add, change and leave alone, and every row it can't take; POST imports it."""
    _kind_or_404(kind)
    setup = setup_step_next()
    meta = _meta(token, kind)
    if meta is not None and meta.get("done"):
        return _after_import(kind, meta)
    data = _data(token) if meta is not None else None
    if data is None:
        # Expired, or not this administrator's upload.
        flash("这个文件已导入或已过期，请重新上传", "error")
        return done(None, "imports.index", kind=kind, next=setup)
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            result = rules.apply(current_user, kind, meta["filename"], data)
        except rules.ImportRefused as refusal:
            return _preview(kind, token, refusal.plan, status=422,
                            error="导入前数据有变化，下面这些行现在不能导入，未写入任何数据")
        except rules.RuleError as error:
            plan = rules.plan(kind, meta["filename"], data)
            return _preview(kind, token, plan, status=422, error=error.message)
        _imported(token, meta, getattr(result, "batch", None))
        message = f"已导入 {meta['filename']}：新增 {len(result.new)}，更新 {len(result.changed)}，未变 {len(result.unchanged)}"
        passwords = getattr(result, "passwords", None)
        if passwords:
            return _sheet(passwords, meta["filename"], message)
        return done_or_setup(message, "imports.index")
    try:
        plan = rules.plan(kind, meta["filename"], data)
    except rules.ImportFileError as error:
        _forget(token)
        flash(error.message, "error")
        return done(None, "imports.index", next=setup)
    return _preview(kind, token, plan)


def _after_import(kind, meta):
    """The page of a file already imported, opened again (reloaded, a second tap, the back button):
    a staff file's passwords were shown once and are gone, so it offers to make them again."""
    batch = rules.import_batch(meta.get("batch")) if kind == "users" else None
    if batch is not None and batch.never_signed_in:
        return _reissue_page(batch, shown_once=True)
    return done_or_setup(f"{meta['filename']} 已导入", "imports.index")


def _sheet(passwords, filename, message=None):
    """The initial password sheet: one slip per person, printed from the browser; shown once."""
    estate = Estate.current()
    setup = setup_step_next()
    try:
        # A forged Host header never becomes the address printed for staff (web.external_url).
        login_url = external_url("auth.login")
    except NoPublicAddress:
        login_url = None
    return render("imports/passwords.html", title="初始密码单", passwords=passwords, message=message,
                  filename=filename, estate=estate, printed_on=clock.format_cn_date(clock.today(estate.tz)),
                  login_url=login_url, setup=setup,
                  back=setup or url_for("imports.index"))


def _reissue_page(batch, shown_once=False, status=200, error=None):
    setup = setup_step_next()
    signed_in = {u.id for u in batch.accounts} - {u.id for u in batch.never_signed_in}
    return render("imports/reissue.html", status=status, title="重新生成初始密码", batch=batch, signed_in=signed_in,
                  form=FlaskForm(), shown_once=shown_once, error=error, setup=setup,
                  action=url_for("imports.reissue", key=batch.key, next=setup),
                  back=setup or url_for("users.index"))


@bp.route("/users/accounts/<key>", methods=["GET", "POST"])
@roles("admin")
def reissue(key):
    """A lost password sheet: new initial passwords for the accounts of one staff import that have
    never signed in (their old ones stop working), each on its timeline; the sheet is shown once."""
    batch = rules.import_batch(key)
    if batch is None:
        abort(404)
    if request.method == "GET":
        return _reissue_page(batch)
    form = FlaskForm()
    if not form.validate_on_submit():
        return _reissue_page(batch, status=422, error="页面已过期，请再点一次")
    try:
        passwords = rules.reissue_passwords(current_user, key)
    except rules.RuleError as error:
        return _reissue_page(rules.import_batch(key), status=422, error=error.message)
    return _sheet(passwords, batch.filename, f"已为 {len(passwords)} 个从未登录的账号重新生成初始密码，原来的初始密码已失效")


def _preview(kind, token, plan, status=200, error=None):
    setup = setup_step_next()
    return render("imports/preview.html", status=status, title=f"导入{rules.KIND_LABELS[kind]}：预览", kind=kind,
                  token=token, plan=plan, form=FlaskForm(), error=error, label=rules.KIND_LABELS[kind],
                  shown=rules.SHOWN_MISSING, setup=setup,
                  back=setup or url_for("imports.index", kind=kind))
