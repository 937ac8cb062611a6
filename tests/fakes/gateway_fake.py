"""The gateway machinery the fake Discord and the fake QQ share (discord_fake.py, qq_fake.py):
both platforms speak one WebSocket dialect (Discord notes section 3, QQ notes section 4), so the
server side of it is written once here, on top of HttpFake (their REST API runs on its port).

* A WebSocket listener on its own port (`ws_port`; a fake may open more, see `_listen`): Hello
  with `heartbeat_interval`, heartbeats answered with op 11 (unless `stop_acks()`), a watchdog
  that closes a connection whose client stopped beating.
* Identify -> a session (READY) and Resume -> replay of every missed dispatch then RESUMED.
  Sessions outlive connections: a dispatch for a session without a live connection is kept for a
  resume; a client close with 1000/1001 ends the session, any other close keeps it.
* Controls on the live connections: drop (no close frame), close with a code, op 7 (closed after
  `reconnect_close_after` seconds when the client stays), op 9 (resumable or not), op 1.
* Records: every payload a client sent, close codes both ways, counters (`stats()`).

A platform fake subclasses GatewayFake and keeps only its own rules: how it checks the identify
token (`_gateway_token_ok`) and the rest of identify (`_identify_refused`), the session it makes
(`_new_session`) and its READY (`_ready`), which dispatches reach a session, its close reasons
(`closes`), and the shape of its control frames (`full_envelopes`).

Threads: gateway state is confined to the fake's event loop (the controls run there through
`_call`); the records the getters read are guarded by the shared lock.
"""

from __future__ import annotations

import asyncio
import collections
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import websockets
import websockets.exceptions

from fakes import http_fake
from fakes.http_fake import HttpFake, Response, wait_until

# Gateway opcodes, the same on both platforms (Discord notes 3.2, QQ notes 4.1).
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_RECONNECT, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 7, 9, 10, 11


def is_int(v: Any) -> bool:
    """A JSON integer (not a bool)."""
    return isinstance(v, int) and not isinstance(v, bool)


