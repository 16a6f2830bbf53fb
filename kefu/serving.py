"""gunicorn's settings for `flask --app app serve` (read as `-c python:kefu.serving`).

- Each worker is replaced after MAX_REQUESTS requests (plus up to JITTER, so the workers don't all
  restart at once): memory a long-lived process gathers (fragmentation, caches) is given back.
- A worker whose resident memory passes KEFU_WORKER_MEMORY_MB (default 768) finishes the request in
  hand and is replaced (gunicorn has no memory limit of its own). Decoding a photo or rendering a
  PDF can lift a worker by a few hundred MB that CPython doesn't return to the system.
- Request limits match the nginx set-up the README gives: the request line and each header up to
  8 KiB (nginx's `large_client_header_buffers 4 8k`), at most 100 headers; bodies up to 80 MiB
  (`client_max_body_size 80m`), which the app itself refuses past MAX_CONTENT_LENGTH.
"""
import os

MAX_REQUESTS = 1000
JITTER = 100
MEMORY_MB = int(os.environ.get("KEFU_WORKER_MEMORY_MB") or 768)
REQUEST_LINE = 8190
HEADER_FIELD = 8190
HEADER_FIELDS = 100

max_requests = MAX_REQUESTS
max_requests_jitter = JITTER
limit_request_line = REQUEST_LINE
limit_request_field_size = HEADER_FIELD
limit_request_fields = HEADER_FIELDS


def resident_mb():
    """This process's resident memory in MiB (from /proc; 0 where there is none)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def post_request(worker, req, environ, resp):
    """Over the memory ceiling: let this worker finish and have gunicorn start a fresh one."""
    if MEMORY_MB and resident_mb() > MEMORY_MB and worker.alive:
        worker.log.warning("worker %s uses %.0f MB (over %s MB): replaced after this request",
                           worker.pid, resident_mb(), MEMORY_MB)
        worker.alive = False
