import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    full_env = {**os.environ, "DATABASE_URL": "sqlite://:memory:", **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_debug_off():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="False",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="example.com",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_off_without_a_secret_key_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "DEBUG": "False", "DATABASE_URL": "sqlite://:memory:"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_malformed_setting_fails_loudly():
    result = _manage("check", DEBUG="True", MAX_PURCHASE_TOTAL="lots")

    assert result.returncode != 0
    assert "MAX_PURCHASE_TOTAL must be a decimal number" in result.stderr


def test_logs_are_json_in_production_and_plain_in_debug():
    show = ("shell", "-c", "from django.conf import settings; print(settings.LOG_FORMAT)")
    production = _manage(*show, DEBUG="False", SECRET_KEY=secrets.token_urlsafe(50), LOG_FORMAT="")
    debug = _manage(*show, DEBUG="True", LOG_FORMAT="")

    assert (production.stdout.split()[-1], debug.stdout.split()[-1]) == ("json", "plain")


def test_an_unknown_log_format_fails_loudly():
    result = _manage("check", DEBUG="True", LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT must be json or plain" in result.stderr
