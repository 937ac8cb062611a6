"""The HTTP API: the send path (POST /api/v1/messages, each message queued durably in the
outbox and then sent to the platform's fake) and the event stream (1,000 clients on
GET /api/v1/events: what they cost in memory, and whether webhook ingress slows down).

Send: wrk POSTs distinct messages (to the chats of bench/callers.py's population, on one Feishu
bot whose API is the local fake) with the API token, botgate pinned to the server core; after
the run the outbox table must hold one message per 202. A second row gives every message an
`idempotency_key` (one more index lookup and row per send).

Stream: Feishu callbacks through wrk (as in the ingress part) three times against one botgate:
without stream clients, with 1,000 SSE clients each following one chat
(bench/stream_clients.py, on the load core), and without again; the slowdown is the loaded
run's rate against the mean of the two others (so that a growing database does not count as the
clients' cost). The memory is botgate's RSS with the clients connected against before.
"""

from __future__ import annotations

import common  # noqa: F401 - first: puts tests/ and tests/integration/ on sys.path

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from fakes.feishu_fake import FeishuFake

from callers import Population
from common import (BENCH, LOAD_CORE, PYTHON, Interference, mib, pinned, run_wrk, shown,
                    start_botgate, wrk_command)
from ingress import (FEISHU_APP_ID, FEISHU_APP_SECRET, FEISHU_BOT_OPEN_ID, FEISHU_ENCRYPT_KEY,
                     FEISHU_TOKEN, write_feishu_callbacks)

API_TOKEN = "bench-api-token-4f1c9a0e7d2b"
STREAM_CLIENTS = 1_000


def feishu_bot(fake: FeishuFake) -> dict[str, Any]:
    return {"name": "feishu", "platform": "feishu", "api_base": fake.base_url,
            "app_id": FEISHU_APP_ID, "app_secret": FEISHU_APP_SECRET,
            "encrypt_key": FEISHU_ENCRYPT_KEY, "verification_token": FEISHU_TOKEN}


def write_messages(path: Path, count: int, keyed: bool) -> None:
    """`count` send requests, one JSON body per line (bench/api_messages.lua): to the
    population's group chats and its users' p2p chats, each text distinct."""
    people = Population()
    with path.open("w") as out:
        for i in range(count):
            caller = people.next()
            chat = (people.feishu_group_chat(caller.chat) if people.coin()
                    else people.feishu_p2p_chat(caller.user))
            body: dict[str, Any] = {"bot": "feishu", "chat_id": chat, "text": f"hello {i}"}
            if keyed:
                body["idempotency_key"] = f"bench-{i}"
            out.write(json.dumps(body, separators=(",", ":")) + "\n")


def table_count(db: Path, sql: str) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def bench_send(ctx: Any, work: Path, log: Callable[[str], None], keyed: bool) -> dict[str, Any]:
    label = "api send" + (", idempotency keys" if keyed else "")
    data = work / f"api_messages{'_keyed' if keyed else ''}.jsonl"
    write_messages(data, ctx.events, keyed)
    os.sync()  # written out now, not by the kernel during the run (see ingress.bench_platform)
    fake = FeishuFake(app_id=FEISHU_APP_ID, app_secret=FEISHU_APP_SECRET,
                      bot_open_id=FEISHU_BOT_OPEN_ID).start()
    name = "bg-api-keyed" if keyed else "bg-api"
    server = None
    try:
        server, port = start_botgate(ctx.binary, work, [feishu_bot(fake)], echo=False, name=name,
                                     api_token=API_TOKEN)
        url = f"http://127.0.0.1:{port}/api/v1/messages"
        command = wrk_command(url, BENCH / "api_messages.lua", data, duration=ctx.duration,
                              connections=ctx.connections, extra=(API_TOKEN,))
        idle = server.rss_kib()
        cpu0 = server.cpu_seconds()
        noise = Interference()
        figures = run_wrk(command)
        cpu_s = server.cpu_seconds() - cpu0
        other = noise.other_load(cpu_s)
        busy = figures["requests"] / figures["rps"] if figures["rps"] else ctx.duration
        after = server.rss_kib()
        alive = server.alive()
        sent_during = len(fake.send_requests())
    finally:
        if server is not None:
            server.stop()
        fake.stop()
    accepted = int(figures["requests"] - figures["non2xx"])
    queued = table_count(work / name / "botgate.db", "SELECT count(*) FROM outbox")
    row = {
        "benchmark": label, "server": "botgate",
        "rps": round(figures["rps"]), "p50_ms": figures["p50_ms"], "p99_ms": figures["p99_ms"],
        "requests": int(figures["requests"]), "errors": int(figures["errors"] + figures["non2xx"]),
        "cpu_pct": round(100 * cpu_s / max(busy, 1e-6)),
        "cpu_us_per_request": round(1e6 * cpu_s / figures["requests"], 1)
        if figures["requests"] else None,
        "other_load_pct": {c: round(100 * v) for c, v in other.items()},
        "rss_idle_mib": mib(idle), "rss_after_mib": mib(after),
        "crashed": not alive,
        # Each accepted request (202) is one outbox row, unless a key repeated (wrk cycles
        # through the file when the run outlasts it).
        "accepted": accepted, "queued": queued,
        "repeats": max(0, int(figures["requests"]) - ctx.events),
        "what": "botgate, threads=1, SQLite outbox; Feishu bot on the local fake",
        "command": shown(command, {str(data): data.name, url: "URL", API_TOKEN: "TOKEN"}),
    }
    row["sent_during_run"] = sent_during  # the outbox drains while the API takes more
    return row


