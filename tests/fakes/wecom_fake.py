#!/usr/bin/python3
"""A strict fake of the WeCom (企业微信) server API, for botgate's integration tests.

It answers like the real platform (protocol notes wecom.md sections 2, 4 and 7): the group-bot
webhook (`/cgi-bin/webhook/send?key=`), the self-built app's `gettoken`, `message/send` and
`message/recall`, and the AI bot's single-use `response_url`
(`/cgi-bin/aibot/response?response_code=`). Like WeCom it
answers HTTP 200 with an `errcode` for every API error, and checks what the notes document:
content limits in UTF-8 bytes (text 2048, markdown 4096), the image md5 and size, 20 webhook
messages per key in any 60 s (45009), tokens (40014 invalid, 42001 expired), the app's agentid,
a response_code used at most once. It records every request and every delivery, and offers fault
controls (token expiry, outage, injected errcodes, removed webhook keys).

Recall (app messages only; group bots have none): POST /cgi-bin/message/recall?access_token=
with {"msgid": "<the msgid message/send answered>"} and the token checks of message/send
(41001 / 40014 / 42001). errcode 0 for a message this app sent within `recall_window` (24 h, as
documented); the Delivery gets `recalled` and `recalls()` records it. An unknown msgid, one
already recalled, another app's or an older one: errcode 40058 [uncertain: WeCom documents no
code of its own for these; an invalid-parameter code, not retryable, with the reason in errmsg].

In-process use (the tests):

    fake = WecomFake(corp_id="ww...", corp_secret="...", agent_id=1000002).start()
    url = fake.webhook_url("key-1")        # registers the key
    ... fake.delivered(key="key-1"), fake.expire_all_tokens(), fake.outage(3) ...
    fake.stop()

Standalone: python3 tests/fakes/wecom_fake.py --port 9999 --webhook-key K
(the fault controls are then under /_fake/..., see HttpFake._handle_control and
WecomFake._controls).

Error codes not given by the notes are marked [uncertain] where they are defined below.
The HTTP server, the request record, token bookkeeping and the control API are shared with the
other fakes (http_fake.py); this file holds the WeCom rules.
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
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

if not __package__:  # run as a script: make the `fakes` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.http_fake import HttpFake
from fakes.http_fake import Request as HttpRequest
from fakes.http_fake import Response, json_response, standalone_parser

WEBHOOK_PATH = "/cgi-bin/webhook/send"
GETTOKEN_PATH = "/cgi-bin/gettoken"
MESSAGE_PATH = "/cgi-bin/message/send"
AIBOT_PATH = "/cgi-bin/aibot/response"
RECALL_PATH = "/cgi-bin/message/recall"

# Limits from the notes (2.1, 2.3, 4.2, 7.1), in UTF-8 bytes.
TEXT_MAX_BYTES = 2048
MARKDOWN_MAX_BYTES = 4096
APP_MARKDOWN_MAX_BYTES = 2048  # [uncertain] the notes give 2048 for the app side
AIBOT_MARKDOWN_MAX_BYTES = 20480
IMAGE_MAX_BYTES = 2 * 1024 * 1024
NEWS_MAX_ARTICLES = 8
WEBHOOK_RATE_LIMIT = 20  # messages per key ...
WEBHOOK_RATE_WINDOW = 60.0  # ... in any window of this many seconds
RESPONSE_CODE_TTL = 3600.0
RECALL_WINDOW = 24 * 3600.0  # app messages may be recalled for a day after sending

# errcodes (notes 2.3 and 4.1; the ones marked [uncertain] are not given by the notes).
E_OK = 0
E_BUSY = -1
E_INVALID_CREDENTIAL = 40001  # wrong corpsecret
E_INVALID_MSGTYPE = 40008
E_INVALID_IMAGE_SIZE = 40009
E_INVALID_MEDIA_TYPE = 40004
E_INVALID_CORPID = 40013
E_INVALID_TOKEN = 40014
E_INVALID_AGENTID = 40056  # [uncertain]
E_INVALID_PARAMETER = 40058
E_ACCESS_TOKEN_MISSING = 41001  # [uncertain]
E_CORPID_MISSING = 41002  # [uncertain]
E_CORPSECRET_MISSING = 41004  # [uncertain]
E_AGENTID_MISSING = 41011  # [uncertain]
E_TOKEN_EXPIRED = 42001
E_EMPTY_CONTENT = 44004
E_CONTENT_TOO_LARGE = 45002
E_FREQ_LIMIT = 45009
E_DATA_FORMAT = 47001  # [uncertain] body is not JSON / not UTF-8
E_ALL_RECIPIENTS_INVALID = 81013
E_INVALID_WEBHOOK = 93000
# [uncertain] the notes give no code for a bad/used/expired response_code; an invalid-parameter
# code (not retryable) is used.
E_BAD_RESPONSE_CODE = E_INVALID_PARAMETER
# [uncertain] likewise for a msgid message/recall cannot take back (unknown, already recalled,
# another app's, older than a day).
E_BAD_RECALL_MSGID = E_INVALID_PARAMETER

ENDPOINTS = ("webhook", "gettoken", "message", "recall", "aibot")
WEBHOOK_MSGTYPES = ("text", "markdown", "markdown_v2", "image", "news")
APP_MSGTYPES = ("text", "markdown")
AIBOT_MSGTYPES = ("markdown", "template_card")

_ERRMSG = {
    E_BUSY: "system busy",
    E_INVALID_CREDENTIAL: "invalid credential",
    E_INVALID_MSGTYPE: "invalid message type",
    E_INVALID_IMAGE_SIZE: "invalid image size",
    E_INVALID_MEDIA_TYPE: "invalid media type",
    E_INVALID_CORPID: "invalid corpid",
    E_INVALID_TOKEN: "invalid access_token",
    E_INVALID_AGENTID: "invalid agentid",
    E_INVALID_PARAMETER: "invalid Request Parameter",
    E_ACCESS_TOKEN_MISSING: "access_token missing",
    E_CORPID_MISSING: "corpid missing",
    E_CORPSECRET_MISSING: "corpsecret missing",
    E_AGENTID_MISSING: "agentid missing",
    E_TOKEN_EXPIRED: "access_token expired",
    E_EMPTY_CONTENT: "empty content",
    E_CONTENT_TOO_LARGE: "content size out of limit",
    E_FREQ_LIMIT: "api freq out of limit",
    E_DATA_FORMAT: "data format error",
    E_ALL_RECIPIENTS_INVALID: "user & party & tag all invalid",
    E_INVALID_WEBHOOK: "invalid webhook url",
}


@dataclass
class Request(HttpRequest):
    """One HTTP request as the fake saw it; endpoint: webhook | gettoken | message | recall |
    aibot | control | other."""

    errcode: Optional[int] = None  # the errcode answered, if any


@dataclass
class Delivery:
    """One message the fake accepted."""

    endpoint: str  # "webhook" | "message" | "aibot"
    msgtype: str
    body: dict  # the request body as parsed
    content: Optional[str]  # text/markdown content; None for other types
    mentioned_list: list[str]
    key: Optional[str] = None  # webhook
    touser: Optional[str] = None  # message/send
    agentid: Optional[int] = None
    token: Optional[str] = None
    response_code: Optional[str] = None  # aibot
    t: float = 0.0
    wall: float = 0.0
    msgid: Optional[str] = None  # message/send: the msgid it answered (what recall takes)
    recalled: bool = False  # message/recall took it back (see recalls())

    def mentions(self, user_id: str) -> bool:
        """Whether the message @-mentions `user_id` (mentioned_list, or inline <@userid>)."""
        return user_id in self.mentioned_list or (
            self.content is not None and f"<@{user_id}>" in self.content
        )


@dataclass
class Recall:
    """One app message taken back by message/recall."""

    msgid: str
    touser: Optional[str]  # the message's recipients, as sent
    delivery: Delivery  # the message as it was sent
    token: str  # the access_token that recalled it
    t: float = 0.0
    wall: float = 0.0

    @property
    def chat(self) -> Optional[str]:
        return self.touser


@dataclass
class _ResponseCode:
    code: str
    expires_at: float
    used: bool = False


def _json(status: int, obj: Any, headers: Optional[dict[str, str]] = None) -> Response:
    return json_response(status, obj, headers, ensure_ascii=False,
                         content_type="application/json; charset=UTF-8")


class _Invalid(Exception):
    """A business error: answered as HTTP 200 with this errcode."""

    def __init__(self, errcode: int, detail: str = "") -> None:
        super().__init__(detail)
        self.errcode = errcode
        self.detail = detail


class WecomFake(HttpFake):
    """The fake WeCom API. All public methods are safe to call from any thread."""

    platform = "wecom"
    request_type = Request
    delivery_fields = ("endpoint", "msgtype", "content", "mentioned_list", "key", "touser",
                       "agentid", "response_code", "body")
    make_json = staticmethod(_json)
    server_header = "nginx"
    max_body_bytes = 8 * 1024 * 1024

    def __init__(
        self,
        corp_id: str = "ww5823bf96d3bd56c7",
        corp_secret: str = "app-secret-123",
        agent_id: int = 1000002,
        webhook_keys: tuple[str, ...] = (),
        expires_in: int = 7200,
        webhook_rate_limit: int = WEBHOOK_RATE_LIMIT,
        webhook_rate_window: float = WEBHOOK_RATE_WINDOW,
        app_users: Optional[set[str]] = None,
        recall_window: float = RECALL_WINDOW,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """recall_window: seconds after sending an app message may be recalled (a test may
        change the attribute)."""
        super().__init__(host, port)
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        self.agent_id = agent_id
        self.expires_in = expires_in
        self.webhook_rate_limit = webhook_rate_limit
        self.webhook_rate_window = webhook_rate_window
        self.app_users = app_users  # None: every userid exists
        self.recall_window = recall_window

        self._keys: set[str] = set(webhook_keys)
        self._sent_at: dict[str, collections.deque[float]] = {}
        self._response_codes: dict[str, _ResponseCode] = {}
        self._inject: dict[str, list[int]] = {}  # endpoint -> errcodes to answer next
        self._drop: dict[str, int] = {}  # endpoint -> requests to handle, then hang up on
        self._more_apps: dict[str, int] = {}  # corp_secret -> agentid, besides the first app
        self._recalls: list[Recall] = []

    def _banner_details(self) -> str:
        return f"corp_id {self.corp_id}, agent_id {self.agent_id}"

    # ------------------------------------------------------------------ set-up

    def add_webhook_key(self, key: Optional[str] = None) -> str:
        """Registers a group bot's webhook key (a random UUID-like one by default)."""
        if key is None:
            h = secrets.token_hex(16)
            key = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
        with self._lock:
            self._keys.add(key)
        return key

    def remove_webhook_key(self, key: str) -> None:
        """The bot was removed from its group: the key answers 93000 from now on."""
        with self._lock:
            self._keys.discard(key)

    def webhook_url(self, key: Optional[str] = None) -> str:
        """The webhook send URL of `key` (registered if new)."""
        key = self.add_webhook_key(key)
        return f"{self.base_url}{WEBHOOK_PATH}?key={key}"

    def new_response_code(self) -> str:
        """A fresh AI-bot response_code: usable once, for an hour."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._response_codes[code] = _ResponseCode(code, time.monotonic() + RESPONSE_CODE_TTL)
        return code

    def aibot_response_url(self, code: Optional[str] = None) -> str:
        code = code if code is not None else self.new_response_code()
        return f"{self.base_url}{AIBOT_PATH}?response_code={code}"

    def record_aibot_stream(self, response_url: str, content: str) -> None:
        """WeCom showed an AI bot's passive stream finished with `content`: the tests' WeCom
        side follows the streams that botgate's answers open (the callbacks are not this fake's
        to send) and tells it here. Recorded as a delivery on endpoint "aibot" with msgtype
        "stream" and the message's response_code, beside the POSTs to response_urls, so that a
        reply shown both ways shows as two deliveries."""
        query = urllib.parse.urlsplit(response_url).query
        code = urllib.parse.parse_qs(query).get("response_code", [""])[0]
        with self._lock:
            self._delivered.append(Delivery(
                endpoint="aibot", msgtype="stream", body={}, content=content, mentioned_list=[],
                response_code=code, t=time.monotonic(), wall=time.time()))

    # ------------------------------------------------------------------ fault controls
    # (shared with Feishu: expire_all_tokens, outage, outage_end, reset; see HttpFake)

    def fail_next(self, endpoint: str, n: int = 1, errcode: int = E_BUSY) -> None:
        """The next `n` requests on `endpoint` (webhook, gettoken, message, recall, aibot)
        answer HTTP 200 with `errcode` instead of being handled (e.g. -1 system busy, 45009)."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint}")
        with self._lock:
            self._inject.setdefault(endpoint, []).extend([errcode] * n)

    def drop_after_handling(self, endpoint: str, n: int = 1) -> None:
        """The next `n` requests on `endpoint` are handled as usual (a message is delivered and
        counted) and then the connection is closed without an answer: the answer was lost on
        the way back, so the sender cannot know that the message arrived."""
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint}")
        with self._lock:
            self._drop[endpoint] = self._drop.get(endpoint, 0) + n

    def _reset_platform(self) -> None:
        # Keys, tokens and response codes stay.
        self._sent_at.clear()
        self._inject.clear()
        self._drop.clear()
        self._recalls.clear()

    def _controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        """POST /_fake/fail_next         {"endpoint": "webhook", "n": 1, "errcode": -1}
        POST /_fake/drop_after_handling {"endpoint": "webhook", "n": 1}
        POST /_fake/add_webhook_key    {"key": "..."} (optional) -> {"key", "url"}
        POST /_fake/remove_webhook_key {"key": "..."}
        POST /_fake/new_response_code  -> {"response_code", "url"}
        """

        def add_webhook_key(args: dict) -> Response:
            key = self.add_webhook_key(args.get("key"))
            return _json(200, {"key": key, "url": self.webhook_url(key)})

        def new_response_code(args: dict) -> Response:
            code = self.new_response_code()
            return _json(200, {"response_code": code, "url": self.aibot_response_url(code)})

        return {
            "fail_next": lambda a: self.fail_next(
                str(a["endpoint"]), int(a.get("n", 1)), int(a.get("errcode", E_BUSY))
            ),
            "drop_after_handling": lambda a: self.drop_after_handling(
                str(a["endpoint"]), int(a.get("n", 1))
            ),
            "add_webhook_key": add_webhook_key,
            "remove_webhook_key": lambda a: self.remove_webhook_key(str(a["key"])),
            "new_response_code": new_response_code,
        }

    # ------------------------------------------------------------------ observations
    # (shared: requests, count, token_fetches, issued_tokens, wait_until, wait_delivered; see
    # HttpFake)

    def delivered(self, endpoint: Optional[str] = None,
                  key: Optional[str] = None) -> list[Delivery]:
        with self._lock:
            return [
                d for d in self._delivered
                if (endpoint is None or d.endpoint == endpoint) and (key is None or d.key == key)
            ]

    def recalls(self, touser: Optional[str] = None) -> list[Recall]:
        """App messages recalled, in order (optionally only those sent to `touser`)."""
        with self._lock:
            return [r for r in self._recalls if touser is None or r.touser == touser]

    def wait_for_recalls(self, n: int, timeout: float = 10.0,
                         touser: Optional[str] = None) -> list[Recall]:
        """Waits until at least `n` app messages were recalled (sent to `touser`); returns them
        all (maybe fewer)."""
        self.wait_until(lambda: len(self.recalls(touser)) >= n, timeout)
        return self.recalls(touser)

    def _extra_stats(self) -> dict[str, Any]:
        return {"recalls": len(self._recalls)}

    def errcodes(self, endpoint: Optional[str] = None) -> list[Optional[int]]:
        """The errcode answered to each request on `endpoint`, in order (None: not JSON)."""
        with self._lock:
            return [r.errcode for r in self._requests
                    if (endpoint is None or r.endpoint == endpoint) and r.endpoint != "control"]

    def webhook_keys(self) -> list[str]:
        with self._lock:
            return sorted(self._keys)

    # ------------------------------------------------------------------ HTTP plumbing

    def _extra_headers(self, resp: Response) -> list[str]:
        code = _errcode_of(resp)
        return [f"Error-Code: {code}"] if code is not None else []

    def _classify(self, path: str) -> str:
        return {
            WEBHOOK_PATH: "webhook",
            GETTOKEN_PATH: "gettoken",
            MESSAGE_PATH: "message",
            RECALL_PATH: "recall",
            AIBOT_PATH: "aibot",
        }.get(path, "other")

    # ------------------------------------------------------------------ dispatch

    async def _route(self, req: Request, reader: asyncio.StreamReader) -> Response:
        with self._lock:
            queue = self._inject.get(req.endpoint)
            injected = queue.pop(0) if queue else None
        if injected is not None:
            return self._finish(req, _error(injected))
        handler = {
            "webhook": self._handle_webhook,
            "gettoken": self._handle_gettoken,
            "message": self._handle_message,
            "recall": self._handle_recall,
            "aibot": self._handle_aibot,
        }.get(req.endpoint)
        if handler is None:
            return self._finish(req, Response(404, b"<html><body>404 Not Found</body></html>",
                                              {}, "text/html"))
        try:
            resp = self._finish(req, handler(req))
        except _Invalid as e:
            resp = self._finish(req, _error(e.errcode, e.detail))
        with self._lock:
            drop = self._drop.get(req.endpoint, 0) > 0
            if drop:
                self._drop[req.endpoint] -= 1
        # None: the connection is closed with no answer (see HttpFake._on_connection).
        return None if drop else resp

    def _record_answer(self, req: Request, resp: Response) -> None:
        req.errcode = _errcode_of(resp)

    # ------------------------------------------------------------------ group-bot webhook

    def _handle_webhook(self, req: Request) -> Response:
        if req.method != "POST":
            raise _Invalid(E_INVALID_PARAMETER, "POST only")
        key = req.query.get("key", "")
        with self._lock:
            known = key in self._keys
        if not known:
            raise _Invalid(E_INVALID_WEBHOOK)
        body = _json_body(req)
        msgtype, content, mentioned = _validate_webhook_body(body)
        # The window counts accepted messages only: WeCom refuses the 21st in any 60 s.
        with self._lock:
            window = self._sent_at.setdefault(key, collections.deque())
            while window and req.t - window[0] >= self.webhook_rate_window:
                window.popleft()
            if len(window) >= self.webhook_rate_limit:
                raise _Invalid(E_FREQ_LIMIT)
            window.append(req.t)
            self._delivered.append(Delivery(
                endpoint="webhook", msgtype=msgtype, body=body, content=content,
                mentioned_list=mentioned, key=key, t=req.t, wall=req.wall))
        return _ok()

    # ------------------------------------------------------------------ self-built app

    def _handle_gettoken(self, req: Request) -> Response:
        if req.method != "GET":
            raise _Invalid(E_INVALID_PARAMETER, "GET only")
        corpid = req.query.get("corpid")
        secret = req.query.get("corpsecret")
        if not corpid:
            raise _Invalid(E_CORPID_MISSING)
        if not secret:
            raise _Invalid(E_CORPSECRET_MISSING)
        if corpid != self.corp_id:
            raise _Invalid(E_INVALID_CORPID)
        if self._agent_of(secret) is None:
            raise _Invalid(E_INVALID_CREDENTIAL)
        # WeCom tokens are long (clients reserve >= 512 chars). A token belongs to the app whose
        # secret fetched it.
        token, remaining = self._issue_token(req.t, self.expires_in,
                                             lambda: secrets.token_urlsafe(48), owner=secret)
        return _json(200, {"errcode": 0, "errmsg": "ok", "access_token": token,
                           "expires_in": remaining})

    def add_app(self, corp_secret: str, agent_id: int) -> None:
        """Another self-built app of the same corp (one process hosting several bots): its own
        secret, agentid and tokens."""
        with self._lock:
            self._more_apps[corp_secret] = agent_id

    def _agent_of(self, corp_secret: str) -> Optional[int]:
        """The agentid of the app with this secret; None if no app has it."""
        if corp_secret == self.corp_secret:
            return self.agent_id
        with self._lock:
            return self._more_apps.get(corp_secret)

    def _check_token(self, req: Request) -> str:
        token = req.query.get("access_token", "")
        if not token:
            raise _Invalid(E_ACCESS_TOKEN_MISSING)
        status = self._token_status(token, req.t)
        if status is None:
            raise _Invalid(E_INVALID_TOKEN)
        if not status:
            raise _Invalid(E_TOKEN_EXPIRED)
        return token

    def _handle_message(self, req: Request) -> Response:
        if req.method != "POST":
            raise _Invalid(E_INVALID_PARAMETER, "POST only")
        token = self._check_token(req)
        body = _json_body(req)
        if "agentid" not in body:
            raise _Invalid(E_AGENTID_MISSING)
        agentid = body["agentid"]
        if (not isinstance(agentid, int) or isinstance(agentid, bool)
                or agentid != self._agent_of(self._token_owner(token) or "")):
            raise _Invalid(E_INVALID_AGENTID)
        targets = {k: body.get(k, "") for k in ("touser", "toparty", "totag")}
        for k, v in targets.items():
            if not isinstance(v, str):
                raise _Invalid(E_INVALID_PARAMETER, f"{k} must be a string")
        if not any(targets.values()):
            raise _Invalid(E_ALL_RECIPIENTS_INVALID)
        msgtype = body.get("msgtype")
        if msgtype not in APP_MSGTYPES:
            raise _Invalid(E_INVALID_MSGTYPE)
        limit = TEXT_MAX_BYTES if msgtype == "text" else APP_MARKDOWN_MAX_BYTES
        content = _content(body, msgtype, limit)
        users = [u for u in targets["touser"].split("|") if u]
        invalid = []
        if self.app_users is not None and targets["touser"] != "@all":
            invalid = [u for u in users if u not in self.app_users]
            if len(invalid) == len(users) and not targets["toparty"] and not targets["totag"]:
                raise _Invalid(E_ALL_RECIPIENTS_INVALID)
        msgid = secrets.token_urlsafe(96)  # WeCom's are long (about 128 characters)
        with self._lock:
            self._delivered.append(Delivery(
                endpoint="message", msgtype=msgtype, body=body, content=content,
                mentioned_list=[], touser=targets["touser"], agentid=agentid, token=token,
                t=req.t, wall=req.wall, msgid=msgid))
        return _json(200, {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid),
                           "invalidparty": "", "invalidtag": "", "unlicenseduser": "",
                           "msgid": msgid,
                           "response_code": secrets.token_urlsafe(24)})

    def _handle_recall(self, req: Request) -> Response:
        if req.method != "POST":
            raise _Invalid(E_INVALID_PARAMETER, "POST only")
        token = self._check_token(req)
        body = _json_body(req)
        msgid = body.get("msgid")
        if not isinstance(msgid, str) or not msgid:
            raise _Invalid(E_INVALID_PARAMETER, "msgid must be a non-empty string")
        app = self._token_owner(token)
        with self._lock:
            d = next((x for x in self._delivered
                      if x.endpoint == "message" and x.msgid == msgid), None)
            if d is None or self._tokens[d.token or ""].owner != app:
                raise _Invalid(E_BAD_RECALL_MSGID, "unknown msgid")
            if d.recalled:
                raise _Invalid(E_BAD_RECALL_MSGID, "msgid already recalled")
            if req.t - d.t > self.recall_window:
                raise _Invalid(E_BAD_RECALL_MSGID, "only messages of the last 24 hours")
            d.recalled = True
            self._recalls.append(Recall(msgid=msgid, touser=d.touser, delivery=d, token=token,
                                        t=req.t, wall=req.wall))
        return _ok()

    # ------------------------------------------------------------------ AI bot

    def _handle_aibot(self, req: Request) -> Response:
        if req.method != "POST":
            raise _Invalid(E_INVALID_PARAMETER, "POST only")
        code = req.query.get("response_code", "")
        with self._lock:
            rc = self._response_codes.get(code)
            if rc is None:
                raise _Invalid(E_BAD_RESPONSE_CODE, "invalid response_code")
            if rc.used:
                raise _Invalid(E_BAD_RESPONSE_CODE, "response_code already used")
            if req.t >= rc.expires_at:
                raise _Invalid(E_BAD_RESPONSE_CODE, "response_code expired")
        body = _json_body(req)
        msgtype = body.get("msgtype")
        if msgtype not in AIBOT_MSGTYPES:
            raise _Invalid(E_INVALID_MSGTYPE)
        content = None
        if msgtype == "markdown":
            content = _content(body, "markdown", AIBOT_MARKDOWN_MAX_BYTES)
        elif not isinstance(body.get("template_card"), dict) or not body["template_card"]:
            raise _Invalid(E_INVALID_PARAMETER, "template_card")
        with self._lock:
            if rc.used:  # raced with another request on the same code
                raise _Invalid(E_BAD_RESPONSE_CODE, "response_code already used")
            rc.used = True
            self._delivered.append(Delivery(
                endpoint="aibot", msgtype=msgtype, body=body, content=content, mentioned_list=[],
                response_code=code, t=req.t, wall=req.wall))
        return _ok()

