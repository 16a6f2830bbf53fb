"""Chinese words: segmenting text into words, the estate's synonyms, and the word index of tickets.

Searching by three-character pieces (FTS5's trigram tokenizer) could not see the words a request is
about — 漏水, 电梯, 门禁, 噪音 are two characters — so text is cut into words by a maintained
segmenter (jieba's dictionary and algorithm through `rjieba`, the Rust port: the same words as
`jieba` in ~3 µs a request instead of ~60 µs, and a 0.2 s load instead of 0.7–1.7 s), taught a
small property-management dictionary, and the words are indexed: FTS5 (unicode61 over the
space-separated words) on SQLite; on PostgreSQL a table of (word, ticket) pairs with its primary key
as the index, beside a GIN-indexed tsvector ('simple' over the same words; TicketWord says which
serves what). Beside the words each ticket's distinct Chinese characters are indexed too, for
one-character queries (灯 in 灯不亮, which the segmenter keeps as one word).

This module sits below tickets: it knows ticket ids and texts, not tickets. kefu/search.py finds
tickets with it.
"""
import functools
import math
import re
import threading

import peewee
from playhouse.sqlite_ext import FTS5Model
from playhouse.sqlite_ext import SearchField

from . import clock
from . import events
from .db import BaseModel
from .db import Prepared
from .db import RuleError
from .db import Union
from .db import database
from .db import guarded
from .db import is_sqlite
from .db import parts

# Refusals that the forms (kefu/views/) show beside their fields as well: written once, here.
VOID_REASON_MISSING = "请填写停用原因"

# Words of an estate's daily work the general dictionary cuts wrongly or not at all. The frequency
# only has to be high enough for the segmenter to prefer the word over its pieces.
DICTIONARY = [
    "地库", "地下车库", "车库", "道闸", "门禁", "门禁卡", "二次供水", "化粪池", "窨井", "雨水管", "污水管",
    "地漏", "返水", "返臭", "渗水", "滴水", "漏水", "积水", "溢水", "爆管", "水表", "电表", "燃气表",
    "感应灯", "楼道灯", "路灯", "顶灯", "单元门", "入户门", "防盗门", "消防通道", "消防栓", "烟感",
    "电梯", "客梯", "货梯", "轿厢", "电梯厅", "困人", "对讲", "可视对讲", "监控", "快递柜", "充电桩",
    "车位", "停车位", "月租", "违停", "占道", "飞线", "毁绿", "高空抛物", "群租", "外墙", "空鼓",
    "墙皮", "发霉", "保洁", "绿化", "装修", "装修垃圾", "电钻", "噪音", "噪声", "扰民", "异味",
    "宠物粪便", "犬吠", "遮阳棚", "物业费", "发票", "业委会", "居委会", "香樟", "死苗", "杂草",
]

# Room codes as residents say them: 3栋, 2单元, 1502室, 12楼, 3号楼 stay one word each.
_ROOM_FORMS = re.compile(r"\d+(?:栋|幢|号楼|单元|室|楼|层|号)")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
_TOKEN = re.compile(r"\w+")  # what both indexes keep of a word: letters, digits and ideographs

# Words too common in requests to say anything about what one is about.
STOPWORDS = frozenset(
    "的 了 是 在 有 和 也 都 就 还 又 很 太 要 说 让 把 被 给 跟 与 及 或 而 但 从 到 对 向 在 这 那 个 些 "
    "我 你 他 她 它 我们 他们 自己 一个 一直 已经 没有 没 不 能 会 想 去 来 上 下 里 时 后 前 "
    "业主 住户 客户 先生 女士 阿姨 师傅 反映 要求 希望 需要 请 帮忙 问 问题 情况 处理 联系 电话 "
    "今天 昨天 晚上 早上 上午 下午 现在 最近 经常 总是 特别 非常 比较 一下 怎么 什么 为什么 可以 "
    "小区 家里 门口 楼下 楼上 旁边 附近 这里 那里".split())

_lock = threading.Lock()
_segmenter = None


def segmenter():
    """The segmenter with the estate dictionary, loaded once per process (0.2 s)."""
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                import rjieba

                cutter = rjieba.Jieba()
                for word in DICTIONARY:
                    cutter.add_word(word, 20000, "n")
                _segmenter = cutter
    return _segmenter


