"""The real server for the crash and concurrency tests, and a phone-like HTTP client for it.

`Server` runs gunicorn as `flask --app app serve` starts it, in a process group of its own, on an
instance folder: `kill()` sends SIGKILL to the whole group (master and workers, mid-request),
`start()` serves the same folder again. The first start goes through `flask serve`; later starts
run the gunicorn command line `serve` exec'd (read back from /proc), which skips a second app
import and keeps a crash round short.

`Client` speaks HTTP/1.1 the way a phone does: cookies, a signed-in session, the CSRF token in
each form (and in X-CSRFToken for htmx requests), redirects not followed so a 303 can be read.
Only the standard library: the tests add no dependency.
"""
import atexit
import concurrent.futures
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from http.cookies import SimpleCookie
from urllib.parse import quote
from urllib.parse import urlencode
from urllib.parse import urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
SECRET_KEY = "serverctl-test-secret"
PASSWORD = "demo1234"
START_SECONDS = 60

_LIVE = set()  # servers started and not yet killed, killed at exit if a test run dies halfway
_TEMPLATE = {}
# Kills the server's process group when pytest goes away without killing it (stdin closes), the way
# tests/browser/live_server.py exits with its parent: no gunicorn is left serving after a crashed run.
_WATCHDOG = """
import os, signal, sys
group = None
for line in sys.stdin:
    group = int(line) if line.strip() else None
if group:
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
"""


def soak():
    """True when the long versions run (`make soak`)."""
    return os.environ.get("KEFU_SOAK", "") == "1"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def demo_instance(tmp_path_factory, target):
    """A copy of the demo estate in `target`; the estate is built once per test session."""
    if "path" not in _TEMPLATE:
        template = str(tmp_path_factory.mktemp("demo-template"))
        result = subprocess.run([os.path.join(BIN, "flask"), "--app", "app", "demo"], cwd=ROOT,
                                env=_env(template), capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"flask demo failed:\n{result.stdout}\n{result.stderr}")
        _TEMPLATE["path"] = template
    shutil.copytree(_TEMPLATE["path"], target)
    return str(target)


def _env(instance, port=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "FLASK_", "KEFU_"))}
    # PYTHONDONTWRITEBYTECODE: no __pycache__ left in the working tree by the server.
    env.update(KEFU_INSTANCE=instance, DEMO="1", SECRET_KEY=SECRET_KEY, HOST="127.0.0.1",
               PYTHONDONTWRITEBYTECODE="1")
    if port is not None:
        env["PORT"] = str(port)
    return env


class Server:
    """gunicorn serving one instance folder on one port, across kills and restarts."""

    def __init__(self, instance, logs, workers=2):
        self.instance = instance
        self.database = os.path.join(instance, "kefu.sqlite3")
        self.photos = os.path.join(instance, "photos")
        self.port = free_port()
        self.workers = workers
        self.out_path = os.path.join(logs, "server.out")
        self.err_path = os.path.join(logs, "server.err")
        self.process = None
        self.command = None
        self.starts = 0
        self.start_seconds = []
        self._watchdog = None

    def start(self):
        """Serve the folder and return once a page answers."""
        began = time.monotonic()
        argv = self.command or [os.path.join(BIN, "flask"), "--app", "app", "serve", "--workers", str(self.workers)]
        with open(self.out_path, "ab") as out, open(self.err_path, "ab") as err:
            self.process = subprocess.Popen(argv, cwd=ROOT, env=_env(self.instance, self.port),
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                            start_new_session=True)
        _LIVE.add(self)
        self._guard(self.process.pid)
        self._wait_ready()
        if self.command is None:
            self.command = self._exec_argv()
        self.starts += 1
        self.start_seconds.append(time.monotonic() - began)
        return self

    def _exec_argv(self):
        """The gunicorn command line `flask serve` exec'd into (None where /proc is missing)."""
        try:
            with open(f"/proc/{self.process.pid}/cmdline", "rb") as handle:
                argv = [part.decode() for part in handle.read().split(b"\0") if part]
        except OSError:
            return None
        return argv if any(os.path.basename(part) == "gunicorn" for part in argv) else None

    def _wait_ready(self):
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=START_SECONDS)
                connection.request("GET", "/login")
                response = connection.getresponse()
                response.read()
                connection.close()
                if response.status == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"server did not answer within {START_SECONDS} s:\n{self.log_tail()}")

    def kill(self):
        """SIGKILL the master and every worker at once, as a power cut or the OOM killer would."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.process = None
        self._guard(None)
        _LIVE.discard(self)
        # Workers die with the master; the port is free once the last of them has let go of it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.02)

    def _guard(self, group):
        if self._watchdog is None:
            self._watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG], stdin=subprocess.PIPE, text=True)
        self._watchdog.stdin.write(f"{group or ''}\n")
        self._watchdog.stdin.flush()

    def close(self):
        """Kill the server and let its watchdog go."""
        self.kill()
        if self._watchdog is not None:
            self._watchdog.stdin.close()
            self._watchdog.wait()
            self._watchdog = None

    def restart(self):
        self.kill()
        return self.start()

    def log(self):
        """What the server wrote to stderr (gunicorn's log and the app's errors), every start."""
        try:
            with open(self.err_path, errors="replace") as handle:
                return handle.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, size=3000):
        return self.log()[-size:]


@atexit.register
def _kill_leftovers():
    for server in list(_LIVE):
        server.close()


class NoAnswer(Exception):
    """The request got no HTTP response: refused, reset or cut off (the server was killed)."""


class Response:
    def __init__(self, status, headers, data, elapsed):
        self.status, self.headers, self.data, self.elapsed = status, headers, data, elapsed

    @property
    def text(self):
        return self.data.decode("utf-8", "replace")

    @property
    def location(self):
        """The redirect's path ("/tickets/12"), or ""."""
        return urlsplit(self.headers.get("Location", "")).path

    def location_id(self, pattern):
        """The id in a redirect to `pattern` (a regex with one group), or None."""
        match = re.fullmatch(pattern, self.location)
        return int(match.group(1)) if match else None


