"""The memory allocator setting of a ``scantui`` process: fewer jemalloc arenas than polars' default.

Polars allocates through its own jemalloc, which gives a process four arenas per CPU; each
keeps the pages freed in it for a while (``dirty_decay_ms``) to reuse them. A rollup merge works
one source range at a time on a few threads, and the pages a range freed in one arena were not
reused by the next range allocating in another: 84 full-size days merged onto 21 peaked at 478-484
MiB (122-126 CPU s, 27-30 of them system time: pages handed back and faulted in again). With one
arena per CPU: 457 MiB and 115 CPU s (19 system); whole builds peaked 6-9 % lower at both sizes, at
the same CPU (``benchmarks/RESULTS.md``, "Session 9"). Shorter decays cost CPU and gained nothing
(300 ms: 509 MiB, 132 CPU s); one arena for the process (448 MiB) would serialize a many-core
machine's threads.

jemalloc reads ``_RJEM_MALLOC_CONF`` once, when polars' library loads: so this runs first
thing in the console script, before anything imports polars, and never overrides a value the
user set (nor does anything once polars is loaded). Child processes (``--workers``) inherit it.
"""

from __future__ import annotations

import os
import sys

#: The environment variable polars' jemalloc reads its options from.
CONF_VAR = "_RJEM_MALLOC_CONF"


def default_conf() -> str:
    """The options this process would use: one arena per CPU (jemalloc's default is four)."""
    return f"narenas:{max(1, os.cpu_count() or 1)}"


def settle() -> str | None:
    """Set :data:`CONF_VAR` to :func:`default_conf` unless the user set it or polars is loaded already
    (too late to matter); the value set, or None."""
    if CONF_VAR in os.environ or "polars" in sys.modules:
        return None
    os.environ[CONF_VAR] = conf = default_conf()
    return conf