def _pieces(text):
    """The text cut into runs the segmenter sees whole: room forms kept, everything else cut."""
    text = (text or "").lower()
    start = 0
    for found in _ROOM_FORMS.finditer(text):
        yield False, text[start:found.start()]
        yield True, found.group(0)
        start = found.end()
    yield False, text[start:]


def cut(text):
    """The words of a query, as the assistant meant them: the segmenter's best cut, each once."""
    words = []
    for whole, piece in _pieces(text):
        for word in ([piece] if whole else segmenter().cut(piece)):
            word = word.strip()
            if word and _TOKEN.fullmatch(word) and word not in words:
                words.append(word)
    return words


def index_words(text):
    """The words a text is indexed under: every word the search mode finds (停车位 → 停车, 车位,
    停车位) and every pair of neighbouring Chinese characters (有煤气味 → 有煤, 煤气, 气味), so that a
    two-character query matches however the text around it was cut (the segmenter reads 有煤气味 as
    有 · 煤 · 气味, and 灯不亮 as one word)."""
    found = []
    for whole, piece in _pieces(text):
        for word in ([piece] if whole else segmenter().cut_for_search(piece)):
            word = word.strip()
            if word and _TOKEN.fullmatch(word) and word not in found:
                found.append(word)
    for run in _CJK_RUN.findall(text or ""):
        for i in range(len(run) - 1):
            if run[i:i + 2] not in found:
                found.append(run[i:i + 2])
    return found


def characters(text):
    """The distinct Chinese characters of a text, for one-character queries."""
    seen = []
    for ch in _CJK.findall(text or ""):
        if ch not in seen:
            seen.append(ch)
    return seen


def is_cjk(text):
    return bool(_CJK.search(text or ""))


def meaningful(words):
    """The words of a description worth comparing with others: no stop words, no single characters."""
    return [w for w in words if w not in STOPWORDS and len(w) >= 2]


# Names by pinyin (张三: "zs" or "zhangsan")

_LETTERS = re.compile(r"[a-z]+")


def is_pinyin(typed):
    """Typed letters only (spaces and capitals allowed): a name in pinyin."""
    return bool(_LETTERS.fullmatch(re.sub(r"\s+", "", (typed or "").lower())))


@functools.lru_cache(maxsize=50000)
def pinyin_keys(name):
    """(initials, full pinyin) of a name, lower case without tones: 张三 → ("zs", "zhangsan")."""
    from pypinyin import Style
    from pypinyin import lazy_pinyin

    syllables = [s.lower() for s in lazy_pinyin(name or "", errors="ignore")]
    initials = "".join(s[0] for s in syllables if s)
    letters = "".join(lazy_pinyin(name or "", style=Style.FIRST_LETTER, errors="ignore")).lower()
    return initials or letters, "".join(syllables)


def name_matches(name, typed):
    """Whether `name` is what was typed: its characters, or its pinyin initials or full pinyin."""
    typed = re.sub(r"\s+", "", (typed or "").lower())
    if not typed:
        return False
    if not is_pinyin(typed):
        return typed in (name or "").lower()
    initials, full = pinyin_keys(name or "")
    return initials.startswith(typed) or full.startswith(typed)


# Synonyms (设置 → 同义词)

# A first list for a new estate, from the manual's categories and what residents say at the desk.
DEFAULT_SYNONYMS = [
    "漏水 渗水 滴水 返水 渗漏 漏了",
    "电梯 梯 客梯 货梯 直梯 轿厢",
    "停车 车位 停车位 泊车",
    "噪音 噪声 吵 扰民 吵闹",
    "地库 地下车库 车库 地下室",
    "门禁 门禁卡 单元门 刷卡",
    "道闸 抬杆 闸机 车闸",
    "灯不亮 灯坏 不亮 照明",
    "堵塞 堵了 不通 疏通",
    "垃圾 杂物 废弃物",
    "异味 臭味 返臭 发臭",
    "保洁 清洁 打扫 清理",
    "绿化 草坪 树木 修剪",
    "装修 施工 电钻",
    "快递 包裹 快递柜",
    "停水 没水 断水",
    "停电 没电 断电 跳闸",
    "水压 水压小 水流小",
    "宠物 狗 犬 猫",
    "外墙 墙面 墙皮",
    "发霉 霉斑 长霉",
    "监控 摄像头 录像",
]


