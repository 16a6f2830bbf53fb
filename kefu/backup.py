"""Backups: a consistent copy of the database and the photos, and bringing one back.

A backup is a folder `kefu-backup-YYYYmmdd-HHMMSS` holding
- `kefu.sqlite3`, made by SQLite's online backup (a consistent snapshot, safe while the server writes);
- `photos/`, every photo file. Files are written before the row that points at them, so a photo
  the snapshot refers to is already on disk when the files are copied after it. Photos never change
  once written, so a file the previous backup in the same folder already holds is hard-linked from
  it rather than copied again;
- `manifest.json`: when, the rows per table, and the SHA-256 of the database and of every photo.

`restore` checks a backup (its manifest, the checksums, SQLite's integrity check, every photo the
database refers to present) before it replaces anything, and keeps the database it replaces.

On PostgreSQL (DATABASE_URL) the database part is `kefu.pgdump`, made by `pg_dump` (one consistent
snapshot, safe while the server writes) and checked with `pg_restore --list`; restoring first backs
up what it replaces into the same folder as the backup restored, then loads the dump with
`pg_restore --clean` in one transaction.
"""
import datetime
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess

from . import clock
from . import db
from . import events
from . import scheduler
from .uploads import fsync_path

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
KEEP_RANGE = "保留份数应在 1–365 之间"

FOLDER = re.compile(r"^kefu-backup-\d{8}-\d{6}(-\d+)?$")
MANIFEST = "manifest.json"
DATABASE = "kefu.sqlite3"
PG_DUMP = "kefu.pgdump"
PHOTOS = "photos"


class BackupError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_counts(path):
    """{table: rows} of a database file (FTS5's own tables left out)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name")]
        virtual = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'")]
        names = [n for n in names if not any(n.startswith(v + "_") for v in virtual)]
        return {name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in names}
    finally:
        connection.close()


def _photo_names(path):
    """The photo names the database at `path` refers to."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [name for (name,) in connection.execute("SELECT name FROM photo")]
    finally:
        connection.close()


def _pg(args):
    """Run one of PostgreSQL's client programs; BackupError with what it said if it fails."""
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BackupError(f"找不到 {args[0]}：请安装 PostgreSQL 客户端（Debian 包 postgresql-client）")
    if done.returncode != 0:
        raise BackupError(f"{args[0]} 失败：{done.stderr.strip()[-500:]}")
    return done.stdout


def _pg_query(url, sql):
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()


