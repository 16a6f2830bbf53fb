"""设置 → 同义词: the groups of words the estate counts as meaning the same, which the search and
the similar cases expand (administrator only)."""
from flask import Blueprint
from flask import request
from flask import url_for
from flask_login import current_user

from .. import events
from .. import words
from ..auth import roles
from ..db import StaleRecord
from ..web import done
from ..web import invalid
from ..web import render
from . import get_or_404
from .forms import VersionForm
from .forms import long_text
from .forms import show_error
from .forms import text

bp = Blueprint("search", __name__, url_prefix="/admin/synonyms")


class SynonymForm(VersionForm):
    words = text("同义词", 200, render_kw={"placeholder": "如 漏水 渗水 滴水 返水", "autocomplete": "off"})


class VoidForm(VersionForm):
    reason = long_text("停用原因", 500, required=True, message=words.VOID_REASON_MISSING, render_kw={"rows": 2})


@bp.route("")
@roles("admin")
def index():
    """Every live group of synonyms."""
    return render("search/synonyms.html", title="同义词", items=list(words.Synonym.live()),
                  back=url_for("estate.index"))


@bp.route("/new", methods=["GET", "POST"], endpoint="new")
@bp.route("/<int:group_id>", methods=["GET", "POST"])
@roles("admin")
def edit(group_id=None):
    """Create or change one group."""
    group = get_or_404(words.Synonym.live(), group_id) if group_id else None
    form = SynonymForm()
    if request.method == "GET" and group is not None:
        form.words.data, form.version.data = group.words, group.version
    if form.validate_on_submit():
        try:
            if group is None:
                words.create_group(current_user, form.words.data)
            else:
                words.update_group(current_user, group, form.expected_version(), form.words.data)
            return done("同义词已保存，搜索和类似诉求立即使用", "search.index")
        except words.SynonymError as error:
            show_error(form, error)
        except StaleRecord as error:
            form.form_errors.append(error.message)
    return _page(form, group, VoidForm(version=group.version) if group else None)


@bp.route("/<int:group_id>/void", methods=["POST"])
@roles("admin")
def void(group_id):
    """Stop using a group, with the reason."""
    group = get_or_404(words.Synonym.live(), group_id)
    void_form = VoidForm()
    if void_form.validate_on_submit():
        try:
            words.void_group(current_user, group, void_form.expected_version(), void_form.reason.data)
            return done(f"已停用“{group.words}”", "search.index")
        except StaleRecord as error:
            void_form.form_errors.append(error.message)
    form = SynonymForm(formdata=None, words=group.words, version=group.version)
    return _page(form, group, void_form, status_invalid=True)


def _page(form, group, void_form, status_invalid=False):
    context = dict(form=form, group=group, void_form=void_form, title="修改同义词" if group else "新建同义词",
                   back=url_for("search.index"), timeline=events.timeline(group) if group else [])
    if request.method == "POST" or status_invalid:
        return invalid("search/synonym.html", **context)
    return render("search/synonym.html", **context)
