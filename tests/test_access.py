"""Who may open what: every route × every role, written down as intent, and the tabs each role sees.

The table below is the statement of who may use each page. It is not read from the code: a new
route fails `test_every_route_is_in_the_table` until someone decides who may use it and adds a
row (and, for a new URL parameter, a real record in the `ids` fixture). Scoping within a role
(another zone's ticket, another unit's order) is tested with each area.
"""
import datetime
import io
import re
from urllib.parse import urlsplit

import pytest
from PIL import Image

from conftest import FROZEN
from conftest import PASSWORD
from conftest import text
from kefu import channels
from kefu import customers
from kefu import estate
from kefu import evaluations
from kefu import imports
from kefu import meetings
from kefu import patrols
from kefu import renovations
from kefu import residents
from kefu import services
from kefu import shops
from kefu import tickets
from kefu import uploads
from kefu import users
from kefu import escalations
from kefu import words

ADMIN, SUPERVISOR, ASSISTANT, FRONTDESK, UNIT = "admin", "supervisor", "assistant", "frontdesk", "unit"
EVERYONE = (ADMIN, SUPERVISOR, ASSISTANT, FRONTDESK, UNIT)
STAFF = (SUPERVISOR, ASSISTANT, FRONTDESK, ADMIN)
ANYONE = "anyone, signed in or not"
SIGNED_OUT = None

