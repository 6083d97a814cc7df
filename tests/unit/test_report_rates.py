"""Report rates are worked out from counts; nothing to divide by is "no data", never 0%."""

from __future__ import annotations

from datetime import date

from booking.open_hours import ASSUMED_MINUTES, parse_opening_hours
from booking.report_figures import NO_DATA, Figures, hours, percent, rate, total


def test_rate_with_nothing_to_divide_by_is_no_data():
    assert rate(0, 0) is None
    assert percent(rate(3, 0)) == NO_DATA == "no data"


def test_percent_rounds_to_one_decimal_place_and_drops_a_zero_decimal():
    assert percent(rate(3, 4)) == "75%"
    assert percent(rate(2, 3)) == "66.7%"
    assert percent(0.0) == "0%"


def test_attendance_and_no_show_rates_count_only_marked_places():
    figures = Figures(booked_places=10, attended_places=6, no_show_places=2)
    assert figures.marked_places == 8
    assert figures.attendance_rate == 0.75
    assert figures.no_show_rate == 0.25


def test_rates_of_a_slice_with_no_registers_marked_are_no_data():
    figures = Figures(sessions_run=2, places_offered=20, booked_places=5)
    assert figures.attendance_rate is None and figures.no_show_rate is None
    assert figures.fill_rate == 0.25


def test_fill_rate_and_utilisation():
    figures = Figures(places_offered=40, booked_places=30, booked_minutes=90, open_minutes=600)
    assert figures.fill_rate == 0.75
    assert figures.utilisation == 0.15
    assert Figures().fill_rate is None and Figures().utilisation is None


def test_figures_add_up_field_by_field():
    a = Figures(sessions_run=1, places_offered=10, booked_places=4, waitlist_people=2, booked_minutes=60)
    b = Figures(sessions_run=2, places_offered=5, booked_places=5, waitlist_people=1, booked_minutes=30)
    combined = total([a, b])
    assert (combined.sessions_run, combined.places_offered, combined.booked_places) == (3, 15, 9)
    assert (combined.waitlist_people, combined.booked_minutes) == (3, 90)
    assert combined.fill_rate == 0.6


def test_hours_are_shown_to_one_decimal_place():
    assert hours(90) == "1.5"
    assert hours(120) == "2"


def test_opening_hours_one_line_per_day():
    weekly = parse_opening_hours("Monday 10am to 1pm\nTuesday 10am to 5pm\nSaturday 10:30am to 12 noon")
    assert not weekly.assumed
    assert weekly.minutes == (180, 420, 0, 0, 0, 90, 0)


def test_opening_hours_day_ranges_24_hour_times_and_closed_days():
    weekly = parse_opening_hours("Monday to Friday: 9am to 7pm\nSaturday: 09:00 to 13:30\nSunday: closed")
    assert weekly.minutes == (600, 600, 600, 600, 600, 270, 0)


def test_unreadable_opening_hours_fall_back_to_the_assumption():
    for text in ("", "Ring for details", "Monday 5pm to 9am"):
        weekly = parse_opening_hours(text)
        assert weekly.assumed and weekly.minutes == ASSUMED_MINUTES


def test_open_minutes_over_a_range_count_each_day_once():
    weekly = parse_opening_hours("Monday to Friday: 9am to 5pm")
    monday = date(2026, 11, 2)
    assert weekly.open_minutes(monday, monday) == 480
    assert weekly.open_minutes(monday, date(2026, 11, 8)) == 5 * 480  # a whole week, weekend closed
    assert weekly.open_minutes(monday, date(2026, 11, 16)) == 11 * 480  # two weeks and a Monday
    assert weekly.open_minutes(date(2026, 11, 7), date(2026, 11, 8)) == 0
    assert weekly.open_minutes(date(2026, 11, 8), monday) == 0
