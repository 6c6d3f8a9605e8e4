"""The breaking-change rules of core.api.compat, one per test, on tiny hand-made schemas.

Every document has one operation, `POST /things/`, whose request and 201 response bodies are
components reached through `$ref`, so each rule is also checked through reference resolution.
"""

import copy

import pytest

from core.api import compat
from core.api.compat import Break, breaking_changes

WHERE = "POST /things/"


def document() -> dict:
    return {
        "openapi": "3.0.3",
        "paths": {
            "/things/": {
                "post": {
                    "parameters": [{"in": "query", "name": "dry_run", "schema": {"type": "boolean"}}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ThingRequest"}}},
                    },
                    "responses": {
                        "201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                        "400": {"content": {"application/json": {"schema": {"type": "object"}}}},
                    },
                },
                "get": {"responses": {"200": {"description": "ok"}}},
            }
        },
        "components": {
            "schemas": {
                "ThingRequest": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "maxLength": 50},
                        "colour": {"$ref": "#/components/schemas/ColourEnum"},
                        "note": {"type": "string", "nullable": True},
                        "count": {"type": "integer", "minimum": 1},
                        "code": {"type": "string", "pattern": "^[A-Z]+$"},
                    },
                    "required": ["name"],
                },
                "Thing": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "colour": {"$ref": "#/components/schemas/ColourEnum"},
                        "created_at": {"type": "string", "format": "date-time"},
                        "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Tag"}},
                    },
                    "required": ["id", "colour", "created_at", "tags"],
                },
                "Tag": {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]},
                "ColourEnum": {"type": "string", "enum": ["red", "green"]},
            }
        },
    }


def changed(edit) -> list[Break]:
    """The breaking changes from the base document to a copy that `edit` modified in place."""
    old = document()
    new = copy.deepcopy(old)
    edit(new)
    return breaking_changes(old, new)


def request_field(doc: dict, name: str) -> dict:
    return doc["components"]["schemas"]["ThingRequest"]["properties"][name]


def response_schema(doc: dict) -> dict:
    return doc["components"]["schemas"]["Thing"]


def test_an_unchanged_document_has_no_breaking_changes():
    assert breaking_changes(document(), document()) == []


def test_additions_and_widenings_pass():
    def edit(doc):
        doc["paths"]["/things/"]["put"] = {"responses": {"200": {"description": "ok"}}}
        doc["paths"]["/others/"] = {"get": {"responses": {"200": {"description": "ok"}}}}
        doc["paths"]["/things/"]["post"]["parameters"].append({"in": "query", "name": "page", "required": False})
        doc["paths"]["/things/"]["post"]["responses"]["409"] = {"description": "conflict"}
        doc["components"]["schemas"]["ThingRequest"]["properties"]["extra"] = {"type": "string"}
        doc["components"]["schemas"]["ThingRequest"]["required"] = []
        request_field(doc, "name")["maxLength"] = 100
        request_field(doc, "count")["minimum"] = 0
        del request_field(doc, "code")["pattern"]
        response_schema(doc)["properties"]["points"] = {"type": "integer", "nullable": True}
        response_schema(doc)["properties"]["id"]["maximum"] = 10
        doc["components"]["schemas"]["ColourEnum"]["enum"].append("blue")

    assert changed(edit) == []


def test_a_removed_path_breaks():
    assert changed(lambda doc: doc["paths"].pop("/things/")) == [Break(compat.PATH_REMOVED, "/things/")]


def test_a_removed_method_breaks():
    assert changed(lambda doc: doc["paths"]["/things/"].pop("get")) == [Break(compat.METHOD_REMOVED, "GET /things/")]


def test_a_changed_status_code_breaks_as_the_old_one_removed():
    def edit(doc):
        responses = doc["paths"]["/things/"]["post"]["responses"]
        responses["200"] = responses.pop("201")

    assert changed(edit) == [Break(compat.STATUS_REMOVED, f"{WHERE} 201")]


