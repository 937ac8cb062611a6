"""Streamed replies end to end: the real botgate binary opens a message with
POST /api/v1/messages {"stream": true}, grows it with PATCH /api/v1/messages/{id} and finishes
it; each platform's strict fake checks how it was rendered. The console's sandbox shows the text
growing (through /api/v1/log, which the page reads); a producer that stops halfway has its stream
cut short after `[api] stream_stall_s`, a forward service's answer that breaks off at once; a
forward service streams text or server-sent events; a slash command's deferred response grows on
Discord; a restart in the middle finishes a stream from the outbox; a stream that ended refuses
more text."""

from __future__ import annotations

import json
import time

import pytest

from botgate_harness import (API_TOKEN, DiscordInteractions, botgate_config, discord_bot,
                             discord_interaction, feishu_bot, wait_until, wecom_bot)
from fakes.wecom_aibot_ws_fake import WecomAibotWsFake
from forward_service import ForwardService


def api(bg, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    status, _, data = bg.api_request(method, path,
                                     json.dumps(body).encode() if body is not None else None)
    return status, json.loads(data) if data else {}


def open_stream(bg, body: dict) -> int:
    status, answer = api(bg, "POST", "/api/v1/messages", {**body, "stream": True})
    assert status == 202, answer
    assert answer["stream"] == "open"
    return answer["id"]


def grow(bg, message_id: int, expect: int = 200, **change) -> dict:
    status, answer = api(bg, "PATCH", f"/api/v1/messages/{message_id}", change)
    assert status == expect, answer
    return answer


def message(bg, message_id: int) -> dict:
    status, answer = api(bg, "GET", f"/api/v1/messages/{message_id}")
    assert status == 200, answer
    return answer


def wait_message(bg, message_id: int, state: str, timeout: float = 15.0) -> dict:
    seen: list[dict] = []

    def reached() -> bool:
        seen.append(message(bg, message_id))
        return seen[-1]["state"] == state

    assert wait_until(reached, timeout), f"{seen[-3:]}\n{bg.log_text()[-3000:]}"
    return seen[-1]


def log_entries(bg, bot: str, chat: str) -> list[dict]:
    status, body = bg.api_get(f"/api/v1/log?bot={bot}&chat={chat}")
    assert status == 200, body
    return [e for e in json.loads(body)["entries"] if e["direction"] == "out"]


@pytest.fixture
def sandbox(launch, fake):
    """botgate with only the built-in sandbox bot in use (a Feishu bot configured, echo off)."""
    return launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)],
                                                  echo=False, api_token=API_TOKEN))


def test_the_sandbox_shows_a_stream_growing_then_finished(sandbox):
    bg = sandbox
    chat = "tab-stream-1"
    sid = open_stream(bg, {"bot": "sandbox", "chat_id": chat, "text": "Thinking"})
    [entry] = log_entries(bg, "sandbox", chat)
    assert (entry["text"], entry["outcome"]) == ("Thinking", "streaming")
    assert message(bg, sid)["stream"] == "open"

    seqs = []
    text = "Thinking"
    for piece in (" about", " your", " question"):
        answer = grow(bg, sid, append=piece)
        text += piece
        assert answer == {"id": sid, "stream": "open", "length": len(text.encode())}
        [entry] = log_entries(bg, "sandbox", chat)
        assert (entry["text"], entry["outcome"]) == (text, "streaming")
        seqs.append(entry["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == 3, "each change is a new log entry version"

    # A replacement, then the end: the final text is what was sent.
    assert grow(bg, sid, text="The answer is 42.", finish=True)["stream"] == "finished"
    done = wait_message(bg, sid, "sent")
    assert done["stream"] == "finished"
    [entry] = log_entries(bg, "sandbox", chat)
    assert (entry["text"], entry["outcome"]) == ("The answer is 42.", "sent")

    # An ended stream takes nothing more; a message that is not a stream neither.
    refused = grow(bg, sid, expect=409, append="!")
    assert refused["error"] == "stream_ended" and "finished" in refused["detail"]
    status, plain = api(bg, "POST", "/api/v1/messages",
                        {"bot": "sandbox", "chat_id": chat, "text": "plain"})
    assert status == 202
    assert grow(bg, plain["id"], expect=409, append="x")["error"] == "stream_ended"
    assert grow(bg, 999999, expect=404, append="x")["error"] == "not_found"


def test_bad_stream_requests_are_refused_with_the_field(sandbox):
    bg = sandbox
    status, answer = api(bg, "POST", "/api/v1/messages",
                         {"bot": "sandbox", "chat_id": "c", "stream": True,
                          "image_url": "https://example.com/a.png"})
    assert status == 400 and answer["detail"].startswith("image_url:"), answer
    status, answer = api(bg, "POST", "/api/v1/messages",
                         {"bot": "sandbox", "chat_id": "c", "stream": "yes", "text": "a"})
    assert status == 400 and answer["detail"].startswith("stream:"), answer
    sid = open_stream(bg, {"bot": "sandbox", "chat_id": "c"})  # may open empty
    for body, field in (({}, "append"), ({"append": 1}, "append"), ({"finish": "yes"}, "finish"),
                        ({"append": "a", "text": "b"}, "text"), ({"extra": 1}, "extra")):
        status, answer = api(bg, "PATCH", f"/api/v1/messages/{sid}", body)
        assert status == 400 and answer["detail"].startswith(field + ":"), (body, answer)
    status, answer = api(bg, "PATCH", "/api/v1/messages/abc", {"append": "a"})
    assert status == 400
    # Every route needs the token.
    bg.api_token = "wrong"
    status, _ = api(bg, "PATCH", f"/api/v1/messages/{sid}", {"append": "a"})
    assert status == 401
    bg.api_token = API_TOKEN
    # The growing text has a ceiling: 256 KiB.
    piece = "x" * 65536
    for _ in range(4):
        grow(bg, sid, append=piece)
    assert grow(bg, sid, expect=413, append="y")["error"] == "stream_too_long"
    assert grow(bg, sid, finish=True)["length"] == 4 * 65536


@pytest.fixture
def wecom_group(launch, wecom_fake):
    key = wecom_fake.add_webhook_key()
    bot = wecom_bot(wecom_fake, token=None, encoding_aes_key=None,
                    webhook_url=wecom_fake.webhook_url(key))

    def start(stall: int = 60):
        return launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot],
                                                      echo=False, api_token=API_TOKEN,
                                                      api={"stream_stall_s": stall}))
    return start, key


