"""What the benchmarks share: ports, pinning, RSS, processes, wrk, and botgate's config.

The machine has (at least) two cores: the server under test runs on core 0 (`taskset -c 0`),
the load (wrk, the fakes in this Python process) on core 1.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for _p in (ROOT / "tests", ROOT / "tests" / "integration"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from botgate_harness import toml_table  # noqa: E402

PYTHON = "/usr/bin/python3"  # Debian's, where python3-fastapi & co. are installed
SERVER_CORE = 0
LOAD_CORE = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multi_core() -> bool:
    return bool(shutil.which("taskset")) and (os.cpu_count() or 1) > 1


def pinned(core: int) -> list[str]:
    """`taskset -c CORE` when the machine has two cores to split, else nothing."""
    return ["taskset", "-c", str(core)] if multi_core() else []


def pin_self_to_load_core() -> None:
    """The fakes run in this process (threads inherit the mask): keep them off the server's
    core. Processes started later choose their own core with taskset."""
    if multi_core():
        os.sched_setaffinity(0, {LOAD_CORE})


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def tree_rss_kib(pid: int) -> int:
    """RSS of a process and its children (nginx: master + worker)."""
    return rss_kib(pid) + sum(tree_rss_kib(c) for c in children(pid))


def thread_cpu_seconds(pid: int) -> dict[str, float]:
    """User + system CPU time of a process's threads, summed by thread name (botgate names its
    own: botgate-store, botgate-walsync, botgate-io; the main thread is "botgate")."""
    out: dict[str, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            name, rest = (task / "stat").read_text().split(" (", 1)[1].rsplit(")", 1)
            fields = rest.split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), of the children it waited for
    (redis-server's append-only file rewrites run in a child it forks and reaps) and of its live
    children (nginx: master + worker), from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # u, s, cu, cs time
    except (OSError, IndexError, ValueError):
        return 0.0
    return own + sum(cpu_seconds(c) for c in children(pid))


def self_cpu_seconds() -> float:
    """CPU time of this process (all threads: the fakes)."""
    t = os.times()
    return t.user + t.system


def core_ticks() -> dict[int, tuple[int, int]]:
    """Per core: (busy, total) clock ticks since boot, from /proc/stat."""
    out: dict[int, tuple[int, int]] = {}
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3:4].isdigit():
            name, *vals = line.split()
            v = [int(x) for x in vals]
            idle = v[3] + (v[4] if len(v) > 4 else 0)
            out[int(name[3:])] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


class Interference:
    """How busy each core was during a measurement beyond what the measured processes used:
    other people's work on a shared machine makes a figure worthless, and the table says so."""

    def __init__(self) -> None:
        self.t0 = core_ticks()
        self.children0 = os.times()
        self.self0 = self_cpu_seconds()

    def other_load(self, server_cpu_s: float, helpers_cpu_s: float = 0.0) -> dict[int, float]:
        """Fraction of each core used by processes other than the server (core 0) and this
        process, its finished children (wrk) and the fake's helpers still running (nginx; CPU
        seconds `helpers_cpu_s`) on core 1."""
        t1, ch1 = core_ticks(), os.times()
        load_cpu = (ch1.children_user + ch1.children_system - self.children0.children_user
                    - self.children0.children_system) + (self_cpu_seconds() - self.self0)
        load_cpu += helpers_cpu_s
        hz = os.sysconf("SC_CLK_TCK")
        out: dict[int, float] = {}
        for core, own in ((SERVER_CORE, server_cpu_s), (LOAD_CORE, load_cpu)):
            if core not in t1 or core not in self.t0:
                continue
            busy = (t1[core][0] - self.t0[core][0]) / hz
            total = (t1[core][1] - self.t0[core][1]) / hz
            out[core] = max(0.0, (busy - own) / total) if total > 0 else 0.0
        return out


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


