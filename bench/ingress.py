"""Ingress: encrypted or signed callbacks through wrk, for botgate, the reference FastAPI and
Node SDK handlers and nginx.

Each platform's callbacks are generated once (distinct events: event_id / MsgId / QQ's event and
message ids), written to a file the wrk Lua script reads, and replayed against the servers in
turn, each pinned to the server core with wrk on the other one.
"""

from __future__ import annotations

import common  # noqa: F401 - first: puts tests/ and tests/integration/ on sys.path

import getpass
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import json

import feishu_crypto
import wecom_crypto
from botgate_harness import WECOM_AES_KEY, WECOM_TOKEN, qq_bot, qq_seed
from fakes.feishu_fake import FeishuFake
from fakes.qq_fake import QqFake
from fakes.wecom_fake import WecomFake

from common import (BENCH, PYTHON, SERVER_CORE, Interference, Server, free_port, mib, pinned,
                    run_wrk, shown, start_botgate, wait_http, wrk_command)

FEISHU_ENCRYPT_KEY = "bench-encrypt-key"
FEISHU_TOKEN = "bench-verification"
FEISHU_APP_ID = "cli_bench"
FEISHU_APP_SECRET = "bench-secret"
WECOM_WEBHOOK_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=bench-key"
QQ_APP_ID = "102000042"
# 15 characters: shorter than 16, so the seed holds it twice and a third time cut (the rule that
# a single padding gets wrong).
QQ_APP_SECRET = "bench-qq-secret"
QQ_USERS = 1000  # distinct senders (C2C user_openid / group member_openid)
QQ_GROUPS = 100


# ---------------------------------------------------------------------- callbacks


def write_feishu_callbacks(path: Path, count: int, start: int = 0) -> None:
    """`count` im.message.receive_v1 callbacks, encrypted and signed, one per line:
    timestamp TAB nonce TAB signature TAB body (bench/feishu_callbacks.lua)."""
    with path.open("w") as out:
        timestamp = str(int(time.time()))
        for i in range(start, start + count):
            event = feishu_crypto.message_event(text=f"hello {i}", token=FEISHU_TOKEN,
                                                app_id=FEISHU_APP_ID)
            body = feishu_crypto.wrap(event, FEISHU_ENCRYPT_KEY)
            nonce = f"n{i}"
            signature = feishu_crypto.sign(timestamp, nonce, FEISHU_ENCRYPT_KEY, body)
            out.write(f"{timestamp}\t{nonce}\t{signature}\t{body.decode()}\n")


def write_wecom_callbacks(path: Path, count: int) -> None:
    """`count` group-bot text callbacks (distinct MsgIds), encrypted, msg_signature in the query,
    one per line: query TAB body (bench/wecom_callbacks.lua)."""
    with path.open("w") as out:
        timestamp = str(int(time.time()))
        for i in range(count):
            xml = wecom_crypto.group_message_xml(text=f"hello {i}", webhook_url=WECOM_WEBHOOK_URL,
                                                 msg_id=f"CAIQbench{i:012d}")
            enc = wecom_crypto.encrypt(WECOM_AES_KEY, xml, "")
            query = wecom_crypto.signed_query(WECOM_TOKEN, enc, timestamp=timestamp,
                                              nonce=str(1_000_000_000 + i))
            out.write(f"{query}\t{wecom_crypto.envelope_xml(enc).decode()}\n")


def qq_openid(kind: str, n: int) -> str:
    """A 32-hex-digit openid, as QQ's (per bot, opaque)."""
    return f"{kind}{n:0{32 - len(kind)}X}"


