"""The real botgate binary against the fake Feishu/Lark Open API: callbacks in (plain and
encrypted, signed), replies out, and the faults the platform throws (token expiry, outage, rate
limit, a crash in the middle of a send).

The contract is DESIGN.md section 3 and the Feishu protocol notes; each test runs its own fake
and its own botgate process in its own directory.
"""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.parse

import pytest

import feishu_crypto
from botgate_harness import FeishuCallbacks, botgate_config, feishu_bot, wait_until
from fakes.feishu_fake import FeishuFake
from forward_service import ForwardService

VERIFICATION_TOKEN = "v3rif1cat10n"
ENCRYPT_KEY = "test key"
RULES = [{"match": "^ping$", "reply": "pong {user_id}"}]
ACK_DEADLINE = 3.0  # the platform redelivers callbacks not acknowledged within 3 s
QUIET = 1.0  # how long "nothing more arrives" is watched for


def config(fake, *, rules=RULES, bot_kw=None, **kw):
    def make(port, db):
        return botgate_config(port=port, db_path=db, bots=[feishu_bot(fake, **(bot_kw or {}))],
                              rules=rules, **kw)
    return make


@pytest.fixture
def feishu(fake, launch):
    """A ready botgate with one encrypted Feishu bot; returns (process, callbacks)."""
    bg = launch(config(fake))
    return bg, FeishuCallbacks(bg, fake)


def wait_delivered(fake, n, timeout=10.0):
    wait_until(lambda: len(fake.delivered()) >= n, timeout)
    got = fake.delivered()
    assert len(got) >= n, (
        f"expected {n} deliveries within {timeout}s, got {len(got)}; requests seen: "
        + repr([(r.endpoint, r.status, r.code) for r in fake.requests()])
    )
    return got


def assert_quiet(fake, n, seconds=QUIET):
    """Nothing beyond `n` deliveries arrives for `seconds`."""
    time.sleep(seconds)
    got = fake.delivered()
    assert len(got) == n, [(d.endpoint, d.text) for d in got]
    return got


def sender_of(ev):
    return ev["event"]["sender"]["sender_id"]["open_id"]


def message_id_of(ev):
    return ev["event"]["message"]["message_id"]


# ---------------------------------------------------------------------- url verification


def test_url_verification_plain(fake, launch):
    bg = launch(config(fake, bot_kw={"encrypt_key": None}))
    cb = FeishuCallbacks(bg, fake, encrypt_key=None)
    body = feishu_crypto.dumps(feishu_crypto.url_verification("abc", VERIFICATION_TOKEN))
    status, headers, resp = cb.post_raw(body, {})
    assert status == 200, resp
    assert headers.get("content-type", "").startswith("application/json")
    assert json.loads(resp) == {"challenge": "abc"}

    body = feishu_crypto.dumps(feishu_crypto.url_verification("abc", "wrong-token"))
    status, _, resp = cb.post_raw(body, {})
    assert status == 401, resp
    assert b"abc" not in resp

    status, _, _ = cb.post_raw(b'{"challenge": "abc", "token": ', {})
    assert status == 400

    # Without an encrypt key, message events are authenticated by the token in the body.
    ev = cb.message("hi", token="wrong-token")
    assert cb.post_payload(ev)[0] == 401
    ev, status = cb.send_text("plain")
    assert status == 200
    d = wait_delivered(fake, 1)
    assert d[0].text == "Hello, plain" and d[0].reply_to == message_id_of(ev)
    assert_quiet(fake, 1)


def test_url_verification_encrypted(feishu):
    bg, cb = feishu
    status, headers, resp = cb.post_payload(
        feishu_crypto.url_verification("ch-4711", VERIFICATION_TOKEN))
    assert status == 200, resp
    assert headers.get("content-type", "").startswith("application/json")
    assert json.loads(resp) == {"challenge": "ch-4711"}

    status, _, resp = cb.post_payload(feishu_crypto.url_verification("ch-4711", "wrong"))
    assert status == 401, resp


# ---------------------------------------------------------------------- replies


