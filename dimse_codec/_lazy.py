"""Package faces that import a name's module only when the name is first used (PEP 562).

A face lists its public names once, as ``{name: "module"}`` (or ``"module:attribute"`` when the
name differs); ``import dimse_codec`` then costs nothing beyond the face itself, and a command
that needs only the command-set codec never loads pydicom or the network layer. Type checkers
read the same names from the face's ``if TYPE_CHECKING:`` imports, which a test keeps equal to
the mapping.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(
    module: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a face whose ``names`` load on first use.

    A loaded name is stored in ``namespace`` (the face's globals), so each is imported once.
    """

    def __getattr__(name: str) -> Any:
        where = names.get(name)
        if where is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        source, _, attribute = where.partition(":")
        value = getattr(importlib.import_module(source), attribute or name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
