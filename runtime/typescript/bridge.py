"""Answering the binding calls of TypeScript handlers with the app's Python bindings."""

from __future__ import annotations

import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from starlette.responses import Response, StreamingResponse

from runtime.actors import ActorId, ActorNamespace, Storage
from runtime.ai import AI
from runtime.applog import AppLogger
from runtime.buckets import Bucket
from runtime.env import Env
from runtime.errors import BindingError
from runtime.kv import KvCache
from runtime.naming import snake
from runtime.queue import Queue
from runtime.services import ServiceStub, build_request
from runtime.smart.buckets import SmartBucket
from runtime.sql import SqlDatabase
from runtime.typescript.calls import Streamed


def binding_spec(env: Env) -> dict[str, Any]:
    """What the Node side needs to build ``env``: each binding's kind, and the env values."""
    bindings: dict[str, Any] = {}
    values: dict[str, str] = {}
    for name, value in env.bindings().items():
        if value is None:  # an env var or secret with no value: absent (`undefined`), as on the platform
            continue
        if isinstance(value, str):
            values[name] = value
        elif isinstance(value, KvCache):
            bindings[name] = {"k": "kv"}
        elif isinstance(value, Queue):
            bindings[name] = {"k": "queue"}
        elif isinstance(value, SqlDatabase):
            bindings[name] = {"k": "sql"}
        elif isinstance(value, Bucket):
            bindings[name] = {"k": "bucket"}
        elif isinstance(value, ActorNamespace):
            bindings[name] = {"k": "actor", "ns": value.name}
        elif isinstance(value, ServiceStub):
            bindings[name] = {"k": "service"}
        elif isinstance(value, SmartBucket):
            bindings[name] = {"k": "smartbucket", "m": method_names(value)}
        else:
            bindings[name] = {"k": "generic", "m": method_names(value)}
    return {"bindings": bindings, "vars": values}


def method_names(value: Any) -> list[str]:
    """The methods a binding answers, as spelled in Python and in the platform's camelCase (a
    smart bucket's include its plain bucket's, which it hands calls on to)."""
    names: set[str] = set()
    for target in (value, getattr(value, "bucket", None)):
        if target is None or (target is not value and not isinstance(target, Bucket)):
            continue
        for attribute in dir(type(target)):
            if not attribute.startswith("_") and callable(getattr(type(target), attribute, None)):
                names.update((attribute, _camel(attribute)))
    return sorted(names)


def wire_response(response: Response) -> dict[str, Any] | Streamed:
    """A Python ``Response`` as the Node side rebuilds it: status, headers, body; a streaming
    one's body goes to Node as it is produced (an actor's server-sent events, a large download)."""
    headers = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in response.raw_headers if k != b"content-length"]
    if isinstance(response, StreamingResponse):
        return Streamed({"s": response.status_code, "h": headers, "b": None}, response.body_iterator)
    return {"s": response.status_code, "h": headers, "b": bytes(response.body)}


