"""The served bench (bench/served.py) judges the documents of many pages as bench/run.py does: on their
own time at 10 years, not as a multiple of the one-page reference PDF."""
from bench import served
from bench.run import TARGET_MS


def _page(ms):
    return {"median": ms, "label": "页", "url": "/u", "rps": 1.0, "n": 3}


def _verdicts(**ten):
    small = {"bare": _page(5), "reference_pdf": _page(400), "worklog_week_pdf": _page(1000),
             "stickers_pdf": _page(1000), "notice_pdf": _page(500)}
    large = dict(small, **{key: _page(ms) for key, ms in ten.items()})
    keys = list(large)
    return {key: row[-1] for key, row in zip(keys, served.rows(small, large))}


def test_the_week_record_and_the_sticker_sheet_are_judged_on_their_own_time():
    assert TARGET_MS == {"worklog_week_pdf": 1500, "stickers_pdf": 1500}
    verdicts = _verdicts(worklog_week_pdf=1400, stickers_pdf=1600)
    # 1.4 s is 3.5× the reference PDF, which a one-page document may not be; its own target holds.
    assert verdicts["worklog_week_pdf"] == "PASS"
    assert verdicts["stickers_pdf"] == "FAIL (>1500 ms)"


def test_other_documents_are_still_judged_against_the_reference_pdf():
    assert _verdicts(notice_pdf=1300)["notice_pdf"] == "FAIL (>3× reference PDF)"
    assert _verdicts(notice_pdf=1100)["notice_pdf"] == "PASS"


def test_a_long_print_is_judged_on_one_print_alone_when_it_was_timed_so():
    small = {"bare": _page(5), "reference_pdf": _page(400), "worklog_week_pdf": _page(1000),
             "stickers_pdf": _page(1000), "notice_pdf": _page(500)}
    large = dict(small, worklog_week_pdf=dict(_page(2900), alone=1400, alone_n=9),
                 stickers_pdf=dict(_page(1400), alone=1600, alone_n=9))
    verdicts = {key: row[-1] for key, row in zip(list(large), served.rows(small, large))}
    # Four prints at once queue behind each other on two cores; a person waits for one.
    assert verdicts["worklog_week_pdf"] == "PASS (one print alone: 1400 ms, median of 9)"
    assert verdicts["stickers_pdf"] == "FAIL (>1500 ms) (one print alone: 1600 ms, median of 9)"


def test_pages_are_judged_round_by_round_on_the_median_round():
    """A page against the bare response of the same round, 10 years against 1 year of the same round: one
    slow round (the machine busy for a moment) moves the spread, not the verdict."""
    def page(rounds):
        return dict(_page(sorted(rounds)[len(rounds) // 2]), rounds=rounds)
    small = {"bare": page([5, 5, 5]), "reference_pdf": page([400, 400, 400]), "list": page([20, 20, 20])}
    large = {"bare": page([5, 9, 5]), "reference_pdf": page([400, 400, 400]), "list": page([22, 36, 23])}
    row = served.rows(small, large)[-1]
    ratio, growth, ratio_spread, growth_spread, verdict = row[4], row[5], row[6], row[7], row[-1]
    assert (round(ratio, 1), round(ratio_spread[1], 1), round(ratio_spread[2], 1)) == (4.4, 4.0, 4.6)
    assert (round(growth, 2), round(growth_spread[2], 2)) == (1.15, 1.8)
    assert verdict == "PASS"
    large["list"] = page([26, 27, 26])
    assert served.rows(small, large)[-1][-1] == "FAIL (>5× bare)"
    small["list"], large["list"] = page([10, 10, 10]), page([14, 12, 14])
    assert served.rows(small, large)[-1][-1] == "FAIL (>1.3× 1y)"
    assert "4.4 (4.0–4.6)" in served.report(served.rows(small, dict(large, list=page([22, 36, 23]))), 10, 4, 3, 1,
                                             {"nproc": 2, "cpu": "x", "python": "3", "sqlite": "3"})


def test_the_load_spreads_its_connections_evenly_over_the_workers():
    """Which worker accepts a connection is chance; four connections falling 3 + 1 or 4 + 0 made one
    page's median differ by half from the same page at 2 + 2. The load dials again until each worker
    holds its share."""
    import http.server
    import itertools
    import threading

    from bench import load

    landing = itertools.chain(["A", "A", "A", "A", "B", "A"], itertools.cycle(["B"]))
    served_by = {"A": 0, "B": 0}

    class Worker(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            self.worker = next(landing)

        def do_GET(self):
            served_by[self.worker] += 1
            self.send_response(200)
            self.send_header(load.WORKER_HEADER, self.worker)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Worker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/page"
        result = load.run(url, "", 0.2, 4, workers=2)
        assert result["split"] == [2, 2]
        assert not result["error_count"] and result["n"] > 4
        assert served_by["B"] > 0.3 * served_by["A"]  # B, which took only the later connections, worked too
    finally:
        server.shutdown()
        server.server_close()
