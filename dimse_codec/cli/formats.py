"""Writing message and association rows to files: CSV, Parquet, and Zeek-style logs.

Each writer takes :class:`~dimse_codec.capture.rows.Row` objects one at a time and writes two
tables into a directory, messages and associations, with the columns of
:mod:`dimse_codec.capture.rows` in order; nothing is held beyond one Parquet row group per
table. CSV uses the standard library; Parquet needs pyarrow (``pip install
'dimse-codec[parquet]'``); the Zeek log follows the ASCII format of Zeek's logging framework
(``#separator``, ``#fields`` and ``#types`` headers, ``-`` for unset fields) that Zeek's own
tools and Zeek-reading pipelines parse.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TextIO

from dimse_codec.capture.rows import (
    ASSOCIATION_COLUMNS,
    DATASET_COLUMN,
    MESSAGE_COLUMNS,
    Column,
    Row,
    RowValue,
)

__all__ = [
    "PARQUET_EXTRA",
    "ROW_FORMATS",
    "CsvWriter",
    "MissingExtra",
    "ParquetWriter",
    "RowWriter",
    "ZeekWriter",
    "open_writer",
    "table_columns",
]

ROW_FORMATS = ("csv", "parquet", "zeek")
"""The formats that write two tables of rows into a directory."""
PARQUET_EXTRA = "pip install 'dimse-codec[parquet]'"
"""How to install what ``--format parquet`` needs."""


class MissingExtra(RuntimeError):
    """An optional dependency an output format needs is not installed (the message says how)."""


class RowWriter(Protocol):
    """Writes rows as they come, into files it names; ``close`` finishes them."""

    paths: list[Path]

    def write(self, row: Row) -> None:
        """Write one row to its table."""

    def close(self) -> None:
        """Finish every file (footers, buffered row groups)."""


def table_columns(table: str, datasets: bool = False) -> tuple[Column, ...]:
    """The columns of ``table`` (``message`` or ``association``), ``dataset_json`` last when
    ``datasets``."""
    if table == "association":
        return ASSOCIATION_COLUMNS
    return (*MESSAGE_COLUMNS, DATASET_COLUMN) if datasets else MESSAGE_COLUMNS


def _csv_cell(value: RowValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


class CsvWriter:
    """``messages.csv`` and ``associations.csv``: a header row, an empty cell for no value."""

    def __init__(self, directory: Path, datasets: bool = False) -> None:
        self.paths = [directory / "messages.csv", directory / "associations.csv"]
        self._handles: dict[str, TextIO] = {}
        self._writers: dict[str, Any] = {}
        self._columns: dict[str, tuple[Column, ...]] = {}
        for table, path in zip(("message", "association"), self.paths, strict=True):
            handle = path.open("w", encoding="utf-8", newline="")
            self._handles[table] = handle
            self._writers[table] = csv.writer(handle)
            self._columns[table] = table_columns(table, datasets)
            self._writers[table].writerow([column.name for column in self._columns[table]])

    def write(self, row: Row) -> None:
        """Write one row to its file."""
        values = row.values
        self._writers[row.table].writerow(
            [_csv_cell(values.get(column.name)) for column in self._columns[row.table]]
        )

    def close(self) -> None:
        """Close both files."""
        for handle in self._handles.values():
            handle.close()


# -- Zeek ------------------------------------------------------------------------------------

_ZEEK_ID = {
    "requestor_address": "id.orig_h",
    "requestor_port": "id.orig_p",
    "acceptor_address": "id.resp_h",
    "acceptor_port": "id.resp_p",
}
"""Row columns renamed to Zeek's connection-id fields (the requestor opened the connection)."""
_ZEEK_TIMES = frozenset({"time", "first_time", "end_time"})
_ZEEK_FLOAT_TYPES = {"throughput": "double"}
"""Float columns that are not intervals (durations are Zeek ``interval``s)."""


