"""Command-line set-up: create-admin, demo, and serve's refusal to run without a secret key."""
import datetime
import re

from kefu import clock
from kefu import create_app
from kefu import demo
from kefu import patrols
from kefu import renovations
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
    tz = Estate.current().tz
    today = clock.today(tz)
    for zone in zones:
        kinds = {c.kind for c in patrols.Checkpoint.live().where(patrols.Checkpoint.zone == zone)}
        assert kinds == {"security", "public", "shop", "renovation"}, zone.name
    # Renovation checkpoints are the register's: each from its start, ended when it finished.
    for checkpoint in patrols.Checkpoint.select().where(patrols.Checkpoint.kind == "renovation"):
        renovation = renovations.for_checkpoint(checkpoint)
        assert renovation is not None and renovation.checkpoint_id == checkpoint.id
        assert checkpoint.household_id == renovation.household_id
        assert checkpoint.active_from == renovation.started_on
        if renovation.finished_on is not None:
            assert checkpoint.active_until == renovation.finished_on
        else:
            assert checkpoint.active_until is None or checkpoint.active_until >= today

    checks = list(patrols.Check.select())
    assert {c.via for c in checks} == {"scan", "list"}
    assert {c.in_window for c in checks if c.checkpoint.kind == "renovation"} == {True, False}
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


def test_demo_estate_has_renovations_at_every_step(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    tz = Estate.current().tz
    today = clock.today(tz)

    def violations(renovation):
        return list(renovation.violations.order_by(renovations.Violation.at))

    active = [r for r in renovations.Renovation.live() if r.state == "active" and r.archived_at is None]
    assert len(active) >= 4
    assert all(r.owner_name and r.company and r.foreman and r.permit_number and r.deposit and r.work_list
               for r in active)
    assert any(not violations(r) for r in active)
    # 超时施工 found on a patrol, 劝阻 and nothing more.
    dissuaded = [r for r in active if [v.state for v in violations(r)] == ["dissuaded"]]
    assert dissuaded
    violation = violations(dissuaded[0])[0]
    assert violation.kind in ("超时施工", "噪音扰民") and violation.dissuade_outcome
    assert not renovations.notices_of(violation)
    finding = patrols.Finding.get_by_id(violation.finding_id)
    assert finding.checkpoint_id == dissuaded[0].checkpoint_id
    # A notice served on the foreman, awaiting the re-check.
    noticed = [r for r in active if [v.state for v in violations(r)] == ["noticed"]]
    assert noticed
    violation = violations(noticed[0])[0]
    assert violation.kind in ("违规拆改", "垃圾乱堆")
    [notice] = renovations.notices_of(violation)
    assert notice.is_served and notice.served_to == noticed[0].foreman and not notice.refused
    assert notice.deadline >= today - datetime.timedelta(days=1)
    assert violation.recheck_at is None

    # One finished a month or so ago: escalated to the 居委会, answered, closed, accepted and archived.
    [archived] = renovations.search([z.id for z in Zone.live()], archived=True)
    assert archived.state == "accepted" and archived.finished_on <= today - datetime.timedelta(days=20)
    [violation] = violations(archived)
    assert violation.kind == "占用公共部位" and violation.state == "closed"
    assert violation.dissuaded_at and violation.recheck_complied is False
    [notice] = renovations.notices_of(violation)
    assert notice.refused and notice.witness
    [referral] = archived.referrals
    assert referral.body == "居委会" and referral.letter and referral.reply and referral.reply_at
    assert patrols.Checkpoint.get_by_id(archived.checkpoint_id).active_until == archived.finished_on

    # Notices are numbered per year in the order they were issued.
    notices = list(renovations.RectificationNotice.select().order_by(renovations.RectificationNotice.issued_at))
    for year in {n.year for n in notices}:
        serials = [n.serial for n in notices if n.year == year]
        assert serials == list(range(1, len(serials) + 1)), year
    assert notices[0].number == f"〔{clock.to_local(notices[0].issued_at, tz).year}〕第0001号"
    assert all(re.fullmatch(r"〔\d{4}〕第\d{4}号", n.number) for n in notices)
    # Everything happened before now.
    now = clock.utcnow()
    assert all(n.served_at < now for n in notices) and referral.reply_at < now

    # The renovations under way are on today's coverage board, and were patrolled.
    for zone in Zone.live():
        assert patrols.coverage_today([zone.id])["renovation"]["total"] >= 2, zone.name
    for renovation in active:
        assert patrols.Check.select().where(patrols.Check.checkpoint == renovation.checkpoint_id).exists()


def test_demo_refuses_a_database_with_data(app, people):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1
    assert "已有数据" in result.output


def test_real_deployment_without_secret_key_refuses(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO", "0")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app({"INSTANCE": str(tmp_path), "DATABASE": str(tmp_path / "k.sqlite3"), "SCHEDULER": False})
    result = app.test_cli_runner().invoke(args=["serve"])
    assert result.exit_code == 1
    assert "SECRET_KEY" in result.output
    response = app.test_client().get("/login")
    assert response.status_code == 503
    assert "SECRET_KEY" in response.get_data(as_text=True)


def test_demo_mode_keeps_its_generated_key(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMO", "1")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app({"INSTANCE": str(tmp_path), "DATABASE": str(tmp_path / "k.sqlite3"), "SCHEDULER": False})
    second = create_app({"INSTANCE": str(tmp_path), "DATABASE": str(tmp_path / "k.sqlite3"), "SCHEDULER": False})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) == 64
