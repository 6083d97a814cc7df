"""Path parameter types shared by pages and the API."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter

MAX_ROW_ID = 2**31 - 1  #: Piccolo's Serial is a 32-bit integer on PostgreSQL; bigger ids cannot exist

#: A table row id from the URL: out-of-range numbers are a 400, not a database error.
RowId = Annotated[int, PathParameter(ge=1, le=MAX_ROW_ID)]
