"""Referral pages: a link worker refers, sees only their organisation's referrals and outcomes; staff see
"Referred by" on the register and the report per partner; the resident confirms at a signed link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.referrals import create_referral, referral_link_token
from booking.service import book_place, cancel_booking
from booking.states import ActivityCategory, Attendance, ReferralMode
from booking.tables import Booking, Referral, Session
from tests.builders import make_activity, make_room, make_session, make_venue, resident, unique
from tests.referral_support import make_link_worker, make_link_worker_account, make_partner, referral_request
from tests.web.conftest import browser, csrf_token, web_settings
from tests.web.staff.support import make_staff, post_form, sign_in


def valid_form(session_id: int, **overrides: str) -> dict[str, str]:
    return {
        "session_id": str(session_id),
        "name": "Mary Seacole",
        "email": f"{unique('mary')}@example.org",
        "phone": "",
        "party_size": "1",
        "consent_source": "in_person",
        "share_outcome": "yes",
        "mode": "hold",
        "hold_days": "3",
        "note": "Prefers a seat near the door",
        **overrides,
    }


async def test_a_link_worker_refers_someone_and_sees_it_waiting(staff_client, db):
    session = await make_session(capacity=5, starts_in=timedelta(days=10))
    partner = await make_partner("Cannock Social Prescribing")
    await sign_in(staff_client, await make_link_worker_account(partner))

    form = await staff_client.get("/staff/referrals/new")
    # The list holds the 300 soonest sessions with places; the shared test database may hold more.
    assert form.status_code == 200 and 'name="session_id"' in form.text

    response = await post_form(
        staff_client, "/staff/referrals/new", valid_form(session.id), page="/staff/referrals/new"
    )
    assert response.status_code == 303 and response.headers["location"] == "/staff/referrals?notice=created"
    places = await Session.select(Session.booked, Session.held).where(Session.id == session.id).first()
    assert places == {"booked": 0, "held": 1}
    listing = await staff_client.get("/staff/referrals")
    assert "Referrals from Cannock Social Prescribing" in listing.text
    assert "Mary Seacole" in listing.text and "Waiting for the resident to confirm" in listing.text


async def test_a_form_with_mistakes_shows_them_and_keeps_what_was_typed(staff_client, db):
    session = await make_session(capacity=5)
    await sign_in(staff_client, await make_link_worker_account())
    bad = valid_form(session.id, email="not-an-address", consent_source="", mode="hold", hold_days="99")

    response = await post_form(staff_client, "/staff/referrals/new", bad, page="/staff/referrals/new")

    assert response.status_code == 422
    assert "There is a problem" in response.text
    for message in (
        "Enter an email address in the correct format",
        "Say how the resident agreed to the referral",
        "Enter how many days to hold the place, between 1 and 14",
    ):
        assert message in response.text
    assert 'value="Mary Seacole"' in response.text and "Prefers a seat near the door" in response.text
    assert not await Referral.exists().where(Referral.session == session.id)


async def test_a_full_session_is_refused_in_the_form(staff_client, db):
    session = await make_session(capacity=1)
    await book_place(session.id, resident(unique("first")), 1)
    await sign_in(staff_client, await make_link_worker_account())

    response = await post_form(
        staff_client, "/staff/referrals/new", valid_form(session.id, mode="book"), page="/staff/referrals/new"
    )

    assert response.status_code == 409 and "not enough places left" in response.text
    assert 'value="Mary Seacole"' in response.text


async def test_a_partner_never_sees_another_partners_referrals_or_unreferred_bookings(staff_client, db):
    session = await make_session(capacity=10)
    ours, theirs = await make_partner("Our Trust"), await make_partner("Their Trust")
    now = datetime.now(UTC)
    await create_referral(await make_link_worker(ours), referral_request(session.id, unique("ours")), now)
    other = await make_link_worker(theirs)
    hidden = await create_referral(other, referral_request(session.id, "Theirs Only", mode=ReferralMode.BOOK), now)
    await book_place(session.id, resident("Public Booker"), 1)
    await sign_in(staff_client, await make_link_worker_account(ours))

    listing = await staff_client.get("/staff/referrals")

    assert listing.status_code == 200
    assert listing.text.count('id="referral-') == 1
    assert "Resident Theirs Only" not in listing.text and "Resident Public Booker" not in listing.text
    assert f'id="referral-{hidden.referral_id}"' not in listing.text
    # No way round it: partners cannot open registers or the report, and the dashboard sends them back.
    for path in (f"/staff/sessions/{session.id}/register", "/staff/referrals/report"):
        assert (await staff_client.get(path)).status_code == 403
    dashboard = await staff_client.get("/staff")
    assert dashboard.status_code == 303 and dashboard.headers["location"] == "/staff/referrals"


async def test_outcomes_show_attendance_only_with_consent(staff_client, db):
    session = await make_session(capacity=10)
    partner = await make_partner()
    worker = await make_link_worker(partner)
    now = datetime.now(UTC)
    shared = await create_referral(worker, referral_request(session.id, unique("s"), mode=ReferralMode.BOOK), now)
    private = await create_referral(
        worker, referral_request(session.id, unique("p"), mode=ReferralMode.BOOK, share=False), now
    )
    await Booking.update({Booking.attendance: Attendance.NO_SHOW.value}).where(
        Booking.id.is_in([shared.booking.booking_id, private.booking.booking_id])
    )
    await sign_in(staff_client, await make_link_worker_account(partner))

    listing = (await staff_client.get("/staff/referrals")).text

    assert _outcome(listing, shared.referral_id) == "did_not_attend"
    assert _outcome(listing, private.referral_id) == "not_shared"


def _outcome(page: str, referral_id: int) -> str:
    row = page.split(f'id="referral-{referral_id}"', 1)[1].split("</tr>", 1)[0]
    return row.split('data-outcome="', 1)[1].split('"', 1)[0]


async def test_the_register_says_who_referred_a_booking(staff_client, db, own_venue):
    session = await make_session(capacity=10, room=await make_room(venue=own_venue))
    partner = await make_partner("Hednesford Link Workers")
    await create_referral(
        await make_link_worker(partner),
        referral_request(session.id, "Referred Person", mode=ReferralMode.BOOK),
        datetime.now(UTC),
    )
    await book_place(session.id, resident("Walk Up"), 1)
    await sign_in(staff_client, await make_staff("volunteer", [own_venue]))

    register = (await staff_client.get(f"/staff/sessions/{session.id}/register")).text

    assert register.count("Referred by") == 1
    assert "Referred by Hednesford Link Workers: Uses a wheelchair" in register


async def test_coordinators_see_the_report_per_partner_for_their_own_venues_only(staff_client, db, own_venue):
    session = await make_session(capacity=10, room=await make_room(own_venue))
    elsewhere = await make_session(capacity=10)  # another venue's session
    partner = await make_partner(unique("Reported Trust"))
    link_worker = await make_link_worker(partner)
    made = await create_referral(
        link_worker, referral_request(session.id, unique("r"), mode=ReferralMode.BOOK), datetime.now(UTC)
    )
    await create_referral(link_worker, referral_request(elsewhere.id, unique("r"), mode=ReferralMode.BOOK), datetime.now(UTC))
    only_elsewhere = await make_partner(unique("Elsewhere Trust"))
    await create_referral(
        await make_link_worker(only_elsewhere), referral_request(elsewhere.id, unique("r")), datetime.now(UTC)
    )
    await Booking.update({Booking.attendance: Attendance.ATTENDED.value}).where(Booking.id == made.booking.booking_id)
    await sign_in(staff_client, await make_staff("coordinator", [own_venue]))

    report = await staff_client.get("/staff/referrals/report")

    assert report.status_code == 200
    row = report.text.split(f'id="partner-{partner.id}"', 1)[1].split("</tr>", 1)[0]
    # One referral into this coordinator's venue; the one into another venue is not counted.
    assert [cell.split("<", 1)[0] for cell in row.split('<td class="numeric">')[1:]] == ["1", "1", "1", "0", "0"]
    assert f'id="partner-{only_elsewhere.id}"' not in report.text


async def test_administrators_see_every_venues_referrals_in_the_report(staff_client, db):
    partner = await make_partner(unique("Everywhere Trust"))
    link_worker = await make_link_worker(partner)
    for _ in range(2):  # two sessions, each at a venue of its own
        await create_referral(link_worker, referral_request((await make_session()).id, unique("r")), datetime.now(UTC))
    await sign_in(staff_client, await make_staff("admin"))

    report = await staff_client.get("/staff/referrals/report")

    row = report.text.split(f'id="partner-{partner.id}"', 1)[1].split("</tr>", 1)[0]
    assert row.split('<td class="numeric">')[1].split("<", 1)[0] == "2"


async def test_the_resident_confirms_at_the_signed_link(db, data_dir):
    settings = web_settings(db, data_dir)
    session = await make_session(capacity=3)
    made = await create_referral(await make_link_worker(), referral_request(session.id, unique("r")), datetime.now(UTC))
    token = await referral_link_token(settings.secret_key, made.referral_id)
    async with browser(settings) as client:
        assert (await client.get(f"/referrals/{made.referral_id}.forged")).status_code == 404
        page = await client.get(f"/referrals/{token}")
        assert page.status_code == 200 and "Confirm my place" in page.text
        assert (await client.post(f"/referrals/{token}", data={})).status_code == 403  # no CSRF token
        assert await Referral.select(Referral.status).where(Referral.id == made.referral_id).first() == {
            "status": "created"
        }

        csrf = await csrf_token(client, f"/referrals/{token}")
        confirmed = await client.post(f"/referrals/{token}", data={"_csrf_token": csrf})

        assert confirmed.status_code == 303 and confirmed.headers["location"].startswith("/bookings/")
        again = await client.get(f"/referrals/{token}")
        assert "You have confirmed this place" in again.text and "Confirm my place" not in again.text
    assert await Session.select(Session.booked, Session.held).where(Session.id == session.id).first() == {
        "booked": 1,
        "held": 0,
    }


async def test_staff_not_linked_to_a_partner_cannot_refer(staff_client, db):
    session = await make_session(capacity=5)
    await sign_in(staff_client, await make_staff("admin"))

    listing = await staff_client.get("/staff/referrals")
    response = await post_form(
        staff_client, "/staff/referrals/new", valid_form(session.id), page="/staff/referrals/new"
    )

    assert listing.status_code == 409 and "not linked to a partner organisation" in listing.text
    assert response.status_code == 409 and "not linked to a partner organisation" in response.text
    assert await Session.select(Session.booked, Session.held).where(Session.id == session.id).first() == {
        "booked": 0,
        "held": 0,
    }


# --- Cancelling a referral ----------------------------------------------------------------------


async def status_of(referral_id: int) -> str:
    return (await Referral.select(Referral.status).where(Referral.id == referral_id).first())["status"]


async def test_a_link_worker_cancels_a_hold_from_the_list(staff_client, db):
    session = await make_session(capacity=5, starts_in=timedelta(days=10))
    partner = await make_partner()
    made = await create_referral(
        await make_link_worker(partner), referral_request(session.id, "Ann Cancel", party_size=2), datetime.now(UTC)
    )
    await sign_in(staff_client, await make_link_worker_account(partner))
    cancel_url = f"/staff/referrals/{made.referral_id}/cancel"

    listing = (await staff_client.get("/staff/referrals")).text
    row = listing.split(f'id="referral-{made.referral_id}"', 1)[1].split("</tr>", 1)[0]
    assert f'href="{cancel_url}"' in row and "the referral for Resident Ann Cancel</span>" in row
    confirm = await staff_client.get(cancel_url)
    assert confirm.status_code == 200
    for text in ("for Resident Ann Cancel</h1>", "Chair yoga", 'for="reason"', "Cancel the referral</button>"):
        assert text in confirm.text
    assert 'href="/staff/referrals">Keep it' in confirm.text
    assert (await staff_client.post(cancel_url, data={"reason": "Moved"})).status_code == 403  # no CSRF token
    assert (await Session.select(Session.held).where(Session.id == session.id).first())["held"] == 2

    response = await post_form(staff_client, cancel_url, {"reason": "Moved away"}, page=cancel_url)

    assert response.status_code == 303 and response.headers["location"] == "/staff/referrals?notice=cancelled"
    assert (await Session.select(Session.held).where(Session.id == session.id).first())["held"] == 0
    after = (await staff_client.get(response.headers["location"])).text
    assert "The referral is cancelled" in after
    assert _outcome(after, made.referral_id) == "cancelled" and f'href="{cancel_url}"' not in after


async def test_another_partner_gets_404_for_a_referral_it_did_not_make(staff_client, db):
    session = await make_session(capacity=5)
    made = await create_referral(await make_link_worker(), referral_request(session.id, unique("r")), datetime.now(UTC))
    await sign_in(staff_client, await make_link_worker_account())
    cancel_url = f"/staff/referrals/{made.referral_id}/cancel"

    assert (await staff_client.get(cancel_url)).status_code == 404
    response = await post_form(staff_client, cancel_url, {"reason": ""}, page="/staff/referrals")

    assert response.status_code == 404
    assert await status_of(made.referral_id) == "created"


async def test_a_referral_that_can_no_longer_be_cancelled_says_why(staff_client, db):
    session = await make_session(capacity=5)
    partner = await make_partner()
    worker = await make_link_worker(partner)
    now = datetime.now(UTC)
    open_hold = await create_referral(worker, referral_request(session.id, unique("a")), now)
    booked = await create_referral(worker, referral_request(session.id, unique("b"), mode=ReferralMode.BOOK), now)
    await sign_in(staff_client, await make_link_worker_account(partner))
    booked_url = f"/staff/referrals/{booked.referral_id}/cancel"
    page = await staff_client.get(booked_url)  # the form, while the booking is still there
    await cancel_booking(booked.booking.reference, authorised=True, now=now)  # then the resident cancels

    hold_url = f"/staff/referrals/{open_hold.referral_id}/cancel"
    response = await post_form(staff_client, booked_url, {"reason": ""}, page=hold_url)

    assert page.status_code == 200
    assert response.status_code == 409 and "There is a problem" in response.text
    assert "the booking it made has already been cancelled" in response.text
    assert "Cancel the referral</button>" not in response.text
    again = await staff_client.get(booked_url)
    assert again.status_code == 409 and "already been cancelled" in again.text

    too_long = await post_form(staff_client, hold_url, {"reason": "x" * 501}, page=hold_url)
    assert too_long.status_code == 422 and "The reason must be 500 characters or fewer" in too_long.text
    assert 'href="#reason"' in too_long.text and "x" * 501 in too_long.text
    assert await status_of(open_hold.referral_id) == "created"


# --- Finding a session on the new-referral form -------------------------------------------------


def _options(page: str) -> list[int]:
    select = page.split('name="session_id"', 1)[1].split("</select>", 1)[0]
    return [int(part.split('"', 1)[0]) for part in select.split('<option value="')[1:] if part[0].isdigit()]


async def _searchable_sessions() -> dict:
    label = unique("Knit")
    venue = await make_venue()
    craft = await make_activity(title=f"{label} and natter", category=ActivityCategory.CRAFT.value)
    social = await make_activity(title=f"{label} social", category=ActivityCategory.SOCIAL.value)
    room = await make_room(venue=venue)
    return {
        "label": label,
        "venue": venue,
        "craft": await make_session(activity=craft, room=room, starts_in=timedelta(days=2)),
        "later": await make_session(activity=craft, room=room, starts_in=timedelta(days=20)),
        "social": await make_session(activity=social, starts_in=timedelta(days=3)),
    }


async def test_the_session_list_can_be_searched(staff_client, db):
    found = await _searchable_sessions()
    await sign_in(staff_client, await make_link_worker_account())
    label = found["label"].lower()

    async def options(**params) -> list[int]:
        response = await staff_client.get("/staff/referrals/new", params=params)
        assert response.status_code == 200
        return _options(response.text)

    assert await options(activity=label) == [found["craft"].id, found["social"].id, found["later"].id]
    assert await options(activity=label, venue=str(found["venue"].id)) == [found["craft"].id, found["later"].id]
    assert await options(activity=label, category="social") == [found["social"].id]
    from_date = (found["later"].starts_at - timedelta(days=1)).date().isoformat()
    assert await options(activity=label, **{"from": from_date}) == [found["later"].id]
    empty = await staff_client.get("/staff/referrals/new", params={"activity": unique("nothing")})
    assert "No sessions match. Try fewer words or another date." in empty.text and _options(empty.text) == []
    page = (await staff_client.get("/staff/referrals/new", params={"activity": label, "category": "social"})).text
    assert f'value="{label}"' in page and '<option value="social" selected>' in page
    assert '<legend class="legend">Find a session</legend>' in page


async def test_a_form_with_mistakes_keeps_the_search_and_its_list(staff_client, db):
    found = await _searchable_sessions()
    await sign_in(staff_client, await make_link_worker_account())
    search = {"activity": found["label"], "venue": str(found["venue"].id), "category": "", "from": ""}
    bad = valid_form(found["craft"].id, email="not-an-address", **search)

    response = await post_form(staff_client, "/staff/referrals/new", bad, page="/staff/referrals/new")

    assert response.status_code == 422 and "Enter an email address in the correct format" in response.text
    assert _options(response.text) == [found["craft"].id, found["later"].id]
    assert f'<option value="{found["craft"].id}" selected>' in response.text
    assert f'<input type="hidden" name="activity" value="{found["label"]}">' in response.text
    assert f'<input type="hidden" name="venue" value="{found["venue"].id}">' in response.text
    assert 'value="Mary Seacole"' in response.text


async def test_an_htmx_search_gets_only_the_session_list(staff_client, db):
    found = await _searchable_sessions()
    await sign_in(staff_client, await make_link_worker_account())
    headers = {"HX-Request": "true", "HX-Target": "session-choices"}

    response = await staff_client.get(
        "/staff/referrals/new", params={"activity": found["label"], "category": "social"}, headers=headers
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="session-choices">')
    assert _options(response.text) == [found["social"].id]
    assert "<html" not in response.text and 'name="name"' not in response.text and "Find a session" not in response.text
    assert 'id="session-count" hx-swap-oob="innerHTML"' in response.text
    whole = await staff_client.get("/staff/referrals/new", params={"activity": found["label"]})
    assert "<html" in whole.text and 'name="name"' in whole.text


async def test_an_htmx_search_with_a_mistake_loads_the_whole_page_to_show_it(staff_client, db):
    await sign_in(staff_client, await make_link_worker_account())
    headers = {"HX-Request": "true", "HX-Target": "session-choices"}

    response = await staff_client.get("/staff/referrals/new", params={"from": "31/02/2027"}, headers=headers)

    # Only the list would be swapped in, and the list has no place for the date's error: htmx goes to the page.
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/staff/referrals/new?from=31%2F02%2F2027"
    page = await staff_client.get(response.headers["HX-Redirect"])
    assert 'id="find-from-error"' in page.text and 'aria-invalid="true"' in page.text
