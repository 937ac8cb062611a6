"""The fake WeCom AI-bot long connection (tests/fakes/wecom_aibot_ws_fake.py), proven against the
official client: @wecom/aibot-node-sdk's WSClient (tests/wecom_sdk/ws_client.mjs, pinned in
tests/wecom_sdk/package.json) subscribes, gets messages and events, streams its answers, pings,
retries and gives up on wrong credentials, and stops when another connection takes over. Then
self-tests of the fake's strictness with a small Python client (what the SDK never does wrong).
The SDK's node_modules come from `make wecom-sdk-deps` (which `make test` runs); without them the
SDK tests fail and say so. No botgate binary is needed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import websockets
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from botgate_harness import REPO, wait_until
from fakes.wecom_aibot_ws_fake import (E_CONTENT_TOO_LARGE, E_FREQ_LIMIT, E_INVALID_PARAMETER,
                                       E_INVALID_REQ_ID, E_STREAM_EXPIRED, E_SUBSCRIBE,
                                       EVENT_CALLBACK, MSG_CALLBACK, PING, RESPOND,
                                       RESPOND_WELCOME, SEND_MSG, SUBSCRIBE, WecomAibotWsFake)

SDK_DIR = REPO / "tests" / "wecom_sdk"
SCRIPT = SDK_DIR / "ws_client.mjs"
PACKAGE = "@wecom/aibot-node-sdk"
BOT = "aibK7r2XqP0vYtEwBn4m"
SECRET = "aibot-secret-123"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3


def missing_tools() -> list[str]:
    missing = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install nodejs npm, or `make deps`)")
    if not (SDK_DIR / "node_modules" / PACKAGE / "package.json").is_file():
        missing.append(f"tests/wecom_sdk/node_modules/{PACKAGE} (run `make wecom-sdk-deps`, which "
                       "`make test` runs, or `npm install --no-package-lock` in tests/wecom_sdk)")
    return missing


class SdkClient:
    """ws_client.mjs as a child process; its stdout facts (JSON lines) collected."""

    def __init__(self, fake: WecomAibotWsFake, *, secret: str = SECRET, heartbeat_ms: int = 0,
                 reconnect_ms: int = 100, max_auth_failures: int = 0) -> None:
        cmd = ["node", str(SCRIPT), "--url", fake.ws_url, "--bot-id", BOT, "--secret", secret,
               "--reconnect", str(reconnect_ms)]
        if heartbeat_ms:
            cmd += ["--heartbeat", str(heartbeat_ms)]
        if max_auth_failures:
            cmd += ["--max-auth-failures", str(max_auth_failures)]
        self.facts: list[dict] = []
        self.stderr: list[str] = []
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(cmd, cwd=SDK_DIR, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            try:
                obj = json.loads(line)
            except ValueError:
                obj = {"fact": "unparsed", "line": line}
            with self._lock:
                self.facts.append(obj)

    def _read_err(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            with self._lock:
                self.stderr.append(line)

    def of(self, kind: str, **match: Any) -> list[dict]:
        with self._lock:
            return [f for f in self.facts if f.get("fact") == kind
                    and all(f.get(k) == v for k, v in match.items())]

    def wait(self, kind: str, n: int = 1, timeout: float = 10.0, **match: Any) -> list[dict]:
        assert wait_until(lambda: len(self.of(kind, **match)) >= n, timeout), (
            f"no {n} x {kind} {match}; facts: {self.facts}\n{''.join(self.stderr[-40:])}")
        return self.of(kind, **match)

    def command(self, obj: dict) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(obj) + "\n")
        self._proc.stdin.flush()

    def stop(self) -> None:
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(5)


@pytest.fixture
def aibot():
    f = WecomAibotWsFake(bot_id=BOT, secret=SECRET).start()
    yield f
    f.stop()


@pytest.fixture
def sdk(aibot):
    """sdk(**options) -> a started SdkClient against `aibot`; all stopped on teardown."""
    missing = missing_tools()
    if missing:
        pytest.fail("the WeCom SDK test needs: " + "; ".join(missing))
    clients: list[SdkClient] = []

    def make(**kw: Any) -> SdkClient:
        c = SdkClient(aibot, **kw)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.stop()
    # Shown by pytest only for failing tests.
    for i, c in enumerate(clients):
        print(f"--- SDK client {i} ---\n" + "\n".join(json.dumps(x) for x in c.facts)
              + "\n" + "".join(c.stderr[-60:]))


# ---------------------------------------------------------------------- the official SDK


def test_sdk_subscribes_gets_a_message_and_streams_its_answer_one_at_a_time(aibot, sdk):
    aibot.ack_delay = 0.15  # a reply sent before the previous ack would overlap it
    client = sdk(heartbeat_ms=150)
    assert aibot.wait_subscribed(BOT, 10), client.facts
    client.wait("authenticated")
    sub = aibot.subscribes()
    assert len(sub) == 1 and sub[0]["errcode"] == 0
    assert sub[0]["body"] == {"bot_id": BOT, "secret": SECRET}

    frame = aibot.push_message(text="hello there", chat_type="group", chat_id="wrkChat1",
                               user_id="lisi")
    req_id = frame["headers"]["req_id"]
    got = client.wait("message", req_id=req_id)[0]
    assert got["text"] == "hello there" and got["chatid"] == "wrkChat1"
    assert got["from"] == "lisi" and got["chattype"] == "group"
    assert got["msgid"] == frame["body"]["msgid"]

    results = client.wait("reply_result", 3, req_id=req_id)
    assert all(r["ok"] and r["errcode"] == 0 for r in results), results
    replies = aibot.replies(req_id=req_id)
    assert [r.cmd for r in replies] == [RESPOND] * 3
    assert not any(r.overlapped for r in replies)
    for prev, nxt in zip(replies, replies[1:]):  # each sent only after the previous ack
        assert prev.acked_at is not None and nxt.t >= prev.acked_at
    streams = aibot.streams()
    assert len(streams) == 1
    (stream,) = streams.values()
    assert stream.req_id == req_id and stream.finished
    assert stream.versions == ["echo: hello there", "echo: hello there (more)",
                               "echo: hello there (done)"]

    # Pings every 150 ms, each acked with errcode 0 (the SDK names them "ping_...").
    assert wait_until(lambda: len(aibot.pings(BOT)) >= 3, 5)
    pings = aibot.pings(BOT)
    assert all(p.req_id.startswith("ping") and p.errcode == 0 for p in pings)
    gaps = [b.t - a.t for a, b in zip(pings, pings[1:])]
    assert all(0.1 < g < 0.5 for g in gaps), gaps
    assert aibot.violations == []


def test_sdk_welcome_card_update_media_and_proactive(aibot, sdk):
    client = sdk()
    assert aibot.wait_subscribed(BOT, 10)

    enter = aibot.push_event("enter_chat")
    client.wait("welcome_result", req_id=enter["headers"]["req_id"])
    assert client.of("welcome_result")[0]["errcode"] == 0
    (welcome,) = aibot.replies(req_id=enter["headers"]["req_id"])
    assert welcome.cmd == RESPOND_WELCOME and welcome.errcode == 0
    assert welcome.body == {"msgtype": "text", "text": {"content": "welcome"}}

    card = aibot.push_event("template_card_event", event={"template_card_event": {
        "card_type": "button_interaction", "event_key": "yes", "task_id": "task-1"}})
    assert client.wait("update_result", req_id=card["headers"]["req_id"])[0]["errcode"] == 0
    (update,) = aibot.replies(req_id=card["headers"]["req_id"])
    assert update.body["response_type"] == "update_template_card"
    assert update.body["template_card"]["task_id"] == "task-1"

    # The SDK downloads and decrypts the files the fake serves encrypted.
    img = aibot.push_message(images=(PNG,))
    mixed = aibot.push_message(text="look", images=(PNG, PNG[:100]))
    client.wait("download", 3)
    digests = [d["sha256"] for d in client.of("download")]
    assert sorted(digests) == sorted([hashlib.sha256(PNG).hexdigest()] * 2
                                     + [hashlib.sha256(PNG[:100]).hexdigest()])
    assert client.of("message", req_id=mixed["headers"]["req_id"])[0]["text"] == "look"
    assert client.of("message", req_id=img["headers"]["req_id"])[0]["msgtype"] == "image"

    client.command({"send": "wrkChat1", "content": "**proactive**"})
    assert client.wait("send_result")[0]["errcode"] == 0
    data = bytes(range(256)) * 2500  # 640000 bytes: two chunks
    client.command({"upload": base64.b64encode(data).decode(), "filename": "a.png",
                    "send_to": "wrkChat1"})
    media_id = client.wait("uploaded")[0]["media_id"]
    assert client.wait("send_result", 2)[1]["errcode"] == 0
    assert aibot.uploaded(media_id)["data"] == data
    sent = aibot.proactive(chatid="wrkChat1")
    assert [p.msgtype for p in sent] == ["markdown", "image"]
    assert sent[0].body["markdown"]["content"] == "**proactive**"
    assert sent[0].req_id.startswith(SEND_MSG)
    assert aibot.violations == []


def test_sdk_reply_failure_does_not_stop_its_queue(aibot, sdk):
    client = sdk()
    assert aibot.wait_subscribed(BOT, 10)
    aibot.fail_next(RESPOND, 1, 6000)
    frame = aibot.push_message(text="x")
    results = client.wait("reply_result", 3, req_id=frame["headers"]["req_id"])
    assert [r["ok"] for r in results] == [False, True, True]
    assert results[0]["errcode"] == 6000
    (stream,) = aibot.streams().values()
    assert stream.versions == ["echo: x (more)", "echo: x (done)"] and stream.finished


def test_sdk_wrong_secret_is_refused_and_it_gives_up(aibot, sdk):
    client = sdk(secret="wrong", reconnect_ms=50, max_auth_failures=2)
    # One attempt, then two retries (50, 100 ms), then it gives up.
    err = client.wait("error", 4, timeout=10)
    assert err[-1]["code"] == "WS_AUTH_FAILURE_EXHAUSTED", err
    assert [e["message"] for e in err[:3]] == [
        f"Authentication failed: invalid bot_id or secret (code: {E_SUBSCRIBE})"] * 3
    subs = aibot.subscribes()
    assert [s["errcode"] for s in subs] == [E_SUBSCRIBE] * 3
    assert [f["attempt"] for f in client.of("reconnecting")] == [1, 2]
    time.sleep(0.5)
    assert len(aibot.subscribes()) == 3
    # The SDK closed each refused socket itself at once.
    assert wait_until(lambda: not any(c["open"] for c in aibot.connections()), 5)
    assert not aibot.subscribed(BOT)


def test_sdk_second_connection_takes_over_and_the_first_stops(aibot, sdk):
    first = sdk()
    assert aibot.wait_subscribed(BOT, 10)
    second = sdk()
    second.wait("authenticated")
    ev = first.wait("event", eventtype="disconnected_event")[0]
    first.wait("disconnected")
    conns = aibot.connections()
    assert [c["kicked"] for c in conns] == [True, False]
    # The SDK terminates the old socket itself and does not come back.
    assert wait_until(lambda: not aibot.connections()[0]["open"], 5)
    frame = aibot.push_message(text="to the new one")
    second.wait("message", req_id=frame["headers"]["req_id"])
    second.wait("reply_result", 3)
    time.sleep(0.5)
    assert first.of("reconnecting") == [] and first.of("message") == []
    assert len(aibot.subscribes()) == 2
    assert ev["req_id"] != frame["headers"]["req_id"]
    assert aibot.violations == []


@pytest.mark.parametrize("fault", ["no_ack", "errcode"])
def test_sdk_drops_the_connection_after_unacked_pings_and_reconnects(aibot, sdk, fault):
    client = sdk(heartbeat_ms=100, reconnect_ms=50)
    assert aibot.wait_subscribed(BOT, 10)
    if fault == "no_ack":
        aibot.ping_acks = False
    else:
        aibot.ping_errcode = 500
    client.wait("reconnecting", timeout=5)
    client.wait("authenticated", 2)
    assert aibot.connections()[0]["open"] is False
    # Two pings went unanswered (or were refused); the third tick closed the socket.
    first_conn = [p for p in aibot.pings() if p.conn == 1]
    assert len(first_conn) >= 2


# ---------------------------------------------------------------------- self-tests (Python client)


class Client:
    """A raw client of the fake for the checks the SDK cannot be made to fail."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.pushed: list[dict] = []  # callbacks that arrived while waiting for an answer

    @classmethod
    async def connect(cls, fake: WecomAibotWsFake) -> "Client":
        return cls(await websockets.connect(fake.ws_url, ping_interval=None))

    async def send(self, cmd: str, req_id: str, body: Optional[dict] = None) -> None:
        frame: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id}}
        if body is not None:
            frame["body"] = body
        await self.ws.send(json.dumps(frame))

    async def recv(self, timeout: float = 3.0) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def answer(self, req_id: str, timeout: float = 3.0) -> dict:
        """The next answer to req_id (callbacks arriving meanwhile go to `pushed`)."""
        while True:
            f = await self.recv(timeout)
            if f.get("cmd") is not None:
                self.pushed.append(f)
            elif f["headers"]["req_id"] == req_id:
                return f

    async def call(self, cmd: str, req_id: str, body: Optional[dict] = None) -> dict:
        await self.send(cmd, req_id, body)
        return await self.answer(req_id)

    async def subscribe(self, secret: str = SECRET) -> dict:
        return await self.call(SUBSCRIBE, "aibot_subscribe_1", {"bot_id": BOT, "secret": secret})

    async def callback(self) -> dict:
        while not self.pushed:
            f = await self.recv()
            if f.get("cmd") is not None:
                self.pushed.append(f)
        return self.pushed.pop(0)


