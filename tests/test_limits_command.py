"""Issue 11, the "30 MB of zero bytes" row: command sets stop at
``Limits.max_command_set_length``, a message keeps at most ``Limits.max_diagnostics`` diagnostics
(then one "and N more"), and ``inspect`` (command set, ``--pdu``, ``--json``) stays bounded.

Memory is measured with tracemalloc (the input is made before tracing starts, so the peak is what
decoding adds); time is a ratio to decoding a normal or limit-sized input in the same test, never
a wall-clock bound.
"""

from __future__ import annotations

import json
import struct
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dimse_codec import (
    C_ECHO,
    C_STORE,
    UnknownMessage,
    decode_command_set,
    decode_message,
    encode_command_set,
)
from dimse_codec.cli import render
from dimse_codec.cli.inspect import to_command_set
from dimse_codec.cli.main import main
from dimse_codec.cli.render import MAX_ELEMENTS
from dimse_codec.cli.stream import inspect_stream
from dimse_codec.dimse.command_set import build_element
from dimse_codec.errors import InvalidParameter, LimitExceeded, PolicyViolation
from dimse_codec.limits import DEFAULT_LIMITS
from dimse_codec.pdata import MessageReceived, StreamDecoder
from dimse_codec.pdu import AReleaseRQ, encode_pdu
from dimse_codec.policy import LENIENT, STRICT, Diagnostic, DiagnosticCode, Policy

LIMIT = DEFAULT_LIMITS.max_command_set_length
CAP = DEFAULT_LIMITS.max_diagnostics
ZEROS = bytes(30 << 20)
"""The row's input: 30 MB of zero bytes, 3.9 million empty (0000,0000) elements."""
PER_BYTE = 40
"""Peak bytes per byte of the limit: an 8-byte empty element costs a few Python objects (its
tuple, its RawElement, its share of the capped diagnostics), about 35 bytes per input byte."""
CLI_PER_BYTE = 100
"""The same for ``inspect``, which also splits the command set for its listing (whose first
:data:`~dimse_codec.cli.render.MAX_ELEMENTS` elements it renders) and builds the output."""
VERIFICATION = "1.2.840.10008.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
D = DiagnosticCode


