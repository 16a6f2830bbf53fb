"""Who may see and who may change each kind of record, by role, zone and unit: the one place that
decides it. Views ask through one helper (`views.record_or_404`); templates through `may_see` /
`may_change`, so a page links only what its reader may open.

`RULES` reads as a table: for each kind of record, each role that may see it at all, and two scopes,
who may see it and who may change it. A scope names which of the kind's records: `all`, `zone` (in
one of the assistant's zones), `held` (the request is theirs), `made` (they made it), `unit` (their
business unit's), `self` (it is their own), `signed` (signed off), `reviewer` (they were asked to
score it); `a|b` is either, `a b` both. No scope (None): not at all.

Reading reaches past the zone where the manual needs it: an assistant learns from earlier requests
anywhere (举一反三: the similar cases, the case library) and reads a household's whole history (its
requests, needs and visits), whichever zone it lies in. Changing stays with the zone's assistant
(or the one holding a request) and the supervisor. Full phone numbers go only to those who call
residents (`may_see_phones`).

Lists are narrowed to the reader's work with `work_zone_ids` (an assistant's zones; everyone else's,
all of them); the zones themselves come from `zone_ids`, the only query of who looks after which.
"""
from .db import Prepared
from .estate import Zone
from .estate import ZoneAssistant
from .estate import ZoneBuilding

ADMIN, SUPERVISOR, ASSISTANT, FRONTDESK, UNIT = "admin", "supervisor", "assistant", "frontdesk", "unit"
ANY = ("all", "all")
IN_ZONE = ("zone", "zone")
PATROL = {ADMIN: ("all", None), SUPERVISOR: ANY, ASSISTANT: IN_ZONE}
ZONE_WORK = {SUPERVISOR: ANY, ASSISTANT: IN_ZONE}
HISTORY = {SUPERVISOR: ANY, FRONTDESK: ANY, ASSISTANT: ("all", "zone")}

RULES = {
    # Requests: the front desk reads every one and changes none; an assistant reads any, changes
    # their zone's and those handed to them.
    "Ticket": {SUPERVISOR: ANY, FRONTDESK: ("all", None), ASSISTANT: ("all", "zone|held")},
    # Work orders: the unit it went to, the assistants of its zone (or who dispatched it).
    "WorkOrder": {SUPERVISOR: ANY, ASSISTANT: ("zone|made", "zone|made"), UNIT: ("unit", "unit")},
    "ServiceOrder": ZONE_WORK,
    # A household's history: profile and residents, needs, visits and what was said on them.
    "Household": {ADMIN: ANY, **HISTORY},
    "Need": HISTORY,
    "Visit": {SUPERVISOR: ANY, ASSISTANT: ("all", "zone")},
    "Opinion": {SUPERVISOR: ANY, ASSISTANT: ("all", "zone")},
    # Patrols: the administrator sets checkpoints up and reads what was found; patrolling and
    # handling findings is the zone's.
    "Checkpoint": PATROL,
    "Check": PATROL,
    "Finding": PATROL,
    "Observation": PATROL,
    "Renovation": ZONE_WORK,
    "Violation": ZONE_WORK,
    "RectificationNotice": ZONE_WORK,
    "Referral": ZONE_WORK,
    "Shop": ZONE_WORK,
    "ShopNotice": ZONE_WORK,
    "Licence": ZONE_WORK,
    # A government inspection may see shops of several zones: it is the estate's.
    "Inspection": {SUPERVISOR: ANY, ASSISTANT: ANY},
    # The supervisor's desk: an assistant sees their own evaluation once signed off (not the
    # unfinished scores), their own summary and work record.
    "Evaluation": {SUPERVISOR: ANY, ASSISTANT: ("self signed", "self signed")},
    "UnitReview": {UNIT: ("reviewer", "reviewer")},
    "MonthlySummary": {SUPERVISOR: ANY, ASSISTANT: ("self", "self")},
    "WorkRecord": {SUPERVISOR: ("all", None), ASSISTANT: ("self", "self")},
    "Meeting": {SUPERVISOR: ANY, ASSISTANT: ANY},
}


