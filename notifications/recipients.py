"""Who hears about something, and on which channels they have agreed to hear it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from booking.tables import Booking, Resident, WaitlistEntry
from notifications.states import Channel


@dataclass(frozen=True)
class Recipient:
    resident_id: int | None  #: None for someone who is not a resident (``Recipient.at_address``)
    name: str
    email: str | None
    phone: str | None  #: E.164
    contact_by_email: bool
    contact_by_sms: bool
    sms_consent_at: datetime | None
    sms_opted_out_at: datetime | None
    email_opted_out_at: datetime | None

    @classmethod
    def at_address(cls, email: str, name: str = "") -> Recipient:
        """Someone who is not a resident (a staff member), e-mailed only what they asked for, at this address."""
        return cls(
            resident_id=None,
            name=name,
            email=email,
            phone=None,
            contact_by_email=True,
            contact_by_sms=False,
            sms_consent_at=None,
            sms_opted_out_at=None,
            email_opted_out_at=None,
        )

    @property
    def takes_email(self) -> bool:
        return bool(self.email) and self.contact_by_email and self.email_opted_out_at is None

    @property
    def takes_texts(self) -> bool:
        """A number, the choice to be texted, recorded consent, and no STOP since."""
        return (
            bool(self.phone)
            and self.contact_by_sms
            and self.sms_consent_at is not None
            and self.sms_opted_out_at is None
        )

    def channels(self, *, sms_available: bool) -> list[Channel]:
        """E-mail and text, as far as the resident agreed and a text provider is configured."""
        wanted = [Channel.EMAIL] if self.takes_email else []
        if sms_available and self.takes_texts:
            wanted.append(Channel.SMS)
        return wanted

    def address(self, channel: Channel) -> str:
        address = self.email if channel is Channel.EMAIL else self.phone
        assert address, f"resident {self.resident_id} has no {channel.value} address"
        return address


_COLUMNS = (
    Resident.id,
    Resident.name,
    Resident.email,
    Resident.phone,
    Resident.contact_by_email,
    Resident.contact_by_sms,
    Resident.sms_consent_at,
    Resident.sms_opted_out_at,
    Resident.email_opted_out_at,
)


async def recipient(resident_id: int) -> Recipient | None:
    row = await Resident.select(*_COLUMNS).where(Resident.id == resident_id).first()
    if row is None:
        return None
    return Recipient(resident_id=row.pop("id"), **row)


async def booking_recipient(booking_id: int) -> Recipient | None:
    row = await Booking.select(Booking.resident).where(Booking.id == booking_id).first()
    return None if row is None else await recipient(row["resident"])


async def waitlist_recipient(entry_id: int) -> Recipient | None:
    row = await WaitlistEntry.select(WaitlistEntry.resident).where(WaitlistEntry.id == entry_id).first()
    return None if row is None else await recipient(row["resident"])
