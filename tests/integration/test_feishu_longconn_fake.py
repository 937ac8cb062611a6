"""The fake Feishu/Lark long connection (tests/fakes/feishu_longconn_fake.py), proven against the
official client and checked for its own strictness.

The proof: the official Node SDK's WSClient (@larksuiteoapi/node-sdk 1.74.0, tests/feishu_sdk/,
from `make feishu-sdk-deps`, which `make test` runs; without it these tests fail and say so)
fetches the endpoint, connects, pings and gets pongs, receives events whole, in fragments and with
a repeated fragment, acks them the way the fake demands, gives up on wrong credentials, and
reconnects with a fresh URL after the fake drops it. Then a small client of our own, on the same
protobuf schema, shows what the fake refuses and records.

No botgate binary is needed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse
from typing import Any, Optional

import pytest
import websockets
import websockets.exceptions

import feishu_crypto
from botgate_harness import REPO, http_request, wait_until
from fakes.feishu_longconn_fake import (CODE_BAD_CREDENTIALS, CODE_BUSY, CODE_INTERNAL,
                                        CODE_TOO_MANY_CONNECTIONS, ENDPOINT_PATH,
                                        METHOD_CONTROL, METHOD_DATA, FeishuLongConnFake,
                                        decode_frame, encode_frame, frame_headers, header)

SDK_DIR = REPO / "tests" / "feishu_sdk"
SDK_PACKAGE = SDK_DIR / "node_modules" / "@larksuiteoapi" / "node-sdk" / "package.json"
APP_ID = "cli_a1b2c3d4e5f60718"  # the SDK's start() does nothing for an id not of this form
APP_SECRET = "longconn-secret-123"
# Short timers (seconds) so that pings and reconnects happen within the test.
FAST = {"ping_interval": 1, "reconnect_interval": 1, "reconnect_nonce": 1}


def missing_tools() -> list[str]:
    missing = []
    if shutil.which("node") is None:
        missing.append("node (apt-get install nodejs npm, or `make deps`)")
    if not SDK_PACKAGE.is_file():
        missing.append("tests/feishu_sdk/node_modules/@larksuiteoapi/node-sdk (run `make "
                       "feishu-sdk-deps`, which `make test` runs, or `npm install "
                       "--no-package-lock` in tests/feishu_sdk)")
    return missing


@pytest.fixture
def make_fake():
    made: list[FeishuLongConnFake] = []

    def make(**kw: Any) -> FeishuLongConnFake:
        for k, v in FAST.items():
            kw.setdefault(k, v)
        f = FeishuLongConnFake(app_id=APP_ID, app_secret=APP_SECRET, **kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


class SdkClient:
    """tests/feishu_sdk/ws_client.mjs as a child process; collects its JSON lines."""

    def __init__(self, fake: FeishuLongConnFake, *, secret: str = APP_SECRET,
                 handler_delay_ms: int = 0) -> None:
        missing = missing_tools()
        if missing:
            pytest.fail("the Feishu SDK test needs: " + "; ".join(missing))
        self.lines: list[dict] = []
        self.raw: list[str] = []
        self._lock = threading.Lock()
        cmd = ["node", str(SDK_DIR / "ws_client.mjs"), "--domain", fake.base_url,
               "--app-id", APP_ID, "--app-secret", secret, "--logger-level", "debug",
               "--handler-delay-ms", str(handler_delay_ms)]
        self._proc = subprocess.Popen(cmd, cwd=SDK_DIR, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True,
                                      start_new_session=True,
                                      env={**os.environ, "NO_COLOR": "1"})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._lock:
                self.raw.append(line.rstrip("\n"))
                try:
                    self.lines.append(json.loads(line))
                except ValueError:
                    pass

    def said(self, kind: str) -> list[dict]:
        with self._lock:
            return [x for x in self.lines if x.get("kind") == kind]

    def events(self) -> list[dict]:
        return self.said("event")

    def wait_events(self, n: int, timeout: float = 10.0) -> list[dict]:
        assert wait_until(lambda: len(self.events()) >= n, timeout), self.output()
        return self.events()

    def logs(self, level: str) -> list[str]:
        return [x["msg"] for x in self.said("log") if x["level"] == level]

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.raw[-200:])

    def stop(self) -> None:
        if self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(5)
            except ProcessLookupError:
                pass


@pytest.fixture
def sdk():
    made: list[SdkClient] = []

    def start(fake: FeishuLongConnFake, **kw: Any) -> SdkClient:
        c = SdkClient(fake, **kw)
        made.append(c)
        return c

    yield start
    for c in made:
        c.stop()
        # Shown by pytest only for failing tests.
        print(f"--- SDK output ---\n{c.output()}")


def text_event(text: str) -> dict:
    """A schema 2.0 im.message.receive_v1 body as the webhook tests build them."""
    return feishu_crypto.message_event(text=text, token="", app_id=APP_ID)


# ---------------------------------------------------------------------- the official SDK

def test_sdk_connects_receives_acks_pings_and_reconnects(make_fake, sdk):
    fake = make_fake()
    client = sdk(fake)
    assert fake.wait_connected(1, 10), client.output()
    [req] = fake.requests("endpoint")
    assert req.method == "POST" and req.headers.get("locale") == "zh", req.headers
    assert req.json() == {"AppID": APP_ID, "AppSecret": APP_SECRET}
    assert wait_until(lambda: client.said("ready"), 5), client.output()
    [first] = fake.connections()

    # An event in one frame, acked correctly (biz_rt: the Node SDK sends start - end, <= 0).
    ev = text_event("hello from the fake")
    mid = fake.push_event(ev)
    assert fake.wait_acked(mid, 5), (fake.violations, client.output())
    [got] = client.wait_events(1)
    assert got["event_type"] == "im.message.receive_v1" and got["text"] == "hello from the fake"
    assert got["event_id"] == ev["header"]["event_id"], got
    assert got["message_id"] == ev["event"]["message"]["message_id"]
    [ack] = fake.acks()
    assert ack["message_id"] == mid and ack["payload"] == {"code": 200} and ack["biz_rt"] <= 0

    # A plain body of the same type; then fragments, a repeated fragment before and after the
    # message is complete, and an optional Frame field that the ack must echo: each reaches the
    # handler once and is acked once.
    pushed = [fake.push_event({"schema": "2.0", "header": {"event_id": "plain-1",
                                                           "event_type": "im.message.receive_v1"},
                               "event": {"message": {"message_id": "om_plain",
                                                     "content": '{"text":"plain"}'}}})]
    pushed.append(fake.push_event(text_event("three fragments " + "x" * 300), fragments=3))
    pushed.append(fake.push_event(text_event("repeated late"), fragments=3,
                                  repeat_fragment=True))
    pushed.append(fake.push_event(text_event("repeated early"), fragments=3,
                                  repeat_fragment="early"))
    pushed.append(fake.push_event(text_event("with LogIDNew"),
                                  extra_fields={"LogIDNew": "20240101-log-new"}))
    for m in pushed:
        assert fake.wait_acked(m, 5), (m, fake.violations, client.output())
    texts = [e["text"] for e in client.wait_events(6)]
    assert texts[1:] == ["plain", "three fragments " + "x" * 300, "repeated late",
                         "repeated early", "with LogIDNew"], texts
    time.sleep(0.3)  # a second dispatch of the late repeat would come now
    assert len(client.events()) == 6, client.output()
    for m in [mid] + pushed:
        e = fake.event(m)
        assert (e["delivered"], e["acked"]) == (1, 1), e

    # Pings: one on connect, then every PingInterval; each pong carries the ClientConfig, which
    # the SDK takes (no complaint about the pong in its log).
    assert fake.wait_pings(3, 5), fake.pings()
    assert all(p["conn"] == first["id"] and p["answered"] for p in fake.pings())
    assert not [m for m in client.logs("error") if "pong" in m], client.output()
    # A pong that raises PingInterval slows the pings down: at most the one already scheduled
    # with the old interval follows it.
    fake.set_client_config(PingInterval=60)
    time.sleep(2.2)
    settled = len(fake.pings())
    time.sleep(1.2)
    assert len(fake.pings()) == settled, fake.pings()

    # Dropped by the server: the SDK fetches a fresh URL and connects again, and events flow.
    fake.set_client_config(PingInterval=1)
    assert fake.drop_connections() == 1
    assert wait_until(lambda: fake.stats()["connections"] == 2 and fake.wait_connected(1, 0),
                      10), (fake.connections(), client.output())
    conns = fake.connections()
    assert conns[0]["server_closed"] and not conns[0]["open"] and conns[1]["open"]
    assert conns[1]["url"] != conns[0]["url"] and len(fake.requests("endpoint")) == 2
    assert wait_until(lambda: client.said("reconnected"), 5), client.output()
    after = fake.push_event(text_event("after the reconnect"))
    assert fake.wait_acked(after, 5), (fake.violations, client.output())
    assert fake.acks()[-1]["conn"] == conns[1]["id"]
    assert client.wait_events(7)[-1]["text"] == "after the reconnect"
    assert fake.violations == []


def test_sdk_stops_on_wrong_credentials(make_fake, sdk):
    fake = make_fake()
    client = sdk(fake, secret="not-the-secret")
    assert wait_until(lambda: client.said("error"), 10), client.output()
    assert str(CODE_BAD_CREDENTIALS) in client.said("error")[0]["msg"]
    time.sleep(1.5)  # longer than ReconnectNonce + ReconnectInterval: no retry comes
    assert len(fake.requests("endpoint")) == 1
    assert fake.stats()["connections"] == 0 and fake.connections() == []
    assert fake.violations == []


def test_sdk_retries_a_refused_handshake_and_redelivery_reaches_it(make_fake, sdk):
    """The Node SDK ignores the Handshake-* headers: even "too many connections" (a client
    error for the Go and Python SDKs) is retried after a fresh endpoint fetch. And an event
    whose ack comes after the deadline is pushed again: the SDK acks after its handler."""
    fake = make_fake(ack_deadline=0.5)
    fake.refuse_handshakes(514, CODE_TOO_MANY_CONNECTIONS, "exceed connection limit")
    client = sdk(fake, handler_delay_ms=800)
    assert fake.wait_connected(1, 10), (fake.refusals(), client.output())
    [refusal] = fake.refusals()
    assert refusal["autherrcode"] == CODE_TOO_MANY_CONNECTIONS
    assert len(fake.requests("endpoint")) == 2

    mid = fake.push_event(text_event("slow handler"))
    assert fake.wait_acked(mid, 5), (fake.violations, client.output())
    assert wait_until(lambda: fake.event(mid)["acked"] == 2, 5), fake.event(mid)
    e = fake.event(mid)
    assert e["delivered"] == 2 and [a["delivery"] for a in fake.acks()] == [0, 1], e
    assert [x["text"] for x in client.wait_events(2)] == ["slow handler"] * 2
    assert all(a["biz_rt"] <= -700 for a in fake.acks()), fake.acks()
    assert fake.violations == []


# ---------------------------------------------------------------------- the fake's own rules

def fetch_endpoint(fake: FeishuLongConnFake, app_id: str = APP_ID,
                   secret: str = APP_SECRET) -> tuple[int, Any]:
    body = json.dumps({"AppID": app_id, "AppSecret": secret}).encode()
    status, _, raw = http_request(fake.port, "POST", ENDPOINT_PATH, body=body,
                                  headers={"Content-Type": "application/json", "locale": "zh"})
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def fresh_url(fake: FeishuLongConnFake) -> str:
    status, answer = fetch_endpoint(fake)
    assert status == 200 and answer["code"] == 0, answer
    return answer["data"]["URL"]


def url_params(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


async def refused(url: str) -> tuple[int, dict]:
    """Connects to `url`, expecting a refusal: (HTTP status, the Handshake-* headers)."""
    try:
        ws = await websockets.connect(url, open_timeout=5)
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code, {k.lower(): v for k, v in e.headers.items()
                               if k.lower().startswith("handshake-")}
    await ws.close()
    raise AssertionError(f"{url} was accepted")


async def recv_frame(ws: Any, timeout: float = 3.0) -> Any:
    return decode_frame(await asyncio.wait_for(ws.recv(), timeout))


async def no_frame(ws: Any, wait: float = 0.3) -> None:
    try:
        raw = await asyncio.wait_for(ws.recv(), wait)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"unexpected frame {decode_frame(raw)}")


def ack_of(frame: Any, *, code: int = 200, biz_rt: Optional[str] = "3",
           drop: tuple[str, ...] = (), **change: Any) -> bytes:
    """The ack of `frame` as a client builds it, with the mistakes asked for."""
    ack = type(frame)()
    ack.CopyFrom(frame)
    for name in drop:
        ack.ClearField(name)
    for name, value in change.items():
        setattr(ack, name, value)
    if biz_rt is not None:
        ack.headers.add(key="biz_rt", value=biz_rt)
    ack.payload = json.dumps({"code": code}).encode()
    return ack.SerializeToString()


def test_endpoint_answers(make_fake):
    fake = make_fake(ping_interval=7, reconnect_interval=5, reconnect_nonce=2)
    status, answer = fetch_endpoint(fake)
    assert status == 200 and answer["code"] == 0 and answer["msg"] == "ok", answer
    assert answer["data"]["ClientConfig"] == {"ReconnectCount": -1, "ReconnectInterval": 5,
                                              "ReconnectNonce": 2, "PingInterval": 7}
    url = answer["data"]["URL"]
    params = url_params(url)
    assert url.startswith(f"ws://127.0.0.1:{fake.ws_port}/ws/v2?fpid=")
    assert params["device_id"].isdigit() and 0 < int(params["service_id"]) < 2**31, params

    for app_id, secret in ((APP_ID, "wrong"), ("cli_0000000000000000", APP_SECRET)):
        status, answer = fetch_endpoint(fake, app_id, secret)
        assert status == 200 and answer["code"] == CODE_BAD_CREDENTIALS, answer
        assert answer["data"]["URL"] == ""

    fake.script_endpoint("busy", "internal", "http500", 1000040999)
    assert fetch_endpoint(fake)[1]["code"] == CODE_BUSY
    assert fetch_endpoint(fake)[1]["code"] == CODE_INTERNAL
    assert fetch_endpoint(fake)[0] == 500
    assert fetch_endpoint(fake)[1]["code"] == 1000040999
    assert fetch_endpoint(fake)[1]["code"] == 0
    assert fake.stats()["urls_issued"] == 2


def test_handshake_refusals(make_fake):
    fake = make_fake(max_connections=3)

    async def scenario() -> None:
        url = fresh_url(fake)
        p = url_params(url)
        # A URL the fake did not hand out, or altered.
        assert (await refused(url.replace(p["ticket"], "0" * 36)))[0] == 514
        assert (await refused(url.replace(p["service_id"], "1")))[0] == 514
        ws = await websockets.connect(url)
        # One use only.
        status, h = await refused(url)
        assert status == 514 and h["handshake-status"] == "514", h
        assert h["handshake-msg"] == "ticket already used" and "handshake-autherrcode" not in h

        # Scripted: too many connections, another 514, banned.
        fake.refuse_handshakes(514, CODE_TOO_MANY_CONNECTIONS, "exceed connection limit")
        fake.refuse_handshakes(514, None, "server busy")
        fake.refuse_handshakes(403, None, "app is banned")
        status, h = await refused(fresh_url(fake))
        assert (status, h["handshake-autherrcode"]) == (514, str(CODE_TOO_MANY_CONNECTIONS))
        status, h = await refused(fresh_url(fake))
        assert status == 514 and "handshake-autherrcode" not in h
        status, h = await refused(fresh_url(fake))
        assert (status, h["handshake-status"], h["handshake-msg"]) == (403, "403",
                                                                       "app is banned")

        # The connection limit (the platform's 50, 3 here): the next one is refused.
        more = [await websockets.connect(fresh_url(fake)) for _ in range(2)]
        status, h = await refused(fresh_url(fake))
        assert h.get("handshake-autherrcode") == str(CODE_TOO_MANY_CONNECTIONS), h
        await more[0].close()
        assert wait_until(lambda: fake.stats()["live_connections"] == 2, 3)
        more.append(await websockets.connect(fresh_url(fake)))
        for w in [ws] + more:
            await w.close()

        # Expired.
        fake.url_ttl = 0.2
        late = fresh_url(fake)
        await asyncio.sleep(0.3)
        status, h = await refused(late)
        assert h["handshake-msg"] == "ticket expired", h

    asyncio.run(scenario())
    assert fake.stats()["handshakes_refused"] == 8
    assert fake.stats()["connections"] == 4


def test_ping_pong(make_fake):
    fake = make_fake()

    async def scenario() -> None:
        url = fresh_url(fake)
        service = int(url_params(url)["service_id"])
        ws = await websockets.connect(url)
        ping = encode_frame(service=service, method=METHOD_CONTROL, headers=[("type", "ping")])
        await ws.send(ping)
        pong = await recv_frame(ws)
        assert (pong.method, pong.service, pong.SeqID, pong.LogID) == (METHOD_CONTROL, service,
                                                                        0, 0)
        assert frame_headers(pong) == [("type", "pong")]
        assert json.loads(pong.payload) == {"ReconnectCount": -1, "ReconnectInterval": 1,
                                            "ReconnectNonce": 1, "PingInterval": 1}
        fake.set_client_config(PingInterval=30, ReconnectCount=5)
        await ws.send(ping)
        config = json.loads((await recv_frame(ws)).payload)
        assert (config["PingInterval"], config["ReconnectCount"]) == (30, 5)

        # A wrong service, another control type, a text message, a frame that lacks method:
        # violations, no pong.
        await ws.send(encode_frame(service=service + 1, method=METHOD_CONTROL,
                                   headers=[("type", "ping")]))
        await ws.send(encode_frame(service=service, method=METHOD_CONTROL,
                                   headers=[("type", "hello")]))
        await ws.send("ping")
        await ws.send(bytes.fromhex("08001000") + bytes([0x18]) + bytes([5]))
        await no_frame(ws)
        # Half-open: pings are recorded, never answered.
        fake.stop_pongs()
        await ws.send(ping)
        await no_frame(ws)
        fake.resume_pongs()
        await ws.send(ping)
        assert header(await recv_frame(ws), "type") == "pong"
        await ws.close()

    asyncio.run(scenario())
    assert [p["answered"] for p in fake.pings()] == [True, True, False, True]
    v = fake.violations
    assert len(v) == 4 and "service" in v[0] and "'hello'" in v[1] and "text" in v[2], v
    assert "method" in v[3], v


def test_acks_are_checked_and_unacked_events_come_again(make_fake):
    fake = make_fake(ack_deadline=0.4, max_deliveries=3)

    async def scenario() -> None:
        url = fresh_url(fake)
        service = int(url_params(url)["service_id"])
        ws = await websockets.connect(url)
        assert fake.wait_connected(1, 3)
        body = text_event("strict")

        # The event's frame: data, the connection's service, the headers, the JSON payload.
        mid = fake.push_event(body)
        frame = await recv_frame(ws)
        assert (frame.method, frame.service) == (METHOD_DATA, service)
        h = dict(frame_headers(frame))
        assert [k for k, _ in frame_headers(frame)] == ["type", "message_id", "sum", "seq",
                                                        "trace_id", "timestamp"]
        assert (h["type"], h["message_id"], h["sum"], h["seq"]) == ("event", mid, "1", "0")
        assert json.loads(frame.payload) == body

        # Each of these is a violation, not an ack.
        bad = [ack_of(frame, code=500), ack_of(frame, biz_rt=None), ack_of(frame, biz_rt="x"),
               ack_of(frame, LogID=frame.LogID + 1), ack_of(frame, service=service + 1),
               ack_of(frame, SeqID=frame.SeqID + 1000), ack_of(frame, payload_type="json")]
        for raw in bad:
            await ws.send(raw)
        extra = type(frame)()
        extra.ParseFromString(ack_of(frame))
        extra.payload = b'{"code":200,"msg":"ok"}'
        await ws.send(extra.SerializeToString())
        nohdr = type(frame)()
        nohdr.ParseFromString(ack_of(frame))
        del nohdr.headers[1]  # message_id
        await ws.send(nohdr.SerializeToString())
        assert wait_until(lambda: len(fake.violations) == 9, 3), fake.violations
        assert fake.acks() == []

        # Not acked in time: pushed again (new SeqID, same message_id); acking that one counts.
        again = await recv_frame(ws, 2)
        assert header(again, "message_id") == mid and again.SeqID != frame.SeqID
        await ws.send(ack_of(again))
        assert fake.wait_acked(mid, 2)
        # The first push acked late: a second ack, of another push, is fine; the same push
        # acked twice is not.
        await ws.send(ack_of(frame, biz_rt="12"))
        await ws.send(ack_of(frame))
        assert wait_until(lambda: len(fake.violations) == 10, 3), fake.violations
        assert "acked again" in fake.violations[-1]
        assert [(a["delivery"], a["biz_rt"]) for a in fake.acks()] == [(1, 3), (0, 12)]

        # An optional field the event frame carried must come back, and unchanged.
        mid2 = fake.push_event(body, extra_fields={"LogIDNew": "ln-1"})
        frame2 = await recv_frame(ws)
        assert frame2.LogIDNew == "ln-1"
        await ws.send(ack_of(frame2, drop=("LogIDNew",)))
        await ws.send(ack_of(frame2, LogIDNew="ln-2"))
        assert wait_until(lambda: len(fake.violations) == 12, 3), fake.violations
        await ws.send(ack_of(frame2))
        assert fake.wait_acked(mid2, 2)

        # Never acked: pushed max_deliveries times in all, then given up.
        mid3 = fake.push_event(body)
        for _ in range(3):
            await recv_frame(ws, 2)
        await no_frame(ws, 0.6)
        e = fake.event(mid3)
        assert (e["delivered"], e["acked"], e["gave_up"]) == (3, 0, True), e
        await ws.close()

    asyncio.run(scenario())
    assert fake.stats()["unacked"] == 1


def test_fragments_and_cluster_mode(make_fake):
    fake = make_fake()

    async def scenario() -> None:
        socks = [await websockets.connect(fresh_url(fake)) for _ in range(2)]
        assert fake.wait_connected(2, 3)
        ids = [c["id"] for c in fake.connections()]
        body = text_event("split " * 40)

        # To the connection asked for, and only there.
        mid = fake.push_event(body, fragments=3, repeat_fragment=True, connection=ids[1])
        frames = [await recv_frame(socks[1]) for _ in range(4)]
        await no_frame(socks[0])
        seqs = [header(f, "seq") for f in frames]
        assert seqs == ["0", "1", "2", "0"] and {header(f, "sum") for f in frames} == {"3"}
        assert {header(f, "message_id") for f in frames} == {mid}
        assert len({f.SeqID for f in frames}) == 4
        whole = b"".join(f.payload for f in frames[:3])
        assert json.loads(whole) == body and all(f.payload for f in frames)
        await socks[1].send(ack_of(frames[2]))
        assert fake.wait_acked(mid, 2)

        early = fake.push_event(body, fragments=2, repeat_fragment="early", connection=ids[0])
        assert [header(await recv_frame(socks[0]), "seq") for _ in range(3)] == ["0", "0", "1"]

        # Without a connection given: each event to one of them, both used over many events.
        for _ in range(12):
            fake.push_event({"n": 1})
        got = [0, 0]
        for i, s in enumerate(socks):
            while True:
                try:
                    await recv_frame(s, 0.3)
                    got[i] += 1
                except asyncio.TimeoutError:
                    break
        assert sum(got) == 12 and min(got) > 0, got
        assert fake.event(early)["deliveries"][0]["conn"] == ids[0]
        for s in socks:
            await s.close()

    asyncio.run(scenario())
    assert fake.violations == []
