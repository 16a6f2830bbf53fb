"""The agenda: every item waiting on one person, with its deadline.

Each area says what it owes whom through an `owed(user, now)` function that returns `Item`s; the
agenda asks the sources listed in `SOURCES` (an explicit list, so a reader sees every kind of work
in one place) and orders what they give by urgency. 今日 for every role is this agenda.

An item points at its record by a typed reference (`ref`, a (kind, id) pair such as ("ticket", 12));
the web layer turns it into a link, so rules never build URLs.
"""
import dataclasses
import datetime
import functools

import peewee

from . import clock
from . import db
from .estate import current_tz as _tz
from .events import Event


@dataclasses.dataclass(frozen=True)
class Item:
    """One thing a person owes: what, on which record, by when, and the one next step."""

    kind: str            # code name of the wait, e.g. "ticket.respond", "workorder.accept"
    group: str           # the 今日 heading it sits under, e.g. "待响应"
    ref: tuple           # (record kind, id), e.g. ("ticket", 12); the page that opens it
    title: str           # short Chinese line naming the record, e.g. "3-2-1502 厨房水管漏水"
    due: datetime.datetime | None = None   # UTC deadline; None: no clock (ordered after the timed)
    action: str = ""     # the one next step's label, e.g. "响应"; "" when opening the record is the step
    action_ref: tuple | None = None        # where that step is taken, when not the record's page
    urgent: bool = False  # 紧急 first, and may sound
    detail: str = ""     # one line under the title, e.g. the rejection reason of a rework
    photo_ids: tuple = ()  # photos that belong on the card (a rework's rejection photos)
    number: str = ""     # the record's number as people say it, e.g. "BS202612040003"
    since: datetime.datetime | None = None  # when it began waiting, where the age matters (上报)
    meta: str = ""       # the card's small line: number, tier, holder
    rank: int = 0        # ahead of every deadline when below 0 (the supervisor's 待处理 escalations)
    role: str = ""       # the role that owes it
    who: str = ""        # whose it is, for the supervisor's view: the zone or the unit

    def late(self, now):
        return self.due is not None and self.due < now

    def order(self, now):
        """Sort key: urgent first, then the late (oldest first), then by deadline, clockless last."""
        # Equal deadlines in one order on every database: by kind, then by record.
        return (self.rank, not self.urgent, self.due is None, self.due or datetime.datetime.max, self.kind,
                str(self.ref))


# Where items come from: each record kind's declared waits (lifecycle.Wait), narrowed to the person.

