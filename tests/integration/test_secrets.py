"""No secret leaves botgate: every platform runs with distinctive secrets, real traffic goes
through (URL checks, callbacks, gateway messages, replies, a token refresh, platform errors and
outages, forged callbacks), and then everything botgate wrote or served is searched for each secret, raw
and encoded (hex, base64 at every alignment, percent- and JSON-escaped):

* its log, at trace level;
* every answer it gave: callbacks (forged ones too), /api/v1/status, /api/v1/log, the console
  page and its assets, /healthz, /readyz, /metrics, with and without the API token;
* what it POSTed to the forward service (the event JSON);
* what `botgate check` and `botgate send` print (a send that works, one that fails);
* the database file and its WAL, taken while running and after a clean stop, apart from the
  token cache (`tokens`): the access tokens the platforms hand out are kept there on purpose, so
  they are looked for in the other tables' rows instead of in the raw file.

Secrets: Feishu/Lark app secrets, encrypt keys (and the AES keys derived from them),
verification tokens and tenant tokens; WeCom callback tokens, EncodingAESKeys (and their AES
keys), the corp secret and access tokens; the Discord bot token; QQ app secrets and access
tokens; the API token; and the reply credentials the platforms hand over with a message (WeCom
group webhook keys, AI-bot response_url codes, Discord interaction tokens).
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import re
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import feishu_crypto
import wecom_crypto
from botgate_harness import (DiscordInteractions, FeishuCallbacks, QqWebhookPushes,
                             WecomCallbacks, botgate_config, discord_bot, feishu_bot, qq_bot,
                             search, wecom_bot, wait_until)
from fakes.discord_fake import DiscordFake
from fakes.feishu_fake import FeishuFake
from fakes.qq_fake import QqFake
from fakes.wecom_fake import WecomFake



def wecom_aes_key_b64(label: str) -> str:
    """A valid EncodingAESKey (43 letters and digits: 32 bytes in base64 without its '=')."""
    for i in range(1000):
        key = base64.b64encode(hashlib.sha256(f"{label} {i}".encode()).digest()).decode()
        if key.rstrip("=").isalnum():
            return key.rstrip("=")
    raise AssertionError("no key")


S = {
    "feishu_app_secret": "FsAppSecret7f3a9c2e5b1d4f60aa",
    "feishu_encrypt_key": "FsEncryptKey4b8e1f0c9d2a7e35bb",
    "feishu_verification_token": "FsVerifyTok6c1d8e2f0a9b4c73cc",
    "lark_app_secret": "LkAppSecret2e9f4a7c1b0d8e56dd",
    "lark_encrypt_key": "LkEncryptKey8a0c3e6f2d1b9a47ee",
    "lark_verification_token": "LkVerifyTok5f2a1d9c8e3b0f64ff",
    "wecom_group_token": "WcGroupTok3d7f1a9e",
    "wecom_group_aes_key": wecom_aes_key_b64("wecom group"),
    "wecom_app_token": "WcAppTok9b2e6c0d4a",
    "wecom_app_aes_key": wecom_aes_key_b64("wecom app"),
    "wecom_ai_token": "WcAiTok1c5e9a3f7b",
    "wecom_ai_aes_key": wecom_aes_key_b64("wecom ai"),
    "wecom_corp_secret": "WcCorpSecret0e4a8c2f6d1b9e73a5",
    "discord_token": "MTk4NjIyNDgzNDcxOTI1MjQ4.Gx7Ab9.DiscordBotTok3f8e2a6c0d4b1f97",
    "qq_app_secret": "QqAppSecret6a0e4c8f2b1d",
    "qq_webhook_app_secret": "QqHookSecret1f5b9d3a7c0e",
    "api_token": "ApiTok8d2f6a0c4e1b9d57a3c",
    "forward_secret": "FwdSecret4e0b8d2a6c1f9e35b7",
}
CORP_ID = "ww5823bf96d3bd56c7"


def derived_keys() -> dict[str, bytes]:
    """The AES keys botgate derives from the configured ones (they are as secret)."""
    out = {}
    for name in ("feishu_encrypt_key", "lark_encrypt_key"):
        out[name + "_aes"] = hashlib.sha256(S[name].encode()).digest()
    for name in ("wecom_group_aes_key", "wecom_app_aes_key", "wecom_ai_aes_key"):
        out[name + "_raw"] = wecom_crypto.aes_key(S[name])
    return out


class Haystacks:
    """What botgate wrote or served, by where it was found."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []

    def add(self, where: str, data: bytes) -> None:
        self.items.append((where, data))

    def answer(self, what: str, status: int, headers: dict[str, str], body: bytes) -> None:
        head = "".join(f"{k}: {v}\n" for k, v in headers.items())
        self.add(f"answer to {what} ({status})", head.encode() + b"\n" + body)