def wait_http(url: str, timeout: float = 20.0, proc: Optional[subprocess.Popen] = None,
              ok=(200,), method: str = "GET", interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with {proc.returncode}")
        try:
            req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
            with urllib.request.urlopen(req, timeout=1) as r:
                if r.status in ok:
                    return
                last = r.status
        except urllib.error.HTTPError as e:
            if e.code in ok:
                return
            last = e.code
        except OSError as e:
            last = e
        time.sleep(interval)
    raise RuntimeError(f"{url} did not answer within {timeout}s (last: {last})")


@dataclass
class Server:
    """A server process under test, started pinned to the server core (or to `core`: a fake's
    helper on the load core)."""

    name: str
    argv: list[str]
    log: Path
    env: Optional[dict[str, str]] = None
    cwd: Optional[Path] = None
    core: int = SERVER_CORE
    proc: Optional[subprocess.Popen] = field(default=None, init=False)
    ready_ms: Optional[float] = field(default=None, init=False)

    def start(self) -> "Server":
        self.proc = subprocess.Popen(pinned(self.core) + self.argv, stdin=subprocess.DEVNULL,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                     env=self.env, cwd=self.cwd, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def rss_kib(self) -> int:
        return tree_rss_kib(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def wrk_command(url: str, script: Path, data: Path, *, duration: int, connections: int,
                extra: tuple[str, ...] = ()) -> list[str]:
    return pinned(LOAD_CORE) + [
        "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s",
        "-s", str(script), url, "--", str(data), *extra]


def run_wrk(command: list[str]) -> dict[str, float]:
    """Runs wrk with one of bench/*.lua (whose done() prints `BENCH k=v ...`)."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    line = next((l for l in result.stdout.splitlines() if l.startswith("BENCH ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr[-2000:]}"
                           f"{result.stdout[-2000:]}")
    return {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}


def shown(command: list[str], replace: Optional[dict[str, str]] = None) -> str:
    """A command line as the table shows it (temp paths shortened)."""
    text = shlex.join(command)
    for k, v in (replace or {}).items():
        text = text.replace(k, v)
    return text.replace(str(ROOT) + "/", "")


def botgate_config(port: int, db: Path, bots: list[dict[str, Any]], *, echo: bool,
                   log_level: str = "warn", threads: int = 1,
                   api_token: Optional[str] = None,
                   store: Optional[dict[str, Any]] = None) -> str:
    """botgate's TOML: one I/O thread (it gets one core), the SQLite store `db` (durable inbox
    on) unless `store` gives the `[store]` table (Redis: url and instance), and `[api] token`
    when given (else botgate makes one)."""
    parts = [
        toml_table("[server]", {"listen": f"127.0.0.1:{port}", "threads": threads}),
        toml_table("[store]", store or {"url": f"sqlite://{db.resolve()}"}),
        toml_table("[log]", {"level": log_level}),
        toml_table("[echo]", {"enabled": echo, "prefix": "Hello, "}),
    ]
    if api_token is not None:
        parts.append(toml_table("[api]", {"token": api_token}))
    parts += [toml_table("[[bot]]", b) for b in bots]
    return "\n".join(parts)


def start_botgate(binary: Path, work: Path, bots: list[dict[str, Any]], *, echo: bool,
                  name: str = "botgate", ready_timeout: float = 20.0,
                  env: Optional[dict[str, str]] = None,
                  api_token: Optional[str] = None,
                  store: Optional[dict[str, Any]] = None) -> tuple[Server, int]:
    """Starts botgate pinned to the server core and waits for /readyz; `server.ready_ms` is the
    time from exec to the first 200 of /readyz (polled every 2 ms)."""
    port = free_port()
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    config = d / "botgate.toml"
    config.write_text(botgate_config(port, d / "botgate.db", bots, echo=echo,
                                     api_token=api_token, store=store))
    server = Server(name, [str(binary), "run", "--config", str(config)], d / "botgate.log",
                    cwd=d, env=env)
    t0 = time.monotonic()
    server.start()
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", ready_timeout, server.proc, interval=0.002)
        server.ready_ms = (time.monotonic() - t0) * 1000
    except Exception:
        server.stop()
        raise RuntimeError(f"botgate did not become ready:\n{server.log_tail()}")
    return server, port
