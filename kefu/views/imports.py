"""设置 → 导入: bring households, residents, shops and staff in from the company's spreadsheets.

Upload → preview (nothing written) → confirm (all or nothing). The uploaded file waits in the
instance folder between the preview and the confirmation, under a random name known only to the
administrator's page; it is removed once imported and after two days otherwise.
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

from .. import events
from .. import imports as rules
from ..auth import roles
from ..estate import Estate
from ..web import done
from ..web import render

bp = Blueprint("imports", __name__, url_prefix="/admin/import")

MAX_FILE = 30 * 1024 * 1024
KEEP_SECONDS = 2 * 24 * 3600
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,40}")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HINTS = {
    "households": "楼栋须已建好。室号写 0201 或 201 都是同一户；已有的房号按 栋-单元-室 更新面积、入住日期、备注。",
    "residents": "房号须已存在（先生成或导入房号）。同一房号下的同名住户视为同一人，更新电话、关系；标签如 独居老人 记到该户。",
    "shops": "按铺位号更新；填了统一社会信用代码的会校验并登记营业执照。只有一个管辖区域时可不填区域。",
    "users": "按用户名更新。不填初始密码的，导入后会生成一次性显示的初始密码。客户助理可填管辖区域，业务块人员须填所属业务块。",
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


def _stored(token, kind):
    """(meta, data) of an upload waiting for confirmation, or None."""
    if not _TOKEN.fullmatch(token):
        return None
    path = os.path.join(_folder(), token)
    try:
        with open(path + ".json") as handle:
            meta = json.load(handle)
        with open(path + ".data", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if meta.get("kind") != kind or meta.get("user") != current_user.id:
        return None
    return meta, data


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
    context = dict(title="导入", kinds=rules.KIND_LABELS, hints=HINTS, headers={k: rules.headers(k) for k in rules.KINDS},
                   forms=forms or {k: UploadForm(prefix=k, formdata=None) for k in rules.KINDS},
                   back=url_for("estate.index"), opened=kind)
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
                return done(None, "imports.preview", kind=kind, token=token)
    return _index(forms, status=422, kind=kind)


@bp.route("/<kind>/<token>", methods=["GET", "POST"])
@roles("admin")
def preview(kind, token):
    """What the file would add, change and leave alone, and every row it can't take; POST imports it."""
    _kind_or_404(kind)
    stored = _stored(token, kind)
    if stored is None:
        # Imported already (a second tap), expired, or not this administrator's upload.
        flash("这个文件已导入或已过期，请重新上传", "error")
        return done(None, "imports.index", kind=kind)
    meta, data = stored
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
        _forget(token)
        message = f"已导入 {meta['filename']}：新增 {len(result.new)}，更新 {len(result.changed)}，未变 {len(result.unchanged)}"
        passwords = getattr(result, "passwords", None)
        if passwords:
            return render("imports/passwords.html", title="初始密码", passwords=passwords, message=message,
                          back=url_for("imports.index"))
        return done(message, "imports.index")
    try:
        plan = rules.plan(kind, meta["filename"], data)
    except rules.ImportFileError as error:
        _forget(token)
        flash(error.message, "error")
        return done(None, "imports.index")
    return _preview(kind, token, plan)


def _preview(kind, token, plan, status=200, error=None):
    return render("imports/preview.html", status=status, title=f"导入{rules.KIND_LABELS[kind]}：预览", kind=kind,
                  token=token, plan=plan, form=FlaskForm(), error=error, label=rules.KIND_LABELS[kind],
                  shown=rules.SHOWN_MISSING, back=url_for("imports.index", kind=kind))
