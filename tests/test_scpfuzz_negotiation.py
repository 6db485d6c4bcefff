"""Association negotiation cases (``dimse_codec.scpfuzz.negotiation``).

Without a network: the valid requests decode strictly and round trip, every breakage walked
over the standard request's item tree is what it says (the strict decoder refuses it at the
broken item, or takes it when PS3.8 says to ignore the flaw), and the oracle asks for what
:attr:`Breakage.requires` says. Then short live runs against DCMTK's storescp and a pynetdicom
SCP send one case per breakage and item type, and classify the answers.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest
from conftest import require_tool
from hypothesis import HealthCheck, find, given, settings
from peers import dcmtk_server, free_port
from test_fuzz_live import TARGET

from dimse_codec.errors import DimseCodecError
from dimse_codec.pdu import (
    AAssociateRQ,
    ApplicationContextItem,
    AsynchronousOperationsWindowSubItem,
    ImplementationClassUIDSubItem,
    ImplementationVersionNameSubItem,
    MaximumLengthSubItem,
    PresentationContextRQItem,
    Role,
    SCPSCURoleSelectionSubItem,
    SOPClassCommonExtendedNegotiationSubItem,
    SOPClassExtendedNegotiationSubItem,
    UserIdentityRQSubItem,
    UserIdentityType,
    UserInformationItem,
    decode_pdu,
    encode_pdu,
)
from dimse_codec.policy import STRICT
from dimse_codec.scpfuzz import Classification, LiveRunner, ScpAddress, cases, judge
from dimse_codec.scpfuzz import negotiation as neg
from dimse_codec.scpfuzz.live import negotiate

CT = "1.2.840.10008.5.1.4.1.1.2"


def full_request(called: str, calling: str = "NEGOTIATE") -> AAssociateRQ:
    """A request with every user information sub-item and 128 contexts (IDs 1-255)."""
    syntaxes = neg.TRANSFER_SYNTAXES
    contexts = [
        PresentationContextRQItem.build(
            2 * i + 1,
            neg.ABSTRACT_SYNTAXES[i % len(neg.ABSTRACT_SYNTAXES)],
            syntaxes[: 1 + i % 5],
        )
        for i in range(128)
    ]
    identities = [
        UserIdentityRQSubItem(UserIdentityType.USERNAME_AND_PASSCODE, b"user", b"secret", 1)
    ]
    user = UserInformationItem(
        (
            MaximumLengthSubItem(16384),
            ImplementationClassUIDSubItem("1.2.826.0.1.3680043.10.1077"),
            AsynchronousOperationsWindowSubItem(2, 2),
            SCPSCURoleSelectionSubItem(CT, Role.SUPPORT, Role.SUPPORT),
            SCPSCURoleSelectionSubItem(neg.VERIFICATION, Role.SUPPORT, Role.NON_SUPPORT),
            ImplementationVersionNameSubItem("NEGOTIATE_1"),
            SOPClassExtendedNegotiationSubItem(CT, b"\x01\x00"),
            SOPClassCommonExtendedNegotiationSubItem(CT, "1.2.840.10008.4.2", ("1.2.3",)),
            *identities,
        )
    )
    return AAssociateRQ(called, calling, (ApplicationContextItem(), *contexts, user), 3)


def decodes(data: bytes) -> DimseCodecError | None:
    """The strict decoder's error on ``data``, or ``None`` when it takes it."""
    try:
        decode_pdu(data, policy=STRICT)
    except DimseCodecError as exc:
        return exc
    return None


# -- valid requests -------------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(neg.requests(TARGET))
def test_generated_requests_are_valid_and_round_trip(request: AAssociateRQ) -> None:
    data = encode_pdu(request, canonical=True)
    decoded = decode_pdu(data, policy=STRICT)
    assert decoded == request
    assert encode_pdu(decoded) == data
    verdict = judge(neg.negotiation_case(request), TARGET)
    assert verdict.valid and verdict.steps[0].action == "AE-6"


def test_the_full_request_has_every_sub_item_and_128_contexts() -> None:
    request = full_request("ANY-SCP")
    decoded = decode_pdu(encode_pdu(request), policy=STRICT)
    assert isinstance(decoded, AAssociateRQ)
    assert [c.presentation_context_id for c in decoded.presentation_contexts] == list(
        range(1, 256, 2)
    )
    user = decoded.variable_items[-1]
    assert isinstance(user, UserInformationItem)
    assert {int(s.item_type) for s in user.sub_items} == set(range(0x51, 0x59))


