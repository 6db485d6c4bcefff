"""The primitives: PS3.7's contract (names, parameter tables, types), conversions and validity."""

from __future__ import annotations

import inspect
import io
import textwrap
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pydicom.uid import UID

from dimse_codec import (
    C_CANCEL,
    C_ECHO,
    C_FIND,
    C_GET,
    C_MOVE,
    C_STORE,
    LENIENT,
    N_ACTION,
    N_CREATE,
    N_DELETE,
    N_EVENT_REPORT,
    N_GET,
    N_SET,
    Diagnostic,
    EncodeError,
    InvalidParameter,
    InvalidParameterType,
    decode_message,
    encode_message,
    message_spec,
    validate,
)
from dimse_codec.dimse.primitives import PRIMITIVES, DIMSEPrimitive
from dimse_codec.dimse.values import decode_ae, decode_ui
from dimse_codec.tables.messages import MESSAGES_BY_NAME, SERVICES
from dimse_codec.tables.vrs import is_valid_ae, is_valid_uid

# -- PS3.7 10.1 parameter tables, transcribed cell by cell apart from tables/messages.py --------

PS37_TABLES = {
    # PS3.7 Table 10.1-4: N-ACTION
    "N-ACTION": {
        "MessageID": ("M", "-"),
        "MessageIDBeingRespondedTo": ("-", "M"),
        "RequestedSOPClassUID": ("M", "-"),
        "RequestedSOPInstanceUID": ("M", "-"),
        "ActionTypeID": ("M", "C(=)"),
        "ActionInformation": ("U", "-"),
        "AffectedSOPClassUID": ("-", "U"),
        "AffectedSOPInstanceUID": ("-", "U"),
        "ActionReply": ("-", "C"),
        "Status": ("-", "M"),
    },
    # PS3.7 Table 10.1-3: N-SET
    "N-SET": {
        "MessageID": ("M", "-"),
        "MessageIDBeingRespondedTo": ("-", "M"),
        "RequestedSOPClassUID": ("M", "-"),
        "RequestedSOPInstanceUID": ("M", "-"),
        "ModificationList": ("M", "-"),
        "AttributeList": ("-", "U"),
        "AffectedSOPClassUID": ("-", "U"),
        "AffectedSOPInstanceUID": ("-", "U"),
        "Status": ("-", "M"),
    },
    # PS3.7 Table 10.1-2: N-GET
    "N-GET": {
        "MessageID": ("M", "-"),
        "MessageIDBeingRespondedTo": ("-", "M"),
        "RequestedSOPClassUID": ("M", "-"),
        "RequestedSOPInstanceUID": ("M", "-"),
        "AttributeIdentifierList": ("U", "-"),
        "AffectedSOPClassUID": ("-", "U"),
        "AffectedSOPInstanceUID": ("-", "U"),
        "AttributeList": ("-", "C"),
        "Status": ("-", "M"),
    },
    # PS3.7 Table 10.1-1: N-EVENT-REPORT
    "N-EVENT-REPORT": {
        "MessageID": ("M", "-"),
        "MessageIDBeingRespondedTo": ("-", "M"),
        "AffectedSOPClassUID": ("M", "U(=)"),
        "AffectedSOPInstanceUID": ("M", "U(=)"),
        "EventTypeID": ("M", "C(=)"),
        "EventInformation": ("U", "-"),
        "EventReply": ("-", "C"),
        "Status": ("-", "M"),
    },
}

CELLS = [
    (service, keyword, direction, cell)
    for service, table in PS37_TABLES.items()
    for keyword, cells in table.items()
    for direction, cell in zip(("request", "response"), cells, strict=True)
]


@pytest.mark.parametrize(
    ("service", "keyword", "direction", "cell"), CELLS, ids=[f"{s}.{k}.{d}" for s, k, d, _ in CELLS]
)
def test_ps37_table_cell(service: str, keyword: str, direction: str, cell: str) -> None:
    rows = [p for p in SERVICES[service].parameters if p.keyword == keyword and not p.status_detail]
    assert len(rows) == 1, f"{service} has no single {keyword} row"
    assert getattr(rows[0], direction) == cell


