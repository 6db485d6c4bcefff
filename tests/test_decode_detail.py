"""``decode -v``/``-vv``: command elements and dcmdump-style data set trees of real recordings.

The recordings are real traffic over loopback: DCMTK's storescu sending pydicom's CT_small.dcm
(a real CT image with private tags and pixel data) in Explicit VR Little Endian and deflated,
and a JPEG image whose pixel data is encapsulated, to storescp; a pynetdicom C-FIND whose
identifier holds a sequence; our client sending a data set that is damaged on purpose; and the
committed Storage Commitment example. Every tree is checked against pydicom's own reading of
the same data set bytes: the elements, in order and nesting, their lengths and their values;
pixel data is summarised by length and SHA-256, never printed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import subprocess
import sys
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool
from peers import dcmtk_server, free_port, run_tool
from pydicom.data import get_testdata_file
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import parse_fragments
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import read_dataset
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID
from recording import decode_records, messages_of, tcpdump

from dimse_codec.capture import CapturedMessage, DicomDirection
from dimse_codec.cli.main import main
from dimse_codec.dataset import encode_dataset

pytestmark = pytest.mark.peer

CLI = [sys.executable, "-m", "dimse_codec.cli.main", "decode"]
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "storage-commitment.pcap"
EXPLICIT = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
WORKLIST = "1.2.840.10008.5.1.4.31"
LINE = re.compile(
    r"^(?P<indent> *)\((?P<tag>[0-9a-f]{4},[0-9a-f]{4})\) (?P<vr>\w\w) (?P<value>.*?) +"
    r"# +(?P<length>\S+), (?P<vm>\d+) (?P<name>.*)$"
)
TREE_INDENT = 6
"""Where a top-level element's line starts under a message line (4, then 2 for the tree)."""


def sample(name: str) -> Path:
    path = get_testdata_file(name)
    assert path is not None, name
    return Path(str(path))


def decode_text(*args: str, capsys: pytest.CaptureFixture[str]) -> str:
    """``dimse-codec decode ARGS`` in this process: its stdout (exit 0 asserted)."""
    assert main(["decode", *args]) == 0
    return capsys.readouterr().out


def blocks(text: str) -> list[tuple[str, list[str]]]:
    """Each record's line with the indented lines under it (the summary left out)."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("summary:"):
            break
        if line.startswith(" "):
            out[-1][1].append(line)
        else:
            out.append((line, []))
    return out


def detail_of(text: str, name: str) -> list[list[str]]:
    """The detail lines under each line naming ``name`` (a message type), in order."""
    return [lines for line, lines in blocks(text) if name in line]


@dataclass(frozen=True)
class Shown:
    """One element line of a tree."""

    depth: int
    tag: str
    vr: str
    value: str
    length: str
    vm: int
    name: str


def tree(lines: list[str]) -> list[Shown]:
    """The element lines of a message's data set tree (items and delimiters left out)."""
    start = next(i for i, line in enumerate(lines) if line.startswith("    data set: "))
    shown = []
    for line in lines[start + 1 :]:
        match = LINE.match(line)
        if match is None or match["tag"].startswith("fffe"):
            continue
        depth = (len(match["indent"]) - TREE_INDENT) // 4
        shown.append(
            Shown(
                depth,
                match["tag"],
                match["vr"],
                match["value"],
                match["length"],
                int(match["vm"]),
                match["name"],
            )
        )
    return shown


def pydicom_reading(data: bytes, transfer_syntax: str) -> Dataset:
    """pydicom's own reading of data set bytes (a deflated one inflated with zlib first)."""
    if transfer_syntax == DEFLATED:
        data, transfer_syntax = zlib.decompress(data, -15), EXPLICIT
    syntax = UID(transfer_syntax)
    return read_dataset(
        BytesIO(data),
        is_implicit_VR=syntax.is_implicit_VR,
        is_little_endian=syntax.is_little_endian,
    )


