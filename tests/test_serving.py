"""A lean, hardened server: `make run` installs only what serving needs, every imported package is
pinned, and gunicorn replaces its workers (after so many requests, past a memory ceiling) and refuses
request lines and headers longer than nginx passes."""
import os
import re
import socket
import sys
import types

import pytest

import serverctl
from kefu import serving

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import check_requirements  # noqa: E402

TEST_TOOLS = ("pytest", "time-machine", "playwright", "pypdf", "hypothesis", "zxing-cpp")


def read(name):
    with open(os.path.join(ROOT, name)) as handle:
        return handle.read()


def pins(name):
    return {check_requirements.normal(n) for n in check_requirements.pinned(name)}


def test_serving_installs_no_test_tool_and_the_tests_add_theirs():
    assert not pins("requirements.txt") & set(TEST_TOOLS)
    assert set(TEST_TOOLS) <= pins("requirements-test.txt")
    assert "-r requirements.txt" in read("requirements-test.txt")
    makefile = read("Makefile")
    run = re.search(r"^run: (.*)$", makefile, re.M).group(1)
    assert ".venv/.installed" in run and "test-installed" not in run
    for target in ("test", "test-postgres", "soak"):
        assert ".venv/.test-installed" in re.search(rf"^{target}: (.*)$", makefile, re.M).group(1), target
    assert ".venv/.test-installed" in read(".ci/run")


def test_every_package_the_code_imports_is_pinned():
    assert check_requirements.missing() == []
    assert "python-dateutil" in pins("requirements.txt")


def worker():
    return types.SimpleNamespace(alive=True, pid=1, log=types.SimpleNamespace(warning=lambda *a: None))


def test_a_worker_over_the_memory_ceiling_is_replaced_after_its_request(monkeypatch):
    monkeypatch.setattr(serving, "resident_mb", lambda: serving.MEMORY_MB + 1)
    over = worker()
    serving.post_request(over, None, {}, None)
    assert over.alive is False
    monkeypatch.setattr(serving, "resident_mb", lambda: serving.MEMORY_MB - 1)
    under = worker()
    serving.post_request(under, None, {}, None)
    assert under.alive is True
    assert 0 < serving.resident_mb() < 100_000


def ask(port, target="/login", header=""):
    """The status of one raw HTTP request."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        extra = f"X-Padding: {header}\r\n" if header else ""
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n".encode())
        reply = b""
        while chunk := connection.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serving")
    running = serverctl.Server(serverctl.demo_instance(tmp_path_factory, folder / "instance"), str(folder), workers=1)
    running.start()
    yield running
    running.close()


def test_gunicorn_replaces_workers_and_limits_request_lines_and_headers_as_nginx_does(server):
    command = " ".join(server.command)
    assert "--config python:kefu.serving" in command
    assert serving.max_requests == 1000 and serving.max_requests_jitter == 100
    assert ask(server.port, header="x" * 8000) == 200
    assert ask(server.port, header="x" * 9000) in (400, 431)
    assert ask(server.port, target="/login?q=" + "x" * 8000) == 200
    assert ask(server.port, target="/login?q=" + "x" * 9000) in (400, 414)
    assert "Traceback" not in server.log_tail()
