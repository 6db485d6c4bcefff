"""Query/retrieve and storage dialogues for the live fuzzer: what a real SCU sends, then broken.

Valid kinds store the instances of :mod:`dimse_codec.scpfuzz.archive` (``archive-store``), query
them at every level of both roots with varied keys and matching types (``find``: single value,
``*`` and ``?`` wildcards, date and time ranges, UID lists, universal return keys, sequence keys,
keys an SCP need not support, in one of :data:`QUERY_CHARACTER_SETS`), store the deep data sets of
:mod:`dimse_codec.scpfuzz.depth` (``deep-store``, maybe retrieved back) and ten new studies past a
storage quota (``quota-store``), query a worklist (``worklist-find``), retrieve them with C-GET
(``get``: the SCP sends its C-STORE sub-operations back on the association, the live layer answers
them) and C-MOVE (``move``), store and then query or retrieve in one association
(``store-then-query``), and cancel an operation with C-CANCEL right after the request, after the
first Pending response or after several (``cancel``). Malformed kinds break one thing in such a
dialogue: the identifier (``malformed-query``: a data set from
:func:`~dimse_codec.strategies.malformed_datasets`), the command set (``malformed-query-command``:
:func:`~dimse_codec.strategies.damaged_command_sets` of the valid request) or the PDUs
(``malformed-query-pdu``: a PDU length off, or a broken PDU sent while the SCP is answering).
:mod:`dimse_codec.scpfuzz.cases` registers the kinds. Sans-I/O."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType

from hypothesis import strategies as st
from pydicom import config as pydicom_config
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from dimse_codec.association import DEFAULT_MAX_PDU_LENGTH
from dimse_codec.dataset import encode_dataset
from dimse_codec.dimse.codec import encode_command_set
from dimse_codec.dimse.primitives import C_CANCEL, C_FIND, C_GET, C_MOVE, C_STORE, DIMSEPrimitive
from dimse_codec.pdata import fragment_size
from dimse_codec.scpfuzz import archive, depth
from dimse_codec.scpfuzz.model import (
    QUERY_RETRIEVE_SOP_CLASSES,
    WORKLIST_FIND,
    Case,
    Expect,
    Step,
    Target,
)
from dimse_codec.scpfuzz.mutate import wrong_pdu_length
from dimse_codec.scpfuzz.steps import (
    EXPECT_BY_PDU_TYPE,
    details,
    message_id,
    once,
    pdata,
    pdu_label,
    release_step,
    request_step,
    send_limit,
    sendable_malformed_pdus,
)
from dimse_codec.strategies import (
    MalformedCommandSet,
    damaged_command_sets,
    malformed_datasets,
)
from dimse_codec.strategies.raw import message_pdvs, one_pdv_per_pdu

__all__ = [
    "MALFORMED_QUERY_KINDS",
    "MATCHING",
    "MOVE_DESTINATIONS",
    "QUERY_CHARACTER_SETS",
    "QUOTA_STUDIES",
    "VALID_QUERY_KINDS",
]

MATCHING = ("single", "wildcard", "range", "uid-list", "universal", "sequence", "unsupported")
"""The matching types the C-FIND cases use (PS3.4 C.2.2.2); ``unsupported`` adds a key with a
value that a basic SCP need not support (PS3.4 C.4.1.1.3.1: it may ignore it; the prediction of
:func:`~dimse_codec.scpfuzz.archive.matches` ignores it)."""

QUERY_CHARACTER_SETS = ("ISO_IR 100", "ISO_IR 192", "GB18030")
"""Specific Character Sets an identifier is written in: each can encode every archive value, so
the SCP converts between them and its records' sets (PS3.5 6.1.2.5)."""

_UNSUPPORTED_KEYS = (
    ("InstitutionName", "NOWHERE"),
    ("PatientAge", "042Y"),
    ("OtherPatientNames", "NOBODY^ELSE"),
    ("BodyPartExamined", "CHEST"),
)
"""Keys outside the archive's records (and dcmqrscp's index), with a value."""

MOVE_DESTINATIONS = ("MOVESCU", "UNKNOWN-AE")
"""C-MOVE destinations besides the requestor's own AE title: DCMTK movescu's default title
(an SCP may know it) and one no SCP knows (the failure path)."""

