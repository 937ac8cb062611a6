#!/usr/bin/python3
"""The reference Discord bot: discord.py (Debian's python3-discord), the way its guide shows a
bot that answers messages: a Client with the message_content intent and an on_message handler
that replies ("Hello, <content>") to every message that is not from a bot.

Pointed at a local fake Discord instead of discord.com, which takes four adjustments that do not
change how messages are handled:
* REST: `discord.http.Route.BASE` = --api-base (plain http);
* Gateway: the URL comes from GET /gateway/bot of that base (discord.py 2.2 otherwise dials
  wss://gateway.discord.gg), without zlib-stream transport compression and with Identify
  "compress": false (the fake speaks plain JSON frames only);
* login skips GET /oauth2/applications/@me (the fake does not serve it): the application id is
  given instead.

    discord_py_bot.py --api-base http://127.0.0.1:PORT/api/v10 --token T --application-id ID
"""

from __future__ import annotations

import argparse
import logging
import types

import discord
import discord.gateway
import discord.http
import yarl

_from_client = discord.gateway.DiscordWebSocket.from_client.__func__
_send_as_json = discord.gateway.DiscordWebSocket.send_as_json


async def _from_client_plain(cls, client, **kw):
    kw["zlib"] = False
    return await _from_client(cls, client, **kw)


async def _send_as_json_plain(self, data):
    if data.get("op") == self.IDENTIFY:
        data["d"]["compress"] = False
    await _send_as_json(self, data)


discord.gateway.DiscordWebSocket.from_client = classmethod(_from_client_plain)
discord.gateway.DiscordWebSocket.send_as_json = _send_as_json_plain


class EchoBot(discord.Client):
    def __init__(self, application_id: int) -> None:
        intents = discord.Intents.default()
        intents.message_content = True
        super().__init__(intents=intents, application_id=application_id)
        self._app_id = application_id

    async def application_info(self):  # the fake has no /oauth2/applications/@me
        return types.SimpleNamespace(id=self._app_id, flags=discord.ApplicationFlags())

    async def setup_hook(self) -> None:
        _, url = await self.http.get_bot_gateway(zlib=False)
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url).with_query(None)

    async def on_ready(self) -> None:
        print(f"ready as {self.user}", flush=True)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        await message.reply(f"Hello, {message.content}", mention_author=False)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api-base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--application-id", type=int, required=True)
    a = p.parse_args()
    discord.http.Route.BASE = a.api_base.rstrip("/")
    EchoBot(a.application_id).run(a.token, log_level=logging.WARNING)


if __name__ == "__main__":
    main()