class SynonymError(RuleError):
    pass


class Synonym(BaseModel):
    """One group of words the estate counts as meaning the same (漏水 渗水 滴水 返水)."""

    words = peewee.TextField()
    created_at = peewee.DateTimeField()
    voided_at = peewee.DateTimeField(null=True)
    void_reason = peewee.TextField(default="")
    version = peewee.IntegerField(default=1)

    @classmethod
    def live(cls):
        return cls.select().where(cls.voided_at.is_null()).order_by(cls.id)

    @property
    def word_list(self):
        return self.words.split()


def parse_group(text):
    """A typed group (words separated by spaces, commas or 、) as its distinct words."""
    words = []
    for word in re.split(r"[\s,，、;；~～/]+", (text or "").strip().lower()):
        if word and word not in words:
            words.append(word)
    if len(words) < 2:
        raise SynonymError("请至少写两个词，用空格或顿号隔开", "words")
    bad = [w for w in words if not _TOKEN.fullmatch(w)]
    if bad:
        raise SynonymError(f"“{bad[0]}”里有标点或符号，请只写文字和数字", "words")
    if any(len(w) > 10 for w in words):
        raise SynonymError("每个词不能超过 10 个字", "words")
    if len(words) > 12:
        raise SynonymError("一组最多 12 个词", "words")
    return words


def create_group(actor, text):
    """A new group of synonyms, typed as words separated by spaces, commas or 、."""
    group = Synonym.create(words=" ".join(parse_group(text)), created_at=clock.utcnow())
    events.record(actor, group, "新建同义词", note=group.words)
    return group


def update_group(actor, group, expected_version, text):
    words = " ".join(parse_group(text))
    guarded(Synonym.update(words=words, version=Synonym.version + 1)
            .where((Synonym.id == group.id) & (Synonym.version == expected_version) & Synonym.voided_at.is_null()))
    events.record(actor, group, "修改同义词", note=f"{group.words} → {words}")
    return Synonym.get_by_id(group.id)


def void_group(actor, group, expected_version, reason):
    """Stop using a group (kept on record with the reason)."""
    reason = (reason or "").strip()
    if not reason:
        raise SynonymError(VOID_REASON_MISSING, "reason")
    guarded(Synonym.update(voided_at=clock.utcnow(), void_reason=reason, version=Synonym.version + 1)
            .where((Synonym.id == group.id) & (Synonym.version == expected_version) & Synonym.voided_at.is_null()))
    events.record(actor, group, "停用同义词", note=f"{group.words}：{reason}")


def seed():
    """The default synonyms on a new estate (or on one that had none before synonyms came)."""
    if not Synonym.select().exists():
        now = clock.utcnow()
        Synonym.insert_many([{"words": group, "created_at": now} for group in DEFAULT_SYNONYMS]).execute()


def synonym_map():
    """{word: the other words of its groups} from the estate's live groups (one small query)."""
    found = {}
    for (words,) in database.execute_sql('SELECT "words" FROM "synonym" WHERE "voided_at" IS NULL'):
        group = words.split()
        for word in group:
            found.setdefault(word, [])
            found[word] += [other for other in group if other != word and other not in found[word]]
    return found


def expand(word, synonyms):
    """A word and its synonyms (the word first)."""
    return [word] + [other for other in synonyms.get(word, ()) if other != word]


# The index

class TicketSearch(FTS5Model):
    """SQLite: a ticket's words and characters (rowid = the ticket's id), tokens separated by spaces."""

    words = SearchField()
    chars = SearchField()

    class Meta:
        database = database
        table_name = "ticket_search"
        options = {"tokenize": "unicode61", "content": ""}


class TicketSearchPg(BaseModel):
    """PostgreSQL: the same words in a plain table. Each column's to_tsvector('simple', …) is kept in a
    generated column (words_tsv, chars_tsv; migration 28, `store_postgres_vectors`) with
    a GIN index: the newest matches of a word are read from the stored vectors, never worked out again
    row by row."""

    rowid = peewee.IntegerField(primary_key=True)
    words = peewee.TextField()
    chars = peewee.TextField()

    class Meta:
        table_name = "ticket_search"
        postgres_only = True


