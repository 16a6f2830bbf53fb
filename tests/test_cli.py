"""Command-line set-up: create-admin, demo, and serve's refusal to run without a secret key."""
import collections
import datetime
import json
import os
import re

import pytest
from dateutil.relativedelta import relativedelta
from stdnum.cn import uscc

import pgtest
import printed
from conftest import drop_postgres

from kefu import callbacks
from kefu import clock
from kefu import create_app
from kefu import customers
from kefu import db
from kefu import demo
from kefu import estate
from kefu import evaluations
from kefu import events
from kefu import patrols
from kefu import renovations
from kefu import services
from kefu import shops
from kefu import tickets
from kefu.estate import Building
from kefu.estate import Estate
from kefu.estate import Household
from kefu.estate import Zone
from kefu.users import User
from kefu.workorders import WorkOrder


@pytest.fixture(scope="module")
def built_demo(tmp_path_factory):
    """The demo estate made once for this module's read-only checks of what it holds (`flask demo`
    itself is run by test_demo_estate_can_be_signed_into and test_demo_refuses_a_database_with_data):
    a SQLite file each test opens a copy of, or a PostgreSQL database of its own the tests share."""
    folder = str(tmp_path_factory.mktemp("demo"))
    if not pgtest.URL:
        yield printed.build_demo(folder)
        return
    database = pgtest.fresh("kefu_test_cli_demo")
    create_app({"TESTING": True, "INSTANCE": folder, "SCHEDULER": False, "DATABASE": database,
                "PHOTOS": os.path.join(folder, "photos")})
    with db.database.connection_context():
        demo.build()
    db.database.close()
    yield database
    drop_postgres(database)


@pytest.fixture
def demo_app(tmp_path, built_demo):
    """An app on the demo estate: a copy of the module's SQLite file, or its PostgreSQL database."""
    if pgtest.URL:
        app = create_app({"TESTING": True, "INSTANCE": str(tmp_path), "SCHEDULER": False, "DATABASE": built_demo,
                          "PHOTOS": str(tmp_path / "photos")})
    else:
        app = printed.open_app(str(tmp_path / "instance"), built_demo)
    db.database.connect(reuse_if_open=True)
    yield app
    if not db.database.is_closed():
        db.database.close()


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


def test_demo_estate_has_two_weeks_of_patrols(demo_app):
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

    # "noticed": a shop's finding waiting for its 整改通知书 to be re-checked.
    assert {f.state for f in patrols.Finding.select()} == {"open", "ordered", "done", "fixed", "observed", "noticed",
                                                           "closed", "recorded"}
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


def test_demo_estate_has_renovations_at_every_step(demo_app):
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