def test_a_removed_media_type_breaks():
    def edit(doc):
        content = doc["paths"]["/things/"]["post"]["responses"]["201"]["content"]
        content["application/xml"] = content.pop("application/json")

    assert changed(edit) == [Break(compat.MEDIA_TYPE_REMOVED, f"{WHERE} 201", "application/json")]


def test_a_removed_response_field_breaks():
    assert changed(lambda doc: response_schema(doc)["properties"].pop("created_at")) == [
        Break(compat.RESPONSE_FIELD_REMOVED, f"{WHERE} 201.created_at")
    ]


def test_a_removed_response_field_inside_a_referenced_list_item_breaks():
    def edit(doc):
        doc["components"]["schemas"]["Tag"] = {"type": "object", "properties": {}}

    assert changed(edit) == [Break(compat.RESPONSE_FIELD_REMOVED, f"{WHERE} 201.tags[].label")]


def test_a_response_field_no_longer_always_present_breaks():
    assert changed(lambda doc: response_schema(doc)["required"].remove("id")) == [
        Break(compat.RESPONSE_FIELD_OPTIONAL, f"{WHERE} 201.id")
    ]


def test_a_removed_enum_value_breaks_in_either_direction():
    assert changed(lambda doc: doc["components"]["schemas"]["ColourEnum"]["enum"].remove("green")) == [
        Break(compat.ENUM_VALUE_REMOVED, f"{WHERE} request.colour", "'green'"),
        Break(compat.ENUM_VALUE_REMOVED, f"{WHERE} 201.colour", "'green'"),
    ]


def test_a_new_required_request_field_breaks():
    def edit(doc):
        doc["components"]["schemas"]["ThingRequest"]["properties"]["size"] = {"type": "integer"}
        doc["components"]["schemas"]["ThingRequest"]["required"].append("size")

    assert changed(edit) == [Break(compat.REQUIRED_ADDED, f"{WHERE} request.size")]


def test_an_optional_request_field_that_became_required_breaks():
    assert changed(lambda doc: doc["components"]["schemas"]["ThingRequest"]["required"].append("note")) == [
        Break(compat.BECAME_REQUIRED, f"{WHERE} request.note")
    ]


def test_a_new_required_parameter_breaks():
    def edit(doc):
        doc["paths"]["/things/"]["post"]["parameters"].append({"in": "header", "name": "X-Till", "required": True})

    assert changed(edit) == [Break(compat.REQUIRED_ADDED, f"{WHERE} header parameter X-Till")]


def test_an_optional_parameter_that_became_required_breaks():
    assert changed(lambda doc: doc["paths"]["/things/"]["post"]["parameters"][0].update(required=True)) == [
        Break(compat.BECAME_REQUIRED, f"{WHERE} query parameter dry_run")
    ]


def test_a_new_required_request_body_breaks():
    def edit(doc):
        doc["paths"]["/things/"]["get"]["requestBody"] = {"required": True, "content": {}}

    assert changed(edit) == [Break(compat.REQUIRED_ADDED, "GET /things/ request")]


@pytest.mark.parametrize(
    ("edit", "where", "detail"),
    [
        (lambda doc: request_field(doc, "name").update(type="integer"), "request.name", "type string -> integer"),
        (
            lambda doc: response_schema(doc)["properties"]["id"].update(type="string"),
            "201.id",
            "type integer -> string",
        ),
        (lambda doc: request_field(doc, "name").update(format="email"), "request.name", "format None -> email"),
        (
            lambda doc: response_schema(doc)["properties"]["created_at"].pop("format"),
            "201.created_at",
            "format date-time -> None",
        ),
        (
            lambda doc: doc["paths"]["/things/"]["post"]["parameters"][0]["schema"].update(type="string"),
            "query parameter dry_run",
            "type boolean -> string",
        ),
    ],
    ids=["request type", "response type", "request format added", "response format removed", "parameter type"],
)
def test_a_changed_type_or_format_breaks(edit, where, detail):
    assert changed(edit) == [Break(compat.TYPE_CHANGED, f"{WHERE} {where}", detail)]