def test_a_platform_without_edits_gets_the_final_text_once(wecom_group, wecom_fake):
    start, key = wecom_group
    bg = start()
    sid = open_stream(bg, {"bot": "wecom", "chat_id": "any", "markdown": "**Build**"})
    for piece in (" 1427", " passed", " in 3 min"):
        grow(bg, sid, append=piece)
        time.sleep(0.2)
    assert wecom_fake.delivered(key=key) == [], "nothing is sent while the stream grows"
    grow(bg, sid, finish=True)
    assert wait_message(bg, sid, "sent")["stream"] == "finished"
    [d] = wecom_fake.delivered(key=key)
    assert (d.msgtype, d.content) == ("markdown", "**Build** 1427 passed in 3 min")


def test_a_producer_that_stops_halfway_is_cut_short(wecom_group, wecom_fake):
    start, key = wecom_group
    bg = start(stall=2)
    sid = open_stream(bg, {"bot": "wecom", "chat_id": "any", "text": "Step 1 done."})
    grow(bg, sid, append=" Step 2")
    opened = time.monotonic()
    done = wait_message(bg, sid, "sent", timeout=10)
    assert time.monotonic() - opened >= 1.5, "cut only after the stall limit"
    assert done["stream"] == "cut_short"
    [d] = wecom_fake.delivered(key=key)
    assert d.content == "Step 1 done. Step 2"
    assert "cut short" in bg.log_text()
    assert grow(bg, sid, expect=409, append=" Step 3")["error"] == "stream_ended"
    [entry] = log_entries(bg, "wecom", "any")
    assert entry["outcome"] == "sent" and "cut short" in entry["error"]


def test_a_restart_in_the_middle_finishes_the_stream_from_the_outbox(wecom_group, wecom_fake):
    start, key = wecom_group
    bg = start()
    sid = open_stream(bg, {"bot": "wecom", "chat_id": "any", "text": "Part one."})
    grow(bg, sid, append=" Part two.")
    time.sleep(1.2)  # past the store interval: the next change is written at once
    grow(bg, sid, append=" Part three.")
    bg.kill9()
    assert wecom_fake.delivered(key=key) == []
    bg.restart()
    done = wait_message(bg, sid, "sent")
    assert done["stream"] == "cut_short"
    [d] = wecom_fake.delivered(key=key)
    assert d.content == "Part one. Part two. Part three."
    refused = grow(bg, sid, expect=409, append=" more")
    assert "cut short" in refused["detail"]
    time.sleep(1)
    assert len(wecom_fake.delivered(key=key)) == 1, "sent once"


