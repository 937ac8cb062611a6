"""Self-tests of the fake Discord (tests/fakes/discord_fake.py) with a small Python client
(websockets + urllib), and of the Discord harness helpers, so that failures of the botgate
tests point at botgate."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Any, Optional

import pytest
import websockets
import websockets.exceptions
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from botgate_harness import (botgate_config, discord_bot, discord_interaction, discord_public_key,
                             discord_sign, discord_signed_headers, free_port, wait_until)
from fakes.discord_fake import DEFAULT_INTENTS, MESSAGE_CONTENT, DiscordFake

UA = "DiscordBot (https://example.invalid/botgate-tests, 1.0)"
GUILD = "290926798626357999"
CHANNEL = "645027906669510667"
OTHER_CHANNEL = "645027906669510668"
USER = "53908232506183680"
QUERY = "/?v=10&encoding=json"
NO_MESSAGE_CONTENT = DEFAULT_INTENTS & ~MESSAGE_CONTENT


@pytest.fixture
def dfake():
    f = DiscordFake(heartbeat_interval=500).start()
    yield f
    f.stop()


@pytest.fixture
def make_fake():
    made: list[DiscordFake] = []

    def make(**kw: Any) -> DiscordFake:
        kw.setdefault("heartbeat_interval", 500)
        f = DiscordFake(**kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


def run(coro) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 15))


# ---------------------------------------------------------------------- gateway client


class Gw:
    """One gateway connection of the test client."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str, query: str = QUERY) -> "Gw":
        ws = await websockets.connect(url + query, open_timeout=5, close_timeout=2,
                                      ping_interval=None, compression=None)
        return cls(ws)

    async def recv(self, timeout: float = 3.0) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def send(self, obj: Any) -> None:
        await self.ws.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def hello(self) -> dict:
        m = await self.recv()
        assert m["op"] == 10, m
        return m

    async def identify(self, token: str, intents: int = DEFAULT_INTENTS,
                       shard: Optional[list[int]] = None) -> None:
        await self.send({"op": 2, "d": {
            "token": token, "intents": intents,
            "properties": {"os": "linux", "browser": "test", "device": "test"},
            "compress": False, "large_threshold": 50, "shard": shard or [0, 1]}})

    async def ready(self, fake: DiscordFake, **kw: Any) -> dict:
        await self.hello()
        await self.identify(fake.token, **kw)
        m = await self.recv()
        assert m["op"] == 0 and m["t"] == "READY", m
        return m

    async def resume(self, token: str, session_id: str, seq: int) -> None:
        await self.send({"op": 6, "d": {"token": token, "session_id": session_id, "seq": seq}})

    async def closed(self, timeout: float = 3.0) -> int:
        """Reads (and drops) frames until the server closes; returns the close code."""
        async def drain() -> None:
            try:
                while True:
                    await self.ws.recv()
            except websockets.exceptions.ConnectionClosed:
                pass
        await asyncio.wait_for(drain(), timeout)
        return self.ws.close_code

    async def silent(self, seconds: float) -> None:
        """Asserts nothing arrives for `seconds`."""
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(self.ws.recv(), seconds)


# ---------------------------------------------------------------------- REST client


def rest(fake: DiscordFake, method: str, path: str, body: Any = None, *,
         token: Optional[str] = "default", ua: Optional[str] = UA,
         headers: Optional[dict[str, str]] = None, raw: Optional[bytes] = None,
         content_type: str = "application/json", base: Optional[str] = None,
         ) -> tuple[int, dict[str, str], Any]:
    """(status, headers with lower-case names, JSON body or raw bytes) of one API call."""
    h: dict[str, str] = {}
    if ua is not None:
        h["User-Agent"] = ua
    if token == "default":
        token = fake.token
    if token is not None:
        h["Authorization"] = f"Bot {token}"
    data = raw
    if data is None and body is not None:
        data = json.dumps(body).encode()
    if data is not None:
        h["Content-Type"] = content_type
    h.update(headers or {})
    req = urllib.request.Request((base or fake.api_base) + path, data=data, method=method,
                                 headers=h)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            status, rh, out = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, rh, out = e.code, e.headers, e.read()
    hdrs = {k.lower(): v for k, v in rh.items()}
    try:
        parsed = json.loads(out) if out else None
    except ValueError:
        parsed = out
    return status, hdrs, parsed


def post_message(fake: DiscordFake, channel: str, body: Any, **kw: Any):
    return rest(fake, "POST", f"/channels/{channel}/messages", body, **kw)


# ---------------------------------------------------------------------- gateway


def test_hello_identify_ready(dfake):
    async def scenario() -> dict:
        gw = await Gw.open(dfake.gateway_url)
        hello = await gw.recv()
        assert hello == {"op": 10, "d": {"heartbeat_interval": 500}, "s": None, "t": None}
        await gw.identify(dfake.token)
        ready = await gw.recv()
        await gw.ws.close(4000)
        return ready

    ready = run(scenario())
    assert ready["op"] == 0 and ready["t"] == "READY" and ready["s"] == 1
    d = ready["d"]
    assert d["v"] == 10
    assert d["user"]["id"] == dfake.bot_id and d["user"]["bot"] is True
    assert d["user"]["username"] == "fakebot"
    assert len(d["session_id"]) >= 16
    assert d["resume_gateway_url"] == dfake.resume_url != dfake.gateway_url
    assert d["shard"] == [0, 1]
    assert d["application"]["id"] == dfake.application_id
    s = dfake.stats()
    assert s["identifies"] == 1 and s["connections"] == 1
    assert dfake.identify_payloads()[0]["intents"] == DEFAULT_INTENTS


def _identify(token: str = "", **d: Any) -> dict:
    base = {"token": token, "intents": DEFAULT_INTENTS,
            "properties": {"os": "linux", "browser": "t", "device": "t"}, "shard": [0, 1]}
    base.update(d)
    return {"op": 2, "d": base}


