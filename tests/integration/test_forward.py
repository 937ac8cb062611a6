"""[forward] made durable: the real botgate binary, a Feishu bot against the fake Feishu Open
API, and the user's service (forward_service.py) that checks botgate's signature. The service
is down, slow, refuses events or answers nonsense; every accepted event is still answered once
it can be, by the service alone (never by echo, which these bots have on), or kept as a dead
letter that the API lists and retries.
"""

from __future__ import annotations

import json
import time

from botgate_harness import API_TOKEN, FeishuCallbacks, botgate_config, feishu_bot, wait_until
from forward_service import ForwardService, sign

QUIET = 1.0


def feishu_config(fake, service, **forward_kw):
    def make(port, db):
        return (botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)], api_token=API_TOKEN)
                + service.config(**forward_kw))
    return make


def delivered_texts(fake):
    return [d.text for d in fake.delivered()]


def wait_texts(fake, n, timeout=15.0):
    wait_until(lambda: len(fake.delivered()) >= n, timeout)
    texts = delivered_texts(fake)
    assert len(texts) >= n, texts
    return texts


def api_json(bg, method, path, body=None):
    status, _, raw = bg.api_request(method, path, body=None if body is None else json.dumps(body).encode())
    return status, (json.loads(raw) if raw else None)


def test_the_service_fake_refuses_what_is_not_signed_with_its_secret():
    # The service the tests rely on must be strict, or a botgate that signs wrongly would pass.
    import http.client

    service = ForwardService()
    try:
        port = service.server.server_address[1]
        body = b'{"message": {"text": "x"}}'
        for header in (None, sign("another-secret-0123456789", int(time.time()), body),
                       sign(service.secret, int(time.time()) - 3600, body)):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            headers = {"Content-Type": "application/json"}
            if header:
                headers["X-Botgate-Signature"] = header
            conn.request("POST", "/bot", body=body, headers=headers)
            assert conn.getresponse().status == 401
            conn.close()
        assert service.refused == 3 and not service.posts
    finally:
        service.close()


def test_each_post_is_signed_and_answered_by_the_service_alone(fake, launch):
    service = ForwardService()
    try:
        bg = launch(feishu_config(fake, service))
        cb = FeishuCallbacks(bg, fake)
        ev, status = cb.send_text("hello")
        assert status == 200
        assert wait_texts(fake, 1) == ["fwd hello"]
        assert service.refused == 0
        post = service.posts[0]
        assert post.headers["x-botgate-attempt"] == "1"
        assert post.headers["x-botgate-event-id"] == post.event["id"]
        assert "authorization" not in post.headers
        time.sleep(QUIET)
        assert delivered_texts(fake) == ["fwd hello"], "echo answered too"
    finally:
        service.close()


def test_a_service_that_is_down_is_tried_again_until_it_answers(fake, launch):
    # Down for the first two POSTs (503, then a connection cut short by a 502 from a proxy),
    # up from the third: one answer, from the service, after three attempts.
    service = ForwardService(lambda ev, n: (503, {"error": "down"}, 0) if n == 1 else
                             (502, None, 0) if n == 2 else
                             (200, {"reply": "fwd " + ev["message"]["text"]}, 0))
    try:
        bg = launch(feishu_config(fake, service))
        cb = FeishuCallbacks(bg, fake)
        cb.send_text("are you there")
        assert wait_texts(fake, 1, timeout=20) == ["fwd are you there"]
        assert [p.headers["x-botgate-attempt"] for p in service.posts] == ["1", "2", "3"]
        assert len({p.event["id"] for p in service.posts}) == 1, "one event, three attempts"
        time.sleep(QUIET)
        assert delivered_texts(fake) == ["fwd are you there"]
        status, body = api_json(bg, "GET", "/api/v1/status")
        assert body["bots"][0]["handling_retries"] >= 2
    finally:
        service.close()