# ---------------------------------------------------------------------------------- Discord

GUILD = "290926798626357999"
CHANNEL = "645027906669510667"


@pytest.fixture
def discord(launch, discord_fake):
    discord_fake.add_channel(CHANNEL, GUILD)
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db,
                                                bots=[discord_bot(discord_fake)], echo=False,
                                                api_token=API_TOKEN))
    assert discord_fake.wait_connected(10), bg.log_text()
    return bg


def bot_messages(fake) -> list:
    return [m for m in fake.messages(CHANNEL) if not m.deleted]


def test_discord_sends_then_edits_at_most_once_a_second(discord, discord_fake):
    bg = discord
    sid = open_stream(bg, {"bot": "discord", "chat_id": CHANNEL, "text": "Let me think"})
    text = "Let me think"
    for i in range(12):
        piece = f" step {i}."
        grow(bg, sid, append=piece)
        text += piece
        time.sleep(0.25)
    grow(bg, sid, finish=True)
    done = wait_message(bg, sid, "sent")
    [posted] = bot_messages(discord_fake)
    assert done["platform_message_id"] == posted.id
    edits = discord_fake.edits_of(posted.id)
    assert edits, "the message grew by edits"
    assert edits[-1].content == text and posted.content == text
    # The text only grows, edit after edit, and the edits keep a second apart (the last one,
    # at the end, may come sooner).
    contents = [posted.body["content"]] + [e.content for e in edits]
    assert all(a != b and b.startswith(a) for a, b in zip(contents, contents[1:])), contents
    gaps = [b.t - a.t for a, b in zip(edits, edits[1:-1])]
    assert all(g >= 0.9 for g in gaps), gaps
    assert len(edits) <= 5, f"{len(edits)} edits for a 3 s stream"


def test_discord_goes_on_in_a_new_message_past_2000_characters(discord, discord_fake):
    bg = discord
    sid = open_stream(bg, {"bot": "discord", "chat_id": CHANNEL})
    words = [f"word{i:04d}" for i in range(400)]  # 3,600 characters with the spaces
    for i in range(0, 400, 100):
        grow(bg, sid, append=" ".join(words[i:i + 100]) + " ")
        time.sleep(0.3)
    grow(bg, sid, finish=True)
    wait_message(bg, sid, "sent")
    posted = bot_messages(discord_fake)
    assert len(posted) == 2, [len(m.content) for m in posted]
    assert all(len(m.content) <= 2000 for m in posted)
    assert " ".join(m.content for m in posted).split() == words


def test_discord_a_kill_mid_stream_edits_the_same_message_after_the_restart(discord,
                                                                             discord_fake):
    bg = discord
    sid = open_stream(bg, {"bot": "discord", "chat_id": CHANNEL, "text": "Draft:"})
    assert wait_until(lambda: len(bot_messages(discord_fake)) == 1, 10), bg.log_text()
    grow(bg, sid, append=" one")
    time.sleep(1.2)
    grow(bg, sid, append=" two")
    time.sleep(0.3)
    bg.kill9()
    bg.restart()
    assert discord_fake.wait_connected(10)
    done = wait_message(bg, sid, "sent")
    assert done["stream"] == "cut_short"
    [posted] = bot_messages(discord_fake)
    assert posted.content == "Draft: one two"


def test_discord_a_rate_limited_edit_is_tried_again_on_the_same_message(discord, discord_fake):
    bg = discord
    sid = open_stream(bg, {"bot": "discord", "chat_id": CHANNEL, "text": "Counting:"})
    assert wait_until(lambda: len(bot_messages(discord_fake)) == 1, 10), bg.log_text()
    discord_fake.force_429(count=1, retry_after=1.5, route="edit")
    grow(bg, sid, append=" 1 2 3", finish=True)
    done = wait_message(bg, sid, "sent", timeout=20)
    [posted] = bot_messages(discord_fake)
    assert posted.content == "Counting: 1 2 3"
    assert done["platform_message_id"] == posted.id


