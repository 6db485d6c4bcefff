"""Captured C-STORE-RQ data sets written as DICOM Part-10 files (``decode --export DIR``).

:func:`export_message` writes one message's data set behind a File Meta Information made from
its command (PS3.10 7.1), the bytes exactly as they crossed the wire; :class:`Exporter` does it
for every C-STORE-RQ of a stream of records, naming each file's source AE title. The one module
of :mod:`dimse_codec.capture` that writes files: the decoder itself stays sans-I/O.
"""

from __future__ import annotations

import re
from pathlib import Path

from dimse_codec.capture.dicom import (
    ENDING_EVENTS,
    AssociationEvent,
    CapturedMessage,
    CaptureRecord,
    DicomDirection,
)
from dimse_codec.services.part10 import file_meta

__all__ = ["Exporter", "export_message", "sender_title"]

_UNSAFE = re.compile(r"[^0-9A-Za-z.\-]")


def _uid_text(primitive: object, keyword: str) -> str | None:
    value = getattr(primitive, keyword, None)
    return (value.strip("\x00 ") or None) if isinstance(value, str) else None


def export_message(
    message: CapturedMessage, directory: Path, ae_title: str | None = None
) -> tuple[Path | None, str | None]:
    """Write a C-STORE-RQ data set as ``a{association}-f{frame}-{uid}.dcm`` in ``directory``.

    Returns ``(path, None)`` when written, ``(None, why)`` when skipped. The data set bytes are
    written exactly as carried (a deflated one stays deflated; its transfer syntax says so). An
    existing file is never overwritten: ``-1``, ``-2``, ... is added before ``.dcm``.
    """
    if message.incomplete is not None:  # a partial data set is never written as a file
        return None, f"incomplete: {message.incomplete.message}"
    if message.dataset is None:
        return None, "no data set"
    if not message.transfer_syntax:
        return None, "no transfer syntax (no accepted presentation context seen, none guessed)"
    sop_class = _uid_text(message.primitive, "AffectedSOPClassUID") or message.abstract_syntax
    sop_instance = _uid_text(message.primitive, "AffectedSOPInstanceUID")
    if not sop_class or not sop_instance:
        return None, "no Affected SOP Class UID or Affected SOP Instance UID"
    data = file_meta(sop_class, sop_instance, message.transfer_syntax, ae_title)
    data += bytes(message.dataset)
    stem = f"a{message.association}-f{message.frame}-{_UNSAFE.sub('_', sop_instance)[:128]}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        suffix = 0
        while True:
            path = directory / f"{stem}{'' if suffix == 0 else f'-{suffix}'}.dcm"
            try:
                with path.open("xb") as handle:
                    handle.write(data)
            except FileExistsError:
                suffix += 1
                continue
            return path, None
    except OSError as exc:
        return None, f"cannot write: {exc.strerror or exc}"


def sender_title(
    message: CapturedMessage, titles: dict[int, tuple[str | None, str | None]]
) -> str | None:
    """The AE title of whoever sent ``message``: the calling AE title for the requestor's
    messages, the called one for the acceptor's (C-STORE sub-operations of a C-GET), else None."""
    calling, called = titles.get(message.association, (None, None))
    if message.direction is DicomDirection.REQUESTOR_TO_ACCEPTOR:
        return calling
    if message.direction is DicomDirection.ACCEPTOR_TO_REQUESTOR:
        return called
    return None


class Exporter:
    """Every C-STORE-RQ of a run of records written to ``directory`` (``decode --export DIR``),
    each file's meta naming its sender's AE title, learnt from the association events
    (:meth:`note`) and forgotten once the association ended."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.titles: dict[int, tuple[str | None, str | None]] = {}

    def note(self, record: CaptureRecord) -> None:
        """Learn (or forget, at its end) the AE titles of ``record``'s association."""
        if not isinstance(record, AssociationEvent):
            return
        association = record.association
        if record.event in ENDING_EVENTS:  # its messages are out: forget it
            self.titles.pop(association.index, None)
        else:
            self.titles[association.index] = (
                association.calling_ae_title,
                association.called_ae_title,
            )

    def __call__(self, record: CaptureRecord) -> tuple[Path | None, str | None] | None:
        """Export ``record`` when it is a C-STORE-RQ: (path, None) or (None, why); else None."""
        if not isinstance(record, CapturedMessage) or record.name != "C-STORE-RQ":
            return None
        return export_message(record, self.directory, sender_title(record, self.titles))
