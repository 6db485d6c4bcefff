"""The pure parts of benchmarks/coverage/run.py: reading gcovr's summary, cutting ProFuzzBench's
seed inputs into PDUs, reading a CMake link line and building the table. The benchmark itself
(DCMTK built under gcov, servers driven for minutes) runs by hand, not here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from dimse_codec.pdu import decode_pdu

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "coverage"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("coverage_benchmark", BENCHMARK / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


cov = _load()

# What gcovr 4.2 (ProFuzzBench's version) printed on stdout for the dictionary-less seed replay
# (its warnings go to stderr).
GCOVR_42 = "lines: 9.6% (4697 out of 48989)\nbranches: 2.8% (2543 out of 89895)\n"


def test_summary_gives_lines_and_branches() -> None:
    summary = cov.parse_gcovr_summary(GCOVR_42)
    assert summary == cov.CoverageSummary(4697, 48989, 2543, 89895)


def test_summary_reads_later_gcovr_rows_and_skips_the_others() -> None:
    text = (
        "lines: 17.7% (9601 out of 54184)\n"
        "functions: 20.1% (1500 out of 7460)\n"
        "branches: 5.7% (5227 out of 91620)\n"
        "conditions: n/a\n"
    )
    summary = cov.parse_gcovr_summary(text)
    assert (summary.lines_covered, summary.branches_covered) == (9601, 5227)
    assert (summary.lines_total, summary.branches_total) == (54184, 91620)


def test_summary_without_branches_is_an_error() -> None:
    with pytest.raises(ValueError, match="branches"):
        cov.parse_gcovr_summary("lines: 9.6% (4697 out of 48989)\n")


@pytest.mark.parametrize(
    ("seed", "pdus"),
    [("dicom_echo.bin", 3), ("dicom_find.bin", 4), ("dicom_get.bin", 5), ("dicom_store.bin", 4)],
)
def test_seeds_split_into_whole_pdus(seed: str, pdus: int) -> None:
    data = (BENCHMARK / "seeds" / seed).read_bytes()
    pieces = cov.split_pdus(data)
    assert b"".join(pieces) == data
    assert len(pieces) == pdus
    assert pieces[0][0] == 0x01 and pieces[-1][0] == 0x05  # A-ASSOCIATE-RQ ... A-RELEASE-RQ
    for piece in pieces:
        decode_pdu(piece)  # each piece is one whole PDU the library decodes


def test_a_truncated_tail_is_kept() -> None:
    release = bytes([0x05, 0, 0, 0, 0, 4, 0, 0, 0, 0])
    assert cov.split_pdus(release + b"\x04\x00\x00") == [release, b"\x04\x00\x00"]
    assert cov.split_pdus(release[:8]) == [release[:8]]


def test_link_line_names_the_static_libraries_once_in_order() -> None:
    line = (
        "/usr/bin/c++ --coverage -O0 -g --coverage /cache/build/gcov_flush.o "
        "CMakeFiles/dcmqrscp.dir/dcmqrscp.cc.o -o ../../bin/dcmqrscp "
        "../libsrc/libdcmqrdb.a ../../dcmnet/libsrc/libdcmnet.a ../../lib/libdcmdata.a "
        "../../lib/liboflog.a ../../lib/libofstd.a ../../lib/libdcmdata.a -lz -lpthread"
    )
    assert cov.linked_libraries(line) == ["dcmqrdb", "dcmnet", "dcmdata", "oflog", "ofstd"]


def test_table_has_a_row_per_fuzzing_time_point_with_its_rate() -> None:
    runs = [
        cov.Run("seeds", "the seeds", "dcmqrscp", True, "seeds",
                [cov.Point(0.0, 5117, 89895, 8921, 49207)]),
        cov.Run("fuzz", "`dimse-codec fuzz`", "dcmqrscp", True, "fuzz",
                [cov.Point(60.0, 5611, 89895, 9229, 49228, 96),
                 cov.Point(600.2, 6000, 89895, 9900, 49300, 1200)]),
        cov.Run("seeds-nodict", "no dictionary", "dcmqrscp", False, "seeds",
                [cov.Point(0.0, 2543, 89895, 4697, 48989)]),
    ]  # fmt: skip
    table = cov.render_table(runs)
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert rows == [
        "| the seeds | dcmqrscp | yes | 5,117 | 8,921 |  |",
        "| `dimse-codec fuzz`, 1 min | dcmqrscp | yes | 5,611 | 9,229 | 1.6 |",
        "| `dimse-codec fuzz`, 10 min | dcmqrscp | yes | 6,000 | 9,900 | 2.0 |",
        "| no dictionary | dcmqrscp | no | 2,543 | 4,697 |  |",
    ]
    assert "dcmqrscp 89,895 branches" in table


def test_results_file_round_trips(tmp_path: Path) -> None:
    import json
    from dataclasses import asdict

    run = cov.Run("fuzz", "fuzz", "storescp", True, "fuzz", [cov.Point(60.0, 1, 2, 3, 4, 5)])
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"environment": {"commit": "abc"}, "runs": [asdict(run)]}))
    environment, runs = cov.load_runs(path)
    assert environment == {"commit": "abc"}
    assert runs == [run]
