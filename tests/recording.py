"""Record real loopback traffic with tcpdump, and read tshark's own DICOM decode of a capture.

:func:`tcpdump` records every packet to or from some ports on ``lo`` into a pcap file, for as
long as its ``with`` block runs. It waits for tcpdump's "listening on" line before the block
starts, and at the end sends a UDP datagram to the first port: once that marker is in the file
(``-U`` flushes per packet) every packet before it is too. tcpdump is stopped by its PID, and a
run where the kernel dropped packets fails rather than letting a test compare a lossy capture.

:func:`tshark_dicom` runs ``tshark -r FILE -d tcp.port==N,dicom -T pdml`` and turns the PDML
into plain values: one :class:`TsharkPDU` per DICOM PDU tshark dissected, with the command
elements of each complete command PDV it showed. The tests compare those with dimse-codec's
decode of the same file, message by message.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import peer_unavailable, require_tool

from dimse_codec.capture import (
    AssociationEvent,
    CapturedMessage,
    CaptureRecord,
    DicomDirection,
    decode_capture,
)
from dimse_codec.pcap import Endpoint

SENTINEL = b"dimse-codec capture sentinel"
MARKER_TIMEOUT = 30.0
"""Seconds tcpdump may take to write the end marker (it flushes per packet)."""


@contextmanager
def tcpdump(
    path: Path, ports: Sequence[int], *, snaplen: int = 262144, rotate_mb: int | None = None
) -> Iterator[Path]:
    """Record TCP/UDP traffic on ``lo`` to or from ``ports`` into ``path`` while the block runs.

    With ``rotate_mb``, tcpdump starts a new file each time one passes that many million bytes
    (``-C``): ``path``, then ``path`` with 1, 2, ... appended, as ``tcpdump -C`` names them."""
    binary = require_tool("tcpdump")
    expression = " or ".join(f"port {port}" for port in ports)
    rotate = [] if rotate_mb is None else ["-C", str(rotate_mb)]
    process = subprocess.Popen(
        # -B: a kernel buffer big enough that loopback bursts of 64 KiB frames are never dropped
        [binary, "-i", "lo", "-w", str(path), "-U", "--immediate-mode", "-s", str(snaplen),
         "-B", "65536", "-Z", "root", *rotate, expression],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        ready = False
        for _ in range(50):  # tcpdump says a few lines, then "listening on lo"
            line = process.stderr.readline()
            if not line:
                break
            if b"listening on" in line:
                ready = True
                break
        if not ready:
            peer_unavailable(f"tcpdump could not capture on lo (exit {process.poll()})")
        yield path
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as marker:
            marker.sendto(SENTINEL, ("127.0.0.1", ports[0]))
        deadline = time.monotonic() + MARKER_TIMEOUT
        while not any(SENTINEL in file.read_bytes() for file in path.parent.glob(f"{path.name}*")):
            if time.monotonic() > deadline:
                pytest.fail("tcpdump never wrote the end marker")
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert process.stderr is not None
    summary = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    dropped = re.search(r"(\d+) packets? dropped by kernel", summary)
    assert dropped is None or dropped.group(1) == "0", f"tcpdump lost packets: {summary}"


# -- tshark's decode -----------------------------------------------------------------------------

_ELEMENT = re.compile(r"^\(([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)\s+(\d+) (.*?)\s{2,}(.*)$")
_UID_NAME = re.compile(r"^([0-9.]+) \(.*\)$")


@dataclass
class TsharkCommand:
    """One complete command set as tshark showed it: tag -> the value text it printed."""

    frame: int
    context_id: int
    elements: dict[int, str]

    @property
    def command_field(self) -> str:
        """tshark's name for the message, e.g. ``C-STORE-RQ``."""
        return self.elements.get(0x00000100, "")

    def text(self, tag: int) -> str | None:
        """The value text of ``tag``; a UID without the name tshark appended to it."""
        value = self.elements.get(tag)
        if value is None:
            return None
        named = _UID_NAME.match(value)
        return named.group(1) if named else value

    def integer(self, tag: int) -> int | None:
        """An US/UL value (tshark prints them in decimal)."""
        value = self.text(tag)
        return None if value is None else int(value)


