"""The app as `bench/served.py` serves it under gunicorn: one bench database, the bare and reference
routes of bench/run.py, and the clock frozen at the data's now (so 今日 is the data's day). Each response
names the worker process that made it (`X-Bench-Worker`), so the load generator can spread its keep-alive
connections evenly over the workers (bench/load.py)."""
import datetime
import os

from bench.run import _make_app
from kefu import clock

app = _make_app(os.environ["BENCH_DB"], os.environ["BENCH_INSTANCE"])
_frozen = clock.set_to(datetime.datetime.fromisoformat(os.environ["BENCH_NOW"]))
_frozen.__enter__()  # for the life of the worker

WORKER_HEADER = "X-Bench-Worker"


@app.after_request
def _name_the_worker(response):
    response.headers[WORKER_HEADER] = str(os.getpid())
    return response
