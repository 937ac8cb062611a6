#!/usr/bin/python3
"""A strict fake of the Feishu/Lark Open API, for botgate's integration tests.

It answers like the real platform (tests/../shared protocol notes, sections 2 and 6): the
tenant_access_token endpoint, the bot info endpoint and the two IM send endpoints (reply and
send), with the same status codes, error codes and quirks (token errors as HTTP 200 with a code,
`content` as a JSON-encoded string, `uuid` idempotency). It records what it delivered and
offers fault controls (token expiry, outage, rate limit, hanging sends, token failures).

In-process use (the tests):

    fake = FeishuFake(app_id="cli_test", app_secret="secret-123")
    fake.start()            # 127.0.0.1, port 0, its own thread and event loop
    ... fake.port, fake.base_url, fake.delivered(), fake.rate_limit(2, 1) ...
    fake.stop()

Standalone: python3 tests/fakes/feishu_fake.py --port 9999 --app-id X --app-secret Y
(the fault controls are then under /_fake/..., see _handle_control).

Only the standard library is used, and only an HTTP/1.1 subset: Content-Length or chunked
request bodies, keep-alive by default.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
BOT_INFO_PATH = "/open-apis/bot/v3/info"
SEND_PATH = "/open-apis/im/v1/messages"
REPLY_PREFIX = "/open-apis/im/v1/messages/"
REPLY_SUFFIX = "/reply"

# The platform hands out the same token while more than this many seconds remain.
TOKEN_REUSE_MIN_REMAINING = 30 * 60
# A uuid makes a send succeed at most once in this window.
UUID_WINDOW_SECONDS = 3600
# Documented maximum length of the `uuid` idempotency key.
UUID_MAX_LEN = 50
# Documented request body limits: text 150 KB, post and card 30 KB.
TEXT_MAX_BYTES = 150 * 1024
RICH_MAX_BYTES = 30 * 1024

MSG_TYPES = ("text", "post", "interactive")
RECEIVE_ID_TYPES = ("open_id", "union_id", "user_id", "email", "chat_id")

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 4 * 1024 * 1024

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _random_id(prefix: str, nbytes: int = 16) -> str:
    return prefix + secrets.token_hex(nbytes)


@dataclass
class Request:
    """One HTTP request as the fake saw it (every request is recorded, answered or not)."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    endpoint: str  # token | bot_info | reply | send | control | other
    t: float = 0.0  # time.monotonic() when fully read
    wall: float = 0.0  # time.time() when fully read
    status: Optional[int] = None  # None while unanswered (hanging)
    code: Optional[int] = None  # the business `code` answered, if any
    uuid: Optional[str] = None  # the send/reply body's uuid, when it parsed

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Delivery:
    """One message the fake accepted and "delivered" (a uuid repeat is not a delivery)."""

    endpoint: str  # "reply" | "send"
    message_id: str  # the new message's id (om_...)
    reply_to: Optional[str]  # reply endpoint: the message replied to
    chat_id: Optional[str]  # the conversation, when known
    receive_id: Optional[str]
    receive_id_type: Optional[str]
    msg_type: str
    content: Any  # `content` decoded from its JSON string
    raw_content: str
    uuid: Optional[str]
    reply_in_thread: bool
    token: str
    t: float  # time.monotonic()
    wall: float  # time.time()

    @property
    def text(self) -> Optional[str]:
        if self.msg_type == "text" and isinstance(self.content, dict):
            return self.content.get("text")
        return None


@dataclass
class _Token:
    value: str
    expires_at: float  # monotonic
    revoked: bool = False


@dataclass
class _Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


class _HttpError(Exception):
    pass


