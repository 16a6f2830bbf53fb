"""举一反三 measured: recall@5 and MRR of the similar-cases ranking and of the list's search on the
labelled set tests/data/similar-cases.json.

    .venv/bin/python scripts/similar_eval.py [-v]     (-v lists the pairs that miss)

It builds a throwaway SQLite estate shaped like the demo's (8 buildings, 一区 1–4号楼, 二区 5–8号楼,
the demo's public places), takes the set's earlier requests through the real intake rule at their
times, then asks for each new request what the intake page would show (kefu.search.similar) and,
where the pair has one, what the list's search finds first (newest first). tests/test_search_quality.py
runs the same and fails below recall@5 = 0.9.
"""
import datetime
import json
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

DATA = os.path.join(ROOT, "tests", "data", "similar-cases.json")
PLACES = [("南门出入口", "出入口", None), ("北门出入口", "出入口", None), ("中心绿地", "绿地", None),
          ("儿童游乐区", "绿地", None), ("会所", "会所", None), ("沿街商业街", "商业街", None),
          ("地下车库 B1", "地库", None), ("垃圾分类厢房", "设施设备", None), ("1号楼 电梯厅", "电梯厅", "1"),
          ("3号楼 楼道", "楼道", "3"), ("5号楼 电梯厅", "电梯厅", "5"), ("7号楼 楼道", "楼道", "7")]
NOW = datetime.datetime(2026, 11, 27, 2, 0, tzinfo=datetime.timezone.utc)  # 10:00 in Shanghai
TOP = 5


def load(path=DATA):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def build(data):
    """The estate and the set's earlier requests, on the database bound. Returns (label → ticket id,
    a function naming where a pair is: (household, place))."""
    from kefu import clock
    from kefu import estate
    from kefu import tickets
    from kefu import users

    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    assistants = [users.create_user(None, f"zhuli{i}", f"助理{i}", "assistant", "eval12345") for i in (1, 2)]
    buildings = {str(n): estate.create_building(None, str(n), f"{n}号楼") for n in range(1, 9)}
    for building in buildings.values():
        estate.bulk_create_households(None, building, 2, 1, 15, 3)
    estate.set_zone(None, None, 1, "一区", "", [buildings[str(n)].id for n in range(1, 5)], [assistants[0].id])
    estate.set_zone(None, None, 1, "二区", "", [buildings[str(n)].id for n in range(5, 9)], [assistants[1].id])
    for name, kind, building in PLACES:
        estate.Place.create(name=name, kind=kind, building=buildings.get(building))
    places = {p.name: p for p in estate.Place.live()}
    zone = estate.Zone.live().order_by(estate.Zone.id).first()
    tier = tickets.Tier.live().first()

    def where(text):
        if text in places:
            return None, places[text]
        return estate.Household.get(estate.Household.code == text), None

    ids = {}
    for label, days, category, at, description in sorted(data["history"], key=lambda row: -row[1]):
        household, place = where(at)
        with clock.set_to(NOW - datetime.timedelta(days=days)):
            ticket, _ = tickets.create(assistants[0], channel="电话", category=category, tier=tier,
                                       description=description, household=household, place=place, zone=zone)
        ids[label] = ticket.id
    return ids, where


def _rank_metrics(rankings):
    """(recall@TOP, MRR) over [(ranked ids, expected ids)]."""
    recall = sum(len(set(ranked[:TOP]) & set(expected)) / len(expected) for ranked, expected in rankings)
    mrr = sum(next((1 / (i + 1) for i, found in enumerate(ranked) if found in expected), 0)
              for ranked, expected in rankings)
    return recall / len(rankings), mrr / len(rankings)


def evaluate(data, ids, where):
    """{"similar": (recall, mrr, pairs, misses), "search": (...)} on the database bound."""
    from kefu import clock
    from kefu import search
    from kefu.tickets import Ticket

    names = {ticket_id: label for label, ticket_id in ids.items()}
    similar, searched, misses = [], [], {"similar": [], "search": []}
    with clock.set_to(NOW):
        for pair in data["pairs"]:
            household, place = where(pair["where"])
            building = household.building if household else (place.building if place else None)
            ranked = search.similar_ids(household=household, place=place, building=building,
                                        category=pair["category"], text=pair["description"], limit=10)
            expected = [ids[label] for label in pair["expect"]]
            similar.append((ranked, expected))
            if not set(expected) <= set(ranked[:TOP]):
                misses["similar"].append((pair["description"], pair["expect"], [names[i] for i in ranked[:TOP]]))
            if pair.get("search"):
                found = [t.id for t in search.newest_matching(Ticket.live(), pair["search"]).limit(20)]
                expected = [ids[label] for label in pair["search_expect"]]
                searched.append((found, expected))
                if not set(expected) <= set(found[:TOP]):
                    misses["search"].append((pair["search"], pair["search_expect"], [names[i] for i in found[:TOP]]))
    return {kind: (*_rank_metrics(rankings), len(rankings), misses[kind])
            for kind, rankings in (("similar", similar), ("search", searched))}


def run(path=DATA, database=None):
    """Build a throwaway database (or use `database`, a SQLite path or PostgreSQL URL the caller
    has emptied), measure, and return evaluate()'s figures."""
    import shutil

    from kefu import db

    data = load(path)
    folder = tempfile.mkdtemp(prefix="kefu-similar-eval-")
    try:
        db.init(database or os.path.join(folder, "eval.sqlite3"))
        db.database.connect(reuse_if_open=True)
        try:
            ids, where = build(data)
            return evaluate(data, ids, where)
        finally:
            db.database.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main():
    verbose = "-v" in sys.argv
    figures = run()
    labels = {"similar": "类似诉求（举一反三）", "search": "列表搜索（最新在前）"}
    for kind, (recall, mrr, count, misses) in figures.items():
        print(f"{labels[kind]}：recall@{TOP} = {recall:.3f}，MRR = {mrr:.3f}（{count} 对）")
        if verbose:
            for query, expected, top in misses:
                print(f"   未全部找到：{query}  期望 {expected}  前{TOP} {top}")
    return 0 if figures["similar"][0] >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