def dumps(obj: Any) -> str:
    """Compact JSON, as the platforms send it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def json_answer(status: int, obj: Any, headers: Optional[dict[str, str]] = None) -> Response:
    """A JSON answer as both platforms give it."""
    return http_fake.json_response(status, obj, headers, ensure_ascii=False,
                                   content_type="application/json")


@dataclass(eq=False, kw_only=True)  # identity: kept in sets
class GatewaySession:
    """A session (READY made it); it outlives connections."""

    id: str
    shard_id: int
    shard_count: int
    intents: int
    events: list = field(default_factory=list)  # (s, dispatch payload as sent)
    seq: int = 0
    conn: Optional["GatewayConn"] = None
    valid: bool = True
    detached_at: Optional[float] = None  # monotonic, while no connection carries it
    owner: str = ""  # the bot it belongs to, for a fake that knows several (the platform's key)


@dataclass(eq=False, kw_only=True)  # identity: kept in sets
class GatewayConn:
    """One client WebSocket connection."""

    id: int
    ws: Any
    out: asyncio.Queue
    last_beat: float
    authenticated: bool = False
    session: Optional[GatewaySession] = None
    closing: bool = False  # a close or a drop is queued: later frames either way are ignored
    server_close: Optional[int] = None  # the close code the fake sent
    dropped: bool = False


class GatewayFake(HttpFake):
    """A fake platform with a gateway. All public methods are safe to call from any thread."""

    #: How the standalone banner names the HTTP API ("REST", "OpenAPI").
    api_label = "API"
    #: Control frames (Hello, ACK, op 7, op 9, op 1) carry "d", "s" and "t" even when null
    #: (Discord); False: only "op" and a "d" that is not null (QQ).
    full_envelopes = True
    #: The close frames the fake sends, by what happened: (code, reason).
    closes: dict[str, tuple[int, str]] = {
        "shutdown": (1001, "Server shutting down"),
        "bad_json": (4002, "Error while decoding payload."),
        "unknown_op": (4001, "Unknown opcode."),
        "bad_heartbeat": (4001, "Invalid heartbeat payload."),
        "bad_identify": (4001, "Invalid identify payload."),
        "bad_resume": (4001, "Invalid resume payload."),
        "auth_failed": (4004, "Authentication failed."),
        "already_authenticated": (4005, "Already authenticated."),
        "invalid_seq": (4007, "Invalid seq."),
        "heartbeat_timeout": (4009, "Session timed out"),
        "invalid_shard": (4010, "Invalid shard."),
        "reconnect_ignored": (4000, "Reconnect"),
        "resumed_elsewhere": (4000, "Session resumed elsewhere"),
    }
    #: close_connection()'s code when none is given.
    default_close_code = 4000
    #: A heartbeat timeout ends the session too (Discord); False: it stays resumable (QQ).
    timeout_ends_session = True
    #: Counters of the platform's own shown by stats(), after the shared ones.
    extra_counters: tuple[str, ...] = ()

    def __init__(self, heartbeat_interval: int, heartbeat_timeout: Optional[float],
                 queue_without_session: bool, reconnect_close_after: float, host: str, port: int,
                 ws_port: int) -> None:
        """
        heartbeat_interval: ms, sent in Hello.
        heartbeat_timeout: seconds without a heartbeat (since Hello or the last beat) after which
          the fake closes the connection ("heartbeat_timeout" in `closes`); default 1.5
          intervals + 1 s.
        queue_without_session: a dispatch while no valid session takes it waits and is delivered
          after the next READY (the platforms themselves would drop it).
        reconnect_close_after: seconds a client may stay connected after op 7.
        """
        super().__init__(host, port)
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = (heartbeat_timeout if heartbeat_timeout is not None
                                  else heartbeat_interval / 1000.0 * 1.5 + 1.0)
        self.queue_without_session = queue_without_session
        self.reconnect_close_after = reconnect_close_after
        self.ws_port = ws_port

        # Loop-confined state (touched only on the fake's event loop).
        self._sessions: dict[str, GatewaySession] = {}
        self._pending: list = []  # dispatches waiting for a session, in the platform's form
        self._conns: set[GatewayConn] = set()
        self._acks = True
        self._next_conn_id = 1
        self._ws_servers: list[Any] = []
        self._tasks: set[asyncio.Task] = set()
        self._ws_tls: Optional[ssl.SSLContext] = None  # serve_tls()

        # Records (guarded by self._lock; read by the getters from any thread).
        self._payloads: list[dict] = []  # every JSON payload a client sent
        self._counts: collections.Counter = collections.Counter()
        self._client_close_codes: list[int] = []
        self._server_close_codes: list[int] = []
        # Per shard id: identifies and resumes accepted, and how many of them came while another
        # live connection was already authenticated for that shard (two clients running one
        # shard: what several instances of one bot must never do).
        self._shard_identifies: collections.Counter = collections.Counter()
        self._shard_resumes: collections.Counter = collections.Counter()
        self._shard_overlaps: collections.Counter = collections.Counter()

    # ------------------------------------------------------------------ what a platform defines

    def _gateway_token_ok(self, token: Any) -> bool:
        """Whether Identify/Resume's `token` is valid now."""
        return False

    def _identify_refused(self, conn: GatewayConn, d: dict, shard: list) -> bool:
        """The platform's checks of an Identify whose token and shard are good (intents, rate);
        True when it refused it (it closed the connection or answered itself)."""
        return False

    def _new_session(self, d: dict, shard: list) -> GatewaySession:
        """The session an accepted Identify makes."""
        raise NotImplementedError

    def _ready(self, conn: GatewayConn, sess: GatewaySession, d: dict) -> None:
        """Emits READY (and whatever follows it) on the new session."""
        raise NotImplementedError

    def _resumed_data(self) -> Any:
        """RESUMED's `d`."""
        return None

    def _deliver_pending(self, sess: GatewaySession) -> None:
        """Emits the queued dispatches `sess` takes (right after its READY)."""

    def _frame_refused(self, conn: GatewayConn, raw: Any, now: float) -> bool:
        """The platform's checks of a client frame before it is parsed (rate, size); True when
        it closed the connection."""
        return False

    def _other_op(self, conn: GatewayConn, op: int, d: Any) -> bool:
        """A client opcode other than 1, 2 and 6; False: unknown (the connection is closed)."""
        return False

    def _connection_refused(self, ws: Any) -> Optional[tuple[int, str]]:
        """A close to answer a new connection with instead of Hello (a wrong query), or None."""
        return None

    async def _process_request(self, path: str, headers: Any):
        """The WebSocket handshake's check of the request (None: go on)."""
        return None

    def _new_conn(self, ws: Any, via_resume_url: bool) -> GatewayConn:
        """The record of a new connection (a platform may keep more per connection)."""
        conn = GatewayConn(id=self._next_conn_id, ws=ws, out=asyncio.Queue(),
                           last_beat=time.monotonic())
        return conn

    def _may_resume(self, sess: GatewaySession, now: float) -> None:
        """A platform's limits on resuming a valid session (it may invalidate it here)."""

    def _resumed(self, conn: GatewayConn) -> None:
        """Notes an accepted resume (before the replay)."""

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_base(self) -> str:
        return self.base_url

    def start(self) -> "GatewayFake":
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
        print(f"{self.platform} fake: {self.api_label} {self.api_base}, "
              f"{self._banner_details()}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def serve_tls(self, certfile: str, keyfile: str) -> None:
        """Before start(): the gateway listeners speak TLS (wss://) with this certificate, as
        the platforms' gateways do; the REST port stays plain HTTP."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile, keyfile)
        self._ws_tls = context

    @property
    def ws_scheme(self) -> str:
        """"wss" after serve_tls(), else "ws"."""
        return "wss" if self._ws_tls is not None else "ws"

    async def _start_ws(self) -> None:
        self.ws_port = await self._listen(self.ws_port, via_resume_url=False)

    async def _listen(self, port: int, via_resume_url: bool) -> int:
        """Serves the gateway on `port` (0: a free one); returns the port."""
        async def handler(ws):
            await self._ws_handler(ws, via_resume_url)

        server = await websockets.serve(
            handler, self.host, port, process_request=self._process_request, compression=None,
            ping_interval=None, close_timeout=2, max_size=1 << 20, ssl=self._ws_tls)
        self._ws_servers.append(server)
        return list(server.sockets)[0].getsockname()[1]

    async def _stop_ws(self) -> None:
        for conn in list(self._conns):
            self._close_for(conn, "shutdown")
        for server in self._ws_servers:
            server.close()
        for server in self._ws_servers:
            try:
                await asyncio.wait_for(server.wait_closed(), 5)
            except asyncio.TimeoutError:
                pass
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    # ------------------------------------------------------------------ controls: gateway

    def drop_connection(self, shard: Optional[int] = None) -> int:
        """Closes the TCP connection(s) without a close frame (the session stays resumable);
        returns how many were dropped. shard None: every live connection."""
        return self._call(self._for_conns, shard, self._drop)

    def close_connection(self, code: Optional[int] = None, reason: str = "",
                         shard: Optional[int] = None, invalidate: bool = False) -> int:
        """Closes the live connection(s) with `code` (None: `default_close_code`); the session
        stays resumable unless `invalidate`. Returns how many were closed."""
        if code is None:
            code = self.default_close_code

        def close(conn: GatewayConn) -> None:
            if invalidate and conn.session is not None:
                self._invalidate(conn.session)
            self._close(conn, code, reason)
        return self._call(self._for_conns, shard, close)

    def send_reconnect(self, shard: Optional[int] = None) -> int:
        """Sends op 7; if the client has not closed within `reconnect_close_after` seconds, the
        fake closes it ("reconnect_ignored"; the session stays resumable). Returns how many got
        it."""
        def reconnect(conn: GatewayConn) -> None:
            self._send(conn, self._control(OP_RECONNECT))
            self._bump("reconnects_sent")
            asyncio.get_running_loop().call_later(
                self.reconnect_close_after, lambda: self._close_for(conn, "reconnect_ignored"))
        return self._call(self._for_conns, shard, reconnect)

    def invalidate_session(self, resumable: bool = False, shard: Optional[int] = None) -> int:
        """Sends op 9 with d=`resumable` on the live connection(s). False ends the session (a
        resume then gets op 9 d:false). Either way the connection is no longer authenticated: the
        client may identify or resume again, on it or on a new one. Returns how many got it."""
        def invalidate(conn: GatewayConn) -> None:
            sess = conn.session
            if sess is not None:
                if resumable:
                    self._detach(sess)
                else:
                    self._invalidate(sess)
            conn.authenticated = False
            conn.session = None
            self._send_invalid_session(conn, resumable)
        return self._call(self._for_conns, shard, invalidate)

    def request_heartbeat(self, shard: Optional[int] = None) -> int:
        """Sends op 1 (the client must beat at once). Returns how many got it."""
        def request(conn: GatewayConn) -> None:
            self._send(conn, self._control(OP_HEARTBEAT))
            self._bump("heartbeat_requests")
        return self._call(self._for_conns, shard, request)

    def stop_acks(self) -> None:
        """Heartbeats get no ACK from now on (a zombie connection)."""
        self._call(setattr, self, "_acks", False)

    def resume_acks(self) -> None:
        self._call(setattr, self, "_acks", True)

    def reset(self) -> None:
        """Forgets REST records and faults (sessions and what was delivered stay)."""
        self._call(super().reset)

    def _gateway_controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        """POST /_fake/drop_connection     {}
        POST /_fake/close_connection    {"code": ..., "reason": ""}
        POST /_fake/send_reconnect      {}
        POST /_fake/invalidate_session  {"resumable": false}
        POST /_fake/request_heartbeat   {}
        POST /_fake/stop_acks, /_fake/resume_acks
        """
        def count(fn: Callable[..., int]) -> Callable[[dict], Response]:
            return lambda a: json_answer(200, {"count": fn(**a)})

        return {
            "drop_connection": count(self.drop_connection),
            "close_connection": count(self.close_connection),
            "send_reconnect": count(self.send_reconnect),
            "invalidate_session": count(self.invalidate_session),
            "request_heartbeat": count(self.request_heartbeat),
            "stop_acks": lambda a: self.stop_acks(),
            "resume_acks": lambda a: self.resume_acks(),
        }

    # ------------------------------------------------------------------ observations

    def client_payloads(self, op: Optional[int] = None) -> list[dict]:
        """Every JSON payload a gateway client sent, in order, as
        {"conn": connection number, "op", "d", "t": monotonic}."""
        with self._lock:
            return [p for p in self._payloads if op is None or p["op"] == op]

    def identify_payloads(self) -> list[dict]:
        """The `d` of every Identify received (valid or not)."""
        return [p["d"] for p in self.client_payloads(OP_IDENTIFY)]

    def resume_payloads(self) -> list[dict]:
        """The `d` of every Resume received (valid or not)."""
        return [p["d"] for p in self.client_payloads(OP_RESUME)]

    def heartbeat_seqs(self) -> list[Any]:
        """The `d` (last sequence, or None) of every heartbeat received."""
        return [p["d"] for p in self.client_payloads(OP_HEARTBEAT)]

    def sessions(self) -> list[dict]:
        """Every session: {id, shard: [id, count], intents, seq, valid, connected}."""
        return self._call(lambda: [
            {"id": s.id, "shard": [s.shard_id, s.shard_count], "intents": s.intents,
             "seq": s.seq, "valid": s.valid, "connected": s.conn is not None}
            for s in self._sessions.values()])

    def stats(self) -> dict[str, Any]:
        """Counters: connections, identifies, resume_attempts, resumes, heartbeats,
        heartbeat_requests, acks_sent, dispatches_sent, invalid_sessions_sent, reconnects_sent,
        last_client_close_code, client_close_codes, server_close_codes, live_connections,
        ready_connections, sessions, valid_sessions, pending, shard_identifies and
        shard_resumes (per shard id), shard_overlaps (per shard id: identifies and resumes that
        came while another connection was live and authenticated for that shard), requests (per
        endpoint), messages; and the platform's own (see its `_stats_unlocked`)."""
        def collect() -> dict[str, Any]:
            with self._lock:
                return self._stats_unlocked()
        return self._call(collect)

    def wait_stat(self, name: str, at_least: int, timeout: float = 10.0) -> bool:
        """Waits until stats()[name] >= at_least."""
        return wait_until(lambda: (self.stats().get(name) or 0) >= at_least, timeout, 0.02)

    def wait_connected(self, timeout: float = 10.0, shard: Optional[int] = None) -> bool:
        """Waits until a live connection is authenticated (READY or RESUMED sent) for `shard`
        (any shard when None)."""
        def ready() -> bool:
            return any(c.authenticated and not c.closing and c.session is not None
                       and (shard is None or c.session.shard_id == shard) for c in self._conns)
        return wait_until(lambda: self._call(ready), timeout, 0.02)

    def connected_owners(self) -> set[str]:
        """Whose sessions have a live authenticated connection (each session's `owner`: the
        credential it identified with, for a fake that knows several bots)."""
        return self._call(lambda: {c.session.owner for c in self._conns
                                   if c.authenticated and not c.closing
                                   and c.session is not None})

    def _stats_unlocked(self) -> dict[str, Any]:
        c = self._counts
        counts: dict[str, int] = {}
        for r in self._requests:
            counts[r.endpoint] = counts.get(r.endpoint, 0) + 1
        names = ("connections", "identifies", "resume_attempts", "resumes", "heartbeats",
                 "heartbeat_requests", "acks_sent", "dispatches_sent", "invalid_sessions_sent",
                 "reconnects_sent") + self.extra_counters
        out: dict[str, Any] = {n: c[n] for n in names}
        out.update({
            "last_client_close_code": (self._client_close_codes[-1]
                                       if self._client_close_codes else None),
            "client_close_codes": list(self._client_close_codes),
            "server_close_codes": list(self._server_close_codes),
            "live_connections": sum(1 for x in self._conns if not x.closing),
            "ready_connections": sum(1 for x in self._conns
                                     if not x.closing and x.authenticated),
            "sessions": len(self._sessions),
            "valid_sessions": sum(1 for s in self._sessions.values() if s.valid),
            "pending": len(self._pending),
            "shard_identifies": dict(self._shard_identifies),
            "shard_resumes": dict(self._shard_resumes),
            "shard_overlaps": dict(self._shard_overlaps),
            "requests": counts,
            "messages": len(self._delivered),
        })
        return out

    def _extra_stats(self) -> dict[str, Any]:  # GET /_fake/stats: on the loop, under the lock
        return {self.platform: self._stats_unlocked()}

    # ------------------------------------------------------------------ sessions

    def _emit(self, sess: GatewaySession, payload: dict) -> None:
        """Dispatches `payload` (op 0, without "s") on `sess`: numbered, kept for resumes, and
        sent when a live connection carries the session."""
        sess.seq += 1
        out = dict(payload, s=sess.seq)
        sess.events.append((sess.seq, out))
        conn = sess.conn
        if conn is not None and conn.authenticated and not conn.closing:
            self._send(conn, out)

    def _detach(self, sess: GatewaySession) -> None:
        if sess.conn is not None:
            sess.conn.session = None
            sess.conn.authenticated = False
        sess.conn = None
        sess.detached_at = time.monotonic()

    def _invalidate(self, sess: GatewaySession) -> None:
        self._detach(sess)
        sess.valid = False

    # ------------------------------------------------------------------ connections

    def _for_conns(self, shard: Optional[int], action: Callable[[GatewayConn], None]) -> int:
        targets = [c for c in self._conns if not c.closing
                   and (shard is None or (c.session is not None and c.session.shard_id == shard))]
        for conn in sorted(targets, key=lambda c: c.id):
            action(conn)
        return len(targets)

    def _control(self, op: int, d: Any = None) -> dict:
        """A control frame (not a dispatch) in the platform's shape."""
        if self.full_envelopes:
            return {"op": op, "d": d, "s": None, "t": None}
        return {"op": op} if d is None else {"op": op, "d": d}

    def _encode(self, conn: GatewayConn, payload: dict) -> Any:
        """What goes on the wire for `payload` (a platform may compress)."""
        return dumps(payload)

    def _send(self, conn: GatewayConn, payload: dict) -> None:
        if conn.closing:
            return
        if payload.get("op") == OP_DISPATCH:
            self._bump("dispatches_sent")
        conn.out.put_nowait(("frame", self._encode(conn, payload)))

    def _send_invalid_session(self, conn: GatewayConn, resumable: bool) -> None:
        self._send(conn, self._control(OP_INVALID_SESSION, bool(resumable)))
        self._bump("invalid_sessions_sent")

    def _close(self, conn: GatewayConn, code: int, reason: str = "") -> None:
        if conn.closing:
            return
        conn.closing = True
        conn.server_close = code
        with self._lock:
            self._server_close_codes.append(code)
        conn.out.put_nowait(("close", code, reason))

    def _close_for(self, conn: GatewayConn, what: str) -> None:
        """Closes with the platform's code and reason for `what` (a key of `closes`)."""
        self._close(conn, *self.closes[what])

    def _drop(self, conn: GatewayConn) -> None:
        if conn.closing:
            return
        conn.closing = True
        conn.dropped = True
        conn.out.put_nowait(("drop",))

    async def _writer(self, conn: GatewayConn) -> None:
        ws = conn.ws
        try:
            while True:
                item = await conn.out.get()
                if item[0] == "frame":
                    await ws.send(item[1])
                elif item[0] == "close":
                    await ws.close(item[1], item[2])
                    return
                elif item[0] == "drop":  # no close frame: the TCP connection just ends
                    ws.transport.abort()
                    return
                else:  # end: the connection is over
                    return
        except websockets.exceptions.ConnectionClosed:
            return

    async def _watchdog(self, conn: GatewayConn) -> None:
        while not conn.closing:
            left = conn.last_beat + self.heartbeat_timeout - time.monotonic()
            if left <= 0:
                if self.timeout_ends_session and conn.session is not None:
                    self._invalidate(conn.session)
                self._close_for(conn, "heartbeat_timeout")
                return
            await asyncio.sleep(left)

    async def _ws_handler(self, ws: Any, via_resume_url: bool) -> None:
        conn = self._new_conn(ws, via_resume_url)
        self._next_conn_id += 1
        self._conns.add(conn)
        self._bump("connections")
        writer = self._spawn(self._writer(conn))
        watchdog: Optional[asyncio.Task] = None
        refusal = self._connection_refused(ws)
        if refusal is not None:
            self._close(conn, *refusal)
        else:
            self._send(conn, self._control(OP_HELLO,
                                           {"heartbeat_interval": self.heartbeat_interval}))
            watchdog = self._spawn(self._watchdog(conn))
        try:
            async for raw in ws:
                if not conn.closing:
                    self._on_frame(conn, raw)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            if watchdog is not None:
                watchdog.cancel()
            # The writer finishes what is queued (a close in progress), then stops.
            conn.out.put_nowait(("end",))
            try:
                await asyncio.wait_for(asyncio.shield(writer), 3)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                writer.cancel()
            self._on_closed(conn)

    def _on_closed(self, conn: GatewayConn) -> None:
        self._conns.discard(conn)
        client_code: Optional[int] = None
        rcvd = conn.ws.close_rcvd
        # The client's close frame came first even when the fake queued one of its own meanwhile
        # (a Resume on the next connection taking the session over before this one is done).
        client_first = rcvd is not None and conn.ws.close_rcvd_then_sent is True
        if client_first or (not conn.dropped and conn.server_close is None):
            client_code = rcvd.code if rcvd is not None else 1006
            with self._lock:
                self._client_close_codes.append(client_code)
        conn.closing = True
        sess = conn.session
        if sess is not None and sess.conn is conn:
            # Closing with 1000/1001 ends the session like on Discord; anything else keeps it.
            if client_code in (1000, 1001):
                self._invalidate(sess)
            else:
                self._detach(sess)

    # ------------------------------------------------------------------ client frames

    def _on_frame(self, conn: GatewayConn, raw: Any) -> None:
        now = time.monotonic()
        if self._frame_refused(conn, raw, now):
            return
        try:
            msg = json.loads(raw if isinstance(raw, str) else bytes(raw).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            self._close_for(conn, "bad_json")
            return
        if not isinstance(msg, dict):
            self._close_for(conn, "bad_json")
            return
        op, d = msg.get("op"), msg.get("d")
        with self._lock:
            self._payloads.append({"conn": conn.id, "op": op, "d": d, "t": now})
        if not is_int(op):
            self._close_for(conn, "unknown_op")
        elif op == OP_HEARTBEAT:
            self._on_heartbeat(conn, d, now)
        elif op == OP_IDENTIFY:
            self._on_identify(conn, d)
        elif op == OP_RESUME:
            self._on_resume(conn, d)
        elif not self._other_op(conn, op, d):
            self._close_for(conn, "unknown_op")

    def _on_heartbeat(self, conn: GatewayConn, d: Any, now: float) -> None:
        if d is not None and not is_int(d):
            self._close_for(conn, "bad_heartbeat")
            return
        conn.last_beat = now
        self._bump("heartbeats")
        if self._acks:
            self._send(conn, self._control(OP_HEARTBEAT_ACK))
            self._bump("acks_sent")

    def _on_identify(self, conn: GatewayConn, d: Any) -> None:
        if conn.authenticated:
            self._close_for(conn, "already_authenticated")
            return
        if not isinstance(d, dict):
            self._close_for(conn, "bad_identify")
            return
        if not self._gateway_token_ok(d.get("token")):
            self._close_for(conn, "auth_failed")
            return
        shard = d.get("shard", [0, 1])
        if (not isinstance(shard, list) or len(shard) != 2 or not all(is_int(x) for x in shard)
                or not 0 <= shard[0] < shard[1]):
            self._close_for(conn, "invalid_shard")
            return
        if self._identify_refused(conn, d, shard):
            return
        self._bump("identifies")
        self._note_shard_session(conn, shard[0], self._shard_identifies)
        sess = self._new_session(d, shard)
        self._sessions[sess.id] = sess
        sess.conn = conn
        conn.session = sess
        conn.authenticated = True
        self._ready(conn, sess, d)
        self._deliver_pending(sess)

    def _note_shard_session(self, conn: GatewayConn, shard_id: int,
                            counter: collections.Counter) -> None:
        """Counts an identify or resume accepted for `shard_id`, and an overlap when another live
        connection is authenticated for that shard at that moment."""
        others = [c for c in self._conns if c is not conn and c.authenticated and not c.closing
                  and c.session is not None and c.session.shard_id == shard_id]
        with self._lock:
            counter[shard_id] += 1
            if others:
                self._shard_overlaps[shard_id] += 1

    def _on_resume(self, conn: GatewayConn, d: Any) -> None:
        if conn.authenticated:
            self._close_for(conn, "already_authenticated")
            return
        if not isinstance(d, dict) or not isinstance(d.get("session_id"), str) \
                or not is_int(d.get("seq")):
            self._close_for(conn, "bad_resume")
            return
        if not self._gateway_token_ok(d.get("token")):
            self._close_for(conn, "auth_failed")
            return
        self._bump("resume_attempts")
        sess = self._sessions.get(d["session_id"])
        if sess is not None and sess.valid:
            self._may_resume(sess, time.monotonic())
        if sess is None or not sess.valid:
            self._send_invalid_session(conn, False)
            return
        seq = d["seq"]
        if seq > sess.seq or seq < 0:
            self._invalidate(sess)
            self._close_for(conn, "invalid_seq")
            return
        self._note_shard_session(conn, sess.shard_id, self._shard_resumes)
        old = sess.conn
        if old is not None and old is not conn:
            self._detach(sess)
            self._close_for(old, "resumed_elsewhere")
        sess.conn = conn
        sess.detached_at = None
        conn.session = sess
        conn.authenticated = True
        self._bump("resumes")
        self._resumed(conn)
        for s, payload in sess.events:
            if s > seq:
                self._send(conn, payload)
        self._emit(sess, {"op": OP_DISPATCH, "t": "RESUMED", "d": self._resumed_data()})
