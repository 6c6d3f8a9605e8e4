"""Delivery adapters. Email goes through Django's email backend (console in development); SMS
through the adapter named by SMS_BACKEND, so a gateway can be plugged in without code changes."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """The provider refused or failed; the message is retried later."""


class LoggingSmsBackend:
    """Writes SMS to the log instead of sending them: the default until a gateway is configured.
    Only a developer's console (DEBUG) shows the number and text; production logs carry no
    personal data, so there the line only says that an SMS went nowhere."""

    def send(self, *, phone: str, text: str) -> None:
        if settings.DEBUG:
            logger.info("SMS to %s: %s", phone, text)
        else:
            logger.warning("SMS not sent: no SMS gateway is configured (SMS_BACKEND)", extra={"length": len(text)})


def send_email(*, to: str, subject: str, body: str) -> None:
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    except OSError as exc:  # SMTP errors are OSErrors
        raise DeliveryError(str(exc)) from exc


def send_sms(*, phone: str, text: str) -> None:
    try:
        import_string(settings.SMS_BACKEND)().send(phone=phone, text=text)
    except OSError as exc:
        raise DeliveryError(str(exc)) from exc
