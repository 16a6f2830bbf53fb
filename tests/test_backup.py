"""Backups and restore: a consistent copy taken while the server writes, brought back into a new
instance and compared by counts and checksums; the nightly backup and its retention; the checks
restore makes before it replaces anything; the administrator's page and audit log."""
import hashlib
import os
import shutil
import sqlite3
import threading

import pytest

import pgtest
from conftest import html
from conftest import text
from kefu import backup
from kefu import create_app
from kefu import db
from kefu import events
from kefu import uploads
from kefu.estate import Estate
from kefu.events import Event
from kefu.uploads import Photo
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)
from test_uploads import jpeg


def sha(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def photo_files(folder):
    return {name: sha(os.path.join(folder, name)) for name in os.listdir(folder) if name.endswith(".jpg")}


@pytest.mark.skipif(bool(pgtest.URL), reason="SQLite's online backup, compared table by table with sqlite3; "
                    "PostgreSQL's pg_dump: test_a_postgresql_backup_restores_into_a_new_database")
def test_a_backup_taken_during_writes_restores_whole_into_a_new_instance(app, world, tmp_path):
    photos = app.config["PHOTOS"]
    for n in range(5):
        photo = uploads.store(photos, world.assistant, jpeg(color=(n * 40, 20, 20)))
        Photo.update(owner_type="ticket", owner_id=n + 1).where(Photo.id == photo.id).execute()
    stop, written = threading.Event(), []

    def writer():
        # Another connection writing rows and photos all through the backup, as the server would.
        with db.database.connection_context():
            n = 0
            while not stop.is_set() or n < 20:
                photo = uploads.store(photos, world.assistant, jpeg(width=64, height=48, color=(n % 250, 90, 9)))
                events.record(world.assistant, photo, "测试写入", note=str(n))
                written.append(photo.id)
                n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        folder = backup.backup(app.config["DATABASE"], photos, str(tmp_path / "backups"))
    finally:
        stop.set()
        thread.join()
    assert written, "the writer wrote during the backup"
    manifest = backup.verify(folder)

    restored = tmp_path / "restored"
    restored.mkdir()
    backup.restore(folder, str(restored / "kefu.sqlite3"), str(restored / "photos"))

    # Counts as the manifest says; the rows a prefix of the source's (a snapshot, nothing torn).
    assert backup.table_counts(str(restored / "kefu.sqlite3")) == manifest["tables"]
    source = sqlite3.connect(app.config["DATABASE"])
    copy = sqlite3.connect(str(restored / "kefu.sqlite3"))
    try:
        for table in ("photo", "event"):
            copied = copy.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()
            assert copied == source.execute(f"SELECT * FROM {table} ORDER BY id LIMIT ?", (len(copied),)).fetchall()
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = [name for (name,) in copy.execute("SELECT name FROM photo")]
    finally:
        source.close()
        copy.close()
    # Every photo the restored database refers to is there, byte for byte the original.
    original, brought = photo_files(photos), photo_files(str(restored / "photos"))
    for name in names:
        for suffix in (".jpg", ".thumb.jpg"):
            assert brought[name + suffix] == original[name + suffix]
    # And the app runs on it.
    restored_app = create_app({"TESTING": True, "INSTANCE": str(restored), "DATABASE": str(restored / "kefu.sqlite3"),
                               "PHOTOS": str(restored / "photos")})
    with db.database.connection_context():
        assert Photo.select().count() == len(names)
    assert restored_app.test_client().get("/login").status_code == 200


def test_a_second_backup_links_the_photos_it_already_has_and_prune_keeps_the_newest(app, world, tmp_path):
    photos, dest = app.config["PHOTOS"], str(tmp_path / "backups")
    uploads.store(photos, world.assistant, jpeg())
    first = backup.backup(app.config["DATABASE"], photos, dest, now=sh(11, 25, 3, 0).replace(tzinfo=None))
    uploads.store(photos, world.assistant, jpeg(color=(1, 2, 3)))
    second = backup.backup(app.config["DATABASE"], photos, dest, now=sh(11, 26, 3, 0).replace(tzinfo=None))
    manifest = backup.verify(second)
    assert len(manifest["photos"]) == 4 and manifest["photos_linked"] == 2
    shared = next(name for name in os.listdir(os.path.join(first, "photos")))
    assert os.stat(os.path.join(first, "photos", shared)).st_ino == os.stat(os.path.join(second, "photos", shared)).st_ino
    third = backup.backup(app.config["DATABASE"], photos, dest, now=sh(11, 27, 3, 0).replace(tzinfo=None))
    assert backup.prune(dest, 2) == [os.path.basename(first)]
    assert [name for name, _m in backup.list_backups(dest)] == [os.path.basename(third), os.path.basename(second)]
    backup.verify(second)  # the linked photos outlive the backup they were first copied into


@pytest.mark.parametrize("damage, message", [
    ("photo", "缺失或已损坏"),
    ("database", "校验值不符"),
    ("manifest", "不是完整的备份"),
])
def test_restore_refuses_a_damaged_backup_and_replaces_nothing(app, world, tmp_path, damage, message):
    uploads.store(app.config["PHOTOS"], world.assistant, jpeg())
    folder = backup.backup(app.config["DATABASE"], app.config["PHOTOS"], str(tmp_path / "backups"))
    if damage == "photo":
        name = sorted(os.listdir(os.path.join(folder, "photos")))[0]
        os.remove(os.path.join(folder, "photos", name))
    elif damage == "database":
        with open(os.path.join(folder, backup.PG_DUMP if pgtest.URL else backup.DATABASE), "ab") as handle:
            handle.write(b"\0" * 4096)
    else:
        os.remove(os.path.join(folder, "manifest.json"))
    if pgtest.URL:
        with pytest.raises(backup.BackupError, match=message):
            backup.restore(folder, app.config["DATABASE"], str(tmp_path / "target-photos"))
        assert Estate.current().name == world.estate.name
        assert len(backup.list_backups(str(tmp_path / "backups"))) == 1  # nothing kept: nothing replaced
        return
    target = tmp_path / "target.sqlite3"
    target.write_bytes(b"the current database")
    with pytest.raises(backup.BackupError, match=message):
        backup.restore(folder, str(target), str(tmp_path / "target-photos"))
    assert target.read_bytes() == b"the current database"


def test_the_nightly_backup_runs_once_in_its_hour_and_keeps_the_newest(app, world, tmp_path, traveller):
    dest = str(tmp_path / "nightly")
    backup.configure(app.config["DATABASE"], app.config["PHOTOS"], dest)
    estate = Estate.current()
    traveller.move_to(sh(11, 28, 3, 5))
    assert backup.nightly() is None  # switched off by default
    backup.update_settings(world.supervisor, estate, estate.version, True, 3, 2)
    traveller.move_to(sh(11, 28, 2, 55))
    assert backup.nightly() is None  # not yet its hour
    made = []
    for day in (28, 29, 30):
        traveller.move_to(sh(11, day, 3, 5))
        made.append(backup.nightly())
        traveller.move_to(sh(11, day, 3, 25))
        assert backup.nightly() is None  # once a night
    assert all(made)
    assert [name for name, _m in backup.list_backups(dest)] == [os.path.basename(f) for f in made[:0:-1]]
    notes = [e.note for e in Event.select().where(Event.action == "自动备份")]
    assert len(notes) == 3 and "删除较早的 1 份" in notes[-1]


def test_the_backup_and_restore_commands(app, world, tmp_path):
    uploads.store(app.config["PHOTOS"], world.assistant, jpeg())
    runner = app.test_cli_runner()
    made = runner.invoke(args=["backup", str(tmp_path / "out")])
    assert made.exit_code == 0, made.output
    assert "已备份到" in made.output and "2 个照片文件" in made.output
    folder = os.path.join(tmp_path / "out", os.listdir(tmp_path / "out")[0])
    assert os.path.exists(os.path.join(folder, backup.PG_DUMP if pgtest.URL else backup.DATABASE))
    with db.database.connection_context():
        Estate.update(name="改过的名字").execute()
    restored = runner.invoke(args=["restore", folder, "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "检查通过" in restored.output and "已恢复" in restored.output
    with db.database.connection_context():
        assert Estate.current().name != "改过的名字"
        assert Event.select().where(Event.action == "恢复备份").count() == 1
    if pgtest.URL:  # what was replaced, kept as a backup beside the one restored
        assert len(backup.list_backups(str(tmp_path / "out"))) == 2
    else:
        assert any(".before-restore-" in name for name in os.listdir(os.path.dirname(app.config["DATABASE"])))
    shutil.rmtree(os.path.join(folder, "photos"))
    refused = runner.invoke(args=["restore", folder, "--yes"])
    assert refused.exit_code == 1 and "不能恢复" in refused.output


def test_the_administrator_switches_the_nightly_backup_on_and_backs_up_now(app, world, as_user):
    from kefu import users

    admin = users.create_user(None, "admin", "管理员", "admin", "secret123")
    client = as_user(admin)
    estate = Estate.current()
    bad = client.post("/admin/backups", data={"version": str(estate.version), "backup_nightly": "y",
                                              "backup_hour": "3", "backup_keep": "0"})
    assert bad.status_code == 422 and "保留份数应在 1–365 之间" in text(bad) and 'value="0"' in html(bad)
    good = client.post("/admin/backups", data={"version": str(estate.version), "backup_nightly": "y",
                                               "backup_hour": "2", "backup_keep": "7"})
    assert good.status_code == 303
    estate = Estate.current()
    assert (estate.backup_nightly, estate.backup_hour, estate.backup_keep) == (True, 2, 7)
    assert client.post("/admin/backups/now").status_code == 303
    page = text(client.get("/admin/backups"))
    assert "已有的备份（1）" in page and "完整" in page and "修改备份设置" in page
    assert "每晚自动备份：开，02:00，保留 7 份" in page


def test_the_audit_log_lists_sign_ins_failures_role_changes_and_exports(app, world, as_user, client):
    from kefu import users

    admin = users.create_user(None, "admin", "管理员", "admin", "secret123")
    client.post("/login", data={"username": "nobody<b>", "password": "x"})
    client.post("/login", data={"username": world.assistant.username, "password": "wrong-1"})
    as_user(world.supervisor).post("/exports", data={"first": "2026-11-01", "last": "2026-11-27", "token": "e1"})
    client = as_user(admin)
    assistant = users.User.get_by_id(world.assistant.id)
    client.post(f"/admin/users/{assistant.id}", data={"version": str(assistant.version), "display_name": "张助理",
                                                      "role": "supervisor", "unit": "0", "phone": "", "active": "y"})
    page = client.get("/admin/audit")
    log = text(page)
    for expected in ("2026-11-27 · 来自 127.0.0.1 · 1 次 10:00–10:00 · 最后一次用户名：nobody&lt;b&gt;",
                     "登录失败 · 张助理（zhuli1） 2026-11-27 10:00 · 系统 · 第 1 次；来自 127.0.0.1",
                     "导出 · 刘主管（zhuguan） 2026-11-27 10:00 · 刘主管 · 2026-11-01 至 2026-11-27",
                     "更改角色 · 张助理（zhuli1）", "角色：客户助理 → 客服主管", "登录 · 管理员（admin）"):
        assert expected in log, expected
    assert "nobody&lt;b&gt;" in html(page) and "nobody<b>" not in html(page)  # what a stranger typed, escaped
    only_accounts = text(client.get("/admin/audit?kind=accounts"))
    assert "更改角色" in only_accounts and "登录失败" not in only_accounts
    assert as_user(world.supervisor).get("/admin/audit").status_code == 403


def test_a_postgresql_backup_restores_into_a_new_database(tmp_path, scratch_postgres):
    """pg_dump of a PostgreSQL estate, then pg_restore into another database: every row and photo
    back as they were when the backup was made, the app works on it; a SQLite backup is refused."""
    from kefu import users

    def open_app(database, name):
        return create_app({"TESTING": True, "INSTANCE": str(tmp_path / name), "WTF_CSRF_ENABLED": False,
                           "DATABASE": database, "PHOTOS": str(tmp_path / name / "photos")})

    source = scratch_postgres()
    app = open_app(source, "source")
    photos = app.config["PHOTOS"]
    with db.database.connection_context():
        Estate.update(name="备份花园").where(Estate.id == Estate.current().id).execute()
        assistant = users.create_user(None, "zhuli1", "张助理", "assistant", "secret123")
        uploads.attach([uploads.store(photos, assistant, jpeg())], Estate.current())
        events.record(assistant, Estate.current(), "备注", note="备份之前")
        folder = backup.backup(source, photos, str(tmp_path / "backups"))
        events.record(assistant, Estate.current(), "备注", note="备份之后")
        stored = [p.name for p in Photo.select()]
    manifest = backup.verify(folder)
    assert manifest["database"] == "postgresql" and os.path.exists(os.path.join(folder, backup.PG_DUMP))
    assert manifest["tables"]["photo"] == 1 and manifest["photo_names"] == stored

    target = scratch_postgres()
    restored = open_app(target, "restored")  # a new estate of its own, replaced whole
    db.database.close()
    backup.restore(folder, target, restored.config["PHOTOS"])
    notes = [n for (n,) in pgtest.query(target, "SELECT note FROM event WHERE action = '备注' ORDER BY id")]
    assert notes == ["备份之前"]
    assert pgtest.query(target, "SELECT name FROM estate") == [("备份花园",)]
    counts = backup._pg_table_counts(target)
    assert {table: counts[table] for table in manifest["tables"]} == manifest["tables"]
    assert photo_files(restored.config["PHOTOS"]) == photo_files(photos)
    restored = open_app(target, "restored")
    client = restored.test_client()
    assert client.post("/login", data={"username": "zhuli1", "password": "secret123"}).status_code == 303
    assert "今日" in text(client.get("/"))
    with restored.app_context():
        assert Estate.current().name == "备份花园"
    # The estate replaced was backed up first, beside the backup restored.
    assert len(backup.list_backups(str(tmp_path / "backups"))) == 2

    on_sqlite = open_app(str(tmp_path / "estate.sqlite3"), "sqlite")
    sqlite_backup = backup.backup(on_sqlite.config["DATABASE"], on_sqlite.config["PHOTOS"], str(tmp_path / "other"))
    with pytest.raises(backup.BackupError, match="不是同一种"):
        backup.restore(sqlite_backup, target, restored.config["PHOTOS"])
