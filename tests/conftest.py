"""Shared fixtures: an app on a fresh temp database, a client, and one user per role."""
import datetime
import os
import re
import shutil
import tempfile
import threading

import pytest

import figures
import pgtest
from kefu import create_app
from kefu import db
from kefu import users

users.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # fast hashing for tests only

PASSWORD = "secret123"
FROZEN = datetime.datetime(2026, 11, 27, 2, 0, tzinfo=datetime.timezone.utc)  # 10:00 in Shanghai


_FIGURES = pytest.StashKey[str]()


def pytest_configure(config):
    path = figures.start()
    if path:
        config.stash[_FIGURES] = path


def pytest_terminal_summary(terminalreporter, config):
    """What the tests said they measured (tests/figures.py), from every test process."""
    path = config.stash.get(_FIGURES, None)
    if path and os.path.exists(path):
        text = figures.written(path)
        if text.strip():
            terminalreporter.section("figures")
            terminalreporter.write(text)


def pytest_unconfigure(config):
    path = config.stash.get(_FIGURES, None)
    if path and os.path.exists(path):
        os.remove(path)


# The suite runs on SQLite, or on PostgreSQL when this is set to a database the tests may empty
# (scripts/pg-test-server.sh starts one): each test then starts from empty tables.
POSTGRES_URL = pgtest.URL
_reset = {}  # the connection the tests' resets go through, the reset's SQL, how often it was written


@pytest.fixture(autouse=True, scope="session")
def _close_reset_connection():
    yield
    if _reset:
        _reset["connection"].close()


