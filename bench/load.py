"""A load generator, run as a process of its own: C keep-alive connections GET one URL for S
seconds and report the latency of each response and the throughput, as JSON on stdout.

    .venv/bin/python -m bench.load http://127.0.0.1:8000/ --cookie "session=…" --seconds 3 --connections 4
"""
import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.parse


def run(url, cookie, seconds, connections, pause=0.0):
    parts = urllib.parse.urlsplit(url)
    path = urllib.parse.quote(parts.path + (f"?{parts.query}" if parts.query else ""), safe="/?=&%")
    headers = {"Cookie": cookie, "Accept-Encoding": "gzip, br"} if cookie else {"Accept-Encoding": "gzip, br"}
    latencies, errors, lock = [], [], threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        mine, failed = [], []
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
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
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {"n": len(latencies), "errors": errors[:10], "error_count": len(errors), "latencies": latencies,
            "seconds": elapsed,
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
    args = parser.parse_args()
    json.dump(run(args.url, args.cookie, args.seconds, args.connections, args.pause), sys.stdout)


if __name__ == "__main__":
    main()
