"""botgate on a Redis store ([store] url = "redis://..."): the real binary and a real
redis-server, with the fake Feishu Open API. An answered message, a duplicate answered once, a
kill -9 after the ack with the reply still sent once, and Redis stopped (webhooks 503, the
platform delivers again) and back."""

from __future__ import annotations

import time

import pytest

from botgate_harness import FeishuCallbacks, botgate_config, feishu_bot, wait_until
from redis_server import RedisServer


@pytest.fixture
def redis(tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=True).start()
    yield server
    server.stop()


def config(fake, redis):
    def make(port, db):
        return botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)],
                              store={"url": redis.url, "instance": "it-1"})
    return make


@pytest.fixture
def feishu(fake, launch, redis):
    bg = launch(config(fake, redis))
    return bg, FeishuCallbacks(bg, fake)


def wait_delivered(fake, n, timeout=10.0):
    assert wait_until(lambda: len(fake.delivered()) >= n, timeout), (
        f"expected {n} deliveries; requests: {[(r.endpoint, r.status) for r in fake.requests()]}")
    return fake.delivered()


def assert_quiet(fake, n, seconds=1.0):
    time.sleep(seconds)
    got = fake.delivered()
    assert len(got) == n, [(d.endpoint, d.text) for d in got]
    return got


def test_a_message_is_answered_and_its_state_is_in_redis(fake, feishu, redis):
    bg, cb = feishu
    ev, status = cb.send_text("from redis")
    assert status == 200
    d = wait_delivered(fake, 1)[0]
    assert d.text == "Hello, from redis"
    assert_quiet(fake, 1)
    # The event went through Redis: its log entry and its dedup key are there.
    assert b"botgate:log" in redis.command("KEYS", "botgate:log")
    assert redis.command("XLEN", "botgate:log").startswith(b":1")
    # Its chat's partition of the inbox (one of 16) has this instance as a consumer.
    assert any(b"it-1" in redis.command("XINFO", "CONSUMERS", f"botgate:inbox:6:feishu:{p}",
                                        "botgate")
               for p in range(16))
    bg.stop()


def test_a_duplicate_callback_is_answered_once(fake, feishu):
    bg, cb = feishu
    ev = cb.message("twice")
    assert cb.post_payload(ev)[0] == 200
    assert cb.post_payload(ev)[0] == 200
    wait_delivered(fake, 1)
    got = assert_quiet(fake, 1, 1.5)
    assert got[0].text == "Hello, twice"
    assert fake.count("reply") == 1


def test_kill_9_after_the_ack_still_replies_once(fake, feishu):
    bg, cb = feishu
    fake.hang_sends(True, deliver=False)
    ev, status = cb.send_text("survive")
    assert status == 200
    assert wait_until(lambda: len(fake.hanging()) >= 1, 10), "botgate never tried to send"
    seen_uuid = fake.hanging()[0].uuid
    bg.kill9()
    fake.hang_sends(False)
    bg.restart()
    d = wait_delivered(fake, 1, timeout=15)
    d = assert_quiet(fake, 1, 1.5)
    assert d[0].text == "Hello, survive"
    assert {r.uuid for r in fake.send_requests()} == {seen_uuid}


def test_redis_stopped_answers_503_and_botgate_goes_on_when_it_is_back(fake, feishu, redis):
    bg, cb = feishu
    cb.send_text("before")
    wait_delivered(fake, 1)
    redis.stop()
    ev = cb.message("while down")
    status = cb.post_payload(ev)[0]
    assert status == 503, "nothing may be acknowledged that is not in the store"
    redis.start()  # appendonly: what was accepted before is still there
    # The platform delivers again; once botgate has reconnected it is accepted and answered.
    assert wait_until(lambda: cb.post_payload(ev)[0] == 200, 15), "never accepted after Redis came back"
    got = wait_delivered(fake, 2, timeout=15)
    assert [d.text for d in got] == ["Hello, before", "Hello, while down"]
    assert_quiet(fake, 2)
    assert bg.running()


def test_two_instances_on_one_redis_answer_a_duplicate_once(fake, launch, redis):
    """A first look at several instances (issue 22 goes further): two botgates on one Redis,
    each under its own instance name, the same callback delivered to both."""
    def make(instance):
        def config_fn(port, db):
            return botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)],
                                  store={"url": redis.url, "instance": instance})
        return config_fn

    one = FeishuCallbacks(launch(make("it-1")), fake)
    two = FeishuCallbacks(launch(make("it-2")), fake)
    events = [one.message(f"m{i}") for i in range(6)]
    for i, ev in enumerate(events):
        first, other = (one, two) if i % 2 == 0 else (two, one)  # both get work of their own
        assert first.post_payload(ev)[0] == 200
        assert other.post_payload(ev)[0] == 200  # the platform redelivers to the other one
    got = wait_delivered(fake, 6, timeout=15)
    got = assert_quiet(fake, 6, 1.5)
    assert sorted(d.text for d in got) == sorted(f"Hello, m{i}" for i in range(6))
    assert fake.count("reply") == 6
