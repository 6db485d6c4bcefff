"""The quirk catalogue: real peers' deviations the encoders can reproduce on purpose, as data.

Each :class:`Quirk` is something a named implementation really puts on the wire (odd fragments,
Priority in a C-ECHO-RQ, a command set without an element DCMTK needs ...). The encoders apply
them when asked (``encode_command_set(..., quirks=...)``, ``encode_pdata(..., quirks=...)``), so
a test can show how a peer under test reacts to the traffic of another peer it will meet, and so
our own decoder can be checked against traffic it will meet. All are off by default.

:data:`CATALOGUE` is the one table: what each quirk does on the wire, who does it (with the
public issue, public source file or test of this repository that shows it), how receivers are
known to react, which layer applies it, the keyword argument that already expresses it (if any),
and the :class:`DiagnosticCode` our decoder reports when it meets it (``None`` for the conformant
ones it accepts silently).
``docs/quirks.md`` shows this table and a test keeps the two equal.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType

from dimse_codec.errors import InvalidParameter, InvalidParameterType
from dimse_codec.policy import DiagnosticCode, Policy

__all__ = [
    "CATALOGUE",
    "Quirk",
    "QuirkLayer",
    "QuirkSpec",
    "Reference",
    "select_quirks",
]


class Quirk(str, enum.Enum):
    """A deviation of a real peer that the encoders can reproduce; see :data:`CATALOGUE`."""

    ODD_FRAGMENTS = "ODD_FRAGMENTS"
    SEVERAL_PDVS_PER_PDU = "SEVERAL_PDVS_PER_PDU"
    COMMAND_WITH_DATA = "COMMAND_WITH_DATA"
    PRIORITY_WHERE_NOT_ALLOWED = "PRIORITY_WHERE_NOT_ALLOWED"
    MISSING_PRIORITY = "MISSING_PRIORITY"
    MISSING_ELEMENTS = "MISSING_ELEMENTS"
    PADDED_AE_TITLES = "PADDED_AE_TITLES"
    EXPLICIT_VR_COMMAND_SET = "EXPLICIT_VR_COMMAND_SET"
    OFF_BY_6_MAX_PDU = "OFF_BY_6_MAX_PDU"
    MAX_PDU_MINUS_12 = "MAX_PDU_MINUS_12"
    NO_EMPTY_LAST_PDV = "NO_EMPTY_LAST_PDV"
    NONZERO_RESERVED = "NONZERO_RESERVED"


class QuirkLayer(str, enum.Enum):
    """Which encoder applies a quirk; the value names the package that holds it."""

    COMMAND_SET = "dimse"
    """``encode_command_set`` / ``encode_message``: the command set's elements."""
    PDATA = "pdata"
    """``fragment_message`` / ``encode_pdata``: fragments, PDVs and P-DATA-TF headers."""


@dataclass(frozen=True, slots=True)
class Reference:
    """Who does (or how who reacts to) a quirk, and where that is shown.

    ``where`` names public evidence: an issue or pull request (``owner/repo#N``), a file of a
    public repository, or a test of this repository that shows the behaviour.
    """

    who: str
    where: str

    def __str__(self) -> str:
        return f"{self.who} ({self.where})"


@dataclass(frozen=True, slots=True)
class QuirkSpec:
    """One row of the catalogue.

    ``wire`` says what the quirk puts on the wire; ``peers`` who sends it; ``reactions`` how
    receivers are known to take it; ``layer`` which encoder applies it; ``option`` the keyword
    argument of that encoder which already expresses it (naming the quirk then sets it);
    ``diagnostic`` what our decoder reports when it meets it (``None``: accepted silently,
    because PS3.7/PS3.8 allow it); ``conformant`` whether the standard allows it at all.
    """

    quirk: Quirk
    wire: str
    peers: tuple[Reference, ...]
    reactions: tuple[Reference, ...]
    layer: QuirkLayer
    diagnostic: DiagnosticCode | None
    conformant: bool
    option: str | None = None

    def raises(self, policy: Policy) -> bool:
        """Whether our decoder, under ``policy``, raises on this quirk instead of reporting it."""
        return self.diagnostic is not None and policy.raises(self.diagnostic)


_PYNETDICOM_ENCODE = "pydicom/pynetdicom pynetdicom/dimse_messages.py, DIMSEMessage.encode_msg"
_DCMTK_SEND = "DCMTK/dcmtk dcmnet/libsrc/dimse.cc, sendDcmDataset"

