"""GET /staff/audit: administrators only; filters, before → after, pages, and erased residents."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from booking.audit import ERASED_SUMMARY, record_audit
from booking.privacy import erase_resident
from booking.staff import StaffUser
from booking.states import StaffRole
from booking.tables import Resident
from tests.builders import unique
from tests.web.staff.support import make_staff

WHEN = datetime(2026, 10, 5, 9, tzinfo=UTC)


async def actor(name: str = "Cora Ordinator") -> StaffUser:
    member = await make_staff("coordinator", name=name)
    return StaffUser(member.id, member.email, member.name, StaffRole.COORDINATOR, frozenset())


async def test_a_volunteer_is_refused(as_volunteer):
    assert (await as_volunteer.get("/staff/audit")).status_code == 403


async def test_a_coordinator_is_refused(as_coordinator):
    assert (await as_coordinator.get("/staff/audit")).status_code == 403


async def test_an_administrator_sees_who_what_when_and_before_and_after(as_admin, own_venue):
    staff = await actor()
    await record_audit(staff, "session.moved", "session", 41, summary="Moved <Chair yoga> to the Hall",
                       before={"room": "Small room"}, after={"room": "Hall"}, venue_id=own_venue.id, now=WHEN)
    response = await as_admin.get(f"/staff/audit?staff={staff.email}")
    assert response.status_code == 200
    page = response.text
    assert "1 entry" in page
    assert "Cora Ordinator" in page and staff.email in page
    assert "Moved &lt;Chair yoga&gt; to the Hall" in page
    assert "10am on Monday 5 October 2026" in page
    assert "<strong>Room</strong>:" in page and "Small room" in page and "Hall" in page
    assert "changed to</span> Hall" in page  # the arrow is spelt out for screen readers
    assert "session.moved, session 41, Our Library" in page
    assert response.headers["cache-control"] == "no-store"


async def test_filters_narrow_the_list_and_are_kept_in_the_form(as_admin):
    staff = await actor()
    tag = unique("tag")
    await record_audit(staff, "room.changed", "room", 1, summary=f"Renamed {tag}", now=WHEN)
    await record_audit(staff, "partner.archived", "partner", 2, summary="Archived a partner", now=WHEN)
    page = (await as_admin.get(f"/staff/audit?staff={staff.email}&action=partner.archived")).text
    assert "Archived a partner" in page and tag not in page
    assert '<option value="partner.archived" selected>' in page
    page = (await as_admin.get(f"/staff/audit?text={tag}&from=2026-10-05&to=2026-10-05")).text
    assert f"Renamed {tag}" in page and "1 entry" in page
    assert f'value="{tag}"' in page


@pytest.mark.parametrize("params", ["venue=99999999999", "from=2026-02-30", "action=DROP%20TABLE", "to=x",
                                    "page=99999999999999", "subject_type=%3D%3D"])
async def test_bad_filters_never_cause_an_error_page(as_admin, params):
    response = await as_admin.get(f"/staff/audit?{params}")
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert "There is a problem" in response.text


async def test_pages_of_fifty(as_admin):
    staff = await actor()
    for n in range(51):
        await record_audit(staff, "room.changed", "room", n, summary=f"Change number {n}",
                           now=WHEN + timedelta(seconds=n))
    first = (await as_admin.get(f"/staff/audit?staff={staff.email}")).text
    assert "51 entries" in first and "Change number 50" in first and not re.search(r"Change number 0\s*<", first)
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = (await as_admin.get(f"/staff/audit?staff={staff.email}&page=2")).text
    assert re.search(r"Change number 0\s*<", second)
    assert "Change number 50" not in second


async def test_the_viewer_shows_the_erased_summary_after_a_resident_asks_to_be_forgotten(as_admin):
    staff = await actor()
    resident = Resident(name="Priya Forgettable", email=f"{unique('priya')}@example.org", created_at=WHEN)
    await resident.save()
    await record_audit(staff, "booking.created_for_resident", "booking", 9,
                       summary="Booked 2 places for Priya Forgettable", after={"name": "Priya Forgettable"},
                       resident_id=resident.id, now=WHEN)
    await erase_resident(resident.id)
    page = (await as_admin.get(f"/staff/audit?staff={staff.email}")).text
    assert "Priya" not in page
    assert ERASED_SUMMARY.replace("'", "&#39;") in page
