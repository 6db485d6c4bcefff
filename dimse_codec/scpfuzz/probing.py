"""Runs the probes of :mod:`dimse_codec.scpfuzz.probes` against a live SCP and records what it did.

:func:`run_probes` associates once with :func:`~dimse_codec.scpfuzz.probes.probe_request` to
learn what the SCP accepts, then runs each probe on its own connections (with the socket reader
of :mod:`dimse_codec.scpfuzz.live`), checks after each that the SCP still answers an association
and a C-ECHO (:func:`~dimse_codec.scpfuzz.live.check_liveness`), and, when given the server's
process ID, samples its memory (VmRSS and VmHWM of ``/proc/PID/status``, its forked children
included) before the probe, while its connections are open and after; when given the server's
storage folder, it looks for the files a traversal UID aimed outside it. Loopback only unless
``allow_remote``. Every wait is bounded, and every connection is closed on the way out (also on
Ctrl-C).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import selectors
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dimse_codec.association import Accepted, read_response
from dimse_codec.pdata import PDUReceived
from dimse_codec.scpfuzz.findings import Answer, AnswerKind, Liveness, StepRecord
from dimse_codec.scpfuzz.live import (
    NotLoopback,
    ScpAddress,
    ServerUnavailable,
    _Connection,
    check_liveness,
    negotiate,
    resolve,
)
from dimse_codec.scpfuzz.model import Expect, Step, Target
from dimse_codec.scpfuzz.probes import (
    Memory,
    Probe,
    ProbeRecord,
    ProbeSettings,
    Shape,
    Verdict,
    assess,
    build_probes,
    probe_request,
    select_probes,
)

__all__ = [
    "NotLoopback",
    "ProbeResult",
    "ProbeRun",
    "ServerUnavailable",
    "process_memory",
    "run_probes",
    "stray_files",
]

_ANSWERED = (Expect.ASSOCIATION, Expect.RESPONSE, Expect.RELEASE)
"""Steps whose answer is awaited for the whole timeout; after the others, ``settle``."""
_SEARCH_LIMIT = 20_000
"""Most directory entries looked at when searching for a traversal's stray files."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe run: the probe, what was seen, and the verdict."""

    probe: Probe
    record: ProbeRecord
    verdict: Verdict


@dataclass
class ProbeRun:
    """A whole run: where, what the SCP accepted, the settings and each probe's result."""

    endpoint: ScpAddress
    target: Target
    settings: ProbeSettings
    results: list[ProbeResult] = field(default_factory=list)
    interrupted: bool = False


# --- the server's process -------------------------------------------------------------------------


def _status(pid: int) -> dict[str, str]:
    """``/proc/PID/status`` as a mapping (empty when the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace")
    except OSError:
        return {}
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (found by each process's parent in ``/proc/N/stat``)."""
    parents: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text(encoding="ascii", errors="replace")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo and len(found) < 10_000:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kib(value: str) -> int:
    return int(value.split()[0]) * 1024 if value.strip() else 0


def process_memory(pid: int) -> Memory | None:
    """The memory of process ``pid`` and its descendants (``None`` when it is gone)."""
    own = _status(pid)
    if not own:
        return None
    rss = hwm = pss = processes = 0
    for process in (pid, *_children(pid)):
        status = own if process == pid else _status(process)
        if status:
            rss += _kib(status.get("VmRSS", ""))
            hwm += _kib(status.get("VmHWM", ""))
            pss += _pss(process)
            processes += 1
    return Memory(rss, hwm, processes, pss)