@pytest.mark.parametrize("case,frames,code", [
    ("wrong token", lambda t: [_identify("not-the-token")], 4004),
    ("Bot prefix in identify", lambda t: [_identify("Bot " + t)], 4004),
    ("shard id >= count", lambda t: [_identify(t, shard=[1, 1])], 4010),
    ("undefined intent bit", lambda t: [_identify(t, intents=1 << 18)], 4013),
    ("not JSON", lambda t: ["{not json"], 4002),
    ("too large", lambda t: [json.dumps({"op": 3, "d": {"x": "y" * 5000}})], 4002),
    ("unknown op", lambda t: [{"op": 5, "d": None}], 4001),
    ("server-only op", lambda t: [{"op": 11, "d": None}], 4001),
    ("presence before identify", lambda t: [{"op": 3, "d": {"status": "online"}}], 4003),
    ("second identify", lambda t: [_identify(t), _identify(t)], 4005),
])
def test_gateway_close_codes(dfake, case, frames, code):
    async def scenario() -> int:
        gw = await Gw.open(dfake.gateway_url)
        await gw.hello()
        for f in frames(dfake.token):
            await gw.send(f)
        return await gw.closed()

    assert run(scenario()) == code, case
    assert dfake.stats()["server_close_codes"] == [code]
    if code != 4005:
        assert dfake.stats()["identifies"] == 0


def test_gateway_url_needs_version_and_encoding(dfake):
    async def scenario() -> list[int]:
        codes = []
        for q in ("/?v=9&encoding=json", "/?encoding=json", "/?v=10&encoding=etf",
                  "/?v=10&encoding=json&compress=zlib-stream"):
            gw = await Gw.open(dfake.gateway_url, q)
            codes.append(await gw.closed())  # closed before any Hello
        with pytest.raises(websockets.exceptions.InvalidStatusCode):
            await Gw.open(dfake.gateway_url, "/gateway" + QUERY)
        return codes

    assert run(scenario()) == [4012] * 4


def test_disallowed_intents_close_4014_and_content_is_hidden_without_it(make_fake):
    fake = make_fake(message_content=False)

    async def scenario() -> tuple[int, list[dict]]:
        gw = await Gw.open(fake.gateway_url)
        await gw.hello()
        await gw.identify(fake.token, intents=DEFAULT_INTENTS)
        code = await gw.closed()
        gw = await Gw.open(fake.gateway_url)
        await gw.ready(fake, intents=NO_MESSAGE_CONTENT)
        fake.inject_message(CHANNEL, "!prefix command", guild_id=GUILD)
        fake.inject_message(CHANNEL, f"<@{fake.bot_id}> hello", guild_id=GUILD)
        fake.inject_message("700000000000000001", "a DM")  # DMs keep their content
        got = [await gw.recv() for _ in range(3)]
        await gw.ws.close(4000)
        return code, got

    code, got = run(scenario())
    assert code == 4014
    assert [m["t"] for m in got] == ["MESSAGE_CREATE"] * 3
    assert [m["d"]["content"] for m in got] == ["", f"<@{fake.bot_id}> hello", "a DM"]
    assert got[1]["d"]["mentions"][0]["id"] == fake.bot_id
    assert "guild_id" not in got[2]["d"] and got[2]["d"]["channel_type"] == 1


def test_heartbeat_ack_zombie_and_server_request(dfake):
    async def scenario() -> tuple[dict, dict]:
        gw = await Gw.open(dfake.gateway_url)
        await gw.ready(dfake)
        await gw.send({"op": 1, "d": 1})
        ack = await gw.recv()
        dfake.stop_acks()
        await gw.send({"op": 1, "d": 1})
        await gw.silent(0.3)  # no ACK: a zombie connection
        dfake.resume_acks()
        dfake.request_heartbeat()
        request = await gw.recv()
        await gw.ws.close(4000)
        return ack, request

    ack, request = run(scenario())
    assert ack == {"op": 11, "d": None, "s": None, "t": None}
    assert request["op"] == 1
    assert dfake.heartbeat_seqs() == [1, 1]
    s = dfake.stats()
    assert (s["heartbeats"], s["acks_sent"], s["heartbeat_requests"]) == (2, 1, 1)
    # The fake records the close when its handler sees it, just after the client has sent it.
    assert wait_until(lambda: dfake.stats()["last_client_close_code"] == 4000, 3)


def test_missing_heartbeats_close_4009_and_end_the_session(make_fake):
    fake = make_fake(heartbeat_interval=200)  # timeout 1.3 s

    async def scenario() -> tuple[int, dict]:
        gw = await Gw.open(fake.gateway_url)
        ready = await gw.ready(fake)
        code = await gw.closed(timeout=4)
        gw = await Gw.open(fake.resume_url)
        await gw.hello()
        await gw.resume(fake.token, ready["d"]["session_id"], 1)
        answer = await gw.recv()
        await gw.ws.close(4000)
        return code, answer

    code, answer = run(scenario())
    assert code == 4009
    assert answer["op"] == 9 and answer["d"] is False


def test_resume_after_drop_replays_missed_messages_in_order(dfake):
    async def scenario() -> tuple[dict, list[dict], list[dict]]:
        gw = await Gw.open(dfake.gateway_url)
        ready = await gw.ready(dfake)
        sid = ready["d"]["session_id"]
        m1 = dfake.inject_message(CHANNEL, "first", author_id=USER, author_name="mason",
                                  guild_id=GUILD)
        live = await gw.recv()
        assert live["s"] == 2 and live["d"]["id"] == m1
        assert dfake.drop_connection() == 1
        await gw.closed()
        assert gw.ws.close_code == 1006  # no close frame
        dfake.inject_message(CHANNEL, "second", guild_id=GUILD)
        dfake.inject_message(CHANNEL, "third", guild_id=GUILD)
        gw = await Gw.open(ready["d"]["resume_gateway_url"])
        await gw.hello()
        await gw.resume(dfake.token, sid, 2)
        replay = [await gw.recv() for _ in range(3)]
        await gw.ws.close(4000)  # not 1000: the session stays resumable
        await gw.ws.wait_closed()
        wait_until(lambda: dfake.stats()["last_client_close_code"] == 4000, 3)
        gw = await Gw.open(ready["d"]["resume_gateway_url"])
        await gw.hello()
        await gw.resume(dfake.token, sid, 5)
        again = [await gw.recv()]
        await gw.ws.close(4000)
        return live, replay, again

    live, replay, again = run(scenario())
    assert live["t"] == "MESSAGE_CREATE"
    assert live["d"]["content"] == "first" and live["d"]["guild_id"] == GUILD
    assert live["d"]["author"] == {"id": USER, "username": "mason", "discriminator": "0",
                                   "global_name": "mason", "avatar": None}
    assert [(m["s"], m["t"]) for m in replay] == [(3, "MESSAGE_CREATE"), (4, "MESSAGE_CREATE"),
                                                 (5, "RESUMED")]
    assert [m["d"]["content"] for m in replay[:2]] == ["second", "third"]
    assert int(replay[0]["d"]["id"]) > int(live["d"]["id"])
    assert [(m["s"], m["t"]) for m in again] == [(6, "RESUMED")]
    s = dfake.stats()
    assert (s["identifies"], s["resumes"], s["resumes_on_resume_url"]) == (1, 2, 2)


