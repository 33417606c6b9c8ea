"""Organization rules: from what is known of a source to its organization, category and the rule that fired.

The rules are YAML (the shipped ``rules.yaml`` documents the layout) that an
analyst can read and extend: per organization, address ranges (``cidrs``), AS
numbers (``asns``), reverse-DNS ``hostnames``, ``companies`` and ``as_names``
(glob patterns, or ``re:`` regular expressions); then the honeypot study's
keyword fallback. A user file (``--rules``, ``enrich.rules`` in the config
file, or ``rules.yaml`` beside the config file) is merged over the shipped
one: its organizations come first and replace shipped ones of the same name,
``builtin: false`` drops the shipped ones, its ``keywords`` replace the shipped
keywords.

Precedence (the first rule that fires names the source): ``cidr`` (longest
prefix first) > ``asn`` > ``hostname`` > ``company`` > ``as_name`` >
``keyword`` (research keywords before commercial ones; each keyword tried on
hostname, company, AS name). Within a kind, user rules before shipped ones,
then file order. Every named source carries ``rule``, e.g.
``cidr:162.142.125.0/24 → Censys (commercial)`` or
``keyword 'university' in as_name → research (low confidence)``; a keyword
match names the organization after the company, else the AS name, else the
hostname's domain.

Organization and category already present in the data (input columns, or an
enrichment table's row without a rule) are kept and marked ``rule = "input"``;
rows whose org came from rules are classified again by the current rules, so
editing the rules takes effect without re-running ``scantui enrich``.

:func:`classify` is vectorized (one polars expression per rule; the regular
expressions run in polars' linear-time engine, so a hostile hostname cannot
make matching slow).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from scantui.config import yaml_problem
from scantui.errors import InputError

CATEGORIES = ("research", "commercial", "other")
#: Rule kinds in precedence order, with the YAML key listing them.
KINDS = (("cidr", "cidrs"), ("asn", "asns"), ("hostname", "hostnames"), ("company", "companies"), ("as_name", "as_names"))
KEYWORD_FIELDS = ("hostname", "company", "as_name")
INPUT_RULE = "input"
LOW_CONFIDENCE = "low confidence"
BUILTIN_PATH = Path(__file__).with_name("rules.yaml")
FORMAT_VERSION = 1
_ORG_KEYS = {"org", "category", "cidrs", "asns", "hostnames", "companies", "as_names", "notes", "url"}
_TOP_KEYS = {"scantui_rules", "organizations", "keywords", "keyword_exceptions", "builtin"}

#: Columns :func:`classify` reads (missing ones count as null) and writes.
READS = ("src", "asn", "as_name", "hostname", "company", "org", "category", "rule")
WRITES = ("org", "category", "rule")


@dataclass(frozen=True)
class Rule:
    kind: str  # cidr | asn | hostname | company | as_name
    pattern: str  # as written
    org: str
    category: str
    user: bool  # from the user's file
    prefixlen: int = 0

    @property
    def text(self) -> str:
        shown = f"AS{self.pattern}" if self.kind == "asn" else self.pattern
        return f"{self.kind}:{shown} → {self.org} ({self.category})" + (" [user rules]" if self.user else "")


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...]  # precedence order
    keywords: tuple[tuple[str, str], ...]  # (category, keyword), in order
    exceptions: tuple[str, ...]
    files: tuple[str, ...]

    def organizations(self) -> list[tuple[str, str]]:
        return list(dict.fromkeys((r.org, r.category) for r in self.rules))


# ---------------------------------------------------------------- reading the YAML


@dataclass
class _Doc:
    orgs: list[dict[str, Any]]
    keywords: dict[str, list[str]] | None
    exceptions: list[str] | None
    builtin: bool


def _line(node: Any, key: Any = None, index: int | None = None) -> str | None:
    lc = getattr(node, "lc", None)
    try:
        if lc is None:
            return None
        if key is not None:
            return f"line {lc.key(key)[0] + 1}"
        if index is not None:
            return f"line {lc.item(index)[0] + 1}"
        return f"line {lc.line + 1}"
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _fail(path: Path, why: str, line: str | None, field: str) -> InputError:
    return InputError(f"{field}: {why}", path=path, where=line)


def _strings(node: Any, path: Path, field: str, parent: Any, key: str) -> list[str]:
    if node is None:
        return []
    if not isinstance(node, list):
        raise _fail(path, "must be a list", _line(parent, key=key), field)
    out = []
    for i, item in enumerate(node):
        if isinstance(item, bool) or not isinstance(item, (str, int)) or (isinstance(item, str) and not item.strip()):
            raise _fail(path, f"must be a non-empty string, got {item!r}", _line(node, index=i), f"{field}[{i}]")
        out.append(str(item).strip())
    return out


def _parse(text: str, path: Path) -> _Doc:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="rt").load(text)
    except YAMLError as exc:
        why, where = yaml_problem(exc, text)
        raise InputError(f"not valid YAML: {why}", path=path, where=where) from None
    if not isinstance(doc, dict):
        raise InputError("a rules file is a mapping with `organizations:` (see the shipped rules.yaml)", path=path)
    unknown = [k for k in doc if k not in _TOP_KEYS]
    if unknown:
        raise _fail(path, f"unknown key (known: {', '.join(sorted(_TOP_KEYS))})", _line(doc, key=unknown[0]), str(unknown[0]))
    version = doc.get("scantui_rules", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise _fail(path, f"unsupported version {version!r} (this scantui reads {FORMAT_VERSION})",
                    _line(doc, key="scantui_rules"), "scantui_rules")
    orgs = doc.get("organizations") or []
    if not isinstance(orgs, list):
        raise _fail(path, "must be a list", _line(doc, key="organizations"), "organizations")
    parsed = []
    for i, entry in enumerate(orgs):
        field = f"organizations[{i}]"
        if not isinstance(entry, dict):
            raise _fail(path, "must be a mapping with org and category", _line(orgs, index=i), field)
        bad = [k for k in entry if k not in _ORG_KEYS]
        if bad:
            raise _fail(path, f"unknown key {bad[0]!r} (known: {', '.join(sorted(_ORG_KEYS))})", _line(entry, key=bad[0]), field)
        org = entry.get("org")
        if not isinstance(org, str) or not org.strip():
            raise _fail(path, "needs an org name", _line(entry), f"{field}.org")
        category = entry.get("category")
        if category not in CATEGORIES:
            raise _fail(path, f"category must be one of {', '.join(CATEGORIES)}, got {category!r}",
                        _line(entry, key="category") if "category" in entry else _line(entry), f"{field}.category")
        item: dict[str, Any] = {"org": org.strip(), "category": category}
        for kind, key in KINDS:
            values = _strings(entry.get(key), path, f"{field}.{key}", entry, key)
            node = entry.get(key)
            checked = []
            for j, value in enumerate(values):
                where = _line(node, index=j)
                checked.append(_check(kind, value, path, where, f"{field}.{key}[{j}]"))
            item[key] = checked
        if not any(item[key] for _, key in KINDS):
            raise _fail(path, "names no cidrs, asns, hostnames, companies or as_names", _line(entry), field)
        parsed.append(item)
    keywords = doc.get("keywords")
    if keywords is not None:
        if not isinstance(keywords, dict) or any(k not in CATEGORIES for k in keywords):
            raise _fail(path, f"must map categories ({', '.join(CATEGORIES)}) to lists of words",
                        _line(doc, key="keywords"), "keywords")
        keywords = {k: [w.lower() for w in _strings(v, path, f"keywords.{k}", keywords, k)] for k, v in keywords.items()}
    exceptions = doc.get("keyword_exceptions")
    if exceptions is not None:
        exceptions = [w.lower() for w in _strings(exceptions, path, "keyword_exceptions", doc, "keyword_exceptions")]
    builtin = doc.get("builtin", True)
    if not isinstance(builtin, bool):
        raise _fail(path, "must be true or false", _line(doc, key="builtin"), "builtin")
    return _Doc(parsed, keywords, exceptions, builtin)


def _check(kind: str, value: str, path: Path, where: str | None, field: str) -> str:
    """A pattern checked for its kind (returned normalized): bad ones fail with file, line and field."""
    if kind == "cidr":
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            hint = ""
            try:
                hint = f" (did you mean {ipaddress.IPv4Network(value, strict=False)}?)"
            except ValueError:
                pass
            raise _fail(path, f"bad IPv4 CIDR {value!r}: {exc}{hint}", where, field) from None
        return str(net)
    if kind == "asn":
        digits = value[2:] if value.upper().startswith("AS") else value
        if not digits.isdigit() or int(digits) >= 2**32:
            raise _fail(path, f"bad AS number {value!r}", where, field)
        return str(int(digits))
    regex = _regex(value)
    try:
        pl.Series([""], dtype=pl.String).str.contains(regex)
    except pl.exceptions.PolarsError as exc:
        raise _fail(path, f"bad pattern {value!r}: {str(exc).splitlines()[0] if str(exc) else exc}", where, field) from None
    return value


def _regex(pattern: str) -> str:
    """A glob (``*`` any run, ``?`` one character; anchored) or ``re:REGEX`` (unanchored) -> case-insensitive regex."""
    if pattern.startswith("re:"):
        return "(?i)" + pattern[3:]
    out = []
    for ch in pattern:
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return "(?i)^" + "".join(out) + "$"


def _read(path: Path) -> _Doc:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such rules file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the rules file: {getattr(exc, 'strerror', None) or exc}", path=path) from None
    return _parse(text, path)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def load_rules(user: str | Path | None = None, *, default_user: bool = True) -> Rules:
    """The shipped rules merged with the user's (*user*, else the configured/default user file when it exists)."""
    path = Path(user).expanduser() if user is not None else (_default_user_file() if default_user else None)
    return _load(BUILTIN_PATH, _stamp(BUILTIN_PATH), path, _stamp(path) if path is not None else None)