_LEVEL_DEPTH = {"PATIENT": 0, "STUDY": 1, "SERIES": 2, "IMAGE": 3}
_WILDCARD_KEYS = {
    "PATIENT": ("PatientName", "PatientID"),
    "STUDY": ("StudyDescription", "AccessionNumber", "PatientName"),
    "SERIES": ("SeriesDescription", "Modality"),
    "IMAGE": (),
}
"""Text keys a wildcard may stand in (PS3.4 C.2.2.2.4: not UIDs, not numbers)."""
_SINGLE_KEYS = {
    "PATIENT": ("PatientID", "PatientName", "PatientSex"),
    "STUDY": ("StudyInstanceUID", "AccessionNumber", "StudyDate", "StudyID"),
    "SERIES": ("SeriesInstanceUID", "Modality", "SeriesNumber"),
    "IMAGE": ("SOPInstanceUID", "InstanceNumber", "SOPClassUID"),
}
_RANGE_KEYS = {
    "PATIENT": ("PatientBirthDate",),
    "STUDY": ("StudyDate", "StudyTime"),
    "SERIES": (),
    "IMAGE": (),
}
_SEQUENCE_KEYS = {
    "PATIENT": "OtherPatientIDsSequence",
    "STUDY": "ProcedureCodeSequence",
    "SERIES": "RequestAttributesSequence",
    "IMAGE": "ReferencedImageSequence",
}


# --- identifiers ---------------------------------------------------------------------------------


def _levels(root: str) -> tuple[str, ...]:
    """The levels of a root: the Study Root model has no PATIENT level (PS3.4 C.6.2)."""
    return archive.LEVELS if root == "PATIENT" else archive.LEVELS[1:]


def _uid_of(level: str, keys: Mapping[str, str]) -> str:
    return keys[archive.UNIQUE_KEYS[level]]


def _other(level: str, keys: Mapping[str, str]) -> str:
    """Another record's unique key at the same level (for a UID list)."""
    for record in archive.records():
        value = record[archive.UNIQUE_KEYS[level]]
        if value != _uid_of(level, keys):
            return value
    return _uid_of(level, keys)  # pragma: no cover - the archive has many records


def _wildcarded(draw: st.DrawFn, value: str) -> str:
    """``value`` with a tail replaced by ``*`` or one character by ``?`` (still matching it)."""
    if not value:
        return "*"
    if draw(st.booleans()):
        return value[: draw(st.integers(min_value=0, max_value=len(value)))] + "*"
    at = draw(st.integers(min_value=0, max_value=len(value) - 1))
    return value[:at] + "?" + value[at + 1 :]


def _ranged(draw: st.DrawFn, value: str) -> str:
    """A date or time range around ``value``: closed, open below or open above."""
    stamp = value.split(".")[0]
    low = "19000101" if len(stamp) == 8 else "000000"
    high = "99991231" if len(stamp) == 8 else "235959"
    form = draw(st.sampled_from(["closed", "below", "above", "exact", "partial"]))
    if form == "partial":  # a shorter date or time: a year or month, an hour or hour and minute
        cut = stamp[: draw(st.sampled_from([4, 6] if len(stamp) == 8 else [2, 4]))]
        return draw(st.sampled_from([f"{cut}-{cut}", f"{cut}-", f"-{cut}"]))
    if form == "closed":
        return f"{low}-{stamp}" if draw(st.booleans()) else f"{stamp}-{high}"
    if form == "below":
        return f"-{stamp}" if draw(st.booleans()) else f"-{high}"
    if form == "above":
        return f"{stamp}-"
    return f"{stamp}-{stamp}"


def _key(ds: Dataset, keyword: str, value: str) -> None:
    """A matching key, set as written: wildcards, ranges and lists are not values of the VR
    (``?T`` is no CS, ``202003-`` no DA), so pydicom is told not to check (else it warns)."""
    tag = _tag(keyword)
    ds[tag] = DataElement(tag, dictionary_VR(tag), value, validation_mode=pydicom_config.IGNORE)


def _empty(ds: Dataset, keyword: str) -> None:
    """A return key: the attribute, empty (universal matching)."""
    setattr(ds, keyword, None)


