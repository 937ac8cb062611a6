#!/usr/bin/python3
"""A strict fake of the WeCom (企业微信) server API, for botgate's integration tests.

It answers like the real platform (protocol notes wecom.md sections 2, 4 and 7): the group-bot
webhook (`/cgi-bin/webhook/send?key=`), the self-built app's `gettoken` and `message/send`, and
the AI bot's single-use `response_url` (`/cgi-bin/aibot/response?response_code=`). Like WeCom it
answers HTTP 200 with an `errcode` for every API error, and checks what the notes document:
content limits in UTF-8 bytes (text 2048, markdown 4096), the image md5 and size, 20 webhook
messages per key in any 60 s (45009), tokens (40014 invalid, 42001 expired), the app's agentid,
a response_code used at most once. It records every request and every delivery, and offers fault
controls (token expiry, outage, injected errcodes, removed webhook keys).

In-process use (the tests):

    fake = WecomFake(corp_id="ww...", corp_secret="...", agent_id=1000002).start()
    url = fake.webhook_url("key-1")        # registers the key
    ... fake.delivered(key="key-1"), fake.expire_all_tokens(), fake.outage(3) ...
    fake.stop()

Standalone: python3 tests/fakes/wecom_fake.py --port 9999 --webhook-key K
(the fault controls are then under /_fake/..., see _handle_control).

Error codes not given by the notes are marked [uncertain] where they are defined below.
Only the standard library is used, and only an HTTP/1.1 subset: Content-Length or chunked
request bodies, keep-alive by default.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import collections
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

WEBHOOK_PATH = "/cgi-bin/webhook/send"
GETTOKEN_PATH = "/cgi-bin/gettoken"
MESSAGE_PATH = "/cgi-bin/message/send"
AIBOT_PATH = "/cgi-bin/aibot/response"

# Limits from the notes (2.1, 2.3, 4.2, 7.1), in UTF-8 bytes.
TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 4096
APP_MARKDOWN_MAX_BYTES = 2048  # [uncertain] the notes give 2048 for the app side
AIBOT_MARKDOWN_MAX_BYTES = 20480
IMAGE_MAX_BYTES = 2 * 1024 * 1024
NEWS_MAX_ARTICLES = 8
WEBHOOK_RATE_LIMIT = 20  # messages per key ...
WEBHOOK_RATE_WINDOW = 60.0  # ... in any window of this many seconds
RESPONSE_CODE_TTL = 3600.0

# errcodes (notes 2.3 and 4.1; the ones marked [uncertain] are not given by the notes).
E_OK = 0
E_BUSY = -1
E_INVALID_CREDENTIAL = 40001  # wrong corpsecret
E_INVALID_MSGTYPE = 40008
E_INVALID_IMAGE_SIZE = 40009
E_INVALID_MEDIA_TYPE = 40004
E_INVALID_CORPID = 40013
E_INVALID_TOKEN = 40014
E_INVALID_AGENTID = 40056  # [uncertain]
E_INVALID_PARAMETER = 40058
E_ACCESS_TOKEN_MISSING = 41001  # [uncertain]
E_CORPID_MISSING = 41002  # [uncertain]
E_CORPSECRET_MISSING = 41004  # [uncertain]
E_AGENTID_MISSING = 41011  # [uncertain]
E_TOKEN_EXPIRED = 42001
E_EMPTY_CONTENT = 44004
E_CONTENT_TOO_LARGE = 45002
E_FREQ_LIMIT = 45009
E_DATA_FORMAT = 47001  # [uncertain] body is not JSON / not UTF-8
E_ALL_RECIPIENTS_INVALID = 81013
E_INVALID_WEBHOOK = 93000
# [uncertain] the notes give no code for a bad/used/expired response_code; an invalid-parameter
# code (not retryable) is used.
E_BAD_RESPONSE_CODE = E_INVALID_PARAMETER

WEBHOOK_MSGTYPES = ("text", "markdown", "markdown_v2", "image", "news")
APP_MSGTYPES = ("text", "markdown")
AIBOT_MSGTYPES = ("markdown", "template_card")

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 8 * 1024 * 1024

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}

_ERRMSG = {
    E_BUSY: "system busy",
    E_INVALID_CREDENTIAL: "invalid credential",
    E_INVALID_MSGTYPE: "invalid message type",
    E_INVALID_IMAGE_SIZE: "invalid image size",
    E_INVALID_MEDIA_TYPE: "invalid media type",
    E_INVALID_CORPID: "invalid corpid",
    E_INVALID_TOKEN: "invalid access_token",
    E_INVALID_AGENTID: "invalid agentid",
    E_INVALID_PARAMETER: "invalid Request Parameter",
    E_ACCESS_TOKEN_MISSING: "access_token missing",
    E_CORPID_MISSING: "corpid missing",
    E_CORPSECRET_MISSING: "corpsecret missing",
    E_AGENTID_MISSING: "agentid missing",
    E_TOKEN_EXPIRED: "access_token expired",
    E_EMPTY_CONTENT: "empty content",
    E_CONTENT_TOO_LARGE: "content size out of limit",
    E_FREQ_LIMIT: "api freq out of limit",
    E_DATA_FORMAT: "data format error",
    E_ALL_RECIPIENTS_INVALID: "user & party & tag all invalid",
    E_INVALID_WEBHOOK: "invalid webhook url",
}


@dataclass
class Request:
    """One HTTP request as the fake saw it (every request is recorded)."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    endpoint: str  # webhook | gettoken | message | aibot | control | other
    t: float = 0.0  # time.monotonic() when fully read
    wall: float = 0.0
    status: Optional[int] = None
    errcode: Optional[int] = None  # the errcode answered, if any

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Delivery:
    """One message the fake accepted."""

    endpoint: str  # "webhook" | "message" | "aibot"
    msgtype: str
    body: dict  # the request body as parsed
    content: Optional[str]  # text/markdown content; None for other types
    mentioned_list: list[str]
    key: Optional[str] = None  # webhook
    touser: Optional[str] = None  # message/send
    agentid: Optional[int] = None
    token: Optional[str] = None
    response_code: Optional[str] = None  # aibot
    t: float = 0.0
    wall: float = 0.0

    def mentions(self, user_id: str) -> bool:
        """Whether the message @-mentions `user_id` (mentioned_list, or inline <@userid>)."""
        return user_id in self.mentioned_list or (
            self.content is not None and f"<@{user_id}>" in self.content
        )


