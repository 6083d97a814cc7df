"""Failpoints: named places where a test can make this process die, to prove what survives a crash.

``COMMONS_FAILPOINTS`` is a comma-separated list of names; when code reaches ``failpoint(name)`` for a
listed name the process SIGKILLs itself on the spot (no clean-up, no ``finally``), exactly as a power
cut or the OOM killer would. Unset in production, a failpoint costs one set lookup. The technique is
the one etcd (gofail) and TiKV (fail-rs) use to test crash recovery.
"""

from __future__ import annotations

import os
import signal

_ACTIVE = frozenset(name.strip() for name in os.environ.get("COMMONS_FAILPOINTS", "").split(",") if name.strip())


def failpoint(name: str) -> None:
    if name in _ACTIVE:
        os.kill(os.getpid(), signal.SIGKILL)
