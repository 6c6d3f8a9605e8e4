from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from .unsubscribe import consent_given, consent_set, member_from_token

CHANNEL_LABELS = {"email": _("email"), "sms": _("SMS")}
# The change a member asks for is named, not toggled, so a repeated POST does the same again. A
# POST that names none is the one-click unsubscribe the link has always meant.
ACTIONS = {"unsubscribe": False, "subscribe": True}


@require_http_methods(["GET", "POST"])
def unsubscribe_view(request, token):
    """GET shows the consent on the link's channel (mail scanners follow links, so it changes
    nothing); POST withdraws it, or gives it again."""
    found = member_from_token(token)
    if found is None:
        return render(request, "messaging/unsubscribe.html", {"invalid": True}, status=400)
    member, channel = found
    changed = False
    status = 200
    if request.method == "POST":
        consent = ACTIONS.get(request.POST.get("action", "unsubscribe"))
        if consent is None:
            status = 400
        else:
            member = consent_set(member=member, channel=channel, consent=consent)
            changed = True
    context = {
        "channel": CHANNEL_LABELS[channel],
        "subscribed": consent_given(member, channel),
        "changed": changed,
        "bad_action": status == 400,
    }
    return render(request, "messaging/unsubscribe.html", context, status=status)