@pytest.mark.parametrize(
    ("edit", "where", "detail"),
    [
        (lambda doc: request_field(doc, "name").update(maxLength=20), "name", "maxLength 50 -> 20"),
        (lambda doc: request_field(doc, "count").update(exclusiveMinimum=True), "count", "exclusiveMinimum now true"),
        (lambda doc: request_field(doc, "note").update(maxLength=20), "note", "maxLength None -> 20"),
        (lambda doc: request_field(doc, "count").update(minimum=5), "count", "minimum 1 -> 5"),
        (lambda doc: request_field(doc, "count").update(maximum=9), "count", "maximum None -> 9"),
        (lambda doc: request_field(doc, "note").update(minLength=1), "note", "minLength 0 -> 1"),
    ],
    ids=["lower maxLength", "exclusive minimum", "new maxLength", "higher minimum", "new maximum", "new minLength"],
)
def test_a_tighter_request_bound_breaks(edit, where, detail):
    assert changed(edit) == [Break(compat.BOUND_TIGHTER, f"{WHERE} request.{where}", detail)]


def test_a_new_or_changed_request_pattern_breaks():
    assert changed(lambda doc: request_field(doc, "code").update(pattern="^[A-Z]{3}$")) == [
        Break(compat.PATTERN_CHANGED, f"{WHERE} request.code", "^[A-Z]+$ -> ^[A-Z]{3}$")
    ]


def test_a_request_field_that_no_longer_accepts_null_breaks():
    assert changed(lambda doc: request_field(doc, "note").pop("nullable")) == [
        Break(compat.NULL_REFUSED, f"{WHERE} request.note")
    ]


def test_a_response_field_that_may_now_be_null_breaks():
    assert changed(lambda doc: response_schema(doc)["properties"]["id"].update(nullable=True)) == [
        Break(compat.BECAME_NULLABLE, f"{WHERE} 201.id")
    ]


def test_a_request_field_restricted_to_a_list_of_values_breaks():
    assert changed(lambda doc: request_field(doc, "note").update(enum=["a", "b"])) == [
        Break(compat.ENUM_ADDED, f"{WHERE} request.note", "'a', 'b'")
    ]


def test_changed_alternatives_are_reported_for_a_person_to_judge():
    def edit(doc):
        doc["components"]["schemas"]["ThingRequest"]["properties"]["name"] = {
            "oneOf": [{"$ref": "#/components/schemas/ColourEnum"}, {"type": "string", "enum": [""]}]
        }

    assert changed(edit) == [Break(compat.ALTERNATIVES_CHANGED, f"{WHERE} request.name", "oneOf")]


def test_fields_merged_from_all_of_are_compared():
    def edit(doc):
        response_schema(doc)["properties"]["colour"] = {
            "allOf": [{"$ref": "#/components/schemas/ColourEnum"}],
            "nullable": True,
        }

    assert changed(edit) == [Break(compat.BECAME_NULLABLE, f"{WHERE} 201.colour")]


def test_a_recursive_schema_is_compared_once_per_branch():
    def recursive(doc):
        doc["components"]["schemas"]["Tag"]["properties"]["children"] = {
            "type": "array",
            "items": {"$ref": "#/components/schemas/Tag"},
        }

    old = document()
    recursive(old)
    new = copy.deepcopy(old)
    new["components"]["schemas"]["Tag"]["properties"].pop("label")

    assert breaking_changes(old, new) == [
        Break(compat.RESPONSE_FIELD_REMOVED, f"{WHERE} 201.tags[].label"),
        Break(compat.RESPONSE_FIELD_REMOVED, f"{WHERE} 201.tags[].children[].label"),
    ]
