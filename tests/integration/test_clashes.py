"""A room never holds two sessions at overlapping times: checked in the transaction, and by PostgreSQL itself."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta, timezone

import pytest

from booking.clashes import find_clashes, free_rooms, next_free_slot
from booking.errors import RoomClash, SeriesClash
from booking.programme import cancel_session, change_session, schedule_session
from booking.series import Frequency, Repeat, SeriesCreated, create_series, local_instant
from booking.staff_accounts import load_staff_user
from booking.tables import AuditEntry, Series, Session
from booking.timefmt import format_date, to_local
from tests.builders import make_activity, make_room, make_venue
from tests.web.staff.support import make_staff


def local(days: int, clock: time) -> datetime:
    """A local wall-clock time ``days`` from today, in Europe/London (the builders' venues)."""
    day = (datetime.now(timezone.utc) + timedelta(days=days)).date()
    return local_instant(day, clock, "Europe/London")


async def busy_room(**room):
    """A venue with a Community room holding Craft club 2pm to 4pm in 10 days, and a free Meeting room 2."""
    venue = await make_venue()
    community = await make_room(venue, capacity=20, name="Community room", **room)
    meeting = await make_room(venue, capacity=20, name="Meeting room 2")
    craft = await make_activity(title="Craft club")
    starts_at = local(10, time(14))
    session_id = await schedule_session(craft.id, community.id, starts_at, starts_at + timedelta(hours=2), 10)
    return venue, community, meeting, session_id, starts_at


async def test_an_overlapping_session_is_refused_naming_the_clash_and_the_suggestions(db):
    venue, community, meeting, craft_id, craft_start = await busy_room()
    yoga = await make_activity()
    wanted = craft_start + timedelta(hours=1)  # 3pm to 4pm
    day = format_date(to_local(craft_start, "Europe/London").date())

    with pytest.raises(RoomClash) as refused:
        await schedule_session(yoga.id, community.id, wanted, wanted + timedelta(hours=1), 10)

    assert refused.value.message == (
        f"Craft club is in Community room from 2pm to 4pm on {day}. The room is free from 4pm, or try Meeting room 2."
    )
    assert [clash.session_id for clash in refused.value.clashes] == [craft_id]
    assert refused.value.next_free_at == craft_start + timedelta(hours=2)
    assert [room.room_id for room in refused.value.free_rooms] == [meeting.id]
    assert await Session.count().where(Session.activity == yoga.id) == 0


async def test_back_to_back_sessions_are_fine_but_buffers_count(db):
    _, community, _, craft_id, craft_start = await busy_room()
    yoga = await make_activity()
    after = craft_start + timedelta(hours=2)

    follow_on = await schedule_session(yoga.id, community.id, after, after + timedelta(hours=1), 10)
    await cancel_session(follow_on)
    with pytest.raises(RoomClash):
        await schedule_session(yoga.id, community.id, after, after + timedelta(hours=1), 10, setup_minutes=15)

    assert [c.session_id for c in await find_clashes(community.id, after, after + timedelta(hours=1), 15, 0)] == [craft_id]
    assert await next_free_slot(community.id, after, after + timedelta(hours=1), 15, 0) == after + timedelta(minutes=15)


async def test_a_cancelled_session_does_not_clash(db):
    _, community, _, craft_id, craft_start = await busy_room()
    await cancel_session(craft_id)
    yoga = await make_activity()

    session_id = await schedule_session(yoga.id, community.id, craft_start, craft_start + timedelta(hours=2), 10)

    assert (await Session.select(Session.room).where(Session.id == session_id).first())["room"] == community.id


async def test_moving_a_session_rechecks_the_room_and_changes_nothing_when_it_clashes(db):
    _, community, meeting, craft_id, craft_start = await busy_room()
    yoga = await make_activity()
    other = await schedule_session(yoga.id, meeting.id, craft_start, craft_start + timedelta(hours=1), 10)

    with pytest.raises(RoomClash) as into_busy_room:
        await change_session(other, room_id=community.id)
    with pytest.raises(RoomClash):
        await change_session(other, starts_at=craft_start - timedelta(minutes=30), room_id=community.id)
    moved = await change_session(other, starts_at=craft_start + timedelta(hours=2), room_id=community.id)

    assert "Craft club is in Community room from 2pm to 4pm" in into_busy_room.value.message
    assert moved.room_id == community.id
    # Moving a session within its own time never clashes with itself.
    assert (await change_session(craft_id, ends_at=craft_start + timedelta(hours=1, minutes=30))).changed


async def test_free_rooms_are_big_enough_and_not_archived(db):
    venue, community, meeting, _, craft_start = await busy_room()
    await make_room(venue, capacity=4, name="Small room")
    await make_room(venue, capacity=50, name="Old hall", archived=True)

    rooms = await free_rooms(venue.id, craft_start, craft_start + timedelta(hours=1), capacity=10, exclude_room_id=community.id)

    assert [room.name for room in rooms] == ["Meeting room 2"]


async def test_scheduling_and_moving_are_audited_with_the_actor(db):
    venue, community, meeting, _, craft_start = await busy_room()
    member = await make_staff("coordinator", [venue])
    actor = (await load_staff_user(member.id))[0]
    yoga = await make_activity(title="Chair yoga")

    session_id = await schedule_session(yoga.id, meeting.id, craft_start, craft_start + timedelta(hours=1), 8, actor=actor)
    await change_session(session_id, starts_at=craft_start + timedelta(hours=3), actor=actor)

    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.venue, AuditEntry.summary).where(
        (AuditEntry.subject_type == "session") & (AuditEntry.subject_id == session_id)
    ).order_by(AuditEntry.id)
    assert [e["action"] for e in entries] == ["session.scheduled", "session.changed"]
    assert all(e["venue"] == venue.id for e in entries)
    assert entries[0]["summary"].startswith("Scheduled Chair yoga in Meeting room 2, ")


