"""``python tests/shrinkrun.py FILE SIZE ARGS...``: ``scantui ARGS`` with FILE cut (or grown) to SIZE bytes while it is read.

The change is made (once, with ``os.truncate`` on the real file) when the
capture reader first reports progress on FILE: it has opened FILE and decoded
its first window, and will read further; for a CSV, LOG or Parquet input, once
it has been validated and before its rows are read (:func:`_cut_between_reads`); with
``SHRINKRUN_AT=MODULE:FUNCTION`` in the environment, instead when FUNCTION is first called (e.g. a
query run after the rollup was read from its cache, which does not validate the file again). Small read pieces make a capture of a
few MiB span several of them. Exits with the command's exit status (a reader
that maps the file dies of SIGBUS at a cut instead: -7).
"""

from __future__ import annotations

import os
import sys

from scantui.io.stats import LoadStats

try:
    from scantui.io import file_pieces
except ImportError:  # a reader from before file_pieces (it memory-maps the file)
    pass
else:
    file_pieces.PIECE_BYTES = 256 << 10


def main() -> None:
    path, size, argv = os.path.abspath(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    advance = LoadStats.advance
    done_once = []

    def cut_once(self, p, done, total):
        advance(self, p, done, total)
        if os.path.abspath(p) == path and 0 < done < total and not done_once:
            done_once.append(True)
            os.truncate(path, size)

    LoadStats.advance = cut_once
    if os.environ.get("SHRINKRUN_AT"):
        _cut_at(path, size, os.environ["SHRINKRUN_AT"])
    else:
        _cut_between_reads(path, size)
    from scantui.cli.main import main as scantui

    scantui(argv)


def _cut_at(path: str, size: int, where: str) -> None:
    import importlib

    module, name = where.split(":")
    mod = importlib.import_module(module)
    func = getattr(mod, name)

    def cut_first(*args, **kwargs):
        if os.path.getsize(path) != size:
            os.truncate(path, size)
        return func(*args, **kwargs)

    setattr(mod, name, cut_first)


def _cut_between_reads(path: str, size: int) -> None:
    """Inputs that polars reads (CSV, LOG, Parquet) report no progress: FILE is cut once it has been
    validated (one whole read: a text input's values, a Parquet file's footer and required columns)
    and before its rows are read again (text inputs are read twice, as those over 64 MiB are)."""
    from scantui.io import normalize, parquet

    normalize.MATERIALIZE_BELOW = 0
    check, checked = normalize.Normalized.check, parquet._checked_canonical

    def cut_after(result):
        if not os.path.exists(path) or os.path.getsize(path) != size:
            os.truncate(path, size)
        return result

    normalize.Normalized.check = lambda self: (cut_after(check(self)) if os.path.abspath(self.path or "") == path
                                             else check(self))
    parquet._checked_canonical = lambda lf, sources, *a: (cut_after(checked(lf, sources, *a))
                                                          if [os.path.abspath(s) for s in sources] == [path]
                                                          else checked(lf, sources, *a))


if __name__ == "__main__":
    main()
