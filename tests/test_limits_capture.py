"""No silent drop in the capture layer (issue 11): an out-of-window RST, IP fragments, reader notes.

Each hostile capture of the issue's table is built here and decoded twice, by
:func:`decode_capture` and by ``dimse-codec decode``: the messages must be exactly those of the
clean conversation, and what the capture layer skipped must be a problem with its code, counted
in the summary, so that "0 problems" means nothing was skipped.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import replace
from pathlib import Path

import pytest
from capture_builder import (
    ACK,
    RST,
    Frame,
    epb,
    fragment_ipv4,
    fragment_ipv6,
    idb,
    ipv4,
    ipv6_fragment,
    pcap,
    shb,
    tcp,
)
from conftest import require_tool
from dicom_conversation import Conversation, echo_and_store
from recording import agree_with_tshark

from dimse_codec.capture import (
    AssociationEvent,
    CapturedMessage,
    CaptureProblem,
    DicomDirection,
    decode_capture,
)
from dimse_codec.cli.main import main
from dimse_codec.diagnostics import DiagnosticCode
from dimse_codec.limits import Limits
from dimse_codec.pcap import (
    CaptureReader,
    CloseReason,
    ConnectionClosed,
    NoteKind,
    Packet,
    ResetIgnored,
    StreamData,
    TcpFlags,
    TcpReassembler,
)
from dimse_codec.pcap.fragments import FragmentReassembler
from dimse_codec.pcap.packets import Fragment
from dimse_codec.policy import LENIENT

R2A = DicomDirection.REQUESTOR_TO_ACCEPTOR
A2R = DicomDirection.ACCEPTOR_TO_REQUESTOR
STORE_DATA = b"\x08\x00\x16\x00UI\x06\x001.2.3\x00"
EXPECTED_MESSAGES = [
    ("C-ECHO-RQ", R2A, 1, None),
    ("C-ECHO-RSP", A2R, 1, None),
    ("C-STORE-RQ", R2A, 3, STORE_DATA),
    ("C-STORE-RSP", A2R, 3, None),
]
EXPECTED_EVENTS = ["request", "accept", "release-request", "release"]


def store_conversation(*, reset_distance: int | None = None) -> Conversation:
    """Associate, C-ECHO, C-STORE, release; with ``reset_distance``, the requestor sends a RST
    that many sequence numbers past its next byte right after the A-ASSOCIATE-AC (frame 6)."""
    conversation = echo_and_store()
    if reset_distance is not None:
        request = conversation.frames[3].data  # frame 4: the A-ASSOCIATE-RQ, one segment
        (seq,) = struct.unpack_from(">I", request, 24)
        src, dst = conversation.client, conversation.server
        (ack,) = struct.unpack_from(">I", request, 28)
        reset = tcp(src[1], dst[1], seq + len(request) - 40 + reset_distance, ack, RST | ACK)
        time_ns = conversation.frames[4].time_ns + 1
        conversation.frames.insert(5, Frame(time_ns, ipv4(src[0], dst[0], reset)))
    return conversation


def decoded(capture: bytes, **options: object) -> list[object]:
    return list(decode_capture(capture, **options))  # type: ignore[arg-type]


def messages(found: list[object]) -> list[tuple[str, DicomDirection, int, bytes | None]]:
    return [
        (r.name, r.direction, r.context_id, None if r.dataset is None else bytes(r.dataset))
        for r in found
        if isinstance(r, CapturedMessage)
    ]


def events(found: list[object]) -> list[str]:
    return [r.event for r in found if isinstance(r, AssociationEvent)]


def problems(found: list[object]) -> list[tuple[DiagnosticCode, int]]:
    return [(r.diagnostic.code, r.count) for r in found if isinstance(r, CaptureProblem)]


def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], capture: bytes) -> list[str]:
    """``dimse-codec decode`` on the capture: its summary lines (exit 0 checked)."""
    path = tmp_path / "capture.pcap"
    path.write_bytes(capture)
    assert main(["decode", str(path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("summary:"))
    return lines[start:]


def test_the_clean_conversation_has_no_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = decoded(store_conversation().capture())
    assert messages(found) == EXPECTED_MESSAGES
    assert events(found) == EXPECTED_EVENTS
    assert problems(found) == []
    summary = cli(tmp_path, capsys, store_conversation().capture())
    assert summary[0].endswith("0 gap(s), 0 problem(s)")
    assert not any(line.startswith("  problems:") for line in summary)


# --- a RST outside the receive window ------------------------------------------------------------


def test_out_of_window_reset_is_reported_and_ignored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = store_conversation(reset_distance=1 << 31).capture()
    found = decoded(capture)
    assert messages(found) == EXPECTED_MESSAGES
    assert events(found) == EXPECTED_EVENTS  # released, not "close"
    assert problems(found) == [(DiagnosticCode.RST_OUT_OF_WINDOW, 1)]
    (problem,) = [r for r in found if isinstance(r, CaptureProblem)]
    assert problem.association == 0 and problem.direction is R2A
    assert "RFC 5961" in problem.diagnostic.message
    assert str(-(1 << 31)) in problem.diagnostic.message  # 2**31 away reads as -2**31
    summary = cli(tmp_path, capsys, capture)
    assert summary[0] == ("summary: 1 association(s), 4 message(s), 0 gap(s), 1 problem(s)")
    assert "  problems: RST_OUT_OF_WINDOW 1" in summary


@pytest.mark.parametrize("distance", [0, 1, 1000])
def test_in_window_reset_still_closes(distance: int) -> None:
    found = decoded(store_conversation(reset_distance=distance).capture())
    assert messages(found) == []  # the C-STORE came after the reset: late, dropped...
    assert events(found) == ["request", "accept", "close"]
    # ... but not in silence: each of the 6 segments with bytes after the reset is a problem
    assert problems(found) == [(DiagnosticCode.SEGMENT_AFTER_RESET, 1)] * 6
    assert [r.frame for r in found if isinstance(r, CaptureProblem)] == [7, 8, 9, 10, 11, 12]


def test_reassembler_reports_the_reset_and_keeps_the_stream() -> None:
    client, server = (bytes([10, 0, 0, 1]), 40000), (bytes([10, 0, 0, 2]), 104)

    def packet(frame: int, seq: int, flags: int, payload: bytes = b"") -> Packet:
        return Packet(
            frame, frame, 0, client[0], client[1], server[0], server[1], seq, 0,
            TcpFlags(flags), memoryview(payload), len(payload),
        )  # fmt: skip

    reassembler = TcpReassembler()
    got = []
    for p in [
        packet(1, 99, 0x02),
        packet(2, 100, ACK, b"ab"),
        packet(3, 102 + (1 << 31), RST | ACK),
        packet(4, 102, ACK, b"cd"),
        packet(5, 104 + (1 << 24) + 1, RST),  # just past the window: ignored too
        packet(6, 104, RST),
    ]:
        got += reassembler.feed(p)
    assert b"".join(bytes(e.data) for e in got if isinstance(e, StreamData)) == b"abcd"
    assert [(e.frame, e.distance) for e in got if isinstance(e, ResetIgnored)] == [
        (3, -(1 << 31)),
        (5, (1 << 24) + 1),
    ]
    assert [(e.reason, e.frame) for e in got if isinstance(e, ConnectionClosed)] == [
        (CloseReason.RST, 6)
    ]
    assert reassembler.stats.ignored_resets == 2


# --- IP fragments -------------------------------------------------------------------------------


def fragmented_ipv4(conversation: Conversation, size: int = 8) -> bytes:
    frames = [
        Frame(frame.time_ns + i, piece)
        for frame in conversation.frames
        for i, piece in enumerate(fragment_ipv4(frame.data, size))
    ]
    return pcap(frames, link_type=101, nanoseconds=True)


def as_ipv6(conversation: Conversation, size: int = 8) -> bytes:
    """The same conversation over IPv6, every segment in fragments of ``size`` bytes."""
    frames = []
    for ident, frame in enumerate(conversation.frames):
        src = "::ffff:" + str(ipaddress.IPv4Address(frame.data[12:16]))
        dst = "::ffff:" + str(ipaddress.IPv4Address(frame.data[16:20]))
        pieces = fragment_ipv6(src, dst, frame.data[20:], ident, size)
        frames += [Frame(frame.time_ns + i, piece) for i, piece in enumerate(pieces)]
    return pcap(frames, link_type=101, nanoseconds=True)


@pytest.mark.parametrize("size", [8, 64])
def test_ipv4_fragments_decode_like_the_whole_packets(
    size: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = fragmented_ipv4(store_conversation(), size)
    found = decoded(capture)
    assert messages(found) == EXPECTED_MESSAGES
    assert events(found) == EXPECTED_EVENTS
    assert problems(found) == []
    summary = cli(tmp_path, capsys, capture)
    assert summary[0] == "summary: 1 association(s), 4 message(s), 0 gap(s), 0 problem(s)"
    with CaptureReader(capture) as reader:
        packets = list(reader)
    whole = store_conversation().frames
    assert len(packets) == len(whole)
    cut = sum(len(frame.data) - 20 > size for frame in whole)  # a short one stays whole
    assert reader.stats.reassembled == cut and reader.stats.skipped == 0


def test_ipv6_fragments_decode_like_the_whole_packets() -> None:
    found = decoded(as_ipv6(store_conversation()))
    assert messages(found) == EXPECTED_MESSAGES
    assert events(found) == EXPECTED_EVENTS
    assert problems(found) == []


def test_missing_fragment_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conversation = store_conversation()
    frames = [Frame(frame.time_ns, frame.data) for frame in conversation.frames]
    store_frame = 8  # handshake 3, A-ASSOCIATE-RQ and -AC, C-ECHO-RQ and -RSP, then the store
    pieces = fragment_ipv4(frames[store_frame - 1].data)
    del pieces[3]
    frames[store_frame - 1 : store_frame] = [Frame(frames[7].time_ns, p) for p in pieces]
    capture = pcap(frames, link_type=101, nanoseconds=True)
    found = decoded(capture)
    names = [m[0] for m in messages(found)]
    assert names == ["C-ECHO-RQ", "C-ECHO-RSP", "C-STORE-RSP"]  # the C-STORE-RQ never came whole
    assert (DiagnosticCode.IP_FRAGMENT, 1) in problems(found)
    problem = next(
        r
        for r in found
        if isinstance(r, CaptureProblem) and r.diagnostic.code.value == "IP_FRAGMENT"
    )
    assert problem.frame == store_frame
    assert f"{len(pieces)} fragment(s)" in problem.diagnostic.message
    summary = cli(tmp_path, capsys, capture)
    assert any(line.startswith("  problems:") and "IP_FRAGMENT 1" in line for line in summary)
    assert not summary[0].endswith(" 0 problem(s)")


def test_overlapping_fragments_are_reported_and_dropped() -> None:
    segment = tcp(5, 6, 7, 8, ACK, b"0123456789abcdef")  # 36 bytes
    first = ipv6_fragment("::1", "::2", segment[:16], ident=9, offset=0, more=True)
    overlapping = ipv6_fragment("::1", "::2", b"X" * 16, ident=9, offset=8, more=True)
    last = ipv6_fragment("::1", "::2", segment[16:], ident=9, offset=16, more=False)
    capture = pcap(
        [Frame(i, data) for i, data in enumerate([first, overlapping, last])], link_type=229
    )
    with CaptureReader(capture) as reader:
        assert list(reader) == []
    assert [n.kind for n in reader.notes] == [NoteKind.FRAGMENT_OVERLAP]
    assert reader.notes[0].frame == 1
    assert reader.stats.skipped == 3 and reader.stats.fragments == 3


def test_duplicate_fragment_is_ignored_and_ipv6_reassembles() -> None:
    segment = tcp(5, 6, 7, 8, ACK, b"0123456789abcdef")
    first = ipv6_fragment("::1", "::2", segment[:16], ident=9, offset=0, more=True)
    last = ipv6_fragment("::1", "::2", segment[16:], ident=9, offset=16, more=False)
    capture = pcap([Frame(i, data) for i, data in enumerate([first, first, last])], link_type=229)
    with CaptureReader(capture) as reader:
        (packet,) = list(reader)
    assert bytes(packet.payload) == b"0123456789abcdef" and packet.frame == 3
    assert reader.notes == []


def fragment(ident: int, offset: int, more: bool, data: bytes = b"\0" * 8) -> Fragment:
    src, dst = bytes(4), bytes(4)
    return Fragment(4, src, dst, ident, 6, offset, more, memoryview(data), False)


def test_reassembly_is_bounded() -> None:
    reported: list[tuple[NoteKind, str, int]] = []
    reassembler = FragmentReassembler(
        lambda kind, text, frame, _offset, _count: reported.append((kind, text, frame)),
        max_datagrams=2,
        max_fragments=3,
        timeout_frames=100,
        timeout_ns=10,
    )
    # more datagrams in flight than allowed: the oldest goes
    for ident in range(3):
        assert reassembler.add(fragment(ident, 0, True), ident + 1, None, None) is None
    assert [(r[0], r[2]) for r in reported] == [(NoteKind.IP_FRAGMENT, 1)]
    assert "more than 2 datagrams" in reported[0][1]
    # too many fragments
    reported.clear()
    for n in range(4):
        reassembler.add(fragment(1, 8 * (n + 1), True), 10 + n, None, None)
    assert ["more than 3 fragments" in r[1] for r in reported] == [True]
    # beyond 65535 bytes
    reported.clear()
    reassembler.add(fragment(2, 65528, True, b"\0" * 16), 20, None, None)
    assert [r[0] for r in reported] == [NoteKind.MALFORMED]
    # timeouts: in frames, then in capture time
    reported.clear()
    reassembler.add(fragment(7, 0, True), 30, 0, None)
    reassembler.add(fragment(8, 0, True), 200, 5, None)
    assert ["did not come in time" in r[1] and r[2] == 30 for r in reported] == [True]
    reassembler.add(fragment(9, 0, True), 201, 100, None)
    assert [r[2] for r in reported] == [30, 200]
    reassembler.finish()
    assert [r[2] for r in reported] == [30, 200, 201]


# --- pcapng packets on interfaces that do not exist ----------------------------------------------


def bad_interface_capture(count: int, conversation: Conversation | None = None) -> bytes:
    blocks = [shb("<"), idb(101, "<")]
    if conversation is not None:
        blocks += [epb(frame, "<") for frame in conversation.frames]
    blocks += [epb(Frame(1_000 * i, b"\x45" + b"\0" * 39, interface=7), "<") for i in range(count)]
    return b"".join(blocks)


def test_bad_interface_notes_are_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = bad_interface_capture(12, store_conversation())
    found = decoded(capture)
    assert messages(found) == EXPECTED_MESSAGES
    assert problems(found) == [(DiagnosticCode.BAD_INTERFACE, 1)] * 12
    first = next(r for r in found if isinstance(r, CaptureProblem))
    assert first.frame == len(store_conversation().frames) + 1
    assert "interface 7" in first.diagnostic.message
    summary = cli(tmp_path, capsys, capture)
    assert summary[0] == "summary: 1 association(s), 4 message(s), 0 gap(s), 12 problem(s)"
    assert "  problems: BAD_INTERFACE 12" in summary


def test_only_bad_interfaces_is_not_zero_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = cli(tmp_path, capsys, bad_interface_capture(12))
    assert summary[0] == "summary: 0 association(s), 0 message(s), 0 gap(s), 12 problem(s)"


def test_repeated_notes_are_capped_then_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = replace(LENIENT, limits=Limits(max_diagnostics=10))
    found = decoded(bad_interface_capture(3000), policy=policy)
    assert problems(found) == [(DiagnosticCode.BAD_INTERFACE, 1)] * 10 + [
        (DiagnosticCode.BAD_INTERFACE, 2990)
    ]
    assert "2990 more BAD_INTERFACE" in found[-1].diagnostic.message  # type: ignore[attr-defined]
    # the reader's own cap (max_notes) is counted too: the CLI's default keeps 1000 records
    summary = cli(tmp_path, capsys, bad_interface_capture(12_000))
    assert summary[0].endswith("12000 problem(s)")
    assert "  problems: BAD_INTERFACE 12000" in summary


def test_bad_interface_records_are_bounded() -> None:
    found = decoded(bad_interface_capture(12_000))
    assert len(found) == 1001
    assert sum(count for _, count in problems(found)) == 12_000


def test_unsupported_link_type_notes_become_problems() -> None:
    blocks = [shb("<"), idb(101, "<"), idb(105, "<")]  # 802.11: not decoded
    blocks += [epb(Frame(i, b"\0" * 30, interface=1), "<") for i in range(3)]
    with CaptureReader(b"".join(blocks), skip_unsupported_link_types=True) as reader:
        assert list(reader) == []
    assert reader.note_counts == {NoteKind.UNSUPPORTED_LINK_TYPE: 1}  # one per interface
    assert reader.unsupported[1].packets == 3 and reader.stats.skipped == 3
    # decode_capture skips them too: one problem for the interface, counting its packets
    assert problems(decoded(b"".join(blocks))) == [(DiagnosticCode.UNSUPPORTED_LINK_TYPE, 3)]


def test_malformed_and_cut_frames_are_problems() -> None:
    good = store_conversation().frames
    frames = [*good[:3], Frame(1, b"\x43" + b"\0" * 8 + b"\x06" + b"\0" * 30), Frame(2, b"\x45")]
    frames += good[3:]
    found = decoded(pcap(frames, link_type=101, nanoseconds=True))
    assert messages(found) == EXPECTED_MESSAGES
    assert problems(found) == [(DiagnosticCode.MALFORMED_PACKET, 1), (DiagnosticCode.HEADER_CUT, 1)]
    assert [r.frame for r in found if isinstance(r, CaptureProblem)] == [4, 5]


def test_every_note_kind_has_a_problem_code() -> None:
    from dimse_codec.capture.dicom import _NOTE_CODES

    assert set(_NOTE_CODES) == set(NoteKind)


@pytest.mark.parametrize("version", [4, 6])
def test_tshark_reassembles_the_same_fragments(version: int, tmp_path: Path) -> None:
    """tshark (whose IP reassembly is on by default) sees the same commands in the same frames."""
    require_tool("tshark")
    capture = (fragmented_ipv4 if version == 4 else as_ipv6)(store_conversation())
    path = tmp_path / "fragments.pcap"
    path.write_bytes(capture)
    found = decoded(capture)
    ours = agree_with_tshark(path, 11112, found)  # type: ignore[arg-type]
    assert [m[0] for m in messages(list(ours))] == [m[0] for m in EXPECTED_MESSAGES]