def reference(ds: Dataset, depth: int = 0) -> Iterator[tuple[int, str, int, Any]]:
    """(depth, tag, wire length, element) of every element, in wire order, items flattened."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag, keep_deferred=True)
        length = raw.length if isinstance(raw, RawDataElement) else -1
        element = ds[tag]
        yield depth, f"{tag.group:04x},{tag.element:04x}", length, element
        if element.VR == "SQ":
            for item in element.value:
                yield from reference(item, depth + 1)


def check_against_pydicom(shown: list[Shown], data: bytes, transfer_syntax: str) -> int:
    """The tree has pydicom's elements, nesting, lengths and values; returns how many."""
    with warnings.catch_warnings():  # pydicom warns of a bad value as it reads it
        warnings.simplefilter("ignore")
        expected = list(reference(pydicom_reading(data, transfer_syntax)))
    assert [(s.depth, s.tag) for s in shown] == [(d, t) for d, t, _, _ in expected]
    for line, (_, _, length, element) in zip(shown, expected, strict=True):
        if length == 0xFFFFFFFF:
            assert line.length == "u/l"
        elif length >= 0:
            assert int(line.length) == length, line
        value = element.value
        if element.VR == "SQ":
            assert line.value == f"(Sequence with defined length #={len(value)})" or (
                line.value == f"(Sequence with undefined length #={len(value)})"
            )
        elif isinstance(value, bytes) and len(value) > 16:
            digest = hashlib.sha256(value).hexdigest()[:16]
            assert line.value.endswith(f"{len(value)} bytes, sha256 {digest}>"), line
        elif isinstance(value, str) and value and len(value) <= 64:
            assert line.value.startswith(f"[{value}]"), line
        elif isinstance(value, int) and element.VR in ("US", "UL", "SS", "SL"):
            assert line.value == str(value), line
        if element.VR != "SQ" and not isinstance(value, bytes):
            assert line.vm == element.VM, line
        if element.tag.is_private and not element.tag.is_private_creator:
            creator = element.private_creator
            said = f'(creator "{creator}")' if creator else "(creator unknown)"
            assert said in line.name, line
    return len(expected)


# -- recordings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recording:
    path: Path
    messages: list[CapturedMessage]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """storescu -> storescp, three associations: CT_small.dcm in Explicit VR Little Endian, a
    JPEG Baseline image (encapsulated pixel data), CT_small.dcm deflated."""
    storescp, storescu = require_tool("storescp"), require_tool("storescu")
    tmp = tmp_path_factory.mktemp("stores")
    plain_port, deflated_port = free_port(), free_port()
    (tmp / "a").mkdir()
    (tmp / "b").mkdir()
    capture = tmp / "stores.pcap"
    plain = [storescp, "+xa", "-od", str(tmp / "a"), str(plain_port)]
    deflated = [storescp, "+xd", "-od", str(tmp / "b"), str(deflated_port)]
    with (
        dcmtk_server(plain, plain_port, tmp / "a.log", tmp / "a"),
        dcmtk_server(deflated, deflated_port, tmp / "b.log", tmp / "b"),
        tcpdump(capture, [plain_port, deflated_port]),
    ):
        for options, port, name in (
            ([], plain_port, "CT_small.dcm"),
            (["-xy"], plain_port, "SC_rgb_jpeg_dcmtk.dcm"),
            (["-xd"], deflated_port, "CT_small.dcm"),
        ):
            sent = run_tool([storescu, *options, "127.0.0.1", str(port), str(sample(name))])
            assert sent.returncode == 0, sent.stdout
    return Recording(capture, messages_of(decode_records(capture)))


@pytest.fixture(scope="module")
def detailed(stores: Recording) -> str:
    """``decode -vv`` of the stores recording."""
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["decode", "-vv", str(stores.path)]) == 0
    return out.getvalue()


def store_requests(recording: Recording) -> list[CapturedMessage]:
    return [m for m in recording.messages if m.name == "C-STORE-RQ"]


def test_command_elements_under_each_message(
    stores: Recording, capsys: pytest.CaptureFixture[str]
) -> None:
    """-v: every element of every command set, named and read as a person reads it."""
    shown = blocks(decode_text("-v", str(stores.path), capsys=capsys))
    messages = [(line, lines) for line, lines in shown if lines]
    assert len(messages) == len(stores.messages) == 6
    for (line, lines), message in zip(messages, stores.messages, strict=True):
        assert message.name in line
        assert lines[0] == f"    command set: {len(message.command_set)} bytes, " + (
            f"{len(lines) - 1} element(s)"
        )
        assert not any("data set:" in one for one in lines)  # that is -vv
        text = "\n".join(lines)
        assert "CommandField " in text and message.name in text
        if message.name == "C-STORE-RQ":
            assert "AffectedSOPClassUID" in text
            assert re.search(r"Priority +US +2 +0 \(0000H\) MEDIUM", text), text
            assert re.search(r"CommandDataSetType +US +2 +\d+ \(\w+H\) data set follows", text)
            uid = str(message.primitive.AffectedSOPClassUID)
            assert f"{uid} ({UID(uid).name})" in text
        else:
            assert re.search(r"Status +US +2 +0 \(0000H\) Success", text), text
    events = [line for line, lines in shown if not lines]
    assert len(events) == 12  # RQ, AC, RELEASE-RQ, -RP per association: no detail under them


