"""numpy and scipy load only where the customer_value job runs, not in every web worker."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

CHILD = """
import sys
import django
django.setup()
from django.contrib import admin
admin.autodiscover()
import jobs.registry, loyalty.urls
print(sorted(name for name in ("numpy", "scipy") if name in sys.modules))
"""


def test_the_web_process_imports_the_job_registry_without_numpy_or_scipy():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "loyalty.settings"}

    child = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "[]"