_ROWS = (
    QuirkSpec(
        Quirk.ODD_FRAGMENTS,
        "cuts the command set and data set into fragments of odd length: the largest odd size "
        "that fits the peer's maximum (PS3.8 E.1 wants even fragments)",
        (
            Reference(
                "pynetdicom 3.0 at an odd maximum PDU length (max - 6, not rounded)",
                _PYNETDICOM_ENCODE + "; tests/test_quirks.py",
            ),
            Reference("fo-dicom 2.0 with odd-length Pixel Data", "fo-dicom/fo-dicom#284"),
        ),
        (Reference("DCMTK aborts: Odd Fragment Length", "fo-dicom/fo-dicom#284"),),
        QuirkLayer.PDATA,
        DiagnosticCode.ODD_FRAGMENT,
        False,
    ),
    QuirkSpec(
        Quirk.SEVERAL_PDVS_PER_PDU,
        "packs several PDVs of the message into each P-DATA-TF (two unless pdvs_per_pdu says "
        "more); fragments shrink so each PDU still fits",
        (
            Reference("fo-dicom", "fo-dicom/fo-dicom#502"),
            Reference("Harmony worklist server", "Enet4/dicom-rs#528"),
        ),
        (
            Reference(
                "some SCPs reject it, hence fo-dicom's MaxPDVsPerPDU", "fo-dicom/fo-dicom#502"
            ),
            Reference("dicom-rs findscu assumed 1-2 PDVs per PDU", "Enet4/dicom-rs#528"),
        ),
        QuirkLayer.PDATA,
        None,
        True,
        "pdvs_per_pdu",
    ),
    QuirkSpec(
        Quirk.COMMAND_WITH_DATA,
        "starts the data set in the P-DATA-TF that carries the last command fragment",
        (Reference("fo-dicom up to 5.2", "fo-dicom/fo-dicom#1960"),),
        (
            Reference("MicroDicom's SCP closes the connection", "fo-dicom/fo-dicom#1960"),
            Reference("DVTk warns", "fo-dicom/fo-dicom#143"),
        ),
        QuirkLayer.PDATA,
        None,
        True,
        "command_with_data",
    ),
    QuirkSpec(
        Quirk.PRIORITY_WHERE_NOT_ALLOWED,
        "adds Priority (0000,0700) = MEDIUM to every request whose type has no Priority: "
        "C-ECHO-RQ, C-CANCEL-RQ and the N-* requests",
        (Reference("fo-dicom 2.0 betas", "fo-dicom/fo-dicom#141"),),
        (Reference("DCMTK-based PACS reject the request", "fo-dicom/fo-dicom#141"),),
        QuirkLayer.COMMAND_SET,
        DiagnosticCode.ELEMENT_NOT_ALLOWED,
        False,
    ),
    QuirkSpec(
        Quirk.MISSING_PRIORITY,
        "leaves Priority (0000,0700) out of C-STORE, C-FIND, C-GET and C-MOVE requests",
        (Reference("dcmjs-dimse", "PantelisGeorgiadis/dcmjs-dimse#9"),),
        (
            Reference(
                "DCMTK: Command Parse Failed: (0000,0700)", "PantelisGeorgiadis/dcmjs-dimse#9"
            ),
        ),
        QuirkLayer.COMMAND_SET,
        DiagnosticCode.MISSING_MANDATORY,
        False,
    ),
    QuirkSpec(
        Quirk.MISSING_ELEMENTS,
        "leaves the named elements out of the command set (the group length counts what is "
        "left); a protocol element gives GROUP_LENGTH_MISSING, MISSING_COMMAND_FIELD or "
        "MISSING_DATA_SET_TYPE instead",
        (
            Reference(
                "go-netdicom: C-ECHO-RQ without AffectedSOPClassUID", "grailbio/go-netdicom#11"
            ),
            Reference(
                "Mirth: C-ECHO-RSP and C-STORE-RSP without the Affected SOP UIDs",
                "nextgenhealthcare/connect#4049",
            ),
        ),
        (
            Reference(
                "Orthanc (DCMTK): Command Parse Failed: (0000,0002)", "grailbio/go-netdicom#11"
            ),
            Reference("pynetdicom", "nextgenhealthcare/connect#4049"),
        ),
        QuirkLayer.COMMAND_SET,
        DiagnosticCode.MISSING_MANDATORY,
        False,
        "omit",
    ),
    QuirkSpec(
        Quirk.PADDED_AE_TITLES,
        "pads MoveDestination and MoveOriginatorApplicationEntityTitle with spaces to 16 bytes",
        (Reference("pynetdicom before PR #404", "pydicom/pynetdicom#403"),),
        (Reference("Siemens rejects a padded Move Destination", "pydicom/pynetdicom#403"),),
        QuirkLayer.COMMAND_SET,
        None,
        True,
    ),
    QuirkSpec(
        Quirk.EXPLICIT_VR_COMMAND_SET,
        "writes the command set in Explicit VR Little Endian (PS3.7 6.3.1 requires Implicit VR)",
        (),
        (
            Reference(
                "pynetdicom 3.0 decodes it: pydicom's read_dataset, asked for Implicit VR, reads "
                "Explicit VR with only a UserWarning",
                "pydicom/pydicom tests/test_filereader.py, test_implicit_vr_expected_explicit_used",
            ),
        ),
        QuirkLayer.COMMAND_SET,
        DiagnosticCode.EXPLICIT_VR_COMMAND,
        False,
    ),
    QuirkSpec(
        Quirk.OFF_BY_6_MAX_PDU,
        "counts the peer's maximum as the fragment size instead of the PDU length: full "
        "P-DATA-TFs are 6 bytes over it, PDU-length max + 6 at an even max (no effect when the "
        "peer sets no limit)",
        (
            Reference(
                "dicom-rs max-PDU mix-ups (PDU length versus PDU size)", "Enet4/dicom-rs#712, #771"
            ),
        ),
        (
            Reference("dicom-rs strict reader: Incoming pdu was too large", "Enet4/dicom-rs#712"),
            Reference(
                "DCMTK: DUL Illegal PDU Length (ILLEGALPDULENGTH)",
                "DCMTK/dcmtk dcmnet/libsrc/dulfsm.cc, readPDUHead",
            ),
        ),
        QuirkLayer.PDATA,
        DiagnosticCode.PDU_OVER_MAXIMUM,
        False,
    ),
    QuirkSpec(
        Quirk.MAX_PDU_MINUS_12,
        "conservative fragments of max - 12 bytes (6 fewer than fit), so full P-DATA-TFs stay "
        "6 bytes under the limit, PDU-length max - 6 at an even max; harmless",
        (
            Reference("DCMTK", _DCMTK_SEND + "; tests/test_peers_dcmtk.py"),
            Reference("scapy DICOMSocket", "secdev/scapy scapy/contrib/dicom.py, c_store"),
        ),
        (),
        QuirkLayer.PDATA,
        None,
        True,
    ),
    QuirkSpec(
        Quirk.NO_EMPTY_LAST_PDV,
        "sends no PDV at all for an empty data set, although CommandDataSetType announced one",
        (
            Reference(
                "pynetdicom 3.0 (an empty BytesIO data set, as every decoded primitive carries)",
                _PYNETDICOM_ENCODE + "; tests/test_interop_pynetdicom.py",
            ),
        ),
        (
            Reference(
                "a receiver waits for the data set CommandDataSetType announced: the association hangs",
                "PS3.7 E.1; tests/test_quirks.py",
            ),
        ),
        QuirkLayer.PDATA,
        DiagnosticCode.MESSAGE_INCOMPLETE,
        False,
    ),
    QuirkSpec(
        Quirk.NONZERO_RESERVED,
        "sets the reserved byte of every P-DATA-TF header to FFH (PS3.8 says to send 00H and "
        "not to test it)",
        (
            Reference(
                "fo-dicom, in a C-STORE-RSP header Wireshark misread (the byte is not identified)",
                "fo-dicom/fo-dicom#690",
            ),
        ),
        (Reference("Wireshark shows PDU Type: Unknown", "fo-dicom/fo-dicom#690"),),
        QuirkLayer.PDATA,
        DiagnosticCode.RESERVED_NONZERO,
        False,
    ),
)