def _default_user_file() -> Path | None:
    from scantui.config import enrich_settings, user_rules_path

    configured = enrich_settings().rules
    if configured is not None:
        return configured
    path = user_rules_path()
    return path if path.is_file() else None


@functools.lru_cache(maxsize=8)
def _load(builtin: Path, _b: Any, user: Path | None, _u: Any) -> Rules:
    base = _read(builtin)
    docs = [(base, False)]
    if user is not None:
        mine = _read(user)
        docs = [(mine, True)] + ([(base, False)] if mine.builtin else [])
    seen: set[str] = set()
    rules: list[Rule] = []
    for doc, is_user in docs:
        for entry in doc.orgs:
            name = entry["org"].casefold()
            if name in seen:
                continue  # the user's entry of the same name replaces it
            seen.add(name)
            for kind, key in KINDS:
                for value in entry[key]:
                    plen = ipaddress.IPv4Network(value).prefixlen if kind == "cidr" else 0
                    rules.append(Rule(kind, value, entry["org"], entry["category"], is_user, plen))
    order = {kind: i for i, (kind, _) in enumerate(KINDS)}
    # stable: within a kind user rules first (they come first in `rules`), then file order
    rules.sort(key=lambda r: (order[r.kind], -r.prefixlen))
    mine_doc = docs[0][0] if user is not None else None
    keywords = (mine_doc.keywords if mine_doc is not None and mine_doc.keywords is not None else base.keywords) or {}
    exceptions = (mine_doc.exceptions if mine_doc is not None and mine_doc.exceptions is not None else base.exceptions) or []
    pairs = tuple((cat, w) for cat in CATEGORIES for w in keywords.get(cat, []))
    files = (str(builtin),) + ((str(user),) if user is not None else ())
    return Rules(tuple(rules), pairs, tuple(exceptions), files)


