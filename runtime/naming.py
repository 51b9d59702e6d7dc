"""The platform's camelCase names, answered with their Python spelling.

Code ported from TypeScript reaches for ``env.JOBS.sendBatch(...)``, ``put(..., expirationTtl=60)``
or ``ns.idFromName(...)``. Bindings decorated with :func:`platform_names` answer such a method
with ``AttributeError: ... did you mean `send_batch`?`` and such a keyword with a
``BindingError`` naming ``expiration_ttl``, instead of a bare ``TypeError``.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from runtime.errors import BindingError

T = TypeVar("T", bound=type)
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """``expirationTtl`` -> ``expiration_ttl``; ``idFromName`` -> ``id_from_name``."""
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), name)


def public_methods(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Each public method ``cls`` has, its own or inherited (not object's), as the most derived
    class defines it: what the class decorators of bindings wrap."""
    seen: set[str] = set()
    for klass in cls.__mro__[:-1]:
        for name, function in list(vars(klass).items()):
            if name in seen:
                continue
            seen.add(name)
            if not name.startswith("_") and inspect.isfunction(function):
                yield name, function


def platform_names(cls: T) -> T:
    """Make ``cls`` answer camelCase method names and keywords with their snake_case spelling."""
    for name, method in list(public_methods(cls)):
        function = getattr(method, "__unchecked__", method)  # a decorated base's original
        parameters = inspect.signature(function).parameters
        if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            continue  # takes any keyword, or checks its own with keyword_error()
        setattr(cls, name, _checked(cls.__name__, function, frozenset(parameters), _positional(parameters)))

    original = cls.__dict__.get("__getattr__")

    def __getattr__(self: Any, attribute: str) -> Any:
        if original is not None:
            try:
                return original(self, attribute)
            except AttributeError:
                pass
        spelled = snake(attribute)
        if spelled != attribute and hasattr(type(self), spelled):
            raise AttributeError(
                f"{type(self).__name__} has no {attribute!r}: did you mean `{spelled}`? "
                "(the platform's camelCase names are snake_case in Python)"
            )
        raise AttributeError(f"{type(self).__name__} has no attribute {attribute!r}")

    cls.__getattr__ = __getattr__  # type: ignore[attr-defined]
    return cls


def keyword_error(owner: object, method: str, given: Iterable[str]) -> BindingError:
    """The error for keywords ``given`` to ``owner.method`` that it does not take: a hot method
    that takes ``**unknown`` (so no wrapper costs it a frame) raises this when any came."""
    function = getattr(type(owner), method)
    function = getattr(function, "__unchecked__", function)
    known = frozenset(name for name, p in inspect.signature(function).parameters.items() if p.kind is not p.VAR_KEYWORD)
    return _keyword_error(type(owner).__name__, method, given, known)


def _keyword_error(owner: str, method: str, given: Iterable[str], known: frozenset[str]) -> BindingError:
    for key in given:
        if key not in known:
            spelled = snake(key)
            hint = (
                f"did you mean `{spelled}`?" if spelled in known else f"it takes {', '.join(sorted(known - {'self'}))}"
            )
            return BindingError(f"{owner}.{method}() got the keyword {key!r}: {hint}")
    raise ValueError(f"{owner}.{method}() takes every keyword of {sorted(given)}")


def _positional(parameters: Mapping[str, inspect.Parameter]) -> tuple[str, ...]:
    """The names of the parameters a call may pass by position, ``self`` first."""
    return tuple(n for n, p in parameters.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def options_error(owner: str, method: str, args: tuple[Any, ...], positional: tuple[str, ...]) -> BindingError | None:
    """The error for the TypeScript shape of a call, options in an object: ``send(body,
    {"delaySeconds": 5})`` (a dict past the positional parameters) or ``put_memory({"content":
    ..., "sessionId": ...})`` (a dict holding the very parameter it stands in for). None when the
    call is not of that shape."""
    for index, value in enumerate(args[1:], start=1):
        if not isinstance(value, Mapping) or not value or not all(isinstance(k, str) for k in value):
            continue
        spelled = {snake(k): k for k in value}
        beyond = index >= len(positional)
        holds_itself = (
            not beyond and positional[index] in spelled and set(spelled) <= set(positional[1:]) | {positional[index]}
        )
        if beyond or holds_itself:
            shown = ", ".join(f"{name}=..." for name in spelled)
            return BindingError(
                f"{owner}.{method}() takes its options as keyword arguments, not a dict (the TypeScript shape): "
                f"write {method}({'' if holds_itself else '..., '}{shown})"
            )
    return None


def _checked(
    owner: str, function: Callable[..., Any], known: frozenset[str], positional: tuple[str, ...] = ()
) -> Callable[..., Any]:
    def complain(kwargs: dict[str, Any]) -> None:
        raise _keyword_error(owner, function.__name__, kwargs, known)

    # A plain function, for coroutine functions too: it returns their coroutine, so the hot
    # paths (a KV put) pay for one set check, not for one more coroutine frame.
    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if kwargs and not known.issuperset(kwargs):
            complain(kwargs)
        if len(args) > 1 and type(args[1]) is dict and len(positional) > 1 and positional[1] in args[1]:
            shaped = options_error(owner, function.__name__, args, positional)  # put_memory({"content": ...})
            if shaped is not None:
                raise shaped
        try:
            return function(*args, **kwargs)
        except (TypeError, BindingError):
            shaped = options_error(owner, function.__name__, args, positional)
            if shaped is not None:
                raise shaped from None
            raise

    checked.__unchecked__ = function  # type: ignore[attr-defined]
    return checked
