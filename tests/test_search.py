"""Finding tickets by words: segmentation, the list's search, synonyms, similar cases with their
reasons and other zones read-only — the rules called directly (SQLite, or PostgreSQL with
KEFU_TEST_DATABASE_URL)."""
import datetime

import pytest

from kefu import estate
from kefu import search
from kefu import tickets
from kefu import words
from kefu.tickets import Ticket
from test_tickets import intake
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)


# Segmentation

@pytest.mark.parametrize("text, expected", [
    ("厨房水管接口漏水", ["厨房", "水管", "接口", "漏水"]),
    ("地库B区漏水", ["地库", "b", "区", "漏水"]),
    ("3栋2单元1502室门禁坏了", ["3栋", "2单元", "1502室", "门禁"]),
    ("道闸不抬杆", ["道闸"]),
    ("二次供水水箱", ["二次供水", "水箱"]),
    ("化粪池满了", ["化粪池"]),
])
def test_text_is_cut_into_the_words_of_the_trade(app, text, expected):
    cut = words.cut(text)
    assert all(word in cut for word in expected), cut


def test_longer_words_are_also_indexed_by_their_pieces(app):
    indexed = words.index_words("客厅灯不亮，停车位被占")
    assert {"灯不亮", "不亮", "停车位", "停车", "车位"} <= set(indexed)
    assert words.characters("灯不亮") == ["灯", "不", "亮"]


# The list's search

LEAK = "卫生间天花板漏水，卫生间漏水严重"


def found(text):
    return {t.description for t in Ticket.live().where(Ticket.id.in_(search.search_ids(text)))}


@pytest.mark.parametrize("term, descriptions", [
    ("漏水", {LEAK, "阳台漏水", "厨房水管接口漏水"}),
    ("电梯", {"3号电梯异响"}),
    ("梯", {"3号电梯异响"}),
    ("灯", {"楼道灯不亮"}),
    ("不亮", {"楼道灯不亮"}),
    ("水管漏水", {"厨房水管接口漏水"}),
    ("漏水 水管", {"厨房水管接口漏水"}),
    ("水管 漏水", {"厨房水管接口漏水"}),
    ('"水管漏水"', set()),
    ('"水管接口漏水"', {"厨房水管接口漏水"}),
    ("停车", set()),
    ("门禁", set()),
])
def test_search_finds_words_of_any_length_in_any_order(world, term, descriptions):
    intake(world, description=LEAK)
    intake(world, description="阳台漏水")
    intake(world, description="厨房水管接口漏水")
    intake(world, description="3号电梯异响", category="安保")
    intake(world, description="楼道灯不亮")
    assert found(term) == descriptions


def test_synonyms_widen_a_search(world):
    intake(world, description="卧室墙角渗水")
    intake(world, description="空调滴水到楼下")
    intake(world, description="楼上装修太吵")
    assert found("漏水") == {"卧室墙角渗水", "空调滴水到楼下"}
    assert found("噪音") == {"楼上装修太吵"}


def test_a_synonym_group_the_estate_adds_is_used_at_once(world):
    intake(world, description="小区里有人遛狗不牵绳")
    assert found("宠物") == {"小区里有人遛狗不牵绳"}  # 宠物 ~ 狗 is in the default list
    intake(world, description="井盖松动，踩上去会响")
    assert found("窨井") == set()
    group = words.Synonym.create(words="窨井 井盖", created_at=datetime.datetime(2026, 11, 27))
    assert found("窨井") == {"井盖松动，踩上去会响"}
    words.Synonym.update(voided_at=datetime.datetime(2026, 11, 27)).where(words.Synonym.id == group.id).execute()
    assert found("窨井") == set()


@pytest.mark.parametrize("typed, expected", [
    (["漏水", "渗水"], ["漏水", "渗水"]),
    ("漏水、渗水，滴水", ["漏水", "渗水", "滴水"]),
])
def test_a_synonym_group_is_typed_as_words(app, typed, expected):
    assert words.parse_group(typed if isinstance(typed, str) else " ".join(typed)) == expected


