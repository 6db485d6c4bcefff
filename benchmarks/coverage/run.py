"""Coverage of DCMTK's SCPs under gcov, counted the way ProFuzzBench counts its DICOM subject.

Two steps, run by hand (too long for CI; see docs/fuzzing.md, "Coverage of DCMTK's SCPs"):

    build    fetch Debian's DCMTK source package (``apt-get source dcmtk``, needs a deb-src entry)
             into the cache folder and build dcmqrscp, storescp, wlmscpfs and dcmprscp with
             ``--coverage -O0 -g``, static, with ``gcov_flush.c`` linked into each executable
             so SIGTERM, SIGUSR1 and fatal signals write the counters (forked children included);
    measure  start one instrumented server per run, drive it (ProFuzzBench's seed inputs, DCMTK's
             own clients, or ``dimse-codec fuzz`` for some minutes), snapshot the counters at the
             given minutes and count covered branches and lines with ``gcovr -r SRC -s``;
    table    render a results file as the Markdown table of the docs.

Every run starts from zeroed counters, so each row is what that input alone reaches; the
"together" rows merge the runs' gcovr tracefiles.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SEEDS = HERE / "seeds"
DEFAULT_CACHE = Path(
    os.environ.get("DIMSE_CODEC_COVERAGE_CACHE", Path.home() / ".cache/dimse-codec/coverage")
)
SERVERS = ("dcmqrscp", "storescp", "wlmscpfs", "dcmprscp")
LOOPBACK = "127.0.0.1"
CALLED_AE = "ANY-SCP"  # ProFuzzBench's dcmqrscp.cfg names this AE; the seeds call it
PRINT_AE = "IHEFULL"  # the first print SCP of DCMTK's sample dcmpstat.cfg
MOVE_AE = "MOVESCU"
PDU_HEADER = 6
SIGNAL_SETTLE = 1.0  # seconds for every process of a server to write its counters
STOP_WAIT = 20.0
_BESIDE = Path(sys.executable).with_name("gcovr")
# ProFuzzBench pins gcovr 4.2 (the coverage extra does too); the venv's, even when not activated
GCOVR = [str(_BESIDE) if _BESIDE.is_file() else "gcovr"]

# The DCMTK_WITH_* switches turned off: image codecs and file formats the SCPs do not need on the
# network, TLS, and the documentation.  zlib stays (deflated transfer syntax is network
# behaviour); iconv stays (character sets in queries).
CMAKE_OFF = ("TIFF", "PNG", "XML", "OPENSSL", "SNDFILE", "ICU", "WRAP", "OPENJPEG", "DOXYGEN")

# ProFuzzBench's dcmqrscp.cfg (subjects/DICOM/Dcmtk): port 5158 there, one RW storage AE named
# ANY-SCP open to any peer.  One addition: a HostTable entry for the move destination, so that
# DCMTK's movescu can do its normal work; the fuzz runs never name it.
DCMQRSCP_CFG = """\
NetworkTCPPort = {port}
MaxPDUSize = 16384
MaxAssociations = 16

HostTable BEGIN
mover = ({move_ae}, localhost, {move_port})
HostTable END

VendorTable BEGIN
VendorTable END