class Bridge:
    """Resolves ``{"b": binding, "m": method, "a": args, "k": kwargs}`` against ``env``."""

    def __init__(self) -> None:
        self.env: Env | None = None
        self._handles: dict[int, Any] = {}
        self._next = 0

    def register(self, target: Any) -> int:
        """A handle Node may call methods of (an actor's storage)."""
        self._next += 1
        self._handles[self._next] = target
        return self._next

    def _target(self, name: str) -> Any:
        env = self.env
        if env is None:
            raise BindingError("the app's env is not ready yet")
        if name.startswith("$h"):
            return self._handles[int(name[2:])]
        if name == "$logger":
            return env.logger
        if name == "$annotation":
            return env.annotation
        return getattr(env, name)

    def holder(self, handle: int) -> Callable[[Awaitable[Any]], Awaitable[Any]] | None:
        """What keeps the actor behind a storage handle leased while work runs (None: not one)."""
        hold = getattr(self._handles.get(handle), "_held_while", None)
        return hold if callable(hold) else None

    def release(self, handle: int) -> None:
        self._handles.pop(handle, None)

    @property
    def handles(self) -> int:
        """How many objects Node holds handles to (sessions, stores, actor storages)."""
        return len(self._handles)

    async def answer(self, message: dict[str, Any]) -> Any:
        if message["b"] == "$release":
            self.release(message["a"][0])
            return None
        if message["b"] == "$tracer":
            self._span(*message["a"])
            return None
        target = self._target(message["b"])
        method: str = message["m"]
        args: list[Any] = message.get("a") or []
        if method == "$sql":
            text, params, kind, extra = args
            statement = target.prepare(text).bind(*params)
            if kind == "first":
                return await statement.first(extra)
            if kind == "raw":
                return await statement.raw(column_names=bool(extra))
            return await (statement.all() if kind == "all" else statement.run())
        if method == "$batch":
            return await target.batch([target.prepare(text).bind(*params) for text, params in args[0]])
        if method == "$actor":
            actor, name, called, arguments = args
            return await getattr(target.get(ActorId(actor, name)), called)(*arguments)
        if method == "$actorFetch":
            actor, name, request = args
            response = await target.get(ActorId(actor, name)).fetch(_request(request, message.get("st")))
            return wire_response(response)
        if method == "$fetch":  # ``st``: the request body's chunks, as they arrive from Node
            return wire_response(await target.fetch(_request(args, message.get("st"))))
        if method.startswith("_"):
            raise BindingError(f"{message['b']} has no public method {method!r}")
        function = getattr(target, method, None) or getattr(target, snake(method), None)
        if function is None or not callable(function):
            raise BindingError(f"env.{message['b']} has no method {method!r}")
        kwargs = message.get("k") or {}
        data = isinstance(target, _USER_DATA)
        if not data:  # RPC arguments and stored values are never options
            args, kwargs = _options(function, args, kwargs)
        try:
            result = function(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        except TypeError:  # arguments it cannot take (a wrapper's only as it runs): said against its
            if not data:  # signature, looked up only now; any other TypeError is raised as it is
                _check_arguments(f"env.{message['b']}.{method}", function, args, kwargs)
            raise
        if isinstance(result, ActorId):
            return str(result)
        if isinstance(target, (*_USER_DATA, AI)):  # a model's answer keeps its own keys (finish_reason)
            return result
        return self._platform(result, 0)

    def _span(
        self,
        name: str,
        attributes: dict[str, Any],
        events: list[dict[str, Any]],
        status: list[Any],
        error: str | None,
        wall: float,
        duration_ms: float,
    ) -> None:
        """A span that ended in TypeScript, recorded as the Python tracer records its own."""
        assert self.env is not None
        span = self.env.tracer.start_span(str(name), attributes)
        span.events = list(events)
        span.status = (str(status[0]), status[1])
        span.error = error
        span._wall = wall
        span._started = time.perf_counter() - duration_ms / 1000
        span.end()

    def _platform(self, value: Any, depth: int) -> Any:
        """A smart binding's result as the platform spells it: camelCase keys in its outer two
        levels and in the records of a list there (``documentSearchResponse.results[].chunkSignature``);
        deeper dicts are the user's documents, left alone. An object the runtime
        keeps (a working-memory session, a procedural store) as a handle Node calls methods of."""
        if not isinstance(value, _PLAIN) and not hasattr(value, "as_dict"):
            return {"$handle": self.register(value)}
        if depth >= 2:
            if isinstance(value, list | tuple):  # the records of a result list (search hits): their own keys
                return [{_camel(k): v for k, v in r.items()} if isinstance(r, dict) else r for r in value]
            return value
        if isinstance(value, dict):
            return {_camel(k) if isinstance(k, str) else k: self._platform(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._platform(v, depth) for v in value]
        return value


_PLAIN = (dict, list, tuple, str, int, float, bool, type(None), bytes, datetime)
_USER_DATA = (KvCache, Queue, SqlDatabase, Bucket, ActorNamespace, ServiceStub, Storage, AppLogger)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest) if rest and head else key


def _options(function: Any, args: list[Any], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The platform's one options object (``search({input, requestId})``) as the Python
    method's keywords, when every key names one of its parameters; else the arguments as given."""
    if kwargs or len(args) != 1 or not isinstance(args[0], dict) or not args[0]:
        return args, kwargs
    try:
        parameters = set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return args, kwargs
    spelled = {snake(key): value for key, value in args[0].items()}
    if set(spelled) <= parameters:
        return [], spelled
    return args, kwargs


def _check_arguments(where: str, function: Any, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Arguments the method cannot take are a ``BindingError`` naming the call and what it takes,
    not Python's own ``put() takes 3 positional arguments but 4 were given``; called once the call
    raised a TypeError (a signature costs 16 us here, which every AI and smart call paid)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        given = ", ".join([*(type(a).__name__ for a in args), *(f"{k}=" for k in kwargs)])
        bare = signature.replace(
            parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
            return_annotation=signature.empty,
        )
        raise BindingError(f"{where}({given}): {exc}; it takes {bare}") from None


def _request(parts: list[Any], chunks: AsyncIterator[bytes] | None) -> Any:
    method, url, headers, body = parts
    return build_request(url, method=method, headers=dict(headers), body=body if chunks is None else chunks)