def _zeek_field(column: Column) -> tuple[str, str]:
    """The Zeek field name and type of a column."""
    if column.name == "time":
        return "ts", "time"
    if column.name == "association_uid":
        return "uid", "string"
    if column.name in _ZEEK_ID:
        return _ZEEK_ID[column.name], "port" if column.name.endswith("_port") else "addr"
    if column.type == "float":
        kind = "time" if column.name in _ZEEK_TIMES else _ZEEK_FLOAT_TYPES.get(column.name)
        return column.name, kind or "interval"
    if column.type == "bool":
        return column.name, "bool"
    return column.name, "count" if column.type == "int" else "string"


def zeek_fields(columns: Sequence[Column]) -> list[tuple[str, str, Column]]:
    """Zeek's field order: ``ts``, ``uid``, the four ``id.*`` fields, then the rest in order."""
    first = ["time", "association_uid", *_ZEEK_ID]
    by_name = {column.name: column for column in columns}
    ordered = [by_name[name] for name in first] + [c for c in columns if c.name not in first]
    return [(*_zeek_field(column), column) for column in ordered]


def _zeek_text(value: str) -> str:
    """A string as Zeek's ASCII writer escapes it: separators and non-printables as ``\\xHH``."""
    if value == "-":
        return "\\x2d"
    out = []
    for char in value:
        if char in "\t\\" or not char.isprintable():
            out.append("".join(f"\\x{byte:02x}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)


def _zeek_cell(value: RowValue) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, float):
        return f"{value:.6f}" if math.isfinite(value) else "-"
    if isinstance(value, int):
        return str(value)
    return _zeek_text(value) if value else "(empty)"


def _zeek_stamp(seconds: float | None) -> str:
    moment = datetime.fromtimestamp(seconds or 0.0, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d-%H-%M-%S")


class ZeekWriter:
    """``dicom.log`` (one line per message) and ``dicom_association.log``, Zeek ASCII logs.

    ``#open`` and ``#close`` are capture times (Zeek, reading a capture, stamps its logs with
    network time too), so one capture always gives the same files.
    """

    def __init__(self, directory: Path, datasets: bool = False) -> None:
        self.paths = [directory / "dicom.log", directory / "dicom_association.log"]
        self._fields: dict[str, list[tuple[str, str, Column]]] = {}
        self._handles: dict[str, TextIO] = {}
        self._opened: dict[str, bool] = {}
        self._last: float | None = None
        for table, path in zip(("message", "association"), self.paths, strict=True):
            self._fields[table] = zeek_fields(table_columns(table, datasets))
            self._handles[table] = path.open("w", encoding="utf-8", newline="\n")
            self._opened[table] = False

    def _header(self, table: str, first: float | None) -> None:
        fields = self._fields[table]
        name = "dicom" if table == "message" else "dicom_association"
        lines = [
            "#separator \\x09",
            "#set_separator\t,",
            "#empty_field\t(empty)",
            "#unset_field\t-",
            f"#path\t{name}",
            f"#open\t{_zeek_stamp(first)}",
            "\t".join(["#fields", *(f for f, _, _ in fields)]),
            "\t".join(["#types", *(t for _, t, _ in fields)]),
        ]
        self._handles[table].write("\n".join(lines) + "\n")
        self._opened[table] = True

    def write(self, row: Row) -> None:
        """Write one row as one log line (the header first, stamped with the row's time)."""
        time = row.values.get("time")
        seconds = time if isinstance(time, float) else None
        if not self._opened[row.table]:
            self._header(row.table, seconds)
        if seconds is not None:
            self._last = max(seconds, self._last or seconds)
        cells = [_zeek_cell(row.values.get(c.name)) for _, _, c in self._fields[row.table]]
        self._handles[row.table].write("\t".join(cells) + "\n")

    def close(self) -> None:
        """Write the ``#close`` lines (a log with no row still gets its header)."""
        for table, handle in self._handles.items():
            if not self._opened[table]:
                self._header(table, self._last)
            handle.write(f"#close\t{_zeek_stamp(self._last)}\n")
            handle.close()


# -- Parquet -----------------------------------------------------------------------------------

ROW_GROUP = 8192
"""Rows buffered per table before they are written as one Parquet row group."""
ROWS_PER_PART = 1 << 20
"""Rows per Parquet file; a table with more is split into ``part-00001.parquet`` and on."""


def _pyarrow() -> Any:
    """pyarrow and pyarrow.parquet, or :class:`MissingExtra` naming the extra to install."""
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise MissingExtra(f"--format parquet needs pyarrow: {PARQUET_EXTRA}") from None
    return pyarrow


class ParquetWriter:
    """``messages/part-NNNNN.parquet`` and ``associations/part-NNNNN.parquet``: two datasets,
    written one row group at a time, a new part every :data:`ROWS_PER_PART` rows."""

    def __init__(
        self,
        directory: Path,
        datasets: bool = False,
        *,
        row_group: int = ROW_GROUP,
        rows_per_part: int = ROWS_PER_PART,
    ) -> None:
        pa = _pyarrow()
        self._pa = pa
        self._pq = pa.parquet
        self.directory = directory
        self.row_group = row_group
        self.rows_per_part = rows_per_part
        self.paths: list[Path] = []
        types = {
            "string": pa.string(),
            "int": pa.int64(),
            "float": pa.float64(),
            "bool": pa.bool_(),
        }
        self._schemas: dict[str, Any] = {}
        self._columns: dict[str, tuple[Column, ...]] = {}
        self._buffers: dict[str, list[dict[str, RowValue]]] = {}
        self._files: dict[str, Any] = {}
        self._in_part: dict[str, int] = {}
        self._parts: dict[str, int] = {}
        for table in ("message", "association"):
            columns = table_columns(table, datasets)
            self._columns[table] = columns
            self._schemas[table] = pa.schema([(c.name, types[c.type]) for c in columns])
            self._buffers[table] = []
            self._in_part[table] = 0
            self._parts[table] = 0

    def _folder(self, table: str) -> Path:
        return self.directory / ("messages" if table == "message" else "associations")

    def write(self, row: Row) -> None:
        """Buffer one row; a full buffer becomes a row group."""
        buffer = self._buffers[row.table]
        buffer.append(row.values)
        if len(buffer) >= self.row_group:
            self._flush(row.table)

    def _flush(self, table: str) -> None:
        buffer = self._buffers[table]
        while buffer:
            writer = self._files.get(table)
            if writer is None or self._in_part[table] >= self.rows_per_part:
                if writer is not None:
                    writer.close()
                folder = self._folder(table)
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"part-{self._parts[table]:05d}.parquet"
                self._parts[table] += 1
                self.paths.append(path)
                writer = self._pq.ParquetWriter(str(path), self._schemas[table])
                self._files[table] = writer
                self._in_part[table] = 0
            room = self.rows_per_part - self._in_part[table]
            chunk, buffer[:] = buffer[:room], buffer[room:]
            columns = self._columns[table]
            batch = self._pa.Table.from_pylist(chunk, schema=self._schemas[table])
            writer.write_table(batch.select([c.name for c in columns]))
            self._in_part[table] += len(chunk)

    def close(self) -> None:
        """Write what is buffered and close every part (an empty table still gets a file)."""
        for table in ("message", "association"):
            self._flush(table)
            writer = self._files.pop(table, None)
            if writer is None:
                folder = self._folder(table)
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / "part-00000.parquet"
                self.paths.append(path)
                writer = self._pq.ParquetWriter(str(path), self._schemas[table])
            writer.close()


def open_writer(kind: str, directory: Path, datasets: bool = False) -> RowWriter:
    """A writer of ``kind`` (one of :data:`ROW_FORMATS`) into ``directory`` (created)."""
    if kind == "parquet":
        parquet = ParquetWriter(directory, datasets)  # fails first if pyarrow is missing
        directory.mkdir(parents=True, exist_ok=True)
        return parquet
    directory.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        return CsvWriter(directory, datasets)
    return ZeekWriter(directory, datasets)