ACCESS = {
    "GET /login": ANYONE,
    "POST /login": ANYONE,
    "POST /logout": ANYONE,
    "GET /sw.js": ANYONE,
    "GET /offline": ANYONE,
    "GET /favicon.ico": ANYONE,
    "GET /.well-known/security.txt": ANYONE,
    # The first administrator's page: open until one exists (then it sends everyone on).
    "GET /setup": ANYONE,
    "POST /setup": ANYONE,
    "GET /setup/<step>": (ADMIN,),
    "POST /setup/<step>": (ADMIN,),
    "GET /": EVERYONE,
    "GET /today/live": (SUPERVISOR, ASSISTANT, FRONTDESK, UNIT),
    "GET /me": EVERYONE,
    "GET /me/password": EVERYONE,
    "POST /me/password": EVERYONE,
    "GET /tickets": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /patrols": (SUPERVISOR, ASSISTANT),
    "GET /customers": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "POST /photos": EVERYONE,
    # The test photo belongs to a public place: staff may see it, business units may not.
    "GET /photos/<int:photo_id>/<any(full, thumb):size>": STAFF,
    "GET /admin/households/lookup": STAFF,
    "GET /admin/buildings/<int:building_id>/roster": STAFF,
    "GET /admin/buildings/<int:building_id>/roster.pdf": STAFF,
    "GET /admin/": (ADMIN,),
    "GET /admin/estate": (ADMIN,),
    "POST /admin/estate": (ADMIN,),
    "GET /admin/letterhead": (ADMIN,),
    "POST /admin/letterhead": (ADMIN,),
    "GET /admin/buildings": (ADMIN,),
    "GET /admin/buildings/new": (ADMIN,),
    "POST /admin/buildings/new": (ADMIN,),
    "GET /admin/buildings/<int:building_id>": (ADMIN,),
    "GET /admin/buildings/<int:building_id>/edit": (ADMIN,),
    "POST /admin/buildings/<int:building_id>/edit": (ADMIN,),
    "POST /admin/buildings/<int:building_id>/households": (ADMIN,),
    "POST /admin/buildings/<int:building_id>/void": (ADMIN,),
    "GET /admin/households/<int:household_id>": (ADMIN,),
    "POST /admin/households/<int:household_id>": (ADMIN,),
    "POST /admin/households/<int:household_id>/void": (ADMIN,),
    "POST /admin/households/<int:household_id>/residents": (ADMIN,),
    "POST /admin/residents/<int:resident_id>/void": (ADMIN,),
    "GET /admin/import": (ADMIN,),
    "GET /admin/import/<kind>/template.xlsx": (ADMIN,),
    "GET /admin/import/<kind>/export.xlsx": (ADMIN,),
    "POST /admin/import/<kind>": (ADMIN,),
    "GET /admin/import/<kind>/<token>": (ADMIN,),
    "POST /admin/import/<kind>/<token>": (ADMIN,),
    "GET /admin/import/users/accounts/<key>": (ADMIN,),
    "POST /admin/import/users/accounts/<key>": (ADMIN,),
    "GET /admin/places": (ADMIN,),
    "GET /admin/places/new": (ADMIN,),
    "POST /admin/places/new": (ADMIN,),
    "GET /admin/places/<int:place_id>": (ADMIN,),
    "POST /admin/places/<int:place_id>": (ADMIN,),
    "POST /admin/places/<int:place_id>/void": (ADMIN,),
    "GET /admin/zones": (ADMIN,),
    "GET /admin/zones/new": (ADMIN,),
    "POST /admin/zones/new": (ADMIN,),
    "GET /admin/zones/<int:zone_id>": (ADMIN,),
    "POST /admin/zones/<int:zone_id>": (ADMIN,),
    "POST /admin/zones/<int:zone_id>/void": (ADMIN,),
    "GET /admin/units": (ADMIN,),
    "GET /admin/units/new": (ADMIN,),
    "POST /admin/units/new": (ADMIN,),
    "GET /admin/units/<int:unit_id>": (ADMIN,),
    "POST /admin/units/<int:unit_id>": (ADMIN,),
    "POST /admin/units/<int:unit_id>/void": (ADMIN,),
    "GET /admin/users": (ADMIN,),
    "GET /admin/users/new": (ADMIN,),
    "POST /admin/users/new": (ADMIN,),
    "GET /admin/users/<int:user_id>": (ADMIN,),
    "POST /admin/users/<int:user_id>": (ADMIN,),
    "POST /admin/users/<int:user_id>/password": (ADMIN,),
    "GET /admin/tiers": (ADMIN,),
    "GET /admin/tiers/new": (ADMIN,),
    "POST /admin/tiers/new": (ADMIN,),
    "GET /admin/tiers/<int:tier_id>": (ADMIN,),
    "POST /admin/tiers/<int:tier_id>": (ADMIN,),
    "GET /admin/synonyms": (ADMIN,),
    "GET /admin/synonyms/new": (ADMIN,),
    "POST /admin/synonyms/new": (ADMIN,),
    "GET /admin/synonyms/<int:group_id>": (ADMIN,),
    "POST /admin/synonyms/<int:group_id>": (ADMIN,),
    "POST /admin/synonyms/<int:group_id>/void": (ADMIN,),
    "POST /notices/read": (SUPERVISOR, ASSISTANT),
    # Customer requests. The test ticket is in the assistant's zone.
    "GET /tickets/new": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "POST /tickets/new": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/similar": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/filters": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/residents": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/<int:ticket_id>/similar": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/cases": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/followups": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/cases.pdf": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/<int:ticket_id>": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/<int:ticket_id>.pdf": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/<int:ticket_id>/respond": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/respond": (SUPERVISOR, ASSISTANT),
    "GET /tickets/<int:ticket_id>/dispatch": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/dispatch": (SUPERVISOR, ASSISTANT),
    "GET /tickets/<int:ticket_id>/resolve": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/resolve": (SUPERVISOR, ASSISTANT),
    "GET /tickets/<int:ticket_id>/pause": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/pause": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/resume": (SUPERVISOR, ASSISTANT),
    "GET /tickets/<int:ticket_id>/escalate": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/escalate": (SUPERVISOR, ASSISTANT),
    "GET /tickets/<int:ticket_id>/followup": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/followup": (SUPERVISOR, ASSISTANT),
    "GET /tickets/<int:ticket_id>/case": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/case": (SUPERVISOR, ASSISTANT),
    "GET /tickets/<int:ticket_id>/supervise": (SUPERVISOR,),
    "POST /tickets/<int:ticket_id>/supervise": (SUPERVISOR,),
    "GET /tickets/<int:ticket_id>/close": (SUPERVISOR,),
    "POST /tickets/<int:ticket_id>/close": (SUPERVISOR,),
    "POST /tickets/<int:ticket_id>/void": (SUPERVISOR,),
    # Work orders. The test order went to the unit user's own unit.
    "GET /workorders": (SUPERVISOR, ASSISTANT, UNIT),
    "GET /workorders/<int:order_id>": (SUPERVISOR, ASSISTANT, UNIT),
    "GET /workorders/<int:order_id>.pdf": (SUPERVISOR, ASSISTANT, UNIT),
    "POST /workorders/<int:order_id>/accept": (UNIT,),
    "GET /workorders/<int:order_id>/report": (SUPERVISOR, ASSISTANT, UNIT),
    "POST /workorders/<int:order_id>/report": (SUPERVISOR, ASSISTANT, UNIT),
    "GET /workorders/<int:order_id>/inspect": (SUPERVISOR, ASSISTANT),
    "POST /workorders/<int:order_id>/inspect": (SUPERVISOR, ASSISTANT),
    "GET /workorders/<int:order_id>/cancel": (SUPERVISOR, ASSISTANT),
    "POST /workorders/<int:order_id>/cancel": (SUPERVISOR, ASSISTANT),
    # Patrols. The test checkpoint is in the assistant's zone and has a finding.
    "GET /patrols/checkpoints": (ADMIN, SUPERVISOR, ASSISTANT),
    "GET /patrols/checkpoints/new": (ADMIN, ASSISTANT),
    "POST /patrols/checkpoints/new": (ADMIN, ASSISTANT),
    "GET /patrols/checkpoints/<int:checkpoint_id>": (ADMIN, SUPERVISOR, ASSISTANT),
    "GET /patrols/checkpoints/<int:checkpoint_id>/edit": (ADMIN,),
    "POST /patrols/checkpoints/<int:checkpoint_id>/edit": (ADMIN,),
    "POST /patrols/checkpoints/<int:checkpoint_id>/void": (ADMIN,),
    "POST /patrols/checkpoints/<int:checkpoint_id>/sticker": (ADMIN,),
    "GET /patrols/checkpoints/<int:checkpoint_id>/check": (SUPERVISOR, ASSISTANT),
    "POST /patrols/checkpoints/<int:checkpoint_id>/check": (SUPERVISOR, ASSISTANT),
    "GET /c/<token>": (SUPERVISOR, ASSISTANT),
    "GET /patrols/offline/session": (SUPERVISOR, ASSISTANT),
    "POST /c/<token>": (SUPERVISOR, ASSISTANT),
    "GET /patrols/checks/<int:check_id>": (ADMIN, SUPERVISOR, ASSISTANT),
    "GET /patrols/findings": (SUPERVISOR, ASSISTANT),
    "GET /patrols/findings/<int:finding_id>": (ADMIN, SUPERVISOR, ASSISTANT),
    "GET /patrols/findings/<int:finding_id>/order": (SUPERVISOR, ASSISTANT),
    "POST /patrols/findings/<int:finding_id>/order": (SUPERVISOR, ASSISTANT),
    "GET /patrols/findings/<int:finding_id>/fix": (SUPERVISOR, ASSISTANT),
    "POST /patrols/findings/<int:finding_id>/fix": (SUPERVISOR, ASSISTANT),
    "GET /patrols/findings/<int:finding_id>/watch": (SUPERVISOR, ASSISTANT),
    "POST /patrols/findings/<int:finding_id>/watch": (SUPERVISOR, ASSISTANT),
    "GET /patrols/observations/new": (SUPERVISOR, ASSISTANT),
    "POST /patrols/observations/new": (SUPERVISOR, ASSISTANT),
    "GET /patrols/observations/<int:observation_id>": (ADMIN, SUPERVISOR, ASSISTANT),
    "POST /patrols/observations/<int:observation_id>": (SUPERVISOR, ASSISTANT),
    "GET /patrols/stickers.pdf": (ADMIN, SUPERVISOR, ASSISTANT),
    "GET /patrols/record.pdf": (SUPERVISOR, ASSISTANT),
    "GET /patrols/coverage": (SUPERVISOR,),
    "GET /patrols/coverage/<day>": (SUPERVISOR,),
    "GET /admin/patrol-rules": (ADMIN,),
    "POST /admin/patrol-rules": (ADMIN,),
    "GET /admin/renovation-terms": (ADMIN,),
    "POST /admin/renovation-terms": (ADMIN,),
    "GET /admin/checklists": (ADMIN,),
    "GET /admin/checklists/<int:checklist_id>": (ADMIN,),
    "POST /admin/checklists/<int:checklist_id>": (ADMIN,),
    # Renovations. The test renovation is in the assistant's zone, with a served notice and a referral.
    "GET /renovations": (SUPERVISOR, ASSISTANT),
    "GET /renovations/cases": (SUPERVISOR,),
    "GET /renovations/new": (SUPERVISOR, ASSISTANT),
    "POST /renovations/new": (SUPERVISOR, ASSISTANT),
    "GET /renovations/<int:renovation_id>": (SUPERVISOR, ASSISTANT),
    "GET /renovations/<int:renovation_id>/<any(start, pause, finish, accept, archive):action>": (SUPERVISOR, ASSISTANT),
    "POST /renovations/<int:renovation_id>/<any(start, pause, finish, accept, archive):action>": (SUPERVISOR, ASSISTANT),
    "GET /renovations/<int:renovation_id>/violations/new": (SUPERVISOR, ASSISTANT),
    "POST /renovations/<int:renovation_id>/violations/new": (SUPERVISOR, ASSISTANT),
    "GET /patrols/findings/<int:finding_id>/violation": (SUPERVISOR, ASSISTANT),
    "POST /patrols/findings/<int:finding_id>/violation": (SUPERVISOR, ASSISTANT),
    "GET /renovations/violations/<int:violation_id>": (SUPERVISOR, ASSISTANT),
    "GET /renovations/violations/<int:violation_id>/dissuade": (SUPERVISOR, ASSISTANT),
    "POST /renovations/violations/<int:violation_id>/dissuade": (SUPERVISOR, ASSISTANT),
    "GET /renovations/violations/<int:violation_id>/recheck": (SUPERVISOR, ASSISTANT),
    "POST /renovations/violations/<int:violation_id>/recheck": (SUPERVISOR, ASSISTANT),
    "GET /renovations/violations/<int:violation_id>/close": (SUPERVISOR, ASSISTANT),
    "POST /renovations/violations/<int:violation_id>/close": (SUPERVISOR, ASSISTANT),
    "GET /renovations/<int:renovation_id>/notices/new": (SUPERVISOR, ASSISTANT),
    "POST /renovations/<int:renovation_id>/notices/new": (SUPERVISOR, ASSISTANT),
    "GET /renovations/notices/<int:notice_id>": (SUPERVISOR, ASSISTANT),
    "POST /renovations/notices/<int:notice_id>": (SUPERVISOR, ASSISTANT),
    "POST /renovations/notices/<int:notice_id>/void": (SUPERVISOR, ASSISTANT),
    "GET /renovations/notices/<int:notice_id>.pdf": (SUPERVISOR, ASSISTANT),
    "GET /renovations/<int:renovation_id>/escalate": (SUPERVISOR, ASSISTANT),
    "POST /renovations/<int:renovation_id>/escalate": (SUPERVISOR, ASSISTANT),
    "GET /renovations/referrals/<int:referral_id>": (SUPERVISOR, ASSISTANT),
    "POST /renovations/referrals/<int:referral_id>": (SUPERVISOR, ASSISTANT),
    "GET /renovations/referrals/<int:referral_id>.pdf": (SUPERVISOR, ASSISTANT),
    # Shops. The test shop is in the assistant's zone, with a licence and an inspection.
    "GET /shops": (SUPERVISOR, ASSISTANT),
    "GET /shops/new": (SUPERVISOR, ASSISTANT),
    "POST /shops/new": (SUPERVISOR, ASSISTANT),
    "GET /shops/<int:shop_id>": (SUPERVISOR, ASSISTANT),
    "GET /shops/<int:shop_id>/edit": (SUPERVISOR, ASSISTANT),
    "POST /shops/<int:shop_id>/edit": (SUPERVISOR, ASSISTANT),
    "GET /shops/<int:shop_id>/licence": (SUPERVISOR, ASSISTANT),
    "POST /shops/<int:shop_id>/licence": (SUPERVISOR, ASSISTANT),
    "GET /shops/<int:shop_id>/urge": (SUPERVISOR, ASSISTANT),
    "POST /shops/<int:shop_id>/urge": (SUPERVISOR, ASSISTANT),
    "GET /shops/<int:shop_id>/communicate": (SUPERVISOR, ASSISTANT),
    "POST /shops/<int:shop_id>/communicate": (SUPERVISOR, ASSISTANT),
    "GET /shops/inspections/new": (SUPERVISOR, ASSISTANT),
    "POST /shops/inspections/new": (SUPERVISOR, ASSISTANT),
    "GET /shops/inspections/<int:inspection_id>": (SUPERVISOR, ASSISTANT),
    "GET /shops/register.pdf": (SUPERVISOR, ASSISTANT),
    # Customers. The test visit and need are at the household of the assistant's zone.
    "GET /customers/households/<int:household_id>": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /customers/households/<int:household_id>/profile": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /customers/households/<int:household_id>/residents": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "POST /customers/households/<int:household_id>/residents": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "POST /customers/households/<int:household_id>/profile": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /visits": (SUPERVISOR, ASSISTANT),
    "GET /visits/new": (SUPERVISOR, ASSISTANT),
    "POST /visits/new": (SUPERVISOR, ASSISTANT),
    "GET /visits/window": (SUPERVISOR, ASSISTANT),
    "GET /visits/<int:visit_id>": (SUPERVISOR, ASSISTANT),
    "GET /visits/list": (SUPERVISOR, ASSISTANT),
    "GET /needs": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /needs/new": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "POST /needs/new": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /needs/<int:need_id>": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "POST /needs/<int:need_id>": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /services": (SUPERVISOR, ASSISTANT),
    "GET /services/new": (SUPERVISOR, ASSISTANT),
    "POST /services/new": (SUPERVISOR, ASSISTANT),
    "GET /services/<int:service_id>": (SUPERVISOR, ASSISTANT),
    "GET /services/<int:service_id>/confirmation.pdf": (SUPERVISOR, ASSISTANT),
    "POST /services/<int:service_id>": (SUPERVISOR, ASSISTANT),
    "GET /meetings": (SUPERVISOR, ASSISTANT),
    "GET /meetings/new": (SUPERVISOR, ASSISTANT),
    "POST /meetings/new": (SUPERVISOR, ASSISTANT),
    "GET /meetings/<int:meeting_id>": (SUPERVISOR, ASSISTANT),
    "GET /meetings/<int:meeting_id>.pdf": (SUPERVISOR, ASSISTANT),
    "POST /meetings/actions/<int:action_id>/assign": (SUPERVISOR, ASSISTANT),
    "POST /meetings/actions/<int:action_id>/done": (SUPERVISOR, ASSISTANT),
    "GET /trends": (SUPERVISOR,),
    "GET /escalations": (SUPERVISOR,),
    "GET /escalations/<int:escalation_id>": (SUPERVISOR,),
    "POST /escalations/<int:escalation_id>": (SUPERVISOR,),
    "GET /admin/lateness": (ADMIN, SUPERVISOR),
    "POST /admin/lateness": (ADMIN, SUPERVISOR),
    "GET /summaries": (SUPERVISOR, ASSISTANT),
    "GET /summaries/<int:user_id>/<month>": (SUPERVISOR,),
    "POST /summaries/<int:user_id>/<month>": (SUPERVISOR,),
    "GET /summaries/<int:user_id>/<month>.pdf": (SUPERVISOR,),
    "GET /exports": (SUPERVISOR,),
    "POST /exports": (SUPERVISOR,),
    "GET /worklog": (SUPERVISOR, ASSISTANT),
    "GET /worklog/<int:user_id>/<day>": (SUPERVISOR,),
    "GET /worklog/<int:user_id>": (SUPERVISOR,),
    "POST /worklog/<int:user_id>/<day>": (),
    "GET /worklog/<int:user_id>/<day>.pdf": (SUPERVISOR,),
    "GET /evaluations": (SUPERVISOR, ASSISTANT),
    "GET /evaluations/staff/<int:user_id>": (SUPERVISOR,),
    "POST /evaluations/staff/<int:user_id>": (SUPERVISOR,),
    "POST /evaluations/open": (SUPERVISOR,),
    "GET /evaluations/<int:evaluation_id>": (SUPERVISOR, ASSISTANT),
    "POST /evaluations/<int:evaluation_id>": (SUPERVISOR,),
    "POST /evaluations/<int:evaluation_id>/comment": (ASSISTANT,),
    "POST /evaluations/<int:evaluation_id>/ask": (SUPERVISOR,),
    "GET /evaluations/reviews/<int:review_id>": (UNIT,),
    "POST /evaluations/reviews/<int:review_id>": (UNIT,),
    "GET /evaluations/<int:evaluation_id>.pdf": (SUPERVISOR, ASSISTANT),
    "GET /admin/evaluation-items": (ADMIN,),
    "POST /admin/evaluation-items": (ADMIN,),
    "GET /admin/visit-rules": (ADMIN,),
    "GET /admin/backups": (ADMIN,),
    "POST /admin/backups": (ADMIN,),
    "POST /admin/backups/now": (ADMIN,),
    "GET /admin/sessions": (ADMIN,),
    "POST /admin/sessions": (ADMIN,),
    "GET /admin/audit": (ADMIN,),
    "GET /admin/notify": (ADMIN,),
    "GET /admin/notify/robots/new": (ADMIN,),
    "POST /admin/notify/robots/new": (ADMIN,),
    "GET /admin/notify/robots/<int:robot_id>": (ADMIN,),
    "POST /admin/notify/robots/<int:robot_id>": (ADMIN,),
    "POST /admin/notify/robots/<int:robot_id>/stop": (ADMIN,),
    "POST /admin/notify/robots/<int:robot_id>/test": (ADMIN,),
    "GET /admin/outbox": (ADMIN,),
    "GET /me/notify": EVERYONE,
    "POST /me/notify": EVERYONE,
    "POST /me/notify/subscribe": EVERYONE,
    "POST /me/notify/unsubscribe": EVERYONE,
    "POST /admin/visit-rules": (ADMIN,),
    "GET /admin/services": (ADMIN,),
    "GET /admin/services/new": (ADMIN,),
    "POST /admin/services/new": (ADMIN,),
    "GET /admin/services/<int:item_id>": (ADMIN,),
    "POST /admin/services/<int:item_id>": (ADMIN,),
    "GET /patrols/findings/<int:finding_id>/shop-notice": (SUPERVISOR, ASSISTANT),
    "POST /patrols/findings/<int:finding_id>/shop-notice": (SUPERVISOR, ASSISTANT),
    "GET /shops/<int:shop_id>/notices/new": (SUPERVISOR, ASSISTANT),
    "POST /shops/<int:shop_id>/notices/new": (SUPERVISOR, ASSISTANT),
    "GET /shops/notices/<int:notice_id>": (SUPERVISOR, ASSISTANT),
    "POST /shops/notices/<int:notice_id>": (SUPERVISOR, ASSISTANT),
    "GET /shops/notices/<int:notice_id>/recheck": (SUPERVISOR, ASSISTANT),
    "POST /shops/notices/<int:notice_id>/recheck": (SUPERVISOR, ASSISTANT),
    "POST /shops/notices/<int:notice_id>/void": (SUPERVISOR, ASSISTANT),
    "GET /shops/notices/<int:notice_id>.pdf": (SUPERVISOR, ASSISTANT),
    # 住户自助: the residents' public pages, open to anyone with the poster or the link.
    "GET /report": ANYONE,
    "POST /report": ANYONE,
    "GET /report/<any(b, p):kind>/<int:record_id>": ANYONE,
    "POST /report/<any(b, p):kind>/<int:record_id>": ANYONE,
    "GET /s/<token>": ANYONE,
    "POST /s/<token>/nudge": ANYONE,
    "GET /s/<token>/rate": ANYONE,
    "POST /s/<token>/rate": ANYONE,
    "GET /s/<token>/photos/<int:photo_id>/<any(full, thumb):size>": ANYONE,
    # … and the staff's side.
    "GET /residents": STAFF,
    "GET /residents/posters.pdf": STAFF,
    "POST /residents/settings": (ADMIN,),
    "GET /tickets/<int:ticket_id>/slip.pdf": (SUPERVISOR, ASSISTANT, FRONTDESK),
    "GET /tickets/<int:ticket_id>/answer": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/answer": (SUPERVISOR, ASSISTANT),
    "POST /tickets/<int:ticket_id>/verify": (SUPERVISOR, FRONTDESK),
    "POST /tickets/<int:ticket_id>/outage": (SUPERVISOR, ASSISTANT),
    "GET /residents/outages/new": (SUPERVISOR,),
    "POST /residents/outages/new": (SUPERVISOR,),
    "GET /residents/outages/<int:outage_id>": STAFF,
    "GET /residents/outages/<int:outage_id>.pdf": STAFF,
    "GET /residents/outages/<int:outage_id>/end": (SUPERVISOR,),
    "POST /residents/outages/<int:outage_id>/end": (SUPERVISOR,),
    "POST /residents/outages/<int:outage_id>/callbacks": (SUPERVISOR, ASSISTANT),
}