# ---------------------------------------------------------------------- validation


def _json_body(req: Request) -> dict:
    try:
        text = req.body.decode("utf-8")  # strict: broken UTF-8 is refused
        body = json.loads(text)
    except (UnicodeDecodeError, ValueError) as e:
        raise _Invalid(E_DATA_FORMAT, f"body: {e}") from e
    if not isinstance(body, dict):
        raise _Invalid(E_DATA_FORMAT, "body is not a JSON object")
    return body


def _utf8_len(s: str) -> int:
    try:
        return len(s.encode("utf-8"))
    except UnicodeEncodeError as e:  # a lone surrogate from a \udxxx escape
        raise _Invalid(E_DATA_FORMAT, "content is not valid Unicode") from e


def _content(body: dict, msgtype: str, limit: int) -> str:
    """`body[msgtype].content`, checked: a non-empty string of at most `limit` UTF-8 bytes."""
    inner = body.get(msgtype)
    if not isinstance(inner, dict):
        raise _Invalid(E_INVALID_PARAMETER, f"{msgtype} must be an object")
    content = inner.get("content")
    if content is None or (isinstance(content, str) and not content.strip()):
        raise _Invalid(E_EMPTY_CONTENT)
    if not isinstance(content, str):
        raise _Invalid(E_INVALID_PARAMETER, "content must be a string")
    if _utf8_len(content) > limit:
        raise _Invalid(E_CONTENT_TOO_LARGE, f"{_utf8_len(content)} bytes > {limit}")
    return content