# -- breakages ------------------------------------------------------------------------------------

STANDARD = TARGET.request
WALKED = neg.breakages(STANDARD, amount=3)


def test_every_item_is_walked_by_every_breakage_that_applies() -> None:
    by_path = collections.defaultdict(set)
    for broken in WALKED:
        by_path[broken.path].add(broken.name)
    assert by_path["0x20 > 0x40"] == set(neg.BREAKAGES) - {"short", "field-length", "trailing"}
    assert "trailing" in by_path["0x20"] and "trailing" in by_path["0x50"]
    assert by_path["0x50 > 0x51"] >= {"underflow", "short", "zero", "long", "missing"}
    assert by_path["0x50 > 0x54"] >= {"field-length", "long-uid", "short", "underflow"}
    assert by_path["A-ASSOCIATE-RQ"] == {"even-context-id", "duplicate-context-id", "version"}
    assert len(WALKED) > 500


def test_every_breakage_is_what_it_says() -> None:
    for broken in WALKED:
        error = decodes(broken.data)
        assert (error is None) == broken.valid, (broken.name, broken.where, error)
        if error is not None and broken.name not in ("missing", "duplicate-context-id"):
            # refused at the broken item (or the field inside it), not somewhere else
            assert error.offset is not None and error.offset >= broken.offset, (broken, error)


def test_an_underflow_is_refused_at_the_item_it_breaks() -> None:
    for broken in WALKED:
        if broken.name == "underflow":
            error = decodes(broken.data)
            assert error is not None and error.offset == broken.offset, (broken.where, error)


def test_only_unknown_items_and_optional_ones_left_out_stay_valid() -> None:
    valid = {(b.name, b.path) for b in WALKED if b.valid}
    assert {name for name, _ in valid} == {"unknown-item", "missing"}
    assert {path for name, path in valid if name == "unknown-item"} == {
        "0x10",
        "0x20",
        "0x20 > 0x30",
        "0x20 > 0x40",
        "0x50",
        "0x50 > 0x51",
        "0x50 > 0x52",
        "0x50 > 0x54",
        "0x50 > 0x55",
    }
    left_out = {path for name, path in valid if name == "missing"}
    assert left_out == {"0x20", "0x20 > 0x40", "0x50 > 0x54", "0x50 > 0x55"}


def test_the_oracle_requires_what_each_breakage_says() -> None:
    for broken in WALKED:
        case = neg.negotiation_case(STANDARD, broken)
        first = judge(case, TARGET).steps[0]
        assert first.valid == broken.valid, (broken.where, first.problems)
        if broken.valid:
            assert broken.requires in (neg.ANSWER, neg.IGNORED) and first.action == "AE-6"
            assert len(case.steps) == 2  # then the release
        else:
            assert broken.requires == neg.ABORT
            assert (first.state, first.event, first.action) == ("Sta2", "Evt19", "AA-1")


def test_the_kinds_are_drawn_by_the_campaign() -> None:
    seen: collections.Counter[str] = collections.Counter()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(cases(TARGET, kinds=list(neg.KINDS)))
    def draw(case: Any) -> None:
        seen[case.kind] += 1
        assert case.steps[0].expect.value == "association"
        assert judge(case, TARGET).steps[0].valid == case.generated_valid or case.details.get(
            "breakage"
        ) in ("unknown-item", "missing")

    draw()
    assert set(seen) == set(neg.KINDS)


def test_a_flaw_shrinks_to_the_smallest_request_that_carries_it() -> None:
    """The flaw is drawn before the request, so Hypothesis shrinks the request under a fixed
    flaw: the smallest case with a flaw in the User Information item has one presentation
    context, whichever item and request the breakage was first drawn with."""
    wanted = "underflow at 0x50"
    strategy = neg.MALFORMED_KINDS["malformed-negotiation"](TARGET)
    search = settings(max_examples=500, deadline=None, database=None)
    small = find(strategy, lambda case: case.flaw == wanted, settings=search)
    assert small.flaw == wanted
    assert top_level_items(small.steps[0].data) == [0x10, 0x20, 0x50]
    assert len(small.steps[0].data) < 200


