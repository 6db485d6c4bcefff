"""The data-set layer: transfer syntaxes and the codec for the data set after a command set."""

from __future__ import annotations

from dimse_codec.dataset.codec import (
    MAX_SEQUENCE_DEPTH,
    EncodedDataset,
    decode_dataset,
    deflate,
    encode_dataset,
    inflate,
)
from dimse_codec.dataset.syntax_check import (
    COMPATIBLE_COMPRESSIONS,
    check_transfer_syntax,
    require_transfer_syntax,
)
from dimse_codec.dataset.transfer_syntax import (
    DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN,
    EXPLICIT_VR_BIG_ENDIAN,
    EXPLICIT_VR_LITTLE_ENDIAN,
    IMPLICIT_VR_LITTLE_ENDIAN,
    KNOWN_TRANSFER_SYNTAXES,
    TransferSyntax,
    TransferSyntaxLike,
    lookup_transfer_syntax,
)

__all__ = [
    "COMPATIBLE_COMPRESSIONS",
    "DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN",
    "EXPLICIT_VR_BIG_ENDIAN",
    "EXPLICIT_VR_LITTLE_ENDIAN",
    "IMPLICIT_VR_LITTLE_ENDIAN",
    "KNOWN_TRANSFER_SYNTAXES",
    "MAX_SEQUENCE_DEPTH",
    "EncodedDataset",
    "TransferSyntax",
    "TransferSyntaxLike",
    "check_transfer_syntax",
    "decode_dataset",
    "deflate",
    "encode_dataset",
    "inflate",
    "lookup_transfer_syntax",
    "require_transfer_syntax",
]