class ForwardService:
    """The operator's service behind [forward]: records what botgate POSTs, answers a reply."""

    def __init__(self) -> None:
        self.posts: list[bytes] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.posts.append(str(self.headers).encode() + b"\n" + body)
                try:
                    text = json.loads(body)["message"]["text"]
                except (ValueError, KeyError, TypeError):
                    text = ""
                out = json.dumps({"reply": f"forwarded: {text}"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/events"

    def stop(self) -> None:
        self.server.shutdown()


def db_rows_text(db_path: Path) -> list[tuple[str, bytes]]:
    """Every row of every table but `tokens`, as text, one haystack per table."""
    out = []
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            if t == "tokens":
                continue
            rows = con.execute(f'SELECT * FROM "{t}"').fetchall()
            out.append((f"database table {t}", repr(rows).encode()
                        + b"\n" + "\n".join(str(c) for r in rows for c in r).encode()))
    finally:
        con.close()
    return out


def snapshot_db(db: Path, into: Path) -> Path:
    """A copy of the database file and its WAL (botgate may be writing meanwhile)."""
    into.mkdir()
    for suffix in ("", "-wal"):
        src = Path(str(db) + suffix)
        if src.exists():
            shutil.copyfile(src, into / (db.name + suffix))
    return into / db.name


def test_no_secret_in_the_log_the_answers_the_forward_posts_or_the_database(
        launch, tmp_path, capsys):
    feishu = FeishuFake(app_id="cli_secrets_feishu", app_secret=S["feishu_app_secret"]).start()
    lark = FeishuFake(app_id="cli_secrets_lark", app_secret=S["lark_app_secret"]).start()
    wecom = WecomFake(corp_id=CORP_ID, corp_secret=S["wecom_corp_secret"],
                      agent_id=1000002).start()
    discord = DiscordFake(token=S["discord_token"], heartbeat_interval=1000,
                          identify_interval=0).start()
    qq = QqFake(app_secret=S["qq_app_secret"], heartbeat_interval=1000).start()
    qq_hook = QqFake(app_id="102000055", app_secret=S["qq_webhook_app_secret"]).start()
    forward = ForwardService()
    fakes = (feishu, lark, wecom, discord, qq, qq_hook)
    try:
        bots = [
            feishu_bot(feishu, name="feishu", encrypt_key=S["feishu_encrypt_key"],
                       verification_token=S["feishu_verification_token"]),
            feishu_bot(lark, name="lark", platform="lark", encrypt_key=S["lark_encrypt_key"],
                       verification_token=S["lark_verification_token"]),
            wecom_bot(wecom, name="wgroup", token=S["wecom_group_token"],
                      encoding_aes_key=S["wecom_group_aes_key"]),
            wecom_bot(wecom, name="wapp", kind="app", token=S["wecom_app_token"],
                      encoding_aes_key=S["wecom_app_aes_key"]),
            wecom_bot(wecom, name="wai", kind="aibot", token=S["wecom_ai_token"],
                      encoding_aes_key=S["wecom_ai_aes_key"]),
            discord_bot(discord, name="discord"),
            qq_bot(qq, name="qq", intents=["public_guild_messages", "direct_message",
                                           "group_and_c2c_event"]),
            qq_bot(qq_hook, name="qqhook", mode="webhook"),
        ]
        extra = (f'\n[api]\ntoken = "{S["api_token"]}"\n'
                 f'\n[forward]\nurl = "{forward.url}"\nsecret = "{S["forward_secret"]}"\ntimeout_ms = 3000\n')
        bg = launch(lambda port, db: botgate_config(port=port, db_path=db, bots=bots,
                                                    log_level="trace") + extra)
        db_path = bg.workdir / "botgate.db"
        hay = Haystacks()
        reply_credentials: dict[str, bytes] = {}

        # ---- URL checks
        fcb = FeishuCallbacks(bg, feishu, bot="feishu", encrypt_key=S["feishu_encrypt_key"],
                              verification_token=S["feishu_verification_token"])
        lcb = FeishuCallbacks(bg, lark, bot="lark", encrypt_key=S["lark_encrypt_key"],
                              verification_token=S["lark_verification_token"])
        for cb in (fcb, lcb):
            r = cb.post_payload(feishu_crypto.url_verification("ch-42", cb.verification_token))
            assert r[0] == 200, r
            hay.answer(f"{cb.bot} url_verification", *r)
        wg = WecomCallbacks(bg, "wgroup", token=S["wecom_group_token"],
                            encoding_aes_key=S["wecom_group_aes_key"])
        wa = WecomCallbacks(bg, "wapp", token=S["wecom_app_token"],
                            encoding_aes_key=S["wecom_app_aes_key"], receive_id=CORP_ID)
        wi = WecomCallbacks(bg, "wai", token=S["wecom_ai_token"],
                            encoding_aes_key=S["wecom_ai_aes_key"], fake=wecom)
        for cb in (wg, wa, wi):
            r = cb.verify_url()
            assert r[0] == 200, r
            hay.answer(f"{cb.bot} URL check", *r)
        qh = QqWebhookPushes(bg, qq_hook, bot="qqhook")
        status, answer, ok = qh.validate()
        assert ok, (status, answer)
        hay.answer("qqhook validation", status, {}, json.dumps(answer).encode())

        assert discord.wait_connected(10) and qq.wait_connected(10), bg.log_text()

        # ---- messages in, replies out (twice: the second round after the tokens expired)
        def one_round(tag: str) -> None:
            for cb in (fcb, lcb):
                ev = cb.message(f"{tag} {cb.bot}")
                r = cb.post_payload(ev)
                assert r[0] == 200, r
                hay.answer(f"{cb.bot} message", *r)
            key = wecom.add_webhook_key()
            reply_credentials[f"wecom_webhook_key {tag}"] = key.encode()
            xml = wecom_crypto.group_message_xml(text=f"@RobotA {tag} wgroup",
                                                 webhook_url=wecom.webhook_url(key))
            r = wg.post_plaintext(xml)
            assert r[0] == 200, r
            hay.answer("wgroup message", *r)
            xml = wecom_crypto.app_message_xml(text=f"{tag} wapp", corp_id=CORP_ID,
                                               agent_id=wecom.agent_id)
            r = wa.post_plaintext(xml, envelope={"to_user": CORP_ID,
                                                 "agent_id": str(wecom.agent_id)})
            assert r[0] == 200, r
            hay.answer("wapp message", *r)
            code = wecom.new_response_code()
            reply_credentials[f"wecom_response_code {tag}"] = code.encode()
            msg = wecom_crypto.aibot_message(text=f"{tag} wai",
                                             response_url=wecom.aibot_response_url(code))
            r = wi.post_plaintext(wecom_crypto.dumps(msg), json_body=True)
            assert r[0] == 200, r
            hay.answer("wai message", *r)
            env, r = qh.message("C2C_MESSAGE_CREATE", f"{tag} qqhook")
            assert r[0] == 200, r
            hay.answer("qqhook message", *r)
            discord.inject_message("700000000000000001", f"{tag} discord",
                                   author_id="53908232506183680")
            qq.inject("C2C_MESSAGE_CREATE", f"{tag} qq")
            ix = DiscordInteractions(bg, discord)
            payload, r = ix.command(name="ask", options=[{"type": 3, "name": "q",
                                                          "value": f"{tag} interaction"}])
            reply_credentials[f"discord_interaction_token {tag}"] = payload["token"].encode()
            assert r[0] == 200, r
            hay.answer("discord interaction", *r)

        def replies(tag: str) -> dict[str, int]:
            def n(texts):
                return sum(1 for t in texts if t and "forwarded:" in t and f"{tag} " in t)
            return {
                "feishu": n(d.text for d in feishu.delivered()),
                "lark": n(d.text for d in lark.delivered()),
                "wecom": n(d.content for d in wecom.delivered()),
                "discord": n(m.content for m in discord.messages()),
                "qq": n(m.content for m in qq.messages()),
                "qqhook": n(m.content for m in qq_hook.messages()),
            }

        expected = {"feishu": 1, "lark": 1, "wecom": 3, "discord": 1, "qq": 1, "qqhook": 1}
        one_round("first")
        wait_until(lambda: replies("first") == expected, 15)
        assert replies("first") == expected, bg.log_text()

        # ---- the platforms' errors: expired tokens (a 401 or its code, then a new token),
        # a token endpoint failing, a server error on a send, forged callbacks
        for f in (feishu, lark, wecom, qq, qq_hook):
            f.expire_all_tokens()
        feishu.fail_token(1)
        discord.force_5xx(1)
        wecom.fail_next("webhook", 1)
        body = feishu_crypto.wrap(fcb.message("forged"), S["feishu_encrypt_key"])
        headers = feishu_crypto.signed_headers(body, S["feishu_encrypt_key"])
        headers["X-Lark-Signature"] = "0" * 64
        hay.answer("forged feishu callback", *fcb.post_raw(body, headers))
        hay.answer("forged wecom callback", *wg.post_encrypted(
            wg.encrypt(wecom_crypto.group_message_xml(text="forged",
                                                      webhook_url=wecom.webhook_url())),
            msg_signature="0" * 40))
        hay.answer("forged qq push", *qh.push_envelope(
            qq_hook.make_event("C2C_MESSAGE_CREATE", "forged"), tamper="signature"))
        hay.answer("forged discord interaction", *DiscordInteractions(bg, discord).post_raw(
            b'{"type":1}', {"Content-Type": "application/json",
                            "X-Signature-Ed25519": "00" * 64, "X-Signature-Timestamp": "1"}))
        one_round("second")
        wait_until(lambda: replies("second") == expected, 20)
        assert replies("second") == expected, bg.log_text()
        # An outage: the platforms' load balancers answer 503 with an HTML page for a while.
        for f in (feishu, lark, wecom, qq, qq_hook):
            f.outage(1.0)
        one_round("third")
        wait_until(lambda: replies("third") == expected, 30)
        assert replies("third") == expected, bg.log_text()
        # A group the bot was removed from: its webhook key answers 93000, the reply fails.
        gone = wecom.add_webhook_key()
        reply_credentials["wecom_webhook_key removed"] = gone.encode()
        wecom.remove_webhook_key(gone)
        r = wg.post_plaintext(wecom_crypto.group_message_xml(
            text="@RobotA to a removed bot",
            webhook_url=f"{wecom.base_url}/cgi-bin/webhook/send?key={gone}"))
        assert r[0] == 200, r
        hay.answer("wgroup message to a removed bot", *r)
        assert wait_until(lambda: 93000 in wecom.errcodes("webhook"), 10), bg.log_text()
        for f in (feishu, wecom, qq, qq_hook):
            assert len(f.issued_tokens()) >= 2, f"{f.platform}: no token refresh happened"

        # ---- what the API and the console serve, with the token and without
        auth = {"Authorization": f"Bearer {S['api_token']}"}
        paths = ["/api/v1/status", "/api/v1/log", "/api/v1/log?limit=1000",
                 "/api/v1/messages/1", "/", "/healthz", "/readyz", "/metrics"]
        status, _, page = http_get(bg.port, "/", auth)
        paths += sorted(set(re.findall(r'(/assets/[^"\'?#\s]+)', page.decode(errors="replace"))))
        for p in paths:
            for label, h in (("with the token", auth), ("without", {})):
                hay.answer(f"GET {p} {label}", *http_get(bg.port, p, h))

        # ---- the database, while running and after a clean stop
        running = snapshot_db(db_path, tmp_path / "db-running")
        bg.stop()
        stopped = snapshot_db(db_path, tmp_path / "db-stopped")
        raw_db = []
        for snap, when in ((running, "running"), (stopped, "stopped")):
            for suffix in ("", "-wal"):
                f = Path(str(snap) + suffix)
                if f.exists():
                    raw_db.append((f"database file{suffix} ({when})", f.read_bytes()))
            hay.items += [(f"{w} ({when})", d) for w, d in db_rows_text(snap)]

        hay.add("log", bg.log_path.read_bytes())
        # The other commands: `check`, and `send` (one that works, one that fails: expired
        # tokens first, then a bot with nowhere to send).
        for f in (wecom, qq):
            f.expire_all_tokens()
        # (QQ refuses a message that answers nothing: 304045.)
        for ok, args in ((True, ["check"]),
                         (True, ["send", "--bot", "wapp", "--chat", "lisi", "from send"]),
                         (False, ["send", "--bot", "qq", "--chat",
                                  "E4F4AEA33253A2797FB897C50B81D7ED", "from send"]),
                         (False, ["send", "--bot", "wgroup", "--chat", "x", "nowhere"])):
            cmd = [str(bg.binary), args[0], "--config", str(bg.config_path), *args[1:]]
            run = subprocess.run(cmd, capture_output=True, timeout=30, cwd=bg.workdir)
            assert (run.returncode == 0) == ok, (args, run.returncode, run.stdout, run.stderr)
            hay.add(f"botgate {' '.join(args[:3])} (exit {run.returncode})",
                    run.stdout + b"\n" + run.stderr)
        hay.items += [(f"forward POST #{i}", p) for i, p in enumerate(forward.posts)]
        assert forward.posts, "the forward service got no event"

        # ---- the search
        configured = {k: v.encode() for k, v in S.items()}
        configured.update(derived_keys())
        access_tokens = {f"{name} access token #{i}": t.encode()
                         for name, f in (("feishu", feishu), ("lark", lark), ("wecom", wecom),
                                         ("qq", qq), ("qqhook", qq_hook))
                         for i, t in enumerate(f.issued_tokens())}
        leaks = search({**configured, **access_tokens, **reply_credentials}, hay.items)
        # The raw file holds the token cache: the access tokens were searched in the rows.
        leaks += search({**configured, **reply_credentials}, raw_db)

        searched = (f"searched {len(hay.items) + len(raw_db)} places "
                    f"({sum(len(d) for _, d in hay.items + raw_db)} bytes) for "
                    f"{len(configured) + len(access_tokens) + len(reply_credentials)} secrets")
        with capsys.disabled():
            print(f"\n{searched}")
        assert not leaks, "secrets found:\n" + "\n".join(
            f"{name} ({form}) in {where}: ...{ctx}..." for name, form, where, ctx in leaks)
    finally:
        forward.stop()
        for f in fakes:
            f.stop()


def http_get(port: int, path: str, headers: dict[str, str]
             ) -> tuple[int, dict[str, str], bytes]:
    from botgate_harness import http_request
    return http_request(port, "GET", path, headers=headers)