CATALOGUE: MappingProxyType[Quirk, QuirkSpec] = MappingProxyType({row.quirk: row for row in _ROWS})
"""Every quirk's row, in the order of :class:`Quirk`."""

if list(CATALOGUE) != list(Quirk):
    raise TypeError("every Quirk needs exactly one catalogue row, in declaration order")


def select_quirks(
    quirks: Iterable[Quirk], layers: frozenset[QuirkLayer], where: str
) -> frozenset[Quirk]:
    """Check a ``quirks`` argument and return it as a frozenset.

    Raises :class:`~dimse_codec.errors.InvalidParameterType` for anything but :class:`Quirk`
    members, and :class:`~dimse_codec.errors.InvalidParameter` for a quirk that ``where`` (the
    function's name) cannot apply because another layer applies it: a quirk is never silently
    dropped.
    """
    if isinstance(quirks, (str, bytes)):
        raise InvalidParameterType(
            f"{where}: quirks must be a collection of Quirk, not {type(quirks).__name__}",
            path="quirks",
        )
    try:
        chosen = frozenset(quirks)
    except TypeError as exc:
        raise InvalidParameterType(
            f"{where}: quirks must be a collection of Quirk, not {type(quirks).__name__}",
            path="quirks",
        ) from exc
    for quirk in chosen:
        if not isinstance(quirk, Quirk):
            raise InvalidParameterType(f"{where}: {quirk!r} is not a Quirk", path="quirks")
        layer = CATALOGUE[quirk].layer
        if layer not in layers:
            raise InvalidParameter(
                f"{where} cannot apply {quirk.value}: the {layer.value} layer does "
                f"(pass it to encode_pdata with a primitive, or to the {layer.value} encoder)",
                path="quirks",
            )
    return chosen
