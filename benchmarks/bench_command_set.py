"""Benchmark dimse-codec against pynetdicom on primitive <-> command-set bytes, in one process.

Both libraries build the same logical primitives; each row times ENCODE (primitive to
command-set bytes) or DECODE (command-set bytes to primitive) for both libraries in interleaved
rounds and reports the median of the per-round ratios (pynetdicom time / dimse-codec time).
Ratios, not absolute times, are the result: the machine is shared and its speed varies, but two
measurements taken back to back in one process see the same machine. Run
``python benchmarks/bench_command_set.py [--quick] [--json PATH] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import io
import json
import pstats
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any, cast

from harness import CLOCKS, Call, calibrate, environment, load_average, per_call_ns, require
from pydicom.dataset import Dataset
from pynetdicom import dimse_messages, dimse_primitives, dsutils, pdu_primitives

from dimse_codec import (
    C_ECHO,
    C_FIND,
    N_ACTION,
    N_EVENT_REPORT,
    DIMSEPrimitive,
    decode_command_set,
    encode_command_set,
    encode_message,
)

ENCODE_GOAL = 30.0
"""Issue goal: encoding is at least this many times faster than pynetdicom."""
DECODE_GOAL = 20.0
"""Issue goal: decoding is at least this many times faster than pynetdicom."""

VERIFICATION = "1.2.840.10008.1.1"
PATIENT_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.1.1"
STORAGE_COMMITMENT = "1.2.840.10008.1.20.1"
STORAGE_COMMITMENT_INSTANCE = "1.2.840.10008.1.20.1.1"


@dataclass
class Case:
    """One logical message, built by hand in both libraries, with the bytes each encodes to."""

    name: str
    ours: DIMSEPrimitive
    theirs: Any
    message_class: type[dimse_messages.DIMSEMessage]
    dataset_follows: bool
    ours_bytes: bytes = b""
    theirs_bytes: bytes = b""


@dataclass
class Row:
    """One timed comparison: a callable per library doing the same logical work per call."""

    message: str
    operation: str
    goal: float | None
    ours: Call
    theirs: Call
    ours_calls: int = 0
    theirs_calls: int = 0
    ours_us: list[float] = field(default_factory=list)
    theirs_us: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)


# -- the primitives ------------------------------------------------------------------------------


def _identifier() -> Dataset:
    """The small C-FIND identifier returned with a Pending response (a patient-level match)."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "PATIENT"
    ds.PatientName = "DOE^JOHN"
    ds.PatientID = "123456"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    return ds


def _commitment_info() -> Dataset:
    """A small Storage Commitment data set, the payload N-ACTION/N-EVENT-REPORT carry here."""
    ds = Dataset()
    ds.TransactionUID = "1.2.826.0.1.3680043.2.1125.1.1"
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    item.ReferencedSOPInstanceUID = "1.2.826.0.1.3680043.2.1125.1.2"
    ds.ReferencedSOPSequence = [item]
    return ds


def _pynetdicom_encode(ds: Dataset) -> bytes:
    """Encode a data set Implicit VR Little Endian with pynetdicom (``None`` means it failed)."""
    encoded = dsutils.encode(ds, True, True)
    if encoded is None:
        raise SystemExit("pynetdicom could not encode a benchmark data set")
    return encoded


def _theirs(cls: type[Any], **values: Any) -> Any:
    """Build a pynetdicom primitive by setting attributes, the way its users do."""
    primitive = cls()
    for keyword, value in values.items():
        setattr(primitive, keyword, value)
    return primitive


