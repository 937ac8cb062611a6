"""Gateway flood: a fake Discord (bench/discord_flood.py) pushes N MESSAGE_CREATE events over
the gateway to the connected bot (pinned to the server core), which answers each through the
REST API (POST /channels/{id}/messages, a reply).

The fake is split so that a fast bot does not hit its ceiling: the gateway is the strict
tests/fakes/discord_fake.py's (handshake, heartbeats, resume) in this process, the flood frames
encoded before the clock starts; REST is nginx (static answers), which logs every request with
its body; the gateway reads that log to send each reply back as MESSAGE_CREATE (as Discord does)
and to count it. Both run on the load core.

Measured: from the moment the first event is written to the gateway connection until nginx
logged (`$msec`) the last flooded message's first valid reply: `Authorization: Bot <token>`,
answered 200, in the message's channel, `message_reference.message_id` = the message, content
"Hello, <its content>". events/s = answered / that time. A bot gets more events the faster it
is expected to be (--messages sets one size for both), so that each is measured over seconds.
"""

from __future__ import annotations

import common  # noqa: F401 - first: puts tests/ and tests/integration/ on sys.path

import re
import time
from pathlib import Path
from typing import Any, Callable, Optional

from botgate_harness import discord_bot

from common import (BENCH, PYTHON, Interference, Server, mib, self_cpu_seconds, shown,
                    start_botgate, thread_cpu_seconds)
from discord_flood import FloodFake, rest_dir, start_rest, wait_answered

# Flood sizes when --messages is not given: seconds of measurement for each bot (discord.py
# answers ~2,500/s; botgate ~3,700/s now, 2 s at the 10x of discord.py it aims for).
MESSAGES = {"botgate": 20_000, "discord.py": 5_000}
MESSAGES_QUICK = {"botgate": 5_000, "discord.py": 1_500}


def flood_size(ctx: Any, label: str) -> int:
    if ctx.messages:
        return ctx.messages
    return (MESSAGES_QUICK if ctx.quick else MESSAGES)[label]


def make_fake(work: Path, echo_own: bool) -> tuple[FloodFake, Server, str]:
    """The gateway (this process) and nginx for REST: (fake, nginx, API base)."""
    # Discord's heartbeat interval: a flood queued ahead of an ACK (the frames are written
    # at once) does not make it late. Discord wants 5 s between identifies; here a bot
    # connects once, at once.
    fake = FloodFake(rest_dir(work) / "api.log", echo_own, heartbeat_interval=41250,
                     identify_interval=0).start()
    try:
        rest, api_base = start_rest(fake, work)
    except Exception:
        fake.stop()
        raise
    return fake, rest, api_base


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


