"""OneBot v11 (reverse WebSocket, Universal role): the real botgate binary with a Feishu bot
(against the fake Feishu Open API) and the console's sandbox bot, dialling a strict fake OneBot
framework (onebot_framework.py) that checks the headers, the token and the role, records the
events and calls actions. Users' messages arrive as OneBot message events whose ids stay the same
across a restart; the framework's sends reach Feishu, and delete_msg takes one back; a wrong token is refused and botgate keeps
trying with backoff; events that come while the framework is away reach it when it is back.
"""

from __future__ import annotations

import json
import time

from botgate_harness import API_TOKEN, FeishuCallbacks, botgate_config, feishu_bot, wait_until
from onebot_framework import OneBotFramework

FEISHU = 10001
SANDBOX = 10002
TOKEN = "ob-" + "7" * 20
QUIET = 1.0


def config(fake, fw, token=TOKEN):
    def make(port, db):
        return (botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)], api_token=API_TOKEN)
                + "\n[onebot]\n"
                + f'reverse_url = "{fw.url}"\n'
                + f'access_token = "{token}"\n'
                + f"self_ids = {{ feishu = {FEISHU}, sandbox = {SANDBOX} }}\n")
    return make


def framework(**kw):
    return OneBotFramework(token=TOKEN, self_ids={FEISHU, SANDBOX}, **kw).start()


def is_id(value):
    return isinstance(value, int) and 0 < value < 2 ** 53


def group_text(cb, text, chat="oc_group_1", user="ou_ann"):
    ev, status = cb.send_text(text, chat_type="group", chat_id=chat, sender_open_id=user)
    assert status == 200
    return ev


