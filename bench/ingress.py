"""Ingress: encrypted or signed callbacks through wrk, for botgate, the reference FastAPI and
Node SDK handlers (each as its guide or README shows it, and with the same durable work as
botgate) and nginx.

Each platform's callbacks are generated once (distinct events: event_id / MsgId / QQ's event and
message ids, from thousands of users in hundreds of chats: bench/callers.py), written to a file
the wrk Lua script reads, and replayed against each server in turn, each pinned to the server
core with wrk on the other one.
"""

from __future__ import annotations

import common  # noqa: F401 - first: puts tests/ and tests/integration/ on sys.path

import getpass
import json
import os
import re
import shutil
import sqlite3
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import feishu_crypto
import wecom_crypto
from botgate_harness import WECOM_AES_KEY, WECOM_TOKEN, qq_bot, qq_seed
from fakes.feishu_fake import FeishuFake
from fakes.qq_fake import QqFake
from fakes.wecom_fake import WecomFake

from callers import Population
from common import (BENCH, PYTHON, SERVER_CORE, Interference, Server, free_port, mib, pinned,
                    run_wrk, shown, start_botgate, wait_http, wrk_command)

FEISHU_ENCRYPT_KEY = "bench-encrypt-key"
FEISHU_TOKEN = "bench-verification"
FEISHU_APP_ID = "cli_bench"
FEISHU_APP_SECRET = "bench-secret"
FEISHU_BOT_OPEN_ID = "ou_bot0000000000000000000000000000"  # the fake's default
WECOM_WEBHOOK_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=bench-key"
WECOM_CORP_ID = "ww5823bf96d3bd56c7"
WECOM_CORP_SECRET = "app-secret-123"
WECOM_AGENT_ID = 1000002
QQ_APP_ID = "102000042"
# 15 characters: shorter than 16, so the seed holds it twice and a third time cut (the rule that
# a single padding gets wrong).
QQ_APP_SECRET = "bench-qq-secret"
# botgate refuses a QQ push signed further than this from its clock (kQqTimestampWindow).
QQ_TIMESTAMP_WINDOW_S = 600


# ---------------------------------------------------------------------- callbacks


def write_feishu_callbacks(path: Path, count: int, start: int = 0) -> None:
    """`count` im.message.receive_v1 callbacks, encrypted and signed, one per line:
    timestamp TAB nonce TAB signature TAB body (bench/feishu_callbacks.lua). Each from one of
    the population's users, half in a group chat (the bot @-mentioned, as Feishu pushes a group
    message to a bot), half in the user's p2p chat with the bot."""
    people = Population(seed_offset=start)
    with path.open("w") as out:
        timestamp = str(int(time.time()))
        for i in range(start, start + count):
            caller = people.next()
            sender = people.feishu_open_id(caller.user)
            if people.coin():
                event = feishu_crypto.message_event(
                    text=f"@_user_1 hello {i}", token=FEISHU_TOKEN, app_id=FEISHU_APP_ID,
                    chat_type="group", chat_id=people.feishu_group_chat(caller.chat),
                    sender_open_id=sender,
                    mentions=[feishu_crypto.bot_mention(FEISHU_BOT_OPEN_ID)])
            else:
                event = feishu_crypto.message_event(
                    text=f"hello {i}", token=FEISHU_TOKEN, app_id=FEISHU_APP_ID,
                    chat_type="p2p", chat_id=people.feishu_p2p_chat(caller.user),
                    sender_open_id=sender)
            body = feishu_crypto.wrap(event, FEISHU_ENCRYPT_KEY)
            nonce = f"n{i}"
            signature = feishu_crypto.sign(timestamp, nonce, FEISHU_ENCRYPT_KEY, body)
            out.write(f"{timestamp}\t{nonce}\t{signature}\t{body.decode()}\n")


def write_wecom_callbacks(path: Path, count: int) -> None:
    """`count` group-bot text callbacks (distinct MsgIds), encrypted, msg_signature in the query,
    one per line: query TAB body (bench/wecom_callbacks.lua). Each from one of the population's
    users in one of its group chats, the bot @-mentioned (a group bot gets only those)."""
    people = Population()
    with path.open("w") as out:
        timestamp = str(int(time.time()))
        for i in range(count):
            caller = people.next()
            xml = wecom_crypto.group_message_xml(
                text=f"@bench hello {i}", webhook_url=WECOM_WEBHOOK_URL,
                user_id=people.wecom_user_id(caller.user), name=people.wecom_name(caller.user),
                chat_id=people.wecom_chat_id(caller.chat), msg_id=people.wecom_group_msg_id())
            enc = wecom_crypto.encrypt(WECOM_AES_KEY, xml, "")
            query = wecom_crypto.signed_query(WECOM_TOKEN, enc, timestamp=timestamp,
                                              nonce=str(1_000_000_000 + i))
            out.write(f"{query}\t{wecom_crypto.envelope_xml(enc).decode()}\n")


