"""Several botgate instances of one bot on one Redis. Discord: each gateway shard is run by one
instance at a time (a store lease), the shards are shared out evenly among the instances (one
that joins is handed its share), and when its holder is killed another takes the shard over
and resumes its session; the strict fake Discord counts the identifies and resumes of each shard
and every time a shard was connected twice at once. Feishu: instances that start together fetch
the access token once between them. The real binary and a real redis-server."""

from __future__ import annotations

import re
import time

import pytest

from botgate_harness import botgate_config, discord_bot, feishu_bot, wait_until
from redis_server import RedisServer

DM_CHANNEL = "700000000000000001"  # DMs go to shard 0
USER = "53908232506183680"


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def start_instances(launch, fake, redis, count):
    bot = discord_bot(fake, shard_count=2)
    return [launch(lambda port, db, name=f"it-{i}": botgate_config(
        port=port, db_path=db, bots=[bot], store={"url": redis.url, "instance": name}),
        wait_ready=False) for i in range(count)]


def holds(bg, shard) -> bool:
    """Whether `bg` runs and its log says it holds the lease of `shard` now: it took it last
    after it last handed the shard over."""
    text = bg.log_text()
    took = text.rfind(f"holding the lease gateway:discord:discord:{shard}/2 ")
    handed = text.rfind(f"shard {shard}/2: handed over")
    return bg.running() and took > handed


def holder_of(instances, shard):
    """The running instance that holds the lease of `shard` by its log (None: none)."""
    found = [bg for bg in instances if holds(bg, shard)]
    assert len(found) <= 1, "two running instances took the same lease"
    return found[0] if found else None


def spread(instances) -> bool:
    """Each shard held, by two different instances."""
    holders = [holder_of(instances, shard) for shard in (0, 1)]
    return None not in holders and holders[0] is not holders[1]


def replies_to(fake, message_id):
    return [m for m in fake.messages()
            if (m.message_reference or {}).get("message_id") == message_id]


def answered_once(fake, message_id, timeout=15.0):
    assert wait_until(lambda: replies_to(fake, message_id), timeout), "never answered"
    time.sleep(1.0)  # a second answer would come by now
    return len(replies_to(fake, message_id)) == 1


def test_each_shard_runs_on_one_instance_and_moves_when_its_holder_dies(
        launch, make_discord_fake, redis):
    fake = make_discord_fake(heartbeat_interval=500, identify_interval=0, max_concurrency=2)
    instances = start_instances(launch, fake, redis, 3)
    logs = lambda: "\n".join(bg.log_text() for bg in instances)  # noqa: E731
    assert fake.wait_connected(15, shard=0) and fake.wait_connected(15, shard=1), logs()
    # The first up may take both shards and hand one over as the others say they take part.
    assert wait_until(lambda: spread(instances), 20), logs()
    # The instance without a shard keeps trying: for a while, nothing changes.
    time.sleep(3)
    assert spread(instances), logs()
    stats = fake.stats()
    assert stats["ready_connections"] == 2, logs()
    assert stats["shard_identifies"] == {0: 1, 1: 1}, logs()
    assert stats["shard_overlaps"] == {}, logs()

    first = fake.inject_message(DM_CHANNEL, "before", author_id=USER)
    assert answered_once(fake, first), logs()

    holder = holder_of(instances, 0)
    assert holder is not None, logs()
    holder.kill9()
    killed_at = time.monotonic()
    # Sent while nobody runs shard 0: Discord keeps it for the session, the resume replays it.
    during = fake.inject_message(DM_CHANNEL, "during", author_id=USER)
    assert wait_until(lambda: fake.stats()["shard_resumes"].get(0, 0) >= 1, 20), logs()
    took = time.monotonic() - killed_at
    assert took < 15, f"shard 0 was resumed {took:.1f} s after its holder died"
    assert fake.wait_connected(5, shard=0), logs()
    new_holder = holder_of(instances, 0)
    assert new_holder is not None and new_holder is not holder, logs()

    after = fake.inject_message(DM_CHANNEL, "after", author_id=USER)
    assert answered_once(fake, during), logs()
    assert answered_once(fake, after), logs()
    stats = fake.stats()
    assert stats["shard_identifies"] == {0: 1, 1: 1}, "the session was resumed, not replaced"
    assert stats["shard_overlaps"] == {}, logs()
    assert stats["ready_connections"] == 2, logs()


