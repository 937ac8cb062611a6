"""examples/python_bot.py, run as the README shows it, is the logic of one botgate serving a
Feishu bot, a WeCom group bot and the console's sandbox: each platform's message is answered by
the script, through [forward], on that platform."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from botgate_harness import (API_TOKEN, FeishuCallbacks, WecomCallbacks, botgate_config,
                             feishu_bot, wait_until, wecom_bot)
from forward_service import FORWARD_SECRET

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "python_bot.py"
WECOM_BOT_NAME = "RobotA"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_python_example_answers_on_every_platform(fake, wecom_fake, launch):
    port = free_port()
    bot = subprocess.Popen([sys.executable, str(EXAMPLE)],
                           env={**os.environ, "FORWARD_SECRET": FORWARD_SECRET, "PORT": str(port)})
    try:
        def config(p, db):
            return (botgate_config(port=p, db_path=db, api_token=API_TOKEN,
                                   bots=[feishu_bot(fake), wecom_bot(wecom_fake)])
                    + f'\n[forward]\nurl = "http://127.0.0.1:{port}/"\nsecret = "{FORWARD_SECRET}"\n')

        bg = launch(config)
        # Feishu, a private chat.
        FeishuCallbacks(bg, fake).send_text("hi from feishu")
        # WeCom, a group where the bot is @-mentioned.
        key = wecom_fake.add_webhook_key()
        WecomCallbacks(bg, "wecom").group_message(f"@{WECOM_BOT_NAME} hi from wecom",
                                                   webhook_url=wecom_fake.webhook_url(key),
                                                   user_id="zhangsan")
        # The console's sandbox chat.
        status, _, _ = bg.api_request("POST", "/api/v1/sandbox/messages", json.dumps(
            {"chat_id": "tab-1", "text": "hi from the sandbox"}).encode())
        assert status == 202

        wait_until(lambda: fake.delivered() and wecom_fake.delivered(key=key), 15)
        assert [d.text for d in fake.delivered()] == ["You said: hi from feishu (feishu)"]
        [wecom] = wecom_fake.delivered(key=key)
        assert "You said: hi from wecom (wecom)" in wecom.content, wecom.content

        def sandbox_reply():
            _, body = bg.api_get("/api/v1/log?bot=sandbox")
            return [e["text"] for e in json.loads(body)["entries"] if e["direction"] == "out"]
        wait_until(lambda: sandbox_reply(), 10)
        assert sandbox_reply() == ["You said: hi from the sandbox (sandbox)"]
        # Nothing answered twice, nothing answered by echo (on in this config).
        time.sleep(1.0)
        assert len(fake.delivered()) == 1 and len(wecom_fake.delivered(key=key)) == 1
    finally:
        bot.terminate()
        bot.wait(10)