@st.composite
def _identifier(
    draw: st.DrawFn, root: str, level: str, operation: str
) -> tuple[Dataset, dict[str, str], str]:
    """A Q/R identifier for one archive record: the data set, its keys as text, the matching.

    The unique keys of the levels above ``level`` are the record's (hierarchical query,
    PS3.4 C.4.1.2.1); a FIND matches at ``level`` in one of :data:`MATCHING` and asks for
    some of the level's other attributes as return keys; a GET or MOVE names the record's
    unique key (or a list of two) at ``level``.
    """
    keys = draw(st.sampled_from(archive.records()))
    ds = Dataset()
    ds.SpecificCharacterSet = draw(st.sampled_from(QUERY_CHARACTER_SETS))
    ds.QueryRetrieveLevel = level
    text: dict[str, str] = {}
    levels = _levels(root)
    for above in levels[: levels.index(level)]:
        unique = archive.UNIQUE_KEYS[above]
        setattr(ds, unique, keys[unique])
        text[unique] = keys[unique]
    unique = archive.UNIQUE_KEYS[level]
    if operation != "FIND":
        value = keys[unique]
        if unique.endswith("UID") and draw(st.booleans()):  # list matching is for UIDs only
            value = f"{value}\\{_other(level, keys)}"
        _key(ds, unique, value)
        text[unique] = value
        return ds, text, "uid-list" if "\\" in value else "single"
    matching = draw(st.sampled_from(MATCHING))
    if (
        (matching == "range" and not _RANGE_KEYS[level])
        or (matching == "wildcard" and not _WILDCARD_KEYS[level])
        or (matching == "uid-list" and not unique.endswith("UID"))
    ):
        matching = "single"
    keyword = ""
    value = ""
    if matching == "single":
        keyword = draw(st.sampled_from(_SINGLE_KEYS[level]))
        value = keys[keyword]
    elif matching == "wildcard":
        keyword = draw(st.sampled_from(_WILDCARD_KEYS[level]))
        value = _wildcarded(draw, keys[keyword])
    elif matching == "range":
        keyword = draw(st.sampled_from(_RANGE_KEYS[level]))
        value = _ranged(draw, keys[keyword])
    elif matching == "uid-list":
        keyword = unique
        value = f"{keys[unique]}\\{_other(level, keys)}"
    if keyword:
        _key(ds, keyword, value)
        text[keyword] = value
    if unique not in ds:
        _empty(ds, unique)
    returns = draw(st.lists(st.sampled_from(archive.keys_of(level)), max_size=4, unique=True))
    if root == "STUDY" and level == "STUDY" and draw(st.booleans()):
        returns += ["PatientName", "PatientID"]
    for extra in returns:
        if extra not in ds:
            _empty(ds, extra)
    if matching == "sequence":
        ds.add_new(_tag(_SEQUENCE_KEYS[level]), "SQ", DicomSequence([Dataset()]))
    elif matching == "unsupported":
        extra, extra_value = draw(st.sampled_from(_UNSUPPORTED_KEYS))
        _key(ds, extra, extra_value)
    return ds, text, matching


def _tag(keyword: str) -> int:
    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - the keywords above are all in the dictionary
        raise KeyError(keyword)
    return int(tag)


@st.composite
def _worklist_identifier(draw: st.DrawFn) -> tuple[Dataset, str]:
    """A Modality Worklist identifier (PS3.4 K.6.1.2): matching in the scheduled step item."""
    item = draw(st.sampled_from(archive.worklist_entries()))
    patient_id, patient_name = archive.patient_of(item)
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    for keyword in ("PatientName", "PatientID", "AccessionNumber", "StudyInstanceUID"):
        _empty(ds, keyword)
    for keyword in ("RequestedProcedureID", "RequestedProcedureDescription"):
        if draw(st.booleans()):
            _empty(ds, keyword)
    step = Dataset()
    for keyword in (
        "ScheduledStationAETitle",
        "ScheduledProcedureStepStartDate",
        "ScheduledProcedureStepStartTime",
        "Modality",
        "ScheduledPerformingPhysicianName",
        "ScheduledProcedureStepDescription",
        "ScheduledProcedureStepID",
    ):
        _empty(step, keyword)
    matching = draw(st.sampled_from(["modality", "date", "station", "patient", "universal"]))
    if matching == "modality":
        step.Modality = item.modality
    elif matching == "date":
        _key(step, "ScheduledProcedureStepStartDate", _ranged(draw, item.start_date))
    elif matching == "station":
        _key(step, "ScheduledStationAETitle", _wildcarded(draw, item.station))
    elif matching == "patient":
        _key(ds, "PatientName", _wildcarded(draw, patient_name))
        ds.PatientID = patient_id
    ds.ScheduledProcedureStepSequence = DicomSequence([step])
    return ds, matching


# --- messages ------------------------------------------------------------------------------------

