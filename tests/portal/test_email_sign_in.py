"""Signing in with a one-time code by email: the same code rules and limits as by SMS."""

import pytest

from messaging.models import OutboxMessage
from portal import services
from portal.models import OneTimeCode
from tests.factories import MemberFactory
from tests.portal.conftest import sent_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def member():
    return MemberFactory(phone="+8613800138000", email="li@example.com", language="en")


def test_a_member_gets_the_code_by_email_and_signs_in_with_it(member):
    services.email_code_request(email="  Li@Example.com ", client_ip="10.0.0.1")

    message = OutboxMessage.objects.get(member=member, kind="portal_sign_in_code")
    assert (message.channel, message.marketing) == ("email", False)
    assert services.code_verify(email="li@example.com", code=sent_code(member)) == member


def test_a_stranger_gets_the_same_answer_and_no_email(member):
    result = services.email_code_request(email="nobody@example.com", client_ip="10.0.0.1")

    assert result.message_id is None and result.phone == "nobody@example.com"
    assert OneTimeCode.objects.get().email == "nobody@example.com"
    assert not OutboxMessage.objects.exists()


def test_an_email_shared_by_two_members_signs_in_neither(member):
    MemberFactory(email="li@example.com")

    result = services.email_code_request(email="li@example.com", client_ip="10.0.0.1")

    assert result.message_id is None and not OutboxMessage.objects.exists()
    with pytest.raises(services.DomainError):
        services.code_verify(email="li@example.com", code=result.code)


def test_five_codes_per_email_per_hour(member):
    for _ in range(5):
        services.email_code_request(email=member.email, client_ip=None)

    with pytest.raises(services.TooManyCodes):
        services.email_code_request(email=member.email, client_ip=None)
    assert OneTimeCode.objects.count() == 5


def test_an_email_code_does_not_sign_in_by_phone(member):
    services.email_code_request(email=member.email, client_ip="10.0.0.1")

    with pytest.raises(services.DomainError):
        services.code_verify(phone=member.phone, code=sent_code(member))


def test_a_bad_email_is_a_form_error(client):
    response = client.post("/portal/sign-in/email/", {"email": "not-an-email"})

    assert response.status_code == 400 and not OneTimeCode.objects.exists()


def test_the_email_sign_in_pages_lead_to_the_home_page(client, member):
    response = client.post("/portal/sign-in/email/", {"email": "li@example.com"})
    assert response["Location"] == "/portal/sign-in/code/"
    assert (
        "If li@example.com belongs to a member, a code is on its way by email."
        in client.get("/portal/sign-in/code/").content.decode()
    )

    response = client.post("/portal/sign-in/code/", {"code": sent_code(member)})

    assert (response.status_code, response["Location"]) == (302, "/portal/")
