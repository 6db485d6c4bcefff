"""Writes the generated parts of docs/conformance.md from the tables and constants of the code.

Each part sits between ``<!-- generated: NAME -->`` and ``<!-- end generated: NAME -->``, as in
``docs/state-machine.md`` (``docs/render_state_table.py``); the text around them is written by
hand. ``python docs/render_conformance.py`` rewrites the page, ``--check`` only says whether it
is current. ``tests/test_docs_site.py`` fails when the committed page is not what this script
writes, so the conformance statement cannot drift from the code it describes.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

from pydicom.uid import UID

from dimse_codec import limits as limits_module
from dimse_codec.association import build_request, respond
from dimse_codec.association.constants import (
    APPLICATION_CONTEXT_NAME,
    DEFAULT_MAX_PDU_LENGTH,
    IMPLEMENTATION_CLASS_UID,
    IMPLEMENTATION_VERSION_NAME,
    MAXIMUM_PRESENTATION_CONTEXTS,
)
from dimse_codec.dataset import KNOWN_TRANSFER_SYNTAXES, TransferSyntax
from dimse_codec.limits import DEFAULT_LIMITS
from dimse_codec.net import CLIENT_TIMEOUTS, SERVER_TIMEOUTS, BlockingClient, Client, Server
from dimse_codec.net.server import SPOOL_THRESHOLD
from dimse_codec.pdata.limits import MAX_PDU_LENGTH_FIELD, MIN_MAX_PDU_LENGTH
from dimse_codec.pdu.structures import CONTAINS, ONLY_IN, ItemType, PDUType
from dimse_codec.policy import IGNORED_BY_THE_STANDARD
from dimse_codec.services.contexts import STORAGE_COMMITMENT, supported_for
from dimse_codec.tables.messages import MESSAGES, SERVICES
from dimse_codec.tables.quirks import CATALOGUE
from dimse_codec.tables.status import GENERAL
from dimse_codec.tables.status import SERVICES as STATUS_SERVICES
from dimse_codec.upper_layer import ARTIM_TIMEOUT, Timeouts

sys.path.insert(
    0, str(Path(__file__).resolve().parent)
)  # the sibling script, also when loaded by path
from render_state_table import fill, rewrite, table

PAGE = Path(__file__).resolve().parent / "conformance.md"

SERVICE_CLASSES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str], ...] = (
    ("Verification", ("C-ECHO",), ("echo",), "answers Success without a handler"),
    ("Storage", ("C-STORE",), ("store",), "the C-STORE handler; large data sets spooled"),
    ("Query/Retrieve: FIND", ("C-FIND",), ("find",), "a generator of Pending identifiers"),
    ("Query/Retrieve: GET", ("C-GET",), ("get",), "a generator; C-STORE on the same association"),
    ("Query/Retrieve: MOVE", ("C-MOVE",), ("move",), "a generator; C-STORE on a new association"),
    (
        "Storage Commitment Push Model",
        ("N-ACTION", "N-EVENT-REPORT"),
        ("n_action", "n_event_report"),
        "`commitment_handler`: reports on the same or a new association",
    ),
)
"""The service classes of ``dimse_codec.net``: a name, the DIMSE services its handlers serve
(what :func:`~dimse_codec.services.supported_for` accepts them for), the client methods that
invoke them and what the server does. Every method is checked to exist on both clients when the
page is written."""

STORAGE_ROOT = "1.2.840.10008.5.1.4.1.1.*"
"""How the page names every Storage SOP class (the server accepts them by this UID root)."""


def _code(value: object) -> str:
    return f"`{value}`"


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:g} s"


def identification() -> str:
    """What an A-ASSOCIATE of ours announces about us, and the Upper Layer defaults."""
    rows = [
        ("Implementation Class UID", _code(IMPLEMENTATION_CLASS_UID)),
        ("Implementation Version Name", _code(IMPLEMENTATION_VERSION_NAME)),
        ("Application Context Name", _code(APPLICATION_CONTEXT_NAME)),
        ("Maximum Length Received announced by default", f"{DEFAULT_MAX_PDU_LENGTH} bytes"),
        ("Presentation contexts in one association, at most", str(MAXIMUM_PRESENTATION_CONTEXTS)),
        ("ARTIM timer by default", _seconds(ARTIM_TIMEOUT)),
    ]
    return table(("Item", "Value"), rows)


def _sender(service: str, is_request: bool) -> str:
    """Who sends a message: the SCU invokes every service but N-EVENT-REPORT (PS3.7 10.1.1)."""
    invoker = "SCP" if service == "N-EVENT-REPORT" else "SCU"
    performer = "SCU" if invoker == "SCP" else "SCP"
    return invoker if is_request else performer


def messages() -> str:
    """The 23 message types: command field, data set and usage, who sends it."""
    rows = []
    for spec in MESSAGES:
        dataset = spec.dataset
        carried = (
            f"{dataset.keyword} ({dataset.usage(spec.is_request)})" if dataset is not None else "-"
        )
        rows.append(
            (
                spec.name,
                f"{spec.command_field:04X}H",
                carried,
                _sender(spec.service.name, spec.is_request),
            )
        )
    return table(("Message", "Command Field", "Data set (usage)", "Sent by"), rows) + (
        f"\n{len(SERVICES)} services, {len(MESSAGES)} message types; every one is encoded, "
        "decoded and validated against its M/U/C cells.\n"
    )


def _sop_class(uid: str) -> str:
    return f"{UID(uid).name} (`{uid}`)"


def service_classes() -> str:
    """The service classes the client invokes and the server performs, with their SOP classes."""
    rows = []
    for name, services, methods, server in SERVICE_CLASSES:
        for method in methods:
            for client in (Client, BlockingClient):
                if not callable(getattr(client, method, None)):
                    raise ValueError(f"{client.__name__} has no {method}()")
        if services == ("C-STORE",):
            sop_classes = f"every Storage SOP class (`{STORAGE_ROOT}`)"
        else:
            sop_classes = "<br>".join(_sop_class(uid) for uid in supported_for(services))
        scu = ", ".join(f"`{method}()`" for method in methods)
        if STORAGE_COMMITMENT in supported_for(services):
            scu += "; `report_receiver` takes the report"
        rows.append((name, ", ".join(services), sop_classes, scu, server))
    return table(("Service class", "DIMSE", "SOP classes", "SCU (client)", "SCP (server)"), rows)


def _handling(syntax: TransferSyntax) -> str:
    if syntax.deflated:
        return "inflated (with a cap), then element by element"
    if syntax.encapsulated:
        return "element by element; encapsulated Pixel Data kept as its fragments"
    return "element by element"


def transfer_syntaxes() -> str:
    """Every transfer syntax the codec knows: its encoding and how a data set in it is read."""
    rows = [
        (
            _code(syntax.uid),
            syntax.name + (" (retired)" if syntax.retired else ""),
            ("Implicit" if syntax.implicit_vr else "Explicit")
            + (" LE" if syntax.little_endian else " BE"),
            _handling(syntax),
        )
        for syntax in KNOWN_TRANSFER_SYNTAXES
    ]
    deflated = sum(syntax.deflated for syntax in KNOWN_TRANSFER_SYNTAXES)
    encapsulated = sum(syntax.encapsulated for syntax in KNOWN_TRANSFER_SYNTAXES)
    summary = (
        f"{len(KNOWN_TRANSFER_SYNTAXES)} transfer syntaxes: {encapsulated} encapsulated, "
        f"{deflated} deflated, "
        f"{len(KNOWN_TRANSFER_SYNTAXES) - encapsulated - deflated} native.\n\n"
    )
    return summary + table(("UID", "Name", "VR, byte order", "A data set in it is read"), rows)


def pdus() -> str:
    """The seven PDU types of PS3.8 Table 9-11."""
    return (
        table(("PDU type", "Name"), ((f"{pdu.value:02X}H", pdu.label) for pdu in PDUType))
        + "\nEvery PDU type is encoded and decoded byte for byte (`encode_pdu`, `decode_pdu`).\n"
    )


def _name(item: ItemType | PDUType) -> str:
    """An item's PS3.8 label, with the PDU it belongs to when its code is the RQ's or the AC's."""
    if isinstance(item, ItemType) and item in ONLY_IN and item.name.endswith(("_RQ", "_AC")):
        return f"{item.label} of {ONLY_IN[item].label}"
    return item.label