@dataclasses.dataclass(frozen=True)
class Source:
    """One record kind's waits as agenda items.

    `machine`: the record's lifecycle, whose `waits` say which states wait on which role and by when.
    `ref`: the kind in the items' refs. `query()`: the records with what their cards need.
    `scope[role](user, query)`: that query narrowed to what `user` owes (absent role: owes nothing).
    `describe(record)`: the item's title, detail, number and urgency as a dict.
    """

    machine: object
    ref: str
    query: object
    scope: dict
    describe: object

    def items(self, user, now, everyone=False, late_only=False):
        """The items `user` owes (`everyone`: every item of this kind, whoever owes it; `late_only`:
        only those past their deadline at `now`, the database skipping what can't be late)."""
        waits = self.machine.waits if everyone else self.machine.waits_on(user.role)
        if not waits:
            return []
        states = sorted({s for w in waits for s in w.states})
        field = self.machine.state_field
        if everyone:
            records = self._everyone(waits, states, field, now if late_only else None)
        else:
            narrow = self.scope.get(user.role)
            if narrow is None:
                return []
            records = self._owed_by(user, narrow, states, field)
        found = []
        for record in records:
            state = getattr(record, field.name)
            for wait in waits:
                if wait.holds(record, state):
                    due = wait.deadline(record)
                    if late_only and (due is None or due >= now):
                        break  # the database can't tell a deadline worked out in Python: not late, no card
                    step = self.machine.steps.get(wait.action)
                    fields = {"ref": (self.ref, record.get_id()), **self.describe(record)}
                    found.append(Item(kind=wait.kind, group=wait.group, due=due,
                                      action=wait.label or (step.label if step else ""), role=wait.role, **fields))
                    break
        return found

    def _waiting(self, query, states, field):
        query = query.where(field.in_(states))
        if self.machine.voidable:
            query = query.where(self.machine.model.voided_at.is_null())
        return query

    def _owed_by(self, user, narrow, states, field):
        """The records waiting in `states` that `narrow` gives `user`. The statement follows from the
        user's role, id, unit and zones (and the day, for sources that look back from it), so it is
        built once for those and kept (`_BUILT`): 今日 after a change runs it without building it."""
        from . import access

        key = (self.ref, user.role, user.id, user.unit_id, tuple(access.zone_ids(user)), clock.today(_tz()))

        def build():
            narrowed = narrow(user, self.query())
            return self._waiting(narrowed, states, field) if narrowed is not None else None
        return _BUILT.rows(key, self.machine.model, build)

    def _everyone(self, waits, states, field, now=None):
        """Every record waiting in `states` (with `now`: only those one of `waits` could find late
        then). Built once a day for each source and question (`_EVERYONE`), run with `now`."""
        key, today = (self.ref, now is not None), clock.today(_tz())
        held = _EVERYONE.get(key)
        if held is None or held[0] != today:
            def build(*at):
                query = self._waiting(self.query(), states, field)
                if now is None:
                    return query
                could_be_late = self._could_be_late(waits, states, field, at[0] if at else _EXAMPLE_NOW)
                return query.where(could_be_late) if could_be_late is not None else None
            probe = build()
            prepared = None
            if probe is not None:
                # A deadline kept in a column compares it with `now`; a state whose deadline is worked
                # out in Python is read whole, and a source with only those has no `now` to give.
                with_now = now is not None and _EXAMPLE_NOW in probe.sql()[1]
                prepared = db.Prepared(self.machine.model, build, *([_EXAMPLE_NOW] if with_now else []))
            held = _EVERYONE[key] = (today, prepared, with_now if probe is not None else False)
        _today, prepared, with_now = held
        if prepared is None:
            return []
        return prepared(*([now] if with_now else []))

    def _could_be_late(self, waits, states, field, now):
        """A condition keeping every record one of `waits` could find late at `now`: in a state whose
        waits all keep their deadline in a column, one of those columns is past; a state with a
        computed deadline is kept whole. None: nothing can be late."""
        model = self.machine.model
        options = []
        for state in states:
            dues = [w.due for w in waits if state in w.states and w.due is not None]
            if not dues:
                continue  # no clock: never late
            if any(callable(due) for due in dues):
                options.append(field == state)
                continue
            past = None
            for due in dict.fromkeys(dues):
                condition = getattr(model, due) < now
                past = condition if past is None else (past | condition)
            options.append((field == state) & past)
        if not options:
            return None
        condition = options[0]
        for option in options[1:]:
            condition = condition | option
        return condition


_BUILT = db.Kept()  # each source's statement per (source, role, user, unit, zones, day)
_EVERYONE = {}  # (source, late only) → (the day, its Prepared statement or None, whether it takes `now`)
_EXAMPLE_NOW = datetime.datetime(1901, 2, 3, 4, 5, 6)  # a time no query holds as a constant


def _in_zones(field):
    """Scope: the records of the assistant's zones."""
    from . import access

    def narrow(user, query):
        zones = access.zone_ids(user)
        return query.where(field.in_(zones)) if zones else None
    return narrow


