"""A load generator, run as a process of its own: C keep-alive connections GET one URL for S
seconds and report the latency of each response and the throughput, as JSON on stdout.

    .venv/bin/python -m bench.load http://127.0.0.1:8000/ --cookie "session=…" --seconds 3 --connections 4

With `--workers N` the connections are spread evenly over the server's N worker processes before the
clock starts (each response names its worker in `X-Bench-Worker`, bench/wsgi.py). Which gunicorn worker
accepts a connection is up to the kernel: four connections land 2 + 2, 3 + 1 or 4 + 0 by chance, and a
worker with three connections answers each of them much later (its threads share one interpreter lock)
while the lone one on the other worker answers fast. The same page measured 19 ms at 2 + 2 and 36 ms at
4 + 0, and the bare response 3.5 ms at 3 + 1 against 4.5 ms at 2 + 2: a ratio between two pages then
turned on how their connections happened to fall. Thirty phones spread themselves; four connections
must be spread.
"""
import argparse
import collections
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse


WORKER_HEADER = "X-Bench-Worker"
MAX_REDIALS = 200


def spread(parts, path, headers, connections, workers):
    """`connections` open keep-alive connections, at most ceil(connections / workers) on any one worker
    process: each asks for `path` once (a cheap page, not timed: a connection left idle longer than
    gunicorn's keep-alive of 2 s while the others are dialled would be closed under it) and is dialled
    again while its worker is full. Returns the connections and how many landed on each worker."""
    quota = -(-connections // workers)
    opened, per_worker, redials = [], collections.Counter(), 0
    while len(opened) < connections:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        worker = response.getheader(WORKER_HEADER)
        if worker is None or response.will_close:
            raise SystemExit(f"no {WORKER_HEADER} on a kept-alive response: is this bench/wsgi.py?")
        if per_worker[worker] >= quota and redials < MAX_REDIALS:
            connection.close()
            redials += 1
            continue
        per_worker[worker] += 1
        opened.append(connection)
    return opened, sorted(per_worker.values(), reverse=True)


def run(url, cookie, seconds, connections, pause=0.0, workers=0, probe=None):
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.quote(parts.path + (f"?{parts.query}" if parts.query else ""), safe="/?=&%")
    headers = {"Cookie": cookie, "Accept-Encoding": "gzip, br"} if cookie else {"Accept-Encoding": "gzip, br"}
    latencies, errors, lock = [], [], threading.Lock()
    if workers:
        ready, split = spread(parts, probe or path, headers, connections, workers)
    else:
        ready, split = [], []
    deadline = time.perf_counter() + seconds

    def client(connection=None):
        mine, failed = [], []
        connection = connection or http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status not in (200, 204):  # 204: an open 今日's poll with nothing new
                    failed.append(response.status)
                    continue
            except (OSError, http.client.HTTPException, ValueError) as error:
                failed.append(type(error).__name__)
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                continue
            mine.append((time.perf_counter() - started) * 1000)
            if pause:
                time.sleep(pause)  # a phone that asks every `pause` seconds, not a load generator
        connection.close()
        with lock:
            latencies.extend(mine)
            errors.extend(failed)

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(ready[number] if ready else None,))
               for number in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"n": len(latencies), "errors": errors[:10], "error_count": len(errors), "latencies": latencies,
            "seconds": elapsed, "split": split,
            "median": statistics.median(latencies) if latencies else None,
            "p90": latencies[int(len(latencies) * 0.9)] if latencies else None,
            "rps": len(latencies) / elapsed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--cookie", default="")
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds each connection waits between requests")
    parser.add_argument("--workers", type=int, default=0,
                        help="spread the connections evenly over this many worker processes (bench/wsgi.py)")
    parser.add_argument("--probe", help="the path asked once on each connection to learn its worker (default: the URL's)")
    args = parser.parse_args()
    json.dump(run(args.url, args.cookie, args.seconds, args.connections, args.pause, args.workers, args.probe),
              sys.stdout)


if __name__ == "__main__":
    main()
