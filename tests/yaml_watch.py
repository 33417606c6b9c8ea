"""What the labels file's YAML parser composed and built, recorded by line number (tests of refused YAML).

Only line numbers and anchor names are kept: a failure report's repr of a node of an alias bomb would expand it.
"""

from __future__ import annotations

from scantui.labels import document


def watch_yaml(monkeypatch) -> tuple[list[tuple[int, str | None]], list[int]]:
    """Patch the parser's composer and constructor; return (composed, constructed): the (line, anchor) of each node
    composed, in order, and the line of each object built."""
    composed: list[tuple[int, str | None]] = []
    constructed: list[int] = []
    compose_node, construct_object = document._Composer.compose_node, document._Constructor.construct_object

    def composing(self, parent, index):
        event = self.parser.peek_event()
        composed.append((event.start_mark.line + 1, getattr(event, "anchor", None)))
        return compose_node(self, parent, index)

    def constructing(self, node, deep=False):
        constructed.append(node.start_mark.line + 1)
        return construct_object(self, node, deep)

    monkeypatch.setattr(document._Composer, "compose_node", composing)
    monkeypatch.setattr(document._Constructor, "construct_object", constructing)
    return composed, constructed
