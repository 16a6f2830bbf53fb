"""The app as `bench/served.py` serves it under gunicorn: one bench database, the bare and reference
routes of bench/run.py, and the clock frozen at the data's now (so 今日 is the data's day)."""
import datetime
import os

from bench.run import _make_app
from kefu import clock

app = _make_app(os.environ["BENCH_DB"], os.environ["BENCH_INSTANCE"])
_frozen = clock.set_to(datetime.datetime.fromisoformat(os.environ["BENCH_NOW"]))
_frozen.__enter__()  # for the life of the worker
