#!/usr/bin/env python3
"""A bot in standard-library Python, on every platform botgate serves. botgate POSTs each event
here (`[forward] url = "http://127.0.0.1:9000/"`, `secret = "${FORWARD_SECRET}"`), signed with
the shared secret; what this answers is sent as the reply, where the message came from.

    FORWARD_SECRET=... PORT=9000 python3 examples/python_bot.py
"""
import hashlib, hmac, json, os, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ["FORWARD_SECRET"].encode()


def signed_by_botgate(header, body):  # X-Botgate-Signature: t=<unix>,v1=<HMAC-SHA256 hex>
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    t = fields.get("t", "")
    mac = hmac.new(SECRET, t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return t.isdigit() and abs(time.time() - int(t)) < 300 and hmac.compare_digest(mac, fields.get("v1", ""))


def answer(event):  # your logic: the event JSON in, {"reply": ...} (or {} for none) out
    message, chat = event.get("message") or {}, event["chat"]
    if message.get("text") and (message.get("mentions_bot") or chat["type"] == "private"):
        return {"reply": f"You said: {message['text']} ({event['platform']})"}
    return {}


class Bot(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not signed_by_botgate(self.headers.get("X-Botgate-Signature", ""), body):
            self.send_response(401), self.send_header("Content-Length", "0"), self.end_headers()
            return
        out = json.dumps(answer(json.loads(body))).encode()
        self.send_response(200), self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out))), self.end_headers(), self.wfile.write(out)


ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "9000"))), Bot).serve_forever()