@dataclass
class _Token:
    value: str
    expires_at: float  # monotonic
    revoked: bool = False


@dataclass
class _ResponseCode:
    code: str
    expires_at: float
    used: bool = False


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=UTF-8"


class _HttpError(Exception):
    pass


class _Invalid(Exception):
    """A business error: answered as HTTP 200 with this errcode."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        super().__init__(detail)
        self.errcode = errcode
        self.detail = detail


class WecomFake:
    """The fake WeCom API. All public methods are safe to call from any thread."""

    def __init__(
        self,
        corp_id: str = "ww5823bf96d3bd56c7",
        corp_secret: str = "app-secret-123",
        agent_id: int = 1000002,
        webhook_keys: tuple[str, ...] = (),
        expires_in: int = 7200,
        webhook_rate_limit: int = WEBHOOK_RATE_LIMIT,
        webhook_rate_window: float = WEBHOOK_RATE_WINDOW,
        app_users: Optional[set[str]] = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        self.agent_id = agent_id
        self.expires_in = expires_in
        self.webhook_rate_limit = webhook_rate_limit
        self.webhook_rate_window = webhook_rate_window
        self.app_users = app_users  # None: every userid exists
        self.host = host
        self.port = port

        self._lock = threading.Lock()
        self._keys: set[str] = set(webhook_keys)
        self._sent_at: dict[str, collections.deque[float]] = {}
        self._tokens: dict[str, _Token] = {}
        self._current_token: Optional[str] = None
        self._token_fetches = 0
        self._response_codes: dict[str, _ResponseCode] = {}
        self._requests: list[Request] = []
        self._delivered: list[Delivery] = []
        self._outage_until = 0.0
        self._inject: dict[str, list[int]] = {}  # endpoint -> errcodes to answer next

        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server: Optional[asyncio.base_events.Server] = None
        self._thread: Optional[threading.Thread] = None
        self._conn_tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._started = threading.Event()
        self._start_error: Optional[BaseException] = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "WecomFake":
        """Starts serving in a background thread; returns once the port is bound."""
        self._thread = threading.Thread(target=self._thread_main, name="wecom-fake", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._start_error is not None:
            raise self._start_error
        if not self._started.is_set():
            raise RuntimeError("wecom fake did not start")
        return self

    def stop(self) -> None:
        """Closes the listener and every connection, and joins the thread."""
        loop = self._loop
        if loop is None or self._thread is None:
            return
        if loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                fut.result(10)
            except Exception:  # noqa: BLE001 - best effort on teardown
                pass
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> "WecomFake":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._on_connection, self.host, self.port)
            )
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as e:  # noqa: BLE001 - reported to start()
            self._start_error = e
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in list(self._writers):
            w.close()
        for t in list(self._conn_tasks):
            t.cancel()
        if self._conn_tasks:
            await asyncio.wait(list(self._conn_tasks), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()

    def serve_forever(self) -> None:
        """Standalone mode: serves on the calling thread until interrupted."""

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._server = await asyncio.start_server(self._on_connection, self.host, self.port)
            self.port = self._server.sockets[0].getsockname()[1]
            print(f"wecom fake listening on {self.base_url} (corp_id {self.corp_id}, "
                  f"agent_id {self.agent_id})", flush=True)
            async with self._server:
                await self._server.serve_forever()

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            pass

    # ------------------------------------------------------------------ set-up

    def add_webhook_key(self, key: Optional[str] = None) -> str:
        """Registers a group bot's webhook key (a random UUID-like one by default)."""
        if key is None:
            h = secrets.token_hex(16)
            key = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        with self._lock:
            self._keys.add(key)
        return key

    def remove_webhook_key(self, key: str) -> None:
        """The bot was removed from its group: the key answers 93000 from now on."""
        with self._lock:
            self._keys.discard(key)

    def webhook_url(self, key: Optional[str] = None) -> str:
        """The webhook send URL of `key` (registered if new)."""
        key = self.add_webhook_key(key)
        return f"{self.base_url}{WEBHOOK_PATH}?key={key}"

    def new_response_code(self) -> str:
        """A fresh AI-bot response_code: usable once, for an hour."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._response_codes[code] = _ResponseCode(code, time.monotonic() + RESPONSE_CODE_TTL)
        return code

    def aibot_response_url(self, code: Optional[str] = None) -> str:
        code = code if code is not None else self.new_response_code()
        return f"{self.base_url}{AIBOT_PATH}?response_code={code}"

    # ------------------------------------------------------------------ fault controls

    def expire_all_tokens(self) -> None:
        """Every access_token issued so far answers 42001; the next gettoken issues a new one."""
        with self._lock:
            for tok in self._tokens.values():
                tok.revoked = True
            self._current_token = None

    def outage(self, seconds: float) -> None:
        """Every API path answers HTTP 503 with a non-JSON body for `seconds`."""
        with self._lock:
            self._outage_until = time.monotonic() + seconds

    def outage_end(self) -> float:
        with self._lock:
            return self._outage_until

    def fail_next(self, endpoint: str, n: int = 1, errcode: int = E_BUSY) -> None:
        """The next `n` requests on `endpoint` (webhook, gettoken, message, aibot) answer
        HTTP 200 with `errcode` instead of being handled (e.g. -1 system busy, 45009)."""
        if endpoint not in ("webhook", "gettoken", "message", "aibot"):
            raise ValueError(f"unknown endpoint {endpoint}")
        with self._lock:
            self._inject.setdefault(endpoint, []).extend([errcode] * n)

    def reset(self) -> None:
        """Forgets records, rate windows and faults (keys, tokens and codes stay)."""
        with self._lock:
            self._requests.clear()
            self._delivered.clear()
            self._sent_at.clear()
            self._token_fetches = 0
            self._outage_until = 0.0
            self._inject.clear()

    # ------------------------------------------------------------------ observations

    def delivered(self, endpoint: Optional[str] = None,
                  key: Optional[str] = None) -> list[Delivery]:
        with self._lock:
            return [
                d for d in self._delivered
                if (endpoint is None or d.endpoint == endpoint) and (key is None or d.key == key)
            ]

    def requests(self, endpoint: Optional[str] = None) -> list[Request]:
        with self._lock:
            return [r for r in self._requests if endpoint is None or r.endpoint == endpoint]

    def count(self, endpoint: str) -> int:
        """Requests seen on `endpoint` (webhook, gettoken, message, aibot, other)."""
        with self._lock:
            return sum(1 for r in self._requests if r.endpoint == endpoint)

    def errcodes(self, endpoint: Optional[str] = None) -> list[Optional[int]]:
        """The errcode answered to each request on `endpoint`, in order (None: not JSON)."""
        with self._lock:
            return [r.errcode for r in self._requests
                    if (endpoint is None or r.endpoint == endpoint) and r.endpoint != "control"]

    @property
    def token_fetches(self) -> int:
        """Successful gettoken responses."""
        with self._lock:
            return self._token_fetches

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def webhook_keys(self) -> list[str]:
        with self._lock:
            return sorted(self._keys)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, interval=0.02) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def wait_delivered(self, n: int, timeout: float = 10.0, **filters: Any) -> list[Delivery]:
        """Waits until at least `n` deliveries (matching `filters`, see delivered()) exist."""
        self.wait_until(lambda: len(self.delivered(**filters)) >= n, timeout)
        return self.delivered(**filters)

    # ------------------------------------------------------------------ HTTP plumbing

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        if task is not None:
            self._conn_tasks.add(task)
        self._writers.add(writer)
        try:
            while True:
                try:
                    req, keep_alive = await self._read_request(reader)
                except _HttpError as e:
                    await self._write(writer, _Response(400, str(e).encode(), {}, "text/plain"),
                                      keep_alive=False)
                    break
                if req is None:
                    break
                resp = self._dispatch(req)
                await self._write(writer, resp, keep_alive)
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._conn_tasks.discard(task)
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    async def _read_request(self, reader: asyncio.StreamReader):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if e.partial.strip():
                raise _HttpError("truncated request head") from e
            return None, False
        except asyncio.LimitOverrunError as e:
            raise _HttpError("request head too large") from e
        if len(head) > MAX_HEADER_BYTES:
            raise _HttpError("request head too large")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _HttpError("bad request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            if ":" not in line or line[0] in " \t":
                raise _HttpError("bad header line")
            name, value = line.split(":", 1)
            name = name.strip().lower()
            value = value.strip()
            headers[name] = headers[name] + ", " + value if name in headers else value
        body = b""
        te = headers.get("transfer-encoding", "").lower()
        if te:
            if te != "chunked":
                raise _HttpError("unsupported transfer-encoding")
            body = await self._read_chunked(reader)
        elif "content-length" in headers:
            try:
                n = int(headers["content-length"])
            except ValueError as e:
                raise _HttpError("bad content-length") from e
            if n < 0 or n > MAX_BODY_BYTES:
                raise _HttpError("bad content-length")
            body = await reader.readexactly(n)
        conn = headers.get("connection", "").lower()
        keep_alive = "keep-alive" in conn if version == "HTTP/1.0" else "close" not in conn
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        req = Request(
            method=method,
            target=target,
            path=url.path,
            query=query,
            headers=headers,
            body=body,
            endpoint=self._classify(url.path),
            t=time.monotonic(),
            wall=time.time(),
        )
        return req, keep_alive

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        out = bytearray()
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as e:
                raise _HttpError("bad chunk size") from e
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return bytes(out)
            out += await reader.readexactly(size)
            if len(out) > MAX_BODY_BYTES:
                raise _HttpError("body too large")
            if await reader.readexactly(2) != b"\r\n":
                raise _HttpError("bad chunk")

    async def _write(self, writer: asyncio.StreamWriter, resp: _Response, keep_alive: bool):
        reason = _REASONS.get(resp.status, "Status")
        head = [f"HTTP/1.1 {resp.status} {reason}"]
        head.append("Server: nginx")
        head.append(f"Content-Type: {resp.content_type}")
        head.append(f"Content-Length: {len(resp.body)}")
        head.append("Connection: " + ("keep-alive" if keep_alive else "close"))
        head.append("Date: " + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()))
        code = _errcode_of(resp)
        if code is not None:
            head.append(f"Error-Code: {code}")
        for k, v in resp.headers.items():
            head.append(f"{k}: {v}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + resp.body)
        await writer.drain()

    @staticmethod
    def _classify(path: str) -> str:
        if path.startswith("/_fake/"):
            return "control"
        return {
            WEBHOOK_PATH: "webhook",
            GETTOKEN_PATH: "gettoken",
            MESSAGE_PATH: "message",
            AIBOT_PATH: "aibot",
        }.get(path, "other")

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, req: Request) -> _Response:
        if req.endpoint == "control":
            return self._handle_control(req)
        with self._lock:
            self._requests.append(req)
            in_outage = req.t < self._outage_until
            injected = None
            queue = self._inject.get(req.endpoint)
            if queue and not in_outage:
                injected = queue.pop(0)
        if in_outage:
            return self._finish(req, _Response(
                503, b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                {}, "text/html"))
        if injected is not None:
            return self._finish(req, _error(injected))
        handler = {
            "webhook": self._handle_webhook,
            "gettoken": self._handle_gettoken,
            "message": self._handle_message,
            "aibot": self._handle_aibot,
        }.get(req.endpoint)
        if handler is None:
            return self._finish(req, _Response(404, b"<html><body>404 Not Found</body></html>",
                                               {}, "text/html"))
        try:
            return self._finish(req, handler(req))
        except _Invalid as e:
            return self._finish(req, _error(e.errcode, e.detail))

    def _finish(self, req: Request, resp: _Response) -> _Response:
        with self._lock:
            req.status = resp.status
            req.errcode = _errcode_of(resp)
        return resp

    # ------------------------------------------------------------------ group-bot webhook

    def _handle_webhook(self, req: Request) -> _Response:
        if req.method != "POST":
            raise _Invalid(E_INVALID_PARAMETER, "POST only")
        key = req.query.get("key", "")
        with self._lock:
            known = key in self._keys
        if not known:
            raise _Invalid(E_INVALID_WEBHOOK)
        body = _json_body(req)
        msgtype, content, mentioned = _validate_webhook_body(body)
        # The window counts accepted messages only: WeCom refuses the 21st in any 60 s.
        with self._lock:
            window = self._sent_at.setdefault(key, collections.deque())
            while window and req.t - window[0] >= self.webhook_rate_window:
                window.popleft()
            if len(window) >= self.webhook_rate_limit:
                raise _Invalid(E_FREQ_LIMIT)
            window.append(req.t)
            self._delivered.append(Delivery(
                endpoint="webhook", msgtype=msgtype, body=body, content=content,
                mentioned_list=mentioned, key=key, t=req.t, wall=req.wall))
        return _ok()

    # ------------------------------------------------------------------ self-built app

    def _handle_gettoken(self, req: Request) -> _Response:
        if req.method != "GET":
            raise _Invalid(E_INVALID_PARAMETER, "GET only")
        corpid = req.query.get("corpid")
        secret = req.query.get("corpsecret")
        if not corpid:
            raise _Invalid(E_CORPID_MISSING)
        if not secret:
            raise _Invalid(E_CORPSECRET_MISSING)
        if corpid != self.corp_id:
            raise _Invalid(E_INVALID_CORPID)
        if secret != self.corp_secret:
            raise _Invalid(E_INVALID_CREDENTIAL)
        now = req.t
        with self._lock:
            cur = self._tokens.get(self._current_token or "")
            if cur is not None and not cur.revoked and now < cur.expires_at:
                token, remaining = cur.value, int(cur.expires_at - now)
            else:
                token = secrets.token_urlsafe(48)  # WeCom tokens are long; reserve >= 512
                self._tokens[token] = _Token(token, now + self.expires_in)
                self._current_token = token
                remaining = self.expires_in
            self._token_fetches += 1
        return _json(200, {"errcode": 0, "errmsg": "ok", "access_token": token,
                           "expires_in": remaining})

    def _check_token(self, req: Request) -> str:
        token = req.query.get("access_token", "")
        if not token:
            raise _Invalid(E_ACCESS_TOKEN_MISSING)
        with self._lock:
            tok = self._tokens.get(token)
            if tok is None:
                raise _Invalid(E_INVALID_TOKEN)
            if tok.revoked or req.t >= tok.expires_at:
                raise _Invalid(E_TOKEN_EXPIRED)
        return token

    def _handle_message(self, req: Request) -> _Response:
        if req.method != "POST":
            raise _Invalid(E_INVALID_PARAMETER, "POST only")
        token = self._check_token(req)
        body = _json_body(req)
        if "agentid" not in body:
            raise _Invalid(E_AGENTID_MISSING)
        agentid = body["agentid"]
        if not isinstance(agentid, int) or isinstance(agentid, bool) or agentid != self.agent_id:
            raise _Invalid(E_INVALID_AGENTID)
        targets = {k: body.get(k, "") for k in ("touser", "toparty", "totag")}
        for k, v in targets.items():
            if not isinstance(v, str):
                raise _Invalid(E_INVALID_PARAMETER, f"{k} must be a string")
        if not any(targets.values()):
            raise _Invalid(E_ALL_RECIPIENTS_INVALID)
        msgtype = body.get("msgtype")
        if msgtype not in APP_MSGTYPES:
            raise _Invalid(E_INVALID_MSGTYPE)
        limit = TEXT_MAX_BYTES if msgtype == "text" else APP_MARKDOWN_MAX_BYTES
        content = _content(body, msgtype, limit)
        users = [u for u in targets["touser"].split("|") if u]
        invalid = []
        if self.app_users is not None and targets["touser"] != "@all":
            invalid = [u for u in users if u not in self.app_users]
            if len(invalid) == len(users) and not targets["toparty"] and not targets["totag"]:
                raise _Invalid(E_ALL_RECIPIENTS_INVALID)
        with self._lock:
            self._delivered.append(Delivery(
                endpoint="message", msgtype=msgtype, body=body, content=content,
                mentioned_list=[], touser=targets["touser"], agentid=agentid, token=token,
                t=req.t, wall=req.wall))
        return _json(200, {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid),
                           "invalidparty": "", "invalidtag": "", "unlicenseduser": "",
                           "msgid": secrets.token_urlsafe(32),
                           "response_code": secrets.token_urlsafe(24)})

    # ------------------------------------------------------------------ AI bot

    def _handle_aibot(self, req: Request) -> _Response:
        if req.method != "POST":
            raise _Invalid(E_INVALID_PARAMETER, "POST only")
        code = req.query.get("response_code", "")
        with self._lock:
            rc = self._response_codes.get(code)
            if rc is None:
                raise _Invalid(E_BAD_RESPONSE_CODE, "invalid response_code")
            if rc.used:
                raise _Invalid(E_BAD_RESPONSE_CODE, "response_code already used")
            if req.t >= rc.expires_at:
                raise _Invalid(E_BAD_RESPONSE_CODE, "response_code expired")
        body = _json_body(req)
        msgtype = body.get("msgtype")
        if msgtype not in AIBOT_MSGTYPES:
            raise _Invalid(E_INVALID_MSGTYPE)
        content = None
        if msgtype == "markdown":
            content = _content(body, "markdown", AIBOT_MARKDOWN_MAX_BYTES)
        elif not isinstance(body.get("template_card"), dict) or not body["template_card"]:
            raise _Invalid(E_INVALID_PARAMETER, "template_card")
        with self._lock:
            if rc.used:  # raced with another request on the same code
                raise _Invalid(E_BAD_RESPONSE_CODE, "response_code already used")
            rc.used = True
            self._delivered.append(Delivery(
                endpoint="aibot", msgtype=msgtype, body=body, content=content, mentioned_list=[],
                response_code=code, t=req.t, wall=req.wall))
        return _ok()

    # ------------------------------------------------------------------ control API

    def _handle_control(self, req: Request) -> _Response:
        """HTTP form of the fault controls, for standalone runs.

        POST /_fake/expire_all_tokens
        POST /_fake/outage            {"seconds": 3}
        POST /_fake/fail_next         {"endpoint": "webhook", "n": 1, "errcode": -1}
        POST /_fake/add_webhook_key   {"key": "..."} (optional) -> {"key", "url"}
        POST /_fake/remove_webhook_key {"key": "..."}
        POST /_fake/new_response_code -> {"response_code", "url"}
        POST /_fake/reset
        GET  /_fake/delivered         the deliveries as JSON
        GET  /_fake/stats             request counts per endpoint, token fetches
        """
        name = req.path[len("/_fake/"):]
        try:
            args = json.loads(req.body) if req.body else {}
        except ValueError:
            return _json(400, {"error": "body is not JSON"})
        if not isinstance(args, dict):
            return _json(400, {"error": "body is not a JSON object"})
        try:
            if req.method == "GET" and name == "delivered":
                return _json(200, {"delivered": [_delivery_json(d) for d in self.delivered()]})
            if req.method == "GET" and name == "stats":
                with self._lock:
                    counts: dict[str, int] = {}
                    for r in self._requests:
                        counts[r.endpoint] = counts.get(r.endpoint, 0) + 1
                    stats = {"requests": counts, "token_fetches": self._token_fetches,
                             "delivered": len(self._delivered)}
                return _json(200, stats)
            if req.method != "POST":
                return _json(405, {"error": "method not allowed"})
            if name == "expire_all_tokens":
                self.expire_all_tokens()
            elif name == "outage":
                self.outage(float(args["seconds"]))
            elif name == "fail_next":
                self.fail_next(str(args["endpoint"]), int(args.get("n", 1)),
                               int(args.get("errcode", E_BUSY)))
            elif name == "add_webhook_key":
                key = self.add_webhook_key(args.get("key"))
                return _json(200, {"key": key, "url": self.webhook_url(key)})
            elif name == "remove_webhook_key":
                self.remove_webhook_key(str(args["key"]))
            elif name == "new_response_code":
                code = self.new_response_code()
                return _json(200, {"response_code": code, "url": self.aibot_response_url(code)})
            elif name == "reset":
                self.reset()
            else:
                return _json(404, {"error": f"unknown control {name}"})
        except (KeyError, TypeError, ValueError) as e:
            return _json(400, {"error": f"bad arguments: {e}"})
        return _json(200, {"ok": True})


# ---------------------------------------------------------------------- validation


def _json_body(req: Request) -> dict:
    try:
        text = req.body.decode("utf-8")  # strict: broken UTF-8 is refused
        body = json.loads(text)
    except (UnicodeDecodeError, ValueError) as e:
        raise _Invalid(E_DATA_FORMAT, f"body: {e}") from e
    if not isinstance(body, dict):
        raise _Invalid(E_DATA_FORMAT, "body is not a JSON object")
    return body


def _utf8_len(s: str) -> int:
    try:
        return len(s.encode("utf-8"))
    except UnicodeEncodeError as e:  # a lone surrogate from a \udxxx escape
        raise _Invalid(E_DATA_FORMAT, "content is not valid Unicode") from e


def _content(body: dict, msgtype: str, limit: int) -> str:
    """`body[msgtype].content`, checked: a non-empty string of at most `limit` UTF-8 bytes."""
    inner = body.get(msgtype)
    if not isinstance(inner, dict):
        raise _Invalid(E_INVALID_PARAMETER, f"{msgtype} must be an object")
    content = inner.get("content")
    if content is None or (isinstance(content, str) and not content.strip()):
        raise _Invalid(E_EMPTY_CONTENT)
    if not isinstance(content, str):
        raise _Invalid(E_INVALID_PARAMETER, "content must be a string")
    if _utf8_len(content) > limit:
        raise _Invalid(E_CONTENT_TOO_LARGE, f"{_utf8_len(content)} bytes > {limit}")
    return content


def _string_list(inner: dict, name: str) -> list[str]:
    v = inner.get(name, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _Invalid(E_INVALID_PARAMETER, f"{name} must be a list of strings")
    return v


def _validate_webhook_body(body: dict) -> tuple[str, Optional[str], list[str]]:
    msgtype = body.get("msgtype")
    if msgtype not in WEBHOOK_MSGTYPES:
        raise _Invalid(E_INVALID_MSGTYPE)
    if msgtype == "text":
        content = _content(body, "text", TEXT_MAX_BYTES)
        mentioned = _string_list(body["text"], "mentioned_list")
        _string_list(body["text"], "mentioned_mobile_list")
        return msgtype, content, mentioned
    if msgtype in ("markdown", "markdown_v2"):
        return msgtype, _content(body, msgtype, MARKDOWN_MAX_BYTES), []
    if msgtype == "image":
        image = body.get("image")
        if not isinstance(image, dict):
            raise _Invalid(E_INVALID_PARAMETER, "image must be an object")
        b64, md5 = image.get("base64"), image.get("md5")
        if not isinstance(b64, str) or not isinstance(md5, str) or not b64:
            raise _Invalid(E_INVALID_PARAMETER, "image.base64 and image.md5 required")
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error as e:
            raise _Invalid(E_INVALID_PARAMETER, "image.base64 is not base64") from e
        if len(raw) > IMAGE_MAX_BYTES:
            raise _Invalid(E_INVALID_IMAGE_SIZE)
        if hashlib.md5(raw).hexdigest() != md5.lower():
            raise _Invalid(E_INVALID_PARAMETER, "image.md5 does not match")
        if not (raw.startswith(b"\x89PNG\r\n\x1a\n") or raw.startswith(b"\xff\xd8\xff")):
            raise _Invalid(E_INVALID_MEDIA_TYPE)
        return msgtype, None, []
    # news
    news = body.get("news")
    articles = news.get("articles") if isinstance(news, dict) else None
    if not isinstance(articles, list) or not 1 <= len(articles) <= NEWS_MAX_ARTICLES:
        raise _Invalid(E_INVALID_PARAMETER, "news.articles: 1 to 8 articles")
    for a in articles:
        if not isinstance(a, dict) or not isinstance(a.get("title"), str) or not a["title"] \
                or not isinstance(a.get("url"), str) or not a["url"]:
            raise _Invalid(E_INVALID_PARAMETER, "an article needs a title and a url")
    return msgtype, None, []


# ---------------------------------------------------------------------- helpers


def _json(status: int, obj: Any, headers: Optional[dict[str, str]] = None) -> _Response:
    return _Response(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), headers or {})


def _ok() -> _Response:
    return _json(200, {"errcode": 0, "errmsg": "ok"})


def _error(errcode: int, detail: str = "") -> _Response:
    # Like WeCom: HTTP 200, a hint and a link in errmsg (clients must match on errcode).
    msg = _ERRMSG.get(errcode, "error")
    if detail:
        msg += f" ({detail})"
    hint = f"{int(time.time())}_{secrets.token_hex(6)}"
    msg += (f", hint: [{hint}], from ip: 127.0.0.1, more info at "
            f"https://open.work.weixin.qq.com/devtool/query?e={errcode}")
    return _json(200, {"errcode": errcode, "errmsg": msg})


def _errcode_of(resp: _Response) -> Optional[int]:
    try:
        obj = json.loads(resp.body)
    except ValueError:
        return None
    v = obj.get("errcode") if isinstance(obj, dict) else None
    return v if isinstance(v, int) else None


def _delivery_json(d: Delivery) -> dict:
    return {
        "endpoint": d.endpoint,
        "msgtype": d.msgtype,
        "content": d.content,
        "mentioned_list": d.mentioned_list,
        "key": d.key,
        "touser": d.touser,
        "agentid": d.agentid,
        "response_code": d.response_code,
        "body": d.body,
        "time": d.wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="fake WeCom API")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--corp-id", default="ww5823bf96d3bd56c7")
    ap.add_argument("--corp-secret", default="app-secret-123")
    ap.add_argument("--agent-id", type=int, default=1000002)
    ap.add_argument("--webhook-key", action="append", default=[], help="a valid webhook key")
    ap.add_argument("--expires-in", type=int, default=7200, help="token lifetime in seconds")
    a = ap.parse_args()
    WecomFake(
        corp_id=a.corp_id,
        corp_secret=a.corp_secret,
        agent_id=a.agent_id,
        webhook_keys=tuple(a.webhook_key),
        expires_in=a.expires_in,
        host=a.host,
        port=a.port,
    ).serve_forever()


if __name__ == "__main__":
    main()
