"""QQ end to end: the real botgate binary against the strict fake QQ (tests/fakes/qq_fake.py):
access token, gateway (identify, the five message kinds, resume), passive replies with msg_id and
msg_seq through the right endpoint, token expiry, and webhook mode (op 13 validation, signed
pushes, forged pushes, duplicates)."""

from __future__ import annotations

import time

from botgate_harness import QqWebhookPushes, botgate_config, qq_bot, wait_until
from forward_service import FORWARD_SECRET
from fakes.qq_fake import GUILD_MESSAGES

# What a chat bot needs on a public bot: @-messages in channels, guild DMs, groups and C2C.
PUBLIC_INTENTS = ["public_guild_messages", "direct_message", "group_and_c2c_event"]


def start_bot(launch, fake, *, rules=(), wait_ready=True, **bot_kw):
    bot = qq_bot(fake, **bot_kw)
    return launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot],
                                                  rules=list(rules)), wait_ready=wait_ready)


def replies_to(fake, msg_id):
    return [m for m in fake.messages() if m.msg_id == msg_id]


ENDPOINT_OF = {
    "AT_MESSAGE_CREATE": "channel",
    "DIRECT_MESSAGE_CREATE": "dm",
    "GROUP_AT_MESSAGE_CREATE": "group",
    "C2C_MESSAGE_CREATE": "c2c",
}


def test_each_message_kind_is_answered_through_its_endpoint(launch, make_qq_fake):
    fake = make_qq_fake()
    bg = start_bot(launch, fake, intents=PUBLIC_INTENTS,
                   rules=[{"match": "^ping$", "reply": "pong"}])
    assert fake.wait_connected(10), bg.log_text()
    [identify] = fake.identify_payloads()
    assert identify["token"].startswith("QQBot ")

    sent = {kind: fake.inject(kind, "ping") for kind in ENDPOINT_OF}
    wait_until(lambda: all(replies_to(fake, m) for m in sent.values()), 15)
    for kind, msg_id in sent.items():
        [reply] = replies_to(fake, msg_id)
        assert reply.kind == ENDPOINT_OF[kind], kind
        assert reply.content == "pong", (kind, reply.body)
        assert reply.msg_seq in (None, 1), (kind, reply.body)
        assert reply.headers["authorization"].startswith("QQBot ")
        assert reply.union_appid == fake.app_id
    assert fake.stats()["identifies"] == 1
    assert fake.app_secret not in bg.log_text()


def test_echoed_mention_tokens_mention_nobody(launch, make_qq_fake):
    # QQ reads <@id>, @everyone and <qqbot-at-everyone /> in message text. Typed by a user and
    # echoed back, they must stay text. A guild delivers typed text entity-escaped (notes 5.3).
    fake = make_qq_fake()
    bg = start_bot(launch, fake, intents=PUBLIC_INTENTS)
    assert fake.wait_connected(10), bg.log_text()
    channel = fake.inject("AT_MESSAGE_CREATE", "&lt;@!123&gt; &lt;@456&gt; @everyone &amp; co")
    group = fake.inject("GROUP_AT_MESSAGE_CREATE",
                        '<qqbot-at-everyone /> <qqbot-at-user id="u9" /> @everyone')
    c2c = fake.inject("C2C_MESSAGE_CREATE", "<qqbot-at-everyone /> @EVERYONE")
    wait_until(lambda: all(replies_to(fake, m) for m in (channel, group, c2c)), 15)
    [to_channel] = replies_to(fake, channel)
    assert to_channel.kind == "channel"
    assert to_channel.mentioned() == [], to_channel.content
    shown = to_channel.content.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    assert shown.replace("\u200b", "") == "Hello, <@!123> <@456> @everyone & co"
    [to_group] = replies_to(fake, group)
    assert to_group.kind == "group"
    assert to_group.mentioned() == [], to_group.content
    assert to_group.content.replace("\u200b", "") == (
        'Hello, <qqbot-at-everyone /> <qqbot-at-user id="u9" /> @everyone')
    [to_c2c] = replies_to(fake, c2c)
    assert to_c2c.mentioned() == [], to_c2c.content
    assert to_c2c.content.replace("\u200b", "") == "Hello, <qqbot-at-everyone /> @EVERYONE"