def test_discord_an_interactions_stream_edits_its_original_response(launch, discord_fake):
    """A slash command answered by a streamed forward answer: the deferred response
    ("thinking...") is edited as the answer grows, once Discord has it, at most once a second,
    with the interaction token only."""
    words = [f" w{i}" for i in range(10)]
    service = StreamingService([b"Thinking:"] + [w.encode() for w in words], delay=0.4)
    try:
        bg = launch(lambda port, db: botgate_config(port=port, db_path=db,
                                                    bots=[discord_bot(discord_fake)], echo=False,
                                                    api_token=API_TOKEN) + service.config())
        ix = DiscordInteractions(bg, discord_fake)
        payload = discord_interaction(application_id=discord_fake.application_id, name="ask")
        # Until Discord has botgate's first answer, the interaction's webhooks are unknown.
        discord_fake.register_interaction_token(payload["token"], payload["id"],
                                                channel_id=payload["channel_id"],
                                                acknowledged=False)
        status, _, body = ix.post_payload(payload)
        assert status == 200 and json.loads(body) == {"type": 5}, body
        discord_fake.acknowledge_interaction(payload["token"])
        text = "Thinking:" + "".join(words)
        assert wait_until(lambda: discord_fake.edits() and
                          discord_fake.edits()[-1].content == text, 15), \
            ([e.content for e in discord_fake.edits()], bg.log_text()[-3000:])
        edits = discord_fake.edits()
        contents = [e.content for e in edits]
        assert len(edits) >= 2, f"it grew: {contents}"
        assert all(a != b and b.startswith(a) for a, b in zip(contents, contents[1:])), contents
        gaps = [b.t - a.t for a, b in zip(edits, edits[1:-1])]
        assert all(g >= 0.9 for g in gaps), gaps
        assert not any(e.had_authorization for e in edits), "the interaction token, no bot token"
        assert discord_fake.followups() == [] and discord_fake.messages() == []
        assert payload["token"] not in bg.log_text()
        time.sleep(1.2)
        assert len(discord_fake.edits()) == len(edits), "nothing after the end"
    finally:
        service.close()


# --------------------------------------------------------------------- WeCom AI bot (longconn)

AIBOT_ID = "aibK7r2XqP0vYtEwBn4m"
AIBOT_SECRET = "aibot-secret-SECRET-5e9a1f7c"


def test_wecom_aibot_streams_on_the_callbacks_req_id(launch):
    """A forward service takes the message (202) and answers it through the API as a stream:
    the AI bot's long connection carries it as `stream` frames on the callback's req_id, the
    whole text each time, finished at the end."""
    aibot = WecomAibotWsFake(bot_id=AIBOT_ID, secret=AIBOT_SECRET).start()
    service = ForwardService(lambda event, n: (202, None, 0))
    try:
        bot = {"name": "aibot", "platform": "wecom", "kind": "aibot", "mode": "longconn",
               "bot_id": AIBOT_ID, "secret": AIBOT_SECRET, "longconn_url": aibot.ws_url}
        bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot],
                                                    echo=False, api_token=API_TOKEN)
                    + service.config())
        assert aibot.wait_subscribed(AIBOT_ID, 10), bg.log_text()
        frame = aibot.push_message(text="explain streams", chat_type="single")
        req_id = frame["headers"]["req_id"]
        assert wait_until(lambda: len(service.posts) == 1, 10), bg.log_text()
        event_id = service.posts[0].event["id"]

        sid = open_stream(bg, {"bot": "aibot", "reply_to_event": event_id, "markdown": "A stream"})
        text = "A stream"
        for piece in (" is a reply", " that grows", " while", " you watch."):
            grow(bg, sid, append=piece)
            text += piece
            time.sleep(0.3)
        grow(bg, sid, finish=True)
        wait_message(bg, sid, "sent")

        [stream] = aibot.streams().values()
        assert stream.req_id == req_id and stream.finished
        assert stream.versions[-1] == text
        assert len(stream.versions) >= 3, stream.versions  # it grew visibly
        assert all(b.startswith(a) for a, b in zip(stream.versions, stream.versions[1:]))
        assert aibot.proactive() == []
        assert aibot.violations == []
    finally:
        service.close()
        aibot.stop()


# ------------------------------------------------------------ a forward service's streamed answer

class StreamingService:
    """A forward service that answers with a text/plain body written piece by piece (chunked),
    as a service relaying an LLM's tokens does. `pieces` are bytes (a piece may end inside a
    UTF-8 character); `stop_after` cuts the connection after that many pieces."""

    def __init__(self, pieces: list[bytes], delay: float = 0.25, stop_after: int | None = None,
                 content_type: str = "text/plain; charset=utf-8") -> None:
        import http.server
        import threading
        outer = self
        self.posts = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.posts += 1
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i, piece in enumerate(pieces):
                    if stop_after is not None and i == stop_after:
                        self.close_connection = True
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.flush()
                    time.sleep(delay)
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def config(self) -> str:
        return f'\n[forward]\nurl = "{self.url}"\nsecret = "forward-secret-0123456789"\n'

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def sandbox_say(bg, chat: str, text: str) -> None:
    status, _, body = bg.api_request("POST", "/api/v1/sandbox/messages",
                                     json.dumps({"chat_id": chat, "text": text}).encode())
    assert status == 202, body


