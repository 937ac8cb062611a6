"""A strict fake OneBot v11 framework (the role NoneBot2 or Koishi play) for the integration
tests: a reverse WebSocket server that botgate dials. It refuses an upgrade without
`X-Client-Role: Universal`, without a numeric `X-Self-ID` it expects, or without
`Authorization: Bearer <token>` when it has a token (as NoneBot2 does), records every frame
botgate sends, and calls actions with an `echo` and waits for their answer. It can go away and
come back on the same port.
"""

from __future__ import annotations

import asyncio
import http
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import websockets
import websockets.exceptions

from fakes.http_fake import wait_until


@dataclass
class Refusal:
    self_id: str
    reason: str
    t: float


@dataclass
class Connection:
    self_id: int
    headers: Any  # case-insensitive (websockets.datastructures.Headers)
    ws: Any
    frames: list[dict] = field(default_factory=list)
    closed: bool = False


class OneBotFramework:
    """All public methods are safe to call from the test's thread."""

    def __init__(self, *, token: str = "", self_ids: Optional[set[int]] = None,
                 path: str = "/onebot/v11/ws") -> None:
        self.token = token
        self.self_ids = self_ids  # None: any numeric id
        self.path = path
        self.port = 0
        self.refusals: list[Refusal] = []
        self.connections: list[Connection] = []
        #: Frames that break the protocol (the tests assert there are none).
        self.violations: list[str] = []
        self._lock = threading.Lock()
        self._echo = itertools.count(1)
        self._answers: dict[Any, dict] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = None

    # ---------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"

    def start(self) -> "OneBotFramework":
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        """Goes away: closes every connection and the listener (start() comes back on the same
        port)."""
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    async def _start(self) -> None:
        self._server = await websockets.serve(
            self._handler, "127.0.0.1", self.port, process_request=self._check_upgrade,
            compression=None, ping_interval=None, close_timeout=2)
        self.port = list(self._server.sockets)[0].getsockname()[1]

    async def _stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        self._server = None

    # ---------------------------------------------------------------- the server side

    def _refuse(self, self_id: str, status: int, reason: str):
        with self._lock:
            self.refusals.append(Refusal(self_id, reason, time.monotonic()))
        return http.HTTPStatus(status), [("Content-Type", "text/plain")], reason.encode()

    async def _check_upgrade(self, path: str, headers):
        self_id = headers.get("X-Self-ID", "")
        if path != self.path:
            return self._refuse(self_id, 404, f"no endpoint {path}")
        if headers.get("X-Client-Role") != "Universal":
            return self._refuse(self_id, 400, "X-Client-Role must be Universal")
        if not self_id.isdigit() or (self.self_ids is not None and int(self_id) not in self.self_ids):
            return self._refuse(self_id, 403, f"unknown X-Self-ID {self_id!r}")
        if self.token and headers.get("Authorization") != f"Bearer {self.token}":
            return self._refuse(self_id, 403, "wrong or missing access token")
        if not headers.get("User-Agent"):
            return self._refuse(self_id, 400, "no User-Agent")
        return None

    async def _handler(self, ws, path=None) -> None:
        conn = Connection(int(ws.request_headers["X-Self-ID"]), ws.request_headers, ws)
        with self._lock:
            self.connections.append(conn)
        try:
            async for raw in ws:
                try:
                    frame = json.loads(raw)
                except ValueError:
                    frame = None
                with self._lock:
                    if not isinstance(frame, dict):
                        self.violations.append(f"not a JSON object: {raw!r}")
                    elif "post_type" in frame:
                        if frame.get("self_id") != conn.self_id:
                            self.violations.append(f"self_id is not X-Self-ID: {raw}")
                        if not isinstance(frame.get("time"), int):
                            self.violations.append(f"no integer time: {raw}")
                        conn.frames.append(frame)
                    elif "echo" in frame and "retcode" in frame and "status" in frame:
                        self._answers[json.dumps(frame["echo"])] = frame
                    else:
                        self.violations.append(f"neither event nor answer: {raw}")
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            conn.closed = True

    # ---------------------------------------------------------------- the test's side

    def live(self, self_id: int) -> Optional[Connection]:
        with self._lock:
            for conn in reversed(self.connections):
                if conn.self_id == self_id and not conn.closed:
                    return conn
        return None

    def wait_connected(self, self_id: int, timeout: float = 15.0) -> Connection:
        assert wait_until(lambda: self.live(self_id) is not None, timeout), \
            f"botgate did not connect as {self_id} (refused: {self.refusals})"
        return self.live(self_id)

    def events(self, self_id: int, **match: Any) -> list[dict]:
        """Every event botgate sent as `self_id`, over all its connections, in order."""
        with self._lock:
            frames = [f for c in self.connections if c.self_id == self_id for f in c.frames]
        return [f for f in frames if all(f.get(k) == v for k, v in match.items())]

    def wait_events(self, self_id: int, n: int, timeout: float = 15.0, **match: Any) -> list[dict]:
        wait_until(lambda: len(self.events(self_id, **match)) >= n, timeout)
        found = self.events(self_id, **match)
        assert len(found) >= n, f"{len(found)} of {n} events {match}: {self.events(self_id)}"
        return found

    def call(self, self_id: int, action: str, params: Optional[dict] = None,
             timeout: float = 10.0, echo: Any = None) -> dict:
        """Calls `action` on the live connection of `self_id`; returns botgate's answer."""
        conn = self.live(self_id)
        assert conn is not None, f"no connection for {self_id}"
        echo = next(self._echo) if echo is None else echo
        frame = {"action": action, "params": params or {}, "echo": echo}
        asyncio.run_coroutine_threadsafe(conn.ws.send(json.dumps(frame)), self._loop).result(5)
        key = json.dumps(echo)
        assert wait_until(lambda: key in self._answers, timeout), f"no answer to {frame}"
        with self._lock:
            return self._answers.pop(key)