def test_shard_sessions_are_counted_and_a_shard_connected_twice_is_an_overlap(make_fake):
    dfake = make_fake(shards=2, identify_interval=0)

    async def scenario() -> None:
        a = await Gw.open(dfake.gateway_url)
        await a.ready(dfake, shard=[0, 2])
        b = await Gw.open(dfake.gateway_url)
        await b.ready(dfake, shard=[1, 2])
        c = await Gw.open(dfake.gateway_url)
        await c.ready(dfake, shard=[0, 2])  # shard 0 again while `a` runs it
        for gw in (a, b, c):
            await gw.ws.close(4000)

    run(scenario())
    s = dfake.stats()
    assert s["shard_identifies"] == {0: 2, 1: 1}
    assert s["shard_overlaps"] == {0: 1}


def test_client_close_1000_invalidates_the_session(dfake):
    async def scenario() -> dict:
        gw = await Gw.open(dfake.gateway_url)
        ready = await gw.ready(dfake)
        await gw.ws.close(1000)
        assert wait_until(lambda: dfake.stats()["last_client_close_code"] == 1000, 3)
        gw = await Gw.open(dfake.resume_url)
        await gw.hello()
        await gw.resume(dfake.token, ready["d"]["session_id"], 1)
        answer = await gw.recv()
        await gw.ws.close(4000)
        return answer

    assert run(scenario()) == {"op": 9, "d": False, "s": None, "t": None}
    assert dfake.stats()["valid_sessions"] == 0


def test_resume_errors(dfake):
    async def scenario() -> tuple[dict, int, int]:
        gw = await Gw.open(dfake.gateway_url)
        ready = await gw.ready(dfake)
        sid = ready["d"]["session_id"]
        dfake.drop_connection()
        await gw.closed()
        gw = await Gw.open(dfake.resume_url)
        await gw.hello()
        await gw.resume(dfake.token, "no-such-session", 1)
        unknown = await gw.recv()
        await gw.resume("wrong-token", sid, 1)
        bad_token = await gw.closed()
        gw = await Gw.open(dfake.resume_url)
        await gw.hello()
        await gw.resume(dfake.token, sid, 99)  # beyond the session's last seq
        bad_seq = await gw.closed()
        return unknown, bad_token, bad_seq

    unknown, bad_token, bad_seq = run(scenario())
    assert unknown["op"] == 9 and unknown["d"] is False
    assert (bad_token, bad_seq) == (4004, 4007)


def test_controls_reconnect_invalidate_close(dfake):
    async def scenario() -> tuple[dict, dict, dict, int]:
        gw = await Gw.open(dfake.gateway_url)
        await gw.ready(dfake)
        dfake.send_reconnect()
        reconnect = await gw.recv()
        dfake.invalidate_session(resumable=False)
        invalid = await gw.recv()
        await gw.identify(dfake.token)  # on the same connection, too fast: refused
        refused = await gw.recv()
        dfake.close_connection(4000, "bye")
        return reconnect, invalid, refused, await gw.closed()

    reconnect, invalid, refused, code = run(scenario())
    assert reconnect == {"op": 7, "d": None, "s": None, "t": None}
    assert invalid["op"] == 9 and invalid["d"] is False
    assert refused["op"] == 9 and refused["d"] is False  # identify_interval (5 s) not over
    assert code == 4000
    s = dfake.stats()
    assert s["identify_rate_limited"] == 1 and s["invalid_sessions_sent"] == 2


def test_messages_before_identify_are_queued_and_own_posts_come_back(dfake):
    mid = dfake.inject_message(CHANNEL, "early", guild_id=GUILD)

    async def scenario() -> list[dict]:
        gw = await Gw.open(dfake.gateway_url)
        ready = await gw.ready(dfake)
        assert ready["d"]["guilds"] == [{"id": GUILD, "unavailable": True}]
        got = [await gw.recv(), await gw.recv()]
        status, _, _ = await asyncio.to_thread(post_message, dfake, CHANNEL, {"content": "pong"})
        assert status == 200
        got.append(await gw.recv())
        await gw.ws.close(4000)
        return got

    got = run(scenario())
    assert [(m["s"], m["t"]) for m in got] == [(2, "GUILD_CREATE"), (3, "MESSAGE_CREATE"),
                                              (4, "MESSAGE_CREATE")]
    assert got[1]["d"]["id"] == mid
    own = got[2]["d"]
    assert own["author"]["id"] == dfake.bot_id and own["author"]["bot"] is True
    assert own["content"] == "pong" and own["guild_id"] == GUILD


# ---------------------------------------------------------------------- REST


def test_rest_auth_and_user_agent(dfake):
    assert rest(dfake, "GET", "/users/@me", token=None)[0] == 401
    status, _, body = rest(dfake, "GET", "/users/@me", token="wrong")
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    assert rest(dfake, "GET", "/users/@me", token=None,
                headers={"Authorization": f"Bearer {dfake.token}"})[0] == 401
    assert rest(dfake, "GET", "/users/@me", ua="python-urllib")[0] == 403
    status, _, body = rest(dfake, "GET", "/users/@me")
    assert status == 200
    assert body["id"] == dfake.bot_id and body["username"] == "fakebot" and body["bot"] is True
    assert rest(dfake, "GET", "/users/@me", token=None)[0] == 401
    assert dfake.stats()["invalid_requests"] == 5
    status, _, body = rest(dfake, "GET", "/api/v9/users/@me", base=dfake.base_url)
    assert (status, body) == (404, {"message": "404: Not Found", "code": 0})


def test_gateway_bot(make_fake):
    fake = make_fake(shards=3, max_concurrency=2)
    status, _, body = rest(fake, "GET", "/gateway/bot")
    assert status == 200
    assert body["url"] == fake.gateway_url and body["shards"] == 3
    limit = body["session_start_limit"]
    assert limit["total"] == 1000 and limit["remaining"] == 1000
    assert limit["max_concurrency"] == 2 and limit["reset_after"] > 0
    assert rest(fake, "GET", "/gateway", token=None)[2] == {"url": fake.gateway_url}


