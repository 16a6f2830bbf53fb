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
import re

import peewee
from playhouse.migrate import SchemaMigrator

from . import clock
from .db import BaseModel
from .db import database
from .db import is_sqlite

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


def add_column_with_default(table, name, sql_type, default):
    """Add a NOT NULL column with a default the database keeps (the model declares the same DEFAULT),
    in one statement: SQLite's way through peewee would rebuild the table, which its foreign keys
    refuse when other tables point at it."""
    if name not in _columns(table):
        database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN "{name}" {sql_type} NOT NULL DEFAULT {default}')


def add_index(table, name, columns, unique=False):
    """Add an index unless it's there, or its table is gone (a later migration merged it away)."""
    if table not in database.get_tables():
        return
    if name not in _indexes(table):
        kind = "UNIQUE INDEX" if unique else "INDEX"
        database.execute_sql(f'CREATE {kind} "{name}" ON "{table}" ({", ".join(f"{c}" for c in columns)})')


def widen_varchar(table, column, length):
    """Let a VARCHAR column hold `length` characters. PostgreSQL changes the type in place (no rewrite
    for a longer VARCHAR). SQLite never enforces the length, so only the declared type changes, as
    SQLite's documentation says to make a change that leaves the stored rows as they are: the table's
    CREATE statement edited in sqlite_master and the schema version raised, in this transaction. (A
    rebuild of the table would need foreign keys off, which can't change inside a transaction.)"""
    if not is_sqlite():
        database.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE VARCHAR({length})')
        return
    sql = database.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()[0]
    widened = re.sub(rf'("{column}" VARCHAR)\(\d+\)', rf"\g<1>({length})", sql, count=1)
    if widened == sql:
        return
    version = database.execute_sql("PRAGMA schema_version").fetchone()[0]
    database.execute_sql("PRAGMA writable_schema = ON")
    try:
        database.execute_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (widened, table))
        database.execute_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        database.execute_sql("PRAGMA writable_schema = OFF")


def applied():
    """{number: (name, applied_at)} of what this database has had."""
    return {m.number: (m.name, m.applied_at) for m in SchemaMigration.select().order_by(SchemaMigration.number)}


def pending():
    done = applied()
    return [(number, MIGRATIONS[number][0]) for number in sorted(MIGRATIONS) if number not in done]


def write_lock():
    """A transaction that holds the write lock from its start (SQLite's BEGIN IMMEDIATE)."""
    if is_sqlite():
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
    if is_sqlite():
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
    # (Migration 11 replaced that table; a database made since has none.)
    if not is_sqlite() and database.table_exists("tickettext"):
        database.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        database.execute_sql('CREATE INDEX IF NOT EXISTS "tickettext_content_trgm" ON "tickettext" '
                             'USING gin ("content" gin_trgm_ops)')


