"""Pure mapping: which activities are physical, which concept they get, and how places and times read."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from booking.openactive import (
    CONCEPT_IDS,
    SessionFacts,
    activity_concept,
    activity_concept_label,
    load_concept_ids,
    scheduled_session_data,
    session_series_data,
)
from booking.states import ActivityCategory

BASE = "https://commons.example"


@pytest.mark.parametrize(
    ("title", "label"),
    [
        ("Chair yoga", "Chair Yoga"),
        ("Gentle yoga", "Yoga"),
        ("Health walk from the library", "Walking"),
        ("Strength and balance", "Group Exercise"),
    ],
)
def test_physical_activities_map_to_an_activity_list_label(title, label):
    assert activity_concept_label(ActivityCategory.YOGA_AND_MOVEMENT.value, title) == label


@pytest.mark.parametrize(
    "category",
    [c.value for c in ActivityCategory if c is not ActivityCategory.YOGA_AND_MOVEMENT],
)
def test_other_categories_are_not_physical_even_with_a_physical_word_in_the_title(category):
    assert activity_concept_label(category, "Walking and talking job club") is None
    assert activity_concept(category, "Walking and talking job club") is None


def test_a_concept_names_its_official_id_label_and_the_official_list():
    concept = activity_concept(ActivityCategory.YOGA_AND_MOVEMENT.value, "Chair yoga")
    assert concept == {
        "@type": "Concept",
        "@id": "https://openactive.io/activity-list#16b8fad0-68a1-4159-892d-c9b59dce03c8",
        "prefLabel": "Chair Yoga",
        "inScheme": "https://openactive.io/activity-list",
    }


@pytest.mark.parametrize(
    ("label", "identifier"),
    [
        ("Chair Yoga", "16b8fad0-68a1-4159-892d-c9b59dce03c8"),
        ("Yoga", "bf1a5e00-cdcf-465d-8c5a-6f57040b7f7e"),
        ("Walking", "95092977-5a20-4d6e-b312-8fddabe71544"),
        ("Group Exercise", "984068a7-5b7b-4989-bb33-f96953d8960c"),
    ],
)
def test_every_label_has_its_official_id_from_the_vendored_list(label, identifier):
    assert CONCEPT_IDS[label] == f"https://openactive.io/activity-list#{identifier}"


def test_a_label_missing_from_the_list_stops_the_import(tmp_path):
    activity_list = tmp_path / "activity-list.jsonld"
    activity_list.write_text(
        json.dumps({"concept": [{"id": "https://openactive.io/activity-list#x", "prefLabel": "Yoga"}]})
    )
    with pytest.raises(RuntimeError, match="no Activity List concept labelled Walking"):
        load_concept_ids(activity_list, ("Yoga", "Walking"))


def _facts(**session) -> SessionFacts:
    starts = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    return SessionFacts(
        session={
            "id": 7,
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=90),
            "capacity": 12,
            "booked": 5,
            "held": 2,
            "status": "scheduled",
            **session,
        },
        activity={
            "id": 3,
            "slug": "chair-yoga",
            "title": "Chair yoga",
            "description": "Seated yoga.",
            "category": "yoga_and_movement",
            "archived": False,
            "partner": None,
        },
        room={
            "id": 4,
            "step_free_access": True,
            "hearing_loop": False,
            "accessible_toilet": True,
            "accessibility_notes": "",
            "archived": False,
        },
        venue={
            "slug": "baswich",
            "name": "Baswich Library",
            "address": "Lynton Avenue\nWeeping Cross\nStafford",
            "postcode": "ST17 0EA",
            "latitude": 52.795,
            "longitude": -2.08,
            "phone": "01632 960002",
            "time_zone": "Europe/London",
            "archived": False,
        },
        partner=None,
    )


def test_a_scheduled_session_has_local_times_with_offsets_and_places_left():
    data = scheduled_session_data(BASE, _facts())
    assert data["startDate"] == "2026-07-01T10:30:00+01:00"  # British Summer Time
    assert data["endDate"] == "2026-07-01T12:00:00+01:00"
    assert data["duration"] == "PT1H30M"
    assert (data["maximumAttendeeCapacity"], data["remainingAttendeeCapacity"]) == (12, 5)  # held places are not free
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["superEvent"] == f"{BASE}/openactive/session-series/3-4"


def test_a_full_session_never_shows_negative_places():
    assert scheduled_session_data(BASE, _facts(booked=12, held=1))["remainingAttendeeCapacity"] == 0


def test_a_session_series_has_place_with_address_and_geo_organizer_and_a_free_offer():
    concept = activity_concept("yoga_and_movement", "Chair yoga")
    data = session_series_data(BASE, _facts(), concept)
    assert data["location"]["address"] == {
        "@type": "PostalAddress",
        "streetAddress": "Lynton Avenue",
        "addressLocality": "Weeping Cross",
        "addressRegion": "Stafford",
        "postalCode": "ST17 0EA",
        "addressCountry": "GB",
    }
    assert data["location"]["geo"] == {"@type": "GeoCoordinates", "latitude": 52.795, "longitude": -2.08}
    assert data["organizer"] == {
        "@type": "Organization",
        "@id": f"{BASE}/openactive/organizers/commons",
        "name": "Commons",
        "url": f"{BASE}/",
    }
    assert data["eventSchedule"] == [{"@type": "PartialSchedule", "scheduleTimezone": "Europe/London"}]
    assert data["offers"][0]["price"] == 0 and data["offers"][0]["priceCurrency"] == "GBP"
    assert data["isAccessibleForFree"] is True
    assert data["activity"] == [concept]
    assert data["accessibilityInformation"] == "Step-free access. Accessible toilet"


def test_a_series_names_the_accessibility_support_its_room_gives_from_the_official_list():
    facts, concept = _facts(), activity_concept("yoga_and_movement", "Chair yoga")
    step_free_only = session_series_data(BASE, facts, concept)
    assert step_free_only["accessibilitySupport"] == [
        {
            "@type": "Concept",
            "@id": "https://openactive.io/accessibility-support#dd026873-6713-4ea1-af5a-08901f651d98",
            "inScheme": "https://openactive.io/accessibility-support",
            "prefLabel": "Physical impairment",
        }
    ]
    looped = replace(facts, room={**facts.room, "hearing_loop": True})
    labels = [c["prefLabel"] for c in session_series_data(BASE, looped, concept)["accessibilitySupport"]]
    assert labels == ["Hearing impairment", "Physical impairment"]
    bare = replace(facts, room={**facts.room, "step_free_access": False, "accessible_toilet": False})
    assert "accessibilitySupport" not in session_series_data(BASE, bare, concept)
