"""Helpers that make list pages cheap: id_url and prepared queries."""
import pytest
from flask import url_for

from kefu import db
from kefu import events
from kefu.web import id_url


@pytest.mark.parametrize("script_root", ["", "/kefu"])
def test_id_url_builds_the_same_links_as_url_for(app, script_root):
    with app.test_request_context("/", base_url="http://localhost" + script_root):
        for endpoint, ids in [("tickets.show", {"ticket_id": 7}), ("tickets.show", {"ticket_id": 123456}),
                              ("workorders.show", {"order_id": 3}), ("estate.roster", {"building_id": 12})]:
            assert id_url(endpoint, **ids) == url_for(endpoint, **ids)
        assert id_url("tickets.show", ticket_id=5).startswith(script_root + "/tickets/")


def test_a_prepared_query_runs_with_new_parameters_and_checks_their_order(app, people):
    timeline = db.Prepared(events.Event, lambda record_type, record_id: events.Event.select().where(
        (events.Event.record_type == record_type) & (events.Event.record_id == record_id)), "user", -1)
    events.record(people["admin"], people["assistant"], "测试一", note="甲")
    events.record(people["admin"], people["frontdesk"], "测试二", note="乙")
    assert [e.action for e in timeline("user", people["assistant"].id)] [-1:] == ["测试一"]
    assert [e.action for e in timeline("user", people["frontdesk"].id)] [-1:] == ["测试二"]
    with pytest.raises(TypeError):
        timeline("user")
    backwards = db.Prepared(events.Event, lambda record_type, record_id: events.Event.select().where(
        (events.Event.record_id == record_id) & (events.Event.record_type == record_type)
        & (events.Event.action != "创建用户")), "user", -1)
    assert [e.action for e in backwards("user", people["frontdesk"].id)] == ["测试二"]
    unused = db.Prepared(events.Event, lambda record_type, record_id: events.Event.select().where(
        events.Event.record_type == record_type), "user", -1)
    with pytest.raises(ValueError):
        unused("user", 1)


def test_rows_built_directly_match_what_peewee_builds(app, people):
    from kefu.users import User

    events.record(people["admin"], people["assistant"], "测试", note="甲", photo_ids=[1])
    for model, query in [(User, User.select().order_by(User.id)),
                         (events.Event, events.Event.select().order_by(events.Event.id))]:
        fast = db.rows(model, db.database.execute(query))
        slow = list(query)
        assert len(fast) == len(slow) > 1
        for a, b in zip(fast, slow):
            assert a.__data__ == b.__data__
            assert type(a.__data__.get("at", a.__data__.get("active"))) is type(b.__data__.get("at", b.__data__.get("active")))
    extra = db.rows(User, db.database.execute(User.select(User.id, User.display_name.alias("shown")).order_by(User.id)))
    assert extra[0].shown == people["admin"].display_name and extra[0].id == people["admin"].id
    # Built directly, an instance is one peewee's own query would give: not dirty, equal, and saved alike.
    fast = db.rows(User, db.database.execute(User.select().where(User.id == people["admin"].id)))[0]
    slow = User.get_by_id(people["admin"].id)
    assert fast == slow and fast.is_dirty() == slow.is_dirty() is False and fast.dirty_fields == slow.dirty_fields
    fast.display_name = "改过的名字"
    assert fast.dirty_fields == [User.display_name]
    fast.save()
    assert User.get_by_id(people["admin"].id).display_name == "改过的名字"


def test_no_form_field_is_named_form(app):
    """An input named "form" replaces a form element's .form, and htmx then can't submit the form
    (the visit page once failed to save this way)."""
    from flask_wtf import FlaskForm

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    named_form = []
    with app.test_request_context():
        for cls in set(subclasses(FlaskForm)):
            form = cls(formdata=None, meta={"csrf": False})
            named_form += [f"{cls.__name__}.{field.short_name}" for field in form if field.name == "form"]
    assert named_form == []


def test_the_app_has_an_icon_for_tabs_and_home_screens(client):
    """/favicon.ico, which browsers ask for by themselves, and the icons each page names."""
    import io
    import re

    from PIL import Image
    with client.get("/favicon.ico") as favicon:
        assert favicon.status_code == 200 and favicon.get_data()[:4] == b"\x00\x00\x01\x00"  # an ICO file
        assert favicon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    page = client.get("/login").get_data(as_text=True)
    named = [(rel, href) for rel, href in re.findall(r'<link rel="([^"]*icon)" href="([^"]+)"', page)
             if not href.endswith(".ico")]
    sizes = []
    for rel, href in named:
        with client.get(href) as icon:
            assert icon.status_code == 200
            sizes.append((rel, Image.open(io.BytesIO(icon.get_data())).size))
    assert sorted(sizes) == [("apple-touch-icon", (180, 180)), ("icon", (192, 192))]
    assert 'href="data:,"' not in page
