"""The peewee database, bound in the app factory, and the base model every table uses."""
import datetime
import time

import peewee

# Bound at start to SQLite (a file path) or PostgreSQL (a postgresql:// URL): see `init`.
database = peewee.DatabaseProxy()

PRAGMAS = {
    # First, so the pragmas after it wait for a lock rather than fail at once.
    "busy_timeout": 10000,
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "cache_size": -16000,
    # Reads through a memory map: each request opens its own connection, and with its page cache
    # empty a read costs a system call; mapped pages it finds in the OS cache directly.
    "mmap_size": 1 << 30,
}


def flag(condition):
    """1 where `condition` holds, else 0 (NULL too): something to add up or take the largest of on
    either database (SQLite's comparisons are 0/1 already; PostgreSQL's are booleans, which aren't)."""
    return peewee.Case(None, [(condition, 1)], 0)


def contains(field, text):
    """`field` contains `text` exactly (no wildcards, any case as typed)."""
    return (peewee.fn.instr(field, text) if is_sqlite() else peewee.fn.strpos(field, text)) > 0


class RuleError(ValueError):
    """A rule refused a change; `field` names the input the message belongs beside (or None)."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field

    @classmethod
    def checked(cls, value, limit, label, field, required=False):
        """`checked_text`, refused with this kind of error."""
        return checked_text(value, limit, label, field, required, error=cls)


def missing(label):
    """What a form and its rule say of a required field left empty."""
    return f"请填写{label}"


def too_long(label, limit):
    """What a form and its rule say of text past its length."""
    return f"{label}不能超过 {limit} 个字"


def checked_text(value, limit, label, field, required=False, error=RuleError):
    """Typed text trimmed, or `error` beside `field` when it is missing (if required) or too long."""
    value = (value or "").strip()
    if required and not value:
        raise error(missing(label), field)
    if len(value) > limit:
        raise error(too_long(label, limit), field)
    return value


class StaleRecord(Exception):
    """Raised when a record changed since the user loaded it (optimistic locking)."""

    message = "已被他人更新，请刷新后再试"


class Union:
    """Several queries (each with its own ORDER BY and LIMIT) as one statement whose rows say which
    query they came from (column "part", first). The queries must select the same number of columns.
    Has `sql()` like a peewee query, so a Prepared can be built from it."""

    def __init__(self, queries):
        self.queries = queries

    def sql(self):
        parts, params = [], []
        for position, query in enumerate(self.queries):
            sql, values = query.sql()
            parts.append(f'SELECT {position} AS "part", * FROM ({sql}) AS "part{position}"')
            params.extend(values)
        return " UNION ALL ".join(parts), params



def parts(cursor, count):
    """For each of a Union's `count` queries, in order, the list of its rows (tuples without the part)
    from a cursor on the Union's statement (or on a Prepared one built from it)."""
    found = [[] for _ in range(count)]
    for position, *row in cursor.fetchall():
        found[position].append(tuple(row))
    return found


def each_of(queries):
    """The rows of several queries (each with its own ORDER BY and LIMIT) from one statement: for
    each query, in order, the list of its rows as tuples. A caller that reads a handful of short
    lists saves a trip per list."""
    if not queries:
        return []
    return parts(database.execute_sql(*Union(queries).sql()), len(queries))


def guarded(query, refusal=None):
    """Run an UPDATE whose WHERE holds what the user saw (the record's version, its state, an empty
    slot): of two people acting at once exactly one changes the row and the other is refused —
    `refusal`, or StaleRecord ("已被他人更新，请刷新后再试"). The one place every change is checked so."""
    updated = query.execute()
    if updated != 1:
        raise refusal if refusal is not None else StaleRecord()


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False

    @classmethod
    def by_id(cls, record_id):
        """One row by primary key, or None, with SQL written once rather than built per call:
        the lookups every request makes (the signed-in user, the estate) stay cheap."""
        param = database.param
        sql = cls.__dict__.get("_by_id_sql", {}).get(param)
        if sql is None:
            sql = f'SELECT * FROM "{cls._meta.table_name}" WHERE "{cls._meta.primary_key.column_name}" = {param}'
            cls._by_id_sql = {**cls.__dict__.get("_by_id_sql", {}), param: sql}
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
        guarded(cls.update(data).where((cls._meta.primary_key == self.get_id()) & (cls.version == expected_version)))
        self.version = expected_version + 1


