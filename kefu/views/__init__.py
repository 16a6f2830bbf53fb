"""Routes, one blueprint per area; each view parses input, calls a rule and renders."""
from flask import abort
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from .. import access

# WTForms' own checks ("not a valid integer", "not a valid choice"…) in Chinese, from the catalogue
# WTForms ships, without Babel (the app sets WTF_I18N_ENABLED=False so Flask-WTF uses it).
FlaskForm.Meta.locales = ("zh",)


def register(app):
    from . import auth
    from . import customers
    from . import escalations
    from . import estate
    from . import evaluations
    from . import exports
    from . import home
    from . import imports
    from . import meetings
    from . import notify
    from . import patrols
    from . import photos
    from . import renovations
    from . import residents
    from . import search
    from . import services
    from . import setup
    from . import shops
    from . import summaries
    from . import system
    from . import tickets
    from . import trends
    from . import users
    from . import workorders
    from . import worklog

    for module in (auth, home, estate, users, photos, tickets, workorders, patrols, renovations, shops,
                   customers, services, evaluations, worklog,
                   exports, meetings, trends, summaries, system, imports, setup, search, escalations, residents, notify):
        app.register_blueprint(module.bp)
    setup.init_app(app)


def get_or_404(query, record_id):
    """One live record or a 404 page."""
    record = query.where(query.model._meta.primary_key == record_id).first()
    if record is None:
        abort(404)
    return record


def record_or_404(record, record_id=None, change=False, kind=None):
    """The record if the current user may see it (with `change`: change it); else a 404 page when
    there is no such record, a 403 when it isn't theirs (the rules are kefu/access.py).

    `record` is the record or None, or with `record_id` a query (or model) to find it in."""
    from flask_login import current_user

    if record_id is not None:
        query = record.select() if isinstance(record, type) else record
        record = query.where(query.model._meta.primary_key == record_id).first()
    if record is None:
        abort(404)
    allowed = access.may_change if change else access.may_see
    if not allowed(current_user, record, kind):
        abort(403)
    return record


def assistant_or_404(user_id, own=False):
    """A live assistant by id, or a 404 page. With `own`: only if the current user may see their
    work record and summary (an assistant their own; the supervisor anyone's)."""
    from ..users import User

    user = User.live().where((User.id == user_id) & (User.role == "assistant")).first()
    if user is None:
        abort(404)
    if own:
        record_or_404(access.WorkRecord(user), kind="WorkRecord")
    return user


def choices(pairs):
    """WTForms select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]