# ---------------------------------------------------------------- classifying


def _col(names: set[str], name: str, dtype: pl.DataType = pl.String()) -> pl.Expr:
    return pl.col(name) if name in names else pl.lit(None, dtype=dtype)


def _condition(rule: Rule) -> pl.Expr:
    """When *rule* fires (text rules read the lower-cased ``_lc_<field>`` columns :func:`classify` adds)."""
    if rule.kind == "cidr":
        net = ipaddress.IPv4Network(rule.pattern)
        src = pl.col("src").cast(pl.UInt32)
        return (src & pl.lit(int(net.netmask), pl.UInt32)) == pl.lit(int(net.network_address), pl.UInt32)
    if rule.kind == "asn":
        return pl.col("_asn") == pl.lit(int(rule.pattern), pl.UInt32)
    return glob_matches(pl.col(f"_lc_{rule.kind}"), rule.pattern)


def glob_matches(lowered: pl.Expr, pattern: str) -> pl.Expr:
    """*pattern* (glob or ``re:``) on a lower-cased text column; plain string tests where the glob allows
    (``*.x``, ``x*``, ``*x*``, ``x*y``), which are several times faster than a regular expression."""
    if pattern.startswith("re:") or "?" in pattern or pattern.count("*") > 2:
        return lowered.str.contains(_regex(pattern))
    p = pattern.lower()
    stars = p.count("*")
    if stars == 0:
        return lowered == p
    if stars == 2 and p.startswith("*") and p.endswith("*") and len(p) > 2:
        return lowered.str.contains(p[1:-1], literal=True)
    if stars == 1:
        head, tail = p.split("*")
        expr = pl.lit(True)
        if head:
            expr = expr & lowered.str.starts_with(head)
        if tail:
            expr = expr & lowered.str.ends_with(tail)
        return expr & (lowered.str.len_chars() >= len(head) + len(tail))
    return lowered.str.contains(_regex(pattern))