@functools.cache
def sources():
    """Every kind of record that can wait on someone, in the order 今日 lists them."""
    from . import customers
    from . import evaluations
    from . import patrols
    from . import renovations
    from . import services
    from . import shops
    from . import summaries
    from . import tickets
    from . import workorders
    from .estate import Household
    from .estate import Zone
    from .users import Unit
    from .users import User
    Ticket, Tier, WorkOrder = tickets.Ticket, tickets.Tier, workorders.WorkOrder
    Holder = User.alias()

    def ticket(t):
        meta = " · ".join(part for part in (t.number, t.tier_name, t.assignee_name,
                                            f"重开 {t.reopen_count}" if t.reopen_count else "") if part)
        return {"title": f"{t.location} · {t.category}", "detail": _short(t.description), "number": t.number,
                "urgent": bool(t.urgent), "who": t.zone_name or "", "meta": meta}

    def order(o):
        if o.state == "rework":
            return {"title": f"{o.location} · {o.unit_name}", "detail": f"返工第 {o.rework_count} 次：{o.rework_reason}",
                    "number": o.number, "who": o.unit_name}
        return {"title": f"{o.location} · {o.unit_name}", "detail": _short(o.instructions), "number": o.number,
                "who": o.unit_name}

    def service(o):
        return {"title": f"{o.household_code} · {o.item_name}", "detail": _short(o.request), "number": o.number,
                "who": o.zone_name}

    def need(n):
        return {"title": f"{n.household_code} · {n.topic}", "detail": _short(n.what), "who": n.zone_name}

    def notice(n):
        return {"title": f"整改通知书 {n.number} · {n.about}", "detail": _short(n.demand), "who": n.zone_name}

    def finding(f):
        return {"title": f"{f.checkpoint_name} · {f.item_text}", "detail": _short(f.note), "who": f.zone_name}

    def violation(v):
        return {"title": f"{v.household_code} · {v.kind}", "detail": _short(v.description), "who": v.zone_name}

    def evaluation(e):
        return {"title": f"{e.period_label} 岗位评估", "detail": "主管已签字确认，请写本人意见"}

    def summary(s):
        return {"title": f"{s.month.year} 年 {s.month.month} 月月度总结", "who": s.user_name,
                "ref": ("summary", f"{s.user_id}/{s.month:%Y-%m}"),
                "detail": "请写完并提交" if s.state == "draft" else f"{s.user_name} 已提交"}

    zone_name = Zone.name.alias("zone_name")
    return (
        Source(tickets.MACHINE, "ticket", lambda: Ticket.select(
            Ticket, Tier.notify_supervisor.alias("urgent"), Tier.name.alias("tier_name"), zone_name,
            Holder.display_name.alias("assignee_name")).join(Tier)
            .join_from(Ticket, Zone, peewee.JOIN.LEFT_OUTER)
            .join_from(Ticket, Holder, peewee.JOIN.LEFT_OUTER, on=(Ticket.assignee == Holder.id)).objects(),
            {"assistant": lambda user, query: tickets.visible_to(user, query)}, ticket),
        Source(workorders.MACHINE, "workorder", lambda: WorkOrder.select(WorkOrder, Unit.name.alias("unit_name"))
               .join(Unit).objects(),
               {"unit": lambda user, query: query.where(WorkOrder.unit == user.unit_id) if user.unit_id else None,
                "assistant": _in_zones(WorkOrder.zone_id)}, order),
        Source(services.MACHINE, "serviceorder", lambda: services.ServiceOrder.select(
            services.ServiceOrder, Household.code.alias("household_code"),
            services.ServiceItem.name.alias("item_name"), zone_name)
            .join(Household).join_from(services.ServiceOrder, services.ServiceItem)
            .join_from(services.ServiceOrder, Zone).objects(),
            {"assistant": _in_zones(services.ServiceOrder.zone)}, service),
        Source(customers.NEEDS, "need", lambda: customers.Need.select(
            customers.Need, Household.code.alias("household_code"), zone_name).join(Household)
            .join_from(customers.Need, Zone).objects(),
            {"assistant": _in_zones(customers.Need.zone)}, need),
        Source(shops.MACHINE, "shopnotice", lambda: shops.ShopNotice.select(
            shops.ShopNotice, shops.Shop.name.alias("about"), zone_name).join(shops.Shop).join(Zone).objects(),
            {"assistant": _in_zones(shops.Shop.zone)}, notice),
        Source(renovations.NOTICE, "rectificationnotice", lambda: renovations.RectificationNotice.select(
            renovations.RectificationNotice, Household.code.alias("about"), zone_name)
            .join(renovations.Renovation).join(Household).join_from(renovations.Renovation, Zone).objects(),
            # "+ 0": the few notices waiting are found by their state, not by reading every renovation
            # the zone ever had and each one's notices.
            {"assistant": _in_zones(renovations.Renovation.zone + 0)}, notice),
        Source(patrols.FINDINGS, "finding", lambda: patrols.Finding.select(
            patrols.Finding, patrols.Checkpoint.name.alias("checkpoint_name"), zone_name)
            .join(patrols.Checkpoint).join_from(patrols.Finding, Zone).objects(),
            {"assistant": _in_zones(patrols.Finding.zone)}, finding),
        Source(renovations.VIOLATION, "violation", lambda: renovations.Violation.select(
            renovations.Violation, Household.code.alias("household_code"), zone_name)
            .join(renovations.Renovation).join(Household).join_from(renovations.Violation, Zone).objects(),
            {"assistant": _in_zones(renovations.Violation.zone), "supervisor": lambda user, query: query}, violation),
        Source(evaluations.MACHINE, "evaluation", evaluations.comment_candidates,
               {"assistant": lambda user, query: query.where(evaluations.Evaluation.user == user.id)}, evaluation),
        Source(summaries.MACHINE, "summary", lambda: summaries.MonthlySummary.select(
            summaries.MonthlySummary, User.display_name.alias("user_name"))
            .join(User, on=(summaries.MonthlySummary.user == User.id)).objects(),
            {"assistant": lambda user, query: query.where(summaries.MonthlySummary.user == user.id),
             "supervisor": lambda user, query: query}, summary),
    )


