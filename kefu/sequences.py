"""Sequential document numbers (KS20261127-003, 〔2026〕第0173号): never reused, safe under concurrency."""
import peewee

from .db import BaseModel
from .db import database


class Sequence(BaseModel):
    key = peewee.CharField(primary_key=True, max_length=40)
    value = peewee.IntegerField(default=0)


MODELS = [Sequence]


def next_value(key):
    """The next number for `key` (1, 2, 3…), claimed in one statement so two writers never share one."""
    with database.atomic():
        cursor = database.execute_sql(
            f'INSERT INTO "sequence" ("key", "value") VALUES ({database.param}, 1) '
            'ON CONFLICT ("key") DO UPDATE SET "value" = "sequence"."value" + 1 RETURNING "value"', (key,))
        return cursor.fetchone()[0]


def daily_number(prefix, day):
    """A per-day number such as KS20261127-003."""
    stamp = day.strftime("%Y%m%d")
    return f"{prefix}{stamp}-{next_value(prefix + stamp):03d}"