def upgrade_status(fw, headers):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", fw.port, timeout=5)
    conn.request("GET", fw.path, headers={
        "Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "User-Agent": "t", **headers})
    status = conn.getresponse().status
    conn.close()
    return status


def test_the_fake_framework_is_strict():
    # A botgate that sent the wrong headers must not pass because the fake let it in.
    fw = framework()
    try:
        good = {"X-Client-Role": "Universal", "X-Self-ID": str(FEISHU),
                "Authorization": f"Bearer {TOKEN}"}
        assert upgrade_status(fw, good) == 101
        for wrong in ({"X-Client-Role": "API"}, {"X-Self-ID": "12345"}, {"X-Self-ID": "abc"},
                      {"Authorization": "Bearer nope"}, {"Authorization": ""}):
            assert upgrade_status(fw, {**good, **wrong}) in (400, 403), wrong
        assert len(fw.refusals) == 5
    finally:
        fw.close()


def test_messages_arrive_as_onebot_events_with_stable_ids(fake, launch):
    fw = framework()
    try:
        bg = launch(config(fake, fw))
        conn = fw.wait_connected(FEISHU)
        fw.wait_connected(SANDBOX)
        assert conn.headers["X-Client-Role"] == "Universal"
        assert conn.headers["Authorization"] == f"Bearer {TOKEN}"
        assert "botgate" in conn.headers["User-Agent"]
        hello = fw.wait_events(FEISHU, 1)[0]
        assert (hello["post_type"], hello["meta_event_type"], hello["sub_type"]) == \
            ("meta_event", "lifecycle", "connect")

        cb = FeishuCallbacks(bg, fake)
        ev = group_text(cb, "hello [x] & y")
        msg = fw.wait_events(FEISHU, 1, post_type="message")[0]
        assert msg["message_type"] == "group" and msg["self_id"] == FEISHU
        assert msg["message"] == [{"type": "text", "data": {"text": "hello [x] & y"}}]
        assert msg["raw_message"] == "hello &#91;x&#93; &amp; y"
        for key in ("user_id", "group_id", "message_id"):
            assert is_id(msg[key]), (key, msg)
        assert msg["sender"]["user_id"] == msg["user_id"]
        assert abs(msg["time"] - time.time()) < 60

        # The same user in a private chat is the same user_id.
        cb.send_text("psst", chat_type="p2p", chat_id="oc_dm_ann", sender_open_id="ou_ann")
        dm = fw.wait_events(FEISHU, 2, post_type="message")[1]
        assert dm["message_type"] == "private" and dm["user_id"] == msg["user_id"]
        assert "group_id" not in dm

        # The console's sandbox bot has its own connection and self id.
        status, _, body = bg.api_request("POST", "/api/v1/sandbox/messages",
                                         json.dumps({"chat_id": "tab-1", "text": "hi sandbox"}).encode())
        assert status == 202, body
        sm = fw.wait_events(SANDBOX, 1, post_type="message")[0]
        assert sm["raw_message"] == "hi sandbox" and sm["self_id"] == SANDBOX

        # Served by OneBot alone: no echo (on in this config) answers.
        time.sleep(QUIET)
        assert fake.delivered() == [], "echo answered a bot that OneBot serves"

        # /api/v1/bots shows the connection.
        status, body = bg.api_get("/api/v1/bots")
        bots = {b["name"]: b for b in json.loads(body)["bots"]}
        assert bots["feishu"]["connections"][0]["state"] == "connected", bots["feishu"]
        assert str(FEISHU) in bots["feishu"]["connections"][0]["detail"]

        # After a restart the same user and group have the same numbers; a new message a new one.
        bg.stop()
        bg.restart()
        assert wait_until(lambda: len([c for c in fw.connections if c.self_id == FEISHU]) >= 2
                          and fw.live(FEISHU) is not None, 15)
        group_text(cb, "again")
        again = fw.wait_events(FEISHU, 3, post_type="message")[2]
        assert again["raw_message"] == "again"
        assert (again["user_id"], again["group_id"]) == (msg["user_id"], msg["group_id"])
        assert again["message_id"] not in (msg["message_id"], dm["message_id"])
        assert fw.violations == []
    finally:
        fw.close()


def test_the_framework_sends_through_botgate(fake, launch):
    fw = framework()
    try:
        bg = launch(config(fake, fw))
        fw.wait_connected(FEISHU)
        cb = FeishuCallbacks(bg, fake)
        ev = group_text(cb, "ping")
        msg = fw.wait_events(FEISHU, 1, post_type="message")[0]

        info = fw.call(FEISHU, "get_login_info", echo={"k": "login"})
        assert info["status"] == "ok" and info["data"]["user_id"] == FEISHU
        assert info["echo"] == {"k": "login"}

        # A CQ-code string with a reply and a mention, the group id as a string (as Koishi sends).
        answer = fw.call(FEISHU, "send_group_msg", {
            "group_id": str(msg["group_id"]),
            "message": f"[CQ:reply,id={msg['message_id']}]pong [CQ:at,qq={msg['user_id']}] &#91;1&#93;"})
        assert answer["status"] == "ok" and answer["retcode"] == 0, answer
        assert is_id(answer["data"]["message_id"])
        first = fake.wait_delivered(1)[0]
        assert first.reply_to == ev["event"]["message"]["message_id"]
        assert "pong" in first.text and "[1]" in first.text
        assert "ou_ann" in first.mentioned()

        # Segments in the array form, the group id as a number.
        answer = fw.call(FEISHU, "send_msg", {
            "message_type": "group", "group_id": msg["group_id"],
            "message": [{"type": "text", "data": {"text": "array form"}},
                        {"type": "face", "data": {"id": "14"}}]})
        assert answer["retcode"] == 0, answer
        deliveries = fake.wait_delivered(2)
        assert deliveries[1].text == "array form[face:14]"
        assert deliveries[1].chat_id in (None, "oc_group_1")

        unknown = fw.call(FEISHU, "send_group_msg", {"group_id": 987654321, "message": "x"})
        assert (unknown["status"], unknown["retcode"]) == ("failed", 100), unknown
        assert "group_id 987654321" in unknown["wording"]
        other = fw.call(FEISHU, "get_group_member_list", {"group_id": msg["group_id"]})
        assert (other["status"], other["retcode"]) == ("failed", 1404)
        got = fw.call(FEISHU, "get_msg", {"message_id": msg["message_id"]})
        assert got["retcode"] == 0 and got["data"]["raw_message"] == "ping", got

        # delete_msg takes back what send_msg sent (the id as a string, as Koishi sends it).
        deleted = fw.call(FEISHU, "delete_msg", {"message_id": str(answer["data"]["message_id"])})
        assert (deleted["status"], deleted["retcode"]) == ("ok", 0), deleted
        [taken_back] = fake.wait_for_recalls(1)
        assert taken_back.message_id == deliveries[1].message_id
        unknown = fw.call(FEISHU, "delete_msg", {"message_id": 987654321})
        assert unknown["retcode"] == 100, unknown
        time.sleep(QUIET)
        assert len(fake.delivered()) == 2
        assert len(fake.recalls()) == 1
        assert fw.violations == []
    finally:
        fw.close()


def test_the_consoles_sandbox_dials_the_framework_only_when_named(fake, launch):
    fw = OneBotFramework(token=TOKEN, self_ids={FEISHU}).start()
    try:
        def make(port, db):
            return (botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)],
                                   api_token=API_TOKEN)
                    + "\n[onebot]\n"
                    + f'reverse_url = "{fw.url}"\n'
                    + f'access_token = "{TOKEN}"\n'
                    + f"self_ids = {{ feishu = {FEISHU} }}\n")
        bg = launch(make)
        fw.wait_connected(FEISHU)
        time.sleep(QUIET)
        assert fw.refusals == [], "botgate dialled only the bots the framework knows"
        status, data = bg.api_get("/api/v1/bots")
        assert status == 200, data
        bots = {b["name"]: b for b in json.loads(data)["bots"]}
        assert [c["kind"] for c in bots["feishu"]["connections"]] == ["reverse"], bots["feishu"]
        assert not bots["sandbox"].get("connections"), bots["sandbox"]
    finally:
        fw.close()


