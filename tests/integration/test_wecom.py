"""The real botgate binary against the fake WeCom API, for the three kinds of WeCom bot:
group bots (encrypted XML callbacks, replies through the callback's WebhookUrl), self-built apps
(gettoken + message/send) and AI bots (encrypted JSON callbacks, replies to response_url).

The contract is DESIGN.md section 3, the WeCom protocol notes (wecom.md) and the shared WeCom
contract of issue 3; each test runs its own fake and its own botgate process.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import time
import urllib.parse

import pytest

import wecom_crypto
from botgate_harness import (API_TOKEN, WECOM_AES_KEY, WECOM_TOKEN, WecomCallbacks,
                             botgate_config, free_port, http_request, wecom_bot, wait_until)
from forward_service import FORWARD_SECRET, ForwardService
from fakes.wecom_fake import (AIBOT_MARKDOWN_MAX_BYTES, MARKDOWN_MAX_BYTES, TEXT_MAX_BYTES,
                              WecomFake)

BOT_NAME = "RobotA"  # the display name users @-mention in groups
RULES = [
    {"match": "^ping$", "reply": "pong {user_id}"},
    {"match": "^long:", "reply": "{text}"},
]
VERIFY_DEADLINE = 1.0  # WeCom wants the echostr plaintext within 1 s
ACK_DEADLINE = 2.0  # WeCom gives up after 5 s and retries; botgate must answer at once
QUIET = 1.0  # how long "nothing more arrives" is watched for
REJECTED = (401, 403)  # a bad signature or ciphertext


def config(fake, *, bots=None, rules=RULES, bot_kw=None, **kw):
    if bots is None:
        bots = [wecom_bot(fake, **(bot_kw or {}))]

    def make(port, db):
        return botgate_config(port=port, db_path=db, bots=bots, rules=rules, **kw)
    return make


@pytest.fixture
def group(wecom_fake, launch):
    """A ready botgate with one WeCom group bot; returns (process, callbacks, webhook url, key)."""
    bg = launch(config(wecom_fake))
    key = wecom_fake.add_webhook_key()
    return bg, WecomCallbacks(bg, "wecom"), wecom_fake.webhook_url(key), key


def plain(d) -> str:
    """A delivered text or markdown content without @-mentions (<@userid>) and outer spaces."""
    return re.sub(r"<@[^>]*>", "", d.content or "").strip()


def wait_delivered(fake, n, timeout=10.0, **filters):
    wait_until(lambda: len(fake.delivered(**filters)) >= n, timeout)
    got = fake.delivered(**filters)
    assert len(got) >= n, (
        f"expected {n} deliveries within {timeout}s, got {len(got)}; requests seen: "
        + repr([(r.endpoint, r.status, r.errcode) for r in fake.requests()])
    )
    return got


def assert_quiet(fake, n, seconds=QUIET, **filters):
    """Nothing beyond `n` deliveries arrives for `seconds`."""
    time.sleep(seconds)
    got = fake.delivered(**filters)
    assert len(got) == n, [(d.endpoint, d.content) for d in got]
    return got


def flip(sig: str) -> str:
    return ("1" if sig[0] != "1" else "2") + sig[1:]


def bad_padding_ciphertext(nbytes: int = 64) -> str:
    """base64 of AES-CBC blocks whose decryption under the test key has invalid 32-byte padding."""
    while True:
        raw = os.urandom(nbytes)
        try:
            wecom_crypto.decrypt_full(WECOM_AES_KEY, base64.b64encode(raw).decode())
        except ValueError as e:
            if "padding" in str(e):
                return base64.b64encode(raw).decode()


def timed(fn, *args, **kw):
    t0 = time.monotonic()
    result = fn(*args, **kw)
    return result, time.monotonic() - t0


# ---------------------------------------------------------------------- 1. URL verification


def test_group_url_verification(group):
    bg, cb, _, _ = group
    for echo in ("1616140317555161061", str(int.from_bytes(os.urandom(8), "big"))):
        (status, headers, body), elapsed = timed(cb.verify_url, echo)
        assert status == 200, body
        assert body == echo.encode(), body  # exactly: no quotes, newline or BOM
        assert headers.get("content-type", "").startswith("text/plain")
        assert elapsed < VERIFY_DEADLINE, f"verification took {elapsed:.2f}s"

    # A tampered signature: refused, the plaintext never shown.
    secret_echo = "8426151946173729"
    enc = cb.encrypt(secret_echo)
    q = wecom_crypto.signed_query(WECOM_TOKEN, enc, echostr=True)
    params = dict(urllib.parse.parse_qsl(q))
    params["msg_signature"] = flip(params["msg_signature"])
    status, _, body = http_request(bg.port, "GET", f"{cb.path}?{urllib.parse.urlencode(params)}")
    assert status in REJECTED, (status, body)
    assert secret_echo.encode() not in body

    # Signed over other parameters than the ones sent (timestamp changed after signing).
    params = dict(urllib.parse.parse_qsl(q))
    params["timestamp"] = str(int(params["timestamp"]) + 1)
    status, _, body = http_request(bg.port, "GET", f"{cb.path}?{urllib.parse.urlencode(params)}")
    assert status in REJECTED and secret_echo.encode() not in body

    # No signature at all.
    params = dict(urllib.parse.parse_qsl(q))
    del params["msg_signature"]
    status, _, body = http_request(bg.port, "GET", f"{cb.path}?{urllib.parse.urlencode(params)}")
    assert status in (400,) + REJECTED and secret_echo.encode() not in body

    # A validly signed echostr that is not valid ciphertext.
    status, _, body = cb.verify_url(echostr=bad_padding_ciphertext())
    assert status in REJECTED


# ---------------------------------------------------------------------- 2, 3. replies


def test_group_echo_mentions_sender(wecom_fake, group):
    bg, cb, url, key = group
    (xml, status), elapsed = timed(cb.group_message, f"@{BOT_NAME} hello", webhook_url=url,
                                   user_id="zhangsan")
    assert status == 200
    assert elapsed < ACK_DEADLINE, f"ack took {elapsed:.2f}s"
    d = wait_delivered(wecom_fake, 1, key=key)[0]
    assert plain(d) == "Hello, hello", d.content
    assert d.mentions("zhangsan"), (d.msgtype, d.content, d.mentioned_list)
    assert_quiet(wecom_fake, 1)
    assert wecom_fake.count("webhook") == 1


def test_group_echo_of_mention_syntax_mentions_only_the_sender(wecom_fake, group):
    # "text and markdown contents also accept the inline <@userid> syntax" (wecom.md 2.1): a
    # user's <@lisi> or @all echoed back must not notify; the reply still @s its sender.
    bg, cb, url, key = group
    typed = "<@lisi> @all <@wangwu> hi"
    _, status = cb.group_message(f"@{BOT_NAME} {typed}", webhook_url=url, user_id="zhangsan")
    assert status == 200
    d = wait_delivered(wecom_fake, 1, key=key)[0]
    assert d.mentions("zhangsan"), (d.msgtype, d.content, d.mentioned_list)
    assert not d.mentions("lisi") and not d.mentions("wangwu"), d.content
    assert "@all" not in d.content and "@all" not in d.mentioned_list, d.content
    assert d.content.replace("\u200b", "") == "Hello, " + typed
    assert_quiet(wecom_fake, 1)


def test_group_rule_with_mention_stripped(wecom_fake, group):
    bg, cb, url, key = group
    _, status = cb.group_message(f"@{BOT_NAME} ping", webhook_url=url, user_id="zhangsan")
    assert status == 200
    d = wait_delivered(wecom_fake, 1, key=key)[0]
    assert plain(d) == "pong zhangsan", d.content
    assert d.mentions("zhangsan")
    # A single chat: no @mention prefix at all.
    _, status = cb.group_message("ping", webhook_url=url, user_id="lisi", chat_type="single",
                                 chat_id="wrkSingleChat0001")
    assert status == 200
    d = wait_delivered(wecom_fake, 2, key=key)[1]
    assert plain(d) == "pong lisi", d.content
    assert_quiet(wecom_fake, 2)


def test_reply_goes_to_the_callbacks_webhook(wecom_fake, launch):
    """Replies go to the WebhookUrl of each callback, not to the configured webhook_url."""
    configured = wecom_fake.add_webhook_key()
    bg = launch(config(wecom_fake, bot_kw={"webhook_url": wecom_fake.webhook_url(configured)}))
    cb = WecomCallbacks(bg, "wecom")
    a, b = wecom_fake.add_webhook_key(), wecom_fake.add_webhook_key()
    cb.group_message(f"@{BOT_NAME} to a", webhook_url=wecom_fake.webhook_url(a), chat_id="chatA")
    cb.group_message(f"@{BOT_NAME} to b", webhook_url=wecom_fake.webhook_url(b), chat_id="chatB")
    wait_delivered(wecom_fake, 2)
    got = assert_quiet(wecom_fake, 2)
    assert sorted((d.key, plain(d)) for d in got) == sorted([(a, "Hello, to a"),
                                                             (b, "Hello, to b")])
    assert wecom_fake.delivered(key=configured) == []


# ---------------------------------------------------------------------- 4. bad callbacks

XML_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE xml [\n <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'
    + "".join(f' <!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(9))
    + "]>\n<xml><Encrypt>&j;</Encrypt></xml>"
)
XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    "<xml><Encrypt>&xxe;</Encrypt></xml>"
)


def test_message_text_with_a_doctype_is_answered(wecom_fake, group):
    # Only a real DTD is refused: text that mentions one is a message like any other.
    bg, cb, url, key = group
    _, status = cb.group_message(f"@{BOT_NAME} what does <!DOCTYPE html> do?", webhook_url=url)
    assert status == 200
    d = wait_delivered(wecom_fake, 1, key=key)[0]
    # The echo reads as typed; a zero-width space after each '<' keeps user text from becoming
    # a <@userid> mention (docs/security.md).
    assert plain(d).replace("\u200b", "") == "Hello, what does <!DOCTYPE html> do?", d.content
    assert_quiet(wecom_fake, 1)


class _StallingForward:
    """A [forward] service that holds the first event it gets until released, then answers
    every event with "Hello, <text>". Records each request body as raw bytes."""

    def __init__(self):
        import http.server
        import threading

        outer = self
        self.bodies: list[bytes] = []
        self.release = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.bodies.append(body)
                if len(outer.bodies) == 1:
                    outer.release.wait(30)
                text = json.loads(body)["message"]["text"]
                data = json.dumps({"reply": "Hello, " + text}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # botgate was killed meanwhile

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_invalid_utf8_survives_a_restart_and_is_answered(wecom_fake, launch):
    # Bytes that are not UTF-8 in a message are replaced (U+FFFD) before the event is stored:
    # otherwise the stored row could never be read back and the message would be lost.
    service = _StallingForward()
    try:
        base = config(wecom_fake)
        bg = launch(lambda port, db: base(port, db) + f'\n[forward]\nurl = "{service.url}"\nsecret = "{FORWARD_SECRET}"\n')
        cb = WecomCallbacks(bg, "wecom")
        url = wecom_fake.webhook_url(wecom_fake.add_webhook_key())
        xml = wecom_crypto.group_message_xml(text=f"@{BOT_NAME} bad RAW end", webhook_url=url)
        raw = xml.encode("utf-8").replace(b"RAW", b"\xff\xc3( \xed\xa0\x80")
        status, _, resp = cb.post_plaintext(raw)
        assert status == 200, resp

        # The event is in the inbox, held by the stalling forward service: kill botgate there,
        # so that the restarted one has to read the stored row.
        wait_until(lambda: len(service.bodies) >= 1, 10)
        assert len(service.bodies) == 1, "the event never reached the forward service"
        bg.kill9()
        service.release.set()
        bg.restart()

        d = wait_delivered(wecom_fake, 1, timeout=15)[0]
        assert plain(d) == "Hello, bad \ufffd\ufffd( \ufffd\ufffd\ufffd end", d.content
        assert "unreadable" not in bg.log_text()
        # The event JSON the service saw after the restart is valid UTF-8 with the repair.
        assert len(service.bodies) >= 2
        event = json.loads(service.bodies[-1].decode("utf-8"))
        assert event["message"]["text"] == "bad \ufffd\ufffd( \ufffd\ufffd\ufffd end"
        assert_quiet(wecom_fake, 1)
    finally:
        service.close()


def test_group_rejects_bad_callbacks(wecom_fake, group):
    bg, cb, url, key = group
    xml = wecom_crypto.group_message_xml(text=f"@{BOT_NAME} tampered", webhook_url=url)
    enc = cb.encrypt(xml)

    # Tampered signature, and a signature over another ciphertext.
    good_q = dict(urllib.parse.parse_qsl(wecom_crypto.signed_query(WECOM_TOKEN, enc)))
    assert cb.post_encrypted(enc, msg_signature=flip(good_q["msg_signature"]))[0] in REJECTED
    other = cb.encrypt(wecom_crypto.group_message_xml(text="other", webhook_url=url))
    other_sig = dict(urllib.parse.parse_qsl(wecom_crypto.signed_query(
        WECOM_TOKEN, other, timestamp=good_q["timestamp"], nonce=good_q["nonce"])))
    q = urllib.parse.urlencode(dict(good_q, msg_signature=other_sig["msg_signature"]))
    assert cb.post_raw(q, wecom_crypto.envelope_xml(enc))[0] in REJECTED
    # No signature at all.
    q = urllib.parse.urlencode({k: v for k, v in good_q.items() if k != "msg_signature"})
    assert cb.post_raw(q, wecom_crypto.envelope_xml(enc))[0] in (400,) + REJECTED

    # Garbage ciphertext, validly signed: bad padding, a length that is no block multiple,
    # not base64.
    for garbage in (bad_padding_ciphertext(), base64.b64encode(os.urandom(36)).decode(),
                    "!!not*base64!!"):
        status, _, body = cb.post_encrypted(garbage)
        assert status == 401, (garbage, status, body)
    # Decrypts, but its msg_len points past the end of the plaintext.
    bogus = os.urandom(16) + (5000).to_bytes(4, "big") + b"<xml/>"
    assert cb.post_encrypted(wecom_crypto.encrypt_raw(WECOM_AES_KEY, bogus))[0] in (400, 401)

    # A group bot's receive id is empty: a ciphertext for another receiver is refused.
    assert cb.post_plaintext(xml, receive_id="wwOtherCorp000001")[0] == 401

    # Envelopes that are not WeCom's XML, an XML bomb, an external entity: 400.
    for body in (XML_BOMB.encode(), XXE.encode()):
        q = wecom_crypto.signed_query(WECOM_TOKEN, "&j;")
        status, _, resp = cb.post_raw(q, body)
        assert status == 400, (body[:60], status, resp)
    q = wecom_crypto.signed_query(WECOM_TOKEN, enc)
    for body in (b"<xml><Encrypt><![CDATA[" + enc.encode(),  # truncated
                 b"not xml at all", b"<xml><Foo>x</Foo></xml>", b""):
        status, _, resp = cb.post_raw(q, body)
        assert status == 400, (body[:40], status, resp)

    # Validly signed and encrypted, but the plaintext is a bomb, an external entity, not XML,
    # or XML that is not a WeCom message.
    for plaintext in (XML_BOMB.replace("Encrypt", "Content"), XXE.replace("Encrypt", "Content"),
                      "not xml {", "<html><body>hi</body></html>"):
        status, _, resp = cb.post_plaintext(plaintext)
        assert status == 400, (plaintext[:40], status, resp)

    assert bg.get("/healthz")[0] == 200
    time.sleep(QUIET)
    assert wecom_fake.delivered() == []

    # botgate still works, and only the good message is answered.
    _, status = cb.group_message(f"@{BOT_NAME} good", webhook_url=url)
    assert status == 200
    wait_delivered(wecom_fake, 1, key=key)
    assert [plain(d) for d in assert_quiet(wecom_fake, 1)] == ["Hello, good"]


def test_app_wrong_receive_id(wecom_fake, launch):
    bg = launch(config(wecom_fake, bot_kw={"name": "app", "kind": "app"}))
    cb = WecomCallbacks(bg, "app", receive_id=wecom_fake.corp_id)
    xml = wecom_crypto.app_message_xml(text="hello", corp_id=wecom_fake.corp_id,
                                       agent_id=wecom_fake.agent_id)
    for other in ("wwOtherCorp000001", ""):
        status, _, body = cb.post_plaintext(xml, receive_id=other)
        assert status == 401, (other, status, body)
        status, _, body = cb.verify_url("5551212", receive_id=other)
        assert status in REJECTED and b"5551212" not in body
    time.sleep(QUIET)
    assert wecom_fake.delivered() == []
    assert wecom_fake.count("message") == 0
    # The right receive id works.
    assert cb.post_plaintext(xml)[0] == 200
    assert plain(wait_delivered(wecom_fake, 1, endpoint="message")[0]) == "Hello, hello"


def test_duplicate_msgid_replies_once(wecom_fake, group):
    bg, cb, url, key = group
    xml = wecom_crypto.group_message_xml(text=f"@{BOT_NAME} twice", webhook_url=url,
                                         msg_id="CAIQdupdupdup0001")
    enc = cb.encrypt(xml)
    q = wecom_crypto.signed_query(WECOM_TOKEN, enc)
    body = wecom_crypto.envelope_xml(enc)
    assert cb.post_raw(q, body)[0] == 200
    assert cb.post_raw(q, body)[0] == 200  # the same request again (WeCom's retry)
    wait_delivered(wecom_fake, 1, key=key)
    # Re-encrypted and re-signed (new random prefix, timestamp, nonce), same MsgId.
    assert cb.post_plaintext(xml)[0] == 200
    got = assert_quiet(wecom_fake, 1, 1.5)
    assert plain(got[0]) == "Hello, twice"
    assert wecom_fake.count("webhook") == 1


# ---------------------------------------------------------------------- 5. proactive send


def run_send(binary, tmp_path, fake, bot, text, name="wecom", timeout=60):
    workdir = tmp_path / "send"
    workdir.mkdir(exist_ok=True)
    cfg = workdir / "botgate.toml"
    cfg.write_text(botgate_config(port=free_port(), db_path=workdir / "botgate.db", bots=[bot]))
    return subprocess.run([str(binary), "send", "--config", str(cfg), "--bot", name, "--chat",
                           "any", text], cwd=workdir, capture_output=True, text=True,
                          timeout=timeout)


def test_proactive_send_to_group(wecom_fake, binary, tmp_path):
    key = wecom_fake.add_webhook_key()
    # A send-only group bot: just the webhook, no callback token or key.
    bot = wecom_bot(wecom_fake, token=None, encoding_aes_key=None,
                    webhook_url=wecom_fake.webhook_url(key))
    proc = run_send(binary, tmp_path, wecom_fake, bot, "proactive 你好")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    d = wait_delivered(wecom_fake, 1, key=key)
    assert [plain(x) for x in d] == ["proactive 你好"]
    assert wecom_fake.count("webhook") == 1


# ---------------------------------------------------------------------- 6. rate limit


@pytest.mark.slow
def test_burst_respects_webhook_rate_limit(wecom_fake, group):
    bg, cb, url, key = group
    n = 30
    t0 = time.monotonic()
    for i in range(1, n + 1):
        _, status = cb.group_message(f"@{BOT_NAME} m{i:02d}", webhook_url=url, user_id="zhangsan")
        assert status == 200, i
    # 20 go out at once, 21..30 wait for the 60 s window.
    wait_until(lambda: len(wecom_fake.delivered(key=key)) >= n, 95 - (time.monotonic() - t0),
               interval=0.2)
    got = wecom_fake.delivered(key=key)
    codes = wecom_fake.errcodes("webhook")
    assert len(got) == n, (len(got), codes)
    assert [plain(d) for d in got] == [f"Hello, m{i:02d}" for i in range(1, n + 1)]
    assert codes.count(45009) <= 3, f"{codes.count(45009)} sends refused with 45009"
    assert all(c in (0, 45009) for c in codes), codes
    assert_quiet(wecom_fake, n, key=key)


# ---------------------------------------------------------------------- 7. long text


def long_text(min_bytes: int) -> str:
    """Mostly 3-byte CJK, with 4-byte emoji and 2-byte letters: splits must respect them all."""
    out, size, i = [], 0, 0
    while size < min_bytes:
        if i % 10 == 9:
            ch = chr(0x1F600 + i % 50)
        elif i % 13 == 12:
            ch = "é"
        else:
            ch = chr(0x4E00 + (i * 7) % 2000)
        out.append(ch)
        size += len(ch.encode())
        i += 1
    return "".join(out)


def joined_text(deliveries) -> str:
    """The parts of a split reply put back together (the @mention and whitespace taken out)."""
    return "".join(re.sub(r"\s+", "", plain(d)) for d in deliveries)


def test_long_reply_is_split_on_utf8_boundaries(wecom_fake, group):
    bg, cb, url, key = group
    body = long_text(5000)
    # Three shifts of the same text: a cut at a fixed byte count falls inside a character in
    # at least one of them, whatever the limit the splitter uses.
    for shift in ("", "a", "ab"):
        expected = f"long:{shift}{body}"
        before = len(wecom_fake.delivered(key=key))
        _, status = cb.group_message(f"@{BOT_NAME} {expected}", webhook_url=url,
                                     user_id="zhangsan")
        assert status == 200
        # Every part, however many the splitter made, then nothing more.
        wait_until(lambda: joined_text(wecom_fake.delivered(key=key)[before:]) == expected, 10)
        got = assert_quiet(wecom_fake, len(wecom_fake.delivered(key=key)), 1.5,
                           key=key)[before:]
        assert 2 <= len(got) <= 4, [len((d.content or "").encode()) for d in got]
        for d in got:
            size = len(d.content.encode("utf-8"))
            assert size <= (TEXT_MAX_BYTES if d.msgtype == "text" else MARKDOWN_MAX_BYTES), size
            assert "\ufffd" not in d.content
        assert any(d.mentions("zhangsan") for d in got)
        assert joined_text(got) == expected
    assert all(c == 0 for c in wecom_fake.errcodes("webhook"))


# ---------------------------------------------------------------------- 8. self-built app


def test_app_verification_reply_and_token_refetch(wecom_fake, launch):
    bg = launch(config(wecom_fake, bot_kw={"name": "app", "kind": "app"}))
    cb = WecomCallbacks(bg, "app", receive_id=wecom_fake.corp_id)
    (status, _, body), elapsed = timed(cb.verify_url, "1616140317555161061")
    assert status == 200 and body == b"1616140317555161061"
    assert elapsed < VERIFY_DEADLINE

    (xml, status), elapsed = timed(cb.app_message, "hello", corp_id=wecom_fake.corp_id,
                                   agent_id=wecom_fake.agent_id, from_user="lisi")
    assert status == 200 and elapsed < ACK_DEADLINE
    first = wait_delivered(wecom_fake, 1, endpoint="message")[0]
    assert first.touser == "lisi"
    assert first.agentid == wecom_fake.agent_id
    assert first.token in wecom_fake.issued_tokens()
    assert plain(first) == "Hello, hello"
    assert wecom_fake.token_fetches == 1

    wecom_fake.expire_all_tokens()
    _, status = cb.app_message("again", corp_id=wecom_fake.corp_id,
                               agent_id=wecom_fake.agent_id, from_user="lisi")
    assert status == 200
    second = wait_delivered(wecom_fake, 2, endpoint="message")[1]
    assert plain(second) == "Hello, again" and second.touser == "lisi"
    assert second.token != first.token
    assert wecom_fake.token_fetches == 2
    assert wecom_fake.errcodes("message").count(42001) == 1
    assert_quiet(wecom_fake, 2)


# ---------------------------------------------------------------------- 9. AI bot


def aibot(wecom_fake, launch, **kw):
    """botgate with one AI bot in callback mode; returns (process, callbacks). The callbacks
    follow each passive stream as WeCom does and record its finished content in the fake."""
    bg = launch(config(wecom_fake, bot_kw={"name": "ai", "kind": "aibot"}, **kw))
    return bg, WecomCallbacks(bg, "ai", receive_id="", fake=wecom_fake)


def test_aibot_reply_in_the_passive_stream(wecom_fake, launch):
    """The message's answer opens a stream at once; WeCom's refreshes fetch the reply from it,
    finished; the response_url is not used."""
    bg, cb = aibot(wecom_fake, launch)
    status, _, body = cb.verify_url("7733")
    assert status == 200 and body == b"7733"

    url = wecom_fake.aibot_response_url()
    msg = wecom_crypto.aibot_message(text=f"@{BOT_NAME} hello", response_url=url,
                                     user_id="wangwu")
    (status, _, body), elapsed = timed(cb.post_plaintext, wecom_crypto.dumps(msg), json_body=True)
    assert status == 200 and elapsed < ACK_DEADLINE
    stream = cb.streams.stream_for(url)
    assert stream.contents[0] == "", "the passive reply opens the stream empty"
    stream.wait()
    assert stream.errors == [] and stream.refreshes >= 1
    assert stream.final == "Hello, hello"
    [d] = wait_delivered(wecom_fake, 1, endpoint="aibot")
    assert (d.msgtype, d.content) == ("stream", "Hello, hello") and url.endswith(d.response_code)

    # WeCom pushes the same msgid again: the same stream, not a second reply.
    status, _, again = cb.post_plaintext(wecom_crypto.dumps(msg), json_body=True)
    assert status == 200
    assert len(cb.streams.streams) == 1
    # A single chat, a rule.
    single_url = wecom_fake.aibot_response_url()
    single = wecom_crypto.aibot_message(text="ping", response_url=single_url, user_id="wangwu",
                                        chat_type="single")
    assert cb.post_plaintext(wecom_crypto.dumps(single), json_body=True)[0] == 200
    assert cb.streams.stream_for(single_url).wait().final == "pong wangwu"
    assert_quiet(wecom_fake, 2, endpoint="aibot")
    assert wecom_fake.count("aibot") == 0, "no POST to a response_url"

    # A bad signature on the JSON callback, and on a refresh.
    enc = cb.encrypt(wecom_crypto.dumps(msg))
    assert cb.post_encrypted(enc, json_body=True, msg_signature="0" * 40)[0] in REJECTED
    refresh = {"msgid": "r1", "aibotid": "aib0tTEST", "chattype": "single",
               "from": {"userid": "wangwu"}, "msgtype": "stream", "stream": {"id": stream.stream_id}}
    enc = cb.encrypt(wecom_crypto.dumps(refresh))
    status, _, body = cb.post_encrypted(enc, json_body=True, msg_signature="0" * 40)
    assert status in REJECTED and b"Hello" not in body


def test_aibot_a_long_reply_fits_the_stream(wecom_fake, launch):
    """The replies to one message become one, cut to the 20,480 bytes a stream (and a
    response_url) shows: never a second message whose part would be refused and lost."""
    bg, cb = aibot(wecom_fake, launch)
    expected = "long:" + long_text(25000)
    assert len(expected.encode()) > AIBOT_MARKDOWN_MAX_BYTES
    url = wecom_fake.aibot_response_url()
    cb.aibot_message(f"@{BOT_NAME} {expected}", response_url=url, user_id="wangwu")
    stream = cb.streams.stream_for(url).wait()
    assert stream.errors == []
    size = len(stream.final.encode("utf-8"))
    assert AIBOT_MARKDOWN_MAX_BYTES - 64 < size <= AIBOT_MARKDOWN_MAX_BYTES, size
    assert stream.final.endswith("…")
    assert expected.startswith(stream.final[:-2].rstrip())
    assert_quiet(wecom_fake, 1, seconds=2, endpoint="aibot")
    assert wecom_fake.count("aibot") == 0


def test_aibot_a_message_left_unanswered_finishes_its_stream_empty(wecom_fake, launch):
    """No rule matches and echo is off: WeCom must not show the bot answering until its window
    ends; the stream finishes empty, and nothing else is sent."""
    bg, cb = aibot(wecom_fake, launch, echo=False)
    url = wecom_fake.aibot_response_url()
    cb.aibot_message("nothing matches this", response_url=url, chat_type="single")
    stream = cb.streams.stream_for(url).wait()
    assert stream.errors == [] and stream.final == ""
    time.sleep(1)
    assert wecom_fake.count("aibot") == 0


@pytest.fixture
def aibot_with_service(wecom_fake, launch):
    """An AI bot in callback mode whose forward service takes each message (202), to answer it
    through the API; returns (process, callbacks, service)."""
    service = ForwardService(lambda event, n: (202, None, 0))
    try:
        bot = wecom_bot(wecom_fake, name="ai", kind="aibot")
        bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot],
                                                    echo=False, api_token=API_TOKEN)
                    + service.config())
        yield bg, WecomCallbacks(bg, "ai", receive_id="", fake=wecom_fake), service
    finally:
        service.close()


def stream_reply_to(bg, service, **body) -> int:
    """Opens a streamed reply, through the API, to the one message the service was given."""
    assert wait_until(lambda: len(service.posts) == 1, 10), bg.log_text()
    status, _, data = bg.api_request("POST", "/api/v1/messages", json.dumps(
        {"bot": "ai", "reply_to_event": service.posts[0].event["id"], "stream": True,
         **body}).encode())
    assert status == 202, data
    return json.loads(data)["id"]


def grow_stream(bg, sid: int, **change) -> None:
    status, _, data = bg.api_request("PATCH", f"/api/v1/messages/{sid}",
                                     json.dumps(change).encode())
    assert status == 200, data


def test_aibot_a_streamed_reply_grows_in_the_passive_stream(wecom_fake, aibot_with_service):
    """A forward service takes the message (202) and answers it through the API as a stream:
    each refresh shows the whole text so far, growing, until the one that finishes it."""
    bg, cb, service = aibot_with_service
    url = wecom_fake.aibot_response_url()
    cb.aibot_message("explain streams", response_url=url, chat_type="single")
    sid = stream_reply_to(bg, service, markdown="A stream")
    text = "A stream"
    for piece in (" is a reply", " that grows", " while", " you watch."):
        grow_stream(bg, sid, append=piece)
        text += piece
        time.sleep(0.5)
    grow_stream(bg, sid, finish=True)
    stream = cb.streams.stream_for(url).wait()
    assert stream.errors == [] and stream.final == text
    shown = [c for c in stream.contents if c]
    assert len(set(shown)) >= 3, f"the text grows over several refreshes: {shown}"
    assert all(text.startswith(c) for c in shown), shown
    assert all(len(a) <= len(b) for a, b in zip(shown, shown[1:])), shown
    assert wait_until(lambda: json.loads(bg.api_request(
        "GET", f"/api/v1/messages/{sid}")[2])["state"] == "sent", 10)
    [d] = wait_delivered(wecom_fake, 1, endpoint="aibot")
    assert (d.msgtype, d.content) == ("stream", text)
    assert wecom_fake.count("aibot") == 0


def test_aibot_reply_goes_to_response_url_when_wecom_stops_asking(wecom_fake, launch):
    """The passive answer was lost (WeCom never refreshes): after a quiet while the reply goes
    through the response_url instead, once."""
    bg = launch(config(wecom_fake, bot_kw={"name": "ai", "kind": "aibot"}))
    cb = WecomCallbacks(bg, "ai", receive_id="", fake=wecom_fake, refresh_interval=3600)
    url = wecom_fake.aibot_response_url()
    cb.aibot_message(f"@{BOT_NAME} hello", response_url=url, user_id="wangwu")
    [d] = wait_delivered(wecom_fake, 1, timeout=30, endpoint="aibot")
    assert (d.msgtype, plain(d)) == ("markdown", "Hello, hello") and url.endswith(d.response_code)
    assert wecom_fake.count("aibot") == 1
    cb.streams.stop()


def test_aibot_a_restart_mid_stream_finishes_the_same_stream(wecom_fake, aibot_with_service):
    """botgate is killed while a reply streams: WeCom goes on asking (unanswered meanwhile), and
    after the restart the same stream finishes with the text the outbox kept, once."""
    bg, cb, service = aibot_with_service
    url = wecom_fake.aibot_response_url()
    cb.aibot_message("a long answer please", response_url=url, chat_type="single")
    sid = stream_reply_to(bg, service, text="Part one.")
    stream = cb.streams.stream_for(url)
    assert wait_until(lambda: "Part one." in stream.contents, 10), stream
    time.sleep(1.2)  # past the store interval: the next change is written at once
    grow_stream(bg, sid, append=" Part two.")
    bg.kill9()
    time.sleep(1)
    bg.restart()
    stream.wait(20)
    assert stream.final == "Part one. Part two."
    [d] = wait_delivered(wecom_fake, 1, endpoint="aibot")
    assert d.msgtype == "stream"
    time.sleep(1)
    assert wecom_fake.count("aibot") == 0 and len(wecom_fake.delivered("aibot")) == 1


# ---------------------------------------------------------------------- platform faults


def test_webhook_outage_and_busy_then_delivery(wecom_fake, group):
    bg, cb, url, key = group
    wecom_fake.outage(3)
    _, status = cb.group_message(f"@{BOT_NAME} after the storm", webhook_url=url)
    assert status == 200
    d = wait_delivered(wecom_fake, 1, timeout=20, key=key)[0]
    assert plain(d) == "Hello, after the storm"
    assert d.t >= wecom_fake.outage_end()
    assert None in wecom_fake.errcodes("webhook"), "no send was tried during the outage"

    wecom_fake.fail_next("webhook", 2, -1)  # "system busy": retry
    _, status = cb.group_message(f"@{BOT_NAME} busy", webhook_url=url)
    assert status == 200
    d = wait_delivered(wecom_fake, 2, timeout=20, key=key)[1]
    assert plain(d) == "Hello, busy"
    assert_quiet(wecom_fake, 2)


def test_webhook_send_whose_answer_is_lost_is_delivered_once_and_reported(wecom_fake, group):
    """A group webhook has no idempotency key: when WeCom takes the message and the answer is
    lost, botgate must neither send it again (a duplicate in the group) nor call it sent."""
    bg, cb, url, key = group
    # A first message leaves a kept-alive connection in botgate's pool; the lost answer comes
    # on it (the client's own retry on a fresh connection) and on a fresh one (the outbox's).
    _, status = cb.group_message(f"@{BOT_NAME} warm", webhook_url=url)
    assert status == 200
    wait_delivered(wecom_fake, 1, key=key)
    for n, text in ((2, "only once"), (3, "and again")):
        wecom_fake.drop_after_handling("webhook", 1)
        _, status = cb.group_message(f"@{BOT_NAME} {text}", webhook_url=url)
        assert status == 200
        assert plain(wait_delivered(wecom_fake, n, key=key)[n - 1]) == f"Hello, {text}"
        # The outbox's retries come after 0.5-1 s, then 1-2 s: none may arrive.
        assert_quiet(wecom_fake, n, 3.5, key=key)
    assert wecom_fake.count("webhook") == 3
    status, body = bg.api_get("/api/v1/status")
    assert status == 200
    [bot] = [b for b in json.loads(body)["bots"] if b["name"] == "wecom"]
    assert bot["delivery_uncertain"] == 2, bot
    assert bot["send_failures"] == 0, bot
    assert "delivery_uncertain" in bot["last_error"], bot
    log = bg.log_text()
    assert log.count("may or may not have been delivered") == 2, log[-3000:]
    # The chat goes on.
    _, status = cb.group_message(f"@{BOT_NAME} after", webhook_url=url)
    assert plain(wait_delivered(wecom_fake, 4, key=key)[3]) == "Hello, after"


def test_dead_webhook_key_is_not_retried(wecom_fake, group):
    bg, cb, url, key = group
    dead = wecom_fake.webhook_url("removed-from-group")
    wecom_fake.remove_webhook_key("removed-from-group")
    _, status = cb.group_message(f"@{BOT_NAME} anyone?", webhook_url=dead)
    assert status == 200
    assert wait_until(lambda: wecom_fake.count("webhook") >= 1, 10)
    time.sleep(3)
    assert wecom_fake.errcodes("webhook") == [93000], "93000 is fatal for the key (notes 2.3)"
    # Other chats are not held up by it.
    _, status = cb.group_message(f"@{BOT_NAME} still here", webhook_url=url)
    assert plain(wait_delivered(wecom_fake, 1, key=key)[0]) == "Hello, still here"


# ---------------------------------------------------------------------- 10. secrets


def test_secrets_never_logged(launch, binary, tmp_path):
    g_token, g_key = "gTok-Qw81Zx", "Gk7mN2pQ4rS6tU8vW0xY2zA4bC6dE8fG0hJ2kL4mN6p"
    a_token, a_key = "aTok-Lp27Rt", "Ak3nB5cD7eF9gH1iJ3kL5mN7oP9qR1sT3uV5wX7yZ9a"
    i_token, i_key = "iTok-Mv64Hs", "Ik9hG7fE5dC3bA1zY9xW7vU5tS3rQ1pO9nM7lK5jI3h"
    corp_secret = "cs-Zz93-Secret-Yy71"
    with WecomFake(corp_id="wwSecretCorp0001", corp_secret=corp_secret, agent_id=1000777) as fake:
        cfg_key = fake.add_webhook_key()
        cb_key = fake.add_webhook_key()
        bots = [
            wecom_bot(fake, name="wecom", token=g_token, encoding_aes_key=g_key,
                      webhook_url=fake.webhook_url(cfg_key)),
            wecom_bot(fake, name="app", kind="app", token=a_token, encoding_aes_key=a_key),
            wecom_bot(fake, name="ai", kind="aibot", token=i_token, encoding_aes_key=i_key),
        ]
        bg = launch(config(fake, bots=bots, log_level="debug"))
        g = WecomCallbacks(bg, "wecom", token=g_token, encoding_aes_key=g_key)
        a = WecomCallbacks(bg, "app", token=a_token, encoding_aes_key=a_key,
                           receive_id=fake.corp_id)
        i = WecomCallbacks(bg, "ai", token=i_token, encoding_aes_key=i_key, fake=fake)
        for cb in (g, a, i):
            assert cb.verify_url("424242")[0] == 200
        url = fake.webhook_url(cb_key)
        g.group_message(f"@{BOT_NAME} one", webhook_url=url)
        a.app_message("two", corp_id=fake.corp_id, agent_id=fake.agent_id)
        i.aibot_message("three", response_url=fake.aibot_response_url())
        wait_delivered(fake, 3)
        fake.expire_all_tokens()
        a.app_message("four", corp_id=fake.corp_id, agent_id=fake.agent_id)
        wait_delivered(fake, 4)
        # Error paths log too: bad signatures, a wrong receive id, garbage.
        enc = g.encrypt(wecom_crypto.group_message_xml(text="x", webhook_url=url))
        g.post_encrypted(enc, msg_signature="0" * 40)
        a.post_plaintext(wecom_crypto.app_message_xml(text="y", corp_id=fake.corp_id,
                                                      agent_id=fake.agent_id), receive_id="wwX")
        i.post_encrypted("!!garbage!!", json_body=True)
        g.verify_url("1", msg_signature="f" * 40)
        bg.stop()
        send = run_send(binary, tmp_path, fake, bots[0], "proactive", name="wecom")
        assert send.returncode == 0, send.stdout + send.stderr
        wait_delivered(fake, 5)
        log = bg.log_text() + send.stdout + send.stderr
        tokens = fake.issued_tokens()
    assert log.strip(), "expected a debug log"
    assert len(tokens) >= 2
    secrets = [g_token, g_key, a_token, a_key, i_token, i_key, corp_secret, cfg_key, cb_key]
    for secret in secrets + tokens:
        assert secret not in log, f"a secret ({secret[:4]}...) appears in the log"
        assert urllib.parse.quote(secret, safe="") not in log
