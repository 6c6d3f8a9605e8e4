"""Follow-up visits and calls to valuable customers, and interviews with lost ones."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.admin_display import local_date
from members.models import Member


class FollowUpKind(models.TextChoices):
    VISIT = "visit", _("Visit")
    CALL = "call", _("Call")
    THANK_YOU_CALL = "thank_you_call", _("Thank-you call")


class FollowUpOutcome(models.TextChoices):
    REACHED = "reached", _("Reached, conversation held")
    NO_ANSWER = "no_answer", _("No answer")
    DECLINED = "declined", _("Declined to talk")
    CALL_BACK = "call_back", _("Asked to be called back")


class FollowUp(models.Model):
    """A visit or call (seed 003's visit records): who, when, how it went, what they suggested."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="follow_ups", verbose_name=_("member"))
    kind = models.CharField(max_length=20, choices=FollowUpKind.choices, verbose_name=_("kind"))
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("staff user")
    )
    happened_at = models.DateTimeField(verbose_name=_("happened at"))
    outcome = models.CharField(max_length=12, choices=FollowUpOutcome.choices, verbose_name=_("outcome"))
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    suggestions = models.TextField(
        blank=True, help_text=_("What the customer suggested we change."), verbose_name=_("suggestions")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("follow up")
        verbose_name_plural = _("follow ups")
        ordering = ["-happened_at"]

    def __str__(self):
        return f"{self.get_kind_display()} with {self.member_id} on {local_date(self.happened_at)}"


class LeaveReason(models.TextChoices):
    PRICE = "price", _("Price")
    QUALITY = "quality", _("Product quality")
    SERVICE = "service", _("Service")
    COMPETITOR_OFFER = "competitor_offer", _("A competitor's offer")
    MOVED = "moved", _("Moved away")
    NO_NEED = "no_need", _("No longer needs it")
    COMPLAINT = "complaint", _("An unresolved complaint")
    OTHER = "other", _("Other")


class WinBackChance(models.TextChoices):
    YES = "yes", _("Yes")
    MAYBE = "maybe", _("Maybe")
    NO = "no", _("No")


class LostCustomerInterview(models.Model):
    """Why a lapsed customer left, to whom, and whether they can be won back (seed 004)."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="lost_interviews", verbose_name=_("member")
    )
    staff_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("staff user")
    )
    happened_at = models.DateTimeField(verbose_name=_("happened at"))
    reason = models.CharField(max_length=20, choices=LeaveReason.choices, verbose_name=_("reason"))
    reason_detail = models.TextField(blank=True, verbose_name=_("reason detail"))
    competitor = models.CharField(
        max_length=120, blank=True, help_text=_("Where they buy now."), verbose_name=_("competitor")
    )
    can_win_back = models.CharField(max_length=6, choices=WinBackChance.choices, verbose_name=_("can win back"))
    notes = models.TextField(blank=True, verbose_name=_("notes"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("lost customer interview")
        verbose_name_plural = _("lost customer interviews")
        ordering = ["-happened_at"]

    def __str__(self):
        return f"Interview with {self.member_id}: {self.reason}"
