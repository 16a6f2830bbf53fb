"""导出: requests, work orders, patrol checks, visits and shops of a date range as one .xlsx file."""
import datetime
import io

from flask import Blueprint
from flask import request
from flask import send_file
from flask import url_for
from flask_login import current_user
from wtforms import DateField
from wtforms.validators import InputRequired

from .. import clock
from .. import events
from .. import exports as rules
from ..auth import roles
from ..db import RuleError
from ..web import estate
from ..web import invalid
from ..web import render
from .forms import TokenForm
from .forms import show_error

bp = Blueprint("exports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RangeForm(TokenForm):
    first = DateField("开始日期", validators=[InputRequired(rules.FIRST_MISSING)])
    last = DateField("结束日期", validators=[InputRequired(rules.LAST_MISSING)])


@bp.route("/exports", methods=["GET", "POST"])
@roles("supervisor")
def index():
    """Pick the days; the workbook downloads with a sheet per kind of record."""
    form = RangeForm()
    if request.method == "GET":
        today = clock.today(estate().tz)
        last_month_end = today.replace(day=1) - datetime.timedelta(days=1)
        form.first.data, form.last.data = last_month_end.replace(day=1), last_month_end
    elif form.validate_on_submit():
        try:
            buffer = io.BytesIO()
            rules.workbook(form.first.data, form.last.data, buffer)
            buffer.seek(0)
            me = current_user._get_current_object()
            events.record(me, me, "导出", note=f"{form.first.data} 至 {form.last.data}")
            return send_file(buffer, mimetype=XLSX, as_attachment=True,
                             download_name=f"客服数据-{form.first.data:%Y%m%d}-{form.last.data:%Y%m%d}.xlsx")
        except RuleError as error:
            show_error(form, error)
    context = dict(form=form, title="导出数据", sheets=[title for title, _rows in rules.SHEETS],
                   back=url_for("home.index"))
    if request.method == "POST":
        return invalid("exports/index.html", **context)
    return render("exports/index.html", **context)
