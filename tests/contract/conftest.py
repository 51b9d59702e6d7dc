"""The contract suites run every method of a store interface (``runtime/backends/base.py``) on
every backend: the ``backend`` fixture of ``tests/conftest.py`` gives memory, SQLite, Redis and
Redis through redis-py alone, and deletes a Redis backend's keys at teardown."""

from __future__ import annotations

#: Keys a list or prefix case mixes in: accented, CJK (above U+00FF) and astral (above U+FFFF),
#: plus the highest code point, which a careless upper bound of a range cuts off.
ODD_KEYS = ["a", "a一", "a😀", "aé", "ab", "a\U0010ffff", "a\U0010ffffz", "b", "é", "é1", "一", "😀"]