class WorkRecord:
    """An assistant's work record (工作记录), which is no table of its own: `WorkRecord(user)`."""

    def __init__(self, user):
        self.user_id = user.id


# Zones

_ZONE_IDS = Prepared(ZoneAssistant, lambda user_id: ZoneAssistant.select(ZoneAssistant.zone)
                     .where(ZoneAssistant.user == user_id), -1)


def zone_ids(user):
    """The ids of the zones an assistant looks after (none for anyone else). A user signed in for
    one request (`for_one_request`) keeps them for it: a page asks for every card it links."""
    if user.role != ASSISTANT:
        return []
    kept = getattr(user, "_zone_ids", None)
    if kept is not None:
        return kept
    ids = [link.zone_id for link in _ZONE_IDS(user.id)]
    if getattr(user, "_one_request", False):
        user._zone_ids = ids
    return ids


def for_one_request(user):
    """Mark a user loaded for one request: their zones are read once in it."""
    if user is not None:
        user._one_request = True
    return user


def work_zone_ids(user):
    """The zones whose records make up the user's lists: an assistant's own; everyone else's, all."""
    if user.role == ASSISTANT:
        return zone_ids(user)
    return [zone.id for zone in Zone.live().select(Zone.id)]


def in_zone(user, zone_id):
    return zone_id is not None and zone_id in zone_ids(user)


def _household_zone(household):
    link = ZoneBuilding.select(ZoneBuilding.zone).where(ZoneBuilding.building == household.building_id).first()
    return link.zone_id if link else None


# Where each kind keeps its zone, when not in its own zone_id.
ZONE_OF = {
    "Check": lambda check: check.checkpoint.zone_id,
    "Opinion": lambda opinion: opinion.visit.zone_id,
    "RectificationNotice": lambda notice: notice.renovation.zone_id,
    "Referral": lambda referral: referral.renovation.zone_id,
    "ShopNotice": lambda notice: notice.shop.zone_id,
    "Licence": lambda licence: licence.shop.zone_id,
    "Household": _household_zone,
}


def zone_of(record):
    kind = type(record).__name__
    return ZONE_OF[kind](record) if kind in ZONE_OF else record.zone_id


# Scopes

SCOPES = {
    "all": lambda user, record: True,
    "zone": lambda user, record: in_zone(user, zone_of(record)),
    "held": lambda user, record: record.assignee_id == user.id,
    "made": lambda user, record: record.created_by_id == user.id,
    "unit": lambda user, record: user.unit_id is not None and record.unit_id == user.unit_id,
    "self": lambda user, record: record.user_id == user.id,
    "signed": lambda user, record: record.state == "signed",
    "reviewer": lambda user, record: record.reviewer_id == user.id,
}


def _within(scope, user, record):
    if not scope:
        return False
    return any(all(SCOPES[part](user, record) for part in alternative.split())
               for alternative in scope.split("|"))


def _scope(user, record, which, kind=None):
    if user is None or not getattr(user, "is_authenticated", True):
        return None
    rules = RULES[kind or type(record).__name__]
    return (rules.get(user.role) or (None, None))[which]


def may_see(user, record, kind=None):
    """Whether `user` may open `record` (`kind` names it when its class doesn't: "WorkRecord")."""
    return record is not None and _within(_scope(user, record, 0, kind), user, record)


def may_change(user, record, kind=None):
    """Whether `user` may take a step on `record`, fill in its forms or make records from it."""
    return record is not None and _within(_scope(user, record, 1, kind), user, record)


def may_see_phones(user, record):
    """Full numbers for those who call residents: the supervisor, the front desk, the administrator,
    the assistant of the household's zone and, on a request, whoever may change it. Everyone else
    gets 138****1234."""
    if user.role in (SUPERVISOR, FRONTDESK, ADMIN):
        return True
    if type(record).__name__ == "Household":
        return user.role == ASSISTANT and in_zone(user, _household_zone(record))
    return may_change(user, record)
