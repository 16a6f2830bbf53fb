"""Finding tickets: the list's text search, its count per state, the cases library, and similar
cases (举一反三) with the reason each is shown.

A query is cut into words as the ticket texts were (kefu/words.py); each word matches itself or one
of the estate's synonyms, and every word must match, in any order. A quoted phrase ("水管漏水") must
appear exactly. Pieces without Chinese that carry digits (a room 2-1502, a plate A12345, a ticket
number) are matched as substrings of the ticket's own columns instead: the word index splits them
at hyphens and between letters and digits, so only a substring finds 1502 in 5-2-1502 or 12345 in
沪A12345.

Every search reads matches newest first and stops when a page is full, so it costs about the same
after ten years as after one; counts of closed tickets stop at COUNT_CAP (20+) for the same reason.
"""
import dataclasses
import datetime
import heapq
import re

import peewee

from . import clock
from . import words
from .access import may_change
from .db import contains
from .db import database
from .db import is_sqlite
from .db import Prepared
from .db import PreparedIn
from .db import Union
from .db import parts
from .estate import Building
from .estate import current_tz as _tz
from .estate import Household
from .estate import Resident
from .estate import Zone
from .tickets import OPEN
from .tickets import STATES
from .tickets import Ticket
from .tickets import outcome
from .users import Unit
from .words import TicketSearch
from .words import TicketWord
from .workorders import WorkOrder

COUNT_CAP = 20
_QUOTED = re.compile(r'"([^"]*)"|“([^”]*)”')
_SUBSTRING = re.compile(r"[0-9]")


@dataclasses.dataclass
class Query:
    """What a typed search asks for: word terms (each a word and its synonyms), exact phrases and
    substrings of the ticket's columns."""

    terms: list
    phrases: list
    substrings: list
    # SQLite: the terms' MATCH text given as it is, in place of the one `terms` make (`with_values`).
    match_text: str | None = None

    @property
    def empty(self):
        return not (self.terms or self.phrases or self.substrings)

    def __bool__(self):
        return not self.empty

    # A search's statements differ from another's of the same shape only in these values: each is one
    # parameter of the SQL (on SQLite: the terms' MATCH text, then each exact piece), so a page can keep
    # a statement per shape and run it with the values of each search (db.Shapes).

    @property
    def shape(self):
        return (bool(self.terms), len(self.phrases) + len(self.substrings))

    def values(self):
        """The parameters this search puts in its statements (SQLite), in the order `with_values` reads."""
        return ([words.fts_expression(self.terms)] if self.terms else []) + self.phrases + self.substrings

    def with_values(self, values):
        """The search of the same shape whose parameters are `values` (the examples a statement is
        written with, or another search's own)."""
        values = list(values)
        match_text = values.pop(0) if self.terms else None
        return Query(self.terms, values, [], match_text=match_text)


def parse(text, synonyms=None):
    """What `text` asks for (a Query passed in is returned as it is, so a page parses once)."""
    if isinstance(text, Query):
        return text
    text = (text or "").replace("\x00", "").strip()
    if synonyms is None:
        synonyms = words.synonym_map() if text else {}
    terms, phrases, substrings = [], [], []

    def add_words(piece, expand):
        for word in words.cut(piece):
            term = words.expand(word, synonyms) if expand else [word]
            if term not in terms:
                terms.append(term)

    for found in _QUOTED.finditer(text):
        phrase = (found.group(1) or found.group(2) or "").strip()
        if phrase:
            phrases.append(phrase)
            add_words(phrase, expand=False)
    for chunk in _QUOTED.sub(" ", text).split():
        if not words.is_cjk(chunk) and _SUBSTRING.search(chunk):
            substrings.append(chunk)
        else:
            add_words(chunk, expand=True)
    return Query(terms, phrases, substrings)


def _contains_any_column(text):
    return (contains(Ticket.description, text) | contains(Ticket.location, text)
            | contains(Ticket.customer_name, text) | contains(Ticket.number, text))


