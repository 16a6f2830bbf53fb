"""The tests' PostgreSQL: the suite runs on it when KEFU_TEST_DATABASE_URL is set (a database the
tests may empty; scripts/pg-test-server.sh starts a server and prints one). Servers the tests start
in other processes (the browser tests' live server) get databases of their own on the same server."""
import os

# Under pytest-xdist each worker gets a database of its own, named after the worker.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
URL = os.environ.get("KEFU_TEST_DATABASE_URL", "")
# The server for tests that need PostgreSQL whatever the suite runs on (moving an estate across).
SERVER_URL = os.environ.get("KEFU_TEST_POSTGRES_URL") or URL


def _own(url):
    """The worker's own database on the server of `url` (made if missing)."""
    if not url or not WORKER:
        return url
    import psycopg

    server, name = url.rsplit("/", 1)
    name = f"{name}_{WORKER}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


URL = _own(URL)


def fresh(name):
    """A new, empty database `name` on the test server (an old one of that name dropped); its URL."""
    import psycopg

    server = SERVER_URL.rsplit("/", 1)[0]
    name = f"{name}_{WORKER}" if WORKER else name
    drop(f"{server}/{name}")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def drop(url):
    """Drop the database of `url` if it is there (its connections ended)."""
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(database, sql, *params):
    """The rows of `sql`, written with ? placeholders, on a SQLite file or a PostgreSQL URL."""
    if database.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(database) as connection:
            return connection.execute(sql.replace("?", "%s"), params).fetchall()
    import sqlite3

    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()
