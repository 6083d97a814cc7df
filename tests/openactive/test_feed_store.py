"""The feed table on both engines: what is published, when ``modified`` moves, deletions and their purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.openactive import FeedKind, read_feed_page, refresh_feeds, refresh_session
from booking.states import ActivityCategory, SessionStatus
from booking.tables import OpenActiveItem, Session
from tests.builders import make_activity, make_session

BASE = "https://commons.example"


async def _item(kind: FeedKind, item_id) -> dict | None:
    return (
        await OpenActiveItem.select()
        .where((OpenActiveItem.kind == kind.value) & (OpenActiveItem.item_id == str(item_id)))
        .first()
    )


async def test_a_physical_session_is_published_and_a_job_club_is_not(db):
    yoga = await make_session()
    job_club = await make_session(
        activity=await make_activity(title="Walking job club", category=ActivityCategory.JOB_CLUB.value)
    )
    await refresh_feeds(BASE)
    item = await _item(FeedKind.SCHEDULED_SESSIONS, yoga.id)
    assert item["state"] == "updated" and f"/sessions/{yoga.id}" in item["data"]
    assert await _item(FeedKind.SCHEDULED_SESSIONS, job_club.id) is None


async def test_modified_moves_when_places_change_and_not_otherwise(db):
    session = await make_session(capacity=10)
    await refresh_session(session.id, BASE)
    before = await _item(FeedKind.SCHEDULED_SESSIONS, session.id)
    assert await refresh_session(session.id, BASE) == 0  # nothing changed: a redelivery moves nothing
    await Session.update({Session.booked: 3}).where(Session.id == session.id)
    await refresh_session(session.id, BASE)
    after = await _item(FeedKind.SCHEDULED_SESSIONS, session.id)
    assert after["modified"] > before["modified"]
    assert '"remainingAttendeeCapacity":7' in after["data"]


async def test_cancelled_and_finished_sessions_become_deleted_and_are_purged_after_7_days(db):
    cancelled, finished = await make_session(), await make_session(starts_in=timedelta(hours=1))
    await refresh_feeds(BASE)
    await Session.update({Session.status: SessionStatus.CANCELLED.value}).where(Session.id == cancelled.id)
    later = datetime.now(UTC) + timedelta(hours=3)  # the second session is over by then
    await refresh_feeds(BASE, now=later)
    for session in (cancelled, finished):
        item = await _item(FeedKind.SCHEDULED_SESSIONS, session.id)
        assert (item["state"], item["data"]) == ("deleted", "")
    await refresh_feeds(BASE, now=later + timedelta(days=6, hours=23))
    assert await _item(FeedKind.SCHEDULED_SESSIONS, cancelled.id) is not None  # kept at least 7 days
    await refresh_feeds(BASE, now=later + timedelta(days=7, minutes=1))
    assert await _item(FeedKind.SCHEDULED_SESSIONS, cancelled.id) is None


async def test_pages_follow_modified_then_id_and_resume_after_the_last_item(db):
    sessions = [await make_session() for _ in range(3)]
    await refresh_feeds(BASE)
    first = await read_feed_page(FeedKind.SCHEDULED_SESSIONS, None, None, limit=100_000)
    ours = [i for i in first.items if i["id"] in {str(s.id) for s in sessions}]
    assert len(ours) == 3
    keys = [(i["modified"], i["id"]) for i in first.items]
    assert keys == sorted(keys) and len(set(i["modified"] for i in first.items)) == len(keys)
    after = await read_feed_page(FeedKind.SCHEDULED_SESSIONS, *keys[-3], limit=100_000)
    assert [(i["modified"], i["id"]) for i in after.items] == keys[-2:]
    empty = await read_feed_page(FeedKind.SCHEDULED_SESSIONS, *keys[-1])
    assert empty.items == [] and empty.next_after is None
