"""Write the example command sets of docs/examples, deterministically, with dimse-codec's encoder.

Run ``python docs/examples/make_examples.py [OUTDIR]`` (default: this file's directory). Valid
messages come from :func:`dimse_codec.encode_message`; the malformed and the Explicit VR ones
are assembled element by element here, from tags and values, because the encoder refuses to
produce them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from dimse_codec import C_ECHO, C_FIND, N_ACTION, N_EVENT_REPORT, encode_message
from dimse_codec.dimse.command_set import EXPLICIT_SHORT_HEADER, build_element
from dimse_codec.dimse.values import encode_ui, encode_ul, encode_us
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import (
    AAssociateRQ,
    ApplicationContextItem,
    AReleaseRQ,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    MaximumLengthSubItem,
    PresentationContextRQItem,
    UserInformationItem,
    encode_pdu,
)

VERIFICATION = "1.2.840.10008.1.1"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PATIENT_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.1.2"

# A tiny Implicit VR data set, (0008,1195) TransactionUID: only its presence matters here
# (it makes CommandDataSetType say "data set follows"); the data set itself is not written.
TRANSACTION = build_element(0x00081195, encode_ui("1.2.826.0.1.3680043.2.1143.1"))


def c_echo_rq() -> bytes:
    """A plain Verification request: the smallest useful command set."""
    return encode_message(C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)).command_set


def n_action_rq() -> bytes:
    """A Storage Commitment request (N-ACTION, action type 1) announcing its data set."""
    primitive = N_ACTION(
        MessageID=7,
        RequestedSOPClassUID=STORAGE_COMMITMENT,
        RequestedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
        ActionTypeID=1,
        ActionInformation=TRANSACTION,
    )
    return encode_message(primitive, is_request=True).command_set


def c_find_rsp_pending() -> bytes:
    """A pending C-FIND response (Status FF00H) that is followed by a matching identifier."""
    primitive = C_FIND(
        MessageIDBeingRespondedTo=3,
        AffectedSOPClassUID=STUDY_ROOT_FIND,
        Status=0xFF00,
        Identifier=TRANSACTION,
    )
    return encode_message(primitive, is_request=False).command_set


def n_event_report_rq() -> bytes:
    """A Storage Commitment result event (event type 1) sent by the SCP as a request."""
    primitive = N_EVENT_REPORT(
        MessageID=11,
        AffectedSOPClassUID=STORAGE_COMMITMENT,
        AffectedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
        EventTypeID=1,
        EventInformation=TRANSACTION,
    )
    return encode_message(primitive, is_request=True).command_set


def c_move_rsp_dup() -> bytes:
    """A pending C-MOVE response with a wrong CommandGroupLength and two values per counter.

    Modelled on the kind of message pynetdicom's ``c_move_rsp_cmd_with_dup`` vector describes;
    the bytes are built here from tags and values.
    """
    body = b"".join(
        build_element(tag, value)
        for tag, value in (
            (0x00000002, encode_ui(PATIENT_ROOT_MOVE)),  # AffectedSOPClassUID
            (0x00000100, encode_us(0x8021)),  # CommandField: C-MOVE-RSP
            (0x00000120, encode_us(5)),  # MessageIDBeingRespondedTo
            (0x00000800, encode_us(0x0101)),  # CommandDataSetType: no data set
            (0x00000900, encode_us(0xFF00)),  # Status: Pending
            (0x00001020, encode_us(3) + encode_us(0)),  # Remaining, VM 2
            (0x00001021, encode_us(1) + encode_us(0)),  # Completed, VM 2
            (0x00001022, encode_us(2) + encode_us(0)),  # Failed, VM 2
            (0x00001023, encode_us(4) + encode_us(0)),  # Warning, VM 2
        )
    )
    wrong_length = len(body) + 10
    return build_element(0x00000000, encode_ul(wrong_length)) + body


def _explicit(tag: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR Little Endian element with a 16-bit length (every VR used here)."""
    header = EXPLICIT_SHORT_HEADER.build(
        {"group": tag >> 16, "element": tag & 0xFFFF, "vr": vr, "length": len(value)}
    )
    return bytes(header) + value


def explicit_vr_c_echo_rq() -> bytes:
    """The C-ECHO-RQ of :func:`c_echo_rq`, wrongly written in Explicit VR Little Endian."""
    body = b"".join(
        (
            _explicit(0x00000002, b"UI", encode_ui(VERIFICATION)),
            _explicit(0x00000100, b"US", encode_us(0x0030)),
            _explicit(0x00000110, b"US", encode_us(1)),
            _explicit(0x00000800, b"US", encode_us(0x0101)),
        )
    )
    return _explicit(0x00000000, b"UL", encode_ul(len(body))) + body


def storage_commitment_stream() -> bytes:
    """What a Storage Commitment SCU sends on one association, as PDUs on the wire.

    A-ASSOCIATE-RQ proposing the Storage Commitment Push Model in two transfer syntaxes, the
    N-ACTION-RQ above with its Action Information data set cut into PDVs for a peer whose
    maximum length is 64 (so the command takes two PDUs), then A-RELEASE-RQ.
    """
    associate = AAssociateRQ(
        called_ae_title="ARCHIVE",
        calling_ae_title="MODALITY",
        variable_items=(
            ApplicationContextItem(),
            PresentationContextRQItem.build(
                1, STORAGE_COMMITMENT, ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
            ),
            UserInformationItem(
                (
                    MaximumLengthSubItem(16384),
                    ImplementationClassUIDSubItem("2.25.305828488182463296779236426441575227733"),
                    ImplementationVersionNameSubItem("EXAMPLE_1"),
                )
            ),
        ),
    )
    action = N_ACTION(
        MessageID=7,
        RequestedSOPClassUID=STORAGE_COMMITMENT,
        RequestedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
        ActionTypeID=1,
        ActionInformation=TRANSACTION,
    )
    p_data = bytes(encode_pdata(action, 1, max_pdu_length=64, is_request=True))
    return encode_pdu(associate) + p_data + encode_pdu(AReleaseRQ())


def hex_text(data: bytes, per_line: int = 16) -> str:
    """Format bytes as lines of space-separated hex pairs, the way packet dumps show them."""
    lines = [
        " ".join(f"{byte:02x}" for byte in data[start : start + per_line])
        for start in range(0, len(data), per_line)
    ]
    return "\n".join(lines) + "\n"


EXAMPLES: dict[str, bytes | str] = {
    "c-echo-rq.bin": c_echo_rq(),
    "n-action-rq.hex": hex_text(n_action_rq()),
    "c-find-rsp-pending.bin": c_find_rsp_pending(),
    "n-event-report-rq.bin": n_event_report_rq(),
    "c-move-rsp-dup.bin": c_move_rsp_dup(),
    "explicit-vr-c-echo-rq.bin": explicit_vr_c_echo_rq(),
    "storage-commitment-association.pdus": storage_commitment_stream(),
}
"""File name -> content (bytes for binary files, text for hex files)."""


def write(outdir: Path) -> list[Path]:
    """Write every example into ``outdir``; return the paths written."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in EXAMPLES.items():
        path = outdir / name
        if isinstance(content, str):
            path.write_bytes(content.encode("ascii"))
        else:
            path.write_bytes(content)
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for written_path in write(target):
        print(written_path)
