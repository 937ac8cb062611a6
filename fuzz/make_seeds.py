#!/usr/bin/env python3
"""Writes the seed inputs of one fuzz target into a folder, made from tests/testdata (and a few
hand-written requests where testdata has none), in the layout each target reads (see the
comment at the top of fuzz/<target>_fuzz.cpp).

FuzzedDataProvider takes numbers (the mode bytes) from the end of the input and strings from
the front; a string ends at a backslash followed by another byte, which is what `s()` writes.

usage: fuzz/make_seeds.py TARGET OUT_DIR   (run from the source tree's root)
"""
import hashlib
import json
import pathlib
import sys

TESTDATA = pathlib.Path("tests/testdata")
POST = 2  # fuzzed_method(): 0 GET, 1 PUT, anything else POST


def read(path):
    return (TESTDATA / path).read_bytes()


def s(value):
    """One FuzzedDataProvider string: the bytes, then the terminator."""
    value = value.encode() if isinstance(value, str) else value
    return value.replace(b"\\", b"\\\\") + b"\\ "


def frames(*names):
    return b"\0".join(read(n).strip() if "/" in n else n.encode() for n in names)


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def pb_field(number, value):
    """A protobuf field: varint for ints, length-delimited for bytes (pbbp2.proto's types)."""
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def pb_frame(service, method, headers, payload=None, seq_id=1, log_id=2):
    out = pb_field(1, seq_id) + pb_field(2, log_id) + pb_field(3, service) + pb_field(4, method)
    for key, value in headers:
        out += pb_field(5, pb_field(1, key.encode()) + pb_field(2, value.encode()))
    if payload is not None:
        out += pb_field(8, payload)
    return out


def event_headers(message_id, total, seq):
    return [("type", "event"), ("message_id", message_id), ("sum", str(total)), ("seq", str(seq))]


def record(kind, data=b""):
    """One record of feishu_longconn_fuzz.cpp: kind, 16-bit length, bytes."""
    return bytes([kind]) + len(data).to_bytes(2, "big") + data


def files(folder, pattern="*.json"):
    return sorted(p.relative_to(TESTDATA).as_posix() for p in (TESTDATA / folder).glob(pattern))


EVENT = {
    "id": "01JD0000000000000000000000", "platform": "feishu", "bot": "feishu",
    "platform_event_id": "f7984f25108f8137722bb63cee927e66", "time": "2026-11-28T12:00:00.123Z",
    "chat": {"id": "oc_1", "type": "group", "guild_id": None},
    "sender": {"id": "ou_1", "name": "Ann", "is_bot": False},
    "message": {"id": "om_1", "text": "hi @all", "mentions_bot": True,
                "segments": [{"type": "text", "text": "hi "}, {"type": "mention", "user_id": "all"},
                             {"type": "image", "url": "feishu:img_1"}]},
    "reply_context": "",
}

DISCORD_COMMAND = {
    "application_id": "123456789012345678", "id": "1100000000000000002", "token": "aW50ZXJhY3Rpb24",
    "type": 2, "channel_id": "1100000000000000003", "guild_id": "1100000000000000004",
    "member": {"user": {"id": "80351110224678912", "username": "nelly"}},
    "data": {"id": "1100000000000000005", "name": "echo", "type": 1,
             "options": [{"name": "text", "type": 3, "value": "hello"},
                         {"name": "sub", "type": 1, "options": [{"name": "n", "type": 4, "value": 3}]}]},
    "version": 1,
}

WECOM_APP_MESSAGE = (b"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
                     b"<FromUserName><![CDATA[zhangsan]]></FromUserName><CreateTime>1409659813</CreateTime>"
                     b"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content>"
                     b"<MsgId>4561255354251345929</MsgId><AgentID>1000002</AgentID></xml>")

