"""Feishu/Lark `mode = "longconn"` end to end: the real botgate binary against the strict fake
platform (tests/fakes/feishu_platform_fake.py: the long connection's endpoint and WebSocket,
and the Open API, at one base URL).

What is checked (longconn-and-streaming notes section 1, issue 21): the endpoint fetch, a ping at
once and then at the interval the endpoint and each pong set; events answered as a webhook bot
answers them and acked with the exact echo the platform takes, only once they are durable
(kill -9 right after an ack still gives one reply; kill -9 between receipt and ack gets the
event pushed again, and one reply); duplicates, redeliveries and fragments answered once; a
connection that stops answering pings replaced; a dropped one reconnected; endpoint answers and
handshake refusals sorted into retried and fatal, the fatal ones shown in /api/v1/bots; Lark
alike; the app secret never in the log. The fake records every protocol violation (a bad ping,
an ack that is not the exact echo, a push acked twice) and each test asserts there are none.

Timers are short (PingInterval, ReconnectInterval and ReconnectNonce of 1 s) so that the file
runs in about a minute and a half.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

import feishu_crypto
from botgate_harness import API_TOKEN, botgate_config, feishu_bot, search, wait_until
from fakes.feishu_longconn_fake import (CODE_BAD_CREDENTIALS, CODE_TOO_MANY_CONNECTIONS,
                                        HANDSHAKE_AUTH_FAILED, HANDSHAKE_FORBIDDEN)
from fakes.feishu_platform_fake import FeishuPlatformFake

APP_ID = "cli_a1b2c3d4e5f60718"
APP_SECRET = "LcAppSecret5e9a1f7c3b2d8e40ff"
# Seconds; the platform's own defaults are 120 / 120 / 30.
FAST = {"ping_interval": 1, "reconnect_interval": 1, "reconnect_nonce": 1}
RULES = [{"match": "^ping$", "reply": "pong {user_id}"}]
QUIET = 1.0  # how long "nothing more arrives" is watched for
# What /api/v1/bots shows of each connection, for a gateway as for the long connection.
CONNECTION_KEYS = {"state", "detail", "reconnects", "resumes", "frames_skipped"}


@pytest.fixture
def make_platform():
    """make_platform(**options) -> a started FeishuPlatformFake with short timers."""
    made: list[FeishuPlatformFake] = []

    def make(**kw) -> FeishuPlatformFake:
        for k, v in FAST.items():
            kw.setdefault(k, v)
        f = FeishuPlatformFake(app_id=APP_ID, app_secret=APP_SECRET, **kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        # Shown by pytest only for failing tests.
        try:
            print(f"--- fake: stats {f.stats()}\nviolations {f.violations}\n"
                  f"connections {f.connections()}\nrefusals {f.refusals()}")
        finally:
            f.stop()


def start_bot(launch, fake, *, platform="feishu", name="feishu", app_secret=None,
              wait_ready=True, log_level="debug"):
    bot = feishu_bot(fake, name=name, platform=platform, mode="longconn", encrypt_key=None,
                     verification_token=None, app_secret=app_secret)
    return launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot],
                                                  rules=RULES, api_token=API_TOKEN,
                                                  log_level=log_level),
                  wait_ready=wait_ready)


def text_event(text, **kw):
    """An im.message.receive_v1 body, the same JSON a webhook bot gets decrypted."""
    return feishu_crypto.message_event(text=text, token="", app_id=APP_ID, **kw)


def message_id_of(ev):
    return ev["event"]["message"]["message_id"]


def sender_of(ev):
    return ev["event"]["sender"]["sender_id"]["open_id"]


def replies_to(fake, ev):
    return [d for d in fake.delivered() if d.reply_to == message_id_of(ev)]


def wait_reply(fake, ev, timeout=10.0):
    """The one reply to `ev`, once it came; and nothing more for QUIET seconds."""
    assert wait_until(lambda: replies_to(fake, ev), timeout), (
        f"no reply to {message_id_of(ev)} within {timeout}s; requests seen: "
        + repr([(r.endpoint, r.status, r.code) for r in fake.requests()]))
    time.sleep(QUIET)
    got = replies_to(fake, ev)
    assert len(got) == 1, [(d.endpoint, d.text) for d in got]
    return got[0]


def bot_entry(bg, name="feishu"):
    status, body = bg.api_get("/api/v1/bots")
    assert status == 200, body
    return {b["name"]: b for b in json.loads(body)["bots"]}[name]


def connection_state(bg, name="feishu"):
    """The bot's one connection as /api/v1/bots shows it."""
    entry = bot_entry(bg, name)
    [conn] = entry["connections"]
    assert CONNECTION_KEYS <= set(conn), conn
    return conn


