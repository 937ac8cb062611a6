"""Discord end to end: the real botgate binary against the strict fake Discord
(tests/fakes/discord_fake.py): gateway (identify, heartbeats, resume, zombie, fatal close codes,
restart), REST (auth, message_reference, nonce, 429) and HTTP interactions."""

from __future__ import annotations

import json
import time

from botgate_harness import (DiscordInteractions, botgate_config, discord_bot,
                             discord_interaction, discord_sign, wait_until)
from forward_service import FORWARD_SECRET

GUILD = "290926798626357999"
CHANNEL = "645027906669510667"
DM_CHANNEL = "700000000000000001"
USER = "53908232506183680"


def start_bot(launch, fake, *, rules=(), wait_ready=True, **bot_kw):
    bot = discord_bot(fake, **bot_kw)
    return launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot],
                                                  rules=list(rules)), wait_ready=wait_ready)


def replies_to(fake, message_id):
    return [m for m in fake.messages()
            if (m.message_reference or {}).get("message_id") == message_id]


def test_message_gets_the_rule_reply_as_a_reply_with_auth_and_nonce(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake, rules=[{"match": "^\\$hello$", "reply": "Hello!"}])
    assert fake.wait_connected(10), bg.log_text()
    [identify] = fake.identify_payloads()
    assert identify["token"] == fake.token
    assert identify["intents"] == 37377  # guilds, guild_messages, direct_messages, message_content

    mid = fake.inject_message(CHANNEL, f"<@{fake.bot_id}> $hello", author_id=USER,
                              guild_id=GUILD, mentions=[fake.bot_id])
    [reply] = fake.wait_for_messages(1, 10)
    assert reply.content == "Hello!"
    assert reply.channel_id == CHANNEL
    assert reply.message_reference["message_id"] == mid
    assert reply.headers["authorization"] == f"Bot {fake.token}"
    assert reply.headers["user-agent"].startswith("DiscordBot")
    assert reply.enforce_nonce is True and 0 < len(reply.nonce) <= 25

    dm = fake.inject_message(DM_CHANNEL, "how are you", author_id=USER)
    wait_until(lambda: replies_to(fake, dm), 10)
    [dm_reply] = replies_to(fake, dm)
    assert dm_reply.content == "Hello, how are you"
    assert dm_reply.channel_id == DM_CHANNEL

    # The fake echoes the bot's own posts back as MESSAGE_CREATE (author.bot); another bot talks
    # too. Neither is answered.
    fake.inject_message(CHANNEL, "beep", author_id="999", guild_id=GUILD, author_bot=True)
    barrier = fake.inject_message(DM_CHANNEL, "barrier", author_id=USER)
    wait_until(lambda: replies_to(fake, barrier), 10)
    assert len(fake.messages()) == 3, [m.content for m in fake.messages()]
    assert fake.stats()["identifies"] == 1
    assert fake.token not in bg.log_text()


def test_echo_answers_mentions_and_dms_but_not_channel_chatter(launch, discord_fake):
    # The default intents (message_content among them) deliver every guild message: echo answers
    # the ones for the bot, a rule whatever it matches unless it says mention = true.
    fake = discord_fake
    bg = start_bot(launch, fake, rules=[{"match": "^\\$hello$", "reply": "Hello!"},
                                        {"match": "^ping$", "reply": "pong", "mention": True}])
    assert fake.wait_connected(10), bg.log_text()
    chatter = fake.inject_message(CHANNEL, "just chatting", author_id=USER, guild_id=GUILD)
    ping = fake.inject_message(CHANNEL, "ping", author_id=USER, guild_id=GUILD)
    hello = fake.inject_message(CHANNEL, "$hello", author_id=USER, guild_id=GUILD)
    mentioned = fake.inject_message(CHANNEL, f"<@{fake.bot_id}> hi bot", author_id=USER,
                                    guild_id=GUILD)
    mentioned_ping = fake.inject_message(CHANNEL, f"<@{fake.bot_id}> ping", author_id=USER,
                                         guild_id=GUILD)
    dm = fake.inject_message(DM_CHANNEL, "hi in private", author_id=USER)
    wait_until(lambda: all(replies_to(fake, m) for m in (hello, mentioned, mentioned_ping, dm)),
               10)
    assert [r.content for r in replies_to(fake, hello)] == ["Hello!"]
    assert [r.content for r in replies_to(fake, mentioned)] == ["Hello, hi bot"]
    assert [r.content for r in replies_to(fake, mentioned_ping)] == ["pong"]
    assert [r.content for r in replies_to(fake, dm)] == ["Hello, hi in private"]
    # One channel is one lane, handled in order: the later replies came, these had their turn.
    assert replies_to(fake, chatter) == [] and replies_to(fake, ping) == []
    assert len(fake.messages()) == 4, [m.content for m in fake.messages()]


