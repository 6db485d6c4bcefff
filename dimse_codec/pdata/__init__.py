"""P-DATA (PS3.8 9.3.5, Annex E): DIMSE messages cut into P-DATA-TF PDUs and reassembled from them.

:func:`encode_pdata` plans a primitive as PDUs for a peer's maximum length without copying its
data set; :class:`StreamDecoder` turns the bytes a peer sends, split anywhere, into PDUs and
whole messages. :mod:`~dimse_codec.pdata.limits` holds the one model of what the maximum length
counts.
"""

from dimse_codec.pdata.events import (
    Event,
    Fragment,
    Fragments,
    IncompleteMessage,
    MessageReceived,
    PDataReceived,
    PDUReceived,
    StreamDiagnostic,
)
from dimse_codec.pdata.fragmenter import Buffer, PDataMessage, encode_pdata, fragment_message
from dimse_codec.pdata.limits import (
    MAX_PDU_LENGTH_FIELD,
    MIN_MAX_PDU_LENGTH,
    PDV_OVERHEAD,
    UNLIMITED_FRAGMENT,
    check_max_pdu_length,
    fragment_size,
)
from dimse_codec.pdata.stream import DatasetSink, StreamDecoder

__all__ = [
    "MAX_PDU_LENGTH_FIELD",
    "MIN_MAX_PDU_LENGTH",
    "PDV_OVERHEAD",
    "UNLIMITED_FRAGMENT",
    "Buffer",
    "DatasetSink",
    "Event",
    "Fragment",
    "Fragments",
    "IncompleteMessage",
    "MessageReceived",
    "PDUReceived",
    "PDataMessage",
    "PDataReceived",
    "StreamDecoder",
    "StreamDiagnostic",
    "check_max_pdu_length",
    "encode_pdata",
    "fragment_message",
    "fragment_size",
]
