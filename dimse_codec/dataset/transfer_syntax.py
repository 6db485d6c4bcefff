"""Transfer syntaxes as plain records, so the data-set codec never guesses how data is encoded.

The registry is pydicom's (every UID of type "Transfer Syntax" in its UID dictionary, plus private
ones registered with :func:`pydicom.uid.register_transfer_syntax`), with a few flags corrected
where pydicom 3's generic rules disagree with PS3.5 (see ``_CORRECTIONS``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from pydicom._uid_dict import UID_dictionary
from pydicom.uid import UID, PrivateTransferSyntaxes

from dimse_codec.errors import InvalidParameter, InvalidParameterType
from dimse_codec.tables.vrs import is_valid_uid

__all__ = [
    "DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN",
    "EXPLICIT_VR_BIG_ENDIAN",
    "EXPLICIT_VR_LITTLE_ENDIAN",
    "IMPLICIT_VR_LITTLE_ENDIAN",
    "KNOWN_TRANSFER_SYNTAXES",
    "TransferSyntax",
    "TransferSyntaxLike",
    "lookup_transfer_syntax",
]


class TransferSyntax(NamedTuple):
    """How a data set is encoded: VR explicitness, byte order, deflation and pixel encapsulation.

    ``known`` is False for a UID that is not in the registry and was only guessed (Explicit VR
    Little Endian, see :func:`lookup_transfer_syntax`); ``retired`` mirrors PS3.6.
    """

    uid: str
    name: str
    implicit_vr: bool
    little_endian: bool
    deflated: bool
    encapsulated: bool
    known: bool = True
    retired: bool = False

    @property
    def explicit_vr(self) -> bool:
        """True when each element carries its VR on the wire (every syntax but implicit VR)."""
        return not self.implicit_vr

    def __str__(self) -> str:
        """Show the name and UID, which is what a person reading a log wants."""
        return f"{self.name} ({self.uid})"


# PS3.5 A.7/A.8 and their HTJ2K twins: JPIP Referenced syntaxes carry no pixel data (it is
# referenced by URL), and the "Deflate" variants deflate the whole data set like A.5.
# PS3.6: the retired Papyrus 3 syntax is Implicit VR Little Endian, as its name says.
# pydicom 3.0 treats every syntax outside the four native ones as explicit VR, not deflated and
# encapsulated, which is wrong for these.
_CORRECTIONS: dict[str, Callable[[TransferSyntax], TransferSyntax]] = {
    "1.2.840.10008.1.2.4.94": lambda ts: ts._replace(encapsulated=False),
    "1.2.840.10008.1.2.4.95": lambda ts: ts._replace(encapsulated=False, deflated=True),
    "1.2.840.10008.1.2.4.204": lambda ts: ts._replace(encapsulated=False),
    "1.2.840.10008.1.2.4.205": lambda ts: ts._replace(encapsulated=False, deflated=True),
    "1.2.840.10008.1.20": lambda ts: ts._replace(implicit_vr=True),
}


def _from_pydicom(uid: UID) -> TransferSyntax:
    """Build the record for one UID pydicom knows as a transfer syntax, applying corrections."""
    entry = UID_dictionary.get(str(uid))
    name = entry[0] if entry else str(uid)
    retired = bool(entry and entry[3] == "Retired")
    record = TransferSyntax(
        uid=str(uid),
        name=name,
        implicit_vr=uid.is_implicit_VR,
        little_endian=uid.is_little_endian,
        deflated=uid.is_deflated,
        encapsulated=uid.is_encapsulated,
        known=True,
        retired=retired,
    )
    fix = _CORRECTIONS.get(record.uid)
    return fix(record) if fix else record


def _build_registry() -> dict[str, TransferSyntax]:
    """Collect every standard transfer syntax in pydicom's UID dictionary."""
    registry: dict[str, TransferSyntax] = {}
    for uid_str, entry in UID_dictionary.items():
        if entry[1] == "Transfer Syntax":
            registry[uid_str] = _from_pydicom(UID(uid_str))
    return registry


