"""Three botgate instances on one Redis keep a platform's per-bot rate limit together, not each
in full: a WeCom group bot's 20 messages a minute per webhook (the strict fake refuses the 21st
with 45009), Discord's global requests a second per bot (the fake answers a global 429 past
its limit), and a Feishu app's 50 messages a second (the fake answers 429 code 99991400). Messages of many chats are queued through the send API, so that each instance sends
some: the chats are spread over the instances by the store's partitions. The real binary and a
real redis-server."""

from __future__ import annotations

import json
import time
from collections import defaultdict

import pytest

from botgate_harness import (API_TOKEN, botgate_config, discord_bot, feishu_bot, wecom_bot,
                             wait_until)
from redis_server import RedisServer

PARTITIONS = 16


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def start_instances(launch, redis, bot: dict) -> list:
    return [launch(lambda port, db, name=f"it-{i}": botgate_config(
        port=port, db_path=db, bots=[bot], echo=False, api_token=API_TOKEN,
        store={"url": redis.url, "instance": name}), wait_ready=False) for i in (1, 2, 3)]


def partition_of(lane: str) -> int:
    """store/redis_partitions' partition_of: FNV-1a of the chat lane, mod 16."""
    h = 2166136261
    for byte in lane.encode():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h % PARTITIONS


def partition_holders(redis, bot: str) -> dict[int, str]:
    """Partition -> the instance that serves it now (its lease), for the partitions held."""
    held = {}
    for p in range(PARTITIONS):
        lease = redis.command("GET", f"botgate:lease:{len(bot)}:{bot}:{p}").decode()
        # "$<n>\r\n<instance>/<random> <epoch>\r\n", or "$-1" when free
        if "\r\n" in lease and not lease.startswith("$-1"):
            held[p] = lease.split("\r\n")[1].split("/")[0]
    return held


def spread_chats(redis, bot: str, chat_type: str, count: int, make_id) -> list[str]:
    """`count` chat ids whose partitions are served by all three instances, about a third each:
    waits until the instances share the bot's partitions (they hand them over as they join)."""
    assert wait_until(lambda: len(set(partition_holders(redis, bot).values())) == 3, 20), (
        partition_holders(redis, bot))
    holders = partition_holders(redis, bot)
    by_instance: dict[str, list[str]] = defaultdict(list)
    n = 0
    while sum(len(v) for v in by_instance.values()) < count:
        chat = make_id(n)
        n += 1
        owner = holders.get(partition_of(f"{chat_type}\n{chat}"))
        if owner is not None and len(by_instance[owner]) < count // 3 + 1:
            by_instance[owner].append(chat)
    assert len(by_instance) == 3, by_instance
    chats = [c for chats in by_instance.values() for c in chats]
    return chats[:count]


def send(bg, body: dict) -> int:
    status, _, data = bg.api_request("POST", "/api/v1/messages", json.dumps(body).encode())
    assert status == 202, data
    return json.loads(data)["id"]


def state_of(bg, message_id) -> dict:
    status, data = bg.api_get(f"/api/v1/messages/{message_id}")
    assert status == 200, data
    return json.loads(data)


def test_three_instances_send_a_wecom_webhook_twenty_messages_a_minute_between_them(
        redis, launch, wecom_fake):  # redis first: it stops after the instances
    key = wecom_fake.add_webhook_key()
    bot = wecom_bot(wecom_fake, token=None, encoding_aes_key=None,
                    webhook_url=wecom_fake.webhook_url(key))
    instances = start_instances(launch, redis, bot)
    chats = spread_chats(redis, "wecom", "group", 30, lambda n: f"chat-{n}")
    # Every message goes to the bot's one webhook, whichever instance serves its chat.
    ids = [(i % 3, send(instances[i % 3], {"bot": "wecom", "chat_id": chat, "text": f"m{i}"}))
           for i, chat in enumerate(chats)]
    assert wait_until(lambda: len(wecom_fake.delivered(key=key)) >= 20, 10), (
        len(wecom_fake.delivered(key=key)))
    time.sleep(2.0)  # more would have come by now
    assert len(wecom_fake.delivered(key=key)) == 20
    refused = [r for r in wecom_fake.requests("webhook") if r.errcode != 0]
    assert refused == [], "no instance sent past the limit into WeCom's 45009"
    # The other ten wait in the outbox for the window, to be tried again, not failed.
    states = [state_of(instances[i], message_id)["state"] for i, message_id in ids]
    assert states.count("sent") == 20, states
    assert states.count("retrying") == 10, states


def test_three_instances_keep_discords_global_limit_between_them(redis, launch,
                                                                 make_discord_fake):
    # 10 requests a second for the bot (the fake's global limit, and the bot's setting), with
    # 5 a second per channel: sending in 30 channels, the global limit is what binds.
    fake = make_discord_fake(global_limit=10)
    bot = discord_bot(fake, requests_per_second=10)
    instances = start_instances(launch, redis, bot)
    assert fake.wait_connected(15)
    channels = spread_chats(redis, "discord", "group", 30,
                            lambda n: str(645027906669510000 + n))
    for channel in channels:
        fake.add_channel(channel, "290926798626357999")
    started = time.monotonic()
    for i, channel in enumerate(channels):
        send(instances[i % 3], {"bot": "discord", "chat_id": channel, "text": f"m{i}"})
    assert wait_until(lambda: len(fake.messages()) >= 30, 15), len(fake.messages())
    took = time.monotonic() - started
    limited = [(r.path, round(r.t - started, 3)) for r in fake.requests() if r.status == 429]
    assert limited == [], "no instance sent past the bot's global limit"
    # 30 requests at 10 a second (and a little): the last ten go two seconds after the first.
    assert took >= 2.0, took


def test_three_instances_send_a_feishu_app_fifty_messages_a_second_between_them(redis, launch,
                                                                               fake):
    bot = feishu_bot(fake)
    instances = start_instances(launch, redis, bot)
    chats = spread_chats(redis, "feishu", "group", 160, lambda n: f"oc_{n:032x}")
    started = time.monotonic()
    for i, chat in enumerate(chats):
        send(instances[i % 3], {"bot": "feishu", "chat_id": chat, "text": f"m{i}"})
    assert wait_until(lambda: len(fake.delivered()) >= 160, 20), len(fake.delivered())
    took = time.monotonic() - started
    assert fake.app_limited() == 0, "no instance sent past the app's 50 a second"
    # 160 messages at 50 a second at most (counted over 1.1 s): three windows at least.
    assert took >= 2.0, took
    times = sorted(d.t for d in fake.delivered())
    for i in range(50, len(times)):
        assert times[i] - times[i - 50] >= 1.0, "51 deliveries within a second"