def wait_state(bg, state, timeout=10.0, name="feishu"):
    assert wait_until(lambda: connection_state(bg, name)["state"] == state, timeout), (
        f"connection state {connection_state(bg, name)} after {timeout}s, wanted {state!r}")
    return connection_state(bg, name)


def assert_no_secret(bg):
    found = search({"app_secret": APP_SECRET.encode()},
                   [("botgate log", bg.log_path.read_bytes())])
    assert found == [], found


# ---------------------------------------------------------------------- connect and ping


def test_connects_pings_at_once_then_at_the_interval_the_endpoint_and_pongs_set(
        launch, make_platform):
    fake = make_platform(ping_interval=2)
    bg = start_bot(launch, fake)
    assert fake.wait_connected(1, 10), bg.log_text()
    [req] = fake.requests("endpoint")
    assert req.method == "POST" and req.json() == {"AppID": APP_ID, "AppSecret": APP_SECRET}
    [conn] = fake.connections()

    # A ping at once on connect; the next one PingInterval (2 s, the endpoint's) later. The
    # pong to that one says 1 s: after at most one more ping already timed with 2 s, the pings
    # come every second.
    assert fake.wait_pings(1, 2), fake.pings()
    first = fake.pings()[0]
    assert first["t"] - conn["opened_at"] < 0.5, (first, conn)
    fake.set_client_config(PingInterval=1)
    assert fake.wait_pings(6, 12), fake.pings()
    t = [p["t"] for p in fake.pings()]
    assert 1.6 <= t[1] - t[0] <= 2.8, t
    assert 0.6 <= t[2] - t[1] <= 2.8, t
    for a, b in zip(t[2:5], t[3:6]):
        assert 0.6 <= b - a <= 1.6, t
    assert all(p["conn"] == conn["id"] and p["answered"] for p in fake.pings())

    entry = bot_entry(bg)
    assert entry["platform"] == "feishu" and entry["ready"] is True, entry
    assert connection_state(bg)["state"] == "connected"
    assert fake.stats()["connections"] == 1 and len(fake.requests("endpoint")) == 1
    assert fake.violations == []
    assert_no_secret(bg)


# ---------------------------------------------------------------------- events


def test_events_are_answered_like_webhook_ones_and_acked_with_the_exact_echo(
        launch, make_platform):
    fake = make_platform()
    bg = start_bot(launch, fake)
    assert fake.wait_connected(1, 10), bg.log_text()

    ev = text_event("world")
    mid = fake.push_event(ev)
    assert fake.wait_acked(mid, fake.ack_deadline), (fake.violations, bg.log_text())
    d = wait_reply(fake, ev)
    assert d.endpoint == "reply" and d.msg_type == "text"
    assert d.content == {"text": "Hello, world"}
    assert d.token in fake.issued_tokens()
    assert d.uuid, "a reply must carry a uuid (idempotency key)"
    [ack] = fake.acks()
    assert ack["message_id"] == mid and ack["payload"] == {"code": 200}, ack
    assert 0 <= ack["biz_rt"] < 3000, ack  # the milliseconds botgate took, end minus start

    # A group message: echo stays quiet unless the bot is mentioned; a rule answers a mention.
    chatter = text_event("just chatting", chat_type="group")
    ping = text_event("@_user_1 ping", chat_type="group",
                      mentions=[feishu_crypto.bot_mention(fake.bot_open_id)])
    # An event type botgate does not handle is acked all the same (the webhook answers it 200).
    other = {"schema": "2.0",
             "header": {"event_id": feishu_crypto.new_event_id(),
                        "event_type": "im.chat.member.bot.added_v1", "app_id": APP_ID,
                        "create_time": str(int(time.time() * 1000)), "token": "",
                        "tenant_key": "2ca1d211f64f6438"},
             "event": {"chat_id": "oc_" + "0" * 32}}
    mids = [fake.push_event(x) for x in (chatter, ping, other)]
    for m in mids:
        assert fake.wait_acked(m, fake.ack_deadline), (m, fake.violations, bg.log_text())
    assert wait_reply(fake, ping).text == f"pong {sender_of(ping)}"
    assert replies_to(fake, chatter) == []
    assert len(fake.delivered()) == 2, [(d.endpoint, d.text) for d in fake.delivered()]
    for m in [mid] + mids:
        e = fake.event(m)
        assert (e["delivered"], e["acked"]) == (1, 1), e
    assert fake.violations == []
    assert_no_secret(bg)


