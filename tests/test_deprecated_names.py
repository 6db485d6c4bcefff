"""Names that moved or were renamed still resolve for a release, with a warning naming the new
one (CHANGELOG.md lists them); the new names carry no warning."""

from __future__ import annotations

import warnings

import pytest

import dimse_codec.capture
import dimse_codec.capture.dicom
from dimse_codec import pcap
from dimse_codec._deprecation import deprecated_aliases

# the old capture face: every packet and TCP name it had, now in dimse_codec.pcap
OLD_CAPTURE_FACE = {
    "Record": pcap.PacketRecord,
    "Event": pcap.TcpEvent,
    "CaptureReader": pcap.CaptureReader,
    "TcpReassembler": pcap.TcpReassembler,
    "read_packets": pcap.read_packets,
    "Endpoint": pcap.Endpoint,
    "GapReason": pcap.GapReason,
    "CaptureError": pcap.CaptureError,
}


@pytest.mark.parametrize("name", sorted(OLD_CAPTURE_FACE))
def test_the_old_capture_face_warns_and_resolves(name: str) -> None:
    with pytest.warns(
        DeprecationWarning, match=rf"dimse_codec\.capture\.{name} .*dimse_codec\.pcap"
    ):
        value = getattr(dimse_codec.capture, name)
    assert value is OLD_CAPTURE_FACE[name]


def test_every_packet_name_that_moved_to_pcap_is_still_reachable_from_capture() -> None:
    moved = dimse_codec.capture._MOVED  # type: ignore[attr-defined]
    assert set(moved) <= set(pcap.__all__)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for name in moved:
            assert getattr(dimse_codec.capture, name) is getattr(pcap, name)
    for name in set(pcap.__all__) - set(moved):  # added to pcap since: never a capture name
        assert not hasattr(dimse_codec.capture, name), name


def test_the_capture_record_union_kept_its_old_name() -> None:
    with pytest.warns(DeprecationWarning, match="CaptureRecord"):
        old = dimse_codec.capture.dicom.Record  # type: ignore[attr-defined]
    assert old == dimse_codec.capture.CaptureRecord


def test_new_names_do_not_warn_and_unknown_names_fail() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert dimse_codec.capture.decode_capture is dimse_codec.capture.dicom.decode_capture
        assert dimse_codec.capture.CaptureRecord is dimse_codec.capture.dicom.CaptureRecord
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        dimse_codec.capture.Nothing  # type: ignore[attr-defined]  # noqa: B018


def test_deprecated_aliases_warns_at_the_caller() -> None:
    lookup = deprecated_aliases("some.module", {"Old": ("New", 42)})
    with pytest.warns(DeprecationWarning, match=r"^some\.module\.Old is deprecated; use New$"):
        assert lookup("Old") == 42
    with pytest.raises(AttributeError):
        lookup("New")
