"""Photos: checked by content, downscaled, stripped of EXIF, thumbnailed, written atomically.

A photo is uploaded first (owner unset, visible only to its uploader) and attached to its record
when the form that carries it is saved, so a form that fails validation never loses its photos.
"""
import datetime
import io
import os
import secrets
import threading
import time
import warnings

import peewee
from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError

from . import clock
from .db import BaseModel
from .db import Prepared
from .db import RuleError
from .db import VoidableMixin

try:
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover - HEIC is optional
    HEIC = False

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "MPO"} | ({"HEIF"} if HEIC else set())
MAX_BYTES = 15 * 1024 * 1024
# Pixels decoded at most: a phone's photo is 12–24 MP, and decoding takes about 4 bytes a pixel, however
# small the file (a 7 kB palette PNG can say 7745×7745). Checked from the file's header, before decoding.
MAX_PIXELS = 40_000_000
# A JPEG is decoded at 1/2, 1/4 or 1/8 of its size when that still covers LONG_SIDE (its draft mode),
# so a 50–200 MP phone camera's JPEG decodes small; its header may say up to this.
MAX_JPEG_PIXELS = 250_000_000
LONG_SIDE = 1600
THUMB_SIDE = 320
MAX_PER_FORM = 9
# Photos decoded at once in one server process; the others wait their turn (up to DECODE_WAIT seconds).
DECODERS = 2
DECODE_WAIT = 60
_decoding = threading.BoundedSemaphore(DECODERS)
# An upload never attached to a record (its form was abandoned) is removed after this long.
UNATTACHED_KEPT = datetime.timedelta(days=1)

Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS


class Photo(VoidableMixin, BaseModel):
    uploader_id = peewee.IntegerField()
    owner_type = peewee.CharField(default="", max_length=30)
    owner_id = peewee.IntegerField(null=True)
    name = peewee.CharField(max_length=80, unique=True)
    width = peewee.IntegerField()
    height = peewee.IntegerField()
    size = peewee.IntegerField()
    created_at = peewee.DateTimeField()

    class Meta:
        indexes = ((("owner_type", "owner_id"), False),)

    @classmethod
    def of(cls, record):
        return _PHOTOS_OF(type(record).__name__.lower(), record.get_id())



_PHOTOS_OF = Prepared(Photo, lambda owner_type, owner_id: Photo.live().where(
    (Photo.owner_type == owner_type) & (Photo.owner_id == owner_id)).order_by(Photo.id), "ticket", -1)

MODELS = [Photo]


class PhotoError(RuleError):
    pass


def _paths(folder, name):
    return os.path.join(folder, name + ".jpg"), os.path.join(folder, name + ".thumb.jpg")


def _write_atomic(path, data):
    tmp = f"{path}.{secrets.token_hex(4)}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def fsync_path(path):
    """Flush a file or a folder (a folder: the names in it, after a rename) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def process(data):
    """Check an upload's bytes and return (full JPEG, thumbnail JPEG, width, height)."""
    if not data:
        raise PhotoError("文件为空")
    if len(data) > MAX_BYTES:
        raise PhotoError(f"照片太大（{len(data) / 1024 / 1024:.1f} MB），单张不能超过 {MAX_BYTES // 1024 // 1024} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header only
            if image.format not in ACCEPTED_FORMATS:
                raise PhotoError("只能上传 JPEG、PNG、WebP" + ("、HEIC" if HEIC else "") + " 格式的照片")
            if image.format in ("JPEG", "MPO"):
                if image.width * image.height > MAX_JPEG_PIXELS:
                    raise PhotoError("照片像素过大，无法处理")
                image.draft("RGB", (LONG_SIDE, LONG_SIDE))
            if image.width * image.height > MAX_PIXELS:
                raise PhotoError(f"照片像素过大（{image.width}×{image.height}），无法处理")
            if not _decoding.acquire(timeout=DECODE_WAIT):
                raise PhotoError("服务器正忙，请稍后重新上传")
            try:
                image.load()
                # Down to the size kept while still in the file's own mode where resizing can (a palette
                # image is made full colour first): the copies below are then small.
                if image.mode in ("P", "1", "I;16", "I", "F", "LA", "PA"):
                    image = image.convert("RGBA")
                image.thumbnail((LONG_SIDE, LONG_SIDE), Image.LANCZOS)
            finally:
                _decoding.release()
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError("不是有效的图片文件，请重新拍照或选择照片")
    except (OSError, ValueError, SyntaxError):
        raise PhotoError("图片文件已损坏，请重新拍照或选择照片")
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    full = io.BytesIO()
    # Re-encoding without exif= drops every EXIF tag, GPS included.
    image.save(full, "JPEG", quality=82, optimize=True)
    thumb_image = image.copy()
    thumb_image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.LANCZOS)
    thumb = io.BytesIO()
    thumb_image.save(thumb, "JPEG", quality=75, optimize=True)
    return full.getvalue(), thumb.getvalue(), image.width, image.height


