#!/usr/bin/env python3
"""botgate benchmarks a user can run (`make bench`).

Today: ingress of encrypted, signed Feishu callbacks (verify, decrypt, parse, dedup, durable
inbox, ack), each a distinct event, through wrk with botgate pinned to one core and the load on
the other. Prints a table with the figures and the command behind them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import feishu_crypto  # noqa: E402
from fakes.feishu_fake import FeishuFake  # noqa: E402

ENCRYPT_KEY = "bench-encrypt-key"
TOKEN = "bench-verification"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pinned(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and os.cpu_count() > 1 else []


def wait_ready(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit("botgate did not become ready")


def write_callbacks(path: Path, count: int, app_id: str) -> None:
    with path.open("w") as out:
        for i in range(count):
            event = feishu_crypto.message_event(text=f"hello {i}", token=TOKEN, app_id=app_id)
            body = feishu_crypto.wrap(event, ENCRYPT_KEY)
            timestamp, nonce = str(int(time.time())), f"n{i}"
            signature = feishu_crypto.sign(timestamp, nonce, ENCRYPT_KEY, body)
            out.write(f"{timestamp}\t{nonce}\t{signature}\t{body.decode()}\n")


def bench_feishu_ingress(binary: Path, args: argparse.Namespace, work: Path) -> dict:
    fake = FeishuFake(app_id="cli_bench", app_secret="bench-secret").start()
    port = free_port()
    config = work / "botgate.toml"
    config.write_text(
        f'[server]\nlisten = "127.0.0.1:{port}"\nthreads = 1\n'
        f'[store]\nurl = "sqlite://{work / "bench.db"}"\n'
        '[log]\nlevel = "warn"\n[echo]\nenabled = false\n'
        f'[[bot]]\nname = "feishu"\nplatform = "feishu"\napi_base = "{fake.base_url}"\n'
        f'app_id = "cli_bench"\napp_secret = "bench-secret"\n'
        f'encrypt_key = "{ENCRYPT_KEY}"\nverification_token = "{TOKEN}"\n'
    )
    callbacks = work / "callbacks.tsv"
    write_callbacks(callbacks, args.events, "cli_bench")
    server = subprocess.Popen(pinned(0) + [str(binary), "run", "--config", str(config)],
                              stderr=open(work / "botgate.log", "w"))
    try:
        wait_ready(port)
        idle_rss = rss_kib(server.pid)
        command = pinned(1) + [
            "wrk", "-t1", f"-c{args.connections}", f"-d{args.duration}s", "--latency",
            "-s", str(ROOT / "bench" / "feishu_callbacks.lua"),
            f"http://127.0.0.1:{port}/webhook/feishu", "--", str(callbacks)]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        line = next(l for l in result.stdout.splitlines() if l.startswith("BENCH "))
        figures = dict(kv.split("=") for kv in line.split()[1:])
        figures["rss_idle_mib"] = f"{idle_rss / 1024:.1f}"
        figures["rss_after_mib"] = f"{rss_kib(server.pid) / 1024:.1f}"
        figures["command"] = " ".join(command[:-3]) + " URL -- callbacks.tsv"
        return figures
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", default="build")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--events", type=int, default=100_000,
                        help="distinct callbacks generated; wrk cycles through them")
    args = parser.parse_args()
    binary = (ROOT / args.build / "botgate").resolve()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk (make bench installs it)")
    with tempfile.TemporaryDirectory(prefix="botgate-bench-") as tmp:
        f = bench_feishu_ingress(binary, args, Path(tmp))
    print(f"\n{'benchmark':<34}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'non-200':>9}{'RSS idle':>10}{'RSS after':>10}")
    print(f"{'feishu ingress (encrypted+signed)':<34}{f['rps']:>10}{f['p50_ms']:>9}"
          f"{f['p99_ms']:>9}{f['errors']:>8}{f['non200']:>9}{f['rss_idle_mib'] + ' MiB':>10}"
          f"{f['rss_after_mib'] + ' MiB':>10}")
    print(f"\ncommand: {f['command']}")
    print(json.dumps({"feishu_ingress": f}))


if __name__ == "__main__":
    main()