def test_a_private_bot_sees_every_guild_message_and_echoes_those_that_mention_it(
        launch, make_qq_fake):
    # guild_messages (private bots) delivers every message of the channel: echo answers only
    # the ones that @ the bot; a rule answers whatever it matches unless it says mention = true.
    fake = make_qq_fake(allowed_intents=GUILD_MESSAGES)
    bg = start_bot(launch, fake, intents=["guild_messages"],
                   rules=[{"match": "^ping$", "reply": "pong", "mention": True},
                          {"match": "^status$", "reply": "all good"}])
    assert fake.wait_connected(10), bg.log_text()
    chatter = fake.inject("MESSAGE_CREATE", "talking among ourselves")
    ping = fake.inject("MESSAGE_CREATE", "ping")
    status = fake.inject("MESSAGE_CREATE", "status")
    mentioned = fake.inject(
        "MESSAGE_CREATE", f"<@!{fake.bot_id}> mention needed",
        extra={"mentions": [{"id": fake.bot_id, "username": fake.bot_name, "bot": True}]})
    mentioned_ping = fake.inject("MESSAGE_CREATE", f"<@!{fake.bot_id}> ping")
    wait_until(lambda: replies_to(fake, mentioned_ping), 10)
    [reply] = replies_to(fake, mentioned)
    assert reply.kind == "channel"
    assert reply.content == "Hello, mention needed"
    assert [r.content for r in replies_to(fake, status)] == ["all good"]
    assert [r.content for r in replies_to(fake, mentioned_ping)] == ["pong"]
    # One channel is one lane, handled in order: the later replies came, these had their turn.
    assert replies_to(fake, chatter) == [] and replies_to(fake, ping) == []
    assert len(fake.messages()) == 3, [m.content for m in fake.messages()]


def test_resume_after_a_dropped_connection_answers_what_was_missed(launch, make_qq_fake):
    fake = make_qq_fake()
    bg = start_bot(launch, fake, intents=PUBLIC_INTENTS)
    assert fake.wait_connected(10)
    fake.drop_connection()
    missed = [fake.inject("C2C_MESSAGE_CREATE", f"missed {i}") for i in range(3)]
    assert fake.wait_stat("resumes", 1, 15), bg.log_text()
    wait_until(lambda: all(replies_to(fake, m) for m in missed), 15)
    for i, m in enumerate(missed):
        assert [r.content for r in replies_to(fake, m)] == [f"Hello, missed {i}"]
    assert fake.stats()["identifies"] == 1


def test_an_expired_token_is_fetched_again(launch, make_qq_fake):
    fake = make_qq_fake()
    bg = start_bot(launch, fake, intents=PUBLIC_INTENTS)
    assert fake.wait_connected(10)
    first = fake.inject("GROUP_AT_MESSAGE_CREATE", "one")
    wait_until(lambda: replies_to(fake, first), 10)
    fetches = fake.stats()["token_fetches"]
    fake.expire_tokens_now()
    second = fake.inject("GROUP_AT_MESSAGE_CREATE", "two")
    wait_until(lambda: replies_to(fake, second), 10)
    assert [r.content for r in replies_to(fake, second)] == ["Hello, two"], bg.log_text()
    assert fake.stats()["token_fetches"] > fetches


def test_a_gateway_token_refused_with_4004_is_replaced_before_identifying_again(
        launch, make_qq_fake):
    """QQ revoked the token while the connection was down: the resume is closed with 4004.
    Identifying again with the same cached token would be refused again, forever."""
    fake = make_qq_fake()
    bg = start_bot(launch, fake, intents=PUBLIC_INTENTS)
    assert fake.wait_connected(10)
    fetches = fake.stats()["token_fetches"]
    fake.expire_tokens_now()
    fake.drop_connection()
    assert fake.wait_stat("identifies", 2, 15), bg.log_text()
    assert fake.stats()["token_fetches"] > fetches
    m = fake.inject("C2C_MESSAGE_CREATE", "after")
    wait_until(lambda: replies_to(fake, m), 10)
    assert [r.content for r in replies_to(fake, m)] == ["Hello, after"]