def test_the_ack_waits_for_the_inbox_not_the_reply_and_a_kill_after_it_loses_nothing(
        launch, make_platform):
    fake = make_platform()
    bg = start_bot(launch, fake)
    assert fake.wait_connected(1, 10), bg.log_text()

    # The Open API hangs: the reply cannot go out, yet the event is acked within the platform's
    # budget (botgate acks once the event is durable, not after handling it). Killed right
    # after the ack, botgate answers after its restart from what it stored: the platform never
    # pushes the event again.
    fake.hang_sends(True)
    ev = text_event("durable")
    mid = fake.push_event(ev)
    assert fake.wait_acked(mid, fake.ack_deadline), (fake.violations, bg.log_text())
    bg.kill9()
    assert fake.delivered() == []
    fake.hang_sends(False)
    bg.restart()
    d = wait_reply(fake, ev, 15)
    assert d.text == "Hello, durable"
    assert fake.event(mid)["delivered"] == 1

    # Again with a working API: a reply sent before the kill is not sent again after it.
    assert fake.wait_connected(1, 10), bg.log_text()
    ev2 = text_event("durable 2")
    mid2 = fake.push_event(ev2)
    assert fake.wait_acked(mid2, fake.ack_deadline), (fake.violations, bg.log_text())
    bg.kill9()
    bg.restart()
    assert wait_reply(fake, ev2, 15).text == "Hello, durable 2"
    assert fake.event(mid2)["delivered"] == 1
    assert fake.violations == []


def test_an_event_killed_before_its_ack_is_pushed_again_and_answered_once(
        launch, make_platform):
    fake = make_platform(ack_deadline=1.5)
    bg = start_bot(launch, fake)
    assert fake.wait_connected(1, 10), bg.log_text()

    # Frozen, botgate receives the frames but cannot ack; then it dies.
    os.kill(bg.proc.pid, signal.SIGSTOP)
    ev = text_event("lost ack")
    mid = fake.push_event(ev)
    assert wait_until(lambda: fake.event(mid)["delivered"] >= 1, 5)
    time.sleep(0.2)
    bg.kill9()
    assert fake.event(mid)["acked"] == 0
    bg.restart()
    # The platform pushes it again (the ack never came) to the new connection.
    assert fake.wait_acked(mid, 15), (fake.event(mid), fake.violations, bg.log_text())
    assert wait_reply(fake, ev, 10).text == "Hello, lost ack"
    assert fake.event(mid)["delivered"] >= 2
    assert fake.violations == []


def test_a_duplicate_or_redelivered_event_is_acked_and_answered_once(launch, make_platform):
    # Pushes enough that one lost to a reconnect after the thaw still leaves some.
    fake = make_platform(ack_deadline=1.0, max_deliveries=6)
    bg = start_bot(launch, fake)
    assert fake.wait_connected(1, 10), bg.log_text()

    # The same event (same event_id) pushed twice, as two pushes: both acked, one reply.
    ev = text_event("twice")
    first = fake.push_event(ev)
    assert fake.wait_acked(first, fake.ack_deadline), (fake.violations, bg.log_text())
    again = fake.push_event(ev)
    assert fake.wait_acked(again, fake.ack_deadline), (fake.violations, bg.log_text())
    assert wait_reply(fake, ev).text == "Hello, twice"

    # Not acked in time (botgate frozen): the platform pushes it again on the same connection.
    # Thawed, botgate finds both pushes waiting: each is acked, one reply.
    os.kill(bg.proc.pid, signal.SIGSTOP)
    try:
        ev2 = text_event("redelivered")
        mid = fake.push_event(ev2)
        assert wait_until(lambda: fake.event(mid)["delivered"] >= 2, 5), fake.event(mid)
    finally:
        os.kill(bg.proc.pid, signal.SIGCONT)
    assert fake.wait_acked(mid, 10), (fake.event(mid), fake.violations, bg.log_text())
    assert wait_reply(fake, ev2).text == "Hello, redelivered"
    assert len(fake.delivered()) == 2
    assert fake.violations == []


