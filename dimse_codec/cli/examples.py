"""The examples each subcommand's ``--help`` ends with, and the formatter that keeps them whole.

Every subcommand's parser is made with :func:`with_examples`: its description is wrapped to the
terminal as argparse does, and an ``examples:`` epilog lists real command lines, one per line,
each under a comment saying what it does. The test suite parses every line, so an example that
no longer matches the options fails there instead of misleading a reader.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["EXAMPLES", "HelpWithExamples", "epilog", "overview", "with_examples"]

EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "inspect": (
        ("dimse-codec inspect docs/examples/c-echo-rq.bin", "one command set, element by element"),
        ("dimse-codec inspect --hexdump docs/examples/c-echo-rq.bin", "with each element's bytes"),
        ("dimse-codec inspect --json --strict docs/examples/c-move-rsp-dup.bin", "as JSON, strict"),
        (
            "dimse-codec inspect docs/examples/storage-commitment-association.pdus",
            "a PDU stream",
        ),
        ("xxd -p command.bin | dimse-codec inspect -", "hex text from standard input"),
    ),
    "decode": (
        ("dimse-codec decode monday.pcap", "text lines and a summary"),
        ("dimse-codec decode --port 11112 monday.pcapng.gz", "DICOM on a port, mid-association"),
        ("dimse-codec decode --json /var/captures/monday/", "a folder of captures as NDJSON"),
        ("dimse-codec decode monday.pcap --status failure", "the failures, with their requests"),
        (
            "dimse-codec decode monday.pcap --format parquet --output decoded",
            "rows for DuckDB or pandas",
        ),
        ("tcpdump -i eth0 -U -w - port 104 | dimse-codec decode -", "live, as it happens"),
    ),
    "report": (
        ("dimse-codec report monday.pcap -o report.html", "one offline HTML page"),
        (
            "dimse-codec report /var/captures/monday/ -o monday.html --title Monday",
            "a folder of captures",
        ),
        (
            "dimse-codec report monday.pcap -o failures.html --status failure",
            "only failing exchanges",
        ),
        (
            "dimse-codec report monday.pcap -o ct.html --ae CT_MODALITY --detail 50",
            "one AE title, 50 ladders",
        ),
    ),
    "fuzz": (
        ("dimse-codec fuzz 127.0.0.1 11112", "100 examples against a local SCP"),
        (
            "dimse-codec fuzz 127.0.0.1 11112 --called-ae QRSCP --max-examples 400 --seed 7",
            "reproducible",
        ),
        ("dimse-codec fuzz 127.0.0.1 11112 --out findings/ -v", "one line per example"),
        (
            "dimse-codec fuzz 127.0.0.1 11112 --called-ae QRSCP --move-port 11113",
            "be the C-MOVE destination MOVESCU the SCP sends its sub-operations to",
        ),
    ),
    "probe": (
        ("dimse-codec probe 127.0.0.1 11112", "every probe against a local SCP, as a table"),
        (
            "dimse-codec probe 127.0.0.1 11112 --pid 4242 --storage /srv/dicom/incoming",
            "with the server's memory and a look outside its storage folder",
        ),
        (
            "dimse-codec probe 127.0.0.1 11112 --only uid-traversal deflate-bomb --json",
            "two families, as NDJSON",
        ),
        (
            "dimse-codec probe 127.0.0.1 11112 --only idle-associations artim --idle 64 --wait 90",
            "64 idle associations, and idle connections watched for 90 s",
        ),
    ),
    "echo": (
        ("dimse-codec echo 127.0.0.1 11112", "C-ECHO with the default AE titles"),
        ("dimse-codec echo pacs.example 104 --aet MODALITY --aec ARCHIVE", "with AE titles"),
        ("dimse-codec echo 127.0.0.1 11112 --timeout 5", "give up after 5 s"),
    ),
    "store": (
        ("dimse-codec store 127.0.0.1 11112 image.dcm", "one Part-10 file"),
        ("dimse-codec store pacs.example 104 --aec ARCHIVE study/", "a folder, recursively"),
        ("dimse-codec store 127.0.0.1 11112 a.dcm b.dcm --max-pdu 65536", "with larger PDUs"),
    ),
    "replay": (
        (
            "dimse-codec replay visit.pcap --to 127.0.0.1 11112",
            "play every captured association against a test SCP, one line per difference",
        ),
        (
            "dimse-codec replay visit.pcap --to 127.0.0.1 11112 --association 3 --json",
            "only association 3, as NDJSON (differences, then the verdict)",
        ),
        (
            "dimse-codec replay visit.pcap --listen 11112 --count 1",
            "answer one live association (echoscu, storescu, findscu...) as the captured SCP did",
        ),
    ),
    "serve": (
        ("dimse-codec serve 11112 --out received/", "store what arrives on port 11112"),
        ("dimse-codec serve 0 --aet ARCHIVE", "any free port, called AE title ARCHIVE only"),
        ("dimse-codec serve 104 --bind 0.0.0.0 --max-associations 8", "on every interface"),
    ),
}
"""Per subcommand: (command line, what it does). Paths under ``docs/examples`` exist in the
repository; the others stand for the reader's files."""


class HelpWithExamples(argparse.RawDescriptionHelpFormatter):
    """Descriptions wrapped to the terminal as usual; the ``examples:`` epilog kept line by line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def epilog(name: str) -> str:
    """The ``examples:`` block of subcommand ``name``: each line under its comment."""
    shown = [f"  # {comment}\n  {line}" for line, comment in EXAMPLES[name]]
    return "examples:\n" + "\n".join(shown)


def overview() -> str:
    """The top-level ``--help`` epilog: the first example of every subcommand, and where the
    rest are."""
    shown = [f"  {EXAMPLES[name][0][0]}" for name in EXAMPLES]
    return (
        "examples:\n" + "\n".join(shown) + "\n\n"
        "'dimse-codec COMMAND --help' gives a command's options and more examples."
    )


def with_examples(name: str) -> dict[str, Any]:
    """The ``add_parser`` keywords that give subcommand ``name`` its examples epilog."""
    return {"formatter_class": HelpWithExamples, "epilog": epilog(name)}
