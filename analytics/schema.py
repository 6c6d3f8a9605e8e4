"""Tells drf-spectacular how analytics tokens are presented."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AnalyticsTokenScheme(OpenApiAuthenticationExtension):
    target_class = "analytics.tokens.AnalyticsTokenAuthentication"
    name = "AnalyticsToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A staff user's analytics token (`manage.py analytics_token_create USER LABEL`).",
        }