def _pss(pid: int) -> int:
    """The proportional set size of one process (0 when ``smaps_rollup`` cannot be read)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="ascii", errors="replace")
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return _kib(line[4:])
    return 0


# --- the storage folder ---------------------------------------------------------------------------


def _candidates(aim: str, bases: Sequence[Path]) -> Iterator[Path]:
    """Where a traversal UID's path may have landed: as given, with backslashes as separators,
    from each base folder."""
    for text in dict.fromkeys((aim, aim.replace("\\", "/"), aim.split("\x00")[-1])):
        for base in bases:
            yield Path(os.path.normpath(base / text))


def stray_files(
    storage: Path, aims: Sequence[str], marker: str, *, server_cwd: Path | None = None
) -> tuple[str, ...]:
    """Files outside ``storage`` that a traversal aimed at, or whose name holds ``marker``.

    Looked for: each aim resolved from the storage folder and from the server's working folder,
    and, by name, in the storage folder's parent and grandparent (two levels down, at most
    ``_SEARCH_LIMIT`` entries), the absolute folder an aim names, and the working folder.
    """
    storage = storage.resolve()
    bases = [storage] + ([server_cwd] if server_cwd is not None else [])
    found: set[Path] = {p for p in _candidates_of(aims, bases) if p.exists()}
    roots = [storage.parent, storage.parent.parent, *(bases[1:])]
    roots += [Path(a).parent for a in aims if os.path.isabs(a)]
    walked = itertools.chain.from_iterable(_walk(root, 2) for root in dict.fromkeys(roots))
    if marker:
        found.update(p for p in itertools.islice(walked, _SEARCH_LIMIT) if marker in p.name)
    outside = sorted(str(p) for p in found if not _inside(p, storage))
    return tuple(outside)


def _candidates_of(aims: Sequence[str], bases: Sequence[Path]) -> Iterator[Path]:
    for aim in aims:
        yield from _candidates(aim, bases)


def _walk(root: Path, depth: int) -> Iterator[Path]:
    """The entries under ``root`` and ``depth`` levels further down, not following links."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        yield Path(entry.path)
        if depth > 0 and entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path), depth - 1)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


# --- one probe ------------------------------------------------------------------------------------


