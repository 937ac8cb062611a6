"""Taking messages back (DELETE /api/v1/messages/{id}) end to end: the real botgate binary queues a
recall in the message's chat, and the strict fakes check the platform's own recall call: Discord
(every part of a long message, a 5xx tried again), Feishu (a recall queued while its message still
waits goes after it, also across a kill -9; a second recall of a recalled message ends well), QQ
(a group reply within the 2-minute window, and the platform's refusal past it), WeCom (an app's
message by msgid; a group bot has no recall). Bad ids, unknown messages, recalls of recalls and of
messages that failed unsent are refused with the API's errors."""

from __future__ import annotations

import json
import time

import pytest

from botgate_harness import (API_TOKEN, botgate_config, discord_bot, feishu_bot, qq_bot,
                             wait_until, wecom_bot)

GUILD = "290926798626357999"
CHANNEL = "645027906669510667"
FEISHU_CHAT = "oc_a0553eda9014c201e6969b478895c230"
QQ_GROUP = "C9F778FE6ADF9D1D1DBE395BF744A33A"


@pytest.fixture
def gateway(launch, fake, discord_fake):
    """botgate with a Feishu bot and a Discord bot (echo off: only the API sends), ready."""
    discord_fake.add_channel(CHANNEL, GUILD)
    bots = [feishu_bot(fake), discord_bot(discord_fake)]
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=bots, echo=False,
                                                api_token=API_TOKEN))
    assert discord_fake.wait_connected(10), bg.log_text()
    return bg


