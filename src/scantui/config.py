"""The user's configuration file: where it is, its ``enrich`` section, the labels author, the saved views,
the ports whose scanner lists every rollup keeps.

One YAML file, ``$SCANTUI_CONFIG`` when set (tests, several profiles), else
``config.yaml`` in ``platformdirs.user_config_dir("scantui")``. A missing file
is an empty configuration; an unreadable or malformed one is an
:class:`~scantui.errors.InputError` naming the file and line. Paths in the file
may start with ``~``. Command-line options override the environment, which
overrides the file (see :func:`enrich_settings`). An unknown key of ``enrich`` or ``rollup`` is an error too.

```yaml
enrich:
  ipinfo_token: "..."            # or IPINFO_TOKEN, or --ipinfo-token
  ipinfo_url: https://ipinfo.io  # base URL of the IPinfo API (a mirror or a test server)
  mmdb: [~/geo/GeoLite2-ASN.mmdb, ~/geo/country.mmdb]
  rules: ~/scantui-rules.yaml    # your organization rules (added to the shipped ones)
  cache: ~/.cache/scantui/enrich.sqlite
  refresh_days: 30               # look an IP up again when its newest answer is older
  timeout: 10                    # seconds per IPinfo batch request
  retries: 4                     # per batch, on HTTP 429, 5xx and timeouts
labels:
  author: alice                  # your name in the labels file (created_by/updated_by); $SCANTUI_AUTHOR wins; default: the login name
rollup:
  keep_ports: [443, 22]          # every rollup build keeps these ports' scanner lists (as rollup --keep-ports)
  keep_top_ports: 2              # and those of its K busiest ports by probe packets, <= 10 % of the packets (0: none)
  unicorn_min_packets: 150       # a Unicorn session needs more packets than this (default 150; another rollup's key)
  late_days: 1                   # a file late by up to N days before the newest extends a kept merged state (0: none)
tui:
  keymap:                        # binding id -> keys (ids: the README's key section)
    app.quit: "q,ctrl+q"
    table.down: "down,j,n"
  columns:                       # the column picker's choice per table (c in a table), written by the app
    scanner-table: {order: [src, packets, tool], hidden: [tools, top_ports]}
  theme: nord                    # the palette's "Change theme", written by the app
views:                           # saved views (the TUI's w saves, v or the palette opens)
  - {name: triage, area: candidates, query: "review:new", range: "2024-02-05..2024-02-09",
     sort: {column: score, descending: true}}
```

The token is a secret: nothing here ever prints it, and ``repr`` of the
settings hides it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scantui.errors import InputError

CONFIG_ENV = "SCANTUI_CONFIG"
AUTHOR_ENV = "SCANTUI_AUTHOR"
TOKEN_ENV = "IPINFO_TOKEN"
DEFAULT_IPINFO_URL = "https://ipinfo.io"

_ENRICH_KEYS = {"ipinfo_token", "ipinfo_url", "mmdb", "rules", "cache", "refresh_days", "timeout", "retries"}


def config_path() -> Path:
    """The configuration file's path (it need not exist)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("scantui")) / "config.yaml"


def user_rules_path() -> Path:
    """Where a user's organization rules are looked for when the configuration names none."""
    return config_path().parent / "rules.yaml"


