"""A revoked key is refused by every process at its next request (stores/key_cache.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.shared_redis import shared_redis
from stores.key_cache import REVOCATIONS_KEY
from stores.models import StoreApiKey
from stores.services import store_api_key_revoke, store_api_key_scopes_set
from tests.factories import MemberFactory, StoreFactory, create_api_key

ROOT = Path(__file__).resolve().parents[2]
# Another server process: it authenticates GET requests with the key and prints each status.
OTHER_PROCESS = """
import sys, django
django.setup()
from django.test import Client
client = Client(HTTP_AUTHORIZATION="Api-Key " + sys.argv[1])
for path in sys.stdin:
    print(client.get(path.strip()).status_code, flush=True)
"""


class OtherProcess:
    def __init__(self, raw_key: str):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "loyalty.settings",
            "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict),
            "REDIS_URL": settings.REDIS_URL,
            "ALLOWED_HOSTS": "testserver",
            "LOG_LEVEL": "CRITICAL",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-c", OTHER_PROCESS, raw_key],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def get(self, path: str) -> int:
        self.proc.stdin.write(path + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.mark.django_db(transaction=True)
def test_a_key_revoked_in_one_process_is_refused_by_another_at_its_next_request():
    key, raw = create_api_key(StoreFactory())
    path = f"/api/v1/members/{MemberFactory().public_id}/"
    other = OtherProcess(raw)
    try:
        assert [other.get(path), other.get(path)] == [200, 200]  # the key is now in its cache

        store_api_key_revoke(key=key)

        assert other.get(path) == 401
    finally:
        other.close()


@pytest.mark.django_db
def test_a_revocation_announced_by_another_process_empties_this_processs_cache(api, member):
    path = f"/api/v1/members/{member.public_id}/"
    assert api.get(path).status_code == 200  # cached here
    # What another process's revocation leaves behind: the row, and the shared count moved.
    StoreApiKey.objects.filter(pk=api.key.pk).update(revoked_at=timezone.now())
    shared_redis().incr(REVOCATIONS_KEY)

    assert api.get(path).status_code == 401


@pytest.mark.django_db
def test_a_scope_granted_elsewhere_applies_at_the_next_request(api, member):
    path = f"/api/v1/members/{member.public_id}/"
    assert "email" not in api.get(path).json()

    store_api_key_scopes_set(key=api.key, chain_wide=False, member_details=True)
    shared_redis().incr(REVOCATIONS_KEY)  # as the commit would announce it

    assert "email" in api.get(path).json()