@migration(7, "拜访计划与列表：每户最近一次拜访（触发器维护）及回访、违规、评估的索引")
def last_visit_and_list_indexes():
    # Who hasn't been visited for weeks: each household's latest visit, kept by the database whatever
    # writes the visits (the app, an import, a move between databases), so the planner looks it up
    # instead of going through every visit ever made (kefu/customers.py, HouseholdLastVisit). Only
    # these triggers write it.
    from .customers import HouseholdLastVisit

    HouseholdLastVisit.create_table(safe=True)
    # A household's row worked out again from its visits (after one is removed, moved or voided).
    recount = ('DELETE FROM "household_last_visit" WHERE "household_id" IN ({ids}); '
               'INSERT INTO "household_last_visit" ("household_id", "at") '
               'SELECT vh."household_id", MAX(v."at") FROM "visit_household" vh '
               'JOIN "visit" v ON v."id" = vh."visit_id" '
               'WHERE vh."household_id" IN ({ids}) AND v."voided_at" IS NULL GROUP BY vh."household_id";')
    # A household visited: its row is the visit's time if that is later (or there was none).
    added = ('INSERT INTO "household_last_visit" ("household_id", "at") '
             'SELECT NEW."household_id", v."at" FROM "visit" v '
             'WHERE v."id" = NEW."visit_id" AND v."voided_at" IS NULL '
             'ON CONFLICT ("household_id") DO UPDATE SET "at" = excluded."at" '
             'WHERE excluded."at" > "household_last_visit"."at";')
    of_visit = 'SELECT "household_id" FROM "visit_household" WHERE "visit_id" = NEW."id"'
    if is_sqlite():
        for name, when, body in (
                ("visit_household_last_visit_insert", 'AFTER INSERT ON "visit_household"', added),
                ("visit_household_last_visit_delete", 'AFTER DELETE ON "visit_household"',
                 recount.format(ids='OLD."household_id"')),
                ("visit_household_last_visit_update", 'AFTER UPDATE OF "visit_id", "household_id" ON "visit_household"',
                 recount.format(ids='OLD."household_id", NEW."household_id"')),
                ("visit_last_visit_update", 'AFTER UPDATE OF "at", "voided_at" ON "visit"',
                 recount.format(ids=of_visit))):
            database.execute_sql(f'CREATE TRIGGER IF NOT EXISTS "{name}" {when} BEGIN {body} END')
    else:
        database.execute_sql(
            "CREATE OR REPLACE FUNCTION visit_household_last_visit() RETURNS trigger AS $$ BEGIN "
            f"IF TG_OP = 'INSERT' THEN {added} "
            f"ELSIF TG_OP = 'DELETE' THEN {recount.format(ids='OLD.household_id')} "
            f"ELSE {recount.format(ids='OLD.household_id, NEW.household_id')} END IF; "
            "RETURN NULL; END $$ LANGUAGE plpgsql")
        database.execute_sql(
            "CREATE OR REPLACE FUNCTION visit_last_visit() RETURNS trigger AS $$ BEGIN "
            f"{recount.format(ids=of_visit)} RETURN NULL; END $$ LANGUAGE plpgsql")
        database.execute_sql(
            "CREATE OR REPLACE FUNCTION visit_household_last_visit_truncate() RETURNS trigger AS $$ BEGIN "
            'TRUNCATE "household_last_visit"; RETURN NULL; END $$ LANGUAGE plpgsql')
        for name, when, table, each in (
                ("visit_household_last_visit", 'AFTER INSERT OR DELETE OR UPDATE OF "visit_id", "household_id"',
                 "visit_household", "ROW"),
                ("visit_household_last_visit_truncate", "AFTER TRUNCATE", "visit_household", "STATEMENT"),
                ("visit_last_visit", 'AFTER UPDATE OF "at", "voided_at"', "visit", "ROW")):
            database.execute_sql(f'DROP TRIGGER IF EXISTS "{name}" ON "{table}"')
            database.execute_sql(f'CREATE TRIGGER "{name}" {when} ON "{table}" FOR EACH {each} '
                                 f"EXECUTE FUNCTION {name}()")
    # What is already there (a fresh database has nothing yet).
    database.execute_sql('DELETE FROM "household_last_visit"')
    database.execute_sql(
        'INSERT INTO "household_last_visit" ("household_id", "at") '
        'SELECT vh."household_id", MAX(v."at") FROM "visit_household" vh JOIN "visit" v ON v."id" = vh."visit_id" '
        'WHERE v."voided_at" IS NULL GROUP BY vh."household_id"')
    # The 不满意 of a service's call-back in the last weeks (the planner), the violations awaiting the
    # re-check, and the latest evaluations signed off: each found by its index, not by going through all.
    add_index("call_back", "call_back_result_at", ["result", "at"])
    add_index("follow_up", "follow_up_result_at", ["result", "at"])
    add_index("violation", "violation_state", ["state"])
    add_index("evaluation", "evaluation_state_signed_at", ["state", "signed_at"])


