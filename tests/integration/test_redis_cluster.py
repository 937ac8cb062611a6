"""Three botgate instances on one Redis behave as one Feishu bot: callbacks round-robined over
them with each duplicate sent to another instance are answered once each, in each chat's order;
one instance killed with -9 mid-burst has its pending events answered by the others (Feishu's
`uuid` makes a resend of a reply it had sent idempotent: the fake delivers a uuid once); Redis
restarted mid-burst (AOF, appendfsync always) loses nothing; an event accepted by an instance
that does not serve its chat is handled by the one that does within milliseconds; the event
stream on any instance carries every instance's events, and a client resumes on another; the
console's message log on any instance shows every instance's events and replies."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict

import pytest

from botgate_harness import API_TOKEN, FeishuCallbacks, botgate_config, feishu_bot, wait_until
from redis_server import RedisServer
from test_event_stream import SseClient

CHATS = 8


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    yield server
    server.stop()


@pytest.fixture
def cluster(redis, fake, launch):  # redis first: it stops after the instances
    def make(instance):
        def config_fn(port, db):
            return botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)],
                                  store={"url": redis.url, "instance": instance})
        return config_fn

    instances = [FeishuCallbacks(launch(make(f"it-{i}")), fake) for i in (1, 2, 3)]
    # The first one up serves every chat, and hands partitions over to the others as they join
    # (a few lease rounds of 2.5 s): settled when all three serve some.
    assert wait_until(lambda: len(lease_holders(redis)) == 3, 20), lease_holders(redis)
    return instances


def lease_holders(redis, partitions=range(16)) -> dict[str, int]:
    """Instance name -> how many of `partitions` of the bot it serves now (their leases)."""
    count: dict[str, int] = defaultdict(int)
    for p in partitions:
        lease = redis.command("GET", f"botgate:lease:6:feishu:{p}").decode()
        # "$<n>\r\n<instance>/<random> <epoch>\r\n", or "$-1" when free
        if "\r\n" in lease and not lease.startswith("$-1"):
            count[lease.split("\r\n")[1].split("/")[0]] += 1
    return count


def chat_id(c: int) -> str:
    return f"oc_{c:032x}"


def burst(cb: FeishuCallbacks, rounds: int, tag: str = "m") -> list[tuple[int, dict]]:
    """Events for CHATS chats, `rounds` each, interleaved: [(chat, event)] in send order."""
    return [(c, cb.message(f"{tag}{c}-{r}", chat_id=chat_id(c)))
            for r in range(rounds) for c in range(CHATS)]


def post_until_accepted(instances: list[FeishuCallbacks], start: int, ev: dict,
                        timeout: float = 20.0) -> None:
    """Posts to the instances in turn from `start`, as a load balancer and a platform that
    delivers again would, until one answers 200."""
    deadline = time.monotonic() + timeout
    for i in itertools.count(start):
        cb = instances[i % len(instances)]
        try:
            if cb.bg.running() and cb.post_payload(ev)[0] == 200:
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, "no instance accepted the event"
        time.sleep(0.05)


def answers_by_chat(fake) -> dict[str, list[str]]:
    by_chat: dict[str, list[str]] = defaultdict(list)
    for d in fake.delivered():
        text = d.text
        assert text.startswith("Hello, "), text
        body = text[len("Hello, "):]
        by_chat[body.split("-")[0]].append(body)
    return by_chat


def assert_answered_once_in_order(fake, events: list[tuple[int, dict]], tag: str = "m"):
    expected = [f"{tag}{c}-{r}" for c, r in
                ((c, r) for r in range(len(events) // CHATS) for c in range(CHATS))]
    got = [d.text[len("Hello, "):] for d in fake.delivered()]
    assert sorted(got) == sorted(expected), "each message answered exactly once"
    for chat, bodies in answers_by_chat(fake).items():
        rounds = [int(b.split("-")[1]) for b in bodies]
        assert rounds == sorted(rounds), f"chat {chat} answered out of order: {bodies}"


def wait_answers(fake, n: int, timeout: float) -> None:
    assert wait_until(lambda: len(fake.delivered()) >= n, timeout), (
        f"{len(fake.delivered())} of {n} answered; "
        f"requests: {[(r.endpoint, r.status) for r in fake.requests()][-20:]}")


def test_round_robin_with_duplicates_answers_each_message_once_in_chat_order(fake, cluster,
                                                                            redis):
    events = burst(cluster[0], rounds=4)
    for i, (_, ev) in enumerate(events):
        assert cluster[i % 3].post_payload(ev)[0] == 200
        assert cluster[(i + 1) % 3].post_payload(ev)[0] == 200  # redelivered to another one
    wait_answers(fake, len(events), 20)
    time.sleep(1.5)  # nothing more comes
    assert_answered_once_in_order(fake, events)
    assert fake.uuid_repeats() == [], "no instance sent a reply another had sent"
    assert len(lease_holders(redis)) == 3, "the chats stay spread over the three"


def partition_of(lane: str) -> int:
    """store/redis_partitions' partition_of: FNV-1a of the chat lane, mod 16."""
    h = 2166136261
    for byte in lane.encode():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h % 16


