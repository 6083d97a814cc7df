"""The audit log viewer's queries: filters in SQL, newest first, pages; erasure blanks what it said of a resident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.audit import ERASED_SUMMARY, record_audit
from booking.audit_log import AuditFilters, changes_of, parse_audit_filters, search_audit
from booking.privacy import erase_resident
from booking.register import mark_attendance
from booking.register_bookings import WalkIn, add_walk_in, book_on_behalf
from booking.staff import StaffUser
from booking.states import Attendance, ConsentSource, StaffRole
from booking.tables import AuditEntry, Resident
from booking.validation import BookingRequest, ResidentDetails
from commons.db import write_transaction
from tests.builders import make_room, make_session, make_venue, unique
from tests.web.staff.support import make_staff

WHEN = datetime(2026, 10, 5, 9, tzinfo=UTC)


async def actor() -> StaffUser:
    member = await make_staff("coordinator", name="Cora Ordinator")
    return StaffUser(member.id, member.email, member.name, StaffRole.COORDINATOR, frozenset())


async def test_entries_newest_first_with_who_and_what_changed(db):
    staff = await actor()
    venue = await make_venue(name="Audit Library")
    await record_audit(staff, "session.moved", "session", 41, summary="Moved Chair yoga to the Hall",
                       before={"room": "Small room"}, after={"room": "Hall"}, venue_id=venue.id, now=WHEN)
    await record_audit(staff, "session.created", "session", 42, summary="Added Knit and natter",
                       after={"capacity": 12}, venue_id=venue.id, now=WHEN + timedelta(minutes=5))
    page = await search_audit(AuditFilters(staff_email=staff.email))
    assert page.total == 2
    newest, older = page.entries
    assert (newest.subject_id, older.subject_id) == (42, 41)
    assert (older.staff_email, older.staff_name, older.venue_name) == (staff.email, "Cora Ordinator", "Audit Library")
    assert [(c.field, c.before, c.after) for c in older.changes] == [("Room", "Small room", "Hall")]
    assert [(c.field, c.before, c.after) for c in newest.changes] == [("Capacity", None, "12")]
    assert older.when == "10am on Monday 5 October 2026"  # UK time: 9am UTC is 10am BST


async def test_each_filter_narrows_the_log(db):
    staff = await actor()
    here, there = await make_venue(), await make_venue()
    tag = unique("tag")
    await record_audit(staff, "session.moved", "session", 1, summary=f"Moved {tag}", venue_id=here.id, now=WHEN)
    await record_audit(staff, "room.changed", "room", 2, summary="Renamed the room", venue_id=there.id,
                       now=WHEN + timedelta(days=2))
    await record_audit(staff, "partner.archived", "partner", 3, summary="Archived 100% Fitness_Club",
                       now=WHEN + timedelta(days=4))

    async def ids(**filters) -> list[int]:
        page = await search_audit(AuditFilters(staff_email=staff.email, **filters))
        return [entry.subject_id for entry in page.entries]

    assert await ids() == [3, 2, 1]
    assert await ids(action="room.changed") == [2]
    assert await ids(subject_type="partner") == [3]
    assert await ids(venue_id=here.id) == [1]
    assert await ids(date_from=(WHEN + timedelta(days=1)).date()) == [3, 2]
    assert await ids(date_to=(WHEN + timedelta(days=2)).date()) == [2, 1]
    assert await ids(text=tag.upper()) == [1]  # case does not matter
    assert await ids(text="100% fitness_") == [3]  # % and _ are matched as typed, not as wildcards
    assert await ids(text="100%_") == []
    page = await search_audit(AuditFilters(staff_email=staff.email.upper()[:12].lower()))
    assert page.total >= 3  # part of the address is enough


async def test_pages_of_the_log(db):
    staff = await actor()
    for n in range(5):
        await record_audit(staff, "room.changed", "room", n, summary=f"Change {n}", now=WHEN + timedelta(minutes=n))
    first = await search_audit(AuditFilters(staff_email=staff.email), page_size=2)
    third = await search_audit(AuditFilters(staff_email=staff.email, page=3), page_size=2)
    beyond = await search_audit(AuditFilters(staff_email=staff.email, page=99), page_size=2)
    assert (first.total, first.pages, [e.subject_id for e in first.entries]) == (5, 3, [4, 3])
    assert [e.subject_id for e in third.entries] == [0]
    assert beyond.page == 3 and [e.subject_id for e in beyond.entries] == [0]


async def test_erasing_a_resident_blanks_what_the_log_said_about_them(db):
    staff = await actor()
    resident = Resident(name="Priya Erasable", email=f"{unique('priya')}@example.org", phone="+447700900123",
                        created_at=WHEN)
    await resident.save()
    async with write_transaction(Resident._meta.db):
        await record_audit(staff, "booking.created_for_resident", "booking", 7,
                           summary="Booked 2 places for Priya Erasable (priya@example.org)",
                           after={"name": "Priya Erasable", "phone": "+447700900123"}, resident_id=resident.id,
                           now=WHEN)
    await record_audit(staff, "room.changed", "room", 8, summary="Renamed the room", now=WHEN)

    await erase_resident(resident.id)

    page = await search_audit(AuditFilters(staff_email=staff.email))
    about_her = next(entry for entry in page.entries if entry.subject_id == 7)
    assert about_her.summary == ERASED_SUMMARY
    assert about_her.changes == []
    assert next(entry for entry in page.entries if entry.subject_id == 8).summary == "Renamed the room"
    shown = repr(page.entries)
    assert "Priya" not in shown and "+447700900123" not in shown and "priya@" not in shown
    assert (await search_audit(AuditFilters(text="Priya Erasable"))).total == 0


async def test_erasure_after_real_staff_actions_keeps_the_entries_but_not_the_residents_details(db):
    staff = await actor()
    room = await make_room(await make_venue(name="Erasure Library"))
    later = await make_session(room=room, starts_in=timedelta(days=3))
    now_on = await make_session(room=room, starts_in=timedelta(minutes=-10))
    name, email, phone = "Zebedee Quartermaine", f"{unique('zebedee')}@example.org", "+447700900456"
    note = "Brings a hearing dog called Biscuit"
    details = ResidentDetails(name, email, phone)
    booked = await book_on_behalf(later.id, BookingRequest(details, 2, note), ConsentSource.PHONE, staff,
                                  datetime.now(UTC))
    walked_in = await add_walk_in(now_on.id, WalkIn(name, 1, email, phone, note), staff, datetime.now(UTC))
    await mark_attendance(walked_in.booking_id, Attendance.NO_SHOW, staff, datetime.now(UTC))
    assert walked_in.resident_id == booked.resident_id  # the same resident, found by e-mail
    entries = AuditEntry.select().where(AuditEntry.resident == booked.resident_id).order_by(AuditEntry.id)
    before = await entries
    assert [row["action"] for row in before] == [
        "booking.made_on_behalf", "booking.walk_in_added", "booking.attendance_marked",
    ]
    assert all(name in row["summary"] for row in before)  # so the check below can fail

    await erase_resident(booked.resident_id)

    after = await entries
    assert [(row["id"], row["action"], row["staff_member"]) for row in after] == [
        (row["id"], row["action"], row["staff_member"]) for row in before
    ]
    for row in after:
        stored = " ".join((row["summary"], row["before"], row["after"])).lower()
        for personal in (name, "Zebedee", "Quartermaine", email, phone, "447700900456", note, "Biscuit"):
            assert personal.lower() not in stored, f"{row['action']} still holds {personal!r}: {stored}"
        assert row["summary"] == ERASED_SUMMARY


def test_before_and_after_as_field_changes():
    changes = changes_of('{"capacity": 12, "room_name": "Hall"}', '{"capacity": 15, "room_name": "Hall B"}')
    assert [(c.field, c.before, c.after) for c in changes] == [("Capacity", "12", "15"), ("Room name", "Hall", "Hall B")]
    assert [(c.before, c.after) for c in changes_of('{"archived": false}', '{"archived": true}')] == [("no", "yes")]
    assert [(c.before, c.after) for c in changes_of('{"note": ""}', "")] == [("(empty)", None)]
    assert changes_of("not json", "[1, 2]") == []


def test_filter_values_are_checked():
    filters, errors = parse_audit_filters(
        {"staff": " Ana@Example.org ", "action": "session.moved", "venue": "5", "from": "2026-10-01", "page": "2"},
        venue_choices={5},
    )
    assert not errors
    assert (filters.staff_email, filters.action, filters.venue_id, filters.page) == ("ana@example.org", "session.moved", 5, 2)
    _, errors = parse_audit_filters(
        {"action": "DROP TABLE", "subject_type": "x" * 70, "venue": "99999999999", "from": "2026-02-30",
         "to": "soon"},
        venue_choices={5},
    )
    assert set(errors) == {"action", "subject_type", "venue", "from", "to"}
    filters, errors = parse_audit_filters({"from": "2026-10-05", "to": "2026-10-01", "page": "-3"}, venue_choices=())
    assert set(errors) == {"to"} and filters.date_to is None and filters.page == 1