def test_a_forward_services_streamed_answer_grows_in_the_chat(launch, fake):
    pieces = ["Grüße".encode()[:3], "Grüße".encode()[3:] + b" from", b" the", b" service."]
    service = StreamingService(pieces)
    try:
        bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[], echo=False,
                                                    api_token=API_TOKEN) + service.config())
        sandbox_say(bg, "fwd-chat", "hello")
        seen: list[str] = []

        def finished() -> bool:
            outs = log_entries(bg, "sandbox", "fwd-chat")
            if outs and (not seen or seen[-1] != outs[0]["text"]):
                seen.append(outs[0]["text"])
            return bool(outs) and outs[0]["outcome"] == "sent"

        assert wait_until(finished, 15), (seen, bg.log_text()[-3000:])
        assert seen[-1] == "Grüße from the service."
        assert len(seen) >= 3, f"it grew: {seen}"
        assert all(b.startswith(a) for a, b in zip(seen, seen[1:])), seen
        assert "\ufffd" not in "".join(seen), "a character split between pieces is never shown cut"
        assert service.posts == 1
    finally:
        service.close()


DM_CHANNEL = "700000000000000001"
USER = "53908232506183680"


def test_a_streamed_answer_that_breaks_off_is_cut_short_at_once(launch, discord_fake):
    """The service's connection drops halfway: the reply ends at once with what came, marked cut
    short, instead of waiting for [api] stream_stall_s; the event is not posted again."""
    service = StreamingService([b"First part.", b" Second part.", b" Never sent."], delay=0.3,
                               stop_after=2)
    try:
        bg = launch(lambda port, db: botgate_config(port=port, db_path=db,
                                                    bots=[discord_bot(discord_fake)], echo=False,
                                                    api_token=API_TOKEN,
                                                    api={"stream_stall_s": 30})
                    + service.config())
        assert discord_fake.wait_connected(10), bg.log_text()
        asked = time.monotonic()
        discord_fake.inject_message(DM_CHANNEL, "tell me", author_id=USER)

        def ended() -> bool:
            return any(e["outcome"] == "sent" for e in log_entries(bg, "discord", DM_CHANNEL))

        assert wait_until(ended, 15), bg.log_text()[-3000:]
        took = time.monotonic() - asked
        assert took < 6, f"ended {took:.1f} s after the question: it waited for the stall limit"
        [posted] = [m for m in discord_fake.messages(DM_CHANNEL) if not m.deleted]
        assert posted.content == "First part. Second part."
        [entry] = log_entries(bg, "discord", DM_CHANNEL)
        assert entry["text"] == "First part. Second part."
        assert "cut short: the forward service's answer broke off" in entry["error"], entry
        assert "broke off" in bg.log_text()
        time.sleep(1)
        assert service.posts == 1, "the event was answered (in part): not posted again"
        assert [m.content for m in discord_fake.messages(DM_CHANNEL)] == [posted.content]
    finally:
        service.close()


def test_a_services_event_stream_grows_in_the_chat(launch, fake):
    """text/event-stream, as LLM servers send it: OpenAI chat-completion chunks and plain data
    appended, `event: replace` replacing, other events and comments ignored, [DONE] the end."""
    pieces = [
        b": keep-alive\n\n",
        b'data: {"choices":[{"delta":{"role":"assistant"}}]}\n\n',
        b'data: {"choices":[{"delta":{"content":"Draft"}}]}\n\n',
        b"event: replace\ndata: Hello\n\n",
        b'data: {"choices":[{"delta":{"content":", Gr\xc3',  # a character split over pieces
        b'\xbc\xc3\x9fe"}}]}\r\n\r\n',
        b"data:  from\n", b"data: two lines\n\n",
        b"event: ping\ndata: ignored\n\n",
        b'data: {"text": "!"}\n\n',
        b"data: [DONE]\n\n",
        b"data: after the end\n\n",
    ]
    service = StreamingService(pieces, delay=0.2, content_type="text/event-stream")
    try:
        bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[], echo=False,
                                                    api_token=API_TOKEN) + service.config())
        sandbox_say(bg, "sse-chat", "hello")
        seen: list[str] = []

        def finished() -> bool:
            outs = log_entries(bg, "sandbox", "sse-chat")
            if outs and (not seen or seen[-1] != outs[0]["text"]):
                seen.append(outs[0]["text"])
            return bool(outs) and outs[0]["outcome"] == "sent"

        assert wait_until(finished, 15), (seen, bg.log_text()[-3000:])
        assert seen[-1] == "Hello, Grüße from\ntwo lines!", seen
        assert len(seen) >= 3, f"it grew: {seen}"
        assert "\ufffd" not in "".join(seen)
        assert not any("after the end" in t or "ignored" in t for t in seen), seen
        [entry] = log_entries(bg, "sandbox", "sse-chat")
        assert entry["error"] == "", "finished by [DONE], not cut short"
        assert service.posts == 1
    finally:
        service.close()


