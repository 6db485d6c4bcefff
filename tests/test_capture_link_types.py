"""Packets of a link type the reader cannot decode to IP: skipped and counted, never silent.

A pcapng capture may mix interfaces: DICOM on Ethernet next to an 802.11 monitor or a USB bus.
``decode_capture`` and ``dimse-codec decode`` decode the Ethernet conversation and report each
undecodable interface once, as an UNSUPPORTED_LINK_TYPE problem counting its packets; a capture
with no decodable interface at all stays a one-line error (exit code 2).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from capture_builder import Frame, epb, ethernet, idb, pcap, shb
from dicom_conversation import echo_and_store

from dimse_codec.capture import (
    AssociationEvent,
    CapturedMessage,
    CaptureProblem,
    DicomDirection,
    decode_capture,
)
from dimse_codec.cli._types import EXIT_OK, EXIT_USAGE
from dimse_codec.cli.main import main
from dimse_codec.diagnostics import DiagnosticCode
from dimse_codec.limits import Limits
from dimse_codec.pcap import (
    CaptureReader,
    NoteKind,
    UnsupportedInterface,
    UnsupportedLinkType,
)
from dimse_codec.policy import LENIENT

ETHERNET, IEEE802_11, USB_LINUX = 1, 105, 189
IPV4 = 0x0800
R2A = DicomDirection.REQUESTOR_TO_ACCEPTOR
A2R = DicomDirection.ACCEPTOR_TO_REQUESTOR
EXPECTED_MESSAGES = [
    ("C-ECHO-RQ", R2A),
    ("C-ECHO-RSP", A2R),
    ("C-STORE-RQ", R2A),
    ("C-STORE-RSP", A2R),
]
WIFI = b"\x88\x01" + b"\xaa" * 48
USB = b"\x00" * 64
UNSUPPORTED = DiagnosticCode.UNSUPPORTED_LINK_TYPE


def mixed(wifi_every: int = 2, usb: int = 3) -> tuple[bytes, list[int], list[int]]:
    """The C-ECHO and C-STORE conversation on Ethernet (interface 0), an 802.11 frame after every
    ``wifi_every``-th of its 14 frames (0: none; interface 1), and ``usb`` USB packets at the end
    (interface 2); returns the capture and the frame numbers of the 802.11 and USB packets."""
    blocks = [
        shb("<"),
        idb(ETHERNET, "<", name="eth0"),
        idb(IEEE802_11, "<", name="wlan0"),
        idb(USB_LINUX, "<"),
    ]
    wifi_frames: list[int] = []
    frame = 0
    for index, packet in enumerate(echo_and_store().frames):
        blocks.append(epb(Frame(packet.time_ns, ethernet(packet.data, IPV4)), "<"))
        frame += 1
        if wifi_every and index % wifi_every == 0:
            blocks.append(epb(Frame(packet.time_ns, WIFI, interface=1), "<"))
            frame += 1
            wifi_frames.append(frame)
    usb_frames = list(range(frame + 1, frame + 1 + usb))
    blocks += [epb(Frame(i, USB, interface=2), "<") for i in range(usb)]
    return b"".join(blocks), wifi_frames, usb_frames


def messages(found: list[object]) -> list[tuple[str, DicomDirection]]:
    return [(r.name, r.direction) for r in found if isinstance(r, CapturedMessage)]


def problems(found: list[object]) -> list[CaptureProblem]:
    return [r for r in found if isinstance(r, CaptureProblem)]


def run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], capture: bytes, *options: str
) -> tuple[int, str, str]:
    path = tmp_path / "capture.pcapng"
    path.write_bytes(capture)
    code = main(["decode", *options, str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- mixed interfaces ----------------------------------------------------------------------------


def last_frame(capture: bytes) -> int:
    """The number of the capture's last frame, of any interface."""
    with CaptureReader(capture, skip_unsupported_link_types=True) as reader:
        frames = [packet.frame for packet in reader]
    return max([*frames, *(skipped.last_frame for skipped in reader.unsupported.values())])


