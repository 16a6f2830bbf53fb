"""The same pages served by the real WSGI server under load: gunicorn (2 workers × 4 threads, as
`make run` starts it) on each bench database, and a second process (bench/load.py) keeping C
keep-alive connections busy on one page for S seconds in all, split into R rounds that interleave
the two databases. Reports the median latency and throughput per page, as a ratio to the bare
response served and loaded the same way in the same round, judged on the median round.

    .venv/bin/python -m bench.served [--seconds 10] [--rounds 5] [--connections 4] [--no-write] [--only k1,k2]
"""
import argparse
import http.cookiejar
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import fill  # noqa: E402
from bench.run import ASSISTANT  # noqa: E402
from bench.run import SUPERVISOR  # noqa: E402
from bench.run import TARGET_BARE  # noqa: E402
from bench.run import TARGET_GROWTH  # noqa: E402
from bench.run import TARGET_MS  # noqa: E402
from bench.run import TARGET_PDF  # noqa: E402
from bench.run import Estate  # noqa: E402
from bench.run import machine  # noqa: E402

START, END = "<!-- served:start -->", "<!-- served:end -->"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


WORKERS = 2


def serve(estate):
    port = _free_port()
    env = dict(os.environ, BENCH_DB=estate.path, BENCH_INSTANCE=estate.work, BENCH_NOW=estate.end.isoformat())
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    process = subprocess.Popen([gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--threads", "4",
                                "--no-control-socket", "--log-level", "warning", "bench.wsgi:app"],
                               cwd=ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(f"{base}/login", timeout=2).read()
            return process, base
        except OSError:
            time.sleep(0.1)
    stop(process)
    raise SystemExit("gunicorn didn't start")


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def sign_in(base, username):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    opener.open(f"{base}/login", urllib.parse.urlencode(
        {"csrf_token": token, "username": username, "password": fill.PASSWORD}).encode())
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    check = opener.open(f"{base}/").read().decode()
    assert "今日" in check and "登录" not in check.split("<main", 1)[0], f"{username} not signed in"
    return cookie


OPEN_TODAY = 30  # staff with 今日 open, polling beside the load


def _stamp(base, cookie):
    request = urllib.request.Request(f"{base}/", headers={"Cookie": cookie})
    page = urllib.request.urlopen(request).read().decode()
    return re.search(r'data-stamp="([^"]+)"', page).group(1)


def load(url, cookie, seconds, connections):
    """`connections` keep-alive connections on `url` for `seconds`, spread evenly over the workers
    (bench/load.py says why)."""
    out = subprocess.run([sys.executable, "-m", "bench.load", url, "--cookie", cookie, "--seconds", str(seconds),
                          "--connections", str(connections), "--workers", str(WORKERS),
                          "--probe", "/_bench/bare"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    if result["split"] and result["split"][0] > -(-connections // WORKERS):
        print(f"note: {url} ran with its connections split {result['split']} over the workers", file=sys.stderr)
    return result


def measure(seconds, connections, rounds=3, only=None):
    """Both databases served at once; each page loaded for `seconds` in all, in `rounds` interleaved
    rounds (1 y, 10 y, then 10 y, 1 y, …) so whatever else the machine does falls on both."""
    from kefu import db

    estates, servers = [], []
    try:
        for years in (1, 10):
            estates.append(Estate(years))
            if only:
                estates[-1].plan = [step for step in estates[-1].plan
                                    if step[0] in only or step[0] in ("bare", "reference_pdf")]
            if not db.database.is_closed():
                db.database.close()
            servers.append(serve(estates[-1]))
        cookies = [{who: sign_in(base, who) for who in (ASSISTANT, SUPERVISOR)} for _process, base in servers]
        stamps = []
        for index, estate in enumerate(estates):
            # The stamp as the served app sees it once everyone has signed in (the poll's 204 row).
            stamp = _stamp(servers[index][1], cookies[index][ASSISTANT])
            stamps.append(stamp)
            estate.plan = [(key, label, who, f"/today/live?stamp={stamp}" if key == "today_live" else url)
                           for key, label, who, url in estate.plan]
        # Thirty staff with 今日 open on each server, each asking every 10 s, all through the run.
        pollers = [subprocess.Popen([sys.executable, "-m", "bench.load", f"{base}/today/live?stamp={stamps[index]}",
                                     "--cookie", cookies[index][ASSISTANT], "--seconds", "100000",
                                     "--connections", str(OPEN_TODAY), "--pause", "10"],
                                    cwd=ROOT, stdout=subprocess.DEVNULL)
                   for index, (_process, base) in enumerate(servers)]
        samples = [{key: [] for key, *_ in estate.plan} for estate in estates]
        by_round = [{key: [] for key, *_ in estate.plan} for estate in estates]  # each round's median
        alone = [{key: [] for key in TARGET_MS} for _estate in estates]
        elapsed = [{key: 0.0 for key, *_ in estate.plan} for estate in estates]
        for index, estate in enumerate(estates):
            base = servers[index][1]
            for key, _label, who, url in estate.plan:
                for _ in range(2):  # warm each worker's templates and caches
                    load(base + url, cookies[index][who], 0.3, 2)
        for round_number in range(rounds):
            order = range(len(estates)) if round_number % 2 == 0 else reversed(range(len(estates)))
            for index in order:
                estate, base = estates[index], servers[index][1]
                for key, _label, who, url in estate.plan:
                    share = seconds * (2 if key.endswith("_pdf") else 1) / rounds
                    result = load(base + url, cookies[index][who], share, connections)
                    assert result["n"] and not result["error_count"], (key, result)
                    samples[index][key] += result["latencies"]
                    by_round[index][key].append(statistics.median(result["latencies"]))
                    elapsed[index][key] += result["seconds"]
                    if key in TARGET_MS:
                        # One print at a time, as a person waits for theirs (the open 今日 still polling).
                        single = load(base + url, cookies[index][who], share, 1)
                        assert single["n"] and not single["error_count"], (key, single)
                        alone[index][key] += single["latencies"]
        results = []
        for index, estate in enumerate(estates):
            pages = {}
            for key, label, _who, url in estate.plan:
                latencies = sorted(samples[index][key])
                pages[key] = {"label": label, "url": url, "n": len(latencies),
                              "median": statistics.median(latencies), "p90": latencies[int(len(latencies) * 0.9)],
                              "rps": len(latencies) / elapsed[index][key], "rounds": by_round[index][key]}
                if key in TARGET_MS:
                    pages[key]["alone"] = statistics.median(alone[index][key])
                    pages[key]["alone_n"] = len(alone[index][key])
            results.append(pages)
        return results[0], results[1]
    finally:
        for poller in locals().get("pollers", []):
            poller.kill()
        for process, _base in servers:
            stop(process)
        for estate in estates:
            estate.close()


def _by_round(page, against):
    """`page` over `against` round by round (each the median of its round), as (median round, lowest,
    highest), or None when the rounds weren't kept."""
    mine, theirs = page.get("rounds"), against.get("rounds")
    if not mine or not theirs or len(mine) != len(theirs):
        return None
    ratios = [a / b for a, b in zip(mine, theirs)]
    return statistics.median(ratios), min(ratios), max(ratios)


def rows(small, large):
    """(label, URL, 1 y ms, 10 y ms, ×, 10 y / 1 y, × spread, growth spread, req/s, requests, verdict) a page.

    As bench/run.py: × and 10 y / 1 y are taken round by round (a page against the bare response or the
    reference PDF of the same round, 10 years against 1 year of the same round) and judged on the median
    round, the lowest and highest given beside it; the latencies are the medians of every request."""
    bare, reference = large["bare"]["median"], large["reference_pdf"]["median"]
    out = []
    for key, page in large.items():
        one, ten = small[key]["median"], page["median"]
        growth_spread = _by_round(page, small[key])
        growth = growth_spread[0] if growth_spread else ten / one
        ratio_spread = None
        if key in ("bare", "reference_pdf"):
            ratio, verdict = ten / bare, "—"
        elif key in TARGET_MS:  # a document of many pages: one print's own time at 10 years, as bench/run.py
            ratio = ten / reference
            single = page.get("alone", ten)  # a run without the one-at-a-time prints: the loaded median
            verdict = ("PASS" if single <= TARGET_MS[key] else f"FAIL (>{TARGET_MS[key]:g} ms)") + \
                (f" (one print alone: {single:.0f} ms, median of {page['alone_n']})" if "alone" in page else "")
        elif key.endswith("_pdf"):
            ratio_spread = _by_round(page, large["reference_pdf"])
            ratio = ratio_spread[0] if ratio_spread else ten / reference
            verdict = "PASS" if ratio <= TARGET_PDF else f"FAIL (>{TARGET_PDF:g}× reference PDF)"
        else:
            ratio_spread = _by_round(page, large["bare"])
            ratio = ratio_spread[0] if ratio_spread else ten / bare
            misses = ([f">{TARGET_BARE:g}× bare"] if ratio > TARGET_BARE else []) + \
                     ([f">{TARGET_GROWTH:g}× 1y"] if growth > TARGET_GROWTH else [])
            verdict = "PASS" if not misses else "FAIL (" + ", ".join(misses) + ")"
        out.append((page["label"], page["url"], one, ten, ratio, growth, ratio_spread, growth_spread, page["rps"],
                    page["n"], verdict))
    return out


def _with_spread(value, spread, digits):
    if not spread:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({spread[1]:.{digits}f}–{spread[2]:.{digits}f})"


def report(table, seconds, connections, rounds, took, info):
    lines = [
        f"Measured by `bench/served.py` (written by it; not edited by hand). {datetime_now()}; "
        f"{info['nproc']} CPU(s), {info['cpu']}; Python {info['python']}, SQLite {info['sqlite']}.",
        "",
        f"Method: gunicorn with 2 workers × 4 threads on loopback for each bench database, the clock frozen "
        f"at the data's now; a second process keeps {connections} keep-alive connections (spread evenly over the "
        f"{WORKERS} workers: bench/load.py says why) busy on one page for "
        f"{seconds:g} s in all ({2 * seconds:g} s for a PDF), in {rounds} rounds interleaving the two databases, "
        f"after warming up, signed in as 客户助理 `{ASSISTANT}` or "
        f"客服主管 `{SUPERVISOR}`, while {OPEN_TODAY} open 今日 pages per server ask `/today/live` every 10 s. Latency is the median per request as the client saw it, queueing included; "
        f"× is against the bare response served the same way (pages) or the reference PDF (documents, "
        f"each ≤ {TARGET_PDF:g}×). The documents of many pages are judged on their own time instead, as "
        f"bench/run.py judges them: "
        + ", ".join(f"`{k}` ≤ {v / 1000:g} s at 10 years" for k, v in TARGET_MS.items())
        + f", each asked one at a time on one connection in every round as well (a person waiting for their "
        f"print, the open 今日 pages still polling): the verdict is on that median; the table's latency is "
        f"{connections} prints at once, queueing behind each other on the two cores. × and 10 y / 1 y are "
        f"taken round by round, as bench/run.py takes them (a page against the bare response or the reference "
        f"PDF of the same round, 10 years against 1 year of the same round), judged on the median round, the "
        f"lowest and highest in brackets. Run took {took:.0f} s.",
        "",
        "| page | URL | 1 year (ms) | 10 years (ms) | × (10 y) | 10 y / 1 y | req/s (10 y) | requests | result |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for label, url, one, ten, ratio, growth, ratio_spread, growth_spread, rps, n, verdict in table:
        lines.append(f"| {label} | `{url}` | {one:.1f} | {ten:.1f} | {_with_spread(ratio, ratio_spread, 1)} "
                     f"| {_with_spread(growth, growth_spread, 2)} | {rps:.0f} | {n} | {verdict} |")
    return "\n".join(lines)


def datetime_now():
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def write_readme(text):
    path = os.path.join(ROOT, "README.md")
    with open(path, encoding="utf-8") as handle:
        readme = handle.read()
    if START not in readme or END not in readme:
        return
    head, rest = readme.split(START, 1)
    _old, tail = rest.split(END, 1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"{head}{START}\n{text}\n{END}{tail}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--only", help="comma-separated page keys (bare and the reference PDF always run); "
                                       "implies --no-write")
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    began = time.perf_counter()
    small, large = measure(args.seconds, args.connections, args.rounds, only)
    table = rows(small, large)
    text = report(table, args.seconds, args.connections, args.rounds, time.perf_counter() - began, machine())
    print(text)
    if not args.no_write and not only:
        with open(os.path.join(ROOT, "bench", "results-served.md"), "w", encoding="utf-8") as handle:
            handle.write("# Benchmark under gunicorn and load\n\n" + text + "\n")
        write_readme(text)


if __name__ == "__main__":
    main()
