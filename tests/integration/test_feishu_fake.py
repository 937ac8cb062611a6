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
    fake.app_sends_per_second = None  # 80 sends at once: the per-app limit is tested below
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


def test_an_app_sends_fifty_messages_a_second_then_gets_429(fake, client):
    tok = get_token(client)
    for i in range(50):
        s, _, b, _ = client.call("POST", reply_path(f"om_{i}"), text_body(f"m{i}"), auth(tok))
        assert s == 200 and b["code"] == 0, (i, b)
    s, headers, b, _ = client.call("POST", reply_path("om_x"), text_body("one too many"),
                                   auth(tok))
    assert s == 429 and b["code"] == 99991400, b
    assert headers.get("x-ogw-ratelimit-reset") == "1", headers
    assert fake.app_limited() == 1 and len(fake.delivered()) == 50
    time.sleep(1.05)
    s, _, b, _ = client.call("POST", reply_path("om_y"), text_body("later"), auth(tok))
    assert s == 200 and b["code"] == 0, b


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


# ---------------------------------------------------------------------- CardKit card entities

CARDS = "/open-apis/cardkit/v1/cards"


def content_path(card_id: str, element_id: str = "md") -> str:
    return f"{CARDS}/{card_id}/elements/{element_id}/content"


def settings_path(card_id: str) -> str:
    return f"{CARDS}/{card_id}/settings"


def card_json(streaming: bool = True, elements=None, **config) -> dict:
    if elements is None:
        elements = [{"tag": "markdown", "content": "", "element_id": "md"},
                    {"tag": "button", "text": {"tag": "plain_text", "content": "ok"},
                     "element_id": "btn"}]
    return {"schema": "2.0", "config": dict(streaming_mode=streaming, **config),
            "body": {"elements": elements}}


def create_card(client, tok: str, card=None, **kw):
    body = {"type": "card_json", "data": json.dumps(card if card is not None else card_json())}
    body.update(kw)
    status, _, resp, _ = client.call("POST", CARDS, body, auth(tok))
    return status, resp


def new_card(client, tok: str, card=None) -> str:
    status, resp = create_card(client, tok, card)
    assert (status, resp["code"], resp["msg"]) == (200, 0, "success"), resp
    return resp["data"]["card_id"]


def put_content(client, tok: str, card_id: str, text: str, seq: int, element_id: str = "md",
                **kw):
    body = {"content": text, "sequence": seq}
    body.update(kw)
    status, headers, resp, _ = client.call("PUT", content_path(card_id, element_id), body,
                                           auth(tok))
    return status, resp, headers


def patch_settings(client, tok: str, card_id: str, settings, seq: int, **kw):
    raw = settings if isinstance(settings, str) else json.dumps(settings)
    body = {"settings": raw, "sequence": seq}
    body.update(kw)
    status, _, resp, _ = client.call("PATCH", settings_path(card_id), body, auth(tok))
    return status, resp


def card_message(card_id: str) -> str:
    return json.dumps({"type": "card", "data": {"card_id": card_id}})