def _string_list(inner: dict, name: str) -> list[str]:
    v = inner.get(name, [])
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _Invalid(E_INVALID_PARAMETER, f"{name} must be a list of strings")
    return v


def _validate_webhook_body(body: dict) -> tuple[str, Optional[str], list[str]]:
    msgtype = body.get("msgtype")
    if msgtype not in WEBHOOK_MSGTYPES:
        raise _Invalid(E_INVALID_MSGTYPE)
    if msgtype == "text":
        content = _content(body, "text", TEXT_MAX_BYTES)
        mentioned = _string_list(body["text"], "mentioned_list")
        _string_list(body["text"], "mentioned_mobile_list")
        return msgtype, content, mentioned
    if msgtype in ("markdown", "markdown_v2"):
        return msgtype, _content(body, msgtype, MARKDOWN_MAX_BYTES), []
    if msgtype == "image":
        image = body.get("image")
        if not isinstance(image, dict):
            raise _Invalid(E_INVALID_PARAMETER, "image must be an object")
        b64, md5 = image.get("base64"), image.get("md5")
        if not isinstance(b64, str) or not isinstance(md5, str) or not b64:
            raise _Invalid(E_INVALID_PARAMETER, "image.base64 and image.md5 required")
        try:
            raw = base64.b64decode(b64, validate=True)
        except binascii.Error as e:
            raise _Invalid(E_INVALID_PARAMETER, "image.base64 is not base64") from e
        if len(raw) > IMAGE_MAX_BYTES:
            raise _Invalid(E_INVALID_IMAGE_SIZE)
        if hashlib.md5(raw).hexdigest() != md5.lower():
            raise _Invalid(E_INVALID_PARAMETER, "image.md5 does not match")
        if not (raw.startswith(b"\x89PNG\r\n\x1a\n") or raw.startswith(b"\xff\xd8\xff")):
            raise _Invalid(E_INVALID_MEDIA_TYPE)
        return msgtype, None, []
    # news
    news = body.get("news")
    articles = news.get("articles") if isinstance(news, dict) else None
    if not isinstance(articles, list) or not 1 <= len(articles) <= NEWS_MAX_ARTICLES:
        raise _Invalid(E_INVALID_PARAMETER, "news.articles: 1 to 8 articles")
    for a in articles:
        if not isinstance(a, dict) or not isinstance(a.get("title"), str) or not a["title"] \
                or not isinstance(a.get("url"), str) or not a["url"]:
            raise _Invalid(E_INVALID_PARAMETER, "an article needs a title and a url")
    return msgtype, None, []


