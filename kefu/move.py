"""Moving an estate's data from one database to another: SQLite to PostgreSQL when an estate
outgrows one machine (or back). `flask --app app move-data postgresql://…`.

The target gets the app's schema (tables, migrations) first, and must hold no data of its own
beyond what a new database is seeded with, which is replaced. Every table is then copied row by row
in the order foreign keys need, ids kept, through peewee's own field conversions (SQLite's text
datetimes and 0/1 flags become PostgreSQL's timestamps and booleans). The ticket search index is
not copied but rebuilt from the tickets (SQLite's FTS5 index keeps no readable text). PostgreSQL's id
sequences are then set past the highest id copied, and the row counts are compared table by table.
"""
import peewee

from . import db

BATCH = 500


class MoveError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message




def _search_index(model):
    """The ticket search index: rebuilt from the tickets, not copied (PostgreSQL's ticket_word is
    written by the database from ticket_search)."""
    return model._meta.table_name in ("ticket_search", "ticket_word")


def _copied(models):
    from .migrations import SchemaMigration

    return [m for m in models if m is not SchemaMigration and not _search_index(m)]


def _count(model, database):
    return model.select().count(database)


def _empty(model, target):
    if isinstance(target, peewee.SqliteDatabase):
        target.execute_sql(f'DELETE FROM "{model._meta.table_name}"')
    else:
        target.execute_sql(f'TRUNCATE "{model._meta.table_name}" RESTART IDENTITY CASCADE')


def move(source_target, dest_target, progress=None):
    """Copy everything from `source_target` into `dest_target` (each a SQLite path or a PostgreSQL
    URL). Returns {table: rows copied}. Raises MoveError, having changed nothing, when the target
    already holds an estate's data."""
    from .tickets import Ticket
    from .tickets import _search_text
    from .users import User

    if source_target == dest_target:
        raise MoveError("源数据库和目标数据库是同一个")
    db.init(dest_target)  # the target's schema, migrated and seeded
    source = db.open_database(source_target)
    target = db.open_database(dest_target)
    models = _copied(peewee.sort_models(db.all_models()))
    with source.connection_context(), target.connection_context():
        if _count(User, target) or _count(Ticket, target):
            raise MoveError("目标数据库里已有数据（用户或诉求），为免覆盖，未做任何改动")
        if not source.table_exists("user"):
            raise MoveError("源数据库里没有客服系统的数据")
        copied = {}
        with target.atomic():
            for model in reversed(models):  # what refers to others first, so nothing is left pointing
                _empty(model, target)
            for model in models:
                fields = model._meta.sorted_fields
                rows = (model.select(*fields).order_by(model._meta.primary_key).tuples()
                        .execute(source).iterator())
                count = 0
                batch = []
                for row in rows:
                    batch.append(row)
                    if len(batch) == BATCH:
                        model.insert_many(batch, fields=fields).execute(target)
                        count += len(batch)
                        batch = []
                if batch:
                    model.insert_many(batch, fields=fields).execute(target)
                    count += len(batch)
                copied[model._meta.table_name] = count
                if progress:
                    progress(model._meta.table_name, count)
            _rebuild_search_index(target, Ticket, _search_text)
            if not isinstance(target, peewee.SqliteDatabase):
                _advance_sequences(target, models)
        for model in models:
            there = _count(model, target)
            if there != copied[model._meta.table_name]:
                raise MoveError(f"{model._meta.table_name} 复制后行数不符：{copied[model._meta.table_name]} → {there}")
    return copied


def _rebuild_search_index(target, ticket_model, search_text):
    from . import words

    batch = []
    for ticket in ticket_model.select().order_by(ticket_model.id).execute(target).iterator():
        batch.append(words.index_row(ticket.id, search_text(ticket)))
        if len(batch) == BATCH:
            words.rows_in(batch, target)
            batch = []
    words.rows_in(batch, target)


def _advance_sequences(target, models):
    """Ids were copied as they were; PostgreSQL's sequences must continue after the highest."""
    for model in models:
        key = model._meta.primary_key
        if isinstance(key, peewee.AutoField):
            table, column = model._meta.table_name, key.column_name
            target.execute_sql(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
                               f'COALESCE(MAX("{column}"), 1), MAX("{column}") IS NOT NULL) FROM "{table}"')
