"""Self-tests of the fake WeCom API (tests/fakes/wecom_fake.py) and of the test-side crypto
(wecom_crypto.py, checked against WeCom's official sample values quoted in the protocol notes
section 6), so that failures of the botgate tests point at botgate."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

import wecom_crypto
from botgate_harness import chunked_post, exchange, free_port, json_or_none, pipelined
from fakes.wecom_fake import WecomFake

# Official sample (doc 91144), notes section 6.
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "wx5823bf96d3bd56c7"
GET_SIG = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
GET_TS, GET_NONCE = "1409659589", "263014780"
GET_ECHOSTR_QUERY = ("P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8T"
                     "gAE7OaBO%2BFZXvnaqQ%3D%3D")
POST_SIG = "477715d11cdb4164915debcba66cb864d751f3e6"
POST_TS, POST_NONCE = "1409659813", "1372623149"
POST_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCU"
    "pj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgp"
    "ue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCK"
    "Iw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o"
    "0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2"
    "pDBS8R07+qN+E7Q=="
)
POST_PLAIN = (
    b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    b"<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n"
    b"<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n"
    b"<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"
)
ENC_MSG = (
    "<xml><ToUserName><![CDATA[mycreate]]></ToUserName><FromUserName><![CDATA[wx5823bf96d3bd56c7]]>"
    "</FromUserName><CreateTime>1409659813</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[hi]]></Content></xml>"
)
ENC_ENCRYPT = (
    "ZA4HuQypHxnRrA+A6SOHGK7EzkpssV9NGebfQyna6lYzlGtVOtvDIJsMc3ZlYiYU/Ig9KV3GOZxR0ejbHcfLx4HIwqah"
    "APmh2QM3dUcmPYDXFgejvsj5l9+4SVm335MBeTJuZZIYclXBWL7XdIiLmoqQdZ7hYk8GShoeTXz5i0eQIno0sxVr3J5RF"
    "PnZzWxsNI9Myw9dt+DYF5dQRRUKh5ZB/sLzE4HIib6NjuS8bOg8T0IUp16kXVQ5ck7mRY+njgR6us9cK14aR9D/02kHVG"
    "Nx2OyphOfK/0obuXDBOl/CqsdotVL9c7sazXArnsLOVFfMg9kh/4JqmBUI/szYrw/eWpGIoRMdYAgnh4vCjHpcDKHDH/r"
    "7lL6eOxBS2nlJ"
)
ENC_SIG = "229defe38a6bf0bcbe8e09c0907cfea50b5b8f44"

WEBHOOK = "/cgi-bin/webhook/send"
MESSAGE = "/cgi-bin/message/send"
AIBOT = "/cgi-bin/aibot/response"


# ---------------------------------------------------------------------- crypto vectors


def test_aes_key_and_iv():
    key = wecom_crypto.aes_key(AES_KEY)
    assert key.hex() == "8d69989bbaabe67328014c194631ad0719b3dca035b64023df292447aab60760"
    assert key[:16].hex() == "8d69989bbaabe67328014c194631ad07"
    with pytest.raises(ValueError):
        wecom_crypto.aes_key(AES_KEY[:-1])


def test_official_url_verification_vector():
    query = f"msg_signature={GET_SIG}&timestamp={GET_TS}&nonce={GET_NONCE}"
    q = dict(urllib.parse.parse_qsl(f"{query}&echostr={GET_ECHOSTR_QUERY}"))
    echostr = q["echostr"]
    assert "+" in echostr and "/" in echostr  # URL-decoded properly, not "+" -> " "
    assert wecom_crypto.signature(TOKEN, GET_TS, GET_NONCE, echostr) == GET_SIG
    prefix, msg, rid, pad = wecom_crypto.decrypt_full(AES_KEY, echostr)
    assert (msg, rid, pad) == (b"1616140317555161061", CORP_ID.encode(), 7)
    assert wecom_crypto.decrypt(AES_KEY, echostr) == (b"1616140317555161061", CORP_ID)


def test_official_message_vector():
    assert wecom_crypto.signature(TOKEN, POST_TS, POST_NONCE, POST_ENCRYPT) == POST_SIG
    prefix, msg, rid, pad = wecom_crypto.decrypt_full(AES_KEY, POST_ENCRYPT)
    assert prefix == b"0960688932c47ef1"
    assert msg == POST_PLAIN and rid == CORP_ID.encode()
    assert pad == 30  # > 16: proves the 32-byte PKCS#7 block


def test_official_encryption_vector():
    enc = wecom_crypto.encrypt(AES_KEY, ENC_MSG, CORP_ID, random_prefix=b"aaaabbbbccccdddd")
    assert enc == ENC_ENCRYPT
    assert wecom_crypto.signature(TOKEN, POST_TS, POST_NONCE, enc) == ENC_SIG
    _, msg, rid, pad = wecom_crypto.decrypt_full(AES_KEY, enc)
    assert (msg.decode(), rid.decode(), pad) == (ENC_MSG, CORP_ID, 32)  # a full pad block


@pytest.mark.parametrize("n", [0, 1, 11, 12, 13, 43, 44, 45, 300, 5000])
def test_roundtrip_lengths(n):
    msg = ("中" * n).encode()[:n] if n else b""
    enc = wecom_crypto.encrypt(AES_KEY, msg, "")
    assert len(base64.b64decode(enc)) % 32 == 0
    _, got, rid, pad = wecom_crypto.decrypt_full(AES_KEY, enc)
    assert got == msg and rid == b"" and 1 <= pad <= 32


def test_decrypt_rejects_garbage():
    for bad in ("!!not*base64!!", base64.b64encode(b"x" * 20).decode(), ""):
        with pytest.raises(ValueError):
            wecom_crypto.decrypt(AES_KEY, bad)
    # Another key: the padding check fails (almost always) or the layout is nonsense.
    other = "A" * 43
    with pytest.raises(ValueError):
        wecom_crypto.decrypt(other, ENC_ENCRYPT)


def test_signature_sorts_bytewise():
    # Sorting, not fixed order: any permutation of the inputs gives the same signature.
    a = wecom_crypto.signature("b", "1", "a", "Z")
    assert a == hashlib.sha1(b"1Zab").hexdigest()
    assert a == wecom_crypto.signature("a", "Z", "1", "b")


def test_signed_query_encodes_base64():
    q = wecom_crypto.signed_query(TOKEN, "a+b/c==", echostr=True, timestamp="1", nonce="2")
    assert "echostr=a%2Bb%2Fc%3D%3D" in q
    parsed = dict(urllib.parse.parse_qsl(q))
    assert parsed["echostr"] == "a+b/c=="
    assert parsed["msg_signature"] == wecom_crypto.signature(TOKEN, "1", "2", "a+b/c==")


def test_callback_bodies():
    xml = wecom_crypto.group_message_xml(text="@Bot a]]>b", webhook_url="http://h/x?key=k",
                                         user_id="zhangsan", msg_id="CAIQ1")
    import xml.etree.ElementTree as ET  # parsing our own XML only
    root = ET.fromstring(xml)
    assert root.findtext("Text/Content") == "@Bot a]]>b"
    assert root.findtext("From/UserId") == "zhangsan"
    assert root.findtext("WebhookUrl") == "http://h/x?key=k"
    assert root.findtext("MsgId") == "CAIQ1"
    app = ET.fromstring(wecom_crypto.app_message_xml(text="hi", corp_id="ww1", agent_id=7))
    assert (app.findtext("ToUserName"), app.findtext("Content"), app.findtext("AgentID")) == (
        "ww1", "hi", "7")
    env = ET.fromstring(wecom_crypto.envelope_xml("E==", to_user="ww1", agent_id="7"))
    assert env.findtext("Encrypt") == "E=="
    ai = wecom_crypto.aibot_message(text="hi", response_url="http://r")
    assert ai["from"]["userid"] and ai["msgid"] and ai["chattype"] == "group"


# ---------------------------------------------------------------------- client


class Client:
    """One keep-alive connection to the fake."""

    def __init__(self, fake: WecomFake) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)

    def call(self, method, path, obj=None, raw=None):
        body = raw if raw is not None else (
            json.dumps(obj, ensure_ascii=False).encode() if obj is not None else None)
        status, _, data = exchange(self.conn, method, path, body,
                                   {"Content-Type": "application/json"} if body else {})
        return status, json_or_none(data)

    def webhook(self, key, obj=None, raw=None):
        return self.call("POST", f"{WEBHOOK}?key={key}", obj, raw)

    def token(self, corpid="ww5823bf96d3bd56c7", secret="app-secret-123"):
        q = urllib.parse.urlencode({"corpid": corpid, "corpsecret": secret})
        return self.call("GET", f"/cgi-bin/gettoken?{q}")

    def close(self):
        self.conn.close()


@pytest.fixture
def fake(wecom_fake):
    return wecom_fake


@pytest.fixture
def client(fake):
    c = Client(fake)
    yield c
    c.close()


def text(content, **extra):
    return {"msgtype": "text", "text": dict(content=content, **extra)}


def md(content):
    return {"msgtype": "markdown", "markdown": {"content": content}}


def png(size: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"\0" * (size - 8)


def get_token(client) -> str:
    status, body = client.token()
    assert status == 200 and body["errcode"] == 0, body
    return body["access_token"]


# ---------------------------------------------------------------------- webhook


def test_webhook_text_and_markdown(fake, client):
    key = fake.add_webhook_key()
    status, body = client.webhook(key, text("广州今日天气", mentioned_list=["wangqing", "@all"]))
    assert status == 200 and body == {"errcode": 0, "errmsg": "ok"}
    status, body = client.webhook(key, md("**hi** <@zhangsan>"))
    assert body["errcode"] == 0
    d = fake.delivered(key=key)
    assert [(x.msgtype, x.content) for x in d] == [("text", "广州今日天气"),
                                                   ("markdown", "**hi** <@zhangsan>")]
    assert d[0].mentioned_list == ["wangqing", "@all"] and d[0].mentions("wangqing")
    assert d[1].mentions("zhangsan") and not d[1].mentions("lisi")
    assert fake.webhook_url(key).endswith(f"{WEBHOOK}?key={key}")


def test_webhook_unknown_key(fake, client):
    status, body = client.webhook("no-such-key", text("x"))
    assert status == 200 and body["errcode"] == 93000
    assert "devtool/query?e=93000" in body["errmsg"]
    status, body = client.call("POST", WEBHOOK, text("x"))
    assert body["errcode"] == 93000
    key = fake.add_webhook_key("k1")
    fake.remove_webhook_key(key)
    assert client.webhook(key, text("x"))[1]["errcode"] == 93000
    assert fake.delivered() == []


def test_webhook_limits_in_bytes(fake, client):
    key = fake.add_webhook_key()
    assert client.webhook(key, text("a" * 2048))[1]["errcode"] == 0
    assert client.webhook(key, text("a" * 2049))[1]["errcode"] == 45002
    assert client.webhook(key, text("中" * 682 + "ab"))[1]["errcode"] == 0  # 2048 bytes
    assert client.webhook(key, text("中" * 683))[1]["errcode"] == 45002  # 2049 bytes
    assert client.webhook(key, md("中" * 1365 + "a"))[1]["errcode"] == 0  # 4096 bytes
    assert client.webhook(key, md("中" * 1366))[1]["errcode"] == 45002
    assert len(fake.delivered()) == 3


@pytest.mark.parametrize(
    "body,code",
    [
        ({"msgtype": "nope"}, 40008),
        ({"text": {"content": "x"}}, 40008),
        ({"msgtype": "text", "text": {"content": "  "}}, 44004),
        ({"msgtype": "text", "text": {}}, 44004),
        ({"msgtype": "text", "text": "x"}, 40058),
        ({"msgtype": "text", "text": {"content": "x", "mentioned_list": "zhangsan"}}, 40058),
        ({"msgtype": "markdown", "markdown": {"content": ""}}, 44004),
        ({"msgtype": "news", "news": {"articles": []}}, 40058),
        ({"msgtype": "news", "news": {"articles": [{"title": "t", "url": "u"}] * 9}}, 40058),
        ({"msgtype": "news", "news": {"articles": [{"title": "t"}]}}, 40058),
    ],
)
def test_webhook_rejects_bad_bodies(fake, client, body, code):
    key = fake.add_webhook_key()
    status, resp = client.webhook(key, body)
    assert status == 200 and resp["errcode"] == code, resp
    assert fake.delivered() == []


def test_webhook_rejects_bad_encoding(fake, client):
    key = fake.add_webhook_key()
    assert client.webhook(key, raw=b'{"msgtype":"text",')[1]["errcode"] == 47001
    broken = '{"msgtype":"text","text":{"content":"中'.encode()[:-1] + b'"}}'
    assert client.webhook(key, raw=broken)[1]["errcode"] == 47001
    surrogate = b'{"msgtype":"text","text":{"content":"a\\ud83d"}}'
    assert client.webhook(key, raw=surrogate)[1]["errcode"] == 47001
    assert fake.delivered() == []


def test_webhook_image_and_news(fake, client):
    key = fake.add_webhook_key()
    raw = png(1000)
    img = {"msgtype": "image",
           "image": {"base64": base64.b64encode(raw).decode(), "md5": hashlib.md5(raw).hexdigest()}}
    assert client.webhook(key, img)[1]["errcode"] == 0
    bad_md5 = json.loads(json.dumps(img))
    bad_md5["image"]["md5"] = hashlib.md5(b"other").hexdigest()
    assert client.webhook(key, bad_md5)[1]["errcode"] == 40058
    big = png(2 * 1024 * 1024 + 1)
    too_big = {"msgtype": "image", "image": {"base64": base64.b64encode(big).decode(),
                                             "md5": hashlib.md5(big).hexdigest()}}
    assert client.webhook(key, too_big)[1]["errcode"] == 40009
    gif = b"GIF89a" + b"\0" * 10
    assert client.webhook(key, {"msgtype": "image", "image": {
        "base64": base64.b64encode(gif).decode(), "md5": hashlib.md5(gif).hexdigest()}}
    )[1]["errcode"] == 40004
    news = {"msgtype": "news", "news": {"articles": [
        {"title": "中秋节礼品领取", "description": "d", "url": "https://www.qq.com",
         "picurl": "https://example.com/a.png"}]}}
    assert client.webhook(key, news)[1]["errcode"] == 0
    assert [d.msgtype for d in fake.delivered()] == ["image", "news"]


def test_webhook_rate_limit_default_20_per_minute(fake, client):
    a, b = fake.add_webhook_key(), fake.add_webhook_key()
    for i in range(20):
        assert client.webhook(a, text(f"m{i}"))[1]["errcode"] == 0
    status, body = client.webhook(a, text("m20"))
    assert status == 200 and body["errcode"] == 45009
    assert body["errmsg"].startswith("api freq out of limit")
    assert client.webhook(b, text("other key"))[1]["errcode"] == 0  # per key
    assert len(fake.delivered(key=a)) == 20
    assert fake.errcodes("webhook").count(45009) == 1


def test_webhook_rate_limit_sliding_window():
    with WecomFake(webhook_rate_limit=3, webhook_rate_window=1.0) as f:
        c = Client(f)
        key = f.add_webhook_key()
        for i in range(3):
            assert c.webhook(key, text(f"m{i}"))[1]["errcode"] == 0
            time.sleep(0.2)
        assert c.webhook(key, text("over"))[1]["errcode"] == 45009
        # Refused sends do not count; the window slides with the accepted ones.
        first = f.delivered()[0].t
        f.wait_until(lambda: time.monotonic() >= first + 1.0, 2)
        assert c.webhook(key, text("m3"))[1]["errcode"] == 0
        assert c.webhook(key, text("over"))[1]["errcode"] == 45009
        c.close()
        times = [d.t for d in f.delivered()]
        for i in range(3, len(times)):
            assert times[i] - times[i - 3] >= 1.0


# ---------------------------------------------------------------------- self-built app


def test_gettoken_and_send(fake, client):
    status, body = client.token()
    assert status == 200 and body["errcode"] == 0 and body["errmsg"] == "ok"
    assert body["expires_in"] == 7200
    tok = body["access_token"]
    assert client.token()[1]["access_token"] == tok  # the same token while valid
    assert fake.token_fetches == 2 and fake.issued_tokens() == [tok]
    msg = {"touser": "lisi|zhangsan", "msgtype": "text", "agentid": 1000002,
           "text": {"content": "你的快递已到"}, "safe": 0}
    status, body = client.call("POST", f"{MESSAGE}?access_token={tok}", msg)
    assert status == 200 and body["errcode"] == 0 and body["invaliduser"] == ""
    assert body["msgid"]
    d = fake.delivered("message")[0]
    assert (d.touser, d.agentid, d.token, d.content) == ("lisi|zhangsan", 1000002, tok,
                                                         "你的快递已到")


def test_gettoken_errors(fake, client):
    assert client.token(secret="wrong")[1]["errcode"] == 40001
    assert client.token(corpid="wwother")[1]["errcode"] == 40013
    assert client.call("GET", "/cgi-bin/gettoken?corpsecret=x")[1]["errcode"] == 41002
    assert client.call("GET", "/cgi-bin/gettoken?corpid=ww5823bf96d3bd56c7")[1]["errcode"] == 41004
    assert fake.token_fetches == 0 and fake.count("gettoken") == 4


def test_token_expiry(fake, client):
    tok = get_token(client)
    msg = {"touser": "lisi", "msgtype": "text", "agentid": 1000002, "text": {"content": "x"}}
    assert client.call("POST", f"{MESSAGE}?access_token={tok}", msg)[1]["errcode"] == 0
    fake.expire_all_tokens()
    assert client.call("POST", f"{MESSAGE}?access_token={tok}", msg)[1]["errcode"] == 42001
    assert client.call("POST", f"{MESSAGE}?access_token=bogus", msg)[1]["errcode"] == 40014
    assert client.call("POST", MESSAGE, msg)[1]["errcode"] == 41001
    tok2 = get_token(client)
    assert tok2 != tok
    assert client.call("POST", f"{MESSAGE}?access_token={tok2}", msg)[1]["errcode"] == 0
    assert [d.token for d in fake.delivered()] == [tok, tok2]
    assert fake.errcodes("message") == [0, 42001, 40014, 41001, 0]


def test_token_expiry_by_time():
    with WecomFake(expires_in=1) as f:
        c = Client(f)
        tok = get_token(c)
        time.sleep(1.1)
        msg = {"touser": "u", "msgtype": "text", "agentid": 1000002, "text": {"content": "x"}}
        assert c.call("POST", f"{MESSAGE}?access_token={tok}", msg)[1]["errcode"] == 42001
        assert get_token(c) != tok
        c.close()


@pytest.mark.parametrize(
    "msg,code",
    [
        ({"touser": "u", "msgtype": "text", "agentid": 1, "text": {"content": "x"}}, 40056),
        ({"touser": "u", "msgtype": "text", "agentid": "1000002", "text": {"content": "x"}}, 40056),
        ({"touser": "u", "msgtype": "text", "text": {"content": "x"}}, 41011),
        ({"msgtype": "text", "agentid": 1000002, "text": {"content": "x"}}, 81013),
        ({"touser": "u", "msgtype": "image", "agentid": 1000002, "image": {}}, 40008),
        ({"touser": "u", "msgtype": "text", "agentid": 1000002, "text": {"content": "a" * 2049}},
         45002),
        ({"touser": "u", "msgtype": "markdown", "agentid": 1000002,
          "markdown": {"content": "a" * 2049}}, 45002),
        ({"touser": "u", "msgtype": "text", "agentid": 1000002, "text": {"content": ""}}, 44004),
    ],
)
def test_message_send_rejects(fake, client, msg, code):
    tok = get_token(client)
    status, body = client.call("POST", f"{MESSAGE}?access_token={tok}", msg)
    assert status == 200 and body["errcode"] == code, body
    assert fake.delivered() == []


def test_message_send_unknown_users():
    with WecomFake(app_users={"lisi"}) as f:
        c = Client(f)
        tok = get_token(c)
        base = {"msgtype": "text", "agentid": 1000002, "text": {"content": "x"}}
        body = c.call("POST", f"{MESSAGE}?access_token={tok}", dict(base, touser="lisi|ghost"))[1]
        assert body["errcode"] == 0 and body["invaliduser"] == "ghost"
        body = c.call("POST", f"{MESSAGE}?access_token={tok}", dict(base, touser="ghost"))[1]
        assert body["errcode"] == 81013
        c.close()


# ---------------------------------------------------------------------- AI bot


def test_aibot_response_code_single_use(fake, client):
    url = fake.aibot_response_url()
    path = url[len(fake.base_url):]
    assert path.startswith(AIBOT + "?response_code=")
    assert client.call("POST", path, {"msgtype": "text", "text": {"content": "x"}})[1][
        "errcode"] == 40008
    body = {"msgtype": "markdown", "markdown": {"content": "**hello**"}}
    assert client.call("POST", path, body)[1]["errcode"] == 0
    status, again = client.call("POST", path, body)
    assert status == 200 and again["errcode"] == 40058 and "used" in again["errmsg"]
    assert client.call("POST", f"{AIBOT}?response_code=unknown", body)[1]["errcode"] == 40058
    too_long = {"msgtype": "markdown", "markdown": {"content": "a" * 20481}}
    assert client.call("POST", fake.aibot_response_url()[len(fake.base_url):], too_long)[1][
        "errcode"] == 45002
    d = fake.delivered("aibot")
    assert len(d) == 1 and d[0].content == "**hello**"
    assert d[0].response_code == urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)[
        "response_code"][0]


# ---------------------------------------------------------------------- faults and plumbing


def test_outage_and_fail_next(fake, client):
    key = fake.add_webhook_key()
    fake.outage(0.5)
    status, body = client.webhook(key, text("x"))
    assert status == 503 and body is None
    assert client.token()[0] == 503
    time.sleep(0.6)
    fake.fail_next("webhook", 2, -1)
    assert client.webhook(key, text("x"))[1]["errcode"] == -1
    assert client.webhook(key, text("x"))[1]["errcode"] == -1
    assert client.webhook(key, text("x"))[1]["errcode"] == 0
    fake.fail_next("gettoken", 1, 45009)
    assert client.token()[1]["errcode"] == 45009 and get_token(client)
    assert fake.errcodes("webhook") == [None, -1, -1, 0]
    assert len(fake.delivered()) == 1


def test_drop_after_handling_delivers_then_hangs_up(fake):
    key = fake.add_webhook_key()
    fake.drop_after_handling("webhook", 1)
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    body = json.dumps(text("lost answer")).encode()
    conn.request("POST", f"{WEBHOOK}?key={key}", body, {"Content-Type": "application/json"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    conn.close()
    [d] = fake.delivered("webhook")
    assert d.content == "lost answer"
    # Only the next one: then answered as usual.
    c = Client(fake)
    try:
        assert c.webhook(key, text("answered"))[1]["errcode"] == 0
    finally:
        c.close()
    assert len(fake.delivered("webhook")) == 2


def test_unknown_path_and_method(fake, client):
    assert client.call("GET", "/cgi-bin/nothing")[0] == 404
    key = fake.add_webhook_key()
    assert client.call("GET", f"{WEBHOOK}?key={key}")[1]["errcode"] == 40058
    assert fake.delivered() == []


def test_keep_alive_and_chunked(fake):
    key = fake.add_webhook_key()
    body = json.dumps(text("hi")).encode()
    for status, _, data in pipelined(fake.port, chunked_post(f"{WEBHOOK}?key={key}", body), 2):
        assert status.startswith(b"HTTP/1.1 200")
        assert json.loads(data)["errcode"] == 0
    assert len(fake.delivered()) == 2


def test_control_api_and_standalone():
    port = free_port()
    script = Path(__file__).resolve().parents[1] / "fakes" / "wecom_fake.py"
    proc = subprocess.Popen([sys.executable, str(script), "--port", str(port), "--webhook-key",
                             "k-standalone"], stdout=subprocess.PIPE, text=True)
    try:
        assert f"127.0.0.1:{port}" in proc.stdout.readline()
        base = f"http://127.0.0.1:{port}"

        def call(path, obj=None):
            data = json.dumps(obj).encode() if obj is not None else None
            req = urllib.request.Request(base + path, data=data,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read())

        assert call(f"{WEBHOOK}?key=k-standalone", text("hi"))[1]["errcode"] == 0
        assert call("/_fake/fail_next", {"endpoint": "webhook", "errcode": 45009}) == (
            200, {"ok": True})
        assert call(f"{WEBHOOK}?key=k-standalone", text("x"))[1]["errcode"] == 45009
        added = call("/_fake/add_webhook_key", {"key": "k2"})[1]
        assert added["url"].endswith("key=k2")
        rc = call("/_fake/new_response_code", {})[1]
        assert call(rc["url"][len(base):], md("m"))[1]["errcode"] == 0
        delivered = call("/_fake/delivered")[1]["delivered"]
        assert [d["content"] for d in delivered] == ["hi", "m"]
        assert call("/_fake/outage", {"seconds": 5})[0] == 200
        with pytest.raises(urllib.error.HTTPError) as ei:
            call(f"{WEBHOOK}?key=k-standalone", text("x"))
        assert ei.value.code == 503
        stats = call("/_fake/stats")[1]
        assert stats["delivered"] == 2 and stats["requests"]["webhook"] == 3
    finally:
        proc.terminate()
        proc.wait(5)


def test_more_apps_have_their_own_tokens_and_agentid(fake, client):
    fake.add_app("second-app-secret", 1000003)
    first = get_token(client)
    status, body = client.token(secret="second-app-secret")
    assert status == 200 and body["errcode"] == 0
    second = body["access_token"]
    assert second != first and fake.token_owner(second) == "second-app-secret"
    msg = {"touser": "lisi", "msgtype": "text", "text": {"content": "hi"}}
    # A token sends only as its own app: the agentid must be that app's.
    assert client.call("POST", f"{MESSAGE}?access_token={second}",
                       dict(msg, agentid=1000002))[1]["errcode"] == 40056
    assert client.call("POST", f"{MESSAGE}?access_token={second}",
                       dict(msg, agentid=1000003))[1]["errcode"] == 0
    assert client.call("POST", f"{MESSAGE}?access_token={first}",
                       dict(msg, agentid=1000002))[1]["errcode"] == 0
    assert [(d.agentid, d.token) for d in fake.delivered("message")] == [(1000003, second),
                                                                          (1000002, first)]


# ---------------------------------------------------------------------- app message recall

RECALL = "/cgi-bin/message/recall"


def send_app(client, tok: str, content: str = "x", touser: str = "lisi", agentid: int = 1000002):
    msg = {"touser": touser, "msgtype": "text", "agentid": agentid, "text": {"content": content}}
    status, body = client.call("POST", f"{MESSAGE}?access_token={tok}", msg)
    assert status == 200 and body["errcode"] == 0, body
    return body["msgid"]


def test_recall(fake, client):
    tok = get_token(client)
    msgid = send_app(client, tok, "oops")
    kept = send_app(client, tok, "keep", touser="zhangsan")
    assert len(msgid) >= 64 and msgid != kept
    assert [d.msgid for d in fake.delivered("message")] == [msgid, kept]
    status, body = client.call("POST", f"{RECALL}?access_token={tok}", {"msgid": msgid})
    assert (status, body) == (200, {"errcode": 0, "errmsg": "ok"})
    [r] = fake.wait_for_recalls(1, timeout=1)
    assert (r.msgid, r.touser, r.chat, r.token) == (msgid, "lisi", "lisi", tok)
    assert r.delivery.content == "oops" and r.delivery.recalled
    assert [d.recalled for d in fake.delivered()] == [True, False]
    assert fake.recalls("zhangsan") == [] and fake.count("recall") == 1
    # Already recalled, unknown, missing or malformed msgid.
    for body in ({"msgid": msgid}, {"msgid": "nope"}, {}, {"msgid": 7}):
        status, out = client.call("POST", f"{RECALL}?access_token={tok}", body)
        assert (status, out["errcode"]) == (200, 40058), body
    assert "already recalled" in client.call("POST", f"{RECALL}?access_token={tok}",
                                             {"msgid": msgid})[1]["errmsg"]
    assert client.call("GET", f"{RECALL}?access_token={tok}")[1]["errcode"] == 40058
    assert client.call("POST", f"{RECALL}?access_token={tok}", raw=b"{no")[1]["errcode"] == 47001
    assert len(fake.recalls()) == 1
    assert client.call("POST", f"{RECALL}?access_token={tok}", {"msgid": kept})[1]["errcode"] == 0
    assert [r.msgid for r in fake.recalls()] == [msgid, kept]
    assert fake.errcodes("recall")[0] == 0


def test_recall_token_checks_like_send(fake, client):
    tok = get_token(client)
    msgid = send_app(client, tok)
    assert client.call("POST", RECALL, {"msgid": msgid})[1]["errcode"] == 41001
    assert client.call("POST", f"{RECALL}?access_token=bogus",
                       {"msgid": msgid})[1]["errcode"] == 40014
    fake.expire_all_tokens()
    assert client.call("POST", f"{RECALL}?access_token={tok}",
                       {"msgid": msgid})[1]["errcode"] == 42001
    assert fake.recalls() == []
    tok2 = get_token(client)  # the same app's next token
    assert client.call("POST", f"{RECALL}?access_token={tok2}",
                       {"msgid": msgid})[1]["errcode"] == 0


def test_recall_refusals_other_app_window_and_faults(fake, client):
    fake.add_app("second-app-secret", 1000003)
    first = get_token(client)
    second = client.token(secret="second-app-secret")[1]["access_token"]
    msgid = send_app(client, first)
    status, body = client.call("POST", f"{RECALL}?access_token={second}", {"msgid": msgid})
    assert body["errcode"] == 40058 and "unknown msgid" in body["errmsg"]
    fake.recall_window = 0.2
    time.sleep(0.3)
    status, body = client.call("POST", f"{RECALL}?access_token={first}", {"msgid": msgid})
    assert body["errcode"] == 40058 and "24 hours" in body["errmsg"]
    assert fake.recalls() == []
    fake.recall_window = 60
    fresh = send_app(client, first)
    fake.fail_next("recall", 1, -1)
    assert client.call("POST", f"{RECALL}?access_token={first}",
                       {"msgid": fresh})[1]["errcode"] == -1
    assert fake.recalls() == []
    # Recalled, but the answer is lost on the way back.
    fake.drop_after_handling("recall", 1)
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    conn.request("POST", f"{RECALL}?access_token={first}", json.dumps({"msgid": fresh}),
                 {"Content-Type": "application/json"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        conn.getresponse()
    conn.close()
    assert [r.msgid for r in fake.recalls()] == [fresh]
    # The group bot's webhook has no recall: its deliveries carry no msgid.
    key = fake.add_webhook_key()
    assert client.webhook(key, text("x"))[1]["errcode"] == 0
    assert fake.delivered("webhook")[0].msgid is None