def store(folder, uploader, data):
    """Process and save one upload; returns the unattached Photo. Files land before the row."""
    full, thumb, width, height = process(data)
    os.makedirs(folder, exist_ok=True)
    name = secrets.token_urlsafe(18)
    full_path, thumb_path = _paths(folder, name)
    _write_atomic(thumb_path, thumb)
    _write_atomic(full_path, full)
    fsync_path(folder)
    return Photo.create(uploader_id=uploader.id, name=name, width=width, height=height,
                        size=len(full), created_at=clock.utcnow())


def pending(uploader, ids):
    """The uploader's own unattached photos among `ids` (ids from a form are never trusted)."""
    clean = [int(i) for i in ids if str(i).isascii() and str(i).isdigit() and int(i) < 2 ** 63][:MAX_PER_FORM]
    if not clean:
        return []
    return list(Photo.live().where(Photo.id.in_(clean) & (Photo.uploader_id == uploader.id)
                                   & (Photo.owner_id.is_null())).order_by(Photo.id))


def attach(photos, record):
    """Attach uploaded photos to the record they belong to."""
    ids = [p.id for p in photos]
    if ids:
        Photo.update(owner_type=type(record).__name__.lower(), owner_id=record.get_id()).where(
            Photo.id.in_(ids) & Photo.owner_id.is_null()).execute()


def discard(folder, photos):
    """Drop photos that came with a form the server ignored as a repeat (a check resent from the
    phone): copies of photos already kept with the first sending. Only unattached ones go."""
    ids = [p.id for p in photos]
    if not ids:
        return
    gone = list(Photo.select().where(Photo.id.in_(ids) & Photo.owner_id.is_null()))
    Photo.delete().where(Photo.id.in_([p.id for p in gone]) & Photo.owner_id.is_null()).execute()
    for photo in gone:
        for path in _paths(folder, photo.name):
            try:
                os.remove(path)
            except FileNotFoundError:
                pass


def file_path(folder, photo, thumb=False):
    full, small = _paths(folder, photo.name)
    return small if thumb else full


def sweep(folder, older_than=3600, now=None):
    """Remove what a crash can leave in the photo folder: temp files of an interrupted write, and
    photo files whose row was never committed (the files are written first). Only files older than
    `older_than` seconds are touched, so uploads in flight are left alone. Returns the names removed."""
    if not os.path.isdir(folder):
        return []
    cutoff = (now if now is not None else time.time()) - older_than
    known = {name for (name,) in Photo.select(Photo.name).tuples()}
    removed = []
    for filename in os.listdir(folder):
        path = os.path.join(folder, filename)
        if filename.endswith(".tmp"):
            orphan = True
        elif filename.endswith(".thumb.jpg"):
            orphan = filename[:-len(".thumb.jpg")] not in known
        elif filename.endswith(".jpg"):
            orphan = filename[:-len(".jpg")] not in known
        else:
            continue
        try:
            if orphan and os.path.getmtime(path) <= cutoff:
                os.remove(path)
                removed.append(filename)
        except FileNotFoundError:
            pass
    return removed


def sweep_unattached(folder, now=None):
    """Remove uploads never attached to a record (the form they were picked for was never saved),
    UNATTACHED_KEPT after their upload: row and files. Returns how many were removed."""
    cutoff = (now or clock.utcnow()) - UNATTACHED_KEPT
    stale = list(Photo.select().where(Photo.owner_id.is_null() & (Photo.created_at < cutoff)))
    for photo in stale:
        # The row first: a crash between leaves files without a row, which sweep() clears.
        if Photo.delete().where((Photo.id == photo.id) & Photo.owner_id.is_null()).execute() == 1:
            for path in _paths(folder, photo.name):
                try:
                    os.remove(path)
                except FileNotFoundError:
                    pass
    return len(stale)