def test_ct_image_tree_is_pydicoms_reading(stores: Recording, detailed: str) -> None:
    """-vv on a real CT image: pydicom's elements, lengths and values; private tags with their
    creator; pixel data as length and digest, so the text is a fraction of the pixel bytes."""
    text = detailed
    requests = store_requests(stores)
    shown = detail_of(text, "C-STORE-RQ")
    assert len(shown) == len(requests) == 3
    lines, message = shown[0], requests[0]
    assert message.transfer_syntax == EXPLICIT
    assert any(
        line == f"    data set: {len(message.dataset or b'')} bytes, Explicit VR Little Endian"
        for line in lines
    )
    count = check_against_pydicom(tree(lines), bytes(message.dataset or b""), EXPLICIT)
    assert count > 100  # CT_small.dcm has a full CT header
    pixel = [s for s in tree(lines) if s.tag == "7fe0,0010"]
    assert len(pixel) == 1 and pixel[0].vr == "OW" and pixel[0].length == "32768"
    assert any("(creator " in s.name for s in tree(lines))  # CT_small.dcm's GEMS private tags
    assert max(len(line) for line in lines) < 200  # pixel data summarised, not printed
    assert len("\n".join(lines)) < 32768


def test_encapsulated_pixel_data_counts_fragments(stores: Recording, detailed: str) -> None:
    text = detailed
    message = store_requests(stores)[1]
    assert message.transfer_syntax == JPEG_BASELINE
    lines = detail_of(text, "C-STORE-RQ")[1]
    assert any(line.endswith("JPEG Baseline (Process 1)") for line in lines if "data set:" in line)
    ds = pydicom_reading(bytes(message.dataset or b""), EXPLICIT)
    pixel = ds.get_item(0x7FE00010, keep_deferred=True)
    assert pixel.length == 0xFFFFFFFF
    value = pixel.value
    offsets = int.from_bytes(value[4:8], "little")
    fragments = 1 + parse_fragments(value[8 + offsets :])[0]  # the offset table is an item too
    line = next(s for s in tree(lines) if s.tag == "7fe0,0010")
    digest = hashlib.sha256(value).hexdigest()[:16]
    assert line.length == "u/l"
    assert line.vr == "OB"
    assert line.value == (
        f"<encapsulated: {fragments} fragment item(s), {len(value)} bytes, sha256 {digest}>"
    )


def test_deflated_data_set_inflated_and_read(stores: Recording, detailed: str) -> None:
    text = detailed
    deflated = store_requests(stores)[2]
    assert deflated.transfer_syntax == DEFLATED
    shown = detail_of(text, "C-STORE-RQ")
    assert (
        f"    data set: {len(deflated.dataset or b'')} bytes, Deflated Explicit VR Little Endian"
        in (shown[2])
    )
    check_against_pydicom(tree(shown[2]), bytes(deflated.dataset or b""), DEFLATED)
    # the same image, so the same tree as when it was sent plain
    assert tree(shown[2]) == tree(shown[0])


def test_line_cap(stores: Recording, capsys: pytest.CaptureFixture[str]) -> None:
    text = decode_text("-vv", "--max-detail-lines", "10", str(stores.path), capsys=capsys)
    message = store_requests(stores)[0]
    lines = detail_of(text, "C-STORE-RQ")[0]
    start = lines.index(
        f"    data set: {len(message.dataset or b'')} bytes, Explicit VR Little Endian"
    )
    body = lines[start + 1 :]
    total = len(list(reference(pydicom_reading(bytes(message.dataset or b""), EXPLICIT))))
    shown = [line for line in body[:10] if LINE.match(line) and "(fffe," not in line]
    assert body[10] == f"      ... {total - len(shown)} more element(s) not shown"
    assert len(body) == 11