def build_cases() -> list[Case]:
    """The messages compared: C-ECHO-RQ/RSP, C-FIND-RSP Pending, N-ACTION-RQ, N-EVENT-REPORT-RQ."""
    identifier = _pynetdicom_encode(_identifier())
    info = _pynetdicom_encode(_commitment_info())
    return [
        Case(
            "C-ECHO-RQ",
            C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION),
            _theirs(dimse_primitives.C_ECHO, MessageID=1, AffectedSOPClassUID=VERIFICATION),
            dimse_messages.C_ECHO_RQ,
            False,
        ),
        Case(
            "C-ECHO-RSP",
            C_ECHO(MessageIDBeingRespondedTo=1, AffectedSOPClassUID=VERIFICATION, Status=0),
            _theirs(
                dimse_primitives.C_ECHO,
                MessageIDBeingRespondedTo=1,
                AffectedSOPClassUID=VERIFICATION,
                Status=0,
            ),
            dimse_messages.C_ECHO_RSP,
            False,
        ),
        Case(
            "C-FIND-RSP",
            C_FIND(
                MessageIDBeingRespondedTo=7,
                AffectedSOPClassUID=PATIENT_ROOT_FIND,
                Status=0xFF00,
                Identifier=identifier,
            ),
            _theirs(
                dimse_primitives.C_FIND,
                MessageIDBeingRespondedTo=7,
                AffectedSOPClassUID=PATIENT_ROOT_FIND,
                Status=0xFF00,
                Identifier=BytesIO(identifier),
            ),
            dimse_messages.C_FIND_RSP,
            True,
        ),
        Case(
            "N-ACTION-RQ",
            N_ACTION(
                MessageID=3,
                RequestedSOPClassUID=STORAGE_COMMITMENT,
                RequestedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
                ActionTypeID=1,
                ActionInformation=info,
            ),
            _theirs(
                dimse_primitives.N_ACTION,
                MessageID=3,
                RequestedSOPClassUID=STORAGE_COMMITMENT,
                RequestedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
                ActionTypeID=1,
                ActionInformation=BytesIO(info),
            ),
            dimse_messages.N_ACTION_RQ,
            True,
        ),
        Case(
            "N-EVENT-REPORT-RQ",
            N_EVENT_REPORT(
                MessageID=4,
                AffectedSOPClassUID=STORAGE_COMMITMENT,
                AffectedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
                EventTypeID=1,
                EventInformation=info,
            ),
            _theirs(
                dimse_primitives.N_EVENT_REPORT,
                MessageID=4,
                AffectedSOPClassUID=STORAGE_COMMITMENT,
                AffectedSOPInstanceUID=STORAGE_COMMITMENT_INSTANCE,
                EventTypeID=1,
                EventInformation=BytesIO(info),
            ),
            dimse_messages.N_EVENT_REPORT_RQ,
            True,
        ),
    ]


# -- the work per call ---------------------------------------------------------------------------


def theirs_encoder(message_class: type[Any], primitive: Any) -> Callable[[], bytes]:
    """pynetdicom's primitive -> command-set bytes: as ``send_msg`` then ``encode_msg`` do."""

    def encode() -> bytes:
        message = message_class()
        message.primitive_to_message(primitive)
        return cast(bytes, dsutils.encode(message.command_set, True, True))

    return encode


def theirs_decoder(command_set: bytes) -> Call:
    """pynetdicom's command-set bytes -> primitive: ``decode_msg`` on one last-fragment PDV.

    The P-DATA is built once (``decode_msg`` only reads it), which leaves framing out of
    pynetdicom's time; every call decodes afresh, unlike a generator consumed once.
    """
    p_data = pdu_primitives.P_DATA()
    p_data.presentation_data_value_list.append((1, b"\x03" + command_set))  # as encode_msg

    def decode() -> Any:
        message = dimse_messages.DIMSEMessage()
        message.decode_msg(p_data)
        return message.message_to_primitive()

    return decode


def theirs_message_encoder(
    primitive: Any, identifier: Dataset
) -> Callable[[], tuple[bytes, bytes]]:
    """pynetdicom's whole C-FIND-RSP: encode the identifier, attach it, encode the command set."""

    def encode() -> tuple[bytes, bytes]:
        primitive.Identifier = BytesIO(cast(bytes, dsutils.encode(identifier, True, True)))
        message = dimse_messages.C_FIND_RSP()
        message.primitive_to_message(primitive)
        command = cast(bytes, dsutils.encode(message.command_set, True, True))
        return command, cast(BytesIO, message.data_set).getvalue()

    return encode


# -- sanity checks (not tests: they make sure both sides do the same, full work) ----------------


def _command_keywords(primitive: DIMSEPrimitive) -> list[str]:
    """The command-element parameters of a primitive (data set parameters left out)."""
    return [k for k in primitive.PARAMETERS if k not in primitive.DATASET_PARAMETERS]


def verify_case(case: Case) -> None:
    """Check both encoders agree and each library decodes the other's bytes to the same values."""
    require(case.ours.source is None, f"{case.name}: hand-built primitive has cached source")
    case.ours_bytes = encode_command_set(case.ours)
    case.theirs_bytes = theirs_encoder(case.message_class, case.theirs)()
    require(case.ours.source is None, f"{case.name}: encoding cached the source")
    require(
        encode_command_set(case.ours, check=False) == case.ours_bytes,
        f"{case.name}: check=False encodes differently",
    )

    # ours decodes pynetdicom's bytes to the values it was built with
    decoded = decode_command_set(case.theirs_bytes)
    require(type(decoded) is type(case.ours), f"{case.name}: we decode pynetdicom's as {decoded}")
    require(not decoded.diagnostics, f"{case.name}: diagnostics {decoded.diagnostics}")
    for keyword in _command_keywords(case.ours):
        require(
            getattr(decoded, keyword) == getattr(case.ours, keyword),
            f"{case.name}: {keyword} decodes differently from pynetdicom's bytes",
        )
    require(
        decoded.dataset_follows() == case.dataset_follows,
        f"{case.name}: CommandDataSetType from pynetdicom's bytes says otherwise",
    )

    # pynetdicom decodes our bytes to the values it was built with
    theirs = theirs_decoder(case.ours_bytes)()
    require(type(theirs) is type(case.theirs), f"{case.name}: pynetdicom decodes ours as {theirs}")
    for keyword in _command_keywords(case.ours):
        expected = getattr(case.ours, keyword)
        if expected is not None:
            require(
                getattr(theirs, keyword) == expected,
                f"{case.name}: pynetdicom decodes {keyword} differently from our bytes",
            )
    data_set_type = decode_command_set(case.ours_bytes).command_data_set_type
    require(
        (data_set_type != 0x0101) == case.dataset_follows,
        f"{case.name}: our CommandDataSetType {data_set_type:#06x} is wrong",
    )


