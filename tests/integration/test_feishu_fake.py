"""Self-tests of the fake Feishu Open API (tests/fakes/feishu_fake.py) and of the test-side
crypto (feishu_crypto.py), so that failures of the botgate tests point at botgate."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

import feishu_crypto
from botgate_harness import chunked_post, exchange, free_port, json_or_none, pipelined
from fakes.feishu_fake import FeishuFake

TOKEN = "/open-apis/auth/v3/tenant_access_token/internal"
SEND = "/open-apis/im/v1/messages?receive_id_type=chat_id"


def reply_path(mid: str) -> str:
    return f"/open-apis/im/v1/messages/{mid}/reply"


class Client:
    """One keep-alive connection to the fake."""

    def __init__(self, fake: FeishuFake) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)

    def call(self, method, path, obj=None, headers=None, raw=None):
        h = {"Content-Type": "application/json; charset=utf-8"}
        h.update(headers or {})
        body = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else None)
        status, resp_headers, data = exchange(self.conn, method, path, body, h)
        return status, resp_headers, json_or_none(data), data

    def token(self, app_id="cli_test", app_secret="secret-123"):
        return self.call("POST", TOKEN, {"app_id": app_id, "app_secret": app_secret})

    def close(self):
        self.conn.close()


@pytest.fixture
def client(fake):
    c = Client(fake)
    yield c
    c.close()


def auth(tok: str) -> dict:
    return {"Authorization": f"Bearer {tok}"}


def text_body(text="hi", **extra):
    b = {"msg_type": "text", "content": json.dumps({"text": text})}
    b.update(extra)
    return b


def post_unanswered(fake, path: str, obj, tok: str) -> None:
    """Posts `obj` with the token and checks that no answer comes within 0.5 s."""
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=0.5)
    conn.request("POST", path, body=json.dumps(obj),
                 headers=dict(auth(tok), **{"Content-Type": "application/json"}))
    with pytest.raises(socket.timeout):
        conn.getresponse()
    conn.close()


def get_token(client) -> str:
    status, _, body, _ = client.token()
    assert status == 200 and body["code"] == 0
    return body["tenant_access_token"]


# ---------------------------------------------------------------------- crypto vectors


def test_crypto_official_vectors():
    assert feishu_crypto.decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == (
        b"hello world"
    )
    plain = b'{"challenge":"ajls384kdjx98XX","token":"xxxxxx","type":"url_verification"}'
    assert feishu_crypto.encrypt("test key", plain, iv=bytes(range(16))) == (
        "AAECAwQFBgcICQoLDA0ODw9mLTIAZS9jAmGTQ1wAhHpnBHVL2wRjH9rPunQdQC1vLjsckayA10kZ8cPwtb62F8rC7"
        "JprUPR/4S2aZihfR+p8npX7UzWPithZmfKIPZgE"
    )
    assert feishu_crypto.sign(
        "1700000000", "5f3c2a", "test key",
        b'{"encrypt":"P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}',
    ) == "98b86e033a5b301b21e7bf4cc07c43db86af186bcb51f0c7a7c6d7dc766e1b19"
    enc = feishu_crypto.encrypt("k", "x" * 40)
    assert feishu_crypto.decrypt("k", enc) == b"x" * 40


def test_message_event_shape():
    ev = feishu_crypto.message_event(
        text="@_user_1 ping", token="tok", app_id="cli_test", chat_type="group",
        mentions=[feishu_crypto.bot_mention("ou_bot")],
    )
    assert ev["schema"] == "2.0"
    assert ev["header"]["event_type"] == "im.message.receive_v1"
    msg = ev["event"]["message"]
    assert isinstance(msg["content"], str)
    assert json.loads(msg["content"]) == {"text": "@_user_1 ping"}
    assert msg["mentions"][0]["key"] == "@_user_1"
    assert msg["mentions"][0]["id"]["open_id"] == "ou_bot"
    assert msg["message_id"].startswith("om_") and msg["chat_id"].startswith("oc_")


# ---------------------------------------------------------------------- token


def test_token_flow(fake, client):
    status, _, body, _ = client.token()
    assert status == 200
    assert body["code"] == 0 and body["msg"] == "ok"
    tok = body["tenant_access_token"]
    assert tok.startswith("t-") and body["expire"] == 7200
    # Same token again while > 30 min remain; the connection was kept alive.
    status, _, body2, _ = client.token()
    assert body2["tenant_access_token"] == tok
    assert 7100 <= body2["expire"] <= 7200
    assert fake.token_fetches == 2
    status, _, info, _ = client.call("GET", "/open-apis/bot/v3/info", headers=auth(tok))
    assert status == 200 and info["code"] == 0
    assert info["bot"]["open_id"] == fake.bot_open_id and info["bot"]["activate_status"] == 2


def test_short_lived_tokens_are_renewed():
    with FeishuFake(expire=1000) as f:  # < 30 min: every fetch issues a new token
        c = Client(f)
        a, b = get_token(c), get_token(c)
        assert a != b
        # The old one stays valid until its own expiry.
        status, _, body, _ = c.call("POST", SEND, text_body(receive_id="oc_1"), auth(a))
        assert status == 200 and body["code"] == 0
        c.close()


def test_token_expiry_by_time():
    with FeishuFake(expire=1) as f:
        c = Client(f)
        tok = get_token(c)
        time.sleep(1.2)
        status, _, body, _ = c.call("POST", SEND, text_body(receive_id="oc_1"), auth(tok))
        assert status == 400 and body["code"] == 99991663
        c.close()


def test_bad_secret_and_unknown_app(fake, client):
    status, _, body, _ = client.token(app_secret="wrong")
    assert status == 200 and body["code"] == 10014 and "tenant_access_token" not in body
    status, _, body, _ = client.token(app_id="cli_other")
    assert status == 200 and body["code"] == 10003
    assert fake.token_fetches == 0


def test_fail_token(fake, client):
    fake.fail_token(2)
    assert client.token()[0] == 500
    assert client.token()[0] == 500
    assert client.token()[0] == 200
    assert fake.count("token") == 3 and fake.token_fetches == 1


# ---------------------------------------------------------------------- auth


def test_missing_and_invalid_token(fake, client):
    status, _, body, _ = client.call("POST", SEND, text_body(receive_id="oc_1"))
    assert status == 400 and body["code"] == 99991661
    status, _, body, _ = client.call("POST", SEND, text_body(receive_id="oc_1"), auth("t-bogus"))
    assert status == 400 and body["code"] == 99991663
    assert body["msg"].startswith("Invalid access token for authorization")
    status, _, body, _ = client.call("GET", "/open-apis/bot/v3/info", headers=auth("t-bogus"))
    assert status == 400 and body["code"] == 99991663
    assert fake.delivered() == []


def test_expire_all_tokens(fake, client):
    tok = get_token(client)
    assert client.call("POST", SEND, text_body(receive_id="oc_1"), auth(tok))[0] == 200
    fake.expire_all_tokens()
    status, _, body, _ = client.call("POST", SEND, text_body(receive_id="oc_1"), auth(tok))
    assert status == 400 and body["code"] == 99991663
    tok2 = get_token(client)
    assert tok2 != tok
    assert client.call("POST", SEND, text_body(receive_id="oc_1"), auth(tok2))[0] == 200
    assert [d.token for d in fake.delivered()] == [tok, tok2]


# ---------------------------------------------------------------------- sending


def test_send_and_reply(fake, client):
    tok = get_token(client)
    status, _, body, _ = client.call("POST", SEND, text_body("hello", receive_id="oc_chat"),
                                     auth(tok))
    assert status == 200 and body["code"] == 0 and body["msg"] == "success"
    assert body["data"]["message_id"].startswith("om_")
    assert body["data"]["chat_id"] == "oc_chat" and body["data"]["msg_type"] == "text"
    fake.register_message("om_parent", "oc_chat")
    status, _, body, _ = client.call("POST", reply_path("om_parent"),
                                     text_body("re", uuid="u-1"), auth(tok))
    assert status == 200 and body["code"] == 0
    d = fake.delivered()
    assert len(d) == 2
    assert (d[0].endpoint, d[0].chat_id, d[0].text, d[0].reply_to) == ("send", "oc_chat", "hello",
                                                                       None)
    assert (d[1].endpoint, d[1].reply_to, d[1].chat_id, d[1].text, d[1].uuid, d[1].token) == (
        "reply", "om_parent", "oc_chat", "re", "u-1", tok)
    assert fake.count("send") == 1 and fake.count("reply") == 1
    # Unknown message ids are fine for replies.
    status, _, body, _ = client.call("POST", reply_path("om_whatever"), text_body(), auth(tok))
    assert status == 200 and fake.delivered()[-1].chat_id is None


def test_post_and_interactive(fake, client):
    tok = get_token(client)
    post = {"zh_cn": {"title": "T", "content": [[{"tag": "text", "text": "a"}]]}}
    card = {"elements": [{"tag": "markdown", "content": "**b**"}]}
    for mt, c in (("post", post), ("interactive", card)):
        body = {"msg_type": mt, "content": json.dumps(c), "receive_id": "oc_1"}
        status, _, resp, _ = client.call("POST", SEND, body, auth(tok))
        assert status == 200 and resp["code"] == 0, resp
    assert [d.content for d in fake.delivered()] == [post, card]


@pytest.mark.parametrize(
    "path,body,code",
    [
        (SEND, {"msg_type": "text", "content": {"text": "hi"}, "receive_id": "oc_1"}, 230001),
        (SEND, {"msg_type": "text", "content": "not json", "receive_id": "oc_1"}, 230001),
        (SEND, {"msg_type": "text", "content": json.dumps({"txt": "x"}), "receive_id": "oc_1"},
         230001),
        (SEND, {"msg_type": "markdown", "content": "{}", "receive_id": "oc_1"}, 230001),
        (SEND, {"msg_type": "text", "content": json.dumps({"text": "x"})}, 99992402),
        ("/open-apis/im/v1/messages", {"msg_type": "text", "content": json.dumps({"text": "x"}),
                                       "receive_id": "oc_1"}, 99992402),
        ("/open-apis/im/v1/messages?receive_id_type=nope",
         {"msg_type": "text", "content": json.dumps({"text": "x"}), "receive_id": "oc_1"},
         99992402),
        (reply_path("om_1"), {"content": json.dumps({"text": "x"})}, 99992402),
        (reply_path("om_1"), {"msg_type": "text", "content": json.dumps({"text": "x"}),
                              "uuid": "u" * 51}, 99992402),
        (reply_path("om_1"), {"msg_type": "post", "content": json.dumps({"text": "x"})}, 230001),
    ],
)
def test_rejects_bad_bodies(fake, client, path, body, code):
    tok = get_token(client)
    status, _, resp, _ = client.call("POST", path, body, auth(tok))
    assert status == 400 and resp["code"] == code, resp
    assert fake.delivered() == []


def test_requires_json_content_type(fake, client):
    tok = get_token(client)
    h = dict(auth(tok), **{"Content-Type": "text/plain"})
    status, _, resp, _ = client.call("POST", SEND, text_body(receive_id="oc_1"), h)
    assert status == 400 and resp["code"] == 230001
    assert fake.delivered() == []


def test_uuid_idempotency(fake, client):
    tok = get_token(client)
    first = client.call("POST", reply_path("om_a"), text_body("one", uuid="same"), auth(tok))[2]
    again = client.call("POST", reply_path("om_a"), text_body("two", uuid="same"), auth(tok))[2]
    assert first["code"] == 0 and again == first
    other = client.call("POST", reply_path("om_a"), text_body("three", uuid="other"), auth(tok))[2]
    assert other["data"]["message_id"] != first["data"]["message_id"]
    assert [d.text for d in fake.delivered()] == ["one", "three"]
    assert fake.uuid_repeats() == ["same"]
    assert fake.count("reply") == 3


def test_rate_limit(fake, client):
    tok = get_token(client)
    fake.rate_limit(2, 3)
    for _ in range(2):
        status, headers, body, _ = client.call("POST", SEND, text_body(receive_id="oc_1",
                                                                       uuid="rl"), auth(tok))
        assert status == 429 and body["code"] == 99991400
        assert body["msg"] == "request trigger frequency limit"
        assert headers["x-ogw-ratelimit-reset"] == "3"
    status, _, body, _ = client.call("POST", SEND, text_body(receive_id="oc_1", uuid="rl"),
                                     auth(tok))
    assert status == 200 and body["code"] == 0
    assert len(fake.delivered()) == 1
    assert [r.status for r in fake.send_requests()] == [429, 429, 200]
    assert [r.uuid for r in fake.send_requests()] == ["rl"] * 3


def test_outage(fake, client):
    tok = get_token(client)
    fake.outage(0.5)
    for path in (TOKEN, SEND):
        status, _, body, raw = client.call("POST", path, text_body(receive_id="oc_1"), auth(tok))
        assert status == 503 and body is None and raw  # not JSON
    assert fake.delivered() == []
    time.sleep(0.6)
    status, _, body, _ = client.call("POST", SEND, text_body(receive_id="oc_1"), auth(tok))
    assert status == 200 and len(fake.delivered()) == 1


def test_hang_sends(fake, client):
    tok = get_token(client)
    fake.hang_sends(True)
    post_unanswered(fake, reply_path("om_h"), text_body(uuid="uh"), tok)
    assert fake.wait_until(lambda: len(fake.hanging()) == 1, 2)
    assert fake.hanging()[0].uuid == "uh"
    assert fake.delivered() == []
    fake.hang_sends(False)
    status, _, body, _ = client.call("POST", reply_path("om_h"), text_body(uuid="uh"), auth(tok))
    assert status == 200 and [d.uuid for d in fake.delivered()] == ["uh"]


def test_hang_sends_after_delivery(fake, client):
    tok = get_token(client)
    fake.hang_sends(True, deliver=True)
    post_unanswered(fake, reply_path("om_h"), text_body(uuid="uh"), tok)
    assert len(fake.delivered()) == 1
    fake.hang_sends(False)
    status, _, body, _ = client.call("POST", reply_path("om_h"), text_body(uuid="uh"), auth(tok))
    assert status == 200 and body["data"]["message_id"] == fake.delivered()[0].message_id
    assert len(fake.delivered()) == 1 and fake.uuid_repeats() == ["uh"]


def test_keep_alive_and_chunked(fake):
    tok = None
    body = json.dumps({"app_id": "cli_test", "app_secret": "secret-123"}).encode()
    for status, headers, data in pipelined(fake.port, chunked_post(TOKEN, body), 2):
        assert status.startswith(b"HTTP/1.1 200")
        assert "close" not in headers.get("connection", "")
        tok = json.loads(data)["tenant_access_token"]
    assert tok and fake.token_fetches == 2


def test_control_api_and_standalone(tmp_path):
    port = free_port()
    script = Path(__file__).resolve().parents[1] / "fakes" / "feishu_fake.py"
    proc = subprocess.Popen([sys.executable, str(script), "--port", str(port), "--app-id", "cli_x",
                             "--app-secret", "sx"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f"127.0.0.1:{port}" in line
        base = f"http://127.0.0.1:{port}"

        def post(path, obj):
            req = urllib.request.Request(base + path, data=json.dumps(obj).encode(),
                                         headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, e.read()

        status, body = post(TOKEN, {"app_id": "cli_x", "app_secret": "sx"})
        tok = body["tenant_access_token"]
        assert post("/_fake/rate_limit", {"n": 1, "reset_seconds": 2}) == (200, {"ok": True})
        data = json.dumps(text_body(receive_id="oc_1")).encode()
        req = urllib.request.Request(base + SEND, data=data,
                                     headers={"Content-Type": "application/json", **auth(tok)})
        with pytest.raises(urllib.error.HTTPError) as ei:
            urllib.request.urlopen(req, timeout=5)
        assert ei.value.code == 429 and ei.value.headers["x-ogw-ratelimit-reset"] == "2"
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
        with urllib.request.urlopen(base + "/_fake/delivered", timeout=5) as r:
            d = json.loads(r.read())["delivered"]
        assert len(d) == 1 and d[0]["content"] == {"text": "hi"}
        assert post("/_fake/expire_all_tokens", {})[0] == 200
        with pytest.raises(urllib.error.HTTPError) as ei:
            urllib.request.urlopen(req, timeout=5)
        assert ei.value.code == 400 and json.loads(ei.value.read())["code"] == 99991663
        assert post("/_fake/outage", {"seconds": 5})[0] == 200
        assert post(TOKEN, {"app_id": "cli_x", "app_secret": "sx"})[0] == 503
        with urllib.request.urlopen(base + "/_fake/stats", timeout=5) as r:
            stats = json.loads(r.read())
        assert stats["token_fetches"] == 1 and stats["delivered"] == 1
    finally:
        proc.terminate()
        proc.wait(5)


def test_concurrent_clients(fake):
    errors = []

    def worker(i):
        try:
            c = Client(fake)
            tok = get_token(c)
            for j in range(10):
                s, _, b, _ = c.call("POST", reply_path(f"om_{i}"), text_body(f"{i}-{j}"), auth(tok))
                assert s == 200 and b["code"] == 0
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors
    assert len(fake.delivered()) == 80


def test_more_apps_have_their_own_tokens_and_bot_identity(fake, client):
    open_id = fake.add_app("cli_other", "other-secret")
    assert open_id != fake.bot_open_id
    status, _, body, _ = client.token("cli_other", "secret-123")  # the first app's secret
    assert body["code"] == 10014
    status, _, body, _ = client.token("cli_other", "other-secret")
    assert status == 200 and body["code"] == 0
    other = body["tenant_access_token"]
    first = client.token()[2]["tenant_access_token"]
    assert other != first
    assert fake.token_owner(other) == "cli_other" and fake.token_owner(first) == "cli_test"
    assert client.token("cli_other", "other-secret")[2]["tenant_access_token"] == other
    info = client.call("GET", "/open-apis/bot/v3/info", headers=auth(other))[2]
    assert info["bot"]["open_id"] == open_id
    info = client.call("GET", "/open-apis/bot/v3/info", headers=auth(first))[2]
    assert info["bot"]["open_id"] == fake.bot_open_id
    assert fake.token_fetches == 3


# ---------------------------------------------------------------------- recall


def recall_path(mid: str) -> str:
    return f"/open-apis/im/v1/messages/{mid}"


def send_text(client, tok: str, chat: str = "oc_chat", text: str = "hi") -> str:
    status, _, body, _ = client.call("POST", SEND, text_body(text, receive_id=chat), auth(tok))
    assert status == 200 and body["code"] == 0
    return body["data"]["message_id"]


def test_recall(fake, client):
    tok = get_token(client)
    mid = send_text(client, tok, text="oops")
    kept = send_text(client, tok, text="keep")
    status, _, body, _ = client.call("DELETE", recall_path(mid), headers=auth(tok))
    assert (status, body) == (200, {"code": 0, "msg": "success", "data": {}})
    [r] = fake.wait_for_recalls(1, timeout=1)
    assert (r.message_id, r.chat_id, r.chat, r.token) == (mid, "oc_chat", "oc_chat", tok)
    assert r.delivery.text == "oops" and r.delivery.recalled
    assert [d.recalled for d in fake.delivered()] == [True, False]
    assert fake.recalls("oc_other") == [] and fake.count("recall") == 1
    # Already recalled.
    status, _, body, _ = client.call("DELETE", recall_path(mid), headers=auth(tok))
    assert (status, body["code"], body["msg"]) == (400, 230011, "The message was withdrawn.")
    # Never seen, and not even an om_ id.
    for unknown in ("om_never", "abc"):
        status, _, body, _ = client.call("DELETE", recall_path(unknown), headers=auth(tok))
        assert (status, body["code"]) == (400, 230001) and "invalid message_id" in body["msg"]
    assert len(fake.recalls()) == 1 and not fake.delivered()[1].recalled
    assert client.call("DELETE", recall_path(kept), headers=auth(tok))[0] == 200
    assert [r.message_id for r in fake.recalls()] == [mid, kept]


def test_recall_refusals(fake, client):
    tok = get_token(client)
    mid = send_text(client, tok)
    # A user's message: the app did not send it.
    fake.register_message("om_user", "oc_chat")
    status, _, body, _ = client.call("DELETE", recall_path("om_user"), headers=auth(tok))
    assert (status, body["code"]) == (400, 230026)
    assert body["msg"] == "No permission to recall this message."
    # Another app's message.
    fake.add_app("cli_other", "other-secret")
    other = client.token("cli_other", "other-secret")[2]["tenant_access_token"]
    status, _, body, _ = client.call("DELETE", recall_path(mid), headers=auth(other))
    assert (status, body["code"]) == (400, 230026)
    # Too old.
    fake.recall_window = 0.2
    time.sleep(0.3)
    status, _, body, _ = client.call("DELETE", recall_path(mid), headers=auth(tok))
    assert (status, body["code"]) == (400, 230009)
    assert fake.recalls() == [] and not fake.delivered()[0].recalled
    # Only DELETE is served on that path.
    assert client.call("GET", recall_path(mid), headers=auth(tok))[0] == 404
    assert client.call("POST", recall_path(mid), {}, headers=auth(tok))[0] == 404


def test_recall_token_checks_like_send(fake, client):
    tok = get_token(client)
    mid = send_text(client, tok)
    status, _, body, _ = client.call("DELETE", recall_path(mid))
    assert (status, body["code"]) == (400, 99991661)
    status, _, body, _ = client.call("DELETE", recall_path(mid), headers=auth("t-bogus"))
    assert (status, body["code"]) == (400, 99991663)
    fake.expire_all_tokens()
    status, _, body, _ = client.call("DELETE", recall_path(mid), headers=auth(tok))
    assert (status, body["code"]) == (400, 99991663)
    assert fake.recalls() == []
    tok2 = get_token(client)  # the same app's new token may recall what the old one sent
    assert client.call("DELETE", recall_path(mid), headers=auth(tok2))[0] == 200
    assert fake.recalls()[0].token == tok2
