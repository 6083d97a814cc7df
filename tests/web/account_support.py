"""Helpers for tests of "Find my bookings": book directly, sign a browser in through a real link."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from booking.service import BookingConfirmation, book_place
from booking.sign_in import Contact, request_sign_in_link, sign_in_link_token
from booking.tables import SignInLink
from booking.validation import ResidentDetails
from commons.settings import DEV_SECRET_KEY
from tests.builders import unique
from tests.web.conftest import csrf_token

SESSION_COOKIE = "commons_session"


def someone(label: str = "resident") -> ResidentDetails:
    return ResidentDetails(name=f"Resident {label}", email=f"{unique(label)}@example.org")


async def book(session_id: int, who: ResidentDetails, party_size: int = 1) -> BookingConfirmation:
    return await book_place(session_id, who, party_size)


async def latest_link_token(resident_id: int) -> str:
    row = (
        await SignInLink.select(SignInLink.id)
        .where(SignInLink.resident == resident_id)
        .order_by(SignInLink.id, ascending=False)
        .first()
    )
    assert row is not None, "no sign-in link was recorded"
    token = await sign_in_link_token(DEV_SECRET_KEY, row["id"])
    assert token is not None
    return token


async def issue_link(email: str, resident_id: int) -> str:
    issued = await request_sign_in_link(Contact(email=email), now=datetime.now(UTC))
    assert issued == 1
    return await latest_link_token(resident_id)


async def use_link(client: httpx.AsyncClient, token: str) -> httpx.Response:
    csrf = await csrf_token(client, f"/my-bookings/sign-in/{token}")
    return await client.post(f"/my-bookings/sign-in/{token}", data={"_csrf_token": csrf})


async def sign_in_as(client: httpx.AsyncClient, email: str, resident_id: int) -> None:
    response = await use_link(client, await issue_link(email, resident_id))
    assert response.status_code == 303 and response.headers["location"] == "/my-bookings"