def test_fragments_are_joined_once_whatever_is_repeated(launch, make_platform):
    fake = make_platform()
    bg = start_bot(launch, fake)
    assert fake.wait_connected(1, 10), bg.log_text()

    cases = [(text_event("three fragments " + "x" * 300), {"fragments": 3}),
             (text_event("repeated after " + "y" * 200), {"fragments": 3,
                                                          "repeat_fragment": True}),
             (text_event("repeated early " + "z" * 200), {"fragments": 3,
                                                          "repeat_fragment": "early"}),
             (text_event("with LogIDNew"), {"fragments": 2,
                                            "extra_fields": {"LogIDNew": "20240101-log-new"}})]
    mids = [fake.push_event(ev, **kw) for ev, kw in cases]
    for m in mids:
        assert fake.wait_acked(m, fake.ack_deadline), (m, fake.violations, bg.log_text())
    for ev, _ in cases:
        text = json.loads(ev["event"]["message"]["content"])["text"]
        assert wait_reply(fake, ev, 5).text == "Hello, " + text
    time.sleep(QUIET)  # a second dispatch of a late repeat would be acked by now
    for m in mids:
        e = fake.event(m)
        assert (e["delivered"], e["acked"]) == (1, 1), e
    assert len(fake.delivered()) == len(cases)
    assert fake.violations == []


# ---------------------------------------------------------------------- losing the connection


def test_a_connection_that_stops_answering_pings_is_replaced(launch, make_platform):
    fake = make_platform()
    bg = start_bot(launch, fake)
    assert fake.wait_connected(1, 10), bg.log_text()
    assert fake.wait_pings(2, 5), fake.pings()

    # Half-open: pings get no pong and nothing else is said. With a 1 s PingInterval botgate
    # notices within about a second and fetches the endpoint again for a new connection.
    fake.stop_pongs()
    stopped = time.monotonic()
    assert wait_until(lambda: len(fake.requests("endpoint")) >= 2, 6), (
        fake.pings(), fake.connections(), bg.log_text())
    noticed = time.monotonic() - stopped
    fake.resume_pongs()
    assert wait_until(lambda: not fake.connections()[0]["open"], 3), fake.connections()
    old = fake.connections()[0]
    assert not old["server_closed"], "botgate closed the silent connection itself"
    assert fake.wait_connected(1, 10), (fake.connections(), bg.log_text())

    ev = text_event("after the silence")
    mid = fake.push_event(ev)
    assert fake.wait_acked(mid, 10), (fake.violations, bg.log_text())
    assert wait_reply(fake, ev).text == "Hello, after the silence"
    assert connection_state(bg)["reconnects"] >= 1
    assert wait_state(bg, "connected")
    assert fake.violations == []
    print(f"half-open connection noticed after {noticed:.2f} s")


def test_a_dropped_connection_is_reconnected_with_a_fresh_url(launch, make_platform):
    fake = make_platform()
    bg = start_bot(launch, fake)
    assert fake.wait_connected(1, 10), bg.log_text()

    # A close frame, then a TCP connection that just ends: each time botgate fetches a new URL
    # (a used one is refused) within the ClientConfig's 1 s nonce and interval, and goes on.
    for n, abort in ((2, False), (3, True)):
        assert fake.drop_connections(abort=abort) == 1
        assert wait_until(lambda: fake.stats()["connections"] == n and fake.wait_connected(1, 0),
                          5), (fake.connections(), bg.log_text())
        assert len(fake.requests("endpoint")) == n
        conns = fake.connections()
        assert conns[-2]["server_closed"] and not conns[-2]["open"] and conns[-1]["open"]
        assert conns[-1]["url"] != conns[-2]["url"]
        ev = text_event(f"after drop {n - 1}")
        mid = fake.push_event(ev)
        assert fake.wait_acked(mid, fake.ack_deadline), (fake.violations, bg.log_text())
        assert fake.acks()[-1]["conn"] == conns[-1]["id"]
        assert wait_reply(fake, ev).text == f"Hello, after drop {n - 1}"
    assert fake.refusals() == []
    conn = wait_state(bg, "connected")
    assert conn["reconnects"] >= 2, conn
    assert fake.violations == []


# ---------------------------------------------------------------------- endpoint and handshake


