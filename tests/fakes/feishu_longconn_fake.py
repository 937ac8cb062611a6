#!/usr/bin/python3
"""A strict fake of the Feishu/Lark long connection (长连接), the other side of
`mode = "longconn"`: the endpoint a client fetches its WebSocket URL from, and the WebSocket
that speaks the pbbp2 frame protocol (src/botgate/platforms/feishu/pbbp2.proto). It is proven
against the official Node SDK's WSClient (tests/integration/test_feishu_longconn_fake.py).

* `POST /callback/ws/endpoint` {"AppID", "AppSecret"}: the right credentials get code 0 and a
  one-use `ws://127.0.0.1:<ws_port>/ws/v2?fpid=..&device_id=..&service_id=..&ticket=..` URL with
  the ClientConfig (times in seconds); wrong ones HTTP 200 code 1000040345 with an empty URL.
  `script_endpoint()` queues other answers: "busy" (code 1), "internal" (1000040343), "http500".
* The WebSocket refuses a URL it did not hand out, one already used, one older than `url_ttl`,
  and a connection past `max_connections` (50 per app, 514 + 1000040350), with the
  `Handshake-Status` / `Handshake-Msg` / `Handshake-Autherrcode` headers the SDKs read;
  `refuse_handshakes()` scripts more (514 with or without an autherrcode, 403 banned).
* Ping (control frame, method 0, type=ping, service = the URL's service_id) -> pong with the
  current ClientConfig as payload (`set_client_config()` changes it on the fly); `stop_pongs()`
  makes every connection a silent half-open one.
* `push_event()` sends an event (data frame, method 1, type=event, with message_id, sum, seq,
  trace_id and timestamp headers), split into fragments if asked, to ONE connection (cluster
  mode: a random one unless given). The ack must be the same frame back (SeqID, LogID, service,
  method, headers and every optional field as sent) with one `biz_rt` header added and the
  payload `{"code":200[,"data":<base64>]}`; anything else is a recorded violation and is no ack.
  An event not acked within `ack_deadline` (the platform's 3 s) is pushed again, to a random
  live connection, up to `max_deliveries` times in all.

Every frame is encoded and decoded with protobuf code that `protoc` generates from the .proto
at import time (Debian's protobuf-compiler and python3-protobuf): the fake and botgate share the
schema, not a hand-written codec.

In-process use (the tests):

    fake = FeishuLongConnFake(app_id="cli_0123456789abcdef", app_secret="s3cret").start()
    ... fake.base_url (the SDK's `domain`), fake.push_event(body), fake.wait_acked(mid) ...
    fake.stop()

Standalone: python3 tests/fakes/feishu_longconn_fake.py --port 9999 --app-id X --app-secret Y
(controls under /_fake/..., see `_controls`).

Threads: connection and event state is confined to the fake's event loop; the public methods
run there through `_call` and may be called from any thread.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import http
import importlib.util
import json
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import websockets
import websockets.exceptions

if not __package__:  # run as a script: make the `fakes` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.http_fake import HttpFake, Response, standalone_parser, wait_until
from fakes.http_fake import json_response as _json

PROTO = Path(__file__).resolve().parents[2] / "src/botgate/platforms/feishu/pbbp2.proto"
ENDPOINT_PATH = "/callback/ws/endpoint"
WS_PATH = "/ws/v2"

METHOD_CONTROL, METHOD_DATA = 0, 1

CODE_OK = 0
CODE_BUSY = 1
CODE_INTERNAL = 1000040343
CODE_BAD_CREDENTIALS = 1000040345
CODE_TOO_MANY_CONNECTIONS = 1000040350
HANDSHAKE_AUTH_FAILED = 514
HANDSHAKE_FORBIDDEN = 403

# The Node SDK decodes uint64 fields into JS numbers: it echoes a LogID above 2**53 rounded
# (7620072752319422747 came back as ...464). The platform evidently takes its acks, so the fake
# draws LogIDs that a double holds exactly and still demands the exact echo.
LOG_ID_BITS = 53

# The headers an event frame carries, in the order sent; an ack adds `biz_rt`.
EVENT_HEADERS = ("type", "message_id", "sum", "seq", "trace_id", "timestamp")
OPTIONAL_FRAME_FIELDS = ("payload_encoding", "payload_type", "LogIDNew")


def _load_pbbp2() -> Any:
    """The pbbp2 module protoc generates from PROTO, loaded from a temporary directory."""
    protoc = shutil.which("protoc")
    if protoc is None:
        raise RuntimeError("protoc not found: apt-get install protobuf-compiler python3-protobuf "
                           "(or `make deps`)")
    with tempfile.TemporaryDirectory(prefix="pbbp2-") as out:
        subprocess.run([protoc, f"-I{PROTO.parent}", f"--python_out={out}", str(PROTO)],
                       check=True, capture_output=True)
        spec = importlib.util.spec_from_file_location("pbbp2_pb2", Path(out) / "pbbp2_pb2.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


pbbp2 = _load_pbbp2()


class FrameError(ValueError):
    """Bytes that are no complete pbbp2 Frame."""


def encode_frame(*, seq_id: int = 0, log_id: int = 0, service: int, method: int,
                 headers: list[tuple[str, str]] = (), payload: Optional[bytes] = None,
                 **optional: str) -> bytes:
    """A Frame's bytes; fields 1-4 are always written (the Node SDK rejects a frame without
    them). `optional`: payload_encoding, payload_type, LogIDNew."""
    frame = pbbp2.Frame(SeqID=seq_id, LogID=log_id, service=service, method=method)
    for k, v in headers:
        frame.headers.add(key=k, value=v)
    if payload is not None:
        frame.payload = payload
    for name, value in optional.items():
        setattr(frame, name, value)
    return frame.SerializeToString()


def decode_frame(data: bytes) -> Any:
    """The Frame in `data`; FrameError when it does not parse or lacks a required field."""
    frame = pbbp2.Frame()
    try:
        frame.ParseFromString(data)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise FrameError(f"not a pbbp2 Frame: {e}") from e
    if not frame.IsInitialized():
        raise FrameError("Frame lacks a required field: "
                         + ", ".join(frame.FindInitializationErrors()))
    return frame


def frame_headers(frame: Any) -> list[tuple[str, str]]:
    return [(h.key, h.value) for h in frame.headers]


def header(frame: Any, key: str) -> Optional[str]:
    """The first value of header `key`, or None."""
    return next((h.value for h in frame.headers if h.key == key), None)


class _Status(int):
    """An HTTP status for a refused handshake that need not be one http.HTTPStatus knows (514):
    the legacy websockets server only reads .value and .phrase."""

    @property
    def value(self) -> int:  # type: ignore[override]
        return int(self)

    @property
    def phrase(self) -> str:
        try:
            return http.HTTPStatus(int(self)).phrase
        except ValueError:
            return "Handshake Failed"


@dataclass(eq=False, kw_only=True)
class Ticket:
    """A WebSocket URL the endpoint handed out."""

    ticket: str
    device_id: str
    service_id: int
    app_id: str
    url: str
    expires_at: float  # monotonic
    used: bool = False


@dataclass(eq=False, kw_only=True)
class LongConn:
    """One client WebSocket connection."""

    id: int
    ws: Any
    ticket: Ticket
    out: asyncio.Queue
    opened_at: float
    closing: bool = False
    closed_at: Optional[float] = None
    close_code: Optional[int] = None  # the client's, when it closed first
    server_closed: bool = False
    pings: int = 0


@dataclass(eq=False, kw_only=True)
class SentFrame:
    """An event frame the fake sent: what its ack must echo."""

    frame: Any  # the pbbp2.Frame
    event: "Event"
    delivery: int  # index into event.deliveries
    conn: int


@dataclass(eq=False, kw_only=True)
class Event:
    message_id: str
    payload: bytes
    fragments: int
    repeat_fragment: Any
    trace_id: str
    extra_fields: dict
    deliveries: list = field(default_factory=list)  # {"conn", "t", "seq_ids", "acked"}
    acked_at: Optional[float] = None
    gave_up: bool = False


class FeishuLongConnFake(HttpFake):
    """The endpoint on `port` (the SDK's `domain` is base_url), the WebSocket on `ws_port`."""

    platform = "feishu-longconn"

    def __init__(self, app_id: str = "cli_a1b2c3d4e5f60718", app_secret: str = "longconn-secret",
                 host: str = "127.0.0.1", port: int = 0, ws_port: int = 0, *,
                 ping_interval: float = 120, reconnect_interval: float = 120,
                 reconnect_nonce: float = 30, reconnect_count: int = -1,
                 ack_deadline: float = 3.0, max_deliveries: int = 4, url_ttl: float = 300.0,
                 max_connections: int = 50) -> None:
        """
        ping_interval, reconnect_*: the ClientConfig the endpoint and every pong give (seconds;
          the platform sends integers).
        ack_deadline: seconds after which an unacked event is pushed again.
        max_deliveries: pushes of one event in all (the first included) before the fake gives
          up on it.
        url_ttl: seconds a handed-out URL stays usable (once).
        max_connections: live connections per app; the next handshake gets 514 + 1000040350.
        """
        # By keyword: in FeishuPlatformFake the next class in line is the Open API fake, whose
        # first positional parameters are the app's credentials.
        super().__init__(host=host, port=port)
        self.app_id = app_id
        self.app_secret = app_secret
        self.ws_port = ws_port
        self.ack_deadline = ack_deadline
        self.max_deliveries = max_deliveries
        self.url_ttl = url_ttl
        self.max_connections = max_connections
        self._client_config = {"ReconnectCount": reconnect_count,
                               "ReconnectInterval": reconnect_interval,
                               "ReconnectNonce": reconnect_nonce,
                               "PingInterval": ping_interval}

        # Loop-confined state.
        self._tickets: dict[str, Ticket] = {}
        self._conns: dict[int, LongConn] = {}  # every connection ever, by id
        self._next_conn = 1
        self._next_seq = 1
        self._events: dict[str, Event] = {}
        self._sent: dict[int, SentFrame] = {}  # SeqID -> the event frame
        self._pongs = True
        self._endpoint_script: collections.deque = collections.deque()
        self._handshake_script: collections.deque = collections.deque()
        self._ws_server: Any = None
        self._tasks: set[asyncio.Task] = set()

        # Records (loop-confined too; the getters copy them on the loop).
        self._pings: list[dict] = []
        self._acks: list[dict] = []
        self._violations: list[str] = []
        self._refusals: list[dict] = []
        self._counts: collections.Counter = collections.Counter()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FeishuLongConnFake":
        super().start()
        try:
            asyncio.run_coroutine_threadsafe(self._start_ws(), self._loop).result(10)
        except BaseException:
            super().stop()
            raise
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._thread is not None and loop.is_running():
            try:
                asyncio.run_coroutine_threadsafe(self._stop_ws(), loop).result(10)
            except Exception:  # noqa: BLE001 - best effort on teardown
                pass
        super().stop()

    def serve_forever(self) -> None:
        """Standalone mode: serves until interrupted."""
        self.start()
        print(f"feishu long-connection fake: endpoint {self.base_url}{ENDPOINT_PATH}, "
              f"WebSocket port {self.ws_port}, app {self.app_id}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    async def _start_ws(self) -> None:
        self._ws_server = await websockets.serve(
            self._ws_handler, self.host, self.ws_port, process_request=self._handshake,
            compression=None, ping_interval=None, close_timeout=2, max_size=1 << 20)
        self.ws_port = list(self._ws_server.sockets)[0].getsockname()[1]

    async def _stop_ws(self) -> None:
        for conn in self._live():
            self._close(conn, 1001, "server shutting down")
        if self._ws_server is not None:
            self._ws_server.close()
            try:
                await asyncio.wait_for(self._ws_server.wait_closed(), 5)
            except asyncio.TimeoutError:
                pass
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _violation(self, what: str) -> None:
        self._violations.append(what)
        self._counts["violations"] += 1

    def _live(self) -> list[LongConn]:
        return [c for c in self._conns.values() if not c.closing and c.closed_at is None]

    # ------------------------------------------------------------------ controls

    def set_client_config(self, **values: float) -> None:
        """Changes the ClientConfig (PingInterval, ReconnectCount, ReconnectInterval,
        ReconnectNonce) that the next endpoint answers and pongs carry."""
        unknown = set(values) - set(self._client_config)
        if unknown:
            raise ValueError(f"not ClientConfig fields: {sorted(unknown)}")
        self._call(self._client_config.update, values)

    def client_config(self) -> dict:
        return self._call(lambda: dict(self._client_config))

    def script_endpoint(self, *answers: Any) -> None:
        """The next endpoint requests with the right credentials get these answers in turn,
        then the normal one again: "busy" (HTTP 200, code 1), "internal" (1000040343),
        "http500" (HTTP 500, not JSON), or an int: that code with an empty URL."""
        for a in answers:
            if a not in ("busy", "internal", "http500") and not isinstance(a, int):
                raise ValueError(f"unknown endpoint answer {a!r}")
        self._call(self._endpoint_script.extend, answers)

    def refuse_handshakes(self, status: int = HANDSHAKE_AUTH_FAILED,
                          autherrcode: Optional[int] = None, msg: str = "", count: int = 1
                          ) -> None:
        """The next `count` WebSocket handshakes (with a valid URL, which they use up) are
        refused with these Handshake-* headers: 514 + 1000040350 (too many connections, a
        client error), 514 without a code (retry), 403 (the app is banned)."""
        self._call(self._handshake_script.extend, [(status, autherrcode, msg)] * count)

    def stop_pongs(self) -> None:
        """Pings get no pong from now on, and nothing else is said: half-open connections."""
        self._call(setattr, self, "_pongs", False)

    def resume_pongs(self) -> None:
        self._call(setattr, self, "_pongs", True)

    def drop_connections(self, abort: bool = False) -> int:
        """Closes every live connection from the server side (a close frame 1000, or with
        `abort` the TCP connection just ends); returns how many."""
        def drop() -> int:
            conns = self._live()
            for conn in conns:
                if abort:
                    self._abort(conn)
                else:
                    self._close(conn, 1000, "")
            return len(conns)
        return self._call(drop)

    def push_event(self, event_json: Any, *, fragments: int = 1, repeat_fragment: Any = False,
                   connection: Optional[int] = None, extra_fields: Optional[dict] = None
                   ) -> str:
        """Pushes an event (a dict is sent as compact JSON; bytes as they are) and returns its
        message_id. `fragments`: frames the payload is split into (sum); `repeat_fragment`:
        True sends fragment 0 once more after the last one (after the message is complete, where
        a client that keeps completed messages dispatches it twice), "early" sends it twice in
        a row before the others. `connection`: the connection id to push to first (default: a
        random live one; redeliveries always go to a random one). `extra_fields`: optional
        Frame fields to set on every frame of it (payload_encoding, payload_type, LogIDNew),
        which the ack must echo."""
        payload = (event_json if isinstance(event_json, bytes)
                   else json.dumps(event_json, ensure_ascii=False,
                                   separators=(",", ":")).encode("utf-8"))
        if not 1 <= fragments <= max(1, len(payload)):
            raise ValueError(f"cannot split {len(payload)} bytes into {fragments} fragments")
        if repeat_fragment not in (False, True, "early"):
            raise ValueError(f"repeat_fragment: False, True or 'early', not {repeat_fragment!r}")
        extra = dict(extra_fields or {})
        if set(extra) - set(OPTIONAL_FRAME_FIELDS):
            raise ValueError(f"extra_fields: only {OPTIONAL_FRAME_FIELDS}")
        event = Event(message_id=secrets.token_hex(16), payload=payload, fragments=fragments,
                      repeat_fragment=repeat_fragment, trace_id=secrets.token_hex(16),
                      extra_fields=extra)

        def push() -> str:
            self._events[event.message_id] = event
            self._counts["events_pushed"] += 1
            self._spawn(self._deliver_until_acked(event, connection))
            return event.message_id
        return self._call(push)

    def reset(self) -> None:
        """Forgets the records (requests, pings, acks, violations, refusals, counters, events)
        and the scripted answers; live connections and handed-out URLs stay."""
        def clear() -> None:
            HttpFake.reset(self)
            self._pings.clear()
            self._acks.clear()
            self._violations.clear()
            self._refusals.clear()
            self._counts.clear()
            self._endpoint_script.clear()
            self._handshake_script.clear()
            self._events.clear()
            self._pongs = True
        self._call(clear)

    def _controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        """POST /_fake/push_event        {"event": {...}, "fragments": 1}
        POST /_fake/drop_connections  {"abort": false}
        POST /_fake/client_config     {"PingInterval": 5, ...}
        POST /_fake/stop_pongs, /_fake/resume_pongs
        POST /_fake/script_endpoint   {"answers": ["busy", 1000040343]}
        POST /_fake/refuse_handshakes {"status": 514, "autherrcode": 1000040350, "count": 1}
        """
        # The controls run on the loop already: _call runs them in place.
        return {
            "push_event": lambda a: _json(200, {"message_id": self.push_event(
                a["event"], fragments=int(a.get("fragments", 1)))}),
            "drop_connections": lambda a: _json(200, {"count": self.drop_connections(
                bool(a.get("abort", False)))}),
            "client_config": lambda a: self.set_client_config(**a),
            "stop_pongs": lambda a: self.stop_pongs(),
            "resume_pongs": lambda a: self.resume_pongs(),
            "script_endpoint": lambda a: self.script_endpoint(*a["answers"]),
            "refuse_handshakes": lambda a: self.refuse_handshakes(**a),
        }

    def _extra_stats(self) -> dict[str, Any]:  # GET /_fake/stats, on the loop
        return {"longconn": self._stats()}

    # ------------------------------------------------------------------ observations

    @property
    def violations(self) -> list[str]:
        """What clients did wrong, in order (frames that do not parse, bad pings, bad acks)."""
        return self._call(lambda: list(self._violations))

    def connections(self) -> list[dict]:
        """Every connection so far: {id, device_id, service_id, url, open, opened_at,
        closed_at, client_close_code, server_closed, pings}."""
        return self._call(lambda: [
            {"id": c.id, "device_id": c.ticket.device_id, "service_id": c.ticket.service_id,
             "url": c.ticket.url, "open": not c.closing and c.closed_at is None,
             "opened_at": c.opened_at, "closed_at": c.closed_at,
             "client_close_code": c.close_code, "server_closed": c.server_closed,
             "pings": c.pings}
            for c in self._conns.values()])

    def pings(self) -> list[dict]:
        """Every valid ping: {conn, t (monotonic), answered}."""
        return self._call(lambda: [dict(p) for p in self._pings])

    def acks(self) -> list[dict]:
        """Every correct ack: {message_id, conn, seq_id, delivery (0: the first push),
        biz_rt (int), payload (dict), t}."""
        return self._call(lambda: [dict(a) for a in self._acks])

    def refusals(self) -> list[dict]:
        """Every refused handshake: {path, status, autherrcode, msg}."""
        return self._call(lambda: [dict(r) for r in self._refusals])

    def event(self, message_id: str) -> dict:
        """{message_id, delivered (pushes), acked (correct acks), acked_at, gave_up,
        deliveries: [{conn, t, seq_ids, acked}]}."""
        def get() -> dict:
            e = self._events[message_id]
            return {"message_id": e.message_id, "delivered": len(e.deliveries),
                    "acked": sum(1 for a in self._acks if a["message_id"] == message_id),
                    "acked_at": e.acked_at, "gave_up": e.gave_up,
                    "deliveries": [dict(d, seq_ids=list(d["seq_ids"])) for d in e.deliveries]}
        return self._call(get)

    def stats(self) -> dict[str, Any]:
        """Counters: endpoint_requests, urls_issued, handshakes_refused, connections,
        live_connections, pings, pongs, events_pushed, deliveries, frames_sent, acks,
        violations, unacked (events without an ack yet)."""
        return self._call(self._stats)

    def _stats(self) -> dict[str, Any]:
        c = self._counts
        out = {n: c[n] for n in ("endpoint_requests", "urls_issued", "handshakes_refused",
                                 "connections", "pings", "pongs", "events_pushed",
                                 "deliveries", "frames_sent", "acks", "violations")}
        out["live_connections"] = len(self._live())
        out["unacked"] = sum(1 for e in self._events.values() if e.acked_at is None)
        return out

    def wait_connected(self, n: int = 1, timeout: float = 10.0) -> bool:
        """Waits until at least `n` connections are live."""
        return wait_until(lambda: self._call(lambda: len(self._live())) >= n, timeout)

    def wait_acked(self, message_id: str, timeout: float = 10.0) -> bool:
        """Waits until the event has a correct ack."""
        return wait_until(
            lambda: self._call(lambda: self._events[message_id].acked_at is not None), timeout)

    def wait_pings(self, n: int, timeout: float = 10.0) -> bool:
        return wait_until(lambda: self._call(lambda: len(self._pings)) >= n, timeout)

    # ------------------------------------------------------------------ the endpoint

    def _classify(self, path: str) -> str:
        return "endpoint" if path == ENDPOINT_PATH else "other"

    async def _route(self, req, reader) -> Optional[Response]:
        if req.endpoint != "endpoint":
            return self._finish(req, Response(404, b"404 page not found", {}, "text/plain"))
        self._counts["endpoint_requests"] += 1
        if req.method != "POST":
            return self._finish(req, Response(405, b"", {}, "text/plain"))
        try:
            body = json.loads(req.body)
        except ValueError:
            body = None
        if (not isinstance(body, dict) or body.get("AppID") != self.app_id
                or body.get("AppSecret") != self.app_secret):
            return self._finish(req, self._endpoint_error(
                CODE_BAD_CREDENTIALS, "app_id or app_secret is invalid"))
        if self._endpoint_script:
            scripted = self._endpoint_script.popleft()
            if scripted == "http500":
                return self._finish(req, Response(500, b"Internal Server Error", {},
                                                  "text/plain"))
            code, msg = {"busy": (CODE_BUSY, "system busy"),
                         "internal": (CODE_INTERNAL, "internal error")}.get(
                             scripted, (scripted, "scripted error"))
            return self._finish(req, self._endpoint_error(code, msg))
        return self._finish(req, _json(200, {"code": CODE_OK, "msg": "ok", "data": {
            "URL": self._issue_url(), "ClientConfig": dict(self._client_config)}}))

    @staticmethod
    def _endpoint_error(code: int, msg: str) -> Response:
        return _json(200, {"code": code, "msg": msg, "data": {"URL": "", "ClientConfig": None}})

    def _issue_url(self) -> str:
        t = Ticket(ticket=str(uuid.uuid4()), device_id=str(random.randrange(10**18, 10**19)),
                   service_id=random.randrange(1 << 24, 1 << 31), app_id=self.app_id, url="",
                   expires_at=time.monotonic() + self.url_ttl)
        # device_id is not the first parameter: the Node SDK garbles the first one (it parses
        # the whole URL as a query string), and so does the platform's own URL.
        query = urllib.parse.urlencode({
            "fpid": "493", "aid": "552564", "device_id": t.device_id,
            "access_key": secrets.token_hex(16), "service_id": str(t.service_id),
            "ticket": t.ticket})
        t.url = f"ws://{self.host}:{self.ws_port}{WS_PATH}?{query}"
        self._tickets[t.ticket] = t
        self._counts["urls_issued"] += 1
        return t.url

    # ------------------------------------------------------------------ the handshake

    def _refuse(self, path: str, status: int, autherrcode: Optional[int], msg: str):
        self._counts["handshakes_refused"] += 1
        self._refusals.append({"path": path, "status": status, "autherrcode": autherrcode,
                               "msg": msg})
        headers = [("Handshake-Status", str(status)), ("Handshake-Msg", msg)]
        if autherrcode is not None:
            headers.append(("Handshake-Autherrcode", str(autherrcode)))
        return _Status(status), headers, msg.encode()

    async def _handshake(self, path: str, request_headers: Any):
        url = urllib.parse.urlsplit(path)
        if url.path != WS_PATH:
            return http.HTTPStatus.NOT_FOUND, [], b"404 page not found"
        query = dict(urllib.parse.parse_qsl(url.query))
        t = self._tickets.get(query.get("ticket", ""))
        if (t is None or query.get("device_id") != t.device_id
                or query.get("service_id") != str(t.service_id)):
            return self._refuse(path, HANDSHAKE_AUTH_FAILED, None, "invalid ticket")
        if t.used:
            return self._refuse(path, HANDSHAKE_AUTH_FAILED, None, "ticket already used")
        if time.monotonic() >= t.expires_at:
            return self._refuse(path, HANDSHAKE_AUTH_FAILED, None, "ticket expired")
        t.used = True
        if self._handshake_script:
            return self._refuse(path, *self._handshake_script.popleft())
        live = sum(1 for c in self._live() if c.ticket.app_id == t.app_id)
        if live >= self.max_connections:
            return self._refuse(path, HANDSHAKE_AUTH_FAILED, CODE_TOO_MANY_CONNECTIONS,
                                "exceed connection limit")
        return None

    # ------------------------------------------------------------------ connections

    async def _ws_handler(self, ws: Any, path: str = "") -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(ws.path).query))
        conn = LongConn(id=self._next_conn, ws=ws, ticket=self._tickets[query["ticket"]],
                        out=asyncio.Queue(), opened_at=time.monotonic())
        self._next_conn += 1
        self._conns[conn.id] = conn
        self._counts["connections"] += 1
        writer = self._spawn(self._writer(conn))
        try:
            async for raw in ws:
                if not conn.closing:
                    self._on_message(conn, raw)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            conn.out.put_nowait(("end",))
            try:
                await asyncio.wait_for(asyncio.shield(writer), 3)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                writer.cancel()
            conn.closing = True
            conn.closed_at = time.monotonic()
            if not conn.server_closed:
                rcvd = ws.close_rcvd
                conn.close_code = rcvd.code if rcvd is not None else 1006

    async def _writer(self, conn: LongConn) -> None:
        try:
            while True:
                item = await conn.out.get()
                if item[0] == "frame":
                    await conn.ws.send(item[1])
                elif item[0] == "close":
                    await conn.ws.close(item[1], item[2])
                    return
                elif item[0] == "abort":
                    conn.ws.transport.abort()
                    return
                else:
                    return
        except websockets.exceptions.ConnectionClosed:
            return

    def _send(self, conn: LongConn, data: bytes) -> None:
        if not conn.closing:
            conn.out.put_nowait(("frame", data))

    def _close(self, conn: LongConn, code: int, reason: str) -> None:
        if not conn.closing:
            conn.closing = conn.server_closed = True
            conn.out.put_nowait(("close", code, reason))

    def _abort(self, conn: LongConn) -> None:
        if not conn.closing:
            conn.closing = conn.server_closed = True
            conn.out.put_nowait(("abort",))

    # ------------------------------------------------------------------ client frames

    def _on_message(self, conn: LongConn, raw: Any) -> None:
        if isinstance(raw, str):
            self._violation(f"conn {conn.id}: a text message; frames are binary")
            return
        try:
            frame = decode_frame(bytes(raw))
        except FrameError as e:
            self._violation(f"conn {conn.id}: {e}")
            return
        if frame.method == METHOD_CONTROL:
            self._on_control(conn, frame)
        elif frame.method == METHOD_DATA:
            self._on_ack(conn, frame)
        else:
            self._violation(f"conn {conn.id}: frame with method {frame.method}")

    def _on_control(self, conn: LongConn, frame: Any) -> None:
        kind = header(frame, "type")
        if kind != "ping":
            self._violation(f"conn {conn.id}: control frame of type {kind!r}")
            return
        if frame.service != conn.ticket.service_id:
            self._violation(f"conn {conn.id}: ping with service {frame.service}, the URL's "
                            f"service_id is {conn.ticket.service_id}")
            return
        conn.pings += 1
        self._counts["pings"] += 1
        self._pings.append({"conn": conn.id, "t": time.monotonic(), "answered": self._pongs})
        if self._pongs:
            self._counts["pongs"] += 1
            self._send(conn, encode_frame(
                service=conn.ticket.service_id, method=METHOD_CONTROL,
                headers=[("type", "pong")],
                payload=json.dumps(self._client_config, separators=(",", ":")).encode()))

    def _on_ack(self, conn: LongConn, frame: Any) -> None:
        sent = self._sent.get(frame.SeqID)
        if sent is None:
            self._violation(f"conn {conn.id}: data frame with SeqID {frame.SeqID}, which no "
                            "event frame had")
            return
        problems = self._ack_problems(conn, sent, frame)
        if problems:
            self._violation(f"conn {conn.id}: bad ack of {sent.event.message_id} "
                            f"(SeqID {frame.SeqID}): " + "; ".join(problems))
            return
        event = sent.event
        delivery = event.deliveries[sent.delivery]
        if delivery["acked"]:
            self._violation(f"conn {conn.id}: event {event.message_id} acked again for the "
                            "same push (dispatched twice?)")
            return
        delivery["acked"] = True
        self._counts["acks"] += 1
        now = time.monotonic()
        if event.acked_at is None:
            event.acked_at = now
        self._acks.append({"message_id": event.message_id, "conn": conn.id,
                           "seq_id": frame.SeqID, "delivery": sent.delivery,
                           "biz_rt": int(header(frame, "biz_rt") or 0),
                           "payload": json.loads(frame.payload), "t": now})

    @staticmethod
    def _ack_problems(conn: LongConn, sent: SentFrame, ack: Any) -> list[str]:
        """What makes `ack` not the echo of `sent` that the platform takes as an ack."""
        out: list[str] = []
        want = sent.frame
        if conn.id != sent.conn:
            out.append(f"sent on connection {sent.conn}")
        for name in ("LogID", "service", "method"):
            if getattr(ack, name) != getattr(want, name):
                out.append(f"{name} {getattr(ack, name)}, sent {getattr(want, name)}")
        for name in OPTIONAL_FRAME_FIELDS:
            if ack.HasField(name) != want.HasField(name):
                out.append(f"{name} {'added' if ack.HasField(name) else 'missing'}")
            elif ack.HasField(name) and getattr(ack, name) != getattr(want, name):
                out.append(f"{name} changed")
        got = frame_headers(ack)
        biz_rt = [v for k, v in got if k == "biz_rt"]
        rest = [(k, v) for k, v in got if k != "biz_rt"]
        if sorted(rest) != sorted(frame_headers(want)):
            out.append(f"headers {rest}, sent {frame_headers(want)}")
        if len(biz_rt) != 1:
            out.append(f"{len(biz_rt)} biz_rt headers")
        else:
            try:
                int(biz_rt[0])
            except ValueError:
                out.append(f"biz_rt {biz_rt[0]!r} is not an integer")
        if not ack.HasField("payload"):
            out.append("no payload")
            return out
        try:
            answer = json.loads(ack.payload)
        except (UnicodeDecodeError, ValueError):
            out.append(f"payload is not JSON: {ack.payload[:80]!r}")
            return out
        if not isinstance(answer, dict):
            out.append("payload is not a JSON object")
            return out
        extra = set(answer) - {"code", "data"}
        if extra:
            out.append(f"payload has {sorted(extra)}")
        code = answer.get("code")
        if code != 200 or isinstance(code, bool):
            out.append(f"payload code {code!r}, not 200")
        if "data" in answer:
            try:
                base64.b64decode(answer["data"], validate=True)
            except (TypeError, ValueError):
                out.append("payload data is not base64")
        return out

    # ------------------------------------------------------------------ events

    async def _deliver_until_acked(self, event: Event, first: Optional[int]) -> None:
        target = first
        while event.acked_at is None:
            if len(event.deliveries) >= self.max_deliveries:
                event.gave_up = True
                return
            conn = await self._pick(target)
            target = None
            self._push_frames(event, conn)
            deadline = time.monotonic() + self.ack_deadline
            while event.acked_at is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)

    async def _pick(self, wanted: Optional[int]) -> LongConn:
        """The connection to push to: `wanted` while it is live, else a random live one
        (waiting for one)."""
        while True:
            live = self._live()
            if wanted is not None and any(c.id == wanted for c in live):
                return self._conns[wanted]
            if live and wanted is None:
                return random.choice(live)
            if wanted is not None and self._conns.get(wanted) is None:
                raise ValueError(f"no connection {wanted}")
            if wanted is not None:
                wanted = None  # it closed: any live one
            await asyncio.sleep(0.02)

    def _push_frames(self, event: Event, conn: LongConn) -> None:
        n, size = event.fragments, len(event.payload)
        bounds = [size * i // n for i in range(n + 1)]
        order = list(range(n))
        if event.repeat_fragment == "early":
            order.insert(1, 0)
        elif event.repeat_fragment:
            order.append(0)
        index = len(event.deliveries)
        delivery = {"conn": conn.id, "t": time.monotonic(), "seq_ids": [], "acked": False}
        event.deliveries.append(delivery)
        self._counts["deliveries"] += 1
        for i in order:
            seq_id = self._next_seq
            self._next_seq += 1
            frame = pbbp2.Frame(SeqID=seq_id, LogID=random.getrandbits(LOG_ID_BITS),
                                service=conn.ticket.service_id, method=METHOD_DATA)
            for k, v in (("type", "event"), ("message_id", event.message_id), ("sum", str(n)),
                         ("seq", str(i)), ("trace_id", event.trace_id),
                         ("timestamp", str(int(time.time() * 1000)))):
                frame.headers.add(key=k, value=v)
            frame.payload = event.payload[bounds[i]:bounds[i + 1]]
            for name, value in event.extra_fields.items():
                setattr(frame, name, value)
            self._sent[seq_id] = SentFrame(frame=frame, event=event, delivery=index,
                                           conn=conn.id)
            delivery["seq_ids"].append(seq_id)
            self._counts["frames_sent"] += 1
            self._send(conn, frame.SerializeToString())


def main() -> None:
    ap = standalone_parser("A fake Feishu/Lark long-connection server (endpoint + WebSocket).")
    ap.add_argument("--ws-port", type=int)
    ap.add_argument("--app-id")
    ap.add_argument("--app-secret")
    ap.add_argument("--ping-interval", type=float)
    ap.add_argument("--reconnect-interval", type=float)
    ap.add_argument("--reconnect-nonce", type=float)
    ap.add_argument("--ack-deadline", type=float)
    FeishuLongConnFake(**vars(ap.parse_args())).serve_forever()


if __name__ == "__main__":
    main()
