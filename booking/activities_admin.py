"""Staff use cases for activities and partner organisations: create, change, archive, with an audit entry each.

An archived activity disappears from What's on; archiving waits until it has no upcoming sessions.
An archived partner can no longer be chosen for an activity, and its name may be used again.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from piccolo.query import WhereRaw

from booking.admin_fields import FormReader, InvalidDetails, NotFound
from booking.audit import changed_fields, record_audit
from booking.catalogue_admin import change_archived, free_slug
from booking.rules import InvalidReminderHours, parse_reminder_hours
from booking.staff import StaffUser
from booking.states import ActivityCategory, WaitlistMode
from booking.tables import Activity, Partner, Session
from commons.db import UNIQUE_VIOLATION_ERRORS, write_transaction

ACTIVITY_FIELDS = (
    "title",
    "slug",
    "category",
    "description",
    "partner",
    "default_capacity",
    "default_duration_minutes",
    "max_party_size",
    "booking_opens_days",
    "booking_closes_hours",
    "max_active_bookings",
    "waitlist_mode",
    "offer_hours",
    "reminder_hours",
)
PARTNER_FIELDS = ("name", "website", "contact_email", "phone", "description")
MAX_REMINDERS = 3
MAX_REMINDER_HOURS = 168  #: a week
MAX_OFFER_HOURS = 168  #: a week
REMINDER_HOURS_MESSAGE = (
    f"Enter up to {MAX_REMINDERS} whole numbers of hours from 1 to {MAX_REMINDER_HOURS}, separated by commas, like 24,2"
)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def read_reminder_hours(reader: FormReader, name: str) -> str:
    """ "2, 24" -> "24,2" (the notification worker's parser, plus our limits); blank means no reminders."""
    text = reader.raw(name)
    try:
        hours = parse_reminder_hours(text)
    except InvalidReminderHours:
        reader.fail(name, REMINDER_HOURS_MESSAGE)
        return text[:40]
    if len(hours) > MAX_REMINDERS or any(hour > MAX_REMINDER_HOURS for hour in hours):
        reader.fail(name, REMINDER_HOURS_MESSAGE)
        return text[:40]
    return ",".join(str(hour) for hour in hours)


def read_activity(form: Mapping[str, object]) -> dict[str, Any]:
    reader = FormReader(form)
    number = reader.whole_number
    values = {
        "title": reader.text("title", "Title", max_length=200, missing="Enter the activity's title"),
        "slug": reader.slug("slug", max_length=120),
        "category": reader.choice("category", ActivityCategory, "Choose a category"),
        "description": reader.text("description", "Description", max_length=5000),
        "partner": reader.optional_id("partner", "Choose a partner from the list, or no partner"),
        "default_capacity": number(
            "default_capacity", "Places", minimum=1, maximum=1000, missing="Enter how many places a session usually has"
        ),
        "default_duration_minutes": number(
            "default_duration_minutes",
            "Length",
            minimum=5,
            maximum=1440,
            missing="Enter how many minutes a session usually lasts",
        ),
        "max_party_size": number(
            "max_party_size",
            "Places in one booking",
            minimum=1,
            maximum=50,
            missing="Enter the most places one booking can take",
        ),
        "booking_opens_days": number(
            "booking_opens_days",
            "Days before",
            minimum=1,
            maximum=365,
            missing="Enter how many days before a session booking opens",
        ),
        "booking_closes_hours": number(
            "booking_closes_hours",
            "Hours before",
            minimum=0,
            maximum=168,
            missing="Enter how many hours before a session booking closes (0 for at the start)",
        ),
        "max_active_bookings": number(
            "max_active_bookings",
            "Upcoming bookings per person",
            minimum=0,
            maximum=50,
            missing="Enter how many upcoming bookings one person can have (0 for no limit)",
        ),
        "waitlist_mode": reader.choice("waitlist_mode", WaitlistMode, "Choose what happens when places free up"),
        "offer_hours": number(
            "offer_hours",
            "Hours to accept an offer",
            minimum=1,
            maximum=MAX_OFFER_HOURS,
            missing="Enter how many hours someone on the waiting list has to accept a place",
        ),
        "reminder_hours": read_reminder_hours(reader, "reminder_hours"),
    }
    if not reader.errors.keys() & {"booking_opens_days", "booking_closes_hours"} and (
        values["booking_closes_hours"] >= values["booking_opens_days"] * 24
    ):
        reader.fail("booking_closes_hours", "Booking must close less time before a session than it opens")
    reader.check()
    return values


def read_partner(form: Mapping[str, object]) -> dict[str, Any]:
    reader = FormReader(form)
    values = {
        "name": reader.text("name", "Name", max_length=200, missing="Enter the organisation's name"),
        "website": reader.website("website"),
        "contact_email": reader.email("contact_email"),
        "phone": reader.phone("phone"),
        "description": reader.text("description", "Description", max_length=2000),
    }
    reader.check()
    return values


# --- Activities ------------------------------------------------------------------------------------


async def _activity_row(activity_id: int) -> dict[str, Any]:
    row = (
        await Activity.select(
            Activity.id, Activity.archived, *(Activity._meta.get_column_by_name(f) for f in ACTIVITY_FIELDS)
        )
        .where(Activity.id == activity_id)
        .first()
    )
    if row is None:
        raise NotFound("We could not find that activity.")
    return row


async def _check_partner(partner_id: int | None, current: int | None) -> None:
    """A live partner, or the one the activity already has (even if it has since been archived)."""
    if partner_id is None or partner_id == current:
        return
    if not await Partner.exists().where(Partner.id == partner_id, Partner.archived == False):  # noqa: E712
        raise InvalidDetails({"partner": "Choose a partner from the list, or no partner"})


def _slug_taken() -> InvalidDetails:
    return InvalidDetails({"slug": "Someone saved an activity with this web address name just now. Try again"})


async def create_activity(actor: StaffUser, form: Mapping[str, object], *, now: datetime | None = None) -> int:
    values = read_activity(form)
    async with write_transaction(Activity._meta.db):
        await _check_partner(values["partner"], None)
        values["slug"] = await free_slug(
            Activity, values["slug"], name=values["title"], exclude_id=None, max_length=120
        )
        try:
            rows = await Activity.insert(Activity(**values)).returning(Activity.id)
        except UNIQUE_VIOLATION_ERRORS:
            raise _slug_taken() from None
        activity_id = rows[0]["id"]
        await record_audit(
            actor,
            "activity.created",
            "activity",
            activity_id,
            summary=f"Added the activity {values['title']}",
            after=values,
            now=now,
        )
    return activity_id


async def update_activity(
    actor: StaffUser, activity_id: int, form: Mapping[str, object], *, now: datetime | None = None
) -> None:
    values = read_activity(form)
    async with write_transaction(Activity._meta.db):
        current = await _activity_row(activity_id)
        await _check_partner(values["partner"], current["partner"])
        values["slug"] = await free_slug(
            Activity, values["slug"], name=values["title"], exclude_id=activity_id, max_length=120
        )
        before, after = changed_fields(current, values)
        if not after:
            return
        try:
            await Activity.update(values).where(Activity.id == activity_id)
        except UNIQUE_VIOLATION_ERRORS:
            raise _slug_taken() from None
        await record_audit(
            actor,
            "activity.updated",
            "activity",
            activity_id,
            summary=f"Changed the activity {values['title']}: {', '.join(after)}",
            before=before,
            after=after,
            now=now,
        )


async def set_activity_archived(
    actor: StaffUser, activity_id: int, archived: bool, *, now: datetime | None = None
) -> bool:
    """Archive (or bring back) an activity; False if it already was. Archiving waits for no upcoming sessions."""
    now = _now(now)
    async with write_transaction(Activity._meta.db):
        current = await _activity_row(activity_id)
        if current["archived"] == archived:
            return False
        await change_archived(
            actor, Activity, activity_id, kind="activity", name=current["title"], archived=archived,
            sessions_of=Session.activity, now=now,
        )
    return True


# --- Partners --------------------------------------------------------------------------------------


async def _partner_row(partner_id: int) -> dict[str, Any]:
    row = (
        await Partner.select(
            Partner.id, Partner.archived, *(Partner._meta.get_column_by_name(f) for f in PARTNER_FIELDS)
        )
        .where(Partner.id == partner_id)
        .first()
    )
    if row is None:
        raise NotFound("We could not find that partner.")
    return row


async def _check_partner_name_free(name: str, exclude_id: int | None) -> None:
    query = Partner.select(Partner.id).where(
        Partner.archived == False,  # noqa: E712
        WhereRaw("lower(name) = lower({})", name),
    )
    if exclude_id is not None:
        query = query.where(Partner.id != exclude_id)
    if await query.first():
        raise InvalidDetails({"name": f"There is already a partner called {name}. Use that one, or archive it first"})


async def create_partner(actor: StaffUser, form: Mapping[str, object], *, now: datetime | None = None) -> int:
    values = read_partner(form)
    async with write_transaction(Partner._meta.db):
        await _check_partner_name_free(values["name"], None)
        rows = await Partner.insert(Partner(**values, created_at=_now(now))).returning(Partner.id)
        partner_id = rows[0]["id"]
        await record_audit(
            actor,
            "partner.created",
            "partner",
            partner_id,
            summary=f"Added the partner {values['name']}",
            after=values,
            now=now,
        )
    return partner_id


async def update_partner(
    actor: StaffUser, partner_id: int, form: Mapping[str, object], *, now: datetime | None = None
) -> None:
    values = read_partner(form)
    async with write_transaction(Partner._meta.db):
        current = await _partner_row(partner_id)
        if not current["archived"]:
            await _check_partner_name_free(values["name"], partner_id)
        before, after = changed_fields(current, values)
        if not after:
            return
        await Partner.update(values).where(Partner.id == partner_id)
        await record_audit(
            actor,
            "partner.updated",
            "partner",
            partner_id,
            summary=f"Changed the partner {values['name']}: {', '.join(after)}",
            before=before,
            after=after,
            now=now,
        )


async def set_partner_archived(
    actor: StaffUser, partner_id: int, archived: bool, *, now: datetime | None = None
) -> bool:
    """Archive (or bring back) a partner; False if it already was. Bringing one back needs its name free."""
    now = _now(now)
    async with write_transaction(Partner._meta.db):
        current = await _partner_row(partner_id)
        if current["archived"] == archived:
            return False
        if not archived:
            await _check_partner_name_free(current["name"], partner_id)
        await change_archived(
            actor, Partner, partner_id, kind="partner", name=current["name"], archived=archived, sessions_of=None,
            now=now,
        )
    return True
