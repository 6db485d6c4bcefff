"""Public Hypothesis strategies for DIMSE primitives, command sets and their parts.

They follow Hypothesis conventions (functions returning ``SearchStrategy``, keyword arguments to
narrow) and are driven by the same PS3.7 table as the codec.
"""

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

__all__ = [
    "ae_titles",
    "attribute_tags",
    "command_sets",
    "dataset_payloads",
    "error_comments",
    "message_specs",
    "primitives",
    "status_codes",
    "uids",
]