@pytest.mark.parametrize("service", sorted(PS37_TABLES))
def test_ps37_tables_have_no_extra_rows(service: str) -> None:
    ours = {p.keyword for p in SERVICES[service].parameters if not p.status_detail}
    assert ours == set(PS37_TABLES[service])


def test_ps37_attributes_exist_with_their_names() -> None:
    for cls in PRIMITIVES.values():
        instance = cls()
        for name in (
            "msg_type",
            "is_valid_request",
            "is_valid_response",
            "REQUEST_KEYWORDS",
            "RESPONSE_KEYWORDS",
            "STATUS_OPTIONAL_KEYWORDS",
        ):
            assert hasattr(instance, name)
    assert N_ACTION().msg_type == "N-ACTION"
    assert N_EVENT_REPORT().msg_type == "N-EVENT-REPORT"
    assert N_ACTION.REQUEST_KEYWORDS == (
        "MessageID",
        "RequestedSOPClassUID",
        "RequestedSOPInstanceUID",
        "ActionTypeID",
    )
    assert N_ACTION.RESPONSE_KEYWORDS == ("MessageIDBeingRespondedTo", "Status")
    assert set(N_ACTION.STATUS_OPTIONAL_KEYWORDS) == {
        "ErrorComment",
        "ErrorID",
        "AttributeIdentifierList",
    }
    assert "ModificationList" in N_SET.REQUEST_KEYWORDS
    assert set(C_GET.STATUS_OPTIONAL_KEYWORDS) == {"OffendingElement", "ErrorComment"}


