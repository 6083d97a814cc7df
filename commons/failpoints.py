"""Failpoints: named places where a test can make this process die, or wait, to prove what survives.

``COMMONS_FAILPOINTS`` is a comma-separated list of names; when code reaches ``failpoint(name)`` for a
listed name the process SIGKILLs itself on the spot (no clean-up, no ``finally``), exactly as a power
cut or the OOM killer would. Unset in production, a failpoint costs one set lookup. The technique is
the one etcd (gofail) and TiKV (fail-rs) use to test crash recovery.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

_ACTIVE = frozenset(name.strip() for name in os.environ.get("COMMONS_FAILPOINTS", "").split(",") if name.strip())


def failpoint(name: str) -> None:
    if name in _ACTIVE:
        os.kill(os.getpid(), signal.SIGKILL)


HOLD_POLL = 0.05  #: seconds between looks for the release file


def active(name: str) -> bool:
    return name in _ACTIVE


async def hold(name: str, tag: str = "") -> None:
    """For a listed ``name``: wait here until the file ``COMMONS_FAILPOINT_RELEASE`` exists.

    Once waiting, it writes that path plus ``.held`` (containing ``tag``), so a test knows the process is
    holding and can signal it meanwhile. Unlisted, it returns at once.
    """
    if name not in _ACTIVE:
        return
    release = Path(os.environ["COMMONS_FAILPOINT_RELEASE"])
    Path(f"{release}.held").write_text(tag)
    while not release.exists():
        await asyncio.sleep(HOLD_POLL)