# ---------------------------------------------------------------------- Feishu and Lark: CardKit

@pytest.fixture
def feishu_streams(launch, fake):
    """start(platform, stall) -> botgate with one Feishu or Lark bot (named like its platform)
    talking to the fake, echo off."""
    def start(platform: str = "feishu", stall: int = 60):
        bot = feishu_bot(fake, name=platform, platform=platform)
        return launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot],
                                                      echo=False, api_token=API_TOKEN,
                                                      api={"stream_stall_s": stall}))
    return start


def assert_card_paced(card) -> None:
    """Sequences strictly increase and no second holds more than 10 operations on the card."""
    seqs = card.sequences()
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs
    times = [op.t for op in card.operations]
    for i, t in enumerate(times):
        assert len([u for u in times[i:] if u - t < 1.0]) <= 10, times


def assert_card_finished(card, text: str) -> None:
    assert card.text("reply") == text
    assert not card.streaming_mode, "streaming mode switched off at the end"
    last = card.operations[-1]
    assert getattr(last, "streaming_mode", None) is False, last
    assert_card_paced(card)


@pytest.mark.parametrize("platform", ["feishu", "lark"])
def test_feishu_and_lark_stream_into_one_card(feishu_streams, fake, platform):
    bg = feishu_streams(platform)
    fake.register_message("om_question", "oc_chat")
    sid = open_stream(bg, {"bot": platform, "chat_id": "oc_chat", "reply_to": "om_question"})
    time.sleep(0.5)
    assert fake.cards() == [] and fake.delivered() == [], "an empty stream makes nothing"

    text = ""
    for i in range(60):  # far faster than 10 updates a second: they are merged
        piece = f"word{i} "
        grow(bg, sid, append=piece)
        text += piece
        if i == 0:
            [card] = fake.wait_for_cards(1)
            assert card.card["config"]["streaming_mode"] is True
            assert card.card["config"]["update_multi"] is True
        time.sleep(0.01)
    grow(bg, sid, finish=True)
    assert wait_message(bg, sid, "sent")["stream"] == "finished"

    [card] = fake.cards()
    card = fake.wait_for_card(card.card_id, lambda c: not c.streaming_mode)
    assert_card_finished(card, text)
    versions = [u.content for u in card.versions("reply")]
    assert 2 <= len(versions) < 60, "the text grew in steps, fewer than the changes"
    assert all(text.startswith(v) for v in versions), versions
    [d] = fake.delivered()
    assert (d.msg_type, d.card_id, d.reply_to) == ("interactive", card.card_id, "om_question")
    assert d.uuid, "sent with the message's idempotency key"
    assert card.sent and card.message_id == d.message_id


def test_feishu_a_rate_limited_update_is_waited_out(feishu_streams, fake):
    bg = feishu_streams()
    sid = open_stream(bg, {"bot": "feishu", "chat_id": "oc_chat", "markdown": "**Plan**"})
    [card] = fake.wait_for_cards(1)
    fake.force_card_fault(1, 429, route="content")
    for piece in ("\n1. read", "\n2. think", "\n3. answer"):
        grow(bg, sid, append=piece)
        time.sleep(0.05)
    grow(bg, sid, finish=True)
    wait_message(bg, sid, "sent")
    card = fake.wait_for_card(card.card_id, lambda c: not c.streaming_mode)
    assert_card_finished(card, "**Plan**\n1. read\n2. think\n3. answer")
    refused = [r for r in fake.requests("card_content") if r.status == 429]
    assert len(refused) == 1, "the forced rate limit was met"
    after = [u for u in card.versions("reply") if u.t > refused[0].t]
    assert after and after[0].t - refused[0].t >= 0.9, "waited the second Feishu asked for"
    assert len(fake.cards()) == 1 and len(fake.delivered()) == 1


