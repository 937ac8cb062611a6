"""One botgate hosting 100 bots, 20 per platform (feishu, lark, wecom, discord, qq), each with
its own credentials against the fakes (tests/integration/bot_fleet.py): all of them become
ready, each fetched its own token and each gateway bot holds a session of its own, and a bot
answers with its own credential, not another bot's."""

from __future__ import annotations

import json
import time

import pytest

from bot_fleet import BotFleet
from botgate_harness import Botgate, FeishuCallbacks, botgate_config, free_port, wait_until

PER_PLATFORM = 20


@pytest.fixture
def fleet():
    f = BotFleet(PER_PLATFORM, heartbeat_interval=5000).start()
    yield f
    f.stop()


def by_name(bots: list[dict], name: str) -> dict:
    return next(b for b in bots if b["name"] == name)


def test_a_hundred_bots_become_ready_each_with_its_own_credentials(fleet, launch):
    bots = fleet.bots()
    assert len(bots) == 5 * PER_PLATFORM
    started = time.monotonic()
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=bots,
                                                log_level="info"))
    ready_after = time.monotonic() - started

    status, body = bg.api_get("/readyz")
    assert status == 200
    states = json.loads(body)["bots"]
    assert {b["name"] for b in states} == {b["name"] for b in bots} | {"sandbox"}
    assert all(b["ready"] for b in states), [b for b in states if not b["ready"]]
    # Ready means every bot's sender is prepared: each token-based bot fetched a token of its
    # own (one fetch per app, not one shared), and Discord's checked its token.
    fetched = fleet.token_fetches()
    assert fetched == {p: PER_PLATFORM for p in ("feishu", "lark", "wecom", "qq")}, fetched
    for p in ("feishu", "lark", "wecom", "qq"):
        owners = {fleet.fakes[p].token_owner(t) for t in fleet.fakes[p].issued_tokens()}
        assert len(owners) == PER_PLATFORM, (p, owners)
    assert fleet.fakes["discord"].count("users_me") == PER_PLATFORM

    # Every gateway bot identifies with its own credential and gets READY (a bot whose session
    # went to another bot's credential would leave one missing here).
    want = ({fleet.discord_token(i) for i in range(PER_PLATFORM)}
            | {fleet.qq_app(i) for i in range(PER_PLATFORM)})
    assert wait_until(lambda: fleet.gateway_owners() == want, 10), want - fleet.gateway_owners()
    assert fleet.fakes["discord"].stats()["identify_rate_limited"] == 0
    # Loose bound, far above the benchmark's figure: a start that connects the bots one after
    # another (100 token fetches, 40 gateway handshakes in turn) would show here first.
    assert ready_after < 8, ready_after


def test_each_bot_answers_with_its_own_token(fleet, launch):
    bots = fleet.bots()
    bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=bots))
    for platform, i in (("feishu", 0), ("feishu", 7), ("lark", 19)):
        bot = by_name(bots, f"{platform}-{i:03d}")
        fake = fleet.fakes[platform]
        cb = FeishuCallbacks(bg, fake, bot=bot["name"], encrypt_key=bot["encrypt_key"],
                             verification_token=bot["verification_token"])
        before = len(fake.delivered())
        _, status = cb.send_text(f"hi {bot['name']}", app_id=bot["app_id"])
        assert status == 200
        assert wait_until(lambda: len(fake.delivered()) > before, 10)
        reply = fake.delivered()[-1]
        assert reply.text == f"Hello, hi {bot['name']}"
        assert fake.token_owner(reply.token) == bot["app_id"]
    # A gateway event reaches the bot whose session it came on, which answers it.
    fake = fleet.fakes["discord"]
    assert wait_until(lambda: fleet.gateway_owners() >= {fleet.discord_token(0)}, 10)
    fake.inject_message("3000000000000000001", "hi discord")
    assert wait_until(lambda: any(d.content == "Hello, hi discord" for d in fake.delivered()), 10)


def test_a_hundred_bots_with_gateways_over_tls(binary, tmp_path):
    # The platforms' gateways are wss://: every gateway bot's connection is TLS, each verified
    # against the trust store (the system's CAs plus the test CA), which they share.
    fleet = BotFleet(PER_PLATFORM, heartbeat_interval=5000, tls_gateways=True).start()
    port = free_port()
    bg = Botgate(binary, tmp_path, botgate_config(port=port, db_path=tmp_path / "botgate.db",
                                                  bots=fleet.bots()), port)
    try:
        assert fleet.fakes["discord"].gateway_url.startswith("wss://")
        bg.start(env=BotFleet.trust_env(tmp_path))
        want = ({fleet.discord_token(i) for i in range(PER_PLATFORM)}
                | {fleet.qq_app(i) for i in range(PER_PLATFORM)})
        assert wait_until(lambda: fleet.gateway_owners() == want, 15), \
            want - fleet.gateway_owners()
    finally:
        bg.cleanup()
        fleet.stop()
