"""Signed manage links: unguessable, tied to the stored token hash, revocable."""

from __future__ import annotations

from booking.manage_links import (
    find_booking_by_signed_token,
    reference_of,
    signed_manage_token,
    verify_signed_manage_token,
)
from booking.references import hash_token
from booking.tables import Booking
from tests.events.support import book_one

SECRET = "a-test-secret-key-that-is-long-enough-for-production"
HASH = hash_token("the-original-manage-token")


def test_a_signed_token_starts_with_the_reference_and_verifies():
    token = signed_manage_token(SECRET, "K7P-3QX", HASH)

    assert token.startswith("K7P-3QX.")
    assert reference_of(token) == "K7P-3QX"
    assert verify_signed_manage_token(SECRET, token, HASH)


def test_signing_is_deterministic_and_url_safe():
    token = signed_manage_token(SECRET, "K7P-3QX", HASH)

    assert token == signed_manage_token(SECRET, "K7P-3QX", HASH)
    assert all(c.isalnum() or c in "-_." for c in token)


def test_a_changed_or_cleared_hash_revokes_the_link():
    token = signed_manage_token(SECRET, "K7P-3QX", HASH)

    assert not verify_signed_manage_token(SECRET, token, hash_token("a-new-token"))
    assert not verify_signed_manage_token(SECRET, token, "")


def test_forged_tokens_do_not_verify():
    token = signed_manage_token(SECRET, "K7P-3QX", HASH)
    other_reference = token.replace("K7P-3QX", "K7P-3QY")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert not verify_signed_manage_token(SECRET, other_reference, HASH)
    assert not verify_signed_manage_token(SECRET, tampered, HASH)
    assert not verify_signed_manage_token("another-secret", token, HASH)
    for junk in ("", "K7P-3QX", "K7P-3QX.", ".abc", "not-a-reference.abc"):
        assert not verify_signed_manage_token(SECRET, junk, HASH)
        assert reference_of(junk) is None


async def test_find_booking_by_signed_token(db):
    _, confirmation = await book_one()
    stored = await Booking.select(Booking.manage_token_hash).where(Booking.id == confirmation.booking_id).first()
    token = signed_manage_token(SECRET, confirmation.reference, stored["manage_token_hash"])

    found = await find_booking_by_signed_token(SECRET, token)

    assert found is not None and found.id == confirmation.booking_id
    assert await find_booking_by_signed_token("another-secret", token) is None
    assert await find_booking_by_signed_token(SECRET, "ABC-DEF.nonsense") is None

    await Booking.update({Booking.manage_token_hash: ""}).where(Booking.id == confirmation.booking_id)
    assert await find_booking_by_signed_token(SECRET, token) is None