def test_demo_estate_has_a_street_of_shops(demo_app):
    tz = Estate.current().tz
    today = clock.today(tz)
    zone_ids = [z.id for z in Zone.live().order_by(Zone.id)]

    def local(moment):
        return clock.to_local(moment, tz)

    def in_service_hours(moment):
        return datetime.time(8) <= local(moment).time() < datetime.time(20)

    street = list(shops.Shop.live().order_by(shops.Shop.unit_no))
    assert 18 <= len(street) <= 22
    assert {s.business_type for s in street} == set(shops.TYPES)
    assert sum(s.business_type == "餐饮" for s in street) >= 4
    states = collections.Counter(s.state for s in street)
    assert states["装修中"] == states["空置"] == states["停业"] == 1 and states["营业"] == len(street) - 3
    assert len({s.unit_no for s in street}) == len(street)
    assert all(re.fullmatch(r"S-\d\d", s.unit_no) for s in street)
    assert {s.zone_id for s in street} == set(zone_ids)
    by_name = {s.name: s for s in street}
    assert by_name["好邻居便利店"].zone_id == by_name["佳洁洗衣店"].zone_id == zone_ids[0]
    assert by_name["四季水果店"].zone_id == zone_ids[1]
    assert all(s.place is not None and s.place.name == "沿街商业街" for s in street)
    assert all(s.opened_on is None or s.opened_on < today for s in street)
    assert sum(bool(s.property_owner) and s.property_owner != s.operator_name for s in street) >= 3

    # Licences: valid credit codes, mostly years ahead, a few 长期.
    licences = {s.id: shops.licence_of(s) for s in street}
    held = [lic for lic in licences.values() if lic is not None]
    assert len(held) >= len(street) - 3
    assert all(uscc.is_valid(lic.credit_code) and lic.holder and lic.scope for lic in held)
    assert len({lic.credit_code for lic in held}) == len(held)
    assert 2 <= sum(lic.valid_until is None for lic in held) <= 5
    assert sum(lic.valid_until is not None and lic.valid_until > today + datetime.timedelta(days=365)
               for lic in held) >= len(held) // 2
    # Exactly one runs out within 30 days; two trade without a valid one and have been urged twice.
    [(expiring, licence)] = shops.expiring(zone_ids)
    assert today <= licence.valid_until <= today + datetime.timedelta(days=shops.EXPIRING_DAYS)
    unlicensed = shops.unlicensed(zone_ids)
    assert len(unlicensed) == 2 and all(s.state == "营业" for s, _lic in unlicensed)
    assert sorted(shops.licence_status(lic) for _s, lic in unlicensed) == ["expired", "none"]
    for shop, _licence in unlicensed:
        urgings = list(shop.urgings.order_by(shops.Urging.at))
        assert len(urgings) == 2, shop.name
        for urging in urgings:
            assert urging.method in shops.URGE_METHODS and urging.said and in_service_hours(urging.at)
            assert shop.created_at < urging.at < clock.utcnow()
            assert urging.promised_on >= local(urging.at).date()
        assert urgings[-1].promised_on >= today
    assert all(not s.urgings.exists() for s in street if s not in [u[0] for u in unlicensed])

    # One changed hands last month: two versions, the old operator kept with an end date.
    [changed] = [s for s in street if s.operators.count() > 1]
    assert [v.number for v in changed.versions.order_by(shops.ShopVersion.number)] == [1, 2]
    second = changed.versions.where(shops.ShopVersion.number == 2).get()
    assert "经营者" in json.loads(second.changes)
    old, new = changed.operators.order_by(shops.Operator.since)
    assert old.name != new.name == changed.operator_name and new.until is None
    assert old.until == new.since and 20 <= (today - new.since).days <= 30
    assert changed.property_owner == old.name
    assert all(s.versions.count() == 1 for s in street if s != changed)

    # Notices given: fire safety to every food shop trading, sorting rubbish to a few others.
    communications = list(shops.Communication.select())
    food = {s.id for s in street if s.food and s.state == "营业"}
    assert {c.shop_id for c in communications if c.topic == "消防宣传"} == food
    assert any(c.topic == "垃圾分类" and c.shop_id not in food for c in communications)
    assert all(c.receiver and c.at < clock.utcnow() and in_service_hours(c.at) for c in communications)
    # 城管 (市容监察) came by this week.
    [inspection] = shops.Inspection.select()
    assert inspection.body == "城管" and inspection.follow_up
    assert today - datetime.timedelta(days=7) <= inspection.day < today
    assert len(list(inspection.shops())) >= 3 and in_service_hours(inspection.created_at)

    # A food shop failed 油烟排放 on a patrol a few days ago: its notice is served and awaits the re-check.
    [notice] = [n for n in shops.notices_to_recheck(zone_ids) if n.finding_id]
    finding = shops.finding_of(notice)
    assert finding.item_text == "油烟排放" and finding.state == "noticed"
    assert notice.shop.business_type == "餐饮" and finding.checkpoint_id == notice.shop.checkpoint_id
    assert notice.status() == "served" and notice.deadline >= today and notice.served_to == notice.shop.operator_name
    assert 1 <= (today - finding.check.day).days <= 5
    assert in_service_hours(notice.issued_at) and notice.issued_at < notice.served_at < clock.utcnow()
    # Another, re-checked as complied, closed its finding.
    complied = [n for n in shops.ShopNotice.select() if n.status() == "complied"]
    assert complied and all(shops.finding_of(n).state == "done" for n in complied)
    # Shop and renovation notices share one yearly series, numbered in the order they were issued.
    issued = sorted(list(renovations.RectificationNotice.select()) + list(shops.ShopNotice.select()),
                    key=lambda n: n.issued_at)
    for year in {n.year for n in issued}:
        assert [n.serial for n in issued if n.year == year] == list(range(1, sum(n.year == year for n in issued) + 1))

    # The patrols: every shop trading or fitting out is a daily checkpoint of its zone, owed today
    # and checked through the history; an empty or closed one is not.
    patrolled = [s for s in street if s.state in shops.PATROLLED]
    for shop in patrolled:
        checkpoint = patrols.Checkpoint.get_by_id(shop.checkpoint_id)
        assert checkpoint.kind == "shop" and shops.for_checkpoint(checkpoint) == shop
        assert checkpoint.name == f"{shop.unit_no} {shop.name}"
        assert checkpoint.zone_id == shop.zone_id and checkpoint.active_on(today, tz)
        assert checkpoint.active_from <= today - datetime.timedelta(days=14)
        days = {c.day for c in checkpoint.checks}
        assert len([d for d in days if d > today - datetime.timedelta(days=15)]) >= 9, shop.name
    for shop in street:
        if shop.state not in shops.PATROLLED:
            assert shop.checkpoint_id is None or not patrols.Checkpoint.get_by_id(
                shop.checkpoint_id).active_on(today, tz)
    for zone_id in zone_ids:
        board = patrols.coverage_today([zone_id])["shop"]
        assert board["total"] == sum(s.zone_id == zone_id for s in patrolled)
    history = patrols.coverage_history(zone_ids, today - datetime.timedelta(days=14),
                                       today - datetime.timedelta(days=1))
    assert all(row["groups"]["shop"]["total"] == len(patrolled) for row in history.values())
    # 油烟排放 is checked at the food shops (sometimes failed), 不适用 elsewhere.
    fumes = collections.defaultdict(set)
    for check in patrols.Check.select().join(patrols.Checkpoint).where(patrols.Checkpoint.kind == "shop"):
        shop = shops.for_checkpoint(check.checkpoint)
        fumes[shop.food] |= {row["answer"] for row in check.answer_rows if row["text"] == "油烟排放"}
    assert fumes[True] == {"ok", "fail"} and fumes[False] == {"na"}


