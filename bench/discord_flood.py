"""The fake Discord of the gateway flood, split so that it is not the ceiling of a fast bot:

* the Gateway is tests/fakes/discord_fake.py's (Hello, Identify -> READY, heartbeat ACKs,
  Resume with replay, the close codes), in this process on the load core; the flood writes
  MESSAGE_CREATE frames encoded before the clock starts, many per write;
* the REST API is nginx (one worker, on the load core): static JSON for what the bots call at
  start, and for POST /channels/{id}/messages a static message object, after nginx has read the
  body (a mirror of the request wants it) so that its access log holds every request with its
  body and `$msec`;
* the gateway tails that log: it sends each reply back as MESSAGE_CREATE, as Discord does, and
  tallies which flooded messages got a valid reply and when.
"""

from __future__ import annotations

import common  # noqa: F401 - first: puts tests/ on sys.path

import asyncio
import collections
import getpass
import json
import os
import re
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from fakes.discord_fake import DIRECT_MESSAGES, DiscordFake, _Session, _now_iso

from common import LOAD_CORE, Server, free_port, wait_http

API = "/api/v10"
REPLY_PREFIX = "Hello, "  # what both bots answer: "Hello, <content>"
TAIL_INTERVAL = 0.002  # seconds between two reads of nginx's access log
FRAMES_PER_WRITE = 500
USER_BASE = 500000000000000000
CHANNEL_BASE = 700000000000000000
_MESSAGES_URI = re.compile(r"^/api/v10/channels/(\d+)/messages$")


# ---------------------------------------------------------------------- REST: nginx


NGINX_CONF = """\
@USER@worker_processes 1;
daemon off;
pid @PREFIX@/nginx.pid;
error_log @PREFIX@/error.log warn;
events { worker_connections 4096; }
http {
    client_body_temp_path @PREFIX@/body;
    proxy_temp_path @PREFIX@/proxy;
    fastcgi_temp_path @PREFIX@/fastcgi;
    uwsgi_temp_path @PREFIX@/uwsgi;
    scgi_temp_path @PREFIX@/scgi;
    keepalive_requests 1000000;
    default_type application/json;
    # One buffer big enough for any reply: $request_body is only set for a body kept in memory.
    client_body_buffer_size 64k;
    client_body_in_single_buffer on;
    open_file_cache max=16;  # the file below, opened once

    # Every request, one line: tab-separated fields, the body last and as sent (a body with a
    # line break in it breaks its line, which then does not count).
    log_format api escape=none
        '$msec\t$status\t$request_method\t$request_uri\t$reply_id\t$request_body';

    map_hash_bucket_size 256;  # room for the token's key
    # The bench's start-up probe is not the bots' business: not logged.
    map $request_uri $logged { /_fake/ready 0; default 1; }
    map $http_authorization $bot_auth { "Bot @TOKEN@" ok; default bad; }
    map $http_user_agent $discord_agent { ~^DiscordBot ok; default bad; }
    # A reply's id: 9, the connection's number, the request's number on it in 6 digits (unique).
    # (A map, not a `set`: the answer comes from an internal redirect, which forgets `set`s.)
    map $connection_requests $reply_id {
        ~^(\\d)$ 9${connection}00000$1; ~^(\\d\\d)$ 9${connection}0000$1;
        ~^(\\d\\d\\d)$ 9${connection}000$1; ~^(\\d\\d\\d\\d)$ 9${connection}00$1;
        ~^(\\d\\d\\d\\d\\d)$ 9${connection}0$1; default 9$connection$connection_requests;
    }
    map $request_uri $channel { ~^/api/v10/channels/(\\d+)/messages$ $1; default ""; }

    server {
        listen 127.0.0.1:@PORT@ backlog=4096;
        # $msec is taken when a request ends, not when its line is written: buffering the log
        # spares a write a request without moving the times.
        access_log @PREFIX@/api.log api buffer=64k flush=5ms if=$logged;
        if ($discord_agent != ok) { return 403 "error code: 1010"; }

        location = /api/v10/gateway { return 200 '@GATEWAY@'; }
        location = /api/v10/gateway/bot {
            if ($bot_auth != ok) { return 401 '@UNAUTHORIZED@'; }
            return 200 '@GATEWAY_BOT@';
        }
        location = /api/v10/users/@me {
            if ($bot_auth != ok) { return 401 '@UNAUTHORIZED@'; }
            return 200 '@BOT_USER@';
        }
        location ~ ^/api/v10/channels/\\d+/messages$ {
            # (A `return` with a text is sent as is: the error_page below does not apply.)
            if ($request_method != POST) { return 405 '@NOT_ALLOWED@'; }
            if ($bot_auth != ok) { return 401 '@UNAUTHORIZED@'; }
            # nginx reads a body only for a module that wants it: the mirror does (it copies
            # the request to /_mirror), so the log gets $request_body. The answer: the static
            # module refuses a POST to a file (405), which error_page turns into the message.
            mirror /_mirror;
            mirror_request_body on;
            root @PREFIX@;
            try_files /post-target =404;
            error_page 405 =200 @message;
        }
        location = /_mirror { internal; return 204; }
        location @message { return 200 '@MESSAGE@'; }
        location / { return 404 '@NOT_FOUND@'; }
    }
}
"""


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # made once: json.dumps would make one a call


