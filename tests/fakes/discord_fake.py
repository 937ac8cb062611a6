#!/usr/bin/python3
"""A strict fake of Discord (REST v10, Gateway v10, interaction webhooks), for botgate's
integration tests.

It is the platform's view, written from the protocol notes (/work/shared/protocols/discord.md,
sections 2, 3, 4 and 6), not from botgate's code. The gateway dialect Discord shares with QQ is
served by gateway_fake.py; this file has Discord's own rules:

* REST under /api/v10 on one port: GET /gateway, GET /gateway/bot, GET /users/@me,
  POST /users/@me/channels, POST /channels/{id}/messages (JSON or multipart), DELETE
  /channels/{id}/messages/{message_id} (see "Deleting" below), PATCH
  /channels/{id}/messages/{message_id} (see "Editing" below), the interaction
  webhooks (PATCH/GET/DELETE /webhooks/{app}/{token}/messages/@original, POST
  /webhooks/{app}/{token}) and POST /interactions/{id}/{token}/callback. `Authorization: Bot
  <token>` (not on webhook/interaction routes), a `DiscordBot` User-Agent and a JSON Content-Type
  are required; per-route buckets (per channel) and a global limit answer 429 like Discord, with
  the X-RateLimit-* headers on every answer of a limited route.
* A Gateway (WebSocket) on another port, and by default a second one that READY names as
  `resume_gateway_url`: Hello, heartbeats and ACKs, Identify -> READY, Resume with replay of every
  missed dispatch then RESUMED, op 7/9 on request, the close codes of section 3.4. Sessions
  outlive connections: a dispatch for a session without a live connection is kept and replayed by
  a resume; a client close with 1000/1001 invalidates the session, any other close keeps it.

In-process use (the tests):

    fake = DiscordFake(heartbeat_interval=500).start()   # 127.0.0.1, free ports, own thread
    ... fake.api_base, fake.gateway_url, fake.inject_message("123", "<@111> hi") ...
    ... fake.wait_for_messages(1), fake.stats(), fake.drop_connection() ...
    fake.stop()

Every public method is safe to call from any thread: gateway and REST state lives on the fake's
event loop, and the controls run there (they wait for it); the records the getters read are
guarded by the shared lock.

Standalone: python3 tests/fakes/discord_fake.py --port 9999 --ws-port 9998 --token T
(controls under POST /_fake/<name>, see DiscordFake._controls).

Message delivery rules (what a test can rely on):
* MESSAGE_CREATE goes to every valid session whose shard owns the guild
  ((guild_id >> 22) % shard_count; DMs to shard 0) and whose intents include GUILD_MESSAGES
  (guild) or DIRECT_MESSAGES (DM). Without MESSAGE_CONTENT the content, embeds, attachments and
  components are emptied, except in DMs, for messages that mention the bot and for the bot's own
  messages (notes 3.5).
* When no valid session owns the shard at all (before the first Identify, or after the session
  was invalidated), the dispatch waits in a queue and is delivered right after the READY of the
  next session for that shard (`queue_without_session`; Discord itself would drop it).
* Messages the bot posts through REST come back as MESSAGE_CREATE with the bot as author, as on
  Discord (`echo_own_messages`).

Deleting (DELETE /channels/{channel_id}/messages/{message_id}, what botgate's recall calls):
* 204 with no body; the message leaves the channel (a reply to it or a second delete answers
  404 10008 Unknown Message), its PostedMessage gets `deleted`, `recalls()` records it, and the
  sessions get MESSAGE_DELETE {id, channel_id, guild_id?} (not queued without a session).
* Unknown channel: 404 10003; a message the fake never saw in that channel, or already deleted:
  404 10008 Unknown Message; an id that is not a snowflake: 400 50035.
* Someone else's message (a user's, injected; or another bot's): 403 50013 Missing Permissions
  unless `manage_messages` is set; in a DM 403 50003 (Discord lets nobody delete another's DM).
* Its own per-channel bucket (channel_bucket_limit per channel_bucket_window, X-RateLimit-*
  headers on every answer), the global limit, and force_429/force_5xx with route="delete".

Editing (PATCH /channels/{channel_id}/messages/{message_id}, what a streamed reply calls):
* JSON (or multipart) body; a field left out keeps its value, null clears it. 200 with the
  whole message object, `edited_timestamp` set; the PostedMessage gets the new content and
  `edited_timestamp`, `message_edits()` / `edits_of(id)` record each edit in order (not
  `edits()`: those are the interaction webhooks'), and the sessions get MESSAGE_UPDATE with the
  whole message (content hidden without MESSAGE_CONTENT as for MESSAGE_CREATE; the bot's own
  messages keep it; not queued without a session).
* content over 2000 characters: 400 50035; a message left with no content, embeds, components
  or attachments: 400 50006. Another's message (a user's or another bot's): 403 50005 "Cannot
  edit a message authored by another user". Unknown channel 404 10003; a message not in that
  channel, never seen, or deleted: 404 10008; an id that is not a snowflake: 400 50035.
* Its own per-channel bucket (like Create Message's, separate from it and from Delete's), the
  global limit, and force_429/force_5xx with route="edit".
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import hashlib
import json
import math
import re
import secrets
import sys
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

if not __package__:  # run as a script: make the `fakes` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes import http_fake
from fakes.gateway_fake import OP_DISPATCH, GatewayConn, GatewayFake, GatewaySession
from fakes.gateway_fake import dumps as _dumps
from fakes.gateway_fake import is_int as _is_int
from fakes.gateway_fake import json_answer as _json
from fakes.http_fake import Request as HttpRequest
from fakes.http_fake import Response, standalone_parser, wait_until

# Reason phrases the shared HTTP layer lacks (it answers "Status" for unknown ones).
for _code, _reason in ((204, "No Content"), (401, "Unauthorized"), (403, "Forbidden"),
                       (502, "Bad Gateway"), (504, "Gateway Timeout")):
    http_fake._REASONS.setdefault(_code, _reason)

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

DEFAULT_TOKEN = "MTExMTExMTExMTExMTExMTEx.GfAkE0.botgate-fake-discord-token-0123456789"
DEFAULT_BOT_ID = "111111111111111111"
DEFAULT_APPLICATION_ID = "222222222222222222"
DEFAULT_USER_ID = "80351110224678912"

# Intents (notes 3.5).
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15
VALID_INTENTS = sum(1 << b for b in (*range(0, 17), 20, 21, 24, 25))
DEFAULT_INTENTS = GUILDS | GUILD_MESSAGES | DIRECT_MESSAGES | MESSAGE_CONTENT  # 37377

# Gateway opcodes (notes 3.2) besides the dialect's (gateway_fake.py).
OP_PRESENCE, OP_VOICE, OP_REQUEST_MEMBERS = 3, 4, 8
# Client opcodes accepted (and ignored) once authenticated.
CLIENT_OTHER_OPS = (OP_PRESENCE, OP_VOICE, OP_REQUEST_MEMBERS, 31, 43)

# Gateway limits (notes 3.1, 6.3).
MAX_PAYLOAD_BYTES = 4096
SEND_LIMIT = 120
SEND_WINDOW = 60.0
SESSION_START_TOTAL = 1000

# Message limits (notes 6.1).
CONTENT_MAX = 2000
NONCE_MAX = 25
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000
EMBED_FIELDS_MAX = 25
REQUEST_MAX_BYTES = 25 * 1024 * 1024

# Interactions (notes 4.3).
INTERACTION_TOKEN_TTL = 15 * 60.0
INTERACTION_ACK_DEADLINE = 3.0
CALLBACK_TYPES = (1, 4, 5, 6, 7, 8, 9, 10, 12)

MESSAGES_ROUTE = "POST /channels/{channel.id}/messages"
DELETE_ROUTE = "DELETE /channels/{channel.id}/messages/{message.id}"
EDIT_ROUTE = "PATCH /channels/{channel.id}/messages/{message.id}"
ROUTE_NAMES = {"create_message": MESSAGES_ROUTE, "delete_message": DELETE_ROUTE,
               "edit_message": EDIT_ROUTE}
# force_429 / force_5xx: the route a forced fault applies to -> the endpoint it answers.
FORCED_ROUTES = {"create": "create_message", "delete": "delete_message", "edit": "edit_message"}
_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")
_SNOWFLAKE_RE = re.compile(r"^\d{1,20}$")


def _now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")


def _bucket_hash(route: str) -> str:
    return hashlib.md5(route.encode()).hexdigest()


def _error(status: int, code: int, message: str, headers: Optional[dict[str, str]] = None,
           errors: Optional[dict] = None) -> Response:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return _json(status, body, headers)


def _form_error(errors: dict, headers: Optional[dict[str, str]] = None) -> Response:
    return _error(400, 50035, "Invalid Form Body", headers, errors)


def _field_error(code: str, message: str) -> dict:
    return {"_errors": [{"code": code, "message": message}]}


# ---------------------------------------------------------------------- records


@dataclass
class Request(HttpRequest):
    """One HTTP request as the fake saw it. endpoint: gateway | gateway_bot | users_me |
    create_dm | create_message | delete_message | edit_message | webhook_original |
    webhook_followup |
    interaction_callback | control | other."""

    code: Optional[int] = None  # the JSON error `code` answered, if any
    bot_auth: bool = False  # carried `Authorization: Bot <the bot token>` (of a known bot)
    bot_token: str = ""  # that token


@dataclass
class Attachment:
    """A file uploaded with a message (multipart `files[n]`)."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class PostedMessage:
    """One message the bot created with POST /channels/{id}/messages (a nonce repeat is not a
    new one)."""

    id: str
    channel_id: str
    content: str
    embeds: list
    components: list
    attachments: list[Attachment]
    message_reference: Optional[dict]  # as sent by the client
    replied_to: Optional[str]  # the message it replies to (None: no reference, or dropped)
    nonce: Any
    enforce_nonce: bool
    allowed_mentions: Optional[dict]
    flags: int
    body: dict  # the JSON body (payload_json for multipart)
    headers: dict[str, str]  # lower-case names
    t: float  # time.monotonic()
    wall: float  # time.time()
    status: int = 200  # the HTTP status answered (a forced 5xx after posting: that status)
    deleted: bool = False  # a DELETE took it back (see recalls())
    edited_timestamp: Optional[str] = None  # ISO time of the last edit (see message_edits())

    @property
    def text(self) -> str:
        return self.content