PROTECTED = [key for key, allowed in ACCESS.items() if allowed is not ANYONE]

# The bottom tabs each role sees, left to right.
TABS = {
    ADMIN: ["今日", "设置", "我的"],
    SUPERVISOR: ["今日", "诉求", "巡视", "客户", "我的"],
    ASSISTANT: ["今日", "诉求", "巡视", "客户", "我的"],
    FRONTDESK: ["今日", "诉求", "客户", "我的"],
    UNIT: ["今日", "我的"],
}


@pytest.fixture(autouse=True)
def frozen(time_machine):
    time_machine.move_to(FROZEN, tick=False)


def route_keys(app):
    """'METHOD /rule' for every route the app serves, static files aside."""
    return {f"{method} {rule.rule}"
            for rule in app.url_map.iter_rules() if rule.endpoint != "static"
            for method in rule.methods - {"HEAD", "OPTIONS"}}


@pytest.fixture
def ids(app, people, unit):
    """Real records for every URL parameter: a building with households, a place with a photo, …"""
    admin = people[ADMIN]
    app.config["PUBLIC_URL"] = "https://kefu.example.com"  # the sticker sheet refuses to print without it
    app.config["SECURITY_CONTACT"] = "security@kefu.example.com"  # security.txt is 404 without one
    building = estate.create_building(admin, "3", "3号楼")
    estate.bulk_create_households(admin, building, 1, 1, 2, 2)
    place = estate.Place.create(name="3号楼地库", kind="地库", building=building)
    image = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(image, "PNG")
    photo = uploads.store(app.config["PHOTOS"], admin, image.getvalue())
    uploads.attach([photo], place)
    zone = estate.set_zone(admin, None, 0, "一区", "", [building.id], [people[ASSISTANT].id])
    colleague = users.create_user(admin, "zhuli9", "助理九", ASSISTANT, PASSWORD)
    home = estate.Household.select().first()
    resident = estate.add_resident(admin, home, "王先生", "13812345678", "业主")
    tier = tickets.Tier.get(tickets.Tier.name == "一般")
    ticket, _ = tickets.create(people[ASSISTANT], channel="现场", category="工程维修", tier=tier,
                               description="卫生间天花板漏水", household=home)
    ticket, order = tickets.dispatch(people[ASSISTANT], ticket, ticket.version, unit, "检修上层防水",
                                     FROZEN + datetime.timedelta(days=1))
    checklist = patrols.Checklist.get(patrols.Checklist.code == "facility")
    checkpoint = patrols.create_checkpoint(admin, kind="public", name="3号楼地库", zone=zone, checklist=checklist,
                                           unit=unit, place=place)
    answers = {item.id: ("ok", "") for item in checklist.live_items()}
    answers[next(iter(answers))] = ("fail", "地面积水")
    check, _ = patrols.record_check(people[ASSISTANT], checkpoint, "list", answers)
    observation = patrols.observe(people[ASSISTANT], zone, "地库入口排水沟堵塞", "3号楼地库入口")
    resident_photo = uploads.store(app.config["PHOTOS"], people[ASSISTANT], image.getvalue())
    uploads.attach([resident_photo], ticket)
    outage = residents.post_outage(people[SUPERVISOR], kind="停水", title="水箱清洗", detail="", advice="",
                                   starts_at=FROZEN.replace(tzinfo=None),
                                   until=FROZEN.replace(tzinfo=None) + datetime.timedelta(hours=4),
                                   buildings=[building])
    link = {"token": ticket.link_token}
    return {**{f"/s/<token>{rest}": link for rest in ("", "/nudge", "/rate")},
            "/s/<token>/photos/<int:photo_id>/<any(full, thumb):size>": {**link, "photo_id": resident_photo.id},
            "kind": "b", "record_id": building.id, "outage_id": outage.id,
            **{"building_id": building.id, "household_id": home.id, "place_id": place.id, "zone_id": zone.id,
            "unit_id": unit.id, "user_id": colleague.id, "photo_id": photo.id, "size": "thumb",
            "tier_id": tier.id, "group_id": words.Synonym.live().first().id, "ticket_id": ticket.id, "order_id": order.id, "resident_id": resident.id,
            "robot_id": channels.add_robot(admin, name="一区群", platform="wecom", url="https://example.com/hook?key=k").id,
            "checkpoint_id": checkpoint.id, "check_id": check.id, "finding_id": check.findings.get().id,
            "observation_id": observation.id, "checklist_id": checklist.id, "token": checkpoint.token,
            "key": imports.apply(admin, "users", "人员.csv", "姓名,用户名,角色\r\n导入甲,import1,前台\r\n".encode()).batch,
            **_renovation_ids(people[ASSISTANT], home), **_customer_ids(people[ASSISTANT], home)}}


