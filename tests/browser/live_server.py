"""Serve the demo estate for the browser tests, in a process of its own.

Usage: python tests/browser/live_server.py INSTANCE_DIR [DATABASE] (a SQLite path or PostgreSQL URL;
by default kefu.sqlite3 in INSTANCE_DIR, as `make audit` uses it)
Prints the port once the server listens; logs go to stderr. Exits when stdin closes, so a
test run that dies without tearing down leaves no server behind.
"""
import os
import sys
import threading
import warnings

from werkzeug.serving import WSGIRequestHandler

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)


def main(instance, database):
    # The same warning policy as pytest (pyproject.toml): a warning in a request is a bug.
    warnings.filterwarnings("error")
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="fontTools.*")

    from werkzeug.serving import make_server

    from kefu import create_app
    from kefu import db
    from kefu import demo
    from kefu import users

    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # fast hashing; the password stays demo1234
    # KEFU_LIVE_EMPTY=1: a new estate as DEMO=0 starts it (no demo, the first-run set-up page).
    empty = os.environ.get("KEFU_LIVE_EMPTY") == "1"
    app = create_app({"TESTING": True, "INSTANCE": instance, "WTF_CSRF_ENABLED": True,
                      "DATABASE": database, "DEMO": not empty,
                      "PHOTOS": os.path.join(instance, "photos")})
    if not empty:
        with db.database.connection_context():
            demo.build()
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True, request_handler=_Handler)
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"  # what the QR stickers hold
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    print(server.server_port, flush=True)
    server.serve_forever()


def _closing(app):
    """Keeps each response in its environ so a dropped connection can still close it."""
    def wsgi(environ, start_response):
        response = _Response(app(environ, start_response))
        environ["kefu.response"] = response
        return response
    return wsgi


class _Response:
    """A response that closes once, whoever asks first."""

    def __init__(self, iterable):
        self.iterable = iterable
        self.closed = False

    def __iter__(self):
        return iter(self.iterable)

    def close(self):
        if not self.closed and hasattr(self.iterable, "close"):
            self.iterable.close()
        self.closed = True


class _Handler(WSGIRequestHandler):
    """Werkzeug's development server skips closing a response whose client hung up while it drained
    the request (a browser leaving a page while a photo still loads), which leaks the open photo file
    as a ResourceWarning; gunicorn, which serves kefu in production, always closes it."""

    def connection_dropped(self, error, environ=None):
        response = (environ or {}).get("kefu.response")
        if response is not None:
            response.close()


def _exit_with_parent():
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else os.path.join(sys.argv[1], "kefu.sqlite3"))