def test_p2p_echo_reply(fake, feishu):
    bg, cb = feishu
    ev = cb.message("world")
    t0 = time.monotonic()
    status, _, resp = cb.post_payload(ev)
    elapsed = time.monotonic() - t0
    assert status == 200, resp
    assert elapsed < ACK_DEADLINE, f"ack took {elapsed:.2f}s"

    d = wait_delivered(fake, 1)[0]
    assert d.endpoint == "reply"
    assert d.reply_to == message_id_of(ev)
    assert d.msg_type == "text"
    assert d.content == {"text": "Hello, world"}
    assert d.token in fake.issued_tokens()
    assert d.uuid, "a reply must carry a uuid (idempotency key)"
    assert_quiet(fake, 1)
    assert fake.count("reply") == 1
    bg.stop()


def test_group_mention_rule(fake, feishu):
    bg, cb = feishu
    ev = cb.message("@_user_1 ping", chat_type="group",
                    mentions=[feishu_crypto.bot_mention(fake.bot_open_id)])
    assert cb.post_payload(ev)[0] == 200
    d = wait_delivered(fake, 1)[0]
    assert d.endpoint == "reply" and d.reply_to == message_id_of(ev)
    assert sender_of(ev).startswith("ou_")
    assert d.text == f"pong {sender_of(ev)}"
    assert_quiet(fake, 1)


def test_echoed_at_tags_mention_nobody(fake, feishu):
    # Feishu turns <at user_id=".."> in a text message into a mention: typed by a user and
    # echoed back, it must arrive as text. The reply is still a reply to the message.
    bg, cb = feishu
    typed = '<at user_id="all"></at> hi <at user_id="ou_victim">V</at> <AT USER_ID=all></AT>'
    ev = cb.message(typed)
    assert cb.post_payload(ev)[0] == 200
    d = wait_delivered(fake, 1)[0]
    assert d.endpoint == "reply" and d.reply_to == message_id_of(ev)
    assert d.mentioned() == [], d.text
    assert d.text.replace("\u200b", "") == "Hello, " + typed  # it reads as typed
    assert_quiet(fake, 1)


def test_reply_to_stays_one_path_segment(fake, feishu):
    # The message id goes into the reply URL's path: whatever it holds ('/', '..', '?', '#',
    # '%'), the reply still goes to /open-apis/im/v1/messages/<that id>/reply.
    bg, cb = feishu
    odd = "om_" + os.urandom(4).hex() + "/../../chats?receive_id_type=chat_id#%2F"
    ev, status = cb.send_text("odd id", message_id=odd)
    assert status == 200
    d = wait_delivered(fake, 1)[0]
    assert d.endpoint == "reply", d
    assert "/" not in d.reply_to and "?" not in d.reply_to and "#" not in d.reply_to, d.reply_to
    assert urllib.parse.unquote(d.reply_to) == odd, d.reply_to
    assert d.text == "Hello, odd id"
    assert [r.endpoint for r in fake.send_requests()] == ["reply"]
    assert_quiet(fake, 1)


# ---------------------------------------------------------------------- bad callbacks


def _bad_ciphertext() -> str:
    """base64(iv || ct) of the right length whose decryption has invalid PKCS#7 padding."""
    while True:
        raw = os.urandom(48)
        try:
            feishu_crypto.decrypt(ENCRYPT_KEY, base64.b64encode(raw).decode())
        except ValueError:
            return base64.b64encode(raw).decode()