def test_card_stream(fake, client):
    tok = get_token(client)
    cid = new_card(client, tok)
    assert cid.isdigit() and 1 <= len(cid) <= 20
    # Sent by reference, then grown, then streaming switched off.
    status, _, resp, _ = client.call("POST", SEND, {
        "receive_id": "oc_1", "msg_type": "interactive", "content": card_message(cid)}, auth(tok))
    assert status == 200 and resp["code"] == 0, resp
    mid = resp["data"]["message_id"]
    for seq, text in ((1, "Hel"), (2, "Hello"), (5, "Hello, world")):
        status, resp, _ = put_content(client, tok, cid, text, seq)
        assert (status, resp) == (200, {"code": 0, "msg": "success", "data": {}})
    status, resp = patch_settings(client, tok, cid, {"config": {"streaming_mode": False}}, 6)
    assert (status, resp["code"]) == (200, 0)
    c = fake.wait_for_card(cid, lambda c: not c.streaming_mode, timeout=1)
    assert c is not None and (c.card_id, c.app_id, c.streaming_mode) == (cid, "cli_test", False)
    assert c.card["schema"] == "2.0" and c.tags == {"md": "markdown", "btn": "button"}
    assert [(u.element_id, u.content, u.sequence, u.status) for u in c.versions("md")] == [
        ("md", "Hel", 1, 200), ("md", "Hello", 2, 200), ("md", "Hello, world", 5, 200)]
    assert c.text("md") == "Hello, world" and c.text("btn") is None
    assert [u.t for u in c.updates] == sorted(u.t for u in c.updates)
    assert [(s.streaming_mode, s.sequence) for s in c.settings_changes] == [(False, 6)]
    assert c.settings_changes[0].settings == {"config": {"streaming_mode": False}}
    assert c.sequences() == [1, 2, 5, 6] and c.last_sequence == 6
    assert (c.sent, c.message_id) == (True, mid)
    assert c.delivery is not None and c.delivery.card_id == cid and c.delivery.chat_id == "oc_1"
    [d] = fake.delivered()
    assert (d.msg_type, d.card_id, d.message_id) == ("interactive", cid, mid)
    # A copy: what the caller holds does not change.
    put_back = fake.card(cid)
    assert put_back is not None and put_back is not c
    assert fake.card("7355372766134100000") is None
    assert [x.card_id for x in fake.wait_for_cards(1, timeout=1)] == [cid]
    assert fake.count("card_create") == 1 and fake.count("card_content") == 3
    assert fake.count("card_settings") == 1
    # The reply route sends an entity as well.
    cid2 = new_card(client, tok)
    fake.register_message("om_user", "oc_2")
    status, _, resp, _ = client.call("POST", reply_path("om_user"), {
        "msg_type": "interactive", "content": card_message(cid2)}, auth(tok))
    assert status == 200 and resp["code"] == 0
    c2 = fake.card(cid2)
    assert c2 is not None and c2.sent and c2.delivery.endpoint == "reply"
    assert c2.delivery.chat_id == "oc_2" and c2.sequences() == []


@pytest.mark.parametrize("body,code", [
    ({"type": "template", "data": json.dumps(card_json())}, 10002),
    ({"type": "card_json", "data": card_json()}, 10002),
    ({"type": "card_json"}, 10002),
    ({"type": "card_json", "data": ""}, 300307),
    ({"type": "card_json", "data": "{}"}, 300307),
    ({"type": "card_json", "data": "{not json"}, 200220),
    ({"type": "card_json", "data": json.dumps({**card_json(), "schema": "1.0"})}, 300303),
    ({"type": "card_json", "data": json.dumps({k: v for k, v in card_json().items()
                                               if k != "schema"})}, 300303),
    ({"type": "card_json", "data": json.dumps(card_json(update_multi=False))}, 300302),
    ({"type": "card_json", "data": json.dumps(card_json(elements=[
        {"tag": "markdown", "content": "a", "element_id": "x"},
        {"tag": "column_set", "columns": [{"tag": "column", "elements": [
            {"tag": "markdown", "content": "b", "element_id": "x"}]}]}]))}, 300301),
    ({"type": "card_json", "data": json.dumps(card_json(elements=[
        {"tag": "markdown", "content": "a", "element_id": "1abc"}]))}, 10002),
    ({"type": "card_json", "data": json.dumps(card_json(elements=[
        {"tag": "markdown", "content": "a", "element_id": "a" * 21}]))}, 10002),
    ({"type": "card_json", "data": json.dumps(card_json(elements=[
        {"tag": "markdown", "content": "a", "element_id": "a-b"}]))}, 10002),
    ({"type": "card_json", "data": json.dumps(card_json(elements=[
        {"tag": "markdown", "content": "a"}] * 201))}, 300305),
    ({"type": "card_json", "data": json.dumps(card_json(elements=[
        {"tag": "markdown", "content": "a" * (31 * 1024), "element_id": "md"}]))}, 200860),
    ({"type": "card_json", "data": json.dumps(card_json(streaming="yes"))}, 200220),
])
def test_card_create_refusals(fake, client, body, code):
    tok = get_token(client)
    status, _, resp, _ = client.call("POST", CARDS, body, auth(tok))
    assert (status, resp["code"]) == (400, code), resp
    assert fake.cards() == []


def test_card_create_accepts_ids_at_the_limits(fake, client):
    tok = get_token(client)
    cid = new_card(client, tok, card_json(elements=[
        {"tag": "markdown", "content": "a", "element_id": "a" * 20},
        {"tag": "plain_text", "content": "b", "element_id": "B_1"}]))
    c = fake.card(cid)
    assert c is not None and c.texts == {"a" * 20: "a", "B_1": "b"} and c.streaming_mode


