"""``<Class>Stub`` protocols for ``raindrop_gen.py``, read from each actor's source (never imported).

``env.COUNTER.get(id)`` is typed ``CounterStub``: one ``async`` method per public method of the
actor class, with the parameters and return type written in its source (a method without an
annotation gets ``Any``), so ``await stub.increment("x")`` is checked against
``async def increment(self, by: int = 1) -> int``. The names those annotations use come from the
actor module's own imports, repeated under ``TYPE_CHECKING``; a class or alias the actor module
defines itself is ``Any`` in the stub (importing the module back would make it two modules to mypy).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from runtime.manifest import Manifest
from runtime.manifest.model import Actor

#: Methods a stub never exposes: the alarm is the runtime's to call.
HIDDEN = frozenset({"alarm"})


@dataclass
class Stubs:
    """The protocols (class name -> lines) and the imports they need."""

    protocols: dict[str, list[str]] = field(default_factory=dict)
    imports: list[str] = field(default_factory=list)


def stub_name(actor: Actor) -> str:
    return f"{actor.class_name}Stub"


def actor_stubs(manifest: Manifest) -> Stubs:
    """A protocol for every actor whose class is found in its source; others are left out
    (their namespace stays ``ActorNamespace``, whose stubs are untyped)."""
    found = Stubs()
    for actor in manifest.application.actors:
        path = manifest.root / actor.handler
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, ValueError):
            continue
        cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == actor.class_name), None)
        if cls is None:
            continue
        found.protocols[stub_name(actor)] = _protocol(actor, cls, _own_names(tree))
        for line in _imports(tree):
            if line not in found.imports:
                found.imports.append(line)
    return found


class _Local(ast.NodeTransformer):
    """Names the actor module defines become ``Any``."""

    def __init__(self, own: set[str]) -> None:
        self.own = own

    def visit_Name(self, node: ast.Name) -> ast.AST:
        return ast.Name("Any", node.ctx) if node.id in self.own else node


def _annotation(node: ast.expr | None, own: set[str]) -> str:
    if node is None:
        return "Any"
    return ast.unparse(_Local(own).visit(ast.parse(ast.unparse(node), mode="eval")).body)


def _protocol(actor: Actor, cls: ast.ClassDef, own: set[str]) -> list[str]:
    lines = [
        f'    """Calls to actor "{actor.name}" ({actor.class_name}): each awaited, run on its one instance."""',
        "",
        "    id: runtime.types.ActorId",
        "    name: str | None",
    ]
    for node in cls.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if node.name.startswith("_") or node.name in HIDDEN:
            continue
        if any(_decorator(d) in ("staticmethod", "classmethod", "property") for d in node.decorator_list):
            continue
        returns = _annotation(node.returns, own)
        lines.append(f"    async def {node.name}({_parameters(node.args, own)}) -> {returns}: ...")
    return lines


def _decorator(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else (node.attr if isinstance(node, ast.Attribute) else "")


def _parameters(args: ast.arguments, own: set[str]) -> str:
    def one(arg: ast.arg) -> str:
        return f"{arg.arg}: {_annotation(arg.annotation, own)}"

    defaults_from = len([*args.posonlyargs, *args.args]) - len(args.defaults)
    parts = ["self"]
    for index, arg in enumerate([*args.posonlyargs, *args.args]):
        if index == 0:
            continue
        parts.append(one(arg) + (" = ..." if index >= defaults_from else ""))
        if args.posonlyargs and index == len(args.posonlyargs) - 1:
            parts.append("/")
    if args.vararg is not None:
        parts.append("*" + one(args.vararg))
    elif args.kwonlyargs:
        parts.append("*")
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        parts.append(one(arg) + (" = ..." if default is not None else ""))
    if args.kwarg is not None:
        parts.append("**" + one(args.kwarg))
    return ", ".join(parts)


def _imports(tree: ast.Module) -> list[str]:
    """The module's own imports (not ``raindrop_gen``'s): what the copied annotations may name."""
    lines = []
    for node in tree.body:
        if (isinstance(node, ast.ImportFrom) and node.module not in ("__future__", "raindrop_gen", "typing")) or (
            isinstance(node, ast.Import)
        ):
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # relative: meaningless from raindrop_gen.py
            lines.append(ast.unparse(node))
        elif isinstance(node, ast.ImportFrom) and node.module == "typing":
            names = [a for a in node.names if a.name not in ("Any", "TYPE_CHECKING", "Protocol")]
            if names:
                lines.append(ast.unparse(ast.ImportFrom(module="typing", names=names, level=0)))
    return lines


def _own_names(tree: ast.Module) -> set[str]:
    """Classes, functions and assigned names the module defines at its top level."""
    own: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            own.add(node.name)
        elif isinstance(node, ast.Assign):
            own.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            own.add(node.target.id)
    return own - set(dir(builtins))
