"""One process hosting 100 bots: 20 per platform (feishu, lark, wecom, discord, qq), each with
credentials of its own against the local fakes (tests/integration/bot_fleet.py), botgate pinned
to the server core. Start to ready: exec of `botgate run` until GET /readyz answers 200, polled
every 2 ms, the best of a few runs (each with fresh fakes and a fresh database, as a first
start). /readyz answers 200 once every bot's sender is prepared (its token fetched: Feishu and
Lark also their bot's open_id, Discord its token checked with GET /users/@me) and no gateway has
stopped for good; a gateway's READY is not part of it, so each run also records how many of the
40 gateway sessions were READY at that moment and when the last one was. Idle: VmRSS 2 s after
ready (every gateway READY by then, or the run says how many were not).

The fakes' gateways are plain ws:// in the main runs; one more set of runs has them speak wss://
(the test certificate, trusted through SSL_CERT_FILE: the system's CA bundle plus the test CA),
as Discord's and QQ's do, so that what TLS costs per gateway connection shows."""

from __future__ import annotations

import common  # noqa: F401 - first: puts tests/ and tests/integration/ on sys.path

import time
from pathlib import Path
from typing import Any, Callable

from bot_fleet import BotFleet

from common import Interference, mib, start_botgate

PER_PLATFORM = 20
SETTLE = 2.0  # seconds after ready before the idle sample
GATEWAYS = 2 * PER_PLATFORM  # Discord and QQ bots each hold one gateway session


def proc_status(pid: int, key: str) -> int:
    """A number from /proc/PID/status (Threads, VmRSS in KiB)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def open_fds(pid: int) -> int:
    try:
        return len(list(Path(f"/proc/{pid}/fd").iterdir()))
    except OSError:
        return 0


def one_run(ctx: Any, work: Path, run: int, tls: bool) -> dict[str, Any]:
    fleet = BotFleet(PER_PLATFORM, tls_gateways=tls).start()
    server = None
    try:
        interference = Interference()
        env = BotFleet.trust_env(work) if tls else None
        server, _ = start_botgate(ctx.binary, work, fleet.bots(), echo=False,
                                  name=f"bg-many-bots-{'tls-' if tls else ''}{run}",
                                  ready_timeout=60, env=env)
        at_ready = fleet.gateways_ready()
        waited = time.monotonic()
        while fleet.gateways_ready() < GATEWAYS and time.monotonic() - waited < 10:
            time.sleep(0.002)
        all_gateways_ms = (server.ready_ms or 0) + (time.monotonic() - waited) * 1000
        time.sleep(max(0.0, SETTLE - (time.monotonic() - waited)))
        row = {
            "ready_ms": round(server.ready_ms or 0, 1),
            "gateways_at_ready": at_ready,
            "gateways": fleet.gateways_ready(),
            "all_gateways_ms": round(all_gateways_ms, 1),
            "rss_kib": server.rss_kib(),
            "threads": proc_status(server.pid, "Threads"),
            "fds": open_fds(server.pid),
            "token_fetches": sum(fleet.token_fetches().values()),
            "crashed": not server.alive(),
        }
        row["other_load_pct"] = {k: round(v * 100) for k, v in
                                 interference.other_load(server.cpu_seconds()).items()}
        return row
    finally:
        if server is not None:
            server.stop()
        fleet.stop()


def runs_row(ctx: Any, work: Path, log: Callable[[str], None], tls: bool) -> dict[str, Any]:
    runs = 3 if ctx.quick else 5
    label = "gateways over TLS" if tls else "plain gateways"
    results: list[dict[str, Any]] = []
    try:
        for run in range(runs):
            r = one_run(ctx, work, run, tls)
            results.append(r)
            log(f"many bots ({label}), run {run + 1}/{runs}: ready {r['ready_ms']:.0f} ms "
                f"({r['gateways_at_ready']}/{GATEWAYS} gateways READY then, all "
                f"{r['gateways']} at {r['all_gateways_ms']:.0f} ms), idle RSS "
                f"{mib(r['rss_kib'])} MiB, {r['threads']} threads, {r['fds']} fds")
    except Exception as e:  # noqa: BLE001 - report it in the table
        return {"benchmark": "many bots", "server": "botgate", "tls": tls, "failed": str(e)[-800:]}
    best = min(results, key=lambda r: r["ready_ms"])
    other: dict[str, int] = {}
    for r in results:
        for k, v in r["other_load_pct"].items():
            other[k] = max(other.get(k, 0), v)
    return {
        "benchmark": "many bots", "server": "botgate", "bots": 5 * PER_PLATFORM, "tls": tls,
        "runs": results, "best": best, "other_load_pct": other,
        "command": "taskset -c 0 build/botgate run (100 bots: 20 each of feishu, lark, wecom app, "
                   "discord, qq, own credentials, vs local fakes"
                   + ("; gateways wss://, SSL_CERT_FILE = system CAs + test CA)" if tls else ")"),
    }


def bench_many_bots(ctx: Any, work: Path, log: Callable[[str], None]) -> list[dict[str, Any]]:
    return [runs_row(ctx, work, log, tls=False), runs_row(ctx, work, log, tls=True)]