def test_a_wrong_token_is_refused_and_botgate_keeps_trying_with_backoff(fake, launch):
    fw = framework()
    try:
        bg = launch(config(fake, fw, token="not-the-token-0000"))
        assert wait_until(lambda: len([r for r in fw.refusals if r.self_id == str(FEISHU)]) >= 3,
                          20), fw.refusals
        refusals = [r for r in fw.refusals if r.self_id == str(FEISHU)]
        assert all("token" in r.reason for r in refusals)
        assert fw.connections == []
        # Backoff with jitter from 1 s, doubling: the third attempt comes 1.5 s or more after
        # the first, and attempts do not come faster as they go.
        gaps = [b.t - a.t for a, b in zip(refusals, refusals[1:])]
        assert refusals[2].t - refusals[0].t >= 1.4, gaps
        assert bg.running()
        status, body = bg.api_get("/api/v1/bots")
        bot = {b["name"]: b for b in json.loads(body)["bots"]}["feishu"]
        assert bot["connections"][0]["state"] in ("reconnecting", "connecting"), bot
    finally:
        fw.close()


def test_events_wait_for_the_framework_and_none_is_lost(fake, launch):
    fw = framework()
    try:
        bg = launch(config(fake, fw))
        fw.wait_connected(FEISHU)
        cb = FeishuCallbacks(bg, fake)
        group_text(cb, "before")
        fw.wait_events(FEISHU, 1, post_type="message")

        fw.stop()
        for text in ("one", "two", "three"):
            group_text(cb, text)
        group_text(cb, "elsewhere", chat="oc_group_2")
        time.sleep(1.5)
        fw.start()
        events = fw.wait_events(FEISHU, 5, post_type="message", timeout=40)
        texts = [e["raw_message"] for e in events]
        assert sorted(texts) == sorted(["before", "one", "two", "three", "elsewhere"]), texts
        in_chat = [t for t in texts if t != "elsewhere"]
        assert in_chat == ["before", "one", "two", "three"], "a chat's events keep their order"
        assert len({e["message_id"] for e in events}) == 5
        assert fw.violations == []
    finally:
        fw.close()
