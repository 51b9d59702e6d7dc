"""HakiVo: the civic podcast app (shared code for its handlers and workers)."""