@migration(8, "巡查问题只移交一次（派工单、整改通知书、装修违规或需关注），违规可作废，整改通知书有状态")
def findings_handed_on_once():
    # A finding's typed link to the one thing it went on to, in place of the work order's bare id.
    add_column_with_default("finding", "handed_to", "VARCHAR(20)", "''")
    add_column("finding", "handed_id", peewee.IntegerField(null=True))
    add_column("violation", "voided_at", peewee.DateTimeField(null=True))
    add_column_with_default("violation", "void_reason", "TEXT", "''")
    for table in ("rectification_notice", "shop_notice"):
        add_column_with_default(table, "state", "VARCHAR(12)", "'issued'")
        add_column_with_default(table, "version", "INTEGER", "1")
        database.execute_sql(f'UPDATE "{table}" SET "state" = \'served\' '
                             f'WHERE "served_at" IS NOT NULL AND "state" = \'issued\'')
    database.execute_sql('UPDATE "shop_notice" SET "state" = CASE WHEN "recheck_complied" THEN \'complied\' '
                         'ELSE \'not_complied\' END WHERE "recheck_at" IS NOT NULL')
    if "work_order_id" in _columns("finding"):
        database.execute_sql('UPDATE "finding" SET "handed_to" = \'workorder\', "handed_id" = "work_order_id" '
                             'WHERE "work_order_id" IS NOT NULL AND "handed_to" = \'\'')
        with database.atomic():
            from playhouse.migrate import migrate

            migrate(SchemaMigrator.from_database(database).drop_column("finding", "work_order_id"))
    # A shop's notice made from a finding waiting for its re-check.
    database.execute_sql(
        'UPDATE "finding" SET "handed_to" = \'shopnotice\', "handed_id" = (SELECT MAX(n."id") FROM "shop_notice" n '
        'WHERE n."finding_id" = "finding"."id") WHERE "state" = \'noticed\' AND "handed_to" = \'\'')
    # Violations recorded from one finding more than once: the first stands, the others are voided.
    duplicates = database.execute_sql(
        'SELECT v."id", (SELECT MIN(f."id") FROM "violation" f WHERE f."finding_id" = v."finding_id") '
        'FROM "violation" v WHERE v."finding_id" IS NOT NULL AND v."voided_at" IS NULL AND v."id" > '
        '(SELECT MIN(f."id") FROM "violation" f WHERE f."finding_id" = v."finding_id")').fetchall()
    now = str(clock.utcnow()) if is_sqlite() else clock.utcnow()
    for violation_id, first_id in duplicates:
        database.execute_sql('UPDATE "violation" SET "voided_at" = %s, "void_reason" = %s WHERE "id" = %s'
                             .replace("%s", database.param), (now, f"同一巡查问题重复记录的违规（保留第 {first_id} 号）",
                                                               violation_id))
    # A finding recorded as a violation was left 待处理: it is handed to its (first) violation, settled
    # if that is closed.
    database.execute_sql(
        'UPDATE "finding" SET "handed_to" = \'violation\', "handed_id" = (SELECT MIN(v."id") FROM "violation" v '
        'WHERE v."finding_id" = "finding"."id"), "state" = \'recorded\' '
        'WHERE "state" = \'open\' AND EXISTS (SELECT 1 FROM "violation" v WHERE v."finding_id" = "finding"."id")')
    database.execute_sql(
        'UPDATE "finding" SET "state" = \'closed\', "resolved_at" = (SELECT v."closed_at" FROM "violation" v '
        'WHERE v."id" = "finding"."handed_id"), "resolution" = (SELECT v."close_note" FROM "violation" v '
        'WHERE v."id" = "finding"."handed_id") WHERE "state" = \'recorded\' AND EXISTS (SELECT 1 FROM "violation" v '
        'WHERE v."id" = "finding"."handed_id" AND v."state" = \'closed\')')
    # A finding turned into an observation is handed to it, and open while the observation is.
    database.execute_sql(
        'UPDATE "finding" SET "handed_to" = \'observation\', "handed_id" = (SELECT MIN(o."id") FROM "observation" o '
        'WHERE o."finding_id" = "finding"."id") WHERE "state" = \'observed\' AND "handed_to" = \'\'')
    database.execute_sql(
        'UPDATE "finding" SET "state" = \'closed\', "resolved_at" = (SELECT o."closed_at" FROM "observation" o '
        'WHERE o."id" = "finding"."handed_id"), "resolution" = (SELECT o."close_note" FROM "observation" o '
        'WHERE o."id" = "finding"."handed_id") WHERE "state" = \'observed\' AND EXISTS (SELECT 1 FROM "observation" o '
        'WHERE o."id" = "finding"."handed_id" AND o."state" = \'closed\')')
    database.execute_sql(
        'UPDATE "finding" SET "resolved_at" = NULL, "resolution" = \'\' WHERE "state" = \'observed\'')


