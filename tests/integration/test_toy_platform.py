"""The toy platform (tests/platforms/toy/), written by following docs/adding-a-platform.md and
added to botgate through the library rather than all_platforms.cpp: botgate_toy_bot is botgate's
command line with a PlatformSetup that registers it. Run as built, the whole path: a
`[[bot]] platform = "toy"` in the config, callbacks at /webhook/<name> checked against the
shared secret (401 without it), the event through echo, and the reply POSTed to the toy fake.
Also the bot's `concurrency` key, as the runtime reports it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from botgate_harness import API_TOKEN, Botgate, binary_path, botgate_config, free_port, wait_until
from fakes.toy_fake import TOY_SECRET, ToyFake

BOT = "toy-one"


def toy_binary() -> Path:
    program = binary_path().resolve().parent / "botgate_toy_bot"
    if not program.exists():
        pytest.fail(f"{program} is not built (cmake --build {program.parent} "
                    "--target botgate_toy_bot)")
    return program


def toy_config(port: int, tmp_path: Path, fake: ToyFake, **bot_keys) -> str:
    bot = {"name": BOT, "platform": "toy", "api_base": fake.base_url, "secret": TOY_SECRET,
           **bot_keys}
    return botgate_config(port=port, db_path=tmp_path / "botgate.db", bots=[bot],
                          api_token=API_TOKEN)


@pytest.fixture
def toy_fake():
    f = ToyFake().start()
    yield f
    f.stop()


@pytest.fixture
def toy_bot(tmp_path, toy_fake):
    port = free_port()
    bg = Botgate(toy_binary(), tmp_path, toy_config(port, tmp_path, toy_fake, concurrency=3), port)
    yield bg.start()
    bg.cleanup()
    print(f"--- log ({bg.log_path}) ---\n{bg.log_text()[-20000:]}")


def callback(bg: Botgate, message_id: str, text: str, secret: str | None = TOY_SECRET):
    body = json.dumps({"id": message_id, "chat": "c1", "user": "u1", "text": text}).encode()
    headers = {} if secret is None else {"X-Toy-Secret": secret}
    return bg.post(f"/webhook/{BOT}", body, headers=headers)


def test_a_callback_with_the_secret_is_answered_through_the_platform(toy_bot, toy_fake):
    status, _, body = callback(toy_bot, "m1", "hi there")
    assert (status, json.loads(body)) == (200, {"ok": True})
    delivered = toy_fake.wait_delivered(1)
    assert [(d.chat, d.text, d.reply_to) for d in delivered] == [("c1", "Hello, hi there", "m1")]
    assert all(r.headers.get("x-toy-secret") == TOY_SECRET for r in toy_fake.requests("messages"))

    # The same message again: acknowledged, not answered twice.
    assert callback(toy_bot, "m1", "hi there")[0] == 200
    # Forged: no secret, or a wrong one. 401, and no event.
    assert callback(toy_bot, "m2", "forged", secret="guess")[0] == 401
    assert callback(toy_bot, "m3", "forged", secret=None)[0] == 401

    # A later message is answered; by then anything the others produced would have been too.
    assert callback(toy_bot, "m4", "again")[0] == 200
    assert wait_until(lambda: len(toy_fake.delivered()) >= 2, 10), toy_fake.delivered()
    assert [d.text for d in toy_fake.delivered()] == ["Hello, hi there", "Hello, again"]

    status, body = toy_bot.api_get("/api/v1/status")
    assert status == 200, body
    status_body = json.loads(body)
    bots = {b["name"]: b for b in status_body["bots"]}
    assert bots[BOT]["platform"] == "toy"
    assert bots[BOT]["webhook_path"] == f"/webhook/{BOT}"
    assert bots[BOT]["callbacks_rejected"] == 2
    assert bots[BOT]["concurrency"] == 3, "[[bot]] concurrency reaches the runtime"
    assert bots["sandbox"]["concurrency"] == 32, "the default where none is written"
    assert bots["sandbox"]["webhook_path"] is None
    assert "toy" in status_body["platforms"] and "sandbox" not in status_body["platforms"]
    toy_bot.stop()


def test_the_config_is_checked_against_the_toy_settings(tmp_path, toy_fake):
    def check(binary: Path, text: str) -> subprocess.CompletedProcess:
        path = tmp_path / "check.toml"
        path.write_text(text)
        return subprocess.run([str(binary), "check", "--config", str(path)],
                              capture_output=True, text=True, timeout=30, cwd=tmp_path)

    port = free_port()
    ok = check(toy_binary(), toy_config(port, tmp_path, toy_fake))
    assert ok.returncode == 0, ok.stderr
    assert "1 bot(s) enabled" in ok.stdout

    missing = toy_config(port, tmp_path, toy_fake).replace(f'secret = "{TOY_SECRET}"\n', "")
    result = check(toy_binary(), missing)
    assert result.returncode == 2, result
    assert "bot[0].secret: is required for platform 'toy'" in result.stderr

    result = check(toy_binary(), toy_config(port, tmp_path, toy_fake, concurrency=0))
    assert result.returncode == 2, result
    assert "bot[0].concurrency: must be 1..4096" in result.stderr

    # botgate itself does not know the platform: it is the program's own.
    result = check(binary_path(), toy_config(port, tmp_path, toy_fake))
    assert result.returncode == 2, result
    assert "bot[0].platform: unknown platform 'toy'" in result.stderr
