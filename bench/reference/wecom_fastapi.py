#!/usr/bin/python3
"""The reference WeCom callback handler, written the way WeCom's guides show it (the
WXBizMsgCrypt Python sample) on FastAPI + uvicorn (one worker): msg_signature = SHA-1 of the
sorted token, timestamp, nonce and Encrypt; AES-256-CBC with pycryptodome (key =
base64(EncodingAESKey + "="), IV = its first 16 bytes), the 32-byte PKCS#7 padding, the length
prefix and the receive id; the XML envelope and the message parsed with ElementTree.

With `--no-db` it is the sample's handler as the guide shows it: nothing is stored and no MsgId
is remembered; it counts the messages that reached it (GET /stats: {"handled": N}), so that the
benchmark can see it did the work. With `--db PATH`, to do what botgate does for each event, it
also keeps the MsgIds it has seen in memory (dedup) and inserts each new message into SQLite
(WAL, synchronous=NORMAL, a commit per event), like botgate's durable inbox, before answering
200.

    wecom_fastapi.py --port 8000 --token T --encoding-aes-key K --receive-id "" --db /tmp/r.db
    wecom_fastapi.py --port 8000 --token T --encoding-aes-key K --receive-id CORPID --no-db
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import socket
import sqlite3
import struct
import time
import xml.etree.ElementTree as ET

import uvicorn
try:
    from Crypto.Cipher import AES
except ImportError:  # Debian's python3-pycryptodome installs it as Cryptodome
    from Cryptodome.Cipher import AES
from fastapi import FastAPI, Request, Response


class Prpcrypt:
    """As in WXBizMsgCrypt.py (WeCom's Python sample), with pycryptodome."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.mode = AES.MODE_CBC

    def decrypt(self, text: str, receiveid: str) -> tuple[int, bytes | None]:
        try:
            cryptor = AES.new(self.key, self.mode, self.key[:16])
            plain_text = cryptor.decrypt(base64.b64decode(text))
        except Exception:  # noqa: BLE001 - the sample's style
            return -40007, None
        try:
            pad = plain_text[-1]
            content = plain_text[16:-pad]
            xml_len = socket.ntohl(struct.unpack("I", content[:4])[0])
            xml_content = content[4: xml_len + 4]
            from_receiveid = content[xml_len + 4:]
        except Exception:  # noqa: BLE001
            return -40008, None
        if from_receiveid.decode("utf8") != receiveid:
            return -40005, None
        return 0, xml_content


def sha1_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    sortlist = [token, timestamp, nonce, encrypt]
    sortlist.sort()
    sha = hashlib.sha1()
    sha.update("".join(sortlist).encode())
    return sha.hexdigest()


class Inbox:
    """What botgate does besides the sample's handler: the MsgIds seen (dedup) and one SQLite
    insert and commit per new message."""

    def __init__(self, db_path: str) -> None:
        self.seen: set[str] = set()
        self.db = sqlite3.connect(db_path, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS inbox (msg_id TEXT PRIMARY KEY, "
                        "msg_type TEXT, body TEXT, received_at REAL)")

    def store(self, msg: ET.Element, plain: bytes) -> None:
        msg_id = msg.findtext("MsgId") or ""
        if msg_id in self.seen:
            return
        self.seen.add(msg_id)
        self.db.execute("INSERT OR IGNORE INTO inbox VALUES (?, ?, ?, ?)",
                        (msg_id, msg.findtext("MsgType") or "", plain.decode("utf8"),
                         time.time()))
        self.db.commit()


def make_app(token: str, encoding_aes_key: str, receive_id: str,
             db_path: str | None) -> FastAPI:
    app = FastAPI()
    pc = Prpcrypt(base64.b64decode(encoding_aes_key + "="))
    inbox = Inbox(db_path) if db_path else None
    handled = 0

    @app.get("/readyz")
    async def readyz() -> dict:
        return {"ok": True}

    @app.get("/stats")
    async def stats() -> dict:
        return {"handled": handled}

    @app.get("/webhook/wecom")
    async def verify_url(msg_signature: str, timestamp: str, nonce: str,
                         echostr: str) -> Response:
        if sha1_signature(token, timestamp, nonce, echostr) != msg_signature:
            return Response(status_code=401)
        ret, plain = pc.decrypt(echostr, receive_id)
        if ret != 0 or plain is None:
            return Response(status_code=400)
        return Response(plain, media_type="text/plain")

    @app.post("/webhook/wecom")
    async def callback(request: Request, msg_signature: str, timestamp: str,
                       nonce: str) -> Response:
        body = await request.body()
        try:
            encrypt = ET.fromstring(body).find("Encrypt").text
        except Exception:  # noqa: BLE001
            return Response(status_code=400)
        if sha1_signature(token, timestamp, nonce, encrypt) != msg_signature:
            return Response(status_code=401)
        ret, plain = pc.decrypt(encrypt, receive_id)
        if ret != 0 or plain is None:
            return Response(status_code=400)
        msg = ET.fromstring(plain)
        nonlocal handled
        handled += 1
        if inbox is not None:
            inbox.store(msg, plain)
        return Response(status_code=200)

    return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--encoding-aes-key", required=True)
    p.add_argument("--receive-id", default="")
    store = p.add_mutually_exclusive_group(required=True)
    store.add_argument("--db", help="the inbox database (dedup and a commit per message)")
    store.add_argument("--no-db", action="store_true", help="the sample's handler alone")
    a = p.parse_args()
    uvicorn.run(make_app(a.token, a.encoding_aes_key, a.receive_id, a.db), host="127.0.0.1",
                port=a.port, workers=1, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
