"""Inputs the schema fuzzer (tests/security/test_schema_fuzz.py) found answering 500, each now a clear 4xx."""

from __future__ import annotations

import pytest

from web.params import MAX_ROW_ID


@pytest.mark.parametrize("offset", [str(MAX_ROW_ID + 1), "25115928464090808320"])
async def test_an_offset_past_any_row_is_a_400_naming_offset(client, offset):
    response = await client.get("/api/v1/sessions", params={"offset": offset})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "offset" in response.text


async def test_the_largest_offset_allowed_is_an_empty_page(client):
    response = await client.get("/api/v1/sessions", params={"offset": str(MAX_ROW_ID)})
    assert response.status_code == 200, response.text
    assert response.json() == []
