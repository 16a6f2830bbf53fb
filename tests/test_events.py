"""The timeline: append-only, in order, written by every change."""
import datetime

import pytest
import time_machine

from kefu import estate
from kefu import events


def test_events_cannot_be_changed_or_deleted(app, people):
    building = estate.create_building(people["admin"], "1", "1号楼")
    event = events.timeline(building)[0]
    event.note = "改过"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete_instance()
    assert events.timeline(building)[0].note == "1号楼"


def test_timeline_is_in_time_order_with_who_and_what(app, people):
    admin = people["admin"]
    with time_machine.travel(datetime.datetime(2026, 11, 27, 1, 0, tzinfo=datetime.timezone.utc), tick=False):
        building = estate.create_building(admin, "1", "1号楼")
    with time_machine.travel(datetime.datetime(2026, 11, 27, 2, 0, tzinfo=datetime.timezone.utc), tick=False):
        estate.bulk_create_households(admin, building, 1, 1, 2, 2)
    with time_machine.travel(datetime.datetime(2026, 11, 27, 3, 0, tzinfo=datetime.timezone.utc), tick=False):
        estate.void(admin, building, "重复录入")
    timeline = events.timeline(building)
    assert [e.action for e in timeline] == ["新建楼栋", "批量生成房号", "作废"]
    assert {e.actor_name for e in timeline} == {admin.display_name}
    assert timeline[-1].note == "重复录入"
    assert timeline[0].at == datetime.datetime(2026, 11, 27, 1, 0)


def test_voiding_keeps_the_record(app, people):
    building = estate.create_building(people["admin"], "1", "1号楼")
    estate.void(people["admin"], building, "录错")
    kept = estate.Building.get_by_id(building.id)
    assert kept.is_voided and kept.void_reason == "录错"
    assert building.id not in [b.id for b in estate.Building.live()]
    with pytest.raises(estate.EstateError):
        estate.void(people["admin"], kept, "再次作废")


def test_void_needs_a_reason(app, people):
    building = estate.create_building(people["admin"], "1", "1号楼")
    with pytest.raises(estate.EstateError, match="作废原因"):
        estate.void(people["admin"], building, "   ")
