"""In-app notices: a line on someone's 今日 that they should look at something (紧急 intake, escalation)."""
import peewee

from . import clock
from .db import BaseModel
from .db import Prepared
from .users import User


class Notice(BaseModel):
    user = peewee.ForeignKeyField(User, backref="notices", on_delete="CASCADE")
    record_type = peewee.CharField(max_length=20, default="")
    record_id = peewee.IntegerField(null=True)
    text = peewee.CharField(max_length=300)
    created_at = peewee.DateTimeField()
    read_at = peewee.DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "read_at", "created_at"), False),)

    @classmethod
    def unread(cls, user, limit=8):
        """The newest unread notices of a user."""
        return _UNREAD(user.id, limit)



_UNREAD = Prepared(Notice, lambda user_id, limit: Notice.select().where(
    (Notice.user == user_id) & Notice.read_at.is_null()).order_by(Notice.created_at.desc()).limit(limit), -1, -2)

MODELS = [Notice]


def tell(users, record, text):
    """Leave a notice about `record` for each user."""
    now = clock.utcnow()
    rows = [{"user": u.id, "record_type": type(record).__name__.lower(), "record_id": record.get_id(),
             "text": text[:300], "created_at": now} for u in users]
    if rows:
        Notice.insert_many(rows).execute()


def mark_read(user, record):
    """The user's unread notices about `record` marked read (opening the record reads them). Looked
    for first: an UPDATE takes the database's write lock even when it changes nothing, and on SQLite
    every view of a record would then queue behind whoever is writing."""
    unread = ((Notice.user == user) & Notice.read_at.is_null()
              & (Notice.record_type == type(record).__name__.lower()) & (Notice.record_id == record.get_id()))
    if Notice.select(Notice.id).where(unread).exists():
        Notice.update(read_at=clock.utcnow()).where(unread).execute()
