"""A real OneBot v11 framework on botgate: Koishi (koishi 4.14.4 with
@koishijs/plugin-adapter-onebot 5.8.1, tests/koishi/) listens for the reverse WebSocket, and the
real botgate binary, with a Feishu bot (webhook, against the fake Open API) and a Discord bot
(gateway, against the fake Discord), dials it as two OneBot bots. A user's message on either
platform reaches Koishi, in a group and in a private chat, and Koishi's answer reaches that
platform's send API in the same chat, once, and from Koishi alone (echo is on in this config and
must not answer). Then the other way round: botgate serves the forward WebSocket
([onebot] serve = true) and Koishi (`protocol: 'ws'`) dials it. Koishi's node_modules come from
`make koishi-deps` (which `make test` runs); without them the test fails and says so.
"""

from __future__ import annotations

import json
import time

import pytest

from botgate_harness import (API_TOKEN, FeishuCallbacks, botgate_config, discord_bot, feishu_bot,
                             wait_until)
from koishi_app import KoishiApp, answer, missing_tools

FEISHU = 10001
DISCORD = 10002
TOKEN = "ob-" + "5" * 20
GUILD = "290926798626357999"
CHANNEL = "645027906669510667"
DM_CHANNEL = "700000000000000001"
USER = "53908232506183680"
QUIET = 1.0


def on_feishu(text: str) -> str:
    """`text` as botgate sends it to Feishu: a zero-width space after each `<`, so that no
    `<at>` tag can form from a user's text."""
    return text.replace("<", "<\u200b")


@pytest.fixture
def koishi():
    missing = missing_tools()
    if missing:
        pytest.fail("the Koishi test needs: " + "; ".join(missing))
    app = KoishiApp({"feishu": FEISHU, "discord": DISCORD}, token=TOKEN).start()
    yield app
    app.stop()
    # Shown by pytest only for failing tests.
    print(f"--- Koishi output ---\n{app.output()[-20000:]}")


@pytest.fixture
def gateway(launch, fake, discord_fake, koishi):
    """botgate with a Feishu and a Discord bot, both served by Koishi over OneBot v11, online."""
    bots = [feishu_bot(fake), discord_bot(discord_fake)]

    def make(port, db):
        return (botgate_config(port=port, db_path=db, bots=bots, api_token=API_TOKEN)
                + "\n[onebot]\n"
                + f'reverse_url = "{koishi.url}"\n'
                + f'access_token = "{TOKEN}"\n'
                + "bots = [\"feishu\", \"discord\"]\n"
                + f"self_ids = {{ feishu = {FEISHU}, discord = {DISCORD} }}\n")

    bg = launch(make)
    assert discord_fake.wait_connected(10), bg.log_text()
    # Online means Koishi called get_login_info and botgate answered with the right self id.
    koishi.wait_online("feishu")
    koishi.wait_online("discord")
    return bg


def feishu_message(cb, fake, text, *, chat, chat_type, user="ou_ann"):
    """A user's text on Feishu; returns the platform message id (its chat made known to the
    fake, so that a reply to it records the chat)."""
    ev = cb.message(text, chat_type=chat_type, chat_id=chat, sender_open_id=user)
    mid = ev["event"]["message"]["message_id"]
    fake.register_message(mid, chat)
    status, _, _ = cb.post_payload(ev)
    assert status == 200
    return mid