def run_bot(label: str, start: Callable[[FloodFake, str, Path], tuple[Server, str]], ctx: Any,
            work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    d = work / f"gateway-{label}"
    d.mkdir(parents=True, exist_ok=True)
    fake, rest, api_base = make_fake(d, ctx.echo_own)
    server: Optional[Server] = None
    n = flood_size(ctx, label)
    try:
        server, command = start(fake, api_base, d)
        if not fake.wait_connected(60):
            raise RuntimeError(f"{label} did not connect to the gateway:\n{server.log_tail()}")
        # Warm-up: one message answered end to end (READY handled, REST connection open).
        fake.send(fake.prepare(1, 1, "warm-up"))
        wait_answered(fake, 1, 60)
        if fake.answered() < 1:
            raise RuntimeError(f"{label} did not answer the warm-up message "
                               f"({fake.not_counted()}):\n{server.log_tail()}")
        idle = server.rss_kib()
        messages = fake.prepare(n, ctx.channels, "flood")  # before the clocks: not the bot's
        bot_cpu0, fake_cpu0, rest_cpu0 = (server.cpu_seconds(), self_cpu_seconds(),
                                          rest.cpu_seconds())
        threads0 = thread_cpu_seconds(server.pid)
        noise = Interference()
        t0 = fake.send(messages)
        ids = [m["id"] for m, _ in messages]
        wait_answered(fake, 1 + n, ctx.gateway_timeout)
        wall = time.time() - t0
        rest_cpu = rest.cpu_seconds() - rest_cpu0
        other = noise.other_load(server.cpu_seconds() - bot_cpu0, rest_cpu)
        bot_cpu = (server.cpu_seconds() - bot_cpu0) / wall
        threads = {name: round(seconds - threads0.get(name, 0.0), 3)
                   for name, seconds in thread_cpu_seconds(server.pid).items()}
        fake_cpu = (self_cpu_seconds() - fake_cpu0 + rest_cpu) / wall
        replies = fake.replies(ids)
        elapsed = max(max(replies.values(), default=time.time()) - t0, 1e-6)
        row = {
            "server": label,
            "events": n,
            "replied": len(replies),
            "duplicates": fake.tally.duplicates,
            "seconds": round(elapsed, 3),
            "eps": round(len(replies) / elapsed),
            "rss_idle_mib": mib(idle),
            "rss_after_mib": mib(server.rss_kib()),
            "bot_cpu_pct": round(100 * bot_cpu),
            "fake_cpu_pct": round(100 * fake_cpu),
            "nginx_cpu_pct": round(100 * rest_cpu / wall),
            # CPU seconds of the flood by thread name (botgate's store thread apart from the
            # rest: where an event's time goes).
            "threads_cpu_s": threads,
            "other_load_pct": {c: round(100 * v) for c, v in other.items()},
            "crashed": not server.alive(),
            "command": command,
        }
        notes = []
        if len(replies) < n:
            notes.append(f"{n - len(replies)} never answered (see {server.log.name}: "
                         f"{first_error(server.log)})")
        if fake.not_counted():
            notes.append(f"not counted: {fake.not_counted()}")
        if notes:
            row["note"] = "; ".join(notes)
        return row
    finally:
        if server is not None:
            server.stop()
        fake.stop()
        rest.stop()


def bench_gateway(ctx: Any, work: Path, log: Callable[[str], None]) -> list[dict[str, Any]]:
    def start_bg(fake: FloodFake, api_base: str, d: Path) -> tuple[Server, str]:
        # discord.py keeps no cap of its own (it waits only when Discord answers 429, which the
        # fake does not here); botgate's cap under Discord's global limit (50/s) is raised the
        # way a bot that Discord granted more would raise it, so both run at full speed.
        bot = discord_bot(fake, api_base=api_base, requests_per_second=100_000)
        server, _ = start_botgate(ctx.binary, d, [bot], echo=True, name="bg-discord",
                                  ready_timeout=60)
        cmd = shown(["taskset", "-c", "0", str(ctx.binary), "run", "--config", "botgate.toml"])
        return server, cmd + " (echo on, [[bot]] discord -> fake, requests_per_second = 100000)"

    def start_dpy(fake: FloodFake, api_base: str, d: Path) -> tuple[Server, str]:
        argv = [PYTHON, str(BENCH / "reference" / "discord_py_bot.py"), "--api-base",
                api_base, "--token", fake.token, "--application-id", fake.application_id]
        server = Server("discord.py", argv, d / "bot.log").start()
        cmd = shown(["taskset", "-c", "0"] + argv, {fake.token: "TOKEN",
                                                    api_base: "FAKE/api/v10"})
        return server, cmd

    bots = [(label, start) for label, start in (("botgate", start_bg), ("discord.py", start_dpy))
            if label.replace(".", "") in [s.replace(".", "") for s in ctx.bots]]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in bots}
    # The bots take turns, so that a slower minute of the machine falls on both.
    for i in range(ctx.gateway_runs):
        for label, start in bots:
            try:
                row = run_bot(label, start, ctx, work / f"run{i}", log)
            except Exception as e:  # noqa: BLE001 - report it in the table, run the rest
                row = {"server": label, "failed": str(e)[-800:]}
            log(f"gateway {label} (run {i + 1} of {ctx.gateway_runs}): {row}")
            runs[label].append(row)
    return [representative(label_runs) for label_runs in runs.values()]


def sound(row: dict[str, Any]) -> bool:
    return ("failed" not in row and row["replied"] == row["events"] and not row["duplicates"]
            and not row["crashed"] and "note" not in row)


def representative(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run a bot's row shows: the median by events/s, with every run's figure beside it; but
    the first unsound run (failed, crashed, a message unanswered or answered twice) when there is
    one, so that no median hides it."""
    bad = [r for r in runs if not sound(r)]
    if bad:
        row = dict(bad[0])
    else:
        row = dict(sorted(runs, key=lambda r: r["eps"])[len(runs) // 2])
    if len(runs) > 1:
        row["runs_eps"] = [r.get("eps") for r in runs]
    row["benchmark"] = "discord gateway flood"
    return row