@pytest.mark.parametrize("typed, message", [
    ("漏水", "请至少写两个词，用空格或顿号隔开"),
    ("漏水 渗水!", "“渗水!”里有标点或符号，请只写文字和数字"),
])
def test_a_bad_synonym_group_is_refused_with_a_message(app, typed, message):
    with pytest.raises(words.SynonymError) as refused:
        words.parse_group(typed)
    assert refused.value.message == message and refused.value.field == "words"


def test_room_numbers_plates_and_ticket_numbers_are_found_as_typed(world):
    ticket = intake(world, description="沪A12345 的车长期占用消防通道")
    assert found(ticket.number) == {"沪A12345 的车长期占用消防通道"}
    assert found("1-1-101") == {"沪A12345 的车长期占用消防通道"}
    assert found("12345") == {"沪A12345 的车长期占用消防通道"}
    assert search.search_ids("  ") is None


def test_state_counts_say_how_many_match_in_each_state(world):
    intake(world, description="电梯按钮失灵")
    for _ in range(3):
        closed = intake(world, description="电梯异响")
        Ticket.update(state="closed").where(Ticket.id == closed.id).execute()
    intake(world, description="楼道灯不亮")
    counts = search.state_counts(Ticket.live(), "电梯")
    assert [(label, count) for _state, label, count, _capped in counts] == [("待响应", 1), ("已关闭", 3)]


# Similar cases (举一反三)

def test_similar_cases_come_with_their_reasons_ranked(world, traveller):
    garage = estate.Place.create(name="地下车库 B1", kind="地库")
    same_home = intake(world, category="保洁", description="门口有装修垃圾")
    same_place = intake(world, household=None, place=garage, zone=world.zone, description="顶灯三盏不亮",
                        customer_name="王先生")
    leak = intake(world, household=world.home2, description="厨房水管接口漏水")
    seep = intake(world, household=world.home2, description="地库顶板渗水")
    unrelated = intake(world, household=world.home2, category="绿化", description="草坪需要修剪")
    traveller.shift(datetime.timedelta(days=3))
    results = search.similar(place=garage, category="工程维修", text="地库B区漏水")
    by_id = {s.ticket.id: s for s in results}
    assert same_place.id in by_id and "同一位置" in by_id[same_place.id].reasons
    line = by_id[same_place.id].line
    assert by_id[same_place.id].repeat and line.startswith("重复诉求 · 同一位置 · ") and " · 3 天前 · 待响应" in line
    assert by_id[seep.id].reasons == ["相似描述：地库、漏水"]
    assert leak.id in by_id
    assert unrelated.id not in by_id and same_home.id not in by_id
    assert [s.ticket.id for s in results][:2] == [same_place.id, seep.id]


def test_a_repeat_within_30_days_is_flagged_and_an_older_one_is_not(world, traveller):
    old = intake(world, description="卫生间地漏返臭味")
    traveller.shift(datetime.timedelta(days=40))
    recent = intake(world, description="卫生间地漏有臭味")
    traveller.shift(datetime.timedelta(days=5))
    ticket = intake(world, description="地漏返臭，晚上很明显")
    results = {s.ticket.id: s for s in search.similar(ticket)}
    assert results[recent.id].repeat and "重复诉求" in results[recent.id].reasons
    assert not results[old.id].repeat and "同一房号" in results[old.id].reasons
    assert list(results) [:2] == [recent.id, old.id]


def test_similar_lists_only_earlier_tickets(world, traveller):
    first = intake(world, description="楼道灯不亮")
    same_moment = intake(world, description="楼道灯不亮了")
    traveller.shift(datetime.timedelta(days=1))
    later = intake(world, description="楼道灯又不亮")
    assert search.similar_ids(ticket=first) == []
    assert search.similar_ids(ticket=same_moment) == [first.id]
    assert search.similar_ids(ticket=later) == [same_moment.id, first.id]


def test_several_short_lists_come_from_one_statement_each_with_its_own_order_and_limit(world):
    from kefu import db
    made = [intake(world, description=f"楼道灯不亮 {n}").id for n in range(4)]
    newest_two = Ticket.select(Ticket.id).order_by(Ticket.id.desc()).limit(2)
    oldest_three = Ticket.select(Ticket.id, Ticket.number).order_by(Ticket.id).limit(3)
    none = Ticket.select(Ticket.id, Ticket.number).where(Ticket.id < 0)
    two, three, nothing = db.each_of([newest_two, oldest_three.select(Ticket.id), none.select(Ticket.id)])
    assert sorted(two, reverse=True) == [(made[3],), (made[2],)]
    assert sorted(three) == [(made[0],), (made[1],), (made[2],)]
    assert nothing == [] and db.each_of([]) == []


