"""Fixtures for the integration tests: a fresh fake platform and botgate processes per test,
always cleaned up (processes killed, fake stopped) even when the test fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for p in (_HERE, _HERE.parent):  # botgate_harness, feishu_crypto; fakes.*
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from botgate_harness import Botgate, binary_path, free_port  # noqa: E402
from fakes.feishu_fake import FeishuFake  # noqa: E402


@pytest.fixture
def fake():
    f = FeishuFake(app_id="cli_test", app_secret="secret-123").start()
    yield f
    f.stop()


@pytest.fixture
def binary() -> Path:
    b = binary_path()
    if not b.exists():
        pytest.fail(f"botgate binary not found at {b} (build it, or set BOTGATE_BINARY)")
    return b


@pytest.fixture
def launch(binary, tmp_path):
    """launch(config_fn, wait_ready=True) -> a running Botgate.

    `config_fn(port, db_path)` returns the config text; each call gets its own dir and port.
    On teardown every process is stopped and, if the test failed, its log is printed.
    """
    made: list[Botgate] = []

    def _launch(config_fn, wait_ready: bool = True) -> Botgate:
        workdir = tmp_path / f"bg{len(made)}"
        workdir.mkdir()
        port = free_port()
        bg = Botgate(binary, workdir, config_fn(port, workdir / "botgate.db"), port)
        made.append(bg)
        return bg.start(wait_ready=wait_ready)

    yield _launch
    for bg in made:
        bg.cleanup()
        # Shown by pytest only for failing tests ("Captured stdout teardown").
        print(f"--- botgate log ({bg.log_path}) ---\n{bg.log_text()[-20000:]}")


# ---------------------------------------------------------------------- WeCom

from fakes.wecom_fake import WecomFake  # noqa: E402


def pytest_configure(config):
    # Selectable with -m slow / -m "not slow"; slow tests still run by default.
    config.addinivalue_line("markers", "slow: a long test (a minute or more); runs by default")


@pytest.fixture
def wecom_fake():
    f = WecomFake(corp_id="ww5823bf96d3bd56c7", corp_secret="app-secret-123",
                  agent_id=1000002).start()
    yield f
    f.stop()


# ---------------------------------------------------------------------- Discord

from fakes.discord_fake import DiscordFake  # noqa: E402


@pytest.fixture
def discord_fake():
    # A short heartbeat so that zombie detection takes about a second.
    f = DiscordFake(heartbeat_interval=500, identify_interval=0).start()
    yield f
    f.stop()


@pytest.fixture
def make_discord_fake():
    """make_discord_fake(**options) -> a started DiscordFake with a short heartbeat."""
    made: list[DiscordFake] = []

    def make(**kw):
        kw.setdefault("heartbeat_interval", 500)
        kw.setdefault("identify_interval", 0)
        f = DiscordFake(**kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


# ---------------------------------------------------------------------- QQ

from fakes.qq_fake import QqFake  # noqa: E402


@pytest.fixture
def make_qq_fake():
    """make_qq_fake(**options) -> a started QqFake with a short heartbeat."""
    made: list[QqFake] = []

    def make(**kw):
        kw.setdefault("heartbeat_interval", 500)
        f = QqFake(**kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()
