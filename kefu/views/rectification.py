"""What every 整改通知书 page shares: recording it served (签收, or 拒签 before a witness) and voiding
an unserved one issued in error."""
from flask import flash
from flask import redirect
from flask import request
from wtforms import DateTimeLocalField
from wtforms import RadioField
from wtforms.validators import InputRequired

from .. import clock
from .. import rectification
from ..db import RuleError
from ..db import StaleRecord
from ..web import done
from ..web import estate
from . import choices
from .forms import VersionForm
from .forms import form_page
from .forms import text


class ServeForm(VersionForm):
    refused = RadioField("送达方式", choices=choices([("signed", "签收"), ("refused", "拒签（须见证人）")]),
                         default="signed", validators=[InputRequired("请选择送达方式")])
    served_to = text("签收人", 60, required=False)
    witness = text("见证人", 60, required=False)
    at = DateTimeLocalField("送达时间", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                            validators=[InputRequired("请填写送达时间")])


def now_to_the_minute():
    """Now in the estate's time, as a phone's date-time picker holds it."""
    return clock.now().astimezone(estate().tz).replace(tzinfo=None, second=0, microsecond=0)


def serve_page(notice, serve, here, template, signer_hint, **context):
    """The notice's page with its 送达 form: `serve(notice, served_to, refused, witness, at)` is the rule."""
    form = ServeForm()
    form.served_to.render_kw = {"placeholder": signer_hint}
    tz = estate().tz
    if request.method == "GET":
        form.at.data = now_to_the_minute()
    return form_page(form, lambda: serve(notice, form.served_to.data or "", form.refused.data == "refused",
                                         form.witness.data or "",
                                         form.at.data.replace(tzinfo=tz) if form.at.data else None),
                     "已记录送达，到期后请复查", here, template,
                     closed=("该通知书已作废" if notice.voided_at
                             else rectification.ALREADY_SERVED if notice.is_served else None),
                     notice=notice, title=notice.number,
                     **context)


def void_notice(notice, void, here, endpoint, **values):
    """作废: `void(notice, reason)`; a refusal comes back to the notice's page as a message."""
    try:
        void(notice, request.form.get("reason", ""))
    except (RuleError, StaleRecord) as error:
        flash(error.message, "error")
        return redirect(here, code=303)
    return done(f"{notice.number} 已作废，编号不再使用", endpoint, **values)