def feishu_chats(n: int) -> list[str]:
    """The chats the stream clients follow: every group chat of the population, then users'
    p2p chats, `n` in all."""
    people = Population()
    chats = [people.feishu_group_chat(c) for c in range(min(n, people.chats))]
    chats += [people.feishu_p2p_chat(u) for u in range(n - len(chats))]
    return chats


def ingress_run(url: str, data: Path, ctx: Any, server: Any) -> dict[str, float]:
    """One wrk run; with botgate's CPU share over it (`cpu`): below ~95 %, the load side (wrk
    and the stream clients share core 1) set the pace, not botgate."""
    cpu0 = server.cpu_seconds()
    figures = run_wrk(wrk_command(url, BENCH / "feishu_callbacks.lua", data,
                                  duration=ctx.duration, connections=ctx.connections))
    busy = figures["requests"] / figures["rps"] if figures["rps"] else ctx.duration
    figures["cpu"] = (server.cpu_seconds() - cpu0) / max(busy, 1e-6)
    return figures


def bench_stream(ctx: Any, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    # Enough distinct callbacks for each run at up to ~45,000/s, so that none repeats: a repeat
    # is a cheap duplicate answer, and the faster run (without clients) would get more of them,
    # which made the slowdown look larger than it is.
    per_run = 45_000 * ctx.duration
    files = []
    for k in range(3):
        f = work / f"stream_callbacks_{k}.tsv"
        write_feishu_callbacks(f, per_run, start=2_000_000 + k * per_run)
        files.append(f)
    chats_file = work / "stream_chats.txt"
    chats_file.write_text("\n".join(feishu_chats(STREAM_CLIENTS)) + "\n")
    os.sync()  # written out now, not by the kernel during the runs (see ingress.bench_platform)
    fake = FeishuFake(app_id=FEISHU_APP_ID, app_secret=FEISHU_APP_SECRET,
                      bot_open_id=FEISHU_BOT_OPEN_ID).start()
    server = clients = None
    try:
        server, port = start_botgate(ctx.binary, work, [feishu_bot(fake)], echo=False,
                                     name="bg-stream", api_token=API_TOKEN)
        url = f"http://127.0.0.1:{port}/webhook/feishu"
        before = ingress_run(url, files[0], ctx, server)
        rss_before = server.rss_kib()
        clients = subprocess.Popen(
            pinned(LOAD_CORE) + [PYTHON, str(BENCH / "stream_clients.py"), str(port), API_TOKEN,
                                 "feishu", str(chats_file), str(STREAM_CLIENTS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert clients.stdout is not None
        line = clients.stdout.readline()
        if not line.startswith("CONNECTED"):
            raise RuntimeError(f"stream clients failed: {line}{clients.stderr.read()[-1500:]}")
        time.sleep(1.0)
        rss_clients = server.rss_kib()
        loaded = ingress_run(url, files[1], ctx, server)
        rss_loaded = server.rss_kib()
        clients.terminate()
        out, err = clients.communicate(timeout=30)
        received = next((l for l in out.splitlines() if l.startswith("RECEIVED")), "")
        counts = dict(kv.split("=") for kv in received.split()[1:]) if received else {}
        clients = None
        after = ingress_run(url, files[2], ctx, server)
        alive = server.alive()
    finally:
        if clients is not None:
            clients.kill()
        if server is not None:
            server.stop()
        fake.stop()
    base = (before["rps"] + after["rps"]) / 2
    errors = sum(int(r["errors"] + r["non2xx"]) for r in (before, loaded, after))
    return {
        "benchmark": f"event stream, {STREAM_CLIENTS:,} clients", "server": "botgate",
        "rps_without": round(base), "rps_with": round(loaded["rps"]),
        "slowdown_pct": round(100 * (1 - loaded["rps"] / base), 1) if base else None,
        "p99_ms_without": max(before["p99_ms"], after["p99_ms"]),
        "p99_ms_with": loaded["p99_ms"],
        "cpu_pct_without": round(50 * (before["cpu"] + after["cpu"])),
        "cpu_pct_with": round(100 * loaded["cpu"]),
        "rss_before_mib": mib(rss_before), "rss_clients_mib": mib(rss_clients),
        "rss_loaded_mib": mib(rss_loaded),
        "clients_mib": mib(rss_clients - rss_before),
        "clients_loaded_mib": mib(rss_loaded - rss_before),
        "events_streamed": int(counts.get("events", 0)),
        "stream_errors": int(counts.get("errors", -1)),
        "errors": errors, "crashed": not alive,
        "command": f"3 x feishu ingress ({per_run:,} callbacks each), the middle one with "
                   f"{STREAM_CLIENTS:,} SSE clients (bench/stream_clients.py, ?chat= each)",
    }


def bench_api(ctx: Any, work: Path, log: Callable[[str], None]) -> list[dict[str, Any]]:
    rows = []
    for part in ("send", "send-keyed", "stream"):
        t0 = time.monotonic()
        try:
            row = (bench_stream(ctx, work, log) if part == "stream"
                   else bench_send(ctx, work, log, keyed=part == "send-keyed"))
        except Exception as e:  # noqa: BLE001 - one broken part must not hide the others
            row = {"benchmark": f"api {part}", "server": "botgate", "failed": str(e)[-800:]}
        log(f"api {part} ({time.monotonic() - t0:.0f} s): {row}")
        rows.append(row)
    return rows


if __name__ == "__main__":
    sys.exit("run it through bench/run.py --only api")
