"""Lighthouse on the main pages as each role, phone profile: Performance, Accessibility and Best
Practices must each be at least 95.

Usage: .venv/bin/python scripts/audit.py [--min 95] [--json FILE] [--ci]   (or `make audit`)

`--ci` audits five of the pages (sign-in, the assistant's 今日, a ticket, the patrol board, the
supervisor's 今日) and leaves the README alone: what CI runs before the suites, in about a minute.

Serves the demo estate (tests/browser/live_server.py) on a free port, signs each role in to get a
session cookie, and runs the pinned Lighthouse (node_modules/.bin/lighthouse, from package.json)
against Debian's Chromium with Lighthouse's default mobile emulation and simulated slow 4G.
Prints a table of the scores and, for any below the minimum, the audits that cost points; exits 1
if any score is below it.
"""
import argparse
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIGHTHOUSE = os.path.join(ROOT, "node_modules", ".bin", "lighthouse")
CHROMIUM = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
CATEGORIES = ("performance", "accessibility", "best-practices")
LABELS = {"performance": "Performance", "accessibility": "Accessibility", "best-practices": "Best Practices"}

# (who, label, path); a path with {…} is filled from the demo estate once signed in.
PAGES = [
    (None, "登录", "/login"),
    ("zhuli1", "今日 · 客户助理", "/"),
    ("zhuli1", "诉求列表", "/tickets"),
    ("zhuli1", "诉求详情", "{ticket}"),
    ("zhuli1", "受理", "/tickets/new"),
    ("zhuli1", "现场巡视", "/patrols"),
    ("zhuli1", "客户", "/customers"),
    ("zhuli1", "拜访", "/visits"),
    ("zhuguan", "今日 · 客服主管", "/"),
    ("zhuguan", "趋势", "/trends"),
    ("zhuguan", "岗位评估", "/evaluations"),
    ("qiantai", "今日 · 前台", "/"),
    ("gongcheng", "今日 · 工程部", "/"),
    ("admin", "设置", "/admin/"),
]
CI_PAGES = {"登录", "今日 · 客户助理", "诉求详情", "现场巡视", "今日 · 客服主管"}


def start_server(instance):
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "browser", "live_server.py"), instance],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = process.stdout.readline().strip()
    if not port.isdigit():
        raise SystemExit("the demo server didn't start")
    return process, f"http://127.0.0.1:{port}"


def sign_in(base, username):
    """A session cookie for `username` (password demo1234), through the real sign-in form."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"csrf_token": token, "username": username, "password": "demo1234"}).encode()
    opener.open(f"{base}/login", data)
    return "; ".join(f"{c.name}={c.value}" for c in jar), opener


def first_ticket(opener, base):
    page = opener.open(f"{base}/tickets").read().decode()
    return re.search(r'href="(/tickets/\d+)"', page).group(1)


def lighthouse(url, cookie, folder):
    out = os.path.join(folder, "report.json")
    headers = os.path.join(folder, "headers.json")
    with open(headers, "w") as handle:
        json.dump({"Cookie": cookie} if cookie else {}, handle)
    command = [LIGHTHOUSE, url, "--quiet", "--output=json", f"--output-path={out}", f"--extra-headers={headers}",
               "--form-factor=mobile", f"--only-categories={','.join(CATEGORIES)}",
               "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run "
               "--disable-background-networking --disable-component-update --disable-sync"]
    subprocess.run(command, check=True, env=dict(os.environ, CHROME_PATH=CHROMIUM), timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out, encoding="utf-8") as handle:
        return json.load(handle)


def costs(report, category):
    """The weighted audits of a category that didn't score full marks."""
    found = []
    for ref in report["categories"][category]["auditRefs"]:
        audit = report["audits"][ref["id"]]
        if ref.get("weight") and audit.get("score") is not None and audit["score"] < 1:
            found.append(f"{ref['id']} ({audit['score']:.2f}{', ' + audit['displayValue'] if audit.get('displayValue') else ''})")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min", type=int, default=95)
    parser.add_argument("--min-performance", type=int, default=None,
                        help="a lower minimum for Performance alone (CI: its shared machine's speed moves it)")
    parser.add_argument("--json", help="also write the scores here")
    parser.add_argument("--no-write", action="store_true", help="don't write the table into README.md")
    parser.add_argument("--ci", action="store_true", help="five main pages only; README not written")
    args = parser.parse_args()
    pages = [page for page in PAGES if page[1] in CI_PAGES] if args.ci else PAGES
    if not os.path.exists(LIGHTHOUSE):
        raise SystemExit("Lighthouse isn't installed: run `npm ci` (make audit does)")
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as instance:
        server, base = start_server(instance)
        try:
            sessions = {}
            rows, failures = [], []
            for who, label, path in pages:
                if who and who not in sessions:
                    sessions[who] = sign_in(base, who)
                cookie, opener = sessions[who] if who else ("", None)
                if path == "{ticket}":
                    path = first_ticket(opener, base)
                report = lighthouse(base + path, cookie, instance)
                if report.get("finalDisplayedUrl", "").rstrip("/").endswith("/login") and path != "/login":
                    raise SystemExit(f"{who} wasn't signed in for {path}")
                scores = {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES}
                rows.append((label, who or "—", path, scores))
                for category, score in scores.items():
                    least = args.min_performance if category == "performance" and args.min_performance else args.min
                    if score < least:
                        failures.append(f"{label} ({path}) {LABELS[category]} {score}: {', '.join(costs(report, category))}")
        finally:
            server.stdin.close()
            server.wait(10)
    lines = [f"Lighthouse {_version()} · mobile profile (emulated phone, simulated slow 4G) · Debian's Chromium · "
             f"{len(rows)} pages in {time.monotonic() - began:.0f} s · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
             f" · minimum {args.min}" + (f" (Performance {args.min_performance})" if args.min_performance else ""), "",
             "| page | as | URL | " + " | ".join(LABELS[c] for c in CATEGORIES) + " |",
             "| --- | --- | --- | " + " | ".join("---:" for _ in CATEGORIES) + " |"]
    for label, who, path, scores in rows:
        lines.append(f"| {label} | {who} | `{path}` | " + " | ".join(str(scores[c]) for c in CATEGORIES) + " |")
    print("\n".join(lines))
    if not args.no_write and not args.ci:
        _write_readme(lines)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump([{"page": label, "as": who, "url": path, **scores} for label, who, path, scores in rows],
                      handle, ensure_ascii=False, indent=1)
    if failures:
        print("\nBelow the minimum:\n" + "\n".join(failures))
        return 1
    return 0


def _write_readme(lines):
    """Put the table between the audit markers of README.md (the figures as measured, not typed)."""
    path = os.path.join(ROOT, "README.md")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    start, end = "<!-- audit:start -->", "<!-- audit:end -->"
    if start not in text or end not in text:
        return
    head, rest = text.split(start, 1)
    _old, tail = rest.split(end, 1)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(head + start + "\n" + "\n".join(lines) + "\n" + end + tail)


def _version():
    with open(os.path.join(ROOT, "node_modules", "lighthouse", "package.json"), encoding="utf-8") as handle:
        return json.load(handle)["version"]


if __name__ == "__main__":
    sys.exit(main())
