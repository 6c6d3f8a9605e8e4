from rest_framework import serializers


class RewardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.CharField()
    cost_points = serializers.IntegerField()
    value = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        allow_null=True,
        help_text="Currency value: always set for a discount (the amount to take off the bill); "
        "empty for a reward without one (an event, a service).",
    )
    stock = serializers.IntegerField(allow_null=True)
    image = serializers.SerializerMethodField()

    def get_image(self, reward) -> str | None:
        return reward.image.url if reward.image else None


class RewardRedeemInput(serializers.Serializer):
    member = serializers.CharField(max_length=64, help_text="Member id (UUID) or card number.")


class VoucherOutput(serializers.Serializer):
    code = serializers.CharField()
    reward = RewardOutput()
    member = serializers.UUIDField(source="member.public_id")
    status = serializers.CharField()
    points_cost = serializers.IntegerField()
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    points_balance = serializers.IntegerField(source="member.points_balance")


class VoucherConsumeInput(serializers.Serializer):
    receipt_id = serializers.CharField(max_length=64)
