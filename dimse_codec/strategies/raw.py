"""P-DATA-TF bytes built PDV by PDV with no checks, for generating malformed streams on purpose.

``encode_pdata`` refuses what a defect needs (an odd fragment, a PDV on another context, a
message cut short), so the malformed strategies and the live fuzzer build PDVs here instead:
a message is cut into ``(context ID, message control header, fragment)`` tuples, a defect
changes some of them, and the tuples are wrapped into P-DATA-TF PDUs as they stand.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from dimse_codec.pdu import MCH_COMMAND, MCH_LAST

__all__ = ["Pdv", "message_pdvs", "one_pdv_per_pdu", "p_data_tf", "pdv_item"]

Pdv = tuple[int, int, bytes]
"""A PDV as (presentation context ID, message control header, fragment)."""


def pdv_item(context_id: int, mch: int, fragment: bytes) -> bytes:
    """One PDV item: item length, context ID, message control header, fragment."""
    return struct.pack(">LBB", len(fragment) + 2, context_id, mch) + fragment


def p_data_tf(pdvs: Iterable[Pdv]) -> bytes:
    """One P-DATA-TF carrying ``pdvs``."""
    body = b"".join(pdv_item(*pdv) for pdv in pdvs)
    return struct.pack(">BBL", 0x04, 0, len(body)) + body


def one_pdv_per_pdu(pdvs: Iterable[Pdv]) -> bytes:
    """One P-DATA-TF per PDV."""
    return b"".join(p_data_tf([pdv]) for pdv in pdvs)


def message_pdvs(
    command: bytes, dataset: bytes | memoryview | None, context_id: int, size: int
) -> list[Pdv]:
    """A message's PDVs, ``size`` bytes each but the last of the command and of the data set.

    Unlike ``encode_pdata`` it cuts anything, odd lengths included; an empty part still gets
    its one last PDV.
    """
    out: list[Pdv] = []
    for data, more, last in (
        (command, MCH_COMMAND, MCH_COMMAND | MCH_LAST),
        (dataset, 0, MCH_LAST),
    ):
        if data is None:
            continue
        raw = bytes(data)
        pieces = [raw[i : i + size] for i in range(0, len(raw), size)] or [b""]
        out.extend((context_id, more, piece) for piece in pieces[:-1])
        out.append((context_id, last, pieces[-1]))
    return out