def write_wecom_app_callbacks(path: Path, count: int) -> None:
    """`count` self-built app text callbacks as WeCom sends them to an app: the envelope
    <xml><ToUserName>corp</ToUserName><AgentID>..</AgentID><Encrypt>..</Encrypt></xml>, the
    message's FromUserName one of the population's users (an app's chat is its user), decimal
    MsgIds, the corp id as the receive id; the same line format as write_wecom_callbacks."""
    people = Population()
    with path.open("w") as out:
        now = int(time.time())
        for i in range(count):
            caller = people.next()
            xml = wecom_crypto.app_message_xml(
                text=f"hello {i}", corp_id=WECOM_CORP_ID, agent_id=WECOM_AGENT_ID,
                from_user=people.wecom_user_id(caller.user), msg_id=people.wecom_app_msg_id(),
                create_time=now)
            enc = wecom_crypto.encrypt(WECOM_AES_KEY, xml, WECOM_CORP_ID)
            query = wecom_crypto.signed_query(WECOM_TOKEN, enc, timestamp=str(now),
                                              nonce=str(1_000_000_000 + i))
            body = wecom_crypto.envelope_xml(enc, to_user=WECOM_CORP_ID,
                                             agent_id=str(WECOM_AGENT_ID))
            out.write(f"{query}\t{body.decode()}\n")


def qq_dispatch(i: int, people: Population) -> dict[str, Any]:
    """Event `i` from one of the population's users: half C2C messages, half group @-messages
    in one of its group chats (notes 5.1, 5.2; the envelope of a webhook push: op 0, the event
    id at the top level, no "s")."""
    caller = people.next()
    user = people.qq_user_openid(caller.user)
    stamp = "2026-11-29T21:08:00+08:00"
    msg_id = f"ROBOT1.0_bench.{i:012d}.qLwTz8kAyR3f0n2!"
    if people.coin():
        t = "C2C_MESSAGE_CREATE"
        d: dict[str, Any] = {
            "author": {"id": user, "user_openid": user, "union_openid": user},
            "content": f"你好 hello {i}", "id": msg_id, "timestamp": stamp,
            "message_scene": {"source": "default"}, "message_type": 0}
    else:
        t = "GROUP_AT_MESSAGE_CREATE"
        group = people.qq_group_openid(caller.chat)
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
    more than QQ_TIMESTAMP_WINDOW_S from its clock, and the servers run within a minute or two
    of it."""
    from nacl.signing import SigningKey  # python3-nacl (make bench); signs 3x faster than OpenSSL's

    key = SigningKey(qq_seed(QQ_APP_SECRET))
    people = Population()
    with path.open("w") as out:
        timestamp = str(int(time.time()))
        prefix = timestamp.encode()
        for i in range(count):
            body = json.dumps(qq_dispatch(i, people), ensure_ascii=False, separators=(",", ":"))
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
    # A reference without an inbox: GET here answers {"handled": N}, the callbacks that reached
    # its handler (verified, decrypted, token checked), read after the run.
    stats_url: Optional[str] = None
    # botgate: its /metrics, read before and after the run for the store's upkeep (what the
    # callbacks in flight waited behind), with the API token it was given.
    metrics_url: Optional[str] = None

    @property
    def command(self) -> str:
        """The server's command line as the table shows it (temp dir shortened)."""
        line = shown(pinned(SERVER_CORE) + self.server.argv)
        return line.replace(str(self.server.log.parent.parent) + "/", "$TMP/")


# The API token botgate is given here, to read its /metrics.
BENCH_API_TOKEN = "bench-api-token-0123456789abcdef"


def start_botgate_with(ctx: Any, work: Path, fake: Any, bot: dict[str, Any]) -> Running:
    """botgate with one bot against its (started) fake; the fake stops with it."""
    try:
        server, port = start_botgate(ctx.binary, work, [bot], echo=False, name=f"bg-{bot['name']}",
                                     api_token=BENCH_API_TOKEN)
    except Exception:
        fake.stop()
        raise
    return Running(server, f"http://127.0.0.1:{port}/webhook/{bot['name']}",
                   lambda: (server.stop(), fake.stop()), "botgate, threads=1, SQLite inbox",
                   metrics_url=f"http://127.0.0.1:{port}/metrics")


