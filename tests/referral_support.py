"""Partners, link workers and referral requests for the referral tests."""

from __future__ import annotations

from datetime import UTC, datetime

from booking.referrals import ReferralRequest, link_partner_staff
from booking.staff import StaffUser
from booking.states import ConsentSource, ReferralMode, StaffRole
from booking.tables import Partner, StaffMember
from booking.validation import ResidentDetails
from tests.builders import resident, unique
from tests.web.staff.support import make_staff


async def make_partner(name: str = "") -> Partner:
    partner = Partner(name=name or unique("Trust"), created_at=datetime.now(UTC))
    await partner.save()
    return partner


async def make_link_worker_account(partner: Partner | None = None) -> StaffMember:
    """A staff account with the role ``partner``, linked to ``partner`` (a new one if not given)."""
    partner = partner or await make_partner()
    member = await make_staff(StaffRole.PARTNER)
    await link_partner_staff(member.id, partner.id)
    return member


async def make_link_worker(partner: Partner | None = None) -> StaffUser:
    """A link worker as handlers see them."""
    member = await make_link_worker_account(partner)
    return StaffUser(member.id, member.email, member.name, StaffRole.PARTNER, frozenset())


def referral_request(
    session_id: int,
    label: str | ResidentDetails,
    *,
    mode: ReferralMode = ReferralMode.HOLD,
    party_size: int = 1,
    share: bool = True,
    days: int = 3,
) -> ReferralRequest:
    return ReferralRequest(
        session_id=session_id,
        resident=label if isinstance(label, ResidentDetails) else resident(label),
        party_size=party_size,
        consent_source=ConsentSource.PHONE,
        share_outcome=share,
        mode=mode,
        hold_days=days if mode is ReferralMode.HOLD else 0,
        note_for_staff="Uses a wheelchair",
    )
