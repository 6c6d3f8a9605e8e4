"""The member portal's own state: sign-in codes, the session epoch behind "sign out everywhere",
double-tap protection for redemptions, and the history of marketing consent changes.

Kept out of `members.Member` on purpose: that row is written on every purchase, and the portal's
state changes on its own schedule.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import Member


class PortalAccount(models.Model):
    """A member's portal sign-in state. Every portal session remembers the epoch it started in;
    raising the epoch ends them all at their next request."""

    member = models.OneToOneField(
        Member, primary_key=True, on_delete=models.CASCADE, related_name="portal_account", verbose_name=_("member")
    )
    session_epoch = models.PositiveIntegerField(default=0, verbose_name=_("session epoch"))
    last_sign_in_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last sign in at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name_plural = _("portal accounts")
        verbose_name = _("portal account")

    def __str__(self):
        return f"portal account of member {self.member_id}"


class OneTimeCode(models.Model):
    """A sign-in code sent by SMS to a phone or by email to an address. Only its keyed hash is
    kept. A row is written for every request, member or not (then `member` is empty and nothing is
    sent), so the hourly limits count the same way whoever asks and the answer never tells whether
    a phone or an email belongs to a member."""

    phone = models.CharField(
        max_length=20,
        blank=True,
        help_text=_("E.164, as normalised; empty for an email code."),
        verbose_name=_("phone"),
    )
    email = models.EmailField(blank=True, help_text=_("Lower-cased; empty for an SMS code."), verbose_name=_("email"))
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("member")
    )
    code_hash = models.CharField(max_length=64, verbose_name=_("code hash"))
    client_ip = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("client IP"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    created_at = models.DateTimeField(verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))

    class Meta:
        verbose_name_plural = _("one time codes")
        verbose_name = _("sign-in code")
        constraints = [
            models.CheckConstraint(condition=Q(attempts__lte=5), name="portal_code_attempts_at_most_5"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="portal_code_expiry_after"),
            models.CheckConstraint(
                condition=(~Q(phone="") & Q(email="")) | (Q(phone="") & ~Q(email="")), name="portal_code_one_address"
            ),
        ]
        indexes = [
            models.Index(fields=["phone", "-created_at"], name="portal_code_by_phone"),
            models.Index(fields=["email", "-created_at"], name="portal_code_by_email", condition=~Q(email="")),
            models.Index(fields=["client_ip", "-created_at"], name="portal_code_by_ip"),
        ]

    def __str__(self):
        return f"code for {self.phone or self.email} at {self.created_at:%Y-%m-%d %H:%M}"


class PortalRedeemToken(models.Model):
    """The voucher one redeem form produced. The form carries a fresh token; a second tap (or a
    resubmitted page) with the same token gets the same voucher instead of paying twice."""

    token = models.UUIDField(unique=True, verbose_name=_("token"))
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", verbose_name=_("member"))
    voucher = models.OneToOneField(
        "rewards.Voucher", on_delete=models.CASCADE, related_name="+", verbose_name=_("voucher")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name_plural = _("portal redeem tokens")
        verbose_name = _("portal redemption")

    def __str__(self):
        return str(self.token)


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class ConsentChange(models.Model):
    """One change of a member's marketing consent made in the portal: which channel, given or
    withdrawn, and when (consent law asks when each was given)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", verbose_name=_("member"))
    channel = models.CharField(max_length=10, choices=ConsentChannel.choices, verbose_name=_("channel"))
    granted = models.BooleanField(verbose_name=_("granted"))
    changed_at = models.DateTimeField(verbose_name=_("changed at"))

    class Meta:
        verbose_name_plural = _("consent changes")
        verbose_name = _("consent change")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["member", "-changed_at"], name="portal_consent_by_member")]

    def __str__(self):
        return f"{self.channel} {'given' if self.granted else 'withdrawn'} at {self.changed_at:%Y-%m-%d %H:%M}"