def _where(item: ItemType) -> str:
    places = [_name(container) for container, inside in CONTAINS.items() if item in inside]
    if item in ONLY_IN and not item.name.endswith(("_RQ", "_AC")):
        places = [f"{place} of {ONLY_IN[item].label}" for place in places]
    return ", ".join(places)


def items() -> str:
    """Every item and sub-item type, and where each may stand."""
    rows = [(f"{item.value:02X}H", _name(item), _where(item)) for item in ItemType]
    return table(("Item type", "Item", "Stands in"), rows)


def _parameter_names(function: object, names: Sequence[str]) -> str:
    parameters = inspect.signature(function).parameters  # type: ignore[arg-type]
    missing = [name for name in names if name not in parameters]
    if missing:
        raise ValueError(f"{function} has no parameters {missing}")
    return ", ".join(f"`{name}`" for name in names)


def negotiation() -> str:
    """What each side of the association layer negotiates beyond the presentation contexts."""
    rows = [
        (
            "Requestor (`build_request`)",
            _parameter_names(
                build_request,
                (
                    "max_pdu_length",
                    "roles",
                    "async_window",
                    "user_identity",
                    "extended_negotiation",
                    "common_extended_negotiation",
                ),
            ),
        ),
        (
            "Acceptor (`respond`)",
            _parameter_names(
                respond,
                (
                    "max_pdu_length",
                    "roles",
                    "async_window",
                    "user_identity",
                    "extended_negotiation",
                    "accept_related_general_sop_classes",
                    "called_ae_titles",
                    "calling_ae_titles",
                ),
            ),
        ),
        (
            "`Client`, `BlockingClient`",
            _parameter_names(Client, ("max_pdu_length", "roles", "ssl", "timeouts")),
        ),
        (
            "`Server`",
            _parameter_names(Server, ("max_pdu_length", "ae_title", "ssl", "timeouts")),
        ),
    ]
    return table(("Side", "Negotiates"), rows)


