"""The served /api/v1/ schema keeps the promises of the committed snapshot (docs/api/openapi-v1.json).

Tills are written against the snapshot. Within /api/v1/ the API may only grow; a breaking change
goes to a new version path (/api/v2/), served beside v1 for a deprecation period.
"""

import json
from pathlib import Path

import pytest
from django.conf import settings

from core.api.compat import breaking_changes

SNAPSHOT = Path(settings.BASE_DIR) / "docs" / "api" / "openapi-v1.json"
REFRESH = "run `make api-snapshot`, commit docs/api/openapi-v1.json and add a line to CHANGELOG.md under Unreleased"


@pytest.fixture
def snapshot():
    return json.loads(SNAPSHOT.read_text())


@pytest.fixture
def served(admin_client_logged):
    # English, as `make api-snapshot` writes it, whatever LANGUAGE_CODE the environment sets; read
    # as staff, since the schema is staff-only with DEBUG off (API_DOCS_PUBLIC).
    response = admin_client_logged.get("/api/schema/?lang=en", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_the_served_schema_breaks_no_promise_of_the_snapshot(snapshot, served):
    breaks = breaking_changes(snapshot, served)

    assert not breaks, (
        "The API no longer keeps these promises of docs/api/openapi-v1.json:\n"
        + "\n".join(f"  - {b}" for b in breaks)
        + "\nTills written against /api/v1/ would break. Keep v1 compatible and put the change under a new "
        "version path (/api/v2/), serving both during a deprecation period. Only if no released version has "
        f"shipped the promise yet, {REFRESH} (Changed or Removed)."
    )


def test_the_snapshot_is_the_served_schema(snapshot, served):
    differences = list(_differences(snapshot, served, "#"))

    assert not differences, (
        "The served schema differs from docs/api/openapi-v1.json at:\n"
        + "\n".join(f"  - {where}" for where in differences[:20])
        + "\nIf test_the_served_schema_breaks_no_promise_of_the_snapshot passes, the change is compatible: "
        f"{REFRESH} (Added)."
    )


def _differences(old, new, where):
    """JSON pointers where two documents differ, so a failure says where to look."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            here = f"{where}/{key.replace('~', '~0').replace('/', '~1')}"
            if key not in old or key not in new:
                yield f"{here} ({'added' if key in new else 'removed'})"
            else:
                yield from _differences(old[key], new[key], here)
    elif old != new:
        yield where