def test_echoed_mentions_notify_nobody_but_the_author_replied_to(launch, discord_fake):
    # Discord notifies whatever allowed_mentions lets it parse from the content: an echo of
    # <@id>, <@&role> or @everyone typed by a user must parse nothing (only Mention segments'
    # users may be listed); the reply still notifies the author it answers.
    fake = discord_fake
    bg = start_bot(launch, fake)
    assert fake.wait_connected(10), bg.log_text()
    typed = "<@&222> @everyone @here hi"
    dm = fake.inject_message(DM_CHANNEL, typed, author_id=USER)
    guild = fake.inject_message(CHANNEL, f"<@{fake.bot_id}> {typed}", author_id=USER,
                                guild_id=GUILD)
    wait_until(lambda: replies_to(fake, dm) and replies_to(fake, guild), 10)
    for m in (dm, guild):
        [reply] = replies_to(fake, m)
        assert reply.content == "Hello, " + typed
        assert reply.allowed_mentions == {"parse": [], "replied_user": True}, reply.body
    assert bg.running()


def test_resume_after_a_dropped_connection_replays_what_was_missed(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake)
    assert fake.wait_connected(10)
    first = fake.inject_message(DM_CHANNEL, "before", author_id=USER)
    wait_until(lambda: replies_to(fake, first), 10)

    fake.drop_connection()
    missed = [fake.inject_message(DM_CHANNEL, f"missed {i}", author_id=USER) for i in range(3)]
    assert fake.wait_stat("resumes", 1, 15), bg.log_text()
    wait_until(lambda: all(replies_to(fake, m) for m in missed), 15)
    for i, m in enumerate(missed):
        assert [r.content for r in replies_to(fake, m)] == [f"Hello, missed {i}"]
    stats = fake.stats()
    assert stats["identifies"] == 1, "resumed, not identified again"
    assert stats["resumes_on_resume_url"] >= 1, "resumed on READY's resume_gateway_url"
    assert len(replies_to(fake, first)) == 1


def test_a_zombie_connection_is_detected_and_resumed(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake)
    assert fake.wait_connected(10)
    fake.stop_acks()
    # Two heartbeat intervals without an ACK: botgate drops the connection and resumes.
    assert fake.wait_stat("resume_attempts", 1, 10), bg.log_text()
    fake.resume_acks()
    assert fake.wait_stat("resumes", 1, 10), bg.log_text()
    assert "zombie" in bg.log_text()
    m = fake.inject_message(DM_CHANNEL, "still there?", author_id=USER)
    wait_until(lambda: replies_to(fake, m), 10)
    assert fake.stats()["identifies"] == 1


def test_a_fatal_close_code_stops_the_bot_with_what_to_fix(launch, make_discord_fake):
    fake = make_discord_fake(message_content=False)  # the portal toggle is off: 4014
    bg = start_bot(launch, fake, wait_ready=False)
    wait_until(lambda: "Message Content" in bg.log_text(), 10)
    time.sleep(2)  # a bot that reconnected would identify again in this time
    assert len(fake.identify_payloads()) == 1, "no reconnect after a fatal close code"
    assert fake.stats()["connections"] == 1
    status, body = bg.get("/readyz")
    assert status == 503
    assert bg.running()


def test_rate_limits_delay_replies_but_every_reply_is_delivered_once(launch, make_discord_fake):
    fake = make_discord_fake(channel_bucket_limit=3, channel_bucket_window=1.0)
    bg = start_bot(launch, fake)
    assert fake.wait_connected(10)
    fake.force_429(count=2, retry_after=0.5)
    ids = [fake.inject_message(CHANNEL, f"<@{fake.bot_id}> burst {i}", author_id=USER,
                               guild_id=GUILD)
           for i in range(8)]
    wait_until(lambda: all(replies_to(fake, m) for m in ids), 30)
    for i, m in enumerate(ids):
        assert [r.content for r in replies_to(fake, m)] == [f"Hello, burst {i}"], bg.log_text()
    # In order, and waiting for the bucket instead of hammering it.
    assert [r.content for r in fake.messages(CHANNEL)] == [f"Hello, burst {i}" for i in range(8)]
    assert fake.stats()["invalid_requests"] <= 4, fake.stats()