def test_card_token_and_method_checks(fake, client):
    tok = get_token(client)
    body = {"type": "card_json", "data": json.dumps(card_json())}
    status, _, resp, _ = client.call("POST", CARDS, body)
    assert (status, resp["code"]) == (400, 99991661)
    status, _, resp, _ = client.call("POST", CARDS, body, auth("t-bogus"))
    assert (status, resp["code"]) == (400, 99991663)
    cid = new_card(client, tok)
    for path, method in ((content_path(cid), "PUT"), (settings_path(cid), "PATCH")):
        status, _, resp, _ = client.call(method, path, {"content": "x", "sequence": 1,
                                                        "settings": "{}"})
        assert (status, resp["code"]) == (400, 99991661)
        status, _, resp, _ = client.call(method, path, {"content": "x", "sequence": 1,
                                                        "settings": "{}"}, auth("t-bogus"))
        assert (status, resp["code"]) == (400, 99991663)
    assert client.call("GET", CARDS, headers=auth(tok))[0] == 404
    assert client.call("POST", content_path(cid), {"content": "x", "sequence": 1},
                       auth(tok))[0] == 404
    assert client.call("PUT", settings_path(cid), {"settings": "{}", "sequence": 1},
                       auth(tok))[0] == 404
    assert client.call("PUT", f"{CARDS}/{cid}/elements/md", {"content": "x", "sequence": 1},
                       auth(tok))[0] == 404
    h = dict(auth(tok), **{"Content-Type": "text/plain"})
    assert client.call("PUT", content_path(cid), {"content": "x", "sequence": 1},
                       h)[2]["code"] == 10002
    fake.expire_all_tokens()
    status, resp, _ = put_content(client, tok, cid, "x", 1)
    assert (status, resp["code"]) == (400, 99991663)
    c = fake.card(cid)
    assert c is not None and c.updates == [] and c.last_sequence == 0


def test_card_update_refusals(fake, client):
    tok = get_token(client)
    cid = new_card(client, tok)
    refusals = [
        (put_content(client, tok, "7355372766134100000", "x", 1), 200740),
        (put_content(client, tok, cid, "x", 1, element_id="nope"), 300313),
        (put_content(client, tok, cid, "x", 1, element_id="btn"), 300310),
        (put_content(client, tok, cid, "", 1), 10002),
        (put_content(client, tok, cid, "x" * 100_001, 1), 10002),
        (put_content(client, tok, cid, "x", 0), 10002),
        (put_content(client, tok, cid, "x", "1"), 10002),
        (put_content(client, tok, cid, "x", 2**31), 10002),
        (put_content(client, tok, cid, "x", 1, uuid="u" * 65), 10002),
    ]
    for (status, resp, _), code in refusals:
        assert (status, resp["code"]) == (400, code), (resp, code)
    assert put_content(client, tok, cid, "a", 3)[0] == 200
    # Not above the last accepted sequence, whatever route set it.
    for seq in (3, 2):
        status, resp, _ = put_content(client, tok, cid, "ab", seq)
        assert (status, resp["code"]) == (400, 300317), resp
    summary = {"config": {"summary": {"content": "…"}}}
    assert patch_settings(client, tok, cid, summary, 7)[0] == 200
    assert put_content(client, tok, cid, "ab", 6)[1]["code"] == 300317
    assert patch_settings(client, tok, cid, {"config": {}}, 7)[1]["code"] == 300317
    assert put_content(client, tok, cid, "ab", 8)[0] == 200
    # Settings: a JSON string holding an object; update_multi false refused.
    for bad, code in (("", 10002), ("not json", 10002), ("[1]", 10002),
                      (json.dumps({"config": {"update_multi": False}}), 300302),
                      (json.dumps({"config": {"streaming_mode": "off"}}), 10002)):
        status, resp = patch_settings(client, tok, cid, bad, 20)
        assert (status, resp["code"]) == (400, code), (bad, resp)
    status, _, resp, _ = client.call("PATCH", settings_path(cid), {
        "settings": {"config": {}}, "sequence": 20}, auth(tok))
    assert (status, resp["code"]) == (400, 10002)
    # Another app may not touch it.
    fake.add_app("cli_other", "other-secret")
    other = client.token("cli_other", "other-secret")[2]["tenant_access_token"]
    assert put_content(client, other, cid, "abc", 20)[1]["code"] == 300311
    assert patch_settings(client, other, cid, {"config": {}}, 20)[1]["code"] == 300311
    c = fake.card(cid)
    assert c is not None and c.sequences() == [3, 7, 8] and c.text("md") == "ab"


