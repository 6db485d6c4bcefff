"""Tests of the DIMSE status tables and the lookups over them (PS3.7 Annex C, PS3.4)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dimse_codec.dimse import status as st_mod
from dimse_codec.dimse.status import (
    Status,
    StatusCategory,
    category,
    describe,
    lookup,
    meaning,
    related_fields,
    service_for_dimse,
    service_for_sop_class,
)
from dimse_codec.errors import InvalidParameter
from dimse_codec.tables import status as tables
from dimse_codec.tables.elements import BY_KEYWORD
from dimse_codec.tables.messages import SERVICES as DIMSE_SERVICES


def rule_category(code: int) -> str:
    """PS3.7 Annex C Status Class convention, restated digit by digit on the hex string."""
    text = f"{code:04X}"
    if text == "0000":
        return "Success"
    if text in ("0001", "0107", "0116") or text[0] == "B":
        return "Warning"
    if text[0] in "AC" or text[:2] in ("01", "02"):
        return "Failure"
    if text == "FE00":
        return "Cancel"
    if text in ("FF00", "FF01"):
        return "Pending"
    return "Unknown"


@given(st.integers(min_value=0, max_value=0xFFFF))
def test_category_matches_annex_c_rule(code: int) -> None:
    assert category(code).value == rule_category(code)


def test_category_exhaustive_counts() -> None:
    counts: dict[StatusCategory, int] = {}
    for code in range(0x10000):
        found = category(code)
        counts[found] = counts.get(found, 0) + 1
    assert counts[StatusCategory.SUCCESS] == 1
    assert counts[StatusCategory.CANCEL] == 1
    assert counts[StatusCategory.PENDING] == 2
    # 0001, 0107, 0116 and the 4096 Bxxx codes
    assert counts[StatusCategory.WARNING] == 3 + 0x1000
    # 01xx and 02xx less the two warnings, plus Axxx and Cxxx
    assert counts[StatusCategory.FAILURE] == 0x200 - 2 + 2 * 0x1000
    assert sum(counts.values()) == 0x10000


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (0x0000, StatusCategory.SUCCESS),
        (0x0001, StatusCategory.WARNING),
        (0x0002, StatusCategory.UNKNOWN),
        (0x00FF, StatusCategory.UNKNOWN),
        (0x0100, StatusCategory.FAILURE),
        (0x0106, StatusCategory.FAILURE),
        (0x0107, StatusCategory.WARNING),
        (0x0108, StatusCategory.FAILURE),
        (0x0116, StatusCategory.WARNING),
        (0x0125, StatusCategory.FAILURE),
        (0x01FF, StatusCategory.FAILURE),
        (0x0214, StatusCategory.FAILURE),
        (0x02FF, StatusCategory.FAILURE),
        (0x0300, StatusCategory.UNKNOWN),
        (0x9FFF, StatusCategory.UNKNOWN),
        (0xA000, StatusCategory.FAILURE),
        (0xAFFF, StatusCategory.FAILURE),
        (0xB000, StatusCategory.WARNING),
        (0xBFFF, StatusCategory.WARNING),
        (0xC000, StatusCategory.FAILURE),
        (0xCFFF, StatusCategory.FAILURE),
        (0xD000, StatusCategory.UNKNOWN),
        (0xFDFF, StatusCategory.UNKNOWN),
        (0xFE00, StatusCategory.CANCEL),
        (0xFE01, StatusCategory.UNKNOWN),
        (0xFF00, StatusCategory.PENDING),
        (0xFF01, StatusCategory.PENDING),
        (0xFF02, StatusCategory.UNKNOWN),
        (0xFFFF, StatusCategory.UNKNOWN),
    ],
)
def test_category_boundaries(code: int, expected: StatusCategory) -> None:
    assert category(code) is expected


def test_category_values_are_strings() -> None:
    assert StatusCategory.PENDING == "Pending"
    assert [c.value for c in StatusCategory] == [
        "Success",
        "Warning",
        "Failure",
        "Cancel",
        "Pending",
        "Unknown",
    ]


@pytest.mark.parametrize("bad", [-1, 0x10000, 1 << 40])
def test_out_of_range_raises(bad: int) -> None:
    for function in (category, meaning, related_fields, describe, lookup):
        with pytest.raises(InvalidParameter):
            function(bad)


@pytest.mark.parametrize("bad", ["0000", 1.0, None, True, b"\x00\x00"])
def test_non_int_raises(bad: object) -> None:
    with pytest.raises(InvalidParameter):
        category(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameter):
        meaning(bad)  # type: ignore[arg-type]


def test_unknown_service_raises() -> None:
    with pytest.raises(InvalidParameter, match="unknown service class"):
        meaning(0x0110, "No Such Service")


def test_mpps_0110_beats_general() -> None:
    general = meaning(0x0110)
    mpps = meaning(0x0110, tables.MPPS)
    assert general == "Processing failure"
    assert "may no longer be updated" in mpps
    assert mpps != general
    # the general table itself was not touched by the MPPS lookup
    assert tables.GENERAL_BY_CODE[0x0110].meaning == "Processing failure"
    assert meaning(0x0110, tables.STORAGE) == "Processing failure"
    assert related_fields(0x0110, tables.MPPS) == ("ErrorComment", "ErrorID")
    assert "AffectedSOPClassUID" in related_fields(0x0110)


def test_service_then_general_then_category() -> None:
    # service-specific
    assert meaning(0xA7C3, tables.STORAGE) == "Refused: Out of resources"
    assert meaning(0xFF01, tables.QR_FIND).startswith("Matches are continuing")
    # general, through a service that does not define the code
    assert meaning(0x0122, tables.STORAGE) == "Refused: SOP Class not supported"
    assert meaning(0x0213, tables.VERIFICATION) == "Resource limitation"
    # generic text from the category
    assert meaning(0xA7C3) == "Failure (A7C3H)"
    assert meaning(0xB123) == "Warning (B123H)"
    assert meaning(0xFF00) == "Pending (FF00H)"
    assert meaning(0x0125) == "Failure (0125H)"
    assert meaning(0xD000) == "Unknown status D000H"


def test_exact_code_beats_range_in_same_service() -> None:
    assert meaning(0xC311, tables.UPS) == "Refused: The UPS is already COMPLETED"
    assert meaning(0xC3FF, tables.UPS) == "Failed: Unable to process"
    entry = lookup(0xC311, tables.UPS)
    assert entry is not None
    assert entry.width == 1


def test_ranges_are_ranges_not_expansions() -> None:
    total_rows = sum(len(rows) for rows in tables.SERVICES.values())
    assert total_rows < 300
    storage = {(e.first, e.last) for e in tables.SERVICES[tables.STORAGE]}
    assert (0xA700, 0xA7FF) in storage
    assert (0xA900, 0xA9FF) in storage
    assert (0xC000, 0xCFFF) in storage


def test_every_entry_category_agrees_with_the_rule() -> None:
    rows = list(tables.GENERAL)
    for entries in tables.SERVICES.values():
        rows.extend(entries)
    for entry in rows:
        for code in {entry.first, entry.last, (entry.first + entry.last) // 2}:
            assert rule_category(code) == entry.category, (hex(code), entry.meaning)


def test_entries_are_well_formed() -> None:
    for name, entries in (("general", tables.GENERAL), *tables.SERVICES.items()):
        exact = [e.first for e in entries if e.width == 1]
        assert len(exact) == len(set(exact)), name
        for entry in entries:
            assert 0 <= entry.first <= entry.last <= 0xFFFF
            assert entry.meaning.strip()
            assert entry.section.startswith(("PS3.7", "PS3.4")), entry
            for keyword in entry.fields:
                assert keyword in BY_KEYWORD, (name, keyword)
                assert BY_KEYWORD[keyword].tag >> 16 == 0


def test_general_table_covers_annex_c_fixed_codes() -> None:
    expected = {
        0x0000, 0x0105, 0x0106, 0x0107, 0x0110, 0x0111, 0x0112, 0x0113, 0x0114, 0x0115,
        0x0116, 0x0117, 0x0118, 0x0119, 0x0120, 0x0121, 0x0122, 0x0123, 0x0124, 0x0210,
        0x0211, 0x0212, 0x0213, 0xFE00,
    }  # fmt: skip
    assert set(tables.GENERAL_BY_CODE) == expected
    assert tables.GENERAL_BY_CODE[0x0107].category == "Warning"
    assert tables.GENERAL_BY_CODE[0x0116].dataset == "ModificationList/AttributeList"


@pytest.mark.parametrize(
    ("code", "fields"),
    [
        (0x0107, ("AffectedSOPClassUID", "AffectedSOPInstanceUID", "AttributeIdentifierList")),
        (0x0117, ("AffectedSOPInstanceUID",)),
        (0x0123, ("AffectedSOPClassUID", "ActionTypeID")),
        (0x0114, ("AffectedSOPClassUID", "EventTypeID", "ActionTypeID")),
        (0x0210, ()),
        (0xFE00, ()),
        (0x0000, ()),
    ],
)
def test_general_related_fields(code: int, fields: tuple[str, ...]) -> None:
    assert related_fields(code) == fields


def test_service_related_fields() -> None:
    assert related_fields(0xA700, tables.STORAGE) == ("ErrorComment",)
    assert related_fields(0xB000, tables.STORAGE) == ("OffendingElement", "ErrorComment")
    subops = related_fields(0xFF00, tables.QR_MOVE)
    assert "NumberOfRemainingSuboperations" in subops
    assert "NumberOfRemainingSuboperations" not in related_fields(0xB000, tables.QR_GET)
    # unlisted class-specific warning/failure: C.4.1 / C.5 generic fields
    assert related_fields(0xB123) == ("OffendingElement", "ErrorComment")
    assert related_fields(0xD000) == ()


def test_describe_returns_frozen_status() -> None:
    found = describe(0xB000, tables.QR_MOVE)
    assert found == Status(0xB000, StatusCategory.WARNING, meaning(0xB000, tables.QR_MOVE))
    assert str(found).startswith("B000H Warning: Sub-operations complete")
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.code = 1  # type: ignore[misc]
    assert describe(0x0110, tables.MPPS).meaning != describe(0x0110).meaning


def test_dimse_default_services() -> None:
    assert set(tables.DIMSE_DEFAULT_SERVICE) == set(DIMSE_SERVICES)
    assert service_for_dimse("C-STORE") == tables.STORAGE
    assert service_for_dimse("C-ECHO") == tables.VERIFICATION
    assert service_for_dimse("C-FIND") == tables.QR_FIND
    assert service_for_dimse("C-MOVE") == tables.QR_MOVE
    assert service_for_dimse("C-GET") == tables.QR_GET
    assert service_for_dimse("N-ACTION") is None
    with pytest.raises(InvalidParameter):
        service_for_dimse("C-FOO")
    for name in tables.DIMSE_DEFAULT_SERVICE.values():
        assert name is None or name in tables.SERVICES


@pytest.mark.parametrize(
    ("uid", "service"),
    [
        ("1.2.840.10008.1.1", tables.VERIFICATION),
        ("1.2.840.10008.3.1.2.3.3", tables.MPPS),
        ("1.2.840.10008.1.20.1", tables.STORAGE_COMMITMENT),
        ("1.2.840.10008.5.1.4.31", tables.MODALITY_WORKLIST),
        ("1.2.840.10008.5.1.4.1.2.1.1", tables.QR_FIND),
        ("1.2.840.10008.5.1.4.1.2.2.2", tables.QR_MOVE),
        ("1.2.840.10008.5.1.4.1.2.2.3", tables.QR_GET),
        ("1.2.840.10008.5.1.4.34.6.1", tables.UPS),
        ("1.2.840.10008.5.1.4.34.6.4", tables.UPS),
        ("1.2.840.10008.5.1.1.1", tables.PRINT_MANAGEMENT),
        ("1.2.840.10008.5.1.1.2\x00", tables.PRINT_MANAGEMENT),
        ("1.2.840.10008.5.1.4.1.1.2", None),
        ("1.2.3.4", None),
    ],
)
def test_service_for_sop_class(uid: str, service: str | None) -> None:
    assert service_for_sop_class(uid) == service


def test_sop_class_services_exist_and_uids_are_dicom_uids() -> None:
    for uid, name in tables.SOP_CLASS_SERVICE.items():
        assert name in tables.SERVICES
        assert uid.startswith("1.2.840.10008.")
        assert all(part.isdigit() and (part == "0" or part[0] != "0") for part in uid.split("."))


@given(
    st.integers(min_value=0, max_value=0xFFFF),
    st.sampled_from([None, *sorted(tables.SERVICES)]),
)
def test_lookup_is_consistent(code: int, service: str | None) -> None:
    entry = lookup(code, service)
    text = meaning(code, service)
    if entry is None:
        assert code not in tables.GENERAL_BY_CODE
        assert text.endswith(f"{code:04X}H)") or text == f"Unknown status {code:04X}H"
    else:
        assert entry.covers(code)
        assert text == entry.meaning
        assert entry.category == category(code).value
    assert describe(code, service).meaning == text


def test_module_exports() -> None:
    for name in st_mod.__all__:
        assert hasattr(st_mod, name)
    for name in tables.__all__:
        assert hasattr(tables, name)
