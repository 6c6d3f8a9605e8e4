"""Language and formats: the language switcher's context, and money, points and dates written
the way the reader's language writes them (`¥1,234.00`, `2026年12月1日` / `Dec. 1, 2026`).

The functions format in the active language; messages to a member are built inside
`translation.override(member.language)`, so they read in the member's language."""

from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language, get_language_info

CURRENCY_SYMBOLS = {"CNY": "¥"}


def money(amount: Decimal | int | float | None, currency: str | None = None) -> str:
    """An amount with its currency sign, grouped by thousands, two decimals: `¥1,234.00`."""
    if amount is None:
        return ""
    currency = currency or settings.DEFAULT_CURRENCY
    sign = "-" if amount < 0 else ""
    digits = number_format(abs(Decimal(amount)), decimal_pos=2, use_l10n=True, force_grouping=True)
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def points(value: int | None) -> str:
    """A number of points grouped by thousands: `12,500`."""
    if value is None:
        return ""
    return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def local_day(value: date | datetime | None) -> str:
    """The day of a date or a stored moment (in the business time zone), in the language's long
    form: `2026年12月1日`, `Dec. 1, 2026`."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date()
    return date_format(value, "DATE_FORMAT", use_l10n=True)


def language_switcher(request) -> dict:
    """Template context for `i18n/language_switcher.html`: the languages offered, the current
    one, and where to come back to. Reads nothing from the database."""
    current = get_language() or settings.LANGUAGE_CODE
    return {
        "language_switcher": {
            "current": current,
            "languages": [
                {"code": code, "name": get_language_info(code)["name_local"], "current": code == current}
                for code, _name in settings.LANGUAGES
            ],
            "next": request.get_full_path() if request is not None else "/",
        }
    }