def test_card_streaming_mode_is_needed_for_content(fake, client):
    tok = get_token(client)
    cid = new_card(client, tok, card_json(streaming=False))
    status, resp, _ = put_content(client, tok, cid, "x", 1)
    assert (status, resp["code"]) == (400, 300309)
    assert patch_settings(client, tok, cid, {"config": {"streaming_mode": True}}, 1)[0] == 200
    assert put_content(client, tok, cid, "x", 2)[0] == 200
    assert patch_settings(client, tok, cid, {"config": {"streaming_mode": False}}, 3)[0] == 200
    assert put_content(client, tok, cid, "xy", 4)[1]["code"] == 300309
    c = fake.card(cid)
    assert c is not None and c.streaming_mode is False
    assert [s.streaming_mode for s in c.settings_changes] == [True, False]
    assert [u.content for u in c.updates] == ["x"]
    # Feishu closes streaming mode by itself after a while (10 minutes): 200850 then.
    fake.card_streaming_timeout = 0.2
    cid2 = new_card(client, tok)
    assert put_content(client, tok, cid2, "a", 1)[0] == 200
    time.sleep(0.3)
    status, resp, _ = put_content(client, tok, cid2, "ab", 2)
    assert (status, resp["code"]) == (400, 200850)
    assert put_content(client, tok, cid2, "ab", 2)[1]["code"] == 300309
    c2 = fake.card(cid2)
    assert c2 is not None and not c2.streaming_mode
    # Switching it on again restarts the clock.
    assert patch_settings(client, tok, cid2, {"config": {"streaming_mode": True}}, 2)[0] == 200
    assert put_content(client, tok, cid2, "ab", 3)[0] == 200
    # An entity lives for 14 days.
    fake.card_ttl = 0.1
    time.sleep(0.15)
    assert put_content(client, tok, cid2, "abc", 4)[1]["code"] == 200750


def test_card_rate_limit_per_card(fake, client):
    tok = get_token(client)
    cid, other = new_card(client, tok), new_card(client, tok)
    answers = [put_content(client, tok, cid, "x" * (i + 1), i + 1) for i in range(11)]
    assert [a[0] for a in answers] == [200] * 10 + [429]
    status, resp, headers = answers[10]
    assert (resp["code"], resp["msg"]) == (99991400, "request trigger frequency limit")
    assert headers["x-ogw-ratelimit-limit"] == "10" and int(headers["x-ogw-ratelimit-reset"]) >= 1
    assert put_content(client, tok, other, "y", 1)[0] == 200  # per card
    assert patch_settings(client, tok, cid, {"config": {}}, 12)[0] == 429  # settings count too
    time.sleep(1.05)
    assert put_content(client, tok, cid, "x" * 11, 11)[0] == 200  # the refused one used nothing
    c = fake.card(cid)
    assert c is not None and c.sequences() == list(range(1, 12))


def test_card_sent_once(fake, client):
    tok = get_token(client)
    cid = new_card(client, tok)
    body = {"receive_id": "oc_1", "msg_type": "interactive", "content": card_message(cid),
            "uuid": "send-1"}
    first = client.call("POST", SEND, body, auth(tok))[2]
    assert first["code"] == 0
    # The same send again (uuid repeat): the first answer, not a second send.
    assert client.call("POST", SEND, body, auth(tok))[2] == first
    again = dict(body, uuid="send-2")
    status, _, resp, _ = client.call("POST", SEND, again, auth(tok))
    assert (status, resp["code"]) == (400, 230099) and "already sent" in resp["msg"]
    status, _, resp, _ = client.call("POST", SEND, dict(body, uuid=None, content=card_message(
        "7355372766134100000")), auth(tok))
    assert (status, resp["code"]) == (400, 230099) and "not found" in resp["msg"]
    fake.add_app("cli_other", "other-secret")
    other = client.token("cli_other", "other-secret")[2]["tenant_access_token"]
    cid2 = new_card(client, tok)
    status, _, resp, _ = client.call("POST", SEND, dict(body, uuid=None,
                                                        content=card_message(cid2)), auth(other))
    assert (status, resp["code"]) == (400, 300311)
    assert [d.card_id for d in fake.delivered()] == [cid]
    c2 = fake.card(cid2)
    assert c2 is not None and not c2.sent and c2.message_id is None
    # A card that is not an entity reference is an ordinary interactive message.
    plain = {"receive_id": "oc_1", "msg_type": "interactive",
             "content": json.dumps(card_json())}
    assert client.call("POST", SEND, plain, auth(tok))[2]["code"] == 0
    assert fake.delivered()[-1].card_id is None