def test_rejects_tampered_callbacks(fake, feishu):
    bg, cb = feishu
    ev = cb.message("tampered")
    body = feishu_crypto.wrap(ev, ENCRYPT_KEY)
    headers = feishu_crypto.signed_headers(body, ENCRYPT_KEY)

    # A flipped character of the signature.
    sig = headers["X-Lark-Signature"]
    flipped = dict(headers, **{"X-Lark-Signature": ("1" if sig[0] != "1" else "2") + sig[1:]})
    assert cb.post_raw(body, flipped)[0] == 401

    # The body changed after signing (still valid JSON and valid ciphertext).
    other = feishu_crypto.wrap(cb.message("other text"), ENCRYPT_KEY)
    assert cb.post_raw(other, headers)[0] == 401

    # The signature missing although an encrypt key is configured.
    nosig = {k: v for k, v in headers.items() if k != "X-Lark-Signature"}
    assert cb.post_raw(body, nosig)[0] == 401

    # Garbage ciphertext, validly signed: wrong padding, wrong length, not base64.
    for garbage in (_bad_ciphertext(), base64.b64encode(os.urandom(36)).decode(),
                    "!!not*base64!!"):
        gbody = feishu_crypto.dumps({"encrypt": garbage})
        status, _, resp = cb.post_raw(gbody, feishu_crypto.signed_headers(gbody, ENCRYPT_KEY))
        assert status == 401, (garbage, status, resp)

    # Malformed JSON, validly signed.
    bad = b'{"encrypt": "abc'
    assert cb.post_raw(bad, feishu_crypto.signed_headers(bad, ENCRYPT_KEY))[0] == 400

    # Decrypts fine, but the plaintext is not JSON.
    nj = feishu_crypto.dumps({"encrypt": feishu_crypto.encrypt(ENCRYPT_KEY, b"not json {")})
    assert cb.post_raw(nj, feishu_crypto.signed_headers(nj, ENCRYPT_KEY))[0] == 400

    # A wrong verification token inside a valid, signed, encrypted body.
    assert cb.post_payload(cb.message("bad token", token="wrong"))[0] == 401

    time.sleep(QUIET)
    assert fake.delivered() == []

    # botgate still works, and only the good message was answered.
    ev, status = cb.send_text("good")
    assert status == 200
    d = wait_delivered(fake, 1)
    assert [x.text for x in assert_quiet(fake, 1)] == ["Hello, good"]
    assert d[0].reply_to == message_id_of(ev)


def test_unsigned_encrypted_bodies_get_one_answer(fake, feishu):
    # The platform signs every event; only the URL challenge comes unsigned. An unsigned body is
    # answered only if it decrypts to url_verification, and every other one gets the very same
    # answer, whatever its ciphertext does: bad padding, a plaintext that is not JSON and JSON of
    # another kind must not be told apart (that would be a padding oracle).
    bg, cb = feishu

    def unsigned(encrypt: str):
        return cb.post_raw(feishu_crypto.dumps({"encrypt": encrypt}), {})

    challenge = feishu_crypto.dumps(
        feishu_crypto.url_verification("ch-unsigned", VERIFICATION_TOKEN))
    status, _, resp = unsigned(feishu_crypto.encrypt(ENCRYPT_KEY, challenge))
    assert status == 200 and json.loads(resp) == {"challenge": "ch-unsigned"}, (status, resp)

    forged_event = feishu_crypto.dumps(cb.message("forged"))
    wrong_token = feishu_crypto.dumps(feishu_crypto.url_verification("ch", "wrong"))
    cases = {
        "bad padding": _bad_ciphertext(),
        "not whole blocks": base64.b64encode(os.urandom(36)).decode(),
        "not base64": "!!not*base64!!",
        "not JSON": feishu_crypto.encrypt(ENCRYPT_KEY, b"not json {"),
        "a JSON array": feishu_crypto.encrypt(ENCRYPT_KEY, b"[1,2]"),
        "a message event": feishu_crypto.encrypt(ENCRYPT_KEY, forged_event),
        "a wrong token": feishu_crypto.encrypt(ENCRYPT_KEY, wrong_token),
    }
    # Refusals are logged at most once a second per bot: the three whose lines are checked
    # below each go after a pause.
    logged = {"bad padding", "not JSON", "a message event"}
    answers = {}
    for name, encrypt in cases.items():
        if name in logged:
            time.sleep(1.1)
        status, headers, resp = unsigned(encrypt)
        answers[name] = (status, headers.get("content-type"), headers.get("content-length"), resp)
    assert len(set(answers.values())) == 1, answers
    status, _, _, resp = answers["bad padding"]
    assert status == 401 and b"detail" not in resp, resp

    # The log says which (one line each), the answer does not.
    log = bg.log_text()
    assert "padding" in log or "does not decrypt" in log
    assert "not a JSON object" in log and "not a url_verification" in log
    assert ENCRYPT_KEY not in log

    time.sleep(QUIET)
    assert fake.delivered() == []
    ev, status = cb.send_text("still answered")
    assert status == 200
    assert [d.text for d in wait_delivered(fake, 1)] == ["Hello, still answered"]
    assert_quiet(fake, 1)


# ---------------------------------------------------------------------- dedup


