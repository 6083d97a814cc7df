"""Your data (for a signed-in resident), the privacy notice and the accessibility statement."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromQuery
from litestar.plugins.htmx import HTMXRequest, HTMXTemplate
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_400_BAD_REQUEST

from booking.privacy import (
    ResidentSummary,
    change_contact_preferences,
    erase_resident,
    export_resident_data,
    read_preferences,
    resident_summary,
)
from booking.timefmt import format_date, format_time, to_local
from notifications.preferences import stop_emails, stop_texts
from notifications.resident_data import messages_for_resident
from web.errors import SIGN_IN_PAGE
from web.resident_session import require_resident, sign_out

NO_STORE = CacheControlHeader(no_store=True)
MY_DATA = "/my-data"
DOWNLOAD_NAME = "commons-my-data.json"
SHOWN_IN = "Europe/London"  #: every Commons venue is in England; the download itself is in UTC
FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def in_words(iso: str | None) -> str:
    """An ISO 8601 instant from the download, as a person would say it: "10:30am on Tuesday 3 March 2026"."""
    if not iso:
        return ""
    local = to_local(datetime.fromisoformat(iso.replace("Z", "+00:00")), SHOWN_IN)
    return f"{format_time(local)} on {format_date(local.date(), with_year=True)}"


async def _summary(request: Request) -> ResidentSummary | Redirect:
    resident_id = require_resident(request)
    summary = await resident_summary(resident_id)
    if summary is None:  # erased from another browser: this sign-in means nothing any more
        sign_out(request)
        return Redirect(SIGN_IN_PAGE, status_code=HTTP_303_SEE_OTHER)
    return summary


def _form_from(summary: ResidentSummary) -> dict[str, str]:
    return {"by_email": "yes" if summary.takes_email else "", "by_text": "yes" if summary.takes_texts else ""}


def _your_data_page(
    request: HTMXRequest,
    summary: ResidentSummary,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Template:
    """The whole page, or only the contact preferences section when htmx asked."""
    context = {
        "resident": summary,
        "form": form if form is not None else _form_from(summary),
        "errors": errors or {},
        "saved": saved,
        "personal": True,
        "partial": bool(request.htmx),
    }
    template = "your_data_preferences.html" if request.htmx else "your_data.html"
    return HTMXTemplate(template_name=template, context=context, status_code=status_code)


class YourDataController(Controller):
    include_in_schema = False
    cache_control = NO_STORE

    @get(MY_DATA, name="your_data")
    async def show(self, request: HTMXRequest, saved: FromQuery[str] = "") -> Template | Redirect:
        summary = await _summary(request)
        if isinstance(summary, Redirect):
            return summary
        return _your_data_page(request, summary, saved=saved == "preferences")

    @get(f"{MY_DATA}/download.json", name="download_your_data")
    async def download(self, request: Request) -> Response | Redirect:
        summary = await _summary(request)
        if isinstance(summary, Redirect):
            return summary
        body = await _everything(summary.id)
        return Response(
            content=json.dumps(body, indent=2, ensure_ascii=False).encode(),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{DOWNLOAD_NAME}"'},
        )

    @get(f"{MY_DATA}/all", name="all_your_data")
    async def show_all(self, request: Request) -> Template | Redirect:
        summary = await _summary(request)
        if isinstance(summary, Redirect):
            return summary
        data = await _everything(summary.id)
        return Template(
            template_name="your_data_all.html",
            context={"data": data, "in_words": in_words, "personal": True},
        )

    @post(f"{MY_DATA}/preferences", name="change_contact_preferences")
    async def change_preferences(self, request: HTMXRequest, data: FormData) -> Template | Redirect:
        summary = await _summary(request)
        if isinstance(summary, Redirect):
            return summary
        form = {"by_email": str(data.get("by_email", ""))[:10], "by_text": str(data.get("by_text", ""))[:10]}
        choice, errors = read_preferences(form, summary)
        if errors:
            return _your_data_page(request, summary, form=form, errors=errors, status_code=HTTP_400_BAD_REQUEST)
        now = datetime.now(UTC)
        change = await change_contact_preferences(summary.id, choice, now=now)
        # Messages still queued for a channel the resident has just stopped are not sent.
        if change.emails_stopped:
            await stop_emails(summary.id, now)
        if change.texts_stopped and change.phone:
            await stop_texts(change.phone, now)
        if request.htmx:
            fresh = await resident_summary(summary.id)
            assert fresh is not None
            return _your_data_page(request, fresh, saved=True)
        return Redirect(f"{MY_DATA}?saved=preferences", status_code=HTTP_303_SEE_OTHER)

    @get(f"{MY_DATA}/delete", name="delete_your_data")
    async def confirm_delete(self, request: Request) -> Template | Redirect:
        summary = await _summary(request)
        if isinstance(summary, Redirect):
            return summary
        return Template(template_name="delete_data.html", context={"resident": summary, "errors": {}, "personal": True})

    @post(f"{MY_DATA}/delete", name="erase_your_data")
    async def delete(self, request: Request, data: FormData) -> Template | Redirect:
        summary = await _summary(request)
        if isinstance(summary, Redirect):
            return summary
        if str(data.get("confirm", "")) != "yes":
            return Template(
                template_name="delete_data.html",
                context={
                    "resident": summary,
                    "errors": {"confirm": "Tick the box to confirm you want to delete your data"},
                    "personal": True,
                },
                status_code=HTTP_400_BAD_REQUEST,
            )
        await erase_resident(summary.id)
        sign_out(request)
        return Redirect(f"{MY_DATA}/deleted", status_code=HTTP_303_SEE_OTHER)

    @get(f"{MY_DATA}/deleted", name="your_data_deleted")
    async def deleted(self) -> Template:
        return Template(template_name="delete_data_done.html", context={"personal": True})


async def _everything(resident_id: int) -> dict[str, Any]:
    held = await export_resident_data(resident_id)
    assert held is not None  # the caller has just found the resident
    return {
        "about": "Everything Commons holds about you. Times are in UTC (ISO 8601).",
        "exported_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        **held,
        "messages": await messages_for_resident(resident_id),
    }


class InformationController(Controller):
    include_in_schema = False

    @get("/privacy", name="privacy_notice")
    async def privacy(self) -> Template:
        return Template(template_name="privacy.html")

    @get("/accessibility", name="accessibility_statement")
    async def accessibility(self) -> Template:
        return Template(template_name="accessibility.html")