def peak(call: Callable[[], Any]) -> int:
    """Bytes tracemalloc saw allocated at the peak of ``call()``."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def best_time(call: Callable[[], Any], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs (the least disturbed by other processes)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def codes(primitive: Any) -> list[DiagnosticCode]:
    return [d.code for d in primitive.diagnostics]


# -- decode_command_set and decode_message -------------------------------------------------------


def test_zero_bytes_cost_what_the_limit_allows_not_what_the_input_holds() -> None:
    at_limit = bytes(LIMIT)
    assert peak(lambda: decode_command_set(ZEROS)) < PER_BYTE * LIMIT
    # the same peak (within 10%) for 480 times the input: it follows the limit
    assert peak(lambda: decode_command_set(ZEROS)) < 1.1 * peak(
        lambda: decode_command_set(at_limit)
    )
    ratio = best_time(lambda: decode_command_set(ZEROS)) / best_time(
        lambda: decode_command_set(at_limit)
    )
    assert ratio < 3  # 480 times the bytes, about the same time


def test_lenient_decodes_the_first_limit_bytes_and_keeps_the_rest() -> None:
    decoded = decode_command_set(ZEROS)
    assert isinstance(decoded, UnknownMessage)
    assert len(decoded.extra_elements) == LIMIT // 8
    exceeded = [d for d in decoded.diagnostics if d.code is D.LIMIT_EXCEEDED]
    assert exceeded == [
        Diagnostic(
            D.LIMIT_EXCEEDED,
            f"command set of {len(ZEROS)} bytes is over Limits.max_command_set_length ({LIMIT}); "
            "the rest is kept as bytes",
            LIMIT,
            "command set",
        )
    ]
    assert encode_command_set(decoded) == ZEROS  # the undecoded rest is still there


def test_strict_refuses_in_one_line_naming_the_limit() -> None:
    with pytest.raises(LimitExceeded) as caught:
        decode_command_set(ZEROS, policy=STRICT)
    error = caught.value
    assert error.message == (
        f"command set of {len(ZEROS)} bytes is over Limits.max_command_set_length ({LIMIT})"
    )
    assert (error.offset, error.path, error.code) == (LIMIT, "command set", "LIMIT_EXCEEDED")
    assert "\n" not in str(error)
    with pytest.raises(LimitExceeded):
        decode_message(ZEROS, b"\x08\x00\x16\x00", policy=STRICT)
    picky = Policy(raise_on=frozenset({D.LIMIT_EXCEEDED}))
    with pytest.raises(LimitExceeded):
        decode_command_set(ZEROS, policy=picky)


def big_c_store(extra: int) -> bytes:
    """A C-STORE-RQ command set with an unknown group-0000 element of ``extra`` bytes at its end."""
    primitive = C_STORE(
        MessageID=3,
        AffectedSOPClassUID=CT_IMAGE,
        AffectedSOPInstanceUID="1.2.3.4",
        Priority=0,
        DataSet=b"\xfe\xff\x00\xe0",
    )
    head = encode_command_set(primitive)
    return head + build_element(0x0000FFF0, bytes(extra))


def test_a_real_message_over_the_limit_keeps_its_decoded_head() -> None:
    data = big_c_store(LIMIT)
    decoded = decode_message(data, b"\xfe\xff\x00\xe0")
    assert isinstance(decoded, C_STORE)
    assert (decoded.MessageID, decoded.AffectedSOPInstanceUID) == (3, "1.2.3.4")
    assert D.LIMIT_EXCEEDED in codes(decoded)
    assert decoded.extra_elements == ()  # the element past the limit is not split off ...
    assert encode_command_set(decoded) == data  # ... it stays in the bytes


def test_raising_the_limit_with_replace() -> None:
    data = big_c_store(LIMIT)
    roomy = Policy(limits=replace(DEFAULT_LIMITS, max_command_set_length=2 * LIMIT))
    decoded = decode_command_set(data, policy=roomy)
    assert D.LIMIT_EXCEEDED not in codes(decoded)
    assert [e.tag for e in decoded.extra_elements] == [0x0000FFF0]
    exactly = big_c_store(LIMIT - len(big_c_store(0)))
    assert len(exactly) == LIMIT and D.LIMIT_EXCEEDED not in codes(decode_command_set(exactly))
    tight = Policy(limits=replace(DEFAULT_LIMITS, max_command_set_length=64))
    echo = encode_command_set(C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION))
    assert len(echo) > 64
    assert D.LIMIT_EXCEEDED in codes(decode_command_set(echo, policy=tight))
    assert D.LIMIT_EXCEEDED not in codes(decode_command_set(echo))


def test_an_explicit_vr_command_set_is_cut_at_the_limit_too() -> None:
    element = b"\x00\x00\x01\x00US\x02\x00\x01\x00"  # (0000,0001) US 1
    data = element * (LIMIT // len(element) + 10)
    decoded = decode_command_set(data)
    assert D.EXPLICIT_VR_COMMAND in codes(decoded) and D.LIMIT_EXCEEDED in codes(decoded)
    assert len(decoded.extra_elements) == LIMIT // len(element)


def test_descending_tags_are_linear() -> None:
    """A repeated-tag check that scanned every kept element made this quadratic."""
    count = LIMIT // 8
    descending = b"".join(build_element(0x0000FFFF - i, b"") for i in range(count))
    ascending = b"".join(build_element(0x00001000 + i, b"") for i in range(count))
    ratio = best_time(lambda: decode_command_set(descending)) / best_time(
        lambda: decode_command_set(ascending)
    )
    assert ratio < 5


# -- diagnostics per message ---------------------------------------------------------------------


def test_the_diagnostics_of_a_message_stop_at_the_cap_with_an_exact_count() -> None:
    data = bytes(16 << 10)  # 2048 empty elements, a diagnostic each
    everything = decode_command_set(
        data, policy=Policy(limits=replace(DEFAULT_LIMITS, max_diagnostics=10**6))
    ).diagnostics
    assert len(everything) > CAP
    capped = decode_command_set(data).diagnostics
    assert len(capped) == CAP + 1
    assert capped[-1] == Diagnostic(
        D.DIAGNOSTICS_TRUNCATED,
        f"and {len(everything) - CAP} more diagnostic(s) left out, "
        f"past Limits.max_diagnostics ({CAP})",
    )
    five = decode_command_set(
        data, policy=Policy(limits=replace(DEFAULT_LIMITS, max_diagnostics=5))
    ).diagnostics
    assert len(five) == 6 and five[-1].message.startswith(f"and {len(everything) - 5} more ")
    assert decode_command_set(ZEROS).diagnostics[-1].code is D.DIAGNOSTICS_TRUNCATED


def test_report_is_o1_past_the_cap_and_never_grows_the_list() -> None:
    sink: list[Diagnostic] = []
    drops = 50_000

    def flood() -> None:
        for _ in range(CAP + drops):
            LENIENT.report(sink, D.EMPTY_PDV, "the PDV carries no bytes", 6, "P-DATA-TF")

    assert peak(flood) < 1 << 20  # 1000 kept diagnostics, not 50,000 more
    assert len(sink) == CAP + 1
    assert sink[-1].message.startswith(f"and {drops} more diagnostic(s)")
    LENIENT.report(sink, D.ODD_FRAGMENT, "odd")
    assert len(sink) == CAP + 1 and sink[-1].message.startswith(f"and {drops + 1} more ")


def test_strict_still_raises_on_the_first_and_the_count_raises_only_when_asked() -> None:
    sink: list[Diagnostic] = []
    with pytest.raises(PolicyViolation):
        STRICT.report(sink, D.EMPTY_PDV, "empty")
    assert sink == []
    allowing = Policy(strict=True, allow=frozenset({D.EMPTY_PDV}))
    for _ in range(CAP + 3):
        allowing.report(sink, D.EMPTY_PDV, "empty")
    assert len(sink) == CAP + 1 and sink[-1].message.startswith("and 3 more ")
    counting = Policy(raise_on=frozenset({D.DIAGNOSTICS_TRUNCATED}))
    full = [Diagnostic(D.EMPTY_PDV, "empty")] * CAP
    with pytest.raises(PolicyViolation) as caught:
        counting.report(full, D.EMPTY_PDV, "empty")
    assert caught.value.code == "DIAGNOSTICS_TRUNCATED"


def test_attaching_a_data_set_keeps_the_cap() -> None:
    decoded = decode_message(bytes(16 << 10), b"\x00" * 4)
    assert len(decoded.diagnostics) == CAP + 1
    assert decoded.diagnostics[-1].code is D.DIAGNOSTICS_TRUNCATED


# -- one number for each limit -------------------------------------------------------------------


def test_max_inflated_size_is_the_limits_field() -> None:
    assert LENIENT.max_inflated_size == DEFAULT_LIMITS.max_inflated_size
    small = Policy(max_inflated_size=1 << 20)
    assert small.max_inflated_size == small.limits.max_inflated_size == 1 << 20
    assert small == Policy(limits=replace(DEFAULT_LIMITS, max_inflated_size=1 << 20))
    assert replace(small, strict=True).max_inflated_size == 1 << 20
    assert replace(small, max_inflated_size=16).limits.max_inflated_size == 16
    assert replace(small, limits=DEFAULT_LIMITS).max_inflated_size == 1 << 30
    both = Policy(max_inflated_size=8, limits=replace(DEFAULT_LIMITS, max_diagnostics=3))
    assert (both.limits.max_inflated_size, both.limits.max_diagnostics) == (8, 3)
    assert Policy(True).strict
    with pytest.raises(InvalidParameter):
        Policy(max_inflated_size=0)


def test_the_stream_decoder_takes_its_command_cap_from_the_limits() -> None:
    assert StreamDecoder().max_command_size == LIMIT
    tight = Policy(limits=replace(DEFAULT_LIMITS, max_command_set_length=100))
    assert StreamDecoder(policy=tight).max_command_size == 100
    assert StreamDecoder(policy=tight, max_command_size=50).max_command_size == 50


# -- inspect -------------------------------------------------------------------------------------


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str, int]:
    """Run ``dimse-codec`` in-process; return the code, stdout, stderr and the traced peak."""
    result: list[int] = []
    used = peak(lambda: result.append(main(list(argv))))
    captured = capsys.readouterr()
    return result[0], captured.out, captured.err, used


@pytest.fixture(scope="module")
def zeros_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("zeros") / "zeros.bin"
    path.write_bytes(ZEROS)
    return path


def test_inspect_of_zero_bytes_is_bounded(
    capsys: pytest.CaptureFixture[str], zeros_file: Path, tmp_path: Path
) -> None:
    code, out, err, _ = run_cli(capsys, "inspect", str(zeros_file))
    assert (code, out) == (2, "")  # past --max-input (16 MiB): refused, read no further
    assert "is longer than --max-input" in err
    # with the input cap lifted, the decoder's own limit still bounds time, memory and output
    code, out, err, used = run_cli(capsys, "inspect", "--max-input", "0", str(zeros_file))
    assert (code, err) == (0, "")
    assert used < len(ZEROS) + CLI_PER_BYTE * LIMIT  # the input read whole, then the limit's
    assert len(out) < 5 * LIMIT  # was 835 MB of text
    assert (
        f"Command set: {len(ZEROS)} bytes, Implicit VR Little Endian, {LIMIT // 8} element(s)"
        in out
    )
    assert f"  ... and {LIMIT // 8 - MAX_ELEMENTS} more element(s) not listed" in out
    assert "LIMIT_EXCEEDED" in out and "more diagnostic(s) left out" in out
    at_limit = tmp_path / "limit.bin"
    at_limit.write_bytes(bytes(LIMIT))

    def inspect(path: Path) -> None:
        main(["inspect", "--max-input", "0", str(path)])
        capsys.readouterr()

    assert best_time(lambda: inspect(zeros_file)) / best_time(lambda: inspect(at_limit)) < 3


def test_inspect_json_of_zero_bytes_is_bounded(
    capsys: pytest.CaptureFixture[str], zeros_file: Path
) -> None:
    code, out, err, used = run_cli(capsys, "inspect", "--json", "--max-input", "0", str(zeros_file))
    assert (code, err) == (0, "")  # was a MemoryError traceback
    assert used < len(ZEROS) + CLI_PER_BYTE * LIMIT
    result = json.loads(out)
    assert len(out) < 16 * LIMIT
    assert result["length"] == len(ZEROS)
    assert len(result["elements"]) == MAX_ELEMENTS
    assert result["elements_omitted"] == LIMIT // 8 - MAX_ELEMENTS
    assert len(result["diagnostics"]) == CAP + 1
    assert result["diagnostics"][-1]["code"] == "DIAGNOSTICS_TRUNCATED"


def test_inspect_strict_names_the_limit(
    capsys: pytest.CaptureFixture[str], zeros_file: Path
) -> None:
    code, out, err, _ = run_cli(capsys, "inspect", "--strict", "--max-input", "0", str(zeros_file))
    assert (code, out) == (1, "")
    assert err == (
        f"error: [LIMIT_EXCEEDED] command set @{LIMIT}: command set of {len(ZEROS)} bytes "
        f"is over Limits.max_command_set_length ({LIMIT})\n"
    )


PDU_ZEROS = bytes(96 << 10)
"""16,384 empty PDUs of type 00H (the row's input is 5 million of them: the same, only longer)."""
FIRST_CHUNK_PDUS = (16 << 10) // 6
"""The PDUs of inspect's first 16 KiB piece: one event; the rest of the run is one more."""


def test_inspect_pdu_of_zero_bytes_is_bounded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    half, whole = tmp_path / "half.bin", tmp_path / "whole.bin"
    half.write_bytes(PDU_ZEROS[: len(PDU_ZEROS) // 2])
    whole.write_bytes(PDU_ZEROS)
    code, out, err, used = run_cli(capsys, "inspect", "--pdu", "--max-events", "1", str(whole))
    assert (code, err) == (0, "")
    pdus = len(PDU_ZEROS) // 6
    rest = pdus - FIRST_CHUNK_PDUS
    lines = out.splitlines()
    assert lines[0] == f"PDU stream: {len(PDU_ZEROS)} bytes, {pdus} PDU(s), 0 message(s), " + (
        f"{pdus} problem(s)"
    )
    assert lines[-1] == (
        f"... and 1 more event(s) not shown ({rest} PDU(s), 0 message(s), {rest} problem(s))"
    )
    assert len(out) < 50 * 200
    *_, used_half = run_cli(capsys, "inspect", "--pdu", "--max-events", "1", str(half))
    assert used < len(PDU_ZEROS) + 1.5 * used_half  # twice the input, not twice the memory


def test_inspect_pdu_json_counts_what_it_leaves_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "garbage.bin"
    # PDUs of type 00H (undefined) and 01H (an A-ASSOCIATE-RQ cut short) in turn: 1000 events
    path.write_bytes((bytes(6) + b"\x01" + bytes(5)) * 500)
    code, out, _, _ = run_cli(capsys, "inspect", "--pdu", "--json", "--max-events", "10", str(path))
    result = json.loads(out)
    assert code == 0 and (result["pdus"], len(result["events"])) == (1000, 10)
    assert (result["events_omitted"], result["problems_omitted"]) == (990, 990)
    code, out, _, _ = run_cli(capsys, "inspect", "--pdu", "--json", "--max-events", "0", str(path))
    assert len(json.loads(out)["events"]) == 1000 and "events_omitted" not in out


def test_inspect_pdu_time_is_linear_against_a_normal_stream() -> None:
    """Zero bytes against A-RELEASE-RQ PDUs of the same size: about the same cost per PDU."""
    size = 24 << 10
    release = encode_pdu(AReleaseRQ())
    normal = (release * (size // len(release) + 1))[:size]
    zeros = bytes(size)
    ratio = best_time(lambda: inspect_stream(zeros, LENIENT, max_events=50)) / best_time(
        lambda: inspect_stream(normal, LENIENT, max_events=50)
    )
    assert ratio < 5  # 10/6 as many PDUs, each with one diagnostic


def test_inspect_never_prints_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "echo.bin"
    path.write_bytes(encode_command_set(C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION)))

    def out_of_memory(*_: Any, **__: Any) -> Any:
        raise MemoryError

    def bug(*_: Any, **__: Any) -> Any:
        raise RuntimeError("something\nbroke")

    monkeypatch.setattr(render, "inspect_bytes", out_of_memory)
    code, out, err, _ = run_cli(capsys, "inspect", str(path))
    assert (code, out) == (1, "")
    assert err == f"error: out of memory inspecting {path.stat().st_size} bytes\n"
    monkeypatch.setattr(render, "inspect_bytes", bug)
    code, out, err, _ = run_cli(capsys, "inspect", "--json", str(path))
    assert (code, out) == (1, "")
    assert err == "error: internal error (RuntimeError): something broke; please report it\n"


def test_binary_input_is_not_scanned_as_hex_and_hex_after_blank_lines_still_is() -> None:
    assert to_command_set(ZEROS) is ZEROS
    assert to_command_set(b"\n" * 100 + b"00 00 04 00") == b"\x00\x00\x04\x00"


def test_a_streamed_message_keeps_the_cap_too() -> None:
    """3000 empty PDVs before a C-ECHO-RQ's command: 3000 EMPTY_PDV, of which 1000 are kept."""
    command = encode_command_set(C_ECHO(MessageID=1, AffectedSOPClassUID=VERIFICATION))
    empty = struct.pack(">IBB", 2, 1, 1) * 3000
    pdvs = empty + struct.pack(">IBB", len(command) + 2, 1, 3) + command
    events = StreamDecoder().feed(struct.pack(">BBI", 4, 0, len(pdvs)) + pdvs)
    (message,) = [e for e in events if isinstance(e, MessageReceived)]
    assert len(message.diagnostics) == CAP + 1
    assert message.diagnostics[-1].message.startswith(f"and {3000 - CAP} more ")