def _words_match(query):
    """The word index's condition for the query's terms (FTS5 on SQLite, the tsvectors on PostgreSQL)."""
    return words.match_text(query.match_text) if query.match_text is not None else words.matching(query.terms)


def _exact(query):
    conditions = [_contains_any_column(piece) for piece in query.phrases + query.substrings]
    result = None
    for condition in conditions:
        result = condition if result is None else result & condition
    return result


def search_ids(text):
    """A sub-query of the ids of tickets matching `text`, or None when nothing was typed."""
    query = parse(text)
    if query.empty:
        return None
    exact = _exact(query)
    if query.terms:
        if is_sqlite():
            ids = TicketSearch.select(TicketSearch.rowid).where(_words_match(query))
        else:
            ids = words.ids_matching(query.terms)
        if exact is None:
            return ids
        return Ticket.select(Ticket.id).where(Ticket.id.in_(ids) & exact)
    return Ticket.select(Ticket.id).where(exact)


def newest_matching(tickets, text):
    """Narrow a ticket query to tickets matching `text` (if any), newest first.

    Word queries walk the word index backwards by rowid (a ticket's id grows with its intake time);
    substring-only queries walk the intake-time index testing each ticket. Either stops when the page
    is full. When other filters leave few tickets (only open ones), `only_among` is cheaper.

    On PostgreSQL, when a word was typed that has no synonyms, its tickets are walked newest first
    from the (word, ticket) index, each joined to its ticket and tested for the other words
    (words.holds): that stops when the page is full, however much history there is. PostgreSQL can
    read one word's range of that index in order but does not merge several ranges (a word and its
    synonyms) in order, so a search whose every word has synonyms goes through the stored tsvectors
    instead (words.matching), where the planner walks the tickets testing each for a common word and
    reads a rare one's from the GIN index.
    """
    query = parse(text)
    exact = _exact(query)
    driver = next((term for term in query.terms if len(term) == 1), None) if not is_sqlite() else None
    if driver is not None:
        others = [term for term in query.terms if term is not driver]
        tickets = (tickets.join_from(Ticket, TicketWord, on=(TicketWord.ticket_id == Ticket.id))
                   .where(TicketWord.word == driver[0]).order_by(TicketWord.ticket_id.desc()))
        if others:
            tickets = tickets.where(words.holds(others, Ticket.id))
    elif query.terms:
        model = words.index_model()
        tickets = (tickets.join_from(Ticket, model, on=(model.rowid == Ticket.id))
                   .where(_words_match(query)).order_by(model.rowid.desc()))
    else:
        tickets = tickets.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    return tickets.where(exact) if exact is not None else tickets


def matches(text):
    """A condition on Ticket: the ticket matches `text` (tested ticket by ticket: for queries that
    already leave few, such as the open ones; reading every match to test them against took 10 ms
    at ten years and grew with them)."""
    query = parse(text)
    exact = _exact(query)
    if not query.terms:
        return exact
    if is_sqlite():
        found = peewee.fn.EXISTS(TicketSearch.select(peewee.SQL("1")).where(_words_match(query)
                                                                            & (TicketSearch.rowid == Ticket.id)))
    else:
        found = words.holds(query.terms, Ticket.id)
    return found & exact if exact is not None else found


def only_among(tickets, text):
    """Like `newest_matching`, testing each of a few tickets (the open ones) against the index."""
    condition = matches(text) if parse(text) else None
    if condition is not None:
        tickets = tickets.where(condition)
    return tickets.order_by(Ticket.created_at.desc(), Ticket.id.desc())