def test_mixed_interfaces_decode_fully_with_each_skipped_interface_counted() -> None:
    capture, wifi_frames, usb_frames = mixed()
    found = list(decode_capture(capture))
    assert messages(found) == EXPECTED_MESSAGES
    assert [r.event for r in found if isinstance(r, AssociationEvent)] == [
        "request",
        "accept",
        "release-request",
        "release",
    ]
    assert len(wifi_frames) == 7  # frames 2, 5, 8... after every other one of the 14
    wifi, usb = problems(found)
    # decided once the file is read: labelled with its last frame, after every other record
    end = last_frame(capture)
    assert (wifi.diagnostic.code, wifi.count, wifi.frame) == (UNSUPPORTED, 7, end)
    assert (usb.diagnostic.code, usb.count, usb.frame) == (UNSUPPORTED, 3, end)
    assert "frames 2 to" in wifi.diagnostic.message and end >= usb_frames[-1]
    assert wifi.diagnostic.message == (
        "interface 1 (wlan0) has link type 105 (IEEE802_11), which is not decoded down to IP: "
        f"its 7 packet(s) (frames {wifi_frames[0]} to {wifi_frames[-1]}) were skipped"
    )
    assert "interface 2 has link type 189 (USB_LINUX)" in usb.diagnostic.message
    assert f"(frames {usb_frames[0]} to {usb_frames[-1]})" in usb.diagnostic.message
    assert wifi.association is None and wifi.direction is DicomDirection.UNKNOWN
    assert wifi.diagnostic.path == "capture" and wifi.diagnostic.offset is not None
    # the problems come once the file is read: after every record of the conversation
    assert found.index(wifi) == len(found) - 2 and found.index(usb) == len(found) - 1


def test_one_skipped_packet_names_its_frame() -> None:
    capture, wifi_frames, _ = mixed(wifi_every=100, usb=0)
    (problem,) = problems(list(decode_capture(capture)))
    assert problem.count == 1 and wifi_frames == [2]
    assert "its 1 packet(s) (frame 2) were skipped" in problem.diagnostic.message


def test_the_cli_decodes_mixed_interfaces_and_counts_the_skipped_packets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture, _, _ = mixed()
    code, out, err = run(tmp_path, capsys, capture)
    assert code == EXIT_OK and err == ""
    lines = out.splitlines()
    end = last_frame(capture)
    assert f"a? f{end} - problem UNSUPPORTED_LINK_TYPE: interface 1 (wlan0)" in out
    start = next(i for i, line in enumerate(lines) if line.startswith("summary:"))
    assert lines[start] == "summary: 1 association(s), 4 message(s), 0 gap(s), 10 problem(s)"
    assert "  problems: UNSUPPORTED_LINK_TYPE 10" in lines[start:]
    # NDJSON: one line per interface, whose counts add up to the summary's
    code, out, err = run(tmp_path, capsys, capture, "--json")
    assert code == EXIT_OK and err == ""
    records = [json.loads(line) for line in out.splitlines()]
    diagnostics = [r for r in records if r["type"] == "diagnostic"]
    assert [(d["code"], d["count"], d["frame"]) for d in diagnostics] == [
        ("UNSUPPORTED_LINK_TYPE", 7, end),
        ("UNSUPPORTED_LINK_TYPE", 3, end),
    ]
    assert sum(r["type"] == "message" for r in records) == 4