def input_value(html, name):
    """The value of the page's input called `name` (None if there is none)."""
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    value = tag and re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def htmx_csrf(html):
    """The CSRF token base.html hands to htmx (hx-headers on <body>)."""
    match = re.search(r"hx-headers='([^']*)'", html)
    return json.loads(match.group(1))["X-CSRFToken"] if match else None


class Client:
    """One phone: its own cookies and sign-in. Each request opens a fresh connection, so a server
    restarted under it costs the request in flight and nothing more."""

    def __init__(self, server, timeout=30):
        self.server = server
        self.timeout = timeout
        self.cookies = {}
        self.csrf = None
        self.username = None
        self.timings = []  # (label, status, seconds)

    def request(self, method, path, fields=None, files=None, headers=None, label=None):
        """Send one request; raises NoAnswer when no HTTP response came back."""
        headers = dict(headers or {})
        body = None
        if files:
            body, headers["Content-Type"] = _multipart(fields or [], files)
        elif fields is not None:
            body = urlencode(_pairs(fields)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers["Connection"] = "close"
        began = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=self.timeout)
        try:
            connection.request(method, quote(path, safe="/?&=%:+-_.~"), body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException) as error:
            raise NoAnswer(f"{method} {path}: {error!r}") from error
        finally:
            connection.close()
        elapsed = time.monotonic() - began
        self._keep_cookies(answer.msg.get_all("Set-Cookie") or [])
        response = Response(answer.status, answer.msg, data, elapsed)
        self.timings.append((label or f"{method} {path}", answer.status, elapsed))
        return response

    def _keep_cookies(self, lines):
        for line in lines:
            cookie = SimpleCookie()
            cookie.load(line)
            for name, morsel in cookie.items():
                if morsel.value == "" or morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def get(self, path, htmx=False, label=None):
        return self.request("GET", path, headers=self._htmx() if htmx else None, label=label)

    def post(self, path, fields, files=None, htmx=False, label=None):
        """A form post with the CSRF token in the form (and in the header for htmx)."""
        fields = _pairs(fields) + [("csrf_token", self.csrf)]
        return self.request("POST", path, fields, files, headers=self._htmx() if htmx else None, label=label)

    def _htmx(self):
        return {"HX-Request": "true", "X-CSRFToken": self.csrf}

    def sign_in(self, username, password=PASSWORD):
        """Sign in through the login form, then take the session's CSRF token from a page."""
        page = self.get("/login", label="GET /login")
        token = input_value(page.text, "csrf_token")
        assert token, f"no csrf_token on the login page:\n{page.text[:2000]}"
        answer = self.request("POST", "/login", [("csrf_token", token), ("username", username),
                                                ("password", password)], label="POST /login")
        assert answer.status == 303, f"sign-in as {username} answered {answer.status}:\n{answer.text[:2000]}"
        home = self.get("/", label="GET /")
        assert home.status == 200, f"home page answered {home.status} after signing in as {username}"
        self.csrf = htmx_csrf(home.text)
        assert self.csrf, "no X-CSRFToken in hx-headers on the home page"
        self.username = username
        return self


def signed_in(server, usernames):
    """One client per username, signed in side by side (each sign-in hashes a password)."""
    with concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="sign-in") as pool:
        return list(pool.map(lambda username: Client(server).sign_in(username), usernames))


def _pairs(fields):
    return list(fields.items()) if isinstance(fields, dict) else list(fields)


def _multipart(fields, files):
    """multipart/form-data from [(name, value)] and [(name, filename, bytes)]."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in _pairs(fields):
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data in files:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                      f'Content-Type: image/jpeg\r\n\r\n'.encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def percentile(values, share):
    """The value below which `share` (0–1) of `values` fall (nearest rank)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(share * len(ordered) + 0.5)) - 1))]
