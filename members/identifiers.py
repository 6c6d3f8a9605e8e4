"""Phone numbers, card numbers and referral codes: how they are written and generated."""

import secrets

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext

CARD_PREFIX = "8"
CARD_LENGTH = 16
REFERRAL_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a till
REFERRAL_LENGTH = 8


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """E.164 form of a phone number; numbers without a country code are read in PHONE_REGION."""
    try:
        number = phonenumbers.parse(str(raw), settings.PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(gettext("Enter a valid phone number.")) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(gettext("Enter a valid phone number."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_masked(phone: str) -> str:
    """A phone number a till may show: the national number with all but its first three and last
    four digits hidden (+8613800138000 -> 138****8000); short numbers keep only their last two."""
    try:
        national = phonenumbers.national_significant_number(phonenumbers.parse(str(phone), settings.PHONE_REGION))
    except phonenumbers.NumberParseException:
        national = "".join(ch for ch in str(phone) if ch.isdigit())
    if len(national) > 7:
        return national[:3] + "*" * (len(national) - 7) + national[-4:]
    return "*" * max(len(national) - 2, 0) + national[-2:]


def luhn_check_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def is_valid_card_number(card_number: str) -> bool:
    return (
        len(card_number) == CARD_LENGTH
        and card_number.isascii()
        and card_number.isdigit()
        and luhn_check_digit(card_number[:-1]) == card_number[-1]
    )


def new_card_number() -> str:
    """A random 16-digit card number with a Luhn check digit, so mistyped numbers are caught."""
    body = CARD_PREFIX + "".join(secrets.choice("0123456789") for _ in range(CARD_LENGTH - 2))
    return body + luhn_check_digit(body)


def new_referral_code() -> str:
    return "".join(secrets.choice(REFERRAL_ALPHABET) for _ in range(REFERRAL_LENGTH))