def stream(sid: str, content: str, finish: bool = False, **more: Any) -> dict:
    return {"msgtype": "stream", "stream": {"id": sid, "content": content, "finish": finish,
                                            **more}}


def run(fake: WecomAibotWsFake, scenario: Callable[[Client], Any]) -> None:
    async def main() -> None:
        c = await Client.connect(fake)
        try:
            await scenario(c)
        finally:
            await c.ws.close()
    asyncio.run(main())


def test_fake_refuses_frames_before_and_after_a_refused_subscribe(aibot):
    async def scenario(c: Client) -> None:
        early = await c.call(PING, "ping_0")
        assert early["errcode"] == E_SUBSCRIBE
        refused = await c.subscribe(secret="nope")
        assert refused == {"headers": {"req_id": "aibot_subscribe_1"}, "errcode": E_SUBSCRIBE,
                           "errmsg": "invalid bot_id or secret"}
        # The socket is of no use now, even for the right secret.
        assert (await c.call(PING, "ping_1"))["errcode"] == E_SUBSCRIBE
        assert (await c.subscribe())["errcode"] == E_SUBSCRIBE
    run(aibot, scenario)
    assert len(aibot.violations) == 3, aibot.violations
    assert not aibot.subscribed(BOT)


def test_fake_ping_acks_and_switches(aibot):
    async def scenario(c: Client) -> None:
        assert (await c.subscribe())["errcode"] == 0
        ack = await c.call(PING, "ping_a")
        assert ack == {"headers": {"req_id": "ping_a"}, "errcode": 0, "errmsg": "ok"}
        aibot.ping_acks = False
        await c.send(PING, "ping_b")
        with pytest.raises(asyncio.TimeoutError):
            await c.recv(0.3)
        aibot.ping_acks = True
        aibot.ping_errcode = 500
        assert (await c.call(PING, "ping_c"))["errcode"] == 500
    run(aibot, scenario)
    assert [(p.req_id, p.errcode) for p in aibot.pings()] == [
        ("ping_a", 0), ("ping_b", None), ("ping_c", 500)]
    assert aibot.violations == []


