from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from core.shared_redis import shared_redis
from stores.key_cache import REVOCATIONS_KEY
from stores.models import StoreApiKey, api_key_digest

pytestmark = pytest.mark.django_db


def _created_key(*flags) -> StoreApiKey:
    out = StringIO()
    call_command("create_store_key", "--store", "Head office", *flags, stdout=out)
    return StoreApiKey.objects.get(key_hash=api_key_digest(out.getvalue().splitlines()[-1]))


def test_a_till_key_has_no_scope():
    key = _created_key()

    assert (key.chain_wide, key.member_details) == (False, False)


def test_create_store_key_grants_the_scopes_asked_for():
    key = _created_key("--chain-wide", "--member-details")

    assert (key.chain_wide, key.member_details) == (True, True)


def test_changing_a_keys_scopes_in_the_admin_is_announced_to_every_process(
    admin_client_logged, api_key, django_capture_on_commit_callbacks
):
    key, _raw = api_key
    before = int(shared_redis().get(REVOCATIONS_KEY) or 0)
    url = reverse("admin:stores_storeapikey_change", args=[key.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_logged.post(url, {"label": "till 1", "chain_wide": "on"})

    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.label, key.chain_wide, key.member_details) == ("till 1", True, False)
    assert int(shared_redis().get(REVOCATIONS_KEY)) == before + 1