def _customer_ids(assistant, home):
    visit, _ = customers.record_visit(assistant, at=FROZEN - datetime.timedelta(hours=1), form="上门", households=[home],
                                      opinions=[("服务需求", "想请人每周上门打扫一次", None)])
    need, _ = customers.record_need(assistant, home, "每周上门保洁", "personal", "家政保洁", "拜访",
                                    opinion=visit.opinions.get())
    item = services.save_item(assistant, name="上门开锁", unit=users.Unit.get(), charged=True, fee="50元/次")
    order, _ = services.create_order(assistant, home, item, "开锁", charged=True, fee_told="50元/次", need=need)
    evaluations.set_start(assistant, assistant, FROZEN.date() - datetime.timedelta(days=75))
    evaluation = evaluations.open_evaluation(assistant, assistant, FROZEN.date() - datetime.timedelta(days=75))
    unit_person = users.User.get(users.User.role == "unit")
    review = evaluations.ask_unit(assistant, evaluation, unit_person, list(evaluations.EvaluationItem.ordered())[-1:])
    # Signed off: an assistant opens their own evaluation only then.
    scores = {item.id: (90, "") for item in evaluations.EvaluationItem.ordered()}
    supervisor = users.User.get(users.User.role == "supervisor")
    evaluation = evaluations.save_scores(supervisor, evaluation, evaluation.version, scores)
    evaluation = evaluations.sign_off(supervisor, evaluation, evaluation.version)
    meeting = meetings.record_meeting(assistant, day=FROZEN.date(), kind="部门例会", topic="周例会",
                                      attendees=[assistant], actions=["清理3号楼地库杂物"])
    return {"visit_id": visit.id, "need_id": need.id, "item_id": item.id, "service_id": order.id,
            "evaluation_id": evaluation.id, "review_id": review.id, "day": FROZEN.date().isoformat(), "month": "2026-11",
            "meeting_id": meeting.id, "action_id": meeting.actions.get().id}