def test_fake_replies_need_a_callback_of_this_connection(aibot):
    async def scenario(c: Client) -> None:
        await c.subscribe()
        unknown = await c.call(RESPOND, "made-up", stream("s1", "hi"))
        assert unknown["errcode"] == E_INVALID_REQ_ID
        cb = aibot.push_message(text="q")
        got = await c.callback()
        assert got["cmd"] == MSG_CALLBACK and got == json.loads(json.dumps(cb))
        assert set(got["body"]) >= {"msgid", "aibotid", "chattype", "from", "create_time",
                                    "msgtype", "text"}
        ok = await c.call(RESPOND, cb["headers"]["req_id"], stream("s1", "hi", True))
        assert ok == {"headers": {"req_id": cb["headers"]["req_id"]}, "errcode": 0,
                      "errmsg": "ok"}
        # A welcome needs an enter_chat callback.
        bad = await c.call(RESPOND_WELCOME, cb["headers"]["req_id"],
                           {"msgtype": "text", "text": {"content": "hi"}})
        assert bad["errcode"] == E_INVALID_REQ_ID
    run(aibot, scenario)
    assert aibot.streams()["s1"].versions == ["hi"]


def test_fake_records_two_replies_in_flight_on_one_req_id(aibot):
    aibot.ack_delay = 0.3

    async def scenario(c: Client) -> None:
        await c.subscribe()
        req = aibot.push_message(text="q")["headers"]["req_id"]
        await c.callback()
        await c.send(RESPOND, req, stream("s2", "a"))
        await c.send(RESPOND, req, stream("s2", "ab"))  # without waiting for the ack
        assert (await c.answer(req))["errcode"] == 0
        assert (await c.answer(req))["errcode"] == 0
        assert (await c.call(RESPOND, req, stream("s2", "abc", True)))["errcode"] == 0
    run(aibot, scenario)
    assert [r.overlapped for r in aibot.replies()] == [False, True, False]
    assert len(aibot.violations) == 1 and "one at a time" in aibot.violations[0]
    assert aibot.streams()["s2"].versions == ["a", "ab", "abc"]


