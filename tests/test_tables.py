"""The PS3 tables of dimse_codec.tables, checked against pydicom's copy of the Standard.

pydicom generates its data dictionary and UID registry from the Standard's DocBook sources;
our tables are written by hand. Every difference between the two is a failure here, unless it
is listed below as deliberate, with the PS3 section that justifies it.
"""

from __future__ import annotations

import re

import pydicom
import pytest
from pydicom._uid_dict import UID_dictionary
from pydicom.datadict import DicomDictionary

from dimse_codec.tables import STANDARD_EDITION, uids
from dimse_codec.tables.elements import ELEMENTS
from dimse_codec.tables.messages import CONDITIONS, MESSAGES_BY_NAME, SERVICES, message_for
from dimse_codec.tables.vrs import (
    AE_CHARACTERS,
    UID_GRAMMAR,
    VR_RULES,
    alphabet,
    forbidden_character,
    is_valid_ae,
    is_valid_uid,
)

DELIBERATE: dict[int, str] = {}
"""Group 0000 rows where our table differs from pydicom's on purpose, by tag, with the reason
and its PS3 citation. Empty: elements.py agrees with PS3.7 Annex E as pydicom transcribes it."""


def _ours() -> dict[int, tuple[str, str, str, bool]]:
    return {e.tag: (e.vr, e.vm, e.keyword, e.retired) for e in ELEMENTS}


def _theirs() -> dict[int, tuple[str, str, str, bool]]:
    return {
        tag: (vr, vm, keyword, retired == "Retired")
        for tag, (vr, vm, _name, retired, keyword) in DicomDictionary.items()
        if tag >> 16 == 0
    }


def test_the_edition_is_pydicoms() -> None:
    assert pydicom.__dicom_version__ == STANDARD_EDITION


def test_command_elements_match_pydicom() -> None:
    ours, theirs = _ours(), _theirs()
    differences = []
    for tag in sorted(ours.keys() | theirs.keys()):
        if tag in DELIBERATE:
            continue
        mine, pydicoms = ours.get(tag), theirs.get(tag)
        if mine != pydicoms:
            differences.append(
                f"({tag >> 16:04X},{tag & 0xFFFF:04X}): ours {mine}, pydicom {pydicoms}"
            )
    assert differences == []


def test_command_element_names_match_pydicom() -> None:
    names = {
        tag: name for tag, (_vr, _vm, name, _r, _k) in DicomDictionary.items() if tag >> 16 == 0
    }
    assert {e.tag: e.name for e in ELEMENTS} == names


def test_deliberate_differences_are_still_differences() -> None:
    ours, theirs = _ours(), _theirs()
    for tag in DELIBERATE:
        assert ours.get(tag) != theirs.get(tag), f"{tag:08X} no longer differs; drop it"


@pytest.mark.parametrize(
    ("name", "registry_name"),
    [
        ("VERIFICATION_SOP_CLASS", "Verification SOP Class"),
        ("APPLICATION_CONTEXT_NAME", "DICOM Application Context Name"),
    ],
)
def test_well_known_uids_match_the_registry(name: str, registry_name: str) -> None:
    assert UID_dictionary[getattr(uids, name)][0] == registry_name


def test_every_vr_of_the_command_elements_has_a_rule() -> None:
    assert {e.vr for e in ELEMENTS} <= set(VR_RULES)


@pytest.mark.parametrize(
    ("vr", "max_length", "pad"),
    [
        ("AE", 16, b" "),
        ("CS", 16, b" "),
        ("IS", 12, b" "),
        ("LO", 64, b" "),
        ("LT", 10240, b" "),
        ("SH", 16, b" "),
        ("UI", 64, b"\x00"),
        ("US", 2, b""),
        ("UL", 4, b""),
        ("AT", 4, b""),
    ],
)
def test_vr_rules_follow_ps35_table_6_2_1(vr: str, max_length: int, pad: bytes) -> None:
    rule = VR_RULES[vr]
    assert (rule.max_length, rule.pad) == (max_length, pad)
    assert rule.fixed is (rule.forbidden is None)
    assert rule.section == "PS3.5 Table 6.2-1"


