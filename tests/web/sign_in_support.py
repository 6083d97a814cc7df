"""Sign a test browser in as a resident, the way a resident does: a one-time link, then its button."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from booking.sign_in import Contact, request_sign_in_link, sign_in_token
from booking.tables import Resident, SignInLink
from commons.settings import get_settings
from tests.web.conftest import csrf_token


async def sign_in_link_for(email: str) -> str:
    """A fresh sign-in link path for the resident with this e-mail address."""
    issued = await request_sign_in_link(Contact(email=email.lower()), now=datetime.now(UTC))
    assert issued == 1, f"no sign-in link issued for {email}"
    resident = await Resident.select(Resident.id).where(Resident.email == email.lower()).first()
    link = (
        await SignInLink.select(SignInLink.id, SignInLink.nonce)
        .where(SignInLink.resident == resident["id"])
        .order_by(SignInLink.id, ascending=False)
        .first()
    )
    return f"/my-bookings/sign-in/{sign_in_token(get_settings().secret_key, link['id'], link['nonce'])}"


async def sign_in_as(client: httpx.AsyncClient, email: str) -> int:
    """Sign ``client`` in as the resident who booked with ``email``; returns the resident's id."""
    path = await sign_in_link_for(email)
    token = await csrf_token(client, path)
    response = await client.post(path, data={"_csrf_token": token})
    assert response.status_code == 303, response.text
    resident = await Resident.select(Resident.id).where(Resident.email == email.lower()).first()
    return resident["id"]