def test_fake_stream_rules(aibot):
    img = {"msgtype": "image", "image": {"base64": base64.b64encode(PNG).decode(),
                                         "md5": hashlib.md5(PNG).hexdigest()}}

    async def scenario(c: Client) -> None:
        await c.subscribe()
        req = aibot.push_message(text="q")["headers"]["req_id"]
        await c.callback()
        early = await c.call(RESPOND, req, stream("s3", "a", msg_item=[img]))
        assert early["errcode"] == E_INVALID_PARAMETER
        big = await c.call(RESPOND, req, stream("s3", "字" * 6827))  # 20481 bytes
        assert big["errcode"] == E_CONTENT_TOO_LARGE
        assert (await c.call(RESPOND, req, stream("s3", "字" * 6826)))["errcode"] == 0
        done = await c.call(RESPOND, req, stream("s3", "end", True, msg_item=[img]))
        assert done["errcode"] == 0
        after = await c.call(RESPOND, req, stream("s3", "more"))
        assert after["errcode"] == E_STREAM_EXPIRED
        # A stream must finish within the window after its callback.
        aibot.stream_window = 0.2
        req2 = aibot.push_message(text="q2")["headers"]["req_id"]
        await c.callback()
        assert (await c.call(RESPOND, req2, stream("s4", "a")))["errcode"] == 0
        await asyncio.sleep(0.3)
        late = await c.call(RESPOND, req2, stream("s4", "ab", True))
        assert late["errcode"] == E_STREAM_EXPIRED
    run(aibot, scenario)
    s3 = aibot.streams()["s3"]
    assert s3.finished and s3.versions == ["字" * 6826, "end"] and s3.msg_item == [img]
    assert not aibot.streams()["s4"].finished
    assert any("msg_item without finish" in v for v in aibot.violations)


