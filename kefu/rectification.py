"""整改通知书: what every rectification notice shares, whether it goes to a renovating household or
to a shop — one yearly number series that never goes back, serving it (签收, or 拒签 before a
witness) no earlier than the minute it was issued, and voiding an unserved one issued in error.
"""
import datetime

import peewee

from . import clock
from . import lifecycle
from . import sequences
from .db import RuleError
from .db import VoidableMixin
from .db import checked_text
from .estate import current_tz
from .users import User

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
ALREADY_SERVED = "该通知书已送达"

# One series a year for every notice the service centre issues. The key dates from when only
# renovations had notices; changing it would restart numbers already given out.
SERIES = "renovation-notice"


STATES = {"issued": "待送达", "served": "已送达", "complied": "复查已整改", "not_complied": "复查未整改"}
SERVE, RECHECK, VOID = "serve", "recheck", "void"


class NoticeMixin(VoidableMixin):
    """The fields of a notice; each kind adds who it is addressed to."""

    year = peewee.IntegerField()
    serial = peewee.IntegerField()
    clauses = peewee.TextField()
    demand = peewee.TextField()
    deadline = peewee.DateField()
    consequence = peewee.TextField(default="")
    issued_by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    issued_at = peewee.DateTimeField()
    served_at = peewee.DateTimeField(null=True)
    served_to = peewee.CharField(max_length=60, default="")
    refused = peewee.BooleanField(default=False)
    witness = peewee.CharField(max_length=60, default="")
    # With the database's own defaults, as migration 8 added them.
    state = peewee.CharField(max_length=12, default="issued", constraints=[peewee.SQL("DEFAULT 'issued'")])
    version = peewee.IntegerField(default=1, constraints=[peewee.SQL("DEFAULT 1")])

    @property
    def number(self):
        return f"〔{self.year}〕第{self.serial:04d}号"

    @property
    def is_served(self):
        return self.served_at is not None


def machine(model, error, rechecked=False):
    """A notice's life: issued → served (签收 or 拒签) → re-checked, where the notice itself is
    re-checked (a shop's; a renovation's violations are re-checked one by one); voided while unserved."""
    handlers = ("assistant", "supervisor")
    steps = [lifecycle.step(SERVE, "送达整改通知书", "issued", "served", handlers),
             lifecycle.step(VOID, "作废", "issued", None, handlers)]
    if rechecked:
        steps.append(lifecycle.step(RECHECK, "复查", "served", ("complied", "not_complied"), handlers))
    made = lifecycle.Machine(model, "通知书", STATES, steps, open_states=("issued", "served"), error=error)
    made.wait("notice.serve", "待送达通知书", "issued", "assistant", lambda n: n.issued_at + SERVE_WITHIN, SERVE)
    # A served notice waits for its re-check from its deadline on (the end of that day, local time).
    made.wait("notice.recheck", "待复查", "served", "assistant", deadline_end,
              RECHECK if rechecked else "", when=lambda n: deadline_end(n) <= clock.utcnow() + RECHECK_AHEAD)
    return made


SERVE_WITHIN = datetime.timedelta(days=1)
RECHECK_AHEAD = datetime.timedelta(days=1)  # on the agenda from the day before the deadline


def deadline_end(notice):
    """The notice's deadline as a UTC moment: the end of its last day, in the estate's zone."""
    return clock.day_bounds(notice.deadline, current_tz())[1]


def numbered(tz):
    """(issued_at, year, serial) for a notice issued now: the estate's year, the next number of it."""
    now = clock.utcnow()
    year = clock.to_local(now, tz).year
    return now, year, sequences.next_value(f"{SERIES}-{year}")


def check_deadline(deadline, tz, error=RuleError):
    if deadline is None or deadline < clock.today(tz):
        raise error("整改期限不能早于今天", "deadline")
    return deadline


def serve(machine, actor, notice, served_to="", refused=False, witness="", at=None):
    """送达: record who received it and when (or 拒签 with a witness). Returns the note for the
    timelines ("签收人 …" / "拒签，见证人 …"). Call inside a transaction."""
    error = machine.error
    refused_step = machine.refusal(notice, SERVE)
    if refused_step:
        raise error(ALREADY_SERVED if notice.is_served and notice.voided_at is None else refused_step)
    served_to = checked_text(served_to, 60, "签收人", "served_to", error=error)
    witness = checked_text(witness, 60, "见证人", "witness", error=error)
    if refused and not witness:
        raise error("拒签须填写见证人", "witness")
    if not refused and not served_to:
        raise error("请填写签收人", "served_to")
    now = clock.utcnow()
    at = clock.to_utc_naive(clock.aware(at)) if at is not None else now
    # Minutes, as a phone's time picker gives them: served in the minute it was issued is fine.
    if at > now or at < notice.issued_at.replace(second=0, microsecond=0):
        raise error("送达时间应在开具之后、现在之前", "at")
    who = f"拒签，见证人 {witness}" if refused else f"签收人 {served_to}"
    machine.transition(actor, notice, notice.version, SERVE, note=who, served_at=at, served_to=served_to,
                       refused=refused, witness=witness)
    return who


def void(machine, actor, notice, reason):
    """作废 a notice issued in error, before it is served; its number is not given out again.
    Call inside a transaction."""
    error = machine.error
    reason = checked_text(reason, 200, "作废原因", "reason", required=True, error=error)
    if notice.voided_at is None and notice.is_served:
        raise error("已送达的通知书不能作废")
    return machine.transition(actor, notice, notice.version, VOID, note=reason, voided_at=clock.utcnow(),
                              void_reason=reason)
