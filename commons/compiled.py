"""Piccolo queries built once per shape, then run with new values.

Building a joined Piccolo query costs more CPU than the database takes to answer it (about 1.4 ms for
the session listing's select, against well under 1 ms to run it; docs/benchmarks.md). The hot
read paths therefore build their query once, with a :class:`Bind` wherever a value goes, keep the SQL
Piccolo wrote, and afterwards only bind the values. The SQL is still Piccolo's, so one definition of each
query serves both engines, and the tests of those queries cover the cached form.

A query's *shape* is everything except the bound values: which filters are present, how many items an
``IN`` list has. The caller names the shape in the cache key; the same key must always build the same
shape.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from piccolo.query.base import Query
from piccolo.table import Table


@dataclass(frozen=True)
class Bind:
    """Where a value goes in a query being compiled; bound by name each time the query runs."""

    name: str


@dataclass(frozen=True)
class CompiledQuery:
    table: type[Table]
    template: str  #: the SQL with ``{}`` where each value goes (Piccolo's raw-query form)
    slots: tuple[Any, ...]  #: per ``{}``: a Bind, or a constant Piccolo put there itself

    async def run(self, values: Mapping[str, Any], suffix: str = "", *suffix_args: Any) -> list[dict[str, Any]]:
        """Run with ``values`` bound; ``suffix`` (with its own ``{}`` slots) is appended, e.g. LIMIT/OFFSET."""
        args = [values[slot.name] if isinstance(slot, Bind) else slot for slot in self.slots]
        return await self.table.raw(self.template + suffix, *args, *suffix_args)

    async def first(self, values: Mapping[str, Any]) -> dict[str, Any] | None:
        rows = await self.run(values, " LIMIT 1")
        return rows[0] if rows else None


def compile_query(query: Query) -> CompiledQuery:
    """The SQL of a single-statement Piccolo query, with its value slots."""
    [querystring] = query.querystrings
    _, fragments, args = querystring.bundle(start_index=1, bundled=[], combined_args=[])
    template = "".join(_escape(f.prefix) + ("" if f.no_arg else "{}") for f in fragments)
    return CompiledQuery(table=query.table, template=template, slots=tuple(args))


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


_CACHE: dict[Hashable, CompiledQuery] = {}
_CACHE_LIMIT = 1024  #: shapes are few; a bound keeps a caller with unbounded keys from eating memory


def compiled(table: type[Table], key: Hashable, build: Callable[[], Query | CompiledQuery]) -> CompiledQuery:
    """The compiled query for ``key`` on ``table``'s engine, building it with ``build()`` the first time.

    The engine type is part of the key: Piccolo writes some SQL differently for each (``DEFAULT`` or
    ``null`` for a serial column in an INSERT), and the tests run both engines in one process.
    """
    key = (table._meta.db.engine_type, key)
    found = _CACHE.get(key)
    if found is None:
        built = build()
        found = built if isinstance(built, CompiledQuery) else compile_query(built)
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = found
    return found
