"""Stores (points of sale and sales channels), their API keys, and the POS replay memory."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    STORE = "store", _("In store")
    ONLINE = "online", _("Online shop")
    MAIL_ORDER = "mail_order", _("Mail order")
    PHONE = "phone", _("Phone order")


class Store(models.Model):
    """A point of sale: a physical shop or a sales channel such as the online shop."""

    code = models.SlugField(max_length=40, unique=True, verbose_name=_("code"))
    name = models.CharField(max_length=120, unique=True, verbose_name=_("name"))
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.STORE, verbose_name=_("channel"))
    city = models.CharField(max_length=80, blank=True, verbose_name=_("city"))
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["name"]

    def __str__(self):
        return self.name


def api_key_digest(raw_key: str) -> str:
    """What `StoreApiKey.key_hash` holds for a raw key (the raw key itself is never stored)."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class StoreApiKey(models.Model):
    """A secret a store's POS presents as `Authorization: Api-Key <key>`.

    Only a SHA-256 digest is stored: the key is 256 random bits, so a fast digest is as safe as
    a slow password hash and keeps authentication to one indexed lookup per request.
    """

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="api_keys", verbose_name=_("store"))
    label = models.CharField(max_length=80, blank=True, verbose_name=_("label"))
    prefix = models.CharField(
        max_length=12, help_text=_("First characters of the key, to recognise it."), verbose_name=_("prefix")
    )
    key_hash = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("key hash"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False, verbose_name=_("last used at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    # Scopes. A till's key has none: it acts for its own store and sees what a till needs.
    chain_wide = models.BooleanField(
        _("chain-wide"),
        default=False,
        help_text=_(
            "May read and cancel redemptions and cancel vouchers made at any store (head office, service desk)."
        ),
    )
    member_details = models.BooleanField(
        _("member details"),
        default=False,
        help_text=_("May read a member's full record (phone, email, birthday); other keys see the till view."),
    )

    class Meta:
        verbose_name_plural = _("store api keys")
        verbose_name = _("store API key")
        ordering = ["-created_at"]

    def __str__(self):
        state = "revoked" if self.revoked_at else "active"
        return f"{self.store} {self.prefix}… ({state})"


class IdempotencyRecord(models.Model):
    """The answer given to one POS write, kept so that a retry with the same key gets it again.

    The row is inserted first in the write's own transaction; the unique constraint makes a
    concurrent duplicate wait for the first to commit and then replay its answer.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    key = models.CharField(max_length=255, verbose_name=_("key"))
    fingerprint = models.CharField(
        max_length=64, help_text=_("SHA-256 of method, path and body."), verbose_name=_("fingerprint")
    )
    response_status = models.PositiveSmallIntegerField(null=True, verbose_name=_("response status"))
    # Text, not JSON: a replay must return the body byte for byte, key order included.
    response_body = models.TextField(blank=True, verbose_name=_("response body"))
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(fields=["store", "key"], name="idempotency_key_unique_per_store"),
            models.CheckConstraint(
                condition=Q(response_status__isnull=True) | Q(response_status__gte=200, response_status__lt=300),
                name="idempotency_stores_only_success",
            ),
        ]

    def __str__(self):
        return f"{self.store_id}:{self.key}"
