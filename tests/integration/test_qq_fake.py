"""Self-tests of the fake QQ Bot Open Platform (tests/fakes/qq_fake.py) with small Python
clients (urllib + websockets), and of the QQ harness helpers (key derivation, signing, the webhook
pusher against a stub receiver), so that failures of the botgate tests point at botgate."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any, Optional

import pytest
import websockets
import websockets.exceptions

from botgate_harness import (QqWebhookPushes, qq_bot, qq_public_key, qq_seed, qq_sign, qq_verify,
                             wait_until)
from fakes.qq_fake import (DIRECT_MESSAGE, GROUP_AND_C2C_EVENT, GUILD_MESSAGES,
                           PUBLIC_GUILD_MESSAGES, QqFake)

CHAT_INTENTS = GROUP_AND_C2C_EVENT | PUBLIC_GUILD_MESSAGES | DIRECT_MESSAGE


@pytest.fixture
def make_fake():
    made: list[QqFake] = []

    def make(**kw: Any) -> QqFake:
        kw.setdefault("heartbeat_interval", 500)
        f = QqFake(**kw).start()
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


@pytest.fixture
def qfake(make_fake):
    return make_fake()


def run(coro) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 15))


# ---------------------------------------------------------------------- HTTP client


def call(url: str, method: str = "GET", body: Any = None, headers: Optional[dict] = None,
         raw: Optional[bytes] = None, content_type: str = "application/json"):
    """(status, lower-case headers, JSON or raw body)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    h = {"Content-Type": content_type} if data is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            status, rh, out = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, rh, out = e.code, e.headers, e.read()
    try:
        parsed = json.loads(out) if out else None
    except ValueError:
        parsed = out
    return status, {k.lower(): v for k, v in rh.items()}, parsed


def get_token(fake: QqFake, secret: Optional[str] = None) -> dict:
    status, _, body = call(fake.token_url, "POST", {
        "appId": fake.app_id, "clientSecret": secret or fake.app_secret})
    assert status == 200, body
    return body


def api(fake: QqFake, method: str, path: str, body: Any = None, *, token: Optional[str] = "new",
        union: bool = True, **kw: Any):
    h: dict[str, str] = {}
    if token == "new":
        token = get_token(fake)["access_token"]
    if token is not None:
        h["Authorization"] = f"QQBot {token}"
    if union:
        h["X-Union-Appid"] = fake.app_id
    h.update(kw.pop("headers", {}))
    return call(fake.api_base + path, method, body, headers=h, **kw)


# ---------------------------------------------------------------------- signing vectors


def test_key_derivation_and_vectors():
    assert qq_seed("123456abcdef") == b"123456abcdef123456abcdef123456ab"
    assert qq_seed("naOC0ocQE3shWLAfffVLB1rhYPG7") == b"naOC0ocQE3shWLAfffVLB1rhYPG7naOC"
    assert qq_public_key("naOC0ocQE3shWLAfffVLB1rhYPG7") == (
        "d7c362fe78aef81ff23287b493628b5db02a3c4fe30b215e4d19609b5d76673a")
    # V1: the op-13 answer signature.
    assert qq_public_key("DG5g3B4j9X2KOErG") == (
        "8b28ded5630f9051c205dd04c6ec56ad0b08b8812b2fe30ee9aece0ab41926f3")
    assert qq_sign(b"1725442341Arq0D5A61EgUu4OxUvOp", "DG5g3B4j9X2KOErG") == (
        "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d01bcfcadc0842edac85e85205"
        "028a1132afe09280305f13aa6909ffc2d652c706")
    # V3: the Go SDK's event signature.
    body = ('{"id":"ROBOT1.0_veoihSEXDc8Q.g-6eLpNIa11bH8MisOjn-m-LKxCPntMk6exUXgcWCGpVO7L2QKTNZzjZz'
            'FFDSbiOFcqAPWyVA!!","content":"哦一下","timestamp":"2024-10-15T16:33:15+08:00",'
            '"author":{"id":"675860273","user_openid":"675860273"}}').encode()
    sig = ("e949b5b94ef4103df903fb031d1d16e358db3db83e79e117edd404c8508be3ce8a76d7bad1bed353194c1"
           "26a1a5915b4ad8b5288c1191cc53a12acffccd82004")
    assert qq_verify(b"1728981195" + body, sig, "123456abcdef")
    assert not qq_verify(b"1728981196" + body, sig, "123456abcdef")


def test_qq_bot_table(qfake):
    bot = qq_bot(qfake, mode="webhook", intents=["group_and_c2c"], extra_key=1)
    assert bot["platform"] == "qq" and bot["name"] == "qq" and bot["mode"] == "webhook"
    assert bot["app_id"] == qfake.app_id and bot["app_secret"] == qfake.app_secret
    assert bot["api_base"] == qfake.api_base and bot["token_url"] == qfake.token_url
    assert bot["sandbox"] is False and bot["intents"] == ["group_and_c2c"]
    assert bot["extra_key"] == 1
    assert qq_bot(qfake)["intents"] is None


# ---------------------------------------------------------------------- token


