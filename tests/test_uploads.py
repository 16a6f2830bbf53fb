"""Photos: checked by content, shrunk, stripped of GPS, stored atomically, shown only to those allowed."""
import io
import os

import pytest
from PIL import Image

from conftest import text
from kefu import uploads
from kefu import users
from kefu.estate import Place
from kefu.users import User


def jpeg(width=800, height=600, gps=False, color=(200, 30, 30)):
    image = Image.new("RGB", (width, height), color)
    exif = Image.Exif()
    if gps:
        exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (121.0, 28.0, 0.0)}
        exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes() if gps else b"")
    return out.getvalue()


def png_with_alpha():
    image = Image.new("RGBA", (300, 200), (0, 0, 255, 128))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_gps_and_all_exif_are_stripped():
    original = jpeg(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    full, thumb, width, height = uploads.process(original)
    for data in (full, thumb):
        exif = Image.open(io.BytesIO(data)).getexif()
        assert not exif.get_ifd(0x8825)
        assert len(exif) == 0


def test_large_photo_is_downscaled_and_thumbnailed():
    full, thumb, width, height = uploads.process(jpeg(4000, 3000))
    assert (width, height) == (1600, 1200)
    assert Image.open(io.BytesIO(full)).size == (1600, 1200)
    assert max(Image.open(io.BytesIO(thumb)).size) == uploads.THUMB_SIDE


def test_png_with_transparency_becomes_jpeg():
    full, thumb, width, height = uploads.process(png_with_alpha())
    assert Image.open(io.BytesIO(full)).format == "JPEG"
    assert (width, height) == (300, 200)


def test_webp_is_accepted():
    out = io.BytesIO()
    Image.new("RGB", (100, 100), "green").save(out, "WEBP")
    assert uploads.process(out.getvalue())[2] == 100


@pytest.mark.skipif(not uploads.HEIC, reason="HEIC support not installed")
def test_heic_from_an_iphone_is_accepted():
    import pillow_heif

    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (120, 80), "blue")).save(out, format="HEIF")
    full, thumb, width, height = uploads.process(out.getvalue())
    assert (width, height) == (120, 80)


@pytest.mark.parametrize("data, message", [
    (b"", "文件为空"),
    (b"%PDF-1.4 not a photo", "不是有效的图片"),
    (b"hello, this is a text file called photo.jpg", "不是有效的图片"),
    (jpeg()[:300], "损坏"),
])
def test_not_a_photo_is_refused_with_a_message(data, message):
    with pytest.raises(uploads.PhotoError) as error:
        uploads.process(data)
    assert message in error.value.message


def test_gif_is_refused_by_content_not_name():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    with pytest.raises(uploads.PhotoError, match="只能上传"):
        uploads.process(out.getvalue())


def test_oversize_file_is_refused():
    with pytest.raises(uploads.PhotoError, match="太大"):
        uploads.process(b"\xff" * (uploads.MAX_BYTES + 1))


def test_decompression_bomb_is_refused():
    # A tiny PNG that claims 20000 × 20000 pixels.
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    assert len(out.getvalue()) < uploads.MAX_BYTES
    with pytest.raises(uploads.PhotoError):
        uploads.process(out.getvalue())


def test_store_writes_files_under_a_random_name_before_the_row(app, people, tmp_path):
    folder = str(tmp_path / "photos")
    photo = uploads.store(folder, people["assistant"], jpeg())
    assert os.path.exists(uploads.file_path(folder, photo))
    assert os.path.exists(uploads.file_path(folder, photo, thumb=True))
    assert len(photo.name) >= 20 and photo.owner_id is None
    assert not [name for name in os.listdir(folder) if name.endswith(".tmp")]


def upload(client, *files):
    return client.post("/photos", data={"photos": [(io.BytesIO(d), n) for d, n in files]},
                       content_type="multipart/form-data", headers={"HX-Request": "true"})