def state_counts(tickets, text, run=None):
    """How many tickets of `tickets` (a query without a state filter) match `text`, per state:
    [(state, label, count, capped)] for the states that have any. Open states are few and counted
    exactly; closed ones up to COUNT_CAP ("20+"): reading deeper into ten years of matches costs
    more the more there are. `run(name, build, query)` runs each statement, `build(query)` (a page
    may keep them per shape: db.Shapes); by default each is built and run at once."""
    run = run or run_now
    counts = {}
    text = parse(text)

    def open_counts(query):
        return (only_among(tickets.where(Ticket.state.in_(OPEN)), query)
                .select(Ticket.state, peewee.fn.COUNT(Ticket.id)).order_by().group_by(Ticket.state))

    def closed(query):
        return newest_matching(tickets.where(Ticket.state == "closed"), query).select(Ticket.id).limit(COUNT_CAP + 1)

    for state, count in run("open_counts", open_counts, text):
        counts[state] = (count, False)
    count = len(list(run("closed", closed, text)))
    if count:
        counts["closed"] = (min(count, COUNT_CAP), count > COUNT_CAP)
    return [(state, label, *counts[state]) for state, label in STATES.items() if state in counts]


def run_now(_name, build, query):
    """The rows (tuples) of the statement `build(query)` gives, built now."""
    return database.execute(build(query))


def cases(text="", limit=50, offset=0):
    """Tickets marked as cases (案例), newest first, matching `text` if given."""
    query = Ticket.live().where(Ticket.is_case)
    if parse(text):
        query = query.where(matches(text))
    return query.order_by(Ticket.created_at.desc()).limit(limit).offset(offset)


# Similar cases (举一反三)

REPEAT_WITHIN = datetime.timedelta(days=30)
# How many of the newest tickets sharing each word are read: enough for a ticket's neighbours, few
# enough that ten years cost what one does.
WORD_POOL = 200
MOST_WORDS = 12


@dataclasses.dataclass
class Similar:
    """One earlier ticket on the 举一反三 panel, with why it is shown."""

    ticket: Ticket
    reasons: list
    score: float = 0.0
    shared: list = dataclasses.field(default_factory=list)  # the words it shares with the new one
    repeat: bool = False      # 重复诉求: same household or place, same kind, within 30 days
    readonly: bool = False    # another zone's: shown, not opened
    zone_name: str = ""
    units: list = dataclasses.field(default_factory=list)
    age: str = ""

    @property
    def outcome(self):
        return outcome(self.ticket)

    @property
    def line(self):
        """同一位置 · 3 天前 · 已关闭 · 不满意"""
        return " · ".join(self.reasons + [self.age, self.outcome])


def _age(then, now):
    days = (now.date() - then.date()).days
    return "今天" if days <= 0 else "昨天" if days == 1 else f"{days} 天前"