def _short(text, limit=40):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# What waits without a record in a waiting state: the day's patrol rounds, a month's summary not
# begun, an evaluation whose period has ended, a unit's score asked for. Each: (user, now) → items.

def _patrols_today(user, now):
    from . import access
    from . import patrols
    if user.role != "assistant":
        return []
    zones = access.zone_ids(user)
    if not zones:
        return []
    tz = _tz()
    end_of_day = clock.day_bounds(clock.to_local(now, tz).date(), tz)[1]
    board = patrols.coverage_today(zones, lists=False)
    return [Item(kind=f"patrol.{kind}", group="今日巡视", ref=("patrols", kind),
                 title=f"{group['label']}还有 {group['total'] - group['done']} 处未巡查",
                 detail=f"已查 {group['done']}/{group['total']}", due=end_of_day, action="去巡查", role="assistant")
            for kind, group in board.items() if group["total"] > group["done"]]


def _summary_not_begun(user, now):
    from . import summaries
    if user.role != "assistant":
        return []
    today = clock.to_local(now, _tz()).date()
    month = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    if user.created_at >= clock.day_bounds(month, _tz())[0]:
        return []  # not an assistant here for the whole of last month
    if summaries.MonthlySummary.select().where((summaries.MonthlySummary.user == user.id)
                                               & (summaries.MonthlySummary.month == month)).exists():
        return []
    return [Item(kind="summary.write", group="月度总结", ref=("summary", f"{user.id}/{month:%Y-%m}"),
                 title=f"{month.year} 年 {month.month} 月月度总结", detail="请写完并提交",
                 due=summaries.write_due(month), action="写总结", role="assistant")]


def _evaluations_due(user, now):
    from . import evaluations
    if user.role != "supervisor":
        return []
    tz = _tz()
    found = []
    for person, start, end, kind, draft, overdue in evaluations.due(clock.to_local(now, tz).date()):
        label = "月度" if kind == "monthly" else "季度"
        found.append(Item(kind="evaluation.score", group="到期的岗位评估", ref=("staff", person.id),
                          title=f"{person.display_name} · {label}评估", meta=f"{start:%Y-%m-%d} 至 {end:%Y-%m-%d}",
                          detail="草稿未完成" if draft else "",
                          due=clock.day_bounds(end + datetime.timedelta(days=evaluations.OVERDUE_DAYS), tz)[1],
                          action="评分", role="supervisor"))
    return found


def _unit_reviews(user, now):
    from . import evaluations
    if user.role != "unit":
        return []
    return [Item(kind="evaluation.review", group="请您评分", ref=("review", r.id),
                 title=f"{r.evaluation.user.display_name} · {r.evaluation.kind_label}",
                 detail=r.evaluation.period_label, action="评分", role="unit")
            for r in evaluations.waiting_for(user)]


def _escalations(user, now):
    from . import escalations
    if user.role != "supervisor":
        return []
    return escalations.owed(user, now)