def test_token_endpoint(qfake):
    status, _, body = call(qfake.token_url, "POST", raw=json.dumps(
        {"appId": qfake.app_id, "clientSecret": qfake.app_secret}).encode(),
        content_type="application/x-www-form-urlencoded")
    assert status == 200 and body["code"] == 100007 and "access_token" not in body
    status, _, body = call(qfake.token_url, "POST", {"appId": qfake.app_id,
                                                     "clientSecret": "wrong"})
    assert body["code"] != 0 and "access_token" not in body
    status, _, body = call(qfake.token_url, "POST", {"appId": "999", "clientSecret": "x"})
    assert body["code"] == 100007
    assert qfake.token_fetches == 0
    tok = get_token(qfake)
    assert isinstance(tok["expires_in"], str) and tok["expires_in"] == "7200"
    assert len(tok["access_token"]) >= 32
    again = get_token(qfake)  # not renewed: the same token, the remaining lifetime
    assert again["access_token"] == tok["access_token"] and int(again["expires_in"]) <= 7200
    assert qfake.token_fetches == 2
    assert qfake.stats()["token_failures"] == 3


def test_tokens_expire(make_fake):
    fake = make_fake(token_lifetime=1)
    tok = get_token(fake)
    assert tok["expires_in"] == "1"
    assert api(fake, "GET", "/gateway", token=tok["access_token"])[0] == 200
    time.sleep(1.1)
    status, _, body = api(fake, "GET", "/gateway", token=tok["access_token"])
    assert status == 401 and body["code"] == 11244
    tok2 = get_token(fake)
    assert tok2["access_token"] != tok["access_token"]
    assert api(fake, "GET", "/gateway", token=tok2["access_token"])[0] == 200
    fake.expire_tokens_now()
    assert api(fake, "GET", "/gateway", token=tok2["access_token"])[2]["code"] == 11244


def test_openapi_auth(qfake):
    assert api(qfake, "GET", "/gateway", token=None)[2]["code"] == 11241
    status, _, body = call(qfake.api_base + "/gateway",
                           headers={"Authorization": "Bot " + get_token(qfake)["access_token"]})
    assert status == 401 and body["code"] == 11243
    assert api(qfake, "GET", "/gateway", token="made-up")[2]["code"] == 11244
    status, headers, body = api(qfake, "GET", "/gateway/bot")
    assert status == 200 and "x-tps-trace-id" in headers
    assert body["url"] == qfake.gateway_url and body["shards"] == 1
    assert body["session_start_limit"]["max_concurrency"] == 1
    assert api(qfake, "GET", "/gateway", union=False)[0] == 200
    reqs = qfake.requests("gateway")
    assert reqs[-1].union_appid is None and reqs[-1].token_ok
    assert qfake.requests("gateway_bot")[-1].union_appid == qfake.app_id
    assert qfake.stats()["union_appid_missing"] == 1


# ---------------------------------------------------------------------- sends


def test_group_reply_rules(qfake):
    env = qfake.make_event("GROUP_AT_MESSAGE_CREATE", "hi")
    mid, group = env["d"]["id"], env["d"]["group_openid"]
    assert env["d"]["content"] == " hi" and env["id"].startswith("GROUP_AT_MESSAGE_CREATE:")
    path = f"/v2/groups/{group}/messages"
    tok = get_token(qfake)["access_token"]

    def send(body: dict, p: str = path):
        return api(qfake, "POST", p, body, token=tok)

    assert send({"content": "x", "msg_id": mid})[2]["code"] == 40000  # no msg_type
    assert send({"msg_type": 0, "content": "  ", "msg_id": mid})[2]["code"] == 50006
    assert send({"msg_type": 0, "content": "x", "msg_id": "nope"})[2]["code"] == 304027
    assert send({"msg_type": 0, "content": "x"})[2]["code"] == 304045  # active
    assert send({"msg_type": 0, "content": "x", "msg_id": mid},
                "/v2/groups/OTHERGROUP/messages")[2]["code"] == 304027
    status, _, body = send({"msg_type": 0, "content": "one", "msg_id": mid})
    assert status == 200 and body["id"] and "timestamp" in body
    status, _, body = send({"msg_type": 0, "content": "again", "msg_id": mid})  # seq 1 again
    assert status == 400 and body["code"] == 40054005 and body["err_code"] == 40054005
    for seq in (2, 3, 4, 5):
        assert send({"msg_type": 0, "content": f"s{seq}", "msg_id": mid,
                     "msg_seq": seq})[0] == 200
    assert send({"msg_type": 0, "content": "s6", "msg_id": mid, "msg_seq": 6})[2]["code"] == 22009
    # A passive reply to the event (top-level id) instead of the message.
    assert send({"msg_type": 0, "content": "ev", "event_id": env["id"]})[0] == 200
    assert send({"msg_type": 0, "content": "ev", "event_id": "X:1"})[2]["code"] == 304027
    msgs = qfake.messages("group")
    assert [m.msg_seq for m in msgs] == [1, 2, 3, 4, 5, 1]
    assert msgs[-1].event_id == env["id"] and msgs[-1].msg_id is None
    assert msgs[0].content == "one" and msgs[0].chat_id == group and msgs[0].msg_id == mid
    assert msgs[0].union_appid == qfake.app_id
    assert len(qfake.rejected(40054005)) == 1


