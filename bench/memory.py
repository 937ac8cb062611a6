"""Memory: botgate's resident set with all five platforms configured (feishu, lark, wecom,
discord, qq, each against its local fake, with the fakes' dummy credentials), idle, then after
three equal batches of distinct encrypted Feishu callbacks (wrk stops after the batch), to see
whether it grows. The first batch fills what is bounded by design (SQLite's page cache of 8 MiB,
the message log's 2,000 entries, the dedup keys held in memory until a merge); the growth over
the third batch is what a long run would keep adding. Batches of 200,000: the dedup index takes
16 bytes a key, so the page cache fills over the first ~400,000 keys (with batches of 100,000 the
third still showed it filling: +2.4-3.0 MiB, then +0.4 with 200,000)."""

from __future__ import annotations

import common  # noqa: F401 - first: puts tests/ and tests/integration/ on sys.path

import time
from pathlib import Path
from typing import Any, Callable

from botgate_harness import WECOM_AES_KEY, WECOM_TOKEN, discord_bot, qq_bot
from fakes.discord_fake import DiscordFake
from fakes.feishu_fake import FeishuFake
from fakes.qq_fake import QqFake
from fakes.wecom_fake import WecomFake

import signal
import subprocess

from common import BENCH, mib, shown, start_botgate, wrk_command
from ingress import (FEISHU_APP_ID, FEISHU_APP_SECRET, FEISHU_ENCRYPT_KEY, FEISHU_TOKEN,
                     write_feishu_callbacks)

def run_wrk_batch(command: list[str], timeout: float = 900.0) -> dict[str, float]:
    """wrk with feishu_batch.lua: when its thread has its answers (BATCH-DONE), interrupt wrk
    (it would sleep out its -d otherwise) and read the BENCH line done() prints."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("BATCH-DONE"):
            proc.send_signal(signal.SIGINT)
        elif line.startswith("BENCH ") or time.monotonic() > deadline:
            break
    proc.wait(30)
    bench = next((l for l in lines if l.startswith("BENCH ")), None)
    if bench is None:
        raise RuntimeError(f"wrk failed: {''.join(lines)[-2000:]}{proc.stderr.read()[-2000:]}")
    return {k: float(v) for k, v in (kv.split("=") for kv in bench.split()[1:])}


SETTLE = 2.0  # seconds after ready before the idle sample (gateways connected, tokens fetched)


def five_bots(fakes: dict[str, Any]) -> list[dict[str, Any]]:
    feishu, lark, wecom = fakes["feishu"], fakes["lark"], fakes["wecom"]
    return [
        {"name": "feishu", "platform": "feishu", "api_base": feishu.base_url,
         "app_id": FEISHU_APP_ID, "app_secret": FEISHU_APP_SECRET,
         "encrypt_key": FEISHU_ENCRYPT_KEY, "verification_token": FEISHU_TOKEN},
        {"name": "lark", "platform": "lark", "api_base": lark.base_url,
         "app_id": lark.app_id, "app_secret": lark.app_secret,
         "encrypt_key": "lark-encrypt-key", "verification_token": "lark-verification"},
        {"name": "wecom", "platform": "wecom", "kind": "group", "api_base": wecom.base_url,
         "token": WECOM_TOKEN, "encoding_aes_key": WECOM_AES_KEY},
        discord_bot(fakes["discord"]),
        qq_bot(fakes["qq"]),
    ]


def bench_memory(ctx: Any, work: Path, log: Callable[[str], None],
                 first_batch: Path | None) -> list[dict[str, Any]]:
    fakes = {
        "feishu": FeishuFake(app_id=FEISHU_APP_ID, app_secret=FEISHU_APP_SECRET),
        "lark": FeishuFake(app_id="cli_lark", app_secret="lark-secret"),
        "wecom": WecomFake(corp_id="ww5823bf96d3bd56c7", corp_secret="app-secret-123",
                           agent_id=1000002),
        "discord": DiscordFake(heartbeat_interval=5000),
        "qq": QqFake(heartbeat_interval=5000),
    }
    for f in fakes.values():
        f.start()
    server = None
    rows: list[dict[str, Any]] = []
    try:
        server, port = start_botgate(ctx.binary, work, five_bots(fakes), echo=False,
                                     name="bg-memory", ready_timeout=60)
        fakes["discord"].wait_connected(20)
        time.sleep(SETTLE)
        idle = server.rss_kib()
        rows.append({"benchmark": "memory, idle", "server": "botgate", "rss_mib": mib(idle),
                     "command": "botgate run (feishu, lark, wecom, discord, qq vs local fakes);"
                                " VmRSS after ready + 2 s"})
        log(f"memory idle: {mib(idle)} MiB")

        step = ctx.mem_step
        # Three batches of `step` distinct events: the thirds of one file (the ingress
        # benchmark's callbacks when there are enough: new to this botgate and its database).
        data = first_batch
        if data is None or ctx.events < 3 * step:
            data = work / "memory_callbacks.tsv"
            t0 = time.monotonic()
            write_feishu_callbacks(data, 3 * step, start=1_000_000)
            log(f"memory: {3 * step} callbacks written in {time.monotonic() - t0:.1f}s")
        url = f"http://127.0.0.1:{port}/webhook/feishu"
        samples = []
        total = 0
        elapsed = 0.0
        command: list[str] = []
        for first_line in (1, step + 1, 2 * step + 1):
            command = wrk_command(url, BENCH / "feishu_batch.lua", data, duration=900,
                                  connections=ctx.connections,
                                  extra=(str(step), str(first_line)))
            figures = run_wrk_batch(command)
            elapsed += figures["requests"] / figures["rps"] if figures["rps"] else 0.0
            total += int(figures["requests"])
            samples.append((total, server.rss_kib(), int(figures["errors"] + figures["non2xx"])))
            log(f"memory: after {total} requests: {mib(samples[-1][1])} MiB")
        (n0, r0, e0), (n1, r1, e1), (n2, r2, e2) = samples
        rate = total / elapsed if elapsed else 0.0
        rows.append({
            "benchmark": "memory, growth", "server": "botgate",
            "rss_idle_mib": mib(idle), "rss0_mib": mib(r0), "n0": n0, "rss1_mib": mib(r1),
            "n1": n1, "rss2_mib": mib(r2), "n2": n2, "growth_mib": mib(r2 - r1),
            "errors": e0 + e1 + e2,
            "million_s": round(1_000_000 / rate) if rate else None,
            "crashed": not server.alive(),
            "command": shown(command, {str(data): data.name, url: "URL"}),
        })
    except Exception as e:  # noqa: BLE001 - report it in the table
        rows.append({"benchmark": "memory", "server": "botgate", "failed": str(e)[-800:]})
    finally:
        if server is not None:
            server.stop()
        for f in fakes.values():
            f.stop()
    return rows
