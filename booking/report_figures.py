"""The report's figures and the rates made from them. Pure: counts come from SQL, rates are worked out here.

Definitions (also shown on the report page):

- **Sessions run**: scheduled (not cancelled) sessions that started in the date range, before now.
- **Places offered**: the sum of those sessions' capacities.
- **Bookings** and **booked places**: confirmed bookings on those sessions (walk-ins included) and their places.
- **Attendance rate**: places marked attended ÷ places whose attendance was marked (attended or no-show).
  Unmarked registers are left out rather than counted as absences; "registers marked" shows how many were.
- **No-show rate**: places marked no-show ÷ places whose attendance was marked.
- **Fill rate**: booked places ÷ places offered.
- **Waiting-list demand**: residents (and their places) who joined the waiting list of one of those
  sessions and never got a booking on it: the entry was not booked and they hold no confirmed booking.
- **Room utilisation**: booked hours (the durations of the sessions run, in the venue's rooms) ÷ open
  hours (the venue's opening hours on each day of the range, times its rooms that are not archived).

A rate whose denominator is zero is "no data", never 0%.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

NO_DATA = "no data"


def rate(part: float, whole: float) -> float | None:
    """``part / whole`` as a fraction, or None when there is nothing to divide by."""
    if not whole:
        return None
    return part / whole


def percent(value: float | None) -> str:
    """A rate for people: "75%", "66.7%", or "no data"."""
    if value is None:
        return NO_DATA
    shown = round(value * 100, 1)
    return f"{shown:.0f}%" if shown == int(shown) else f"{shown:.1f}%"


def hours(minutes: float) -> str:
    """Minutes as hours for people: "12", "7.5"."""
    shown = round(minutes / 60, 1)
    return f"{shown:.0f}" if shown == int(shown) else f"{shown:.1f}"


@dataclass(frozen=True)
class Figures:
    """Counts for one slice of the report (everything, one venue, one category or one week). Adds up."""

    sessions_run: int = 0
    places_offered: int = 0
    bookings: int = 0
    booked_places: int = 0
    attended_places: int = 0
    no_show_places: int = 0
    waitlist_people: int = 0
    waitlist_places: int = 0
    booked_minutes: float = 0.0
    open_minutes: float = 0.0  #: 0 for slices where opening hours do not apply (categories, weeks)

    def __add__(self, other: Figures) -> Figures:
        return Figures(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def marked_places(self) -> int:
        return self.attended_places + self.no_show_places

    @property
    def attendance_rate(self) -> float | None:
        return rate(self.attended_places, self.marked_places)

    @property
    def no_show_rate(self) -> float | None:
        return rate(self.no_show_places, self.marked_places)

    @property
    def fill_rate(self) -> float | None:
        return rate(self.booked_places, self.places_offered)

    @property
    def utilisation(self) -> float | None:
        return rate(self.booked_minutes, self.open_minutes)


def total(figures: list[Figures]) -> Figures:
    result = Figures()
    for item in figures:
        result = result + item
    return result
