"""Base classes for handler modules: ``Service``, ``Each``, ``Batch``, ``Task`` and ``Actor``.

A module's handler is its one subclass of the matching base (an actor's class is the
PascalCase of its name). The runtime constructs it once per process with the module's ``env``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic

from typing_extensions import TypeVar

if TYPE_CHECKING:
    from runtime.queue import Message, MessageBatch


_orphans: set[asyncio.Future[Any]] = set()

#: The type of ``self.env``: ``Any`` unless a handler names its app's generated ``Env``
#: (``class Web(Service[Env])``, with ``Env`` from ``raindrop_gen.py``; see ``runtime generate``).
E = TypeVar("E", default=Any)


class ExecutionContext:
    """``self.ctx``: ``wait_until(awaitable)`` keeps background work alive after a handler returns;
    ``App.drain()`` waits for it."""

    def __init__(self, spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]] | None = None) -> None:
        self._spawn = spawn

    def wait_until(self, work: Awaitable[Any]) -> None:
        """Keep ``work`` running after the handler returns (``App.drain()`` waits for it)."""
        if self._spawn is None:
            task = asyncio.ensure_future(work)
            _orphans.add(task)  # keep a reference until it finishes
            task.add_done_callback(_orphans.discard)
        else:
            self._spawn(work)

    def pass_through_on_exception(self) -> None:
        """Accepted for compatibility; locally an exception is always reported."""


class Handler(Generic[E]):
    """What every handler class shares: ``self.env`` and ``self.ctx``."""

    def __init__(self, env: E, ctx: ExecutionContext | None = None) -> None:
        self.env = env
        self.ctx = ctx or ExecutionContext()


class Service(Handler[E]):
    """An HTTP service. Implement ``async fetch(self, request) -> Response``; other public async
    methods are callable by other modules through ``env.SERVICE_NAME.method(...)``."""


class Each(Handler[E]):
    """A queue observer called once per message: implement ``async process(self, message)``.

    Returning acks the message, raising retries it; ``message.ack()`` or
    ``message.retry(delay_seconds=...)`` inside ``process`` win over both.
    """

    async def process(self, message: Message) -> None:
        """Handle one message: return to ack it, raise to retry it."""
        raise NotImplementedError(f"{type(self).__name__} must implement async process(self, message)")


class Batch(Handler[E]):
    """A queue observer called with a whole batch: implement ``async process(self, batch)``.

    Messages not acked or retried explicitly are acked when ``process`` returns and retried
    when it raises.
    """

    async def process(self, batch: MessageBatch) -> None:
        """Handle a batch: messages not acked or retried explicitly are acked on return, retried on raise."""
        raise NotImplementedError(f"{type(self).__name__} must implement async process(self, batch)")


class Task(Handler[E]):
    """A scheduled handler (``task`` blocks and cron-sourced observers): ``async handle(self, event)``."""

    async def handle(self, event: Any) -> None:
        """Run once per fire; ``event.cron`` and ``event.scheduled_time`` say which."""
        raise NotImplementedError(f"{type(self).__name__} must implement async handle(self, event)")


class Actor(Generic[E]):
    """A durable object: public async methods are callable through stubs, one call at a time per id."""

    def __init__(self, state: Any, env: E) -> None:
        self.state = state
        self.env = env
