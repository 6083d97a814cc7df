"""The event catalogue: every type has a versioned schema, and data must match it exactly."""

from __future__ import annotations

import pytest

from events.catalogue import (
    EVENT_TYPES,
    BookingConfirmed,
    InvalidEventData,
    parse,
    spec_for,
    validate,
)

CONFIRMED = {"booking_id": 7, "reference": "ABC-DEF", "session_id": 3, "resident_id": 5, "party_size": 2, "places_left": 4}

ISSUE_3_TYPES = {
    "booking.confirmed", "booking.cancelled", "booking.waitlisted", "waitlist.offered", "waitlist.offer_expired",
    "waitlist.offer_declined", "waitlist.offer_accepted", "session.scheduled", "session.changed",
    "session.cancelled", "reminder.due", "availability.changed", "notification.sent", "notification.failed",
}
ISSUE_4_TYPES = {"resident.sign_in_requested", "resident.erased"}
ISSUE_5_TYPES = {"staff.password_reset_requested", "booking.attendance_marked"}
ISSUE_7_TYPES = {"referral.created", "referral.accepted", "referral.expired", "referral.cancelled"}


def test_every_type_in_the_issue_is_catalogued_with_a_version():
    assert set(EVENT_TYPES) == ISSUE_3_TYPES | ISSUE_4_TYPES | ISSUE_5_TYPES | ISSUE_7_TYPES
    for name, spec in EVENT_TYPES.items():
        assert spec.type == name and spec.version >= 1
        assert spec.dataschema == f"urn:commons:event:{name}:v{spec.version}"


def test_matching_data_is_accepted():
    assert validate("booking.confirmed", CONFIRMED).dataschema == "urn:commons:event:booking.confirmed:v1"


def test_an_unknown_type_is_refused():
    with pytest.raises(InvalidEventData, match="unknown event type 'booking.confirm'"):
        validate("booking.confirm", CONFIRMED)


def test_a_missing_field_is_named():
    data = {k: v for k, v in CONFIRMED.items() if k != "places_left"}
    with pytest.raises(InvalidEventData, match="places_left"):
        validate("booking.confirmed", data)


@pytest.mark.parametrize("value", ["7", 7.0, True, None])
def test_a_field_of_the_wrong_type_is_refused(value):
    with pytest.raises(InvalidEventData, match=r"booking_id"):
        validate("booking.confirmed", {**CONFIRMED, "booking_id": value})


def test_an_unexpected_field_is_refused():
    with pytest.raises(InvalidEventData, match="email"):
        validate("booking.confirmed", {**CONFIRMED, "email": "jo@example.org"})


def test_data_that_is_not_a_dict_is_refused():
    with pytest.raises(InvalidEventData):
        validate("booking.confirmed", [CONFIRMED])


def test_invalid_event_data_is_a_value_error():
    assert issubclass(InvalidEventData, ValueError)


def test_parse_gives_typed_frozen_data():
    data = parse({"type": "booking.confirmed", "data": CONFIRMED})
    assert isinstance(data, BookingConfirmed)
    assert (data.booking_id, data.reference) == (7, "ABC-DEF")
    with pytest.raises(AttributeError):
        data.party_size = 3  # type: ignore[misc]


def test_parse_refuses_data_that_does_not_match():
    with pytest.raises(InvalidEventData):
        parse({"type": "booking.confirmed", "data": {**CONFIRMED, "party_size": "two"}})


def test_notification_failed_needs_a_boolean_permanent():
    data = {"delivery_id": 1, "event_id": "e", "channel": "sms", "template": "t", "error": "429", "permanent": False}
    assert spec_for("notification.failed").version == 1
    validate("notification.failed", data)
    with pytest.raises(InvalidEventData, match="permanent"):
        validate("notification.failed", {**data, "permanent": 0})
