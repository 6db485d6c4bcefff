"""Every subcommand's ``--help`` ends with examples that parse, and the top level lists what
exists: the examples cannot rot, the overview cannot promise a command that is not there."""

from __future__ import annotations

import shlex

import pytest

from dimse_codec.cli.examples import EXAMPLES
from dimse_codec.cli.main import SUBCOMMANDS, build_parser, main


def _dimse_codec_words(line: str) -> list[str]:
    """The arguments given to ``dimse-codec`` in an example line (after a pipe, if any)."""
    command = line.rsplit("|", 1)[-1]
    words = shlex.split(command)
    assert words[0] == "dimse-codec", line
    return words[1:]


def test_every_subcommand_has_three_to_six_examples() -> None:
    assert set(EXAMPLES) == set(SUBCOMMANDS)
    for name, examples in EXAMPLES.items():
        assert 3 <= len(examples) <= 6, name
        for line, comment in examples:
            assert _dimse_codec_words(line)[0] == name and comment


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_example_parses_to_its_subcommand(name: str) -> None:
    parser = build_parser()
    for line, _ in EXAMPLES[name]:
        try:
            args = parser.parse_args(_dimse_codec_words(line))
        except SystemExit as exc:  # argparse refused it: the example rotted
            pytest.fail(f"{line!r} does not parse ({exc.code})")
        assert args.handler.__module__ == f"dimse_codec.cli.{name}", line


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_shows_the_examples_line_by_line(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([name, "--help"]) == 0
    shown = capsys.readouterr().out
    tail = shown.split("\nexamples:\n", 1)[1]
    for line, comment in EXAMPLES[name]:
        assert f"\n  {line}\n" in f"\n{tail}\n" and f"  # {comment}\n" in tail


def test_the_top_level_help_lists_only_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    shown = capsys.readouterr().out
    listed = shown.split("\n  COMMAND\n", 1)[1].split("\n\n", 1)[0]
    names = [line.split()[0] for line in listed.splitlines() if line[:5].strip() and line[4] != " "]
    assert names == list(SUBCOMMANDS)
    description = shown.split("\n\n", 2)[1].lower()
    assert "encode" not in description  # there is no encode subcommand
    for name in SUBCOMMANDS:
        assert f"  dimse-codec {name} " in shown  # one example each
    assert "'dimse-codec COMMAND --help'" in shown
