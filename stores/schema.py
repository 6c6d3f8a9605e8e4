"""Tells drf-spectacular how store API keys are presented."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class StoreApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "stores.authentication.StoreApiKeyAuthentication"
    name = "StoreApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; keys are issued per store and can be revoked.",
        }
