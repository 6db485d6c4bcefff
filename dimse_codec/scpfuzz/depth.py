"""Stored data sets that reach deep into an SCP's data set parser and its index.

The archive instances of :mod:`dimse_codec.scpfuzz.archive` carry what a query matches; these
carry what a parser has to walk (PS3.5 6.2, 7.5): an element of every value representation with
one, several or no values, sequences nested three deep of defined and undefined length with empty
items and an empty sequence, private elements under their creator, a Specific Character Set
(single-byte, ISO 2022 with code extensions, UTF-8, GB18030) with names in it, a digital
signatures sequence, and an SR's completion flag description (what dcmqrscp's index describes).

Each deep instance is the only one of its study (``filler`` number ``n`` gives the study UID
``<archive root>.90.<n>``), under patient ``QR-9nnn``: storing more new studies than a
quota-limited SCP keeps makes it delete its oldest (dcmqrscp's per-AE study limit), so
:func:`~dimse_codec.scpfuzz.archive.matches` counts archive records an SCP may no longer hold
(it predicts at most, never at least). Sans-I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from dimse_codec.scpfuzz.archive import UID_ROOT, Instance

__all__ = [
    "BASIC_TEXT_SR",
    "CHARACTER_SETS",
    "FILLERS",
    "SECONDARY_CAPTURE",
    "Depth",
    "deep_instance",
    "filler_study_uid",
]

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"

FILLERS = 64
"""How many filler studies there are (numbers 1 to 64): far more than a 9-study quota keeps."""

CHARACTER_SETS: tuple[tuple[str | tuple[str, ...], str], ...] = (
    ("ISO_IR 100", "MÜLLER^HANS^^DR"),
    ("ISO_IR 192", "Wang^XiaoDong=王^小東"),
    (("", "ISO 2022 IR 87"), "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    (("", "ISO 2022 IR 149"), "Hong^Gildong=洪^吉洞=홍^길동"),
    ("GB18030", "Wang^XiaoDong=王^小东"),
    ("ISO_IR 144", "Люкceмбypг"),
    ("ISO_IR 126", "Διονυσιος"),
    ("ISO_IR 138", "שרון^דבורה"),
    ("ISO_IR 127", "قباني^لنزار"),
    (("ISO 2022 IR 13", "ISO 2022 IR 87"), "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"),
    ("", "PLAIN^ASCII"),
)
"""Specific Character Set values (PS3.3 C.12.1.1.2) with a person name written in each."""

# (tag, VR, value): one element of each VR the dictionary gives that VR (PS3.6), so that the VR
# stays right in an Implicit VR transfer syntax too.
_EVERY_VR: tuple[tuple[int, str, object], ...] = (
    (0x00080055, "AE", "ANY-SCP"),
    (0x00080070, "LO", "DIMSE CODEC"),
    (0x00080080, "LO", "Odd Institution"),  # odd length: padded
    (0x00080081, "ST", "1 Main Street\r\nSpringfield"),
    (0x0008002A, "DT", "20200314083015.123456+0100"),
    (0x00080108, "LT", "a long text\twith a tab"),
    (0x00080119, "UC", "LONG-CODE-VALUE-" * 5),
    (0x0008010E, "UR", "http://example.com/codes?a=1&b=2"),
    (0x0008030E, "UT", "unlimited text " * 20),
    (0x00080414, "US", [1, 65535]),
    (0x0008040C, "UV", [0, 2**64 - 1]),
    (0x00080427, "UL", 4294967295),
    (0x00089459, "FL", 29.97),
    (0x00082134, "FD", [-1.5, 1e300]),
    (0x00101010, "AS", "042Y"),
    (0x00101020, "DS", "1.75"),
    (0x00140202, "AT", [0x00100010, 0x7FE00010]),
    (0x00180013, "FL", []),  # present and empty
    (0x00181638, "OF", b"\x00\x00\x80\x3f" * 4),
    (0x00186020, "SL", [-2147483648, 2147483647]),
    (0x00189219, "SS", [-32768, 32767]),
    (0x00660022, "OD", b"\x00" * 7 + b"\x3f" + b"\x00" * 8),
    (0x00660040, "OL", b"\x01\x00\x00\x00" * 3),
    (0x00720081, "OV", b"\x02" + b"\x00" * 15),
    (0x00720082, "SV", [-(2**63), 2**63 - 1]),
    (0x0008041B, "OB", b"\x01\x02\x03"),  # odd length: padded
)


@dataclass(frozen=True, slots=True)
class Depth:
    """What one deep instance carries (the choices a case draws)."""

    filler: int
    """Its study's number, 1 to :data:`FILLERS`."""
    character_set: int = 0
    """Index into :data:`CHARACTER_SETS`."""
    undefined_lengths: bool = False
    """Whether its sequences and items are of undefined length (delimited)."""
    signed: bool = False
    """Whether it carries a Digital Signatures Sequence item."""
    report: bool = False
    """A Basic Text SR with a completion flag description instead of a secondary capture."""


def filler_study_uid(number: int) -> str:
    """The study UID of filler study ``number`` (outside the fixed archive's UIDs)."""
    return f"{UID_ROOT}.90.{number}"


