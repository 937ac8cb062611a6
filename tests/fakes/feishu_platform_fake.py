#!/usr/bin/python3
"""The whole fake Feishu/Lark platform at one base URL, as a `mode = "longconn"` bot sees it:
its `api_base` serves both the long connection's endpoint (`POST /callback/ws/endpoint`, then
the WebSocket on its own port) and the Open API (`/open-apis/...`: tenant tokens, send, reply,
recall).

FeishuPlatformFake is FeishuLongConnFake and FeishuFake in one object: one HTTP server, one
request record (`requests("endpoint")` next to `requests("reply")`), one app (`app_id`,
`app_secret`) for both the endpoint and the token call, and every control and observation of
both (push_event, stop_pongs, script_endpoint, ... and delivered, hang_sends, rate_limit, ...).
Each path goes to the fake that owns it; the rules of each stay in its own file.

    fake = FeishuPlatformFake(app_id="cli_0123456789abcdef", app_secret="s3cret",
                              ping_interval=1).start()
    ... fake.push_event(body); fake.wait_acked(mid); fake.delivered() ...
    fake.stop()

Standalone: python3 tests/fakes/feishu_platform_fake.py --port 9999 --app-id X --app-secret Y
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional

if not __package__:  # run as a script: make the `fakes` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fakes.feishu_fake import RECALL_WINDOW_SECONDS, FeishuFake
from fakes.feishu_fake import Request as ApiRequest
from fakes.feishu_longconn_fake import ENDPOINT_PATH, FeishuLongConnFake
from fakes.http_fake import Response, standalone_parser


class FeishuPlatformFake(FeishuLongConnFake, FeishuFake):
    """The long-connection fake first (its start/stop also run the WebSocket server, its reset
    clears both fakes' records), the Open API fake second."""

    platform = "feishu-platform"
    # The Open API's record type: it notes the business code and the uuid of each answer.
    request_type = ApiRequest

    def __init__(self, app_id: str = "cli_a1b2c3d4e5f60718",
                 app_secret: str = "platform-secret", host: str = "127.0.0.1", port: int = 0, *,
                 bot_open_id: str = "ou_bot0000000000000000000000000000",
                 bot_name: str = "botgate", expire: int = 7200,
                 recall_window: float = RECALL_WINDOW_SECONDS, **longconn: Any) -> None:
        """`longconn`: FeishuLongConnFake's options (ws_port, ping_interval, reconnect_*,
        ack_deadline, max_deliveries, url_ttl, max_connections); the rest are FeishuFake's."""
        super().__init__(app_id=app_id, app_secret=app_secret, host=host, port=port, **longconn)
        # FeishuFake's constructor ran with its defaults (the long-connection one called it by
        # keyword); its own settings are made here.
        self.bot_open_id = bot_open_id
        self.bot_name = bot_name
        self.expire = expire
        self.recall_window = recall_window

    def _banner_details(self) -> str:
        return f"app_id {self.app_id}, WebSocket port {self.ws_port}"

    def _classify(self, path: str) -> str:
        return "endpoint" if path == ENDPOINT_PATH else FeishuFake._classify(self, path)

    async def _route(self, req, reader) -> Optional[Response]:
        if req.endpoint == "endpoint":
            return await FeishuLongConnFake._route(self, req, reader)
        return await FeishuFake._route(self, req, reader)

    def _controls(self) -> dict[str, Callable[[dict], Optional[Response]]]:
        return {**FeishuFake._controls(self), **FeishuLongConnFake._controls(self)}

    def _extra_stats(self) -> dict[str, Any]:
        return {**FeishuFake._extra_stats(self), **FeishuLongConnFake._extra_stats(self)}


def main() -> None:
    ap = standalone_parser("A fake Feishu/Lark platform: the Open API and the long connection "
                           "at one base URL.")
    ap.add_argument("--ws-port", type=int)
    ap.add_argument("--app-id")
    ap.add_argument("--app-secret")
    ap.add_argument("--bot-open-id")
    ap.add_argument("--ping-interval", type=float)
    ap.add_argument("--reconnect-interval", type=float)
    ap.add_argument("--reconnect-nonce", type=float)
    ap.add_argument("--ack-deadline", type=float)
    FeishuPlatformFake(**vars(ap.parse_args())).serve_forever()


if __name__ == "__main__":
    main()
