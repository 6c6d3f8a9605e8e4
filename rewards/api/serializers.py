from rest_framework import serializers

from rewards.services import MAX_POINTS_PER_OPERATION


class RedemptionInput(serializers.Serializer):
    member = serializers.CharField(max_length=64, help_text="Member id (UUID) or card number.")
    points = serializers.IntegerField(min_value=1, max_value=MAX_POINTS_PER_OPERATION)
    receipt_id = serializers.CharField(max_length=64)


class RedemptionOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    member = serializers.UUIDField(source="member.public_id")
    receipt_id = serializers.CharField()
    status = serializers.CharField()
    points_redeemed = serializers.IntegerField(source="points")
    value = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Currency value of the points.")
    points_balance = serializers.IntegerField(source="member.points_balance")


class LedgerEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    points = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()
