"""The timeline: one append-only table of every change, who made it and when."""
import json

import peewee

from . import clock
from .db import BaseModel
from .db import Prepared


class Event(BaseModel):
    at = peewee.DateTimeField(index=True)
    actor_id = peewee.IntegerField(null=True)
    actor_name = peewee.CharField(default="系统")
    record_type = peewee.CharField()
    record_id = peewee.IntegerField()
    action = peewee.CharField()
    from_state = peewee.CharField(default="")
    to_state = peewee.CharField(default="")
    note = peewee.TextField(default="")
    data = peewee.TextField(default="")

    class Meta:
        # The timeline of a record; a person's day, for their work record; the audit log by action.
        indexes = ((("record_type", "record_id", "at"), False), (("actor_id", "at"), False),
                   (("action", "at"), False))

    def save(self, *args, **kwargs):
        # Append-only: an event is written once and never changed.
        if self.id is not None:
            raise PermissionError("events are append-only")
        return super().save(*args, **kwargs)

    def delete_instance(self, *args, **kwargs):
        raise PermissionError("events are append-only")

    @property
    def details(self):
        return json.loads(self.data) if self.data else {}


MODELS = [Event]

# Sign-in attempts with a username no account has are filed under this record type (record_id 0).
UNKNOWN_USER = "unknown_user"


def record_key(record):
    """The (type, id) a record is filed under on the timeline."""
    return type(record).__name__.lower(), record.get_id()


def record(actor, record, action, from_state="", to_state="", note="", **data):
    """Append one event for `record`; `actor` is a user or None for the system."""
    record_type, record_id = record_key(record)
    return Event.create(
        at=clock.utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.display_name if actor is not None else "系统",
        record_type=record_type,
        record_id=record_id,
        action=action,
        from_state=from_state or "",
        to_state=to_state or "",
        note=note or "",
        data=json.dumps(data, ensure_ascii=False, default=str) if data else "",
    )


def timeline(record, limit=200):
    """A record's events, oldest first."""
    return list(_TIMELINE(*record_key(record), limit))


_TIMELINE = Prepared(Event, lambda record_type, record_id, limit: Event.select().where(
    (Event.record_type == record_type) & (Event.record_id == record_id)).order_by(Event.at, Event.id).limit(limit),
    "ticket", -1, -2)


def changes(old, new, labels):
    """The fields that differ between two dicts, as {label: [old, new]} for the timeline."""
    return {labels.get(k, k): [old.get(k), new.get(k)] for k in new if old.get(k) != new.get(k)}
