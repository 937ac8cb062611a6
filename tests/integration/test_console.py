"""The web console in a real browser: botgate with a Feishu bot (against the fake Open API) and
echo on, driven by tests/browser/console_check.mjs (playwright-core and the system Chromium).

The script sends a sandbox chat message and waits for the echo reply, checks the bot cards, the
message log and its search, and the layout at desktop and phone widths; it saves screenshots in
<build dir>/console-screenshots. The API contract is the console's JSON API (/api/v1/...).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from botgate_harness import REPO, binary_path, botgate_config, feishu_bot, http_request

SCRIPT = REPO / "tests" / "browser" / "console_check.mjs"
PLAYWRIGHT = REPO / "tests" / "browser" / "node_modules" / "playwright-core"
CHROMIUM = Path("/usr/bin/chromium")
API_TOKEN = "console-test-token-7c1f"
SCRIPT_TIMEOUT = 120  # seconds; the script itself gives each step 10 s


def config(fake, *, api_token=None):
    def make(port, db):
        text = botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)])
        if api_token is not None:
            text += f'\n[api]\ntoken = "{api_token}"\n'
        return text
    return make


def screenshots_dir(sub: str = "") -> Path:
    """<build dir>/console-screenshots[/sub]: beside the binary under test."""
    d = binary_path().resolve().parent / "console-screenshots"
    return d / sub if sub else d


@pytest.fixture
def browser_tools():
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node (apt-get install nodejs npm, or `make deps`)")
    if not PLAYWRIGHT.is_dir():
        missing.append(f"{PLAYWRIGHT.relative_to(REPO)} (`make browser-deps`, or npm install in "
                       "tests/browser)")
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium, or `make deps`)")
    if missing:
        pytest.fail("the browser test needs: " + "; ".join(missing))
    return node


def run_console_check(node: str, port: int, shots: Path, token: str | None = None) -> dict:
    cmd = [node, str(SCRIPT), "--url", f"http://127.0.0.1:{port}/", "--screenshots", str(shots),
           "--expect-bot", "feishu", "--expect-bot", "sandbox"]
    if token is not None:
        cmd += ["--token", token]
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                              timeout=SCRIPT_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"console_check.mjs did not finish within {SCRIPT_TIMEOUT}s\n"
                    f"--- stdout ---\n{e.stdout}\n--- stderr ---\n{e.stderr}")
    assert proc.returncode == 0, (
        f"console_check.mjs exited with {proc.returncode}\n--- stderr ---\n{proc.stderr}"
        f"\n--- stdout ---\n{proc.stdout}")
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, f"console_check.mjs printed no result\n--- stderr ---\n{proc.stderr}"
    result = json.loads(lines[-1])
    assert result["ok"] is True, result
    for shot in ("console-desktop.png", "console-phone.png"):
        assert (shots / shot).stat().st_size > 0, f"no screenshot {shots / shot}"
    return result


def test_console_in_a_browser(fake, launch, browser_tools):
    bg = launch(config(fake))

    # The page and its assets are served with a CSP that allows only this origin.
    status, headers, body = http_request(bg.port, "GET", "/")
    assert status == 200, body[:200]
    assert headers.get("content-type", "").startswith("text/html")
    assert "default-src 'self'" in headers.get("content-security-policy", "")
    for asset in ("console.js", "console.css", "favicon.svg"):
        status, _, body = http_request(bg.port, "GET", f"/assets/{asset}")
        assert status == 200 and body, f"/assets/{asset}: {status}"

    result = run_console_check(browser_tools, bg.port, screenshots_dir())
    assert result["bots"] == {"feishu": "ready", "sandbox": "ready"}
    assert result["log"]["reply_outcome"] == "sent"
    assert result["phone"]["scrollWidth"] <= result["phone"]["innerWidth"]

    # What the page showed came from the runtime: the message and its echo are in the log.
    chat = result["chat_id"]
    status, _, body = http_request(bg.port, "GET", f"/api/v1/log?bot=sandbox&chat={chat}")
    assert status == 200, body
    entries = json.loads(body)["entries"]
    texts = {(e["direction"], e["text"], e["outcome"]) for e in entries}
    assert ("in", result["chat"]["message"], "received") in texts, entries
    assert ("out", result["chat"]["reply"], "sent") in texts, entries


def test_console_with_api_token(fake, launch, browser_tools):
    bg = launch(config(fake, api_token=API_TOKEN))

    # The API needs the bearer token; the page itself is public.
    for path in ("/api/v1/status", "/api/v1/log"):
        status, _, body = http_request(bg.port, "GET", path)
        assert status == 401, (path, body)
        assert json.loads(body) == {"error": "unauthorized"}
        status, _, body = http_request(bg.port, "GET", path,
                                       headers={"Authorization": "Bearer wrong-token"})
        assert status == 401, (path, body)
        status, _, body = http_request(bg.port, "GET", path,
                                       headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert status == 200, (path, body)
    status, _, body = http_request(
        bg.port, "POST", "/api/v1/sandbox/messages",
        body=json.dumps({"chat_id": "tab-no-token", "text": "hi"}).encode(),
        headers={"Content-Type": "application/json"})
    assert status == 401, body
    # Nor is the sandbox reachable as a platform callback, which needs no token.
    status, _, body = http_request(
        bg.port, "POST", "/webhook/sandbox",
        body=json.dumps({"chat_id": "tab-no-token", "text": "hi"}).encode(),
        headers={"Content-Type": "application/json"})
    assert status == 404, body
    assert http_request(bg.port, "GET", "/")[0] == 200

    # The page asks for the token, keeps it, and then works as without one.
    run_console_check(browser_tools, bg.port, screenshots_dir("with-token"), token=API_TOKEN)
