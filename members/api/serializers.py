from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.member_values import member_clv
from members.identifiers import phone_masked
from members.models import LapseState, Stage
from stores.models import Channel
from tiers.selectors import member_tier_progress

MAX_ITEMS = 500
MAX_QUANTITY = 100_000


class MemberEnrollInput(serializers.Serializer):
    phone = serializers.CharField(max_length=32)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    birthday = serializers.DateField(required=False, allow_null=True, default=None)
    referral_code = serializers.CharField(required=False, allow_blank=True, max_length=12, default="")
    consent_marketing = serializers.BooleanField(required=False, default=False)


class TierOutput(serializers.Serializer):
    code = serializers.CharField(source="tier.code")
    name = serializers.CharField(source="tier.name")
    rank = serializers.IntegerField(source="tier.rank")
    valid_until = serializers.DateTimeField(allow_null=True)
    next_tier = serializers.CharField(source="next_tier.code", allow_null=True, default=None)
    spend_to_next = serializers.DecimalField(
        max_digits=14, decimal_places=2, allow_null=True, help_text="Qualifying spend still needed for next_tier."
    )


class _MemberTier(serializers.Serializer):
    tier = serializers.SerializerMethodField()

    @extend_schema_field(TierOutput(allow_null=True))
    def get_tier(self, member):
        progress = member_tier_progress(member=member)
        return TierOutput(progress).data if progress else None


class ClvOutput(serializers.Serializer):
    historic_12m = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Spend, last 12 months.")
    predicted_12m = serializers.DecimalField(
        max_digits=14, decimal_places=2, help_text="Predicted spend, next 12 months (BG/NBD x Gamma-Gamma)."
    )
    p_alive = serializers.FloatField(help_text="Probability the member is still buying (0 to 1).")


class _MemberValue(serializers.Serializer):
    clv = serializers.SerializerMethodField(
        help_text="As of the last nightly customer_value run; null before a member's first valuation."
    )

    @extend_schema_field(ClvOutput(allow_null=True))
    def get_clv(self, member):
        value = member_clv(member_id=member.pk)
        return ClvOutput(value).data if value else None


class MemberTillOutput(_MemberValue, _MemberTier):
    """What a till needs to serve a member, and no more: a phone lookup must not hand out contact
    details (PIPL; a leaked key would otherwise be a phone-to-identity oracle)."""

    id = serializers.UUIDField(source="public_id")
    card_number = serializers.CharField()
    name = serializers.CharField()
    phone_masked = serializers.SerializerMethodField(help_text="e.g. 138****8000")
    status = serializers.CharField()
    points_balance = serializers.IntegerField()
    stage = serializers.ChoiceField(choices=Stage.choices)

    def get_phone_masked(self, member) -> str:
        return phone_masked(member.phone)


class MemberOutput(MemberTillOutput):
    """The full record: for the enrolment answer (the caller just sent it) and keys with the
    `member_details` scope."""

    phone = serializers.CharField()
    email = serializers.CharField()
    birthday = serializers.DateField(allow_null=True)
    referral_code = serializers.CharField()
    lifetime_spend = serializers.DecimalField(max_digits=14, decimal_places=2)
    lapse_state = serializers.ChoiceField(choices=LapseState.choices)
    external_id = serializers.CharField(allow_null=True, help_text="The retailer's own customer number, if any.")


class LineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    unit_price = serializers.DecimalField(
        max_digits=16, decimal_places=4, min_value=0, max_value=settings.MAX_PURCHASE_TOTAL
    )


class BasketInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    occurred_at = serializers.DateTimeField()
    currency = serializers.ChoiceField(choices=[settings.DEFAULT_CURRENCY])
    total = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0.01"), max_value=settings.MAX_PURCHASE_TOTAL
    )
    items = LineInput(many=True, allow_empty=False, max_length=MAX_ITEMS)


class PurchaseInput(BasketInput):
    member = serializers.CharField(max_length=64, help_text="Member id (UUID) or card number.")
    receipt_id = serializers.CharField(max_length=64)


class QuoteInput(BasketInput):
    member = serializers.CharField(max_length=64, required=False, help_text="Optional: member id or card number.")


class QuoteOutput(serializers.Serializer):
    points = serializers.IntegerField()
    note = serializers.CharField()


class PurchaseOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    member = serializers.UUIDField(source="member.public_id")
    receipt_id = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    points_earned = serializers.IntegerField()
    points_balance = serializers.IntegerField(source="member.points_balance")
    note = serializers.CharField(source="earn_note")


class ReturnItemInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class ReturnInput(serializers.Serializer):
    receipt_id = serializers.CharField(max_length=64)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, max_value=settings.MAX_PURCHASE_TOTAL, required=False
    )
    items = ReturnItemInput(many=True, required=False, allow_empty=False, max_length=MAX_ITEMS)

    def validate(self, attrs):
        if ("amount" in attrs) == ("items" in attrs):
            raise serializers.ValidationError({"amount": [gettext("Give either amount or items, not both.")]})
        return attrs


class ReturnOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    purchase = serializers.UUIDField(source="purchase.public_id")
    receipt_id = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    points_reversed = serializers.IntegerField()
    points_balance = serializers.IntegerField(source="purchase.member.points_balance")