def test_strict_mode_also_decodes_mixed_interfaces(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An interface the reader cannot decode is not a protocol problem: --strict goes on."""
    code, out, _ = run(tmp_path, capsys, mixed()[0], "--strict")
    assert code == EXIT_OK
    assert "4 message(s), 0 gap(s), 10 problem(s)" in out


def test_an_unsupported_interface_without_packets_is_no_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture, _, _ = mixed(wifi_every=0, usb=0)
    found = list(decode_capture(capture))
    assert messages(found) == EXPECTED_MESSAGES and problems(found) == []
    code, out, _ = run(tmp_path, capsys, capture)
    assert code == EXIT_OK and "4 message(s), 0 gap(s), 0 problem(s)" in out


def test_reader_notes_each_skipped_interface_once_and_counts_its_packets() -> None:
    capture, wifi_frames, usb_frames = mixed()
    with CaptureReader(capture, skip_unsupported_link_types=True) as reader:
        assert len(list(reader)) == len(echo_and_store().frames)
    assert [(n.kind, n.frame) for n in reader.notes] == [
        (NoteKind.UNSUPPORTED_LINK_TYPE, wifi_frames[0]),
        (NoteKind.UNSUPPORTED_LINK_TYPE, usb_frames[0]),
    ]
    assert reader.note_counts == {NoteKind.UNSUPPORTED_LINK_TYPE: 2}
    wifi, usb = reader.unsupported[1], reader.unsupported[2]
    assert list(reader.unsupported) == [1, 2]
    assert (wifi.link_type, wifi.link_name, wifi.packets) == (IEEE802_11, "IEEE802_11", 7)
    assert (wifi.first_frame, wifi.last_frame) == (wifi_frames[0], wifi_frames[-1])
    assert usb == UnsupportedInterface(2, USB_LINUX, 3, usb_frames[0], usb_frames[-1], usb.offset)
    assert reader.stats.skipped == 10
    assert reader.link_type_error() is None  # the Ethernet interface decodes


def test_skipping_many_packets_keeps_one_note_and_one_record() -> None:
    blocks = [shb("<"), idb(ETHERNET, "<"), idb(IEEE802_11, "<")]
    blocks += [epb(Frame(i, WIFI, interface=1), "<") for i in range(20_000)]
    capture = b"".join(blocks)
    with CaptureReader(capture, skip_unsupported_link_types=True, max_notes=10) as reader:
        assert list(reader) == []
    assert len(reader.notes) == 1 and reader.notes_dropped == 0
    assert reader.unsupported[1].packets == 20_000
    (problem,) = list(decode_capture(capture))
    assert problem.count == 20_000  # type: ignore[union-attr]
    assert "(frames 1 to 20000)" in problem.diagnostic.message  # type: ignore[union-attr]


def test_skipped_interfaces_past_the_cap_are_counted() -> None:
    blocks = [shb("<"), idb(ETHERNET, "<")] + [idb(IEEE802_11, "<") for _ in range(4)]
    blocks += [epb(Frame(i, WIFI, interface=1 + i % 4), "<") for i in range(4 * 5)]
    policy = replace(LENIENT, limits=Limits(max_diagnostics=2))
    found = problems(list(decode_capture(b"".join(blocks), policy=policy)))
    assert [(p.diagnostic.code, p.count, p.frame) for p in found] == [
        (UNSUPPORTED, 5, 20),  # decided at the capture's last frame
        (UNSUPPORTED, 5, 20),
        (UNSUPPORTED, 10, None),  # the two interfaces past the cap, every packet counted
    ]
    assert "10 more UNSUPPORTED_LINK_TYPE" in found[-1].diagnostic.message


# --- nothing decodable: an error -----------------------------------------------------------------


def test_a_pcap_of_an_unsupported_link_type_fails_before_reading() -> None:
    capture = pcap([Frame(0, WIFI), Frame(1, WIFI)], link_type=IEEE802_11)
    records = decode_capture(capture)
    with pytest.raises(UnsupportedLinkType) as caught:
        next(records)
    assert caught.value.link_type == IEEE802_11 and caught.value.offset == 20
    assert "unsupported link type 105 (IEEE802_11)" in str(caught.value)


def test_a_pcapng_without_a_decodable_interface_fails_once_read() -> None:
    blocks = [shb("<"), idb(IEEE802_11, "<"), idb(USB_LINUX, "<")]
    blocks += [epb(Frame(i, WIFI, interface=i % 2), "<") for i in range(6)]
    with pytest.raises(UnsupportedLinkType, match=r"105 \(IEEE802_11\)") as caught:
        list(decode_capture(b"".join(blocks)))
    assert caught.value.offset == len(b"".join(blocks[:3]))  # the first packet skipped
    # the same without any packet: nothing in the file can be decoded
    with pytest.raises(UnsupportedLinkType, match=r"105 \(IEEE802_11\)"):
        list(decode_capture(b"".join(blocks[:3])))
    with CaptureReader(b"".join(blocks), skip_unsupported_link_types=True) as reader:
        assert reader.link_type_error() is None  # no interface is known before reading
        assert list(reader) == []
        assert isinstance(reader.link_type_error(), UnsupportedLinkType)
    assert [u.packets for u in reader.unsupported.values()] == [3, 3]


@pytest.mark.parametrize(
    "capture",
    [
        pcap([Frame(0, WIFI)], link_type=IEEE802_11),
        shb("<") + idb(IEEE802_11, "<") + epb(Frame(0, WIFI), "<"),
    ],
    ids=["pcap", "pcapng"],
)
@pytest.mark.parametrize("options", [(), ("--json",)], ids=["text", "json"])
def test_the_cli_refuses_a_capture_without_a_decodable_interface(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], capture: bytes, options: tuple[str, ...]
) -> None:
    code, out, err = run(tmp_path, capsys, capture, *options)
    assert code == EXIT_USAGE and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "unsupported link type 105 (IEEE802_11)" in err and "Traceback" not in err


def test_skipping_can_be_turned_off() -> None:
    capture, wifi_frames, _ = mixed()
    records = decode_capture(capture, skip_unsupported_link_types=False)
    with pytest.raises(UnsupportedLinkType) as caught:
        list(records)
    assert caught.value.link_type == IEEE802_11
    assert caught.value.offset is not None and caught.value.offset > 0
    assert wifi_frames[0] == 2  # the first 802.11 packet is the capture's second frame


def test_a_pcap_on_ethernet_is_unchanged() -> None:
    frames = [Frame(f.time_ns, ethernet(f.data, IPV4)) for f in echo_and_store().frames]
    found = list(decode_capture(pcap(frames, link_type=ETHERNET)))
    assert messages(found) == EXPECTED_MESSAGES and problems(found) == []
