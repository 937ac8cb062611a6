"""Runs the real botgate binary for the integration tests: config files, start, readiness,
stop / kill -9 / restart, the log, and HTTP helpers for callbacks."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest

import feishu_crypto
from fakes.http_fake import wait_until  # noqa: F401 - the tests import it from here too

REPO = Path(__file__).resolve().parents[2]
#: A token for tests that configure one (botgate_config(api_token=API_TOKEN)).
API_TOKEN = "it-" + secrets.token_hex(16)
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


def binary_path() -> Path:
    env = os.environ.get("BOTGATE_BINARY")
    return Path(env) if env else REPO / "build" / "botgate"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------- config


def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        # A TOML basic string accepts JSON's escapes (\" \\ \n \t \uXXXX).
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def toml_table(header: str, values: dict[str, Any]) -> str:
    lines = [header]
    lines += [f"{k} = {toml_value(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"


def feishu_bot(
    fake: Any,
    *,
    name: str = "feishu",
    platform: str = "feishu",
    encrypt_key: Optional[str] = "test key",
    verification_token: Optional[str] = "v3rif1cat10n",
    app_secret: Optional[str] = None,
    mode: Optional[str] = None,
) -> dict[str, Any]:
    """A [[bot]] table for a Feishu/Lark bot talking to `fake`. `mode` None writes no `mode`
    (botgate's default, webhook); "longconn" has events come over the long connection, for
    which `fake` must serve the endpoint too (a FeishuPlatformFake) and the key and token may
    be None (left out). Any value None is left out."""
    return {
        "name": name,
        "platform": platform,
        "mode": mode,
        "api_base": fake.base_url,
        "app_id": fake.app_id,
        "app_secret": fake.app_secret if app_secret is None else app_secret,
        "encrypt_key": encrypt_key,
        "verification_token": verification_token,
    }


def botgate_config(
    *,
    port: int,
    db_path: Path,
    bots: list[dict[str, Any]],
    rules: list[dict[str, Any]] = (),
    echo: bool = True,
    echo_prefix: str = "Hello, ",
    log_level: str = "debug",
    api_token: Optional[str] = None,
    api: Optional[dict[str, Any]] = None,
    store: Optional[dict[str, Any]] = None,
) -> str:
    """The config text. An [api] table only when `api_token` or `api` (listen, allowed_hosts)
    is given: without a token botgate makes one, which Botgate.api_token reads from the log.
    `store` replaces the [store] table (a Redis one: {"url": "redis://..."}); by default a
    SQLite database at `db_path`."""
    parts = [
        toml_table("[server]", {"listen": f"127.0.0.1:{port}"}),
        toml_table("[store]", store or {"url": f"sqlite://{db_path.resolve()}"}),
        toml_table("[log]", {"level": log_level}),
        toml_table("[echo]", {"enabled": echo, "prefix": echo_prefix}),
    ]
    if api_token is not None or api:
        parts.append(toml_table("[api]", {"token": api_token, **(api or {})}))
    parts += [toml_table("[[rule]]", r) for r in rules]
    parts += [toml_table("[[bot]]", b) for b in bots]
    return "\n".join(parts)


# ---------------------------------------------------------------------- secrets


def encoded_forms(secret: bytes) -> dict[str, bytes]:
    """The ways `secret` could show up: raw, hex, base64 and base64url (the part of the
    encoding that is the same wherever the secret starts in the encoded data), percent-encoded,
    JSON-escaped."""
    forms = {"raw": secret, "hex": secret.hex().encode(), "HEX": secret.hex().upper().encode()}
    for k in range(3):
        for name, enc in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            full = enc(b"\0" * k + secret)
            core = full[4 if k else 0:len(full) - 4]
            forms[f"{name}@{k}"] = core
    try:
        text = secret.decode()
    except UnicodeDecodeError:
        return forms
    forms["percent"] = urllib.parse.quote(text, safe="").encode()
    forms["json"] = json.dumps(text)[1:-1].encode()
    return forms


def search(needles: dict[str, bytes], haystacks: list[tuple[str, bytes]]
           ) -> list[tuple[str, str, str, str]]:
    """(secret, form, where, context) for every occurrence."""
    found = []
    for name, secret in needles.items():
        seen: set[bytes] = set()
        for form, pattern in encoded_forms(secret).items():
            if len(pattern) < 12 or pattern in seen:
                continue
            seen.add(pattern)
            for where, data in haystacks:
                at = data.find(pattern)
                if at >= 0:
                    ctx = data[max(0, at - 60):at + len(pattern) + 20].decode(errors="replace")
                    found.append((name, form, where, ctx))
    return found


# ---------------------------------------------------------------------- HTTP


def http_request(
    port: int,
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        return exchange(conn, method, path, body, headers)
    finally:
        conn.close()


def exchange(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on `conn`, left open: (status, headers with lower-case names, body)."""
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


def json_or_none(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def chunked_post(target: str, body: bytes) -> bytes:
    """A raw keep-alive HTTP/1.1 POST of the JSON `body`, sent as one chunk."""
    head = (f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    return head.encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def pipelined(
    port: int, request: bytes, n: int
) -> Iterator[tuple[bytes, dict[str, str], bytes]]:
    """Sends the raw `request` `n` times on one connection before reading any answer, then
    yields each answer as it is read: (status line, headers with lower-case names, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(request * n)
        f = s.makefile("rb")
        for _ in range(n):
            status = f.readline()
            headers: dict[str, str] = {}
            while (line := f.readline()) != b"\r\n":
                k, v = line.decode().split(":", 1)
                k, v = k.lower(), v.strip()
                headers[k] = headers[k] + ", " + v if k in headers else v
            yield status, headers, f.read(int(headers.get("content-length", "0")))
    finally:
        s.close()


# ---------------------------------------------------------------------- the process


class Botgate:
    """One botgate process (`botgate run --config FILE`) with its own dir, port and db."""

    def __init__(self, binary: Path, workdir: Path, config_text: str, port: int) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port
        self.config_path = workdir / "botgate.toml"
        self.config_path.write_text(config_text)
        self.log_path = workdir / "botgate.log"
        self.proc: Optional[subprocess.Popen] = None
        self.starts = 0
        self._api_token: Optional[str] = None

    # lifecycle --------------------------------------------------------------

    def start(self, wait_ready: bool = True, env: Optional[dict[str, str]] = None) -> "Botgate":
        if not self.binary.exists():
            pytest.fail(f"botgate binary not found at {self.binary} "
                        "(build it, or set BOTGATE_BINARY)")
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"==== harness: start #{self.starts} ====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [str(self.binary), "run", "--config", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env if env is not None else os.environ.copy(),
                start_new_session=True,
            )
        if wait_ready:
            self.wait_status("/readyz", 200, READY_TIMEOUT)
        else:
            self.wait_status("/healthz", 200, READY_TIMEOUT)
        return self

    def wait_status(self, path: str, status: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(
                    f"botgate exited with {self.proc.returncode} before {path} answered "
                    f"{status}\n--- log ---\n{self.log_text()}"
                )
            try:
                last = self.get(path, timeout=1.0)[0]
                if last == status:
                    return
            except OSError as e:
                last = repr(e)
            time.sleep(0.05)
        pytest.fail(
            f"botgate {path} did not answer {status} within {timeout}s (last: {last})\n"
            f"--- log ---\n{self.log_text()}"
        )

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, expect_code: int = 0) -> int:
        """SIGTERM, wait, and check the exit status (0 by default)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill9()
                pytest.fail(f"botgate did not exit within {STOP_TIMEOUT}s of SIGTERM\n"
                            f"--- log ---\n{self.log_text()}")
        code = self.proc.returncode
        assert code == expect_code, (
            f"botgate exited with {code}, expected {expect_code}\n--- log ---\n{self.log_text()}"
        )
        return code

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self, wait_ready: bool = True) -> "Botgate":
        """Starts again with the same config, port and database (stop or kill9 first)."""
        assert not self.running(), "stop() or kill9() before restart()"
        return self.start(wait_ready=wait_ready)

    def cleanup(self) -> None:
        """Teardown: never leave a process behind, whatever the test did."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # HTTP ---------------------------------------------------------------------

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
        status, _, body = http_request(self.port, "GET", path, timeout=timeout)
        return status, body

    def console_urls(self) -> list[str]:
        """Every console URL botgate logged ("console: http://..."), in order."""
        return re.findall(r"console: (http://\S+)", self.log_text())

    @property
    def api_token(self) -> str:
        """What api_request() sends: the token set here, else [api] token from the config file,
        else the one botgate made (from the last console URL it logged)."""
        if self._api_token is not None:
            return self._api_token
        configured = tomllib.loads(self.config_path.read_text()).get("api", {}).get("token", "")
        if configured and "${" not in configured:
            return configured
        made = [u.split("#token=", 1)[1] for u in self.console_urls() if "#token=" in u]
        assert made, f"botgate logged no console URL with a token\n{self.log_text()}"
        return made[-1]

    @api_token.setter
    def api_token(self, token: str) -> None:
        self._api_token = token

    def api_request(self, method: str, path: str, body: Optional[bytes] = None,
                    headers: Optional[dict[str, str]] = None, port: Optional[int] = None,
                    timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        """A request to the API with `Authorization: Bearer <self.api_token>` (and a JSON
        Content-Type when there is a body), on `port` (default: the [server] port)."""
        h = {"Authorization": f"Bearer {self.api_token}"}
        if body is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return http_request(self.port if port is None else port, method, path, body=body,
                            headers=h, timeout=timeout)

    def api_get(self, path: str, port: Optional[int] = None) -> tuple[int, bytes]:
        status, _, body = self.api_request("GET", path, port=port)
        return status, body

    def post(self, path: str, body: bytes, headers: Optional[dict[str, str]] = None,
             timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        h = {"Content-Type": "application/json; charset=utf-8"}
        h.update(headers or {})
        return http_request(self.port, "POST", path, body=body, headers=h, timeout=timeout)


class FeishuCallbacks:
    """Posts Feishu event callbacks to /webhook/<bot>, encrypted and signed like the platform."""

    def __init__(self, bg: Botgate, fake: Any, bot: str = "feishu",
                 encrypt_key: Optional[str] = "test key",
                 verification_token: str = "v3rif1cat10n") -> None:
        self.bg = bg
        self.fake = fake
        self.bot = bot
        self.encrypt_key = encrypt_key
        self.verification_token = verification_token

    @property
    def path(self) -> str:
        return f"/webhook/{self.bot}"

    def post_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return self.bg.post(self.path, body, headers)

    def post_payload(self, payload: dict) -> tuple[int, dict[str, str], bytes]:
        """Wraps (encrypts when the bot has a key), signs and posts `payload`."""
        body = feishu_crypto.wrap(payload, self.encrypt_key)
        return self.post_raw(body, feishu_crypto.signed_headers(body, self.encrypt_key))

    def message(self, text: str, **kw: Any) -> dict:
        kw.setdefault("token", self.verification_token)
        kw.setdefault("app_id", self.fake.app_id)
        return feishu_crypto.message_event(text=text, **kw)

    def send_text(self, text: str, **kw: Any) -> tuple[dict, int]:
        """Posts a text message event; returns (the event, the HTTP status)."""
        ev = self.message(text, **kw)
        status, _, _ = self.post_payload(ev)
        return ev, status


# ---------------------------------------------------------------------- WeCom

import wecom_crypto  # noqa: E402
from wecom_aibot_streams import AibotStream, AibotStreamFollower, nonce_of  # noqa: E402

WECOM_TOKEN = "QDG6eK-botgate"
WECOM_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def wecom_bot(
    fake: Any,
    *,
    name: str = "wecom",
    kind: str = "group",
    token: Optional[str] = WECOM_TOKEN,
    encoding_aes_key: Optional[str] = WECOM_AES_KEY,
    corp_id: Optional[str] = None,
    corp_secret: Optional[str] = None,
    agent_id: Optional[int] = None,
    webhook_url: Optional[str] = None,
) -> dict[str, Any]:
    """A [[bot]] table for a WeCom bot talking to `fake` (a WecomFake).

    kind "app" takes corp_id, corp_secret and agent_id from the fake unless given."""
    bot: dict[str, Any] = {
        "name": name,
        "platform": "wecom",
        "kind": kind,
        "api_base": fake.base_url,
        "token": token,
        "encoding_aes_key": encoding_aes_key,
        "webhook_url": webhook_url,
    }
    if kind == "app":
        bot["corp_id"] = fake.corp_id if corp_id is None else corp_id
        bot["corp_secret"] = fake.corp_secret if corp_secret is None else corp_secret
        bot["agent_id"] = fake.agent_id if agent_id is None else agent_id
    elif corp_id is not None:
        bot["corp_id"] = corp_id
    return bot


class WecomCallbacks:
    """Sends WeCom callbacks to /webhook/<bot>, encrypted and signed like the platform
    (WXBizMsgCrypt, receive id = the corp id for apps, "" for group bots and AI bots).

    An AI bot's message answered with a passive stream is followed as WeCom follows it: refresh
    callbacks until the stream finishes (wecom_aibot_streams.py; `streams` has what each showed).
    With `fake`, each finished stream is recorded there as a delivery (WecomFake.
    record_aibot_stream), beside what botgate POSTs to response_urls."""

    def __init__(self, bg: Botgate, bot: str = "wecom", token: str = WECOM_TOKEN,
                 encoding_aes_key: str = WECOM_AES_KEY, receive_id: str = "",
                 fake: Any = None, refresh_interval: float = 0.3) -> None:
        self.bg = bg
        self.bot = bot
        self.token = token
        self.encoding_aes_key = encoding_aes_key
        self.receive_id = receive_id
        on_finish = None
        if fake is not None:
            def on_finish(stream: AibotStream) -> None:
                fake.record_aibot_stream(stream.response_url, stream.final or "")
        self.streams = AibotStreamFollower(self._post_json, token=token,
                                           encoding_aes_key=encoding_aes_key,
                                           interval=refresh_interval, on_finish=on_finish)

    @property
    def path(self) -> str:
        return f"/webhook/{self.bot}"

    def encrypt(self, msg: bytes | str, receive_id: Optional[str] = None) -> str:
        rid = self.receive_id if receive_id is None else receive_id
        return wecom_crypto.encrypt(self.encoding_aes_key, msg, rid)

    def verify_url(self, plaintext: str = "1616140317555161061", *,
                   receive_id: Optional[str] = None, msg_signature: Optional[str] = None,
                   echostr: Optional[str] = None) -> tuple[int, dict[str, str], bytes]:
        """GET /webhook/<bot>?msg_signature&timestamp&nonce&echostr (URL-encoded)."""
        enc = echostr if echostr is not None else self.encrypt(plaintext, receive_id)
        q = wecom_crypto.signed_query(self.token, enc, echostr=True, msg_signature=msg_signature)
        return http_request(self.bg.port, "GET", f"{self.path}?{q}")

    def post_encrypted(self, msg_encrypt: str, *, json_body: bool = False,
                       msg_signature: Optional[str] = None,
                       envelope: Optional[dict[str, Any]] = None,
                       ) -> tuple[int, dict[str, str], bytes]:
        """POSTs an already encrypted message: XML <xml><Encrypt>..</Encrypt></xml>, or for AI
        bots JSON {"encrypt": ..}; signed unless `msg_signature` overrides it."""
        return self._post_signed(msg_encrypt, json_body=json_body, msg_signature=msg_signature,
                                 envelope=envelope)[:3]

    def _post_signed(self, msg_encrypt: str, *, json_body: bool = False,
                     msg_signature: Optional[str] = None,
                     envelope: Optional[dict[str, Any]] = None,
                     ) -> tuple[int, dict[str, str], bytes, str]:
        q = wecom_crypto.signed_query(self.token, msg_encrypt, msg_signature=msg_signature)
        if json_body:
            body = wecom_crypto.dumps({"encrypt": msg_encrypt})
            ctype = "application/json"
        else:
            body = wecom_crypto.envelope_xml(msg_encrypt, **(envelope or {}))
            ctype = "text/xml"
        return (*self.post_raw(q, body, ctype), nonce_of(q))

    def _post_json(self, plaintext: bytes) -> tuple[int, dict[str, str], bytes, str]:
        return self._post_signed(self.encrypt(plaintext), json_body=True)

    def post_raw(self, query: str, body: bytes, content_type: str = "text/xml",
                 ) -> tuple[int, dict[str, str], bytes]:
        return http_request(self.bg.port, "POST", f"{self.path}?{query}", body=body,
                            headers={"Content-Type": content_type})

    def post_plaintext(self, plaintext: str | bytes, *, json_body: bool = False,
                       receive_id: Optional[str] = None,
                       envelope: Optional[dict[str, Any]] = None,
                       ) -> tuple[int, dict[str, str], bytes]:
        """Encrypts, signs and POSTs a decrypted callback body (XML, or JSON for AI bots)."""
        status, headers, body, nonce = self._post_signed(
            self.encrypt(plaintext, receive_id), json_body=json_body, envelope=envelope)
        if json_body:
            try:
                message = json.loads(plaintext)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("msgtype") not in ("stream", "event"):
                self.streams.answered(message, status, body, nonce)
        return status, headers, body

    def group_message(self, text: str, *, webhook_url: str, **kw: Any) -> tuple[str, int]:
        """Posts a group-bot text callback; returns (the plaintext XML, the HTTP status)."""
        xml = wecom_crypto.group_message_xml(text=text, webhook_url=webhook_url, **kw)
        return xml, self.post_plaintext(xml)[0]

    def app_message(self, text: str, *, corp_id: str, agent_id: int, **kw: Any,
                    ) -> tuple[str, int]:
        xml = wecom_crypto.app_message_xml(text=text, corp_id=corp_id, agent_id=agent_id, **kw)
        env = {"to_user": corp_id, "agent_id": str(agent_id)}
        return xml, self.post_plaintext(xml, envelope=env)[0]

    def aibot_message(self, text: str, *, response_url: str, **kw: Any) -> tuple[dict, int]:
        msg = wecom_crypto.aibot_message(text=text, response_url=response_url, **kw)
        return msg, self.post_plaintext(wecom_crypto.dumps(msg), json_body=True)[0]


# ---------------------------------------------------------------------- Discord

import secrets  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

# The Ed25519 seed of the notes' self-generated interaction vector (section 7): 32 bytes of 0x01.
DISCORD_SIGNING_SEED = bytes([1]) * 32


def discord_signing_key(seed: bytes = DISCORD_SIGNING_SEED) -> Ed25519PrivateKey:
    """The private key that signs interactions "as Discord" (its public key goes in the config)."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def discord_public_key(seed: bytes = DISCORD_SIGNING_SEED) -> str:
    """The portal's "Public Key": 64 hex chars."""
    raw = discord_signing_key(seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def discord_sign(body: bytes, timestamp: str, seed: bytes = DISCORD_SIGNING_SEED) -> str:
    """X-Signature-Ed25519: hex(Ed25519(timestamp || raw body)) (notes 4.2)."""
    return discord_signing_key(seed).sign(timestamp.encode() + body).hex()


def discord_signed_headers(body: bytes, *, timestamp: Optional[str] = None,
                           seed: bytes = DISCORD_SIGNING_SEED) -> dict[str, str]:
    """The headers Discord sends with an interaction POST (timestamp: now by default)."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    return {
        "Content-Type": "application/json",
        "User-Agent": "Discord-Interactions/1.0 (+https://discord.com)",
        "X-Signature-Ed25519": discord_sign(body, ts, seed),
        "X-Signature-Timestamp": ts,
    }


def discord_bot(
    fake: Any,
    *,
    name: str = "discord",
    token: Optional[str] = None,
    application_id: Optional[str] = None,
    public_key: Optional[str] = None,
    intents: Optional[list[str]] = None,
    shard_count: Optional[int] = None,
    shards: Optional[list[int]] = None,
    api_base: Optional[str] = None,
    **extra: Any,
) -> dict[str, Any]:
    """A [[bot]] table for a Discord bot talking to `fake` (a DiscordFake): REST at
    fake.api_base (the gateway URL then comes from GET /gateway/bot), the fake's token and
    application id, and the public key of DISCORD_SIGNING_SEED unless given. Keys left None are
    not written; `extra` adds or overrides keys (DESIGN.md: token, application_id, public_key,
    intents, shard_count, shards)."""
    bot: dict[str, Any] = {
        "name": name,
        "platform": "discord",
        "api_base": fake.api_base if api_base is None else api_base,
        "token": fake.token if token is None else token,
        "application_id": fake.application_id if application_id is None else application_id,
        "public_key": discord_public_key() if public_key is None else public_key,
        "intents": intents,
        "shard_count": shard_count,
        "shards": shards,
    }
    bot.update(extra)
    return bot


def discord_interaction(
    *,
    application_id: str,
    token: Optional[str] = None,
    interaction_id: Optional[str] = None,
    type: int = 2,
    name: str = "ask",
    options: Optional[list[dict[str, Any]]] = None,
    channel_id: str = "645027906669510667",
    guild_id: Optional[str] = "290926798626357999",
    user_id: str = "53908232506183680",
    username: str = "mason",
) -> dict[str, Any]:
    """An interaction as Discord posts it (notes 4.3): type 1 PING, 2 APPLICATION_COMMAND
    (`name` with `options`, default one string option "q"), ...; `member` in guilds, `user` in
    DMs (guild_id None)."""
    iid = interaction_id or str(1100000000000000000 + secrets.randbelow(10**17))
    payload: dict[str, Any] = {
        "type": type,
        "id": iid,
        "application_id": application_id,
        "token": token or "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48),
        "version": 1,
    }
    if type == 1:
        payload["user"] = {"id": user_id, "username": username}
        return payload
    user = {"id": user_id, "username": username, "discriminator": "0", "global_name": None,
            "avatar": None}
    payload.update({"channel_id": channel_id, "locale": "en-US", "app_permissions": "442368"})
    if guild_id is not None:
        payload.update({"guild_id": guild_id, "guild_locale": "en-US",
                        "member": {"user": user, "roles": [], "permissions": "2147483647"}})
    else:
        payload["user"] = user
    if type == 2:
        payload["data"] = {
            "type": 1, "name": name, "id": "771825006014889984",
            "options": options if options is not None else [{"type": 3, "name": "q",
                                                             "value": "hello"}],
        }
    return payload


class DiscordInteractions:
    """Posts interactions to /webhook/<bot>, signed like Discord (DISCORD_SIGNING_SEED); with a
    fake, each command's token is registered there so botgate's webhook calls are accepted."""

    def __init__(self, bg: Botgate, fake: Any = None, bot: str = "discord",
                 seed: bytes = DISCORD_SIGNING_SEED) -> None:
        self.bg = bg
        self.fake = fake
        self.bot = bot
        self.seed = seed

    @property
    def path(self) -> str:
        return f"/webhook/{self.bot}"

    def post_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return http_request(self.bg.port, "POST", self.path, body=body, headers=headers)

    def post_payload(self, payload: dict, *, timestamp: Optional[str] = None,
                     ) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return self.post_raw(body, discord_signed_headers(body, timestamp=timestamp,
                                                          seed=self.seed))

    def ping(self) -> tuple[int, dict[str, str], bytes]:
        app = self.fake.application_id if self.fake is not None else "123456789012345678"
        return self.post_payload(discord_interaction(application_id=app, type=1))

    def command(self, **kw: Any) -> tuple[dict, tuple[int, dict[str, str], bytes]]:
        """Posts an APPLICATION_COMMAND (kw: see discord_interaction); returns (it, answer)."""
        if self.fake is not None:
            kw.setdefault("application_id", self.fake.application_id)
        payload = discord_interaction(**kw)
        if self.fake is not None:
            self.fake.register_interaction_token(payload["token"], payload["id"],
                                                 channel_id=payload.get("channel_id"))
        return payload, self.post_payload(payload)


# ---------------------------------------------------------------------- QQ


def qq_seed(app_secret: str) -> bytes:
    """The Ed25519 seed QQ derives from the AppSecret: the secret cycled to 32 bytes (notes 3.2)."""
    raw = app_secret.encode()
    if not raw:
        raise ValueError("empty app secret")
    while len(raw) < 32:
        raw += raw
    return raw[:32]


def qq_signing_key(app_secret: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(qq_seed(app_secret))


def qq_public_key(app_secret: str) -> str:
    """The public key (64 hex chars) of the pair derived from the AppSecret."""
    raw = qq_signing_key(app_secret).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def qq_sign(message: bytes, app_secret: str) -> str:
    """hex(Ed25519(key derived from the secret, message)), lower-case, 128 chars."""
    return qq_signing_key(app_secret).sign(message).hex()


def qq_verify(message: bytes, signature_hex: str, app_secret: str) -> bool:
    """True when `signature_hex` is a valid signature of `message` by the derived key."""
    from cryptography.exceptions import InvalidSignature
    try:
        sig = bytes.fromhex(signature_hex)
    except (ValueError, TypeError):
        return False
    if len(sig) != 64:
        return False
    try:
        qq_signing_key(app_secret).public_key().verify(sig, message)
    except InvalidSignature:
        return False
    return True


def qq_bot(
    fake: Any,
    *,
    name: str = "qq",
    mode: str = "gateway",
    intents: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """A [[bot]] table for a QQ bot talking to `fake` (a QqFake): its app id and secret, the
    fake's OpenAPI base and token URL, sandbox false. `intents` None is not written (botgate's
    default applies); `extra` adds or overrides keys (a value None drops the key)."""
    bot: dict[str, Any] = {
        "name": name,
        "platform": "qq",
        "app_id": fake.app_id,
        "app_secret": fake.app_secret,
        "mode": mode,
        "intents": intents,
        "sandbox": False,
        "api_base": fake.api_base,
        "token_url": fake.token_url,
    }
    bot.update(extra)
    return bot


#: What QqWebhookPushes' tamper= accepts.
QQ_TAMPERS = ("body", "signature", "timestamp", "wrong_key", "no_signature", "no_timestamp",
              "short_signature", "upper_hex", "appid")


class QqWebhookPushes:
    """Posts QQ webhook callbacks to botgate's /webhook/<bot>, signed like the platform: header
    X-Signature-Ed25519 = hex(Ed25519(seed(secret), X-Signature-Timestamp || raw body)),
    X-Signature-Timestamp, X-Bot-Appid, User-Agent QQBot-Callback (notes 3.1-3.4).

    Every method returns (status, headers with lower-case names, body bytes) except validate().
    `tamper` (one of QQ_TAMPERS) breaks one thing after signing: "body" changes a byte of the
    body, "signature" flips a bit of the signature, "timestamp" sends another timestamp than the
    signed one, "wrong_key" signs with another secret, "no_signature"/"no_timestamp" omit the
    header, "short_signature" sends 63 bytes, "upper_hex" sends the (valid) signature in upper
    case, "appid" sends another X-Bot-Appid."""

    def __init__(self, bg: Botgate, fake: Any = None, bot: str = "qq", *,
                 app_id: Optional[str] = None, app_secret: Optional[str] = None) -> None:
        self.bg = bg
        self.fake = fake
        self.bot = bot
        self.app_id = app_id if app_id is not None else fake.app_id
        self.app_secret = app_secret if app_secret is not None else fake.app_secret

    @property
    def path(self) -> str:
        return f"/webhook/{self.bot}"

    def signed_headers(self, body: bytes, *, timestamp: Optional[str] = None,
                       tamper: Optional[str] = None) -> dict[str, str]:
        if tamper is not None and tamper not in QQ_TAMPERS:
            raise ValueError(f"unknown tamper {tamper!r}")
        ts = timestamp if timestamp is not None else str(int(time.time()))
        secret = self.app_secret + "x" if tamper == "wrong_key" else self.app_secret
        sig = qq_sign(ts.encode() + body, secret)
        if tamper == "signature":
            sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
        elif tamper == "short_signature":
            sig = sig[:126]
        elif tamper == "upper_hex":
            sig = sig.upper()
        h = {
            "Content-Type": "application/json",
            "User-Agent": "QQBot-Callback",
            "X-Signature-Ed25519": sig,
            "X-Signature-Timestamp": str(int(ts) + 1) if tamper == "timestamp" else ts,
            "X-Bot-Appid": self.app_id + "9" if tamper == "appid" else self.app_id,
        }
        if tamper == "no_signature":
            del h["X-Signature-Ed25519"]
        if tamper == "no_timestamp":
            del h["X-Signature-Timestamp"]
        return h

    def post_raw(self, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        return http_request(self.bg.port, "POST", self.path, body=body, headers=headers)

    def post_body(self, body: bytes, *, timestamp: Optional[str] = None,
                  tamper: Optional[str] = None) -> tuple[int, dict[str, str], bytes]:
        """Signs the raw `body` (exact bytes) and posts it."""
        headers = self.signed_headers(body, timestamp=timestamp, tamper=tamper)
        if tamper == "body":
            body = body.replace(b"}", b" }", 1) if b"}" in body else body + b" "
        return self.post_raw(body, headers)

    def validate(self, plain_token: str = "Arq0D5A61EgUu4OxUvOp",
                 event_ts: Optional[str] = None, *, tamper: Optional[str] = None,
                 ) -> tuple[int, Any, bool]:
        """Op 13 callback URL validation. Returns (status, the JSON answer or None, ok) where ok
        means: the answer is {"plain_token": the same, "signature": hex(Ed25519(event_ts ||
        plain_token))} and the signature verifies with the secret's derived public key."""
        ts = event_ts if event_ts is not None else str(int(time.time()))
        body = json.dumps({"d": {"plain_token": plain_token, "event_ts": ts}, "op": 13},
                          separators=(",", ":"), ensure_ascii=False).encode()
        status, _, data = self.post_body(body, timestamp=ts, tamper=tamper)
        answer = json_or_none(data)
        ok = (status == 200 and isinstance(answer, dict)
              and answer.get("plain_token") == plain_token
              and isinstance(answer.get("signature"), str)
              and qq_verify((ts + plain_token).encode(), answer["signature"], self.app_secret))
        return status, answer, ok

    def push(self, t: str, d: dict, event_id: Optional[str] = None, *,
             timestamp: Optional[str] = None, tamper: Optional[str] = None,
             ) -> tuple[int, dict[str, str], bytes]:
        """An op 0 dispatch {"op":0,"id":event_id,"d":d,"t":t} (no "s", as QQ's webhook sends);
        event_id defaults to "<t>:<random>"."""
        eid = event_id if event_id is not None else f"{t}:{secrets.token_hex(24)}"
        env = {"op": 0, "id": eid, "d": d, "t": t}
        return self.push_envelope(env, timestamp=timestamp, tamper=tamper)

    def push_envelope(self, envelope: dict, *, timestamp: Optional[str] = None,
                      tamper: Optional[str] = None) -> tuple[int, dict[str, str], bytes]:
        """Posts a ready envelope, e.g. QqFake.make_event(...) (which registers the message so
        botgate's reply is accepted). Serialised with UTF-8 as is (not ASCII-escaped)."""
        body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()
        return self.post_body(body, timestamp=timestamp, tamper=tamper)

    def message(self, kind: str, content: str, **kw: Any
                ) -> tuple[dict, tuple[int, dict[str, str], bytes]]:
        """fake.make_event(kind, content, **kw) posted as a push; returns (envelope, answer)."""
        env = self.fake.make_event(kind, content, **kw)
        return env, self.push_envelope(env)