@migration(9, "回访合为一张表：诉求的回访与个性化服务的质量回访；记录之间以外键相连")
def one_callback_table():
    # Requests' return visits (follow_up) and services' call-backs (call_back) become rows of one
    # table, each with a typed reference to what it was about; every row is kept, in time order.
    from .callbacks import CallBack

    CallBack.create_table(safe=True)
    tables = database.get_tables()
    for table, record_type, key in (("follow_up", "ticket", "ticket_id"), ("call_back", "serviceorder", "order_id")):
        if table not in tables:
            continue
        database.execute_sql(
            f'INSERT INTO "customer_callback" ("record_type", "record_id", "at", "by_id", "method", "result", "words") '
            f'SELECT \'{record_type}\', "{key}", "at", "by_id", "method", "result", "words" FROM "{table}" '
            f'ORDER BY "at", "id"')
        database.execute_sql(f'DROP TABLE "{table}"')
    # Records that point at records by foreign key now (the column names are as they were): the index
    # each such key has, so going from the record pointed at back to what points at it stays cheap.
    for table, column in (("opinion", "ticket_id"), ("opinion", "need_id"), ("need", "ticket_id"),
                          ("action", "ticket_id"), ("renovation", "checkpoint_id"), ("shop", "checkpoint_id"),
                          ("service_order", "work_order_id"), ("violation", "finding_id"),
                          ("shop_notice", "finding_id")):
        add_index(table, f"{table}_{column}", [f'"{column}"'])

@migration(14, "打印抬头：物业公司名称（标志为小区的照片）")
def letterhead_company():
    add_column("estate", "company", peewee.CharField(default="", max_length=60))

@migration(12, "安全：登录限速计数、会话超时设置与最后使用时间、不存在用户名的登录失败按日汇总")
def security_limits_and_session_timeouts():
    from .limits import RateCount
    from .users import FailedSignIn

    RateCount.create_table(safe=True)
    FailedSignIn.create_table(safe=True)
    add_column("sign_in", "last_seen_at", peewee.DateTimeField(null=True))
    add_column("estate", "session_idle_hours", peewee.IntegerField(default=12))
    add_column("estate", "session_max_days", peewee.IntegerField(default=7))

@migration(11, "诉求搜索按词：中文分词索引（重新分词全部诉求）与同义词")
def ticket_word_index(progress=None, batch=2000):
    # The trigram index (SQLite) and its PostgreSQL copy go; every ticket's text is cut into words
    # again (kefu/words.py). Measured on the benchmark's ten-year estate (SQLite): 119,237 tickets in
    # 7.0 s, about 60 µs a ticket, with a progress line every 2,000.
    from . import words
    from .tickets import Ticket
    from .tickets import _search_text

    database.execute_sql('DROP TABLE IF EXISTS "tickettext"')
    words.Synonym.create_table(safe=True)
    words.index_model().create_table(safe=True)
    if is_sqlite():
        database.execute_sql('INSERT INTO "ticket_search" ("ticket_search") VALUES (\'delete-all\')')
    else:
        database.execute_sql('DELETE FROM "ticket_search"')
        words.create_postgres_indexes()
    say = progress or (lambda line: print(line, flush=True))
    total = Ticket.select().count()
    done, last = 0, 0
    fields = [Ticket.id, Ticket.number, Ticket.location, Ticket.customer_name, Ticket.category, Ticket.description]
    while True:
        chunk = list(Ticket.select(*fields).where(Ticket.id > last).order_by(Ticket.id).limit(batch))
        if not chunk:
            break
        words.rows_in([words.index_row(t.id, _search_text(t)) for t in chunk])
        done += len(chunk)
        last = chunk[-1].id
        if total >= batch:
            say(f"重新分词：{done}/{total} 件诉求")
    words.seed()