@dataclass
class Recall:
    """One message a DELETE /channels/{id}/messages/{id} removed (answered 204, or a forced
    5xx after deleting)."""

    message_id: str
    channel_id: str
    own: bool  # the requesting bot had posted it (False: deleted with manage_messages)
    message: Optional[PostedMessage]  # the bot's post, when it was one
    headers: dict[str, str]  # lower-case names
    t: float  # time.monotonic()
    wall: float  # time.time()
    status: int = 204  # the HTTP status answered

    @property
    def chat(self) -> str:
        return self.channel_id


@dataclass
class MessageEdit:
    """One accepted PATCH /channels/{id}/messages/{id} (answered 200, or a forced 5xx after
    editing): the message as it reads after this edit."""

    message_id: str
    channel_id: str
    content: str  # the whole content after the edit (unchanged when the body had none)
    embeds: list  # likewise
    body: dict  # the JSON body (payload_json for multipart)
    edited_timestamp: str  # what the message object now carries
    headers: dict[str, str]  # lower-case names
    t: float  # time.monotonic()
    wall: float  # time.time()
    status: int = 200  # the HTTP status answered

    @property
    def text(self) -> str:
        return self.content

    @property
    def chat(self) -> str:
        return self.channel_id


@dataclass
class WebhookCall:
    """An interaction webhook or callback call that the fake accepted."""

    kind: str  # "edit" | "delete" | "followup" | "callback"
    application_id: str
    token: str
    interaction_id: str
    body: dict
    content: Optional[str]
    embeds: list
    message_id: Optional[str]  # the message edited / created
    callback_type: Optional[int]
    had_authorization: bool  # any Authorization header was present
    had_bot_token: bool  # the bot token was in it (Discord ignores it; botgate must not send it)
    headers: dict[str, str]
    t: float
    wall: float


@dataclass
class _Interaction:
    token: str
    id: str
    application_id: str
    channel_id: Optional[str]
    registered_at: float  # monotonic, minus the age given at registration
    acknowledged: bool
    original_id: str


@dataclass
class _Bucket:
    count: int
    reset_at: float  # monotonic
    reset_wall: float


@dataclass
class _Channel:
    guild_id: Optional[str]
    type: int  # 0 guild text, 1 DM



@dataclass(eq=False, kw_only=True)  # identity: kept in sets
class _Session(GatewaySession):
    created: float

    def owns(self, guild_id: Optional[str]) -> bool:
        shard = 0 if guild_id is None else (int(guild_id) >> 22) % self.shard_count
        return shard == self.shard_id


@dataclass(eq=False, kw_only=True)  # identity: kept in sets
class _Conn(GatewayConn):
    via_resume_url: bool
    compress: bool = False
    received: collections.deque = field(default_factory=collections.deque)  # times, for 120/60s


# ---------------------------------------------------------------------- the fake


