import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Checks below never connect: any PostgreSQL URL will do.
UNUSED_DATABASE = "postgres://nobody@127.0.0.1:1/unused"


def _manage(*args, without=(), **env):
    """manage.py in a child process with `env` added and the variables named in `without` unset."""
    full_env = {**os.environ, "DATABASE_URL": UNUSED_DATABASE, **env}
    for name in without:
        full_env.pop(name, None)
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
    result = _manage("check", without=["SECRET_KEY"], DEBUG="False")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_malformed_setting_fails_loudly():
    result = _manage("check", DEBUG="True", MAX_PURCHASE_TOTAL="lots")

    assert result.returncode != 0
    assert "MAX_PURCHASE_TOTAL must be a decimal number" in result.stderr


def test_a_database_other_than_postgresql_is_refused_in_one_line():
    result = _manage("check", DEBUG="True", DATABASE_URL="sqlite:///db.sqlite3")

    assert result.returncode != 0
    assert "DATABASE_URL must name a PostgreSQL database" in result.stderr


def test_without_database_url_the_demo_database_is_named_or_the_reason_given(tmp_path):
    result = _manage("check", without=["DATABASE_URL"], DEBUG="True", EMBEDDED_PGDATA=str(tmp_path / "none"))

    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr


def test_logs_are_json_in_production_and_plain_in_debug():
    show = ("shell", "-c", "from django.conf import settings; print(settings.LOG_FORMAT)")
    production = _manage(*show, DEBUG="False", SECRET_KEY=secrets.token_urlsafe(50), LOG_FORMAT="")
    debug = _manage(*show, DEBUG="True", LOG_FORMAT="")

    assert (production.stdout.split()[-1], debug.stdout.split()[-1]) == ("json", "plain")


def test_an_unknown_log_format_fails_loudly():
    result = _manage("check", DEBUG="True", LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "LOG_FORMAT must be json or plain" in result.stderr