def test_reply_windows_and_kinds(qfake):
    tok = get_token(qfake)["access_token"]
    old = qfake.make_event("GROUP_AT_MESSAGE_CREATE", "old", age=301)
    assert api(qfake, "POST", f"/v2/groups/{old['d']['group_openid']}/messages",
               {"msg_type": 0, "content": "late", "msg_id": old["d"]["id"]},
               token=tok)[2]["code"] == 304027
    c2c = qfake.make_event("C2C_MESSAGE_CREATE", "old but c2c", age=301)  # 60 min window
    openid = c2c["d"]["author"]["user_openid"]
    assert api(qfake, "POST", f"/v2/users/{openid}/messages",
               {"msg_type": 0, "content": "ok", "msg_id": c2c["d"]["id"]}, token=tok)[0] == 200
    qfake.set_reply_window("c2c", 0.2)
    c2c2 = qfake.make_event("C2C_MESSAGE_CREATE", "short window")
    time.sleep(0.3)
    assert api(qfake, "POST", f"/v2/users/{openid}/messages",
               {"msg_type": 0, "content": "x", "msg_id": c2c2["d"]["id"]},
               token=tok)[2]["code"] == 304027
    at = qfake.make_event("AT_MESSAGE_CREATE", "hello")
    assert at["d"]["content"] == f"<@!{qfake.bot_id}> hello"
    status, _, body = api(qfake, "POST", f"/channels/{at['d']['channel_id']}/messages",
                          {"content": "pong", "msg_id": at["d"]["id"]}, token=tok)
    assert status == 200 and body["id"]
    assert api(qfake, "POST", f"/channels/{at['d']['channel_id']}/messages", {},
               token=tok)[2]["code"] == 50006
    dm = qfake.make_event("DIRECT_MESSAGE_CREATE", "psst")
    assert dm["d"]["direct_message"] is True
    assert api(qfake, "POST", f"/dms/{dm['d']['guild_id']}/messages",
               {"content": "hi", "msg_id": dm["d"]["id"]}, token=tok)[0] == 200
    kinds = [m.kind for m in qfake.messages()]
    assert kinds == ["c2c", "channel", "dm"]
    assert qfake.messages("channel")[0].msg_seq is None


def test_forced_faults(qfake):
    env = qfake.make_event("C2C_MESSAGE_CREATE", "hi")
    path = f"/v2/users/{env['d']['author']['user_openid']}/messages"
    body = {"msg_type": 0, "content": "x", "msg_id": env["d"]["id"], "msg_seq": 1}
    tok = get_token(qfake)["access_token"]
    qfake.force_429(1)
    assert api(qfake, "POST", path, body, token=tok)[0] == 429
    qfake.force_5xx(1, deliver=True)
    assert api(qfake, "POST", path, body, token=tok)[0] == 500
    assert [m.status for m in qfake.messages()] == [500]
    # The retry with the same seq is a duplicate: the first attempt did land.
    assert api(qfake, "POST", path, body, token=tok)[2]["code"] == 40054005
    qfake.force_5xx(1, status=504)
    assert api(qfake, "POST", path, dict(body, msg_seq=2), token=tok)[0] == 504
    assert api(qfake, "POST", path, dict(body, msg_seq=2), token=tok)[0] == 200
    assert len(qfake.wait_for_messages(2, timeout=1)) == 2


# ---------------------------------------------------------------------- C2C stream


class C2c:
    """A user's C2C message and the bot's stream chunks answering it."""

    def __init__(self, fake: QqFake, msg_type: int = 0, openid: Optional[str] = None) -> None:
        self.fake = fake
        self.env = fake.make_event("C2C_MESSAGE_CREATE", "tell me", chat_id=openid)
        self.msg_id = self.env["d"]["id"]
        self.openid = self.env["d"]["author"]["user_openid"]
        self.path = f"/v2/users/{self.openid}/messages"
        self.tok = get_token(fake)["access_token"]
        self.msg_type = msg_type
        self.seq = 0

    def body(self, text: str, stream: dict, seq: Optional[int] = None, **extra: Any) -> dict:
        if seq is None:
            self.seq += 1
            seq = self.seq
        b: dict[str, Any] = {"msg_type": self.msg_type, "msg_id": self.msg_id, "msg_seq": seq,
                             "stream": stream}
        if self.msg_type == 0:
            b["content"] = text
        else:
            b["markdown"] = {"content": text}
        b.update(extra)
        return b

    def send(self, text: str, stream: dict, seq: Optional[int] = None, path: Optional[str] = None,
             **extra: Any):
        return api(self.fake, "POST", path or self.path, self.body(text, stream, seq, **extra),
                   token=self.tok)


@pytest.mark.parametrize("msg_type", [0, 2])
def test_c2c_stream(qfake, msg_type):
    u = C2c(qfake, msg_type)
    status, _, first = u.send("Hel", {"state": 1, "index": 0})
    assert status == 200 and first["id"] and "timestamp" in first, first
    sid = first["id"]
    for i, text in ((1, "lo, "), (2, "wor")):
        status, _, out = u.send(text, {"state": 1, "id": sid, "index": i})
        assert (status, out["id"]) == (200, sid), out
    assert u.send("ld!\n", {"state": 10, "id": sid, "index": 5})[0] == 200
    [st] = qfake.wait_for_streams(1, timeout=1, finished=True)
    assert (st.id, st.chat_id, st.chat, st.msg_id, st.msg_type) == (
        sid, u.openid, u.openid, u.msg_id, msg_type)
    assert st.finished and st.text == "Hello, world!\n"
    assert st.indexes == [0, 1, 2, 5] and [c.state for c in st.chunks] == [1, 1, 1, 10]
    assert [c.msg_seq for c in st.chunks] == [1, 2, 3, 4]
    assert [c.text for c in st.chunks] == ["Hel", "lo, ", "wor", "ld!\n"]
    assert [c.status for c in st.chunks] == [200] * 4
    assert all(a.t <= b.t for a, b in zip(st.chunks, st.chunks[1:]))
    assert st.chunks[0].headers["authorization"] == f"QQBot {u.tok}"
    # Chunks are not messages; the stream is one of the five replies to that msg_id.
    assert qfake.messages() == [] and qfake.stream(sid) == st and qfake.stream("nope") is None
    assert qfake.streams("someone else") == [] and qfake.stats()["stream_chunks"] == 4
    for seq in (5, 6, 7, 8):
        status, _, out = api(qfake, "POST", u.path, {"msg_type": 0, "content": "more",
                                                     "msg_id": u.msg_id, "msg_seq": seq},
                             token=u.tok)
        assert status == 200, out
    assert api(qfake, "POST", u.path, {"msg_type": 0, "content": "sixth", "msg_id": u.msg_id,
                                       "msg_seq": 9}, token=u.tok)[2]["code"] == 22009