class DiscordFake(GatewayFake):
    """The fake Discord. All public methods are safe to call from any thread."""

    platform = "discord"
    api_label = "REST"
    request_type = Request
    max_body_bytes = REQUEST_MAX_BYTES + 1024 * 1024
    delivery_fields = ("id", "channel_id", "content", "embeds", "message_reference", "nonce")
    extra_counters = ("connections_resume_url", "identify_rate_limited", "resumes_on_resume_url",
                      "invalid_requests", "rate_limited")

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_id: str = DEFAULT_BOT_ID,
        bot_name: str = "fakebot",
        application_id: str = DEFAULT_APPLICATION_ID,
        heartbeat_interval: int = 1000,
        shards: int = 1,
        max_concurrency: int = 1,
        message_content: bool = True,
        guild_members: bool = False,
        guild_presences: bool = False,
        channel_bucket_limit: int = 5,
        channel_bucket_window: float = 1.0,
        global_limit: int = 50,
        channels: Iterable[str] = (),
        separate_resume_url: bool = True,
        identify_interval: float = 5.0,
        heartbeat_timeout: Optional[float] = None,
        queue_without_session: bool = True,
        echo_own_messages: bool = True,
        manage_messages: bool = False,
        nonce_window: float = 300.0,
        session_resume_window: float = 180.0,
        reconnect_close_after: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
        ws_port: int = 0,
        resume_port: int = 0,
    ) -> None:
        """
        token: the bot token (REST `Authorization: Bot <token>`, Identify/Resume `token`).
        heartbeat_interval: ms, sent in Hello.
        shards: the shard count GET /gateway/bot recommends; max_concurrency: its
          session_start_limit.max_concurrency (identify buckets, shard_id % max_concurrency).
        message_content / guild_members / guild_presences: the privileged intents enabled for the
          app in the portal; requesting one that is not enabled closes with 4014.
        channel_bucket_limit / channel_bucket_window: the per-channel bucket of Create Message
          (and of each interaction webhook token).
        global_limit: bot-authenticated requests per second (interaction routes exempt).
        channels: channel ids known from the start (any channel a message is injected into, or a
          DM channel opened through REST, becomes known too).
        separate_resume_url: READY's resume_gateway_url names a second listener (resume_port) so
          a test can check that resumes go there; False: the main gateway URL.
        identify_interval: seconds between two identifies of one bucket (Discord: 5); a faster
          identify gets op 9 d:false. 0 disables the check.
        heartbeat_timeout: seconds without a heartbeat (since Hello or the last beat) after which
          the fake closes with 4009 and drops the session; default 1.5 intervals + 1 s.
        manage_messages: the bot has MANAGE_MESSAGES in the guilds, so it may delete what others
          wrote there (a test may flip the attribute at any time).
        """
        super().__init__(heartbeat_interval, heartbeat_timeout, queue_without_session,
                         reconnect_close_after, host, port, ws_port)
        self.token = token
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.application_id = application_id
        self.shards = shards
        self.max_concurrency = max_concurrency
        self.enabled_privileged = ((MESSAGE_CONTENT if message_content else 0)
                                   | (GUILD_MEMBERS if guild_members else 0)
                                   | (GUILD_PRESENCES if guild_presences else 0))
        self.channel_bucket_limit = channel_bucket_limit
        self.channel_bucket_window = channel_bucket_window
        self.global_limit = global_limit
        self.separate_resume_url = separate_resume_url
        self.identify_interval = identify_interval
        self.echo_own_messages = echo_own_messages
        self.manage_messages = manage_messages
        self.nonce_window = nonce_window
        self.session_resume_window = session_resume_window
        self.resume_port = resume_port

        # Loop-confined state (touched only on the fake's event loop).
        self._channels: dict[str, _Channel] = {c: _Channel(None, 0) for c in channels}
        self._dm_channels: dict[str, str] = {}  # user id -> DM channel id
        self._guilds: list[str] = []
        self._message_objs: dict[str, dict] = {}  # message id -> message object
        self._channel_msgs: dict[str, set[str]] = {}  # the messages not deleted
        self._posted_by: dict[str, str] = {}  # message id -> user id of the bot that posted it
        self._nonces: dict[str, tuple[float, str]] = {}  # nonce -> (monotonic, message id)
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._global_times: dict[str, collections.deque] = {}  # per bot token
        # (endpoint, "429", retry_after, global) | (endpoint, "5xx", status, deliver)
        self._forced: list[tuple] = []
        self._interactions: dict[str, _Interaction] = {}
        self._identify_times: dict[tuple[str, int], float] = {}  # (token, bucket) -> last
        self._last_snowflake = 0
        self._started_wall = time.time()

        # Bots besides the first (add_bot): token -> (bot user id, application id). Guarded by
        # self._lock.
        self._more_bots: dict[str, tuple[str, str]] = {}

        # Records (guarded by self._lock; read by the getters from any thread).
        self._webhook_calls: list[WebhookCall] = []
        self._nonce_repeats: list[Any] = []
        self._recalls: list[Recall] = []
        self._message_edits: list[MessageEdit] = []

    # ------------------------------------------------------------------ addresses

    @property
    def api_base(self) -> str:
        """What botgate's `api_base` is set to: http://127.0.0.1:<port>/api/v10."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """The `url` of GET /gateway/bot (no query; clients add ?v=10&encoding=json)."""
        return f"{self.ws_scheme}://{self.host}:{self.ws_port}"

    @property
    def resume_url(self) -> str:
        """READY's resume_gateway_url."""
        port = self.resume_port if self.separate_resume_url else self.ws_port
        return f"{self.ws_scheme}://{self.host}:{port}"

    def _banner_details(self) -> str:
        return f"gateway {self.gateway_url}, resume {self.resume_url}"

    # ------------------------------------------------------------------ lifecycle
    async def _start_ws(self) -> None:
        await super()._start_ws()
        if self.separate_resume_url:
            self.resume_port = await self._listen(self.resume_port, via_resume_url=True)

    # ------------------------------------------------------------------ controls: gateway

    def inject_message(
        self,
        channel_id: str,
        content: str,
        author_id: str = DEFAULT_USER_ID,
        author_name: str = "nelly",
        guild_id: Optional[str] = None,
        author_bot: bool = False,
        mentions: Optional[list[str]] = None,
        mention_roles: Optional[list[str]] = None,
        reply_to: Optional[str] = None,
        message_type: Optional[int] = None,
    ) -> str:
        """A user writes a message: dispatched as MESSAGE_CREATE (see the module's delivery
        rules); returns its id (a snowflake string, increasing, with the current timestamp).

        mentions: user ids mentioned (default: the `<@id>`/`<@!id>` in `content`); mention_roles
        likewise from `<@&id>`. guild_id None makes a DM (channel_type 1). reply_to: the id of a
        message in that channel (type 19, message_reference + referenced_message)."""
        return self._call(self._inject_message, str(channel_id), content, str(author_id),
                          author_name, None if guild_id is None else str(guild_id), author_bot,
                          mentions, mention_roles, reply_to, message_type)

    def inject_dispatch(self, t: str, d: dict, guild_id: Optional[str] = None) -> None:
        """Any other dispatch (INTERACTION_CREATE, GUILD_CREATE, ...), to the sessions owning
        `guild_id`'s shard (shard 0 for None), with no intent filtering."""
        self._call(self._dispatch_event, t, d, guild_id)


    def add_channel(self, channel_id: str, guild_id: Optional[str] = None) -> None:
        """Makes a channel known (guild text channel; with guild_id None still type 0)."""
        def add() -> None:
            self._channels[str(channel_id)] = _Channel(guild_id, 0)
            if guild_id is not None and guild_id not in self._guilds:
                self._guilds.append(guild_id)
        self._call(add)

    def force_429(self, count: int = 1, retry_after: float = 1.0, is_global: bool = False,
                  route: str = "create") -> None:
        """The next `count` calls of `route` ("create": Create Message, "delete": Delete
        Message, "edit": Edit Message) answer 429 (retry_after seconds; global or not), after
        authentication and before anything else."""
        endpoint = FORCED_ROUTES[route]
        self._call(self._forced.extend,
                   [(endpoint, "429", float(retry_after), bool(is_global))] * count)

    def force_5xx(self, count: int = 1, status: int = 500, deliver: bool = False,
                  route: str = "create") -> None:
        """The next `count` calls of `route` ("create", "delete" or "edit", as force_429) answer
        `status` (500: JSON; 502/503/504: a Cloudflare HTML page). With `deliver`, the call takes
        effect first (a valid message is posted, its nonce remembered; the message is deleted;
        or the edit is made and dispatched): the platform did the work but the answer was
        lost."""
        endpoint = FORCED_ROUTES[route]
        self._call(self._forced.extend, [(endpoint, "5xx", int(status), bool(deliver))] * count)

    def _pop_forced(self, endpoint: str) -> Optional[tuple]:
        """The next forced fault of `endpoint`: ("429", retry_after, global) | ("5xx", status,
        deliver) | None."""
        for i, f in enumerate(self._forced):
            if f[0] == endpoint:
                del self._forced[i]
                return f[1:]
        return None

    def register_interaction_token(self, token: str, interaction_id: Optional[str] = None,
                                   channel_id: Optional[str] = None, age: float = 0.0,
                                   acknowledged: bool = True,
                                   application_id: Optional[str] = None) -> str:
        """Discord delivered an interaction with `token` `age` seconds ago; returns its id.

        `acknowledged` (default): its initial response was given (as botgate does in the HTTP
        answer, which the fake does not see), so the webhooks work; False: the callback endpoint
        must be called first (within 3 s), as for gateway interactions."""
        def register() -> str:
            iid = interaction_id or self._snowflake()
            self._interactions[token] = _Interaction(
                token=token, id=iid, application_id=application_id or self.application_id,
                channel_id=channel_id, registered_at=time.monotonic() - age,
                acknowledged=acknowledged, original_id=self._snowflake())
            return iid
        return self._call(register)

    def acknowledge_interaction(self, token: str) -> None:
        """Discord now has the initial response of the interaction with `token` (botgate's HTTP
        answer, which the fake does not see): its webhooks work from here on. Before it they
        answer 404 Unknown Webhook, as Discord does."""
        def acknowledge() -> None:
            it = self._interactions.get(token)
            if it is None:
                raise KeyError("no interaction with that token")
            it.acknowledged = True
        self._call(acknowledge)

    def add_bot(self, token: str, bot_id: Optional[str] = None,
                application_id: Optional[str] = None) -> str:
        """Another bot (one process hosting several): its own token, user id and application
        id (made from the token unless given), its own identify buckets, global rate limit and
        GET /users/@me and GET /gateway/bot buckets; its READY and GET /users/@me name it.
        Returns its user id. Dispatches (inject_message and friends) go to the first bot's
        sessions only, and what any bot sends is recorded as sent by the first bot."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        bot_id = bot_id or str(int(digest[:15], 16))
        application_id = application_id or str(int(digest[15:30], 16))
        with self._lock:
            self._more_bots[token] = (bot_id, application_id)
        return bot_id

    def bot_identity(self, token: str) -> Optional[tuple[str, str]]:
        """(user id, application id) of the bot with this token; None if unknown."""
        return self._bot_of(token)

    def _bot_of(self, token: str) -> Optional[tuple[str, str]]:
        """(user id, application id) of the bot with this token; None if unknown."""
        if token == self.token:
            return self.bot_id, self.application_id
        with self._lock:
            return self._more_bots.get(token)

    def _reset_platform(self) -> None:  # under the lock, on the loop
        self._forced.clear()
        self._buckets.clear()
        self._global_times.clear()
        self._webhook_calls.clear()
        self._nonce_repeats.clear()
        self._recalls.clear()
        self._message_edits.clear()

    # ------------------------------------------------------------------ observations

    def messages(self, channel_id: Optional[str] = None) -> list[PostedMessage]:
        """Messages the bot posted (Create Message), in order."""
        with self._lock:
            return [m for m in self._delivered
                    if channel_id is None or m.channel_id == str(channel_id)]

    def wait_for_messages(self, n: int, timeout: float = 10.0,
                          channel_id: Optional[str] = None) -> list[PostedMessage]:
        """Waits until at least `n` messages were posted (in `channel_id`); returns them all
        (maybe fewer)."""
        wait_until(lambda: len(self.messages(channel_id)) >= n, timeout)
        return self.messages(channel_id)

    def recalls(self, channel_id: Optional[str] = None) -> list[Recall]:
        """Messages deleted through DELETE /channels/{id}/messages/{id}, in order."""
        with self._lock:
            return [r for r in self._recalls
                    if channel_id is None or r.channel_id == str(channel_id)]

    def wait_for_recalls(self, n: int, timeout: float = 10.0,
                         channel_id: Optional[str] = None) -> list[Recall]:
        """Waits until at least `n` messages were deleted (in `channel_id`); returns them all
        (maybe fewer)."""
        wait_until(lambda: len(self.recalls(channel_id)) >= n, timeout)
        return self.recalls(channel_id)

    def message_edits(self, channel_id: Optional[str] = None,
                      message_id: Optional[str] = None) -> list[MessageEdit]:
        """Edits of channel messages (PATCH /channels/{id}/messages/{id}) accepted, in order
        (optionally only those in `channel_id` / of `message_id`). Not the interaction
        webhook edits: those are edits()."""
        with self._lock:
            return [e for e in self._message_edits
                    if (channel_id is None or e.channel_id == str(channel_id))
                    and (message_id is None or e.message_id == str(message_id))]

    def edits_of(self, message_id: str) -> list[MessageEdit]:
        """The accepted edits of one message, in order."""
        return self.message_edits(message_id=message_id)

    def wait_for_message_edits(self, n: int, timeout: float = 10.0,
                               channel_id: Optional[str] = None,
                               message_id: Optional[str] = None) -> list[MessageEdit]:
        """Waits until at least `n` edits were accepted (in `channel_id`, of `message_id`);
        returns them all (maybe fewer)."""
        wait_until(lambda: len(self.message_edits(channel_id, message_id)) >= n, timeout)
        return self.message_edits(channel_id, message_id)

    def webhook_calls(self, kind: Optional[str] = None) -> list[WebhookCall]:
        with self._lock:
            return [c for c in self._webhook_calls if kind is None or c.kind == kind]

    def edits(self) -> list[WebhookCall]:
        """PATCH .../messages/@original calls accepted."""
        return self.webhook_calls("edit")

    def followups(self) -> list[WebhookCall]:
        """POST /webhooks/{app}/{token} calls accepted."""
        return self.webhook_calls("followup")

    def callbacks(self) -> list[WebhookCall]:
        """POST /interactions/{id}/{token}/callback calls accepted."""
        return self.webhook_calls("callback")

    def nonce_repeats(self) -> list[Any]:
        """Nonces that came again (with enforce_nonce) and got the existing message."""
        with self._lock:
            return list(self._nonce_repeats)

    def _stats_unlocked(self) -> dict[str, Any]:
        """stats() adds connections_resume_url, identify_rate_limited, resumes_on_resume_url,
        invalid_requests, rate_limited, nonce_repeats, recalls, message_edits, edits (of
        interaction webhooks), followups, callbacks."""
        out = super()._stats_unlocked()
        out.update({
            "nonce_repeats": len(self._nonce_repeats),
            "recalls": len(self._recalls),
            "message_edits": len(self._message_edits),
            "edits": sum(1 for w in self._webhook_calls if w.kind == "edit"),
            "followups": sum(1 for w in self._webhook_calls if w.kind == "followup"),
            "callbacks": sum(1 for w in self._webhook_calls if w.kind == "callback"),
        })
        return out

    def _controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        """POST /_fake/inject_message  {"channel_id", "content", "author_id"?, "guild_id"?, ...}
        POST /_fake/force_429           {"count": 1, "retry_after": 1.0, "is_global": false,
                                         "route": "create" | "delete" | "edit"}
        POST /_fake/force_5xx           {"count": 1, "status": 500, "deliver": false, "route"}
        POST /_fake/manage_messages     {"enabled": true}
        POST /_fake/register_interaction_token {"token": "..."}
        POST /_fake/add_channel         {"channel_id", "guild_id"?}
        and the gateway's (GatewayFake._gateway_controls; close_connection's code 4000).
        """
        def inject(a: dict) -> Response:
            return _json(200, {"id": self.inject_message(**a)})

        def register(a: dict) -> Response:
            return _json(200, {"id": self.register_interaction_token(**a)})

        return {
            "inject_message": inject,
            **self._gateway_controls(),
            "force_429": lambda a: self.force_429(**a),
            "force_5xx": lambda a: self.force_5xx(**a),
            "register_interaction_token": register,
            "add_channel": lambda a: self.add_channel(**a),
            "manage_messages": lambda a: setattr(self, "manage_messages", bool(a["enabled"])),
        }


    def _snowflake(self) -> str:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        sf = (ms << 22) | (1 << 17)
        sf = max(sf, self._last_snowflake + 1)
        self._last_snowflake = sf
        return str(sf)

    def _bot_user(self, token: Optional[str] = None) -> dict:
        """The first bot's user, or the user of the bot with `token`."""
        bot_id = (self._bot_of(token) or (self.bot_id, ""))[0] if token else self.bot_id
        return {"id": bot_id, "username": self.bot_name, "discriminator": "0",
                "global_name": None, "avatar": None, "bot": True}

    def _user(self, user_id: str, name: Optional[str] = None, bot: bool = False) -> dict:
        if user_id == self.bot_id:
            return self._bot_user()
        u = {"id": user_id, "username": name or f"user{user_id[-4:]}", "discriminator": "0",
             "global_name": name, "avatar": None}
        if bot:
            u["bot"] = True
        return u

    def _register_message(self, d: dict) -> None:
        self._message_objs[d["id"]] = d
        self._channel_msgs.setdefault(d["channel_id"], set()).add(d["id"])

    def _message_in(self, channel_id: str, message_id: str) -> bool:
        return message_id in self._channel_msgs.get(channel_id, ())

    def _inject_message(self, channel_id, content, author_id, author_name, guild_id, author_bot,
                        mentions, mention_roles, reply_to, message_type) -> str:
        if guild_id is not None:
            self._channels[channel_id] = _Channel(guild_id, 0)
            if guild_id not in self._guilds:
                self._guilds.append(guild_id)
        else:
            self._channels[channel_id] = _Channel(None, 1)
            self._dm_channels.setdefault(author_id, channel_id)
        if mentions is None:
            mentions = list(dict.fromkeys(_MENTION_RE.findall(content)))
        if mention_roles is None:
            mention_roles = list(dict.fromkeys(_ROLE_MENTION_RE.findall(content)))
        mid = self._snowflake()
        d: dict[str, Any] = {
            "id": mid,
            "channel_id": channel_id,
            "type": 0,
            "author": self._user(author_id, author_name, author_bot),
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": "@everyone" in content or "@here" in content,
            "mentions": [self._user(str(u)) for u in mentions],
            "mention_roles": [str(r) for r in mention_roles],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "flags": 0,
            "components": [],
        }
        if guild_id is not None:
            d["guild_id"] = guild_id
            d["channel_type"] = 0
            d["member"] = {"roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00",
                           "nick": None, "deaf": False, "mute": False, "flags": 0}
        else:
            d["channel_type"] = 1
        if reply_to is not None:
            d["type"] = 19
            d["message_reference"] = {"type": 0, "message_id": str(reply_to),
                                      "channel_id": channel_id}
            if guild_id is not None:
                d["message_reference"]["guild_id"] = guild_id
            d["referenced_message"] = self._message_objs.get(str(reply_to))
        if message_type is not None:
            d["type"] = message_type
        self._register_message(d)
        self._dispatch_event("MESSAGE_CREATE", d, guild_id)
        return mid

    # ------------------------------------------------------------------ gateway: dispatch

    def _visible(self, sess: _Session, t: str, d: dict, guild_id: Optional[str]) -> Optional[dict]:
        """`d` as `sess` receives it (None: its intents exclude the event)."""
        if t not in ("MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"):
            return d
        need = GUILD_MESSAGES if guild_id is not None else DIRECT_MESSAGES
        if not sess.intents & need:
            return None
        if t == "MESSAGE_DELETE":
            return d
        if sess.intents & MESSAGE_CONTENT or guild_id is None:
            return d
        author = d.get("author") or {}
        if author.get("id") == self.bot_id:
            return d
        if any(m.get("id") == self.bot_id for m in d.get("mentions") or ()):
            return d
        stripped = dict(d, content="", embeds=[], attachments=[], components=[])
        return stripped

    def _dispatch_event(self, t: str, d: dict, guild_id: Optional[str],
                        queue: bool = True) -> None:
        owners = [s for s in self._sessions.values()
                  if s.valid and s.owns(guild_id) and s.owner == self.token]
        if not owners:
            if queue and self.queue_without_session:
                self._pending.append((t, d, guild_id))
            return
        for sess in owners:
            seen = self._visible(sess, t, d, guild_id)
            if seen is not None:
                self._emit_event(sess, t, seen)

    def _emit_event(self, sess: _Session, t: str, d: dict) -> None:
        self._emit(sess, {"op": OP_DISPATCH, "t": t, "d": d})

    def _deliver_pending(self, sess: _Session) -> None:
        if sess.owner != self.token:
            return  # what was queued is the first bot's
        keep = []
        for t, d, guild_id in self._pending:
            if sess.owns(guild_id):
                seen = self._visible(sess, t, d, guild_id)
                if seen is not None:
                    self._emit_event(sess, t, seen)
            else:
                keep.append((t, d, guild_id))
        self._pending = keep

    # ------------------------------------------------------------------ gateway: connections

    async def _process_request(self, path: str, headers: Any):
        # The gateway lives at the root: wss://gateway.discord.gg/?v=10&encoding=json.
        if urllib.parse.urlsplit(path).path != "/":
            return HTTPStatus.NOT_FOUND, [("Content-Type", "text/plain")], b"404: Not Found\n"
        return None

    def _connection_refused(self, ws: Any) -> Optional[tuple[int, str]]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(ws.path).query)
        if query.get("v") != ["10"]:
            return 4012, "Invalid API version"
        if query.get("encoding") != ["json"]:
            return 4012, "Invalid encoding (this fake speaks json only)"
        if "compress" in query:
            return 4012, "Transport compression is not supported by this fake"
        return None

    def _new_conn(self, ws: Any, via_resume_url: bool) -> _Conn:
        if via_resume_url:
            self._bump("connections_resume_url")
        return _Conn(id=self._next_conn_id, ws=ws, via_resume_url=via_resume_url,
                     out=asyncio.Queue(), last_beat=time.monotonic())

    def _encode(self, conn: _Conn, payload: dict) -> Any:
        data: Any = _dumps(payload)
        if conn.compress and payload["op"] == OP_DISPATCH:
            data = zlib.compress(data.encode("utf-8"))  # identify "compress": true
        return data

    # ------------------------------------------------------------------ gateway: client frames

    def _frame_refused(self, conn: _Conn, raw: Any, now: float) -> bool:
        conn.received.append(now)
        while conn.received and now - conn.received[0] > SEND_WINDOW:
            conn.received.popleft()
        if len(conn.received) > SEND_LIMIT:
            self._close(conn, 4008, "Rate limited.")
            return True
        data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        if len(data) > MAX_PAYLOAD_BYTES:
            self._close(conn, 4002, "Error while decoding payload.")
            return True
        return False

    def _other_op(self, conn: _Conn, op: int, d: Any) -> bool:
        if op not in CLIENT_OTHER_OPS:
            return False
        if not conn.authenticated:
            self._close(conn, 4003, "Not authenticated.")
        return True

    def _gateway_token_ok(self, token: Any) -> bool:
        return isinstance(token, str) and self._bot_of(token) is not None

    def _identify_refused(self, conn: _Conn, d: dict, shard: list) -> bool:
        intents = d.get("intents")
        if not _is_int(intents) or intents < 0 or intents & ~VALID_INTENTS:
            self._close(conn, 4013, "Invalid intent(s).")
            return True
        privileged = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
        if intents & privileged & ~self.enabled_privileged:
            self._close(conn, 4014, "Disallowed intent(s).")
            return True
        if not isinstance(d.get("properties"), dict):
            self._close(conn, 4001, "Invalid identify payload: properties.")
            return True
        bucket = (d["token"], shard[0] % max(1, self.max_concurrency))  # buckets per bot
        now = time.monotonic()
        last = self._identify_times.get(bucket)
        if self.identify_interval > 0 and last is not None and now - last < self.identify_interval:
            # max_concurrency identifies per 5 s (notes 6.3): the extra one is refused.
            self._bump("identify_rate_limited")
            self._send_invalid_session(conn, False)
            return True
        self._identify_times[bucket] = now
        return False

    def _new_session(self, d: dict, shard: list) -> _Session:
        return _Session(id=secrets.token_hex(16), shard_id=shard[0], shard_count=shard[1],
                        intents=d["intents"], created=time.monotonic(), owner=d["token"])

    def _ready(self, conn: _Conn, sess: _Session, d: dict) -> None:
        conn.compress = d.get("compress") is True
        guilds = [g for g in self._guilds if sess.owns(g) and sess.owner == self.token]
        self._emit_event(sess, "READY", {
            "v": 10,
            "user": dict(self._bot_user(sess.owner), verified=True, flags=0,
                         mfa_enabled=False),
            "guilds": [{"id": g, "unavailable": True} for g in guilds],
            "session_id": sess.id,
            "session_type": "normal",
            "resume_gateway_url": self.resume_url,
            "shard": [sess.shard_id, sess.shard_count],
            "application": {"id": (self._bot_of(sess.owner) or ("", self.application_id))[1],
                            "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "_trace": ["[\"fake-discord-gateway\"]"],
        })
        if sess.intents & GUILDS:
            for g in guilds:
                channels = [{"id": c, "type": 0, "name": f"channel-{c[-4:]}"}
                            for c, ch in self._channels.items() if ch.guild_id == g]
                self._emit_event(sess, "GUILD_CREATE", {
                    "id": g, "name": f"guild-{g[-4:]}", "unavailable": False,
                    "member_count": 2, "large": False, "channels": channels, "threads": [],
                    "members": [], "roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00"})

    def _may_resume(self, sess: _Session, now: float) -> None:
        if sess.conn is None and sess.detached_at is not None \
                and now - sess.detached_at > self.session_resume_window:
            self._invalidate(sess)

    def _resumed(self, conn: _Conn) -> None:
        if conn.via_resume_url:
            self._bump("resumes_on_resume_url")

    def _resumed_data(self) -> Any:
        return {"_trace": ["[\"fake-discord-gateway\"]"]}

    # ------------------------------------------------------------------ REST: plumbing

    def _classify(self, path: str) -> str:
        parts = _api_parts(path)
        if parts is None:
            return "other"
        n = len(parts)
        if parts == ["gateway"]:
            return "gateway"
        if parts == ["gateway", "bot"]:
            return "gateway_bot"
        if parts == ["users", "@me"]:
            return "users_me"
        if parts == ["users", "@me", "channels"]:
            return "create_dm"
        if n == 3 and parts[0] == "channels" and parts[2] == "messages":
            return "create_message"
        if n == 4 and parts[0] == "channels" and parts[2] == "messages":
            return "delete_message"
        if n == 5 and parts[0] == "webhooks" and parts[3:] == ["messages", "@original"]:
            return "webhook_original"
        if n == 3 and parts[0] == "webhooks":
            return "webhook_followup"
        if n == 4 and parts[0] == "interactions" and parts[3] == "callback":
            return "interaction_callback"
        return "other"

    def _on_record(self, req: Request) -> None:
        # One path, two endpoints: the method tells an edit from a delete.
        if req.endpoint == "delete_message" and req.method == "PATCH":
            req.endpoint = "edit_message"
        auth = req.headers.get("authorization") or ""
        if auth.startswith("Bot ") and self._bot_of(auth[len("Bot "):]) is not None:
            req.bot_auth, req.bot_token = True, auth[len("Bot "):]

    def _record_answer(self, req: Request, resp: Response) -> None:  # under the lock
        try:
            body = json.loads(resp.body) if resp.body else None
        except ValueError:
            body = None
        req.code = body.get("code") if isinstance(body, dict) and "code" in body else None
        if resp.status in (401, 403, 429):
            self._counts["invalid_requests"] += 1
        if resp.status == 429:
            self._counts["rate_limited"] += 1

    async def _route(self, req: Request, reader: asyncio.StreamReader) -> Response:
        return self._finish(req, self._answer(req))

    _METHODS = {
        "gateway": ("GET",), "gateway_bot": ("GET",), "users_me": ("GET",),
        "create_dm": ("POST",), "create_message": ("POST",), "delete_message": ("DELETE",),
        "edit_message": ("PATCH",),
        "webhook_original": ("GET", "PATCH", "DELETE"), "webhook_followup": ("POST",),
        "interaction_callback": ("POST",),
    }

    def _answer(self, req: Request) -> Response:
        ep = req.endpoint
        if ep == "other":
            return _error(404, 0, "404: Not Found")
        if req.method not in self._METHODS[ep]:
            return _error(405, 0, "405: Method Not Allowed")
        if not req.headers.get("user-agent", "").startswith("DiscordBot"):
            # Cloudflare in front of the API blocks clients without a proper User-Agent.
            return Response(403, b"error code: 1010", {}, "text/plain; charset=UTF-8")
        parts = _api_parts(req.path) or []
        if ep == "gateway":
            return _json(200, {"url": self.gateway_url})
        if ep in ("webhook_original", "webhook_followup"):
            return self._webhook(req, parts[1], parts[2])
        if ep == "interaction_callback":
            return self._interaction_callback(req, parts[1], parts[2])
        if not req.bot_auth:
            return _error(401, 0, "401: Unauthorized")
        if ep in ROUTE_NAMES:
            forced = self._pop_forced(ep)
            if forced is not None and forced[0] == "429":
                return self._forced_429(forced[1], forced[2], ROUTE_NAMES[ep])
            if forced is not None and not forced[2]:
                return _server_error(forced[1])
            limited = self._take_global(req.t, req.bot_token)
            if limited is not None:
                return limited
            lose_answer = forced[1] if forced else None
            if ep == "delete_message":
                return self._delete_message(req, parts[1], parts[3], lose_answer)
            if ep == "edit_message":
                return self._edit_message(req, parts[1], parts[3], lose_answer)
            return self._create_message(req, parts[1], lose_answer)
        limited = self._take_global(req.t, req.bot_token)
        if limited is not None:
            return limited
        if ep == "gateway_bot":
            return self._gateway_bot(req)
        if ep == "users_me":
            ok, headers, retry = self._take_bucket("GET /users/@me", req.bot_token, 50, 1.0,
                                                   req.t)
            if not ok:
                return self._rate_limited(retry, False, headers)
            return _json(200, dict(self._bot_user(req.bot_token), verified=True, flags=0,
                                   mfa_enabled=False), headers)
        return self._create_dm(req)

    def _take_global(self, now: float, bot_token: str) -> Optional[Response]:
        window = self._global_times.setdefault(bot_token, collections.deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= self.global_limit:
            retry = max(0.001, 1.0 - (now - window[0]))
            return self._rate_limited(retry, True, {})
        window.append(now)
        return None

    def _take_bucket(self, route: str, major: str, limit: int, window: float,
                     now: float) -> tuple[bool, dict[str, str], float]:
        """(allowed, X-RateLimit-* headers, retry_after) for one request on (route, major)."""
        key = (route, major)
        b = self._buckets.get(key)
        if b is None or now >= b.reset_at:
            b = _Bucket(0, now + window, time.time() + window)
            self._buckets[key] = b
        allowed = b.count < limit
        if allowed:
            b.count += 1
        reset_after = max(0.0, b.reset_at - now)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(limit - b.count),
            "X-RateLimit-Reset": f"{b.reset_wall:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": _bucket_hash(route),
        }
        return allowed, headers, reset_after

    def _rate_limited(self, retry_after: float, is_global: bool,
                      headers: dict[str, str]) -> Response:
        h = dict(headers)
        h["Retry-After"] = str(max(1, math.ceil(retry_after)))
        if is_global:
            h["X-RateLimit-Global"] = "true"
            h["X-RateLimit-Scope"] = "global"
        else:
            h["X-RateLimit-Scope"] = "user"
        return _json(429, {"message": "You are being rate limited.",
                           "retry_after": round(retry_after, 3), "global": is_global}, h)

    def _forced_429(self, retry_after: float, is_global: bool, route: str) -> Response:
        headers: dict[str, str] = {}
        if not is_global:
            headers = {
                "X-RateLimit-Limit": str(self.channel_bucket_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{retry_after:.3f}",
                "X-RateLimit-Bucket": _bucket_hash(route),
            }
        return self._rate_limited(retry_after, is_global, headers)

    # ------------------------------------------------------------------ REST: endpoints

    def _gateway_bot(self, req: Request) -> Response:
        ok, headers, retry = self._take_bucket("GET /gateway/bot", req.bot_token, 50, 1.0,
                                               req.t)
        if not ok:
            return self._rate_limited(retry, False, headers)
        with self._lock:
            used = self._counts["identifies"]
        elapsed_ms = int((time.time() - self._started_wall) * 1000)
        return _json(200, {
            "url": self.gateway_url,
            "shards": self.shards,
            "session_start_limit": {
                "total": SESSION_START_TOTAL,
                "remaining": max(0, SESSION_START_TOTAL - used),
                "reset_after": max(0, 86_400_000 - elapsed_ms),
                "max_concurrency": self.max_concurrency,
            },
        }, headers)

    def _create_dm(self, req: Request) -> Response:
        ok, headers, retry = self._take_bucket("POST /users/@me/channels", "", 50, 1.0, req.t)
        if not ok:
            return self._rate_limited(retry, False, headers)
        body, _, err = _parse_body(req)
        if err is not None:
            return err
        rid = body.get("recipient_id")
        if isinstance(rid, int) and not isinstance(rid, bool):
            rid = str(rid)
        if not isinstance(rid, str) or not _SNOWFLAKE_RE.match(rid):
            return _form_error({"recipient_id": _field_error(
                "NUMBER_TYPE_COERCE", f"Value \"{rid}\" is not snowflake.")}, headers)
        cid = self._dm_channels.get(rid)
        if cid is None:
            cid = self._snowflake()
            self._dm_channels[rid] = cid
        self._channels[cid] = _Channel(None, 1)
        return _json(200, {"id": cid, "type": 1, "last_message_id": None, "flags": 0,
                           "recipients": [self._user(rid)]}, headers)

    def _create_message(self, req: Request, channel_id: str,
                        lose_answer: Optional[int] = None) -> Response:
        """Create Message; `lose_answer`: a valid message is posted but that 5xx answered."""
        if not _SNOWFLAKE_RE.match(channel_id):
            return _form_error({"channel_id": _field_error(
                "NUMBER_TYPE_COERCE", f"Value \"{channel_id}\" is not snowflake.")})
        ok, headers, retry = self._take_bucket(
            MESSAGES_ROUTE, channel_id, self.channel_bucket_limit, self.channel_bucket_window,
            req.t)
        if not ok:
            return self._rate_limited(retry, False, headers)
        channel = self._channels.get(channel_id)
        if channel is None:
            return _error(404, 10003, "Unknown Channel", headers)
        body, files, err = _parse_body(req)
        if err is not None:
            err.headers.update(headers)
            return err
        err = _check_message(body, files, require_content=True)
        if err is not None:
            err.headers.update(headers)
            return err
        nonce = body.get("nonce")
        enforce = body.get("enforce_nonce") is True
        if nonce is not None and enforce:
            prior = self._nonces.get(str(nonce))
            if prior is not None and req.t - prior[0] < self.nonce_window:
                with self._lock:
                    self._nonce_repeats.append(nonce)
                if lose_answer is not None:
                    return _server_error(lose_answer)
                return _json(200, self._message_objs[prior[1]], headers)
        ref = body.get("message_reference")
        replied_to: Optional[str] = None
        referenced: Optional[dict] = None
        if isinstance(ref, dict):
            ref_channel = str(ref.get("channel_id", channel_id))
            ref_id = str(ref.get("message_id"))
            if ref.get("type", 0) == 0 and ref_channel != channel_id:
                return _form_error({"message_reference": _field_error(
                    "REPLIES_CANNOT_REFERENCE_OTHER_CHANNEL",
                    "Cannot reply to a message in a different channel")}, headers)
            if self._message_in(ref_channel, ref_id):
                replied_to = ref_id
                referenced = self._message_objs[ref_id]
            elif ref.get("fail_if_not_exists", True) is not False:
                return _form_error({"message_reference": _field_error(
                    "REPLIES_UNKNOWN_MESSAGE", "Unknown message")}, headers)
        mid = self._snowflake()
        content = body.get("content") or ""
        atts = [{"id": self._snowflake(), "filename": f.filename, "size": len(f.data),
                 "content_type": f.content_type,
                 "url": f"https://cdn.discordapp.com/attachments/{channel_id}/x/{f.filename}",
                 "proxy_url": f"https://media.discordapp.net/attachments/{channel_id}/x/"
                              f"{f.filename}"} for f in files]
        d: dict[str, Any] = {
            "id": mid, "channel_id": channel_id, "type": 19 if replied_to else 0,
            "author": self._bot_user(), "content": content, "timestamp": _now_iso(),
            "edited_timestamp": None, "tts": body.get("tts") is True,
            "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": atts, "embeds": body.get("embeds") or [], "pinned": False,
            "flags": body.get("flags") if _is_int(body.get("flags")) else 0,
            "components": body.get("components") or [],
        }
        if nonce is not None:
            d["nonce"] = nonce
        if replied_to is not None:
            d["message_reference"] = {"type": 0, "message_id": replied_to,
                                      "channel_id": channel_id}
            if channel.guild_id is not None:
                d["message_reference"]["guild_id"] = channel.guild_id
            d["referenced_message"] = referenced
        self._register_message(d)
        self._posted_by[mid] = (self._bot_of(req.bot_token) or (self.bot_id, ""))[0]
        if nonce is not None:
            self._nonces[str(nonce)] = (req.t, mid)
        posted = PostedMessage(
            id=mid, channel_id=channel_id, content=content, embeds=d["embeds"],
            components=d["components"], attachments=files,
            message_reference=ref if isinstance(ref, dict) else None, replied_to=replied_to,
            nonce=nonce, enforce_nonce=enforce, allowed_mentions=body.get("allowed_mentions"),
            flags=d["flags"], body=body, headers=req.headers, t=req.t, wall=req.wall,
            status=lose_answer or 200)
        with self._lock:
            self._delivered.append(posted)
        if self.echo_own_messages:
            echo = dict(d)
            if channel.guild_id is not None:
                echo["guild_id"] = channel.guild_id
            echo["channel_type"] = channel.type
            # Not queued without a session: only what a user writes waits for the bot.
            self._dispatch_event("MESSAGE_CREATE", echo, channel.guild_id, queue=False)
        if lose_answer is not None:
            return _server_error(lose_answer)
        return _json(200, d, headers)

    def _delete_message(self, req: Request, channel_id: str, message_id: str,
                        lose_answer: Optional[int] = None) -> Response:
        """Delete Message; `lose_answer`: the message is deleted but that 5xx answered."""
        for name, value in (("channel_id", channel_id), ("message_id", message_id)):
            if not _SNOWFLAKE_RE.match(value):
                return _form_error({name: _field_error(
                    "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not snowflake.")})
        ok, headers, retry = self._take_bucket(
            DELETE_ROUTE, channel_id, self.channel_bucket_limit, self.channel_bucket_window,
            req.t)
        if not ok:
            return self._rate_limited(retry, False, headers)
        channel = self._channels.get(channel_id)
        if channel is None:
            return _error(404, 10003, "Unknown Channel", headers)
        if not self._message_in(channel_id, message_id):
            return _error(404, 10008, "Unknown Message", headers)
        d = self._message_objs[message_id]
        requester = (self._bot_of(req.bot_token) or (self.bot_id, ""))[0]
        author = self._posted_by.get(message_id, (d.get("author") or {}).get("id"))
        own = author == requester
        if not own and channel.type == 1:
            return _error(403, 50003, "Cannot execute action on a DM channel", headers)
        if not own and not self.manage_messages:
            return _error(403, 50013, "Missing Permissions", headers)
        self._channel_msgs[channel_id].discard(message_id)
        status = lose_answer or 204
        with self._lock:
            posted = next((m for m in self._delivered if m.id == message_id), None)
            if posted is not None:
                posted.deleted = True
            self._recalls.append(Recall(
                message_id=message_id, channel_id=channel_id, own=own, message=posted,
                headers=req.headers, t=req.t, wall=req.wall, status=status))
        gone: dict[str, Any] = {"id": message_id, "channel_id": channel_id}
        if channel.guild_id is not None:
            gone["guild_id"] = channel.guild_id
        # Not queued without a session, like the echo of the bot's own posts.
        self._dispatch_event("MESSAGE_DELETE", gone, channel.guild_id, queue=False)
        if lose_answer is not None:
            return _server_error(lose_answer)
        return Response(204, b"", headers, "application/json")

    def _edit_message(self, req: Request, channel_id: str, message_id: str,
                      lose_answer: Optional[int] = None) -> Response:
        """Edit Message; `lose_answer`: the edit is made (and dispatched) but that 5xx answered."""
        for name, value in (("channel_id", channel_id), ("message_id", message_id)):
            if not _SNOWFLAKE_RE.match(value):
                return _form_error({name: _field_error(
                    "NUMBER_TYPE_COERCE", f"Value \"{value}\" is not snowflake.")})
        ok, headers, retry = self._take_bucket(
            EDIT_ROUTE, channel_id, self.channel_bucket_limit, self.channel_bucket_window, req.t)
        if not ok:
            return self._rate_limited(retry, False, headers)
        channel = self._channels.get(channel_id)
        if channel is None:
            return _error(404, 10003, "Unknown Channel", headers)
        if not self._message_in(channel_id, message_id):
            return _error(404, 10008, "Unknown Message", headers)
        body, files, err = _parse_body(req)
        if err is not None:
            err.headers.update(headers)
            return err
        d = self._message_objs[message_id]
        requester = (self._bot_of(req.bot_token) or (self.bot_id, ""))[0]
        author = self._posted_by.get(message_id, (d.get("author") or {}).get("id"))
        if author != requester:
            # Others may only change flags, and only with MANAGE_MESSAGES [uncertain: this fake
            # refuses every edit of another's message, which is all botgate could attempt].
            return _error(403, 50005, "Cannot edit a message authored by another user", headers)
        err = _check_message(body, files, require_content=False)
        if err is not None:
            err.headers.update(headers)
            return err
        # PATCH semantics: a field left out keeps its value, null clears it.
        content = (body.get("content") or "") if "content" in body else d.get("content", "")
        embeds = (body.get("embeds") or []) if "embeds" in body else d.get("embeds", [])
        components = ((body.get("components") or []) if "components" in body
                      else d.get("components", []))
        attachments = d.get("attachments", []) if "attachments" not in body \
            else [a for a in d.get("attachments", []) if any(
                isinstance(k, dict) and str(k.get("id")) == a["id"]
                for k in body.get("attachments") or [])]
        if not content.strip() and not embeds and not components and not attachments \
                and not files:
            return _error(400, 50006, "Cannot send an empty message", headers)
        stamp = _now_iso()
        d.update(content=content, embeds=embeds, components=components, attachments=attachments,
                 edited_timestamp=stamp)
        status = lose_answer or 200
        with self._lock:
            posted = next((m for m in self._delivered if m.id == message_id), None)
            if posted is not None:
                posted.content, posted.embeds, posted.components = content, embeds, components
                posted.edited_timestamp = stamp
            self._message_edits.append(MessageEdit(
                message_id=message_id, channel_id=channel_id, content=content, embeds=embeds,
                body=body, edited_timestamp=stamp, headers=req.headers, t=req.t, wall=req.wall,
                status=status))
        update = dict(d)
        if channel.guild_id is not None:
            update["guild_id"] = channel.guild_id
        update["channel_type"] = channel.type
        # Not queued without a session, like the echo of the bot's own posts.
        self._dispatch_event("MESSAGE_UPDATE", update, channel.guild_id, queue=False)
        if lose_answer is not None:
            return _server_error(lose_answer)
        return _json(200, d, headers)

    def _interaction_for(self, req: Request, app_id: str, token: str
                         ) -> tuple[Optional[_Interaction], Optional[Response]]:
        it = self._interactions.get(token)
        if it is None or app_id != it.application_id:
            return None, _error(404, 10015, "Unknown Webhook")
        if req.t - it.registered_at > INTERACTION_TOKEN_TTL:
            return None, _error(401, 50027, "Invalid Webhook Token")
        if not it.acknowledged:
            return None, _error(404, 10015, "Unknown Webhook")
        return it, None

    def _webhook_record(self, req: Request, kind: str, it: _Interaction, body: dict,
                        message_id: Optional[str], callback_type: Optional[int] = None) -> None:
        auth = req.headers.get("authorization")
        call = WebhookCall(
            kind=kind, application_id=it.application_id, token=it.token, interaction_id=it.id,
            body=body, content=body.get("content") if isinstance(body.get("content"), str)
            else None, embeds=body.get("embeds") or [], message_id=message_id,
            callback_type=callback_type, had_authorization=auth is not None,
            had_bot_token=auth is not None and self.token in auth, headers=req.headers,
            t=req.t, wall=req.wall)
        with self._lock:
            self._webhook_calls.append(call)

    def _webhook_message(self, it: _Interaction, mid: str, body: dict) -> dict:
        return {"id": mid, "channel_id": it.channel_id or "0", "type": 20,
                "author": self._bot_user(), "webhook_id": it.application_id,
                "application_id": it.application_id, "content": body.get("content") or "",
                "embeds": body.get("embeds") or [], "components": body.get("components") or [],
                "attachments": [], "timestamp": _now_iso(), "edited_timestamp": None,
                "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
                "pinned": False, "flags": body.get("flags") if _is_int(body.get("flags")) else 0}

    def _webhook(self, req: Request, app_id: str, token: str) -> Response:
        it, err = self._interaction_for(req, app_id, token)
        if err is not None:
            return err
        assert it is not None
        route = f"{req.method} /webhooks/{{webhook.id}}/{{webhook.token}}"
        ok, headers, retry = self._take_bucket(route, token, self.channel_bucket_limit,
                                               self.channel_bucket_window, req.t)
        if not ok:
            return self._rate_limited(retry, False, headers)
        if req.method == "GET":
            return _json(200, self._webhook_message(it, it.original_id, {}), headers)
        if req.method == "DELETE":
            self._webhook_record(req, "delete", it, {}, it.original_id)
            return Response(204, b"", headers, "application/json")
        body, files, err = _parse_body(req)
        if err is None:
            err = _check_message(body, files, require_content=req.method == "POST")
        if err is not None:
            err.headers.update(headers)
            return err
        if req.method == "PATCH":
            self._webhook_record(req, "edit", it, body, it.original_id)
            return _json(200, self._webhook_message(it, it.original_id, body), headers)
        mid = self._snowflake()
        self._webhook_record(req, "followup", it, body, mid)
        return _json(200, self._webhook_message(it, mid, body), headers)

    def _interaction_callback(self, req: Request, interaction_id: str, token: str) -> Response:
        it = self._interactions.get(token)
        if it is None or it.id != interaction_id \
                or req.t - it.registered_at > INTERACTION_ACK_DEADLINE and not it.acknowledged:
            return _error(404, 10062, "Unknown interaction")
        if it.acknowledged:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body, files, err = _parse_body(req)
        if err is not None:
            return err
        ctype = body.get("type")
        if not _is_int(ctype) or ctype not in CALLBACK_TYPES:
            return _form_error({"type": _field_error(
                "BASE_TYPE_CHOICES", f"Value must be one of {CALLBACK_TYPES}.")})
        data = body.get("data")
        if ctype in (4, 7):
            if not isinstance(data, dict):
                return _error(400, 50006, "Cannot send an empty message")
            err = _check_message(data, files, require_content=ctype == 4)
            if err is not None:
                return err
        it.acknowledged = True
        self._webhook_record(req, "callback", it, body, it.original_id, ctype)
        return Response(204, b"", {}, "application/json")


# ---------------------------------------------------------------------- REST helpers


def _api_parts(path: str) -> Optional[list[str]]:
    """The path segments after /api/v10 (percent-decoded), or None outside it."""
    if not path.startswith(API_PREFIX + "/"):
        return None
    rest = path[len(API_PREFIX) + 1:].rstrip("/")
    return [urllib.parse.unquote(p) for p in rest.split("/")] if rest else None


def _server_error(status: int) -> Response:
    if status == 500:
        return _error(500, 0, "500: Internal Server Error")
    # What Cloudflare answers when Discord's backend is down: an HTML page.
    page = (f"<html><head><title>{status} Bad Gateway</title></head><body><center><h1>{status} "
            f"Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>")
    return Response(status, page.encode(), {}, "text/html")


def _parse_body(req: Request) -> tuple[dict, list[Attachment], Optional[Response]]:
    """(JSON body, files, None) or ({}, [], the error answer)."""
    ctype_header = req.headers.get("content-type", "")
    ctype = ctype_header.split(";", 1)[0].strip().lower()
    if len(req.body) > REQUEST_MAX_BYTES:
        return {}, [], _error(413, 40005, "Request entity too large")
    files: list[Attachment] = []
    if ctype == "application/json":
        raw = req.body
    elif ctype == "multipart/form-data":
        parsed = _parse_multipart(ctype_header, req.body)
        if parsed is None:
            return {}, [], _form_error({"_errors": [{"code": "MULTIPART_INVALID",
                                                     "message": "Invalid multipart body"}]})
        raw, files = parsed
        if raw is None:
            raw = b"{}"
    else:
        return {}, [], _form_error({"_errors": [{
            "code": "CONTENT_TYPE_INVALID",
            "message": "Expected \"Content-Type\" header to be one of {'application/json', "
                       "'multipart/form-data'}."}]})
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}, [], _error(400, 50109, "The request body contains invalid JSON.")
    if not isinstance(body, dict):
        return {}, [], _form_error({"_errors": [{"code": "DICT_TYPE_CONVERT",
                                                 "message": "Only dictionaries may be used."}]})
    return body, files, None


def _parse_multipart(ctype_header: str, body: bytes
                     ) -> Optional[tuple[Optional[bytes], list[Attachment]]]:
    """(payload_json bytes or None, files) of a multipart/form-data body; None if malformed."""
    m = re.search(r'boundary="?([^";]+)"?', ctype_header)
    if m is None:
        return None
    delim = b"--" + m.group(1).encode("latin-1")
    chunks = body.split(delim)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        return None
    payload: Optional[bytes] = None
    files: list[Attachment] = []
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            return None
        head, sep, data = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            return None
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        disp = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disp)
        filename = re.search(r'\bfilename="([^"]*)"', disp)
        if name is None:
            return None
        if name.group(1) == "payload_json":
            payload = data
        elif name.group(1).startswith("files[") or name.group(1).startswith("file"):
            if filename is None:
                return None
            files.append(Attachment(filename.group(1),
                                    headers.get("content-type", "application/octet-stream"),
                                    data))
    return payload, files


