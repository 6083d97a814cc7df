"""A throwaway PostgreSQL cluster a test owns, so it can crash it with ``pg_ctl -m immediate`` and restart it.

The shared server on 5432 serves every other test and must never be stopped; this one lives in its own
directory under /tmp, on a free port, with fsync on (crash safety is what it is for) and trust auth.
PostgreSQL refuses to run as root, so as root every ``initdb`` and ``pg_ctl`` runs as the ``postgres``
OS user, which then owns the directory.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.services import free_port, run_migrations, wait_for

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
OS_USER = "postgres"  #: who runs the server when the tests run as root
START_TIMEOUT = 30  #: seconds for start-up, including crash recovery
DATABASE = "commons"


def pg_binary(name: str) -> str:
    found = shutil.which(name) or next((str(Path(d) / name) for d in PG_BIN_DIRS if (Path(d) / name).exists()), None)
    if found is None:
        raise RuntimeError(f"{name} is not on PATH nor in {', '.join(PG_BIN_DIRS)}: install PostgreSQL 15")
    return found


@dataclass
class PgCluster:
    """One cluster: ``init`` once, then ``start``, ``crash``, ``start`` again as often as a test likes."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="commons-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        """The Commons database on this cluster (made by ``create_database``)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [pg_binary(args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}\n{self.log}"
            )
        return result

    def init(self) -> None:
        socket_dir = self.root / "socket"
        socket_dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, OS_USER, OS_USER)
            shutil.chown(socket_dir, OS_USER, OS_USER)
        # --no-sync only speeds up initdb itself; the running server keeps fsync on.
        self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{socket_dir}'",
            "fsync": "on",
            "synchronous_commit": "on",
            "max_connections": "60",
            "logging_collector": "off",
        }
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def start(self) -> None:
        """Start (after a crash: recover) and wait until it accepts connections."""
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            str(START_TIMEOUT),
            "start",
            timeout=START_TIMEOUT + 10,
        )
        wait_for(self.accepting, timeout=START_TIMEOUT, interval=0.1, message=f"PostgreSQL on port {self.port}")

    def accepting(self) -> bool:
        ready = subprocess.run(
            [
                pg_binary("pg_isready"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-t",
                "2",
            ],
            capture_output=True,
            check=False,
        )
        return ready.returncode == 0

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def crash(self) -> None:
        """``pg_ctl -m immediate stop``: every backend is killed at once; nothing is flushed or tidied."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")

    def create_database(self) -> str:
        self._run(
            "psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-c", f"CREATE DATABASE {DATABASE}"
        )
        return self.url

    def destroy(self) -> None:
        if self.data_dir.exists() and self.running():
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
            except RuntimeError:
                pass  # already gone; the directory goes anyway
        shutil.rmtree(self.root, ignore_errors=True)


@asynccontextmanager
async def migrated_cluster(data_dir: Path) -> AsyncIterator[PgCluster]:
    """A started cluster with the Commons database migrated by ``commons migrate``; removed afterwards."""
    cluster = PgCluster()
    try:
        await asyncio.to_thread(cluster.init)
        await asyncio.to_thread(cluster.start)
        await asyncio.to_thread(cluster.create_database)
        await asyncio.to_thread(run_migrations, cluster.url, data_dir)
        yield cluster
    finally:
        await asyncio.to_thread(cluster.destroy)
