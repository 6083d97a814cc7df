"""One-time sign-in links (booking/sign_in.py) against real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta

import pytest

import booking.sign_in as sign_in_module
from booking.privacy import erase_resident
from booking.service import book_place
from booking.sign_in import (
    LIMIT_WINDOW,
    LINK_LIFETIME,
    MAX_LINKS,
    Channel,
    Contact,
    find_sign_in_link,
    parse_contact,
    redeem_sign_in_link,
    request_sign_in_link,
    sign_in_link_token,
    sign_in_token,
)
from booking.tables import Resident, SignInLink
from booking.validation import ResidentDetails
from events.tables import OutboxEvent
from tests.builders import make_session, unique

SECRET = "test-secret-key-for-sign-in-links"
EVENT = "resident.sign_in_requested"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def new_email() -> str:
    return f"{unique('signin')}@example.org"


def new_phone() -> str:
    return f"+4477009{random.randrange(10**5):05d}"


async def booked_resident(*, email: str | None = None, phone: str | None = None) -> int:
    session = await make_session()
    confirmation = await book_place(session.id, ResidentDetails(name="Ada Resident", email=email, phone=phone), 1)
    return confirmation.resident_id


async def links_of(resident_id: int) -> list[dict]:
    return await SignInLink.select().where(SignInLink.resident == resident_id).order_by(SignInLink.id)


async def sign_in_events(resident_id: int) -> list[dict]:
    rows = await OutboxEvent.select(OutboxEvent.payload).where(OutboxEvent.type == EVENT).order_by(OutboxEvent.id)
    data = [json.loads(row["payload"])["data"] for row in rows]
    return [item for item in data if item["resident_id"] == resident_id]


async def issue(resident_id: int, contact: Contact, at: datetime) -> str:
    assert await request_sign_in_link(contact, now=at) == 1
    link = (await links_of(resident_id))[-1]
    return sign_in_token(SECRET, link["id"], link["nonce"])


# --- parse_contact (pure) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("  Ada@Example.ORG ", Contact(email="ada@example.org")),
        ("07700 900 982", Contact(phone="+447700900982")),
        ("+44 7700 900982", Contact(phone="+447700900982")),
    ],
)
def test_parse_contact_understands_an_email_address_or_a_uk_mobile(typed, expected):
    assert parse_contact(typed) == (expected, None)
    assert expected.channel == (Channel.EMAIL if expected.email else Channel.SMS)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter the email address or mobile number you booked with"),
        ("   ", "Enter the email address or mobile number you booked with"),
        (None, "Enter the email address or mobile number you booked with"),
        ("someone@", "Enter an email address in the correct format, like name@example.com"),
        ("a@" + "b" * 320 + ".org", "Enter an email address in the correct format, like name@example.com"),
        ("not an address", "Enter an email address, like name@example.com, or a UK mobile number, like 07700 900 982"),
        ("0121 496 0000", "Enter an email address, like name@example.com, or a UK mobile number, like 07700 900 982"),
    ],
)
def test_parse_contact_says_what_to_type(typed, message):
    assert parse_contact(typed) == (None, message)


# --- request_sign_in_link ----------------------------------------------------------------------------


async def test_a_known_email_address_records_a_link_and_its_event(db):
    email = new_email()
    resident_id = await booked_resident(email=email)
    at = now()
    assert await request_sign_in_link(Contact(email=email), now=at) == 1

    [link] = await links_of(resident_id)
    assert link["channel"] == "email"
    assert link["created_at"] == at and link["expires_at"] == at + LINK_LIFETIME
    assert link["used_at"] is None
    assert await sign_in_events(resident_id) == [
        {"sign_in_link_id": link["id"], "resident_id": resident_id, "channel": "email"}
    ]
    assert await sign_in_link_token(SECRET, link["id"]) == sign_in_token(SECRET, link["id"], link["nonce"])


async def test_a_known_mobile_number_records_a_link_sent_by_text(db):
    phone = new_phone()
    resident_id = await booked_resident(phone=phone)
    contact, _ = parse_contact("0" + phone.removeprefix("+44"))
    assert await request_sign_in_link(contact, now=now()) == 1

    [link] = await links_of(resident_id)
    assert link["channel"] == "sms"
    assert await sign_in_events(resident_id) == [
        {"sign_in_link_id": link["id"], "resident_id": resident_id, "channel": "sms"}
    ]


async def test_the_link_and_its_event_are_one_transaction(db, monkeypatch):
    email = new_email()
    resident_id = await booked_resident(email=email)

    async def broken_outbox(*_args, **_kwargs):
        raise RuntimeError("the outbox is unavailable")

    monkeypatch.setattr(sign_in_module, "record_event", broken_outbox)
    with pytest.raises(RuntimeError):
        await request_sign_in_link(Contact(email=email), now=now())
    assert await links_of(resident_id) == []  # rolled back with the event it could not record


async def test_an_unknown_address_records_nothing(db):
    links_before = await SignInLink.count()
    events_before = await OutboxEvent.count().where(OutboxEvent.type == EVENT)
    assert await request_sign_in_link(Contact(email=new_email()), now=now()) == 0
    assert await request_sign_in_link(Contact(phone=new_phone()), now=now()) == 0
    assert await SignInLink.count() == links_before
    assert await OutboxEvent.count().where(OutboxEvent.type == EVENT) == events_before


async def test_an_erased_resident_gets_no_link(db):
    email = new_email()
    resident_id = await booked_resident(email=email)
    await erase_resident(resident_id)
    assert await request_sign_in_link(Contact(email=email), now=now()) == 0

    # Even if the address were still on the row, an erased resident is never signed in.
    other_email = new_email()
    other_id = await booked_resident(email=other_email)
    await Resident.update({Resident.erased_at: now()}).where(Resident.id == other_id)
    assert await request_sign_in_link(Contact(email=other_email), now=now()) == 0
    assert await links_of(resident_id) == [] and await links_of(other_id) == []
    assert await sign_in_events(resident_id) == [] and await sign_in_events(other_id) == []


async def test_at_most_three_links_per_resident_in_fifteen_minutes(db):
    email = new_email()
    resident_id = await booked_resident(email=email)
    start = now()
    assert MAX_LINKS == 3 and LIMIT_WINDOW == timedelta(minutes=15)
    for minute in range(MAX_LINKS):
        assert await request_sign_in_link(Contact(email=email), now=start + timedelta(minutes=minute)) == 1
    assert await request_sign_in_link(Contact(email=email), now=start + timedelta(minutes=10)) == 0
    assert len(await links_of(resident_id)) == 3
    assert len(await sign_in_events(resident_id)) == 3

    # Fifteen minutes after the first: one more (the other two are still in the window).
    later = start + LIMIT_WINDOW + timedelta(seconds=1)
    assert await request_sign_in_link(Contact(email=email), now=later) == 1
    assert await request_sign_in_link(Contact(email=email), now=later) == 0
    assert len(await links_of(resident_id)) == 4
    assert len(await sign_in_events(resident_id)) == 4


async def test_one_residents_limit_does_not_block_another(db):
    busy, quiet = new_email(), new_email()
    await booked_resident(email=busy)
    await booked_resident(email=quiet)
    at = now()
    for _ in range(MAX_LINKS + 1):
        await request_sign_in_link(Contact(email=busy), now=at)
    assert await request_sign_in_link(Contact(email=quiet), now=at) == 1


# --- tokens --------------------------------------------------------------------------------------------


async def test_redeem_gives_the_resident_once(db):
    email = new_email()
    resident_id = await booked_resident(email=email)
    token = await issue(resident_id, Contact(email=email), now())

    state = await find_sign_in_link(SECRET, token, now=now())
    assert state is not None and state.usable and state.resident_id == resident_id
    assert await redeem_sign_in_link(SECRET, token, now=now()) == resident_id
    assert await redeem_sign_in_link(SECRET, token, now=now()) is None
    used = await find_sign_in_link(SECRET, token, now=now())
    assert used is not None and used.used and not used.usable


async def test_a_link_signs_in_only_its_own_resident(db):
    first, second = new_email(), new_email()
    first_id = await booked_resident(email=first)
    second_id = await booked_resident(email=second)
    first_token = await issue(first_id, Contact(email=first), now())
    second_token = await issue(second_id, Contact(email=second), now())
    assert await redeem_sign_in_link(SECRET, second_token, now=now()) == second_id
    assert await redeem_sign_in_link(SECRET, first_token, now=now()) == first_id


async def test_concurrent_redeems_sign_in_exactly_once(db):
    email = new_email()
    resident_id = await booked_resident(email=email)
    token = await issue(resident_id, Contact(email=email), now())

    results = await asyncio.gather(*(redeem_sign_in_link(SECRET, token, now=now()) for _ in range(5)))
    assert sorted(results, key=lambda r: r is None) == [resident_id, None, None, None, None]


async def test_an_expired_link_does_not_work(db):
    email = new_email()
    resident_id = await booked_resident(email=email)
    issued_at = now() - LINK_LIFETIME - timedelta(seconds=1)
    token = await issue(resident_id, Contact(email=email), issued_at)

    state = await find_sign_in_link(SECRET, token, now=now())
    assert state is not None and state.expired and not state.usable
    assert await redeem_sign_in_link(SECRET, token, now=now()) is None
    # Just before it ran out, it would have worked.
    assert (await find_sign_in_link(SECRET, token, now=issued_at + LINK_LIFETIME - timedelta(seconds=1))).usable


async def test_a_link_stops_working_when_the_resident_is_erased(db):
    email = new_email()
    resident_id = await booked_resident(email=email)
    token = await issue(resident_id, Contact(email=email), now())
    await erase_resident(resident_id)
    assert await redeem_sign_in_link(SECRET, token, now=now()) is None


async def test_forged_and_malformed_tokens_give_nothing(db):
    email = new_email()
    resident_id = await booked_resident(email=email)
    token = await issue(resident_id, Contact(email=email), now())
    link_id, _, mac = token.partition(".")
    forged = [
        f"{link_id}.{('A' if mac[0] != 'A' else 'B') + mac[1:]}",  # one character of the MAC changed
        f"{int(link_id) + 1}.{mac}",  # another link's id with this MAC
        sign_in_token("another-secret-key", int(link_id), (await links_of(resident_id))[-1]["nonce"]),
        f"{link_id}.{mac[:-1]}",  # too short
        f"{link_id}.{mac}x",  # too long
        f"-{link_id}.{mac}",
        f"{'9' * 19}.{mac}",  # an id too large for the column
        f"{link_id}{mac}",
        token.upper(),
        "",
        ".",
        "not-a-token",
    ]
    for candidate in forged:
        assert await find_sign_in_link(SECRET, candidate, now=now()) is None, candidate
        assert await redeem_sign_in_link(SECRET, candidate, now=now()) is None, candidate
    # None of those used the real link up.
    assert await redeem_sign_in_link(SECRET, token, now=now()) == resident_id


async def test_a_forged_link_with_an_id_beyond_any_row_gives_nothing(db):
    """A user can type any digits: an id past the 32-bit column is "no such link", not a database error."""
    mac = "A" * 32
    for link_id in (2**31, 10**11, 10**18 - 1):
        assert await find_sign_in_link(SECRET, f"{link_id}.{mac}", now=now()) is None
        assert await redeem_sign_in_link(SECRET, f"{link_id}.{mac}", now=now()) is None


async def test_no_token_for_a_link_that_does_not_exist(db):
    assert await sign_in_link_token(SECRET, 2**31 - 1) is None