def test_fake_welcome_window(aibot):
    aibot.welcome_window = 0.2

    async def scenario(c: Client) -> None:
        await c.subscribe()
        body = {"msgtype": "text", "text": {"content": "hello"}}
        first = aibot.push_event("enter_chat")["headers"]["req_id"]
        second = aibot.push_event("enter_chat")["headers"]["req_id"]
        got = [await c.callback(), await c.callback()]
        assert [g["body"]["event"] for g in got] == [{"eventtype": "enter_chat"}] * 2
        assert got[0]["cmd"] == EVENT_CALLBACK and got[0]["body"]["msgtype"] == "event"
        assert (await c.call(RESPOND_WELCOME, first, body))["errcode"] == 0
        await asyncio.sleep(0.3)
        assert (await c.call(RESPOND_WELCOME, second, body))["errcode"] == E_INVALID_REQ_ID
    run(aibot, scenario)


def test_fake_proactive_rate_limit_per_chat(aibot):
    aibot.send_rate_limit = 3

    async def scenario(c: Client) -> None:
        await c.subscribe()

        def md(chat: str) -> dict:
            return {"chatid": chat, "msgtype": "markdown", "markdown": {"content": "hi"}}
        codes = [(await c.call(SEND_MSG, f"aibot_send_msg_{i}", md("chatA")))["errcode"]
                 for i in range(4)]
        assert codes == [0, 0, 0, E_FREQ_LIMIT]
        assert (await c.call(SEND_MSG, "aibot_send_msg_b", md("chatB")))["errcode"] == 0
        bad = await c.call(SEND_MSG, "aibot_send_msg_c", {"chatid": "chatB", "msgtype": "text"})
        assert bad["errcode"] != 0
    run(aibot, scenario)
    assert [p.errcode for p in aibot.proactive(chatid="chatA")] == [0, 0, 0, E_FREQ_LIMIT]