def yaml_problem(exc: Exception, text: str) -> tuple[str, str | None]:
    """``(why, where)`` for an :class:`~scantui.errors.InputError`: ruamel's problem on one line, and ``line N``.

    A character YAML does not allow (a raw escape, a BEL) is a ``ReaderError`` with no mark, only a character
    offset and a two-line text ending in ``in "<unicode string>", position N``: its line is counted from the offset.
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    position = getattr(exc, "position", None)
    if mark is not None:
        where = f"line {mark.line + 1}"
    elif isinstance(position, int):
        where = f"line {text.count(chr(10), 0, position) + 1}"
    else:
        where = None
    why = getattr(exc, "problem", None) or (str(exc).strip().splitlines() or ["unreadable"])[0]
    return " ".join(str(why).split()), where


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The configuration as plain data ({} when the file does not exist)."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the configuration: {getattr(exc, 'strerror', None) or exc}", path=path) from None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="safe").load(text)
    except YAMLError as exc:
        why, where = yaml_problem(exc, text)
        raise InputError(f"not valid YAML: {why}", path=path, where=where) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError("the configuration must be a mapping", path=path)
    return doc


def tui_keymap(config: dict[str, Any] | None = None, path: Path | None = None) -> dict[str, str]:
    """The ``tui.keymap`` section: binding id -> comma-separated keys (Textual's ``App.set_keymap``)."""
    path = path or config_path()
    config = load_config(path) if config is None else config
    section = _read_section(config, "tui", path)
    keymap = section.get("keymap") or {}
    if not isinstance(keymap, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                               for k, v in keymap.items()):
        raise InputError("must map binding ids to keys, e.g. app.quit: \"q,ctrl+q\"", path=path, where="tui.keymap")
    for name, keys in keymap.items():
        # a key is a name or one character: a control or format character would reach the terminal in the footer
        if not all(key.strip() and key.strip().isprintable() and " " not in key.strip() for key in keys.split(",")):
            raise InputError(f"{name!r}: {keys!r} is not a comma-separated list of keys (e.g. \"q,ctrl+q\")",
                             path=path, where="tui.keymap")
    return {k: v.strip() for k, v in keymap.items()}


def _read_section(config: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    """The mapping *name* of *config* to read ({} when absent); anything else is an InputError naming it."""
    section = config.get(name) or {}
    if not isinstance(section, dict):
        raise InputError("must be a mapping", path=path, where=name)
    return section


def rollup_keep_ports(config: dict[str, Any] | None = None, path: Path | None = None) -> tuple[int, ...]:
    """``rollup.keep_ports``: the ports whose scanner lists every rollup build keeps, one list a port (as
    ``scantui rollup --keep-ports``), e.g. ``[443, 22]`` or ``"443,22"``; () when not set."""
    path = path or config_path()
    config = load_config(path) if config is None else config
    section = _read_section(config, "rollup", path)
    value = section.get("keep_ports")
    items = [] if value is None else value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        items = [items]
    ports = []
    for item in items:
        text = str(item).strip() if isinstance(item, (int, str)) and not isinstance(item, bool) else ""
        if not text.isdigit() or int(text) > 65535:
            raise InputError(f"must be ports (0-65535), e.g. [443, 22]; got {item!r}", path=path,
                             where="rollup.keep_ports")
        ports.append(int(text))
    return tuple(sorted(set(ports)))


#: ``rollup.keep_top_ports`` when not set: every build keeps the scanner lists of its two busiest ports.
DEFAULT_KEEP_TOP_PORTS = 2


def rollup_keep_top_ports(config: dict[str, Any] | None = None, path: Path | None = None) -> int:
    """``rollup.keep_top_ports``: how many of the data's busiest destination ports (by probe packets, holding together
    at most a tenth of the packets: :func:`scantui.analysis.port_lists.busiest_ports`) every rollup build keeps the
    scanner lists of, besides ``keep_ports``; 0 keeps none; :data:`DEFAULT_KEEP_TOP_PORTS` when not set."""
    return _rollup_count("keep_top_ports", DEFAULT_KEEP_TOP_PORTS, 100, "ports", config, path)


#: ``rollup.late_days`` when not set: a file for the day before the newest (late, or delivered again) extends a kept
#: merged state of the days before it.
DEFAULT_LATE_DAYS = 1


def rollup_late_days(config: dict[str, Any] | None = None, path: Path | None = None) -> int:
    """``rollup.late_days``: how many days before the newest a file may change (arriving late, or delivered again) and
    still extend a merged state the cache kept (:func:`scantui.analysis.rollup_store.release_superseded`), not merge
    every held day; each costs the cache one more merged state (mostly hard links to the next); 0 keeps only the
    state before the newest day; :data:`DEFAULT_LATE_DAYS` when not set."""
    return _rollup_count("late_days", DEFAULT_LATE_DAYS, 31, "days", config, path)


def _rollup_count(key: str, default: int, most: int, what: str, config: dict[str, Any] | None, path: Path | None) -> int:
    """``rollup.<key>``, a whole number from 0 to *most* (of *what*), *default* when not set; else one error."""
    path = path or config_path()
    config = load_config(path) if config is None else config
    value = _read_section(config, "rollup", path).get(key, default)
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not text.isdigit() or int(text) > most:
        raise InputError(f"must be a number of {what} (0-{most}), e.g. {default}; got {value!r}", path=path,
                         where=f"rollup.{key}")
    return int(text)


#: The keys of the ``rollup`` section (:func:`rollup_settings`).
_ROLLUP_KEYS = frozenset({"keep_ports", "keep_top_ports", "late_days", "unicorn_min_packets"})


@dataclass(frozen=True)
class RollupSettings:
    """The ``rollup`` section, every value checked (:func:`rollup_settings`)."""

    keep_ports: tuple[int, ...]
    keep_top_ports: int
    late_days: int
    unicorn_min_packets: int | None


def rollup_settings(config: dict[str, Any] | None = None, path: Path | None = None) -> RollupSettings:
    """The whole ``rollup`` section from one read of the file, read by every command that opens a rollup, a build or
    not: a bad value is one error on the command that meets it, not on a later build; an unknown key too (a typo such
    as ``late_day`` would otherwise keep the default without a word)."""
    path = path or config_path()
    config = load_config(path) if config is None else config
    unknown = sorted(set(_read_section(config, "rollup", path)) - _ROLLUP_KEYS, key=str)
    if unknown:
        raise InputError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_ROLLUP_KEYS))})", path=path,
                         where="rollup")
    return RollupSettings(rollup_keep_ports(config, path), rollup_keep_top_ports(config, path),
                          rollup_late_days(config, path), rollup_unicorn_min_packets(config, path))


