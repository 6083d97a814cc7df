"""What each event means for residents: who to tell, and what. Each re-reads the current state first.

A planner returns an empty ``Plan`` when the news is stale (the booking was cancelled before we got
to it, the offer is no longer open): the event is still marked handled, and nobody is told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from booking.queries import BookingView, SessionView, get_booking, get_session
from booking.states import ACTIVE_WAITLIST_STATUSES, BookingStatus, ReferralMode, ReferralStatus, WaitlistOfferStatus
from booking.tables import Referral, Resident, SignInLink, StaffLink
from events.catalogue import (
    BookingCancelled,
    BookingConfirmed,
    BookingWaitlisted,
    ReferralAccepted,
    ReferralCancelled,
    ReferralCreated,
    ReferralExpired,
    ReminderDue,
    ResidentErased,
    SessionCancelled,
    SessionChanged,
    SignInRequested,
    StaffPasswordResetRequested,
    WaitlistOfferClosed,
    WaitlistOffered,
)
from notifications.links import Links
from notifications.messages import moment
from notifications.outbound import Notice, Plan
from notifications.queries import (
    booking_references,
    books_automatically,
    confirmed_booking_ids,
    get_offer,
    get_queue_entry,
    place_of,
)
from notifications.recipients import Recipient, booking_recipient, recipient, waitlist_recipient
from notifications.states import Channel, Template


@dataclass(frozen=True)
class Context:
    links: Links
    now: datetime  #: when the event is handled
    recorded_at: datetime  #: when the event happened (its ``time``)


async def booking_confirmed(data: BookingConfirmed, ctx: Context) -> Plan:
    booking = await get_booking(data.booking_id)
    if booking is None or booking.status != BookingStatus.CONFIRMED.value:
        return Plan()  # cancelled before we got here
    return Plan(await _tell_booker(Template.BOOKING_CONFIRMED, booking, ctx))


async def booking_cancelled(data: BookingCancelled, ctx: Context) -> Plan:
    booking = await get_booking(data.booking_id)
    if booking is None:
        return Plan()
    notices = await _tell_booker(
        Template.BOOKING_CANCELLED, booking, ctx, reason=data.reason, session_url=ctx.links.session(data.session_id)
    )
    return Plan(notices, cancel_reminders_for=[booking.reference])


async def booking_waitlisted(data: BookingWaitlisted, ctx: Context) -> Plan:
    entry = await get_queue_entry(data.waitlist_entry_id)
    session = await get_session(data.session_id)
    if entry is None or entry.status not in ACTIVE_WAITLIST_STATUSES or session is None or session.is_cancelled:
        return Plan()
    who = await recipient(entry.resident)
    if who is None:
        return Plan()
    context = {
        "session": session,
        "party_size": entry.party_size,
        "position": data.position,
        "automatic": await books_automatically(session.id),
    }
    return Plan([Notice(Template.WAITLIST_JOINED, who, context, session.time_zone)])


async def waitlist_offered(data: WaitlistOffered, ctx: Context) -> Plan:
    offer = await get_offer(data.offer_id)
    if offer is None or offer.status != WaitlistOfferStatus.OPEN.value or offer.expires_at <= ctx.now:
        return Plan()  # accepted, declined or run out before we got here
    session = await get_session(offer.session)
    offer_url = await ctx.links.offer(offer.id)
    who = await recipient(offer.resident)
    if session is None or offer_url is None or who is None:
        return Plan()
    context = {
        "session": session,
        "party_size": offer.party_size,
        "expires": moment(offer.expires_at, session.time_zone),
        "offer_url": offer_url,
    }
    return Plan([Notice(Template.OFFER_MADE, who, context, session.time_zone)])


async def offer_expired(data: WaitlistOfferClosed, ctx: Context) -> Plan:
    offer = await get_offer(data.offer_id)
    if offer is None or offer.status != WaitlistOfferStatus.EXPIRED.value:
        return Plan()
    session = await get_session(offer.session)
    who = await recipient(offer.resident)
    if session is None or who is None:
        return Plan()
    context = {
        "session": session,
        "party_size": offer.party_size,
        "expired": moment(offer.expires_at, session.time_zone),
        "session_url": ctx.links.session(session.id),
    }
    return Plan([Notice(Template.OFFER_EXPIRED, who, context, session.time_zone)])


async def session_changed(data: SessionChanged, ctx: Context) -> Plan:
    session = await get_session(data.session_id)
    before = await place_of(
        data.previous_room_id,
        datetime.fromisoformat(data.previous_starts_at),
        datetime.fromisoformat(data.previous_ends_at),
    )
    if session is None or session.is_cancelled or before is None:
        return Plan()
    time_changed = (data.starts_at, data.ends_at) != (data.previous_starts_at, data.previous_ends_at)
    place_changed = data.room_id != data.previous_room_id
    if not (time_changed or place_changed):
        return Plan()
    notices = []
    told = []
    # Whoever booked after the change saw the new time and place when they booked.
    for booking_id in await confirmed_booking_ids(session.id, booked_before=ctx.recorded_at):
        booking = await get_booking(booking_id)
        if booking is not None:
            told.append(booking.reference)
            notices += await _tell_booker(
                Template.SESSION_CHANGED,
                booking,
                ctx,
                one_of_many=True,
                before=before,
                time_changed=time_changed,
                place_changed=place_changed,
            )
    if not time_changed:
        return Plan(notices)
    # A reminder still queued from before the move (a text held for the night) names the old time; the
    # scheduler reminds them again for the new one (notifications/reminders.py), so it is withdrawn.
    return Plan(notices, cancel_reminders_for=told, cancel_reminders_queued_before=ctx.recorded_at)


async def session_cancelled(data: SessionCancelled, ctx: Context) -> Plan:
    session = await get_session(data.session_id)
    if session is None:
        return Plan()
    notices = []
    for booking_id in data.booking_ids:  # before the waiting list: a resident on both hears about the booking
        booking = await get_booking(booking_id)
        if booking is not None:
            notices += await _tell_booker(
                Template.SESSION_CANCELLED, booking, ctx, one_of_many=True, message=data.message
            )
    for entry_id in data.waitlist_entry_ids:
        who = await waitlist_recipient(entry_id)
        if who is not None:
            context = {"session": session, "message": data.message, "booking": None}
            notices.append(Notice(Template.SESSION_CANCELLED, who, context, session.time_zone, one_of_many=True))
    return Plan(notices, cancel_reminders_for=await booking_references(data.booking_ids))


async def reminder_due(data: ReminderDue, ctx: Context) -> Plan:
    booking = await get_booking(data.booking_id)
    if (
        booking is None
        or booking.status != BookingStatus.CONFIRMED.value
        or booking.session.is_cancelled
        or booking.session.starts_at <= ctx.now
    ):
        return Plan()
    starts = moment(booking.session.starts_at, booking.session.time_zone)
    return Plan(await _tell_booker(Template.REMINDER, booking, ctx, starts=starts))


async def sign_in_requested(data: SignInRequested, ctx: Context) -> Plan:
    """The link, by the channel asked for, to the address on record; nothing if it is used or run out."""
    link = (
        await SignInLink.select(SignInLink.resident, SignInLink.expires_at, SignInLink.used_at)
        .where(SignInLink.id == data.sign_in_link_id)
        .first()
    )
    if link is None or link["used_at"] is not None or link["expires_at"] <= ctx.now:
        return Plan()
    erased = await Resident.exists().where((Resident.id == link["resident"]) & Resident.erased_at.is_not_null())
    who = None if erased else await recipient(link["resident"])
    url = await ctx.links.sign_in(data.sign_in_link_id)
    if who is None or url is None:
        return Plan()
    channel = Channel.SMS if data.channel == Channel.SMS.value else Channel.EMAIL
    context = {"sign_in_url": url, "expires": moment(link["expires_at"], "Europe/London")}
    return Plan([Notice(Template.SIGN_IN_LINK, who, context, "Europe/London", requested_channel=channel)])


async def staff_password_reset_requested(data: StaffPasswordResetRequested, ctx: Context) -> Plan:
    """The reset link, by e-mail, now, to the account's address: a security message, so no quiet hours
    and no unsubscribe. Nothing if the link is used or run out, or the account was deactivated meanwhile."""
    link = (
        await StaffLink.select(
            StaffLink.expires_at,
            StaffLink.used_at,
            StaffLink.staff_member.email.as_alias("email"),
            StaffLink.staff_member.name.as_alias("name"),
            StaffLink.staff_member.active.as_alias("active"),
        )
        .where((StaffLink.id == data.staff_link_id) & (StaffLink.staff_member == data.staff_member_id))
        .first()
    )
    if link is None or not link["active"] or link["used_at"] is not None or link["expires_at"] <= ctx.now:
        return Plan()
    url = await ctx.links.staff_password(data.staff_link_id)
    if url is None:
        return Plan()
    who = Recipient.at_address(link["email"], link["name"])
    context = {"reset_url": url, "expires": moment(link["expires_at"], "Europe/London")}
    return Plan([Notice(Template.STAFF_PASSWORD_RESET, who, context, "Europe/London", requested_channel=Channel.EMAIL)])


async def resident_erased(data: ResidentErased, ctx: Context) -> Plan:
    """Nothing more is sent to someone who deleted their data; what was waiting to go is withdrawn."""
    return Plan(withdraw_messages_of=data.resident_id)


async def referral_created(data: ReferralCreated, ctx: Context) -> Plan:
    """Booked straight away: the booking's details. Held: the link to confirm, and until when."""
    referral = await _referral(data.referral_id)
    if referral is None or referral["status"] != ReferralStatus.CREATED.value:
        return Plan()  # confirmed, run out or cancelled before we got here
    if referral["mode"] == ReferralMode.BOOK.value:
        booking = await get_booking(referral["booking"]) if referral["booking"] else None
        if booking is None or booking.status != BookingStatus.CONFIRMED.value:
            return Plan()
        return Plan(
            await _tell_booker(
                Template.REFERRAL_CREATED,
                booking,
                ctx,
                partner_name=referral["partner_name"],
                confirm_url=None,
                expires=None,
                party_size=booking.party_size,
            )
        )
    if referral["expires_at"] <= ctx.now:
        return Plan()
    session = await get_session(referral["session"])
    confirm_url = await ctx.links.referral(data.referral_id)
    who = await recipient(referral["resident"])
    if session is None or session.is_cancelled or confirm_url is None or who is None:
        return Plan()
    context = {
        "session": session,
        "booking": None,
        "party_size": referral["party_size"],
        "partner_name": referral["partner_name"],
        "confirm_url": confirm_url,
        "expires": moment(referral["expires_at"], session.time_zone),
    }
    return Plan([Notice(Template.REFERRAL_CREATED, who, context, session.time_zone)])


