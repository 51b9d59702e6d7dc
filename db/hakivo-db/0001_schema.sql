CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT UNIQUE,
    token TEXT UNIQUE,                           -- bearer token or hakivo_token cookie
    timezone TEXT NOT NULL DEFAULT 'UTC',
    tier TEXT NOT NULL DEFAULT 'daily' CHECK (tier IN ('daily', 'weekly', 'none')),
    pregen_mode TEXT NOT NULL DEFAULT 'full' CHECK (pregen_mode IN ('full', 'script')),
    daily_podcast_enabled INTEGER NOT NULL DEFAULT 0,
    last_app_open_at REAL,
    last_podcast_generated_at REAL,
    podcast_listen_count INTEGER NOT NULL DEFAULT 0,
    topics TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL DEFAULT (unixepoch())
);

CREATE TABLE bills (
    id TEXT PRIMARY KEY,                          -- e.g. hr1234
    congress INTEGER NOT NULL,
    title TEXT NOT NULL,
    sponsor TEXT,
    latest_action_date TEXT,
    latest_action_text TEXT,
    fetched_at REAL
);

CREATE TABLE podcasts (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    type TEXT NOT NULL,
    audio_url TEXT NOT NULL,
    transcript TEXT NOT NULL,
    bills_covered TEXT NOT NULL DEFAULT '[]',
    duration INTEGER NOT NULL,
    generated_at REAL NOT NULL,
    source TEXT NOT NULL,                         -- pregeneration | queue
    cost REAL NOT NULL DEFAULT 0
);
CREATE INDEX podcasts_by_user ON podcasts (user_id, generated_at);

CREATE TABLE listens (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    podcast_id INTEGER NOT NULL REFERENCES podcasts (id),
    at REAL NOT NULL
);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    type TEXT NOT NULL,
    title TEXT,
    message TEXT,
    data TEXT,
    created_at REAL NOT NULL
);

CREATE TABLE metrics_events (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                           -- cache_hit, cache_miss, pregen_success, pregen_failure, first_audio_seconds
    user_id TEXT,
    value REAL NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX metrics_by_kind ON metrics_events (kind);
