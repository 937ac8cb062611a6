"""The send API end to end: the real botgate binary queues messages from POST /api/v1/messages
to the strict Feishu and Discord fakes and to the built-in sandbox bot; GET
/api/v1/messages/{id} follows each one; GET /api/v1/bots lists the bots. Idempotency keys hold
across a restart; bad input, unknown bots and oversized bodies are refused; every route needs
the API token."""

from __future__ import annotations

import base64
import json
import socket
import time

import pytest

from botgate_harness import (API_TOKEN, botgate_config, discord_bot, feishu_bot, http_request,
                             wait_until)

GUILD = "290926798626357999"
CHANNEL = "645027906669510667"
USER = "53908232506183680"
FEISHU_CHAT = "oc_a0553eda9014c201e6969b478895c230"


@pytest.fixture
def gateway(launch, fake, discord_fake):
    """botgate with a Feishu bot and a Discord bot (echo off: only the API sends), ready."""
    discord_fake.add_channel(CHANNEL, GUILD)
    bots = [feishu_bot(fake), discord_bot(discord_fake)]
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=bots, echo=False,
                                                api_token=API_TOKEN))
    assert discord_fake.wait_connected(10), bg.log_text()
    return bg


def send(bg, body: dict, expect: int = 202) -> dict:
    status, _, data = bg.api_request("POST", "/api/v1/messages", json.dumps(body).encode())
    assert status == expect, data
    return json.loads(data)


def state(bg, message_id) -> dict:
    status, data = bg.api_get(f"/api/v1/messages/{message_id}")
    assert status == 200, data
    return json.loads(data)


def wait_state(bg, message_id, wanted: str, timeout: float = 15.0) -> dict:
    seen: list[str] = []

    def reached() -> bool:
        s = state(bg, message_id)
        seen.append(s["state"])
        return s["state"] == wanted

    assert wait_until(reached, timeout), f"states seen: {seen[-5:]}\n{bg.log_text()[-4000:]}"
    return state(bg, message_id)


def test_text_markdown_mentions_and_a_reply_reach_feishu(gateway, fake):
    bg = gateway
    text_id = send(bg, {"bot": "feishu", "chat_id": FEISHU_CHAT, "text": "build 1427 passed"})["id"]
    sent = wait_state(bg, text_id, "sent")
    [d] = fake.wait_delivered(1)
    assert (d.endpoint, d.receive_id_type, d.receive_id) == ("send", "chat_id", FEISHU_CHAT)
    assert d.text == "build 1427 passed"
    assert sent == {"id": text_id, "bot": "feishu", "state": "sent", "attempts": 1,
                    "platform_message_id": d.message_id}

    md_id = send(bg, {"bot": "feishu", "chat_id": FEISHU_CHAT, "markdown": "**deploy** done",
                      "reply_to": d.message_id})["id"]
    mention_id = send(bg, {"bot": "feishu", "chat_id": FEISHU_CHAT, "segments": [
        {"type": "mention", "user_id": "ou_ann"}, {"type": "text", "text": " please review"}]})["id"]
    assert wait_state(bg, md_id, "sent")["platform_message_id"]
    assert wait_state(bg, mention_id, "sent")["platform_message_id"]
    _, md, mention = fake.wait_delivered(3)
    assert md.endpoint == "reply" and md.reply_to == d.message_id
    assert md.msg_type == "post" and "**deploy** done" in md.raw_content
    assert mention.mentioned() == ["ou_ann"]
    assert "please review" in mention.raw_content
    assert md.uuid and md.uuid != d.uuid, "each message has a uuid of its own"


def test_text_markdown_an_image_and_a_reply_reach_discord(gateway, discord_fake):
    bg, fake = gateway, discord_fake
    asked = fake.inject_message(CHANNEL, "is the build green?", author_id=USER, guild_id=GUILD)
    reply_id = send(bg, {"bot": "discord", "chat_id": CHANNEL, "chat_type": "channel",
                         "text": "yes", "reply_to": asked})["id"]
    md_id = send(bg, {"bot": "discord", "chat_id": CHANNEL, "markdown": "**all** 12 jobs"})["id"]
    image_id = send(bg, {"bot": "discord", "chat_id": CHANNEL,
                         "image_url": "https://img.example/graph.png"})["id"]
    for message_id in (reply_id, md_id, image_id):
        wait_state(bg, message_id, "sent")
    reply, md, image = fake.messages(CHANNEL)
    assert reply.content == "yes" and reply.replied_to == asked
    assert state(bg, reply_id)["platform_message_id"] == reply.id
    assert md.content == "**all** 12 jobs" and md.replied_to is None
    assert image.embeds == [{"image": {"url": "https://img.example/graph.png"}}]
    assert all(m.enforce_nonce and m.nonce for m in (reply, md, image))


