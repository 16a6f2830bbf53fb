"""趋势: month by month and per assistant, as server-drawn SVG charts (readable on a phone and in
print, no chart library) with the figures in a table beneath each."""
from flask import Blueprint
from flask import url_for
from markupsafe import Markup
from markupsafe import escape

from .. import clock
from .. import trends as rules
from ..auth import roles
from ..web import estate
from ..web import render

bp = Blueprint("trends", __name__)

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 340, 170, 30, 8, 10, 24
COLOURS = ["#0f766e", "#b45309", "#1d4ed8", "#be123c", "#6d28d9", "#15803d"]


def chart(months, people, key, label, through=None):
    """One metric drawn: axes, and per assistant a line through the months they have a figure for (a
    month without one breaks the line). The last month, counted only up to `through` (a day of it),
    is drawn as partial: a hollow point, a dashed line into it. Built as markup here: a few hundred
    points are quicker joined in Python than looped over in a template."""
    step = (WIDTH - LEFT - RIGHT) / max(len(months) - 1, 1)
    partial = len(months) - 1 if through is not None and months and months[-1] == f"{through:%Y-%m}" else None

    def x(n):
        return round(LEFT + n * step, 1)

    def y(value):
        return round(TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / 100), 1)

    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}折线图，数据见下表" '
             f'class="chart-svg">']
    for value in (0, 50, 100):
        parts.append(f'<line x1="{LEFT}" y1="{y(value)}" x2="{WIDTH - RIGHT}" y2="{y(value)}" class="chart-grid"/>'
                     f'<text x="{LEFT - 4}" y="{y(value) + 3}" class="chart-axis" text-anchor="end">{value}%</text>')
    for index, month in enumerate(months):
        if (len(months) - 1 - index) % 2 == 0:
            parts.append(f'<text x="{x(index)}" y="{HEIGHT - 8}" class="chart-axis" '
                         f'text-anchor="middle">{month[5:]}月</text>')
    legend = []
    for n, person in enumerate(people):
        colour = COLOURS[n % len(COLOURS)]
        run = []
        values = person["metrics"][key]
        for index, value in enumerate(values + [None]):
            if value is None or index == partial:
                if len(run) > 1:
                    parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"/>')
                run = []
            if value is None:
                continue
            if index == partial:
                before = values[index - 1] if index else None
                if before is not None:
                    parts.append(f'<line x1="{x(index - 1)}" y1="{y(before)}" x2="{x(index)}" y2="{y(value)}" '
                                 f'stroke="{colour}" stroke-width="2" stroke-dasharray="4 3" class="chart-partial"/>')
                parts.append(f'<circle cx="{x(index)}" cy="{y(value)}" r="3" fill="#fff" stroke="{colour}" '
                             f'stroke-width="1.5" class="chart-partial"/>')
                continue
            run.append(f"{x(index)},{y(value)}")
            parts.append(f'<circle cx="{x(index)}" cy="{y(value)}" r="2.5" fill="{colour}"/>')
        if len(run) > 1:
            parts.append(f'<polyline points="{" ".join(run)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        legend.append(f'<span><svg width="14" height="10" aria-hidden="true"><rect width="14" height="10" rx="2" '
                      f'fill="{colour}"/></svg> {escape(person["name"])}</span>')
    parts.append("</svg>")
    if partial is not None:
        legend.append(f'<span class="chart-partial-note"><svg width="20" height="10" aria-hidden="true"><line x1="1" y1="5" '
                      f'x2="13" y2="5" stroke="#64748b" stroke-width="2" stroke-dasharray="4 3"/><circle cx="16" cy="5" '
                      f'r="3" fill="#fff" stroke="#64748b" stroke-width="1.5"/></svg> 本月至 {through.day} 日，未满一个月</span>')

    def month_label(i, month):
        return f"{month}（至 {through.day} 日）" if i == partial else month

    rows = "".join(f'<tr><th scope="row">{month_label(i, month)}</th>' + "".join(
        f'<td>{"—" if p["metrics"][key][i] is None else str(p["metrics"][key][i]) + "%"}</td>' for p in people)
        + "</tr>" for i, month in enumerate(months))
    return {"svg": Markup("".join(parts)), "legend": Markup("".join(legend)), "rows": Markup(rows)}


_CHARTS = {}  # {(counted_at, figures): charts} of the last count this process drew


@bp.route("/trends")
@roles("supervisor")
def index():
    """趋势: response within limit, satisfaction, coverage and reopen rate, by month and assistant."""
    figures, counted_at = rules.current()
    drawn = (counted_at, repr(figures))  # the same count (another database may count at the same moment)
    charts = _CHARTS.get(drawn)
    if charts is None:  # drawn once per count (the count is kept for an hour), not on every visit
        through = clock.to_local(counted_at, estate().tz).date()
        charts = [(key, label, chart(figures["months"], figures["people"], key, label, through))
                  for key, label in rules.METRICS]
        _CHARTS.clear()
        _CHARTS[drawn] = charts
    return render("trends/index.html", title="趋势", figures=figures, charts=charts, counted_at=counted_at,
                  back=url_for("home.index"))