class TicketWord(BaseModel):
    """PostgreSQL: each word and each Chinese character of a ticket's index row, a row per pair, kept
    by the database from ticket_search (triggers, migration 31: whatever writes the index, the app,
    a move between databases or a migration, writes these too).

    Ordered by (word, ticket), a word's newest tickets are the end of one range of the primary key,
    read backwards from its index alone and no further than a list needs. The stored tsvectors with
    their GIN index answer "which rows hold this word" only as a bitmap of all of them, in no order:
    the 举一反三 panel read every match of each of its words (17 ms at ten years against 5 at one)
    and a two-word search worked out every ticket with both words and sorted them (2.0–2.3× slower at
    ten years than at one). The tsvectors stay for searches whose every word has synonyms
    (search.newest_matching): PostgreSQL reads several ranges of this index only whole, not merged
    newest first, and reading them whole grew with the years (1.4–2.4× at ten years, 电梯's synonym
    梯 alone in 41,755 tickets).
    """

    word = peewee.TextField()
    ticket_id = peewee.IntegerField()

    class Meta:
        table_name = "ticket_word"
        primary_key = peewee.CompositeKey("word", "ticket_id")
        postgres_only = True


TicketSearch._meta.sqlite_only = True

MODELS = [Synonym, TicketSearch, TicketSearchPg, TicketWord]


def index_model():
    return TicketSearch if is_sqlite() else TicketSearchPg


def index_row(ticket_id, text):
    """The index row of a ticket whose searchable text (number, place, customer, category,
    description) is `text`."""
    return {"rowid": ticket_id, "words": " ".join(index_words(text)), "chars": " ".join(characters(text))}


def add(ticket_id, text):
    """Index a new ticket (inside the transaction that makes it)."""
    rows_in([index_row(ticket_id, text)])


def rows_in(rows, db=None):
    """Write index rows (dicts from `index_row`), on `db` or the app's database."""
    if not rows:
        return
    model = TicketSearch if (db is None and is_sqlite()) or isinstance(db, peewee.SqliteDatabase) else TicketSearchPg
    query = model.insert_many([(r["rowid"], r["words"], r["chars"]) for r in rows],
                              fields=[model.rowid, model.words, model.chars])
    query.execute(db) if db is not None else query.execute()


def store_postgres_vectors():
    """PostgreSQL: each column's tsvector stored (a generated column) and GIN-indexed, in place of the
    expression indexes: a query for a word's newest matches walks the rows newest first and tests each
    against its vector, which the expression index made PostgreSQL compute again for every row (a rare
    word read ten years of rows that way: a second for the 举一反三 panel)."""
    for column in ("words", "chars"):
        database.execute_sql(f'ALTER TABLE "ticket_search" ADD COLUMN IF NOT EXISTS "{column}_tsv" tsvector '
                             f"GENERATED ALWAYS AS (to_tsvector('simple', \"{column}\")) STORED")
        database.execute_sql(f'CREATE INDEX IF NOT EXISTS "ticket_search_{column}_tsv" ON "ticket_search" '
                             f'USING gin ("{column}_tsv")')
        database.execute_sql(f'DROP INDEX IF EXISTS "ticket_search_{column}"')
    database.execute_sql('ANALYZE "ticket_search"')


def _pairs(row, whole=False):
    """SQL selecting the (word, ticket) pairs of the index row `row` (NEW in a trigger; with `whole`,
    the alias of ticket_search read whole): its words and characters, each once."""
    source = f'"ticket_search" {row}, ' if whole else ""
    return (f'SELECT DISTINCT w, {row}."rowid" FROM {source}unnest(string_to_array({row}."words" || \' \' || '
            f'{row}."chars", \' \')) AS w WHERE w <> \'\'')


