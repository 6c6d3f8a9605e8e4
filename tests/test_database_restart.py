"""After a PostgreSQL restart, the first request on an idle worker still gets a working connection.

A private embedded PostgreSQL (devtools/embedded_postgres.py) is restarted under a child process
that holds a persistent connection, as a gunicorn worker does (CONN_MAX_AGE): the shared test
server is never touched. The child runs requests' connection handling as Django's handler does
(`request_started` / `request_finished`, where connections are checked and recycled).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.embedded_postgres import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import sys
import django
django.setup()
from django.core import signals
from django.db import connection

def request():
    signals.request_started.send(sender=None)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    except Exception as exc:
        return type(exc).__name__
    finally:
        signals.request_finished.send(sender=None)

print(request(), flush=True)
sys.stdin.readline()
print(request(), flush=True)
"""


@pytest.fixture(scope="module")
def private_server(tmp_path_factory):
    server = EmbeddedPostgres(tmp_path_factory.mktemp("restart") / "pgdata").start()
    server.ensure_database("restart")
    yield server
    server.stop()


def _request_before_and_after_a_restart(server, health_checks: bool) -> tuple[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "loyalty.settings",
        "DATABASE_URL": server.url("restart"),
        "CONN_MAX_AGE": "600",
        "CONN_HEALTH_CHECKS": str(health_checks),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        before = child.stdout.readline().strip()
        server.restart()
        child.stdin.write("\n")
        child.stdin.flush()
        after = child.stdout.readline().strip()
    finally:
        child.kill()
        child.wait()
    return before, after


def test_the_first_request_after_a_database_restart_succeeds(private_server):
    assert _request_before_and_after_a_restart(private_server, health_checks=True) == ("ok", "ok")


def test_without_health_checks_that_request_would_fail(private_server):
    """The control: the restart really breaks a persistent connection (what CONN_HEALTH_CHECKS is for)."""
    before, after = _request_before_and_after_a_restart(private_server, health_checks=False)

    assert (before, after) == ("ok", "OperationalError")
