import time

from celery import shared_task

from .services import deliveries_claim, deliveries_send, events_fan_out

# A pump works while there is work, up to this long; beat starts one every second. Pumps that
# overlap are harmless: fan-out and claim each run one at a time, and one that finds the lock
# taken does nothing and ends, leaving the worker to the send tasks.
PUMP_SECONDS = 5.0
CLAIM_BATCH = 200


@shared_task(name="webhooks.pump")
def pump() -> int:
    """Fan out new events, claim due deliveries and queue them (in batches) for the send workers.
    Returns how many deliveries it queued."""
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