EXTRAS = (_escalations, _patrols_today, _summary_not_begun, _evaluations_due, _unit_reviews)


def _more():
    """The sources other areas offer as plain `owed(user, now)` functions (residents, meetings, shops)."""
    import importlib
    found = []
    for name in ("residents", "meetings", "shops"):
        try:
            module = importlib.import_module(f"kefu.{name}")
        except ImportError:
            continue
        if hasattr(module, "owed"):
            found.append(module.owed)
    return tuple(found)


def agenda(user, now=None):
    """Everything waiting on `user`, most urgent first."""
    now = now or clock.utcnow()
    items = [item for source in sources() for item in source.items(user, now)]
    for extra in EXTRAS + _more():
        items.extend(extra(user, now))
    return sorted(items, key=lambda item: item.order(now))


def everyone(now=None):
    """Every item waiting on anybody (the supervisor's late view and the lateness rule read this)."""
    now = now or clock.utcnow()
    return [item for source in sources() for item in source.items(None, now, everyone=True)]


def late(now=None):
    """Every item past its deadline, whoever owes it, the longest late first (the database leaves out
    the records whose deadlines are all still ahead)."""
    now = now or clock.utcnow()
    found = [item for source in sources() for item in source.items(None, now, everyone=True, late_only=True)]
    return sorted((item for item in found if item.late(now)), key=lambda item: (item.due, item.kind, str(item.ref)))


FOLD_KEEP = 5  # a group shows at least this many items before folding the rest
PRESSING = datetime.timedelta(hours=2)  # an item due sooner than this is never folded


def fold(items, now):
    """A group's items split into (shown, folded): every 紧急, late or soon-due item shows, as does what
    comes ahead of every deadline (an escalation waiting for the supervisor), and at least FOLD_KEEP in
    all; what can wait (due later, or with no clock) folds under one line."""
    soon = now + PRESSING
    shown, folded = [], []
    for item in items:
        pressing = item.urgent or item.rank < 0 or (item.due is not None and item.due <= soon)
        (shown if pressing or len(shown) < FOLD_KEEP else folded).append(item)
    return shown, folded


def grouped(items, now):
    """[(group, [items])], the groups in the order of their most urgent item."""
    groups = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    return sorted(groups.items(), key=lambda pair: pair[1][0].order(now))


# What changed since a page was drawn: every change writes the timeline, so the newest event's id
# (an index lookup) and the minute (deadlines come due without anyone acting) tell whether an open
# 今日 must be drawn again. The count on the tab is kept per person for that stamp.

_NEWEST_EVENT = db.Prepared(Event, lambda: Event.select(peewee.fn.MAX(Event.id)))


def stamp(now=None):
    now = now or clock.utcnow()
    newest = _NEWEST_EVENT.cursor().fetchone()[0] or 0
    return f"{newest}.{now:%Y%m%d%H%M}"


# What a person owes is worked out once per stamp and kept in the process: the 今日 tab's count on
# every page, 今日 itself and its live redraw read the same list until something changes (any change
# writes the timeline) or the minute turns. Items are never changed once made.
_KEPT = {}  # user id (None: the late list) → (stamp, items)
_KEPT_MOST = 1000


def _kept(key, current, make):
    held = _KEPT.get(key)
    if held is not None and held[0] == current:
        return held[1]
    found = make()
    if len(_KEPT) > _KEPT_MOST:
        _KEPT.clear()
    _KEPT[key] = (current, found)
    return found


def agenda_kept(user, now=None, current=None):
    """`agenda(user, now)`, worked out once per stamp (`current`: the stamp, if already read)."""
    now = now or clock.utcnow()
    return _kept(user.id, current or stamp(now), lambda: agenda(user, now))


def late_kept(now=None, current=None):
    """`late(now)`, worked out once per stamp."""
    now = now or clock.utcnow()
    return _kept(None, current or stamp(now), lambda: late(now))


def forget():
    """Drop what is kept (tests; the bench's cold rows)."""
    _KEPT.clear()


def count(user, now=None, current=None):
    """How many items wait on `user` (the number on the 今日 tab), worked out once per stamp."""
    return len(agenda_kept(user, now, current))
