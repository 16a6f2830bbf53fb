"""Every package the code imports is pinned, in the right file.

What the server imports (app.py, kefu/, and bench/, which `make bench` runs after installing only
what serving needs) must be pinned in requirements.txt; what only the tests and scripts import, in
requirements.txt or requirements-test.txt. Each pin is `name==version`. Imports are read with `ast`
(top-level and inside functions); a module is mapped to the distribution that installs it with
importlib.metadata, so `PIL` is Pillow and `dateutil` python-dateutil.

Usage: python scripts/check_requirements.py   (prints what is missing; exit 1 if anything is)
"""
import ast
import functools
import importlib.metadata
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVING = ["app.py", "kefu", "bench"]
TESTING = ["tests", "scripts", "bench/newcomer.py", "bench/resident.py"]
# bench/ files that drive a browser (run by hand after `make test` has installed the test tools, not
# by `make bench`): their imports count as the tests'.
BROWSER_BENCH = {os.path.join("bench", "newcomer.py"), os.path.join("bench", "resident.py")}
# Imported only where the package is optional (kefu/uploads.py reads HEIC when pillow-heif is there).
OPTIONAL = set()


def python_files(paths):
    for path in paths:
        full = os.path.join(ROOT, path)
        if os.path.isfile(full):
            yield full
        for folder, dirs, files in os.walk(full):
            dirs[:] = [d for d in dirs if d not in ("__pycache__", "node_modules", ".venv")]
            yield from (os.path.join(folder, name) for name in files if name.endswith(".py")
                        and (path in TESTING or os.path.relpath(os.path.join(folder, name), ROOT) not in BROWSER_BENCH))


def imported(paths):
    """Top-level module names imported by the files, apart from the standard library and our own."""
    ours = {"kefu", "app", "bench", "tests", "conftest", "pgtest", "serverctl", "workload", "live_server"}
    ours |= {os.path.splitext(name)[0] for name in os.listdir(os.path.join(ROOT, "tests")) if name.endswith(".py")}
    ours |= {name for name in os.listdir(os.path.join(ROOT, "tests")) if os.path.isdir(os.path.join(ROOT, "tests", name))}
    ours |= {os.path.splitext(name)[0] for name in os.listdir(os.path.join(ROOT, "scripts")) if name.endswith(".py")}
    names = {}
    for path in python_files(paths):
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found = [node.module]
            else:
                continue
            for name in found:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in ours and top != "__future__":
                    names.setdefault(top, os.path.relpath(path, ROOT))
    return names


def pinned(filename):
    """{normalised distribution name: version} pinned in a requirements file."""
    pins = {}
    with open(os.path.join(ROOT, filename)) as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if not line or line.startswith("-r"):
                continue
            match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;]+)", line)
            if not match:
                raise SystemExit(f"{filename}: not pinned as name==version: {line}")
            pins[normal(match.group(1))] = match.group(3)
    return pins


def normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def _installed():
    """{top-level module: [distribution names]}, read once (it walks every installed package)."""
    return importlib.metadata.packages_distributions()


def distributions(module):
    return {normal(d) for d in _installed().get(module, [])}


def missing():
    """[(module, where imported, the file it should be pinned in)] not pinned where it must be."""
    serving, testing = pinned("requirements.txt"), pinned("requirements-test.txt")
    problems = []
    for module, where in sorted(imported(SERVING).items()):
        if module not in OPTIONAL and not distributions(module) & set(serving):
            problems.append((module, where, "requirements.txt"))
    for module, where in sorted(imported(TESTING).items()):
        if not distributions(module) & (set(serving) | set(testing)):
            problems.append((module, where, "requirements-test.txt"))
    return problems


def main():
    problems = missing()
    for module, where, filename in problems:
        print(f"{module} (imported in {where}) is not pinned in {filename}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
