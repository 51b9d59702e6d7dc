-- The tables call-me-back's persona manager and scenario templates read and write.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT UNIQUE NOT NULL,
    name TEXT,
    phone TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE personas (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    voice TEXT NOT NULL,
    system_prompt TEXT,
    is_public INTEGER DEFAULT 1,
    created_by TEXT,
    tags TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE call_scenario_templates (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    scenario_text TEXT NOT NULL,
    use_count INTEGER DEFAULT 0,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO personas (id, name, description, voice, system_prompt, is_public, created_at) VALUES
    ('brad_001', 'Brad', 'A laid-back surfer friend', 'voice-brad', 'You are Brad, a relaxed surfer.', 1, '2025-01-01 10:00:00'),
    ('sarah_001', 'Sarah', 'A warm friend who listens', 'voice-sarah', 'You are Sarah, caring and warm.', 1, '2025-01-02 10:00:00'),
    ('draft_001', 'Draft', 'Not ready yet', 'voice-x', 'Work in progress.', 0, '2025-01-03 10:00:00');
