"""The web console and the JSON API behind it: the browser tests run botgate with a Feishu bot
(against the fake Open API) and echo on, driven by tests/browser/console_check.mjs (playwright-core
and the system Chromium). The script takes the API token from the console URL botgate logs (or
types it into the page's form), sends a sandbox chat message and waits for the echo reply, watches
a streamed reply (opened and grown through the API) grow in the chat, checks the bot cards, the
message log and its search, and the layout at desktop and phone widths; it saves screenshots in
<build dir>/console-screenshots.

The rest is the API's access control without a browser: a token botgate makes when none is
configured (kept in the store across restarts), the bearer token on every /api route, the Host
check, JSON-only bodies, no CORS, [api] listen on its own port, and /readyz without details.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from botgate_harness import (API_TOKEN, REPO, FeishuCallbacks, binary_path, botgate_config,
                             feishu_bot, free_port, http_request, wait_until)

SCRIPT = REPO / "tests" / "browser" / "console_check.mjs"
PLAYWRIGHT = REPO / "tests" / "browser" / "node_modules" / "playwright-core"
CHROMIUM = Path("/usr/bin/chromium")
SCRIPT_TIMEOUT = 120  # seconds; the script itself gives each step 10 s


def config(fake, *, api_token=None, api=None):
    """botgate with the Feishu bot; `api_token` None configures no token (botgate makes one)."""
    def make(port, db):
        return botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)],
                              api_token=api_token, api=api)
    return make


MADE_URL = re.compile(r"^http://127\.0\.0\.1:(\d+)/#token=([0-9a-f]{64})$")


def made_token(bg) -> str:
    """The token in the one console URL botgate logged (checked: one line, the right form)."""
    urls = bg.console_urls()
    assert len(urls) == bg.starts, urls
    match = MADE_URL.match(urls[-1])
    assert match, urls[-1]
    return match.group(2)


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


def run_console_check(node: str, url: str, shots: Path, token: str | None = None) -> dict:
    cmd = [node, str(SCRIPT), "--url", url, "--screenshots", str(shots),
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
    bg = launch(config(fake))  # no [api] token: botgate makes one and logs the console URL
    token = made_token(bg)
    assert bg.log_text().count(token) == 1, "the token is in the console URL line only"
    bg.api_token = token

    # The page and its assets are served with a CSP that allows only this origin.
    status, headers, body = http_request(bg.port, "GET", "/")
    assert status == 200, body[:200]
    assert headers.get("content-type", "").startswith("text/html")
    assert "default-src 'self'" in headers.get("content-security-policy", "")
    for asset in ("console.js", "console.css", "favicon.svg"):
        status, _, body = http_request(bg.port, "GET", f"/assets/{asset}")
        assert status == 200 and body, f"/assets/{asset}: {status}"

    result = run_console_check(browser_tools, bg.console_urls()[-1], screenshots_dir())
    assert result["token_from"] == "url"
    assert result["api_calls"]["answered"] > 0 and result["api_calls"]["refused"] == 0
    assert result["bots"] == {"feishu": "ready", "sandbox": "ready"}
    assert result["log"]["reply_outcome"] == "sent"
    assert result["phone"]["scrollWidth"] <= result["phone"]["innerWidth"]

    # What the page showed came from the runtime: the message and its echo are in the log.
    chat = result["chat_id"]
    status, body = bg.api_get(f"/api/v1/log?bot=sandbox&chat={chat}")
    assert status == 200, body
    entries = json.loads(body)["entries"]
    texts = {(e["direction"], e["text"], e["outcome"]) for e in entries}
    assert ("in", result["chat"]["message"], "received") in texts, entries
    assert ("out", result["chat"]["reply"], "sent") in texts, entries
    # The streamed reply the page watched grow is one message, sent with its final text.
    stream = result["stream"]
    assert stream["final_label"] == "sent", stream
    assert ("out", stream["steps"][-1], "sent") in texts, entries
    status, body = bg.api_get(f"/api/v1/messages/{stream['id']}")
    assert status == 200 and json.loads(body)["stream"] == "finished", body


def test_console_with_api_token(fake, launch, browser_tools):
    bg = launch(config(fake, api_token=API_TOKEN))
    # A configured token is not logged: the URL names the page only.
    assert bg.console_urls() == [f"http://127.0.0.1:{bg.port}/"], bg.console_urls()
    assert API_TOKEN not in bg.log_text()

    # The API needs the bearer token; the page itself is public.
    for path in ("/api/v1/status", "/api/v1/log"):
        status, headers, body = http_request(bg.port, "GET", path)
        assert status == 401, (path, body)
        assert json.loads(body)["error"] == "unauthorized"
        assert headers.get("www-authenticate") == "Bearer"
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

    # The page asks for the token, keeps it, and sends it on every call.
    result = run_console_check(browser_tools, f"http://127.0.0.1:{bg.port}/",
                               screenshots_dir("with-token"), token=API_TOKEN)
    assert result["token_from"] == "form"
    assert result["api_calls"]["refused"] >= 1, "the page asked because the API refused it"


# ---------------------------------------------------------------------- access without a browser


def test_a_made_token_is_required_and_survives_a_restart(fake, launch):
    bg = launch(config(fake))
    token = made_token(bg)
    status, _, body = http_request(bg.port, "GET", "/api/v1/status")
    assert status == 401, body
    status, _, body = http_request(bg.port, "GET", "/api/v1/status",
                                   headers={"Authorization": f"Bearer {token[:-1]}"})
    assert status == 401, body
    bg.api_token = token
    assert bg.api_get("/api/v1/status")[0] == 200
    assert bg.api_get("/api/v1/log")[0] == 200
    lines = [line for line in bg.log_text().splitlines() if token in line]
    assert len(lines) == 1 and "console: http://127.0.0.1:" in lines[0], lines

    bg.stop()
    bg.restart()
    # The same store: the same token, the old URL still works, and it is logged again (one line
    # per start, for an operator who lost the first one).
    assert made_token(bg) == token
    assert bg.api_get("/api/v1/status")[0] == 200
    assert bg.log_text().count(token) == 2


def test_another_host_is_refused(fake, launch):
    bg = launch(config(fake, api_token=API_TOKEN))
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    for path in ("/api/v1/status", "/api/v1/log", "/", "/assets/console.js"):
        for host in (f"rebound.example:{bg.port}", "rebound.example", f"127.0.0.1:{bg.port + 1}"):
            status, _, body = http_request(bg.port, "GET", path, headers={**auth, "Host": host})
            assert status == 421, (path, host, status, body)
            if path.startswith("/api"):
                assert json.loads(body)["error"] == "misdirected_request"
        for host in (f"127.0.0.1:{bg.port}", f"localhost:{bg.port}", f"[::1]:{bg.port}"):
            status, _, body = http_request(bg.port, "GET", path, headers={**auth, "Host": host})
            assert status == 200, (path, host, status, body)
    # Webhooks and health checks answer whatever name the platform or the prober used.
    status, _, _ = http_request(bg.port, "GET", "/healthz", headers={"Host": "bot.example.com"})
    assert status == 200
    status, _, _ = http_request(bg.port, "GET", "/readyz", headers={"Host": "bot.example.com"})
    assert status == 200


def test_allowed_hosts_add_a_proxy_name(fake, launch):
    bg = launch(config(fake, api_token=API_TOKEN, api={"allowed_hosts": ["bot.example.com"]}))
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    assert http_request(bg.port, "GET", "/api/v1/status",
                        headers={**auth, "Host": "bot.example.com"})[0] == 200
    assert http_request(bg.port, "GET", "/api/v1/status",
                        headers={**auth, "Host": "other.example.com"})[0] == 421


def test_only_json_bodies_and_no_cors(fake, launch):
    bg = launch(config(fake, api_token=API_TOKEN))
    payload = json.dumps({"chat_id": "tab-cross-site", "text": "from a form"}).encode()
    for ctype in ("text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                  None):
        headers = {"Content-Type": ctype} if ctype else {"Content-Type": ""}
        status, _, body = bg.api_request("POST", "/api/v1/sandbox/messages", payload,
                                         headers=headers)
        assert status == 415, (ctype, status, body)
        assert json.loads(body)["error"] == "unsupported_media_type"
    status, body = bg.api_get("/api/v1/log?chat=tab-cross-site")
    assert status == 200 and json.loads(body)["entries"] == [], "a refused body reached the bot"
    status, _, body = bg.api_request("POST", "/api/v1/sandbox/messages", payload)
    assert status == 202, body

    # A CORS preflight gets no Access-Control-* answer, nor does any other request.
    origin = {"Origin": "https://attacker.example"}
    answers = [
        http_request(bg.port, "OPTIONS", "/api/v1/sandbox/messages", headers={
            **origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type"}),
        http_request(bg.port, "GET", "/api/v1/status", headers=origin),
        bg.api_request("GET", "/api/v1/status", headers=origin),
        http_request(bg.port, "GET", "/", headers=origin),
    ]
    assert answers[0][0] != 200 and answers[0][0] < 500, answers[0]
    for status, headers, _ in answers:
        assert not [h for h in headers if h.startswith("access-control-")], (status, headers)


def test_readyz_without_the_token_says_only_ready_or_not(fake, launch):
    bg = launch(config(fake, api_token=API_TOKEN))
    status, body = bg.get("/readyz")
    assert status == 200 and json.loads(body) == {"ready": True}, body
    status, _, body = http_request(bg.port, "GET", "/readyz",
                                   headers={"Authorization": "Bearer wrong"})
    assert json.loads(body) == {"ready": True}, body
    status, body = bg.api_get("/readyz")
    details = json.loads(body)
    assert status == 200 and details["ready"] is True
    assert {b["name"] for b in details["bots"]} == {"feishu", "sandbox"}


def test_not_ready_without_the_token_hides_the_reason(fake, launch):
    bot = feishu_bot(fake, app_secret="wrong-secret")
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=[bot]),
                wait_ready=False)
    status, body = bg.get("/readyz")
    assert status == 503 and json.loads(body) == {"ready": False}, body
    status, body = bg.api_get("/readyz")
    assert status == 503
    feishu = [b for b in json.loads(body)["bots"] if b["name"] == "feishu"][0]
    assert feishu["ready"] is False


def test_api_listen_serves_the_console_and_api_apart_from_the_webhooks(fake, launch):
    api_port = free_port()
    bg = launch(config(fake, api={"listen": f"127.0.0.1:{api_port}"}))  # and a made token
    urls = bg.console_urls()
    assert len(urls) == 1 and urls[0].startswith(f"http://127.0.0.1:{api_port}/#token="), urls
    bg.api_token = made_token(bg)

    # The public port: webhooks and health checks only.
    for path in ("/api/v1/status", "/api/v1/log", "/", "/assets/console.js"):
        status, _, body = bg.api_request("GET", path)
        assert status == 404, (path, status, body)
    assert bg.api_request("POST", "/api/v1/sandbox/messages", b"{}")[0] == 404
    assert bg.get("/healthz")[0] == 200 and bg.get("/readyz")[0] == 200
    ev, status = FeishuCallbacks(bg, fake).send_text("through the public port")
    assert status == 200
    wait_until(lambda: len(fake.delivered()) >= 1, 10)
    assert [d.text for d in fake.delivered()] == ["Hello, through the public port"]

    # The API port: the console and the API, behind the token; no webhooks.
    assert http_request(api_port, "GET", "/")[0] == 200
    assert http_request(api_port, "GET", "/api/v1/status")[0] == 401
    status, body = bg.api_get("/api/v1/status", port=api_port)
    assert status == 200 and {b["name"] for b in json.loads(body)["bots"]} == {"feishu", "sandbox"}
    status, body = bg.api_get("/api/v1/log?q=through%20the%20public%20port", port=api_port)
    assert status == 200 and json.loads(body)["entries"], body
    assert http_request(api_port, "GET", "/api/v1/status", headers={
        "Authorization": f"Bearer {bg.api_token}", "Host": f"127.0.0.1:{bg.port}"})[0] == 421
    status, _, _ = bg.api_request("POST", "/webhook/feishu", b"{}", port=api_port)
    assert status == 404