def test_c2c_stream_reset_and_a_second_stream(qfake):
    u = C2c(qfake)
    sid = u.send("draft", {"state": 1, "index": 0})[2]["id"]
    assert u.send(" more", {"state": 1, "id": sid, "index": 1})[0] == 200
    assert u.send("final text\n", {"state": 10, "id": sid, "index": 2, "reset": True})[0] == 200
    # Another stream answering the same message: its own id, its own text.
    sid2 = u.send("two\n", {"state": 10, "index": 0})[2]["id"]
    assert sid2 != sid
    a, b = qfake.streams(u.openid)
    assert (a.id, a.text, a.finished) == (sid, "final text\n", True)
    assert [c.reset for c in a.chunks] == [False, False, True]
    assert (b.id, b.text, b.finished, b.indexes) == (sid2, "two\n", True, [0])


def test_c2c_stream_refusals(qfake):
    u = C2c(qfake)
    sid = u.send("a", {"state": 1, "index": 3})[2]["id"]

    def code(text: str, stream: Any, **kw: Any) -> tuple[int, Any]:
        status, _, out = u.send(text, stream, **kw)
        return status, out.get("code") if isinstance(out, dict) else out

    # The stream's own rules.
    assert code("b", {"state": 1, "id": sid, "index": 3}) == (400, 40000)  # index not higher
    assert code("b", {"state": 1, "id": sid, "index": 2}) == (400, 40000)
    assert code("b", {"state": 1, "id": None, "index": 4}) == (400, 40000)
    assert code("b", {"state": 1, "id": "ROBOT1.0_unknown", "index": 4}) == (400, 40000)
    assert code("b", {"state": 2, "id": sid, "index": 4}) == (400, 40000)
    assert code("b", {"id": sid, "index": 4}) == (400, 40000)
    assert code("b", {"state": 1, "id": sid}) == (400, 40000)
    assert code("b", {"state": 1, "id": sid, "index": -1}) == (400, 40000)
    assert code("b", {"state": 1, "id": sid, "index": 4, "reset": "yes"}) == (400, 40000)
    assert code("b", "not an object") == (400, 40000)
    assert code("b", {"state": 1, "id": sid, "index": 4}, msg_type=2,
                markdown={"content": "b"}) == (400, 40000)  # msg_type changed
    assert code("b", {"state": 1, "id": sid, "index": 4}, msg_type=7,
                media={"file_info": "x"}) == (400, 40000)
    assert code("", {"state": 1, "id": sid, "index": 4}) == (400, 50006)
    assert code("b", {"state": 1, "id": sid, "index": 4}, msg_id=None) == (400, 40000)
    # The last chunk must end with a newline: refused without using its msg_seq.
    status, _, out = u.send("end", {"state": 10, "id": sid, "index": 4}, seq=50)
    assert status == 500 and out["message"] == "流式消息md分片需要\\n结束"
    assert u.send("end\n", {"state": 10, "id": sid, "index": 4}, seq=50)[0] == 200
    # Nothing after the end.
    assert code("more", {"state": 1, "id": sid, "index": 5}) == (400, 40000)
    # Every chunk needs its own msg_seq, the first one's included.
    sid2 = u.send("x", {"state": 1, "index": 0}, seq=60)[2]["id"]
    status, _, out = u.send("y", {"state": 1, "id": sid2, "index": 1}, seq=60)
    assert (status, out["code"]) == (400, 40054005)
    status, _, out = u.send("y", {"state": 1, "id": sid2, "index": 1}, seq=50)
    assert (status, out["code"]) == (400, 40054005)
    # A stream id belongs to its user and msg_id.
    other = C2c(qfake, openid="0THER0000000000000000000000000000")
    assert other.openid != u.openid
    assert code("y", {"state": 1, "id": sid2, "index": 1},
                path=other.path) == (400, 304027)  # msg_id not of that user
    status, _, out = other.send("y", {"state": 1, "id": sid2, "index": 1})
    assert (status, out["code"]) == (400, 40000)
    # Another message of the same user: the stream belongs to the msg_id it answers.
    again = C2c(qfake)
    assert again.openid == u.openid and again.msg_id != u.msg_id
    status, _, out = again.send("y", {"state": 1, "id": sid2, "index": 1})
    assert (status, out["code"]) == (400, 40000)
    st = qfake.stream(sid)
    assert st is not None and st.text == "aend\n" and st.indexes == [3, 4]
    st2 = qfake.stream(sid2)
    assert st2 is not None and st2.text == "x" and not st2.finished
    assert [x.id for x in qfake.wait_for_streams(1, timeout=0.2, finished=True)] == [sid, sid2]


