"""parse_filters: every value is checked, and each bad one has its own message."""

from __future__ import annotations

from datetime import date

import pytest

from booking.search import SearchFilters, parse_filters

TODAY = date(2027, 3, 1)


def parse(**params):
    return parse_filters(params, today=TODAY)


def test_nothing_chosen_means_everything():
    assert parse() == (SearchFilters(), {})


def test_good_values_become_filters():
    filters, errors = parse(
        category="craft",
        venue="hednesford",
        near="ws12 1aa",
        within="3",
        day=["friday", "monday"],
        **{"from": "2027-03-02", "to": "2027-03-09"},
        time=["evening"],
        access=["hearing_loop", "step_free"],
        has_places="yes",
        page="2",
    )
    assert errors == {}
    assert filters == SearchFilters(
        category="craft",
        venue="hednesford",
        near="WS12 1AA",
        within=3,
        days=("monday", "friday"),
        date_from=date(2027, 3, 2),
        date_to=date(2027, 3, 9),
        times=("evening",),
        access=("step_free", "hearing_loop"),
        has_places=True,
        page=2,
    )
    assert filters.district == "WS12"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"category": "darts"}, "category", "Choose a type of activity from the list"),
        ({"venue": "../etc"}, "venue", "Choose a venue from the list"),
        ({"near": "WS99"}, "near", "We do not have WS99 in our list of local postcodes."),
        ({"near": "banana"}, "near", "Enter a real postcode, like WS11 1DB"),
        ({"within": "7"}, "within", "Choose a distance from the list"),
        ({"day": ["funday"]}, "day", "Choose days of the week from the list"),
        ({"time": ["midnight"]}, "time", "Choose morning, afternoon or evening"),
        ({"access": ["lift"]}, "access", "Choose access needs from the list"),
        ({"has_places": "maybe"}, "has_places", "Tick the box to see only sessions with places left"),
        ({"from": "banana"}, "from", "The start date must be a real date, like 2027-03-03"),
        ({"from": "2027-02-30"}, "from", "The start date must be a real date"),
        ({"to": "3/3/2027"}, "to", "The end date must be a real date"),
        ({"to": "2027-02-28"}, "to", "The end date must be today or in the future"),
        ({"from": "2029-01-01"}, "from", "The start date must be within the next 12 months"),
        ({"from": "2027-03-09", "to": "2027-03-02"}, "to", "The end date must be the same as or after the start date"),
    ],
)
def test_each_bad_value_has_its_own_message_and_is_left_out(params, field, message):
    filters, errors = parse(**params)
    assert list(errors) == [field]
    assert errors[field].startswith(message)
    assert filters.category is None and filters.venue is None and filters.near is None
    assert filters.days == () and filters.times == () and filters.access == ()
    assert filters.date_to is None


def test_good_values_are_kept_next_to_bad_ones():
    filters, errors = parse(day=["monday", "funday"], category="craft")
    assert set(errors) == {"day"}
    assert filters.days == ("monday",) and filters.category == "craft"


@pytest.mark.parametrize("page", ["-1", "0", "x", "99999999999", ""])
def test_a_strange_page_number_means_the_first_page(page):
    filters, errors = parse(page=page)
    assert filters.page == 1 and errors == {}


def test_query_string_keeps_the_filters_for_links():
    filters, _ = parse(category="craft", day=["monday"], near="WS12", has_places="yes")
    assert filters.query_string(3) == "category=craft&near=WS12&within=5&day=monday&has_places=yes&page=3"
    assert filters.query_string(1) == "category=craft&near=WS12&within=5&day=monday&has_places=yes"
