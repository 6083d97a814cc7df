"""Every state-changing staff route writes its audit entry: the table below is the audit contract.

``CASES`` names, for each POST/PUT/PATCH/DELETE route under /staff, the audit action it records, and
does it once as a staff member allowed to. ``EXEMPT`` lists, with the reason, routes that record
nothing. A route added without a row fails ``test_every_state_changing_staff_route_has_a_row``; a
route whose action writes no entry, or not the actor or before → after, fails its case.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from litestar.routes import HTTPRoute

from booking.clock import FixedClock
from booking.partner_api_keys import create_api_key
from booking.referrals import create_referral
from booking.service import book_place, cancel_booking
from booking.staff_accounts import request_password_reset, staff_link_token
from booking.states import BookingSource
from booking.tables import (
    Activity,
    AuditEntry,
    Booking,
    Partner,
    PartnerApiKey,
    Referral,
    Room,
    Session,
    StaffLink,
    StaffMember,
    Venue,
    WaitlistEntry,
)
from booking.waitlist import join_waitlist
from tests.builders import make_activity, make_room, make_session, make_venue, resident, unique
from tests.referral_support import make_link_worker, make_link_worker_account, make_partner, referral_request
from tests.web.conftest import web_settings
from tests.web.staff.support import PASSWORD, make_staff, post_form, sign_in, staff_csrf
from tests.web.staff.test_activities_and_partners import activity_data
from tests.web.staff.test_programme import form as session_form
from tests.web.staff.test_programme import in_days
from tests.web.staff.test_referrals import valid_form as referral_form
from tests.web.staff.test_venues_and_rooms import venue_data
from web.app import create_app

CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
NEW_PASSWORD = "a fresh and long password"
ANY = object()  #: in ``Expected.before``/``after``: the field must be there, with any value

#: (method, path) -> why it records nothing. Keep this short: each line is a hole in the log.
EXEMPT: dict[tuple[str, str], str] = {
    ("POST", "/staff/password-reset"): (
        "Anonymous: no one is signed in, and the page gives the same answer whether or not the address has an "
        "account, so there is no actor to record. The change it can lead to is audited at POST /staff/password/{token}."
    ),
}


@dataclass(frozen=True)
class Expected:
    """The entry a route should have written. ``before``/``after``: fields that must be there with these values
    (None: the entry has no before, or no after, at all)."""

    actor_id: int
    subject_type: str
    subject_id: int
    before: dict | None = None
    after: dict | None = None


@dataclass
class World:
    client: httpx.AsyncClient
    venue: Venue
    admin: StaffMember
    secret_key: str


Perform = Callable[[World], Awaitable[Expected]]


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    action: str
    perform: Perform

    @property
    def route(self) -> tuple[str, str]:
        return self.method, self.path


def _id_from(response: httpx.Response, after: str) -> int:
    assert response.status_code == 303, response.text
    return int(response.headers["location"].split(after, 1)[1].split("/")[0].split("?")[0])


async def _as_admin(world: World) -> None:
    await sign_in(world.client, world.admin)


async def _post(
    world: World, url: str, data: dict | None = None, *, page: str = "/staff/account", expect: int = 303
) -> httpx.Response:
    response = await post_form(world.client, url, data, page=page)
    assert response.status_code == expect, response.text
    return response


async def _session_here(world: World, *, capacity: int = 5, starts_in: timedelta = timedelta(days=3)) -> Session:
    return await make_session(capacity, room=await make_room(world.venue, capacity=20), starts_in=starts_in)


# --- Accounts (web/staff/auth.py) -------------------------------------------------------------------


async def sign_in_(world: World) -> Expected:
    member = await make_staff("volunteer", [world.venue])
    await sign_in(world.client, member)
    return Expected(member.id, "staff_member", member.id)


async def sign_out(world: World) -> Expected:
    await _as_admin(world)
    response = await _post(world, "/staff/sign-out")
    assert response.headers["location"].startswith("/staff/sign-in")
    return Expected(world.admin.id, "staff_member", world.admin.id)


async def set_password_from_link(world: World) -> Expected:
    member = await make_staff("volunteer", [world.venue])
    assert await request_password_reset(member.email, now=datetime.now(UTC))
    link = await StaffLink.select(StaffLink.id).where(StaffLink.staff_member == member.id).first()
    path = f"/staff/password/{await staff_link_token(world.secret_key, link['id'])}"
    token = await staff_csrf(world.client, path)
    response = await world.client.post(
        path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "_csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return Expected(member.id, "staff_member", member.id)


async def change_own_password(world: World) -> Expected:
    await _as_admin(world)
    await _post(
        world, "/staff/account/password", {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    return Expected(world.admin.id, "staff_member", world.admin.id)


# --- Staff accounts (web/staff/people.py) -----------------------------------------------------------


async def add_account(world: World) -> Expected:
    await _as_admin(world)
    email = f"{unique('new')}@staff.example.org"
    response = await _post(
        world,
        "/staff/people/new",
        {"email": email, "name": "New Person", "role": "volunteer", "venues": [str(world.venue.id)]},
        page="/staff/people/new",
    )
    staff_id = _id_from(response, "/staff/people/")
    return Expected(world.admin.id, "staff_member", staff_id, after={"email": email, "name": "New Person"})


async def change_account(world: World) -> Expected:
    member = await make_staff("volunteer", [world.venue], name="Old Name")
    await _as_admin(world)
    await _post(
        world,
        f"/staff/people/{member.id}/edit",
        {"name": "New Name", "role": "volunteer", "venues": [str(world.venue.id)]},
        page="/staff/people",
    )
    return Expected(world.admin.id, "staff_member", member.id, before={"name": "Old Name"}, after={"name": "New Name"})


async def deactivate_account(world: World) -> Expected:
    member = await make_staff("volunteer", [world.venue])
    await _as_admin(world)
    await _post(world, f"/staff/people/{member.id}/deactivate", page="/staff/people")
    return Expected(world.admin.id, "staff_member", member.id, before={"active": True}, after={"active": False})


async def reactivate_account(world: World) -> Expected:
    member = await make_staff("volunteer", [world.venue], active=False)
    await _as_admin(world)
    await _post(world, f"/staff/people/{member.id}/reactivate", page="/staff/people")
    return Expected(world.admin.id, "staff_member", member.id, before={"active": False}, after={"active": True})


async def invite_again(world: World) -> Expected:
    member = await make_staff("volunteer", [world.venue])
    await _as_admin(world)
    await _post(world, f"/staff/people/{member.id}/invite-again", page="/staff/people")
    return Expected(world.admin.id, "staff_member", member.id)


async def unlock_account(world: World) -> Expected:
    member = await make_staff("volunteer", [world.venue])
    locked_until = datetime.now(UTC) + timedelta(minutes=10)
    await StaffMember.update({StaffMember.locked_until: locked_until}).where(StaffMember.id == member.id)
    await _as_admin(world)
    await _post(world, f"/staff/people/{member.id}/unlock", page="/staff/people")
    return Expected(
        world.admin.id,
        "staff_member",
        member.id,
        before={"locked_until": locked_until.isoformat()},
        after={"locked_until": None},
    )


# --- Venues and rooms (web/staff/venues.py) ---------------------------------------------------------


async def add_venue(world: World) -> Expected:
    await _as_admin(world)
    data = venue_data()
    response = await _post(world, "/staff/venues/new", data, page="/staff/venues/new")
    return Expected(world.admin.id, "venue", _id_from(response, "/staff/venues/"), after={"name": data["name"]})


async def change_venue(world: World) -> Expected:
    venue = await make_venue(name=unique("Old Library"))
    await _as_admin(world)
    data = venue_data(slug=venue.slug)
    await _post(world, f"/staff/venues/{venue.id}/edit", data, page="/staff/venues")
    return Expected(world.admin.id, "venue", venue.id, before={"name": venue.name}, after={"name": data["name"]})


async def archive_venue(world: World) -> Expected:
    venue = await make_venue()
    await _as_admin(world)
    await _post(world, f"/staff/venues/{venue.id}/archive", page="/staff/venues")
    return Expected(world.admin.id, "venue", venue.id, before={"archived": False}, after={"archived": True})


async def unarchive_venue(world: World) -> Expected:
    venue = await make_venue()
    await Venue.update({Venue.archived: True}).where(Venue.id == venue.id)
    await _as_admin(world)
    await _post(world, f"/staff/venues/{venue.id}/unarchive", page="/staff/venues")
    return Expected(world.admin.id, "venue", venue.id, before={"archived": True}, after={"archived": False})


async def add_room(world: World) -> Expected:
    await _as_admin(world)
    name = unique("Garden room")
    response = await _post(
        world, f"/staff/venues/{world.venue.id}/rooms/new", {"name": name, "capacity": "18"}, page="/staff/venues"
    )
    room = await Room.select(Room.id).where(Room.name == name).first()
    assert room is not None, response.headers
    return Expected(world.admin.id, "room", room["id"], after={"name": name, "capacity": 18})


async def change_room(world: World) -> Expected:
    room = await make_room(world.venue, capacity=10, name="Small room")
    await _as_admin(world)
    await _post(world, f"/staff/rooms/{room.id}/edit", {"name": "Main hall", "capacity": "10"}, page="/staff/venues")
    return Expected(world.admin.id, "room", room.id, before={"name": "Small room"}, after={"name": "Main hall"})


async def archive_room(world: World) -> Expected:
    room = await make_room(world.venue)
    await _as_admin(world)
    await _post(world, f"/staff/rooms/{room.id}/archive", page="/staff/venues")
    return Expected(world.admin.id, "room", room.id, before={"archived": False}, after={"archived": True})


async def unarchive_room(world: World) -> Expected:
    room = await make_room(world.venue)
    await Room.update({Room.archived: True}).where(Room.id == room.id)
    await _as_admin(world)
    await _post(world, f"/staff/rooms/{room.id}/unarchive", page="/staff/venues")
    return Expected(world.admin.id, "room", room.id, before={"archived": True}, after={"archived": False})


# --- Activities and partners (web/staff/activities.py, partners.py) ---------------------------------


async def add_activity(world: World) -> Expected:
    await _as_admin(world)
    data = activity_data()
    await _post(world, "/staff/activities/new", data, page="/staff/activities/new")
    activity = await Activity.select(Activity.id).where(Activity.title == data["title"]).first()
    return Expected(world.admin.id, "activity", activity["id"], after={"title": data["title"]})


async def change_activity(world: World) -> Expected:
    activity = await make_activity(title="Chess club")
    await _as_admin(world)
    data = activity_data(title="Chess and draughts", slug=activity.slug, partner=str(activity.partner))
    await _post(world, f"/staff/activities/{activity.id}/edit", data, page="/staff/activities")
    return Expected(
        world.admin.id, "activity", activity.id, before={"title": "Chess club"}, after={"title": "Chess and draughts"}
    )


async def archive_activity(world: World) -> Expected:
    activity = await make_activity()
    await _as_admin(world)
    await _post(world, f"/staff/activities/{activity.id}/archive", page="/staff/activities")
    return Expected(world.admin.id, "activity", activity.id, before={"archived": False}, after={"archived": True})


async def unarchive_activity(world: World) -> Expected:
    activity = await make_activity()
    await Activity.update({Activity.archived: True}).where(Activity.id == activity.id)
    await _as_admin(world)
    await _post(world, f"/staff/activities/{activity.id}/unarchive", page="/staff/activities")
    return Expected(world.admin.id, "activity", activity.id, before={"archived": True}, after={"archived": False})


async def add_partner(world: World) -> Expected:
    await _as_admin(world)
    name = unique("Age UK")
    await _post(world, "/staff/partners/new", {"name": name}, page="/staff/partners/new")
    partner = await Partner.select(Partner.id).where(Partner.name == name).first()
    return Expected(world.admin.id, "partner", partner["id"], after={"name": name})


async def change_partner(world: World) -> Expected:
    partner = await make_partner("Old Trust " + unique("p"))
    await _as_admin(world)
    name = unique("New Trust")
    await _post(world, f"/staff/partners/{partner.id}/edit", {"name": name}, page="/staff/partners")
    return Expected(world.admin.id, "partner", partner.id, before={"name": partner.name}, after={"name": name})


async def archive_partner(world: World) -> Expected:
    partner = await make_partner()
    await _as_admin(world)
    await _post(world, f"/staff/partners/{partner.id}/archive", page="/staff/partners")
    return Expected(world.admin.id, "partner", partner.id, before={"archived": False}, after={"archived": True})


async def unarchive_partner(world: World) -> Expected:
    partner = await make_partner()
    await Partner.update({Partner.archived: True}).where(Partner.id == partner.id)
    await _as_admin(world)
    await _post(world, f"/staff/partners/{partner.id}/unarchive", page="/staff/partners")
    return Expected(world.admin.id, "partner", partner.id, before={"archived": True}, after={"archived": False})


# --- The programme (web/staff/programme.py, sessions.py) --------------------------------------------


async def schedule_one_off(world: World) -> Expected:
    room, activity = await make_room(world.venue, capacity=20), await make_activity()
    await _as_admin(world)
    page = f"/staff/venues/{world.venue.id}/sessions/new"
    response = await _post(world, page, session_form(activity, room), page=page)
    return Expected(
        world.admin.id,
        "session",
        _id_from(response, "/staff/sessions/"),
        after={"activity_id": activity.id, "room_id": room.id, "capacity": 8},
    )


async def schedule_series(world: World) -> Expected:
    room, activity = await make_room(world.venue, capacity=20), await make_activity()
    await _as_admin(world)
    page = f"/staff/venues/{world.venue.id}/series/new"
    response = await _post(world, page, session_form(activity, room, frequency="weekly", count="3"), page=page)
    return Expected(world.admin.id, "series", _id_from(response, "/staff/series/"), after={"sessions": 3})


async def move_session(world: World) -> Expected:
    session = await _session_here(world)
    other_room = await make_room(world.venue, capacity=20, name="Hall")
    await _as_admin(world)
    edit = f"/staff/sessions/{session.id}/edit"
    await _post(
        world,
        edit,
        {
            "room_id": str(other_room.id),
            "date": in_days(6),
            "start": "11:00",
            "end": "12:30",
            "capacity": str(session.capacity),
            "setup_minutes": "0",
            "cleardown_minutes": "0",
        },
        page=edit,
    )
    return Expected(world.admin.id, "session", session.id, before={"room": session.room}, after={"room": other_room.id})


async def change_places(world: World) -> Expected:
    session = await _session_here(world, capacity=5)
    await _as_admin(world)
    edit = f"/staff/sessions/{session.id}/edit"
    page = (await world.client.get(edit)).text
    assert 'name="capacity"' in page
    row = await Session.select(Session.starts_at, Session.ends_at).where(Session.id == session.id).first()
    zone = world.venue.time_zone
    start, end = row["starts_at"].astimezone(ZoneInfo(zone)), row["ends_at"].astimezone(ZoneInfo(zone))
    await _post(
        world,
        edit,
        {
            "room_id": str(session.room),
            "date": start.date().isoformat(),
            "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}",
            "capacity": "9",
            "setup_minutes": "0",
            "cleardown_minutes": "0",
        },
        page=edit,
    )
    return Expected(world.admin.id, "session", session.id, before={"capacity": 5}, after={"capacity": 9})


async def move_following(world: World) -> Expected:
    room, activity = await make_room(world.venue, capacity=20), await make_activity()
    await _as_admin(world)
    page = f"/staff/venues/{world.venue.id}/series/new"
    created = await _post(world, page, session_form(activity, room, frequency="fortnightly", count="2"), page=page)
    series_id = _id_from(created, "/staff/series/")
    first = await Session.select(Session.id).where(Session.series == series_id).order_by(Session.starts_at).first()
    edit = f"/staff/sessions/{first['id']}/edit"
    await _post(
        world,
        edit,
        {
            "date": in_days(10),
            "start": "18:00",
            "end": "19:00",
            "room_id": str(room.id),
            "capacity": "8",
            "scope": "following",
        },
        page=edit,
    )
    return Expected(world.admin.id, "session", first["id"], before={"starts_at": ANY}, after={"starts_at": ANY})


async def cancel_a_session(world: World) -> Expected:
    session = await _session_here(world)
    await _as_admin(world)
    cancel = f"/staff/sessions/{session.id}/cancel"
    await _post(world, cancel, {"message": "Sorry, the room flooded."}, page=cancel)
    return Expected(
        world.admin.id,
        "session",
        session.id,
        before={"status": "scheduled"},
        after={"status": "cancelled", "message": "Sorry, the room flooded."},
    )


# --- The register (web/staff/register.py) -----------------------------------------------------------


async def mark_attendance(world: World) -> Expected:
    session = await _session_here(world, starts_in=timedelta(minutes=30))
    booking = await book_place(session.id, resident(unique("ada")), 1, source=BookingSource.PHONE)
    await _as_admin(world)
    register = f"/staff/sessions/{session.id}/register"
    await _post(world, f"/staff/bookings/{booking.booking_id}/attendance", {"attendance": "attended"}, page=register)
    return Expected(
        world.admin.id,
        "booking",
        booking.booking_id,
        before={"attendance": "unmarked"},
        after={"attendance": "attended"},
    )


async def cancel_for_someone(world: World) -> Expected:
    session = await _session_here(world)
    booking = await book_place(session.id, resident(unique("ada")), 1, source=BookingSource.PHONE)
    await _as_admin(world)
    url = f"/staff/bookings/{booking.booking_id}/cancel"
    await _post(world, url, {"told_us": "phone", "reason": "Poorly"}, page=url)
    return Expected(
        world.admin.id,
        "booking",
        booking.booking_id,
        before={"status": "confirmed"},
        after={"status": "cancelled", "asked": "phone", "reason": "Poorly"},
    )


async def add_walk_in(world: World) -> Expected:
    session = await _session_here(world, starts_in=timedelta(minutes=-5))
    await _as_admin(world)
    url = f"/staff/sessions/{session.id}/walk-in"
    await _post(world, url, {"name": "Grace Hopper", "party_size": "2"}, page=url)
    booking = await _only_booking(session.id)
    return Expected(world.admin.id, "booking", booking, after={"party_size": 2, "source": "walk_in"})


async def book_on_behalf(world: World) -> Expected:
    session = await _session_here(world)
    await _as_admin(world)
    url = f"/staff/sessions/{session.id}/book"
    response = await _post(world, url, _booking_answers(), page=url)
    return Expected(world.admin.id, "booking", _id_from(response, "/staff/bookings/"), after={"party_size": 2})


async def waitlist_on_behalf(world: World) -> Expected:
    session = await _session_here(world, capacity=1)
    await book_place(session.id, resident(unique("first")), 1)
    await _as_admin(world)
    url = f"/staff/sessions/{session.id}/book"
    await _post(world, url, {**_booking_answers(), "action": "waitlist"}, page=url)
    entry = await WaitlistEntry.select(WaitlistEntry.id).where(WaitlistEntry.session == session.id).first()
    return Expected(world.admin.id, "waitlist_entry", entry["id"], after={"party_size": 2})


async def move_up(world: World) -> Expected:
    session = await _session_here(world, capacity=1)
    first = await book_place(session.id, resident(unique("first")), 1)
    entry = await join_waitlist(session.id, resident(unique("bob")), 1, FixedClock())
    await cancel_booking(first.reference, authorised=True)
    await _as_admin(world)
    await _post(
        world, f"/staff/waitlist/{entry.waitlist_entry_id}/move-up", page=f"/staff/sessions/{session.id}/register"
    )
    booking = (
        await Booking.select(Booking.id)
        .where((Booking.session == session.id) & (Booking.status == "confirmed"))
        .first()
    )
    return Expected(
        world.admin.id,
        "booking",
        booking["id"],
        before={"waitlist_status": "waiting"},
        after={"waitlist_status": "booked", "party_size": 1},
    )


def _booking_answers() -> dict[str, str]:
    return {
        "consent_source": "phone",
        "name": "Mary Seacole",
        "email": f"{unique('mary')}@example.org",
        "contact_email": "yes",
        "contact_asked": "yes",
        "party_size": "2",
    }


async def _only_booking(session_id: int) -> int:
    rows = await Booking.select(Booking.id).where(Booking.session == session_id)
    assert len(rows) == 1
    return rows[0]["id"]


# --- Referrals and API keys (web/staff/referrals.py, api_keys.py): partner staff --------------------


async def _as_link_worker(world: World) -> tuple[StaffMember, Partner]:
    partner = await make_partner()
    member = await make_link_worker_account(partner)
    await sign_in(world.client, member)
    return member, partner


async def make_a_referral(world: World) -> Expected:
    session = await _session_here(world, starts_in=timedelta(days=10))
    member, _ = await _as_link_worker(world)
    await _post(world, "/staff/referrals/new", referral_form(session.id), page="/staff/referrals/new")
    referral = await Referral.select(Referral.id).where(Referral.session == session.id).first()
    return Expected(member.id, "referral", referral["id"], after={"party_size": 1, "mode": "hold", "hold_days": 3})


async def cancel_a_referral(world: World) -> Expected:
    session = await _session_here(world, starts_in=timedelta(days=10))
    member, partner = await _as_link_worker(world)
    colleague = await make_link_worker(partner)
    made = await create_referral(colleague, referral_request(session.id, unique("ref")), datetime.now(UTC))
    url = f"/staff/referrals/{made.referral_id}/cancel"
    await _post(world, url, {"reason": "They moved away."}, page=url)
    return Expected(
        member.id,
        "referral",
        made.referral_id,
        before={"status": "created"},
        after={"status": "cancelled", "reason": "They moved away."},
    )


async def make_api_key(world: World) -> Expected:
    member, partner = await _as_link_worker(world)
    page = "/staff/referrals/api-keys"
    await _post(world, page, {"name": "Case system"}, page=page, expect=200)
    key = await PartnerApiKey.select(PartnerApiKey.id).where(PartnerApiKey.partner == partner.id).first()
    return Expected(member.id, "partner_api_key", key["id"], after={"name": "Case system", "partner_id": partner.id})


async def revoke_api_key(world: World) -> Expected:
    member, partner = await _as_link_worker(world)
    made = await create_api_key(await make_link_worker(partner), "Old system", datetime.now(UTC))
    page = "/staff/referrals/api-keys"
    await _post(world, f"{page}/revoke", {"key_id": str(made.id)}, page=page)
    return Expected(member.id, "partner_api_key", made.id, before={"revoked": False}, after={"revoked": True})



CASES: list[Case] = [
    Case("POST", "/staff/sign-in", "staff.signed_in", sign_in_),
    Case("POST", "/staff/sign-out", "staff.signed_out", sign_out),
    Case("POST", "/staff/password/{token:str}", "staff.reset_password", set_password_from_link),
    Case("POST", "/staff/account/password", "staff.password_changed", change_own_password),
    Case("POST", "/staff/people/new", "staff_member.created", add_account),
    Case("POST", "/staff/people/{staff_id:int}/edit", "staff_member.changed", change_account),
    Case("POST", "/staff/people/{staff_id:int}/deactivate", "staff_member.deactivated", deactivate_account),
    Case("POST", "/staff/people/{staff_id:int}/reactivate", "staff_member.reactivated", reactivate_account),
    Case("POST", "/staff/people/{staff_id:int}/invite-again", "staff_member.invited_again", invite_again),
    Case("POST", "/staff/people/{staff_id:int}/unlock", "staff_member.unlocked", unlock_account),
    Case("POST", "/staff/venues/new", "venue.created", add_venue),
    Case("POST", "/staff/venues/{venue_id:int}/edit", "venue.updated", change_venue),
    Case("POST", "/staff/venues/{venue_id:int}/archive", "venue.archived", archive_venue),
    Case("POST", "/staff/venues/{venue_id:int}/unarchive", "venue.unarchived", unarchive_venue),
    Case("POST", "/staff/venues/{venue_id:int}/rooms/new", "room.created", add_room),
    Case("POST", "/staff/rooms/{room_id:int}/edit", "room.updated", change_room),
    Case("POST", "/staff/rooms/{room_id:int}/archive", "room.archived", archive_room),
    Case("POST", "/staff/rooms/{room_id:int}/unarchive", "room.unarchived", unarchive_room),
    Case("POST", "/staff/activities/new", "activity.created", add_activity),
    Case("POST", "/staff/activities/{activity_id:int}/edit", "activity.updated", change_activity),
    Case("POST", "/staff/activities/{activity_id:int}/archive", "activity.archived", archive_activity),
    Case("POST", "/staff/activities/{activity_id:int}/unarchive", "activity.unarchived", unarchive_activity),
    Case("POST", "/staff/partners/new", "partner.created", add_partner),
    Case("POST", "/staff/partners/{partner_id:int}/edit", "partner.updated", change_partner),
    Case("POST", "/staff/partners/{partner_id:int}/archive", "partner.archived", archive_partner),
    Case("POST", "/staff/partners/{partner_id:int}/unarchive", "partner.unarchived", unarchive_partner),
    Case("POST", "/staff/venues/{venue_id:int}/sessions/new", "session.scheduled", schedule_one_off),
    Case("POST", "/staff/venues/{venue_id:int}/series/new", "series.created", schedule_series),
    Case("POST", "/staff/sessions/{session_id:int}/edit", "session.changed", move_session),
    Case("POST", "/staff/sessions/{session_id:int}/edit", "session.capacity_changed", change_places),
    Case("POST", "/staff/sessions/{session_id:int}/edit", "session.changed", move_following),
    Case("POST", "/staff/sessions/{session_id:int}/cancel", "session.cancelled", cancel_a_session),
    Case("POST", "/staff/bookings/{booking_id:int}/attendance", "booking.attendance_marked", mark_attendance),
    Case("POST", "/staff/sessions/{session_id:int}/walk-in", "booking.walk_in_added", add_walk_in),
    Case("POST", "/staff/sessions/{session_id:int}/book", "booking.made_on_behalf", book_on_behalf),
    Case("POST", "/staff/sessions/{session_id:int}/book", "waitlist.joined_on_behalf", waitlist_on_behalf),
    Case("POST", "/staff/waitlist/{entry_id:int}/move-up", "waitlist.moved_up", move_up),
    Case("POST", "/staff/bookings/{booking_id:int}/cancel", "booking.cancelled", cancel_for_someone),
    Case("POST", "/staff/referrals/new", "referral.created", make_a_referral),
    Case("POST", "/staff/referrals/{referral_id:int}/cancel", "referral.cancelled", cancel_a_referral),
    Case("POST", "/staff/referrals/api-keys", "partner_api_key.created", make_api_key),
    Case("POST", "/staff/referrals/api-keys/revoke", "partner_api_key.revoked", revoke_api_key),
]


def changing_staff_routes() -> set[tuple[str, str]]:
    found = set()
    for route in create_app().routes:
        if isinstance(route, HTTPRoute) and route.path.startswith("/staff"):
            for handler in route.route_handlers:
                found.update((method, route.path) for method in handler.http_methods if method in CHANGING)
    return found


def test_every_state_changing_staff_route_has_a_row():
    routes = changing_staff_routes()
    covered = {case.route for case in CASES} | set(EXEMPT)
    missing = sorted(routes - covered)
    assert not missing, f"state-changing staff routes with no row in CASES or EXEMPT: {missing}"
    gone = sorted(covered - routes)
    assert not gone, f"CASES or EXEMPT list routes that no longer exist: {gone}"
    assert not {case.route for case in CASES} & set(EXEMPT), "a route is both audited and exempt"


@pytest.fixture
async def world(staff_client, own_venue, admin, db, data_dir) -> World:
    return World(staff_client, own_venue, admin, web_settings(db, data_dir).secret_key)


def _case_id(case: Case) -> str:
    return f"{case.method} {case.path} {case.action} ({case.perform.__name__})"


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=_case_id(case)) for case in CASES],
)
async def test_the_action_is_audited_with_actor_and_before_and_after(world, case):
    last = await AuditEntry.select(AuditEntry.id).order_by(AuditEntry.id, ascending=False).first()
    since = last["id"] if last else 0

    expected = await case.perform(world)

    entries = await AuditEntry.select().where(
        (AuditEntry.id > since)
        & (AuditEntry.action == case.action)
        & (AuditEntry.subject_type == expected.subject_type)
        & (AuditEntry.subject_id == expected.subject_id)
    )
    assert entries, (
        f"{case.method} {case.path} recorded no {case.action} entry about {expected.subject_type} {expected.subject_id}"
    )
    entry = entries[-1]
    actor = await StaffMember.select(StaffMember.email).where(StaffMember.id == expected.actor_id).first()
    assert (entry["staff_member"], entry["staff_email"]) == (expected.actor_id, actor["email"])
    assert entry["summary"].strip()
    assert datetime.now(UTC) - entry["created_at"] < timedelta(minutes=5)
    for side in ("before", "after"):
        wanted, stored = getattr(expected, side), entry[side]
        if wanted is None:
            assert stored == "", f"{side} should be empty, is {stored}"
            continue
        fields = json.loads(stored)
        for name, value in wanted.items():
            assert name in fields, f"{side} has no {name}: {stored}"
            if value is not ANY:
                assert fields[name] == value, f"{side}[{name}] is {fields[name]!r}, expected {value!r}"
