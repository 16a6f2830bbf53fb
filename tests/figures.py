"""Figures the tests print (the crash test's rounds, page weights, …), shown at the end of the run.

`make test` runs the suite in several processes, whose own output pytest-xdist doesn't pass on: each
process appends what a test says to one file (named in the environment by the first process, which
the others inherit), and that first process prints the file in its summary.
"""
import os
import tempfile

_VARIABLE = "KEFU_TEST_FIGURES"


def start():
    """In the process that runs the session (or the only one): make the file. Its path, or None when
    another process made it."""
    if os.environ.get(_VARIABLE):
        return None
    handle, path = tempfile.mkstemp(prefix="kefu-figures-", suffix=".txt")
    os.close(handle)
    os.environ[_VARIABLE] = path
    return path


def show(text):
    """Print `text` at the end of the run, under "figures"."""
    path = os.environ.get(_VARIABLE)
    if not path:
        print(text)
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(text.strip("\n") + "\n")  # one write: appends of several processes don't interleave


def written(path):
    with open(path, encoding="utf-8") as held:
        return held.read()
