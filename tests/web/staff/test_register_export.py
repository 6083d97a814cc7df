"""The register as a CSV file: contact details, so coordinators and admins only, each download audited."""

from __future__ import annotations

import csv
import io
import itertools
import random

from booking.service import book_place
from booking.tables import AuditEntry
from booking.validation import ResidentDetails
from tests.builders import make_room, make_session, unique

PHONES = itertools.count(random.randrange(0, 90000))  #: mobile numbers, apart from other runs on a kept database


async def booked_session(venue):
    session = await make_session(capacity=5, room=await make_room(venue=venue))
    formula = ResidentDetails(name="=SUM(1+1)", email=f"{unique('csv')}@example.org")
    plain = ResidentDetails(name="Grace Hopper", phone=f"+4477009{next(PHONES):05d}", email=None)
    await book_place(session.id, formula, 1)
    await book_place(session.id, plain, 2, support_note="Uses a wheelchair")
    return session


async def test_a_coordinator_downloads_the_register_and_it_is_audited(as_coordinator, coordinator, own_venue):
    session = await booked_session(own_venue)
    response = await as_coordinator.get(f"/staff/sessions/{session.id}/register.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith(f'attachment; filename="commons-register-{session.id}-')
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["Reference", "Name", "Email", "Mobile"]
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["Grace Hopper"][3].startswith("07700 9") and by_name["Grace Hopper"][4] == "2"  # as people write it
    assert by_name["Grace Hopper"][7] == "Uses a wheelchair"
    assert "'=SUM(1+1)" in by_name  # never run as a formula
    entry = await AuditEntry.select().where(
        (AuditEntry.subject_type == "session") & (AuditEntry.subject_id == session.id)
        & (AuditEntry.action == "register.exported")
    ).first()
    assert entry is not None and entry["staff_member"] == coordinator.id and entry["venue"] == own_venue.id


async def test_volunteers_cannot_download_personal_data(as_volunteer, own_venue):
    session = await booked_session(own_venue)
    assert (await as_volunteer.get(f"/staff/sessions/{session.id}/register.csv")).status_code == 403
    page = await as_volunteer.get(f"/staff/sessions/{session.id}/register")
    assert page.status_code == 200 and "register.csv" not in page.text


async def test_a_coordinator_cannot_download_another_venues_register(as_coordinator, other_venue):
    session = await booked_session(other_venue)
    assert (await as_coordinator.get(f"/staff/sessions/{session.id}/register.csv")).status_code == 403
