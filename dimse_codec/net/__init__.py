"""Thin I/O on the sans-I/O layers: an asyncio :class:`Client` and :class:`Server`, and a
:class:`BlockingClient` over plain sockets, all on one :class:`~dimse_codec.upper_layer.Connection`
and its :class:`~dimse_codec.services.Services` each; ``ssl`` passes an ``ssl.SSLContext``
through for DICOM over TLS. See ``docs/net.md``.
"""

from dimse_codec.net._common import (
    AssociationAborted,
    AssociationRejectedError,
    DatasetSpool,
    NetError,
)
from dimse_codec.net.blocking import BlockingClient
from dimse_codec.net.client import CLIENT_TIMEOUTS, Client, perform_work
from dimse_codec.net.server import SERVER_TIMEOUTS, Server, serve

__all__ = [
    "CLIENT_TIMEOUTS",
    "SERVER_TIMEOUTS",
    "AssociationAborted",
    "AssociationRejectedError",
    "BlockingClient",
    "Client",
    "DatasetSpool",
    "NetError",
    "Server",
    "perform_work",
    "serve",
]