_DOMAIN = r"([^.]+\.(?:(?:ac|co|com|edu|gov|net|org)\.[a-z]{2}|[^.]+))\.?$"


def _domain(host: pl.Expr) -> pl.Expr:
    """A (lower-cased) hostname's registered domain, roughly: the last two labels (three under ``ac.uk``-like suffixes)."""
    return host.str.extract(_DOMAIN, 1)


def classify(frame: pl.DataFrame | pl.LazyFrame, rules: Rules | None = None) -> pl.DataFrame | pl.LazyFrame:
    """*frame* with ``org``, ``category`` and ``rule`` set (see the module doc); other columns unchanged."""
    rules = rules if rules is not None else load_rules()
    lazy = frame.lazy() if isinstance(frame, pl.DataFrame) else frame
    columns = lazy.collect_schema().names()
    names = set(columns)
    org_in, cat_in, rule_in = _col(names, "org"), _col(names, "category"), _col(names, "rule")
    keep = (org_in.is_not_null() | cat_in.is_not_null()) & (rule_in.is_null() | (rule_in == INPUT_RULE))
    # text rules and keywords depend on one field each: matched once per distinct value of the field
    # (far fewer than rows for AS and company names) and joined back
    staged = lazy.with_columns(_col(names, "asn", pl.UInt32()).cast(pl.UInt32).alias("_asn"))
    indexed = list(enumerate(rules.rules))
    hits = [_first_of([(i, r) for i, r in indexed if r.kind in ("cidr", "asn")])]
    kw_names: list[str] = []
    for f in KEYWORD_FIELDS:
        if f not in names:
            continue
        lc = f"_lc_{f}"
        kw = _keyword_columns(rules, f)
        kw_names += [e.meta.output_name() for e in kw]
        values = (staged.select(_col(names, f).str.to_lowercase().alias(lc)).unique().drop_nulls()
                  .with_columns(_first_of([(i, r) for i, r in indexed if r.kind == f]).alias(f"_hit_{f}"), *kw,
                                *([_domain(pl.col(lc)).alias("_domain")] if f == "hostname" else [])))
        staged = staged.with_columns(pl.col(f).str.to_lowercase().alias(lc)).join(values, on=lc, how="left",
                                                                                  maintain_order="left")
        hits.append(pl.col(f"_hit_{f}"))
    order = {f: i for i, f in enumerate(KEYWORD_FIELDS)}
    kw_names.sort(key=lambda n: (CATEGORIES.index(n.split("_")[2]), order[n.split("_", 3)[3]]))
    kw_cat, kw_rule = _keyword_exprs(kw_names)
    # precedence by kind: cidr, asn (in the first), then hostname, company, as_name (KEYWORD_FIELDS order)
    staged = staged.with_columns(pl.coalesce(hits).alias("_hit"), kw_cat.alias("_kw_cat"), kw_rule.alias("_kw_rule"))

    idx = list(range(len(rules.rules)))

    def by_rule(values: list[str]) -> pl.Expr:
        return pl.col("_hit").replace_strict(idx, values, default=None, return_dtype=pl.String) if idx else pl.lit(None, pl.String)

    kw_org = pl.coalesce(_col(names, "company"), _col(names, "as_name"), pl.col("_domain") if "hostname" in names else pl.lit(None, pl.String))
    found, by_kw = pl.col("_hit").is_not_null(), pl.col("_kw_cat").is_not_null()
    org = pl.when(keep).then(org_in).when(found).then(by_rule([r.org for r in rules.rules])).when(by_kw).then(kw_org)
    category = (pl.when(keep).then(cat_in).when(found).then(by_rule([r.category for r in rules.rules]))
                .when(by_kw).then(pl.col("_kw_cat")))
    rule = (pl.when(keep).then(pl.lit(INPUT_RULE)).when(found).then(by_rule([r.text for r in rules.rules]))
            .when(by_kw).then(pl.col("_kw_rule")))
    out = staged.with_columns(org.otherwise(None).cast(pl.String).alias("org"),
                              category.otherwise(None).cast(pl.String).alias("category"),
                              rule.otherwise(None).cast(pl.String).alias("rule"))
    out = out.select(*columns, *[c for c in WRITES if c not in names])  # drops the helper columns
    return out.collect() if isinstance(frame, pl.DataFrame) else out


