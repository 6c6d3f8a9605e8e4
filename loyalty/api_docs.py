"""Who may read the OpenAPI schema: anyone when API_DOCS_PUBLIC, else staff (an admin session)
and POS integrators (a valid store API key: they already reach everything it describes)."""

from django.conf import settings
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

from stores.authentication import StoreApiKeyAuthentication, StorePrincipal

SCHEMA_AUTHENTICATION = [StoreApiKeyAuthentication, SessionAuthentication]


class ApiDocsVisible(BasePermission):
    def has_permission(self, request, view):
        if settings.API_DOCS_PUBLIC:
            return True
        user = request.user
        return isinstance(user, StorePrincipal) or bool(user and user.is_active and user.is_staff)
