"""Chinese by default, English on switch, every message translated."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_message_has_a_chinese_translation():
    result = subprocess.run([sys.executable, "scripts/i18n.py", "check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_chinese_by_default_and_english_on_switch(client):
    assert "聊城创新服务平台" in client.get("/").get_data(as_text=True)
    client.post("/lang/en")
    html = client.get("/").get_data(as_text=True)
    assert "Liaocheng Innovation Marketplace" in html and "聊城创新服务平台" not in html
    client.post("/lang/zh")
    assert "聊城创新服务平台" in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client):
    client.post("/lang/xx")
    assert "聊城创新服务平台" in client.get("/").get_data(as_text=True)
