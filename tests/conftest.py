"""Shared fixtures: an app on a fresh temp database, a client, and one user per role."""
import datetime
import re
import threading

import pytest

from kefu import create_app
from kefu import db
from kefu import users

users.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # fast hashing for tests only

PASSWORD = "secret123"
FROZEN = datetime.datetime(2026, 11, 27, 2, 0, tzinfo=datetime.timezone.utc)  # 10:00 in Shanghai


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE": str(tmp_path), "WTF_CSRF_ENABLED": False,
                      "DATABASE": str(tmp_path / "test.sqlite3"), "PHOTOS": str(tmp_path / "photos")})
    db.database.connect(reuse_if_open=True)
    yield app
    if not db.database.is_closed():
        db.database.close()


@pytest.fixture(autouse=True)
def no_scheduler_thread():
    """A scheduler thread left running would write to whichever test database is bound next."""
    yield
    assert not any(t.name == "kefu-scheduler" for t in threading.enumerate()), \
        "a test started the scheduler thread: pass SCHEDULER=False to create_app"


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
