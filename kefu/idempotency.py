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


class TokenReused(Exception):
    """A form's one-time token sent with another kind of form (a replayed or forged request): there is
    no earlier record of this kind to show, and nothing is made. The app answers 400."""


def claim(token, kind):
    """Claim a form's token, for a record of model `kind`, inside the caller's transaction.

    Returns None when this is the first use, or the earlier SubmitToken when the same form was
    already submitted (the caller then shows the record made the first time). A token first used
    for another kind of record raises TokenReused.
    """
    if not token:
        return None
    kind = kind.__name__.lower()
    try:
        with SubmitToken._meta.database.atomic():
            SubmitToken.create(token=token[:64], used_at=clock.utcnow(), record_type=kind)
        return None
    except peewee.IntegrityError:
        earlier = SubmitToken.get(SubmitToken.token == token[:64])
    if earlier.record_type != kind or earlier.record_id is None:
        raise TokenReused(kind)
    return earlier


def remember(token, record):
    if token:
        (SubmitToken.update(record_type=type(record).__name__.lower(), record_id=record.get_id())
         .where(SubmitToken.token == token[:64]).execute())
