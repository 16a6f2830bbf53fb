"""The transition tables as data: on the demo estate, every (state, step, role) of every record that
moves through kefu/lifecycle.py either moves as declared — the state it leads to, the version bumped,
one line on the timeline — or is refused with a message, never anything else."""
import pytest

import conftest

from kefu import create_app
from kefu import customers
from kefu import db
from kefu import demo
from kefu import evaluations
from kefu import lifecycle
from kefu import patrols
from kefu import renovations
from kefu import residents
from kefu import services
from kefu import shops
from kefu import summaries
from kefu import tickets
from kefu import escalations
from kefu import workorders
from kefu.db import RuleError
from kefu.events import Event
from kefu.users import User

MACHINES = [tickets.MACHINE, workorders.MACHINE, services.MACHINE, patrols.FINDINGS, patrols.OBSERVATIONS,
            renovations.RENOVATION, renovations.VIOLATION, renovations.NOTICE, shops.MACHINE, customers.NEEDS,
            evaluations.MACHINE, summaries.MACHINE, residents.OUTAGE_MACHINE, escalations.MACHINE]
# "resident": the residents' actor (kefu/residents.py), whose rating through their link is a return visit.
ROLES = ["assistant", "supervisor", "frontdesk", "unit", "admin", "resident"]


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """The demo estate, built once for the module: each test changes it only inside transactions it
    rolls back."""
    folder = tmp_path_factory.mktemp("lifecycle")
    create_app({"TESTING": True, "INSTANCE": str(folder), "WTF_CSRF_ENABLED": False, "SCHEDULER": False,
                "DATABASE": conftest.test_database(folder), "PHOTOS": str(folder / "photos")})
    with db.database.connection_context():
        demo.build()
        yield {role: User.select().where(User.role == role).first() for role in ROLES}


def test_every_stateful_model_is_in_the_list():
    declared = {m.model for m in MACHINES}
    assert len(declared) == len(MACHINES)
    for machine in MACHINES:
        assert set(machine.open_states) <= set(machine.states), machine.model
        for step in machine.steps.values():
            assert step.label and step.action != step.label  # typed names, not the Chinese labels
            assert step.roles <= set(ROLES), (machine.model, step.action)
        for wait in machine.waits:  # who owes the next step: a real role, ended by a real step
            assert wait.role in ROLES and set(wait.states) <= set(machine.states), (machine.model, wait.kind)
            assert not wait.action or wait.action in machine.steps, (machine.model, wait.kind)


def test_every_open_state_but_the_ones_waiting_on_others_says_who_owes_it():
    """The agenda can't forget a record: each machine it reads declares a wait for every open state
    a person must act on (a work order's 待验收 waits on the assistant, not the unit, and so on)."""
    from kefu import agenda
    for source in agenda.sources():
        machine = source.machine
        waiting = {s for w in machine.waits for s in w.states}
        unowned = set(machine.open_states) - waiting - OWED_ELSEWHERE.get(machine.model.__name__, set())
        assert not unowned, (machine.model.__name__, sorted(unowned))


# Open states whose next step belongs to another record or the clock: a finding handed on waits on
# what it was handed to; a violation dissuaded or noticed waits on its notice; a service at work
# waits on its work order; a draft evaluation is on the supervisor's 到期的岗位评估.
OWED_ELSEWHERE = {"Finding": {"ordered", "noticed", "recorded", "observed"},
                  "Violation": {"noticed"},
                  "ServiceOrder": {"working"}, "Evaluation": {"draft"}}


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.model.__name__)
def test_every_state_step_and_role_moves_as_declared_or_is_refused(estate, machine, monkeypatch):
    # The table alone: what other records do on hearing of a change is tested with each area.
    monkeypatch.setattr(machine, "_listeners", [])
    model = machine.model
    record = model.select().order_by(model.id).first()
    assert record is not None, f"the demo estate has no {model.__name__}"
    field = machine.state_field
    for state in machine.states:
        for step in machine.steps.values():
            for role in [*ROLES, None]:
                actor = estate[role] if role else None
                with db.database.atomic() as transaction:
                    values = {field: state}
                    if machine.voidable:
                        values[model.voided_at] = None
                    model.update(values).where(model.id == record.id).execute()
                    current = model.get_by_id(record.id)
                    events_before = Event.select().count()
                    allowed = state in step.sources and (role is None or role in step.roles)
                    assert (machine.refusal(current, step.action, role) is None) == allowed
                    to = next((t for t in step.targets if t is not None), None)
                    try:
                        moved = machine.transition(actor, current, current.version, step.action, to=to)
                    except RuleError as refused:
                        assert not allowed, (model.__name__, state, step.action, role, refused.message)
                        assert refused.message
                        assert model.get_by_id(record.id).version == current.version
                        assert Event.select().count() == events_before
                    else:
                        assert allowed, (model.__name__, state, step.action, role)
                        assert getattr(moved, field.name) == (to if to is not None else state)
                        assert moved.version == current.version + 1
                        assert Event.select().count() == events_before + 1
                    transaction.rollback()


def test_a_page_offers_only_the_steps_the_rules_allow(estate):
    finding = patrols.Finding.select().where(patrols.Finding.state == "ordered").first()
    assert patrols.FINDINGS.allowed(finding, estate["assistant"]) == []
    open_one = patrols.Finding.select().where(patrols.Finding.state == "open").first()
    assert [s.action for s in patrols.FINDINGS.allowed(open_one, estate["assistant"])] == [
        patrols.ORDER, patrols.FIX, patrols.WATCH, patrols.NOTICE, patrols.RECORD_VIOLATION]
    assert patrols.FINDINGS.allowed(open_one, estate["unit"]) == []


def test_a_step_needs_a_declared_state():
    with pytest.raises(ValueError, match="unknown states"):
        lifecycle.Machine(tickets.Ticket, "诉求", tickets.STATES, [lifecycle.step("x", "某步", "nowhere", "closed")])
