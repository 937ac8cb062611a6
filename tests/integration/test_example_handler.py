"""examples/ping_handler.cpp, the C++ handler example, run as built: botgate's command line with
one handler added through app::Gateway::add_handler. "ping" typed in the console's sandbox chat
gets its "pong"; other text passes the handler by and gets no reply (echo is off).

The program is built with the tree's examples (BOTGATE_BUILD_EXAMPLES, on by default, off in the
sanitizer tree); a tree built without them skips this file, one built with them must have the
program (make test builds it beside botgate)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from botgate_harness import API_TOKEN, Botgate, binary_path, botgate_config, free_port, wait_until


def example_binary() -> Path:
    build_dir = binary_path().resolve().parent
    program = build_dir / "examples" / "botgate_ping_bot"
    cache = build_dir / "CMakeCache.txt"
    if cache.exists() and "BOTGATE_BUILD_EXAMPLES:BOOL=OFF" in cache.read_text():
        pytest.skip(f"{build_dir} is configured without the examples")
    if not program.exists():
        pytest.fail(f"{program} is not built (cmake --build {build_dir} --target botgate_ping_bot)")
    return program


@pytest.fixture
def ping_bot(tmp_path):
    port = free_port()
    text = botgate_config(port=port, db_path=tmp_path / "botgate.db", bots=[], echo=False,
                          api_token=API_TOKEN)
    bg = Botgate(example_binary(), tmp_path, text, port)
    yield bg.start()
    bg.cleanup()
    print(f"--- log ({bg.log_path}) ---\n{bg.log_text()[-20000:]}")


def sandbox_entries(bg: Botgate, chat: str) -> list[dict]:
    status, body = bg.api_get(f"/api/v1/log?bot=sandbox&chat={chat}")
    assert status == 200, body
    return json.loads(body)["entries"]


def say(bg: Botgate, chat: str, text: str) -> None:
    payload = json.dumps({"chat_id": chat, "text": text}).encode()
    status, _, body = bg.api_request("POST", "/api/v1/sandbox/messages", payload)
    assert status == 202, body  # accepted: the reply comes through the outbox


def test_the_example_answers_ping_with_pong(ping_bot):
    say(ping_bot, "example-chat", "ping")
    assert wait_until(lambda: any(e["direction"] == "out" and e["outcome"] == "sent"
                                  for e in sandbox_entries(ping_bot, "example-chat")),
                      timeout=10.0), sandbox_entries(ping_bot, "example-chat")
    entries = sandbox_entries(ping_bot, "example-chat")
    replies = [e["text"] for e in entries if e["direction"] == "out"]
    assert replies == ["pong"], entries
    ping_bot.stop()


def test_other_text_passes_the_handler_by(ping_bot):
    say(ping_bot, "other-chat", "hello")
    # The ping after it is answered, so by then "hello" went through the chain unanswered.
    say(ping_bot, "other-chat", "ping")
    assert wait_until(lambda: any(e["direction"] == "out"
                                  for e in sandbox_entries(ping_bot, "other-chat")),
                      timeout=10.0), sandbox_entries(ping_bot, "other-chat")
    entries = sandbox_entries(ping_bot, "other-chat")
    assert [e["text"] for e in entries if e["direction"] == "in"] == ["hello", "ping"], entries
    assert [e["text"] for e in entries if e["direction"] == "out"] == ["pong"], entries
    ping_bot.stop()


def test_the_example_streams_its_count_and_the_console_sees_it_grow(ping_bot):
    say(ping_bot, "stream-chat", "count")
    seen: list[str] = []

    def finished() -> bool:
        outs = [e for e in sandbox_entries(ping_bot, "stream-chat") if e["direction"] == "out"]
        if outs and (not seen or seen[-1] != outs[0]["text"]):
            seen.append(outs[0]["text"])
        return bool(outs) and outs[0]["outcome"] == "sent"

    assert wait_until(finished, timeout=15.0), seen
    assert seen[-1] == "Counting: 1 2 3 4 5"
    assert len(seen) >= 3, f"the reply grew in the log: {seen}"
    assert all(b.startswith(a) for a, b in zip(seen, seen[1:])), seen
