"""举一反三 measured on the labelled set (tests/data/similar-cases.json) by scripts/similar_eval.py:
the similar-cases ranking must put at least 90 % of what a good assistant would want to see among
its first five, and so must the list's search."""
import importlib.util
import os

import conftest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "similar_eval.py")


def _script():
    spec = importlib.util.spec_from_file_location("similar_eval", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_labelled_set_is_big_enough_and_names_only_its_own_requests():
    data = _script().load()
    labels = {row[0] for row in data["history"]}
    assert len(data["pairs"]) >= 80
    for pair in data["pairs"]:
        assert pair["expect"] and set(pair["expect"]) <= labels
        assert set(pair.get("search_expect", [])) <= labels


def test_similar_cases_and_the_list_search_find_what_is_expected(tmp_path):
    figures = _script().run(database=conftest.test_database(tmp_path))
    for kind, (recall, mrr, count, misses) in figures.items():
        print(f"{kind}: recall@5 = {recall:.3f}, MRR = {mrr:.3f} over {count} pairs")
        assert recall >= 0.9, (kind, misses)
