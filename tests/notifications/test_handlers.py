"""Each event residents hear about becomes the right messages, queued once, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from booking.clock import FixedClock
from booking.manage_links import find_booking_by_signed_token
from booking.offer_links import find_offer_for_link
from booking.programme import cancel_session, change_session
from booking.service import book_place, cancel_booking
from booking.tables import Session
from booking.waitlist import expire_offers, join_waitlist, offer_free_places
from events.consumer import Outcome
from events.envelope import make_event
from events.tables import ProcessedMessage
from notifications.messages import SMS_STOP, SMS_TARGET_LENGTH, moment
from notifications.tables import OutboundMessage
from notifications.unsubscribe import verify_unsubscribe_token
from tests.builders import fill_session, make_room, make_session, make_waitlist_session, resident
from tests.notifications.support import BASE_URL, notifier_for, outbox_event, queued, texting

LONDON = "Europe/London"


def link_after(prefix: str, body: str) -> str:
    """The token in the first link in ``body`` that starts with ``prefix``."""
    return body.split(prefix, 1)[1].split()[0].split('"')[0]


async def handled(notifier, event: dict) -> dict[str, dict]:
    """Handle ``event``; its queued messages by channel. Every text is short and says how to stop."""
    assert await notifier.handle_event(event) is Outcome.DONE
    rows = await queued(event["id"])
    if "sms" in rows:
        assert rows["sms"]["text_body"].endswith(" " + SMS_STOP)
        assert len(rows["sms"]["text_body"]) <= SMS_TARGET_LENGTH
    return rows


async def test_a_confirmation_is_queued_by_email_and_text_with_working_links(db, data_dir):
    session = await make_session()
    confirmation = await book_place(session.id, texting("Grace Hopper"), 2)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
    notifier = notifier_for(db, data_dir)

    rows = await handled(notifier, event)

    email, sms = rows["email"], rows["sms"]
    assert confirmation.reference in email["subject"]
    for body in (email["text_body"], email["html_body"], sms["text_body"]):
        assert confirmation.reference in body and "Chair yoga" in body
    assert "Places:    2" in email["text_body"]
    assert email["message_id"] == f"<{event['id']}.booking_confirmed@commons>"
    for body in (email["html_body"], sms["text_body"]):
        token = link_after(f"{BASE_URL}/bookings/manage/", body)
        booking = await find_booking_by_signed_token(notifier.settings.secret_key, token)
        assert booking is not None and booking.id == confirmation.booking_id
    unsubscribe = link_after(f"{BASE_URL}/notifications/unsubscribe/", email["text_body"])
    assert email["unsubscribe_url"] == f"{BASE_URL}/notifications/unsubscribe/{unsubscribe}"
    assert verify_unsubscribe_token(notifier.settings.secret_key, unsubscribe) == confirmation.resident_id
    assert {row["status"] for row in rows.values()} == {"pending"}


async def test_a_redelivered_event_queues_nothing_more(db, data_dir):
    session = await make_session()
    confirmation = await book_place(session.id, texting(), 1)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
    notifier = notifier_for(db, data_dir)

    await notifier.handle_event(event)
    assert await notifier.handle_event(event) is Outcome.DONE

    assert await OutboundMessage.count().where(OutboundMessage.event_id == event["id"]) == 2
    assert await ProcessedMessage.count().where(ProcessedMessage.event_id == event["id"]) == 1


async def test_messages_another_consumer_queued_for_the_event_are_not_queued_again(db, data_dir):
    session = await make_session()
    confirmation = await book_place(session.id, texting(), 1)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
    await notifier_for(db, data_dir).handle_event(event)
    renamed = notifier_for(db, data_dir)
    renamed.consumer = "notifications-renamed"

    assert await renamed.handle_event(event) is Outcome.DONE

    assert await OutboundMessage.count().where(OutboundMessage.event_id == event["id"]) == 2
    assert await ProcessedMessage.count().where(ProcessedMessage.event_id == event["id"]) == 2


async def test_four_instances_handling_one_event_at_once_queue_it_once(pg_engine, data_dir):
    session = await make_session()
    confirmation = await book_place(session.id, texting(), 1)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)
    notifiers = [notifier_for(pg_engine, data_dir) for _ in range(4)]

    outcomes = await asyncio.gather(*(notifier.handle_event(event) for notifier in notifiers))

    assert outcomes == [Outcome.DONE] * 4
    assert await OutboundMessage.count().where(OutboundMessage.event_id == event["id"]) == 2
    [processed] = await ProcessedMessage.select().where(ProcessedMessage.event_id == event["id"])
    assert processed["handled_by"]  # host:pid of the instance that won


async def test_a_booking_cancelled_before_its_confirmation_is_handled_gets_none(db, data_dir):
    session = await make_session()
    confirmation = await book_place(session.id, texting(), 1)
    await cancel_booking(confirmation.reference, manage_token=confirmation.manage_token)
    event = await outbox_event("booking.confirmed", booking_id=confirmation.booking_id)

    assert await handled(notifier_for(db, data_dir), event) == {}
    assert await ProcessedMessage.count().where(ProcessedMessage.event_id == event["id"]) == 1


async def test_a_cancellation_is_confirmed_and_its_pending_reminders_are_dropped(db, data_dir):
    session = await make_session()
    confirmation = await book_place(session.id, texting(), 3)
    notifier = notifier_for(db, data_dir)
    reminder = make_event("reminder.due", {
        "booking_id": confirmation.booking_id, "session_id": session.id, "reminder": "24h",
        "due_at": datetime.now(UTC).isoformat(),
    })
    assert set(await handled(notifier, reminder)) == {"email", "sms"}

    await cancel_booking(confirmation.reference, manage_token=confirmation.manage_token, reason="Feeling unwell")
    rows = await handled(notifier, await outbox_event("booking.cancelled", booking_id=confirmation.booking_id))

    for body in (rows["email"]["text_body"], rows["email"]["html_body"], rows["sms"]["text_body"]):
        assert confirmation.reference in body and "cancelled" in body and "Feeling unwell" in body
    assert f"{BASE_URL}/sessions/{session.id}" in rows["email"]["text_body"]
    assert {row["status"] for row in (await queued(reminder["id"])).values()} == {"cancelled"}


async def test_joining_the_waiting_list_says_the_place_in_the_queue(db, data_dir):
    session = await make_waitlist_session(1)
    await fill_session(session.id, 1)
    clock = FixedClock()
    await join_waitlist(session.id, resident(f"{session.id}-first"), 1, clock)
    place = await join_waitlist(session.id, texting(), 2, clock)

    rows = await handled(
        notifier_for(db, data_dir), await outbox_event("booking.waitlisted", waitlist_entry_id=place.waitlist_entry_id)
    )

    assert rows["email"]["subject"].startswith("You are on the waiting list: Chair yoga")
    for body in (rows["email"]["text_body"], rows["email"]["html_body"], rows["sms"]["text_body"]):
        assert "number 2" in body and "You do not have a place yet" in body
    assert "for 2 places" in rows["email"]["text_body"]
    assert "limited time to accept" in rows["email"]["text_body"]


async def waiting_resident_with_an_offer(party_size: int = 2):
    """A full session, a resident waiting for ``party_size`` places, and the places freed and offered."""
    session = await make_waitlist_session(party_size)
    [booking] = await fill_session(session.id, party_size, party_size=party_size)
    clock = FixedClock()
    place = await join_waitlist(session.id, texting("Katherine Johnson"), party_size, clock)
    await cancel_booking(booking.reference, manage_token=booking.manage_token)
    [offer] = await offer_free_places(session.id, clock)
    return session, place, offer, clock


async def test_an_offer_links_to_its_accept_page_and_says_until_when_in_local_time(db, data_dir):
    session, place, offer, _ = await waiting_resident_with_an_offer(party_size=2)
    notifier = notifier_for(db, data_dir)

    rows = await handled(notifier, await outbox_event("waitlist.offered", offer_id=offer.offer_id))

    expires = moment(offer.expires_at, LONDON)
    for body in (rows["email"]["text_body"], rows["email"]["html_body"], rows["sms"]["text_body"]):
        assert expires in body and "2 places" in body
        token = link_after(f"{BASE_URL}/offers/", body)
        found = await find_offer_for_link(notifier.settings.secret_key, token)
        assert found is not None and found.id == offer.offer_id
    assert "Accept or decline" in rows["email"]["html_body"]


async def test_an_offer_no_longer_open_when_handled_is_not_sent(db, data_dir):
    _, _, offer, clock = await waiting_resident_with_an_offer()
    await expire_offers(FixedClock(offer.expires_at + timedelta(seconds=1)))

    assert await handled(notifier_for(db, data_dir), await outbox_event("waitlist.offered", offer_id=offer.offer_id)) == {}


async def test_an_expired_offer_says_the_resident_is_off_the_list(db, data_dir):
    session, _, offer, _ = await waiting_resident_with_an_offer()
    await expire_offers(FixedClock(offer.expires_at + timedelta(seconds=1)))

    rows = await handled(notifier_for(db, data_dir), await outbox_event("waitlist.offer_expired", offer_id=offer.offer_id))

    for body in (rows["email"]["text_body"], rows["email"]["html_body"], rows["sms"]["text_body"]):
        assert "no longer on the waiting list" in body
        assert f"{BASE_URL}/sessions/{session.id}" in body
    assert moment(offer.expires_at, LONDON) in rows["email"]["text_body"]


async def test_declined_and_accepted_offers_and_availability_need_no_message(db, data_dir):
    notifier = notifier_for(db, data_dir)
    for event_type, data in (
        ("waitlist.offer_declined", {"offer_id": 1, "waitlist_entry_id": 1, "session_id": 1, "resident_id": 1}),
        ("availability.changed", {"session_id": 1, "capacity": 5, "booked": 1, "places_left": 4}),
    ):
        event = make_event(event_type, data)
        assert await handled(notifier, event) == {}
        assert await ProcessedMessage.count().where(ProcessedMessage.event_id == event["id"]) == 0


async def test_a_moved_session_tells_each_booking_made_before_the_move_once_with_old_and_new(db, data_dir):
    room = await make_room(name="Old room")
    session = await make_session(room=room)
    first = await book_place(session.id, texting("First Booker"), 1)
    second = await book_place(session.id, texting("Second Booker"), 2)
    before = await Session.select(Session.starts_at, Session.ends_at).where(Session.id == session.id).first()
    new_room = await make_room(name="Main hall")
    await change_session(session.id, starts_at=before["starts_at"] + timedelta(days=1), room_id=new_room.id)
    late = await book_place(session.id, texting("Booked After"), 1)
    event = await outbox_event("session.changed", session_id=session.id)

    assert await notifier_for(db, data_dir).handle_event(event) is Outcome.DONE

    rows = await OutboundMessage.select().where(OutboundMessage.event_id == event["id"])
    assert sorted((row["booking_reference"], row["channel"]) for row in rows) == sorted(
        (booking.reference, channel) for booking in (first, second) for channel in ("email", "sms")
    )
    assert late.reference not in {row["booking_reference"] for row in rows}
    email = next(row for row in rows if row["channel"] == "email" and row["booking_reference"] == second.reference)
    sms = next(row for row in rows if row["channel"] == "sms" and row["booking_reference"] == second.reference)
    old_when = moment(before["starts_at"], LONDON).split(" on ")[1]
    new_when = moment(before["starts_at"] + timedelta(days=1), LONDON).split(" on ")[1]
    for body in (email["text_body"], email["html_body"]):
        assert old_when in body and new_when in body
        assert "Main hall" in body and "Old room" in body
    assert new_when in sms["text_body"] and "Main hall" in sms["text_body"]
    assert len(sms["text_body"]) <= SMS_TARGET_LENGTH
    assert email["message_id"] == f"<{event['id']}.session_changed.{second.resident_id}@commons>"


def _reminder_due(booking, session, which: str) -> dict:
    return make_event("reminder.due", {
        "booking_id": booking.booking_id, "session_id": session.id, "reminder": which,
        "due_at": datetime.now(UTC).isoformat(),
    })


async def test_a_new_time_withdraws_reminders_queued_before_it_and_keeps_later_ones(db, data_dir):
    session = await make_session()
    booking = await book_place(session.id, texting("Held Overnight"), 1)
    notifier = notifier_for(db, data_dir)
    old_reminder = _reminder_due(booking, session, "24h")
    await notifier.handle_event(old_reminder)  # e.g. a text held until the morning, naming the old time
    await change_session(session.id, starts_at=session.starts_at + timedelta(days=1))
    new_reminder = _reminder_due(booking, session, "2h")  # worked out for the new time, after the move
    await notifier.handle_event(new_reminder)

    assert await notifier.handle_event(await outbox_event("session.changed", session_id=session.id)) is Outcome.DONE

    assert {row["status"] for row in (await queued(old_reminder["id"])).values()} == {"cancelled"}
    assert {row["status"] for row in (await queued(new_reminder["id"])).values()} == {"pending"}


async def test_a_new_room_at_the_same_time_keeps_the_queued_reminder(db, data_dir):
    session = await make_session()
    booking = await book_place(session.id, texting("Same Time"), 1)
    notifier = notifier_for(db, data_dir)
    reminder = _reminder_due(booking, session, "24h")
    await notifier.handle_event(reminder)
    await change_session(session.id, room_id=(await make_room(name="Main hall")).id)

    await notifier.handle_event(await outbox_event("session.changed", session_id=session.id))

    # No reminder is worked out again for an unchanged time, so the one queued stays.
    assert {row["status"] for row in (await queued(reminder["id"])).values()} == {"pending"}


async def test_a_cancelled_session_tells_bookers_and_waiters_once_with_staffs_words(db, data_dir):
    session = await make_waitlist_session(2)
    booked = await book_place(session.id, texting("Booked Resident"), 2)
    waiting = await join_waitlist(session.id, texting("Waiting Resident"), 1, FixedClock())
    notifier = notifier_for(db, data_dir)
    reminder = make_event("reminder.due", {
        "booking_id": booked.booking_id, "session_id": session.id, "reminder": "24h",
        "due_at": datetime.now(UTC).isoformat(),
    })
    await notifier.handle_event(reminder)

    await cancel_session(session.id, "The hall roof is leaking. Sorry!")
    event = await outbox_event("session.cancelled", session_id=session.id)
    assert await notifier.handle_event(event) is Outcome.DONE

    rows = await OutboundMessage.select().where(
        (OutboundMessage.event_id == event["id"]) & (OutboundMessage.channel == "email")
    )
    by_resident = {row["resident_id"]: row for row in rows}
    assert set(by_resident) == {booked.resident_id, waiting.resident_id}
    told_booker, told_waiter = by_resident[booked.resident_id], by_resident[waiting.resident_id]
    for row in (told_booker, told_waiter):
        assert "The hall roof is leaking. Sorry!" in row["text_body"]
        assert row["subject"].startswith("Cancelled: Chair yoga")
    assert f"Your booking {booked.reference} is cancelled" in told_booker["text_body"]
    assert "You were on the waiting list" in told_waiter["text_body"]
    assert await OutboundMessage.count().where(
        (OutboundMessage.event_id == event["id"]) & (OutboundMessage.channel == "sms")
    ) == 2
    assert {row["status"] for row in (await queued(reminder["id"])).values()} == {"cancelled"}


async def test_a_resident_both_booked_and_waiting_hears_about_the_booking_once(db, data_dir):
    session = await make_session()
    details = texting("On Both Lists")
    booking = await book_place(session.id, details, 1)
    other = await make_waitlist_session(1)
    await fill_session(other.id, 1)
    entry = await join_waitlist(other.id, details, 1, FixedClock())
    event = make_event("session.cancelled", {
        "session_id": session.id, "message": "", "booking_ids": [booking.booking_id],
        "waitlist_entry_ids": [entry.waitlist_entry_id],
    })

    rows = await handled(notifier_for(db, data_dir), event)

    assert set(rows) == {"email", "sms"}
    assert f"Your booking {booking.reference} is cancelled" in rows["email"]["text_body"]


async def reminder_for(booking, **data) -> dict:
    return make_event("reminder.due", {
        "booking_id": booking.booking_id, "session_id": booking.session_id, "reminder": "24h",
        "due_at": datetime.now(UTC).isoformat(), **data,
    })


async def test_a_reminder_says_when_and_where_with_the_manage_link(db, data_dir):
    session = await make_session(starts_in=timedelta(hours=30))
    booking = await book_place(session.id, texting(), 1)

    rows = await handled(notifier_for(db, data_dir), await reminder_for(booking))

    starts = moment(session.starts_at, LONDON)
    for body in (rows["email"]["text_body"], rows["email"]["html_body"], rows["sms"]["text_body"]):
        assert starts in body and booking.reference in body and f"{BASE_URL}/bookings/manage/" in body
    assert rows["email"]["subject"].startswith("Reminder: Chair yoga")


async def test_no_reminder_for_a_cancelled_booking_or_a_session_already_started(db, data_dir):
    session = await make_session(starts_in=timedelta(hours=3))
    cancelled = await book_place(session.id, texting(), 1)
    await cancel_booking(cancelled.reference, manage_token=cancelled.manage_token)
    started = await book_place(session.id, texting(), 1)
    after_start = FixedClock(session.starts_at + timedelta(minutes=1))

    assert await handled(notifier_for(db, data_dir), await reminder_for(cancelled)) == {}
    assert await handled(notifier_for(db, data_dir, clock=after_start), await reminder_for(started)) == {}
