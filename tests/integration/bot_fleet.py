"""Many bots in one botgate: the five fakes (feishu, lark, wecom, discord, qq), each knowing
`per_platform` apps, and the [[bot]] tables of one bot per app. Every bot has credentials of its
own (app id and secret, WeCom app secret and agentid, Discord token, QQ app id and secret), so
each fetches its own token and each gateway bot identifies with its own credential. WeCom bots
are self-built apps (kind "app"), the WeCom kind that fetches a token at start.

Shared by tests/integration/test_many_bots.py and the benchmark (bench/many_bots.py).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from botgate_harness import discord_bot, qq_bot
from fakes.discord_fake import DiscordFake
from fakes.feishu_fake import FeishuFake
from fakes.qq_fake import QqFake
from fakes.wecom_fake import WecomFake

PLATFORMS = ("feishu", "lark", "wecom", "discord", "qq")
WECOM_CORP_ID = "ww5823bf96d3bd56c7"
WECOM_FIRST_AGENT = 1000002
TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "net"
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def _secret(*parts: object) -> str:
    """A stable credential for bot `parts`: different for each bot, the same in every run."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:32]


def _aes_key(*parts: object) -> str:
    """A WeCom EncodingAESKey: 43 letters and digits (base64 of 32 bytes, without the '=')."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:43]


class BotFleet:
    """The fakes and the bots; `start()` them, `bots()` for the config, `stop()` at the end."""

    def __init__(self, per_platform: int = 20, heartbeat_interval: int = 5000,
                 tls_gateways: bool = False) -> None:
        """tls_gateways: the Discord and QQ gateways speak wss:// with the test certificate
        (tests/testdata/net), as the platforms' do; botgate then needs `trust_env()`."""
        self.per_platform = per_platform
        n = per_platform
        self.fakes: dict[str, Any] = {
            "feishu": FeishuFake(app_id=self.feishu_app("feishu", 0),
                                 app_secret=_secret("feishu", 0)),
            "lark": FeishuFake(app_id=self.feishu_app("lark", 0), app_secret=_secret("lark", 0)),
            "wecom": WecomFake(corp_id=WECOM_CORP_ID, corp_secret=_secret("wecom", 0),
                               agent_id=WECOM_FIRST_AGENT),
            "discord": DiscordFake(token=self.discord_token(0),
                                   heartbeat_interval=heartbeat_interval),
            "qq": QqFake(app_id=self.qq_app(0), app_secret=_secret("qq", 0),
                         heartbeat_interval=heartbeat_interval),
        }
        for i in range(1, n):
            self.fakes["feishu"].add_app(self.feishu_app("feishu", i), _secret("feishu", i))
            self.fakes["lark"].add_app(self.feishu_app("lark", i), _secret("lark", i))
            self.fakes["wecom"].add_app(_secret("wecom", i), WECOM_FIRST_AGENT + i)
            self.fakes["discord"].add_bot(self.discord_token(i))
            self.fakes["qq"].add_app(self.qq_app(i), _secret("qq", i))
        if tls_gateways:
            for p in ("discord", "qq"):
                self.fakes[p].serve_tls(str(TESTDATA / "server.pem"), str(TESTDATA / "server.key"))
        self.discord_apps = {i: self.fakes["discord"].bot_identity(self.discord_token(i))[1]
                             for i in range(n)}

    @staticmethod
    def feishu_app(platform: str, i: int) -> str:
        return f"cli_{platform}_{i:03d}"

    @staticmethod
    def discord_token(i: int) -> str:
        return f"MTExMTExMTExMTExMTEx{i:03d}.GfAkE0.{_secret('discord', i)}"

    @staticmethod
    def qq_app(i: int) -> str:
        return str(102000000 + i)

    @staticmethod
    def trust_env(work: Path) -> dict[str, str]:
        """botgate's environment trusting the test CA beside the system's CAs (a bundle of the
        system's size, so that loading it costs what it costs on a real machine)."""
        bundle = work / "ca-bundle.pem"
        system = SYSTEM_CA_BUNDLE.read_bytes() if SYSTEM_CA_BUNDLE.exists() else b""
        bundle.write_bytes(system + b"\n" + (TESTDATA / "ca.pem").read_bytes())
        return dict(os.environ, SSL_CERT_FILE=str(bundle))

    def start(self) -> "BotFleet":
        for fake in self.fakes.values():
            fake.start()
        return self

    def stop(self) -> None:
        for fake in self.fakes.values():
            fake.stop()

    def bots(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i in range(self.per_platform):
            for platform in ("feishu", "lark"):
                out.append({
                    "name": f"{platform}-{i:03d}", "platform": platform,
                    "api_base": self.fakes[platform].base_url,
                    "app_id": self.feishu_app(platform, i), "app_secret": _secret(platform, i),
                    "encrypt_key": _secret(platform, "encrypt", i),
                    "verification_token": _secret(platform, "verification", i)})
            out.append({
                "name": f"wecom-{i:03d}", "platform": "wecom", "kind": "app",
                "api_base": self.fakes["wecom"].base_url,
                "token": _secret("wecom", "token", i)[:16],
                "encoding_aes_key": _aes_key("wecom", i),
                "corp_id": WECOM_CORP_ID, "corp_secret": _secret("wecom", i),
                "agent_id": WECOM_FIRST_AGENT + i})
            out.append(discord_bot(self.fakes["discord"], name=f"discord-{i:03d}",
                                   token=self.discord_token(i),
                                   application_id=self.discord_apps[i]))
            out.append(qq_bot(self.fakes["qq"], name=f"qq-{i:03d}", app_id=self.qq_app(i),
                              app_secret=_secret("qq", i)))
        return out

    def token_fetches(self) -> dict[str, int]:
        """Successful token answers per HTTP fake (Discord has no token endpoint)."""
        return {p: self.fakes[p].token_fetches for p in ("feishu", "lark", "wecom", "qq")}

    def gateways_ready(self) -> int:
        """Gateway connections (Discord and QQ) that got READY or RESUMED and are live."""
        return sum(self.fakes[p].stats()["ready_connections"] for p in ("discord", "qq"))

    def gateway_owners(self) -> set[str]:
        """The credentials (Discord tokens, QQ app ids) with a live session."""
        return self.fakes["discord"].connected_owners() | self.fakes["qq"].connected_owners()
