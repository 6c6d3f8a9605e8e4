"""/healthz (the process is up) and /readyz (database, Redis and migrations current), separately."""

import pytest
from django.db.migrations.recorder import MigrationRecorder

from loyalty import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def fresh_readiness(monkeypatch):
    monkeypatch.setattr(health, "_migrations_current", False)


def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_probes_by_ip_are_answered_whatever_allowed_hosts_says(client):
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")

    assert response.status_code == 200


def test_readyz_reports_database_redis_and_migrations(client, fresh_readiness):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "migrations": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_unavailable_while_redis_is_unreachable(client, settings, fresh_readiness):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable", "migrations": "ok"}


def test_readyz_is_unavailable_while_a_migration_is_unapplied(client, fresh_readiness):
    latest = MigrationRecorder.Migration.objects.filter(app="messaging").order_by("-name").first()
    latest.delete()  # as if the code were newer than the database (rolled back after the test)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["migrations"] == "pending"


def test_health_endpoints_refuse_writes(client):
    response = client.post("/healthz")

    assert response.status_code == 405