def store_postgres_postings():
    """PostgreSQL: the (word, ticket) table filled from the index rows there are, and kept by triggers
    on ticket_search from now on. On the benchmark's ten-year estate: 4.9 million pairs from 119,237
    tickets, its SQL run by hand in 34 s with a VACUUM. Autovacuum is asked to visit the table every
    10,000 new pairs (about 250 tickets): a word's newest pairs are read from the index alone only once
    a vacuum has marked their pages all-visible, and by default that waits for the table to grow by a
    fifth (two years at ten)."""
    TicketWord.create_table(safe=True)
    database.execute_sql('ALTER TABLE "ticket_word" SET (autovacuum_vacuum_insert_threshold = 10000, '
                         'autovacuum_vacuum_insert_scale_factor = 0)')
    gone = 'DELETE FROM "ticket_word" WHERE "ticket_id" = OLD."rowid" AND "word" = ANY(string_to_array(' \
           'OLD."words" || \' \' || OLD."chars", \' \'));'
    added = 'INSERT INTO "ticket_word" ("word", "ticket_id") ' + _pairs("NEW") + " ON CONFLICT DO NOTHING;"
    database.execute_sql(
        "CREATE OR REPLACE FUNCTION ticket_search_words() RETURNS trigger AS $$ BEGIN "
        f"IF TG_OP IN ('DELETE', 'UPDATE') THEN {gone} END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {added} END IF; "
        "RETURN NULL; END $$ LANGUAGE plpgsql")
    database.execute_sql(
        "CREATE OR REPLACE FUNCTION ticket_search_words_truncate() RETURNS trigger AS $$ BEGIN "
        'TRUNCATE "ticket_word"; RETURN NULL; END $$ LANGUAGE plpgsql')
    for name, when, each in (("ticket_search_words", "AFTER INSERT OR DELETE OR UPDATE", "ROW"),
                             ("ticket_search_words_truncate", "AFTER TRUNCATE", "STATEMENT")):
        database.execute_sql(f'DROP TRIGGER IF EXISTS "{name}" ON "ticket_search"')
        database.execute_sql(f'CREATE TRIGGER "{name}" {when} ON "ticket_search" FOR EACH {each} '
                             f"EXECUTE FUNCTION {name}()")
    # What is already there (a fresh database has nothing yet).
    database.execute_sql('DELETE FROM "ticket_word"')
    database.execute_sql('INSERT INTO "ticket_word" ("word", "ticket_id") ' + _pairs("s", whole=True))
    database.execute_sql('ANALYZE "ticket_word"')


def create_postgres_indexes():
    for column in ("words", "chars"):
        database.execute_sql(f'CREATE INDEX IF NOT EXISTS "ticket_search_{column}" ON "ticket_search" '
                             f"USING gin (to_tsvector('simple', \"{column}\"))")


# Queries on the index: each term a list of alternatives (a word and its synonyms); every term must match.

def _fts_phrase(word):
    return '"' + word.replace('"', '""') + '"'


def _split(alternatives):
    """(the words, the single Chinese characters) among a term's alternatives: a character is found
    among the characters (吵 in 太吵, which the segmenter keeps as one word)."""
    single = [w for w in alternatives if len(w) == 1 and is_cjk(w)]
    return [w for w in alternatives if w not in single], single


def fts_expression(terms):
    """FTS5 MATCH text: every term, each matching one of its words or characters. No column filter:
    a one-character token in the words is a character of the text too, and a longer one is only
    ever among the words; a filter made an OR of synonyms read every position list (10× slower
    at ten years)."""
    parts = []
    for alternatives in terms:
        several, single = _split(alternatives)
        options = [_fts_phrase(w) for w in several + single]
        parts.append(options[0] if len(options) == 1 else "(" + " OR ".join(options) + ")")
    return " AND ".join(parts)


def matching(terms):
    """A condition on the index model: rows matching every term. On PostgreSQL, through each row's
    stored tsvectors: the planner walks the rows newest first testing each for a common word, and
    reads a rare word's rows from the GIN index (search.newest_matching says when it is used)."""
    if is_sqlite():
        return TicketSearch.match(fts_expression(terms))
    conditions = []
    for alternatives in terms:
        several, single = _split(alternatives)
        options = ([_ts_match("words", several)] if several else []) + ([_ts_match("chars", single)] if single else [])
        conditions.append(options[0] if len(options) == 1 else (options[0] | options[1]))
    return _and(conditions)


def _ts_word(word):
    return "'" + word.replace("'", "''").replace("\\", "") + "'"