_QR_CLASSES: Mapping[tuple[str, str], str] = MappingProxyType(
    {model: uid for uid, model in QUERY_RETRIEVE_SOP_CLASSES.items()}
)


def _contexts(target: Target, root: str | None, operation: str) -> list[int]:
    """Accepted contexts of one Q/R operation (of one root, or either)."""
    return [
        cid
        for cid in target.query_contexts(operation)
        if root is None
        or QUERY_RETRIEVE_SOP_CLASSES[target.accepted[cid].abstract_syntax][0] == root
    ]


@st.composite
def _qr_request(
    draw: st.DrawFn, target: Target, operation: str
) -> tuple[DIMSEPrimitive, int, dict[str, object]]:
    """A valid C-FIND, C-GET or C-MOVE request on an accepted context, and what it asks."""
    context_id = draw(st.sampled_from(_contexts(target, None, operation)))
    context = target.accepted[context_id]
    root = QUERY_RETRIEVE_SOP_CLASSES[context.abstract_syntax][0]
    level = draw(st.sampled_from(_levels(root)))
    ds, text, matching = draw(_identifier(root, level, operation))
    identifier = encode_dataset(ds, context.transfer_syntax)
    common = {
        "MessageID": message_id(draw),
        "AffectedSOPClassUID": context.abstract_syntax,
        "Priority": draw(st.sampled_from([0, 1, 2])),
        "Identifier": identifier,
    }
    request: DIMSEPrimitive
    about: dict[str, object] = {"root": root, "level": level, "matching": matching}
    if operation == "FIND":
        request = C_FIND(**common)  # type: ignore[arg-type]
    elif operation == "GET":
        request = C_GET(**common)  # type: ignore[arg-type]
    else:
        destination = draw(
            st.sampled_from([target.association.calling_ae_title, *MOVE_DESTINATIONS])
        )
        request = C_MOVE(MoveDestination=destination, **common)  # type: ignore[arg-type]
        about["destination"] = destination
    about["matches"] = len(archive.matches(text, level))
    return request, context_id, about


@st.composite
def _worklist_request(draw: st.DrawFn, target: Target) -> tuple[C_FIND, int, str]:
    """A valid worklist C-FIND request on an accepted worklist context, and its matching."""
    context_id = draw(st.sampled_from(target.worklist_contexts))
    ds, matching = draw(_worklist_identifier())
    request = C_FIND(
        MessageID=message_id(draw),
        AffectedSOPClassUID=WORKLIST_FIND,
        Priority=draw(st.sampled_from([0, 1, 2])),
        Identifier=encode_dataset(ds, target.accepted[context_id].transfer_syntax),
    )
    return request, context_id, matching


def _step(target: Target, request: DIMSEPrimitive, context_id: int, limit: int) -> Step:
    """A valid request as one step, waiting for its final response."""
    name = f"{request.msg_type}-RQ"
    return Step(name, pdata(request, context_id, limit, 1), Expect.RESPONSE)


def _running(label: str, data: bytes, pending: int) -> Step:
    """A request the next step cancels after ``pending`` Pending responses.

    With 0 the next step follows at once, so no answer is awaited (:attr:`Expect.NOTHING`).
    """
    return Step(label, data, Expect.NOTHING if pending == 0 else Expect.RESPONSE, pending=pending)


def _store_contexts(target: Target) -> dict[str, list[int]]:
    """Archive SOP class -> accepted storage contexts for it."""
    out: dict[str, list[int]] = {}
    for sop_class in archive.sop_classes():
        found = target.contexts_for(sop_class)
        if found:
            out[sop_class] = list(found)
    return out


@st.composite
def _archive_stores(draw: st.DrawFn, target: Target, at_most: int = 3) -> tuple[Step, ...]:
    """C-STORE-RQ steps of one to ``at_most`` archive instances whose class was accepted."""
    usable = _store_contexts(target)
    candidates = [i for i, sop_class in enumerate(archive.sop_classes()) if sop_class in usable]
    chosen = draw(st.lists(st.sampled_from(candidates), min_size=1, max_size=at_most, unique=True))
    limit = send_limit(draw, target)
    return tuple(draw(_store_step(target, index, limit)) for index in chosen)


Stored = int | depth.Depth
"""What a C-STORE sends: an archive instance (its index in :func:`archive.instances`) or a
deep instance (:class:`~dimse_codec.scpfuzz.depth.Depth`)."""

_ENCODINGS_KEPT = 512
"""How many stored data sets :func:`_encoded` keeps encoded (the archive's twelve and the
quota-store's plain filler instances in the transfer syntaxes drawn, and the deep instances
drawn most): at most a few megabytes."""


