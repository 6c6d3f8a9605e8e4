import re

import pytest

pytestmark = pytest.mark.django_db


SCHEMA_JSON = "application/vnd.oai.openapi+json"


@pytest.fixture
def schema(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON)
    assert response.status_code == 200
    return response.json()


def test_schema_is_public_when_the_setting_says_so(client, settings):
    settings.API_DOCS_PUBLIC = True

    assert client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON).status_code == 200


def test_schema_is_refused_to_anonymous_visitors_when_not_public(client, settings):
    settings.API_DOCS_PUBLIC = False

    response = client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_schema_is_served_to_a_staff_session_when_not_public(client, staff_user, settings):
    settings.API_DOCS_PUBLIC = False
    client.force_login(staff_user)

    assert client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON).status_code == 200


def test_schema_is_refused_to_a_non_staff_session_when_not_public(client, django_user_model, settings):
    settings.API_DOCS_PUBLIC = False
    client.force_login(django_user_model.objects.create_user(username="clerk", password="x" * 16))

    assert client.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON).status_code == 403


def test_schema_is_served_to_a_pos_integrator_with_a_valid_key_when_not_public(api, settings):
    settings.API_DOCS_PUBLIC = False

    assert api.get("/api/schema/", HTTP_ACCEPT=SCHEMA_JSON).status_code == 200


def test_docs_are_public_by_default_only_in_debug():
    from tests.test_deploy_settings import _manage

    shown = "from django.conf import settings; print(settings.API_DOCS_PUBLIC)"
    secret = "a-long-enough-secret-key-for-this-test-0123456789"
    debug = _manage("shell", "-c", shown, DEBUG="True")
    production = _manage("shell", "-c", shown, DEBUG="False", SECRET_KEY=secret, ALLOWED_HOSTS="x")

    assert debug.stdout.splitlines()[-1] == "True", debug.stderr
    assert production.stdout.splitlines()[-1] == "False", production.stderr


def _component(schema, ref):
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_schema_describes_the_purchase_request_and_response(schema):
    operation = schema["paths"]["/api/v1/purchases/"]["post"]
    request = _component(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    response = _component(schema, operation["responses"]["201"]["content"]["application/json"]["schema"])

    assert set(request["required"]) >= {"member", "receipt_id", "channel", "occurred_at", "currency", "total", "items"}
    assert set(response["properties"]) >= {"id", "points_earned", "points_balance"}
    assert {p["name"] for p in operation["parameters"]} == {"Idempotency-Key"}
    assert {"400", "401", "404", "409", "422"} <= set(operation["responses"])


def test_schema_documents_every_api_path(schema):
    assert set(schema["paths"]) >= {
        "/api/v1/members/",
        "/api/v1/members/lookup/",
        "/api/v1/members/{member_id}/",
        "/api/v1/members/{member_id}/ledger/",
        "/api/v1/purchases/",
        "/api/v1/purchases/{purchase_id}/returns/",
        "/api/v1/quotes/",
        "/api/v1/redemptions/",
        "/api/v1/redemptions/{redemption_id}/cancel/",
    }


def test_ledger_schema_is_paginated(schema):
    response = schema["paths"]["/api/v1/members/{member_id}/ledger/"]["get"]["responses"]["200"]
    page = _component(schema, response["content"]["application/json"]["schema"])

    assert {"next", "results"} <= set(page["properties"])


def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get("/api/docs/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "swagger-ui" in html and "cdn.jsdelivr" not in html and "unpkg" not in html
    assert client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_schema_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def _purchase_request(schema):
    operation = schema["paths"]["/api/v1/purchases/"]["post"]
    return _component(schema, operation["requestBody"]["content"]["application/json"]["schema"])


def test_schema_says_which_currency_and_totals_are_accepted(schema, settings):
    request = _purchase_request(schema)

    assert _component(schema, request["properties"]["currency"])["enum"] == [settings.DEFAULT_CURRENCY]
    assert request["properties"]["total"]["pattern"] == (
        r"^(?:[1-9][0-9]{0,5}(?:\.[0-9]{1,2})?|0?\.(?=[0-9]*[1-9])[0-9]{1,2})$"
    )
    assert request["properties"]["total"]["description"] == "A decimal from 0.01 to 1000000."
    assert (request["properties"]["items"]["minItems"], request["properties"]["items"]["maxItems"]) == (1, 500)
    assert request["additionalProperties"] is False


@pytest.mark.parametrize(
    ("total", "matches"),
    [
        ("0.01", True),
        (".5", True),
        ("999999.99", True),
        ("0", False),
        ("0.00", False),
        ("-1", False),
        ("1000000.01", False),
        ("1.001", False),
        ("", False),
    ],
)
def test_the_total_pattern_matches_what_validation_accepts(schema, total, matches):
    assert bool(re.fullmatch(_purchase_request(schema)["properties"]["total"]["pattern"], total)) is matches


def test_schema_says_required_text_is_not_blank_and_takes_no_nul(schema):
    enroll = schema["paths"]["/api/v1/members/"]["post"]
    phone = _component(schema, enroll["requestBody"]["content"]["application/json"]["schema"])["properties"]["phone"]

    assert (phone["minLength"], phone["pattern"]) == (1, r"^[^\u0000]*[^\s\u0000][^\u0000]*$")


def test_schema_documents_the_ledger_errors(schema):
    responses = schema["paths"]["/api/v1/members/{member_id}/ledger/"]["get"]["responses"]

    assert {"400", "401", "404"} <= set(responses)


def test_every_operation_documents_the_400_a_bad_url_gets(schema):
    assert all("400" in op["responses"] for ops in schema["paths"].values() for op in ops.values())
