"""Series: created all or nothing, moved or cancelled from one date onwards, against SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

import pytest

from booking.errors import CapacityBelowTaken, SeriesClash
from booking.programme import schedule_session
from booking.series import Frequency, Repeat, cancel_following, change_following, create_series, local_instant
from booking.staff_accounts import load_staff_user
from booking.tables import AuditEntry, Series, Session
from booking.timefmt import to_local
from tests.builders import fill_session, make_activity, make_room, make_venue
from tests.integration.test_waitlist import events_for
from tests.web.staff.support import make_staff

LONDON = "Europe/London"


def next_monday(weeks_ahead: int = 2) -> date:
    today = datetime.now(timezone.utc).date()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


async def setting(capacity: int = 20):
    venue = await make_venue()
    room = await make_room(venue, capacity=capacity, name="Community room")
    other = await make_room(venue, capacity=capacity, name="Meeting room 2")
    activity = await make_activity(title="Knit and natter")
    member = await make_staff("coordinator", [venue])
    actor = (await load_staff_user(member.id))[0]
    return venue, room, other, activity, actor


async def sessions_of(series_id: int) -> list[dict]:
    return await Session.select().where(Session.series == series_id).order_by(Session.starts_at)


async def test_a_weekly_series_schedules_every_date_with_one_event_each_and_one_audit_entry(db):
    venue, room, _, activity, actor = await setting()
    first = next_monday()

    created = await create_series(
        activity.id, room.id, first, time(10), 90, 12, Repeat(Frequency.WEEKLY, count=4, skipped=frozenset({first + timedelta(days=7)})),
        setup_minutes=15, actor=actor,
    )

    rows = await sessions_of(created.series_id)
    assert [r["id"] for r in rows] == created.session_ids
    assert [to_local(r["starts_at"], LONDON).date() for r in rows] == [first, first + timedelta(days=14), first + timedelta(days=21)]
    assert {(to_local(r["starts_at"], LONDON).time(), r["ends_at"] - r["starts_at"], r["capacity"], r["setup_minutes"]) for r in rows} == {
        (time(10), timedelta(minutes=90), 12, 15)
    }
    series = await Series.select().where(Series.id == created.series_id).first()
    assert (series["rule"], series["skipped_dates"], series["created_by"]) == (
        "FREQ=WEEKLY;INTERVAL=1;COUNT=4", (first + timedelta(days=7)).isoformat(), actor.id,
    )
    for session_id in created.session_ids:
        assert len(await events_for(session_id, "session.scheduled")) == 1
    audit = await AuditEntry.select(AuditEntry.action).where(
        (AuditEntry.subject_type == "series") & (AuditEntry.subject_id == created.series_id)
    )
    assert [a["action"] for a in audit] == ["series.created"]


async def test_a_clashing_series_saves_nothing_and_lists_every_clashing_date(db):
    _, room, _, activity, actor = await setting()
    first = next_monday()
    other = await make_activity(title="Craft club")
    for week in (1, 3):
        starts_at = local_instant(first + timedelta(days=7 * week), time(10, 30), LONDON)
        await schedule_session(other.id, room.id, starts_at, starts_at + timedelta(hours=1), 5)
    series_before = await Series.count()

    with pytest.raises(SeriesClash) as refused:
        await create_series(activity.id, room.id, first, time(10), 60, 12, Repeat(Frequency.WEEKLY, count=5), actor=actor)

    assert [o.day for o in refused.value.occurrences] == [first + timedelta(days=7), first + timedelta(days=21)]
    assert refused.value.message.startswith("2 dates clash with sessions already in the room. Nothing has been saved")
    assert all("Craft club is in Community room from 10:30am to 11:30am" in o.clash.message for o in refused.value.occurrences)
    assert await Series.count() == series_before
    assert await Session.count().where(Session.activity == activity.id) == 0

    # Skipping the two dates resolves it.
    skipped = frozenset(o.day for o in refused.value.occurrences)
    created = await create_series(activity.id, room.id, first, time(10), 60, 12, Repeat(Frequency.WEEKLY, count=5, skipped=skipped))
    assert len(created.session_ids) == 3


async def test_this_and_following_moves_later_dates_the_same_way_and_tells_each_attendee_once(db):
    _, room, other_room, activity, actor = await setting()
    first = next_monday()
    created = await create_series(activity.id, room.id, first, time(10), 60, 12, Repeat(Frequency.WEEKLY, count=4))
    second = created.session_ids[1]
    second_row = (await sessions_of(created.series_id))[1]
    new_start = local_instant(to_local(second_row["starts_at"], LONDON).date() + timedelta(days=1), time(14), LONDON)

    changed = await change_following(
        second, starts_at=new_start, ends_at=new_start + timedelta(minutes=90), room_id=other_room.id, actor=actor
    )

    assert changed == created.session_ids[1:]
    rows = await sessions_of(created.series_id)
    assert [(to_local(r["starts_at"], LONDON).date(), to_local(r["starts_at"], LONDON).time(), r["room"]) for r in rows] == [
        (first, time(10), room.id),
        (first + timedelta(days=8), time(14), other_room.id),
        (first + timedelta(days=15), time(14), other_room.id),
        (first + timedelta(days=22), time(14), other_room.id),
    ]
    assert all(r["ends_at"] - r["starts_at"] == timedelta(minutes=90) for r in rows[1:])
    assert len(await events_for(created.session_ids[0], "session.changed")) == 0
    for session_id in changed:
        assert len(await events_for(session_id, "session.changed")) == 1


async def test_this_and_following_is_all_or_nothing(db):
    _, room, other_room, activity, _ = await setting()
    first = next_monday(1)  # the third date is inside the booking window
    created = await create_series(activity.id, room.id, first, time(10), 60, 12, Repeat(Frequency.WEEKLY, count=3))
    blocker = local_instant(first + timedelta(days=14), time(10), LONDON)
    await schedule_session((await make_activity(title="Craft club")).id, other_room.id, blocker, blocker + timedelta(hours=1), 5)
    before = await sessions_of(created.series_id)

    with pytest.raises(SeriesClash) as clash:
        await change_following(created.session_ids[0], starts_at=before[0]["starts_at"], ends_at=before[0]["ends_at"], room_id=other_room.id)
    await fill_session(created.session_ids[2], 6)
    with pytest.raises(CapacityBelowTaken) as too_few:
        await change_following(created.session_ids[0], starts_at=before[0]["starts_at"], ends_at=before[0]["ends_at"], room_id=room.id, capacity=4)

    assert [o.day for o in clash.value.occurrences] == [first + timedelta(days=14)]
    assert "6 places are booked, so the capacity cannot be less than 6." in too_few.value.message
    after = await sessions_of(created.series_id)
    assert [(r["room"], r["capacity"], r["starts_at"]) for r in after] == [(r["room"], r["capacity"], r["starts_at"]) for r in before]


async def test_this_and_following_changes_the_buffers_of_every_later_date_checked_against_the_room(db):
    _, room, _, activity, actor = await setting()
    first = next_monday()
    created = await create_series(activity.id, room.id, first, time(10), 60, 12, Repeat(Frequency.WEEKLY, count=4))
    craft_start = local_instant(first + timedelta(days=14), time(11, 15), LONDON)  # the third date, 11:15am
    await schedule_session((await make_activity(title="Craft club")).id, room.id, craft_start, craft_start + timedelta(hours=1), 5)
    before = await sessions_of(created.series_id)
    second = before[1]

    with pytest.raises(SeriesClash) as clash:  # 30 minutes of clear-down runs into Craft club on the third date
        await change_following(
            second["id"], starts_at=second["starts_at"], ends_at=second["ends_at"], room_id=room.id,
            setup_minutes=0, cleardown_minutes=30, actor=actor,
        )
    assert [o.day for o in clash.value.occurrences] == [first + timedelta(days=14)]
    assert "Craft club is in Community room from 11:15am to 12:15pm" in clash.value.occurrences[0].clash.message
    assert [(r["setup_minutes"], r["cleardown_minutes"]) for r in await sessions_of(created.series_id)] == [(0, 0)] * 4

    changed = await change_following(
        second["id"], starts_at=second["starts_at"], ends_at=second["ends_at"], room_id=room.id,
        setup_minutes=20, cleardown_minutes=15, actor=actor,
    )

    assert changed == created.session_ids[1:]
    after = await sessions_of(created.series_id)
    assert [(r["setup_minutes"], r["cleardown_minutes"]) for r in after] == [(0, 0), (20, 15), (20, 15), (20, 15)]
    assert [(r["starts_at"], r["room"]) for r in after] == [(r["starts_at"], r["room"]) for r in before]
    for session_id in changed:
        entry = await AuditEntry.select(AuditEntry.before, AuditEntry.after).where(
            (AuditEntry.action == "session.changed") & (AuditEntry.subject_id == session_id)
        ).first()
        assert json.loads(entry["before"]) == {"setup_minutes": 0, "cleardown_minutes": 0}
        assert json.loads(entry["after"]) == {"setup_minutes": 20, "cleardown_minutes": 15}
        assert len(await events_for(session_id, "session.changed")) == 0  # buffers are staff's business


async def test_moving_a_series_a_week_later_does_not_clash_with_itself(db):
    _, room, _, activity, _ = await setting()
    first = next_monday()
    created = await create_series(activity.id, room.id, first, time(10), 60, 12, Repeat(Frequency.WEEKLY, count=3))
    rows = await sessions_of(created.series_id)

    await change_following(
        created.session_ids[0], starts_at=rows[0]["starts_at"] + timedelta(days=7),
        ends_at=rows[0]["ends_at"] + timedelta(days=7), room_id=room.id,
    )

    assert [r["starts_at"] for r in await sessions_of(created.series_id)] == [r["starts_at"] + timedelta(days=7) for r in rows]


async def test_cancel_this_and_following_cancels_each_with_the_message(db):
    _, room, _, activity, actor = await setting()
    created = await create_series(activity.id, room.id, next_monday(), time(10), 60, 12, Repeat(Frequency.FORTNIGHTLY, count=3))

    cancelled = await cancel_following(created.session_ids[1], "The hall is being repainted.", actor=actor)

    assert cancelled == created.session_ids[1:]
    statuses = [r["status"] for r in await sessions_of(created.series_id)]
    assert statuses == ["scheduled", "cancelled", "cancelled"]
    for session_id in cancelled:
        assert [e["message"] for e in await events_for(session_id, "session.cancelled")] == ["The hall is being repainted."]
    assert await AuditEntry.count().where(
        (AuditEntry.action == "session.cancelled") & AuditEntry.subject_id.is_in(cancelled)
    ) == 2
