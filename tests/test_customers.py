"""Customer communication: the kind of day (public holidays and 调休), the visit windows in the estate's
zone, household profiles, visits and what was said on them, needs and the answers given, the latent
patterns across households and the visit planner — the rules called directly, with the clock frozen
in Shanghai time.
"""
import datetime

import pytest

from kefu import clock
from kefu import customers
from kefu import estate
from kefu import events
from kefu import tickets
from kefu.customers import CustomerError
from kefu.customers import HouseholdProfile
from kefu.customers import Need
from kefu.customers import Opinion
from kefu.customers import Visit
from kefu.customers import VisitRules
from kefu.db import StaleRecord
from test_tickets import SH
from test_tickets import actions
from test_tickets import intake
from test_tickets import sh
from test_tickets import traveller  # noqa: F401 (fixture)
from test_tickets import world  # noqa: F401 (fixture)

UTC = datetime.timezone.utc


def day(month, number):
    return datetime.date(2026, month, number)


def stored(moment):
    """An aware time as the database keeps it (naive UTC)."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def fresh(record):
    return type(record).get_by_id(record.id)


def home(code):
    return estate.Household.get(estate.Household.code == code)


def last_event(record):
    return events.timeline(record)[-1]


def rules(**changes):
    """The visit rules row changed as the settings page would."""
    VisitRules.current()
    VisitRules.update(**changes).where(VisitRules.id == 1).execute()
    return VisitRules.current()


def profile(w, household=None, version=None, **values):
    household = household or w.home
    if version is None:
        version = customers.profile_of(household).version
    return customers.update_profile(w.assistant, household, version, **values)


def visit(w, households=None, at=None, opinions=(("建议", "楼道灯太暗", None),), form="上门", actor=None, **values):
    """A 上门 visit to 1-1-101 at 09:30 this morning unless told otherwise."""
    made, created = customers.record_visit(
        actor or w.assistant, at=at or sh(11, 27, 9, 30), form=form,
        households=[w.home] if households is None else households, opinions=opinions, **values)
    assert created
    return made


def need(w, household=None, what="希望帮忙代买菜", kind="latent", topic="代购代办", source="电话", **values):
    made, created = customers.record_need(w.assistant, household or w.home, what, kind, topic, source, **values)
    assert created
    return made


def codes(households):
    return [h.code for h in households]


# The kind of day

@pytest.mark.parametrize("date, kind", [
    (day(2, 14), ("workday", "调休上班")),   # a Saturday worked for the Spring Festival
    (day(10, 1), ("holiday", "国庆节")),
    (day(2, 17), ("holiday", "春节")),
    (day(11, 28), ("weekend", "")),          # an ordinary Saturday
    (day(11, 27), ("workday", "")),          # an ordinary Friday
    (day(11, 29), ("weekend", "")),
    (day(10, 10), ("workday", "调休上班")),  # a Saturday worked for the National Day
])
def test_a_day_is_a_holiday_a_weekend_or_a_working_day_as_mainland_china_keeps_it(date, kind):
    assert clock.day_kind(date) == kind


@pytest.mark.parametrize("date, name", [
    (day(2, 21), "调休休息日"),   # the weekend inside the Spring Festival break, not an ordinary weekend
    (day(10, 4), "国庆节"),
    (day(4, 6), "清明节"),        # 补假: the package's "（补假）" is dropped
])
def test_every_day_of_a_holiday_break_takes_the_holidays_name(date, name):
    assert clock.day_kind(date) == ("holiday", name)


def test_a_weekday_given_off_in_place_of_a_worked_weekend_is_a_holiday():
    assert clock.day_kind(day(2, 20))[0] == "holiday"    # Friday of the Spring Festival break
    assert clock.day_kind(day(10, 7))[0] == "holiday"    # Wednesday of the National Day break


# Visit windows

@pytest.fixture
def shanghai(monkeypatch):
    """The default rules of an estate in Shanghai, without building a database for each case (the tests
    below that use `world` check the same against the estate's own settings)."""
    monkeypatch.setattr(customers, "_tz", lambda: SH)


@pytest.mark.parametrize("moment, found", [
    (sh(11, 27, 7, 30), ["早间"]),
    (sh(11, 27, 7, 0), ["早间"]),
    (sh(11, 27, 8, 59), ["早间"]),
    (sh(11, 27, 9, 0), []),
    (sh(11, 27, 6, 59), []),
    (sh(11, 27, 12, 0), []),
    (sh(11, 27, 18, 30), ["晚间"]),
    (sh(11, 27, 19, 0), []),
    (sh(11, 28, 10, 0), ["双休日"]),
    (sh(11, 28, 7, 30), ["早间", "双休日"]),
    (sh(2, 14, 10, 0), []),                  # 调休 Saturday: a working day
    (sh(2, 14, 7, 30), ["早间"]),
    (sh(10, 1, 10, 0), ["节假日（国庆节）"]),
    (sh(10, 1, 18, 15), ["晚间", "节假日（国庆节）"]),
    (sh(11, 28, 23, 30), []),                # a Saturday night is no time to knock on doors
    (sh(11, 28, 18, 59), ["晚间", "双休日"]),
])
def test_a_moment_falls_in_the_visit_windows_of_the_shanghai_wall_clock(shanghai, moment, found):
    assert VisitRules().windows(moment) == found


def test_a_time_given_in_utc_is_tagged_by_the_estates_clock_and_date(world):
    friday_night_utc = datetime.datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # Saturday 07:30 in Shanghai
    assert VisitRules.current().windows(friday_night_utc) == ["早间", "双休日"]
    thursday_night_utc = datetime.datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # Friday 07:30 in Shanghai
    assert VisitRules.current().windows(thursday_night_utc) == ["早间"]
    saturday_night_utc = datetime.datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # Sunday 07:30 in Shanghai
    assert VisitRules.current().windows(saturday_night_utc) == ["早间", "双休日"]
    sunday_night_utc = datetime.datetime(2026, 11, 29, 16, 30, tzinfo=UTC)  # Monday 00:30 in Shanghai
    assert VisitRules.current().windows(sunday_night_utc) == []


def test_changing_the_rules_changes_which_windows_a_moment_falls_in(world):
    changed = rules(evening_start=datetime.time(19, 0), evening_end=datetime.time(20, 0), weekends=False,
                    holidays=False)
    assert changed.windows(sh(11, 27, 18, 30)) == []
    assert changed.windows(sh(11, 27, 19, 30)) == ["晚间"]
    assert changed.windows(sh(11, 28, 10, 0)) == []
    assert changed.windows(sh(10, 1, 10, 0)) == []
    assert changed.windows(sh(11, 28, 7, 30)) == ["早间"]


@pytest.mark.parametrize("moment, label", [
    (sh(11, 27, 7, 30), "现在是早间拜访时段"),
    (sh(11, 27, 18, 30), "现在是晚间拜访时段"),
    (sh(11, 28, 10, 0), "现在是双休日拜访时段"),
    (sh(10, 1, 7, 30), "现在是早间、节假日拜访时段"),
    (sh(11, 27, 6, 0), "早间拜访时段 07:00–09:00"),
    (sh(11, 27, 12, 0), "晚间拜访时段 18:00–19:00"),
    (sh(11, 27, 20, 0), "今天的拜访时段已过"),
])
def test_the_planner_says_whether_now_is_a_window_or_when_the_next_one_opens(shanghai, moment, label):
    assert VisitRules().now_label(moment) == label


def test_now_label_follows_changed_rules_and_the_frozen_clock(world, traveller):
    traveller.move_to(sh(11, 27, 18, 30))
    assert VisitRules.current().now_label() == "现在是晚间拜访时段"
    assert rules(evening_start=datetime.time(19, 0), evening_end=datetime.time(20, 0)).now_label() == \
        "晚间拜访时段 19:00–20:00"


# Phone numbers

@pytest.mark.parametrize("phone, shown", [
    ("13812341234", "138****1234"),
    ("021-58880000", "021-****0000"),
    ("", ""),
    (None, ""),
])
def test_a_phone_number_is_shown_masked(phone, shown):
    assert estate.mask_phone(phone) == shown


# Household profiles

def test_a_profile_records_moved_in_date_contact_time_tags_and_note(world):
    saved = profile(world, moved_in_on=day(5, 1), contact_time=" 晚上七点后 ",
                    tags=[" 独居老人 ", "行动不便", "独居老人", "", "   "], note="  儿子在外地  ")
    assert (saved.moved_in_on, saved.contact_time, saved.tag_list) == (day(5, 1), "晚上七点后", ["独居老人", "行动不便"])
    assert saved.tags == "独居老人、行动不便"
    assert saved.version == 1 and saved.updated_by == world.assistant
    assert saved.updated_at == stored(sh(11, 27, 10, 0))
    assert fresh(world.home).note == "儿子在外地"
    assert HouseholdProfile.select().count() == 1


def test_a_household_without_a_profile_shows_a_blank_one(world):
    blank = customers.profile_of(world.home)
    assert blank.id is None and blank.version == 0 and blank.tag_list == [] and blank.moved_in_on is None


def test_each_profile_change_goes_on_the_households_timeline_with_from_and_to(world):
    profile(world, moved_in_on=day(5, 1), contact_time="晚上七点后", tags=["独居老人", "行动不便"])
    event = last_event(world.home)
    assert event.action == "更新客户资料" and event.actor_name == "张助理"
    assert event.note == "入住日期：— → 2026-05-01；方便联系的时间：— → 晚上七点后；标签：— → 独居老人、行动不便"
    profile(world, moved_in_on=day(5, 1), contact_time="晚上七点后", tags=["独居老人"], note="怕吵")
    event = last_event(world.home)
    assert event.note == "标签：独居老人、行动不便 → 独居老人；备注：— → 怕吵"
    assert actions(world.home).count("更新客户资料") == 2
    assert customers.profile_of(world.home).version == 2


def test_a_moved_in_date_after_today_is_refused(world):
    with pytest.raises(CustomerError) as refused:
        profile(world, moved_in_on=day(11, 28))
    assert refused.value.field == "moved_in_on"
    assert HouseholdProfile.select().count() == 0
    assert profile(world, moved_in_on=day(11, 27)).moved_in_on == day(11, 27)


def test_today_for_the_moved_in_date_is_the_shanghai_day(world, traveller):
    traveller.move_to(sh(11, 28, 0, 30))  # still 11-27 in UTC
    assert profile(world, moved_in_on=day(11, 28)).moved_in_on == day(11, 28)


def test_a_tag_longer_than_ten_characters_is_refused(world):
    with pytest.raises(CustomerError) as refused:
        profile(world, tags=["独居老人", "一二三四五六七八九十一"])
    assert refused.value.field == "tags"
    assert profile(world, tags=["一二三四五六七八九十"]).tag_list == ["一二三四五六七八九十"]


def test_saving_a_profile_with_no_change_is_refused(world):
    with pytest.raises(CustomerError, match="没有改动"):
        profile(world, tags=["  "])
    profile(world, contact_time="周末", tags=["独居老人"])
    with pytest.raises(CustomerError, match="没有改动"):
        profile(world, contact_time=" 周末 ", tags=["独居老人", "独居老人"])
    assert actions(world.home).count("更新客户资料") == 1


def test_a_first_profile_saved_against_a_wrong_version_is_refused_as_stale(world):
    with pytest.raises(StaleRecord):
        profile(world, version=1, contact_time="周末")
    assert HouseholdProfile.select().count() == 0
    assert "更新客户资料" not in actions(world.home)


def test_of_two_people_editing_a_profile_the_second_is_told_to_refresh(world):
    profile(world, version=0, contact_time="周末")
    with pytest.raises(StaleRecord):
        profile(world, version=0, contact_time="工作日晚上", note="另一人的备注")
    kept = customers.profile_of(world.home)
    assert kept.contact_time == "周末" and kept.version == 1
    assert fresh(world.home).note == ""


# Visits

@pytest.mark.parametrize("values, field", [
    ({"households": [], "place": ""}, "households"),
    ({"households": [], "place": "   "}, "households"),
    ({"form": "写信"}, "form"),
    ({"form": ""}, "form"),
    ({"at": None}, "at"),
    ({"at": sh(11, 27, 10, 1)}, "at"),                   # in the future
    ({"at": sh(10, 28, 9, 59)}, "at"),                   # more than 30 days ago
    ({"opinions": [], "note": ""}, "opinions"),
    ({"opinions": [("建议", "  ", None)], "note": " "}, "opinions"),
    ({"opinions": [("吐槽", "物业费太贵", None)]}, "opinions"),
    ({"opinions": [("", "物业费太贵", None)]}, "opinions"),
])
def test_an_incomplete_visit_is_refused_naming_the_field(world, values, field):
    fields = dict(at=sh(11, 27, 9, 30), form="上门", households=[world.home],
                  opinions=[("建议", "楼道灯太暗", None)])
    fields.update(values)
    with pytest.raises(CustomerError) as refused:
        customers.record_visit(world.assistant, **fields)
    assert refused.value.field == field and refused.value.message
    assert Visit.select().count() == 0 and Opinion.select().count() == 0


def test_a_visit_up_to_thirty_days_ago_can_be_recorded(world):
    late = visit(world, at=sh(10, 28, 10, 0))
    assert late.at == stored(sh(10, 28, 10, 0))


def test_a_visit_with_only_a_note_is_recorded(world):
    quiet = visit(world, opinions=(), note="住户不在家，留了联系卡")
    assert quiet.note == "住户不在家，留了联系卡" and list(quiet.opinions) == []


def test_blank_opinion_rows_are_skipped(world):
    made = visit(world, opinions=[("建议", "", None), ("", "   ", None), ("表扬", " 保安很负责 ", None),
                                  ("意见", None, None)])
    assert [(o.position, o.kind, o.text) for o in made.opinions] == [(1, "表扬", "保安很负责")]


def test_more_than_eight_opinions_are_refused(world):
    with pytest.raises(CustomerError) as refused:
        visit(world, opinions=[("建议", f"第{n}条", None) for n in range(9)])
    assert refused.value.field == "opinions"
    assert len(list(visit(world, opinions=[("建议", f"第{n}条", None) for n in range(8)]).opinions)) == 8


def test_a_visit_keeps_the_windows_it_was_tagged_with_when_recorded(world):
    morning = visit(world, at=sh(11, 27, 7, 30))
    assert morning.window_list == ["早间"] and fresh(morning).windows == "早间"
    evening = visit(world, at=sh(11, 26, 18, 30))
    rules(evening_start=datetime.time(19, 0), evening_end=datetime.time(20, 0))
    assert fresh(evening).window_list == ["晚间"]
    assert visit(world, at=sh(11, 26, 18, 30)).window_list == []
    weekend = visit(world, at=sh(11, 22, 10, 0))  # a Sunday
    assert weekend.window_list == ["双休日"]
    plain = visit(world, at=sh(11, 27, 9, 30))
    assert plain.window_list == [] and plain.windows == ""


def test_a_visit_is_filed_under_the_zone_of_the_households_building(world):
    assert visit(world, households=[world.home2]).zone == world.zone2
    assert visit(world, households=[world.home]).zone == world.zone


def test_a_visit_to_a_place_only_needs_a_zone(world):
    with pytest.raises(CustomerError) as refused:
        visit(world, households=[], place="小区花园")
    assert refused.value.field == "zone"
    chat = visit(world, households=[], place="小区花园", zone=world.zone2, form="活动")
    assert chat.zone == world.zone2 and chat.where == "小区花园" and list(chat.households()) == []


def test_a_visit_to_a_household_in_no_zone_needs_a_zone(world):
    with pytest.raises(CustomerError) as refused:
        visit(world, households=[world.nowhere])
    assert refused.value.field == "zone"
    assert visit(world, households=[world.nowhere], zone=world.zone).zone == world.zone


def test_the_same_submit_token_twice_records_one_visit(world):
    first, created = customers.record_visit(world.assistant, at=sh(11, 27, 7, 30), form="上门",
                                            households=[world.home], opinions=[("建议", "楼道灯太暗", None)],
                                            token="visit-1")
    again, created_again = customers.record_visit(world.assistant, at=sh(11, 27, 7, 30), form="上门",
                                                  households=[world.home], opinions=[("建议", "楼道灯太暗", None)],
                                                  token="visit-1")
    assert created and not created_again and again.id == first.id
    assert Visit.select().count() == 1 and Opinion.select().count() == 1
    assert actions(first) == ["拜访"] and actions(world.home).count("拜访") == 1


def test_with_one_household_every_opinion_is_theirs(world):
    made = visit(world, households=[world.home, world.home], opinions=[("建议", "楼道灯太暗", None),
                                                                       ("表扬", "保安很负责", world.home)])
    assert [o.household for o in made.opinions] == [world.home, world.home]
    assert codes(made.households()) == ["1-1-101"]


def test_with_several_households_an_opinion_belongs_to_whom_it_was_given(world):
    made = visit(world, households=[world.neighbour, world.home], place="楼道",
                 opinions=[("建议", "楼道灯太暗", None), ("服务需求", "想请人打扫", world.neighbour)])
    assert [(o.text, o.household) for o in made.opinions] == [("楼道灯太暗", None), ("想请人打扫", world.neighbour)]
    assert made.where == "1-1-101、1-1-201、楼道"


def test_an_opinion_of_a_household_not_on_the_visit_is_refused(world):
    with pytest.raises(CustomerError) as refused:
        visit(world, households=[world.home], opinions=[("建议", "楼道灯太暗", world.neighbour)])
    assert refused.value.field == "opinions"
    assert Visit.select().count() == 0


def test_a_visit_goes_on_its_own_timeline_and_each_households(world):
    made = visit(world, households=[world.home, world.neighbour], at=sh(11, 27, 7, 30),
                 opinions=[("建议", "楼道灯太暗", None), ("服务需求", "想请人打扫", world.neighbour),
                           ("表扬", "保安很负责", world.home)], note="两户都在家")
    assert actions(made) == ["拜访"]
    assert last_event(made).note == ("上门 · 1-1-101、1-1-201 · 早间\n建议：楼道灯太暗\n服务需求：想请人打扫"
                                     "\n表扬：保安很负责\n两户都在家")
    assert last_event(world.home).action == "拜访"
    # Written down at 10:00, the households' timelines say when it happened.
    assert last_event(world.home).note == "上门 · 早间\n拜访于 2026-11-27 07:30\n建议：楼道灯太暗\n表扬：保安很负责"
    assert last_event(world.neighbour).note == "上门 · 早间\n拜访于 2026-11-27 07:30\n建议：楼道灯太暗\n服务需求：想请人打扫"
    assert "拜访" not in actions(world.home2)


# Opinions become requests

def test_an_opinion_becomes_a_request_once_linked_both_ways(world):
    made = visit(world, at=sh(11, 27, 7, 30), opinions=[("服务需求", "卫生间天花板漏水", None)])
    opinion = made.opinions.get()
    ticket = intake(world)
    customers.link_ticket(world.assistant, opinion, ticket)
    assert fresh(opinion).ticket_id == ticket.id
    assert actions(made) == ["拜访", "意见转为诉求"]
    assert last_event(made).note == f"服务需求：卫生间天花板漏水 → {ticket.number}"
    assert actions(ticket) == ["受理", "来自拜访"]
    assert last_event(ticket).note == "11-27 07:30 上门：卫生间天花板漏水"

    with pytest.raises(CustomerError, match="已转为诉求"):
        customers.link_ticket(world.assistant, fresh(opinion), intake(world))
    assert fresh(opinion).ticket_id == ticket.id
    assert actions(made).count("意见转为诉求") == 1


def test_a_request_taken_from_an_opinion_is_linked_in_the_same_submit(world):
    opinion = visit(world, opinions=[("服务需求", "卫生间天花板漏水", None)]).opinions.get()
    ticket, created = tickets.create(world.assistant, channel="现场", category="工程维修", tier=world.normal,
                                     description=opinion.text, household=world.home,
                                     then=lambda t: customers.link_ticket(world.assistant, opinion, t))
    assert created and fresh(opinion).ticket_id == ticket.id
    assert sorted(actions(ticket)) == sorted(["受理", "来自拜访"])


# Needs

def test_a_need_from_an_opinion_is_linked_both_ways(world):
    made = visit(world, opinions=[("服务需求", "想找人每周打扫一次", None)])
    opinion = made.opinions.get()
    recorded = need(world, what="每周保洁一次", kind="personal", topic="家政保洁", source="拜访", opinion=opinion)
    assert fresh(opinion).need_id == recorded.id and fresh(recorded).opinion == opinion
    assert (recorded.zone, recorded.outcome_label, recorded.kind_label) == (world.zone, "待答复", "个性化需求")
    assert actions(made) == ["拜访", "意见记为需求"]
    assert last_event(made).note == "想找人每周打扫一次 → 个性化需求：每周保洁一次"
    event = last_event(recorded)
    assert (event.action, event.to_state) == ("记录需求", "待答复")
    assert event.note == "个性化需求 · 家政保洁 · 来源 拜访：每周保洁一次"
    assert last_event(world.home).action == "记录需求"


def test_a_second_need_from_the_same_opinion_is_refused_and_nothing_is_kept(world):
    opinion = visit(world, opinions=[("服务需求", "想找人每周打扫一次", None)]).opinions.get()
    first = need(world, topic="家政保洁", source="拜访", opinion=opinion)
    with pytest.raises(CustomerError, match="已记为需求"):
        customers.record_need(world.assistant, world.home, "每月大扫除", "personal", "家政保洁", "拜访",
                              opinion=fresh(opinion), token="need-2")
    assert Need.select().count() == 1 and fresh(opinion).need_id == first.id
    assert actions(world.home).count("记录需求") == 1
    # the refused submit used up no token: the same form can be sent again once fixed
    again, created = customers.record_need(world.assistant, world.home, "每月大扫除", "personal", "家政保洁", "拜访",
                                           token="need-2")
    assert created and Need.select().count() == 2


@pytest.mark.parametrize("values, field", [
    ({"what": ""}, "what"),
    ({"what": "   "}, "what"),
    ({"what": "买" * 501}, "what"),
    ({"kind": "urgent"}, "kind"),
    ({"kind": ""}, "kind"),
    ({"topic": "买菜"}, "topic"),
    ({"source": "微信"}, "source"),
])
def test_an_incomplete_need_is_refused_naming_the_field(world, values, field):
    fields = dict(what="希望帮忙代买菜", kind="latent", topic="代购代办", source="电话")
    fields.update(values)
    with pytest.raises(CustomerError) as refused:
        customers.record_need(world.assistant, world.home, **fields)
    assert refused.value.field == field and refused.value.message
    assert Need.select().count() == 0


def test_a_need_needs_a_live_household_in_a_zone(world):
    estate.Household.update(voided_at=clock.utcnow()).where(estate.Household.id == world.neighbour.id).execute()
    for household in (None, world.nowhere, fresh(world.neighbour)):
        with pytest.raises(CustomerError) as refused:
            customers.record_need(world.assistant, household, "代买菜", "latent", "代购代办", "电话")
        assert refused.value.field == "household"
    assert Need.select().count() == 0


def test_a_need_is_filed_under_the_zone_of_the_households_building(world):
    assert need(world, household=world.home2).zone == world.zone2


def test_the_same_submit_token_twice_records_one_need(world):
    first, created = customers.record_need(world.assistant, world.home, "代买菜", "latent", "代购代办", "电话",
                                           token="need-1")
    again, created_again = customers.record_need(world.assistant, world.home, "代买菜", "latent", "代购代办", "电话",
                                                 token="need-1")
    assert created and not created_again and again.id == first.id
    assert Need.select().count() == 1 and actions(world.home).count("记录需求") == 1


def test_a_need_from_a_request_keeps_the_request(world):
    ticket = intake(world)
    assert need(world, source="诉求", ticket=ticket).ticket_id == ticket.id


# Answers

@pytest.mark.parametrize("reason, reaction, field", [
    ("", "", "reason"),
    ("  ", "已安抚", "reason"),
    ("本小区暂无此项服务", "", "reaction"),
    ("本小区暂无此项服务", "   ", "reaction"),
])
def test_declining_a_need_needs_the_reason_and_how_the_customer_took_it(world, reason, reaction, field):
    asked = need(world)
    with pytest.raises(CustomerError) as refused:
        customers.answer_need(world.assistant, asked, asked.version, "decline", reason, reaction)
    assert refused.value.field == field
    assert fresh(asked).outcome == "open" and actions(asked) == ["记录需求"]


def test_a_declined_need_is_answered_on_its_timeline_and_the_households(world):
    asked = need(world)
    answered = customers.answer_need(world.assistant, asked, asked.version, "decline", "本小区暂无此项服务", "已安抚，表示理解")
    assert (answered.outcome_label, answered.reason, answered.reaction) == ("不能提供", "本小区暂无此项服务", "已安抚，表示理解")
    assert answered.version == asked.version + 1 and answered.decided_at == stored(sh(11, 27, 10, 0))
    event = last_event(answered)
    assert (event.action, event.from_state, event.to_state) == ("答复需求", "待答复", "不能提供")
    assert event.note == "不能提供：本小区暂无此项服务；客户：已安抚，表示理解"
    assert last_event(world.home).note == "希望帮忙代买菜 → 不能提供：本小区暂无此项服务；客户：已安抚，表示理解"


def test_studying_a_need_needs_a_reason_and_it_can_be_answered_again(world):
    asked = need(world)
    with pytest.raises(CustomerError) as refused:
        customers.answer_need(world.assistant, asked, asked.version, "study")
    assert refused.value.field == "reason"
    studied = customers.answer_need(world.assistant, asked, asked.version, "study", "问问周边超市能否送货")
    assert studied.outcome_label == "待研究"
    provided = customers.answer_need(world.assistant, studied, studied.version, "provide")
    assert provided.outcome_label == "可提供"
    assert [(e.from_state, e.to_state) for e in events.timeline(provided) if e.action == "答复需求"] == [
        ("待答复", "待研究"), ("待研究", "可提供")]
    assert last_event(provided).note == "可以提供"


def test_a_provided_need_cannot_be_answered_again(world):
    asked = need(world)
    provided = customers.answer_need(world.assistant, asked, asked.version, "provide")
    with pytest.raises(CustomerError, match="已答复"):
        customers.answer_need(world.assistant, provided, provided.version, "decline", "没人手", "不满")
    assert fresh(asked).outcome == "provide" and actions(asked).count("答复需求") == 1


def test_an_unknown_answer_is_refused(world):
    asked = need(world)
    with pytest.raises(CustomerError) as refused:
        customers.answer_need(world.assistant, asked, asked.version, "open")
    assert refused.value.field == "outcome"


def test_of_two_people_answering_a_need_the_second_is_told_to_refresh(world):
    asked = need(world)
    customers.answer_need(world.assistant, asked, asked.version, "study", "问问周边超市")
    with pytest.raises(StaleRecord):
        customers.answer_need(world.assistant2, asked, asked.version, "provide")
    assert fresh(asked).outcome_label == "待研究" and actions(asked).count("答复需求") == 1


def test_a_voided_need_cannot_be_answered(world):
    asked = need(world)
    Need.update(voided_at=clock.utcnow(), void_reason="录错了").where(Need.id == asked.id).execute()
    with pytest.raises(CustomerError, match="作废"):
        customers.answer_need(world.assistant, fresh(asked), asked.version, "provide")


# Latent patterns

def tagged(w, code, *tags):
    household = home(code)
    profile(w, household, tags=list(tags))
    return household


def test_latent_needs_group_by_topic_with_the_tags_the_households_share(world):
    for code in ("1-1-101", "1-1-102", "1-1-201"):
        need(world, household=tagged(world, code, "独居老人"))
    need(world, household=home("1-1-202"), topic="家政保洁", what="想请钟点工")
    assert customers.latent_patterns([world.zone.id]) == [("代购代办", 3, {"独居老人": 3}), ("家政保洁", 1, {})]


def test_latent_patterns_count_each_household_once_and_sort_tags_by_households(world):
    first = tagged(world, "1-1-101", "独居老人", "行动不便")
    second = tagged(world, "1-1-102", "独居老人")
    need(world, household=first)
    need(world, household=first, what="代取药")
    need(world, household=second)
    assert customers.latent_patterns([world.zone.id]) == [("代购代办", 2, {"独居老人": 2, "行动不便": 1})]


def test_declined_voided_and_personal_needs_are_left_out_of_the_patterns(world):
    kept = need(world, household=home("1-1-101"))
    declined = need(world, household=home("1-1-102"))
    customers.answer_need(world.assistant, declined, declined.version, "decline", "无此服务", "理解")
    voided = need(world, household=home("1-1-201"))
    Need.update(voided_at=clock.utcnow(), void_reason="录错了").where(Need.id == voided.id).execute()
    need(world, household=home("1-1-202"), kind="personal")
    studied = need(world, household=home("1-1-202"), topic="陪护照看", what="想有人陪着去医院")
    customers.answer_need(world.assistant, studied, studied.version, "study", "问问护工")
    assert kept and customers.latent_patterns([world.zone.id]) == [("代购代办", 1, {}), ("陪护照看", 1, {})]


def test_latent_patterns_cover_only_the_given_zones(world):
    need(world, household=world.home)
    need(world, household=world.home2)
    need(world, household=world.home2, topic="家政保洁")
    assert customers.latent_patterns([world.zone.id]) == [("代购代办", 1, {})]
    assert customers.latent_patterns([world.zone2.id]) == [("代购代办", 1, {}), ("家政保洁", 1, {})]
    assert customers.latent_patterns([world.zone.id, world.zone2.id]) == [("代购代办", 2, {}), ("家政保洁", 1, {})]
    assert customers.latent_patterns([]) == []


# The planner

def unhappy_ticket(w, traveller, when, household=None):
    """A request for `household` resolved and then followed up 不满意 at `when`."""
    traveller.move_to(when)
    ticket = intake(w, household=household or w.home)
    ticket = tickets.respond(w.assistant, ticket, ticket.version, "上门", "")
    ticket = tickets.resolve_on_the_spot(w.assistant, ticket, ticket.version, "疏通了下水道")
    return tickets.record_followup(w.assistant, ticket, ticket.version, "电话", "不满意", "还是堵")


def test_a_household_with_an_open_need_is_in_the_planner(world):
    need(world, household=world.neighbour, what="代买菜")
    studied = need(world, household=world.home, what="陪同就医", topic="陪护照看")
    customers.answer_need(world.assistant, studied, studied.version, "study", "问问护工")
    done = need(world, household=home("1-1-202"))
    customers.answer_need(world.assistant, done, done.version, "provide")
    need(world, household=world.home2)
    plan = customers.planner([world.zone.id])
    assert codes(plan["needs"]) == ["1-1-201", "1-1-101"]
    assert [h.need_what for h in plan["needs"]] == ["代买菜", "陪同就医"]


def test_a_household_unhappy_with_a_request_in_the_last_thirty_days_is_in_the_planner(world, traveller):
    unhappy_ticket(world, traveller, sh(11, 20, 10, 0), world.home)
    unhappy_ticket(world, traveller, sh(10, 20, 10, 0), world.neighbour)   # 38 days ago
    unhappy_ticket(world, traveller, sh(11, 21, 10, 0), world.home2)       # another zone
    traveller.move_to(sh(11, 27, 10, 0))
    satisfied = intake(world, household=home("1-1-202"))
    satisfied = tickets.respond(world.assistant, satisfied, satisfied.version, "上门", "")
    satisfied = tickets.resolve_on_the_spot(world.assistant, satisfied, satisfied.version, "修好了")
    tickets.record_followup(world.assistant, satisfied, satisfied.version, "电话", "满意")
    assert codes(customers.planner([world.zone.id])["unhappy"]) == ["1-1-101"]
    assert codes(customers.planner([world.zone2.id])["unhappy"]) == ["2-1-101"]


def test_a_household_unhappy_twice_is_listed_once(world, traveller):
    unhappy_ticket(world, traveller, sh(11, 20, 10, 0), world.home)
    unhappy_ticket(world, traveller, sh(11, 21, 10, 0), world.home)
    traveller.move_to(sh(11, 27, 10, 0))
    assert codes(customers.planner([world.zone.id])["unhappy"]) == ["1-1-101"]


def test_households_not_visited_for_weeks_are_stale_tagged_first_then_longest_unvisited(world, traveller):
    traveller.move_to(sh(9, 20, 10, 0))
    visit(world, households=[world.home], at=sh(9, 20, 9, 0))               # ten weeks ago
    visit(world, households=[home("1-1-202")], at=sh(9, 20, 9, 30))
    traveller.move_to(sh(11, 20, 10, 0))
    visit(world, households=[home("1-1-102")], at=sh(11, 20, 9, 0))        # last week
    traveller.move_to(sh(11, 27, 10, 0))
    tagged(world, "1-1-202", "独居老人")
    plan = customers.planner([world.zone.id])
    assert codes(plan["stale"]) == ["1-1-202", "1-1-201", "1-1-101"]
    assert plan["weeks"] == 8


def test_the_planner_says_when_a_stale_household_was_last_visited(world, traveller):
    traveller.move_to(sh(9, 20, 10, 0))
    visit(world, households=[world.home], at=sh(9, 20, 9, 0))
    traveller.move_to(sh(11, 27, 10, 0))
    last = {h.code: h.last_visit for h in customers.planner([world.zone.id])["stale"]}
    assert last["1-1-201"] is None                      # 还没有拜访记录
    assert last["1-1-101"] == stored(sh(9, 20, 9, 0))   # 上次拜访 2026-09-20, a time the page can show


def test_a_household_visited_last_week_is_not_stale(world):
    visit(world, households=[world.home], at=sh(11, 20, 10, 0))
    assert "1-1-101" not in codes(customers.planner([world.zone.id])["stale"])


def test_the_stale_weeks_setting_decides_who_is_stale(world):
    visit(world, households=[world.home], at=sh(11, 12, 10, 0))      # two weeks and a day ago
    assert "1-1-101" not in codes(customers.planner([world.zone.id])["stale"])
    rules(stale_weeks=2)
    plan = customers.planner([world.zone.id])
    assert "1-1-101" in codes(plan["stale"]) and plan["weeks"] == 2


def test_a_voided_visit_does_not_count_as_a_visit(world):
    made = visit(world, households=[world.home], at=sh(11, 20, 10, 0))
    Visit.update(voided_at=clock.utcnow(), void_reason="录错了").where(Visit.id == made.id).execute()
    assert "1-1-101" in codes(customers.planner([world.zone.id])["stale"])


def test_the_planner_lists_only_my_zones(world, traveller):
    need(world, household=world.home2)
    unhappy_ticket(world, traveller, sh(11, 21, 10, 0), world.home2)
    traveller.move_to(sh(11, 27, 10, 0))
    plan = customers.planner([world.zone.id])
    assert plan["needs"] == [] and plan["unhappy"] == []
    assert codes(plan["stale"]) == ["1-1-101", "1-1-102", "1-1-201", "1-1-202"]
    assert codes(customers.planner([world.zone2.id])["stale"]) == ["2-1-101", "2-1-102", "2-1-201", "2-1-202"]


def test_the_planner_says_whether_now_is_a_visit_window(world, traveller):
    assert customers.planner([world.zone.id])["now"] == "晚间拜访时段 18:00–19:00"
    traveller.move_to(sh(11, 27, 18, 10))
    assert customers.planner([world.zone.id])["now"] == "现在是晚间拜访时段"


def test_a_household_satisfied_on_a_later_call_back_drops_out_of_the_unhappy(world, traveller):
    ticket = unhappy_ticket(world, traveller, sh(11, 20, 10, 0), world.home)
    other = unhappy_ticket(world, traveller, sh(11, 21, 10, 0), world.neighbour)
    traveller.move_to(sh(11, 24, 10, 0))
    ticket = tickets.resolve_on_the_spot(world.assistant, ticket, ticket.version, "换了疏通管")
    tickets.record_followup(world.assistant, ticket, ticket.version, "电话", "满意")
    traveller.move_to(sh(11, 27, 10, 0))
    [still] = customers.planner([world.zone.id])["unhappy"]
    assert still.code == "1-1-201" and still.unhappy_words == "还是堵"
    assert clock.to_local(still.unhappy_at, SH).strftime("%m-%d") == "11-21"
    assert other