def chat_holders(redis) -> dict[str, int]:
    """Instance name -> how many of the test's chats it serves now."""
    return lease_holders(redis, [partition_of(f"private\n{chat_id(c)}") for c in range(CHATS)])


def test_an_instance_killed_mid_burst_has_its_events_answered_by_the_others(fake, cluster,
                                                                           redis):
    events = burst(cluster[0], rounds=6)
    half = len(events) // 2
    # Sends are delivered but their answers never come: every chat has a reply out, sent at the
    # platform and not known to be (the worst moment to die).
    fake.hang_sends(True, deliver=True)
    for i, (_, ev) in enumerate(events[:half]):
        post_until_accepted(cluster, i, ev)
    assert wait_until(lambda: len(fake.hanging()) >= CHATS, 15), "a chat's reply was not sent"
    # The instance serving the most of the chats dies (the others serve some too).
    served = chat_holders(redis)
    victim = max(served, key=served.get)
    assert served[victim] > 0
    dead = next(cb for cb in cluster if cb.bg.config_path.read_text().count(f'"{victim}"'))
    dead.bg.kill9()
    fake.hang_sends(False)
    alive = [cb for cb in cluster if cb is not dead]
    for i, (_, ev) in enumerate(events[half:], start=half):
        post_until_accepted(alive, i, ev)
    # Its partitions' leases lapse (10 s) and the others take them over with what was pending;
    # the hanging sends of the others time out (10 s) and are sent again. Each resend carries
    # the first one's uuid: the platform does not deliver it twice.
    wait_answers(fake, len(events), 45)
    time.sleep(1.5)
    assert_answered_once_in_order(fake, events)
    assert fake.uuid_repeats(), "the replies out when it died were sent again, idempotently"
    assert all(cb.bg.running() for cb in alive)


def test_redis_restarted_mid_burst_loses_nothing(fake, cluster, redis):
    events = burst(cluster[0], rounds=4)
    half = len(events) // 2
    for i, (_, ev) in enumerate(events[:half]):
        post_until_accepted(cluster, i, ev)
    redis.stop()  # SIGTERM: with appendfsync always, everything acknowledged is on disk
    # While it is down, callbacks are refused (503): the platform delivers them again.
    _, ev = events[half]
    assert cluster[1].post_payload(ev)[0] == 503
    redis.start()
    for i, (_, ev) in enumerate(events[half:], start=half):
        post_until_accepted(cluster, i, ev, timeout=30)
    wait_answers(fake, len(events), 40)
    time.sleep(1.5)
    assert_answered_once_in_order(fake, events)
    assert all(cb.bg.running() for cb in cluster)


