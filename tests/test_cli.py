"""Command-line set-up: create-admin, demo, and serve's refusal to run without a secret key."""
import datetime

from kefu import clock
from kefu import create_app
from kefu import demo
from kefu import patrols
from kefu.estate import Building
from kefu.estate import Estate
from kefu.estate import Household
from kefu.estate import Zone
from kefu.users import User
from kefu.workorders import WorkOrder


def test_create_admin(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "--username", "boss", "--name", "老板",
                                                "--password", "abc12345"])
    assert result.exit_code == 0, result.output
    assert "已创建管理员 boss" in result.output
    assert User.get(User.username == "boss").role == "admin"


def test_create_admin_refuses_a_weak_password(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "--username", "boss", "--name", "老板",
                                                "--password", "123"])
    assert result.exit_code == 1
    assert "密码至少 8 位" in result.output
    assert not User.select().exists()


def test_demo_estate_can_be_signed_into(app, client):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert Building.live().count() == 8
    assert 380 <= Household.live().count() <= 440
    assert Zone.live().count() == 2
    for username, _label in demo.LOGINS:
        response = client.post("/login", data={"username": username, "password": demo.PASSWORD})
        assert response.status_code == 303, username
        client.post("/logout")
    zone_one = Zone.get(Zone.name.startswith("一区"))
    assert [u.username for u in zone_one.assistants] == ["zhuli1"]


def test_demo_estate_has_two_weeks_of_patrols(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    zones = list(Zone.live().order_by(Zone.id))
    for zone in zones:
        kinds = {c.kind for c in patrols.Checkpoint.live().where(patrols.Checkpoint.zone == zone)}
        assert kinds == {"security", "public", "shop", "renovation"}, zone.name
    renovation = patrols.Checkpoint.get(patrols.Checkpoint.kind == "renovation")
    assert renovation.household is not None and renovation.active_from and renovation.active_until

    checks = list(patrols.Check.select())
    assert {c.via for c in checks} == {"scan", "list"}
    assert {c.in_window for c in checks if c.checkpoint.kind == "renovation"} == {True, False}
    tz = Estate.current().tz
    today = clock.today(tz)
    earlier = [clock.to_local(c.at, tz) for c in checks if c.day < today]
    assert earlier and all(datetime.time(8) <= moment.time() < datetime.time(18) for moment in earlier)
    assert len(checks) / 20 < patrols.Finding.select().count() < len(checks) / 6

    assert {f.state for f in patrols.Finding.select()} == {"open", "ordered", "done", "fixed", "observed"}
    orders = list(WorkOrder.select().where(WorkOrder.source_type == "finding"))
    states = {o.state for o in orders}
    assert {"approved", "reported", "cancelled"} <= states
    assert states & {"working", "dispatched"}
    assert any(o.rework_count > 0 and o.state == "approved" for o in orders)
    assert all(o.number.startswith("ZG") for o in orders)
    observations = list(patrols.Observation.select())
    assert any(o.state == "open" for o in observations)
    assert any(o.state == "closed" for o in observations)
    assert any(o.finding_id is None for o in observations)

    # Today is partly covered: some posts checked this morning, others still owed.
    board = patrols.coverage_today([zones[0].id])
    assert board["security"]["done"] > 0 and board["security"]["owed"]
    assert board["shop"]["done"] > 0
    # The supervisor's history has misses.
    history = patrols.coverage_history([z.id for z in zones], today - datetime.timedelta(days=14),
                                       today - datetime.timedelta(days=1))
    assert any(row["groups"]["security"]["missed"] for row in history.values())


def test_demo_refuses_a_database_with_data(app, people):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1
    assert "已有数据" in result.output


def test_real_deployment_without_secret_key_refuses(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO", "0")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"INSTANCE": str(tmp_path), "DATABASE": str(tmp_path / "k.sqlite3")})
    result = app.test_cli_runner().invoke(args=["serve"])
    assert result.exit_code == 1
    assert "SECRET_KEY" in result.output
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert "SECRET_KEY" in response.get_data(as_text=True)


def test_demo_mode_keeps_its_generated_key(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO", "1")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"INSTANCE": str(tmp_path), "DATABASE": str(tmp_path / "k.sqlite3")})
    second = create_app({"INSTANCE": str(tmp_path), "DATABASE": str(tmp_path / "k.sqlite3")})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