def test_feishu_a_card_that_cannot_be_created_gives_one_plain_message(feishu_streams, fake):
    bg = feishu_streams()
    fake.fail_card_create(1)
    sid = open_stream(bg, {"bot": "feishu", "chat_id": "oc_chat", "text": "No card"})
    grow(bg, sid, append=" for this one.", finish=True)
    assert wait_message(bg, sid, "sent")["stream"] == "finished"
    [d] = fake.delivered()
    assert (d.msg_type, d.text) == ("text", "No card for this one.")
    assert fake.cards() == []
    assert "no streaming card" in bg.log_text()


def test_feishu_a_plain_message_tried_again_stays_plain(feishu_streams, fake):
    bg = feishu_streams()
    fake.fail_card_create(1)
    fake.rate_limit(1)  # the plain message is tried again later: no card then either
    sid = open_stream(bg, {"bot": "feishu", "chat_id": "oc_chat", "text": "Plain"})
    grow(bg, sid, append=" twice tried.", finish=True)
    assert wait_message(bg, sid, "sent", timeout=15)["stream"] == "finished"
    [d] = fake.delivered()
    assert (d.msg_type, d.text) == ("text", "Plain twice tried.")
    assert fake.cards() == [] and fake.count("card_create") == 1
    assert len(fake.send_requests()) == 2


def test_feishu_a_producer_that_stops_halfway_leaves_the_card_finished(feishu_streams, fake):
    bg = feishu_streams(stall=2)
    sid = open_stream(bg, {"bot": "feishu", "chat_id": "oc_chat", "text": "Step 1 done."})
    grow(bg, sid, append=" Step 2")
    assert wait_message(bg, sid, "sent", timeout=10)["stream"] == "cut_short"
    [card] = fake.cards()
    card = fake.wait_for_card(card.card_id, lambda c: not c.streaming_mode)
    assert_card_finished(card, "Step 1 done. Step 2")
    assert len(fake.delivered()) == 1


def test_feishu_a_restart_mid_stream_finishes_the_same_card(feishu_streams, fake):
    bg = feishu_streams()
    sid = open_stream(bg, {"bot": "feishu", "chat_id": "oc_chat", "text": "Part one."})
    [card] = fake.wait_for_cards(1)
    assert wait_until(lambda: fake.card(card.card_id).sent, 10)
    grow(bg, sid, append=" Part two.")
    time.sleep(1.2)  # past the store interval: the next change is written at once
    grow(bg, sid, append=" Part three.")
    assert wait_until(lambda: "three" in (fake.card(card.card_id).text("reply") or ""), 5)
    bg.kill9()
    before = fake.card(card.card_id)
    assert before.streaming_mode
    bg.restart()
    assert wait_message(bg, sid, "sent")["stream"] == "cut_short"
    card = fake.wait_for_card(card.card_id, lambda c: not c.streaming_mode)
    assert_card_finished(card, "Part one. Part two. Part three.")
    time.sleep(0.5)
    assert len(fake.cards()) == 1, "no second card"
    assert len(fake.delivered()) == 1, "no second message"


# ---------------------------------------------------------------------- QQ: the C2C stream

@pytest.fixture
def qq_streams(launch, make_qq_fake):
    from botgate_harness import qq_bot
    fake = make_qq_fake()
    bot = qq_bot(fake, intents=["group_and_c2c_event"])
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot], echo=False,
                                                api_token=API_TOKEN))
    assert fake.wait_connected(10), bg.log_text()
    return bg, fake


def test_qq_a_single_chat_stream_arrives_in_chunks(qq_streams):
    bg, fake = qq_streams
    msg_id = fake.inject("C2C_MESSAGE_CREATE", "tell me a story", chat_id="user-1")
    sid = open_stream(bg, {"bot": "qq", "chat_id": "user-1", "chat_type": "private",
                           "reply_to": msg_id, "text": "Once"})
    text = "Once"
    for piece in (" upon", " a", " time", " there", " was", " a", " gateway."):
        time.sleep(0.4)
        grow(bg, sid, append=piece)
        text += piece
    grow(bg, sid, finish=True)
    assert wait_message(bg, sid, "sent", timeout=20)["stream"] == "finished"

    [st] = fake.streams()
    assert st.finished and st.text == text + "\n"
    assert st.msg_id == msg_id and st.chat_id == "user-1"
    indexes = [c.index for c in st.chunks]
    assert indexes == sorted(indexes) and len(set(indexes)) == len(indexes)
    assert [c.state for c in st.chunks] == [1] * (len(st.chunks) - 1) + [10]
    assert st.chunks[-1].text.endswith("\n")
    assert 2 <= len(st.chunks) < 9, "the text grew in a few chunks, not one per change"
    assert "".join(c.text for c in st.chunks) == text + "\n", "each chunk appends the new text"
    seqs = [c.msg_seq for c in st.chunks]
    assert len(set(seqs)) == len(seqs), "a fresh msg_seq per chunk"
    gaps = [b.t - a.t for a, b in zip(st.chunks, st.chunks[1:])]
    assert all(g >= 0.9 for g in gaps), gaps
    assert fake.messages(chat_id="user-1") == [], "no plain message besides the stream"


