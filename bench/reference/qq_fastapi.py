#!/usr/bin/python3
"""The reference QQ webhook handler, written the way QQ's docs show it ("安全和授权" and
"事件订阅与通知", whose examples are Go), on FastAPI + uvicorn (one worker): the Ed25519 seed
is the Bot Secret repeated until it is 32 bytes long and cut there, the public key derived from
it once; each callback's X-Signature-Ed25519 (hex; 64 bytes, the top three bits of its last byte
clear, as the docs' check) is verified over X-Signature-Timestamp + the raw body; op 13 (the
callback URL validation) is answered with the signature of event_ts + plain_token; a dispatch
(op 0) is acknowledged with {"op":12,"d":0}, as the official Go SDK does.

Ed25519 with PyNaCl (Debian's python3-nacl, libsodium): neither QQ's docs (Go only) nor the
official Python SDK (botpy, WebSocket only) show a Python webhook; PyNaCl's SigningKey(seed) is
the derivation QQ's rule names, and it verifies in about half the time of python3-cryptography
(OpenSSL), so the reference is not held back by its library.

With `--no-db` it is the docs' handler as the docs show it: nothing is stored and no event id
is remembered; it counts the dispatches that reached it, verified (GET /stats: {"handled": N}),
so that the benchmark can see it did the work. With `--db PATH`, to do what botgate does for
each event, it also keeps the event ids it has seen in memory (dedup) and inserts each new event
into SQLite (WAL, synchronous=NORMAL, a commit per event), like botgate's durable inbox, before
answering 200. No timestamp window: the docs give none.

    qq_fastapi.py --port 8000 --app-secret S --db /tmp/ref.db
    qq_fastapi.py --port 8000 --app-secret S --no-db
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey

SEED_SIZE = 32


def signing_key(bot_secret: str) -> SigningKey:
    """The docs' Go: `for len(seed) < ed25519.SeedSize { seed = strings.Repeat(seed, 2) }`."""
    seed = bot_secret
    while len(seed) < SEED_SIZE:
        seed = seed * 2
    return SigningKey(seed[:SEED_SIZE].encode())


class Inbox:
    """What botgate does besides the docs' handler: the event ids seen (dedup) and one SQLite
    insert and commit per new event."""

    def __init__(self, db_path: str) -> None:
        self.seen: set[str] = set()
        self.db = sqlite3.connect(db_path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS inbox (event_id TEXT PRIMARY KEY, "
                        "event_type TEXT, body TEXT, received_at REAL)")

    def store(self, payload: dict) -> None:
        event_id = payload.get("id", "")
        if event_id in self.seen:
            return
        self.seen.add(event_id)
        self.db.execute("INSERT OR IGNORE INTO inbox VALUES (?, ?, ?, ?)",
                        (event_id, payload.get("t", ""), json.dumps(payload.get("d")),
                         time.time()))
        self.db.commit()


def make_app(bot_secret: str, db_path: str | None) -> FastAPI:
    app = FastAPI()
    private_key = signing_key(bot_secret)
    public_key = private_key.verify_key
    inbox = Inbox(db_path) if db_path else None
    handled = 0
    unauthorized = JSONResponse({"msg": "bad signature"}, status_code=401)

    @app.get("/readyz")
    async def readyz() -> dict:
        return {"ok": True}

    @app.get("/stats")
    async def stats() -> dict:
        return {"handled": handled}

    @app.post("/webhook/qq")
    async def webhook(request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get("X-Signature-Ed25519", "")
        timestamp = request.headers.get("X-Signature-Timestamp", "")
        if not signature or not timestamp:
            return unauthorized
        try:
            sig = bytes.fromhex(signature)
        except ValueError:
            return unauthorized
        if len(sig) != 64 or sig[63] & 224 != 0:
            return unauthorized
        try:
            public_key.verify(timestamp.encode() + body, sig)
        except BadSignatureError:
            return unauthorized
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"msg": "bad body"}, status_code=400)
        if payload.get("op") == 13:
            d = payload.get("d") or {}
            plain_token = d.get("plain_token", "")
            message = (d.get("event_ts", "") + plain_token).encode()
            return JSONResponse({"plain_token": plain_token,
                                 "signature": private_key.sign(message).signature.hex()})
        if payload.get("op") != 0:
            return JSONResponse({"op": 12, "d": 0})
        nonlocal handled
        handled += 1
        if inbox is not None:
            inbox.store(payload)
        return JSONResponse({"op": 12, "d": 0})

    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--app-secret", required=True)
    store = p.add_mutually_exclusive_group(required=True)
    store.add_argument("--db", help="the inbox database (dedup and a commit per event)")
    store.add_argument("--no-db", action="store_true", help="the docs' handler alone")
    a = p.parse_args()
    uvicorn.run(make_app(a.app_secret, a.db), host="127.0.0.1", port=a.port, workers=1,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