def test_jobs_render_the_same_text(stores: Recording) -> None:
    """--jobs 3: each worker renders the detail, and the text equals --jobs 1's."""
    outputs = []
    for jobs in ("1", "3"):
        done = subprocess.run(
            [*CLI, "-vv", "--jobs", jobs, str(stores.path)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert "(7fe0,0010)" in outputs[0]
    assert outputs[0] == outputs[1]


def test_incomplete_message_is_not_decoded(
    stores: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A capture that ends at a C-STORE-RQ's last frame, every frame cut to 20000 bytes (the
    data set of 38 KB crossed loopback in one): its partial data set is said, not decoded."""
    editcap = require_tool("editcap")
    message = store_requests(stores)[0]
    cut = tmp_path / "cut.pcap"
    keep = f"1-{message.frame}"
    done = run_tool([editcap, "-r", "-s", "20000", str(stores.path), str(cut), keep])
    assert done.returncode == 0, done.stdout
    text = decode_text("-vv", str(cut), capsys=capsys)
    lines = detail_of(text, "C-STORE-RQ")[0]
    said = [line for line in lines if line.startswith("    data set: ")]
    assert len(said) == 1 and "the message is incomplete" in said[0]
    assert said[0].endswith("its partial data set is not decoded")
    assert not any(LINE.match(line) and line.startswith(" " * TREE_INDENT) for line in lines)


def test_guessed_transfer_syntax_is_said(
    stores: Recording, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A capture that begins after the A-ASSOCIATE exchange: the data set is decoded in the
    transfer syntax guessed from its bytes, and the header line says so."""
    editcap = require_tool("editcap")
    message = store_requests(stores)[0]
    late = tmp_path / "late.pcap"
    keep = f"{message.first_frame}-{10**6}"
    done = run_tool([editcap, "-r", str(stores.path), str(late), keep])
    assert done.returncode == 0, done.stdout
    text = decode_text("-vv", str(late), capsys=capsys)
    lines = detail_of(text, "C-STORE-RQ")[0]
    said = next(line for line in lines if line.startswith("    data set: "))
    assert said.startswith(
        f"    data set: {len(message.dataset or b'')} bytes, Explicit VR Little Endian (guessed: "
    )
    assert tree(lines) == tree(
        detail_of(decode_text("-vv", str(stores.path), capsys=capsys), "C-STORE-RQ")[0]
    )


# -- a sequence in a C-FIND identifier -----------------------------------------------------------


def worklist_item(name: str) -> Dataset:
    step = Dataset()
    step.Modality = "CT"
    step.ScheduledStationAETitle = "CT01"
    step.ScheduledProcedureStepStartDate = "20260101"
    ds = Dataset()
    ds.PatientName = name
    ds.PatientID = "ID-" + name[:3]
    ds.ScheduledProcedureStepSequence = [step]
    return ds


def test_find_identifier_with_a_sequence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pynetdicom import AE, evt

    def on_find(event: Any) -> Iterator[tuple[int, Dataset | None]]:
        yield 0xFF00, worklist_item("Doe^Jane")
        yield 0xFF00, worklist_item("Roe^Richard")

    scp = AE(ae_title="WORKLIST")
    scp.add_supported_context(WORKLIST, [EXPLICIT])
    server = scp.start_server(
        ("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_FIND, on_find)]
    )
    capture = tmp_path / "find.pcap"
    try:
        port = server.server_address[1]
        with tcpdump(capture, [port]):
            scu = AE(ae_title="MODALITY")
            scu.acse_timeout = scu.dimse_timeout = scu.network_timeout = 30
            scu.add_requested_context(WORKLIST, [EXPLICIT])
            assoc = scu.associate("127.0.0.1", port, ae_title="WORKLIST")
            assert assoc.is_established
            query = worklist_item("*")
            query.ScheduledProcedureStepSequence[0].Modality = "CT"
            statuses = [status.Status for status, _ in assoc.send_c_find(query, WORKLIST)]
            assoc.release()
    finally:
        server.shutdown()
    assert statuses == [0xFF00, 0xFF00, 0x0000]
    messages = messages_of(decode_records(capture))
    with_data = [m for m in messages if m.dataset is not None]
    assert [m.name for m in with_data] == ["C-FIND-RQ", "C-FIND-RSP", "C-FIND-RSP"]
    text = decode_text("-vv", str(capture), capsys=capsys)
    shown = [lines for line, lines in blocks(text) if " C-FIND-" in line and " ds=" in line]
    assert len(shown) == 3
    for lines, message in zip(shown, with_data, strict=True):
        elements = tree(lines)
        assert check_against_pydicom(elements, bytes(message.dataset or b""), EXPLICIT) == 6
        sequence = next(s for s in elements if s.name == "ScheduledProcedureStepSequence")
        assert sequence.value.endswith("length #=1)")
        assert [s.name for s in elements if s.depth == 1] == [
            "Modality",
            "ScheduledStationAETitle",
            "ScheduledProcedureStepStartDate",
        ]
        assert any(line.lstrip().startswith("(fffe,e000) na (Item with") for line in lines)
    assert "[Doe^Jane]" in "\n".join(shown[1]) and "[Roe^Richard]" in "\n".join(shown[2])


# -- a damaged data set ---------------------------------------------------------------------------


def element_bytes(keyword: str, value: Any) -> bytes:
    """One element in Explicit VR Little Endian (pydicom's warning on a bad value silenced: the
    bad value is the point)."""
    ds = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        setattr(ds, keyword, value)
        return encode_dataset(ds, EXPLICIT)


def test_damaged_data_set_diagnostics_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Our client sends a Part-10 file's data set as it is: PatientName after PatientID (out of
    order) and an over-long value inside a sequence item; each diagnostic stands under its
    element, at its depth."""
    storescp = require_tool("storescp")
    from dimse_codec.net import BlockingClient

    item = Dataset()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        item.RequestedProcedureID = "X" * 20  # SH holds at most 16 characters
    uid = "1.2.826.0.1.3680043.8.498.1"
    body = b"".join(
        [
            element_bytes("SOPClassUID", "1.2.840.10008.5.1.4.1.1.7"),
            element_bytes("SOPInstanceUID", uid),
            element_bytes("PatientID", "DAMAGED"),
            element_bytes("PatientName", "Out^Of^Order"),
            element_bytes("RequestAttributesSequence", [item]),
        ]
    )
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = EXPLICIT
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_file_meta_info(buffer, meta, enforce_standard=True)
    path = tmp_path / "damaged.dcm"
    path.write_bytes(b"\0" * 128 + b"DICM" + buffer.getvalue() + body)

    port = free_port()
    out = tmp_path / "out"
    out.mkdir()
    capture = tmp_path / "damaged.pcap"
    argv = [storescp, "+xa", "+B", "-od", str(out), str(port)]
    with (
        dcmtk_server(argv, port, tmp_path / "scp.log", out),
        tcpdump(capture, [port]),
        BlockingClient("127.0.0.1", port, datasets=[path]) as client,
    ):
        client.store(path)
    requests = [m for m in messages_of(decode_records(capture)) if m.name == "C-STORE-RQ"]
    assert len(requests) == 1 and bytes(requests[0].dataset or b"") == body
    assert requests[0].direction is DicomDirection.REQUESTOR_TO_ACCEPTOR
    text = decode_text("-vv", str(capture), capsys=capsys)
    lines = detail_of(text, "C-STORE-RQ")[0]
    name = next(i for i, line in enumerate(lines) if line.endswith(" PatientName"))
    assert lines[name + 1].startswith("        ! OUT_OF_ORDER @")
    nested = next(i for i, line in enumerate(lines) if line.endswith(" RequestedProcedureID"))
    assert lines[nested].startswith("          (0040,1001) SH [XXXX")
    assert lines[nested + 1].startswith("            ! PYDICOM_WARNING @")
    assert "exceeds the maximum length of 16" in lines[nested + 1]
    check_against_pydicom(tree(lines), body, EXPLICIT)


# -- the committed example, filters, refusals ----------------------------------------------------


def test_storage_commitment_sequences(capsys: pytest.CaptureFixture[str]) -> None:
    text = decode_text("-vv", str(EXAMPLE), capsys=capsys)
    messages = [m for m in messages_of(decode_records(EXAMPLE)) if m.dataset is not None]
    shown = [lines for line, lines in blocks(text) if " ds=" in line]
    assert [m.name for m in messages] == ["N-ACTION-RQ", "N-EVENT-REPORT-RQ"]
    for lines, message in zip(shown, messages, strict=True):
        elements = tree(lines)
        check_against_pydicom(elements, bytes(message.dataset or b""), EXPLICIT)
        assert [s.name for s in elements if s.depth == 1] == [
            "ReferencedSOPClassUID",
            "ReferencedSOPInstanceUID",
        ] * 2
        assert "(CT Image Storage)" in "\n".join(lines)


def test_filtered_decode_shows_detail_of_what_it_shows(capsys: pytest.CaptureFixture[str]) -> None:
    text = decode_text("-v", "--command", "N-ACTION", str(EXAMPLE), capsys=capsys)
    shown = blocks(text)
    messages = [(line, lines) for line, lines in shown if lines]
    assert [m for line, _ in messages for m in re.findall(r"N-ACTION-R\w+", line)] == [
        "N-ACTION-RQ",
        "N-ACTION-RSP",
    ]
    assert all(lines[0].startswith("    command set: ") for _, lines in messages)
    assert "C-ECHO" not in text.split("summary:")[0]


def test_detail_with_json_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", "-v", "--json", str(EXAMPLE)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and captured.err.startswith("error: -v/-vv")
