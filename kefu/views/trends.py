"""趋势: month by month and per assistant, as server-drawn SVG charts (readable on a phone and in
print, no chart library) with the figures in a table beneath each."""
from flask import Blueprint
from flask import url_for

from .. import trends as rules
from ..auth import roles
from ..web import render

bp = Blueprint("trends", __name__)

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 340, 170, 30, 8, 10, 24
COLOURS = ["#0f766e", "#b45309", "#1d4ed8", "#be123c", "#6d28d9", "#15803d"]


def chart(months, people, key):
    """The drawing of one metric: its axes and, per assistant, a line through the months they have a
    figure for (a month without one breaks the line)."""
    step = (WIDTH - LEFT - RIGHT) / max(len(months) - 1, 1)

    def x(n):
        return round(LEFT + n * step, 1)

    def y(value):
        return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / 100), 1)

    lines = []
    for n, person in enumerate(people):
        values = person["metrics"][key]
        runs, run = [], []
        for index, value in enumerate(values):
            if value is None:
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((x(index), y(value)))
        if run:
            runs.append(run)
        lines.append({"name": person["name"], "colour": COLOURS[n % len(COLOURS)],
                      "runs": [" ".join(f"{px},{py}" for px, py in r) for r in runs],
                      "dots": [(x(i), y(v)) for i, v in enumerate(values) if v is not None]})
    return {"lines": lines, "grid": [(y(v), v) for v in (0, 50, 100)],
            "labels": [(x(i), m[5:]) for i, m in enumerate(months) if (len(months) - 1 - i) % 2 == 0],
            "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT}


@bp.route("/trends")
@roles("supervisor")
def index():
    """趋势: response within limit, satisfaction, coverage and reopen rate, by month and assistant."""
    figures, counted_at = rules.current()
    charts = [(key, label, chart(figures["months"], figures["people"], key)) for key, label in rules.METRICS]
    return render("trends/index.html", title="趋势", figures=figures, charts=charts, counted_at=counted_at,
                  back=url_for("home.index"))
