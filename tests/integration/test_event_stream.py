"""The event stream, GET /api/v1/events, end to end: the real botgate binary with two Feishu
bots against the fake Feishu Open API. Clients read it as server-sent events (a plain socket,
so that nothing is hidden by a library) and as a WebSocket: every accepted event arrives once,
in order, with its cursor; the filters hold; a client that comes back with its last cursor
(`Last-Event-ID` or `after`) gets exactly what it missed, also after a restart of botgate; a
client that never reads does not slow the acknowledgement of callbacks and loses nothing."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any, Optional

import pytest
import websockets
import websockets.exceptions

from botgate_harness import (API_TOKEN, FeishuCallbacks, botgate_config, feishu_bot,
                             http_request)

CHAT_A = "oc_" + "a" * 32
CHAT_B = "oc_" + "b" * 32


class SseClient:
    """GET /api/v1/events as server-sent events over a plain socket: the header, then the
    body de-chunked as it comes, split into events."""

    def __init__(self, port: int, query: str = "", headers: Optional[dict[str, str]] = None,
                 token: Optional[str] = API_TOKEN, timeout: float = 10.0,
                 rcvbuf: Optional[int] = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        h = {"Host": f"127.0.0.1:{port}", "Accept": "text/event-stream"}
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        h.update(headers or {})
        request = f"GET /api/v1/events{query} HTTP/1.1\r\n"
        request += "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        self.sock.sendall(request.encode())
        self.raw = b""
        self.body = b""
        self.ended = False
        while b"\r\n\r\n" not in self.raw:
            self._recv()
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip()
                        for k, v in (line.split(":", 1) for line in lines[1:])}
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "")
        self.comments: list[str] = []
        self.retry: Optional[int] = None
        self._dechunk()

    def _recv(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the server closed the stream")
        self.raw += data

    def _dechunk(self) -> None:
        if not self.chunked:
            self.body += self.raw
            self.raw = b""
            return
        while True:
            line_end = self.raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(self.raw[:line_end], 16)
            if len(self.raw) < line_end + 2 + size + 2:
                return
            self.body += self.raw[line_end + 2:line_end + 2 + size]
            self.raw = self.raw[line_end + 2 + size + 2:]
            if size == 0:
                self.ended = True
                return

    def read_body(self) -> bytes:
        """The whole body of a refusal (Content-Length)."""
        length = int(self.headers.get("content-length", "0"))
        while len(self.body) + len(self.raw) < length:
            self._recv()
        return (self.body + self.raw)[:length]

    def next_event(self) -> tuple[int, dict]:
        """The next event (cursor, Event JSON); comments and retry hints are kept aside."""
        while True:
            while b"\n\n" not in self.body:
                if self.ended:
                    raise EOFError("the stream ended")
                self._recv()
                self._dechunk()
            block, self.body = self.body.split(b"\n\n", 1)
            fields: dict[str, str] = {}
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    continue
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
            if "retry" in fields:
                self.retry = int(fields["retry"])
            if "data" in fields:
                return int(fields["id"]), json.loads(fields["data"])

    def events(self, n: int) -> list[tuple[int, dict]]:
        return [self.next_event() for _ in range(n)]

    def close(self) -> None:
        self.sock.close()


def text_of(event: dict) -> str:
    return event["message"]["text"]


@pytest.fixture
def two_bots(fake, launch):
    """botgate with Feishu bots `alpha` and `beta` (echo off: the stream is what is tested)."""
    bots = [feishu_bot(fake, name="alpha"), feishu_bot(fake, name="beta")]
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=bots, echo=False,
                                                api_token=API_TOKEN))
    return bg, FeishuCallbacks(bg, fake, bot="alpha"), FeishuCallbacks(bg, fake, bot="beta")


def send(cb: FeishuCallbacks, text: str, chat: str = CHAT_A) -> dict:
    ev, status = cb.send_text(text, chat_id=chat, chat_type="group")
    assert status == 200
    return ev


def test_sse_gives_each_new_event_once_in_order_with_growing_cursors(two_bots):
    bg, alpha, beta = two_bots
    client = SseClient(bg.port)
    try:
        assert client.status == 200, client.read_body()
        assert client.headers["content-type"] == "text/event-stream"
        first = send(alpha, "one")
        send(alpha, "one again", chat=CHAT_A)
        alpha.post_payload(first)  # a redelivery: a duplicate is never in the stream
        send(beta, "two", chat=CHAT_B)
        got = client.events(3)
        assert [text_of(e) for _, e in got] == ["one", "one again", "two"]
        cursors = [c for c, _ in got]
        assert cursors == sorted(cursors) and len(set(cursors)) == 3 and cursors[0] > 0
        assert [e["bot"] for _, e in got] == ["alpha", "alpha", "beta"]
        assert got[2][1]["chat"]["id"] == CHAT_B
        assert client.retry and client.retry > 0
        send(alpha, "three")
        assert text_of(client.next_event()[1]) == "three", "no duplicate came before it"
    finally:
        client.close()


def test_filters_by_bot_platform_and_chat(two_bots):
    bg, alpha, beta = two_bots
    only_beta = SseClient(bg.port, "?bot=beta")
    only_chat_b = SseClient(bg.port, f"?chat={CHAT_B}")
    alpha_chat_a = SseClient(bg.port, f"?bot=alpha&platform=feishu&chat={CHAT_A}")
    other_platform = SseClient(bg.port, "?platform=lark", timeout=3)
    try:
        send(alpha, "a1", CHAT_A)
        send(beta, "b1", CHAT_A)
        send(alpha, "a2", CHAT_B)
        send(beta, "b2", CHAT_B)
        assert [text_of(e) for _, e in only_beta.events(2)] == ["b1", "b2"]
        assert [text_of(e) for _, e in only_chat_b.events(2)] == ["a2", "b2"]
        assert [text_of(e) for _, e in alpha_chat_a.events(1)] == ["a1"]
        with pytest.raises((socket.timeout, TimeoutError)):
            other_platform.next_event()
    finally:
        for c in (only_beta, only_chat_b, alpha_chat_a, other_platform):
            c.close()
    unknown = SseClient(bg.port, "?bot=nobody")
    try:
        assert unknown.status == 404
        assert json.loads(unknown.read_body())["error"] == "unknown_bot"
    finally:
        unknown.close()


def test_a_client_that_comes_back_gets_exactly_what_it_missed_also_after_a_restart(two_bots):
    bg, alpha, _ = two_bots
    client = SseClient(bg.port)
    send(alpha, "before 1")
    send(alpha, "before 2")
    seen = client.events(2)
    client.close()
    last = seen[-1][0]
    for i in range(5):
        send(alpha, f"missed {i}")
    back = SseClient(bg.port, headers={"Last-Event-ID": str(last)})
    try:
        got = back.events(5)
        assert [text_of(e) for _, e in got] == [f"missed {i}" for i in range(5)]
        last = got[-1][0]
    finally:
        back.close()

    # `after` in the query says the same; Last-Event-ID wins over it (a reconnecting
    # EventSource sends the URL it first opened).
    by_query = SseClient(bg.port, f"?after={seen[0][0]}", headers={"Last-Event-ID": str(last)})
    try:
        send(alpha, "after all")
        assert [text_of(e) for _, e in by_query.events(1)] == ["after all"]
    finally:
        by_query.close()
    everything = SseClient(bg.port, "?after=0")
    try:
        texts = [text_of(e) for _, e in everything.events(8)]
        assert texts == ["before 1", "before 2"] + [f"missed {i}" for i in range(5)] + ["after all"]
    finally:
        everything.close()

    bg.stop()
    bg.restart()
    for i in range(3):
        send(alpha, f"while away {i}")
    after_restart = SseClient(bg.port, f"?after={last}")
    try:
        got = after_restart.events(4)
        assert [text_of(e) for _, e in got] == ["after all"] + [f"while away {i}" for i in range(3)]
        assert got[0][0] > last
    finally:
        after_restart.close()


def test_malformed_cursors_and_a_missing_token_are_refused(two_bots):
    bg, _, _ = two_bots
    for query, headers in (("?after=ten", None), ("?after=-1", None),
                           ("", {"Last-Event-ID": "abc"})):
        c = SseClient(bg.port, query, headers=headers)
        try:
            assert c.status == 400, (query, headers)
            assert json.loads(c.read_body())["error"] == "bad_query"
        finally:
            c.close()
    for token in (None, "wrong-token"):
        c = SseClient(bg.port, token=token)
        try:
            assert c.status == 401
        finally:
            c.close()
    c = SseClient(bg.port, headers={"Host": "evil.example"})
    try:
        assert c.status == 421
    finally:
        c.close()
    status, _, _ = http_request(bg.port, "GET", "/api/v1/events",
                                headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert status == 406, "neither an event stream nor a WebSocket was asked for"


def test_a_client_that_never_reads_slows_no_callback_and_loses_nothing(two_bots):
    bg, alpha, _ = two_bots
    stalled = SseClient(bg.port, rcvbuf=4096, timeout=30)
    reader = SseClient(bg.port)
    try:
        latencies = []
        for i in range(200):
            started = time.monotonic()
            # 200 x 40 KB: twice what the socket buffers of the stalled client hold, so that
            # botgate's writes to it block while the callbacks come.
            send(alpha, f"burst {i} " + "x" * 40000)
            latencies.append(time.monotonic() - started)
        latencies.sort()
        assert latencies[-1] < 2.0, latencies[-5:]
        assert latencies[len(latencies) // 2] < 0.2, latencies[len(latencies) // 2]
        assert [text_of(e).split()[1] for _, e in reader.events(200)] == [str(i) for i in
                                                                         range(200)]
        # The stalled client reads now: everything, in order, or (cut off) it comes back
        # with its last cursor and gets the rest.
        got: list[tuple[int, dict]] = []
        try:
            while len(got) < 200:
                got.append(stalled.next_event())
        except (EOFError, ConnectionError):
            stalled.close()
            rest = SseClient(bg.port, f"?after={got[-1][0] if got else 0}")
            stalled = rest
            while len(got) < 200:
                got.append(stalled.next_event())
        texts = [text_of(e) for _, e in got]
        assert [t.split()[1] for t in texts] == [str(i) for i in range(200)]
    finally:
        stalled.close()
        reader.close()


async def ws_read(url: str, n: int, headers: Optional[dict[str, str]] = None,
                  after_open=None) -> list[dict]:
    async with websockets.connect(url, extra_headers=headers or {}, open_timeout=5,
                                  close_timeout=2) as ws:
        if after_open:
            await asyncio.get_running_loop().run_in_executor(None, after_open)
        frames = []
        for _ in range(n):
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
        return frames


def test_a_websocket_client_gets_each_event_as_a_frame_with_its_cursor(two_bots):
    bg, alpha, beta = two_bots
    url = f"ws://127.0.0.1:{bg.port}/api/v1/events"
    auth = {"Authorization": f"Bearer {API_TOKEN}"}

    def burst():
        send(alpha, "w1")
        send(beta, "w2", CHAT_B)
        send(alpha, "w3")

    frames = asyncio.run(ws_read(url, 3, auth, burst))
    assert [text_of(f["event"]) for f in frames] == ["w1", "w2", "w3"]
    cursors = [f["cursor"] for f in frames]
    assert cursors == sorted(cursors) and len(set(cursors)) == 3

    # The same filters and `after`; a browser's token in the query.
    resumed = asyncio.run(ws_read(f"{url}?bot=alpha&after={cursors[0]}&access_token={API_TOKEN}",
                                  1))
    assert [text_of(f["event"]) for f in resumed] == ["w3"]

    with pytest.raises(websockets.exceptions.InvalidStatusCode) as refused:
        asyncio.run(ws_read(url, 1))
    assert refused.value.status_code == 401
    with pytest.raises(websockets.exceptions.InvalidStatusCode) as refused:
        asyncio.run(ws_read(url + "?access_token=wrong", 1))
    assert refused.value.status_code == 401


def test_open_streams_end_cleanly_when_botgate_stops(two_bots):
    bg, alpha, _ = two_bots
    client = SseClient(bg.port, timeout=15)
    url = f"ws://127.0.0.1:{bg.port}/api/v1/events"

    async def hold_websocket() -> Any:
        async with websockets.connect(url, extra_headers={"Authorization": f"Bearer {API_TOKEN}"},
                                      open_timeout=5, close_timeout=2) as ws:
            await asyncio.get_running_loop().run_in_executor(None, lambda: send(alpha, "last"))
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            stopping = asyncio.get_running_loop().run_in_executor(None, bg.stop)
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 15)
            await stopping
            return first, closed.value

    started = time.monotonic()
    first, closed = asyncio.run(hold_websocket())
    assert text_of(first["event"]) == "last"
    assert closed.code == 1001, closed  # going away
    assert time.monotonic() - started < 8, "the stop waited for the streams"
    assert text_of(client.next_event()[1]) == "last"
    with pytest.raises(EOFError):
        client.next_event()
    assert client.ended, "the chunked body ended cleanly"
    client.close()
