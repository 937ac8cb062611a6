#!/usr/bin/python3
"""A strict fake of the Feishu/Lark Open API, for botgate's integration tests.

It answers like the real platform (tests/../shared protocol notes, sections 2 and 6): the
tenant_access_token endpoint, the bot info endpoint, the two IM send endpoints (reply and
send) and recall (DELETE /open-apis/im/v1/messages/{message_id}), with the same status codes,
error codes and quirks (token errors as HTTP 200 with a code, `content` as a JSON-encoded
string, `uuid` idempotency). It records what it delivered and recalled, and offers fault
controls (token expiry, outage, rate limit, hanging sends, token failures). Like Feishu, it
refuses an app's send and reply calls past 50 within a second (`app_sends_per_second`) with HTTP
429 code 99991400 and x-ogw-ratelimit-reset; `app_limited()` counts the refusals.

Recall answers HTTP 200 {"code":0,"msg":"success","data":{}} for a message this app sent (the
Delivery gets `recalled`, `recalls()` records it); HTTP 400 with code 230011 once it is
recalled, 230001 for an id the fake never saw, 230026 for a message the app did not send (a
user's, see register_message, or another app's), 230009 when older than `recall_window`
(Feishu: 24 h); a missing or bad token gets the send route's answer (99991661 / 99991663).

CardKit card entities (what a streamed reply uses; cardkit-v1 docs), with the IM routes' token
checks (99991661 / 99991663) and codes answered with HTTP 400 unless said otherwise:
* POST /open-apis/cardkit/v1/cards {type: "card_json", data: "<card JSON 2.0 as a string>"} ->
  {code 0, data: {card_id}}. `type` other than card_json or `data` not a string: 10002; empty:
  300307; over 30 KB: 200860; not JSON: 200220; `schema` not "2.0": 300303; config.update_multi
  false: 300302; more than 200 elements: 300305; element_id not 1-20 letters, digits or
  underscores starting with a letter [uncertain]: 10002; an element_id twice: 300301.
  `config.streaming_mode` is read; plain_text and markdown elements with an element_id are the
  ones content updates may target (their text kept per element).
* PUT /open-apis/cardkit/v1/cards/{card_id}/elements/{element_id}/content {content, sequence,
  uuid?}: the full text replaces the element's. Unknown card 200740, older than `card_ttl` (14
  days) 200750, another app's card 300311, unknown element 300313 [uncertain], not a text
  element 300310, streaming mode off 300309 (and 200850 once `card_streaming_timeout`, 10 min
  after it was switched on, has passed: Feishu closes it itself), `sequence` not above the
  card's last accepted operation's (content or settings): 300317; a 1-100000 character content,
  an int32 sequence >= 1 and a 1-64 character uuid are required (10002). More than
  `card_ops_per_second` (10) operations on one card within a second: HTTP 429 code 99991400
  [uncertain: the per-card limit's own answer is undocumented]. A uuid used again for the same
  operation is answered like the first without doing it again; for another operation: 200770
  [uncertain].
* PATCH /open-apis/cardkit/v1/cards/{card_id}/settings {settings: "<JSON string>", sequence,
  uuid?}: the same card, sequence, rate and uuid rules; `config.streaming_mode` in it switches
  streaming mode; config.update_multi false: 300302.
* Sending the entity: the send and reply routes with msg_type "interactive" and content
  {"type":"card","data":{"card_id":"..."}}: the entity must exist and be this app's, and can be
  sent once (unknown or sent before: 230099, another app's: 300311 [uncertain: the IM codes for
  these are undocumented]); the Delivery records `card_id`, the entity `sent` and `message_id`.
* Records: cards(), card(card_id), wait_for_cards(n), wait_for_card(card_id, predicate) give
  CardEntity copies (per element content versions with sequence and time, settings changes,
  streaming_mode now, sent, message_id). Faults: fail_card_create(count, status, code),
  force_card_fault(count, status, route="content"|"settings", deliver).
* The Lark Open API is the same (open.larksuite.com): a Lark bot's tests use this class too,
  its `api_base` pointed at the fake.

In-process use (the tests):

    fake = FeishuFake(app_id="cli_test", app_secret="secret-123")
    fake.start()            # 127.0.0.1, port 0, its own thread and event loop
    ... fake.port, fake.base_url, fake.delivered(), fake.rate_limit(2, 1) ...
    fake.stop()

Standalone: python3 tests/fakes/feishu_fake.py --port 9999 --app-id X --app-secret Y
(the fault controls are then under /_fake/..., see HttpFake._handle_control and
FeishuFake._controls).

The HTTP server, the request record, token bookkeeping and the control API are shared with the
other fakes (http_fake.py); this file holds the Feishu rules.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import hashlib
import json
import re
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

if not __package__:  # run as a script: make the `fakes` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.http_fake import HttpFake
from fakes.http_fake import Request as HttpRequest
from fakes.http_fake import Response, standalone_parser, wait_for_eof
from fakes.http_fake import json_response as _json

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"
BOT_INFO_PATH = "/open-apis/bot/v3/info"
SEND_PATH = "/open-apis/im/v1/messages"
REPLY_PREFIX = "/open-apis/im/v1/messages/"
REPLY_SUFFIX = "/reply"
CARDS_PATH = "/open-apis/cardkit/v1/cards"

# The platform hands out the same token while more than this many seconds remain.
TOKEN_REUSE_MIN_REMAINING = 30 * 60
# A uuid makes a send succeed at most once in this window.
UUID_WINDOW_SECONDS = 3600
# A bot may recall its own messages for this long (the tenant's setting; default one day).
RECALL_WINDOW_SECONDS = 24 * 3600
# Documented maximum length of the `uuid` idempotency key.
UUID_MAX_LEN = 50
# Documented request body limits: text 150 KB, post and card 30 KB.
TEXT_MAX_BYTES = 150 * 1024
RICH_MAX_BYTES = 30 * 1024

MSG_TYPES = ("text", "post", "interactive")

# CardKit (card entities): the documented limits and codes (cardkit-v1 card/create,
# card-element/content, card/settings; streaming-updates-openapi-overview).
CARD_JSON_MAX_BYTES = 30 * 1024  # 200860 beyond ("keep the card within 30KB")
CARD_ELEMENTS_MAX = 200  # 300305 beyond
CARD_TEXT_MAX = 100_000  # characters of one content update
CARD_UUID_MAX = 64
CARD_TTL_SECONDS = 14 * 24 * 3600  # an entity can be operated on for 14 days (200750)
CARD_STREAMING_TIMEOUT = 600.0  # streaming mode closes by itself after 10 minutes (200850)
CARD_OPS_PER_SECOND = 10  # operations on one card entity per second
SEQUENCE_MAX = 2**31 - 1
CARD_TEXT_TAGS = ("plain_text", "markdown")  # the elements content updates may target
# [uncertain] element_id: 1-20 characters (the path parameter's documented length), starting
# with a letter, then letters, digits and underscores (the card JSON 2.0 guide's wording).
_ELEMENT_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,19}$")
CODE_PARAM = 10002
CODE_CARD_NOT_FOUND = 200740
CODE_CARD_EXPIRED = 200750
CODE_UUID_CONFLICT = 200770
CODE_STREAMING_TIMEOUT = 200850
CODE_CARD_TOO_BIG = 200860
CODE_CARD_BAD_JSON = 200220
CODE_DUPLICATE_ELEMENT_ID = 300301
CODE_UPDATE_MULTI_FALSE = 300302
CODE_SCHEMA_NOT_2 = 300303
CODE_TOO_MANY_ELEMENTS = 300305
CODE_CARD_EMPTY = 300307
CODE_STREAMING_CLOSED = 300309
CODE_ONLY_TEXT = 300310
CODE_CARD_NOT_YOURS = 300311
# [uncertain] no code is documented for an element_id the card does not have; 300313 "Failed to
# update element properties" is the content route's nearest documented one.
CODE_ELEMENT_NOT_FOUND = 300313
CODE_SEQUENCE = 300317
CODE_CARD_INTERNAL = 300120
CODE_RATE_LIMITED = 99991400
APP_SENDS_PER_SECOND = 50
# [uncertain] sending an entity a second time: the IM send's card error (230099 "Failed to
# create card content"); the docs say only that an entity can be sent once.
CODE_CARD_SENT_TWICE = 230099
RECEIVE_ID_TYPES = ("open_id", "union_id", "user_id", "email", "chat_id")


def _random_id(prefix: str, nbytes: int = 16) -> str:
    return prefix + secrets.token_hex(nbytes)


@dataclass
class Request(HttpRequest):
    """One HTTP request as the fake saw it; endpoint: token | bot_info | reply | send | recall
    | card_create | card_content | card_settings | control | other."""

    code: Optional[int] = None  # the business `code` answered, if any
    uuid: Optional[str] = None  # the send/reply (or card operation) body's uuid, when it parsed


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
    recalled: bool = False  # a DELETE took it back (see recalls())
    card_id: Optional[str] = None  # an interactive message that sent a card entity: its id

    @property
    def text(self) -> Optional[str]:
        if self.msg_type == "text" and isinstance(self.content, dict):
            return self.content.get("text")
        return None

    def mentioned(self) -> list[str]:
        """Whom the message notifies, as Feishu reads it: the user_id of every
        `<at user_id="..">` tag in a text message's text and in a post's text and md elements
        (the same inline form works there), and every post `at` element ("all": everyone)."""
        found: list[str] = []
        def inline(text: Any) -> None:
            if isinstance(text, str):
                found.extend(m.group(1) for m in _AT_TAG.finditer(text))
        if self.msg_type == "text" and isinstance(self.content, dict):
            inline(self.content.get("text"))
        elif self.msg_type == "post" and isinstance(self.content, dict):
            post = self.content.get("zh_cn", self.content)
            for line in post.get("content") or []:
                for el in line if isinstance(line, list) else []:
                    if not isinstance(el, dict):
                        continue
                    if el.get("tag") == "at":
                        found.append(str(el.get("user_id")))
                    elif el.get("tag") in ("text", "md"):
                        inline(el.get("text"))
        return found


@dataclass
class Recall:
    """One message the fake recalled (DELETE /open-apis/im/v1/messages/{message_id})."""

    message_id: str
    chat_id: Optional[str]  # the conversation, when known
    delivery: Delivery  # the message as it was sent
    token: str  # the tenant_access_token that recalled it
    t: float  # time.monotonic()
    wall: float  # time.time()

    @property
    def chat(self) -> Optional[str]:
        return self.chat_id


@dataclass
class CardContentUpdate:
    """One accepted PUT .../cards/{card_id}/elements/{element_id}/content."""

    element_id: str
    content: str  # the element's whole text after this update
    sequence: int
    uuid: Optional[str]
    t: float  # time.monotonic()
    wall: float  # time.time()
    status: int = 200  # the HTTP status answered (a forced 5xx after applying it: that status)


@dataclass
class CardSettingsChange:
    """One accepted PATCH .../cards/{card_id}/settings."""

    settings: dict  # `settings` decoded from its JSON string
    streaming_mode: Optional[bool]  # what it set (None: it did not touch streaming_mode)
    sequence: int
    uuid: Optional[str]
    t: float
    wall: float
    status: int = 200


@dataclass
class CardEntity:
    """A card entity made by POST /open-apis/cardkit/v1/cards, with everything done to it since.

    Getters hand out copies: a CardEntity does not change after it was returned."""

    card_id: str
    app_id: str  # the app that created it (the only one that may send and update it)
    card: dict  # the card JSON as created (`data` decoded)
    streaming_mode: bool  # now
    texts: dict[str, str]  # element_id -> the text of that plain_text/markdown element now
    tags: dict[str, str]  # element_id -> tag, for every element with an element_id
    updates: list[CardContentUpdate] = field(default_factory=list)  # in order, all elements
    settings_changes: list[CardSettingsChange] = field(default_factory=list)
    operations: list = field(default_factory=list)  # both of the above, in order
    last_sequence: int = 0  # of the last accepted update or settings change (0: none yet)
    sent: bool = False  # an IM send/reply carried it
    message_id: Optional[str] = None  # the message that carried it
    delivery: Optional["Delivery"] = None  # that send
    t: float = 0.0  # created (time.monotonic())
    wall: float = 0.0
    streaming_since: float = 0.0  # monotonic time streaming mode was last switched on

    def text(self, element_id: str) -> Optional[str]:
        """The element's text now (None: no such text element)."""
        return self.texts.get(element_id)

    def versions(self, element_id: str) -> list[CardContentUpdate]:
        """The content updates of one element, in order."""
        return [u for u in self.updates if u.element_id == element_id]

    def sequences(self) -> list[int]:
        """The sequence of every accepted operation (updates and settings), in order."""
        return [o.sequence for o in self.operations]


