"""Form pieces shared by every area: trimmed text fields, the record version, checkbox lists."""
import secrets

from flask import flash
from flask import redirect
from flask import request
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms import SelectMultipleField
from wtforms import StringField
from wtforms import TextAreaField
from wtforms import widgets
from wtforms.validators import DataRequired
from wtforms.validators import Length
from wtforms.validators import Optional

from ..db import RuleError
from ..db import StaleRecord
from ..db import missing
from ..db import too_long
from ..web import done
from ..web import invalid
from ..web import render


def record_id(value):
    """An id read from a request, as `type=` for request.form.get and friends: a whole number
    SQLite can hold, else ValueError (so .get() gives its default instead of a query failing)."""
    number = int(value)
    if not 0 <= number < 2 ** 63:
        raise ValueError(value)
    return number


def record_ids(values):
    """The ids among a form's values (record_id), the rest left out."""
    ids = []
    for value in values:
        try:
            ids.append(record_id(value))
        except (TypeError, ValueError):
            pass
    return ids


def strip(value):
    return value.strip() if isinstance(value, str) else value


# The 房号 field: the text keyboard, whose number layer has "-" and space on iPhones and Android phones
# alike (a number pad, decimal or tel, has neither on an iPhone); the hint says which separators work.
ROOM_INPUT = {"inputmode": "text", "autocomplete": "off", "autocapitalize": "off", "spellcheck": "false"}
ROOM_HINT = "栋、单元、室之间用“-”、空格或“.”隔开，如 3-2-1502、3 2 1502"
ROOMS_HINT = "栋、单元、室之间用“-”或“.”隔开，多户用空格隔开，如 3-2-1502 3-2-1501"


def text(label, max_length, required=True, message=None, **kw):
    """A one-line text field, trimmed, with a length limit that says so (in the rules' words, kefu.db)."""
    validators = [DataRequired(message or missing(label))] if required else [Optional()]
    validators.append(Length(max=max_length, message=too_long(label, max_length)))
    return StringField(label, validators=validators, filters=[strip], **kw)


def long_text(label, max_length=2000, required=False, message=None, **kw):
    validators = [DataRequired(message or missing(label))] if required else [Optional()]
    validators.append(Length(max=max_length, message=too_long(label, max_length)))
    return TextAreaField(label, validators=validators, filters=[strip], **kw)


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class VersionForm(FlaskForm):
    """A form that edits a record carries the version it was loaded at (optimistic locking)."""

    version = HiddenField()

    def expected_version(self):
        """The version the page was loaded at; anything that isn't one (tampered, or a number
        SQLite can't hold) matches no record, so the rule answers 已被他人更新 instead of failing."""
        try:
            version = int(self.version.data)
        except (TypeError, ValueError):
            return 0
        return version if 0 <= version < 2 ** 63 else 0


class TokenForm(FlaskForm):
    """A form that creates a record carries a one-time token, so a double tap creates one record."""

    token = HiddenField()

    def ensure_token(self):
        if not self.token.data or len(self.token.data) > 64:
            self.token.data = secrets.token_urlsafe(16)
        return self


def only_choice(field):
    """A select with one option goes to the page as a hidden input; that option is the answer
    whatever comes back, so a stale or tampered value can't refuse the form with nothing shown."""
    if len(field.choices) == 1:
        field.process(None, field.choices[0].value)


def show_error(form, error):
    """Put a rule's message beside the field it names, or above the form."""
    target = getattr(form, error.field, None) if getattr(error, "field", None) else None
    if target is not None and isinstance(getattr(target, "errors", None), list):
        target.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


def making_page(form, make, next_step, template, ready=True, closed=None, **context):
    """Like form_page, for a form that makes a record: `make()` returns it and `next_step(record)`
    gives (message, endpoint, url values) for where to go with it."""
    def run():
        message, endpoint, values = next_step(make())
        return done(message, endpoint, **values)

    return _run_form(form, run, ready, template, context, closed)


def form_page(form, apply, message, next_url, template, ready=True, closed=None, **context):
    """One task, one form: on a valid POST run `apply` (a rule) and go on to `next_url`;
    otherwise (re)show the page with each message beside its field and everything typed kept.

    `closed` says why the record no longer takes this form (answered, served, closed): its page
    no longer shows the form, so a POST (a double tap, a page left open) gets the message above
    the page as it now is, rather than a form-less page that says nothing."""
    def run():
        apply()
        flash(message, "success")
        return redirect(next_url, code=303)

    return _run_form(form, run, ready, template, context, closed)


def _run_form(form, run, ready, template, context, closed=None):
    """`run()` on a valid POST; a refusal goes beside its field and the page comes back (422)."""
    if closed and request.method == "POST":
        flash(closed, "error")
        return invalid(template, form=form, **context)
    if ready and form.validate_on_submit():
        try:
            return run()
        except RuleError as error:
            show_error(form, error)
        except StaleRecord as error:
            form.form_errors.append(error.message)
    if request.method == "POST":
        return invalid(template, form=form, **context)
    return render(template, form=form, **context)