def test_an_unreadable_answer_is_retried_not_sent(fake, launch):
    service = ForwardService(lambda ev, n: (200, "<html>oops</html>", 0) if n == 1 else
                             (200, {"reply": "fwd " + ev["message"]["text"]}, 0))
    try:
        bg = launch(feishu_config(fake, service))
        FeishuCallbacks(bg, fake).send_text("x")
        assert wait_texts(fake, 1, timeout=20) == ["fwd x"]
        assert len(service.posts) == 2
    finally:
        service.close()


def test_a_refused_event_is_a_dead_letter_until_it_is_retried_from_the_api(fake, launch):
    refusing = {"on": True}
    service = ForwardService(lambda ev, n: (400, {"error": "no"}, 0) if refusing["on"] else
                             (200, {"reply": "fwd " + ev["message"]["text"]}, 0))
    try:
        bg = launch(feishu_config(fake, service))
        cb = FeishuCallbacks(bg, fake)
        cb.send_text("refused one")
        wait_until(lambda: api_json(bg, "GET", "/api/v1/dead-letters")[1]["dead_letters"], 10)
        status, body = api_json(bg, "GET", "/api/v1/dead-letters?bot=feishu")
        assert status == 200
        [letter] = body["dead_letters"]
        assert letter["reason"] == "the service answered HTTP 400"
        assert letter["attempts"] == 1 and letter["bot"] == "feishu"
        assert letter["event"]["message"]["text"] == "refused one"
        assert api_json(bg, "GET", "/api/v1/dead-letters?bot=other")[1]["dead_letters"] == []
        status, body = api_json(bg, "GET", "/api/v1/status")
        assert body["bots"][0]["dead_letters"] == 1
        assert delivered_texts(fake) == [], "a refused event was answered (echo?)"

        # The next message of the same chat is not held up by the dead letter.
        chat = letter["event"]["chat"]["id"]
        refusing["on"] = False
        cb.send_text("next one", chat_id=chat)
        assert wait_texts(fake, 1) == ["fwd next one"]

        # Retried from the API: handled again, answered once; a second retry finds nothing.
        status, body = api_json(bg, "POST", f"/api/v1/dead-letters/{letter['id']}/retry", {})
        assert status == 202, body
        assert wait_texts(fake, 2) == ["fwd next one", "fwd refused one"]
        assert api_json(bg, "POST", f"/api/v1/dead-letters/{letter['id']}/retry", {})[0] == 404
        assert api_json(bg, "GET", "/api/v1/dead-letters")[1]["dead_letters"] == []
        time.sleep(QUIET)
        assert len(fake.delivered()) == 2
    finally:
        service.close()


def test_an_event_taken_with_202_is_answered_later_through_the_api_as_a_reply(fake, launch):
    service = ForwardService(lambda ev, n: (202, None, 0))
    try:
        bg = launch(feishu_config(fake, service))
        FeishuCallbacks(bg, fake).send_text("think about it")
        wait_until(lambda: service.posts, 10)
        event = service.posts[0].event
        time.sleep(QUIET)
        assert fake.delivered() == [], "202 means the service answers later, not echo"

        answer = {"bot": "feishu", "reply_to_event": event["id"], "text": "thought about it",
                  "idempotency_key": "answer-1"}
        status, body = api_json(bg, "POST", "/api/v1/messages", answer)
        assert status == 202, body
        # The service's own retry of the call queues nothing more.
        assert api_json(bg, "POST", "/api/v1/messages", answer) == (202, body)
        wait_until(lambda: fake.delivered(), 10)
        [reply] = fake.delivered()
        assert reply.text == "thought about it"
        assert reply.endpoint == "reply" and reply.reply_to == event["message"]["id"]
        wait_until(lambda: api_json(bg, "GET", f"/api/v1/messages/{body['id']}")[1]["state"]
                   == "sent", 10)

        for wrong, code in (({"reply_to_event": "no-such-event"}, 404),
                            ({"bot": "sandbox"}, 404),
                            ({"chat_id": event["chat"]["id"]}, 400)):
            status, refused = api_json(bg, "POST", "/api/v1/messages",
                                       {**answer, "idempotency_key": "other", **wrong})
            assert status == code, (wrong, refused)
        time.sleep(QUIET)
        assert len(fake.delivered()) == 1
    finally:
        service.close()


