"""Importing handler modules by file path, with errors that name the file and the class expected."""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from runtime.errors import HandlerLoadError
from runtime.handlers import Actor, Batch, Each, Handler, Service, Task
from runtime.manifest import Manifest
from runtime.manifest.model import Actor as ActorBlock
from runtime.manifest.model import CodeResource, Observer, ScheduleSource

_loaded: dict[Path, ModuleType] = {}
#: The handler class found (and its signature checked) in a module, per expected base classes.
_found: dict[tuple[ModuleType, tuple[type, ...]], type] = {}


def import_file(path: Path, root: Path) -> ModuleType:
    """Import the module at ``path``; ``root`` goes on ``sys.path`` so handlers can import their
    sibling modules (``from lib.x import y``) as they would on the platform's bundler."""
    given = path
    module = _loaded.get(given)  # many resources naming one file: no filesystem call after the first
    if module is None:
        path = path.resolve()
        module = _loaded.get(path)
        if module is not None:
            _loaded[given] = module
    if module is not None:
        # Under its name again: another app's module of the same name may have taken it since
        # (and been forgotten with its folder), and an app's code finds its modules there.
        sys.modules[module.__name__] = module
        return module
    if not path.is_file():
        raise HandlerLoadError(f"handler file {str(path)!r} does not exist")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    name = (
        "raindrop_handler_" + "_".join(path.relative_to(root.resolve()).with_suffix("").parts)
        if path.is_relative_to(root.resolve())
        else path.stem
    )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HandlerLoadError(f"cannot import handler file {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        where = traceback.extract_tb(exc.__traceback__)[-1]
        raise HandlerLoadError(
            f"importing handler file {str(path)!r} failed: {type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"
        ) from exc
    _loaded[path] = _loaded[given] = module
    return module


def forget(folder: Path) -> None:
    """Drop what importing handlers from under ``folder`` left in this process: its modules (in
    ``sys.modules`` and cached here) and its entries on ``sys.path``. For a process that runs many
    apps from folders it then deletes (a test run): each search of ``sys.path`` (redis-py looks up
    its own version with one per client) otherwise grows with every app, and the modules stay in
    memory."""
    folders = {str(folder), str(folder.resolve())}
    prefixes = tuple(f + os.sep for f in folders)

    def below(path: object) -> bool:
        return isinstance(path, str) and (path in folders or path.startswith(prefixes))

    sys.path[:] = [entry for entry in sys.path if not below(entry)]
    gone = {id(module) for path, module in _loaded.items() if below(str(path))}
    for path in [path for path, module in _loaded.items() if id(module) in gone]:
        del _loaded[path]
    for key in [key for key in _found if id(key[0]) in gone]:
        del _found[key]
    for name in [name for name, module in list(sys.modules.items()) if below(_file_of(module))]:
        del sys.modules[name]


def _file_of(module: object) -> object:
    """A module's ``__file__``, read from its namespace: ``getattr`` would run the module-level
    ``__getattr__`` of every lazily-importing package for each name it lacks (a thousand modules
    per test in a test run)."""
    try:
        return vars(module).get("__file__")
    except TypeError:  # something other than a module, without a __dict__
        return getattr(module, "__file__", None)


def expected_base(resource: CodeResource) -> tuple[type, ...]:
    if isinstance(resource, ActorBlock):
        return (Actor,)
    if isinstance(resource, Observer):
        return (Task,) if isinstance(resource.source, ScheduleSource) else (Each, Batch)
    if resource.kind == "task":
        return (Task,)
    return (Service,)


def handler_class(resource: CodeResource, root: Path) -> type:
    """The handler class of ``resource``: its module's one subclass of the matching base class,
    or for an actor the class named after it.

    :raises HandlerLoadError: naming the file and the class that was expected.
    """
    path = root / resource.handler
    if not path.is_file() or path.suffix != ".py":
        from runtime.typescript.runner import running

        typescript = running.get(root.resolve()) or running.get(root)
        if typescript is not None and resource.name in typescript.resources:
            return typescript.handler_class(resource)
        raise HandlerLoadError(
            f'{resource.kind} "{resource.name}": handler file {resource.handler} does not exist '
            f"(write {resource.handler} in Python or src/{resource.name}/index.ts in TypeScript, "
            'or set handler = "..." in the manifest to use another file)'
        )
    module = import_file(path, root)
    bases = expected_base(resource)
    known = _found.get((module, bases))  # many schedules or observers sharing one file: checked once
    if known is not None and not isinstance(resource, ActorBlock):
        return known
    names = " or ".join(b.__name__ for b in bases)
    if isinstance(resource, ActorBlock):
        found = getattr(module, resource.class_name, None)
        if not (isinstance(found, type) and issubclass(found, Actor)):
            raise HandlerLoadError(
                f'actor "{resource.name}": {resource.handler} must define class {resource.class_name}(Actor) '
                "(the PascalCase of the actor's name)"
            )
        return found
    candidates = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, bases)
        and obj not in (Each, Batch, Task, Service, Handler)
        and obj.__module__ == module.__name__
    ]
    if not candidates:
        raise HandlerLoadError(f'{resource.kind} "{resource.name}": {resource.handler} defines no subclass of {names}')
    if len(candidates) > 1:
        listed = ", ".join(c.__name__ for c in candidates)
        raise HandlerLoadError(
            f'{resource.kind} "{resource.name}": {resource.handler} defines several subclasses of {names} ({listed}); '
            "keep one"
        )
    check_signature(resource, candidates[0])
    _found[(module, bases)] = candidates[0]
    return candidates[0]


