"""``dimse-codec decode --jobs N``: N processes, each decoding one shard of the connections.

Scale-out by connection, never by file offset: every worker reads every input and decodes only
the connections whose :class:`~dimse_codec.capture.shard.ShardFilter` is its own, so each
connection is whole in one process. Each worker renders its records (text lines, NDJSON lines
or rows) and sends them, in batches, with the frame being read when they came out; the parent
merges the workers' streams by that frame (the capture order of ``--jobs 1``, except for records
of the capture's end) and renumbers the associations in the order they first appear in the
merge, which is the order ``--jobs 1`` numbers them in. The summary is merged from the workers'
(counts add; response times are kept whole up to the same bound, then sampled).

Filters (:mod:`dimse_codec.capture.select`) apply in each worker, but for association numbers,
which only the parent knows as ``--jobs 1`` gives them: a worker filters with the others, still
sends a bodiless item where each of its associations first appears (so the numbering is that of
the whole capture), and the parent keeps the chosen numbers. Every criterion but the number is
decided within one association, so each worker's choice is ``--jobs 1``'s for its connections.
"""

from __future__ import annotations

import argparse
import heapq
import multiprocessing
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from operator import itemgetter
from typing import Any

from dimse_codec.capture import decode_capture
from dimse_codec.capture.select import selection_from_arguments
from dimse_codec.capture.shard import ShardFilter
from dimse_codec.cli._types import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.summary import Summary
from dimse_codec.cli.view import Line, Output, RecordRenderer, ViewOptions
from dimse_codec.errors import DimseCodecError
from dimse_codec.pcap import CaptureError, CaptureSources, NotACaptureFile
from dimse_codec.policy import LENIENT, STRICT

__all__ = [
    "END_FRAME",
    "Renumber",
    "ShardOutput",
    "WorkerFailed",
    "decode_shard",
    "error_line",
    "run_jobs",
]

_BATCH = 2000
"""Items a worker sends at once (one pickle per batch, not per record)."""
_QUEUED = 64
"""Batches the parent holds per worker before that worker waits."""
END_FRAME = 1 << 62
"""The merge key of rows written when the records are over (associations still open)."""

Item = tuple[int, int | None, Any]
"""(frame being read, the worker's association number or None, the rendered record; None where
an association first appears whose records the filters left out)."""


@dataclass
class ShardOutput:
    """What a worker hands back once its records are all sent."""

    summary: Summary
    cut: int = 0
    """Data sets whose JSON was cut at ``--max-dataset-json``."""


def decode_shard(
    args: argparse.Namespace,
    options: ViewOptions,
    sources: CaptureSources,
    shard: ShardFilter,
) -> tuple[Iterator[Item], RecordRenderer]:
    """The items of one shard in the order they come, and the renderer that keeps its summary
    (``decode``'s own renderer, so each record is shown as ``--jobs 1`` shows it)."""
    renderer = RecordRenderer(options, selection_from_arguments(args), sharded=True)
    reading = [0]

    def items() -> Iterator[Item]:
        records = decode_capture(
            sources,
            port=args.port,
            policy=STRICT if args.strict else LENIENT,
            on_frame=lambda frame: reading.__setitem__(0, frame),
            idle_timeout=args.idle_timeout or None,
            max_connections=args.max_connections or None,
            stall_threshold_ns=round(args.stall_threshold * 1e9),
            shard=shard,
        )
        for record in records:
            frame = reading[0]
            for local, body in renderer.record(record):
                yield frame, local, body
        for local, body in renderer.finish():
            yield END_FRAME, local, body

    return items(), renderer


def error_line(exc: BaseException, sources: CaptureSources) -> tuple[str, int]:
    """The one ``error:`` line and exit status for what stopped a shard (as ``decode`` says it)."""
    named = f"{sources} " if isinstance(sources, str) else ""
    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else named.strip() or "a capture"
        return f"error: cannot read {where}: {exc.strerror or exc}", EXIT_USAGE
    if isinstance(exc, NotACaptureFile):
        return f"error: {named or 'an input '}is not a pcap or pcapng capture: {exc}", EXIT_USAGE
    if isinstance(exc, CaptureError):
        return f"error: {named.strip() + ': ' if named else ''}{exc}", EXIT_USAGE
    if isinstance(exc, DimseCodecError):  # as decode says it: no "[None]" without a code
        return f"error: [{exc.code}] {exc}" if exc.code else f"error: {exc}", EXIT_FAILED
    return f"error: a decode worker failed: {type(exc).__name__}: {exc}", EXIT_FAILED


# -- the worker process --------------------------------------------------------------------------


