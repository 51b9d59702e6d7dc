"""Actor ids: 64 hex digits that say which actor class made them.

As on the platform (and in Miniflare), an id is 16 bytes that identify the actor (from a name's
hash, or random) followed by 16 bytes of an HMAC of those bytes keyed by the actor class. So
``id_from_string`` can refuse an id another class made, or one typed by hand, without asking
the store. The same name gives the same id in every process and in TypeScript (``env.mjs``
computes it the same way).

State files written before ids carried the class's signature held ids of another form: the
first 16 bytes of each are kept and the signature appended (:func:`upgrade`), which the SQLite
and Redis backends apply once to what they hold.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from runtime.errors import BindingError

__all__ = ["ActorId", "from_name", "made_by", "signed", "unique", "upgrade"]

_HEX = frozenset("0123456789abcdef")


def _key(namespace: str) -> bytes:
    return hashlib.sha256(b"raindrop-actor-id\x00" + namespace.encode("utf-8", "surrogatepass")).digest()


def signed(namespace: str, body: bytes) -> str:
    """The id of ``namespace`` whose first 16 bytes are ``body``."""
    mac = hmac.new(_key(namespace), body, hashlib.sha256).digest()[:16]
    return (body + mac).hex()


def from_name(namespace: str, name_bytes: bytes) -> str:
    """The id ``id_from_name`` gives: the same for the same class and name, always."""
    return signed(
        namespace, hashlib.sha256(namespace.encode("utf-8", "surrogatepass") + b"\x00" + name_bytes).digest()[:16]
    )


def unique(namespace: str) -> str:
    """A fresh random id of ``namespace``."""
    return signed(namespace, os.urandom(16))


def made_by(namespace: str, hex_id: object) -> bool:
    """Whether ``hex_id`` is an id ``namespace`` made (raises for what is no id at all)."""
    if not isinstance(hex_id, str) or len(hex_id) != 64 or not _HEX.issuperset(hex_id):
        raise BindingError(f"{str(hex_id)[:80]!r} is not an actor id (64 lowercase hex digits)")
    return hmac.compare_digest(signed(namespace, bytes.fromhex(hex_id[:32])), hex_id)


def upgrade(namespace: str, old_hex: str) -> str:
    """The id an id of the earlier form (64 hex digits, no signature) has now."""
    if len(old_hex) != 64 or not _HEX.issuperset(old_hex):
        return old_hex  # not an id this runtime made: left as it is
    return signed(namespace, bytes.fromhex(old_hex[:32]))


class ActorId:
    """An actor's identity: 64 hex digits, and the name it came from when known."""

    __slots__ = ("_hex", "name", "namespace")

    def __init__(self, hex_id: str, name: str | None = None, namespace: str | None = None) -> None:
        self._hex = hex_id
        self.name = name
        #: The actor class the id was made for (None for an id made by hand): ``get`` on another
        #: namespace refuses it, as the platform does.
        self.namespace = namespace

    def __str__(self) -> str:
        return self._hex

    def __repr__(self) -> str:
        return f"ActorId({self._hex[:12]}…, name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ActorId) and other._hex == self._hex

    def __hash__(self) -> int:
        return hash(self._hex)

    def equals(self, other: ActorId) -> bool:
        return self == other

    def to_string(self) -> str:
        return self._hex
