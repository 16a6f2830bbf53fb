"""The app's own scheduler: periodic jobs run by a thread in each server process.

Each run is claimed in the database first, so with several workers a job still runs once per
interval. No separate daemon to start: serving the app is enough.
"""
import contextlib
import datetime
import logging
import threading
import time

import peewee

from . import clock
from .db import BaseModel
from .db import database

log = logging.getLogger(__name__)


class JobRun(BaseModel):
    name = peewee.CharField(primary_key=True, max_length=40)
    last_run = peewee.DateTimeField()


MODELS = [JobRun]

JOBS = {}  # name -> (interval seconds, function)


def job(name, interval):
    def register(function):
        JOBS[name] = (interval, function)
        return function

    return register


def claim(name, interval, now=None):
    """True if this process may run `name` now (and records that it does)."""
    now = now or clock.utcnow()
    cutoff = now - datetime.timedelta(seconds=interval)
    with database.atomic():
        JobRun.insert(name=name, last_run=cutoff).on_conflict_ignore().execute()
        return JobRun.update(last_run=now).where((JobRun.name == name) & (JobRun.last_run <= cutoff)).execute() == 1


def run_due(now=None):
    """Run every job whose interval has passed. Returns the names run."""
    ran = []
    for name, (interval, function) in JOBS.items():
        # The scheduler thread opens its own connection; a caller that has one keeps it.
        with (database.connection_context() if database.is_closed() else contextlib.nullcontext()):
            if claim(name, interval, now):
                from .estate import kept

                try:
                    with kept():
                        function()
                    ran.append(name)
                except Exception:  # a failing job must not stop the others or the thread
                    log.exception("scheduled job %s failed", name)
    return ran


def start(tick=30):
    """Start the background thread (once per process)."""
    def loop():
        while True:
            time.sleep(tick)
            try:
                run_due()
            except Exception:
                log.exception("scheduler tick failed")

    thread = threading.Thread(target=loop, name="kefu-scheduler", daemon=True)
    thread.start()
    return thread