def test_a_restarted_botgate_resumes_its_stored_session(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake)
    assert fake.wait_connected(10)
    first = fake.inject_message(DM_CHANNEL, "one", author_id=USER)
    wait_until(lambda: replies_to(fake, first), 10)

    bg.stop()
    while_down = [fake.inject_message(DM_CHANNEL, f"while down {i}", author_id=USER)
                  for i in range(2)]
    bg.restart()
    assert fake.wait_stat("resumes", 1, 15), bg.log_text()
    wait_until(lambda: all(replies_to(fake, m) for m in while_down), 15)
    for i, m in enumerate(while_down):
        assert [r.content for r in replies_to(fake, m)] == [f"Hello, while down {i}"]
    assert fake.stats()["identifies"] == 1
    assert len(replies_to(fake, first)) == 1


def test_interactions_ping_pong_and_bad_signatures(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake)
    ix = DiscordInteractions(bg, fake)
    status, _, body = ix.ping()
    assert status == 200 and json.loads(body) == {"type": 1}

    payload = discord_interaction(application_id=fake.application_id, type=1)
    raw = json.dumps(payload).encode()
    ts = str(int(time.time()))
    good = discord_sign(raw, ts)
    forged = ("0" if good[0] != "0" else "1") + good[1:]
    headers = {"Content-Type": "application/json", "X-Signature-Timestamp": ts,
               "X-Signature-Ed25519": forged}
    status, _, _ = ix.post_raw(raw, headers)
    assert status == 401
    status, _, _ = ix.post_raw(raw, {"Content-Type": "application/json"})
    assert status == 401
    assert "401" in bg.log_text()


def test_a_slash_command_is_answered_in_the_interaction_response(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake, rules=[{"match": "^/ask (.*)$", "reply": "You asked: {1}"}])
    ix = DiscordInteractions(bg, fake)
    _, (status, _, body) = ix.command(name="ask", options=[
        {"type": 3, "name": "q", "value": "the weather"}])
    assert status == 200
    answer = json.loads(body)
    assert answer["type"] == 4  # CHANNEL_MESSAGE_WITH_SOURCE: the reply itself
    assert answer["data"]["content"] == "You asked: the weather"
    time.sleep(0.5)
    assert fake.edits() == [] and fake.messages() == [], "not sent a second time"


