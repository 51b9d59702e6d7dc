from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from runtime.backends import open_backend
from runtime.backends.base import Backend
from runtime.loader import forget
from tests.backends import BACKENDS, backend_url, drop_handed_out

MANIFESTS = Path(__file__).parent / "manifests"
pytest_plugins = ["pytester"]  # tests of the plugin's ini options run pytest in pytest


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """A run of the whole suite (no paths named: ``testpaths``), with pytest-xdist installed,
    goes on every core: ``-n auto``, the tests of one ``xdist_group`` kept on one worker
    (``--dist loadgroup``). The command line decides otherwise: ``-n 0`` runs in this process,
    ``-n N`` on N workers, ``-p no:xdist`` without the plugin. A run naming files or folders
    stays in one process (starting workers costs seconds; add ``-n auto`` to spread it). Not in
    ``addopts``: there ``-n`` would make ``-p no:xdist`` a usage error. Each worker has its own
    Redis database (``tests/backends.py``)."""
    if not config.pluginmanager.hasplugin("xdist") or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    if config.option.numprocesses is not None or config.option.collectonly:
        return
    if config.args_source is not pytest.Config.ArgsSource.TESTPATHS:
        return
    config.option.numprocesses = "auto"
    if config.option.dist == "no":
        config.option.dist = "loadgroup"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A case parametrized with a Redis backend ("redis", "redis-pool") needs the server: mark it
    ``redis`` (whole Redis modules carry the mark themselves)."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and any(
            isinstance(value, str) and value.split("-")[0] == "redis" for value in callspec.params.values()
        ):
            item.add_marker(pytest.mark.redis)


@pytest.fixture
def manifests() -> Path:
    return MANIFESTS


# The store contract also runs on Redis through redis-py alone (what a TLS or socket-file URL
# uses), besides the pipelined connection that carries a TCP URL's queue traffic.
@pytest.fixture(params=[*BACKENDS, *(["redis-pool"] if "redis" in BACKENDS else [])])
def backend_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def backend(backend_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Backend]:
    if backend_kind == "redis-pool":
        import runtime.backends.redis

        monkeypatch.setattr(runtime.backends.redis, "_fast_connection", lambda client: None)
    store = open_backend(backend_url(backend_kind.removesuffix("-pool"), tmp_path))
    await store.open()
    yield store
    if hasattr(store, "drop_everything"):
        await store.drop_everything()
    await store.close()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def browser_page() -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip("playwright is not installed")
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            raise AssertionError("chromium is not installed (.ci/run installs it)")
        pytest.skip("Debian's chromium is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


ROOT = Path(__file__).parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis keeps its example database and caches in a temporary folder, not the checkout
    (set before test modules are imported: it caches their constants as it collects them)."""
    from hypothesis.configuration import set_hypothesis_home_dir

    home = tempfile.mkdtemp(prefix="raindrop-hypothesis-")
    set_hypothesis_home_dir(home)
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collecting made (test modules, their imports, the items) lives to the end of the run:
    the cyclic garbage collector is told not to walk it again at each of its full passes, which
    otherwise go over these objects some twenty times a run."""
    gc.collect()
    gc.freeze()


def _written_into_the_source_tree() -> set[Path]:
    """Folders tests must not leave in the checkout: app state beside a test app's manifest,
    hypothesis's example database and caches."""
    return {*ROOT.glob("tests/**/.raindrop"), *ROOT.glob(".hypothesis")}


@pytest.fixture(scope="session", autouse=True)
def _write_only_into_temporary_folders() -> Iterator[None]:
    """A test that writes into the source tree fails the run (folders there before it started
    are left alone: delete them, then run again to find the test)."""
    before = _written_into_the_source_tree()
    yield
    written = _written_into_the_source_tree() - before
    assert not written, f"tests wrote into the source tree: {sorted(str(p.relative_to(ROOT)) for p in written)}"


@pytest.fixture(autouse=True)
def _forget_handlers_of_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """The handler modules a test's apps imported from its temporary folder, and that folder's
    entries on ``sys.path``, go when the test ends: else every later search of ``sys.path`` (one
    per Redis client) reads one more folder per test before it, and the modules stay in memory."""
    folder = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if folder is not None:
        forget(folder)


@pytest.fixture(autouse=True)
def _drop_redis_keys_of_the_test() -> Iterator[None]:
    """Every Redis prefix a test got from ``backend_url`` is emptied when the test ends."""
    yield
    drop_handed_out()


@pytest.fixture(scope="session", autouse=True)
def _clean_redis_test_keys() -> Iterator[None]:
    """Tests use their own key prefixes; whatever they leave behind is deleted at the end."""
    yield
    from tests.backends import REDIS, REDIS_UP

    if REDIS_UP:
        import redis

        client = redis.Redis.from_url(REDIS)
        for key in client.scan_iter(match="test-*"):
            client.delete(key)
        client.close()


def moto_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for as long as the generator runs."""
    import socket

    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port."""
    yield from moto_server()
