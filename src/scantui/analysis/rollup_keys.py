"""Where the rollup cache lives and the keys its entries are found under.

The cache folder is ``$SCANTUI_CACHE_DIR`` when set, else
``platformdirs.user_cache_dir("scantui")``: rollups in ``rollups/<key>/``
(:func:`cache_root`), decoded copies in ``decoded/<key3>.parquet``
(:func:`decoded_root`), the day store in ``days/`` (:func:`days_root`). An
input's identity (:func:`describe_inputs`) is its resolved path, size,
``mtime_ns``, a hash of its first and last 64 KiB and its format, so a changed
input gets a new key and is never served a stale entry; checking it reads
nothing of an input but its ``stat`` and those 128 KiB. The keys hash the
identities with the load options that change the table's content and the
layout versions (:data:`DAYS_VERSION`, :data:`DECODED_VERSION`).

The day store's keys (an input's day split, a day's state) hash the identity without
the path (:func:`content_identity`): the same bytes under another name (an archive
moved or renamed, a copy that kept its modification time, a relative path from
another folder, a cluster mounting the share elsewhere) reuse every day built from
them. A rollup folder's key keeps the path, since its tables name the files; a new
folder for moved inputs is merged from the held days, not rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from scantui.analysis import rollup as ru
from scantui.io.loader import ENRICHMENT_TABLE, Dataset
from scantui.io.options import LoadOptions


CACHE_ENV = "SCANTUI_CACHE_DIR"
EDGE_BYTES = 64 * 1024
# Load options that change the table's content (``chunk_records`` only changes batch sizes).
_CONTENT_NEUTRAL_OPTIONS = {"chunk_records"}


# ---------------------------------------------------------------- where and under which key


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding ``<key>/`` rollup folders."""
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV) or None
    if cache_dir is None:
        import platformdirs

        cache_dir = platformdirs.user_cache_dir("scantui")
    return Path(cache_dir) / "rollups"


def decoded_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding ``<key>.parquet`` decoded copies of non-Parquet inputs."""
    return cache_root(cache_dir).parent / "decoded"


def _edge_hash(path: Path, size: int) -> str:
    """sha256 of the first and last 64 KiB (the whole file when smaller than 128 KiB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        digest.update(fh.read(EDGE_BYTES))
        if size > EDGE_BYTES:
            fh.seek(max(EDGE_BYTES, size - EDGE_BYTES))
            digest.update(fh.read(EDGE_BYTES))
    return digest.hexdigest()


def describe_inputs(dataset: Dataset, *, enrichment: bool = False) -> list[dict[str, Any]]:
    """Each packet input's identity for the key (or each enrichment table's, with *enrichment*):
    resolved path, size, mtime_ns, edge hash, format."""
    out = []
    for item in dataset.inputs:
        if (item.format == ENRICHMENT_TABLE) != enrichment:
            continue
        path = Path(item.path).resolve()
        st = path.stat()
        out.append(
            {
                "path": str(path),
                "size": st.st_size,
                "mtime_ns": st.st_mtime_ns,
                "edge_sha256": _edge_hash(path, st.st_size),
                "format": item.format,
            }
        )
    return out


def content_identity(identity: dict[str, Any]) -> dict[str, Any]:
    """An input's identity without its path: what its bytes are, wherever they lie (the day store's keys)."""
    return {k: v for k, v in identity.items() if k != "path"}


def _options_dict(opts: LoadOptions) -> dict[str, Any]:
    return {k: v for k, v in dataclasses.asdict(opts).items() if k not in _CONTENT_NEUTRAL_OPTIONS}


def cache_key(inputs: list[dict[str, Any]], opts: LoadOptions, unicorn_min_packets: int) -> str:
    payload = {
        "layout_version": ru.LAYOUT_VERSION,
        "rollup_version": ru.ROLLUP_VERSION,
        "days_version": DAYS_VERSION,
        "inputs": inputs,
        "load_options": _options_dict(opts),
        "unicorn_min_packets": unicorn_min_packets,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


#: Bumped when the canonical table a decoder produces changes, so older decoded copies are not served.
DECODED_VERSION = 1


def decoded_key(inputs: list[dict[str, Any]], opts: LoadOptions) -> str:
    payload = {"decoded_version": DECODED_VERSION, "inputs": inputs, "load_options": _options_dict(opts)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _is_finished(folder: Path, key: str) -> bool:
    try:
        meta = ru.read_meta(folder)
    except (OSError, ValueError):
        return False
    return meta.get("layout_version") == ru.LAYOUT_VERSION and meta.get("key") == key


#: Bumped when what an input's day split or a day's state holds changes (besides :data:`ru.LAYOUT_VERSION`);
#: part of every rollup's key too. 2: capture inputs' splits and day tables carry record references;
#: 3: the ZMap walk table tests IP-ID-tagged pairs as well.
DAYS_VERSION = 3


#: Under :func:`days_root`: the last syslog day of each compressed yearless LOG input (:func:`_log_last_day`).
LOG_ENDS = "log-ends"


def days_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding the per-input day splits (``inputs/``) and per-day states (``state/``)."""
    return cache_root(cache_dir).parent / "days"


def _digest(payload: Any, n: int = 32) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def _identity(path: Path, fmt: str) -> dict[str, Any]:
    path = path.resolve()
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "edge_sha256": _edge_hash(path, st.st_size), "format": fmt}