def _renovation_ids(assistant, home):
    """A started renovation with a violation, a served notice and a referral."""
    renovation, _ = renovations.register(assistant, home, owner_name="王先生", planned_start=FROZEN.date(),
                                         planned_end=FROZEN.date() + datetime.timedelta(days=30))
    renovation = renovations.start(assistant, renovation, renovation.version)
    violation, _ = renovations.record_violation(assistant, renovation, "超时施工", "午休时间电钻施工")
    notice = renovations.issue_notice(assistant, renovation, [violation], "立即停止",
                                      FROZEN.date() + datetime.timedelta(days=3))
    renovations.serve_notice(assistant, notice, served_to="王先生")
    referral = renovations.escalate(assistant, renovation, "居委会", "函", [renovations.Violation.get_by_id(violation.id)])
    # The test finding is at the renovation, so it can also be recorded as a violation.
    checkpoint = patrols.Checkpoint.get_by_id(renovation.checkpoint_id)
    answers = {item.id: ("ok", "") for item in checkpoint.checklist.live_items()}
    answers[next(iter(answers))] = ("fail", "午休时间施工")
    check, _ = patrols.record_check(assistant, checkpoint, "scan", answers)
    shop, _ = shops.register(assistant, name="好邻居便利店", unit_no="S-01", business_type="零售",
                             operator_name="陈老板", zone=renovation.zone)
    shops.record_licence(assistant, shop, "91110108MA01KP2T6Y", "好邻居便利店")
    inspection = shops.record_inspection(assistant, "城管", FROZEN.date(), [shop], "门前堆放纸箱")
    # A failed shop patrol, and a notice served on the shop.
    shop_checkpoint = patrols.Checkpoint.get_by_id(shop.checkpoint_id)
    answers = {item.id: ("ok", "") for item in shop_checkpoint.checklist.live_items()}
    answers[next(iter(answers))] = ("fail", "灭火器过期")
    shop_check, _ = patrols.record_check(assistant, shop_checkpoint, "scan", answers)
    shop_notice, _ = shops.issue_notice(assistant, shop, "更换灭火器", FROZEN.date() + datetime.timedelta(days=3),
                                        problem="灭火器过期")
    shops.serve_notice(assistant, shop_notice, served_to="陈老板")
    assert shop_notice.id == notice.id  # both notice kinds are reached through notice_id
    return {"/patrols/findings/<int:finding_id>/shop-notice": {"finding_id": shop_check.findings.get().id},
            "renovation_id": renovation.id, "violation_id": violation.id, "notice_id": notice.id,
            "referral_id": referral.id, "action": "pause", "finding_id": check.findings.get().id,
            "escalation_id": escalations.escalated(assistant, violation, "violation.follow", "违规", "测试").id,
            "shop_id": shop.id, "inspection_id": inspection.id,
            **{f"/admin/import/<kind>{rest}": {"kind": "residents", "token": "t" * 24}
               for rest in ("", "/template.xlsx", "/export.xlsx", "/<token>")},
            "/setup/<step>": {"step": "zones"}}


