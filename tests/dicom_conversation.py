"""Synthetic DICOM conversations as captures: real codec bytes in hand-built TCP segments."""

from __future__ import annotations

from dataclasses import dataclass, field

from capture_builder import ACK, FIN, PSH, SYN, Frame, ipv4, pcap, tcp

from dimse_codec import C_ECHO, C_STORE, DIMSEPrimitive
from dimse_codec.association import build_request, respond
from dimse_codec.dimse.responses import build_response
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import AReleaseRP, AReleaseRQ, encode_pdu

VERIFICATION = "1.2.840.10008.1.1"
CT = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT = "1.2.840.10008.1.2"
EXPLICIT = "1.2.840.10008.1.2.1"
CLIENT, SERVER = ("10.0.0.1", 40000), ("10.0.0.2", 11112)


@dataclass
class Conversation:
    """A TCP connection built frame by frame; each send is cut into ``segment``-byte pieces."""

    segment: int = 1400
    frames: list[Frame] = field(default_factory=list)
    seq: dict[bool, int] = field(default_factory=lambda: {True: 1000, False: 5000})
    time_ns: int = 1_700_000_000_000_000_000
    client: tuple[str, int] = CLIENT
    server: tuple[str, int] = SERVER

    def _frame(self, from_client: bool, flags: int, payload: bytes = b"") -> None:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        segment = tcp(
            src[1], dst[1], self.seq[from_client], self.seq[not from_client], flags, payload
        )
        self.time_ns += 1_000_000
        self.frames.append(Frame(self.time_ns, ipv4(src[0], dst[0], segment)))
        step = len(payload) + (flags & (SYN | FIN) != 0)
        self.seq[from_client] = (self.seq[from_client] + step) & 0xFFFFFFFF

    def handshake(self) -> Conversation:
        self.seq[True] -= 1
        self._frame(True, SYN)
        self.seq[False] -= 1
        self._frame(False, SYN | ACK)
        self._frame(True, ACK)
        return self

    def send(self, from_client: bool, data: bytes) -> Conversation:
        for start in range(0, len(data), self.segment):
            self._frame(from_client, PSH | ACK, data[start : start + self.segment])
        return self

    def close(self) -> Conversation:
        self._frame(True, FIN | ACK)
        self._frame(False, FIN | ACK)
        self._frame(True, ACK)
        return self

    def capture(self) -> bytes:
        return pcap(self.frames, link_type=101, nanoseconds=True)


def message(p: DIMSEPrimitive, context_id: int, max_pdu: int = 16382) -> bytes:
    return bytes(encode_pdata(p, context_id, max_pdu_length=max_pdu))


def echo_and_store(
    segment: int = 1400, dataset: bytes = b"\x08\x00\x16\x00UI\x06\x001.2.3\x00"
) -> Conversation:
    """Associate, C-ECHO, C-STORE (Explicit VR LE), release: the everyday conversation."""
    rq = build_request(
        "STORESCU", "ARCHIVE", [(VERIFICATION, [IMPLICIT]), (CT, [EXPLICIT, IMPLICIT])]
    )
    accepted = respond(rq, {VERIFICATION: [IMPLICIT], CT: [EXPLICIT]})
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)
    store = C_STORE(
        MessageID=2,
        AffectedSOPClassUID=CT,
        AffectedSOPInstanceUID="1.2.3",
        Priority=0,
        DataSet=dataset,
    )
    conversation = Conversation(segment=segment).handshake()
    conversation.send(True, encode_pdu(rq)).send(False, encode_pdu(accepted.pdu))
    conversation.send(True, message(echo, 1))
    conversation.send(False, message(build_response(echo, 0x0000), 1))
    conversation.send(True, message(store, 3, max_pdu=64))
    conversation.send(False, message(build_response(store, 0xB000), 3))
    conversation.send(True, encode_pdu(AReleaseRQ())).send(False, encode_pdu(AReleaseRP()))
    return conversation.close()


def lossy_store() -> bytes:
    """echo_and_store with a 400-byte data set, one segment in the middle of it lost."""
    dataset = b"\x10\x00\x10\x00PN\x90\x01" + b"A" * 400
    conversation = echo_and_store(segment=40, dataset=dataset)
    store_frames = [
        i
        for i, frame in enumerate(conversation.frames)
        if frame.data[12:16] == bytes([10, 0, 0, 1]) and len(frame.data) > 40
    ]
    victim = store_frames[len(store_frames) * 3 // 4]
    frames = conversation.frames[:victim] + conversation.frames[victim + 1 :]
    return pcap(frames, link_type=101, nanoseconds=True)