async def test_two_overlapping_schedules_at_once_exactly_one_succeeds(db):
    """On SQLite the write lock queues them; on PostgreSQL the check or the exclusion constraint refuses one."""
    room = await make_room(capacity=20)
    activity = await make_activity()
    starts_at = local(12, time(10))

    results = await asyncio.gather(
        schedule_session(activity.id, room.id, starts_at, starts_at + timedelta(hours=1), 10),
        schedule_session(activity.id, room.id, starts_at + timedelta(minutes=30), starts_at + timedelta(hours=2), 10),
        return_exceptions=True,
    )

    assert sorted(type(result).__name__ for result in results) == ["RoomClash", "int"]


async def test_coordinators_racing_for_one_room_on_postgresql_exactly_one_wins_every_round(pg_engine):
    activity = await make_activity()
    for round_number in range(20):
        room = await make_room(capacity=20)
        starts_at = local(20 + round_number, time(18))

        results = await asyncio.gather(
            *(
                schedule_session(activity.id, room.id, starts_at + timedelta(minutes=offset), starts_at + timedelta(hours=1, minutes=offset), 10)
                for offset in (0, 15)
            ),
            return_exceptions=True,
        )

        clashes = [result for result in results if isinstance(result, RoomClash)]
        assert len(clashes) == 1, results
        assert sum(isinstance(result, int) for result in results) == 1, results
        assert clashes[0].message.startswith("Chair yoga is in Community room from 6")
        assert await Session.count().where(Session.room == room.id) == 1


