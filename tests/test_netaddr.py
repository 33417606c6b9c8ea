"""The one loose IPv4 parser and the messages the options, query terms and list lines build on it."""

from __future__ import annotations

import pytest

from scantui.analysis.query import QueryError, parse_query
from scantui.netaddr import NOT_IPV4, ONLY_IPV4, ipv4_network


def test_addresses_and_blocks_loosely():
    assert str(ipv4_network(" 198.51.100.7 ")) == "198.51.100.7/32"
    assert str(ipv4_network("198.51.100.7/24")) == "198.51.100.0/24"  # host bits dropped


@pytest.mark.parametrize("text, why", [("198.51.100.300", NOT_IPV4), ("", NOT_IPV4), ("x/8", NOT_IPV4),
                                       ("2001:db8::/32", ONLY_IPV4), ("::1", ONLY_IPV4)])
def test_the_reason_is_one_of_two(text, why):
    with pytest.raises(ValueError) as err:
        ipv4_network(text)
    assert str(err.value) == why


def test_a_query_term_names_itself_and_the_reason():
    with pytest.raises(QueryError) as err:
        parse_query("src:2001:db8::1")
    assert str(err.value) == f"src:2001:db8::1: {ONLY_IPV4}"