def test_koishi_answers_on_feishu_and_discord_through_botgate(gateway, fake, discord_fake,
                                                               koishi):
    bg = gateway
    cb = FeishuCallbacks(bg, fake)

    # Feishu, a group chat; the text has what CQ codes and Koishi's markup escape.
    text = "feishu group [1] & <b>"
    group_mid = feishu_message(cb, fake, f"ping {text}", chat="oc_koishi_group",
                               chat_type="group")
    [d] = fake.wait_delivered(1, timeout=15)
    assert d.text == on_feishu(answer(text, FEISHU)), (d, koishi.output())
    assert d.chat_id == "oc_koishi_group" and d.reply_to == group_mid, d
    seen = koishi.wait_received("feishu", 1)[0]
    assert seen["isDirect"] is False and seen["channelId"].isdigit(), seen

    # Feishu, a private chat: the same user, so Koishi sees the same user id.
    dm_mid = feishu_message(cb, fake, "ping feishu dm", chat="oc_koishi_dm", chat_type="p2p")
    d = fake.wait_delivered(2, timeout=15)[1]
    assert d.text == answer("feishu dm", FEISHU), (d, koishi.output())
    assert d.chat_id == "oc_koishi_dm" and d.reply_to == dm_mid, d
    dm_seen = koishi.wait_received("feishu", 2)[1]
    assert dm_seen["isDirect"] is True and dm_seen["userId"] == seen["userId"], dm_seen
    assert dm_seen["channelId"] == "private:" + seen["userId"]

    # Discord (gateway), a guild channel: the message mentions the bot, which Koishi reads as an
    # at of its self id and strips before the middleware matches.
    mid = discord_fake.inject_message(CHANNEL, f"<@{discord_fake.bot_id}> ping discord guild",
                                      author_id=USER, guild_id=GUILD,
                                      mentions=[discord_fake.bot_id])
    [reply] = discord_fake.wait_for_messages(1, 15)
    assert reply.content == answer("discord guild", DISCORD), (reply, koishi.output())
    assert reply.channel_id == CHANNEL
    assert (reply.message_reference or {}).get("message_id") == mid, reply

    # Discord, a direct message.
    dm = discord_fake.inject_message(DM_CHANNEL, "ping discord dm", author_id=USER)
    assert wait_until(lambda: len(discord_fake.messages()) >= 2, 15), koishi.output()
    dm_reply = discord_fake.messages()[1]
    assert dm_reply.content == answer("discord dm", DISCORD), dm_reply
    assert dm_reply.channel_id == DM_CHANNEL
    assert (dm_reply.message_reference or {}).get("message_id") == dm, dm_reply
    discord_seen = koishi.wait_received("discord", 2)
    assert [s["isDirect"] for s in discord_seen] == [False, True], discord_seen

    # Every send of Koishi's was answered with a message id (Koishi counts it sent), and each
    # platform got exactly Koishi's answers: no echo, no repeat.
    assert len(koishi.wait_sent("feishu", 2)) == 2
    assert len(koishi.wait_sent("discord", 2)) == 2
    time.sleep(QUIET)
    assert [x.text for x in fake.delivered()] == [on_feishu(answer(text, FEISHU)),
                                                 answer("feishu dm", FEISHU)]
    assert [m.content for m in discord_fake.messages()] == [answer("discord guild", DISCORD),
                                                            answer("discord dm", DISCORD)]
    # Koishi logged no warning or error (a failed send, an action answered wrongly).
    complaints = [line for line in koishi.output().splitlines() if line.startswith(("[W]", "[E]"))]
    assert complaints == [], koishi.output()


def test_koishi_quotes_and_mentions_reach_both_platforms(gateway, fake, discord_fake, koishi):
    # Koishi's adapter sends a quote as a reply segment and a mention as an at segment, both ids
    # as strings of digits (and the at with a `name`): botgate turns them into the platform's
    # reply and mention of the right user.
    cb = FeishuCallbacks(bg := gateway, fake)
    mid = feishu_message(cb, fake, "mention please review", chat="oc_koishi_group",
                         chat_type="group", user="ou_bob")
    [d] = fake.wait_delivered(1, timeout=15)
    assert d.reply_to == mid and d.chat_id == "oc_koishi_group", (d, koishi.output())
    assert d.mentioned() == ["ou_bob"], d
    assert d.text.endswith("</at> please review"), d

    dmid = discord_fake.inject_message(CHANNEL, f"<@{discord_fake.bot_id}> mention ship it",
                                       author_id=USER, guild_id=GUILD,
                                       mentions=[discord_fake.bot_id])
    [reply] = discord_fake.wait_for_messages(1, 15)
    assert reply.channel_id == CHANNEL
    assert (reply.message_reference or {}).get("message_id") == dmid, reply
    assert reply.content == f"<@{USER}> ship it", (reply, koishi.output())

    # An image by URL: Koishi sends an image segment whose `file` is the URL.
    discord_fake.inject_message(DM_CHANNEL, "image https://img.example/graph.png?w=1&h=2",
                                author_id=USER)
    assert wait_until(lambda: len(discord_fake.messages()) >= 2, 15), koishi.output()
    image = discord_fake.messages()[1]
    assert image.channel_id == DM_CHANNEL
    assert image.embeds == [{"image": {"url": "https://img.example/graph.png?w=1&h=2"}}], image

    time.sleep(QUIET)
    assert len(fake.delivered()) == 1 and len(discord_fake.messages()) == 2
    complaints = [line for line in koishi.output().splitlines() if line.startswith(("[W]", "[E]"))]
    assert complaints == [], koishi.output()
    assert bg.running()


