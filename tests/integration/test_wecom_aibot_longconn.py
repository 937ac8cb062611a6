"""WeCom AI bot `mode = "longconn"` end to end: the real botgate binary against the strict fake
of the AI bot's long connection (tests/fakes/wecom_aibot_ws_fake.py, itself proven against the
official SDK in test_wecom_aibot_ws_fake.py).

What is checked (longconn-and-streaming notes 2.1, issue 21): aibot_subscribe with the bot id
and secret; a message answered exactly as a webhook AI bot answers it, as one finished stream on
the callback's req_id; a proactive send (POST /api/v1/messages) as aibot_send_msg; pings at the
configured interval, and a connection whose pings go unanswered replaced; a dropped connection
reconnected and answering after; a refused secret fatal (shown in /api/v1/bots, no retry);
another client taking the bot over (disconnected_event) stops the bot with the reason instead of
leaving a silent socket or fighting back; kill -9 between receipt and reply still gets exactly
one reply out after the restart (to the chat, as the callback's req_id died with the old
connection). Each test asserts that the fake saw no protocol violation.

Pings every second (`ping_interval = 1`) keep the file near a minute.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from botgate_harness import API_TOKEN, botgate_config, search, wait_until
from fakes.wecom_aibot_ws_fake import (E_SUBSCRIBE, MSG_CALLBACK, RESPOND, SEND_MSG,
                                       WecomAibotWsFake)
from forward_service import FORWARD_SECRET, ForwardService

BOT_ID = "aibK7r2XqP0vYtEwBn4m"
SECRET = "aibot-secret-SECRET-5e9a1f7c"
RULES = [{"match": "^ping$", "reply": "pong {user_id}"}]
QUIET = 1.0  # how long "nothing more arrives" is watched for


@pytest.fixture
def aibot():
    f = WecomAibotWsFake(bot_id=BOT_ID, secret=SECRET).start()
    yield f
    # Shown by pytest only for failing tests.
    print(f"--- fake: violations {f.violations}\nconnections {f.connections()}\n"
          f"subscribes {f.subscribes()}")
    f.stop()


def aibot_bot(fake, *, secret=SECRET, name="aibot", ping_interval=1, mode="longconn"):
    return {"name": name, "platform": "wecom", "kind": "aibot", "mode": mode,
            "bot_id": BOT_ID, "secret": secret, "longconn_url": fake.ws_url,
            "ping_interval": ping_interval}


def start_bot(launch, fake, *, wait_ready=True, forward=None, **kw):
    def make(port, db):
        text = botgate_config(port=port, db_path=db, bots=[aibot_bot(fake, **kw)], rules=RULES,
                              api_token=API_TOKEN, echo=forward is None)
        if forward is not None:
            text += (f'\n[forward]\nurl = "{forward.url}"\nsecret = "{FORWARD_SECRET}"\n'
                     "timeout_ms = 30000\n")
        return text
    return launch(make, wait_ready=wait_ready)


def connection_state(bg, name="aibot"):
    status, body = bg.api_get("/api/v1/bots")
    assert status == 200, body
    entry = {b["name"]: b for b in json.loads(body)["bots"]}[name]
    [conn] = entry["connections"]
    return conn


def wait_state(bg, state, timeout=10.0):
    assert wait_until(lambda: connection_state(bg)["state"] == state, timeout), (
        f"connection state {connection_state(bg)} after {timeout}s, wanted {state!r}")
    return connection_state(bg)


def finished_streams(fake, req_id):
    return [s for s in fake.streams().values() if s.req_id == req_id and s.finished]


def wait_stream(fake, frame, timeout=10.0):
    """The one finished stream answering `frame` (a pushed callback); nothing more after."""
    req_id = frame["headers"]["req_id"]
    assert wait_until(lambda: finished_streams(fake, req_id), timeout), (
        f"no finished stream on {req_id}; replies {fake.replies()}")
    time.sleep(QUIET)
    [stream] = finished_streams(fake, req_id)
    assert len(fake.replies(req_id=req_id)) == 1, fake.replies(req_id=req_id)
    return stream


def test_subscribes_answers_a_message_as_a_finished_stream_and_sends_proactively(
        launch, aibot):
    bg = start_bot(launch, aibot)
    assert aibot.wait_subscribed(BOT_ID, 10), bg.log_text()
    [sub] = aibot.subscribes()
    assert sub["body"] == {"bot_id": BOT_ID, "secret": SECRET} and sub["errcode"] == 0
    wait_state(bg, "connected")

    # Read as the webhook reads it; the echo answers on the callback's req_id.
    frame = aibot.push_message(text="world")
    stream = wait_stream(aibot, frame)
    assert stream.versions == ["Hello, world"], stream.versions
    [reply] = aibot.replies(req_id=frame["headers"]["req_id"])
    assert reply.cmd == RESPOND and reply.errcode == 0
    assert reply.body["msgtype"] == "stream" and reply.body["stream"]["finish"] is True

    # A group message that @s the bot: the mention is stripped, the rule answers.
    ping = aibot.push_message(text="@RobotA ping", chat_type="group", chat_id="wrkGroup1",
                              user_id="lisi")
    assert wait_stream(aibot, ping).versions == ["pong lisi"]

    # A proactive send through the API goes out as aibot_send_msg to the chat.
    status, _, data = bg.api_request("POST", "/api/v1/messages", json.dumps(
        {"bot": "aibot", "chat_id": "wrkGroup1", "chat_type": "group",
         "markdown": "**hi** there"}).encode())
    assert status == 202, data
    assert wait_until(lambda: aibot.proactive(chatid="wrkGroup1"), 10), bg.log_text()
    [sent] = aibot.proactive(chatid="wrkGroup1")
    assert sent.msgtype == "markdown" and sent.errcode == 0
    assert sent.body["markdown"]["content"] == "**hi** there"
    message_id = json.loads(data)["id"]
    assert wait_until(lambda: json.loads(bg.api_get(f"/api/v1/messages/{message_id}")[1])
                      ["state"] == "sent", 10)

    # Pings every second (ping_interval = 1), each acked.
    assert wait_until(lambda: len(aibot.pings(BOT_ID)) >= 3, 6)
    pings = aibot.pings(BOT_ID)
    gaps = [b.t - a.t for a, b in zip(pings, pings[1:])]
    assert all(0.7 < g < 1.6 for g in gaps), gaps
    assert all(p.req_id.startswith("ping_") and p.errcode == 0 for p in pings)
    assert len(aibot.connections()) == 1
    assert aibot.violations == []
    assert search({"secret": SECRET.encode()}, [("log", bg.log_path.read_bytes())]) == []


def test_a_dropped_connection_is_reconnected_and_answers_after(launch, aibot):
    bg = start_bot(launch, aibot)
    assert aibot.wait_subscribed(BOT_ID, 10)
    assert aibot.drop_connections() == 1
    assert wait_until(lambda: len(aibot.subscribes()) == 2 and aibot.subscribed(BOT_ID), 10), (
        aibot.connections())
    wait_state(bg, "connected")
    frame = aibot.push_message(text="again")
    assert wait_stream(aibot, frame).versions == ["Hello, again"]
    assert connection_state(bg)["reconnects"] >= 1
    assert aibot.violations == []


def test_unanswered_pings_replace_the_connection(launch, aibot):
    bg = start_bot(launch, aibot)
    assert aibot.wait_subscribed(BOT_ID, 10)
    aibot.ping_acks = False
    # Two pings go unanswered; when the third is due the connection is replaced.
    assert wait_until(lambda: len(aibot.subscribes()) == 2, 8), aibot.connections()
    first = [p for p in aibot.pings() if p.conn == 1]
    assert len(first) == 2 and all(p.errcode is None for p in first), first
    assert wait_until(lambda: not aibot.connections()[0]["open"], 5)
    aibot.ping_acks = True
    wait_state(bg, "connected")
    frame = aibot.push_message(text="alive")
    assert wait_stream(aibot, frame).versions == ["Hello, alive"]
    assert aibot.violations == []


def test_a_refused_secret_is_fatal_without_retries(launch, aibot):
    bg = start_bot(launch, aibot, secret="not-the-secret", wait_ready=False)
    state = wait_state(bg, "fatal")
    assert "853000" in state["detail"] and "secret" in state["detail"], state
    time.sleep(3)  # the backoff would have tried again by now
    assert [s["errcode"] for s in aibot.subscribes()] == [E_SUBSCRIBE]
    assert len(aibot.connections()) == 1
    assert bg.running()
    assert search({"secret": b"not-the-secret"}, [("log", bg.log_path.read_bytes())]) == []


def test_another_client_taking_the_bot_over_stops_it_with_the_reason(launch, aibot):
    import asyncio

    import websockets

    bg = start_bot(launch, aibot)
    assert aibot.wait_subscribed(BOT_ID, 10)

    async def take_over() -> None:
        async with websockets.connect(aibot.ws_url, ping_interval=None) as ws:
            await ws.send(json.dumps({"cmd": "aibot_subscribe", "headers": {"req_id": "other_1"},
                                      "body": {"bot_id": BOT_ID, "secret": SECRET}}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert answer["errcode"] == 0, answer
            state = await asyncio.to_thread(wait_state, bg, "fatal")
            assert "disconnected_event" in state["detail"], state
            assert "another client" in state["detail"], state
            await asyncio.sleep(2)  # no reconnect: the other client keeps the bot

    asyncio.run(take_over())
    conns = aibot.connections()
    assert [c["kicked"] for c in conns] == [True, False], conns
    # botgate closed the kicked socket itself and never subscribed again.
    assert not conns[0]["open"], conns
    assert len(aibot.subscribes()) == 2
    assert aibot.violations == []


def test_kill9_between_receipt_and_reply_still_replies_once(launch, aibot):
    hold = threading.Event()

    def answer(event, n):
        if n == 1:
            hold.wait(30)  # the first handler run waits here until botgate was killed
        return 200, {"reply": "fwd " + event["message"]["text"]}, 0

    service = ForwardService(answer)
    try:
        bg = start_bot(launch, aibot, forward=service)
        assert aibot.wait_subscribed(BOT_ID, 10)
        frame = aibot.push_message(text="survive", chat_type="group", chat_id="wrkGroup2")
        assert wait_until(lambda: len(service.posts) == 1, 10), bg.log_text()
        bg.kill9()
        hold.set()
        bg.restart()
        # The event was durable: handled again after the restart. Its req_id died with the old
        # connection, so the reply goes to the chat unprompted, once.
        assert wait_until(lambda: aibot.proactive(chatid="wrkGroup2"), 15), bg.log_text()
        time.sleep(QUIET)
        [sent] = aibot.proactive(chatid="wrkGroup2")
        assert sent.body["markdown"]["content"] == "fwd survive" and sent.errcode == 0
        assert aibot.replies(req_id=frame["headers"]["req_id"]) == []
        assert sent.conn == 2
        assert aibot.violations == []
    finally:
        service.close()


@pytest.mark.parametrize("missing", ["bot_id", "secret"])
def test_a_long_connection_without_its_bot_id_or_secret_is_a_config_error(tmp_path, missing):
    import subprocess

    from botgate_harness import binary_path

    bot = {"name": "aibot", "platform": "wecom", "kind": "aibot", "mode": "longconn",
           "bot_id": BOT_ID, "secret": SECRET}
    del bot[missing]
    cfg = tmp_path / "botgate.toml"
    cfg.write_text(botgate_config(port=1, db_path=tmp_path / "botgate.db", bots=[bot]))
    res = subprocess.run([str(binary_path()), "check", "--config", str(cfg)],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert missing in res.stderr, res.stderr
    assert SECRET not in res.stdout + res.stderr
