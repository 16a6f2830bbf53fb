"""Upgrades: numbered migrations bring a database of the baseline schema (before migrations began,
tests/data/schema-0001-baseline.sql) to exactly the schema a fresh database gets, keeping every row."""
import ast
import hashlib
import os
import sqlite3
import subprocess
import sys

import peewee
import pytest

from conftest import text
from kefu import clock
from kefu import create_app
from kefu import db
from kefu import demo
from kefu import migrations
from kefu import tickets
from kefu.estate import Estate
from kefu.events import Event
from kefu.users import User

BASELINE_SQL = os.path.join(os.path.dirname(__file__), "data", "schema-0001-baseline.sql")


def open_app(tmp_path, name):
    return create_app({"TESTING": True, "INSTANCE": str(tmp_path), "WTF_CSRF_ENABLED": False,
                       "DATABASE": str(tmp_path / name), "PHOTOS": str(tmp_path / "photos")})


def baseline_database(path):
    with open(BASELINE_SQL, encoding="utf-8") as handle:
        script = handle.read()
    connection = sqlite3.connect(path)
    connection.executescript(script)
    connection.close()


def plain_tables(connection):
    """Tables holding rows (FTS5's virtual table and its own tables left out)."""
    rows = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                              "AND name NOT LIKE 'sqlite_%'").fetchall()
    virtual = [name for name, sql in rows if sql.upper().startswith("CREATE VIRTUAL")]
    return sorted(name for name, _sql in rows if name not in virtual
                  and not any(name.startswith(v + "_") for v in virtual))


def columns(connection, table, schema="main"):
    return [row[1] for row in connection.execute(f'PRAGMA {schema}.table_info("{table}")')]


def digest(connection, table, names):
    """A checksum of a table's rows over the named columns, in id order."""
    quoted = ", ".join(f'"{n}"' for n in names)
    h = hashlib.sha256()
    for row in connection.execute(f'SELECT {quoted} FROM "{table}" ORDER BY rowid'):
        h.update(repr(row).encode())
    return h.hexdigest()


