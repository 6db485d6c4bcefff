"""Write docs/examples/storage-commitment.pcap, a small deterministic DICOM capture.

Run ``python docs/examples/make_capture.py [OUT]`` (default: next to this file). The DICOM bytes
come from dimse-codec's association builders, :func:`~dimse_codec.pdata.encode_pdata` and
:func:`~dimse_codec.dimse.responses.build_response`; the TCP/IP framing and the pcap file are
written here with plain ``struct`` so the capture depends on nothing else. The conversation: TCP
handshake, A-ASSOCIATE-RQ (with a user name and passcode) and -AC, C-ECHO, a Storage Commitment
N-ACTION-RQ/RSP, the N-EVENT-REPORT-RQ/RSP the acceptor sends back, A-RELEASE, TCP close.
"""

from __future__ import annotations

import ipaddress
import struct
import sys
from pathlib import Path

from pydicom.dataset import Dataset

from dimse_codec import C_ECHO, N_ACTION, N_EVENT_REPORT, DIMSEPrimitive
from dimse_codec.association import Accepted, build_request, respond
from dimse_codec.dataset import EXPLICIT_VR_LITTLE_ENDIAN, encode_dataset
from dimse_codec.dimse.responses import build_response
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import AReleaseRP, AReleaseRQ, UserIdentityRQSubItem, encode_pdu

VERIFICATION = "1.2.840.10008.1.1"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
TRANSACTION = "1.2.826.0.1.3680043.10.1234.1"
INSTANCES = ("1.2.826.0.1.3680043.10.1234.2.1", "1.2.826.0.1.3680043.10.1234.2.2")
MODALITY, ARCHIVE = ("192.168.10.21", 51515), ("192.168.10.5", 11112)
START_NS = 1_717_236_000_000_000_000  # 2024-06-01 10:00:00 UTC
PSH_ACK, SYN, ACK, FIN_ACK = 0x18, 0x02, 0x10, 0x11
MAX_PDU = 16384


class Capture:
    """One TCP connection written frame by frame as raw-IPv4 pcap records (nanosecond times)."""

    def __init__(self) -> None:
        self.records: list[bytes] = []
        self.seq = {True: 1_000_000, False: 2_000_000}  # keyed by "sent by the modality"
        self.time_ns = START_NS

    def frame(
        self, from_modality: bool, flags: int, payload: bytes = b"", after_us: int = 200
    ) -> None:
        """Append one TCP segment, ``after_us`` microseconds after the previous frame."""
        src, dst = (MODALITY, ARCHIVE) if from_modality else (ARCHIVE, MODALITY)
        ack = self.seq[not from_modality] if flags != SYN else 0
        tcp = struct.pack(
            ">HHIIHHHH", src[1], dst[1], self.seq[from_modality], ack, (5 << 12) | flags,
            65535, 0, 0,
        )  # fmt: skip
        ip = struct.pack(
            ">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), (len(self.records) + 1) & 0xFFFF, 0x4000,
            64, 6, 0,
            ipaddress.IPv4Address(src[0]).packed, ipaddress.IPv4Address(dst[0]).packed,
        )  # fmt: skip
        self.time_ns += after_us * 1000
        seconds, nanoseconds = divmod(self.time_ns, 1_000_000_000)
        packet = ip + tcp + payload
        self.records.append(struct.pack("<IIII", seconds, nanoseconds, len(packet), len(packet)))
        self.records.append(packet)
        step = len(payload) + (1 if flags & 0x03 else 0)  # SYN and FIN count one
        self.seq[from_modality] = (self.seq[from_modality] + step) & 0xFFFFFFFF

    def send(self, from_modality: bool, data: bytes, after_us: int = 200) -> None:
        """Send bytes in segments of at most 1460 bytes (the first after ``after_us``)."""
        for start in range(0, len(data), 1460):
            self.frame(from_modality, PSH_ACK, data[start : start + 1460], after_us)
            after_us = 20

    def pcap(self) -> bytes:
        """The whole file: nanosecond pcap header, link type 101 (raw IP), then the records."""
        header = struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 101)
        return header + b"".join(self.records)