HTTP_REQUESTS = [
    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
    b"POST /webhook/feishu HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    b"Content-Length: 13\r\n\r\n{\"type\":\"x\"}\nGET /readyz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"GET /webhook/wecom?msg_signature=5c45&timestamp=1409659589&nonce=263014780&echostr=P9n%2B%3D"
    b" HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /api/v1/sandbox/messages HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n",
    b"GET /api/v1/log?bot=a&q=%E4%BD%A0&after=3&limit=10 HTTP/1.0\r\nHost: a\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
]


def seeds(target):
    if target == "event_json":
        yield json.dumps(EVENT).encode()
        yield json.dumps({"bot": "qq", "chat_id": "c", "chat_type": "group", "reply_to": "m",
                          "segments": [{"type": "text", "text": "x"}], "idempotency_key": "k"}).encode()
    elif target == "feishu_webhook":
        for name in files("feishu", "message_*.json") + ["feishu/url_verification.json"]:
            yield read(name) + bytes([2])                                  # encrypted and signed
            yield s("1700000000") + s("nonce") + s("") + read(name) + bytes([POST, 1])  # plain
        for vector in json.loads(read("feishu/crypto_vectors.json"))["decrypt"]:
            body = json.dumps({"encrypt": vector["encrypt"]})
            yield s("1700000000") + s("nonce") + s("00" * 32) + body.encode() + bytes([POST, 0])
    elif target == "wecom_webhook":
        yield read("wecom/group_message.xml") + bytes([0, 1])
        yield read("wecom/group_single_message.xml") + bytes([0, 1])
        yield read("wecom/group_event.xml") + bytes([0, 1])
        yield read("wecom/aibot_message.json") + bytes([2, 1])
        yield WECOM_APP_MESSAGE + bytes([1, 1])
        yield b"1616140317555161061" + bytes([1, 2])
        official = json.loads(read("wecom/official_vectors.json"))
        m, v = official["message"], official["url_verification"]
        query = f"msg_signature={m['msg_signature']}&timestamp={m['timestamp']}&nonce={m['nonce']}"
        body = f"<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[{m['encrypt']}]]></Encrypt></xml>"
        yield s(query) + body.encode() + bytes([POST, 1, 0])
        query = (f"msg_signature={v['msg_signature']}&timestamp={v['timestamp']}&nonce={v['nonce']}"
                 f"&echostr={v['echostr_query']}")
        yield s(query) + bytes([0, 1, 0])
        for name in ("wecom/billion_laughs.xml", "wecom/external_entity.xml", "wecom/not_wecom.xml"):
            yield read(name) + bytes([0, 1])
    elif target == "qq_webhook":
        vectors = json.loads(read("qq/webhook_vectors.json"))
        for name in ("callback_validation", "event_signature"):
            yield vectors[name]["body"].encode() + bytes([1])
        for name in files("qq"):
            if name != "qq/webhook_vectors.json":
                yield read(name) + bytes([1])
        v = vectors["event_signature"]
        yield s(v["signature_hex"]) + s(v["timestamp"]) + s("") + v["body"].encode() + bytes([POST, 0])
    elif target == "discord_interactions":
        v = json.loads(read("discord/interaction_vectors.json"))["seed01_ping"]
        yield v["body"].encode() + bytes([1])
        yield json.dumps(DISCORD_COMMAND).encode() + bytes([1])
        yield json.dumps(dict(DISCORD_COMMAND, type=3)).encode() + bytes([1])
        yield s(v["signature_hex"]) + s(v["timestamp"]) + v["body"].encode() + bytes([POST, 0])
    elif target == "discord_gateway":
        messages = [n for n in files("discord") if n.startswith("discord/message_create")]
        yield b"\0" + frames("discord/hello.json", "discord/ready.json", *messages, "H",
                             "discord/heartbeat_ack.json", "discord/reconnect.json",
                             "discord/hello.json", "discord/resumed.json")
        yield b"\1" + frames("discord/hello.json", "discord/resumed.json", "discord/invalid_session.json",
                             "discord/hello.json", "discord/invalid_session_resumable.json", "H", "H")
        yield b"\0" + frames("discord/hello.json", "discord/ready.json") + b"\0C\x0f\xa4"  # 4004
    elif target == "qq_gateway":
        messages = [n for n in files("qq") if n.endswith("_create.json") or n.endswith("_v3.json")]
        yield b"\0" + frames("qq/hello.json", "qq/ready.json", *messages, "H", "qq/heartbeat_ack.json",
                             "qq/reconnect.json", "qq/hello.json", "qq/resumed.json")
        yield b"\1" + frames("qq/hello.json", "qq/resumed.json", "qq/invalid_session.json",
                             "qq/hello.json", "qq/invalid_session_resumable.json", "H", "H")
        yield b"\0" + frames("qq/hello.json", "qq/ready.json") + b"\0C\x0f\xa4"
    elif target == "feishu_longconn":
        event = read("feishu/message_p2p.json")
        half = len(event) // 2
        yield (record(0, pb_frame(7, 0, [("type", "pong")], b'{"PingInterval":5}'))
               + record(1) + record(0, pb_frame(7, 1, event_headers("m1", 1, 0), event))
               + record(0, pb_frame(7, 1, event_headers("m2", 2, 0), event[:half]))
               + record(3) + record(0, pb_frame(7, 1, event_headers("m2", 2, 0), event[:half]))
               + record(0, pb_frame(7, 1, event_headers("m2", 2, 1), event[half:]))
               + record(1) + record(1) + record(2, b"\x03\xe8"))
    elif target == "wecom_aibot_longconn":
        def answer(req_id, errcode=0):
            return json.dumps({"headers": {"req_id": req_id}, "errcode": errcode,
                               "errmsg": "ok"}).encode()

        def callback(cmd, req_id, body):
            return json.dumps({"cmd": cmd, "headers": {"req_id": req_id}, "body": body}).encode()

        text = {"msgid": "m1", "aibotid": "aibFuzz", "chattype": "group", "chatid": "wrkC",
                "from": {"userid": "lisi"}, "create_time": 1700000000, "msgtype": "text",
                "text": {"content": "@RobotA hi"}}
        mixed = dict(text, msgid="m2", msgtype="mixed", mixed={"msg_item": [
            {"msgtype": "text", "text": {"content": "look"}},
            {"msgtype": "image", "image": {"url": "https://x/y", "aeskey": "k"}}]})
        kicked = {"msgtype": "event", "event": {"eventtype": "disconnected_event"}}
        yield b"\0".join([answer("aibot_subscribe_1_fuzz"), callback("aibot_msg_callback", "c1", text),
                          callback("aibot_msg_callback", "c2", mixed), b"H",
                          answer("ping_2_fuzz"), b"H", b"H", b"H", answer("aibot_subscribe_5_fuzz"),
                          answer("aibot_send_msg_9_fuzz", 45009), b"C\x03\xe8",
                          callback("aibot_event_callback", "c3", kicked)])
        yield b"\0".join([answer("aibot_subscribe_1_fuzz", 853000)])
    elif target == "config":
        yield pathlib.Path("examples/botgate.toml").read_bytes()
        yield b'[server]\nlisten = "127.0.0.1:8080"\n[[bot]]\nname = "w"\nplatform = "wecom"\n' \
              b'webhook_url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"\n' \
              b'[[rule]]\nbot = "w"\nmatch = "^hello"\nreply = "hi {user}"\n'
    elif target == "http_request":
        for request in HTTP_REQUESTS:
            yield b"\0" + request
            yield b"\x07" + request
    elif target == "api_request":
        body = json.dumps({"chat_id": "c1", "text": "hi", "user": "u1", "platform": "qq",
                           "chat_type": "group"}).encode()
        yield (s("sandbox/messages") + s("Bearer fuzz-api-token") + s("application/json") + body
               + bytes([POST]))
        yield s("log?bot=a&chat=b&q=%20x&after=5&limit=20") + s("Bearer fuzz-api-token") + bytes([0])
        for stream_body in ({"bot": "b", "chat_id": "c", "stream": True, "markdown": "**a"},
                            {"append": "more", "finish": True}, {"text": "all", "finish": False}):
            yield (s("messages/42") + s("Bearer fuzz-api-token") + s("application/json")
                   + json.dumps(stream_body).encode() + bytes([POST]))
    else:
        sys.exit(f"make_seeds.py: no seeds for {target}")


def main():
    target, out = sys.argv[1], pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for seed in seeds(target):
        (out / ("seed-" + hashlib.sha1(seed).hexdigest()[:16])).write_bytes(seed)


main()