def emptied_postgres():
    """The test PostgreSQL database with every table emptied and every id sequence back at 1 (the
    schema and its migrations kept). DELETE is several times faster than TRUNCATE on small tables;
    replica mode lets it past the foreign keys and the timeline's append-only trigger."""
    import psycopg

    if not _reset:
        _reset.update(connection=psycopg.connect(POSTGRES_URL, autocommit=True), script="", written=0)
    connection = _reset["connection"]
    # The SQL is written again until this session's first app has brought the schema up to date (a
    # migration may have added tables since the database was made), then kept.
    if _reset["written"] < 2:
        tables = [name for (name,) in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migration'")]
        sequences = [name for (name,) in connection.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")]
        restarts = [f"setval('\"{name}\"', 1, false)" for name in sequences]
        script = "".join(f'DELETE FROM "{name}";' for name in tables)
        if restarts:
            script += f"SELECT {', '.join(restarts)};"
        _reset.update(script=script, written=_reset["written"] + 1)
    if _reset["script"]:
        connection.execute(f"BEGIN; SET LOCAL session_replication_role = replica; {_reset['script']} COMMIT;")
    return POSTGRES_URL


# A PostgreSQL server for the tests that need one whatever the suite runs on (moving an estate's
# data across): the suite's own URL, or KEFU_TEST_POSTGRES_URL. CI sets KEFU_REQUIRE_POSTGRES=1 so
# those tests fail rather than skip when no server is there.
POSTGRES_SERVER = pgtest.SERVER_URL


@pytest.fixture
def scratch_postgres():
    """Makes fresh, empty PostgreSQL databases on the test server (dropped after the test)."""
    import uuid

    if not POSTGRES_SERVER:
        if os.environ.get("KEFU_REQUIRE_POSTGRES"):
            pytest.fail("no PostgreSQL server for the tests: set KEFU_TEST_POSTGRES_URL")
        pytest.skip("no PostgreSQL server for the tests (KEFU_TEST_POSTGRES_URL)")
    made = []

    def make():
        made.append(pgtest.fresh(f"kefu_scratch_{uuid.uuid4().hex[:10]}"))
        return made[-1]

    yield make
    for url in made:
        drop_postgres(url)


def drop_postgres(url):
    """Close this process's pool on a test PostgreSQL database, then drop the database."""
    pool = db._POOLS.pop(url, None)
    if pool is not None:
        pool.close_all()
    pgtest.drop(url)


def test_database(tmp_path, name="test.sqlite3"):
    """Where a test's app keeps its data: a fresh SQLite file, or the emptied test PostgreSQL.

    The SQLite file is a copy of one made, migrated and seeded once per session: creating every table
    and index took most of a test's set-up. (The migration tests open their own new files.)"""
    if POSTGRES_URL:
        return emptied_postgres()
    path = str(tmp_path / name)
    shutil.copyfile(_sqlite_template(), path)
    _schema_made.add(path)
    return path


_template = {}
_schema_made = set()  # the databases whose schema this session made: copies of the template, the test PostgreSQL


def _make_each_schema_once():
    """Opening the app makes sure its schema is there (kefu.db.create_schema: every table and index,
    "if not exists", the migrations, then the seeds). A test's SQLite database is a copy of the
    template, which has all of it: that is skipped. The test PostgreSQL keeps its schema between
    tests but is emptied, seeds too: after the session's first, only the seeds are added again. Any
    other database (the migration tests', a scratch PostgreSQL) is made as usual."""
    create_schema = db.create_schema

    def made_once():
        name = getattr(db.database.obj, "database", None)
        if name in _schema_made:
            if not db.is_sqlite():
                db.seed()
            return []
        ran = create_schema()
        if POSTGRES_URL and name == POSTGRES_URL.rsplit("/", 1)[1]:
            _schema_made.add(name)
        return ran

    db.create_schema = made_once


_make_each_schema_once()


def _sqlite_template():
    if "path" not in _template:
        folder = tempfile.mkdtemp(prefix="kefu-test-template-")
        path = os.path.join(folder, "template.sqlite3")
        db.init(path)  # closes its connection: the WAL is folded into the file
        _template["path"] = path
    return _template["path"]


@pytest.fixture(autouse=True, scope="session")
def _remove_sqlite_template():
    yield
    if "path" in _template:
        shutil.rmtree(os.path.dirname(_template["path"]), ignore_errors=True)


def _remember_url_builders():
    """Every test builds an app, and werkzeug compiles each of its ~170 URL rules into Python code
    (two builder functions a rule, through `ast`), which took half of create_app. The code depends
    only on the rule's parsed parts, so within the test session each is compiled once. Rules with
    defaults (whose values are folded into the code) are compiled as usual.

    `Rule._compile_builder` is Werkzeug's private method: Werkzeug offers no public way to share
    compiled rules between the URL maps of two apps. Werkzeug is pinned, and where the method is
    missing the rules compile as usual (slower, never wrong); the app itself never does this."""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:  # another werkzeug than requirements.txt pins: compile as usual
        return
    compiled = {}

    def remembered(self, append_unknown=True):
        if self.defaults:
            return compile_builder(self, append_unknown)
        key = (tuple(self._trace), append_unknown)
        builder = compiled.get(key)
        if builder is None:
            builder = compiled[key] = compile_builder(self, append_unknown)
        return builder

    Rule._compile_builder = remembered


_remember_url_builders()


@pytest.fixture
def app(tmp_path):
    # Tests that move the clock by days keep their sign-in; the session timeouts are tested with them
    # on (tests/test_attacks.py).
    app = create_app({"TESTING": True, "INSTANCE": str(tmp_path), "WTF_CSRF_ENABLED": False,
                      "DATABASE": test_database(tmp_path), "PHOTOS": str(tmp_path / "photos"),
                      "SESSION_TIMEOUTS": False})
    db.database.connect(reuse_if_open=True)
    yield app
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture(autouse=True)
def _agenda_forgotten():
    """What the agenda keeps per stamp (event id + minute) would carry over to the next test's
    database, whose ids and frozen minute may well be the same."""
    from kefu import agenda
    agenda.forget()
    yield
    agenda.forget()


@pytest.fixture(autouse=True)
def no_scheduler_thread():
    """A scheduler thread left running would write to whichever test database is bound next."""
    yield
    assert not any(t.name in ("kefu-scheduler", "kefu-outbox") for t in threading.enumerate()), \
        "a test started the scheduler or the outbox's sender thread: pass SCHEDULER=False to create_app"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def unit(app):
    return users.Unit.create(name="工程部", kind="engineering")


@pytest.fixture
def people(app, unit):
    """One user per role, all with PASSWORD."""
    made = {}
    for role in users.ROLES:
        made[role] = users.create_user(None, role, f"{users.ROLES[role]}甲", role, PASSWORD,
                                       unit=unit if role == "unit" else None)
    return made


@pytest.fixture
def login(client, people):
    """Sign the test client in as a role (or username)."""

    def sign_in(who):
        client.post("/logout")
        response = client.post("/login", data={"username": who, "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)
        return people.get(who)

    return sign_in


@pytest.fixture
def as_user(client):
    """Sign the test client in as a user record (signing out whoever was in)."""

    def sign_in(user):
        client.post("/logout")
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 303
        return client

    return sign_in


def text(response):
    """A page's visible text, tags stripped and whitespace collapsed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def html(response):
    return response.get_data(as_text=True)


def field_errors(response, field):
    """The messages shown beside a field."""
    return re.findall(rf'<p class="error" id="{field}-error"[^>]*>([^<]*)</p>', html(response))


def input_value(response, field):
    """What an input of the page holds (None if absent)."""
    tag = re.search(rf'<input[^>]*\bname="{field}"[^>]*>', html(response))
    value = tag and re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None
