"""A small fixed archive of patients, studies, series and instances for the query/retrieve cases.

The C-STORE cases of :mod:`dimse_codec.scpfuzz.queries` store these instances, and its C-FIND,
C-GET and C-MOVE cases ask for them, so a query matches something and a retrieval has real
sub-operations. The archive is deterministic (the same UIDs, names and dates every run): three
patients, four studies, several series of several SOP classes, whose attributes vary their
value representations (PN, DA, TM, DS, IS, SQ, UI, multi-valued CS and DS). :func:`matches`
says which records an identifier matches by the PS3.4 C.2.2.2 rules the cases use, so the
tests can check that every generated query finds what it aims at. Sans-I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

__all__ = [
    "LEVELS",
    "UID_ROOT",
    "UNIQUE_KEYS",
    "Instance",
    "Worklist",
    "instances",
    "keys_of",
    "matches",
    "patient_of",
    "record_keys",
    "worklist_entries",
    "worklist_items",
]

UID_ROOT = "1.2.826.0.1.3680043.10.1077.2"
"""The root of every UID in the archive (under the one the store cases use)."""

LEVELS: tuple[str, ...] = ("PATIENT", "STUDY", "SERIES", "IMAGE")
"""Query/Retrieve levels, from the top."""

_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "PATIENT": ("PatientID", "PatientName", "PatientBirthDate", "PatientSex"),
        "STUDY": (
            "StudyInstanceUID",
            "StudyDate",
            "StudyTime",
            "AccessionNumber",
            "StudyID",
            "StudyDescription",
            "ReferringPhysicianName",
        ),
        "SERIES": ("SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription"),
        "IMAGE": ("SOPInstanceUID", "SOPClassUID", "InstanceNumber"),
    }
)
"""The attributes of each level a record carries (and a query may match or ask for)."""

UNIQUE_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "PATIENT": "PatientID",
        "STUDY": "StudyInstanceUID",
        "SERIES": "SeriesInstanceUID",
        "IMAGE": "SOPInstanceUID",
    }
)
"""The unique key of each level (PS3.4 C.3)."""


@dataclass(frozen=True, slots=True)
class _Patient:
    patient_id: str
    name: str
    birth_date: str
    sex: str


@dataclass(frozen=True, slots=True)
class _Study:
    patient: int
    date: str
    time: str
    accession: str
    description: str
    referring: str


_PATIENTS = (
    _Patient("QR-0001", "DOE^JANE", "19700101", "F"),
    _Patient("QR-0002", "MÜLLER^HANS^^DR", "19551231", "M"),
    _Patient("QR-0003", "SMITH^JOHN^Q", "20010615", "O"),
)
_STUDIES = (
    _Study(0, "20200314", "083015", "ACC100", "CT CHEST", "HOUSE^GREGORY"),
    _Study(0, "20210704", "141500.25", "ACC101", "MR BRAIN", "WILSON^JAMES"),
    _Study(1, "20191111", "235959", "ACC200", "US ABDOMEN", ""),
    _Study(2, "20220202", "000001", "ACC300", "RT AND REPORTS", "CUDDY^LISA"),
)
_SERIES: tuple[tuple[int, str, str, Sequence[str]], ...] = (
    # (study, modality, description, SOP classes of its instances)
    (0, "CT", "AXIAL 5MM", ("1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2")),
    (0, "CT", "ENHANCED", ("1.2.840.10008.5.1.4.1.1.2.1",)),
    (1, "MR", "T1 SAG", ("1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1")),
    (2, "US", "LIVER", ("1.2.840.10008.5.1.4.1.1.6.1",)),
    (2, "OT", "SCREEN", ("1.2.840.10008.5.1.4.1.1.7",)),
    (3, "RTPLAN", "PLAN", ("1.2.840.10008.5.1.4.1.1.481.5",)),
    (3, "SR", "REPORT", ("1.2.840.10008.5.1.4.1.1.88.11",)),
    (3, "CR", "CHEST PA", ("1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1")),
    (3, "DOC", "SCANNED", ("1.2.840.10008.5.1.4.1.1.104.1",)),
)


@dataclass(frozen=True, slots=True)
class Instance:
    """One archive instance: its SOP class and the data set a C-STORE sends."""

    sop_class: str
    dataset: Dataset
    """A fresh copy is made for each use (see :func:`instances`): callers may change it."""

    @property
    def keys(self) -> Mapping[str, str]:
        """The instance's record: every level's attributes as text (see :func:`record_keys`)."""
        return record_keys(self.dataset)


def record_keys(ds: Dataset) -> Mapping[str, str]:
    """The query attributes of a data set as text, multiple values joined with a backslash."""
    values: dict[str, str] = {}
    for level in LEVELS:
        for keyword in _KEYS[level]:
            value = ds.get(keyword)
            if value is None:
                values[keyword] = ""
            elif isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
                values[keyword] = "\\".join(str(v) for v in value)
            else:
                values[keyword] = str(value)
    return MappingProxyType(values)


def _uid(*parts: int) -> str:
    return ".".join([UID_ROOT, *(str(p) for p in parts)])


def _pixels(ds: Dataset, size: int, seed: int) -> None:
    """A tiny monochrome image: a few rows of 8-bit pixels that differ per instance."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = size
    ds.Columns = size
    ds.BitsAllocated = 8
    ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PixelData = bytes((seed * 7 + i) % 256 for i in range(size * size))