class FeishuFake:
    """The fake Open API. All public methods are safe to call from any thread."""

    def __init__(
        self,
        app_id: str = "cli_test",
        app_secret: str = "secret-123",
        bot_open_id: str = "ou_bot0000000000000000000000000000",
        bot_name: str = "botgate",
        expire: int = 7200,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.bot_open_id = bot_open_id
        self.bot_name = bot_name
        self.expire = expire
        self.host = host
        self.port = port

        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._current_token: Optional[str] = None
        self._token_fetches = 0  # successful token responses
        self._requests: list[Request] = []
        self._delivered: list[Delivery] = []
        self._uuid_results: dict[str, tuple[float, dict]] = {}
        self._uuid_repeats: list[str] = []
        self._message_chats: dict[str, str] = {}

        self._outage_until = 0.0
        self._rate_limit_left = 0
        self._rate_limit_reset = 1
        self._hang_sends = False
        self._hang_deliver = False
        self._fail_token_left = 0

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

    def start(self) -> "FeishuFake":
        """Starts serving in a background thread; returns once the port is bound."""
        self._thread = threading.Thread(target=self._thread_main, name="feishu-fake", daemon=True)
        self._thread.start()
        self._started.wait(10)
        if self._start_error is not None:
            raise self._start_error
        if not self._started.is_set():
            raise RuntimeError("feishu fake did not start")
        return self

    def stop(self) -> None:
        """Closes the listener and every connection (hanging ones too), and joins the thread."""
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

    def __enter__(self) -> "FeishuFake":
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
            print(f"feishu fake listening on {self.base_url} (app_id {self.app_id})", flush=True)
            async with self._server:
                await self._server.serve_forever()

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            pass

    # ------------------------------------------------------------------ fault controls

    def expire_all_tokens(self) -> None:
        """Every token issued so far becomes invalid (99991663); the next fetch gets a new one."""
        with self._lock:
            for tok in self._tokens.values():
                tok.revoked = True
            self._current_token = None

    def outage(self, seconds: float) -> None:
        """Every API path answers 503 with a non-JSON body for `seconds`."""
        with self._lock:
            self._outage_until = time.monotonic() + seconds

    def outage_end(self) -> float:
        """The monotonic time the current (or last) outage ends."""
        with self._lock:
            return self._outage_until

    def rate_limit(self, n: int, reset_seconds: int = 1) -> None:
        """The next `n` send/reply calls answer 429, code 99991400, x-ogw-ratelimit-reset."""
        with self._lock:
            self._rate_limit_left = n
            self._rate_limit_reset = reset_seconds

    def hang_sends(self, flag: bool, deliver: bool = False) -> None:
        """While set, send/reply requests are read (and recorded) but never answered.

        With `deliver`, a valid request is delivered before hanging: the platform did the work but
        the answer is lost. A request already hanging stays unanswered until its connection
        closes; clearing the flag only affects later requests.
        """
        with self._lock:
            self._hang_sends = flag
            self._hang_deliver = deliver

    def fail_token(self, n: int) -> None:
        """The next `n` token calls answer HTTP 500."""
        with self._lock:
            self._fail_token_left = n

    def register_message(self, message_id: str, chat_id: str) -> None:
        """Tells the fake which chat a message is in, so replies to it record that chat."""
        with self._lock:
            self._message_chats[message_id] = chat_id

    def reset(self) -> None:
        """Forgets records and faults (tokens stay valid)."""
        with self._lock:
            self._requests.clear()
            self._delivered.clear()
            self._uuid_results.clear()
            self._uuid_repeats.clear()
            self._token_fetches = 0
            self._outage_until = 0.0
            self._rate_limit_left = 0
            self._hang_sends = False
            self._fail_token_left = 0

    # ------------------------------------------------------------------ observations

    def delivered(self) -> list[Delivery]:
        with self._lock:
            return list(self._delivered)

    def requests(self, endpoint: Optional[str] = None) -> list[Request]:
        with self._lock:
            return [r for r in self._requests if endpoint is None or r.endpoint == endpoint]

    def count(self, endpoint: str) -> int:
        """Requests seen on `endpoint` (token, bot_info, reply, send, other), answered or not."""
        with self._lock:
            return sum(1 for r in self._requests if r.endpoint == endpoint)

    def send_requests(self) -> list[Request]:
        """Requests seen on either message endpoint (reply and send), in arrival order."""
        with self._lock:
            return [r for r in self._requests if r.endpoint in ("reply", "send")]

    def hanging(self) -> list[Request]:
        """Send/reply requests read but (still) unanswered."""
        with self._lock:
            return [
                r for r in self._requests if r.endpoint in ("reply", "send") and r.status is None
            ]

    @property
    def token_fetches(self) -> int:
        """Successful tenant_access_token responses."""
        with self._lock:
            return self._token_fetches

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def uuid_repeats(self) -> list[str]:
        """uuids that arrived again and were answered from the first result."""
        with self._lock:
            return list(self._uuid_repeats)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, interval=0.02) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if predicate():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)

    def wait_delivered(self, n: int, timeout: float = 10.0) -> list[Delivery]:
        """Waits until at least `n` messages were delivered; returns them (maybe fewer)."""
        self.wait_until(lambda: len(self.delivered()) >= n, timeout)
        return self.delivered()

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
                resp = await self._dispatch(req, reader)
                if resp is None:  # a hanging send: answered never, the client went away
                    break
                await self._write(writer, resp, keep_alive)
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
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
            if name in headers:
                headers[name] += ", " + value
            else:
                headers[name] = value
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
        if version == "HTTP/1.0":
            keep_alive = "keep-alive" in conn
        else:
            keep_alive = "close" not in conn
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        path = url.path
        req = Request(
            method=method,
            target=target,
            path=path,
            query=query,
            headers=headers,
            body=body,
            endpoint=self._classify(method, path),
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
        head.append(f"Content-Type: {resp.content_type}")
        head.append(f"Content-Length: {len(resp.body)}")
        head.append("Connection: " + ("keep-alive" if keep_alive else "close"))
        head.append("Date: " + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()))
        head.append("X-Tt-Logid: " + secrets.token_hex(12))
        for k, v in resp.headers.items():
            head.append(f"{k}: {v}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + resp.body)
        await writer.drain()

    @staticmethod
    def _classify(method: str, path: str) -> str:
        if path.startswith("/_fake/"):
            return "control"
        if path == TOKEN_PATH:
            return "token"
        if path == BOT_INFO_PATH:
            return "bot_info"
        if path == SEND_PATH:
            return "send"
        if path.startswith(REPLY_PREFIX) and path.endswith(REPLY_SUFFIX):
            mid = path[len(REPLY_PREFIX) : -len(REPLY_SUFFIX)]
            if mid and "/" not in mid:
                return "reply"
        return "other"

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self, req: Request, reader: asyncio.StreamReader) -> Optional[_Response]:
        if req.endpoint == "control":
            return self._handle_control(req)
        if req.endpoint in ("reply", "send"):
            req.uuid = _body_uuid(req.body)  # recorded even when the request is refused
        with self._lock:
            self._requests.append(req)
            in_outage = time.monotonic() < self._outage_until
        if in_outage:
            return self._finish(
                req,
                _Response(
                    503,
                    b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                    {},
                    "text/html",
                ),
            )
        if req.endpoint == "token":
            return self._finish(req, self._handle_token(req))
        if req.endpoint == "bot_info":
            return self._finish(req, self._handle_bot_info(req))
        if req.endpoint in ("reply", "send"):
            return await self._handle_message(req, reader)
        return self._finish(req, _json(404, {"code": 404, "msg": "404 page not found"}))

    def _finish(self, req: Request, resp: _Response) -> _Response:
        with self._lock:
            req.status = resp.status
            try:
                req.code = json.loads(resp.body).get("code")
            except (ValueError, AttributeError):
                req.code = None
        return resp

    def _handle_token(self, req: Request) -> _Response:
        if req.method != "POST":
            return _json(404, {"code": 404, "msg": "404 page not found"})
        with self._lock:
            if self._fail_token_left > 0:
                self._fail_token_left -= 1
                return _json(500, {"code": 1, "msg": "system busy"})
        try:
            body = json.loads(req.body)
        except ValueError:
            return _json(400, {"code": 9499, "msg": "Bad Request"})
        if not isinstance(body, dict):
            return _json(400, {"code": 9499, "msg": "Bad Request"})
        app_id = body.get("app_id")
        app_secret = body.get("app_secret")
        if not isinstance(app_id, str) or not isinstance(app_secret, str) or not app_id:
            return _json(200, {"code": 10003, "msg": "invalid param"})
        if app_id != self.app_id:
            return _json(200, {"code": 10003, "msg": "invalid param"})
        if app_secret != self.app_secret:
            return _json(200, {"code": 10014, "msg": "app secret invalid"})
        now = time.monotonic()
        with self._lock:
            cur = self._tokens.get(self._current_token or "")
            remaining_now = cur.expires_at - now if cur is not None and not cur.revoked else 0
            if cur is not None and remaining_now > TOKEN_REUSE_MIN_REMAINING:
                token, remaining = cur.value, int(cur.expires_at - now)
            else:
                # A new token; the previous one stays valid until its own expiry.
                token = "t-" + secrets.token_hex(20)
                self._tokens[token] = _Token(token, now + self.expire)
                self._current_token = token
                remaining = self.expire
            self._token_fetches += 1
        return _json(
            200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": remaining}
        )

    def _check_auth(self, req: Request) -> tuple[Optional[str], Optional[_Response]]:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
            return None, _json(
                400,
                {
                    "code": 99991661,
                    "msg": "Missing access token for authorization. "
                    "Please make a request with token attached.",
                },
            )
        token = auth[len("Bearer ") :].strip()
        with self._lock:
            tok = self._tokens.get(token)
            ok = tok is not None and not tok.revoked and time.monotonic() < tok.expires_at
        if not ok:
            return None, _json(
                400,
                {
                    "code": 99991663,
                    "msg": "Invalid access token for authorization. "
                    "Please make a request with token attached.",
                },
            )
        return token, None

    def _handle_bot_info(self, req: Request) -> _Response:
        if req.method != "GET":
            return _json(404, {"code": 404, "msg": "404 page not found"})
        _, err = self._check_auth(req)
        if err is not None:
            return err
        return _json(
            200,
            {
                "code": 0,
                "msg": "ok",
                "bot": {
                    "activate_status": 2,
                    "app_name": self.bot_name,
                    "avatar_url": "",
                    "ip_white_list": [],
                    "open_id": self.bot_open_id,
                },
            },
        )

    async def _handle_message(self, req: Request, reader: asyncio.StreamReader):
        if req.method != "POST":
            return self._finish(req, _json(404, {"code": 404, "msg": "404 page not found"}))
        with self._lock:
            limited = self._rate_limit_left > 0
            if limited:
                self._rate_limit_left -= 1
                reset = self._rate_limit_reset
        if limited:
            return self._finish(
                req,
                _json(
                    429,
                    {"code": 99991400, "msg": "request trigger frequency limit"},
                    {"x-ogw-ratelimit-limit": "50", "x-ogw-ratelimit-reset": str(reset)},
                ),
            )
        token, err = self._check_auth(req)
        if err is not None:
            return self._finish(req, err)
        parsed, err = self._validate_message(req)
        if err is not None:
            return self._finish(req, err)
        assert parsed is not None
        with self._lock:
            hang, hang_deliver = self._hang_sends, self._hang_deliver
        if hang:
            if hang_deliver:
                self._deliver(req, parsed, token or "")
            await _wait_for_eof(reader)
            return None
        return self._finish(req, self._deliver(req, parsed, token or ""))

    def _validate_message(self, req: Request) -> tuple[Optional[dict], Optional[_Response]]:
        ctype = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            return None, _invalid(230001, "invalid request: content-type must be application/json")
        try:
            body = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            return None, _invalid(9499, "Bad Request: body is not JSON")
        if not isinstance(body, dict):
            return None, _invalid(9499, "Bad Request: body is not a JSON object")
        out: dict[str, Any] = {}
        if req.endpoint == "send":
            rtype = req.query.get("receive_id_type")
            if not rtype:
                return None, _invalid(99992402, "field validation failed: receive_id_type required")
            if rtype not in RECEIVE_ID_TYPES:
                return None, _invalid(99992402, f"field validation failed: receive_id_type {rtype}")
            rid = body.get("receive_id")
            if not isinstance(rid, str) or not rid:
                return None, _invalid(99992402, "field validation failed: receive_id required")
            out["receive_id_type"] = rtype
            out["receive_id"] = rid
        else:
            mid = req.path[len(REPLY_PREFIX) : -len(REPLY_SUFFIX)]
            if not mid.startswith("om_"):
                return None, _invalid(230001, "invalid message_id")
            out["reply_to"] = mid
            rit = body.get("reply_in_thread", False)
            if not isinstance(rit, bool):
                return None, _invalid(99992402, "field validation failed: reply_in_thread")
            out["reply_in_thread"] = rit
        msg_type = body.get("msg_type")
        if not isinstance(msg_type, str) or not msg_type:
            return None, _invalid(99992402, "field validation failed: msg_type required")
        if msg_type not in MSG_TYPES:
            return None, _invalid(230001, f"invalid msg_type {msg_type}")
        raw = body.get("content")
        if raw is None:
            return None, _invalid(99992402, "field validation failed: content required")
        if not isinstance(raw, str):
            # The classic mistake: content must be a JSON-encoded string, not an object.
            return None, _invalid(230001, "invalid message content: content must be a string")
        limit = TEXT_MAX_BYTES if msg_type == "text" else RICH_MAX_BYTES
        if len(req.body) > limit:
            return None, _invalid(230025, "message content exceeds the length limit")
        try:
            content = json.loads(raw)
        except ValueError:
            return None, _invalid(230001, "invalid message content: not JSON")
        if not isinstance(content, dict):
            return None, _invalid(230001, "invalid message content: not a JSON object")
        if msg_type == "text":
            text = content.get("text")
            if not isinstance(text, str) or not text.strip():
                return None, _invalid(230001, "invalid message content: text")
        elif msg_type == "post":
            if not _valid_post(content):
                return None, _invalid(230001, "invalid message content: post")
        elif not content:
            return None, _invalid(230099, "Failed to create card content")
        uid = body.get("uuid")
        if uid is not None:
            if not isinstance(uid, str) or len(uid) > UUID_MAX_LEN:
                return None, _invalid(99992402, "field validation failed: uuid (at most 50 chars)")
        out.update(msg_type=msg_type, raw_content=raw, content=content, uuid=uid or None)
        return out, None

    def _deliver(self, req: Request, p: dict, token: str) -> _Response:
        now, wall = time.monotonic(), time.time()
        with self._lock:
            uid = p.get("uuid")
            if uid:
                prev = self._uuid_results.get(uid)
                if prev is not None and now - prev[0] < UUID_WINDOW_SECONDS:
                    self._uuid_repeats.append(uid)
                    return _json(200, prev[1])
            if req.endpoint == "send":
                chat_id = p["receive_id"] if p["receive_id_type"] == "chat_id" else None
            else:
                chat_id = self._message_chats.get(p["reply_to"])
            message_id = _random_id("om_")
            if chat_id:
                self._message_chats[message_id] = chat_id
            d = Delivery(
                endpoint=req.endpoint,
                message_id=message_id,
                reply_to=p.get("reply_to"),
                chat_id=chat_id,
                receive_id=p.get("receive_id"),
                receive_id_type=p.get("receive_id_type"),
                msg_type=p["msg_type"],
                content=p["content"],
                raw_content=p["raw_content"],
                uuid=uid,
                reply_in_thread=p.get("reply_in_thread", False),
                token=token,
                t=now,
                wall=wall,
            )
            self._delivered.append(d)
            ms = str(int(wall * 1000))
            result = {
                "code": 0,
                "msg": "success",
                "data": {
                    "message_id": message_id,
                    "root_id": p.get("reply_to") or "",
                    "parent_id": p.get("reply_to") or "",
                    "msg_type": p["msg_type"],
                    "create_time": ms,
                    "update_time": ms,
                    "deleted": False,
                    "updated": False,
                    "chat_id": chat_id or "",
                    "sender": {
                        "id": self.app_id,
                        "id_type": "app_id",
                        "sender_type": "app",
                        "tenant_key": "2ca1d211f64f6438",
                    },
                    "body": {"content": p["raw_content"]},
                },
            }
            if uid:
                self._uuid_results[uid] = (now, result)
        return _json(200, result)

    # ------------------------------------------------------------------ control API

    def _handle_control(self, req: Request) -> _Response:
        """HTTP form of the fault controls, for standalone runs.

        POST /_fake/expire_all_tokens
        POST /_fake/outage            {"seconds": 3}
        POST /_fake/rate_limit        {"n": 2, "reset_seconds": 1}
        POST /_fake/hang_sends        {"flag": true, "deliver": false}
        POST /_fake/fail_token        {"n": 1}
        POST /_fake/reset
        GET  /_fake/delivered         the deliveries as JSON
        GET  /_fake/stats             request counts per endpoint, token fetches
        """
        name = req.path[len("/_fake/") :]
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
                    stats = {
                        "requests": counts,
                        "token_fetches": self._token_fetches,
                        "delivered": len(self._delivered),
                        "uuid_repeats": len(self._uuid_repeats),
                    }
                return _json(200, stats)
            if req.method != "POST":
                return _json(405, {"error": "method not allowed"})
            if name == "expire_all_tokens":
                self.expire_all_tokens()
            elif name == "outage":
                self.outage(float(args["seconds"]))
            elif name == "rate_limit":
                self.rate_limit(int(args["n"]), int(args.get("reset_seconds", 1)))
            elif name == "hang_sends":
                self.hang_sends(bool(args["flag"]), bool(args.get("deliver", False)))
            elif name == "fail_token":
                self.fail_token(int(args["n"]))
            elif name == "reset":
                self.reset()
            else:
                return _json(404, {"error": f"unknown control {name}"})
        except (KeyError, TypeError, ValueError) as e:
            return _json(400, {"error": f"bad arguments: {e}"})
        return _json(200, {"ok": True})