async def test_a_series_and_a_one_off_racing_for_one_room_exactly_one_wins_every_round(db):
    """A weekly series whose second date overlaps a one-off scheduled at the same moment: all of one, none of the other."""
    venue = await make_venue()
    knitting, chess = await make_activity(title="Knit and natter"), await make_activity(title="Chess club")
    for round_number in range(10):
        room = await make_room(venue, capacity=20, name=f"Room {round_number}")
        first = (datetime.now(timezone.utc) + timedelta(days=20 + round_number)).date()
        overlap = local_instant(first + timedelta(days=7), time(15, 30), "Europe/London")  # the series runs 3pm to 4pm

        series_result, one_off_result = await asyncio.gather(
            create_series(knitting.id, room.id, first, time(15), 60, 8, Repeat(Frequency.WEEKLY, count=3)),
            schedule_session(chess.id, room.id, overlap, overlap + timedelta(hours=1), 8),
            return_exceptions=True,
        )

        in_room = await Session.select(Session.activity, Session.series).where(Session.room == room.id)
        if isinstance(series_result, SeriesCreated):
            assert isinstance(one_off_result, RoomClash), (series_result, one_off_result)
            assert one_off_result.message.startswith("Knit and natter is in Room"), one_off_result.message
            assert sorted(row["activity"] for row in in_room) == [knitting.id] * 3
        else:
            assert isinstance(one_off_result, int), (series_result, one_off_result)
            assert isinstance(series_result, SeriesClash), series_result
            assert [o.day for o in series_result.occurrences] == [first + timedelta(days=7)]
            assert "Chess club is in Room" in series_result.occurrences[0].clash.message
            assert in_room == [{"activity": chess.id, "series": None}]  # not one date of the losing series
            assert await Series.count().where(Series.room == room.id) == 0


async def test_moving_a_session_into_a_slot_while_another_is_scheduled_there_exactly_one_wins_every_round(db):
    venue = await make_venue()
    yoga, chess = await make_activity(title="Chair yoga"), await make_activity(title="Chess club")
    for round_number in range(10):
        room = await make_room(venue, capacity=20, name=f"Room {round_number}")
        elsewhere = await make_room(venue, capacity=20, name=f"Hall {round_number}")
        starts_at = local(40 + round_number, time(15))
        moving = await schedule_session(yoga.id, elsewhere.id, starts_at, starts_at + timedelta(hours=1), 8)

        move_result, schedule_result = await asyncio.gather(
            change_session(moving, room_id=room.id),
            schedule_session(chess.id, room.id, starts_at + timedelta(minutes=30), starts_at + timedelta(minutes=90), 8),
            return_exceptions=True,
        )

        clashes = [result for result in (move_result, schedule_result) if isinstance(result, RoomClash)]
        assert len(clashes) == 1, (move_result, schedule_result)
        in_room = await Session.select(Session.id, Session.activity).where(Session.room == room.id)
        moved_to = (await Session.select(Session.room).where(Session.id == moving).first())["room"]
        if schedule_result is clashes[0]:
            assert move_result.room_id == room.id and moved_to == room.id
            assert clashes[0].message.startswith("Chair yoga is in Room"), clashes[0].message
            assert in_room == [{"id": moving, "activity": yoga.id}]
        else:
            assert isinstance(schedule_result, int), schedule_result
            assert clashes[0].message.startswith("Chess club is in Room"), clashes[0].message
            assert moved_to == elsewhere.id
            assert in_room == [{"id": schedule_result, "activity": chess.id}]


async def test_the_database_itself_refuses_an_overlap_on_postgresql(pg_engine):
    """Even a write that skips the check (a bug, another tool) cannot double-book a room."""
    import asyncpg

    _, community, _, _, craft_start = await busy_room()
    now = datetime.now(timezone.utc)
    activity = await make_activity()

    with pytest.raises(asyncpg.exceptions.ExclusionViolationError):
        await Session(
            activity=activity.id, room=community.id, starts_at=craft_start + timedelta(minutes=30),
            ends_at=craft_start + timedelta(hours=1), capacity=5, booked=0, held=0, status="scheduled",
            created_at=now, updated_at=now,
        ).save()
