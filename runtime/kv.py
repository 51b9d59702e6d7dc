"""The KV cache binding (``kv_cache`` and ``kv_store`` blocks): ``env.NAME.get/put/delete/list``."""

from __future__ import annotations

import base64
import binascii
import builtins
import json
import math
from collections.abc import Callable
from typing import Any, Literal, Never

from runtime.arguments import not_text, utf8
from runtime.backends.base import KvStore
from runtime.clock import Clock
from runtime.errors import BindingError, LimitError
from runtime.naming import keyword_error, options_error, platform_names
from runtime.output_gate import before_effect

ValueType = Literal["text", "json", "bytes"]

MIN_TTL = 60
MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 25 * 1024 * 1024
MAX_METADATA_BYTES = 1024
MAX_LIST_LIMIT = 1000
MAX_BULK_KEYS = 100
MAX_BULK_BYTES = 25 * 1024 * 1024  # of the values (and metadata) one bulk get returns, as the platform
MIN_CACHE_TTL = 30
_DOTS = (".", "..")
_A_YEAR = 365 * 86_400.0
#: The latest expiry an entry can have (9999-12-31T23:59:59Z), in epoch seconds.
MAX_EXPIRATION = 253_402_300_799.0
_LIFT = "set kv: {enforce_limits: false} in raindrop.local.yaml to lift platform limits locally"


