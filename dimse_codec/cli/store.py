"""``dimse-codec store HOST PORT PATH...``: C-STORE Part-10 files, as DCMTK's ``storescu``.

Folders are walked recursively. Every file is sent in its own transfer syntax, byte for byte
as it is stored after its File Meta Information: the association proposes one presentation
context per SOP class and transfer syntax the files need (:func:`dimse_codec.services.
contexts_for`), at most 128 per association (PS3.8 9.3.2.2: odd context IDs 1-255), so many
kinds of files take several associations. One line per file: the status with its meaning
(PS3.7 Annex C, PS3.4 B.2.3). Exit status: 0 when every file got Success or Warning, 1 when
one did not (or could not be read or sent), 2 when no association could be made or for a
usage error (``docs/cli.md``, "Exit codes").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dimse_codec.association import ContextSpec
from dimse_codec.cli._net import add_client_arguments, client_timeouts, failure_text
from dimse_codec.cli._types import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.examples import with_examples
from dimse_codec.dimse.status import category, describe
from dimse_codec.errors import DimseCodecError
from dimse_codec.net import AssociationAborted, BlockingClient
from dimse_codec.services import Instance, contexts_for, read_file_meta, read_instance
from dimse_codec.tables.status import STORAGE, StatusCategory

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers

__all__ = ["MAX_CONTEXTS", "register", "run"]

MAX_CONTEXTS = 128
"""Presentation contexts one A-ASSOCIATE-RQ can carry (odd IDs 1 to 255, PS3.8 9.3.2.2)."""
_KEPT = (StatusCategory.SUCCESS, StatusCategory.WARNING)


def register(subparsers: SubParsers) -> None:
    """Add the ``store`` subcommand."""
    parser = subparsers.add_parser(
        "store",
        **with_examples("store"),
        help="send Part-10 files to a Storage SCP (C-STORE)",
        description="Send every Part-10 file (folders walked recursively) to a Storage SCP, "
        "each in its own transfer syntax, and print one line per file with the status and "
        "its meaning (as DCMTK's storescu). Exit 0 when every file got Success or Warning.",
    )
    add_client_arguments(parser)
    parser.add_argument("paths", metavar="PATH", nargs="+", help="a Part-10 file or a folder")
    parser.set_defaults(handler=run)


def files_of(paths: Sequence[str]) -> Iterator[Path]:
    """The files named, and those under the folders named (sorted), in the order given."""
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        else:
            yield path


def _meta(path: Path) -> Instance:
    """The UIDs a file's meta names (its data set is read only when it is sent)."""
    meta = read_file_meta(path)
    return Instance(meta.sop_class, meta.sop_instance, meta.transfer_syntax, b"")


def batches(metas: Sequence[tuple[Path, Instance]]) -> Iterator[list[tuple[Path, Instance]]]:
    """The files in order, cut so that each batch needs at most :data:`MAX_CONTEXTS` contexts."""
    batch: list[tuple[Path, Instance]] = []
    needs: set[object] = set()
    for item in metas:
        need = repr(contexts_for([item[1]])[0])
        if need not in needs and len(needs) == MAX_CONTEXTS:
            yield batch
            batch, needs = [], set()
        needs.add(need)
        batch.append(item)
    if batch:
        yield batch


def run(args: argparse.Namespace) -> int:
    """Store every file; return the exit code."""
    failed, readable = 0, []
    for path in files_of(args.paths):
        try:
            readable.append((path, _meta(path)))
        except Exception as exc:  # not a Part-10 file, or unreadable: one line, counted as failed
            print(f"{path}: not sent: cannot read it as a Part-10 file: {_reason(exc)}")
            failed += 1
    sent = 0
    for batch in batches(readable):
        contexts: list[ContextSpec] = contexts_for([meta for _, meta in batch])
        try:
            failed += _send(args, contexts, batch)
        except Exception as exc:
            why = failure_text(exc)
            if why is None:
                raise
            if sent == 0:
                print(f"error: {args.host}:{args.port}: {why}", file=sys.stderr)
                return EXIT_USAGE
            for path, _ in batch:
                print(f"{path}: not sent: {why}")
            failed += len(batch)
        sent += len(batch)
    return EXIT_OK if failed == 0 else EXIT_FAILED


def _send(
    args: argparse.Namespace, contexts: list[ContextSpec], batch: list[tuple[Path, Instance]]
) -> int:
    """Send one batch on one association; return how many files failed."""
    failed = 0
    with BlockingClient(
        args.host,
        args.port,
        calling_ae_title=args.aet,
        called_ae_title=args.aec,
        contexts=contexts,
        timeouts=client_timeouts(args.timeout),
        max_pdu_length=args.max_pdu,
        connect_timeout=args.timeout,
    ) as client:
        for index, (path, _) in enumerate(batch):
            try:
                instance = read_instance(path)
            except Exception as exc:
                print(f"{path}: not sent: cannot read it: {_reason(exc)}")
                failed += 1
                continue
            try:
                response = client.store(instance)
            except AssociationAborted as exc:
                for rest, _ in batch[index:]:
                    print(f"{rest}: not sent: association aborted: {exc.message}")
                return failed + len(batch) - index
            except DimseCodecError as exc:  # no context accepted for it, a mismatch refused
                print(f"{path}: not sent: {exc.message}")
                failed += 1
                continue
            finally:
                del instance
            print(f"{path}: {describe(response.status, STORAGE)}")
            if category(response.status) not in _KEPT:
                failed += 1
    return failed


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or type(exc).__name__
