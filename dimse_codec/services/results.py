"""The requestor's half of DIMSE: requests filled in, and responses paired with their requests.

:class:`RequestTracker` turns the responses a :class:`~dimse_codec.upper_layer.Connection`
delivers into per-request :class:`Response` values, Pending ones included, so that an I/O layer
only has to wait for the next response of a Message ID. :func:`complete_request` fills in what
the caller obviously meant and left out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from pydicom.dataset import Dataset

from dimse_codec.association import Association
from dimse_codec.dataset.codec import decode_dataset
from dimse_codec.dimse.codec import message_spec
from dimse_codec.dimse.primitives import DIMSEPrimitive
from dimse_codec.dimse.status import category
from dimse_codec.errors import InvalidParameter
from dimse_codec.services.contexts import VERIFICATION
from dimse_codec.tables.status import StatusCategory
from dimse_codec.upper_layer import MessageReceived

__all__ = ["RequestTracker", "Response", "complete_request"]

_SOP_CLASS_FIELDS = ("AffectedSOPClassUID", "RequestedSOPClassUID")
"""The request parameter that names a request's SOP class, whichever the service has."""


@dataclass(frozen=True, slots=True)
class Response:
    """One response (or Pending response) to a request of ours, as received.

    ``raw`` is the response's data set as received (``None`` when it had none); ``dataset``
    decodes it in the context's transfer syntax.
    """

    primitive: DIMSEPrimitive
    message_id: int
    transfer_syntax: str | None
    raw: bytes | None = field(default=None, repr=False)

    @property
    def status(self) -> int:
        """The (0000,0900) Status (0xFFFF if the peer left it out, which no status uses)."""
        value = self.primitive.values().get("Status")
        return 0xFFFF if value is None else int(value)

    @property
    def category(self) -> StatusCategory:
        """Success, Warning, Failure, Cancel or Pending (PS3.7 C.1)."""
        return category(self.status)

    @property
    def pending(self) -> bool:
        """Whether more responses to the same request follow."""
        return self.category is StatusCategory.PENDING

    @property
    def ok(self) -> bool:
        """Whether the status is Success or Warning."""
        return self.category in (StatusCategory.SUCCESS, StatusCategory.WARNING)

    @property
    def dataset(self) -> Dataset | None:
        """The response's data set decoded in its context's transfer syntax, if it had one."""
        if self.raw is None:
            return None
        return decode_dataset(self.raw, self.transfer_syntax or self.primitive.transfer_syntax)


def complete_request(
    primitive: DIMSEPrimitive, association: Association, context_id: int | None = None
) -> int | None:
    """Fill in a request's SOP class UID from its context when absent; return the context ID.

    ``request(C_ECHO())`` means Verification: with no SOP class UID and no ``context_id``, the
    one accepted context whose abstract syntax can serve the service is used; with a
    ``context_id``, that context's abstract syntax.
    """
    spec = message_spec(primitive, is_request=True)
    keyword = next(
        (k for k in _SOP_CLASS_FIELDS if k in spec.position and spec.usage(k) != "-"), None
    )
    if keyword is None:
        return context_id
    given = primitive.values().get(keyword)
    if given is not None:
        return context_id if context_id is not None else association.context_id_for(str(given))
    if context_id is None:
        context_id = _only_context(primitive, association)
    context = association.accepted_contexts.get(context_id) if context_id else None
    if context is None:
        raise InvalidParameter(
            f"{spec.name} has no {keyword} and no accepted context says which SOP class it is "
            f"for (context {context_id})",
            path=keyword,
        )
    setattr(primitive, keyword, context.abstract_syntax)
    return context_id


def _only_context(primitive: DIMSEPrimitive, association: Association) -> int | None:
    """The context a request without a SOP class can only mean: Verification for a C-ECHO,
    otherwise the single accepted context."""
    if primitive.msg_type == "C-ECHO":
        return association.context_id_for(VERIFICATION)
    if len(association.accepted_contexts) == 1:
        return next(iter(association.accepted_contexts))
    return None


class RequestTracker:
    """Pair responses with our requests, sans-I/O: Pending ones queue until read, then the last.

    Call :meth:`expect` when a request is sent, :meth:`receive` with every ``MessageReceived``
    that is a response; :meth:`responses` hands out what arrived for a Message ID, in order, and
    :meth:`done` says whether its final response is among them.
    """

    def __init__(self) -> None:
        self._queues: dict[int, deque[Response]] = {}
        self._finished: set[int] = set()

    def expect(self, message_id: int) -> None:
        """Start tracking a request we just sent."""
        self._queues[message_id] = deque()
        self._finished.discard(message_id)

    def receive(self, event: MessageReceived) -> Response | None:
        """Record a response; ``None`` when it answers no tracked request (or is a request)."""
        primitive = event.primitive
        answered = primitive.values().get("MessageIDBeingRespondedTo")
        spec = message_spec(primitive, default=None)
        if spec is None or spec.is_request or answered is None:
            return None
        queue = self._queues.get(int(answered))
        if queue is None:
            return None
        raw = primitive.payload_bytes(spec.dataset.keyword) if spec.dataset is not None else None
        response = Response(
            primitive, int(answered), event.transfer_syntax, None if raw is None else bytes(raw)
        )
        queue.append(response)
        if not response.pending:
            self._finished.add(int(answered))
        return response

    def responses(self, message_id: int) -> Iterator[Response]:
        """Take the responses that arrived for a request; forget it after its final one."""
        queue = self._queues.get(message_id)
        while queue:
            response = queue.popleft()
            if not response.pending:
                del self._queues[message_id]
                self._finished.discard(message_id)
            yield response

    def done(self, message_id: int) -> bool:
        """Whether the final response for the request has arrived (it may still be unread)."""
        return message_id in self._finished or message_id not in self._queues

    def waiting(self, message_id: int) -> bool:
        """Whether responses for the request are queued and unread."""
        return bool(self._queues.get(message_id))

    def forget(self) -> None:
        """Drop every request (the association ended)."""
        self._queues.clear()
        self._finished.clear()
