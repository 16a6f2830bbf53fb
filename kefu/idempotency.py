"""One-time submission tokens: a double-tapped or resent form creates one record, not two."""
import peewee

from . import clock
from .db import BaseModel


class SubmitToken(BaseModel):
    token = peewee.CharField(unique=True, max_length=64)
    used_at = peewee.DateTimeField()
    record_type = peewee.CharField(default="")
    record_id = peewee.IntegerField(null=True)


MODELS = [SubmitToken]


def claim(token):
    """Claim a form's token inside the caller's transaction.

    Returns None when this is the first use, or the earlier SubmitToken when the same form was
    already submitted (the caller then shows the record made the first time).
    """
    if not token:
        return None
    try:
        with SubmitToken._meta.database.atomic():
            SubmitToken.create(token=token[:64], used_at=clock.utcnow())
        return None
    except peewee.IntegrityError:
        return SubmitToken.get(SubmitToken.token == token[:64])


def remember(token, record):
    if token:
        (SubmitToken.update(record_type=type(record).__name__.lower(), record_id=record.get_id())
         .where(SubmitToken.token == token[:64]).execute())