class Prepared:
    """A query whose SQL peewee builds once, then run with fresh parameters on every call.

    Building SQL from peewee expressions costs more than running it for the small, indexed queries
    every page makes; the hot ones are written once through peewee (so names and quoting stay
    peewee's) and then executed as raw SQL. `build(*example)` returns the query for example values,
    each distinct from every constant in the query (negative ids, say); wherever an example value
    comes out as a parameter, the caller's value goes in. Rows are `model` instances; other selected
    columns become attributes.
    """

    def __init__(self, model, build, *example):
        self.model, self.build, self.example = model, build, example
        self.prepared = {}  # per kind of database: (sql, slots)

    def _prepare(self):
        sql, produced = self.build(*self.example).sql()
        slots = [self.example.index(value) if value in self.example else None for value in produced]
        missing = set(range(len(self.example))) - set(slots)
        if missing:
            raise ValueError(f"example values {[self.example[i] for i in missing]!r} not in the query: {sql}")
        return sql, [(slot, None if slot is not None else value) for slot, value in zip(slots, produced)]

    def __call__(self, *values):
        return rows(self.model, self.cursor(*values))

    def cursor(self, *values):
        """The rows as the driver gives them (tuples of stored values), for reads too long for
        model instances to pay."""
        if len(values) != len(self.example):
            raise TypeError(f"prepared query takes {len(self.example)} values, got {len(values)}")
        kind = type(database.obj)
        prepared = self.prepared.get(kind)
        if prepared is None:
            prepared = self.prepared[kind] = self._prepare()
        sql, slots = prepared
        params = [constant if slot is None else values[slot] for slot, constant in slots]
        if kind is not _POSTGRES:
            params = [_stored(value) for value in params]
        return database.execute_sql(sql, params)


class PreparedIn:
    """A Prepared query whose first argument is a list of ids (`IN (…)` takes a parameter an id):
    `build(ids, *values)`, written once for each length of the list met (one zone, twenty visits)."""

    def __init__(self, model, build, *example):
        self.model, self.build, self.example = model, build, example
        self.prepared = {}

    def _for(self, count):
        prepared = self.prepared.get(count)
        if prepared is None:
            ids = tuple(-1_000_000 - n for n in range(count))  # unlike any constant of a query
            prepared = self.prepared[count] = Prepared(
                self.model, lambda *values: self.build(list(values[:count]), *values[count:]), *ids, *self.example)
        return prepared

    def __call__(self, ids, *values):
        ids = list(ids)
        return self._for(len(ids))(*ids, *values)

    def cursor(self, ids, *values):
        ids = list(ids)
        return self._for(len(ids)).cursor(*ids, *values)


class Shapes:
    """Statements peewee builds once for each shape, then runs with each use's own values.

    For a page whose statements differ from one use to the next only in a few values (the words of a
    search) and otherwise follow from what the caller names in `key` (the role, the user and their
    zones, the filters): `build(*values)` gives the query, and each value must reach the SQL as one
    parameter, unchanged (a Prepared written with stand-ins for them; one transformed on the way
    fails at once, as Prepared does). Keeps at most `most` statements."""

    def __init__(self, most=500):
        self.most, self.kept = most, {}

    def cursor(self, key, build, values):
        values = tuple(values)
        kind = type(database.obj)
        prepared = self.kept.get((kind, key, len(values)))
        if prepared is None:
            if len(self.kept) >= self.most:
                self.kept.clear()
            prepared = self.kept[(kind, key, len(values))] = Prepared(
                None, build, *(_stand_in(value, n) for n, value in enumerate(values)))
        return prepared.cursor(*values)


def _stand_in(value, n):
    """An example value of `value`'s type that no query holds as a constant."""
    if isinstance(value, str):
        return f"\x01kefu-example-{n}\x01"
    if isinstance(value, int):
        return -1_000_000_000 - n
    raise TypeError(f"no stand-in for {type(value).__name__}")


