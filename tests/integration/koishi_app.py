"""A real Koishi app (tests/koishi/bot.mjs: koishi with @koishijs/plugin-adapter-onebot, pinned
in tests/koishi/package.json) run as a child process for the integration tests. It answers
"ping <x>" with "pong <x> from koishi as <self id>" and prints one line per fact (listening,
a bot online, a message received, a message sent), which this class collects from its stdout.

Reverse mode (the default): Koishi listens on `port` at `path`, botgate dials `url`.
Forward mode (protocol="ws"): Koishi dials `endpoint` ("{bot}" replaced by each bot's name).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path
from typing import Optional

from botgate_harness import REPO, free_port, wait_until

KOISHI_DIR = REPO / "tests" / "koishi"
SCRIPT = KOISHI_DIR / "bot.mjs"
PACKAGES = ("koishi", "@koishijs/plugin-adapter-onebot")


def missing_tools() -> list[str]:
    """What is missing to run Koishi, each with how to get it (empty: nothing)."""
    missing = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install nodejs npm, or `make deps`)")
    for package in PACKAGES:
        if not (KOISHI_DIR / "node_modules" / package / "package.json").is_file():
            missing.append(f"tests/koishi/node_modules/{package} (run `make koishi-deps`, which "
                           "`make test` runs, or `npm install --no-package-lock` in tests/koishi)")
    return missing


class KoishiApp:
    def __init__(self, self_ids: dict[str, int], *, token: str = "", protocol: str = "ws-reverse",
                 path: str = "/onebot", endpoint: str = "") -> None:
        self.self_ids = self_ids  # bot name -> self id
        self.token = token
        self.protocol = protocol
        self.path = path
        self.endpoint = endpoint
        self.port = free_port() if protocol == "ws-reverse" else 0
        self.lines: list[str] = []  # since the last start
        self.earlier: list[str] = []  # before it
        self._lock = threading.Lock()
        self._proc: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        """Where botgate dials in reverse mode ([onebot] reverse_url)."""
        return f"ws://127.0.0.1:{self.port}{self.path}"

    def start(self, timeout: float = 20.0) -> "KoishiApp":
        """Starts Koishi (again, on the same port, after stop()); the facts it printed before
        move to `earlier`."""
        missing = missing_tools()
        assert not missing, "the Koishi test needs: " + "; ".join(missing)
        with self._lock:
            self.earlier += self.lines
            self.lines = []
        cmd = ["node", str(SCRIPT), "--protocol", self.protocol,
               "--self-ids", ",".join(str(i) for i in self.self_ids.values()),
               "--bots", ",".join(self.self_ids)]
        if self.protocol == "ws-reverse":
            cmd += ["--port", str(self.port), "--path", self.path]
        else:
            cmd += ["--endpoint", self.endpoint]
        if self.token:
            cmd += ["--token", self.token]
        # Its own process group, so that stop() ends node and anything it started.
        self._proc = subprocess.Popen(cmd, cwd=KOISHI_DIR, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                      env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"})
        threading.Thread(target=self._read, args=(self._proc, self.lines), daemon=True).start()
        assert wait_until(lambda: self.saw("listening") or self._proc.poll() is not None,
                          timeout), f"Koishi did not start:\n{self.output()}"
        assert self._proc.poll() is None, f"Koishi exited:\n{self.output()}"
        return self

    def _read(self, proc: subprocess.Popen, lines: list[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._lock:
                lines.append(line.rstrip("\n"))

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGTERM)
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(5)
        except ProcessLookupError:
            pass

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.earlier + self.lines)

    def saw(self, *words: str) -> bool:
        prefix = " ".join(words)
        with self._lock:
            return any(line == prefix or line.startswith(prefix + " ") for line in self.lines)

    def wait_online(self, bot: str, timeout: float = 20.0) -> None:
        self_id = self.self_ids[bot]
        assert wait_until(lambda: self.saw("online", str(self_id)), timeout), \
            f"Koishi's bot {self_id} ({bot}) did not go online:\n{self.output()}"

    def received(self, bot: str) -> list[dict]:
        """What Koishi's middleware saw for `bot` since the last start, in order (content, userId, channelId,
        isDirect, messageId)."""
        prefix = f"received {self.self_ids[bot]} "
        with self._lock:
            return [json.loads(line[len(prefix):]) for line in self.lines if line.startswith(prefix)]

    def wait_received(self, bot: str, n: int, timeout: float = 10.0) -> list[dict]:
        """The first `n` or more of received(bot). Node writes to a pipe asynchronously: a line
        may come after the platform already got the answer it printed it for."""
        wait_until(lambda: len(self.received(bot)) >= n, timeout)
        found = self.received(bot)
        assert len(found) >= n, f"Koishi received {len(found)} of {n} as {bot}:\n{self.output()}"
        return found

    def sent(self, bot: str) -> list[str]:
        """The message ids botgate answered to Koishi's sends as `bot` since the last start."""
        prefix = f"sent {self.self_ids[bot]} "
        with self._lock:
            return [line[len(prefix):] for line in self.lines if line.startswith(prefix)]

    def wait_sent(self, bot: str, n: int, timeout: float = 15.0) -> list[str]:
        wait_until(lambda: len(self.sent(bot)) >= n, timeout)
        found = self.sent(bot)
        assert len(found) >= n, f"Koishi sent {len(found)} of {n} as {bot}:\n{self.output()}"
        return found


def answer(text: str, self_id: int) -> str:
    """What the Koishi app answers to "ping <text>"."""
    return f"pong {text} from koishi as {self_id}"