@migration(22, "上报有了自己的状态（待处理/已批示/已转派/已接手/已解决）；超时按一条规则上报，宽限按类设置")
def escalations_with_their_own_states():
    # Requests already escalated and still open become escalations: 待处理, or 已批示 when the
    # supervisor has written instructions since.
    from .escalations import Escalation
    from .escalations import LatenessRules

    Escalation.create_table(safe=True)
    LatenessRules.create_table(safe=True)
    database.execute_sql(
        'INSERT INTO "escalation" ("kind", "ref_type", "ref_id", "due", "title", "who", "reason", "state", "by_id", '
        '"created_at", "note", "version") '
        'SELECT CASE WHEN t."escalation_reason" = \'超过处理时限\' THEN \'ticket.follow\' ELSE \'ticket.escalate\' END, '
        '\'ticket\', t."id", CASE WHEN t."escalation_reason" = \'超过处理时限\' THEN t."resolution_due" '
        'ELSE t."escalated_at" END, t."location" || \' · \' || t."category", COALESCE(z."name", \'\'), '
        't."escalation_reason", CASE WHEN EXISTS (SELECT 1 FROM "event" e WHERE e."record_type" = \'ticket\' '
        'AND e."record_id" = t."id" AND e."action" = \'主管批示\' AND e."at" >= t."escalated_at") '
        'THEN \'instructed\' ELSE \'pending\' END, NULL, t."escalated_at", \'\', 1 '
        'FROM "ticket" t LEFT JOIN "zone" z ON z."id" = t."zone_id" '
        'WHERE t."escalation_level" > 0 AND t."escalated_at" IS NOT NULL AND t."voided_at" IS NULL '
        'AND t."state" IN (\'received\', \'responded\', \'in_progress\', \'paused\', \'resolved\')')


@migration(23, "派工单记下最近一次验收不通过的原因（返工的卡片和派工单页置顶显示）")
def work_order_rework_reason():
    add_column_with_default("work_order", "rework_reason", "TEXT", "''")
    # Orders in rework now: the reason from the newest rejection on their timeline.
    database.execute_sql(
        'UPDATE "work_order" SET "rework_reason" = COALESCE((SELECT e."note" FROM "event" e '
        'WHERE e."record_type" = \'workorder\' AND e."record_id" = "work_order"."id" AND e."to_state" = \'返工中\' '
        'ORDER BY e."id" DESC LIMIT 1), \'\') WHERE "rework_count" > 0')

@migration(19, "安全：密码错误按地址或登录过的设备分别锁定；公共部位与巡查点名称加长到 120 字")
def sign_in_locks_per_place_and_longer_place_names():
    from .users import SignInLock

    SignInLock.create_table(safe=True)
    # A place made for every building is named "3号楼 大堂", and a shop's checkpoint "铺位号 店名（商铺id）":
    # names copied from records whose own names may be 60 long.
    widen_varchar("place", "name", 120)
    widen_varchar("checkpoint", "name", 120)


@migration(20, "住户自助：每件诉求一个住户专用链接（不可猜的令牌）")
def ticket_link_tokens():
    import secrets

    add_column_with_default("ticket", "link_token", "VARCHAR(32)", "''")
    ids = [row[0] for row in database.execute_sql('SELECT "id" FROM "ticket" WHERE "link_token" = \'\'').fetchall()]
    for ticket_id in ids:
        database.execute_sql(f'UPDATE "ticket" SET "link_token" = {database.param} WHERE "id" = {database.param}',
                             (secrets.token_urlsafe(16), ticket_id))
    add_index("ticket", "ticket_link_token", ['"link_token"'], unique=True)


