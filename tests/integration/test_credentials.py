"""Platform credentials stay inside botgate (issue 18, item 9): a WeCom group callback's
WebhookUrl carries a key that lets anyone post into the group. It must not reach the forward
service, the console's API, the log or (once the reply is sent) the database file; the reply
still goes to it, also after a kill -9 between the accept and the send."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from pathlib import Path

import wecom_crypto  # noqa: F401 - WecomCallbacks needs it importable
from botgate_harness import WecomCallbacks, botgate_config, http_request, wecom_bot, wait_until
from forward_service import FORWARD_SECRET

API_TOKEN = "api-token-for-the-credentials-test"
# Distinctive, so that any copy of it anywhere is found.
GROUP_KEY = "c0ffee11-KEY-4b1d-9e57-SECRETGROUPKEY"


class ForwardService:
    """The user's service behind [forward]: records every body botgate posts and answers with a
    reply; while `hold` is set it keeps the request waiting (botgate's handler with it)."""

    def __init__(self) -> None:
        outer = self
        self.bodies: list[bytes] = []
        self.hold = threading.Event()
        self.release = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.bodies.append(body)
                if outer.hold.is_set():
                    outer.release.wait(30)
                text = json.loads(body)["message"]["text"]
                data = json.dumps({"reply": "fwd " + text}).encode()
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

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def launch_group_bot(launch, fake, service):
    bots = [wecom_bot(fake)]

    def make(port, db):
        return (botgate_config(port=port, db_path=db, bots=bots, log_level="debug")
                + f'\n[api]\ntoken = "{API_TOKEN}"\n'
                + f'\n[forward]\nurl = "{service.url}"\nsecret = "{FORWARD_SECRET}"\ntimeout_ms = 30000\n')
    return launch(make)


def api_get(bg, path):
    status, _, body = http_request(bg.port, "GET", path,
                                   headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert status == 200, (path, status, body)
    return body


def assert_nowhere(needles, where: dict[str, bytes]):
    for name, data in where.items():
        for needle in needles:
            assert needle.encode() not in data, f"the webhook key is in {name}"


def database_files(bg) -> dict[str, bytes]:
    files = {}
    for path in sorted(Path(bg.workdir).glob("botgate.db*")):
        files[path.name] = path.read_bytes()
    assert "botgate.db" in files
    return files


def forms_of(key: str) -> list[str]:
    return [key, urllib.parse.quote(key, safe=""), key.split("-SECRET")[1]]


def reply_delivered(fake, key, text, timeout=15.0):
    assert wait_until(lambda: any(d.content and text in d.content
                                  for d in fake.delivered(key=key)), timeout), (
        "the reply did not arrive; requests: "
        + repr([(r.endpoint, r.status, r.errcode) for r in fake.requests()]))


def test_the_webhook_key_reaches_no_service_api_log_or_database(wecom_fake, launch):
    key = wecom_fake.add_webhook_key(GROUP_KEY)
    service = ForwardService()
    try:
        bg = launch_group_bot(launch, wecom_fake, service)
        cb = WecomCallbacks(bg, "wecom")
        _, status = cb.group_message("@RobotA hello", webhook_url=wecom_fake.webhook_url(key),
                                     user_id="zhangsan")
        assert status == 200
        reply_delivered(wecom_fake, key, "fwd hello")
        assert len(wecom_fake.delivered(key=key)) == 1

        # The forward service got the event and its id (the reference to answer by), no key.
        assert len(service.bodies) == 1
        event = json.loads(service.bodies[0])
        assert event["id"] and event["platform"] == "wecom"
        served = {
            "the forward POST": service.bodies[0],
            "/api/v1/log": api_get(bg, "/api/v1/log"),
            "/api/v1/status": api_get(bg, "/api/v1/status"),
        }
        time.sleep(0.2)  # the sent record is written within a few ms of the send
        bg.stop()
        served["the log"] = bg.log_path.read_bytes()
        served.update(database_files(bg))
        assert_nowhere(forms_of(key), served)
    finally:
        service.close()


def test_a_reply_survives_kill9_before_the_send_and_its_key_is_then_dropped(wecom_fake, launch):
    key = wecom_fake.add_webhook_key(GROUP_KEY)
    service = ForwardService()
    try:
        bg = launch_group_bot(launch, wecom_fake, service)
        cb = WecomCallbacks(bg, "wecom")
        url = wecom_fake.webhook_url(key)

        # 1. Killed while the handler waits for the service: the event is in the inbox only.
        service.hold.set()
        _, status = cb.group_message("@RobotA first", webhook_url=url, user_id="zhangsan")
        assert status == 200
        assert wait_until(lambda: len(service.bodies) == 1, 10)
        bg.kill9()
        service.hold.clear()
        service.release.set()
        bg.restart()
        reply_delivered(wecom_fake, key, "fwd first")

        # 2. Killed while the platform is down: the reply waits in the outbox.
        wecom_fake.outage(60)
        _, status = cb.group_message("@RobotA second", webhook_url=url, user_id="zhangsan")
        assert status == 200
        assert wait_until(lambda: len(service.bodies) == 3, 10)
        assert wait_until(lambda: wecom_fake.count("webhook") >= 2, 10), "a send was tried"
        bg.kill9()
        wecom_fake.outage(0)
        bg.restart()
        reply_delivered(wecom_fake, key, "fwd second")

        texts = sorted(d.content for d in wecom_fake.delivered(key=key))
        assert [t for t in texts if "fwd" in t] == texts and len(texts) == 2, texts
        time.sleep(0.2)
        bg.stop()
        where = {f"forward POST {i}": b for i, b in enumerate(service.bodies)}
        where.update(database_files(bg))
        where["the log"] = bg.log_path.read_bytes()
        assert_nowhere(forms_of(key), where)
    finally:
        service.close()
