"""The table of store kinds agrees with the manifest schema and everything that reads it."""

from __future__ import annotations

import typing

from runtime import types
from runtime.bindings import BUILDERS
from runtime.generate import STORE_TYPES
from runtime.kinds import STORE_KINDS, kinds_where
from runtime.manifest.model import Store
from runtime.manifest.schema import RESOURCE_KINDS

#: Manifest blocks that are not stores: their bindings come from code or values.
NOT_STORES = {"service", "actor", "observer", "task", "mcp_service", "env"}


def test_every_store_block_of_the_schema_is_in_the_table_and_nothing_else() -> None:
    assert set(RESOURCE_KINDS) - NOT_STORES == set(STORE_KINDS)


def test_the_model_admits_exactly_the_kinds_of_the_table() -> None:
    (literal,) = [typing.get_args(hint) for name, hint in typing.get_type_hints(Store).items() if name == "kind"]
    assert set(literal) == set(STORE_KINDS)


def test_every_kind_has_a_builder_and_a_public_type() -> None:
    assert set(BUILDERS) == set(STORE_KINDS)
    assert set(STORE_TYPES) == set(STORE_KINDS)
    for kind in STORE_KINDS.values():
        assert isinstance(getattr(types, kind.type_name), type), kind.kind


def test_properties_select_kinds() -> None:
    assert kinds_where(smart=True) == ("smartbucket", "smartmemory", "smartsql")
    assert kinds_where(browse="kv") == ("kv_cache", "kv_store")
    assert "queue" not in kinds_where(on_disk=True)
