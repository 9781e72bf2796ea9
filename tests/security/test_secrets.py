"""Secrets: production refuses to start on a missing or published secret (one line naming
the variable); development generates its key once into instance/; tests keep their own."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

import config

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"SECRET_KEY": "k" * 48, "STRIPE_SECRET_KEY": "sk_live_private", "STRIPE_WEBHOOK_SECRET": "whsec_private",
        "EXTERNAL_BASE_URL": "https://marketplace.liaocheng.example"}
SECRETS = ("SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")


def _start(env_changes: dict, unset=()) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in unset and not k.startswith(tuple(GOOD))}
    env.update(env_changes)
    for key in unset:
        env.pop(key, None)
    return subprocess.run([sys.executable, "-c", "from wsgi import app"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_production_without_secrets_does_not_start_and_says_which_in_one_line(tmp_path):
    result = _start({"MARKETPLACE_CONFIG": "production"}, unset=SECRETS + ("EXTERNAL_BASE_URL",))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SECRET_KEY" in lines[0], result.stderr[-2000:]
    # With private values it starts.
    result = _start({"MARKETPLACE_CONFIG": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite'}",
                     "SEARCH_SQLITE_PATH": str(tmp_path / "s.sqlite"), "UPLOAD_DIR": str(tmp_path / "u"), **GOOD})
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("name", SECRETS + ("EXTERNAL_BASE_URL",))
def test_each_missing_secret_is_named(name):
    environ = {k: v for k, v in GOOD.items() if k != name}
    with pytest.raises(config.ConfigurationError) as refused:
        config.load("production", environ=environ)
    assert name in str(refused.value.code) and "\n" not in str(refused.value.code)


@pytest.mark.parametrize("name", SECRETS)
def test_each_published_default_is_refused(name):
    for default in sorted(config.KNOWN_DEFAULTS[name]):
        with pytest.raises(config.ConfigurationError) as refused:
            config.load("production", environ={**GOOD, name: default})
        assert name in str(refused.value.code)


def test_the_former_defaults_are_all_known():
    # The values that shipped in config.py before this check, and the development ones now.
    assert "dev-only-secret-change-me" in config.KNOWN_DEFAULTS["SECRET_KEY"]
    assert config.Config.STRIPE_SECRET_KEY in config.KNOWN_DEFAULTS["STRIPE_SECRET_KEY"]
    assert config.Config.STRIPE_WEBHOOK_SECRET in config.KNOWN_DEFAULTS["STRIPE_WEBHOOK_SECRET"]
    assert config.TestConfig.SECRET_KEY in config.KNOWN_DEFAULTS["SECRET_KEY"]


def test_a_short_session_key_and_a_plain_http_base_url_are_refused():
    with pytest.raises(config.ConfigurationError, match="SECRET_KEY"):
        config.load("production", environ={**GOOD, "SECRET_KEY": "short-but-private"})
    with pytest.raises(config.ConfigurationError, match="EXTERNAL_BASE_URL"):
        config.load("production", environ={**GOOD, "EXTERNAL_BASE_URL": "http://marketplace.liaocheng.example"})


def test_development_generates_its_key_once_into_the_instance_folder(tmp_path):
    first = config.load("development", environ={}, instance_dir=tmp_path)["SECRET_KEY"]
    again = config.load("development", environ={}, instance_dir=tmp_path)["SECRET_KEY"]
    assert first == again and len(first) >= 32
    assert (tmp_path / config.SECRET_KEY_FILE).read_text().strip() == first
    assert first not in config.KNOWN_DEFAULTS["SECRET_KEY"]
    other = config.load("development", environ={}, instance_dir=tmp_path / "elsewhere")["SECRET_KEY"]
    assert other != first  # random, not a constant
    # An explicit key wins; the instance folder is git-ignored.
    assert config.load("development", environ={"SECRET_KEY": "mine"}, instance_dir=tmp_path)["SECRET_KEY"] == "mine"
    assert "instance/" in (ROOT / ".gitignore").read_text().split()
    # Tests keep their own.
    assert config.load("test", environ={}, instance_dir=tmp_path)["SECRET_KEY"] == config.TestConfig.SECRET_KEY
