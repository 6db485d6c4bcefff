"""A small DICOM SCU on ``dimse_codec.net.Client``: one subcommand per service.

Run from the repository root (``--help`` on each subcommand lists its options)::

    python docs/examples/asyncio_scu.py echo 127.0.0.1 11112 --aec STORESCP
    python docs/examples/asyncio_scu.py store 127.0.0.1 11112 a.dcm b.dcm --max-pdu 4096
    python docs/examples/asyncio_scu.py find 127.0.0.1 11112 -k QueryRetrieveLevel=STUDY \\
        -k PatientName=
    python docs/examples/asyncio_scu.py move 127.0.0.1 11112 --dest ME \\
        -k QueryRetrieveLevel=STUDY -k StudyInstanceUID=1.2.3
    python docs/examples/asyncio_scu.py n-get 127.0.0.1 11112 --class 1.2.840.10008.3.1.2.3.3 \\
        --instance 1.2.3.4 --tag PatientName
    python docs/examples/asyncio_scu.py commit 127.0.0.1 11112 a.dcm b.dcm

Files are sent as they are, in their own transfer syntax. ``commit`` asks for Storage Commitment
of the files' instances and waits for the report on the same association (or, with
``--report-port``, on a new one to a server of ours that takes the SCP role for it). The exit
status is 0 when every response was Success or Warning, 1 otherwise, 2 when no association was
made.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.tag import Tag

from dimse_codec import DimseCodecError
from dimse_codec.net import Client, Server
from dimse_codec.services import (
    STORAGE_COMMITMENT,
    Response,
    commitment_request,
    read_instance,
    report_receiver,
)
from dimse_codec.services.contexts import NATIVE, STUDY_ROOT_FIND, STUDY_ROOT_MOVE

REPORT_WAIT = 30.0
"""Seconds ``commit`` waits for the report after the N-ACTION response."""


def show(name: str, response: Response) -> bool:
    """Print one response (and its data set), say whether it was Success or Warning."""
    print(f"{name}: status 0x{response.status:04X} ({response.category.name.title()})")
    if response.dataset is not None and len(response.dataset):
        print(response.dataset)
    return response.ok


def keys(pairs: Sequence[str]) -> Dataset:
    """``-k Keyword=value`` options as an Identifier (an empty value asks for the attribute)."""
    identifier = Dataset()
    for pair in pairs:
        keyword, _, value = pair.partition("=")
        setattr(identifier, keyword, value)
    return identifier


def dataset_of(path: Path | None) -> Dataset | None:
    """A data set read from a DICOM file (with or without File Meta), without the meta."""
    return None if path is None else Dataset(dcmread(path, force=True))


async def commit(client: Client, args: argparse.Namespace, reports: list[Dataset]) -> bool:
    """N-ACTION for the files' instances, then wait (bounded) for the report to arrive."""
    instances = [read_instance(path) for path in args.files]
    request, info = commitment_request((i.sop_class, i.sop_instance) for i in instances)
    ok = show("N-ACTION", await client.send(request, info))
    if args.report_port is None:  # the report comes on this association, before our release
        return ok
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPORT_WAIT
    while not reports and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return ok


async def talk(args: argparse.Namespace) -> bool:
    """Open the association the subcommand needs, send its requests, release."""
    reports: list[Dataset] = []

    def on_report(event_type: int, report: Dataset) -> None:
        failed = len(report.get("FailedSOPSequence", []))
        print(f"report {report.TransactionUID} type {event_type}: {failed} failed")
        reports.append(report)

    handlers = {"N-EVENT-REPORT": report_receiver(on_report)}
    command, n_class = args.command, getattr(args, "sop_class", None)
    model = {"find": STUDY_ROOT_FIND, "move": STUDY_ROOT_MOVE, "commit": STORAGE_COMMITMENT}
    sop_class = n_class or model.get(command)
    client = Client(
        args.host,
        args.port,
        calling_ae_title=args.aet,
        called_ae_title=args.aec,
        contexts=[(sop_class, list(NATIVE))] if sop_class else (),
        datasets=args.files if command == "store" else (),
        handlers=handlers,
        max_pdu_length=args.max_pdu,
    )
    listener = None
    if command == "commit" and args.report_port is not None:
        listener = await Server(handlers, port=args.report_port, ae_title=args.aet).start()
    try:
        async with client:
            if command == "echo":
                return show("C-ECHO", await client.echo())
            if command == "store":
                results = [show(str(p), await client.store(p)) for p in args.files]
                return all(results)
            if command == "find":
                ok = True
                async for response in client.find(keys(args.key)):
                    ok = show("C-FIND", response) and ok
                return ok
            if command == "move":
                return show("C-MOVE", await client.move(keys(args.key), args.dest))
            if command == "commit":
                return await commit(client, args, reports)
            instance, data = args.instance, dataset_of(args.dataset)
            if command == "n-create":
                return show("N-CREATE", await client.n_create(n_class, data, instance))
            if command == "n-get":
                tags = [Tag(t) if not t.startswith("0x") else Tag(int(t, 16)) for t in args.tag]
                return show("N-GET", await client.n_get(n_class, instance, tags))
            if command == "n-set":
                return show("N-SET", await client.n_set(n_class, instance, data or Dataset()))
            if command == "n-action":
                response = await client.n_action(n_class, instance, args.type, data)
                return show("N-ACTION", response)
            if command == "n-event-report":
                response = await client.n_event_report(n_class, instance, args.type, data)
                return show("N-EVENT-REPORT", response)
            return show("N-DELETE", await client.n_delete(n_class, instance))
    finally:
        if listener is not None:
            await listener.close()


def parser() -> argparse.ArgumentParser:
    """The command line: ``SUBCOMMAND HOST PORT [options]``."""
    top = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = top.add_subparsers(dest="command", required=True)
    for name in ("echo", "store", "find", "move", "commit", "n-create", "n-get", "n-set",
                 "n-action", "n-event-report", "n-delete"):  # fmt: skip
        command = sub.add_parser(name)
        command.add_argument("host")
        command.add_argument("port", type=int)
        command.add_argument("--aec", default="ANY-SCP", help="the called AE title")
        command.add_argument("--aet", default="DIMSE-CODEC", help="our (calling) AE title")
        command.add_argument("--max-pdu", type=int, default=16382, help="the largest we receive")
        if name in ("store", "commit"):
            command.add_argument("files", nargs="+", type=Path)
        if name in ("find", "move"):
            command.add_argument("-k", "--key", action="append", default=[], help="Keyword=value")
        if name == "move":
            command.add_argument("--dest", required=True, help="the move destination's AE title")
        if name == "commit":
            command.add_argument("--report-port", type=int, help="take the report on a new one")
        if name.startswith("n-"):
            command.add_argument("--class", dest="sop_class", required=True)
            command.add_argument("--instance", required=name != "n-create")
            command.add_argument("--dataset", type=Path, help="a DICOM file holding the data set")
            command.add_argument("--tag", action="append", default=[], help="for n-get")
            command.add_argument("--type", type=int, default=1, help="Action/Event Type ID")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    args.files = getattr(args, "files", [])
    try:
        return 0 if asyncio.run(talk(args)) else 1
    except (DimseCodecError, OSError, TimeoutError) as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