def _ts_match(column, alternatives):
    simple = peewee.SQL("'simple'")
    query = " | ".join(_ts_word(w) for w in alternatives)
    return peewee.Expression(peewee.SQL(f'"{column}_tsv"'), "@@", peewee.fn.to_tsquery(simple, query))


def _postings(alternatives):
    """PostgreSQL: the ids of the tickets holding one of a term's words."""
    return TicketWord.select(TicketWord.ticket_id).where(TicketWord.word.in_(alternatives))


def ids_matching(terms):
    """PostgreSQL: a sub-query of the ids of the tickets matching every term: each term's pairs read
    whole from the primary key's index (no table row touched) and intersected."""
    query = _postings(terms[0])
    for alternatives in terms[1:]:
        query = query & _postings(alternatives)
    return query


def holds(terms, ticket_id):
    """PostgreSQL: a condition that the ticket whose id is `ticket_id` (a column) matches every term,
    looked up for that ticket alone (a probe of the primary key for each word). Written as a scalar
    sub-select, not EXISTS: PostgreSQL turns an EXISTS into a join that reads every ticket of the
    term, where the tickets to test are a few (the open ones)."""
    return _and([peewee.Expression(TicketWord.select(peewee.SQL("TRUE")).where(
        (TicketWord.ticket_id == ticket_id) & TicketWord.word.in_(alternatives)).limit(1), "IS", peewee.SQL("TRUE"))
        for alternatives in terms])


def _newest_postings(alternatives, limit, before):
    """PostgreSQL: the newest `limit` tickets of a term (before the id `before`, if given): each word's
    newest read backwards from the end of its range of the index, then merged."""
    branches = []
    for word in alternatives:
        query = TicketWord.select(TicketWord.ticket_id).where(TicketWord.word == word)
        if before is not None:
            query = query.where(TicketWord.ticket_id < before)
        branches.append(query.order_by(TicketWord.ticket_id.desc()).limit(limit))
    if len(branches) == 1:
        return branches[0]
    merged = branches[0]
    for branch in branches[1:]:
        merged = merged | branch
    return merged.order_by(peewee.SQL('"ticket_id" DESC')).limit(limit)


def match_text(text):
    """SQLite: the index rows matching an FTS5 MATCH text made by `fts_expression`."""
    return TicketSearch.match(text)


def _and(conditions):
    result = conditions[0]
    for condition in conditions[1:]:
        result = result & condition
    return result


_NEWEST_EACH = {}  # (number of terms, whether bounded, limit) → the Prepared statement, on SQLite


def newest_ids_each(terms, limit, before=None):
    """For each term, the ids of the newest `limit` tickets matching it (newest first), from one
    statement (举一反三 reads a few thousand). On SQLite the statement is the same for every list of
    as many terms (each term's MATCH text is a parameter), so it is built once for each length."""
    if not is_sqlite():
        cursor = database.execute_sql(*Union([_newest_postings(term, limit, before) for term in terms]).sql())
    else:
        cursor = _newest_each_sqlite(len(terms), before is not None, limit).cursor(
            *[fts_expression([term]) for term in terms], *([before] if before is not None else []))
    return [sorted((row[0] for row in rows), reverse=True) for rows in parts(cursor, len(terms))]


def _newest_each_sqlite(count, bounded, limit):
    """SQLite: newest_ids_each's statement for `count` terms, each term's MATCH text a parameter
    (then the bound, if `bounded`), built once."""
    key = (count, bounded, limit)
    if key not in _NEWEST_EACH:
        def build(*values):
            queries = []
            for text in values[:count]:
                query = (TicketSearch.select(TicketSearch.rowid).where(TicketSearch.match(text))
                         .order_by(TicketSearch.rowid.desc()).limit(limit))
                queries.append(query.where(TicketSearch.rowid < values[count]) if bounded else query)
            return Union(queries)
        examples = [f"\x00term {n}" for n in range(count)] + ([-987_654_321] if bounded else [])
        _NEWEST_EACH[key] = Prepared(TicketSearch, build, *examples)
    return _NEWEST_EACH[key]


def weight(found, pool):
    """How much sharing a term says: a term found `found` times among at most `pool` recent matches
    weighs more the rarer it is (an IDF over what was read)."""
    return 1.0 + math.log((pool + 1) / (found + 1))