def test_card_faults(fake, client):
    tok = get_token(client)
    fake.fail_card_create()
    status, resp = create_card(client, tok)
    assert (status, resp["code"]) == (400, 200220)
    fake.fail_card_create(1, status=500)
    status, resp = create_card(client, tok)
    assert (status, resp["code"]) == (500, 300120)
    assert fake.cards() == []
    cid = new_card(client, tok)
    fake.force_card_fault(1)
    status, resp, headers = put_content(client, tok, cid, "a", 1)
    assert (status, resp["code"]) == (429, 99991400) and "x-ogw-ratelimit-reset" in headers
    assert put_content(client, tok, cid, "a", 1)[0] == 200  # the sequence was not used
    fake.force_card_fault(1, status=503)
    assert put_content(client, tok, cid, "ab", 2)[0] == 503
    # Done, but the answer was lost: a retry with that sequence is refused.
    fake.force_card_fault(1, status=500, deliver=True)
    status, resp, _ = put_content(client, tok, cid, "ab", 2)
    assert (status, resp["code"]) == (500, 300120)
    assert put_content(client, tok, cid, "ab", 2)[1]["code"] == 300317
    c = fake.card(cid)
    assert c is not None and [(u.content, u.sequence, u.status) for u in c.updates] == [
        ("a", 1, 200), ("ab", 2, 500)]
    # The settings route has its own faults; a content fault leaves it alone.
    fake.force_card_fault(1, status=429, route="settings")
    assert put_content(client, tok, cid, "abc", 3)[0] == 200
    off = {"config": {"streaming_mode": False}}
    assert patch_settings(client, tok, cid, off, 4)[0] == 429
    assert patch_settings(client, tok, cid, off, 4)[0] == 200
    with pytest.raises(KeyError):
        fake.force_card_fault(route="create")
    fake.fail_card_create(3)
    fake.force_card_fault(2)
    fake.reset()
    assert fake.cards() == []
    assert create_card(client, tok)[0] == 200
    # The same controls over HTTP, and the counts in /_fake/stats.
    assert client.call("POST", "/_fake/fail_card_create", {"count": 1, "code": 300303})[0] == 200
    assert create_card(client, tok)[1]["code"] == 300303
    assert client.call("POST", "/_fake/force_card_fault", {"route": "settings"})[0] == 200
    cid = fake.cards()[0].card_id
    assert patch_settings(client, tok, cid, {"config": {}}, 1)[0] == 429
    assert put_content(client, tok, cid, "x", 1)[0] == 200
    stats = client.call("GET", "/_fake/stats")[2]
    assert (stats["cards"], stats["card_updates"], stats["card_settings"]) == (1, 1, 0)


def test_card_uuid(fake, client):
    tok = get_token(client)
    cid = new_card(client, tok)
    first = put_content(client, tok, cid, "a", 1, uuid="op-1")
    assert first[0] == 200
    # The same operation again (a retry): answered like the first, not done twice.
    assert put_content(client, tok, cid, "a", 1, uuid="op-1")[:2] == first[:2]
    assert fake.uuid_repeats() == ["op-1"]
    # The uuid on another operation: a conflict.
    status, resp, _ = put_content(client, tok, cid, "ab", 2, uuid="op-1")
    assert (status, resp["code"]) == (400, 200770)
    assert put_content(client, tok, cid, "ab", 2, uuid="op-2")[0] == 200
    c = fake.card(cid)
    assert c is not None and [(u.content, u.uuid) for u in c.updates] == [
        ("a", "op-1"), ("ab", "op-2")]


def test_card_routes_on_the_platform_fake():
    from fakes.feishu_platform_fake import FeishuPlatformFake
    with FeishuPlatformFake() as pf:
        c = Client(pf)
        try:
            tok = get_token_for(c, pf.app_id, pf.app_secret)
            cid = new_card(c, tok)
            assert put_content(c, tok, cid, "hi", 1)[0] == 200
            card = pf.card(cid)
            assert card is not None and card.text("md") == "hi"
        finally:
            c.close()


def get_token_for(client, app_id: str, secret: str) -> str:
    status, _, body, _ = client.token(app_id, secret)
    assert status == 200 and body["code"] == 0, body
    return body["tenant_access_token"]