def test_a_platform_refusal_fails_the_message_with_the_platforms_error(gateway, discord_fake):
    bg = gateway
    message_id = send(bg, {"bot": "discord", "chat_id": "999999999999999999", "text": "x"})["id"]
    failed = wait_state(bg, message_id, "failed")
    assert failed["attempts"] == 1
    assert "10003" in failed["error"] or "Unknown Channel" in failed["error"], failed
    assert "platform_message_id" not in failed
    assert discord_fake.messages() == []


def test_a_rate_limited_message_shows_retrying_then_sent(gateway, fake):
    bg = gateway
    fake.rate_limit(1, reset_seconds=3)
    message_id = send(bg, {"bot": "feishu", "chat_id": FEISHU_CHAT, "text": "later"})["id"]
    first = state(bg, message_id)
    assert first["state"] in ("queued", "retrying"), first
    retrying = wait_state(bg, message_id, "retrying", timeout=5)
    assert retrying["attempts"] == 1 and retrying["error"], retrying
    sent = wait_state(bg, message_id, "sent")
    assert sent["attempts"] == 2 and "error" not in sent
    [d] = fake.wait_delivered(1)
    assert sent["platform_message_id"] == d.message_id


def test_the_same_idempotency_key_sends_once_also_after_a_restart(gateway, fake, discord_fake):
    bg = gateway
    body = {"bot": "feishu", "chat_id": FEISHU_CHAT, "text": "invoice 88 paid",
            "idempotency_key": "invoice-88"}
    first = send(bg, body)["id"]
    assert send(bg, body)["id"] == first, "while the first may still be queued"
    wait_state(bg, first, "sent")
    assert send(bg, body)["id"] == first, "after it was sent"
    # Another bot has keys of its own.
    other = send(bg, {**body, "bot": "discord", "chat_id": CHANNEL})["id"]
    assert other != first
    wait_state(bg, other, "sent")

    bg.stop()
    bg.restart()
    assert send(bg, body)["id"] == first, "after a restart"
    assert send(bg, {**body, "text": "another text, same key"})["id"] == first
    fresh = send(bg, {**body, "idempotency_key": "invoice-89"})["id"]
    assert fresh > first
    wait_state(bg, fresh, "sent")
    deliveries = fake.delivered()
    assert [d.text for d in deliveries] == ["invoice 88 paid", "invoice 88 paid"]
    assert deliveries[0].uuid != deliveries[1].uuid
    assert len(discord_fake.messages()) == 1


def test_the_sandbox_bot_takes_messages_too(gateway):
    bg = gateway
    message_id = send(bg, {"bot": "sandbox", "chat_id": "tab-1", "text": "from a script"})["id"]
    sent = wait_state(bg, message_id, "sent")
    assert sent["bot"] == "sandbox" and sent["platform_message_id"].startswith("sandbox-")
    status, data = bg.api_get("/api/v1/log?bot=sandbox")
    assert status == 200
    [entry] = json.loads(data)["entries"]
    assert (entry["direction"], entry["text"], entry["chat_id"]) == ("out", "from a script",
                                                                      "tab-1")
    assert wait_until(lambda: json.loads(bg.api_get("/api/v1/log?bot=sandbox")[1])
                      ["entries"][0]["outcome"] == "sent", 5)


def test_the_bots_are_listed_with_their_state(gateway):
    status, data = gateway.api_get("/api/v1/bots")
    assert status == 200
    bots = {b["name"]: b for b in json.loads(data)["bots"]}
    assert set(bots) == {"feishu", "discord", "sandbox"}
    assert bots["feishu"]["platform"] == "feishu" and bots["feishu"]["ready"] is True
    assert bots["discord"]["platform"] == "discord"
    assert len(bots["discord"]["connections"]) == 1
    for bot in bots.values():
        assert {"last_error", "connections", "inbox_depth", "outbox_depth"} <= set(bot)


