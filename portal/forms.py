from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from feedback.models import MAX_COMPLAINT_TEXT


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "autofocus": True}),
    )


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6}", "autofocus": True}
        ),
    )


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    birthday = forms.DateField(
        label=_("Birthday"),
        required=False,
        help_text=_("Set once: birthday rewards depend on it. Ask a store to correct it."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    language = forms.ChoiceField(label=_("Language of our messages"), choices=settings.LANGUAGES)

    def __init__(self, *args, birthday_set: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if birthday_set:
            del self.fields["birthday"]


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(choices=[("email", "email"), ("sms", "sms")])
    granted = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")], coerce=lambda v: v == "1")


class RedeemForm(forms.Form):
    token = forms.UUIDField()


class CloseAccountForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that my points, vouchers and card end now and cannot be restored."),
        required=True,
        error_messages={"required": _("Tick the box to confirm.")},
    )


COMPLAINT_CATEGORIES = [
    ("product", _("Product quality")),
    ("service", _("Service")),
    ("staff", _("Staff behaviour")),
    ("delivery", _("Delivery")),
    ("billing", _("Billing and prices")),
    ("loyalty", _("Points and membership")),
    ("other", _("Other")),
]


class ComplaintForm(forms.Form):
    category = forms.ChoiceField(label=_("What is it about?"), choices=COMPLAINT_CATEGORIES)
    text = forms.CharField(
        label=_("What happened?"),
        max_length=MAX_COMPLAINT_TEXT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Tell us the store, the day and what went wrong; we answer within the time shown."),
    )