def rollup_unicorn_min_packets(config: dict[str, Any] | None = None, path: Path | None = None) -> int | None:
    """``rollup.unicorn_min_packets``: a Unicorn session (the packets sharing one session key) needs more packets than
    this; None when not set (the rollup's default,
    :data:`~scantui.analysis.fingerprints.UNICORN_MIN_PACKETS`). It is part of the rollup's key: another value
    builds another rollup."""
    path = path or config_path()
    config = load_config(path) if config is None else config
    value = _read_section(config, "rollup", path).get("unicorn_min_packets")
    if value is None:
        return None
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000_000:
        raise InputError(f"must be a number of packets (1 or more), e.g. 150; got {value!r}", path=path,
                         where="rollup.unicorn_min_packets")
    return int(text)


def labels_author(config: dict[str, Any] | None = None) -> str:
    """Who is editing the labels file: ``$SCANTUI_AUTHOR``, else ``labels.author`` in the configuration, else the
    login name. The variable lets analysts who share one box account (and so its configuration file) each record
    their own name.

    Never fails: a broken configuration or an unknown login falls back to the
    next source, and finally to ``"unknown"`` (recording an edit matters more
    than its author's name).
    """
    name = os.environ.get(AUTHOR_ENV, "").strip()
    if name:
        return name
    try:
        doc = load_config() if config is None else config
        section = doc.get("labels") or {}
        name = section.get("author") if isinstance(section, dict) else None
        if isinstance(name, str) and name.strip():
            return name.strip()
    except InputError:
        pass
    import getpass

    try:
        return getpass.getuser() or "unknown"
    except Exception:  # noqa: BLE001 - no login name in this environment (KeyError, OSError)
        return "unknown"


