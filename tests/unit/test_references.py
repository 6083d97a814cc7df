from booking.references import (
    ALPHABET,
    hash_token,
    is_reference,
    new_manage_token,
    new_reference,
    normalise_reference,
    token_matches,
)


def test_references_are_short_readable_and_unambiguous():
    refs = {new_reference() for _ in range(2000)}
    assert len(refs) == 2000
    for ref in refs:
        assert is_reference(ref)
        assert not set(ref.replace("-", "")) & set("01OIL")


def test_people_can_type_references_loosely():
    assert normalise_reference("k7p 3qx") == "K7P-3QX"
    assert normalise_reference("K7P3QX") == "K7P-3QX"


def test_tokens_are_stored_only_as_hashes_and_compared_safely():
    token = new_manage_token()
    stored = hash_token(token)
    assert stored != token and len(stored) == 64
    assert token_matches(token, stored)
    assert not token_matches(token + "x", stored)
    assert not token_matches("", stored)
    assert not token_matches(token, "")


def test_alphabet_excludes_confusable_characters():
    assert not set("01OIL") & set(ALPHABET)