def _compact(obj: Any) -> str:
    return _ENCODER.encode(obj)


def _error(message: str) -> str:
    return _compact({"message": message, "code": 0})


def message_object(bot_user: dict) -> str:
    """The answer to every Create Message: a valid message object (what discord.py parses into a
    Message); its id and channel come from the request, its content is not copied back."""
    return _compact({
        "id": "$reply_id", "channel_id": "$channel", "type": 0,
        "author": bot_user, "content": "", "timestamp": "2024-01-01T00:00:00.000000+00:00",
        "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "flags": 0,
        "components": []})


def nginx_conf(prefix: Path, port: int, fake: DiscordFake) -> str:
    """NGINX_CONF filled in: nginx's files under `prefix`, the answers naming `fake`."""
    bot_user = fake._bot_user()  # noqa: SLF001 - the same user the gateway's READY names
    values = {
        "USER": f"user {getpass.getuser()};\n" if os.geteuid() == 0 else "",
        "PREFIX": str(prefix),
        "PORT": str(port),
        "TOKEN": fake.token,
        "GATEWAY": _compact({"url": fake.gateway_url}),
        "GATEWAY_BOT": _compact({"url": fake.gateway_url, "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 86_400_000, "max_concurrency": 1}}),
        "BOT_USER": _compact(dict(bot_user, verified=True, flags=0, mfa_enabled=False)),
        "MESSAGE": message_object(bot_user),
        "UNAUTHORIZED": _error("401: Unauthorized"),
        "NOT_ALLOWED": _error("405: Method Not Allowed"),
        "NOT_FOUND": _error("404: Not Found"),
    }
    conf = NGINX_CONF
    for name, value in values.items():
        assert "'" not in value, name  # the values sit in single-quoted nginx strings
        conf = conf.replace(f"@{name}@", value)
    return conf


def rest_dir(work: Path) -> Path:
    """Where nginx keeps its files, among them the access log (api.log)."""
    return work / "discord-rest"


def start_rest(fake: DiscordFake, work: Path) -> tuple[Server, str]:
    """nginx serving the REST API on the load core: (the server, its API base)."""
    prefix = rest_dir(work)
    prefix.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, port, fake))
    (prefix / "post-target").write_text("")  # the file a POST is refused for (see the conf)
    server = Server("discord-rest", ["nginx", "-p", str(prefix), "-c", str(conf),
                                     "-e", str(prefix / "error.log")],
                    prefix / "stderr.log", core=LOAD_CORE).start()
    base = f"http://127.0.0.1:{port}{API}"
    try:
        # The probe has no DiscordBot User-Agent: 403 is nginx's answer to it.
        wait_http(f"http://127.0.0.1:{port}/_fake/ready", 15, server.proc, ok=(403,))
    except Exception:
        server.stop()
        raise RuntimeError(f"nginx did not start:\n{server.log_tail()}")
    return server, base


# ---------------------------------------------------------------------- replies


@dataclass
class LogEntry:
    """One line of nginx's access log (see log_format)."""

    msec: float
    status: int
    method: str
    uri: str
    reply_id: str  # the id nginx gave a Create Message it answered
    body: str

    @staticmethod
    def parse(line: bytes) -> Optional["LogEntry"]:
        fields = line.decode("utf-8", "replace").split("\t", 5)
        if len(fields) != 6:
            return None
        try:
            return LogEntry(float(fields[0]), int(fields[1]), *fields[2:])
        except ValueError:
            return None


@dataclass
class Tally:
    """What the access log showed: the first valid reply to each flooded message (its `$msec`),
    repeats, and every other request by reason."""

    expected: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (channel, reply)
    first: dict[str, float] = field(default_factory=dict)  # id -> $msec of its first reply
    duplicates: int = 0
    rejected: collections.Counter = field(default_factory=collections.Counter)

    def check(self, entry: LogEntry, channel: str, body: Optional[dict]) -> None:
        """Counts one Create Message (to `channel`) the log shows."""
        if entry.status != 200:
            self.rejected[f"answered {entry.status}"] += 1
            return
        replied_to = _referenced_id(body)
        target = self.expected.get(replied_to) if replied_to is not None else None
        if target is None:
            self.rejected["not a reply to a flooded message"] += 1
        elif channel != target[0]:
            self.rejected["reply in another channel"] += 1
        elif body.get("content") != target[1]:
            self.rejected["unexpected content"] += 1
        elif replied_to in self.first:
            self.duplicates += 1
        else:
            self.first[replied_to] = entry.msec


