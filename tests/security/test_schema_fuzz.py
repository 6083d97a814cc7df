"""Schemathesis against the OpenAPI document at /schema: no operation answers 5xx, whatever it is sent.

Every operation in the document is read from the app, so an API route added later is fuzzed without editing
this file. Each gets schema-conforming and schema-breaking input (derandomized, so a run is repeatable), much
of it aimed at rows that exist (a bookable session, a full one, a booking and its manage tokens, an open
offer) so the handlers get past "not found". Every operation is under /api/, which is CSRF-exempt (bearer
tokens, never cookies: tests/security/test_csrf.py), so no token is needed.

Not ``schemathesis.openapi.from_asgi``: its client runs the app's lifespan on its own thread's event loop for
the rest of the process, and that lifespan binds every table to the engine it opens (``bind_tables``), so
this test's rows and the app's requests would use one engine from two loops (tests/web/conftest.py, litestar#1920).
Instead the document is fetched and every case sent through ``browser()``: the same ASGI app, in process,
with its lifespan on this test's loop. Hypothesis runs in a worker thread and hands each request to that loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup

from booking.manage_links import signed_manage_token
from booking.partner_api_keys import create_api_key
from booking.referrals import create_referral
from booking.service import book_place
from booking.tables import Referral
from commons.settings import DEV_SECRET_KEY
from tests.builders import fill_session, make_session, make_waitlist_session, resident, unique
from tests.referral_support import make_link_worker, referral_request
from tests.web.conftest import browser, web_settings
from tests.web.test_offers import an_offer

pytestmark = pytest.mark.security

SCHEMA_PATH = "/schema/openapi.json"
EXAMPLES_PER_MODE = 25  #: per operation, for each of positive and negative input: 50 requests per operation at most
REQUEST_TIMEOUT = 30  #: seconds; one request through the in-process app takes milliseconds
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_MODE,
    derandomize=True,  # the same examples every run: a failure here is reproducible, never a flake
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class KnownRows:
    """Real values for path parameters and the Authorization header, so cases reach past "not found"."""

    path_values: dict[str, list]
    authorizations: list[str]
    referrer_id: int  #: the link worker whose API key is among ``authorizations``


async def known_rows() -> KnownRows:
    open_session = await make_session(capacity=200)
    full = await make_waitlist_session(capacity=2)
    await fill_session(full.id, 2)
    booking = await book_place(open_session.id, resident(unique("fuzzed")), 1)
    signed = signed_manage_token(DEV_SECRET_KEY, booking.reference, booking.manage_token_hash)
    offer_token, _, _ = await an_offer()
    link_worker = await make_link_worker()  # a partner's API key, and one of its referrals, for /api/v1/referrals
    api_key = await create_api_key(link_worker, "Fuzzed", datetime.now(UTC))
    referral = await create_referral(
        link_worker, referral_request(open_session.id, unique("referred")), datetime.now(UTC)
    )
    return KnownRows(
        path_values={
            "session_id": [open_session.id, full.id],
            "reference": [booking.reference, booking.reference.lower()],
            "token": [offer_token],
            "referral_id": [referral.referral_id],
        },
        authorizations=[f"Bearer {booking.manage_token}", f"Bearer {signed}", f"Bearer {api_key.secret}"],
        referrer_id=link_worker.id,
    )


#: A body validate_booking accepts, so positive cases book, join the waiting list, repeat an Idempotency-Key.
VALID_DETAILS = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=120),
        "email": st.integers(min_value=0, max_value=10**6).map(lambda n: f"fuzz{n}@example.org"),
        "party_size": st.integers(min_value=1, max_value=4),
    },
    optional={
        "phone": st.sampled_from([None, "07700 900 982", "+44 7700 900982"]),
        "sms_opt_in": st.booleans(),
        "contact_by_email": st.booleans(),
        "support_note": st.text(max_size=600),
    },
)


def valid_referral(session_id: int):
    """A body validate_referral accepts, so positive cases with the API key make referrals."""
    return st.fixed_dictionaries(
        {
            "session_id": st.just(session_id),
            "name": st.text(min_size=1, max_size=120),
            "email": st.integers(min_value=0, max_value=10**6).map(lambda n: f"referred{n}@example.org"),
            "consent_source": st.sampled_from(["phone", "in_person"]),
            "mode": st.sampled_from(["book", "hold"]),
            "hold_days": st.integers(min_value=1, max_value=14),
        },
        optional={
            "party_size": st.integers(min_value=1, max_value=4),
            "share_outcome": st.booleans(),
            "note": st.text(max_size=600),
        },
    )


def case_strategy(operation, mode: GenerationMode, known: KnownRows):
    """Generated cases, mixed with cases whose path, Authorization and body are fixed to real rows and valid details."""
    names = [parameter.name for parameter in operation.path_parameters]
    paths = [None] + [
        dict(zip(names, values, strict=True)) for values in product(*(known.path_values.get(n, []) for n in names))
    ]
    has_authorization = any(header.name == "Authorization" for header in operation.headers)
    authorizations = [None, *known.authorizations] if has_authorization else [None]
    valid = (
        valid_referral(known.path_values["session_id"][0]) if operation.path == "/api/v1/referrals" else VALID_DETAILS
    )
    bodies = [None, valid] if operation.body else [None]
    variants = []
    for path, authorization, body in product(paths, authorizations, bodies):
        fixed = {"path_parameters": path, "headers": {"Authorization": authorization} if authorization else None}
        if body is None:
            variants.append(operation.as_strategy(mode, **fixed))
        else:
            variants.append(
                body.flatmap(lambda details, fixed=fixed: operation.as_strategy(mode, body=details, **fixed))
            )
    return st.one_of(*variants)


def as_httpx(kwargs: dict) -> dict:
    """Schemathesis serialises for ``requests``; httpx takes a raw body as ``content``, and no per-request cookies."""
    kwargs = dict(kwargs)
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    if not kwargs.get("cookies"):
        kwargs.pop("cookies", None)
    return kwargs


def fuzz(operation, mode: GenerationMode, known: KnownRows, client: httpx.AsyncClient, loop) -> None:
    """Run in a worker thread: Hypothesis drives the cases, each request runs on the app's loop."""

    @FUZZ_SETTINGS
    @given(case=case_strategy(operation, mode, known))
    def no_server_error(case) -> None:
        kwargs = as_httpx(case.as_transport_kwargs(base_url=str(client.base_url)))
        sent = asyncio.run_coroutine_threadsafe(client.request(**kwargs), loop)
        response = sent.result(timeout=REQUEST_TIMEOUT)
        case.validate_response(response, checks=[not_a_server_error])

    no_server_error()