def top_level_items(data: bytes) -> list[int]:
    """The item types of an A-ASSOCIATE-RQ's variable items up to the User Information item
    (whose length a breakage may have broken), read from the bytes."""
    types, offset = [], 74  # the PDU header and the fixed fields (PS3.8 Table 9-11)
    while offset + 4 <= len(data):
        types.append(data[offset])
        if data[offset] == 0x50:
            break
        offset += 4 + int.from_bytes(data[offset + 2 : offset + 4], "big")
    return types


# -- live -----------------------------------------------------------------------------------------

TIMEOUT = 2.0


def one_per_breakage(request: AAssociateRQ) -> list[neg.Breakage]:
    """One breakage per name and item type (the first met), and the whole-request ones."""
    chosen: dict[tuple[str, str], neg.Breakage] = {}
    for broken in neg.breakages(request, amount=5):
        chosen.setdefault((broken.name, broken.path), broken)
    return list(chosen.values())


def run_live(port: int, called: str) -> dict[str, collections.Counter[str]]:
    """Send the full request, an unknown called AE title, and one case per breakage."""
    endpoint = ScpAddress("127.0.0.1", port)
    target = negotiate(endpoint, "NEGOTIATE", called, timeout=TIMEOUT)
    runner = LiveRunner(endpoint, target, timeout=TIMEOUT, settle=1.0)
    results: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    valid = [full_request(called), full_request("NOBODY")]
    sent = [neg.negotiation_case(request) for request in valid]
    sent += [neg.negotiation_case(target.request, b) for b in one_per_breakage(target.request)]
    for case in sent:
        observation = runner(case)
        answer = observation.records[0].answer.kind.value
        key = f"{observation.classification.value}: {case.details['requires']}"
        results[key][answer] += 1
        if observation.classification is not Classification.NORMAL:
            print(observation.classification.value, case.description, answer)
    return results


def test_storescp_negotiation(tmp_path: Path) -> None:
    storescp = require_tool("storescp")
    port = free_port()
    stored = tmp_path / "stored"
    stored.mkdir()
    with dcmtk_server([storescp, "-od", str(stored), str(port)], port, tmp_path / "log", stored):
        results = run_live(port, "ANY-SCP")
    print(dict(results))
    assert not any(key.startswith(("crash", "hang", "abort-on-valid")) for key in results)
    # every valid request accepted, the ones with unknown items too (PS3.8 9.3.1)
    assert set(results[f"normal: {neg.ANSWER}"]) == {"accepted"}
    assert set(results[f"normal: {neg.IGNORED}"]) == {"accepted"}
    # DCMTK accepts some invalid requests (an empty UID, a misplaced item, an even context ID)
    # and waits on others (an item longer than what remains) instead of the A-ABORT of AA-1
    assert results[f"answer-to-invalid: {neg.ABORT}"]["accepted"] > 0
    assert results[f"not-as-prescribed: {neg.ABORT}"]["silence"] > 0


def test_pynetdicom_negotiation() -> None:
    pynetdicom = pytest.importorskip("pynetdicom", reason="pynetdicom is the peer of this test")
    ae = pynetdicom.AE(ae_title="PYNETDICOM")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = 5
    ae.maximum_associations = 64
    ae.add_supported_context("1.2.840.10008.1.1", ["1.2.840.10008.1.2"])
    server = ae.start_server(("127.0.0.1", 0), block=False)
    try:
        results = run_live(server.server_address[1], "PYNETDICOM")
    finally:
        server.shutdown()
    print(dict(results))
    assert not any(key.startswith(("crash", "hang")) for key in results)
    # pynetdicom aborts every request with an item of an unknown type, at any level, where
    # PS3.8 9.3.1 says to ignore the item: its only abort-on-valid
    assert [key for key in results if key.startswith("abort-on-valid")] == [
        f"abort-on-valid: {neg.IGNORED}"
    ]
    assert set(results[f"abort-on-valid: {neg.IGNORED}"]) == {"aborted"}
    assert set(results[f"normal: {neg.ANSWER}"]) <= {"accepted", "rejected"}
