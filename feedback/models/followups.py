"""Follow-up visits and calls to valuable customers, and interviews with lost ones."""

from django.conf import settings
from django.db import models

from core.admin_display import local_date
from members.models import Member


class FollowUpKind(models.TextChoices):
    VISIT = "visit", "Visit"
    CALL = "call", "Call"
    THANK_YOU_CALL = "thank_you_call", "Thank-you call"


class FollowUpOutcome(models.TextChoices):
    REACHED = "reached", "Reached, conversation held"
    NO_ANSWER = "no_answer", "No answer"
    DECLINED = "declined", "Declined to talk"
    CALL_BACK = "call_back", "Asked to be called back"


class FollowUp(models.Model):
    """A visit or call (seed 003's visit records): who, when, how it went, what they suggested."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="follow_ups")
    kind = models.CharField(max_length=20, choices=FollowUpKind.choices)
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    happened_at = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=FollowUpOutcome.choices)
    notes = models.TextField(blank=True)
    suggestions = models.TextField(blank=True, help_text="What the customer suggested we change.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-happened_at"]

    def __str__(self):
        return f"{self.get_kind_display()} with {self.member_id} on {local_date(self.happened_at)}"


class LeaveReason(models.TextChoices):
    PRICE = "price", "Price"
    QUALITY = "quality", "Product quality"
    SERVICE = "service", "Service"
    COMPETITOR_OFFER = "competitor_offer", "A competitor's offer"
    MOVED = "moved", "Moved away"
    NO_NEED = "no_need", "No longer needs it"
    COMPLAINT = "complaint", "An unresolved complaint"
    OTHER = "other", "Other"


class WinBackChance(models.TextChoices):
    YES = "yes", "Yes"
    MAYBE = "maybe", "Maybe"
    NO = "no", "No"


class LostCustomerInterview(models.Model):
    """Why a lapsed customer left, to whom, and whether they can be won back (seed 004)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="lost_interviews")
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    happened_at = models.DateTimeField()
    reason = models.CharField(max_length=20, choices=LeaveReason.choices)
    reason_detail = models.TextField(blank=True)
    competitor = models.CharField(max_length=120, blank=True, help_text="Where they buy now.")
    can_win_back = models.CharField(max_length=6, choices=WinBackChance.choices)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-happened_at"]

    def __str__(self):
        return f"Interview with {self.member_id}: {self.reason}"
