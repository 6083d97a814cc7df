"""Staff accounts for tests, and a browser signed in as one of them."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import httpx

from booking.staff_accounts import hash_password
from booking.states import StaffRole
from booking.tables import AuditEntry, StaffMember, StaffVenue
from tests.builders import unique

PASSWORD = "correct horse battery staple"
CSRF_INPUT = re.compile(r'name="_csrf_token" value="([^"]+)"')
_HASH = hash_password(PASSWORD)  #: argon2 is slow on purpose: hash once for every test account


async def make_staff(role: StaffRole | str = StaffRole.ADMIN, venues=(), *, name: str = "", active: bool = True) -> StaffMember:
    """A staff member who can sign in with ``PASSWORD``; ``venues`` are Venue rows or ids."""
    role = StaffRole(role)
    member = StaffMember(
        email=f"{unique(role.value)}@staff.example.org",
        name=name or f"Test {role.label}",
        role=role.value,
        password_hash=_HASH,
        active=active,
        created_at=datetime.now(timezone.utc),
    )
    await member.save()
    for venue in venues:
        await StaffVenue(staff_member=member.id, venue=getattr(venue, "id", venue)).save()
    return member


async def staff_csrf(client: httpx.AsyncClient, page: str = "/staff/sign-in") -> str:
    response = await client.get(page)
    assert response.status_code == 200, response.text
    match = CSRF_INPUT.search(response.text)
    assert match, f"{page} has no form with a CSRF token"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, member: StaffMember, password: str = PASSWORD) -> httpx.Response:
    """Sign this browser in as ``member``; returns the response to the sign-in form."""
    token = await staff_csrf(client)
    response = await client.post(
        "/staff/sign-in", data={"email": member.email, "password": password, "_csrf_token": token}
    )
    assert response.status_code == 303, response.text
    return response


async def post_form(client: httpx.AsyncClient, url: str, data: dict | None = None, *, page: str = "/staff/account", **kwargs):
    """POST a staff form as a browser would: with the CSRF token a staff page carried."""
    token = await staff_csrf(client, page)
    return await client.post(url, data={**(data or {}), "_csrf_token": token}, **kwargs)


async def latest_audit(subject_type: str, subject_id: int) -> dict | None:
    """The newest audit entry about one thing."""
    return (
        await AuditEntry.select()
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .order_by(AuditEntry.id, ascending=False)
        .first()
    )
