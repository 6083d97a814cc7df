"""The absolute links messages carry: signed where they grant something, plain where they only show."""

from __future__ import annotations

from dataclasses import dataclass

from booking.manage_links import signed_token_for_booking
from booking.offer_links import offer_link_token
from booking.referrals import referral_link_token
from booking.sign_in import sign_in_link_token
from booking.staff_accounts import staff_link_token
from notifications.unsubscribe import unsubscribe_token


@dataclass(frozen=True)
class Links:
    base_url: str
    secret_key: str

    async def manage(self, booking_id: int) -> str:
        token = await signed_token_for_booking(self.secret_key, booking_id)
        # No token means the booking's links were revoked: point at the site rather than at a dead link.
        return f"{self.base_url}/bookings/manage/{token}" if token else f"{self.base_url}/"

    async def offer(self, offer_id: int) -> str | None:
        token = await offer_link_token(self.secret_key, offer_id)
        return None if token is None else f"{self.base_url}/offers/{token}"

    async def referral(self, referral_id: int) -> str | None:
        token = await referral_link_token(self.secret_key, referral_id)
        return None if token is None else f"{self.base_url}/referrals/{token}"

    async def sign_in(self, link_id: int) -> str | None:
        token = await sign_in_link_token(self.secret_key, link_id)
        return None if token is None else f"{self.base_url}/my-bookings/sign-in/{token}"

    async def staff_password(self, staff_link_id: int) -> str | None:
        token = await staff_link_token(self.secret_key, staff_link_id)
        return None if token is None else f"{self.base_url}/staff/password/{token}"

    def session(self, session_id: int) -> str:
        return f"{self.base_url}/sessions/{session_id}"

    def unsubscribe(self, resident_id: int) -> str:
        return f"{self.base_url}/notifications/unsubscribe/{unsubscribe_token(self.secret_key, resident_id)}"
