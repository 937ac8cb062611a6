#!/usr/bin/python3
"""The reference Feishu event handler, written the way Feishu's guides show it: FastAPI on
uvicorn (one worker), the signature check X-Lark-Signature = SHA-256(timestamp + nonce +
encrypt_key + body), AES-256-CBC decryption with pycryptodome (key = SHA-256(encrypt_key), the
IV in front of the ciphertext), json.loads, the verification token check.

With `--no-db` it is the guide's handler as the guide shows it: nothing is stored and no event
id is remembered; it counts the events that reached it (GET /stats: {"handled": N}), so that the
benchmark can see it did the work. With `--db PATH`, to do what botgate does for each event, it
also keeps the event ids it has seen in memory (dedup) and inserts each new event into SQLite
(WAL, synchronous=NORMAL, a commit per event), like botgate's durable inbox, before answering
200.

    feishu_fastapi.py --port 8000 --encrypt-key K --verification-token T --db /tmp/ref.db
    feishu_fastapi.py --port 8000 --encrypt-key K --verification-token T --no-db
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sqlite3
import time

import uvicorn
try:
    from Crypto.Cipher import AES
except ImportError:  # Debian's python3-pycryptodome installs it as Cryptodome
    from Cryptodome.Cipher import AES
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse


class AESCipher:
    """As in Feishu's "Encrypt Key" guide (Python sample)."""

    def __init__(self, key: str) -> None:
        self.bs = AES.block_size
        self.key = hashlib.sha256(key.encode("utf-8")).digest()

    @staticmethod
    def _unpad(s: bytes) -> bytes:
        return s[: -ord(s[len(s) - 1:])]

    def decrypt(self, enc: bytes) -> bytes:
        iv = enc[: AES.block_size]
        cipher = AES.new(self.key, AES.MODE_CBC, iv)
        return self._unpad(cipher.decrypt(enc[AES.block_size:]))

    def decrypt_string(self, enc: str) -> str:
        return self.decrypt(base64.b64decode(enc)).decode("utf8")


class Inbox:
    """What botgate does besides the guide's handler: the event ids seen (dedup) and one SQLite
    insert and commit per new event."""

    def __init__(self, db_path: str) -> None:
        self.seen: set[str] = set()
        self.db = sqlite3.connect(db_path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS inbox (event_id TEXT PRIMARY KEY, "
                        "event_type TEXT, body TEXT, received_at REAL)")

    def store(self, event: dict) -> None:
        header = event.get("header") or {}
        event_id = header.get("event_id", "")
        if event_id in self.seen:
            return
        self.seen.add(event_id)
        self.db.execute("INSERT OR IGNORE INTO inbox VALUES (?, ?, ?, ?)",
                        (event_id, header.get("event_type", ""), json.dumps(event), time.time()))
        self.db.commit()


def make_app(encrypt_key: str, verification_token: str, db_path: str | None) -> FastAPI:
    app = FastAPI()
    cipher = AESCipher(encrypt_key)
    inbox = Inbox(db_path) if db_path else None
    handled = 0

    @app.get("/readyz")
    async def readyz() -> dict:
        return {"ok": True}

    @app.get("/stats")
    async def stats() -> dict:
        return {"handled": handled}

    @app.post("/webhook/feishu")
    async def webhook(request: Request) -> Response:
        body = await request.body()
        timestamp = request.headers.get("X-Lark-Request-Timestamp", "")
        nonce = request.headers.get("X-Lark-Request-Nonce", "")
        signature = request.headers.get("X-Lark-Signature", "")
        expected = hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body)
        if expected.hexdigest() != signature:
            return JSONResponse({"msg": "bad signature"}, status_code=401)
        try:
            event = json.loads(cipher.decrypt_string(json.loads(body)["encrypt"]))
        except (ValueError, KeyError, UnicodeDecodeError):
            return JSONResponse({"msg": "bad body"}, status_code=400)
        if event.get("type") == "url_verification":
            return JSONResponse({"challenge": event.get("challenge")})
        header = event.get("header") or {}
        if header.get("token") != verification_token:
            return JSONResponse({"msg": "bad token"}, status_code=401)
        nonlocal handled
        handled += 1
        if inbox is not None:
            inbox.store(event)
        return JSONResponse({})

    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--encrypt-key", required=True)
    p.add_argument("--verification-token", required=True)
    store = p.add_mutually_exclusive_group(required=True)
    store.add_argument("--db", help="the inbox database (dedup and a commit per event)")
    store.add_argument("--no-db", action="store_true", help="the guide's handler alone")
    a = p.parse_args()
    uvicorn.run(make_app(a.encrypt_key, a.verification_token, a.db), host="127.0.0.1",
                port=a.port, workers=1, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