def test_a_stopped_holder_frees_its_shards_at_once(launch, make_discord_fake, redis):
    fake = make_discord_fake(heartbeat_interval=500, identify_interval=0, max_concurrency=2)
    first, second = start_instances(launch, fake, redis, 2)
    assert fake.wait_connected(15, shard=0) and fake.wait_connected(15, shard=1)
    assert wait_until(lambda: spread([first, second]), 20)
    holder = holder_of([first, second], 0)
    other = second if holder is first else first
    holder.stop()
    stopped_at = time.monotonic()
    # The lease is released on a clean stop: the other instance need not wait for its expiry,
    # only for its next attempt (every 2 s).
    assert wait_until(lambda: holder_of([other], 0) is other, 10), other.log_text()
    assert wait_until(lambda: fake.stats()["ready_connections"] == 2, 5)
    assert time.monotonic() - stopped_at < 6
    assert fake.stats()["shard_overlaps"] == {}
    m = fake.inject_message(DM_CHANNEL, "still here", author_id=USER)
    assert answered_once(fake, m)


def test_an_instance_that_joins_gets_its_share_of_the_shards_handed_over(
        launch, make_discord_fake, redis):
    """The first instance up holds both shards; a second one that joins later is handed one
    (resumed, not identified again), so that the two share the load."""
    fake = make_discord_fake(heartbeat_interval=500, identify_interval=0, max_concurrency=2)
    [first] = start_instances(launch, fake, redis, 1)
    assert fake.wait_connected(15, shard=0) and fake.wait_connected(15, shard=1), first.log_text()
    assert holder_of([first], 0) is first and holder_of([first], 1) is first, first.log_text()

    second = launch(lambda port, db: botgate_config(
        port=port, db_path=db, bots=[discord_bot(fake, shard_count=2)],
        store={"url": redis.url, "instance": "it-joined"}), wait_ready=False)
    logs = lambda: first.log_text() + "\n" + second.log_text()  # noqa: E731
    assert wait_until(lambda: spread([first, second]), 20), logs()
    moved = 0 if holder_of([second], 0) is second else 1
    assert first.log_text().count("handed over to another instance") == 1, logs()
    assert wait_until(lambda: fake.stats()["shard_resumes"].get(moved, 0) >= 1, 10), logs()
    assert wait_until(lambda: fake.stats()["ready_connections"] == 2, 10), logs()
    time.sleep(5)  # two more balancing rounds: it stays as it is
    stats = fake.stats()
    assert stats["shard_identifies"] == {0: 1, 1: 1}, "the moved shard was resumed"
    assert stats["shard_overlaps"] == {}, logs()
    assert stats["ready_connections"] == 2, logs()
    assert spread([first, second]), logs()
    assert first.log_text().count("handed over to another instance") == 1, logs()
    m = fake.inject_message(DM_CHANNEL, "shared", author_id=USER)
    assert answered_once(fake, m), logs()


def test_instances_starting_together_fetch_the_token_once(launch, fake, redis):
    # Each instance needs the tenant_access_token to be ready. A slow token endpoint makes the
    # instances (started one after another, each in well under a second) all need it while the
    # first fetch is still running.
    fake.delay_answers("token", 3.0)
    started = time.monotonic()
    instances = [launch(lambda port, db, name=f"it-{i}": botgate_config(
        port=port, db_path=db, bots=[feishu_bot(fake)],
        store={"url": redis.url, "instance": name}), wait_ready=False) for i in range(3)]
    assert time.monotonic() - started < 2.5, "the instances did not start together"
    for bg in instances:
        bg.wait_status("/readyz", 200, 20)  # ready: it has the token
    assert fake.count("token") == 1, [bg.log_text() for bg in instances]