def qq_dispatch(i: int) -> dict[str, Any]:
    """Event `i`: alternately a C2C message and a group @-message (notes 5.1, 5.2; the envelope
    of a webhook push: op 0, the event id at the top level, no "s"), from one of QQ_USERS users
    and, for a group, in one of QQ_GROUPS groups."""
    user = qq_openid("E4F4", (i * 7919) % QQ_USERS)
    stamp = "2026-11-29T21:08:00+08:00"
    msg_id = f"ROBOT1.0_bench.{i:012d}.qLwTz8kAyR3f0n2!"
    if i % 2 == 0:
        t = "C2C_MESSAGE_CREATE"
        d: dict[str, Any] = {
            "author": {"id": user, "user_openid": user, "union_openid": user},
            "content": f"你好 hello {i}", "id": msg_id, "timestamp": stamp,
            "message_scene": {"source": "default"}, "message_type": 0}
    else:
        t = "GROUP_AT_MESSAGE_CREATE"
        group = qq_openid("82B3", (i // 2) % QQ_GROUPS)
        d = {"author": {"id": user, "member_openid": user, "union_openid": user},
             "content": f" 你好 hello {i}", "id": msg_id, "timestamp": stamp,
             "group_id": group, "group_openid": group, "message_scene": {"source": "default"},
             "message_type": 0}
    return {"op": 0, "id": f"{t}:bench{i:040x}", "d": d, "t": t}


def write_qq_callbacks(path: Path, count: int) -> None:
    """`count` signed QQ webhook pushes (distinct event and message ids), one per line:
    timestamp TAB signature TAB body (bench/qq_callbacks.lua). Signed as QQ signs them (notes
    3.2, 3.4): X-Signature-Ed25519 = hex(Ed25519(seed, X-Signature-Timestamp || raw body)), the
    seed the AppSecret cycled to 32 bytes. One timestamp, now: botgate refuses a push signed
    more than 600 s from its clock, and the servers run within a minute or two of it."""
    from nacl.signing import SigningKey  # python3-nacl (make bench); signs 3x faster than OpenSSL's

    key = SigningKey(qq_seed(QQ_APP_SECRET))
    with path.open("w") as out:
        timestamp = str(int(time.time()))
        prefix = timestamp.encode()
        for i in range(count):
            body = json.dumps(qq_dispatch(i), ensure_ascii=False, separators=(",", ":"))
            signature = key.sign(prefix + body.encode()).signature.hex()
            out.write(f"{timestamp}\t{signature}\t{body}\n")


# ---------------------------------------------------------------------- servers


@dataclass
class Running:
    """A started server: the process, the callback URL, what to stop afterwards."""

    server: Server
    url: str
    cleanup: Callable[[], None]
    what: str  # one line for the table's note
    db: Optional[Path] = None  # a reference's inbox: how many events it stored is checked

    @property
    def command(self) -> str:
        """The server's command line as the table shows it (temp dir shortened)."""
        line = shown(pinned(SERVER_CORE) + self.server.argv)
        return line.replace(str(self.server.log.parent.parent) + "/", "$TMP/")


def start_botgate_with(ctx: Any, work: Path, fake: Any, bot: dict[str, Any]) -> Running:
    """botgate with one bot against its (started) fake; the fake stops with it."""
    try:
        server, port = start_botgate(ctx.binary, work, [bot], echo=False, name=f"bg-{bot['name']}")
    except Exception:
        fake.stop()
        raise
    return Running(server, f"http://127.0.0.1:{port}/webhook/{bot['name']}",
                   lambda: (server.stop(), fake.stop()), "botgate, threads=1, SQLite inbox")


def start_botgate_feishu(ctx: Any, work: Path) -> Running:
    fake = FeishuFake(app_id=FEISHU_APP_ID, app_secret=FEISHU_APP_SECRET).start()
    return start_botgate_with(ctx, work, fake, {
        "name": "feishu", "platform": "feishu", "api_base": fake.base_url,
        "app_id": FEISHU_APP_ID, "app_secret": FEISHU_APP_SECRET,
        "encrypt_key": FEISHU_ENCRYPT_KEY, "verification_token": FEISHU_TOKEN})


def start_botgate_wecom(ctx: Any, work: Path) -> Running:
    fake = WecomFake(corp_id="ww5823bf96d3bd56c7", corp_secret="app-secret-123",
                     agent_id=1000002).start()
    return start_botgate_with(ctx, work, fake, {
        "name": "wecom", "platform": "wecom", "kind": "group", "api_base": fake.base_url,
        "token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES_KEY})


def start_botgate_qq(ctx: Any, work: Path) -> Running:
    # The fake serves the access token (botgate fetches one at start); in webhook mode no
    # gateway connection is opened.
    fake = QqFake(app_id=QQ_APP_ID, app_secret=QQ_APP_SECRET).start()
    return start_botgate_with(ctx, work, fake, qq_bot(fake, mode="webhook"))


BOTGATE_STARTERS = {"feishu": start_botgate_feishu, "wecom": start_botgate_wecom,
                    "qq": start_botgate_qq}


def start_reference(kind: str, interpreter: str, script: Path, platform: str, work: Path,
                    what: str) -> Running:
    """A reference handler (`script` run by `interpreter`), given the platform's credentials and
    an inbox database of its own; it answers GET /readyz once it listens."""
    port = free_port()
    d = work / f"{kind}-{platform}"
    d.mkdir(parents=True, exist_ok=True)
    if platform == "feishu":
        args = ["--encrypt-key", FEISHU_ENCRYPT_KEY, "--verification-token", FEISHU_TOKEN]
    elif platform == "qq":
        args = ["--app-secret", QQ_APP_SECRET]
    else:
        args = ["--token", WECOM_TOKEN, "--encoding-aes-key", WECOM_AES_KEY, "--receive-id", ""]
    server = Server(f"{kind}-{platform}", [interpreter, str(script), "--port", str(port), *args,
                                           "--db", str(d / "ref.db")], d / "server.log").start()
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", 30, server.proc)
    except Exception:
        server.stop()
        raise RuntimeError(f"{script.name} did not start:\n{server.log_tail()}")
    return Running(server, f"http://127.0.0.1:{port}/webhook/{platform}", server.stop, what,
                   d / "ref.db")


def start_fastapi(platform: str, work: Path) -> Running:
    return start_reference("fastapi", PYTHON, BENCH / "reference" / f"{platform}_fastapi.py",
                           platform, work,
                           "FastAPI+uvicorn (uvloop, httptools), 1 worker, SQLite inbox")


NODE_REFERENCES = BENCH / "reference" / "node"
NODE_SQLITE_MODULE = (NODE_REFERENCES / "node_modules" / "better-sqlite3" / "build" / "Release"
                      / "better_sqlite3.node")


def start_node(platform: str, work: Path) -> Running:
    """The official Node SDK's handler (bench/reference/node), installed by `make bench`."""
    if platform == "qq":
        # The official Node SDK (tencent-connect/bot-node-sdk) speaks the WebSocket gateway and
        # the OpenAPI only: it has no webhook handler or signature check to measure.
        raise RuntimeError("no official QQ Node SDK verifies webhooks: no Node reference for qq")
    node = shutil.which("node")
    if node is None or not NODE_SQLITE_MODULE.exists():
        raise RuntimeError("the Node references are not installed: `make bench` installs them "
                           "(npm install in bench/reference/node)")
    sdk = "@larksuiteoapi/node-sdk" if platform == "feishu" else "@wecom/crypto"
    return start_reference("node", node, NODE_REFERENCES / f"{platform}_node.mjs", platform, work,
                           f"Node.js {sdk}, node:http, better-sqlite3 inbox")


def stored_events(db: Path) -> int:
    """How many events a reference handler put into its inbox table."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM inbox").fetchone()[0]
    finally:
        con.close()


NGINX_CONF = """\
{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "{{}}"; }}
    }}
}}
"""


def start_nginx(work: Path, platform: str) -> Running:
    port = free_port()
    prefix = work / f"nginx-{platform}"
    prefix.mkdir(parents=True, exist_ok=True)
    # As root nginx would hand the worker to `nobody`; keep it as the current user.
    user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, prefix=prefix, port=port))
    server = Server(f"nginx-{platform}", ["nginx", "-p", str(prefix), "-c", str(conf),
                                          "-e", str(prefix / "error.log")],
                    prefix / "stderr.log").start()
    try:
        wait_http(f"http://127.0.0.1:{port}/", 15, server.proc)
    except Exception:
        server.stop()
        raise RuntimeError(f"nginx did not start:\n{server.log_tail()}")
    return Running(server, f"http://127.0.0.1:{port}/webhook/{platform}", server.stop,
                   "nginx 1 worker, `return 200` (no crypto, no store)")


# ---------------------------------------------------------------------- the benchmark


def measure(label: str, running: Running, script: Path, data: Path, ctx: Any,
            n_events: int, script_args: tuple[str, ...] = ()) -> dict[str, Any]:
    try:
        idle = running.server.rss_kib()
        command = wrk_command(running.url, script, data, duration=ctx.duration,
                              connections=ctx.connections, extra=script_args)
        cpu0 = running.server.cpu_seconds()
        noise = Interference()
        figures = run_wrk(command)
        other = noise.other_load(running.server.cpu_seconds() - cpu0)
        # Over wrk's measured duration (its start-up, reading the callbacks, is not in it).
        busy = figures["requests"] / figures["rps"] if figures["rps"] else ctx.duration
        cpu = (running.server.cpu_seconds() - cpu0) / max(busy, 1e-6)
        alive = running.server.alive()
        after = running.server.rss_kib()
    finally:
        running.cleanup()
    stored = stored_events(running.db) if running.db is not None else None
    row = {
        "server": label,
        "rps": round(figures["rps"]),
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "requests": int(figures["requests"]),
        "socket_errors": int(figures["errors"]),
        "non2xx": int(figures["non2xx"]),
        "errors": int(figures["errors"] + figures["non2xx"]),
        "rss_idle_mib": mib(idle),
        "rss_after_mib": mib(after),
        "cpu_pct": round(100 * cpu),
        "other_load_pct": {c: round(100 * v) for c, v in other.items()},
        "crashed": not alive,
        "stored": stored,
        "ready_ms": running.server.ready_ms,
        "repeats": max(0, int(figures["requests"]) - n_events),
        "what": running.what,
        "command": running.command + "  +  " + shown(command, {str(data): data.name,
                                                              running.url: "URL"}),
    }
    return row


def bench_platform(platform: str, ctx: Any, work: Path, log: Callable[[str], None],
                   ) -> list[dict[str, Any]]:
    data = work / f"{platform}_callbacks.tsv"
    t0 = time.monotonic()
    writers = {"feishu": write_feishu_callbacks, "wecom": write_wecom_callbacks,
               "qq": write_qq_callbacks}
    signed_at = time.time()  # QQ's: the X-Signature-Timestamp of every callback
    writers[platform](data, ctx.events)
    # Written out before any server starts: the kernel's writeback of these hundreds of MB
    # otherwise runs during the first server's run (botgate's), and its fsyncs (the WAL's, the
    # checkpoints') queue behind it on the disk: stalls of 25-166 ms, which were its p99.
    os.sync()
    log(f"{platform}: {ctx.events} distinct callbacks written in {time.monotonic() - t0:.1f}s")
    script = BENCH / f"{platform}_callbacks.lua"
    script_args = (QQ_APP_ID,) if platform == "qq" else ()
    starters: list[tuple[str, Callable[[], Running]]] = [
        ("botgate", lambda: BOTGATE_STARTERS[platform](ctx, work)),
        ("fastapi", lambda: start_fastapi(platform, work)),
        ("nginx", lambda: start_nginx(work, platform)),
    ]
    if platform != "qq":  # see start_node
        starters.insert(2, ("node", lambda: start_node(platform, work)))
    rows = []
    for label, start in starters:
        if label not in ctx.servers:
            continue
        try:
            running = start()
            if platform == "qq":  # signed timestamps: botgate refuses those 600 s off its clock
                log(f"qq {label}: the callbacks were signed {time.time() - signed_at:.0f} s ago")
            row = measure(label, running, script, data, ctx, ctx.events, script_args)
        except Exception as e:  # noqa: BLE001 - one broken server must not hide the others
            row = {"server": label, "failed": str(e)[-500:]}
        row["benchmark"] = f"{platform} ingress"
        log(f"{platform} {label}: {row}")
        rows.append(row)
    return rows