@dataclass
class TsharkPDU:
    """One DICOM PDU tshark dissected, in the frame where it ended."""

    frame: int
    src_port: int
    dst_port: int
    pdu_type: int
    summary: str
    commands: list[TsharkCommand] = field(default_factory=list)


def tshark_dicom(path: Path, port: int) -> list[TsharkPDU]:
    """tshark's DICOM decode of ``path`` with ``port`` forced to DICOM, as :class:`TsharkPDU`s."""
    binary = require_tool("tshark")
    run = subprocess.run(
        [binary, "-n", "-r", str(path), "-d", f"tcp.port=={port},dicom", "-T", "pdml"],
        capture_output=True,
        timeout=300,
        check=True,
    )
    pdus: list[TsharkPDU] = []
    for packet in ET.fromstring(run.stdout).iter("packet"):
        frame = 0
        ports = (0, 0)
        for proto in packet.iter("proto"):
            name = proto.get("name")
            if name == "geninfo":
                number = proto.find("field[@name='num']")
                frame = int(number.get("show", "0")) if number is not None else 0
            elif name == "tcp":
                src = proto.find("field[@name='tcp.srcport']")
                dst = proto.find("field[@name='tcp.dstport']")
                if src is not None and dst is not None:
                    ports = (int(src.get("show", "0")), int(dst.get("show", "0")))
            elif name == "dicom":
                pdus.append(_pdu(proto, frame, ports))
    return pdus


def _pdu(proto: ET.Element, frame: int, ports: tuple[int, int]) -> TsharkPDU:
    kind = proto.find("field[@name='dicom.pdu.type']")
    pdu_type = int(kind.get("show", "0x00"), 16) if kind is not None else 0
    summary = proto.get("showname", "")
    pdu = TsharkPDU(frame, ports[0], ports[1], pdu_type, summary)
    for pdv in proto.findall("field"):
        if not pdv.get("show", "").startswith("PDV"):
            continue
        flags = pdv.find("field[@name='dicom.pdv.flags']")
        context = pdv.find("field[@name='dicom.pdv.ctx']")
        if flags is None or context is None:
            continue
        if int(flags.get("show", "0"), 16) & 0x03 != 0x03:  # not a command's last fragment
            continue
        elements: dict[int, str] = {}
        for element in pdv.iter("field"):
            match = _ELEMENT.match(element.get("show", ""))
            if match and match.group(1) == "0000":
                elements[int(match.group(1) + match.group(2), 16)] = match.group(5).strip()
        if elements:
            pdu.commands.append(TsharkCommand(frame, int(context.get("show", "0")), elements))
    return pdu


def tshark_commands(pdus: Sequence[TsharkPDU]) -> list[tuple[TsharkPDU, TsharkCommand]]:
    """Every command tshark showed, with its PDU, in capture order."""
    return [(pdu, command) for pdu in pdus for command in pdu.commands]


# -- ours against tshark -------------------------------------------------------------------------

_STATUS = re.compile(r"\((0x[0-9A-Fa-f]+)\)$")


@dataclass(frozen=True)
class Seen:
    """What both decoders must agree on for one command: its stream and identifying fields."""

    src_port: int
    dst_port: int
    context_id: int
    message: str
    message_id: int | None
    status: int | None
    instance: str | None


def decode_records(path: Path, port: int | None = None) -> list[CaptureRecord]:
    """Everything dimse-codec's :func:`decode_capture` yields for ``path``."""
    return list(decode_capture(path, port=port))


