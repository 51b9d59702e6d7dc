from __future__ import annotations

import runtime


def test_all_is_sorted_and_complete() -> None:
    assert runtime.__all__ == sorted(runtime.__all__)
    for name in runtime.__all__:
        assert hasattr(runtime, name), name
    public = {n for n in vars(runtime) if not n.startswith("_") and n[0].isupper()}
    assert public == set(runtime.__all__)


def test_every_error_derives_from_the_root() -> None:
    for name in runtime.__all__:
        obj = getattr(runtime, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, runtime.RaindropError)