def _build(study_no: int, series_no: int, instance_no: int, sop_class: str) -> Dataset:
    study = _STUDIES[study_no]
    patient = _PATIENTS[study.patient]
    _, modality, description, _ = _SERIES[series_no]
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = _uid(study.patient + 1, study_no + 1, series_no + 1, instance_no + 1)
    ds.PatientID = patient.patient_id
    ds.PatientName = patient.name
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.StudyInstanceUID = _uid(study.patient + 1, study_no + 1)
    ds.StudyDate = study.date
    ds.StudyTime = study.time
    ds.AccessionNumber = study.accession
    ds.StudyID = str(study_no + 1)
    ds.StudyDescription = study.description
    ds.ReferringPhysicianName = study.referring
    ds.SeriesInstanceUID = _uid(study.patient + 1, study_no + 1, series_no + 1)
    ds.Modality = modality
    ds.SeriesNumber = series_no + 1
    ds.SeriesDescription = description
    ds.InstanceNumber = instance_no + 1
    ds.ContentDate = study.date
    ds.ContentTime = study.time
    seed = series_no * 10 + instance_no
    if modality in ("CT", "MR", "US", "OT", "CR"):
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL" if modality == "CT" else "OTHER"]
        ds.PixelSpacing = [f"{0.5 + instance_no / 4:g}", "0.75"]
        ds.SliceThickness = "5.0"
        ds.ImagePositionPatient = ["-125.5", "-120", str(instance_no * 5)]
        ds.AcquisitionNumber = instance_no + 1
        ds.WindowCenter = ["40", "400"]
        ds.WindowWidth = ["350", "1500"]
        _pixels(ds, 4 + instance_no * 2, seed)
    if modality == "SR":
        ds.ValueType = "CONTAINER"
        ds.CompletionFlag = "COMPLETE"
        ds.VerificationFlag = "UNVERIFIED"
        item = Dataset()
        item.RelationshipType = "CONTAINS"
        item.ValueType = "TEXT"
        item.TextValue = "No acute findings. Follow-up in 6 months."
        code = Dataset()
        code.CodeValue = "121071"
        code.CodingSchemeDesignator = "DCM"
        code.CodeMeaning = "Finding"
        item.ConceptNameCodeSequence = DicomSequence([code])
        ds.ContentSequence = DicomSequence([item])
    if modality == "RTPLAN":
        ds.RTPlanLabel = "PLAN 1"
        ds.RTPlanDate = study.date
        ds.RTPlanTime = study.time
        ds.RTPlanGeometry = "PATIENT"
        fraction = Dataset()
        fraction.FractionGroupNumber = 1
        fraction.NumberOfFractionsPlanned = 30
        fraction.NumberOfBeams = 0
        fraction.NumberOfBrachyApplicationSetups = 0
        ds.FractionGroupSequence = DicomSequence([fraction])
    if modality == "DOC":
        ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
        ds.DocumentTitle = "Referral"
        ds.BurnedInAnnotation = "YES"
        ds.EncapsulatedDocument = b"%PDF-1.4\n%%EOF\n"
    if series_no == 2 and instance_no == 1:  # refers to the first MR image
        ref = Dataset()
        ref.ReferencedSOPClassUID = _SERIES[2][3][0]
        ref.ReferencedSOPInstanceUID = _uid(study.patient + 1, study_no + 1, series_no + 1, 1)
        ds.ReferencedImageSequence = DicomSequence([ref])
    return ds


@functools.cache
def _all() -> tuple[tuple[str, Dataset], ...]:
    built = []
    for series_no, (study_no, _, _, classes) in enumerate(_SERIES):
        for instance_no, sop_class in enumerate(classes):
            built.append((sop_class, _build(study_no, series_no, instance_no, sop_class)))
    return tuple(built)


def instances() -> tuple[Instance, ...]:
    """Every archive instance, in a fixed order (patient, study, series, instance)."""
    return tuple(Instance(sop_class, _copy(ds)) for sop_class, ds in _all())


@functools.cache
def records() -> tuple[Mapping[str, str], ...]:
    """Each archive instance's record (:attr:`Instance.keys`), in the order of
    :func:`instances`: made once and shared, for the many queries built from it."""
    return tuple(MappingProxyType(dict(record_keys(ds))) for _, ds in _all())


@functools.cache
def sop_classes() -> tuple[str, ...]:
    """Each archive instance's SOP class, in the order of :func:`instances`."""
    return tuple(sop_class for sop_class, _ in _all())


