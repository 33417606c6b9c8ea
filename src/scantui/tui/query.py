"""The query bars' parser: :mod:`scantui.analysis.query`, below both front ends (the CLI's ``--query`` reads the same)."""

from scantui.analysis.query import (RECORD_FIELDS, SCANNER_FIELDS, Compiled, Fields, Query, QueryError, Term,
                                    compile_query, filter_records, filter_scanners, parse_day_span, parse_query,
                                    review_of, review_word)

__all__ = ["RECORD_FIELDS", "SCANNER_FIELDS", "Compiled", "Fields", "Query", "QueryError", "Term", "compile_query",
           "filter_records", "filter_scanners", "parse_day_span", "parse_query", "review_of",
           "review_word"]
