"""The types of what ``self.env`` holds, from one module that stays put.

Every binding class, the values its methods hand back, and the other pieces of ``env`` (logger,
clock, tracer) are importable from here, whichever module defines them today. The generated
``raindrop_gen.py`` imports only this module, so an app's code does not pin the runtime's
internal layout; a handler that wants to name a type does the same::

    from runtime.types import BucketObject, Message

Each name is imported from its defining module when first used (``import runtime.types`` alone
loads nothing), so naming ``KvCache`` does not load numpy; ``SmartBucket`` and the other smart
components do, when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.lazy import lazy_attributes

if TYPE_CHECKING:
    from runtime.actors import ActorId, ActorNamespace, ActorState, ActorStub, Storage
    from runtime.ai import AI
    from runtime.applog import AppLogger
    from runtime.buckets import Bucket, BucketObject, BucketObjectBody
    from runtime.clock import Clock
    from runtime.env import Env
    from runtime.handlers import ExecutionContext
    from runtime.kv import KvCache
    from runtime.queue import Message, MessageBatch, Queue
    from runtime.services import ServiceStub
    from runtime.smart.buckets import SmartBucket
    from runtime.smart.memory import ProceduralMemory, SmartMemory, WorkingMemory
    from runtime.smart.sql import SmartSql
    from runtime.sql import PreparedStatement, SqlDatabase
    from runtime.tracing import Annotation, Span, Tracer

__all__ = [
    "AI",
    "ActorId",
    "ActorNamespace",
    "ActorState",
    "ActorStub",
    "Annotation",
    "AppLogger",
    "Bucket",
    "BucketObject",
    "BucketObjectBody",
    "Clock",
    "Env",
    "ExecutionContext",
    "KvCache",
    "Message",
    "MessageBatch",
    "PreparedStatement",
    "ProceduralMemory",
    "Queue",
    "ServiceStub",
    "SmartBucket",
    "SmartMemory",
    "SmartSql",
    "Span",
    "SqlDatabase",
    "Storage",
    "Tracer",
    "WorkingMemory",
]

#: Where each name is defined today (the one place to change when a class moves).
_DEFINED_IN: dict[str, str] = {
    "AI": "runtime.ai",
    "ActorId": "runtime.actors",
    "ActorNamespace": "runtime.actors",
    "ActorState": "runtime.actors",
    "ActorStub": "runtime.actors",
    "Annotation": "runtime.tracing",
    "AppLogger": "runtime.applog",
    "Bucket": "runtime.buckets",
    "BucketObject": "runtime.buckets",
    "BucketObjectBody": "runtime.buckets",
    "Clock": "runtime.clock",
    "Env": "runtime.env",
    "ExecutionContext": "runtime.handlers",
    "KvCache": "runtime.kv",
    "Message": "runtime.queue",
    "MessageBatch": "runtime.queue",
    "PreparedStatement": "runtime.sql",
    "ProceduralMemory": "runtime.smart.memory",
    "Queue": "runtime.queue",
    "ServiceStub": "runtime.services",
    "SmartBucket": "runtime.smart.buckets",
    "SmartMemory": "runtime.smart.memory",
    "SmartSql": "runtime.smart.sql",
    "Span": "runtime.tracing",
    "SqlDatabase": "runtime.sql",
    "Storage": "runtime.actors",
    "Tracer": "runtime.tracing",
    "WorkingMemory": "runtime.smart.memory",
}

if not TYPE_CHECKING:  # mypy reads the imports above; a __getattr__ would make every name Any
    __getattr__ = lazy_attributes(__name__, _DEFINED_IN, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
