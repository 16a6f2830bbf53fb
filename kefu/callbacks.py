"""回访: the call or visit after the work — a request's return visit and a personal service's quality
call-back alike — with one set of outcomes and one rule for what each does.

满意 / 基本满意 close the record; 不满意 (with what the customer said) reopens it for the work to be
put right; 未接通 is counted and the call-back stays due. A record that is called back declares the
three steps under these names in its lifecycle (CLOSE, REOPEN, UNREACHED); what else each writes is
its own (the reopened request's new deadline, the service's rework count).
"""
import peewee

from . import clock
from .db import BaseModel
from .db import RuleError
from .db import database
from .events import record_key
from .users import User

METHODS = ["电话", "上门", "微信"]
# A resident's own rating through their request's link (kefu/residents.py): one more way the same
# answer comes in, taken only from the residents' actor.
RESIDENT_METHOD = "住户评价"
SATISFIED = ["满意", "基本满意"]
UNHAPPY = "不满意"
UNREACHED_RESULT = "未接通"
RESULTS = [*SATISFIED, UNHAPPY, UNREACHED_RESULT]
# The answers a customer gave (not 未接通): the satisfaction figures count these.
ANSWERS = [*SATISFIED, UNHAPPY]

# The steps a called-back record declares.
CLOSE, REOPEN, UNREACHED = "close", "reopen", "unreached"
STEP_OF = {"满意": CLOSE, "基本满意": CLOSE, UNHAPPY: REOPEN, UNREACHED_RESULT: UNREACHED}


class CallBack(BaseModel):
    """One call-back: the record it was about (a typed reference), when, by whom, how, the answer."""

    record_type = peewee.CharField(max_length=20)
    record_id = peewee.IntegerField()
    at = peewee.DateTimeField()
    by = peewee.ForeignKeyField(User, backref="+", on_delete="RESTRICT")
    method = peewee.CharField(max_length=10)
    result = peewee.CharField(max_length=10)
    words = peewee.TextField(default="")

    class Meta:
        table_name = "customer_callback"
        # A record's call-backs; (result, at): the 不满意 of the last weeks (the visit planner) without
        # every call-back ever made.
        indexes = ((("record_type", "record_id", "at"), False), (("result", "at"), False),
                   (("record_type", "at"), False))  # the last 30 days' answers (the visit planner's 不满意)

    @classmethod
    def of(cls, record_type):
        """The join condition from call-backs to the records of one model (Ticket, ServiceOrder)."""
        return (cls.record_type == record_type.__name__.lower()) & (cls.record_id == record_type.id)


MODELS = [CallBack]


def of_record(record):
    """A record's call-backs, oldest first, each with `by_name`."""
    record_type, record_id = record_key(record)
    return list(CallBack.select(CallBack, User.display_name.alias("by_name")).join(User, on=(CallBack.by == User.id))
                .where((CallBack.record_type == record_type) & (CallBack.record_id == record_id))
                .order_by(CallBack.at, CallBack.id).objects())


def last_unhappy(record):
    """When the customer last said 不满意 about `record`, or None."""
    record_type, record_id = record_key(record)
    row = (CallBack.select(CallBack.at).where((CallBack.record_type == record_type) & (CallBack.record_id == record_id)
                                              & (CallBack.result == UNHAPPY))
           .order_by(CallBack.at.desc()).first())
    return row.at if row else None


def record(actor, machine, subject, expected_version, method, result, words="", fields=None, error=RuleError):
    """Record a call-back about `subject` and take the step its answer leads to on `machine`:
    `fields` ({step: {column: value}}) are what that step writes besides. Returns the subject as it is now."""
    if method not in METHODS and not (method == RESIDENT_METHOD and actor.role == "resident"):
        raise error("请选择回访方式", "method")
    if result not in RESULTS:
        raise error("请选择回访结果", "result")
    words = (words or "").strip()
    if len(words) > 500:
        raise error("客户的意见不能超过 500 个字", "words")
    if result == UNHAPPY and not words:
        raise error("请记录客户不满意的地方，以便重新处理", "words")
    step = STEP_OF[result]
    if step not in machine.steps:
        raise error("请选择回访结果", "result")
    refused = machine.refusal(subject, step, actor.role)
    if refused:
        raise error(refused)
    record_type, record_id = record_key(subject)
    note = (f"{method}：{result}" if method == RESIDENT_METHOD else f"{method}回访：{result}") + \
        (f"。客户说：{words}" if words else "")
    with database.atomic():
        CallBack.create(record_type=record_type, record_id=record_id, at=clock.utcnow(), by=actor, method=method,
                        result=result, words=words)
        return machine.transition(actor, subject, expected_version, step, note=note, **(fields or {}).get(step, {}))
