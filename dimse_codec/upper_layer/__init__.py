"""The DICOM Upper Layer protocol (PS3.8 9.2) as one sans-I/O object per transport connection.

:class:`Connection` walks :data:`~dimse_codec.tables.upper_layer.TRANSITIONS`: local calls and
received bytes in, :mod:`events <dimse_codec.upper_layer.events>` and bytes to send out, timers
as explicit calls with the time passed in. See ``docs/connection.md``.
"""

from dimse_codec.upper_layer.connection import ARTIM_TIMEOUT, Connection, ConnectionRole, Timeouts
from dimse_codec.upper_layer.events import (
    Aborted,
    AssociationAccepted,
    AssociationRejected,
    AssociationRequested,
    ConnectionClosed,
    Event,
    MessageReceived,
    ProtocolDiagnostic,
    ReleaseConfirmed,
    Released,
    ReleaseRequested,
)
from dimse_codec.upper_layer.machine import Machine

__all__ = [
    "ARTIM_TIMEOUT",
    "Aborted",
    "AssociationAccepted",
    "AssociationRejected",
    "AssociationRequested",
    "Connection",
    "ConnectionClosed",
    "ConnectionRole",
    "Event",
    "Machine",
    "MessageReceived",
    "ProtocolDiagnostic",
    "ReleaseConfirmed",
    "ReleaseRequested",
    "Released",
    "Timeouts",
]
