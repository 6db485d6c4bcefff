"""Public Hypothesis strategies for DIMSE primitives, command sets, PS3.8 PDUs and their parts.

They follow Hypothesis conventions (functions returning ``SearchStrategy``, keyword arguments to
narrow) and are driven by the same PS3.7 table and PS3.8 value classes as the codec.
Hypothesis is optional: install it with ``pip install 'dimse-codec[strategies]'``.
"""

try:
    import hypothesis as _hypothesis  # noqa: F401
except ImportError:
    raise ModuleNotFoundError(
        "dimse_codec.strategies needs Hypothesis: pip install 'dimse-codec[strategies]'",
        name="hypothesis",
    ) from None

from dimse_codec.strategies.commands import (
    MalformedCommandSet,
    damaged_command_sets,
    malformed_command_sets,
)
from dimse_codec.strategies.datasets import (
    STANDARD_TRANSFER_SYNTAXES,
    MalformedDataset,
    datasets,
    encoded_datasets,
    malformed_datasets,
)
from dimse_codec.strategies.malformed_pdu import MalformedPDU, malformed_pdu_bytes
from dimse_codec.strategies.pdu import (
    aborts,
    abstract_syntax_items,
    application_context_items,
    associate_acs,
    associate_rjs,
    associate_rqs,
    asynchronous_operations_window_items,
    common_extended_negotiation_items,
    extended_negotiation_items,
    implementation_class_uid_items,
    implementation_version_name_items,
    max_pdu_lengths,
    maximum_length_items,
    p_data_tfs,
    pdus,
    presentation_context_ac_items,
    presentation_context_rq_items,
    presentation_data_value_items,
    quirky_pdus,
    release_rps,
    release_rqs,
    role_selection_items,
    transfer_syntax_items,
    unknown_pdus,
    user_identity_ac_items,
    user_identity_rq_items,
    user_information_items,
)
from dimse_codec.strategies.primitives import (
    ae_titles,
    attribute_tags,
    command_sets,
    dataset_payloads,
    error_comments,
    message_specs,
    primitives,
    status_codes,
    uids,
)
from dimse_codec.strategies.streams import (
    AssociationStreams,
    MalformedStream,
    associations,
    malformed_streams,
)
from dimse_codec.strategies.upper_layer import (
    WALK_REQUEST,
    WALK_SUPPORTED,
    WalkStep,
    take_step,
    upper_layer_walks,
)

__all__ = [
    "STANDARD_TRANSFER_SYNTAXES",
    "WALK_REQUEST",
    "WALK_SUPPORTED",
    "AssociationStreams",
    "MalformedCommandSet",
    "MalformedDataset",
    "MalformedPDU",
    "MalformedStream",
    "WalkStep",
    "aborts",
    "abstract_syntax_items",
    "ae_titles",
    "application_context_items",
    "associate_acs",
    "associate_rjs",
    "associate_rqs",
    "associations",
    "asynchronous_operations_window_items",
    "attribute_tags",
    "command_sets",
    "common_extended_negotiation_items",
    "damaged_command_sets",
    "dataset_payloads",
    "datasets",
    "encoded_datasets",
    "error_comments",
    "extended_negotiation_items",
    "implementation_class_uid_items",
    "implementation_version_name_items",
    "malformed_command_sets",
    "malformed_datasets",
    "malformed_pdu_bytes",
    "malformed_streams",
    "max_pdu_lengths",
    "maximum_length_items",
    "message_specs",
    "p_data_tfs",
    "pdus",
    "presentation_context_ac_items",
    "presentation_context_rq_items",
    "presentation_data_value_items",
    "primitives",
    "quirky_pdus",
    "release_rps",
    "release_rqs",
    "role_selection_items",
    "status_codes",
    "take_step",
    "transfer_syntax_items",
    "uids",
    "unknown_pdus",
    "upper_layer_walks",
    "user_identity_ac_items",
    "user_identity_rq_items",
    "user_information_items",
]