@dataclass
class _CardOp:
    """What a card operation's uuid was first used for (a repeat is answered from it)."""

    t: float
    fingerprint: str  # method, path and body (without uuid)
    answer: dict


# <at user_id="ou_x">name</at>, <at user_id=all>, any case and spacing.
_AT_TAG = re.compile(r'<\s*at\s+user_id\s*=\s*"?([^"\s>]*)"?[^>]*>', re.IGNORECASE)


class FeishuFake(HttpFake):
    """The fake Open API. All public methods are safe to call from any thread."""

    platform = "feishu"
    request_type = Request
    delivery_fields = ("endpoint", "message_id", "reply_to", "chat_id", "receive_id",
                       "receive_id_type", "msg_type", "content", "uuid", "reply_in_thread",
                       "card_id")

    def __init__(
        self,
        app_id: str = "cli_test",
        app_secret: str = "secret-123",
        bot_open_id: str = "ou_bot0000000000000000000000000000",
        bot_name: str = "botgate",
        expire: int = 7200,
        recall_window: float = RECALL_WINDOW_SECONDS,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """recall_window: seconds after sending during which a message may be recalled (a test
        may change the attribute)."""
        super().__init__(host, port)
        self.app_id = app_id
        self.app_secret = app_secret
        self.bot_open_id = bot_open_id
        self.bot_name = bot_name
        self.expire = expire
        self.recall_window = recall_window

        self._uuid_results: dict[str, tuple[float, dict]] = {}
        self._uuid_repeats: list[str] = []
        self._message_chats: dict[str, str] = {}
        self._recalls: list[Recall] = []

        self._rate_limit_left = 0
        self._rate_limit_reset = 1
        # Feishu's send-message limit per app (6.3): more than this many send/reply calls of one
        # app within a second answer 429 code 99991400. None: no limit.
        self.app_sends_per_second: Optional[int] = APP_SENDS_PER_SECOND
        self._app_send_times: dict[str, collections.deque] = {}
        self._app_limited = 0
        self._hang_sends = False
        self._hang_deliver = False
        self._fail_token_left = 0
        # Apps besides the first (add_app): app_id -> (app_secret, the bot's open_id).
        self._more_apps: dict[str, tuple[str, str]] = {}

        # CardKit (guarded by self._lock).
        self.card_ops_per_second = CARD_OPS_PER_SECOND
        self.card_streaming_timeout = CARD_STREAMING_TIMEOUT
        self.card_ttl = float(CARD_TTL_SECONDS)
        self._cards: dict[str, CardEntity] = {}
        self._card_op_times: dict[str, collections.deque] = {}  # card_id -> monotonic times
        self._card_uuids: dict[tuple[str, str], _CardOp] = {}  # (card_id, uuid) -> first use
        self._card_create_faults: list[tuple[int, int]] = []  # (HTTP status, code)
        self._card_faults: list[tuple[str, int, bool]] = []  # (route, status, deliver)
        self._next_card = 7355372766134157313

    def _banner_details(self) -> str:
        return f"app_id {self.app_id}"

    # ------------------------------------------------------------------ fault controls
    # (shared with WeCom: expire_all_tokens, outage, outage_end, reset; see HttpFake)

    def rate_limit(self, n: int, reset_seconds: int = 1) -> None:
        """The next `n` send/reply calls answer 429, code 99991400, x-ogw-ratelimit-reset."""
        with self._lock:
            self._rate_limit_left = n
            self._rate_limit_reset = reset_seconds

    def _over_app_limit(self, app_id: str) -> bool:
        """Counts a send of `app_id`; True (and counted as refused) past its limit a second."""
        now = time.monotonic()
        with self._lock:
            if self.app_sends_per_second is None:
                return False
            times = self._app_send_times.setdefault(app_id, collections.deque())
            while times and now - times[0] >= 1.0:
                times.popleft()
            if len(times) >= self.app_sends_per_second:
                self._app_limited += 1
                return True
            times.append(now)
            return False

    def app_limited(self) -> int:
        """How many send/reply calls the per-app limit refused."""
        with self._lock:
            return self._app_limited

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

    def fail_card_create(self, count: int = 1, status: int = 400,
                         code: int = CODE_CARD_BAD_JSON) -> None:
        """The next `count` card creations (POST /open-apis/cardkit/v1/cards, after the token
        check) fail with HTTP `status` and business `code` (default 400 / 200220 "Failed to
        generate card content"; a 5xx answers code 300120): no entity is made, so a client
        falls back to a plain message."""
        with self._lock:
            self._card_create_faults.extend([(int(status), int(code))] * count)

    def force_card_fault(self, count: int = 1, status: int = 429, route: str = "content",
                         deliver: bool = False) -> None:
        """The next `count` calls of `route` ("content": element content updates, "settings":
        card settings) answer HTTP `status` after the token check: 429 with code 99991400 and
        the x-ogw-ratelimit-* headers, a 5xx with code 300120. The operation is not made (its
        sequence stays unused) unless `deliver` is given with a 5xx: then it is made and only
        the answer is lost, so a retry with the same sequence gets 300317."""
        if route not in ("content", "settings"):
            raise KeyError(route)
        with self._lock:
            self._card_faults.extend([(route, int(status), bool(deliver))] * count)

    def add_app(self, app_id: str, app_secret: str, bot_open_id: Optional[str] = None) -> str:
        """Another app on the same platform (one process hosting several bots): its own
        credentials, tokens and bot open_id (made from the app id unless given). Returns the
        open_id. Messages sent with its token are delivered like the first app's."""
        open_id = bot_open_id or "ou_" + hashlib.sha256(app_id.encode()).hexdigest()[:32]
        with self._lock:
            self._more_apps[app_id] = (app_secret, open_id)
        return open_id

    def _app(self, app_id: str) -> Optional[tuple[str, str]]:
        """(secret, bot open_id) of a known app."""
        if app_id == self.app_id:
            return self.app_secret, self.bot_open_id
        with self._lock:
            return self._more_apps.get(app_id)

    def register_message(self, message_id: str, chat_id: str) -> None:
        """Tells the fake which chat a message is in, so replies to it record that chat (and a
        recall of it is refused: the app did not send it)."""
        with self._lock:
            self._message_chats[message_id] = chat_id

    def _reset_platform(self) -> None:
        self._uuid_results.clear()
        self._uuid_repeats.clear()
        self._recalls.clear()
        self._rate_limit_left = 0
        self._app_send_times.clear()
        self._app_limited = 0
        self._hang_sends = False
        self._fail_token_left = 0
        self._cards.clear()
        self._card_op_times.clear()
        self._card_uuids.clear()
        self._card_create_faults.clear()
        self._card_faults.clear()

    def _controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        """POST /_fake/rate_limit  {"n": 2, "reset_seconds": 1}
        POST /_fake/hang_sends      {"flag": true, "deliver": false}
        POST /_fake/fail_token      {"n": 1}
        POST /_fake/fail_card_create {"count": 1, "status": 400, "code": 200220}
        POST /_fake/force_card_fault {"count": 1, "status": 429, "route": "content",
                                      "deliver": false}
        """
        return {
            "fail_card_create": lambda a: self.fail_card_create(**a),
            "force_card_fault": lambda a: self.force_card_fault(**a),
            "rate_limit": lambda a: self.rate_limit(int(a["n"]), int(a.get("reset_seconds", 1))),
            "hang_sends": lambda a: self.hang_sends(bool(a["flag"]), bool(a.get("deliver", False))),
            "fail_token": lambda a: self.fail_token(int(a["n"])),
        }

    # ------------------------------------------------------------------ observations
    # (shared: delivered, requests, count, token_fetches, issued_tokens, wait_until,
    # wait_delivered; see HttpFake)

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

    def uuid_repeats(self) -> list[str]:
        """uuids that arrived again and were answered from the first result."""
        with self._lock:
            return list(self._uuid_repeats)

    def recalls(self, chat_id: Optional[str] = None) -> list[Recall]:
        """Messages recalled, in order (optionally only those of `chat_id`)."""
        with self._lock:
            return [r for r in self._recalls if chat_id is None or r.chat_id == chat_id]

    def wait_for_recalls(self, n: int, timeout: float = 10.0,
                         chat_id: Optional[str] = None) -> list[Recall]:
        """Waits until at least `n` messages were recalled (in `chat_id`); returns them all
        (maybe fewer)."""
        self.wait_until(lambda: len(self.recalls(chat_id)) >= n, timeout)
        return self.recalls(chat_id)

    def cards(self) -> list[CardEntity]:
        """Every card entity created, in order (copies)."""
        with self._lock:
            return [copy.deepcopy(c) for c in self._cards.values()]

    def card(self, card_id: str) -> Optional[CardEntity]:
        """One card entity as it is now (a copy), None if there is none with that id."""
        with self._lock:
            c = self._cards.get(card_id)
            return copy.deepcopy(c) if c is not None else None

    def wait_for_cards(self, n: int, timeout: float = 10.0) -> list[CardEntity]:
        """Waits until at least `n` card entities were created; returns them all."""
        self.wait_until(lambda: len(self._cards) >= n, timeout)
        return self.cards()

    def wait_for_card(self, card_id: str, predicate: Callable[[CardEntity], bool],
                      timeout: float = 10.0) -> Optional[CardEntity]:
        """Waits until `predicate(card)` holds (e.g. `lambda c: not c.streaming_mode`);
        returns the card as it is then (maybe not satisfying it, on timeout)."""
        def ok() -> bool:
            with self._lock:
                c = self._cards.get(card_id)
                return c is not None and bool(predicate(c))
        self.wait_until(ok, timeout)
        return self.card(card_id)

    def _extra_stats(self) -> dict[str, Any]:
        return {"uuid_repeats": len(self._uuid_repeats), "recalls": len(self._recalls),
                "cards": len(self._cards),
                "card_updates": sum(len(c.updates) for c in self._cards.values()),
                "card_settings": sum(len(c.settings_changes) for c in self._cards.values())}

    # ------------------------------------------------------------------ HTTP plumbing

    def _extra_headers(self, resp: Response) -> list[str]:
        return ["X-Tt-Logid: " + secrets.token_hex(12)]

    def _classify(self, path: str) -> str:
        if path == TOKEN_PATH:
            return "token"
        if path == BOT_INFO_PATH:
            return "bot_info"
        if path == SEND_PATH:
            return "send"
        if path == CARDS_PATH:
            return "card_create"
        if path.startswith(CARDS_PATH + "/"):
            parts = path[len(CARDS_PATH) + 1:].split("/")
            if len(parts) == 2 and parts[0] and parts[1] == "settings":
                return "card_settings"
            if len(parts) == 4 and parts[0] and parts[1] == "elements" and parts[2] \
                    and parts[3] == "content":
                return "card_content"
        if path.startswith(REPLY_PREFIX) and path.endswith(REPLY_SUFFIX):
            mid = path[len(REPLY_PREFIX) : -len(REPLY_SUFFIX)]
            if mid and "/" not in mid:
                return "reply"
        if path.startswith(REPLY_PREFIX):
            mid = path[len(REPLY_PREFIX) :]
            if mid and "/" not in mid:
                return "recall"
        return "other"

    # ------------------------------------------------------------------ dispatch

    def _on_record(self, req: Request) -> None:
        if req.endpoint in ("reply", "send", "card_content", "card_settings"):
            req.uuid = _body_uuid(req.body)  # recorded even when the request is refused

    async def _route(self, req: Request, reader: asyncio.StreamReader) -> Optional[Response]:
        if req.endpoint == "token":
            return self._finish(req, self._handle_token(req))
        if req.endpoint == "bot_info":
            return self._finish(req, self._handle_bot_info(req))
        if req.endpoint in ("reply", "send"):
            return await self._handle_message(req, reader)
        if req.endpoint == "recall":
            return self._finish(req, self._handle_recall(req))
        if req.endpoint == "card_create":
            return self._finish(req, self._handle_card_create(req))
        if req.endpoint in ("card_content", "card_settings"):
            return self._finish(req, self._handle_card_op(req))
        return self._finish(req, _json(404, {"code": 404, "msg": "404 page not found"}))

    def _record_answer(self, req: Request, resp: Response) -> None:
        try:
            req.code = json.loads(resp.body).get("code")
        except (ValueError, AttributeError):
            req.code = None

    def _handle_token(self, req: Request) -> Response:
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
        app = self._app(app_id)
        if app is None:
            return _json(200, {"code": 10003, "msg": "invalid param"})
        if app_secret != app[0]:
            return _json(200, {"code": 10014, "msg": "app secret invalid"})
        # A new token only near the current one's expiry; the previous one stays valid.
        token, remaining = self._issue_token(
            time.monotonic(),
            self.expire,
            lambda: "t-" + secrets.token_hex(20),
            min_remaining=TOKEN_REUSE_MIN_REMAINING,
            owner=app_id,
        )
        return _json(
            200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": remaining}
        )

    def _check_auth(self, req: Request) -> tuple[Optional[str], Optional[Response]]:
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
        if not self._token_status(token, time.monotonic()):
            return None, _json(
                400,
                {
                    "code": 99991663,
                    "msg": "Invalid access token for authorization. "
                    "Please make a request with token attached.",
                },
            )
        return token, None

    def _handle_bot_info(self, req: Request) -> Response:
        if req.method != "GET":
            return _json(404, {"code": 404, "msg": "404 page not found"})
        token, err = self._check_auth(req)
        if err is not None:
            return err
        app = self._app(self._token_owner(token or "") or "")
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
                    "open_id": app[1] if app else self.bot_open_id,
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
        if self._over_app_limit(self._token_owner(token or "") or self.app_id):
            return self._finish(req, _json(
                429, {"code": CODE_RATE_LIMITED, "msg": "request trigger frequency limit"},
                {"x-ogw-ratelimit-limit": str(self.app_sends_per_second),
                 "x-ogw-ratelimit-reset": "1"}))
        parsed, err = self._validate_message(req)
        if err is not None:
            return self._finish(req, err)
        assert parsed is not None
        with self._lock:
            hang, hang_deliver = self._hang_sends, self._hang_deliver
        if hang:
            if hang_deliver:
                self._deliver(req, parsed, token or "")
            await wait_for_eof(reader)
            return None
        return self._finish(req, self._deliver(req, parsed, token or ""))

    def _handle_recall(self, req: Request) -> Response:
        # Only DELETE is served on /open-apis/im/v1/messages/{message_id} (no get, no edit).
        if req.method != "DELETE":
            return _json(404, {"code": 404, "msg": "404 page not found"})
        token, err = self._check_auth(req)
        if err is not None:
            return err
        mid = req.path[len(REPLY_PREFIX) :]
        with self._lock:
            d = next((x for x in self._delivered if x.message_id == mid), None)
            someone_elses = mid in self._message_chats
        if d is None:
            if someone_elses:
                return _invalid(230026, "No permission to recall this message.")
            return _invalid(230001, "Your request contains an invalid request parameter, "
                                    "ext=invalid message_id")
        if d.recalled:
            return _invalid(230011, "The message was withdrawn.")
        if self._token_owner(d.token) != self._token_owner(token or ""):
            return _invalid(230026, "No permission to recall this message.")
        if req.t - d.t > self.recall_window:
            return _invalid(230009, "Message can only be recalled within one days.")
        with self._lock:
            if d.recalled:  # raced with another recall of it
                return _invalid(230011, "The message was withdrawn.")
            d.recalled = True
            self._recalls.append(Recall(message_id=mid, chat_id=d.chat_id, delivery=d,
                                        token=token or "", t=req.t, wall=req.wall))
        return _json(200, {"code": 0, "msg": "success", "data": {}})

    # ------------------------------------------------------------------ CardKit

    def _card_body(self, req: Request) -> tuple[Optional[dict], Optional[Response]]:
        ctype = req.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if ctype != "application/json":
            return None, _invalid(CODE_PARAM, "invalid request: content-type must be "
                                              "application/json")
        try:
            body = json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            return None, _invalid(CODE_PARAM, "Your request contains an invalid request "
                                              "parameter: body is not JSON")
        if not isinstance(body, dict):
            return None, _invalid(CODE_PARAM, "Your request contains an invalid request "
                                              "parameter: body is not a JSON object")
        return body, None

    def _handle_card_create(self, req: Request) -> Response:
        if req.method != "POST":
            return _json(404, {"code": 404, "msg": "404 page not found"})
        token, err = self._check_auth(req)
        if err is not None:
            return err
        with self._lock:
            fault = self._card_create_faults.pop(0) if self._card_create_faults else None
        if fault is not None:
            status, code = fault
            if status >= 500:
                return _json(status, {"code": CODE_CARD_INTERNAL, "msg": "Server Internal Error"})
            return _json(status, {"code": code, "msg": "card creation failed (forced)",
                                  "error": {"message": "forced by the fake"}})
        body, err = self._card_body(req)
        if err is not None:
            return err
        assert body is not None
        if body.get("type") != "card_json":
            # [uncertain] "template" (a card made in the card builder) exists too; botgate only
            # ever sends card JSON, so anything else is refused.
            return _invalid(CODE_PARAM, "field validation failed: type must be card_json")
        data = body.get("data")
        if not isinstance(data, str):
            return _invalid(CODE_PARAM, "field validation failed: data must be a string")
        if not data.strip():
            return _invalid(CODE_CARD_EMPTY, "The card DSL is empty")
        if len(data.encode()) > CARD_JSON_MAX_BYTES:
            return _invalid(CODE_CARD_TOO_BIG, "Card content exceeds limit.")
        try:
            card = json.loads(data)
        except ValueError:
            return _invalid(CODE_CARD_BAD_JSON, "Failed to generate card content: data is not "
                                                "JSON")
        if not isinstance(card, dict) or not card:
            return _invalid(CODE_CARD_EMPTY, "The card DSL is empty")
        if card.get("schema") != "2.0":
            return _invalid(CODE_SCHEMA_NOT_2, "Only schema 2.0 is supported")
        config = card.get("config", {})
        if not isinstance(config, dict):
            return _invalid(CODE_CARD_BAD_JSON, "Failed to generate card content: config")
        if config.get("update_multi") is False:
            return _invalid(CODE_UPDATE_MULTI_FALSE, "update_multi property is false")
        streaming = config.get("streaming_mode", False)
        if not isinstance(streaming, bool):
            return _invalid(CODE_CARD_BAD_JSON, "Failed to generate card content: "
                                                "streaming_mode must be a boolean")
        cardbody = card.get("body", {})
        elements = cardbody.get("elements") if isinstance(cardbody, dict) else None
        if not isinstance(elements, list):
            return _invalid(CODE_CARD_BAD_JSON, "Failed to generate card content: "
                                                "body.elements must be a list")
        tags: dict[str, str] = {}
        texts: dict[str, str] = {}
        count = 0
        for el in _walk_elements(elements):
            count += 1
            tag = el.get("tag")
            if not isinstance(tag, str) or not tag:
                return _invalid(CODE_CARD_BAD_JSON, "Failed to generate card content: an "
                                                    "element without tag")
            eid = el.get("element_id")
            if eid is None:
                continue
            if not isinstance(eid, str) or not _ELEMENT_ID_RE.match(eid):
                return _invalid(CODE_PARAM, f"invalid element_id {eid!r}: 1-20 letters, digits "
                                            "or underscores, starting with a letter")
            if eid in tags:
                return _invalid(CODE_DUPLICATE_ELEMENT_ID,
                                "Duplicate element_id in card component.")
            tags[eid] = tag
            if tag in CARD_TEXT_TAGS:
                text = el.get("content", el.get("text", ""))
                texts[eid] = text if isinstance(text, str) else ""
        if count > CARD_ELEMENTS_MAX:
            return _invalid(CODE_TOO_MANY_ELEMENTS, "The number of card components exceeds 200")
        app_id = self._token_owner(token or "") or self.app_id
        now, wall = time.monotonic(), time.time()
        with self._lock:
            self._next_card += 1
            card_id = str(self._next_card)
            self._cards[card_id] = CardEntity(
                card_id=card_id, app_id=app_id, card=card, streaming_mode=streaming,
                texts=texts, tags=tags, t=now, wall=wall, streaming_since=now)
        return _json(200, {"code": 0, "msg": "success", "data": {"card_id": card_id}})

    def _handle_card_op(self, req: Request) -> Response:
        """PUT .../elements/{element_id}/content and PATCH .../settings."""
        content_route = req.endpoint == "card_content"
        if req.method != ("PUT" if content_route else "PATCH"):
            return _json(404, {"code": 404, "msg": "404 page not found"})
        token, err = self._check_auth(req)
        if err is not None:
            return err
        parts = req.path[len(CARDS_PATH) + 1:].split("/")
        card_id = parts[0]
        element_id = parts[2] if content_route else None
        route = "content" if content_route else "settings"
        with self._lock:
            fault = next((f for f in self._card_faults if f[0] == route), None)
            if fault is not None:
                self._card_faults.remove(fault)
        if fault is not None and not (fault[2] and fault[1] >= 500):
            return _card_fault_answer(fault[1])
        lose = fault[1] if fault is not None else None
        body, err = self._card_body(req)
        if err is not None:
            return err
        assert body is not None
        seq = body.get("sequence")
        if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= SEQUENCE_MAX:
            return _invalid(CODE_PARAM, "field validation failed: sequence must be a positive "
                                        "int32")
        uid = body.get("uuid")
        if uid is not None and (not isinstance(uid, str) or not 1 <= len(uid) <= CARD_UUID_MAX):
            return _invalid(CODE_PARAM, "field validation failed: uuid (1-64 characters)")
        settings: dict = {}
        if content_route:
            text = body.get("content")
            if not isinstance(text, str) or not 1 <= len(text) <= CARD_TEXT_MAX:
                return _invalid(CODE_PARAM, "field validation failed: content (1-100000 "
                                            "characters)")
        else:
            raw = body.get("settings")
            if not isinstance(raw, str) or not raw:
                return _invalid(CODE_PARAM, "field validation failed: settings must be a JSON "
                                            "string")
            try:
                settings = json.loads(raw)
            except ValueError:
                return _invalid(CODE_PARAM, "field validation failed: settings is not JSON")
            if not isinstance(settings, dict):
                return _invalid(CODE_PARAM, "field validation failed: settings is not an object")
            config = settings.get("config", {})
            if not isinstance(config, dict):
                return _invalid(CODE_PARAM, "field validation failed: settings.config")
            if config.get("update_multi") is False:
                return _invalid(CODE_UPDATE_MULTI_FALSE, "update_multi property is false")
            if "streaming_mode" in config and not isinstance(config["streaming_mode"], bool):
                return _invalid(CODE_PARAM, "field validation failed: streaming_mode")
        fingerprint = json.dumps([req.method, req.path,
                                  {k: v for k, v in body.items() if k != "uuid"}],
                                 sort_keys=True)
        now, wall = time.monotonic(), time.time()
        app_id = self._token_owner(token or "") or self.app_id  # takes the lock itself
        with self._lock:
            c = self._cards.get(card_id)
            if c is None:
                return _invalid(CODE_CARD_NOT_FOUND, "The card entity does not exist")
            if now - c.t > self.card_ttl:
                return _invalid(CODE_CARD_EXPIRED, "The card entity has expired")
            if c.app_id != app_id:
                return _invalid(CODE_CARD_NOT_YOURS, "The current application does not have "
                                                     "permission to update/use this card")
            if uid is not None:
                # [uncertain] the docs say a uuid makes "the same batch of operations" happen
                # once and name 200770 "UUID conflict": a repeat of the same operation is
                # answered like the first, the uuid on another operation is the conflict.
                prev = self._card_uuids.get((card_id, uid))
                if prev is not None and now - prev.t < UUID_WINDOW_SECONDS:
                    if prev.fingerprint != fingerprint:
                        return _invalid(CODE_UUID_CONFLICT, "UUID conflict")
                    self._uuid_repeats.append(uid)
                    return _json(200, prev.answer)
            if c.streaming_mode and now - c.streaming_since > self.card_streaming_timeout:
                c.streaming_mode = False  # Feishu closed it by itself
                timed_out = True
            else:
                timed_out = False
            if content_route:
                assert element_id is not None
                tag = c.tags.get(element_id)
                if tag is None:
                    return _invalid(CODE_ELEMENT_NOT_FOUND, "Failed to update element "
                                                            f"properties: no element {element_id}")
                if tag not in CARD_TEXT_TAGS:
                    return _invalid(CODE_ONLY_TEXT, "Only update text")
                if not c.streaming_mode:
                    if timed_out:
                        return _invalid(CODE_STREAMING_TIMEOUT, "Card streaming timeout")
                    return _invalid(CODE_STREAMING_CLOSED, "Card streaming closed")
            # [uncertain] the per-card limit's own answer is not documented; Feishu's frequency
            # limit answer is HTTP 429 with code 99991400.
            times = self._card_op_times.setdefault(card_id, collections.deque())
            while times and now - times[0] >= 1.0:
                times.popleft()
            if len(times) >= self.card_ops_per_second:
                reset = max(1, int(1.0 - (now - times[0]) + 0.999))
                return _json(429, {"code": CODE_RATE_LIMITED,
                                   "msg": "request trigger frequency limit"},
                             {"x-ogw-ratelimit-limit": str(self.card_ops_per_second),
                              "x-ogw-ratelimit-reset": str(reset)})
            times.append(now)
            if seq <= c.last_sequence:
                return _invalid(CODE_SEQUENCE, "The sequence number for operating on the card "
                                               "did not increment consecutively")
            c.last_sequence = seq
            status = lose or 200
            op: Any
            if content_route:
                assert element_id is not None
                c.texts[element_id] = body["content"]
                op = CardContentUpdate(element_id=element_id, content=body["content"],
                                       sequence=seq, uuid=uid, t=now, wall=wall, status=status)
                c.updates.append(op)
            else:
                config = settings.get("config", {})
                mode = config.get("streaming_mode")
                if mode is True and not c.streaming_mode:
                    c.streaming_since = now
                if isinstance(mode, bool):
                    c.streaming_mode = mode
                op = CardSettingsChange(settings=settings, streaming_mode=mode, sequence=seq,
                                        uuid=uid, t=now, wall=wall, status=status)
                c.settings_changes.append(op)
            c.operations.append(op)
            answer = {"code": 0, "msg": "success", "data": {}}
            if uid is not None:
                self._card_uuids[(card_id, uid)] = _CardOp(now, fingerprint, answer)
        if lose is not None:
            return _card_fault_answer(lose)
        return _json(200, answer)

    def _card_of_message(self, p: dict) -> Optional[str]:
        """The card_id an interactive message sends as a card entity, if it does."""
        content = p.get("content")
        if p.get("msg_type") != "interactive" or not isinstance(content, dict) \
                or content.get("type") != "card":
            return None
        data = content.get("data")
        cid = data.get("card_id") if isinstance(data, dict) else None
        return cid if isinstance(cid, str) else ""

    def _validate_message(self, req: Request) -> tuple[Optional[dict], Optional[Response]]:
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

    def _deliver(self, req: Request, p: dict, token: str) -> Response:
        now, wall = time.monotonic(), time.time()
        sender = self._token_owner(token) or self.app_id  # takes the lock itself
        with self._lock:
            uid = p.get("uuid")
            if uid:
                prev = self._uuid_results.get(uid)
                if prev is not None and now - prev[0] < UUID_WINDOW_SECONDS:
                    self._uuid_repeats.append(uid)
                    return _json(200, prev[1])
            card_id = self._card_of_message(p)
            entity: Optional[CardEntity] = None
            if card_id is not None:
                entity = self._cards.get(card_id)
                # [uncertain] the IM send's codes for these three are not documented.
                if entity is None:
                    return _invalid(CODE_CARD_SENT_TWICE, "Failed to create card content, "
                                                          f"ext=card_id {card_id!r} not found")
                if entity.app_id != sender:
                    return _invalid(CODE_CARD_NOT_YOURS, "The current application does not "
                                                         "have permission to update/use this card")
                if entity.sent:
                    return _invalid(CODE_CARD_SENT_TWICE, "Failed to create card content, "
                                                          "ext=the card entity was already sent")
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
                card_id=card_id or None,
            )
            self._delivered.append(d)
            if entity is not None:
                entity.sent, entity.message_id, entity.delivery = True, message_id, d
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