@dataclass
class _Probing:
    """What every probe of a run shares: where, the target, the waits and the server."""

    endpoint: ScpAddress
    target: Target
    settings: ProbeSettings
    timeout: float
    settle: float
    wait: float
    pid: int | None
    storage: Path | None

    def memory(self) -> Memory | None:
        return None if self.pid is None else process_memory(self.pid)

    def connect(self) -> _Connection:
        return _Connection.open(
            self.endpoint, self.timeout, self.target, self.target.our_max_pdu_length
        )

    def liveness(self, attempts: int = 3) -> Liveness:
        return check_liveness(self.endpoint, self.target, timeout=self.timeout, attempts=attempts)

    def step(self, connection: _Connection, step: Step) -> StepRecord:
        """Send one step and read its answer."""
        began = time.monotonic()
        failed = connection.send(step.data, self.timeout)
        if failed is not None:
            return StepRecord(step.label, step.data, b"", failed, time.monotonic() - began)
        wait = self.timeout if step.expect in _ANSWERED else self.settle
        answer, received, view = connection.answer(wait)
        return StepRecord(step.label, step.data, received, answer, time.monotonic() - began, view)

    def not_accepted(self, connection: _Connection, probe: Probe) -> str:
        """Why the probe cannot go on after its association was accepted ('' when it can)."""
        event = connection.last
        if probe.context_id is None or not isinstance(event, PDUReceived):
            return ""
        result = read_response(self.target.request, event.pdu)
        if (
            isinstance(result, Accepted)
            and probe.context_id in result.association.accepted_contexts
        ):
            return ""
        proposed = self.target.request.presentation_contexts
        syntaxes = [
            c.transfer_syntaxes for c in proposed if c.presentation_context_id == probe.context_id
        ]
        what = f" ({', '.join(syntaxes[0])})" if syntaxes else ""
        return f"the SCP did not accept presentation context {probe.context_id}{what}"

    def exchange(self, probe: Probe) -> tuple[tuple[StepRecord, ...], str, Memory | None]:
        """Send the steps, each after the last was answered as it goes on; sample the memory
        with the connection still open."""
        records: list[StepRecord] = []
        try:
            connection = self.connect()
        except OSError as exc:
            refused = Answer(AnswerKind.REFUSED, f"cannot connect: {exc.strerror or exc}")
            return (StepRecord("connect", b"", b"", refused, 0.0),), "", self.memory()
        skipped = ""
        try:
            for step in probe.steps:
                record = self.step(connection, step)
                records.append(record)
                kind = record.answer.kind
                if step.expect is Expect.ASSOCIATION and kind is AnswerKind.ACCEPTED:
                    skipped = self.not_accepted(connection, probe)
                    if skipped:
                        break
                    continue
                if not (step.expect is Expect.RESPONSE and kind is AnswerKind.RESPONSE):
                    break
            during = self.memory()
        finally:
            connection.close()
        return tuple(records), skipped, during

    def associations(
        self, steps: Sequence[Step]
    ) -> tuple[list[tuple[_Connection, float]], list[StepRecord]]:
        """Up to ``settings.idle`` connections, each taken through ``steps`` (each answered as
        accepted) and kept open, with when its last step was answered; the first that is not
        stops it (closed). The caller closes the ones returned."""
        held: list[tuple[_Connection, float]] = []
        records: list[StepRecord] = []
        for _ in range(self.settings.idle):
            try:
                connection = self.connect()
            except OSError as exc:
                refused = Answer(AnswerKind.REFUSED, f"cannot connect: {exc.strerror or exc}")
                records.append(StepRecord("connect", b"", b"", refused, 0.0))
                break
            for step in steps:
                records.append(self.step(connection, step))
                if not records[-1].answer.accepts:
                    connection.close()
                    return held, records
            held.append((connection, time.monotonic()))
        return held, records

    def hold_associations(self, probe: Probe) -> ProbeRecord:
        """Open ``settings.idle`` associations and hold them; a fresh one meanwhile; release."""
        before = self.memory()
        request, release = probe.steps
        released = 0
        held: list[tuple[_Connection, float]] = []
        try:
            held, records = self.associations([request])
            during_memory = self.memory()
            during = self.liveness(attempts=1)
            for connection, _ in held:
                if self.step(connection, release).answer.kind is AnswerKind.RELEASED:
                    released += 1
        finally:
            for connection, _ in held:
                connection.close()
        return ProbeRecord(
            probe.name,
            tuple(records[-1:]),
            during=during,
            memory_before=before,
            memory_during=during_memory,
            held=len(held),
            released=released,
        )

    def bare_connections(self) -> tuple[list[tuple[_Connection, float]], list[StepRecord]]:
        """``settings.idle_connections`` TCP connections on which nothing is sent, with when each
        was opened (the first refused stops it)."""
        opened: list[tuple[_Connection, float]] = []
        records: list[StepRecord] = []
        for _ in range(self.settings.idle_connections):
            try:
                opened.append((self.connect(), time.monotonic()))
            except OSError as exc:
                refused = Answer(AnswerKind.REFUSED, f"cannot connect: {exc.strerror or exc}")
                records.append(StepRecord("connect", b"", b"", refused, 0.0))
                break
        return opened, records

    def watched(
        self,
        probe: Probe,
        opener: Callable[[], tuple[list[tuple[_Connection, float]], list[StepRecord]]],
    ) -> ProbeRecord:
        """Open connections with ``opener`` and leave them idle: how long until the server
        closes each, and whether it serves a fresh association meanwhile."""
        before = self.memory()
        held: list[tuple[_Connection, float]] = []
        try:
            held, records = opener()
            if not held:
                return ProbeRecord(probe.name, tuple(records[-1:]), memory_before=before)
            during_memory = self.memory()
            closed, during = self._watch_checking(held)
        finally:
            for connection, _ in held:
                connection.close()
        return ProbeRecord(
            probe.name,
            tuple(records[-1:]),
            during=during,
            memory_before=before,
            memory_during=during_memory,
            closed_after=closed,
            waited=self.wait,
            held=len(held),
        )

    def _watch_checking(
        self, connections: Sequence[tuple[_Connection, float]]
    ) -> tuple[tuple[float | None, ...], Liveness]:
        """:meth:`_watch` the connections while a liveness check runs beside it (a server that
        serves one connection at a time answers it only once the idle ones are gone)."""
        found: list[Liveness] = []
        checker = threading.Thread(target=lambda: found.append(self.liveness(attempts=1)))
        checker.start()
        try:
            closed = self._watch(connections)
        finally:
            checker.join()
        return closed, found[0]

    def _watch(self, connections: Sequence[tuple[_Connection, float]]) -> tuple[float | None, ...]:
        """Seconds until the server closed (or aborted) each connection; ``None``: still open
        after ``wait``."""
        closed: list[float | None] = [None] * len(connections)
        deadline = time.monotonic() + self.wait
        with selectors.DefaultSelector() as selector:
            for index, (connection, _) in enumerate(connections):
                selector.register(connection.sock, selectors.EVENT_READ, index)
            while selector.get_map() and (remaining := deadline - time.monotonic()) > 0:
                for key, _ in selector.select(remaining):
                    connection, opened = connections[key.data]
                    answer, _, _ = connection.answer(0.001)
                    if answer.kind in (AnswerKind.CLOSED, AnswerKind.ABORTED, AnswerKind.OTHER):
                        closed[key.data] = round(time.monotonic() - opened, 3)
                        selector.unregister(connection.sock)
        return tuple(closed)

    def run(self, probe: Probe) -> ProbeRecord:
        """Run one probe, then the liveness check, the memory and the stray files."""
        if probe.shape is Shape.IDLE_ASSOCIATIONS:
            record = self.hold_associations(probe)
        elif probe.shape is Shape.IDLE_CONNECTIONS:
            record = self.watched(probe, self.bare_connections)
        elif probe.shape is Shape.RELEASED:
            record = self.watched(probe, lambda: self.associations(probe.steps))
        else:
            before = self.memory()
            records, skipped, during = self.exchange(probe)
            record = ProbeRecord(
                probe.name, records, skipped, memory_before=before, memory_during=during
            )
        if record.skipped:
            return record
        liveness = self.liveness()
        outside: tuple[str, ...] = ()
        if self.storage is not None and probe.aims:
            cwd = None
            if self.pid is not None:
                with contextlib.suppress(OSError):
                    cwd = Path(os.readlink(f"/proc/{self.pid}/cwd"))
            outside = stray_files(
                self.storage, probe.aims, str(probe.details.get("marker", "")), server_cwd=cwd
            )
        return ProbeRecord(
            record.name,
            record.records,
            record.skipped,
            liveness,
            record.during,
            record.memory_before,
            record.memory_during,
            self.memory(),
            outside,
            record.closed_after,
            record.waited,
            record.held,
            record.released,
        )