# ---------------------------------------------------------------------- helpers


def _json(status: int, obj: Any, headers: Optional[dict[str, str]] = None) -> _Response:
    return _Response(status, json.dumps(obj).encode(), headers or {})


def _invalid(code: int, msg: str) -> _Response:
    return _json(400, {"code": code, "msg": msg, "error": {"message": msg}})


def _valid_post(content: dict) -> bool:
    # Either {"zh_cn": {"title", "content"}} (locale-wrapped) or {"title", "content"}.
    bodies = [content] if "content" in content else list(content.values())
    if not bodies:
        return False
    for b in bodies:
        if not isinstance(b, dict) or not isinstance(b.get("content"), list):
            return False
        for para in b["content"]:
            if not isinstance(para, list):
                return False
            for el in para:
                if not isinstance(el, dict) or not isinstance(el.get("tag"), str):
                    return False
    return True


def _body_uuid(body: bytes) -> Optional[str]:
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    uid = obj.get("uuid") if isinstance(obj, dict) else None
    return uid if isinstance(uid, str) and uid else None


async def _wait_for_eof(reader: asyncio.StreamReader) -> None:
    """Holds a hanging request until the client goes away (or the fake stops)."""
    try:
        while await reader.read(4096):
            pass
    except (ConnectionError, asyncio.IncompleteReadError):
        pass


def _delivery_json(d: Delivery) -> dict:
    return {
        "endpoint": d.endpoint,
        "message_id": d.message_id,
        "reply_to": d.reply_to,
        "chat_id": d.chat_id,
        "receive_id": d.receive_id,
        "receive_id_type": d.receive_id_type,
        "msg_type": d.msg_type,
        "content": d.content,
        "uuid": d.uuid,
        "reply_in_thread": d.reply_in_thread,
        "time": d.wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="fake Feishu/Lark Open API")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--app-id", default="cli_test")
    ap.add_argument("--app-secret", default="secret-123")
    ap.add_argument("--bot-open-id", default="ou_bot0000000000000000000000000000")
    ap.add_argument("--expire", type=int, default=7200, help="token lifetime in seconds")
    a = ap.parse_args()
    FeishuFake(
        app_id=a.app_id,
        app_secret=a.app_secret,
        bot_open_id=a.bot_open_id,
        expire=a.expire,
        host=a.host,
        port=a.port,
    ).serve_forever()


if __name__ == "__main__":
    main()
