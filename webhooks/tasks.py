import time

from celery import shared_task

from .services import deliveries_claim, deliveries_send, events_fan_out

# A pump hands the claimed work to other workers and stops after this long; beat starts the next.
PUMP_SECONDS = 5
CLAIM_BATCH = 200


@shared_task(name="webhooks.pump")
def pump() -> int:
    """Fan out new events, claim due deliveries and queue them for sending, until nothing is left
    or PUMP_SECONDS have passed. Safe to overlap: fan-out and claim each run one at a time."""
    deadline = time.monotonic() + PUMP_SECONDS
    queued = 0
    while time.monotonic() < deadline:
        fanned = events_fan_out()
        claimed = deliveries_claim(limit=CLAIM_BATCH)
        if claimed:
            send.delay(claimed)
            queued += len(claimed)
        if not fanned and len(claimed) < CLAIM_BATCH:
            break
    return queued


@shared_task(name="webhooks.send")
def send(delivery_ids: list[int]) -> dict:
    return deliveries_send(delivery_ids=delivery_ids)
