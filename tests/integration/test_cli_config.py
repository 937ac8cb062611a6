"""The botgate command line and config validation (DESIGN.md section 3, "Commands", "Config"):
exit status 0 on success, 2 for bad usage or a bad config, with a message that names the file,
the line and the key."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from botgate_harness import free_port


TIMEOUT = 10

GOOD = """\
[server]
listen = "127.0.0.1:18080"
threads = 1

[store]
url = "sqlite://{db}"

[log]
level = "debug"

[echo]
enabled = true
prefix = "Hello, "

[[rule]]
match = "^ping$"
reply = "pong {{user_id}}"

[[bot]]
name = "feishu"
platform = "feishu"
api_base = "http://127.0.0.1:9"
app_id = "cli_test"
app_secret = "secret-123"
encrypt_key = "test key"
verification_token = "v3rif1cat10n"
"""

BOT = """\
[[bot]]
name = "{name}"
platform = "{platform}"
api_base = "http://127.0.0.1:9"
app_id = "cli_test"
app_secret = "{secret}"
verification_token = "v3rif1cat10n"
"""


@pytest.fixture
def botgate(binary):
    def run(*args, env=None):
        e = os.environ.copy()
        e.pop("UNSET_VAR_XYZ", None)
        e.update(env or {})
        return subprocess.run([str(binary), *args], capture_output=True, text=True,
                              timeout=TIMEOUT, env=e, stdin=subprocess.DEVNULL)
    return run


def head(tmp_path: Path) -> str:
    return GOOD.split("[[bot]]")[0].format(db=tmp_path / "botgate.db")


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def bot(name="feishu", platform="feishu", secret="secret-123") -> str:
    return BOT.format(name=name, platform=platform, secret=secret)


def line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def assert_bad_config(res, path: Path, key: str | None, line: int | None):
    msg = res.stderr
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert path.name in msg, f"the error should name the file: {msg!r}"
    if key is not None:
        assert key in msg, f"the error should name the key {key!r}: {msg!r}"
    if line is not None:
        assert re.search(rf"(:{line}\b|line {line}\b)", msg), (
            f"the error should name line {line}: {msg!r}")


def test_version(botgate):
    res = botgate("version")
    assert res.returncode == 0, res.stderr
    assert re.search(r"\d+\.\d+", res.stdout), res.stdout


def test_check_good_config(botgate, tmp_path):
    cfg = write(tmp_path, "good.toml", GOOD.format(db=tmp_path / "botgate.db"))
    res = botgate("check", "--config", str(cfg))
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "secret-123" not in res.stdout + res.stderr


def test_unknown_key(botgate, tmp_path):
    text = GOOD.format(db=tmp_path / "botgate.db").replace("listen =", "lissen =")
    cfg = write(tmp_path, "typo.toml", text)
    assert_bad_config(botgate("check", "--config", str(cfg)), cfg, "lissen",
                      line_of(text, "lissen"))


def test_unknown_key_in_bot(botgate, tmp_path):
    text = head(tmp_path) + bot() + 'app_secert = "x"\n'
    cfg = write(tmp_path, "bot_typo.toml", text)
    assert_bad_config(botgate("check", "--config", str(cfg)), cfg, "app_secert",
                      line_of(text, "app_secert"))


def test_wrong_type(botgate, tmp_path):
    text = GOOD.format(db=tmp_path / "botgate.db").replace("threads = 1", 'threads = "x"')
    cfg = write(tmp_path, "type.toml", text)
    assert_bad_config(botgate("check", "--config", str(cfg)), cfg, "threads",
                      line_of(text, "threads"))


def test_unknown_platform(botgate, tmp_path):
    text = head(tmp_path) + bot(platform="telegraph")
    cfg = write(tmp_path, "platform.toml", text)
    assert_bad_config(botgate("check", "--config", str(cfg)), cfg, "platform",
                      line_of(text, "telegraph"))


def test_missing_required_key(botgate, tmp_path):
    text = head(tmp_path) + "\n".join(l for l in bot().splitlines() if "app_id" not in l) + "\n"
    cfg = write(tmp_path, "missing.toml", text)
    assert_bad_config(botgate("check", "--config", str(cfg)), cfg, "app_id", None)


def test_duplicate_bot_names(botgate, tmp_path):
    text = head(tmp_path) + bot() + "\n" + bot()
    cfg = write(tmp_path, "dup.toml", text)
    assert_bad_config(botgate("check", "--config", str(cfg)), cfg, "name", None)


def test_uppercase_bot_name(botgate, tmp_path):
    text = head(tmp_path) + bot(name="Feishu")
    cfg = write(tmp_path, "upper.toml", text)
    assert_bad_config(botgate("check", "--config", str(cfg)), cfg, "name",
                      line_of(text, '"Feishu"'))


def test_toml_syntax_error(botgate, tmp_path):
    text = head(tmp_path) + '[[bot]]\nname = "feishu\nplatform = "feishu"\n'
    cfg = write(tmp_path, "syntax.toml", text)
    assert_bad_config(botgate("check", "--config", str(cfg)), cfg, None,
                      line_of(text, 'name = "feishu'))


def test_unset_variable_skips_bot(botgate, tmp_path):
    text = head(tmp_path) + bot(secret="${UNSET_VAR_XYZ}")
    cfg = write(tmp_path, "unset.toml", text)
    res = botgate("check", "--config", str(cfg))
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "UNSET_VAR_XYZ" in res.stdout + res.stderr, "the warning should name the variable"


def test_unset_variable_of_a_key_the_kind_needs_skips_the_bot(botgate, tmp_path):
    # corp_secret is optional for WeCom in general but needed by kind "app": an unset variable
    # there skips the bot like a required key would, naming the variable; it is no config error.
    text = head(tmp_path) + (
        '[[bot]]\nname = "wecom-app"\nplatform = "wecom"\nkind = "app"\n'
        'corp_id = "ww1"\ncorp_secret = "${UNSET_VAR_XYZ}"\nagent_id = 1000002\n'
        'token = "t"\nencoding_aes_key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"\n')
    cfg = write(tmp_path, "unset_kind.toml", text)
    res = botgate("check", "--config", str(cfg))
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "wecom-app" in res.stdout and "UNSET_VAR_XYZ" in res.stdout, res.stdout


def test_empty_value_of_a_key_the_kind_needs_is_a_config_error(botgate, tmp_path):
    text = head(tmp_path) + (
        '[[bot]]\nname = "wecom-app"\nplatform = "wecom"\nkind = "app"\n'
        'corp_id = "ww1"\ncorp_secret = ""\nagent_id = 1000002\n'
        'token = "t"\nencoding_aes_key = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"\n')
    cfg = write(tmp_path, "empty_kind.toml", text)
    res = botgate("check", "--config", str(cfg))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "corp_secret" in res.stderr and str(cfg) in res.stderr, res.stderr


def test_onebot_serve_without_an_access_token_is_a_config_error(botgate, tmp_path):
    # The forward WebSocket speaks for every user of its bots: it is never open.
    text = head(tmp_path) + bot() + "[onebot]\nserve = true\n"
    cfg = write(tmp_path, "onebot_open.toml", text)
    for command in ("check", "run"):
        assert_bad_config(botgate(command, "--config", str(cfg)), cfg, "onebot.access_token",
                          line_of(text, "[onebot]"))
    ok = write(tmp_path, "onebot_token.toml", text + 'access_token = "0123456789abcdef"\n')
    res = botgate("check", "--config", str(ok))
    assert res.returncode == 0, (res.stdout, res.stderr)


def feishu_bot_without_keys(platform: str, keys: str) -> str:
    return (f'[[bot]]\nname = "{platform}-open"\nplatform = "{platform}"\n'
            f'api_base = "http://127.0.0.1:9"\napp_id = "cli_test"\napp_secret = "secret-123"\n'
            + keys)


@pytest.mark.parametrize("platform", ["feishu", "lark"])
@pytest.mark.parametrize("keys", ["", 'encrypt_key = ""\nverification_token = ""\n'])
def test_feishu_bot_with_neither_key_is_a_config_error(botgate, tmp_path, platform, keys):
    # Nothing would tell its callbacks from forgeries: `check` and `run` refuse it, naming the
    # file, the bot's line and both keys (either one is enough).
    text = head(tmp_path) + feishu_bot_without_keys(platform, keys)
    cfg = write(tmp_path, "open.toml", text)
    line = line_of(text, f'name = "{platform}-open"') - 1  # its [[bot]] line
    assert text.splitlines()[line - 1] == "[[bot]]"
    for command in ("check", "run"):
        res = botgate(command, "--config", str(cfg))
        assert_bad_config(res, cfg, "encrypt_key", line)
        assert "verification_token" in res.stderr, res.stderr
        assert "listening" not in res.stderr, res.stderr
    one_key = head(tmp_path) + feishu_bot_without_keys(platform, 'encrypt_key = "k"\n')
    cfg_ok = write(tmp_path, "one_key.toml", one_key)
    res = botgate("check", "--config", str(cfg_ok))
    assert res.returncode == 0, (res.stdout, res.stderr)


def test_feishu_bot_whose_key_variables_are_unset_is_a_config_error(botgate, tmp_path):
    # As in examples/botgate.toml with FEISHU_APP_ID and FEISHU_APP_SECRET exported but neither
    # key: refused loudly, naming the variables, not skipped and not run unchecked.
    keys = ('encrypt_key = "${UNSET_VAR_XYZ}"\n'
            'verification_token = "${BOTGATE_TEST_UNSET_TOKEN_VAR}"\n')
    text = head(tmp_path) + feishu_bot_without_keys("feishu", keys)
    cfg = write(tmp_path, "unset_keys.toml", text)
    assert "BOTGATE_TEST_UNSET_TOKEN_VAR" not in os.environ
    res = botgate("check", "--config", str(cfg))
    assert_bad_config(res, cfg, "verification_token", line_of(text, 'name = "feishu-open"') - 1)
    assert "encrypt_key" in res.stderr, res.stderr
    assert "UNSET_VAR_XYZ" in res.stderr and "BOTGATE_TEST_UNSET_TOKEN_VAR" in res.stderr, (
        res.stderr)
    # With the token exported the bot starts checking it.
    res = botgate("check", "--config", str(cfg), env={"BOTGATE_TEST_UNSET_TOKEN_VAR": "tok"})
    assert res.returncode == 0, (res.stdout, res.stderr)


def test_a_redis_store_url_is_checked_and_its_password_never_shown(botgate, tmp_path):
    sqlite = f'sqlite://{tmp_path / "botgate.db"}'
    text = head(tmp_path).replace(sqlite, "redis://:hunter2-secret@127.0.0.1:99999/0")
    cfg = write(tmp_path, "redis.toml", text)
    res = botgate("check", "--config", str(cfg))
    assert_bad_config(res, cfg, "store.url", line_of(text, "redis://"))
    assert "port" in res.stderr and "hunter2-secret" not in res.stderr, res.stderr
    # `run` refuses it the same way, before anything starts.
    res = botgate("run", "--config", str(cfg))
    assert_bad_config(res, cfg, "store.url", line_of(text, "redis://"))
    assert "hunter2-secret" not in res.stderr + res.stdout

    # A good URL with no Redis there: `check` and `run` open the store as they do a SQLite
    # file, and stop (exit 1) naming where they tried, not the password.
    port = free_port()
    text = head(tmp_path).replace(sqlite, f"redis://:hunter2-secret@127.0.0.1:{port}/1")
    cfg = write(tmp_path, "redis_ok.toml", text)
    for command in ("check", "run"):
        res = botgate(command, "--config", str(cfg))
        assert res.returncode == 1, (command, res.returncode, res.stdout, res.stderr)
        assert f"127.0.0.1:{port}" in res.stderr, res.stderr
        assert "hunter2-secret" not in res.stderr + res.stdout


def test_json_log_lines_parse(botgate, tmp_path):
    text = head(tmp_path).replace('level = "debug"', 'level = "debug"\nformat = "json"')
    text += bot(secret="${UNSET_VAR_XYZ}")
    cfg = write(tmp_path, "json_log.toml", text)
    res = botgate("check", "--config", str(cfg))
    assert res.returncode == 0, (res.stdout, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert lines, "the skipped bot should be logged"
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any("UNSET_VAR_XYZ" in r["msg"] and r["level"].startswith("warn") for r in records)
    assert all({"time", "level", "msg"} <= r.keys() for r in records)


def test_set_variable_is_substituted(botgate, tmp_path):
    text = head(tmp_path) + bot(secret="${BOTGATE_TEST_SECRET_VAR}")
    cfg = write(tmp_path, "set.toml", text)
    res = botgate("check", "--config", str(cfg), env={"BOTGATE_TEST_SECRET_VAR": "s-xyz-123"})
    assert res.returncode == 0, (res.stdout, res.stderr)
    assert "BOTGATE_TEST_SECRET_VAR" not in res.stdout + res.stderr  # no skip warning
    assert "s-xyz-123" not in res.stdout + res.stderr


def test_run_missing_config(botgate, tmp_path):
    res = botgate("run", "--config", str(tmp_path / "nope.toml"))
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert "nope.toml" in res.stderr


def test_no_arguments(botgate):
    res = botgate()
    assert res.returncode == 2, (res.stdout, res.stderr)


def test_unknown_subcommand(botgate):
    res = botgate("frobnicate")
    assert res.returncode == 2, (res.stdout, res.stderr)