def api(bg, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    status, _, answer = bg.api_request(method, path, data)
    return status, json.loads(answer) if answer else {}


def send(bg, body: dict) -> int:
    status, answer = api(bg, "POST", "/api/v1/messages", body)
    assert status == 202, answer
    return answer["id"]


def recall(bg, message_id, expect: int = 202) -> dict:
    status, answer = api(bg, "DELETE", f"/api/v1/messages/{message_id}")
    assert status == expect, answer
    return answer


def wait_state(bg, message_id, wanted: str, timeout: float = 15.0) -> dict:
    seen: list[dict] = []

    def reached() -> bool:
        status, answer = api(bg, "GET", f"/api/v1/messages/{message_id}")
        assert status == 200, answer
        seen.append(answer)
        return answer["state"] == wanted

    assert wait_until(reached, timeout), f"seen: {seen[-3:]}\n{bg.log_text()[-4000:]}"
    return seen[-1]


def test_a_sent_feishu_message_is_taken_back_once_and_a_second_recall_ends_well(gateway, fake):
    bg = gateway
    message_id = send(bg, {"bot": "feishu", "chat_id": FEISHU_CHAT, "text": "wrong build number"})
    sent = wait_state(bg, message_id, "sent")
    answer = recall(bg, message_id)
    assert answer["recall_of"] == message_id and answer["id"] != message_id
    done = wait_state(bg, answer["id"], "sent")
    assert done["recall_of"] == message_id and done["attempts"] == 1, done
    [taken_back] = fake.wait_for_recalls(1)
    assert taken_back.message_id == sent["platform_message_id"]
    [delivery] = fake.delivered()
    assert delivery.recalled

    # Feishu answers 230011 to a message recalled already: that counts as done, not as a failure.
    again = recall(bg, message_id)
    assert wait_state(bg, again["id"], "sent")["attempts"] == 1
    assert len(fake.recalls()) == 1


def test_every_part_of_a_long_discord_message_is_taken_back_and_a_5xx_is_tried_again(
        gateway, discord_fake):
    bg, fake = gateway, discord_fake
    text = "\n".join(f"line {i}: " + "x" * 90 for i in range(45))  # over 4,000 characters
    message_id = send(bg, {"bot": "discord", "chat_id": CHANNEL, "text": text})
    sent = wait_state(bg, message_id, "sent")
    posted = fake.messages(CHANNEL)
    assert len(posted) == len(sent["parts"]) >= 3, sent
    assert [p["platform_message_id"] for p in sent["parts"]] == [m.id for m in posted]
    assert all(p["state"] == "sent" for p in sent["parts"])

    fake.force_5xx(1, route="delete")
    answer = recall(bg, message_id)
    done = wait_state(bg, answer["id"], "sent", timeout=20)
    assert done["attempts"] == 2, done
    recalls = fake.recalls(CHANNEL)
    assert sorted(r.message_id for r in recalls) == sorted(m.id for m in posted)
    assert all(r.own for r in recalls)
    assert all(m.deleted for m in posted)
    assert fake.token not in bg.log_text()


def test_a_recall_queued_while_its_message_waits_goes_after_it_also_across_a_restart(
        gateway, fake):
    bg = gateway
    fake.rate_limit(1, reset_seconds=3)
    message_id = send(bg, {"bot": "feishu", "chat_id": FEISHU_CHAT, "text": "too early"})
    wait_state(bg, message_id, "retrying", timeout=5)
    answer = recall(bg, message_id)
    status, pending = api(bg, "GET", f"/api/v1/messages/{answer['id']}")
    assert status == 200 and pending["state"] == "queued", pending
    bg.kill9()
    bg.restart()
    done = wait_state(bg, answer["id"], "sent", timeout=20)
    assert done["recall_of"] == message_id
    sent = wait_state(bg, message_id, "sent")
    [taken_back] = fake.wait_for_recalls(1)
    [delivery] = fake.delivered()
    assert taken_back.message_id == sent["platform_message_id"] == delivery.message_id
    assert taken_back.t > delivery.t, "taken back only after it was delivered"


def test_refusals(gateway, fake, discord_fake):
    bg = gateway
    assert recall(bg, "abc", 400)["error"] == "bad_request"
    assert recall(bg, 987654, 404)["error"] == "not_found"
    status, _, _ = bg.api_request("DELETE", "/api/v1/messages/1",
                                  headers={"Authorization": "Bearer wrong"})
    assert status == 401

    failed_id = send(bg, {"bot": "discord", "chat_id": "999999999999999999", "text": "x"})
    wait_state(bg, failed_id, "failed")
    assert recall(bg, failed_id, 409)["error"] == "nothing_to_recall"
    sent_id = send(bg, {"bot": "feishu", "chat_id": FEISHU_CHAT, "text": "fine"})
    wait_state(bg, sent_id, "sent")
    recall_id = recall(bg, sent_id)["id"]
    assert recall(bg, recall_id, 409)["error"] == "nothing_to_recall"
    wait_state(bg, recall_id, "sent")
    assert discord_fake.recalls() == [] and len(fake.recalls()) == 1


def test_a_qq_group_reply_is_taken_back_within_two_minutes_and_refused_after(launch, make_qq_fake):
    fake = make_qq_fake()
    bot = qq_bot(fake, intents=["group_and_c2c_event"])
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot], echo=False,
                                                api_token=API_TOKEN))
    assert fake.wait_connected(10), bg.log_text()
    asked = fake.inject("GROUP_AT_MESSAGE_CREATE", "hi", chat_id=QQ_GROUP)
    first = send(bg, {"bot": "qq", "chat_id": QQ_GROUP, "chat_type": "group", "text": "one",
                      "reply_to": asked})
    second = send(bg, {"bot": "qq", "chat_id": QQ_GROUP, "chat_type": "group", "text": "two",
                       "reply_to": asked})
    sent = wait_state(bg, first, "sent")
    wait_state(bg, second, "sent")
    done = wait_state(bg, recall(bg, first)["id"], "sent")
    assert done["recall_of"] == first
    [taken_back] = fake.wait_for_recalls(1, kind="group", chat_id=QQ_GROUP)
    assert taken_back.message_id == sent["platform_message_id"]

    fake.recall_window = 0.5
    time.sleep(1.0)
    too_late = wait_state(bg, recall(bg, second)["id"], "failed")
    assert "40034028" in too_late["error"], too_late
    assert len(fake.recalls()) == 1
    assert fake.app_secret not in bg.log_text()


def test_a_wecom_apps_message_is_taken_back_and_a_group_bot_cannot(launch, wecom_fake):
    fake = wecom_fake
    bots = [wecom_bot(fake, name="app", kind="app"),
            wecom_bot(fake, name="group", kind="group",
                      webhook_url=fake.webhook_url())]
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=bots, echo=False,
                                                api_token=API_TOKEN))
    message_id = send(bg, {"bot": "app", "chat_id": "zhangsan", "text": "meeting moved"})
    sent = wait_state(bg, message_id, "sent")
    done = wait_state(bg, recall(bg, message_id)["id"], "sent")
    assert done["recall_of"] == message_id
    [taken_back] = fake.wait_for_recalls(1, touser="zhangsan")
    assert taken_back.msgid == sent["platform_message_id"]

    group_id = send(bg, {"bot": "group", "chat_id": "wrk-group", "text": "hello"})
    wait_state(bg, group_id, "sent")
    refused = recall(bg, group_id, 422)
    assert refused["error"] == "cannot_recall" and "group" in refused["detail"], refused
    assert fake.corp_secret not in bg.log_text()
