"""Write seed corpora for the harnesses from the strategies and the project's own vectors."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset

from dimse_codec import DIMSEPrimitive, encode_message
from dimse_codec.dataset import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    encode_dataset,
)
from dimse_codec.pdata import encode_pdata
from dimse_codec.pdu import PDU, encode_pdu
from dimse_codec.strategies import (
    MalformedPDU,
    malformed_pdu_bytes,
    pdus,
    primitives,
    quirky_pdus,
)

ROOT = Path(__file__).resolve().parent


def _save(folder: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def write(corpus: Path, examples: int) -> None:
    """Fill ``corpus/command_set``, ``corpus/dataset`` and ``corpus/pdu`` with inputs to mutate."""
    commands = corpus / "command_set"

    @settings(max_examples=examples, database=None, suppress_health_check=list(HealthCheck))
    @given(primitives())
    def one(primitive: object) -> None:
        _save(commands, encode_message(primitive).command_set)  # type: ignore[arg-type]

    one()
    for example in sorted((ROOT.parent / "docs" / "examples").glob("*.bin")):
        _save(commands, example.read_bytes())
    sample = Dataset()
    sample.PatientName = "Tube^HeNe"
    sample.PatientID = "Test1101"
    sample.Rows = 16
    syntaxes = (IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_BIG_ENDIAN,
                DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN)
    for index, syntax in enumerate(syntaxes):
        _save(corpus / "dataset", bytes([index]) + encode_dataset(sample, syntax))
    write_pdus(corpus / "pdu", examples)
    write_streams(corpus / "stream", examples)


def write_streams(folder: Path, examples: int) -> None:
    """Whole messages as P-DATA-TF streams at several limits, and the example PDU streams.

    The first byte is the harness's control byte (feed size, policy, maximum length).
    """

    @settings(max_examples=examples, database=None, suppress_health_check=list(HealthCheck))
    @given(primitives(), st.sampled_from([0, 8, 20, 64, 16382]), st.integers(0, 255))
    def one(primitive: DIMSEPrimitive, limit: int, control: int) -> None:
        plan = encode_pdata(primitive, 1, max_pdu_length=limit)
        _save(folder, bytes([control]) + bytes(plan))

    one()
    for example in sorted((ROOT.parent / "docs" / "examples").glob("*.pdus")):
        _save(folder, b"\x07" + example.read_bytes())


def write_pdus(folder: Path, examples: int) -> None:
    """Fill ``folder`` with valid, quirky and malformed PDUs and pynetdicom's PDU vectors."""

    @settings(max_examples=examples, database=None, suppress_health_check=list(HealthCheck))
    @given(pdus())
    def valid(pdu: PDU) -> None:
        _save(folder, encode_pdu(pdu))

    @settings(max_examples=examples // 2, database=None, suppress_health_check=list(HealthCheck))
    @given(quirky_pdus())
    def quirky(pdu: PDU) -> None:
        _save(folder, encode_pdu(pdu))

    @settings(max_examples=examples, database=None, suppress_health_check=list(HealthCheck))
    @given(malformed_pdu_bytes())
    def malformed(case: MalformedPDU) -> None:
        _save(folder, case.data)

    valid()
    quirky()
    malformed()
    for vector in _pynetdicom_vectors():
        _save(folder, vector)


def _pynetdicom_vectors() -> list[bytes]:
    """pynetdicom's PDU vectors that tests/test_pdu.py decodes, its PDV one in a P-DATA-TF."""
    try:
        from pynetdicom.tests import encoded_pdu_items as vectors
    except ImportError:  # pynetdicom is a test extra; the strategies alone still seed the corpus
        print("pynetdicom not installed: PDU seeds come from the strategies only", file=sys.stderr)
        return []
    names = sorted(n for n in dir(vectors) if n.startswith(("a_", "p_data_tf")))
    found = [getattr(vectors, name) for name in names]
    pdv = vectors.presentation_data_value  # a PDV item on its own: wrap it in a P-DATA-TF
    found.append(b"\x04\x00" + len(pdv).to_bytes(4, "big") + pdv)
    return found


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "corpus", 200)
