"""Every stateful record's steps, declared as data, and the one checked transition that takes them.

A `Machine` belongs to one model: its states (code → label), its steps (action → the states it may
start from → the state it leads to → the roles that may take it). `Machine.transition` is the only
place a record changes state: it refuses a step the record's state or the actor's role doesn't
allow (with one message per kind of refusal), does the guarded UPDATE (state, version and, for a
voidable record, not voided — so of two people acting at once exactly one wins and the other gets
StaleRecord), appends the event to the timeline, and tells the model's listeners what happened as a
`Change` whose `action` is the step's typed name, never its Chinese label.

Pages list a record's next steps with `Machine.allowed`, from the same table, so a button never
offers what the rule would refuse.
"""
import dataclasses

from . import events
from .db import RuleError
from .db import guarded

# Who takes a step no person takes: a cascade from another record or the scheduler.
SYSTEM = "system"

ROLE_LABELS = {"assistant": "客户助理", "supervisor": "客服主管", "frontdesk": "前台", "unit": "业务块",
               "admin": "管理员"}


@dataclasses.dataclass(frozen=True)
class Step:
    """One step: `action` is its name in code, `label` what the timeline and the button say."""

    action: str
    label: str
    sources: tuple
    # The state it leads to. None: the state stays. A tuple: one of these, chosen by the rule (None
    # among them: the rule may leave the state as it is).
    target: object = None
    roles: frozenset = frozenset()

    @property
    def targets(self):
        if self.target is None:
            return ()
        return self.target if isinstance(self.target, tuple) else (self.target,)


@dataclasses.dataclass(frozen=True)
class Change:
    """What a transition did, as listeners receive it."""

    record: object
    action: str
    label: str
    actor: object
    from_state: str
    to_state: str
    note: str = ""
    photo_ids: tuple = ()


@dataclasses.dataclass(frozen=True)
class Wait:
    """Who owes the next step of a record in one of `states`, and by when.

    `role` owes it (the agenda narrows that to the person: an assistant's zones, a unit's orders);
    `due` is the record's field holding the deadline, a function of the record, or None (no clock);
    `action` names the step that ends the wait (its label is the card's button); `when(record)`
    narrows the wait within its states (a request waits for its response only until it is given).
    """

    kind: str
    group: str
    states: tuple
    role: str
    due: object = None
    action: str = ""
    when: object = None
    label: str = ""  # the card's button, when the step's own label reads badly there

    def deadline(self, record):
        if self.due is None:
            return None
        return self.due(record) if callable(self.due) else getattr(record, self.due)

    def holds(self, record, state):
        return state in self.states and (self.when is None or self.when(record))


def step(action, label, sources, target=None, roles=()):
    """A `Step`, with `sources` a state or a tuple of states and `roles` a tuple of role codes."""
    sources = (sources,) if isinstance(sources, str) else tuple(sources)
    return Step(action, label, sources, target, frozenset(roles))


class Machine:
    """The declared life of one model's records: states, steps, the open states."""

    def __init__(self, model, noun, states, steps, open_states=(), error=RuleError, state_field="state"):
        self.model, self.noun, self.states, self.error = model, noun, dict(states), error
        self.steps = {s.action: s for s in steps}
        if len(self.steps) != len(steps):
            raise ValueError(f"{model.__name__}: two steps share an action")
        for s in steps:
            unknown = (set(s.sources) | set(s.targets)) - set(self.states) - {None}
            if unknown:
                raise ValueError(f"{model.__name__}.{s.action}: unknown states {sorted(unknown)}")
        self.open_states = tuple(open_states)
        self.state_field = getattr(model, state_field)
        self.voidable = "voided_at" in model._meta.fields
        self._listeners = []
        self.waits = []

    def wait(self, kind, group, states, role, due=None, action="", when=None, label=""):
        """Declare that `role` owes the next step while a record is in `states` (see `Wait`)."""
        states = (states,) if isinstance(states, str) else tuple(states)
        unknown = set(states) - set(self.states)
        if unknown:
            raise ValueError(f"{self.model.__name__}: {kind} waits in unknown states {sorted(unknown)}")
        if action and action not in self.steps:
            raise ValueError(f"{self.model.__name__}: {kind} ends with an unknown step {action!r}")
        self.waits.append(Wait(kind, group, states, role, due, action, when, label))

    def waits_on(self, role):
        return [w for w in self.waits if w.role == role]

    def label(self, state):
        return self.states.get(state, state)

    def step(self, action):
        try:
            return self.steps[action]
        except KeyError:
            raise ValueError(f"{self.model.__name__} has no step {action!r}") from None

    def _state(self, record):
        return getattr(record, self.state_field.name)

    def refusal(self, record, action, role=None):
        """Why `action` can't be taken on `record` (by `role`), or None when it can."""
        s = self.step(action)
        if self.voidable and record.voided_at is not None:
            return f"该{self.noun}已作废"
        if self._state(record) not in s.sources:
            return f"{self.noun}当前为“{self.label(self._state(record))}”，不能{s.label}"
        if role is not None and role not in s.roles:
            return f"{ROLE_LABELS.get(role, role)}不能{s.label}"
        return None

    def allowed(self, record, user):
        """The steps `user`'s role may take on `record` now, in the order they were declared."""
        return [s for s in self.steps.values() if self.refusal(record, s.action, user.role) is None]

    def may(self, record, action, user):
        return self.refusal(record, action, user.role) is None

    def listen(self, listener):
        """`listener(change)` runs inside the transaction of every transition of this model."""
        self._listeners.append(listener)

    def transition(self, actor, record, expected_version, action, *, to=None, note="", label=None, photo_ids=(),
                   as_system=False, **fields):
        """Take step `action` on `record` if it is still in a state the step starts from at the version
        the user saw; returns the record as it is now. `to` picks the target where the step has
        several; `label` words the timeline line when the rule needs more than the step's label;
        `fields` are the other columns the step writes (values or expressions). `as_system`: a
        cascade or the scheduler takes the step, whoever's action set it off. Call inside a
        transaction when the step is part of a larger change."""
        s = self.step(action)
        role = None if (actor is None or as_system) else actor.role
        refused = self.refusal(record, action, role)
        if refused is not None:
            raise self.error(refused)
        if to is None and len(s.targets) == 1:
            to = s.targets[0]
        if s.targets and to not in s.targets:
            raise ValueError(f"{self.model.__name__}.{action}: {to!r} is not one of {s.targets}")
        model = self.model
        values = {model.version: model.version + 1}
        if to is not None:
            values[self.state_field] = to
        for name, value in fields.items():
            values[getattr(model, name)] = value
        guard = ((model._meta.primary_key == record.get_id()) & (model.version == expected_version)
                 & self.state_field.in_(s.sources))
        if self.voidable:
            guard &= model.voided_at.is_null()
        guarded(model.update(values).where(guard))
        from_state = self._state(record)
        record = model.get_by_id(record.get_id())
        photo_ids = tuple(photo_ids)
        events.record(actor, record, label or s.label,
                      from_state=self.label(from_state) if to is not None else "",
                      to_state=self.label(to) if to is not None else "", note=note,
                      **({"photo_ids": list(photo_ids)} if photo_ids else {}))
        change = Change(record, action, s.label, actor, from_state, self._state(record), note, photo_ids)
        for listener in self._listeners:
            listener(change)
        return record
