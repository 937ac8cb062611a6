#!/usr/bin/python3
"""A strict fake of the WeCom AI-bot long connection (智能机器人长连接) for botgate's tests.

The protocol (notes longconn-and-streaming.md section 2.1 and "Corrections from the official WeCom
AI-bot SDK"): one JSON WebSocket per bot; every frame is `{cmd, headers:{req_id}, body}` and every
answer `{headers:{req_id}, errcode, errmsg}` (no `cmd`), matched by req_id. What the fake checks:

* `aibot_subscribe {bot_id, secret}` first: errcode 0 for a configured pair, 853000 otherwise.
  After a refused subscribe the socket is of no use (every later frame answers 853000), as is a
  socket that never subscribed; both are recorded as violations.
* `ping`: acked (a switch stops the acks, another acks with an errcode); recorded with times.
* One connection per bot: a second successful subscribe sends the older connection an
  `aibot_event_callback` whose event is `disconnected_event`; that socket stays open and gets
  nothing more (its frames are recorded as violations and left unanswered).
* Replies (`aibot_respond_msg`, `_welcome_msg`, `_update_msg`): the req_id must be a callback
  this connection received (846605 otherwise); welcome within `welcome_window` of enter_chat,
  update within `update_window` of template_card_event. A second reply on a req_id whose previous
  reply is not acked yet is a violation (the platform wants one at a time). Stream bodies are
  recorded per stream id with every content version: content at most 20480 UTF-8 bytes,
  `msg_item` only with finish=true, nothing after finish, and the stream must finish within
  `stream_window` of its callback (846608 after that). Acks can be delayed and scripted to fail.
* `aibot_send_msg {chatid, msgtype, ...}`: recorded; at most `send_rate_limit` per chat in any
  `send_rate_window` seconds (45009 beyond).
* `aibot_upload_media_init/chunk/finish`: chunked upload (chunk_index from 0, at most 512 KiB
  per chunk before base64, at most 100 chunks, md5 checked); the media_id it gives is what media
  replies (`{msgtype: T, T: {media_id}}`) must name.

Inbound: `push_message()` and `push_event()` send `aibot_msg_callback` / `aibot_event_callback`
frames with a fresh req_id. Files in them (image, file, mixed items) are served encrypted as the
platform does (AES-256-CBC, key = base64(aeskey), IV = key[:16], PKCS#7 to 32 bytes) on the HTTP
port, at the `url` the message carries.

In-process use (the tests):

    fake = WecomAibotWsFake(bot_id="aib...", secret="...").start()
    ws_url = fake.ws_url                        # ws://127.0.0.1:PORT
    assert fake.wait_subscribed("aib...", 10)
    frame = fake.push_message(text="hello")    # frame["headers"]["req_id"]
    ... fake.replies(req_id=...), fake.streams(), fake.proactive(), fake.violations ...
    fake.stop()

Standalone: python3 tests/fakes/wecom_aibot_ws_fake.py --port 9999 --bot-id B --secret S
(the WebSocket on --ws-port; controls under http://HOST:PORT/_fake/..., see `_controls`).

Error codes: 853000 (subscribe) and 846605 (unknown req_id) come from the notes; the others are
marked [uncertain] where they are defined below.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hashlib
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import websockets
import websockets.exceptions
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

if not __package__:  # run as a script: make the `fakes` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.gateway_fake import dumps, is_int
from fakes.http_fake import HttpFake, Response, json_response, standalone_parser, wait_until

# Commands (client -> platform, then platform -> client).
SUBSCRIBE = "aibot_subscribe"
PING = "ping"
RESPOND = "aibot_respond_msg"
RESPOND_WELCOME = "aibot_respond_welcome_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
SEND_MSG = "aibot_send_msg"
UPLOAD_INIT = "aibot_upload_media_init"
UPLOAD_CHUNK = "aibot_upload_media_chunk"
UPLOAD_FINISH = "aibot_upload_media_finish"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
REPLY_CMDS = (RESPOND, RESPOND_WELCOME, RESPOND_UPDATE)
CLIENT_CMDS = (SUBSCRIBE, PING, *REPLY_CMDS, SEND_MSG, UPLOAD_INIT, UPLOAD_CHUNK, UPLOAD_FINISH)

# Limits (notes 2.1; the SDK's comments).
STREAM_CONTENT_MAX_BYTES = 20480
STREAM_MSG_ITEM_MAX = 10
STREAM_WINDOW = 600.0  # a stream must finish this long after its callback
WELCOME_WINDOW = 5.0  # aibot_respond_welcome_msg within this long of enter_chat
UPDATE_WINDOW = 5.0  # aibot_respond_update_msg within this long of template_card_event
SEND_RATE_LIMIT = 30  # proactive messages per chat ...
SEND_RATE_WINDOW = 60.0  # ... in any window of this many seconds
MARKDOWN_MAX_BYTES = 20480  # [uncertain] the notes give no limit for aibot_send_msg markdown
UPLOAD_CHUNK_MAX_BYTES = 512 * 1024
UPLOAD_MAX_CHUNKS = 100
MEDIA_TYPES = ("file", "image", "voice", "video")

# errcodes.
E_OK = 0
E_SUBSCRIBE = 853000  # wrong bot_id/secret; also every frame on a socket not subscribed
E_INVALID_REQ_ID = 846605  # the req_id is not a callback this connection received
# [uncertain] third-party clients name 846608 "stream message update expired"; used for a stream
# updated after `stream_window` or after it finished.
E_STREAM_EXPIRED = 846608
E_INVALID_PARAMETER = 40058  # [uncertain] WeCom's generic invalid-parameter code
E_INVALID_MSGTYPE = 40008  # [uncertain] as the HTTP API
E_INVALID_MEDIA_ID = 40007  # [uncertain] as the HTTP API
E_CONTENT_TOO_LARGE = 45002  # [uncertain] as the HTTP API
E_FREQ_LIMIT = 45009  # [uncertain] the HTTP API's "api freq out of limit"
E_UNKNOWN_CMD = 40058  # [uncertain]
E_CONFLICT = 6000  # what AstrBot retries ("conflict"); only scripted (fail_next)

_ERRMSG = {
    E_OK: "ok",
    E_SUBSCRIBE: "invalid bot_id or secret",
    E_INVALID_REQ_ID: "invalid req_id",
    E_STREAM_EXPIRED: "stream message update expired",
    E_INVALID_PARAMETER: "invalid Request Parameter",
    E_INVALID_MSGTYPE: "invalid message type",
    E_INVALID_MEDIA_ID: "invalid media_id",
    E_CONTENT_TOO_LARGE: "content size out of limit",
    E_FREQ_LIMIT: "api freq out of limit",
    E_CONFLICT: "conflict",
}

MEDIA_PATH = "/cgi-bin/aibot/media/"


@dataclass(eq=False, kw_only=True)
class Conn:
    """One client WebSocket connection (loop-confined; snapshots go to the tests)."""

    id: int
    ws: Any
    out: asyncio.Queue
    opened: float
    bot_id: Optional[str] = None  # set by a successful subscribe
    auth_failed: bool = False
    kicked: bool = False  # another connection took the bot over (disconnected_event sent)
    closed: Optional[float] = None
    close_code: Optional[int] = None  # the client's close code, None if none / dropped
    callbacks: dict = field(default_factory=dict)  # req_id -> Callback
    in_flight: dict = field(default_factory=dict)  # req_id -> replies sent, not yet acked


@dataclass
class Callback:
    """A message or event frame the fake pushed."""

    conn: int
    bot_id: str
    cmd: str  # aibot_msg_callback | aibot_event_callback
    req_id: str
    body: dict
    t: float
    wall: float

    @property
    def eventtype(self) -> Optional[str]:
        ev = self.body.get("event")
        return ev.get("eventtype") if isinstance(ev, dict) else None


@dataclass
class Reply:
    """One aibot_respond_* frame and how it was answered."""

    conn: int
    bot_id: Optional[str]
    cmd: str
    req_id: str
    body: Any
    t: float
    errcode: Optional[int] = None  # None until answered
    acked_at: Optional[float] = None
    overlapped: bool = False  # sent while an earlier reply on its req_id was not acked yet


@dataclass
class Stream:
    """A streamed reply: every content version in arrival order."""

    id: str
    req_id: str
    bot_id: Optional[str]
    versions: list = field(default_factory=list)
    finished: bool = False
    msg_item: Optional[list] = None
    feedback: Optional[dict] = None
    started: float = 0.0
    finished_at: Optional[float] = None


@dataclass
class Proactive:
    """One aibot_send_msg accepted or refused."""

    conn: int
    bot_id: Optional[str]
    req_id: str
    chatid: Any
    msgtype: Any
    body: Any
    t: float
    errcode: int = 0


@dataclass
class Ping:
    conn: int
    bot_id: Optional[str]
    req_id: str
    t: float
    wall: float
    errcode: Optional[int] = None  # None: not acked


@dataclass
class _Upload:
    bot_id: str
    type: str
    filename: str
    total_size: int
    total_chunks: int
    md5: Optional[str]
    chunks: dict = field(default_factory=dict)


class _Refused(Exception):
    """A frame answered with this errcode (and recorded as a violation when `violation`)."""

    def __init__(self, errcode: int, detail: str, violation: bool = True) -> None:
        super().__init__(detail)
        self.errcode = errcode
        self.detail = detail
        self.violation = violation


def _utf8_len(s: str) -> int:
    return len(s.encode("utf-8", "surrogatepass"))


def _pkcs7_32(data: bytes) -> bytes:
    n = 32 - len(data) % 32
    return data + bytes([n]) * n


def encrypt_media(data: bytes, aeskey: str) -> bytes:
    """How the platform serves a file: AES-256-CBC, key = base64(aeskey), IV = key[:16], PKCS#7
    padding to a multiple of 32 bytes."""
    key = base64.b64decode(aeskey)
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return enc.update(_pkcs7_32(data)) + enc.finalize()


class WecomAibotWsFake(HttpFake):
    """The fake AI-bot long connection. All public methods are safe to call from any thread;
    connection state lives on the fake's loop, records under the lock."""

    platform = "wecom-aibot"

    def __init__(
        self,
        bot_id: str = "aibK7r2XqP0vYtEwBn4m",
        secret: str = "aibot-secret-123",
        host: str = "127.0.0.1",
        port: int = 0,
        ws_port: int = 0,
        stream_window: float = STREAM_WINDOW,
        welcome_window: float = WELCOME_WINDOW,
        update_window: float = UPDATE_WINDOW,
        send_rate_limit: int = SEND_RATE_LIMIT,
        send_rate_window: float = SEND_RATE_WINDOW,
    ) -> None:
        """The windows and limits are attributes a test may change while the fake runs."""
        super().__init__(host, port)
        self.ws_port = ws_port
        self.bot_id = bot_id  # the default bot of push_message() / push_event()
        self.stream_window = stream_window
        self.welcome_window = welcome_window
        self.update_window = update_window
        self.send_rate_limit = send_rate_limit
        self.send_rate_window = send_rate_window
        self.ack_delay = 0.0  # seconds before each reply / send / upload is acked
        self.ping_acks = True  # False: pings get no answer
        self.ping_errcode = 0  # the errcode pings are acked with

        # Loop-confined.
        self._conns: dict[int, Conn] = {}
        self._active: dict[str, Conn] = {}  # bot_id -> its subscribed connection
        self._next_conn = 1
        self._ws_server: Any = None
        self._tasks: set[asyncio.Task] = set()
        self._uploads: dict[str, _Upload] = {}

        # Guarded by self._lock.
        self._secrets: dict[str, str] = {bot_id: secret}
        self._fail: dict[str, list[int]] = {}  # cmd -> errcodes to answer next
        self._violations: list[str] = []
        self._frames: list[dict] = []  # every client frame: {conn, bot_id, t, frame}
        self._subscribes: list[dict] = []
        self._pings: list[Ping] = []
        self._callbacks: list[Callback] = []
        self._replies: list[Reply] = []
        self._streams: dict[str, Stream] = {}
        self._proactive: list[Proactive] = []
        self._sent_at: dict[str, collections.deque] = {}  # chatid -> accepted send times
        self._media: dict[str, tuple[bytes, str]] = {}  # download id -> (encrypted, filename)
        self._media_ids: dict[str, dict] = {}  # uploaded media_id -> {type, filename, data}
        self._conn_log: list[dict] = []  # snapshots kept for connections()
        self._counts: collections.Counter = collections.Counter()

    # ------------------------------------------------------------------ lifecycle

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}"

    def _banner_details(self) -> str:
        return f"WebSocket {self.ws_url}, bots {', '.join(self._secrets)}"

    def start(self) -> "WecomAibotWsFake":
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
        self.start()
        print(f"{self.platform} fake: controls {self.base_url}/_fake/, "
              f"{self._banner_details()}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    async def _start_ws(self) -> None:
        self._ws_server = await websockets.serve(
            self._ws_handler, self.host, self.ws_port, compression=None, ping_interval=None,
            close_timeout=2, max_size=4 << 20)
        self.ws_port = list(self._ws_server.sockets)[0].getsockname()[1]

    async def _stop_ws(self) -> None:
        for conn in list(self._conns.values()):
            conn.out.put_nowait(("close", 1001, "server shutting down"))
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

    def _call(self, fn: Callable, *args: Any, **kw: Any) -> Any:
        """Runs fn on the fake's loop and returns its result (directly when already there)."""
        loop = self._loop
        if loop is None or not loop.is_running():
            raise RuntimeError(f"{self.platform} fake is not running")
        if threading.current_thread() is self._thread:
            return fn(*args, **kw)
        fut = asyncio.run_coroutine_threadsafe(self._run(fn, args, kw), loop)
        return fut.result(10)

    @staticmethod
    async def _run(fn: Callable, args: tuple, kw: dict) -> Any:
        return fn(*args, **kw)

    # ------------------------------------------------------------------ set-up and controls

    def add_bot(self, bot_id: str, secret: str) -> None:
        """Another bot the platform knows (its own connection)."""
        with self._lock:
            self._secrets[bot_id] = secret

    def fail_next(self, cmd: str, n: int = 1, errcode: int = E_CONFLICT) -> None:
        """The next `n` frames of `cmd` (a client command: aibot_respond_msg, aibot_send_msg,
        aibot_subscribe, ping, ...) are answered with `errcode` and not applied."""
        if cmd not in CLIENT_CMDS:
            raise ValueError(f"unknown cmd {cmd}")
        with self._lock:
            self._fail.setdefault(cmd, []).extend([errcode] * n)

    def drop_connections(self, bot_id: Optional[str] = None) -> int:
        """Ends the TCP connection(s) without a close frame; returns how many. bot_id None:
        every open connection."""
        def drop() -> int:
            targets = [c for c in self._conns.values()
                       if c.closed is None and (bot_id is None or c.bot_id == bot_id)]
            for c in targets:
                c.out.put_nowait(("drop",))
            return len(targets)
        return self._call(drop)

    def close_connections(self, code: int = 1000, reason: str = "",
                          bot_id: Optional[str] = None) -> int:
        """Closes the open connection(s) with a close frame; returns how many."""
        def close() -> int:
            targets = [c for c in self._conns.values()
                       if c.closed is None and (bot_id is None or c.bot_id == bot_id)]
            for c in targets:
                c.out.put_nowait(("close", code, reason))
            return len(targets)
        return self._call(close)

    def reset(self) -> None:
        """Forgets the records, scripted failures and switches (ping acks, ack delay);
        connections and subscriptions stay."""
        def forget() -> None:
            self.ack_delay = 0.0
            self.ping_acks = True
            self.ping_errcode = 0
            with self._lock:
                self._fail.clear()
                self._violations.clear()
                self._frames.clear()
                self._subscribes.clear()
                self._pings.clear()
                self._callbacks.clear()
                self._replies.clear()
                self._streams.clear()
                self._proactive.clear()
                self._sent_at.clear()
                self._counts.clear()
        self._call(forget)

    # ------------------------------------------------------------------ inbound

    def add_media(self, data: bytes, filename: str = "file.bin") -> tuple[str, str]:
        """Serves `data` encrypted as the platform does; returns (url, aeskey) for a message."""
        aeskey = base64.b64encode(secrets.token_bytes(32)).decode()
        mid = secrets.token_urlsafe(24)
        with self._lock:
            self._media[mid] = (encrypt_media(data, aeskey), filename)
        return f"{self.base_url}{MEDIA_PATH}{mid}", aeskey

    def message_body(self, *, text: Optional[str] = None, msgtype: Optional[str] = None,
                     bot_id: Optional[str] = None, user_id: str = "zhangsan",
                     chat_type: str = "single", chat_id: Optional[str] = None,
                     images: tuple[bytes, ...] = (), file: Optional[bytes] = None,
                     quote: Optional[dict] = None, msgid: Optional[str] = None,
                     extra: Optional[dict] = None) -> dict:
        """The body of an aibot_msg_callback: text (msgtype "text"), image (one of `images`),
        mixed (text and images), voice (text = the transcription) or file."""
        if msgtype is None:
            msgtype = ("mixed" if images and text is not None else "image" if images
                       else "file" if file is not None else "text")
        body: dict[str, Any] = {
            "msgid": msgid or secrets.token_hex(16),
            "aibotid": bot_id or self.bot_id,
            "chattype": chat_type,
            "from": {"userid": user_id},
            "create_time": int(time.time()),
            "msgtype": msgtype,
        }
        if chat_type == "group":
            body["chatid"] = chat_id or "wrkSFfCgAAtMQKg4xqDatM5C9IDHFpTw"
        if msgtype in ("text", "voice"):
            body[msgtype] = {"content": text or ""}
        elif msgtype == "image":
            url, key = self.add_media(images[0], "image.png")
            body["image"] = {"url": url, "aeskey": key}
        elif msgtype == "file":
            url, key = self.add_media(file or b"", "file.bin")
            body["file"] = {"url": url, "aeskey": key}
        elif msgtype == "mixed":
            items: list[dict] = []
            if text is not None:
                items.append({"msgtype": "text", "text": {"content": text}})
            for img in images:
                url, key = self.add_media(img, "image.png")
                items.append({"msgtype": "image", "image": {"url": url, "aeskey": key}})
            body["mixed"] = {"msg_item": items}
        if quote is not None:
            body["quote"] = quote
        body.update(extra or {})
        return body

    def push_message(self, **kw: Any) -> Optional[dict]:
        """Sends an aibot_msg_callback (see message_body for the arguments) on the bot's
        connection; returns the frame sent, or None when the bot has no connection (the
        message is then lost, as on the platform)."""
        body = kw.pop("body", None) or self.message_body(**kw)
        return self._push(MSG_CALLBACK, str(body["aibotid"]), body)

    def push_event(self, eventtype: str, *, bot_id: Optional[str] = None,
                   user_id: str = "zhangsan", chat_type: str = "single",
                   chat_id: Optional[str] = None, event: Optional[dict] = None,
                   corpid: Optional[str] = None) -> Optional[dict]:
        """Sends an aibot_event_callback: enter_chat, template_card_event (`event` holds e.g.
        {"template_card_event": {"card_type", "event_key", "task_id"}}), feedback_event
        ({"feedback_event": {"id", "type"}}), ...; returns the frame or None (no connection)."""
        bot = bot_id or self.bot_id
        frm: dict[str, Any] = {"userid": user_id}
        if corpid is not None:
            frm["corpid"] = corpid
        body: dict[str, Any] = {
            "msgid": secrets.token_hex(16),
            "create_time": int(time.time()),
            "aibotid": bot,
            "chattype": chat_type,
            "from": frm,
            "msgtype": "event",
            "event": {"eventtype": eventtype, **(event or {})},
        }
        if chat_type == "group":
            body["chatid"] = chat_id or "wrkSFfCgAAtMQKg4xqDatM5C9IDHFpTw"
        return self._push(EVENT_CALLBACK, bot, body)

    def _push(self, cmd: str, bot_id: str, body: dict) -> Optional[dict]:
        def push() -> Optional[dict]:
            conn = self._active.get(bot_id)
            if conn is None:
                self._bump("pushes_lost")
                return None
            return self._send_callback(conn, cmd, body)
        return self._call(push)

    def _send_callback(self, conn: Conn, cmd: str, body: dict) -> dict:
        # Not "ping…" nor "aibot_subscribe…": the SDK routes answers by those prefixes.
        req_id = secrets.token_hex(16)
        frame = {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}
        now = time.monotonic()
        cb = Callback(conn=conn.id, bot_id=conn.bot_id or "", cmd=cmd, req_id=req_id, body=body,
                      t=now, wall=time.time())
        conn.callbacks[req_id] = cb
        with self._lock:
            self._callbacks.append(cb)
            self._counts["callbacks_sent"] += 1
        self._send(conn, frame)
        return frame

    # ------------------------------------------------------------------ observations

    @property
    def violations(self) -> list[str]:
        """What a client did that the platform forbids, in order (empty: nothing)."""
        with self._lock:
            return list(self._violations)

    def connections(self) -> list[dict]:
        """Every connection: {id, bot_id, subscribed, auth_failed, kicked, open, opened,
        closed, close_code}."""
        def snap() -> list[dict]:
            return [{"id": c.id, "bot_id": c.bot_id, "subscribed": c.bot_id is not None,
                     "auth_failed": c.auth_failed, "kicked": c.kicked, "open": c.closed is None,
                     "opened": c.opened, "closed": c.closed, "close_code": c.close_code}
                    for c in self._conns.values()]
        with self._lock:
            gone = list(self._conn_log)
        live = self._call(snap)
        return sorted(gone + live, key=lambda c: c["id"])

    def subscribed(self, bot_id: Optional[str] = None) -> bool:
        """Whether the bot (default: the first) has an open subscribed connection now."""
        bot = bot_id or self.bot_id
        return self._call(lambda: bot in self._active and self._active[bot].closed is None)

    def wait_subscribed(self, bot_id: Optional[str] = None, timeout: float = 10.0) -> bool:
        return wait_until(lambda: self.subscribed(bot_id), timeout)

    def subscribes(self) -> list[dict]:
        """Every aibot_subscribe: {conn, bot_id, secret_ok, errcode, body, t}."""
        with self._lock:
            return list(self._subscribes)

    def pings(self, bot_id: Optional[str] = None) -> list[Ping]:
        with self._lock:
            return [p for p in self._pings if bot_id is None or p.bot_id == bot_id]

    def callbacks(self) -> list[Callback]:
        with self._lock:
            return list(self._callbacks)

    def replies(self, req_id: Optional[str] = None) -> list[Reply]:
        """aibot_respond_* frames in arrival order (all, or those of one callback)."""
        with self._lock:
            return [r for r in self._replies if req_id is None or r.req_id == req_id]

    def streams(self) -> dict[str, Stream]:
        """Stream id -> its record (content versions in order, finished or not)."""
        with self._lock:
            return {k: Stream(**{**v.__dict__, "versions": list(v.versions)})
                    for k, v in self._streams.items()}

    def proactive(self, chatid: Optional[str] = None) -> list[Proactive]:
        with self._lock:
            return [p for p in self._proactive if chatid is None or p.chatid == chatid]

    def frames(self, cmd: Optional[str] = None) -> list[dict]:
        """Every client frame: {conn, bot_id, t, frame} (frame: the parsed JSON, or the raw
        text when it was not JSON)."""
        with self._lock:
            return [f for f in self._frames if cmd is None
                    or (isinstance(f["frame"], dict) and f["frame"].get("cmd") == cmd)]

    def uploaded(self, media_id: str) -> Optional[dict]:
        """An uploaded file: {type, filename, data}; None if unknown."""
        with self._lock:
            return self._media_ids.get(media_id)

    def stats(self) -> dict[str, Any]:
        def collect() -> dict[str, Any]:
            with self._lock:
                out = dict(self._counts)
                out.update({
                    "connections": len(self._conn_log) + len(self._conns),
                    "open_connections": sum(1 for c in self._conns.values() if c.closed is None),
                    "subscribed_bots": sorted(b for b, c in self._active.items()
                                              if c.closed is None),
                    "pings": len(self._pings), "replies": len(self._replies),
                    "streams": len(self._streams), "proactive": len(self._proactive),
                    "violations": len(self._violations),
                })
                return out
        return self._call(collect)

    def _extra_stats(self) -> dict[str, Any]:  # GET /_fake/stats
        return {"aibot": {k: v for k, v in self._counts.items()}}

    def _bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def _violation(self, conn: Conn, what: str) -> None:
        with self._lock:
            self._violations.append(f"conn {conn.id} ({conn.bot_id or 'not subscribed'}): {what}")

    # ------------------------------------------------------------------ connections

    def _send(self, conn: Conn, frame: dict) -> None:
        if conn.closed is None:
            conn.out.put_nowait(("frame", dumps(frame)))

    def _answer(self, conn: Conn, req_id: str, errcode: int, detail: str = "",
                body: Optional[dict] = None) -> None:
        msg = _ERRMSG.get(errcode, "error")
        if detail and errcode != 0:
            msg += f" ({detail})"
        frame: dict[str, Any] = {"headers": {"req_id": req_id}, "errcode": errcode,
                                 "errmsg": msg}
        if body is not None:
            frame["body"] = body
        self._send(conn, frame)

    async def _writer(self, conn: Conn) -> None:
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
                else:
                    return
        except websockets.exceptions.ConnectionClosed:
            return

    async def _ws_handler(self, ws: Any, path: str = "") -> None:
        conn = Conn(id=self._next_conn, ws=ws, out=asyncio.Queue(), opened=time.monotonic())
        self._next_conn += 1
        self._conns[conn.id] = conn
        self._bump("connections_opened")
        writer = self._spawn(self._writer(conn))
        try:
            async for raw in ws:
                self._on_frame(conn, raw)
        except websockets.exceptions.ConnectionClosed:
            pass
        finally:
            conn.closed = time.monotonic()
            conn.close_code = ws.close_code if ws.close_rcvd is not None else None
            conn.out.put_nowait(("end",))
            try:
                await asyncio.wait_for(writer, 3)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
            if conn.bot_id is not None and self._active.get(conn.bot_id) is conn:
                del self._active[conn.bot_id]
            del self._conns[conn.id]
            with self._lock:
                self._conn_log.append({
                    "id": conn.id, "bot_id": conn.bot_id, "subscribed": conn.bot_id is not None,
                    "auth_failed": conn.auth_failed, "kicked": conn.kicked, "open": False,
                    "opened": conn.opened, "closed": conn.closed, "close_code": conn.close_code})

    # ------------------------------------------------------------------ frames

    def _on_frame(self, conn: Conn, raw: Any) -> None:
        now = time.monotonic()
        try:
            if isinstance(raw, bytes):
                raise ValueError("a binary frame")
            frame = json.loads(raw)
        except ValueError as e:
            with self._lock:
                self._frames.append({"conn": conn.id, "bot_id": conn.bot_id, "t": now,
                                     "frame": raw})
            self._violation(conn, f"not a JSON text frame: {e}")
            return
        with self._lock:
            self._frames.append({"conn": conn.id, "bot_id": conn.bot_id, "t": now,
                                 "frame": frame})
        if conn.kicked:  # taken over: the platform no longer listens here
            self._violation(conn, f"a frame after disconnected_event: {str(frame)[:120]}")
            return
        headers = frame.get("headers") if isinstance(frame, dict) else None
        req_id = headers.get("req_id") if isinstance(headers, dict) else None
        cmd = frame.get("cmd") if isinstance(frame, dict) else None
        if not isinstance(req_id, str) or not req_id:
            self._violation(conn, f"a frame without headers.req_id: {str(frame)[:120]}")
            return
        try:
            if cmd not in CLIENT_CMDS:
                raise _Refused(E_UNKNOWN_CMD, f"unknown cmd {cmd!r}")
            if cmd != SUBSCRIBE and conn.bot_id is None:
                raise _Refused(E_SUBSCRIBE, f"{cmd} before a successful aibot_subscribe")
            if conn.auth_failed:
                raise _Refused(E_SUBSCRIBE, f"{cmd} on a socket whose subscribe was refused")
            with self._lock:
                queue = self._fail.get(cmd)
                scripted = queue.pop(0) if queue else None
            body = frame.get("body")
            handler = {
                SUBSCRIBE: self._on_subscribe, PING: self._on_ping, SEND_MSG: self._on_send,
                UPLOAD_INIT: self._on_upload_init, UPLOAD_CHUNK: self._on_upload_chunk,
                UPLOAD_FINISH: self._on_upload_finish,
            }.get(cmd, self._on_reply)
            handler(conn, cmd, req_id, body, now, scripted)
        except _Refused as e:
            if e.violation:
                self._violation(conn, e.detail)
            self._answer(conn, req_id, e.errcode, e.detail)

    def _on_subscribe(self, conn: Conn, cmd: str, req_id: str, body: Any, now: float,
                      scripted: Optional[int]) -> None:
        if conn.bot_id is not None:
            raise _Refused(E_INVALID_PARAMETER, "aibot_subscribe twice on one connection")
        bot_id = body.get("bot_id") if isinstance(body, dict) else None
        secret = body.get("secret") if isinstance(body, dict) else None
        with self._lock:
            ok = isinstance(bot_id, str) and self._secrets.get(bot_id) == secret
        errcode = scripted if scripted is not None else (E_OK if ok else E_SUBSCRIBE)
        with self._lock:
            self._subscribes.append({"conn": conn.id, "bot_id": bot_id, "secret_ok": ok,
                                     "errcode": errcode, "body": body, "t": now})
        if errcode != E_OK:
            conn.auth_failed = True
            self._answer(conn, req_id, errcode)
            return
        old = self._active.get(bot_id)
        conn.bot_id = bot_id
        self._active[bot_id] = conn
        self._answer(conn, req_id, E_OK)
        if old is not None and old.closed is None:
            # The older connection is told, then hears nothing more (its socket stays open).
            self._send_callback(old, EVENT_CALLBACK, {
                "msgid": secrets.token_hex(16), "create_time": int(time.time()),
                "aibotid": bot_id, "msgtype": "event",
                "event": {"eventtype": "disconnected_event"}})
            old.kicked = True
            self._bump("disconnected_events_sent")

    def _on_ping(self, conn: Conn, cmd: str, req_id: str, body: Any, now: float,
                 scripted: Optional[int]) -> None:
        ping = Ping(conn=conn.id, bot_id=conn.bot_id, req_id=req_id, t=now, wall=time.time())
        with self._lock:
            self._pings.append(ping)
        if not self.ping_acks:
            return
        ping.errcode = scripted if scripted is not None else self.ping_errcode
        self._answer(conn, req_id, ping.errcode)

    # ------------------------------------------------------------------ replies

    def _ack_later(self, conn: Conn, req_id: str, errcode: int, detail: str = "",
                   body: Optional[dict] = None, reply: Optional[Reply] = None) -> None:
        """Acks after `ack_delay`; until then the req_id has a reply in flight."""
        conn.in_flight[req_id] = conn.in_flight.get(req_id, 0) + 1
        if reply is not None:
            reply.errcode = errcode

        def ack() -> None:
            n = conn.in_flight.get(req_id, 1) - 1
            if n <= 0:
                conn.in_flight.pop(req_id, None)
            else:
                conn.in_flight[req_id] = n
            if conn.kicked:
                return
            if reply is not None:
                with self._lock:
                    reply.acked_at = time.monotonic()
            self._answer(conn, req_id, errcode, detail, body)

        if self.ack_delay > 0:
            asyncio.get_running_loop().call_later(self.ack_delay, ack)
        else:
            ack()

    def _on_reply(self, conn: Conn, cmd: str, req_id: str, body: Any, now: float,
                  scripted: Optional[int]) -> None:
        reply = Reply(conn=conn.id, bot_id=conn.bot_id, cmd=cmd, req_id=req_id, body=body, t=now)
        if conn.in_flight.get(req_id):
            reply.overlapped = True
            self._violation(conn, f"{cmd} on req_id {req_id} while its previous reply is not "
                                  "acked yet (one at a time)")
        with self._lock:
            self._replies.append(reply)
        if scripted is not None:
            self._ack_later(conn, req_id, scripted, "scripted", reply=reply)
            return
        try:
            self._check_reply(conn, cmd, req_id, body, now)
        except _Refused as e:
            if e.violation:
                self._violation(conn, e.detail)
            self._ack_later(conn, req_id, e.errcode, e.detail, reply=reply)
            return
        self._ack_later(conn, req_id, E_OK, reply=reply)

    def _check_reply(self, conn: Conn, cmd: str, req_id: str, body: Any, now: float) -> None:
        cb: Optional[Callback] = conn.callbacks.get(req_id)
        if cb is None:
            raise _Refused(E_INVALID_REQ_ID, f"{cmd}: req_id {req_id} is no callback of this "
                                             "connection")
        if not isinstance(body, dict):
            raise _Refused(E_INVALID_PARAMETER, f"{cmd}: body is not an object")
        if cmd == RESPOND_WELCOME:
            if cb.eventtype != "enter_chat":
                raise _Refused(E_INVALID_REQ_ID, "welcome reply to a callback not enter_chat")
            if now - cb.t > self.welcome_window:
                raise _Refused(E_INVALID_REQ_ID, f"welcome reply {now - cb.t:.1f} s after "
                                                 "enter_chat")
            if body.get("msgtype") == "text":
                _text(body, "text", STREAM_CONTENT_MAX_BYTES)
            elif body.get("msgtype") == "template_card":
                _card(body)
            else:
                raise _Refused(E_INVALID_MSGTYPE, f"welcome msgtype {body.get('msgtype')!r}")
            return
        if cmd == RESPOND_UPDATE:
            if cb.eventtype != "template_card_event":
                raise _Refused(E_INVALID_REQ_ID, "card update to a callback not "
                                                 "template_card_event")
            if now - cb.t > self.update_window:
                raise _Refused(E_INVALID_REQ_ID, f"card update {now - cb.t:.1f} s after the "
                                                 "event")
            if body.get("response_type") != "update_template_card":
                raise _Refused(E_INVALID_PARAMETER, "response_type must be update_template_card")
            _card(body)
            return
        msgtype = body.get("msgtype")
        if cb.eventtype == "disconnected_event":
            raise _Refused(E_INVALID_REQ_ID, "reply to disconnected_event")
        if msgtype in ("stream", "stream_with_template_card"):
            self._on_stream(conn, req_id, cb, body, now)
            if msgtype == "stream_with_template_card" and "template_card" in body:
                _card(body)
        elif msgtype == "template_card":
            _card(body)
        elif msgtype in MEDIA_TYPES:
            inner = body.get(msgtype)
            mid = inner.get("media_id") if isinstance(inner, dict) else None
            with self._lock:
                known = isinstance(mid, str) and mid in self._media_ids
            if not known:
                raise _Refused(E_INVALID_MEDIA_ID, f"{msgtype}.media_id {mid!r} unknown")
        else:
            raise _Refused(E_INVALID_MSGTYPE, f"reply msgtype {msgtype!r}")

    def _on_stream(self, conn: Conn, req_id: str, cb: Callback, body: dict, now: float) -> None:
        st = body.get("stream")
        if not isinstance(st, dict):
            raise _Refused(E_INVALID_PARAMETER, "stream must be an object")
        sid, content, finish = st.get("id"), st.get("content", ""), st.get("finish", False)
        if not isinstance(sid, str) or not sid:
            raise _Refused(E_INVALID_PARAMETER, "stream.id must be a non-empty string")
        if not isinstance(content, str):
            raise _Refused(E_INVALID_PARAMETER, "stream.content must be a string")
        if not isinstance(finish, bool):
            raise _Refused(E_INVALID_PARAMETER, "stream.finish must be a boolean")
        if _utf8_len(content) > STREAM_CONTENT_MAX_BYTES:
            raise _Refused(E_CONTENT_TOO_LARGE, f"stream.content is {_utf8_len(content)} bytes "
                                                f"> {STREAM_CONTENT_MAX_BYTES}")
        items = st.get("msg_item")
        if items is not None:
            if not finish:
                raise _Refused(E_INVALID_PARAMETER, "stream.msg_item without finish=true")
            _msg_items(items)
        with self._lock:
            rec = self._streams.get(sid)
        if rec is not None and rec.req_id != req_id:
            raise _Refused(E_INVALID_PARAMETER, f"stream {sid} belongs to req_id {rec.req_id}")
        if rec is not None and rec.finished:
            raise _Refused(E_STREAM_EXPIRED, f"stream {sid} updated after it finished")
        if now - cb.t > self.stream_window:
            raise _Refused(E_STREAM_EXPIRED, f"stream {sid} updated {now - cb.t:.0f} s after "
                                             f"its callback (window {self.stream_window:.0f} s)")
        with self._lock:
            if rec is None:
                rec = self._streams[sid] = Stream(id=sid, req_id=req_id, bot_id=conn.bot_id,
                                                  started=now)
            rec.versions.append(content)
            if isinstance(st.get("feedback"), dict):
                rec.feedback = st["feedback"]
            if finish:
                rec.finished = True
                rec.finished_at = now
                rec.msg_item = items

    # ------------------------------------------------------------------ proactive messages

    def _on_send(self, conn: Conn, cmd: str, req_id: str, body: Any, now: float,
                 scripted: Optional[int]) -> None:
        chatid = body.get("chatid") if isinstance(body, dict) else None
        msgtype = body.get("msgtype") if isinstance(body, dict) else None
        rec = Proactive(conn=conn.id, bot_id=conn.bot_id, req_id=req_id, chatid=chatid,
                        msgtype=msgtype, body=body, t=now)
        with self._lock:
            self._proactive.append(rec)
        if scripted is not None:
            rec.errcode = scripted
            self._ack_later(conn, req_id, scripted, "scripted")
            return
        try:
            if not isinstance(chatid, str) or not chatid:
                raise _Refused(E_INVALID_PARAMETER, "aibot_send_msg: chatid must be a non-empty "
                                                    "string")
            if msgtype == "markdown":
                _text(body, "markdown", MARKDOWN_MAX_BYTES)
            elif msgtype == "template_card":
                _card(body)
            elif msgtype in MEDIA_TYPES:
                inner = body.get(msgtype)
                mid = inner.get("media_id") if isinstance(inner, dict) else None
                with self._lock:
                    known = isinstance(mid, str) and mid in self._media_ids
                if not known:
                    raise _Refused(E_INVALID_MEDIA_ID, f"{msgtype}.media_id {mid!r} unknown")
            else:
                raise _Refused(E_INVALID_MSGTYPE, f"aibot_send_msg msgtype {msgtype!r}")
            # The window counts accepted messages only.
            with self._lock:
                window = self._sent_at.setdefault(chatid, collections.deque())
                while window and now - window[0] >= self.send_rate_window:
                    window.popleft()
                if len(window) >= self.send_rate_limit:
                    raise _Refused(E_FREQ_LIMIT, f"more than {self.send_rate_limit} messages to "
                                                 f"{chatid} in {self.send_rate_window:.0f} s",
                                   violation=False)
                window.append(now)
        except _Refused as e:
            rec.errcode = e.errcode
            if e.violation:
                self._violation(conn, e.detail)
            self._ack_later(conn, req_id, e.errcode, e.detail)
            return
        self._ack_later(conn, req_id, E_OK)

    # ------------------------------------------------------------------ media upload

    def _on_upload_init(self, conn: Conn, cmd: str, req_id: str, body: Any, now: float,
                        scripted: Optional[int]) -> None:
        if scripted is not None:
            self._ack_later(conn, req_id, scripted, "scripted")
            return
        b = body if isinstance(body, dict) else {}
        size, chunks = b.get("total_size"), b.get("total_chunks")
        if b.get("type") not in MEDIA_TYPES or not isinstance(b.get("filename"), str) \
                or not is_int(size) or not is_int(chunks) or size <= 0 \
                or not 1 <= chunks <= UPLOAD_MAX_CHUNKS \
                or chunks != -(-size // UPLOAD_CHUNK_MAX_BYTES):
            raise _Refused(E_INVALID_PARAMETER, f"aibot_upload_media_init: bad body {b!r:.200}")
        uid = secrets.token_hex(16)
        self._uploads[uid] = _Upload(bot_id=conn.bot_id or "", type=b["type"],
                                     filename=b["filename"], total_size=size,
                                     total_chunks=chunks, md5=b.get("md5"))
        self._ack_later(conn, req_id, E_OK, body={"upload_id": uid})

    def _on_upload_chunk(self, conn: Conn, cmd: str, req_id: str, body: Any, now: float,
                         scripted: Optional[int]) -> None:
        if scripted is not None:
            self._ack_later(conn, req_id, scripted, "scripted")
            return
        b = body if isinstance(body, dict) else {}
        up = self._uploads.get(b.get("upload_id"))
        idx = b.get("chunk_index")
        if up is None or up.bot_id != conn.bot_id:
            raise _Refused(E_INVALID_PARAMETER, "unknown upload_id")
        if not is_int(idx) or not 0 <= idx < up.total_chunks:
            raise _Refused(E_INVALID_PARAMETER, f"chunk_index {idx!r} (from 0)")
        try:
            data = base64.b64decode(b.get("base64_data") or "", validate=True)
        except (binascii.Error, TypeError) as e:
            raise _Refused(E_INVALID_PARAMETER, "base64_data is not base64") from e
        if not data or len(data) > UPLOAD_CHUNK_MAX_BYTES:
            raise _Refused(E_INVALID_PARAMETER, f"chunk of {len(data)} bytes")
        up.chunks[idx] = data
        self._ack_later(conn, req_id, E_OK)

    def _on_upload_finish(self, conn: Conn, cmd: str, req_id: str, body: Any, now: float,
                          scripted: Optional[int]) -> None:
        if scripted is not None:
            self._ack_later(conn, req_id, scripted, "scripted")
            return
        uid = body.get("upload_id") if isinstance(body, dict) else None
        up = self._uploads.get(uid)
        if up is None or up.bot_id != conn.bot_id:
            raise _Refused(E_INVALID_PARAMETER, "unknown upload_id")
        if len(up.chunks) != up.total_chunks:
            raise _Refused(E_INVALID_PARAMETER, f"{len(up.chunks)} of {up.total_chunks} chunks")
        data = b"".join(up.chunks[i] for i in range(up.total_chunks))
        if len(data) != up.total_size:
            raise _Refused(E_INVALID_PARAMETER, f"{len(data)} bytes, total_size {up.total_size}")
        if up.md5 is not None and hashlib.md5(data).hexdigest() != str(up.md5).lower():
            raise _Refused(E_INVALID_PARAMETER, "md5 does not match")
        del self._uploads[uid]
        media_id = "3" + secrets.token_urlsafe(48)
        with self._lock:
            self._media_ids[media_id] = {"type": up.type, "filename": up.filename, "data": data}
        self._ack_later(conn, req_id, E_OK, body={
            "type": up.type, "media_id": media_id, "created_at": str(int(time.time()))})

    # ------------------------------------------------------------------ HTTP: media, controls

    def _classify(self, path: str) -> str:
        return "media" if path.startswith(MEDIA_PATH) else "other"

    async def _route(self, req, reader) -> Optional[Response]:
        if req.endpoint == "media" and req.method == "GET":
            with self._lock:
                item = self._media.get(req.path[len(MEDIA_PATH):])
            if item is not None:
                return self._finish(req, Response(200, item[0], {
                    "Content-Disposition": f'attachment; filename="{item[1]}"'},
                    "application/octet-stream"))
        return self._finish(req, Response(404, b"", {}, "text/plain"))

    def _controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        """POST /_fake/push_message     {"text": "hi", "chat_type": "group", ...} -> the frame
        POST /_fake/push_event       {"eventtype": "enter_chat", ...} -> the frame
        POST /_fake/fail_next        {"cmd": "aibot_respond_msg", "n": 1, "errcode": 6000}
        POST /_fake/drop_connections {}
        POST /_fake/ping_acks        {"on": false, "errcode": 0}
        GET  /_fake/stats
        """
        def frame(f: Optional[dict]) -> Response:
            return json_response(200, {"frame": f}, ensure_ascii=False)

        def ping_acks(a: dict) -> None:
            self.ping_acks = bool(a.get("on", True))
            self.ping_errcode = int(a.get("errcode", 0))

        return {
            "push_message": lambda a: frame(self.push_message(**a)),
            "push_event": lambda a: frame(self.push_event(**a)),
            "fail_next": lambda a: self.fail_next(str(a["cmd"]), int(a.get("n", 1)),
                                                  int(a.get("errcode", E_CONFLICT))),
            "drop_connections": lambda a: json_response(
                200, {"count": self.drop_connections(a.get("bot_id"))}),
            "ping_acks": ping_acks,
        }


# ---------------------------------------------------------------------- body checks


def _text(body: dict, key: str, limit: int) -> None:
    inner = body.get(key)
    content = inner.get("content") if isinstance(inner, dict) else None
    if not isinstance(content, str) or not content.strip():
        raise _Refused(E_INVALID_PARAMETER, f"{key}.content must be a non-empty string")
    if _utf8_len(content) > limit:
        raise _Refused(E_CONTENT_TOO_LARGE, f"{key}.content is {_utf8_len(content)} bytes")


def _card(body: dict) -> None:
    card = body.get("template_card")
    if not isinstance(card, dict) or not isinstance(card.get("card_type"), str):
        raise _Refused(E_INVALID_PARAMETER, "template_card needs a card_type")


def _msg_items(items: Any) -> None:
    if not isinstance(items, list) or not 1 <= len(items) <= STREAM_MSG_ITEM_MAX:
        raise _Refused(E_INVALID_PARAMETER, "stream.msg_item: 1 to 10 items")
    for it in items:
        img = it.get("image") if isinstance(it, dict) else None
        if not isinstance(it, dict) or it.get("msgtype") != "image" or not isinstance(img, dict):
            raise _Refused(E_INVALID_PARAMETER, "stream.msg_item entries are images")
        try:
            raw = base64.b64decode(img.get("base64") or "", validate=True)
        except (binascii.Error, TypeError) as e:
            raise _Refused(E_INVALID_PARAMETER, "msg_item image.base64 is not base64") from e
        if hashlib.md5(raw).hexdigest() != str(img.get("md5", "")).lower():
            raise _Refused(E_INVALID_PARAMETER, "msg_item image.md5 does not match")


def main() -> None:
    ap = standalone_parser("fake WeCom AI-bot long connection")
    ap.add_argument("--ws-port", type=int)
    ap.add_argument("--bot-id")
    ap.add_argument("--secret")
    ap.add_argument("--stream-window", type=float, help="seconds a stream may run")
    WecomAibotWsFake(**vars(ap.parse_args())).serve_forever()


if __name__ == "__main__":
    main()