_REGISTRY: dict[str, TransferSyntax] = _build_registry()

KNOWN_TRANSFER_SYNTAXES: tuple[TransferSyntax, ...] = tuple(
    sorted(_REGISTRY.values(), key=lambda ts: [int(part) for part in ts.uid.split(".")])
)
"""Every standard transfer syntax in the registry, in UID order (private ones are found live)."""

TransferSyntaxLike = str | bytes | TransferSyntax
"""What the codec accepts wherever a transfer syntax is expected."""


def _normalise(uid: str | bytes) -> str:
    """Turn wire or user input into a UID string, dropping one trailing NUL or space pad."""
    if isinstance(uid, bytes | bytearray):
        try:
            text = bytes(uid).decode("ascii")
        except UnicodeDecodeError as exc:
            raise InvalidParameter(
                f"transfer syntax UID {bytes(uid)!r} is not ASCII", path="transfer syntax"
            ) from exc
    else:
        text = str(uid)
    if text.endswith(("\x00", " ")):
        text = text[:-1]
    return text


def _private(uid: str) -> TransferSyntax | None:
    """Return the record of a private syntax registered with pydicom at call time, if any."""
    for registered in PrivateTransferSyntaxes:
        if str(registered) == uid:
            return TransferSyntax(
                uid=uid,
                name=f"Private transfer syntax {uid}",
                implicit_vr=registered.is_implicit_VR,
                little_endian=registered.is_little_endian,
                deflated=registered.is_deflated,
                encapsulated=registered.is_encapsulated,
                known=True,
                retired=False,
            )
    return None


def lookup_transfer_syntax(uid: TransferSyntaxLike, *, guess: bool = False) -> TransferSyntax:
    """Return the record for a transfer syntax UID, so callers never hand-code encoding flags.

    A :class:`TransferSyntax` is returned as is. ``str``/``bytes`` input loses one trailing NUL or
    space pad. An unknown UID raises :class:`InvalidParameter`, unless ``guess`` is true and the
    UID is well formed: then it is taken as Explicit VR Little Endian (what every non-native
    syntax uses outside pixel data) with ``known=False`` and ``encapsulated=True``.
    """
    if isinstance(uid, TransferSyntax):
        return uid
    if not isinstance(uid, str | bytes | bytearray):
        raise InvalidParameterType(
            f"transfer syntax must be str, bytes or TransferSyntax, not {type(uid).__name__}",
            path="transfer syntax",
        )
    text = _normalise(uid)
    found = _REGISTRY.get(text) or _private(text)
    if found is not None:
        return found
    well_formed = is_valid_uid(text)
    if guess and well_formed:
        return TransferSyntax(
            uid=text,
            name=f"Unknown transfer syntax {text}",
            implicit_vr=False,
            little_endian=True,
            deflated=False,
            encapsulated=True,
            known=False,
            retired=False,
        )
    reason = "unknown transfer syntax" if well_formed else "malformed transfer syntax UID"
    raise InvalidParameter(f"{reason} {text!r}", path="transfer syntax")


IMPLICIT_VR_LITTLE_ENDIAN: TransferSyntax = _REGISTRY["1.2.840.10008.1.2"]
"""Implicit VR Little Endian, the default DICOM transfer syntax (PS3.5 A.1)."""

EXPLICIT_VR_LITTLE_ENDIAN: TransferSyntax = _REGISTRY["1.2.840.10008.1.2.1"]
"""Explicit VR Little Endian (PS3.5 A.2)."""

EXPLICIT_VR_BIG_ENDIAN: TransferSyntax = _REGISTRY["1.2.840.10008.1.2.2"]
"""Explicit VR Big Endian, retired but still met on the wire (PS3.5 A.3)."""

DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN: TransferSyntax = _REGISTRY["1.2.840.10008.1.2.1.99"]
"""Deflated Explicit VR Little Endian (PS3.5 A.5)."""