def pdata(message: DIMSEPrimitive, context_id: int) -> bytes:
    """A message as the P-DATA-TF PDUs that carry it."""
    return bytes(encode_pdata(message, context_id, max_pdu_length=MAX_PDU))


def commitment_request() -> bytes:
    """The N-ACTION data set: the transaction and the two CT images to commit."""
    ds = Dataset()
    ds.TransactionUID = TRANSACTION
    ds.ReferencedSOPSequence = []
    for uid in INSTANCES:
        item = Dataset()
        item.ReferencedSOPClassUID = CT_IMAGE
        item.ReferencedSOPInstanceUID = uid
        ds.ReferencedSOPSequence.append(item)
    return encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN)


def commitment_result() -> bytes:
    """The N-EVENT-REPORT data set: the same transaction, both instances committed."""
    ds = Dataset()
    ds.TransactionUID = TRANSACTION
    ds.RetrieveAETitle = "ARCHIVE"
    ds.ReferencedSOPSequence = []
    for uid in INSTANCES:
        item = Dataset()
        item.ReferencedSOPClassUID = CT_IMAGE
        item.ReferencedSOPInstanceUID = uid
        ds.ReferencedSOPSequence.append(item)
    return encode_dataset(ds, EXPLICIT_VR_LITTLE_ENDIAN)


def build() -> bytes:
    """The capture's bytes (the same on every run)."""
    identity = UserIdentityRQSubItem(2, b"modality", b"not-a-real-password")
    rq = build_request(
        "CT_MODALITY",
        "ARCHIVE",
        [(VERIFICATION, [IMPLICIT]), (STORAGE_COMMITMENT, [EXPLICIT, IMPLICIT])],
        max_pdu_length=MAX_PDU,
        user_identity=identity,
        implementation_class_uid="1.2.826.0.1.3680043.10.1234",
        implementation_version_name="MODALITY_1_0",
    )
    answer = respond(
        rq,
        {VERIFICATION: [IMPLICIT], STORAGE_COMMITMENT: [EXPLICIT]},
        max_pdu_length=MAX_PDU,
        implementation_class_uid="1.2.826.0.1.3680043.10.5678",
        implementation_version_name="ARCHIVE_2_3",
    )
    assert isinstance(answer, Accepted)
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
    action = N_ACTION(
        MessageID=2,
        RequestedSOPClassUID=STORAGE_COMMITMENT,
        RequestedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
        ActionTypeID=1,
        ActionInformation=commitment_request(),
    )
    report = N_EVENT_REPORT(
        MessageID=1,
        AffectedSOPClassUID=STORAGE_COMMITMENT,
        AffectedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
        EventTypeID=1,
        EventInformation=commitment_result(),
    )
    capture = Capture()
    capture.frame(True, SYN)
    capture.frame(False, SYN | ACK, after_us=150)
    capture.frame(True, ACK, after_us=50)
    capture.send(True, encode_pdu(rq))
    capture.send(False, encode_pdu(answer.pdu), after_us=900)
    capture.send(True, pdata(echo, 1), after_us=300)
    capture.send(False, pdata(build_response(echo, 0x0000), 1), after_us=1_200)
    capture.send(True, pdata(action, 3), after_us=400)
    capture.send(False, pdata(build_response(action, 0x0000), 3), after_us=14_000)
    capture.send(False, pdata(report, 3), after_us=850_000)  # the archive reports back
    capture.send(True, pdata(build_response(report, 0x0000), 3), after_us=2_500)
    capture.send(True, encode_pdu(AReleaseRQ()), after_us=5_000)
    capture.send(False, encode_pdu(AReleaseRP()), after_us=600)
    capture.frame(True, FIN_ACK, after_us=300)
    capture.frame(False, FIN_ACK, after_us=150)
    capture.frame(True, ACK, after_us=50)
    return capture.pcap()


def main(argv: list[str]) -> int:
    """Write the capture to ``argv[1]`` or next to this script; print where."""
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("storage-commitment.pcap")
    out.write_bytes(build())
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