def test_webhook_mode_validation_signed_pushes_and_forgeries(launch, make_qq_fake):
    fake = make_qq_fake()
    bg = start_bot(launch, fake, mode="webhook")
    pushes = QqWebhookPushes(bg, fake)
    status, answer, ok = pushes.validate()
    assert status == 200 and ok, answer

    env, (status, _, body) = pushes.message("C2C_MESSAGE_CREATE", "via webhook")
    assert status == 200
    msg_id = env["d"]["id"]
    wait_until(lambda: replies_to(fake, msg_id), 10)
    [reply] = replies_to(fake, msg_id)
    assert reply.kind == "c2c" and reply.content == "Hello, via webhook"

    # QQ redelivers when unsure: the same event gets no second reply.
    status, _, _ = pushes.push_envelope(env)
    assert status == 200
    forged_env = fake.make_event("GROUP_AT_MESSAGE_CREATE", "forged")
    status, _, _ = pushes.push_envelope(forged_env, tamper="body")
    assert status == 401
    status, _, _ = pushes.push_envelope(forged_env, tamper="signature")
    assert status == 401
    # A genuine push captured and replayed an hour later.
    stale_env = fake.make_event("C2C_MESSAGE_CREATE", "replayed")
    status, _, _ = pushes.push_envelope(stale_env, timestamp=str(int(time.time()) - 3600))
    assert status == 401
    time.sleep(1)
    assert replies_to(fake, stale_env["d"]["id"]) == []
    assert len(replies_to(fake, msg_id)) == 1
    assert replies_to(fake, forged_env["d"]["id"]) == []
    assert fake.stats()["connections"] == 0, "webhook mode opens no gateway"


def test_several_replies_to_one_message_each_get_their_own_msg_seq(launch, make_qq_fake):
    """A forward service answering with two messages: QQ accepts both only because each carries
    its own msg_seq (the same msg_seq twice is QQ's 40054005 dedup)."""
    import http.server
    import json
    import threading

    class Service(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"messages": [{"text": "first"}, {"text": "second"}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    service = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Service)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    try:
        fake = make_qq_fake()
        bot = qq_bot(fake, intents=PUBLIC_INTENTS)
        forward = f"http://127.0.0.1:{service.server_address[1]}/"
        bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot], echo=False)
                    + f'\n[forward]\nurl = "{forward}"\nsecret = "{FORWARD_SECRET}"\n')
        assert fake.wait_connected(10), bg.log_text()
        m = fake.inject("GROUP_AT_MESSAGE_CREATE", "tell me twice")
        wait_until(lambda: len(replies_to(fake, m)) >= 2, 10)
        replies = replies_to(fake, m)
        assert [(r.content, r.msg_seq) for r in replies] == [("first", 1), ("second", 2)]
        assert fake.rejected() == [], fake.rejected()
    finally:
        service.shutdown()


def test_replies_past_the_fifth_to_one_message_are_merged_not_refused(launch, make_qq_fake):
    """QQ takes 5 passive replies per msg_id and refuses the sixth with 22009 (no wait helps):
    a handler's seven replies become five, the last carrying the rest."""
    import http.server
    import json
    import threading

    class Service(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"messages": [{"text": f"r{i}"} for i in range(1, 8)]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    service = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Service)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    try:
        fake = make_qq_fake()
        bot = qq_bot(fake, intents=PUBLIC_INTENTS)
        forward = f"http://127.0.0.1:{service.server_address[1]}/"
        bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot], echo=False)
                    + f'\n[forward]\nurl = "{forward}"\nsecret = "{FORWARD_SECRET}"\n')
        assert fake.wait_connected(10), bg.log_text()
        m = fake.inject("GROUP_AT_MESSAGE_CREATE", "tell me seven times")
        wait_until(lambda: len(replies_to(fake, m)) >= 5, 10)
        time.sleep(1.5)  # a sixth would come now
        replies = replies_to(fake, m)
        assert [r.content for r in replies] == ["r1", "r2", "r3", "r4", "r5\nr6\nr7"], \
            [(r.content, r.msg_seq) for r in replies]
        assert fake.rejected() == [], fake.rejected()
    finally:
        service.shutdown()
