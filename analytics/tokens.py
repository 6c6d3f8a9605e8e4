"""Analytics API tokens for staff: create, revoke, and the `Authorization: Bearer` check."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions

from core.errors import DomainError

from .models import AnalyticsToken

KEYWORD = "Bearer"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def analytics_token_create(*, user, label: str) -> tuple[AnalyticsToken, str]:
    """A new token for an active staff user; the raw token is returned once and never stored."""
    if not (user.is_active and user.is_staff):
        raise DomainError(_("Analytics tokens are for active staff users only."))
    label = (label or "").strip()
    if not label:
        raise DomainError(_("A token needs a label."), errors={"label": [_("Required.")]})
    raw = "ana_" + secrets.token_urlsafe(32)
    return AnalyticsToken.objects.create(user=user, label=label, digest=token_digest(raw)), raw


@transaction.atomic
def analytics_token_revoke(*, token: AnalyticsToken) -> None:
    AnalyticsToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


class AnalyticsTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`: the token's user, while the token is not revoked and the
    user is active staff."""

    def authenticate(self, request):
        keyword, _sep, raw = authentication.get_authorization_header(request).decode("latin-1").partition(" ")
        if keyword != KEYWORD:
            return None
        raw = raw.strip()
        token = (
            AnalyticsToken.objects.select_related("user")
            .filter(digest=token_digest(raw), revoked_at__isnull=True)
            .first()
            if raw and len(raw) <= 200
            else None
        )
        if token is None or not (token.user.is_active and token.user.is_staff):
            raise exceptions.AuthenticationFailed(_("Invalid analytics token."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
            AnalyticsToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return KEYWORD


class IsStaff(permissions.BasePermission):
    """Active staff users only: never a store's API key."""

    def has_permission(self, request, view):
        user = request.user
        return bool(user and getattr(user, "is_active", False) and getattr(user, "is_staff", False))