def similar(ticket=None, *, viewer=None, household=None, place=None, building=None, category="", text="",
            limit=8, synonyms=None):
    """举一反三: earlier tickets at the same household or public place, in the same building and
    category, or with similar words, ranked, each with its reasons. Other zones' tickets are included
    and marked read-only for a viewer who may not open them."""
    if ticket is not None:
        household, place, building = ticket.household_id, ticket.place_id, ticket.building_id
        category, text = ticket.category, ticket.description
    now = clock.utcnow() if ticket is None else ticket.created_at
    bound = (ticket.id, ticket.created_at) if ticket is not None else None
    found = {}

    def credit(ticket_id, reason, score):
        entry = found.setdefault(ticket_id, {"reasons": [], "score": 0.0, "shared": []})
        if reason and reason not in entry["reasons"]:
            entry["reasons"].append(reason)
        entry["score"] += score

    for reason, score, ids in _spots(household, place, building, category, bound):
        for ticket_id in ids:
            credit(ticket_id, reason, score)
    if synonyms is None:
        synonyms = words.synonym_map()
    said = words.meaningful(words.cut(text))[:MOST_WORDS]
    terms = []
    for word in said:
        term = words.expand(word, synonyms)
        if not any(set(term) & set(other) for other in terms):
            terms.append(term)
    if terms:
        matches = words.newest_ids_each(terms, WORD_POOL, before=bound[0] if bound else None)
        weights = [words.weight(len(ids), WORD_POOL) for ids in matches]
        total = sum(weights)
        for term, weight, ids in zip(terms, weights, matches):
            share, word = 3.0 * weight / total, term[0]
            for ticket_id in ids:
                entry = found.get(ticket_id)
                if entry is None:
                    found[ticket_id] = {"reasons": [], "score": share, "shared": [word]}
                else:
                    entry["score"] += share
                    entry["shared"].append(word)
    if not found:
        return []
    tz = _tz()
    may_open = _reader(viewer)
    # Only those worth a look: a place or household in common, or a good part of the words.
    ranked = heapq.nsmallest(limit * 4, found.items(), key=lambda item: (-item[1]["score"], -item[0]))
    ids = [ticket_id for ticket_id, _ in ranked]
    # What the final order needs of each candidate first; the whole of only the `limit` kept after.
    candidates = {t.id: t for t in _CANDIDATES[bound is not None](ids, *(bound or ()))}
    scored = []
    for ticket_id, entry in ranked:
        earlier = candidates.get(ticket_id)
        if earlier is None:
            continue
        reasons = list(entry["reasons"])
        score = entry["score"]
        shared = entry["shared"]
        if shared:
            reasons.append("相似描述：" + "、".join(shared[:3]))
        if category and earlier.category == category:
            score += 0.5
        same_spot = (household is not None and earlier.household_id == getattr(household, "id", household)) or \
            (place is not None and earlier.place_id == getattr(place, "id", place))
        repeat = same_spot and (earlier.category == category or bool(shared)) and \
            now - earlier.created_at <= REPEAT_WITHIN
        if repeat:
            score += 2.0
            reasons.insert(0, "重复诉求")
        # Among equals, the more recent first.
        score += 0.3 / (1 + (now - earlier.created_at).days / 30)
        scored.append((-score, -ticket_id, reasons, shared, repeat))
    scored = sorted(scored)[:limit]
    whole = {t.id: t for t in _WHOLE([-key for _score, key, *_rest in scored])}
    results = []
    for minus_score, minus_id, reasons, shared, repeat in scored:
        earlier = whole.get(-minus_id)
        if earlier is None:
            continue  # voided between the two reads
        results.append(Similar(ticket=earlier, reasons=reasons, score=-minus_score, shared=shared, repeat=repeat,
                               readonly=not may_open(earlier),
                               zone_name=getattr(earlier, "zone_name", "") or "",
                               age=_age(clock.to_local(earlier.created_at, tz), clock.to_local(now, tz))))
    _add_units(results)
    return results


# 举一反三's reads, each built once (for each length of a list of ids, or each shape of question) and
# then run with the values of the moment: the intake page asks at every pause in typing.
_EXAMPLE_AT = datetime.datetime(1901, 2, 3, 4, 5, 6)  # a ticket's time no query holds as a constant


def _earlier(query, bound):
    """Only tickets before the one asking: its id and time (`bound`), or everything (None)."""
    return query.where((Ticket.id < bound[0]) & (Ticket.created_at <= bound[1])) if bound is not None else query


_CANDIDATES = {bounded: PreparedIn(Ticket, lambda ids, *bound: _earlier(
    Ticket.live().select(Ticket.id, Ticket.category, Ticket.household, Ticket.place, Ticket.created_at)
    .where(Ticket.id.in_(ids)), bound or None), *((-7, _EXAMPLE_AT) if bounded else ())) for bounded in (False, True)}
_WHOLE = PreparedIn(Ticket, lambda ids: Ticket.live().select(Ticket, Zone.name.alias("zone_name"))
                    .join_from(Ticket, Zone, peewee.JOIN.LEFT_OUTER, on=(Ticket.zone == Zone.id))
                    .where(Ticket.id.in_(ids)))
_SPOTS = {}  # the names of what is asked (household, place, building and category, bound) → Prepared