GOOD_UIDS = ["0", "1.2", "1.2.840.10008.1.1", "2.25." + "9" * 39, "1." + "0." * 30 + "1"]
BAD_UIDS = ["", ".", "1.", ".1", "1..2", "01.2", "1.02", "1.2a", "1.2 ", "1-2", "1." + "1" * 63]


@pytest.mark.parametrize("text", GOOD_UIDS)
def test_good_uids(text: str) -> None:
    assert is_valid_uid(text)
    assert len(text) <= 64


@pytest.mark.parametrize("text", BAD_UIDS)
def test_bad_uids(text: str) -> None:
    assert not is_valid_uid(text)


def test_uid_grammar_agrees_with_pydicom() -> None:
    # pydicom's pattern ends in "$", which also matches before a final newline; ours says \Z
    for text in [*GOOD_UIDS, *BAD_UIDS, "1.2\n"]:
        theirs = len(text) <= 64 and re.fullmatch(pydicom.uid.RE_VALID_UID.pattern[1:-1], text)
        assert is_valid_uid(text) == bool(theirs), repr(text)


def test_ae_rules() -> None:
    assert is_valid_ae("STORESCP")
    assert is_valid_ae("  MY AE  ")
    assert is_valid_ae("A" * 16)
    assert not is_valid_ae("A" * 17)
    assert not is_valid_ae("")
    assert not is_valid_ae("    ")
    assert not is_valid_ae("A\\B")
    assert not is_valid_ae("A\tB")
    assert not is_valid_ae("ÄE")
    assert AE_CHARACTERS.match("A B") and not AE_CHARACTERS.match("A\x7f")


def test_alphabets_and_forbidden_characters() -> None:
    assert alphabet("UI") == "." + "0123456789"
    assert alphabet("CS") == " 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
    assert alphabet("IS") == " +-0123456789"
    assert "\\" not in alphabet("AE") and " " in alphabet("AE") and len(alphabet("AE")) == 94
    assert alphabet("LO") == alphabet("AE") == alphabet("SH")
    assert "\\" in alphabet("LT")
    assert forbidden_character("LO", "ok\x1b") is None  # ESC is allowed in LO (PS3.5 6.1.3)
    assert forbidden_character("LO", "a\\b") == "\\"
    assert forbidden_character("LT", "line\r\nnext\tcol") is None
    with pytest.raises(ValueError):
        forbidden_character("US", "1")
    assert UID_GRAMMAR.match("1.2") and not UID_GRAMMAR.match("1.2\n")


def test_every_conditional_cell_names_a_condition_record() -> None:
    for service in SERVICES.values():
        for parameter in service.parameters:
            if "C" in (parameter.request[:1], parameter.response[:1]):
                assert parameter.condition in CONDITIONS, (service.name, parameter.keyword)
    for name, condition in CONDITIONS.items():
        assert condition.name == name and condition.sentence
        rules = (condition.only_with, condition.required_with, condition.depends_on)
        assert any(rule is not None for rule in rules), name


def test_message_specs_precompute_what_validation_checks() -> None:
    store_rsp = MESSAGES_BY_NAME["C-STORE-RSP"]
    assert {"Priority", "DataSet", "MoveDestination"} & set(store_rsp.unused) == {
        "Priority",
        "DataSet",
    }
    assert [p.keyword for p in store_rsp.mandatory] == ["MessageIDBeingRespondedTo", "Status"]
    assert [p.keyword for p in store_rsp.conditional] == ["OffendingElement", "ErrorComment"]
    assert store_rsp.equal == ("AffectedSOPClassUID", "AffectedSOPInstanceUID")
    assert message_for(SERVICES["C-CANCEL"], False) is None
    assert message_for(SERVICES["C-ECHO"], True) is MESSAGES_BY_NAME["C-ECHO-RQ"]
