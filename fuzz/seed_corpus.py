"""Write seed corpora for the harnesses from the strategies and the project's own vectors."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from pydicom.dataset import Dataset

from dimse_codec import encode_message
from dimse_codec.dataset import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    encode_dataset,
)
from dimse_codec.strategies import primitives

ROOT = Path(__file__).resolve().parent


def _save(folder: Path, data: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def write(corpus: Path, examples: int) -> None:
    """Fill ``corpus/command_set`` and ``corpus/dataset`` with valid inputs to mutate from."""
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


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "corpus", 200)