@dataclass(frozen=True)
class EnrichSettings:
    """What enrichment may use, resolved from options, environment and the configuration file."""

    ipinfo_token: str | None = field(default=None, repr=False)
    ipinfo_url: str = DEFAULT_IPINFO_URL
    mmdb: tuple[Path, ...] = ()
    rules: Path | None = None
    cache: Path | None = None  # None: the default cache file; see scantui.enrich.cache
    use_cache: bool = True
    refresh_days: float = 30.0
    timeout: float = 10.0
    retries: int = 4
    offline: bool = False

    @property
    def has_token(self) -> bool:
        return bool(self.ipinfo_token)


def _path(value: Any, key: str, path: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise InputError("must be a file path", path=path, where=f"enrich.{key}")
    return Path(value).expanduser()


def _number(value: Any, key: str, path: Path, most: float, *, integer: bool = False) -> float:
    """A number from 0 to *most* (``.inf``/``.nan`` and larger values stopped a command later with an internal error)."""
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not 0 <= value <= most:
        raise InputError(f"must be {'an integer' if integer else 'a number'} from 0 to {most:,}, got {value!r}",
                         path=path, where=f"enrich.{key}")
    return value


def enrich_settings(
    *,
    token: str | None = None,
    mmdb: tuple[str, ...] | list[str] = (),
    rules: str | None = None,
    cache: str | None = None,
    use_cache: bool = True,
    offline: bool = False,
    refresh_days: float | None = None,
    timeout: float | None = None,
    config: dict[str, Any] | None = None,
) -> EnrichSettings:
    """Settings from command-line values (given here), ``IPINFO_TOKEN`` and the file's ``enrich:`` section.

    A value given here wins over the environment, which wins over the file.
    ``--mmdb`` files replace the configured ones.
    """
    path = config_path()
    doc = load_config(path) if config is None else config
    section = doc.get("enrich") or {}
    if not isinstance(section, dict):
        raise InputError("must be a mapping", path=path, where="enrich")
    unknown = sorted(set(section) - _ENRICH_KEYS, key=str)  # YAML keys may be numbers: str sorts any mix
    if unknown:
        raise InputError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_ENRICH_KEYS))})", path=path,
                         where="enrich")
    file_token = section.get("ipinfo_token")
    if file_token is not None and not isinstance(file_token, str):
        raise InputError("must be a string", path=path, where="enrich.ipinfo_token")
    token = token or os.environ.get(TOKEN_ENV) or file_token or None
    url = section.get("ipinfo_url", DEFAULT_IPINFO_URL)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise InputError("must be an http:// or https:// URL", path=path, where="enrich.ipinfo_url")
    if mmdb:
        mmdb_paths = tuple(Path(p).expanduser() for p in mmdb)
    else:
        conf = section.get("mmdb") or []
        conf = [conf] if isinstance(conf, str) else conf
        if not isinstance(conf, list):
            raise InputError("must be a path or a list of paths", path=path, where="enrich.mmdb")
        mmdb_paths = tuple(_path(p, "mmdb", path) for p in conf)
    rules_path = Path(rules).expanduser() if rules else (_path(section["rules"], "rules", path) if section.get("rules") else None)
    cache_path = Path(cache).expanduser() if cache else (_path(section["cache"], "cache", path) if section.get("cache") else None)
    return EnrichSettings(
        ipinfo_token=(token.strip() or None) if token else None,
        ipinfo_url=url.rstrip("/"),
        mmdb=mmdb_paths,
        rules=rules_path,
        cache=cache_path,
        use_cache=use_cache,
        refresh_days=refresh_days if refresh_days is not None else _number(section.get("refresh_days", 30), "refresh_days", path, 36_500),
        timeout=timeout if timeout is not None else _number(section.get("timeout", 10), "timeout", path, 3_600),
        retries=int(_number(section.get("retries", 4), "retries", path, 100, integer=True)),
        offline=offline,
    )


