"""Old home of the NDJSON view of capture records, now :mod:`dimse_codec.capture.ndjson`.

``docs/decode.md`` showed ``from dimse_codec.cli.ndjson import record_json``; the names resolve
here for one release, with a ``DeprecationWarning`` naming their new module.
"""

from __future__ import annotations

from dimse_codec._deprecation import deprecated_aliases
from dimse_codec.capture import ndjson

_NEW = "dimse_codec.capture.ndjson"
__getattr__ = deprecated_aliases(
    __name__, {name: (f"{_NEW}.{name}", getattr(ndjson, name)) for name in ndjson.__all__}
)