AETable BEGIN
{called_ae} {storage} RW (9, 1024mb) ANY
AETable END
"""

# ``dimse-codec fuzz -v`` prints one line per example: number, outcome, case kind, reason
EXAMPLE_LINE = re.compile(r"^\s+\d+ [a-z][a-z-]*\s+[\w-]+: ")
SUMMARY_LINE = re.compile(r"^(\w+):\s+(?:([\d.]+)%\s+\((\d+) out of (\d+)\)|n/a)", re.MULTILINE)


@dataclass(frozen=True)
class CoverageSummary:
    """Covered and total lines and branches, as ``gcovr -s`` prints them."""

    lines_covered: int
    lines_total: int
    branches_covered: int
    branches_total: int


def parse_gcovr_summary(text: str) -> CoverageSummary:
    """Read the ``lines:`` and ``branches:`` rows of ``gcovr -s`` output (ProFuzzBench's l_abs and
    b_abs); other rows (functions, conditions, decisions, calls) and log lines are ignored."""
    rows: dict[str, tuple[int, int]] = {}
    for match in SUMMARY_LINE.finditer(text):
        name, _, covered, total = match.groups()
        rows[name] = (int(covered), int(total)) if covered is not None else (0, 0)
    missing = {"lines", "branches"} - rows.keys()
    if missing:
        raise ValueError(f"gcovr summary without {', '.join(sorted(missing))}: {text[-400:]!r}")
    return CoverageSummary(*rows["lines"], *rows["branches"])


def split_pdus(stream: bytes) -> list[bytes]:
    """Cut a recorded requestor byte stream into its PDUs by their six-byte headers (type,
    reserved, 32-bit big-endian length), as AFLNet's DICOM replayer does; a truncated tail is
    kept as the last piece so nothing of the seed is dropped."""
    pieces: list[bytes] = []
    offset = 0
    while offset < len(stream):
        if len(stream) - offset < PDU_HEADER:
            pieces.append(stream[offset:])
            break
        length = int.from_bytes(stream[offset + 2 : offset + PDU_HEADER], "big")
        end = min(len(stream), offset + PDU_HEADER + length)
        pieces.append(stream[offset:end])
        offset = end
    return pieces


def linked_libraries(link_command: str) -> list[str]:
    """The static DCMTK libraries named on a CMake ``link.txt`` line (``../../lib/libdcmnet.a``
    gives ``dcmnet``), in link order, without duplicates."""
    names: list[str] = []
    for token in link_command.split():
        match = re.search(r"(?:^|/)lib([\w+-]+)\.a$", token)
        if match and match.group(1) not in names:
            names.append(match.group(1))
    return names


@dataclass
class Point:
    """Coverage at one moment of a run."""

    seconds: float
    branches_covered: int
    branches_total: int
    lines_covered: int
    lines_total: int
    examples: int | None = None

    @property
    def examples_per_second(self) -> float | None:
        """Generated examples per second of fuzzing so far (None for runs that do not fuzz)."""
        if self.examples is None or self.seconds <= 0:
            return None
        return self.examples / self.seconds


@dataclass
class Run:
    """One measured row: an input against one server, with its coverage over time."""

    name: str
    label: str
    server: str
    dictionary: bool
    workload: str
    points: list[Point] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _count(value: int) -> str:
    return f"{value:,}"


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:.0f}" if abs(minutes - round(minutes)) < 0.05 else f"{minutes:.1f}"


def table_rows(runs: Sequence[Run]) -> Iterator[list[str]]:
    """One row per run, and per time point of a fuzzing run."""
    for run in runs:
        if run.workload == "fuzz" and run.points:
            for point in run.points:
                rate = point.examples_per_second
                yield [
                    f"{run.label}, {_minutes(point.seconds)} min",
                    run.server,
                    "yes" if run.dictionary else "no",
                    _count(point.branches_covered),
                    _count(point.lines_covered),
                    f"{rate:.1f}" if rate is not None else "",
                ]
        elif run.points:
            last = run.points[-1]
            yield [
                run.label,
                run.server,
                "yes" if run.dictionary else "no",
                _count(last.branches_covered),
                _count(last.lines_covered),
                "",
            ]


def render_table(runs: Sequence[Run]) -> str:
    """The Markdown table of a measurement: input, server, dictionary, covered branches and lines,
    and examples per second for fuzzing rows; the totals per server follow as a note."""
    header = ["input", "server", "dictionary", "branches", "lines", "examples/s"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(runs)]
    totals: dict[str, tuple[int, int]] = {}
    for run in runs:
        if run.points and run.server not in totals:
            last = run.points[-1]
            totals[run.server] = (last.branches_total, last.lines_total)
    if totals:
        described = "; ".join(
            f"{server} {_count(branches)} branches, {_count(lines_)} lines"
            for server, (branches, lines_) in totals.items()
        )
        lines += ["", f"Totals counted (the sources each server links): {described}."]
    return "\n".join(lines) + "\n"


def load_runs(path: Path) -> tuple[dict[str, object], list[Run]]:
    """A results file: its environment record and its runs."""
    data = json.loads(path.read_text())
    runs = [
        Run(
            name=r["name"],
            label=r["label"],
            server=r["server"],
            dictionary=r["dictionary"],
            workload=r["workload"],
            points=[Point(**p) for p in r["points"]],
            notes=list(r.get("notes", [])),
        )
        for r in data["runs"]
    ]
    return dict(data.get("environment", {})), runs


# --- the build ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    """Where the DCMTK source, its coverage build and the measurements live."""

    cache: Path

    @property
    def source(self) -> Path:
        """The unpacked Debian source package (patches applied by ``apt-get source``)."""
        found = sorted(p for p in self.cache.glob("dcmtk-*") if (p / "CMakeLists.txt").is_file())
        if not found:
            raise SystemExit(f"no DCMTK source under {self.cache}: run the build step first")
        return found[-1]

    @property
    def build(self) -> Path:
        """The cmake build folder (holds the .gcno and .gcda files)."""
        return self.cache / "build"

    def binary(self, name: str) -> Path:
        """An instrumented server."""
        path = self.build / "bin" / name
        if not path.is_file():
            raise SystemExit(f"{path} is missing: run the build step first")
        return path


def _run(command: Sequence[str | Path], **kwargs: object) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], check=True, **kwargs)  # type: ignore[call-overload]


def build(tree: Tree, jobs: int) -> None:
    """Fetch Debian's DCMTK source package and build the four SCPs under gcov."""
    tree.cache.mkdir(parents=True, exist_ok=True)
    if not any(tree.cache.glob("dcmtk-*/CMakeLists.txt")):
        try:
            _run(["apt-get", "source", "dcmtk"], cwd=tree.cache)
        except (subprocess.CalledProcessError, FileNotFoundError) as exc:
            raise SystemExit(
                f"apt-get source dcmtk failed ({exc}); add a deb-src entry for the Debian "
                "archive (docs/fuzzing.md shows one) and run apt-get update"
            ) from None
    tree.build.mkdir(exist_ok=True)
    flush_object = tree.build / "gcov_flush.o"
    _run(["gcc", "-O0", "-g", "-c", HERE / "gcov_flush.c", "-o", flush_object])
    flags = "--coverage -O0 -g"
    _run(
        [
            "cmake",
            "-G",
            "Unix Makefiles",
            tree.source,
            f"-DCMAKE_INSTALL_PREFIX={tree.cache / 'install'}",
            "-DCMAKE_INSTALL_DATADIC=share/dcmtk",  # Debian's 03_datadic_install patch needs it
            "-DCMAKE_BUILD_TYPE=None",
            f"-DCMAKE_C_FLAGS={flags}",
            f"-DCMAKE_CXX_FLAGS={flags}",
            f"-DCMAKE_EXE_LINKER_FLAGS=--coverage {flush_object}",
            "-DBUILD_SHARED_LIBS=OFF",
            *(f"-DDCMTK_WITH_{name}=OFF" for name in CMAKE_OFF),
        ],
        cwd=tree.build,
    )
    _run(["nice", "-n", "10", "make", f"-j{jobs}", *SERVERS], cwd=tree.build)


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    """Whether some socket listens on ``port``, read from /proc/net/tcp: probing with a
    connection would itself be an association attempt, counted as coverage."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                return True
    return False


@dataclass
class Server:
    """One instrumented SCP, started in its own process group (children included)."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    port: int
    called_ae: str
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        """Start it and wait (bounded) until it listens."""
        log = (self.cwd / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1
        for _ in range(200):
            if listening(self.port):
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on {self.port}; see {self.cwd}")

    def alive(self) -> bool:
        """Whether the listening process still runs."""
        return self.process is not None and self.process.poll() is None

    def signal_group(self, signo: int) -> bool:
        """Send ``signo`` to the server and its forked children; False when none is left."""
        if self.process is None:
            return False
        try:
            os.killpg(self.process.pid, signo)
        except ProcessLookupError:
            return False
        return True

    def snapshot(self) -> None:
        """Have every process of the server write its counters so far (gcov_flush.c: SIGUSR1)."""
        if self.signal_group(signal.SIGUSR1):
            time.sleep(SIGNAL_SETTLE)

    def stop(self) -> None:
        """SIGTERM to the group (each process writes its counters and ends), then wait until the
        group is gone; SIGKILL only after STOP_WAIT seconds."""
        if self.process is None:
            return
        self.signal_group(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        while time.monotonic() < deadline:
            self.process.poll()
            if not self.signal_group(0):
                break
            time.sleep(0.1)
        else:
            self.signal_group(signal.SIGKILL)
            self.process.wait()


def _write_worklist(tree: Tree, folder: Path) -> None:
    """DCMTK's sample worklist (dcmwlm/data/wlistdb/OFFIS), converted with dump2dcm."""
    folder.mkdir(parents=True)
    (folder / "lockfile").touch()
    for dump in sorted((tree.source / "dcmwlm/data/wlistdb/OFFIS").glob("*.dump")):
        _quiet(["dump2dcm", "-q", dump, folder / (dump.stem + ".wl")])


def _print_config(tree: Tree, work: Path, port: int) -> Path:
    """DCMTK's sample dcmpstat.cfg from the source tree, as :func:`print_config` writes it."""
    return print_config(tree.source / "dcmpstat/etc/dcmpstat.cfg", work, port)


def print_config(sample: Path, work: Path, port: int) -> Path:
    """DCMTK's sample dcmpstat.cfg with its folders in ``work`` and IHEFULL on ``port``
    (``tests/test_fuzz_normalized.py`` runs the installed dcmprscp with the installed sample)."""
    text = sample.read_text(errors="replace")
    out: list[str] = []
    section = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped
        key = stripped.split("=", 1)[0].strip().lower() if "=" in stripped else ""
        if section == f"[{PRINT_AE}]" and key == "port":
            line = f"Port = {port}"
        elif key in ("directory", "logdirectory"):
            name = section.strip("[]").lower() or "dir"
            line = f"{stripped.split('=', 1)[0].strip()} = {work / name}"
            (work / name).mkdir(exist_ok=True)
        out.append(line)
    path = work / "dcmpstat.cfg"
    path.write_text("\n".join(out) + "\n")
    return path


def make_server(tree: Tree, name: str, work: Path, dictionary: bool, move_port: int) -> Server:
    """The server ``name`` configured in ``work``; without ``dictionary``, DCMDICTPATH names a
    file that does not exist, so the server runs with an empty data dictionary (the state of
    ProFuzzBench's published runs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GCOV_", "DCMDICT"))}
    env["DCMDICTPATH"] = str(
        tree.source / "dcmdata/data/dicom.dic" if dictionary else work / "no-dictionary.dic"
    )
    port = free_port()
    binary = str(tree.binary(name))
    if name == "dcmqrscp":
        storage = work / "ACME_STORE"
        storage.mkdir()
        config = work / "dcmqrscp.cfg"
        config.write_text(
            DCMQRSCP_CFG.format(
                port=port,
                move_ae=MOVE_AE,
                move_port=move_port,
                called_ae=CALLED_AE,
                storage=storage,
            )
        )
        command = [binary, "--config", str(config)]
        called = CALLED_AE
    elif name == "storescp":
        (work / "received").mkdir()
        command = [binary, "--output-directory", str(work / "received"), str(port)]
        called = CALLED_AE
    elif name == "wlmscpfs":
        _write_worklist(tree, work / "worklist" / CALLED_AE)
        command = [binary, "--data-files-path", str(work / "worklist"), str(port)]
        called = CALLED_AE
    elif name == "dcmprscp":
        config = _print_config(tree, work, port)
        command = [binary, "--config", str(config), "--printer", PRINT_AE]
        called = PRINT_AE
    else:
        raise ValueError(name)
    return Server(name, command, env, work, port, called)


# --- workloads ---------------------------------------------------------------------------------


def _drain(sock: socket.socket, wait: float) -> bool:
    """Read the server's answers until it is quiet for a moment; False once it closed."""
    sock.settimeout(wait)
    while True:
        try:
            data = sock.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            return False
        if not data:
            return False
        sock.settimeout(0.1)


def replay_seeds(server: Server, seeds: Iterable[Path]) -> list[str]:
    """Each seed once over a fresh connection, PDU by PDU, reading the answers in between."""
    notes = []
    for seed in seeds:
        pieces = split_pdus(seed.read_bytes())
        sent = 0
        with socket.create_connection((LOOPBACK, server.port), timeout=5) as sock:
            for piece in pieces:
                try:
                    sock.sendall(piece)
                except OSError:
                    break
                sent += 1
                if not _drain(sock, 1.0):
                    break
        time.sleep(0.5)  # the per-association child finishes and writes its counters
        notes.append(f"{seed.name}: {sent} of {len(pieces)} PDUs sent before the server closed")
    return notes


def _quiet(command: Sequence[str | Path], timeout: float = 60) -> int:
    done = subprocess.run(
        [str(c) for c in command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )
    return done.returncode


@dataclass(frozen=True)
class Instance:
    """A DICOM file the clients store, and the keys they query it by."""

    path: Path
    patient_id: str
    study_uid: str
    series_uid: str
    sop_uid: str


def sample_instances() -> list[Instance]:
    """pydicom's small test files of several modalities (pydicom comes with the test extra),
    read from its package folder: ``get_testdata_file`` would try to download missing ones."""
    import pydicom
    import pydicom.data

    folder = Path(str(pydicom.data.__file__)).parent / "test_files"
    instances = []
    for name in ("CT_small.dcm", "MR_small.dcm", "rtplan.dcm", "rtdose.dcm"):
        path = folder / name
        if not path.is_file():
            continue
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        instances.append(
            Instance(
                path,
                str(ds.get("PatientID", "")),
                str(ds.StudyInstanceUID),
                str(ds.SeriesInstanceUID),
                str(ds.SOPInstanceUID),
            )
        )
    return instances


def dcmtk_clients(server: Server, work: Path, move_port: int) -> list[str]:
    """Normal work with DCMTK's own (system, uninstrumented) clients; one note per command."""
    host = [LOOPBACK, str(server.port)]
    ae = ["-aec", server.called_ae]
    instances = sample_instances()
    files = [str(i.path) for i in instances]
    commands: list[list[str]] = [["echoscu", *ae, *host]]
    if server.name in ("dcmqrscp", "storescp"):
        commands += [
            ["storescu", *ae, *host, *files],
            ["storescu", "--propose-implicit", *ae, *host, files[0]],
        ]
    if server.name == "dcmqrscp":
        first = instances[0]
        level = "QueryRetrieveLevel"
        study = f"StudyInstanceUID={first.study_uid}"
        series = f"SeriesInstanceUID={first.series_uid}"
        find = ["findscu", *ae, *host]
        move = [
            "movescu",
            *ae,
            *host,
            "-aet",
            MOVE_AE,
            "-aem",
            MOVE_AE,
            "--port",
            str(move_port),
            "-od",
            str(work / "moved"),
        ]
        get = ["getscu", *ae, *host, "-od", str(work / "got")]
        commands += [
            [*find, "-P", "-k", f"{level}=PATIENT", "-k", "PatientName", "-k", "PatientID"],
            [*find, "-P", "-k", f"{level}=PATIENT", "-k", "PatientName=C*"],
            [*find, "-S", "-k", f"{level}=STUDY", "-k", "StudyInstanceUID", "-k", "StudyDate",
             "-k", "PatientName"],
            [*find, "-S", "-k", f"{level}=SERIES", "-k", study, "-k", "SeriesInstanceUID",
             "-k", "Modality"],
            [*find, "-S", "-k", f"{level}=IMAGE", "-k", study, "-k", series,
             "-k", "SOPInstanceUID"],
            [*find, "-O", "-k", f"{level}=STUDY", "-k", f"PatientID={first.patient_id}",
             "-k", "StudyInstanceUID"],
            [*move, "-S", "-k", f"{level}=STUDY", "-k", study],
            [*move, "-P", "-k", f"{level}=PATIENT", "-k", f"PatientID={instances[1].patient_id}"],
            [*get, "-S", "-k", f"{level}=STUDY", "-k", study],
            [*get, "-S", "-k", f"{level}=IMAGE", "-k", study, "-k", series,
             "-k", f"SOPInstanceUID={first.sop_uid}"],
        ]  # fmt: skip
        (work / "moved").mkdir()
        (work / "got").mkdir()
    if server.name == "wlmscpfs":
        wl = ["findscu", "-W", *ae, *host]
        step = "ScheduledProcedureStepSequence[0]"
        commands += [
            [*wl, "-k", "PatientName", "-k", "PatientID", "-k", f"{step}.Modality",
             "-k", f"{step}.ScheduledStationAETitle",
             "-k", f"{step}.ScheduledProcedureStepStartDate"],
            [*wl, "-k", "PatientName=V*", "-k", f"{step}.Modality=MR", "-k", "AccessionNumber"],
            [*wl, "-k", f"{step}.ScheduledProcedureStepStartDate=19951010-19951020",
             "-k", "RequestedProcedureID", "-k", "StudyInstanceUID"],
        ]  # fmt: skip
    notes = [_note(c) for c in commands]
    if server.name == "dcmprscp":
        notes += print_session(server)
    return notes


def print_session(server: Server) -> list[str]:
    """One Basic Grayscale Print session (PS3.4 H) with pynetdicom, since DCMTK's own print SCU
    only prints spooled jobs: N-GET of the printer, N-CREATE of a film session and a film box,
    N-SET of its image box, N-ACTION print, N-DELETE of both; one note per step's status."""
    from pydicom.dataset import Dataset
    from pydicom.tag import Tag
    from pydicom.uid import generate_uid
    from pynetdicom import AE

    meta = "1.2.840.10008.5.1.1.9"  # Basic Grayscale Print Management Meta SOP Class
    film_session, film_box, image_box_class = (f"1.2.840.10008.5.1.1.{n}" for n in (1, 2, 4))
    printer, printer_instance = "1.2.840.10008.5.1.1.16", "1.2.840.10008.5.1.1.17"
    ae = AE(ae_title="PRINTSCU")
    ae.add_requested_context(meta)
    assoc = ae.associate(LOOPBACK, server.port, ae_title=server.called_ae)
    if not assoc.is_established:
        return ["print SCU: association not established"]
    notes: list[str] = []

    def dataset(**values: object) -> Dataset:
        made = Dataset()
        for keyword, value in values.items():
            setattr(made, keyword, value)
        return made

    def status(step: str, answer: Dataset) -> None:
        notes.append(f"print SCU {step}: status {int(answer.get('Status', 0xFFFF)):04X}H")

    try:
        wanted = [Tag(0x2110, 0x0010), Tag(0x2110, 0x0020)]  # Printer Status, Status Info
        answer, _ = assoc.send_n_get(wanted, printer, printer_instance, meta_uid=meta)
        status("N-GET printer", answer)
        session_uid = generate_uid()
        session = dataset(NumberOfCopies="1", PrintPriority="MED", MediumType="PAPER",
                          FilmDestination="MAGAZINE")  # fmt: skip
        answer, _ = assoc.send_n_create(session, film_session, session_uid, meta_uid=meta)
        status("N-CREATE film session", answer)
        reference = dataset(ReferencedSOPClassUID=film_session,
                            ReferencedSOPInstanceUID=session_uid)  # fmt: skip
        box = dataset(ImageDisplayFormat="STANDARD\\1,1", FilmOrientation="PORTRAIT",
                      FilmSizeID="8INX10IN", ReferencedFilmSessionSequence=[reference])  # fmt: skip
        box_uid = generate_uid()
        answer, created = assoc.send_n_create(box, film_box, box_uid, meta_uid=meta)
        status("N-CREATE film box", answer)
        boxes = created.get("ReferencedImageBoxSequence", []) if created is not None else []
        image = dataset(SamplesPerPixel=1, PhotometricInterpretation="MONOCHROME2", Rows=16,
                        Columns=16, BitsAllocated=8, BitsStored=8, HighBit=7,
                        PixelRepresentation=0, PixelData=bytes(range(256)))  # fmt: skip
        for image_box in boxes:
            content = dataset(ImageBoxPosition=1, BasicGrayscaleImageSequence=[image])
            target = image_box.ReferencedSOPInstanceUID
            answer, _ = assoc.send_n_set(content, image_box_class, target, meta_uid=meta)
            status("N-SET image box", answer)
        answer, _ = assoc.send_n_action(None, 1, film_box, box_uid, meta_uid=meta)
        status("N-ACTION print film box", answer)
        status("N-DELETE film box", assoc.send_n_delete(film_box, box_uid, meta_uid=meta))
        status("N-DELETE film session",
               assoc.send_n_delete(film_session, session_uid, meta_uid=meta))  # fmt: skip
    finally:
        assoc.release()
    return notes


def _note(command: list[str]) -> str:
    """Run one client; say which, with its model flag and keys, and how it ended."""
    rc = _quiet(command)
    flags = [a for a in command if a in ("-P", "-S", "-O", "-W", "--propose-implicit")]
    keys = [command[i + 1] for i, a in enumerate(command[:-1]) if a == "-k"]
    return " ".join([command[0], *flags, *keys]) + f": exit {rc}"


class FuzzDriver:
    """``dimse-codec fuzz`` against the server until the last time point: restarted with the next
    seed when it ends by itself (a fuzzer that stops is still measured for the whole time), the
    server restarted when it died; examples counted from its ``-v`` lines. With a ``move_port``
    (dcmqrscp, whose HostTable maps the move AE there) the fuzzer is the C-MOVE destination too
    (``--move-port``), so the server's C-STORE sub-operations run."""

    def __init__(self, server: Server, work: Path, seed: int, move_port: int | None = None) -> None:
        self.server = server
        self.move_port = move_port
        self.work = work
        self.seed = seed
        self.examples = 0
        self.invocations = 0
        self.server_restarts = 0
        self.stops: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self.reader: threading.Thread | None = None
        self.log = (work / "fuzz.log").open("a")

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.log.write(line)
            if EXAMPLE_LINE.match(line):
                self.examples += 1
            elif line.startswith("stopped early:"):
                self.stops.append(line.strip())
        self.log.flush()

    def _start(self) -> None:
        executable = Path(sys.executable).with_name("dimse-codec")
        command = [
            str(executable),
            "fuzz",
            LOOPBACK,
            str(self.server.port),
            "--called-ae",
            self.server.called_ae,
            "--max-examples",
            "1000000",
            "--seed",
            str(self.seed + self.invocations),
            "--out",
            str(self.work / f"findings-{self.invocations}"),
            "-v",
        ]
        if self.move_port is not None:
            command += ["--move-port", str(self.move_port), "--move-ae", MOVE_AE]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.invocations += 1
        self.reader = threading.Thread(target=self._read, args=(self.process,), daemon=True)
        self.reader.start()

    def keep_going(self) -> None:
        """Restart the server if it died or the fuzzer ended by itself, then the fuzzer.

        The fuzzer ends by itself only when the server is down or has stopped answering: a
        server alive but hung (dcmqrscp deadlocked on its index lock, in docs/fuzzing.md's
        findings) reaches no more code, so it is restarted like a dead one."""
        fuzzer_ended = self.process is not None and self.process.poll() is not None
        if fuzzer_ended or not self.server.alive():
            self.server.stop()
            self.server.start()
            self.server_restarts += 1
        if self.process is None or fuzzer_ended:
            if self.reader is not None:
                self.reader.join(timeout=5)
            self._start()

    def stop(self) -> None:
        """Ctrl-C to the fuzzer, then SIGTERM and SIGKILL if it lingers."""
        if self.process is not None and self.process.poll() is None:
            for signo, wait in ((signal.SIGINT, 15.0), (signal.SIGTERM, 5.0)):
                try:
                    os.killpg(self.process.pid, signo)
                    self.process.wait(timeout=wait)
                    break
                except ProcessLookupError:
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.reader is not None:
            self.reader.join(timeout=5)
        self.log.close()


# --- counting ----------------------------------------------------------------------------------


def gcda_files(build_dir: Path) -> Iterator[Path]:
    """Every counter file of the build."""
    return build_dir.rglob("*.gcda")


def clear_counters(build_dir: Path) -> None:
    """Zero the build's counters (remove every .gcda file)."""
    for path in gcda_files(build_dir):
        path.unlink()


def save_counters(build_dir: Path, to: Path) -> None:
    """Copy the build's .gcda files under ``to``, keeping their relative paths."""
    for path in gcda_files(build_dir):
        target = to / path.relative_to(build_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def restore_counters(build_dir: Path, saved: Path) -> None:
    """Put a saved set of .gcda files back into the build (after clearing it)."""
    clear_counters(build_dir)
    for path in saved.rglob("*.gcda"):
        target = build_dir / path.relative_to(saved)
        shutil.copy2(path, target)


@dataclass(frozen=True)
class Scope:
    """What gcovr counts for one server: the object folders of the libraries and the program it
    links, and their source folders (so each total is that of a ``make SERVER`` build)."""

    objects: list[Path]
    filters: list[str]


def scope(tree: Tree, server: str) -> Scope:
    """Read the server's CMake link line: its own objects, then each static library's."""
    links = list(tree.build.glob(f"**/CMakeFiles/{server}.dir/link.txt"))
    if len(links) != 1:
        raise SystemExit(f"cannot find the link line of {server} in {tree.build}")
    program_dir = links[0].parent
    objects = [program_dir]
    app_sources = program_dir.parent.parent.relative_to(tree.build)
    filters = [
        re.escape(str(tree.source / app_sources / src.name.removesuffix(".o"))) + "$"
        for src in program_dir.glob("*.o")
    ]
    for library in linked_libraries(links[0].read_text()):
        found = list(tree.build.glob(f"*/**/CMakeFiles/{library}.dir"))
        if not found:
            continue  # a system library, not DCMTK's
        objects.append(found[0])
        relative = found[0].parent.parent.relative_to(tree.build)
        filters.append(re.escape(str(tree.source / relative)) + "/")
        filters.append(re.escape(str(tree.source / relative.parts[0] / "include")) + "/")
    return Scope(objects, sorted(set(filters)))


@functools.cache
def gcovr_version() -> str:
    """gcovr's version line."""
    done = subprocess.run([*GCOVR, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else "unknown"


def count(tree: Tree, where: Scope, tracefile: Path | None = None) -> CoverageSummary:
    """``gcovr -r SRC -s`` over the server's objects, optionally keeping a JSON tracefile."""
    command = [*GCOVR, "-r", str(tree.source), "-s", "-j", "2"]
    if not gcovr_version().startswith("gcovr 4."):
        # dcmdata's flex scanner (vrscanl.c, #line-named vrscanl.l) is a source gcov cannot
        # open from where gcovr runs it: gcovr 4 warns and leaves it out, later ones stop.
        command += ["--gcov-ignore-errors=no_working_dir_found"]
    for pattern in where.filters:
        command += ["--filter", pattern]
    command += ["--json", "-o", str(tracefile)] if tracefile is not None else ["-o", os.devnull]
    command += [str(p) for p in where.objects]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tree.build)
    if done.returncode != 0:
        raise RuntimeError(f"gcovr failed: {done.stderr[-2000:]}")
    return parse_gcovr_summary(done.stdout)


def merge(tree: Tree, tracefiles: Sequence[Path]) -> CoverageSummary:
    """Coverage of several runs together, from their gcovr tracefiles."""
    command = [*GCOVR, "-r", str(tree.source), "-s", "-o", os.devnull]
    for path in tracefiles:
        command += ["-a", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"gcovr failed: {done.stderr[-2000:]}")
    return parse_gcovr_summary(done.stdout)


# --- runs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A run to make: which server, with or without dictionary, driven by what."""

    name: str
    label: str
    server: str
    dictionary: bool
    workload: str  # seeds | clients | fuzz


PLANS = (
    Plan("seeds", "ProFuzzBench's four seed inputs, replayed once", "dcmqrscp", True, "seeds"),
    Plan("seeds-nodict", "the same seeds, no data dictionary (ProFuzzBench's published state)",
         "dcmqrscp", False, "seeds"),
    Plan("clients", "DCMTK's own clients doing normal work (echo, store, find, move, get)",
         "dcmqrscp", True, "clients"),
    Plan("fuzz", "`dimse-codec fuzz`", "dcmqrscp", True, "fuzz"),
    Plan("fuzz-nodict", "`dimse-codec fuzz`, no data dictionary", "dcmqrscp", False, "fuzz"),
    Plan("storescp-clients", "DCMTK's echoscu and storescu", "storescp", True, "clients"),
    Plan("storescp-fuzz", "`dimse-codec fuzz`", "storescp", True, "fuzz"),
    Plan("wlmscpfs-clients", "DCMTK's findscu -W (worklist queries)", "wlmscpfs", True, "clients"),
    Plan("wlmscpfs-fuzz", "`dimse-codec fuzz`", "wlmscpfs", True, "fuzz"),
    Plan("dcmprscp-clients", "DCMTK's echoscu and a pynetdicom print session (N-GET, N-CREATE, "
         "N-SET, N-ACTION, N-DELETE)", "dcmprscp", True, "clients"),
    Plan("dcmprscp-fuzz", "`dimse-codec fuzz`", "dcmprscp", True, "fuzz"),
)  # fmt: skip


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """The server started, and stopped (counters written) whatever happens."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


def measure_one(
    tree: Tree, plan: Plan, work: Path, minutes: Sequence[float], seed: int
) -> tuple[Run, Path]:
    """Make one run from zeroed counters; returns it and its final tracefile."""
    print(f"== {plan.name}: {plan.label} on {plan.server}", flush=True)
    run_dir = work / plan.name
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    clear_counters(tree.build)
    move_port = free_port()
    server = make_server(tree, plan.server, run_dir, plan.dictionary, move_port)
    run = Run(plan.name, plan.label, plan.server, plan.dictionary, plan.workload)
    snapshots: list[tuple[float, Path, int | None]] = []
    elapsed: float = 0.0
    final_examples: int | None = None
    with running(server):
        if plan.workload == "seeds":
            run.notes += replay_seeds(server, sorted(SEEDS.glob("*.bin")))
        elif plan.workload == "clients":
            run.notes += dcmtk_clients(server, run_dir, move_port)
        else:
            destination = move_port if plan.server == "dcmqrscp" else None
            driver = FuzzDriver(server, run_dir, seed, destination)
            started = time.monotonic()
            try:
                for point in sorted(minutes):
                    deadline = started + point * 60
                    while time.monotonic() < deadline:
                        driver.keep_going()
                        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
                    if point == max(minutes):
                        break  # the last one is taken after the stop, with every counter
                    so_far = driver.examples
                    server.snapshot()
                    saved = run_dir / f"counters-{point:g}min"
                    save_counters(tree.build, saved)
                    snapshots.append((point * 60, saved, so_far))
            finally:
                elapsed = time.monotonic() - started
                final_examples = driver.examples
                driver.stop()
            run.notes.append(
                f"{driver.invocations} fuzzer invocation(s), {driver.server_restarts} server "
                f"restart(s); {'; '.join(sorted(set(driver.stops))) or 'no early stop'}"
            )
    final = run_dir / "counters-final"
    save_counters(tree.build, final)
    if plan.workload == "fuzz":
        snapshots.append((elapsed, final, final_examples))
    else:
        snapshots.append((0.0, final, None))
    where = scope(tree, plan.server)
    tracefile = run_dir / "coverage.json"
    for index, (seconds, saved, examples) in enumerate(snapshots):
        restore_counters(tree.build, saved)
        last = index == len(snapshots) - 1
        summary = count(tree, where, tracefile if last else None)
        run.points.append(Point(seconds, summary.branches_covered, summary.branches_total,
                                summary.lines_covered, summary.lines_total, examples))  # fmt: skip
        print(f"   {seconds:7.1f} s: {summary}", flush=True)
    return run, tracefile


def environment(tree: Tree) -> dict[str, object]:
    """What the numbers depend on: date, commit, DCMTK source version, gcovr, the machine."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit,
        "dcmtk_source": tree.source.name,
        "gcovr": gcovr_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }


def measure(args: argparse.Namespace) -> None:
    """Run the chosen plans and write the results file and its table."""
    tree = Tree(args.cache)
    work = args.cache / "runs"
    chosen = [p for p in PLANS if p.name in args.run] if args.run else list(PLANS)
    unknown = set(args.run or ()) - {p.name for p in PLANS}
    if unknown:
        raise SystemExit(f"unknown run(s): {', '.join(sorted(unknown))}")
    results: dict[str, object] = {"environment": environment(tree), "runs": []}
    runs: list[Run] = []
    traces: dict[str, Path] = {}
    if args.out.exists() and args.append:
        earlier, runs = load_runs(args.out)
        runs = [r for r in runs if r.name not in {p.name for p in chosen}]
        previous = earlier.pop("earlier", [])
        kept = [earlier, *previous] if isinstance(previous, list) else [earlier]
        results["environment"] = {**environment(tree), "earlier": kept}
    for plan in chosen:
        minutes = args.minutes if plan.name == "fuzz" else args.other_minutes
        run, tracefile = measure_one(tree, plan, work, minutes, args.seed)
        runs.append(run)
        traces[plan.name] = tracefile
        results["runs"] = [asdict(r) for r in runs]
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    if "fuzz" in traces and "clients" in traces:
        together = merge(tree, [traces["fuzz"], traces["clients"]])
        fuzz_run = next(r for r in runs if r.name == "fuzz")
        runs.append(
            Run("fuzz+clients", f"the {_minutes(fuzz_run.points[-1].seconds)}-minute fuzz and "
                "DCMTK's clients together", "dcmqrscp", True, "together",
                [Point(0.0, together.branches_covered, together.branches_total,
                       together.lines_covered, together.lines_total)])
        )  # fmt: skip
        results["runs"] = [asdict(r) for r in runs]
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    table = render_table(runs)
    args.out.with_suffix(".md").write_text(table)
    print(table)


def _minutes_list(text: str) -> list[float]:
    values = [float(v) for v in text.split(",") if v.strip()]
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError("a comma-separated list of positive minutes")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build, measure or table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cache",
        type=Path,
        default=DEFAULT_CACHE,
        help="folder for DCMTK's source, its build and the runs "
        "(default $DIMSE_CODEC_COVERAGE_CACHE or ~/.cache/dimse-codec/coverage)",
    )
    steps = parser.add_subparsers(dest="step", required=True)
    b = steps.add_parser("build", help="fetch Debian's DCMTK source and build the SCPs under gcov")
    b.add_argument("-j", "--jobs", type=int, default=2, help="make jobs (default 2)")
    m = steps.add_parser("measure", help="run the servers and count their coverage")
    m.add_argument("--run", action="append", help="a run by name (repeatable; default all): "
                   + ", ".join(p.name for p in PLANS))  # fmt: skip
    m.add_argument("--minutes", type=_minutes_list, default=[1, 5, 10, 30, 60],
                   help="time points of the run 'fuzz' (default 1,5,10,30,60)")  # fmt: skip
    m.add_argument("--other-minutes", type=_minutes_list, default=[1, 5],
                   help="time points of the other fuzz runs (default 1,5)")  # fmt: skip
    m.add_argument("--seed", type=int, default=1, help="first fuzzer seed (default 1)")
    m.add_argument("--out", type=Path, default=Path("coverage-results.json"),
                   help="results file; the table goes beside it as .md "
                   "(default coverage-results.json)")  # fmt: skip
    m.add_argument("--append", action="store_true",
                   help="keep the other runs of an existing results file")  # fmt: skip
    m.add_argument("--gcovr", help="the gcovr to count with (default: the one beside this Python)")
    t = steps.add_parser("table", help="print the Markdown table of a results file")
    t.add_argument("results", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.step == "build":
            build(Tree(args.cache), args.jobs)
        elif args.step == "measure":
            if args.gcovr:
                GCOVR[:] = [args.gcovr]
            measure(args)
        else:
            env, runs = load_runs(args.results)
            print(render_table(runs), end="")
            print(f"\nMeasured {env.get('date')} at commit {env.get('commit')}.")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except subprocess.CalledProcessError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
