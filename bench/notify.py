"""How soon a request taken at the front desk reaches the assistant: the time from the intake's HTTP
POST to the served app (gunicorn, 2 workers × 4 threads, as `make run` starts it, its scheduler
running) until the zone's 企业微信 robot webhook arrives at a local receiver, and until the Web Push
request for the assistant's phone reaches a local push endpoint. Target: p95 under 5 s.

    .venv/bin/python -m bench.notify [--intakes 50] [--pause 0.2] [--no-write]

Writes bench/results-notify.md.
"""
import argparse
import base64
import os
import re
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

import serverctl  # noqa: E402
from bench.run import machine  # noqa: E402
from receiver import Receiver  # noqa: E402

TARGET_P95 = 5.0
PUBLIC = "https://kefu.example.com"


def estate(instance, robot_url, push_url):
    """An instance folder: one zone with its assistant (whose phone subscribed to Web Push), the
    front desk, and the zone's 企业微信 robot."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from kefu import channels
    from kefu import create_app
    from kefu import db
    from kefu import estate as estate_rules
    from kefu import users

    create_app({"TESTING": True, "INSTANCE": instance, "DATABASE": os.path.join(instance, "kefu.sqlite3"),
                "SCHEDULER": False})
    key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    with db.database.connection_context():
        users.create_user(None, "admin", "管理员", "admin", serverctl.PASSWORD)
        users.create_user(None, "qiantai", "陈前台", "frontdesk", serverctl.PASSWORD)
        assistant = users.create_user(None, "zhuli1", "张助理", "assistant", serverctl.PASSWORD)
        building = estate_rules.create_building(None, "1", "1号楼")
        estate_rules.bulk_create_households(None, building, 1, 1, 2, 2)
        zone = estate_rules.set_zone(None, None, 1, "一区", "", [building.id], [assistant.id])
        channels.add_robot(None, name="一区群", platform="wecom", url=robot_url, zone=zone)
        channels.subscribe(assistant, push_url, base64.urlsafe_b64encode(key).rstrip(b"=").decode(),
                           base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode(), device="bench")
        tier = db.database.execute_sql("SELECT id FROM tier WHERE name = '一般'").fetchone()[0]
    db.database.close()
    return tier


def arrival(receiver, ticket_id, timeout=30):
    """When the message about `ticket_id` arrived (monotonic seconds), or None."""
    pattern = re.compile(rf"^ticket_new:ticket:{ticket_id}:")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for request in list(receiver.requests):
            if pattern.match(request.headers.get("X-Kefu-Message-Key", "")):
                return request.at
        time.sleep(0.005)
    return None


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(intakes, pause):
    began = time.monotonic()
    work = tempfile.mkdtemp(prefix="kefu-bench-notify-")
    instance = os.path.join(work, "instance")
    os.makedirs(instance)
    original = serverctl._env
    serverctl._env = lambda *args, **kw: {**original(*args, **kw), "PUBLIC_URL": PUBLIC,
                                          "TRUSTED_HOSTS": "127.0.0.1,localhost"}
    with Receiver() as robot, Receiver() as push:
        push.answer(201, b"")
        tier = estate(instance, robot.url("/cgi-bin/webhook/send?key=BENCH"), push.url("/push/bench-phone"))
        server = serverctl.Server(instance, work)
        try:
            server.start()
            desk = serverctl.Client(server).sign_in("qiantai")
            to_robot, to_push, missing = [], [], 0
            for number in range(intakes):
                fields = [("token", f"bench-{number}"), ("origin", ""), ("channel", "前台转交"), ("category", "工程维修"),
                          ("tier", str(tier)), ("household", "1-1-101"), ("place", "0"), ("zone", "0"),
                          ("resident", "0"), ("customer_name", "王先生"), ("customer_phone", ""),
                          ("description", f"门口积水 {number}")]
                sent = time.monotonic()
                answer = desk.post("/tickets/new", fields)
                ticket_id = answer.location_id(r"/tickets/(\d+)")
                if answer.status != 303 or ticket_id is None:
                    raise SystemExit(f"intake answered {answer.status}:\n{answer.text[:500]}")
                at_robot, at_push = arrival(robot, ticket_id), arrival(push, ticket_id)
                for at, into in ((at_robot, to_robot), (at_push, to_push)):
                    if at is None:
                        missing += 1
                    else:
                        into.append(at - sent)
                time.sleep(pause)
        finally:
            server.close()
            serverctl._env = original
    return to_robot, to_push, missing, time.monotonic() - began


def report(intakes, to_robot, to_push, missing, seconds):
    facts = machine()
    rows = []
    for label, values in (("企业微信群机器人 Webhook", to_robot), ("Web Push 推送端点", to_push)):
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        rows.append(f"| {label} | {len(values)} | {p50 * 1000:.0f} | {p95 * 1000:.0f} | {max(values) * 1000:.0f} | "
                    f"{'PASS' if p95 < TARGET_P95 and not missing else 'FAIL'} |")
    return "\n".join([
        "# Notification latency",
        "",
        f"Measured by `bench/notify.py` (written by it; not edited by hand). {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"{facts['nproc']} CPU(s), {facts['cpu']}; Python {facts['python']}, SQLite {facts['sqlite']}.",
        "",
        f"Method: {intakes} requests taken one after another by the front desk (HTTP POST `/tickets/new` to gunicorn, "
        "2 workers × 4 threads, scheduler running); each time is from sending the POST until the message about that "
        "request arrived at a local receiver standing in for the zone's robot, and at a local push endpoint standing in "
        "for the assistant's browser push service (the payload encrypted and VAPID-signed as for a real one). "
        f"Target: p95 under {TARGET_P95:.0f} s. Missing deliveries: {missing}. Run took {seconds:.0f} s.",
        "",
        "| delivered to | messages | p50 (ms) | p95 (ms) | max (ms) | result |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
        *rows,
        "",
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intakes", type=int, default=50)
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between one arrival and the next intake")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    to_robot, to_push, missing, seconds = run(args.intakes, args.pause)
    text = report(args.intakes, to_robot, to_push, missing, seconds)
    print(text)
    if not args.no_write:
        with open(os.path.join(ROOT, "bench", "results-notify.md"), "w", encoding="utf-8") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