def _work(
    args: argparse.Namespace,
    options: ViewOptions,
    sources: CaptureSources,
    shard: ShardFilter,
    pipe: Connection,
) -> None:
    """One worker: decode a shard and send its items in batches, then its summary (or an error)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    try:
        items, renderer = decode_shard(args, options, sources, shard)
        batch: list[Item] = []
        for item in items:
            batch.append(item)
            if len(batch) >= _BATCH:
                pipe.send(("items", batch))
                batch = []
        pipe.send(("items", batch))
        pipe.send(("done", ShardOutput(renderer.summary, renderer.cut)))
    except BaseException as exc:  # every failure: one line in the parent
        pipe.send(("error", error_line(exc, sources)))
    finally:
        pipe.close()


class WorkerFailed(Exception):
    """A shard stopped on an error: its one line and exit status (picklable, for Dask)."""

    def __init__(self, line: str, status: int) -> None:
        super().__init__(line, status)
        self.line = line
        self.status = status


class _Worker:
    """A worker process, its pipe, and a thread that drains the pipe into a bounded queue (so a
    worker ahead of the merge goes on decoding instead of waiting for the parent to read)."""

    def __init__(
        self,
        context: Any,
        args: argparse.Namespace,
        options: ViewOptions,
        sources: CaptureSources,
        shard: ShardFilter,
    ) -> None:
        receive, send = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_work, args=(args, options, sources, shard, send), daemon=True
        )
        self.process.start()
        send.close()
        self.pipe: Connection = receive
        self.queue: queue.Queue[tuple[str, Any]] = queue.Queue(_QUEUED)
        self.output: ShardOutput | None = None
        self.thread = threading.Thread(target=self._drain, daemon=True)

    def listen(self) -> None:
        """Start draining the pipe (once every worker is forked: no fork with threads about)."""
        self.thread.start()

    def _drain(self) -> None:
        while True:
            try:
                message = self.pipe.recv()
            except (EOFError, OSError):
                message = ("error", ("error: a decode worker ended without its records", 1))
            self.queue.put(message)
            if message[0] != "items":
                return

    def items(self) -> Iterator[Item]:
        """The worker's items as they come; its summary is kept in ``output`` at the end."""
        while True:
            kind, value = self.queue.get()
            if kind == "items":
                yield from value
            elif kind == "done":
                self.output = value
                return
            else:
                raise WorkerFailed(*value)

    def stop(self) -> None:
        """End the process (if still running) and wait for it."""
        if self.process.is_alive():
            self.process.terminate()
        self.process.join()
        self.pipe.close()


# -- the parent ----------------------------------------------------------------------------------


class Renumber:
    """Association numbers of several shards, renumbered in the order they first appear in the
    merged stream (a shard's numbers are taken in its own order, so none is skipped)."""

    def __init__(self, shards: int) -> None:
        self.maps: list[dict[int, int]] = [{} for _ in range(shards)]
        self.next_local = [0] * shards
        self.count = 0

    def number(self, shard: int, local: int) -> int:
        """The association number of the whole capture for shard ``shard``'s number ``local``."""
        mapping = self.maps[shard]
        found = mapping.get(local)
        if found is None:
            while self.next_local[shard] <= local:
                mapping[self.next_local[shard]] = self.count
                self.count += 1
                self.next_local[shard] += 1
            found = mapping[local]
        return found


def _tagged(shard: int, items: Iterator[Item]) -> Iterator[tuple[int, int, int | None, Any]]:
    """A worker's items with its shard, for the merge."""
    for frame, local, body in items:
        yield frame, shard, local, body


def _context() -> Any:
    """Fork where there is one (the workers start with decode's modules already imported)."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def run_jobs(
    args: argparse.Namespace,
    options: ViewOptions,
    sources: CaptureSources,
    output: Output,
) -> tuple[int, int]:
    """``decode --jobs N`` (N > 1) into ``output``: the output of ``--jobs 1``, equal as a set of
    records. Returns the exit status and the data sets whose JSON was cut; the caller closes
    the output."""
    outputs: list[ShardOutput] = []
    context = _context()
    workers: list[_Worker] = []
    try:
        workers = [
            _Worker(context, args, options, sources, ShardFilter(index, args.jobs))
            for index in range(args.jobs)
        ]
        for worker in workers:
            worker.listen()
        numbers = Renumber(len(workers))
        wanted = selection_from_arguments(args).associations
        shown = 0  # text messages the parent kept, when it chooses by number
        tagged = [_tagged(shard, worker.items()) for shard, worker in enumerate(workers)]
        for _frame, shard, local, body in heapq.merge(*tagged, key=itemgetter(0)):
            number = None if local is None else numbers.number(shard, local)
            if body is None or (wanted and number not in wanted):
                continue  # an association announced, or one not chosen by --association
            if wanted and isinstance(body, Line):
                shown += body.message
            output.write(local, number, body)
        outputs = [worker.output for worker in workers if worker.output is not None]
        if options.text:
            summary = Summary(filtered=not selection_from_arguments(args).everything)
            for part in outputs:
                summary.merge(part.summary)
            summary.shown += shown
            output.out.write(summary.text() + "\n")
        output.out.flush()
    except WorkerFailed as exc:
        print(exc.line, file=sys.stderr)
        return exc.status, 0
    except KeyboardInterrupt:  # Ctrl-C: what was merged so far, then the usual one line
        if sys.stderr.isatty():
            print(file=sys.stderr)
        output.out.flush()
        print("dimse-codec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED, 0
    finally:
        for worker in workers:
            worker.stop()
    return EXIT_OK, sum(part.cut for part in outputs)
