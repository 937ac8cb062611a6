"""Several instances on one Redis (`--only cluster`): encrypted Feishu callbacks for one botgate on
its SQLite store, then for one, two and three botgate instances sharing one redis-server (the
README's "Running several instances": the same bot, each instance its own `[store] instance`).

Each configuration gets a fresh store: a new SQLite file, or a new redis-server (Debian's) on a
free loopback port with its data in the run's temporary directory, AOF on with `appendfsync
everysec` (Redis's default once AOF is on: like SQLite's synchronous=NORMAL, a power cut may lose
the last second; `always` would make every write wait for the disk). The instances and Redis all
run on the server core, wrk on the load core: the server side gets one core whatever the number
of instances, so what the rows compare is what an event costs and whether the rate holds, not
how it scales with cores (a 2-core machine has none to give).

The load goes to the instances as a round-robin load balancer spreads it, without one in the way
(its CPU would land on one of the two cores): one wrk process per instance, the connections
divided between them, each sending its own share of the distinct callbacks (bench/
cluster_callbacks.lua), all started at once. After the run the harness waits until the bot's
inbox is empty (every event handled by whichever instance serves its chat), then checks that the
events the instances accepted (their /metrics) are the events in the store's log (each accepted
once, by one instance) and no fewer than the distinct callbacks answered, and that none became a
dead letter. CPU: every botgate process and redis-server, from /proc/PID/stat, from the start of
the run until the inbox was empty, divided by the events accepted.
"""

from __future__ import annotations

import common  # noqa: F401 - first: puts tests/ and tests/integration/ on sys.path

import errno
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from fakes.feishu_fake import FeishuFake

from api import feishu_bot
from common import (BENCH, LOAD_CORE, SERVER_CORE, Interference, Server, cpu_seconds, free_port,
                    pinned, shown, start_botgate)
from ingress import FEISHU_APP_ID, FEISHU_APP_SECRET, FEISHU_BOT_OPEN_ID, write_feishu_callbacks

API_TOKEN = "bench-cluster-token-8e2d41c7"
BOT = "feishu"
PARTITIONS = 16  # store/redis_partitions: each bot's inbox and outbox are split into 16
KEY_PREFIX = "botgate:"  # the Redis store's default
SCRIPT = BENCH / "cluster_callbacks.lua"


# ---------------------------------------------------------------------- processes