@functools.lru_cache(maxsize=_ENCODINGS_KEPT)
def _encoded(stored: Stored, transfer_syntax: str) -> tuple[str, bytes]:
    """The SOP Instance UID and the data set bytes of ``stored`` in ``transfer_syntax``, built
    and encoded once: both are fixed, and building and encoding them again for every case was
    most of the time a campaign spent generating cases."""
    if isinstance(stored, int):
        instance = archive.instances()[stored]
    else:
        instance = depth.deep_instance(stored)
    ds = instance.dataset
    return str(ds.SOPInstanceUID), encode_dataset(ds, transfer_syntax)


def _sop_class(stored: Stored) -> str:
    if isinstance(stored, int):
        return archive.sop_classes()[stored]
    return depth.sop_class(stored)


@st.composite
def _store_step(draw: st.DrawFn, target: Target, stored: Stored, limit: int) -> Step:
    """A C-STORE-RQ of one instance on an accepted context of its class, in its syntax."""
    sop_class = _sop_class(stored)
    context_id = draw(st.sampled_from(target.contexts_for(sop_class)))
    instance_uid, data = _encoded(stored, target.accepted[context_id].transfer_syntax)
    request = C_STORE(
        MessageID=message_id(draw),
        AffectedSOPClassUID=sop_class,
        AffectedSOPInstanceUID=instance_uid,
        Priority=0,
        DataSet=data,
    )
    return Step("C-STORE-RQ", pdata(request, context_id, limit, 1), Expect.RESPONSE)


def _deep_classes(target: Target) -> tuple[bool, ...]:
    """Which deep instances the SCP can take: ``False`` a secondary capture, ``True`` an SR."""
    return tuple(
        report
        for report, sop_class in ((False, depth.SECONDARY_CAPTURE), (True, depth.BASIC_TEXT_SR))
        if target.contexts_for(sop_class)
    )


@st.composite
def _deep_instances(draw: st.DrawFn, target: Target, fillers: list[int]) -> tuple[depth.Depth, ...]:
    """A deep instance of each filler study: a character set, lengths, signature and class."""
    classes = _deep_classes(target)
    return tuple(
        depth.Depth(
            filler,
            character_set=draw(st.integers(0, len(depth.CHARACTER_SETS) - 1)),
            undefined_lengths=draw(st.booleans()),
            signed=draw(st.booleans()),
            report=draw(st.sampled_from(classes)),
        )
        for filler in fillers
    )


# --- valid kinds ---------------------------------------------------------------------------------


@st.composite
def _archive_store(draw: st.DrawFn, target: Target) -> Case:
    stores = draw(_archive_stores(target))
    return Case(
        "archive-store",
        True,
        f"{len(stores)} archive instance(s) stored in one association",
        (request_step(target), *stores, release_step()),
        details(message="C-STORE-RQ", instances=len(stores)),
    )


def _operation_case(kind: str, operation: str) -> Callable[[Target], st.SearchStrategy[Case]]:
    """A kind of one to three valid ``operation`` requests in one association."""

    @st.composite
    def build(draw: st.DrawFn, target: Target) -> Case:
        limit = send_limit(draw, target)
        count = draw(st.integers(min_value=1, max_value=3 if operation == "FIND" else 2))
        steps = []
        asked = []
        for _ in range(count):
            request, context_id, about = draw(_qr_request(target, operation))
            steps.append(_step(target, request, context_id, limit))
            asked.append(about)
        first = asked[0]
        return Case(
            kind,
            True,
            f"{count} C-{operation}-RQ(s), the first at the {first['level']} level of the "
            f"{first['root']} root ({first['matching']} matching, "
            f"{first['matches']} archive match(es))",
            (request_step(target), *steps, release_step()),
            details(message=f"C-{operation}-RQ", queries=asked, max_pdu_length=limit),
        )

    return build


@st.composite
def _worklist_find(draw: st.DrawFn, target: Target) -> Case:
    request, context_id, matching = draw(_worklist_request(target))
    limit = send_limit(draw, target)
    return Case(
        "worklist-find",
        True,
        f"worklist C-FIND-RQ ({matching} matching in the scheduled step)",
        (request_step(target), _step(target, request, context_id, limit), release_step()),
        details(message="C-FIND-RQ", matching=matching, context_id=context_id),
    )


@st.composite
def _deep_store(draw: st.DrawFn, target: Target) -> Case:
    """One to three deep instances (:mod:`~dimse_codec.scpfuzz.depth`) stored."""
    fillers = draw(st.lists(st.integers(1, depth.FILLERS), min_size=1, max_size=3, unique=True))
    chosen = draw(_deep_instances(target, fillers))
    limit = send_limit(draw, target)
    steps = [draw(_store_step(target, d, limit)) for d in chosen]
    first = chosen[0]
    charset = depth.CHARACTER_SETS[first.character_set][0] or "no character set"
    retrieval = draw(st.sampled_from(["", *(op for op in ("GET", "MOVE") if _can(op)(target))]))
    if retrieval:  # the SCP reads the deep file back and sends it, in a syntax it chooses
        request, context_id = draw(_deep_retrieval(target, retrieval, first))
        steps.append(_step(target, request, context_id, limit))
    return Case(
        "deep-store",
        True,
        f"{len(chosen)} deep instance(s) stored, the first in {charset!r}"
        f"{', undefined lengths' if first.undefined_lengths else ''}"
        f"{', signed' if first.signed else ''}{', an SR' if first.report else ''}"
        f"{f', then a C-{retrieval}-RQ of its study' if retrieval else ''}",
        (request_step(target), *steps, release_step()),
        details(message="C-STORE-RQ", instances=len(chosen), fillers=fillers, retrieval=retrieval),
    )


@st.composite
def _deep_retrieval(
    draw: st.DrawFn, target: Target, operation: str, stored: depth.Depth
) -> tuple[DIMSEPrimitive, int]:
    """A C-GET or C-MOVE of a deep instance's study at the STUDY level of either root."""
    context_id = draw(st.sampled_from(_contexts(target, None, operation)))
    context = target.accepted[context_id]
    root = QUERY_RETRIEVE_SOP_CLASSES[context.abstract_syntax][0]
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    if root == "PATIENT":
        ds.PatientID = depth.filler_patient_id(stored.filler)
    ds.StudyInstanceUID = depth.filler_study_uid(stored.filler)
    common = {
        "MessageID": message_id(draw),
        "AffectedSOPClassUID": context.abstract_syntax,
        "Priority": 0,
        "Identifier": encode_dataset(ds, context.transfer_syntax),
    }
    if operation == "GET":
        return C_GET(**common), context_id  # type: ignore[arg-type]
    destination = target.association.calling_ae_title
    return C_MOVE(MoveDestination=destination, **common), context_id  # type: ignore[arg-type]


QUOTA_STUDIES = 10
"""How many new studies one ``quota-store`` case stores: one more than the 9 a
``(9, 1024mb)`` dcmqrscp storage area keeps, so the SCP deletes its oldest study."""


@st.composite
def _quota_store(draw: st.DrawFn, target: Target) -> Case:
    """:data:`QUOTA_STUDIES` filler studies stored in one association, past a study quota.

    The instances are the plain ones of their studies (no character set, defined lengths, no
    signature), all of one class: the point is the quota, and what deep content does is what
    ``deep-store`` tests. So the few hundred of them stay encoded (:func:`_encoded`) and judged,
    and a quota-store case costs what its ten C-STOREs cost, not ten encodings and decodings.
    """
    start = draw(st.integers(0, depth.FILLERS - 1))
    fillers = [(start + i) % depth.FILLERS + 1 for i in range(QUOTA_STUDIES)]
    report = draw(st.sampled_from(_deep_classes(target)))
    chosen = [depth.Depth(filler, report=report) for filler in fillers]
    limit = send_limit(draw, target, small=False)  # the point is the quota, not the cutting
    steps = [draw(_store_step(target, d, limit)) for d in chosen]
    return Case(
        "quota-store",
        True,
        f"{len(steps)} new studies stored in one association (filler studies "
        f"{fillers[0]} to {fillers[-1]}), past a storage quota",
        (request_step(target), *steps, release_step()),
        details(message="C-STORE-RQ", instances=len(steps), fillers=fillers),
    )


@st.composite
def _store_then_query(draw: st.DrawFn, target: Target) -> Case:
    """Archive instances stored, then a query or retrieval of them, in one association."""
    stores = draw(_archive_stores(target, at_most=2))
    operations = [op for op in ("FIND", "GET", "MOVE") if _contexts(target, None, op)]
    operation = draw(st.sampled_from(operations))
    request, context_id, about = draw(_qr_request(target, operation))
    limit = send_limit(draw, target)
    return Case(
        "store-then-query",
        True,
        f"{len(stores)} C-STORE-RQ(s), then a C-{operation}-RQ at the {about['level']} level",
        (request_step(target), *stores, _step(target, request, context_id, limit), release_step()),
        details(message=f"C-{operation}-RQ", instances=len(stores), query=about),
    )


@st.composite
def _cancelled(draw: st.DrawFn, target: Target) -> tuple[DIMSEPrimitive, int, str]:
    """A valid C-FIND, C-GET, C-MOVE or worklist C-FIND request to cancel."""
    options = [op for op in ("FIND", "GET", "MOVE") if _contexts(target, None, op)]
    if target.worklist_contexts:
        options.append("WORKLIST")
    operation = draw(st.sampled_from(options))
    if operation == "WORKLIST":
        found, cid, _ = draw(_worklist_request(target))
        return found, cid, "worklist C-FIND-RQ"
    request, context_id, _ = draw(_qr_request(target, operation))
    return request, context_id, f"C-{operation}-RQ"


@st.composite
def _cancel(draw: st.DrawFn, target: Target) -> Case:
    """An operation cancelled right after its request, after the first Pending, or after more."""
    request, context_id, name = draw(_cancelled(target))
    pending = draw(st.sampled_from([0, 1, 2, 3]))
    limit = send_limit(draw, target)
    cancel = C_CANCEL(MessageIDBeingRespondedTo=getattr(request, "MessageID", 1))
    steps = (
        request_step(target),
        _running(name, pdata(request, context_id, limit, 1), pending),
        Step("C-CANCEL-RQ", pdata(cancel, context_id, limit, 1), Expect.RESPONSE),
        release_step(),
    )
    when = "right after the request" if pending == 0 else f"after {pending} Pending response(s)"
    return Case(
        "cancel",
        True,
        f"{name} cancelled {when}",
        steps,
        details(message=name, pending=pending, context_id=context_id),
    )


# --- malformed kinds -----------------------------------------------------------------------------


@st.composite
def _any_query(draw: st.DrawFn, target: Target) -> tuple[DIMSEPrimitive, int, str]:
    """A valid query or retrieval on any accepted Q/R or worklist context."""
    request, context_id, name = draw(_cancelled(target))
    return request, context_id, name


@st.composite
def _malformed_query(draw: st.DrawFn, target: Target) -> Case:
    """A valid query or retrieval request whose identifier is a broken data set."""
    request, context_id, name = draw(_any_query(target))
    syntax = target.accepted[context_id].transfer_syntax
    broken = draw(once(malformed_datasets, transfer_syntax=syntax))
    command = encode_command_set(request)
    size = fragment_size(target.peer_max_pdu_length or DEFAULT_MAX_PDU_LENGTH)
    data = one_pdv_per_pdu(message_pdvs(command, broken.data, context_id, size))
    return Case(
        "malformed-query",
        False,
        f"{name} whose {len(broken.data)}-byte identifier has {broken.defect}",
        (request_step(target), Step(f"{name} identifier: {broken.defect}", data, Expect.RESPONSE)),
        details(flaw=broken.defect, message=name, context_id=context_id, transfer_syntax=syntax),
    )


@functools.cache
def _damaged(message: str, sop_class: str) -> st.SearchStrategy[MalformedCommandSet]:
    """The command-set defects of one request type, built once per type and SOP class."""
    common = {
        "MessageID": 1,
        "AffectedSOPClassUID": sop_class,
        "Priority": 0,
        "Identifier": b"\0\0",
    }
    template: DIMSEPrimitive
    if message == "C-FIND":
        template = C_FIND(**common)  # type: ignore[arg-type]
    elif message == "C-GET":
        template = C_GET(**common)  # type: ignore[arg-type]
    elif message == "C-MOVE":
        template = C_MOVE(MoveDestination="MOVESCU", **common)  # type: ignore[arg-type]
    else:
        template = C_CANCEL(MessageIDBeingRespondedTo=1)
    return damaged_command_sets(template)