def test_qq_a_replaced_text_is_sent_with_reset(qq_streams):
    bg, fake = qq_streams
    msg_id = fake.inject("C2C_MESSAGE_CREATE", "quick", chat_id="user-2")
    sid = open_stream(bg, {"bot": "qq", "chat_id": "user-2", "chat_type": "private",
                           "reply_to": msg_id, "markdown": "Draft"})
    [st] = fake.wait_for_streams(1, chat_id="user-2")
    time.sleep(1.1)
    grow(bg, sid, text="**Final** answer", finish=True)
    wait_message(bg, sid, "sent", timeout=10)
    [st] = fake.streams(chat_id="user-2")
    assert st.finished and st.text == "**Final** answer\n"
    assert st.chunks[-1].reset and st.chunks[-1].state == 10


def test_qq_a_group_stream_is_one_final_message(qq_streams):
    bg, fake = qq_streams
    msg_id = fake.inject("GROUP_AT_MESSAGE_CREATE", "summarise", chat_id="group-1")
    sid = open_stream(bg, {"bot": "qq", "chat_id": "group-1", "chat_type": "group",
                           "reply_to": msg_id, "text": "Summary:"})
    grow(bg, sid, append=" all good.")
    time.sleep(0.5)
    assert fake.messages(chat_id="group-1") == []
    grow(bg, sid, finish=True)
    wait_message(bg, sid, "sent")
    [m] = fake.messages(chat_id="group-1")
    assert (m.kind, m.content, m.msg_id) == ("group", "Summary: all good.", msg_id)
    assert fake.streams() == []


def test_qq_a_chunk_whose_answer_was_lost_is_not_sent_again(qq_streams):
    bg, fake = qq_streams
    msg_id = fake.inject("C2C_MESSAGE_CREATE", "go", chat_id="user-3")
    sid = open_stream(bg, {"bot": "qq", "chat_id": "user-3", "chat_type": "private",
                           "reply_to": msg_id, "text": "Alpha"})
    fake.wait_for_streams(1, chat_id="user-3")
    fake.force_5xx(1, deliver=True)  # the next chunk lands, its answer is lost
    grow(bg, sid, append=" beta")
    assert wait_until(lambda: len(fake.streams(chat_id="user-3")[0].chunks) >= 2, 5)
    grow(bg, sid, append=" gamma", finish=True)
    assert wait_message(bg, sid, "sent", timeout=30)["stream"] == "finished"
    [st] = fake.streams(chat_id="user-3")
    assert st.finished and st.text == "Alpha beta gamma\n"
    assert st.chunks[1].status == 500
    # The attempt after it does not know what the user sees: it sends the whole text again.
    assert st.chunks[2].reset and st.chunks[2].text.startswith("Alpha beta")
    indexes = [c.index for c in st.chunks]
    assert indexes == sorted(set(indexes))
    assert len({c.msg_seq for c in st.chunks}) == len(st.chunks)
    assert fake.messages(chat_id="user-3") == []


def test_qq_a_restart_mid_stream_finishes_the_same_stream(qq_streams):
    bg, fake = qq_streams
    msg_id = fake.inject("C2C_MESSAGE_CREATE", "go on", chat_id="user-4")
    sid = open_stream(bg, {"bot": "qq", "chat_id": "user-4", "chat_type": "private",
                           "reply_to": msg_id, "text": "Part one."})
    fake.wait_for_streams(1, chat_id="user-4")
    grow(bg, sid, append=" Part two.")
    time.sleep(1.2)  # past the store interval: the next change is written at once
    grow(bg, sid, append=" Part three.")
    assert wait_until(lambda: "three" in fake.streams(chat_id="user-4")[0].text, 5)
    bg.kill9()
    bg.restart()
    assert fake.wait_connected(10)
    assert wait_message(bg, sid, "sent", timeout=20)["stream"] == "cut_short"
    [st] = fake.streams(chat_id="user-4")
    assert st.finished and st.text == "Part one. Part two. Part three.\n"
    assert st.chunks[-1].state == 10
    assert fake.messages(chat_id="user-4") == [], "no second message"
