from celery import shared_task

from messaging.services import message_send

from .services import sign_in_codes_purge


@shared_task(name="portal.send_sign_in_code")
def send_sign_in_code(message_id: int) -> bool:
    """Send one queued sign-in SMS now; safe to run twice (the outbox claims a message once)."""
    return message_send(message_id=message_id)


@shared_task(name="portal.purge_sign_in_codes")
def purge_sign_in_codes() -> int:
    return sign_in_codes_purge()
