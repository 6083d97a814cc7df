"""docs/events.md cannot drift from events/catalogue.py: one catalogue row and one payload entry per type."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import msgspec

from events.catalogue import EVENT_TYPES

DOC = (Path(__file__).parents[2] / "docs" / "events.md").read_text()
NAME = re.compile(r"`([a-z_]+\.[a-z_.]+)`")


def section(text: str, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    level = heading.split(" ", 1)[0]
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    end = re.search(rf"^#{{1,{len(level)}}} ", text[start:], re.M)
    return text[start : start + end.start()] if end else text[start:]


def catalogue_rows() -> list[str]:
    """The type named in the first cell of each row of the catalogue table."""
    table = section(DOC, "## The catalogue").split("\n### ", 1)[0]
    return [match.group(1) for match in re.finditer(r"^\| `([^`]+)` \|", table, re.M)]


def payload_entries() -> dict[str, str]:
    """Each documented type and the text that describes its data (one heading may name several types)."""
    entries: dict[str, str] = {}
    for part in re.split(r"^#### ", section(DOC, "### Payloads"), flags=re.M)[1:]:
        heading, _, body = part.partition("\n")
        for name in NAME.findall(heading):
            entries[name] = body
    for name, body in entries.items():
        described_as = re.match(r"\s*As `([^`]+)`", body)  # "As `notification.sent`, plus …"
        if described_as:
            entries[name] = entries[described_as.group(1)] + body
    return entries


def test_the_catalogue_table_has_one_row_for_each_event_type_and_no_other():
    rows = catalogue_rows()
    assert [name for name, count in Counter(rows).items() if count > 1] == []
    assert sorted(rows) == sorted(EVENT_TYPES)


def test_every_event_type_has_its_payload_described_and_no_other():
    assert sorted(payload_entries()) == sorted(EVENT_TYPES)


def test_every_field_of_each_payload_is_named_in_its_description():
    entries = payload_entries()
    missing = {
        name: [
            field.name for field in msgspec.structs.fields(spec.data) if f"`{field.name}`" not in entries.get(name, "")
        ]
        for name, spec in EVENT_TYPES.items()
    }
    assert {name: fields for name, fields in missing.items() if fields} == {}