# ---------------------------------------------------------------------- helpers


def _invalid(code: int, msg: str) -> Response:
    return _json(400, {"code": code, "msg": msg, "error": {"message": msg}})


def _card_fault_answer(status: int) -> Response:
    if status == 429:
        return _json(429, {"code": CODE_RATE_LIMITED, "msg": "request trigger frequency limit"},
                     {"x-ogw-ratelimit-limit": str(CARD_OPS_PER_SECOND),
                      "x-ogw-ratelimit-reset": "1"})
    return _json(status, {"code": CODE_CARD_INTERNAL, "msg": "Server Internal Error"})


def _walk_elements(elements: list):
    """Every element of a card body, nested ones too (columns, forms, panels...)."""
    for el in elements:
        if not isinstance(el, dict):
            continue
        yield el
        for key in ("elements", "columns"):
            inner = el.get(key)
            if isinstance(inner, list):
                yield from _walk_elements(inner)


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


def main() -> None:
    ap = standalone_parser("fake Feishu/Lark Open API")
    ap.add_argument("--app-id")
    ap.add_argument("--app-secret")
    ap.add_argument("--bot-open-id")
    ap.add_argument("--expire", type=int, help="token lifetime in seconds")
    FeishuFake(**vars(ap.parse_args())).serve_forever()


if __name__ == "__main__":
    main()