async def referral_accepted(data: ReferralAccepted, ctx: Context) -> Plan:
    booking = await get_booking(data.booking_id)
    referral = await _referral(data.referral_id)
    if booking is None or booking.status != BookingStatus.CONFIRMED.value or referral is None:
        return Plan()
    return Plan(await _tell_booker(Template.REFERRAL_ACCEPTED, booking, ctx, partner_name=referral["partner_name"]))


async def referral_expired(data: ReferralExpired, ctx: Context) -> Plan:
    return await _tell_hold_ended(
        data.referral_id, ReferralStatus.EXPIRED, Template.REFERRAL_EXPIRED, ctx,
        expired=lambda referral, session: moment(referral["expires_at"], session.time_zone),
    )


async def referral_cancelled(data: ReferralCancelled, ctx: Context) -> Plan:
    """The partner cancelled a held place. A cancelled booking says nothing here: its ``booking.cancelled``
    already tells the resident, and one message is enough."""
    if data.booking_id is not None:
        return Plan()
    return await _tell_hold_ended(
        data.referral_id, ReferralStatus.CANCELLED, Template.REFERRAL_CANCELLED, ctx,
        reason=lambda referral, session: data.reason,
    )


async def _tell_hold_ended(referral_id: int, status: ReferralStatus, template: Template, ctx: Context,
                           **extra: Callable[[dict, SessionView], object]) -> Plan:
    """Tell the resident a place held for them has gone (unless the referral has moved on since, the session
    is cancelled, or nobody can be reached); ``extra`` adds template values from the referral and session."""
    referral = await _referral(referral_id)
    if referral is None or referral["status"] != status.value:
        return Plan()
    session = await get_session(referral["session"])
    who = await recipient(referral["resident"])
    if session is None or session.is_cancelled or who is None:
        return Plan()
    context = {
        "session": session,
        "party_size": referral["party_size"],
        "partner_name": referral["partner_name"],
        "session_url": ctx.links.session(session.id),
        **{name: value(referral, session) for name, value in extra.items()},
    }
    return Plan([Notice(template, who, context, session.time_zone)])


