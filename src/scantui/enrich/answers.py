"""One source's answer about one IP, and the cleaning every answer goes through.

IPinfo's JSON and the MMDB layouts name the same facts differently; each is
mapped here to :class:`Answer` (``asn``, ``as_name``, ``country``,
``hostname``, ``company``). Everything a service or a database file says is
untrusted: strings lose control and format characters (terminal escapes,
bidirectional overrides, zero-width characters), runs of white space become
one space, and each is cut to a bounded length; an ASN must be an integer in
[0, 2³²), a country two ASCII letters. So what is stored (cache, table) is
already safe to show; the terminal and the TUI still print it as plain text,
never as markup.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any

#: The fields an answer may carry, in table order.
FIELDS = ("asn", "as_name", "country", "hostname", "company")

#: Longest stored value per text field (a DNS name is at most 253 characters).
LIMITS = {"as_name": 200, "hostname": 253, "company": 200}

_SPACE = re.compile(r"\s+")
_ASN_TEXT = re.compile(r"^\s*(?:AS)?(\d{1,10})\s*$", re.I)
_ORG_TEXT = re.compile(r"^\s*AS(\d{1,10})(?:\s+(.*))?$", re.I | re.S)
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


@dataclass(frozen=True)
class Answer:
    """What a source knows about one IP (None where it knows nothing)."""

    asn: int | None = None
    as_name: str | None = None
    country: str | None = None
    hostname: str | None = None
    company: str | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in asdict(self).values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def clean_text(value: Any, limit: int = 200) -> str | None:
    """Untrusted text -> one printable line of at most *limit* characters, or None."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value)[: limit * 4]  # bound the work on a huge value before scanning it
    text = "".join(" " if ch.isspace() else ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf") or ch.isspace())
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def clean_asn(value: Any) -> int | None:
    """An AS number from ``15169``, ``"15169"`` or ``"AS15169"``; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 2**32 else None
    if isinstance(value, str):
        m = _ASN_TEXT.match(value[:32])
        if m and int(m.group(1)) < 2**32:
            return int(m.group(1))
    return None


def clean_country(value: Any) -> str | None:
    if isinstance(value, str) and _COUNTRY.match(value.strip()):
        return value.strip().upper()
    return None


def make_answer(asn: Any = None, as_name: Any = None, country: Any = None, hostname: Any = None,
                company: Any = None) -> Answer:
    """An :class:`Answer` from raw values, each cleaned."""
    host = clean_text(hostname, LIMITS["hostname"])
    return Answer(
        asn=clean_asn(asn),
        as_name=clean_text(as_name, LIMITS["as_name"]),
        country=clean_country(country),
        hostname=(host.lower().rstrip(".") or None) if host else None,
        company=clean_text(company, LIMITS["company"]),
    )


def from_ipinfo(details: Any) -> Answer | None:
    """One IPinfo API result (the value of one IP in a batch answer) -> Answer; None if not a result.

    Free plans give ``org: "AS15169 Google LLC"``; paid plans add ``asn: {asn, name, ...}``
    and ``company: {name, ...}``. A ``bogon`` result (private, reserved) is an empty answer.
    """
    if not isinstance(details, dict):
        return None
    if details.get("bogon"):
        return Answer()
    asn = as_name = None
    block = details.get("asn")
    if isinstance(block, dict):  # a value that does not clean up gives way to the org text's
        asn, as_name = clean_asn(block.get("asn")), clean_text(block.get("name"), LIMITS["as_name"])
    org = details.get("org")
    if isinstance(org, str):
        m = _ORG_TEXT.match(org[:1000])
        if m:
            asn = asn if asn is not None else m.group(1)
            as_name = as_name if as_name is not None else m.group(2)
    company = details.get("company")
    company = company.get("name") if isinstance(company, dict) else None
    return make_answer(asn, as_name, details.get("country"), details.get("hostname"), company)


def from_mmdb(record: Any) -> Answer | None:
    """One MMDB record -> Answer; None when the record is not a mapping.

    Layouts mapped (field names differ):

    * MaxMind GeoLite2/GeoIP2-ASN: ``autonomous_system_number`` (int), ``autonomous_system_organization``;
      GeoIP2-ISP adds ``organization``;
    * MaxMind Country/City: ``country: {iso_code, names}`` (``registered_country`` when absent);
    * IPinfo ASN (``asn.mmdb``): ``asn: "AS15169"``, ``name``, ``domain``;
    * IPinfo country (``country.mmdb``) and country+ASN: ``country: "US"``, ``asn``, ``as_name``;
    * IPinfo Lite: ``country_code: "US"`` (``country`` is then the full name), ``asn``, ``as_name``.
    """
    if not isinstance(record, dict):
        return None
    asn = record.get("autonomous_system_number")
    as_name = record.get("autonomous_system_organization")
    if asn is None and "asn" in record:
        asn = record.get("asn")
        as_name = record.get("as_name", record.get("name"))
    country = record.get("country_code")
    if country is None:
        block = record.get("country") or record.get("registered_country")
        country = block.get("iso_code") if isinstance(block, dict) else block
    return make_answer(asn, as_name, country, None, record.get("organization"))