@pytest.fixture
def clients(app, people):
    """One signed-in test client per role, and one signed-out."""
    made = {SIGNED_OUT: app.test_client()}
    for role in EVERYONE:
        made[role] = app.test_client()
        response = made[role].post("/login", data={"username": role, "password": PASSWORD})
        assert response.status_code == 303
    return made


def url(rule, ids):
    """The rule with its parameters filled by real ids (a rule may have ids of its own)."""
    values = {**ids, **ids.get(rule, {})}
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def call(client, key, ids, **kw):
    method, rule = key.split(" ", 1)
    response = client.open(url(rule, ids), method=method, **kw)
    response.get_data()
    response.close()  # photos and PDFs are streamed from files
    return response


def outcome(response):
    """What the user gets, in one word."""
    if response.status_code == 403:
        return "forbidden" if "无权访问" in text(response) else "403 without the 无权访问 page"
    if response.status_code in (301, 302, 303) and urlsplit(response.location).path == "/login":
        return "login"
    if response.status_code < 400 or response.status_code == 422:
        return "ok"
    return f"HTTP {response.status_code}"


def expected_for(allowed, who):
    if allowed is ANYONE:
        return "open"
    if who is SIGNED_OUT:
        return "login"
    return "ok" if who in allowed else "forbidden"