def test_stream_outside_c2c_is_refused(qfake):
    tok = get_token(qfake)["access_token"]
    g = qfake.make_event("GROUP_AT_MESSAGE_CREATE", "hi")
    status, _, out = api(qfake, "POST", f"/v2/groups/{g['d']['group_openid']}/messages",
                         {"msg_type": 0, "content": "x", "msg_id": g["d"]["id"],
                          "stream": {"state": 1, "index": 0}}, token=tok)
    assert (status, out["code"]) == (400, 40000)
    at = qfake.make_event("AT_MESSAGE_CREATE", "hi")
    status, _, out = api(qfake, "POST", f"/channels/{at['d']['channel_id']}/messages",
                         {"content": "x", "msg_id": at["d"]["id"],
                          "stream": {"state": 1, "index": 0}}, token=tok)
    assert (status, out["code"]) == (400, 40000)
    dm = qfake.make_event("DIRECT_MESSAGE_CREATE", "hi")
    status, _, out = api(qfake, "POST", f"/dms/{dm['d']['guild_id']}/messages",
                         {"content": "x", "msg_id": dm["d"]["id"],
                          "stream": {"state": 1, "index": 0}}, token=tok)
    assert (status, out["code"]) == (400, 40000)
    assert qfake.streams() == [] and qfake.messages() == []
    # The same group message answered without `stream` is fine.
    assert api(qfake, "POST", f"/v2/groups/{g['d']['group_openid']}/messages",
               {"msg_type": 0, "content": "x", "msg_id": g["d"]["id"]}, token=tok)[0] == 200


def test_c2c_stream_auth_and_faults(qfake):
    u = C2c(qfake)
    status, _, out = api(qfake, "POST", u.path, u.body("a", {"state": 1, "index": 0}),
                         token=None)
    assert (status, out["code"]) == (401, 11241)
    qfake.force_429(1)
    assert u.send("a", {"state": 1, "index": 0})[0] == 429
    sid = u.send("a", {"state": 1, "index": 0})[2]["id"]
    qfake.force_5xx(1, status=502)
    assert u.send("b", {"state": 1, "id": sid, "index": 1})[0] == 502
    # Accepted, but the answer was lost: the retry's msg_seq is taken, its index too.
    qfake.force_5xx(1, deliver=True)
    assert u.send("b", {"state": 1, "id": sid, "index": 1}, seq=10)[0] == 500
    assert u.send("b", {"state": 1, "id": sid, "index": 1}, seq=10)[2]["code"] == 40054005
    assert u.send("b", {"state": 1, "id": sid, "index": 1}, seq=11)[2]["code"] == 40000
    assert u.send("c\n", {"state": 10, "id": sid, "index": 2}, seq=12)[0] == 200
    st = qfake.stream(sid)
    assert st is not None and st.text == "abc\n"
    assert [(c.index, c.status) for c in st.chunks] == [(0, 200), (1, 500), (2, 200)]


# ---------------------------------------------------------------------- recall


def reply(fake: QqFake, kind: str, tok: str, content: str = "x") -> tuple[str, str, str]:
    """Makes a user message of `kind` and answers it: (send path, chat id, the bot's id)."""
    env = fake.make_event(kind, "hi")
    d = env["d"]
    path, body = {
        "C2C_MESSAGE_CREATE": (f"/v2/users/{d['author'].get('user_openid')}/messages",
                               {"msg_type": 0}),
        "GROUP_AT_MESSAGE_CREATE": (f"/v2/groups/{d.get('group_openid')}/messages",
                                    {"msg_type": 0}),
        "AT_MESSAGE_CREATE": (f"/channels/{d.get('channel_id')}/messages", {}),
        "DIRECT_MESSAGE_CREATE": (f"/dms/{d.get('guild_id')}/messages", {}),
    }[kind]
    status, _, out = api(fake, "POST", path, dict(body, content=content, msg_id=d["id"]),
                         token=tok)
    assert status == 200, out
    return path, path.split("/")[-2], out["id"]


@pytest.mark.parametrize("kind,scene", [("C2C_MESSAGE_CREATE", "c2c"),
                                        ("GROUP_AT_MESSAGE_CREATE", "group"),
                                        ("AT_MESSAGE_CREATE", "channel"),
                                        ("DIRECT_MESSAGE_CREATE", "dm")])
def test_recall_in_each_scene(qfake, kind, scene):
    tok = get_token(qfake)["access_token"]
    path, chat, mid = reply(qfake, kind, tok, "oops")
    _, _, kept = reply(qfake, kind, tok, "keep")
    status, headers, body = api(qfake, "DELETE", f"{path}/{mid}", token=tok)
    assert (status, body) == (200, {}) and "x-tps-trace-id" in headers
    [r] = qfake.wait_for_recalls(1, timeout=1)
    assert (r.kind, r.chat_id, r.chat, r.message_id, r.hidetip) == (scene, chat, chat, mid, None)
    assert r.message.content == "oops" and r.message.recalled
    assert [m.recalled for m in qfake.messages(scene)] == [True, False]
    assert qfake.recalls(chat_id="elsewhere") == [] and qfake.stats()["recalls"] == 1
    assert qfake.count(f"recall_{scene}") == 1
    # Already recalled: not found.
    status, _, body = api(qfake, "DELETE", f"{path}/{mid}", token=tok)
    assert (status, body["code"], body["message"]) == (404, 40034006, "message not found")
    assert body["err_code"] == 40034006
    # The right id in another chat of the same kind, an unknown id.
    other_chat = path.replace(chat, "ELSEWHERE")
    assert api(qfake, "DELETE", f"{other_chat}/{kept}", token=tok)[2]["code"] == 40034006
    assert api(qfake, "DELETE", f"{path}/no-such-id", token=tok)[2]["code"] == 40034006
    assert api(qfake, "DELETE", f"{path}/{kept}", token=tok)[0] == 200
    assert [r.message_id for r in qfake.recalls(scene)] == [mid, kept]


