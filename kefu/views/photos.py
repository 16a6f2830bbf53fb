"""Photo upload from the phone camera and serving photos to those allowed to see them."""
import re

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import request
from flask import send_file
from flask_login import current_user

from .. import access
from .. import uploads
from ..auth import ALL_ROLES
from ..auth import roles
from ..web import render
from ..web import within_limit
from .forms import record_ids

bp = Blueprint("photos", __name__, url_prefix="/photos")

# Who may see a photo attached to a record: {owner_type: function(user, owner_id) -> bool}.
# Each area registers its record types; a type not listed is visible to nobody but its uploader.
OWNER_ACCESS = {
    "place": lambda user, owner_id: user.role in ("admin", "supervisor", "assistant", "frontdesk"),
}


def seen_with(model):
    """A record's photos go to whoever may see the record."""
    return lambda user, owner_id: access.may_see(user, model.get_or_none(model.id == owner_id))


class PhotoField:
    """The photos of one form: uploaded earlier by htmx (ids) or sent with the form itself.

    A form with several pickers (one per failed checklist item) gives each a `suffix` ("-12"):
    its files come as photos-12, its uploaded ids as photo_ids-12.
    """

    HINT = "单张不超过 15 MB，最多 9 张；上传后会自动压缩并去除位置信息。"

    def __init__(self, suffix="", label="照片", hint=HINT):
        if not _SUFFIX.fullmatch(suffix):
            raise ValueError(suffix)
        self.suffix, self.label, self.hint = suffix, label, hint
        self.name, self.ids_name, self.element_id = f"photos{suffix}", f"photo_ids{suffix}", f"photo-field{suffix}"
        self.photos = []
        self.errors = []

    def collect(self):
        """Store files sent with this request and gather earlier uploads; never raises."""
        self.photos = uploads.pending(current_user, record_ids(request.form.getlist(self.ids_name)))
        for upload in request.files.getlist(self.name):
            if not upload or not upload.filename and not upload.content_length:
                continue
            if len(self.photos) >= uploads.MAX_PER_FORM:
                self.errors.append(f"每次最多上传 {uploads.MAX_PER_FORM} 张照片")
                break
            if not within_limit("upload"):
                self.errors.append("上传过于频繁，请过几分钟再试")
                break
            # A picked file that is empty gets the rule's 文件为空 (an input left empty has no name).
            data = upload.read(uploads.MAX_BYTES + 1)
            try:
                self.photos.append(uploads.store(current_app.config["PHOTOS"], current_user, data))
            except uploads.PhotoError as error:
                label = (upload.filename or "照片")[:40]
                self.errors.append(f"{label}：{error.message}")
        return self


_SUFFIX = re.compile(r"(-[0-9]{1,9})?")


@bp.route("", methods=["POST"])
@roles(*ALL_ROLES)
def upload():
    """Upload photos as soon as they are picked; answers the widget with their thumbnails."""
    suffix = request.form.get("photo_suffix", "")
    suffix = suffix if _SUFFIX.fullmatch(suffix) else ""
    # A checklist item's picker (suffix) keeps its short form: no size hint under every item.
    field = PhotoField(suffix, request.form.get("photo_label", "照片")[:20],
                       hint="" if suffix else PhotoField.HINT).collect()
    return render("photos/_field.html", photo_field=field, status=422 if field.errors else 200)


def file_url(photo, thumb=False):
    """A photo's file for WeasyPrint to embed in a PDF."""
    return "file://" + uploads.file_path(current_app.config["PHOTOS"], photo, thumb=thumb)


def _allowed(photo):
    if photo.uploader_id == current_user.id:
        return True
    if photo.owner_id is None:
        return False
    check = OWNER_ACCESS.get(photo.owner_type)
    return bool(check and check(current_user, photo.owner_id))


@bp.route("/<int:photo_id>/<any(full, thumb):size>")
@roles(*ALL_ROLES)
def show(photo_id, size):
    """A photo file, only for a user allowed to see its record."""
    photo = uploads.Photo.get_or_none(uploads.Photo.id == photo_id)
    if photo is None or photo.is_voided:
        abort(404)
    if not _allowed(photo):
        abort(403)
    path = uploads.file_path(current_app.config["PHOTOS"], photo, thumb=(size == "thumb"))
    response = send_file(path, mimetype="image/jpeg", max_age=0, conditional=True)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
