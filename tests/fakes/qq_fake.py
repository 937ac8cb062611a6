#!/usr/bin/python3
"""A strict fake of the QQ Bot Open Platform (API v2: access token, OpenAPI message sends, the
WebSocket gateway), for botgate's integration tests.

Written from the protocol notes (/work/shared/protocols/qq.md, sections 2, 4, 5 and 6), not from
botgate's code. One HTTP port serves both the token endpoint (POST /app/getAppAccessToken, at
`token_url`) and the OpenAPI (`api_base`); the gateway (WebSocket) has its own port. The gateway
dialect QQ shares with Discord is served by gateway_fake.py; this file has QQ's own rules.

* Token: JSON {appId, clientSecret} with Content-Type application/json (else code 100007);
  a wrong appId/secret answers {"code":100016,...}; success answers {"access_token",
  "expires_in": "<remaining seconds as a STRING>"}. Tokens really expire after `token_lifetime`
  seconds; within the last `token_overlap` seconds a fetch gets a new token while the old one
  stays valid until its own expiry (notes 2.1).
* OpenAPI: `Authorization: QQBot <token>` (401 with code 11241 missing / 11243 malformed /
  11244 unknown or expired); `X-Union-Appid` is recorded (required only with
  `require_union_appid`). Every answer carries X-Tps-trace-ID.
  GET /gateway, GET /gateway/bot; POST /channels/{channel_id}/messages,
  /dms/{guild_id}/messages, /v2/groups/{group_openid}/messages, /v2/users/{openid}/messages.
* Send rules (notes 6.1/6.2): JSON body; v2 needs an int `msg_type` (0 text needs content,
  2 markdown needs markdown, 3 ark, 4 embed, 7 media); guild needs one of
  content/embed/ark/image/markdown (else 50006). `msg_id` must name a message the fake delivered
  to that very chat (by inject()/make_event()) within the reply window of its kind (c2c 60 min,
  group/channel/dm 5 min) else 304027. v2 only: `msg_seq` (default 1, positive int) — the same
  (msg_id, msg_seq) twice answers 400 code 40054005; a 6th reply to one msg_id answers 400 code
  22009. v2 messages without msg_id/event_id (active) are refused with 304045 unless
  `allow_active_v2` (active push is gone since 2025-04-21).
* C2C stream (a streamed reply; notes on streamed replies section 3 variant (a), checked
  against AstrBot's qqofficial adapter): POST /v2/users/{openid}/messages with msg_type 0
  (`content`) or 2 (`markdown.content`), a passive `msg_id`, `msg_seq`, and `stream: {state,
  id?, index, reset?}`. state 1 = generating, 10 = done (others refused [uncertain]). The
  first chunk has no `id` (`"id": null` is refused: AstrBot strips it because QQ does) and its
  answer's `id` is the stream's; every later chunk names that id (for the same user and
  msg_id), has a higher `index` than the last (the first may be any index >= 0 [uncertain]),
  keeps the first chunk's msg_type, and its text is appended (replaces the text with
  `reset: true`). The state-10 chunk must end with "\n", else HTTP 500 "流式消息md分片需要\n
  结束" (status from AstrBot treating it as a server error; code unknown [uncertain]), and
  nothing may follow it. Each chunk needs its own msg_seq for that msg_id, like separate
  replies (40054005 otherwise: AstrBot draws a fresh msg_seq per chunk and the notes list
  stream chunks among what needs one); the stream counts once against the 5 replies per msg_id
  [uncertain]. Other refusals answer 400 code 40000 [uncertain: the real codes are not
  known], among them `stream` on group, channel and DM sends. Streams are recorded by
  streams() / stream(id) / wait_for_streams() (chunks in order, the text now, finished), not
  in messages(); force_429 / force_5xx apply to chunks as to other sends.
* Recall (notes 6.1): DELETE /v2/users/{openid}/messages/{id}, /v2/groups/{group_openid}/
  messages/{id}, /channels/{channel_id}/messages/{id}, /dms/{guild_id}/messages/{id} (query
  `hidetip` "true"/"false" allowed, recorded), with the send routes' auth. 200 `{}` for a
  message this app sent to that very chat (its QqMessage gets `recalled`, `recalls()` records
  it); a message of another chat, kind or app, an unknown id or one already recalled: 404
  {"code": 40034006, "message": "message not found"}; C2C/group messages older than
  `recall_window` (2 min): 400 code 40034028 "message recall time exceeded".
* Gateway: Hello op 10 -> Identify op 2 {token "QQBot <token>", intents, shard} -> READY;
  heartbeat op 1 -> op 11; Resume op 6 replays missed dispatches then RESUMED; op 7 / op 9 on
  request. Close codes: 4001 bad opcode, 4002 bad payload, 4004 auth failed, 4005 already
  authenticated, 4007 resume seq beyond the session's, 4009 heartbeat timeout or op 7 not
  followed (session stays resumable), 4010 bad shard, 4013 unknown intent bit, 4014 intent
  not permitted (see `allowed_intents`); resuming an unknown/ended session gets op 9 false.
  Sessions outlive connections; a client close with 1000/1001 ends the session. A dispatch
  while no valid session exists waits and is delivered after the next READY (to a session
  whose intents include it).

In-process use:

    fake = QqFake(token_lifetime=3, heartbeat_interval=500).start()
    mid = fake.inject("GROUP_AT_MESSAGE_CREATE", "hi")      # over the gateway
    ev = fake.make_event("C2C_MESSAGE_CREATE", "hi")        # for a webhook push (not sent)
    fake.wait_for_messages(1); fake.messages()[0].body; fake.stop()

Every public method is safe from any thread (state lives on the fake's loop; controls run there).
Standalone: python3 tests/fakes/qq_fake.py --port 9999 --ws-port 9998
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import hashlib
import json
import re
import secrets
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

if not __package__:  # run as a script: make the `fakes` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes import http_fake
from fakes.gateway_fake import OP_DISPATCH, GatewayConn, GatewayFake, GatewaySession
from fakes.gateway_fake import is_int as _is_int
from fakes.gateway_fake import json_answer as _json
from fakes.http_fake import Request as HttpRequest
from fakes.http_fake import Response, standalone_parser, wait_until

for _code, _reason in ((201, "Created"), (202, "Accepted"), (204, "No Content"),
                       (304, "Not Modified"), (401, "Unauthorized"), (403, "Forbidden"),
                       (502, "Bad Gateway"), (504, "Gateway Timeout")):
    http_fake._REASONS.setdefault(_code, _reason)

DEFAULT_APP_ID = "102000001"
DEFAULT_APP_SECRET = "DG5g3B4j9X2KOErG"  # the notes' V1 secret (public key known)
DEFAULT_BOT_ID = "6158788878435714165"
TOKEN_PATH = "/app/getAppAccessToken"

# Intents (notes 4.4).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGE = 1 << 12
ENTER_AIO = 1 << 23
GROUP_AND_C2C_EVENT = 1 << 25
INTERACTION = 1 << 26
MESSAGE_AUDIT = 1 << 27
FORUMS_EVENT = 1 << 28
AUDIO_ACTION = 1 << 29
PUBLIC_GUILD_MESSAGES = 1 << 30
KNOWN_INTENTS = (GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | GUILD_MESSAGE_REACTIONS
                 | DIRECT_MESSAGE | ENTER_AIO | GROUP_AND_C2C_EVENT | INTERACTION | MESSAGE_AUDIT
                 | FORUMS_EVENT | AUDIO_ACTION | PUBLIC_GUILD_MESSAGES)
# What this fake's app is approved for by default: the public defaults plus guild DMs and
# group/C2C (a chat bot's set); GUILD_MESSAGES (private-domain only) and the rest are not.
DEFAULT_ALLOWED_INTENTS = (GUILDS | GUILD_MEMBERS | PUBLIC_GUILD_MESSAGES | DIRECT_MESSAGE
                           | GROUP_AND_C2C_EVENT | INTERACTION)

# Message kinds (event type -> (chat kind, intent needed)).
KINDS = {
    "AT_MESSAGE_CREATE": ("channel", PUBLIC_GUILD_MESSAGES),
    "MESSAGE_CREATE": ("channel", GUILD_MESSAGES),
    "DIRECT_MESSAGE_CREATE": ("dm", DIRECT_MESSAGE),
    "GROUP_AT_MESSAGE_CREATE": ("group", GROUP_AND_C2C_EVENT),
    "C2C_MESSAGE_CREATE": ("c2c", GROUP_AND_C2C_EVENT),
}
EVENT_INTENTS = {
    "GROUP_ADD_ROBOT": GROUP_AND_C2C_EVENT, "GROUP_DEL_ROBOT": GROUP_AND_C2C_EVENT,
    "FRIEND_ADD": GROUP_AND_C2C_EVENT, "FRIEND_DEL": GROUP_AND_C2C_EVENT,
    "C2C_MSG_REJECT": GROUP_AND_C2C_EVENT, "C2C_MSG_RECEIVE": GROUP_AND_C2C_EVENT,
    "GROUP_MSG_REJECT": GROUP_AND_C2C_EVENT, "GROUP_MSG_RECEIVE": GROUP_AND_C2C_EVENT,
    "INTERACTION_CREATE": INTERACTION, "PUBLIC_MESSAGE_DELETE": PUBLIC_GUILD_MESSAGES,
    "MESSAGE_DELETE": GUILD_MESSAGES, "DIRECT_MESSAGE_DELETE": DIRECT_MESSAGE,
    "MESSAGE_AUDIT_PASS": MESSAGE_AUDIT, "MESSAGE_AUDIT_REJECT": MESSAGE_AUDIT,
}
DEFAULT_REPLY_WINDOWS = {"c2c": 3600.0, "group": 300.0, "channel": 300.0, "dm": 300.0}
V2_MSG_TYPES = (0, 2, 3, 4, 5, 6, 7)

# Business codes (notes 2.2, 6.2, 6.4; those marked * are not documented there).
CODE_APPID_INVALID = 100007
CODE_SECRET_INVALID = 100016  # *
CODE_TOKEN_MISSING = 11241
CODE_TOKEN_INVALID = 11243
CODE_TOKEN_EXPIRED = 11244
CODE_BAD_REQUEST = 40000  # * malformed JSON / wrong field types
CODE_EMPTY = 50006
CODE_MSG_EXPIRE = 304027
CODE_DEDUP = 40054005
CODE_REPLY_LIMIT = 22009
CODE_ACTIVE_REFUSED = 304045
CODE_RECALL_NOT_FOUND = 40034006  # *
CODE_RECALL_EXPIRED = 40034028  # *
# C2C stream (notes on streamed replies, section 3 variant (a); AstrBot's qqofficial adapter).
STREAM_GENERATING = 1
STREAM_DONE = 10
# [uncertain] other states (11, 20, ...) may exist; the adapters only ever send 1 and 10.
STREAM_STATES = (STREAM_GENERATING, STREAM_DONE)
# What QQ answers a last chunk that does not end with a newline; AstrBot matches this text in
# a botpy ServerError, so the status is a 5xx [uncertain: the code is not known; 500 here].
STREAM_NEWLINE_MESSAGE = "流式消息md分片需要\\n结束"
# C2C and group messages may be recalled this long after sending (notes 6.1).
DEFAULT_RECALL_WINDOW = 120.0
RECALLS = {"recall_channel": "channel", "recall_dm": "dm", "recall_group": "group",
           "recall_c2c": "c2c"}


def _now_iso() -> str:
    tz = datetime.timezone(datetime.timedelta(hours=8))
    return datetime.datetime.now(tz).isoformat(timespec="seconds")


def _error(status: int, code: int, message: str) -> Response:
    return _json(status, {"message": message, "code": code, "err_code": code,
                          "trace_id": secrets.token_hex(16)})


def _openid() -> str:
    return secrets.token_hex(16).upper()


# ---------------------------------------------------------------------- records


@dataclass
class Request(HttpRequest):
    """One HTTP request. endpoint: token | gateway | gateway_bot | channel | dm | group | c2c
    (the message sends) | recall_channel | recall_dm | recall_group | recall_c2c | other."""

    code: Optional[int] = None  # the JSON `code` answered, if any
    token_ok: bool = False  # carried `Authorization: QQBot <valid unexpired token>`
    union_appid: Optional[str] = None  # the X-Union-Appid header, if present


@dataclass
class QqMessage:
    """A message the bot sent that the fake accepted (recorded even when a forced 5xx lost the
    answer; `status` then says so)."""

    kind: str  # "channel" | "dm" | "group" | "c2c"
    chat_id: str  # channel_id | DM guild_id | group_openid | user openid
    id: str  # the id the fake gave it
    body: dict
    content: Optional[str]
    msg_type: Optional[int]
    msg_id: Optional[str]
    msg_seq: Optional[int]  # v2: the effective seq (default 1); guild: None
    event_id: Optional[str]
    headers: dict[str, str]
    t: float
    wall: float
    status: int = 200
    recalled: bool = False  # a DELETE took it back (see recalls())

    @property
    def text(self) -> Optional[str]:
        return self.content

    @property
    def union_appid(self) -> Optional[str]:
        return self.headers.get("x-union-appid")

    def mentioned(self) -> list[str]:
        """Whom the message notifies, as QQ reads its text (content, or markdown.content):
        `<@id>` / `<@!id>` and `@everyone` ("everyone") in guild messages, where `&lt;` is
        shown as `<` after the tokens are found; `<@id>`, `<qqbot-at-user id="id" />` and
        `<qqbot-at-everyone />` in group and C2C messages."""
        text = self.content
        markdown = self.body.get("markdown") if isinstance(self.body, dict) else None
        if isinstance(markdown, dict):
            text = markdown.get("content")
        if not isinstance(text, str):
            return []
        found = [m.group(1) for m in _QQ_USER_TAG.finditer(text)]
        if self.kind in ("channel", "dm"):
            found += ["everyone"] * len(_QQ_EVERYONE.findall(text))
        else:
            found += [m.group(1) for m in _QQ_AT_USER.finditer(text)]
            found += ["everyone"] * len(_QQ_AT_EVERYONE.findall(text))
        return found


@dataclass
class Recall:
    """One message the bot recalled (DELETE .../messages/{message_id}, answered 200)."""

    kind: str  # "channel" | "dm" | "group" | "c2c"
    chat_id: str  # as in QqMessage
    message_id: str
    message: QqMessage  # the message as it was sent
    hidetip: Optional[bool]  # the `hidetip` query, when given
    headers: dict[str, str]
    t: float
    wall: float

    @property
    def chat(self) -> str:
        return self.chat_id


@dataclass
class QqStreamChunk:
    """One accepted chunk of a C2C stream (POST /v2/users/{openid}/messages with `stream`)."""

    index: int
    state: int  # 1 generating, 10 done
    text: str  # this chunk's text (content, or markdown.content)
    reset: bool  # replaced the text so far instead of appending
    msg_seq: int
    body: dict
    headers: dict[str, str]
    t: float
    wall: float
    status: int = 200  # a forced 5xx after accepting it: that status


@dataclass
class QqStream:
    """A C2C stream: one message the user watches grow, made of chunks."""

    id: str  # the stream's (and the message's) id, answered to the first chunk
    chat_id: str  # the user's openid
    msg_id: str  # the message it replies to
    msg_type: int  # 0 text | 2 markdown, fixed by the first chunk
    chunks: list[QqStreamChunk] = field(default_factory=list)
    text: str = ""  # what the user sees now
    finished: bool = False  # a state-10 chunk came

    @property
    def chat(self) -> str:
        return self.chat_id

    @property
    def indexes(self) -> list[int]:
        return [c.index for c in self.chunks]


_QQ_USER_TAG = re.compile(r"<@!?([^>\s]+)>")
_QQ_EVERYONE = re.compile(r"@everyone", re.IGNORECASE)
_QQ_AT_USER = re.compile(r'<qqbot-at-user\s+id="([^"]*)"\s*/>')
_QQ_AT_EVERYONE = re.compile(r"<qqbot-at-everyone\s*/>")


@dataclass
class _Inbound:
    """A user message the fake delivered (gateway or webhook)."""

    kind: str
    chat_id: str
    event_type: str
    event_id: str
    t: float  # monotonic (minus `age`)
    replies: set = field(default_factory=set)  # msg_seq values accepted (v2), stream chunks too
    counted: int = 0  # replies counted against max_replies (a whole stream counts once)




# A QQ session and connection carry nothing beyond the dialect's.
_Session = GatewaySession
_Conn = GatewayConn


# ---------------------------------------------------------------------- the fake


class QqFake(GatewayFake):
    """The fake QQ Bot Open Platform. All public methods are safe to call from any thread."""

    platform = "qq"
    api_label = "OpenAPI"
    request_type = Request
    delivery_fields = ("kind", "chat_id", "id", "body", "msg_id", "msg_seq", "status")
    full_envelopes = False
    default_close_code = 4009
    timeout_ends_session = False  # 4009 "connection expired": resumable
    closes = {
        "shutdown": (1001, "server shutting down"),
        "bad_json": (4002, "invalid payload"),
        "unknown_op": (4001, "invalid opcode"),
        "bad_heartbeat": (4002, "invalid heartbeat payload"),
        "bad_identify": (4002, "invalid identify payload"),
        "bad_resume": (4002, "invalid resume payload"),
        "auth_failed": (4004, "authentication failed"),
        "already_authenticated": (4005, "already authenticated"),
        "invalid_seq": (4007, "invalid seq"),
        "heartbeat_timeout": (4009, "connection expired"),
        "invalid_shard": (4010, "invalid shard"),
        "reconnect_ignored": (4009, "reconnect"),
        "resumed_elsewhere": (4009, "session resumed elsewhere"),
    }
    extra_counters = ("token_failures", "unauthorized", "rejected", "union_appid_missing")

    def __init__(
        self,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        bot_id: str = DEFAULT_BOT_ID,
        bot_name: str = "botgate-fake",
        token_lifetime: float = 7200.0,
        token_overlap: float = 60.0,
        heartbeat_interval: int = 1000,
        heartbeat_timeout: Optional[float] = None,
        allowed_intents: int = DEFAULT_ALLOWED_INTENTS,
        reply_windows: Optional[dict[str, float]] = None,
        max_replies: int = 5,
        allow_active_v2: bool = False,
        require_union_appid: bool = False,
        require_json_token_request: bool = True,
        token_error_status: int = 200,
        recall_window: float = DEFAULT_RECALL_WINDOW,
        queue_without_session: bool = True,
        reconnect_close_after: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_port: int = 0,
    ) -> None:
        """
        token_lifetime: seconds a token lives (tests: e.g. 3); token_overlap: in the last that
          many seconds a fetch gets a new token (notes: 60).
        heartbeat_interval: ms, sent in Hello; heartbeat_timeout: seconds without a heartbeat
          after which the fake closes with 4009 (session stays resumable); default
          1.5 intervals + 1 s.
        allowed_intents: intents the app may use; a known bit outside it -> close 4014.
        reply_windows: overrides of {"c2c": 3600, "group": 300, "channel": 300, "dm": 300}.
        max_replies: passive replies per msg_id (v2).
        token_error_status: HTTP status of a token error answer (the body carries the code).
        recall_window: seconds after sending a C2C or group message may be recalled (a test may
          change the attribute).
        """
        super().__init__(heartbeat_interval, heartbeat_timeout, queue_without_session,
                         reconnect_close_after, host, port, ws_port)
        self.app_id = app_id
        self.app_secret = app_secret
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.token_lifetime = float(token_lifetime)
        self.token_overlap = float(token_overlap)
        self.allowed_intents = allowed_intents
        self.reply_windows = dict(DEFAULT_REPLY_WINDOWS)
        self.reply_windows.update(reply_windows or {})
        self.max_replies = max_replies
        self.allow_active_v2 = allow_active_v2
        self.require_union_appid = require_union_appid
        self.require_json_token_request = require_json_token_request
        self.token_error_status = token_error_status
        self.recall_window = float(recall_window)

        # Loop-confined state.
        self._inbound: dict[str, _Inbound] = {}  # d.id -> delivery
        self._event_ids: dict[str, str] = {}  # top-level event id -> d.id ("" for non-messages)
        self._forced: list[tuple] = []  # ("429", code) | ("5xx", status, deliver)
        self._next_guild_msg = 1
        self._streams: dict[str, QqStream] = {}  # also read by the getters (under the lock)

        # Records (guarded by self._lock).
        self._injected: list[dict] = []
        self._recalls: list[Recall] = []
        # Apps besides the first (add_app): app_id -> (app_secret, bot_id).
        self._more_apps: dict[str, tuple[str, str]] = {}

    # ------------------------------------------------------------------ addresses

    @property
    def api_base(self) -> str:
        """botgate's `api_base` (the OpenAPI root): http://127.0.0.1:<port>."""
        return self.base_url

    @property
    def token_url(self) -> str:
        """botgate's `token_url`: http://127.0.0.1:<port>/app/getAppAccessToken."""
        return self.base_url + TOKEN_PATH

    @property
    def gateway_url(self) -> str:
        return f"{self.ws_scheme}://{self.host}:{self.ws_port}"

    def _banner_details(self) -> str:
        return f"token {self.token_url}, gateway {self.gateway_url}"

    # ------------------------------------------------------------------ lifecycle
    # ------------------------------------------------------------------ controls: events

    def make_event(self, kind: str, content: str = "hello", *, chat_id: Optional[str] = None,
                   author_id: Optional[str] = None, guild_id: Optional[str] = None,
                   msg_id: Optional[str] = None, age: float = 0.0,
                   mention_prefix: bool = True, attachments: Optional[list] = None,
                   extra: Optional[dict] = None) -> dict:
        """A user message of `kind` (AT_MESSAGE_CREATE, MESSAGE_CREATE, DIRECT_MESSAGE_CREATE,
        GROUP_AT_MESSAGE_CREATE, C2C_MESSAGE_CREATE), registered as delivered `age` seconds ago
        (so botgate may reply to it) but NOT sent: returns the envelope {"op":0, "id", "d", "t"}
        (no "s") for a webhook push.

        chat_id: the channel_id / DM guild_id / group_openid / user openid (default: fixed
        per kind, so replies land in one chat); author_id: the author's id/openid; msg_id:
        reuse an id (a re-push of the same d.id); mention_prefix: AT_MESSAGE_CREATE content gets
        "<@!BOTID> " and GROUP_AT_MESSAGE_CREATE content a leading space (notes 5.2/5.3)."""
        return self._call(self._make_event, kind, content, chat_id, author_id, guild_id, msg_id,
                          age, mention_prefix, attachments, extra)

    def inject(self, kind: str, content: str = "hello", *, chat_id: Optional[str] = None,
               author_id: Optional[str] = None, guild_id: Optional[str] = None,
               msg_id: Optional[str] = None, age: float = 0.0, mention_prefix: bool = True,
               attachments: Optional[list] = None, extra: Optional[dict] = None) -> str:
        """make_event(...) and dispatch it on the gateway (to every valid session whose intents
        include the kind; queued until the next READY when there is none); returns the message
        id (d.id, the `msg_id` of a passive reply)."""
        def run() -> str:
            env = self._make_event(kind, content, chat_id, author_id, guild_id, msg_id, age,
                                   mention_prefix, attachments, extra)
            self._dispatch_event(env)
            return env["d"]["id"]
        return self._call(run)

    def inject_dispatch(self, t: str, d: dict, event_id: Optional[str] = None) -> str:
        """Any other dispatch (GROUP_ADD_ROBOT, FRIEND_ADD, ...) on the gateway; its top-level id
        is registered so it can be answered with `event_id`. Returns that id."""
        def run() -> str:
            eid = event_id or f"{t}:{secrets.token_hex(24)}"
            self._event_ids[eid] = ""
            self._dispatch_event({"op": 0, "id": eid, "d": d, "t": t})
            return eid
        return self._call(run)

    def injected(self) -> list[dict]:
        """Every message made by make_event()/inject(): {kind, id, event_id, chat_id, envelope}."""
        with self._lock:
            return list(self._injected)

    def force_429(self, count: int = 1, code: int = CODE_REPLY_LIMIT) -> None:
        """The next `count` message sends answer HTTP 429 {"code": code} (after auth)."""
        self._call(self._forced.extend, [("429", int(code))] * count)

    def force_5xx(self, count: int = 1, status: int = 500, deliver: bool = False) -> None:
        """The next `count` message sends answer `status` (after auth). With `deliver`, a valid
        message is accepted and recorded first (its msg_seq used up): the answer was lost."""
        self._call(self._forced.extend, [("5xx", int(status), bool(deliver))] * count)

    def add_app(self, app_id: str, app_secret: str, bot_id: Optional[str] = None) -> str:
        """Another bot app (one process hosting several bots): its own credentials, tokens and
        bot user id (made from the app id unless given), which its READY names. Returns the bot
        id. Events made by inject() and friends go to the first app's sessions only."""
        bot_id = bot_id or str(int(hashlib.sha256(app_id.encode()).hexdigest()[:15], 16))
        with self._lock:
            self._more_apps[app_id] = (app_secret, bot_id)
        return bot_id

    def _app(self, app_id: str) -> Optional[tuple[str, str]]:
        """(secret, bot id) of a known app."""
        if app_id == self.app_id:
            return self.app_secret, self.bot_id
        with self._lock:
            return self._more_apps.get(app_id)

    def expire_tokens_now(self) -> None:
        """Every token issued so far stops working now (401 / 11244, gateway 4004)."""
        self.expire_all_tokens()

    def set_reply_window(self, kind: str, seconds: float) -> None:
        """Changes the passive reply window of "c2c" | "group" | "channel" | "dm"."""
        if kind not in DEFAULT_REPLY_WINDOWS:
            raise ValueError(kind)
        self._call(self.reply_windows.__setitem__, kind, float(seconds))


    def _reset_platform(self) -> None:
        self._forced.clear()
        self._recalls.clear()
        self._streams.clear()

    # ------------------------------------------------------------------ observations

    def messages(self, kind: Optional[str] = None, chat_id: Optional[str] = None
                 ) -> list[QqMessage]:
        """Messages accepted, in order (kind: channel | dm | group | c2c)."""
        with self._lock:
            return [m for m in self._delivered if (kind is None or m.kind == kind)
                    and (chat_id is None or m.chat_id == chat_id)]

    def wait_for_messages(self, n: int, timeout: float = 10.0, kind: Optional[str] = None,
                          chat_id: Optional[str] = None) -> list[QqMessage]:
        """Waits until at least `n` messages were accepted; returns them all (maybe fewer)."""
        wait_until(lambda: len(self.messages(kind, chat_id)) >= n, timeout)
        return self.messages(kind, chat_id)

    def recalls(self, kind: Optional[str] = None, chat_id: Optional[str] = None
                ) -> list[Recall]:
        """Messages recalled, in order (kind: channel | dm | group | c2c)."""
        with self._lock:
            return [r for r in self._recalls if (kind is None or r.kind == kind)
                    and (chat_id is None or r.chat_id == chat_id)]

    def wait_for_recalls(self, n: int, timeout: float = 10.0, kind: Optional[str] = None,
                         chat_id: Optional[str] = None) -> list[Recall]:
        """Waits until at least `n` messages were recalled; returns them all (maybe fewer)."""
        wait_until(lambda: len(self.recalls(kind, chat_id)) >= n, timeout)
        return self.recalls(kind, chat_id)

    def streams(self, chat_id: Optional[str] = None) -> list[QqStream]:
        """C2C streams, in the order they began (copies), optionally only those to `chat_id`.
        Stream chunks are not in messages()."""
        with self._lock:
            return [copy.deepcopy(st) for st in self._streams.values()
                    if chat_id is None or st.chat_id == chat_id]

    def stream(self, stream_id: str) -> Optional[QqStream]:
        """One stream as it is now (a copy); None if unknown."""
        with self._lock:
            st = self._streams.get(stream_id)
            return copy.deepcopy(st) if st is not None else None

    def wait_for_streams(self, n: int, timeout: float = 10.0, chat_id: Optional[str] = None,
                         finished: bool = False) -> list[QqStream]:
        """Waits until at least `n` streams began (with `finished`: were finished) to
        `chat_id`; returns the streams (all of them, finished or not)."""
        wait_until(lambda: len([st for st in self.streams(chat_id)
                                if st.finished or not finished]) >= n, timeout)
        return self.streams(chat_id)

    def rejected(self, code: Optional[int] = None) -> list[Request]:
        """Send requests answered with an error (optionally with business `code`)."""
        with self._lock:
            return [r for r in self._requests if r.endpoint in ("channel", "dm", "group", "c2c")
                    and r.status is not None and r.status >= 300
                    and (code is None or r.code == code)]
    def _stats_unlocked(self) -> dict[str, Any]:
        """stats() adds token_fetches, token_failures, unauthorized, rejected,
        union_appid_missing, recalls, streams, stream_chunks."""
        out = super()._stats_unlocked()
        out["token_fetches"] = self._token_fetches
        out["recalls"] = len(self._recalls)
        out["streams"] = len(self._streams)
        out["stream_chunks"] = sum(len(st.chunks) for st in self._streams.values())
        return out

    def _controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        """POST /_fake/inject {"kind", "content", ...}, /_fake/make_event (same; answers the
        envelope), force_429 {"count"}, force_5xx {"count", "status", "deliver"},
        expire_tokens_now, recall_window {"seconds"}, and the gateway's
        (GatewayFake._gateway_controls; close_connection's
        code 4009)."""
        return {
            "inject": lambda a: _json(200, {"id": self.inject(**a)}),
            "make_event": lambda a: _json(200, self.make_event(**a)),
            **self._gateway_controls(),
            "force_429": lambda a: self.force_429(**a),
            "force_5xx": lambda a: self.force_5xx(**a),
            "expire_tokens_now": lambda a: self.expire_tokens_now(),
            "recall_window": lambda a: self._call(setattr, self, "recall_window",
                                                  float(a["seconds"])),
        }


    def _make_event(self, kind, content, chat_id, author_id, guild_id, msg_id, age,
                    mention_prefix, attachments, extra) -> dict:
        if kind not in KINDS:
            raise ValueError(f"unknown message kind {kind!r} (one of {sorted(KINDS)})")
        chat_kind = KINDS[kind][0]
        ts = _now_iso()
        if chat_kind in ("group", "c2c"):
            mid = msg_id or "ROBOT1.0_" + secrets.token_urlsafe(33).replace("-", ".") + "!"
        else:
            mid = msg_id or "08" + secrets.token_hex(20)
        d: dict[str, Any]
        if chat_kind == "c2c":
            uid = author_id or chat_id or "E4F4AEA33253A2797FB897C50B81D7ED"
            chat = uid
            d = {"author": {"id": uid, "user_openid": uid, "union_openid": uid},
                 "content": content, "id": mid, "timestamp": ts,
                 "message_scene": {"source": "default"}, "message_type": 0}
        elif chat_kind == "group":
            chat = chat_id or "82B3406CB35C23E1071C8D6EC61C6064"
            uid = author_id or "0BA13D42931777D3922F226B6B5D7F13"
            d = {"id": mid, "content": (" " + content) if mention_prefix else content,
                 "timestamp": ts,
                 "author": {"id": uid, "member_openid": uid, "union_openid": uid},
                 "group_id": chat, "group_openid": chat, "message_scene": {"source": "default"},
                 "message_type": 0}
        else:
            uid = author_id or "1234"
            if chat_kind == "channel":
                chat = chat_id or "100010"
                gid = guild_id or "18700000000001"
            else:
                chat = chat_id or guild_id or "18700000000099"
                gid = chat
            seq = self._next_guild_msg
            self._next_guild_msg += 1
            text = content
            mentions = []
            if kind == "AT_MESSAGE_CREATE" and mention_prefix:
                text = f"<@!{self.bot_id}> {content}"
                mentions = [{"id": self.bot_id, "username": self.bot_name, "bot": True}]
            d = {"author": {"avatar": "http://thirdqq.qlogo.cn/0", "bot": False, "id": uid,
                            "username": f"user{uid[-4:]}"},
                 "channel_id": chat if chat_kind == "channel" else "200020",
                 "guild_id": gid, "id": mid, "content": text, "mentions": mentions,
                 "member": {"joined_at": "2021-04-12T16:34:42+08:00", "roles": ["1"]},
                 "timestamp": ts, "seq": seq, "seq_in_channel": str(seq)}
            if chat_kind == "dm":
                d["direct_message"] = True
                d["src_guild_id"] = guild_id or "18700000000001"
                d.pop("mentions")
        if attachments:
            d["attachments"] = attachments
        if extra:
            d.update(extra)
        eid = f"{kind}:{secrets.token_hex(24)}"
        self._inbound[mid] = _Inbound(kind=chat_kind, chat_id=chat, event_type=kind,
                                      event_id=eid, t=time.monotonic() - age)
        self._event_ids[eid] = mid
        env = {"op": 0, "id": eid, "d": d, "t": kind}
        with self._lock:
            self._injected.append({"kind": kind, "id": mid, "event_id": eid, "chat_id": chat,
                                   "envelope": env})
        return env

    def _wanted(self, sess: _Session, t: str) -> bool:
        need = KINDS[t][1] if t in KINDS else EVENT_INTENTS.get(t, 0)
        return need == 0 or bool(sess.intents & need)

    def _dispatch_event(self, env: dict) -> None:
        owners = [s for s in self._sessions.values() if s.valid and s.owner == self.app_id]
        if not owners:
            if self.queue_without_session:
                self._pending.append(env)
            return
        for sess in owners:
            if self._wanted(sess, env["t"]):
                self._emit(sess, env)


    def _deliver_pending(self, sess: _Session) -> None:
        if sess.owner != self.app_id:
            return  # what was queued is the first app's
        pending, self._pending = self._pending, []
        for env in pending:
            if self._wanted(sess, env["t"]):
                self._emit(sess, env)

    # ------------------------------------------------------------------ gateway

    def _gateway_token_ok(self, token: Any) -> bool:
        if not isinstance(token, str) or not token.startswith("QQBot "):
            return False
        return self._token_status(token[len("QQBot "):], time.monotonic()) is True

    def _identify_refused(self, conn: _Conn, d: dict, shard: list) -> bool:
        intents = d.get("intents")
        if not _is_int(intents) or intents <= 0 or intents & ~KNOWN_INTENTS:
            self._close(conn, 4013, "invalid intent")
            return True
        if intents & ~self.allowed_intents:
            self._close(conn, 4014, "intent not permitted")
            return True
        return False

    def _new_session(self, d: dict, shard: list) -> _Session:
        token = d["token"][len("QQBot "):]  # checked by _gateway_token_ok
        return _Session(id=str(uuid.uuid4()), shard_id=shard[0], shard_count=shard[1],
                        owner=self._token_owner(token) or self.app_id,
                        intents=d["intents"])

    def _ready(self, conn: _Conn, sess: _Session, d: dict) -> None:
        self._emit(sess, {"op": OP_DISPATCH, "t": "READY", "d": {
            "version": 1, "session_id": sess.id,
            "user": {"id": (self._app(sess.owner) or ("", self.bot_id))[1],
                     "username": self.bot_name, "bot": True},
            "shard": [sess.shard_id, sess.shard_count]}})

    def _resumed_data(self) -> Any:
        return ""  # notes 4.2: RESUMED's d is ""

    # ------------------------------------------------------------------ HTTP


    def _classify(self, path: str) -> str:
        if path == TOKEN_PATH:
            return "token"
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
        if parts == ["gateway"]:
            return "gateway"
        if parts == ["gateway", "bot"]:
            return "gateway_bot"
        if len(parts) == 3 and parts[2] == "messages" and parts[1]:
            return {"channels": "channel", "dms": "dm"}.get(parts[0], "other")
        if len(parts) == 4 and parts[0] == "v2" and parts[3] == "messages" and parts[2]:
            return {"groups": "group", "users": "c2c"}.get(parts[1], "other")
        if len(parts) == 4 and parts[2] == "messages" and parts[1] and parts[3]:
            return {"channels": "recall_channel", "dms": "recall_dm"}.get(parts[0], "other")
        if len(parts) == 5 and parts[0] == "v2" and parts[3] == "messages" and parts[2] \
                and parts[4]:
            return {"groups": "recall_group", "users": "recall_c2c"}.get(parts[1], "other")
        return "other"

    def _on_record(self, req: Request) -> None:
        auth = req.headers.get("authorization", "")
        req.token_ok = (auth.startswith("QQBot ")
                        and self._token_status(auth[6:], req.t) is True)
        req.union_appid = req.headers.get("x-union-appid")

    def _record_answer(self, req: Request, resp: Response) -> None:  # under the lock
        try:
            body = json.loads(resp.body) if resp.body else None
        except ValueError:
            body = None
        req.code = body.get("code") if isinstance(body, dict) and _is_int(body.get("code")) \
            else None
        if resp.status == 401:
            self._counts["unauthorized"] += 1
        if req.endpoint in ("channel", "dm", "group", "c2c") and resp.status >= 300:
            self._counts["rejected"] += 1

    def _extra_headers(self, resp: Response) -> list[str]:
        return [f"X-Tps-trace-ID: {secrets.token_hex(16)}"]

    async def _route(self, req: Request, reader: asyncio.StreamReader) -> Response:
        return self._finish(req, self._answer(req))

    def _answer(self, req: Request) -> Response:
        ep = req.endpoint
        if ep == "token":
            if req.method != "POST":
                return _error(405, 0, "method not allowed")
            return self._token(req)
        if ep == "other":
            return _error(404, 0, "no such API")
        want = ("GET" if ep in ("gateway", "gateway_bot")
                else "DELETE" if ep in RECALLS else "POST")
        if req.method != want:
            return _error(405, 0, "method not allowed")
        auth = req.headers.get("authorization")
        if auth is None:
            return _error(401, CODE_TOKEN_MISSING, "token missing")
        if not auth.startswith("QQBot ") or not auth[6:]:
            return _error(401, CODE_TOKEN_INVALID, "token invalid")
        if not req.token_ok:
            return _error(401, CODE_TOKEN_EXPIRED, "token not exist or expire")
        if req.union_appid is None:
            self._bump("union_appid_missing")
            if self.require_union_appid:
                return _error(401, 11261, "appid missing")
        elif req.union_appid != self._token_owner(auth[6:]):
            return _error(401, 11251, "appid mismatch")
        if ep in ("gateway", "gateway_bot"):
            with self._lock:
                used = self._counts["identifies"]
            return _json(200, {"url": self.gateway_url, "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": max(0, 1000 - used), "reset_after": 14400000,
                "max_concurrency": 1}})
        if ep in RECALLS:
            return self._recall(req, auth[6:])
        return self._send_message(req)

    def _token(self, req: Request) -> Response:
        def fail(code: int, message: str) -> Response:
            self._bump("token_failures")
            return _json(self.token_error_status, {"code": code, "message": message})
        ctype = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if self.require_json_token_request and ctype != "application/json":
            return fail(CODE_APPID_INVALID, "appid invalid")
        try:
            body = json.loads(req.body)
        except (UnicodeDecodeError, ValueError):
            return fail(CODE_APPID_INVALID, "appid invalid")
        app_id = body.get("appId") if isinstance(body, dict) else None
        app = self._app(app_id) if isinstance(app_id, str) else None
        if app is None:
            return fail(CODE_APPID_INVALID, "appid invalid")
        if body.get("clientSecret") != app[0]:
            return fail(CODE_SECRET_INVALID, "invalid appid or secret")
        token, remaining = self._issue_token(
            req.t, self.token_lifetime, lambda: secrets.token_urlsafe(48),
            min_remaining=min(self.token_overlap, self.token_lifetime), owner=app_id)
        return _json(200, {"access_token": token, "expires_in": str(int(remaining))})

    def _send_message(self, req: Request) -> Response:
        kind = req.endpoint
        chat_id = urllib.parse.unquote(req.path.strip("/").split("/")[-2])
        forced = self._forced.pop(0) if self._forced else None
        if forced is not None and forced[0] == "429":
            return _error(429, forced[1], "msg limit exceed")
        if forced is not None and not forced[2]:
            return _server_error(forced[1])
        ctype = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            return _error(400, CODE_BAD_REQUEST, "content-type must be application/json")
        try:
            body = json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return _error(400, CODE_BAD_REQUEST, "invalid json")
        if not isinstance(body, dict):
            return _error(400, CODE_BAD_REQUEST, "body is not an object")
        v2 = kind in ("group", "c2c")
        content = body.get("content")
        if content is not None and not isinstance(content, str):
            return _error(400, CODE_BAD_REQUEST, "content must be a string")
        has_text = isinstance(content, str) and content.strip() != ""
        msg_type = body.get("msg_type")
        if v2:
            if not _is_int(msg_type) or msg_type not in V2_MSG_TYPES:
                return _error(400, CODE_BAD_REQUEST, "msg_type required")
            need = {0: has_text, 2: isinstance(body.get("markdown"), dict),
                    3: isinstance(body.get("ark"), dict), 4: isinstance(body.get("embed"), dict),
                    7: isinstance(body.get("media"), dict)}.get(msg_type, has_text)
            if not need or (kind == "group" and content is None):
                return _error(400, CODE_EMPTY, "message is empty")
        else:
            others = any(isinstance(body.get(k), (dict, str)) and body.get(k)
                         for k in ("embed", "ark", "image", "markdown"))
            if not has_text and not others:
                return _error(400, CODE_EMPTY, "message is empty")
        msg_id = body.get("msg_id")
        event_id = body.get("event_id")
        if msg_id is not None and not isinstance(msg_id, str):
            return _error(400, CODE_BAD_REQUEST, "msg_id must be a string")
        if event_id is not None and not isinstance(event_id, str):
            return _error(400, CODE_BAD_REQUEST, "event_id must be a string")
        seq: Optional[int] = None
        if v2:
            seq = body.get("msg_seq", 1)
            if not _is_int(seq) or seq < 1:
                return _error(400, CODE_BAD_REQUEST, "msg_seq must be a positive integer")
        inbound: Optional[_Inbound] = None
        if msg_id:
            inbound = self._inbound.get(msg_id)
            if inbound is None or inbound.kind != kind or inbound.chat_id != chat_id:
                return _error(400, CODE_MSG_EXPIRE, "msg_id无效或越权")
            if req.t - inbound.t > self.reply_windows[kind]:
                return _error(400, CODE_MSG_EXPIRE, "msg expired")
            # Every chunk of a stream needs its own msg_seq, like separate replies (AstrBot
            # draws a fresh one per chunk; the notes list streaming chunks among what needs a
            # fresh msg_seq), so a resent chunk is a duplicate before anything else.
            if v2 and seq in inbound.replies:
                return _error(400, CODE_DEDUP, "消息被去重，请检查请求msgseq")
        chunk: Optional[dict] = None
        continued: Optional[QqStream] = None
        if "stream" in body:
            chunk, continued, err = self._stream_chunk(kind, chat_id, body, msg_type, msg_id)
            if err is not None:
                return err
        if msg_id:
            if v2:
                # The stream as a whole counts as one reply [uncertain].
                if continued is None and inbound.counted >= self.max_replies:
                    return _error(400, CODE_REPLY_LIMIT, "msg limit exceed")
        elif event_id:
            if event_id not in self._event_ids:
                return _error(400, CODE_MSG_EXPIRE, "event_id无效或越权")
        elif v2 and not self.allow_active_v2:
            return _error(400, CODE_ACTIVE_REFUSED, "active message not allowed")
        if inbound is not None and v2:
            inbound.replies.add(seq)
            if continued is None:
                inbound.counted += 1
        lost = forced[1] if forced is not None else None
        if chunk is not None:
            assert seq is not None and msg_id
            return self._accept_chunk(req, chat_id, body, chunk, continued, msg_id, seq, lost)
        new_id = ("ROBOT1.0_" + secrets.token_urlsafe(24)) if v2 else "08" + secrets.token_hex(20)
        rec = QqMessage(kind=kind, chat_id=chat_id, id=new_id, body=body,
                        content=content if isinstance(content, str) else None,
                        msg_type=msg_type if _is_int(msg_type) else None,
                        msg_id=msg_id or None, msg_seq=seq, event_id=event_id or None,
                        headers=dict(req.headers), t=req.t, wall=req.wall, status=lost or 200)
        with self._lock:
            self._delivered.append(rec)
        if lost is not None:
            return _server_error(lost)
        if v2:
            return _json(200, {"id": new_id, "timestamp": int(time.time())})
        return _json(200, {"id": new_id, "channel_id": chat_id, "content": content or "",
                           "timestamp": _now_iso(),
                           "author": {"id": self.bot_id, "username": self.bot_name,
                                      "bot": True}})


    def _stream_chunk(self, kind: str, chat_id: str, body: dict, msg_type: Any, msg_id: Any
                      ) -> tuple[Optional[dict], Optional[QqStream], Optional[Response]]:
        """Checks a message's `stream` field: (the chunk's fields, the stream it continues or
        None for a new one, None) or (None, None, the error answer). The codes of these refusals
        are not documented: 40000, the fake's code for a malformed request [uncertain]."""
        def bad(message: str) -> tuple[None, None, Response]:
            return None, None, _error(400, CODE_BAD_REQUEST, message)
        if kind != "c2c":
            # [uncertain] the stream API is C2C only (AstrBot and the notes); what groups and
            # guild channels answer is not known.
            return bad("stream is only supported in C2C messages")
        st = body["stream"]
        if not isinstance(st, dict):
            return bad("stream must be an object")
        if msg_type not in (0, 2):
            return bad("stream needs msg_type 0 (text) or 2 (markdown)")
        if not msg_id:
            return bad("stream needs msg_id (a passive reply)")
        state, index, reset = st.get("state"), st.get("index"), st.get("reset", False)
        if not _is_int(state) or state not in STREAM_STATES:
            return bad(f"stream.state must be one of {STREAM_STATES}")
        if not _is_int(index) or index < 0:
            return bad("stream.index must be a non-negative integer")
        if not isinstance(reset, bool):
            return bad("stream.reset must be a boolean")
        text = body.get("content") if msg_type == 0 else (body.get("markdown") or {}).get(
            "content")
        if not isinstance(text, str):
            return bad("stream chunk without text")
        if state == STREAM_DONE and not text.endswith("\n"):
            # Refused before the msg_seq is used: AstrBot retries this with the same msg_seq.
            return None, None, _error(500, 500, STREAM_NEWLINE_MESSAGE)
        chunk = {"state": state, "index": index, "reset": reset, "text": text}
        if "id" not in st:
            return chunk, None, None
        sid = st["id"]
        if not isinstance(sid, str) or not sid:
            # AstrBot drops a None id before sending: QQ refuses `"id": null` on a first chunk.
            return bad("stream.id must be the id answered to the first chunk")
        with self._lock:
            stream = self._streams.get(sid)
        if stream is None or stream.chat_id != chat_id or stream.msg_id != msg_id:
            return bad("stream.id unknown for this user and msg_id")
        if stream.finished:
            return bad("stream already finished")
        if msg_type != stream.msg_type:
            return bad("stream chunks must keep the first chunk's msg_type")
        if index <= stream.chunks[-1].index:
            return bad("stream.index must increase")
        return chunk, stream, None

    def _accept_chunk(self, req: Request, chat_id: str, body: dict, chunk: dict,
                      stream: Optional[QqStream], msg_id: str, seq: int,
                      lost: Optional[int]) -> Response:
        rec = QqStreamChunk(index=chunk["index"], state=chunk["state"], text=chunk["text"],
                            reset=chunk["reset"], msg_seq=seq, body=body,
                            headers=dict(req.headers), t=req.t, wall=req.wall,
                            status=lost or 200)
        with self._lock:
            if stream is None:
                stream = QqStream(id="ROBOT1.0_" + secrets.token_urlsafe(24), chat_id=chat_id,
                                  msg_id=msg_id, msg_type=body["msg_type"])
                self._streams[stream.id] = stream
            stream.chunks.append(rec)
            stream.text = rec.text if rec.reset else stream.text + rec.text
            stream.finished = rec.state == STREAM_DONE
        if lost is not None:
            return _server_error(lost)
        return _json(200, {"id": stream.id, "timestamp": int(time.time())})

    def _recall(self, req: Request, token: str) -> Response:
        kind = RECALLS[req.endpoint]
        parts = [urllib.parse.unquote(p) for p in req.path.strip("/").split("/")]
        chat_id, message_id = parts[-3], parts[-1]
        hidetip: Optional[bool] = None
        if "hidetip" in req.query:
            if req.query["hidetip"] not in ("true", "false"):
                return _error(400, CODE_BAD_REQUEST, "hidetip must be true or false")
            hidetip = req.query["hidetip"] == "true"
        app = self._token_owner(token)
        with self._lock:
            msg = next((m for m in self._delivered if m.id == message_id), None)
        # Another chat's message, or another app's, is as unknown as one never sent.
        if msg is None or msg.recalled or msg.kind != kind or msg.chat_id != chat_id \
                or self._token_owner(msg.headers.get("authorization", "")[6:]) != app:
            return _error(404, CODE_RECALL_NOT_FOUND, "message not found")
        if kind in ("group", "c2c") and req.t - msg.t > self.recall_window:
            return _error(400, CODE_RECALL_EXPIRED, "message recall time exceeded")
        with self._lock:
            msg.recalled = True
            self._recalls.append(Recall(kind=kind, chat_id=chat_id, message_id=message_id,
                                        message=msg, hidetip=hidetip, headers=dict(req.headers),
                                        t=req.t, wall=req.wall))
        return _json(200, {})


def _server_error(status: int) -> Response:
    if status == 500:
        return _error(500, 500, "internal error")
    page = f"<html><body><h1>{status}</h1></body></html>".encode()
    return Response(status, page, {}, "text/html")


def main() -> None:
    ap = standalone_parser("fake QQ Bot Open Platform (token, OpenAPI, gateway)")
    ap.add_argument("--ws-port", type=int)
    ap.add_argument("--app-id")
    ap.add_argument("--app-secret")
    ap.add_argument("--token-lifetime", type=float)
    ap.add_argument("--heartbeat-interval", type=int, help="ms")
    QqFake(**vars(ap.parse_args())).serve_forever()


if __name__ == "__main__":
    main()
