"""The shape of each block: its labels, which attributes and nested blocks it may hold, and the
type of each value. :class:`Checker` collects what it finds as diagnostics instead of raising,
so that one run lists every mistake; typos of known names get a "did you mean".
"""

from __future__ import annotations

from runtime.manifest.diagnostics import Diagnostic, Severity, Source, Span, make
from runtime.manifest.parser import RawAttribute, RawBlock, Value
from runtime.manifest.schema import AttrSpec, BlockSpec, closest


def _type_name(value: Value) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def quoted(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


class Checker:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    def report(self, severity: Severity, message: str, span: Span) -> None:
        self.diagnostics.append(make(self.source, severity, message, span))

    # -- shape: labels, attributes, nested blocks ---------------------------------------------

    def shape(self, block: RawBlock, spec: BlockSpec, where: str) -> dict[str, RawAttribute]:
        """Check ``block`` against ``spec``; returns its known, well-typed attributes by name."""
        what = self.describe(block)
        if spec.labels == 1 and not block.labels:
            self.report("error", f'{block.kind} block needs a name: write {block.kind} "name" {{ ... }}', block.span)
        elif len(block.labels) > spec.labels:
            extra = block.label_span(spec.labels)
            expected = "no label" if spec.labels == 0 else "one label"
            self.report("error", f"{block.kind} takes {expected}, found {len(block.labels)}", extra)
        seen: dict[str, RawAttribute] = {}
        for attribute in block.attributes:
            name = attribute.name
            if name in seen:
                self.report(
                    "error",
                    f"attribute {name!r} of {what} is set twice (first on line {seen[name].span.line})",
                    attribute.span,
                )
                continue
            attr_spec = spec.attributes.get(name)
            if attr_spec is None:
                self.unknown("attribute", name, what, attribute.span, [*spec.attributes, *spec.blocks])
                continue
            if self.value_ok(attribute, attr_spec, what):
                seen[name] = attribute
        for child in block.blocks:
            if child.kind not in spec.blocks:
                self.unknown("block", child.kind, what, child.span, [*spec.blocks, *spec.attributes])
        return seen

    def unknown(self, thing: str, name: str, where: str, span: Span, known: list[str]) -> None:
        guess = closest(name, known)
        if guess is not None:
            self.report("error", f"unknown {thing} {name!r} in {where}: did you mean {guess!r}?", span)
        else:
            self.report("warning", f"unknown {thing} {name!r} in {where} is ignored", span)

    def value_ok(self, attribute: RawAttribute, spec: AttrSpec, where: str) -> bool:
        value = attribute.value
        name = attribute.name
        expected = {
            "string": "a string",
            "bool": "true or false",
            "int": "a whole number",
            "list[string]": "a list of strings",
        }[spec.kind]
        good = {
            "string": isinstance(value, str),
            "bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "list[string]": isinstance(value, list) and all(isinstance(v, str) for v in value),
        }[spec.kind]
        if not good:
            self.report(
                "error", f"{name!r} of {where} must be {expected}, found {_type_name(value)}", attribute.value_span
            )
            return False
        if spec.choices:
            values = value if isinstance(value, list) else [value]
            for item in values:
                assert isinstance(item, str)
                if item not in spec.choices:
                    guess = closest(item, spec.choices)
                    hint = f": did you mean {guess!r}?" if guess else ""
                    self.report(
                        "error",
                        f"{name!r} of {where} must be one of {quoted(spec.choices)}, not {item!r}{hint}",
                        attribute.value_span,
                    )
                    return False
        return True

    @staticmethod
    def describe(block: RawBlock) -> str:
        return f'{block.kind} "{block.labels[0]}"' if block.labels else block.kind