def start_botgate_feishu(ctx: Any, work: Path) -> Running:
    fake = FeishuFake(app_id=FEISHU_APP_ID, app_secret=FEISHU_APP_SECRET,
                      bot_open_id=FEISHU_BOT_OPEN_ID).start()
    return start_botgate_with(ctx, work, fake, {
        "name": "feishu", "platform": "feishu", "api_base": fake.base_url,
        "app_id": FEISHU_APP_ID, "app_secret": FEISHU_APP_SECRET,
        "encrypt_key": FEISHU_ENCRYPT_KEY, "verification_token": FEISHU_TOKEN})


def wecom_fake() -> WecomFake:
    return WecomFake(corp_id=WECOM_CORP_ID, corp_secret=WECOM_CORP_SECRET,
                     agent_id=WECOM_AGENT_ID).start()


def start_botgate_wecom(ctx: Any, work: Path) -> Running:
    fake = wecom_fake()
    return start_botgate_with(ctx, work, fake, {
        "name": "wecom", "platform": "wecom", "kind": "group", "api_base": fake.base_url,
        "token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES_KEY})


def start_botgate_wecom_app(ctx: Any, work: Path) -> Running:
    fake = wecom_fake()
    return start_botgate_with(ctx, work, fake, {
        "name": "wecom-app", "platform": "wecom", "kind": "app", "api_base": fake.base_url,
        "corp_id": WECOM_CORP_ID, "corp_secret": WECOM_CORP_SECRET, "agent_id": WECOM_AGENT_ID,
        "token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES_KEY})


def start_botgate_qq(ctx: Any, work: Path) -> Running:
    # The fake serves the access token (botgate fetches one at start); in webhook mode no
    # gateway connection is opened.
    fake = QqFake(app_id=QQ_APP_ID, app_secret=QQ_APP_SECRET).start()
    return start_botgate_with(ctx, work, fake, qq_bot(fake, mode="webhook"))


@dataclass(frozen=True)
class Platform:
    """One kind of callback the ingress part measures."""

    key: str  # --platforms and the table's benchmark name
    script: str  # the wrk Lua script
    reference: str  # the reference handlers' file stem (<reference>_fastapi.py, _node.mjs)
    reference_args: tuple[str, ...]  # the credentials a reference handler is given
    write: Callable[[Path, int], None]
    start_botgate: Callable[[Any, Path], Running]
    # The official Node SDK whose handler bench/reference/node/<reference>_node.mjs runs; None:
    # no Node reference (no SDK verifies this platform's callbacks).
    node_sdk: Optional[str]
    script_args: tuple[str, ...] = ()  # after the callbacks file, for the wrk Lua script
    # botgate refuses callbacks signed further than this from its clock: the harness logs their
    # age as each server starts.
    timestamp_window_s: Optional[int] = None


FEISHU_ARGS = ("--encrypt-key", FEISHU_ENCRYPT_KEY, "--verification-token", FEISHU_TOKEN)
WECOM_ARGS = ("--token", WECOM_TOKEN, "--encoding-aes-key", WECOM_AES_KEY)

PLATFORMS = {p.key: p for p in (
    Platform("feishu", "feishu_callbacks.lua", "feishu", FEISHU_ARGS, write_feishu_callbacks,
             start_botgate_feishu, node_sdk="@larksuiteoapi/node-sdk"),
    # A group bot's callbacks carry no receive id (an empty one); an app's carry the corp id.
    Platform("wecom", "wecom_callbacks.lua", "wecom", (*WECOM_ARGS, "--receive-id", ""),
             write_wecom_callbacks, start_botgate_wecom, node_sdk="@wecom/crypto"),
    Platform("wecom-app", "wecom_callbacks.lua", "wecom",
             (*WECOM_ARGS, "--receive-id", WECOM_CORP_ID), write_wecom_app_callbacks,
             start_botgate_wecom_app, node_sdk="@wecom/crypto"),
    # QQ's docs show the handler in Go only; the official Node SDK (tencent-connect/
    # bot-node-sdk) speaks the WebSocket gateway and the OpenAPI only: no webhook handler or
    # signature check to measure, so no Node reference.
    Platform("qq", "qq_callbacks.lua", "qq", ("--app-secret", QQ_APP_SECRET), write_qq_callbacks,
             start_botgate_qq, node_sdk=None, script_args=(QQ_APP_ID,),
             timestamp_window_s=QQ_TIMESTAMP_WINDOW_S),
)}


def start_reference(kind: str, interpreter: str, script: Path, platform: Platform, work: Path,
                    what: str, durable: bool) -> Running:
    """A reference handler (`script` run by `interpreter`), given the platform's credentials
    and, when `durable`, an inbox database of its own (else `--no-db`: it counts what it
    handled); it answers GET /readyz once it listens."""
    port = free_port()
    name = f"{kind}{'' if durable else '-nodb'}-{platform.key}"
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    store = ["--db", str(d / "ref.db")] if durable else ["--no-db"]
    server = Server(name, [interpreter, str(script), "--port", str(port),
                           *platform.reference_args, *store], d / "server.log").start()
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", 30, server.proc)
    except Exception:
        server.stop()
        raise RuntimeError(f"{script.name} did not start:\n{server.log_tail()}")
    base = f"http://127.0.0.1:{port}"
    return Running(server, f"{base}/webhook/{platform.reference}", server.stop, what,
                   db=d / "ref.db" if durable else None,
                   stats_url=None if durable else f"{base}/stats")


def start_fastapi(platform: Platform, work: Path, durable: bool) -> Running:
    what = ("FastAPI+uvicorn (uvloop, httptools), 1 worker, "
            + ("SQLite inbox" if durable else "as the guide shows it (no store)"))
    return start_reference("fastapi", PYTHON,
                           BENCH / "reference" / f"{platform.reference}_fastapi.py", platform,
                           work, what, durable)


NODE_REFERENCES = BENCH / "reference" / "node"
NODE_SQLITE_MODULE = (NODE_REFERENCES / "node_modules" / "better-sqlite3" / "build" / "Release"
                      / "better_sqlite3.node")


def start_node(platform: Platform, work: Path, durable: bool) -> Running:
    """The official Node SDK's handler (bench/reference/node), installed by `make bench`."""
    if platform.node_sdk is None:  # bench_platform does not ask for one
        raise RuntimeError(f"no official Node SDK verifies {platform.key} callbacks")
    node = shutil.which("node")
    if node is None or not NODE_SQLITE_MODULE.exists():
        raise RuntimeError("the Node references are not installed: `make bench` installs them "
                           "(npm install in bench/reference/node)")
    what = (f"Node.js {platform.node_sdk}, node:http, "
            + ("better-sqlite3 inbox" if durable else "as its README shows it (no store)"))
    return start_reference("node", node, NODE_REFERENCES / f"{platform.reference}_node.mjs",
                           platform, work, what, durable)


def stored_events(db: Path) -> int:
    """How many events a reference handler put into its inbox table."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM inbox").fetchone()[0]
    finally:
        con.close()


UPKEEP_SAMPLE = re.compile(
    r'^botgate_store_upkeep_(total|seconds_total|longest_seconds)\{kind="([a-z_]+)"\} (\S+)$')


def store_upkeep(metrics_url: str) -> dict[str, dict[str, float]]:
    """botgate's store upkeep so far, by kind: {"checkpoint": {"runs", "seconds", "longest"}}."""
    request = urllib.request.Request(metrics_url,
                                     headers={"Authorization": f"Bearer {BENCH_API_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as r:
        text = r.read().decode()
    names = {"total": "runs", "seconds_total": "seconds", "longest_seconds": "longest"}
    upkeep: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if m := UPKEEP_SAMPLE.match(line):
            upkeep.setdefault(m.group(2), {})[names[m.group(1)]] = float(m.group(3))
    return upkeep


def upkeep_during(before: dict[str, dict[str, float]],
                  after: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """The upkeep of a run: runs and seconds between the two readings; the longest run is since
    botgate started (the warm-up's few requests included)."""
    return {kind: {"runs": f["runs"] - before.get(kind, {}).get("runs", 0),
                   "seconds": f["seconds"] - before.get(kind, {}).get("seconds", 0),
                   "longest": f["longest"]}
            for kind, f in after.items()}


def handled_events(stats_url: str) -> int:
    """How many callbacks a reference without an inbox handled, by its own count."""
    with urllib.request.urlopen(stats_url, timeout=10) as r:
        return int(json.loads(r.read())["handled"])


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
    handled = None
    upkeep = None
    try:
        idle = running.server.rss_kib()
        upkeep_before = store_upkeep(running.metrics_url) if running.metrics_url else None
        command = wrk_command(running.url, script, data, duration=ctx.duration,
                              connections=ctx.connections, extra=script_args)
        cpu0 = running.server.cpu_seconds()
        noise = Interference()
        figures = run_wrk(command)
        other = noise.other_load(running.server.cpu_seconds() - cpu0)
        # Over wrk's measured duration (its start-up, reading the callbacks, is not in it).
        busy = figures["requests"] / figures["rps"] if figures["rps"] else ctx.duration
        cpu_s = running.server.cpu_seconds() - cpu0
        cpu = cpu_s / max(busy, 1e-6)
        alive = running.server.alive()
        after = running.server.rss_kib()
        if running.stats_url is not None and alive:
            handled = handled_events(running.stats_url)
        if upkeep_before is not None and alive:
            upkeep = upkeep_during(upkeep_before, store_upkeep(running.metrics_url))
    finally:
        running.cleanup()
    stored = stored_events(running.db) if running.db is not None else None
    row = {
        "server": label,
        "rps": round(figures["rps"]),
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "connections": ctx.connections,
        "requests": int(figures["requests"]),
        "socket_errors": int(figures["errors"]),
        "non2xx": int(figures["non2xx"]),
        "errors": int(figures["errors"] + figures["non2xx"]),
        "rss_idle_mib": mib(idle),
        "rss_after_mib": mib(after),
        "cpu_pct": round(100 * cpu),
        # The server's CPU time (wrk's start-up included: the server idles then) per request
        # answered: what a callback costs it, whatever else shared the machine.
        "cpu_us_per_request": round(1e6 * cpu_s / figures["requests"], 1)
        if figures["requests"] else None,
        "other_load_pct": {c: round(100 * v) for c, v in other.items()},
        "crashed": not alive,
        "stored": stored,
        "handled": handled,
        "upkeep": upkeep,
        "ready_ms": running.server.ready_ms,
        "repeats": max(0, int(figures["requests"]) - n_events),
        "what": running.what,
        "command": running.command + "  +  " + shown(command, {str(data): data.name,
                                                              running.url: "URL"}),
    }
    return row


def bench_platform(key: str, ctx: Any, work: Path, log: Callable[[str], None],
                   ) -> list[dict[str, Any]]:
    platform = PLATFORMS[key]
    data = work / f"{key}_callbacks.tsv"
    t0 = time.monotonic()
    signed_at = time.time()  # the timestamp of every callback (see Platform.timestamp_window_s)
    platform.write(data, ctx.events)
    # Written out before any server starts: the kernel's writeback of these hundreds of MB
    # otherwise runs during the first server's run (botgate's), and its fsyncs (the WAL's, the
    # checkpoints') queue behind it on the disk: stalls of 25-166 ms, which were its p99.
    os.sync()
    log(f"{key}: {ctx.events} distinct callbacks written in {time.monotonic() - t0:.1f}s")
    script = BENCH / platform.script
    starters: list[tuple[str, Callable[[], Running]]] = [
        ("botgate", lambda: platform.start_botgate(ctx, work)),
        ("fastapi-nodb", lambda: start_fastapi(platform, work, durable=False)),
        ("fastapi", lambda: start_fastapi(platform, work, durable=True)),
        ("node-nodb", lambda: start_node(platform, work, durable=False)),
        ("node", lambda: start_node(platform, work, durable=True)),
        ("nginx", lambda: start_nginx(work, key)),
    ]
    if platform.node_sdk is None:  # no Node reference to run (see Platform.node_sdk)
        starters = [(label, start) for label, start in starters if not label.startswith("node")]
    rows = []
    for label, start in starters:
        if label not in ctx.servers:
            continue
        try:
            running = start()
            if platform.timestamp_window_s is not None:
                log(f"{key} {label}: the callbacks were signed {time.time() - signed_at:.0f} s "
                    f"ago (botgate refuses them after {platform.timestamp_window_s} s)")
            row = measure(label, running, script, data, ctx, ctx.events, platform.script_args)
        except Exception as e:  # noqa: BLE001 - one broken server must not hide the others
            row = {"server": label, "failed": str(e)[-500:]}
        row["benchmark"] = f"{key} ingress"
        log(f"{key} {label}: {row}")
        rows.append(row)
    return rows
