"""Arguments checked at a binding's edge, from its signature: a parameter annotated ``str``
takes text SQLite can store, one annotated ``int`` a whole number SQLite can hold. Anything
else is a :class:`BindingError` naming the method, the parameter and the value, instead of
``UnicodeEncodeError``, ``OverflowError`` or sqlite3's "Error binding parameter 2" from deep
inside.

Used on the bindings whose arguments flow straight into SQL (the smart components, actor
storage); the hottest paths (KV, queues) check their few arguments by hand.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from runtime.errors import BindingError
from runtime.naming import public_methods

T = TypeVar("T", bound=type)

_TEXT = {"str", "str | None"}
_WHOLE = {"int", "int | None"}
_INT64 = 2**63


def utf8(text: str, what: str) -> bytes:
    """``text`` as UTF-8, or :class:`BindingError` saying ``what`` is not storable text: a lone
    surrogate (``"\\ud800"``) has no UTF-8 form, so SQLite, files and HTTP cannot take it."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise not_text(what) from None


def not_text(what: str) -> BindingError:
    """The error for ``what``, text with a lone surrogate."""
    return BindingError(f"{what} is not valid Unicode text (a lone surrogate)")


def checked_arguments(cls: T) -> T:
    """Wrap every public coroutine method of ``cls`` (and those it inherits) so that its
    ``str`` and ``int`` parameters are checked before it runs."""
    for name, function in list(public_methods(cls)):
        checks = _checks(function) if inspect.iscoroutinefunction(function) else None
        if checks:
            setattr(cls, name, _wrap(cls.__name__, function, checks))
    return cls


def _checks(function: Callable[..., Any]) -> dict[str, tuple[int, str]]:
    """The checked parameters: name -> (position, "text" or "whole")."""
    found = {}
    for position, parameter in enumerate(inspect.signature(function).parameters.values()):
        annotation = parameter.annotation if isinstance(parameter.annotation, str) else ""
        if annotation in _TEXT:
            found[parameter.name] = (position, "text")
        elif annotation in _WHOLE:
            found[parameter.name] = (position, "whole")
    return found


def _wrap(owner: str, function: Callable[..., Any], checks: dict[str, tuple[int, str]]) -> Callable[..., Any]:
    @functools.wraps(function)
    async def checked(*args: Any, **kwargs: Any) -> Any:
        for name, (position, kind) in checks.items():
            value = kwargs[name] if name in kwargs else args[position] if position < len(args) else None
            if value is not None:
                _check(owner, function.__name__, name, kind, value)
        return await function(*args, **kwargs)

    return checked


def _check(owner: str, method: str, name: str, kind: str, value: Any) -> None:
    if kind == "text":
        if isinstance(value, str):
            utf8(value, f"{owner}.{method}(): {name} {value[:40]!r}")
            return
        raise BindingError(f"{owner}.{method}(): {name} must be text, not {type(value).__name__} {value!r:.60}")
    if isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64:
        return
    raise BindingError(f"{owner}.{method}(): {name} must be a whole number, not {value!r:.60}")
