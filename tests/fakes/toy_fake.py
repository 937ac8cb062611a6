"""The toy platform's fake (tests/platforms/toy/toy_platform.hpp): POST /messages with the bot's
secret in X-Toy-Secret delivers a message; a second POST with the same idempotency key is
acknowledged and delivers nothing. Built on http_fake.HttpFake like the real platforms' fakes.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

if not __package__:  # run as a script: make the `fakes` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.http_fake import HttpFake, Request, Response, json_response, standalone_parser

TOY_SECRET = "toy-secret"


@dataclass
class Delivery:
    chat: str
    text: str
    reply_to: str
    key: str


class ToyFake(HttpFake):
    platform = "toy"
    delivery_fields = ("chat", "text", "reply_to", "key")

    def __init__(self, host: str = "127.0.0.1", port: int = 0, secret: str = TOY_SECRET) -> None:
        super().__init__(host, port)
        self.secret = secret
        self._keys: dict[str, str] = {}  # idempotency key -> message id

    def _classify(self, path: str) -> str:
        return "messages" if path == "/messages" else "other"

    def _reset_platform(self) -> None:
        self._keys.clear()

    async def _route(self, req: Request, reader: asyncio.StreamReader) -> Optional[Response]:
        if req.endpoint != "messages" or req.method != "POST":
            return self._finish(req, json_response(404, {"error": "no such endpoint"}))
        if req.headers.get("x-toy-secret") != self.secret:
            return self._finish(req, json_response(401, {"error": "bad secret"}))
        try:
            body = req.json()
            delivery = Delivery(str(body["chat"]), str(body["text"]), str(body.get("reply_to", "")),
                                str(body["key"]))
        except (ValueError, KeyError, TypeError):
            return self._finish(req, json_response(400, {"error": "bad body"}))
        with self._lock:
            message_id = self._keys.get(delivery.key)
            if message_id is None:
                message_id = f"t-{len(self._keys) + 1}"
                self._keys[delivery.key] = message_id
                self._delivered.append(delivery)
        return self._finish(req, json_response(200, {"id": message_id}))


if __name__ == "__main__":
    args = standalone_parser("The toy platform's fake").parse_args()
    ToyFake(**vars(args)).serve_forever()
