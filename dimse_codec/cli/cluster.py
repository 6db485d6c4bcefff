"""``dimse-codec decode --engine dask --scheduler ADDRESS``: the shards as tasks of a cluster.

The same shards as ``--jobs N`` (:mod:`dimse_codec.cli.jobs`), run on the workers of a
``dask.distributed`` cluster, each reading every capture from storage all the workers share and
writing its rows as Parquet there. Two rounds: each shard writes its rows with its own
association numbers and returns, per number, the frame where it first appeared; the client
orders those as ``--jobs N`` merges them (frame, then shard, then number) and each shard
rewrites its association column in the whole capture's numbers, as one file per shard and table:
``OUTPUT/messages/part-SSSSS.parquet`` and ``OUTPUT/associations/part-SSSSS.parquet``, one
Parquet dataset per table as ``--jobs 1 --format parquet`` writes them. Filters apply in the
shards as with ``--jobs N``; ``--association`` in round two, on the whole capture's numbers.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from dimse_codec.capture.rows import Row
from dimse_codec.capture.select import selection_from_arguments
from dimse_codec.capture.shard import ShardFilter
from dimse_codec.cli._types import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from dimse_codec.cli.formats import MissingExtra, ParquetWriter
from dimse_codec.cli.jobs import WorkerFailed, decode_shard, error_line
from dimse_codec.cli.view import ViewOptions
from dimse_codec.pcap import CaptureSources

__all__ = ["DASK_EXTRA", "TABLES", "decode_part", "number_part", "run_dask"]

DASK_EXTRA = "pip install 'dimse-codec[dask]'"
"""How to install what ``--engine dask`` needs."""
TABLES = ("messages", "associations")
"""The dataset folders under ``--output``, as ``--format parquet`` names them."""


def _staging(output: Path, index: int) -> Path:
    return output / f".shard-{index:05d}"


def decode_part(
    args: argparse.Namespace,
    sources: CaptureSources,
    options: ViewOptions,
    index: int,
    count: int,
    output: str,
) -> list[int]:
    """Round one, on a worker: decode shard ``index`` of ``count`` into a staging folder of
    ``output``; return, for each of its association numbers, the frame where it first appeared.

    A failure is raised as :class:`~dimse_codec.cli.jobs.WorkerFailed` with the line to show."""
    try:
        items, _renderer = decode_shard(args, options, sources, ShardFilter(index, count))
        writer = ParquetWriter(_staging(Path(output), index), args.datasets)
        first: list[int] = []
        try:
            for frame, local, body in items:
                while local is not None and len(first) <= local:
                    first.append(frame)  # numbers are taken in order: none is skipped
                if body is not None:  # None: where an association left out first appeared
                    table, values = body
                    writer.write(Row(table, values))
        finally:
            writer.close()
    except WorkerFailed:
        raise
    except Exception as exc:  # sent back as one line, not a worker's traceback
        raise WorkerFailed(*error_line(exc, sources)) from None
    return first


def number_part(
    output: str, index: int, numbers: list[int], associations: frozenset[int] = frozenset()
) -> int:
    """Round two, on a worker: shard ``index``'s rows with the whole capture's association
    numbers (``numbers[local]``), only those of ``associations`` when some are given, one file
    per table; the staging folder is removed. Returns the rows written."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    staging = _staging(Path(output), index)
    mapping = pa.array(numbers, pa.int64())
    written = 0
    for table in TABLES:
        rows = ds.dataset(staging / table, format="parquet").to_table()
        column = rows.schema.get_field_index("association")
        renumbered = pc.take(mapping, rows.column(column)) if len(mapping) else rows.column(column)
        rows = rows.set_column(column, rows.schema.field(column), renumbered)
        if associations:
            chosen = pa.array(sorted(associations), pa.int64())
            rows = rows.filter(pc.is_in(rows.column(column), value_set=chosen))
        folder = Path(output) / table
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(rows, folder / f"part-{index:05d}.parquet")
        written += rows.num_rows
    shutil.rmtree(staging)
    return written


def _numbering(firsts: list[list[int]]) -> list[list[int]]:
    """Each shard's association numbers in the whole capture: ordered by the frame where they
    first appeared, then shard, then the shard's own number (the merge order of ``--jobs``)."""
    order = sorted(
        (frame, shard, local)
        for shard, frames in enumerate(firsts)
        for local, frame in enumerate(frames)
    )
    numbers = [[0] * len(frames) for frames in firsts]
    for number, (_frame, shard, local) in enumerate(order):
        numbers[shard][local] = number
    return numbers


def _client(address: str) -> Any:
    """A ``dask.distributed`` client of the scheduler, or :class:`MissingExtra`."""
    try:
        from distributed import Client
    except ImportError:
        raise MissingExtra(f"--engine dask needs dask.distributed: {DASK_EXTRA}") from None
    connect: Any = Client  # untyped
    return connect(address)


def run_dask(args: argparse.Namespace, options: ViewOptions, sources: CaptureSources) -> int:
    """Decode the shards on the cluster at ``--scheduler`` into the Parquet dataset at
    ``--output``: 0 when written, 1 when a shard failed, 2 on a usage error."""
    if options.chosen != "parquet" or args.scheduler is None:
        print(
            "error: --engine dask writes a Parquet dataset: give --format parquet --output DIR "
            "--scheduler ADDRESS",
            file=sys.stderr,
        )
        return EXIT_USAGE
    output = Path(args.output)
    try:
        ParquetWriter(output, args.datasets)  # pyarrow is there, or the extra is named
        client = _client(args.scheduler)
    except MissingExtra as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the scheduler cannot be reached
        print(f"error: cannot reach the scheduler {args.scheduler}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        count = args.jobs if args.jobs > 1 else max(1, sum(client.nthreads().values()))
        for table in TABLES:  # what an earlier run left would join the dataset
            shutil.rmtree(output / table, ignore_errors=True)
        output.mkdir(parents=True, exist_ok=True)
        decoded = client.map(
            decode_part,
            [args] * count,
            [sources] * count,
            [options] * count,
            range(count),
            [count] * count,
            [str(output)] * count,
            pure=False,
        )
        numbers = _numbering(client.gather(decoded))
        wanted = [selection_from_arguments(args).associations] * count
        written = client.map(
            number_part, [str(output)] * count, range(count), numbers, wanted, pure=False
        )
        rows = sum(client.gather(written))
    except WorkerFailed as exc:
        print(exc.line, file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("dimse-codec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        client.close()
    print(f"decode: {rows} row(s) from {count} shard(s) in {output}", file=sys.stderr)
    return EXIT_OK
