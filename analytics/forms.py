"""The dashboard's and the analytics API's filters: a period and store / channel / tier."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stores.models import Channel, Store
from tiers.models import Tier

from .periods import PERIOD_LABELS, Filters, Period, PeriodError, PeriodKind


class AnalyticsFilterForm(forms.Form):
    """`period` is a calendar unit containing `day` (default: this month), or `range` from
    `start` to `end`. Every field is optional; a bad combination is a form error."""

    period = forms.ChoiceField(label=_("Period"), choices=list(PERIOD_LABELS.items()), required=False)
    day = forms.DateField(label=_("Containing"), required=False)
    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.order_by("name"), required=False)
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", "---------"), *Channel.choices], required=False)
    tier = forms.ModelChoiceField(label=_("Tier"), queryset=Tier.objects.order_by("rank"), required=False)

    def clean(self):
        data = super().clean()
        kind = PeriodKind(data.get("period") or PeriodKind.MONTH)
        try:
            if kind == PeriodKind.RANGE:
                if not data.get("start") or not data.get("end"):
                    raise PeriodError(_("A from/to period needs both dates."))
                data["the_period"] = Period.between(data["start"], data["end"])
            else:
                data["the_period"] = Period.containing(kind, data.get("day") or timezone.localdate())
        except PeriodError as error:
            raise forms.ValidationError(str(error)) from error
        data["the_filters"] = Filters(
            store_id=data["store"].pk if data.get("store") else None,
            channel=data.get("channel") or None,
            tier_id=data["tier"].pk if data.get("tier") else None,
        )
        return data
