"""Request and response bodies of the JSON API; msgspec Structs so /schema documents them."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from booking.queries import SessionView
from booking.service import BookingConfirmation, Cancellation
from booking.waitlist import WaitlistPlace


class SessionOut(msgspec.Struct):
    id: int
    activity: str
    category: str
    venue: str  #: the venue's slug, as the ``venue`` filter takes it
    venue_name: str
    room: str
    starts_at: datetime  #: UTC
    ends_at: datetime  #: UTC
    local_time: str  #: plain English, in the venue's time zone
    capacity: int
    places_left: int
    status: str
    url: str  #: the session's page on this site

    @classmethod
    def from_view(cls, view: SessionView) -> SessionOut:
        return cls(
            id=view.id,
            activity=view.activity_title,
            category=view.category,
            venue=view.venue_slug,
            venue_name=view.venue_name,
            room=view.room_name,
            starts_at=view.starts_at.astimezone(UTC),
            ends_at=view.ends_at.astimezone(UTC),
            local_time=view.when,
            capacity=view.capacity,
            places_left=view.places_left,
            status=view.status,
            url=f"/sessions/{view.id}",
        )


class BookingIn(msgspec.Struct):
    """Missing fields are allowed here so validate_booking can name each one in a 422.

    Give ``email``, ``phone`` or both."""

    name: str = ""
    email: str = ""
    phone: str | None = None
    party_size: int | None = None
    sms_opt_in: bool = False  #: texts about this booking to ``phone``; consent is never assumed
    contact_by_email: bool = True  #: e-mails about this booking to ``email`` (when given)
    #: access or support needs, for the staff running the session (500 characters at most)
    support_note: str = ""


class WaitlistIn(msgspec.Struct):
    """The same details as a booking: who is waiting, and for how many places."""

    name: str = ""
    email: str = ""
    phone: str | None = None
    party_size: int | None = None
    sms_opt_in: bool = False
    contact_by_email: bool = True


class BookingOut(msgspec.Struct):
    reference: str
    status: str
    manage_token: str  #: shown once; send it as a bearer token to cancel
    session_id: int
    party_size: int
    places_left: int

    @classmethod
    def from_confirmation(cls, confirmation: BookingConfirmation) -> BookingOut:
        return cls(
            reference=confirmation.reference,
            status=confirmation.status.value,
            manage_token=confirmation.manage_token,
            session_id=confirmation.session_id,
            party_size=confirmation.party_size,
            places_left=confirmation.places_left,
        )


class WaitlistOut(msgspec.Struct):
    waitlist_entry_id: int
    session_id: int
    party_size: int
    position: int  #: 1 is next in line
    status: str = "waiting"

    @classmethod
    def from_place(cls, place: WaitlistPlace) -> WaitlistOut:
        return cls(place.waitlist_entry_id, place.session_id, place.party_size, place.position)


class OfferDeclinedOut(msgspec.Struct):
    session_id: int
    party_size: int
    status: str = "declined"


class CancellationOut(msgspec.Struct):
    reference: str
    status: str
    session_id: int
    places_left: int

    @classmethod
    def from_cancellation(cls, cancellation: Cancellation) -> CancellationOut:
        return cls(cancellation.reference, "cancelled", cancellation.session_id, cancellation.places_left)


class ValidationProblem(msgspec.Struct):
    detail: str
    errors: dict[str, str]  #: field name -> what to fix


class BookingProblem(msgspec.Struct):
    reason: str  #: a stable code such as session_full
    detail: str


def as_utc(moment: datetime | None) -> datetime | None:
    """Filters without an offset are read as UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment
