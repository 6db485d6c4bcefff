"""DIMSE-N cases: a print session and a storage commitment request as real SCUs send them, sans-I/O.

Two dialogues, each one association of valid requests built with the library's own encoders:

``print-session``
    Basic Grayscale Print Management (PS3.4 H) on the Meta SOP Class's context: the Printer's
    N-GET, the Basic Film Session's N-CREATE (and an N-SET), the Basic Film Box's N-CREATE (its
    response lists the Image Boxes the SCP made), an N-SET of a Basic Grayscale Image Box with a
    small pixel sequence, the Film Box's (or Film Session's) N-ACTION print, and the N-DELETEs.
``storage-commitment``
    Storage Commitment Push Model (PS3.4 J): an N-ACTION-RQ of Action Type 1 with a Transaction
    UID and a Referenced SOP Sequence, once or twice on one association.

A case is fixed bytes before it is sent, so the dialogue cannot copy a UID out of a response.
Where PS3.4 lets the SCU choose (the Affected SOP Instance UID of the Film Session's and the
Film Box's N-CREATE, H.4.1.2.1.1 and H.4.2.2.1.1) the case chooses its own and uses it after;
the Image Box UIDs are the SCP's alone (it creates the boxes with the Film Box), so the image
box N-SET names one derived from our Film Box UID, and a conforming SCP answers it with a
failure status (0112H, no such instance): the message, its data set and the SCP's lookup still
run, the box's content is not printed.

The malformed kinds take the same dialogues, keep the requests before a chosen one valid, and
break that one (:mod:`dimse_codec.scpfuzz.mutate`): its command set (``malformed-n-command``),
its data set (``malformed-n-dataset``) or its PDUs (``malformed-n-pdu``), so the flaw reaches
the SCP in the middle of a print session, not only on a fresh association.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from hypothesis import strategies as st
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from dimse_codec.dataset import EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN, encode_dataset
from dimse_codec.dimse.codec import encode_command_set
from dimse_codec.dimse.primitives import N_ACTION, N_CREATE, N_DELETE, N_GET, N_SET, DIMSEPrimitive
from dimse_codec.scpfuzz.model import STORAGE_SOP_CLASSES, Case, Expect, Step, Target
from dimse_codec.scpfuzz.mutate import Message, broken_command, broken_dataset, broken_pdu
from dimse_codec.scpfuzz.steps import (
    details,
    message_id,
    message_name,
    pdata,
    release_step,
    request_step,
    send_limit,
)
from dimse_codec.services.commitment import commitment_request
from dimse_codec.services.contexts import STORAGE_COMMITMENT
from dimse_codec.strategies import uids

__all__ = [
    "FILM_BOX",
    "FILM_SESSION",
    "GRAYSCALE_IMAGE_BOX",
    "MALFORMED_N_KINDS",
    "N_CONTEXTS",
    "PRINTER",
    "PRINTER_INSTANCE",
    "PRINT_META",
    "VALID_N_KINDS",
    "commitment_context",
    "has_n_service",
    "print_context",
]

PRINT_META = "1.2.840.10008.5.1.1.9"
"""Basic Grayscale Print Management Meta SOP Class (PS3.4 H.3.1)."""
FILM_SESSION = "1.2.840.10008.5.1.1.1"
"""Basic Film Session SOP Class."""
FILM_BOX = "1.2.840.10008.5.1.1.2"
"""Basic Film Box SOP Class."""
GRAYSCALE_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
"""Basic Grayscale Image Box SOP Class."""
PRINTER = "1.2.840.10008.5.1.1.16"
"""Printer SOP Class."""
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
"""The Printer's well-known SOP Instance UID (PS3.4 H.4.5.1.1)."""

_BOTH = (IMPLICIT_VR_LITTLE_ENDIAN.uid, EXPLICIT_VR_LITTLE_ENDIAN.uid)
N_CONTEXTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (PRINT_META, _BOTH),
    (STORAGE_COMMITMENT, _BOTH),
)
"""The presentation contexts the DIMSE-N cases need, appended to the fuzzer's proposal."""

_CLASS_NAMES = MappingProxyType(
    {
        PRINTER: "Printer",
        FILM_SESSION: "Film Session",
        FILM_BOX: "Film Box",
        GRAYSCALE_IMAGE_BOX: "Image Box",
        STORAGE_COMMITMENT: "Storage Commitment",
    }
)
_PRINTER_ATTRIBUTES = tuple(
    Tag(group, element)
    for group, element in (
        (0x2110, 0x0010),  # Printer Status
        (0x2110, 0x0020),  # Printer Status Info
        (0x2110, 0x0030),  # Printer Name
        (0x0008, 0x0070),  # Manufacturer
        (0x0008, 0x1090),  # Manufacturer's Model Name
        (0x0018, 0x1020),  # Software Versions
    )
)
_DISPLAY_FORMATS = ((1, 1), (1, 2), (2, 2), (2, 3))
"""Standard image display formats (columns, rows) every print SCP of the sample configs lists."""
_FILM_SIZES = ("8INX10IN", "10INX12IN", "14INX17IN", "24CMX30CM")
_UID_ROOM = 60
"""Longest UID drawn for our own instances: room for the ``.N`` of a derived image box UID."""


@dataclass(frozen=True, slots=True)
class _Request:
    """One request of a dialogue: what it is for, the message, and its data set's bytes."""

    label: str
    primitive: DIMSEPrimitive
    dataset: bytes | None


def print_context(target: Target) -> int | None:
    """The accepted Basic Grayscale Print Management Meta context, if any."""
    return target.association.context_id_for(PRINT_META)


def commitment_context(target: Target) -> int | None:
    """The accepted Storage Commitment Push Model context, if any."""
    return target.association.context_id_for(STORAGE_COMMITMENT)


def has_n_service(target: Target) -> bool:
    """Whether the SCP accepted a context a DIMSE-N dialogue goes on."""
    return print_context(target) is not None or commitment_context(target) is not None


def _has_print(target: Target) -> bool:
    return print_context(target) is not None


def _has_commitment(target: Target) -> bool:
    return commitment_context(target) is not None


def _dataset(values: Mapping[str, object], transfer_syntax: str) -> bytes:
    """A data set of keyword values, encoded for the context."""
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return encode_dataset(ds, transfer_syntax)


def _optional(draw: st.DrawFn, choices: Mapping[str, Sequence[object]]) -> dict[str, object]:
    """Some of ``choices`` (keyword -> permitted values), each with one of its values."""
    return {
        keyword: draw(st.sampled_from(values))
        for keyword, values in choices.items()
        if draw(st.booleans())
    }


def _image(draw: st.DrawFn) -> Dataset:
    """A small 8-bit MONOCHROME2 image: the item of a Basic Grayscale Image Sequence."""
    rows, columns = draw(st.sampled_from((2, 4, 8, 16))), draw(st.sampled_from((2, 4, 8, 16)))
    image = Dataset()
    image.SamplesPerPixel = 1
    image.PhotometricInterpretation = "MONOCHROME2"
    image.Rows, image.Columns = rows, columns
    image.BitsAllocated, image.BitsStored, image.HighBit = 8, 8, 7
    image.PixelRepresentation = 0
    start = draw(st.integers(0, 255))
    image.add_new(0x7FE00010, "OB", bytes((start + i * 37) % 256 for i in range(rows * columns)))
    return image


def _opening(
    draw: st.DrawFn, target: Target, context_id: int | None
) -> tuple[int, str, Iterator[int]]:
    """A dialogue's context, its transfer syntax, and its Message IDs (one after the other)."""
    if context_id is None:  # pragma: no cover - the kinds apply only with the context
        raise ValueError("the SCP did not accept the dialogue's context")
    first = message_id(draw)
    ids = (((first - 1 + n) % 0xFFFF) + 1 for n in itertools.count())
    return context_id, target.accepted[context_id].transfer_syntax, ids


@st.composite
def _print_dialogue(draw: st.DrawFn, target: Target) -> tuple[int, list[_Request]]:
    """A print SCU's session: printer N-GET, film session, film box, image box, print, delete."""
    context_id, syntax, ids = _opening(draw, target, print_context(target))
    session = draw(uids(max_length=_UID_ROOM))
    box = draw(uids(max_length=_UID_ROOM))
    wanted = draw(st.lists(st.sampled_from(_PRINTER_ATTRIBUTES), unique=True, max_size=3))
    requests = [
        _on(N_GET, next(ids), PRINTER, PRINTER_INSTANCE, AttributeIdentifierList=wanted or None)
    ]
    session_values = _optional(
        draw,
        {
            "NumberOfCopies": ("1", "2"),
            "PrintPriority": ("HIGH", "MED", "LOW"),
            "MediumType": ("PAPER", "CLEAR FILM", "BLUE FILM"),
            "FilmDestination": ("MAGAZINE", "PROCESSOR"),
            "FilmSessionLabel": ("DIMSE-FUZZ",),
        },
    )
    requests.append(_create(next(ids), FILM_SESSION, session, _dataset(session_values, syntax)))
    if draw(st.booleans()):
        changes = _dataset(
            {"NumberOfCopies": draw(st.sampled_from(("1", "3"))), "PrintPriority": "MED"}, syntax
        )
        requests.append(_set(next(ids), FILM_SESSION, session, changes, "Film Session"))
    columns, rows = draw(st.sampled_from(_DISPLAY_FORMATS))
    reference = Dataset()
    reference.ReferencedSOPClassUID = FILM_SESSION
    reference.ReferencedSOPInstanceUID = session
    box_values: dict[str, object] = {
        "ImageDisplayFormat": f"STANDARD\\{columns},{rows}",
        "ReferencedFilmSessionSequence": [reference],
        **_optional(
            draw,
            {
                "FilmOrientation": ("PORTRAIT", "LANDSCAPE"),
                "FilmSizeID": _FILM_SIZES,
                "MagnificationType": ("REPLICATE", "BILINEAR", "NONE"),
            },
        ),
    }
    requests.append(_create(next(ids), FILM_BOX, box, _dataset(box_values, syntax)))
    for position in range(1, min(columns * rows, draw(st.integers(1, 2))) + 1):
        content = _dataset(
            {"ImageBoxPosition": position, "BasicGrayscaleImageSequence": [_image(draw)]}, syntax
        )
        image_box = f"{box}.{position}"
        requests.append(_set(next(ids), GRAYSCALE_IMAGE_BOX, image_box, content, "Image Box"))
    printed, printed_uid = draw(st.sampled_from(((FILM_BOX, box), (FILM_SESSION, session))))
    requests.append(_on(N_ACTION, next(ids), printed, printed_uid, ActionTypeID=1))
    for sop_class, instance in ((FILM_BOX, box), (FILM_SESSION, session)):
        if draw(st.booleans()):
            requests.append(_on(N_DELETE, next(ids), sop_class, instance))
    return context_id, requests


def _on(
    make: Callable[..., DIMSEPrimitive], number: int, sop_class: str, instance: str, **more: Any
) -> _Request:
    """A request without a data set on one instance (N-GET, N-ACTION, N-DELETE)."""
    request = make(
        MessageID=number, RequestedSOPClassUID=sop_class, RequestedSOPInstanceUID=instance, **more
    )
    return _Request(_CLASS_NAMES[sop_class], request, None)


def _create(number: int, sop_class: str, instance: str, attributes: bytes) -> _Request:
    """An N-CREATE-RQ with our own Affected SOP Instance UID."""
    request = N_CREATE(
        MessageID=number,
        AffectedSOPClassUID=sop_class,
        AffectedSOPInstanceUID=instance,
        AttributeList=attributes,
    )
    return _Request(_CLASS_NAMES[sop_class], request, attributes)


def _set(number: int, sop_class: str, instance: str, changes: bytes, label: str) -> _Request:
    """An N-SET-RQ of ``changes`` on one instance."""
    request = N_SET(
        MessageID=number,
        RequestedSOPClassUID=sop_class,
        RequestedSOPInstanceUID=instance,
        ModificationList=changes,
    )
    return _Request(label, request, changes)


@st.composite
def _commitment_dialogue(draw: st.DrawFn, target: Target) -> tuple[int, list[_Request]]:
    """A storage commitment SCU's requests: one or two N-ACTIONs, each its own transaction."""
    context_id, syntax, ids = _opening(draw, target, commitment_context(target))
    requests = []
    for _ in range(draw(st.integers(1, 2))):
        references = draw(
            st.lists(
                st.tuples(st.sampled_from(sorted(STORAGE_SOP_CLASSES)), uids()),
                min_size=1,
                max_size=3,
            )
        )
        request, information = commitment_request(references, draw(uids()))
        request.MessageID = next(ids)
        encoded = encode_dataset(information, syntax)
        request.ActionInformation = encoded
        requests.append(_Request(_CLASS_NAMES[STORAGE_COMMITMENT], request, encoded))
    return context_id, requests


def _label(request: _Request) -> str:
    return f"{message_name(request.primitive)} ({request.label})"


def _valid_steps(
    draw: st.DrawFn, target: Target, context_id: int, requests: Sequence[_Request]
) -> tuple[int, list[Step]]:
    """The requests as valid steps, cut for one drawn maximum length."""
    limit = send_limit(draw, target)
    steps = [
        Step(_label(request), pdata(request.primitive, context_id, limit, 1), Expect.RESPONSE)
        for request in requests
    ]
    return limit, steps


def _valid(
    kind: str, dialogue: Callable[[Target], st.SearchStrategy[tuple[int, list[_Request]]]]
) -> Callable[[Target], st.SearchStrategy[Case]]:
    """A valid kind: the whole dialogue on one association, then the release."""

    @st.composite
    def build(draw: st.DrawFn, target: Target) -> Case:
        context_id, requests = draw(dialogue(target))
        limit, steps = _valid_steps(draw, target, context_id, requests)
        names = [_label(r) for r in requests]
        return Case(
            kind,
            True,
            f"{len(requests)} DIMSE-N requests on context {context_id} cut for a {limit}-byte "
            f"maximum: {', '.join(names)}",
            (request_step(target), *steps, release_step()),
            details(messages=names, context_id=context_id, max_pdu_length=limit),
        )

    return build


_Breaker = Callable[[st.DrawFn, Message, Target], tuple[str, bytes]]


def _malformed(
    kind: str, breaker: _Breaker, needs_dataset: bool
) -> Callable[[Target], st.SearchStrategy[Case]]:
    """A malformed kind: a dialogue's requests valid up to one, which ``breaker`` breaks."""

    @st.composite
    def build(draw: st.DrawFn, target: Target) -> Case:
        services = [d for d, has in _DIALOGUES if has(target)]
        context_id, requests = draw(draw(st.sampled_from(services))(target))
        candidates = [i for i, r in enumerate(requests) if r.dataset or not needs_dataset]
        index = draw(st.sampled_from(candidates))
        _, steps = _valid_steps(draw, target, context_id, requests[:index])
        request = requests[index]
        name = message_name(request.primitive)
        message = Message(
            name,
            encode_command_set(request.primitive),
            request.dataset,
            context_id,
            target.accepted[context_id].transfer_syntax,
        )
        flaw, data = breaker(draw, message, target)
        label = _label(request)
        return Case(
            kind,
            False,
            f"{label} with {flaw}, after {index} valid request(s) on context {context_id}",
            (request_step(target), *steps, Step(f"{label}: {flaw}", data, Expect.RESPONSE)),
            details(flaw=flaw, message=name, context_id=context_id, position=index + 1),
        )

    return build


_DIALOGUES: tuple[
    tuple[Callable[[Target], st.SearchStrategy[tuple[int, list[_Request]]]], Callable[..., bool]],
    ...,
] = (
    (_print_dialogue, _has_print),
    (_commitment_dialogue, _has_commitment),
)

_Kind = tuple[Callable[[Target], st.SearchStrategy[Case]], Callable[[Target], bool]]

VALID_N_KINDS: Mapping[str, _Kind] = MappingProxyType(
    {
        "print-session": (_valid("print-session", _print_dialogue), _has_print),
        "storage-commitment": (_valid("storage-commitment", _commitment_dialogue), _has_commitment),
    }
)
"""The valid DIMSE-N kinds, with when they apply (for ``VALID_KINDS``)."""

MALFORMED_N_KINDS: Mapping[str, _Kind] = MappingProxyType(
    {
        "malformed-n-command": (
            _malformed("malformed-n-command", broken_command, False),
            has_n_service,
        ),
        "malformed-n-dataset": (
            _malformed("malformed-n-dataset", broken_dataset, True),
            has_n_service,
        ),
        "malformed-n-pdu": (_malformed("malformed-n-pdu", broken_pdu, False), has_n_service),
    }
)
"""The malformed DIMSE-N kinds, with when they apply (for ``MALFORMED_KINDS``)."""
