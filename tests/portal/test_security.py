"""A member reaches only their own records; every form needs its CSRF token; cookies are
HttpOnly, and the session cookie Secure outside DEBUG."""

import re
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import URLPattern
from django.utils import timezone

from feedback.complaints import complaint_file
from feedback.models import Survey, SurveyInvitation
from members.models import Member
from portal.urls import urlpatterns
from rewards.models import Reward, RewardKind, Voucher
from tests.factories import MemberFactory, buy
from tests.portal.conftest import signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial():
    return Reward.objects.create(name="Tasting", kind=RewardKind.EXPERIENCE, cost_points=30)


@pytest.fixture
def other(store, trial):
    """Another member with a purchase, a voucher and a redemption token of their own."""
    other = MemberFactory(language="en")
    buy(other, store, "1000.00")
    client = signed_in_client(Client(), other)
    token = str(uuid.uuid4())
    client.post(f"/portal/rewards/{trial.pk}/redeem/", {"token": token})
    survey = Survey.objects.get(code="loyalty-indicators")
    return {
        "invitation": SurveyInvitation.objects.create(
            survey=survey, member=other, expires_at=timezone.now() + timedelta(days=14)
        ),
        "complaint": complaint_file(text="Cold coffee", category="product", member=other),
        "member": Member.objects.get(pk=other.pk),
        "purchase": other.purchases.get(),
        "voucher": Voucher.objects.get(member=other),
        "token": token,
    }


def _requests_with_other_ids(other, trial):
    """Every portal URL that takes an id, called with the other member's."""
    return {
        "purchase": ("get", f"/portal/history/purchases/{other['purchase'].public_id}/", {}),
        "voucher": ("get", f"/portal/vouchers/{other['voucher'].public_id}/", {}),
        "voucher_cancel": ("post", f"/portal/vouchers/{other['voucher'].public_id}/cancel/", {}),
        # Rewards are the catalog, not anyone's: the other member's part is their redemption token.
        "redeem": ("post", f"/portal/rewards/{trial.pk}/redeem/", {"token": other["token"]}),
        "survey": ("post", f"/portal/surveys/{other['invitation'].public_id}/", {"would-recommend": "0"}),
        "complaint": ("get", f"/portal/complaints/{other['complaint'].public_id}/", {}),
    }


# A referral link's landing page takes a code, not anyone's record: it shows the code it was given.
PUBLIC_URLS_WITH_AN_ARGUMENT = {"join"}


def test_every_portal_url_with_an_id_is_in_the_ownership_test(other, trial):
    with_ids = {p.name for p in urlpatterns if isinstance(p, URLPattern) and p.pattern.converters}

    assert with_ids - PUBLIC_URLS_WITH_AN_ARGUMENT == set(_requests_with_other_ids(other, trial))


@pytest.mark.parametrize("name", ["purchase", "voucher", "voucher_cancel", "redeem", "survey", "complaint"])
def test_another_members_ids_are_not_found(client, member, store, other, trial, name):
    buy(member, store, "1000.00")
    signed_in_client(client, member)
    method, url, data = _requests_with_other_ids(other, trial)[name]

    response = getattr(client, method)(url, data)

    assert response.status_code == 404
    voucher = Voucher.objects.get(pk=other["voucher"].pk)
    assert (voucher.status, Voucher.objects.filter(member=member).count()) == ("issued", 0)
    assert Member.objects.get(pk=member.pk).points_balance == 100
    assert SurveyInvitation.objects.get(pk=other["invitation"].pk).status == "pending"


def test_a_malformed_id_is_not_found(client, member):
    signed_in_client(client, member)

    assert client.get("/portal/vouchers/not-a-uuid/").status_code == 404
    assert client.get("/portal/history/purchases/not-a-uuid/").status_code == 404
    assert client.post("/portal/vouchers/not-a-uuid/cancel/").status_code == 404
    assert client.get("/portal/surveys/not-a-uuid/").status_code == 404
    assert client.get("/portal/complaints/not-a-uuid/").status_code == 404


POST_URLS = [
    "/portal/sign-in/",
    "/portal/sign-in/email/",
    "/portal/sign-in/code/",
    "/portal/rewards/1/redeem/",
    f"/portal/vouchers/{uuid.uuid4()}/cancel/",
    "/portal/profile/",
    "/portal/profile/consent/",
    "/portal/sign-out/",
    "/portal/sign-out/everywhere/",
    f"/portal/surveys/{uuid.uuid4()}/",
    "/portal/complaints/new/",
    "/portal/my-data/download/",
    "/portal/my-data/close/",
    "/i18n/setlang/",
]


@pytest.mark.parametrize("url", POST_URLS)
def test_every_post_is_refused_without_a_csrf_token(member, url):
    client = Client(enforce_csrf_checks=True)
    signed_in = signed_in_client(Client(), member)
    client.cookies = signed_in.cookies

    response = client.post(url, {"phone": member.phone, "code": "000000", "language": "en"})

    assert response.status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "/portal/sign-in/",
        "/portal/",
        "/portal/rewards/",
        "/portal/profile/",
        "/portal/vouchers/VOUCHER/",
        "/portal/my-data/",
        "/portal/complaints/new/",
        "/portal/surveys/SURVEY/",
    ],
)
def test_every_form_carries_the_csrf_token(client, member, store, trial, url):
    buy(member, store, "1000.00")
    signed_in_client(client, member)
    client.post(f"/portal/rewards/{trial.pk}/redeem/", {"token": str(uuid.uuid4())})
    url = url.replace("VOUCHER", str(Voucher.objects.get(member=member).public_id))
    survey = Survey.objects.get(code="loyalty-indicators")
    invitation = SurveyInvitation.objects.create(
        survey=survey, member=member, expires_at=timezone.now() + timedelta(days=14)
    )
    url = url.replace("SURVEY", str(invitation.public_id))

    page = client.get(url).content.decode()

    forms = re.findall(r"<form [^>]*method=\"post\"[^>]*>(.*?)</form>", page, flags=re.S)
    assert forms and all('name="csrfmiddlewaretoken"' in form for form in forms)


def test_cookies_are_http_only_and_the_session_cookie_secure_without_debug(client, member):
    client.get("/portal/sign-in/")
    client.post("/portal/sign-in/", {"phone": member.phone})

    session, csrf = client.cookies["sessionid"], client.cookies["csrftoken"]
    assert (session["httponly"], session["secure"]) == (True, True)
    assert (csrf["httponly"], csrf["secure"]) == (True, True)


def test_a_staff_session_is_not_a_member_session(admin_client):
    response = admin_client.get("/portal/")

    assert (response.status_code, response["Location"]) == (302, "/portal/sign-in/")


@pytest.mark.parametrize("url", ["/portal/sign-in/", "/portal/", "/portal/referral/", "/portal/my-data/"])
def test_portal_pages_carry_the_strict_content_security_policy(client, member, url):
    signed_in_client(client, member)

    policy = client.get(url)["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives == {
        "default-src": "'none'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "form-action": "'self'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
    }


def test_the_admin_keeps_its_own_rules(admin_client):
    assert "Content-Security-Policy" not in admin_client.get("/admin/")


def test_portal_templates_hold_no_inline_script_or_style():
    from pathlib import Path

    import portal

    templates = Path(portal.__file__).parent / "templates"
    for template in templates.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script|<style|\sstyle=|\son[a-z]+=", text, flags=re.I), template
