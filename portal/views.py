"""Member portal pages. Each view parses its input, calls one service or selector, and renders."""

import uuid

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError, NotFound
from feedback.complaints import complaint_file
from feedback.models import QuestionKind
from feedback.surveys import InvitationUnusable, survey_answer

from . import selectors, services
from .auth import (
    SESSION_DEBUG_CODE,
    SESSION_EMAIL,
    SESSION_PHONE,
    member_required,
    portal_sign_in,
    portal_sign_out,
)
from .cards import code128_svg, qr_svg
from .forms import (
    CloseAccountForm,
    CodeForm,
    ComplaintForm,
    ConsentForm,
    EmailForm,
    PhoneForm,
    ProfileForm,
    RedeemForm,
)
from .privacy import PrivacyChannel, member_close, member_data_export


def client_ip(request) -> str | None:
    header = settings.PORTAL_CLIENT_IP_HEADER
    raw = (request.META.get(header, "") if header else "") or request.META.get("REMOTE_ADDR", "")
    return raw.split(",")[0].strip() or None


def _form_error(form, error: DomainError) -> None:
    if error.errors:
        for field, problems in error.errors.items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
    else:
        form.add_error(None, error.detail)


@require_http_methods(["GET", "POST"])
def sign_in(request):
    form = PhoneForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.code_request(phone=form.cleaned_data["phone"], client_ip=client_ip(request))
        except DomainError as error:
            _form_error(form, error)
            status = error.status_code
        else:
            return _code_sent(request, sent, key=SESSION_PHONE)
    elif request.method == "POST":
        status = 400
    return render(request, "portal/sign_in.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
def sign_in_email(request):
    form = EmailForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.email_code_request(email=form.cleaned_data["email"], client_ip=client_ip(request))
        except DomainError as error:
            _form_error(form, error)
            status = error.status_code
        else:
            return _code_sent(request, sent, key=SESSION_EMAIL)
    elif request.method == "POST":
        status = 400
    return render(request, "portal/sign_in_email.html", {"form": form}, status=status)


def _code_sent(request, sent: services.CodeRequest, *, key: str):
    request.session.pop(SESSION_PHONE, None)
    request.session.pop(SESSION_EMAIL, None)
    request.session[key] = sent.phone
    request.session.pop(SESSION_DEBUG_CODE, None)
    if settings.DEBUG and sent.message_id:
        request.session[SESSION_DEBUG_CODE] = sent.code  # the demo has no real SMS or mail gateway
    return redirect("portal:verify")


@require_http_methods(["GET", "POST"])
def verify(request):
    phone, email = request.session.get(SESSION_PHONE, ""), request.session.get(SESSION_EMAIL, "")
    if not (phone or email):
        return redirect("portal:sign_in")
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            member = services.code_verify(phone=phone, email=email, code=form.cleaned_data["code"])
        except DomainError as error:
            _form_error(form, error)
            status = error.status_code
        else:
            portal_sign_in(request, member)
            return redirect("portal:home")
    elif request.method == "POST":
        status = 400
    context = {"form": form, "phone": phone, "email": email, "debug_code": request.session.get(SESSION_DEBUG_CODE)}
    return render(request, "portal/verify.html", context, status=status)


@member_required
def home(request):
    member = request.member
    context = {
        "member": member,
        "summary": selectors.home(member=member),
        "qr": qr_svg(member.card_number, title=_("Member card QR code")),
        "barcode": code128_svg(member.card_number, title=_("Member card barcode")),
    }
    return render(request, "portal/home.html", context)


HISTORY_TABS = {
    "purchases": selectors.purchases_page,
    "returns": selectors.returns_page,
    "points": selectors.ledger_page,
    "milestones": selectors.milestones_page,
}


@member_required
def history(request):
    tab = request.GET.get("tab", "purchases")
    if tab not in HISTORY_TABS:
        tab = "purchases"
    page = HISTORY_TABS[tab](member=request.member, page=request.GET.get("page"))
    return render(request, "portal/history.html", {"tab": tab, "page": page})


@member_required
def purchase_detail(request, public_id):
    purchase = selectors.purchase_for_member(member=request.member, public_id=public_id)
    return render(request, "portal/purchase.html", {"purchase": purchase})


@member_required
def rewards(request):
    context = {
        "member": request.member,
        "items": selectors.catalog(member=request.member),
        "token": uuid.uuid4(),  # one per page view: a double tap repeats it, a new visit gets another
    }
    return render(request, "portal/rewards.html", context)


@require_POST
@member_required
def redeem(request, reward_id):
    form = RedeemForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This page is out of date. Please try again."))
        return redirect("portal:rewards")
    try:
        voucher = services.portal_reward_redeem(
            member=request.member, reward_id=reward_id, token=form.cleaned_data["token"]
        )
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        messages.error(request, _redeem_refusal(error))
        return redirect("portal:rewards")
    return redirect("portal:voucher", public_id=voucher.public_id)


def _redeem_refusal(error: DomainError) -> str:
    # The catalog service words its refusals for staff; members get them in their language.
    return {
        "insufficient_points": _("You do not have enough points for this reward."),
        "out_of_stock": _("This reward is out of stock."),
        "member_suspended": _("Your membership is suspended."),
    }.get(error.code, _("This reward is not available to you."))


@member_required
def vouchers(request):
    context = {"vouchers": selectors.vouchers(member=request.member), "now_time": timezone.now()}
    return render(request, "portal/vouchers.html", context)


@member_required
def voucher(request, public_id):
    found = selectors.voucher_for_member(member=request.member, public_id=public_id)
    context = {
        "voucher": found,
        "qr": qr_svg(found.code, title=_("Voucher QR code")),
        "cancellable": services.voucher_cancellable(found),
        "now_time": timezone.now(),
    }
    return render(request, "portal/voucher.html", context)


@require_POST
@member_required
def voucher_cancel(request, public_id):
    try:
        services.portal_voucher_cancel(member=request.member, voucher_id=_uuid(public_id))
    except NotFound:
        raise Http404 from None
    except DomainError:
        messages.error(request, _("This voucher cannot be cancelled."))
    else:
        messages.success(request, _("The voucher is cancelled and its points are back."))
    return redirect("portal:voucher", public_id=public_id)


def _uuid(value) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(_("No such voucher.")) from None


@require_http_methods(["GET", "POST"])
@member_required
def profile(request):
    member = request.member
    initial = {"name": member.name, "email": member.email, "language": member.language}
    form = ProfileForm(request.POST or None, initial=initial, birthday_set=member.birthday is not None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.profile_update(member=member, **form.cleaned_data)
        except DomainError as error:
            _form_error(form, error)
            status = error.status_code
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("portal:profile")
    elif request.method == "POST":
        status = 400
    context = {
        "member": member,
        "form": form,
        "consent_rows": [("email", _("Email"), member.consent_email), ("sms", _("SMS"), member.consent_sms)],
        "consents": selectors.consent_history(member=member),
    }
    return render(request, "portal/profile.html", context, status=status)


@require_POST
@member_required
def consent(request):
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.consent_change(member=request.member, **form.cleaned_data)
        messages.success(request, _("Your choice is saved."))
    return redirect("portal:profile")


@require_POST
def sign_out(request):
    portal_sign_out(request)
    return redirect("portal:sign_in")


@require_POST
@member_required
def sign_out_everywhere(request):
    services.sessions_end_all(member=request.member)
    portal_sign_out(request)
    return redirect("portal:sign_in")


@member_required
def my_data(request):
    return render(request, "portal/my_data.html", {"form": CloseAccountForm()})


@require_POST
@member_required
def data_download(request):
    export = member_data_export(member=request.member, channel=PrivacyChannel.PORTAL)
    response = HttpResponse(export.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@require_POST
@member_required
def account_close(request):
    form = CloseAccountForm(request.POST)
    if not form.is_valid():
        return render(request, "portal/my_data.html", {"form": form}, status=400)
    member_close(member=request.member, channel=PrivacyChannel.PORTAL)
    portal_sign_out(request)
    return redirect("portal:closed")


def closed(request):
    return render(request, "portal/closed.html")


@member_required
def referral(request):
    found = selectors.referral(member=request.member)
    context = {"referral": found, "qr": qr_svg(found.link, title=_("Referral link QR code"))}
    return render(request, "portal/referral.html", context)


def join(request, code):
    """Where a referral link lands: the friend learns how to join with the code."""
    return render(request, "portal/join.html", {"code": code.strip().upper()[:12]})


@member_required
def surveys(request):
    return render(request, "portal/surveys.html", {"invitations": selectors.surveys_waiting(member=request.member)})


@require_http_methods(["GET", "POST"])
@member_required
def survey(request, public_id):
    invitation = selectors.invitation_for_member(member=request.member, public_id=public_id)
    errors = {}
    if request.method == "POST":
        try:
            survey_answer(survey=invitation.survey, invitation=invitation, answers=request.POST)
        except InvitationUnusable:
            raise Http404 from None
        except DomainError as error:
            errors = {key: problems[0] for key, problems in (error.errors or {}).items()}
        else:
            messages.success(request, _("Thank you for your answers."))
            return redirect("portal:surveys")
    items = [
        {"question": q, "options": _options(q), "error": errors.get(q.key), "posted": request.POST.get(q.key, "")}
        for q in invitation.survey.questions.all()
    ]
    context = {"invitation": invitation, "items": items, "errors": errors}
    return render(request, "portal/survey.html", context, status=400 if errors else 200)


def _options(question) -> list[tuple]:
    if question.kind == QuestionKind.NPS:
        return [(n, n) for n in range(11)]
    if question.kind == QuestionKind.SCALE:
        return [(n, n) for n in range(1, 6)]
    if question.kind == QuestionKind.YES_NO:
        return [(1, _("Yes")), (0, _("No"))]
    if question.kind == QuestionKind.CHOICE:
        return [(c, c) for c in question.choices]
    return []


@member_required
def complaints(request):
    return render(request, "portal/complaints.html", {"complaints": selectors.complaints(member=request.member)})


@require_http_methods(["GET", "POST"])
@member_required
def complaint_new(request):
    form = ComplaintForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            filed = complaint_file(member=request.member, channel="online", **form.cleaned_data)
        except DomainError as error:
            _form_error(form, error)
            status = error.status_code
        else:
            messages.success(request, _("Thank you. We have your complaint and will answer in time."))
            return redirect("portal:complaint", public_id=filed.public_id)
    elif request.method == "POST":
        status = 400
    return render(request, "portal/complaint_new.html", {"form": form}, status=status)


@member_required
def complaint(request, public_id):
    found = selectors.complaint_for_member(member=request.member, public_id=public_id)
    context = {"complaint": found, "updates": selectors.complaint_updates(complaint=found)}
    return render(request, "portal/complaint.html", context)