# The method each kind of handler must define, and how it is called (besides self).
_ENTRY = {Each: ("process", "message"), Batch: ("process", "batch"), Task: ("handle", "event")}


def check_signature(resource: CodeResource, cls: type) -> None:
    """Refuse, at load, a handler whose entry method would fail on its first message: missing,
    not ``async``, or taking other arguments than the runtime passes. The error names the file
    and line and shows the expected signature.

    :raises HandlerLoadError:
    """
    entry = next(((m, a) for base, (m, a) in _ENTRY.items() if issubclass(cls, base)), None)
    required = True
    if entry is None and issubclass(cls, Service):
        entry, required = ("fetch", "request"), False  # a service may offer methods only
    if entry is None:
        return
    method, argument = entry
    expected = f"async def {method}(self, {argument})"
    function = getattr(cls, method, None)
    own = any(method in vars(klass) for klass in cls.__mro__ if klass not in (Each, Batch, Task, Service, Handler))
    where = f'{resource.kind} "{resource.name}": {resource.handler}'
    if not own:
        if required:
            raise HandlerLoadError(f"{where}: {cls.__name__} does not define {method}; expected `{expected}`")
        return
    try:
        line = inspect.getsourcelines(function)[1]  # type: ignore[arg-type]
        where += f":{line}"
    except (OSError, TypeError):
        pass
    if not inspect.iscoroutinefunction(function):
        raise HandlerLoadError(f"{where}: {cls.__name__}.{method} must be async: expected `{expected}`")
    parameters = list(inspect.signature(function).parameters.values())[1:]
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_rest = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    needed = [p for p in positional if p.default is p.empty]
    if len(needed) > 1 or (not positional and not takes_rest):
        shown = ", ".join(["self", *(p.name for p in parameters)])
        raise HandlerLoadError(
            f"{where}: {cls.__name__}.{method}({shown}) cannot be called with one {argument}; expected `{expected}`"
        )


def actor_classes(manifest: Manifest) -> dict[str, type[Actor]]:
    """Every ``actor`` block's class by actor name, imported from its module."""
    return {a.name: handler_class(a, manifest.root) for a in manifest.application.actors}


def instantiate(resource: CodeResource, root: Path, *args: Any) -> Any:
    """The handler object of ``resource``, constructed with ``args`` (``env, ctx``).

    :raises HandlerLoadError: when the module cannot be loaded or the constructor raises.
    """
    cls = handler_class(resource, root)
    try:
        return cls(*args)
    except Exception as exc:
        raise HandlerLoadError(f'{resource.kind} "{resource.name}": constructing {cls.__name__} failed: {exc}') from exc
