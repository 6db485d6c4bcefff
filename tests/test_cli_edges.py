"""Clear words at the edges of the command line: every option's bad value is told in words of the
option (never argparse's "invalid _port value", which names a function of ours), ranges are
checked where a wrong value would be taken silently, and errors never say ``[None]``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dimse_codec.cli._args import count, seconds, tcp_port
from dimse_codec.cli.jobs import error_line
from dimse_codec.cli.main import build_parser, main
from dimse_codec.errors import DimseCodecError

EXAMPLE_CAPTURE = Path(__file__).resolve().parent.parent / "docs/examples/storage-commitment.pcap"
BAD_VALUES = ("", "abc", "-1", "1.5", "nan", "inf", "1e999", "70000", "0x10")


def _typed_options() -> Iterator[tuple[str, str, Callable[[str], object]]]:
    """(subcommand, option, type) for every option of ours whose value goes through a type
    function of dimse_codec."""
    parser = build_parser()
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, subparser in action.choices.items():
            for option in subparser._actions:
                kind = option.type
                if callable(kind) and getattr(kind, "__module__", "").startswith("dimse_codec"):
                    label = option.option_strings[-1] if option.option_strings else option.dest
                    yield name, label, kind


def test_there_are_typed_options_to_check() -> None:
    found = {(name, label) for name, label, _ in _typed_options()}
    assert {("decode", "--port"), ("serve", "port"), ("echo", "--max-pdu")} <= found
    assert ("decode", "--idle-timeout") in found and ("decode", "--max-connections") in found


@pytest.mark.parametrize("value", BAD_VALUES)
def test_every_type_refuses_in_words_of_its_own(value: str) -> None:
    """A type either takes the value or raises ArgumentTypeError (its own message); a
    ValueError or TypeError would make argparse say "invalid <function name> value"."""
    for name, label, kind in _typed_options():
        try:
            kind(value)
        except argparse.ArgumentTypeError as exc:
            assert str(exc), (name, label, value)
        except (ValueError, TypeError) as exc:  # pragma: no cover - the failure being tested
            pytest.fail(f"{name} {label} {value!r}: {type(exc).__name__} {exc}")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["fuzz", "127.0.0.1", "104", "--max-examples", "abc"], "expected a whole number"),
        (["echo", "127.0.0.1", "abc"], "expected a TCP port 1-65535, got 'abc'"),
        (["echo", "127.0.0.1", "104", "--max-pdu", "abc"], "expected 0 or 4096..4294967295"),
        (["serve", "abc"], "expected a TCP port 0-65535 (0: any), got 'abc'"),
        (["serve", "70000"], "expected a TCP port 0-65535 (0: any), got '70000'"),
        (["decode", "x.pcap", "--idle-timeout", "-1"], "not a number of seconds, 0 or more"),
        (["decode", "x.pcap", "--max-connections", "-5"], "expected 0 or more, got -5"),
        (["decode", "x.pcap", "--port", "70000"], "expected a TCP port 1-65535, got '70000'"),
        (["decode", "x.pcap", "--jobs", "0"], "not a number of jobs (1 or more): '0'"),
        (["decode", "x.pcap", "--stall-threshold", "0"], "not a number of seconds over 0: '0'"),
        (["report", "x.pcap", "--detail", "-1"], "not a number of associations (0 or more)"),
        (["inspect", "--max-events", "x"], "not a number of events (0 or more): 'x'"),
        (["replay", "x.pcap", "--listen", "70000"], "expected a TCP port 0-65535 (0: any)"),
        (["echo", "127.0.0.1", "104", "--timeout", "inf"], "not a number of seconds over 0"),
        (["fuzz", "127.0.0.1", "104", "--max-examples", "0"], "expected at least 1, got 0"),
    ],
)
def test_a_bad_value_is_told_with_the_subcommands_usage(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: dimse-codec {argv[0]} ")
    last = err.splitlines()[-1]
    assert last.startswith(f"dimse-codec {argv[0]}: error: ") and said in last
    assert "invalid" not in last


def test_the_shared_types_take_their_bounds() -> None:
    """One count, one port and one seconds type serve every subcommand (``cli/_args.py``)."""
    assert (count()("0"), count(1)("1"), count(unit="lines")("0")) == (0, 1, 0)
    assert (tcp_port()("1"), tcp_port()("65535"), tcp_port(zero_for_any=True)("0")) == (1, 65535, 0)
    assert (seconds()("0.5"), seconds(zero=True)("0")) == (0.5, 0.0)
    for kind, value in [(count(1), "0"), (tcp_port(), "0"), (seconds(), "0"), (seconds(), "nan")]:
        with pytest.raises(argparse.ArgumentTypeError):
            kind(value)


def test_serve_takes_port_zero_and_decode_takes_zero_as_never() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve", "0"]).port == 0
    args = parser.parse_args(["decode", "x.pcap", "--idle-timeout", "0", "--max-connections", "0"])
    assert (args.idle_timeout, args.max_connections) == (0.0, 0)


def test_decode_with_no_cap_on_connections_and_no_idle_timeout_reads_the_capture(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["decode", "--idle-timeout", "0", "--max-connections", "0", str(EXAMPLE_CAPTURE)])
    out = capsys.readouterr().out
    assert code == 0 and "summary: 1 association(s), 6 message(s)" in out


def test_a_worker_error_without_a_code_is_said_without_one() -> None:
    """``--jobs N`` says a library error as ``decode`` does: its code when it has one."""
    line, code = error_line(DimseCodecError("cannot follow", offset=7), str(EXAMPLE_CAPTURE))
    assert (line, code) == ("error: @7: cannot follow", 1)
    coded = DimseCodecError("cut", offset=3, code="TRUNCATED")
    assert error_line(coded, str(EXAMPLE_CAPTURE))[0] == "error: [TRUNCATED] @3: cut"
