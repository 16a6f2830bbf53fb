"""月度工作总结: the assistant's month, mostly written by their own records — the figures and the
month's cases — with their summary, case analyses and 品质监督解决方案; the supervisor signs it off;
A4 with a chart."""
import datetime

from flask import Blueprint
from flask import abort
from flask import flash
from flask import redirect
from flask import request
from flask import url_for
from flask_login import current_user
from markupsafe import Markup
from markupsafe import escape

from .. import clock
from .. import events
from .. import pdf
from .. import summaries as rules
from ..auth import roles
from ..db import RuleError
from ..db import StaleRecord
from ..summaries import MonthlySummary
from ..tickets import Tier
from ..users import User
from ..web import estate
from ..web import invalid
from ..web import render
from . import assistant_or_404
from .evaluations import figure_links
from .forms import record_id

bp = Blueprint("summaries", __name__)

MONTHS_LISTED = 24  # two years of months on the list


def bars(counts, width=330, bar=16, printed=False):
    """A horizontal bar chart of {label: count} as SVG markup (for the page and, `printed`, the PDF:
    WeasyPrint's SVG doesn't take the page's font, so the document's face and size are spelled out)."""
    if not counts:
        return Markup("")
    top = max(counts.values())
    rows = []
    for n, (label, value) in enumerate(counts.items()):
        y = n * (bar + 6)
        length = round((width - 110) * value / top, 1) if top else 0
        rows.append(f'<text x="0" y="{y + bar - 4}" class="chart-axis bar-label">{escape(label)}</text>'
                    f'<rect x="70" y="{y}" width="{length}" height="{bar}" rx="2" fill="#0f766e"/>'
                    f'<text x="{74 + length}" y="{y + bar - 4}" class="chart-axis">{value}</text>')
    height = len(counts) * (bar + 6)
    face = ' font-family="Noto Sans CJK SC" font-size="9" fill="#000"' if printed else ""
    return Markup(f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}"{face} role="img" '
                  f'aria-label="按类别的诉求数，数据见表" class="chart-svg bars">{"".join(rows)}</svg>')


def summary_links(user, first, last):
    """Each figure of the month's summary and the filtered list it counts (see `figure_links`)."""
    links = figure_links(user, first, last)
    period = {"start": first.isoformat(), "end": last.isoformat()}
    tickets = {"assignee": user.id, **period, "state": ""}
    tiers = {}
    for tier in Tier.select(Tier.id, Tier.name).order_by(Tier.voided_at.is_null(False), Tier.id):
        tiers.setdefault(tier.name, tier.id)  # a live tier of the name before a voided one
    covered = min(last, clock.today(estate().tz))
    links.update({
        "reopened": url_for("tickets.index", **tickets, reopened=1),
        "tier": lambda name: url_for("tickets.index", **tickets, tier=tiers[name]) if name in tiers else None,
        "place": lambda name: url_for("tickets.index", **tickets, location=name),
        "needs": url_for("customers.needs", by=user.id, **period),
        "service_orders": url_for("services.index", by=user.id, **period),
        "findings": lambda name: url_for("patrols.findings", assistant=user.id, **period,
                                         unit="none" if name == rules.NO_UNIT else name),
        "findings_closed": lambda name: url_for("patrols.findings", assistant=user.id, **period,
                                                unit="none" if name == rules.NO_UNIT else name, closed=1),
    })
    if current_user.role == "supervisor":  # the coverage weeks are the supervisor's page
        links["coverage"] = url_for("patrols.coverage", by=user.id, start=first.isoformat(), end=covered.isoformat())
    return links


def _summary(user_id, month):
    user = assistant_or_404(user_id, own=True)
    try:
        month = datetime.date.fromisoformat(f"{month}-01")
    except ValueError:
        abort(404)
    try:
        return rules.summary_for(user, month)
    except RuleError:
        abort(404)


@bp.route("/summaries")
@roles("supervisor", "assistant")
def index():
    """My months (an assistant), or every assistant's (the supervisor)."""
    today = clock.today(estate().tz)
    this_month = today.replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    people = [current_user] if current_user.role == "assistant" else list(User.active_with_role("assistant"))
    written = {(s.user_id, s.month): s for s in MonthlySummary.select().where(
        MonthlySummary.user.in_([p.id for p in people]))}
    # Every month from the first one written (or last month) to this one, newest first.
    first = min([month for _user, month in written] + [last_month])
    months = []
    month = this_month
    while month >= first and len(months) < MONTHS_LISTED:
        months.append(month)
        month = (month - datetime.timedelta(days=1)).replace(day=1)
    return render("summaries/index.html", title="月度工作总结", people=people, months=months,
                  written=written, back=url_for("auth.me"))


@bp.route("/summaries/<int:user_id>/<month>", methods=["GET", "POST"])
@roles("supervisor", "assistant")
def show(user_id, month):
    """The month: figures and cases from the records, the assistant's writing, the supervisor's sign-off."""
    summary = _summary(user_id, month)
    here = url_for("summaries.show", user_id=summary.user_id, month=f"{summary.month:%Y-%m}")
    errors, typed = {}, {}
    if request.method == "POST":
        typed = request.form
        try:
            version = record_id(request.form.get("version", 0))
            if "sign" in request.form or "send_back" in request.form:
                if current_user.role != "supervisor":
                    abort(403)
                if "send_back" in request.form:
                    rules.send_back(current_user, summary, version, request.form.get("comment", ""))
                    flash(f"已退回 {summary.user.display_name} 修改", "success")
                else:
                    rules.sign(current_user, summary, version, request.form.get("comment", ""))
                    flash("已签阅", "success")
            else:
                cases = {int(k[5:]): v for k, v in request.form.items() if k.startswith("case-")
                         and k[5:].isascii() and k[5:].isdigit()}
                rules.save(current_user, summary, version, request.form.get("summary", ""),
                           request.form.get("solutions", ""), cases, submit="submit" in request.form)
                flash("已提交，等待主管签阅" if "submit" in request.form else "已保存", "success")
            return redirect(here, code=303)
        except RuleError as error:
            errors[error.field or "form"] = error.message
        except (StaleRecord, ValueError):
            errors["form"] = StaleRecord.message
    figures = rules.figures_of(summary)
    context = dict(summary=summary, figures=figures, chart=bars(figures["by_category"]),
                   links=summary_links(summary.user, summary.month, summary.last_day),
                   cases=rules.cases_of(summary.user, summary.month), notes=summary.case_notes, errors=errors,
                   typed=typed, mine=summary.user_id == current_user.id, timeline=events.timeline(summary) if summary.id else [],
                   title=f"{summary.month:%Y年%m月}工作总结", back=url_for("summaries.index"))
    if errors:
        return invalid("summaries/show.html", **context)
    return render("summaries/show.html", **context)


@bp.route("/summaries/<int:user_id>/<month>.pdf")
@roles("supervisor", "assistant")
def show_pdf(user_id, month):
    """月度工作总结 on A4: the figures with a chart, the summary, the case analyses, the solutions, the
    supervisor's comment and the signature lines."""
    summary = _summary(user_id, month)
    figures = rules.figures_of(summary)
    return pdf.response("summaries/print.html", f"月度工作总结-{summary.user.display_name}-{summary.month:%Y%m}.pdf",
                        summary=summary, figures=figures, chart=bars(figures["by_category"], printed=True),
                        cases=rules.cases_of(summary.user, summary.month), notes=summary.case_notes)