def _check_embeds(embeds: Any) -> Optional[dict]:
    if not isinstance(embeds, list):
        return _field_error("BASE_TYPE_LIST", "Must be a list.")
    if len(embeds) > EMBEDS_MAX:
        return _field_error("BASE_TYPE_MAX_LENGTH", f"Must be {EMBEDS_MAX} or fewer in length.")
    limits = {"title": 256, "description": 4096}
    total = 0
    for i, e in enumerate(embeds):
        if not isinstance(e, dict):
            return {str(i): _field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used.")}
        for key, limit in limits.items():
            v = e.get(key)
            if v is not None:
                if not isinstance(v, str) or len(v) > limit:
                    return {str(i): {key: _field_error(
                        "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")}}
                total += len(v)
        for key, sub, limit in (("footer", "text", 2048), ("author", "name", 256)):
            obj = e.get(key)
            if isinstance(obj, dict) and isinstance(obj.get(sub), str):
                if len(obj[sub]) > limit:
                    return {str(i): {key: {sub: _field_error(
                        "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")}}}
                total += len(obj[sub])
        fields = e.get("fields", [])
        if not isinstance(fields, list) or len(fields) > EMBED_FIELDS_MAX:
            return {str(i): {"fields": _field_error(
                "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_FIELDS_MAX} or fewer in length.")}}
        for j, f in enumerate(fields):
            if not isinstance(f, dict) or not isinstance(f.get("name"), str) \
                    or not isinstance(f.get("value"), str) or not f["name"] or not f["value"] \
                    or len(f["name"]) > 256 or len(f["value"]) > 1024:
                return {str(i): {"fields": {str(j): _field_error(
                    "BASE_TYPE_REQUIRED", "name (<= 256) and value (<= 1024) are required.")}}}
            total += len(f["name"]) + len(f["value"])
    if total > EMBED_TOTAL_MAX:
        return _field_error("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")
    return None


def _check_message(body: dict, files: list[Attachment], require_content: bool
                   ) -> Optional[Response]:
    """The Create Message rules (notes 6.1): 50035 with `errors`, or 50006 when empty."""
    errors: dict[str, Any] = {}
    content = body.get("content")
    if content is not None:
        if not isinstance(content, str):
            errors["content"] = _field_error("BASE_TYPE_STRING", "Must be a string.")
        elif len(content) > CONTENT_MAX:  # characters = code points
            errors["content"] = _field_error("BASE_TYPE_MAX_LENGTH",
                                             f"Must be {CONTENT_MAX} or fewer in length.")
    embeds = body.get("embeds")
    if embeds is not None:
        e = _check_embeds(embeds)
        if e is not None:
            errors["embeds"] = e
    if "nonce" in body and body["nonce"] is not None:
        nonce = body["nonce"]
        if isinstance(nonce, str):
            if len(nonce) > NONCE_MAX:
                errors["nonce"] = _field_error("BASE_TYPE_MAX_LENGTH",
                                               f"Must be {NONCE_MAX} or fewer in length.")
        elif not _is_int(nonce):
            errors["nonce"] = _field_error("BASE_TYPE_STRING", "Must be a string or an integer.")
    if "enforce_nonce" in body and not isinstance(body["enforce_nonce"], bool):
        errors["enforce_nonce"] = _field_error("BASE_TYPE_BOOLEAN", "Must be a boolean.")
    am = body.get("allowed_mentions")
    if am is not None:
        parse = am.get("parse", []) if isinstance(am, dict) else None
        if not isinstance(parse, list) or any(p not in ("users", "roles", "everyone")
                                              for p in parse):
            errors["allowed_mentions"] = _field_error("ALLOWED_MENTIONS_PARSE_INVALID",
                                                      "Invalid allowed_mentions.")
    ref = body.get("message_reference")
    if ref is not None and (not isinstance(ref, dict) or ref.get("message_id") is None):
        errors["message_reference"] = _field_error("BASE_TYPE_REQUIRED",
                                                   "message_id is required.")
    if errors:
        return _form_error(errors)
    if require_content:
        has_text = isinstance(content, str) and content.strip() != ""
        others = any(body.get(k) for k in ("embeds", "sticker_ids", "components", "poll"))
        if not has_text and not others and not files:
            return _error(400, 50006, "Cannot send an empty message")
    return None


def main() -> None:
    ap = standalone_parser("fake Discord (REST v10 + Gateway v10)")
    ap.add_argument("--ws-port", type=int)
    ap.add_argument("--resume-port", type=int)
    ap.add_argument("--token")
    ap.add_argument("--bot-id")
    ap.add_argument("--application-id")
    ap.add_argument("--heartbeat-interval", type=int, help="ms")
    ap.add_argument("--shards", type=int)
    ap.add_argument("--no-message-content", dest="message_content", action="store_false")
    DiscordFake(**vars(ap.parse_args())).serve_forever()


if __name__ == "__main__":
    main()
