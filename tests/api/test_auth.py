import pytest
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from stores.services import store_api_key_revoke, store_set_active

pytestmark = pytest.mark.django_db


def _api_paths(patterns=None, prefix=""):
    """Every URL pattern under /api/v1/, with its path parameters filled in."""
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _api_paths(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            for name in pattern.pattern.converters:
                route = route.replace(f"<str:{name}>", "00000000-0000-4000-8000-000000000000")
            yield "/" + route


API_PATHS = sorted(set(_api_paths()))


def test_the_walk_finds_the_api():
    assert "/api/v1/purchases/" in API_PATHS
    assert len(API_PATHS) >= 8


@pytest.mark.parametrize("path", API_PATHS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_endpoint_refuses_a_request_without_a_key(path, method):
    response = getattr(APIClient(), method)(path, {}, format="json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("path", API_PATHS)
def test_every_endpoint_refuses_a_wrong_key(path):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key not-a-real-key")

    assert client.post(path, {}, format="json").status_code == 401


def test_a_revoked_key_is_refused(api):
    assert api.get("/api/v1/members/lookup/?card_number=1").status_code == 404
    store_api_key_revoke(key=api.key)

    assert api.get("/api/v1/members/lookup/?card_number=1").status_code == 401


def test_a_key_revoked_while_a_request_was_reading_it_is_not_remembered(api):
    revoked = []

    def revoke_right_after_the_key_lookup(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not revoked and "stores_storeapikey" in sql and sql.lstrip().startswith("SELECT"):
            revoked.append(True)
            store_api_key_revoke(key=api.key)  # another thread of this process, in between
        return result

    with connection.execute_wrapper(revoke_right_after_the_key_lookup):
        api.get("/api/v1/members/lookup/?card_number=1")

    assert api.get("/api/v1/members/lookup/?card_number=1").status_code == 401


def test_a_key_of_a_deactivated_store_is_refused(api):
    assert api.get("/api/v1/members/lookup/?card_number=1").status_code == 404
    store_set_active(store=api.store, active=False)

    assert api.get("/api/v1/members/lookup/?card_number=1").status_code == 401


def test_key_use_is_recorded(api):
    api.get("/api/v1/members/lookup/?card_number=1")

    api.key.refresh_from_db()
    assert api.key.last_used_at is not None


def test_keys_are_stored_only_as_digests(api_key):
    key, raw = api_key

    assert raw not in key.key_hash and key.prefix == raw[:8]
