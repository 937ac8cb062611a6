"""Event-stream clients for the API benchmark: N server-sent-event connections to botgate's
GET /api/v1/events, each filtered to one chat (a dashboard per chat), reading what comes.

Usage: stream_clients.py PORT TOKEN BOT CHATS_FILE N. Prints `CONNECTED n` once every stream
answered 200, then, on SIGTERM (or stdin closing), `RECEIVED events=<n> errors=<n>` and exits.
Standard library only (asyncio streams), so it costs little on the load core.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import urllib.parse


async def stream(port: int, token: str, bot: str, chat: str, counts: dict[str, int],
                 ready: asyncio.Event, opened: list[int], total: int) -> None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        query = urllib.parse.urlencode({"bot": bot, "chat": chat})
        writer.write((f"GET /api/v1/events?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n")
                     .encode())
        await writer.drain()
        status = await reader.readline()
        if b" 200 " not in status:
            raise RuntimeError(status.decode(errors="replace").strip())
        opened[0] += 1
        if opened[0] == total:
            ready.set()
        while line := await reader.readline():
            if line.startswith(b"id:"):
                counts["events"] += 1
    except (OSError, RuntimeError) as e:
        counts["errors"] += 1
        print(f"stream {chat}: {e}", file=sys.stderr, flush=True)


async def main() -> None:
    port, token, bot, chats_file, n = (int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4],
                                       int(sys.argv[5]))
    chats = [c for c in open(chats_file).read().split() if c]
    counts = {"events": 0, "errors": 0}
    ready = asyncio.Event()
    opened = [0]
    tasks = [asyncio.create_task(stream(port, token, bot, chats[i % len(chats)], counts, ready,
                                        opened, n))
             for i in range(n)]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await asyncio.wait_for(ready.wait(), 60)
    print(f"CONNECTED {opened[0]}", flush=True)
    await stop.wait()
    for t in tasks:
        t.cancel()
    print(f"RECEIVED events={counts['events']} errors={counts['errors']}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
