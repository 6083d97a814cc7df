"""Postcode districts: what residents type, the districts we know, and distances."""

from __future__ import annotations

import pytest

from booking.demo import VENUES
from booking.postcodes import DISTRICTS, PostcodeError, distance_miles, district_of, normalise


@pytest.mark.parametrize("typed", ["ws12 1aa", "WS12", " ws121aa ", "Ws12  1AA"])
def test_what_residents_type_becomes_a_district(typed):
    assert district_of(typed) == "WS12"


def test_normalise_puts_one_space_before_the_inward_code():
    assert normalise(" ws121aa ") == "WS12 1AA"
    assert normalise("st16") == "ST16"


def test_every_demo_venue_is_in_a_known_district():
    assert {district_of(v.postcode) for v in VENUES} <= set(DISTRICTS)
    assert 20 <= len(DISTRICTS) <= 40


def test_an_unknown_district_gets_a_specific_message():
    with pytest.raises(PostcodeError) as error:
        district_of("WS99 1AA")
    assert error.value.message.startswith("We do not have WS99 in our list of local postcodes.")
    assert "like WS11 1DB" in error.value.message


@pytest.mark.parametrize("typed", ["banana", "12345", "\x00", "WS12 1AA 1AA", "<script>"])
def test_something_that_is_not_a_postcode(typed):
    with pytest.raises(PostcodeError) as error:
        district_of(typed)
    assert error.value.message == "Enter a real postcode, like WS11 1DB"


def test_distance_in_miles():
    assert distance_miles((52.71, -2.0), (52.71, -2.0)) == 0
    # Hednesford to Stafford is about 8 miles as the crow flies.
    assert 6 < distance_miles(DISTRICTS["WS12"], DISTRICTS["ST16"]) < 10
    # One degree of latitude is about 69 miles.
    assert distance_miles((52.0, -2.0), (53.0, -2.0)) == pytest.approx(69.1, abs=0.2)