def test_fake_takeover_with_raw_clients(aibot):
    async def main() -> None:
        old, new = await Client.connect(aibot), await Client.connect(aibot)
        try:
            assert (await old.subscribe())["errcode"] == 0
            assert (await new.subscribe())["errcode"] == 0
            kick = await old.callback()
            assert kick["cmd"] == EVENT_CALLBACK
            assert kick["body"]["event"] == {"eventtype": "disconnected_event"}
            assert kick["body"]["aibotid"] == BOT and kick["body"]["msgtype"] == "event"
            # The old socket stays open but hears nothing more.
            await old.send(PING, "ping_old")
            with pytest.raises(asyncio.TimeoutError):
                await old.recv(0.3)
            req = aibot.push_message(text="q")["headers"]["req_id"]
            assert (await new.callback())["headers"]["req_id"] == req
            with pytest.raises(asyncio.TimeoutError):
                await old.recv(0.2)
            assert old.ws.open
        finally:
            await old.ws.close()
            await new.ws.close()
    asyncio.run(main())
    assert len(aibot.violations) == 1 and "after disconnected_event" in aibot.violations[0]


def test_fake_drop_connections_and_media_download(aibot):
    async def scenario(c: Client) -> None:
        await c.subscribe()
        cb = aibot.push_message(images=(PNG,))
        img = (await c.callback())["body"]["image"]
        with urllib.request.urlopen(img["url"], timeout=5) as resp:
            blob = resp.read()
        key = base64.b64decode(img["aeskey"])
        dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        plain = dec.update(blob) + dec.finalize()
        assert len(blob) % 32 == 0 and plain[:-plain[-1]] == PNG
        assert cb["body"]["msgtype"] == "image"
        assert aibot.drop_connections() == 1
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await c.recv()
        assert closed.value.code == 1006  # no close frame
    run(aibot, scenario)
    assert wait_until(lambda: not aibot.subscribed(BOT), 5)
    assert aibot.push_message(text="lost") is None
    assert aibot.stats()["pushes_lost"] == 1
