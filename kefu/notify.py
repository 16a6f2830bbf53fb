"""What the phone and the team's chat are told, and when: the triggers above the outbox.

A new request and a new work order are told where they are made (tickets.create, workorders.dispatch
call `outbox.tell` in their own transaction). The changes that are lifecycle steps are heard here from
the machines' typed `Change` (never the timeline's words): a rejection goes to the unit, an
escalation to the supervisor. A scheduled job tells the assistant when a response clock has 15
minutes left, once per deadline. Lateness is told by the agenda's lateness rule through
`outbox.tell(kind="late", …)`.
"""
import datetime

from . import access
from . import clock
from . import escalations
from . import outbox
from . import scheduler
from . import tickets
from . import workorders
from .db import database
from .users import User

RESPONSE_WARNING = datetime.timedelta(minutes=15)
_installed = []


def install():
    """Listen to the machines (once per process)."""
    if _installed:
        return
    workorders.MACHINE.listen(_on_work_order)
    tickets.MACHINE.listen(_on_ticket)
    escalations.on_escalate(_on_late)
    _installed.append(True)


def unit_staff(unit_id):
    """The unit's own accounts (业务块 users), who see its work orders."""
    return list(User.live().where(User.active & (User.unit == unit_id)))


def _on_work_order(change):
    order = change.record
    if change.action == workorders.REJECT:
        outbox.tell("rejected", order, f"验收不通过 {order.number}：{(change.note or '')[:60]}，请返工",
                    users=unit_staff(order.unit_id), unit_id=order.unit_id, occasion=f"rework{order.rework_count}")


def _on_ticket(change):
    ticket = change.record
    if change.action in (tickets.ESCALATE, tickets.AUTO_ESCALATE):
        supervisors = [u for u in User.active_with_role("supervisor") if change.actor is None or u.id != change.actor.id]
        why = "超时自动上报" if change.action == tickets.AUTO_ESCALATE else "上报"
        outbox.tell("escalated", ticket, f"{why} {ticket.number}：{ticket.location} {(change.note or '')[:40]}",
                    users=supervisors, occasion=f"level{ticket.escalation_level}")


def _on_late(escalation, item):
    """The lateness rule escalated an item (in its transaction): whoever owed it is told it went late,
    and — unless it is a request, told above as its 超时自动上报 — the supervisors are told it came up."""
    from .estate import ZoneAssistant
    record = escalations.record_of(escalation)
    occasion = f"{item.kind}:{item.due:%Y%m%d%H%M}"
    zone_id = unit_id = None
    owners = []
    if record is not None and item.role == "unit" and getattr(record, "unit_id", None):
        unit_id = record.unit_id
        owners = unit_staff(unit_id)
    elif record is not None and item.role == "assistant":
        zone_id = access.zone_of(record)
        owners = list(User.select().join(ZoneAssistant, on=(ZoneAssistant.user == User.id))
                      .where((ZoneAssistant.zone == zone_id) & User.active)) if zone_id else []
    if record is not None and owners:
        outbox.tell("late", record, f"已超时：{item.title}（{item.group}）", users=owners, zone_id=zone_id,
                    unit_id=unit_id, occasion=occasion)
    if escalation.ref_type != "ticket":
        outbox.tell("escalated", escalation, f"超时上报：{item.title} · {escalation.reason}",
                    users=list(User.active_with_role("supervisor")), occasion=occasion)


def warn_response_due(now=None):
    """Tell the assistant (and the zone's robots) about each request whose response clock has 15
    minutes or less left, once per deadline. Returns how many requests were told."""
    now = now or clock.utcnow()
    # Any open state: a pause stops the resolution clock, never the response clock.
    soon = (tickets.Ticket.live().where(
        tickets.Ticket.responded_at.is_null() & tickets.Ticket.state.in_(tickets.OPEN)
        & (tickets.Ticket.response_due > now) & (tickets.Ticket.response_due <= now + RESPONSE_WARNING)))
    told = 0
    for ticket in soon:
        minutes = max(1, int((ticket.response_due - now).total_seconds() // 60))
        with database.atomic():
            told += bool(outbox.tell(
                "response_soon", ticket, f"还剩 {minutes} 分钟须响应 {ticket.number}：{ticket.location}",
                users=[ticket.assignee] if ticket.assignee_id else list(User.active_with_role("supervisor")),
                zone_id=ticket.zone_id, occasion=f"due{ticket.response_due:%Y%m%d%H%M}", now=now))
    outbox.wake()
    return told


scheduler.job("notify.response_due", 60)(warn_response_due)
scheduler.job("outbox.send", 30)(outbox.drain)
