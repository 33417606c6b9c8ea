"""A packet dissected layer by layer (by scapy) and its hex dump, as plain safe text.

:func:`dissect` takes a packet row: when it carries a record reference and the
capture is at hand, the original bytes are dissected with the capture's link
type; otherwise a frame synthesized from the row's fields
(:func:`scantui.io.packet_frames.synthesize_frame`), and the note says so.
scapy is imported inside :func:`dissect` only (start-up never pays for it).
Every name and value is made safe (:func:`scantui.safetext.safe_line`): packet
bytes are hostile data, and no control character reaches a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scantui.io.packet_frames import LINKTYPE_RAW, synthesize_frame
from scantui.io.packet_refs import CaptureFile, record_of
from scantui.safetext import safe_line

#: Longest value text kept per field (a payload is shown in the hex view).
MAX_VALUE = 200


@dataclass(frozen=True)
class Layer:
    name: str
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Dissection:
    layers: tuple[Layer, ...]
    raw: bytes
    from_capture: bool
    note: str = ""
    linktype: int = LINKTYPE_RAW  # of raw: how the layers were read


def _scapy_class(linktype: int):
    from scapy.layers.inet import IP
    from scapy.layers.l2 import CookedLinux, Ether, Loopback

    try:
        from scapy.layers.l2 import CookedLinuxV2
    except ImportError:  # older scapy
        CookedLinuxV2 = None
    table = {1: Ether, 0: Loopback, 108: Loopback, 113: CookedLinux, 101: IP, 12: IP, 14: IP, 228: IP}
    if CookedLinuxV2 is not None:
        table[276] = CookedLinuxV2
    try:
        from scapy.layers.inet6 import IPv6

        table[229] = IPv6
    except ImportError:
        pass
    return table.get(linktype)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.hex() if len(value) <= MAX_VALUE // 2 else value[: MAX_VALUE // 2].hex() + "…"
    return safe_line(value, limit=MAX_VALUE)


def _layers(raw: bytes, linktype: int) -> tuple[tuple[Layer, ...], str]:
    import warnings

    cls = _scapy_class(linktype)
    if cls is None:
        from scapy.packet import Raw

        cls, note = Raw, f"link type {linktype} is not one scapy is asked to decode here; shown as raw bytes"
    else:
        note = ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pkt = cls(raw)
        except Exception as exc:  # scapy raises anything on hostile bytes
            from scapy.packet import Raw

            pkt, note = Raw(raw), f"scapy could not dissect it ({safe_line(type(exc).__name__)}); shown as raw bytes"
    layers = []
    layer = pkt
    while layer is not None and layer.__class__.__name__ != "NoPayload":
        fields = []
        for f in layer.fields_desc:
            try:
                shown = f.i2repr(layer, layer.getfieldval(f.name))
            except Exception:  # a field scapy cannot show (hostile value)
                shown = repr(layer.getfieldval(f.name))
            fields.append((safe_line(f.name, limit=60), _text(shown)))
        if layer.__class__.__name__ in ("Raw", "Padding") and "load" in layer.fields:
            fields = [("load", _text(bytes(layer.fields["load"])))]
        layers.append(Layer(safe_line(layer.name, limit=60), tuple(fields)))
        layer = layer.payload if layer.payload is not None else None
    return tuple(layers), note


def dissect(row: Mapping[str, Any], files: Sequence[CaptureFile] = ()) -> Dissection:
    """The row's packet dissected by scapy: original bytes when referenced, else synthesized (noted).

    A capture changed since decoding raises :class:`~scantui.io.packet_refs.ChangedCapture`.
    """
    rec = record_of(row, files) if files else None
    if rec is not None:
        layers, note = _layers(rec.data, rec.linktype)
        return Dissection(layers, rec.data, True, note, rec.linktype)
    raw = synthesize_frame(row)
    layers, note = _layers(raw, LINKTYPE_RAW)
    why = "synthesized from the packet's fields (the input was not a capture, so the original bytes are not kept)"
    return Dissection(layers, raw, False, f"{why}; {note}" if note else why, LINKTYPE_RAW)


def hexdump(raw: bytes, width: int = 16) -> list[str]:
    """Hex dump lines: offset, hex bytes, ASCII (non-printable bytes as ``.``)."""
    lines = []
    for at in range(0, len(raw), width):
        chunk = raw[at : at + width]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in chunk)
        lines.append(f"{at:04x}  {hexes:<{width * 3 - 1}}  {text}")
    return lines