def test_bad_input_is_refused_naming_the_field(gateway, fake):
    bg = gateway
    png = base64.b64encode(b"not a picture").decode()
    cases = [
        ({"chat_id": "c", "text": "x"}, "bot: required"),
        ({"bot": "feishu", "text": "x"}, "chat_id: required"),
        ({"bot": "feishu", "chat_id": "c", "text": ""}, "text: empty"),
        ({"bot": "feishu", "chat_id": "c", "text": 5}, "text: must be a string"),
        ({"bot": "feishu", "chat_id": "c", "text": "x", "markdown": "y"}, "markdown: give one of"),
        ({"bot": "feishu", "chat_id": "c", "text": "x", "colour": "red"}, "colour: unknown field"),
        ({"bot": "feishu", "chat_id": "c", "image_base64": "@@"}, "image_base64: not valid base64"),
        ({"bot": "feishu", "chat_id": "c", "image_base64": png}, "image_base64: not a PNG"),
        ({"bot": "feishu", "chat_id": "c", "chat_type": "room", "text": "x"}, "chat_type: must be"),
        ({"bot": "feishu", "chat_id": "c", "segments": [{"type": "poll"}]},
         "segments[0].type: must be"),
        ({"bot": "feishu", "chat_id": "c", "text": "x", "idempotency_key": "k" * 129},
         "idempotency_key: must be 1-128 printable ASCII"),
    ]
    for body, detail in cases:
        answer = send(bg, body, expect=400)
        assert answer["error"] == "bad_request"
        assert answer["detail"].startswith(detail), (body, answer)
    status, _, data = bg.api_request("POST", "/api/v1/messages", b"{not json")
    assert status == 400 and json.loads(data)["detail"].startswith("body: not JSON")

    unknown = send(bg, {"bot": "nobody", "chat_id": "c", "text": "x"}, expect=404)
    assert unknown == {"error": "unknown_bot", "detail": "bot: no bot named 'nobody'"}
    assert bg.api_get("/api/v1/messages/abc")[0] == 400
    assert bg.api_get("/api/v1/messages/987654")[0] == 404
    time.sleep(0.3)
    assert fake.delivered() == []


def test_a_body_over_max_body_bytes_gets_413(gateway):
    bg = gateway
    head = (f"POST /api/v1/messages HTTP/1.1\r\nHost: 127.0.0.1:{bg.port}\r\n"
            f"Authorization: Bearer {API_TOKEN}\r\nContent-Type: application/json\r\n"
            "Content-Length: 2000000\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", bg.port), timeout=5) as s:
        s.sendall(head + b'{"bot": "feishu", "chat_id": "c", "text": "')
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


# Every route of the API with a token check, and a request that would do something with the
# right token. test_the_route_list_is_every_documented_route keeps it complete.
GUARDED_ROUTES = (
    ("POST", "/api/v1/messages", {"bot": "feishu", "chat_id": FEISHU_CHAT, "text": "x"}),
    ("GET", "/api/v1/messages/{id}", None),
    ("DELETE", "/api/v1/messages/{id}", None),
    ("PATCH", "/api/v1/messages/{id}", {"append": "x"}),
    ("GET", "/api/v1/bots", None),
    ("GET", "/api/v1/status", None),
    ("GET", "/api/v1/log", None),
    ("GET", "/api/v1/events", None),
    ("GET", "/api/v1/dead-letters", None),
    ("POST", "/api/v1/dead-letters/{id}/retry", {}),
    ("DELETE", "/api/v1/dead-letters/{id}", None),
    ("POST", "/api/v1/sandbox/messages", {"chat_id": "c1", "text": "x"}),
    ("GET", "/metrics", None),
)


def test_every_route_refuses_a_missing_or_wrong_token(gateway, fake):
    bg = gateway
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": API_TOKEN},
                    {"Authorization": "Bearer " + API_TOKEN[:-1]},
                    {"Authorization": "Basic " + API_TOKEN}):
        for method, path, body in GUARDED_ROUTES:
            h = dict(headers)
            data = None
            if body is not None:
                data = json.dumps(body).encode()
                h["Content-Type"] = "application/json"
            if path == "/api/v1/events":
                h["Accept"] = "text/event-stream"
            status, _, answer = http_request(bg.port, method, path.replace("{id}", "1"),
                                             body=data, headers=h)
            assert status == 401, (method, path, headers, answer)
            assert json.loads(answer)["error"] == "unauthorized"
    time.sleep(0.3)
    assert fake.delivered() == []
    status, data = bg.api_get("/api/v1/log")
    assert status == 200 and json.loads(data)["entries"] == [], data  # no sandbox message either


def test_the_route_list_is_every_documented_route():
    """A route documented in docs/api.md but missing from GUARDED_ROUTES would go untested."""
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    documented = {(method, re.sub(r"/\d+(?=/|$)", "/{id}", path)) for method, path in
                  re.findall(r"`(GET|POST|DELETE|PUT|PATCH) (/(?:api/v1|metrics)[^`?\s]*)", doc)}
    assert documented, "no route found in docs/api.md"
    tested = {(m, p) for m, p, _ in GUARDED_ROUTES}
    assert documented <= tested, f"documented but not checked: {sorted(documented - tested)}"