def test_duplicate_events_reply_once(fake, feishu):
    bg, cb = feishu
    ev = cb.message("twice")
    assert cb.post_payload(ev)[0] == 200
    assert cb.post_payload(ev)[0] == 200  # the same event_id, redelivered
    wait_delivered(fake, 1)
    # The platform re-pushes the same message under a new event_id (protocol notes 3.5).
    again = json.loads(json.dumps(ev))
    again["header"]["event_id"] = feishu_crypto.new_event_id()
    assert cb.post_payload(again)[0] == 200
    got = assert_quiet(fake, 1, 1.5)
    assert got[0].text == "Hello, twice" and got[0].reply_to == message_id_of(ev)
    # No second send attempt either (the fake's uuid dedup must not be what saves us).
    assert fake.count("reply") == 1, [(r.status, r.uuid) for r in fake.send_requests()]


# ---------------------------------------------------------------------- platform faults


def test_token_expiry_refetches(fake, feishu):
    bg, cb = feishu
    cb.send_text("one")
    first = wait_delivered(fake, 1)[0]
    fake.expire_all_tokens()
    ev, status = cb.send_text("two")
    assert status == 200
    second = wait_delivered(fake, 2)[1]
    assert second.text == "Hello, two" and second.reply_to == message_id_of(ev)
    assert second.token != first.token
    assert fake.token_fetches == 2
    assert [r.code for r in fake.send_requests()].count(99991663) == 1
    assert_quiet(fake, 2)


def test_outage_then_delivery(fake, feishu):
    bg, cb = feishu
    fake.outage(3)
    ev, status = cb.send_text("after the storm")
    assert status == 200
    d = wait_delivered(fake, 1, timeout=15)[0]
    assert d.text == "Hello, after the storm" and d.reply_to == message_id_of(ev)
    assert d.t >= fake.outage_end()
    assert any(r.status == 503 for r in fake.send_requests()), "no send was tried in the outage"
    assert_quiet(fake, 1)


def test_rate_limit_honoured(fake, feishu):
    bg, cb = feishu
    fake.rate_limit(2, 1)
    ev, status = cb.send_text("slowly")
    assert status == 200
    d = wait_delivered(fake, 1, timeout=15)[0]
    assert d.text == "Hello, slowly"
    assert_quiet(fake, 1)
    reqs = fake.send_requests()
    assert [r.status for r in reqs] == [429, 429, 200]
    # x-ogw-ratelimit-reset: 1 means "wait one second" before the next try.
    for prev, nxt in zip(reqs, reqs[1:]):
        assert nxt.t - prev.t >= 0.9, f"retried {nxt.t - prev.t:.2f}s after a 429"
    assert len({r.uuid for r in reqs}) == 1, "retries must reuse the uuid"


@pytest.mark.parametrize("delivered_before_crash", [False, True],
                         ids=["lost-request", "lost-answer"])
def test_crash_mid_send_replies_exactly_once(fake, feishu, delivered_before_crash):
    bg, cb = feishu
    fake.hang_sends(True, deliver=delivered_before_crash)
    ev, status = cb.send_text("survive")
    assert status == 200
    assert wait_until(lambda: len(fake.hanging()) >= 1, 10), "botgate never tried to send"
    seen_uuid = fake.hanging()[0].uuid
    assert seen_uuid
    bg.kill9()
    fake.hang_sends(False)
    bg.restart()

    if delivered_before_crash:
        # The platform did deliver; botgate cannot know and must resend with the same uuid.
        assert wait_until(lambda: fake.uuid_repeats() or len(fake.delivered()) > 1, 15), (
            "botgate did not resend after the restart")
    d = wait_delivered(fake, 1, timeout=15)
    d = assert_quiet(fake, 1, 1.5)
    assert d[0].text == "Hello, survive" and d[0].reply_to == message_id_of(ev)
    assert d[0].uuid == seen_uuid
    assert {r.uuid for r in fake.send_requests()} == {seen_uuid}


def test_ignores_itself_and_other_bots(fake, feishu):
    bg, cb = feishu
    ev, status = cb.send_text("from an app", sender_type="app")
    assert status == 200
    ev, status = cb.send_text("from myself", sender_open_id=fake.bot_open_id)
    assert status == 200
    ev, status = cb.send_text("from a human")
    assert status == 200
    d = wait_delivered(fake, 1)
    assert [x.text for x in assert_quiet(fake, 1)] == ["Hello, from a human"]
    assert d[0].reply_to == message_id_of(ev)