# -- the TUI's column choices (tui.columns: table id -> {order: [...], hidden: [...]}) --------------------------


def table_columns(table_id: str, config: dict[str, Any] | None = None) -> tuple[list[str], list[str]] | None:
    """(order, hidden) of column keys the column picker saved for the table *table_id*; None when none was.

    A malformed entry is ignored (it is only a view preference); a key naming no
    column is ignored by the table.
    """
    doc = load_config() if config is None else config
    section = doc.get("tui") if isinstance(doc, dict) else None
    columns = section.get("columns") if isinstance(section, dict) else None
    entry = columns.get(table_id) if isinstance(columns, dict) else None
    if not isinstance(entry, dict):
        return None

    def keys(name: str) -> list[str]:
        value = entry.get(name) or []
        return [k for k in value if isinstance(k, str)] if isinstance(value, list) else []

    return keys("order"), keys("hidden")


def save_table_columns(table_id: str, order: list[str], hidden: list[str], path: Path | None = None) -> None:
    """Remember the column choice of *table_id* in the configuration file (:func:`_update_config`)."""
    from ruamel.yaml.comments import CommentedMap

    def change(doc: Any) -> None:
        columns = _section(_section(doc, "tui"), "columns")
        columns[table_id] = CommentedMap([("order", list(order)), ("hidden", list(hidden))])

    _update_config(change, path)


# ---------------------------------------------------------------- saved views (the TUI's ``w`` / ``v``)

#: The areas a saved view opens.
VIEW_AREAS = ("overview", "scanners", "candidates", "labels")
#: The areas whose saved views ``scantui watch`` can watch (``watch: true``).
WATCH_AREAS = ("scanners", "candidates")


@dataclass(frozen=True)
class SavedView:
    """A named view: the area, its query text, the time range (``YYYY-MM-DD`` first and last day, either may be
    None) and the sort (column, descending), as kept in the config file's ``views`` list; on the scanner list,
    ``udp: true`` counts UDP probes too (the list's ``U``, ``scanners --include-udp``)."""

    name: str
    area: str
    query: str = ""
    time_range: tuple[str | None, str | None] | None = None
    sort: tuple[str, bool] | None = None
    watch: bool = False  # ``watch: true``: ``scantui watch`` reports rows it newly matches (scanners, candidates)
    udp: bool = False  # ``udp: true`` (scanners): UDP probes counted too

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"name": self.name, "area": self.area, "query": self.query}
        if self.time_range is not None:
            doc["range"] = f"{self.time_range[0] or ''}..{self.time_range[1] or ''}"
        if self.sort is not None:
            doc["sort"] = {"column": self.sort[0], "descending": self.sort[1]}
        if self.watch:
            doc["watch"] = True
        if self.udp:
            doc["udp"] = True
        return doc


def _view(item: Any, where: str, path: Path) -> SavedView:
    import datetime as dt

    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        raise InputError("a saved view must be a mapping with a name", path=path, where=where)
    area, query = item.get("area"), item.get("query", "") or ""
    if area not in VIEW_AREAS:
        raise InputError(f"area must be one of {', '.join(VIEW_AREAS)}", path=path, where=where)
    if not isinstance(query, str):
        raise InputError("query must be text", path=path, where=where)
    span = None
    if item.get("range") is not None:
        text = item["range"]
        first, sep, last = text.partition("..") if isinstance(text, str) else ("", "", "")
        try:
            days = tuple(dt.date.fromisoformat(d.strip()).isoformat() if d.strip() else None for d in (first, last))
        except ValueError:
            days = (None, None)
        if not sep or days == (None, None):
            raise InputError("range must be FIRST..LAST (YYYY-MM-DD, either may be left out)", path=path, where=where)
        span = days
    sort = item.get("sort")
    if sort is not None:
        if not isinstance(sort, dict) or not isinstance(sort.get("column"), str) or not isinstance(
                sort.get("descending", True), bool):
            raise InputError("sort must be {column: NAME, descending: true|false}", path=path, where=where)
        sort = (sort["column"], sort.get("descending", True))
    watch = item.get("watch", False)
    if not isinstance(watch, bool) or (watch and area not in WATCH_AREAS):
        raise InputError(f"watch must be true or false, and true only on the {' or '.join(WATCH_AREAS)} area",
                         path=path, where=where)
    udp = item.get("udp", False)
    if not isinstance(udp, bool) or (udp and area != "scanners"):
        raise InputError("udp must be true or false, and true only on the scanners area", path=path, where=where)
    return SavedView(item["name"].strip(), area, query, span, sort, watch, udp)


