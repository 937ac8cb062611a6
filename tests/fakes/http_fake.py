"""The machinery the fake platforms share (feishu_fake.py, wecom_fake.py): a small asyncio
HTTP/1.1 server run in its own thread, the request record, access-token bookkeeping, an outage
switch and the /_fake/ control API.

A fake subclasses HttpFake and keeps only its platform's rules: how paths map to endpoints
(`_classify`), how an endpoint answers (`_route`), what an answer records (`_record_answer`), and
its own fault controls (`_controls`). Only the standard library is used, and only an HTTP/1.1
subset: Content-Length or chunked request bodies, keep-alive by default.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

MAX_HEADER_BYTES = 64 * 1024
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
CONTROL_PREFIX = "/_fake/"
# What a load balancer in front of a platform answers while the platform is down: not JSON.
OUTAGE_BODY = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"

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


@dataclass
class Request:
    """One HTTP request as a fake saw it (every request is recorded, answered or not).

    A fake subclasses it to add what it notes about the answer (a business code, ...).
    """

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    endpoint: str  # the fake's name for the path; "control" for /_fake/..., "other" if unknown
    t: float = 0.0  # time.monotonic() when fully read
    wall: float = 0.0  # time.time() when fully read
    status: Optional[int] = None  # None while unanswered (hanging)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON_CONTENT_TYPE


@dataclass
class Token:
    """An access token a fake issued."""

    value: str
    expires_at: float  # monotonic
    revoked: bool = False
    owner: str = ""  # the credential it was issued for (a fake that knows several apps)


class HttpError(Exception):
    """A request the HTTP layer cannot parse: answered 400 and the connection closed."""


def json_response(
    status: int,
    obj: Any,
    headers: Optional[dict[str, str]] = None,
    *,
    ensure_ascii: bool = True,
    content_type: str = JSON_CONTENT_TYPE,
) -> Response:
    body = json.dumps(obj, ensure_ascii=ensure_ascii).encode("utf-8")
    return Response(status, body, headers or {}, content_type)


def standalone_parser(description: str) -> argparse.ArgumentParser:
    """The command line of a fake run standalone: --host, --port, then the fake's own options.

    Every option's dest must be a parameter of the fake's constructor; an option not given is
    left out of the namespace, so the constructor's default applies.
    """
    ap = argparse.ArgumentParser(description=description, argument_default=argparse.SUPPRESS)
    ap.add_argument("--host")
    ap.add_argument("--port", type=int)
    return ap


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Polls `predicate` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


async def wait_for_eof(reader: asyncio.StreamReader) -> None:
    """Holds a hanging request until the client goes away (or the fake stops)."""
    try:
        while await reader.read(4096):
            pass
    except (ConnectionError, asyncio.IncompleteReadError):
        pass


class HttpFake:
    """The server and the bookkeeping of a fake platform. All public methods are safe to call
    from any thread; the handlers run on the fake's own event loop."""

    #: "feishu", "wecom": names the thread and the standalone banner.
    platform = "http"
    #: The request record type (a Request subclass with the platform's extra fields).
    request_type: type[Request] = Request
    #: Builds a JSON answer in the platform's style (encoding, content type).
    make_json: Callable[..., Response] = staticmethod(json_response)
    #: A `Server` header to send, if the platform sends one.
    server_header: Optional[str] = None
    max_body_bytes = 4 * 1024 * 1024
    #: The delivery fields GET /_fake/delivered shows, in order (then "time": the wall clock).
    delivery_fields: tuple[str, ...] = ()

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port

        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._delivered: list[Any] = []
        self._tokens: dict[str, Token] = {}
        self._current_token: dict[str, str] = {}  # owner -> the token its fetches get now
        self._token_fetches = 0  # successful token responses
        self._outage_until = 0.0
        self._delays: dict[str, float] = {}  # endpoint -> seconds before it is answered

        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._server: Optional[asyncio.base_events.Server] = None
        self._thread: Optional[threading.Thread] = None
        self._conn_tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._started = threading.Event()
        self._start_error: Optional[BaseException] = None

    # ------------------------------------------------------------------ what a fake defines

    def _classify(self, path: str) -> str:
        """The endpoint name of a (non-control) path; "other" when the platform has none."""
        return "other"

    def _on_record(self, req: Request) -> None:
        """Notes what the record needs from a request before it is recorded (even if refused)."""

    async def _route(self, req: Request, reader: asyncio.StreamReader) -> Optional[Response]:
        """Answers a recorded request (outside an outage); None leaves it hanging until the
        client goes away (the handler waits for that itself)."""
        return self._finish(req, Response(404, b"", {}, "text/plain"))

    def _record_answer(self, req: Request, resp: Response) -> None:
        """Notes the answer in the record (called under the lock)."""

    def _extra_headers(self, resp: Response) -> list[str]:
        """Platform headers sent after Date (before the response's own ones)."""
        return []

    def _controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        """The platform's POST /_fake/<name> controls: args -> an answer, or None for ok."""
        return {}

    def _extra_stats(self) -> dict[str, Any]:
        """More figures for GET /_fake/stats (called under the lock)."""
        return {}

    def _reset_platform(self) -> None:
        """Forgets the platform's own records and faults (called under the lock by reset())."""

    def _banner_details(self) -> str:
        return ""

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self):
        """Starts serving in a background thread; returns once the port is bound."""
        self._thread = threading.Thread(
            target=self._thread_main, name=f"{self.platform}-fake", daemon=True
        )
        self._thread.start()
        self._started.wait(10)
        if self._start_error is not None:
            raise self._start_error
        if not self._started.is_set():
            raise RuntimeError(f"{self.platform} fake did not start")
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

    def __enter__(self):
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
            print(f"{self.platform} fake listening on {self.base_url} ({self._banner_details()})",
                  flush=True)
            async with self._server:
                await self._server.serve_forever()

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            pass

    def _call(self, fn: Callable, *args: Any, **kw: Any) -> Any:
        """Runs fn on the fake's loop and returns its result (directly when already there)."""
        loop = self._loop
        if loop is None or not loop.is_running():
            raise RuntimeError(f"{self.platform} fake is not running")
        if threading.current_thread() is self._thread:
            return fn(*args, **kw)
        fut: concurrent.futures.Future = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn(*args, **kw))
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                fut.set_exception(e)

        loop.call_soon_threadsafe(run)
        return fut.result(10)

    # ------------------------------------------------------------------ shared fault controls

    def expire_all_tokens(self) -> None:
        """Every token issued so far becomes invalid; the next fetch gets a new one."""
        with self._lock:
            for tok in self._tokens.values():
                tok.revoked = True
            self._current_token.clear()

    def outage(self, seconds: float) -> None:
        """Every API path answers HTTP 503 with a non-JSON body for `seconds`."""
        with self._lock:
            self._outage_until = time.monotonic() + seconds

    def delay_answers(self, endpoint: str, seconds: float) -> None:
        """Requests to `endpoint` ("token", ...) are answered `seconds` late from now on (0:
        on time again): a slow platform, so that callers overlap."""
        with self._lock:
            self._delays[endpoint] = seconds

    def outage_end(self) -> float:
        """The monotonic time the current (or last) outage ends."""
        with self._lock:
            return self._outage_until

    def reset(self) -> None:
        """Forgets records and faults (issued tokens stay valid)."""
        with self._lock:
            self._requests.clear()
            self._delivered.clear()
            self._token_fetches = 0
            self._outage_until = 0.0
            self._reset_platform()

    # ------------------------------------------------------------------ observations

    def delivered(self) -> list[Any]:
        with self._lock:
            return list(self._delivered)

    def requests(self, endpoint: Optional[str] = None) -> list[Request]:
        with self._lock:
            return [r for r in self._requests if endpoint is None or r.endpoint == endpoint]

    def count(self, endpoint: str) -> int:
        """Requests seen on `endpoint` (a name from `_classify`, or "other"), answered or not."""
        with self._lock:
            return sum(1 for r in self._requests if r.endpoint == endpoint)

    @property
    def token_fetches(self) -> int:
        """Successful token responses."""
        with self._lock:
            return self._token_fetches

    def issued_tokens(self) -> list[str]:
        with self._lock:
            return list(self._tokens)

    def wait_until(self, predicate: Callable[[], bool], timeout: float, interval=0.02) -> bool:
        return wait_until(predicate, timeout, interval)

    def wait_delivered(self, n: int, timeout: float = 10.0, **filters: Any) -> list[Any]:
        """Waits until at least `n` deliveries (matching `filters`, see delivered()) exist;
        returns them (maybe fewer)."""
        self.wait_until(lambda: len(self.delivered(**filters)) >= n, timeout)
        return self.delivered(**filters)

    # ------------------------------------------------------------------ tokens

    def _issue_token(
        self, now: float, lifetime: int, make_value: Callable[[], str], min_remaining: float = 0,
        owner: str = "",
    ) -> tuple[str, int]:
        """(token, seconds left): `owner`'s current token while more than `min_remaining`
        seconds of it remain, else a new one (earlier ones stay valid until their own expiry).
        Each owner (an app id, a secret: whatever credential the platform issues tokens to) has
        its own current token, as on the platforms."""
        with self._lock:
            cur = self._tokens.get(self._current_token.get(owner, ""))
            if cur is not None and not cur.revoked and cur.expires_at - now > min_remaining:
                token, remaining = cur.value, int(cur.expires_at - now)
            else:
                token = make_value()
                self._tokens[token] = Token(token, now + lifetime, owner=owner)
                self._current_token[owner] = token
                remaining = lifetime
            self._token_fetches += 1
        return token, remaining

    def token_owner(self, value: str) -> Optional[str]:
        """Whose token `value` is (the app id or secret it was issued for); None if never
        issued."""
        return self._token_owner(value)

    def _token_owner(self, value: str) -> Optional[str]:
        """The owner `value` was issued to; None if never issued."""
        with self._lock:
            tok = self._tokens.get(value)
            return None if tok is None else tok.owner

    def _token_status(self, value: str, now: float) -> Optional[bool]:
        """None: never issued; False: revoked or expired; True: valid at `now`."""
        with self._lock:
            tok = self._tokens.get(value)
            if tok is None:
                return None
            return not tok.revoked and now < tok.expires_at

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
                except HttpError as e:
                    await self._write(writer, Response(400, str(e).encode(), {}, "text/plain"),
                                      keep_alive=False)
                    break
                if req is None:
                    break
                resp = await self._dispatch(req, reader)
                if resp is None:  # a hanging request: answered never, the client went away
                    break
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
                raise HttpError("truncated request head") from e
            return None, False
        except asyncio.LimitOverrunError as e:
            raise HttpError("request head too large") from e
        if len(head) > MAX_HEADER_BYTES:
            raise HttpError("request head too large")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise HttpError("bad request line")
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            if ":" not in line or line[0] in " \t":
                raise HttpError("bad header line")
            name, value = line.split(":", 1)
            name = name.strip().lower()
            value = value.strip()
            headers[name] = headers[name] + ", " + value if name in headers else value
        body = b""
        te = headers.get("transfer-encoding", "").lower()
        if te:
            if te != "chunked":
                raise HttpError("unsupported transfer-encoding")
            body = await self._read_chunked(reader)
        elif "content-length" in headers:
            try:
                n = int(headers["content-length"])
            except ValueError as e:
                raise HttpError("bad content-length") from e
            if n < 0 or n > self.max_body_bytes:
                raise HttpError("bad content-length")
            body = await reader.readexactly(n)
        conn = headers.get("connection", "").lower()
        keep_alive = "keep-alive" in conn if version == "HTTP/1.0" else "close" not in conn
        url = urllib.parse.urlsplit(target)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        path = url.path
        req = self.request_type(
            method=method,
            target=target,
            path=path,
            query=query,
            headers=headers,
            body=body,
            endpoint="control" if path.startswith(CONTROL_PREFIX) else self._classify(path),
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
                raise HttpError("bad chunk size") from e
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return bytes(out)
            out += await reader.readexactly(size)
            if len(out) > self.max_body_bytes:
                raise HttpError("body too large")
            if await reader.readexactly(2) != b"\r\n":
                raise HttpError("bad chunk")

    async def _write(self, writer: asyncio.StreamWriter, resp: Response, keep_alive: bool):
        reason = _REASONS.get(resp.status, "Status")
        head = [f"HTTP/1.1 {resp.status} {reason}"]
        if self.server_header is not None:
            head.append(f"Server: {self.server_header}")
        head.append(f"Content-Type: {resp.content_type}")
        head.append(f"Content-Length: {len(resp.body)}")
        head.append("Connection: " + ("keep-alive" if keep_alive else "close"))
        head.append("Date: " + time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime()))
        head += self._extra_headers(resp)
        for k, v in resp.headers.items():
            head.append(f"{k}: {v}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + resp.body)
        await writer.drain()

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self, req: Request, reader: asyncio.StreamReader) -> Optional[Response]:
        if req.endpoint == "control":
            return self._handle_control(req)
        self._on_record(req)
        with self._lock:
            self._requests.append(req)
            in_outage = req.t < self._outage_until
            delay = self._delays.get(req.endpoint, 0.0)
        if in_outage:
            return self._finish(req, Response(503, OUTAGE_BODY, {}, "text/html"))
        if delay > 0:
            await asyncio.sleep(delay)
        return await self._route(req, reader)

    def _finish(self, req: Request, resp: Response) -> Response:
        with self._lock:
            req.status = resp.status
            self._record_answer(req, resp)
        return resp

    # ------------------------------------------------------------------ control API

    def _delivery_json(self, delivery: Any) -> dict:
        out = {name: getattr(delivery, name) for name in self.delivery_fields}
        out["time"] = delivery.wall
        return out

    def _handle_control(self, req: Request) -> Response:
        """HTTP form of the fault controls, for standalone runs (not recorded as requests).

        POST /_fake/expire_all_tokens
        POST /_fake/outage            {"seconds": 3}
        POST /_fake/reset
        POST /_fake/<name>            the platform's own controls, see its _controls()
        GET  /_fake/delivered         the deliveries as JSON
        GET  /_fake/stats             request counts per endpoint, token fetches
        """
        name = req.path[len(CONTROL_PREFIX):]
        try:
            args = json.loads(req.body) if req.body else {}
        except ValueError:
            return self.make_json(400, {"error": "body is not JSON"})
        if not isinstance(args, dict):
            return self.make_json(400, {"error": "body is not a JSON object"})
        try:
            if req.method == "GET" and name == "delivered":
                return self.make_json(
                    200, {"delivered": [self._delivery_json(d) for d in self.delivered()]}
                )
            if req.method == "GET" and name == "stats":
                with self._lock:
                    counts: dict[str, int] = {}
                    for r in self._requests:
                        counts[r.endpoint] = counts.get(r.endpoint, 0) + 1
                    stats = {
                        "requests": counts,
                        "token_fetches": self._token_fetches,
                        "delivered": len(self._delivered),
                        **self._extra_stats(),
                    }
                return self.make_json(200, stats)
            if req.method != "POST":
                return self.make_json(405, {"error": "method not allowed"})
            controls: dict[str, Callable[[dict], Optional[Response]]] = {
                "expire_all_tokens": lambda a: self.expire_all_tokens(),
                "outage": lambda a: self.outage(float(a["seconds"])),
                "reset": lambda a: self.reset(),
                **self._controls(),
            }
            control = controls.get(name)
            if control is None:
                return self.make_json(404, {"error": f"unknown control {name}"})
            answer = control(args)
        except (KeyError, TypeError, ValueError) as e:
            return self.make_json(400, {"error": f"bad arguments: {e}"})
        return answer if answer is not None else self.make_json(200, {"ok": True})