def test_upload_answers_the_widget_with_thumbnails(client, login):
    login("admin")
    response = upload(client, (jpeg(), "a.jpg"), (jpeg(color=(0, 0, 0)), "b.jpg"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count('name="photo_ids"') == 2
    assert "已有 2 张" in html


def test_one_bad_photo_keeps_the_good_ones(client, login):
    login("admin")
    response = upload(client, (jpeg(), "good.jpg"), (b"not an image", "bad.jpg"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.count('name="photo_ids"') == 1
    assert "bad.jpg：不是有效的图片文件" in text(response)


def test_failed_form_keeps_text_and_photos(client, login):
    """A place form with a bad photo comes back with the name typed and the good photo kept."""
    login("admin")
    response = client.post("/admin/places/new", data={
        "name": "3号楼 B1 地库", "kind": "地库", "building": "0", "note": "",
        "photos": [(io.BytesIO(jpeg()), "ok.jpg"), (io.BytesIO(b"junk"), "x.jpg")],
    }, content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="3号楼 B1 地库"' in html
    assert html.count('name="photo_ids"') == 1
    assert Place.select().count() == 0
    photo_id = html.split('name="photo_ids" value="')[1].split('"')[0]
    # Resubmitting without the bad photo saves the place with the kept photo.
    response = client.post("/admin/places/new", data={
        "name": "3号楼 B1 地库", "kind": "地库", "building": "0", "note": "", "photo_ids": photo_id})
    assert response.status_code == 303
    place = Place.get(Place.name == "3号楼 B1 地库")
    assert [p.id for p in uploads.Photo.of(place)] == [int(photo_id)]


def test_photos_are_served_only_to_those_allowed(client, login, people):
    login("admin")
    html = upload(client, (jpeg(), "a.jpg")).get_data(as_text=True)
    photo_id = int(html.split('name="photo_ids" value="')[1].split('"')[0])
    url = f"/photos/{photo_id}/thumb"
    with client.get(url) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.headers["Cache-Control"].startswith("private")

    # An unattached photo is the uploader's alone.
    login("assistant")
    assert client.get(url).status_code == 403

    # Attached to a public place, staff may see it, a business unit may not.
    login("admin")
    client.post("/admin/places/new", data={"name": "会所", "kind": "会所", "building": "0",
                                           "photo_ids": str(photo_id)})
    for role, status in [("assistant", 200), ("frontdesk", 200), ("supervisor", 200), ("unit", 403)]:
        login(role)
        with client.get(url) as response:
            assert response.status_code == status, role
    client.post("/logout")
    assert client.get(url).status_code == 302


def test_ids_of_someone_elses_photos_are_ignored(client, login):
    login("admin")
    html = upload(client, (jpeg(), "a.jpg")).get_data(as_text=True)
    photo_id = html.split('name="photo_ids" value="')[1].split('"')[0]
    login("assistant")
    response = upload(client)  # no files
    assert 'name="photo_ids"' not in response.get_data(as_text=True)
    assert uploads.pending(User.get(User.username == "assistant"), [photo_id]) == []


def test_the_sweep_removes_what_a_crash_left_and_nothing_in_use(app, tmp_path):
    folder = str(tmp_path / "photos")
    user = users.create_user(None, "u1", "甲", "assistant", "secret123")
    kept = uploads.store(folder, user, jpeg())
    # A crash mid-upload: the temp file of an unfinished write, and files whose row never committed.
    for name in ("abc.jpg.1a2b.tmp", "lost.jpg", "lost.thumb.jpg"):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(b"x")
    assert uploads.sweep(folder) == []  # younger than an hour: maybe an upload in flight
    removed = uploads.sweep(folder, older_than=0)
    assert sorted(removed) == ["abc.jpg.1a2b.tmp", "lost.jpg", "lost.thumb.jpg"]
    assert sorted(os.listdir(folder)) == [f"{kept.name}.jpg", f"{kept.name}.thumb.jpg"]
