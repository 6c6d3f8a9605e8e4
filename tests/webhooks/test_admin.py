"""The back office: endpoints with their secret shown once, the searchable delivery log, replay."""

import pytest
from django.urls import reverse

from events import services as events
from events.types import EventType
from tests.factories import MemberFactory
from webhooks.models import Delivery, DeliveryStatus, Endpoint, EndpointSecret
from webhooks.services import endpoint_create, events_fan_out

pytestmark = pytest.mark.django_db


def test_adding_an_endpoint_shows_its_secret_once(admin_client_logged):
    response = admin_client_logged.post(
        reverse("admin:webhooks_endpoint_add"),
        {"url": "https://crm.example.com/hook", "description": "CRM", "event_types": ["member.enrolled"]},
        follow=True,
    )

    endpoint = Endpoint.objects.get()
    secret = EndpointSecret.objects.get(endpoint=endpoint).secret
    assert endpoint.event_types == ["member.enrolled"]
    assert secret in response.content.decode()
    again = admin_client_logged.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]))
    assert secret not in again.content.decode()


def test_an_http_url_is_a_form_error(admin_client_logged, settings):
    settings.WEBHOOK_ALLOW_HTTP = False

    response = admin_client_logged.post(
        reverse("admin:webhooks_endpoint_add"), {"url": "http://crm.example.com/hook", "description": ""}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"url": ["The URL must start with https://."]}
    assert not Endpoint.objects.exists()


@pytest.fixture
def log(db):
    endpoint_create(url="https://crm.example.com/hook", event_types=[])
    members = [MemberFactory(), MemberFactory()]
    recorded = [events.record(EventType.MEMBER_UPDATED, member=m, data={"fields": []}) for m in members]
    events_fan_out()
    return members, recorded


def test_the_delivery_log_finds_an_event_by_its_id(admin_client_logged, log):
    _, recorded = log

    response = admin_client_logged.get(reverse("admin:webhooks_delivery_changelist"), {"q": str(recorded[1].uuid)})

    assert [d.event.uuid for d in response.context["cl"].result_list] == [recorded[1].uuid]


def test_the_delivery_log_finds_a_members_deliveries(admin_client_logged, log):
    members, _ = log

    response = admin_client_logged.get(reverse("admin:webhooks_delivery_changelist"), {"q": str(members[0].pk)})

    assert [d.member_id for d in response.context["cl"].result_list] == [members[0].pk]


def test_replay_sends_the_selected_given_up_deliveries_again(admin_client_logged, log):
    Delivery.objects.update(status=DeliveryStatus.FAILED)
    chosen = Delivery.objects.order_by("pk").first()

    admin_client_logged.post(
        reverse("admin:webhooks_delivery_changelist"), {"action": "replay", "_selected_action": [chosen.pk]}
    )

    assert dict(Delivery.objects.values_list("pk", "status")) == {
        chosen.pk: DeliveryStatus.PENDING,
        Delivery.objects.exclude(pk=chosen.pk).get().pk: DeliveryStatus.FAILED,
    }


def test_the_event_list_searches_by_id_member_or_type_and_never_fails(admin_client_logged, log):
    members, recorded = log
    url = reverse("admin:events_event_changelist")

    found = {
        term: [e.uuid for e in admin_client_logged.get(url, {"q": term}).context["cl"].result_list]
        for term in (str(recorded[0].uuid), str(members[1].pk), "member.upd", "not-a-uuid")
    }

    assert found[str(recorded[0].uuid)] == [recorded[0].uuid]
    assert found[str(members[1].pk)] == [recorded[1].uuid]
    assert sorted(found["member.upd"]) == sorted(e.uuid for e in recorded)
    assert found["not-a-uuid"] == []