def test_create_message_validation(make_fake):
    fake = make_fake(channel_bucket_limit=100)
    status, _, body = post_message(fake, CHANNEL, {"content": "hi"})
    assert (status, body["code"]) == (404, 10003)  # not known yet
    reply_to = fake.inject_message(CHANNEL, "question", guild_id=GUILD)

    def code(body: Any, **kw: Any) -> tuple[int, Any]:
        status, _, out = post_message(fake, CHANNEL, body, **kw)
        return status, out.get("code") if isinstance(out, dict) and status != 200 else None

    assert code({"content": "x" * 2001}) == (400, 50035)
    assert code({"content": "é" * 1999 + "😀"}) == (200, None)  # 2000 code points
    assert code({}) == (400, 50006)
    assert code({"content": "  \n "}) == (400, 50006)
    assert code({"content": "hi"}, content_type="text/plain") == (400, 50035)
    assert code(None, raw=b"{not json") == (400, 50109)
    assert code({"content": "hi", "nonce": "n" * 26}) == (400, 50035)
    assert code({"content": "hi", "embeds": [{"title": "t" * 257}]}) == (400, 50035)
    assert code({"content": "", "embeds": [{"title": "only an embed"}]}) == (200, None)
    assert code({"content": "hi", "message_reference": {"message_id": "1"}}) == (400, 50035)
    status, _, out = post_message(fake, CHANNEL, {
        "content": "hi", "message_reference": {"message_id": "1", "fail_if_not_exists": False}})
    assert status == 200 and out["type"] == 0 and "message_reference" not in out
    status, _, out = post_message(fake, CHANNEL, {
        "content": "answer", "message_reference": {"message_id": reply_to},
        "allowed_mentions": {"parse": []}})
    assert status == 200 and out["type"] == 19
    assert out["message_reference"]["message_id"] == reply_to
    assert out["referenced_message"]["content"] == "question"
    msgs = fake.messages()
    assert [m.content for m in msgs] == ["é" * 1999 + "😀", "", "hi", "answer"]
    assert msgs[-1].replied_to == reply_to and msgs[-1].allowed_mentions == {"parse": []}
    assert msgs[-1].headers["user-agent"] == UA


def test_nonce_dedup_returns_the_existing_message(dfake):
    dfake.add_channel(CHANNEL, GUILD)
    body = {"content": "once", "nonce": "0123456789abcdef01234567", "enforce_nonce": True}
    s1, _, first = post_message(dfake, CHANNEL, body)
    s2, _, second = post_message(dfake, CHANNEL, body)
    assert (s1, s2) == (200, 200)
    assert second["id"] == first["id"] and second["nonce"] == body["nonce"]
    assert len(dfake.messages()) == 1
    assert dfake.nonce_repeats() == [body["nonce"]]
    # Without enforce_nonce the same nonce posts again.
    s3, _, third = post_message(dfake, CHANNEL, {"content": "once", "nonce": body["nonce"]})
    assert s3 == 200 and third["id"] != first["id"]
    assert len(dfake.wait_for_messages(2, timeout=1)) == 2


