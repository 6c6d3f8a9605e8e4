"""The unsubscribe link shows the member's consent on its channel and changes it both ways."""

import pytest
from django.test import Client

from members.models import Member
from messaging.unsubscribe import unsubscribe_url
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscriber():
    return MemberFactory(consent_email=True, consent_sms=True, email="m@example.com")


def _path(member, channel="email"):
    return unsubscribe_url(member, channel).split("127.0.0.1:8000", 1)[1]


def test_page_shows_that_the_member_is_subscribed(client, subscriber):
    page = client.get(_path(subscriber)).content.decode()

    assert "You receive marketing messages by email." in page
    assert 'value="unsubscribe"' in page and 'value="subscribe"' not in page


def test_looking_at_the_page_changes_nothing(client, subscriber):
    client.get(_path(subscriber))

    assert Member.objects.get(pk=subscriber.pk).consent_email is True


def test_unsubscribing_withdraws_only_that_channel(client, subscriber):
    response = client.post(_path(subscriber, "sms"), {"action": "unsubscribe"})

    assert response.status_code == 200
    member = Member.objects.get(pk=subscriber.pk)
    assert (member.consent_sms, member.consent_email) == (False, True)
    assert "You receive no marketing messages by SMS." in response.content.decode()


def test_an_unsubscribed_member_can_opt_back_in(client, subscriber):
    client.post(_path(subscriber), {"action": "unsubscribe"})
    page = client.get(_path(subscriber)).content.decode()
    assert "You receive no marketing messages by email." in page and 'value="subscribe"' in page

    response = client.post(_path(subscriber), {"action": "subscribe"})

    assert Member.objects.get(pk=subscriber.pk).consent_email is True
    assert "Done: you will get marketing messages by email again." in response.content.decode()


def test_repeating_a_change_changes_nothing_more(client, subscriber):
    client.post(_path(subscriber), {"action": "unsubscribe"})
    first = Member.objects.get(pk=subscriber.pk).consent_updated_at

    client.post(_path(subscriber), {"action": "unsubscribe"})

    member = Member.objects.get(pk=subscriber.pk)
    assert (member.consent_email, member.consent_updated_at) == (False, first)


def test_an_unknown_action_is_refused_and_changes_nothing(client, subscriber):
    response = client.post(_path(subscriber), {"action": "toggle"})

    assert response.status_code == 400
    assert Member.objects.get(pk=subscriber.pk).consent_email is True


def test_a_change_needs_the_pages_csrf_token(subscriber):
    browser = Client(enforce_csrf_checks=True)

    refused = browser.post(_path(subscriber), {"action": "unsubscribe"})
    assert refused.status_code == 403
    assert Member.objects.get(pk=subscriber.pk).consent_email is True

    browser.get(_path(subscriber))
    accepted = browser.post(
        _path(subscriber), {"action": "unsubscribe", "csrfmiddlewaretoken": browser.cookies["csrftoken"].value}
    )
    assert accepted.status_code == 200
    assert Member.objects.get(pk=subscriber.pk).consent_email is False


def test_a_forged_link_is_refused(client):
    assert client.post("/u/forged/", {"action": "subscribe"}).status_code == 400
