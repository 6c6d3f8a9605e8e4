"""The second factor of the back office: confirm a TOTP code, or add an authenticator app."""

import segno
from django import forms
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.errors import DomainError

from .services import totp_device_confirm, totp_device_start

_SETUP_DEVICE_KEY = "staff_totp_setup_device"


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next_url(request) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return reverse("admin:index")


@staff_member_required
def otp_verify(request):
    """After signing in: the code of a confirmed device marks the session verified."""
    if not user_has_device(request.user, confirmed=True):
        return HttpResponseRedirect(reverse("staff:otp_setup") + "?" + request.GET.urlencode())
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error("token", _("That code is not valid. Enter the current six-digit code."))
    return render(
        request, "staff/otp_verify.html", {"form": form, "next": _next_url(request), "title": _("Two-factor check")}
    )


@staff_member_required
def otp_setup(request):
    """Add an authenticator app: scan the QR code, confirm with one code."""
    device = TOTPDevice.objects.filter(pk=request.session.get(_SETUP_DEVICE_KEY), user=request.user).first()
    if device is None or device.confirmed:
        device = totp_device_start(user=request.user)
        request.session[_SETUP_DEVICE_KEY] = device.pk
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = totp_device_confirm(device=device, token=form.cleaned_data["token"])
        except DomainError as exc:
            form.add_error("token", exc.detail)
        else:
            request.session.pop(_SETUP_DEVICE_KEY, None)
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
    qr = mark_safe(segno.make(device.config_url).svg_inline(scale=4))  # noqa: S308 (segno's own SVG)
    context = {"form": form, "next": _next_url(request), "qr": qr, "title": _("Add an authenticator app")}
    return render(request, "staff/otp_setup.html", context)