def run_probes(
    host: str,
    port: int,
    *,
    calling_ae_title: str = "DIMSE-PROBE",
    called_ae_title: str = "ANY-SCP",
    settings: ProbeSettings | None = None,
    only: Sequence[str] = (),
    timeout: float = 5.0,
    settle: float = 1.0,
    wait: float = 40.0,
    pid: int | None = None,
    storage: Path | None = None,
    allow_remote: bool = False,
    on_start: Callable[[ProbeRun], None] | None = None,
    on_result: Callable[[ProbeResult], None] | None = None,
) -> ProbeRun:
    """Run the probes (those ``only`` names, else all) against the SCP at ``host:port``.

    ``timeout`` bounds every connect and every awaited answer, ``settle`` the wait for an answer
    to a step that expects none (the declared-length probes), ``wait`` how long an idle
    connection is watched for the server to close it. ``pid`` (the server's process) adds its
    memory, ``storage`` (its storage folder) the search for stray files. The settings' marker
    is replaced by a fresh one, so one run's files are not taken for another's; absolute-path
    UIDs aim at the system's temporary folder. Raises :class:`NotLoopback`,
    :class:`ServerUnavailable`, or ``ValueError`` for a name in ``only`` that is no probe.
    Ctrl-C stops the run after closing its connections; the run so far is returned, marked
    ``interrupted``.
    """
    if min(timeout, settle, wait) <= 0:
        raise ValueError("timeout, settle and wait must be positive")
    endpoint = ScpAddress(resolve(host, allow_remote=allow_remote), port)
    base = settings or ProbeSettings()
    chosen = ProbeSettings(
        **{
            **{name: getattr(base, name) for name in base.__slots__},
            "marker": f"dimseprobe{secrets.token_hex(4)}",
            "absolute_dir": tempfile.gettempdir(),
        }
    )
    target = negotiate(
        endpoint,
        calling_ae_title,
        called_ae_title,
        timeout=timeout,
        request=probe_request(calling_ae_title, called_ae_title),
    )
    probes = select_probes(build_probes(target, chosen), only)
    run = ProbeRun(endpoint, target, chosen)
    if on_start is not None:
        on_start(run)
    probing = _Probing(endpoint, target, chosen, timeout, min(settle, timeout), wait, pid, storage)
    try:
        for probe in probes:
            record = probing.run(probe)
            result = ProbeResult(probe, record, assess(probe, record, chosen))
            run.results.append(result)
            if on_result is not None:
                on_result(result)
    except KeyboardInterrupt:
        run.interrupted = True
    return run
