from django.utils.translation import gettext
from rest_framework import serializers

from feedback.models import MAX_COMMENT, MAX_COMPLAINT_TEXT, ComplaintCategory, Severity


class FeedbackInput(serializers.Serializer):
    member = serializers.CharField(max_length=64, required=False, help_text="Member id (UUID) or card number.")
    nps = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    comment = serializers.CharField(max_length=MAX_COMMENT, required=False, allow_blank=True, trim_whitespace=True)

    def validate(self, attrs):
        if attrs.get("nps") is None and not attrs.get("comment"):
            raise serializers.ValidationError({"nps": [gettext("Give nps, comment, or both.")]})
        return attrs


class FeedbackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    member = serializers.UUIDField(source="member.public_id", allow_null=True, default=None)
    nps = serializers.IntegerField(allow_null=True)
    comment = serializers.CharField()
    source = serializers.CharField()
    created_at = serializers.DateTimeField()


class ComplaintInput(serializers.Serializer):
    member = serializers.CharField(max_length=64, required=False, help_text="Member id (UUID) or card number.")
    category = serializers.ChoiceField(choices=ComplaintCategory.choices)
    severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.MEDIUM)
    text = serializers.CharField(max_length=MAX_COMPLAINT_TEXT)


class ComplaintOutput(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    member = serializers.UUIDField(source="member.public_id", allow_null=True, default=None)
    category = serializers.CharField()
    severity = serializers.CharField()
    text = serializers.CharField()
    status = serializers.CharField()
    first_response_due_at = serializers.DateTimeField(help_text="When the first response is due at the latest.")
    resolution_due_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
