"""WeCom's side of an AI bot's passive streams in callback mode (wecom.md 7.1; longconn notes
2.2), for the tests: the answer to a message callback may be an encrypted passive reply that
opens a stream ({"msgtype":"stream","stream":{"id","finish":false,"content"}}); WeCom then POSTs
"stream refresh" callbacks ({"msgtype":"stream","stream":{"id"}}) and shows each answer's content
(the whole text each time) until one says finish, or 6 minutes after the message.

Strict like the platform: every answer is checked (envelope fields, timestamp an integer, the
callback's nonce echoed, msg_signature over it, decryptable with receive id "", the stream id
the one the message opened, content at most 20,480 bytes); a check that fails is recorded in
`errors` and the stream stops being refreshed (WeCom shows nothing more of it).

Written from the protocol notes, independently of botgate's code.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import wecom_crypto

STREAM_CONTENT_MAX_BYTES = 20480
WINDOW = 360.0  # seconds after the message during which WeCom refreshes


@dataclass
class AibotStream:
    """One stream a message opened, as WeCom saw it."""

    stream_id: str
    response_url: str
    opened_at: float
    contents: list[str] = field(default_factory=list)  # each refresh answer's content, in order
    final: Optional[str] = None  # the content of the answer that said finish
    refreshes: int = 0
    errors: list[str] = field(default_factory=list)
    expired: bool = False  # the window ended before a finish
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float = 15.0) -> "AibotStream":
        assert self.done.wait(timeout), (
            f"stream {self.stream_id} not finished within {timeout}s: "
            f"{self.refreshes} refreshes, last content {self.contents[-1:]!r}, "
            f"errors {self.errors}")
        return self


def read_passive_reply(body: bytes, *, token: str, encoding_aes_key: str,
                       nonce: str) -> dict[str, Any]:
    """The plaintext JSON of an encrypted passive reply, after every check WeCom makes; raises
    AssertionError naming the first that fails."""
    envelope = json.loads(body)
    assert isinstance(envelope, dict), envelope
    for name in ("encrypt", "msgsignature", "timestamp", "nonce"):
        assert name in envelope, f"passive reply without {name!r}: {envelope}"
    assert isinstance(envelope["timestamp"], int), "timestamp must be an integer"
    assert abs(envelope["timestamp"] - time.time()) < 300, envelope["timestamp"]
    assert envelope["nonce"] == nonce, "the passive reply must echo the callback's nonce"
    expected = wecom_crypto.signature(token, str(envelope["timestamp"]), nonce,
                                      envelope["encrypt"])
    assert envelope["msgsignature"] == expected, "bad msgsignature on the passive reply"
    plain, receive_id = wecom_crypto.decrypt(encoding_aes_key, envelope["encrypt"])
    assert receive_id == "", f"AI bot replies carry receive id '', got {receive_id!r}"
    reply = json.loads(plain)
    assert isinstance(reply, dict), reply
    return reply


def stream_of(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply.get("msgtype") == "stream", reply
    stream = reply.get("stream")
    assert isinstance(stream, dict) and isinstance(stream.get("id"), str) and stream["id"], reply
    assert isinstance(stream.get("finish"), bool), reply
    content = stream.get("content", "")
    assert isinstance(content, str), reply
    assert len(content.encode("utf-8")) <= STREAM_CONTENT_MAX_BYTES, len(content.encode())
    return stream


Post = Callable[[bytes], tuple[int, dict[str, str], bytes, str]]


class AibotStreamFollower:
    """Refreshes the streams that messages opened, each on its own thread, as WeCom does.

    `post(plaintext)` encrypts, signs and POSTs one callback to botgate and returns (status,
    headers, body, the nonce it signed with). `on_finish(stream)` is told each stream that
    finished (the tests' fake records it as a delivery)."""

    def __init__(self, post: Post, *, token: str, encoding_aes_key: str,
                 interval: float = 0.3, window: float = WINDOW,
                 on_finish: Optional[Callable[[AibotStream], None]] = None) -> None:
        self._post = post
        self._token = token
        self._key = encoding_aes_key
        self.interval = interval
        self.window = window
        self._on_finish = on_finish
        self._lock = threading.Lock()
        self.streams: dict[str, AibotStream] = {}
        self._stop = threading.Event()

    def answered(self, message: dict[str, Any], status: int, body: bytes, nonce: str,
                 ) -> Optional[AibotStream]:
        """Reads botgate's answer to message callback `message`: an empty 200, or a passive
        reply; a stream it opens is refreshed from now on. Returns that stream."""
        if status != 200 or not body:
            return None
        stream = stream_of(read_passive_reply(body, token=self._token,
                                              encoding_aes_key=self._key, nonce=nonce))
        with self._lock:
            known = self.streams.get(stream["id"])
            if known is not None:  # a redelivered message: WeCom already follows this stream
                return known
            followed = AibotStream(stream["id"], message.get("response_url", ""),
                                   time.monotonic())
            self.streams[stream["id"]] = followed
        followed.contents.append(stream.get("content", ""))
        if stream["finish"]:
            self._finish(followed, stream.get("content", ""))
            return followed
        threading.Thread(target=self._refresh_loop, args=(followed, message),
                         daemon=True).start()
        return followed

    def stream_for(self, response_url: str, timeout: float = 5.0) -> AibotStream:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for s in self.streams.values():
                    if s.response_url == response_url:
                        return s
            time.sleep(0.02)
        raise AssertionError(f"no stream opened for {response_url}")

    def stop(self) -> None:
        self._stop.set()

    def _finish(self, stream: AibotStream, content: str) -> None:
        stream.final = content
        stream.done.set()
        if self._on_finish is not None:
            self._on_finish(stream)

    def _refresh_loop(self, stream: AibotStream, message: dict[str, Any]) -> None:
        while not self._stop.is_set():
            time.sleep(self.interval)
            if time.monotonic() - stream.opened_at >= self.window:
                stream.expired = True
                stream.done.set()
                return
            refresh = {
                "msgid": wecom_crypto.new_msg_id(),
                "aibotid": message.get("aibotid", ""),
                "chattype": message.get("chattype", "single"),
                "from": message.get("from", {}),
                "msgtype": "stream",
                "stream": {"id": stream.stream_id},
            }
            if "chatid" in message:
                refresh["chatid"] = message["chatid"]
            try:
                status, _, body, nonce = self._post(wecom_crypto.dumps(refresh))
            except OSError as e:  # botgate restarting: WeCom asks again later
                stream.errors.append(f"refresh not answered: {e}")
                continue
            stream.refreshes += 1
            if status != 200:
                stream.errors.append(f"refresh answered HTTP {status}")
                continue
            try:
                answer = stream_of(read_passive_reply(body, token=self._token,
                                                      encoding_aes_key=self._key, nonce=nonce))
                assert answer["id"] == stream.stream_id, (answer["id"], stream.stream_id)
            except (AssertionError, ValueError, KeyError) as e:
                stream.errors.append(f"bad refresh answer: {e}")
                stream.done.set()
                return
            stream.contents.append(answer.get("content", ""))
            if answer["finish"]:
                self._finish(stream, answer.get("content", ""))
                return


def nonce_of(query: str) -> str:
    return urllib.parse.parse_qs(query).get("nonce", [""])[0]