async def test_no_api_operation_answers_a_server_error(db, data_dir):
    settings_ = web_settings(db, data_dir, COMMONS_BOOKING_RATE_LIMIT="100000")  # fuzzing is not a booking rush
    async with browser(settings_) as client:
        document = await client.get(SCHEMA_PATH)
        assert document.status_code == 200, document.text
        schema = schemathesis.openapi.from_dict(document.json())
        operations = [result.ok() for result in schema.get_all_operations()]
        labels = sorted(operation.label for operation in operations)
        assert len(labels) >= 7, labels  # the walk found the API, not an empty document
        assert all(operation.path.startswith("/api/") for operation in operations), labels
        known = await known_rows()
        loop = asyncio.get_running_loop()
        failures, unbreakable = [], []
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    await asyncio.to_thread(fuzz, operation, mode, known, client, loop)
                except Unsatisfiable:
                    # Only free-text strings (a reference, a token, a header): no input breaks their schema.
                    assert mode is GenerationMode.NEGATIVE, operation.label
                    unbreakable.append(operation.label)
                except (FailureGroup, Exception) as error:  # every operation is tried; all failures reported together
                    failures.append(f"{operation.label} ({mode.value}): {error}")
    # The API key got past 401: referrals beyond the one seeded were made through POST /api/v1/referrals.
    assert await Referral.count().where(Referral.created_by == known.referrer_id) > 1
    assert not failures, "operations that answered a server error:\n\n" + "\n\n".join(failures)
    assert len(unbreakable) < len(operations), unbreakable  # most operations did get input their schema forbids
