"""The user's service behind [forward], as a careful one is written: it refuses a POST whose
X-Botgate-Signature does not verify (HMAC-SHA256 over "<t>.<body>" with the shared secret, t
within 5 minutes) with 401, and otherwise answers what the test's `answer` function returns.

Written from DESIGN.md's contract with Python's hmac module, not from botgate's code.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

#: The [forward] secret the integration tests configure.
FORWARD_SECRET = "forward-secret-for-tests-5b1f0c2e"
#: How far a signature's timestamp may be from now.
SKEW = 300


def sign(secret: str, t: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), str(t).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signature_ok(secret: str, header: Optional[str], body: bytes, now: float) -> bool:
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - t) > SKEW:
        return False
    return hmac.compare_digest(sign(secret, t, body), header)


@dataclass
class Post:
    event: dict
    headers: dict
    at: float = field(default_factory=time.monotonic)


class ForwardService:
    """`answer(event, post_number)` returns (status, payload dict or None, delay seconds); the
    default answers {"reply": "fwd <text>"}. Every POST that verified is in `posts`; refused ones
    are counted in `refused`."""

    def __init__(self, answer: Optional[Callable[[dict, int], tuple]] = None,
                 secret: str = FORWARD_SECRET) -> None:
        outer = self
        self.secret = secret
        self.answer = answer or (lambda ev, n: (200, {"reply": "fwd " + ev["message"]["text"]}, 0))
        self.posts: list[Post] = []
        self.refused = 0
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if not signature_ok(outer.secret, self.headers.get("X-Botgate-Signature"), body,
                                    time.time()):
                    with outer.lock:
                        outer.refused += 1
                    self._send(401, {"error": "bad signature"})
                    return
                event = json.loads(body)
                with outer.lock:
                    outer.posts.append(Post(event, {k.lower(): v for k, v in self.headers.items()}))
                    n = len(outer.posts)
                status, payload, delay = outer.answer(event, n)
                if delay:
                    time.sleep(delay)
                self._send(status, payload)

            def _send(self, status: int, payload: Any) -> None:
                data = b"" if payload is None else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # botgate went away meanwhile

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/bot"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def config(self, **kw: Any) -> str:
        """A [forward] table for this service."""
        lines = ["", "[forward]", f'url = "{self.url}"', f'secret = "{self.secret}"']
        lines += [f"{k} = {json.dumps(v)}" for k, v in kw.items()]
        return "\n".join(lines) + "\n"

    def texts(self) -> list[str]:
        with self.lock:
            return [p.event["message"]["text"] for p in self.posts]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