def main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process's main thread alone: redis-server runs every command
    there (its other threads write and sync the append-only file and free memory), so this is
    the share that one core bounds however many cores the machine has."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Redis:
    """Debian's redis-server on a free loopback port, pinned to the server core, its data in
    `folder`: AOF with appendfsync everysec, no RDB snapshots."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None or shutil.which("redis-cli") is None:
            raise RuntimeError("redis-server is missing: `make deps` installs it")
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.server = Server("redis", [
            binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(folder),
            "--daemonize", "no", "--logfile", str(folder / "redis.log")], folder / "stdout.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "Redis":
        self.server.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not self.server.alive():
                raise RuntimeError(f"redis-server exited at start:\n{self.server.log_tail()}")
            try:
                if self.cli("PING") == "PONG":
                    return self
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.05)
        self.server.stop()
        raise RuntimeError("redis-server did not answer PING within 15 s")

    def cli(self, *args: str) -> str:
        """One command through redis-cli; its answer as redis-cli prints it to a pipe (nil: an
        empty line, each element of an array on a line of its own)."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                             text=True, timeout=60, check=True).stdout
        return out[:-1] if out.endswith("\n") else out

    def count_keys(self, pattern: str) -> int:
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--scan", "--pattern", pattern],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        return len(out.split())

    def command_stats(self) -> dict[str, tuple[int, int]]:
        """Command name -> (calls, microseconds spent executing them) since the start (INFO
        commandstats: the time in the commands, not in reading and answering them)."""
        out: dict[str, tuple[int, int]] = {}
        for line in self.cli("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, _, rest = line[len("cmdstat_"):].partition(":")
                stats = dict(kv.split("=", 1) for kv in rest.strip().split(","))
                out[name] = (int(stats["calls"]), int(stats["usec"]))
        return out

    def lease_holders(self) -> dict[str, int]:
        """Instance name -> how many of the bot's partitions it serves (store/redis_partitions:
        lease:<bot>:<p> holds "<instance>/<token> <epoch>")."""
        keys = [f"{KEY_PREFIX}lease:{len(BOT)}:{BOT}:{p}" for p in range(PARTITIONS)]
        held: dict[str, int] = {}
        for value in self.cli("MGET", *keys).split("\n"):
            if "/" in value:
                name = value.split("/", 1)[0]
                held[name] = held.get(name, 0) + 1
        return held


@dataclass
class Instance:
    server: Server
    port: int
    name: str

    def metrics(self) -> dict[str, float]:
        """The bot's figures in GET /metrics, and the process's (botgate adds a bot of its own,
        the console's sandbox: its samples are left out)."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/metrics",
                                         headers={"Authorization": f"Bearer {API_TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as r:
            text = r.read().decode()
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                if "{" not in name or f'{{bot="{BOT}",' in name:
                    out[name.split("{", 1)[0]] = float(value)
        return out


@dataclass
class Configuration:
    store: str  # "sqlite" or "redis"
    instances: int
    running: list[Instance] = field(default_factory=list)
    redis: Optional[Redis] = None

    @property
    def label(self) -> str:
        if self.store == "sqlite":
            return "botgate x1, SQLite"
        return f"botgate x{self.instances}, Redis (AOF everysec)"

    def server_pids(self) -> dict[str, int]:
        pids = {i.name: i.server.pid for i in self.running}
        if self.redis is not None:
            pids["redis-server"] = self.redis.server.pid
        return pids

    def stop(self) -> None:
        for instance in self.running:
            instance.server.stop()
        if self.redis is not None:
            self.redis.server.stop()


def start_configuration(config: Configuration, ctx: Any, work: Path, fake: FeishuFake,
                        log: Callable[[str], None]) -> None:
    """Redis (for a Redis configuration), then the instances one after another, each its own
    `instance` name; then waits until the bot's partitions are spread over all of them, none
    holding more than its share (the first one up serves them all and hands them over as the
    others join, a few lease rounds of 2.5 s), so that the run does not measure the
    hand-over."""
    tag = f"cluster-{config.store}{config.instances}"
    if config.store == "redis":
        config.redis = Redis(work / tag / "redis").start()
    for i in range(1, config.instances + 1):
        name = f"gw-{i}"
        store = (None if config.redis is None
                 else {"url": config.redis.url, "instance": name})
        server, port = start_botgate(ctx.binary, work / tag, [feishu_bot(fake)], echo=False,
                                     name=name, api_token=API_TOKEN, store=store)
        config.running.append(Instance(server, port, name))
    if config.redis is None:
        return
    # Each instance takes at most its fair share, the partitions divided by the instances and
    # rounded up; the others' shares follow as the first hands over.
    share = -(-PARTITIONS // config.instances)
    deadline = time.monotonic() + 60
    while True:
        held = config.redis.lease_holders()
        if (len(held) == config.instances and sum(held.values()) == PARTITIONS
                and max(held.values()) <= share):
            log(f"cluster {config.label}: partitions {held}")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the partitions did not spread over the {config.instances} "
                               f"instances within 60 s: {held}")
        time.sleep(0.25)


# ---------------------------------------------------------------------- the load


@dataclass
class Wrk:
    proc: subprocess.Popen
    gate: Path
    command: list[str]
    connections: int
    events: int  # the distinct callbacks of its share


def open_gate(wrk: Wrk, timeout: float) -> int:
    """The write end of a wrk process's gate, once it has read its callbacks and waits there:
    a FIFO opened for writing without blocking fails (ENXIO) until a reader has it open."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return os.open(wrk.gate, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
        if wrk.proc.poll() is not None:
            raise RuntimeError(f"wrk exited before its run: {wrk.proc.communicate()[1][-1500:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"wrk did not read its callbacks within {timeout:.0f} s")
        time.sleep(0.01)


def start_load(config: Configuration, data: Path, lines: int, ctx: Any, gates: Path) -> list[Wrk]:
    n = config.instances
    gates.mkdir(parents=True, exist_ok=True)
    wrks: list[Wrk] = []
    for i, instance in enumerate(config.running):
        connections = ctx.connections // n + (1 if i < ctx.connections % n else 0)
        gate = gates / f"gate-{i}"
        os.mkfifo(gate)
        command = pinned(LOAD_CORE) + [
            "wrk", "-t1", f"-c{connections}", f"-d{ctx.duration}s", "--latency", "--timeout",
            "5s", "-s", str(SCRIPT), f"http://127.0.0.1:{instance.port}/webhook/{BOT}", "--",
            str(data), str(i), str(n), str(gate)]
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        wrks.append(Wrk(proc, gate, command, connections, lines // n + (1 if i < lines % n else 0)))
    return wrks


def wrk_figures(wrk: Wrk, stdout: str, stderr: str) -> dict[str, Any]:
    bench = next((l for l in stdout.splitlines() if l.startswith("BENCH ")), None)
    pct = next((l for l in stdout.splitlines() if l.startswith("PCT ")), None)
    if wrk.proc.returncode != 0 or bench is None or pct is None:
        raise RuntimeError(f"wrk failed ({wrk.proc.returncode}): {stderr[-1500:]}{stdout[-1500:]}")
    out: dict[str, Any] = {k: float(v) for k, v in (kv.split("=") for kv in bench.split()[1:])}
    out["grid"] = {float(k): float(v) for k, v in (kv.split("=") for kv in pct.split()[1:])}
    return out


def merged_percentile(runs: list[dict[str, Any]], p: float) -> float:
    """The p-th latency percentile (ms) of all the wrk processes' requests together, from each
    one's grid of percentiles: the smallest latency x at which the requests known to be at or
    below it (of each process, the largest percentile on its grid whose latency is <= x) reach
    p % of all of them. Never below the true figure, and above it by at most the grid's step."""
    total = sum(r["requests"] for r in runs)
    for x in sorted({v for r in runs for v in r["grid"].values()}):
        known = sum(r["requests"] * max((q for q, v in r["grid"].items() if v <= x), default=0.0)
                    for r in runs) / 100
        if known >= p / 100 * total - 1e-6:
            return x / 1000
    return max(r["grid"][100.0] for r in runs) / 1000


# ---------------------------------------------------------------------- one configuration


def wait_drained(instance: Instance, timeout: float) -> Optional[float]:
    """Seconds until the bot's inbox is empty (/metrics' botgate_inbox_depth: the whole bot's
    on Redis), or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if instance.metrics().get("botgate_inbox_depth", 1) == 0:
            return time.monotonic() - t0
        time.sleep(0.1)
    return None


def events_in_log(config: Configuration, work: Path) -> int:
    """The events the store's event log holds (each accepted event once, on either store)."""
    if config.redis is not None:
        return int(config.redis.cli("XLEN", f"{KEY_PREFIX}log"))
    db = work / f"cluster-{config.store}{config.instances}" / "gw-1" / "botgate.db"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        con.close()


def measure(config: Configuration, data: Path, lines: int, ctx: Any, work: Path,
            log: Callable[[str], None]) -> dict[str, Any]:
    tag = f"cluster-{config.store}{config.instances}"
    held = config.redis.lease_holders() if config.redis is not None else {}
    wrks = start_load(config, data, lines, ctx, work / tag / "gates")
    try:
        gates = [open_gate(w, timeout=300) for w in wrks]
        pids = config.server_pids()
        cpu0 = {name: cpu_seconds(pid) for name, pid in pids.items()}
        main0 = main_thread_cpu_seconds(config.redis.server.pid) if config.redis else 0.0
        commands0 = config.redis.command_stats() if config.redis else {}
        noise = Interference()
        started = time.monotonic()
        for fd in gates:
            os.write(fd, b"go\n")
            os.close(fd)
        outputs = [w.proc.communicate(timeout=ctx.duration + 120) for w in wrks]
        ran = time.monotonic() - started
        cpu_run = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        other = noise.other_load(sum(cpu_run.values()))
        runs = [wrk_figures(w, *out) for w, out in zip(wrks, outputs)]
        drained = wait_drained(config.running[0], timeout=120)
        cpu = {name: cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}
        redis_main = (main_thread_cpu_seconds(config.redis.server.pid) - main0
                      if config.redis else 0.0)
        commands1 = config.redis.command_stats() if config.redis else {}
        alive = all(i.server.alive() for i in config.running) and (
            config.redis is None or config.redis.server.alive())
        figures = [i.metrics() for i in config.running]
    finally:
        for w in wrks:
            if w.proc.poll() is None:
                w.proc.kill()
                w.proc.communicate()
    # Dead letters and the event log count for the bot as a whole: read once.
    dead = int(figures[0].get("botgate_dead_letters", 0))
    accepted_by_instances = sum(int(f.get("botgate_events_received_total", 0)) for f in figures)
    if config.redis is not None:
        inbox_items = config.redis.count_keys(f"{KEY_PREFIX}in:*")
        logged = events_in_log(config, work)
    config.stop()
    if config.redis is None:
        inbox_items = None  # the inbox depth above: SQLite has no items besides the rows
        logged = events_in_log(config, work)

    requests = int(sum(r["requests"] for r in runs))
    non2xx = int(sum(r["non2xx"] for r in runs))
    socket_errors = int(sum(r["errors"] for r in runs))
    # Distinct events answered: each process's answers up to its share; beyond it wrk repeats
    # its callbacks (duplicates, answered without a new event).
    distinct = sum(min(int(r["requests"] - r["non2xx"]), w.events) for r, w in zip(runs, wrks))
    repeats = max(0, requests - non2xx - distinct)
    in_flight = ctx.connections + socket_errors  # accepted while wrk stopped or timed out
    once = accepted_by_instances == logged and distinct <= logged <= distinct + in_flight
    botgate_cpu = sum(v for k, v in cpu.items() if k != "redis-server")
    redis_cpu = cpu.get("redis-server", 0.0)
    return {
        "benchmark": "feishu ingress, several instances",
        "server": config.label,
        "store": config.store,
        "instances": config.instances,
        "rps": round(sum(r["rps"] for r in runs)),
        "rps_split": [round(r["rps"]) for r in runs],
        "p50_ms": merged_percentile(runs, 50),
        "p99_ms": merged_percentile(runs, 99),
        "requests": requests,
        "errors": non2xx + socket_errors,
        "repeats": repeats,
        "cpu_pct": round(100 * sum(cpu_run.values()) / max(ran, 1e-6)),
        "cpu_us_per_event": round(1e6 * (botgate_cpu + redis_cpu) / logged, 1) if logged else None,
        "cpu_us_botgate": round(1e6 * botgate_cpu / logged, 1) if logged else None,
        "cpu_us_redis": round(1e6 * redis_cpu / logged, 1) if logged else None,
        "cpu_us_redis_main": round(1e6 * redis_main / logged, 1) if logged else None,
        # Per event accepted: the commands Redis ran (calls, us executing them), busiest first;
        # the rest of its main thread's time is reading the requests and writing the answers.
        "redis_commands": per_event_commands(commands0, commands1, logged),
        "accepted_by_instances": accepted_by_instances,
        "events_logged": logged,
        "distinct_answered": distinct,
        "accepted_once": once,
        "drain_s": None if drained is None else round(drained, 2),
        "inbox_items_left": inbox_items,
        "dead_letters": dead,
        "partitions": held,
        "other_load_pct": {c: round(100 * v) for c, v in other.items()},
        "crashed": not alive,
        "command": command_line(config, wrks[0], data),
    }


def per_event_commands(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]],
                       events: int) -> dict[str, tuple[float, float]]:
    if not events:
        return {}
    delta = {name: (calls - before.get(name, (0, 0))[0], usec - before.get(name, (0, 0))[1])
             for name, (calls, usec) in after.items()}
    busiest = sorted(delta.items(), key=lambda kv: -kv[1][1])
    # EVALSHA's time includes that of the commands its scripts run, which count on their own too.
    return {name: (round(calls / events, 2), round(usec / events, 1))
            for name, (calls, usec) in busiest if usec / events >= 0.05}


def command_line(config: Configuration, wrk: Wrk, data: Path) -> str:
    """The configuration's commands as the table shows them: the first instance's and wrk's,
    and how many of each ran."""
    n = config.instances
    first = config.running[0]
    line = f"{n} x " + shown(pinned(SERVER_CORE) + first.server.argv).replace(
        str(first.server.log.parent), "$TMP/gw-K")
    if config.redis is not None:
        line += " + " + shown(pinned(SERVER_CORE) + config.redis.server.argv[:11],
                              {f"--port {config.redis.port}": "--port PORT"})
    # The connections divided: the first process has the remainder of the division, if any.
    return line + f"  +  {n} x " + shown(wrk.command, {
        str(data): data.name, str(wrk.gate): "GATE",
        f"http://127.0.0.1:{first.port}": "INSTANCE-K"}).replace(
        f"{data.name} 0 {n}", f"{data.name} K-1 {n}")


def callbacks_file(ctx: Any, work: Path, log: Callable[[str], None]) -> Path:
    """The ingress part's Feishu callbacks when it ran (the same count), else new ones."""
    data = work / "feishu_callbacks.tsv"
    if data.exists():
        return data
    data = work / "cluster_callbacks.tsv"
    t0 = time.monotonic()
    write_feishu_callbacks(data, ctx.events)
    os.sync()  # written out now, not by the kernel during the runs (see ingress.bench_platform)
    log(f"cluster: {ctx.events} distinct Feishu callbacks written in "
        f"{time.monotonic() - t0:.1f}s")
    return data


def bench_cluster(ctx: Any, work: Path, log: Callable[[str], None]) -> list[dict[str, Any]]:
    data = callbacks_file(ctx, work, log)
    with data.open("rb") as f:
        lines = sum(1 for _ in f)
    configs = [Configuration("sqlite", 1)] + [Configuration("redis", n) for n in ctx.instances]
    rows = []
    for config in configs:
        t0 = time.monotonic()
        fake = FeishuFake(app_id=FEISHU_APP_ID, app_secret=FEISHU_APP_SECRET,
                          bot_open_id=FEISHU_BOT_OPEN_ID).start()
        try:
            start_configuration(config, ctx, work, fake, log)
            row = measure(config, data, lines, ctx, work, log)
        except Exception as e:  # noqa: BLE001 - one broken configuration must not hide the others
            row = {"benchmark": "feishu ingress, several instances", "server": config.label,
                   "failed": str(e)[-800:]}
        finally:
            config.stop()
            fake.stop()
        log(f"cluster {config.label} ({time.monotonic() - t0:.0f} s): {row}")
        rows.append(row)
    return rows


if __name__ == "__main__":
    raise SystemExit("run it through bench/run.py --only cluster")
