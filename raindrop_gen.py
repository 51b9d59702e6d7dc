# Written by `python -m runtime generate` from raindrop.manifest; do not edit. fingerprint: 2e1f57745286c512
"""The typed ``env`` of application "hakivo": ``class Web(Service[Env])``."""

from __future__ import annotations

from typing import Any, Protocol

import runtime.types

__all__ = ["Env"]


class Env(Protocol):
    PODCAST_GENERATION_QUEUE: runtime.types.Queue  # queue "podcast-generation-queue"
    KV_CACHE: runtime.types.KvCache  # kv_cache "kv-cache"
    PODCAST_AUDIO: runtime.types.Bucket  # bucket "podcast-audio"
    HAKIVO_DB: runtime.types.SqlDatabase  # sql_database "hakivo-db"
    USER_NOTIFICATIONS: runtime.types.Queue  # queue "user-notifications"
    PODCAST_GENERATOR: runtime.types.ActorNamespace  # actor "podcast-generator"
    WEB: runtime.types.ServiceStub  # service "web"
    ANTHROPIC_API_KEY: str | None  # secret "ANTHROPIC_API_KEY", None when unset
    ELEVENLABS_API_KEY: str | None  # secret "ELEVENLABS_API_KEY", None when unset
    ELEVENLABS_SARAH_VOICE_ID: str | None  # secret "ELEVENLABS_SARAH_VOICE_ID", None when unset
    ELEVENLABS_JAMES_VOICE_ID: str | None  # secret "ELEVENLABS_JAMES_VOICE_ID", None when unset
    VULTR_STORAGE_ENDPOINT: str | None  # secret "VULTR_STORAGE_ENDPOINT", None when unset
    VULTR_ACCESS_KEY: str | None  # secret "VULTR_ACCESS_KEY", None when unset
    VULTR_SECRET_KEY: str | None  # secret "VULTR_SECRET_KEY", None when unset
    VULTR_CDN_URL: str | None  # secret "VULTR_CDN_URL", None when unset
    CONGRESS_API_KEY: str | None  # secret "CONGRESS_API_KEY", None when unset
    BRAVE_SEARCH_API_KEY: str | None  # secret "BRAVE_SEARCH_API_KEY", None when unset
    CRON_SECRET: str | None  # secret "CRON_SECRET", None when unset
    AUTH: str  # env "AUTH"
    PREGEN_CONCURRENCY: str  # env "PREGEN_CONCURRENCY"
    ANTHROPIC_BASE_URL: str | None  # env "ANTHROPIC_BASE_URL", None when unset
    ELEVENLABS_BASE_URL: str | None  # env "ELEVENLABS_BASE_URL", None when unset
    CONGRESS_API_BASE_URL: str | None  # env "CONGRESS_API_BASE_URL", None when unset
    BRAVE_BASE_URL: str | None  # env "BRAVE_BASE_URL", None when unset
    AI: runtime.types.AI  # built in: models
    logger: runtime.types.AppLogger  # structured logs
    clock: runtime.types.Clock  # the runtime's clock (the fake clock under test)
    tracer: runtime.types.Tracer  # spans
    annotation: runtime.types.Annotation  # annotations

    def bindings(self) -> dict[str, Any]: ...
