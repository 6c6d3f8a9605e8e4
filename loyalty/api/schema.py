"""OpenAPI pieces shared by every app's API."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable reason, e.g. insufficient_points.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    errors = serializers.DictField(
        child=serializers.JSONField(), help_text="Field name to list of messages, for field-level problems."
    )


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description=(
        "A unique key per logical write. A retry with the same key and body returns the original "
        "answer and writes nothing; the same key with another body is refused with 422."
    ),
)


OPTIONAL_IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
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
THROTTLED = "Rate limited per key (429 with `Retry-After`)."


def errors(*statuses: int) -> dict:
    descriptions = {
        400: "Invalid input (field errors in `errors`).",
        401: "Missing or invalid API key.",
        403: "Not allowed (the member is not eligible for the reward; the voucher is another store's).",
        404: "Not found.",
        409: "Conflicts with the current state (duplicate receipt, already enrolled, in flight).",
        410: "Gone (expired).",
        422: "Idempotency-Key reused with a different request.",
        429: "Rate limit reached; `Retry-After` says how many seconds to wait.",
    }
    return {s: OpenApiResponse(ErrorOutput, description=descriptions[s]) for s in (*statuses, 429)}