def test_busy_internal_and_http_500_endpoint_answers_are_retried(launch, make_platform):
    fake = make_platform()
    bg = start_bot(launch, fake)
    assert fake.wait_connected(1, 10), bg.log_text()

    # Once the connection is lost, the endpoint is busy, fails inside, then answers HTTP 500:
    # each is retried (at the ClientConfig's 1 s, from the first answer) until one works.
    fake.script_endpoint("busy", "internal", "http500")
    assert fake.drop_connections() == 1
    assert wait_until(lambda: fake.stats()["connections"] == 2 and fake.wait_connected(1, 0),
                      20), ([(r.status, r.code) for r in fake.requests("endpoint")],
                            bg.log_text())
    reqs = fake.requests("endpoint")
    assert [(r.status, r.code) for r in reqs] == [(200, 0), (200, 1), (200, 1000040343),
                                                  (500, None), (200, 0)]
    # Retried at an interval, not in a tight loop.
    assert reqs[-1].t - reqs[1].t >= 1.0, [r.t for r in reqs]
    ev = text_event("finally")
    fake.push_event(ev)
    assert wait_reply(fake, ev).text == "Hello, finally"
    assert wait_state(bg, "connected")
    assert fake.violations == []


def test_wrong_credentials_are_fatal_without_a_retry_storm(launch, make_platform):
    fake = make_platform()
    bg = start_bot(launch, fake, app_secret="not-the-secret-1234567", wait_ready=False)
    conn = wait_state(bg, "fatal")
    assert conn["detail"], conn
    time.sleep(3)  # a client that retried would have fetched the endpoint again by now
    reqs = fake.requests("endpoint")
    assert 1 <= len(reqs) <= 2, [(r.status, r.code) for r in reqs]
    assert all(r.code == CODE_BAD_CREDENTIALS for r in reqs)
    assert fake.stats()["connections"] == 0
    entry = bot_entry(bg)
    assert entry["ready"] is False and entry["last_error"], entry
    assert connection_state(bg)["state"] == "fatal"
    assert bg.get("/readyz")[0] == 503
    assert bg.running()
    assert "not-the-secret-1234567" not in bg.log_text()


@pytest.mark.parametrize("status,autherrcode", [
    (HANDSHAKE_AUTH_FAILED, CODE_TOO_MANY_CONNECTIONS),  # 514: too many connections
    (HANDSHAKE_FORBIDDEN, None),  # 403: the app is banned
], ids=["too-many-connections", "banned"])
def test_a_client_error_handshake_refusal_is_fatal(launch, make_platform, status, autherrcode):
    fake = make_platform()
    fake.refuse_handshakes(status, autherrcode, "refused by the test")
    bg = start_bot(launch, fake, wait_ready=False)
    conn = wait_state(bg, "fatal")
    assert conn["detail"], conn
    time.sleep(3)  # no retry comes
    assert len(fake.refusals()) == 1, fake.refusals()
    assert len(fake.requests("endpoint")) == 1
    assert fake.stats()["connections"] == 0
    assert connection_state(bg)["state"] == "fatal"
    assert bg.get("/readyz")[0] == 503
    assert bg.running()
    assert_no_secret(bg)


def test_a_plain_514_handshake_refusal_is_retried(launch, make_platform):
    fake = make_platform()
    fake.refuse_handshakes(HANDSHAKE_AUTH_FAILED, None, "try again")
    bg = start_bot(launch, fake, wait_ready=False)
    assert fake.wait_connected(1, 15), (fake.refusals(), bg.log_text())
    assert len(fake.refusals()) == 1
    assert len(fake.requests("endpoint")) == 2, "a fresh URL for the retry"
    ev = text_event("after a refusal")
    fake.push_event(ev)
    assert wait_reply(fake, ev).text == "Hello, after a refusal"
    assert wait_state(bg, "connected")
    assert fake.violations == []


# ---------------------------------------------------------------------- Lark


def test_lark_works_the_same(launch, make_platform):
    fake = make_platform()
    bg = start_bot(launch, fake, platform="lark", name="lark", log_level="trace")
    assert fake.wait_connected(1, 10), bg.log_text()
    assert fake.wait_pings(1, 2), fake.pings()
    ev = text_event("hello lark")
    mid = fake.push_event(ev, fragments=2)
    assert fake.wait_acked(mid, fake.ack_deadline), (fake.violations, bg.log_text())
    d = wait_reply(fake, ev)
    assert d.endpoint == "reply" and d.text == "Hello, hello lark"
    entry = bot_entry(bg, "lark")
    assert entry["platform"] == "lark", entry
    assert connection_state(bg, "lark")["state"] == "connected"
    assert fake.violations == []
    assert_no_secret(bg)