def test_recall_kind_must_match_and_hidetip(qfake):
    tok = get_token(qfake)["access_token"]
    path, chat, mid = reply(qfake, "AT_MESSAGE_CREATE", tok)
    # A channel message's id under /dms/ (same chat id) is not found there.
    assert api(qfake, "DELETE", f"/dms/{chat}/messages/{mid}", token=tok)[0] == 404
    assert api(qfake, "DELETE", f"{path}/{mid}?hidetip=yes", token=tok)[2]["code"] == 40000
    assert api(qfake, "DELETE", f"{path}/{mid}?hidetip=true", token=tok)[0] == 200
    assert qfake.recalls()[0].hidetip is True
    # Only DELETE on a message path.
    assert api(qfake, "GET", f"{path}/{mid}", token=tok)[0] == 405
    assert api(qfake, "POST", f"{path}/{mid}", {"content": "x"}, token=tok)[0] == 405


def test_recall_time_window_for_c2c_and_group(make_fake):
    fake = make_fake(recall_window=0.3)
    tok = get_token(fake)["access_token"]
    sent = {k: reply(fake, k, tok) for k in ("C2C_MESSAGE_CREATE", "GROUP_AT_MESSAGE_CREATE",
                                              "AT_MESSAGE_CREATE", "DIRECT_MESSAGE_CREATE")}
    time.sleep(0.4)
    for kind, (path, _, mid) in sent.items():
        status, _, body = api(fake, "DELETE", f"{path}/{mid}", token=tok)
        if kind in ("C2C_MESSAGE_CREATE", "GROUP_AT_MESSAGE_CREATE"):
            assert (status, body["code"]) == (400, 40034028), kind
            assert body["message"] == "message recall time exceeded"
        else:  # no window for guild messages
            assert status == 200, kind
    assert [r.kind for r in fake.recalls()] == ["channel", "dm"]
    fake.recall_window = 60
    path, _, mid = sent["C2C_MESSAGE_CREATE"]
    assert api(fake, "DELETE", f"{path}/{mid}", token=tok)[0] == 200


def test_recall_auth_like_sends(qfake):
    tok = get_token(qfake)["access_token"]
    path, _, mid = reply(qfake, "C2C_MESSAGE_CREATE", tok)
    status, _, body = api(qfake, "DELETE", f"{path}/{mid}", token=None)
    assert (status, body["code"]) == (401, 11241)
    status, _, body = api(qfake, "DELETE", f"{path}/{mid}", token=None,
                          headers={"Authorization": "Bearer " + tok})
    assert (status, body["code"]) == (401, 11243)
    assert api(qfake, "DELETE", f"{path}/{mid}", token="made-up")[2]["code"] == 11244
    qfake.expire_tokens_now()
    assert api(qfake, "DELETE", f"{path}/{mid}", token=tok)[2]["code"] == 11244
    assert qfake.recalls() == []
    # Another app's token does not reach the first app's message.
    qfake.add_app("102999999", "other-secret")
    other = call(qfake.token_url, "POST", {"appId": "102999999",
                                           "clientSecret": "other-secret"})[2]["access_token"]
    status, _, body = api(qfake, "DELETE", f"{path}/{mid}", token=other, union=False)
    assert (status, body["code"]) == (404, 40034006)
    assert api(qfake, "DELETE", f"{path}/{mid}")[0] == 200  # a fresh token of the first app


# ---------------------------------------------------------------------- gateway


class Gw:
    def __init__(self, ws: Any) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, fake: QqFake) -> "Gw":
        return cls(await websockets.connect(fake.gateway_url, open_timeout=5, close_timeout=2,
                                            ping_interval=None, compression=None))

    async def recv(self, timeout: float = 3.0) -> dict:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def send(self, obj: Any) -> None:
        await self.ws.send(json.dumps(obj))

    async def ready(self, fake: QqFake, intents: int = CHAT_INTENTS, token: Optional[str] = None
                    ) -> dict:
        hello = await self.recv()
        assert hello == {"op": 10, "d": {"heartbeat_interval": fake.heartbeat_interval}}
        tok = token or get_token(fake)["access_token"]
        await self.send({"op": 2, "d": {"token": f"QQBot {tok}", "intents": intents,
                                        "shard": [0, 1], "properties": {}}})
        m = await self.recv()
        assert m["op"] == 0 and m["t"] == "READY", m
        return m

    async def closed(self, timeout: float = 3.0) -> int:
        async def drain() -> None:
            try:
                while True:
                    await self.ws.recv()
            except websockets.exceptions.ConnectionClosed:
                pass
        await asyncio.wait_for(drain(), timeout)
        return self.ws.close_code