def _first_of(indexed: list[tuple[int, Rule]]) -> pl.Expr:
    """The index of the first of these rules that fires (they are in precedence order), else null."""
    return pl.coalesce([pl.when(_condition(r)).then(pl.lit(i, pl.UInt32)) for i, r in indexed]
                       or [pl.lit(None, pl.UInt32)])


def _keyword_columns(rules: Rules, field: str) -> list[pl.Expr]:
    """Per category: the first of its keywords found in *field* (``_kw_<category>_<field>``)."""
    strip = "|".join(re.escape(w) for w in rules.exceptions)
    text = pl.col(f"_lc_{field}")
    text = text.str.replace_all(strip, "") if strip else text
    out = []
    for category in CATEGORIES:
        words = [w for c, w in rules.keywords if c == category]
        if words:
            alternation = "(" + "|".join(re.escape(w) for w in words) + ")"
            out.append(text.str.extract(alternation, 1).alias(f"_kw_{category}_{field}"))
    return out


def _keyword_exprs(columns: list[str]) -> tuple[pl.Expr, pl.Expr]:
    """(category, rule text) of the first keyword column that found something, null when none."""
    if not columns:
        return pl.lit(None, pl.String), pl.lit(None, pl.String)
    cats, texts = [], []
    for name in columns:
        category, f = name[len("_kw_"):].split("_", 1)
        found = pl.col(name).is_not_null()
        cats.append(pl.when(found).then(pl.lit(category)))
        texts.append(pl.when(found).then(pl.format(f"keyword '{{}}' in {f} → {category} ({LOW_CONFIDENCE})", pl.col(name))))
    return pl.coalesce(cats), pl.coalesce(texts)


def is_low_confidence(rule: pl.Expr) -> pl.Expr:
    return rule.str.ends_with(f"({LOW_CONFIDENCE})")