def saved_views(config: dict[str, Any] | None = None, path: Path | None = None) -> list[SavedView]:
    """The ``views`` list of the config file; a malformed entry is an InputError naming it."""
    path = path or config_path()
    config = load_config(path) if config is None else config
    items = config.get("views") or []
    if not isinstance(items, list):
        raise InputError("must be a list", path=path, where="views")
    return [_view(item, f"views[{i}]", path) for i, item in enumerate(items)]


def save_view(view: SavedView, path: Path | None = None) -> None:
    """Add *view* to the config file's ``views`` (replacing one of the same name; :func:`_update_config`)."""

    def change(doc: Any) -> None:
        views = doc.get("views")
        views = views if isinstance(views, list) else []
        same = [v for v in views if isinstance(v, dict) and v.get("name") == view.name]
        kept = [v for v in views if not (isinstance(v, dict) and v.get("name") == view.name)]
        new = view.to_doc()
        if any(v.get("watch") is True for v in same) and view.area in WATCH_AREAS:
            new["watch"] = True  # saved again from the TUI (which has no watch switch): still watched
        doc["views"] = [*kept, new]

    _update_config(change, path)


def _section(doc: Any, key: str) -> Any:
    """The mapping *doc[key]*, made (empty) when it is missing or not a mapping."""
    from ruamel.yaml.comments import CommentedMap

    found = doc.get(key)
    if not isinstance(found, dict):
        found = doc[key] = CommentedMap()
    return found


def _update_config(change: Any, path: Path | None = None) -> None:
    """Apply *change* (a function of the YAML document) to the config file and write it back atomically:
    comments, key order and the other keys kept (ruamel round trip), the file's mode kept (a new file is
    readable by its owner only: it may later hold a token). A broken file is an InputError, never overwritten."""
    from io import StringIO

    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    path = path or config_path()
    load_config(path)
    yaml = YAML()
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        text, mode = "", 0o600
    doc = yaml.load(text) or CommentedMap()
    change(doc)
    out = StringIO()
    yaml.dump(doc, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, out.getvalue().encode("utf-8"), mode)


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Replace *path* with *data*: a temporary beside it with *mode*, fsynced, then renamed
    (:mod:`scantui.fsutil` is a sibling layer, so config cannot use it)."""
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------- the TUI's theme (tui.theme, the palette's "Change theme")


def tui_theme(config: dict[str, Any] | None = None, path: Path | None = None) -> str | None:
    """The Textual theme the app last used (``tui.theme``); None when none was saved.

    Whether a theme of that name exists is the app's to say (themes are Textual's);
    a value that is not a name is an InputError naming ``tui.theme``.
    """
    path = path or config_path()
    config = load_config(path) if config is None else config
    section = _read_section(config, "tui", path)
    name = section.get("theme")
    if name is None:
        return None
    if not isinstance(name, str) or not name.strip():
        raise InputError("must be a theme name, e.g. theme: nord", path=path, where="tui.theme")
    return name.strip()


def save_tui_theme(name: str, path: Path | None = None) -> None:
    """Keep *name* as ``tui.theme`` in the config file (:func:`_update_config`)."""

    def change(doc: Any) -> None:
        _section(doc, "tui")["theme"] = name

    _update_config(change, path)