def test_messages_wait_while_koishi_restarts_and_ids_outlive_botgate(gateway, fake,
                                                                     discord_fake, koishi):
    # Koishi goes away; users write on both platforms meanwhile. botgate keeps the events in its
    # inbox and dials again with backoff; once Koishi is back every message is answered, in
    # order per chat.
    cb = FeishuCallbacks(gateway, fake)
    koishi.stop()
    feishu_message(cb, fake, "ping one", chat="oc_koishi_group", chat_type="group")
    feishu_message(cb, fake, "ping two", chat="oc_koishi_group", chat_type="group")
    discord_fake.inject_message(DM_CHANNEL, "ping while away", author_id=USER)
    time.sleep(1.5)
    assert fake.delivered() == [] and discord_fake.messages() == []

    koishi.start()
    koishi.wait_online("feishu", timeout=40)
    koishi.wait_online("discord", timeout=40)
    fake.wait_delivered(2, timeout=15)
    assert [d.text for d in fake.delivered()] == [answer("one", FEISHU), answer("two", FEISHU)]
    assert wait_until(lambda: len(discord_fake.messages()) >= 1, 15), koishi.output()
    assert [m.content for m in discord_fake.messages()] == [answer("while away", DISCORD)]
    assert [m.channel_id for m in discord_fake.messages()] == [DM_CHANNEL]
    time.sleep(QUIET)
    assert len(fake.delivered()) == 2 and len(discord_fake.messages()) == 1

    # Now botgate restarts under a running Koishi: it dials again, and the same user in the same
    # chat has the same OneBot ids as before.
    before = koishi.wait_received("feishu", 2)[-1]
    gateway.stop()
    gateway.restart()
    feishu_message(cb, fake, "ping three", chat="oc_koishi_group", chat_type="group")
    fake.wait_delivered(3, timeout=30)
    assert fake.delivered()[2].text == answer("three", FEISHU)
    received = koishi.wait_received("feishu", 3)
    assert [r["content"] for r in received] == ["ping one", "ping two", "ping three"], received
    after = received[2]
    assert (after["userId"], after["channelId"]) == (before["userId"], before["channelId"])
    assert after["messageId"] != before["messageId"]


@pytest.fixture
def forward_gateway(launch, fake, discord_fake):
    """botgate serving the OneBot forward WebSocket ([onebot] serve = true) for a Feishu and a
    Discord bot, and Koishi (`protocol: 'ws'`) dialing it at /onebot/v11/ws/<bot> with the
    token; both bots online."""
    missing = missing_tools()
    if missing:
        pytest.fail("the Koishi test needs: " + "; ".join(missing))
    bots = [feishu_bot(fake), discord_bot(discord_fake)]

    def make(port, db):
        return (botgate_config(port=port, db_path=db, bots=bots, api_token=API_TOKEN)
                + "\n[onebot]\nserve = true\n"
                + f'access_token = "{TOKEN}"\n'
                + "bots = [\"feishu\", \"discord\"]\n"
                + f"self_ids = {{ feishu = {FEISHU}, discord = {DISCORD} }}\n")

    bg = launch(make)
    assert discord_fake.wait_connected(10), bg.log_text()
    app = KoishiApp({"feishu": FEISHU, "discord": DISCORD}, token=TOKEN, protocol="ws",
                    endpoint=f"ws://127.0.0.1:{bg.port}/onebot/v11/ws/{{bot}}").start()
    try:
        app.wait_online("feishu")
        app.wait_online("discord")
        yield bg, app
    finally:
        app.stop()
        print(f"--- Koishi output ---\n{app.output()[-20000:]}")


def test_koishi_dials_botgate_over_the_forward_websocket(forward_gateway, fake, discord_fake):
    bg, koishi = forward_gateway
    cb = FeishuCallbacks(bg, fake)
    group_mid = feishu_message(cb, fake, "ping forward group", chat="oc_koishi_group",
                               chat_type="group")
    [d] = fake.wait_delivered(1, timeout=15)
    assert d.text == answer("forward group", FEISHU), (d, koishi.output())
    assert d.chat_id == "oc_koishi_group" and d.reply_to == group_mid, d

    dm = discord_fake.inject_message(DM_CHANNEL, "ping forward dm", author_id=USER)
    [reply] = discord_fake.wait_for_messages(1, 15)
    assert reply.content == answer("forward dm", DISCORD), (reply, koishi.output())
    assert reply.channel_id == DM_CHANNEL
    assert (reply.message_reference or {}).get("message_id") == dm, reply

    # Each bot shows Koishi's connection in the API, as a forward one from loopback.
    status, data = bg.api_get("/api/v1/bots")
    assert status == 200, data
    bots = {b["name"]: b for b in json.loads(data)["bots"]}
    for name in ("feishu", "discord"):
        forward = [c for c in bots[name]["connections"] if c.get("kind") == "forward"]
        assert len(forward) == 1, bots[name]
        assert forward[0]["state"] == "connected" and forward[0]["peer"].startswith("127.0.0.1:")
    assert len(koishi.wait_sent("feishu", 1)) == 1 and len(koishi.wait_sent("discord", 1)) == 1
    time.sleep(QUIET)
    assert len(fake.delivered()) == 1 and len(discord_fake.messages()) == 1
    complaints = [line for line in koishi.output().splitlines() if line.startswith(("[W]", "[E]"))]
    assert complaints == [], koishi.output()