def test_an_instance_that_does_not_serve_the_chat_wakes_the_one_that_does(fake, cluster, redis):
    """Accepted by one instance, handled by another: told through Redis at once, not by the
    once-a-second poll."""
    latencies = []
    for c in range(CHATS):
        lane_holder = lease_holders(redis, [partition_of(f"private\n{chat_id(c)}")])
        holder = next(iter(lane_holder))
        other = next(cb for i, cb in enumerate(cluster) if f"it-{i + 1}" != holder)
        before = len(fake.delivered())
        started = time.monotonic()
        assert other.post_payload(other.message(f"w{c}-0", chat_id=chat_id(c)))[0] == 200
        assert wait_until(lambda: len(fake.delivered()) > before, 5, interval=0.005)
        latencies.append(time.monotonic() - started)
    latencies.sort()
    # The poll alone would answer in 0.5 s on average; the wake-up takes milliseconds.
    assert latencies[len(latencies) // 2] < 0.25, latencies


def test_the_event_stream_on_any_instance_carries_every_instances_events(fake, redis, launch):
    def config_fn(instance):
        return lambda port, db: botgate_config(
            port=port, db_path=db, bots=[feishu_bot(fake)], echo=False, api_token=API_TOKEN,
            store={"url": redis.url, "instance": instance})

    one, two = (FeishuCallbacks(launch(config_fn(f"es-{i}")), fake) for i in (1, 2))
    client = SseClient(two.bg.port)
    try:
        assert client.status == 200, client.read_body()
        for i in range(6):
            ev = (one, two)[i % 2].message(f"s{i}", chat_id=chat_id(i % 3))
            assert (one, two)[i % 2].post_payload(ev)[0] == 200
        got = client.events(6)
        assert [e["message"]["text"] for _, e in got] == [f"s{i}" for i in range(6)]
        cursors = [c for c, _ in got]
        assert cursors == sorted(cursors) and len(set(cursors)) == 6
    finally:
        client.close()
    # Back on the other instance with its last cursor but two: exactly what followed it.
    for i in range(6, 8):
        ev = one.message(f"s{i}", chat_id=chat_id(0))
        assert one.post_payload(ev)[0] == 200
    again = SseClient(one.bg.port, query=f"?after={cursors[3]}")
    try:
        assert again.status == 200, again.read_body()
        assert [e["message"]["text"] for _, e in again.events(4)] == ["s4", "s5", "s6", "s7"]
    finally:
        again.close()


def test_every_instances_console_shows_every_instances_messages(fake, redis, launch):
    """The message log behind the console is shared: an event one instance accepted and the
    reply another sent show on both, with the reply's outcome, a long poll on one wakes for
    the other's events, and an instance started later begins with the recent entries."""
    def config_fn(instance):
        return lambda port, db: botgate_config(
            port=port, db_path=db, bots=[feishu_bot(fake)], api_token=API_TOKEN,
            store={"url": redis.url, "instance": instance})

    def log_of(cb, query: str) -> dict:
        status, body = cb.bg.api_get(f"/api/v1/log?{query}")
        assert status == 200, body
        return json.loads(body)

    def settled(cb, chat: str, texts: set[str]) -> bool:
        """The chat's log on `cb` has the events and their replies, every reply sent."""
        entries = log_of(cb, f"chat={chat}")["entries"]
        incoming = {e["text"] for e in entries if e["direction"] == "in"}
        replies = [e for e in entries if e["direction"] == "out"]
        return (incoming == texts and len(replies) == len(texts)
                and all(e["outcome"] == "sent" for e in replies))

    one, two = (FeishuCallbacks(launch(config_fn(f"log-{i}")), fake) for i in (1, 2))
    chats = [chat_id(c) for c in range(4)]
    for c, chat in enumerate(chats):
        cb = (one, two)[c % 2]
        assert cb.post_payload(cb.message(f"log{c}", chat_id=chat))[0] == 200
    wait_answers(fake, len(chats), 10)
    for cb in (one, two):
        for c, chat in enumerate(chats):
            assert wait_until(lambda: settled(cb, chat, {f"log{c}"}), 5), (
                cb.bg.port, log_of(cb, f"chat={chat}"))

    # A long poll on `two` is woken by an event `one` accepts.
    head = log_of(two, "limit=1")["seq"]
    result: dict = {}
    poller = threading.Thread(target=lambda: result.update(
        log_of(two, f"after={head}&wait_ms=5000&chat={chats[0]}")))
    poller.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert one.post_payload(one.message("woken", chat_id=chats[0]))[0] == 200
    poller.join(8)
    assert not poller.is_alive()
    assert time.monotonic() - started < 2, "the poll waited for its timeout"
    assert "woken" in [e["text"] for e in result["entries"]], result

    # A third instance starts with what the others logged.
    three = FeishuCallbacks(launch(config_fn("log-3")), fake)
    assert wait_until(lambda: settled(three, chats[1], {"log1"}), 5), log_of(three, "")
