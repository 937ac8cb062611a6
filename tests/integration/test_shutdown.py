"""SIGTERM during a burst of callbacks, against the real botgate binary and the fake Feishu API.

While botgate drains (the handler in hand finishes), every callback that arrives, on a new
connection or on one the platform keeps alive, gets 503 with `Connection: close`, so that the
platform delivers it again: never a hang, never a half answer. botgate exits 0, and after a
restart (and the platform's redeliveries) every message has been replied to exactly once.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botgate_harness import FeishuCallbacks, botgate_config, feishu_bot, wait_until
from forward_service import FORWARD_SECRET

SLOW = 2.0  # how long the forward service takes to answer the message "slow"


class ForwardService:
    """The user's service behind [forward]: answers {"reply": "fwd <text>"}, slowly for "slow"."""

    def __init__(self) -> None:
        self.slow_started = threading.Event()
        self.slow_answered = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                text = json.loads(body)["message"]["text"]
                if text == "slow":
                    service.slow_started.set()
                    time.sleep(SLOW)
                answer = json.dumps({"reply": "fwd " + text}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                if text == "slow":
                    service.slow_answered.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/bot"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Sender(threading.Thread):
    """Posts signed message callbacks on a kept-alive connection, one after another, as the
    platform's pool would; opens a new connection after a close. Records each outcome."""

    def __init__(self, cb: FeishuCallbacks, port: int, stop: threading.Event) -> None:
        super().__init__()
        self.cb = cb
        self.port = port
        self.stop_flag = stop
        # (event, status or None, error text, "reused" or "new" connection, seconds taken,
        #  the Connection header)
        self.outcomes: list[tuple[dict, object, str, str, float, str]] = []

    def run(self) -> None:
        import feishu_crypto
        conn = None
        served_on_conn = 0
        refused_in_a_row = 0
        while not self.stop_flag.is_set() and refused_in_a_row < 3:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                served_on_conn = 0
            ev = self.cb.message("burst")
            body = feishu_crypto.wrap(ev, self.cb.encrypt_key)
            headers = feishu_crypto.signed_headers(body, self.cb.encrypt_key)
            headers["Content-Type"] = "application/json"
            kind = "reused" if served_on_conn else "new"
            t0 = time.monotonic()
            try:
                conn.request("POST", self.cb.path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                took = time.monotonic() - t0
                connection = (resp.getheader("Connection") or "").lower()
                self.outcomes.append((ev, resp.status, "", kind, took, connection))
                served_on_conn += 1
                refused_in_a_row = 0
                if connection == "close":
                    conn.close()
                    conn = None
            except ConnectionRefusedError as e:
                self.outcomes.append((ev, None, repr(e), kind, time.monotonic() - t0, ""))
                refused_in_a_row += 1
                conn.close()
                conn = None
                time.sleep(0.05)
            except (OSError, http.client.HTTPException) as e:
                self.outcomes.append((ev, None, repr(e), kind, time.monotonic() - t0, ""))
                conn.close()
                conn = None
            time.sleep(0.01)
        if conn is not None:
            conn.close()


def test_sigterm_during_a_burst(fake, launch):
    service = ForwardService()
    try:
        def config(port, db):
            return (botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)],
                                   log_level="info")
                    + f'\n[forward]\nurl = "{service.url}"\nsecret = "{FORWARD_SECRET}"\ntimeout_ms = 10000\n')

        bg = launch(config)
        cb = FeishuCallbacks(bg, fake)
        # The inbox worker is busy with this one (the forward service takes SLOW seconds) when
        # the signal comes: the work in hand that botgate waits for.
        slow_event, status = cb.send_text("slow")
        assert status == 200
        assert service.slow_started.wait(10)

        stop = threading.Event()
        senders = [Sender(cb, bg.port, stop) for _ in range(4)]
        for s in senders:
            s.start()
        time.sleep(0.3)
        signalled = time.monotonic()
        bg.proc.send_signal(15)
        try:
            code = bg.proc.wait(15)
        finally:
            stop.set()
            for s in senders:
                s.join(10)
        exited = time.monotonic()
        assert code == 0, bg.log_text()
        assert service.slow_answered.is_set(), "the handler in hand did not finish"
        assert exited - signalled >= SLOW - 0.5, "exited before the work in hand was done"

        outcomes = [o for s in senders for o in s.outcomes]
        statuses = {o[1] for o in outcomes}
        assert statuses <= {200, 503, None}, statuses
        # No hang: every exchange ended at once (a refused connection after the exit is fine).
        slowest = max(o[4] for o in outcomes)
        assert slowest < 3.0, f"a callback waited {slowest:.2f}s"
        errors = [o[2] for o in outcomes if o[1] is None]
        assert all("ConnectionRefusedError" in e or "RemoteDisconnected" in e
                   or "ConnectionResetError" in e or "BrokenPipe" in e for e in errors), errors
        refused = [o for o in outcomes if o[1] == 503]
        assert refused, "no callback arrived while botgate drained"
        assert all(o[5] == "close" for o in refused), "a 503 without Connection: close"
        assert "new" in {o[3] for o in refused}, "the senders reconnect after each close"
        # A kept-alive connection ends with an answer that says so: a 503 when it was idle at the
        # signal, or, when its request was in hand then, that request's 200 (it was accepted).
        closed_kept = {o[1] for o in outcomes if o[3] == "reused" and o[5] == "close"}
        assert closed_kept and closed_kept <= {200, 503}, (
            f"kept-alive connections ended with {closed_kept}, not an answer with close")

        # Restart, and deliver again (as the platform does) what was not acknowledged.
        bg.restart()
        accepted = [o[0] for o in outcomes if o[1] == 200]
        redelivered = [o[0] for o in outcomes if o[1] != 200]
        for ev in redelivered:
            assert cb.post_payload(ev)[0] == 200
        expected = {ev["event"]["message"]["message_id"] for ev in accepted + redelivered}
        expected.add(slow_event["event"]["message"]["message_id"])

        def replied() -> dict[str, int]:
            counts: dict[str, int] = {}
            for d in fake.delivered():
                counts[d.reply_to] = counts.get(d.reply_to, 0) + 1
            return counts

        assert wait_until(lambda: expected <= set(replied()), 60), (
            f"{len(expected - set(replied()))} of {len(expected)} messages never answered")
        time.sleep(1.0)  # nothing more arrives
        counts = replied()
        twice = {m: n for m, n in counts.items() if n > 1}
        assert not twice, f"answered more than once: {twice}"
        assert set(counts) == expected, "a reply to a message that was never sent"
        slow_reply = [d for d in fake.delivered()
                      if d.reply_to == slow_event["event"]["message"]["message_id"]]
        assert slow_reply[0].text == "fwd slow"
        bg.stop()
    finally:
        service.stop()