def _spots(household, place, building, category, bound):
    """[(reason, score, ids)]: the newest ten at the same household, at the same place, and in the same
    building and category, for those given; one statement, built once for each shape of question."""
    asked = []  # (name, value, example)
    if household is not None:
        asked.append(("household", getattr(household, "id", household), -11))
    if place is not None:
        asked.append(("place", getattr(place, "id", place), -12))
    if building is not None and category:
        asked += [("building", getattr(building, "id", building), -13), ("category", category, "\x00category")]
    if not asked:
        return []
    if bound is not None:
        asked += [("before", bound[0], -14), ("before_at", bound[1], _EXAMPLE_AT)]
    shape = tuple(name for name, _value, _example in asked)
    lists = [(name, reason, score) for name, reason, score in (
        ("household", "同一房号", 3.0), ("place", "同一位置", 3.0), ("building", f"同楼栋 · {category}", 1.5))
        if name in shape]
    prepared = _SPOTS.get(shape)
    if prepared is None:
        def build(*values):
            given = dict(zip(shape, values))
            base = _earlier(Ticket.live().select(Ticket.id), (given["before"], given["before_at"])
                            if "before" in given else None)
            newest = base.order_by(Ticket.id.desc())
            queries = {"household": lambda: newest.where(Ticket.household == given["household"]).limit(10),
                       "place": lambda: newest.where(Ticket.place == given["place"]).limit(10),
                       "building": lambda: base.where((Ticket.building == given["building"])
                                                      & (Ticket.category == given["category"]))
                       .order_by(Ticket.created_at.desc()).limit(10)}
            return Union([queries[name]() for name, _reason, _score in lists])
        prepared = _SPOTS[shape] = Prepared(Ticket, build, *[example for _name, _value, example in asked])
    rows = parts(prepared.cursor(*[value for _name, value, _example in asked]), len(lists))
    return [(reason, score, [ticket_id for (ticket_id,) in found])
            for (_name, reason, score), found in zip(lists, rows)]


def _reader(viewer):
    """Whether a ticket is the assistant's to act on (kefu/access.py): another zone's is shown read-only.
    The supervisor and the front desk see every request as it is."""
    if viewer is None or viewer.role != "assistant":
        return lambda ticket: True
    return lambda ticket: may_change(viewer, ticket)


def _add_units(results):
    """The units that did the work, for "how it was resolved"."""
    if not results:
        return
    by_ticket = {s.ticket.id: s for s in results}
    for source_id, name in (WorkOrder.select(WorkOrder.source_id, Unit.name)
                            .join(Unit, on=(WorkOrder.unit == Unit.id))
                            .where((WorkOrder.source_type == "ticket") & WorkOrder.source_id.in_(list(by_ticket)))
                            .order_by(WorkOrder.id).tuples()):
        if name not in by_ticket[source_id].units:
            by_ticket[source_id].units.append(name)


def similar_ids(**values):
    """The ids of `similar`'s ranking, best first (the labelled set's measure)."""
    return [s.ticket.id for s in similar(**values)]


# Pickers: a household by its 栋-单元-室, or by a resident's name in characters or pinyin

def households(typed, limit=20):
    """Households for a picker, each with `names`: the residents whose name matched (if any)."""
    typed = (typed or "").strip()[:30]
    if not typed or _SUBSTRING.search(typed) or not (words.is_cjk(typed) or words.is_pinyin(typed)):
        return list(Household.search(typed, limit=limit))  # a code: 3-2-1502, 3栋2单元1502室
    residents = Resident.select(Resident.household, Resident.name).where(Resident.voided_at.is_null())
    if words.is_cjk(typed):
        residents = residents.where(contains(Resident.name, typed))
    names = {}
    for household_id, name in residents.tuples():
        if words.name_matches(name, typed):
            names.setdefault(household_id, []).append(name)
    if not names:
        return []
    found = list(Household.live().join(Building).where(Household.id.in_(list(names)) & Building.voided_at.is_null())
                 .order_by(peewee.fn.LENGTH(Building.code), Building.code, Household.unit_no, Household.floor,
                           Household.room).limit(limit))
    for household in found:
        household.names = names[household.id]
    return found
