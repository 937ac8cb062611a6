#!/usr/bin/python3
"""A strict fake of the Feishu/Lark Open API, for botgate's integration tests.

It answers like the real platform (tests/../shared protocol notes, sections 2 and 6): the
tenant_access_token endpoint, the bot info endpoint, the two IM send endpoints (reply and
send) and recall (DELETE /open-apis/im/v1/messages/{message_id}), with the same status codes,
error codes and quirks (token errors as HTTP 200 with a code, `content` as a JSON-encoded
string, `uuid` idempotency). It records what it delivered and recalled, and offers fault
controls (token expiry, outage, rate limit, hanging sends, token failures).

Recall answers HTTP 200 {"code":0,"msg":"success","data":{}} for a message this app sent (the
Delivery gets `recalled`, `recalls()` records it); HTTP 400 with code 230011 once it is
recalled, 230001 for an id the fake never saw, 230026 for a message the app did not send (a
user's, see register_message, or another app's), 230009 when older than `recall_window`
(Feishu: 24 h); a missing or bad token gets the send route's answer (99991661 / 99991663).

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
import hashlib
import json
import re
import secrets
import sys
import time
from dataclasses import dataclass
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
RECEIVE_ID_TYPES = ("open_id", "union_id", "user_id", "email", "chat_id")


def _random_id(prefix: str, nbytes: int = 16) -> str:
    return prefix + secrets.token_hex(nbytes)


@dataclass
class Request(HttpRequest):
    """One HTTP request as the fake saw it; endpoint: token | bot_info | reply | send | recall
    | control | other."""

    code: Optional[int] = None  # the business `code` answered, if any
    uuid: Optional[str] = None  # the send/reply body's uuid, when it parsed


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


# <at user_id="ou_x">name</at>, <at user_id=all>, any case and spacing.
_AT_TAG = re.compile(r'<\s*at\s+user_id\s*=\s*"?([^"\s>]*)"?[^>]*>', re.IGNORECASE)


class FeishuFake(HttpFake):
    """The fake Open API. All public methods are safe to call from any thread."""

    platform = "feishu"
    request_type = Request
    delivery_fields = ("endpoint", "message_id", "reply_to", "chat_id", "receive_id",
                       "receive_id_type", "msg_type", "content", "uuid", "reply_in_thread")

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
        self._hang_sends = False
        self._hang_deliver = False
        self._fail_token_left = 0
        # Apps besides the first (add_app): app_id -> (app_secret, the bot's open_id).
        self._more_apps: dict[str, tuple[str, str]] = {}

    def _banner_details(self) -> str:
        return f"app_id {self.app_id}"

    # ------------------------------------------------------------------ fault controls
    # (shared with WeCom: expire_all_tokens, outage, outage_end, reset; see HttpFake)

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
        self._hang_sends = False
        self._fail_token_left = 0

    def _controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        """POST /_fake/rate_limit  {"n": 2, "reset_seconds": 1}
        POST /_fake/hang_sends      {"flag": true, "deliver": false}
        POST /_fake/fail_token      {"n": 1}
        """
        return {
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

    def _extra_stats(self) -> dict[str, Any]:
        return {"uuid_repeats": len(self._uuid_repeats), "recalls": len(self._recalls)}

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
        if req.endpoint in ("reply", "send"):
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


# ---------------------------------------------------------------------- helpers


def _invalid(code: int, msg: str) -> Response:
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


def main() -> None:
    ap = standalone_parser("fake Feishu/Lark Open API")
    ap.add_argument("--app-id")
    ap.add_argument("--app-secret")
    ap.add_argument("--bot-open-id")
    ap.add_argument("--expire", type=int, help="token lifetime in seconds")
    FeishuFake(**vars(ap.parse_args())).serve_forever()


if __name__ == "__main__":
    main()