def test_every_route_is_in_the_table(app):
    routes_without_a_row = sorted(route_keys(app) - set(ACCESS))
    assert routes_without_a_row == [], "decide who may use these and add them to ACCESS"


def test_every_row_is_a_route(app):
    assert sorted(set(ACCESS) - route_keys(app)) == []


@pytest.mark.parametrize("key", list(ACCESS))
def test_access(key, clients, ids):
    allowed = ACCESS[key]
    observed, expected = {}, {}
    # Signed-out first: a signed-in client posting to /logout would sign itself out.
    for who in [SIGNED_OUT, *EVERYONE]:
        result = outcome(call(clients[who], key, ids))
        if allowed is ANYONE:
            result = "open" if result in ("ok", "login") else result
        observed[who or "signed out"] = result
        expected[who or "signed out"] = expected_for(allowed, who)
    assert observed == expected


def test_signed_out_htmx_request_is_sent_to_login(client, ids):
    """Every protected route, on one set of records: a signed-out request writes nothing, so the
    routes need no fresh estate each (one each took half a minute of the suite)."""
    wrong = {}
    for key in PROTECTED:
        response = call(client, key, ids, headers={"HX-Request": "true"})
        got = (response.status_code, urlsplit(response.headers.get("HX-Redirect", "")).path, response.get_data())
        if got != (401, "/login", b""):
            wrong[key] = got
    assert wrong == {}


def test_signed_out_page_remembers_where_it_was_going(client, ids):
    response = client.get("/admin/buildings?q=3")
    assert response.status_code == 302
    assert response.location == "/login?next=/admin/buildings?q%3D3"


def test_forbidden_page_is_in_chinese_with_a_way_home(client, login):
    login(UNIT)
    response = client.get("/admin/buildings")
    assert response.status_code == 403
    page = text(response)
    assert "无权访问" in page and "没有查看或操作此页面的权限" in page
    assert 'href="/"' in response.get_data(as_text=True)


