"""Event-stream clients for the API benchmark: N server-sent-event connections to botgate's
GET /api/v1/events, each filtered to one chat (a dashboard per chat), reading what comes.

Usage: stream_clients.py PORT TOKEN BOT CHATS_FILE N. Prints `CONNECTED n` once every stream
answered 200, then, on SIGTERM (or stdin closing), `RECEIVED events=<n> errors=<n>` and exits.
Standard library only. The clients share the load core with wrk, so they must cost little
there: each connection is an asyncio Protocol that counts the events in the bytes it is given
(one scan per read) instead of a coroutine that wakes once per line, which took several times
the CPU and slowed the load generator, not botgate.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import urllib.parse


class StreamClient(asyncio.Protocol):
    def __init__(self, request: bytes, counts: dict[str, int], opened: asyncio.Future,
                 chat: str) -> None:
        self.request, self.counts, self.opened, self.chat = request, counts, opened, chat
        self.head = b""
        self.tail = b""  # the last bytes of the previous read, for an "\nid:" split across reads
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            self.head += data
            end = self.head.find(b"\r\n")
            if end < 0:
                return
            status = self.head[:end]
            if b" 200 " not in status:
                self.opened.set_exception(RuntimeError(status.decode(errors="replace")))
                return
            self.opened.set_result(True)
            data, self.head = self.head[end:], b""
        chunk = self.tail + data
        self.counts["events"] += chunk.count(b"\nid:")
        self.tail = chunk[-3:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(RuntimeError(f"closed: {exc}"))


async def open_stream(port: int, token: str, bot: str, chat: str, counts: dict[str, int],
                      loop: asyncio.AbstractEventLoop) -> None:
    query = urllib.parse.urlencode({"bot": bot, "chat": chat})
    request = (f"GET /api/v1/events?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
               f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode()
    opened: asyncio.Future = loop.create_future()
    try:
        await loop.create_connection(lambda: StreamClient(request, counts, opened, chat),
                                     "127.0.0.1", port)
        await opened
    except (OSError, RuntimeError) as e:
        counts["errors"] += 1
        print(f"stream {chat}: {e}", file=sys.stderr, flush=True)
        raise


async def main() -> None:
    port, token, bot, chats_file, n = (int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4],
                                       int(sys.argv[5]))
    chats = [c for c in open(chats_file).read().split() if c]
    counts = {"events": 0, "errors": 0}
    loop = asyncio.get_running_loop()
    results = await asyncio.wait_for(asyncio.gather(
        *(open_stream(port, token, bot, chats[i % len(chats)], counts, loop) for i in range(n)),
        return_exceptions=True), 60)
    opened = sum(1 for r in results if not isinstance(r, BaseException))
    print(f"CONNECTED {opened}", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    print(f"RECEIVED events={counts['events']} errors={counts['errors']}", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
