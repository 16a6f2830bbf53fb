"""Moving an estate from SQLite to PostgreSQL (and back) with `flask move-data`: every row of every
table comes across, the pages read the same, new records continue the numbering, and a target that
already holds an estate is refused untouched."""
import sqlite3

import pytest
import time_machine

import pgtest
from conftest import FROZEN
from conftest import text
from kefu import create_app
from kefu import db
from kefu import demo
from kefu import move
from kefu.events import Event
from kefu.tickets import Ticket

# A move starts from SQLite: the suite's SQLite run makes it (against the tests' PostgreSQL server);
# the run on PostgreSQL has nothing more to show.
pytestmark = pytest.mark.skipif(bool(pgtest.URL), reason="a move starts from SQLite: the SQLite run makes it")

PAGES = ["/", "/tickets?state=", "/tickets?q=漏水&state=", "/tickets?q=水&state=", "/patrols/coverage",
         "/renovations", "/shops", "/visits"]


def open_app(tmp_path, database):
    return create_app({"TESTING": True, "INSTANCE": str(tmp_path), "WTF_CSRF_ENABLED": False,
                       "DATABASE": database, "PHOTOS": str(tmp_path / "photos")})


def sqlite_counts(path):
    connection = sqlite3.connect(path)
    tables = [name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE 'ticket_search%' AND name <> 'schema_migration'")]
    counts = {name: connection.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in tables}
    connection.close()
    return counts


def pages(app):
    client = app.test_client()
    assert client.post("/login", data={"username": "zhuguan", "password": demo.PASSWORD}).status_code == 303
    seen = {}
    for url in PAGES + [f"/tickets/{Ticket.select().order_by(Ticket.id).first().id}"]:
        response = client.get(url)
        assert response.status_code == 200, url
        seen[url] = text(response)
    return seen


def test_an_estate_moves_to_postgresql_and_back_with_every_row(tmp_path, scratch_postgres):
    source = str(tmp_path / "estate.sqlite3")
    with time_machine.travel(FROZEN, tick=False):
        app = open_app(tmp_path, source)
        with db.database.connection_context():
            demo.build()
        with app.app_context():
            on_sqlite = pages(app)
        before = sqlite_counts(source)
        assert sum(before.values()) > 1000 and all(before[t] for t in ("ticket", "check", "event", "shop"))

        target = scratch_postgres()
        result = app.test_cli_runner().invoke(args=["move-data", target, "--yes"])
        assert result.exit_code == 0, result.output
        assert f"{sum(before.values())} 行" in result.output and "逐表核对行数一致" in result.output, (before, result.output)

        moved = open_app(tmp_path, target)
        with moved.app_context():
            for table, count in before.items():
                assert db.database.execute_sql(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0] == count, table
            on_postgres = pages(moved)
            # The numbering carries on after the highest id copied.
            newest = Event.select().order_by(Event.id.desc()).first().id
            assert Event.create(at=FROZEN.replace(tzinfo=None), record_type="estate", record_id=1,
                                action="备注").id == newest + 1
        assert on_postgres == on_sqlite

        back = str(tmp_path / "back.sqlite3")
        assert move.move(target, back)["ticket"] == before["ticket"]
        after = sqlite_counts(back)
        # The extra sign-in and its event: the supervisor signed in on PostgreSQL to read the pages.
        assert after == {**before, "event": before["event"] + 2, "sign_in": before["sign_in"] + 1}


def test_a_target_holding_an_estate_is_refused_untouched(tmp_path, scratch_postgres):
    source = str(tmp_path / "estate.sqlite3")
    target = scratch_postgres()
    with time_machine.travel(FROZEN, tick=False):
        app = open_app(tmp_path, source)
        with db.database.connection_context():
            demo.build()
        assert app.test_cli_runner().invoke(args=["move-data", target, "--yes"]).exit_code == 0
        moved = open_app(tmp_path, target)
        with moved.app_context():
            tickets = Ticket.select().count()
            Ticket.update(description="只在目标库改过").where(Ticket.id == 1).execute()
        again = open_app(tmp_path, source).test_cli_runner().invoke(args=["move-data", target, "--yes"])
    assert again.exit_code == 1
    assert "目标数据库里已有数据" in again.output
    moved = open_app(tmp_path, target)
    with moved.app_context():
        assert Ticket.select().count() == tickets
        assert Ticket.get_by_id(1).description == "只在目标库改过"
