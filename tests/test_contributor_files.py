"""The pre-commit configuration stays in step with what `make lint` and `make test` run.

Nothing here reaches the network: the ruff hook is read, not run (pre-commit would clone it).
"""

import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def _pre_commit_repos() -> list[dict]:
    return yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"]


def test_the_pre_commit_configuration_is_valid():
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_pre_commit_runs_the_ruff_version_the_project_pins():
    pins = dict(
        line.split("==", 1) for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if "==" in line
    )
    ruff = next(repo for repo in _pre_commit_repos() if repo["repo"] == "https://github.com/astral-sh/ruff-pre-commit")

    assert ruff["rev"] == f"v{pins['ruff']}"
    assert [hook["id"] for hook in ruff["hooks"]] == ["ruff-check", "ruff-format"]


def test_the_makemigrations_hook_passes_on_this_tree():
    local = next(repo for repo in _pre_commit_repos() if repo["repo"] == "local")
    hook = next(hook for hook in local["hooks"] if hook["id"] == "makemigrations-check")

    result = subprocess.run(shlex.split(hook["entry"]), cwd=ROOT, capture_output=True, text=True, check=False)

    assert (result.returncode, result.stdout.strip()) == (0, "No changes detected"), result.stderr