def test_demo_estate_has_a_month_of_customer_contact(demo_app):
    tz = Estate.current().tz
    today, now = clock.today(tz), clock.utcnow()
    zones = list(Zone.live().order_by(Zone.id))
    zone_ids = [z.id for z in zones]
    rules = customers.VisitRules.current()

    # Profiles of a few dozen households in both zones, tagged; the elderly living alone are the
    # residents' register's.
    profiles = list(customers.HouseholdProfile.select())
    assert 30 <= len(profiles) <= 60
    assert {estate.zone_of_building(p.household.building).id for p in profiles} == set(zone_ids)
    tags = collections.Counter(t for p in profiles for t in p.tag_list)
    assert {"独居老人", "行动不便", "有婴幼儿", "养宠物", "租户"} <= set(tags)
    assert all(p.contact_time and p.household.note and p.moved_in_on < today for p in profiles)
    alone = {r.household_id for r in estate.Resident.live().where(estate.Resident.note == "独居老人")}
    assert {p.household_id for p in profiles if "独居老人" in p.tag_list} == alone

    # The catalogue: free and charged services, each with a unit that does it.
    items = {i.name: i for i in services.ServiceItem.live()}
    assert {"上门开锁", "家政保洁", "家电清洗", "代收快递", "代购代办", "管道疏通", "搬运"} <= set(items)
    assert items["上门开锁"].fee == "50元/次" and items["上门开锁"].unit.kind == "engineering"
    assert items["家政保洁"].fee == "40元/小时" and items["家政保洁"].unit.kind == "cleaning"
    assert not items["代收快递"].charged and items["代收快递"].fee_label == "免费"
    assert all(i.fee for i in items.values() if i.charged)
    assert all(User.live().where((User.unit == i.unit) & (User.role == "unit")).exists() for i in items.values())

    # A month of visits by each zone's assistant, in and out of the windows, recorded within the rules.
    visits = list(customers.Visit.select())
    assert 90 <= len(visits) <= 160
    assert {v.form for v in visits} == set(customers.FORMS)
    for zone in zones:
        [assistant] = zone.assistants
        own = [v for v in visits if v.zone_id == zone.id]
        assert own and all(v.created_by_id == assistant.id for v in own), zone.name
        assert {bool(v.windows) for v in own} == {True, False}, zone.name
        assert 10 <= len({clock.to_local(v.at, tz).date() for v in own}) <= 31
    for visit in visits:
        assert visit.at <= visit.created_at <= now
        assert visit.created_at - datetime.timedelta(days=30) <= visit.at
        assert visit.windows == "、".join(rules.windows(clock.aware(visit.at)))
        assert 1 <= visit.opinions.count() <= 3 or visit.note
    assert any(v.form == "偶遇" and v.place and not list(v.households()) for v in visits)
    opinions = list(customers.Opinion.select())
    assert {o.kind for o in opinions} == set(customers.OPINION_KINDS)

    # Opinions that became requests, linked both ways.
    to_tickets = [o for o in opinions if o.ticket_id]
    assert len(to_tickets) >= 6
    for opinion in to_tickets:
        ticket = tickets.Ticket.get_by_id(opinion.ticket_id)
        assert ticket.channel == "拜访" and ticket.description == opinion.text
        assert opinion.visit.at < ticket.created_at < opinion.visit.at + datetime.timedelta(hours=1)
        assert "来自拜访" in [e.action for e in events.timeline(ticket)]
    assert {tickets.Ticket.get_by_id(o.ticket_id).state for o in to_tickets} >= {"closed", "responded", "in_progress"}

    # Opinions that became needs, personal and latent, answered every way.
    needs = list(customers.Need.select())
    assert {n.kind for n in needs} == set(customers.NEED_KINDS)
    assert {n.outcome for n in needs} == set(customers.OUTCOMES)
    for need in needs:
        if need.opinion_id:
            assert customers.Opinion.get_by_id(need.opinion_id).need_id == need.id
        if need.outcome == "decline":
            assert need.reason and need.reaction.startswith("已安抚")
        if need.outcome == "study":
            assert need.reason
    assert sum(o.need_id is not None for o in opinions) >= 15
    # Latent needs form patterns: the elderly living alone want shopping done for them.
    topic, households, shared = customers.latent_patterns([zones[0].id])[0]
    assert households >= 3 and shared.get("独居老人", 0) >= 3
    assert any(count >= 2 for _t, count, _tags in customers.latent_patterns([zones[1].id]))

    # Service orders in every state, from needs and directly.
    orders = list(services.ServiceOrder.select())
    by_state = collections.defaultdict(list)
    for order in orders:
        by_state[order.state].append(order)
        assert order.item.unit.kind in {"engineering", "cleaning", "general", "greening"}
        assert order.told_at <= now and (order.agreed_at is None or order.agreed_at >= order.told_at)
        if order.need_id:
            assert customers.Need.get_by_id(order.need_id).outcome == "provide"
        for work in WorkOrder.of_source("service", order.id):
            assert work.unit_id == order.item.unit_id and work.created_at <= now
    assert set(by_state) == set(services.STATES)
    assert any(o.need_id for o in orders) and any(o.need_id is None for o in orders)
    assert all(o.agreed_at is None for o in by_state["unscheduled"])
    assert all(o.needs_confirmation and o.confirmed_at is None and o.agreed_at > now for o in by_state["unconfirmed"])
    assert all(o.agreed_at > now and o.work_order_id is None for o in by_state["scheduled"])
    assert all(WorkOrder.get_by_id(o.work_order_id).state == "working" for o in by_state["working"])
    assert all(WorkOrder.get_by_id(o.work_order_id).state == "approved" for o in by_state["callback"])
    for order in by_state["rework"]:
        assert [c.result for c in callbacks.of_record(order)] == ["不满意"] and callbacks.of_record(order)[0].words
    assert all(o.result in ("满意", "基本满意") and o.closed_at for o in by_state["closed"])
    [reworked] = [o for o in by_state["closed"] if o.rework_count]
    assert [c.result for c in callbacks.of_record(reworked)] == ["不满意", "满意"]
    assert [w.state for w in WorkOrder.of_source("service", reworked.id)] == ["approved", "approved"]
    assert any(o.needs_confirmation and o.confirmed_at for o in by_state["closed"])
    assert all(o.cancel_reason for o in by_state["cancelled"])

    # zhuli1's planner has something in each part: open needs, a 不满意 return visit, tagged households first.
    plan = customers.planner([zones[0].id])
    assert plan["needs"] and plan["unhappy"]
    assert customers.profile_of(plan["stale"][0]).tag_list


