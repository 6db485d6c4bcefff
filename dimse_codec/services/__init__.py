"""The DIMSE service layer (PS3.7 9 and 10) on a :class:`~dimse_codec.upper_layer.Connection`.

Sans-I/O like the layers below: :class:`Services` serves the peer's requests with a handler per
service (the 12 DIMSE services; C-FIND, C-GET and C-MOVE as generators, C-CANCEL stops them)
and sends ours, pairing responses with requests (:class:`RequestTracker`). Storage Commitment
both ways is in :mod:`dimse_codec.services.commitment`; what to propose and accept in
:mod:`dimse_codec.services.contexts`; Part-10 files read and written in
:mod:`dimse_codec.services.part10`. The asyncio and blocking I/O is :mod:`dimse_codec.net`.
See ``docs/net.md``.
"""

from dimse_codec.services.commitment import (
    COMMITMENT_ACCEPTOR_ROLES,
    COMMITMENT_REPORT_ROLES,
    commitment_handler,
    commitment_report,
    commitment_request,
    report_receiver,
)
from dimse_codec.services.contexts import (
    STORAGE_COMMITMENT,
    VERIFICATION,
    contexts_for,
    is_storage,
    supported_for,
)
from dimse_codec.services.part10 import FileMeta, Instance, file_meta, read_file_meta, read_instance
from dimse_codec.services.results import RequestTracker, Response, complete_request
from dimse_codec.services.session import (
    CANCEL,
    Handler,
    Handlers,
    RequestElsewhere,
    ServiceRequest,
    Services,
    SpooledDataset,
    StoreElsewhere,
    Work,
)

__all__ = [
    "CANCEL",
    "COMMITMENT_ACCEPTOR_ROLES",
    "COMMITMENT_REPORT_ROLES",
    "STORAGE_COMMITMENT",
    "VERIFICATION",
    "FileMeta",
    "Handler",
    "Handlers",
    "Instance",
    "RequestElsewhere",
    "RequestTracker",
    "Response",
    "ServiceRequest",
    "Services",
    "SpooledDataset",
    "StoreElsewhere",
    "Work",
    "commitment_handler",
    "commitment_report",
    "commitment_request",
    "complete_request",
    "contexts_for",
    "file_meta",
    "is_storage",
    "read_file_meta",
    "read_instance",
    "report_receiver",
    "supported_for",
]