# ---------------------------------------------------------------------- helpers


def _ok() -> Response:
    return _json(200, {"errcode": 0, "errmsg": "ok"})


def _error(errcode: int, detail: str = "") -> Response:
    # Like WeCom: HTTP 200, a hint and a link in errmsg (clients must match on errcode).
    msg = _ERRMSG.get(errcode, "error")
    if detail:
        msg += f" ({detail})"
    hint = f"{int(time.time())}_{secrets.token_hex(6)}"
    msg += (f", hint: [{hint}], from ip: 127.0.0.1, more info at "
            f"https://open.work.weixin.qq.com/devtool/query?e={errcode}")
    return _json(200, {"errcode": errcode, "errmsg": msg})


def _errcode_of(resp: Response) -> Optional[int]:
    try:
        obj = json.loads(resp.body)
    except ValueError:
        return None
    v = obj.get("errcode") if isinstance(obj, dict) else None
    return v if isinstance(v, int) else None


def main() -> None:
    ap = standalone_parser("fake WeCom API")
    ap.add_argument("--corp-id")
    ap.add_argument("--corp-secret")
    ap.add_argument("--agent-id", type=int)
    ap.add_argument("--webhook-key", action="append", dest="webhook_keys", metavar="KEY",
                    help="a valid webhook key")
    ap.add_argument("--expires-in", type=int, help="token lifetime in seconds")
    WecomFake(**vars(ap.parse_args())).serve_forever()


if __name__ == "__main__":
    main()
