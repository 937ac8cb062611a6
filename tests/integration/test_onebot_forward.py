"""OneBot v11 forward WebSocket ([onebot] serve = true): the real botgate binary with a Feishu
bot (against the fake Feishu Open API) and the console's sandbox bot; a framework (here a plain
`websockets` client, as Koishi's `protocol: 'ws'` or NoneBot2's forward driver would be) dials
botgate's API listener at /onebot/v11/ws/<bot> with the access token. It gets the lifecycle
event and the users' messages, calls actions with ids as strings (as Koishi sends them) and the
replies reach Feishu. Refusals: no token 401, a wrong one 403, an unknown bot 404, more than 16
connections 503. An event that arrives while no framework is connected waits in the inbox; with
a reverse and a forward connection both get each event, and each send goes out once.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import threading
import time
from typing import Any, Optional

import websockets
import websockets.exceptions

from botgate_harness import API_TOKEN, FeishuCallbacks, botgate_config, feishu_bot, wait_until
from onebot_framework import OneBotFramework

FEISHU = 10001
SANDBOX = 10002
TOKEN = "ob-" + "5" * 24
QUIET = 1.0


def config(fake, token=TOKEN, reverse_url: Optional[str] = None):
    def make(port, db):
        text = (botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)], api_token=API_TOKEN)
                + "\n[onebot]\nserve = true\n"
                + f'access_token = "{token}"\n'
                + f"self_ids = {{ feishu = {FEISHU}, sandbox = {SANDBOX} }}\n")
        if reverse_url:
            text += f'reverse_url = "{reverse_url}"\n'
        return text
    return make


class ForwardClient:
    """A framework on the forward WebSocket: records every frame botgate sends, calls actions
    with an echo and waits for their answers. Safe to use from the test's thread."""

    def __init__(self, port: int, path: str, headers: Optional[dict[str, str]] = None) -> None:
        self.url = f"ws://127.0.0.1:{port}{path}"
        self.headers = {"Authorization": f"Bearer {TOKEN}"} if headers is None else headers
        self.frames: list[dict] = []
        self.answers: dict[str, dict] = {}
        self.violations: list[str] = []
        self.closed = False
        self.local_port = 0
        self._lock = threading.Lock()
        self._echo = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._ws = None

    def connect(self) -> "ForwardClient":
        asyncio.run_coroutine_threadsafe(self._connect(), self._loop).result(10)
        return self

    async def _connect(self) -> None:
        self._ws = await websockets.connect(self.url, extra_headers=self.headers, open_timeout=5,
                                            compression=None, close_timeout=2)
        self.local_port = self._ws.local_address[1]
        self._loop.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                frame = json.loads(raw)
                with self._lock:
                    if "post_type" in frame:
                        self.frames.append(frame)
                    elif "echo" in frame and "retcode" in frame:
                        self.answers[json.dumps(frame["echo"])] = frame
                    else:
                        self.violations.append(raw)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            self.closed = True

    def close(self) -> None:
        if self._ws is not None:
            asyncio.run_coroutine_threadsafe(self._ws.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def events(self, **match: Any) -> list[dict]:
        with self._lock:
            frames = list(self.frames)
        return [f for f in frames if all(f.get(k) == v for k, v in match.items())]

    def wait_events(self, n: int, timeout: float = 15.0, **match: Any) -> list[dict]:
        wait_until(lambda: len(self.events(**match)) >= n, timeout)
        found = self.events(**match)
        assert len(found) >= n, f"{len(found)} of {n} events {match}: {self.events()}"
        return found

    def call(self, action: str, params: Optional[dict] = None, timeout: float = 10.0) -> dict:
        echo = f"e{next(self._echo)}"  # Koishi's echoes are numbers, NoneBot2's strings
        frame = {"action": action, "params": params or {}, "echo": echo}
        asyncio.run_coroutine_threadsafe(self._ws.send(json.dumps(frame)), self._loop).result(5)
        key = json.dumps(echo)
        assert wait_until(lambda: key in self.answers, timeout), f"no answer to {frame}"
        with self._lock:
            return self.answers.pop(key)


def upgrade_status(port: int, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers={
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", **headers})
    response = conn.getresponse()
    body = response.read() if response.status != 101 else b""
    conn.close()
    return response.status, (json.loads(body) if body else {})


def group_text(cb, text, chat="oc_group_1", user="ou_ann"):
    ev, status = cb.send_text(text, chat_type="group", chat_id=chat, sender_open_id=user)
    assert status == 200
    return ev


def test_a_framework_on_the_forward_websocket_gets_events_and_sends(fake, launch):
    bg = launch(config(fake))
    client = ForwardClient(bg.port, "/onebot/v11/ws/feishu").connect()
    try:
        hello = client.wait_events(1)[0]
        assert (hello["post_type"], hello["meta_event_type"], hello["sub_type"]) == \
            ("meta_event", "lifecycle", "connect")
        assert hello["self_id"] == FEISHU

        info = client.call("get_login_info")
        assert info["status"] == "ok" and info["data"]["user_id"] == FEISHU, info
        assert info["echo"] == "e1"

        cb = FeishuCallbacks(bg, fake)
        ev = group_text(cb, "ping")
        msg = client.wait_events(1, post_type="message")[0]
        assert msg["message_type"] == "group" and msg["self_id"] == FEISHU
        assert msg["raw_message"] == "ping"

        # Koishi's form: send_group_msg with the group id as a string.
        answer = client.call("send_group_msg", {"group_id": str(msg["group_id"]), "message": "pong"})
        assert answer["status"] == "ok" and answer["retcode"] == 0, answer
        sent = fake.wait_delivered(1)[0]
        assert sent.text == "pong"
        # Within the reply window the send answers the event it follows.
        assert sent.reply_to == ev["event"]["message"]["message_id"]

        cb.send_text("psst", chat_type="p2p", chat_id="oc_dm_ann", sender_open_id="ou_ann")
        dm = client.wait_events(2, post_type="message")[1]
        assert dm["message_type"] == "private" and dm["user_id"] == msg["user_id"]
        answer = client.call("send_private_msg", {"user_id": str(dm["user_id"]), "message": "hi"})
        assert answer["retcode"] == 0, answer
        private = fake.wait_delivered(2)[1]
        assert private.text == "hi"

        # Served by OneBot alone: echo (on in this config) never answers.
        time.sleep(QUIET)
        assert [d.text for d in fake.delivered()] == ["pong", "hi"]

        status, body = bg.api_get("/api/v1/bots")
        bots = {b["name"]: b for b in json.loads(body)["bots"]}
        forward = [c for c in bots["feishu"]["connections"] if c.get("kind") == "forward"]
        assert len(forward) == 1, bots["feishu"]
        assert forward[0]["state"] == "connected"
        assert forward[0]["peer"] == f"127.0.0.1:{client.local_port}"
        assert bots["sandbox"]["connections"] == [], "no framework is connected for sandbox"
        assert client.violations == []
        assert TOKEN not in bg.log_text(), "the access token was logged"
    finally:
        client.close()
    # Once closed, the connection leaves the list.
    assert wait_until(lambda: not [c for b in json.loads(bg.api_get("/api/v1/bots")[1])["bots"]
                                   for c in b["connections"]], 10)


def test_upgrades_without_the_right_token_or_bot_are_refused(fake, launch):
    bg = launch(config(fake))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert upgrade_status(bg.port, "/onebot/v11/ws/feishu", {})[0] == 401
    assert upgrade_status(bg.port, "/onebot/v11/ws/feishu",
                          {"Authorization": "Bearer " + "5" * 27})[0] == 403
    assert upgrade_status(bg.port, "/onebot/v11/ws/feishu?access_token=nope", {})[0] == 403
    # The API token is not the OneBot token.
    assert upgrade_status(bg.port, "/onebot/v11/ws/feishu",
                          {"Authorization": f"Bearer {API_TOKEN}"})[0] == 403
    status, body = upgrade_status(bg.port, "/onebot/v11/ws/nobody", bearer)
    assert status == 404 and "nobody" in body["detail"], body
    # Two bots are served (feishu and the console's sandbox): the bare path must name one.
    status, body = upgrade_status(bg.port, "/onebot/v11/ws", bearer)
    assert status == 404 and "/onebot/v11/ws/<bot>" in body["detail"], body
    # The spec's query form is taken too.
    assert upgrade_status(bg.port, f"/onebot/v11/ws/feishu?access_token={TOKEN}", {})[0] == 101
    assert TOKEN not in bg.log_text(), "the access token was logged"


def test_a_bot_takes_sixteen_connections_and_refuses_the_next(fake, launch):
    bg = launch(config(fake))
    clients = []
    try:
        for _ in range(16):
            clients.append(ForwardClient(bg.port, "/onebot/v11/ws/sandbox").connect())
        for c in clients:
            c.wait_events(1, meta_event_type="lifecycle")
        status, body = upgrade_status(bg.port, "/onebot/v11/ws/sandbox",
                                      {"Authorization": f"Bearer {TOKEN}"})
        assert status == 503, (status, body)
        # Another bot has its own allowance.
        other = ForwardClient(bg.port, "/onebot/v11/ws/feishu").connect()
        clients.append(other)
        other.wait_events(1, meta_event_type="lifecycle")
        # A closed connection makes room.
        clients.pop(0).close()
        assert wait_until(lambda: upgrade_status(bg.port, "/onebot/v11/ws/sandbox",
                                                 {"Authorization": f"Bearer {TOKEN}"})[0] == 101, 10)
    finally:
        for c in clients:
            c.close()


def test_an_event_waits_in_the_inbox_until_a_framework_connects(fake, launch):
    bg = launch(config(fake))
    cb = FeishuCallbacks(bg, fake)
    group_text(cb, "early one")
    group_text(cb, "early two")
    time.sleep(1.0)  # tried and put back: nobody is connected
    status, body = bg.api_get("/api/v1/bots")
    bot = {b["name"]: b for b in json.loads(body)["bots"]}["feishu"]
    assert bot["inbox_depth"] >= 1, bot
    client = ForwardClient(bg.port, "/onebot/v11/ws/feishu").connect()
    try:
        events = client.wait_events(2, post_type="message", timeout=20)
        assert [e["raw_message"] for e in events] == ["early one", "early two"]
        assert client.events()[0]["meta_event_type"] == "lifecycle", "lifecycle comes first"
    finally:
        client.close()


def test_a_reverse_and_a_forward_connection_both_get_events_and_each_send_goes_once(fake, launch):
    fw = OneBotFramework(token=TOKEN, self_ids={FEISHU, SANDBOX}).start()
    try:
        bg = launch(config(fake, reverse_url=fw.url))
        fw.wait_connected(FEISHU)
        client = ForwardClient(bg.port, "/onebot/v11/ws/feishu").connect()
        try:
            client.wait_events(1, meta_event_type="lifecycle")
            cb = FeishuCallbacks(bg, fake)
            group_text(cb, "to both")
            forward_msg = client.wait_events(1, post_type="message")[0]
            reverse_msg = fw.wait_events(FEISHU, 1, post_type="message")[0]
            assert forward_msg == reverse_msg

            answer = client.call("send_group_msg", {"group_id": str(forward_msg["group_id"]),
                                                    "message": "from forward"})
            assert answer["retcode"] == 0, answer
            answer = fw.call(FEISHU, "send_group_msg", {"group_id": reverse_msg["group_id"],
                                                        "message": "from reverse"})
            assert answer["retcode"] == 0, answer
            fake.wait_delivered(2)
            time.sleep(QUIET)
            assert sorted(d.text for d in fake.delivered()) == ["from forward", "from reverse"]
            assert fw.events(FEISHU, post_type="message") == [reverse_msg], "sent once"
            assert client.events(post_type="message") == [forward_msg], "sent once"

            status, body = bg.api_get("/api/v1/bots")
            kinds = sorted(c.get("kind") for c in
                           {b["name"]: b for b in json.loads(body)["bots"]}["feishu"]["connections"])
            assert kinds == ["forward", "reverse"]

            # The forward one alone carries on when the reverse framework goes away.
            fw.stop()
            group_text(cb, "forward only")
            assert client.wait_events(2, post_type="message")[1]["raw_message"] == "forward only"
            assert fw.violations == [] and client.violations == []
        finally:
            client.close()
    finally:
        fw.close()


def test_botgate_stops_promptly_and_closes_open_forward_connections(fake, launch):
    bg = launch(config(fake))
    clients = [ForwardClient(bg.port, path).connect()
               for path in ("/onebot/v11/ws/feishu", "/onebot/v11/ws/sandbox")]
    try:
        for c in clients:
            c.wait_events(1, meta_event_type="lifecycle")
        started = time.monotonic()
        bg.stop()  # exit status 0
        assert time.monotonic() - started < 5, "an open forward connection held the stop back"
        assert wait_until(lambda: all(c.closed for c in clients), 5), "connections left open"
    finally:
        for c in clients:
            c.close()