def test_a_slow_slash_command_is_deferred_then_the_reply_edits_it(launch, discord_fake):
    """A handler slower than Discord's 3 s allows: botgate answers "thinking..." (type 5) in
    time and the reply replaces it, with the interaction token and never the bot token."""
    import http.server
    import threading

    class SlowService(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(2.5)
            body = json.dumps({"reply": "worth the wait"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    service = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowService)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    try:
        fake = discord_fake
        bot = discord_bot(fake)
        forward = f"http://127.0.0.1:{service.server_address[1]}/"

        def config(port, db):
            return (botgate_config(port=port, db_path=db, bots=[bot], echo=False)
                    + f'\n[forward]\nurl = "{forward}"\nsecret = "{FORWARD_SECRET}"\ntimeout_ms = 10000\n')

        bg = launch(config)
        ix = DiscordInteractions(bg, fake)
        started = time.monotonic()
        payload, (status, _, body) = ix.command(name="ask")
        assert status == 200 and json.loads(body) == {"type": 5}
        assert time.monotonic() - started < 2.8, "answered inside Discord's 3 s"
        wait_until(lambda: fake.edits(), 10)
        [edit] = fake.edits()
        assert edit.body["content"] == "worth the wait"
        assert not edit.had_bot_token
        assert payload["token"] not in bg.log_text()
    finally:
        service.shutdown()


def test_gateway_and_rest_go_through_the_bots_proxy(launch, discord_fake):
    from fakes.connect_proxy import ConnectProxy

    fake = discord_fake
    proxy = ConnectProxy().start()
    try:
        bg = start_bot(launch, fake, proxy=proxy.url)
        assert fake.wait_connected(10), bg.log_text()
        m = fake.inject_message(DM_CHANNEL, "via proxy", author_id=USER)
        wait_until(lambda: replies_to(fake, m), 10)
        rest_port = fake.api_base.split(":")[2].split("/")[0]
        gateway_port = fake.gateway_url.rsplit(":", 1)[1].strip("/")
        targets = proxy.targets()
        assert f"127.0.0.1:{rest_port}" in targets, targets
        assert f"127.0.0.1:{gateway_port}" in targets, targets
    finally:
        proxy.stop()


def test_a_reply_whose_answer_was_lost_is_retried_and_posted_once(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake)
    assert fake.wait_connected(10)
    # Discord posts the message but the answer never arrives (a 502 from the edge): botgate
    # retries with the same nonce, and enforce_nonce makes Discord return the first message.
    fake.force_5xx(count=1, status=502, deliver=True)
    m = fake.inject_message(DM_CHANNEL, "once", author_id=USER)
    assert fake.wait_stat("nonce_repeats", 1, 15), bg.log_text()
    assert [r.content for r in replies_to(fake, m)] == ["Hello, once"]


def test_shards_identify_with_their_ids_and_share_the_bot(launch, make_discord_fake):
    fake = make_discord_fake(max_concurrency=2)
    bg = start_bot(launch, fake, shard_count=2)
    assert fake.wait_stat("identifies", 2, 10), bg.log_text()
    assert sorted(tuple(p["shard"]) for p in fake.identify_payloads()) == [(0, 2), (1, 2)]


def test_an_interactions_only_bot_needs_no_token(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake, token="", gateway=False)
    status, _, body = DiscordInteractions(bg, fake).ping()
    assert status == 200 and json.loads(body) == {"type": 1}
    status, _ = bg.get("/readyz")
    assert status == 200
    assert fake.stats()["connections"] == 0


def test_botgate_send_posts_to_a_channel(binary, tmp_path, discord_fake):
    import subprocess

    from botgate_harness import free_port

    fake = discord_fake
    cfg = tmp_path / "botgate.toml"
    cfg.write_text(botgate_config(port=free_port(), db_path=tmp_path / "botgate.db",
                                  bots=[discord_bot(fake, gateway=False)]))

    def send(chat):
        return subprocess.run([str(binary), "send", "--config", str(cfg), "--bot", "discord",
                               "--chat", chat, "--markdown", "**deploy** done"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)

    proc = send("123")  # a channel the bot cannot see: Discord's 10003, not retried
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "discord 10003: Unknown Channel" in proc.stderr
    assert fake.token not in proc.stdout + proc.stderr

    fake.add_channel(CHANNEL, GUILD)
    proc = send(CHANNEL)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [posted] = fake.messages(CHANNEL)
    assert posted.content == "**deploy** done"
    assert posted.message_reference is None
    assert proc.stdout.strip() == f"sent: {posted.id}"


def test_op7_resumes_and_op9_false_identifies_again(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake)
    assert fake.wait_connected(10)
    fake.send_reconnect()
    assert fake.wait_stat("resumes", 1, 10), bg.log_text()
    # The fake records the old connection's close once its writer is done, which may come after
    # the Resume on the new connection.
    assert wait_until(lambda: fake.stats()["client_close_codes"], 5), "the old connection closed"
    assert fake.stats()["last_client_close_code"] == 4000, "closed so as to keep the session"
    assert fake.wait_connected(10)

    fake.invalidate_session(resumable=False)
    # Discord: wait 1-5 s, then identify with a new session.
    assert fake.wait_stat("identifies", 2, 15), bg.log_text()
    assert fake.wait_connected(10)
    m = fake.inject_message(DM_CHANNEL, "after op 9", author_id=USER)
    wait_until(lambda: replies_to(fake, m), 10)
    assert [r.content for r in replies_to(fake, m)] == ["Hello, after op 9"]


def test_a_heartbeat_request_is_answered_at_once(launch, make_discord_fake):
    # A 30 s interval: a beat within the next 0.4 s is the answer to op 1, not the timer's.
    fake = make_discord_fake(heartbeat_interval=30000)
    bg = start_bot(launch, fake)
    assert fake.wait_connected(10)
    before = fake.stats()["heartbeats"]
    fake.request_heartbeat()
    assert fake.wait_stat("heartbeats", before + 1, 0.4), bg.log_text()


def test_a_rejected_token_stops_the_gateway_without_a_retry_loop(launch, discord_fake):
    fake = discord_fake
    bg = start_bot(launch, fake, token="not-the-token", wait_ready=False)
    wait_until(lambda: "token" in bg.log_text() and "Developer Portal" in bg.log_text(), 10)
    time.sleep(1.5)
    assert fake.stats()["connections"] == 0, "a 401 from REST stops before the gateway"
    requests = fake.stats()["requests"]
    assert sum(requests.values()) <= 3, requests
    status, _ = bg.get("/readyz")
    assert status == 503
    assert "not-the-token" not in bg.log_text()
