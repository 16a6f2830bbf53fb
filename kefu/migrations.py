"""Numbered schema migrations, applied in order at start (and by `flask --app app migrate`), each
recorded in the database so it runs once.

Number 1 is the baseline: the tables as they stood before migrations began, which `create_tables`
makes. A database from before then has no record of migrations; it is taken to be at the baseline.
A fresh database gets every table from the models, which already hold the latest columns and
indexes; the migrations then run on it too and add what models can't express (triggers). So each
migration checks for what it adds and leaves in place what is already there: the same code brings
an old database and a fresh one to the same schema, which tests/test_migrations.py checks table by
table against a database built from the baseline's own SQL.

Adding one: append a function decorated with `@migration(next number, "what it does, in Chinese")`
below, and change the model to match. Never renumber or edit a migration once it has shipped.
"""
import peewee
from playhouse.migrate import SchemaMigrator

from . import clock
from .db import BaseModel
from .db import database

BASELINE = 1


class SchemaMigration(BaseModel):
    number = peewee.IntegerField(primary_key=True)
    name = peewee.CharField()
    applied_at = peewee.DateTimeField()


MODELS = [SchemaMigration]
MIGRATIONS = {}  # number: (name, function)


def migration(number, name):
    def register(function):
        if number in MIGRATIONS or number <= BASELINE:
            raise ValueError(f"migration {number} is taken")
        MIGRATIONS[number] = (name, function)
        return function

    return register


def _sqlite():
    return isinstance(database.obj, peewee.SqliteDatabase)


def _columns(table):
    return {column.name for column in database.get_columns(table)}


def _indexes(table):
    return {index.name for index in database.get_indexes(table)}


def add_column(table, name, field):
    """Add a column unless it's there (a fresh database has it from the model)."""
    if name not in _columns(table):
        with database.atomic():
            from playhouse.migrate import migrate

            migrate(SchemaMigrator.from_database(database).add_column(table, name, field))


def add_index(table, name, columns, unique=False):
    if name not in _indexes(table):
        kind = "UNIQUE INDEX" if unique else "INDEX"
        database.execute_sql(f'CREATE {kind} "{name}" ON "{table}" ({", ".join(f"{c}" for c in columns)})')


def applied():
    """{number: (name, applied_at)} of what this database has had."""
    return {m.number: (m.name, m.applied_at) for m in SchemaMigration.select().order_by(SchemaMigration.number)}


def pending():
    done = applied()
    return [(number, MIGRATIONS[number][0]) for number in sorted(MIGRATIONS) if number not in done]


def write_lock():
    """A transaction that holds the write lock from its start (SQLite's BEGIN IMMEDIATE)."""
    if _sqlite():
        return database.atomic("IMMEDIATE")
    return _PostgresWriteLock()


class _PostgresWriteLock:
    """A transaction holding an advisory lock of the app's own until it ends (PostgreSQL)."""

    KEY = 0x6B656675  # "kefu"

    def __enter__(self):
        self.transaction = database.atomic()
        self.transaction.__enter__()
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (self.KEY,))
        return self.transaction

    def __exit__(self, *exc):
        return self.transaction.__exit__(*exc)


def run():
    """Bring the schema up to date. Returns the (number, name) applied now.

    One process migrates at a time: the write lock is taken before reading what's applied, so two
    app servers starting together don't both run a migration.
    """
    ran = []
    with write_lock():
        done = applied()
        if BASELINE not in done:
            SchemaMigration.create(number=BASELINE, name="基线（编号迁移之前的表）", applied_at=clock.utcnow())
        for number in sorted(MIGRATIONS):
            if number in done:
                continue
            name, function = MIGRATIONS[number]
            function()
            SchemaMigration.create(number=number, name=name, applied_at=clock.utcnow())
            ran.append((number, name))
    return ran


# The migrations. Never edit one that has shipped; add the next.

@migration(2, "时间线只可追加：数据库拒绝修改或删除事件")
def event_append_only():
    # The model refuses too; the triggers keep any other path (a script, a console) from changing
    # the evidence.
    if _sqlite():
        for verb in ("UPDATE", "DELETE"):
            database.execute_sql(
                f'CREATE TRIGGER IF NOT EXISTS "event_no_{verb.lower()}" BEFORE {verb} ON "event" '
                f"BEGIN SELECT RAISE(ABORT, 'events are append-only'); END")
    else:
        database.execute_sql(
            "CREATE OR REPLACE FUNCTION event_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'events are append-only' USING ERRCODE = 'integrity_constraint_violation'; "
            "END $$ LANGUAGE plpgsql")
        database.execute_sql('DROP TRIGGER IF EXISTS "event_no_change" ON "event"')
        database.execute_sql('CREATE TRIGGER "event_no_change" BEFORE UPDATE OR DELETE ON "event" '
                             "FOR EACH ROW EXECUTE FUNCTION event_append_only()")


@migration(3, "审计日志：按动作和时间索引事件")
def event_action_index():
    add_index("event", "event_action_at", ["action", "at"])


@migration(4, "每晚自动备份：开关、时间与保留份数")
def nightly_backup_settings():
    add_column("estate", "backup_nightly", peewee.BooleanField(default=False))
    add_column("estate", "backup_hour", peewee.IntegerField(default=3))
    add_column("estate", "backup_keep", peewee.IntegerField(default=14))


@migration(5, "登录记录：每次登录一行，退出即失效")
def sign_in_table():
    from .users import SignIn

    SignIn.create_table(safe=True)


@migration(6, "PostgreSQL：诉求全文搜索的三元组索引")
def ticket_words_trigram_index():
    # SQLite searches an FTS5 trigram table (kefu/tickets.py); PostgreSQL a plain table of the same
    # words, whose LIKE '%…%' a pg_trgm index serves. Nothing to do on SQLite.
    if not _sqlite():
        database.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        database.execute_sql('CREATE INDEX IF NOT EXISTS "tickettext_content_trgm" ON "tickettext" '
                             'USING gin ("content" gin_trgm_ops)')
