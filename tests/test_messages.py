"""Each refusal message written once (issue 16, part 5).

A form shows its checks' messages beside the fields all at once, and the rule behind it refuses the
same things again, for every caller that is not the form (an import, a script, a second tab). Both
say the same words, so the words are written once: in the rule module, where they are raised, as a
constant (or a function for a message with a number in it) that the form names. This test reads the
source: a refusal a rule module raises whose text also stands as a literal in a view is written twice.
"""
import ast
import pathlib
import re

KEFU = pathlib.Path(__file__).resolve().parent.parent / "kefu"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def texts(node):
    """The words of a string literal or an f-string (its fields as {}), through conditional
    expressions; nothing for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return ["".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)]
    if isinstance(node, ast.IfExp):
        return texts(node.body) + texts(node.orelse)
    return []


def called_name(call):
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


def refusals(tree):
    """The Chinese words a rule module refuses with: the message of every error it makes
    (`SomethingError("…")`, `error("…")`), and the module's constants it makes errors with."""
    found, constants = set(), {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = texts(node.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and called_name(node).lower().endswith("error") and node.args:
            first = node.args[0]
            words = texts(first)
            if isinstance(first, ast.Name):
                words = constants.get(first.id, [])
            found.update(w for w in words if CHINESE.search(w))
    return found


def literals(tree):
    """Every Chinese string literal (or f-string) in a module, with its line."""
    for node in ast.walk(tree):
        for words in texts(node) if isinstance(node, (ast.Constant, ast.JoinedStr)) else []:
            if CHINESE.search(words):
                yield words, node.lineno


def rule_modules():
    return [path for path in sorted(KEFU.glob("*.py")) if path.name != "demo.py"]


def test_refusals_are_found_at_all():
    # The reading above finds what it should: a rule module's refusals, in its own words.
    tickets = refusals(ast.parse((KEFU / "tickets.py").read_text()))
    assert len(tickets) > 10 and any(words.startswith("请") for words in tickets)


def test_no_refusal_is_written_both_in_a_view_and_in_a_rule_module():
    refused = {}
    for path in rule_modules():
        for words in refusals(ast.parse(path.read_text())):
            refused.setdefault(words, []).append(path.name)
    twice = []
    for path in sorted((KEFU / "views").glob("*.py")):
        for words, line in literals(ast.parse(path.read_text())):
            if words in refused:
                twice.append(f"views/{path.name}:{line} {words!r} (also in {', '.join(refused[words])})")
    assert twice == [], "name the rule module's message instead of writing it again"


def test_a_form_still_shows_every_refusal_at_once_beside_its_field(client, login):
    from conftest import html

    from kefu import tickets

    login("admin")
    response = client.post("/admin/tiers/new", data={"name": "", "response_minutes": "1",
                                                      "resolution_hours": "9999", "sort": "100"})
    assert response.status_code == 422
    page = html(response)
    for field, message in [("name", "请填写名称"), ("response_minutes", tickets.RESPONSE_LIMIT_RANGE),
                           ("resolution_hours", tickets.RESOLUTION_LIMIT_RANGE), ("sort", tickets.SORT_RANGE)]:
        assert re.search(rf'id="{field}-error"[^>]*>{message}<', page), field