def output_frames(path: Path) -> dict[str, list[int]]:
    """The frame labels of ``dimse-codec decode``'s text lines and NDJSON records for
    ``path``, in the order it printed them (the summary has none)."""
    frames: dict[str, list[int]] = {}
    for name, options in (("text", []), ("ndjson", ["--format", "ndjson"])):
        result = subprocess.run(
            [sys.executable, "-m", "dimse_codec.cli.main", "decode", *options, str(path)],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        if name == "text":
            found = [re.match(r"a[0-9?]+ f(\d+) ", line) for line in result.stdout.splitlines()]
            frames[name] = [int(match.group(1)) for match in found if match is not None]
        else:
            lines = [json.loads(line) for line in result.stdout.splitlines()]
            frames[name] = [line["frame"] for line in lines if line.get("frame") is not None]
    return frames


def assert_frame_order(path: Path, records: Sequence[CaptureRecord]) -> None:
    """The records, and ``decode``'s text and NDJSON output, come in the order of the frames
    they are labelled with (each record's frame is the one it was decided at)."""
    labelled = [r.frame for r in records if getattr(r, "frame", None) is not None]
    assert labelled == sorted(labelled)
    for name, frames in output_frames(path).items():
        assert frames == sorted(frames), name
        assert len(frames) >= len(labelled), name


def messages_of(records: Sequence[CaptureRecord]) -> list[CapturedMessage]:
    """The messages among ``records``, in the order they were decoded."""
    return [record for record in records if isinstance(record, CapturedMessage)]


def ours_seen(records: Sequence[CaptureRecord]) -> list[tuple[Seen, CapturedMessage]]:
    """Our messages as :class:`Seen` values (ports taken from the association's endpoints)."""
    endpoints: dict[int, tuple[Endpoint | None, Endpoint | None]] = {}
    for record in records:
        if isinstance(record, AssociationEvent):
            association = record.association
            endpoints[association.index] = (association.requestor, association.acceptor)
    seen = []
    for message in messages_of(records):
        requestor, acceptor = endpoints[message.association]
        assert requestor is not None and acceptor is not None
        forward = message.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR
        src, dst = (requestor, acceptor) if forward else (acceptor, requestor)
        primitive = message.primitive
        message_id = getattr(primitive, "MessageID", None)
        if message_id is None:
            message_id = getattr(primitive, "MessageIDBeingRespondedTo", None)
        instance = getattr(primitive, "AffectedSOPInstanceUID", None)
        if instance is None:
            instance = getattr(primitive, "RequestedSOPInstanceUID", None)
        item = Seen(
            src.port, dst.port, message.context_id, message.name, message_id, message.status,
            None if instance is None else str(instance),
        )  # fmt: skip
        seen.append((item, message))
    return seen


def tshark_seen(pdus: Sequence[TsharkPDU]) -> list[tuple[Seen, TsharkCommand]]:
    """tshark's commands as :class:`Seen` values."""
    seen = []
    for pdu, command in tshark_commands(pdus):
        message_id = command.integer(0x00000110)
        if message_id is None:
            message_id = command.integer(0x00000120)
        status_text = command.text(0x00000900)
        status = None
        if status_text is not None:
            match = _STATUS.search(status_text)
            assert match, f"tshark printed a status I cannot read: {status_text!r}"
            status = int(match.group(1), 16)
        instance = command.text(0x00001000) or command.text(0x00001001)
        item = Seen(
            pdu.src_port, pdu.dst_port, command.context_id, command.command_field, message_id,
            status, instance,
        )  # fmt: skip
        seen.append((item, command))
    return seen


def by_stream(items: Sequence[tuple[Seen, object]]) -> dict[tuple[int, int], list[Seen]]:
    """:class:`Seen` values grouped by (source port, destination port), each in order."""
    grouped: dict[tuple[int, int], list[Seen]] = {}
    for item, _ in items:
        grouped.setdefault((item.src_port, item.dst_port), []).append(item)
    return grouped


def agree_with_tshark(
    path: Path,
    port: int,
    records: Sequence[CaptureRecord],
    *,
    tshark_is_wrong_on: Callable[[Seen], bool] | None = None,
) -> list[CapturedMessage]:
    """Check every message against tshark's PDML of the same file; return our messages.

    Per TCP direction, both must list the same commands in the same order (message type,
    message ID or the ID responded to, status, affected/requested SOP instance, context ID), and
    the frame where tshark showed each command must lie within our message's frames.

    ``tshark_is_wrong_on`` names the messages tshark is known to get wrong in this capture: they
    are left out of the comparison, and the check fails if tshark shows any of them right after
    all (so a fixed tshark is noticed). The caller checks those messages another way.
    """
    ours = ours_seen(records)
    theirs = tshark_seen(tshark_dicom(path, port))
    if tshark_is_wrong_on is not None:
        wrong = [item for item, _ in ours if tshark_is_wrong_on(item)]
        assert wrong, "tshark_is_wrong_on matches none of our messages"
        shown = {item for item, _ in theirs}
        assert not [item for item in wrong if item in shown], "tshark got these right now"
        ours = [(item, message) for item, message in ours if not tshark_is_wrong_on(item)]
    assert by_stream(ours) == by_stream(theirs)
    frames: dict[tuple[int, int], list[int]] = {}
    for item, command in theirs:
        frames.setdefault((item.src_port, item.dst_port), []).append(command.frame)
    for key, group in frames.items():
        mine = [message for item, message in ours if (item.src_port, item.dst_port) == key]
        for message, frame in zip(mine, group, strict=True):
            assert message.first_frame <= frame <= message.frame, (message, frame)
    return messages_of(records)


# -- TCP segments and PDU lengths as tshark saw them (appended for test_capture_dcmtk) ----------


@dataclass(frozen=True)
class TsharkSegment:
    """One TCP segment as tshark saw it, with the DICOM PDUs tshark showed ending in it."""

    frame: int
    src_port: int
    dst_port: int
    seq: int
    """Relative sequence number of the first payload byte (1: the first byte after the SYN)."""
    payload: int
    """TCP payload bytes (``tcp.len``); a retransmission carries bytes already counted."""
    pdus: tuple[tuple[int, int], ...]
    """(PDU type, PDU-length field) of each DICOM PDU tshark dissected in this frame."""


def tshark_segments(path: Path, ports: Sequence[int]) -> list[TsharkSegment]:
    """Every TCP segment of ``path``, with each of ``ports`` forced to DICOM, in frame order.

    Sequence numbers are tshark's relative ones (its default), so a direction's stream holds
    ``max(seq + payload) - 1`` bytes however many segments were retransmitted.
    """
    binary = require_tool("tshark")
    decode_as = [option for port in ports for option in ("-d", f"tcp.port=={port},dicom")]
    fields = ["frame.number", "tcp.srcport", "tcp.dstport", "tcp.seq", "tcp.len",
              "dicom.pdu.type", "dicom.pdu.len"]  # fmt: skip
    run = subprocess.run(
        [binary, "-n", "-r", str(path), *decode_as, "-Y", "tcp", "-T", "fields",
         "-E", "separator=/t", "-E", "occurrence=a", "-E", "aggregator=,",
         *[option for name in fields for option in ("-e", name)]],
        capture_output=True,
        timeout=300,
        check=True,
        text=True,
    )  # fmt: skip
    segments = []
    for line in run.stdout.splitlines():
        frame, src, dst, seq, payload, types, lengths = line.split("\t")
        kinds = [int(kind, 16) for kind in types.split(",") if kind]
        sizes = [int(size) for size in lengths.split(",") if size]
        assert len(kinds) == len(sizes), f"frame {frame}: PDU types {types!r}, lengths {lengths!r}"
        pdus = tuple(zip(kinds, sizes, strict=True))
        segments.append(
            TsharkSegment(int(frame), int(src), int(dst), int(seq), int(payload or 0), pdus)
        )
    return segments