def test_lark_echo(fake, launch):
    bg = launch(config(fake, bot_kw={"name": "lark", "platform": "lark"}))
    cb = FeishuCallbacks(bg, fake, bot="lark")
    ev, status = cb.send_text("hi lark")
    assert status == 200
    d = wait_delivered(fake, 1)[0]
    assert d.endpoint == "reply" and d.reply_to == message_id_of(ev)
    assert d.text == "Hello, hi lark"
    assert_quiet(fake, 1)


# ---------------------------------------------------------------------- hygiene and health


def test_secrets_never_logged(launch):
    app_secret, encrypt_key, vtoken = "s3cr3t-APP-9x7wQ", "ek-Zq81-Kl2m", "vt-Pm42-Rr9s"
    with FeishuFake(app_id="cli_secret", app_secret=app_secret) as fake:
        bg = launch(config(fake, bot_kw={"encrypt_key": encrypt_key,
                                         "verification_token": vtoken}))
        cb = FeishuCallbacks(bg, fake, encrypt_key=encrypt_key, verification_token=vtoken)
        cb.post_payload(feishu_crypto.url_verification("c1", vtoken))
        cb.send_text("one")
        wait_delivered(fake, 1)
        fake.expire_all_tokens()
        cb.send_text("two")
        wait_delivered(fake, 2)
        # Error paths log too: a bad signature and a wrong token.
        body = feishu_crypto.wrap(cb.message("x"), encrypt_key)
        cb.post_raw(body, dict(feishu_crypto.signed_headers(body, encrypt_key),
                               **{"X-Lark-Signature": "0" * 64}))
        cb.post_payload(cb.message("y", token="not-" + vtoken))
        bg.stop()
        log = bg.log_text()
        tokens = fake.issued_tokens()
    assert log.strip(), "expected a debug log"
    assert len(tokens) >= 2
    for secret in [app_secret, encrypt_key, vtoken] + tokens + [t[2:] for t in tokens]:
        assert secret not in log, f"a secret ({secret[:4]}...) appears in the log"


def test_health_and_readiness(fake, launch):
    bg = launch(config(fake))
    assert fake.token_fetches >= 1, "ready before the token was fetched"
    assert bg.get("/healthz")[0] == 200
    assert bg.get("/readyz")[0] == 200
    status, body = bg.api_get("/api/v1/status")
    assert status == 200
    bots = {b["name"]: b for b in json.loads(body)["bots"]}
    assert bots["feishu"]["ready"] and bots["feishu"]["platform"] == "feishu"
    assert bots["feishu"]["token_expires_at"], "the cached token's expiry is shown"
    for token in fake.issued_tokens():
        assert token not in body.decode(), "the status shows the expiry, never the token"
    bg.stop()


def test_not_ready_with_wrong_secret(fake, launch):
    bg = launch(config(fake, bot_kw={"app_secret": "wrong-secret"}), wait_ready=False)
    assert bg.get("/healthz")[0] == 200
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        assert bg.get("/readyz")[0] == 503
        time.sleep(0.1)
    assert fake.count("token") >= 1 and fake.token_fetches == 0
    bg.stop()


# ---------------------------------------------------------------------- forward


def test_forward_service_replies_and_sees_the_event_json(fake, launch):
    service = ForwardService()
    try:
        base = config(fake)
        bg = launch(lambda port, db: base(port, db) + service.config())
        cb = FeishuCallbacks(bg, fake)
        ev, status = cb.send_text("world")
        assert status == 200
        got = wait_delivered(fake, 1)
        assert got[0].text == "fwd world"
        post = service.posts[0]
        event = post.event
        # DESIGN.md "Event JSON": the shape external bot logic relies on.
        assert event["platform"] == "feishu" and event["bot"] == "feishu"
        assert event["message"]["id"] == message_id_of(ev)
        assert event["sender"]["id"] == sender_of(ev)
        assert event["chat"]["type"] in ("private", "group")
        # the forward client never carries a platform token
        assert "authorization" not in post.headers
        assert service.refused == 0
    finally:
        service.close()