def schema(path):
    """Every table's columns (name, type, not null, default, key) and every index and trigger."""
    connection = sqlite3.connect(path)
    try:
        tables = {name: sorted(tuple(row[1:]) for row in connection.execute(f'PRAGMA table_info("{name}")'))
                  for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        others = sorted(connection.execute("SELECT type, name, tbl_name FROM sqlite_master "
                                           "WHERE type IN ('index', 'trigger')").fetchall())
        return tables, others
    finally:
        connection.close()


def test_a_fresh_database_records_every_migration_and_a_second_start_runs_none(tmp_path):
    app = open_app(tmp_path, "fresh.sqlite3")
    assert [number for number, _name in app.config["MIGRATED"]] == sorted(migrations.MIGRATIONS)
    with db.database.connection_context():
        assert sorted(migrations.applied()) == [migrations.BASELINE, *sorted(migrations.MIGRATIONS)]
        assert migrations.pending() == []
    assert open_app(tmp_path, "fresh.sqlite3").config["MIGRATED"] == []


def test_a_filled_baseline_database_is_migrated_keeping_every_row(tmp_path):
    # The demo estate, made by this version, copied column by column into a database built from the
    # baseline's own SQL: a filled database as the previous version left it.
    open_app(tmp_path, "now.sqlite3")
    with db.database.connection_context():
        demo.build()
        search_text = {t.id: tickets._search_text(t) for t in tickets.Ticket.select()}
        sample = tickets.Ticket.select().order_by(tickets.Ticket.id).first()
    old_path = str(tmp_path / "old.sqlite3")
    baseline_database(old_path)
    old = sqlite3.connect(old_path)
    old.execute(f"ATTACH DATABASE '{tmp_path / 'now.sqlite3'}' AS now")
    before = {}
    # Tables a migration merged into another: their rows go in as the previous version kept them.
    merged = {"follow_up": ("ticket", "ticket_id"), "call_back": ("serviceorder", "order_id")}
    for table, (record_type, key) in merged.items():
        old.execute(f'INSERT INTO main."{table}" ("{key}", "at", "by_id", "method", "result", "words") '
                    f'SELECT "record_id", "at", "by_id", "method", "result", "words" FROM now."customer_callback" '
                    f'WHERE "record_type" = ? ORDER BY "at", "id"', (record_type,))
    callbacks_before = old.execute('SELECT "record_type", "record_id", "at", "by_id", "method", "result", "words" '
                                   'FROM now."customer_callback" ORDER BY "at", "id"').fetchall()
    assert {row[0] for row in callbacks_before} == {"ticket", "serviceorder"}
    for table in plain_tables(old):
        if table in merged:
            continue
        shared = [c for c in columns(old, table) if c in set(columns(old, table, "now"))]
        quoted = ", ".join(f'"{c}"' for c in shared)
        old.execute(f'INSERT INTO main."{table}" ({quoted}) SELECT {quoted} FROM now."{table}"')
        before[table] = (shared, old.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])
    old.executemany("INSERT INTO tickettext (rowid, content) VALUES (?, ?)", search_text.items())
    old.commit()
    checksums = {table: digest(old, table, shared) for table, (shared, _count) in before.items()}
    old.execute("DETACH DATABASE now")
    old.close()
    assert sum(count for _shared, count in before.values()) > 1000  # every area of the demo is in it
    check = sqlite3.connect(old_path)
    assert "backup_nightly" not in columns(check, "estate")
    check.close()

    app = open_app(tmp_path, "old.sqlite3")

    assert [number for number, _name in app.config["MIGRATED"]] == sorted(migrations.MIGRATIONS)
    migrated = sqlite3.connect(old_path)
    for table, (shared, count) in before.items():
        assert migrated.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == count, table
        assert digest(migrated, table, shared) == checksums[table], table
    for table in merged:
        assert migrated.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is None
    assert migrated.execute('SELECT "record_type", "record_id", "at", "by_id", "method", "result", "words" '
                            'FROM "customer_callback" ORDER BY "at", "id"').fetchall() == callbacks_before
    assert migrated.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    migrated.close()
    # The same schema as a fresh database of this version, table by table, index by index.
    open_app(tmp_path, "fresh.sqlite3")
    assert schema(old_path) == schema(str(tmp_path / "fresh.sqlite3"))
    # The new columns hold their defaults, and the app works on the migrated data.
    app = open_app(tmp_path, "old.sqlite3")
    with db.database.connection_context():
        estate = Estate.current()
        assert (estate.name, estate.backup_nightly, estate.backup_hour, estate.backup_keep) == ("阳光花园", False, 3, 14)
        assert User.get(User.username == "zhuli1").display_name
    client = app.test_client()
    assert client.post("/login", data={"username": "zhuguan", "password": "demo1234"}).status_code == 303
    assert "上报" in text(client.get("/"))
    found = text(client.get(f"/tickets?q={sample.description[:4]}&state="))
    assert sample.number in found  # the search index came across


def test_the_timeline_refuses_changes_even_from_outside_the_app(app):
    event = Event.create(at=clock.utcnow(), record_type="user", record_id=1, action="登录")
    with pytest.raises(peewee.IntegrityError, match="append-only"):
        Event.update(note="改过").where(Event.id == event.id).execute()
    with pytest.raises(peewee.IntegrityError, match="append-only"):
        Event.delete().where(Event.id == event.id).execute()
    assert Event.get_by_id(event.id).note == ""


def test_the_migrate_command_reports_the_schema_version(app):
    result = app.test_cli_runner().invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
    last = max(migrations.MIGRATIONS)
    assert f"当前结构版本：{last}（{migrations.MIGRATIONS[last][0]}）" in result.output


def test_two_servers_starting_together_apply_each_migration_once(tmp_path):
    path = str(tmp_path / "old.sqlite3")
    baseline_database(path)
    code = "import sys; from kefu import db; print([n for n, _ in db.init(sys.argv[1])])"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    starts = [subprocess.Popen([sys.executable, "-c", code, path], cwd=root, stdout=subprocess.PIPE, text=True)
              for _ in range(2)]
    ran = [ast.literal_eval(p.communicate(timeout=60)[0].strip()) for p in starts]
    assert all(p.returncode == 0 for p in starts)
    assert sorted(ran[0] + ran[1]) == sorted(migrations.MIGRATIONS)  # each applied by one of them
    connection = sqlite3.connect(path)
    numbers = [n for (n,) in connection.execute("SELECT number FROM schema_migration ORDER BY number")]
    connection.close()
    assert numbers == [migrations.BASELINE, *sorted(migrations.MIGRATIONS)]