def verify_message_row(
    ours: C_FIND, theirs: Callable[[], tuple[bytes, bytes]], identifier: Dataset
) -> None:
    """Check both whole-message encoders give the same command set and identifier bytes."""
    require(ours.source is None, "C-FIND-RSP message: primitive has cached source")
    encoded = encode_message(ours)
    command, data_set = theirs()
    require(encoded.dataset == _pynetdicom_encode(identifier), "identifier bytes differ")
    require(encoded.dataset == data_set, "pynetdicom's message carries other identifier bytes")
    require(
        decode_command_set(encoded.command_set).dataset_follows(),
        "C-FIND-RSP message: CommandDataSetType says no identifier",
    )
    require(
        decode_command_set(command) == decode_command_set(encoded.command_set),
        "C-FIND-RSP message: the two command sets decode to different primitives",
    )


# -- timing ----------------------------------------------------------------------------------------


def run_rows(rows: list[Row], rounds: int, target_s: float, clock: Callable[[], int]) -> None:
    """Time every row in paired rounds, alternating which library runs first each round."""
    for row in rows:
        row.ours_calls = calibrate(row.ours, target_s, clock, warm_up=20, most=10_000_000)
        row.theirs_calls = calibrate(row.theirs, target_s, clock, warm_up=20, most=10_000_000)
        for index in range(rounds):
            if index % 2 == 0:
                ours = per_call_ns(row.ours, row.ours_calls, clock) / 1000.0
                theirs = per_call_ns(row.theirs, row.theirs_calls, clock) / 1000.0
            else:
                theirs = per_call_ns(row.theirs, row.theirs_calls, clock) / 1000.0
                ours = per_call_ns(row.ours, row.ours_calls, clock) / 1000.0
            row.ours_us.append(ours)
            row.theirs_us.append(theirs)
            row.ratios.append(theirs / ours)
        gc.collect()
        print(f"  timed {row.message} {row.operation}", file=sys.stderr, flush=True)


# -- the rows -------------------------------------------------------------------------------------


def build_rows(cases: list[Case]) -> list[Row]:
    """Encode, encode without validation and decode per case, plus the C-FIND-RSP message row."""
    rows: list[Row] = []
    for case in cases:
        theirs_encode = theirs_encoder(case.message_class, case.theirs)
        rows.append(
            Row(
                case.name,
                "encode",
                ENCODE_GOAL,
                functools.partial(encode_command_set, case.ours),
                theirs_encode,
            )
        )
        rows.append(
            Row(
                case.name,
                "encode check=False",
                ENCODE_GOAL,
                functools.partial(encode_command_set, case.ours, check=False),
                theirs_encode,
            )
        )
        rows.append(
            Row(
                case.name,
                "decode",
                DECODE_GOAL,
                functools.partial(decode_command_set, case.ours_bytes),
                theirs_decoder(case.ours_bytes),
            )
        )
        if case.name == "C-FIND-RSP":
            identifier = _identifier()
            ours = C_FIND(
                MessageIDBeingRespondedTo=7,
                AffectedSOPClassUID=PATIENT_ROOT_FIND,
                Status=0xFF00,
                Identifier=identifier,
            )
            theirs = theirs_message_encoder(
                _theirs(
                    dimse_primitives.C_FIND,
                    MessageIDBeingRespondedTo=7,
                    AffectedSOPClassUID=PATIENT_ROOT_FIND,
                    Status=0xFF00,
                ),
                identifier,
            )
            verify_message_row(ours, theirs, identifier)
            rows.append(
                Row(
                    case.name,
                    "encode message incl. identifier",
                    None,  # context: mostly pydicom's data set writer in both libraries
                    functools.partial(encode_message, ours),
                    theirs,
                )
            )
    return rows


# -- reporting ------------------------------------------------------------------------------------


