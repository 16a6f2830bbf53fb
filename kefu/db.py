"""The peewee database, bound in the app factory, and the base model every table uses."""
import datetime

import peewee

database = peewee.SqliteDatabase(None)

PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,
    "synchronous": "normal",
    "cache_size": -16000,
}


class RuleError(ValueError):
    """A rule refused a change; `field` names the input the message belongs beside (or None)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class StaleRecord(Exception):
    """Raised when a record changed since the user loaded it (optimistic locking)."""

    message = "已被他人更新，请刷新后再试"


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False

    @classmethod
    def by_id(cls, record_id):
        """One row by primary key, or None, with SQL written once rather than built per call:
        the lookups every request makes (the signed-in user, the estate) stay cheap."""
        sql = cls.__dict__.get("_by_id_sql")
        if sql is None:
            sql = f'SELECT * FROM "{cls._meta.table_name}" WHERE "{cls._meta.primary_key.column_name}" = ?'
            cls._by_id_sql = sql
        return next(iter(cls.raw(sql, record_id)), None)


class VoidableMixin(BaseModel):
    """Records a user entered are voided with a reason, never deleted."""

    voided_at = peewee.DateTimeField(null=True)
    void_reason = peewee.TextField(default="")

    @classmethod
    def live(cls):
        return cls.select().where(cls.voided_at.is_null())

    @property
    def is_voided(self):
        return self.voided_at is not None


class VersionedMixin(BaseModel):
    """A counter bumped on every edit, so two editors can't silently overwrite each other."""

    version = peewee.IntegerField(default=1)

    def save_versioned(self, expected_version, *field_names):
        """Write the named fields if nobody saved since `expected_version` was read.

        Raises StaleRecord otherwise, so the second of two editors is told instead of
        silently overwriting the first.
        """
        cls = type(self)
        data = {cls._meta.fields[name]: getattr(self, cls._meta.fields[name].name) for name in field_names}
        data[cls.version] = expected_version + 1
        updated = (cls.update(data)
                   .where((cls._meta.primary_key == self.get_id()) & (cls.version == expected_version))
                   .execute())
        if updated != 1:
            raise StaleRecord()
        self.version = expected_version + 1


def init(path):
    """Bind the database to a file and make sure the schema exists."""
    database.init(path, pragmas=PRAGMAS)
    database.connect(reuse_if_open=True)
    create_schema()
    database.close()


# Every module with tables, lowest layer first.
SCHEMA_MODULES = ["users", "estate", "events", "uploads", "idempotency", "sequences", "notices", "scheduler", "workorders", "tickets"]


def create_schema():
    """The one place tables are created."""
    import importlib

    models = []
    for name in SCHEMA_MODULES:
        models += importlib.import_module(f"kefu.{name}").MODELS
    database.create_tables(models, safe=True)
    for name in SCHEMA_MODULES:
        seed = getattr(importlib.import_module(f"kefu.{name}"), "seed", None)
        if seed is not None:
            seed()


def utc_naive(dt):
    """Stored datetimes are naive UTC."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return dt