def test_demo_estate_has_evaluations_on_schedule(demo_app):
    tz = Estate.current().tz
    today = clock.today(tz)
    supervisor = User.get(User.username == "zhuguan")
    zhuli1 = User.get(User.username == "zhuli1")
    zhuli2 = User.get(User.username == "zhuli2")
    item_names = [i.name for i in evaluations.EvaluationItem.ordered()]

    # 刘洋 started four months (and a few days) ago: monthly still; 张婷 fourteen months ago: quarterly now.
    started1, started2 = evaluations.start_of(zhuli1), evaluations.start_of(zhuli2)
    assert today - relativedelta(months=4, days=10) <= started1 < today - relativedelta(months=4)
    assert started2 == today - relativedelta(months=14)
    schedule1 = evaluations.periods(started1, today)
    schedule2 = evaluations.periods(started2, today)
    assert {kind for _s, _e, kind in schedule1} == {"monthly"}
    assert schedule2[-1][2] == "quarterly" and schedule2[-1][1] >= today  # a quarter under way
    ended1 = [p for p in schedule1 if p[1] < today]
    ended2 = [p for p in schedule2 if p[1] < today]
    assert len(ended1) >= 3

    # Signed off: 刘洋's first two, 张婷's every ended period but the last quarter; no drafts.
    all_evaluations = list(evaluations.Evaluation.select())
    assert all(e.voided_at is None and e.is_signed for e in all_evaluations)
    signed = {u: sorted((e for e in all_evaluations if e.user_id == u.id), key=lambda e: e.period_start)
              for u in (zhuli1, zhuli2)}
    assert [(e.period_start, e.period_end, e.kind) for e in signed[zhuli1]] == ended1[:2]
    assert [(e.period_start, e.period_end, e.kind) for e in signed[zhuli2]] == ended2[:-1]
    assert [e.kind for e in signed[zhuli2]] == ["monthly"] * 6 + ["quarterly"] * (len(ended2) - 7)
    for evaluation in signed[zhuli1] + signed[zhuli2]:
        signed_on = clock.to_local(evaluation.signed_at, tz).date()
        # …a few working days after the period ended, before it became overdue.
        assert 0 < (signed_on - evaluation.period_end).days <= evaluations.OVERDUE_DAYS
        assert evaluation.created_at <= evaluation.signed_at
        assert evaluation.signed_by_id == supervisor.id and evaluation.comment
        assert evaluation.total is not None and 70 <= evaluation.total <= 95
        assert evaluation.grade == evaluations.grade_of(evaluation.total)
        frozen = json.loads(evaluation.frozen)
        assert frozen["total"] == evaluation.total and frozen["grade"] == evaluation.grade
        assert [row["name"] for row in frozen["items"]] == item_names
        assert all(70 <= row["score"] <= 95 for row in frozen["items"])
        assert frozen["internal_score"] is not None and set(frozen["figures"]) >= {"tickets", "feedback_score"}
        assert evaluations.sheet(evaluation) == frozen
        actions = [e.action for e in events.timeline(evaluation)]
        assert actions[:3] == ["开始评估", "评分", "签字确认"]
    assert len({e.grade for e in signed[zhuli1] + signed[zhuli2]}) >= 2
    # 刘洋 wrote his own comment on the first, after it was signed.
    first, second = signed[zhuli1]
    assert first.assistant_comment and not second.assistant_comment
    assert events.timeline(first)[-1].action == "本人意见" and events.timeline(first)[-1].actor_id == zhuli1.id

    # Due on the supervisor's 今日: 刘洋's monthly ones from the third, 张婷's last quarter.
    due = collections.defaultdict(list)
    for user, start, end, kind, draft, _overdue in evaluations.due():
        assert draft is None
        due[user.username].append((start, end, kind))
    assert due["zhuli1"] == ended1[2:] and {kind for _s, _e, kind in due["zhuli1"]} == {"monthly"}
    assert due["zhuli2"] == ended2[-1:] and due["zhuli2"][0][2] == "quarterly"


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


def test_demo_estate_has_weekly_meetings(demo_app):
    from kefu import meetings
    from kefu import users
    held = list(meetings.Meeting.live().order_by(meetings.Meeting.day))
    assert len(held) >= 6 and {m.kind for m in held} >= {"部门例会", "业务块例会"}
    zhuli1 = users.User.get(users.User.username == "zhuli1")
    today = clock.today(Estate.current().tz)
    assert len(meetings.attended(zhuli1, today - datetime.timedelta(days=60), today)) == len(held)
    assert any(m.actions.count() for m in held)


def test_demo_estate_has_last_months_summaries(demo_app):
    from kefu import summaries
    today = clock.today(Estate.current().tz)
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    written = {s.user.username: s for s in summaries.MonthlySummary.select().where(
        summaries.MonthlySummary.month == last_month)}
    assert written["zhuli1"].state == "draft" and written["zhuli1"].summary and not written["zhuli1"].solutions
    assert written["zhuli2"].state == "submitted" and written["zhuli2"].summary
    [earlier] = summaries.MonthlySummary.select().where(summaries.MonthlySummary.month < last_month)
    assert earlier.user.username == "zhuli1" and earlier.state == "signed" and earlier.frozen
