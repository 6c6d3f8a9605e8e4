from django import forms
from django.utils.translation import gettext_lazy as _

from stores.models import Store

# The back office takes small files; millions of rows go through the commands.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ImportForm(forms.Form):
    MEMBERS, PURCHASES = "members", "purchases"
    kind = forms.ChoiceField(
        label=_("What the file holds"), choices=[(MEMBERS, _("Members")), (PURCHASES, _("Purchases"))]
    )
    file = forms.FileField(
        label=_("CSV file (UTF-8, first line names the columns)"),
        help_text=_("Up to 20 MB here; larger files with the import_members and import_purchases commands."),
    )
    lines_file = forms.FileField(label=_("Purchase lines (optional CSV)"), required=False)
    default_store = forms.ModelChoiceField(
        label=_("Store for rows that name none"), queryset=Store.objects.filter(active=True), required=False
    )
    create_members = forms.BooleanField(label=_("Create members for unknown customers"), required=False)
    earn_points = forms.BooleanField(label=_("Earn points by the rules of each purchase's date"), required=False)

    def clean(self):
        cleaned = super().clean()
        for name in ("file", "lines_file"):
            upload = cleaned.get(name)
            if upload is not None and upload.size > MAX_UPLOAD_BYTES:
                self.add_error(name, _("This file is larger than 20 MB: import it with the command instead."))
        if cleaned.get("kind") == self.MEMBERS and cleaned.get("lines_file"):
            self.add_error("lines_file", _("Lines belong to a purchases file."))
        return cleaned
