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
from collections.abc import Callable
from typing import Any, TypeVar

from runtime.errors import BindingError

T = TypeVar("T", bound=type)
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """``expirationTtl`` -> ``expiration_ttl``; ``idFromName`` -> ``id_from_name``."""
    return _CAMEL.sub(lambda m: "_" + m.group(1).lower(), name)


def platform_names(cls: T) -> T:
    """Make ``cls`` answer camelCase method names and keywords with their snake_case spelling."""
    seen: set[str] = set()
    for klass in cls.__mro__[:-1]:  # its own methods and those it inherits (not object's)
        for name, function in list(vars(klass).items()):
            if name in seen:
                continue
            seen.add(name)
            if name.startswith("_") or not inspect.isfunction(function):
                continue
            function = getattr(function, "__unchecked__", function)  # a decorated base's original
            parameters = inspect.signature(function).parameters
            if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
                continue
            setattr(cls, name, _checked(cls.__name__, function, frozenset(parameters)))

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


def _checked(owner: str, function: Callable[..., Any], known: frozenset[str]) -> Callable[..., Any]:
    def complain(kwargs: dict[str, Any]) -> None:
        for key in kwargs:
            if key not in known:
                spelled = snake(key)
                hint = (
                    f"did you mean `{spelled}`?"
                    if spelled in known
                    else f"it takes {', '.join(sorted(known - {'self'}))}"
                )
                raise BindingError(f"{owner}.{function.__name__}() got the keyword {key!r}: {hint}")

    # A plain function, for coroutine functions too: it returns their coroutine, so the hot
    # paths (a KV put) pay for one set check, not for one more coroutine frame.
    @functools.wraps(function)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if kwargs and not known.issuperset(kwargs):
            complain(kwargs)
        return function(*args, **kwargs)

    checked.__unchecked__ = function  # type: ignore[attr-defined]
    return checked
