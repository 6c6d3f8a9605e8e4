from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from .unsubscribe import member_from_token, unsubscribe


@require_http_methods(["GET", "POST"])
def unsubscribe_view(request, token):
    """GET asks for confirmation (mail scanners follow links); POST withdraws the consent."""
    found = member_from_token(token)
    if found is None:
        return render(request, "messaging/unsubscribe.html", {"invalid": True}, status=400)
    member, channel = found
    done = False
    if request.method == "POST":
        unsubscribe(member=member, channel=channel)
        done = True
    return render(request, "messaging/unsubscribe.html", {"channel": channel, "done": done})
