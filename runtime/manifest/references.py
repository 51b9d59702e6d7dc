"""Checks across resources, once every block has its model: unique names and bindings, what
observers read (a declared queue, one observer per queue, a declared bucket), valid cron
expressions, and handler files that exist.
"""

from __future__ import annotations

from pathlib import Path

from runtime.cron import cron_error
from runtime.manifest.diagnostics import Diagnostic, Severity, Source, Span, make
from runtime.manifest.model import (
    Actor,
    Application,
    BucketSource,
    CodeResource,
    Observer,
    QueueSource,
    ScheduleSource,
    binding_name,
)
from runtime.manifest.parser import RawBlock
from runtime.manifest.schema import CODE_KINDS, closest
from runtime.manifest.shape import Checker, quoted


def cross_checks(checker: Checker, app: Application, block: RawBlock) -> None:
    report = checker.report
    # Names are unique per kind; bindings are unique across kinds, since env holds one of each.
    first: dict[tuple[str, str], Span] = {}
    bindings: dict[str, tuple[str, str, Span]] = {}
    for resource in app.resources():
        scope = getattr(resource, "service", None) or ""
        key = (resource.kind + scope, resource.name)
        if key in first:
            report(
                "error",
                f'{resource.kind} "{resource.name}" is declared twice (first on line {first[key].line})',
                resource.span,
            )
            continue
        first[key] = resource.span
        if scope:
            continue
        binding = binding_name(resource.name)
        if binding in bindings and bindings[binding][0] != resource.kind:
            other_kind, other_name, other_span = bindings[binding]
            report(
                "error",
                f'{resource.kind} "{resource.name}" and {other_kind} "{other_name}" (line {other_span.line}) '
                f"would both be bound to env.{binding}: rename one",
                resource.span,
            )
        bindings.setdefault(binding, (resource.kind, resource.name, resource.span))

    queues = [q.name for q in app.queues]
    buckets = [b.name for b in app.buckets]
    queue_names, bucket_names = set(queues), set(buckets)  # membership in constant time: manifests can be long
    readers: dict[str, str] = {}
    for observer in app.observers:
        source = observer.source
        if isinstance(source, QueueSource):
            if source.queue not in queue_names:
                guess = closest(source.queue, queues)
                hint = (
                    f": did you mean {guess!r}?"
                    if guess
                    else (f" (declared queues: {quoted(queues)})" if queues else ': declare it with queue "name" {}')
                )
                report("error", f'observer "{observer.name}" reads unknown queue "{source.queue}"{hint}', source.span)
            elif source.queue in readers:
                report(
                    "error",
                    f'queue "{source.queue}" already has observer "{readers[source.queue]}": a queue has only one observer',
                    source.span,
                )
            else:
                readers[source.queue] = observer.name
        elif isinstance(source, BucketSource) and source.bucket not in bucket_names:
            guess = closest(source.bucket, buckets)
            hint = f": did you mean {guess!r}?" if guess else ""
            report("error", f'observer "{observer.name}" reads unknown bucket "{source.bucket}"{hint}', source.span)
    observers = {o.name: o for o in app.observers}
    for schedule in app.schedules():
        problem = cron_error(schedule.cron)
        if problem:
            span = schedule.span
            if schedule.kind == "observer":
                span = observers[schedule.name].source.span
            else:
                span = _attribute_span(block, "task", schedule.name, "cron") or span
            report("error", f'{schedule.kind} "{schedule.name}": {problem}', span)


def _attribute_span(app: RawBlock, kind: str, name: str, attribute: str) -> Span | None:
    for child in app.blocks:
        if child.kind == kind and child.labels[:1] == (name,):
            for attr in child.attributes:
                if attr.name == attribute:
                    return attr.value_span
    return None


def handler_diagnostics(source: Source, app: Application, root: Path, severity: Severity) -> list[Diagnostic]:
    """A diagnostic for each code-bearing block with neither a Python handler file nor a
    TypeScript module (``src/<name>/index.ts``)."""
    from runtime.typescript import typescript_file

    found: list[Diagnostic] = []
    for resource in app.code_resources():
        path = root / resource.handler
        if not path.is_file() and typescript_file(resource, root) is None:
            found.append(make(source, severity, _missing_handler(resource), resource.span))
    return found


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _missing_handler(resource: CodeResource) -> str:
    if isinstance(resource, Actor):
        detail = f"class {resource.class_name}(Actor)"
    elif isinstance(resource, Observer):
        base = "Task" if isinstance(resource.source, ScheduleSource) else "Each or Batch"
        detail = f"a subclass of {base}"
    elif resource.kind == "mcp_service":
        detail = "implementation = {...} and def register(server, env, state)"
    else:
        detail = f"a subclass of {CODE_KINDS[resource.kind]}"
    how = (
        ""
        if resource.handler_declared
        else f' (the default for {_article(resource.kind)} {resource.kind}; set handler = "..." to use another file)'
    )
    return (
        f'{resource.kind} "{resource.name}": handler file {resource.handler} does not exist{how}; '
        f"it should hold {detail}, or write the handler in TypeScript as src/{resource.name}/index.ts"
    )
