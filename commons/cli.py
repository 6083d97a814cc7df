"""The ``commons`` command: run, migrate and seed Commons."""

from __future__ import annotations

import argparse
import asyncio
import sys

from commons.settings import ConfigurationError, get_settings


async def migrate() -> None:
    """Bring the configured database forward to the newest migration (both engines)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from commons.db import engine_for, is_sqlite

    settings = get_settings()
    if not settings.is_postgres:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = engine_for(settings.database_url)
        if is_sqlite(engine):
            # WAL lets the web app read while the relay or a worker writes; it persists in the file.
            await engine.run_ddl("PRAGMA journal_mode=WAL")
    result = await run_forwards(app_name="all", migration_id="all", fake=False)
    if not result.success:
        raise SystemExit(f"Migration failed: {result.message}")


def _cmd_migrate(args: argparse.Namespace) -> int:
    asyncio.run(migrate())
    return 0


def _cmd_seed(args: argparse.Namespace) -> int:
    from booking.demo import seed_demo

    created = asyncio.run(seed_demo(force=args.force))
    print("Loaded the demo data." if created else "The database already has venues; left it as it is.")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from commons.runner import serve

    workers = args.workers if args.workers is not None else get_settings().web_workers
    if workers < 1:
        print("commons serve: --workers must be at least 1.", file=sys.stderr)
        return 2
    return serve(host=args.host, port=args.port, workers=workers)


def _cmd_worker(args: argparse.Namespace) -> int:
    from commons.runner import run_worker

    return run_worker(args.kind)


def _cmd_up(args: argparse.Namespace) -> int:
    from commons.runner import up

    return up(host=args.host, port=args.port)


def _cmd_events_dead_letters(args: argparse.Namespace) -> int:
    import json

    from events.dead_letters import list_dead_letters

    rows = asyncio.run(list_dead_letters(limit=args.limit))
    if args.json:
        print(json.dumps([{**row, "created_at": row["created_at"].isoformat()} for row in rows], indent=2))
        return 0
    if not rows:
        print("No dead letters.")
        return 0
    columns = ("time", "consumer", "subject", "event id", "deliveries", "error")
    table = [
        (
            row["created_at"].astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            row["consumer"],
            row["subject"],
            row["event_id"] or "-",
            str(row["deliveries"]),
            " ".join(row["error"].split())[:100],
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [columns, *table]) for i in range(len(columns))]
    for line in [columns, *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    return 0


def _cmd_events_replay(args: argparse.Namespace) -> int:
    from events.replay import parse_since

    nats_url = get_settings().nats_url
    if nats_url is None:
        print("commons events replay: set COMMONS_NATS_URL to the NATS server to publish to.", file=sys.stderr)
        return 2
    try:
        since = parse_since(args.since)
    except ValueError as exc:
        print(f"commons events replay: {exc}", file=sys.stderr)
        return 2
    result = asyncio.run(_replay(nats_url, since))
    print(
        f"Republished {result.republished} events since {since.isoformat()}"
        f" ({result.duplicates} dropped by JetStream as repeats inside its 2-minute duplicate window)."
    )
    return 0


async def _replay(nats_url: str, since):
    from events.replay import replay_since
    from events.stream import close, connect, ensure_stream

    nc = await connect(nats_url, name="replay")
    try:
        js = nc.jetstream()
        await ensure_stream(js)
        return await replay_since(js, since)
    finally:
        await close(nc)


def _cmd_events_prune(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from events.replay import prune_published, retention_period

    try:
        older_than = timedelta(days=args.older_than_days) if args.older_than_days else retention_period()
    except ValueError as exc:
        print(f"commons events prune: {exc}", file=sys.stderr)
        return 2
    deleted = asyncio.run(prune_published(older_than))
    print(f"Deleted {deleted} published outbox events older than {older_than.days} days.")
    return 0


def _cmd_staff_create(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from booking.staff_accounts import StaffAccountError, create_staff_member, staff_link_token
    from booking.staff_admin import create_partner_account
    from booking.states import StaffRole

    if args.role == StaffRole.PARTNER.value and args.venue:
        print(
            "commons: partner staff work for a partner organisation, not at venues: leave out --venue", file=sys.stderr
        )
        return 2
    if args.role != StaffRole.PARTNER.value and args.partner is not None:
        print("commons: --partner is only for --role partner", file=sys.stderr)
        return 2

    async def create() -> str:
        now = datetime.now(timezone.utc)
        if args.role == StaffRole.PARTNER.value:
            _, link_id = await create_partner_account(args.email, args.partner or "", name=args.name, now=now)
        else:
            _, link_id = await create_staff_member(
                args.email, StaffRole(args.role), venue_slugs=args.venue, name=args.name, now=now
            )
        return await staff_link_token(get_settings().secret_key, link_id)

    try:
        token = asyncio.run(create())
    except StaffAccountError as error:
        print(f"commons: {error.message}", file=sys.stderr)
        return 2
    base_url = get_settings().base_url.rstrip("/")
    print(f"Created {'an' if args.role == 'admin' else 'a'} {args.role} account for {args.email.strip().lower()}.")
    print("Send them this link to set their password. It works once, for 7 days:")
    print(f"{base_url}/staff/password/{token}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="commons", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up_cmd = commands.add_parser(
        "up", help="run everything on the embedded defaults (SQLite, bundled NATS, dev mailbox)"
    )
    up_cmd.add_argument("--host", default="127.0.0.1")
    up_cmd.add_argument("--port", type=int, default=8000)
    up_cmd.set_defaults(func=_cmd_up)

    serve_cmd = commands.add_parser("serve", help="run the web app only")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument(
        "--workers",
        type=int,
        default=None,
        help="web processes sharing the port (default COMMONS_WEB_WORKERS, else 1); one per core is usual",
    )
    serve_cmd.set_defaults(func=_cmd_serve)

    worker_cmd = commands.add_parser("worker", help="run one background worker")
    worker_cmd.add_argument("kind", choices=["relay", "notifications", "capacity"])
    worker_cmd.set_defaults(func=_cmd_worker)

    events_cmd = commands.add_parser("events", help="look after the event backbone")
    events = events_cmd.add_subparsers(dest="events_command", required=True)
    dead_cmd = events.add_parser("dead-letters", help="list messages consumers gave up on, newest first")
    dead_cmd.add_argument("--json", action="store_true", help="print JSON instead of a table")
    dead_cmd.add_argument("--limit", type=int, default=100)
    dead_cmd.set_defaults(func=_cmd_events_dead_letters)
    replay_cmd = events.add_parser("replay", help="republish published outbox events (consumers skip what they did)")
    replay_cmd.add_argument(
        "--since", required=True, help="an ISO 8601 time (UTC if no offset) or a duration: 30m, 2h, 1d"
    )
    replay_cmd.set_defaults(func=_cmd_events_replay)
    prune_cmd = events.add_parser("prune", help="delete published outbox events past their retention period")
    prune_cmd.add_argument(
        "--older-than-days", type=int, default=None, help="default: COMMONS_OUTBOX_RETENTION_DAYS, else 30"
    )
    prune_cmd.set_defaults(func=_cmd_events_prune)

    staff_cmd = commands.add_parser("staff", help="staff accounts")
    staff = staff_cmd.add_subparsers(dest="staff_command", required=True)
    create_cmd = staff.add_parser(
        "create", help="create a staff account and print a one-time link to set its password (never a password here)"
    )
    create_cmd.add_argument("--email", required=True)
    create_cmd.add_argument("--role", required=True, choices=["admin", "coordinator", "volunteer", "partner"])
    create_cmd.add_argument(
        "--venue", action="append", default=[], help="a venue's slug; repeat for several (coordinators, volunteers)"
    )
    create_cmd.add_argument(
        "--partner", default=None, help="partner staff only: the partner organisation's id or exact name"
    )
    create_cmd.add_argument("--name", default="", help="the person's name, as shown to colleagues")
    create_cmd.set_defaults(func=_cmd_staff_create)

    migrate_cmd = commands.add_parser("migrate", help="bring the database up to date")
    migrate_cmd.set_defaults(func=_cmd_migrate)

    seed_cmd = commands.add_parser("seed", help="load example data")
    seed_cmd.add_argument("dataset", choices=["demo"])
    seed_cmd.add_argument("--force", action="store_true", help="load even if the database already has venues")
    seed_cmd.set_defaults(func=_cmd_seed)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        get_settings()
    except ConfigurationError as exc:
        print(f"commons: {exc}", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
