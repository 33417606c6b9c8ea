"""The persistent look-up cache: one SQLite file, safe when several scantui processes share it.

Every answer a look-up service gave is kept with the day it describes
(``as_of``, the look-up day for IPinfo) and the time it was fetched
(``looked_up``), one row per (ip, source, as_of): IP-to-AS mappings change, so
answers from different days are history, not duplicates, and a table built
for old data takes the answer nearest its day (see :mod:`scantui.enrich.build`).

The file is ``enrich.sqlite`` in ``$SCANTUI_CACHE_DIR`` or
``platformdirs.user_cache_dir("scantui")`` unless configured. SQLite's own
locking makes it safe for concurrent processes: the journal is in WAL mode
(readers never block the writer), each write is one ``BEGIN IMMEDIATE``
transaction, and a busy file is waited for (``timeout``). Creating the file
and its schema is serialized with the writers' :class:`scantui.lock.FileLock` on
``enrich.sqlite.lock``, so two first runs do not race on ``PRAGMA
journal_mode``. WAL needs a local file system (not NFS).

Stored strings were cleaned when the answer was made
(:mod:`scantui.enrich.answers`); they are stored as plain values, never
interpreted, and read back through parameterized queries only.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scantui.enrich.answers import FIELDS, Answer
from scantui.errors import InputError
from scantui.lock import FileLock, lock_path

CACHE_NAME = "enrich.sqlite"
SCHEMA_VERSION = 1
_CHUNK = 500  # IPs per SELECT ... IN (...)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    ip INTEGER NOT NULL,
    source TEXT NOT NULL,
    as_of TEXT NOT NULL,
    looked_up TEXT NOT NULL,
    asn INTEGER, as_name TEXT, country TEXT, hostname TEXT, company TEXT,
    PRIMARY KEY (ip, source, as_of)
) WITHOUT ROWID
"""


def default_cache_path() -> Path:
    root = os.environ.get("SCANTUI_CACHE_DIR")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("scantui")
    return Path(root) / CACHE_NAME


@dataclass(frozen=True)
class CachedAnswer:
    ip: int
    as_of: dt.date
    looked_up: dt.datetime
    answer: Answer


class AnswerCache:
    """``with AnswerCache(path) as cache:`` reads and writes answers (see the module doc)."""

    def __init__(self, path: Path | None = None, *, timeout: float = 30.0):
        self.path = Path(path) if path is not None else default_cache_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create the cache folder: {exc.strerror or exc}", path=self.path.parent) from None
        try:
            with FileLock(lock_path(self.path), timeout=timeout):
                self._conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
                self._setup()
        except sqlite3.DatabaseError as exc:
            raise InputError(f"not a usable scantui look-up cache ({exc}); remove it to start a new one",
                             path=self.path) from None

    def _setup(self) -> None:
        conn = self._conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(f"written by a newer scantui (cache version {version})", path=self.path)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(_SCHEMA)
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def __enter__(self) -> AnswerCache:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
            self._conn = None

    def get(self, source: str, ips: Iterable[int]) -> list[CachedAnswer]:
        """Every stored answer of *source* for *ips* (all days), oldest first per IP."""
        ips = list(dict.fromkeys(int(i) for i in ips))
        out: list[CachedAnswer] = []
        for start in range(0, len(ips), _CHUNK):
            chunk = ips[start:start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT ip, as_of, looked_up, {', '.join(FIELDS)} FROM answers "
                f"WHERE source = ? AND ip IN ({marks}) ORDER BY ip, as_of", [source, *chunk],
            ).fetchall()
            for ip, as_of, looked_up, *values in rows:
                out.append(CachedAnswer(ip, dt.date.fromisoformat(as_of), dt.datetime.fromisoformat(looked_up),
                                        Answer(**dict(zip(FIELDS, values)))))
        return out

    def put(self, source: str, rows: Sequence[tuple[int, dt.date, Answer]], *, looked_up: dt.datetime | None = None) -> None:
        """Store answers (ip, as_of, answer) in one transaction; an answer for the same (ip, source, as_of) is replaced."""
        if not rows:
            return
        stamp = (looked_up or dt.datetime.now(dt.timezone.utc)).isoformat()
        values = [(int(ip), source, as_of.isoformat(), stamp, *(getattr(a, f) for f in FIELDS)) for ip, as_of, a in rows]
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                f"INSERT OR REPLACE INTO answers (ip, source, as_of, looked_up, {', '.join(FIELDS)}) "
                f"VALUES ({','.join('?' * (4 + len(FIELDS)))})", values,
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def count(self, source: str | None = None) -> int:
        if source is None:
            return self._conn.execute("SELECT count(*) FROM answers").fetchone()[0]
        return self._conn.execute("SELECT count(*) FROM answers WHERE source = ?", [source]).fetchone()[0]