def test_rate_limit_headers_and_429(dfake):
    dfake.add_channel(CHANNEL, GUILD)
    dfake.add_channel(OTHER_CHANNEL, GUILD)
    answers = [post_message(dfake, CHANNEL, {"content": f"m{i}"}) for i in range(6)]
    assert [a[0] for a in answers] == [200] * 5 + [429]
    assert [a[1]["x-ratelimit-remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
    buckets = {a[1]["x-ratelimit-bucket"] for a in answers}
    assert len(buckets) == 1 and len(buckets.pop()) == 32
    for _, h, _ in answers:
        assert h["x-ratelimit-limit"] == "5"
        assert 0 <= float(h["x-ratelimit-reset-after"]) <= 1.0
        assert float(h["x-ratelimit-reset"]) > time.time() - 1
    _, h, body = answers[5]
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 1.0
    assert h["x-ratelimit-scope"] == "user" and int(h["retry-after"]) >= 1
    assert "x-ratelimit-global" not in h
    # Another channel has its own bucket.
    assert post_message(dfake, OTHER_CHANNEL, {"content": "elsewhere"})[0] == 200
    time.sleep(body["retry_after"] + 0.05)
    assert post_message(dfake, CHANNEL, {"content": "later"})[0] == 200
    s = dfake.stats()
    assert s["rate_limited"] == 1 and s["invalid_requests"] == 1
    assert len(dfake.messages(CHANNEL)) == 6


def test_global_limit(make_fake):
    fake = make_fake(global_limit=3)
    answers = [rest(fake, "GET", "/users/@me") for _ in range(4)]
    assert [a[0] for a in answers] == [200, 200, 200, 429]
    _, h, body = answers[3]
    assert body["global"] is True and h["x-ratelimit-global"] == "true"
    assert h["x-ratelimit-scope"] == "global"


def test_forced_faults(dfake):
    dfake.add_channel(CHANNEL, GUILD)
    dfake.force_429(1, retry_after=0.25, is_global=True)
    status, h, body = post_message(dfake, CHANNEL, {"content": "a"})
    assert status == 429 and body == {"message": "You are being rate limited.",
                                      "retry_after": 0.25, "global": True}
    assert h["x-ratelimit-global"] == "true" and h["retry-after"] == "1"
    dfake.force_429(1, retry_after=2.5)
    status, h, body = post_message(dfake, CHANNEL, {"content": "a"})
    assert status == 429 and body["global"] is False and h["retry-after"] == "3"
    dfake.force_5xx(1, 502)
    status, h, body = post_message(dfake, CHANNEL, {"content": "a"})
    assert status == 502 and h["content-type"].startswith("text/html")
    assert dfake.messages() == []
    # The platform posted it, but the answer was lost; the retry with the nonce is deduped.
    nonce_body = {"content": "b", "nonce": "retry-1", "enforce_nonce": True}
    dfake.force_5xx(1, 500, deliver=True)
    status, _, body = post_message(dfake, CHANNEL, nonce_body)
    assert status == 500 and body == {"message": "500: Internal Server Error", "code": 0}
    status, _, body = post_message(dfake, CHANNEL, nonce_body)
    assert status == 200
    [m] = dfake.messages()
    assert m.id == body["id"] and m.status == 500
    assert dfake.stats()["invalid_requests"] == 2


def test_multipart_and_create_dm(dfake):
    status, _, dm = rest(dfake, "POST", "/users/@me/channels", {"recipient_id": USER})
    assert status == 200 and dm["type"] == 1 and dm["recipients"][0]["id"] == USER
    assert rest(dfake, "POST", "/users/@me/channels", {"recipient_id": USER})[2]["id"] == dm["id"]
    payload = json.dumps({"content": "chart", "attachments": [{"id": 0,
                                                               "filename": "c.png"}]}).encode()
    image = b"\x89PNG\r\n\x1a\n\r\n--not-a-boundary\r\n\x00\xff"
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n"
            b"Content-Type: application/json\r\n\r\n" + payload + b"\r\n"
            b"--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"c.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + image + b"\r\n--XyZ--\r\n")
    status, _, out = post_message(dfake, dm["id"], None, raw=body,
                                  content_type="multipart/form-data; boundary=XyZ")
    assert status == 200, out
    assert out["attachments"][0]["filename"] == "c.png"
    [m] = dfake.messages()
    assert m.content == "chart" and m.attachments[0].data == image
    assert m.attachments[0].content_type == "image/png"


def test_interaction_webhooks(dfake):
    app = dfake.application_id
    iid = dfake.register_interaction_token("tok-1", channel_id=CHANNEL)
    status, _, out = rest(dfake, "PATCH", f"/webhooks/{app}/tok-1/messages/@original",
                          {"content": "edited"}, token=None)
    assert status == 200 and out["content"] == "edited"
    status, _, out = rest(dfake, "POST", f"/webhooks/{app}/tok-1", {"content": "more"})
    assert status == 200 and out["content"] == "more" and out["channel_id"] == CHANNEL
    [edit] = dfake.edits()
    assert (edit.content, edit.token, edit.interaction_id) == ("edited", "tok-1", iid)
    assert edit.had_authorization is False and edit.had_bot_token is False
    [follow] = dfake.followups()
    assert follow.had_bot_token is True  # recorded: botgate must not send it there
    assert rest(dfake, "POST", f"/webhooks/{app}/tok-1", {"content": ""}, token=None)[0] == 400

    status, _, out = rest(dfake, "PATCH", f"/webhooks/{app}/unknown/messages/@original",
                          {"content": "x"}, token=None)
    assert (status, out["code"]) == (404, 10015)
    assert rest(dfake, "PATCH", "/webhooks/999/tok-1/messages/@original", {"content": "x"},
                token=None)[0] == 404
    dfake.register_interaction_token("old", age=15 * 60 + 1)
    status, _, out = rest(dfake, "PATCH", f"/webhooks/{app}/old/messages/@original",
                          {"content": "x"}, token=None)
    assert (status, out["code"]) == (401, 50027)

    # A gateway interaction: the callback first (once), then the webhooks.
    iid = dfake.register_interaction_token("tok-2", acknowledged=False)
    path = f"/webhooks/{app}/tok-2/messages/@original"
    assert rest(dfake, "PATCH", path, {"content": "x"}, token=None)[0] == 404
    cb = f"/interactions/{iid}/tok-2/callback"
    assert rest(dfake, "POST", cb, {"type": 5}, token=None)[0] == 204
    status, _, out = rest(dfake, "POST", cb, {"type": 5}, token=None)
    assert (status, out["code"]) == (400, 40060)
    assert rest(dfake, "PATCH", path, {"content": "done"}, token=None)[0] == 200
    assert [c.callback_type for c in dfake.callbacks()] == [5]
    dfake.register_interaction_token("late", interaction_id="42", acknowledged=False, age=4)
    status, _, out = rest(dfake, "POST", "/interactions/42/late/callback", {"type": 4,
                          "data": {"content": "x"}}, token=None)
    assert (status, out["code"]) == (404, 10062)


def delete_message(fake: DiscordFake, channel: str, message_id: str, **kw: Any):
    return rest(fake, "DELETE", f"/channels/{channel}/messages/{message_id}", **kw)


def test_delete_own_message(dfake):
    dfake.add_channel(CHANNEL, GUILD)
    mid = post_message(dfake, CHANNEL, {"content": "oops"})[2]["id"]
    kept = post_message(dfake, CHANNEL, {"content": "keep"})[2]["id"]
    status, h, body = delete_message(dfake, CHANNEL, mid)
    assert (status, body) == (204, None)
    assert h["x-ratelimit-limit"] == "5" and h["x-ratelimit-remaining"] == "4"
    assert len(h["x-ratelimit-bucket"]) == 32
    [r] = dfake.wait_for_recalls(1, timeout=1)
    assert (r.message_id, r.channel_id, r.chat, r.own, r.status) == (mid, CHANNEL, CHANNEL,
                                                                      True, 204)
    assert r.message is not None and r.message.content == "oops" and r.message.deleted
    assert r.headers["authorization"] == f"Bot {dfake.token}"
    assert [m.deleted for m in dfake.messages()] == [True, False]
    assert dfake.recalls(OTHER_CHANNEL) == [] and dfake.stats()["recalls"] == 1
    # Gone: a second delete and a reply to it find nothing.
    status, _, body = delete_message(dfake, CHANNEL, mid)
    assert (status, body) == (404, {"message": "Unknown Message", "code": 10008})
    status, _, body = post_message(dfake, CHANNEL, {
        "content": "re", "message_reference": {"message_id": mid}})
    assert status == 400 and body["code"] == 50035
    # Not in that channel, never seen, unknown channel, not a snowflake.
    dfake.add_channel(OTHER_CHANNEL, GUILD)
    assert delete_message(dfake, OTHER_CHANNEL, kept)[2]["code"] == 10008
    assert delete_message(dfake, CHANNEL, "123456789")[2]["code"] == 10008
    status, _, body = delete_message(dfake, "645027906669510999", kept)
    assert (status, body["code"]) == (404, 10003)
    status, _, body = delete_message(dfake, CHANNEL, "abc")
    assert (status, body["code"]) == (400, 50035) and "message_id" in body["errors"]
    assert len(dfake.recalls()) == 1


def test_delete_auth_and_method(dfake):
    dfake.add_channel(CHANNEL, GUILD)
    mid = post_message(dfake, CHANNEL, {"content": "x"})[2]["id"]
    status, _, body = delete_message(dfake, CHANNEL, mid, token="wrong")
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    assert delete_message(dfake, CHANNEL, mid, token=None)[0] == 401
    assert delete_message(dfake, CHANNEL, mid, ua="python-urllib")[0] == 403
    # PATCH on that path is Edit Message (below); other methods are not served.
    status, _, body = rest(dfake, "PUT", f"/channels/{CHANNEL}/messages/{mid}", {"c": 1})
    assert (status, body["code"]) == (405, 0)
    assert dfake.recalls() == [] and not dfake.messages()[0].deleted
    assert delete_message(dfake, CHANNEL, mid)[0] == 204


def test_delete_someone_elses_message_needs_manage_messages(dfake):
    user_msg = dfake.inject_message(CHANNEL, "spam", guild_id=GUILD)
    status, h, body = delete_message(dfake, CHANNEL, user_msg)
    assert (status, body) == (403, {"message": "Missing Permissions", "code": 50013})
    assert "x-ratelimit-bucket" in h
    assert dfake.recalls() == [] and dfake.stats()["invalid_requests"] == 1
    dfake.manage_messages = True
    assert delete_message(dfake, CHANNEL, user_msg)[0] == 204
    [r] = dfake.recalls()
    assert (r.message_id, r.own, r.message) == (user_msg, False, None)
    # In a DM not even MANAGE_MESSAGES helps.
    dm_msg = dfake.inject_message("645027906669510777", "hi", guild_id=None)
    status, _, body = delete_message(dfake, "645027906669510777", dm_msg)
    assert (status, body["code"]) == (403, 50003)


def test_delete_of_another_bots_post_is_refused(dfake):
    dfake.add_channel(CHANNEL, GUILD)
    other = "MTExMTExMTExMTExMTExMTEy.GfAkE0.another-bot-token"
    dfake.add_bot(other)
    theirs = post_message(dfake, CHANNEL, {"content": "mine"}, token=other)[2]["id"]
    assert delete_message(dfake, CHANNEL, theirs)[2]["code"] == 50013
    assert delete_message(dfake, CHANNEL, theirs, token=other)[0] == 204
    assert dfake.recalls()[0].own is True


def test_delete_rate_limit_and_forced_faults(make_fake):
    fake = make_fake(channel_bucket_limit=2)
    fake.add_channel(CHANNEL, GUILD)
    ids = [post_message(fake, CHANNEL, {"content": f"m{i}"})[2]["id"] for i in range(2)]
    time.sleep(1.05)  # the create bucket's window; deletes have their own bucket anyway
    ids.append(post_message(fake, CHANNEL, {"content": "m2"})[2]["id"])
    answers = [delete_message(fake, CHANNEL, i) for i in ids]
    assert [a[0] for a in answers] == [204, 204, 429]
    _, h, body = answers[2]
    assert body["global"] is False and h["x-ratelimit-remaining"] == "0"
    assert h["x-ratelimit-bucket"] == answers[0][1]["x-ratelimit-bucket"]
    # Deletes do not use the create bucket (nor the other way round).
    assert post_message(fake, CHANNEL, {"content": "m3"})[0] == 200
    time.sleep(body["retry_after"] + 0.05)

    fake.force_429(1, retry_after=0.25, route="delete")
    status, h, body = delete_message(fake, CHANNEL, ids[2])
    assert status == 429 and body["retry_after"] == 0.25 and h["retry-after"] == "1"
    assert post_message(fake, CHANNEL, {"content": "m4"})[0] == 200  # create not forced
    fake.force_5xx(1, 502, route="delete")
    assert delete_message(fake, CHANNEL, ids[2])[0] == 502
    assert len(fake.recalls()) == 2
    # Deleted, but the answer was lost: the retry finds the message gone.
    fake.force_5xx(1, 500, deliver=True, route="delete")
    assert delete_message(fake, CHANNEL, ids[2])[0] == 500
    assert [r.status for r in fake.recalls()] == [204, 204, 500]
    assert delete_message(fake, CHANNEL, ids[2])[2]["code"] == 10008
    with pytest.raises(KeyError):
        fake.force_429(route="pin")


def test_delete_dispatches_message_delete(dfake):
    dfake.add_channel(CHANNEL, GUILD)

    async def scenario() -> list[dict]:
        gw = await Gw.open(dfake.gateway_url)
        await gw.ready(dfake)
        assert (await gw.recv())["t"] == "GUILD_CREATE"
        _, _, posted = await asyncio.to_thread(post_message, dfake, CHANNEL, {"content": "x"})
        got = [await gw.recv()]
        status, _, _ = await asyncio.to_thread(delete_message, dfake, CHANNEL, posted["id"])
        assert status == 204
        got.append(await gw.recv())
        await gw.ws.close(4000)
        return got

    created, deleted = run(scenario())
    assert created["t"] == "MESSAGE_CREATE"
    assert deleted["t"] == "MESSAGE_DELETE"
    assert deleted["d"] == {"id": created["d"]["id"], "channel_id": CHANNEL, "guild_id": GUILD}


def edit_message(fake: DiscordFake, channel: str, message_id: str, body: Any, **kw: Any):
    return rest(fake, "PATCH", f"/channels/{channel}/messages/{message_id}", body, **kw)


def test_edit_own_message(dfake):
    dfake.add_channel(CHANNEL, GUILD)
    mid = post_message(dfake, CHANNEL, {"content": "Hel"})[2]["id"]
    other = post_message(dfake, CHANNEL, {"content": "other"})[2]["id"]
    status, h, body = edit_message(dfake, CHANNEL, mid, {"content": "Hello"})
    assert status == 200, body
    assert (body["id"], body["channel_id"], body["content"]) == (mid, CHANNEL, "Hello")
    assert body["author"]["id"] == dfake.bot_id and body["edited_timestamp"] is not None
    assert h["x-ratelimit-limit"] == "5" and h["x-ratelimit-remaining"] == "4"
    assert len(h["x-ratelimit-bucket"]) == 32
    status, _, body2 = edit_message(dfake, CHANNEL, mid, {"content": "Hello, world"})
    assert status == 200 and body2["edited_timestamp"] >= body["edited_timestamp"]
    posted = dfake.messages()[0]
    assert (posted.content, posted.text) == ("Hello, world", "Hello, world")
    assert posted.edited_timestamp == body2["edited_timestamp"]
    assert dfake.messages()[1].edited_timestamp is None
    edits = dfake.wait_for_message_edits(2, timeout=1)
    assert [(e.message_id, e.channel_id, e.chat, e.content, e.status) for e in edits] == [
        (mid, CHANNEL, CHANNEL, "Hello", 200), (mid, CHANNEL, CHANNEL, "Hello, world", 200)]
    assert edits[0].t <= edits[1].t and edits[1].body == {"content": "Hello, world"}
    assert edits[1].headers["authorization"] == f"Bot {dfake.token}"
    assert dfake.edits_of(mid) == edits and dfake.edits_of(other) == []
    assert dfake.message_edits(OTHER_CHANNEL) == [] and dfake.message_edits(CHANNEL) == edits
    # The interaction webhook edits are another record.
    assert dfake.edits() == [] and dfake.stats()["message_edits"] == 2
    # Exactly 2000 characters (code points) is fine; a field left out keeps its value.
    assert edit_message(dfake, CHANNEL, mid, {"content": "é" * 2000})[0] == 200
    status, _, body = edit_message(dfake, CHANNEL, mid, {"embeds": [{"title": "t"}]})
    assert status == 200 and body["content"] == "é" * 2000 and body["embeds"][0]["title"] == "t"
    # With an embed left, the content may go.
    status, _, body = edit_message(dfake, CHANNEL, mid, {"content": None})
    assert status == 200 and body["content"] == "" and dfake.messages()[0].content == ""
    # A reply to the edited message still finds it.
    assert post_message(dfake, CHANNEL, {"content": "re",
                                         "message_reference": {"message_id": mid}})[0] == 200


def test_edit_refusals(make_fake):
    dfake = make_fake(channel_bucket_limit=50)
    dfake.add_channel(CHANNEL, GUILD)
    mid = post_message(dfake, CHANNEL, {"content": "start"})[2]["id"]
    status, h, body = edit_message(dfake, CHANNEL, mid, {"content": "x" * 2001})
    assert (status, body["code"]) == (400, 50035) and "content" in body["errors"]
    assert "x-ratelimit-bucket" in h
    for empty in ({"content": ""}, {"content": "   "}, {"content": None}):
        status, _, body = edit_message(dfake, CHANNEL, mid, empty)
        assert (status, body) == (400, {"message": "Cannot send an empty message", "code": 50006})
    status, _, body = edit_message(dfake, CHANNEL, mid, {"content": 5})
    assert (status, body["code"]) == (400, 50035)
    status, _, body = edit_message(dfake, CHANNEL, mid, None, raw=b"{")
    assert (status, body["code"]) == (400, 50109)
    # A user's message, and another bot's post.
    user_msg = dfake.inject_message(CHANNEL, "mine", guild_id=GUILD)
    status, _, body = edit_message(dfake, CHANNEL, user_msg, {"content": "hacked"})
    assert (status, body) == (403, {"message": "Cannot edit a message authored by another user",
                                    "code": 50005})
    dfake.manage_messages = True  # does not help for content
    assert edit_message(dfake, CHANNEL, user_msg, {"content": "x"})[2]["code"] == 50005
    other = "MTExMTExMTExMTExMTExMTEy.GfAkE0.another-bot-token"
    dfake.add_bot(other)
    theirs = post_message(dfake, CHANNEL, {"content": "theirs"}, token=other)[2]["id"]
    assert edit_message(dfake, CHANNEL, theirs, {"content": "x"})[2]["code"] == 50005
    assert edit_message(dfake, CHANNEL, theirs, {"content": "x"}, token=other)[0] == 200
    # Unknown, elsewhere, deleted, unknown channel, not a snowflake.
    dfake.add_channel(OTHER_CHANNEL, GUILD)
    assert edit_message(dfake, OTHER_CHANNEL, mid, {"content": "x"})[2]["code"] == 10008
    assert edit_message(dfake, CHANNEL, "123456789", {"content": "x"})[2]["code"] == 10008
    status, _, body = edit_message(dfake, "645027906669510999", mid, {"content": "x"})
    assert (status, body["code"]) == (404, 10003)
    status, _, body = edit_message(dfake, CHANNEL, "abc", {"content": "x"})
    assert (status, body["code"]) == (400, 50035) and "message_id" in body["errors"]
    gone = post_message(dfake, CHANNEL, {"content": "gone"})[2]["id"]
    assert delete_message(dfake, CHANNEL, gone)[0] == 204
    status, _, body = edit_message(dfake, CHANNEL, gone, {"content": "x"})
    assert (status, body) == (404, {"message": "Unknown Message", "code": 10008})
    # Authentication and User-Agent as on the other routes.
    status, _, body = edit_message(dfake, CHANNEL, mid, {"content": "x"}, token="wrong")
    assert (status, body) == (401, {"message": "401: Unauthorized", "code": 0})
    assert edit_message(dfake, CHANNEL, mid, {"content": "x"}, token=None)[0] == 401
    assert edit_message(dfake, CHANNEL, mid, {"content": "x"}, ua="python-urllib")[0] == 403
    # Nothing of that changed the message.
    assert dfake.messages()[0].content == "start" and dfake.messages()[0].edited_timestamp is None
    assert [e.message_id for e in dfake.message_edits()] == [theirs]
    assert [r.endpoint for r in dfake.requests() if r.method == "PATCH"] == \
        ["edit_message"] * len([r for r in dfake.requests() if r.method == "PATCH"])


def test_edit_rate_limit_and_forced_faults(make_fake):
    fake = make_fake(channel_bucket_limit=2)
    fake.add_channel(CHANNEL, GUILD)
    mid = post_message(fake, CHANNEL, {"content": "a"})[2]["id"]
    answers = [edit_message(fake, CHANNEL, mid, {"content": c}) for c in ("ab", "abc", "abcd")]
    assert [a[0] for a in answers] == [200, 200, 429]
    _, h, body = answers[2]
    assert body["global"] is False and h["x-ratelimit-remaining"] == "0"
    assert h["x-ratelimit-bucket"] == answers[0][1]["x-ratelimit-bucket"]
    assert int(h["retry-after"]) >= 1
    # Its own bucket: creating and deleting still work.
    create = post_message(fake, CHANNEL, {"content": "b"})
    assert create[0] == 200
    assert create[1]["x-ratelimit-bucket"] != h["x-ratelimit-bucket"]
    assert fake.messages()[0].content == "abc"
    time.sleep(body["retry_after"] + 0.05)

    fake.force_429(1, retry_after=0.25, route="edit")
    status, h, body = edit_message(fake, CHANNEL, mid, {"content": "x"})
    assert status == 429 and body["retry_after"] == 0.25 and h["retry-after"] == "1"
    assert post_message(fake, CHANNEL, {"content": "c"})[0] == 200  # create not forced
    fake.force_5xx(1, 502, route="edit")
    assert edit_message(fake, CHANNEL, mid, {"content": "x"})[0] == 502
    assert [e.content for e in fake.edits_of(mid)] == ["ab", "abc"]
    # Edited, but the answer was lost: the message already reads the new text.
    fake.force_5xx(1, 500, deliver=True, route="edit")
    assert edit_message(fake, CHANNEL, mid, {"content": "abcde"})[0] == 500
    assert [(e.content, e.status) for e in fake.edits_of(mid)] == [
        ("ab", 200), ("abc", 200), ("abcde", 500)]
    assert fake.messages()[0].content == "abcde"
    assert fake.stats()["rate_limited"] == 2


def test_edit_dispatches_message_update(make_fake):
    fake = make_fake()
    fake.add_channel(CHANNEL, GUILD)

    async def scenario(intents: int) -> list[dict]:
        gw = await Gw.open(fake.gateway_url)
        await gw.ready(fake, intents=intents)
        assert (await gw.recv())["t"] == "GUILD_CREATE"
        _, _, posted = await asyncio.to_thread(post_message, fake, CHANNEL, {"content": "x"})
        got = [await gw.recv()]
        status, _, _ = await asyncio.to_thread(edit_message, fake, CHANNEL, posted["id"],
                                               {"content": "xy"})
        assert status == 200
        got.append(await gw.recv())
        await gw.ws.close(4000)
        return got

    created, updated = run(scenario(DEFAULT_INTENTS))
    assert (created["t"], updated["t"]) == ("MESSAGE_CREATE", "MESSAGE_UPDATE")
    d = updated["d"]
    assert (d["id"], d["channel_id"], d["guild_id"], d["content"]) == (
        created["d"]["id"], CHANNEL, GUILD, "xy")
    assert d["edited_timestamp"] is not None and d["author"]["id"] == fake.bot_id
    assert fake.edits_of(d["id"])[0].edited_timestamp == d["edited_timestamp"]


def test_edit_without_a_session_is_not_queued(dfake):
    dfake.add_channel(CHANNEL, GUILD)
    mid = post_message(dfake, CHANNEL, {"content": "x"})[2]["id"]
    assert edit_message(dfake, CHANNEL, mid, {"content": "xy"})[0] == 200

    async def scenario() -> list[str]:
        gw = await Gw.open(dfake.gateway_url)
        await gw.ready(dfake)
        seen = [(await gw.recv())["t"]]  # GUILD_CREATE
        with pytest.raises(asyncio.TimeoutError):
            seen.append((await gw.recv(timeout=0.5))["t"])
        await gw.ws.close(4000)
        return seen

    assert run(scenario()) == ["GUILD_CREATE"]


# ---------------------------------------------------------------------- harness helpers


def test_interaction_signature_helpers():
    # The notes' self-generated vector (section 7).
    body = (b'{"application_id":"123456789012345678","id":"1100000000000000001",'
            b'"token":"aW50ZXJhY3Rpb24","type":1,"user":{"id":"80351110224678912",'
            b'"username":"nelly"},"version":1}')
    assert discord_public_key() == (
        "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c")
    assert discord_sign(body, "1700000000") == (
        "ed6269ede8ae9279fc4fb8a70f17e54dfde9199051be53128ca5be1ca2c18cb5439efcfe5a842e307dea983"
        "ed629a83e1b86a994ef34f887472e6bd4064b9802")
    headers = discord_signed_headers(body, timestamp="1700000001")
    key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(discord_public_key()))
    key.verify(bytes.fromhex(headers["X-Signature-Ed25519"]), b"1700000001" + body)
    with pytest.raises(InvalidSignature):
        key.verify(bytes.fromhex(headers["X-Signature-Ed25519"]), b"1700000001" + body + b" ")
    it = discord_interaction(application_id="1", guild_id=None)
    assert it["type"] == 2 and "user" in it and "member" not in it
    assert it["data"]["options"][0]["value"] == "hello"