@migration(21, "住户自助：自助登记与核实、催一下、住户评价，停水停电公告及其关联诉求")
def resident_self_service():
    from . import residents

    for model in residents.MODELS:
        model.create_table(safe=True)
    add_column("estate", "resident_names", peewee.BooleanField(default=False))


@migration(17, "公共部位归属管辖区域（只有一个区域的小区直接归入）；小区自己的装修协议条款与各类违规的整改要求；哪些步骤须拍照")
def place_zone_and_renovation_terms():
    add_column("place", "zone_id", peewee.IntegerField(null=True))
    add_index("place", "place_zone_id", ['"zone_id"'])
    zones = [row[0] for row in database.execute_sql('SELECT "id" FROM "zone" WHERE "voided_at" IS NULL').fetchall()]
    if len(zones) == 1:
        # The only zone is every unzoned place's; with several, the administrator is asked place by place.
        database.execute_sql(
            'UPDATE "place" SET "zone_id" = %s WHERE "zone_id" IS NULL AND ("building_id" IS NULL OR "building_id" '
            'NOT IN (SELECT "building_id" FROM "zone_building"))' % int(zones[0]))
    # Empty until the administrator writes the estate's own wording (kefu/renovations.py has defaults).
    from .renovations import RenovationTerm

    RenovationTerm.create_table(safe=True)
    add_column_with_default("patrol_rules", "photo_steps", "VARCHAR(200)", "'report:finding'")


@migration(18, "商铺、服务与例会：执照经营者、服务实收费用、例会行动成为内部任务；巡查点名称去掉内部编号")
def shops_services_meeting_tasks():
    add_column("licence", "operator", peewee.CharField(default="", max_length=40))
    add_column("service_order", "collected", peewee.DecimalField(max_digits=10, decimal_places=2, null=True))
    add_column("service_order", "collected_how", peewee.CharField(default="", max_length=10))
    add_column("service_order", "collected_at", peewee.DateTimeField(null=True))
    add_column("action", "owner_id", peewee.IntegerField(null=True))
    add_index("action", "action_owner_id", ['"owner_id"'])
    add_column("action", "due_on", peewee.DateField(null=True))
    add_column("action", "state", peewee.CharField(default="open", max_length=10))
    add_column("action", "done_note", peewee.TextField(default=""))
    add_column("action", "done_at", peewee.DateTimeField(null=True))
    add_column("action", "version", peewee.IntegerField(default=1))
    # An action already made a request stays one.
    database.execute_sql('UPDATE "action" SET "state" = \'ticket\' WHERE "ticket_id" IS NOT NULL AND "state" = \'open\'')
    # "S-04 川味小馆（商铺5）" → "S-04 川味小馆", "2-1-1202 装修（登记3）" → "2-1-1202 装修".
    for checkpoint_id, name, source_type, source_id in database.execute_sql(
            'SELECT "id", "name", "source_type", "source_id" FROM "checkpoint" '
            'WHERE "source_type" IN (\'shop\', \'renovation\') AND "source_id" IS NOT NULL').fetchall():
        suffix = f"（商铺{source_id}）" if source_type == "shop" else f"（登记{source_id}）"
        if name.endswith(suffix):
            database.execute_sql(f'UPDATE "checkpoint" SET "name" = {database.param} WHERE "id" = {database.param}',
                                 (name[:-len(suffix)], checkpoint_id))


@migration(15, "通知渠道：群机器人（企业微信、钉钉、飞书、通用 Webhook）、手机推送订阅与 VAPID 密钥、个人提醒偏好与免打扰")
def notification_channels():
    from . import channels

    for model in channels.MODELS:
        model.create_table(safe=True)

@migration(16, "通知发件箱：消息（幂等键唯一）与每个渠道的投递（状态、尝试次数、下次尝试、最后错误）")
def notification_outbox():
    from .outbox import Delivery
    from .outbox import Message

    Message.create_table(safe=True)
    Delivery.create_table(safe=True)