def _referenced_id(body: Optional[dict]) -> Optional[str]:
    """The message a Create Message body replies to (a snowflake: string or integer)."""
    ref = body.get("message_reference") if body else None
    if not isinstance(ref, dict) or ref.get("message_id") is None:
        return None
    return str(ref["message_id"])


def _websocket_frame(payload: bytes) -> bytes:
    """A server-to-client text frame (unmasked, unfragmented; RFC 6455 5.2)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


def _dispatch_frame(seq: int, d_json: str) -> bytes:
    return _websocket_frame(
        f'{{"op":0,"d":{d_json},"s":{seq},"t":"MESSAGE_CREATE"}}'.encode())


# ---------------------------------------------------------------------- the gateway


class FloodFake(DiscordFake):
    """DiscordFake's gateway, plus a flood of pre-encoded frames and, for each reply nginx
    logged, the tally and the echo. Its own REST listener is left unused: nginx serves REST."""

    def __init__(self, log: Path, echo_own: bool, **kw: Any) -> None:
        super().__init__(echo_own_messages=False, **kw)  # the echo comes from the log instead
        self.api_log = log
        self.echo_own = echo_own
        self.tally = Tally()
        self.unserved: collections.Counter = collections.Counter()  # other requests, by status
        self._sent: dict[str, tuple[dict, str]] = {}  # flooded id -> (message, its JSON)
        # What every echo has in common (id, channel, content, timestamp and type vary).
        self._echo_base = {
            "author": self._bot_user(), "edited_timestamp": None, "tts": False,
            "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
            "embeds": [], "pinned": False, "flags": 0, "components": [], "channel_type": 1}
        self._echo_base_json = _compact(self._echo_base)[1:-1]
        self._log_rest = b""

    def start(self) -> "FloodFake":
        super().start()
        self._call(lambda: self._spawn(self._tail_log()))
        return self

    # ------------------------------------------------------------------ the flood

    def prepare(self, n: int, channels: int, tag: str) -> list[tuple[dict, str]]:
        """n DM messages (spread over `channels` DM channels, one author each) and their JSON,
        expecting a reply from now on: what `send` floods."""
        return self._call(self._new_messages, n, channels, tag)

    def send(self, messages: list[tuple[dict, str]]) -> float:
        """Floods the prepared messages to the connected bot; returns time.time() before the
        first frame was written."""
        return asyncio.run_coroutine_threadsafe(self._send_all(messages), self._loop).result(120)

    def _new_messages(self, n: int, channels: int, tag: str) -> list[tuple[dict, str]]:
        """The messages and their JSON, registered as expecting a reply (on the loop: the
        snowflakes and the tally live there)."""
        out = []
        for i in range(n):
            channel = str(CHANNEL_BASE + i % channels)  # a DM channel: one author each
            content = f"{tag} {i}"
            d = {"id": self._snowflake(), "channel_id": channel, "type": 0,
                 "author": self._user(str(USER_BASE + i % channels), "nelly"), "content": content,
                 "timestamp": _now_iso(), "edited_timestamp": None, "tts": False,
                 "mention_everyone": False, "mentions": [], "mention_roles": [],
                 "attachments": [], "embeds": [], "pinned": False, "flags": 0,
                 "components": [], "channel_type": 1}
            d_json = _compact(d)
            self._sent[d["id"]] = (d, d_json)
            with self._lock:
                self.tally.expected[d["id"]] = (channel, REPLY_PREFIX + content)
            out.append((d, d_json))
        return out

    def _bot_session(self) -> _Session:
        live = [c for c in self._conns if c.authenticated and not c.closing and c.session]
        if len(live) != 1:
            raise RuntimeError(f"expected one identified gateway connection, found {len(live)}")
        sess = live[0].session
        if not sess.intents & DIRECT_MESSAGES:
            raise RuntimeError("the bot did not ask for DIRECT_MESSAGES: it would get no DM")
        return sess

    def _emit_encoded(self, sess: _Session, pairs: list[tuple[dict, str]]) -> None:
        """Like GatewayFake._emit for MESSAGE_CREATEs already encoded: numbered, kept for a
        resume (as the payload sent), written to the connection in one go."""
        frames = []
        for d, d_json in pairs:
            sess.seq += 1
            sess.events.append((sess.seq, {"op": 0, "t": "MESSAGE_CREATE", "d": d, "s": sess.seq}))
            frames.append(_dispatch_frame(sess.seq, d_json))
        sess.conn.ws.transport.write(b"".join(frames))

    async def _send_all(self, messages: list[tuple[dict, str]]) -> float:
        sess = self._bot_session()
        t0 = time.time()
        for first in range(0, len(messages), FRAMES_PER_WRITE):
            if sess.conn is None or sess.conn.closing:
                break  # the bot went away: a resume replays what is left in sess.events
            self._emit_encoded(sess, messages[first:first + FRAMES_PER_WRITE])
            await asyncio.sleep(0)  # heartbeats and the log's tail in between
        return t0

    # ------------------------------------------------------------------ the access log

    async def _tail_log(self) -> None:
        while not self.api_log.exists():
            await asyncio.sleep(TAIL_INTERVAL)
        with self.api_log.open("rb") as f:
            while True:
                chunk = f.read()
                if chunk:
                    self._on_log(chunk)
                await asyncio.sleep(TAIL_INTERVAL)

    def _on_log(self, chunk: bytes) -> None:
        lines = (self._log_rest + chunk).split(b"\n")
        self._log_rest = lines.pop()  # an unfinished line waits for the next read
        echoes = []
        timestamp = _now_iso()  # one for the echoes of one read
        with self._lock:
            for line in lines:
                entry = LogEntry.parse(line)
                if entry is None:
                    self.tally.rejected["unreadable log line"] += 1
                    continue
                match = _MESSAGES_URI.match(entry.uri)
                if match is None or entry.method != "POST":
                    self.unserved[f"{entry.method} {entry.uri} -> {entry.status}"] += 1
                    continue
                body = _json_or_none(entry.body)
                self.tally.check(entry, match.group(1), body)
                if entry.status == 200 and body is not None:
                    echoes.append(self._echo(entry.reply_id, match.group(1), body, timestamp))
        if self.echo_own and echoes:
            sess = self._bot_session_or_none()
            if sess is not None:
                self._emit_encoded(sess, echoes)

    def _bot_session_or_none(self) -> Optional[_Session]:
        try:
            return self._bot_session()
        except RuntimeError:
            return None

    def _echo(self, reply_id: str, channel: str, body: dict,
              timestamp: str) -> tuple[dict, str]:
        """The MESSAGE_CREATE Discord sends for the bot's own reply (the id nginx answered):
        the message and its JSON, written out by hand (this runs for every reply)."""
        content = str(body.get("content") or "")
        d = dict(self._echo_base, id=reply_id, channel_id=channel, content=content,
                 timestamp=timestamp)
        head = (f'{{"id":"{reply_id}","channel_id":"{channel}","content":{_compact(content)},'
                f'"timestamp":"{timestamp}",{self._echo_base_json}')
        replied_to = _referenced_id(body)
        original = self._sent.get(replied_to) if replied_to is not None else None
        if original is None:
            return d, head + ',"type":0}'
        d.update(type=19, referenced_message=original[0], message_reference={
            "type": 0, "message_id": replied_to, "channel_id": channel})
        return d, (f'{head},"type":19,"message_reference":{{"type":0,"message_id":"{replied_to}",'
                   f'"channel_id":"{channel}"}},"referenced_message":{original[1]}}}')

    # ------------------------------------------------------------------ results

    def replies(self, ids: list[str]) -> dict[str, float]:
        """id -> `$msec` of its first valid reply, for those of `ids` answered so far."""
        with self._lock:
            return {i: self.tally.first[i] for i in ids if i in self.tally.first}

    def not_counted(self) -> str:
        """The requests that did not count, by reason, and those the fake could not serve (for
        the table's note; empty when there were none)."""
        with self._lock:
            parts = [f"{n} {reason}" for reason, n in self.tally.rejected.items()]
            parts += [f"{n}x {what}" for what, n in self.unserved.items()
                      if not what.endswith("-> 200")]
        return ", ".join(parts)

    def answered(self) -> int:
        """How many flooded messages (of all floods) got a valid reply so far."""
        with self._lock:
            return len(self.tally.first)


def _json_or_none(text: str) -> Optional[dict]:
    try:
        body = json.loads(text)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def wait_answered(fake: FloodFake, total: int, timeout: float, stall: float = 15.0) -> None:
    """Waits until `total` flooded messages (counting earlier floods) were answered, `timeout`
    passed or no new answer came for `stall` seconds."""
    deadline = time.monotonic() + timeout
    seen, progress = -1, time.monotonic()
    while True:
        got = fake.answered()
        now = time.monotonic()
        if got != seen:
            seen, progress = got, now
        if got >= total or now > deadline or now - progress > stall:
            return
        time.sleep(0.01)

