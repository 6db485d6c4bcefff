"""Old public names kept for one release after a rename, with a ``DeprecationWarning`` on use.

A module that renamed a public name assigns ``__getattr__ = deprecated_aliases(__name__, {...})``;
the old name then still resolves (PEP 562), but says what to use instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any


def deprecated_aliases(module: str, renamed: Mapping[str, tuple[str, Any]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving each old name to ``(new name, object)`` with a warning."""

    def __getattr__(name: str) -> Any:
        if name in renamed:
            new_name, value = renamed[name]
            warnings.warn(
                f"{module}.{name} is deprecated; use {new_name}",
                DeprecationWarning,
                stacklevel=2,
            )
            return value
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