def test_postgres_plans_each_search_for_its_own_words(world):
    """psycopg prepares a statement the fifth time it runs; PostgreSQL would then plan it once for any
    words (a generic plan), and a search of common words read every match newest first, row by row."""
    from kefu import db

    if db.is_sqlite():
        pytest.skip("PostgreSQL's plan cache")
    assert db.database.execute_sql("SHOW plan_cache_mode").fetchone()[0] == "force_custom_plan"
    intake(world, description="厨房水管漏水")
    for _ in range(7):  # past psycopg's prepare threshold: the same rows each time
        assert found("水管 漏水") == {"厨房水管漏水"}


def _pairs(ticket_id):
    from kefu import db

    return {word for (word,) in db.database.execute_sql(
        'SELECT "word" FROM "ticket_word" WHERE "ticket_id" = %s', (ticket_id,))}


def test_postgres_keeps_every_word_and_character_of_a_ticket_beside_its_index_row(world):
    """PostgreSQL searches a table of (word, ticket) pairs; the database writes it from the index rows,
    whatever writes those (a ticket taken in, a move, a migration cutting the texts again)."""
    from kefu import db

    if db.is_sqlite():
        pytest.skip("PostgreSQL's (word, ticket) table")
    ticket = intake(world, description="厨房水管接口漏水")
    indexed = db.database.execute_sql('SELECT "words", "chars" FROM "ticket_search" WHERE "rowid" = %s',
                                      (ticket.id,)).fetchone()
    expected = set(indexed[0].split()) | set(indexed[1].split())
    assert {"厨房", "水管", "接口", "漏水", "管", "漏"} <= expected
    assert _pairs(ticket.id) == expected
    words.store_postgres_postings()  # migration 31 again: the same pairs, once each
    assert _pairs(ticket.id) == expected
    db.database.execute_sql('UPDATE "ticket_search" SET "words" = %s, "chars" = %s WHERE "rowid" = %s',
                            ("阳台 漏水", "阳 台 漏 水", ticket.id))
    assert _pairs(ticket.id) == {"阳台", "漏水", "阳", "台", "漏", "水"}
    db.database.execute_sql('DELETE FROM "ticket_search" WHERE "rowid" = %s', (ticket.id,))
    assert _pairs(ticket.id) == set()


def test_postgres_reads_no_more_of_a_word_than_the_similar_cases_need(world, monkeypatch):
    """举一反三 takes each word's newest tickets: PostgreSQL reads them from the end of the word's range
    of the index and stops, however many tickets share the word (a bitmap of all of them, before)."""
    from kefu import db

    if db.is_sqlite():
        pytest.skip("PostgreSQL's (word, ticket) table")
    made = [intake(world, description=f"卫生间漏水第{n}次").id for n in range(6)]
    made += [intake(world, description=f"阳台渗水第{n}次").id for n in range(3)]
    statements = []
    execute = db.database.execute_sql
    monkeypatch.setattr(db.database.obj, "execute_sql",
                        lambda sql, params=None, *a, **k: statements.append((sql, params)) or execute(sql, params, *a, **k))
    terms = [["卫生间"], ["漏水", "渗水"]]
    newest = words.newest_ids_each(terms, 2, before=made[-1])
    monkeypatch.undo()
    assert newest == [[made[5], made[4]], [made[7], made[6]]]
    (sql, params), = statements
    with db.database.atomic():  # a few rows here: make the planner take the way it takes at scale
        db.database.execute_sql("SET LOCAL enable_seqscan = off")
        plan = db.database.execute_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params).fetchone()[0][0]["Plan"]

    def scans(node):
        found = [node] if node.get("Relation Name") == "ticket_word" else []
        return found + [scan for child in node.get("Plans", []) for scan in scans(child)]
    read = scans(plan)
    assert len(read) == 3 and all(node["Node Type"] in ("Index Only Scan", "Index Scan") for node in read), read
    assert [node["Actual Rows"] for node in read] == [2, 2, 2]


