"""OpenAPI pieces shared by every app's API."""

from decimal import Decimal

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable reason, e.g. insufficient_points.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    errors = serializers.DictField(
        child=serializers.JSONField(), help_text="Field name to list of messages, for field-level problems."
    )


# What stores.idempotency accepts: up to 255 printable ASCII characters, spaces only inside
# (spaces and tabs around the value are trimmed, as HTTP does).
IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^[ \t]*[!-~](?:[ -~]*[!-~])?[ \t]*$",
}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    IDEMPOTENCY_KEY_SCHEMA,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "A unique key per logical write. A retry with the same key and body returns the original "
        "answer and writes nothing; the same key with another body is refused with 422."
    ),
)


OPTIONAL_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    IDEMPOTENCY_KEY_SCHEMA,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional (the published contract did not ask for one): with it, a retry with the same key "
        "and body returns the original answer and writes nothing; the same key with another body "
        "is refused with 422."
    ),
)

# Who may act, stated in each operation's description.
ANY_STORE = "Any store's key may call this."
OWN_STORE = (
    "Only the store that made it, or a key with the `chain_wide` scope; another store's key gets "
    "404, as if it did not exist."
)


_ERROR_DESCRIPTIONS = {
    400: "Invalid input (field errors in `errors`).",
    401: "Missing or invalid API key.",
    403: "Not allowed (the member is not eligible for the reward; the voucher is another store's).",
    404: "Not found.",
    409: "Conflicts with the current state (duplicate receipt, already enrolled, in flight).",
    410: "Gone (expired).",
    422: "Idempotency-Key reused with a different request.",
    429: "Rate limit reached; `Retry-After` says how many seconds to wait.",
}


def errors(*statuses: int) -> dict:
    # Every operation is rate limited, so every one may answer 429.
    return {s: OpenApiResponse(ErrorOutput, description=_ERROR_DESCRIPTIONS[s]) for s in (*statuses, 429)}


# --- What validation enforces, said in the schema so that a schema-driven client (or fuzzer)
# builds requests the API accepts. Rules no JSON schema can state (one of two fields, a total
# that matches its lines, dates relative to today, a phone number's validity) are in the
# operations' descriptions.

# No NUL anywhere (PostgreSQL refuses it), and for required text at least one character that is
# not whitespace (DRF trims it, and a blank value is refused).
TEXT = r"^[^\u0000]*$"
NON_BLANK_TEXT = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def _decimal_pattern(field: serializers.DecimalField) -> str:
    """A pattern matching exactly the decimals within the field's bounds, for the bounds this API
    uses: a minimum of 0 or of one unit in the last place, a maximum of a power of ten."""
    whole_digits = len(str(int(field.max_value))) - 1 if field.max_value is not None else field.max_whole_digits
    places = field.decimal_places
    fraction = rf"(?:\.[0-9]{{1,{places}}})?"
    if field.min_value is None or field.min_value < 0:
        return rf"^-?[0-9]{{1,{whole_digits}}}{fraction}$"
    if field.min_value == 0:
        return rf"^[0-9]{{1,{whole_digits}}}{fraction}$"
    if field.min_value != Decimal(1).scaleb(-places):
        raise ValueError(f"No pattern for a minimum of {field.min_value}: only 0 or the smallest unit.")
    below_one = rf"0?\.(?=[0-9]*[1-9])[0-9]{{1,{places}}}"
    return rf"^(?:[1-9][0-9]{{0,{whole_digits - 1}}}{fraction}|{below_one})$"


class DecimalInputExtension(OpenApiSerializerFieldExtension):
    """Request decimals as strings whose pattern carries the field's bounds (DRF's own pattern
    allows any sign and magnitude)."""

    target_class = "rest_framework.fields.DecimalField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        field = self.target
        if direction == "request" and schema.get("type") == "string":
            schema["pattern"] = _decimal_pattern(field)
            bounds = f"from {field.min_value} to {field.max_value}"
            schema["description"] = " ".join(filter(None, [schema.get("description"), f"A decimal {bounds}."]))
        return schema


class ListInputExtension(OpenApiSerializerFieldExtension):
    """Nested lists with their length bounds (`allow_empty`, `max_length`)."""

    target_class = "rest_framework.serializers.ListSerializer"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        if direction == "request" and schema and schema.get("type") == "array":
            if not self.target.allow_empty:
                schema["minItems"] = max(1, self.target.min_length or 0)
            if self.target.max_length is not None:
                schema["maxItems"] = self.target.max_length
        return schema


def say_what_validation_enforces(result, generator, request, public):
    """Postprocessing hook. Request bodies take no properties beyond those listed (the guard in
    `core.api.parsers` refuses NUL anywhere in a body, even in a property nobody reads). Request
    text and string parameters with no format, enum or pattern of their own take no NUL, and
    required ones are not blank. Every operation may answer 400: a NUL in the URL or malformed
    JSON is refused before any view runs."""
    bad_request = {
        "description": _ERROR_DESCRIPTIONS[400],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOutput"}}},
    }
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component.setdefault("additionalProperties", False)
            for prop in component.get("properties", {}).values():
                _add_text_pattern(prop, required=prop.get("minLength", 0) >= 1)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("path", "query"):
                    _add_text_pattern(parameter["schema"], required=parameter.get("required", False))
            if "ErrorOutput" in result.get("components", {}).get("schemas", {}):
                operation.get("responses", {}).setdefault("400", bad_request)
    return result


def _add_text_pattern(schema: dict, *, required: bool) -> None:
    if schema.get("type") == "string" and not {"format", "enum", "pattern"} & set(schema):
        schema["pattern"] = NON_BLANK_TEXT if required else TEXT
