"""Gateway flood: the fake Discord (tests/fakes/discord_fake.py, in this process on the load
core) pushes N MESSAGE_CREATE events over the gateway to the connected bot (pinned to the server
core), which answers each through the REST API (POST /channels/{id}/messages, a reply).

Measured: from the moment the first event is handed to the gateway until the fake's REST API has
received the N-th reply (the fake's own receive time); events/s = N / that time.
"""

from __future__ import annotations

import common  # noqa: F401 - first: puts tests/ and tests/integration/ on sys.path

import re
import socket
import time
from pathlib import Path
from typing import Any, Callable, Optional

from botgate_harness import discord_bot
from fakes.discord_fake import DiscordFake

from common import BENCH, PYTHON, Interference, Server, mib, self_cpu_seconds, shown, start_botgate

USER_BASE = 500000000000000000
CHANNEL_BASE = 700000000000000000


def make_fake(echo_own: bool) -> DiscordFake:
    # Real Discord limits a bot to 5 messages per 5 s per channel and 50 requests/s overall;
    # here the limits are lifted so the figure is the bot's own speed, not the bucket's.
    fake = DiscordFake(heartbeat_interval=5000, channel_bucket_limit=10**9,
                       global_limit=10**9, identify_interval=0,
                       echo_own_messages=echo_own).start()
    # asyncio listens with a backlog of 100; a bot that opens ~100 REST connections at once
    # while the fake's loop is busy flooding overflows it and the kernel resets some of them
    # (discord.py then drops those replies). Discord's servers have no such limit: widen it.
    for s in fake._server.sockets:  # noqa: SLF001
        dup = socket.fromfd(s.fileno(), s.family, s.type)
        dup.listen(4096)  # changes the backlog of the shared listening socket
        dup.close()
    return fake


CHUNK = 50  # events injected per turn of the fake's loop


def flood(fake: DiscordFake, n: int, channels: int, tag: str) -> tuple[float, list[str]]:
    """Injects n DM messages (spread over `channels` DM channels, one author each) as fast as
    the fake's loop takes them: CHUNK per turn, so that it still accepts the bot's REST
    connections in between (all n in one turn overflow the REST listener's accept queue when a
    bot opens many connections at once, and the kernel resets some of them); returns (monotonic
    time before the first, their ids)."""
    def inject(first: int, count: int) -> list[str]:
        return [fake._inject_message(  # noqa: SLF001 - many at once, without a thread hop each
            str(CHANNEL_BASE + i % channels), f"{tag} {i}", str(USER_BASE + i % channels),
            "nelly", None, False, None, None, None, None) for i in range(first, first + count)]
    t0 = time.monotonic()
    ids: list[str] = []
    for first in range(0, n, CHUNK):
        ids += fake._call(inject, first, min(CHUNK, n - first))  # noqa: SLF001
    return t0, ids


def wait_replies(fake: DiscordFake, ids: set[str], timeout: float,
                 stall: float = 15.0) -> list[Any]:
    """The replies to `ids` once all came, or when `timeout` passed or none came for `stall`
    seconds."""
    deadline = time.monotonic() + timeout
    seen, progress = -1, time.monotonic()
    while True:
        got = [m for m in fake.messages() if m.replied_to in ids]
        now = time.monotonic()
        if len(got) != seen:
            seen, progress = len(got), now
        if len(got) >= len(ids) or now > deadline or now - progress > stall:
            return got
        time.sleep(0.01)


