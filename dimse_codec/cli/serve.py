"""``dimse-codec serve PORT``: a Verification, Storage and Storage Commitment SCP writing each
received instance into a folder as a Part-10 file, as DCMTK's ``storescp``.

Every Storage SOP class of the standard's list (pydicom's UID dictionary) is accepted in every
transfer syntax, compressed ones first, and each data set is kept exactly as received behind a
File Meta Information naming the context's transfer syntax and this library
(:func:`dimse_codec.services.part10.file_meta`). File names never come from a peer's UID as they
are: a UID that PS3.5 9.1 allows (digits and single dots, at most 64 characters) names its file,
anything else gets a SHA-256 digest, and a file is placed with a hard link that fails instead of
overwriting, so two instances with one UID get ``-1``, ``-2``... Loopback unless ``--bind``.

Exit status: 0 after SIGTERM, 2 for a usage error or a port that cannot be bound, 130 after
Ctrl-C, 141 when stdout was closed (``docs/cli.md``, "Exit codes").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom._uid_dict import UID_dictionary

from dimse_codec.cli._args import ae_title, count, seconds, tcp_port
from dimse_codec.cli._net import add_max_pdu
from dimse_codec.cli._types import EXIT_BROKEN_PIPE, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.examples import with_examples
from dimse_codec.dimse.responses import PresentationContextTuple
from dimse_codec.errors import expect
from dimse_codec.net import Server
from dimse_codec.services import ServiceRequest, commitment_handler, file_meta, supported_for
from dimse_codec.services.session import spec_dataset
from dimse_codec.tables.vrs import is_valid_uid
from dimse_codec.upper_layer import Timeouts

if TYPE_CHECKING:
    from dimse_codec.cli._types import SubParsers

__all__ = ["STORAGE_SOP_CLASSES", "InstanceStore", "register", "run", "safe_name"]

STORAGE_SOP_CLASSES: tuple[str, ...] = tuple(
    uid
    for uid, (name, kind, *_) in UID_dictionary.items()
    if kind == "SOP Class"
    and "Storage" in name
    and "Storage Commitment" not in name
    and "Media Storage Directory" not in name
)
"""Every Storage SOP Class of PS3.4 Annex B (and PS3.6 Table A-1), retired ones included."""

NO_SUCH_INSTANCE = 0x0112
"""Storage Commitment Failure Reason: not stored here (PS3.4 J.3.2.1.1.2)."""
CLASS_INSTANCE_CONFLICT = 0x0119
"""Storage Commitment Failure Reason: stored under another SOP class (PS3.4 J.3.2.1.1.2)."""
OUT_OF_RESOURCES = 0xA700
"""C-STORE Failure: Refused, out of resources (PS3.4 B.2.3): the file could not be written."""
_COPY_CHUNK = 1 << 20


def register(subparsers: SubParsers) -> None:
    """Add the ``serve`` subcommand."""
    parser = subparsers.add_parser(
        "serve",
        **with_examples("serve"),
        help="run a Verification, Storage and Storage Commitment SCP",
        description="Accept associations on PORT (loopback unless --bind), answer C-ECHO, "
        "write every C-STORE's data set exactly as received into DIR as a Part-10 file, and "
        "answer Storage Commitment requests for the instances stored (as DCMTK's storescp). "
        "Ctrl-C or SIGTERM stops it.",
    )
    parser.add_argument(
        "port", metavar="PORT", type=tcp_port(zero_for_any=True), help="TCP port (0: any)"
    )
    parser.add_argument(
        "--aet",
        type=ae_title,
        default=None,
        metavar="AET",
        help="our AE title: associations called with another one are rejected "
        "(default: answer to any)",
    )
    parser.add_argument("--out", default=".", metavar="DIR", help="where files go (default .)")
    parser.add_argument(
        "--bind", default="127.0.0.1", metavar="ADDRESS", help="address (default 127.0.0.1)"
    )
    parser.add_argument(
        "--max-associations",
        type=count(1),
        default=32,
        metavar="N",
        help="associations at once; more are rejected as transient (default 32)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=seconds(),
        default=60.0,
        metavar="S",
        help="abort when the peer sends no whole PDU for S seconds: idle or slow (default 60)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds(),
        default=30.0,
        metavar="S",
        help="seconds for the association, the release and each answer we wait for (default 30)",
    )
    add_max_pdu(parser)
    parser.add_argument(
        "--commitment-report",
        choices=("same", "new"),
        default="same",
        help="send Storage Commitment reports on the request's association or on a new one "
        "to the requestor's AE title found in --peer (default same)",
    )
    parser.add_argument(
        "--peer",
        action="append",
        default=[],
        type=_peer,
        metavar="AE=HOST:PORT",
        help="where an AE title listens, for reports on a new association (repeatable)",
    )
    parser.set_defaults(handler=run)


def _peer(text: str) -> tuple[str, tuple[str, int]]:
    """An argparse type: ``AE=HOST:PORT``."""
    title, _, where = text.partition("=")
    host, _, number = where.rpartition(":")
    if not title or not host:
        raise argparse.ArgumentTypeError(f"expected AE=HOST:PORT, got {text!r}")
    return ae_title(title), (host, tcp_port()(number))


def safe_name(uid: str) -> str:
    """A file name for an instance UID that cannot leave the folder: the UID when PS3.5 9.1
    allows it (digits and single dots), else ``uid-`` and its SHA-256 digest."""
    text = uid.rstrip("\x00 ")
    if is_valid_uid(text):
        return f"{text}.dcm"
    digest = hashlib.sha256(uid.encode("utf-8", "surrogateescape")).hexdigest()
    return f"uid-{digest[:40]}.dcm"


class InstanceStore:
    """The C-STORE handler and the Storage Commitment check of ``serve``, on one folder."""

    def __init__(self, out: Path, say: Callable[[str], None]) -> None:
        self.out = out.resolve()
        self.say = say
        self.stored: dict[str, str] = {}
        """SOP Instance UID -> SOP Class UID of what this process stored."""

    def on_store(self, event: ServiceRequest) -> int:
        """Write the data set as received behind its File Meta; Success, or A700H."""
        values = event.request.values()
        sop_class = str(values.get("AffectedSOPClassUID") or "").rstrip("\x00 ")
        sop = str(values.get("AffectedSOPInstanceUID") or "").rstrip("\x00 ")
        context = expect(event.context, PresentationContextTuple, "a request arrives on a context")
        syntax = str(context.transfer_syntax)
        peer = event.association.peer_ae_title if event.association is not None else None
        try:
            path = self._write(event, file_meta(sop_class, sop, syntax, peer), safe_name(sop))
        except OSError as exc:
            self.say(f"C-STORE {sop} from {peer}: cannot write: {exc.strerror or exc}")
            return OUT_OF_RESOURCES
        self.stored[sop] = sop_class
        self.say(f"C-STORE {sop} from {peer}: stored {path.name} ({syntax})")
        return 0x0000

    def _write(self, event: ServiceRequest, header: bytes, name: str) -> Path:
        descriptor, temporary = tempfile.mkstemp(prefix=".incoming-", suffix=".part", dir=self.out)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(header)
                if event.dataset_path is not None:  # spooled: copy it file to file, not mapped
                    with open(event.dataset_path, "rb") as source:
                        shutil.copyfileobj(source, handle, _COPY_CHUNK)
                else:
                    keyword = spec_dataset(event.request) or "DataSet"
                    handle.write(event.request.payload_bytes(keyword) or b"")
            return self._place(Path(temporary), name)
        finally:
            Path(temporary).unlink(missing_ok=True)

    def _place(self, temporary: Path, name: str) -> Path:
        """Link the finished file under ``name`` (``-1``, ``-2``... when taken); never replace."""
        stem = name.removesuffix(".dcm")
        for number in itertools.count():
            target = self.out / (name if number == 0 else f"{stem}-{number}.dcm")
            if target.parent != self.out:  # unreachable for safe names; kept as the invariant
                raise OSError(f"refusing a name outside {self.out}: {name!r}")
            try:
                os.link(temporary, target)
            except FileExistsError:
                continue
            return target
        raise AssertionError("unreachable")  # pragma: no cover

    def committed(self, sop_class: str, sop: str) -> int | None:
        """Storage Commitment: ``None`` when stored here as ``sop_class``, else why not."""
        stored = self.stored.get(sop.rstrip("\x00 "))
        if stored is None:
            return NO_SUCH_INSTANCE
        return None if stored == sop_class.rstrip("\x00 ") else CLASS_INSTANCE_CONFLICT


class _Output:
    """Lines on stdout; a closed stdout stops the server (exit 141) instead of a traceback."""

    def __init__(self, stop: asyncio.Event) -> None:
        self.stop = stop
        self.broken = False

    def __call__(self, line: str) -> None:
        if self.broken:
            return
        try:
            print(line, flush=True)
        except BrokenPipeError:
            self.broken = True
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            self.stop.set()


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM, Ctrl-C or a closed stdout; return the exit code."""
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"error: cannot create {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_serve(args, out))


async def _serve(args: argparse.Namespace, out: Path) -> int:
    stop = asyncio.Event()
    say = _Output(stop)
    store = InstanceStore(out, say)
    handlers = {
        "C-STORE": store.on_store,
        "N-ACTION": commitment_handler(store.committed, report_on=args.commitment_report),
    }
    server = Server(
        handlers,
        host=args.bind,
        port=args.port,
        ae_title=args.aet,
        supported=supported_for({"C-ECHO", "N-ACTION"}, storage=STORAGE_SOP_CLASSES),
        max_associations=args.max_associations,
        timeouts=Timeouts(
            artim=args.timeout, acse=args.timeout, dimse=args.timeout, network=args.idle_timeout
        ),
        max_pdu_length=args.max_pdu,
        peers=dict(args.peer),
        spool_dir=out,
    )
    try:
        await server.start()
    except OSError as exc:
        print(
            f"error: cannot listen on {args.bind}:{args.port}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    title = args.aet or "any AE title"
    say(f"listening on {args.bind}:{server.port} as {title}, writing to {store.out}")
    try:
        await stop.wait()
    finally:
        await server.close()
    return EXIT_BROKEN_PIPE if say.broken else EXIT_OK