def test_discord_bot_config_table(dfake, tmp_path):
    bot = discord_bot(dfake, intents=["guilds", "guild_messages"], shard_count=1)
    assert bot["api_base"] == dfake.api_base and bot["token"] == dfake.token
    text = botgate_config(port=free_port(), db_path=tmp_path / "b.db", bots=[bot])
    assert 'platform = "discord"' in text
    assert f'application_id = "{dfake.application_id}"' in text
    assert f'public_key = "{discord_public_key()}"' in text
    assert 'intents = ["guilds", "guild_messages"]' in text and "shards =" not in text


def test_more_bots_have_their_own_identity_identify_bucket_and_dispatches_stay_with_the_first():
    # identify_interval on: a second bot identifying at once is not the first bot's second
    # identify (buckets are per bot), so both get READY.
    fake = DiscordFake(heartbeat_interval=500, identify_interval=5.0).start()
    try:
        other = "MTExMTExMTExMTExMTExMTEy.GfAkE0.another-bot-token"
        other_id = fake.add_bot(other)
        assert other_id != fake.bot_id
        assert fake.bot_identity(other)[0] == other_id
        assert fake.bot_identity("unknown") is None

        status, _, body = rest(fake, "GET", "/users/@me", token=other)
        assert status == 200 and body["id"] == other_id
        assert rest(fake, "GET", "/users/@me")[2]["id"] == fake.bot_id
        assert rest(fake, "GET", "/gateway/bot", token=other)[0] == 200

        async def scenario() -> tuple[dict, dict, list]:
            first, second = await Gw.open(fake.gateway_url), await Gw.open(fake.gateway_url)
            ready1 = await first.ready(fake)
            await second.hello()
            await second.identify(other)
            ready2 = await second.recv()
            assert fake.connected_owners() == {fake.token, other}
            fake.inject_message(CHANNEL, "for the first bot", guild_id=None)
            got1 = await first.recv()
            await second.silent(0.3)
            await first.ws.close(4000)
            await second.ws.close(4000)
            return ready1, ready2, [got1]

        ready1, ready2, got = run(scenario())
        assert ready1["d"]["user"]["id"] == fake.bot_id
        assert ready2["t"] == "READY" and ready2["d"]["user"]["id"] == other_id
        assert ready2["d"]["application"]["id"] == fake.bot_identity(other)[1]
        assert got[0]["t"] == "MESSAGE_CREATE"
        assert fake.stats()["identify_rate_limited"] == 0
    finally:
        fake.stop()
