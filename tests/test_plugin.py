"""The pytest plugin with no configuration: raindrop_app is the repository's own app."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from runtime import App, FakeClock


async def test_defaults_to_the_rootdir_manifest(raindrop_app: App, raindrop_clock: FakeClock) -> None:
    assert raindrop_app.manifest.path == (Path(__file__).parent.parent / "raindrop.manifest").resolve()
    assert raindrop_app.manifest.application.name == "hakivo"
    assert raindrop_app.clock is raindrop_clock
    assert raindrop_app.state_dir.name == "raindrop-state"  # a fresh temporary folder, not .raindrop/


async def test_http_fixture_reaches_the_public_service(raindrop_http: httpx.AsyncClient) -> None:
    assert (await raindrop_http.get("/api/generate-podcast")).json()["service"] == "Podcast Generation API"


async def test_the_clock_starts_on_the_documented_day(raindrop_clock: FakeClock) -> None:
    from datetime import UTC, datetime

    assert raindrop_clock.now() == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.raindrop_clock("2026-03-02T09:00:00Z")
async def test_a_test_can_start_the_clock_elsewhere(raindrop_clock: FakeClock) -> None:
    assert raindrop_clock.now().isoformat() == "2026-03-02T09:00:00+00:00"


@pytest.mark.raindrop_clock("2026-03-02T02:00:00Z")
async def test_setting_the_clock_without_catch_up_fires_nothing_in_between(
    raindrop_app: App, raindrop_clock: FakeClock
) -> None:
    from datetime import timedelta

    raindrop_clock.set(raindrop_clock.now() + timedelta(days=3), catch_up=False)  # past three 3 am runs
    await raindrop_app.drain()
    assert not any(r.module == "podcast-pregeneration-cron" for r in raindrop_app.runs)
    raindrop_clock.set(raindrop_clock.now() + timedelta(days=1))  # the next 3 am runs as usual
    await raindrop_app.drain()
    assert any(r.module == "podcast-pregeneration-cron" for r in raindrop_app.runs)


@pytest.mark.redis
def test_pytester_redis_prefix_and_ini_start(pytester: pytest.Pytester) -> None:
    """The ini options: a clock start for every test, and a Redis backend whose keys each test
    gets to itself and leaves behind nothing."""
    from tests.backends import REDIS, REDIS_UP

    if not REDIS_UP:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    root = Path(__file__).parent / "apps" / "durable"
    pytester.makeini(
        f"[pytest]\nraindrop_manifest = {root / 'raindrop.manifest'}\nraindrop_backend = {REDIS}\n"
        "raindrop_clock_start = 2030-06-01T00:00:00Z\n"
    )
    pytester.makepyfile(
        """
        from datetime import UTC, datetime

        async def test_first(raindrop_app, raindrop_clock):
            assert raindrop_clock.now() == datetime(2030, 6, 1, tzinfo=UTC)
            assert await raindrop_app.env.CACHE.get("k") is None
            await raindrop_app.env.CACHE.put("k", "from the first test")

        async def test_second(raindrop_app):
            assert await raindrop_app.env.CACHE.get("k") is None  # nothing leaked
        """
    )
    result = pytester.runpytest("-p", "anyio", "-q")
    result.assert_outcomes(passed=2)


def test_pytester_parametrized_async_tests_keep_their_parameters(pytester: pytest.Pytester) -> None:
    """An async test that names a raindrop fixture is marked for anyio before parametrization:
    marked later, anyio's plugin re-created it without its parameters (every case an error)."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("x", [1, 2])
        async def test_direct(raindrop_clock, x):
            assert x in (1, 2)

        class TestInAClass:
            @pytest.mark.parametrize("y", ["a"])
            async def test_method(self, raindrop_clock, y):
                assert y == "a"

        @pytest.fixture
        def later(raindrop_clock):
            return raindrop_clock

        async def test_through_a_fixture_of_its_own(later):
            assert later.now().year == 2025
        """
    )
    result = pytester.runpytest("-p", "anyio", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*test_direct?*1? PASSED*", "*test_direct?*2? PASSED*"])


@pytest.mark.slow
@pytest.mark.parametrize("plugin", ["-n2", "-pno:xdist"])
def test_pytester_the_plugin_with_and_without_xdist(pytester: pytest.Pytester, plugin: str) -> None:
    """The fixtures and the automatic anyio marks work in pytest-xdist's workers as in one process
    (this repository's own suite runs on xdist's workers by default)."""
    pytest.importorskip("xdist")
    pytester.makeini(f"[pytest]\nraindrop_manifest = {Path(__file__).parent.parent / 'raindrop.manifest'}\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("x", [1, 2, 3])
        async def test_app(raindrop_app, raindrop_clock, x):
            assert raindrop_app.clock is raindrop_clock
            await raindrop_app.env.KV_CACHE.put("k", str(x))

        async def test_http(raindrop_http):
            assert (await raindrop_http.get("/api/generate-podcast")).status_code == 200
        """
    )
    result = pytester.runpytest_subprocess("-p", "anyio", "-q", plugin)
    result.assert_outcomes(passed=4)
