"""The binding side of actors: ``env.<ACTOR>`` (:class:`ActorNamespace`) makes ids and stubs, and
an :class:`ActorStub` turns ``await stub.method(...)`` into a call on the :class:`ActorHost`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, cast

from typing_extensions import TypeVar

from runtime import actor_ids
from runtime.actor_ids import ActorId
from runtime.arguments import utf8
from runtime.errors import BindingError
from runtime.naming import platform_names

if TYPE_CHECKING:
    from runtime.actors import ActorHost

__all__ = ["ActorNamespace", "ActorStub"]


class ActorStub:
    """Calls to an actor: ``await stub.method(...)`` or ``await stub.fetch(request)``."""

    def __init__(self, namespace: str, actor: ActorId, host: ActorHost) -> None:
        self._namespace = namespace
        self.id = actor
        self.name = actor.name
        self._host = host

    def __getattr__(self, method: str) -> Callable[..., Awaitable[Any]]:
        if method.startswith("_"):
            raise AttributeError(method)

        host, namespace, actor = self._host, self._namespace, self.id

        def call(*args: Any, **kwargs: Any) -> Awaitable[Any]:
            # A plain function returning the host's coroutine: no frame of its own per call.
            return host.call(namespace, actor, method, args, kwargs)

        call.__name__ = method
        self.__dict__[method] = call  # the next call of the method finds it without coming here
        return call


#: What ``get`` returns: a stub typed as the actor's ``<Class>Stub`` protocol (``generate``
#: writes one per actor, from its class), else :class:`ActorStub`.
S = TypeVar("S", default=ActorStub)


@platform_names
class ActorNamespace(Generic[S]):
    """``env.<ACTOR>``: ids and stubs for one actor class."""

    def __init__(self, name: str, host: ActorHost) -> None:
        self.name = name
        self._host = host

    def __repr__(self) -> str:
        return f"<ActorNamespace {self.name!r}>"

    def id_from_name(self, name: str) -> ActorId:
        """The same id for the same name, always (as on the platform)."""
        if not isinstance(name, str):
            raise BindingError(f"id_from_name takes a str, not {type(name).__name__}")
        return ActorId(actor_ids.from_name(self.name, utf8(name, f"id_from_name: {name[:40]!r}")), name, self.name)

    def id_from_string(self, hex_id: str) -> ActorId:
        """The id whose 64 hex digits ``hex_id`` spells (``str(actor_id)`` gives them back).
        As on the platform, an id another actor class made, or digits typed by hand, are refused:
        an id carries the signature of the class that made it."""
        if not actor_ids.made_by(self.name, hex_id):
            maker = next((ns for ns in self._host.classes if ns != self.name and actor_ids.made_by(ns, hex_id)), None)
            made = f'it was made by actor "{maker}"' if maker else "no actor class of this app made it"
            raise BindingError(
                f'{hex_id!r} is not an id of actor "{self.name}": {made} (ids come from this namespace\'s '
                "id_from_name or new_unique_id; an id is for the class that made it)"
            )
        return ActorId(hex_id, None, self.name)

    def new_unique_id(self) -> ActorId:
        """A fresh random id, never equal to one from a name."""
        return ActorId(actor_ids.unique(self.name), None, self.name)

    def get(self, actor: ActorId, **options: Any) -> S:
        """A stub for ``actor``; ``location_hint`` and other options are accepted and ignored."""
        if not isinstance(actor, ActorId):
            raise BindingError(f"get() takes an ActorId (from id_from_name), not {type(actor).__name__}")
        if actor.namespace is not None and actor.namespace != self.name:
            raise BindingError(
                f'actor "{self.name}": this id was made by actor "{actor.namespace}"\'s namespace; an id is for '
                f"the class that made it (use env.{self.name.upper().replace('-', '_')}.id_from_name(...))"
            )
        return cast(S, ActorStub(self.name, actor, self._host))