@st.composite
def _malformed_query_command(draw: st.DrawFn, target: Target) -> Case:
    """A query, retrieval or C-CANCEL whose command set is broken in one way (DIMSE level)."""
    request, context_id, name = draw(_any_query(target))
    sop_class = target.accepted[context_id].abstract_syntax
    limit = send_limit(draw, target)
    size = fragment_size(target.peer_max_pdu_length or DEFAULT_MAX_PDU_LENGTH)
    identifier = request.payload_bytes("Identifier")
    steps: tuple[Step, ...]
    if draw(st.booleans()):  # the C-CANCEL of a running operation is broken
        broken = draw(_damaged("C-CANCEL", sop_class))
        first = _running(name, pdata(request, context_id, limit, 1), 0)
        data = one_pdv_per_pdu(message_pdvs(broken.data, None, context_id, size))
        steps = (
            request_step(target),
            first,
            Step(f"C-CANCEL-RQ: {broken.defect}", data, Expect.RESPONSE),
        )
        message = "C-CANCEL-RQ"
    else:
        broken = draw(_damaged(request.msg_type, sop_class))
        raw = None if identifier is None else bytes(identifier)
        data = one_pdv_per_pdu(message_pdvs(broken.data, raw, context_id, size))
        steps = (request_step(target), Step(f"{name}: {broken.defect}", data, Expect.RESPONSE))
        message = name
    return Case(
        "malformed-query-command",
        False,
        f"{message} command set: {broken.defect}",
        steps,
        details(flaw=broken.defect, message=message, context_id=context_id),
    )


@st.composite
def _malformed_query_pdu(draw: st.DrawFn, target: Target) -> Case:
    """A query dialogue broken at the PDU level: a PDU length off, or a broken PDU mid-answer."""
    request, context_id, name = draw(_any_query(target))
    limit = send_limit(draw, target)
    data = bytearray(pdata(request, context_id, limit, 1))
    if draw(st.booleans()):
        flaw = wrong_pdu_length(draw, data)
        steps: tuple[Step, ...] = (
            request_step(target),
            Step(f"{name}: {flaw}", bytes(data), Expect.RESPONSE),
        )
    else:
        broken = draw(sendable_malformed_pdus())
        raw = broken.data
        pending = draw(st.sampled_from([0, 1]))
        flaw = f"{pdu_label(raw)} {broken.flaw} while the SCP answers"
        steps = (
            request_step(target),
            _running(name, bytes(data), pending),
            Step(
                f"malformed {pdu_label(raw)}", raw, EXPECT_BY_PDU_TYPE.get(raw[0], Expect.NOTHING)
            ),
        )
    return Case(
        "malformed-query-pdu",
        False,
        f"{name} with {flaw}",
        steps,
        details(flaw=flaw.split(" while")[0], message=name, context_id=context_id),
    )


# --- when each kind applies ----------------------------------------------------------------------


def _can_store(target: Target) -> bool:
    return bool(_store_contexts(target))


def _can(operation: str) -> Callable[[Target], bool]:
    def applies(target: Target) -> bool:
        return bool(_contexts(target, None, operation))

    return applies


def _can_store_deep(target: Target) -> bool:
    return bool(_deep_classes(target))


def _can_store_and_query(target: Target) -> bool:
    return _can_store(target) and any(_contexts(target, None, op) for op in ("FIND", "GET", "MOVE"))


def _can_query(target: Target) -> bool:
    return bool(target.worklist_contexts) or any(
        _contexts(target, None, op) for op in ("FIND", "GET", "MOVE")
    )


def _can_worklist(target: Target) -> bool:
    return bool(target.worklist_contexts)


_Builder = Callable[[Target], st.SearchStrategy[Case]]

VALID_QUERY_KINDS: Mapping[str, tuple[_Builder, Callable[[Target], bool]]] = MappingProxyType(
    {
        "archive-store": (_archive_store, _can_store),
        "find": (_operation_case("find", "FIND"), _can("FIND")),
        "worklist-find": (_worklist_find, _can_worklist),
        "get": (_operation_case("get", "GET"), _can("GET")),
        "move": (_operation_case("move", "MOVE"), _can("MOVE")),
        "deep-store": (_deep_store, _can_store_deep),
        "quota-store": (_quota_store, _can_store_deep),
        "store-then-query": (_store_then_query, _can_store_and_query),
        "cancel": (_cancel, _can_query),
    }
)
"""The valid query/retrieve and storage kinds, with when they apply."""

MALFORMED_QUERY_KINDS: Mapping[str, tuple[_Builder, Callable[[Target], bool]]] = MappingProxyType(
    {
        "malformed-query": (_malformed_query, _can_query),
        "malformed-query-command": (_malformed_query_command, _can_query),
        "malformed-query-pdu": (_malformed_query_pdu, _can_query),
    }
)
"""The malformed query/retrieve kinds (identifier, command set, PDU), with when they apply."""