def _field_docs() -> dict[str, str]:
    """The attribute docstrings of :class:`~dimse_codec.limits.Limits`, from its source."""
    tree = ast.parse(Path(inspect.getfile(limits_module)).read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "Limits":
            body = node.body
            for first, second in itertools.pairwise(body):
                if (
                    isinstance(first, ast.AnnAssign)
                    and isinstance(first.target, ast.Name)
                    and isinstance(second, ast.Expr)
                    and isinstance(second.value, ast.Constant)
                ):
                    found[first.target.id] = " ".join(str(second.value.value).split())
    return found


def _timeouts(timeouts: Timeouts) -> str:
    return ", ".join(
        f"{field.name} {_seconds(getattr(timeouts, field.name))}"
        for field in dataclasses.fields(timeouts)
    )


def limits() -> str:
    """The defaults of :class:`~dimse_codec.limits.Limits` and of the network layer."""
    docs = _field_docs()
    rows = [
        (_code(field.name), f"{getattr(DEFAULT_LIMITS, field.name):,}", docs.get(field.name, ""))
        for field in dataclasses.fields(DEFAULT_LIMITS)
    ]
    server = inspect.signature(Server).parameters
    network = [
        ("Maximum Length Received we announce", f"{DEFAULT_MAX_PDU_LENGTH:,} bytes"),
        (
            "Maximum Length we accept to announce",
            f"{MIN_MAX_PDU_LENGTH} to {MAX_PDU_LENGTH_FIELD:,} bytes, or 0 (no limit)",
        ),
        ("Associations a `Server` serves at once", str(server["max_associations"].default)),
        ("Data set size past which a `Server` spools to a file", f"{SPOOL_THRESHOLD:,} bytes"),
        ("`Client` timers", _timeouts(CLIENT_TIMEOUTS)),
        ("`Server` timers", _timeouts(SERVER_TIMEOUTS)),
    ]
    return (
        table(("`Limits` field", "Default", "What it bounds"), rows)
        + "\n"
        + table(("Network", "Default"), network)
    )


def _codes(first: int, last: int) -> str:
    return f"{first:04X}H" if first == last else f"{first:04X}H-{last:04X}H"


def statuses() -> str:
    """PS3.7 Annex C's statuses, and how many of its own each service class table adds."""
    general = table(
        ("Status", "Category", "Meaning", "Defined in"),
        ((_codes(e.first, e.last), e.category, e.meaning, e.section) for e in GENERAL),
    )
    counts = table(
        ("Service class", "Statuses of its own"),
        ((name, str(len(entries))) for name, entries in STATUS_SERVICES.items()),
    )
    return general + "\n" + counts


def quirks() -> str:
    """The peers' deviations the codec knows, who does them, and what our decoder says."""
    rows = []
    for spec in CATALOGUE.values():
        if spec.diagnostic is None:
            ours = "accepted silently (conformant)"
        elif spec.diagnostic in IGNORED_BY_THE_STANDARD:
            ours = f"`{spec.diagnostic.value}`, ignored as PS3.8 says, also by `STRICT`"
        else:
            ours = f"`{spec.diagnostic.value}`; `STRICT` refuses it"
        who = "; ".join(reference.who for reference in spec.peers) or "no peer named yet"
        rows.append((_code(spec.quirk.value), who, ours))
    return table(("Quirk", "Seen from", "Our decoder"), rows)


def sections() -> dict[str, str]:
    """Every generated part of the page, by its marker name."""
    return {
        "identification": identification(),
        "messages": messages(),
        "service-classes": service_classes(),
        "transfer-syntaxes": transfer_syntaxes(),
        "pdus": pdus(),
        "items": items(),
        "negotiation": negotiation(),
        "limits": limits(),
        "statuses": statuses(),
        "quirks": quirks(),
    }


def render(page: str) -> str:
    """The page with every marked part written anew; a marker without a part is an error."""
    return fill(page, sections())


def main(argv: Sequence[str]) -> int:
    return rewrite(PAGE, render, argv, Path(__file__).name)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