def test_identify_dispatch_heartbeat(qfake):
    async def scenario():
        gw = await Gw.open(qfake)
        ready = await gw.ready(qfake)
        assert ready["s"] == 1
        d = ready["d"]
        assert d["version"] == 1 and d["user"] == {"id": qfake.bot_id,
                                                   "username": qfake.bot_name, "bot": True}
        assert d["shard"] == [0, 1] and len(d["session_id"]) >= 16
        await gw.send({"op": 1, "d": 1})
        assert await gw.recv() == {"op": 11}
        ids = [await asyncio.to_thread(qfake.inject, k, "hi") for k in (
            "GROUP_AT_MESSAGE_CREATE", "C2C_MESSAGE_CREATE", "AT_MESSAGE_CREATE",
            "DIRECT_MESSAGE_CREATE", "MESSAGE_CREATE")]
        got = [await gw.recv() for _ in range(4)]  # MESSAGE_CREATE: intent not requested
        await gw.ws.close(4000)
        return ids, got

    ids, got = run(scenario())
    assert [m["d"]["id"] for m in got] == ids[:4]
    assert [m["s"] for m in got] == [2, 3, 4, 5]
    assert got[0]["t"] == "GROUP_AT_MESSAGE_CREATE" and got[0]["id"].startswith("GROUP_AT")
    assert got[0]["d"]["content"] == " hi" and got[0]["d"]["author"]["member_openid"]
    assert got[1]["d"]["author"]["user_openid"] and got[1]["d"]["content"] == "hi"
    assert got[2]["d"]["content"].startswith(f"<@!{qfake.bot_id}> ")
    assert qfake.stats()["heartbeats"] == 1 and qfake.heartbeat_seqs() == [1]


@pytest.mark.parametrize("case,code", [("bad token", 4004), ("Bot prefix", 4004),
                                       ("private intent", 4014), ("unknown bit", 4013),
                                       ("bad op", 4001), ("not json", 4002)])
def test_identify_refusals(qfake, case, code):
    async def scenario() -> int:
        gw = await Gw.open(qfake)
        await gw.recv()
        tok = get_token(qfake)["access_token"]
        d = {"token": f"QQBot {tok}", "intents": CHAT_INTENTS, "shard": [0, 1]}
        if case == "bad token":
            d["token"] = "QQBot nope"
        elif case == "Bot prefix":
            d["token"] = f"Bot {tok}"
        elif case == "private intent":
            d["intents"] = CHAT_INTENTS | GUILD_MESSAGES
        elif case == "unknown bit":
            d["intents"] = 1 << 5
        if case == "not json":
            await gw.ws.send("{oops")
        else:
            await gw.send({"op": 99 if case == "bad op" else 2, "d": d})
        return await gw.closed()

    assert run(scenario()) == code


def test_resume_replays_then_resumed(qfake):
    async def scenario():
        gw = await Gw.open(qfake)
        ready = await gw.ready(qfake)
        sid = ready["d"]["session_id"]
        first = await asyncio.to_thread(qfake.inject, "C2C_MESSAGE_CREATE", "one")
        m1 = await gw.recv()
        assert m1["d"]["id"] == first and m1["s"] == 2
        assert await asyncio.to_thread(qfake.drop_connection) == 1
        await gw.closed()
        missed = await asyncio.to_thread(qfake.inject, "C2C_MESSAGE_CREATE", "two")
        gw2 = await Gw.open(qfake)
        await gw2.recv()
        tok = get_token(qfake)["access_token"]
        await gw2.send({"op": 6, "d": {"token": f"QQBot {tok}", "session_id": sid, "seq": 2}})
        replay = await gw2.recv()
        resumed = await gw2.recv()
        # An unknown session: op 9 false.
        gw3 = await Gw.open(qfake)
        await gw3.recv()
        await gw3.send({"op": 6, "d": {"token": f"QQBot {tok}", "session_id": "nope", "seq": 1}})
        invalid = await gw3.recv()
        await gw2.ws.close(4000)
        await gw3.ws.close(4000)
        return missed, replay, resumed, invalid

    missed, replay, resumed, invalid = run(scenario())
    assert replay["d"]["id"] == missed and replay["s"] == 3
    assert resumed == {"op": 0, "t": "RESUMED", "d": "", "s": 4}
    assert invalid == {"op": 9, "d": False}
    s = qfake.stats()
    assert s["resumes"] == 1 and s["identifies"] == 1 and s["resume_attempts"] == 2


def test_controls_close_reconnect_invalidate_acks(make_fake):
    fake = make_fake(heartbeat_interval=200, reconnect_close_after=0.3)

    async def scenario():
        gw = await Gw.open(fake)
        await gw.ready(fake)
        await asyncio.to_thread(fake.stop_acks)
        await gw.send({"op": 1, "d": 1})
        with pytest.raises(asyncio.TimeoutError):
            await gw.recv(timeout=0.3)
        await asyncio.to_thread(fake.resume_acks)
        await asyncio.to_thread(fake.send_reconnect)
        assert await gw.recv() == {"op": 7}
        code_reconnect = await gw.closed()  # the fake closes when the client lingers

        gw = await Gw.open(fake)
        await gw.ready(fake)
        await asyncio.to_thread(fake.invalidate_session, False)
        assert await gw.recv() == {"op": 9, "d": False}
        await asyncio.to_thread(fake.close_connection, 4900)
        code_closed = await gw.closed()

        gw = await Gw.open(fake)
        await gw.recv()  # hello, then silence: the watchdog closes
        code_silent = await gw.closed(timeout=3)
        return code_reconnect, code_closed, code_silent

    assert run(scenario()) == (4009, 4900, 4009)
    assert fake.stats()["valid_sessions"] == 1  # the first one (kept through 4009)


