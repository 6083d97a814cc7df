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

    return serve(host=args.host, port=args.port)


def _cmd_worker(args: argparse.Namespace) -> int:
    from commons.runner import run_worker

    return run_worker(args.kind)


def _cmd_up(args: argparse.Namespace) -> int:
    from commons.runner import up

    return up(host=args.host, port=args.port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="commons", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up_cmd = commands.add_parser("up", help="run everything on the embedded defaults (SQLite, bundled NATS, dev mailbox)")
    up_cmd.add_argument("--host", default="127.0.0.1")
    up_cmd.add_argument("--port", type=int, default=8000)
    up_cmd.set_defaults(func=_cmd_up)

    serve_cmd = commands.add_parser("serve", help="run the web app only")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.set_defaults(func=_cmd_serve)

    worker_cmd = commands.add_parser("worker", help="run one background worker")
    worker_cmd.add_argument("kind", choices=["relay", "notifications"])
    worker_cmd.set_defaults(func=_cmd_worker)

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
