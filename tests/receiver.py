"""A local HTTP receiver standing in for the chat robots' webhooks and the browsers' push services:
it keeps every request (path, query, headers, body, arrival time) and answers what the test sets."""
import http.server
import json
import threading
import time
from urllib.parse import parse_qs
from urllib.parse import urlsplit


class Headers(dict):
    """Header names in any case (a push library writes them lower-case)."""

    def __init__(self, pairs):
        super().__init__((name.lower(), value) for name, value in pairs)

    def __getitem__(self, name):
        return super().__getitem__(name.lower())

    def get(self, name, default=None):
        return super().get(name.lower(), default)


class Received:
    def __init__(self, method, path, headers, body):
        parts = urlsplit(path)
        self.method, self.path, self.query = method, parts.path, parse_qs(parts.query, keep_blank_values=True)
        self.raw_query = parts.query
        self.headers, self.body, self.at = headers, body, time.monotonic()

    def json(self):
        return json.loads(self.body)


class Receiver:
    """Serves on 127.0.0.1 in a thread; `url(path)` gives an address on it. `answer(status, body)`
    sets the reply (a callable of the request may choose per request)."""

    def __init__(self):
        self.requests = []
        self.reply = (200, {"errcode": 0, "errmsg": "ok", "code": 0})
        self.arrived = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = Received("POST", self.path, Headers(self.headers.items()), body)
                reply = receiver.reply(request) if callable(receiver.reply) else receiver.reply
                status, answer = reply
                data = json.dumps(answer).encode() if not isinstance(answer, bytes) else answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                with receiver.arrived:
                    receiver.requests.append(request)
                    receiver.arrived.notify_all()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, status, body):
        self.reply = (status, body)

    def wait_for(self, count, timeout=20):
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count and time.monotonic() < deadline:
                self.arrived.wait(deadline - time.monotonic())
        return list(self.requests)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
