"""The webhooks in the OpenAPI schema: one per event type, with the envelope every delivery
carries and an example of that type's `data`.

drf-spectacular writes OpenAPI 3.1's `webhooks` section (`SPECTACULAR_SETTINGS["WEBHOOKS"]`)
only into a 3.1 document, and turning ours into 3.1 rewrites every nullable field
(`type: [..., "null"]`), which the contract check (`core.api.compat`) reads as 3.0. So the
same `OpenApiWebhook` definitions are rendered by spectacular's own `process_webhooks` into the
`x-webhooks` extension, whose structure is identical (Redocly and others show it); moving to
`webhooks` is `OAS_VERSION: "3.1.0"` plus `WEBHOOKS` once the contract check reads 3.1.
"""

from drf_spectacular.plumbing import process_webhooks
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from events.types import EXAMPLES, SCHEMA_VERSION, SUBSCRIBABLE, EventType

HEADERS = (
    "Signed per Standard Webhooks (https://www.standardwebhooks.com/): `webhook-id` (the event id; "
    "the same on every retry, so de-duplicate on it), `webhook-timestamp` (Unix seconds) and "
    "`webhook-signature` (`v1,<base64 HMAC-SHA256>` of `id.timestamp.body` with the endpoint's "
    "secret; during a secret rotation two signatures, separated by a space). Delivery is at least "
    "once and in order per member (`sequence` counts a member's events 1, 2, 3...): a member's "
    "later event waits until the earlier one is delivered or given up (after 3 days of retries). "
    "Answer 2xx within 5 seconds; 410 Gone switches the endpoint off."
)


class EventEnvelope(serializers.Serializer):
    id = serializers.UUIDField(help_text="The event id (also the `webhook-id` header).")
    type = serializers.CharField()
    timestamp = serializers.DateTimeField(help_text="When it happened.")
    sequence = serializers.IntegerField(
        allow_null=True, help_text="The member's events numbered 1, 2, 3... in the order they happened."
    )
    schema_version = serializers.IntegerField()
    data = serializers.DictField(help_text="What happened; `member_id` is the member's public id.")


def _webhook(event_type: str) -> OpenApiWebhook:
    example = {
        "id": "2f9c1a4e-7b3d-4e8a-9c61-0d5e2b7f8a90",
        "type": event_type,
        "timestamp": "2027-03-01T10:30:00+08:00",
        "sequence": 7,
        "schema_version": SCHEMA_VERSION,
        "data": EXAMPLES[event_type],
    }
    return OpenApiWebhook(
        name=event_type,
        decorator=extend_schema(
            # Lazy: rendered in the schema's language (`?lang=`), not the one active at import.
            summary=EventType(event_type).label,
            description=HEADERS,
            request=EventEnvelope,
            examples=[OpenApiExample(event_type, value=example)],
            responses={
                200: OpenApiResponse(description="Received (any 2xx)."),
                410: OpenApiResponse(description="Gone: stop sending to this endpoint."),
            },
        ),
    )


WEBHOOKS = [_webhook(str(event_type)) for event_type in [*SUBSCRIBABLE, EventType.WEBHOOK_TEST.value]]


def add_webhooks(result, generator, **kwargs):
    """Postprocessing hook: `x-webhooks`, and the components they use that are not there yet."""
    result["x-webhooks"] = process_webhooks(WEBHOOKS, generator.registry)
    for section, items in generator.registry.build({}).items():
        for name, item in items.items():
            result.setdefault("components", {}).setdefault(section, {}).setdefault(name, item)
    return result
