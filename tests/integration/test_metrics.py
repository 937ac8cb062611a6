"""GET /metrics: the real botgate binary with a Feishu bot against the fake Open API. The scrape
is Prometheus text that counts what happened (an answered message, a forged callback), needs the
API token unless [metrics] public = true, and moves to the API's own port with [api] listen.
"""

from __future__ import annotations

import re

import feishu_crypto

from botgate_harness import (API_TOKEN, FeishuCallbacks, botgate_config, feishu_bot, free_port,
                             http_request, wait_until)

FEISHU = 'bot="feishu",platform="feishu"'


def config(fake, *, public=None, api=None):
    def make(port, db):
        text = botgate_config(port=port, db_path=db, bots=[feishu_bot(fake)], api_token=API_TOKEN,
                              api=api)
        if public is not None:
            text += f"\n[metrics]\npublic = {'true' if public else 'false'}\n"
        return text
    return make


def samples(body: bytes) -> dict[str, float]:
    """Every sample line of a scrape, by name and labels."""
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def scrape(bg, port=None):
    status, headers, body = bg.api_request("GET", "/metrics", port=port)
    assert status == 200, body
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return samples(body)


def test_the_scrape_counts_what_the_bot_did_and_needs_the_token(fake, launch):
    bg = launch(config(fake))
    assert http_request(bg.port, "GET", "/metrics")[0] == 401
    assert http_request(bg.port, "GET", "/metrics",
                        headers={"Authorization": "Bearer wrong"})[0] == 401

    before = scrape(bg)
    assert before[f"botgate_bot_ready{{{FEISHU}}}"] == 1
    assert before[f"botgate_events_received_total{{{FEISHU}}}"] == 0
    assert before["process_resident_memory_bytes"] > 1_000_000
    # The SQLite store's upkeep, each kind from zero: a new store has not checkpointed yet.
    for kind in ("checkpoint", "dedup_merge", "outbox_purge", "event_purge"):
        assert before[f'botgate_store_upkeep_total{{kind="{kind}"}}'] == 0, kind
        assert before[f'botgate_store_upkeep_seconds_total{{kind="{kind}"}}'] == 0, kind

    cb = FeishuCallbacks(bg, fake)
    assert cb.send_text("count me")[1] == 200
    wait_until(lambda: len(fake.delivered()) >= 1, 10)
    # A callback signed with another key: refused, and counted.
    forged_body = feishu_crypto.wrap(cb.message("forged"), cb.encrypt_key)
    headers = feishu_crypto.signed_headers(forged_body, "not the bot's key")
    forged = cb.post_raw(forged_body, {**headers, "Content-Type": "application/json"})
    assert forged[0] == 401, forged

    # The counter moves when the platform answers, the outbox row a moment later.
    wait_until(lambda: scrape(bg)[f"botgate_messages_sent_total{{{FEISHU}}}"] == 1, 10)
    wait_until(lambda: scrape(bg)[f"botgate_outbox_depth{{{FEISHU}}}"] == 0, 10)
    after = scrape(bg)
    assert after[f"botgate_events_received_total{{{FEISHU}}}"] == 1
    assert after[f"botgate_callbacks_rejected_total{{{FEISHU}}}"] == 1
    assert after[f"botgate_outbox_depth{{{FEISHU}}}"] == 0
    assert after[f"botgate_last_event_timestamp_seconds{{{FEISHU}}}"] > 1.7e9
    assert [d.text for d in fake.delivered()] == ["Hello, count me"], "the forged one was answered"


def test_public_metrics_need_no_token_but_still_the_host(fake, launch):
    bg = launch(config(fake, public=True))
    status, _, body = http_request(bg.port, "GET", "/metrics")
    assert status == 200 and re.search(rb"^botgate_bot_ready\{", body, re.M), body
    status, _, _ = http_request(bg.port, "GET", "/metrics",
                                headers={"Host": f"rebound.example:{bg.port}"})
    assert status == 421
    # Public metrics open nothing else.
    assert http_request(bg.port, "GET", "/api/v1/status")[0] == 401


def test_metrics_are_served_on_the_api_port_with_api_listen(fake, launch):
    api_port = free_port()
    bg = launch(config(fake, api={"listen": f"127.0.0.1:{api_port}"}))
    assert bg.api_request("GET", "/metrics")[0] == 404
    assert f"botgate_bot_ready{{{FEISHU}}}" in scrape(bg, port=api_port)