def tabs(response):
    nav = re.search(r'<nav class="tabbar".*?</nav>', response.get_data(as_text=True), re.S)
    return re.findall(r"<span>([^<]+)</span>", nav.group(0)) if nav else []


@pytest.mark.parametrize("role", EVERYONE)
def test_nav_tabs_per_role(role, client, login):
    login(role)
    assert tabs(client.get("/")) == TABS[role]


def test_current_tab_is_marked(client, login):
    login(ADMIN)
    page = client.get("/admin/buildings").get_data(as_text=True)
    assert re.search(r'class="tab active" aria-current="page">.*?<span>设置</span>', page, re.S)


def test_login_page_has_no_tabs(client):
    assert tabs(client.get("/login")) == []


# Records: kefu/access.py's table, read back per kind of record

def records_of(ids, assistant):
    """One record of every kind the access rules cover, all in the assistant's zone."""
    from kefu import access
    from kefu import summaries

    visit = customers.Visit.get_by_id(ids["visit_id"])
    return {
        "Ticket": tickets.Ticket.get_by_id(ids["ticket_id"]),
        "WorkOrder": tickets.workorders.WorkOrder.get_by_id(ids["order_id"]),
        "ServiceOrder": services.ServiceOrder.get_by_id(ids["service_id"]),
        "Household": estate.Household.get_by_id(ids["household_id"]),
        "Need": customers.Need.get_by_id(ids["need_id"]),
        "Visit": visit,
        "Opinion": visit.opinions.get(),
        "Checkpoint": patrols.Checkpoint.get_by_id(ids["checkpoint_id"]),
        "Check": patrols.Check.get_by_id(ids["check_id"]),
        "Finding": patrols.Finding.get_by_id(ids["finding_id"]),
        "Observation": patrols.Observation.get_by_id(ids["observation_id"]),
        "Renovation": renovations.Renovation.get_by_id(ids["renovation_id"]),
        "Violation": renovations.Violation.get_by_id(ids["violation_id"]),
        "RectificationNotice": renovations.RectificationNotice.get_by_id(ids["notice_id"]),
        "Referral": renovations.Referral.get_by_id(ids["referral_id"]),
        "Shop": shops.Shop.get_by_id(ids["shop_id"]),
        "ShopNotice": shops.ShopNotice.get_by_id(ids["notice_id"]),
        "Licence": shops.Licence.get(),
        "Inspection": shops.Inspection.get_by_id(ids["inspection_id"]),
        "Evaluation": evaluations.Evaluation.get_by_id(ids["evaluation_id"]),
        "UnitReview": evaluations.UnitReview.get_by_id(ids["review_id"]),
        "MonthlySummary": summaries.MonthlySummary(user=assistant, month=FROZEN.date().replace(day=1)),
        "WorkRecord": access.WorkRecord(assistant),
        "Meeting": meetings.Meeting.get_by_id(ids["meeting_id"]),
    }


def test_every_kind_the_rules_cover_is_checked_here(ids, people):
    from kefu import access

    assert sorted(records_of(ids, people[ASSISTANT])) == sorted(access.RULES)


def rights(user, records):
    """{kind: "change" | "see" | None} for one user."""
    from kefu import access

    return {kind: "change" if access.may_change(user, record, kind) else "see"
            if access.may_see(user, record, kind) else None for kind, record in records.items()}


def test_no_one_may_change_what_they_may_not_see(ids, people):
    from kefu import access

    records = records_of(ids, people[ASSISTANT])
    for user in [*people.values(), users.User.get(users.User.username == "zhuli9")]:
        for kind, record in records.items():
            assert access.may_see(user, record, kind) or not access.may_change(user, record, kind), (user.role, kind)


def test_another_zones_assistant_reads_a_households_history_and_changes_nothing_of_the_zone(ids, people):
    records = records_of(ids, people[ASSISTANT])
    own = rights(people[ASSISTANT], records)
    other = rights(users.User.get(users.User.username == "zhuli9"), records)  # an assistant of no zone here
    readable = {"Ticket", "Household", "Need", "Visit", "Opinion"}  # 举一反三, a household's history
    estate_wide = {"Inspection", "Meeting"}
    assert {kind for kind, right in other.items() if right == "see"} == readable
    assert {kind for kind, right in other.items() if right == "change"} == estate_wide
    assert {kind for kind, right in own.items() if right != "change"} == {"UnitReview"}
    assert own["UnitReview"] is None


@pytest.mark.parametrize("role, sees, changes", [
    (FRONTDESK, {"Ticket"}, {"Household", "Need"}),
    (UNIT, set(), {"WorkOrder", "UnitReview"}),
    (ADMIN, {"Checkpoint", "Check", "Finding", "Observation"}, {"Household"}),
])
def test_what_each_other_role_may_see_and_change(ids, people, role, sees, changes):
    got = rights(people[role], records_of(ids, people[ASSISTANT]))
    assert {kind for kind, right in got.items() if right == "see"} == sees
    assert {kind for kind, right in got.items() if right == "change"} == changes


def test_the_supervisor_sees_and_changes_all_but_a_units_review_and_the_work_record(ids, people):
    got = rights(people[SUPERVISOR], records_of(ids, people[ASSISTANT]))
    assert {kind for kind, right in got.items() if right != "change"} == {"UnitReview", "WorkRecord"}
    assert got["WorkRecord"] == "see" and got["UnitReview"] is None