# -- conversions the setters do ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1.2.840.10008.1.1",
        b"1.2.840.10008.1.1",
        UID("1.2.840.10008.1.1"),
        b"1.2.840.10008.1.1\x00",
        " 1.2.840.10008.1.1 ",
    ],
)
def test_uids_from_str_bytes_and_uid(value: object) -> None:
    primitive = N_ACTION()
    primitive.RequestedSOPClassUID = value  # type: ignore[assignment]
    assert isinstance(primitive.RequestedSOPClassUID, UID)
    assert primitive.RequestedSOPClassUID == "1.2.840.10008.1.1"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("1.2.x", InvalidParameter),
        ("1." + "2" * 70, InvalidParameter),
        ("é", InvalidParameter),
        (b"\xff", InvalidParameter),
        (12, InvalidParameterType),
        (1.5, InvalidParameterType),
    ],
)
def test_bad_uids(value: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        N_ACTION().RequestedSOPInstanceUID = value  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("keyword", "value", "error"),
    [
        ("MessageID", -1, InvalidParameter),
        ("MessageID", 65536, InvalidParameter),
        ("MessageID", "1", InvalidParameterType),
        ("MessageID", True, InvalidParameterType),
        ("Status", 0x1FFFF, InvalidParameter),
        ("EventTypeID", 70000, InvalidParameter),
        ("ErrorID", "abc", InvalidParameterType),
    ],
)
def test_ints_are_range_checked(keyword: str, value: object, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        setattr(N_EVENT_REPORT(), keyword, value)
    assert keyword in str(caught.value)
    assert isinstance(caught.value, (ValueError, TypeError))  # compatible with pynetdicom's


def test_priority_and_sub_operation_ranges() -> None:
    with pytest.raises(InvalidParameter):
        C_FIND().Priority = 3
    with pytest.raises(InvalidParameter):
        C_GET().NumberOfRemainingSuboperations = 70000
    move = C_MOVE()
    move.Priority = 1
    assert move.Priority == 1


@pytest.mark.parametrize("value", ["MOVE\\SCP", "A" * 17, "AB\x01"])
def test_ae_titles_are_checked(value: str) -> None:
    with pytest.raises(InvalidParameter):
        C_MOVE().MoveDestination = value


def test_ae_spaces_are_insignificant() -> None:
    store = C_STORE()
    store.MoveOriginatorApplicationEntityTitle = b"  STORESCU  "
    assert store.MoveOriginatorApplicationEntityTitle == "STORESCU"


def test_error_comment_is_default_repertoire_and_short() -> None:
    with pytest.raises(InvalidParameter):
        C_STORE().ErrorComment = "café"
    with pytest.raises(InvalidParameter):
        C_STORE().ErrorComment = "x" * 65
    with pytest.raises(InvalidParameterType):
        C_STORE().ErrorComment = b"bytes"  # type: ignore[assignment]


def test_attribute_identifier_list_is_always_a_list() -> None:
    get = N_GET()
    get.AttributeIdentifierList = 0x00100010
    assert get.AttributeIdentifierList == [BaseTag(0x00100010)]
    get.AttributeIdentifierList = "PatientName"
    assert get.AttributeIdentifierList == [BaseTag(0x00100010)]
    get.AttributeIdentifierList = [(0x0010, 0x0020), "PatientName", 0x7FE00010]
    assert get.AttributeIdentifierList == [0x00100020, 0x00100010, 0x7FE00010]
    assert all(isinstance(tag, BaseTag) for tag in get.AttributeIdentifierList)
    get.AttributeIdentifierList = []
    assert get.AttributeIdentifierList == []  # present and empty, not None
    with pytest.raises(InvalidParameter):
        get.AttributeIdentifierList = ["NotAKeyword"]
    with pytest.raises(InvalidParameterType):
        get.AttributeIdentifierList = 1.5  # type: ignore[assignment]


@pytest.mark.parametrize(
    "make",
    [
        lambda: b"\x10\x00\x10\x00\x02\x00\x00\x00AB",
        lambda: bytearray(b"\x10\x00\x10\x00\x02\x00\x00\x00AB"),
        lambda: memoryview(b"\x10\x00\x10\x00\x02\x00\x00\x00AB"),
        lambda: io.BytesIO(b"\x10\x00\x10\x00\x02\x00\x00\x00AB"),
    ],
)
def test_data_set_parameters_accept_bytes_like_and_return_bytesio(make: object) -> None:
    action = N_ACTION()
    action.ActionInformation = make()  # type: ignore[operator]
    value = action.ActionInformation
    assert isinstance(value, io.BytesIO)
    assert value.getvalue() == b"\x10\x00\x10\x00\x02\x00\x00\x00AB"


def test_data_set_parameter_accepts_a_dataset() -> None:
    ds = Dataset()
    ds.PatientID = "AB"
    action = N_ACTION()
    action.ActionInformation = ds
    assert action.payload("ActionInformation") is ds
    # encoded on demand in the primitive's transfer syntax (Implicit VR Little Endian here)
    assert action.ActionInformation is not None
    assert action.ActionInformation.getvalue() == b"\x10\x00\x20\x00\x02\x00\x00\x00AB"
    with pytest.raises(InvalidParameterType):
        action.ActionInformation = "not a data set"  # type: ignore[assignment]


def test_memoryview_payload_is_not_copied() -> None:
    buffer = bytearray(b"\x00" * 1024)
    view = memoryview(buffer)
    store = C_STORE()
    store.DataSet = view
    assert store.payload("DataSet") is view


def test_request_and_response_payloads_are_separate() -> None:
    for cls, request, response in (
        (N_ACTION, "ActionInformation", "ActionReply"),
        (N_EVENT_REPORT, "EventInformation", "EventReply"),
        (N_SET, "ModificationList", "AttributeList"),
    ):
        primitive = cls()
        setattr(primitive, request, b"RQ")
        setattr(primitive, response, b"RS")
        assert getattr(primitive, request).getvalue() == b"RQ"
        setattr(primitive, response, None)
        assert getattr(primitive, request).getvalue() == b"RQ"
        assert getattr(primitive, response) is None


def test_unknown_keyword_in_constructor() -> None:
    with pytest.raises(InvalidParameterType, match="no parameter"):
        C_ECHO(Priority=2)


# -- validity by the whole table -----------------------------------------------------------------


def n_action_rq() -> N_ACTION:
    return N_ACTION(
        MessageID=1, RequestedSOPClassUID="1.2.3", RequestedSOPInstanceUID="1.2.3.4", ActionTypeID=1
    )


def test_valid_request_and_response() -> None:
    rq = n_action_rq()
    assert rq.is_valid_request
    assert rq.is_valid_request == True  # noqa: E712 - Verdict compares like a bool
    assert not rq.is_valid_response
    rsp = N_ACTION(MessageIDBeingRespondedTo=1, Status=0)
    assert rsp.is_valid_response
    assert not rsp.is_valid_request


def test_mandatory_missing_and_empty_say_why() -> None:
    rq = n_action_rq()
    rq.RequestedSOPInstanceUID = ""
    verdict = rq.is_valid_request
    assert not verdict
    assert verdict.reasons == (
        "RequestedSOPInstanceUID is mandatory (M) in N-ACTION-RQ and is empty",
    )
    rq.RequestedSOPInstanceUID = None
    assert rq.is_valid_request.reasons == (
        "RequestedSOPInstanceUID is mandatory (M) in N-ACTION-RQ and is missing",
    )


def test_parameters_of_the_other_direction_are_refused() -> None:
    rq = n_action_rq()
    rq.ActionReply = b"xx"
    assert "ActionReply is not a parameter of N-ACTION-RQ" in rq.is_valid_request.reasons
    rsp = C_STORE(MessageIDBeingRespondedTo=1, Status=0, Priority=2)
    assert "Priority is not a parameter of C-STORE-RSP" in rsp.is_valid_response.reasons


def test_conditional_cells() -> None:
    # Action Reply only with Success or Warning; Action Type ID with the reply
    rsp = N_ACTION(MessageIDBeingRespondedTo=1, Status=0xC000, ActionReply=b"xx", ActionTypeID=1)
    assert (
        "ActionReply is only sent with a Success or Warning status" in rsp.is_valid_response.reasons
    )
    rsp = N_ACTION(MessageIDBeingRespondedTo=1, Status=0x0000, ActionReply=b"xx")
    assert "ActionTypeID is required when ActionReply is present" in rsp.is_valid_response.reasons
    # C-FIND identifier if and only if pending
    assert not C_FIND(MessageIDBeingRespondedTo=1, Status=0xFF00).is_valid_response
    assert C_FIND(MessageIDBeingRespondedTo=1, Status=0xFF00, Identifier=b"xx").is_valid_response
    assert not C_FIND(
        MessageIDBeingRespondedTo=1, Status=0x0000, Identifier=b"xx"
    ).is_valid_response
    # sub-operation counts are required while pending
    pending = C_MOVE(MessageIDBeingRespondedTo=1, Status=0xFF00)
    assert (
        "NumberOfRemainingSuboperations is required in a Pending C-MOVE-RSP"
        in pending.is_valid_response.reasons
    )
    # status details only with Warning or Failure
    assert not C_STORE(MessageIDBeingRespondedTo=1, Status=0, ErrorComment="x").is_valid_response
    assert C_STORE(MessageIDBeingRespondedTo=1, Status=0xA700, ErrorComment="x").is_valid_response
    assert C_STORE(
        MessageIDBeingRespondedTo=1, Status=0xB000, OffendingElement=[0x00100010]
    ).is_valid_response


def test_equal_cells_are_checked_against_the_request() -> None:
    rq = N_EVENT_REPORT(
        MessageID=1, AffectedSOPClassUID="1.2.3", AffectedSOPInstanceUID="1.2.3.4", EventTypeID=2
    )
    rsp = N_EVENT_REPORT(
        MessageIDBeingRespondedTo=1, Status=0, EventTypeID=3, AffectedSOPClassUID="1.2.3"
    )
    assert rsp.is_valid_response  # without the request nothing to compare
    verdict = validate(rsp, is_request=False, request=rq)
    assert verdict.reasons == ("EventTypeID 3 must equal the request's value 2 (=)",)
    create = N_CREATE(MessageID=1, AffectedSOPClassUID="1.2.3")
    created = N_CREATE(MessageIDBeingRespondedTo=1, Status=0)
    assert (
        "AffectedSOPInstanceUID is required when the request did not give one"
        in validate(created, is_request=False, request=create).reasons
    )


def test_c_cancel_has_no_response() -> None:
    cancel = C_CANCEL(MessageIDBeingRespondedTo=3)
    assert cancel.is_valid_request
    assert cancel.is_valid_response.reasons == ("C-CANCEL has no response message",)


def test_decoded_request_with_announced_data_set_is_valid() -> None:
    rq = N_SET(
        MessageID=1,
        RequestedSOPClassUID="1.2",
        RequestedSOPInstanceUID="1.2.3",
        ModificationList=b"\x10\x00\x10\x00\x00\x00\x00\x00",
    )
    command = encode_message(rq).command_set
    decoded = decode_message(command)  # the data set has not arrived yet
    assert decoded.ModificationList is None
    assert decoded.dataset_follows()
    assert decoded.is_valid_request


def test_equality_and_repr() -> None:
    assert n_action_rq() == n_action_rq()
    other = n_action_rq()
    other.ActionTypeID = 2
    assert other != n_action_rq()
    assert "ActionTypeID=1" in repr(n_action_rq())
    assert N_DELETE() != C_ECHO()


# -- one value rule: the setters refuse exactly what the command-set decoder reports -----------

_UIDS = [
    "1.2.840.10008.1.1",
    "0",
    "2.25." + "9" * 39,
    "1." + "1" * 62,
    "1." + "1" * 63,
    "1..2",
    "1.",
    ".1",
    "01.2",
    "1.02",
    "1.2a",
    "1-2",
    "1.2\u00e9",
]
_AES = ["STORESCP", "A B", "A" * 16, "A" * 17, "A\\B", "A\tB", "A\x7fB", "\u00c4E", "A\x1bB"]


def _refused(cls: type, keyword: str, value: str) -> bool:
    try:
        cls(**{keyword: value})
    except InvalidParameter:
        return True
    return False


def _padded(text: str, pad: bytes) -> bytes:
    raw = text.encode("latin-1")
    return raw + pad if len(raw) % 2 else raw


@pytest.mark.parametrize("text", _UIDS)
def test_uid_setter_agrees_with_the_decoder(text: str) -> None:
    diagnostics: list[Diagnostic] = []
    decode_ui(_padded(text, b"\x00"), 0, 0x00000002, LENIENT, diagnostics)
    assert _refused(C_ECHO, "AffectedSOPClassUID", text) == bool(diagnostics), diagnostics
    assert _refused(C_ECHO, "AffectedSOPClassUID", text) != is_valid_uid(text)


@pytest.mark.parametrize("text", _AES)
def test_ae_setter_agrees_with_the_decoder(text: str) -> None:
    diagnostics: list[Diagnostic] = []
    decode_ae(_padded(text, b" "), 0, 0x00000600, LENIENT, diagnostics)
    assert _refused(C_MOVE, "MoveDestination", text) == bool(diagnostics), diagnostics
    assert _refused(C_MOVE, "MoveDestination", text) != is_valid_ae(text)


def test_uid_setter_refuses_what_the_old_digits_and_dots_rule_let_through() -> None:
    for text in ("1..2", "1.", ".", "01"):
        with pytest.raises(InvalidParameter):
            C_ECHO(AffectedSOPClassUID=text)
    assert C_ECHO(AffectedSOPClassUID="").AffectedSOPClassUID == ""  # present and empty


# -- the public accessors validation reads ------------------------------------------------------


def test_values_maps_every_parameter_in_table_order() -> None:
    echo = C_ECHO(MessageID=1, AffectedSOPClassUID="1.2.840.10008.1.1")
    values = echo.values()
    assert list(values) == list(C_ECHO.PARAMETERS)
    assert values["MessageID"] == 1 and values["Status"] is None
    values["MessageID"] = 9  # a fresh dict: the primitive is untouched
    assert echo.MessageID == 1
    store = C_STORE(DataSet=b"\x00\x00", OffendingElement=0x00100010)
    assert store.values()["DataSet"] == b"\x00\x00"
    assert store.values()["OffendingElement"] == (BaseTag(0x00100010),)


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_parameter_values_stand_where_the_message_spec_says(name: str) -> None:
    cls = PRIMITIVES[name]
    primitive = cls(**{k: None for k in cls.PARAMETERS})
    primitive.__dict__.update({"_" + k: f"value of {k}" for k in cls.PARAMETERS})
    values = primitive.parameter_values()
    assert values == tuple(primitive.values().values())
    assert len(values) == len(cls.PARAMETERS)
    for is_request in (True, False):
        spec = message_spec(primitive, is_request, default=None)
        if spec is None:
            continue
        assert set(spec.position) == set(cls.PARAMETERS)
        for keyword, index in spec.position.items():
            assert values[index] == f"value of {keyword}"


def test_message_spec_default_and_the_deprecated_message_spec_for() -> None:
    cancel = C_CANCEL(MessageIDBeingRespondedTo=1)
    assert message_spec(cancel, False, default=None) is None
    with pytest.raises(EncodeError):
        message_spec(cancel, False)
    assert message_spec(cancel, True, default=None) is MESSAGES_BY_NAME["C-CANCEL-RQ"]
    with pytest.warns(DeprecationWarning, match="message_spec"):
        from dimse_codec.dimse.validation import message_spec_for
    assert message_spec_for(cancel, True) is MESSAGES_BY_NAME["C-CANCEL-RQ"]
    assert message_spec_for(cancel, False) is None


# -- signatures and their documentation, from the PS3.7 table ------------------------------------


def test_primitive_classes_are_what_the_table_writes() -> None:
    """Descriptors, ``Args:`` docs and keyword signatures of the 12 classes are written from the
    table by tests/render_primitives.py: the committed module is exactly its output."""
    import render_primitives

    source = render_primitives.MODULE.read_text(encoding="utf-8")
    assert render_primitives.render(source) == source, "run: python tests/render_primitives.py"


@pytest.mark.parametrize("cls", list(PRIMITIVES.values()), ids=lambda cls: cls.__name__)
def test_signature_and_docs_name_every_parameter(cls: type[DIMSEPrimitive]) -> None:
    signature = inspect.signature(cls)
    assert list(signature.parameters) == list(cls.PARAMETERS)
    for keyword, parameter in signature.parameters.items():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default is None
        assert parameter.annotation == cls.__dict__[keyword].ACCEPTS
        assert f"\n        {keyword}: " in (cls.__doc__ or ""), keyword
    source = inspect.getsource(cls)
    stub = source[source.index("    if TYPE_CHECKING:") :]
    for keyword, parameter in signature.parameters.items():
        assert f"            {keyword}: {parameter.annotation} = None,\n" in stub, keyword


def test_mypy_strict_checks_a_users_typed_script(tmp_path: Path) -> None:
    """A user's script type-checks under ``mypy --strict``; a misspelt keyword or a value of the
    wrong type is caught before it runs."""
    api = pytest.importorskip("mypy.api", reason="mypy comes with the test extra")
    good = tmp_path / "good.py"
    good.write_text(
        textwrap.dedent(
            """
            from pydicom.dataset import Dataset

            from dimse_codec import C_FIND, C_STORE, N_ACTION, encode_message


            def store(data: bytes) -> C_STORE:
                return C_STORE(
                    MessageID=1,
                    AffectedSOPClassUID="1.2.840.10008.5.1.4.1.1.7",
                    AffectedSOPInstanceUID="1.2.3.4",
                    Priority=0,
                    DataSet=data,
                )


            query = Dataset()
            query.QueryRetrieveLevel = "STUDY"
            find = C_FIND(MessageID=2, AffectedSOPClassUID="1.2.840.10008.5.1.4.1.2.2.1",
                          Priority=0, Identifier=query)
            reply = N_ACTION(MessageIDBeingRespondedTo=3, Status=0x0107,
                             AttributeIdentifierList=[0x00100010, (0x0010, 0x0020)])
            message_id: int | None = store(b"").MessageID
            encoded = encode_message(find).command_set
            """
        ),
        encoding="utf-8",
    )
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from dimse_codec import C_ECHO\nC_ECHO(MesageID=1)\nC_ECHO(MessageID='one')\nC_ECHO(1)\n",
        encoding="utf-8",
    )
    cache = str(tmp_path / "mypy-cache")
    out, err, status = api.run(["--strict", "--cache-dir", cache, str(good)])
    assert status == 0, out + err
    out, _, status = api.run(["--strict", "--cache-dir", cache, str(bad)])
    assert status == 1
    assert 'Unexpected keyword argument "MesageID"' in out
    assert 'Argument "MessageID" to "C_ECHO" has incompatible type "str"' in out
    assert "Too many positional arguments" in out
