"""Rate limits (stores/throttling.py), counted in the real Redis. Rates are per day so that no
test can straddle a window edge."""

import pytest
from rest_framework.test import APIClient

from members.models import Member
from stores.throttling import parse_rate
from tests.api.helpers import post, purchase_body
from tests.factories import StoreFactory, create_api_key

pytestmark = pytest.mark.django_db


def _client(raw=None, addr="10.0.0.1"):
    client = APIClient(REMOTE_ADDR=addr)
    if raw:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def test_reads_over_the_rate_get_429_with_retry_after_in_the_error_shape(api, member, settings):
    settings.API_RATE_READ = "3/day"
    for _ in range(3):
        assert api.get(f"/api/v1/members/{member.public_id}/").status_code == 200

    response = api.get(f"/api/v1/members/{member.public_id}/")

    assert response.status_code == 429
    assert response.json()["code"] == "throttled" and set(response.json()) == {"code", "detail", "errors"}
    assert 1 <= int(response["Retry-After"]) <= 86400


def test_each_key_has_its_own_count(api, member, settings):
    settings.API_RATE_READ = "1/day"
    _key, other_raw = create_api_key(StoreFactory())

    assert api.get(f"/api/v1/members/{member.public_id}/").status_code == 200
    assert _client(other_raw).get(f"/api/v1/members/{member.public_id}/").status_code == 200
    assert api.get(f"/api/v1/members/{member.public_id}/").status_code == 429


def test_writes_have_their_own_rate_and_a_refused_write_writes_nothing(api, member, settings):
    settings.API_RATE_WRITE = "1/day"
    assert post(api, "/api/v1/purchases/", purchase_body(member)).status_code == 201

    response = post(api, "/api/v1/purchases/", purchase_body(member))

    assert response.status_code == 429
    assert Member.objects.get(pk=member.pk).purchase_count == 1
    assert api.get(f"/api/v1/members/{member.public_id}/").status_code == 200  # reads still allowed


def test_member_lookups_have_the_stricter_lookup_rate(api, member, settings):
    settings.API_RATE_LOOKUP = "2/day"
    lookup = f"/api/v1/members/lookup/?card_number={member.card_number}"

    assert [api.get(lookup).status_code for _ in range(3)] == [200, 200, 429]
    assert api.get(f"/api/v1/members/{member.public_id}/").status_code == 200


def test_enrolment_counts_as_a_lookup(api, settings):
    settings.API_RATE_LOOKUP = "1/day"

    first = api.post("/api/v1/members/", {"phone": "13800138011"}, format="json")
    second = api.post("/api/v1/members/", {"phone": "13800138012"}, format="json")

    assert (first.status_code, second.status_code) == (201, 429)


def test_requests_without_a_key_are_limited_per_client_address(settings):
    settings.API_RATE_ANON = "2/day"
    path = "/api/v1/members/lookup/?card_number=1"

    assert [_client(addr="10.0.0.1").get(path).status_code for _ in range(3)] == [401, 401, 429]
    assert _client(addr="10.0.0.2").get(path).status_code == 401


def test_guessed_keys_are_limited_per_client_address(settings):
    settings.API_RATE_ANON = "2/day"
    path = "/api/v1/members/lookup/?card_number=1"

    statuses = [_client(f"guess-{i}", addr="10.0.0.3").get(path).status_code for i in range(3)]

    assert statuses == [401, 401, 429]


def test_a_valid_key_is_not_limited_by_its_address(api, member, settings):
    settings.API_RATE_ANON = "1/day"
    api.get(f"/api/v1/members/{member.public_id}/")  # the first request of a key counts once by address

    assert [api.get(f"/api/v1/members/{member.public_id}/").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.parametrize(
    ("rate", "parsed"), [("100/second", (100, 1)), ("600/minute", (600, 60)), ("5/day", (5, 86400))]
)
def test_rates_use_drf_syntax(rate, parsed):
    assert parse_rate(rate) == parsed


def test_a_malformed_rate_stops_the_process_at_start():
    from tests.test_deploy_settings import _manage

    result = _manage("check", DEBUG="True", API_RATE_READ="lots")

    assert result.returncode != 0
    assert "API_RATE_READ must be a rate like 100/second" in result.stderr
