"""The agenda: every item waiting on one person, with its deadline.

Each area says what it owes whom through an `owed(user, now)` function that returns `Item`s; the
agenda asks the sources listed in `SOURCES` (an explicit list, so a reader sees every kind of work
in one place) and orders what they give by urgency. 今日 for every role is this agenda.

An item points at its record by a typed reference (`ref`, a (kind, id) pair such as ("ticket", 12));
the web layer turns it into a link, so rules never build URLs.
"""
import dataclasses
import datetime


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

    def late(self, now):
        return self.due is not None and self.due < now

    def order(self, now):
        """Sort key: urgent first, then the late (oldest first), then by deadline, clockless last."""
        return (not self.urgent, self.due is None, self.due or datetime.datetime.max)
