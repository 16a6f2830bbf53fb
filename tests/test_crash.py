"""Crash safety: the real server is killed with SIGKILL while phones write, and started again on
the same folder, round after round. Every write it acknowledged is still there, whole and once;
nothing half-written shows; every photo row has its files; the database passes integrity_check.

KEFU_SOAK=1 (`make soak`) runs 100 rounds instead of 4. KEFU_CRASH_SEED (printed) fixes the random
choices, the kill moments and what each phone writes; thread timing still varies.
"""
import os
import random
import statistics
import threading
import time

import pytest

import pgtest
import serverctl
import workload
from figures import show

pytestmark = [pytest.mark.crash,
              pytest.mark.skipif(bool(pgtest.URL), reason="SIGKILL against SQLite's own durability (the WAL file, integrity_check); the suite on PostgreSQL leaves it to SQLite's run")]

ROUNDS = 100 if serverctl.soak() else 4
WINDOW = (0.15, 0.9)  # seconds of writing between a restart and the next kill
PHONES = [
    ("qiantai", ["ticket"]),
    ("zhuli1", ["check", "check", "ticket", "visit"]),
    ("zhuli2", ["check", "visit", "ticket"]),
    ("zhuguan", ["ticket", "visit"]),
]


@pytest.fixture
def server(tmp_path, tmp_path_factory):
    server = serverctl.Server(serverctl.demo_instance(tmp_path_factory, tmp_path / "instance"), str(tmp_path))
    yield server
    server.close()


def test_acknowledged_writes_survive_sigkill(server):
    began = time.monotonic()
    seed = int(os.environ.get("KEFU_CRASH_SEED") or random.randrange(1 << 30))
    rng = random.Random(seed)
    estate = workload.Estate(server.database)
    server.start()
    ledger = workload.Ledger()
    up, stop = threading.Event(), threading.Event()
    up.set()
    *clients, reader = serverctl.signed_in(server, [username for username, _kinds in PHONES] + ["zhuguan"])
    phones = [workload.Phone(client, estate, ledger, random.Random(rng.random()), kinds, up=up, stop=stop)
              for client, (_username, kinds) in zip(clients, PHONES)]
    workers = [workload.Worker(f"phone-{p.client.username}", p.run) for p in phones]
    for worker in workers:
        worker.start()
    try:
        for number in range(1, ROUNDS + 1):
            time.sleep(rng.uniform(*WINDOW))
            up.clear()
            server.restart()  # SIGKILL to the whole process group, then the same folder served again
            problems, _ = workload.audit(server.database, server.photos, ledger.snapshot(), estate.baseline)
            problems += _shown_after_restart(reader, ledger) + ledger.surprises()
            up.set()
            broken = [w.error for w in workers if w.error]
            assert not problems and not broken, \
                f"round {number} (seed {seed}):\n" + "\n".join(problems + broken) + "\n" + server.log_tail()
    finally:
        stop.set()
        up.set()
        for worker in workers:
            worker.join(30)
    assert not [w for w in workers if w.is_alive()], "a phone thread did not stop"
    assert not [w.error for w in workers if w.error], "\n".join(w.error for w in workers if w.error)
    problems, figures = workload.audit(server.database, server.photos, ledger.snapshot(), estate.baseline)
    assert not problems, f"after the last round (seed {seed}):\n" + "\n".join(problems)
    assert not ledger.surprises(), "\n".join(ledger.surprises())
    assert not [s for s in ledger.statuses if s >= 500], ledger.statuses

    server.kill()
    orphans = workload.orphan_files(server.database, server.photos)
    orphaned = {name.split(".")[0] for name in orphans}
    assert len(orphaned) <= ledger.unanswered_with_photo, \
        f"{len(orphaned)} photos' files without a row, but only {ledger.unanswered_with_photo} uploads were cut off"
    swept = _sweep(server)
    left = workload.orphan_files(server.database, server.photos)
    # A sweep may also clear uploads never attached to anything; attached photos must all stay.
    problems, _ = workload.audit(server.database, server.photos, dict(ledger.snapshot(), photos={}), estate.baseline)
    assert not problems, "after sweeping the photo folder:\n" + "\n".join(problems)
    assert not left, f"uploads.sweep left {left}"

    log = server.log()
    assert "database is locked" not in log and "Traceback" not in log, log[-4000:]
    starts = server.start_seconds[1:]
    show(f"crash safety: {ROUNDS} rounds of SIGKILL to gunicorn (master + 2 workers) and restart, "
         f"seed {seed}, {time.monotonic() - began:.1f} s\n"
         f"  acknowledged: {figures['tickets']} customer requests, {figures['checks']} patrol checks, "
         f"{figures['visits']} visits, {figures['uploads']} photo uploads; lost 0, made twice 0\n"
         f"  requests cut off by a kill: {ledger.unanswered}, sent again once it was back "
         f"(forms with the same one-time token), answered: {ledger.resent}\n"
         f"  restart until the first page answers: median {statistics.median(starts):.2f} s, "
         f"max {max(starts):.2f} s; integrity_check ok after every restart\n"
         f"  photo files without a row after the last kill: {len(orphans)} files of {len(orphaned)} photos "
         f"({sum(f.endswith('.tmp') for f in orphans)} .tmp), from {ledger.unanswered_with_photo} "
         "cut-off requests carrying a photo; "
         + f"uploads.sweep removed {swept}, left {len(left)}")


def _shown_after_restart(reader, ledger):
    """The newest acknowledged request and its photo, as the restarted server shows them."""
    with ledger.lock:
        newest = max(ledger.tickets.values(), default=None)
    if newest is None:
        return []
    ticket_id, description, uploaded, _direct = newest
    problems = []
    page = reader.get(f"/tickets/{ticket_id}")
    if page.status != 200 or description not in page.text:
        problems.append(f"/tickets/{ticket_id} answered {page.status} without its description")
    if uploaded:
        photo = reader.get(f"/photos/{uploaded[0]}/thumb")
        if photo.status != 200 or not photo.data.startswith(b"\xff\xd8"):
            problems.append(f"/photos/{uploaded[0]}/thumb answered {photo.status}")
    return problems


def _sweep(server):
    """Run uploads.sweep on the photo folder (the server is down); how many files it removed."""
    from kefu import db
    from kefu import uploads

    db.bind(server.database)
    with db.database.connection_context():
        return len(uploads.sweep(server.photos, older_than=0))
