"""Per-address rate limits: failed sign-ins, photo uploads and PDF rendering.

The counts live in the database, not in each server process. Flask-Limiter was the other choice,
but the storage its limits could share between gunicorn workers (and between app servers on one
PostgreSQL) is Redis, Memcached or MongoDB: one more service to install, run and back up for a
one-estate server. Its in-memory storage is per worker, so four workers would allow four times the
limit, and a restart would forget it. The database is already shared by every worker and server, and
one upsert per counted request (a sign-in that failed, an upload, a PDF) costs well under a
millisecond beside the scrypt check, the image decode or the PDF it guards.

Counting is by fixed window: `key` (what and from where) and the window's start. Rows of windows
that have passed are cleared by the scheduler.
"""

import ipaddress

import peewee

from . import clock
from .db import BaseModel
from .db import database

# What is limited: (requests allowed in a window, window in seconds). An office behind one address
# with a dozen phones stays far below these; a script does not.
LIMITS = {
    # Failed sign-ins from one address: past this every sign-in from it is refused until the window ends,
    # except from a browser that has signed in to the account it names before (kefu/users.py, "Who a
    # wrong password locks out"). The lockout stops guessing at one account; this stops guessing across
    # accounts from one place.
    "signin": (20, 15 * 60),
    # Photos uploaded from one address.
    "upload": (300, 10 * 60),
    # PDFs rendered for one address.
    "pdf": (120, 10 * 60),
    # Residents' public pages (kefu/residents.py): requests reported from one address and for one
    # household, nudges from one address, and private links asked for that name no request (guessing).
    "report": (10, 60 * 60),
    "report_household": (5, 60 * 60),
    "nudge": (30, 60 * 60),
    "link_miss": (30, 10 * 60),
}


class RateCount(BaseModel):
    """How many counted requests one address made in one window."""

    key = peewee.CharField(max_length=120)
    window = peewee.BigIntegerField()  # the window's start, in seconds since 1970 (UTC)
    count = peewee.IntegerField(default=0)

    class Meta:
        indexes = ((("key", "window"), True),)


MODELS = [RateCount]


def place(address):
    """Where a request comes from, as the limits count it: the address, or an IPv6 address's /64
    network. A phone or a household is given a whole /64 and picks addresses in it at will, so
    counting single IPv6 addresses would count nothing."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return (address or "-")[:100]
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _window(seconds, now):
    stamp = int(clock.aware(now).timestamp())
    return stamp - stamp % seconds


def _key(kind, address):
    return f"{kind}:{(address or '-')[:100]}"


def hit(kind, address, limits=None, now=None):
    """Count one request of `kind` from `address`; False when it goes past the limit (refuse it)."""
    allowed, seconds = (limits or LIMITS)[kind]
    key, window = _key(kind, address), _window(seconds, now or clock.utcnow())
    with database.atomic():
        (RateCount.insert(key=key, window=window, count=1)
         .on_conflict(conflict_target=[RateCount.key, RateCount.window],
                      update={RateCount.count: RateCount.count + 1})
         .execute())
        count = RateCount.select(RateCount.count).where((RateCount.key == key) & (RateCount.window == window)).scalar()
    return count <= allowed


def over(kind, address, limits=None, now=None):
    """True when `address` has used up its `kind` for the current window (nothing counted)."""
    allowed, seconds = (limits or LIMITS)[kind]
    count = RateCount.select(RateCount.count).where(
        (RateCount.key == _key(kind, address)) & (RateCount.window == _window(seconds, now or clock.utcnow()))).scalar()
    return (count or 0) >= allowed


def retry_after(kind, limits=None, now=None):
    """Seconds until the current window of `kind` ends."""
    _allowed, seconds = (limits or LIMITS)[kind]
    stamp = int(clock.aware(now or clock.utcnow()).timestamp())
    return seconds - stamp % seconds


def clear_old(now=None):
    """Forget windows that ended more than a day ago. Returns the rows removed."""
    cutoff = int(clock.aware(now or clock.utcnow()).timestamp()) - 86400
    return RateCount.delete().where(RateCount.window < cutoff).execute()