@migration(24, "装修整改通知书随其违规复查：违规都已复查、上报或结案的通知书不再等待复查")
def renovation_notices_settled_by_their_violations():
    # Until now a renovation's notice stayed 已送达 after its violations were re-checked, waiting for a
    # 复查 forever (and going late). Those whose violations no longer wait are settled as the rule now
    # settles them: 复查已整改 when every one was put right, else 复查未整改.
    waiting = ('NOT EXISTS (SELECT 1 FROM "notice_violation" nv JOIN "violation" v ON v."id" = nv."violation_id" '
               'WHERE nv."notice_id" = "rectification_notice"."id" AND v."state" = \'noticed\')')
    not_put_right = ('EXISTS (SELECT 1 FROM "notice_violation" nv JOIN "violation" v ON v."id" = nv."violation_id" '
                     'WHERE nv."notice_id" = "rectification_notice"."id" AND v."state" NOT IN (\'complied\', \'closed\'))')
    database.execute_sql(
        f'UPDATE "rectification_notice" SET "state" = CASE WHEN {not_put_right} THEN \'not_complied\' '
        f'ELSE \'complied\' END, "version" = "version" + 1 WHERE "state" = \'served\' AND "voided_at" IS NULL '
        f'AND {waiting} AND EXISTS (SELECT 1 FROM "notice_violation" nv WHERE nv."notice_id" = "rectification_notice"."id")')


@migration(25, "回访记录按类型和时间的索引（拜访页“近 30 天不满意”不再读遍全部回访）")
def callbacks_by_kind_and_time():
    add_index("customer_callback", "customer_callback_record_type_at", ["record_type", "at"])


@migration(26, "未结的巡查问题、个性化服务、需求、月度总结与整改通知书按状态的索引（主管的今日不再读遍历年记录）")
def open_records_by_state():
    add_index("finding", "finding_state_created_at", ["state", "created_at"])
    add_index("service_order", "service_order_state", ["state"])
    add_index("need", "need_outcome_created_at", ["outcome", "created_at"])
    add_index("monthly_summary", "monthly_summary_state", ["state"])
    add_index("rectification_notice", "rectification_notice_state", ["state"])


def drop_index(name):
    database.execute_sql(f'DROP INDEX IF EXISTS "{name}"')


@migration(29, "去掉与“区域+状态”索引重复的区域索引（个性化服务、装修与违规）：今日按区域和状态找未结记录，不再读遍历年记录")
def zone_indexes_folded_into_zone_and_state():
    # A lone (zone_id) index beside (zone_id, state) serves nothing the pair can't, and SQLite chose it
    # for "zone and open states", reading every record the zone ever had.
    for table in ("service_order", "renovation", "violation"):
        drop_index(f"{table}_zone_id")


@migration(28, "PostgreSQL 的诉求搜索保存每条记录的分词向量并建索引（举一反三不再逐行重算）")
def ticket_search_vectors_stored():
    from . import words

    if not is_sqlite():
        words.store_postgres_vectors()


@migration(30, "岗位评估按助理、作废与周期的覆盖索引（主管的今日算到期评估时不再读每张已签评估表）")
def evaluation_keys_index():
    add_index("evaluation", "evaluation_user_id_voided_at_period_start_state",
              ['"user_id"', '"voided_at"', '"period_start"', '"state"'])


@migration(31, "PostgreSQL 的诉求搜索按（词，诉求）索引：举一反三与多词搜索只读每个词最新的诉求，不再读遍历年匹配")
def ticket_words_as_pairs():
    from . import words

    if is_sqlite():
        return
    tickets = database.execute_sql('SELECT COUNT(*) FROM "ticket_search"').fetchone()[0]
    if tickets:
        print(f"建立词条索引：{tickets} 件诉求的词与字……", flush=True)
    words.store_postgres_postings()
    if tickets:
        count = database.execute_sql('SELECT COUNT(*) FROM "ticket_word"').fetchone()[0]
        print(f"词条索引：{count} 条", flush=True)