@platform_names
class KvCache:
    """A KV namespace, as ``env.<NAME>``. Values are text or bytes; ``type="json"`` parses on read.

    Entries past their expiration are never returned; a background sweep deletes them.
    """

    def __init__(self, name: str, store: KvStore, clock: Clock, *, enforce_limits: bool = True) -> None:
        self.name = name
        self._store = store
        self._clock = clock
        self._enforce = enforce_limits
        # A store that reads without waiting (SQLite) offers value_now: no coroutine frames on the hot read.
        self._value_now: Callable[[str, str, float], bytes | None] | None = getattr(store, "value_now", None)

    def __repr__(self) -> str:
        return f"<KvCache {self.name!r}>"

    async def get(
        self,
        key: str | builtins.list[str],
        type: ValueType = "text",
        *,
        cache_ttl: float | None = None,
        **unknown: Never,
    ) -> Any:
        """The value of ``key`` decoded as ``type`` ("text", "json" or "bytes"), or None. Given a
        list of up to 100 keys, a dict of each key to its value (None when missing), as the
        platform's bulk get (``type`` "text" or "json").

        :param cache_ttl: accepted as on the platform (at least 30 s) and ignored: there is no
            edge cache in front of a local namespace.
        :raises BindingError: for a bad key or type, or a value that is not valid JSON when
            ``type="json"``.
        """
        # The hottest read: its arguments are checked here, not by a wrapper (one frame fewer).
        if unknown:
            raise keyword_error(self, "get", unknown)
        if type != "text" and type != "json" and type != "bytes" and key.__class__ is not builtins.list:
            raise self._shaped("get", key, type) or BindingError(
                f"KV {self.name!r}: type must be 'text', 'json' or 'bytes', not {type!r}"
            )
        if cache_ttl is not None:
            self._check_cache_ttl(cache_ttl)
        if key.__class__ is not str or not key.isascii() or not 0 < len(key) <= MAX_KEY_BYTES or key in _DOTS:
            if isinstance(key, builtins.list):
                found = await self._bulk(key, type)
                return {k: (v["value"] if v is not None else None) for k, v in found.items()}
            if isinstance(key, dict):
                shaped = self._shaped("get", key, type)
                if shaped is not None:
                    raise shaped
            self._check_key(key)
        if self._value_now is not None:
            value = self._value_now(self.name, key, self._clock.time())
        else:
            entry = await self._store.get(self.name, key, self._clock.time())
            value = entry.value if entry is not None else None
        if value is None:
            return None
        if type == "text":
            return value.decode("utf-8", "replace")
        return self._decode(key, value, type)

    def _shaped(self, method: str, *args: Any) -> BindingError | None:
        """The hint for a call of the TypeScript shape (options in a dict), if it is one."""
        return options_error(self.__class__.__name__, method, (self, *args), ("self", "key", "type"))

    async def get_with_metadata(
        self, key: str | builtins.list[str], type: ValueType = "text", *, cache_ttl: float | None = None
    ) -> Any:
        """``{"value": ..., "metadata": ..., "cache_status": None}``; value and metadata None when
        missing. Given a list of keys, a dict of each key to ``{"value", "metadata"}`` (or None)."""
        self._check_cache_ttl(cache_ttl)
        if isinstance(key, builtins.list):
            return await self._bulk(key, type)
        self._check_key(key)
        entry = await self._store.get(self.name, key, self._clock.time())
        if entry is None:
            return {"value": None, "metadata": None, "cache_status": None}
        metadata = json.loads(entry.metadata) if entry.metadata is not None else None
        return {"value": self._decode(key, entry.value, type), "metadata": metadata, "cache_status": None}

    async def _bulk(self, keys: builtins.list[str], kind: str) -> dict[str, Any]:
        if not 1 <= len(keys) <= MAX_BULK_KEYS:
            raise BindingError(f"KV {self.name!r}: a bulk get takes 1 to {MAX_BULK_KEYS} keys, not {len(keys)}")
        if kind not in ("text", "json"):
            raise BindingError(f"KV {self.name!r}: a bulk get reads 'text' or 'json', not {kind!r}")
        now = self._clock.time()
        found: dict[str, Any] = {}
        total = 0
        for key in keys:
            self._check_key(key)
            entry = await self._store.get(self.name, key, now)
            if entry is None:
                found[key] = None
            else:
                total += len(entry.value) + len(entry.metadata or "")
                if self._enforce and total > MAX_BULK_BYTES:
                    raise LimitError(
                        f"KV {self.name!r}: a bulk get returns at most 25 MiB of values: "
                        f"Total size of request exceeds the limit of 25MB (these keys hold more)"
                    )
                metadata = json.loads(entry.metadata) if entry.metadata is not None else None
                found[key] = {"value": self._decode(key, entry.value, kind), "metadata": metadata}
        return found

    def _check_cache_ttl(self, cache_ttl: object) -> None:
        if cache_ttl is None:
            return
        if not isinstance(cache_ttl, int | float) or isinstance(cache_ttl, bool) or cache_ttl < MIN_CACHE_TTL:
            raise BindingError(
                f"KV {self.name!r}: invalid cache_ttl of {cache_ttl!r}; the cache TTL must be at least {MIN_CACHE_TTL} s"
            )

    async def put(
        self,
        key: str,
        value: str | bytes | bytearray | memoryview,
        *,
        expiration: float | None = None,
        expiration_ttl: float | None = None,
        metadata: Any = None,
        **unknown: Never,
    ) -> None:
        """Store ``value`` under ``key``.

        :param expiration: absolute expiry, in seconds since the epoch.
        :param expiration_ttl: expiry relative to now, in seconds (at least 60 on the platform).
        :param metadata: any JSON-serializable value, at most 1 KiB serialized.
        :raises LimitError: when a platform limit is exceeded (unless limits are lifted).
        :raises BindingError: for values that are not text or bytes, or bad arguments.
        """
        if unknown:  # checked here, not by a wrapper: the hottest write path pays for no frame
            raise keyword_error(self, "put", unknown)
        # The hot path: checks that pass cheaply for the common case, the full ones otherwise.
        if type(key) is not str or not key or key in _DOTS or len(key) > MAX_KEY_BYTES // 4 or not key.isascii():
            self._check_key(key)
        if type(value) is str:
            try:  # inline rather than utf8(): the message is built only when it is needed
                data = value.encode()
            except UnicodeEncodeError:
                raise not_text(f"KV {self.name!r}: value for key {key!r}") from None
        elif isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
        else:
            raise BindingError(
                f"KV {self.name!r}: value for key {key!r} is a {type(value).__name__}; KV stores text or bytes "
                "(use json.dumps(value) and read it back with get(key, type='json'))"
            )
        if self._enforce and len(data) > MAX_VALUE_BYTES:
            raise LimitError(
                f"KV {self.name!r}: value for key {key!r} is {len(data)} bytes; the limit is 25 MiB ({_LIFT})"
            )
        if expiration_ttl is None and expiration is None:
            expires_at = None
        elif expiration is None and isinstance(expiration_ttl, int | float) and MIN_TTL <= expiration_ttl <= _A_YEAR:
            expires_at = self._clock.time() + expiration_ttl  # a TTL valid whatever the limits
        else:
            expires_at = self._expiry(key, self._clock.time(), expiration, expiration_ttl)
            if expires_at is not None and expires_at > MAX_EXPIRATION:
                raise BindingError(
                    f"KV {self.name!r}: the expiry of key {key!r} is past the year 9999; "
                    "leave out expiration and expiration_ttl for an entry that never expires"
                )
        meta_text = None
        if metadata is not None:
            try:
                meta_text = json.dumps(metadata, separators=(",", ":"))
            except (TypeError, ValueError) as exc:
                raise BindingError(
                    f"KV {self.name!r}: metadata for key {key!r} is not JSON-serializable: {exc}"
                ) from None
            if self._enforce and len(meta_text.encode()) > MAX_METADATA_BYTES:
                raise LimitError(
                    f"KV {self.name!r}: metadata for key {key!r} is {len(meta_text.encode())} bytes serialized; "
                    f"the limit is 1024 ({_LIFT})"
                )
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        await self._store.put(self.name, key, data, expires_at, meta_text)

    async def delete(self, key: str) -> None:
        """Remove ``key``; no error when it does not exist."""
        self._check_key(key)
        effect = before_effect()  # during an actor call: its puts are stored first (the output gate)
        if effect is not None:
            await effect
        await self._store.delete(self.name, key)

    async def list(self, *, prefix: str | None = None, limit: int = 1000, cursor: str | None = None) -> dict[str, Any]:
        """Live keys in lexicographic order: ``{"keys": [{"name", "expiration", "metadata"}],
        "list_complete": bool, "cursor": str | None, "cache_status": None}``.

        Pass the returned ``cursor`` back to read the next page.
        """
        if not isinstance(limit, int) or limit < 1:
            raise BindingError(f"KV {self.name!r}: list limit must be a positive whole number, not {limit!r}")
        if limit > MAX_LIST_LIMIT and self._enforce:
            raise LimitError(f"KV {self.name!r}: list limit is at most 1000, not {limit} ({_LIFT})")
        if prefix is not None:
            if not isinstance(prefix, str):
                raise BindingError(f"KV {self.name!r}: list prefix must be text, not {prefix!r}")
            utf8(prefix, f"KV {self.name!r}: list prefix {prefix[:40]!r}")
        after = self._decode_cursor(cursor) if cursor else None
        rows = await self._store.list(self.name, prefix or "", after, limit + 1, self._clock.time())
        complete = len(rows) <= limit
        rows = rows[:limit]
        keys = [
            {
                "name": row.name,
                "expiration": int(row.expires_at) if row.expires_at is not None else None,
                "metadata": json.loads(row.metadata) if row.metadata is not None else None,
            }
            for row in rows
        ]
        next_cursor = None if complete or not rows else self._encode_cursor(rows[-1].name)
        return {"keys": keys, "list_complete": complete, "cursor": next_cursor, "cache_status": None}

    # -- helpers ----------------------------------------------------------------------------

    def _check_key(self, key: object) -> None:
        if type(key) is str and key.isascii() and 0 < len(key) <= MAX_KEY_BYTES and key not in _DOTS:
            return  # the usual key, checked without encoding it: ASCII is one byte a character
        if not isinstance(key, str):
            raise BindingError(f"KV {self.name!r}: keys are strings, not {type(key).__name__}")
        if not key:
            raise BindingError(f"KV {self.name!r}: Key name cannot be empty.")
        if key in _DOTS:
            raise BindingError(f'KV {self.name!r}: "{key}" is not allowed as a key name.')
        try:  # inline rather than utf8(): the message is built only when it is needed
            size = len(key.encode())
        except UnicodeEncodeError:
            raise not_text(f"KV {self.name!r}: key {key[:40]!r}") from None
        if self._enforce and size > MAX_KEY_BYTES:
            raise LimitError(f"KV {self.name!r}: key {key[:40]!r}... is {size} bytes; the limit is 512 ({_LIFT})")

    def _expiry(self, key: str, now: float, expiration: float | None, ttl: float | None) -> float | None:
        if expiration is not None and ttl is not None:
            raise BindingError(f"KV {self.name!r}: give expiration or expiration_ttl for key {key!r}, not both")
        if ttl is not None:
            if not isinstance(ttl, int | float) or isinstance(ttl, bool) or not math.isfinite(ttl):
                raise BindingError(f"KV {self.name!r}: expiration_ttl must be a number of seconds, not {ttl!r}")
            if self._enforce and ttl < MIN_TTL:
                raise LimitError(
                    f"KV {self.name!r}: expiration_ttl for key {key!r} is {ttl} s; the platform minimum is 60 s ({_LIFT})"
                )
            if ttl <= 0:
                raise BindingError(f"KV {self.name!r}: expiration_ttl for key {key!r} must be positive, not {ttl}")
            return now + ttl
        if expiration is not None:
            if not isinstance(expiration, int | float) or isinstance(expiration, bool) or not math.isfinite(expiration):
                raise BindingError(f"KV {self.name!r}: expiration must be epoch seconds, not {expiration!r}")
            if self._enforce and expiration < now + MIN_TTL:
                raise LimitError(
                    f"KV {self.name!r}: expiration for key {key!r} is less than 60 s from now; "
                    f"the platform minimum is 60 s ({_LIFT})"
                )
            return float(expiration)
        return None

    def _decode(self, key: str, value: bytes, kind: str) -> Any:
        if kind == "bytes":
            return value
        if kind == "text":
            return value.decode("utf-8", errors="replace")
        if kind == "json":
            try:
                return json.loads(value)
            except ValueError as exc:
                raise BindingError(f"KV {self.name!r}: value of key {key!r} is not valid JSON: {exc}") from None
        raise BindingError(f"KV {self.name!r}: type must be 'text', 'json' or 'bytes', not {kind!r}")

    @staticmethod
    def _encode_cursor(key: str) -> str:
        return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")

    def _decode_cursor(self, cursor: str) -> str:
        try:
            return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise BindingError(f"KV {self.name!r}: cursor {cursor!r} is not one this namespace returned") from None