def test_queued_until_ready_and_wait_connected(qfake):
    mid = qfake.inject("GROUP_AT_MESSAGE_CREATE", "early")
    assert qfake.stats()["pending"] == 1

    async def scenario():
        gw = await Gw.open(qfake)
        await gw.ready(qfake)
        assert await asyncio.to_thread(qfake.wait_connected, 2)
        m = await gw.recv()
        await gw.ws.close(1000)
        return m

    assert run(scenario())["d"]["id"] == mid
    assert wait_until(lambda: qfake.stats()["valid_sessions"] == 0, 2)  # 1000 ends it


# ---------------------------------------------------------------------- webhook pusher


class _StubBotgate:
    """A tiny receiver standing in for botgate: verifies like QQ's webhook rules, answers op 13."""

    def __init__(self, secret: str) -> None:
        stub = self
        self.secret = secret
        self.seen: list[tuple[dict, bytes]] = []

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ts = self.headers.get("X-Signature-Timestamp", "")
                sig = self.headers.get("X-Signature-Ed25519", "")
                stub.seen.append((dict(self.headers), body))
                if sig != sig.lower() or not qq_verify(ts.encode() + body, sig, stub.secret):
                    self.send_response(401)
                    self.end_headers()
                    return
                msg = json.loads(body)
                if msg["op"] == 13:
                    d = msg["d"]
                    out = {"plain_token": d["plain_token"],
                           "signature": qq_sign((d["event_ts"] + d["plain_token"]).encode(),
                                                stub.secret)}
                else:
                    out = {"op": 12, "d": 0}
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_webhook_pusher_signs_like_qq(qfake):
    stub = _StubBotgate(qfake.app_secret)
    try:
        pushes = QqWebhookPushes(stub, qfake)  # only .port is used
        status, answer, ok = pushes.validate("Arq0D5A61EgUu4OxUvOp", "1725442341")
        assert status == 200 and ok
        assert answer["signature"] == (
            "87befc99c42c651b3aac0278e71ada338433ae26fcb24307bdc5ad38c1adc2d01bcfcadc0842edac85e8"
            "5205028a1132afe09280305f13aa6909ffc2d652c706")
        env, (status, _, data) = pushes.message("GROUP_AT_MESSAGE_CREATE", "你好")
        assert status == 200 and json.loads(data) == {"op": 12, "d": 0}
        headers, body = stub.seen[-1]
        assert headers["X-Bot-Appid"] == qfake.app_id and headers["User-Agent"] == "QQBot-Callback"
        assert len(headers["X-Signature-Ed25519"]) == 128
        assert "你好".encode() in body and json.loads(body) == env and b'"s"' not in body
        assert pushes.push("C2C_MESSAGE_CREATE", {"id": "x", "content": "c"}, "E:1")[0] == 200
        for tamper in ("body", "signature", "timestamp", "wrong_key", "no_signature",
                       "no_timestamp", "short_signature", "upper_hex"):
            assert pushes.push("C2C_MESSAGE_CREATE", {"id": "x"}, tamper=tamper)[0] == 401, tamper
        assert pushes.validate(tamper="body")[2] is False
    finally:
        stub.server.shutdown()
        stub.server.server_close()


def test_more_apps_have_their_own_tokens_identity_and_appid_check(qfake):
    other_id = qfake.add_app("102999999", "other-secret")
    assert other_id != qfake.bot_id
    status, _, body = call(qfake.token_url, "POST", {"appId": "102999999",
                                                     "clientSecret": qfake.app_secret})
    assert body["code"] != 0 and "access_token" not in body  # the first app's secret
    status, _, body = call(qfake.token_url, "POST", {"appId": "102999999",
                                                     "clientSecret": "other-secret"})
    assert status == 200
    other_token = body["access_token"]
    first_token = get_token(qfake)["access_token"]
    assert other_token != first_token
    assert qfake.token_owner(other_token) == "102999999"
    # X-Union-Appid must name the app the token belongs to.
    headers = {"Authorization": f"QQBot {other_token}", "X-Union-Appid": "102999999"}
    assert call(qfake.api_base + "/gateway/bot", headers=headers)[0] == 200
    headers["X-Union-Appid"] = qfake.app_id
    status, _, body = call(qfake.api_base + "/gateway/bot", headers=headers)
    assert status == 401 and body["code"] == 11251

    async def scenario():
        first, second = await Gw.open(qfake), await Gw.open(qfake)
        ready1 = await first.ready(qfake, token=first_token)
        ready2 = await second.ready(qfake, token=other_token)
        assert qfake.connected_owners() == {qfake.app_id, "102999999"}
        await asyncio.to_thread(qfake.inject, "C2C_MESSAGE_CREATE", "hi")
        got = await first.recv()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(second.ws.recv(), 0.3)  # events are the first app's
        await first.ws.close(4000)
        await second.ws.close(4000)
        return ready1, ready2, got

    ready1, ready2, got = run(scenario())
    assert ready1["d"]["user"]["id"] == qfake.bot_id
    assert ready2["d"]["user"]["id"] == other_id
    assert got["t"] == "C2C_MESSAGE_CREATE"
