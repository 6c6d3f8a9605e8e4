import pytest

from tests.webhooks.processes import Receiver
from webhooks.services import deliveries_claim, deliveries_send, endpoint_create, events_fan_out


@pytest.fixture(autouse=True)
def _http_allowed(settings):
    settings.WEBHOOK_ALLOW_HTTP = True  # the receiver listens on plain http on 127.0.0.1


@pytest.fixture
def receiver(tmp_path):
    """A running receiver process with its endpoint; stopped after the test."""
    endpoint, secret = endpoint_create(url="http://127.0.0.1:1/placeholder", event_types=[])
    process = Receiver(secret, tmp_path / "accepted.jsonl")
    endpoint.url = process.url
    endpoint.save(update_fields=["url"])
    process.endpoint = endpoint
    process.start()
    yield process
    process.stop()


def deliver_all(rounds: int = 20) -> dict:
    """Fan out and send in this process until nothing is due (what the pump and send tasks do)."""
    totals = {"delivered": 0, "retry": 0, "failed": 0, "released": 0}
    for _ in range(rounds):
        events_fan_out()
        claimed = deliveries_claim(limit=200)
        if not claimed:
            break
        for key, value in deliveries_send(delivery_ids=claimed).items():
            totals[key] += value
    return totals