def _code(value: str, meaning: str, undefined: bool) -> Dataset:
    code = Dataset()
    code.CodeValue = value
    code.CodingSchemeDesignator = "DCM"
    code.CodeMeaning = meaning
    code.is_undefined_length_sequence_item = undefined
    return code


def _sequence(ds: Dataset, tag: int, items: list[Dataset], undefined: bool) -> None:
    """A sequence element in ``ds``, of undefined length (delimited) or not (PS3.5 7.5)."""
    ds.add_new(tag, "SQ", DicomSequence(items))
    ds[tag].is_undefined_length = undefined


def _nested(depth: Depth, study_uid: str) -> Dataset:
    """A source image reference, three sequences deep, with an empty sequence and an empty item."""
    undefined = depth.undefined_lengths
    purpose = _code("121320", "Uncompressed predecessor", undefined)
    _sequence(purpose, 0x0040A043, [_code("T-1", "x", undefined)], undefined)
    reference = Dataset()
    reference.ReferencedSOPClassUID = SECONDARY_CAPTURE
    reference.ReferencedSOPInstanceUID = f"{study_uid}.1.2"
    reference.ReferencedFrameNumber = ["1", "2"]
    _sequence(reference, 0x0040A170, [purpose], undefined)
    reference.is_undefined_length_sequence_item = undefined
    empty_item = Dataset()
    empty_item.is_undefined_length_sequence_item = not undefined
    holder = Dataset()
    _sequence(holder, 0x00082112, [reference, empty_item], undefined)
    _sequence(holder, 0x00081110, [], undefined)  # an empty sequence
    return holder


def _private(ds: Dataset, undefined: bool) -> None:
    """Private elements under a creator: text, a private sequence, and bytes of unknown VR."""
    ds.add_new(0x00090010, "LO", "DIMSE CODEC DEPTH")
    ds.add_new(0x00091001, "LO", "private text")
    inner = Dataset()
    inner.add_new(0x00090010, "LO", "DIMSE CODEC DEPTH")
    inner.add_new(0x00091001, "LO", "in a private item")
    inner.is_undefined_length_sequence_item = undefined
    _sequence(ds, 0x00091002, [inner], undefined)
    ds.add_new(0x00091003, "UN", b"\x00\x01\x02\x03")


def _signature(ds: Dataset, study_uid: str) -> None:
    """A Digital Signatures Sequence item (PS3.3 C.12.1.1.3; not a real signature)."""
    item = Dataset()
    item.MACIDNumber = 1
    item.DigitalSignatureUID = f"{study_uid}.9"
    item.DigitalSignatureDateTime = "20200314083015"
    item.CertificateType = "X509_1993_SIG"
    item.CertificateOfSigner = b"\x30\x00"
    item.Signature = b"\x00" * 16
    ds.add_new(0xFFFAFFFA, "SQ", DicomSequence([item]))


def filler_patient_id(number: int) -> str:
    """The Patient ID of filler study ``number``'s patient."""
    return f"QR-9{number:03d}"


def sop_class(depth: Depth) -> str:
    """The SOP class of the deep instance ``depth`` describes."""
    return BASIC_TEXT_SR if depth.report else SECONDARY_CAPTURE


def deep_instance(depth: Depth) -> Instance:
    """A deep instance: the only one of filler study ``depth.filler``."""
    study_uid = filler_study_uid(depth.filler)
    character_set, name = CHARACTER_SETS[depth.character_set % len(CHARACTER_SETS)]
    ds = Dataset()
    if character_set:
        ds.SpecificCharacterSet = (
            list(character_set) if isinstance(character_set, tuple) else character_set
        )
    ds.SOPClassUID = sop_class(depth)
    ds.SOPInstanceUID = f"{study_uid}.1.1"
    ds.StudyDate = f"{1990 + depth.filler % 30}0101"
    ds.StudyTime = f"{depth.filler % 24:02d}0000"
    ds.AccessionNumber = f"FILL{depth.filler}"
    ds.Modality = "SR" if depth.report else "OT"
    ds.ReferringPhysicianName = name
    ds.PatientName = name
    ds.PatientID = filler_patient_id(depth.filler)
    ds.PatientBirthDate = ""
    ds.PatientSex = ""
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = f"{study_uid}.1"
    ds.StudyID = str(depth.filler)
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ImageComments = name
    for tag, vr, value in _EVERY_VR:
        ds.add_new(tag, vr, value)
    for element in _nested(depth, study_uid):
        ds.add(element)
    _private(ds, depth.undefined_lengths)
    if depth.report:
        ds.ValueType = "CONTAINER"
        ds.CompletionFlag = "PARTIAL"
        ds.CompletionFlagDescription = "written by a fuzzer"
        ds.VerificationFlag = "UNVERIFIED"
        _sequence(ds, 0x0040A043, [_code("121071", "Finding", depth.undefined_lengths)], False)
    else:
        ds.ConversionType = "WSD"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = 2
        ds.Columns = 3
        ds.BitsAllocated = 8
        ds.BitsStored = 8
        ds.HighBit = 7
        ds.PixelRepresentation = 0
        ds.PixelData = bytes(range(6))
    if depth.signed:
        _signature(ds, study_uid)
    return Instance(sop_class(depth), ds)