def summarise(row: Row) -> dict[str, Any]:
    """Medians, ratio spread and the goal verdict of one row."""
    ratio = statistics.median(row.ratios)
    return {
        "message": row.message,
        "operation": row.operation,
        "ours_us_median": statistics.median(row.ours_us),
        "theirs_us_median": statistics.median(row.theirs_us),
        "ratio_median": ratio,
        "ratio_min": min(row.ratios),
        "ratio_max": max(row.ratios),
        "rounds": len(row.ratios),
        "ours_calls_per_round": row.ours_calls,
        "theirs_calls_per_round": row.theirs_calls,
        "goal": row.goal,
        "verdict": "context" if row.goal is None else ("PASS" if ratio >= row.goal else "MISS"),
    }


def format_table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table (ratios first; µs per call only as context)."""
    lines = [
        "| message | operation | ratio (median) | ratio min..max | goal | verdict "
        "| ours µs | pynetdicom µs |",
        "|---|---|---:|---:|---:|---|---:|---:|",
    ]
    for r in results:
        goal = "—" if r["goal"] is None else f"≥{r['goal']:.0f}×"
        lines.append(
            f"| {r['message']} | {r['operation']} | {r['ratio_median']:.1f}× "
            f"| {r['ratio_min']:.1f}..{r['ratio_max']:.1f} | {goal} "
            f"| {r['verdict']} | {r['ours_us_median']:.2f} | {r['theirs_us_median']:.1f} |"
        )
    return "\n".join(lines)


def profile_decode(cases: list[Case], names: tuple[str, ...], calls: int, top: int) -> str:
    """cProfile our decoder on the named messages; the top functions by own (tottime) time."""
    out = io.StringIO()
    for case in cases:
        if case.name not in names:
            continue
        data = case.ours_bytes
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(calls):
            decode_command_set(data)
        profiler.disable()
        out.write(f"\n### decode_command_set, {case.name}, {calls} calls, top {top} by tottime\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Parse options, verify, time, print the table; always exit 0 (goals are informational)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (smoke run)")
    parser.add_argument("--rounds", type=int, help="paired rounds per row (default 25, quick 7)")
    parser.add_argument(
        "--target-ms",
        type=float,
        help="wall time per library per round, in ms (default 40, quick 8)",
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="cpu",
        help="cpu: this thread's CPU time (default); wall: elapsed time",
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile our decode of N-ACTION-RQ and C-FIND-RSP (top 10 by tottime)",
    )
    args = parser.parse_args(argv)
    rounds = args.rounds or (7 if args.quick else 25)
    target_s = (args.target_ms or (8.0 if args.quick else 40.0)) / 1000.0
    if rounds < 1 or target_s <= 0:
        parser.error("--rounds and --target-ms must be positive")

    cases = build_cases()
    for case in cases:
        verify_case(case)
    rows = build_rows(cases)
    env = environment(rounds, target_s, args.quick, args.clock)
    print(
        f"dimse-codec {env['dimse_codec']} ({env['git']}) vs pynetdicom {env['pynetdicom']} "
        f"(pydicom {env['pydicom']}), Python {env['python']}, {env['cpu_count']} CPU(s); "
        f"{rounds} paired rounds of ~{target_s * 1000:.0f} ms ({args.clock} time) per library; "
        f"load average {env['load_average_at_start']}",
        flush=True,
    )
    identical = {case.name: case.ours_bytes == case.theirs_bytes for case in cases}
    run_rows(rows, rounds, target_s, CLOCKS[args.clock])
    for case in cases:
        require(case.ours.source is None, f"{case.name}: source got cached while timing")

    results = [summarise(row) for row in rows]
    scored = [r for r in results if r["goal"] is not None]
    print()
    print("ratio = pynetdicom time / dimse-codec time per call (median of paired rounds)")
    print(format_table(results))
    misses = [f"{r['message']} {r['operation']}" for r in results if r["verdict"] == "MISS"]
    print(
        f"\n{len(scored) - len(misses)}/{len(scored)} rows with a goal meet it "
        f"(encode ≥{ENCODE_GOAL:.0f}×, decode ≥{DECODE_GOAL:.0f}×); informational only"
    )
    print(
        "identical command-set bytes from both encoders: "
        + ", ".join(f"{name} {'yes' if same else 'NO'}" for name, same in identical.items())
    )

    profile = ""
    if args.profile:
        profile = profile_decode(
            cases, ("N-ACTION-RQ", "C-FIND-RSP"), 20_000 if args.quick else 100_000, 10
        )
        print(profile)

    if args.json:
        with open(args.json, "w", encoding="utf-8") as stream:
            json.dump(
                {
                    "environment": env,
                    "load_average_at_end": load_average(),
                    "identical_command_bytes": identical,
                    "results": results,
                    "profile": profile or None,
                },
                stream,
                indent=2,
            )
            stream.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
