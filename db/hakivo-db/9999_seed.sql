-- Demo users. user_123 is the one a request without credentials acts as in local development.
INSERT INTO users (id, name, email, token, timezone, tier, pregen_mode, daily_podcast_enabled, podcast_listen_count, topics) VALUES
    ('user_123', 'Demo User', 'demo@hakivo.local', 'demo-token-123', 'UTC', 'daily', 'full', 1, 0, '["Politics", "Healthcare"]'),
    ('user_456', 'Amara Njoroge', 'amara@hakivo.local', 'token-456', 'UTC', 'daily', 'full', 0, 5, '["Education"]'),
    ('maria-lopez', 'María López', 'maria@hakivo.local', 'token-maria', 'UTC', 'daily', 'full', 1, 0, '["Healthcare"]'),
    ('user_789', 'Weekly Walt', 'walt@hakivo.local', 'token-789', 'UTC', 'weekly', 'full', 1, 0, '["Politics"]'),
    ('user_script', 'Sam Script', 'sam@hakivo.local', 'token-script', 'UTC', 'daily', 'script', 1, 0, '["Politics"]'),
    ('user_idle', 'Idle Ivy', 'ivy@hakivo.local', 'token-idle', 'UTC', 'daily', 'full', 0, 0, '[]');