def _pg_table_counts(url):
    tables = [name for (name,) in _pg_query(
        url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    if not tables:
        return {}
    union = " UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM \"{t}\"" for t in tables)
    return dict(_pg_query(url, union))


def list_backups(dest):
    """[(folder name, manifest or None)] in `dest`, newest first."""
    if not os.path.isdir(dest):
        return []
    found = []
    for name in sorted((n for n in os.listdir(dest) if FOLDER.match(n)), reverse=True):
        try:
            with open(os.path.join(dest, name, MANIFEST), encoding="utf-8") as handle:
                found.append((name, json.load(handle)))
        except (OSError, ValueError):
            found.append((name, None))  # unfinished or damaged: shown, never used as a link source
    return found


def backup(database_path, photos_dir, dest, now=None):
    """Make a backup folder in `dest`; returns its path."""
    now = now or clock.utcnow()
    os.makedirs(dest, exist_ok=True)
    stamp = f"kefu-backup-{now:%Y%m%d-%H%M%S}"
    name, n = stamp, 1
    while os.path.exists(os.path.join(dest, name)) or os.path.exists(os.path.join(dest, name + ".partial")):
        n += 1
        name = f"{stamp}-{n}"
    final = os.path.join(dest, name)
    work = final + ".partial"
    os.makedirs(os.path.join(work, PHOTOS))
    try:
        previous = next(((os.path.join(dest, folder), manifest) for folder, manifest in list_backups(dest)
                         if manifest is not None), (None, None))
        postgres = db.is_url(database_path)
        if postgres:
            db_copy = os.path.join(work, PG_DUMP)
            # Counted before the dump, so every photo a dumped row names is in this list or newer.
            tables = _pg_table_counts(database_path)
            _pg(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={db_copy}",
                 f"--dbname={database_path}"])
            photo_names = [name for (name,) in _pg_query(database_path, 'SELECT "name" FROM "photo"')]
        else:
            db_copy = os.path.join(work, DATABASE)
            source = sqlite3.connect(database_path, timeout=30)
            target = sqlite3.connect(db_copy)
            try:
                source.backup(target, pages=4096)  # steps, so writers wait at most one step at a time
            finally:
                target.close()
                source.close()
            tables, photo_names = table_counts(db_copy), _photo_names(db_copy)
        fsync_path(db_copy)
        known = (previous[1] or {}).get("photos", {}) if previous[0] else {}
        photos, linked = {}, 0
        if os.path.isdir(photos_dir):
            for filename in sorted(os.listdir(photos_dir)):
                if filename.endswith(".tmp") or not filename.endswith(".jpg"):
                    continue
                source_file = os.path.join(photos_dir, filename)
                copy = os.path.join(work, PHOTOS, filename)
                size = os.path.getsize(source_file)
                old = os.path.join(previous[0], PHOTOS, filename) if previous[0] else None
                if old and filename in known and os.path.exists(old) and os.path.getsize(old) == size:
                    os.link(old, copy)
                    photos[filename] = known[filename]
                    linked += 1
                else:
                    shutil.copyfile(source_file, copy)
                    photos[filename] = _sha256(copy)
        missing = [n for n in photo_names if f"{n}.jpg" not in photos or f"{n}.thumb.jpg" not in photos]
        if missing:
            raise BackupError(f"{len(missing)} 张照片的文件不在照片目录里（如 {missing[0]}），备份未完成")
        manifest = {"made_at": now.isoformat(timespec="seconds") + "Z", "database_sha256": _sha256(db_copy),
                    "database": "postgresql" if postgres else "sqlite",
                    "tables": tables, "photos": photos, "photos_linked": linked}
        if postgres:
            manifest["photo_names"] = photo_names
        with open(os.path.join(work, MANIFEST), "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, ensure_ascii=False, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(work, final)  # a folder without `.partial` is a finished backup
        fsync_path(dest)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def prune(dest, keep):
    """Delete all but the `keep` newest finished backups in `dest`; returns the names removed."""
    finished = [name for name, manifest in list_backups(dest) if manifest is not None]
    removed = finished[keep:]
    for name in removed:
        shutil.rmtree(os.path.join(dest, name))
    return removed


def verify(folder):
    """Check a backup before it is used; returns its manifest or raises BackupError."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError):
        raise BackupError(f"{folder} 不是完整的备份（没有可读的 {MANIFEST}）")
    postgres = manifest.get("database") == "postgresql"
    db_copy = os.path.join(folder, PG_DUMP if postgres else DATABASE)
    if not os.path.exists(db_copy) or _sha256(db_copy) != manifest.get("database_sha256"):
        raise BackupError("备份的数据库文件与清单的校验值不符，可能已损坏")
    if postgres:
        _pg(["pg_restore", "--list", db_copy])  # the dump reads whole
    else:
        connection = sqlite3.connect(f"file:{db_copy}?mode=ro", uri=True)
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            connection.close()
        if result != "ok":
            raise BackupError(f"备份的数据库未通过完整性检查：{result}")
    for filename, digest in manifest.get("photos", {}).items():
        path = os.path.join(folder, PHOTOS, filename)
        if not os.path.exists(path) or _sha256(path) != digest:
            raise BackupError(f"备份里的照片 {filename} 缺失或已损坏")
    for name in manifest.get("photo_names", []) if postgres else _photo_names(db_copy):
        for suffix in (".jpg", ".thumb.jpg"):
            if name + suffix not in manifest.get("photos", {}):
                raise BackupError(f"数据库引用的照片 {name}{suffix} 不在备份里")
    if not postgres and table_counts(db_copy) != manifest.get("tables"):
        raise BackupError("备份数据库的行数与清单不符")
    return manifest


def restore(folder, database_path, photos_dir, now=None):
    """Replace the database and photos with a checked backup. The server must be stopped.

    The database replaced is kept beside it as `kefu.sqlite3.before-restore-<time>`; photos are
    added, none removed. Returns the manifest."""
    manifest = verify(folder)
    now = now or clock.utcnow()
    postgres = manifest.get("database") == "postgresql"
    if postgres != db.is_url(database_path):
        raise BackupError("这份备份来自" + ("PostgreSQL" if postgres else " SQLite") + "，与当前数据库不是同一种："
                          "请在同一种数据库上恢复，再用 flask move-data 搬过去")
    if postgres:
        # What is replaced is kept as a backup of its own beside the one restored.
        backup(database_path, photos_dir, os.path.dirname(os.path.abspath(folder)), now=now)
    os.makedirs(photos_dir, exist_ok=True)
    for filename in manifest["photos"]:
        target = os.path.join(photos_dir, filename)
        if not os.path.exists(target):
            tmp = f"{target}.restore.tmp"
            shutil.copyfile(os.path.join(folder, PHOTOS, filename), tmp)
            os.replace(tmp, target)
    fsync_path(photos_dir)
    if postgres:
        _pg(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
             f"--dbname={database_path}", os.path.join(folder, PG_DUMP)])
        return manifest
    if os.path.exists(database_path):
        kept = f"{database_path}.before-restore-{now:%Y%m%d-%H%M%S}"
        # Fold the write-ahead log into the file first, so what is kept is whole.
        connection = sqlite3.connect(database_path, timeout=30)
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            connection.close()
        os.replace(database_path, kept)
    for suffix in ("-wal", "-shm"):
        if os.path.exists(database_path + suffix):
            os.remove(database_path + suffix)
    tmp = f"{database_path}.restore.tmp"
    shutil.copyfile(os.path.join(folder, DATABASE), tmp)
    with open(tmp, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, database_path)
    fsync_path(os.path.dirname(os.path.abspath(database_path)))
    return manifest


# The nightly backup, run by the app's own scheduler when the administrator switches it on.

NIGHTLY_CHECK = 600  # seconds between looks at the clock
_app_paths = {}  # set by the app factory: database, photos, backups


def configure(database_path, photos_dir, dest):
    _app_paths.update(database=database_path, photos=photos_dir, dest=dest)


def nightly(now=None):
    """Back up once a day in the configured hour, then keep the newest `backup_keep`. Returns the
    folder made, or None."""
    from .estate import Estate

    if not _app_paths:
        return None
    estate = Estate.current()
    if not estate.backup_nightly:
        return None
    now = now or clock.utcnow()
    local = clock.to_local(now, estate.tz)
    if local.hour != estate.backup_hour:
        return None
    for _name, manifest in list_backups(_app_paths["dest"]):
        if manifest is None:
            continue
        made = datetime.datetime.fromisoformat(manifest["made_at"].rstrip("Z"))
        if clock.to_local(made, estate.tz).date() == local.date():
            return None  # today's is made
        break
    folder = backup(_app_paths["database"], _app_paths["photos"], _app_paths["dest"], now=now)
    removed = prune(_app_paths["dest"], estate.backup_keep)
    events.record(None, estate, "自动备份", note=os.path.basename(folder)
                  + (f"；删除较早的 {len(removed)} 份" if removed else ""))
    return folder


scheduler.job("backup.nightly", NIGHTLY_CHECK)(lambda: nightly())


def sweep_photos():
    """Clear what a crash left in the photo folder (kefu.uploads.sweep) and the uploads never attached
    to a record after a day (kefu.uploads.sweep_unattached), every few hours; and forget the
    rate-limit counts of past windows (kefu.limits) and the sign-in locks of places that stopped
    trying a day ago (kefu.users)."""
    from . import limits
    from . import uploads
    from . import users

    limits.clear_old()
    users.clear_old_locks()
    if not _app_paths:
        return []
    uploads.sweep_unattached(_app_paths["photos"])
    return uploads.sweep(_app_paths["photos"])


scheduler.job("photos.sweep", 6 * 3600)(sweep_photos)


def update_settings(actor, estate, expected_version, nightly, hour, keep):
    """Switch the nightly backup on or off, its hour and how many copies are kept; on the timeline."""
    from .db import RuleError

    if not 0 <= hour <= 23:
        raise RuleError("请选择 0–23 点之间的整点", "backup_hour")
    if not 1 <= keep <= 365:
        raise RuleError(KEEP_RANGE, "backup_keep")
    before = (estate.backup_nightly, estate.backup_hour, estate.backup_keep)
    estate.backup_nightly, estate.backup_hour, estate.backup_keep = nightly, hour, keep
    estate.save_versioned(expected_version, "backup_nightly", "backup_hour", "backup_keep")
    if before != (nightly, hour, keep):
        events.record(actor, estate, "修改备份设置",
                      note=f"每晚自动备份：{'开' if nightly else '关'}，{hour:02d}:00，保留 {keep} 份")
