"""`botgate send` to a WeCom group bot: markdown and image messages through the configured
webhook_url (text is covered in test_wecom.py), checked by the strict fake (image base64 + md5,
size limit)."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import struct
import zlib

from botgate_harness import botgate_config, free_port, wecom_bot, wait_until


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG made here, so the test needs no binary fixture."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b""))


def send(binary, tmp_path, fake, key, *args):
    cfg = tmp_path / "botgate.toml"
    bot = wecom_bot(fake, token=None, encoding_aes_key=None, webhook_url=fake.webhook_url(key))
    cfg.write_text(botgate_config(port=free_port(), db_path=tmp_path / "botgate.db", bots=[bot]))
    return subprocess.run([str(binary), "send", "--config", str(cfg), "--bot", "wecom",
                           "--chat", "any", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)


def test_send_markdown(wecom_fake, binary, tmp_path):
    key = wecom_fake.add_webhook_key()
    proc = send(binary, tmp_path, wecom_fake, key, "--markdown", "**状态**: ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wait_until(lambda: len(wecom_fake.delivered(key=key)) >= 1, 10)
    [d] = wecom_fake.delivered(key=key)
    assert d.msgtype == "markdown"
    assert d.content == "**状态**: ok"


def test_send_image(wecom_fake, binary, tmp_path):
    key = wecom_fake.add_webhook_key()
    image = png_bytes()
    path = tmp_path / "dot.png"
    path.write_bytes(image)
    proc = send(binary, tmp_path, wecom_fake, key, "--image", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    wait_until(lambda: len(wecom_fake.delivered(key=key)) >= 1, 10)
    [d] = wecom_fake.delivered(key=key)
    assert d.msgtype == "image"
    assert base64.b64decode(d.body["image"]["base64"]) == image
    assert d.body["image"]["md5"] == hashlib.md5(image).hexdigest()


def test_send_image_over_the_limit_fails_without_a_request(wecom_fake, binary, tmp_path):
    key = wecom_fake.add_webhook_key()
    path = tmp_path / "big.png"
    path.write_bytes(png_bytes() + b"\x00" * (2 * 1024 * 1024 + 1))
    proc = send(binary, tmp_path, wecom_fake, key, "--image", str(path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "at most 2 MB" in proc.stderr, proc.stderr
    assert wecom_fake.count("webhook") == 0


def test_send_without_text_or_image_is_a_usage_error(wecom_fake, binary, tmp_path):
    key = wecom_fake.add_webhook_key()
    proc = send(binary, tmp_path, wecom_fake, key)
    assert proc.returncode == 2, proc.stdout + proc.stderr