def first_error(log: Path) -> str:
    """The last line of the first exception or error in a bot's log (for the table's note)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace")) if log.exists() else ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "Traceback" in line or " ERROR " in line or "error" in line.lower():
            for later in lines[i:i + 60]:
                if later and not later.startswith((" ", "Traceback")) and "Error" in later:
                    return later.strip()[:160]
            return line.strip()[:160]
    return "no error logged"


def run_bot(label: str, start: Callable[[DiscordFake], tuple[Server, str]], ctx: Any,
            log: Callable[[str], None]) -> dict[str, Any]:
    fake = make_fake(ctx.echo_own)
    server: Optional[Server] = None
    try:
        server, command = start(fake)
        if not fake.wait_connected(60):
            raise RuntimeError(f"{label} did not connect to the gateway:\n{server.log_tail()}")
        # Warm-up: one message answered end to end (READY handled, REST connection open).
        _, warm = flood(fake, 1, 1, "warm-up")
        if len(wait_replies(fake, set(warm), 60)) < 1:
            raise RuntimeError(f"{label} did not answer the warm-up message:\n"
                               f"{server.log_tail()}")
        idle = server.rss_kib()
        bot_cpu0, fake_cpu0 = server.cpu_seconds(), self_cpu_seconds()
        noise = Interference()
        t0, ids = flood(fake, ctx.messages, ctx.channels, "flood")
        replies = wait_replies(fake, set(ids), ctx.gateway_timeout)
        wall = time.monotonic() - t0
        other = noise.other_load(server.cpu_seconds() - bot_cpu0)
        bot_cpu = (server.cpu_seconds() - bot_cpu0) / wall
        fake_cpu = (self_cpu_seconds() - fake_cpu0) / wall
        t_end = max((m.t for m in replies), default=time.monotonic())
        elapsed = max(t_end - t0, 1e-6)
        row = {
            "server": label,
            "events": ctx.messages,
            "replied": len({m.replied_to for m in replies}),
            "duplicates": len(replies) - len({m.replied_to for m in replies}),
            "seconds": round(elapsed, 3),
            "eps": round(len(replies) / elapsed),
            "rss_idle_mib": mib(idle),
            "rss_after_mib": mib(server.rss_kib()),
            "bot_cpu_pct": round(100 * bot_cpu),
            "fake_cpu_pct": round(100 * fake_cpu),
            "other_load_pct": {c: round(100 * v) for c, v in other.items()},
            "crashed": not server.alive(),
            "command": command,
        }
        if len(replies) < ctx.messages:
            row["note"] = (f"{ctx.messages - len(replies)} never answered (see "
                           f"{server.log.name}: {first_error(server.log)})")
        return row
    finally:
        if server is not None:
            server.stop()
        fake.stop()


def bench_gateway(ctx: Any, work: Path, log: Callable[[str], None]) -> list[dict[str, Any]]:
    def start_bg(fake: DiscordFake) -> tuple[Server, str]:
        # discord.py keeps no cap of its own (it waits only when Discord answers 429, which the
        # fake does not here); botgate's cap under Discord's global limit (50/s) is raised the
        # way a bot that Discord granted more would raise it, so both run at full speed.
        bot = discord_bot(fake, requests_per_second=100_000)
        server, _ = start_botgate(ctx.binary, work, [bot], echo=True, name="bg-discord",
                                  ready_timeout=60)
        cmd = shown(["taskset", "-c", "0", str(ctx.binary), "run", "--config", "botgate.toml"])
        return server, cmd + " (echo on, [[bot]] discord -> fake, requests_per_second = 100000)"

    def start_dpy(fake: DiscordFake) -> tuple[Server, str]:
        d = work / "discord-py"
        d.mkdir(parents=True, exist_ok=True)
        argv = [PYTHON, str(BENCH / "reference" / "discord_py_bot.py"), "--api-base",
                fake.api_base, "--token", fake.token, "--application-id", fake.application_id]
        server = Server("discord.py", argv, d / "bot.log").start()
        cmd = shown(["taskset", "-c", "0"] + argv, {fake.token: "TOKEN",
                                                    fake.api_base: "FAKE/api/v10"})
        return server, cmd

    rows = []
    for label, start in (("botgate", start_bg), ("discord.py", start_dpy)):
        if label.replace(".", "") not in [s.replace(".", "") for s in ctx.bots]:
            continue
        try:
            row = run_bot(label, start, ctx, log)
        except Exception as e:  # noqa: BLE001 - report it in the table, run the rest
            row = {"server": label, "failed": str(e)[-800:]}
        row["benchmark"] = "discord gateway flood"
        log(f"gateway {label}: {row}")
        rows.append(row)
    return rows