def test_postgres_walks_a_words_newest_tickets_and_stops_when_the_page_is_full(world):
    """A search with a word that has no synonyms (水管) walks that word's tickets newest first and tests
    each for the others (漏水 or a synonym): PostgreSQL reads no more of the word than the page shows,
    where it read every ticket with both words before."""
    from kefu import db

    if db.is_sqlite():
        pytest.skip("PostgreSQL's (word, ticket) table")
    made = [intake(world, description=f"厨房水管{'渗水' if n % 2 else '漏水'}第{n}次").id for n in range(6)]
    intake(world, description="厨房水管堵了")
    query = search.newest_matching(Ticket.live(), "水管 漏水").select(Ticket.id).limit(3)
    assert [t.id for t in query] == made[:-4:-1]
    sql, params = query.sql()
    with db.database.atomic():  # a few rows here: make the planner take the way it takes at scale
        db.database.execute_sql("SET LOCAL enable_seqscan = off")
        plan = db.database.execute_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params).fetchone()[0][0]["Plan"]

    def scans(node):  # of ticket_word, but for the tests of each ticket (sub-plans)
        found = [node] if node.get("Relation Name") == "ticket_word" else []
        return found + [scan for child in node.get("Plans", []) if child.get("Parent Relationship") != "SubPlan"
                        for scan in scans(child)]
    driver, = scans(plan)
    assert driver["Node Type"] in ("Index Only Scan", "Index Scan") and driver["Scan Direction"] == "Backward"
    assert driver["Actual Rows"] <= 4  # the newest 水管 (堵了, then three with 漏水 or 渗水), not all seven


def test_similar_says_how_it_was_resolved_and_by_whom(world):
    from kefu import clock

    earlier = intake(world, world.assistant2, household=world.home2, description="厨房水管接口漏水")
    earlier, _order = tickets.dispatch(world.assistant2, earlier, earlier.version, world.engineering, "换接口",
                                       clock.now() + datetime.timedelta(hours=4))
    tickets.mark_case(world.assistant2, earlier, earlier.version, "接口老化", "更换接口", "同楼巡查")
    results = search.similar(text="卫生间水管漏水", viewer=world.assistant2)
    assert [s.ticket.id for s in results] == [earlier.id]
    assert results[0].units == ["工程部"] and results[0].ticket.is_case
    assert results[0].ticket.case_cause == "接口老化"


def test_other_zones_tickets_are_shown_read_only(world):
    theirs = intake(world, world.assistant2, household=world.home2, description="电梯困人")
    ours = intake(world, description="电梯异响")
    for viewer, readonly in ((world.assistant, {theirs.id: True, ours.id: False}),
                             (world.assistant2, {theirs.id: False, ours.id: True}),
                             (world.supervisor, {theirs.id: False, ours.id: False}),
                             (world.frontdesk, {theirs.id: False, ours.id: False})):
        results = search.similar(text="电梯坏了", viewer=viewer)
        assert {s.ticket.id: s.readonly for s in results} == readonly, viewer.username
    zone_names = {s.ticket.id: s.zone_name for s in search.similar(text="电梯坏了", viewer=world.assistant)}
    assert zone_names == {theirs.id: "二区", ours.id: "一区"}


def test_nothing_similar_to_nothing(world):
    intake(world, household=world.home2, description="地库积水很深")
    assert search.similar(text="好") == []
    assert search.similar(text="") == []


def test_migration_11_cuts_every_ticket_again_and_says_how_far_it_is(world):
    from kefu import migrations

    for text in ("厨房水管接口漏水", "电梯异响", "楼道灯不亮", "门禁坏了", "地库积水"):
        intake(world, description=text)
    lines = []
    migrations.ticket_word_index(progress=lines.append, batch=2)
    assert lines == ["重新分词：2/5 件诉求", "重新分词：4/5 件诉求", "重新分词：5/5 件诉求"]
    assert found("漏水") == {"厨房水管接口漏水"} and found("门禁") == {"门禁坏了"}
    assert words.Synonym.live().count() == len(words.DEFAULT_SYNONYMS)  # seeded once, not again
