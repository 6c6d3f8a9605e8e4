"""docker-compose.yml and the Dockerfile run the entry points in bin/, the ones .ci/prod-shape runs
as processes; a typo in the compose file fails here (and in `docker-compose config`, run by
.ci/prod-shape where Debian's docker-compose is installed)."""

import json
import os
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
# The keys a compose service may have (compose specification); anything else is a typo.
SERVICE_KEYS = {
    "build", "command", "depends_on", "environment", "env_file", "healthcheck", "image", "ports",
    "restart", "volumes", "entrypoint", "user", "working_dir", "expose", "labels", "logging",
}  # fmt: skip
APP_SERVICES = {"web": "bin/web", "worker": "bin/worker", "beat": "bin/beat"}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_compose_file_has_the_production_services():
    assert set(_compose()["services"]) == {"postgres", "redis", "web", "worker", "beat"}


def test_every_service_uses_only_known_keys():
    for name, service in _compose()["services"].items():
        assert set(service) <= SERVICE_KEYS, f"{name}: unknown keys {set(service) - SERVICE_KEYS}"


def test_app_services_run_the_bin_entry_points():
    services = _compose()["services"]

    assert {name: services[name]["command"] for name in APP_SERVICES} == {k: [v] for k, v in APP_SERVICES.items()}


def test_the_dockerfile_runs_bin_web():
    cmd = re.search(r"^CMD (.+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE).group(1)

    assert json.loads(cmd) == ["bin/web"]


def test_the_entry_points_exist_and_are_executable():
    for script in APP_SERVICES.values():
        assert os.access(ROOT / script, os.X_OK), script


def test_app_services_share_production_settings():
    for name in APP_SERVICES:
        env = _compose()["services"][name]["environment"]
        assert env["DEBUG"] == "False", name
        assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN"} <= set(env), name
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), name  # required, never defaulted


def test_health_checks_probe_readiness():
    services = _compose()["services"]

    assert {name for name, service in services.items() if "healthcheck" in service} == {
        "postgres",
        "redis",
        "web",
        "worker",
    }
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    for name in ("worker", "beat"):
        assert services[name]["depends_on"] == {"web": {"condition": "service_healthy"}}, name
