from django import forms
from django.utils.translation import gettext

from rewards.services import MAX_POINTS_PER_OPERATION
from tiers.models import Tier


class PointsAdjustForm(forms.Form):
    points = forms.IntegerField(
        min_value=-MAX_POINTS_PER_OPERATION,
        max_value=MAX_POINTS_PER_OPERATION,
        help_text="Positive to add, negative to deduct. A deduction cannot take a balance below zero.",
    )
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(gettext("Enter a non-zero number of points."))
        return points


class SuspendForm(forms.Form):
    reason = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why this customer is suspended (abuse, fraud, ...). Recorded on the member.",
    )


class TierPinForm(forms.Form):
    tier = forms.ModelChoiceField(queryset=Tier.objects.order_by("rank"))
    until = forms.DateTimeField(help_text="The pin ends then; requalification applies from that date.")
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class StagesField(forms.MultipleChoiceField):
    """Journey stages as checkboxes, stored as a JSON list (empty for all)."""

    def __init__(self, **kwargs):
        from .models import Stage

        kwargs.setdefault("help_text", "Leave all unticked for every stage.")
        super().__init__(choices=Stage.choices, required=False, widget=forms.CheckboxSelectMultiple, **kwargs)


def with_stages_field(model_class):
    """A ModelForm for `model_class` whose `stages` JSON list is edited as checkboxes."""
    return type(
        f"{model_class.__name__}Form",
        (forms.ModelForm,),
        {
            "stages": StagesField(),
            "Meta": type("Meta", (), {"model": model_class, "fields": "__all__"}),
        },
    )