async def _referral(referral_id: int) -> dict | None:
    return (
        await Referral.select(
            Referral.status,
            Referral.mode,
            Referral.booking,
            Referral.resident,
            Referral.session,
            Referral.party_size,
            Referral.expires_at,
            Referral.partner.name.as_alias("partner_name"),
        )
        .where(Referral.id == referral_id)
        .first()
    )


async def _tell_booker(
    template: Template, booking: BookingView, ctx: Context, *, one_of_many: bool = False, **extra
) -> list[Notice]:
    """A notice to whoever made the booking, with its session and manage link."""
    who = await booking_recipient(booking.id)
    if who is None:
        return []
    context = {
        "booking": booking,
        "session": booking.session,
        "manage_url": await ctx.links.manage(booking.id),
        **extra,
    }
    return [Notice(template, who, context, booking.session.time_zone, booking.reference, one_of_many=one_of_many)]


PLANNERS = {
    "booking.confirmed": booking_confirmed,
    "booking.cancelled": booking_cancelled,
    "booking.waitlisted": booking_waitlisted,
    "waitlist.offered": waitlist_offered,
    "waitlist.offer_expired": offer_expired,
    "session.changed": session_changed,
    "session.cancelled": session_cancelled,
    "reminder.due": reminder_due,
    "resident.sign_in_requested": sign_in_requested,
    "resident.erased": resident_erased,
    "staff.password_reset_requested": staff_password_reset_requested,
    "referral.created": referral_created,
    "referral.accepted": referral_accepted,
    "referral.expired": referral_expired,
    "referral.cancelled": referral_cancelled,
}
