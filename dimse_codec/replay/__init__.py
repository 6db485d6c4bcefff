"""Play a capture again, sans-I/O: one side of a recorded DICOM conversation against a live peer.

:mod:`~dimse_codec.replay.script` turns capture records into per-association scripts (each
request with everything the acceptor sent for it), :mod:`~dimse_codec.replay.compare` compares
the answers of a live SCP with the captured ones, :mod:`~dimse_codec.replay.answers` plays the
captured acceptor's answers to a live SCU. The sockets are in ``dimse-codec replay``
(:mod:`dimse_codec.cli.replay`). See ``docs/replay.md``.
"""

from dimse_codec.replay.answers import AcceptorScript, CapturedAcceptor, answer_message
from dimse_codec.replay.compare import (
    AssociationVerdict,
    Difference,
    ReplayedExchange,
    ReplayedResponse,
    compare_exchange,
    compare_negotiation,
)
from dimse_codec.replay.script import (
    CapturedAssociation,
    Exchange,
    captured_associations,
    fresh_request,
)

__all__ = [
    "AcceptorScript",
    "AssociationVerdict",
    "CapturedAcceptor",
    "CapturedAssociation",
    "Difference",
    "Exchange",
    "ReplayedExchange",
    "ReplayedResponse",
    "answer_message",
    "captured_associations",
    "compare_exchange",
    "compare_negotiation",
    "fresh_request",
]