def _copy(ds: Dataset) -> Dataset:
    """A deep enough copy: a new data set with the same elements (sequences copied too)."""
    out = Dataset()
    for element in ds:
        if element.VR == "SQ":
            out.add_new(element.tag, "SQ", DicomSequence([_copy(item) for item in element.value]))
        else:
            out.add_new(element.tag, element.VR, element.value)
    return out


# --- matching (PS3.4 C.2.2.2) --------------------------------------------------------------------


def _wildcard(pattern: str, value: str) -> bool:
    """``*`` any run of characters, ``?`` any one (PS3.4 C.2.2.2.4)."""
    if not pattern:
        return not value
    head = pattern[0]
    if head == "*":
        return any(_wildcard(pattern[1:], value[i:]) for i in range(len(value) + 1))
    if not value:
        return False
    return (head == "?" or head == value[0]) and _wildcard(pattern[1:], value[1:])


def _in_range(key: str, value: str) -> bool:
    """``a-b``, ``-b`` or ``a-`` over dates or times, compared as text (PS3.4 C.2.2.2.5)."""
    low, _, high = key.partition("-")
    width = max(len(low), len(high))
    stamp = value[:width] if width else value
    return (not low or stamp >= low) and (not high or stamp <= high[: len(stamp)])


def _match_one(keyword: str, key: str, value: str) -> bool:
    """Whether one record value matches one non-empty key value."""
    if keyword.endswith("UID") and "\\" in key:
        return value in key.split("\\")  # list of UID matching
    if keyword in ("StudyDate", "StudyTime", "PatientBirthDate") and "-" in key:
        return _in_range(key, value)
    if "*" in key or "?" in key:
        return _wildcard(key, value)
    if keyword == "PatientName":  # case-insensitive PN matching is what most SCPs do
        return key.upper() == value.upper()
    return key == value


def matches(identifier: Mapping[str, str], level: str) -> list[Mapping[str, str]]:
    """The distinct records of ``level`` the identifier's non-empty keys match.

    ``identifier`` maps keywords to key values as text (an empty value is a return key and
    matches anything); records are the archive's instances seen at ``level`` (one record per
    patient, study, series or instance), each as its keys down to that level.
    """
    depth = LEVELS.index(level) + 1
    wanted = [k for lvl in LEVELS[:depth] for k in _KEYS[lvl]]
    found: dict[str, Mapping[str, str]] = {}
    for _, ds in _all():
        keys = record_keys(ds)
        record = {k: keys[k] for k in wanted}
        if all(_match_one(k, v, record[k]) for k, v in identifier.items() if v and k in record):
            found.setdefault(record[UNIQUE_KEYS[level]], MappingProxyType(record))
    return list(found.values())


def keys_of(level: str) -> tuple[str, ...]:
    """The attributes of one level (for return keys)."""
    return _KEYS[level]


# --- the worklist (PS3.4 K.6) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Worklist:
    """One scheduled procedure step, as a worklist SCP holds it and a query may match it."""

    patient: int
    accession: str
    modality: str
    station: str
    start_date: str
    start_time: str
    description: str


_WORKLIST = (
    Worklist(0, "WL100", "CT", "CT01", "20240105", "080000", "CT ABDOMEN"),
    Worklist(1, "WL200", "MR", "MR01", "20240105", "103000", "MR KNEE"),
    Worklist(2, "WL300", "US", "US01", "20240106", "150000", "US THYROID"),
)


def worklist_items() -> tuple[Dataset, ...]:
    """The worklist as data sets (what a worklist SCP's folder holds, and a query returns)."""
    items = []
    for number, item in enumerate(_WORKLIST, start=1):
        patient = _PATIENTS[item.patient]
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.PatientID = patient.patient_id
        ds.PatientName = patient.name
        ds.PatientBirthDate = patient.birth_date
        ds.PatientSex = patient.sex
        ds.AccessionNumber = item.accession
        ds.StudyInstanceUID = _uid(9, number)
        ds.RequestedProcedureID = f"RP{number}"
        ds.RequestedProcedureDescription = item.description
        ds.ReferringPhysicianName = "HOUSE^GREGORY"
        step = Dataset()
        step.ScheduledStationAETitle = item.station
        step.ScheduledProcedureStepStartDate = item.start_date
        step.ScheduledProcedureStepStartTime = item.start_time
        step.Modality = item.modality
        step.ScheduledPerformingPhysicianName = ""
        step.ScheduledProcedureStepDescription = item.description
        step.ScheduledProcedureStepID = f"SPS{number}"
        ds.ScheduledProcedureStepSequence = DicomSequence([step])
        items.append(ds)
    return tuple(items)


def worklist_entries() -> tuple[Worklist, ...]:
    """The worklist's scheduled steps (what a query's keys are drawn from)."""
    return _WORKLIST


def patient_of(item: Worklist) -> tuple[str, str]:
    """A worklist item's patient ID and name."""
    patient = _PATIENTS[item.patient]
    return patient.patient_id, patient.name