def test_the_last_of_max_attempts_makes_a_dead_letter_that_survives_a_restart(fake, launch):
    service = ForwardService(lambda ev, n: (500, {"error": "broken"}, 0))
    try:
        bg = launch(feishu_config(fake, service, max_attempts=2))
        FeishuCallbacks(bg, fake).send_text("never")
        wait_until(lambda: api_json(bg, "GET", "/api/v1/dead-letters")[1]["dead_letters"], 15)
        [letter] = api_json(bg, "GET", "/api/v1/dead-letters")[1]["dead_letters"]
        assert letter["attempts"] == 2
        assert letter["reason"] == "gave up after 2 attempt(s): the service answered HTTP 500"
        assert len(service.posts) == 2
        bg.stop()
        bg.restart()
        [again] = api_json(bg, "GET", "/api/v1/dead-letters")[1]["dead_letters"]
        assert again["id"] == letter["id"]
        time.sleep(QUIET)
        assert len(service.posts) == 2, "a dead letter was tried again by itself"
        assert delivered_texts(fake) == []
        assert api_json(bg, "DELETE", f"/api/v1/dead-letters/{letter['id']}")[0] == 204
        assert api_json(bg, "GET", "/api/v1/dead-letters")[1]["dead_letters"] == []
    finally:
        service.close()


def test_a_slow_service_in_one_chat_does_not_delay_another_chat(fake, launch):
    # An LLM-like service: 10 s for "think", at once for anything else.
    service = ForwardService(lambda ev, n: (200, {"reply": "fwd " + ev["message"]["text"]},
                                            10 if ev["message"]["text"] == "think" else 0))
    try:
        bg = launch(feishu_config(fake, service))
        cb = FeishuCallbacks(bg, fake)
        cb.send_text("think", chat_id="oc_slow_chat")
        wait_until(lambda: service.texts() == ["think"], 5)
        started = time.monotonic()
        cb.send_text("quick", chat_id="oc_other_chat")
        assert wait_texts(fake, 1) == ["fwd quick"]
        assert time.monotonic() - started < 3, "the other chat waited for the slow one"
        assert wait_texts(fake, 2, timeout=20) == ["fwd quick", "fwd think"]
    finally:
        service.close()


def test_dead_letters_need_the_api_token(fake, launch):
    service = ForwardService()
    try:
        bg = launch(feishu_config(fake, service))
        for method, path in (("GET", "/api/v1/dead-letters"),
                             ("POST", "/api/v1/dead-letters/1/retry"),
                             ("DELETE", "/api/v1/dead-letters/1")):
            status, _, _ = bg.api_request(method, path, headers={"Authorization": "Bearer wrong"},
                                          body=b"{}" if method == "POST" else None)
            assert status == 401, (method, path)
        assert api_json(bg, "GET", "/api/v1/dead-letters?limit=0")[0] == 400
        assert api_json(bg, "POST", "/api/v1/dead-letters/abc/retry", {})[0] == 400
    finally:
        service.close()


def test_a_forward_without_a_secret_is_refused_at_start(fake, tmp_path, binary):
    import subprocess

    config = tmp_path / "botgate.toml"
    config.write_text(botgate_config(port=1, db_path=tmp_path / "b.db", bots=[feishu_bot(fake)])
                      + '\n[forward]\nurl = "http://127.0.0.1:9/bot"\n')
    run = subprocess.run([str(binary), "check", "--config", str(config)], capture_output=True,
                         text=True, timeout=30)
    assert run.returncode == 2, run
    assert "forward.secret" in run.stderr and "is required" in run.stderr, run.stderr