class Kept:
    """Queries peewee builds once for each key, then runs as written: for a query whose SQL and
    values follow wholly from a few things the caller names in `key` (a role, a user's id and zones,
    the day), so the same key always means the same statement. Keeps at most `most` statements."""

    def __init__(self, most=2000):
        self.most, self.kept = most, {}

    def rows(self, key, model, build):
        """`model` instances (as `rows`) of the query `build()` gives for `key` (none when it gives
        None: nothing to ask)."""
        kind = type(database.obj)
        held = self.kept.get((kind, key), self)
        if held is self:
            query = build()
            held = None
            if query is not None:
                sql, params = query.sql()
                held = (sql, [_stored(value) for value in params] if kind is not _POSTGRES else params)
            if len(self.kept) >= self.most:
                self.kept.clear()
            self.kept[(kind, key)] = held
        return rows(model, database.execute_sql(*held)) if held is not None else []


def _stored(value):
    """A parameter as peewee would send it to SQLite: datetimes and dates as text in the stored format."""
    if isinstance(value, datetime.datetime):
        return str(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _parser(parse):
    def convert(value):
        try:
            return parse(value) if isinstance(value, str) else value
        except ValueError:
            return value
    return convert


# How stored values become Python ones for the field types whose conversion isn't a no-op.
_CONVERTERS = {
    peewee.DateTimeField: _parser(datetime.datetime.fromisoformat),
    peewee.DateField: _parser(datetime.date.fromisoformat),
    peewee.TimeField: _parser(datetime.time.fromisoformat),
    peewee.BooleanField: bool,
}
_AS_STORED = (peewee.IntegerField, peewee.AutoField, peewee.ForeignKeyField, peewee.CharField, peewee.TextField,
              peewee.FloatField)


def _converter(field):
    if field is None:
        return None
    for kind, convert in _CONVERTERS.items():
        if type(field) is kind:
            return convert
    return None if type(field) in _AS_STORED else field.python_value


_PLANS = {}  # (model, column names) → how each column becomes a field or an attribute


def rows(model, cursor):
    """`model` instances from a cursor's rows, built directly (peewee's own row handling costs about
    as much per list row as rendering the row): columns of the model become its fields, any other
    column an attribute of the same name (tier_name, say).

    This sets the three attributes peewee keeps on an instance (`__data__`, `_dirty`, `__rel__`),
    which are not its public API. The public way, `model(**row)`, runs every field's descriptor and
    default: measured 45 µs for a request's 30 columns against 2.8 µs here, 2 ms more for a list of
    fifty, which the list pages' ≤ 5× bare-Flask target can't spare. peewee is pinned, and
    tests/test_web.py checks that an instance built here is one peewee's own query would give
    (fields, not dirty, saves and compares alike), so a peewee that changes them fails a test rather
    than a page."""
    names = tuple(description[0] for description in cursor.description)
    plan = _PLANS.get((model, names))
    if plan is None:
        columns = model._meta.columns
        plan = []
        for name in names:
            field = columns.get(name)
            plan.append((field.name, _converter(field), True) if field is not None else (name, None, False))
        if len(_PLANS) > 5000:
            _PLANS.clear()
        _PLANS[(model, names)] = plan
    made = []
    for row in cursor:
        data, extra = {}, {}
        for (name, convert, is_field), value in zip(plan, row):
            if convert is not None and value is not None:
                value = convert(value)
            if is_field:
                data[name] = value
            else:
                extra[name] = value
        instance = object.__new__(model)
        instance.__data__, instance._dirty, instance.__rel__ = data, set(), {}
        instance.__dict__.update(extra)
        made.append(instance)
    return made


def is_url(target):
    return target.startswith(("postgresql://", "postgres://"))


def is_sqlite():
    return isinstance(database.obj, peewee.SqliteDatabase)


# The server's connections, one pool per URL for the life of the process.
_POOLS = {}
_POSTGRES = None


def open_database(target, durable=False):
    """A peewee database for a SQLite file's path or a PostgreSQL URL
    (postgresql://user:password@host:port/name), whose connections are pooled (one pool per URL for
    the life of the process)."""
    global _POSTGRES
    if is_url(target):
        from playhouse.pool import PooledPostgresqlDatabase

        if target not in _POOLS:
            settings = parse_url(target)
            # psycopg prepares a statement the fifth time it runs, and PostgreSQL may then plan it once
            # for any values ("generic plan"), guessing what its parameters select. For the words of a
            # search, the states of a count or the ids of a zone that guess is often wrong by far: a
            # search's per-state count at ten years took 3.9–4.2 ms prepared against under 1 ms
            # planned for its values. Plans are made for each run's values; the statement is still
            # parsed once.
            options = " ".join(filter(None, [settings.pop("options", ""), "-c plan_cache_mode=force_custom_plan"]))
            _POOLS[target] = PooledPostgresqlDatabase(settings.pop("database"), max_connections=32,
                                                      stale_timeout=300, timeout=30, options=options, **settings)
        _POSTGRES = PooledPostgresqlDatabase
        return _POOLS[target]
    return peewee.SqliteDatabase(target, pragmas={**PRAGMAS, "synchronous": "full"} if durable else PRAGMAS)


def bind(target, durable=False):
    """Point the models at a database (`open_database`)."""
    chosen = open_database(target, durable)
    if database.obj is not None and database.obj is not chosen and not database.obj.is_closed():
        database.obj.close()
    database.initialize(chosen)
    return chosen


def parse_url(url):
    """peewee's keyword arguments for a PostgreSQL URL."""
    from playhouse.db_url import parse

    return parse(url.replace("postgres://", "postgresql://", 1))


def init(path, durable=False):
    """Bind the database (a SQLite file's path or a PostgreSQL URL) and make sure the schema
    exists; returns the migrations applied.

    `durable`: every SQLite commit reaches the disk before it is acknowledged (synchronous=FULL), so
    it survives a power cut as well as a crash of the server. With NORMAL (the tests' setting) a
    commit survives the server being killed but may be lost if the machine loses power. PostgreSQL's
    commits are durable by its own settings."""
    bind(path, durable)
    if is_sqlite():
        _connect_when_free()
    else:
        database.connect(reuse_if_open=True)
    ran = create_schema()
    database.close()
    return ran


def _connect_when_free(patience=30.0):
    """Connect, waiting while another process holds the lock a pragma needs. Two servers starting
    together on a database not yet in WAL mode both try to switch it; SQLite answers the second
    "locked" at once, without waiting out the busy timeout (waiting could deadlock), so wait here."""
    deadline = time.monotonic() + patience
    while True:
        try:
            database.connect(reuse_if_open=True)
            return
        except peewee.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            if not database.is_closed():
                database.close()
            time.sleep(0.05)


# Every module with tables, lowest layer first.
SCHEMA_MODULES = ["migrations", "users", "estate", "events", "uploads", "callbacks", "idempotency", "sequences", "notices", "channels", "outbox", "scheduler", "limits", "workorders", "words", "tickets", "patrols", "renovations", "shops", "customers", "services", "meetings", "evaluations", "worklog", "trends", "summaries", "residents", "escalations"]


def all_models():
    """Every model with a table, module by module in SCHEMA_MODULES order."""
    import importlib

    return [model for name in SCHEMA_MODULES for model in importlib.import_module(f"kefu.{name}").MODELS]


def for_this_database(models):
    """The models that have a table on the database bound: a few exist on one kind only (SQLite's
    full-text index, say, and its PostgreSQL counterpart of the same name)."""
    skip = "postgres_only" if is_sqlite() else "sqlite_only"
    return [model for model in models if not getattr(model._meta, skip, False)]


def create_schema():
    """The one place tables are created and migrations run; returns the migrations applied now.

    A fresh database gets every table from the models; a database from before numbered migrations
    gets any table it lacks. Then the numbered migrations bring either to the current schema
    (kefu/migrations.py), and the seeds add the rows a new estate starts with."""
    from . import migrations

    # Only the tables the database lacks, with their indexes: an index the models declare on an existing
    # table may name a column a migration has yet to add (SQLite would index the column's name as a
    # string; PostgreSQL would refuse). Its migration adds it.
    existing = set(database.get_tables())
    database.create_tables([model for model in for_this_database(all_models())
                            if model._meta.table_name not in existing], safe=True)
    ran = migrations.run()
    seed()
    return ran


def seed():
    """The rows a new estate starts with (the default tiers, the manual's checklists, …), each module's
    `seed` adding its own if missing. Seeds check then insert; under the write lock two servers
    starting together don't both insert."""
    import importlib

    from . import migrations

    with migrations.write_lock():
        for name in SCHEMA_MODULES:
            seed_module = getattr(importlib.import_module(f"kefu.{name}"), "seed", None)
            if seed_module is not None:
                seed_module()


def utc_naive(dt):
    """Stored datetimes are naive UTC."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return dt
