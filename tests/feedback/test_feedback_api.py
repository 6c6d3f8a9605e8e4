import pytest
from django.urls import reverse

from feedback.models import Feedback
from members.models import Member
from tests.api.helpers import post

pytestmark = pytest.mark.django_db


def test_till_feedback_with_member_and_nps(api, member):
    response = post(api, "/api/v1/feedback/", {"member": member.card_number, "nps": 9, "comment": "Lovely staff"})

    assert response.status_code == 201
    body = response.json()
    assert (body["member"], body["nps"], body["comment"], body["source"]) == (
        str(member.public_id),
        9,
        "Lovely staff",
        "pos",
    )
    assert Feedback.objects.get().store == api.store


def test_feedback_counts_as_engagement(api, member):
    post(api, "/api/v1/feedback/", {"member": str(member.public_id), "nps": 7})

    member = Member.objects.get(pk=member.pk)
    assert member.last_engaged_at is not None and member.stage == "target"


def test_anonymous_comment_is_accepted(api):
    response = post(api, "/api/v1/feedback/", {"comment": "Queue too long"}, key=False)

    assert response.status_code == 201 and response.json()["member"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "nps"),
        ({"nps": 11}, "nps"),
        ({"nps": -1}, "nps"),
        ({"nps": "nine"}, "nps"),
        ({"comment": "x" * 5001}, "comment"),
        ({"comment": "   "}, "nps"),
    ],
)
def test_bad_feedback_is_400_and_stores_nothing(api, body, field):
    response = post(api, "/api/v1/feedback/", body)

    assert response.status_code == 400 and field in response.json()["errors"]
    assert not Feedback.objects.exists()


def test_feedback_for_an_unknown_member_is_404(api):
    response = post(api, "/api/v1/feedback/", {"member": "0000000000000000", "nps": 5})

    assert response.status_code == 404
    assert not Feedback.objects.exists()


def test_a_retried_feedback_with_a_key_is_stored_once(api, member):
    body = {"member": member.card_number, "nps": 10}

    post(api, "/api/v1/feedback/", body, key="fb-1")
    post(api, "/api/v1/feedback/", body, key="fb-1")

    assert Feedback.objects.count() == 1


def test_script_in_a_comment_is_escaped_in_the_admin(api, member, admin_client_logged):
    post(api, "/api/v1/feedback/", {"member": member.card_number, "comment": "<script>alert('x')</script>"})

    page = admin_client_logged.get(reverse("admin:feedback_feedback_changelist")).content.decode()

    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert Feedback.objects.get().comment == "<script>alert('x')</script>"
