"""Count the SQL statements Piccolo sends, to show a read or a use case does not grow with the rows (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from piccolo.engine.base import Engine


@dataclass
class QueryLog:
    """The statements run while ``counting_queries`` was open, in order."""

    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return "\n".join(f"{n}. {sql}" for n, sql in enumerate(self.statements, start=1))


@contextmanager
def counting_queries(engine: Engine) -> Iterator[QueryLog]:
    """Record every statement ``engine`` runs, in a transaction or not, through Piccolo's own query log.

    Both engines call ``print_query`` for each statement (``run_querystring`` and ``run_ddl``) when
    ``log_queries`` is on. Engines have ``__slots__``, so the recorder replaces the class's method for the
    block's duration and records only this engine's statements (others still print as before).
    """
    log = QueryLog()
    engine_class = type(engine)
    printing = engine_class.print_query

    def record(self: Engine, query_id: int, query: str) -> None:
        if self is engine:
            log.statements.append(query)
        else:
            printing(self, query_id, query)

    was_logging = engine.log_queries
    engine_class.print_query = record  # type: ignore[method-assign]
    engine.log_queries = True
    try:
        yield log
    finally:
        engine.log_queries = was_logging
        engine_class.print_query = printing  # type: ignore[method-assign]
